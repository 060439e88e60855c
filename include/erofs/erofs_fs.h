/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The EROFS on-disk format: structures, constants and the static checks that
 * pin every field to its offset.  This header holds the format and nothing
 * else; both the writer and the reader build on it, and nothing more is
 * shared between them.  All on-disk integers are little-endian.
 */
#ifndef EROFS_FS_H
#define EROFS_FS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define EROFS_SUPER_MAGIC_V1		0xE0F5E1E2
#define EROFS_SUPER_OFFSET		1024
#define EROFS_MIN_BLKSZBITS		9
#define EROFS_MAX_BLKSZBITS		12
#define EROFS_NAME_LEN			255
#define EROFS_ISLOTBITS			5
#define EROFS_NULL_ADDR			0xFFFFFFFFu

/* feature_compat */
#define EROFS_FEATURE_COMPAT_SB_CHKSUM		0x00000001
#define EROFS_FEATURE_COMPAT_MTIME		0x00000002
#define EROFS_FEATURE_COMPAT_XATTR_FILTER	0x00000004
#define EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX 0x00000008
#define EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX	0x00000010
#define EROFS_FEATURE_COMPAT_ISHARE_XATTRS	0x00000020

/* feature_incompat */
#define EROFS_FEATURE_INCOMPAT_ZERO_PADDING	0x00000001
#define EROFS_FEATURE_INCOMPAT_COMPR_CFGS	0x00000002
#define EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER	0x00000002
#define EROFS_FEATURE_INCOMPAT_CHUNKED_FILE	0x00000004
#define EROFS_FEATURE_INCOMPAT_DEVICE_TABLE	0x00000008
#define EROFS_FEATURE_INCOMPAT_COMPR_HEAD2	0x00000008
#define EROFS_FEATURE_INCOMPAT_ZTAILPACKING	0x00000010
#define EROFS_FEATURE_INCOMPAT_FRAGMENTS	0x00000020
#define EROFS_FEATURE_INCOMPAT_DEDUPE		0x00000020
#define EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES	0x00000040
#define EROFS_FEATURE_INCOMPAT_48BIT		0x00000080
#define EROFS_FEATURE_INCOMPAT_METABOX		0x00000100
#define EROFS_ALL_FEATURE_INCOMPAT		0x000001FF

struct erofs_super_block {
	__le32 magic;
	__le32 checksum;
	__le32 feature_compat;
	__u8 blkszbits;
	__u8 sb_extslots;
	__le16 rootnid_2b;
	__le64 inos;
	__le64 epoch;
	__le32 fixed_nsec;
	__le32 blocks_lo;
	__le32 meta_blkaddr;
	__le32 xattr_blkaddr;
	__u8 uuid[16];
	__u8 volume_name[16];
	__le32 feature_incompat;
	__le16 u1;		/* available_compr_algs or lz4_max_distance */
	__le16 extra_devices;
	__le16 devt_slotoff;
	__u8 dirblkbits;
	__u8 xattr_prefix_count;
	__le32 xattr_prefix_start;
	__le64 packed_nid;
	__u8 xattr_filter_reserved;
	__u8 ishare_xattr_prefix_id;
	__u8 reserved[2];
	__le32 build_time;
	__le64 rootnid_8b;
	__u8 reserved2[8];
} __attribute__((packed));

/* i_format: bit 0 version, bits 1-3 data layout, bit 4 NLINK_1/DOT_OMITTED */
#define EROFS_INODE_LAYOUT_COMPACT	0
#define EROFS_INODE_LAYOUT_EXTENDED	1
#define EROFS_I_VERSION_BIT		0
#define EROFS_I_DATALAYOUT_BIT		1
#define EROFS_I_ALL			0x1F

enum {
	EROFS_INODE_FLAT_PLAIN = 0,
	EROFS_INODE_COMPRESSED_FULL = 1,
	EROFS_INODE_FLAT_INLINE = 2,
	EROFS_INODE_COMPRESSED_COMPACT = 3,
	EROFS_INODE_CHUNK_BASED = 4,
	EROFS_INODE_DATALAYOUT_MAX
};

#define EROFS_INODE_FORMAT(version, layout) \
	((version) | ((layout) << EROFS_I_DATALAYOUT_BIT))

/* chunk format, the low 16 bits of i_u for CHUNK_BASED inodes */
#define EROFS_CHUNK_FORMAT_BLKBITS_MASK	0x001F
#define EROFS_CHUNK_FORMAT_INDEXES	0x0020
#define EROFS_CHUNK_FORMAT_48BIT	0x0040
#define EROFS_CHUNK_FORMAT_ALL		0x007F

struct erofs_inode_compact {
	__le16 i_format;
	__le16 i_xattr_icount;
	__le16 i_mode;
	__le16 i_nb;		/* nlink */
	__le32 i_size;
	__le32 i_mtime;		/* relative to epoch; 0 without 48BIT */
	__le32 i_u;		/* startblk, rdev, blocks or chunk format */
	__le32 i_ino;
	__le16 i_uid;
	__le16 i_gid;
	__le32 i_reserved;
} __attribute__((packed));

struct erofs_inode_extended {
	__le16 i_format;
	__le16 i_xattr_icount;
	__le16 i_mode;
	__le16 i_nb;		/* startblk_hi / blocks_hi */
	__le64 i_size;
	__le32 i_u;
	__le32 i_ino;
	__le32 i_uid;
	__le32 i_gid;
	__le64 i_mtime;
	__le32 i_mtime_nsec;
	__le32 i_nlink;
	__u8 i_reserved2[16];
} __attribute__((packed));

/* xattrs */
#define EROFS_XATTR_INDEX_USER			1
#define EROFS_XATTR_INDEX_POSIX_ACL_ACCESS	2
#define EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT	3
#define EROFS_XATTR_INDEX_TRUSTED		4
#define EROFS_XATTR_INDEX_LUSTRE		5
#define EROFS_XATTR_INDEX_SECURITY		6
#define EROFS_XATTR_LONG_PREFIX			0x80
#define EROFS_XATTR_LONG_PREFIX_MASK		0x7F
#define EROFS_XATTR_MAX_LONG_PREFIXES		128

#define EROFS_XATTR_FILTER_BITS		32
#define EROFS_XATTR_FILTER_DEFAULT	0xFFFFFFFFu
#define EROFS_XATTR_FILTER_SEED		0x25BBE08F

struct erofs_xattr_ibody_header {
	__le32 h_name_filter;	/* inverted bloom filter */
	__u8 h_shared_count;
	__u8 h_reserved2[7];
	__le32 h_shared_xattrs[];
} __attribute__((packed));

struct erofs_xattr_entry {
	__u8 e_name_len;
	__u8 e_name_index;
	__le16 e_value_size;
	char e_name[];
} __attribute__((packed));

struct erofs_xattr_long_prefix {
	__u8 base_index;
	char infix[];
} __attribute__((packed));

static inline unsigned int erofs_xattr_ibody_size(unsigned int icount)
{
	return icount ? sizeof(struct erofs_xattr_ibody_header) +
			(icount - 1) * sizeof(__le32) : 0;
}

#define EROFS_XATTR_ALIGN(size)	(((size) + 3u) & ~3u)
#define EROFS_XATTR_ENTRY_SIZE(nlen, vlen) \
	EROFS_XATTR_ALIGN(sizeof(struct erofs_xattr_entry) + (nlen) + (vlen))

/* chunk index (8 bytes) */
struct erofs_inode_chunk_index {
	__le16 startblk_hi;
	__le16 device_id;
	__le32 startblk_lo;
} __attribute__((packed));

/* device slot (128 bytes) */
struct erofs_deviceslot {
	__u8 tag[64];
	__le32 blocks_lo;
	__le32 uniaddr_lo;
	__le16 blocks_hi;
	__le16 uniaddr_hi;
	__u8 reserved[52];
} __attribute__((packed));
#define EROFS_DEVT_SLOT_SIZE	sizeof(struct erofs_deviceslot)

/* directories */
struct erofs_dirent {
	__le64 nid;
	__le16 nameoff;
	__u8 file_type;
	__u8 reserved;
} __attribute__((packed));

enum {
	EROFS_FT_UNKNOWN,
	EROFS_FT_REG_FILE,
	EROFS_FT_DIR,
	EROFS_FT_CHRDEV,
	EROFS_FT_BLKDEV,
	EROFS_FT_FIFO,
	EROFS_FT_SOCK,
	EROFS_FT_SYMLINK,
	EROFS_FT_MAX
};

/* compression (placed for later layouts) */
struct z_erofs_map_header {
	union {
		__le32 h_fragmentoff;
		struct {
			__le16 h_reserved1;
			__le16 h_idata_size;
		};
	};
	__le16 h_advise;
	__u8 h_algorithmtype;
	__u8 h_clusterbits;
} __attribute__((packed));

struct z_erofs_lcluster_index {
	__le16 di_advise;
	__le16 di_clusterofs;
	union {
		__le32 blkaddr;
		__le16 delta[2];
	} di_u;
} __attribute__((packed));

/* algorithm ids: h_algorithmtype nibbles and available_compr_algs bits */
enum {
	Z_EROFS_COMPRESSION_LZ4 = 0,
	Z_EROFS_COMPRESSION_LZMA = 1,
	Z_EROFS_COMPRESSION_DEFLATE = 2,
	Z_EROFS_COMPRESSION_ZSTD = 3,
	Z_EROFS_COMPRESSION_MAX
};

/* h_advise */
#define Z_EROFS_ADVISE_COMPACTED_2B		0x0001
#define Z_EROFS_ADVISE_BIG_PCLUSTER_1		0x0002
#define Z_EROFS_ADVISE_BIG_PCLUSTER_2		0x0004
#define Z_EROFS_ADVISE_INLINE_PCLUSTER		0x0008
#define Z_EROFS_ADVISE_INTERLACED_PCLUSTER	0x0010
#define Z_EROFS_ADVISE_FRAGMENT_PCLUSTER	0x0020

/* bit 7 of h_clusterbits: the whole file is one fragment */
#define Z_EROFS_FRAGMENT_INODE_BIT		7

/* lcluster types: bits 0-1 of di_advise, and the type of a compact slot */
enum {
	Z_EROFS_LCLUSTER_TYPE_PLAIN = 0,
	Z_EROFS_LCLUSTER_TYPE_HEAD1 = 1,
	Z_EROFS_LCLUSTER_TYPE_NONHEAD = 2,
	Z_EROFS_LCLUSTER_TYPE_HEAD2 = 3,
};
#define Z_EROFS_LI_PARTIAL_REF		(1 << 15)
/* in delta[0] of the first NONHEAD: the pcluster's block count follows */
#define Z_EROFS_LI_D0_CBLKCNT		(1 << 11)

/* full indexes start after the map header and 8 reserved bytes */
#define Z_EROFS_FULL_INDEX_START(h)	((h) + 16)
/* an encoded pcluster is at most 1 MiB, a decoded extent at most 12 MiB */
#define Z_EROFS_PCLUSTER_MAX_SIZE	(1024 * 1024)
#define Z_EROFS_PCLUSTER_MAX_DSIZE	(12 * 1024 * 1024)

/* compression configuration records after the superblock, in id order */
struct z_erofs_lz4_cfgs {
	__le16 max_distance;
	__le16 max_pclusterblks;
	__u8 reserved[10];
} __attribute__((packed));

struct z_erofs_deflate_cfgs {
	__u8 windowbits;
	__u8 reserved[5];
} __attribute__((packed));

struct z_erofs_zstd_cfgs {
	__u8 format;
	__u8 windowlog;		/* log2(window) - 10 */
	__u8 reserved[4];
} __attribute__((packed));

#define EROFS_ASSERT_OFF(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field)

_Static_assert(sizeof(struct erofs_super_block) == 128, "superblock size");
EROFS_ASSERT_OFF(struct erofs_super_block, checksum, 0x04);
EROFS_ASSERT_OFF(struct erofs_super_block, feature_compat, 0x08);
EROFS_ASSERT_OFF(struct erofs_super_block, blkszbits, 0x0C);
EROFS_ASSERT_OFF(struct erofs_super_block, sb_extslots, 0x0D);
EROFS_ASSERT_OFF(struct erofs_super_block, rootnid_2b, 0x0E);
EROFS_ASSERT_OFF(struct erofs_super_block, inos, 0x10);
EROFS_ASSERT_OFF(struct erofs_super_block, epoch, 0x18);
EROFS_ASSERT_OFF(struct erofs_super_block, fixed_nsec, 0x20);
EROFS_ASSERT_OFF(struct erofs_super_block, blocks_lo, 0x24);
EROFS_ASSERT_OFF(struct erofs_super_block, meta_blkaddr, 0x28);
EROFS_ASSERT_OFF(struct erofs_super_block, xattr_blkaddr, 0x2C);
EROFS_ASSERT_OFF(struct erofs_super_block, uuid, 0x30);
EROFS_ASSERT_OFF(struct erofs_super_block, volume_name, 0x40);
EROFS_ASSERT_OFF(struct erofs_super_block, feature_incompat, 0x50);
EROFS_ASSERT_OFF(struct erofs_super_block, u1, 0x54);
EROFS_ASSERT_OFF(struct erofs_super_block, extra_devices, 0x56);
EROFS_ASSERT_OFF(struct erofs_super_block, devt_slotoff, 0x58);
EROFS_ASSERT_OFF(struct erofs_super_block, dirblkbits, 0x5A);
EROFS_ASSERT_OFF(struct erofs_super_block, xattr_prefix_count, 0x5B);
EROFS_ASSERT_OFF(struct erofs_super_block, xattr_prefix_start, 0x5C);
EROFS_ASSERT_OFF(struct erofs_super_block, packed_nid, 0x60);
EROFS_ASSERT_OFF(struct erofs_super_block, xattr_filter_reserved, 0x68);
EROFS_ASSERT_OFF(struct erofs_super_block, ishare_xattr_prefix_id, 0x69);
EROFS_ASSERT_OFF(struct erofs_super_block, build_time, 0x6C);
EROFS_ASSERT_OFF(struct erofs_super_block, rootnid_8b, 0x70);
EROFS_ASSERT_OFF(struct erofs_super_block, reserved2, 0x78);

_Static_assert(sizeof(struct erofs_inode_compact) == 32, "compact inode size");
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_xattr_icount, 0x02);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_mode, 0x04);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_nb, 0x06);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_size, 0x08);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_mtime, 0x0C);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_u, 0x10);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_ino, 0x14);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_uid, 0x18);
EROFS_ASSERT_OFF(struct erofs_inode_compact, i_gid, 0x1A);

_Static_assert(sizeof(struct erofs_inode_extended) == 64, "extended inode size");
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_size, 0x08);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_u, 0x10);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_ino, 0x14);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_uid, 0x18);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_gid, 0x1C);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_mtime, 0x20);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_mtime_nsec, 0x28);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_nlink, 0x2C);
EROFS_ASSERT_OFF(struct erofs_inode_extended, i_reserved2, 0x30);

_Static_assert(sizeof(struct erofs_xattr_ibody_header) == 12, "xattr header size");
EROFS_ASSERT_OFF(struct erofs_xattr_ibody_header, h_shared_count, 4);
_Static_assert(sizeof(struct erofs_xattr_entry) == 4, "xattr entry size");
_Static_assert(sizeof(struct erofs_inode_chunk_index) == 8, "chunk index size");
EROFS_ASSERT_OFF(struct erofs_inode_chunk_index, device_id, 2);
EROFS_ASSERT_OFF(struct erofs_inode_chunk_index, startblk_lo, 4);
_Static_assert(sizeof(struct erofs_deviceslot) == 128, "device slot size");
EROFS_ASSERT_OFF(struct erofs_deviceslot, blocks_lo, 0x40);
EROFS_ASSERT_OFF(struct erofs_deviceslot, uniaddr_lo, 0x44);
EROFS_ASSERT_OFF(struct erofs_deviceslot, blocks_hi, 0x48);
EROFS_ASSERT_OFF(struct erofs_deviceslot, uniaddr_hi, 0x4A);
_Static_assert(sizeof(struct erofs_dirent) == 12, "dirent size");
EROFS_ASSERT_OFF(struct erofs_dirent, nameoff, 8);
EROFS_ASSERT_OFF(struct erofs_dirent, file_type, 10);
_Static_assert(sizeof(struct z_erofs_map_header) == 8, "map header size");
EROFS_ASSERT_OFF(struct z_erofs_map_header, h_advise, 4);
_Static_assert(sizeof(struct z_erofs_lcluster_index) == 8, "lcluster index size");
_Static_assert(sizeof(struct z_erofs_lz4_cfgs) == 14, "lz4 config size");
_Static_assert(sizeof(struct z_erofs_deflate_cfgs) == 6, "deflate config size");
_Static_assert(sizeof(struct z_erofs_zstd_cfgs) == 6, "zstd config size");

#endif
