// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The writing pass.  Every offset was planned, so workers take inodes in
 * plan order from a shared counter and write each one's data and metadata
 * at fixed places: the image does not depend on the number of workers.
 * File data is copied in the kernel where it can be (copy_file_range), and
 * every file is checked against what the scan saw.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "internal.h"
#include "compress.h"
#include "fingerprint.h"

#define COPY_BUFSIZE	(1u << 20)
#define WRITEBACK_KICK	(8ull << 20)

struct waitgroup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int finished;
};

struct worker;
typedef int (*job_fn)(struct worker *w, struct erofs_inode *inode);

struct worker {
	struct erofs_build *b;
	job_fn job;
	pthread_t th;
	uint8_t *meta;
	size_t meta_cap;
	uint8_t *copybuf;
	int ret;
	struct waitgroup *wg;
	int dst;		/* where data goes: the image or the blob */
	int wb_fd;
	uint64_t wb_lo, wb_hi;	/* range written since the last writeback kick */
	void *fp_ctx;		/* digest context, when fingerprinting */
	XXH3_state_t *chunk_state;	/* chunk keys, for dedupe */
	void *verity_ctx;	/* digest context for the hash tree */
	/* children of one directory come in a row: keep its descriptor */
	const struct erofs_inode *dir;
	int dirfd;
	uint64_t src_base;	/* where the file's data starts in 'fd' */
};

static int open_in_dir(struct worker *w, const struct erofs_inode *inode)
{
	const struct erofs_inode *parent = inode->dentry->parent;
	struct erofs_build *b = w->b;
	int fd;

	if (parent != w->dir) {
		if (w->dir && w->dirfd >= 0 && w->dirfd != b->rootfd)
			close(w->dirfd);
		w->dir = NULL;
		if (parent == b->root) {
			w->dirfd = b->rootfd;
		} else {
			w->dirfd = erofs_open_source(b, parent, O_PATH | O_DIRECTORY);
			if (w->dirfd < 0)
				return w->dirfd;
		}
		w->dir = parent;
	}
	fd = openat(w->dirfd, inode->dentry->name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* a file's data: its own file in the source tree, the tar spool or archive */
static int open_data(struct worker *w, const struct erofs_inode *inode)
{
	if (w->b->spool_fd >= 0) {
		w->src_base = inode->spool_off;
		return inode->in_archive ? w->b->archive_fd : w->b->spool_fd;
	}
	w->src_base = 0;
	return open_in_dir(w, inode);
}

static void close_data(struct worker *w, int fd)
{
	if (fd != w->b->spool_fd && fd != w->b->archive_fd)
		close(fd);
}

static void kick_writeback(struct worker *w, uint64_t off, uint64_t len)
{
	if (w->b->opts->no_fsync)
		return;
	if (w->wb_fd != w->dst) {
		/* only a hint: a range left behind is flushed at the end */
		w->wb_fd = w->dst;
		w->wb_lo = w->wb_hi = 0;
	}
	if (w->wb_hi == w->wb_lo) {
		w->wb_lo = off;
		w->wb_hi = off + len;
	} else {
		w->wb_lo = min_t(uint64_t, w->wb_lo, off);
		w->wb_hi = max_t(uint64_t, w->wb_hi, off + len);
	}
	if (w->wb_hi - w->wb_lo < WRITEBACK_KICK)
		return;
	sync_file_range(w->dst, w->wb_lo, w->wb_hi - w->wb_lo,
			SYNC_FILE_RANGE_WRITE);
	w->wb_lo = w->wb_hi = 0;
}

/* how buffered_copy() treats the bytes it reads */
enum {
	COPY_HASH	= 1 << 0,	/* feed the fingerprint digest */
	COPY_NO_WRITE	= 1 << 1,	/* read (and hash) only */
	COPY_VERITY	= 1 << 2,	/* hash the blocks written for the tree */
};

/*
 * Verity blocks that a run of filesystem blocks holds, when they are no
 * larger: those of a file or directory are hashed by the worker that wrote
 * it, and hashing overlaps with the other workers' copying.  Larger verity
 * blocks may span two files; they are left for the pass after the
 * superblock, which hashes whatever is left.
 */
static bool verity_span(const struct erofs_build *b, uint64_t blk,
			uint64_t nblocks, uint64_t *first, uint64_t *n)
{
	unsigned int shift;

	if (!b->verity_on || !nblocks || b->verity.p.data_bs > b->bs)
		return false;
	shift = b->blkszbits - __builtin_ctz(b->verity.p.data_bs);
	*first = blk << shift;
	*n = nblocks << shift;
	return true;
}

static unsigned int verity_flag(const struct erofs_build *b)
{
	uint64_t first, n;

	return verity_span(b, 0, 1, &first, &n) ? COPY_VERITY : 0;
}

/* read back while the blocks are still in the page cache */
static int verity_readback(struct worker *w, uint64_t blk, uint64_t nblocks)
{
	struct erofs_build *b = w->b;
	uint64_t first, n;
	int ret;

	if (!verity_span(b, blk, nblocks, &first, &n))
		return 0;
	if (!w->copybuf) {
		w->copybuf = malloc(COPY_BUFSIZE);
		if (!w->copybuf)
			return -ENOMEM;
	}
	ret = erofs_verity_hash_fd_range(&b->verity, &w->verity_ctx, b->outfd,
					 0, first, n, w->copybuf, COPY_BUFSIZE);
	return ret ? erofs_output_failed(b, ret) : 0;
}

static void report_path_err(struct erofs_build *b,
			    const struct erofs_inode *inode, const char *what,
			    int err)
{
	char *path = erofs_inode_path(inode);

	erofs_err(b, "%s '%s': %s", what, path ? path : "?", strerror(-err));
	free(path);
}

static void report_path_msg(struct erofs_build *b,
			    const struct erofs_inode *inode, const char *why)
{
	char *path = erofs_inode_path(inode);

	erofs_err(b, "failed to read '%s': %s", path ? path : "?", why);
	free(path);
}

/*
 * Verity blocks of 'len' bytes written at 'out' from buf, hashed from the
 * same buffer.  A block cut by the end of a read waits for the pass after
 * the superblock; the partial block at the end of the data ('last') is
 * zero-filled on disk up to the filesystem block, which holds it whole.
 */
static int verity_from_buffer(struct worker *w, uint64_t out,
			      const uint8_t *buf, uint64_t len, bool last)
{
	struct erofs_verity *v = &w->b->verity;
	uint32_t vbs = v->p.data_bs;
	uint64_t skip = (vbs - out % vbs) % vbs, n, rest;
	uint8_t pad[EROFS_VERITY_MAX_BLKSZ];
	int ret;

	if (skip >= len)
		return 0;
	n = (len - skip) / vbs;
	rest = (len - skip) % vbs;
	ret = erofs_verity_hash_blocks(v, &w->verity_ctx, (out + skip) / vbs,
				       buf + skip, n);
	if (ret || !rest || !last)
		return ret;
	memcpy(pad, buf + skip + n * vbs, rest);
	memset(pad + rest, 0, vbs - rest);
	return erofs_verity_hash_blocks(v, &w->verity_ctx,
					(out + skip) / vbs + n, pad, 1);
}

/*
 * Copies through a buffer of ours: where the kernel cannot copy, and for
 * fingerprinted files, whose data passes through memory once so that the
 * same buffer feeds the digest and the write.  Bytes at or after 'plain'
 * are the inline tail and go to 'tail' instead of a data block; bytes
 * before it are written at 'out' unless COPY_NO_WRITE says the caller
 * copies them itself.
 */
static int buffered_copy(struct worker *w, int fd, uint64_t off, uint64_t len,
			 uint64_t out, uint8_t *tail, uint64_t plain,
			 unsigned int flags)
{
	struct erofs_build *b = w->b;
	uint64_t region_end = min_t(uint64_t, plain, off + len);
	int ret;

	if (!w->copybuf) {
		w->copybuf = malloc(COPY_BUFSIZE);
		if (!w->copybuf)
			return -ENOMEM;
	}
	while (len) {
		ssize_t n = pread(fd, w->copybuf, min_t(uint64_t, len, COPY_BUFSIZE),
				  off + w->src_base);
		uint64_t blk_part;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return -ENODATA;
		if (flags & COPY_HASH) {
			ret = erofs_fingerprint_update(w->fp_ctx, w->copybuf, n);
			if (ret)
				return ret;
		}
		blk_part = off < plain ? min_t(uint64_t, n, plain - off) : 0;
		if (blk_part && !(flags & COPY_NO_WRITE)) {
			ret = erofs_pwrite_fd(b, w->dst, w->copybuf, blk_part,
					      out);
			if (ret)
				return ret;
			if (flags & COPY_VERITY) {
				ret = verity_from_buffer(w, out, w->copybuf, blk_part,
							 off + blk_part == region_end);
				if (ret)
					return ret;
			}
			kick_writeback(w, out, blk_part);
			atomic_fetch_add(&b->bytes_done, blk_part);
		}
		if ((uint64_t)n > blk_part) {
			memcpy(tail + (off + blk_part - plain), w->copybuf + blk_part,
			       n - blk_part);
			atomic_fetch_add(&b->bytes_done, n - blk_part);
		}
		off += n;
		out += n;
		len -= n;
	}
	return 0;
}

static int fallback_copy(struct worker *w, int infd, uint64_t in_off,
			 uint64_t out_off, uint64_t len)
{
	return buffered_copy(w, infd, in_off, len, out_off, NULL, UINT64_MAX, 0);
}

/* -ENODATA: the source ended early; -EIO from the output is reported here */
static int copy_range(struct worker *w, int infd, uint64_t in_off,
		      uint64_t out_off, uint64_t len)
{
	struct erofs_build *b = w->b;

	while (len) {
		loff_t ioff = in_off + w->src_base, ooff = out_off;
		ssize_t n = copy_file_range(infd, &ioff, w->dst, &ooff,
					    min_t(uint64_t, len, 1u << 30), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL ||
			    errno == EOPNOTSUPP || errno == ENOSYS ||
			    errno == EBADF)
				return fallback_copy(w, infd, in_off, out_off, len);
			if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
				return w->dst == b->outfd ?
					erofs_output_failed(b, -errno) :
					erofs_blob_failed(b, -errno);
			/* tell read errors from write errors */
			return fallback_copy(w, infd, in_off, out_off, len);
		}
		if (!n)
			return -ENODATA;
		atomic_fetch_add(&b->bytes_done, n);
		kick_writeback(w, out_off, n);
		in_off += n;
		out_off += n;
		len -= n;
	}
	return 0;
}

static int grow_meta(struct worker *w, size_t size)
{
	if (size <= w->meta_cap)
		return 0;
	free(w->meta);
	w->meta_cap = round_up(size, (size_t)4096);
	w->meta = malloc(w->meta_cap);
	return w->meta ? 0 : -ENOMEM;
}

static void fill_core(const struct erofs_build *b,
		      const struct erofs_inode *inode, uint8_t *buf)
{
	uint32_t u = 0;

	switch (inode->mode & S_IFMT) {
	case S_IFCHR:
	case S_IFBLK:
		u = (inode->rdev_minor & 0xff) | (inode->rdev_major << 8) |
		    ((inode->rdev_minor & ~0xffu) << 12);
		break;
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
		if (inode->zi) {
			/* compressed: the blocks its pclusters take */
			u = erofs_z_data_blocks(inode);
			break;
		}
		u = inode->datalayout == EROFS_INODE_CHUNK_BASED ?
			inode->chunkbits | (b->chunk_indexes ?
					    EROFS_CHUNK_FORMAT_INDEXES : 0) :
			(uint32_t)inode->startblk;
		break;
	}

	if (inode->extended) {
		struct erofs_inode_extended e = {
			.i_format = cpu_to_le16(EROFS_INODE_FORMAT(
				EROFS_INODE_LAYOUT_EXTENDED, inode->datalayout)),
			.i_xattr_icount = cpu_to_le16(inode->xattr_icount),
			.i_mode = cpu_to_le16(inode->mode),
			.i_size = cpu_to_le64(inode->size),
			.i_u = cpu_to_le32(u),
			.i_ino = cpu_to_le32(inode->ino),
			.i_uid = cpu_to_le32(inode->uid),
			.i_gid = cpu_to_le32(inode->gid),
			.i_mtime = cpu_to_le64(inode->mtime),
			.i_mtime_nsec = cpu_to_le32(inode->mtime_nsec),
			.i_nlink = cpu_to_le32(inode->nlink),
		};

		memcpy(buf, &e, sizeof(e));
	} else {
		struct erofs_inode_compact c = {
			.i_format = cpu_to_le16(EROFS_INODE_FORMAT(
				EROFS_INODE_LAYOUT_COMPACT, inode->datalayout)),
			.i_xattr_icount = cpu_to_le16(inode->xattr_icount),
			.i_mode = cpu_to_le16(inode->mode),
			.i_nb = cpu_to_le16(inode->nlink),
			.i_size = cpu_to_le32(inode->size),
			.i_u = cpu_to_le32(u),
			.i_ino = cpu_to_le32(inode->ino),
			.i_uid = cpu_to_le16(inode->uid),
			.i_gid = cpu_to_le16(inode->gid),
		};

		memcpy(buf, &c, sizeof(c));
	}
}

int erofs_check_unchanged(struct erofs_build *b,
			  const struct erofs_inode *inode, int fd)
{
	struct stat st;

	/* a tar archive's data is in the spool, read once from the stream */
	if (b->spool_fd >= 0)
		return 0;
	if (fstat(fd, &st))
		return -errno;
	if (st.st_dev != inode->src_dev || st.st_ino != inode->src_ino ||
	    !S_ISREG(st.st_mode)) {
		report_path_msg(b, inode, "it was replaced during the build");
		return -ESTALE;
	}
	if ((uint64_t)st.st_size != inode->size) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "failed to read '%s': it changed size during the build (%llu bytes when scanned, %llu now)",
			  path ? path : "?", (unsigned long long)inode->size,
			  (unsigned long long)st.st_size);
		free(path);
		return -ESTALE;
	}
	/* rewritten in place: the data (and a fingerprint) may be mixed */
	if (st.st_ctim.tv_sec != inode->src_ctime.tv_sec ||
	    st.st_ctim.tv_nsec != inode->src_ctime.tv_nsec) {
		report_path_msg(b, inode, "it changed during the build");
		return -ESTALE;
	}
	return 0;
}

/*
 * A chunk-based file in file order: the chunks planned as new are copied to
 * their blocks (in the blob, or in the image's data area), holes and shared
 * chunks are skipped.  When the fingerprint is still to be computed, every
 * byte passes through the digest, holes as zeros.
 */
static int write_chunks(struct worker *w, const struct erofs_inode *inode,
			int fd, uint8_t *map, bool hash)
{
	struct erofs_build *b = w->b;
	uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;
	uint64_t base = erofs_blob_new(b) ? 0 : b->data_blkaddr;
	bool in_image = !erofs_blob_new(b);
	unsigned int vflag = in_image ? verity_flag(b) : 0;
	uint32_t entry = b->chunk_indexes ? 8 : 4, c, next;
	uint64_t per = 1ull << inode->wchunkbits;	/* blocks per chunk */
	int ret = 0;

	for (c = 0; c < inode->nr_wchunks && !ret; c = next) {
		const struct erofs_chunk *ch = &inode->chunks[c];
		uint64_t start = c * cs, len;
		uint64_t out = (base + ch->blk) << b->blkszbits;

		/* new chunks that follow each other on both sides: one copy */
		for (next = c + 1; next < inode->nr_wchunks &&
		     (ch->flags & EROFS_CHUNK_NEW) &&
		     (inode->chunks[next].flags & EROFS_CHUNK_NEW) &&
		     inode->chunks[next].blk == ch->blk + (next - c) * per; next++)
			;
		len = min_t(uint64_t, (uint64_t)(next - c) * cs, inode->size - start);
		if (ch->flags & EROFS_CHUNK_HOLE)
			ret = hash ? erofs_fingerprint_zeros(w->fp_ctx, len) : 0;
		else if (!(ch->flags & EROFS_CHUNK_NEW))
			ret = hash ? buffered_copy(w, fd, start, len, 0, NULL,
						   UINT64_MAX,
						   COPY_HASH | COPY_NO_WRITE) : 0;
		else if (hash)
			ret = buffered_copy(w, fd, start, len, out, NULL,
					    UINT64_MAX, COPY_HASH | vflag);
		else
			ret = copy_range(w, fd, start, out, len);
		/* the image's own blocks feed its hash tree; a blob's do not */
		if (!ret && (ch->flags & EROFS_CHUNK_NEW) && in_image &&
		    !(hash && vflag))
			ret = verity_readback(w, base + ch->blk,
					      DIV_ROUND_UP(len, (uint64_t)b->bs));
	}
	if (!ret)
		erofs_chunk_write_map(b, inode, map + (inode->inline_size -
						       inode->nr_chunks * entry));
	return ret;
}

/*
 * Larger files are hashed through a buffer of ours while their data goes
 * out with copy_file_range: the kernel copy keeps writes cheap, and hashing
 * one file overlaps with other workers' writes.  (A mapping would save the
 * buffer copy, but a file truncated meanwhile would kill us with SIGBUS.)
 */
#define HASH_SPLIT_MIN	(256u << 10)

static int hash_then_copy(struct worker *w, const struct erofs_inode *inode,
			  int fd, uint8_t *tail, uint64_t plain)
{
	struct erofs_build *b = w->b;
	int ret;

	/* one pass hashes everything and keeps the tail; then the kernel copy */
	ret = buffered_copy(w, fd, 0, inode->size, 0, tail, plain,
			    COPY_HASH | COPY_NO_WRITE);
	if (!ret)
		ret = copy_range(w, fd, 0, inode->startblk << b->blkszbits, plain);
	return ret;
}

static int copy_regular(struct worker *w, const struct erofs_inode *inode,
			int fd, uint8_t *tail)
{
	struct erofs_build *b = w->b;
	uint64_t plain = inode->datalayout == EROFS_INODE_FLAT_INLINE ?
		inode->size - inode->inline_size : inode->size;
	int ret;

	if (inode->datalayout == EROFS_INODE_CHUNK_BASED)
		w->dst = erofs_blob_fd(b);
	if (inode->fp_source == EROFS_FP_COMPUTED && !inode->fp_value) {
		ret = erofs_fingerprint_init(b, &w->fp_ctx);
		if (ret)
			return ret;
		/*
		 * With a hash tree, the buffer that feeds the fingerprint is
		 * also what is written and what the tree's digests come from.
		 */
		if (inode->datalayout == EROFS_INODE_CHUNK_BASED)
			ret = write_chunks(w, inode, fd, tail, true);
		else if (inode->size >= HASH_SPLIT_MIN && !verity_flag(b))
			ret = hash_then_copy(w, inode, fd, tail, plain);
		else
			ret = buffered_copy(w, fd, 0, inode->size,
					    inode->startblk << b->blkszbits, tail,
					    plain, COPY_HASH | verity_flag(b));
		if (!ret)
			ret = erofs_fingerprint_final(b, w->fp_ctx,
						      (struct erofs_inode *)inode);
		return ret;
	}
	if (inode->datalayout == EROFS_INODE_CHUNK_BASED)
		return write_chunks(w, inode, fd, tail, false);
	ret = copy_range(w, fd, 0, inode->startblk << b->blkszbits, plain);
	if (!ret)
		ret = verity_readback(w, inode->startblk,
				      DIV_ROUND_UP(plain, (uint64_t)b->bs));
	if (!ret && inode->datalayout == EROFS_INODE_FLAT_INLINE) {
		ssize_t n = pread(fd, tail, inode->inline_size,
				  plain + w->src_base);

		if (n < 0)
			ret = -errno;
		else if ((uint32_t)n != inode->inline_size)
			ret = -ENODATA;
		else
			atomic_fetch_add(&b->bytes_done, n);
	}
	return ret;
}

/*
 * A file whose data stays in an input image: nothing to copy but the tail
 * and the chunk map; its fingerprint is computed from the data where it is.
 */
static int write_external(struct worker *w, struct erofs_inode *inode,
			  uint8_t *tail)
{
	struct erofs_build *b = w->b;
	uint64_t off = 0;
	int ret;

	if (inode->fp_source == EROFS_FP_COMPUTED && !inode->fp_value) {
		if (!w->copybuf) {
			w->copybuf = malloc(COPY_BUFSIZE);
			if (!w->copybuf)
				return -ENOMEM;
		}
		ret = erofs_fingerprint_init(b, &w->fp_ctx);
		while (!ret && off < inode->size) {
			uint64_t n = min_t(uint64_t, inode->size - off, COPY_BUFSIZE);

			ret = erofs_read_external(b, inode, w->copybuf, n, off);
			if (!ret)
				ret = erofs_fingerprint_update(w->fp_ctx,
							       w->copybuf, n);
			off += n;
		}
		if (!ret)
			ret = erofs_fingerprint_final(b, w->fp_ctx, inode);
		if (ret) {
			report_path_err(b, inode, "failed to read", ret);
			return ret;
		}
	}
	atomic_fetch_add(&b->bytes_done, inode->size);
	if (inode->datalayout == EROFS_INODE_CHUNK_BASED) {
		uint32_t entry = b->chunk_indexes ? 8 : 4;

		erofs_chunk_write_map(b, inode, tail + (inode->inline_size -
							inode->nr_chunks * entry));
	} else if (inode->datalayout == EROFS_INODE_FLAT_INLINE) {
		memcpy(tail, inode->ext_tail, inode->inline_size);
	}
	return 0;
}

static int write_regular(struct worker *w, struct erofs_inode *inode,
			 uint8_t *tail)
{
	struct erofs_build *b = w->b;
	int fd, ret;

	if (!inode->size)
		return 0;
	if (inode->ext_data)
		return write_external(w, inode, tail);
	if (inode->zi) {
		ret = erofs_z_write_inode(b, inode, tail);
		if (!ret)
			atomic_fetch_add(&b->bytes_done, inode->size);
		return ret;
	}
	w->dst = b->outfd;
	fd = open_data(w, inode);
	if (fd < 0) {
		if (fd == -ENOENT)
			report_path_msg(b, inode, "it vanished during the build");
		else
			report_path_err(b, inode, "failed to open", fd);
		return fd;
	}
	ret = copy_regular(w, inode, fd, tail);
	if (ret == -ENODATA) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "failed to read '%s': it shrank during the build (%llu bytes expected)",
			  path ? path : "?", (unsigned long long)inode->size);
		free(path);
	} else if (ret && atomic_load(&b->out_failed)) {
		/* already reported as a write error */
	} else if (ret) {
		report_path_err(b, inode, "failed to read", ret);
	} else {
		ret = erofs_check_unchanged(b, inode, fd);
	}
	close_data(w, fd);
	return ret;
}

static int write_dir(struct worker *w, const struct erofs_inode *inode,
		     uint8_t *tail)
{
	struct erofs_build *b = w->b;
	uint64_t full = inode->size - inode->inline_size, first, n;
	uint8_t *buf;
	int ret;

	buf = calloc(1, round_up(inode->size, (uint64_t)b->bs));
	if (!buf)
		return -ENOMEM;
	ret = erofs_dir_build(inode, b->bs, buf);
	if (!ret && full)
		ret = erofs_pwrite_all(b, buf, full, inode->startblk << b->blkszbits);
	if (!ret && verity_span(b, inode->startblk, full >> b->blkszbits,
				&first, &n))
		ret = erofs_verity_hash_blocks(&b->verity, &w->verity_ctx, first,
					       buf, n);
	if (!ret && inode->inline_size)
		memcpy(tail, buf + full, inode->inline_size);
	free(buf);
	return ret;
}

static int write_inode(struct worker *w, struct erofs_inode *inode)
{
	struct erofs_build *b = w->b;
	uint32_t isize = inode->extended ? 64 : 32;
	size_t total = isize + inode->xattr_size + inode->inline_size;
	uint8_t *tail;
	int ret;

	ret = grow_meta(w, total);
	if (ret)
		return ret;
	memset(w->meta, 0, total);
	fill_core(b, inode, w->meta);
	tail = w->meta + isize + inode->xattr_size;

	switch (inode->mode & S_IFMT) {
	case S_IFREG:
		ret = write_regular(w, inode, tail);
		break;
	case S_IFDIR:
		ret = write_dir(w, inode, tail);
		break;
	case S_IFLNK:
		if (inode->datalayout == EROFS_INODE_FLAT_INLINE)
			memcpy(tail, inode->symlink, inode->size);
		else
			ret = erofs_pwrite_all(b, inode->symlink, inode->size,
					       inode->startblk << b->blkszbits);
		break;
	}
	if (ret)
		return ret;
	/* after the data: a fingerprint is known once the file was read */
	if (inode->xattr_size)
		erofs_xattr_write_ibody(b, inode, w->meta + isize);
	return erofs_pwrite_all(b, w->meta, total,
				(b->meta_blkaddr << b->blkszbits) +
				(inode->nid << EROFS_ISLOTBITS));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct erofs_build *b = w->b;

	while (!atomic_load(&b->failed)) {
		uint64_t i = atomic_fetch_add(&b->next_work, 1);

		if (i >= b->nr_inodes)
			break;
		w->ret = w->job(w, b->inodes[i]);
		if (w->ret) {
			atomic_store(&b->failed, 1);
			break;
		}
		atomic_fetch_add(&b->inodes_done, 1);
	}
	pthread_mutex_lock(&w->wg->lock);
	w->wg->finished++;
	pthread_cond_signal(&w->wg->cond);
	pthread_mutex_unlock(&w->wg->lock);
	return NULL;
}

static void call_progress(struct erofs_build *b)
{
	struct erofs_mkfs_progress p = {
		.inodes_done = atomic_load(&b->inodes_done),
		.inodes_total = b->nr_inodes,
		.bytes_done = atomic_load(&b->bytes_done),
		.bytes_total = b->bytes_total,
	};

	if (b->opts->progress)
		b->opts->progress(b->opts->cb_ctx, &p);
}

static int write_tables(struct erofs_build *b)
{
	uint32_t psize = erofs_xattr_prefix_table_size(b);
	uint32_t xsize = erofs_xattr_pool_size(b);
	uint8_t *buf;
	int ret = 0;

	if (!psize && !xsize)
		return 0;
	buf = calloc(1, b->shared_start - b->prefix_start + xsize);
	if (!buf)
		return -ENOMEM;
	erofs_xattr_write_prefixes(b, buf);
	erofs_xattr_write_pool(b, buf + (b->shared_start - b->prefix_start));
	ret = erofs_pwrite_all(b, buf, b->shared_start - b->prefix_start + xsize,
			       b->prefix_start);
	free(buf);
	return ret;
}

/* runs job on every inode, on the workers; the first error wins */
static int run_pool(struct erofs_build *b, job_fn job)
{
	unsigned int n = b->opts->workers, i, started = 0;
	struct worker *ws;
	struct waitgroup wg = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	int ret;

	atomic_store(&b->next_work, 0);
	atomic_store(&b->inodes_done, 0);
	atomic_store(&b->bytes_done, 0);
	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? (unsigned int)c : 1;
	}
	if (n > 64)
		n = 64;
	b->nr_workers = n;
	ws = calloc(n, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ws[i].b = b;
		ws[i].job = job;
		ws[i].wg = &wg;
		ws[i].dirfd = -1;
		ws[i].dst = b->outfd;
		ws[i].wb_fd = b->outfd;
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]))
			break;
		started++;
	}
	if (!started) {
		free(ws);
		return -EAGAIN;
	}
	pthread_mutex_lock(&wg.lock);
	while (wg.finished < started) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&wg.cond, &wg.lock, &ts);
		if (wg.finished < started) {
			pthread_mutex_unlock(&wg.lock);
			call_progress(b);
			pthread_mutex_lock(&wg.lock);
		}
	}
	pthread_mutex_unlock(&wg.lock);
	ret = 0;
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].th, NULL);
		if (ws[i].ret && !ret)
			ret = ws[i].ret;
		free(ws[i].meta);
		free(ws[i].copybuf);
		erofs_fingerprint_free_ctx(ws[i].fp_ctx);
		XXH3_freeState(ws[i].chunk_state);
		erofs_verity_ctx_free(ws[i].verity_ctx);
		if (ws[i].dir && ws[i].dirfd >= 0 && ws[i].dirfd != b->rootfd)
			close(ws[i].dirfd);
	}
	free(ws);
	if (!ret)
		call_progress(b);
	return ret;
}

int erofs_write_all(struct erofs_build *b)
{
	uint64_t k;
	int ret;

	if (ftruncate(b->outfd, (off_t)(b->total_blocks << b->blkszbits)))
		return erofs_output_failed(b, -errno);
	/*
	 * Reserving the blocks at once is cheaper than block by block while
	 * copying, and a full disk shows before any work is done.  Filesystems
	 * without fallocate just allocate as we write.
	 */
	if (fallocate(b->outfd, 0, 0, (off_t)(b->total_blocks << b->blkszbits)) &&
	    (errno == ENOSPC || errno == EDQUOT || errno == EFBIG))
		return erofs_output_failed(b, -errno);
	ret = write_tables(b);
	if (ret)
		return ret;

	b->bytes_total = 0;
	for (k = 0; k < b->nr_inodes; k++)
		if (S_ISREG(b->inodes[k]->mode))
			b->bytes_total += b->inodes[k]->size;
	return run_pool(b, write_inode);
}

/*
 * The pass before planning, for deduplication: each chunk's XXH3, and from
 * the same read the fingerprint, so that the writing pass only copies.
 */
static int digest_chunks(struct worker *w, struct erofs_inode *inode, int fd)
{
	struct erofs_build *b = w->b;
	uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;
	/* a tar source computes it from the stream */
	bool fp = inode->fp_source == EROFS_FP_COMPUTED && !inode->fp_value;
	uint32_t c = 0, end;
	int ret;

	if (!w->copybuf) {
		w->copybuf = malloc(COPY_BUFSIZE);
		if (!w->copybuf)
			return -ENOMEM;
	}
	if (!w->chunk_state) {
		w->chunk_state = XXH3_createState();
		if (!w->chunk_state)
			return -ENOMEM;
	}
	if (fp) {
		ret = erofs_fingerprint_init(b, &w->fp_ctx);
		if (ret)
			return ret;
	}
	while (c < inode->nr_wchunks) {
		uint64_t off = c * cs, stop, in_chunk = 0;

		if (inode->chunks[c].flags & EROFS_CHUNK_HOLE) {
			uint64_t len = min_t(uint64_t, cs, inode->size - off);

			ret = fp ? erofs_fingerprint_zeros(w->fp_ctx, len) : 0;
			if (ret)
				return ret;
			c++;
			continue;
		}
		/* a run of chunks with data, read in large pieces */
		for (end = c; end < inode->nr_wchunks &&
		     !(inode->chunks[end].flags & EROFS_CHUNK_HOLE); end++)
			;
		stop = min_t(uint64_t, (uint64_t)end * cs, inode->size);
		while (off < stop) {
			ssize_t n = pread(fd, w->copybuf,
					  min_t(uint64_t, stop - off, COPY_BUFSIZE),
					  off + w->src_base);
			uint64_t pos = 0;

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (!n)
				return -ENODATA;
			if (fp) {
				ret = erofs_fingerprint_update(w->fp_ctx,
							       w->copybuf, n);
				if (ret)
					return ret;
			}
			while (pos < (uint64_t)n) {
				uint64_t clen = min_t(uint64_t, cs, inode->size - c * cs);
				uint64_t take = min_t(uint64_t, clen - in_chunk, n - pos);

				if (!in_chunk && take == clen) {
					/* the whole chunk in the buffer */
					inode->chunk_keys[c++] =
						XXH3_64bits(w->copybuf + pos, take);
					pos += take;
					continue;
				}
				if (!in_chunk)
					XXH3_64bits_reset(w->chunk_state);
				XXH3_64bits_update(w->chunk_state,
						   w->copybuf + pos, take);
				pos += take;
				in_chunk += take;
				if (in_chunk == clen) {
					inode->chunk_keys[c++] =
						XXH3_64bits_digest(w->chunk_state);
					in_chunk = 0;
				}
			}
			atomic_fetch_add(&b->bytes_done, n);
			off += n;
		}
	}
	return fp ? erofs_fingerprint_final(b, w->fp_ctx, inode) : 0;
}

static int digest_inode(struct worker *w, struct erofs_inode *inode)
{
	struct erofs_build *b = w->b;
	int fd, ret;

	if (inode->datalayout != EROFS_INODE_CHUNK_BASED || inode->ext_data)
		return 0;
	/* taken during the scan, at this chunk size, with the fingerprint */
	if (inode->pre_keys && !inode->extents &&
	    inode->wchunkbits == erofs_chunk_bits(b) &&
	    (inode->fp_source != EROFS_FP_COMPUTED || inode->fp_value)) {
		inode->chunk_keys = inode->pre_keys;
		inode->pre_keys = NULL;
		atomic_fetch_add(&b->bytes_done, inode->size);
		return 0;
	}
	inode->chunk_keys = malloc((size_t)inode->nr_wchunks *
				   sizeof(*inode->chunk_keys));
	if (!inode->chunk_keys)
		return -ENOMEM;
	fd = open_data(w, inode);
	if (fd < 0) {
		if (fd == -ENOENT)
			report_path_msg(b, inode, "it vanished during the build");
		else
			report_path_err(b, inode, "failed to open", fd);
		return fd;
	}
	ret = digest_chunks(w, inode, fd);
	if (ret == -ENODATA) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "failed to read '%s': it shrank during the build (%llu bytes expected)",
			  path ? path : "?", (unsigned long long)inode->size);
		free(path);
	} else if (ret) {
		report_path_err(b, inode, "failed to read", ret);
	} else {
		ret = erofs_check_unchanged(b, inode, fd);
	}
	close_data(w, fd);
	return ret;
}

int erofs_digest_all(struct erofs_build *b)
{
	uint64_t k;

	b->bytes_total = 0;
	for (k = 0; k < b->nr_inodes; k++)
		if (b->inodes[k]->datalayout == EROFS_INODE_CHUNK_BASED)
			b->bytes_total += b->inodes[k]->size;
	return run_pool(b, digest_inode);
}
