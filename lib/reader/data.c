// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * File data: mapping a logical offset to a piece on a device for the flat
 * layouts (plain, inline tail) and chunk-based files (4-byte block maps and
 * 8-byte chunk indexes, holes, device ids), then reading or copying it.
 * Compressed inodes are mapped in zmap.c and decoded in decompress.c; here
 * they only pass through a one-extent cache of their last mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "rd.h"

#define EROFS_RD_NULL_ADDR_48	0xFFFFFFFFFFFFull
#define EROFS_RD_COPY_BUF	(1u << 20)

static int erofs_rd_map_compressed(struct erofs_rd *rd,
				   const struct erofs_rd_inode *vi, uint64_t la,
				   struct erofs_rd_map *map)
{
	int err;

	if (rd->zmap_nid == vi->nid && la >= rd->zmap.la &&
	    la - rd->zmap.la < rd->zmap.len) {
		*map = rd->zmap;
		return 0;
	}
	err = erofs_rd_zmap(rd, vi, la, map);
	if (err)
		return err;
	rd->zmap = *map;
	rd->zmap_nid = vi->nid;
	return 0;
}

static int erofs_rd_map_flat(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
			     uint64_t la, struct erofs_rd_map *map)
{
	uint64_t nblocks = DIV_ROUND_UP(vi->size, rd->bs);
	uint64_t tail_start = vi->size;
	int err;

	if (vi->datalayout == EROFS_INODE_FLAT_INLINE)
		tail_start = (nblocks - 1) << rd->blkszbits;

	if (la >= tail_start) {
		map->la = tail_start;
		map->len = vi->size - tail_start;
		map->pa = vi->iloc + vi->isize + vi->xattr_isize;
		map->dev = 0;
		map->flags = EROFS_RD_MAP_MAPPED | EROFS_RD_MAP_INLINE;
		if (map->pa + map->len > erofs_rd_image_size(rd))
			return erofs_rd_corrupt(rd,
				"nid %llu (offset 0x%llx): inline data runs past the end of the image",
				(unsigned long long)vi->nid,
				(unsigned long long)vi->iloc);
		return 0;
	}
	map->la = 0;
	map->len = tail_start;
	if (rd->has_48bit && vi->datalayout == EROFS_INODE_FLAT_PLAIN &&
	    (vi->startblk == EROFS_NULL_ADDR ||
	     vi->startblk == EROFS_RD_NULL_ADDR_48)) {
		map->flags = EROFS_RD_MAP_HOLE;
		map->pa = 0;
		map->dev = 0;
		return 0;
	}
	err = erofs_rd_resolve(rd, vi->startblk, DIV_ROUND_UP(tail_start, rd->bs), 0,
			       &map->dev, &map->pa, "data blocks", vi->nid);
	if (err)
		return err;
	map->flags = EROFS_RD_MAP_MAPPED;
	return 0;
}

static int erofs_rd_map_chunk(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
			      uint64_t la, struct erofs_rd_map *map)
{
	bool indexes = vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES;
	unsigned int unit = indexes ? 8 : 4, devid = 0;
	uint64_t chunk = la >> vi->chunkbits, pos, blk;
	uint8_t ent[8];
	char what[64];
	int err;

	pos = round_up(vi->iloc + vi->isize + vi->xattr_isize, (uint64_t)unit) +
		chunk * unit;
	snprintf(what, sizeof(what), "nid %llu: chunk %llu entry",
		 (unsigned long long)vi->nid, (unsigned long long)chunk);
	err = erofs_rd_dev_read(rd, 0, ent, unit, pos, what);
	if (err)
		return err;
	map->chunk = chunk;
	map->la = chunk << vi->chunkbits;
	map->len = vi->size - map->la;
	if (map->len > (1ull << vi->chunkbits))
		map->len = 1ull << vi->chunkbits;
	map->flags = EROFS_RD_MAP_CHUNK;
	map->dev = 0;
	map->pa = 0;

	if (!indexes) {
		blk = get_le32(ent);
		if (blk == EROFS_NULL_ADDR) {
			map->flags |= EROFS_RD_MAP_HOLE;
			return 0;
		}
	} else {
		blk = get_le32(ent + 4);
		if (vi->chunkformat & EROFS_CHUNK_FORMAT_48BIT) {
			blk |= (uint64_t)get_le16(ent) << 32;
			if (blk == EROFS_RD_NULL_ADDR_48) {
				map->flags |= EROFS_RD_MAP_HOLE;
				return 0;
			}
		} else if (blk == EROFS_NULL_ADDR) {
			map->flags |= EROFS_RD_MAP_HOLE;
			return 0;
		}
		devid = get_le16(ent + 2) & rd->device_id_mask;
	}
	snprintf(what, sizeof(what), "chunk %llu (entry at 0x%llx)",
		 (unsigned long long)chunk, (unsigned long long)pos);
	err = erofs_rd_resolve(rd, blk, DIV_ROUND_UP(map->len, rd->bs), devid,
			       &map->dev, &map->pa, what, vi->nid);
	if (err)
		return err;
	map->flags |= EROFS_RD_MAP_MAPPED;
	return 0;
}

int erofs_rd_map(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		 uint64_t la, struct erofs_rd_map *map)
{
	memset(map, 0, sizeof(*map));
	if (la >= vi->size)
		return -EINVAL;
	switch (vi->datalayout) {
	case EROFS_INODE_FLAT_PLAIN:
	case EROFS_INODE_FLAT_INLINE:
		return erofs_rd_map_flat(rd, vi, la, map);
	case EROFS_INODE_CHUNK_BASED:
		return erofs_rd_map_chunk(rd, vi, la, map);
	case EROFS_INODE_COMPRESSED_FULL:
	case EROFS_INODE_COMPRESSED_COMPACT:
		return erofs_rd_map_compressed(rd, vi, la, map);
	}
	return -EINVAL;
}

/*
 * Reads [off, off + len) of a compressed inode: each extent is decoded
 * whole (once, through the cache) and the wanted part copied; fragments
 * are read from the packed inode directly.
 */
static int erofs_rd_pread_compressed(struct erofs_rd *rd,
				     const struct erofs_rd_inode *vi,
				     uint8_t *p, uint64_t len, uint64_t off)
{
	const struct erofs_rd_inode *packed;
	struct erofs_rd_map map;
	const uint8_t *data;
	int err;

	while (len) {
		uint64_t n;

		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		n = map.la + map.len - off;
		if (n > len)
			n = len;
		if (map.flags & EROFS_RD_MAP_FRAGMENT) {
			err = erofs_rd_fragment_check(rd, vi, &map);
			if (!err)
				err = erofs_rd_packed(rd, &packed);
			if (!err)
				err = erofs_rd_pread(rd, packed, p, n,
						     map.fragoff + (off - map.la));
		} else {
			err = erofs_rd_zget(rd, vi, &map, &data);
			if (!err)
				memcpy(p, data + (off - map.la), n);
		}
		if (err)
			return err;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_rd_pread(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		   void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;
	struct erofs_rd_map map;
	char what[48];
	int err;

	if (off > vi->size || len > vi->size - off)
		return -EINVAL;
	if (vi->datalayout == EROFS_INODE_COMPRESSED_FULL ||
	    vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT)
		return erofs_rd_pread_compressed(rd, vi, p, len, off);
	snprintf(what, sizeof(what), "nid %llu: data", (unsigned long long)vi->nid);
	while (len) {
		uint64_t n;

		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		n = map.la + map.len - off;
		if (n > len)
			n = len;
		if (map.flags & EROFS_RD_MAP_HOLE) {
			memset(p, 0, n);
		} else {
			err = erofs_rd_dev_read(rd, map.dev, p, n,
						map.pa + (off - map.la), what);
			if (err)
				return err;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_rd_readlink(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		      char *buf, size_t bufsize)
{
	int err;

	if (!S_ISLNK(vi->mode) || vi->size >= bufsize)
		return -EINVAL;
	err = erofs_rd_pread(rd, vi, buf, vi->size, 0);
	if (err)
		return err;
	buf[vi->size] = '\0';
	if (strlen(buf) != vi->size)
		return erofs_rd_corrupt(rd,
			"nid %llu (offset 0x%llx): symlink target contains a NUL byte",
			(unsigned long long)vi->nid, (unsigned long long)vi->iloc);
	return 0;
}

static int erofs_rd_write_all(int fd, const uint8_t *p, uint64_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n > (1u << 30) ? (1u << 30) : n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		off += w;
		n -= w;
	}
	return 0;
}

/*
 * Copies n bytes from (dev, pa) to fd at off, in the kernel when it can:
 * copy_file_range() within a filesystem, else sendfile(), which moves page
 * cache pages into the target without a pass through a user buffer, else
 * pread() and pwrite().  *fdpos tracks fd's file offset, which sendfile()
 * writes at.
 */
static int erofs_rd_copy_piece(struct erofs_rd *rd, unsigned int dev, uint64_t pa,
			       uint64_t n, int fd, uint64_t off, uint64_t *fdpos,
			       uint8_t **bufp)
{
	int srcfd = erofs_rd_dev_fd(rd, dev);
	const uint8_t *mem = erofs_rd_dev_mem(rd, dev);
	int err;

	if (pa > rd->srcs[dev].size || n > rd->srcs[dev].size - pa)
		return erofs_rd_corrupt(rd, "data at 0x%llx..0x%llx is beyond the end of %s",
					(unsigned long long)pa,
					(unsigned long long)(pa + n),
					dev ? "the device" : "the image");
	if (mem)
		return erofs_rd_write_all(fd, mem + pa, n, off);

	while (n && !rd->no_copy_file_range) {
		loff_t in = pa, out = off;
		ssize_t c = copy_file_range(srcfd, &in, fd, &out,
					    n > (1u << 30) ? (1u << 30) : n, 0);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			    errno == EOPNOTSUPP || errno == EBADF) {
				rd->no_copy_file_range = true;
				break;
			}
			return -errno;
		}
		if (!c)
			return erofs_rd_corrupt(rd, "unexpected end of file at 0x%llx",
						(unsigned long long)pa);
		pa += c;
		off += c;
		n -= c;
	}
	while (n && !rd->no_sendfile) {
		off_t in = pa;
		ssize_t c;

		if (*fdpos != off) {
			if (lseek(fd, off, SEEK_SET) < 0)
				return -errno;
			*fdpos = off;
		}
		c = sendfile(fd, srcfd, &in, n > (1u << 30) ? (1u << 30) : n);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
				rd->no_sendfile = true;
				break;
			}
			return -errno;
		}
		if (!c)
			return erofs_rd_corrupt(rd, "unexpected end of file at 0x%llx",
						(unsigned long long)pa);
		pa += c;
		off += c;
		*fdpos = off;
		n -= c;
	}
	if (!n)
		return 0;
	if (!*bufp) {
		*bufp = malloc(EROFS_RD_COPY_BUF);
		if (!*bufp)
			return -ENOMEM;
	}
	while (n) {
		uint64_t c = n > EROFS_RD_COPY_BUF ? EROFS_RD_COPY_BUF : n;

		err = erofs_rd_dev_read(rd, dev, *bufp, c, pa, "file data");
		if (err)
			return err;
		err = erofs_rd_write_all(fd, *bufp, c, off);
		if (err)
			return err;
		pa += c;
		off += c;
		n -= c;
	}
	return 0;
}

/* a compressed inode: decoded extent by extent, fragments in pieces */
static int erofs_rd_copy_compressed(struct erofs_rd *rd,
				    const struct erofs_rd_inode *vi, int fd)
{
	struct erofs_rd_map map;
	const uint8_t *data;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int err = 0;

	while (off < vi->size) {
		uint64_t n;

		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			break;
		n = map.la + map.len - off;
		if (!(map.flags & EROFS_RD_MAP_FRAGMENT)) {
			err = erofs_rd_zget(rd, vi, &map, &data);
			if (!err)
				err = erofs_rd_write_all(fd, data + (off - map.la), n, off);
			if (err)
				break;
			off += n;
			continue;
		}
		if (!buf) {
			buf = malloc(EROFS_RD_COPY_BUF);
			if (!buf) {
				err = -ENOMEM;
				break;
			}
		}
		if (n > EROFS_RD_COPY_BUF)
			n = EROFS_RD_COPY_BUF;
		err = erofs_rd_pread(rd, vi, buf, n, off);
		if (!err)
			err = erofs_rd_write_all(fd, buf, n, off);
		if (err)
			break;
		off += n;
	}
	free(buf);
	return err;
}

int erofs_rd_copy_to_fd(struct erofs_rd *rd, const struct erofs_rd_inode *vi, int fd)
{
	struct erofs_rd_map map;
	uint64_t off = 0, fdpos = 0;
	uint8_t *buf = NULL;
	bool tail_hole = false;
	int err = 0;

	if (vi->datalayout == EROFS_INODE_COMPRESSED_FULL ||
	    vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT)
		return erofs_rd_copy_compressed(rd, vi, fd);

	while (off < vi->size) {
		uint64_t n;

		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			break;
		n = map.la + map.len - off;
		tail_hole = map.flags & EROFS_RD_MAP_HOLE;
		if (!tail_hole) {
			err = erofs_rd_copy_piece(rd, map.dev, map.pa + (off - map.la),
						  n, fd, off, &fdpos, &buf);
			if (err)
				break;
		}
		off += n;
	}
	free(buf);
	/* a hole at the end leaves the file short of its size */
	if (!err && tail_hole && ftruncate(fd, vi->size))
		err = -errno;
	return err;
}
