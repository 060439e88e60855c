// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The output file: a temporary file next to the target, written with
 * positioned writes, flushed and renamed over the target only when the
 * whole image is complete.  Any failure removes the temporary file, so a
 * failed build leaves nothing at the output path.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* the one place that reports a failed write to the image, once */
int erofs_output_failed(struct erofs_build *b, int err)
{
	if (!atomic_exchange(&b->out_failed, 1))
		erofs_err(b, "failed to write image '%s': %s",
			  b->opts->image_path, strerror(-err));
	return err;
}

int erofs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return -ENODATA;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_pwrite_fd(struct erofs_build *b, int fd, const void *buf, size_t len,
		    uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (fd != b->outfd)
				return erofs_blob_failed(b, -errno);
			return erofs_output_failed(b, -errno);
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_pwrite_all(struct erofs_build *b, const void *buf, size_t len,
		     uint64_t off)
{
	return erofs_pwrite_fd(b, b->outfd, buf, len, off);
}

/*
 * Before the scan: refuse a directory as the target, remember an existing
 * image so the scan leaves it out, and check that the folder can take a new
 * file, so a long scan is not wasted on an impossible build.
 */
/* that the folder 'dir' of 'target' can take a new file */
int erofs_check_target_dir(struct erofs_build *b, const char *what,
			   const char *target, const char *dir)
{
	struct stat st;
	int err = 0;

	if (stat(dir, &st))
		err = errno;
	else if (!S_ISDIR(st.st_mode))
		err = ENOTDIR;
	else if (access(dir, W_OK | X_OK))
		err = errno;
	if (err)
		erofs_err(b, "cannot create %s '%s': %s", what, target,
			  strerror(err));
	return -err;
}

int erofs_output_check(struct erofs_build *b)
{
	const char *target = b->opts->image_path;
	char *dcopy;
	struct stat st;
	int ret;

	if (!stat(target, &st)) {
		if (S_ISDIR(st.st_mode)) {
			erofs_err(b, "cannot create image '%s': %s", target,
				  strerror(EISDIR));
			return -EISDIR;
		}
		b->out_dev[b->nr_out] = st.st_dev;
		b->out_ino[b->nr_out++] = st.st_ino;
	}
	/* a hash tree file from an earlier build stays out of the image too */
	if (b->opts->verity_file && !stat(b->opts->verity_file, &st)) {
		if (S_ISDIR(st.st_mode)) {
			erofs_err(b, "cannot create hash tree '%s': %s",
				  b->opts->verity_file, strerror(EISDIR));
			return -EISDIR;
		}
		b->out_dev[b->nr_out] = st.st_dev;
		b->out_ino[b->nr_out++] = st.st_ino;
	}
	dcopy = strdup(target);
	if (!dcopy)
		return -ENOMEM;
	ret = erofs_check_target_dir(b, "image", target, dirname(dcopy));
	free(dcopy);
	return ret;
}

/*
 * A temporary file in 'dir' (default: the folder of 'target'), named after
 * the target so that a leftover is recognisable.
 */
int erofs_tmpfile_create(struct erofs_build *b, const char *target,
			 const char *dir, unsigned int slot, char **tmp)
{
	char *dcopy, *bcopy;
	int fd, ret = 0;

	dcopy = strdup(target);
	bcopy = strdup(target);
	if (!dcopy || !bcopy) {
		ret = -ENOMEM;
		goto out;
	}
	if (asprintf(tmp, "%s/.%s.XXXXXX", dir ? dir : dirname(dcopy),
		     basename(bcopy)) < 0) {
		*tmp = NULL;
		ret = -ENOMEM;
		goto out;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		free(*tmp);
		*tmp = NULL;
		goto out;
	}
	ret = fd;
	if (b->opts->tmpfile)
		b->opts->tmpfile(b->opts->cb_ctx, slot, *tmp);
out:
	free(dcopy);
	free(bcopy);
	return ret;
}

/* the temporary file of a slot is gone (renamed or removed) */
void erofs_tmpfile_forget(struct erofs_build *b, unsigned int slot)
{
	if (b->opts->tmpfile)
		b->opts->tmpfile(b->opts->cb_ctx, slot, NULL);
}

/* after planning: the temporary file that becomes the image */
int erofs_output_create(struct erofs_build *b)
{
	int fd = erofs_tmpfile_create(b, b->opts->image_path, NULL,
				      EROFS_TMP_IMAGE, &b->tmp_path);

	if (fd < 0) {
		erofs_err(b, "cannot create image '%s': %s",
			  b->opts->image_path, strerror(-fd));
		return fd;
	}
	b->outfd = fd;
	return 0;
}

int erofs_output_commit(struct erofs_build *b)
{
	const char *target = b->opts->image_path;
	int ret;

	if (fchmod(b->outfd, 0644) ||
	    (!b->opts->no_fsync && fsync(b->outfd))) {
		ret = erofs_output_failed(b, -errno);
		erofs_output_abort(b);
		return ret;
	}
	if (close(b->outfd)) {
		b->outfd = -1;
		ret = erofs_output_failed(b, -errno);
		erofs_output_abort(b);
		return ret;
	}
	b->outfd = -1;
	if (rename(b->tmp_path, target)) {
		ret = -errno;
		erofs_err(b, "failed to create '%s': %s", target, strerror(errno));
		erofs_output_abort(b);
		return ret;
	}
	free(b->tmp_path);
	b->tmp_path = NULL;
	erofs_tmpfile_forget(b, EROFS_TMP_IMAGE);
	return 0;
}

void erofs_output_abort(struct erofs_build *b)
{
	if (b->outfd >= 0)
		close(b->outfd);
	b->outfd = -1;
	if (b->tmp_path) {
		unlink(b->tmp_path);
		free(b->tmp_path);
		b->tmp_path = NULL;
		erofs_tmpfile_forget(b, EROFS_TMP_IMAGE);
	}
}
