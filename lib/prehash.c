// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Fingerprints (and, for deduplication, chunk keys) taken while a
 * directory is still being scanned.  The scan is one thread of system
 * calls and the other cores wait for it, so a thread of our own hashes the
 * regular files the scan has already found, in the order it finds them.  When the scan ends the thread stops where
 * it is; the files it did not reach are hashed by the writing pass as
 * before, and those it did are copied there without a buffer of ours.
 *
 * A value is kept only if the file still has the size, inode and ctime the
 * scan saw once it has been read; anything else (an error, a file that
 * changed) just leaves the file to the writing pass, which reports it.
 * Values land in pre_fp: whether a file gets a computed fingerprint at
 * all is only known after the scan (supplied values, --fingerprint-map).
 * Chunk keys land in pre_keys, at the --chunksize the chunk plan will use
 * for a file without holes; the digest pass takes them instead of reading.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "internal.h"
#include "fingerprint.h"

/* small enough to stay in the cache between the read and the hash */
#define PREHASH_BUFSIZE	(256u << 10)

struct erofs_prehash {
	struct erofs_build *b;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct erofs_inode **q;
	size_t head, tail, cap;
	bool stop;
	uint8_t *buf;
	void *ctx;
	XXH3_state_t *xs;		/* chunk keys wanted: a chunk's state */
	unsigned int chunkbits;
	uint64_t files, bytes;		/* hashed, for the debug output */
};

static bool unchanged(const struct erofs_inode *inode, int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) &&
	       st.st_dev == inode->src_dev && st.st_ino == inode->src_ino &&
	       (uint64_t)st.st_size == inode->size &&
	       st.st_ctim.tv_sec == inode->src_ctime.tv_sec &&
	       st.st_ctim.tv_nsec == inode->src_ctime.tv_nsec;
}

/* the XXH3 of each chunk in buf, which holds the file from off on */
static void take_keys(struct erofs_prehash *p, uint64_t *keys, uint64_t cs,
		      uint64_t size, uint64_t off, size_t n)
{
	const uint8_t *q = p->buf;

	while (n) {
		uint64_t c = off / cs, in = off - c * cs;
		uint64_t clen = min_t(uint64_t, cs, size - c * cs);
		size_t take = min_t(uint64_t, clen - in, n);

		if (!in && take == clen) {
			keys[c] = XXH3_64bits(q, take);
		} else {
			if (!in)
				XXH3_64bits_reset(p->xs);
			XXH3_64bits_update(p->xs, q, take);
			if (in + take == clen)
				keys[c] = XXH3_64bits_digest(p->xs);
		}
		q += take;
		off += take;
		n -= take;
	}
}

static void hash_file(struct erofs_prehash *p, struct erofs_inode *inode)
{
	struct erofs_build *b = p->b;
	uint64_t cs = (uint64_t)b->bs << p->chunkbits;
	uint64_t off = 0, *keys = NULL;
	uint8_t *value = NULL;
	int fd, ret = 0;

	if (p->xs && !erofs_chunk_small(b, inode)) {
		keys = malloc(DIV_ROUND_UP(inode->size, cs) * sizeof(*keys));
		if (!keys)
			return;
	}
	fd = erofs_open_source(b, inode, O_RDONLY);
	if (fd < 0) {
		free(keys);
		return;
	}
	if (b->fp_md)
		ret = erofs_fingerprint_init(b, &p->ctx);
	while (!ret && off < inode->size) {
		ssize_t n = pread(fd, p->buf, min_t(uint64_t, PREHASH_BUFSIZE,
						    inode->size - off), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = -EIO;
			break;
		}
		if (b->fp_md)
			ret = erofs_fingerprint_update(p->ctx, p->buf, n);
		if (keys)
			take_keys(p, keys, cs, inode->size, off, n);
		off += n;
	}
	if (!ret && unchanged(inode, fd) &&
	    (!b->fp_md || !erofs_fingerprint_final_to(b, p->ctx, &value))) {
		inode->pre_fp = value;
		inode->pre_keys = keys;
		keys = NULL;
		p->files++;
		p->bytes += inode->size;
	}
	free(keys);
	close(fd);
}

static void *prehash_main(void *arg)
{
	struct erofs_prehash *p = arg;

	for (;;) {
		struct erofs_inode *inode;

		pthread_mutex_lock(&p->lock);
		while (p->head == p->tail && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		inode = p->q[p->head++];
		pthread_mutex_unlock(&p->lock);
		hash_file(p, inode);
	}
}

/*
 * NULL in *out: nothing to do (neither fingerprints nor chunk keys wanted,
 * or one worker)
 */
int erofs_prehash_start(struct erofs_build *b, struct erofs_prehash **out)
{
	const struct erofs_mkfs_opts *o = b->opts;
	bool keys = erofs_chunk_wanted(b) && (o->dedupe || o->nr_blob_dicts);
	struct erofs_prehash *p;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	*out = NULL;
	if ((!b->fp_md && !keys) || o->workers == 1 ||
	    (!o->workers && cpus < 2))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->b = b;
	p->buf = malloc(PREHASH_BUFSIZE);
	if (keys) {
		p->chunkbits = erofs_chunk_bits(b);
		p->xs = XXH3_createState();
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!p->buf || (keys && !p->xs) ||
	    pthread_create(&p->th, NULL, prehash_main, p)) {
		XXH3_freeState(p->xs);
		free(p->buf);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
		free(p);
		return 0;	/* the writing pass hashes everything */
	}
	*out = p;
	return 0;
}

/* a regular file the scan has filled in; skipped when memory is short */
void erofs_prehash_push(struct erofs_prehash *p, struct erofs_inode *inode)
{
	if (!p->b->fp_md && erofs_chunk_small(p->b, inode))
		return;		/* neither a fingerprint nor keys to take */
	pthread_mutex_lock(&p->lock);
	if (p->tail == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4096;
		struct erofs_inode **q = realloc(p->q, cap * sizeof(*q));

		if (!q) {
			pthread_mutex_unlock(&p->lock);
			return;
		}
		p->q = q;
		p->cap = cap;
	}
	p->q[p->tail++] = inode;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* after the file in hand, the thread stops; what it left is not hashed */
void erofs_prehash_stop(struct erofs_prehash *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->th, NULL);
	erofs_dbg(p->b, "hashed during the scan: %llu files, %llu bytes (%zu files found)",
		  (unsigned long long)p->files, (unsigned long long)p->bytes,
		  p->tail);
	erofs_fingerprint_free_ctx(p->ctx);
	XXH3_freeState(p->xs);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->q);
	free(p->buf);
	free(p);
}
