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
	/* compression: algorithms the superblock allows, codec parameters */
	unsigned int available_algs;
	uint32_t lzma_dictsize;
	bool zero_padding;
	/* the packed inode, read once when a fragment is first needed */
	struct erofs_rd_inode *packed;
	/* the last compressed extent mapped, and the last one decoded */
	struct erofs_rd_map zmap;
	uint64_t zmap_nid;		/* UINT64_MAX: none */
	uint8_t *zout, *zin;
	size_t zout_cap, zin_cap;
	uint64_t zout_nid, zout_la, zout_len;	/* zout_nid UINT64_MAX: none */
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

/* zmap.c: reads and checks a compressed inode's map header (from iget) */
int erofs_rd_zinit(struct erofs_rd *rd, struct erofs_rd_inode *vi);
int erofs_rd_zmap(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		  uint64_t la, struct erofs_rd_map *map);
/* decompress.c: one codec call, exact output length unless partial */
int erofs_rd_zcodec(struct erofs_rd *rd, unsigned int alg, const uint8_t *in,
		    size_t inlen, uint8_t *out, size_t outlen, bool partial,
		    const char *what);
void erofs_rd_zfree(struct erofs_rd *rd);
/* the decoded bytes of an ENCODED extent, kept until the next call */
int erofs_rd_zget(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		  const struct erofs_rd_map *map, const uint8_t **data);
/* the packed inode, read and checked on first use */
int erofs_rd_packed(struct erofs_rd *rd, const struct erofs_rd_inode **packed);
/* a FRAGMENT piece must lie inside the packed inode */
int erofs_rd_fragment_check(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
			    const struct erofs_rd_map *map);

/* reads long prefixes from an inode's data (packed inode placement) */
int erofs_rd_load_prefixes(struct erofs_rd *rd);

#endif
