// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * pcs: the small static program the test guest runs next to busybox.
 *
 *   pcs fincore FILE          resident and total pages, via mincore()
 *   pcs mmapcat FILE          the file's bytes read through mmap, to stdout
 *   pcs frames FILE           map and touch every page; print a hash of the
 *                             physical frame numbers and how many were zero
 *   pcs dontneed FILE         posix_fadvise(POSIX_FADV_DONTNEED), whole file
 *   pcs odirect FILE          try open(O_DIRECT): prints OK or the errno name
 *   pcs readtime FILE         read it all; print bytes, microseconds, MB/s
 *   pcs hold FILE GO          open FILE, read one page, wait until GO exists,
 *                             then copy the whole file to stdout
 *   pcs mount SRC DIR OPTS    mount(2) an erofs image (a file-backed mount
 *                             when SRC is a regular file)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long pagesz;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "pcs: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static void *map_file(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open", path);
	if (fstat(fd, &st))
		die("stat", path);
	*len = st.st_size;
	if (!*len) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", path);
	close(fd);
	return p;
}

static int cmd_fincore(const char *path)
{
	size_t len, pages, i, resident = 0;
	unsigned char *vec;
	void *p = map_file(path, &len);

	pages = (len + pagesz - 1) / pagesz;
	vec = calloc(pages ? pages : 1, 1);
	if (p && mincore(p, len, vec))
		die("mincore", path);
	for (i = 0; i < pages; i++)
		resident += vec[i] & 1;
	printf("%zu %zu\n", resident, pages);
	return 0;
}

static int cmd_mmapcat(const char *path)
{
	size_t len, done = 0;
	char *p = map_file(path, &len);

	while (done < len) {
		ssize_t n = write(1, p + done, len - done);

		if (n <= 0)
			die("write", "stdout");
		done += n;
	}
	return 0;
}

static int cmd_frames(const char *path)
{
	size_t len, pages, i, zero = 0;
	uint64_t hash = 1469598103934665603ULL;
	volatile char sink;
	char *p = map_file(path, &len);
	int pm = open("/proc/self/pagemap", O_RDONLY);

	if (pm < 0)
		die("open", "/proc/self/pagemap");
	pages = (len + pagesz - 1) / pagesz;
	for (i = 0; i < pages; i++) {
		uint64_t ent, pfn;
		off_t off = ((uintptr_t)p / pagesz + i) * sizeof(ent);

		sink = p[i * pagesz];
		if (pread(pm, &ent, sizeof(ent), off) != sizeof(ent))
			die("read", "pagemap");
		pfn = ent & ((1ULL << 55) - 1);
		if (!(ent >> 63) || !pfn)
			zero++;
		hash = (hash ^ pfn) * 1099511628211ULL;
	}
	(void)sink;
	printf("%016llx %zu %zu\n", (unsigned long long)hash, zero, pages);
	return 0;
}

static int cmd_dontneed(const char *path)
{
	int fd = open(path, O_RDONLY);
	int err;

	if (fd < 0)
		die("open", path);
	err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (err) {
		errno = err;
		die("fadvise", path);
	}
	return 0;
}

static int cmd_odirect(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd >= 0) {
		puts("OK");
		return 0;
	}
	puts(errno == EINVAL ? "EINVAL" : strerror(errno));
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmd_readtime(const char *path)
{
	static char buf[1 << 20];
	long long total = 0;
	double t0, us;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open", path);
	t0 = now_us();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		die("read", path);
	us = now_us() - t0;
	printf("%lld %.0f %.1f\n", total, us, us > 0 ? total / us : 0.0);
	return 0;
}

static int cmd_hold(const char *path, const char *go)
{
	static char buf[1 << 16];
	off_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open", path);
	if (pread(fd, buf, pagesz, 0) < 0)
		die("read", path);
	while (access(go, F_OK))
		usleep(20000);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(1, buf, n) != n)
			die("write", "stdout");
		off += n;
	}
	if (n < 0)
		die("read", path);
	return 0;
}

int main(int argc, char **argv)
{
	pagesz = sysconf(_SC_PAGESIZE);
	if (argc == 3 && !strcmp(argv[1], "fincore"))
		return cmd_fincore(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mmapcat"))
		return cmd_mmapcat(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "frames"))
		return cmd_frames(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "dontneed"))
		return cmd_dontneed(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "odirect"))
		return cmd_odirect(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "readtime"))
		return cmd_readtime(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "mount")) {
		if (mount(argv[2], argv[3], "erofs", MS_RDONLY, argv[4]))
			die("mount", argv[2]);
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of pcs.c\n");
	return 2;
}
