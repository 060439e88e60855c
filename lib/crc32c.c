// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * CRC-32C over the superblock block.  Only one block per image is hashed, so
 * a nibble table kept on the stack is fast enough and keeps the library free
 * of mutable globals.
 */
#include "erofs/crc32c.h"

#define CRC32C_POLY	0x82F63B78u

static const uint32_t crc32c_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
	0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
	0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t erofs_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
	}
	return crc;
}
