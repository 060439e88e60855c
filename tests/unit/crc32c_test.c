// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * CRC-32C vectors: the standard check value, the kernel's superblock seed,
 * and the checksum of a real superblock block.
 */
#include <string.h>

#include "erofs/crc32c.h"
#include "unit.h"

int main(void)
{
	static const unsigned char head[8] = { 0xE2, 0xE1, 0xF5, 0xE0 };
	unsigned char blk[3072];
	uint32_t crc;

	/* standard CRC-32C("123456789") is 0xE3069283 after inversion */
	CHECK_EQ_U(~erofs_crc32c(~0u, "123456789", 9), 0xE3069283);
	CHECK_EQ_U(erofs_crc32c(~0u, "", 0), 0xFFFFFFFF);
	/* the kernel starts from the state after magic + zeroed checksum */
	CHECK_EQ_U(erofs_crc32c(~0u, head, sizeof(head)), 0x5045B54A);

	/* split updates equal one pass */
	memset(blk, 0, sizeof(blk));
	for (unsigned int i = 0; i < sizeof(blk); i++)
		blk[i] = (unsigned char)(i * 131 + 7);
	crc = erofs_crc32c(~0u, blk, 1000);
	crc = erofs_crc32c(crc, blk + 1000, sizeof(blk) - 1000);
	CHECK_EQ_U(crc, erofs_crc32c(~0u, blk, sizeof(blk)));
	/* 32 zero bytes: a known CRC-32C value (0x8A9136AA) */
	memset(blk, 0, 32);
	CHECK_EQ_U(~erofs_crc32c(~0u, blk, 32), 0x8A9136AA);
	return unit_done("crc32c");
}
