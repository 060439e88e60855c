/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Small helpers shared by every liberofs module: error pointers, rounding,
 * and the little-endian store/load helpers that serializers use.  In-memory
 * structures are host order; only the serialize and parse functions call
 * the helpers below.
 */
#ifndef EROFS_DEFS_H
#define EROFS_DEFS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef EUCLEAN
#define EUCLEAN 117
#endif
#define EFSCORRUPTED	EUCLEAN

/* pread until len bytes are in: 0, -ENODATA at the end of the file, or -errno */
int erofs_pread_full(int fd, void *buf, size_t len, uint64_t off);

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE((unsigned long)ptr);
}

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)

static inline uint16_t cpu_to_le16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return v;
#else
	return __builtin_bswap16(v);
#endif
}

static inline uint32_t cpu_to_le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return v;
#else
	return __builtin_bswap32(v);
#endif
}

static inline uint64_t cpu_to_le64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return v;
#else
	return __builtin_bswap64(v);
#endif
}

#define le16_to_cpu(v)	cpu_to_le16(v)
#define le32_to_cpu(v)	cpu_to_le32(v)
#define le64_to_cpu(v)	cpu_to_le64(v)

#endif
