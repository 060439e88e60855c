// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * libFuzzer target for the tar source: the input is a tar archive (perhaps
 * compressed), built into an image in a private temporary directory.  Its
 * last byte steers the options, since a tar reader ignores what follows
 * the end-of-archive blocks: bit 0 index mode, bit 1 --oci, bit 2
 * fingerprints, bit 3 chunks with deduplication (full mode only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "erofs/mkfs.h"

static char workdir[256];

static void cleanup(void)
{
	rmdir(workdir);
}

static int setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (workdir[0])
		return 0;
	snprintf(workdir, sizeof(workdir), "%s/fuzz-tar.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(workdir))
		return -1;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[300], out[300];
	struct erofs_mkfs_opts o;
	uint8_t flags = size ? data[size - 1] : 0;
	int fd;

	if (setup())
		return 0;
	snprintf(in, sizeof(in), "%s/in.tar", workdir);
	snprintf(out, sizeof(out), "%s/out.img", workdir);
	fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);

	erofs_mkfs_opts_init(&o);
	o.image_path = out;
	o.source_path = in;
	o.tar_mode = flags & 1 ? EROFS_TAR_INDEX : EROFS_TAR_FULL;
	if (flags & 1)
		o.blkszbits = 9;
	o.oci = flags & 2;
	if (flags & 4)
		o.fp_algo = "sha256";
	if ((flags & 8) && !(flags & 1)) {
		o.chunksize = 4096;
		o.dedupe = true;
	}
	o.uuid_set = true;
	o.fixed_time = true;
	o.workers = 1;
	o.no_fsync = true;
	erofs_mkfs_build(&o, NULL);
	unlink(out);
	unlink(in);
	return 0;
}
