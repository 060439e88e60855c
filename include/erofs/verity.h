/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * dm-verity hash trees: format version 1 with sha256, as the kernel's
 * dm-verity target reads them and veritysetup writes them.  This module owns
 * a tree's geometry, its level-0 digests as they come in (from any number of
 * threads, each for blocks of its own), the upper levels, the root hash and
 * the 512-byte superblock that veritysetup reads at the hash offset.  It knows
 * nothing of EROFS: a tree covers the data blocks of any byte range of any
 * file, so that every device of an image can get a tree of its own.
 *
 * The tree is kept in memory in its on-disk order (top level first), which
 * is about 1/128 of the data with 4096-byte hash blocks.  Data block n is
 * hashed as sha256(salt || block n); hash blocks likewise, their digests
 * packed in 32-byte slots and the rest of the block zero.
 */
#ifndef EROFS_VERITY_H
#define EROFS_VERITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EROFS_VERITY_ALGORITHM		"sha256"
#define EROFS_VERITY_DIGEST_SIZE	32
#define EROFS_VERITY_HASH_TYPE		1
#define EROFS_VERITY_MAX_SALT		256
#define EROFS_VERITY_SB_SIZE		512
#define EROFS_VERITY_MAX_LEVELS		64
#define EROFS_VERITY_MIN_BLKSZ		512
#define EROFS_VERITY_MAX_BLKSZ		4096	/* the kernel's limit: a page */

struct erofs_verity_params {
	uint32_t data_bs;		/* bytes; a power of two, 512..4096 */
	uint32_t hash_bs;
	uint64_t data_blocks;		/* at least 1 */
	uint8_t uuid[16];		/* stored in the superblock */
	uint16_t salt_size;
	uint8_t salt[EROFS_VERITY_MAX_SALT];
};

struct erofs_verity {
	struct erofs_verity_params p;
	unsigned int levels;		/* 0: one data block, hashed to the root */
	/* level 0 holds the digests of data blocks; the top level is 1 block */
	uint64_t level_off[EROFS_VERITY_MAX_LEVELS];	/* bytes into the tree */
	uint64_t level_blocks[EROFS_VERITY_MAX_LEVELS];
	uint64_t tree_size;		/* bytes */
	uint8_t *tree;			/* the hash blocks, in on-disk order */
	uint8_t *have;			/* per data block: its digest is in place */
	uint8_t root[EROFS_VERITY_DIGEST_SIZE];
	uint8_t top[EROFS_VERITY_DIGEST_SIZE];	/* levels == 0: block 0's digest */
	void *md;			/* the fetched SHA-256 */
};

/*
 * The salt used when none is given: sha256 of the 23 bytes
 * "erofs-forge verity salt" followed by the 16 bytes of the UUID.
 */
int erofs_verity_derive_salt(const uint8_t uuid[16],
			     uint8_t salt[EROFS_VERITY_DIGEST_SIZE]);

/* -EINVAL: block sizes, block count or salt out of range */
int erofs_verity_init(struct erofs_verity *v,
		      const struct erofs_verity_params *p);
void erofs_verity_release(struct erofs_verity *v);

/*
 * The superblock takes one hash block at the hash offset; the tree follows
 * it.  This is the size of both together.
 */
static inline uint64_t erofs_verity_area_size(const struct erofs_verity *v)
{
	return v->p.hash_bs + v->tree_size;
}

/*
 * Level-0 digests of data blocks [first, first + n) from buf.  *ctx is a
 * digest context of the calling thread, made on first use and freed with
 * erofs_verity_ctx_free().  Threads may call this at once for distinct
 * blocks.
 */
int erofs_verity_hash_blocks(struct erofs_verity *v, void **ctx,
			     uint64_t first, const void *buf, uint64_t n);
void erofs_verity_ctx_free(void *ctx);

/*
 * The same, reading data block k from fd at base + k * data_bs through buf
 * (bufsz at least one data block).  -ENODATA: the file ends before the
 * last block.
 */
int erofs_verity_hash_fd_range(struct erofs_verity *v, void **ctx, int fd,
			       uint64_t base, uint64_t first, uint64_t n,
			       uint8_t *buf, size_t bufsz);

/*
 * Every data block whose digest is not in place yet (all of them when
 * nothing was hashed before), read from fd at base, on 'threads' threads.
 */
int erofs_verity_hash_fd(struct erofs_verity *v, int fd, uint64_t base,
			 unsigned int threads);

/* once every data block is hashed: the upper levels and the root hash */
int erofs_verity_build(struct erofs_verity *v);

/* the veritysetup superblock for these parameters */
void erofs_verity_sb_write(const struct erofs_verity *v,
			   uint8_t sb[EROFS_VERITY_SB_SIZE]);

/*
 * Parses a superblock.  -ENOENT: no verity signature; -EOPNOTSUPP: another
 * version, hash type or algorithm; -EFSCORRUPTED: a field out of range.
 * 'why' (may be NULL) says which.
 */
int erofs_verity_sb_read(const uint8_t sb[EROFS_VERITY_SB_SIZE],
			 struct erofs_verity_params *p, const char **why);

/* superblock and tree at 'off' in fd */
int erofs_verity_write(const struct erofs_verity *v, int fd, uint64_t off);

enum erofs_verity_fault_kind {
	EROFS_VERITY_OK,
	EROFS_VERITY_BAD_ROOT,		/* the top hash block is not the root */
	EROFS_VERITY_BAD_HASH,		/* a hash block is not in the level above */
	EROFS_VERITY_BAD_PADDING,	/* unused bytes of a hash block not zero */
	EROFS_VERITY_BAD_DATA,		/* a data block is not in level 0 */
};

struct erofs_verity_fault {
	enum erofs_verity_fault_kind kind;
	unsigned int level;		/* BAD_HASH, BAD_PADDING */
	uint64_t block;			/* in its level, or the data block */
	uint64_t offset;		/* byte offset in the tree, or the data */
	uint64_t bad_data_blocks;	/* data blocks that do not match */
};

/*
 * Checks a tree as stored (tree_size bytes at 'tree') against the root hash
 * 'root' and the level-0 digests in v, computed from the data.  Returns 0,
 * or -EBADMSG with the first fault, top down: the root, each hash level,
 * then the data blocks in order.
 */
int erofs_verity_check(const struct erofs_verity *v, const uint8_t *tree,
		       const uint8_t root[EROFS_VERITY_DIGEST_SIZE],
		       struct erofs_verity_fault *f);

/*
 * The verity superblock of a tree appended to data that ends at data_end
 * (the filesystem's last block): at the first multiple of a block size
 * (512 to 4096) at or after data_end that holds one.  -ENOENT: none.
 */
int erofs_verity_find_sb(int fd, uint64_t data_end, uint64_t *off);

/*
 * Checks the tree whose superblock is at hash_off in hash_fd against the
 * data in data_fd (from byte 0) and the root hash, hashing on 'threads'
 * threads.  p gets the superblock's parameters.  0: every block matches;
 * -EBADMSG: f says where the first fault is; -ENOENT, -EOPNOTSUPP,
 * -EFSCORRUPTED: no usable superblock or tree, with 'why'; -ENODATA: the
 * data is shorter than the superblock says; other errors from reading.
 */
int erofs_verity_verify(int data_fd, int hash_fd, uint64_t hash_off,
			const uint8_t root[EROFS_VERITY_DIGEST_SIZE],
			unsigned int threads, struct erofs_verity_params *p,
			struct erofs_verity_fault *f, const char **why);

#endif
