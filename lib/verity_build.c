// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The image's dm-verity tree in the build: parameters from the options once
 * the layout is known, level-0 digests from the workers as they finish each
 * file (see writer.c), the rest once the superblock is in place, then the
 * veritysetup superblock and tree after the last filesystem block or in a
 * file of their own.  The filesystem's block count does not change; when
 * verity blocks are larger than filesystem blocks, the image is padded with
 * zeros to a whole number of them.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"

int erofs_verity_setup(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_verity_params p = { 0 };
	uint64_t fs_bytes = b->total_blocks << b->blkszbits;
	int ret;

	if (!o->verity)
		return 0;
	p.data_bs = o->verity_blkszbits ? 1u << o->verity_blkszbits : b->bs;
	p.hash_bs = p.data_bs;
	p.data_blocks = DIV_ROUND_UP(fs_bytes, (uint64_t)p.data_bs);
	memcpy(p.uuid, b->report->uuid, sizeof(p.uuid));
	if (o->verity_salt_size < 0) {
		p.salt_size = EROFS_VERITY_DIGEST_SIZE;
		ret = erofs_verity_derive_salt(p.uuid, p.salt);
		if (ret)
			return ret;
	} else {
		p.salt_size = o->verity_salt_size;
		memcpy(p.salt, o->verity_salt, p.salt_size);
	}
	ret = erofs_verity_init(&b->verity, &p);
	if (ret) {
		erofs_err(b, "cannot set up the hash tree of '%s': %s",
			  o->image_path, strerror(-ret));
		return ret;
	}
	b->verity_on = true;
	b->verity_data_size = p.data_blocks * p.data_bs;
	b->verity_hash_off = o->verity_file ? 0 :
		round_up(b->verity_data_size, (uint64_t)p.hash_bs);
	return 0;
}

/* the separate hash file: a temporary file next to it, renamed at commit */
static int create_hash_file(struct erofs_build *b)
{
	int fd = erofs_tmpfile_create(b, b->opts->verity_file, NULL,
				      EROFS_TMP_VERITY, &b->verity_tmp);

	if (fd < 0) {
		erofs_err(b, "cannot create hash tree '%s': %s",
			  b->opts->verity_file, strerror(-fd));
		return fd;
	}
	b->verity_fd = fd;
	return 0;
}

static void fill_verity_report(const struct erofs_verity *v,
			       struct erofs_mkfs_verity_report *r,
			       uint64_t hash_off, uint64_t file_size)
{
	r->enabled = true;
	memcpy(r->root_hash, v->root, sizeof(r->root_hash));
	memcpy(r->salt, v->p.salt, v->p.salt_size);
	r->salt_size = v->p.salt_size;
	memcpy(r->uuid, v->p.uuid, sizeof(r->uuid));
	r->data_block_size = v->p.data_bs;
	r->hash_block_size = v->p.hash_bs;
	r->data_blocks = v->p.data_blocks;
	r->hash_offset = hash_off;
	/* the superblock takes the first hash block; the tree's top follows */
	r->hash_start_block = hash_off / v->p.hash_bs + 1;
	r->hash_bytes = erofs_verity_area_size(v);
	r->file_size = file_size;
}

static void fill_report(struct erofs_build *b, uint64_t file_size)
{
	fill_verity_report(&b->verity, &b->report->verity, b->verity_hash_off,
			   file_size);
}

/* after the superblock: the blocks no worker hashed, the tree, its place */
int erofs_verity_finish(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_verity *v = &b->verity;
	uint64_t fs_bytes = b->total_blocks << b->blkszbits, size;
	int fd = b->outfd, ret;

	if (!b->verity_on)
		return 0;
	size = o->verity_file ? b->verity_data_size :
		b->verity_hash_off + erofs_verity_area_size(v);
	if (size > fs_bytes && ftruncate(b->outfd, (off_t)size))
		return erofs_output_failed(b, -errno);
	ret = erofs_verity_hash_fd(v, b->outfd, 0, b->nr_workers);
	if (ret)
		return erofs_output_failed(b, ret);
	ret = erofs_verity_build(v);
	if (ret) {
		erofs_err(b, "cannot build the hash tree of '%s': %s",
			  o->image_path, strerror(-ret));
		return ret;
	}
	if (o->verity_file) {
		ret = create_hash_file(b);
		if (ret)
			return ret;
		fd = b->verity_fd;
	}
	ret = erofs_verity_write(v, fd, b->verity_hash_off);
	if (!ret && o->verity_file &&
	    (fchmod(fd, 0644) || (!o->no_fsync && fsync(fd))))
		ret = -errno;
	if (ret) {
		if (o->verity_file)
			erofs_err(b, "cannot write hash tree '%s': %s",
				  o->verity_file, strerror(-ret));
		else
			erofs_output_failed(b, ret);
		return ret;
	}
	fill_report(b, size);
	return 0;
}

/*
 * Every device of the table gets a tree of its own, in a file beside it:
 * DIR/<id>.verity in a blob store, FILE.verity for --blobdev, else
 * <id>.verity beside the image.  Its salt and UUID come from the device's
 * id, so a blob shared by many images has one tree.
 */
static char *device_tree_path(const struct erofs_build *b,
			      const struct erofs_devinfo *di)
{
	const struct erofs_mkfs_opts *o = b->opts;
	char *dcopy, *p = NULL;

	if (o->blob_dir) {
		if (asprintf(&p, "%s/%s.verity", o->blob_dir, di->id) < 0)
			p = NULL;
	} else if (o->blobdev && di->is_new) {
		if (asprintf(&p, "%s.verity", o->blobdev) < 0)
			p = NULL;
	} else {
		dcopy = strdup(o->image_path);
		if (dcopy && asprintf(&p, "%s/%s.verity", dirname(dcopy),
				      di->id) < 0)
			p = NULL;
		free(dcopy);
	}
	return p;
}

static int device_tree(struct erofs_build *b, unsigned int devid,
		       struct erofs_mkfs_device_report *dr, char **tmp)
{
	struct erofs_verity_params p = { 0 };
	struct erofs_verity v = { 0 };
	struct erofs_devinfo di;
	unsigned int i;
	int fd, ret;

	ret = erofs_devtable_info(b, devid, &di);
	if (ret)
		return ret;
	p.data_bs = p.hash_bs = b->bs;
	p.data_blocks = di.blocks;
	for (i = 0; i < 16; i++)
		sscanf(di.id + 2 * i, "%2hhx", &p.uuid[i]);
	p.salt_size = EROFS_VERITY_DIGEST_SIZE;
	ret = erofs_verity_derive_salt(p.uuid, p.salt);
	if (!ret)
		ret = erofs_verity_init(&v, &p);
	if (!ret)
		ret = erofs_verity_hash_fd(&v, di.fd, 0, b->nr_workers);
	if (!ret)
		ret = erofs_verity_build(&v);
	if (ret) {
		erofs_err(b, "cannot build the hash tree of device %u (%s): %s",
			  devid, di.id, strerror(-ret));
		goto out;
	}
	dr->hash_file = device_tree_path(b, &di);
	if (!dr->hash_file) {
		ret = -ENOMEM;
		goto out;
	}
	if (asprintf(tmp, "%s.XXXXXX", dr->hash_file) < 0) {
		*tmp = NULL;
		ret = -ENOMEM;
		goto out;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		free(*tmp);
		*tmp = NULL;
	} else {
		ret = erofs_verity_write(&v, fd, 0);
		if (!ret && (fchmod(fd, 0644) ||
			     (!b->opts->no_fsync && fsync(fd))))
			ret = -errno;
		if (close(fd) && !ret)
			ret = -errno;
	}
	if (ret) {
		erofs_err(b, "cannot write hash tree '%s': %s", dr->hash_file,
			  strerror(-ret));
		goto out;
	}
	fill_verity_report(&v, &dr->verity, 0, di.blocks << b->blkszbits);
out:
	erofs_verity_release(&v);
	return ret;
}

int erofs_verity_devices(struct erofs_build *b)
{
	unsigned int n = erofs_devtable_slots(b), i;
	struct erofs_mkfs_report *r = b->report;
	int ret;

	if (!b->verity_on || !n)
		return 0;
	b->dev_tree_tmp = calloc(n, sizeof(*b->dev_tree_tmp));
	if (!b->dev_tree_tmp)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ret = device_tree(b, i + 1, &r->devices[i], &b->dev_tree_tmp[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* the devices' trees into place; one already in a blob store stays */
static int commit_device_trees(struct erofs_build *b)
{
	unsigned int n = erofs_devtable_slots(b), i;
	struct stat st;
	int ret = 0;

	if (!b->dev_tree_tmp)
		return 0;
	for (i = 0; i < n; i++) {
		const char *final = b->report->devices[i].hash_file;
		char *tmp = b->dev_tree_tmp[i];

		if (!tmp)
			continue;
		if (b->opts->blob_dir && !stat(final, &st) && S_ISREG(st.st_mode)) {
			unlink(tmp);
		} else if (rename(tmp, final) && !ret) {
			ret = -errno;
			erofs_err(b, "cannot create hash tree '%s': %s", final,
				  strerror(errno));
			unlink(tmp);
		}
		free(tmp);
		b->dev_tree_tmp[i] = NULL;
	}
	free(b->dev_tree_tmp);
	b->dev_tree_tmp = NULL;
	return ret;
}

int erofs_verity_commit(struct erofs_build *b)
{
	int ret = commit_device_trees(b);

	if (ret || !b->verity_tmp)
		return ret;
	if (close(b->verity_fd) || rename(b->verity_tmp, b->opts->verity_file)) {
		ret = -errno;
		erofs_err(b, "cannot create hash tree '%s': %s",
			  b->opts->verity_file, strerror(errno));
		unlink(b->verity_tmp);
	}
	b->verity_fd = -1;
	free(b->verity_tmp);
	b->verity_tmp = NULL;
	erofs_tmpfile_forget(b, EROFS_TMP_VERITY);
	return ret;
}

void erofs_verity_abort(struct erofs_build *b)
{
	unsigned int i;

	if (b->dev_tree_tmp) {
		for (i = 0; i < erofs_devtable_slots(b); i++) {
			if (b->dev_tree_tmp[i])
				unlink(b->dev_tree_tmp[i]);
			free(b->dev_tree_tmp[i]);
		}
		free(b->dev_tree_tmp);
		b->dev_tree_tmp = NULL;
	}
	if (b->verity_fd >= 0)
		close(b->verity_fd);
	b->verity_fd = -1;
	if (b->verity_tmp) {
		unlink(b->verity_tmp);
		free(b->verity_tmp);
		b->verity_tmp = NULL;
		erofs_tmpfile_forget(b, EROFS_TMP_VERITY);
	}
}
