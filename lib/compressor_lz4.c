// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * LZ4 and LZ4HC: raw LZ4 blocks, filled to a fixed output size by the
 * library itself (the destSize entry points).
 */
#include <stdlib.h>

#include "compress.h"

#ifdef HAVE_LIBLZ4
#include <lz4.h>
#include <lz4hc.h>

static int lz4_destsize(struct erofs_zctx *c, const void *src, uint32_t *srclen,
			void *dst, uint32_t cap)
{
	int in = *srclen > INT32_MAX ? INT32_MAX : (int)*srclen;
	int out = LZ4_compress_destSize(src, dst, &in, cap);

	if (out <= 0)
		return 0;
	*srclen = in;
	return out;
}

static int lz4hc_init(struct erofs_zctx *c)
{
	c->priv = malloc(LZ4_sizeofStateHC());
	return c->priv ? 0 : -ENOMEM;
}

static void lz4hc_exit(struct erofs_zctx *c)
{
	free(c->priv);
	c->priv = NULL;
}

static int lz4hc_destsize(struct erofs_zctx *c, const void *src,
			  uint32_t *srclen, void *dst, uint32_t cap)
{
	int in = *srclen > INT32_MAX ? INT32_MAX : (int)*srclen;
	int out = LZ4_compress_HC_destSize(c->priv, src, dst, &in, cap,
					   c->level);

	if (out <= 0)
		return 0;
	*srclen = in;
	return out;
}

const struct erofs_compressor erofs_compressor_lz4 = {
	.name = "lz4",
	.alg = Z_EROFS_COMPRESSION_LZ4,
	.destsize = lz4_destsize,
};

const struct erofs_compressor erofs_compressor_lz4hc = {
	.name = "lz4hc",
	.alg = Z_EROFS_COMPRESSION_LZ4,
	.min_level = 1,
	.max_level = LZ4HC_CLEVEL_MAX,
	.default_level = LZ4HC_CLEVEL_DEFAULT,
	.init = lz4hc_init,
	.exit = lz4hc_exit,
	.destsize = lz4hc_destsize,
};
#else
const struct erofs_compressor erofs_compressor_lz4 = { .name = NULL };
const struct erofs_compressor erofs_compressor_lz4hc = { .name = NULL };
#endif
