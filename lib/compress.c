// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Compressed files.  Compressed sizes are not known before compressing, so
 * this pass runs between chunk planning and layout planning: files are cut
 * into segments at fixed offsets, each segment (or each fingerprinted file)
 * is one job on the workers, and a job's pclusters go to a spool file next
 * to the image, already block-formatted.  Layout then gives each compressed
 * file its blocks in plan order, and the writing pass copies the spooled
 * blocks into place and writes the lcluster indexes (compress_write.c).
 * Since segment bounds and codec state depend only on the data, the image
 * is the same for any number of workers.
 *
 * Extents follow two rules that keep every index valid: an extent that is
 * not the file's last ends in a later lcluster than it starts in (so no
 * lcluster holds two heads), and a compressed extent is kept only when it
 * takes fewer blocks than its bytes would raw.  Raw (PLAIN) extents are one
 * block each.
 */
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "compress.h"
#include "fingerprint.h"

/* ------------------------------------------------------------ codecs */

static const struct erofs_compressor *codec_table(unsigned int algo)
{
	switch (algo) {
	case EROFS_COMPR_LZ4:
		return &erofs_compressor_lz4;
	case EROFS_COMPR_LZ4HC:
		return &erofs_compressor_lz4hc;
	case EROFS_COMPR_ZSTD:
		return &erofs_compressor_zstd;
	case EROFS_COMPR_DEFLATE:
		return &erofs_compressor_deflate;
	}
	return NULL;
}

static const char *const algo_names[] = {
	[EROFS_COMPR_LZ4] = "lz4",
	[EROFS_COMPR_LZ4HC] = "lz4hc",
	[EROFS_COMPR_ZSTD] = "zstd",
	[EROFS_COMPR_DEFLATE] = "deflate",
};

const char *erofs_compr_name(unsigned int algo)
{
	if (algo == EROFS_COMPR_NONE || algo >= ARRAY_SIZE(algo_names))
		return "none";
	return algo_names[algo];
}

const struct erofs_compressor *erofs_compressor_get(unsigned int algo)
{
	const struct erofs_compressor *c = codec_table(algo);

	return c && c->name ? c : NULL;
}

int erofs_compr_parse(const char *spec, unsigned int *algo, int *level,
		      const char **why)
{
	const struct erofs_compressor *c;
	const char *comma = strchr(spec, ',');
	size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
	unsigned int a;

	*level = -1;
	for (a = EROFS_COMPR_LZ4; a < ARRAY_SIZE(algo_names); a++)
		if (strlen(algo_names[a]) == len &&
		    !strncmp(spec, algo_names[a], len))
			break;
	if (a >= ARRAY_SIZE(algo_names)) {
		*why = strchr(spec, ':') ?
			"one algorithm per image: lz4, lz4hc, zstd or deflate" :
			"known algorithms: lz4, lz4hc, zstd, deflate";
		return -EINVAL;
	}
	c = codec_table(a);
	if (comma) {
		const char *v = comma + 1;
		char *end;
		long n;

		if (!strncmp(v, "level=", 6))
			v += 6;
		errno = 0;
		n = strtol(v, &end, 10);
		if (!c->max_level) {
			*why = "lz4 has no levels (lz4hc has)";
			return -EINVAL;
		}
		if (errno || end == v || *end || n < c->min_level ||
		    n > c->max_level) {
			*why = a == EROFS_COMPR_LZ4HC ? "lz4hc levels are 1 to 12" :
			       a == EROFS_COMPR_ZSTD ? "zstd levels are 1 to 22" :
			       "deflate levels are 1 to 9";
			return -EINVAL;
		}
		*level = n;
	}
	*algo = a;
	if (!c->name) {
		*why = a == EROFS_COMPR_ZSTD ?
			"this build has no zstd support (libzstd was not found or --without-zstd was given)" :
		       a == EROFS_COMPR_DEFLATE ?
			"this build has no deflate support (zlib was not found or --without-zlib was given)" :
			"this build has no lz4 support (liblz4 was not found or --without-lz4 was given)";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* the ratio a job starts from, before it has seen its data */
#define RATIO_START_X16	(3 * 16)

int erofs_zctx_init(struct erofs_zctx *c, const struct erofs_compressor *ops,
		    int level, unsigned int windowlog)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->level = level;
	c->windowlog = windowlog;
	c->ratio_x16 = RATIO_START_X16;
	return ops->init ? ops->init(c) : 0;
}

void erofs_zctx_reset(struct erofs_zctx *c)
{
	c->ratio_x16 = RATIO_START_X16;
}

void erofs_zctx_exit(struct erofs_zctx *c)
{
	if (c->ops && c->ops->exit)
		c->ops->exit(c);
	free(c->scratch);
	c->scratch = NULL;
}

/*
 * For codecs that cannot stop at an output size (DEFLATE): compress a
 * guess of the input from the ratio seen last, and correct it.  A pcluster
 * filled to half is taken as it is: its stream is right-aligned in just the
 * blocks it needs, so a short one wastes no space, only a little context.
 * The guess aims at 7/8 of the pcluster: a guess that overflows is
 * compressed again, and aiming at 15/16 overflowed so often on mixed data
 * (the packed inode of -Efragments) that a fifth of the work was thrown
 * away; 7/8 costs about 0.6% in size there.
 */
static int compress_fill(struct erofs_zctx *c, const uint8_t *src,
			 uint32_t *srclen, uint8_t *dst, uint32_t cap)
{
	const uint32_t avail = *srclen;
	const uint64_t target = (uint64_t)cap * 7 / 8;
	uint32_t guess, best_in = 0, need;
	int best_out = 0, tries, n;
	bool grown = false;

	guess = min_t(uint64_t, avail, target * c->ratio_x16 / 16);
	if (!guess)
		guess = min_t(uint32_t, avail, cap);
	need = c->ops->bound(max_t(uint32_t, guess, avail));
	if (need > c->scratch_cap) {
		free(c->scratch);
		c->scratch = malloc(need);
		if (!c->scratch) {
			c->scratch_cap = 0;
			return -ENOMEM;
		}
		c->scratch_cap = need;
	}
	for (tries = 0; tries < 6 && guess; tries++) {
		uint64_t next;

		n = c->ops->whole(c, src, guess, c->scratch, c->scratch_cap);
		if (n < 0)
			return n;
		if (!n)
			break;
		c->ratio_x16 = clamp_t(uint64_t, (uint64_t)guess * 16 / n, 8,
				       16 * 1024);
		if ((uint32_t)n <= cap) {
			if (guess > best_in) {
				memcpy(dst, c->scratch, n);
				best_in = guess;
				best_out = n;
			}
			if (guess == avail || (uint64_t)n * 2 >= (uint64_t)cap ||
			    grown)
				break;
			next = min_t(uint64_t, avail, (uint64_t)guess * target / n);
			if (next <= guess + guess / 16)
				break;
			grown = true;
		} else {
			next = (uint64_t)guess * target / n;
			if (next <= best_in)
				break;
		}
		guess = next;
	}
	*srclen = best_in;
	return best_out;
}

int erofs_zctx_compress(struct erofs_zctx *c, const void *src,
			uint32_t *srclen, void *dst, uint32_t cap)
{
	if (c->ops->destsize)
		return c->ops->destsize(c, src, srclen, dst, cap);
	return compress_fill(c, src, srclen, dst, cap);
}

/* ------------------------------------------------------------ the pass */

struct zworker {
	struct erofs_build *b;
	struct erofs_zbuild *z;
	pthread_t th;
	struct erofs_zctx zc;
	uint8_t *in;			/* one segment of input */
	uint8_t *out;			/* its pclusters, block-formatted */
	uint64_t out_cap;
	uint8_t *cbuf;			/* one encoded pcluster */
	void *fp_ctx;
	int ret;
};

int erofs_compress_setup(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_zbuild *z;

	if (o->compr_algo == EROFS_COMPR_NONE)
		return 0;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	b->z = z;
	z->spool_fd = -1;
	z->ops = erofs_compressor_get(o->compr_algo);
	if (!z->ops) {
		erofs_err(b, "cannot compress with %s: this build has no support for it",
			  erofs_compr_name(o->compr_algo));
		return -EOPNOTSUPP;
	}
	z->level = o->compr_level >= 0 ? o->compr_level : z->ops->default_level;
	z->pcs = o->pclustersize ? o->pclustersize : b->bs;
	if (z->pcs % b->bs || z->pcs > Z_EROFS_PCLUSTER_MAX_SIZE ||
	    z->pcs / b->bs > 2047) {
		erofs_err(b, "invalid pcluster size %u: a multiple of the block size, at most 1 MiB and 2047 blocks",
			  z->pcs);
		return -EINVAL;
	}
	if (z->ops->alg == Z_EROFS_COMPRESSION_LZ4 &&
	    z->pcs / b->bs > EROFS_LZ4_MAX_PCLUSTER_BLKS) {
		erofs_err(b, "invalid pcluster size %u: with lz4 the kernel reads at most %u blocks",
			  z->pcs, EROFS_LZ4_MAX_PCLUSTER_BLKS);
		return -EINVAL;
	}
	z->big = z->pcs > b->bs;
	/* compact indexes as the kernel reads them: 4 KiB lclusters */
	z->compact = !o->compr_full_indexes && b->blkszbits == 12;
	/*
	 * Enough input that even highly compressible data fills a pcluster,
	 * few enough decoded bytes that reading one byte stays cheap.
	 */
	z->max_extent = min_t(uint32_t, max_t(uint32_t, 1u << 20, 4 * z->pcs),
			      Z_EROFS_PCLUSTER_MAX_DSIZE);
	z->segsize = max_t(uint32_t, 4u << 20, 2 * z->max_extent);
	/* the largest window a decoded extent can use, at most 1 MiB */
	z->windowlog = 20;
	z->fragments = o->fragments;
	z->frag_max = max_t(uint32_t, z->pcs, 64u << 10);
	z->cfgs = z->big || z->ops->alg != Z_EROFS_COMPRESSION_LZ4;
	if (z->cfgs)
		b->zcfg_size = z->ops->alg == Z_EROFS_COMPRESSION_LZ4 ?
			2 + sizeof(struct z_erofs_lz4_cfgs) :
			2 + sizeof(struct z_erofs_zstd_cfgs);
	return 0;
}

void erofs_z_report_read_err(struct erofs_build *b,
			      const struct erofs_inode *inode, int err)
{
	char *path = inode->dentry ? erofs_inode_path(inode) :
		strdup("(packed inode)");

	if (err == -ENODATA)
		erofs_err(b, "failed to read '%s': it shrank during the build (%llu bytes expected)",
			  path ? path : "?", (unsigned long long)inode->size);
	else if (err == -ENOENT)
		erofs_err(b, "failed to read '%s': it vanished during the build",
			  path ? path : "?");
	else
		erofs_err(b, "failed to read '%s': %s", path ? path : "?",
			  strerror(-err));
	free(path);
}

static int out_reserve(struct zworker *w, uint64_t more, uint64_t used)
{
	uint64_t need = used + more;
	uint8_t *n;

	if (need <= w->out_cap)
		return 0;
	need = max_t(uint64_t, need, w->out_cap * 2);
	n = realloc(w->out, need);
	if (!n)
		return -ENOMEM;
	w->out = n;
	w->out_cap = need;
	return 0;
}

/* a failed spool write is reported here, once, like one to the image */
static int spool_write(struct erofs_build *b, const uint8_t *p, uint64_t len,
		       uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(b->z->spool_fd, p, min_t(uint64_t, len, 1u << 30),
				   off);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			if (!atomic_exchange(&b->out_failed, 1))
				erofs_err(b, "failed to write image '%s': %s (writing its compressed data to a spool file beside it)",
					  b->opts->image_path, strerror(err));
			return -err;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int add_ext(struct erofs_zseg *seg, uint32_t *cap, uint32_t len,
		   uint16_t blocks, uint8_t type)
{
	if (seg->nr_ext == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		struct erofs_zext *n = realloc(seg->ext, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		seg->ext = n;
		*cap = ncap;
	}
	seg->ext[seg->nr_ext++] = (struct erofs_zext){ len, blocks, type };
	return 0;
}

/*
 * The inline tail: the file's last extent, re-encoded alone if it is raw,
 * kept only if shorter than a block.
 */
static int tail_candidate(struct zworker *w, struct erofs_zinode *zi,
			  const uint8_t *data, uint32_t len, const uint8_t *enc,
			  uint32_t enclen, uint8_t type)
{
	const uint32_t bs = w->b->bs;
	int n = 0;

	if (type == Z_EROFS_LCLUSTER_TYPE_PLAIN && len > 1) {
		uint32_t in = len;

		n = erofs_zctx_compress(&w->zc, data, &in, w->cbuf, len - 1);
		if (n < 0)
			return n;
		if (n > 0 && in == len && w->cbuf[0]) {
			enc = w->cbuf;
			enclen = n;
			type = Z_EROFS_LCLUSTER_TYPE_HEAD1;
		}
	}
	if (enclen >= bs)
		return 0;
	zi->tail = malloc(enclen);
	if (!zi->tail)
		return -ENOMEM;
	memcpy(zi->tail, enc, enclen);
	zi->tail_len = enclen;
	zi->tail_type = type;
	return 0;
}

/* compresses w->in[0..len), the segment at 'start' of the file */
static int compress_segment(struct zworker *w, struct erofs_inode *inode,
			    struct erofs_zseg *seg, uint32_t len, bool last)
{
	struct erofs_build *b = w->b;
	struct erofs_zbuild *z = w->z;
	const uint32_t bs = b->bs;
	uint32_t pos = 0, cap = 0, last_enc = 0;
	uint64_t used = 0;
	bool any_encoded = false;
	int ret;

	erofs_zctx_reset(&w->zc);
	while (pos < len) {
		uint32_t take = min_t(uint32_t, len - pos, z->max_extent);
		uint32_t raw = 1, k;

		if (take > bs) {
			uint32_t in = take;
			int n = erofs_zctx_compress(&w->zc, w->in + pos, &in,
						    w->cbuf, z->pcs);

			if (n < 0)
				return n;
			if (n > 0 && w->cbuf[0]) {
				uint32_t blocks = DIV_ROUND_UP((uint32_t)n, bs);

				if (blocks < DIV_ROUND_UP(in, bs)) {
					ret = out_reserve(w, (uint64_t)blocks * bs,
							  used);
					if (!ret)
						ret = add_ext(seg, &cap, in, blocks,
							      Z_EROFS_LCLUSTER_TYPE_HEAD1);
					if (ret)
						return ret;
					memset(w->out + used, 0, blocks * bs - n);
					memcpy(w->out + used + blocks * bs - n,
					       w->cbuf, n);
					used += (uint64_t)blocks * bs;
					pos += in;
					last_enc = n;
					any_encoded = true;
					continue;
				}
				raw = max_t(uint32_t, 1, in / bs);
			}
		}
		/* raw: whole blocks, so the next extent starts in the next lcluster */
		for (k = 0; k < raw && pos < len; k++) {
			uint32_t l = min_t(uint32_t, bs, len - pos);

			ret = out_reserve(w, bs, used);
			if (!ret)
				ret = add_ext(seg, &cap, l, 1,
					      Z_EROFS_LCLUSTER_TYPE_PLAIN);
			if (ret)
				return ret;
			memcpy(w->out + used, w->in + pos, l);
			memset(w->out + used + l, 0, bs - l);
			used += bs;
			pos += l;
		}
	}
	seg->blocks = used / bs;
	if (last && b->opts->ztailpacking && seg->nr_ext &&
	    !inode->zi->packed) {
		const struct erofs_zext *e = &seg->ext[seg->nr_ext - 1];

		if (e->blocks == 1) {
			ret = tail_candidate(w, inode->zi, w->in + len - e->len,
					     e->len, e->type ==
					     Z_EROFS_LCLUSTER_TYPE_PLAIN ?
					     w->in + len - e->len :
					     w->out + used - last_enc,
					     e->type == Z_EROFS_LCLUSTER_TYPE_PLAIN ?
					     e->len : last_enc, e->type);
			if (ret)
				return ret;
		}
	}
	if (!any_encoded && !inode->zi->packed) {
		/* nothing to gain from spooling: copied from the source */
		seg->spool_off = EROFS_ZSEG_RAW;
		return 0;
	}
	seg->spool_off = atomic_fetch_add(&z->spool_end, used);
	return spool_write(b, w->out, used, seg->spool_off);
}

/* a file stored whole in the packed inode: its bytes wait in the spool */
static int run_frag_job(struct zworker *w, struct erofs_inode *inode)
{
	struct erofs_build *b = w->b;
	struct erofs_zbuild *z = w->z;
	bool fp = inode->fp_source == EROFS_FP_COMPUTED && !inode->fp_value;
	int fd, ret;

	fd = erofs_open_source(b, inode, O_RDONLY);
	if (fd < 0) {
		erofs_z_report_read_err(b, inode, fd);
		return fd;
	}
	ret = erofs_pread_full(fd, w->in, inode->size, inode->spool_off);
	if (ret)
		erofs_z_report_read_err(b, inode, ret);
	if (!ret && fp) {
		ret = erofs_fingerprint_init(b, &w->fp_ctx);
		if (!ret)
			ret = erofs_fingerprint_update(w->fp_ctx, w->in,
						       inode->size);
	}
	if (!ret) {
		inode->zi->frag_spool = atomic_fetch_add(&z->spool_end,
							 inode->size);
		ret = spool_write(b, w->in, inode->size, inode->zi->frag_spool);
	}
	if (!ret)
		ret = erofs_check_unchanged(b, inode, fd);
	if (!ret && fp)
		ret = erofs_fingerprint_final(b, w->fp_ctx, inode);
	atomic_fetch_add(&z->bytes_done, inode->size);
	close(fd);
	return ret;
}

/* the packed inode's bytes [start, start + len), gathered from the spool */
static int gather(struct erofs_zbuild *z, uint8_t *buf, uint64_t start,
		  uint64_t len)
{
	uint64_t lo = 0, hi = z->nr_pieces;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (z->pieces[mid].off + z->pieces[mid].len <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; len && lo < z->nr_pieces; lo++) {
		const struct zpiece *pc = &z->pieces[lo];
		uint64_t skip = start - pc->off;
		uint64_t n = min_t(uint64_t, len, pc->len - skip);
		int ret = erofs_pread_full(z->spool_fd, buf, n, pc->spool + skip);

		if (ret)
			return ret;
		buf += n;
		start += n;
		len -= n;
	}
	return len ? -EFSCORRUPTED : 0;
}

static int run_packed_job(struct zworker *w, const struct zjob *job)
{
	struct erofs_build *b = w->b;
	struct erofs_zbuild *z = w->z;
	struct erofs_inode *inode = job->inode;
	uint32_t s;
	int ret = 0;

	for (s = job->first; !ret && s < job->first + job->nr; s++) {
		uint64_t start = (uint64_t)s * z->segsize;
		uint32_t len = min_t(uint64_t, z->segsize, inode->size - start);

		ret = gather(z, w->in, start, len);
		if (ret && !atomic_exchange(&b->out_failed, 1))
			erofs_err(b, "failed to read the compression spool: %s",
				  strerror(-ret));
		if (!ret)
			ret = compress_segment(w, inode, &inode->zi->seg[s], len,
					       false);
		atomic_fetch_add(&z->bytes_done, len);
	}
	return ret;
}

static int run_job(struct zworker *w, const struct zjob *job)
{
	struct erofs_build *b = w->b;
	struct erofs_zbuild *z = w->z;
	struct erofs_inode *inode = job->inode;
	struct erofs_zinode *zi = inode->zi;
	bool fp = inode->fp_source == EROFS_FP_COMPUTED && !inode->fp_value;
	uint32_t s;
	int fd, ret = 0;

	if (zi->frag)
		return run_frag_job(w, inode);
	if (zi->packed)
		return run_packed_job(w, job);
	fd = erofs_open_source(b, inode, O_RDONLY);
	if (fd < 0) {
		erofs_z_report_read_err(b, inode, fd);
		return fd;
	}
	if (fp)
		ret = erofs_fingerprint_init(b, &w->fp_ctx);
	for (s = job->first; !ret && s < job->first + job->nr; s++) {
		uint64_t start = (uint64_t)s * z->segsize;
		uint32_t len = min_t(uint64_t, z->segsize, inode->size - start);

		ret = erofs_pread_full(fd, w->in, len, inode->spool_off + start);
		if (ret) {
			erofs_z_report_read_err(b, inode, ret);
			break;
		}
		if (fp) {
			ret = erofs_fingerprint_update(w->fp_ctx, w->in, len);
			if (ret)
				break;
		}
		ret = compress_segment(w, inode, &zi->seg[s], len,
				       s + 1 == zi->nr_seg);
		if (ret && !atomic_load(&b->out_failed))
			erofs_z_report_read_err(b, inode, ret);
		atomic_fetch_add(&z->bytes_done, len);
	}
	if (!ret)
		ret = erofs_check_unchanged(b, inode, fd);
	if (!ret && fp)
		ret = erofs_fingerprint_final(b, w->fp_ctx, inode);
	close(fd);
	return ret;
}

static void *zworker_main(void *arg)
{
	struct zworker *w = arg;
	struct erofs_zbuild *z = w->z;

	while (!atomic_load(&z->failed)) {
		uint64_t i = atomic_fetch_add(&z->next_job, 1);

		if (i >= z->nr_jobs)
			break;
		w->ret = run_job(w, &z->jobs[i]);
		if (w->ret) {
			atomic_store(&z->failed, 1);
			break;
		}
	}
	return NULL;
}

static bool want_compressed(const struct erofs_build *b,
			    const struct erofs_inode *inode)
{
	return S_ISREG(inode->mode) && inode->size &&
	       inode->datalayout != EROFS_INODE_CHUNK_BASED && !inode->ext_data &&
	       !inode->flat_planned;
}

/* a spool next to the image: the copy into the image stays in the kernel */
static int spool_open(struct erofs_build *b)
{
	char *dcopy = strdup(b->opts->image_path), *tmp = NULL;
	const char *dir;
	int fd;

	if (!dcopy)
		return -ENOMEM;
	dir = dirname(dcopy);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && asprintf(&tmp, "%s/.erofs-spool.XXXXXX", dir) >= 0) {
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmp);
		free(tmp);
	}
	if (fd < 0) {
		fd = -errno;
		erofs_err(b, "cannot create a spool file in '%s': %s", dir,
			  strerror(errno));
	}
	free(dcopy);
	return fd;
}

static void call_progress(struct erofs_build *b)
{
	struct erofs_mkfs_progress p = {
		.bytes_done = atomic_load(&b->z->bytes_done),
		.bytes_total = b->z->bytes_total,
	};

	if (b->opts->progress)
		b->opts->progress(b->opts->cb_ctx, &p);
}

static int add_job(struct erofs_zbuild *z, uint64_t *cap,
		   struct erofs_inode *inode, uint32_t first, uint32_t nr)
{
	if (z->nr_jobs == *cap) {
		uint64_t ncap = *cap ? *cap * 2 : 1024;
		struct zjob *nj = realloc(z->jobs, ncap * sizeof(*nj));

		if (!nj)
			return -ENOMEM;
		z->jobs = nj;
		*cap = ncap;
	}
	z->jobs[z->nr_jobs++] = (struct zjob){ inode, first, nr };
	return 0;
}

/* a file's segments as jobs: one per segment, or one for them all */
static int plan_segments(struct erofs_zbuild *z, uint64_t *cap,
			 struct erofs_inode *inode, bool one_job)
{
	struct erofs_zinode *zi = inode->zi;
	uint64_t segs = DIV_ROUND_UP(inode->size, (uint64_t)z->segsize);
	uint32_t s, per;
	int ret;

	if (segs > UINT32_MAX)
		return -EFBIG;
	zi->seg = calloc(segs, sizeof(*zi->seg));
	if (!zi->seg)
		return -ENOMEM;
	zi->nr_seg = segs;
	z->bytes_total += inode->size;
	per = one_job ? zi->nr_seg : 1;
	for (s = 0; s < zi->nr_seg; s += per) {
		ret = add_job(z, cap, inode, s, per);
		if (ret)
			return ret;
	}
	return 0;
}

static int plan_jobs(struct erofs_build *b)
{
	struct erofs_zbuild *z = b->z;
	uint64_t i, cap = 0;
	int ret;

	z->nr_jobs = 0;
	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];

		if (!want_compressed(b, inode))
			continue;
		/*
		 * A file of at most a block cannot save one: unless its tail
		 * may go inline encoded or into the packed inode, it stays
		 * flat (settle_inode() would say so), and is not read here.
		 */
		if (inode->size <= b->bs && !z->fragments &&
		    !b->opts->ztailpacking)
			continue;
		inode->zi = calloc(1, sizeof(*inode->zi));
		if (!inode->zi)
			return -ENOMEM;
		if (z->fragments && inode->size <= z->frag_max) {
			inode->zi->frag = true;
			z->bytes_total += inode->size;
			ret = add_job(z, &cap, inode, 0, 0);
		} else {
			/* a fingerprint is one digest in file order: one job */
			ret = plan_segments(z, &cap, inode,
					    inode->fp_source == EROFS_FP_COMPUTED &&
					    !inode->fp_value);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The packed inode: the fragments end to end in plan order, compressed in
 * segments like any file, never raw from a source.
 */
static int plan_packed(struct erofs_build *b)
{
	struct erofs_zbuild *z = b->z;
	struct erofs_inode *packed;
	uint64_t i, n = 0, off = 0, cap = 0;

	for (i = 0; i < b->nr_inodes; i++)
		if (b->inodes[i]->zi && b->inodes[i]->zi->frag)
			n++;
	if (!n)
		return 0;
	z->pieces = malloc(n * sizeof(*z->pieces));
	if (!z->pieces)
		return -ENOMEM;
	for (i = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];

		if (!inode->zi || !inode->zi->frag)
			continue;
		inode->zi->frag_off = off;
		z->pieces[z->nr_pieces++] = (struct zpiece){
			off, inode->zi->frag_spool, inode->size };
		off += inode->size;
	}
	packed = erofs_new_inode(b);
	if (IS_ERR(packed))
		return PTR_ERR(packed);
	packed->mode = S_IFREG | 0644;
	packed->nlink = 1;
	packed->size = off;
	packed->mtime = b->root->mtime;
	packed->mtime_nsec = b->root->mtime_nsec;
	packed->zi = calloc(1, sizeof(*packed->zi));
	if (!packed->zi)
		return -ENOMEM;
	packed->zi->packed = true;
	z->packed = packed;
	z->nr_jobs = 0;
	z->bytes_total = off;
	atomic_store(&z->bytes_done, 0);
	return plan_segments(z, &cap, packed, false);
}

static void zinode_free(struct erofs_zinode *zi)
{
	uint32_t s;

	if (!zi)
		return;
	for (s = 0; s < zi->nr_seg; s++)
		free(zi->seg[s].ext);
	free(zi->seg);
	free(zi->tail);
	free(zi);
}

/*
 * After the pass: keep a file compressed only if that saves space over
 * its flat form (counting the bytes inline in the inode too).
 */
static void settle_inode(struct erofs_build *b, struct erofs_inode *inode)
{
	struct erofs_zinode *zi = inode->zi;
	const uint32_t bs = b->bs;
	uint64_t nr = DIV_ROUND_UP(inode->size, (uint64_t)bs);
	uint64_t flat, comp, idx;
	uint32_t s, ftail = inode->size % bs;

	zi->blocks = 0;
	for (s = 0; s < zi->nr_seg; s++)
		zi->blocks += zi->seg[s].blocks;
	if (zi->frag || zi->packed)
		return;
	idx = 16 + (b->z->compact ? 2 * nr : 8 * nr);
	comp = zi->blocks * bs + idx;
	if (zi->tail)
		comp = comp - bs + zi->tail_len;
	flat = (inode->size - ftail) +
		(erofs_tail_fits_inline(b, inode, ftail) ? ftail :
		 (ftail ? bs : 0));
	if (comp < flat)
		return;
	zinode_free(zi);
	inode->zi = NULL;
}

/* runs z->jobs on the workers; the first error wins */
static int run_pool(struct erofs_build *b)
{
	struct erofs_zbuild *z = b->z;
	unsigned int n = b->opts->workers, i, started = 0;
	struct zworker *ws;
	int ret = 0;

	atomic_store(&z->next_job, 0);
	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? (unsigned int)c : 1;
	}
	n = min_t(uint64_t, min_t(unsigned int, n, 64), z->nr_jobs);
	ws = calloc(n, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct zworker *w = &ws[i];

		w->b = b;
		w->z = z;
		w->in = malloc(z->segsize);
		w->cbuf = malloc(z->pcs);
		ret = w->in && w->cbuf ? 0 : -ENOMEM;
		if (!ret)
			ret = erofs_zctx_init(&w->zc, z->ops, z->level,
					      z->windowlog);
		if (ret)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&ws[i].th, NULL, zworker_main, &ws[i]))
			break;
		started++;
	}
	if (!started) {
		ret = -EAGAIN;
		goto out;
	}
	if (b->opts->progress) {
		/* progress while the workers run; joined below */
		while (atomic_load(&z->next_job) < z->nr_jobs &&
		       !atomic_load(&z->failed)) {
			call_progress(b);
			usleep(200 * 1000);
		}
	}
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].th, NULL);
		if (ws[i].ret && !ret)
			ret = ws[i].ret;
	}
	if (!ret && atomic_load(&z->next_job) < z->nr_jobs)
		ret = -EAGAIN;
	if (!ret)
		call_progress(b);
out:
	for (i = 0; i < n; i++) {
		free(ws[i].in);
		free(ws[i].out);
		free(ws[i].cbuf);
		erofs_fingerprint_free_ctx(ws[i].fp_ctx);
		erofs_zctx_exit(&ws[i].zc);
	}
	free(ws);
	return ret;
}

int erofs_compress_all(struct erofs_build *b)
{
	struct erofs_zbuild *z = b->z;
	uint64_t k;
	int ret;

	if (!z)
		return 0;
	ret = plan_jobs(b);
	if (ret || !z->nr_jobs)
		return ret;
	z->spool_fd = spool_open(b);
	if (z->spool_fd < 0)
		return z->spool_fd;
	ret = run_pool(b);
	if (ret)
		return ret;
	for (k = 0; k < b->nr_inodes; k++)
		if (b->inodes[k]->zi)
			settle_inode(b, b->inodes[k]);
	/* the small files, end to end, compressed as one more file */
	ret = plan_packed(b);
	if (ret || !z->packed)
		return ret;
	ret = run_pool(b);
	if (!ret)
		settle_inode(b, z->packed);
	return ret;
}

void erofs_compress_free(struct erofs_build *b)
{
	uint64_t i;

	if (!b->z)
		return;
	for (i = 0; i < b->nr_inodes; i++) {
		zinode_free(b->inodes[i]->zi);
		b->inodes[i]->zi = NULL;
	}
	if (b->z->spool_fd >= 0)
		close(b->z->spool_fd);
	free(b->z->jobs);
	free(b->z->pieces);
	free(b->z);
	b->z = NULL;
}
