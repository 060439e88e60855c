// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Compressed inodes: the map header and the lcluster indexes, full (8-byte
 * records) and compact (4-byte and 2-byte packs), turned into extents: a
 * logical range and the pcluster, inline tail or fragment it decodes from.
 *
 * An offset is mapped the way the kernel maps it (look back through delta0
 * to the head), and the extent's end is found by walking forward to the next
 * head, which also checks every record in between: a delta that would lead
 * a reader past a head, a block count slot out of place, or an extent that
 * ends past i_size is -EFSCORRUPTED.  Limits the kernel refuses to read
 * (pclusters over 1 MiB, extents over 12 MiB decoded) are -EOPNOTSUPP.
 */
#include <stdio.h>

#include "rd.h"

/* map header and index records, as the format defines them */
#define ZADV_COMPACTED_2B	0x0001
#define ZADV_EXTENTS		0x0001	/* full indexes: encoded extents */
#define ZADV_BIG_PCLUSTER_1	0x0002
#define ZADV_BIG_PCLUSTER_2	0x0004
#define ZADV_INLINE_PCLUSTER	0x0008
#define ZADV_INTERLACED		0x0010
#define ZADV_FRAGMENT		0x0020
#define ZFRAGMENT_INODE_BIT	7

#define ZTYPE_PLAIN		0
#define ZTYPE_HEAD1		1
#define ZTYPE_NONHEAD		2
#define ZTYPE_HEAD2		3

#define ZLI_PARTIAL_REF		0x8000
#define ZLI_D0_CBLKCNT		0x0800
#define ZLI_D0_MAX		(ZLI_D0_CBLKCNT - 1)

#define ZALG_MAX		4
#define ZPCLUSTER_MAX		(1u << 20)
#define ZEXTENT_MAX		(12u << 20)

#define ZCORRUPT(rd, vi, fmt, ...) \
	erofs_rd_corrupt(rd, "nid %llu (offset 0x%llx): " fmt, \
			 (unsigned long long)(vi)->nid, \
			 (unsigned long long)(vi)->iloc, ##__VA_ARGS__)

/* one lcluster's index record, decoded */
struct zlc {
	uint64_t lcn;
	unsigned int type;
	unsigned int clusterofs;	/* heads */
	unsigned int delta0;		/* NONHEAD: distance back (1 for CBLKCNT) */
	unsigned int delta1;		/* NONHEAD, when asked for: distance on */
	unsigned int cblks;		/* the CBLKCNT slot: pcluster blocks */
	bool is_cblkcnt;
	bool partial;
	uint64_t pblk;			/* heads: first block of the pcluster */
	uint64_t nextpackoff;		/* the byte after this record's pack */
	uint64_t pos;			/* where the record (or its pack) is */
};

static uint64_t zmap_header_pos(const struct erofs_rd_inode *vi)
{
	return round_up(vi->iloc + vi->isize + vi->xattr_isize, (uint64_t)8);
}

static uint64_t zlcount(const struct erofs_rd_inode *vi)
{
	return (vi->size + (1ull << vi->z_lclusterbits) - 1) >> vi->z_lclusterbits;
}

/* compact indexes: slot counts of the three runs of packs */
struct zcompact {
	uint64_t ebase, total, n4i, n2b;
};

static void zcompact_geometry(const struct erofs_rd *rd,
			      const struct erofs_rd_inode *vi, struct zcompact *g)
{
	g->ebase = zmap_header_pos(vi) + sizeof(struct z_erofs_map_header);
	/* the kernel counts slots in blocks, not lclusters */
	g->total = DIV_ROUND_UP(vi->size, rd->bs);
	g->n4i = ((32 - g->ebase % 32) / 4) & 7;
	g->n2b = 0;
	if (vi->z_advise & ZADV_COMPACTED_2B && g->n4i < g->total)
		g->n2b = round_down(g->total - g->n4i, (uint64_t)16);
}

static uint64_t zcompact_bytes(const struct zcompact *g)
{
	uint64_t n4e;

	if (g->total <= g->n4i)
		return DIV_ROUND_UP(g->total, 2) * 8;
	n4e = g->total - g->n4i - g->n2b;
	return g->n4i * 4 + g->n2b * 2 + DIV_ROUND_UP(n4e, 2) * 8;
}

static unsigned int zdecode_slot(const uint8_t *pack, unsigned int lobits,
				 unsigned int bitpos, unsigned int *lo)
{
	uint32_t v = get_le32(pack + bitpos / 8) >> (bitpos & 7);

	*lo = v & ((1u << lobits) - 1);
	return (v >> lobits) & 3;
}

static int zload_compact(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
			 uint64_t lcn, bool lookahead, struct zlc *m)
{
	unsigned int lbits = vi->z_lclusterbits, shift = 2, vcnt, lobits;
	unsigned int encodebits, packsize, i, lo, type, j, nblk;
	bool big = vi->z_advise & ZADV_BIG_PCLUSTER_1;
	struct zcompact g;
	uint64_t pos, idx = lcn;
	uint8_t pack[32 + 4];
	char what[64];
	int err, k;

	zcompact_geometry(rd, vi, &g);
	if (lcn >= g.total)
		return ZCORRUPT(rd, vi, "lcluster %llu is past the %llu compact index slots",
				(unsigned long long)lcn, (unsigned long long)g.total);
	pos = g.ebase;
	if (idx >= g.n4i) {
		pos += g.n4i * 4;
		idx -= g.n4i;
		if (idx < g.n2b) {
			shift = 1;
		} else {
			pos += g.n2b * 2;
			idx -= g.n2b;
		}
	}
	pos += idx << shift;
	vcnt = shift == 2 ? 2 : 16;
	packsize = vcnt << shift;
	lobits = lbits > 12 ? lbits : 12;
	encodebits = (packsize - 4) * 8 / vcnt;
	m->lcn = lcn;
	m->pos = round_down(pos, (uint64_t)packsize);
	m->nextpackoff = m->pos + packsize;
	snprintf(what, sizeof(what), "nid %llu: compact index pack",
		 (unsigned long long)vi->nid);
	memset(pack, 0, sizeof(pack));
	err = erofs_rd_dev_read(rd, 0, pack, packsize, m->pos, what);
	if (err)
		return err;
	i = (pos - m->pos) >> shift;
	type = zdecode_slot(pack, lobits, encodebits * i, &lo);
	m->type = type;
	m->cblks = 0;
	m->is_cblkcnt = false;
	m->partial = false;
	m->pblk = 0;
	if (type == ZTYPE_NONHEAD) {
		m->clusterofs = 1u << lbits;
		if (lookahead) {
			unsigned int d1 = 0, t = type;

			for (j = i; j < vcnt; j++) {
				t = zdecode_slot(pack, lobits, encodebits * j, &lo);
				if (t != ZTYPE_NONHEAD)
					break;
				d1++;
			}
			if (j == vcnt && !(lo & ZLI_D0_CBLKCNT))
				d1 += lo - 1;
			m->delta1 = d1;
			zdecode_slot(pack, lobits, encodebits * i, &lo);
		}
		if (lo & ZLI_D0_CBLKCNT) {
			if (!(vi->z_advise & (ZADV_BIG_PCLUSTER_1 | ZADV_BIG_PCLUSTER_2)))
				return ZCORRUPT(rd, vi,
					"lcluster %llu (pack at 0x%llx): a block count without big pclusters",
					(unsigned long long)lcn, (unsigned long long)m->pos);
			m->cblks = lo & ~ZLI_D0_CBLKCNT;
			m->is_cblkcnt = true;
			m->delta0 = 1;
			return 0;
		}
		if (i + 1 != vcnt) {
			m->delta0 = lo;
			return 0;
		}
		/* the last slot of a pack keeps delta1: delta0 comes from the one before */
		type = zdecode_slot(pack, lobits, encodebits * (i - 1), &lo);
		if (type != ZTYPE_NONHEAD)
			lo = 0;
		else if (lo & ZLI_D0_CBLKCNT)
			lo = 1;
		m->delta0 = lo + 1;
		return 0;
	}
	m->clusterofs = lo;
	m->delta0 = 0;
	if (lo >= 1u << lbits)
		return ZCORRUPT(rd, vi, "lcluster %llu (pack at 0x%llx): clusterofs %u is not below %u",
				(unsigned long long)lcn, (unsigned long long)m->pos, lo,
				1u << lbits);
	/* the pcluster address: the pack's base plus what comes before in it */
	nblk = big ? 0 : 1;
	k = i;
	while (k > 0) {
		--k;
		type = zdecode_slot(pack, lobits, encodebits * k, &lo);
		if (!big) {
			if (type == ZTYPE_NONHEAD)
				k -= lo;
			if (k >= 0)
				++nblk;
			continue;
		}
		if (type == ZTYPE_NONHEAD) {
			if (lo & ZLI_D0_CBLKCNT) {
				--k;
				nblk += lo & ~ZLI_D0_CBLKCNT;
				continue;
			}
			if (lo <= 1)
				return ZCORRUPT(rd, vi,
					"lcluster %llu (pack at 0x%llx): delta0 %u before a head in a big-pcluster pack",
					(unsigned long long)lcn, (unsigned long long)m->pos, lo);
			k -= lo - 2;
			continue;
		}
		++nblk;
	}
	m->pblk = (uint64_t)get_le32(pack + packsize - 4) + nblk;
	return 0;
}

static int zload_full(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		      uint64_t lcn, struct zlc *m)
{
	struct z_erofs_lcluster_index di;
	unsigned int advise;
	char what[64];
	int err;

	if (lcn >= zlcount(vi))
		return ZCORRUPT(rd, vi, "lcluster %llu is past the %llu full index records",
				(unsigned long long)lcn, (unsigned long long)zlcount(vi));
	m->lcn = lcn;
	m->pos = zmap_header_pos(vi) + 16 + lcn * sizeof(di);
	m->nextpackoff = m->pos + sizeof(di);
	snprintf(what, sizeof(what), "nid %llu: lcluster %llu index",
		 (unsigned long long)vi->nid, (unsigned long long)lcn);
	err = erofs_rd_dev_read(rd, 0, &di, sizeof(di), m->pos, what);
	if (err)
		return err;
	advise = le16_to_cpu(di.di_advise);
	m->type = advise & 3;
	m->cblks = 0;
	m->is_cblkcnt = false;
	m->partial = false;
	m->pblk = 0;
	if (m->type == ZTYPE_NONHEAD) {
		m->clusterofs = 1u << vi->z_lclusterbits;
		m->delta0 = le16_to_cpu(di.di_u.delta[0]);
		m->delta1 = le16_to_cpu(di.di_u.delta[1]);
		/* pre-1.0 mkfs wrote 0 here; readers take it as 1 */
		if (!m->delta1)
			m->delta1 = 1;
		if (m->delta0 & ZLI_D0_CBLKCNT) {
			if (!(vi->z_advise & (ZADV_BIG_PCLUSTER_1 | ZADV_BIG_PCLUSTER_2)))
				return ZCORRUPT(rd, vi,
					"lcluster %llu (index at 0x%llx): a block count without big pclusters",
					(unsigned long long)lcn, (unsigned long long)m->pos);
			m->cblks = m->delta0 & ~ZLI_D0_CBLKCNT;
			m->is_cblkcnt = true;
			m->delta0 = 1;
		}
		return 0;
	}
	m->partial = advise & ZLI_PARTIAL_REF;
	m->clusterofs = le16_to_cpu(di.di_clusterofs);
	m->delta0 = 0;
	if (m->clusterofs >= 1u << vi->z_lclusterbits)
		return ZCORRUPT(rd, vi, "lcluster %llu (index at 0x%llx): clusterofs %u is not below %u",
				(unsigned long long)lcn, (unsigned long long)m->pos,
				m->clusterofs, 1u << vi->z_lclusterbits);
	m->pblk = le32_to_cpu(di.di_u.blkaddr);
	return 0;
}

static int zload(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		 uint64_t lcn, bool lookahead, struct zlc *m)
{
	if (vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT)
		return zload_compact(rd, vi, lcn, lookahead, m);
	return zload_full(rd, vi, lcn, m);
}

/* from the record of lcluster lcn, back to the head of its extent */
static int zlookback(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		     uint64_t lcn, unsigned int dist, struct zlc *m)
{
	while (dist && lcn >= dist) {
		int err = zload(rd, vi, lcn - dist, false, m);

		if (err)
			return err;
		if (m->type != ZTYPE_NONHEAD)
			return 0;
		lcn = m->lcn;
		dist = m->delta0;
	}
	return ZCORRUPT(rd, vi, "lcluster %llu: delta0 %u leads before the first head",
			(unsigned long long)lcn, dist);
}

/* the head of the extent that holds byte la */
static int zfind_head(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		      uint64_t la, struct zlc *head, uint64_t *nextpackoff)
{
	unsigned int lbits = vi->z_lclusterbits;
	uint64_t lcn = la >> lbits;
	unsigned int endoff = la & ((1u << lbits) - 1);
	int err;

	err = zload(rd, vi, lcn, false, head);
	if (err)
		return err;
	if (nextpackoff)
		*nextpackoff = head->nextpackoff;
	if (head->type != ZTYPE_NONHEAD && endoff >= head->clusterofs)
		return 0;
	return zlookback(rd, vi, lcn, head->type == ZTYPE_NONHEAD ? head->delta0 : 1,
			 head);
}

int erofs_rd_zinit(struct erofs_rd *rd, struct erofs_rd_inode *vi)
{
	uint64_t h = zmap_header_pos(vi), end, tailpos = 0;
	uint32_t incompat = rd->sb.feature_incompat;
	struct z_erofs_map_header mh;
	struct zcompact g;
	struct zlc head;
	unsigned int i;
	char what[64];
	int err;

	snprintf(what, sizeof(what), "nid %llu: compression map header",
		 (unsigned long long)vi->nid);
	if (h + sizeof(mh) > erofs_rd_image_size(rd))
		return ZCORRUPT(rd, vi, "the map header at 0x%llx is past the end of the image",
				(unsigned long long)h);
	err = erofs_rd_dev_read(rd, 0, &mh, sizeof(mh), h, what);
	if (err)
		return err;
	vi->z_meta_end = h + sizeof(mh);
	if (mh.h_clusterbits >> ZFRAGMENT_INODE_BIT) {
		/* the whole file is a fragment: the header is its 63-bit offset */
		if (!(incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS))
			return ZCORRUPT(rd, vi, "a whole-file fragment, but the image lacks INCOMPAT_FRAGMENTS");
		vi->z_advise = ZADV_FRAGMENT;
		vi->z_fragment = vi->z_whole_fragment = true;
		vi->z_fragoff = get_le64(&mh) & ~(1ull << 63);
		vi->z_tailheadlcn = 0;
		vi->z_lclusterbits = rd->blkszbits;
		return 0;
	}
	vi->z_advise = le16_to_cpu(mh.h_advise);
	vi->z_algs[0] = mh.h_algorithmtype & 15;
	vi->z_algs[1] = mh.h_algorithmtype >> 4;
	vi->z_lclusterbits = rd->blkszbits + (mh.h_clusterbits & 15);
	if (vi->datalayout == EROFS_INODE_COMPRESSED_FULL && vi->z_advise & ZADV_EXTENTS) {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "nid %llu: encoded extents (48-bit compressed indexes) are not supported yet",
			     (unsigned long long)vi->nid);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < 2; i++) {
		if (vi->z_algs[i] >= ZALG_MAX) {
			erofs_rd_msg(rd, EROFS_RD_ERR,
				     "nid %llu (offset 0x%llx): unknown HEAD%u compression algorithm %u",
				     (unsigned long long)vi->nid,
				     (unsigned long long)h + 6, i + 1, vi->z_algs[i]);
			return -EOPNOTSUPP;
		}
	}
	if (vi->z_advise & (ZADV_BIG_PCLUSTER_1 | ZADV_BIG_PCLUSTER_2) &&
	    !(incompat & EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER))
		return ZCORRUPT(rd, vi, "map header advise 0x%x: big pclusters without INCOMPAT_BIG_PCLUSTER",
				vi->z_advise);
	if (vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT &&
	    !(vi->z_advise & ZADV_BIG_PCLUSTER_1) != !(vi->z_advise & ZADV_BIG_PCLUSTER_2))
		return ZCORRUPT(rd, vi, "map header advise 0x%x: compact indexes need both big pcluster bits or neither",
				vi->z_advise);
	if (vi->z_advise & ZADV_FRAGMENT) {
		if (!(incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS))
			return ZCORRUPT(rd, vi, "a tail fragment, but the image lacks INCOMPAT_FRAGMENTS");
		vi->z_fragment = true;
		vi->z_fragoff = le32_to_cpu(mh.h_fragmentoff);
	} else if (vi->z_advise & ZADV_INLINE_PCLUSTER) {
		if (!(incompat & EROFS_FEATURE_INCOMPAT_ZTAILPACKING))
			return ZCORRUPT(rd, vi, "an inline tail pcluster, but the image lacks INCOMPAT_ZTAILPACKING");
		vi->z_idata_size = le16_to_cpu(mh.h_idata_size);
	}

	/* where the indexes end; ztailpacking data follows them */
	if (vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT) {
		if (vi->z_lclusterbits > 14 ||
		    (vi->z_advise & ZADV_COMPACTED_2B && vi->z_lclusterbits > 12)) {
			erofs_rd_msg(rd, EROFS_RD_ERR,
				     "nid %llu: compact indexes with %u-byte lclusters are not supported",
				     (unsigned long long)vi->nid, 1u << vi->z_lclusterbits);
			return -EOPNOTSUPP;
		}
		zcompact_geometry(rd, vi, &g);
		end = g.ebase + zcompact_bytes(&g);
	} else {
		if (vi->z_lclusterbits > 16)
			return ZCORRUPT(rd, vi, "lcluster size 2^%u is over 64 KiB",
					vi->z_lclusterbits);
		end = h + 16 + zlcount(vi) * sizeof(struct z_erofs_lcluster_index);
	}
	if (end > erofs_rd_image_size(rd))
		return ZCORRUPT(rd, vi, "the lcluster indexes end at 0x%llx, past the end of the image",
				(unsigned long long)end);
	vi->z_meta_end = end;
	if (!vi->size)
		return 0;

	/* the tail extent, as the kernel finds it when it loads the inode */
	if (vi->z_idata_size || vi->z_fragment) {
		err = zfind_head(rd, vi, vi->size - 1, &head, &tailpos);
		if (err)
			return err;
		vi->z_tailheadlcn = head.lcn;
		if (vi->z_fragment && vi->datalayout == EROFS_INODE_COMPRESSED_FULL)
			vi->z_fragoff |= head.pblk << 32;
		if (vi->z_fragment && !head.lcn)
			vi->z_whole_fragment = true;
	}
	if (vi->z_idata_size) {
		vi->z_tailpos = tailpos;
		if (tailpos != end)
			return ZCORRUPT(rd, vi, "the inline tail pcluster at 0x%llx does not follow the indexes (0x%llx)",
					(unsigned long long)tailpos, (unsigned long long)end);
		if ((tailpos & (rd->bs - 1)) + vi->z_idata_size > rd->bs)
			return ZCORRUPT(rd, vi, "the inline tail pcluster of %u bytes at 0x%llx crosses a block boundary",
					vi->z_idata_size, (unsigned long long)tailpos);
		if (tailpos + vi->z_idata_size > erofs_rd_image_size(rd))
			return ZCORRUPT(rd, vi, "the inline tail pcluster at 0x%llx is past the end of the image",
					(unsigned long long)tailpos);
		vi->z_meta_end = tailpos + vi->z_idata_size;
	}
	return 0;
}

/*
 * From the head, walks forward to the next head (or the end of the file):
 * that gives the extent's end.  Every record on the way must lead a reader
 * back to this head (1 <= delta0 <= distance) and not past the next one
 * (delta1), and only the first may carry the block count.
 */
static int zextent_end(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		       const struct zlc *head, uint64_t *end, unsigned int *cblks,
		       bool *first_nonhead)
{
	unsigned int lbits = vi->z_lclusterbits;
	uint64_t n = zlcount(vi), j, reach = 0, next;
	struct zlc m = { .type = ZTYPE_PLAIN };
	int err;

	*cblks = 0;
	*first_nonhead = false;
	for (j = head->lcn + 1; j < n; j++) {
		err = zload(rd, vi, j, true, &m);
		if (err)
			return err;
		if (m.type != ZTYPE_NONHEAD)
			break;
		if (j == head->lcn + 1) {
			*first_nonhead = true;
			*cblks = m.cblks;
		} else if (m.is_cblkcnt) {
			return ZCORRUPT(rd, vi, "lcluster %llu: a block count %llu lclusters after its head",
					(unsigned long long)j,
					(unsigned long long)(j - head->lcn));
		}
		if (!m.delta0 || m.delta0 > j - head->lcn)
			return ZCORRUPT(rd, vi, "lcluster %llu: delta0 %u does not lead back to its head at lcluster %llu",
					(unsigned long long)j, m.delta0,
					(unsigned long long)head->lcn);
		if (j + m.delta1 > reach)
			reach = j + m.delta1;
		if (((j - head->lcn) << lbits) > ZEXTENT_MAX + (1ull << lbits))
			break;	/* over the limit anyway: refused below */
	}
	next = j;
	if (j < n && m.type == ZTYPE_NONHEAD) {
		*end = UINT64_MAX;
		return 0;
	}
	if (reach > next && reach > head->lcn)
		return ZCORRUPT(rd, vi, "lcluster indexes of the extent at lcluster %llu: delta1 leads past the next head at %llu",
				(unsigned long long)head->lcn, (unsigned long long)next);
	if (j >= n) {
		*end = vi->size;
		return 0;
	}
	*end = (j << lbits) + m.clusterofs;
	if (*end > vi->size)
		return ZCORRUPT(rd, vi, "lcluster %llu: the head at offset %llu is past i_size %llu",
				(unsigned long long)j, (unsigned long long)*end,
				(unsigned long long)vi->size);
	return 0;
}

int erofs_rd_zmap(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		  uint64_t la, struct erofs_rd_map *map)
{
	unsigned int lbits = vi->z_lclusterbits, cblks, afmt;
	uint64_t start, end = 0, nblks;
	bool big, first_nonhead;
	struct zlc head;
	char what[64];
	int err;

	if (vi->z_whole_fragment) {
		map->la = 0;
		map->len = vi->size;
		map->flags = EROFS_RD_MAP_FRAGMENT;
		map->fragoff = vi->z_fragoff;
		return 0;
	}
	err = zfind_head(rd, vi, la, &head, NULL);
	if (err)
		return err;
	start = (head.lcn << lbits) + head.clusterofs;
	err = zextent_end(rd, vi, &head, &end, &cblks, &first_nonhead);
	if (err)
		return err;
	if (end == UINT64_MAX || end - start > ZEXTENT_MAX) {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "nid %llu: the extent at %llu decodes to more than %u bytes, which readers refuse",
			     (unsigned long long)vi->nid, (unsigned long long)start,
			     ZEXTENT_MAX);
		return -EOPNOTSUPP;
	}
	if (la < start || la >= end)
		return ZCORRUPT(rd, vi, "offset %llu maps to the extent %llu..%llu, which does not hold it",
				(unsigned long long)la, (unsigned long long)start,
				(unsigned long long)end);
	map->la = start;
	map->len = end - start;
	map->dev = 0;
	map->flags = EROFS_RD_MAP_MAPPED | EROFS_RD_MAP_ENCODED;
	if (head.partial)
		map->flags |= EROFS_RD_MAP_PARTIAL;

	if (vi->z_idata_size && head.lcn == vi->z_tailheadlcn) {
		map->flags |= EROFS_RD_MAP_INLINE;
		map->pa = vi->z_tailpos;
		map->plen = vi->z_idata_size;
	} else if (vi->z_fragment && head.lcn == vi->z_tailheadlcn) {
		map->flags = EROFS_RD_MAP_FRAGMENT;
		map->fragoff = vi->z_fragoff;
		return 0;
	} else {
		big = (head.type == ZTYPE_HEAD1 && vi->z_advise & ZADV_BIG_PCLUSTER_1) ||
			(head.type != ZTYPE_HEAD1 && vi->z_advise & ZADV_BIG_PCLUSTER_2);
		nblks = 1;
		if (big && first_nonhead) {
			if (!cblks)
				return ZCORRUPT(rd, vi, "lcluster %llu: a big pcluster without its block count",
						(unsigned long long)head.lcn + 1);
			nblks = cblks;
		}
		if (nblks << rd->blkszbits > ZPCLUSTER_MAX) {
			erofs_rd_msg(rd, EROFS_RD_ERR,
				     "nid %llu: the pcluster at lcluster %llu has %llu blocks, over the 1 MiB readers take",
				     (unsigned long long)vi->nid,
				     (unsigned long long)head.lcn, (unsigned long long)nblks);
			return -EOPNOTSUPP;
		}
		snprintf(what, sizeof(what), "pcluster of lcluster %llu",
			 (unsigned long long)head.lcn);
		err = erofs_rd_resolve(rd, head.pblk, nblks, 0, &map->dev, &map->pa,
				       what, vi->nid);
		if (err)
			return err;
		map->plen = nblks << rd->blkszbits;
	}
	if (head.type == ZTYPE_PLAIN) {
		if (map->len > map->plen)
			return ZCORRUPT(rd, vi, "lcluster %llu: a raw extent of %llu bytes in a pcluster of %llu",
					(unsigned long long)head.lcn,
					(unsigned long long)map->len,
					(unsigned long long)map->plen);
		afmt = vi->z_advise & ZADV_INTERLACED ? EROFS_RD_FMT_INTERLACED :
			EROFS_RD_FMT_SHIFTED;
		if (head.partial)
			return ZCORRUPT(rd, vi, "lcluster %llu: a raw extent marked as a partial reference",
					(unsigned long long)head.lcn);
	} else {
		afmt = vi->z_algs[head.type == ZTYPE_HEAD2];
		if (!(rd->available_algs & (1u << afmt)))
			return ZCORRUPT(rd, vi, "lcluster %llu: algorithm %u (%s), which the superblock does not list",
					(unsigned long long)head.lcn, afmt,
					erofs_rd_alg_name(afmt));
	}
	map->fmt = afmt;
	return 0;
}
