/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Xattr naming rules shared by the writer's modules and the unit tests: how
 * a full name splits into a short prefix index and a suffix, and which bit of
 * the per-inode name filter a name sets.
 */
#ifndef EROFS_XATTR_H
#define EROFS_XATTR_H

#include <stddef.h>
#include <stdint.h>

/* returns the prefix length matched and sets *index, or 0 if none */
size_t erofs_xattr_split(const char *name, size_t len, uint8_t *index);
/* bit number (0..31) of the name filter for a name below short index */
unsigned int erofs_xattr_filter_bit(uint8_t index, const char *s, size_t len);

#endif
