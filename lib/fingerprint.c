// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Per-file fingerprints: which digests may be used, and the value format
 * shared with Linux's page-cache sharing: the algorithm's name, a colon,
 * then the raw digest of the file's whole logical content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/evp.h>

#include "internal.h"
#include "fingerprint.h"
#include "erofs/xattr.h"
#include "erofs/dir.h"

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

/* the value: the algorithm's name, a colon, the digest; malloc'ed */
int erofs_fingerprint_final_to(const struct erofs_build *b, void *ctx,
			       uint8_t **out)
{
	size_t tlen = strlen(b->opts->fp_algo);
	uint16_t size = erofs_fingerprint_size(b);
	unsigned int dlen;
	uint8_t *v = malloc(size);

	*out = NULL;
	if (!v)
		return -ENOMEM;
	memcpy(v, b->opts->fp_algo, tlen);
	v[tlen] = ':';
	if (!EVP_DigestFinal_ex(ctx, v + tlen + 1, &dlen) ||
	    tlen + 1 + dlen != size) {
		free(v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int erofs_fingerprint_final(const struct erofs_build *b, void *ctx,
			    struct erofs_inode *inode)
{
	if (inode->fp_size != erofs_fingerprint_size(b))
		return -EINVAL;
	return erofs_fingerprint_final_to(b, ctx, &inode->fp_value);
}

void erofs_fingerprint_free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

/* an entry of the in-memory tree by its path below the root */
struct erofs_inode *erofs_lookup_path(const struct erofs_build *b,
				      const char *path, size_t len)
{
	struct erofs_inode *dir = b->root;
	const char *p = path, *end = path + len;

	while (p < end) {
		const char *slash = memchr(p, '/', end - p);
		size_t clen = (slash ? slash : end) - p;
		uint32_t lo = 0, hi;

		if (!clen || (clen == 1 && *p == '.')) {
			p += clen + 1;
			continue;
		}
		if (!S_ISDIR(dir->mode))
			return NULL;
		hi = dir->nr_children;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			const struct erofs_dentry *d = dir->children[mid];
			int r = erofs_name_cmp(d->name, d->namelen, p, clen);

			if (!r) {
				lo = mid;
				break;
			}
			if (r < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= dir->nr_children ||
		    erofs_name_cmp(dir->children[lo]->name,
				   dir->children[lo]->namelen, p, clen))
			return NULL;
		dir = dir->children[lo]->inode;
		p += clen + 1;
	}
	return dir;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One token of a map line: a bare word, or a double-quoted string with
 * the escapes \\ \" \n \t \r \0 and \xHH.  Returns the bytes in 'out'
 * (allocated), or NULL with a reason.
 */
static const char *map_token(const char **pp, uint8_t **out, size_t *olen)
{
	const char *p = *pp;
	uint8_t *buf;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return "missing field";
	buf = malloc(strlen(p) + 1);
	if (!buf)
		return "out of memory";
	if (*p != '"') {
		while (*p && *p != ' ' && *p != '\t')
			buf[n++] = *p++;
	} else {
		for (p++; *p && *p != '"'; p++) {
			int h, l;

			if (*p != '\\') {
				buf[n++] = *p;
				continue;
			}
			switch (*++p) {
			case '\\': buf[n++] = '\\'; break;
			case '"': buf[n++] = '"'; break;
			case 'n': buf[n++] = '\n'; break;
			case 't': buf[n++] = '\t'; break;
			case 'r': buf[n++] = '\r'; break;
			case '0': buf[n++] = '\0'; break;
			case 'x':
				h = hexval(p[1]);
				l = h < 0 ? -1 : hexval(p[2]);
				if (l < 0) {
					free(buf);
					return "bad \\x escape";
				}
				buf[n++] = h << 4 | l;
				p += 2;
				break;
			default:
				free(buf);
				return "unknown escape";
			}
		}
		if (*p != '"') {
			free(buf);
			return "unterminated quoted string";
		}
		p++;
		if (*p && *p != ' ' && *p != '\t') {
			free(buf);
			return "text after a quoted string";
		}
	}
	*pp = p;
	*out = buf;
	*olen = n;
	return NULL;
}

/* VALUE: hex:DIGITS or a quoted string */
static const char *map_value(const char **pp, uint8_t **out, size_t *olen)
{
	const char *p = *pp, *why;
	uint8_t *tok;
	size_t n, i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return "missing value";
	if (*p == '"') {
		*pp = p;
		return map_token(pp, out, olen);
	}
	if (strncmp(p, "hex:", 4))
		return "value must be hex:... or a quoted string";
	p += 4;
	why = map_token(&p, &tok, &n);
	if (why)
		return why;
	if (n % 2) {
		free(tok);
		return "odd number of hex digits";
	}
	for (i = 0; i < n / 2; i++) {
		int h = hexval(tok[2 * i]), l = hexval(tok[2 * i + 1]);

		if (h < 0 || l < 0) {
			free(tok);
			return "not a hex digit";
		}
		tok[i] = h << 4 | l;
	}
	*pp = p;
	*out = tok;
	*olen = n / 2;
	return NULL;
}

static int map_line(struct erofs_build *b, const char *file, uint32_t lineno,
		    const char *line)
{
	const char *p = line, *why;
	uint8_t *path = NULL, *val = NULL;
	size_t plen, vlen;
	struct erofs_inode *inode;
	int ret = -EINVAL;

	why = map_token(&p, &path, &plen);
	if (!why)
		why = map_value(&p, &val, &vlen);
	if (!why) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			why = "text after the value";
	}
	if (why)
		goto bad;
	if (memchr(path, '\0', plen)) {
		why = "NUL in the path";
		goto bad;
	}
	inode = erofs_lookup_path(b, (char *)path, plen);
	if (!inode) {
		why = "no such path in the image";
		goto bad;
	}
	if (!S_ISREG(inode->mode) || !inode->size) {
		why = "not a regular file with data";
		goto bad;
	}
	if (!vlen) {
		why = "empty value";
		goto bad;
	}
	if (vlen > b->bs) {
		why = "value longer than the block size";
		goto bad;
	}
	if (inode->fp_source == EROFS_FP_MAP) {
		erofs_err(b, "fingerprint map '%s' line %u: '%.*s' (or a hard link to it) was already given on line %u",
			  file, lineno, (int)plen, (char *)path, inode->fp_line);
		goto out;
	}
	inode->fp_source = EROFS_FP_MAP;
	inode->fp_line = lineno;
	inode->fp_size = vlen;
	free(inode->fp_value);	/* one a tar source computed */
	inode->fp_value = val;
	val = NULL;
	ret = 0;
	goto out;
bad:
	erofs_err(b, "fingerprint map '%s' line %u: %s", file, lineno, why);
out:
	free(path);
	free(val);
	return ret;
}

/* publisher-supplied values, before the xattr plan sizes the entries */
int erofs_fingerprint_apply_map(struct erofs_build *b)
{
	const char *file = b->opts->fp_map;
	char *line = NULL;
	size_t cap = 0;
	uint32_t lineno = 0;
	ssize_t n;
	FILE *f;
	int ret = 0;

	if (!file)
		return 0;
	f = fopen(file, "re");
	if (!f) {
		ret = -errno;
		erofs_err(b, "cannot read fingerprint map '%s': %s", file,
			  strerror(errno));
		return ret;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		const char *p = line;

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (strlen(line) != (size_t)n) {
			erofs_err(b, "fingerprint map '%s' line %u: NUL byte in the line",
				  file, lineno);
			ret = -EINVAL;
			break;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		ret = map_line(b, file, lineno, p);
		if (ret)
			break;
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		erofs_err(b, "cannot read fingerprint map '%s': %s", file,
			  strerror(EIO));
	}
	free(line);
	fclose(f);
	return ret;
}
