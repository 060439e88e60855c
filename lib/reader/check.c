// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The whole-image check: a walk from the root that reaches every directory
 * once and every inode at least once, checks each inode, its xattrs and its
 * data mapping, accounts for every block (data used once; chunks may share
 * the blocks of an earlier identical chunk; no data on metadata blocks) and
 * compares link counts at the end.  The walk keeps its own stack, so a deep
 * tree costs heap, not C stack.  Extraction rides on the same walk through
 * erofs_rd_walk_ops.
 */
#include <stdlib.h>

#include "rd.h"

struct erofs_rd_node {
	uint64_t nid;		/* UINT64_MAX: free slot */
	uint32_t refs;		/* directory entries naming it */
	uint32_t nlink;
	bool dir;
	bool bad;		/* failed its checks: its link count means nothing */
	uint8_t ftype;		/* EROFS_FT_* of its mode, for later links */
};

struct erofs_rd_nodemap {
	struct erofs_rd_node *slots;
	size_t cap, used;
};


/* pclusters seen, by first block: dedupe lets extents share one */
struct erofs_rd_pclref {
	uint64_t key;		/* (dev << 56) | block, UINT64_MAX: free */
	uint64_t nblks;
};

struct erofs_rd_bitmap {
	uint64_t *data, *meta;
	uint64_t *chunk;	/* blocks chunks use: chunks may share them */
	uint64_t *reg;		/* flat data of regular files: chunks may too */
	uint64_t nblks;
};

struct erofs_rd_ent {
	uint64_t nid;
	uint32_t nameoff;
	uint16_t namelen;
	uint8_t ftype;
};

struct erofs_rd_frame {
	struct erofs_rd_inode dir;
	uint64_t parent;
	void *ctx;
	struct erofs_rd_ent *ents;
	char *names;
	size_t n, i, cap, names_used, names_cap;
	uint32_t subdirs;
	bool bad;		/* its entries could not be read */
	bool quiet;		/* the callbacks failed on it: check only */
};

struct erofs_rd_checker {
	struct erofs_rd *rd;
	unsigned int flags;
	const struct erofs_rd_walk_ops *ops;
	void *priv;
	struct erofs_rd_stats *st;
	struct erofs_rd_nodemap nodes;
	struct erofs_rd_bitmap bm[EROFS_RD_MAX_DEVICES + 1];
	struct erofs_rd_pclref *pcls;
	size_t pcls_cap, pcls_used;
	int err;		/* the first error */
	uint8_t *readbuf;
};

static bool bit_test_set(uint64_t *map, uint64_t b)
{
	uint64_t m = 1ull << (b & 63);
	bool was = map[b >> 6] & m;

	map[b >> 6] |= m;
	return was;
}

static bool bit_test(const uint64_t *map, uint64_t b)
{
	return map[b >> 6] & (1ull << (b & 63));
}

/* remembers the first error; with KEEP_GOING the walk goes on */
static int erofs_rd_fail(struct erofs_rd_checker *c, int err)
{
	if (!c->err)
		c->err = err;
	if (err == -ENOMEM || !(c->flags & EROFS_RD_CHECK_KEEP_GOING))
		return err;
	return 0;
}

/* ------------------------------------------------------------ nid map */

static uint64_t erofs_rd_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static int erofs_rd_nodemap_grow(struct erofs_rd_nodemap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024, i;
	struct erofs_rd_node *ns = malloc(ncap * sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < ncap; i++)
		ns[i].nid = UINT64_MAX;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->slots[i].nid == UINT64_MAX)
			continue;
		j = erofs_rd_hash64(m->slots[i].nid) & (ncap - 1);
		while (ns[j].nid != UINT64_MAX)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

/* finds nid, or adds it (*added); NULL when out of memory */
static struct erofs_rd_node *erofs_rd_nodemap_get(struct erofs_rd_nodemap *m,
						  uint64_t nid, bool *added)
{
	size_t j;

	if ((m->used + 1) * 4 > m->cap * 3 && erofs_rd_nodemap_grow(m))
		return NULL;
	j = erofs_rd_hash64(nid) & (m->cap - 1);
	while (m->slots[j].nid != UINT64_MAX) {
		if (m->slots[j].nid == nid) {
			*added = false;
			return &m->slots[j];
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->slots[j] = (struct erofs_rd_node){ .nid = nid };
	m->used++;
	*added = true;
	return &m->slots[j];
}

/* ------------------------------------------------------------ blocks */

static int erofs_rd_bitmaps_init(struct erofs_rd_checker *c)
{
	struct erofs_rd *rd = c->rd;
	unsigned int i;

	for (i = 0; i < rd->nsrcs; i++) {
		uint64_t n = DIV_ROUND_UP(rd->srcs[i].size, rd->bs);

		if (i && rd->srcs[i].fd < 0 && !rd->srcs[i].mem)
			continue;
		c->bm[i].nblks = n;
		c->bm[i].data = calloc(n / 64 + 1, sizeof(uint64_t));
		c->bm[i].meta = calloc(n / 64 + 1, sizeof(uint64_t));
		c->bm[i].chunk = calloc(n / 64 + 1, sizeof(uint64_t));
		c->bm[i].reg = calloc(n / 64 + 1, sizeof(uint64_t));
		if (!c->bm[i].data || !c->bm[i].meta || !c->bm[i].chunk ||
		    !c->bm[i].reg)
			return -ENOMEM;
	}
	return 0;
}

/* metadata bytes [off, off + len) of the image: no data may share their blocks */
static int erofs_rd_mark_meta(struct erofs_rd_checker *c, uint64_t off, uint64_t len,
			      const char *what, uint64_t nid)
{
	struct erofs_rd_bitmap *bm = &c->bm[0];
	uint64_t b, first, last;

	if (!len)
		return 0;
	first = off >> c->rd->blkszbits;
	last = (off + len - 1) >> c->rd->blkszbits;
	if (last >= bm->nblks)
		return 0;	/* reads past the end were refused already */
	for (b = first; b <= last; b++) {
		bit_test_set(bm->meta, b);
		if (bit_test(bm->data, b) || bit_test(bm->chunk, b))
			return erofs_rd_corrupt(c->rd,
				"nid %llu: %s in block %llu, which also holds file data",
				(unsigned long long)nid, what, (unsigned long long)b);
	}
	return 0;
}

/*
 * Flat data: its blocks belong to one file.  A regular file's may also be
 * referenced by chunks of others (deduplication against a flat file).
 */
static int erofs_rd_mark_data(struct erofs_rd_checker *c, unsigned int dev,
			      uint64_t blk, uint64_t n, uint64_t nid, bool reg)
{
	struct erofs_rd_bitmap *bm = &c->bm[dev];
	uint64_t b, shared = 0;

	if (!bm->data || blk + n > bm->nblks)
		return 0;
	for (b = blk; b < blk + n; b++) {
		if (bit_test(bm->chunk, b) && reg) {
			shared++;
		} else if (bit_test(bm->chunk, b)) {
			return erofs_rd_corrupt(c->rd,
				"nid %llu: data block %llu%s is already used by another file",
				(unsigned long long)nid, (unsigned long long)b,
				dev ? " (extra device)" : "");
		}
		if (reg)
			bit_test_set(bm->reg, b);
		if (bit_test_set(bm->data, b))
			return erofs_rd_corrupt(c->rd,
				"nid %llu: data block %llu%s is already used by another file",
				(unsigned long long)nid, (unsigned long long)b,
				dev ? " (extra device)" : "");
		if (bit_test(bm->meta, b))
			return erofs_rd_corrupt(c->rd,
				"nid %llu: data block %llu%s holds metadata",
				(unsigned long long)nid, (unsigned long long)b,
				dev ? " (extra device)" : "");
	}
	c->st->data_blocks += n - shared;
	c->st->shared_blocks += shared;
	return 0;
}

/*
 * Chunks may share blocks with other chunks, in whole or in part, and with
 * the flat data of regular files, knowingly (deduplication); never with
 * other data or metadata.
 */
static int erofs_rd_account_chunk(struct erofs_rd_checker *c, unsigned int dev,
				  uint64_t blk, uint64_t n, uint64_t nid)
{
	struct erofs_rd_bitmap *bm = &c->bm[dev];
	uint64_t b, shared = 0;

	c->st->chunks++;
	if (!bm->data || blk + n > bm->nblks)
		return 0;
	for (b = blk; b < blk + n; b++) {
		bool flat = bit_test(bm->data, b);

		if (flat && !bit_test(bm->reg, b))
			return erofs_rd_corrupt(c->rd,
				"nid %llu: data block %llu%s is already used by another file",
				(unsigned long long)nid, (unsigned long long)b,
				dev ? " (extra device)" : "");
		if (bit_test(bm->meta, b))
			return erofs_rd_corrupt(c->rd,
				"nid %llu: data block %llu%s holds metadata",
				(unsigned long long)nid, (unsigned long long)b,
				dev ? " (extra device)" : "");
		if (bit_test_set(bm->chunk, b) || flat)
			shared++;
	}
	if (shared)
		c->st->shared_chunks++;
	c->st->shared_blocks += shared;
	c->st->data_blocks += n - shared;
	return 0;
}

/* ------------------------------------------------------------ inodes */

static int erofs_rd_count_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	struct erofs_rd_checker *c = priv;

	c->st->xattrs++;
	if (xa->shared) {
		c->st->shared_xattr_refs++;
		return erofs_rd_mark_meta(c, xa->pos, xa->entry_size,
					  "shared xattr", 0);
	}
	return 0;
}

static struct erofs_rd_pclref *erofs_rd_pcl_get(struct erofs_rd_checker *c,
						    uint64_t key)
{
	size_t j;

	if ((c->pcls_used + 1) * 4 > c->pcls_cap * 3) {
		size_t ncap = c->pcls_cap ? c->pcls_cap * 2 : 1024, i;
		struct erofs_rd_pclref *ns = malloc(ncap * sizeof(*ns));

		if (!ns)
			return NULL;
		for (i = 0; i < ncap; i++)
			ns[i].key = UINT64_MAX;
		for (i = 0; i < c->pcls_cap; i++) {
			if (c->pcls[i].key == UINT64_MAX)
				continue;
			j = erofs_rd_hash64(c->pcls[i].key) & (ncap - 1);
			while (ns[j].key != UINT64_MAX)
				j = (j + 1) & (ncap - 1);
			ns[j] = c->pcls[i];
		}
		free(c->pcls);
		c->pcls = ns;
		c->pcls_cap = ncap;
	}
	j = erofs_rd_hash64(key) & (c->pcls_cap - 1);
	while (c->pcls[j].key != UINT64_MAX && c->pcls[j].key != key)
		j = (j + 1) & (c->pcls_cap - 1);
	if (c->pcls[j].key == UINT64_MAX) {
		c->pcls[j].key = key;
		c->pcls[j].nblks = 0;
		c->pcls_used++;
	}
	return &c->pcls[j];
}

/*
 * A pcluster's blocks: with dedupe, extents of one or more files may decode
 * from the same pcluster, so one that starts where an earlier one starts
 * shares its blocks; any other overlap is corruption.
 */
static int erofs_rd_account_pcluster(struct erofs_rd_checker *c, unsigned int dev,
				     uint64_t blk, uint64_t n, uint64_t nid)
{
	struct erofs_rd_pclref *ref;
	uint64_t have;
	int err;

	ref = erofs_rd_pcl_get(c, ((uint64_t)dev << 56) | blk);
	if (!ref)
		return -ENOMEM;
	have = ref->nblks;
	if (have)
		c->st->shared_pclusters++;
	if (n <= have)
		return 0;
	err = erofs_rd_mark_data(c, dev, blk + have, n - have, nid, false);
	if (err)
		return err;
	ref->nblks = n;
	return 0;
}

/* every extent mapped, its blocks accounted for and decoded: lengths must match */
static int erofs_rd_check_compressed(struct erofs_rd_checker *c,
				     const struct erofs_rd_inode *vi)
{
	struct erofs_rd *rd = c->rd;
	struct erofs_rd_map map;
	const uint8_t *data;
	uint64_t off = 0;
	int err;

	while (off < vi->size) {
		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		c->st->compressed_extents++;
		if (map.flags & EROFS_RD_MAP_FRAGMENT) {
			c->st->fragment_bytes += map.len;
			err = erofs_rd_fragment_check(rd, vi, &map);
		} else {
			if (map.flags & EROFS_RD_MAP_INLINE) {
				c->st->inline_bytes += map.len;
				err = erofs_rd_mark_meta(c, map.pa, map.plen,
							 "inline tail pcluster", vi->nid);
			} else {
				err = erofs_rd_account_pcluster(c, map.dev,
						map.pa >> rd->blkszbits,
						map.plen >> rd->blkszbits, vi->nid);
			}
			if (!err)
				err = erofs_rd_zget(rd, vi, &map, &data);
		}
		if (err)
			return err;
		off = map.la + map.len;
	}
	return 0;
}

static int erofs_rd_check_data(struct erofs_rd_checker *c,
			       const struct erofs_rd_inode *vi)
{
	struct erofs_rd *rd = c->rd;
	struct erofs_rd_map map;
	uint64_t off = 0;
	int err;

	if (vi->datalayout == EROFS_INODE_COMPRESSED_FULL ||
	    vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT)
		return erofs_rd_check_compressed(c, vi);

	while (off < vi->size) {
		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		if (map.flags & EROFS_RD_MAP_HOLE) {
			c->st->hole_bytes += map.len;
		} else if (map.flags & EROFS_RD_MAP_INLINE) {
			c->st->inline_bytes += map.len;
			err = erofs_rd_mark_meta(c, map.pa, map.len, "inline data", vi->nid);
		} else if (map.flags & EROFS_RD_MAP_CHUNK) {
			err = erofs_rd_account_chunk(c, map.dev, map.pa >> rd->blkszbits,
						     DIV_ROUND_UP(map.len, rd->bs), vi->nid);
		} else {
			err = erofs_rd_mark_data(c, map.dev, map.pa >> rd->blkszbits,
						 DIV_ROUND_UP(map.len, rd->bs), vi->nid,
						 S_ISREG(vi->mode));
		}
		if (err)
			return err;
		if (c->flags & EROFS_RD_CHECK_READ_DATA &&
		    !(map.flags & EROFS_RD_MAP_HOLE)) {
			uint64_t done = 0;

			while (done < map.len) {
				uint64_t n = map.len - done;

				if (n > (1u << 20))
					n = 1u << 20;
				err = erofs_rd_dev_read(rd, map.dev, c->readbuf, n,
							map.pa + done, "file data");
				if (err)
					return err;
				done += n;
			}
		}
		off = map.la + map.len;
	}
	return 0;
}

static int erofs_rd_check_inode(struct erofs_rd_checker *c,
				const struct erofs_rd_inode *vi)
{
	struct erofs_rd_stats *st = c->st;
	uint64_t meta_len = vi->isize + vi->xattr_isize;
	unsigned int ft = erofs_rd_mode_to_ftype(vi->mode);
	int err;

	st->inodes++;
	st->by_type[ft]++;
	st->by_layout[vi->datalayout]++;
	if (vi->extended)
		st->extended++;
	else
		st->compact++;
	if (S_ISREG(vi->mode)) {
		unsigned int b = 0;
		uint64_t limit = 1024;

		if (vi->size) {
			b = 1;
			while (vi->size >= limit && b < EROFS_RD_HIST_BUCKETS - 1) {
				b++;
				limit <<= 2;
			}
		}
		st->size_hist[b]++;
		st->file_bytes += vi->size;
	}
	if (!S_ISDIR(vi->mode) && vi->nlink > 1)
		st->hardlinked++;
	if (vi->datalayout == EROFS_INODE_CHUNK_BASED) {
		unsigned int unit = vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES ? 8 : 4;
		uint64_t nchunks = vi->size ? ((vi->size - 1) >> vi->chunkbits) + 1 : 0;

		meta_len = round_up(vi->iloc + meta_len, (uint64_t)unit) +
			nchunks * unit - vi->iloc;
	}
	/* the map header and lcluster indexes; the inline tail is marked with the data */
	if ((vi->datalayout == EROFS_INODE_COMPRESSED_FULL ||
	     vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT) &&
	    vi->z_meta_end > vi->iloc + meta_len)
		meta_len = vi->z_meta_end - vi->iloc - vi->z_idata_size;
	err = erofs_rd_mark_meta(c, vi->iloc, meta_len, "inode", vi->nid);
	if (err)
		return err;
	err = erofs_rd_xattrs(c->rd, vi, erofs_rd_count_xattr, c);
	if (err)
		return err;
	switch (vi->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
		err = erofs_rd_check_data(c, vi);
		if (err)
			return err;
		break;
	default:
		if (vi->size)
			return erofs_rd_corrupt(c->rd,
				"nid %llu (offset 0x%llx): %s with i_size %llu",
				(unsigned long long)vi->nid,
				(unsigned long long)vi->iloc,
				erofs_rd_type_name(vi->mode),
				(unsigned long long)vi->size);
	}
	if (S_ISLNK(vi->mode)) {
		char target[4096];

		err = erofs_rd_readlink(c->rd, vi, target, sizeof(target));
		if (err)
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------ the walk */

static int erofs_rd_collect(void *priv, const struct erofs_rd_dirent *de)
{
	struct erofs_rd_frame *f = priv;
	struct erofs_rd_ent *e;
	void *p;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;

		p = realloc(f->ents, ncap * sizeof(*f->ents));
		if (!p)
			return -ENOMEM;
		f->ents = p;
		f->cap = ncap;
	}
	if (f->names_used + de->namelen + 1 > f->names_cap) {
		size_t ncap = f->names_cap ? f->names_cap * 2 : 1024;

		p = realloc(f->names, ncap);
		if (!p)
			return -ENOMEM;
		f->names = p;
		f->names_cap = ncap;
	}
	e = &f->ents[f->n++];
	e->nid = de->nid;
	e->ftype = de->file_type;
	e->namelen = de->namelen;
	e->nameoff = f->names_used;
	memcpy(f->names + f->names_used, de->name, de->namelen);
	f->names[f->names_used + de->namelen] = '\0';
	f->names_used += de->namelen + 1;
	return 0;
}

static void erofs_rd_frame_free(struct erofs_rd_frame *f)
{
	free(f->ents);
	free(f->names);
	f->ents = NULL;
	f->names = NULL;
}

static int erofs_rd_check_nlinks(struct erofs_rd_checker *c)
{
	size_t i;
	int err;

	for (i = 0; i < c->nodes.cap; i++) {
		struct erofs_rd_node *nd = &c->nodes.slots[i];

		if (nd->nid == UINT64_MAX || nd->dir || nd->bad || nd->refs == nd->nlink)
			continue;
		err = erofs_rd_corrupt(c->rd,
			"nid %llu: nlink is %u, but %u directory entries name it",
			(unsigned long long)nd->nid, nd->nlink, nd->refs);
		err = erofs_rd_fail(c, err);
		if (err)
			return err;
	}
	return 0;
}

/* opens a directory: reads its entries into a new frame on the stack */
static int erofs_rd_push(struct erofs_rd_checker *c, struct erofs_rd_frame **stack,
			 size_t *depth, size_t *cap, const struct erofs_rd_inode *dir,
			 uint64_t parent, void *ctx, bool quiet)
{
	struct erofs_rd_frame *f;
	int err;

	if (*depth == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(*stack, ncap * sizeof(**stack));

		if (!p) {
			/* the caller's new context would be lost: release it */
			if (ctx && !quiet && c->ops && c->ops->leave_dir)
				c->ops->leave_dir(c->priv, ctx, NULL);
			return -ENOMEM;
		}
		*stack = p;
		*cap = ncap;
	}
	f = &(*stack)[(*depth)++];
	memset(f, 0, sizeof(*f));
	f->dir = *dir;
	f->parent = parent;
	f->ctx = ctx;
	f->quiet = quiet;
	if (*depth > c->st->max_depth)
		c->st->max_depth = *depth;
	err = erofs_rd_readdir(c->rd, dir, erofs_rd_collect, f);
	if (err) {
		f->bad = true;
		f->n = 0;
		return erofs_rd_fail(c, err);
	}
	return 0;
}

static int erofs_rd_visit(struct erofs_rd_checker *c, struct erofs_rd_frame **stack,
			  size_t *depth, size_t *cap)
{
	struct erofs_rd_frame *f = &(*stack)[*depth - 1];
	struct erofs_rd_ent *e = &f->ents[f->i++];
	const char *name = f->names + e->nameoff;
	struct erofs_rd_inode vi;
	const struct erofs_rd_walk_ops *ops = f->quiet ? NULL : c->ops;
	struct erofs_rd_node *nd;
	bool added, quiet = f->quiet;
	void *child = NULL;
	int err;

	if (e->namelen == 1 && name[0] == '.')
		return 0;
	if (e->namelen == 2 && name[0] == '.' && name[1] == '.') {
		if (e->nid != f->parent)
			return erofs_rd_fail(c, erofs_rd_corrupt(c->rd,
				"directory nid %llu: '..' points to nid %llu, but its parent is nid %llu",
				(unsigned long long)f->dir.nid, (unsigned long long)e->nid,
				(unsigned long long)f->parent));
		return 0;
	}
	c->st->entries++;
	nd = erofs_rd_nodemap_get(&c->nodes, e->nid, &added);
	if (!nd)
		return -ENOMEM;
	if (!added) {
		if (nd->dir)
			return erofs_rd_fail(c, erofs_rd_corrupt(c->rd,
				"directory nid %llu: entry '%s' reaches directory nid %llu a second time (a loop or a hard-linked directory)",
				(unsigned long long)f->dir.nid, name,
				(unsigned long long)e->nid));
		nd->refs++;
		/* every link must carry the inode's type, not just the first */
		if (!nd->bad && e->ftype != nd->ftype) {
			err = erofs_rd_fail(c, erofs_rd_corrupt(c->rd,
				"directory nid %llu: entry '%s' has file type %u (%s), but nid %llu has type %s",
				(unsigned long long)f->dir.nid, name, e->ftype,
				erofs_rd_ftype_name(e->ftype),
				(unsigned long long)e->nid,
				erofs_rd_ftype_name(nd->ftype)));
			if (err)
				return err;
		}
		if (nd->bad || !ops || !ops->entry)
			return 0;
		/* a hard link: the inode was checked when first seen */
		err = erofs_rd_iget(c->rd, e->nid, &vi);
		if (err)
			return erofs_rd_fail(c, err);
		err = ops->entry(c->priv, f->ctx, name, e->namelen, &vi, false);
		return err ? erofs_rd_fail(c, err) : 0;
	}
	nd->refs = 1;
	err = erofs_rd_iget(c->rd, e->nid, &vi);
	if (err) {
		nd->bad = true;
		return erofs_rd_fail(c, err);
	}
	nd->nlink = vi.nlink;
	nd->dir = S_ISDIR(vi.mode);
	nd->ftype = erofs_rd_mode_to_ftype(vi.mode);
	if (nd->dir)
		f->subdirs++;
	if (e->ftype != erofs_rd_mode_to_ftype(vi.mode)) {
		err = erofs_rd_corrupt(c->rd,
			"directory nid %llu: entry '%s' has file type %u (%s), but nid %llu is a %s",
			(unsigned long long)f->dir.nid, name, e->ftype,
			erofs_rd_ftype_name(e->ftype), (unsigned long long)e->nid,
			erofs_rd_type_name(vi.mode));
		err = erofs_rd_fail(c, err);
		if (err)
			return err;
	}
	err = erofs_rd_check_inode(c, &vi);
	if (err) {
		/* its entries cannot be trusted: do not descend */
		nd->bad = true;
		return erofs_rd_fail(c, err);
	}
	if (!nd->dir) {
		if (ops && ops->entry) {
			err = ops->entry(c->priv, f->ctx, name, e->namelen, &vi, true);
			if (err)
				return erofs_rd_fail(c, err);
		}
		return 0;
	}
	if (ops && ops->enter_dir) {
		err = ops->enter_dir(c->priv, f->ctx, name, e->namelen, &vi, &child);
		if (err) {
			err = erofs_rd_fail(c, err);
			if (err)
				return err;
			/* the subtree is still checked, without callbacks */
			quiet = true;
			child = NULL;
		}
	}
	/* f may move: push copies what it needs first */
	return erofs_rd_push(c, stack, depth, cap, &vi, f->dir.nid, child, quiet);
}

static int erofs_rd_pop(struct erofs_rd_checker *c, struct erofs_rd_frame *f)
{
	int err = 0;

	if (!f->bad && f->dir.nlink != 2 + f->subdirs)
		err = erofs_rd_fail(c, erofs_rd_corrupt(c->rd,
			"directory nid %llu: nlink is %u, expected %u (2 + %u subdirectories)",
			(unsigned long long)f->dir.nid, f->dir.nlink, 2 + f->subdirs,
			f->subdirs));
	/* after an error that stops the walk, leave_dir only cleans up */
	if (!f->quiet && c->ops && c->ops->leave_dir) {
		int e = c->ops->leave_dir(c->priv, f->ctx, err ? NULL : &f->dir);

		if (e && !err)
			err = erofs_rd_fail(c, e);
	}
	erofs_rd_frame_free(f);
	return err;
}

static int erofs_rd_mark_fixed(struct erofs_rd_checker *c)
{
	struct erofs_rd *rd = c->rd;
	int err;

	/* the superblock (and whatever precedes it) */
	err = erofs_rd_mark_meta(c, 0, EROFS_SUPER_OFFSET +
				 sizeof(struct erofs_super_block) + 16 * rd->sb.sb_extslots,
				 "superblock", 0);
	if (!err && erofs_rd_ndevices(rd))
		err = erofs_rd_mark_meta(c, (uint64_t)rd->sb.devt_slotoff * EROFS_DEVT_SLOT_SIZE,
					 (uint64_t)erofs_rd_ndevices(rd) * EROFS_DEVT_SLOT_SIZE,
					 "device table", 0);
	if (!err && rd->prefixes &&
	    (rd->sb.feature_compat & EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX ||
	     !rd->sb.packed_nid)) {
		uint64_t start = (uint64_t)rd->sb.xattr_prefix_start * 4, end = start;
		unsigned int i;

		for (i = 0; i < rd->sb.xattr_prefix_count; i++)
			end = round_up(end + 2 + 1 + rd->prefixes[i].infix_len, 4);
		err = erofs_rd_mark_meta(c, start, end - start, "long xattr prefixes", 0);
	}
	return err;
}

int erofs_rd_check(struct erofs_rd *rd, unsigned int flags,
		   const struct erofs_rd_walk_ops *ops, void *priv,
		   struct erofs_rd_stats *stats)
{
	struct erofs_rd_checker c = {
		.rd = rd, .flags = flags, .ops = ops, .priv = priv, .st = stats,
	};
	struct erofs_rd_frame *stack = NULL;
	size_t depth = 0, cap = 0, i;
	struct erofs_rd_inode root;
	struct erofs_rd_node *nd;
	void *ctx = NULL;
	bool added;
	int err;

	memset(stats, 0, sizeof(*stats));
	err = erofs_rd_bitmaps_init(&c);
	if (err)
		goto out;
	if (flags & EROFS_RD_CHECK_READ_DATA) {
		c.readbuf = malloc(1u << 20);
		if (!c.readbuf) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = erofs_rd_mark_fixed(&c);
	if (err)
		goto out;
	/* the packed inode is in no directory: check it (and own its blocks) first */
	if (rd->sb.packed_nid) {
		struct erofs_rd_inode packed;

		err = erofs_rd_iget(rd, rd->sb.packed_nid, &packed);
		if (!err && !S_ISREG(packed.mode))
			err = erofs_rd_corrupt(rd, "packed inode nid %llu is not a regular file",
					       (unsigned long long)packed.nid);
		if (!err)
			err = erofs_rd_check_inode(&c, &packed);
		err = erofs_rd_fail(&c, err);
		if (err)
			goto out;
	}
	err = erofs_rd_iget(rd, rd->sb.root_nid, &root);
	if (err)
		goto out;
	nd = erofs_rd_nodemap_get(&c.nodes, root.nid, &added);
	if (!nd) {
		err = -ENOMEM;
		goto out;
	}
	nd->dir = true;
	nd->nlink = root.nlink;
	err = erofs_rd_check_inode(&c, &root);
	if (err)
		goto out;
	if (ops && ops->enter_dir) {
		err = ops->enter_dir(priv, NULL, "", 0, &root, &ctx);
		if (err)
			goto out;
	}
	err = erofs_rd_push(&c, &stack, &depth, &cap, &root, root.nid, ctx, false);
	while (!err && depth) {
		struct erofs_rd_frame *f = &stack[depth - 1];

		if (f->i < f->n) {
			err = erofs_rd_visit(&c, &stack, &depth, &cap);
			continue;
		}
		err = erofs_rd_pop(&c, f);
		depth--;
	}
	if (!err)
		err = erofs_rd_check_nlinks(&c);
	if (!err && !c.err && rd->sb.inos && rd->sb.inos != c.nodes.used + !!rd->sb.packed_nid)
		erofs_rd_msg(rd, EROFS_RD_WARN,
			     "superblock: inos is %llu, but %llu inodes were found",
			     (unsigned long long)rd->sb.inos,
			     (unsigned long long)(c.nodes.used + !!rd->sb.packed_nid));
out:
	while (depth) {
		struct erofs_rd_frame *f = &stack[--depth];

		if (ops && ops->leave_dir && f->ctx && !f->quiet)
			ops->leave_dir(priv, f->ctx, NULL);
		erofs_rd_frame_free(f);
	}
	free(stack);
	free(c.nodes.slots);
	free(c.readbuf);
	free(c.pcls);
	for (i = 0; i <= EROFS_RD_MAX_DEVICES; i++) {
		free(c.bm[i].data);
		free(c.bm[i].chunk);
		free(c.bm[i].reg);
		free(c.bm[i].meta);
	}
	if (err)
		return err;
	return c.err;
}
