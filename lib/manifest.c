// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The manifest: one JSON document describing the image a publisher signs
 * and CI diffs between builds.  Keys come in a fixed order, files in tree
 * order (each directory before its entries, names sorted as bytes), so the
 * same image always gives the same document.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <openssl/evp.h>
#include <uuid/uuid.h>

#include "internal.h"
#include "manifest.h"

static bool valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k, len;
		uint32_t cp;

		if (c < 0x80) {
			if (!c)
				return false;
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* "key": "text", or "key_hex": "..." when the bytes are not UTF-8 */
static void put_bytes(FILE *f, const char *key, const uint8_t *s, size_t n)
{
	size_t i;

	if (!valid_utf8(s, n)) {
		fprintf(f, "\"%s_hex\": \"", key);
		put_hex(f, s, n);
		fputc('"', f);
		return;
	}
	fprintf(f, "\"%s\": \"", key);
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "chardev";
	case S_IFBLK: return "blockdev";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "unknown";
}

static const char *const fp_sources[] = {
	[EROFS_FP_COMPUTED] = "computed",
	[EROFS_FP_MAP] = "map",
	[EROFS_FP_XATTR] = "xattr",
};

struct walk {
	FILE *f;
	char *path;
	size_t len, cap;
	bool first;
};

static int put_entry(const struct erofs_build *b, struct walk *w,
		     const struct erofs_inode *inode)
{
	FILE *f = w->f;

	fprintf(f, "%s\n    {", w->first ? "" : ",");
	w->first = false;
	put_bytes(f, "path", (const uint8_t *)w->path, w->len);
	fprintf(f, ", \"type\": \"%s\", \"size\": %llu, \"mode\": \"%04o\", "
		"\"uid\": %u, \"gid\": %u, \"nid\": %llu, \"nlink\": %u",
		type_name(inode->mode), (unsigned long long)inode->size,
		inode->mode & 07777, inode->uid, inode->gid,
		(unsigned long long)inode->nid, inode->nlink);
	if (S_ISLNK(inode->mode)) {
		fputs(", ", f);
		put_bytes(f, "target", (const uint8_t *)inode->symlink,
			  inode->size);
	}
	if (S_ISCHR(inode->mode) || S_ISBLK(inode->mode))
		fprintf(f, ", \"rdev\": \"%u:%u\"", inode->rdev_major,
			inode->rdev_minor);
	if (inode->fp_size && inode->fp_value) {
		fputs(", \"fingerprint\": \"", f);
		put_hex(f, inode->fp_value, inode->fp_size);
		fprintf(f, "\", \"fingerprint_source\": \"%s\"",
			fp_sources[inode->fp_source]);
	}
	fputc('}', f);
	return ferror(f) ? -EIO : 0;
}

static int walk_dir(const struct erofs_build *b, struct walk *w,
		    const struct erofs_inode *dir)
{
	uint32_t i;
	int ret;

	for (i = 0; i < dir->nr_children; i++) {
		const struct erofs_dentry *d = dir->children[i];
		size_t saved = w->len;

		if (w->len + d->namelen + 2 > w->cap) {
			size_t cap = max_t(size_t, w->cap * 2,
					   w->len + d->namelen + 2);
			char *p = realloc(w->path, cap);

			if (!p)
				return -ENOMEM;
			w->path = p;
			w->cap = cap;
		}
		if (w->len > 1)
			w->path[w->len++] = '/';
		memcpy(w->path + w->len, d->name, d->namelen);
		w->len += d->namelen;
		ret = put_entry(b, w, d->inode);
		if (!ret && S_ISDIR(d->inode->mode))
			ret = walk_dir(b, w, d->inode);
		w->len = saved;
		if (ret)
			return ret;
	}
	return 0;
}

/* the image file's size: the filesystem, and an appended hash tree */
static uint64_t file_size(const struct erofs_build *b)
{
	if (b->report->verity.enabled)
		return b->report->verity.file_size;
	return b->total_blocks << b->blkszbits;
}

/* the image's SHA-256, read back from the finished temporary file */
static int image_digest(const struct erofs_build *b, uint8_t *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t bufsz = 1u << 20;
	uint8_t *buf = malloc(bufsz);
	uint64_t off = 0, size = file_size(b);
	int ret = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	while (off < size) {
		ssize_t n = pread(b->outfd, buf, min_t(uint64_t, bufsz, size - off),
				  off);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, n);
		off += n;
	}
	if (!EVP_DigestFinal_ex(ctx, md, NULL))
		ret = -EIO;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

static const char *const compat_names[] = {
	"sb_csum", "mtime", "xattr_filter", "shared_ea_in_metabox",
	"plain_xattr_pfx", "ishare_xattrs",
};

static const char *const incompat_names[] = {
	"0padding", "compr_cfgs", "chunked_file", "device_table",
	"ztailpacking", "fragments", "xattr_prefixes", "48bit", "metabox",
};

static void put_features(FILE *f, uint32_t compat, uint32_t incompat)
{
	bool first = true;
	unsigned int i;

	fputs("\"features\": [", f);
	for (i = 0; i < ARRAY_SIZE(compat_names); i++)
		if (compat & (1u << i)) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", compat_names[i]);
			first = false;
		}
	for (i = 0; i < ARRAY_SIZE(incompat_names); i++)
		if (incompat & (1u << i)) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", incompat_names[i]);
			first = false;
		}
	fputc(']', f);
}

/* an object's opening and the fields every tree has, without the closing */
static void put_verity_fields(FILE *f, const struct erofs_mkfs_verity_report *v)
{
	char uuid[37];

	uuid_unparse_lower(v->uuid, uuid);
	fputs("{\"root_hash\": \"", f);
	put_hex(f, v->root_hash, sizeof(v->root_hash));
	fputs("\", \"salt\": \"", f);
	put_hex(f, v->salt, v->salt_size);
	fprintf(f, "\", \"hash_type\": 1, \"algorithm\": \"sha256\", "
		"\"data_blocks\": %llu, \"data_block_size\": %u, "
		"\"hash_block_size\": %u, \"hash_offset\": %llu, "
		"\"hash_start_block\": %llu, \"hash_bytes\": %llu, "
		"\"uuid\": \"%s\"",
		(unsigned long long)v->data_blocks, v->data_block_size,
		v->hash_block_size, (unsigned long long)v->hash_offset,
		(unsigned long long)v->hash_start_block,
		(unsigned long long)v->hash_bytes, uuid);
}

/* what a dm-verity table and veritysetup need, bound to the image */
static void put_verity(FILE *f, const struct erofs_mkfs_opts *o,
		       const struct erofs_mkfs_verity_report *v)
{
	if (!v->enabled) {
		fputs("null", f);
		return;
	}
	put_verity_fields(f, v);
	fprintf(f, ", \"placement\": \"%s\"}",
		o->verity_file ? "file" : "appended");
}

/* the device table: each device's id and size, and its own hash tree */
static void put_devices(FILE *f, const struct erofs_mkfs_report *r)
{
	unsigned int i;

	fputs(", \"devices\": [", f);
	for (i = 0; r->devices && i < r->nr_devices; i++) {
		const struct erofs_mkfs_device_report *d = &r->devices[i];

		fprintf(f, "%s{\"device\": %u, \"id\": \"%s\", \"blocks\": %llu, \"verity\": ",
			i ? ", " : "", i + 1, d->id,
			(unsigned long long)d->blocks);
		if (d->verity.enabled) {
			put_verity_fields(f, &d->verity);
			fputs(", ", f);
			put_bytes(f, "hash_file", (const uint8_t *)d->hash_file,
				  strlen(d->hash_file));
			fputc('}', f);
		} else {
			fputs("null", f);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

int erofs_manifest_prepare(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	const struct erofs_mkfs_report *r = b->report;
	struct walk w = { .first = true };
	uint8_t md[32];
	char uuid[37];
	int fd, ret;

	if (!o->manifest)
		return 0;
	ret = image_digest(b, md);
	if (ret)
		return erofs_output_failed(b, ret);
	if (asprintf(&b->manifest_tmp, "%s.XXXXXX", o->manifest) < 0) {
		b->manifest_tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(b->manifest_tmp, O_CLOEXEC);
	if (fd < 0 || !(w.f = fdopen(fd, "w"))) {
		ret = -errno;
		erofs_err(b, "cannot create manifest '%s': %s", o->manifest,
			  strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(b->manifest_tmp);
		}
		free(b->manifest_tmp);
		b->manifest_tmp = NULL;
		return ret;
	}
	uuid_unparse_lower(r->uuid, uuid);
	fputs("{\n  \"schema\": \"erofs-forge-manifest/1\",\n  \"image\": {", w.f);
	fputs("\"sha256\": \"", w.f);
	put_hex(w.f, md, sizeof(md));
	fprintf(w.f, "\", \"size\": %llu, \"block_size\": %u, \"blocks\": %llu, "
		"\"uuid\": \"%s\", \"build_time\": %lld, "
		"\"feature_compat\": %u, \"feature_incompat\": %u, ",
		(unsigned long long)file_size(b), b->bs,
		(unsigned long long)b->total_blocks, uuid, (long long)b->epoch,
		r->feature_compat, r->feature_incompat);
	put_features(w.f, r->feature_compat, r->feature_incompat);
	fputs(", \"fingerprint\": ", w.f);
	if (b->fp_md) {
		fputs("{", w.f);
		put_bytes(w.f, "name", (const uint8_t *)(o->fp_name ? o->fp_name :
			  EROFS_FINGERPRINT_DEFAULT_NAME),
			  strlen(o->fp_name ? o->fp_name :
				 EROFS_FINGERPRINT_DEFAULT_NAME));
		fprintf(w.f, ", \"algorithm\": \"%s\", \"prefix_id\": %d}",
			o->fp_algo, b->fp_prefix);
	} else {
		fputs("null", w.f);
	}
	fputs(", \"verity\": ", w.f);
	put_verity(w.f, o, &r->verity);
	put_devices(w.f, r);
	fputs("},\n  \"files\": [", w.f);
	w.path = malloc(256);
	ret = w.path ? 0 : -ENOMEM;
	if (!ret) {
		w.cap = 256;
		w.path[0] = '/';
		w.len = 1;
		ret = put_entry(b, &w, b->root);
	}
	if (!ret)
		ret = walk_dir(b, &w, b->root);
	free(w.path);
	fputs("\n  ]\n}\n", w.f);
	if (fflush(w.f) || ferror(w.f) || fsync(fileno(w.f)))
		ret = ret ? ret : -errno;
	if (fclose(w.f) && !ret)
		ret = -errno;
	if (ret) {
		erofs_err(b, "cannot write manifest '%s': %s", o->manifest,
			  strerror(-ret));
		erofs_manifest_abort(b);
	}
	return ret;
}

int erofs_manifest_commit(struct erofs_build *b)
{
	int ret = 0;

	if (!b->manifest_tmp)
		return 0;
	if (fchmodat(AT_FDCWD, b->manifest_tmp, 0644, 0) ||
	    rename(b->manifest_tmp, b->opts->manifest)) {
		ret = -errno;
		erofs_err(b, "cannot create manifest '%s': %s",
			  b->opts->manifest, strerror(errno));
		unlink(b->manifest_tmp);
	}
	free(b->manifest_tmp);
	b->manifest_tmp = NULL;
	return ret;
}

void erofs_manifest_abort(struct erofs_build *b)
{
	if (!b->manifest_tmp)
		return;
	unlink(b->manifest_tmp);
	free(b->manifest_tmp);
	b->manifest_tmp = NULL;
}
