/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Private state of the validating reader.  Only the reader sources in
 * lib/reader include this; nothing here is shared with the writer, and the
 * writer's lib/internal.h is off limits here.
 */
#ifndef EROFS_READER_RD_H
#define EROFS_READER_RD_H

#include <sys/stat.h>

#include "erofs/reader.h"

#define EROFS_RD_MCACHE_SLOTS	512

struct erofs_rd_src {
	int fd;			/* -1 for a memory source */
	const uint8_t *mem;
	uint64_t size;
};

struct erofs_rd {
	struct erofs_rd_opts opts;
	struct erofs_rd_sb sb;
	unsigned int blkszbits;
	uint32_t bs;
	/* srcs[0] is the image; srcs[N] backs extra device N, if given */
	struct erofs_rd_src srcs[EROFS_RD_MAX_DEVICES + 1];
	unsigned int nsrcs;
	/* devs[N] describes extra device N (devs[0] unused) */
	struct erofs_rd_device *devs;
	bool flatdev;			/* devices concatenated in the image */
	unsigned int device_id_mask;
	struct erofs_rd_prefix *prefixes;
	uint8_t *prefix_buf;
	unsigned long nerrors;
	bool has_48bit;
	/* copy_to_fd: what the kernel refused once is not tried again */
	bool no_copy_file_range, no_sendfile;
	/* recently read metadata blocks of a file-backed image, direct-mapped */
	uint8_t *mcache;
	uint64_t mcache_blk[EROFS_RD_MCACHE_SLOTS];	/* UINT64_MAX: empty */
};

/* reports an on-disk violation and returns -EFSCORRUPTED */
int erofs_rd_corrupt(struct erofs_rd *rd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline uint64_t erofs_rd_nid_to_off(const struct erofs_rd *rd, uint64_t nid)
{
	return ((uint64_t)rd->sb.meta_blkaddr << rd->blkszbits) +
		(nid << EROFS_ISLOTBITS);
}

/* reads a u16/u32/u64 little-endian value at p */
static inline uint16_t get_le16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16_to_cpu(v);
}

static inline uint32_t get_le32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32_to_cpu(v);
}

static inline uint64_t get_le64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64_to_cpu(v);
}

/* resolves a unified block range to (device, byte offset); checks bounds */
int erofs_rd_resolve(struct erofs_rd *rd, uint64_t blk, uint64_t nblks,
		     unsigned int devid, unsigned int *dev, uint64_t *pa,
		     const char *what, uint64_t nid);

int erofs_rd_src_open_file(struct erofs_rd *rd, struct erofs_rd_src *src,
			   const char *path);
void erofs_rd_src_close(struct erofs_rd_src *src);

/* reads long prefixes from an inode's data (packed inode placement) */
int erofs_rd_load_prefixes(struct erofs_rd *rd);

#endif
