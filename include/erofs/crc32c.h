/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as EROFS uses it for
 * the superblock checksum: the caller passes the running state, and no final
 * inversion is applied.
 */
#ifndef EROFS_CRC32C_H
#define EROFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t erofs_crc32c(uint32_t crc, const void *data, size_t len);

#endif
