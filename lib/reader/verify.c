// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Fingerprint verification: walks the image, finds each regular file's
 * fingerprint xattr (the long prefix the superblock names) and, when the
 * value is a digest this build knows, recomputes it from the file's data.
 */
#include <stdlib.h>
#include <stdio.h>
#include <openssl/evp.h>

#include "rd.h"

struct fp_verify {
	struct erofs_rd *rd;
	struct erofs_rd_fp_report *rep;
	char name[EROFS_NAME_LEN * 2 + 32];	/* the fingerprint's full name */
	size_t namelen;
	uint8_t value[4096];
	unsigned int value_size;
	bool found;
	uint8_t *buf;
	EVP_MD_CTX *ctx;
	int err;
};

static const char *const fp_algos[] = {
	"sha256", "sha512", "sha3-256", "blake2b512",
};

static int find_fp(void *priv, const struct erofs_rd_xattr *xa)
{
	struct fp_verify *v = priv;

	if (xa->namelen != v->namelen || memcmp(xa->name, v->name, v->namelen))
		return 0;
	v->found = true;
	v->value_size = min_t(unsigned int, xa->value_size, sizeof(v->value));
	memcpy(v->value, xa->value, v->value_size);
	return 1;
}

/* the digest a value names, if it is one this build can recompute */
static const EVP_MD *value_md(const uint8_t *val, unsigned int len,
			      unsigned int *tlen)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fp_algos); i++) {
		size_t n = strlen(fp_algos[i]);
		const EVP_MD *md;

		if (len <= n || memcmp(val, fp_algos[i], n) || val[n] != ':')
			continue;
		md = EVP_get_digestbyname(fp_algos[i]);
		if (md && len == n + 1 + (unsigned int)EVP_MD_get_size(md)) {
			*tlen = n + 1;
			return md;
		}
	}
	return NULL;
}

static char *join(const char *dir, const char *name, unsigned int len)
{
	size_t dl = strlen(dir);
	char *p = malloc(dl + len + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, len);
	p[dl + 1 + len] = '\0';
	return p;
}

static int fp_enter(void *priv, void *parent, const char *name,
		    unsigned int namelen, const struct erofs_rd_inode *dir,
		    void **child)
{
	*child = parent ? join(parent, name, namelen) : strdup("");
	return *child ? 0 : -ENOMEM;
}

static int fp_leave(void *priv, void *ctx, const struct erofs_rd_inode *dir)
{
	free(ctx);
	return 0;
}

static int fp_entry(void *priv, void *parent, const char *name,
		    unsigned int namelen, const struct erofs_rd_inode *inode,
		    bool first)
{
	struct fp_verify *v = priv;
	struct erofs_rd *rd = v->rd;
	uint8_t md[EVP_MAX_MD_SIZE];
	const EVP_MD *type;
	unsigned int tlen = 0, mdlen;
	uint64_t off;
	char *path;
	int err;

	if (!first || !S_ISREG(inode->mode) || !inode->size)
		return 0;
	v->rep->files++;
	v->found = false;
	err = erofs_rd_xattrs(rd, inode, find_fp, v);
	if (err < 0)
		return err;
	if (!v->found) {
		v->rep->missing++;
		return 0;
	}
	type = value_md(v->value, v->value_size, &tlen);
	if (!type) {
		v->rep->supplied++;
		return 0;
	}
	v->rep->computed++;
	if (!EVP_DigestInit_ex(v->ctx, type, NULL))
		return -EINVAL;
	for (off = 0; off < inode->size; ) {
		uint64_t n = min_t(uint64_t, inode->size - off, 1u << 20);

		err = erofs_rd_pread(rd, inode, v->buf, n, off);
		if (err)
			return err;
		EVP_DigestUpdate(v->ctx, v->buf, n);
		off += n;
	}
	if (!EVP_DigestFinal_ex(v->ctx, md, &mdlen))
		return -EINVAL;
	if (!memcmp(md, v->value + tlen, mdlen)) {
		v->rep->matched++;
		return 0;
	}
	v->rep->mismatched++;
	path = join(parent ? parent : "", name, namelen);
	erofs_rd_msg(rd, EROFS_RD_ERR,
		     "fingerprint of '%s' (nid %llu) does not match its data",
		     path ? path : name, (unsigned long long)inode->nid);
	free(path);
	v->err = -EBADMSG;
	return 0;
}

int erofs_rd_verify_fingerprints(struct erofs_rd *rd,
				 struct erofs_rd_fp_report *rep)
{
	static const struct erofs_rd_walk_ops ops = {
		.enter_dir = fp_enter,
		.leave_dir = fp_leave,
		.entry = fp_entry,
	};
	const struct erofs_rd_sb *sb = erofs_rd_sb(rd);
	const struct erofs_rd_prefix *pf;
	struct fp_verify v = { .rd = rd, .rep = rep };
	struct erofs_rd_stats st;
	const char *base;
	size_t blen;
	int err;

	memset(rep, 0, sizeof(*rep));
	if (!(sb->feature_compat & EROFS_FEATURE_COMPAT_ISHARE_XATTRS))
		return -ENODATA;
	pf = erofs_rd_prefix(rd, sb->ishare_xattr_prefix_id);
	base = pf ? erofs_rd_xattr_prefix_name(pf->base_index) : NULL;
	if (!base)
		return -EFSCORRUPTED;
	blen = strlen(base);
	memcpy(v.name, base, blen);
	memcpy(v.name + blen, pf->infix, pf->infix_len);
	v.namelen = blen + pf->infix_len;
	v.name[v.namelen] = '\0';

	v.buf = malloc(1u << 20);
	v.ctx = EVP_MD_CTX_new();
	if (!v.buf || !v.ctx) {
		err = -ENOMEM;
		goto out;
	}
	err = erofs_rd_check(rd, 0, &ops, &v, &st);
	if (!err)
		err = v.err;
out:
	EVP_MD_CTX_free(v.ctx);
	free(v.buf);
	return err;
}
