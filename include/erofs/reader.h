/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The validating reader: opens an EROFS image (a file, or a buffer in
 * memory), checks every on-disk field before it is used, as strictly as the
 * kernel does, and hands out inodes, directory entries, xattrs and file data.
 * It shares nothing with the writer but the format header, so that a mistake
 * in one cannot be hidden by the same mistake in the other.
 *
 * Every read of the image goes through one bounds-checked function.  A
 * violation of the format is -EFSCORRUPTED, reported once through the
 * message callback with the structure and its byte offset.  A layout this
 * version cannot read (metabox, encoded extents, a codec left out of the
 * build) is -EOPNOTSUPP.  The
 * reader never exits and never writes to stdout.  One struct erofs_rd is
 * for one thread at a time: it caches recently read metadata blocks.
 */
#ifndef EROFS_READER_H
#define EROFS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "erofs/defs.h"
#include "erofs/erofs_fs.h"

enum erofs_rd_level {
	EROFS_RD_ERR,
	EROFS_RD_WARN,
	EROFS_RD_INFO,
	EROFS_RD_DEBUG,
};

typedef void (*erofs_rd_msg_fn)(void *priv, enum erofs_rd_level level,
				const char *msg);

#define EROFS_RD_MAX_DEVICES	64

struct erofs_rd_opts {
	const char *path;		/* the image file, or ... */
	const void *mem;		/* ... an image in memory */
	size_t memsize;
	const char *devices[EROFS_RD_MAX_DEVICES];	/* extra devices, in slot order */
	unsigned int ndevices;
	erofs_rd_msg_fn msg;
	void *msg_priv;
	enum erofs_rd_level level;	/* messages above this are dropped */
};

struct erofs_rd_device {
	uint8_t tag[64];
	uint64_t blocks;
	uint64_t uniaddr;
	uint64_t size;		/* bytes of the file backing it, 0 if none */
	bool present;
};

struct erofs_rd_prefix {
	uint8_t base_index;
	uint8_t infix_len;
	const char *infix;	/* not NUL-terminated */
};

/* the superblock, decoded and checked */
struct erofs_rd_sb {
	uint32_t checksum;
	uint32_t feature_compat;
	uint32_t feature_incompat;
	unsigned int blkszbits;
	unsigned int sb_extslots;
	uint64_t root_nid;
	uint64_t inos;
	int64_t epoch;
	uint32_t fixed_nsec;
	uint64_t blocks;
	uint32_t meta_blkaddr;
	uint32_t xattr_blkaddr;
	uint8_t uuid[16];
	char volume_name[17];
	uint16_t u1;
	uint16_t extra_devices;
	uint16_t devt_slotoff;
	uint8_t xattr_prefix_count;
	uint32_t xattr_prefix_start;
	uint64_t packed_nid;
	uint8_t xattr_filter_reserved;
	uint8_t ishare_xattr_prefix_id;
	uint32_t build_time;
	uint64_t metabox_nid;
};

struct erofs_rd;

/* an inode, decoded and checked; plain data, owned by the caller */
struct erofs_rd_inode {
	uint64_t nid;
	uint64_t iloc;			/* absolute byte offset */
	unsigned int isize;		/* 32 or 64 */
	uint16_t i_format;
	unsigned int datalayout;
	bool extended;
	bool nlink_1;			/* compact non-directory with bit 4 */
	bool dot_omitted;		/* directory with bit 4 */
	uint16_t xattr_icount;
	unsigned int xattr_isize;
	uint32_t mode;
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t ino;
	uint64_t startblk;		/* flat layouts; EROFS_RD_NO_BLK if none */
	uint32_t rdev_raw;		/* character and block devices */
	uint32_t rdev_major, rdev_minor;
	uint16_t chunkformat;		/* chunk-based */
	unsigned int chunkbits;
	uint64_t compressed_blocks;	/* compressed layouts: i_u (+ hi) */
	/* compressed layouts: the map header, checked when the inode is read */
	uint16_t z_advise;		/* Z_EROFS_ADVISE_* bits as stored */
	uint8_t z_algs[2];		/* algorithm ids of HEAD1 and HEAD2 lclusters */
	unsigned int z_lclusterbits;
	unsigned int z_idata_size;	/* bytes of the inline tail pcluster, or 0 */
	bool z_fragment;		/* the tail (or all) of the data is a fragment */
	bool z_whole_fragment;		/* ... all of it */
	uint64_t z_fragoff;		/* the fragment's offset in the packed inode */
	uint64_t z_tailheadlcn;		/* lcluster of the last extent's head */
	uint64_t z_meta_end;		/* end of the lcluster indexes (absolute) */
	uint64_t z_tailpos;		/* where the inline tail pcluster is */
};

#define EROFS_RD_NO_BLK		UINT64_MAX

/* one contiguous piece of a file, as erofs_rd_map() finds it */
enum {
	EROFS_RD_MAP_MAPPED	= 1 << 0,	/* data at pa on device dev */
	EROFS_RD_MAP_INLINE	= 1 << 1,	/* ... in the inode's metadata block */
	EROFS_RD_MAP_HOLE	= 1 << 2,	/* reads as zeros */
	EROFS_RD_MAP_CHUNK	= 1 << 3,	/* from a chunk index or block map */
	EROFS_RD_MAP_ENCODED	= 1 << 4,	/* a pcluster: plen bytes at pa, in format fmt */
	EROFS_RD_MAP_FRAGMENT	= 1 << 5,	/* in the packed inode at fragoff */
	EROFS_RD_MAP_PARTIAL	= 1 << 6,	/* the extent is a prefix of what it decodes to */
};

/* how an ENCODED piece is stored: the algorithm ids, then raw forms */
enum {
	EROFS_RD_FMT_LZ4 = 0,
	EROFS_RD_FMT_LZMA = 1,
	EROFS_RD_FMT_DEFLATE = 2,
	EROFS_RD_FMT_ZSTD = 3,
	EROFS_RD_FMT_SHIFTED = 4,	/* raw, extent byte i at pcluster byte i */
	EROFS_RD_FMT_INTERLACED = 5,	/* raw, rotated by the extent's block offset */
};

struct erofs_rd_map {
	uint64_t la;		/* logical start of the piece */
	uint64_t len;		/* its length (never past i_size) */
	uint64_t pa;		/* byte offset on the device */
	unsigned int dev;	/* 0 = primary image, N = extra device N */
	unsigned int flags;
	uint64_t chunk;		/* chunk number (CHUNK) */
	uint64_t plen;		/* ENCODED: bytes of the pcluster (or of the inline tail) */
	unsigned int fmt;	/* ENCODED: EROFS_RD_FMT_* */
	uint64_t fragoff;	/* FRAGMENT: offset of byte la in the packed inode */
};

/* ------------------------------------------------------------ super.c */

int erofs_rd_open(struct erofs_rd **rdp, const struct erofs_rd_opts *opts);
void erofs_rd_close(struct erofs_rd *rd);
const struct erofs_rd_sb *erofs_rd_sb(const struct erofs_rd *rd);
uint64_t erofs_rd_image_size(const struct erofs_rd *rd);
unsigned int erofs_rd_ndevices(const struct erofs_rd *rd);	/* extra ones */
const struct erofs_rd_device *erofs_rd_device(const struct erofs_rd *rd,
					      unsigned int dev);
unsigned int erofs_rd_nprefixes(const struct erofs_rd *rd);
const struct erofs_rd_prefix *erofs_rd_prefix(const struct erofs_rd *rd,
					      unsigned int i);

/* counts reported errors: front ends use it to tell "reported" from silent */
unsigned long erofs_rd_nerrors(const struct erofs_rd *rd);
/* the message callback, for modules built on the reader (check, extract) */
void erofs_rd_msg(struct erofs_rd *rd, enum erofs_rd_level level,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* bounded read from device dev (0 = the image); -EFSCORRUPTED past its end */
int erofs_rd_dev_read(struct erofs_rd *rd, unsigned int dev, void *buf,
		      uint64_t len, uint64_t off, const char *what);
/* the file descriptor behind device dev, or -1 for a memory image */
int erofs_rd_dev_fd(const struct erofs_rd *rd, unsigned int dev);
/* a memory image's bytes, or NULL */
const uint8_t *erofs_rd_dev_mem(const struct erofs_rd *rd, unsigned int dev);

/* ------------------------------------------------------------ blob.c */

/* whether a device tag is a blob id: 64 lowercase hex characters */
bool erofs_rd_tag_is_blob_id(const uint8_t *tag);
/*
 * Fills ro->devices (malloc'd strings, ro->ndevices of them) with DIR/<id>
 * for each device of the image, by the ids in its device table.
 */
int erofs_rd_blob_dir_devices(const char *image, const char *dir,
			      struct erofs_rd_opts *ro);
/* hashes each device that has a blob id; *bad counts those that differ */
int erofs_rd_verify_blob_ids(struct erofs_rd *rd, unsigned int *bad);

/* ------------------------------------------------------------ inode.c */

int erofs_rd_iget(struct erofs_rd *rd, uint64_t nid, struct erofs_rd_inode *inode);
const char *erofs_rd_type_name(uint32_t mode);
const char *erofs_rd_layout_name(unsigned int datalayout);
/* the directory file type (EROFS_FT_*) that matches a mode */
unsigned int erofs_rd_mode_to_ftype(uint32_t mode);

/* ------------------------------------------------------------ data.c */

/*
 * The piece of the file that contains byte la (< i_size).  For a
 * compressed inode it is the whole extent, from its head to the next head
 * (or i_size), with the pcluster it decodes from.
 */
int erofs_rd_map(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
		 uint64_t la, struct erofs_rd_map *map);
/* reads [off, off + len) of the file; holes read as zeros */
int erofs_rd_pread(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
		   void *buf, uint64_t len, uint64_t off);
/* the name of an EROFS_RD_FMT_* value ("lz4", "shifted", ...) */
const char *erofs_rd_fmt_name(unsigned int fmt);
/* the name of a compression algorithm id, or NULL if unknown */
const char *erofs_rd_alg_name(unsigned int alg);
/*
 * Decodes the ENCODED or FRAGMENT piece map of inode (as erofs_rd_map()
 * gave it) into out, map->len bytes.  The decoded length must match the
 * extent exactly (a prefix of it for PARTIAL); anything else is
 * -EFSCORRUPTED.  A codec missing from this build is -EOPNOTSUPP.
 */
int erofs_rd_decode(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
		    const struct erofs_rd_map *map, uint8_t *out);
/* reads a whole symlink target into buf (size + 1 bytes, NUL-terminated) */
int erofs_rd_readlink(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
		      char *buf, size_t bufsize);
/*
 * Writes the file to fd (new and empty) from offset 0: data copied in the
 * kernel where it can, holes left as holes, the file sized to i_size.  fd's
 * file offset is left anywhere.
 */
int erofs_rd_copy_to_fd(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
			int fd);

/* ------------------------------------------------------------ dir.c */

struct erofs_rd_dirent {
	uint64_t nid;
	unsigned int file_type;
	unsigned int namelen;
	const char *name;	/* not NUL-terminated; valid during the callback */
	uint64_t pos;		/* byte position of the dirent in the directory */
};

/*
 * Calls fn for every entry of directory dir, in on-disk order, after the
 * block holding it has been checked: nameoff rules, name lengths and bytes,
 * global strict order.  "." and ".." must be present (unless "." is
 * omitted) and "." must name dir itself.  fn returns 0 to go on, > 0 to stop
 * early (returned as is), or < 0 for an error.
 */
typedef int (*erofs_rd_dirent_fn)(void *priv, const struct erofs_rd_dirent *de);
int erofs_rd_readdir(struct erofs_rd *rd, const struct erofs_rd_inode *dir,
		     erofs_rd_dirent_fn fn, void *priv);
const char *erofs_rd_ftype_name(unsigned int file_type);

/* ------------------------------------------------------------ xattr.c */

struct erofs_rd_xattr {
	uint8_t name_index;	/* as stored, 0x80 | k for long prefixes */
	uint8_t short_index;	/* the short prefix the full name starts with */
	bool shared;
	uint32_t shared_id;
	uint64_t pos;		/* absolute offset of the entry */
	unsigned int entry_size;	/* its bytes on disk, padding included */
	char name[EROFS_NAME_LEN * 2 + 32];	/* full name, NUL-terminated */
	unsigned int namelen;
	const uint8_t *value;	/* valid during the callback */
	unsigned int value_size;
};

/* the text of a short prefix index ("user.", ...), or NULL if unknown */
const char *erofs_rd_xattr_prefix_name(unsigned int base);

typedef int (*erofs_rd_xattr_fn)(void *priv, const struct erofs_rd_xattr *xa);
/*
 * Calls fn for every xattr of the inode (shared ones first), after checking
 * the inline region's size, the shared ids, each entry's bounds, its name
 * index and, when the image has name filters, that the filter admits it.
 */
int erofs_rd_xattrs(struct erofs_rd *rd, const struct erofs_rd_inode *inode,
		    erofs_rd_xattr_fn fn, void *priv);

/* ------------------------------------------------------------ namei.c */

/* resolves a path ("/a/b", "a/b", "/" for the root) without following symlinks */
int erofs_rd_lookup(struct erofs_rd *rd, const char *path, struct erofs_rd_inode *inode);
/* the entry called name in dir, or -ENOENT */
int erofs_rd_lookup_one(struct erofs_rd *rd, const struct erofs_rd_inode *dir,
			const char *name, size_t len, uint64_t *nid);

/* ------------------------------------------------------------ check.c */

enum {
	EROFS_RD_HIST_BUCKETS = 12,	/* 0, < 1K, < 4K, ... powers of 4 */
};

struct erofs_rd_stats {
	uint64_t inodes;		/* distinct inodes reached */
	uint64_t entries;		/* directory entries, without . and .. */
	uint64_t by_type[8];		/* distinct inodes by EROFS_FT_* */
	uint64_t by_layout[EROFS_INODE_DATALAYOUT_MAX];
	uint64_t compact, extended;
	uint64_t hardlinked;		/* non-directories with nlink > 1 */
	uint64_t size_hist[EROFS_RD_HIST_BUCKETS];	/* regular files */
	uint64_t file_bytes;		/* sum of regular file sizes */
	uint64_t data_blocks;		/* distinct data blocks (all devices) */
	uint64_t inline_bytes;
	uint64_t hole_bytes;
	uint64_t chunks;
	uint64_t compressed_extents;	/* extents of compressed inodes, fragments included */
	uint64_t shared_pclusters;	/* extents that reuse an earlier extent's pcluster */
	uint64_t fragment_bytes;	/* file bytes kept in the packed inode */
	uint64_t shared_chunks;		/* chunks that reuse an earlier chunk's blocks */
	uint64_t shared_blocks;		/* blocks saved by that sharing */
	uint64_t xattrs, shared_xattr_refs;
	uint64_t max_depth;
};

/*
 * The walk fsck does: from the root, every directory once (a second path to
 * a directory is a loop or a directory hard link: corruption), every inode
 * checked, its xattrs parsed, its data mapped and its blocks accounted for;
 * link counts compared at the end.  With the callbacks, the walk also hands
 * each entry to the caller (extraction), with a per-directory context.
 */
struct erofs_rd_walk_ops {
	/* a directory is entered: *child becomes the context of its entries */
	int (*enter_dir)(void *priv, void *parent, const char *name,
			 unsigned int namelen, const struct erofs_rd_inode *dir,
			 void **child);
	/* its entries are done */
	int (*leave_dir)(void *priv, void *ctx, const struct erofs_rd_inode *dir);
	/* any other entry; first is true the first time its inode is seen */
	int (*entry)(void *priv, void *parent, const char *name,
		     unsigned int namelen, const struct erofs_rd_inode *inode,
		     bool first);
};

enum {
	EROFS_RD_CHECK_READ_DATA = 1 << 0,	/* read every byte, not just map it */
	EROFS_RD_CHECK_KEEP_GOING = 1 << 1,	/* report and go on after errors */
};

int erofs_rd_check(struct erofs_rd *rd, unsigned int flags,
		   const struct erofs_rd_walk_ops *ops, void *priv,
		   struct erofs_rd_stats *stats);

/* ------------------------------------------------------------ extract.c */

enum {
	EROFS_RD_EXTRACT_OWNER		= 1 << 0,	/* chown to the image's owners */
	EROFS_RD_EXTRACT_PERMS		= 1 << 1,	/* modes as stored, else & ~umask */
	EROFS_RD_EXTRACT_OVERWRITE	= 1 << 2,	/* replace what is in the way */
	EROFS_RD_EXTRACT_XATTRS		= 1 << 3,	/* set xattrs */
	EROFS_RD_EXTRACT_TRUSTED	= 1 << 4,	/* ... trusted.* ones too (root) */
};

struct erofs_rd_extract_opts {
	unsigned int flags;
	mode_t umask;			/* the process umask, as umask(2) gives it */
	unsigned int check_flags;	/* EROFS_RD_CHECK_* for the walk */
};

/*
 * Checks the image (as erofs_rd_check()) and writes its tree below the
 * directory rootfd, which the caller opened.  Everything is created
 * relative to directory descriptors with O_NOFOLLOW and O_EXCL, so names,
 * which the reader checked to be single components, cannot lead out of the
 * tree, and no symlink the image created is ever followed.  Hard links are
 * made to the first extracted path of their inode.
 */
int erofs_rd_extract(struct erofs_rd *rd, int rootfd,
		     const struct erofs_rd_extract_opts *opts,
		     struct erofs_rd_stats *stats);

/* ------------------------------------------------------------ verify.c */

struct erofs_rd_fp_report {
	uint64_t files;		/* regular files with data */
	uint64_t computed;	/* values with a digest tag we can recompute */
	uint64_t matched;
	uint64_t mismatched;
	uint64_t supplied;	/* other values: publisher-supplied, not checked */
	uint64_t missing;	/* files with data and no fingerprint */
};

/*
 * Recomputes every fingerprint whose value is a known digest's name, a
 * colon and a digest of the right length, from the file's data, and names
 * each file whose value does not match (-EBADMSG once any does).  Other
 * values are counted as publisher-supplied.  The image needs the ISHARE
 * compat bit; without it there is nothing to verify (-ENODATA).
 */
int erofs_rd_verify_fingerprints(struct erofs_rd *rd,
				 struct erofs_rd_fp_report *rep);

#endif
