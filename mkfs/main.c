// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * mkfs.erofs: the command-line front end.  It parses and checks options,
 * prints messages, progress and the summary, and maps results to exit
 * codes: 0 success, 1 build failure, 2 usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "erofs/mkfs.h"

#define PROG	"mkfs.erofs"

struct frontend {
	int debug;
	unsigned int errors;	/* messages already shown for a failure */
	bool quiet;
	bool tty;
	bool progress_shown;
	struct timespec start, last;
};

/* the signal handler needs the temporary paths; nothing else is global */
static char tmp_files[EROFS_TMP_SLOTS][PATH_MAX + 64];

static void on_tmpfile(void *ctx, unsigned int slot, const char *path)
{
	char *t;

	(void)ctx;
	if (slot >= EROFS_TMP_SLOTS)
		return;
	t = tmp_files[slot];
	if (!path || strlen(path) >= sizeof(tmp_files[0]))
		t[0] = '\0';
	else
		memcpy(t, path, strlen(path) + 1);
}

static void on_signal(int sig)
{
	unsigned int i;

	for (i = 0; i < EROFS_TMP_SLOTS; i++)
		if (tmp_files[i][0])
			unlink(tmp_files[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE SOURCE\n"
	      "       " PROG " [OPTIONS] --tar[=MODE] IMAGE [TARFILE]\n"
	      "       " PROG " [OPTIONS] --rebuild IMAGE INPUT.img [INPUT.img ...]\n"
	      "Build an EROFS image at IMAGE from the directory SOURCE, from a tar\n"
	      "archive (standard input without TARFILE, or with '-'), or from EROFS\n"
	      "images merged as overlay layers (later over earlier).\n"
	      "\n"
	      "Options:\n"
	      "  -b SIZE                block size: 512, 1024, 2048 or 4096 (default 4096)\n"
	      "  -L LABEL               volume label, at most 15 bytes\n"
	      "  -U UUID                volume UUID, or 'clear' (all zero) or 'random'\n"
	      "  -T EPOCH               set every timestamp and the build time to EPOCH\n"
	      "  -x N                   xattr tolerance: share xattrs carried by more than\n"
	      "                         N inodes (default 2); a negative N drops all xattrs\n"
	      "  -z ALG[,level=N]       compress regular files with ALG: lz4, lz4hc (levels\n"
	      "                         1-12, default 9), zstd (1-22, default 3) or deflate\n"
	      "                         (1-9, default 6)\n"
	      "  -C SIZE                physical cluster size for -z: a multiple of the block\n"
	      "                         size, at most 1 MiB (default: one block)\n"
	      "  -E ztailpacking        with -z, keep a file's short compressed tail in its\n"
	      "                         inode (default with zstd and deflate)\n"
	      "  -E fragments           with -z, store files up to 64 KiB (or the pcluster\n"
	      "                         size) inside one compressed packed inode (default\n"
	      "                         with zstd and deflate)\n"
	      "  -E legacy-compress     with -z, full lcluster indexes instead of compact ones\n"
	      "  -E ^OPTION             turn an extended option off\n"
	      "  -q                     quiet: no progress and no summary\n"
	      "  -d N                   message level 0..9 (default 2)\n"
	      "  --all-root             make every file owned by uid 0 and gid 0\n"
	      "  --force-uid=UID        make every file owned by UID\n"
	      "  --force-gid=GID        make every file belong to group GID\n"
	      "  --exclude-path=PATH    leave out PATH (relative to SOURCE) and all below it\n"
	      "  --exclude-regex=REGEX  leave out paths matching the extended REGEX\n"
	      "  --xattr-prefix=PREFIX  store xattr names starting with PREFIX through a\n"
	      "                         long name prefix (repeatable)\n"
	      "  --fingerprint[=ALGO]   store a fingerprint of every regular file with data,\n"
	      "                         for page-cache sharing: sha256 (default), sha512,\n"
	      "                         sha3-256 or blake2b512\n"
	      "  --fingerprint-name=NAME  the xattr name of fingerprints (default\n"
	      "                         " EROFS_FINGERPRINT_DEFAULT_NAME ", hidden)\n"
	      "  --xattr-inode-digest[=NAME]  sha256 fingerprints named NAME, as\n"
	      "                         erofs-utils spells it\n"
	      "  --fingerprint-map=FILE  fingerprints a publisher supplies: lines of\n"
	      "                         PATH VALUE, VALUE as hex:... or a quoted string\n"
	      "  --fingerprint-from-xattr=NAME  take each file's fingerprint from its\n"
	      "                         source xattr NAME\n"
	      "  --fingerprint-strict   fail when a file has no supplied fingerprint\n"
	      "  --manifest=FILE        write a JSON document of every path, its\n"
	      "                         metadata and fingerprint, and the image's digest\n"
	      "  --tar[=MODE]           the source is a tar archive (plain, gzip, zstd, xz or\n"
	      "                         bzip2): MODE f copies file data into the image\n"
	      "                         (default); i makes an index image that reads file\n"
	      "                         data in place from TARFILE, its device (needs an\n"
	      "                         uncompressed TARFILE and 512-byte blocks, the\n"
	      "                         default in that mode)\n"
	      "  --oci                  with --tar: OCI layer whiteouts (.wh.NAME and\n"
	      "                         .wh..wh..opq) become overlayfs whiteouts and\n"
	      "                         opaque directories\n"
	      "  --rebuild[=ref|copy]   the sources are EROFS images, merged as layers: the\n"
	      "                         new image holds metadata only and reads file data\n"
	      "                         from the inputs, which become its devices; with\n"
	      "                         copy, data that cannot be referenced in place\n"
	      "                         (compressed) is copied into a new blob\n"
	      "  --chunksize=SIZE       store regular files in chunks of SIZE bytes (a power\n"
	      "                         of two, at least the block size)\n"
	      "  -E dedupe              store identical chunks once (chunk size: the block\n"
	      "                         size unless --chunksize says otherwise)\n"
	      "  --blobdev=FILE         put all chunk data in the blob FILE; the image holds\n"
	      "                         metadata and a device table naming the blob by its\n"
	      "                         SHA-256\n"
	      "  --blob-dir=DIR         write the blob into the store DIR as DIR/<sha256>\n"
	      "  --blob-dict=IMAGE      reuse chunks that the blobs of IMAGE (found in\n"
	      "                         --blob-dir) already hold (repeatable)\n"
	      "  --verity[=FILE]        write a dm-verity hash tree (sha256, format 1, with\n"
	      "                         a veritysetup superblock) after the last block of\n"
	      "                         the image, or into FILE, and print the root hash\n"
	      "  --verity-block-size=SIZE  verity data and hash block size: 512, 1024,\n"
	      "                         2048 or 4096 (default: the image's block size)\n"
	      "  --verity-salt=HEX      the verity salt, up to 256 bytes, or '-' for none\n"
	      "                         (default: derived from the UUID)\n"
	      "  --no-xattr-prefixes    choose no long prefixes by itself (for kernels\n"
	      "                         before 6.4); --xattr-prefix still adds them\n"
	      "  --workers=N            threads writing data (default: number of CPUs)\n"
	      "  --help                 show this help and exit\n"
	      "  --version              show the version and exit\n"
	      "\n"
	      "Environment:\n"
	      "  SOURCE_DATE_EPOCH      build time; newer timestamps are clamped to it\n",
	      f);
}

static void log_cb(void *ctx, enum erofs_log_level level, const char *fmt,
		   va_list ap)
{
	struct frontend *fe = ctx;

	if (level == EROFS_LOG_INFO && (fe->quiet || fe->debug < 2))
		return;
	if (level == EROFS_LOG_DEBUG && fe->debug < 3)
		return;
	if (fe->progress_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
	if (level == EROFS_LOG_ERR)
		fe->errors++;
	fprintf(stderr, PROG ": %s", level == EROFS_LOG_WARN ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_cb(void *ctx, const struct erofs_mkfs_progress *p)
{
	struct frontend *fe = ctx;
	struct timespec now;
	double t;

	if (fe->quiet || !fe->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (fe->progress_shown && elapsed(&fe->last, &now) < 0.2)
		return;
	fe->last = now;
	t = elapsed(&fe->start, &now);
	printf("\r\033[K%" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MiB, %.1f MiB/s",
	       p->inodes_done, p->inodes_total, p->bytes_done / 1048576.0,
	       p->bytes_total / 1048576.0,
	       t > 0 ? p->bytes_done / 1048576.0 / t : 0.0);
	fflush(stdout);
	fe->progress_shown = true;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static void bad_value(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, PROG ": invalid value '%s' for %s: %s\n", val, opt, why);
	fprintf(stderr, "Try '" PROG " --help' for more information.\n");
}

enum {
	OPT_ALL_ROOT = 256,
	OPT_FORCE_UID,
	OPT_FORCE_GID,
	OPT_EXCLUDE_PATH,
	OPT_EXCLUDE_REGEX,
	OPT_XATTR_PREFIX,
	OPT_WORKERS,
	OPT_NO_PREFIXES,
	OPT_FINGERPRINT,
	OPT_FINGERPRINT_NAME,
	OPT_INODE_DIGEST,
	OPT_FP_MAP,
	OPT_FP_FROM_XATTR,
	OPT_FP_STRICT,
	OPT_MANIFEST,
	OPT_CHUNKSIZE,
	OPT_BLOBDEV,
	OPT_BLOB_DIR,
	OPT_BLOB_DICT,
	OPT_REBUILD,
	OPT_VERITY,
	OPT_VERITY_BLKSZ,
	OPT_VERITY_SALT,
	OPT_TAR,
	OPT_OCI,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "all-root", no_argument, NULL, OPT_ALL_ROOT },
	{ "force-uid", required_argument, NULL, OPT_FORCE_UID },
	{ "force-gid", required_argument, NULL, OPT_FORCE_GID },
	{ "exclude-path", required_argument, NULL, OPT_EXCLUDE_PATH },
	{ "exclude-regex", required_argument, NULL, OPT_EXCLUDE_REGEX },
	{ "xattr-prefix", required_argument, NULL, OPT_XATTR_PREFIX },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "no-xattr-prefixes", no_argument, NULL, OPT_NO_PREFIXES },
	{ "fingerprint", optional_argument, NULL, OPT_FINGERPRINT },
	{ "fingerprint-name", required_argument, NULL, OPT_FINGERPRINT_NAME },
	{ "xattr-inode-digest", optional_argument, NULL, OPT_INODE_DIGEST },
	{ "fingerprint-map", required_argument, NULL, OPT_FP_MAP },
	{ "fingerprint-from-xattr", required_argument, NULL, OPT_FP_FROM_XATTR },
	{ "fingerprint-strict", no_argument, NULL, OPT_FP_STRICT },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "chunksize", required_argument, NULL, OPT_CHUNKSIZE },
	{ "blobdev", required_argument, NULL, OPT_BLOBDEV },
	{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
	{ "blob-dict", required_argument, NULL, OPT_BLOB_DICT },
	{ "rebuild", optional_argument, NULL, OPT_REBUILD },
	{ "verity", optional_argument, NULL, OPT_VERITY },
	{ "verity-block-size", required_argument, NULL, OPT_VERITY_BLKSZ },
	{ "verity-salt", required_argument, NULL, OPT_VERITY_SALT },
	{ "tar", optional_argument, NULL, OPT_TAR },
	{ "oci", no_argument, NULL, OPT_OCI },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct cmdline {
	struct erofs_mkfs_opts o;
	const char **excl;
	regex_t *regs;
	const char **dicts;
};

static char *normalize_rel(const char *p)
{
	char *s;
	size_t len;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	s = strdup(p);
	if (!s)
		return NULL;
	len = strlen(s);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

/* hex digits, two per byte; -1 when they are not */
static int parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return n / 2;
}

static int parse_args(int argc, char **argv, struct cmdline *cl,
		      struct frontend *fe)
{
	struct erofs_mkfs_opts *o = &cl->o;
	bool all_root = false, rebuild = false, bs_given = false;
	bool ztail_given = false, frag_given = false;
	long long v;
	char *sde;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:L:U:T:x:qd:E:z:C:", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_ll(optarg, 512, 4096, &v) || (v & (v - 1))) {
				bad_value("-b", optarg,
					  "block size must be 512, 1024, 2048 or 4096");
				return 2;
			}
			o->blkszbits = __builtin_ctzll(v);
			bs_given = true;
			break;
		case 'L':
			if (strlen(optarg) > 15) {
				bad_value("-L", optarg, "the label is limited to 15 bytes");
				return 2;
			}
			memset(o->label, 0, sizeof(o->label));
			memcpy(o->label, optarg, strlen(optarg));
			break;
		case 'U':
			if (!strcmp(optarg, "clear")) {
				memset(o->uuid, 0, 16);
				o->uuid_set = true;
			} else if (!strcmp(optarg, "random")) {
				o->uuid_set = false;
			} else if (uuid_parse(optarg, o->uuid)) {
				bad_value("-U", optarg, "not a UUID");
				return 2;
			} else {
				o->uuid_set = true;
			}
			break;
		case 'T':
			if (parse_ll(optarg, 0, INT64_MAX, &v)) {
				bad_value("-T", optarg, "expected seconds since 1970");
				return 2;
			}
			o->fixed_time = true;
			o->timestamp = v;
			break;
		case 'x':
			if (parse_ll(optarg, INT_MIN, INT_MAX, &v)) {
				bad_value("-x", optarg, "expected an integer");
				return 2;
			}
			o->xattr_tolerance = v;
			break;
		case 'q':
			fe->quiet = true;
			break;
		case 'd':
			if (parse_ll(optarg, 0, 9, &v)) {
				bad_value("-d", optarg, "expected 0 to 9");
				return 2;
			}
			fe->debug = v;
			break;
		case OPT_ALL_ROOT:
			all_root = true;
			break;
		case OPT_FORCE_UID:
		case OPT_FORCE_GID:
			if (parse_ll(optarg, 0, UINT32_MAX - 1, &v)) {
				bad_value(c == OPT_FORCE_UID ? "--force-uid" :
					  "--force-gid", optarg,
					  "expected an id from 0 to 4294967294");
				return 2;
			}
			if (c == OPT_FORCE_UID)
				o->force_uid = v;
			else
				o->force_gid = v;
			break;
		case OPT_EXCLUDE_PATH: {
			const char **n = realloc(cl->excl, (o->nr_exclude_paths + 1) *
						 sizeof(*n));
			if (!n)
				return 1;
			cl->excl = n;
			n[o->nr_exclude_paths] = normalize_rel(optarg);
			if (!n[o->nr_exclude_paths])
				return 1;
			o->nr_exclude_paths++;
			o->exclude_paths = cl->excl;
			break;
		}
		case OPT_EXCLUDE_REGEX: {
			regex_t *n = realloc(cl->regs, (o->nr_exclude_regexes + 1) *
					     sizeof(*n));
			int err;

			if (!n)
				return 1;
			cl->regs = n;
			err = regcomp(&n[o->nr_exclude_regexes], optarg,
				      REG_EXTENDED | REG_NOSUB);
			if (err) {
				char msg[256];

				regerror(err, &n[o->nr_exclude_regexes], msg,
					 sizeof(msg));
				bad_value("--exclude-regex", optarg, msg);
				return 2;
			}
			o->nr_exclude_regexes++;
			o->exclude_regexes = cl->regs;
			break;
		}
		case OPT_XATTR_PREFIX:
			if (o->nr_xattr_prefixes >= EROFS_MKFS_MAX_PREFIXES) {
				bad_value("--xattr-prefix", optarg,
					  "too many prefixes (at most 128)");
				return 2;
			}
			if (strncmp(optarg, "user.", 5) &&
			    strncmp(optarg, "trusted.", 8) &&
			    strncmp(optarg, "security.", 9)) {
				bad_value("--xattr-prefix", optarg,
					  "must start with user., trusted. or security.");
				return 2;
			}
			o->xattr_prefixes[o->nr_xattr_prefixes++] = optarg;
			break;
		case OPT_WORKERS:
			if (parse_ll(optarg, 1, 64, &v)) {
				bad_value("--workers", optarg, "expected 1 to 64");
				return 2;
			}
			o->workers = v;
			break;
		case OPT_NO_PREFIXES:
			o->no_auto_prefixes = true;
			break;
		case OPT_FINGERPRINT:
			if (optarg && !erofs_fingerprint_algo_ok(optarg)) {
				bad_value("--fingerprint", optarg,
					  "expected sha256, sha512, sha3-256 or blake2b512");
				return 2;
			}
			o->fp_algo = optarg ? optarg : "sha256";
			break;
		case OPT_FP_MAP:
			o->fp_map = optarg;
			break;
		case OPT_FP_FROM_XATTR:
			if (strncmp(optarg, "user.", 5) &&
			    strncmp(optarg, "trusted.", 8) &&
			    strncmp(optarg, "security.", 9)) {
				bad_value("--fingerprint-from-xattr", optarg,
					  "must be a user., trusted. or security. name");
				return 2;
			}
			o->fp_from_xattr = optarg;
			break;
		case OPT_FP_STRICT:
			o->fp_strict = true;
			break;
		case OPT_MANIFEST:
			if (!*optarg) {
				bad_value("--manifest", optarg, "expected a file name");
				return 2;
			}
			o->manifest = optarg;
			break;
		case OPT_VERITY:
			if (optarg && !*optarg) {
				bad_value("--verity", optarg, "expected a file name");
				return 2;
			}
			o->verity = true;
			o->verity_file = optarg;
			break;
		case OPT_VERITY_BLKSZ:
			if (parse_ll(optarg, 512, 4096, &v) || (v & (v - 1))) {
				bad_value("--verity-block-size", optarg,
					  "block size must be 512, 1024, 2048 or 4096");
				return 2;
			}
			o->verity_blkszbits = __builtin_ctzll(v);
			break;
		case OPT_VERITY_SALT:
			if (!strcmp(optarg, "-")) {
				o->verity_salt_size = 0;
				break;
			}
			o->verity_salt_size = parse_hex(optarg, o->verity_salt,
							sizeof(o->verity_salt));
			if (o->verity_salt_size <= 0) {
				bad_value("--verity-salt", optarg,
					  "expected 1 to 256 bytes in hex, or '-'");
				return 2;
			}
			break;
		case OPT_INODE_DIGEST:
			o->fp_algo = "sha256";
			if (!optarg)
				break;
			/* fall through */
		case OPT_FINGERPRINT_NAME:
			if (!*optarg || strlen(optarg) > 255 ||
			    !strncmp(optarg, "system.posix_acl", 16)) {
				bad_value(c == OPT_INODE_DIGEST ? "--xattr-inode-digest" :
					  "--fingerprint-name", optarg,
					  "expected an xattr name of 1 to 255 bytes");
				return 2;
			}
			o->fp_name = optarg;
			break;
		case 'E': {
			char *list = strdup(optarg), *tok, *save = NULL;

			if (!list)
				return 1;
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				/* a leading '^' turns the option off */
				bool on = *tok != '^';
				const char *name = tok + !on;

				if (!strcmp(name, "dedupe")) {
					o->dedupe = on;
				} else if (!strcmp(name, "ztailpacking")) {
					o->ztailpacking = on;
					ztail_given = true;
				} else if (!strcmp(name, "fragments")) {
					o->fragments = on;
					frag_given = true;
				} else if (!strcmp(name, "legacy-compress")) {
					o->compr_full_indexes = on;
				} else {
					bad_value("-E", tok,
						  "known extended options: dedupe, ztailpacking, fragments, legacy-compress, each turned off by a leading '^'");
					free(list);
					return 2;
				}
			}
			free(list);
			break;
		}
		case 'z': {
			const char *why = NULL;

			if (erofs_compr_parse(optarg, &o->compr_algo,
					      &o->compr_level, &why)) {
				bad_value("-z", optarg, why);
				return 2;
			}
			break;
		}
		case 'C':
			if (parse_ll(optarg, 512, 1 << 20, &v) || (v & 511)) {
				bad_value("-C", optarg,
					  "expected a multiple of the block size, at most 1 MiB (1048576)");
				return 2;
			}
			o->pclustersize = v;
			break;
		case OPT_CHUNKSIZE:
			if (parse_ll(optarg, 512, 1ll << 31, &v) || (v & (v - 1))) {
				bad_value("--chunksize", optarg,
					  "expected a power of two of at least 512 bytes");
				return 2;
			}
			o->chunksize = v;
			break;
		case OPT_BLOBDEV:
			o->blobdev = optarg;
			break;
		case OPT_BLOB_DIR:
			o->blob_dir = optarg;
			break;
		case OPT_REBUILD:
			rebuild = true;
			if (!optarg || !strcmp(optarg, "ref")) {
				o->rebuild_copy = false;
			} else if (!strcmp(optarg, "copy")) {
				o->rebuild_copy = true;
			} else {
				bad_value("--rebuild", optarg, "expected ref or copy");
				return 2;
			}
			break;
		case OPT_TAR:
			if (!optarg || !strcmp(optarg, "f")) {
				o->tar_mode = EROFS_TAR_FULL;
			} else if (!strcmp(optarg, "i")) {
				o->tar_mode = EROFS_TAR_INDEX;
			} else {
				bad_value("--tar", optarg,
					  "expected f (full) or i (index)");
				return 2;
			}
			break;
		case OPT_OCI:
			o->oci = true;
			break;
		case OPT_BLOB_DICT: {
			const char **n = realloc(cl->dicts, (o->nr_blob_dicts + 1) *
						 sizeof(*n));

			if (!n)
				return 1;
			cl->dicts = n;
			n[o->nr_blob_dicts++] = optarg;
			o->blob_dicts = n;
			break;
		}
		case OPT_HELP:
			usage(stdout);
			return -1;
		case OPT_VERSION:
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			return -1;
		case ':':
			if (optopt > 0 && optopt < 128)
				fprintf(stderr, PROG ": option '-%c' needs a value\n",
					optopt);
			else
				fprintf(stderr, PROG ": option '%s' needs a value\n",
					argv[optind - 1]);
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return 2;
		default:
			if (optopt > 0 && optopt < 128)
				fprintf(stderr, PROG ": unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, PROG ": unknown option '%s'\n",
					argv[optind - 1]);
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return 2;
		}
	}
	/* supplied values still need a digest for the files they miss */
	if (!o->fp_algo && (o->fp_map || o->fp_from_xattr || o->fp_strict ||
			    o->fp_name))
		o->fp_algo = "sha256";
	if (o->fp_strict && !o->fp_map && !o->fp_from_xattr) {
		fprintf(stderr, PROG ": --fingerprint-strict needs --fingerprint-map or --fingerprint-from-xattr\n");
		return 2;
	}
	if (o->chunksize && o->chunksize < (1u << o->blkszbits)) {
		fprintf(stderr, PROG ": --chunksize=%u: the chunk size must be at least the block size (%u)\n",
			o->chunksize, 1u << o->blkszbits);
		return 2;
	}
	if (o->compr_algo == EROFS_COMPR_ZSTD ||
	    o->compr_algo == EROFS_COMPR_DEFLATE) {
		/*
		 * Every kernel that reads these codecs (6.6 and later) reads
		 * inline tails and fragments too, so they cost no reader and
		 * are on unless turned off.
		 */
		if (!ztail_given)
			o->ztailpacking = true;
		if (!frag_given)
			o->fragments = true;
	}
	if (o->compr_algo) {
		if (o->pclustersize % (1u << o->blkszbits) ||
		    o->pclustersize > 2047u << o->blkszbits) {
			fprintf(stderr, PROG ": -C %u: the pcluster size must be a multiple of the block size (%u) and at most 2047 blocks\n",
				o->pclustersize, 1u << o->blkszbits);
			return 2;
		}
		if ((o->compr_algo == EROFS_COMPR_LZ4 ||
		     o->compr_algo == EROFS_COMPR_LZ4HC) &&
		    o->pclustersize >> o->blkszbits > EROFS_LZ4_MAX_PCLUSTER_BLKS) {
			fprintf(stderr, PROG ": -C %u: with lz4 the kernel reads pclusters of at most %u blocks (%u bytes with %u-byte blocks)\n",
				o->pclustersize, EROFS_LZ4_MAX_PCLUSTER_BLKS,
				EROFS_LZ4_MAX_PCLUSTER_BLKS << o->blkszbits,
				1u << o->blkszbits);
			return 2;
		}
		if (o->chunksize || o->dedupe || o->blobdev || o->blob_dir ||
		    o->nr_blob_dicts || rebuild) {
			fprintf(stderr, PROG ": -z does not combine with --chunksize, -Ededupe, --blobdev, --blob-dir or --rebuild\n");
			return 2;
		}
	} else if (o->pclustersize || o->ztailpacking || o->fragments ||
		   o->compr_full_indexes) {
		fprintf(stderr, PROG ": -C, -Eztailpacking, -Efragments and -Elegacy-compress need -z\n");
		return 2;
	}
	if (o->blobdev && o->blob_dir) {
		fprintf(stderr, PROG ": --blobdev and --blob-dir exclude each other\n");
		return 2;
	}
	if (o->nr_blob_dicts && !o->blob_dir) {
		fprintf(stderr, PROG ": --blob-dict needs --blob-dir, where its blobs are found\n");
		return 2;
	}
	if (!o->verity && (o->verity_blkszbits || o->verity_salt_size >= 0)) {
		fprintf(stderr, PROG ": --verity-block-size and --verity-salt need --verity\n");
		return 2;
	}
	if (all_root) {
		o->force_uid = 0;
		o->force_gid = 0;
	}
	if (o->oci && !o->tar_mode) {
		fprintf(stderr, PROG ": --oci applies to tar archives: give --tar as well\n");
		return 2;
	}
	if (o->tar_mode == EROFS_TAR_INDEX) {
		if (!bs_given)
			o->blkszbits = 9;
		if (o->blkszbits != 9) {
			fprintf(stderr, PROG ": --tar=i needs 512-byte blocks: tar entries start at 512-byte boundaries of the archive, which the image reads in place\n");
			return 2;
		}
		if (o->nr_blob_dicts || o->dedupe || o->blobdev || o->blob_dir ||
		    o->chunksize) {
			fprintf(stderr, PROG ": --tar=i copies no data: --chunksize, -Ededupe, --blobdev, --blob-dir and --blob-dict do not apply\n");
			return 2;
		}
	}
	if (rebuild && o->tar_mode) {
		fprintf(stderr, PROG ": --rebuild and --tar exclude each other\n");
		return 2;
	}
	if (o->tar_mode) {
		if (argc - optind < 1 || argc - optind > 2) {
			fprintf(stderr, PROG ": --tar expects IMAGE and at most one TARFILE\n");
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return 2;
		}
		o->image_path = argv[optind];
		o->source_path = argc - optind == 2 && strcmp(argv[optind + 1], "-") ?
			argv[optind + 1] : NULL;
		if (!o->source_path && o->tar_mode == EROFS_TAR_INDEX) {
			fprintf(stderr, PROG ": --tar=i reads file data in place from TARFILE: it cannot be standard input\n");
			return 2;
		}
	} else if (rebuild) {
		if (argc - optind < 2) {
			fprintf(stderr, PROG ": --rebuild expects IMAGE and at least one input image\n");
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return 2;
		}
		if (o->nr_blob_dicts || o->dedupe || o->chunksize) {
			fprintf(stderr, PROG ": --rebuild keeps the inputs' data layout: --blob-dict, -Ededupe and --chunksize do not apply\n");
			return 2;
		}
		if (o->rebuild_copy && !o->blobdev && !o->blob_dir) {
			fprintf(stderr, PROG ": --rebuild=copy needs --blobdev or --blob-dir for the data it copies\n");
			return 2;
		}
		if (!o->rebuild_copy && o->blobdev) {
			fprintf(stderr, PROG ": --blobdev with --rebuild needs --rebuild=copy\n");
			return 2;
		}
		o->image_path = argv[optind];
		o->rebuild_inputs = (const char **)argv + optind + 1;
		o->nr_rebuild_inputs = argc - optind - 1;
	} else if (argc - optind != 2) {
		fprintf(stderr, PROG ": expected IMAGE and SOURCE\n");
		fprintf(stderr, "Try '" PROG " --help' for more information.\n");
		return 2;
	} else {
		o->image_path = argv[optind];
		o->source_path = argv[optind + 1];
	}
	if (o->verity_file && !strcmp(o->verity_file, o->image_path)) {
		fprintf(stderr, PROG ": --verity=FILE must not be the image itself; leave FILE out to append the tree\n");
		return 2;
	}

	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde && !o->fixed_time) {
		if (parse_ll(sde, 0, INT64_MAX, &v)) {
			bad_value("SOURCE_DATE_EPOCH", sde,
				  "expected seconds since 1970");
			return 2;
		}
		o->clamp_time = true;
		o->timestamp = v;
	}
	return 0;
}

static void print_summary(const struct erofs_mkfs_opts *o,
			  const struct erofs_mkfs_report *r)
{
	char uuid[37];

	uuid_unparse_lower(r->uuid, uuid);
	printf("Built %s: %" PRIu64 " inodes (%" PRIu64 " directories, %"
	       PRIu64 " files, %" PRIu64 " symlinks, %" PRIu64
	       " special files, %" PRIu64 " extra hard links, %" PRIu64
	       " sparse files); %.1f MiB of file data; %" PRIu64
	       " blocks of %u bytes (%" PRIu64 " bytes), %" PRIu64
	       " bytes of metadata; %" PRIu64 " shared xattrs, %" PRIu64
	       " long xattr prefixes; build time %" PRIu64 ", UUID %s.\n",
	       o->image_path, r->inodes, r->dirs, r->regular, r->symlinks,
	       r->specials, r->hardlinks, r->sparse_files,
	       r->data_bytes / 1048576.0, r->blocks, r->block_size,
	       r->blocks * r->block_size, r->meta_bytes, r->shared_xattrs,
	       r->long_prefixes, r->build_time, uuid);
	if (r->compressed_files)
		printf("Compressed: %" PRIu64 " files (%.1f MiB) in %" PRIu64
		       " blocks (%.1f MiB) with %s; %" PRIu64 " tails inline.\n",
		       r->compressed_files, r->compressed_src_bytes / 1048576.0,
		       r->compressed_blocks,
		       r->compressed_blocks * (double)r->block_size / 1048576.0,
		       erofs_compr_name(o->compr_algo), r->inline_tails);
	if (r->chunked_files)
		printf("Chunks: %" PRIu64 " chunk-based files; %" PRIu64
		       " bytes stored once for several chunks (deduplicated).\n",
		       r->chunked_files, r->dedupe_bytes);
	for (unsigned int i = 0; i < r->nr_dicts; i++)
		if (o->tar_mode == EROFS_TAR_INDEX)
			printf("Device: the tar archive, id %s, read in place for %" PRIu64
			       " bytes of file data.\n", r->reuse[i].id, r->reuse[i].bytes);
		else
			printf("Reused: %" PRIu64 " bytes of chunk data from blob %s.\n",
			       r->reuse[i].bytes, r->reuse[i].id);
	if (r->blob_path)
		printf("Blob %s: %" PRIu64 " bytes, id %s.\n", r->blob_path,
		       r->blob_bytes, r->blob_id);
	else if ((o->blobdev || o->blob_dir) &&
		 (!o->nr_rebuild_inputs || o->rebuild_copy))
		printf("No new blob: every chunk is a hole or already in a dictionary blob.\n");
}

static void put_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/*
 * What veritysetup and a dm-verity table need, in veritysetup format's
 * "Name: value" style, then the command that checks the tree.
 */
static void print_verity(const struct erofs_mkfs_opts *o,
			 const struct erofs_mkfs_verity_report *v)
{
	const char *hash_dev = o->verity_file ? o->verity_file : o->image_path;
	char uuid[37];

	uuid_unparse_lower(v->uuid, uuid);
	printf("VERITY header information for %s\n", hash_dev);
	printf("UUID:             \t%s\n", uuid);
	printf("Hash type:        \t1\n");
	printf("Data blocks:      \t%" PRIu64 "\n", v->data_blocks);
	printf("Data block size:  \t%u\n", v->data_block_size);
	printf("Hash block size:  \t%u\n", v->hash_block_size);
	printf("Hash algorithm:   \tsha256\n");
	printf("Salt:             \t");
	if (v->salt_size)
		put_hex(v->salt, v->salt_size);
	else
		putchar('-');
	printf("\nRoot hash:        \t");
	put_hex(v->root_hash, sizeof(v->root_hash));
	printf("\nHash offset:      \t%" PRIu64 "\n", v->hash_offset);
	printf("Hash start block: \t%" PRIu64 "\n", v->hash_start_block);
	printf("Verify with:      \tveritysetup verify %s %s ", o->image_path,
	       hash_dev);
	put_hex(v->root_hash, sizeof(v->root_hash));
	if (v->hash_offset)
		printf(" --hash-offset=%" PRIu64, v->hash_offset);
	putchar('\n');
}

/* each device's own tree: where it is and how to check the device with it */
static void print_device_verity(const struct erofs_mkfs_opts *o,
				const struct erofs_mkfs_report *r)
{
	unsigned int i;

	for (i = 0; r->devices && i < r->nr_devices; i++) {
		const struct erofs_mkfs_device_report *d = &r->devices[i];

		if (!d->verity.enabled)
			continue;
		printf("Device %u:         \t%s\n", i + 1, d->id);
		printf("  Hash file:      \t%s\n", d->hash_file);
		printf("  Salt:           \t");
		put_hex(d->verity.salt, d->verity.salt_size);
		printf("\n  Root hash:      \t");
		put_hex(d->verity.root_hash, sizeof(d->verity.root_hash));
		printf("\n  Verify with:    \tveritysetup verify ");
		if (o->blob_dir)
			printf("%s/%s", o->blob_dir, d->id);
		else if (r->blob_path && !strcmp(r->blob_id, d->id))
			printf("%s", r->blob_path);
		else
			printf("DEVICE");
		printf(" %s ", d->hash_file);
		put_hex(d->verity.root_hash, sizeof(d->verity.root_hash));
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	struct frontend fe = { .debug = 2 };
	struct erofs_mkfs_report rep;
	struct cmdline cl = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int i;
	int ret;

	erofs_mkfs_opts_init(&cl.o);
	ret = parse_args(argc, argv, &cl, &fe);
	if (ret) {
		/* -1: --help or --version was answered */
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	fe.tty = isatty(STDOUT_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &fe.start);
	cl.o.log = log_cb;
	cl.o.progress = progress_cb;
	cl.o.tmpfile = on_tmpfile;
	cl.o.cb_ctx = &fe;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	ret = erofs_mkfs_build(&cl.o, &rep);
	if (fe.progress_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
	if (!ret && !fe.quiet)
		print_summary(&cl.o, &rep);
	/* even with -q: the root hash is the point of the build */
	if (!ret && rep.verity.enabled) {
		print_verity(&cl.o, &rep.verity);
		print_device_verity(&cl.o, &rep);
	}
	if (!ret)
		erofs_mkfs_report_release(&rep);
	else if (!fe.errors)
		fprintf(stderr, PROG ": failed to build '%s': %s\n",
			cl.o.image_path, strerror(-ret));
	ret = ret ? 1 : 0;
out:
	for (i = 0; i < cl.o.nr_exclude_paths; i++)
		free((void *)cl.excl[i]);
	free(cl.excl);
	for (i = 0; i < cl.o.nr_exclude_regexes; i++)
		regfree(&cl.regs[i]);
	free(cl.regs);
	free(cl.dicts);
	return ret;
}
