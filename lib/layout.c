// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Planning: the order of inodes, each inode's size class and data layout,
 * its NID, and every block address.  Everything is fixed here, before any
 * byte is written, so that the writing pass can run in parallel and still
 * produce the same image for any number of workers.
 */
#include <stdlib.h>

#include "internal.h"

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

static int order_inodes(struct erofs_build *b)
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
 * epoch.  Unless the time is pinned, take the most common mtime, so that
 * most inodes can be compact.
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
		if (run > bestrun) {
			bestrun = run;
			best = t[i];
		}
	}
	free(t);
	b->epoch = best.sec;
	b->fixed_nsec = best.nsec;
	return 0;
}

/* chunk size (as chunkbits) that minimises chunk map plus stored data */
static void plan_chunks(struct erofs_build *b, struct erofs_inode *inode)
{
	uint64_t bestcost = UINT64_MAX;
	unsigned int cb, best = 0;

	for (cb = 0; cb <= EROFS_CHUNK_FORMAT_BLKBITS_MASK; cb++) {
		uint64_t cs = (uint64_t)b->bs << cb, last = UINT64_MAX;
		uint64_t nchunks = DIV_ROUND_UP(inode->size, cs);
		uint64_t cost = nchunks * 4;
		uint32_t i;

		for (i = 0; i < inode->nr_extents; i++) {
			const struct erofs_extent *e = &inode->extents[i];
			uint64_t c = e->off / cs, end = (e->off + e->len - 1) / cs;

			if (c == last)
				c++;
			for (; c <= end; c++)
				cost += min_t(uint64_t, cs, round_up(inode->size -
					      c * cs, (uint64_t)b->bs));
			last = end;
		}
		if (cost < bestcost) {
			bestcost = cost;
			best = cb;
		}
		if (cs >= inode->size)
			break;
	}
	inode->chunkbits = best;
	inode->nr_chunks = DIV_ROUND_UP(inode->size, (uint64_t)b->bs << best);
}

/* blocks the chunks of a sparse file occupy */
uint64_t erofs_chunk_data_blocks(const struct erofs_build *b,
				 const struct erofs_inode *inode)
{
	uint64_t cs = (uint64_t)b->bs << inode->chunkbits, last = UINT64_MAX;
	uint64_t blocks = 0;
	uint32_t i;

	for (i = 0; i < inode->nr_extents; i++) {
		const struct erofs_extent *e = &inode->extents[i];
		uint64_t c = e->off / cs, end = (e->off + e->len - 1) / cs;

		if (c == last)
			c++;
		for (; c <= end; c++)
			blocks += min_t(uint64_t, cs, round_up(inode->size - c * cs,
					(uint64_t)b->bs)) >> b->blkszbits;
		last = end;
	}
	return blocks;
}

/*
 * An inline tail must sit in the same block as its inode.  If it does not
 * fit in what is left of the current block, either skip to the next block or
 * store the tail in a block of its own, whichever wastes less.
 */
static bool place_inline(struct erofs_build *b, uint64_t *pos, uint32_t base,
			 uint32_t tail)
{
	uint32_t room = b->bs - (*pos & (b->bs - 1));

	if (base + tail > b->bs)
		return false;
	if (base + tail <= room)
		return true;
	if (room > b->bs - tail)
		return false;
	*pos = round_up(*pos, (uint64_t)b->bs);
	return true;
}

int erofs_plan_layout(struct erofs_build *b)
{
	const uint32_t bs = b->bs;
	uint64_t pos, i, blk;
	int ret;

	ret = order_inodes(b);
	if (ret)
		return ret;
	ret = choose_epoch(b);
	if (ret)
		return ret;

	pos = round_up(b->shared_start + erofs_xattr_pool_size(b), 32ull);
	b->meta_blkaddr = 0;
	if (pos / 32 > UINT16_MAX) {
		/* the root NID has 16 bits: count NIDs from a later block */
		pos = round_up(pos, (uint64_t)bs);
		b->meta_blkaddr = pos / bs;
		pos += 32;	/* NID 0 is never used */
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

		if (S_ISREG(inode->mode) && inode->extents) {
			plan_chunks(b, inode);
			inode->datalayout = EROFS_INODE_CHUNK_BASED;
			inode->inline_size = inode->nr_chunks * 4;
			b->any_chunked = true;
		} else if (S_ISLNK(inode->mode)) {
			if (size < bs && place_inline(b, &pos, base, size)) {
				inode->datalayout = EROFS_INODE_FLAT_INLINE;
				inode->inline_size = size;
			}
		} else if (S_ISREG(inode->mode) || S_ISDIR(inode->mode)) {
			tail = size & (bs - 1);
			if (tail && place_inline(b, &pos, base, tail)) {
				inode->datalayout = EROFS_INODE_FLAT_INLINE;
				inode->inline_size = tail;
			}
		}
		inode->nid = (pos - b->meta_blkaddr * bs) / 32;
		pos = round_up(pos + base + inode->inline_size, 32ull);
	}
	b->meta_end = pos;
	b->data_blkaddr = blk = DIV_ROUND_UP(pos, (uint64_t)bs);

	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];
		uint64_t nblocks;

		if (inode->datalayout == EROFS_INODE_CHUNK_BASED) {
			inode->startblk = blk;
			blk += erofs_chunk_data_blocks(b, inode);
			continue;
		}
		if (!S_ISREG(inode->mode) && !S_ISDIR(inode->mode) &&
		    !S_ISLNK(inode->mode))
			continue;
		if (inode->datalayout == EROFS_INODE_FLAT_INLINE)
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
		return -EFBIG;
	}
	b->total_blocks = blk;
	return 0;
}
