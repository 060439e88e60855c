/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Compressed files: the codecs behind one ops table, and what the
 * compression pass leaves for planning and writing.
 *
 * Every codec answers one question: how much of this input fits, encoded,
 * into at most 'cap' bytes.  LZ4 answers it directly, zstd by closing its
 * frame at the last flush that fits, and DEFLATE compresses a guess and
 * adjusts it (compress_fill()).  A codec context belongs to one worker and
 * is reset at the start of each job, so that a job's output never depends
 * on which worker ran it or what ran before.
 */
#ifndef EROFS_LIB_COMPRESS_H
#define EROFS_LIB_COMPRESS_H

#include "internal.h"

struct erofs_zctx;

struct erofs_compressor {
	const char *name;
	uint8_t alg;			/* Z_EROFS_COMPRESSION_* */
	int min_level, max_level, default_level;	/* all 0: no levels */
	int (*init)(struct erofs_zctx *c);
	void (*exit)(struct erofs_zctx *c);
	/*
	 * Either: as much of src[0..*srclen) as fits into dst[0..cap); sets
	 * *srclen to the bytes taken and returns the encoded length (0: not
	 * even a little fitted) ...
	 */
	int (*destsize)(struct erofs_zctx *c, const void *src,
			uint32_t *srclen, void *dst, uint32_t cap);
	/* ... or: all of src into dst (cap >= bound(srclen)), or -errno */
	int (*whole)(struct erofs_zctx *c, const void *src, uint32_t srclen,
		     void *dst, uint32_t cap);
	uint32_t (*bound)(uint32_t srclen);
};

struct erofs_zctx {
	const struct erofs_compressor *ops;
	int level;
	unsigned int windowlog;		/* zstd: log2 of the window */
	void *priv;
	uint8_t *scratch;		/* for codecs that compress a guess */
	uint32_t scratch_cap;
	uint32_t ratio_x16;		/* last input/output ratio, times 16 */
};

extern const struct erofs_compressor erofs_compressor_lz4;
extern const struct erofs_compressor erofs_compressor_lz4hc;
extern const struct erofs_compressor erofs_compressor_zstd;
extern const struct erofs_compressor erofs_compressor_deflate;

const struct erofs_compressor *erofs_compressor_get(unsigned int algo);
int erofs_zctx_init(struct erofs_zctx *c, const struct erofs_compressor *ops,
		    int level, unsigned int windowlog);
void erofs_zctx_reset(struct erofs_zctx *c);
void erofs_zctx_exit(struct erofs_zctx *c);
int erofs_zctx_compress(struct erofs_zctx *c, const void *src,
			uint32_t *srclen, void *dst, uint32_t cap);

/* one extent of a compressed file, in file order */
struct erofs_zext {
	uint32_t len;			/* decoded bytes */
	uint16_t blocks;		/* pcluster blocks */
	uint8_t type;			/* Z_EROFS_LCLUSTER_TYPE_PLAIN or HEAD1 */
};

/*
 * A segment: a slice of a file compressed as one job.  Its pclusters are
 * in the spool, block-formatted, at spool_off; a segment that did not
 * compress at all is not spooled (spool_off RAW) and is copied from the
 * source, one block per extent.
 */
#define EROFS_ZSEG_RAW	UINT64_MAX

struct erofs_zseg {
	uint64_t spool_off;
	uint64_t blocks;
	struct erofs_zext *ext;
	uint32_t nr_ext;
};

struct erofs_zinode {
	struct erofs_zseg *seg;
	uint32_t nr_seg;
	uint64_t blocks;		/* all pclusters, the tail in a block */
	/* a candidate for the inline tail: replaces the last extent */
	uint8_t *tail;
	uint16_t tail_len;
	uint8_t tail_type;
	bool inline_tail;		/* decided when planning */
	uint32_t index_size;		/* map header and lcluster indexes */
	uint32_t pad;			/* before the map header */
	/* -Efragments: the whole file is bytes of the packed inode */
	bool frag;
	bool packed;			/* this is the packed inode */
	uint64_t frag_off;		/* where in the packed inode */
	uint64_t frag_spool;		/* where its bytes wait in the spool */
};

/* the compression pass's state, shared with the writing side */
struct erofs_zbuild {
	const struct erofs_compressor *ops;
	int level;
	unsigned int windowlog;
	uint32_t pcs;			/* pcluster bytes */
	uint32_t max_extent;		/* input bytes one pcluster may take */
	uint32_t segsize;		/* input bytes per job (block multiple) */
	bool big;			/* pclusters of more than one block */
	bool compact;			/* compact indexes */
	bool cfgs;			/* config records in the superblock */
	bool any_inline;
	/* -Efragments: files up to frag_max in the packed inode */
	bool fragments;
	uint32_t frag_max;
	struct erofs_inode *packed;
	struct zpiece {
		uint64_t off, spool, len;	/* in the packed inode, spooled */
	} *pieces;
	uint64_t nr_pieces;

	int spool_fd;
	atomic_uint_fast64_t spool_end;

	/* jobs: a file's segments [first, first + nr) */
	struct zjob {
		struct erofs_inode *inode;
		uint32_t first, nr;
	} *jobs;
	uint64_t nr_jobs;
	atomic_uint_fast64_t next_job;
	atomic_uint_fast64_t bytes_done;
	atomic_int failed;
	uint64_t bytes_total;
};

void erofs_z_report_read_err(struct erofs_build *b,
			      const struct erofs_inode *inode, int err);

/* super.c runs these in order */
int erofs_compress_setup(struct erofs_build *b);
int erofs_compress_all(struct erofs_build *b);
uint32_t erofs_z_plan_inode(struct erofs_build *b, struct erofs_inode *inode,
			    uint32_t base);
uint64_t erofs_z_data_blocks(const struct erofs_inode *inode);
int erofs_z_write_inode(struct erofs_build *b, const struct erofs_inode *inode,
			uint8_t *tail);
int erofs_z_write_index(const struct erofs_build *b,
			const struct erofs_inode *inode, uint8_t *tail);
int erofs_z_write_super(struct erofs_build *b, struct erofs_super_block *sb,
			uint32_t *incompat);
void erofs_compress_free(struct erofs_build *b);

#endif
