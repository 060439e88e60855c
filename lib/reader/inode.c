// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Inodes: locating a nid, decoding the compact and extended forms, and the
 * checks the kernel makes before it trusts an inode.
 */
#include "rd.h"

#define NSEC_PER_SEC	1000000000u
#define EROFS_RD_PATH_MAX	4096

const char *erofs_rd_type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return "regular file";
	case S_IFDIR:	return "directory";
	case S_IFLNK:	return "symlink";
	case S_IFCHR:	return "character device";
	case S_IFBLK:	return "block device";
	case S_IFIFO:	return "fifo";
	case S_IFSOCK:	return "socket";
	}
	return "unknown";
}

const char *erofs_rd_layout_name(unsigned int datalayout)
{
	static const char *const names[] = {
		[EROFS_INODE_FLAT_PLAIN] = "flat plain",
		[EROFS_INODE_COMPRESSED_FULL] = "compressed full",
		[EROFS_INODE_FLAT_INLINE] = "flat inline",
		[EROFS_INODE_COMPRESSED_COMPACT] = "compressed compact",
		[EROFS_INODE_CHUNK_BASED] = "chunk based",
	};

	return datalayout < ARRAY_SIZE(names) ? names[datalayout] : "invalid";
}

unsigned int erofs_rd_mode_to_ftype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return EROFS_FT_REG_FILE;
	case S_IFDIR:	return EROFS_FT_DIR;
	case S_IFLNK:	return EROFS_FT_SYMLINK;
	case S_IFCHR:	return EROFS_FT_CHRDEV;
	case S_IFBLK:	return EROFS_FT_BLKDEV;
	case S_IFIFO:	return EROFS_FT_FIFO;
	case S_IFSOCK:	return EROFS_FT_SOCK;
	}
	return EROFS_FT_UNKNOWN;
}

#define ICORRUPT(rd, vi, fmt, ...) \
	erofs_rd_corrupt(rd, "nid %llu (offset 0x%llx): " fmt, \
			 (unsigned long long)(vi)->nid, \
			 (unsigned long long)(vi)->iloc, ##__VA_ARGS__)

static int erofs_rd_inode_layout_checks(struct erofs_rd *rd,
					struct erofs_rd_inode *vi)
{
	uint64_t meta_end = vi->iloc + vi->isize + vi->xattr_isize;
	uint64_t nblocks, tail, nchunks, arr_end, unit;

	if (meta_end > erofs_rd_image_size(rd))
		return ICORRUPT(rd, vi,
				"the inode and its %u bytes of xattrs end at 0x%llx, beyond the image",
				vi->xattr_isize, (unsigned long long)meta_end);

	switch (vi->datalayout) {
	case EROFS_INODE_FLAT_INLINE:
		if (!vi->size)
			break;
		nblocks = DIV_ROUND_UP(vi->size, rd->bs);
		tail = vi->size - ((nblocks - 1) << rd->blkszbits);
		if ((meta_end & (rd->bs - 1)) + tail > rd->bs)
			return ICORRUPT(rd, vi,
					"inline tail of %llu bytes at 0x%llx crosses a block boundary",
					(unsigned long long)tail,
					(unsigned long long)meta_end);
		break;
	case EROFS_INODE_CHUNK_BASED:
		if (vi->chunkformat & ~EROFS_CHUNK_FORMAT_ALL)
			return ICORRUPT(rd, vi, "unknown chunk format 0x%x",
					vi->chunkformat);
		if (vi->chunkformat & EROFS_CHUNK_FORMAT_48BIT &&
		    (!rd->has_48bit || !(vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES)))
			return ICORRUPT(rd, vi,
					"chunk format 0x%x: 48-bit chunks need INCOMPAT_48BIT and chunk indexes",
					vi->chunkformat);
		vi->chunkbits = rd->blkszbits +
			(vi->chunkformat & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
		unit = vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES ? 8 : 4;
		nchunks = vi->size ? ((vi->size - 1) >> vi->chunkbits) + 1 : 0;
		arr_end = round_up(meta_end, unit) + nchunks * unit;
		if (arr_end > erofs_rd_image_size(rd))
			return ICORRUPT(rd, vi,
					"%llu chunk entries end at 0x%llx, past the end of the image",
					(unsigned long long)nchunks,
					(unsigned long long)arr_end);
		break;
	case EROFS_INODE_COMPRESSED_FULL:
	case EROFS_INODE_COMPRESSED_COMPACT:
		if (S_ISREG(vi->mode) || S_ISDIR(vi->mode) || S_ISLNK(vi->mode)) {
			int err = erofs_rd_zinit(rd, vi);

			if (err)
				return err;
		}
		break;
	}
	if (S_ISLNK(vi->mode) &&
	    (!vi->size || vi->size >= EROFS_RD_PATH_MAX))
		return ICORRUPT(rd, vi, "symlink of %llu bytes",
				(unsigned long long)vi->size);
	return 0;
}

int erofs_rd_iget(struct erofs_rd *rd, uint64_t nid, struct erofs_rd_inode *vi)
{
	union {
		struct erofs_inode_compact c;
		struct erofs_inode_extended e;
	} di;
	uint32_t i_u;
	bool has_hi = false;
	int err;

	memset(vi, 0, sizeof(*vi));
	vi->nid = nid;
	if (nid >> 57) {
		vi->iloc = 0;
		return erofs_rd_corrupt(rd, "nid %llu is out of range",
					(unsigned long long)nid);
	}
	vi->iloc = erofs_rd_nid_to_off(rd, nid);
	if (vi->iloc < EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block))
		return ICORRUPT(rd, vi, "the inode would overlap the superblock");
	if (vi->iloc + sizeof(di.c) > erofs_rd_image_size(rd))
		return ICORRUPT(rd, vi, "nid is beyond the end of the image (%llu bytes)",
				(unsigned long long)erofs_rd_image_size(rd));
	err = erofs_rd_dev_read(rd, 0, &di.c, sizeof(di.c), vi->iloc, "inode");
	if (err)
		return err;
	vi->i_format = le16_to_cpu(di.c.i_format);
	if (vi->i_format & ~EROFS_I_ALL)
		return ICORRUPT(rd, vi, "i_format 0x%x has unknown bits", vi->i_format);
	vi->datalayout = (vi->i_format >> EROFS_I_DATALAYOUT_BIT) & 7;
	if (vi->datalayout >= EROFS_INODE_DATALAYOUT_MAX)
		return ICORRUPT(rd, vi, "i_format 0x%x: unknown data layout %u",
				vi->i_format, vi->datalayout);
	vi->extended = vi->i_format & 1;
	vi->isize = vi->extended ? sizeof(di.e) : sizeof(di.c);
	vi->xattr_icount = le16_to_cpu(di.c.i_xattr_icount);
	vi->mode = le16_to_cpu(di.c.i_mode);
	if (vi->i_format & 0x10) {
		if (!rd->has_48bit)
			return ICORRUPT(rd, vi,
					"i_format 0x%x: bit 4 is set but the image lacks INCOMPAT_48BIT",
					vi->i_format);
		if (S_ISDIR(vi->mode))
			vi->dot_omitted = true;
		else if (!vi->extended)
			vi->nlink_1 = true;
	}

	if (vi->extended) {
		if (vi->iloc + sizeof(di.e) > erofs_rd_image_size(rd))
			return ICORRUPT(rd, vi, "extended inode runs past the end of the image");
		err = erofs_rd_dev_read(rd, 0, &di.e, sizeof(di.e), vi->iloc, "inode");
		if (err)
			return err;
		vi->size = le64_to_cpu(di.e.i_size);
		if ((int64_t)vi->size < 0)
			return ICORRUPT(rd, vi, "i_size 0x%llx is negative",
					(unsigned long long)vi->size);
		vi->uid = le32_to_cpu(di.e.i_uid);
		vi->gid = le32_to_cpu(di.e.i_gid);
		vi->nlink = le32_to_cpu(di.e.i_nlink);
		vi->mtime = (int64_t)le64_to_cpu(di.e.i_mtime);
		vi->mtime_nsec = le32_to_cpu(di.e.i_mtime_nsec);
		if (vi->mtime_nsec >= NSEC_PER_SEC)
			return ICORRUPT(rd, vi, "i_mtime_nsec %u is not below 10^9",
					vi->mtime_nsec);
		i_u = le32_to_cpu(di.e.i_u);
		vi->ino = le32_to_cpu(di.e.i_ino);
		has_hi = true;
	} else {
		vi->size = le32_to_cpu(di.c.i_size);
		vi->uid = le16_to_cpu(di.c.i_uid);
		vi->gid = le16_to_cpu(di.c.i_gid);
		vi->nlink = vi->nlink_1 ? 1 : le16_to_cpu(di.c.i_nb);
		/* newer kernels add the relative mtime whether or not 48BIT is set */
		vi->mtime = rd->sb.epoch + le32_to_cpu(di.c.i_mtime);
		vi->mtime_nsec = rd->sb.fixed_nsec;
		if (vi->mtime_nsec >= NSEC_PER_SEC)
			return erofs_rd_corrupt(rd,
				"superblock (offset 0x%x): fixed_nsec %u is not below 10^9",
				EROFS_SUPER_OFFSET + 0x20, vi->mtime_nsec);
		i_u = le32_to_cpu(di.c.i_u);
		vi->ino = le32_to_cpu(di.c.i_ino);
		has_hi = vi->nlink_1;
	}

	if (vi->xattr_icount == 1)
		return ICORRUPT(rd, vi,
				"i_xattr_icount 1 (a header without room for any xattr)");
	vi->xattr_isize = erofs_xattr_ibody_size(vi->xattr_icount);
	vi->startblk = EROFS_RD_NO_BLK;

	switch (vi->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
		switch (vi->datalayout) {
		case EROFS_INODE_FLAT_PLAIN:
		case EROFS_INODE_FLAT_INLINE:
			vi->startblk = i_u;
			if (has_hi && rd->has_48bit)
				vi->startblk |= (uint64_t)le16_to_cpu(di.c.i_nb) << 32;
			break;
		case EROFS_INODE_CHUNK_BASED:
			if (i_u >> 16)
				return ICORRUPT(rd, vi,
						"chunk info 0x%08x has high bits set", i_u);
			vi->chunkformat = i_u & 0xFFFF;
			break;
		default:
			vi->compressed_blocks = i_u;
			if (has_hi && rd->has_48bit)
				vi->compressed_blocks |=
					(uint64_t)le16_to_cpu(di.c.i_nb) << 32;
			break;
		}
		break;
	case S_IFCHR:
	case S_IFBLK:
		vi->rdev_raw = i_u;
		vi->rdev_major = (i_u >> 8) & 0xFFF;
		vi->rdev_minor = (i_u & 0xFF) | ((i_u >> 12) & 0xFFF00);
		break;
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return ICORRUPT(rd, vi, "bogus i_mode 0%o", vi->mode);
	}
	return erofs_rd_inode_layout_checks(rd, vi);
}
