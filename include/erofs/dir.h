/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * Directory block packing.  Entries (including "." and "..") are given in
 * strictly increasing byte order; each block holds its dirents followed by
 * their names, and an entry never spans two blocks.  The size is what goes
 * into i_size: full blocks plus the bytes used in the last one.
 */
#ifndef EROFS_DIR_H
#define EROFS_DIR_H

#include <stddef.h>
#include <stdint.h>

struct erofs_dirent_info {
	const char *name;
	uint64_t nid;
	uint8_t namelen;
	uint8_t ftype;
};

int erofs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
uint64_t erofs_dir_pack_size(const struct erofs_dirent_info *ents,
			     size_t n, uint32_t bs);
/* buf holds round_up(size, bs) bytes and is zeroed by the caller */
void erofs_dir_pack(const struct erofs_dirent_info *ents, size_t n,
		    uint32_t bs, uint8_t *buf);

#endif
