/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The image builder's public interface.  A front end fills one
 * struct erofs_mkfs_opts, checks it with erofs_mkfs_opts_check() and calls
 * erofs_mkfs_build().  The builder reports through the callbacks in the
 * options and never writes to stdout itself.  On any failure no file is left
 * at the output path and an existing file there is untouched.
 */
#ifndef EROFS_MKFS_H
#define EROFS_MKFS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <regex.h>

enum erofs_log_level {
	EROFS_LOG_ERR = 0,
	EROFS_LOG_WARN = 1,
	EROFS_LOG_INFO = 2,
	EROFS_LOG_DEBUG = 3,
};

struct erofs_mkfs_progress {
	uint64_t inodes_done, inodes_total;
	uint64_t bytes_done, bytes_total;
};

struct erofs_mkfs_report {
	uint64_t inodes;		/* inodes written */
	uint64_t dirs, regular, symlinks, specials, hardlinks;
	uint64_t data_bytes;		/* regular file bytes in the source */
	uint64_t sparse_files;		/* files stored chunk-based with holes */
	uint64_t meta_bytes;		/* metadata area, including inline data */
	uint64_t blocks;		/* image size in blocks */
	uint64_t shared_xattrs, long_prefixes;
	uint32_t block_size;
	uint64_t build_time;
	uint8_t uuid[16];
	uint32_t feature_compat, feature_incompat;
	/* chunks and blobs */
	uint64_t chunked_files;		/* regular files stored chunk-based */
	uint64_t dedupe_bytes;		/* chunk bytes stored once for many */
	uint64_t blob_bytes;		/* bytes of the new blob, 0: none */
	char blob_id[65];		/* its SHA-256 in hex, or "" */
	char *blob_path;		/* where it went (malloc'd), or NULL */
	unsigned int nr_devices;	/* device table slots */
	unsigned int nr_dicts;		/* --blob-dict blobs used ... */
	struct erofs_mkfs_reuse {
		char id[65];
		uint64_t bytes;		/* ... and the chunk bytes each gave */
	} reuse[64];
	struct erofs_mkfs_verity_report {
		bool enabled;
		uint8_t root_hash[32];
		uint8_t salt[256];
		uint16_t salt_size;
		uint8_t uuid[16];		/* in the verity superblock */
		uint32_t data_block_size, hash_block_size;
		uint64_t data_blocks;
		uint64_t hash_offset;		/* bytes: the verity superblock */
		uint64_t hash_start_block;	/* the tree's top, in hash blocks */
		uint64_t hash_bytes;		/* superblock and tree */
		uint64_t file_size;		/* the image file, tree included */
	} verity;
	/* with --verity, a tree per device (blob), in device table order */
	struct erofs_mkfs_device_report {
		char id[65];			/* the device's SHA-256 */
		uint64_t blocks;
		char *hash_file;		/* its tree (malloc'd) */
		struct erofs_mkfs_verity_report verity;
	} *devices;				/* nr_devices of them, or NULL */
	/* compression */
	uint64_t compressed_files;	/* regular files stored compressed */
	uint64_t compressed_src_bytes;	/* their size in the source */
	uint64_t compressed_blocks;	/* blocks their pclusters take */
	uint64_t inline_tails;		/* of them, tails kept in the inode */
};

#define EROFS_MKFS_MAX_PREFIXES	128
#define EROFS_FINGERPRINT_DEFAULT_NAME	"erofs.fingerprint.v1"

/*
 * The kernel checks the lz4 record's max_pclusterblks against the largest
 * pcluster (1 MiB) in 4 KiB pages, whatever the block size.
 */
#define EROFS_LZ4_MAX_PCLUSTER_BLKS	256

enum erofs_compr_algo {
	EROFS_COMPR_NONE,
	EROFS_COMPR_LZ4,
	EROFS_COMPR_LZ4HC,
	EROFS_COMPR_ZSTD,
	EROFS_COMPR_DEFLATE,
};

/*
 * Parses a -z value, "ALG", "ALG,level=N" or "ALG,N".  Returns 0, or
 * -EINVAL (malformed, unknown, level out of range) or -EOPNOTSUPP (the
 * codec was left out of this build), with *why saying which.
 */
int erofs_compr_parse(const char *spec, unsigned int *algo, int *level,
		      const char **why);
const char *erofs_compr_name(unsigned int algo);

/* whether a digest name is one that --fingerprint accepts */
bool erofs_fingerprint_algo_ok(const char *algo);

enum erofs_tar_mode {
	EROFS_TAR_NONE,			/* the source is not a tar archive */
	EROFS_TAR_FULL,			/* file data copied into the image */
	EROFS_TAR_INDEX,		/* data read in place from the archive */
};

/* the temporary files a build may hold, for erofs_mkfs_opts.tmpfile */
enum erofs_tmp_slot {
	EROFS_TMP_IMAGE,		/* the image, renamed at the end */
	EROFS_TMP_BLOB,			/* --blobdev or --blob-dir's new blob */
	EROFS_TMP_SPOOL,		/* tar data, unlinked once open */
	EROFS_TMP_VERITY,		/* --verity=FILE's hash tree */
	EROFS_TMP_SLOTS
};

struct erofs_mkfs_opts {
	const char *image_path;
	const char *source_path;	/* a directory, a tar archive (NULL:
					 * standard input), or NULL with ... */
	const char **rebuild_inputs;	/* ... EROFS images merged as layers */
	unsigned int nr_rebuild_inputs;
	bool rebuild_copy;		/* copy what cannot be referenced */
	enum erofs_tar_mode tar_mode;	/* the source is a tar archive */
	bool oci;			/* tar: .wh. names are whiteouts */

	unsigned int blkszbits;		/* 9..12 */
	char label[16];			/* at most 15 bytes plus NUL */
	uint8_t uuid[16];
	bool uuid_set;			/* else a random UUID */

	bool fixed_time;		/* -T: every mtime and the build time */
	bool clamp_time;		/* SOURCE_DATE_EPOCH: clamp newer mtimes */
	int64_t timestamp;

	int64_t force_uid, force_gid;	/* -1 keeps the source's */

	int xattr_tolerance;		/* < 0: no xattrs */
	const char *xattr_prefixes[EROFS_MKFS_MAX_PREFIXES];
	unsigned int nr_xattr_prefixes;
	bool no_auto_prefixes;

	const char **exclude_paths;
	unsigned int nr_exclude_paths;
	regex_t *exclude_regexes;
	unsigned int nr_exclude_regexes;

	/* per-file fingerprints for page-cache sharing */
	const char *fp_algo;		/* NULL: none; else an OpenSSL digest name */
	const char *fp_name;		/* the xattr name; NULL: the default */
	const char *fp_map;		/* publisher's "PATH VALUE" lines */
	const char *fp_from_xattr;	/* take values from this source xattr */
	bool fp_strict;			/* every file needs a supplied value */
	const char *manifest;		/* JSON document of the image, or NULL */

	/* chunk-based files, deduplication and blob devices */
	uint32_t chunksize;		/* bytes; 0: only sparse files use chunks */
	bool dedupe;			/* store identical chunks once */
	const char *blobdev;		/* all chunk data goes to this file */
	const char *blob_dir;		/* content-addressed blob store */
	const char **blob_dicts;	/* earlier images whose blobs may be used */
	unsigned int nr_blob_dicts;
	/* a dm-verity hash tree over the image */
	bool verity;
	const char *verity_file;	/* NULL: appended to the image */
	unsigned int verity_blkszbits;	/* 0: the image's block size */
	int verity_salt_size;		/* -1: derived from the UUID */
	uint8_t verity_salt[256];

	/* compression */
	unsigned int compr_algo;	/* enum erofs_compr_algo */
	int compr_level;		/* -1: the codec's default */
	uint32_t pclustersize;		/* bytes, a multiple of the block; 0: one block */
	bool ztailpacking;		/* a short compressed tail stays in the inode */
	bool fragments;			/* small files go into the packed inode */
	bool compr_full_indexes;	/* full lcluster indexes, never compact */

	unsigned int workers;		/* 0: number of online CPUs */
	bool no_fsync;

	/* callbacks: may be NULL */
	void (*log)(void *ctx, enum erofs_log_level level, const char *fmt,
		    va_list ap);
	void (*progress)(void *ctx, const struct erofs_mkfs_progress *p);
	/*
	 * Temporary files, one per slot (enum erofs_tmp_slot), as they come
	 * and go (path NULL), so that a signal handler can remove them.
	 */
	void (*tmpfile)(void *ctx, unsigned int slot, const char *path);
	void *cb_ctx;
};

void erofs_mkfs_opts_init(struct erofs_mkfs_opts *opts);
int erofs_mkfs_build(const struct erofs_mkfs_opts *opts,
		     struct erofs_mkfs_report *report);
void erofs_mkfs_report_release(struct erofs_mkfs_report *report);

#endif
