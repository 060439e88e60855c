// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Compact lcluster indexes: the bytes of the worked example of the format
 * notes (a 70000-byte file in two 2-block LZ4 pclusters of 8 KiB, first
 * at block 1, compact inode with no xattrs), written from its extents.
 */
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "unit.h"

int main(void)
{
	static const unsigned char expect[8 + 72] = {
		0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,	/* header */
		0x00, 0x10, 0x02, 0x28, 0x01, 0x00, 0x00, 0x00,
		0x02, 0x20, 0x07, 0x20, 0x03, 0x00, 0x00, 0x00,
		0x04, 0x20, 0x05, 0x20, 0x03, 0x00, 0x00, 0x00,
		0x06, 0x20, 0x03, 0x20, 0x03, 0x00, 0x00, 0x00,
		0x08, 0x20, 0x01, 0x20, 0x03, 0x00, 0x00, 0x00,
		0x68, 0x15, 0x02, 0x28, 0x03, 0x00, 0x00, 0x00,
		0x02, 0x20, 0x04, 0x20, 0x05, 0x00, 0x00, 0x00,
		0x04, 0x20, 0x02, 0x20, 0x05, 0x00, 0x00, 0x00,
		0x06, 0x20, 0x70, 0x01, 0x05, 0x00, 0x00, 0x00,
	};
	struct erofs_zext ext[] = {
		{ 42344, 2, Z_EROFS_LCLUSTER_TYPE_HEAD1 },
		{ 70000 - 42344, 2, Z_EROFS_LCLUSTER_TYPE_HEAD1 },
	};
	struct erofs_zseg seg = { .spool_off = 0, .blocks = 4, .ext = ext,
				  .nr_ext = 2 };
	struct erofs_zinode zi = { .seg = &seg, .nr_seg = 1, .blocks = 4 };
	struct erofs_inode inode = { .mode = 0100644, .size = 70000,
				     .startblk = 1, .zi = &zi };
	struct erofs_mkfs_opts o;
	struct erofs_build b;
	unsigned char buf[256];
	uint32_t len;

	erofs_mkfs_opts_init(&o);
	o.compr_algo = EROFS_COMPR_LZ4HC;
	o.pclustersize = 8192;
	memset(&b, 0, sizeof(b));
	b.opts = &o;
	b.blkszbits = 12;
	b.bs = 4096;
	if (erofs_compress_setup(&b)) {
		printf("zindex_test: skipped, no lz4 in this build\n");
		return 77;
	}
	len = erofs_z_plan_inode(&b, &inode, 32);
	CHECK_EQ_U(inode.datalayout, EROFS_INODE_COMPRESSED_COMPACT);
	CHECK_EQ_U(len, sizeof(expect));
	memset(buf, 0xAA, sizeof(buf));
	CHECK_EQ_U(erofs_z_write_index(&b, &inode, buf), 0);
	CHECK(!memcmp(buf, expect, sizeof(expect)));
	for (len = 0; len < sizeof(expect); len++)
		if (buf[len] != expect[len])
			fprintf(stderr, "byte %u: %#x, expected %#x\n", len,
				buf[len], expect[len]);

	/* the same file with full indexes: 8 reserved bytes, 18 records */
	o.compr_full_indexes = true;
	inode.zi = NULL;
	erofs_compress_free(&b);
	CHECK_EQ_U(erofs_compress_setup(&b), 0);
	inode.zi = &zi;
	len = erofs_z_plan_inode(&b, &inode, 32);
	CHECK_EQ_U(inode.datalayout, EROFS_INODE_COMPRESSED_FULL);
	CHECK_EQ_U(len, 16 + 18 * 8);
	CHECK_EQ_U(erofs_z_write_index(&b, &inode, buf), 0);
	CHECK_EQ_U(buf[4], 0x02);			/* BIG_PCLUSTER_1 only */
	CHECK_EQ_U(buf[16 + 0], 1);			/* lcn 0: HEAD1 ... */
	CHECK_EQ_U(buf[16 + 4], 1);			/* ... at block 1 */
	CHECK_EQ_U(buf[16 + 8 + 4] | buf[16 + 8 + 5] << 8, 0x802);	/* CBLKCNT 2 */
	CHECK_EQ_U(buf[16 + 80], 1);			/* lcn 10: HEAD1 ... */
	CHECK_EQ_U(buf[16 + 82] | buf[16 + 83] << 8, 1384);	/* ... at 1384 */
	CHECK_EQ_U(buf[16 + 84], 3);			/* ... block 3 */
	CHECK_EQ_U(buf[16 + 136], 0);			/* lcn 17: PLAIN, EOF */
	CHECK_EQ_U(buf[16 + 138] | buf[16 + 139] << 8, 368);
	erofs_compress_free(&b);
	return unit_done("zindex_test");
}
