// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Every xattr byte of an image: the interned (name, value) table, which
 * pairs are shared, the long name prefix table, each inode's inline region
 * and its name filter.  All choices are made in erofs_xattr_plan() from
 * sorted data, so the result does not depend on scan order.
 */
#include <stdlib.h>
#include <stdio.h>
#include <xxhash.h>

#include "internal.h"
#include "erofs/xattr.h"
#include "erofs/dir.h"
#include "fingerprint.h"

static const struct {
	const char *prefix;
	uint8_t len;
	uint8_t index;
	bool whole;	/* the prefix is the whole name (ACLs) */
} xattr_prefixes[] = {
	{ "user.", 5, EROFS_XATTR_INDEX_USER, false },
	{ "system.posix_acl_access", 23, EROFS_XATTR_INDEX_POSIX_ACL_ACCESS, true },
	{ "system.posix_acl_default", 24, EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, true },
	{ "trusted.", 8, EROFS_XATTR_INDEX_TRUSTED, false },
	{ "security.", 9, EROFS_XATTR_INDEX_SECURITY, false },
};

size_t erofs_xattr_split(const char *name, size_t len, uint8_t *index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(xattr_prefixes); i++) {
		size_t plen = xattr_prefixes[i].len;

		if (len < plen || memcmp(name, xattr_prefixes[i].prefix, plen))
			continue;
		if (xattr_prefixes[i].whole ? len != plen : len == plen)
			continue;
		*index = xattr_prefixes[i].index;
		return plen;
	}
	return 0;
}

unsigned int erofs_xattr_filter_bit(uint8_t index, const char *s, size_t len)
{
	return XXH32(s, len, EROFS_XATTR_FILTER_SEED + index) &
		(EROFS_XATTR_FILTER_BITS - 1);
}

static uint32_t item_hash(const char *name, size_t nlen, const void *value,
			  size_t vlen)
{
	return XXH32(value, vlen, XXH32(name, nlen, 0));
}

static int xa_table_grow(struct erofs_build *b)
{
	uint32_t nsize = b->xa_size ? b->xa_size * 2 : 1024, i;
	struct erofs_xattr_item **t = calloc(nsize, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < b->xa_size; i++) {
		struct erofs_xattr_item *it = b->xa_table[i], *next;

		for (; it; it = next) {
			next = it->hnext;
			it->hnext = t[it->hash & (nsize - 1)];
			t[it->hash & (nsize - 1)] = it;
		}
	}
	free(b->xa_table);
	b->xa_table = t;
	b->xa_size = nsize;
	return 0;
}

int erofs_xattr_add(struct erofs_build *b, struct erofs_inode *inode,
		    const char *name, const void *value, size_t vlen)
{
	size_t nlen = strlen(name), plen;
	struct erofs_xattr_item *it, **xs;
	uint8_t index;
	uint32_t h;
	int ret;

	plen = erofs_xattr_split(name, nlen, &index);
	if (!plen)
		return -EOPNOTSUPP;
	if (nlen - plen > EROFS_NAME_LEN || nlen > 255 + 24)
		return -ENAMETOOLONG;
	if (vlen > UINT16_MAX)
		return -E2BIG;

	if (b->xa_count + 1 > b->xa_size) {
		ret = xa_table_grow(b);
		if (ret)
			return ret;
	}
	h = item_hash(name, nlen, value, vlen);
	for (it = b->xa_table[h & (b->xa_size - 1)]; it; it = it->hnext)
		if (it->hash == h && it->namelen == nlen &&
		    it->value_size == vlen && !memcmp(it->name, name, nlen) &&
		    !memcmp(it->value, value, vlen))
			break;
	if (!it) {
		it = calloc(1, sizeof(*it));
		if (!it)
			return -ENOMEM;
		it->name = malloc(nlen + 1);
		it->value = malloc(vlen ? vlen : 1);
		if (!it->name || !it->value) {
			free(it->name);
			free(it->value);
			free(it);
			return -ENOMEM;
		}
		memcpy(it->name, name, nlen + 1);
		memcpy(it->value, value, vlen);
		it->namelen = nlen;
		it->value_size = vlen;
		it->index = index;
		it->hash = h;
		it->shared_id = UINT32_MAX;
		it->prefix = EROFS_XATTR_NO_PREFIX;
		it->hnext = b->xa_table[h & (b->xa_size - 1)];
		b->xa_table[h & (b->xa_size - 1)] = it;
		b->xa_count++;
	}
	if (inode->nr_xattrs == UINT16_MAX)
		return -E2BIG;
	xs = realloc(inode->xattrs, (inode->nr_xattrs + 1) * sizeof(*xs));
	if (!xs)
		return -ENOMEM;
	inode->xattrs = xs;
	xs[inode->nr_xattrs++] = it;
	it->count++;
	b->any_xattrs = true;
	return 0;
}

static int item_cmp(const void *x, const void *y)
{
	const struct erofs_xattr_item *a = *(struct erofs_xattr_item * const *)x;
	const struct erofs_xattr_item *c = *(struct erofs_xattr_item * const *)y;
	int r = strcmp(a->name, c->name);

	if (r)
		return r;
	r = memcmp(a->value, c->value, min_t(size_t, a->value_size,
					      c->value_size));
	if (r)
		return r;
	return (int)a->value_size - (int)c->value_size;
}

/* the stored name suffix once short and long prefixes are taken off */
static size_t item_suffix(const struct erofs_build *b,
			  const struct erofs_xattr_item *it, const char **s)
{
	uint8_t idx;
	size_t plen = erofs_xattr_split(it->name, it->namelen, &idx);

	if (it->prefix != EROFS_XATTR_NO_PREFIX)
		plen += b->prefixes[it->prefix].infix_len;
	*s = it->name + plen;
	return it->namelen - plen;
}

static uint32_t item_entry_size(const struct erofs_build *b,
				const struct erofs_xattr_item *it)
{
	const char *s;

	return EROFS_XATTR_ENTRY_SIZE(item_suffix(b, it, &s), it->value_size);
}

static uint32_t prefix_record_size(const struct erofs_long_prefix *p)
{
	return round_up(2u + 1 + p->infix_len, 4u);
}

/* the longest chosen long prefix that covers an item, or none */
static uint8_t best_prefix(const struct erofs_build *b,
			   const struct erofs_xattr_item *it)
{
	uint8_t idx, best = EROFS_XATTR_NO_PREFIX;
	size_t plen = erofs_xattr_split(it->name, it->namelen, &idx);
	size_t rest = it->namelen - plen, bestlen = 0;
	unsigned int i;

	if (idx == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
	    idx == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT)
		return best;
	for (i = 0; i < b->nr_prefixes; i++) {
		const struct erofs_long_prefix *p = &b->prefixes[i];

		if (p->base_index != idx || p->infix_len > rest ||
		    p->infix_len <= bestlen ||
		    memcmp(p->infix, it->name + plen, p->infix_len))
			continue;
		best = i;
		bestlen = p->infix_len;
	}
	return best;
}

struct prefix_cand {
	const char *infix;
	uint8_t len, index;
	uint64_t gain;
};

static int cand_cmp(const void *x, const void *y)
{
	const struct prefix_cand *a = x, *c = y;

	if (a->index != c->index)
		return a->index - c->index;
	return erofs_name_cmp(a->infix, a->len, c->infix, c->len);
}

static int cand_gain_cmp(const void *x, const void *y)
{
	const struct prefix_cand *a = x, *c = y;

	if (a->gain != c->gain)
		return a->gain < c->gain ? 1 : -1;
	return cand_cmp(x, y);
}

static int64_t inline_bytes(const struct erofs_build *b,
			    struct erofs_xattr_item **items, uint32_t n)
{
	int64_t total = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (items[i]->shared_id == UINT32_MAX)
			total += (int64_t)items[i]->count *
				 item_entry_size(b, items[i]);
	return total;
}

static int add_prefix(struct erofs_build *b, uint8_t index, const char *infix,
		      size_t len)
{
	struct erofs_long_prefix *p;
	unsigned int i;

	for (i = 0; i < b->nr_prefixes; i++)
		if (b->prefixes[i].base_index == index &&
		    b->prefixes[i].infix_len == len &&
		    !memcmp(b->prefixes[i].infix, infix, len))
			return 0;
	if (b->nr_prefixes >= EROFS_XATTR_MAX_LONG_PREFIXES)
		return -ENOSPC;
	p = &b->prefixes[b->nr_prefixes];
	p->infix = malloc(len + 1);
	if (!p->infix)
		return -ENOMEM;
	memcpy(p->infix, infix, len);
	p->infix[len] = '\0';
	p->infix_len = len;
	p->base_index = index;
	b->nr_prefixes++;
	return 0;
}

/*
 * Long prefixes chosen automatically: a candidate is a namespace plus a
 * name stem ending in '.', or a whole name.  They are taken greedily by the
 * bytes they save and kept only if the image shrinks by a block or more,
 * since the table needs a 6.4+ kernel.
 */
static int choose_auto_prefixes(struct erofs_build *b,
				struct erofs_xattr_item **items, uint32_t n)
{
	struct prefix_cand *c = NULL;
	size_t nc = 0, cap = 0, i, j;
	unsigned int explicit = b->nr_prefixes;
	int64_t before, after;
	int ret = 0;

	for (i = 0; i < n; i++) {
		struct erofs_xattr_item *it = items[i];
		uint8_t idx;
		size_t plen, k;

		if (it->shared_id != UINT32_MAX || it->count < 2)
			continue;
		plen = erofs_xattr_split(it->name, it->namelen, &idx);
		if (idx == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
		    idx == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT)
			continue;
		for (k = plen; k < it->namelen; k++) {
			if (it->name[k] != '.' && k + 1 != it->namelen)
				continue;
			if (nc == cap) {
				struct prefix_cand *nca;

				cap = cap ? cap * 2 : 64;
				nca = realloc(c, cap * sizeof(*c));
				if (!nca) {
					free(c);
					return -ENOMEM;
				}
				c = nca;
			}
			c[nc++] = (struct prefix_cand){
				.infix = it->name + plen,
				.len = k + 1 - plen,
				.index = idx,
				.gain = (uint64_t)it->count * (k + 1 - plen),
			};
		}
	}
	if (!nc)
		goto out;
	qsort(c, nc, sizeof(*c), cand_cmp);
	for (i = 0, j = 0; i < nc; i++) {
		if (j && !cand_cmp(&c[j - 1], &c[i]))
			c[j - 1].gain += c[i].gain;
		else
			c[j++] = c[i];
	}
	nc = j;
	qsort(c, nc, sizeof(*c), cand_gain_cmp);

	before = inline_bytes(b, items, n);
	for (i = 0; i < nc && b->nr_prefixes < EROFS_XATTR_MAX_LONG_PREFIXES; i++) {
		if (c[i].gain < 64)
			break;
		ret = add_prefix(b, c[i].index, c[i].infix, c[i].len);
		if (ret)
			goto out;
	}
	for (i = 0; i < n; i++)
		items[i]->prefix = best_prefix(b, items[i]);
	after = inline_bytes(b, items, n);
	for (i = explicit; i < b->nr_prefixes; i++)
		after += prefix_record_size(&b->prefixes[i]);
	if (before - after < (int64_t)b->bs) {
		for (i = explicit; i < b->nr_prefixes; i++)
			free(b->prefixes[i].infix);
		b->nr_prefixes = explicit;
		for (i = 0; i < n; i++)
			items[i]->prefix = best_prefix(b, items[i]);
	}
out:
	free(c);
	return ret;
}

static int explicit_prefixes(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	unsigned int i;
	int ret;

	for (i = 0; i < o->nr_xattr_prefixes; i++) {
		const char *p = o->xattr_prefixes[i];
		size_t len = strlen(p), plen;
		uint8_t idx;

		plen = erofs_xattr_split(p, len, &idx);
		if (!plen || idx == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
		    idx == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT ||
		    len - plen > 255) {
			erofs_err(b, "invalid xattr prefix '%s'", p);
			return -EINVAL;
		}
		ret = add_prefix(b, idx, p + plen, len - plen);
		if (ret)
			return ret;
	}
	return 0;
}

static int inode_xattr_cmp(const void *x, const void *y)
{
	return item_cmp(x, y);
}

static int take_xattr_value(struct erofs_build *b, struct erofs_inode *inode,
			    const struct erofs_xattr_item *it)
{
	const char *why = !it->value_size ? "empty value" :
			  it->value_size > b->bs ?
			  "value longer than the block size" : NULL;

	if (why) {
		char *path = erofs_inode_path(inode);

		erofs_err(b, "cannot take the fingerprint of '%s' from xattr %s: %s",
			  path ? path : "?", it->name, why);
		free(path);
		return -EINVAL;
	}
	free(inode->fp_value);	/* one a tar source computed */
	inode->fp_value = malloc(it->value_size);
	if (!inode->fp_value)
		return -ENOMEM;
	memcpy(inode->fp_value, it->value, it->value_size);
	inode->fp_size = it->value_size;
	inode->fp_source = EROFS_FP_XATTR;
	return 0;
}

/*
 * Regular files with data get a fingerprint entry under its own long prefix,
 * which comes first in the table.  A source xattr of the same name would
 * make two values for one name: the fingerprint wins.
 */
static int plan_fingerprints(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	const char *name = o->fp_name ? o->fp_name :
			   EROFS_FINGERPRINT_DEFAULT_NAME;
	uint64_t k, dropped = 0;
	uint16_t size;
	int ret;

	if (!b->fp_md)
		return 0;
	ret = add_prefix(b, b->fp_base, b->fp_infix, b->fp_infix_len);
	if (ret)
		return ret;
	b->fp_prefix = b->nr_prefixes - 1;
	size = erofs_fingerprint_size(b);
	for (k = 0; k < b->nr_inodes; k++) {
		struct erofs_inode *inode = b->inodes[k];
		uint16_t j, keep = 0;

		if (!S_ISREG(inode->mode) || !inode->size)
			continue;
		for (j = 0; j < inode->nr_xattrs; j++) {
			struct erofs_xattr_item *it = inode->xattrs[j];

			if (o->fp_from_xattr && !inode->fp_source &&
			    !strcmp(it->name, o->fp_from_xattr)) {
				ret = take_xattr_value(b, inode, it);
				if (ret)
					return ret;
			}
			if (!strcmp(it->name, name)) {
				it->count--;
				dropped++;
				continue;
			}
			inode->xattrs[keep++] = it;
		}
		inode->nr_xattrs = keep;
		if (inode->fp_source)
			continue;
		if (o->fp_strict) {
			char *path = erofs_inode_path(inode);

			erofs_err(b, "no fingerprint supplied for '%s' (--fingerprint-strict)",
				  path ? path : "?");
			free(path);
			return -EINVAL;
		}
		inode->fp_source = EROFS_FP_COMPUTED;
		inode->fp_size = size;
		/* taken during the scan: the writing pass only copies */
		if (!inode->fp_value) {
			inode->fp_value = inode->pre_fp;
			inode->pre_fp = NULL;
		}
	}
	if (dropped)
		erofs_warn(b, "%llu source files carried an xattr named %s: replaced by the fingerprint",
			   (unsigned long long)dropped, name);
	b->any_xattrs = true;
	return 0;
}

int erofs_xattr_plan(struct erofs_build *b)
{
	struct erofs_xattr_item **items;
	uint32_t n = 0, i;
	uint64_t k, pos;
	int ret;

	b->prefix_start = EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block) +
			  b->zcfg_size;
	ret = plan_fingerprints(b);
	if (ret)
		return ret;
	ret = explicit_prefixes(b);
	if (ret)
		return ret;
	items = malloc((b->xa_count ? b->xa_count : 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (i = 0; i < b->xa_size; i++) {
		struct erofs_xattr_item *it;

		for (it = b->xa_table[i]; it; it = it->hnext)
			items[n++] = it;
	}
	qsort(items, n, sizeof(*items), item_cmp);

	/* pairs carried by more than 'tolerance' inodes are stored once */
	for (i = 0; i < n; i++)
		if (items[i]->count &&
		    items[i]->count > (uint32_t)b->opts->xattr_tolerance)
			items[i]->shared_id = 0;
	for (i = 0; i < n; i++)
		items[i]->prefix = best_prefix(b, items[i]);
	if (!b->opts->no_auto_prefixes) {
		ret = choose_auto_prefixes(b, items, n);
		if (ret)
			goto out;
	}

	pos = b->prefix_start + erofs_xattr_prefix_table_size(b);
	b->shared_start = pos = round_up(pos, 4u);
	b->nr_shared = 0;
	for (i = 0; i < n; i++)
		if (items[i]->shared_id != UINT32_MAX)
			b->nr_shared++;
	free(b->shared);
	b->shared = malloc((b->nr_shared ? b->nr_shared : 1) * sizeof(*b->shared));
	if (!b->shared) {
		ret = -ENOMEM;
		goto out;
	}
	b->nr_shared = 0;
	for (i = 0; i < n; i++) {
		if (items[i]->shared_id == UINT32_MAX)
			continue;
		items[i]->shared_id = pos / 4;
		pos += item_entry_size(b, items[i]);
		b->shared[b->nr_shared++] = items[i];
	}

	for (k = 0; k < b->nr_inodes; k++) {
		struct erofs_inode *inode = b->inodes[k];
		uint32_t size = sizeof(struct erofs_xattr_ibody_header);
		uint32_t bits = 0, nshared = 0;
		uint16_t j;

		if (!inode->nr_xattrs && !inode->fp_size)
			continue;
		if (inode->fp_size) {
			bits |= 1u << erofs_xattr_filter_bit(b->fp_base,
					b->fp_infix, b->fp_infix_len);
			size += EROFS_XATTR_ENTRY_SIZE(0, inode->fp_size);
		}
		if (inode->nr_xattrs)
			qsort(inode->xattrs, inode->nr_xattrs,
			      sizeof(*inode->xattrs), inode_xattr_cmp);
		for (j = 0; j < inode->nr_xattrs; j++) {
			struct erofs_xattr_item *it = inode->xattrs[j];
			uint8_t idx;
			size_t plen = erofs_xattr_split(it->name, it->namelen,
							&idx);

			bits |= 1u << erofs_xattr_filter_bit(idx,
					it->name + plen, it->namelen - plen);
			if (it->shared_id != UINT32_MAX && nshared < 255) {
				nshared++;
				size += 4;
			} else {
				size += item_entry_size(b, it);
			}
		}
		if (size > 12 + 4u * (UINT16_MAX - 1)) {
			char *path = erofs_inode_path(inode);

			erofs_err(b, "cannot store xattrs of '%s': too large for one inode",
				  path ? path : "?");
			free(path);
			ret = -E2BIG;
			goto out;
		}
		inode->xattr_size = size;
		inode->xattr_icount = (size - 12) / 4 + 1;
		inode->name_filter = ~bits;
	}
	if (b->report) {
		b->report->shared_xattrs = b->nr_shared;
		b->report->long_prefixes = b->nr_prefixes;
	}
out:
	free(items);
	return ret;
}

uint32_t erofs_xattr_pool_size(const struct erofs_build *b)
{
	uint32_t i, size = 0;

	for (i = 0; i < b->nr_shared; i++)
		size += item_entry_size(b, b->shared[i]);
	return size;
}

static uint8_t *write_entry(const struct erofs_build *b,
			    const struct erofs_xattr_item *it, uint8_t *p)
{
	struct erofs_xattr_entry *e = (struct erofs_xattr_entry *)p;
	const char *s;
	size_t slen = item_suffix(b, it, &s);

	e->e_name_len = slen;
	e->e_name_index = it->prefix == EROFS_XATTR_NO_PREFIX ? it->index :
			  EROFS_XATTR_LONG_PREFIX | it->prefix;
	e->e_value_size = cpu_to_le16(it->value_size);
	memcpy(p + sizeof(*e), s, slen);
	memcpy(p + sizeof(*e) + slen, it->value, it->value_size);
	return p + EROFS_XATTR_ENTRY_SIZE(slen, it->value_size);
}

void erofs_xattr_write_pool(const struct erofs_build *b, uint8_t *buf)
{
	uint32_t i;

	for (i = 0; i < b->nr_shared; i++)
		buf = write_entry(b, b->shared[i], buf);
}

uint32_t erofs_xattr_prefix_table_size(const struct erofs_build *b)
{
	uint32_t i, size = 0;

	for (i = 0; i < b->nr_prefixes; i++)
		size += prefix_record_size(&b->prefixes[i]);
	return size;
}

void erofs_xattr_write_prefixes(const struct erofs_build *b, uint8_t *buf)
{
	unsigned int i;

	for (i = 0; i < b->nr_prefixes; i++) {
		const struct erofs_long_prefix *p = &b->prefixes[i];
		uint16_t len = cpu_to_le16(1 + p->infix_len);

		memcpy(buf, &len, 2);
		buf[2] = p->base_index;
		memcpy(buf + 3, p->infix, p->infix_len);
		buf += prefix_record_size(p);
	}
}

void erofs_xattr_write_ibody(const struct erofs_build *b,
			     const struct erofs_inode *inode, uint8_t *buf)
{
	struct erofs_xattr_ibody_header *h = (void *)buf;
	uint8_t *p = buf + sizeof(*h);
	unsigned int nshared = 0;
	uint16_t j;

	h->h_name_filter = cpu_to_le32(inode->name_filter);
	for (j = 0; j < inode->nr_xattrs; j++) {
		const struct erofs_xattr_item *it = inode->xattrs[j];
		uint32_t id = cpu_to_le32(it->shared_id);

		if (it->shared_id == UINT32_MAX || nshared >= 255)
			continue;
		memcpy(p, &id, 4);
		p += 4;
		nshared++;
	}
	h->h_shared_count = nshared;
	nshared = 0;
	for (j = 0; j < inode->nr_xattrs; j++) {
		const struct erofs_xattr_item *it = inode->xattrs[j];

		if (it->shared_id != UINT32_MAX && nshared < 255) {
			nshared++;
			continue;
		}
		p = write_entry(b, it, p);
	}
	if (inode->fp_size) {
		struct erofs_xattr_entry *e = (struct erofs_xattr_entry *)p;

		e->e_name_len = 0;
		e->e_name_index = EROFS_XATTR_LONG_PREFIX | b->fp_prefix;
		e->e_value_size = cpu_to_le16(inode->fp_size);
		if (inode->fp_value)
			memcpy(p + sizeof(*e), inode->fp_value, inode->fp_size);
	}
}

void erofs_xattr_free(struct erofs_build *b)
{
	uint32_t i;
	unsigned int k;

	for (i = 0; i < b->xa_size; i++) {
		struct erofs_xattr_item *it = b->xa_table[i], *next;

		for (; it; it = next) {
			next = it->hnext;
			free(it->name);
			free(it->value);
			free(it);
		}
	}
	free(b->xa_table);
	b->xa_table = NULL;
	free(b->shared);
	b->shared = NULL;
	for (k = 0; k < b->nr_prefixes; k++)
		free(b->prefixes[k].infix);
	b->nr_prefixes = 0;
}
