// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * libFuzzer target for the validating reader: the input is an image in
 * memory.  It is opened, walked from the root with every check, and every
 * inode reached is exercised through the public calls: all its bytes read
 * (holes included, within a budget), its xattrs listed, its symlink read,
 * each directory entry looked up again by name, and a few paths resolved.
 * Nothing may crash, leak or trip a sanitizer, whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "erofs/reader.h"
#include "fuzz_common.h"

#define FUZZ_READ_BUDGET	(32u << 20)

struct fuzz_ctx {
	struct erofs_rd *rd;
	uint8_t *buf;
	uint64_t budget;
};

struct fuzz_dir {
	struct erofs_rd_inode dir;
};

static int fuzz_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	volatile uint8_t sink = 0;
	unsigned int i;

	for (i = 0; i < xa->value_size; i++)
		sink ^= xa->value[i];
	sink ^= (uint8_t)xa->name[xa->namelen];
	(void)sink;
	return 0;
}

static void fuzz_inode(struct fuzz_ctx *c, const struct erofs_rd_inode *vi)
{
	uint64_t off = 0;
	char target[4096];

	erofs_rd_xattrs(c->rd, vi, fuzz_xattr, NULL);
	if (S_ISLNK(vi->mode))
		erofs_rd_readlink(c->rd, vi, target, sizeof(target));
	while (off < vi->size && c->budget) {
		uint64_t n = vi->size - off;

		if (n > 65536)
			n = 65536;
		if (n > c->budget)
			n = c->budget;
		if (erofs_rd_pread(c->rd, vi, c->buf, n, off))
			break;
		c->budget -= n;
		off += n;
	}
}

static void fuzz_lookup(struct fuzz_ctx *c, void *parent, const char *name,
			unsigned int namelen)
{
	struct fuzz_dir *d = parent;
	uint64_t nid;

	if (d)
		erofs_rd_lookup_one(c->rd, &d->dir, name, namelen, &nid);
}

static int fuzz_enter(void *priv, void *parent, const char *name,
		      unsigned int namelen, const struct erofs_rd_inode *dir,
		      void **child)
{
	struct fuzz_ctx *c = priv;
	struct fuzz_dir *d = malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->dir = *dir;
	fuzz_inode(c, dir);
	fuzz_lookup(c, parent, name, namelen);
	*child = d;
	return 0;
}

static int fuzz_leave(void *priv, void *ctx, const struct erofs_rd_inode *dir)
{
	free(ctx);
	return 0;
}

static int fuzz_entry(void *priv, void *parent, const char *name,
		      unsigned int namelen, const struct erofs_rd_inode *vi,
		      bool first)
{
	struct fuzz_ctx *c = priv;

	if (first)
		fuzz_inode(c, vi);
	fuzz_lookup(c, parent, name, namelen);
	return 0;
}

static const struct erofs_rd_walk_ops fuzz_ops = {
	.enter_dir = fuzz_enter,
	.leave_dir = fuzz_leave,
	.entry = fuzz_entry,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = fuzz_fix_csum(data, size);
	struct erofs_rd_opts o = { .mem = fixed ? fixed : data, .memsize = size };
	struct fuzz_ctx c = { .budget = FUZZ_READ_BUDGET };
	struct erofs_rd_stats st;
	struct erofs_rd_inode vi;
	static const char *const paths[] = { "/", "a", "/a/b", "..", "./..", "x/y/z" };
	unsigned int i;

	if (erofs_rd_open(&c.rd, &o)) {
		free(fixed);
		return 0;
	}
	c.buf = malloc(65536);
	if (c.buf) {
		erofs_rd_check(c.rd, EROFS_RD_CHECK_KEEP_GOING | EROFS_RD_CHECK_READ_DATA,
			       &fuzz_ops, &c, &st);
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			if (!erofs_rd_lookup(c.rd, paths[i], &vi))
				fuzz_inode(&c, &vi);
		for (i = 0; i < 4; i++)
			if (!erofs_rd_iget(c.rd, erofs_rd_sb(c.rd)->root_nid + i, &vi))
				fuzz_inode(&c, &vi);
	}
	free(c.buf);
	erofs_rd_close(c.rd);
	free(fixed);
	return 0;
}
