// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Chunk-based files: which files use chunks and at what size, where each
 * chunk's data goes, and the one table of chunk digests that lets equal
 * chunks be stored once.  Chunks are planned at the --chunksize granularity
 * (or per file, for sparse files), then runs that are contiguous on their
 * device are merged into larger chunks for a shorter index, as the format
 * lets a file choose its own chunk size.
 *
 * Each chunk's XXH3 comes from the data pass before planning (writer.c),
 * the same read that feeds the fingerprint.  Chunks whose XXH3 differ
 * cannot be equal, so most chunks are never hashed further; a chunk whose
 * XXH3 and size match an earlier one's is read again with it, and the two
 * share blocks only when their SHA-256 digests and their bytes are equal.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "internal.h"

struct dd_entry {
	uint64_t key;			/* XXH3 of the chunk's bytes */
	uint32_t nbytes;		/* bytes of data the chunk holds */
	uint16_t ref;			/* 0: this build's data area */
	uint64_t blk;
	/* where the first copy's bytes can be read back for comparison */
	const struct erofs_inode *inode;	/* ref 0 */
	uint64_t off;
};

/* a file that ends in a partial block, by its size and end chunks */
struct dd_tail {
	uint64_t size, first, last;
};

struct erofs_dedupe {
	struct dd_entry *tab;
	uint64_t size, count;		/* size: a power of two */
	/* such files that look alike more than once, sorted */
	struct dd_tail *dup_tails;
	uint64_t nr_dup_tails;
	/* comparison scratch and the files it has open */
	uint8_t *buf1, *buf2;
	const struct erofs_inode *fd1_inode, *fd2_inode;
	int fd1, fd2;
	EVP_MD_CTX *ctx1, *ctx2;
	EVP_MD *md;
};

#define CMP_BUFSIZE	(1u << 20)

bool erofs_chunk_wanted(const struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;

	return o->chunksize || o->dedupe || o->blobdev || o->blob_dir;
}

/* the planning granularity of files without holes, in blocks (log2) */
unsigned int erofs_chunk_bits(const struct erofs_build *b)
{
	return b->opts->chunksize ?
		__builtin_ctz(b->opts->chunksize) - b->blkszbits : 0;
}

/*
 * -Ededupe without blobs: files are chunk-based only where that lets them
 * share blocks; the others keep the flat layout (plan_flat()).
 */
bool erofs_chunk_only_to_share(const struct erofs_build *b)
{
	return b->opts->dedupe && !erofs_blob_wanted(b) &&
	       !b->opts->nr_blob_dicts;
}

/*
 * When chunks serve only to share, a file shorter than a block has no
 * whole block to share, and if its bytes fit in its inode's block (beside
 * the largest inode and its xattrs, as plan_flat() has it) they go inline
 * there, where nothing else can point: such a file stays flat without
 * being looked at.  Whether its xattrs leave room is known once they are
 * planned; before that, erofs_chunk_small() says which files may be.
 */
bool erofs_chunk_small(const struct erofs_build *b,
		       const struct erofs_inode *inode)
{
	return erofs_chunk_only_to_share(b) && !inode->extents &&
	       inode->size < b->bs;
}

bool erofs_chunk_never(const struct erofs_build *b,
		       const struct erofs_inode *inode)
{
	return erofs_chunk_small(b, inode) &&
	       erofs_tail_fits_inline(b, inode, inode->size);
}

bool erofs_chunk_has_data(const struct erofs_inode *inode, uint64_t start,
			  uint64_t len)
{
	uint32_t lo = 0, hi = inode->nr_extents;

	if (!inode->extents)
		return true;
	/* the first extent ending after start */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct erofs_extent *e = &inode->extents[mid];

		if (e->off + e->len <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < inode->nr_extents && inode->extents[lo].off < start + len;
}

/* bytes the chunks holding data take with chunks of bs << chunkbits */
static uint64_t sparse_data_bytes(const struct erofs_build *b,
				  const struct erofs_inode *inode,
				  unsigned int chunkbits)
{
	uint64_t cs = (uint64_t)b->bs << chunkbits, last = UINT64_MAX;
	uint64_t bytes = 0;
	uint32_t i;

	for (i = 0; i < inode->nr_extents; i++) {
		const struct erofs_extent *e = &inode->extents[i];
		uint64_t c = e->off / cs, end = (e->off + e->len - 1) / cs;

		/* a chunk shared with the previous extent counts once */
		if (c == last)
			c++;
		for (; c <= end; c++)
			bytes += min_t(uint64_t, cs, round_up(inode->size - c * cs,
				       (uint64_t)b->bs));
		last = end;
	}
	return bytes;
}

/* a sparse file on its own: the chunk size with the least map plus data */
static unsigned int sparse_chunkbits(const struct erofs_build *b,
				     const struct erofs_inode *inode)
{
	uint64_t bestcost = UINT64_MAX;
	unsigned int cb, best = 0;

	for (cb = 0; cb <= EROFS_CHUNK_FORMAT_BLKBITS_MASK; cb++) {
		uint64_t cs = (uint64_t)b->bs << cb;
		uint64_t cost = DIV_ROUND_UP(inode->size, cs) * 4 +
				sparse_data_bytes(b, inode, cb);

		if (cost < bestcost) {
			bestcost = cost;
			best = cb;
		}
		if (cs >= inode->size)
			break;
	}
	return best;
}

/*
 * Whether a regular file is chunk-based, and its chunks at the planning
 * granularity with their holes marked.  Called for every regular file
 * after the scan.
 */
int erofs_chunk_setup_inode(struct erofs_build *b, struct erofs_inode *inode)
{
	uint64_t cs;
	uint32_t c;

	if (!S_ISREG(inode->mode) || !inode->size || inode->ext_data)
		return 0;
	if ((!erofs_chunk_wanted(b) && !inode->extents) ||
	    erofs_chunk_never(b, inode))
		return 0;
	inode->wchunkbits = erofs_chunk_wanted(b) ? b->chunkbits :
			    sparse_chunkbits(b, inode);
	cs = (uint64_t)b->bs << inode->wchunkbits;
	if (DIV_ROUND_UP(inode->size, cs) > UINT32_MAX)
		return -EFBIG;
	inode->nr_wchunks = DIV_ROUND_UP(inode->size, cs);
	inode->chunks = calloc(inode->nr_wchunks, sizeof(*inode->chunks));
	if (!inode->chunks)
		return -ENOMEM;
	for (c = 0; c < inode->nr_wchunks; c++) {
		uint64_t start = c * cs;

		if (!erofs_chunk_has_data(inode, start,
					  min_t(uint64_t, cs, inode->size - start)))
			inode->chunks[c].flags = EROFS_CHUNK_HOLE;
	}
	inode->datalayout = EROFS_INODE_CHUNK_BASED;
	b->any_chunked = true;
	return 0;
}

/* ------------------------------------------------------------ the table */

static struct dd_entry *dd_find(struct erofs_dedupe *dd, uint64_t key,
				uint32_t nbytes, uint64_t *slot)
{
	uint64_t i = key & (dd->size - 1);

	*slot = i;
	for (;; i = (i + 1) & (dd->size - 1)) {
		struct dd_entry *e = &dd->tab[i];

		if (!e->nbytes) {
			*slot = i;
			return NULL;
		}
		if (e->nbytes == nbytes && e->key == key)
			return e;
	}
}

/*
 * The table is tens of MiB on a large tree and every slot is probed at
 * random, so its pages are mapped and zeroed at once, not one fault at a
 * time during planning.
 */
static struct dd_entry *dd_alloc(uint64_t size)
{
	void *p;

	if (size > SIZE_MAX / sizeof(struct dd_entry))
		return NULL;
	p = mmap(NULL, size * sizeof(struct dd_entry), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void dd_free(struct dd_entry *tab, uint64_t size)
{
	if (tab)
		munmap(tab, size * sizeof(*tab));
}

/* linear probing stays short up to three quarters full */
static bool dd_full(const struct erofs_dedupe *dd, uint64_t count)
{
	return count * 4 > dd->size * 3;
}

static int dd_grow(struct erofs_dedupe *dd)
{
	struct dd_entry *old = dd->tab;
	uint64_t osize = dd->size, i;

	dd->size = osize ? osize * 2 : 1024;
	dd->tab = dd_alloc(dd->size);
	if (!dd->tab) {
		dd->tab = old;
		dd->size = osize;
		return -ENOMEM;
	}
	for (i = 0; i < osize; i++) {
		uint64_t slot;

		if (!old[i].nbytes)
			continue;
		dd_find(dd, old[i].key, old[i].nbytes, &slot);
		dd->tab[slot] = old[i];
	}
	dd_free(old, osize);
	return 0;
}

static struct erofs_dedupe *dd_get(struct erofs_build *b)
{
	if (!b->dd) {
		b->dd = calloc(1, sizeof(*b->dd));
		if (b->dd)
			b->dd->fd1 = b->dd->fd2 = -1;
	}
	return b->dd;
}

static int dd_reserve(struct erofs_build *b, uint64_t more)
{
	struct erofs_dedupe *dd = dd_get(b);
	int ret;

	if (!dd)
		return -ENOMEM;
	if (!dd->tab) {
		/* planning reserves for all its chunks at once: no regrowth */
		uint64_t size = 1024;

		while (size * 3 < more * 4)
			size *= 2;
		dd->tab = dd_alloc(size);
		if (!dd->tab)
			return -ENOMEM;
		dd->size = size;
	}
	while (dd_full(dd, dd->count + more)) {
		ret = dd_grow(dd);
		if (ret)
			return ret;
	}
	return 0;
}

/* the first chunk with these bytes is the one kept: later inserts lose */
int erofs_dedupe_insert(struct erofs_build *b, uint64_t key,
			uint32_t nbytes, uint16_t ref, uint64_t blk,
			const struct erofs_inode *inode, uint64_t off)
{
	struct erofs_dedupe *dd;
	struct dd_entry *e;
	uint64_t slot;
	int ret;

	ret = dd_reserve(b, 1);
	if (ret)
		return ret;
	dd = b->dd;
	e = dd_find(dd, key, nbytes, &slot);
	if (e)
		return 0;
	e = &dd->tab[slot];
	e->key = key;
	e->nbytes = nbytes;
	e->ref = ref;
	e->blk = blk;
	e->inode = inode;
	e->off = off;
	dd->count++;
	return 0;
}

static int cmp_open(struct erofs_build *b, const struct erofs_inode *inode,
		    const struct erofs_inode **cur, int *fd)
{
	if (*cur == inode)
		return *fd;
	if (*fd >= 0)
		close(*fd);
	*cur = NULL;
	*fd = erofs_open_source(b, inode, O_RDONLY);
	if (*fd >= 0)
		*cur = inode;
	return *fd;
}

/*
 * Whether chunk 'off' of 'inode' holds the same bytes as the table entry,
 * by the SHA-256 of both and by their bytes: 1 yes, 0 no (the XXH3 matched
 * by chance), or an error.
 */
static int same_bytes(struct erofs_build *b, const struct dd_entry *e,
		      const struct erofs_inode *inode, uint64_t off)
{
	struct erofs_dedupe *dd = b->dd;
	uint64_t done = 0;
	int fd1, fd2, ret;

	uint8_t d1[32], d2[32];
	unsigned int dlen;
	bool same = true;

	if (!dd->buf1) {
		dd->buf1 = malloc(CMP_BUFSIZE);
		dd->buf2 = malloc(CMP_BUFSIZE);
		dd->ctx1 = EVP_MD_CTX_new();
		dd->ctx2 = EVP_MD_CTX_new();
		dd->md = EVP_MD_fetch(NULL, "sha256", NULL);
		if (!dd->buf1 || !dd->buf2 || !dd->ctx1 || !dd->ctx2 || !dd->md)
			return -ENOMEM;
	}
	if (!EVP_DigestInit_ex(dd->ctx1, dd->md, NULL) ||
	    !EVP_DigestInit_ex(dd->ctx2, dd->md, NULL))
		return -EINVAL;
	fd1 = cmp_open(b, inode, &dd->fd1_inode, &dd->fd1);
	if (fd1 < 0)
		return fd1;
	fd2 = -1;
	if (!e->ref) {
		fd2 = cmp_open(b, e->inode, &dd->fd2_inode, &dd->fd2);
		if (fd2 < 0)
			return fd2;
	}
	while (done < e->nbytes) {
		size_t n = min_t(uint64_t, e->nbytes - done, CMP_BUFSIZE);

		ret = erofs_pread_full(fd1, dd->buf1, n,
				       inode->spool_off + off + done);
		if (ret)
			return ret;
		if (e->ref)
			ret = erofs_blob_dict_read(b, e->ref, dd->buf2, n,
						   (e->blk << b->blkszbits) + done);
		else
			ret = erofs_pread_full(fd2, dd->buf2, n,
					       e->inode->spool_off + e->off + done);
		if (ret)
			return ret;
		EVP_DigestUpdate(dd->ctx1, dd->buf1, n);
		EVP_DigestUpdate(dd->ctx2, dd->buf2, n);
		if (memcmp(dd->buf1, dd->buf2, n))
			same = false;
		done += n;
	}
	if (!EVP_DigestFinal_ex(dd->ctx1, d1, &dlen) ||
	    !EVP_DigestFinal_ex(dd->ctx2, d2, &dlen))
		return -EINVAL;
	return same && !memcmp(d1, d2, sizeof(d1));
}

/* ------------------------------------------------------------ planning */

/*
 * The largest chunk size that still describes the file: every group of
 * chunks it would merge is all holes, or all data contiguous on one device.
 */
static unsigned int merged_chunkbits(const struct erofs_build *b,
				     const struct erofs_inode *inode)
{
	unsigned int cb = inode->wchunkbits, shift;
	uint64_t per = 1ull << inode->wchunkbits;	/* blocks per chunk */

	for (shift = 1; cb + shift <= EROFS_CHUNK_FORMAT_BLKBITS_MASK; shift++) {
		uint64_t g = 1ull << shift, i, j;

		/* one chunk already covers the file */
		if (((uint64_t)b->bs << (cb + shift - 1)) >= inode->size)
			break;
		for (i = 0; i < inode->nr_wchunks; i += g) {
			const struct erofs_chunk *h = &inode->chunks[i];

			for (j = 1; j < g && i + j < inode->nr_wchunks; j++) {
				const struct erofs_chunk *c = &inode->chunks[i + j];

				if ((c->flags & EROFS_CHUNK_HOLE) !=
				    (h->flags & EROFS_CHUNK_HOLE))
					break;
				if (h->flags & EROFS_CHUNK_HOLE)
					continue;
				if (c->ref != h->ref || c->blk != h->blk + j * per)
					break;
			}
			if (j < g && i + j < inode->nr_wchunks)
				break;
		}
		if (i < inode->nr_wchunks)
			break;
	}
	return cb + shift - 1;
}

/* an earlier chunk with the same bytes: 1 found (ch points to it), 0 not */
static int find_shared(struct erofs_build *b, struct erofs_inode *inode,
		       uint32_t c, uint64_t off, uint32_t nbytes)
{
	struct erofs_chunk *ch = &inode->chunks[c];
	struct dd_entry *e;
	uint64_t slot;
	int ret;

	if (!inode->chunk_keys || !b->dd || !b->dd->size)
		return 0;
	e = dd_find(b->dd, inode->chunk_keys[c], nbytes, &slot);
	if (!e)
		return 0;
	ret = same_bytes(b, e, inode, off);
	if (ret < 0) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "failed to read '%s': %s", path ? path : "?",
			  strerror(-ret));
		free(path);
		return ret;
	}
	if (ret) {
		ch->ref = e->ref;
		ch->blk = e->blk;
	}
	return ret;
}

static int tail_cmp(const void *a, const void *b)
{
	const struct dd_tail *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	return 0;
}

static bool tail_of(const struct erofs_build *b,
		    const struct erofs_inode *inode, struct dd_tail *t)
{
	const uint32_t n = inode->nr_wchunks;

	if (!inode->chunk_keys || !n || inode->extents ||
	    !(inode->size & (b->bs - 1)) ||
	    (inode->chunks[n - 1].flags & EROFS_CHUNK_HOLE))
		return false;
	t->size = inode->size;
	t->first = inode->chunk_keys[0];
	t->last = inode->chunk_keys[n - 1];
	return true;
}

/*
 * Files with the same size, first chunk and last chunk, which end in a
 * partial block: nearly always copies of one file.  The first of them to
 * be planned flat would keep its tail inline, where the others cannot
 * point; as they share its first chunk they are chunk-based, and each
 * would spend a block on the same tail.  Such a tail goes in a block of
 * its own instead, and copies share every chunk.  (Files that only end
 * alike are left alone: for them a shared tail would cost a block.)
 */
static int find_dup_tails(struct erofs_build *b)
{
	struct erofs_dedupe *dd = b->dd;
	struct dd_tail *t;
	uint64_t i, n = 0, d = 0;

	for (i = 0; i < b->nr_inodes; i++)
		if (b->inodes[i]->datalayout == EROFS_INODE_CHUNK_BASED &&
		    b->inodes[i]->chunk_keys)
			n++;
	t = malloc(max_t(uint64_t, n, 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0, n = 0; i < b->nr_inodes; i++)
		if (b->inodes[i]->datalayout == EROFS_INODE_CHUNK_BASED &&
		    tail_of(b, b->inodes[i], &t[n]))
			n++;
	qsort(t, n, sizeof(*t), tail_cmp);
	for (i = 0; i < n; ) {
		uint64_t j = i + 1;

		while (j < n && !tail_cmp(&t[i], &t[j]))
			j++;
		if (j - i > 1)
			t[d++] = t[i];
		i = j;
	}
	dd->dup_tails = t;
	dd->nr_dup_tails = d;
	return 0;
}

static bool tail_is_shared(const struct erofs_build *b,
			   const struct erofs_inode *inode)
{
	struct dd_tail t;

	return b->dd && b->dd->nr_dup_tails && tail_of(b, inode, &t) &&
	       bsearch(&t, b->dd->dup_tails, b->dd->nr_dup_tails,
		       sizeof(t), tail_cmp);
}

/*
 * -Ededupe without blobs: a file none of whose chunks is found earlier
 * keeps the flat layout, its tail inline when it fits beside the largest
 * inode and its xattrs; its whole chunks still go in the table, since a
 * flat file's blocks are contiguous and a chunk index can point into them.
 */
static int plan_flat(struct erofs_build *b, struct erofs_inode *inode,
		     uint64_t *next)
{
	uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;
	uint64_t tail = inode->size & (b->bs - 1), nblocks;
	uint32_t c;
	int ret;

	inode->flat_inline = tail && erofs_tail_fits_inline(b, inode, tail) &&
			     !tail_is_shared(b, inode);
	nblocks = inode->flat_inline ? inode->size >> b->blkszbits :
		DIV_ROUND_UP(inode->size, (uint64_t)b->bs);
	inode->startblk = *next;
	*next += nblocks;
	for (c = 0; c < inode->nr_wchunks; c++) {
		uint64_t off = c * cs;
		uint32_t nbytes = min_t(uint64_t, cs, inode->size - off);

		/* an inline tail has no block to share */
		if (DIV_ROUND_UP(off + nbytes, (uint64_t)b->bs) > nblocks)
			break;
		ret = erofs_dedupe_insert(b, inode->chunk_keys[c], nbytes, 0,
					  inode->startblk +
					  (off >> b->blkszbits), inode, off);
		if (ret)
			return ret;
	}
	inode->flat_planned = true;
	inode->datalayout = inode->flat_inline ? EROFS_INODE_FLAT_INLINE :
						 EROFS_INODE_FLAT_PLAIN;
	free(inode->chunks);
	inode->chunks = NULL;
	inode->nr_wchunks = 0;
	return 0;
}

/*
 * An earlier chunk of the same file with the same bytes: its index, or -1.
 * 'seen' is the file's own table of keys (size a power of two, entries are
 * chunk index + 1).
 */
static int64_t find_in_file(struct erofs_build *b, struct erofs_inode *inode,
			    uint32_t *seen, uint32_t size, uint32_t c,
			    uint32_t nbytes)
{
	uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;
	uint64_t key = inode->chunk_keys[c];
	uint32_t i = key & (size - 1);
	int ret;

	for (;; i = (i + 1) & (size - 1)) {
		uint32_t k = seen[i];

		if (!k) {
			seen[i] = c + 1;
			return -1;
		}
		k--;
		if (inode->chunk_keys[k] == key &&
		    min_t(uint64_t, cs, inode->size - (uint64_t)k * cs) == nbytes) {
			struct dd_entry e = {
				.key = key, .nbytes = nbytes, .inode = inode,
				.off = (uint64_t)k * cs,
			};

			ret = same_bytes(b, &e, inode, (uint64_t)c * cs);
			if (ret < 0)
				return ret;
			if (ret)
				return k;
		}
	}
}

static int plan_file(struct erofs_build *b, struct erofs_inode *inode,
		     uint64_t *next, struct erofs_mkfs_report *r)
{
	uint64_t cs = (uint64_t)b->bs << inode->wchunkbits;
	bool shares = false, holes = false;
	uint32_t c, *seen = NULL, seen_size = 0;
	int64_t k;
	int ret;

	if (inode->chunk_keys && b->opts->dedupe && inode->nr_wchunks > 1) {
		for (seen_size = 2; seen_size < inode->nr_wchunks * 2u; )
			seen_size *= 2;
		seen = calloc(seen_size, sizeof(*seen));
		if (!seen)
			return -ENOMEM;
	}

	/* first what is found earlier, then new blocks for the rest */
	for (c = 0; c < inode->nr_wchunks; c++) {
		struct erofs_chunk *ch = &inode->chunks[c];
		uint64_t off = c * cs;
		uint32_t nbytes = min_t(uint64_t, cs, inode->size - off);

		if (ch->flags & EROFS_CHUNK_HOLE)
			holes = true;
		if (ch->flags & (EROFS_CHUNK_HOLE | EROFS_CHUNK_EXT))
			continue;
		ret = find_shared(b, inode, c, off, nbytes);
		if (ret < 0)
			goto out;
		if (!ret && seen) {
			/* an earlier chunk of this file: its blocks, once placed */
			k = find_in_file(b, inode, seen, seen_size, c, nbytes);
			if (k < -1) {
				ret = k;
				goto out;
			}
			if (k >= 0) {
				ch->flags |= EROFS_CHUNK_SELF;
				ch->blk = k;
				shares = true;
				r->dedupe_bytes += nbytes;
				continue;
			}
		}
		if (!ret) {
			ch->flags |= EROFS_CHUNK_NEW;
			continue;
		}
		shares = true;
		if (ch->ref)
			erofs_blobs_note_reuse(b, ch->ref, nbytes);
		else
			r->dedupe_bytes += nbytes;
	}
	if (b->flat_unless_shared && !shares && !holes && inode->chunk_keys) {
		ret = plan_flat(b, inode, next);
		goto out;
	}

	for (c = 0; c < inode->nr_wchunks; c++) {
		struct erofs_chunk *ch = &inode->chunks[c];
		uint64_t off = c * cs;
		uint32_t nbytes = min_t(uint64_t, cs, inode->size - off);

		if (ch->flags & EROFS_CHUNK_SELF) {
			/* the earlier chunk was placed in this loop already */
			ch->flags &= ~EROFS_CHUNK_SELF;
			ch->ref = inode->chunks[ch->blk].ref;
			ch->blk = inode->chunks[ch->blk].blk;
			continue;
		}
		if (!(ch->flags & EROFS_CHUNK_NEW))
			continue;
		ch->ref = 0;
		ch->blk = *next;
		*next += DIV_ROUND_UP(nbytes, b->bs);
		if (inode->chunk_keys && b->opts->dedupe) {
			ret = erofs_dedupe_insert(b, inode->chunk_keys[c], nbytes,
						  0, ch->blk, inode, off);
			if (ret)
				goto out;
		}
	}
	inode->chunkbits = merged_chunkbits(b, inode);
	inode->nr_chunks = DIV_ROUND_UP(inode->size,
					(uint64_t)b->bs << inode->chunkbits);
	r->chunked_files++;
	ret = 0;
out:
	free(seen);
	return ret;
}

/*
 * In plan order, so that the result does not depend on the order workers
 * finished in: the first file with some bytes keeps them.
 */
int erofs_chunk_plan(struct erofs_build *b)
{
	uint64_t i, next = 0, nchunks = 0;
	int ret;

	/* the table at its final size at once, rather than grown step by step */
	if (b->opts->dedupe) {
		for (i = 0; i < b->nr_inodes; i++)
			if (b->inodes[i]->chunk_keys)
				nchunks += b->inodes[i]->nr_wchunks;
		ret = dd_reserve(b, nchunks);
		if (!ret && b->flat_unless_shared)
			ret = find_dup_tails(b);
		if (ret)
			return ret;
	}

	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];

		if (inode->datalayout != EROFS_INODE_CHUNK_BASED)
			continue;
		ret = plan_file(b, inode, &next, b->report);
		if (ret)
			return ret;
		free(inode->chunk_keys);
		inode->chunk_keys = NULL;
	}
	b->chunk_blocks = next;
	b->any_chunked = false;
	for (i = 0; i < b->nr_inodes; i++)
		if (b->inodes[i]->datalayout == EROFS_INODE_CHUNK_BASED)
			b->any_chunked = true;
	if (b->dd) {
		if (b->dd->fd1 >= 0)
			close(b->dd->fd1);
		if (b->dd->fd2 >= 0)
			close(b->dd->fd2);
		b->dd->fd1 = b->dd->fd2 = -1;
		b->dd->fd1_inode = b->dd->fd2_inode = NULL;
		free(b->dd->buf1);
		free(b->dd->buf2);
		b->dd->buf1 = b->dd->buf2 = NULL;
		EVP_MD_CTX_free(b->dd->ctx1);
		EVP_MD_CTX_free(b->dd->ctx2);
		EVP_MD_free(b->dd->md);
		b->dd->ctx1 = b->dd->ctx2 = NULL;
		b->dd->md = NULL;
		free(b->dd->dup_tails);
		b->dd->dup_tails = NULL;
		b->dd->nr_dup_tails = 0;
	}
	return 0;
}

/* the map's bytes, with the padding that aligns 8-byte entries */
uint32_t erofs_chunk_map_size(const struct erofs_build *b,
			      const struct erofs_inode *inode, uint32_t base)
{
	if (!b->chunk_indexes)
		return inode->nr_chunks * 4;
	return (round_up(base, 8u) - base) + inode->nr_chunks * 8;
}

/* buf: right after the inode's xattrs, at byte 'base' of the inode */
void erofs_chunk_write_map(const struct erofs_build *b,
			   const struct erofs_inode *inode, uint8_t *buf)
{
	uint64_t g = 1ull << (inode->chunkbits - inode->wchunkbits);
	uint32_t k;

	for (k = 0; k < inode->nr_chunks; k++) {
		const struct erofs_chunk *c = &inode->chunks[k * g];
		uint64_t blk = c->blk;

		if (!(c->flags & EROFS_CHUNK_HOLE) && !c->ref &&
		    !erofs_blob_new(b))
			blk += b->data_blkaddr;
		if (b->chunk_indexes) {
			struct erofs_inode_chunk_index ix = {
				.startblk_hi = 0,
				.device_id = 0,
				.startblk_lo = cpu_to_le32(EROFS_NULL_ADDR),
			};

			if (!(c->flags & EROFS_CHUNK_HOLE)) {
				ix.device_id = cpu_to_le16(
					erofs_blobs_device_id(b, c->ref));
				ix.startblk_lo = cpu_to_le32((uint32_t)blk);
			}
			memcpy(buf + (size_t)k * 8, &ix, 8);
		} else {
			uint32_t v = c->flags & EROFS_CHUNK_HOLE ?
				EROFS_NULL_ADDR : (uint32_t)blk;

			v = cpu_to_le32(v);
			memcpy(buf + (size_t)k * 4, &v, 4);
		}
	}
}

void erofs_chunk_free(struct erofs_build *b)
{
	if (!b->dd)
		return;
	if (b->dd->fd1 >= 0)
		close(b->dd->fd1);
	if (b->dd->fd2 >= 0)
		close(b->dd->fd2);
	free(b->dd->buf1);
	free(b->dd->buf2);
	EVP_MD_CTX_free(b->dd->ctx1);
	EVP_MD_CTX_free(b->dd->ctx2);
	EVP_MD_free(b->dd->md);
	free(b->dd->dup_tails);
	dd_free(b->dd->tab, b->dd->size);
	free(b->dd);
	b->dd = NULL;
}
