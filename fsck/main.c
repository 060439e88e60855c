// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * fsck.erofs: checks an EROFS image with the validating reader and
 * optionally extracts it.  Option parsing, messages and exit codes only;
 * the work is in lib/reader.
 *
 * Exit codes: 0 clean, 1 the image is corrupt (or extraction failed),
 * 2 usage or operational error (cannot open, out of memory), 3 the image
 * uses a feature this version cannot read.
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erofs/reader.h"
#include "erofs/verity.h"

#define PROG "fsck.erofs"

enum {
	EXIT_CLEAN = 0,
	EXIT_CORRUPT = 1,
	EXIT_USAGE = 2,
	EXIT_UNSUPPORTED = 3,
};

static void free_devices(struct erofs_rd_opts *ro, bool owned)
{
	unsigned int i;

	if (owned)
		for (i = 0; i < ro->ndevices; i++)
			free((char *)ro->devices[i]);
}

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE\n"
	      "Check the EROFS image IMAGE and optionally extract it.\n"
	      "\n"
	      "Options:\n"
	      "  -d N                   message level 0..9 (default 2)\n"
	      "  -p                     print statistics after the check\n"
	      "  -V, --version          show the version and exit\n"
	      "  --device=PATH          an extra device, in device table order (repeatable);\n"
	      "                         a device whose slot holds a blob id is checked\n"
	      "                         against it\n"
	      "  --blob-dir=DIR         find each extra device in DIR by its blob id\n"
	      "  --extract[=DIR]        read every byte of every file; with DIR, write the\n"
	      "                         tree out below DIR\n"
	      "  --verify-fingerprints  recompute every computed fingerprint from the\n"
	      "                         file's data and name each file that differs\n"
	      "  --xattr-inode-digest   the same, as erofs-utils spells it\n"
	      "  --verity[=FILE]        check the dm-verity hash tree after the image's\n"
	      "                         last block, or in FILE, against --root-hash\n"
	      "  --root-hash=HEX        the root hash the tree must have (sha256)\n"
	      "  --help                 show this help and exit\n"
	      "\n"
	      "Extraction options (need --extract=DIR):\n"
	      "  --force                extract into a directory that is not empty\n"
	      "  --overwrite            replace files that are in the way\n"
	      "  --preserve             keep owners and permissions (default for root)\n"
	      "  --preserve-owner       keep owners\n"
	      "  --preserve-perms       keep permissions, set-id bits included\n"
	      "  --no-preserve          extract as yourself, permissions masked by the\n"
	      "                         umask (default for other users)\n"
	      "  --no-preserve-owner    extract as yourself\n"
	      "  --no-preserve-perms    mask permissions with the umask\n"
	      "\n"
	      "Exit status: 0 clean, 1 corrupt or extraction failed, 2 usage or\n"
	      "operational error, 3 a feature this version cannot read.\n", f);
}

struct fsck_msg {
	int level;
};

static void fsck_msg(void *priv, enum erofs_rd_level level, const char *msg)
{
	static const char *const tags[] = { "error: ", "warning: ", "", "" };

	(void)priv;
	fprintf(stderr, PROG ": %s%s\n", tags[level], msg);
}

static enum erofs_rd_level level_of(int d)
{
	if (d >= 4)
		return EROFS_RD_DEBUG;
	if (d >= 3)
		return EROFS_RD_INFO;
	if (d >= 1)
		return EROFS_RD_WARN;
	return EROFS_RD_ERR;
}

enum {
	OPT_HELP = 256,
	OPT_VERSION,
	OPT_DEVICE,
	OPT_EXTRACT,
	OPT_FORCE,
	OPT_OVERWRITE,
	OPT_PRESERVE,
	OPT_PRESERVE_OWNER,
	OPT_PRESERVE_PERMS,
	OPT_NO_PRESERVE,
	OPT_NO_PRESERVE_OWNER,
	OPT_NO_PRESERVE_PERMS,
	OPT_VERIFY_FP,
	OPT_BLOB_DIR,
	OPT_VERITY,
	OPT_ROOT_HASH,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
	{ "extract", optional_argument, NULL, OPT_EXTRACT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
	{ "preserve", no_argument, NULL, OPT_PRESERVE },
	{ "preserve-owner", no_argument, NULL, OPT_PRESERVE_OWNER },
	{ "preserve-perms", no_argument, NULL, OPT_PRESERVE_PERMS },
	{ "no-preserve", no_argument, NULL, OPT_NO_PRESERVE },
	{ "no-preserve-owner", no_argument, NULL, OPT_NO_PRESERVE_OWNER },
	{ "no-preserve-perms", no_argument, NULL, OPT_NO_PRESERVE_PERMS },
	{ "verify-fingerprints", no_argument, NULL, OPT_VERIFY_FP },
	{ "xattr-inode-digest", optional_argument, NULL, OPT_VERIFY_FP },
	{ "verity", optional_argument, NULL, OPT_VERITY },
	{ "root-hash", required_argument, NULL, OPT_ROOT_HASH },
	{ NULL, 0, NULL, 0 },
};

static int exit_code(int err)
{
	switch (err) {
	case 0:
		return EXIT_CLEAN;
	case -EFSCORRUPTED:
	case -EBADMSG:		/* fingerprints that do not match */
	case -ENODATA:		/* ... or none to verify */
		return EXIT_CORRUPT;
	case -EOPNOTSUPP:
		return EXIT_UNSUPPORTED;
	}
	return EXIT_USAGE;
}

/* the extraction directory: created if missing, else it must be empty or --force */
static int open_target(const char *dir, bool force)
{
	struct dirent *de;
	DIR *dp;
	int fd, n = 0;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, PROG ": cannot create '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot open '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	if (force)
		return fd;
	dp = fdopendir(dup(fd));
	if (!dp) {
		fprintf(stderr, PROG ": cannot read '%s': %s\n", dir, strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	if (n) {
		fprintf(stderr, PROG ": '%s' is not empty; use --force to extract into it\n",
			dir);
		close(fd);
		return -1;
	}
	return fd;
}

static void print_stats(const struct erofs_rd_stats *st)
{
	printf("inodes: %llu\n", (unsigned long long)st->inodes);
	printf("entries: %llu\n", (unsigned long long)st->entries);
	printf("regular files: %llu\n", (unsigned long long)st->by_type[EROFS_FT_REG_FILE]);
	printf("directories: %llu\n", (unsigned long long)st->by_type[EROFS_FT_DIR]);
	printf("symlinks: %llu\n", (unsigned long long)st->by_type[EROFS_FT_SYMLINK]);
	printf("file bytes: %llu\n", (unsigned long long)st->file_bytes);
	printf("data blocks: %llu\n", (unsigned long long)st->data_blocks);
	printf("shared chunks: %llu\n", (unsigned long long)st->shared_chunks);
	printf("shared blocks: %llu\n", (unsigned long long)st->shared_blocks);
}

/* -EBADMSG: some fingerprint does not match, each file already named */
static int verify_fingerprints(struct erofs_rd *rd, const char *image)
{
	struct erofs_rd_fp_report r;
	int err = erofs_rd_verify_fingerprints(rd, &r);

	if (err == -ENODATA) {
		fprintf(stderr, PROG ": %s: the image carries no fingerprints to verify\n",
			image);
		return err;
	}
	if (err && err != -EBADMSG)
		return err;
	printf(PROG ": %s: fingerprints: %llu files with data, %llu computed "
	       "(%llu match, %llu do not), %llu publisher-supplied (not "
	       "checked), %llu without one\n", image,
	       (unsigned long long)r.files, (unsigned long long)r.computed,
	       (unsigned long long)r.matched, (unsigned long long)r.mismatched,
	       (unsigned long long)r.supplied, (unsigned long long)r.missing);
	return err;
}

static int parse_root_hash(const char *s, uint8_t *out)
{
	unsigned int i, v;

	if (strlen(s) != 2 * EROFS_VERITY_DIGEST_SIZE)
		return -1;
	for (i = 0; i < EROFS_VERITY_DIGEST_SIZE; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return 0;
}

/*
 * The dm-verity tree after the filesystem's last block, or in its own
 * file: every data block and hash block against the root hash.  The first
 * fault is named, with the data block and the filesystem block it holds.
 */
static int check_verity(struct erofs_rd *rd, const char *image,
			const char *hash_file, const uint8_t *root)
{
	const struct erofs_rd_sb *sb = erofs_rd_sb(rd);
	const char *tree_path = hash_file ? hash_file : image;
	struct erofs_verity_params p;
	struct erofs_verity_fault f;
	uint64_t off = 0, fs_end = sb->blocks << sb->blkszbits;
	const char *why;
	int dfd, hfd, err;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	dfd = open(image, O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, PROG ": cannot open '%s': %s\n", image, strerror(errno));
		return -errno;
	}
	hfd = hash_file ? open(hash_file, O_RDONLY | O_CLOEXEC) : dfd;
	if (hfd < 0) {
		err = -errno;
		fprintf(stderr, PROG ": cannot open hash tree '%s': %s\n", hash_file,
			strerror(errno));
		close(dfd);
		return err;
	}
	if (!hash_file) {
		err = erofs_verity_find_sb(dfd, fs_end, &off);
		if (err == -ENOENT) {
			fprintf(stderr, PROG ": error: %s: verity: no verity superblock after the last filesystem block (offset %llu)\n",
				image, (unsigned long long)fs_end);
			err = -EFSCORRUPTED;
			goto out;
		}
		if (err) {
			fprintf(stderr, PROG ": cannot read '%s': %s\n", image,
				strerror(-err));
			goto out;
		}
	}
	err = erofs_verity_verify(dfd, hfd, off, root, ncpu > 0 ? ncpu : 1,
				  &p, &f, &why);
	if (why) {
		fprintf(stderr, PROG ": error: %s: verity: %s (hash offset %llu)\n",
			tree_path, why, (unsigned long long)off);
		if (err != -EOPNOTSUPP)
			err = -EFSCORRUPTED;
		goto out;
	}
	switch (err) {
	case 0: {
		unsigned int i;

		printf(PROG ": %s: verity: %llu data blocks of %u bytes match root hash ",
		       image, (unsigned long long)p.data_blocks, p.data_bs);
		for (i = 0; i < EROFS_VERITY_DIGEST_SIZE; i++)
			printf("%02x", root[i]);
		putchar('\n');
		break;
	}
	case -EBADMSG:
		if (f.kind == EROFS_VERITY_BAD_DATA) {
			uint64_t first = f.offset, last = f.offset + p.data_bs - 1;

			fprintf(stderr, PROG ": error: %s: verity: data block %llu (bytes %llu-%llu, filesystem block %llu) does not match the hash tree; %llu data block%s\n",
				image, (unsigned long long)f.block,
				(unsigned long long)first, (unsigned long long)last,
				(unsigned long long)(first >> sb->blkszbits),
				(unsigned long long)f.bad_data_blocks,
				f.bad_data_blocks == 1 ? " differs" : "s differ");
		} else if (f.kind == EROFS_VERITY_BAD_ROOT) {
			fprintf(stderr, PROG ": error: %s: verity: the top hash block (offset %llu) does not match the root hash given\n",
				tree_path, (unsigned long long)(off + p.hash_bs + f.offset));
		} else {
			fprintf(stderr, PROG ": error: %s: verity: hash block %llu of level %u (offset %llu) %s\n",
				tree_path, (unsigned long long)f.block, f.level,
				(unsigned long long)(off + p.hash_bs + f.offset),
				f.kind == EROFS_VERITY_BAD_PADDING ?
				"has bytes other than zero after its last digest" :
				"does not match the level above");
		}
		err = -EFSCORRUPTED;
		break;
	case -ENOMEM:
		break;
	default:
		fprintf(stderr, PROG ": cannot read '%s': %s\n", tree_path,
			strerror(-err));
	}
out:
	if (hfd != dfd)
		close(hfd);
	close(dfd);
	return err;
}

/*
 * Without --device or --blob-dir, the blobs of the device table are looked
 * for inside the image, at their mapped addresses; when the image is too
 * short to hold them, that cannot work, and one line says so instead of an
 * error for every chunk that points there.
 */
static bool blobs_missing(const struct erofs_rd *rd, const char *image)
{
	unsigned int n = erofs_rd_ndevices(rd), bits = erofs_rd_sb(rd)->blkszbits;
	uint64_t need = 0;
	unsigned int i;

	for (i = 1; i <= n; i++) {
		const struct erofs_rd_device *d = erofs_rd_device(rd, i);

		if (d && (d->uniaddr + d->blocks) << bits > need)
			need = (d->uniaddr + d->blocks) << bits;
	}
	if (!n || erofs_rd_image_size(rd) >= need)
		return false;
	fprintf(stderr, PROG ": %s: its device table lists %u blob%s, which %s not in the image (%llu bytes; %s would end at byte %llu): name %s with --device=FILE (in table order) or --blob-dir=DIR\n",
		image, n, n == 1 ? "" : "s", n == 1 ? "is" : "are",
		(unsigned long long)erofs_rd_image_size(rd),
		n == 1 ? "it" : "they", (unsigned long long)need,
		n == 1 ? "it" : "them");
	return true;
}

int main(int argc, char **argv)
{
	struct erofs_rd_opts ro = { .msg = fsck_msg };
	struct erofs_rd_extract_opts xo = { 0 };
	struct erofs_rd_stats st = { 0 };
	struct erofs_rd *rd;
	const char *extract_dir = NULL, *image;
	bool extract = false, force = false, stats = false, verify_fp = false;
	bool owned_devices = false;
	const char *blob_dir = NULL;
	bool verity = false, root_set = false;
	const char *verity_file = NULL;
	uint8_t root[EROFS_VERITY_DIGEST_SIZE];
	int verr = 0;
	int owner = -1, perms = -1, debug = 2, opt, err, rootfd = -1;
	struct rlimit rl;
	char *end;

	while ((opt = getopt_long(argc, argv, "d:pV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			debug = strtol(optarg, &end, 10);
			if (*end || debug < 0 || debug > 9) {
				fprintf(stderr, PROG ": invalid message level '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			stats = true;
			break;
		case 'V':
		case OPT_VERSION:
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			return EXIT_CLEAN;
		case OPT_HELP:
			usage(stdout);
			return EXIT_CLEAN;
		case OPT_DEVICE:
			if (ro.ndevices >= EROFS_RD_MAX_DEVICES) {
				fprintf(stderr, PROG ": too many --device options\n");
				return EXIT_USAGE;
			}
			ro.devices[ro.ndevices++] = optarg;
			break;
		case OPT_BLOB_DIR:
			blob_dir = optarg;
			break;
		case OPT_EXTRACT:
			extract = true;
			extract_dir = optarg && *optarg ? optarg : NULL;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_OVERWRITE:
			xo.flags |= EROFS_RD_EXTRACT_OVERWRITE;
			break;
		case OPT_PRESERVE:
			owner = perms = 1;
			break;
		case OPT_PRESERVE_OWNER:
			owner = 1;
			break;
		case OPT_PRESERVE_PERMS:
			perms = 1;
			break;
		case OPT_NO_PRESERVE:
			owner = perms = 0;
			break;
		case OPT_NO_PRESERVE_OWNER:
			owner = 0;
			break;
		case OPT_NO_PRESERVE_PERMS:
			perms = 0;
			break;
		case OPT_VERIFY_FP:
			verify_fp = true;
			break;
		case OPT_VERITY:
			verity = true;
			verity_file = optarg && *optarg ? optarg : NULL;
			break;
		case OPT_ROOT_HASH:
			if (parse_root_hash(optarg, root)) {
				fprintf(stderr, PROG ": invalid root hash '%s': expected 64 hex digits\n",
					optarg);
				return EXIT_USAGE;
			}
			root_set = true;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ? "no image given" :
			"more than one image given");
		usage(stderr);
		return EXIT_USAGE;
	}
	image = argv[optind];
	if (!extract_dir && (force || xo.flags || owner >= 0 || perms >= 0)) {
		fprintf(stderr, PROG ": extraction options need --extract=DIR\n");
		return EXIT_USAGE;
	}
	if (blob_dir && ro.ndevices) {
		fprintf(stderr, PROG ": --blob-dir and --device exclude each other\n");
		return EXIT_USAGE;
	}
	if (verity != root_set) {
		fprintf(stderr, PROG ": --verity and --root-hash go together\n");
		return EXIT_USAGE;
	}
	ro.path = image;
	ro.level = level_of(debug);

	if (blob_dir) {
		err = erofs_rd_blob_dir_devices(image, blob_dir, &ro);
		if (err) {
			fprintf(stderr, PROG ": %s: cannot find its blobs in '%s': %s\n",
				image, blob_dir, strerror(-err));
			return exit_code(err);
		}
		owned_devices = true;
	}
	err = erofs_rd_open(&rd, &ro);
	if (err) {
		/* the reader has named a device it could not open */
		fprintf(stderr, PROG ": %s: cannot open the image%s: %s\n", image,
			ro.ndevices ? " with its devices" : "", strerror(-err));
		free_devices(&ro, owned_devices);
		return exit_code(err);
	}
	if (!ro.ndevices && blobs_missing(rd, image)) {
		erofs_rd_close(rd);
		return EXIT_USAGE;
	}
	if (ro.ndevices) {
		unsigned int bad;

		err = erofs_rd_verify_blob_ids(rd, &bad);
		if (!err && bad)
			err = -EFSCORRUPTED;
		if (err) {
			fprintf(stderr, PROG ": %s: %s\n", image, bad ?
				"a blob does not match its id" : strerror(-err));
			erofs_rd_close(rd);
			free_devices(&ro, owned_devices);
			return EXIT_CORRUPT;
		}
	}

	if (extract_dir) {
		bool root = geteuid() == 0;

		/* one descriptor per hard-link group in flight */
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (owner < 0)
			owner = root;
		if (perms < 0)
			perms = root;
		xo.flags |= EROFS_RD_EXTRACT_XATTRS;
		if (owner)
			xo.flags |= EROFS_RD_EXTRACT_OWNER;
		if (perms)
			xo.flags |= EROFS_RD_EXTRACT_PERMS;
		if (root)
			xo.flags |= EROFS_RD_EXTRACT_TRUSTED;
		xo.umask = umask(0);
		umask(xo.umask);
		xo.check_flags = EROFS_RD_CHECK_KEEP_GOING;
		rootfd = open_target(extract_dir, force);
		if (rootfd < 0) {
			erofs_rd_close(rd);
			return EXIT_USAGE;
		}
		err = erofs_rd_extract(rd, rootfd, &xo, &st);
		close(rootfd);
	} else {
		err = erofs_rd_check(rd, EROFS_RD_CHECK_KEEP_GOING |
				     (extract ? EROFS_RD_CHECK_READ_DATA : 0), NULL, NULL, &st);
	}

	if (!err && verify_fp)
		err = verify_fingerprints(rd, image);
	/* the blocks are checked whatever the filesystem check found */
	if (verity)
		verr = check_verity(rd, image, verity_file, root);
	if (!err && verr) {
		if (stats)
			print_stats(&st);
		erofs_rd_close(rd);
		if (verr == -ENOMEM || verr == -EOPNOTSUPP)
			return exit_code(verr);
		return verr == -EFSCORRUPTED ? EXIT_CORRUPT : EXIT_USAGE;
	}
	if (stats)
		print_stats(&st);
	if (!err) {
		printf(PROG ": %s: clean, %llu inodes, %llu entries, %llu data blocks",
		       image, (unsigned long long)st.inodes, (unsigned long long)st.entries,
		       (unsigned long long)st.data_blocks);
		if (st.shared_chunks)
			printf(", %llu chunks sharing %llu blocks",
			       (unsigned long long)st.shared_chunks,
			       (unsigned long long)st.shared_blocks);
		printf("%s\n", extract_dir ? ", extracted" : "");
	} else if (err != -ENODATA) {
		unsigned long n = erofs_rd_nerrors(rd);

		fprintf(stderr, PROG ": %s: %lu error%s found (%s)\n", image, n, n == 1 ? "" : "s",
			strerror(-err));
		if (!ro.ndevices && erofs_rd_ndevices(rd))
			fprintf(stderr, PROG ": %s: its device table lists %u blob%s and none was given, so %s blocks were looked for in the image itself; name %s with --device=FILE (in table order) or --blob-dir=DIR\n",
				image, erofs_rd_ndevices(rd),
				erofs_rd_ndevices(rd) == 1 ? "" : "s",
				erofs_rd_ndevices(rd) == 1 ? "its" : "their",
				erofs_rd_ndevices(rd) == 1 ? "it" : "them");
	}
	erofs_rd_close(rd);
	free_devices(&ro, owned_devices);
	/* a failed extraction is a failure of the run, whatever its errno */
	if (extract_dir && err && err != -EOPNOTSUPP)
		return EXIT_CORRUPT;
	return exit_code(err);
}
