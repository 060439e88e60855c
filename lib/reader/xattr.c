// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Extended attributes: the inline region after the inode (header, shared
 * ids, inline entries that exactly fill it), shared entries in the pool at
 * xattr_blkaddr, names through short and long prefixes, and the per-inode
 * name filter, which must admit every name the inode carries.  The filter
 * hash is computed here, apart from the writer's, on purpose.
 */
#include <stdio.h>
#include <stdlib.h>

#include "rd.h"

static const char *const erofs_rd_xattr_prefixes[] = {
	[0] = "",
	[EROFS_XATTR_INDEX_USER] = "user.",
	[EROFS_XATTR_INDEX_POSIX_ACL_ACCESS] = "system.posix_acl_access",
	[EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT] = "system.posix_acl_default",
	[EROFS_XATTR_INDEX_TRUSTED] = "trusted.",
	[EROFS_XATTR_INDEX_LUSTRE] = "lustre.",
	[EROFS_XATTR_INDEX_SECURITY] = "security.",
};

#define XXH_P1	0x9E3779B1u
#define XXH_P2	0x85EBCA77u
#define XXH_P3	0xC2B2AE3Du
#define XXH_P4	0x27D4EB2Fu
#define XXH_P5	0x165667B1u

static inline uint32_t rotl32(uint32_t x, unsigned int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t erofs_rd_xxh32_round(uint32_t v, uint32_t w)
{
	return rotl32(v + w * XXH_P2, 13) * XXH_P1;
}

/* xxHash32 of the bytes s[0..len), as the name filter uses it */
static uint32_t erofs_rd_xxh32(const uint8_t *s, size_t len, uint32_t seed)
{
	const uint8_t *end = s + len;
	uint32_t h;

	if (len >= 16) {
		uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2;
		uint32_t v3 = seed, v4 = seed - XXH_P1;

		while (end - s >= 16) {
			v1 = erofs_rd_xxh32_round(v1, get_le32(s));
			v2 = erofs_rd_xxh32_round(v2, get_le32(s + 4));
			v3 = erofs_rd_xxh32_round(v3, get_le32(s + 8));
			v4 = erofs_rd_xxh32_round(v4, get_le32(s + 12));
			s += 16;
		}
		h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
	} else {
		h = seed + XXH_P5;
	}
	h += (uint32_t)len;
	while (end - s >= 4) {
		h = rotl32(h + get_le32(s) * XXH_P3, 17) * XXH_P4;
		s += 4;
	}
	while (s < end) {
		h = rotl32(h + *s * XXH_P5, 11) * XXH_P1;
		s++;
	}
	h ^= h >> 15;
	h *= XXH_P2;
	h ^= h >> 13;
	h *= XXH_P3;
	h ^= h >> 16;
	return h;
}

struct erofs_rd_xctx {
	struct erofs_rd *rd;
	const struct erofs_rd_inode *vi;
	uint32_t filter;	/* 0: no filter to check */
	erofs_rd_xattr_fn fn;
	void *priv;
};

const char *erofs_rd_xattr_prefix_name(unsigned int base)
{
	return base < ARRAY_SIZE(erofs_rd_xattr_prefixes) ?
		erofs_rd_xattr_prefixes[base] : NULL;
}

/* decodes one entry whose bytes (header, name, value) are all in e */
static int erofs_rd_xattr_entry(struct erofs_rd_xctx *x, const uint8_t *e,
				struct erofs_rd_xattr *xa)
{
	struct erofs_rd *rd = x->rd;
	unsigned int nlen = e[0], idx = e[1], plen, base;
	const char *prefix, *infix = "";
	unsigned int infix_len = 0;
	uint8_t hashbuf[2 * EROFS_NAME_LEN];
	uint32_t bit;

	xa->name_index = idx;
	xa->value_size = get_le16(e + 2);
	xa->value = e + 4 + nlen;
	xa->entry_size = EROFS_XATTR_ENTRY_SIZE(nlen, xa->value_size);
	if (idx & EROFS_XATTR_LONG_PREFIX) {
		const struct erofs_rd_prefix *pf;

		pf = erofs_rd_prefix(rd, idx & EROFS_XATTR_LONG_PREFIX_MASK);
		if (!pf)
			return erofs_rd_corrupt(rd,
				"nid %llu: xattr at 0x%llx: long prefix %u, but the image has %u",
				(unsigned long long)x->vi->nid,
				(unsigned long long)xa->pos,
				idx & EROFS_XATTR_LONG_PREFIX_MASK, erofs_rd_nprefixes(rd));
		base = pf->base_index;
		infix = pf->infix;
		infix_len = pf->infix_len;
	} else {
		if (idx >= ARRAY_SIZE(erofs_rd_xattr_prefixes))
			return erofs_rd_corrupt(rd,
				"nid %llu: xattr at 0x%llx: unknown name index %u",
				(unsigned long long)x->vi->nid,
				(unsigned long long)xa->pos, idx);
		base = idx;
	}
	xa->short_index = base;
	prefix = erofs_rd_xattr_prefixes[base];
	plen = strlen(prefix);
	memcpy(xa->name, prefix, plen);
	memcpy(xa->name + plen, infix, infix_len);
	memcpy(xa->name + plen + infix_len, e + 4, nlen);
	xa->namelen = plen + infix_len + nlen;
	xa->name[xa->namelen] = '\0';
	if (memchr(xa->name, '\0', xa->namelen))
		return erofs_rd_corrupt(rd, "nid %llu: xattr at 0x%llx: NUL in the name",
					(unsigned long long)x->vi->nid,
					(unsigned long long)xa->pos);

	if (x->filter) {
		memcpy(hashbuf, infix, infix_len);
		memcpy(hashbuf + infix_len, e + 4, nlen);
		bit = erofs_rd_xxh32(hashbuf, infix_len + nlen,
				     EROFS_XATTR_FILTER_SEED + base) &
			(EROFS_XATTR_FILTER_BITS - 1);
		if (x->filter & (1u << bit))
			return erofs_rd_corrupt(rd,
				"nid %llu (offset 0x%llx): name filter 0x%08x excludes xattr '%s' (bit %u)",
				(unsigned long long)x->vi->nid,
				(unsigned long long)x->vi->iloc, x->filter, xa->name, bit);
	}
	return 0;
}

static int erofs_rd_shared_xattr(struct erofs_rd_xctx *x, uint32_t id, uint8_t *buf)
{
	struct erofs_rd *rd = x->rd;
	struct erofs_rd_xattr xa;
	char what[80];
	unsigned int esz;
	int err;

	xa.pos = ((uint64_t)rd->sb.xattr_blkaddr << rd->blkszbits) + (uint64_t)id * 4;
	xa.shared = true;
	xa.shared_id = id;
	snprintf(what, sizeof(what), "nid %llu: shared xattr id %u",
		 (unsigned long long)x->vi->nid, id);
	err = erofs_rd_dev_read(rd, 0, buf, 4, xa.pos, what);
	if (err)
		return err;
	esz = 4 + buf[0] + get_le16(buf + 2);
	err = erofs_rd_dev_read(rd, 0, buf, esz, xa.pos, what);
	if (err)
		return err;
	err = erofs_rd_xattr_entry(x, buf, &xa);
	if (err)
		return err;
	return x->fn(x->priv, &xa);
}

int erofs_rd_xattrs(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		    erofs_rd_xattr_fn fn, void *priv)
{
	struct erofs_rd_xctx x = { .rd = rd, .vi = vi, .fn = fn, .priv = priv };
	uint64_t base = vi->iloc + vi->isize;
	unsigned int shared, off, i;
	uint8_t *ibody, *ebuf;
	char what[48];
	int err;

	if (!vi->xattr_isize)
		return 0;
	ibody = malloc(vi->xattr_isize);
	ebuf = malloc(4 + EROFS_NAME_LEN + 65536);
	if (!ibody || !ebuf) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(what, sizeof(what), "nid %llu: xattrs", (unsigned long long)vi->nid);
	err = erofs_rd_dev_read(rd, 0, ibody, vi->xattr_isize, base, what);
	if (err)
		goto out;
	shared = ibody[4];
	if (sizeof(struct erofs_xattr_ibody_header) + 4 * shared > vi->xattr_isize) {
		err = erofs_rd_corrupt(rd,
			"nid %llu (offset 0x%llx): %u shared xattr ids do not fit in %u bytes of xattrs",
			(unsigned long long)vi->nid, (unsigned long long)vi->iloc,
			shared, vi->xattr_isize);
		goto out;
	}
	if (rd->sb.feature_compat & EROFS_FEATURE_COMPAT_XATTR_FILTER &&
	    !rd->sb.xattr_filter_reserved)
		x.filter = get_le32(ibody);

	for (i = 0; i < shared; i++) {
		err = erofs_rd_shared_xattr(&x, get_le32(ibody + 12 + 4 * i), ebuf);
		if (err)
			goto out;
	}
	off = sizeof(struct erofs_xattr_ibody_header) + 4 * shared;
	while (off < vi->xattr_isize) {
		struct erofs_rd_xattr xa;
		unsigned int esz;

		xa.pos = base + off;
		xa.shared = false;
		xa.shared_id = 0;
		if (off + 4 > vi->xattr_isize) {
			err = erofs_rd_corrupt(rd,
				"nid %llu: xattr entry at 0x%llx: header crosses the end of the xattr region",
				(unsigned long long)vi->nid, (unsigned long long)xa.pos);
			goto out;
		}
		esz = EROFS_XATTR_ENTRY_SIZE(ibody[off], get_le16(ibody + off + 2));
		if (off + esz > vi->xattr_isize) {
			err = erofs_rd_corrupt(rd,
				"nid %llu: xattr entry at 0x%llx: %u bytes run past the xattr region (%u bytes)",
				(unsigned long long)vi->nid, (unsigned long long)xa.pos,
				esz, vi->xattr_isize);
			goto out;
		}
		/* zero padding parses as empty entries and carries nothing */
		if (!ibody[off] && !ibody[off + 1] && !get_le16(ibody + off + 2)) {
			off += esz;
			continue;
		}
		err = erofs_rd_xattr_entry(&x, ibody + off, &xa);
		if (err)
			goto out;
		err = fn(priv, &xa);
		if (err)
			goto out;
		off += esz;
	}
out:
	free(ibody);
	free(ebuf);
	return err;
}
