// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Blob devices and the device table: the only place that picks device ids.
 *
 * A blob holds chunk data outside the image.  Its id is the SHA-256 of its
 * bytes in lowercase hex; the id is stored as the device slot's tag, so a
 * fetcher can check what it mounts, and names the blob in a --blob-dir
 * store.  Blobs of earlier images (--blob-dict) are indexed by the keys of
 * their chunks (chunk.c), and a chunk found there is referenced in place.
 *
 * Device ids: the dictionary blobs this image references, in the order the
 * dictionaries were given, then the new blob.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include "internal.h"
#include "erofs/reader.h"

#define BLOB_BUFSIZE	(1u << 20)

struct dict_blob {
	char id[65];
	char *path;
	int fd;
	uint64_t size;
	uint64_t reused;	/* chunk bytes this image takes from it */
	uint16_t devid;		/* 0: not referenced */
};

struct erofs_blobs {
	/* the new blob */
	bool wanted;		/* --blobdev or --blob-dir */
	char *tmp;
	int fd;
	uint64_t blocks;
	char id[65];
	char *final;		/* where it goes */
	bool placed;		/* renamed into place by this build */
	uint16_t devid;		/* 0: none (no new chunk data) */
	uint16_t scan_ref;	/* --rebuild=copy: the blob written while
				 * reading the inputs, an external device */

	struct dict_blob *dicts;
	unsigned int nr_dicts;
	unsigned int nr_slots;
	uint64_t devt_start;	/* byte offset of the table */
};

static void hex(const uint8_t *d, char *out)
{
	static const char digits[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

int erofs_blob_failed(struct erofs_build *b, int err)
{
	if (!atomic_exchange(&b->out_failed, 1))
		erofs_err(b, "failed to write blob '%s': %s",
			  b->opts->blobdev ? b->opts->blobdev : b->opts->blob_dir,
			  strerror(-err));
	return err;
}

bool erofs_blob_wanted(const struct erofs_build *b)
{
	return b->opts->blobdev || b->opts->blob_dir;
}

/* ------------------------------------------------------------ dictionaries */

struct dict_walk {
	struct erofs_build *b;
	struct erofs_rd *rd;
	const char *image;
	uint16_t refs[EROFS_RD_MAX_DEVICES + 1];	/* image device -> ref */
	XXH3_state_t *state;
	uint8_t *buf;
	int err;
};

static void dict_msg(void *priv, enum erofs_rd_level level, const char *msg)
{
	struct dict_walk *dw = priv;

	if (level == EROFS_RD_ERR)
		erofs_err(dw->b, "cannot use blob dictionary '%s': %s",
			  dw->image, msg);
}

/* the XXH3 of bytes [off, off + len) of a dictionary blob */
static int key_of_range(struct dict_walk *dw, int fd, uint64_t off,
			uint64_t len, uint64_t *key)
{
	int ret;

	XXH3_64bits_reset(dw->state);
	while (len) {
		size_t n = min_t(uint64_t, len, BLOB_BUFSIZE);

		ret = erofs_pread_full(fd, dw->buf, n, off);
		if (ret)
			return ret;
		XXH3_64bits_update(dw->state, dw->buf, n);
		off += n;
		len -= n;
	}
	*key = XXH3_64bits_digest(dw->state);
	return 0;
}

/* every whole chunk (at this build's chunk size) the file keeps in a blob */
static int dict_file(struct dict_walk *dw, const struct erofs_rd_inode *inode)
{
	struct erofs_build *b = dw->b;
	uint64_t cs = (uint64_t)b->bs << b->chunkbits, la = 0;
	struct erofs_rd_map map;
	int ret;

	while (la < inode->size) {
		uint64_t k;

		ret = erofs_rd_map(dw->rd, inode, la, &map);
		if (ret)
			return ret;
		if (!map.len)
			return -EFSCORRUPTED;
		la = map.la + map.len;
		if (!(map.flags & EROFS_RD_MAP_MAPPED) || !map.dev ||
		    map.dev > erofs_rd_ndevices(dw->rd) || !dw->refs[map.dev])
			continue;
		for (k = DIV_ROUND_UP(map.la, cs); k * cs < map.la + map.len; k++) {
			uint64_t nbytes = min_t(uint64_t, cs, inode->size - k * cs);
			uint64_t pa = map.pa + (k * cs - map.la);
			uint16_t ref = dw->refs[map.dev];
			uint64_t key;

			if (k * cs + nbytes > map.la + map.len)
				break;
			if (pa & (b->bs - 1))
				break;
			ret = key_of_range(dw, b->blobs->dicts[ref - 1].fd, pa,
					   nbytes, &key);
			if (ret)
				return ret;
			ret = erofs_dedupe_insert(b, key, nbytes, ref,
						  pa >> b->blkszbits, NULL, 0);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int dict_entry(void *priv, void *parent, const char *name,
		      unsigned int namelen, const struct erofs_rd_inode *inode,
		      bool first)
{
	struct dict_walk *dw = priv;

	(void)parent;
	(void)name;
	(void)namelen;
	if (!first || !S_ISREG(inode->mode) ||
	    inode->datalayout != EROFS_INODE_CHUNK_BASED)
		return 0;
	return dict_file(dw, inode);
}

static int dict_enter(void *priv, void *parent, const char *name,
		      unsigned int namelen, const struct erofs_rd_inode *dir,
		      void **child)
{
	(void)priv;
	(void)parent;
	(void)name;
	(void)namelen;
	(void)dir;
	*child = NULL;
	return 0;
}

static int dict_leave(void *priv, void *ctx, const struct erofs_rd_inode *dir)
{
	(void)priv;
	(void)ctx;
	(void)dir;
	return 0;
}

static int blobs_alloc(struct erofs_build *b)
{
	if (b->blobs)
		return 0;
	b->blobs = calloc(1, sizeof(*b->blobs));
	if (!b->blobs)
		return -ENOMEM;
	b->blobs->fd = -1;
	b->blobs->wanted = erofs_blob_wanted(b);
	return 0;
}

static int file_digest(int fd, uint64_t size, char *id)
{
	uint8_t digest[32], *buf = malloc(BLOB_BUFSIZE);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t off = 0;
	unsigned int dlen;
	int ret = 0;

	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (off < size) {
		size_t n = min_t(uint64_t, size - off, BLOB_BUFSIZE);

		ret = erofs_pread_full(fd, buf, n, off);
		if (ret)
			goto out;
		EVP_DigestUpdate(ctx, buf, n);
		off += n;
	}
	EVP_DigestFinal_ex(ctx, digest, &dlen);
	hex(digest, id);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

/*
 * An external device: a file whose blocks the image may reference, added
 * once per id.  Without 'id' the file's SHA-256 is its id.  Returns its
 * ref (index + 1).
 */
int erofs_blobs_add_external(struct erofs_build *b, const char *what,
			     const char *path, const char *id)
{
	struct erofs_blobs *bl;
	struct dict_blob *d;
	char idbuf[65];
	struct stat st;
	unsigned int i;
	int fd, ret;

	ret = blobs_alloc(b);
	if (ret)
		return ret;
	bl = b->blobs;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		erofs_err(b, "cannot use %s: '%s' cannot be opened: %s", what,
			  path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!id) {
		ret = file_digest(fd, st.st_size, idbuf);
		if (ret) {
			erofs_err(b, "failed to read '%s': %s", path,
				  strerror(-ret));
			close(fd);
			return ret;
		}
		id = idbuf;
	}
	for (i = 0; i < bl->nr_dicts; i++)
		if (!strcmp(bl->dicts[i].id, id)) {
			close(fd);
			return i + 1;
		}
	if (bl->nr_dicts >= EROFS_RD_MAX_DEVICES) {
		erofs_err(b, "cannot use %s: more than %d devices", what,
			  EROFS_RD_MAX_DEVICES);
		close(fd);
		return -E2BIG;
	}
	d = realloc(bl->dicts, (bl->nr_dicts + 1) * sizeof(*d));
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	bl->dicts = d;
	d = &bl->dicts[bl->nr_dicts];
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->size = st.st_size;
	memcpy(d->id, id, 64);
	d->id[64] = '\0';
	d->path = strdup(path);
	if (!d->path) {
		close(fd);
		return -ENOMEM;
	}
	bl->nr_dicts++;
	return bl->nr_dicts;
}

/* the dictionary blob with this id, found in --blob-dir: its ref */
static int dict_blob_ref(struct erofs_build *b, const char *image,
			 const char *id)
{
	char *path, *what;
	int ret;

	if (asprintf(&path, "%s/%s", b->opts->blob_dir, id) < 0)
		return -ENOMEM;
	if (access(path, F_OK)) {
		erofs_err(b, "cannot use blob dictionary '%s': its blob %s is not in '%s'",
			  image, id, b->opts->blob_dir);
		free(path);
		return -ENOENT;
	}
	if (asprintf(&what, "blob dictionary '%s'", image) < 0) {
		free(path);
		return -ENOMEM;
	}
	ret = erofs_blobs_add_external(b, what, path, id);
	free(what);
	free(path);
	return ret;
}

static int load_dict(struct erofs_build *b, const char *image)
{
	struct dict_walk dw = { .b = b, .image = image };
	struct erofs_rd_stats stats;
	struct erofs_rd_opts ro = {
		.path = image,
		.msg = dict_msg,
		.msg_priv = &dw,
		.level = EROFS_RD_ERR,
	};
	const struct erofs_rd_walk_ops ops = {
		.enter_dir = dict_enter,
		.leave_dir = dict_leave,
		.entry = dict_entry,
	};
	struct erofs_rd *rd = NULL;
	char ids[EROFS_RD_MAX_DEVICES][65];
	unsigned int n, i;
	int ret;

	/* first the device table alone, to find the blobs */
	ret = erofs_rd_open(&rd, &ro);
	if (ret) {
		if (ret != -EFSCORRUPTED && ret != -EOPNOTSUPP)
			erofs_err(b, "cannot use blob dictionary '%s': %s",
				  image, strerror(-ret));
		return ret;
	}
	n = erofs_rd_ndevices(rd);
	for (i = 0; i < n; i++) {
		const struct erofs_rd_device *dev = erofs_rd_device(rd, i + 1);

		if (!erofs_rd_tag_is_blob_id(dev->tag)) {
			erofs_err(b, "cannot use blob dictionary '%s': its device %u has no blob id (it was not built with --blob-dir or --blobdev)",
				  image, i + 1);
			erofs_rd_close(rd);
			return -EINVAL;
		}
		memcpy(ids[i], dev->tag, 64);
		ids[i][64] = '\0';
	}
	erofs_rd_close(rd);
	rd = NULL;
	if (!n) {
		erofs_warn(b, "blob dictionary '%s' has no blobs", image);
		return 0;
	}

	for (i = 0; i < n; i++) {
		ret = dict_blob_ref(b, image, ids[i]);
		if (ret < 0)
			return ret;
		dw.refs[i + 1] = ret;
		ro.devices[i] = b->blobs->dicts[ret - 1].path;
	}
	ro.ndevices = n;
	ret = erofs_rd_open(&rd, &ro);
	if (ret)
		return ret;
	dw.rd = rd;
	dw.state = XXH3_createState();
	dw.buf = malloc(BLOB_BUFSIZE);
	if (!dw.state || !dw.buf)
		ret = -ENOMEM;
	else
		ret = erofs_rd_check(rd, 0, &ops, &dw, &stats);
	if (ret == -ENODATA) {
		erofs_err(b, "cannot use blob dictionary '%s': a blob in '%s' is shorter than the image says",
			  image, b->opts->blob_dir);
	} else if (ret && ret != -EFSCORRUPTED && ret != -ENOMEM &&
		   !erofs_rd_nerrors(rd)) {
		erofs_err(b, "cannot use blob dictionary '%s': %s", image,
			  strerror(-ret));
	}
	XXH3_freeState(dw.state);
	free(dw.buf);
	erofs_rd_close(rd);
	return ret;
}

/* before the scan: that the new blob's place can take it */
int erofs_blobs_setup(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct stat st;
	int ret;

	if (!erofs_blob_wanted(b) && !o->nr_blob_dicts)
		return 0;
	ret = blobs_alloc(b);
	if (ret)
		return ret;
	if (o->blobdev) {
		char *dcopy = strdup(o->blobdev);

		if (!dcopy)
			return -ENOMEM;
		if (!stat(o->blobdev, &st) && S_ISDIR(st.st_mode)) {
			erofs_err(b, "cannot create blob '%s': %s", o->blobdev,
				  strerror(EISDIR));
			free(dcopy);
			return -EISDIR;
		}
		ret = erofs_check_target_dir(b, "blob", o->blobdev,
					     dirname(dcopy));
		free(dcopy);
		if (ret)
			return ret;
	} else if (o->blob_dir) {
		ret = erofs_check_target_dir(b, "blob in", o->blob_dir,
					     o->blob_dir);
		if (ret)
			return ret;
	}
	return 0;
}

/* after the scan and the digest pass: the dictionaries' chunks */
int erofs_blobs_dict_lookup(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	unsigned int i;
	int ret;

	for (i = 0; i < o->nr_blob_dicts; i++) {
		ret = load_dict(b, o->blob_dicts[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void erofs_blobs_note_reuse(struct erofs_build *b, uint16_t ref,
			    uint64_t nbytes)
{
	b->blobs->dicts[ref - 1].reused += nbytes;
	if (!b->blobs->dicts[ref - 1].devid)
		b->blobs->dicts[ref - 1].devid = UINT16_MAX;	/* used */
}

int erofs_blob_dict_read(struct erofs_build *b, uint16_t ref, void *buf,
			 uint64_t len, uint64_t off)
{
	return erofs_pread_full(b->blobs->dicts[ref - 1].fd, buf, len, off);
}

/* after chunk planning: the device table's slots, in their order */
int erofs_blobs_assign_devices(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	struct erofs_mkfs_report *r = b->report;
	uint16_t id = 0;
	unsigned int i;

	if (!bl)
		return 0;
	for (i = 0; i < bl->nr_dicts; i++) {
		if (!bl->dicts[i].devid)
			continue;
		bl->dicts[i].devid = ++id;
		if (i + 1 != bl->scan_ref && r->nr_dicts < ARRAY_SIZE(r->reuse)) {
			memcpy(r->reuse[r->nr_dicts].id, bl->dicts[i].id, 65);
			r->reuse[r->nr_dicts++].bytes = bl->dicts[i].reused;
		}
	}
	if (bl->wanted && b->chunk_blocks) {
		bl->devid = ++id;
		bl->blocks = b->chunk_blocks;
	}
	bl->nr_slots = id;
	b->chunk_indexes = bl->wanted || id;
	r->nr_devices = id;
	return 0;
}

unsigned int erofs_devtable_slots(const struct erofs_build *b)
{
	return b->blobs ? b->blobs->nr_slots : 0;
}

void erofs_devtable_place(struct erofs_build *b, uint64_t pos)
{
	b->blobs->devt_start = pos;
}

uint64_t erofs_devtable_start(const struct erofs_build *b)
{
	return b->blobs ? b->blobs->devt_start : 0;
}

/* where an external device starts in the unified address space */
uint64_t erofs_blobs_uniaddr(const struct erofs_build *b, uint16_t ref)
{
	const struct erofs_blobs *bl = b->blobs;
	uint16_t devid = bl->dicts[ref - 1].devid;
	uint64_t addr = b->total_blocks;
	unsigned int i;

	for (i = 0; i < bl->nr_dicts; i++)
		if (bl->dicts[i].devid && bl->dicts[i].devid < devid)
			addr += bl->dicts[i].size >> b->blkszbits;
	return addr;
}

/* device 'devid' of the table: its id, size and a descriptor to read it */
int erofs_devtable_info(const struct erofs_build *b, unsigned int devid,
			struct erofs_devinfo *di)
{
	const struct erofs_blobs *bl = b->blobs;
	unsigned int i;

	for (i = 0; i < bl->nr_dicts; i++) {
		if (bl->dicts[i].devid != devid)
			continue;
		memcpy(di->id, bl->dicts[i].id, 65);
		di->is_new = i + 1 == bl->scan_ref;
		di->fd = di->is_new ? bl->fd : bl->dicts[i].fd;
		di->blocks = bl->dicts[i].size >> b->blkszbits;
		return 0;
	}
	if (bl->devid != devid)
		return -ENOENT;
	memcpy(di->id, bl->id, 65);
	di->is_new = true;
	di->fd = bl->fd;
	di->blocks = bl->blocks;
	return 0;
}

/* the device table in the report: ids and sizes, for the summary and manifest */
int erofs_devtable_report(struct erofs_build *b)
{
	struct erofs_mkfs_report *r = b->report;
	unsigned int n = erofs_devtable_slots(b), i;
	struct erofs_devinfo di;
	int ret;

	if (!n)
		return 0;
	r->devices = calloc(n, sizeof(*r->devices));
	if (!r->devices)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ret = erofs_devtable_info(b, i + 1, &di);
		if (ret)
			return ret;
		memcpy(r->devices[i].id, di.id, 65);
		r->devices[i].blocks = di.blocks;
	}
	return 0;
}

uint16_t erofs_blobs_device_id(const struct erofs_build *b, uint16_t ref)
{
	return ref ? b->blobs->dicts[ref - 1].devid : b->blobs->devid;
}

/* ------------------------------------------------------------ the new blob */

/* the new blob's id from its bytes as written, and so where it goes */
static int name_new_blob(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	int ret;

	ret = file_digest(bl->fd, bl->blocks << b->blkszbits, bl->id);
	if (ret)
		return ret == -ENOMEM ? ret :
			erofs_blob_failed(b, ret == -ENODATA ? -EIO : ret);
	if (b->opts->blobdev)
		bl->final = strdup(b->opts->blobdev);
	else if (asprintf(&bl->final, "%s/%s", b->opts->blob_dir, bl->id) < 0)
		bl->final = NULL;
	return bl->final ? 0 : -ENOMEM;
}

/*
 * --rebuild=copy: data that cannot be referenced in place is copied, while
 * the inputs are read, into a new blob that is then one more external
 * device.  Returns where 'len' bytes go (block-aligned) and the blob's ref.
 */
int erofs_blob_scan_alloc(struct erofs_build *b, uint64_t len, uint64_t *blk,
			  uint16_t *ref)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_blobs *bl;
	struct dict_blob *d;
	int fd, ret;

	ret = blobs_alloc(b);
	if (ret)
		return ret;
	bl = b->blobs;
	if (!bl->scan_ref) {
		if (o->blobdev)
			fd = erofs_tmpfile_create(b, o->blobdev, NULL,
						  EROFS_TMP_BLOB, &bl->tmp);
		else
			fd = erofs_tmpfile_create(b, "blob", o->blob_dir,
						  EROFS_TMP_BLOB, &bl->tmp);
		if (fd < 0) {
			erofs_err(b, "cannot create blob '%s': %s",
				  o->blobdev ? o->blobdev : o->blob_dir,
				  strerror(-fd));
			return fd;
		}
		bl->fd = fd;
		d = realloc(bl->dicts, (bl->nr_dicts + 1) * sizeof(*d));
		if (!d)
			return -ENOMEM;
		bl->dicts = d;
		d = &bl->dicts[bl->nr_dicts];
		memset(d, 0, sizeof(*d));
		d->fd = dup(fd);
		d->path = strdup(bl->tmp);
		if (d->fd < 0 || !d->path)
			return -ENOMEM;
		bl->scan_ref = ++bl->nr_dicts;
	}
	*blk = bl->blocks;
	*ref = bl->scan_ref;
	bl->blocks += DIV_ROUND_UP(len, (uint64_t)b->bs);
	return 0;
}

int erofs_blob_scan_write(struct erofs_build *b, const void *buf, size_t len,
			  uint64_t off)
{
	return erofs_pwrite_fd(b, b->blobs->fd, buf, len, off);
}

/* after the scan: the copied data's blob gets its size and id */
int erofs_blob_scan_finish(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	struct dict_blob *d;
	int ret;

	if (!bl || !bl->scan_ref)
		return 0;
	d = &bl->dicts[bl->scan_ref - 1];
	if (ftruncate(bl->fd, (off_t)(bl->blocks << b->blkszbits)))
		return erofs_blob_failed(b, -errno);
	ret = name_new_blob(b);
	if (ret)
		return ret;
	memcpy(d->id, bl->id, 65);
	d->size = bl->blocks << b->blkszbits;
	free(d->path);
	d->path = strdup(bl->final);
	return d->path ? 0 : -ENOMEM;
}

bool erofs_blob_new(const struct erofs_build *b)
{
	return b->blobs && b->blobs->devid;
}

int erofs_blob_fd(const struct erofs_build *b)
{
	return b->blobs && b->blobs->devid ? b->blobs->fd : b->outfd;
}

int erofs_blob_create(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_blobs *bl = b->blobs;
	off_t size;
	int fd;

	if (!bl || !bl->devid)
		return 0;
	if (o->blobdev)
		fd = erofs_tmpfile_create(b, o->blobdev, NULL,
					  EROFS_TMP_BLOB, &bl->tmp);
	else
		fd = erofs_tmpfile_create(b, "blob", o->blob_dir,
					  EROFS_TMP_BLOB, &bl->tmp);
	if (fd < 0) {
		erofs_err(b, "cannot create blob '%s': %s",
			  o->blobdev ? o->blobdev : o->blob_dir, strerror(-fd));
		return fd;
	}
	bl->fd = fd;
	size = (off_t)(bl->blocks << b->blkszbits);
	if (ftruncate(fd, size))
		return erofs_blob_failed(b, -errno);
	if (fallocate(fd, 0, 0, size) &&
	    (errno == ENOSPC || errno == EDQUOT || errno == EFBIG))
		return erofs_blob_failed(b, -errno);
	return 0;
}

/* after the data: the blob's id, from its bytes as written */
int erofs_blob_finish(struct erofs_build *b)
{
	if (!b->blobs || !b->blobs->devid)
		return 0;
	return name_new_blob(b);
}

/* the device table, in the image */
int erofs_devtable_write(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	struct erofs_deviceslot *slots;
	uint64_t uniaddr = b->total_blocks;
	unsigned int i;
	int ret;

	if (!bl || !bl->nr_slots)
		return 0;
	slots = calloc(bl->nr_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= bl->nr_dicts; i++) {
		const char *id;
		uint64_t blocks;
		uint16_t devid;

		if (i < bl->nr_dicts) {
			devid = bl->dicts[i].devid;
			id = bl->dicts[i].id;
			blocks = bl->dicts[i].size >> b->blkszbits;
		} else {
			devid = bl->devid;
			id = bl->id;
			blocks = bl->blocks;
		}
		if (!devid)
			continue;
		memcpy(slots[devid - 1].tag, id, 64);
		slots[devid - 1].blocks_lo = cpu_to_le32((uint32_t)blocks);
		slots[devid - 1].uniaddr_lo = cpu_to_le32((uint32_t)uniaddr);
		uniaddr += blocks;
	}
	if (uniaddr > UINT32_MAX) {
		free(slots);
		erofs_err(b, "the image and its blobs would need %llu blocks; at most %u fit",
			  (unsigned long long)uniaddr, UINT32_MAX);
		return -EFBIG;
	}
	ret = erofs_pwrite_all(b, slots, bl->nr_slots * sizeof(*slots),
			       bl->devt_start);
	free(slots);
	return ret;
}

/*
 * Before the image: the blob is flushed and put in place.  In a blob store
 * an existing blob of the same id holds the same bytes, and stays.
 */
int erofs_blob_commit(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	struct erofs_mkfs_report *r = b->report;
	struct stat st;
	int ret;

	if (!bl || (!bl->devid && !bl->scan_ref))
		return 0;
	if (fchmod(bl->fd, 0644) || (!b->opts->no_fsync && fsync(bl->fd)) ||
	    close(bl->fd)) {
		bl->fd = -1;
		return erofs_blob_failed(b, -errno);
	}
	bl->fd = -1;
	if (b->opts->blob_dir && !stat(bl->final, &st) && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == bl->blocks << b->blkszbits) {
		unlink(bl->tmp);
	} else if (rename(bl->tmp, bl->final)) {
		ret = -errno;
		erofs_err(b, "failed to create blob '%s': %s", bl->final,
			  strerror(errno));
		return ret;
	} else {
		bl->placed = true;
	}
	free(bl->tmp);
	bl->tmp = NULL;
	erofs_tmpfile_forget(b, EROFS_TMP_BLOB);
	r->blob_bytes = bl->blocks << b->blkszbits;
	memcpy(r->blob_id, bl->id, 65);
	r->blob_path = strdup(bl->final);
	return r->blob_path ? 0 : -ENOMEM;
}

/* a failed build: the new blob goes too, also when already in place */
void erofs_blob_abort(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;

	if (!bl)
		return;
	if (bl->fd >= 0)
		close(bl->fd);
	bl->fd = -1;
	if (bl->tmp) {
		unlink(bl->tmp);
		free(bl->tmp);
		bl->tmp = NULL;
		erofs_tmpfile_forget(b, EROFS_TMP_BLOB);
	}
	if (bl->placed)
		unlink(bl->final);
	bl->placed = false;
}

void erofs_blobs_free(struct erofs_build *b)
{
	struct erofs_blobs *bl = b->blobs;
	unsigned int i;

	if (!bl)
		return;
	for (i = 0; i < bl->nr_dicts; i++) {
		if (bl->dicts[i].fd >= 0)
			close(bl->dicts[i].fd);
		free(bl->dicts[i].path);
	}
	free(bl->dicts);
	free(bl->final);
	free(bl->tmp);
	free(bl);
	b->blobs = NULL;
}
