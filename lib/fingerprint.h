/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Fingerprint digests for the writer: set-up from the options, and a
 * digest context per worker fed with each file's content in order.
 */
#ifndef EROFS_LIB_FINGERPRINT_H
#define EROFS_LIB_FINGERPRINT_H

#include "internal.h"

int erofs_fingerprint_setup(struct erofs_build *b);
uint16_t erofs_fingerprint_size(const struct erofs_build *b);
int erofs_fingerprint_init(const struct erofs_build *b, void **ctx);
int erofs_fingerprint_update(void *ctx, const void *data, size_t len);
int erofs_fingerprint_zeros(void *ctx, uint64_t len);
int erofs_fingerprint_final_to(const struct erofs_build *b, void *ctx,
			       uint8_t **out);
int erofs_fingerprint_final(const struct erofs_build *b, void *ctx,
			    struct erofs_inode *inode);
void erofs_fingerprint_free_ctx(void *ctx);
int erofs_fingerprint_apply_map(struct erofs_build *b);
struct erofs_inode *erofs_lookup_path(const struct erofs_build *b,
				      const char *path, size_t len);

#endif
