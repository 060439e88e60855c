// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * dump.erofs: prints what the validating reader finds in an image: the
 * superblock and its features, the device table, one inode in detail, a
 * directory listing, statistics.  Output is "key: value" lines (listings:
 * one entry per line), documented in dump.erofs(1) and kept stable so that
 * scripts can parse it.  Names and values are escaped: no byte of the image
 * reaches the terminal raw.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "erofs/reader.h"

#define PROG "dump.erofs"

enum {
	EXIT_OK = 0,
	EXIT_CORRUPT = 1,
	EXIT_USAGE = 2,
	EXIT_UNSUPPORTED = 3,
};

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE\n"
	      "Show the layout of the EROFS image IMAGE.\n"
	      "\n"
	      "Options:\n"
	      "  -s                     show the superblock and its features\n"
	      "  -S                     show statistics (checks the whole image)\n"
	      "  -e                     with an inode: list every chunk, unmerged, and\n"
	      "                         every extent of a compressed file\n"
	      "  -d N                   message level 0..9 (default 2)\n"
	      "  -V, --version          show the version and exit\n"
	      "  --device[=PATH]        show the device table (id, blocks, mapped address);\n"
	      "                         with PATH, an extra device, in device table order\n"
	      "                         (repeatable)\n"
	      "  --blob-dir=DIR         find each extra device in DIR by its blob id\n"
	      "  --mount-options        print the device= mount options the image needs\n"
	      "                         (paths from --blob-dir or --device=PATH, else ids)\n"
	      "  --nid=NID              show the inode NID\n"
	      "  --path=PATH            show the inode at PATH\n"
	      "  --ls                   list the directory given by --nid or --path\n"
	      "                         (default: the root)\n"
	      "  --help                 show this help and exit\n"
	      "\n"
	      "Without -s, -S, --device, --nid, --path, --ls or --mount-options, -s is\n"
	      "implied.\n"
	      "Exit status: 0 success, 1 corrupt image, 2 usage or operational error,\n"
	      "3 a feature this version cannot read.\n", f);
}

static void dump_msg(void *priv, enum erofs_rd_level level, const char *msg)
{
	static const char *const tags[] = { "error: ", "warning: ", "", "" };

	(void)priv;
	fprintf(stderr, PROG ": %s%s\n", tags[level], msg);
}

static int exit_code(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -EFSCORRUPTED:
		return EXIT_CORRUPT;
	case -EOPNOTSUPP:
		return EXIT_UNSUPPORTED;
	}
	return EXIT_USAGE;
}

/* bytes as text: printable ASCII as is, '\\' doubled, the rest \xNN */
static void put_escaped(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", stdout);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else
			printf("\\x%02x", s[i]);
	}
}

/* a value: "quoted" if printable ASCII, else 0x hex */
static void put_value(const uint8_t *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f)
			break;
	if (i == len) {
		putchar('"');
		for (i = 0; i < len; i++) {
			if (v[i] == '"' || v[i] == '\\')
				putchar('\\');
			putchar(v[i]);
		}
		putchar('"');
		return;
	}
	fputs("0x", stdout);
	for (i = 0; i < len; i++)
		printf("%02x", v[i]);
}

/* ------------------------------------------------------------ -s */

static const struct {
	bool incompat;
	uint32_t bit;
	const char *name;
} features[] = {
	{ false, EROFS_FEATURE_COMPAT_SB_CHKSUM, "sb_csum" },
	{ false, EROFS_FEATURE_COMPAT_MTIME, "mtime" },
	{ false, EROFS_FEATURE_COMPAT_XATTR_FILTER, "xattr_filter" },
	{ false, EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX, "shared_ea_in_metabox" },
	{ false, EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX, "plain_xattr_pfx" },
	{ false, EROFS_FEATURE_COMPAT_ISHARE_XATTRS, "ishare_xattrs" },
	{ true, EROFS_FEATURE_INCOMPAT_ZERO_PADDING, "0padding" },
	{ true, EROFS_FEATURE_INCOMPAT_COMPR_CFGS, "compr_cfgs" },
	{ true, EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER, "big_pcluster" },
	{ true, EROFS_FEATURE_INCOMPAT_CHUNKED_FILE, "chunked_file" },
	{ true, EROFS_FEATURE_INCOMPAT_DEVICE_TABLE, "device_table" },
	{ true, EROFS_FEATURE_INCOMPAT_ZTAILPACKING, "ztailpacking" },
	{ true, EROFS_FEATURE_INCOMPAT_FRAGMENTS, "fragments" },
	{ true, EROFS_FEATURE_INCOMPAT_DEDUPE, "dedupe" },
	{ true, EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES, "xattr_prefixes" },
	{ true, EROFS_FEATURE_INCOMPAT_48BIT, "48bit" },
	{ true, EROFS_FEATURE_INCOMPAT_METABOX, "metabox" },
};

static void show_time(const char *key, int64_t sec, uint32_t nsec)
{
	time_t t = sec;
	struct tm tm;
	char buf[64] = "";

	printf("%s: %" PRId64 ".%09u\n", key, sec, nsec);
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		printf("%s_utc: %s\n", key, buf);
}

static void show_super(struct erofs_rd *rd)
{
	const struct erofs_rd_sb *sb = erofs_rd_sb(rd);
	unsigned int i;
	const char *sep = "";

	printf("magic: 0x%08x\n", EROFS_SUPER_MAGIC_V1);
	printf("block_size: %u\n", 1u << sb->blkszbits);
	printf("blkszbits: %u\n", sb->blkszbits);
	printf("image_size: %" PRIu64 "\n", erofs_rd_image_size(rd));
	printf("blocks: %" PRIu64 "\n", sb->blocks);
	printf("checksum: 0x%08x\n", sb->checksum);
	printf("feature_compat: 0x%08x\n", sb->feature_compat);
	printf("feature_incompat: 0x%08x\n", sb->feature_incompat);
	printf("features:");
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		uint32_t v = features[i].incompat ? sb->feature_incompat : sb->feature_compat;

		if (v & features[i].bit) {
			printf(" %s", features[i].name);
			sep = " ";
		}
	}
	(void)sep;
	putchar('\n');
	printf("sb_extslots: %u\n", sb->sb_extslots);
	printf("root_nid: %" PRIu64 "\n", sb->root_nid);
	printf("inos: %" PRIu64 "\n", sb->inos);
	show_time("epoch", sb->epoch, sb->fixed_nsec);
	if (sb->build_time)
		show_time("build_time", sb->epoch + sb->build_time, 0);
	printf("meta_blkaddr: %u\n", sb->meta_blkaddr);
	printf("xattr_blkaddr: %u\n", sb->xattr_blkaddr);
	printf("uuid: ");
	for (i = 0; i < 16; i++)
		printf("%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", sb->uuid[i]);
	putchar('\n');
	printf("volume_name: ");
	put_escaped(sb->volume_name, strlen(sb->volume_name));
	putchar('\n');
	if (sb->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS)
		printf("compr_algs: 0x%04x\n", sb->u1);
	else
		printf("lz4_max_distance: %u\n", sb->u1);
	printf("extra_devices: %u\n", erofs_rd_ndevices(rd));
	printf("xattr_prefix_count: %u\n", sb->xattr_prefix_count);
	if (sb->xattr_prefix_count)
		printf("xattr_prefix_start: %u\n", sb->xattr_prefix_start);
	for (i = 0; i < erofs_rd_nprefixes(rd); i++) {
		const struct erofs_rd_prefix *pf = erofs_rd_prefix(rd, i);

		printf("xattr_prefix: %u base %u infix \"", i, pf->base_index);
		put_escaped(pf->infix, pf->infix_len);
		printf("\"\n");
	}
	if (sb->feature_compat & EROFS_FEATURE_COMPAT_ISHARE_XATTRS) {
		const struct erofs_rd_prefix *pf =
			erofs_rd_prefix(rd, sb->ishare_xattr_prefix_id);
		const char *base = pf ?
			erofs_rd_xattr_prefix_name(pf->base_index) : NULL;

		printf("ishare_xattr_prefix_id: %u\n", sb->ishare_xattr_prefix_id);
		/* the full xattr name that carries each file's fingerprint */
		if (base) {
			printf("fingerprint_name: \"");
			put_escaped(base, strlen(base));
			put_escaped(pf->infix, pf->infix_len);
			printf("\"\n");
		}
	}
	printf("packed_nid: %" PRIu64 "\n", sb->packed_nid);
	if (sb->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX)
		printf("metabox_nid: %" PRIu64 "\n", sb->metabox_nid);
}

static void show_devices(struct erofs_rd *rd, const struct erofs_rd_opts *ro)
{
	unsigned int n = erofs_rd_ndevices(rd), i;

	printf("extra_devices: %u\n", n);
	printf("devt_slotoff: %u\n", erofs_rd_sb(rd)->devt_slotoff);
	for (i = 1; i <= n; i++) {
		const struct erofs_rd_device *d = erofs_rd_device(rd, i);

		printf("device: %u\n", i);
		printf("device_tag: \"");
		put_escaped(d->tag, strnlen((const char *)d->tag, sizeof(d->tag)));
		printf("\"\n");
		printf("device_blocks: %" PRIu64 "\n", d->blocks);
		printf("device_uniaddr: %" PRIu64 "\n", d->uniaddr);
		if (d->present) {
			printf("device_path: %s\n", ro->devices[i - 1]);
			printf("device_size: %" PRIu64 "\n", d->size);
		}
	}
}

/* ------------------------------------------------------------ inodes */

static int show_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	printf("xattr: ");
	put_escaped(xa->name, xa->namelen);
	printf(" = ");
	put_value(xa->value, xa->value_size);
	if (xa->shared)
		printf(" (shared id %u)", xa->shared_id);
	putchar('\n');
	return 0;
}

static int count_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	(*(unsigned int *)priv)++;
	return 0;
}

struct extent {
	uint64_t la, end, pa;
	unsigned int dev, flags;
	bool valid;
};

static void put_extent(struct erofs_rd *rd, const struct extent *e)
{
	unsigned int bits = erofs_rd_sb(rd)->blkszbits;

	printf("extent: %" PRIu64 "..%" PRIu64 " ", e->la, e->end);
	if (e->flags & EROFS_RD_MAP_HOLE)
		printf("hole\n");
	else if (e->flags & EROFS_RD_MAP_INLINE)
		printf("inline 0x%" PRIx64 "\n", e->pa);
	else
		printf("blocks %" PRIu64 "..%" PRIu64 " device %u\n", e->pa >> bits,
		       (uint64_t)(((e->pa + (e->end - e->la) + (1ull << bits) - 1) >> bits) - 1),
		       e->dev);
}

static int show_extents(struct erofs_rd *rd, const struct erofs_rd_inode *vi, bool every)
{
	struct erofs_rd_map map;
	struct extent cur = { .valid = false };
	uint64_t off = 0;
	int err;

	while (off < vi->size) {
		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		if (cur.valid && !every &&
		    (cur.flags & ~EROFS_RD_MAP_CHUNK) == (map.flags & ~EROFS_RD_MAP_CHUNK) &&
		    !(map.flags & EROFS_RD_MAP_INLINE) &&
		    (map.flags & EROFS_RD_MAP_HOLE ||
		     (cur.dev == map.dev && cur.pa + (cur.end - cur.la) == map.pa))) {
			cur.end = map.la + map.len;
		} else {
			if (cur.valid)
				put_extent(rd, &cur);
			cur = (struct extent){ .la = map.la, .end = map.la + map.len,
					       .pa = map.pa, .dev = map.dev,
					       .flags = map.flags, .valid = true };
		}
		off = map.la + map.len;
	}
	if (cur.valid)
		put_extent(rd, &cur);
	return 0;
}

/* a compressed inode: one line per extent with -e, else their number */
static int show_zextents(struct erofs_rd *rd, const struct erofs_rd_inode *vi, bool every)
{
	struct erofs_rd_map map;
	uint64_t off = 0, n = 0;
	int err;

	while (off < vi->size) {
		err = erofs_rd_map(rd, vi, off, &map);
		if (err)
			return err;
		n++;
		off = map.la + map.len;
		if (!every)
			continue;
		printf("extent: %" PRIu64 "..%" PRIu64 " ", map.la, map.la + map.len);
		if (map.flags & EROFS_RD_MAP_FRAGMENT) {
			printf("fragment %" PRIu64 "\n", map.fragoff);
			continue;
		}
		printf("%s ", erofs_rd_fmt_name(map.fmt));
		if (map.flags & EROFS_RD_MAP_INLINE)
			printf("inline 0x%" PRIx64 " %" PRIu64, map.pa, map.plen);
		else
			printf("pcluster 0x%" PRIx64 " %" PRIu64 " device %u", map.pa,
			       map.plen, map.dev);
		printf("%s\n", map.flags & EROFS_RD_MAP_PARTIAL ? " partial" : "");
	}
	if (!every)
		printf("extents: %" PRIu64 "\n", n);
	return 0;
}

static void show_zheader(const struct erofs_rd_inode *vi)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} advise[] = {
		{ 0x0002, "big_pcluster_1" },
		{ 0x0004, "big_pcluster_2" },
		{ 0x0008, "inline_pcluster" },
		{ 0x0010, "interlaced" },
		{ 0x0020, "fragment" },
	};
	const char *a1 = erofs_rd_alg_name(vi->z_algs[0]);
	const char *a2 = erofs_rd_alg_name(vi->z_algs[1]);
	unsigned int i;

	if (vi->z_whole_fragment) {
		printf("compressed_index: none\n");
		printf("fragment_offset: %" PRIu64 "\n", vi->z_fragoff);
		printf("whole_fragment: yes\n");
		return;
	}
	printf("compressed_index: %s\n",
	       vi->datalayout == EROFS_INODE_COMPRESSED_FULL ? "full" :
	       vi->z_advise & 0x0001 ? "compact 2B" : "compact 4B");
	printf("lcluster_size: %llu\n", 1ull << vi->z_lclusterbits);
	printf("algorithm: %s\n", a1 ? a1 : "unknown");
	if (vi->z_algs[1])
		printf("algorithm_head2: %s\n", a2 ? a2 : "unknown");
	printf("compress_advise:");
	for (i = 0; i < ARRAY_SIZE(advise); i++)
		if (vi->z_advise & advise[i].bit)
			printf(" %s", advise[i].name);
	if (!(vi->z_advise & 0x003E))
		printf(" none");
	putchar('\n');
	if (vi->z_idata_size)
		printf("inline_tail_size: %u\n", vi->z_idata_size);
	if (vi->z_fragment)
		printf("fragment_offset: %" PRIu64 "\n", vi->z_fragoff);
}

static void mode_string(uint32_t mode, char *s)
{
	static const char types[] = "?pc?d?b?-?l?s???";
	int i;

	s[0] = types[(mode >> 12) & 15];
	for (i = 0; i < 9; i++)
		s[1 + i] = mode & (0400 >> i) ? "rwxrwxrwx"[i] : '-';
	if (mode & S_ISUID)
		s[3] = mode & 0100 ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = mode & 0010 ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = mode & 0001 ? 't' : 'T';
	s[10] = '\0';
}

static int show_inode(struct erofs_rd *rd, const struct erofs_rd_inode *vi,
		      const char *path, bool every)
{
	char perm[11], target[4096];
	unsigned int nx = 0;
	int err;

	printf("nid: %" PRIu64 "\n", vi->nid);
	if (path) {
		printf("path: ");
		put_escaped(path, strlen(path));
		putchar('\n');
	}
	mode_string(vi->mode, perm);
	printf("type: %s\n", erofs_rd_type_name(vi->mode));
	printf("mode: 0%06o\n", vi->mode);
	printf("permissions: %s\n", perm);
	printf("uid: %u\n", vi->uid);
	printf("gid: %u\n", vi->gid);
	printf("size: %" PRIu64 "\n", vi->size);
	printf("nlink: %u\n", vi->nlink);
	show_time("mtime", vi->mtime, vi->mtime_nsec);
	printf("inode_format: %s\n", vi->extended ? "extended" : "compact");
	printf("inode_offset: 0x%" PRIx64 "\n", vi->iloc);
	printf("i_format: 0x%04x\n", vi->i_format);
	printf("ino: %u\n", vi->ino);
	printf("layout: %s\n", erofs_rd_layout_name(vi->datalayout));
	printf("xattr_size: %u\n", vi->xattr_isize);
	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode))
		printf("rdev: %u:%u\n", vi->rdev_major, vi->rdev_minor);
	if (S_ISREG(vi->mode) || S_ISDIR(vi->mode) || S_ISLNK(vi->mode)) {
		switch (vi->datalayout) {
		case EROFS_INODE_FLAT_PLAIN:
		case EROFS_INODE_FLAT_INLINE:
			if (vi->startblk != EROFS_RD_NO_BLK)
				printf("start_block: %" PRIu64 "\n", vi->startblk);
			break;
		case EROFS_INODE_CHUNK_BASED:
			printf("chunk_format: 0x%04x\n", vi->chunkformat);
			printf("chunk_size: %llu\n", 1ull << vi->chunkbits);
			printf("chunk_entries: %s\n", vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES ?
			       "8-byte chunk indexes" : "4-byte block map");
			break;
		default:
			printf("compressed_blocks: %" PRIu64 "\n", vi->compressed_blocks);
			show_zheader(vi);
			err = show_zextents(rd, vi, every);
			if (err)
				return err;
			goto data_done;
		}
		err = show_extents(rd, vi, every);
		if (err)
			return err;
	}
data_done:
	if (S_ISLNK(vi->mode)) {
		err = erofs_rd_readlink(rd, vi, target, sizeof(target));
		if (err)
			return err;
		printf("symlink_target: ");
		put_escaped(target, strlen(target));
		putchar('\n');
	}
	err = erofs_rd_xattrs(rd, vi, count_xattr, &nx);
	if (err)
		return err;
	printf("xattrs: %u\n", nx);
	return erofs_rd_xattrs(rd, vi, show_xattr, NULL);
}

static int ls_entry(void *priv, const struct erofs_rd_dirent *de)
{
	printf("%" PRIu64 " %s ", de->nid, erofs_rd_ftype_name(de->file_type));
	put_escaped(de->name, de->namelen);
	putchar('\n');
	return 0;
}

/* ------------------------------------------------------------ -S */

static void show_stats(const struct erofs_rd_stats *st, unsigned int bs)
{
	static const char *const hist[EROFS_RD_HIST_BUCKETS] = {
		"0", "1..1023", "1K..4K-1", "4K..16K-1", "16K..64K-1", "64K..256K-1",
		"256K..1M-1", "1M..4M-1", "4M..16M-1", "16M..64M-1", "64M..256M-1",
		"256M..",
	};
	unsigned int i;

	printf("inodes: %" PRIu64 "\n", st->inodes);
	printf("entries: %" PRIu64 "\n", st->entries);
	printf("regular_files: %" PRIu64 "\n", st->by_type[EROFS_FT_REG_FILE]);
	printf("directories: %" PRIu64 "\n", st->by_type[EROFS_FT_DIR]);
	printf("symlinks: %" PRIu64 "\n", st->by_type[EROFS_FT_SYMLINK]);
	printf("character_devices: %" PRIu64 "\n", st->by_type[EROFS_FT_CHRDEV]);
	printf("block_devices: %" PRIu64 "\n", st->by_type[EROFS_FT_BLKDEV]);
	printf("fifos: %" PRIu64 "\n", st->by_type[EROFS_FT_FIFO]);
	printf("sockets: %" PRIu64 "\n", st->by_type[EROFS_FT_SOCK]);
	printf("hard_linked_inodes: %" PRIu64 "\n", st->hardlinked);
	printf("compact_inodes: %" PRIu64 "\n", st->compact);
	printf("extended_inodes: %" PRIu64 "\n", st->extended);
	printf("layout_flat_plain: %" PRIu64 "\n", st->by_layout[EROFS_INODE_FLAT_PLAIN]);
	printf("layout_flat_inline: %" PRIu64 "\n", st->by_layout[EROFS_INODE_FLAT_INLINE]);
	printf("layout_chunk_based: %" PRIu64 "\n", st->by_layout[EROFS_INODE_CHUNK_BASED]);
	printf("layout_compressed: %" PRIu64 "\n",
	       st->by_layout[EROFS_INODE_COMPRESSED_FULL] +
	       st->by_layout[EROFS_INODE_COMPRESSED_COMPACT]);
	printf("file_bytes: %" PRIu64 "\n", st->file_bytes);
	printf("data_blocks: %" PRIu64 "\n", st->data_blocks);
	printf("data_bytes: %" PRIu64 "\n", st->data_blocks * bs);
	printf("inline_bytes: %" PRIu64 "\n", st->inline_bytes);
	printf("hole_bytes: %" PRIu64 "\n", st->hole_bytes);
	printf("chunks: %" PRIu64 "\n", st->chunks);
	printf("shared_chunks: %" PRIu64 "\n", st->shared_chunks);
	printf("shared_blocks: %" PRIu64 "\n", st->shared_blocks);
	printf("compressed_extents: %" PRIu64 "\n", st->compressed_extents);
	printf("shared_pclusters: %" PRIu64 "\n", st->shared_pclusters);
	printf("fragment_bytes: %" PRIu64 "\n", st->fragment_bytes);
	printf("xattrs: %" PRIu64 "\n", st->xattrs);
	printf("shared_xattr_refs: %" PRIu64 "\n", st->shared_xattr_refs);
	printf("max_depth: %" PRIu64 "\n", st->max_depth);
	for (i = 0; i < EROFS_RD_HIST_BUCKETS; i++)
		printf("file_size %s: %" PRIu64 "\n", hist[i], st->size_hist[i]);
}

/* ------------------------------------------------------------ main */

enum {
	OPT_HELP = 256,
	OPT_VERSION,
	OPT_DEVICE,
	OPT_NID,
	OPT_PATH,
	OPT_LS,
	OPT_BLOB_DIR,
	OPT_MOUNT_OPTIONS,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "device", optional_argument, NULL, OPT_DEVICE },
	{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
	{ "mount-options", no_argument, NULL, OPT_MOUNT_OPTIONS },
	{ "nid", required_argument, NULL, OPT_NID },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "ls", no_argument, NULL, OPT_LS },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct erofs_rd_opts ro = { .msg = dump_msg, .level = EROFS_RD_WARN };
	bool super = false, stats = false, every = false, ls = false, have_nid = false;
	bool devices = false, mount_opts = false, owned = false;
	const char *blob_dir = NULL;
	unsigned int i;
	const char *path = NULL;
	struct erofs_rd_inode vi;
	struct erofs_rd_stats st;
	struct erofs_rd *rd;
	uint64_t nid = 0;
	int opt, err = 0, d;
	char *end;

	while ((opt = getopt_long(argc, argv, "sSed:V", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			super = true;
			break;
		case 'S':
			stats = true;
			break;
		case 'e':
			every = true;
			break;
		case 'd':
			d = strtol(optarg, &end, 10);
			if (*end || d < 0 || d > 9) {
				fprintf(stderr, PROG ": invalid message level '%s'\n", optarg);
				return EXIT_USAGE;
			}
			ro.level = d >= 4 ? EROFS_RD_DEBUG : d >= 3 ? EROFS_RD_INFO :
				d >= 1 ? EROFS_RD_WARN : EROFS_RD_ERR;
			break;
		case 'V':
		case OPT_VERSION:
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			return EXIT_OK;
		case OPT_HELP:
			usage(stdout);
			return EXIT_OK;
		case OPT_DEVICE:
			devices = true;
			if (!optarg)
				break;
			if (ro.ndevices >= EROFS_RD_MAX_DEVICES) {
				fprintf(stderr, PROG ": too many --device options\n");
				return EXIT_USAGE;
			}
			ro.devices[ro.ndevices++] = optarg;
			break;
		case OPT_BLOB_DIR:
			blob_dir = optarg;
			break;
		case OPT_MOUNT_OPTIONS:
			mount_opts = true;
			break;
		case OPT_NID:
			errno = 0;
			nid = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg) {
				fprintf(stderr, PROG ": invalid nid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			have_nid = true;
			break;
		case OPT_PATH:
			path = optarg;
			break;
		case OPT_LS:
			ls = true;
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
	if (have_nid && path) {
		fprintf(stderr, PROG ": --nid and --path exclude each other\n");
		return EXIT_USAGE;
	}
	if (blob_dir && ro.ndevices) {
		fprintf(stderr, PROG ": --blob-dir and --device=PATH exclude each other\n");
		return EXIT_USAGE;
	}
	if (mount_opts && (stats || ls || have_nid || path || super || devices)) {
		fprintf(stderr, PROG ": --mount-options goes alone (with --blob-dir)\n");
		return EXIT_USAGE;
	}
	if (!stats && !ls && !have_nid && !path && !devices && !mount_opts)
		super = true;
	ro.path = argv[optind];
	if (blob_dir) {
		err = erofs_rd_blob_dir_devices(ro.path, blob_dir, &ro);
		if (err) {
			fprintf(stderr, PROG ": %s: cannot find its blobs in '%s': %s\n",
				ro.path, blob_dir, strerror(-err));
			return exit_code(err);
		}
		owned = true;
	}
	err = erofs_rd_open(&rd, &ro);
	if (err) {
		fprintf(stderr, PROG ": %s: cannot open the image: %s\n", ro.path,
			strerror(-err));
		goto out_free;
	}
	if (mount_opts) {
		/* the device= options the kernel needs, in slot order */
		for (i = 0; i < erofs_rd_ndevices(rd); i++) {
			const struct erofs_rd_device *dv = erofs_rd_device(rd, i + 1);

			if (i < ro.ndevices)
				printf("%sdevice=%s", i ? "," : "", ro.devices[i]);
			else
				printf("%sdevice=%.64s", i ? "," : "",
				       (const char *)dv->tag);
		}
		putchar('\n');
		goto out_close;
	}
	if (super)
		show_super(rd);
	if (devices) {
		if (super)
			putchar('\n');
		show_devices(rd, &ro);
	}
	if (have_nid || path || ls) {
		if (path)
			err = erofs_rd_lookup(rd, path, &vi);
		else
			err = erofs_rd_iget(rd, have_nid ? nid : erofs_rd_sb(rd)->root_nid, &vi);
		if (err) {
			if (path)
				fprintf(stderr, PROG ": cannot find path %s: %s\n", path,
					strerror(-err));
			else
				fprintf(stderr, PROG ": cannot read nid %" PRIu64 ": %s\n",
					have_nid ? nid : erofs_rd_sb(rd)->root_nid, strerror(-err));
			goto out;
		}
		if (super || devices)
			putchar('\n');
		if (ls) {
			if (!S_ISDIR(vi.mode)) {
				fprintf(stderr, PROG ": nid %" PRIu64 " is not a directory\n", vi.nid);
				err = -ENOTDIR;
				goto out;
			}
			err = erofs_rd_readdir(rd, &vi, ls_entry, NULL);
		} else {
			err = show_inode(rd, &vi, path, every);
		}
		if (err)
			goto out;
	}
	if (stats) {
		err = erofs_rd_check(rd, EROFS_RD_CHECK_KEEP_GOING, NULL, NULL, &st);
		if (super || have_nid || path || ls || devices)
			putchar('\n');
		show_stats(&st, 1u << erofs_rd_sb(rd)->blkszbits);
		if (err)
			fprintf(stderr, PROG ": %s: the image is not clean: %s\n", ro.path,
				strerror(-err));
	}
out:
out_close:
	fflush(stdout);
	erofs_rd_close(rd);
out_free:
	if (owned)
		for (i = 0; i < ro.ndevices; i++)
			free((char *)ro.devices[i]);
	return exit_code(err);
}
