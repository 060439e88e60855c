// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Decoding compressed extents: the codecs behind one call (lz4 and lz4hc
 * share LZ4's block format; MicroLZMA; raw DEFLATE; zstd frames), the raw
 * forms (shifted and interlaced), the zero padding in front of an encoded
 * stream, and fragments read from the packed inode.  Each codec must
 * produce exactly the extent's length, or a prefix of its output when the
 * extent is a partial reference; a codec left out of the build is
 * -EOPNOTSUPP with its name, never a silent fallback.
 */
#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_LIBLZ4
#include <lz4.h>
#endif
#ifdef HAVE_LIBZSTD
#include <zstd.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef HAVE_LIBLZMA
#include <lzma.h>
#endif

#include "rd.h"

const char *erofs_rd_alg_name(unsigned int alg)
{
	static const char *const names[] = { "lz4", "lzma", "deflate", "zstd" };

	return alg < ARRAY_SIZE(names) ? names[alg] : NULL;
}

const char *erofs_rd_fmt_name(unsigned int fmt)
{
	switch (fmt) {
	case EROFS_RD_FMT_SHIFTED:
		return "shifted";
	case EROFS_RD_FMT_INTERLACED:
		return "interlaced";
	}
	return erofs_rd_alg_name(fmt) ? erofs_rd_alg_name(fmt) : "unknown";
}

static int zbad(struct erofs_rd *rd, const char *what, const char *alg,
		const char *why)
{
	return erofs_rd_corrupt(rd, "%s: %s data does not decode: %s", what, alg, why);
}

static int __attribute__((unused)) zmissing(struct erofs_rd *rd, const char *what, const char *alg)
{
	erofs_rd_msg(rd, EROFS_RD_ERR,
		     "%s: %s decompression is not built into this version", what, alg);
	return -EOPNOTSUPP;
}

static int zlz4(struct erofs_rd *rd, const uint8_t *in, size_t inlen, uint8_t *out,
		size_t outlen, bool partial, const char *what)
{
#ifdef HAVE_LIBLZ4
	char why[64];
	int r;

	if (inlen > INT32_MAX || outlen > INT32_MAX)
		return zbad(rd, what, "lz4", "too large");
	if (partial)
		r = LZ4_decompress_safe_partial((const char *)in, (char *)out, inlen,
						outlen, outlen);
	else
		r = LZ4_decompress_safe((const char *)in, (char *)out, inlen, outlen);
	if (r < 0)
		return zbad(rd, what, "lz4", "malformed stream");
	if ((size_t)r != outlen) {
		snprintf(why, sizeof(why), "%d bytes instead of %zu", r, outlen);
		return zbad(rd, what, "lz4", why);
	}
	return 0;
#else
	return zmissing(rd, what, "lz4");
#endif
}

static int zzstd(struct erofs_rd *rd, const uint8_t *in, size_t inlen, uint8_t *out,
		 size_t outlen, bool partial, const char *what)
{
#ifdef HAVE_LIBZSTD
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };
	char why[96];
	size_t r;
	int err = 0;

	if (!dctx)
		return -ENOMEM;
	if (!partial) {
		r = ZSTD_decompressDCtx(dctx, out, outlen, in, inlen);
		if (ZSTD_isError(r)) {
			err = zbad(rd, what, "zstd", ZSTD_getErrorName(r));
		} else if (r != outlen) {
			snprintf(why, sizeof(why), "%zu bytes instead of %zu", r, outlen);
			err = zbad(rd, what, "zstd", why);
		}
		goto out;
	}
	while (ob.pos < ob.size) {
		size_t before = ib.pos + ob.pos;

		r = ZSTD_decompressStream(dctx, &ob, &ib);
		if (ZSTD_isError(r)) {
			err = zbad(rd, what, "zstd", ZSTD_getErrorName(r));
			goto out;
		}
		if (ib.pos + ob.pos == before)
			break;	/* no progress: the input ran out */
	}
	if (ob.pos != outlen) {
		snprintf(why, sizeof(why), "%zu bytes, fewer than the %zu referenced",
			 ob.pos, outlen);
		err = zbad(rd, what, "zstd", why);
	}
out:
	ZSTD_freeDCtx(dctx);
	return err;
#else
	return zmissing(rd, what, "zstd");
#endif
}

static int zdeflate(struct erofs_rd *rd, const uint8_t *in, size_t inlen, uint8_t *out,
		    size_t outlen, bool partial, const char *what)
{
#ifdef HAVE_ZLIB
	z_stream s;
	char why[96];
	int r, err = 0;

	if (inlen > UINT32_MAX || outlen > UINT32_MAX)
		return zbad(rd, what, "deflate", "too large");
	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, -15) != Z_OK)
		return -ENOMEM;
	s.next_in = (Bytef *)in;
	s.avail_in = inlen;
	s.next_out = out;
	s.avail_out = outlen;
	r = inflate(&s, Z_FINISH);
	if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_STREAM_ERROR) {
		err = zbad(rd, what, "deflate", s.msg ? s.msg : "malformed stream");
	} else if (r == Z_MEM_ERROR) {
		err = -ENOMEM;
	} else if (partial ? s.total_out != outlen :
		   r != Z_STREAM_END || s.total_out != outlen) {
		snprintf(why, sizeof(why), "%s%lu bytes for an extent of %zu",
			 r == Z_STREAM_END ? "" : "more than ", s.total_out, outlen);
		err = zbad(rd, what, "deflate", why);
	}
	inflateEnd(&s);
	return err;
#else
	return zmissing(rd, what, "deflate");
#endif
}

static int zlzma(struct erofs_rd *rd, const uint8_t *in, size_t inlen, uint8_t *out,
		 size_t outlen, bool partial, const char *what)
{
#ifdef HAVE_LIBLZMA
	lzma_stream s = LZMA_STREAM_INIT;
	uint32_t dict = rd->lzma_dictsize < 4096 ? 4096 : rd->lzma_dictsize;
	lzma_ret r;
	char why[96];
	int err = 0;

	r = lzma_microlzma_decoder(&s, inlen, outlen, !partial, dict);
	if (r == LZMA_MEM_ERROR)
		return -ENOMEM;
	if (r != LZMA_OK)
		return zbad(rd, what, "lzma", "the decoder refuses the parameters");
	s.next_in = in;
	s.avail_in = inlen;
	s.next_out = out;
	s.avail_out = outlen;
	do {
		r = lzma_code(&s, LZMA_FINISH);
	} while (r == LZMA_OK && s.avail_out);
	if (r == LZMA_MEM_ERROR) {
		err = -ENOMEM;
	} else if (r != LZMA_STREAM_END && !(partial && r == LZMA_OK)) {
		snprintf(why, sizeof(why), "liblzma error %d", (int)r);
		err = zbad(rd, what, "lzma", why);
	} else if (s.total_out != outlen) {
		snprintf(why, sizeof(why), "%llu bytes instead of %zu",
			 (unsigned long long)s.total_out, outlen);
		err = zbad(rd, what, "lzma", why);
	}
	lzma_end(&s);
	return err;
#else
	return zmissing(rd, what, "lzma");
#endif
}

int erofs_rd_zcodec(struct erofs_rd *rd, unsigned int alg, const uint8_t *in,
		    size_t inlen, uint8_t *out, size_t outlen, bool partial,
		    const char *what)
{
	switch (alg) {
	case EROFS_RD_FMT_LZ4:
		return zlz4(rd, in, inlen, out, outlen, partial, what);
	case EROFS_RD_FMT_LZMA:
		return zlzma(rd, in, inlen, out, outlen, partial, what);
	case EROFS_RD_FMT_DEFLATE:
		return zdeflate(rd, in, inlen, out, outlen, partial, what);
	case EROFS_RD_FMT_ZSTD:
		return zzstd(rd, in, inlen, out, outlen, partial, what);
	}
	return -EINVAL;
}

static int zgrow(uint8_t **buf, size_t *cap, size_t want)
{
	uint8_t *p;

	if (want <= *cap)
		return 0;
	p = realloc(*buf, want);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = want;
	return 0;
}

/* the packed inode, read and checked once */
int erofs_rd_packed(struct erofs_rd *rd, const struct erofs_rd_inode **packed)
{
	struct erofs_rd_inode *pi;
	int err;

	if (!rd->packed) {
		if (!rd->sb.packed_nid)
			return erofs_rd_corrupt(rd, "a fragment, but the superblock names no packed inode");
		pi = malloc(sizeof(*pi));
		if (!pi)
			return -ENOMEM;
		err = erofs_rd_iget(rd, rd->sb.packed_nid, pi);
		if (!err && !S_ISREG(pi->mode))
			err = erofs_rd_corrupt(rd, "packed inode nid %llu is not a regular file",
					       (unsigned long long)pi->nid);
		if (!err && pi->z_fragment)
			err = erofs_rd_corrupt(rd, "packed inode nid %llu keeps its own data in fragments",
					       (unsigned long long)pi->nid);
		if (err) {
			free(pi);
			return err;
		}
		rd->packed = pi;
	}
	*packed = rd->packed;
	return 0;
}

int erofs_rd_fragment_check(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
			    const struct erofs_rd_map *map)
{
	const struct erofs_rd_inode *packed;
	int err;

	err = erofs_rd_packed(rd, &packed);
	if (err)
		return err;
	if (map->fragoff > packed->size || map->len > packed->size - map->fragoff)
		return erofs_rd_corrupt(rd,
			"nid %llu (offset 0x%llx): fragment of %llu bytes at %llu is past the end of the packed inode (%llu bytes)",
			(unsigned long long)vi->nid, (unsigned long long)vi->iloc,
			(unsigned long long)map->len, (unsigned long long)map->fragoff,
			(unsigned long long)packed->size);
	return 0;
}

int erofs_rd_decode(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		    const struct erofs_rd_map *map, uint8_t *out)
{
	uint64_t len = map->len, plen = map->plen, first, c, skip;
	const struct erofs_rd_inode *packed;
	const uint8_t *in;
	char what[96];
	bool partial;
	int err;

	if (map->flags & EROFS_RD_MAP_FRAGMENT) {
		err = erofs_rd_fragment_check(rd, vi, map);
		if (err)
			return err;
		err = erofs_rd_packed(rd, &packed);
		if (err)
			return err;
		return erofs_rd_pread(rd, packed, out, len, map->fragoff);
	}
	if (!(map->flags & EROFS_RD_MAP_ENCODED))
		return -EINVAL;
	snprintf(what, sizeof(what), "nid %llu: extent %llu..%llu (%s at 0x%llx)",
		 (unsigned long long)vi->nid, (unsigned long long)map->la,
		 (unsigned long long)(map->la + len),
		 map->flags & EROFS_RD_MAP_INLINE ? "inline" : "pcluster",
		 (unsigned long long)map->pa);
	err = zgrow(&rd->zin, &rd->zin_cap, plen ? plen : 1);
	if (err)
		return err;
	err = erofs_rd_dev_read(rd, map->dev, rd->zin, plen, map->pa, what);
	if (err)
		return err;
	in = rd->zin;
	switch (map->fmt) {
	case EROFS_RD_FMT_SHIFTED:
		if (len > plen)
			return erofs_rd_corrupt(rd, "%s: %llu raw bytes in %llu", what,
						(unsigned long long)len,
						(unsigned long long)plen);
		memcpy(out, in, len);
		return 0;
	case EROFS_RD_FMT_INTERLACED:
		/* the pcluster's last c bytes come first, then its start */
		c = rd->bs - (map->la & (rd->bs - 1));
		if (len > plen)
			return erofs_rd_corrupt(rd, "%s: %llu interlaced bytes in %llu", what,
						(unsigned long long)len,
						(unsigned long long)plen);
		/*
		 * Rotated data needs the block it was rotated in; an inline tail
		 * shorter than that cannot hold it (readers would take bytes
		 * from before the tail).
		 */
		if (c > plen)
			return erofs_rd_corrupt(rd, "%s: interlaced raw data in %llu bytes, short of the %llu its rotation needs",
						what, (unsigned long long)plen,
						(unsigned long long)c);
		first = len < c ? len : c;
		memcpy(out, in + plen - c, first);
		memcpy(out + first, in, len - first);
		return 0;
	}
	partial = map->flags & EROFS_RD_MAP_PARTIAL;
	if (rd->zero_padding || map->fmt != EROFS_RD_FMT_LZ4) {
		/* the stream is right-aligned: zeros first, within one block */
		uint64_t scan = rd->bs - (map->pa & (rd->bs - 1));

		if (scan > plen)
			scan = plen;
		for (skip = 0; skip < scan && !in[skip]; skip++)
			;
		if (skip == scan)
			return erofs_rd_corrupt(rd, "%s: only zeros where the compressed data should start",
						what);
		in += skip;
		plen -= skip;
	} else {
		/* before zero padding, an LZ4 stream starts the pcluster */
		partial = true;
	}
	return erofs_rd_zcodec(rd, map->fmt, in, plen, out, len, partial, what);
}

/* the decoded bytes of an extent, from the one-extent cache when it has them */
int erofs_rd_zget(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		  const struct erofs_rd_map *map, const uint8_t **data)
{
	int err;

	/* a fragment decodes through the packed inode, which uses this cache */
	if (!(map->flags & EROFS_RD_MAP_ENCODED))
		return -EINVAL;
	if (rd->zout_nid == vi->nid && rd->zout_la == map->la &&
	    rd->zout_len == map->len) {
		*data = rd->zout;
		return 0;
	}
	rd->zout_nid = UINT64_MAX;
	err = zgrow(&rd->zout, &rd->zout_cap, map->len ? map->len : 1);
	if (err)
		return err;
	err = erofs_rd_decode(rd, vi, map, rd->zout);
	if (err)
		return err;
	rd->zout_nid = vi->nid;
	rd->zout_la = map->la;
	rd->zout_len = map->len;
	*data = rd->zout;
	return 0;
}

void erofs_rd_zfree(struct erofs_rd *rd)
{
	free(rd->packed);
	free(rd->zin);
	free(rd->zout);
	rd->packed = NULL;
	rd->zin = rd->zout = NULL;
	rd->zin_cap = rd->zout_cap = 0;
}
