// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The format header against the published layout: struct sizes and field
 * offsets (also pinned at compile time), and the constants whose values the
 * kernel checks.
 */
#include <stddef.h>

#include "erofs/erofs_fs.h"
#include "unit.h"

int main(void)
{
	CHECK_EQ_U(sizeof(struct erofs_super_block), 128);
	CHECK_EQ_U(offsetof(struct erofs_super_block, feature_incompat), 0x50);
	CHECK_EQ_U(offsetof(struct erofs_super_block, xattr_prefix_start), 0x5C);
	CHECK_EQ_U(offsetof(struct erofs_super_block, packed_nid), 0x60);
	CHECK_EQ_U(offsetof(struct erofs_super_block, ishare_xattr_prefix_id), 0x69);
	CHECK_EQ_U(EROFS_SUPER_OFFSET + offsetof(struct erofs_super_block,
						 ishare_xattr_prefix_id), 1129);
	CHECK_EQ_U(offsetof(struct erofs_super_block, rootnid_8b), 0x70);
	CHECK_EQ_U(sizeof(struct erofs_inode_compact), 32);
	CHECK_EQ_U(sizeof(struct erofs_inode_extended), 64);
	CHECK_EQ_U(offsetof(struct erofs_inode_extended, i_mtime_nsec), 0x28);
	CHECK_EQ_U(offsetof(struct erofs_inode_extended, i_nlink), 0x2C);
	CHECK_EQ_U(sizeof(struct erofs_dirent), 12);
	CHECK_EQ_U(sizeof(struct erofs_xattr_ibody_header), 12);
	CHECK_EQ_U(sizeof(struct erofs_deviceslot), 128);
	CHECK_EQ_U(sizeof(struct erofs_inode_chunk_index), 8);
	CHECK_EQ_U(sizeof(struct z_erofs_map_header), 8);

	CHECK_EQ_U(EROFS_SUPER_MAGIC_V1, 0xE0F5E1E2);
	CHECK_EQ_U(EROFS_FEATURE_COMPAT_ISHARE_XATTRS, 0x20);
	CHECK_EQ_U(EROFS_FEATURE_INCOMPAT_CHUNKED_FILE, 0x4);
	CHECK_EQ_U(EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES, 0x40);
	CHECK_EQ_U(EROFS_ALL_FEATURE_INCOMPAT, 0x1FF);
	CHECK_EQ_U(EROFS_INODE_FORMAT(EROFS_INODE_LAYOUT_COMPACT,
				      EROFS_INODE_FLAT_INLINE), 0x4);
	CHECK_EQ_U(EROFS_INODE_FORMAT(EROFS_INODE_LAYOUT_EXTENDED,
				      EROFS_INODE_FLAT_INLINE), 0x5);
	CHECK_EQ_U(EROFS_INODE_FORMAT(EROFS_INODE_LAYOUT_COMPACT,
				      EROFS_INODE_CHUNK_BASED), 0x8);
	CHECK_EQ_U(erofs_xattr_ibody_size(0), 0);
	CHECK_EQ_U(erofs_xattr_ibody_size(2), 16);
	CHECK_EQ_U(EROFS_XATTR_ENTRY_SIZE(7, 5), 16);
	CHECK_EQ_U(EROFS_FT_SYMLINK, 7);
	return unit_done("format");
}
