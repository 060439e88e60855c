// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * libFuzzer target for extraction: the input image is extracted, as root
 * would (owners, modes, xattrs, devices, --overwrite), into a fresh
 * directory below a scratch directory on tmpfs.  Afterwards the scratch
 * directory must hold that one directory and nothing else: whatever the
 * image says, extraction may not create anything outside its target.
 * Slower than fuzz_reader by far; it exists for extract.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erofs/reader.h"
#include "fuzz_common.h"

static char scratch[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(scratch, sizeof(scratch), "/dev/shm/erofs-fuzz-XXXXXX");
	if (!mkdtemp(scratch))
		abort();
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		return rmdir(path) ? -1 : 0;
	return unlink(path) ? -1 : 0;
}

static void check_scratch(void)
{
	struct dirent *de;
	DIR *d = opendir(scratch);
	int n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	/* anything but the (removed) target is an escape */
	if (n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = fuzz_fix_csum(data, size);
	struct erofs_rd_opts o = { .mem = fixed ? fixed : data, .memsize = size };
	struct erofs_rd_extract_opts xo = {
		.flags = EROFS_RD_EXTRACT_OWNER | EROFS_RD_EXTRACT_PERMS |
			 EROFS_RD_EXTRACT_OVERWRITE | EROFS_RD_EXTRACT_XATTRS |
			 EROFS_RD_EXTRACT_TRUSTED,
		.check_flags = EROFS_RD_CHECK_KEEP_GOING,
	};
	struct erofs_rd_stats st;
	struct erofs_rd *rd;
	char target[96];
	int fd;

	xo.umask = umask(0);
	umask(xo.umask);
	if (erofs_rd_open(&rd, &o)) {
		free(fixed);
		return 0;
	}
	snprintf(target, sizeof(target), "%s/t", scratch);
	if (mkdir(target, 0700))
		abort();
	fd = open(target, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		abort();
	erofs_rd_extract(rd, fd, &xo, &st);
	close(fd);
	erofs_rd_close(rd);
	free(fixed);
	/* the root may have been given mode 000: root does not care */
	if (nftw(target, rm_one, 64, FTW_DEPTH | FTW_PHYS))
		abort();
	check_scratch();
	return 0;
}
