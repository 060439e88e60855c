// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The superblock, written last with its checksum over the first block, and
 * the build driver that runs scan, plan and write in order and cleans up on
 * any failure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "internal.h"
#include "erofs/crc32c.h"
#include "compress.h"
#include "fingerprint.h"
#include "manifest.h"

void erofs_log(const struct erofs_build *b, enum erofs_log_level level,
	       const char *fmt, ...)
{
	va_list ap;

	if (!b->opts->log)
		return;
	va_start(ap, fmt);
	b->opts->log(b->opts->cb_ctx, level, fmt, ap);
	va_end(ap);
}

int erofs_write_super(struct erofs_build *b)
{
	const struct erofs_mkfs_opts *o = b->opts;
	struct erofs_super_block sb = {
		.magic = cpu_to_le32(EROFS_SUPER_MAGIC_V1),
		.blkszbits = b->blkszbits,
		.inos = cpu_to_le64(b->nr_inodes),
		.epoch = cpu_to_le64(b->epoch),
		.fixed_nsec = cpu_to_le32(b->fixed_nsec),
		.blocks_lo = cpu_to_le32(b->total_blocks),
		.meta_blkaddr = cpu_to_le32(b->meta_blkaddr),
		.xattr_blkaddr = 0,
	};
	uint32_t compat = EROFS_FEATURE_COMPAT_SB_CHKSUM |
			  EROFS_FEATURE_COMPAT_MTIME;
	uint32_t incompat = 0, len, crc;
	uint8_t *blk;
	ssize_t n;
	int ret;

	if (b->root->nid > UINT16_MAX)
		return -EFSCORRUPTED;
	sb.rootnid_2b = cpu_to_le16(b->root->nid);
	if (b->any_xattrs)
		compat |= EROFS_FEATURE_COMPAT_XATTR_FILTER;
	if (b->fp_prefix >= 0) {
		compat |= EROFS_FEATURE_COMPAT_ISHARE_XATTRS;
		sb.ishare_xattr_prefix_id = b->fp_prefix;
	}
	if (b->nr_prefixes) {
		compat |= EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX;
		incompat |= EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES;
		sb.xattr_prefix_count = b->nr_prefixes;
		sb.xattr_prefix_start = cpu_to_le32(b->prefix_start / 4);
	}
	if (b->any_chunked)
		incompat |= EROFS_FEATURE_INCOMPAT_CHUNKED_FILE;
	if (erofs_devtable_slots(b)) {
		incompat |= EROFS_FEATURE_INCOMPAT_DEVICE_TABLE;
		sb.extra_devices = cpu_to_le16(erofs_devtable_slots(b));
		sb.devt_slotoff = cpu_to_le16(erofs_devtable_start(b) /
					      EROFS_DEVT_SLOT_SIZE);
	}
	ret = erofs_z_write_super(b, &sb, &incompat);
	if (ret)
		return ret;
	sb.feature_compat = cpu_to_le32(compat);
	sb.feature_incompat = cpu_to_le32(incompat);
	memcpy(sb.uuid, b->report->uuid, 16);
	memcpy(sb.volume_name, o->label, strnlen(o->label, sizeof(sb.volume_name)));

	ret = erofs_pwrite_all(b, &sb, sizeof(sb), EROFS_SUPER_OFFSET);
	if (ret)
		return ret;

	/* the checksum covers the superblock's block from byte 1024 on */
	len = b->bs > EROFS_SUPER_OFFSET ? b->bs - EROFS_SUPER_OFFSET : b->bs;
	blk = malloc(len);
	if (!blk)
		return -ENOMEM;
	n = pread(b->outfd, blk, len, EROFS_SUPER_OFFSET);
	if (n != (ssize_t)len) {
		ret = n < 0 ? -errno : -EIO;
		free(blk);
		return erofs_output_failed(b, ret);
	}
	crc = cpu_to_le32(erofs_crc32c(~0u, blk, len));
	free(blk);
	ret = erofs_pwrite_all(b, &crc, 4, EROFS_SUPER_OFFSET +
			       offsetof(struct erofs_super_block, checksum));
	if (ret)
		return ret;
	b->report->feature_compat = compat;
	b->report->feature_incompat = incompat;
	return 0;
}

/* phase timings for -d 3 */
static void phase_mark(struct erofs_build *b, const char *done)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done)
		erofs_dbg(b, "%s took %.3f s", done,
			  (now.tv_sec - b->phase_start.tv_sec) +
			  (now.tv_nsec - b->phase_start.tv_nsec) / 1e9);
	b->phase_start = now;
}

void erofs_mkfs_opts_init(struct erofs_mkfs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->blkszbits = 12;
	o->force_uid = -1;
	o->force_gid = -1;
	o->xattr_tolerance = 2;
	o->verity_salt_size = -1;
	o->compr_level = -1;
}

void erofs_mkfs_report_release(struct erofs_mkfs_report *r)
{
	unsigned int i;

	free(r->blob_path);
	r->blob_path = NULL;
	if (r->devices)
		for (i = 0; i < r->nr_devices; i++)
			free(r->devices[i].hash_file);
	free(r->devices);
	r->devices = NULL;
}

/*
 * Chunk-based files: which they are, the digests of their chunks (read with
 * the fingerprints, when deduplicating), the dictionaries' chunks, and where
 * every chunk goes.
 */
static int plan_chunks(struct erofs_build *b)
{
	uint64_t i;
	int ret;

	b->chunkbits = erofs_chunk_bits(b);
	b->flat_unless_shared = erofs_chunk_only_to_share(b);
	for (i = 0; i < b->nr_inodes; i++) {
		ret = erofs_chunk_setup_inode(b, b->inodes[i]);
		if (ret)
			return ret;
	}
	if (!b->any_chunked)
		return erofs_blobs_assign_devices(b);
	if (b->opts->dedupe || b->opts->nr_blob_dicts) {
		ret = erofs_digest_all(b);
		if (ret)
			return ret;
		phase_mark(b, "chunk digests");
		ret = erofs_blobs_dict_lookup(b);
		if (ret)
			return ret;
		if (b->opts->nr_blob_dicts)
			phase_mark(b, "blob dictionaries");
	}
	ret = erofs_chunk_plan(b);
	if (ret)
		return ret;
	return erofs_blobs_assign_devices(b);
}

static void fill_report(struct erofs_build *b)
{
	struct erofs_mkfs_report *r = b->report;
	uint64_t i;

	r->inodes = b->nr_inodes;
	for (i = 0; i < b->nr_inodes; i++) {
		const struct erofs_inode *inode = b->inodes[i];

		if (!inode->dentry) {
			/* the packed inode: its blocks hold compressed files */
			if (inode->zi)
				r->compressed_blocks += erofs_z_data_blocks(inode);
			continue;
		}
		switch (inode->mode & S_IFMT) {
		case S_IFDIR:
			r->dirs++;
			break;
		case S_IFREG:
			r->regular++;
			r->data_bytes += inode->size;
			if (inode->zi) {
				r->compressed_files++;
				r->compressed_src_bytes += inode->size;
				r->compressed_blocks += erofs_z_data_blocks(inode);
				r->inline_tails += inode->zi->inline_tail;
			}
			if (inode->extents)
				r->sparse_files++;
			break;
		case S_IFLNK:
			r->symlinks++;
			break;
		default:
			r->specials++;
		}
	}
	r->meta_bytes = b->meta_end;
	r->blocks = b->total_blocks;
	r->block_size = b->bs;
	r->build_time = b->epoch;
}

int erofs_mkfs_build(const struct erofs_mkfs_opts *o,
		     struct erofs_mkfs_report *report)
{
	struct erofs_mkfs_report local;
	struct erofs_build b = {
		.opts = o,
		.blkszbits = o->blkszbits,
		.bs = 1u << o->blkszbits,
		.rootfd = -1,
		.spool_fd = -1,
		.archive_fd = -1,
		.outfd = -1,
		.verity_fd = -1,
	};
	struct stat st;
	int ret;

	if (!report)
		report = &local;
	memset(report, 0, sizeof(*report));
	b.report = report;
	if (o->blkszbits < EROFS_MIN_BLKSZBITS ||
	    o->blkszbits > EROFS_MAX_BLKSZBITS)
		return -EINVAL;
	if (o->uuid_set)
		memcpy(report->uuid, o->uuid, 16);
	else
		uuid_generate(report->uuid);

	if (o->tar_mode == EROFS_TAR_INDEX && o->blkszbits != 9) {
		erofs_err(&b, "tar index mode needs 512-byte blocks (-b 512): the data of tar entries starts at 512-byte boundaries");
		return -EINVAL;
	}
	if (o->nr_rebuild_inputs || o->tar_mode)
		goto opened;
	b.rootfd = open(o->source_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.rootfd < 0) {
		ret = -errno;
		if (errno == ENOTDIR)
			erofs_err(&b, "cannot use source '%s': %s",
				  o->source_path, strerror(ENOTDIR));
		else
			erofs_err(&b, "cannot open source '%s': %s",
				  o->source_path, strerror(errno));
		return ret;
	}
	if (fstat(b.rootfd, &st)) {
		ret = -errno;
		goto out;
	}
opened:

	ret = erofs_fingerprint_setup(&b);
	if (ret)
		goto out;
	ret = erofs_output_check(&b);
	if (ret)
		goto out;
	ret = erofs_blobs_setup(&b);
	if (ret)
		goto out;
	phase_mark(&b, NULL);
	if (o->nr_rebuild_inputs)
		ret = erofs_source_erofs_scan(&b);
	else if (o->tar_mode)
		ret = erofs_source_tar_scan(&b);
	else
		ret = erofs_source_dir_scan(&b);
	if (ret)
		goto out;
	phase_mark(&b, "scan");
	ret = erofs_order_inodes(&b);
	if (ret)
		goto out;
	ret = erofs_fingerprint_apply_map(&b);
	if (ret)
		goto out;
	ret = erofs_compress_setup(&b);
	if (ret)
		goto out;
	ret = erofs_xattr_plan(&b);
	if (ret)
		goto out;
	ret = plan_chunks(&b);
	if (ret)
		goto out;
	ret = erofs_compress_all(&b);
	if (ret)
		goto out;
	if (b.z)
		phase_mark(&b, "compress");
	ret = erofs_plan_layout(&b);
	if (ret)
		goto out;
	ret = erofs_verity_setup(&b);
	if (ret)
		goto out;
	phase_mark(&b, "plan");
	ret = erofs_output_create(&b);
	if (!ret)
		ret = erofs_blob_create(&b);
	if (ret)
		goto out;
	ret = erofs_write_all(&b);
	if (ret)
		goto out;
	phase_mark(&b, "write");
	ret = erofs_blob_finish(&b);
	if (!ret)
		ret = erofs_devtable_write(&b);
	if (!ret)
		ret = erofs_devtable_report(&b);
	if (ret)
		goto out;
	phase_mark(&b, "blob digest");
	ret = erofs_write_super(&b);
	if (ret) {
		if (!atomic_load(&b.out_failed))
			erofs_err(&b, "failed to write image '%s': %s",
				  o->image_path, strerror(-ret));
		goto out;
	}
	ret = erofs_verity_finish(&b);
	if (!ret)
		ret = erofs_verity_devices(&b);
	if (ret)
		goto out;
	phase_mark(&b, "verity");
	fill_report(&b);
	ret = erofs_manifest_prepare(&b);
	if (ret)
		goto out;
	ret = erofs_blob_commit(&b);
	if (ret)
		goto out;
	ret = erofs_output_commit(&b);
	if (!ret)
		ret = erofs_verity_commit(&b);
	if (!ret)
		ret = erofs_manifest_commit(&b);
	if (!ret)
		phase_mark(&b, "commit");
out:
	if (ret) {
		erofs_output_abort(&b);
		erofs_blob_abort(&b);
		erofs_verity_abort(&b);
		erofs_manifest_abort(&b);
		erofs_mkfs_report_release(report);
	}
	erofs_compress_free(&b);
	erofs_chunk_free(&b);
	erofs_blobs_free(&b);
	erofs_verity_release(&b.verity);
	erofs_source_tar_release(&b);
	if (b.rootfd >= 0)
		close(b.rootfd);
	erofs_tree_free(&b);
	erofs_xattr_free(&b);
	free(b.relpath);
	/* a caller that asked for no report gets nothing to release */
	if (report == &local)
		erofs_mkfs_report_release(&local);
	return ret;
}
