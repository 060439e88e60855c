// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Lookups by name and by path.  Directories are scanned through the checked
 * readdir, so a lookup never trusts an entry the walk would reject.  Paths
 * are resolved component by component; symlinks are not followed.
 */
#include "rd.h"

struct erofs_rd_find {
	const char *name;
	size_t len;
	uint64_t nid;
};

static int erofs_rd_find_fn(void *priv, const struct erofs_rd_dirent *de)
{
	struct erofs_rd_find *f = priv;

	if (de->namelen != f->len || memcmp(de->name, f->name, f->len))
		return 0;
	f->nid = de->nid;
	return 1;
}

int erofs_rd_lookup_one(struct erofs_rd *rd, const struct erofs_rd_inode *dir,
			const char *name, size_t len, uint64_t *nid)
{
	struct erofs_rd_find f = { .name = name, .len = len };
	int ret;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len == 1 && name[0] == '.' && dir->dot_omitted) {
		*nid = dir->nid;
		return 0;
	}
	ret = erofs_rd_readdir(rd, dir, erofs_rd_find_fn, &f);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ENOENT;
	*nid = f.nid;
	return 0;
}

int erofs_rd_lookup(struct erofs_rd *rd, const char *path, struct erofs_rd_inode *vi)
{
	const char *p = path;
	uint64_t nid;
	int err;

	err = erofs_rd_iget(rd, rd->sb.root_nid, vi);
	if (err)
		return err;
	for (;;) {
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		len = strcspn(p, "/");
		if (len > EROFS_NAME_LEN)
			return -ENAMETOOLONG;
		if (!S_ISDIR(vi->mode))
			return -ENOTDIR;
		err = erofs_rd_lookup_one(rd, vi, p, len, &nid);
		if (err)
			return err;
		err = erofs_rd_iget(rd, nid, vi);
		if (err)
			return err;
		p += len;
	}
}
