// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * DEFLATE through zlib: raw streams (no zlib or gzip header) with a 32 KiB
 * window, one per pcluster.
 */
#include "compress.h"

#ifdef HAVE_ZLIB
#include <stdlib.h>
#include <zlib.h>

static int deflate_init_ctx(struct erofs_zctx *c)
{
	z_stream *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	if (deflateInit2(z, c->level, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return -ENOMEM;
	}
	c->priv = z;
	return 0;
}

static void deflate_exit_ctx(struct erofs_zctx *c)
{
	if (c->priv)
		deflateEnd(c->priv);
	free(c->priv);
	c->priv = NULL;
}

static int deflate_whole(struct erofs_zctx *c, const void *src,
			 uint32_t srclen, void *dst, uint32_t cap)
{
	z_stream *z = c->priv;
	int ret;

	if (deflateReset(z) != Z_OK)
		return -EIO;
	z->next_in = (Bytef *)src;
	z->avail_in = srclen;
	z->next_out = dst;
	z->avail_out = cap;
	ret = deflate(z, Z_FINISH);
	if (ret != Z_STREAM_END)
		return -EIO;
	return cap - z->avail_out;
}

static uint32_t deflate_bound_len(uint32_t srclen)
{
	/* zlib's bound for raw streams, with room to spare */
	return srclen + (srclen >> 12) + (srclen >> 14) + (srclen >> 25) + 64;
}

const struct erofs_compressor erofs_compressor_deflate = {
	.name = "deflate",
	.alg = Z_EROFS_COMPRESSION_DEFLATE,
	.min_level = 1,
	.max_level = 9,
	.default_level = 6,
	.init = deflate_init_ctx,
	.exit = deflate_exit_ctx,
	.whole = deflate_whole,
	.bound = deflate_bound_len,
};
#else
const struct erofs_compressor erofs_compressor_deflate = { .name = NULL };
#endif
