// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Zstandard: one standard frame per pcluster.  The window is bounded (the
 * superblock's config record tells readers how large a window to expect),
 * so an extent longer than the window still decodes with that window; for
 * small pclusters the library picks a smaller one still, from the size
 * hint below.
 */
#include "compress.h"

#ifdef HAVE_LIBZSTD
/* for ZSTD_c_srcSizeHint only: a parameter id, set through the stable API */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

static int zstd_init(struct erofs_zctx *c)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();

	if (!cc)
		return -ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
						c->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog,
						c->windowlog)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0))) {
		ZSTD_freeCCtx(cc);
		return -EINVAL;
	}
	c->priv = cc;
	return 0;
}

static void zstd_exit(struct erofs_zctx *c)
{
	ZSTD_freeCCtx(c->priv);
	c->priv = NULL;
}

/*
 * Fills a pcluster in one pass.  The input goes in as slices, each ended
 * by a flush, so every slice boundary is a point where the frame can be
 * closed.  When a slice overflows the pcluster, the frame is cut back to
 * the last boundary and closed there with an empty last block, the bytes
 * the library itself writes when a frame ends with nothing pending.  Each
 * slice after the first is half the input the remaining room is expected to
 * take, so what is compressed for nothing is at most one small slice.
 *
 * The first slice is 3/4 of what the ratio seen last says the pcluster
 * holds.  If even that overflows (the data turned less compressible, say
 * after a run of zeros), the pcluster holds less than the slice, and the
 * next try starts from 3/8 of it; the library stops at a full output
 * buffer, so a try costs about one pcluster's worth of work.
 */
#define ZSTD_LAST_EMPTY_BLOCK	3
#define ZSTD_MIN_SLICE		512
#define ZSTD_HINT_RATIO		3

static int zstd_destsize(struct erofs_zctx *c, const void *src,
			 uint32_t *srclen, void *dst, uint32_t cap)
{
	static const uint8_t last_empty[ZSTD_LAST_EMPTY_BLOCK] = { 1, 0, 0 };
	ZSTD_CCtx *cc = c->priv;
	const uint32_t avail = *srclen;
	size_t good_in = 0, good_out = 0;
	uint64_t first;
	int hint;

	if (cap <= ZSTD_LAST_EMPTY_BLOCK + 16 || !avail)
		return 0;
	/*
	 * The library picks its parameters from the source size.  Told the
	 * real size of each piece, it gives a file's short last piece the
	 * slow strategies it keeps for small inputs (a fifth more CPU time on
	 * kernel sources, for 1% in size); told the same size for every
	 * pcluster, it uses one set of parameters throughout the image.  It
	 * is only a hint: a library that refuses it still compresses.
	 */
	hint = (int)min_t(uint64_t, (uint64_t)cap * ZSTD_HINT_RATIO, INT_MAX);
	first = (uint64_t)cap * c->ratio_x16 / 16 * 3 / 4;
	for (;;) {
		ZSTD_outBuffer out = { dst, cap - ZSTD_LAST_EMPTY_BLOCK, 0 };
		ZSTD_inBuffer in = { src, 0, 0 };
		uint64_t now = 0;

		first = clamp_t(uint64_t, first, ZSTD_MIN_SLICE, avail);
		if (ZSTD_isError(ZSTD_CCtx_reset(cc, ZSTD_reset_session_only)))
			return -EIO;
		ZSTD_CCtx_setParameter(cc, ZSTD_c_srcSizeHint, hint);
		while (in.pos < avail) {
			uint64_t room = out.size - out.pos, slice;
			size_t left;

			if (good_out && room < cap / 64)
				break;
			slice = good_out ? room * now / 32 : first;
			slice = clamp_t(uint64_t, slice, ZSTD_MIN_SLICE,
					avail - in.pos);
			in.size = in.pos + slice;
			do {
				left = ZSTD_compressStream2(cc, &out, &in,
							    ZSTD_e_flush);
				if (ZSTD_isError(left))
					return -EIO;
			} while (left && out.pos < out.size);
			if (left || in.pos != in.size)
				break;		/* overflowed: keep what fitted */
			good_in = in.pos;
			good_out = out.pos;
			now = max_t(uint64_t, (uint64_t)good_in * 16 / good_out,
				    1);
		}
		if (good_out || first == min_t(uint64_t, ZSTD_MIN_SLICE, avail))
			break;
		first = first * 3 / 8;
	}
	if (!good_out) {
		c->ratio_x16 = 16;
		return 0;
	}
	memcpy((uint8_t *)dst + good_out, last_empty, sizeof(last_empty));
	good_out += sizeof(last_empty);
	c->ratio_x16 = clamp_t(uint64_t, (uint64_t)good_in * 16 / good_out, 8,
			       16 * 1024);
	*srclen = good_in;
	return good_out;
}

const struct erofs_compressor erofs_compressor_zstd = {
	.name = "zstd",
	.alg = Z_EROFS_COMPRESSION_ZSTD,
	.min_level = 1,
	.max_level = 22,
	.default_level = 3,
	.init = zstd_init,
	.exit = zstd_exit,
	.destsize = zstd_destsize,
};
#else
const struct erofs_compressor erofs_compressor_zstd = { .name = NULL };
#endif
