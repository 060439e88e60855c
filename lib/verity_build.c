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
	const char *target = b->opts->verity_file;
	char *dcopy = strdup(target), *bcopy = strdup(target);
	int ret = 0;

	if (!dcopy || !bcopy) {
		ret = -ENOMEM;
		goto out;
	}
	if (asprintf(&b->verity_tmp, "%s/.%s.XXXXXX", dirname(dcopy),
		     basename(bcopy)) < 0) {
		b->verity_tmp = NULL;
		ret = -ENOMEM;
		goto out;
	}
	b->verity_fd = mkostemp(b->verity_tmp, O_CLOEXEC);
	if (b->verity_fd < 0) {
		ret = -errno;
		erofs_err(b, "cannot create hash tree '%s': %s", target,
			  strerror(errno));
		free(b->verity_tmp);
		b->verity_tmp = NULL;
	}
out:
	free(dcopy);
	free(bcopy);
	return ret;
}

static void fill_report(struct erofs_build *b, uint64_t file_size)
{
	const struct erofs_verity *v = &b->verity;
	struct erofs_mkfs_verity_report *r = &b->report->verity;

	r->enabled = true;
	memcpy(r->root_hash, v->root, sizeof(r->root_hash));
	memcpy(r->salt, v->p.salt, v->p.salt_size);
	r->salt_size = v->p.salt_size;
	memcpy(r->uuid, v->p.uuid, sizeof(r->uuid));
	r->data_block_size = v->p.data_bs;
	r->hash_block_size = v->p.hash_bs;
	r->data_blocks = v->p.data_blocks;
	r->hash_offset = b->verity_hash_off;
	/* the superblock takes the first hash block; the tree's top follows */
	r->hash_start_block = b->verity_hash_off / v->p.hash_bs + 1;
	r->hash_bytes = erofs_verity_area_size(v);
	r->file_size = file_size;
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

int erofs_verity_commit(struct erofs_build *b)
{
	int ret = 0;

	if (!b->verity_tmp)
		return 0;
	if (close(b->verity_fd) || rename(b->verity_tmp, b->opts->verity_file)) {
		ret = -errno;
		erofs_err(b, "cannot create hash tree '%s': %s",
			  b->opts->verity_file, strerror(errno));
		unlink(b->verity_tmp);
	}
	b->verity_fd = -1;
	free(b->verity_tmp);
	b->verity_tmp = NULL;
	return ret;
}

void erofs_verity_abort(struct erofs_build *b)
{
	if (b->verity_fd >= 0)
		close(b->verity_fd);
	b->verity_fd = -1;
	if (b->verity_tmp) {
		unlink(b->verity_tmp);
		free(b->verity_tmp);
		b->verity_tmp = NULL;
	}
}
