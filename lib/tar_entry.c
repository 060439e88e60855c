// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * One tar entry's content for the tar source: its attributes, its xattrs
 * and POSIX ACLs, and its data, spooled (full mode) or located in the
 * archive (index mode), with the fingerprint computed as the data passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "tar_source.h"
#include "fingerprint.h"
#include "tar_stream.h"

#define SPOOL_ALIGN	4096ull

/* ------------------------------------------------------------ messages */

int erofs_tar_entry_err(struct erofs_tar_src *t, const char *path, int err,
			const char *why)
{
	erofs_err(t->b, "cannot use tar entry '%s' of '%s': %s", path, t->shown,
		  why);
	return err;
}

int erofs_tar_fail(struct erofs_tar_src *t, const char *path)
{
	int err;
	const char *why = erofs_tar_stream_error(t->st, &err);

	if (err != -EFSCORRUPTED)
		why = strerror(-err);
	if (path)
		erofs_err(t->b, "cannot read tar entry '%s' of '%s': %s", path,
			  t->shown, why ? why : "corrupt archive");
	else if (t->nr_entries)
		erofs_err(t->b, "cannot read tar archive '%s': %s (after entry '%s')",
			  t->shown, why ? why : "corrupt archive",
			  t->path_len ? t->path : ".");
	else
		erofs_err(t->b, "cannot read tar archive '%s': %s", t->shown,
			  why ? why : "corrupt archive");
	return err;
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

int erofs_tar_set_attrs(struct erofs_tar_src *t, struct erofs_inode *inode,
			struct archive_entry *e)
{
	const struct erofs_mkfs_opts *o = t->b->opts;
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return erofs_tar_entry_err(t, t->path, -EOVERFLOW,
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

static int add_xattr(struct erofs_tar_src *t, struct erofs_inode *inode,
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

static int add_acl(struct erofs_tar_src *t, struct erofs_inode *inode,
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

bool erofs_tar_has_xattr(const struct erofs_inode *inode, const char *name)
{
	uint16_t i;

	for (i = 0; i < inode->nr_xattrs; i++)
		if (!strcmp(inode->xattrs[i]->name, name))
			return true;
	return false;
}

int erofs_tar_read_xattrs(struct erofs_tar_src *t, struct erofs_inode *inode,
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
		if (erofs_tar_has_xattr(inode, name))
			continue;
		ret = add_xattr(t, inode, name, value, size);
		if (ret)
			return ret;
	}
	if (!erofs_tar_has_xattr(inode, "system.posix_acl_access")) {
		ret = add_acl(t, inode, e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
			      "system.posix_acl_access");
		if (ret)
			return ret;
	}
	if (S_ISDIR(inode->mode) && !erofs_tar_has_xattr(inode, "system.posix_acl_default"))
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

static int spool_write(struct erofs_tar_src *t, const void *buf, size_t len,
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
 * A sparse entry that ends in a hole leaves the spool short of its end:
 * extended, the hole reads as zeros like the rest, so that the writer may
 * read whole chunks.
 */
static int spool_cover(struct erofs_tar_src *t, uint64_t end)
{
	struct stat st;

	if (fstat(t->b->spool_fd, &st) ||
	    ((uint64_t)st.st_size < end && ftruncate(t->b->spool_fd, end))) {
		int err = errno;

		erofs_err(t->b, "failed to write the spool next to image '%s': %s",
			  t->b->opts->image_path, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * Index mode: a sparse entry's data regions lie one after the other in the
 * archive.  Chunks as large as the regions' alignment allow, each all hole
 * or all data in place; the planner merges what it can.
 */
static int index_chunks(struct erofs_tar_src *t, struct erofs_inode *inode,
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
		return erofs_tar_entry_err(t, t->path, -EINVAL,
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

int erofs_tar_read_data(struct erofs_tar_src *t, struct erofs_inode *inode)
{
	struct erofs_build *b = t->b;
	uint64_t base = round_up(t->spool_end, SPOOL_ALIGN), expect = 0;
	uint64_t covered = 0, *phys = t->phys;
	uint32_t cap = 0;
	bool hash = b->fp_md != NULL;
	bool in_place = t->index || (t->in_place && !t->sparse);
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
			return erofs_tar_fail(t, t->path);
		if (off < 0 || (uint64_t)off < expect ||
		    (uint64_t)off + len > inode->size)
			return erofs_tar_entry_err(t, t->path, -EFSCORRUPTED,
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
		if (in_place) {
			uint64_t pos = archive_filter_bytes(t->a, 0);
			struct erofs_extent *last = inode->nr_extents ?
				&inode->extents[inode->nr_extents - 1] : NULL;
			uint32_t n = inode->nr_extents;

			/* contiguous in the file: contiguous in the archive */
			if (last && last->off + last->len == (uint64_t)off &&
			    phys[n - 1] + last->len != pos)
				return erofs_tar_entry_err(t, t->path, -EFSCORRUPTED,
						 "its data is not where the archive says");
			ret = add_extent(inode, &cap, off, len);
			if (ret)
				return ret;
			if (inode->nr_extents != n) {
				if (n == t->phys_cap) {
					size_t c = n ? 2 * n : 16;
					uint64_t *np = realloc(t->phys,
							       c * sizeof(*np));

					if (!np)
						return -ENOMEM;
					t->phys = phys = np;
					t->phys_cap = c;
				}
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
				ret = erofs_tar_entry_err(t, t->path, -EINVAL,
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
	if (in_place) {
		/* full mode, a plain archive: the writer copies from there */
		if (inode->nr_extents != 1 || inode->extents[0].off ||
		    inode->extents[0].len != inode->size) {
			ret = erofs_tar_entry_err(t, t->path, -EFSCORRUPTED,
					"its data is not where the archive says");
			goto out;
		}
		inode->in_archive = true;
		inode->spool_off = phys[0];
	} else {
		inode->spool_off = base;
		t->spool_end = base + inode->size;
		ret = spool_cover(t, t->spool_end);
		if (ret)
			goto out;
	}
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
	return ret;
}

