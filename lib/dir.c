// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Directory blocks: dirents then names, entries never spanning blocks, the
 * whole directory in strict byte order with "." and ".." in their places.
 */
#include <stdlib.h>

#include "internal.h"
#include "erofs/dir.h"

#define DIRENT_SIZE	sizeof(struct erofs_dirent)

uint64_t erofs_dir_pack_size(const struct erofs_dirent_info *ents,
			     size_t n, uint32_t bs)
{
	uint64_t full = 0;
	uint32_t used = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t need = DIRENT_SIZE + ents[i].namelen;

		if (used + need > bs) {
			full++;
			used = 0;
		}
		used += need;
	}
	return full * bs + used;
}

static void pack_block(const struct erofs_dirent_info *ents, size_t n,
		       uint8_t *blk)
{
	uint32_t nameoff = n * DIRENT_SIZE;
	size_t i;

	for (i = 0; i < n; i++) {
		struct erofs_dirent de = {
			.nid = cpu_to_le64(ents[i].nid),
			.nameoff = cpu_to_le16(nameoff),
			.file_type = ents[i].ftype,
		};

		memcpy(blk + i * DIRENT_SIZE, &de, sizeof(de));
		memcpy(blk + nameoff, ents[i].name, ents[i].namelen);
		nameoff += ents[i].namelen;
	}
}

void erofs_dir_pack(const struct erofs_dirent_info *ents, size_t n,
		    uint32_t bs, uint8_t *buf)
{
	size_t start = 0, i;
	uint32_t used = 0;

	for (i = 0; i < n; i++) {
		uint32_t need = DIRENT_SIZE + ents[i].namelen;

		if (used + need > bs) {
			pack_block(ents + start, i - start, buf);
			buf += bs;
			start = i;
			used = 0;
		}
		used += need;
	}
	if (i > start)
		pack_block(ents + start, i - start, buf);
}

/* the entries of a directory in on-disk order, "." and ".." included */
static struct erofs_dirent_info *dir_entries(const struct erofs_inode *dir,
					     size_t *count)
{
	struct erofs_dirent_info *e;
	const struct erofs_inode *parent = dir->dentry && dir->dentry->parent ?
		dir->dentry->parent : dir;
	size_t n = 0, i;
	bool dot = false, dotdot = false;

	e = malloc((dir->nr_children + 2) * sizeof(*e));
	if (!e)
		return NULL;
	for (i = 0; i <= dir->nr_children; i++) {
		const struct erofs_dentry *d = i < dir->nr_children ?
			dir->children[i] : NULL;

		/* "." and ".." go in front of the first larger name */
		if (!dot && (!d || erofs_name_cmp(d->name, d->namelen, ".", 1) > 0)) {
			e[n++] = (struct erofs_dirent_info){ ".", dir->nid, 1,
							     EROFS_FT_DIR };
			dot = true;
		}
		if (!dotdot && (!d || erofs_name_cmp(d->name, d->namelen, "..", 2) > 0)) {
			e[n++] = (struct erofs_dirent_info){ "..", parent->nid, 2,
							     EROFS_FT_DIR };
			dotdot = true;
		}
		if (!d)
			break;
		e[n++] = (struct erofs_dirent_info){
			d->name, d->inode->nid, d->namelen,
			erofs_mode_to_ftype(d->inode->mode)
		};
	}
	*count = n;
	return e;
}

uint64_t erofs_dir_size(const struct erofs_inode *dir, uint32_t bs)
{
	/* names only matter here, so nids need not be assigned yet */
	uint64_t full = 0;
	uint32_t used = 0, i;
	bool dot = false, dotdot = false;

	for (i = 0; i <= dir->nr_children; i++) {
		const struct erofs_dentry *d = i < dir->nr_children ?
			dir->children[i] : NULL;
		uint32_t lens[3], k, m = 0;

		if (!dot && (!d || erofs_name_cmp(d->name, d->namelen, ".", 1) > 0)) {
			lens[m++] = 1;
			dot = true;
		}
		if (!dotdot && (!d || erofs_name_cmp(d->name, d->namelen, "..", 2) > 0)) {
			lens[m++] = 2;
			dotdot = true;
		}
		if (d)
			lens[m++] = d->namelen;
		for (k = 0; k < m; k++) {
			uint32_t need = DIRENT_SIZE + lens[k];

			if (used + need > bs) {
				full++;
				used = 0;
			}
			used += need;
		}
	}
	return full * bs + used;
}

int erofs_dir_build(const struct erofs_inode *dir, uint32_t bs, uint8_t *buf)
{
	struct erofs_dirent_info *e;
	size_t n;

	e = dir_entries(dir, &n);
	if (!e)
		return -ENOMEM;
	erofs_dir_pack(e, n, bs, buf);
	free(e);
	return 0;
}
