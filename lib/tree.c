// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The in-memory namespace: inodes, the entries naming them, sorted children
 * and the hard-link map that coalesces entries by source (dev, ino).
 */
#include <stdlib.h>
#include <stdio.h>

#include "internal.h"
#include "erofs/dir.h"

struct erofs_inode *erofs_new_inode(struct erofs_build *b)
{
	struct erofs_inode *inode;

	if (b->nr_inodes == b->cap_inodes) {
		uint64_t cap = b->cap_inodes ? b->cap_inodes * 2 : 1024;
		struct erofs_inode **n = realloc(b->inodes, cap * sizeof(*n));

		if (!n)
			return ERR_PTR(-ENOMEM);
		b->inodes = n;
		b->cap_inodes = cap;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode)
		return ERR_PTR(-ENOMEM);
	b->inodes[b->nr_inodes++] = inode;
	return inode;
}

struct erofs_dentry *erofs_new_dentry(struct erofs_inode *parent,
				      const char *name, size_t len)
{
	struct erofs_dentry *d = malloc(sizeof(*d) + len + 1);

	if (!d)
		return ERR_PTR(-ENOMEM);
	d->inode = NULL;
	d->parent = parent;
	d->namelen = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	return d;
}

int erofs_add_child(struct erofs_inode *dir, struct erofs_dentry *d)
{
	/* capacity is implied by the count: 4, then doubling at powers of 2 */
	uint32_t n = dir->nr_children;

	if (!n || (n >= 4 && !(n & (n - 1)))) {
		struct erofs_dentry **c;

		c = realloc(dir->children, (n ? n * 2 : 4) * sizeof(*c));
		if (!c)
			return -ENOMEM;
		dir->children = c;
	}
	dir->children[dir->nr_children++] = d;
	return 0;
}

int erofs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int dentry_cmp(const void *x, const void *y)
{
	const struct erofs_dentry *a = *(struct erofs_dentry * const *)x;
	const struct erofs_dentry *b = *(struct erofs_dentry * const *)y;

	return erofs_name_cmp(a->name, a->namelen, b->name, b->namelen);
}

void erofs_sort_children(struct erofs_inode *dir)
{
	if (dir->nr_children > 1)
		qsort(dir->children, dir->nr_children, sizeof(*dir->children),
		      dentry_cmp);
}

/* path relative to the source root, for messages; "" is the root */
char *erofs_inode_path(const struct erofs_inode *inode)
{
	const struct erofs_dentry *d;
	size_t len = 0, pos;
	char *p;

	for (d = inode->dentry; d && d->parent; d = d->parent->dentry)
		len += d->namelen + 1;
	p = malloc(len + 1);
	if (!p)
		return NULL;
	if (!len) {
		p[0] = '\0';
		return p;
	}
	/* fill from the end: "name/" per level, then drop the last '/' */
	pos = len;
	for (d = inode->dentry; d && d->parent; d = d->parent->dentry) {
		p[--pos] = '/';
		pos -= d->namelen;
		memcpy(p + pos, d->name, d->namelen);
	}
	p[len - 1] = '\0';
	return p;
}

static uint64_t hl_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;

	return h ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4Full);
}

int erofs_hardlink_lookup(struct erofs_build *b, dev_t dev, ino_t ino,
			  struct erofs_inode **found)
{
	uint64_t i;

	*found = NULL;
	if (!b->hl_size)
		return 0;
	for (i = hl_hash(dev, ino) & (b->hl_size - 1); b->hl_table[i];
	     i = (i + 1) & (b->hl_size - 1)) {
		struct erofs_inode *e = b->hl_table[i];

		if (e->src_dev == dev && e->src_ino == ino) {
			*found = e;
			break;
		}
	}
	return 0;
}

int erofs_hardlink_insert(struct erofs_build *b, struct erofs_inode *inode)
{
	uint64_t i;

	if ((b->hl_count + 1) * 2 > b->hl_size) {
		uint64_t nsize = b->hl_size ? b->hl_size * 2 : 256, j;
		struct erofs_inode **t = calloc(nsize, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (j = 0; j < b->hl_size; j++) {
			struct erofs_inode *e = b->hl_table[j];

			if (!e)
				continue;
			for (i = hl_hash(e->src_dev, e->src_ino) & (nsize - 1);
			     t[i]; i = (i + 1) & (nsize - 1))
				;
			t[i] = e;
		}
		free(b->hl_table);
		b->hl_table = t;
		b->hl_size = nsize;
	}
	for (i = hl_hash(inode->src_dev, inode->src_ino) & (b->hl_size - 1);
	     b->hl_table[i]; i = (i + 1) & (b->hl_size - 1))
		;
	b->hl_table[i] = inode;
	b->hl_count++;
	return 0;
}

unsigned int erofs_mode_to_ftype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return EROFS_FT_REG_FILE;
	case S_IFDIR: return EROFS_FT_DIR;
	case S_IFCHR: return EROFS_FT_CHRDEV;
	case S_IFBLK: return EROFS_FT_BLKDEV;
	case S_IFIFO: return EROFS_FT_FIFO;
	case S_IFSOCK: return EROFS_FT_SOCK;
	case S_IFLNK: return EROFS_FT_SYMLINK;
	}
	return EROFS_FT_UNKNOWN;
}

/* an inode's uses of the shared xattr table go with it */
void erofs_inode_drop_xattrs(struct erofs_inode *inode)
{
	uint16_t i;

	for (i = 0; i < inode->nr_xattrs; i++)
		inode->xattrs[i]->count--;
	free(inode->xattrs);
	inode->xattrs = NULL;
	inode->nr_xattrs = 0;
}

static void inode_free(struct erofs_inode *inode)
{
	uint32_t j;

	for (j = 0; j < inode->nr_children; j++)
		free(inode->children[j]);
	free(inode->children);
	free(inode->xattrs);
	free(inode->extents);
	free(inode->ext_tail);
	free(inode->chunks);
	free(inode->chunk_keys);
	free(inode->symlink);
	free(inode->fp_value);
	free(inode->pre_fp);
	free(inode->pre_keys);
	free(inode);
}

static void settle_dir(struct erofs_build *b, struct erofs_inode *dir)
{
	uint32_t i;

	erofs_sort_children(dir);
	dir->nlink = 2;
	for (i = 0; i < dir->nr_children; i++) {
		struct erofs_dentry *d = dir->children[i];
		struct erofs_inode *inode = d->inode;

		if (inode->ext_seen) {
			inode->nlink++;
			if (b->report)
				b->report->hardlinks++;
			continue;
		}
		inode->ext_seen = true;
		inode->dentry = d;
		inode->nlink = 1;
		if (S_ISDIR(inode->mode)) {
			dir->nlink++;
			settle_dir(b, inode);
		}
	}
}

/*
 * Sources that replace entries (tar, merged images) leave inodes that
 * nothing names.  Walked from the root in name order, each inode reached
 * gets its first entry as its own, its link count, and ext_seen.
 */
void erofs_tree_settle(struct erofs_build *b)
{
	b->root->ext_seen = true;
	settle_dir(b, b->root);
}

/* after erofs_tree_settle(): the inodes it did not reach go */
void erofs_tree_drop_unreached(struct erofs_build *b)
{
	uint64_t i, n;

	for (i = n = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];

		if (inode->ext_seen) {
			b->inodes[n++] = inode;
		} else {
			erofs_inode_drop_xattrs(inode);
			inode_free(inode);
		}
	}
	b->nr_inodes = n;
}

void erofs_tree_free(struct erofs_build *b)
{
	uint64_t i;

	for (i = 0; i < b->nr_inodes; i++) {
		if (b->inodes[i] == b->root)
			free(b->root->dentry);
		inode_free(b->inodes[i]);
	}
	free(b->inodes);
	b->inodes = NULL;
	b->nr_inodes = 0;
	free(b->hl_table);
	b->hl_table = NULL;
}
