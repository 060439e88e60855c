// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Planning: the order of inodes, each inode's size class and data layout,
 * its NID, and every block address.  Everything is fixed here, before any
 * byte is written, so that the writing pass can run in parallel and still
 * produce the same image for any number of workers.
 */
#include <stdlib.h>

#include "internal.h"
#include "compress.h"

static int place_children(struct erofs_inode *dir, struct erofs_inode **order,
			  uint64_t *n)
{
	uint32_t i;
	int ret;

	for (i = 0; i < dir->nr_children; i++) {
		struct erofs_inode *c = dir->children[i]->inode;

		if (c->placed)
			continue;
		c->placed = true;
		order[(*n)++] = c;
	}
	for (i = 0; i < dir->nr_children; i++) {
		struct erofs_inode *c = dir->children[i]->inode;

		if (S_ISDIR(c->mode) && c->dentry == dir->children[i]) {
			ret = place_children(c, order, n);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int erofs_order_inodes(struct erofs_build *b)
{
	struct erofs_inode **order = malloc(b->nr_inodes * sizeof(*order));
	uint64_t n = 0;
	int ret;

	if (!order)
		return -ENOMEM;
	b->root->placed = true;
	order[n++] = b->root;
	ret = place_children(b->root, order, &n);
	if (ret || n != b->nr_inodes) {
		free(order);
		return ret ? ret : -EFSCORRUPTED;
	}
	free(b->inodes);
	b->inodes = order;
	b->cap_inodes = n;
	return 0;
}

struct time_key {
	int64_t sec;
	uint32_t nsec;
};

static int time_cmp(const void *x, const void *y)
{
	const struct time_key *a = x, *c = y;

	if (a->sec != c->sec)
		return a->sec < c->sec ? -1 : 1;
	return a->nsec < c->nsec ? -1 : a->nsec > c->nsec;
}

/*
 * Compact inodes carry no time of their own: they all show the superblock's
 * epoch.  Unless the time is pinned, take the most common mtime (from 1970
 * on), so that most inodes can be compact.
 */
static int choose_epoch(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct time_key *t, best = { 0, 0 };
	uint64_t i, run = 0, bestrun = 0;

	if (o->fixed_time || o->clamp_time) {
		b->epoch = o->timestamp;
		b->fixed_nsec = 0;
		return 0;
	}
	t = malloc(b->nr_inodes * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < b->nr_inodes; i++)
		t[i] = (struct time_key){ b->inodes[i]->mtime,
					  b->inodes[i]->mtime_nsec };
	qsort(t, b->nr_inodes, sizeof(*t), time_cmp);
	for (i = 0; i < b->nr_inodes; i++) {
		run = i && !time_cmp(&t[i], &t[i - 1]) ? run + 1 : 1;
		/* a negative epoch is read differently by old tools: skip it */
		if (t[i].sec >= 0 && run > bestrun) {
			bestrun = run;
			best = t[i];
		}
	}
	free(t);
	b->epoch = best.sec;
	b->fixed_nsec = best.nsec;
	return 0;
}

/*
 * Metadata blocks are filled best-fit: each inode (with its xattrs and
 * inline tail) goes into the open block whose free space fits it most
 * tightly, or into a new block.  Blocks are kept in stacks by free slots.
 */
struct meta_alloc {
	uint32_t bs, slots;		/* slots of 32 bytes per block */
	uint64_t next_blk;		/* first block never used */
	uint64_t *fill;			/* per block: bytes used (indexed from base) */
	uint64_t base_blk, nr_blocks, cap_blocks;
	uint64_t **stack;		/* stack[f]: blocks with f free slots */
	uint64_t *depth, *cap;
};

static int ma_push(struct meta_alloc *m, uint32_t f, uint64_t blk)
{
	if (!f)
		return 0;
	if (m->depth[f] == m->cap[f]) {
		uint64_t ncap = m->cap[f] ? m->cap[f] * 2 : 16;
		uint64_t *n = realloc(m->stack[f], ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->stack[f] = n;
		m->cap[f] = ncap;
	}
	m->stack[f][m->depth[f]++] = blk;
	return 0;
}

static int ma_init(struct meta_alloc *m, uint32_t bs, uint64_t start)
{
	memset(m, 0, sizeof(*m));
	m->bs = bs;
	m->slots = bs / 32;
	m->stack = calloc(m->slots + 1, sizeof(*m->stack));
	m->depth = calloc(m->slots + 1, sizeof(*m->depth));
	m->cap = calloc(m->slots + 1, sizeof(*m->cap));
	if (!m->stack || !m->depth || !m->cap)
		return -ENOMEM;
	m->base_blk = start / bs;
	m->next_blk = DIV_ROUND_UP(start, (uint64_t)bs);
	m->fill = malloc(16 * sizeof(*m->fill));
	if (!m->fill)
		return -ENOMEM;
	m->cap_blocks = 16;
	m->nr_blocks = m->next_blk - m->base_blk;
	if (m->nr_blocks) {
		m->fill[0] = start % bs;
		return ma_push(m, (bs - start % bs) / 32, m->base_blk);
	}
	return 0;
}

static void ma_free(struct meta_alloc *m)
{
	uint32_t f;

	if (m->stack)
		for (f = 0; f <= m->slots; f++)
			free(m->stack[f]);
	free(m->stack);
	free(m->depth);
	free(m->cap);
	free(m->fill);
}

/* new blocks at the end of the metadata area */
static int ma_extend(struct meta_alloc *m, uint64_t nblocks)
{
	uint64_t need = m->nr_blocks + nblocks, i;

	if (need > m->cap_blocks) {
		uint64_t ncap = max_t(uint64_t, need, m->cap_blocks * 2);
		uint64_t *n = realloc(m->fill, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->fill = n;
		m->cap_blocks = ncap;
	}
	for (i = 0; i < nblocks; i++)
		m->fill[m->nr_blocks + i] = 0;
	m->nr_blocks = need;
	m->next_blk += nblocks;
	return 0;
}

/* returns the byte offset of a place for 'len' bytes, 32-byte aligned */
static int ma_alloc(struct meta_alloc *m, uint64_t len, uint64_t *pos)
{
	uint32_t need = DIV_ROUND_UP(len, 32), f;
	uint64_t blk, idx;
	int ret;

	if (need <= m->slots) {
		for (f = need; f <= m->slots; f++)
			if (m->depth[f])
				break;
		if (f <= m->slots) {
			blk = m->stack[f][--m->depth[f]];
		} else {
			ret = ma_extend(m, 1);
			if (ret)
				return ret;
			blk = m->next_blk - 1;
			f = m->slots;
		}
		idx = blk - m->base_blk;
		*pos = blk * m->bs + m->fill[idx];
		m->fill[idx] += need * 32;
		return ma_push(m, f - need, blk);
	}
	/* larger than a block: a run of new blocks */
	blk = m->next_blk;
	ret = ma_extend(m, DIV_ROUND_UP(len, (uint64_t)m->bs));
	if (ret)
		return ret;
	*pos = blk * m->bs;
	idx = m->next_blk - 1 - m->base_blk;
	m->fill[idx] = round_up(len, 32ull) - (m->next_blk - 1 - blk) * m->bs;
	return ma_push(m, m->slots - m->fill[idx] / 32, m->next_blk - 1);
}

static uint64_t meta_size(const struct erofs_inode *inode)
{
	return (inode->extended ? 64 : 32) + inode->xattr_size +
		inode->inline_size;
}

static int meta_size_cmp(const void *x, const void *y, void *arg)
{
	const struct erofs_build *b = arg;
	uint64_t i = *(const uint64_t *)x, j = *(const uint64_t *)y;
	uint64_t a = round_up(meta_size(b->inodes[i]), 32ull);
	uint64_t c = round_up(meta_size(b->inodes[j]), 32ull);

	if (a != c)
		return a > c ? -1 : 1;
	return i < j ? -1 : i > j;
}

int erofs_plan_layout(struct erofs_build *b)
{
	const uint32_t bs = b->bs;
	struct meta_alloc m = { 0 };
	uint64_t pos, i, blk, *order = NULL;
	int ret;

	ret = choose_epoch(b);
	if (ret)
		return ret;

	pos = round_up(b->shared_start + erofs_xattr_pool_size(b), 32ull);
	if (erofs_devtable_slots(b)) {
		/* the device table follows the shared xattrs */
		pos = round_up(pos, (uint64_t)EROFS_DEVT_SLOT_SIZE);
		if (pos / EROFS_DEVT_SLOT_SIZE > UINT16_MAX) {
			erofs_err(b, "the shared xattrs leave no room for a device table");
			return -EFBIG;
		}
		erofs_devtable_place(b, pos);
		pos += erofs_devtable_slots(b) * EROFS_DEVT_SLOT_SIZE;
	}
	b->meta_blkaddr = 0;
	if (pos / 32 > UINT16_MAX) {
		/* the root NID has 16 bits: count NIDs from a later block */
		pos = round_up(pos, (uint64_t)bs);
		b->meta_blkaddr = pos / bs;
		pos += 32;	/* NID 0 is never used */
	}
	ret = ma_init(&m, bs, pos);
	if (ret)
		goto out;
	order = malloc(b->nr_inodes * sizeof(*order));
	if (!order) {
		ret = -ENOMEM;
		goto out;
	}

	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];
		uint32_t base, tail = 0;
		uint64_t size;

		inode->ino = i + 1;
		inode->extended = inode->uid > UINT16_MAX ||
			inode->gid > UINT16_MAX || inode->nlink > UINT16_MAX ||
			inode->mtime != b->epoch ||
			inode->mtime_nsec != b->fixed_nsec;
		if (inode->datalayout != EROFS_INODE_CHUNK_BASED &&
		    !inode->ext_data && !inode->flat_planned)
			inode->datalayout = EROFS_INODE_FLAT_PLAIN;
		inode->inline_size = 0;

		switch (inode->mode & S_IFMT) {
		case S_IFDIR:
			inode->size = erofs_dir_size(inode, bs);
			break;
		case S_IFREG:
		case S_IFLNK:
			break;
		default:
			inode->size = 0;
		}
		size = inode->size;
		if (size > UINT32_MAX)
			inode->extended = true;
		base = (inode->extended ? 64 : 32) + inode->xattr_size;

		if (inode->datalayout == EROFS_INODE_CHUNK_BASED) {
			inode->inline_size = erofs_chunk_map_size(b, inode, base);
		} else if (inode->flat_planned) {
			/* placed with the chunks; the tail fits (see chunk.c) */
			if (inode->flat_inline)
				inode->inline_size = size & (bs - 1);
		} else if (inode->zi) {
			inode->inline_size = erofs_z_plan_inode(b, inode, base);
		} else if (inode->ext_data) {
			/* the tail has no other place than the inode */
			if (inode->datalayout == EROFS_INODE_FLAT_INLINE) {
				inode->inline_size = size & (bs - 1);
				if (base + inode->inline_size > bs) {
					char *path = erofs_inode_path(inode);

					erofs_err(b, "cannot reference '%s' in place: its %u-byte tail does not fit beside its %u bytes of inode and xattrs",
						  path ? path : "?",
						  inode->inline_size, base);
					free(path);
					ret = -E2BIG;
					goto out;
				}
			}
		} else if (S_ISLNK(inode->mode)) {
			if (size < bs && base + size <= bs) {
				inode->datalayout = EROFS_INODE_FLAT_INLINE;
				inode->inline_size = size;
			}
		} else if (S_ISREG(inode->mode) || S_ISDIR(inode->mode)) {
			tail = size & (bs - 1);
			if (tail && base + tail <= bs) {
				inode->datalayout = EROFS_INODE_FLAT_INLINE;
				inode->inline_size = tail;
			}
		}
		order[i] = i;
	}

	/*
	 * Best fit decreasing: the root first (its NID must be small), then
	 * the largest pieces, so the small ones fill the gaps they leave.
	 */
	qsort_r(order + 1, b->nr_inodes - 1, sizeof(*order), meta_size_cmp, b);
	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[order[i]];

		ret = ma_alloc(&m, meta_size(inode), &pos);
		if (ret)
			goto out;
		inode->nid = (pos - b->meta_blkaddr * bs) / 32;
	}
	if (b->root->nid > UINT16_MAX) {
		erofs_err(b, "internal error: root NID %llu out of range",
			  (unsigned long long)b->root->nid);
		ret = -EFSCORRUPTED;
		goto out;
	}
	pos = m.nr_blocks ? (m.next_blk - 1) * bs + m.fill[m.nr_blocks - 1] :
		m.next_blk * bs;
	b->meta_end = pos;
	if (m.nr_blocks) {
		uint64_t unused = 0, k;

		for (k = 0; k + 1 < m.nr_blocks; k++)
			unused += bs - m.fill[k];
		erofs_dbg(b, "metadata: %llu blocks, %llu bytes unused",
			  (unsigned long long)m.nr_blocks,
			  (unsigned long long)unused);
	}
	b->data_blkaddr = blk = DIV_ROUND_UP(pos, (uint64_t)bs);
	/* chunk data first, unless it goes to a blob; then flat data */
	if (!erofs_blob_new(b))
		blk += b->chunk_blocks;

	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];
		uint64_t nblocks;

		if (inode->datalayout == EROFS_INODE_CHUNK_BASED ||
		    inode->ext_data)
			continue;
		if (inode->flat_planned) {
			if (inode->flat_inline && inode->size < bs)
				inode->startblk = EROFS_NULL_ADDR;
			else
				inode->startblk += b->data_blkaddr;
			continue;
		}
		if (!S_ISREG(inode->mode) && !S_ISDIR(inode->mode) &&
		    !S_ISLNK(inode->mode))
			continue;
		if (inode->zi)
			nblocks = erofs_z_data_blocks(inode);
		else if (inode->datalayout == EROFS_INODE_FLAT_INLINE)
			nblocks = inode->size >> b->blkszbits;
		else
			nblocks = DIV_ROUND_UP(inode->size, (uint64_t)bs);
		if (!nblocks) {
			inode->startblk = inode->datalayout ==
				EROFS_INODE_FLAT_INLINE ? EROFS_NULL_ADDR : 0;
			continue;
		}
		inode->startblk = blk;
		blk += nblocks;
	}
	if (blk > UINT32_MAX) {
		erofs_err(b, "image would need %llu blocks; at most %u fit",
			  (unsigned long long)blk, UINT32_MAX);
		ret = -EFBIG;
		goto out;
	}
	b->total_blocks = blk;
	/* flat files in input images: by their unified address */
	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];
		uint64_t addr;

		if (!inode->ext_data || inode->datalayout == EROFS_INODE_CHUNK_BASED)
			continue;
		if (!inode->ext_ref) {
			inode->startblk = EROFS_NULL_ADDR;
			continue;
		}
		addr = erofs_blobs_uniaddr(b, inode->ext_ref) + inode->ext_blk;
		if (addr > UINT32_MAX) {
			erofs_err(b, "the input images are too large to be referenced by block address (%llu blocks)",
				  (unsigned long long)addr);
			ret = -EFBIG;
			goto out;
		}
		inode->startblk = addr;
	}
	ret = 0;
out:
	free(order);
	ma_free(&m);
	return ret;
}
