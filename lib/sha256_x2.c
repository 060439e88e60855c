// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * SHA-256 of two messages of the same length at once, with the x86 SHA
 * extensions.  One message keeps the SHA unit waiting on its own round
 * results; two interleaved keep it busy, which nearly halves the time per
 * hash tree block.  Only the dm-verity tree uses it: both messages are the
 * salt followed by a block.  Elsewhere, and on processors without the
 * extensions, erofs_sha256_x2_usable() says no and OpenSSL does the work.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sha256_x2.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define X2_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

bool erofs_sha256_x2_usable(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sha") &&
	       __builtin_cpu_supports("sse4.1") &&
	       __builtin_cpu_supports("ssse3");
}

/*
 * The SHA unit keeps the state as ABEF and CDGH (A in the top lane); the
 * message words are big-endian.
 */
X2_TARGET static inline void load_state(__m128i *abef, __m128i *cdgh)
{
	__m128i abcd = _mm_loadu_si128((const __m128i *)&H0[0]);
	__m128i efgh = _mm_loadu_si128((const __m128i *)&H0[4]);

	abcd = _mm_shuffle_epi32(abcd, 0xB1);		/* b a d c */
	efgh = _mm_shuffle_epi32(efgh, 0x1B);		/* h g f e */
	*abef = _mm_alignr_epi8(abcd, efgh, 8);		/* f e b a */
	*cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);	/* h g d c */
}

X2_TARGET static inline void store_digest(__m128i abef, __m128i cdgh,
					  uint8_t *out)
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11,
					   4, 5, 6, 7, 0, 1, 2, 3);
	__m128i t = _mm_shuffle_epi32(abef, 0x1B);	/* a b e f */
	__m128i u = _mm_shuffle_epi32(cdgh, 0xB1);	/* g h c d */
	__m128i abcd = _mm_blend_epi16(t, u, 0xF0);
	__m128i efgh = _mm_alignr_epi8(u, t, 8);

	_mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(abcd, bswap));
	_mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(efgh, bswap));
}

/* one 64-byte block of each message */
X2_TARGET static inline void compress_x2(__m128i st[4], const uint8_t *pa,
					 const uint8_t *pb)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
					     0x0405060700010203ULL);
	__m128i wa[4], wb[4], ma, mb, k;
	__m128i sa0 = st[0], sa1 = st[1], sb0 = st[2], sb1 = st[3];
	int g;

	for (g = 0; g < 4; g++) {
		wa[g] = _mm_shuffle_epi8(
			_mm_loadu_si128((const __m128i *)(pa + 16 * g)), bswap);
		wb[g] = _mm_shuffle_epi8(
			_mm_loadu_si128((const __m128i *)(pb + 16 * g)), bswap);
	}
	/* 16 groups of 4 rounds; each group also makes the words 16 ahead */
	for (g = 0; g < 16; g++) {
		__m128i *xa = &wa[g & 3], *xb = &wb[g & 3];

		k = _mm_loadu_si128((const __m128i *)&K[4 * g]);
		ma = _mm_add_epi32(*xa, k);
		mb = _mm_add_epi32(*xb, k);
		sa1 = _mm_sha256rnds2_epu32(sa1, sa0, ma);
		sb1 = _mm_sha256rnds2_epu32(sb1, sb0, mb);
		ma = _mm_shuffle_epi32(ma, 0x0E);
		mb = _mm_shuffle_epi32(mb, 0x0E);
		sa0 = _mm_sha256rnds2_epu32(sa0, sa1, ma);
		sb0 = _mm_sha256rnds2_epu32(sb0, sb1, mb);
		if (g < 12) {
			/* W[t-16] + s0(W[t-15]) + W[t-7], then s1(W[t-2]) */
			__m128i na = _mm_sha256msg1_epu32(*xa, wa[(g + 1) & 3]);
			__m128i nb = _mm_sha256msg1_epu32(*xb, wb[(g + 1) & 3]);

			na = _mm_add_epi32(na, _mm_alignr_epi8(wa[(g + 3) & 3],
							       wa[(g + 2) & 3], 4));
			nb = _mm_add_epi32(nb, _mm_alignr_epi8(wb[(g + 3) & 3],
							       wb[(g + 2) & 3], 4));
			*xa = _mm_sha256msg2_epu32(na, wa[(g + 3) & 3]);
			*xb = _mm_sha256msg2_epu32(nb, wb[(g + 3) & 3]);
		}
	}
	st[0] = _mm_add_epi32(st[0], sa0);
	st[1] = _mm_add_epi32(st[1], sa1);
	st[2] = _mm_add_epi32(st[2], sb0);
	st[3] = _mm_add_epi32(st[3], sb1);
}

/* block j of prefix || data with SHA-256's padding, where it is not whole */
static void fill_block(uint8_t *blk, uint64_t j, const uint8_t *prefix,
		       size_t plen, const uint8_t *data, size_t total,
		       uint64_t nblocks)
{
	uint64_t pos = j * 64, bits = (uint64_t)total * 8;
	unsigned int i;

	for (i = 0; i < 64; i++, pos++) {
		if (pos < plen)
			blk[i] = prefix[pos];
		else if (pos < total)
			blk[i] = data[pos - plen];
		else
			blk[i] = pos == total ? 0x80 : 0;
	}
	if (j == nblocks - 1)
		for (i = 0; i < 8; i++)
			blk[63 - i] = bits >> (8 * i);
}

X2_TARGET void erofs_sha256_x2(const uint8_t *prefix, size_t plen,
			       const uint8_t *a, const uint8_t *b, size_t len,
			       uint8_t *out_a, uint8_t *out_b)
{
	size_t total = plen + len;
	uint64_t nblocks = (total + 8) / 64 + 1, j;
	uint8_t ta[64], tb[64];
	__m128i st[4];

	load_state(&st[0], &st[1]);
	st[2] = st[0];
	st[3] = st[1];
	for (j = 0; j < nblocks; j++) {
		uint64_t pos = j * 64;

		if (pos >= plen && pos + 64 <= total) {
			compress_x2(st, a + (pos - plen), b + (pos - plen));
			continue;
		}
		fill_block(ta, j, prefix, plen, a, total, nblocks);
		fill_block(tb, j, prefix, plen, b, total, nblocks);
		compress_x2(st, ta, tb);
	}
	store_digest(st[0], st[1], out_a);
	store_digest(st[2], st[3], out_b);
}

#else

bool erofs_sha256_x2_usable(void)
{
	return false;
}

void erofs_sha256_x2(const uint8_t *prefix, size_t plen, const uint8_t *a,
		     const uint8_t *b, size_t len, uint8_t *out_a,
		     uint8_t *out_b)
{
}

#endif
