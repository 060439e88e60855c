// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Tar archives as the source (--tar): one pass over the stream with
 * libarchive (ustar, GNU and PAX; gzip, zstd, xz or bzip2 found by content),
 * filling the same in-memory tree a directory would, so that the image of
 * a tar of a tree is the image of the tree.  Owners, modes, times and xattrs
 * come from the archive, not from this machine.
 *
 * The plan wants the whole tree before any data is placed, and a stream
 * cannot wait for it.  In full mode each file's data goes to a spool (an
 * unnamed temporary file next to the image) as it passes, and the writer
 * copies it from there to its planned place.  In index mode the data stays
 * in the archive, which becomes the image's one extra device: with 512-byte
 * blocks every entry's data starts on a block of it.  Either way the
 * fingerprints are computed from the stream, and in index mode so is the
 * archive's SHA-256, the device's tag.
 *
 * Later entries win, as extraction has it: an entry replaces whatever an
 * earlier one left at its path (a directory with everything below it),
 * except that a directory over a directory only takes the new attributes.
 * With --oci, a regular file .wh.NAME becomes an overlayfs whiteout at NAME
 * and .wh..wh..opq makes its directory opaque; an entry of the same layer
 * at NAME, before or after the whiteout, stays.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include "internal.h"
#include "fingerprint.h"

#define TAR_BUFSIZE	(1u << 20)
#define SPOOL_ALIGN	4096ull
#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

struct tar_src {
	struct erofs_build *b;
	struct archive *a;
	int fd;
	const char *shown;		/* the archive, for messages */
	uint8_t *rbuf;
	int read_err;			/* errno of a failed read, or 0 */
	EVP_MD_CTX *id_ctx;		/* index mode: the archive's SHA-256 */
	void *fp_ctx;
	bool index;
	uint64_t spool_end;

	/* every entry by (directory, name) */
	struct erofs_dentry **names;
	uint64_t names_size, names_count;

	/* directories that .wh..wh..opq made opaque */
	struct erofs_inode **opaque;
	size_t nr_opaque, cap_opaque;

	char *path;			/* the entry's path below the root */
	size_t path_len, path_cap;
	char *link;			/* a hard link's target, likewise */
	size_t link_cap;
	uint64_t nr_entries;		/* read so far */
	uint64_t entry_end;		/* where the last entry ends */
};

/* ------------------------------------------------------------ messages */

static int entry_err(struct tar_src *t, const char *path, int err,
		     const char *why)
{
	erofs_err(t->b, "cannot use tar entry '%s' of '%s': %s", path, t->shown,
		  why);
	return err;
}

static int archive_fail(struct tar_src *t, const char *path)
{
	const char *why = archive_error_string(t->a);
	int err = t->read_err ? -t->read_err : -EFSCORRUPTED;

	if (t->read_err)
		why = strerror(t->read_err);
	if (path)
		erofs_err(t->b, "cannot read tar entry '%s' of '%s': %s", path,
			  t->shown, why ? why : "corrupt archive");
	else if (t->nr_entries)
		erofs_err(t->b, "cannot read tar archive '%s': %s (after entry '%s')",
			  t->shown, why ? why : "corrupt archive", t->path);
	else
		erofs_err(t->b, "cannot read tar archive '%s': %s", t->shown,
			  why ? why : "corrupt archive");
	return err;
}

/* ------------------------------------------------------------ the stream */

static la_ssize_t tar_read(struct archive *a, void *priv, const void **buf)
{
	struct tar_src *t = priv;
	ssize_t n;

	do {
		n = read(t->fd, t->rbuf, TAR_BUFSIZE);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		t->read_err = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if (t->id_ctx && n && !EVP_DigestUpdate(t->id_ctx, t->rbuf, n)) {
		archive_set_error(a, EINVAL, "digest failed");
		return -1;
	}
	*buf = t->rbuf;
	return n;
}

/* what follows the end-of-archive blocks: hashed, and a writer not cut off */
static int drain(struct tar_src *t)
{
	const void *buf;

	for (;;) {
		la_ssize_t n = tar_read(t->a, t, &buf);

		if (n < 0)
			return archive_fail(t, NULL);
		if (!n)
			return 0;
	}
}

/* ------------------------------------------------------------ names */

static uint64_t name_hash(const struct erofs_inode *dir, const char *name,
			  size_t len)
{
	return XXH3_64bits_withSeed(name, len, (uint64_t)(uintptr_t)dir);
}

static struct erofs_dentry *lookup(struct tar_src *t, struct erofs_inode *dir,
				   const char *name, size_t len)
{
	uint64_t i;

	if (!t->names_size)
		return NULL;
	for (i = name_hash(dir, name, len) & (t->names_size - 1); t->names[i];
	     i = (i + 1) & (t->names_size - 1)) {
		struct erofs_dentry *d = t->names[i];

		if (d->parent == dir && d->namelen == len &&
		    !memcmp(d->name, name, len))
			return d;
	}
	return NULL;
}

static void names_put(struct erofs_dentry **tab, uint64_t size,
		      struct erofs_dentry *d)
{
	uint64_t i;

	for (i = name_hash(d->parent, d->name, d->namelen) & (size - 1); tab[i];
	     i = (i + 1) & (size - 1))
		;
	tab[i] = d;
}

static int names_insert(struct tar_src *t, struct erofs_dentry *d)
{
	if ((t->names_count + 1) * 2 > t->names_size) {
		uint64_t nsize = t->names_size ? t->names_size * 2 : 1024, j;
		struct erofs_dentry **n = calloc(nsize, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (j = 0; j < t->names_size; j++)
			if (t->names[j])
				names_put(n, nsize, t->names[j]);
		free(t->names);
		t->names = n;
		t->names_size = nsize;
	}
	names_put(t->names, t->names_size, d);
	t->names_count++;
	return 0;
}

/*
 * The path below the root, without "." components, repeated or trailing
 * slashes: -EXDEV when it is absolute or has a ".." component.
 */
static int normalize(const char *raw, char **out, size_t *cap, size_t *olen)
{
	size_t len = strlen(raw), o = 0;
	const char *p = raw, *end = raw + len;

	if (raw[0] == '/')
		return -EXDEV;
	if (len + 1 > *cap) {
		char *n = realloc(*out, len + 1);

		if (!n)
			return -ENOMEM;
		*out = n;
		*cap = len + 1;
	}
	while (p < end) {
		const char *q = memchr(p, '/', end - p);
		size_t n;

		if (!q)
			q = end;
		n = q - p;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EXDEV;
		if (n && !(n == 1 && p[0] == '.')) {
			if (o)
				(*out)[o++] = '/';
			memcpy(*out + o, p, n);
			o += n;
		}
		p = q + 1;
	}
	(*out)[o] = '\0';
	*olen = o;
	return 0;
}

/* an entry or any directory above it left out by --exclude-* */
static bool excluded(struct tar_src *t)
{
	const struct erofs_mkfs_opts *o = t->b->opts;
	bool ex = false;
	char *p;

	if (!o->nr_exclude_paths && !o->nr_exclude_regexes)
		return false;
	for (p = t->path; !ex && (p = strchr(p, '/')); p++) {
		*p = '\0';
		ex = erofs_path_excluded(t->b, t->path);
		*p = '/';
	}
	return ex || erofs_path_excluded(t->b, t->path);
}

/* ------------------------------------------------------------ the tree */

static struct erofs_inode *new_inode(struct tar_src *t)
{
	struct erofs_inode *inode = erofs_new_inode(t->b);

	if (!IS_ERR(inode))
		inode->nlink = 1;
	return inode;
}

/* a directory the archive names only as a parent: root's, fixed */
static void implicit_dir(struct erofs_inode *inode)
{
	inode->mode = S_IFDIR | 0755;
}

static struct erofs_dentry *add_entry(struct tar_src *t, struct erofs_inode *dir,
				      const char *name, size_t len)
{
	struct erofs_dentry *d = erofs_new_dentry(dir, name, len);
	int ret;

	if (IS_ERR(d))
		return d;
	ret = erofs_add_child(dir, d);
	if (ret) {
		free(d);
		return ERR_PTR(ret);
	}
	ret = names_insert(t, d);
	return ret ? ERR_PTR(ret) : d;
}

/* the directory holding t->path, made where missing; *name: the last part */
static int find_parent(struct tar_src *t, struct erofs_inode **dirp,
		       const char **name)
{
	struct erofs_inode *dir = t->b->root;
	char *p = t->path, *slash;

	while ((slash = strchr(p, '/'))) {
		size_t len = slash - p;
		struct erofs_dentry *d = lookup(t, dir, p, len);

		if (len > EROFS_NAME_LEN)
			goto toolong;
		if (!d) {
			struct erofs_inode *sub;

			d = add_entry(t, dir, p, len);
			if (IS_ERR(d))
				return PTR_ERR(d);
			sub = new_inode(t);
			if (IS_ERR(sub))
				return PTR_ERR(sub);
			implicit_dir(sub);
			d->inode = sub;
			sub->dentry = d;
		} else if (!S_ISDIR(d->inode->mode)) {
			char *why;
			int ret;

			*slash = '\0';
			ret = asprintf(&why, "'%s' is not a directory", t->path);
			*slash = '/';
			if (ret < 0)
				return -ENOMEM;
			ret = entry_err(t, t->path, -ENOTDIR, why);
			free(why);
			return ret;
		}
		dir = d->inode;
		p = slash + 1;
	}
	if (strlen(p) > EROFS_NAME_LEN)
		goto toolong;
	*dirp = dir;
	*name = p;
	return 0;
toolong:
	erofs_err(t->b, "cannot store tar entry '%s' of '%s': name longer than %d bytes",
		  t->path, t->shown, EROFS_NAME_LEN);
	return -ENAMETOOLONG;
}

/* the entry a path names now, or NULL */
static struct erofs_dentry *resolve(struct tar_src *t, const char *path)
{
	struct erofs_inode *dir = t->b->root;
	struct erofs_dentry *d = NULL;
	const char *p = path;

	if (!*path)
		return t->b->root->dentry;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		d = lookup(t, dir, p, len);
		if (!d || !slash)
			return d;
		if (!S_ISDIR(d->inode->mode))
			return NULL;
		dir = d->inode;
		p = slash + 1;
	}
}

static void drop_xattrs(struct erofs_inode *inode)
{
	uint16_t i;

	for (i = 0; i < inode->nr_xattrs; i++)
		inode->xattrs[i]->count--;
	free(inode->xattrs);
	inode->xattrs = NULL;
	inode->nr_xattrs = 0;
}

/* ------------------------------------------------------------ attributes */

/*
 * libarchive sets the group bits of the mode from an access ACL's group
 * entry; with a mask entry the file's group bits are the mask's.
 */
static void acl_mode(struct erofs_inode *inode, struct archive_entry *e)
{
	int n = archive_entry_acl_reset(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS);
	int type, perm, tag, id;
	const char *name;

	while (n-- > 0 && archive_entry_acl_next(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
						 &type, &perm, &tag, &id,
						 &name) == ARCHIVE_OK)
		if (tag == ARCHIVE_ENTRY_ACL_MASK)
			inode->mode = (inode->mode & ~070u) | ((perm & 7) << 3);
}

static int set_attrs(struct tar_src *t, struct erofs_inode *inode,
		     struct archive_entry *e)
{
	const struct erofs_mkfs_opts *o = t->b->opts;
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return entry_err(t, t->path, -EOVERFLOW,
				 "owner or group out of range");
	inode->mode = archive_entry_mode(e);
	inode->uid = o->force_uid >= 0 ? (uint32_t)o->force_uid : (uint32_t)uid;
	inode->gid = o->force_gid >= 0 ? (uint32_t)o->force_gid : (uint32_t)gid;
	inode->mtime = 0;
	inode->mtime_nsec = 0;
	if (archive_entry_mtime_is_set(e)) {
		inode->mtime = archive_entry_mtime(e);
		inode->mtime_nsec = archive_entry_mtime_nsec(e);
		if (inode->mtime_nsec >= 1000000000)
			inode->mtime_nsec = 0;
	}
	if (o->fixed_time ||
	    (o->clamp_time && inode->mtime >= o->timestamp)) {
		inode->mtime = o->timestamp;
		inode->mtime_nsec = 0;
	}
	if (S_ISCHR(inode->mode) || S_ISBLK(inode->mode)) {
		inode->rdev_major = archive_entry_rdevmajor(e);
		inode->rdev_minor = archive_entry_rdevminor(e);
	}
	acl_mode(inode, e);
	return 0;
}

static int add_xattr(struct tar_src *t, struct erofs_inode *inode,
		     const char *name, const void *value, size_t size)
{
	int ret = erofs_xattr_add(t->b, inode, name, value, size);

	if (ret == -EOPNOTSUPP) {
		erofs_warn(t->b, "leaving out xattr %s of tar entry '%s': EROFS has no namespace for it",
			   name, t->path);
		return 0;
	}
	if (ret == -E2BIG || ret == -ENAMETOOLONG)
		erofs_err(t->b, "cannot store xattr %s of tar entry '%s': too large for EROFS",
			  name, t->path);
	return ret;
}

/*
 * POSIX ACLs that the archive keeps as ACL records (SCHILY.acl.*) rather
 * than as xattrs, in the system.posix_acl_* form a directory source reads.
 */
struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

static void put_le(uint8_t *p, uint32_t v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[i] = v >> (8 * i);
}

static int acl_ent_cmp(const void *x, const void *y)
{
	const struct acl_ent *a = x, *c = y;

	if (a->tag != c->tag)
		return a->tag < c->tag ? -1 : 1;
	return a->id < c->id ? -1 : a->id > c->id;
}

static int add_acl(struct tar_src *t, struct erofs_inode *inode,
		   struct archive_entry *e, int type, const char *name)
{
	struct acl_ent *v;
	uint8_t *buf;
	int n, i = 0, k, etype, perm, tag, id, ret;
	const char *ename;

	n = archive_entry_acl_reset(e, type);
	if (n <= 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < n && archive_entry_acl_next(e, type, &etype, &perm, &tag, &id,
					       &ename) == ARCHIVE_OK) {
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ:
			v[i] = (struct acl_ent){ 0x01, 0, UINT32_MAX };
			break;
		case ARCHIVE_ENTRY_ACL_USER:
			v[i] = (struct acl_ent){ 0x02, 0, (uint32_t)id };
			break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
			v[i] = (struct acl_ent){ 0x04, 0, UINT32_MAX };
			break;
		case ARCHIVE_ENTRY_ACL_GROUP:
			v[i] = (struct acl_ent){ 0x08, 0, (uint32_t)id };
			break;
		case ARCHIVE_ENTRY_ACL_MASK:
			v[i] = (struct acl_ent){ 0x10, 0, UINT32_MAX };
			break;
		case ARCHIVE_ENTRY_ACL_OTHER:
			v[i] = (struct acl_ent){ 0x20, 0, UINT32_MAX };
			break;
		default:
			continue;
		}
		v[i++].perm = perm & 7;
	}
	n = i;
	qsort(v, n, sizeof(*v), acl_ent_cmp);
	buf = malloc(4 + 8 * (size_t)n);
	if (!buf) {
		free(v);
		return -ENOMEM;
	}
	put_le(buf, 2, 4);	/* the xattr format's version */
	for (k = 0; k < n; k++) {
		put_le(buf + 4 + 8 * k, v[k].tag, 2);
		put_le(buf + 6 + 8 * k, v[k].perm, 2);
		put_le(buf + 8 + 8 * k, v[k].id, 4);
	}
	ret = add_xattr(t, inode, name, buf, 4 + 8 * (size_t)n);
	free(buf);
	free(v);
	return ret;
}

static bool has_xattr(const struct erofs_inode *inode, const char *name)
{
	uint16_t i;

	for (i = 0; i < inode->nr_xattrs; i++)
		if (!strcmp(inode->xattrs[i]->name, name))
			return true;
	return false;
}

static int read_xattrs(struct tar_src *t, struct erofs_inode *inode,
		       struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	int ret;

	if (t->b->opts->xattr_tolerance < 0)
		return 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		/* bsdtar writes each one twice, as LIBARCHIVE.* and SCHILY.* */
		if (has_xattr(inode, name))
			continue;
		ret = add_xattr(t, inode, name, value, size);
		if (ret)
			return ret;
	}
	if (!has_xattr(inode, "system.posix_acl_access")) {
		ret = add_acl(t, inode, e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
			      "system.posix_acl_access");
		if (ret)
			return ret;
	}
	if (S_ISDIR(inode->mode) && !has_xattr(inode, "system.posix_acl_default"))
		return add_acl(t, inode, e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT,
			       "system.posix_acl_default");
	return 0;
}

/* ------------------------------------------------------------ file data */

static int add_extent(struct erofs_inode *inode, uint32_t *cap, uint64_t off,
		      uint64_t len)
{
	struct erofs_extent *last = inode->nr_extents ?
		&inode->extents[inode->nr_extents - 1] : NULL;

	if (last && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (inode->nr_extents == *cap) {
		struct erofs_extent *n;

		*cap = *cap ? *cap * 2 : 8;
		n = realloc(inode->extents, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		inode->extents = n;
	}
	inode->extents[inode->nr_extents++] =
		(struct erofs_extent){ .off = off, .len = len };
	return 0;
}

static int spool_write(struct tar_src *t, const void *buf, size_t len,
		       uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(t->b->spool_fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			erofs_err(t->b, "failed to write the spool next to image '%s': %s",
				  t->b->opts->image_path, strerror(errno));
			return -errno;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Index mode: a sparse entry's data regions lie one after the other in the
 * archive.  Chunks as large as the regions' alignment allow, each all hole
 * or all data in place; the planner merges what it can.
 */
static int index_chunks(struct tar_src *t, struct erofs_inode *inode,
			const uint64_t *phys)
{
	struct erofs_build *b = t->b;
	uint64_t align = 0, cs;
	uint32_t i, c, cb;

	for (i = 0; i < inode->nr_extents; i++) {
		const struct erofs_extent *x = &inode->extents[i];

		align |= x->off | phys[i];
		if (x->off + x->len < inode->size)
			align |= x->len;
	}
	cb = align ? __builtin_ctzll(align) : 63;
	if (cb < b->blkszbits)
		return entry_err(t, t->path, -EINVAL,
				 "its sparse data is not at 512-byte boundaries, so it cannot be read in place");
	cb = min_t(uint32_t, cb - b->blkszbits, EROFS_CHUNK_FORMAT_BLKBITS_MASK);
	while (cb && DIV_ROUND_UP(inode->size, (uint64_t)b->bs << cb) < 2)
		cb--;
	cs = (uint64_t)b->bs << cb;
	if (DIV_ROUND_UP(inode->size, cs) > UINT32_MAX)
		return -EFBIG;
	inode->wchunkbits = cb;
	inode->nr_wchunks = DIV_ROUND_UP(inode->size, cs);
	inode->chunks = calloc(inode->nr_wchunks, sizeof(*inode->chunks));
	if (!inode->chunks)
		return -ENOMEM;
	for (c = 0, i = 0; c < inode->nr_wchunks; c++) {
		uint64_t start = c * cs;
		struct erofs_chunk *ch = &inode->chunks[c];

		while (i < inode->nr_extents &&
		       inode->extents[i].off + inode->extents[i].len <= start)
			i++;
		if (i == inode->nr_extents || inode->extents[i].off > start) {
			ch->flags = EROFS_CHUNK_HOLE;
			continue;
		}
		ch->flags = EROFS_CHUNK_EXT;
		ch->blk = (phys[i] + (start - inode->extents[i].off)) >>
			  b->blkszbits;
	}
	inode->datalayout = EROFS_INODE_CHUNK_BASED;
	b->any_chunked = true;
	return 0;
}

static int read_data(struct tar_src *t, struct erofs_inode *inode)
{
	struct erofs_build *b = t->b;
	uint64_t base = round_up(t->spool_end, SPOOL_ALIGN), expect = 0;
	uint64_t covered = 0, *phys = NULL;
	uint32_t cap = 0;
	bool hash = b->fp_md != NULL;
	int ret;

	if (hash) {
		ret = erofs_fingerprint_init(b, &t->fp_ctx);
		if (ret)
			return ret;
	}
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(t->a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return archive_fail(t, t->path);
		if (off < 0 || (uint64_t)off < expect ||
		    (uint64_t)off + len > inode->size)
			return entry_err(t, t->path, -EFSCORRUPTED,
					 "its data does not fit its size");
		if (!len)
			continue;
		if (hash && (uint64_t)off > expect) {
			ret = erofs_fingerprint_zeros(t->fp_ctx, off - expect);
			if (ret)
				return ret;
		}
		if (hash) {
			ret = erofs_fingerprint_update(t->fp_ctx, buf, len);
			if (ret)
				return ret;
		}
		if (t->index) {
			uint64_t pos = archive_filter_bytes(t->a, 0);
			struct erofs_extent *last = inode->nr_extents ?
				&inode->extents[inode->nr_extents - 1] : NULL;
			uint32_t n = inode->nr_extents;

			/* contiguous in the file: contiguous in the archive */
			if (last && last->off + last->len == (uint64_t)off &&
			    phys[n - 1] + last->len != pos)
				return entry_err(t, t->path, -EFSCORRUPTED,
						 "its data is not where the archive says");
			ret = add_extent(inode, &cap, off, len);
			if (ret)
				return ret;
			if (inode->nr_extents != n) {
				uint64_t *np = realloc(phys, cap * sizeof(*np));

				if (!np) {
					free(phys);
					return -ENOMEM;
				}
				phys = np;
				phys[n] = pos;
			}
		} else {
			ret = spool_write(t, buf, len, base + off);
			if (ret)
				return ret;
			ret = add_extent(inode, &cap, off, len);
			if (ret)
				return ret;
		}
		covered += len;
		expect = off + len;
		t->entry_end = max_t(uint64_t, t->entry_end,
				     round_up(archive_filter_bytes(t->a, 0) + len,
					      512ull));
	}
	if (hash && expect < inode->size) {
		ret = erofs_fingerprint_zeros(t->fp_ctx, inode->size - expect);
		if (ret)
			goto out;
	}
	if (hash) {
		inode->fp_size = erofs_fingerprint_size(b);
		ret = erofs_fingerprint_final(b, t->fp_ctx, inode);
		if (ret)
			goto out;
	}

	if (t->index) {
		/* one run from offset 0 to the end: flat, in place */
		if (inode->nr_extents == 1 && !inode->extents[0].off &&
		    inode->extents[0].len == inode->size) {
			inode->ext_data = true;
			inode->datalayout = EROFS_INODE_FLAT_PLAIN;
			inode->ext_blk = phys[0] >> b->blkszbits;
			if (phys[0] & (b->bs - 1))
				ret = entry_err(t, t->path, -EINVAL,
						"its data is not at a 512-byte boundary, so it cannot be read in place");
		} else {
			inode->ext_data = true;
			ret = index_chunks(t, inode, phys);
		}
		free(inode->extents);
		inode->extents = NULL;
		inode->nr_extents = 0;
		goto out;
	}
	inode->spool_off = base;
	t->spool_end = base + inode->size;
	/* as a directory source sees it: chunk-based when a block is a hole */
	if (inode->size < b->bs || covered + b->bs > inode->size) {
		free(inode->extents);
		inode->extents = NULL;
		inode->nr_extents = 0;
	} else if (!inode->extents) {
		inode->extents = malloc(sizeof(*inode->extents));
		if (!inode->extents)
			ret = -ENOMEM;
	}
out:
	free(phys);
	return ret;
}

/* ------------------------------------------------------------ entries */

static bool is_whiteout(const struct erofs_inode *inode)
{
	return S_ISCHR(inode->mode) && !inode->rdev_major && !inode->rdev_minor;
}

static int note_opaque(struct tar_src *t, struct erofs_inode *dir)
{
	if (t->nr_opaque == t->cap_opaque) {
		size_t cap = t->cap_opaque ? t->cap_opaque * 2 : 16;
		struct erofs_inode **n = realloc(t->opaque, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->opaque = n;
		t->cap_opaque = cap;
	}
	t->opaque[t->nr_opaque++] = dir;
	return 0;
}

/* --oci: 1 when the entry was a marker and is consumed */
static int oci_marker(struct tar_src *t, struct archive_entry *e,
		      struct erofs_inode *dir, const char *name)
{
	size_t len = strlen(name);
	struct erofs_dentry *d;
	struct erofs_inode *wh;
	int ret;

	if (!t->b->opts->oci || archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) || strncmp(name, WH_PREFIX, 4))
		return 0;
	if (!strcmp(name, WH_OPAQUE)) {
		ret = note_opaque(t, dir);
		return ret ? ret : 1;
	}
	if (!strncmp(name, WH_PREFIX WH_PREFIX, 8)) {
		erofs_warn(t->b, "leaving out tar entry '%s': not an OCI whiteout",
			   t->path);
		return 1;
	}
	name += 4;
	len -= 4;
	if (!len || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return entry_err(t, t->path, -EINVAL,
				 "a whiteout must name an entry of its directory");
	d = lookup(t, dir, name, len);
	/* this layer's own entry at the name stays */
	if (d && !is_whiteout(d->inode))
		return 1;
	wh = new_inode(t);
	if (IS_ERR(wh))
		return PTR_ERR(wh);
	ret = set_attrs(t, wh, e);
	if (ret)
		return ret;
	wh->mode = S_IFCHR | (wh->mode & 07777);
	wh->rdev_major = wh->rdev_minor = 0;
	if (!d) {
		d = add_entry(t, dir, name, len);
		if (IS_ERR(d))
			return PTR_ERR(d);
	}
	d->inode = wh;
	wh->dentry = d;
	return 1;
}

static int take_entry(struct tar_src *t, struct archive_entry *e)
{
	struct erofs_build *b = t->b;
	const char *raw = archive_entry_pathname(e), *name = NULL, *target;
	unsigned int type = archive_entry_filetype(e);
	struct erofs_dentry *d, *ld = NULL;
	struct erofs_inode *dir = NULL, *inode;
	int ret;

	if (!raw)
		return archive_fail(t, "?");
	ret = normalize(raw, &t->path, &t->path_cap, &t->path_len);
	if (ret == -EXDEV)
		return entry_err(t, raw, -EXDEV, "its path leaves the root");
	if (ret)
		return ret;
	target = archive_entry_hardlink(e);
	if (excluded(t))
		return 0;

	/* the root itself */
	if (!t->path_len) {
		if (target || type != AE_IFDIR)
			return entry_err(t, raw, -EINVAL,
					 "the root must be a directory");
		drop_xattrs(b->root);
		ret = set_attrs(t, b->root, e);
		return ret ? ret : read_xattrs(t, b->root, e);
	}

	if (target) {
		ret = normalize(target, &t->link, &t->link_cap, &(size_t){ 0 });
		if (ret == -EXDEV)
			return entry_err(t, t->path, -EXDEV,
					 "its hard link target leaves the root");
		if (ret)
			return ret;
		ld = resolve(t, t->link);
		if (!ld || !ld->inode) {
			char *why;

			if (asprintf(&why, "hard link to '%s', which is not in the archive before it",
				     t->link) < 0)
				return -ENOMEM;
			ret = entry_err(t, t->path, -ENOENT, why);
			free(why);
			return ret;
		}
		if (S_ISDIR(ld->inode->mode))
			return entry_err(t, t->path, -EPERM,
					 "hard link to a directory");
	} else {
		switch (type) {
		case AE_IFREG:
		case AE_IFDIR:
		case AE_IFLNK:
		case AE_IFCHR:
		case AE_IFBLK:
		case AE_IFIFO:
		case AE_IFSOCK:
			break;
		default: {
			char why[64];

			snprintf(why, sizeof(why),
				 "unsupported entry type (file type 0%o)", type);
			return entry_err(t, t->path, -EOPNOTSUPP, why);
		}
		}
	}

	ret = find_parent(t, &dir, &name);
	if (ret)
		return ret;
	ret = oci_marker(t, e, dir, name);
	if (ret)
		return ret < 0 ? ret : 0;
	d = lookup(t, dir, name, strlen(name));

	if (target) {
		if (d && d->inode == ld->inode)
			return 0;
		if (!d) {
			d = add_entry(t, dir, name, strlen(name));
			if (IS_ERR(d))
				return PTR_ERR(d);
		}
		d->inode = ld->inode;
		return 0;
	}

	/* a directory over a directory: only the attributes change */
	if (d && type == AE_IFDIR && S_ISDIR(d->inode->mode)) {
		drop_xattrs(d->inode);
		ret = set_attrs(t, d->inode, e);
		return ret ? ret : read_xattrs(t, d->inode, e);
	}

	inode = new_inode(t);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	ret = set_attrs(t, inode, e);
	if (ret)
		return ret;
	if (type == AE_IFLNK) {
		const char *s = archive_entry_symlink(e);
		size_t len = s ? strlen(s) : 0;

		if (!len)
			return entry_err(t, t->path, -EINVAL,
					 "a symlink without a target");
		if (len > PATH_MAX)
			return entry_err(t, t->path, -ENAMETOOLONG,
					 "symlink target too long");
		inode->symlink = strdup(s);
		if (!inode->symlink)
			return -ENOMEM;
		inode->size = len;
	}
	ret = read_xattrs(t, inode, e);
	if (ret)
		return ret;
	if (type == AE_IFREG) {
		la_int64_t size = archive_entry_size(e);

		if (size < 0)
			return entry_err(t, t->path, -EFSCORRUPTED,
					 "negative size");
		inode->size = size;
		if (size) {
			ret = read_data(t, inode);
			if (ret)
				return ret;
		}
	}
	if (!d) {
		d = add_entry(t, dir, name, strlen(name));
		if (IS_ERR(d))
			return PTR_ERR(d);
	}
	d->inode = inode;
	inode->dentry = d;
	return 0;
}

/* ------------------------------------------------------------ the end */

/*
 * Entries replaced by later ones leave inodes nothing names: walked from
 * the root in name order, each inode reached gets its first entry and its
 * link count; the others go.
 */
static void settle_tree(struct erofs_build *b, struct erofs_inode *dir)
{
	uint32_t i;

	erofs_sort_children(dir);
	dir->nlink = 2;
	for (i = 0; i < dir->nr_children; i++) {
		struct erofs_dentry *d = dir->children[i];
		struct erofs_inode *inode = d->inode;

		if (inode->ext_seen) {
			inode->nlink++;
			if (b->report)
				b->report->hardlinks++;
			continue;
		}
		inode->ext_seen = true;
		inode->dentry = d;
		inode->nlink = 1;
		if (S_ISDIR(inode->mode)) {
			dir->nlink++;
			settle_tree(b, inode);
		}
	}
}

static void free_inode(struct erofs_inode *inode)
{
	uint32_t j;

	for (j = 0; j < inode->nr_children; j++)
		free(inode->children[j]);
	free(inode->children);
	drop_xattrs(inode);
	free(inode->extents);
	free(inode->chunks);
	free(inode->symlink);
	free(inode->fp_value);
	free(inode);
}

static int finish_tree(struct tar_src *t)
{
	struct erofs_build *b = t->b;
	uint64_t i, n;
	size_t k;
	int ret;

	settle_tree(b, b->root);
	b->root->ext_seen = true;
	for (k = 0; k < t->nr_opaque; k++) {
		struct erofs_inode *dir = t->opaque[k];

		if (!dir->ext_seen || has_xattr(dir, "trusted.overlay.opaque"))
			continue;
		ret = erofs_xattr_add(b, dir, "trusted.overlay.opaque", "y", 1);
		if (ret)
			return ret;
	}
	for (i = n = 0; i < b->nr_inodes; i++) {
		struct erofs_inode *inode = b->inodes[i];

		if (inode->ext_seen)
			b->inodes[n++] = inode;
		else
			free_inode(inode);
	}
	b->nr_inodes = n;
	return 0;
}

/* index mode: the archive as the one device, named by its SHA-256 */
static int add_device(struct tar_src *t)
{
	struct erofs_build *b = t->b;
	uint8_t digest[EVP_MAX_MD_SIZE];
	static const char digits[] = "0123456789abcdef";
	char id[65], *what;
	unsigned int dlen, i;
	uint64_t k;
	int ref;

	if (!EVP_DigestFinal_ex(t->id_ctx, digest, &dlen) || dlen != 32)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		id[2 * i] = digits[digest[i] >> 4];
		id[2 * i + 1] = digits[digest[i] & 15];
	}
	id[64] = '\0';
	if (asprintf(&what, "tar archive '%s'", t->shown) < 0)
		return -ENOMEM;
	ref = erofs_blobs_add_external(b, what, b->opts->source_path, id);
	free(what);
	if (ref < 0)
		return ref;
	for (k = 0; k < b->nr_inodes; k++) {
		struct erofs_inode *inode = b->inodes[k];
		uint32_t c;

		if (!inode->ext_data)
			continue;
		inode->ext_ref = ref;
		if (inode->datalayout != EROFS_INODE_CHUNK_BASED) {
			erofs_blobs_note_reuse(b, ref, inode->size);
			continue;
		}
		for (c = 0; c < inode->nr_wchunks; c++) {
			if (inode->chunks[c].flags & EROFS_CHUNK_HOLE)
				continue;
			inode->chunks[c].ref = ref;
			erofs_blobs_note_reuse(b, ref, (uint64_t)b->bs <<
					       inode->wchunkbits);
		}
	}
	return 0;
}

static int open_spool(struct erofs_build *b)
{
	char *dcopy = strdup(b->opts->image_path), *tmp;
	int fd;

	if (!dcopy)
		return -ENOMEM;
	/* unnamed: gone with the process, whatever happens */
	fd = open(dirname(dcopy), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	free(dcopy);
	if (fd >= 0) {
		b->spool_fd = fd;
		return 0;
	}
	fd = erofs_tmpfile_create(b, b->opts->image_path, NULL, 2, &tmp);
	if (fd < 0) {
		erofs_err(b, "cannot create a spool next to image '%s': %s",
			  b->opts->image_path, strerror(-fd));
		return fd;
	}
	unlink(tmp);
	free(tmp);
	if (b->opts->tmpfile)
		b->opts->tmpfile(b->opts->cb_ctx, 2, NULL);
	b->spool_fd = fd;
	return 0;
}

static int open_archive(struct tar_src *t)
{
	struct erofs_build *b = t->b;
	const char *path = b->opts->source_path;
	struct stat st;

	t->shown = path ? path : "-";
	if (!path) {
		t->fd = STDIN_FILENO;
	} else {
		t->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (t->fd < 0) {
			int err = errno;

			erofs_err(b, "cannot open tar archive '%s': %s", path,
				  strerror(err));
			return -err;
		}
	}
	if (t->index) {
		if (!path || fstat(t->fd, &st) || !S_ISREG(st.st_mode)) {
			erofs_err(b, "cannot use tar archive '%s' in index mode: the image reads its data in place, so it must be a regular file",
				  t->shown);
			return -EINVAL;
		}
		t->id_ctx = EVP_MD_CTX_new();
		if (!t->id_ctx || !EVP_DigestInit_ex(t->id_ctx, EVP_sha256(), NULL))
			return -ENOMEM;
	}
	posix_fadvise(t->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	t->rbuf = malloc(TAR_BUFSIZE);
	t->a = archive_read_new();
	if (!t->rbuf || !t->a)
		return -ENOMEM;
	if (archive_read_support_filter_all(t->a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(t->a) != ARCHIVE_OK)
		return archive_fail(t, NULL);
	if (archive_read_open(t->a, t, NULL, tar_read, NULL) != ARCHIVE_OK)
		return archive_fail(t, NULL);
	return 0;
}

int erofs_source_tar_scan(struct erofs_build *b)
{
	struct tar_src t = { .b = b, .fd = -1 };
	struct archive_entry *e;
	bool first = true;
	int ret, r;

	t.index = b->opts->tar_mode == EROFS_TAR_INDEX;
	b->root = new_inode(&t);
	if (IS_ERR(b->root)) {
		ret = PTR_ERR(b->root);
		b->root = NULL;
		return ret;
	}
	implicit_dir(b->root);
	b->root->dentry = erofs_new_dentry(NULL, "", 0);
	if (IS_ERR(b->root->dentry)) {
		ret = PTR_ERR(b->root->dentry);
		b->root->dentry = NULL;
		return ret;
	}
	b->root->dentry->inode = b->root;

	ret = open_archive(&t);
	if (!ret && !t.index)
		ret = open_spool(b);
	while (!ret) {
		r = archive_read_next_header(t.a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			ret = archive_fail(&t, NULL);
			break;
		}
		if (r == ARCHIVE_WARN)
			erofs_dbg(b, "tar archive '%s': %s", t.shown,
				  archive_error_string(t.a));
		if (first && t.index && archive_filter_count(t.a) > 1) {
			erofs_err(b, "cannot use tar archive '%s' in index mode: it is %s-compressed, and the image can only read uncompressed data in place",
				  t.shown, archive_filter_name(t.a, 0));
			ret = -EINVAL;
			break;
		}
		first = false;
		/* the data's end; a sparse entry's size is not its length here */
		t.entry_end = archive_filter_bytes(t.a, 0);
		if (!archive_entry_sparse_count(e) && archive_entry_size(e) > 0)
			t.entry_end += round_up((uint64_t)archive_entry_size(e),
						512ull);
		ret = take_entry(&t, e);
		t.nr_entries++;
	}
	/*
	 * libarchive takes the end of the stream at an entry boundary for the
	 * end of the archive: without the zero blocks that mark the end, the
	 * archive was cut short.
	 */
	if (!ret && (uint64_t)archive_filter_bytes(t.a, 0) < t.entry_end + 512) {
		if (t.nr_entries)
			erofs_err(b, "cannot read tar archive '%s': it ends without the end-of-archive blocks, after entry '%s': truncated?",
				  t.shown, t.path);
		else
			erofs_err(b, "cannot read tar archive '%s': it ends without the end-of-archive blocks: truncated?",
				  t.shown);
		ret = -EFSCORRUPTED;
	}
	if (!ret)
		ret = drain(&t);
	if (!ret)
		ret = finish_tree(&t);
	if (!ret && t.index)
		ret = add_device(&t);

	if (t.a)
		archive_read_free(t.a);
	if (t.fd > STDIN_FILENO)
		close(t.fd);
	free(t.rbuf);
	EVP_MD_CTX_free(t.id_ctx);
	erofs_fingerprint_free_ctx(t.fp_ctx);
	free(t.names);
	free(t.opaque);
	free(t.path);
	free(t.link);
	return ret;
}

void erofs_source_tar_release(struct erofs_build *b)
{
	if (b->spool_fd >= 0)
		close(b->spool_fd);
	b->spool_fd = -1;
}
