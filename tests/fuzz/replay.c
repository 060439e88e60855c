// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Replays fuzz inputs through the libFuzzer target without libFuzzer, so
 * that the corpus and every crasher ever found run in `make check` (and
 * under the sanitizer build).  Arguments are files or directories; with
 * none, it replays $srcdir/corpus and $srcdir/crashers.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the target's inputs, below $srcdir */
#ifndef REPLAY_CORPUS
#define REPLAY_CORPUS	"corpus"
#endif
#ifndef REPLAY_CRASHERS
#define REPLAY_CRASHERS	"crashers"
#endif

static unsigned long nfiles;

static int replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st)) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		fclose(f);
		return 1;
	}
	n = fread(buf, 1, st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	nfiles++;
	return 0;
}

static int replay(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n, i, err = 0;

	if (stat(path, &st)) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return 1;
	}
	for (i = 0; i < n; i++) {
		char *p;

		if (names[i]->d_name[0] != '.' &&
		    asprintf(&p, "%s/%s", path, names[i]->d_name) >= 0) {
			err |= replay(p);
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	const char *srcdir = getenv("srcdir");
	int i, err = 0;
	char *p;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			err |= replay(argv[i]);
	} else {
		if (!srcdir)
			srcdir = ".";
		if (asprintf(&p, "%s/" REPLAY_CORPUS, srcdir) >= 0) {
			err |= replay(p);
			free(p);
		}
		if (asprintf(&p, "%s/" REPLAY_CRASHERS, srcdir) >= 0) {
			err |= replay(p);
			free(p);
		}
	}
	printf("replay: %lu inputs, no crash\n", nfiles);
	if (!nfiles)
		return 1;
	return err;
}
