// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Compressed files in the image, after the compression pass (compress.c):
 * how many bytes each inode's map header, lcluster indexes and inline tail
 * take when layout is planned, then the writing of its pclusters (from the
 * spool, or raw from the source) and of those indexes, and the
 * superblock's compression records.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "compress.h"

/* bytes of lcluster indexes after the map header, compact form */
static uint32_t compact_index_bytes(uint64_t nr, uint32_t e_mod32)
{
	uint64_t n4i = ((32 - e_mod32) / 4) % 8, n2b = 0, n4e;

	if (n4i >= nr)
		return 8 * DIV_ROUND_UP(nr, 2);
	n2b = (nr - n4i) / 16 * 16;
	n4e = nr - n4i - n2b;
	return 8 * DIV_ROUND_UP(n4i, 2) + 2 * n2b + 8 * DIV_ROUND_UP(n4e, 2);
}

/* ------------------------------------------------------------ planning */

static uint32_t index_bytes(const struct erofs_build *b,
			    const struct erofs_inode *inode, uint32_t hoff)
{
	uint64_t nr = DIV_ROUND_UP(inode->size, (uint64_t)b->bs);

	if (b->z->compact)
		return 8 + compact_index_bytes(nr, (hoff + 8) % 32);
	return 16 + 8 * nr;
}

/*
 * The inode's layout and the bytes after its core and xattrs: padding to
 * the map header, the header, the indexes and the inline tail if it fits
 * in the inode's block.  The metadata allocator keeps anything up to a
 * block inside one block, and starts anything larger at a block.
 */
uint32_t erofs_z_plan_inode(struct erofs_build *b, struct erofs_inode *inode,
			    uint32_t base)
{
	struct erofs_zinode *zi = inode->zi;
	uint32_t hoff = round_up(base, 8u), fixed;

	zi->pad = hoff - base;
	if (zi->frag) {
		/* all in the packed inode: a map header and 8 zero bytes */
		inode->datalayout = EROFS_INODE_COMPRESSED_FULL;
		zi->index_size = 16;
		return zi->pad + zi->index_size;
	}
	inode->datalayout = b->z->compact ? EROFS_INODE_COMPRESSED_COMPACT :
					    EROFS_INODE_COMPRESSED_FULL;
	zi->index_size = index_bytes(b, inode, hoff);
	fixed = zi->pad + zi->index_size;
	zi->inline_tail = false;
	if (zi->tail) {
		uint64_t end = (uint64_t)base + fixed;

		if (end + zi->tail_len <= b->bs ||
		    (end > b->bs && end % b->bs + zi->tail_len <= b->bs))
			zi->inline_tail = true;
	}
	if (zi->inline_tail) {
		b->z->any_inline = true;
		return fixed + zi->tail_len;
	}
	return fixed;
}

uint64_t erofs_z_data_blocks(const struct erofs_inode *inode)
{
	const struct erofs_zinode *zi = inode->zi;

	return zi->blocks - (zi->inline_tail ? 1 : 0);
}

/* ------------------------------------------------------------ writing */

struct zrec {
	uint8_t type;
	uint16_t lo;		/* clusterofs; NONHEAD: delta0 or CBLKCNT */
	uint16_t delta1;
	uint32_t blkaddr;
	uint16_t count;		/* at a count slot: the pcluster's blocks */
};

/* one record per lcluster, as section "full indexes" of the format says */
static int build_records(const struct erofs_build *b,
			 const struct erofs_inode *inode, struct zrec *rec,
			 uint64_t nr)
{
	const struct erofs_zinode *zi = inode->zi;
	const uint32_t bs = b->bs;
	const bool big = b->z->big;
	uint64_t h = 0, pblk = inode->startblk;
	uint32_t c = 0, s, i;
	bool ended_inside = false;

	for (s = 0; s < zi->nr_seg; s++) {
		const struct erofs_zseg *seg = &zi->seg[s];

		for (i = 0; i < seg->nr_ext; i++) {
			struct erofs_zext e = seg->ext[i];
			bool tail = zi->inline_tail && s + 1 == zi->nr_seg &&
				    i + 1 == seg->nr_ext;
			uint64_t d, k;

			if (tail) {
				e.type = zi->tail_type;
				e.blocks = 0;
			}
			d = (c + (uint64_t)e.len) / bs;
			if (h + max_t(uint64_t, d, 1) > nr)
				return -EFSCORRUPTED;
			rec[h] = (struct zrec){
				.type = e.type, .lo = c,
				.blkaddr = tail ? 0 : pblk,
			};
			/* the count slot: the first NONHEAD, or the head itself */
			if (d < 2)
				rec[h].count = e.blocks;
			for (k = 1; k < d; k++) {
				rec[h + k] = (struct zrec){
					.type = Z_EROFS_LCLUSTER_TYPE_NONHEAD,
					.lo = min_t(uint64_t, k, 2047),
					.delta1 = min_t(uint64_t, d - k, 2047),
				};
				if (k == 1) {
					rec[h + 1].count = tail ? 1 : e.blocks;
					if (big)
						rec[h + 1].lo = Z_EROFS_LI_D0_CBLKCNT |
								rec[h + 1].count;
				}
			}
			pblk += e.blocks;
			if (!d) {
				/* only the last extent may end where it began */
				ended_inside = true;
				h++;
				c = 0;
				continue;
			}
			h += d;
			c = (c + e.len) % bs;
		}
	}
	if (!ended_inside && c) {
		/* EOF: where the last extent ends */
		rec[h] = (struct zrec){ .type = Z_EROFS_LCLUSTER_TYPE_PLAIN,
					.lo = c };
		h++;
	}
	return h == nr ? 0 : -EFSCORRUPTED;
}

static void write_full(const struct zrec *rec, uint64_t nr, uint8_t *p)
{
	uint64_t n;

	for (n = 0; n < nr; n++, p += 8) {
		struct z_erofs_lcluster_index di = {
			.di_advise = cpu_to_le16(rec[n].type),
		};

		if (rec[n].type == Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
			di.di_u.delta[0] = cpu_to_le16(rec[n].lo);
			di.di_u.delta[1] = cpu_to_le16(rec[n].delta1);
		} else {
			di.di_clusterofs = cpu_to_le16(rec[n].lo);
			di.di_u.blkaddr = cpu_to_le32(rec[n].blkaddr);
		}
		memcpy(p, &di, sizeof(di));
	}
}

/* one pack of 'vcnt' slots of 'bits' bits and its base */
static void write_pack(const struct zrec *rec, unsigned int vcnt,
		       unsigned int bits, bool big, uint64_t *r, uint8_t *p)
{
	unsigned int packbytes = vcnt == 2 ? 8 : 32, i;
	uint32_t base;

	base = big ? *r : *r - 1;
	memset(p, 0, packbytes);
	for (i = 0; i < vcnt; i++) {
		const struct zrec *x = &rec[i];
		uint32_t lo = x->lo, v, bit = i * bits, j;

		if (x->type == Z_EROFS_LCLUSTER_TYPE_NONHEAD &&
		    !(lo & Z_EROFS_LI_D0_CBLKCNT) && i + 1 == vcnt)
			lo = x->delta1;
		v = ((uint32_t)x->type << 12) | lo;
		for (j = 0; j < bits; j++, bit++)
			if (v & (1u << j))
				p[bit / 8] |= 1u << (bit % 8);
		if (big)
			*r += x->count;
		else if (x->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD)
			*r += 1;
	}
	base = cpu_to_le32(base);
	memcpy(p + packbytes - 4, &base, 4);
}

/* records [from, to) in 8-byte packs of two; a lone last one is padded */
static uint8_t *write_pairs(const struct zrec *rec, uint64_t from,
			    uint64_t to, uint64_t nr, bool big, uint64_t *r,
			    uint8_t *p)
{
	struct zrec pad[2];
	uint64_t n;

	for (n = from; n < to; n += 2, p += 8) {
		if (n + 1 < nr) {
			write_pack(rec + n, 2, 16, big, r, p);
			continue;
		}
		pad[0] = rec[n];
		pad[1] = (struct zrec){ 0 };
		write_pack(pad, 2, 16, big, r, p);
		/* a spare slot counts nothing: undo a head's +1 */
		if (!big)
			(*r)--;
	}
	return p;
}

static void write_compact(const struct erofs_build *b, const struct zrec *rec,
			  uint64_t nr, uint32_t e_mod32, uint64_t startblk,
			  uint8_t *p)
{
	uint64_t n4i = ((32 - e_mod32) / 4) % 8, n2b = 0, n, r = startblk;
	const bool big = b->z->big;

	if (n4i < nr)
		n2b = (nr - n4i) / 16 * 16;
	else
		n4i = nr;
	p = write_pairs(rec, 0, n4i, nr, big, &r, p);
	for (n = n4i; n < n4i + n2b; n += 16, p += 32)
		write_pack(rec + n, 16, 14, big, &r, p);
	write_pairs(rec, n4i + n2b, nr, nr, big, &r, p);
}

static int copy_in(struct erofs_build *b, int fd, uint64_t in_off,
		   uint64_t out_off, uint64_t len)
{
	uint8_t *buf = NULL;
	int ret = 0;

	while (len) {
		loff_t ioff = in_off, ooff = out_off;
		ssize_t n = copy_file_range(fd, &ioff, b->outfd, &ooff,
					    min_t(uint64_t, len, 1u << 30), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		in_off += n;
		out_off += n;
		len -= n;
	}
	/* where the kernel cannot copy (or to tell read from write errors) */
	while (len && !ret) {
		uint32_t chunk = min_t(uint64_t, len, 1u << 20);

		if (!buf) {
			buf = malloc(1u << 20);
			if (!buf)
				return -ENOMEM;
		}
		ret = erofs_pread_full(fd, buf, chunk, in_off);
		if (!ret)
			ret = erofs_pwrite_all(b, buf, chunk, out_off);
		in_off += chunk;
		out_off += chunk;
		len -= chunk;
	}
	free(buf);
	return ret;
}

/*
 * The writing pass for one compressed file: its pclusters from the spool
 * (or, for segments that did not compress, from the source) to its
 * blocks, and the map header, indexes and inline tail into 'tail', the
 * bytes after the inode's xattrs.
 */
int erofs_z_write_inode(struct erofs_build *b, const struct erofs_inode *inode,
			uint8_t *tail)
{
	const struct erofs_zinode *zi = inode->zi;
	struct erofs_zbuild *z = b->z;
	uint64_t blk = inode->startblk;
	uint32_t s;
	int srcfd = -1, ret = 0;

	if (zi->frag)
		return erofs_z_write_index(b, inode, tail);

	for (s = 0; s < zi->nr_seg && !ret; s++) {
		const struct erofs_zseg *seg = &zi->seg[s];
		uint64_t nblk = seg->blocks;
		bool last = s + 1 == zi->nr_seg;

		if (last && zi->inline_tail)
			nblk--;
		if (seg->spool_off != EROFS_ZSEG_RAW) {
			ret = copy_in(b, z->spool_fd, seg->spool_off,
				      blk << b->blkszbits, nblk << b->blkszbits);
			if (ret && !atomic_load(&b->out_failed))
				erofs_err(b, "failed to read the compression spool: %s",
					  strerror(-ret));
		} else if (nblk) {
			uint64_t start = (uint64_t)s * z->segsize;
			uint64_t len = min_t(uint64_t, nblk << b->blkszbits,
					     inode->size - start);

			if (srcfd < 0) {
				srcfd = erofs_open_source(b, inode, O_RDONLY);
				if (srcfd < 0) {
					ret = srcfd;
					erofs_z_report_read_err(b, inode, ret);
					break;
				}
			}
			ret = copy_in(b, srcfd, inode->spool_off + start,
				      blk << b->blkszbits, len);
			if (ret && !atomic_load(&b->out_failed))
				erofs_z_report_read_err(b, inode, ret);
		}
		blk += nblk;
	}
	if (!ret && srcfd >= 0)
		ret = erofs_check_unchanged(b, inode, srcfd);
	if (srcfd >= 0)
		close(srcfd);
	return ret ? ret : erofs_z_write_index(b, inode, tail);
}

/* the map header, lcluster indexes and inline tail, into 'tail' */
int erofs_z_write_index(const struct erofs_build *b,
			const struct erofs_inode *inode, uint8_t *tail)
{
	const struct erofs_zinode *zi = inode->zi;
	const struct erofs_zbuild *z = b->z;
	uint64_t nr = DIV_ROUND_UP(inode->size, (uint64_t)b->bs);
	uint8_t *h = tail + zi->pad;
	struct z_erofs_map_header mh = { 0 };
	struct zrec *rec;
	int ret;

	if (zi->frag) {
		/* the header as one LE u64: the offset, and bit 63 set */
		uint64_t v = cpu_to_le64(zi->frag_off |
					 (1ull << (56 + Z_EROFS_FRAGMENT_INODE_BIT)));

		memcpy(h, &v, sizeof(v));
		return 0;
	}
	rec = calloc(nr, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	ret = build_records(b, inode, rec, nr);
	if (ret) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "internal error: the extents of '%s' do not cover it",
			  path ? path : "?");
		free(path);
		free(rec);
		return ret;
	}
	if (z->compact)
		mh.h_advise |= Z_EROFS_ADVISE_COMPACTED_2B;
	if (z->big)
		mh.h_advise |= Z_EROFS_ADVISE_BIG_PCLUSTER_1 |
			(z->compact ? Z_EROFS_ADVISE_BIG_PCLUSTER_2 : 0);
	if (zi->inline_tail) {
		mh.h_advise |= Z_EROFS_ADVISE_INLINE_PCLUSTER;
		mh.h_idata_size = cpu_to_le16(zi->tail_len);
	}
	mh.h_advise = cpu_to_le16(mh.h_advise);
	mh.h_algorithmtype = z->ops->alg;
	memcpy(h, &mh, sizeof(mh));
	if (z->compact) {
		uint32_t hoff = (uint32_t)(h - tail) +
			(inode->extended ? 64 : 32) + inode->xattr_size;

		write_compact(b, rec, nr, (hoff + 8) % 32, inode->startblk,
			      h + 8);
	} else {
		write_full(rec, nr, h + 16);
	}
	free(rec);
	if (zi->inline_tail)
		memcpy(tail + zi->pad + zi->index_size, zi->tail, zi->tail_len);
	return 0;
}

/* ------------------------------------------------------------ superblock */

int erofs_z_write_super(struct erofs_build *b, struct erofs_super_block *sb,
			uint32_t *incompat)
{
	struct erofs_zbuild *z = b->z;
	uint8_t rec[32] = { 0 };
	uint16_t len;

	if (!z)
		return 0;
	*incompat |= EROFS_FEATURE_INCOMPAT_ZERO_PADDING;
	if (b->opts->ztailpacking)
		*incompat |= EROFS_FEATURE_INCOMPAT_ZTAILPACKING;
	if (z->packed) {
		*incompat |= EROFS_FEATURE_INCOMPAT_FRAGMENTS;
		sb->packed_nid = cpu_to_le64(z->packed->nid);
	}
	if (!z->cfgs) {
		sb->u1 = cpu_to_le16(0xFFFF);	/* the LZ4 window */
		return 0;
	}
	*incompat |= EROFS_FEATURE_INCOMPAT_COMPR_CFGS;
	sb->u1 = cpu_to_le16(1u << z->ops->alg);
	if (z->ops->alg == Z_EROFS_COMPRESSION_LZ4) {
		struct z_erofs_lz4_cfgs c = {
			.max_distance = cpu_to_le16(0xFFFF),
			.max_pclusterblks = cpu_to_le16(z->pcs / b->bs),
		};

		len = sizeof(c);
		memcpy(rec + 2, &c, len);
	} else if (z->ops->alg == Z_EROFS_COMPRESSION_DEFLATE) {
		struct z_erofs_deflate_cfgs c = { .windowbits = 15 };

		len = sizeof(c);
		memcpy(rec + 2, &c, len);
	} else {
		struct z_erofs_zstd_cfgs c = { .windowlog = z->windowlog - 10 };

		len = sizeof(c);
		memcpy(rec + 2, &c, len);
	}
	rec[0] = len & 0xff;
	rec[1] = len >> 8;
	return erofs_pwrite_all(b, rec, b->zcfg_size,
				EROFS_SUPER_OFFSET + sizeof(*sb));
}

