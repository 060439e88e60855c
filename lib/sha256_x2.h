/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * SHA-256 of two equally long messages at once, each the same prefix
 * followed by its own data, for the level-0 digests of dm-verity trees.
 */
#ifndef EROFS_LIB_SHA256_X2_H
#define EROFS_LIB_SHA256_X2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the processor has what erofs_sha256_x2() needs */
bool erofs_sha256_x2_usable(void);

/* out_a = sha256(prefix || a), out_b = sha256(prefix || b) */
void erofs_sha256_x2(const uint8_t *prefix, size_t plen, const uint8_t *a,
		     const uint8_t *b, size_t len, uint8_t *out_a,
		     uint8_t *out_b);

#endif
