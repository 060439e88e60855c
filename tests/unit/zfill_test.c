// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Filling pclusters: for every codec this build has, and pclusters of 4 KiB
 * to 1 MiB, input that changes character under way (zeros, text, random
 * bytes, and runs of each after another) is cut into pclusters the way the
 * compression pass does.  Every encoded pcluster fits its capacity, decodes
 * with the codec's own library to exactly the bytes it claims to hold, and
 * comes out the same from another context in the same state; zeros and
 * text never fall back to raw pclusters, whatever came before them.
 */
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBLZ4
#include <lz4.h>
#endif
#ifdef HAVE_LIBZSTD
#include <zstd.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "compress.h"
#include "unit.h"

#define INPUT_SIZE	(3u << 20)
#define MAX_EXTENT	(2u << 20)

enum pattern { ZEROS, TEXT, RANDOM, ZEROS_TEXT, TEXT_RANDOM_TEXT, NR_PATTERNS };

static const char *const pattern_names[] = {
	"zeros", "text", "random", "zeros then text", "text, random, text",
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void fill_text(uint8_t *p, size_t len)
{
	static const char *const words[] = {
		"block ", "cluster ", "inode ", "the ", "of ", "kernel ",
		"page ", "extent ", "read ", "write ", "image ", "data\n",
	};
	size_t i = 0;

	while (i < len) {
		const char *w = words[next_rand() % 12];
		size_t n = strlen(w);

		memcpy(p + i, w, i + n <= len ? n : len - i);
		i += n;
	}
}

static void fill_random(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = next_rand();
}

static void make_input(uint8_t *p, enum pattern pat)
{
	const size_t third = INPUT_SIZE / 3;

	switch (pat) {
	case ZEROS:
		memset(p, 0, INPUT_SIZE);
		break;
	case TEXT:
		fill_text(p, INPUT_SIZE);
		break;
	case RANDOM:
		fill_random(p, INPUT_SIZE);
		break;
	case ZEROS_TEXT:
		memset(p, 0, third);
		fill_text(p + third, INPUT_SIZE - third);
		break;
	default:
		fill_text(p, third);
		fill_random(p + third, third);
		fill_text(p + 2 * third, INPUT_SIZE - 2 * third);
		break;
	}
}

/* the bytes 'enc' decodes to, or -1 */
static long decode(unsigned int algo, const uint8_t *enc, uint32_t n,
		   uint8_t *out, uint32_t cap)
{
	switch (algo) {
#ifdef HAVE_LIBLZ4
	case EROFS_COMPR_LZ4:
	case EROFS_COMPR_LZ4HC:
		return LZ4_decompress_safe((const char *)enc, (char *)out, n,
					   cap);
#endif
#ifdef HAVE_LIBZSTD
	case EROFS_COMPR_ZSTD: {
		size_t r = ZSTD_decompress(out, cap, enc, n);

		return ZSTD_isError(r) ? -1 : (long)r;
	}
#endif
#ifdef HAVE_ZLIB
	case EROFS_COMPR_DEFLATE: {
		z_stream zs = { 0 };
		long r;

		if (inflateInit2(&zs, -15) != Z_OK)
			return -1;
		zs.next_in = (Bytef *)enc;
		zs.avail_in = n;
		zs.next_out = out;
		zs.avail_out = cap;
		r = inflate(&zs, Z_FINISH);
		r = r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK ?
			(long)zs.total_out : -1;
		inflateEnd(&zs);
		return r;
	}
#endif
	default:
		return -1;
	}
}

static void run(unsigned int algo, uint32_t cap, enum pattern pat,
		const uint8_t *src, uint8_t *dec)
{
	const struct erofs_compressor *ops = erofs_compressor_get(algo);
	struct erofs_zctx c = { 0 }, c2 = { 0 };
	uint8_t *enc = malloc(cap), *enc2 = malloc(cap);
	uint64_t pos = 0, raw = 0, bad = 0, pclusters = 0;

	CHECK(enc && enc2);
	/* the fill does not depend on the level; the lowest is the quickest */
	CHECK(!erofs_zctx_init(&c, ops, ops->min_level, 20));
	CHECK(!erofs_zctx_init(&c2, ops, ops->min_level, 20));
	if (!enc || !enc2)
		return;
	erofs_zctx_reset(&c);
	while (pos < INPUT_SIZE) {
		uint32_t in = INPUT_SIZE - pos < MAX_EXTENT ?
			      INPUT_SIZE - pos : MAX_EXTENT, in2 = in;
		uint32_t ratio = c.ratio_x16;
		int n = erofs_zctx_compress(&c, src + pos, &in, enc, cap);
		int n2;

		pclusters++;
		if (n <= 0) {
			/* stored raw: a pcluster's worth of input */
			raw++;
			pos += cap;
			continue;
		}
		if ((uint32_t)n > cap || !in || in > MAX_EXTENT ||
		    decode(algo, enc, n, dec, in) != (long)in ||
		    memcmp(dec, src + pos, in))
			bad++;
		/* the same call again, from another context in the same state */
		c2.ratio_x16 = ratio;
		n2 = erofs_zctx_compress(&c2, src + pos, &in2, enc2, cap);
		if (n2 != n || in2 != in || memcmp(enc, enc2, n))
			bad++;
		pos += in;
	}
	if (bad || (raw && pat != RANDOM && pat != TEXT_RANDOM_TEXT))
		fprintf(stderr, "%s, pcluster %u, %s: %llu of %llu pclusters bad, %llu raw\n",
			ops->name, cap, pattern_names[pat],
			(unsigned long long)bad, (unsigned long long)pclusters,
			(unsigned long long)raw);
	CHECK(!bad);
	/* zeros and text always shrink, whatever came before them */
	if (pat != RANDOM && pat != TEXT_RANDOM_TEXT)
		CHECK(!raw);
	erofs_zctx_exit(&c);
	erofs_zctx_exit(&c2);
	free(enc);
	free(enc2);
}

int main(void)
{
	static const unsigned int algos[] = {
		EROFS_COMPR_LZ4, EROFS_COMPR_LZ4HC, EROFS_COMPR_ZSTD,
		EROFS_COMPR_DEFLATE,
	};
	static const uint32_t caps[] = { 4096, 65536, 131072, 1u << 20 };
	uint8_t *src = malloc(INPUT_SIZE), *dec = malloc(MAX_EXTENT);
	unsigned int a, k, p;

	CHECK(src && dec);
	if (!src || !dec)
		return unit_done("zfill_test");
	for (p = 0; p < NR_PATTERNS; p++) {
		make_input(src, p);
		for (a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
			const struct erofs_compressor *ops =
				erofs_compressor_get(algos[a]);

			if (!ops || !ops->name)
				continue;	/* not in this build */
			for (k = 0; k < sizeof(caps) / sizeof(caps[0]); k++)
				run(algos[a], caps[k], p, src, dec);
		}
	}
	free(src);
	free(dec);
	return unit_done("zfill_test");
}
