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
 * copies it from there to its planned place; an uncompressed archive on
 * disk is its own spool, except for sparse entries.  In index mode the
 * data stays in the archive, which becomes the image's one extra device:
 * with 512-byte blocks every entry's data starts on a block of it.  Either way the
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
#include <xxhash.h>

#include "internal.h"
#include "fingerprint.h"
#include "tar_stream.h"
#include "tar_source.h"

#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

/* ------------------------------------------------------------ names */

static uint64_t name_hash(const struct erofs_inode *dir, const char *name,
			  size_t len)
{
	return XXH3_64bits_withSeed(name, len, (uint64_t)(uintptr_t)dir);
}

static struct erofs_dentry *lookup(struct erofs_tar_src *t, struct erofs_inode *dir,
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

static int names_insert(struct erofs_tar_src *t, struct erofs_dentry *d)
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
static bool excluded(struct erofs_tar_src *t, char *path)
{
	const struct erofs_mkfs_opts *o = t->b->opts;
	bool ex = false;
	char *p;

	if (!o->nr_exclude_paths && !o->nr_exclude_regexes)
		return false;
	for (p = path; !ex && (p = strchr(p, '/')); p++) {
		*p = '\0';
		ex = erofs_path_excluded(t->b, path);
		*p = '/';
	}
	return ex || erofs_path_excluded(t->b, path);
}

/* ------------------------------------------------------------ the tree */

static struct erofs_inode *new_inode(struct erofs_tar_src *t)
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

static struct erofs_dentry *add_entry(struct erofs_tar_src *t, struct erofs_inode *dir,
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
static int find_parent(struct erofs_tar_src *t, struct erofs_inode **dirp,
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
			ret = erofs_tar_entry_err(t, t->path, -ENOTDIR, why);
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
static struct erofs_dentry *resolve(struct erofs_tar_src *t, const char *path)
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

/* ------------------------------------------------------------ entries */

static bool is_whiteout(const struct erofs_inode *inode)
{
	return S_ISCHR(inode->mode) && !inode->rdev_major && !inode->rdev_minor;
}

static int note_opaque(struct erofs_tar_src *t, struct erofs_inode *dir)
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
static int oci_marker(struct erofs_tar_src *t, struct archive_entry *e,
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
		return erofs_tar_entry_err(t, t->path, -EINVAL,
				 "a whiteout must name an entry of its directory");
	d = lookup(t, dir, name, len);
	/* this layer's own entry at the name stays */
	if (d && !is_whiteout(d->inode))
		return 1;
	wh = new_inode(t);
	if (IS_ERR(wh))
		return PTR_ERR(wh);
	ret = erofs_tar_set_attrs(t, wh, e);
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

static int take_entry(struct erofs_tar_src *t, struct archive_entry *e)
{
	struct erofs_build *b = t->b;
	const char *raw = archive_entry_pathname(e), *name = NULL, *target;
	unsigned int type = archive_entry_filetype(e);
	struct erofs_dentry *d, *ld = NULL;
	struct erofs_inode *dir = NULL, *inode;
	int ret;

	if (!raw)
		return erofs_tar_fail(t, "?");
	ret = normalize(raw, &t->path, &t->path_cap, &t->path_len);
	if (ret == -EXDEV)
		return erofs_tar_entry_err(t, raw, -EXDEV, "its path leaves the root");
	if (ret)
		return ret;
	target = archive_entry_hardlink(e);
	if (excluded(t, t->path))
		return 0;

	/* the root itself */
	if (!t->path_len) {
		if (target || type != AE_IFDIR)
			return erofs_tar_entry_err(t, raw, -EINVAL,
					 "the root must be a directory");
		erofs_inode_drop_xattrs(b->root);
		ret = erofs_tar_set_attrs(t, b->root, e);
		return ret ? ret : erofs_tar_read_xattrs(t, b->root, e);
	}

	if (target) {
		ret = normalize(target, &t->link, &t->link_cap, &(size_t){ 0 });
		if (ret == -EXDEV)
			return erofs_tar_entry_err(t, t->path, -EXDEV,
					 "its hard link target leaves the root");
		if (ret)
			return ret;
		ld = resolve(t, t->link);
		if (!ld || !ld->inode) {
			char *why;

			/* its data went with the excluded entry */
			if (asprintf(&why, excluded(t, t->link) ?
				     "hard link to '%s', which is excluded" :
				     "hard link to '%s', which is not in the archive before it",
				     t->link) < 0)
				return -ENOMEM;
			ret = erofs_tar_entry_err(t, t->path, -ENOENT, why);
			free(why);
			return ret;
		}
		if (S_ISDIR(ld->inode->mode))
			return erofs_tar_entry_err(t, t->path, -EPERM,
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
			return erofs_tar_entry_err(t, t->path, -EOPNOTSUPP, why);
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
		erofs_inode_drop_xattrs(d->inode);
		ret = erofs_tar_set_attrs(t, d->inode, e);
		return ret ? ret : erofs_tar_read_xattrs(t, d->inode, e);
	}

	inode = new_inode(t);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	ret = erofs_tar_set_attrs(t, inode, e);
	if (ret)
		return ret;
	if (type == AE_IFLNK) {
		const char *s = archive_entry_symlink(e);
		size_t len = s ? strlen(s) : 0;

		if (!len)
			return erofs_tar_entry_err(t, t->path, -EINVAL,
					 "a symlink without a target");
		if (len > PATH_MAX)
			return erofs_tar_entry_err(t, t->path, -ENAMETOOLONG,
					 "symlink target too long");
		inode->symlink = strdup(s);
		if (!inode->symlink)
			return -ENOMEM;
		inode->size = len;
	}
	ret = erofs_tar_read_xattrs(t, inode, e);
	if (ret)
		return ret;
	if (type == AE_IFREG) {
		la_int64_t size = archive_entry_size(e);

		if (size < 0)
			return erofs_tar_entry_err(t, t->path, -EFSCORRUPTED,
					 "negative size");
		inode->size = size;
		if (size) {
			ret = erofs_tar_read_data(t, inode);
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

static int finish_tree(struct erofs_tar_src *t)
{
	struct erofs_build *b = t->b;
	size_t k;
	int ret;

	/* entries replaced by later ones leave inodes nothing names */
	erofs_tree_settle(b);
	for (k = 0; k < t->nr_opaque; k++) {
		struct erofs_inode *dir = t->opaque[k];

		if (!dir->ext_seen || erofs_tar_has_xattr(dir, "trusted.overlay.opaque"))
			continue;
		ret = erofs_xattr_add(b, dir, "trusted.overlay.opaque", "y", 1);
		if (ret)
			return ret;
	}
	erofs_tree_drop_unreached(b);
	return 0;
}

/* index mode: the archive as the one device, named by its SHA-256 */
static int add_device(struct erofs_tar_src *t, const uint8_t *digest)
{
	struct erofs_build *b = t->b;
	static const char digits[] = "0123456789abcdef";
	char id[65], *what;
	unsigned int i;
	uint64_t k;
	int ref;

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
	fd = erofs_tmpfile_create(b, b->opts->image_path, NULL,
				  EROFS_TMP_SPOOL, &tmp);
	if (fd < 0) {
		erofs_err(b, "cannot create a spool next to image '%s': %s",
			  b->opts->image_path, strerror(-fd));
		return fd;
	}
	unlink(tmp);
	free(tmp);
	erofs_tmpfile_forget(b, EROFS_TMP_SPOOL);
	b->spool_fd = fd;
	return 0;
}

static int open_archive(struct erofs_tar_src *t)
{
	struct erofs_build *b = t->b;
	const char *path = b->opts->source_path;
	struct stat st;
	bool regular;
	int ret;

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
	regular = path && !fstat(t->fd, &st) && S_ISREG(st.st_mode);
	if (t->index && !regular) {
		erofs_err(b, "cannot use tar archive '%s' in index mode: the image reads its data in place, so it must be a regular file",
			  t->shown);
		return -EINVAL;
	}
	posix_fadvise(t->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	ret = erofs_tar_stream_open(t->fd, t->index, &t->st);
	if (ret == -ENOMEM || ret == -EAGAIN)
		return ret;
	if (ret)
		return erofs_tar_fail(t, NULL);
	t->a = erofs_tar_stream_archive(t->st);
	if (t->index && erofs_tar_stream_filter(t->st)) {
		erofs_err(b, "cannot use tar archive '%s' in index mode: it is %s-compressed, and the image can only read uncompressed data in place",
			  t->shown, erofs_tar_stream_filter(t->st));
		return -EINVAL;
	}
	/*
	 * Full mode from a plain archive on disk: the data need not pass
	 * through a spool, the writer copies it from the archive itself.
	 */
	if (!t->index && regular && !erofs_tar_stream_filter(t->st)) {
		t->in_place = true;
		b->archive_fd = t->fd;
		t->fd = -1;
	}
	return 0;
}

int erofs_source_tar_scan(struct erofs_build *b)
{
	struct erofs_tar_src t = { .b = b, .fd = -1 };
	struct archive_entry *e;
	uint8_t digest[32];
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
			ret = erofs_tar_fail(&t, NULL);
			break;
		}
		if (r == ARCHIVE_WARN)
			erofs_dbg(b, "tar archive '%s': %s", t.shown,
				  archive_error_string(t.a));
		/* the data's end; a sparse entry's size is not its length here */
		t.entry_end = archive_filter_bytes(t.a, 0);
		t.sparse = archive_entry_sparse_count(e) > 0;
		if (!t.sparse && archive_entry_size(e) > 0)
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
				  t.shown, t.path_len ? t.path : ".");
		else
			erofs_err(b, "cannot read tar archive '%s': it ends without the end-of-archive blocks: truncated?",
				  t.shown);
		ret = -EFSCORRUPTED;
	}
	if (!ret) {
		ret = erofs_tar_stream_finish(t.st, digest);
		if (ret)
			erofs_err(b, "cannot read tar archive '%s': %s", t.shown,
				  strerror(-ret));
	}
	if (!ret)
		ret = finish_tree(&t);
	if (!ret && t.index)
		ret = add_device(&t, digest);

	erofs_tar_stream_close(t.st);
	if (t.fd > STDIN_FILENO)
		close(t.fd);
	erofs_fingerprint_free_ctx(t.fp_ctx);
	free(t.names);
	free(t.opaque);
	free(t.path);
	free(t.link);
	free(t.phys);
	return ret;
}

void erofs_source_tar_release(struct erofs_build *b)
{
	if (b->spool_fd >= 0)
		close(b->spool_fd);
	if (b->archive_fd >= 0)
		close(b->archive_fd);
	b->spool_fd = -1;
	b->archive_fd = -1;
}
