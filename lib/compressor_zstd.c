// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Zstandard: one standard frame per pcluster.  The window is bounded (the
 * superblock's config record tells readers how large a window to expect),
 * so an extent longer than the window still decodes with that window.
 */
#include "compress.h"

#ifdef HAVE_LIBZSTD
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

static int zstd_whole(struct erofs_zctx *c, const void *src, uint32_t srclen,
		      void *dst, uint32_t cap)
{
	size_t n = ZSTD_compress2(c->priv, dst, cap, src, srclen);

	if (ZSTD_isError(n))
		return -EIO;
	return n;
}

static uint32_t zstd_bound(uint32_t srclen)
{
	return ZSTD_compressBound(srclen);
}

const struct erofs_compressor erofs_compressor_zstd = {
	.name = "zstd",
	.alg = Z_EROFS_COMPRESSION_ZSTD,
	.min_level = 1,
	.max_level = 22,
	.default_level = 3,
	.init = zstd_init,
	.exit = zstd_exit,
	.whole = zstd_whole,
	.bound = zstd_bound,
};
#else
const struct erofs_compressor erofs_compressor_zstd = { .name = NULL };
#endif
