/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Private state of the image builder: the in-memory tree that sources fill,
 * the interned xattr table, and the build context that carries the options
 * through the planning and writing passes.  Nothing here is on-disk format;
 * serializers convert to little-endian when they emit bytes.
 */
#ifndef EROFS_LIB_INTERNAL_H
#define EROFS_LIB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>

#include "erofs/defs.h"
#include "erofs/erofs_fs.h"
#include "erofs/mkfs.h"
#include "erofs/verity.h"

struct erofs_inode;

struct erofs_dentry {
	struct erofs_inode *inode;
	struct erofs_inode *parent;	/* directory holding this entry */
	uint8_t namelen;
	char name[];			/* not NUL-terminated on disk; NUL here */
};

/* one interned (name, value) pair */
struct erofs_xattr_item {
	struct erofs_xattr_item *hnext;
	uint32_t hash;
	uint32_t count;			/* inodes carrying it */
	uint32_t shared_id;		/* id in the shared pool, or UINT32_MAX */
	uint8_t index;			/* short prefix index */
	uint8_t prefix;			/* long prefix number, or 0xFF */
	uint8_t namelen;		/* full name length */
	uint16_t value_size;
	char *name;			/* full name, NUL-terminated */
	void *value;
};

#define EROFS_XATTR_NO_PREFIX	0xFF

struct erofs_extent {
	uint64_t off, len;
};

/* one chunk of a chunk-based file, at the granularity data is written in */
struct erofs_chunk {
	uint64_t blk;		/* block on the device of 'ref' (see below) */
	uint16_t ref;		/* 0: this build's data area; k: dict blob k */
	uint8_t flags;		/* EROFS_CHUNK_* */
};

enum {
	EROFS_CHUNK_HOLE	= 1 << 0,	/* no data: reads as zeros */
	EROFS_CHUNK_NEW		= 1 << 1,	/* this file's bytes are written */
	EROFS_CHUNK_EXT		= 1 << 2,	/* in place on an external device */
	EROFS_CHUNK_SELF	= 1 << 3,	/* planning: blk is an earlier chunk
						 * of the same file */
};


struct erofs_inode {
	/* from the source */
	uint32_t mode;
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint64_t size;
	uint32_t rdev_major, rdev_minor;
	dev_t src_dev;
	ino_t src_ino;
	struct timespec src_ctime;	/* any change since the scan moves it */
	uint32_t nlink;			/* entries in the image (dirs: 2 + subdirs) */
	struct erofs_dentry *dentry;	/* first entry naming it */
	char *symlink;

	struct erofs_xattr_item **xattrs;	/* sorted by name */
	uint16_t nr_xattrs;

	struct erofs_dentry **children;	/* directories: sorted by name */
	uint32_t nr_children;

	struct erofs_extent *extents;	/* sparse files: data ranges */
	uint32_t nr_extents;

	/* chunk-based files */
	struct erofs_chunk *chunks;	/* nr_wchunks entries */
	uint32_t nr_wchunks;
	uint8_t wchunkbits;		/* chunk size data is planned in */
	uint64_t *chunk_keys;		/* per chunk: its XXH3, for dedupe */
	uint64_t *pre_keys;		/* the same, taken during the scan */
	bool flat_planned;		/* dedupe kept it flat, at startblk */
	bool flat_inline;		/* ... with its tail inline */

	/* data in place on an external device (--rebuild) */
	uint16_t ext_ref;		/* its ref; 0: data from the source */
	uint64_t ext_blk;		/* flat layouts: first block there */
	uint8_t *ext_tail;		/* flat inline: the tail bytes */
	bool ext_data;			/* the data stays where it is */
	bool ext_seen;			/* reached in the merged tree */

	/* tar source, full mode: where the spool (or the archive) holds it */
	uint64_t spool_off;
	bool in_archive;		/* in the archive itself, at spool_off */

	/* planned */
	uint8_t datalayout;
	bool extended;
	bool placed;
	uint8_t chunkbits;		/* of the chunk index (merged chunks) */
	uint16_t xattr_icount;
	uint32_t xattr_size;
	uint32_t inline_size;		/* tail bytes, or chunk map bytes with
					 * the padding before 8-byte entries */
	uint32_t nr_chunks;
	uint64_t nid;
	uint64_t startblk;		/* first data block, or chunk data start */
	uint32_t ino;			/* serial number */
	uint32_t name_filter;
	uint16_t fp_size;		/* fingerprint value bytes, 0: none */
	uint8_t fp_source;		/* enum erofs_fp_source */
	uint32_t fp_line;		/* map line that gave the value */
	uint8_t *fp_value;		/* supplied, or filled while copying */
	uint8_t *pre_fp;		/* computed during the scan (prehash.c) */

	struct erofs_zinode *zi;	/* stored compressed (compress.c) */
};

enum erofs_fp_source {
	EROFS_FP_NONE,
	EROFS_FP_COMPUTED,
	EROFS_FP_MAP,
	EROFS_FP_XATTR,
};

struct erofs_long_prefix {
	uint8_t base_index;
	uint8_t infix_len;
	char *infix;
};

struct erofs_build {
	const struct erofs_mkfs_opts *opts;
	unsigned int blkszbits;
	uint32_t bs;

	int rootfd;
	struct erofs_prehash *prehash;	/* during a directory scan, or NULL */
	int spool_fd;			/* tar: the file data, or -1 */
	int archive_fd;			/* tar: a plain archive read in place */
	int outfd;
	char *tmp_path;
	dev_t out_dev[3];
	ino_t out_ino[3];
	unsigned int nr_out;

	struct erofs_inode *root;
	struct erofs_inode **inodes;	/* in nid order once placed */
	uint64_t nr_inodes, cap_inodes;

	/* hard links: (dev, ino) -> inode */
	struct erofs_inode **hl_table;
	uint64_t hl_size, hl_count;

	/* xattrs */
	struct erofs_xattr_item **xa_table;
	uint32_t xa_size, xa_count;
	struct erofs_xattr_item **shared;	/* the shared pool, in id order */
	uint32_t nr_shared;
	struct erofs_long_prefix prefixes[EROFS_XATTR_MAX_LONG_PREFIXES];
	unsigned int nr_prefixes;
	bool any_xattrs;
	const struct evp_md_st *fp_md;	/* fingerprint digest, or NULL */
	int fp_prefix;			/* long prefix of the fingerprint, or -1 */
	uint8_t fp_base;		/* its short namespace index */
	const char *fp_infix;
	size_t fp_infix_len;

	/* layout */
	int64_t epoch;
	uint32_t fixed_nsec;
	uint64_t prefix_start;		/* byte offset of the prefix table */
	uint64_t shared_start;		/* byte offset of the shared pool */
	uint64_t meta_blkaddr;
	uint64_t meta_end;
	uint64_t data_blkaddr;
	uint64_t total_blocks;
	bool any_chunked;

	/* chunks, dedupe and devices (chunk.c, devtable.c) */
	unsigned int chunkbits;		/* --chunksize as bits over the block */
	bool chunk_indexes;		/* 8-byte entries: the image has devices */
	bool flat_unless_shared;	/* -Ededupe, no blobs: chunks only to share */
	uint64_t chunk_blocks;		/* blocks of this build's chunk data */
	struct erofs_dedupe *dd;	/* digest table */
	struct erofs_blobs *blobs;	/* new blob, dict blobs, device table */

	/* compression (compress.c) */
	struct erofs_zbuild *z;
	uint32_t zcfg_size;		/* config records after the superblock */

	/* path scratch for exclusion matching */
	char *relpath;
	size_t relpath_len, relpath_cap;

	/* dm-verity */
	bool verity_on;
	struct erofs_verity verity;
	uint64_t verity_data_size;	/* data blocks, padding included */
	uint64_t verity_hash_off;	/* the verity superblock */
	int verity_fd;			/* the separate hash file, or -1 */
	char *verity_tmp;
	char **dev_tree_tmp;		/* the devices' trees, until commit */

	struct erofs_mkfs_report *report;
	char *manifest_tmp;
	struct timespec phase_start;

	/* writing pass */
	atomic_uint_fast64_t next_work;
	atomic_uint_fast64_t inodes_done;
	atomic_uint_fast64_t bytes_done;
	atomic_int failed;
	atomic_int out_failed;		/* a write to the image failed: reported */
	uint64_t bytes_total;
	unsigned int nr_workers;
};

void erofs_log(const struct erofs_build *b, enum erofs_log_level level,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define erofs_err(b, ...)	erofs_log(b, EROFS_LOG_ERR, __VA_ARGS__)
#define erofs_warn(b, ...)	erofs_log(b, EROFS_LOG_WARN, __VA_ARGS__)
#define erofs_info(b, ...)	erofs_log(b, EROFS_LOG_INFO, __VA_ARGS__)
#define erofs_dbg(b, ...)	erofs_log(b, EROFS_LOG_DEBUG, __VA_ARGS__)

/* tree.c */
struct erofs_inode *erofs_new_inode(struct erofs_build *b);
struct erofs_dentry *erofs_new_dentry(struct erofs_inode *parent,
				      const char *name, size_t len);
int erofs_add_child(struct erofs_inode *dir, struct erofs_dentry *d);
void erofs_sort_children(struct erofs_inode *dir);
int erofs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
char *erofs_inode_path(const struct erofs_inode *inode);
int erofs_hardlink_lookup(struct erofs_build *b, dev_t dev, ino_t ino,
			  struct erofs_inode **found);
int erofs_hardlink_insert(struct erofs_build *b, struct erofs_inode *inode);
void erofs_inode_drop_xattrs(struct erofs_inode *inode);
void erofs_tree_settle(struct erofs_build *b);
void erofs_tree_drop_unreached(struct erofs_build *b);
void erofs_tree_free(struct erofs_build *b);
unsigned int erofs_mode_to_ftype(uint32_t mode);

/* source_erofs.c */
int erofs_source_erofs_scan(struct erofs_build *b);
int erofs_read_external(struct erofs_build *b, const struct erofs_inode *inode,
			void *buf, uint64_t len, uint64_t off);

/* source_tar.c */
int erofs_source_tar_scan(struct erofs_build *b);
void erofs_source_tar_release(struct erofs_build *b);

/* source_dir.c */
int erofs_source_dir_scan(struct erofs_build *b);
bool erofs_path_excluded(const struct erofs_build *b, const char *relpath);
struct erofs_prehash;
int erofs_prehash_start(struct erofs_build *b, struct erofs_prehash **out);
void erofs_prehash_push(struct erofs_prehash *p, struct erofs_inode *inode);
void erofs_prehash_stop(struct erofs_prehash *p);
int erofs_open_source(struct erofs_build *b, const struct erofs_inode *inode,
		      int flags);

/* xattr.c */
int erofs_xattr_add(struct erofs_build *b, struct erofs_inode *inode,
		    const char *name, const void *value, size_t size);
int erofs_xattr_plan(struct erofs_build *b);
uint32_t erofs_xattr_pool_size(const struct erofs_build *b);
void erofs_xattr_write_pool(const struct erofs_build *b, uint8_t *buf);
uint32_t erofs_xattr_prefix_table_size(const struct erofs_build *b);
void erofs_xattr_write_prefixes(const struct erofs_build *b, uint8_t *buf);
void erofs_xattr_write_ibody(const struct erofs_build *b,
			     const struct erofs_inode *inode, uint8_t *buf);
void erofs_xattr_free(struct erofs_build *b);

/* dir.c */
uint64_t erofs_dir_size(const struct erofs_inode *dir, uint32_t bs);
int erofs_dir_build(const struct erofs_inode *dir, uint32_t bs, uint8_t *buf);

/* layout.c */
int erofs_order_inodes(struct erofs_build *b);
int erofs_plan_layout(struct erofs_build *b);

/* chunk.c */
/*
 * Before layout decides between the compact and the extended inode: whether
 * a tail of 'tail' bytes fits in the inode's block beside the larger core
 * and the inode's xattrs, so that it surely goes inline.
 */
static inline bool erofs_tail_fits_inline(const struct erofs_build *b,
					  const struct erofs_inode *inode,
					  uint64_t tail)
{
	return sizeof(struct erofs_inode_extended) + inode->xattr_size + tail <=
	       b->bs;
}

bool erofs_chunk_wanted(const struct erofs_build *b);
unsigned int erofs_chunk_bits(const struct erofs_build *b);
bool erofs_chunk_only_to_share(const struct erofs_build *b);
bool erofs_chunk_small(const struct erofs_build *b,
		       const struct erofs_inode *inode);
bool erofs_chunk_never(const struct erofs_build *b,
		       const struct erofs_inode *inode);
int erofs_chunk_setup_inode(struct erofs_build *b, struct erofs_inode *inode);
int erofs_chunk_plan(struct erofs_build *b);
uint32_t erofs_chunk_map_size(const struct erofs_build *b,
			      const struct erofs_inode *inode, uint32_t base);
void erofs_chunk_write_map(const struct erofs_build *b,
			   const struct erofs_inode *inode, uint8_t *buf);
bool erofs_chunk_has_data(const struct erofs_inode *inode, uint64_t start,
			  uint64_t len);
void erofs_chunk_free(struct erofs_build *b);

/* chunk.c: the digest table */
int erofs_dedupe_insert(struct erofs_build *b, uint64_t key,
			uint32_t nbytes, uint16_t ref, uint64_t blk,
			const struct erofs_inode *inode, uint64_t off);

/* devtable.c */
int erofs_blob_failed(struct erofs_build *b, int err);
bool erofs_blob_wanted(const struct erofs_build *b);
bool erofs_blob_new(const struct erofs_build *b);
void erofs_blobs_note_reuse(struct erofs_build *b, uint16_t ref,
			    uint64_t nbytes);
void erofs_devtable_place(struct erofs_build *b, uint64_t pos);
uint64_t erofs_devtable_start(const struct erofs_build *b);
int erofs_blobs_setup(struct erofs_build *b);
int erofs_blobs_add_external(struct erofs_build *b, const char *what,
			     const char *path, const char *id);
uint64_t erofs_blobs_uniaddr(const struct erofs_build *b, uint16_t ref);
int erofs_blob_scan_alloc(struct erofs_build *b, uint64_t len, uint64_t *blk,
			  uint16_t *ref);
int erofs_blob_scan_write(struct erofs_build *b, const void *buf, size_t len,
			  uint64_t off);
int erofs_blob_scan_finish(struct erofs_build *b);
struct erofs_devinfo {
	char id[65];
	int fd;
	uint64_t blocks;
	bool is_new;			/* the blob this build writes */
};
int erofs_devtable_info(const struct erofs_build *b, unsigned int devid,
			struct erofs_devinfo *di);
int erofs_devtable_report(struct erofs_build *b);
int erofs_blobs_dict_lookup(struct erofs_build *b);
unsigned int erofs_devtable_slots(const struct erofs_build *b);
int erofs_blobs_assign_devices(struct erofs_build *b);
uint16_t erofs_blobs_device_id(const struct erofs_build *b, uint16_t ref);
int erofs_blob_create(struct erofs_build *b);
int erofs_blob_fd(const struct erofs_build *b);
int erofs_blob_finish(struct erofs_build *b);
int erofs_devtable_write(struct erofs_build *b);
int erofs_blob_commit(struct erofs_build *b);
void erofs_blob_abort(struct erofs_build *b);
int erofs_blob_dict_read(struct erofs_build *b, uint16_t ref, void *buf,
			 uint64_t len, uint64_t off);
void erofs_blobs_free(struct erofs_build *b);

/* writer.c */
int erofs_check_unchanged(struct erofs_build *b,
			  const struct erofs_inode *inode, int fd);
int erofs_write_all(struct erofs_build *b);
int erofs_digest_all(struct erofs_build *b);

/* super.c */
int erofs_write_super(struct erofs_build *b);

/* verity_build.c */
int erofs_verity_setup(struct erofs_build *b);
int erofs_verity_finish(struct erofs_build *b);
int erofs_verity_commit(struct erofs_build *b);
int erofs_verity_devices(struct erofs_build *b);
void erofs_verity_abort(struct erofs_build *b);

/* io.c */
int erofs_output_failed(struct erofs_build *b, int err);
int erofs_pwrite_all(struct erofs_build *b, const void *buf, size_t len,
		     uint64_t off);
int erofs_pwrite_fd(struct erofs_build *b, int fd, const void *buf, size_t len,
		    uint64_t off);
void erofs_tmpfile_forget(struct erofs_build *b, unsigned int slot);
int erofs_tmpfile_create(struct erofs_build *b, const char *target,
			 const char *dir, unsigned int slot, char **tmp);
int erofs_check_target_dir(struct erofs_build *b, const char *what,
			   const char *target, const char *dir);
int erofs_output_check(struct erofs_build *b);
int erofs_output_create(struct erofs_build *b);
int erofs_output_commit(struct erofs_build *b);
void erofs_output_abort(struct erofs_build *b);

#endif
