// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * dm-verity trees: the tree's geometry against the kernel's level count; a small tree's root computed by hand from its
 * definition; the superblock round trip; and the check naming the block
 * that was changed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "unit.h"
#include "erofs/defs.h"
#include "erofs/verity.h"

static void sha256_2(const void *a, size_t alen, const void *b, size_t blen,
		     uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, a, alen);
	EVP_DigestUpdate(c, b, blen);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
}

static void test_geometry(void)
{
	struct erofs_verity_params p = { .data_bs = 4096, .hash_bs = 4096 };
	struct erofs_verity v;

	p.data_blocks = 1;
	CHECK(!erofs_verity_init(&v, &p));
	CHECK_EQ_U(v.levels, 0);
	CHECK_EQ_U(v.tree_size, 0);
	erofs_verity_release(&v);
	p.data_blocks = 128;
	CHECK(!erofs_verity_init(&v, &p));
	CHECK_EQ_U(v.levels, 1);
	CHECK_EQ_U(v.tree_size, 4096);
	erofs_verity_release(&v);
	p.data_blocks = 129;
	CHECK(!erofs_verity_init(&v, &p));
	CHECK_EQ_U(v.levels, 2);
	CHECK_EQ_U(v.level_blocks[0], 2);
	CHECK_EQ_U(v.level_blocks[1], 1);
	/* the top level first */
	CHECK_EQ_U(v.level_off[1], 0);
	CHECK_EQ_U(v.level_off[0], 4096);
	erofs_verity_release(&v);
	p.data_blocks = 319663;		/* a 1.2 GiB image */
	CHECK(!erofs_verity_init(&v, &p));
	CHECK_EQ_U(v.levels, 3);
	CHECK_EQ_U(v.level_blocks[0], 2498);
	CHECK_EQ_U(v.level_blocks[1], 20);
	CHECK_EQ_U(v.level_blocks[2], 1);
	erofs_verity_release(&v);
	p.data_bs = 1000;
	CHECK(erofs_verity_init(&v, &p) == -EINVAL);
	p.data_bs = 8192;
	CHECK(erofs_verity_init(&v, &p) == -EINVAL);
}

/*
 * 20 blocks of 512 bytes, 16 digests per hash block: level 0 has 2 blocks,
 * level 1 one; the root is sha256(salt || level-1 block).
 */
static void test_small_tree(void)
{
	struct erofs_verity_params p = {
		.data_bs = 512, .hash_bs = 512, .data_blocks = 20, .salt_size = 5,
		.salt = { 1, 2, 3, 4, 5 },
	};
	uint8_t data[20 * 512], l0[2][512] = { { 0 } }, l1[512] = { 0 }, root[32];
	uint8_t sbuf[EROFS_VERITY_SB_SIZE];
	struct erofs_verity_params q;
	struct erofs_verity_fault f;
	struct erofs_verity v, w;
	void *ctx = NULL;
	unsigned int k;

	fill(data, sizeof(data), 7);
	for (k = 0; k < 20; k++)
		sha256_2(p.salt, 5, data + k * 512, 512, &l0[k / 16][(k % 16) * 32]);
	sha256_2(p.salt, 5, l0[0], 512, l1);
	sha256_2(p.salt, 5, l0[1], 512, l1 + 32);
	sha256_2(p.salt, 5, l1, 512, root);

	CHECK(!erofs_verity_init(&v, &p));
	CHECK_EQ_U(v.levels, 2);
	/* in two calls, the second of an odd count */
	CHECK(!erofs_verity_hash_blocks(&v, &ctx, 0, data, 7));
	CHECK(erofs_verity_build(&v) == -EINVAL);
	CHECK(!erofs_verity_hash_blocks(&v, &ctx, 7, data + 7 * 512, 13));
	CHECK(!erofs_verity_build(&v));
	CHECK(!memcmp(v.root, root, 32));
	CHECK(!memcmp(v.tree, l1, 512));
	CHECK(!memcmp(v.tree + 512, l0, 1024));

	erofs_verity_sb_write(&v, sbuf);
	CHECK(!memcmp(sbuf, "verity\0\0", 8));
	CHECK(!erofs_verity_sb_read(sbuf, &q, NULL));
	CHECK_EQ_U(q.data_blocks, 20);
	CHECK_EQ_U(q.salt_size, 5);
	CHECK(!memcmp(q.salt, p.salt, 5));
	sbuf[0] = 'V';
	CHECK(erofs_verity_sb_read(sbuf, &q, NULL) == -ENOENT);

	/* the data changed in block 17: the stored tree no longer fits it */
	data[17 * 512 + 3] ^= 1;
	CHECK(!erofs_verity_init(&w, &p));
	CHECK(!erofs_verity_hash_blocks(&w, &ctx, 0, data, 20));
	CHECK(erofs_verity_check(&w, v.tree, root, &f) == -EBADMSG);
	CHECK_EQ_U(f.kind, EROFS_VERITY_BAD_DATA);
	CHECK_EQ_U(f.block, 17);
	CHECK_EQ_U(f.bad_data_blocks, 1);
	data[17 * 512 + 3] ^= 1;
	erofs_verity_release(&w);
	CHECK(!erofs_verity_init(&w, &p));
	CHECK(!erofs_verity_hash_blocks(&w, &ctx, 0, data, 20));
	CHECK(!erofs_verity_check(&w, v.tree, root, &f));
	/* a level-0 hash block changed: named with its level */
	v.tree[512 + 600] ^= 1;
	CHECK(erofs_verity_check(&w, v.tree, root, &f) == -EBADMSG);
	CHECK_EQ_U(f.kind, EROFS_VERITY_BAD_HASH);
	CHECK_EQ_U(f.level, 0);
	CHECK_EQ_U(f.block, 1);
	v.tree[512 + 600] ^= 1;
	root[0] ^= 1;
	CHECK(erofs_verity_check(&w, v.tree, root, &f) == -EBADMSG);
	CHECK_EQ_U(f.kind, EROFS_VERITY_BAD_ROOT);
	erofs_verity_release(&w);
	erofs_verity_release(&v);
	erofs_verity_ctx_free(ctx);
}

int main(void)
{
	test_geometry();
	test_small_tree();
	return unit_done("verity_test");
}
