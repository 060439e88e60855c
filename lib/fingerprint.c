// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Per-file fingerprints: which digests may be used, and the value format
 * shared with Linux's page-cache sharing: the algorithm's name, a colon,
 * then the raw digest of the file's whole logical content.
 */
#include <stdlib.h>
#include <openssl/evp.h>

#include "internal.h"
#include "fingerprint.h"
#include "erofs/xattr.h"

static const char *const fp_algos[] = {
	"sha256", "sha512", "sha3-256", "blake2b512",
};

bool erofs_fingerprint_algo_ok(const char *algo)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fp_algos); i++)
		if (!strcmp(algo, fp_algos[i]))
			return EVP_get_digestbyname(algo) != NULL;
	return false;
}

int erofs_fingerprint_setup(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	const char *name = o->fp_name ? o->fp_name :
			   EROFS_FINGERPRINT_DEFAULT_NAME;
	size_t len = strlen(name), plen;
	uint8_t idx;

	b->fp_prefix = -1;
	if (!o->fp_algo)
		return 0;
	if (!erofs_fingerprint_algo_ok(o->fp_algo)) {
		erofs_err(b, "cannot use fingerprint algorithm '%s': not supported",
			  o->fp_algo);
		return -EINVAL;
	}
	b->fp_md = EVP_get_digestbyname(o->fp_algo);
	/* a name in a known namespace uses its index; others are hidden */
	plen = erofs_xattr_split(name, len, &idx);
	if (!plen || idx == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
	    idx == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT) {
		idx = 0;
		plen = 0;
	}
	if (!len || len - plen > EROFS_NAME_LEN) {
		erofs_err(b, "cannot use fingerprint name '%s': %s", name,
			  len ? "longer than 255 bytes after its namespace" :
				"empty");
		return -EINVAL;
	}
	b->fp_base = idx;
	b->fp_infix = name + plen;
	b->fp_infix_len = len - plen;
	return 0;
}

uint16_t erofs_fingerprint_size(const struct erofs_build *b)
{
	return strlen(b->opts->fp_algo) + 1 + EVP_MD_get_size(b->fp_md);
}

int erofs_fingerprint_init(const struct erofs_build *b, void **ctx)
{
	EVP_MD_CTX *c = *ctx;

	if (!c) {
		c = EVP_MD_CTX_new();
		if (!c)
			return -ENOMEM;
		*ctx = c;
	}
	return EVP_DigestInit_ex(c, b->fp_md, NULL) ? 0 : -EINVAL;
}

int erofs_fingerprint_update(void *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx, data, len) ? 0 : -EINVAL;
}

/* holes read as zeros: feed them without a buffer of their size */
int erofs_fingerprint_zeros(void *ctx, uint64_t len)
{
	static const uint8_t zeros[16384];

	while (len) {
		size_t n = min_t(uint64_t, len, sizeof(zeros));

		if (!EVP_DigestUpdate(ctx, zeros, n))
			return -EINVAL;
		len -= n;
	}
	return 0;
}

int erofs_fingerprint_final(const struct erofs_build *b, void *ctx,
			    struct erofs_inode *inode)
{
	size_t tlen = strlen(b->opts->fp_algo);
	unsigned int dlen;

	inode->fp_value = malloc(inode->fp_size);
	if (!inode->fp_value)
		return -ENOMEM;
	memcpy(inode->fp_value, b->opts->fp_algo, tlen);
	inode->fp_value[tlen] = ':';
	if (!EVP_DigestFinal_ex(ctx, inode->fp_value + tlen + 1, &dlen) ||
	    tlen + 1 + dlen != inode->fp_size)
		return -EINVAL;
	return 0;
}

void erofs_fingerprint_free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}
