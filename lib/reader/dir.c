// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Directories: each block is checked before any entry of it is handed out.
 * The rules are the kernel's (first nameoff a multiple of the dirent size
 * inside the block, names 1..255 bytes ending inside the block) plus what a
 * lookup silently relies on: no '/' or NUL in names, one strict byte order
 * across the whole directory, "." naming the directory itself.
 */
#include <stdlib.h>

#include "rd.h"

const char *erofs_rd_ftype_name(unsigned int file_type)
{
	static const char *const names[] = {
		[EROFS_FT_UNKNOWN] = "unknown",
		[EROFS_FT_REG_FILE] = "file",
		[EROFS_FT_DIR] = "dir",
		[EROFS_FT_CHRDEV] = "chrdev",
		[EROFS_FT_BLKDEV] = "blkdev",
		[EROFS_FT_FIFO] = "fifo",
		[EROFS_FT_SOCK] = "socket",
		[EROFS_FT_SYMLINK] = "symlink",
	};

	return file_type < ARRAY_SIZE(names) ? names[file_type] : "invalid";
}

/* byte order, a prefix sorting first, like strcmp on names without NULs */
static int erofs_rd_namecmp(const char *a, unsigned int alen, const char *b,
			    unsigned int blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

struct erofs_rd_dirstate {
	char prev[EROFS_NAME_LEN];
	unsigned int prevlen;
	bool have_prev, seen_dot, seen_dotdot;
};

#define DCORRUPT(rd, dir, blk, fmt, ...) \
	erofs_rd_corrupt(rd, "directory nid %llu (offset 0x%llx), block %llu: " fmt, \
			 (unsigned long long)(dir)->nid, \
			 (unsigned long long)(dir)->iloc, \
			 (unsigned long long)(blk), ##__VA_ARGS__)

static int erofs_rd_dirblock(struct erofs_rd *rd, const struct erofs_rd_inode *dir,
			     uint64_t blk, const uint8_t *buf, unsigned int maxsize,
			     struct erofs_rd_dirstate *st, erofs_rd_dirent_fn fn,
			     void *priv)
{
	const unsigned int desz = sizeof(struct erofs_dirent);
	unsigned int nameoff0, n, i;

	if (maxsize < desz)
		return DCORRUPT(rd, dir, blk, "only %u bytes, too short for a dirent",
				maxsize);
	nameoff0 = get_le16(buf + 8);
	if (nameoff0 < desz || nameoff0 >= maxsize || nameoff0 % desz)
		return DCORRUPT(rd, dir, blk, "dirent 0: bad nameoff %u (block of %u bytes)",
				nameoff0, maxsize);
	n = nameoff0 / desz;
	for (i = 0; i < n; i++) {
		const uint8_t *de = buf + i * desz;
		struct erofs_rd_dirent d;
		unsigned int nameoff = get_le16(de + 8), end;
		const char *name = (const char *)buf + nameoff;
		int ret;

		if (nameoff < nameoff0 || nameoff >= maxsize)
			return DCORRUPT(rd, dir, blk,
					"dirent %u: nameoff %u outside the names (%u..%u)",
					i, nameoff, nameoff0, maxsize - 1);
		if (i + 1 < n) {
			end = get_le16(de + desz + 8);
			if (end < nameoff || end > maxsize)
				return DCORRUPT(rd, dir, blk,
						"dirent %u: next nameoff %u is before %u or past the block",
						i, end, nameoff);
		} else {
			end = nameoff + strnlen(name, maxsize - nameoff);
		}
		d.namelen = end - nameoff;
		if (!d.namelen || d.namelen > EROFS_NAME_LEN)
			return DCORRUPT(rd, dir, blk, "dirent %u: name length %u",
					i, d.namelen);
		if (memchr(name, '/', d.namelen) || memchr(name, '\0', d.namelen))
			return DCORRUPT(rd, dir, blk, "dirent %u: name contains '/' or NUL", i);
		d.nid = get_le64(de);
		d.file_type = de[10];
		d.name = name;
		d.pos = (blk << rd->blkszbits) + i * desz;
		if (d.file_type >= EROFS_FT_MAX)
			return DCORRUPT(rd, dir, blk, "dirent %u: unknown file type %u",
					i, d.file_type);
		if (st->have_prev &&
		    erofs_rd_namecmp(st->prev, st->prevlen, name, d.namelen) >= 0)
			return DCORRUPT(rd, dir, blk,
					"dirent %u: '%.*s' is not after '%.*s' (names must be strictly sorted)",
					i, (int)d.namelen, name, (int)st->prevlen, st->prev);
		memcpy(st->prev, name, d.namelen);
		st->prevlen = d.namelen;
		st->have_prev = true;

		if (d.namelen == 1 && name[0] == '.') {
			if (dir->dot_omitted)
				return DCORRUPT(rd, dir, blk,
						"'.' is stored although the directory omits it");
			if (d.nid != dir->nid)
				return DCORRUPT(rd, dir, blk,
						"'.' points to nid %llu instead of itself",
						(unsigned long long)d.nid);
			if (d.file_type != EROFS_FT_DIR)
				return DCORRUPT(rd, dir, blk, "'.' has file type %u",
						d.file_type);
			st->seen_dot = true;
		} else if (d.namelen == 2 && name[0] == '.' && name[1] == '.') {
			if (d.file_type != EROFS_FT_DIR)
				return DCORRUPT(rd, dir, blk, "'..' has file type %u",
						d.file_type);
			st->seen_dotdot = true;
		}
		ret = fn(priv, &d);
		if (ret)
			return ret;
	}
	return 0;
}

int erofs_rd_readdir(struct erofs_rd *rd, const struct erofs_rd_inode *dir,
		     erofs_rd_dirent_fn fn, void *priv)
{
	struct erofs_rd_dirstate st = { .have_prev = false };
	uint64_t nblocks, blk;
	uint8_t *buf;
	int err = 0;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	buf = malloc(rd->bs);
	if (!buf)
		return -ENOMEM;
	nblocks = DIV_ROUND_UP(dir->size, rd->bs);
	for (blk = 0; blk < nblocks; blk++) {
		uint64_t pos = blk << rd->blkszbits;
		unsigned int maxsize = dir->size - pos < rd->bs ? dir->size - pos : rd->bs;

		err = erofs_rd_pread(rd, dir, buf, maxsize, pos);
		if (err)
			goto out;
		err = erofs_rd_dirblock(rd, dir, blk, buf, maxsize, &st, fn, priv);
		if (err)
			goto out;
	}
	if (!st.seen_dotdot)
		err = erofs_rd_corrupt(rd, "directory nid %llu (offset 0x%llx): no '..' entry",
				       (unsigned long long)dir->nid,
				       (unsigned long long)dir->iloc);
	else if (!st.seen_dot && !dir->dot_omitted)
		err = erofs_rd_corrupt(rd, "directory nid %llu (offset 0x%llx): no '.' entry",
				       (unsigned long long)dir->nid,
				       (unsigned long long)dir->iloc);
out:
	free(buf);
	return err;
}
