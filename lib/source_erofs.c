// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * EROFS images as the source (--rebuild): the images are merged as overlay
 * layers, later over earlier, into the in-memory tree.  A whiteout (a
 * character device 0:0) removes what lower layers have at its name, and a
 * directory with trusted.overlay.opaque=y hides the lower directory; both
 * are consumed by the merge and do not appear in the result.  File data is
 * not copied: each regular file points into the input image (or one of its
 * blobs) as an extra device of the new image, by its unified block address
 * for flat files and by chunk index for chunk-based ones.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "erofs/reader.h"

struct layer {
	struct erofs_build *b;
	struct erofs_rd *rd;
	const char *image;
	unsigned int index;		/* 1-based, bottom first */
	uint16_t refs[EROFS_RD_MAX_DEVICES + 1];	/* device -> ext ref */
	int ishare_index;		/* name index of its fingerprints, or -1 */
	char *paths[EROFS_RD_MAX_DEVICES];
	unsigned int errs;		/* messages the reader gave */
};

struct rd_entry {
	uint64_t nid;
	char name[EROFS_NAME_LEN + 1];
	unsigned int namelen;
};

struct entry_list {
	struct rd_entry *v;
	size_t n, cap;
};

static void layer_msg(void *priv, enum erofs_rd_level level, const char *msg)
{
	struct layer *l = priv;

	if (level == EROFS_RD_ERR) {
		erofs_err(l->b, "cannot use image '%s': %s", l->image, msg);
		l->errs++;
	}
}

static int collect(void *priv, const struct erofs_rd_dirent *de)
{
	struct entry_list *el = priv;

	if ((de->namelen == 1 && de->name[0] == '.') ||
	    (de->namelen == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (el->n == el->cap) {
		size_t cap = el->cap ? el->cap * 2 : 16;
		struct rd_entry *v = realloc(el->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		el->v = v;
		el->cap = cap;
	}
	el->v[el->n].nid = de->nid;
	el->v[el->n].namelen = de->namelen;
	memcpy(el->v[el->n].name, de->name, de->namelen);
	el->v[el->n].name[de->namelen] = '\0';
	el->n++;
	return 0;
}

/* ------------------------------------------------------------ attributes */

struct xattr_ctx {
	struct layer *l;
	struct erofs_inode *inode;
	bool opaque;
	bool collect;			/* add them to the inode */
};

static int take_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	struct xattr_ctx *x = priv;
	struct erofs_build *b = x->l->b;
	int ret;

	if (!strcmp(xa->name, "trusted.overlay.opaque")) {
		if (xa->value_size == 1 && xa->value[0] == 'y')
			x->opaque = true;
		return 0;	/* consumed by the merge */
	}
	/* the input's own fingerprints are its publisher's claim: not kept */
	if (x->l->ishare_index >= 0 && xa->name_index == x->l->ishare_index)
		return 0;
	if (!x->collect || b->opts->xattr_tolerance < 0)
		return 0;
	ret = erofs_xattr_add(b, x->inode, xa->name, xa->value, xa->value_size);
	if (ret == -EOPNOTSUPP)
		return 0;	/* a namespace the image cannot hold */
	return ret;
}

static int set_attrs(struct layer *l, struct erofs_inode *inode,
		     const struct erofs_rd_inode *ri, bool *opaque)
{
	const struct erofs_mkfs_opts *o = l->b->opts;
	struct xattr_ctx x = { .l = l, .inode = inode, .collect = true };
	int ret;

	inode->mode = ri->mode;
	inode->uid = o->force_uid >= 0 ? (uint32_t)o->force_uid : ri->uid;
	inode->gid = o->force_gid >= 0 ? (uint32_t)o->force_gid : ri->gid;
	inode->mtime = ri->mtime;
	inode->mtime_nsec = ri->mtime_nsec;
	if (o->fixed_time || (o->clamp_time && inode->mtime >= o->timestamp)) {
		inode->mtime = o->timestamp;
		inode->mtime_nsec = 0;
	}
	inode->rdev_major = ri->rdev_major;
	inode->rdev_minor = ri->rdev_minor;
	erofs_inode_drop_xattrs(inode);
	ret = erofs_rd_xattrs(l->rd, ri, take_xattr, &x);
	if (opaque)
		*opaque = x.opaque;
	return ret;
}

/* ------------------------------------------------------------ file data */

static int ref_of(struct layer *l, unsigned int dev, uint16_t *ref)
{
	if (dev > erofs_rd_ndevices(l->rd) || !l->refs[dev])
		return -EFSCORRUPTED;
	*ref = l->refs[dev];
	return 0;
}

/* --rebuild=copy: the file's bytes, as the reader gives them, into the blob */
static int copy_file(struct layer *l, struct erofs_inode *inode,
		     const struct erofs_rd_inode *ri, const char *name)
{
	struct erofs_build *b = l->b;
	uint64_t off = 0, blk;
	uint8_t *buf;
	int ret;

	ret = erofs_blob_scan_alloc(b, ri->size, &blk, &inode->ext_ref);
	if (ret)
		return ret;
	buf = malloc(1u << 20);
	if (!buf)
		return -ENOMEM;
	while (off < ri->size) {
		uint64_t n = min_t(uint64_t, ri->size - off, 1u << 20);

		ret = erofs_rd_pread(l->rd, ri, buf, n, off);
		if (ret) {
			if (!l->errs)
				erofs_err(b, "cannot copy '%s' of image '%s': %s",
					  name, l->image, strerror(-ret));
			l->errs++;
			break;
		}
		ret = erofs_blob_scan_write(b, buf, n, (blk << b->blkszbits) + off);
		if (ret) {
			l->errs++;
			break;
		}
		off += n;
	}
	free(buf);
	if (ret)
		return ret;
	inode->ext_blk = blk;
	inode->ext_data = true;
	inode->datalayout = EROFS_INODE_FLAT_PLAIN;
	erofs_blobs_note_reuse(b, inode->ext_ref, ri->size);
	return 0;
}

static int map_file(struct layer *l, struct erofs_inode *inode,
		    const struct erofs_rd_inode *ri, const char *name)
{
	struct erofs_build *b = l->b;
	struct erofs_rd_map map;
	uint64_t la;
	int ret;

	inode->size = ri->size;
	if (!ri->size)
		return 0;
	switch (ri->datalayout) {
	case EROFS_INODE_FLAT_PLAIN:
	case EROFS_INODE_FLAT_INLINE: {
		uint64_t tail = 0;

		for (la = 0; la < ri->size; la = map.la + map.len) {
			ret = erofs_rd_map(l->rd, ri, la, &map);
			if (ret)
				return ret;
			if (!map.len)
				return -EFSCORRUPTED;
			if (map.flags & EROFS_RD_MAP_INLINE) {
				tail = map.len;
				break;
			}
			if (!(map.flags & EROFS_RD_MAP_MAPPED))
				return -EFSCORRUPTED;
			if (la == 0) {
				ret = ref_of(l, map.dev, &inode->ext_ref);
				if (ret)
					return ret;
				inode->ext_blk = map.pa >> b->blkszbits;
			}
		}
		inode->datalayout = ri->datalayout;
		inode->ext_data = true;
		if (tail) {
			inode->ext_tail = malloc(tail);
			if (!inode->ext_tail)
				return -ENOMEM;
			ret = erofs_rd_pread(l->rd, ri, inode->ext_tail, tail,
					     ri->size - tail);
			if (ret)
				return ret;
		}
		/* all inline needs no device */
		if (inode->ext_ref)
			erofs_blobs_note_reuse(b, inode->ext_ref, ri->size - tail);
		return 0;
	}
	case EROFS_INODE_CHUNK_BASED: {
		/* the reader gives the chunk size in bytes, as bits */
		uint64_t cs = 1ull << ri->chunkbits;
		uint32_t c;

		if (ri->chunkbits < b->blkszbits)
			return -EFSCORRUPTED;
		inode->wchunkbits = ri->chunkbits - b->blkszbits;
		inode->nr_wchunks = DIV_ROUND_UP(ri->size, cs);
		inode->chunks = calloc(inode->nr_wchunks, sizeof(*inode->chunks));
		if (!inode->chunks)
			return -ENOMEM;
		for (c = 0; c < inode->nr_wchunks; c++) {
			struct erofs_chunk *ch = &inode->chunks[c];

			ret = erofs_rd_map(l->rd, ri, c * cs, &map);
			if (ret)
				return ret;
			if (map.flags & EROFS_RD_MAP_HOLE) {
				ch->flags = EROFS_CHUNK_HOLE;
				continue;
			}
			if (!(map.flags & EROFS_RD_MAP_MAPPED) ||
			    map.la != c * cs || (map.pa & (b->bs - 1)))
				return -EFSCORRUPTED;
			ret = ref_of(l, map.dev, &ch->ref);
			if (ret)
				return ret;
			ch->blk = map.pa >> b->blkszbits;
			ch->flags = EROFS_CHUNK_EXT;
			erofs_blobs_note_reuse(b, ch->ref, map.len);
		}
		inode->datalayout = EROFS_INODE_CHUNK_BASED;
		inode->ext_data = true;
		b->any_chunked = true;
		return 0;
	}
	default:
		if (b->opts->rebuild_copy)
			return copy_file(l, inode, ri, name);
		erofs_err(b, "cannot reference '%s' of image '%s' in place: its data is compressed (--rebuild=copy copies such files into a new blob)",
			  name, l->image);
		l->errs++;
		return -EOPNOTSUPP;
	}
}

/* bytes [off, off + len) of a file whose data stays in an input image */
int erofs_read_external(struct erofs_build *b, const struct erofs_inode *inode,
			void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;
	int ret;

	if (inode->datalayout == EROFS_INODE_CHUNK_BASED) {
		uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;

		while (len) {
			const struct erofs_chunk *ch = &inode->chunks[off / cs];
			uint64_t in = off % cs, n = min_t(uint64_t, len, cs - in);

			if (ch->flags & EROFS_CHUNK_HOLE)
				memset(p, 0, n);
			else if ((ret = erofs_blob_dict_read(b, ch->ref, p, n,
					(ch->blk << b->blkszbits) + in)))
				return ret;
			p += n;
			off += n;
			len -= n;
		}
		return 0;
	}
	if (inode->datalayout == EROFS_INODE_FLAT_INLINE) {
		uint64_t plain = inode->size & ~(uint64_t)(b->bs - 1);

		if (off + len > plain) {
			uint64_t from = max_t(uint64_t, off, plain);

			memcpy(p + (from - off), inode->ext_tail + (from - plain),
			       off + len - from);
			len = from - off;
		}
	}
	if (!len)
		return 0;
	return erofs_blob_dict_read(b, inode->ext_ref, p, len,
				    (inode->ext_blk << b->blkszbits) + off);
}

/* ------------------------------------------------------------ the merge */

static int merge_dir(struct layer *l, const struct erofs_rd_inode *rdir,
		     struct erofs_inode *dir);

static struct erofs_dentry *find_child(struct erofs_inode *dir, uint32_t n,
				       const char *name, size_t len)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct erofs_dentry *d = dir->children[mid];
		int r = erofs_name_cmp(d->name, d->namelen, name, len);

		if (!r)
			return d;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct erofs_inode *new_entry(struct layer *l, struct erofs_inode *dir,
				     const struct rd_entry *e)
{
	struct erofs_inode *inode;
	struct erofs_dentry *d;
	int ret;

	d = erofs_new_dentry(dir, e->name, e->namelen);
	if (IS_ERR(d))
		return (struct erofs_inode *)d;
	ret = erofs_add_child(dir, d);
	if (ret) {
		free(d);
		return ERR_PTR(ret);
	}
	inode = erofs_new_inode(l->b);
	if (IS_ERR(inode))
		return inode;
	d->inode = inode;
	inode->dentry = d;
	inode->src_dev = l->index;
	inode->src_ino = e->nid;
	return inode;
}

static int merge_entry(struct layer *l, struct erofs_inode *dir, uint32_t nold,
		       const struct rd_entry *e)
{
	struct erofs_build *b = l->b;
	struct erofs_dentry *old = find_child(dir, nold, e->name, e->namelen);
	struct erofs_rd_inode ri;
	struct erofs_inode *inode;
	bool opaque = false;
	int ret;

	ret = erofs_rd_iget(l->rd, e->nid, &ri);
	if (ret)
		return ret;
	if (S_ISCHR(ri.mode) && !ri.rdev_major && !ri.rdev_minor) {
		if (old)
			old->inode = NULL;	/* whited out */
		return 0;
	}
	if (S_ISDIR(ri.mode)) {
		struct xattr_ctx x = { .l = l };

		ret = erofs_rd_xattrs(l->rd, &ri, take_xattr, &x);
		if (ret)
			return ret;
		opaque = x.opaque;
		if (old && old->inode && S_ISDIR(old->inode->mode) && !opaque)
			return merge_dir(l, &ri, old->inode);
	}
	if (old)
		old->inode = NULL;	/* replaced */

	/* a hard link within this layer */
	if (!S_ISDIR(ri.mode) && ri.nlink > 1) {
		erofs_hardlink_lookup(b, l->index, e->nid, &inode);
		if (inode) {
			struct erofs_dentry *d;

			d = erofs_new_dentry(dir, e->name, e->namelen);
			if (IS_ERR(d))
				return PTR_ERR(d);
			ret = erofs_add_child(dir, d);
			if (ret) {
				free(d);
				return ret;
			}
			d->inode = inode;
			return 0;
		}
	}
	inode = new_entry(l, dir, e);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	if (S_ISDIR(ri.mode))
		return merge_dir(l, &ri, inode);
	ret = set_attrs(l, inode, &ri, NULL);
	if (ret)
		return ret;
	if (!S_ISDIR(ri.mode) && ri.nlink > 1) {
		ret = erofs_hardlink_insert(b, inode);
		if (ret)
			return ret;
	}
	if (S_ISLNK(ri.mode)) {
		if (ri.size > PATH_MAX)
			return -ENAMETOOLONG;
		inode->symlink = malloc(ri.size + 1);
		if (!inode->symlink)
			return -ENOMEM;
		ret = erofs_rd_readlink(l->rd, &ri, inode->symlink, ri.size + 1);
		if (ret)
			return ret;
		inode->size = ri.size;
	} else if (S_ISREG(ri.mode)) {
		ret = map_file(l, inode, &ri, e->name);
		if (ret)
			return ret;
	}
	return 0;
}

/* drops the entries the merge removed, and sorts */
static void settle_dir(struct erofs_inode *dir)
{
	uint32_t i, n = 0;

	for (i = 0; i < dir->nr_children; i++) {
		if (dir->children[i]->inode)
			dir->children[n++] = dir->children[i];
		else
			free(dir->children[i]);
	}
	dir->nr_children = n;
	erofs_sort_children(dir);
}

static int merge_dir(struct layer *l, const struct erofs_rd_inode *rdir,
		     struct erofs_inode *dir)
{
	struct entry_list el = { 0 };
	uint32_t nold = dir->nr_children;
	size_t i;
	int ret;

	ret = set_attrs(l, dir, rdir, NULL);
	if (!ret)
		ret = erofs_rd_readdir(l->rd, rdir, collect, &el);
	for (i = 0; !ret && i < el.n; i++)
		ret = merge_entry(l, dir, nold, &el.v[i]);
	free(el.v);
	settle_dir(dir);
	return ret;
}

/* ------------------------------------------------------------ layers */

static int open_layer(struct layer *l, const char *image)
{
	struct erofs_build *b = l->b;
	struct erofs_rd_opts ro = {
		.msg = layer_msg,
		.msg_priv = l,
		.level = EROFS_RD_ERR,
	};
	const struct erofs_rd_sb *sb;
	unsigned int i, n;
	char *what;
	int ret;

	l->image = image;
	ro.path = image;
	ret = erofs_rd_open(&l->rd, &ro);
	if (ret)
		return ret;
	n = erofs_rd_ndevices(l->rd);
	if (n) {
		erofs_rd_close(l->rd);
		l->rd = NULL;
		if (!b->opts->blob_dir) {
			erofs_err(b, "cannot use image '%s': it keeps data in %u blob%s; give --blob-dir to find them",
				  image, n, n == 1 ? "" : "s");
			l->errs++;
			return -EINVAL;
		}
		ret = erofs_rd_blob_dir_devices(image, b->opts->blob_dir, &ro);
		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			l->paths[i] = (char *)ro.devices[i];
		ret = erofs_rd_open(&l->rd, &ro);
		if (ret)
			return ret;
	}
	sb = erofs_rd_sb(l->rd);
	if (sb->blkszbits != b->blkszbits) {
		erofs_err(b, "cannot use image '%s': its blocks are %u bytes; build with -b %u",
			  image, 1u << sb->blkszbits, 1u << sb->blkszbits);
		l->errs++;
		return -EINVAL;
	}
	l->ishare_index = sb->feature_compat & EROFS_FEATURE_COMPAT_ISHARE_XATTRS ?
		(0x80 | sb->ishare_xattr_prefix_id) : -1;
	if (asprintf(&what, "image '%s'", image) < 0)
		return -ENOMEM;
	/* refs[0]: the image itself; refs[k]: its blob k */
	for (i = 0; i <= n; i++) {
		ret = erofs_blobs_add_external(b, what, i ? l->paths[i - 1] : image,
					       NULL);
		if (ret < 0) {
			l->errs++;
			break;
		}
		l->refs[i] = ret;
	}
	free(what);
	return ret < 0 ? ret : 0;
}

static void close_layer(struct layer *l)
{
	unsigned int i;

	if (l->rd)
		erofs_rd_close(l->rd);
	for (i = 0; i < EROFS_RD_MAX_DEVICES; i++)
		free(l->paths[i]);
}

int erofs_source_erofs_scan(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_inode *root;
	unsigned int k;
	int ret = 0;

	root = erofs_new_inode(b);
	if (IS_ERR(root))
		return PTR_ERR(root);
	b->root = root;
	root->mode = S_IFDIR | 0755;
	for (k = 0; k < o->nr_rebuild_inputs && !ret; k++) {
		struct layer l = { .b = b, .index = k + 1 };
		struct erofs_rd_inode ri;

		ret = open_layer(&l, o->rebuild_inputs[k]);
		if (!ret)
			ret = erofs_rd_iget(l.rd, erofs_rd_sb(l.rd)->root_nid, &ri);
		if (!ret)
			ret = merge_dir(&l, &ri, root);
		if (ret && !l.errs)
			erofs_err(b, "cannot use image '%s': %s", o->rebuild_inputs[k],
				  strerror(-ret));
		close_layer(&l);
	}
	if (!ret)
		ret = erofs_blob_scan_finish(b);
	if (ret)
		return ret;
	/* what the upper layers removed or replaced goes */
	erofs_tree_settle(b);
	erofs_tree_drop_unreached(b);
	return 0;
}
