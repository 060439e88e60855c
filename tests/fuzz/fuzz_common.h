/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * What the fuzz targets share: the checksum switch on byte 0 of an input.
 */
#ifndef EROFS_FUZZ_COMMON_H
#define EROFS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "erofs/crc32c.h"
#include "erofs/erofs_fs.h"

/*
 * With the superblock checksum on, almost every mutation of the first block
 * would stop at the checksum.  Byte 0 is not part of the format, so it
 * steers: unless its low bits are all zero, the checksum is recomputed
 * before the image is opened, and mutations reach the structures behind it.
 */
static inline uint8_t *fuzz_fix_csum(const uint8_t *data, size_t size)
{
	uint32_t bs, len, crc;
	uint8_t *img;

	if (size < EROFS_SUPER_OFFSET + 128 || !(data[0] & 7) ||
	    !(data[EROFS_SUPER_OFFSET + 8] & EROFS_FEATURE_COMPAT_SB_CHKSUM))
		return NULL;
	bs = 1u << (data[EROFS_SUPER_OFFSET + 12] & 15);
	len = bs > EROFS_SUPER_OFFSET ? bs - EROFS_SUPER_OFFSET : bs;
	if (EROFS_SUPER_OFFSET + (size_t)len > size)
		return NULL;
	img = malloc(size);
	if (!img)
		return NULL;
	memcpy(img, data, size);
	memset(img + EROFS_SUPER_OFFSET + 4, 0, 4);
	crc = erofs_crc32c(~0u, img + EROFS_SUPER_OFFSET, len);
	img[EROFS_SUPER_OFFSET + 4] = crc;
	img[EROFS_SUPER_OFFSET + 5] = crc >> 8;
	img[EROFS_SUPER_OFFSET + 6] = crc >> 16;
	img[EROFS_SUPER_OFFSET + 7] = crc >> 24;
	return img;
}

#endif
