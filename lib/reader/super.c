// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Opening an image: the superblock, checked as the kernel checks it at
 * mount time, the device table, unified addressing and the long xattr
 * name prefix table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rd.h"
#include "erofs/crc32c.h"

#define EROFS_RD_PAGE_SIZE	4096u

/* the compat bits this reader knows; unknown ones are fine but noted */
#define EROFS_RD_KNOWN_COMPAT	0x3F

static int erofs_rd_check_sb_csum(struct erofs_rd *rd, const uint8_t *sbbuf)
{
	uint32_t len = rd->bs > EROFS_SUPER_OFFSET ? rd->bs - EROFS_SUPER_OFFSET : rd->bs;
	uint8_t *buf;
	uint32_t crc, stored;
	int err;

	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	err = erofs_rd_dev_read(rd, 0, buf, len, EROFS_SUPER_OFFSET,
				"superblock checksum range");
	if (err)
		goto out;
	stored = get_le32(buf + 4);
	memset(buf + 4, 0, 4);
	crc = erofs_crc32c(~0u, buf, len);
	if (crc != stored)
		err = erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): checksum 0x%08x does not match the computed 0x%08x",
			EROFS_SUPER_OFFSET + 4, stored, crc);
	(void)sbbuf;
out:
	free(buf);
	return err;
}

static int erofs_rd_read_devices(struct erofs_rd *rd)
{
	struct erofs_rd_sb *sb = &rd->sb;
	unsigned int ondisk = 0, i;
	uint64_t pos;
	int err;

	if (sb->feature_incompat & EROFS_FEATURE_INCOMPAT_DEVICE_TABLE)
		ondisk = sb->extra_devices;
	if (rd->opts.ndevices && rd->opts.ndevices != ondisk) {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "%u extra devices given, but the image has %u", rd->opts.ndevices,
			     ondisk);
		return -EINVAL;
	}
	rd->flatdev = !rd->opts.ndevices;
	i = 1;
	while (i < ondisk + 1)
		i <<= 1;
	rd->device_id_mask = i - 1;
	rd->devs = calloc(ondisk + 1, sizeof(*rd->devs));
	if (!rd->devs)
		return -ENOMEM;
	pos = (uint64_t)sb->devt_slotoff * EROFS_DEVT_SLOT_SIZE;
	for (i = 1; i <= ondisk; i++, pos += EROFS_DEVT_SLOT_SIZE) {
		struct erofs_deviceslot ds;
		struct erofs_rd_device *d = &rd->devs[i];

		err = erofs_rd_dev_read(rd, 0, &ds, sizeof(ds), pos, "device table");
		if (err)
			return err;
		memcpy(d->tag, ds.tag, sizeof(d->tag));
		d->blocks = le32_to_cpu(ds.blocks_lo);
		d->uniaddr = le32_to_cpu(ds.uniaddr_lo);
		if (rd->has_48bit) {
			d->blocks |= (uint64_t)le16_to_cpu(ds.blocks_hi) << 32;
			d->uniaddr |= (uint64_t)le16_to_cpu(ds.uniaddr_hi) << 32;
		}
		if (rd->opts.ndevices) {
			err = erofs_rd_src_open_file(rd, &rd->srcs[i],
						     rd->opts.devices[i - 1]);
			if (err)
				return err;
			rd->nsrcs = i + 1;
			d->size = rd->srcs[i].size;
			d->present = true;
		}
	}
	return 0;
}

static int erofs_rd_parse_prefixes(struct erofs_rd *rd, const uint8_t *buf,
				   uint64_t size, uint64_t base)
{
	unsigned int n = rd->sb.xattr_prefix_count, i;
	uint64_t pos = 0;

	rd->prefixes = calloc(n, sizeof(*rd->prefixes));
	if (!rd->prefixes)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		unsigned int len;

		if (pos + 2 > size)
			return erofs_rd_corrupt(rd,
				"long xattr prefix %u (offset 0x%llx): beyond the prefix table",
				i, (unsigned long long)(base + pos));
		len = get_le16(buf + pos);
		if (len < 1 || len > EROFS_NAME_LEN + 1 || pos + 2 + len > size)
			return erofs_rd_corrupt(rd,
				"long xattr prefix %u (offset 0x%llx): bad length %u",
				i, (unsigned long long)(base + pos), len);
		rd->prefixes[i].base_index = buf[pos + 2];
		rd->prefixes[i].infix_len = len - 1;
		rd->prefixes[i].infix = (const char *)buf + pos + 3;
		if (buf[pos + 2] > EROFS_XATTR_INDEX_SECURITY)
			return erofs_rd_corrupt(rd,
				"long xattr prefix %u (offset 0x%llx): unknown base index %u",
				i, (unsigned long long)(base + pos), buf[pos + 2]);
		if (memchr(rd->prefixes[i].infix, 0, len - 1))
			return erofs_rd_corrupt(rd,
				"long xattr prefix %u (offset 0x%llx): NUL in the infix",
				i, (unsigned long long)(base + pos));
		pos = round_up(pos + 2 + len, 4);
	}
	return 0;
}

/* the table's largest possible size: 128 records of 2 + 256 bytes, aligned */
#define EROFS_RD_PREFIX_TABLE_MAX	(EROFS_XATTR_MAX_LONG_PREFIXES * 260)

int erofs_rd_load_prefixes(struct erofs_rd *rd)
{
	struct erofs_rd_sb *sb = &rd->sb;
	uint64_t start = (uint64_t)sb->xattr_prefix_start * 4, avail;
	struct erofs_rd_inode packed;
	int err;

	if (!sb->xattr_prefix_count)
		return 0;
	rd->prefix_buf = malloc(EROFS_RD_PREFIX_TABLE_MAX);
	if (!rd->prefix_buf)
		return -ENOMEM;
	if (sb->feature_compat & EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX ||
	    !sb->packed_nid) {
		avail = erofs_rd_image_size(rd) > start ?
			erofs_rd_image_size(rd) - start : 0;
		if (avail > EROFS_RD_PREFIX_TABLE_MAX)
			avail = EROFS_RD_PREFIX_TABLE_MAX;
		err = erofs_rd_dev_read(rd, 0, rd->prefix_buf, avail, start,
					"long xattr prefix table");
		if (err)
			return err;
		return erofs_rd_parse_prefixes(rd, rd->prefix_buf, avail, start);
	}
	/* before PLAIN_XATTR_PFX the table lives in the packed inode's data */
	err = erofs_rd_iget(rd, sb->packed_nid, &packed);
	if (err)
		return err;
	if (!S_ISREG(packed.mode))
		return erofs_rd_corrupt(rd, "packed inode nid %llu is not a regular file",
					(unsigned long long)sb->packed_nid);
	avail = packed.size > start ? packed.size - start : 0;
	if (avail > EROFS_RD_PREFIX_TABLE_MAX)
		avail = EROFS_RD_PREFIX_TABLE_MAX;
	err = erofs_rd_pread(rd, &packed, rd->prefix_buf, avail, start);
	if (err)
		return err;
	return erofs_rd_parse_prefixes(rd, rd->prefix_buf, avail, start);
}

/*
 * With COMPR_CFGS, one config record per algorithm in the bitmap follows the
 * superblock, and the kernel refuses to mount when one is missing, short or
 * out of range, compressed files or not.  Records are 4-byte aligned: a u16
 * length (0 meaning 65536), then the payload.
 */
static int erofs_rd_check_compr_cfgs(struct erofs_rd *rd, uint64_t pos)
{
	static const unsigned int minsize[] = { 14, 14, 6, 6 };
	static const char *const names[] = { "lz4", "lzma", "deflate", "zstd" };
	unsigned int algs = rd->sb.u1, alg;
	uint8_t cfg[16];

	if (algs & ~0xFu) {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "superblock (offset 0x%x): unknown compression algorithms 0x%x",
			     EROFS_SUPER_OFFSET + 0x54, algs);
		return -EOPNOTSUPP;
	}
	for (alg = 0; algs; algs >>= 1, alg++) {
		unsigned int len;
		uint8_t hdr[2];
		int err;

		if (!(algs & 1))
			continue;
		pos = round_up(pos, 4);
		err = erofs_rd_dev_read(rd, 0, hdr, 2, pos, "compression config record");
		if (err)
			return err;
		len = get_le16(hdr);
		if (!len)
			len = 65536;
		if (len < minsize[alg])
			return erofs_rd_corrupt(rd,
				"%s config record (offset 0x%llx): %u bytes, needs %u",
				names[alg], (unsigned long long)pos, len, minsize[alg]);
		err = erofs_rd_dev_read(rd, 0, cfg, minsize[alg], pos + 2,
					"compression config record");
		if (err)
			return err;
		if (pos + 2 + len > erofs_rd_image_size(rd))
			return erofs_rd_corrupt(rd,
				"%s config record (offset 0x%llx): runs past the end of the image",
				names[alg], (unsigned long long)pos);
		switch (alg) {
		case 0:
			/*
			 * max_pclusterblks: the kernel takes at most 1 MiB in
			 * 4 KiB pages, 256, whatever the block size
			 */
			if (get_le16(cfg + 2) > (1u << 20) >> 12)
				return erofs_rd_corrupt(rd,
					"lz4 config record (offset 0x%llx): max_pclusterblks %u is over 256, which the kernel refuses",
					(unsigned long long)pos, get_le16(cfg + 2));
			break;
		case 1:
			rd->lzma_dictsize = get_le32(cfg);
			if (get_le32(cfg) > (8u << 20) || get_le16(cfg + 4))
				return erofs_rd_corrupt(rd,
					"lzma config record (offset 0x%llx): dict_size %u or format %u out of range",
					(unsigned long long)pos, get_le32(cfg), get_le16(cfg + 4));
			break;
		case 2:
			if (cfg[0] > 15)
				return erofs_rd_corrupt(rd,
					"deflate config record (offset 0x%llx): windowbits %u is over 15",
					(unsigned long long)pos, cfg[0]);
			break;
		case 3:
			if (cfg[0] || cfg[1] > 10)
				return erofs_rd_corrupt(rd,
					"zstd config record (offset 0x%llx): format %u or windowlog %u out of range",
					(unsigned long long)pos, cfg[0], cfg[1]);
			break;
		}
		pos += 2 + len;
	}
	return 0;
}

static int erofs_rd_read_sb(struct erofs_rd *rd)
{
	struct erofs_super_block dsb;
	struct erofs_rd_sb *sb = &rd->sb;
	uint8_t ext[16];
	unsigned int sb_size;
	uint32_t unknown;
	int err;

	if (erofs_rd_image_size(rd) < EROFS_SUPER_OFFSET + sizeof(dsb))
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): the image is only %llu bytes long",
			EROFS_SUPER_OFFSET, (unsigned long long)erofs_rd_image_size(rd));
	err = erofs_rd_dev_read(rd, 0, &dsb, sizeof(dsb), EROFS_SUPER_OFFSET, "superblock");
	if (err)
		return err;
	if (le32_to_cpu(dsb.magic) != EROFS_SUPER_MAGIC_V1)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): bad magic 0x%08x, not an EROFS image",
			EROFS_SUPER_OFFSET, le32_to_cpu(dsb.magic));
	sb->blkszbits = dsb.blkszbits;
	if (sb->blkszbits < EROFS_MIN_BLKSZBITS || sb->blkszbits > EROFS_MAX_BLKSZBITS)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): blkszbits %u is outside %u..%u",
			EROFS_SUPER_OFFSET + 0x0C, sb->blkszbits,
			EROFS_MIN_BLKSZBITS, EROFS_MAX_BLKSZBITS);
	rd->blkszbits = sb->blkszbits;
	rd->bs = 1u << sb->blkszbits;
	sb->sb_extslots = dsb.sb_extslots;
	sb_size = sizeof(dsb) + 16 * sb->sb_extslots;
	if (EROFS_SUPER_OFFSET + sb_size > EROFS_RD_PAGE_SIZE)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): %u extra slots make it %u bytes, too large",
			EROFS_SUPER_OFFSET + 0x0D, sb->sb_extslots, sb_size);
	sb->checksum = le32_to_cpu(dsb.checksum);
	sb->feature_compat = le32_to_cpu(dsb.feature_compat);
	sb->feature_incompat = le32_to_cpu(dsb.feature_incompat);
	if (sb->feature_compat & EROFS_FEATURE_COMPAT_SB_CHKSUM) {
		err = erofs_rd_check_sb_csum(rd, NULL);
		if (err)
			return err;
	}
	unknown = sb->feature_incompat & ~EROFS_ALL_FEATURE_INCOMPAT;
	if (unknown) {
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "superblock (offset 0x%x): unknown feature_incompat bits 0x%x; this image needs a newer reader",
			     EROFS_SUPER_OFFSET + 0x50, unknown);
		return -EOPNOTSUPP;
	}
	if (sb->feature_compat & ~EROFS_RD_KNOWN_COMPAT)
		erofs_rd_msg(rd, EROFS_RD_INFO, "superblock: unknown feature_compat bits 0x%x (ignored)",
			     sb->feature_compat & ~EROFS_RD_KNOWN_COMPAT);
	rd->has_48bit = sb->feature_incompat & EROFS_FEATURE_INCOMPAT_48BIT;
	if (dsb.dirblkbits)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): dirblkbits %u is not 0",
			EROFS_SUPER_OFFSET + 0x5A, dsb.dirblkbits);

	sb->inos = le64_to_cpu(dsb.inos);
	sb->epoch = (int64_t)le64_to_cpu(dsb.epoch);
	sb->fixed_nsec = le32_to_cpu(dsb.fixed_nsec);
	sb->meta_blkaddr = le32_to_cpu(dsb.meta_blkaddr);
	sb->xattr_blkaddr = le32_to_cpu(dsb.xattr_blkaddr);
	memcpy(sb->uuid, dsb.uuid, sizeof(sb->uuid));
	memcpy(sb->volume_name, dsb.volume_name, sizeof(dsb.volume_name));
	sb->volume_name[16] = '\0';
	sb->u1 = le16_to_cpu(dsb.u1);
	sb->extra_devices = le16_to_cpu(dsb.extra_devices);
	sb->devt_slotoff = le16_to_cpu(dsb.devt_slotoff);
	sb->xattr_prefix_count = dsb.xattr_prefix_count;
	sb->xattr_prefix_start = le32_to_cpu(dsb.xattr_prefix_start);
	sb->packed_nid = le64_to_cpu(dsb.packed_nid);
	sb->xattr_filter_reserved = dsb.xattr_filter_reserved;
	sb->ishare_xattr_prefix_id = dsb.ishare_xattr_prefix_id;
	sb->build_time = le32_to_cpu(dsb.build_time);
	sb->blocks = le32_to_cpu(dsb.blocks_lo);
	sb->root_nid = le16_to_cpu(dsb.rootnid_2b);
	if (rd->has_48bit && le64_to_cpu(dsb.rootnid_8b)) {
		sb->root_nid = le64_to_cpu(dsb.rootnid_8b);
		sb->blocks |= (uint64_t)le16_to_cpu(dsb.rootnid_2b) << 32;
	}
	if (sb->packed_nid >> 63)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): packed_nid 0x%llx has bit 63 set",
			EROFS_SUPER_OFFSET + 0x60, (unsigned long long)sb->packed_nid);
	if (sb->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX) {
		if (sb->sb_extslots < 1)
			return erofs_rd_corrupt(rd,
				"superblock (offset 0x%x): METABOX needs an extra slot for metabox_nid",
				EROFS_SUPER_OFFSET + 0x0D);
		err = erofs_rd_dev_read(rd, 0, ext, sizeof(ext),
					EROFS_SUPER_OFFSET + sizeof(dsb), "superblock slot 1");
		if (err)
			return err;
		sb->metabox_nid = get_le64(ext);
		if (sb->metabox_nid >> 63)
			return erofs_rd_corrupt(rd,
				"superblock (offset 0x%x): metabox_nid has bit 63 set",
				EROFS_SUPER_OFFSET + 0x80);
		erofs_rd_msg(rd, EROFS_RD_ERR,
			     "metabox images are not supported yet");
		return -EOPNOTSUPP;
	}
	if (sb->feature_compat & EROFS_FEATURE_COMPAT_ISHARE_XATTRS &&
	    sb->ishare_xattr_prefix_id >= sb->xattr_prefix_count)
		return erofs_rd_corrupt(rd,
			"superblock (offset 0x%x): ishare_xattr_prefix_id %u is not below xattr_prefix_count %u",
			EROFS_SUPER_OFFSET + 0x69, sb->ishare_xattr_prefix_id,
			sb->xattr_prefix_count);
	rd->zero_padding = sb->feature_incompat & EROFS_FEATURE_INCOMPAT_ZERO_PADDING;
	/* without config records, LZ4 is the one algorithm */
	rd->available_algs = 1;
	if (sb->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS) {
		rd->available_algs = sb->u1;
		return erofs_rd_check_compr_cfgs(rd, EROFS_SUPER_OFFSET + sb_size);
	}
	return 0;
}

int erofs_rd_open(struct erofs_rd **rdp, const struct erofs_rd_opts *opts)
{
	struct erofs_rd *rd;
	struct erofs_rd_inode root;
	unsigned int i;
	int err;

	if (opts->ndevices > EROFS_RD_MAX_DEVICES)
		return -E2BIG;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->opts = *opts;
	for (i = 0; i <= EROFS_RD_MAX_DEVICES; i++)
		rd->srcs[i].fd = -1;
	rd->zmap_nid = rd->zout_nid = UINT64_MAX;
	if (opts->path) {
		err = erofs_rd_src_open_file(rd, &rd->srcs[0], opts->path);
		if (err)
			goto fail;
	} else {
		rd->srcs[0].mem = opts->mem;
		rd->srcs[0].size = opts->memsize;
	}
	rd->nsrcs = 1;
	err = erofs_rd_read_sb(rd);
	if (err)
		goto fail;
	err = erofs_rd_read_devices(rd);
	if (err)
		goto fail;
	err = erofs_rd_load_prefixes(rd);
	if (err)
		goto fail;
	err = erofs_rd_iget(rd, rd->sb.root_nid, &root);
	if (err)
		goto fail;
	if (!S_ISDIR(root.mode)) {
		err = erofs_rd_corrupt(rd,
			"root nid %llu (offset 0x%llx): not a directory (mode 0%o)",
			(unsigned long long)root.nid, (unsigned long long)root.iloc,
			root.mode);
		goto fail;
	}
	*rdp = rd;
	return 0;
fail:
	erofs_rd_close(rd);
	return err;
}

void erofs_rd_close(struct erofs_rd *rd)
{
	unsigned int i;

	if (!rd)
		return;
	for (i = 0; i <= EROFS_RD_MAX_DEVICES; i++)
		erofs_rd_src_close(&rd->srcs[i]);
	free(rd->devs);
	free(rd->prefixes);
	free(rd->prefix_buf);
	free(rd->mcache);
	erofs_rd_zfree(rd);
	free(rd);
}

const struct erofs_rd_sb *erofs_rd_sb(const struct erofs_rd *rd)
{
	return &rd->sb;
}

unsigned int erofs_rd_ndevices(const struct erofs_rd *rd)
{
	return rd->devs ? (rd->sb.feature_incompat & EROFS_FEATURE_INCOMPAT_DEVICE_TABLE ?
			   rd->sb.extra_devices : 0) : 0;
}

const struct erofs_rd_device *erofs_rd_device(const struct erofs_rd *rd,
					      unsigned int dev)
{
	if (!dev || dev > erofs_rd_ndevices(rd))
		return NULL;
	return &rd->devs[dev];
}

unsigned int erofs_rd_nprefixes(const struct erofs_rd *rd)
{
	return rd->prefixes ? rd->sb.xattr_prefix_count : 0;
}

const struct erofs_rd_prefix *erofs_rd_prefix(const struct erofs_rd *rd,
					      unsigned int i)
{
	return i < erofs_rd_nprefixes(rd) ? &rd->prefixes[i] : NULL;
}

/*
 * Unified addressing: a block of a flat file, a 4-byte block map entry or a
 * chunk index with device id 0 names a block of the unified space, which is
 * the primary device followed by each extra device at its uniaddr.  A
 * device id N >= 1 names block blk of device N.  Without device files the
 * devices are taken to sit in the image at their uniaddr (flat mode).
 */
int erofs_rd_resolve(struct erofs_rd *rd, uint64_t blk, uint64_t nblks,
		     unsigned int devid, unsigned int *dev, uint64_t *pa,
		     const char *what, uint64_t nid)
{
	unsigned int ndevs = erofs_rd_ndevices(rd), i;
	uint64_t size, end;

	if (blk > (UINT64_MAX >> 13) || nblks > (UINT64_MAX >> 14))
		return erofs_rd_corrupt(rd, "nid %llu: %s: block %llu out of range",
					(unsigned long long)nid, what,
					(unsigned long long)blk);
	end = blk + nblks;
	if (devid) {
		struct erofs_rd_device *d;

		if (devid > ndevs)
			return erofs_rd_corrupt(rd,
				"nid %llu: %s: device id %u, but the image has %u extra devices",
				(unsigned long long)nid, what, devid, ndevs);
		d = &rd->devs[devid];
		if (rd->flatdev) {
			blk += d->uniaddr;
			end += d->uniaddr;
			*dev = 0;
		} else {
			*dev = devid;
		}
	} else {
		*dev = 0;
		if (!rd->flatdev) {
			for (i = 1; i <= ndevs; i++) {
				struct erofs_rd_device *d = &rd->devs[i];

				if (!d->uniaddr || blk < d->uniaddr ||
				    blk - d->uniaddr >= d->blocks)
					continue;
				if (end - d->uniaddr > d->blocks)
					return erofs_rd_corrupt(rd,
						"nid %llu: %s: blocks %llu..%llu cross the end of device %u",
						(unsigned long long)nid, what,
						(unsigned long long)blk,
						(unsigned long long)end - 1, i);
				blk -= d->uniaddr;
				end -= d->uniaddr;
				*dev = i;
				break;
			}
		}
	}
	size = rd->srcs[*dev].size;
	if (end > (size >> rd->blkszbits) + !!(size & (rd->bs - 1)))
		return erofs_rd_corrupt(rd,
			"nid %llu: %s: blocks %llu..%llu are beyond the end of %s (%llu blocks)",
			(unsigned long long)nid, what, (unsigned long long)blk,
			(unsigned long long)end - 1,
			*dev ? "the device" : "the image",
			(unsigned long long)DIV_ROUND_UP(size, rd->bs));
	*pa = blk << rd->blkszbits;
	return 0;
}
