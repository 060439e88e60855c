// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Image sources and messages.  Every byte the reader looks at comes through
 * erofs_rd_dev_read(), which checks the range against the size of the file
 * or buffer behind the device before touching it.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rd.h"

static void erofs_rd_vmsg(struct erofs_rd *rd, enum erofs_rd_level level,
			  const char *fmt, va_list ap)
{
	char buf[1024];

	if (level == EROFS_RD_ERR)
		rd->nerrors++;
	if (!rd->opts.msg || level > rd->opts.level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	rd->opts.msg(rd->opts.msg_priv, level, buf);
}

void erofs_rd_msg(struct erofs_rd *rd, enum erofs_rd_level level,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	erofs_rd_vmsg(rd, level, fmt, ap);
	va_end(ap);
}

int erofs_rd_corrupt(struct erofs_rd *rd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	erofs_rd_vmsg(rd, EROFS_RD_ERR, fmt, ap);
	va_end(ap);
	return -EFSCORRUPTED;
}

unsigned long erofs_rd_nerrors(const struct erofs_rd *rd)
{
	return rd->nerrors;
}

int erofs_rd_src_open_file(struct erofs_rd *rd, struct erofs_rd_src *src,
			   const char *path)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_rd_msg(rd, EROFS_RD_ERR, "cannot open '%s': %s", path,
			     strerror(errno));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (S_ISREG(st.st_mode)) {
		src->size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0) {
			err = -errno;
			goto out_close;
		}
		src->size = end;
	} else {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "'%s' is neither a regular file nor a block device", path);
		err = -EINVAL;
		goto out_close;
	}
	src->fd = fd;
	src->mem = NULL;
	return 0;
out_close:
	if (err != -EINVAL)
		erofs_rd_msg(rd, EROFS_RD_ERR, "cannot use '%s': %s", path,
			     strerror(-err));
	close(fd);
	return err;
}

void erofs_rd_src_close(struct erofs_rd_src *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

static int erofs_rd_cached_read(struct erofs_rd *rd, uint8_t *buf, uint64_t len,
				uint64_t off, const char *what)
{
	const struct erofs_rd_src *src = &rd->srcs[0];
	uint64_t blk = off >> rd->blkszbits, start = blk << rd->blkszbits;
	unsigned int slot = blk % EROFS_RD_MCACHE_SLOTS, i;
	uint8_t *cb;

	if (!rd->mcache) {
		rd->mcache = malloc((size_t)EROFS_RD_MCACHE_SLOTS << rd->blkszbits);
		if (!rd->mcache)
			return -ENOMEM;
		for (i = 0; i < EROFS_RD_MCACHE_SLOTS; i++)
			rd->mcache_blk[i] = UINT64_MAX;
	}
	cb = rd->mcache + ((size_t)slot << rd->blkszbits);
	if (rd->mcache_blk[slot] != blk) {
		/* the last block of an image may be short; off + len fits anyway */
		uint64_t n = src->size - start < rd->bs ? src->size - start : rd->bs;
		uint64_t done = 0;

		rd->mcache_blk[slot] = UINT64_MAX;
		while (done < n) {
			ssize_t r = pread(src->fd, cb + done, n - done, start + done);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				erofs_rd_msg(rd, EROFS_RD_ERR, "%s: read error at 0x%llx: %s",
					     what, (unsigned long long)(start + done),
					     strerror(errno));
				return -EIO;
			}
			if (!r)
				return erofs_rd_corrupt(rd,
					"%s: unexpected end of file at 0x%llx",
					what, (unsigned long long)(start + done));
			done += r;
		}
		rd->mcache_blk[slot] = blk;
	}
	memcpy(buf, cb + (off - start), len);
	return 0;
}

int erofs_rd_dev_read(struct erofs_rd *rd, unsigned int dev, void *buf,
		      uint64_t len, uint64_t off, const char *what)
{
	const struct erofs_rd_src *src;
	uint8_t *p = buf;

	if (dev >= rd->nsrcs || (dev && rd->srcs[dev].fd < 0 && !rd->srcs[dev].mem))
		return erofs_rd_corrupt(rd, "%s: device %u is not available",
					what, dev);
	src = &rd->srcs[dev];
	if (off > src->size || len > src->size - off)
		return erofs_rd_corrupt(rd,
			"%s: bytes 0x%llx..0x%llx are beyond the end of %s (%llu bytes)",
			what, (unsigned long long)off,
			(unsigned long long)(off + len),
			dev ? "the device" : "the image",
			(unsigned long long)src->size);
	if (src->mem) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	/* small reads inside one block (inodes, dirents, xattrs) go through the cache */
	if (!dev && len && (off & (rd->bs - 1)) + len <= rd->bs && rd->bs)
		return erofs_rd_cached_read(rd, p, len, off, what);
	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		ssize_t n = pread(src->fd, p, chunk, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			erofs_rd_msg(rd, EROFS_RD_ERR, "%s: read error at 0x%llx: %s",
				     what, (unsigned long long)off, strerror(errno));
			return -EIO;
		}
		if (!n)
			return erofs_rd_corrupt(rd, "%s: unexpected end of file at 0x%llx",
						what, (unsigned long long)off);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_rd_dev_fd(const struct erofs_rd *rd, unsigned int dev)
{
	return dev < rd->nsrcs ? rd->srcs[dev].fd : -1;
}

const uint8_t *erofs_rd_dev_mem(const struct erofs_rd *rd, unsigned int dev)
{
	return dev < rd->nsrcs ? rd->srcs[dev].mem : NULL;
}

uint64_t erofs_rd_image_size(const struct erofs_rd *rd)
{
	return rd->srcs[0].size;
}
