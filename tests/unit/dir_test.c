// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Directory block packing: the bytes of a known small directory, block
 * breaks when an entry does not fit, and byte-wise name order.
 */
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <stdio.h>

#include "erofs/dir.h"
#include "erofs/erofs_fs.h"
#include "unit.h"

int main(void)
{
	/* the root directory of a one-file image: ".", "..", "hello.txt", "link" */
	static const unsigned char expect[64] = {
		0x24, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x00, 0x02, 0x00,
		0x24, 0, 0, 0, 0, 0, 0, 0, 0x31, 0x00, 0x02, 0x00,
		0x27, 0, 0, 0, 0, 0, 0, 0, 0x33, 0x00, 0x01, 0x00,
		0x29, 0, 0, 0, 0, 0, 0, 0, 0x3c, 0x00, 0x07, 0x00,
		'.', '.', '.', 'h', 'e', 'l', 'l', 'o', '.', 't', 'x', 't',
		'l', 'i', 'n', 'k',
	};
	struct erofs_dirent_info ents[] = {
		{ ".", 36, 1, EROFS_FT_DIR },
		{ "..", 36, 2, EROFS_FT_DIR },
		{ "hello.txt", 39, 9, EROFS_FT_REG_FILE },
		{ "link", 41, 4, EROFS_FT_SYMLINK },
	};
	unsigned char buf[4096];
	struct erofs_dirent_info *many;
	char (*names)[16];
	unsigned char *big;
	uint64_t size;
	unsigned int i, n = 1000;

	CHECK_EQ_U(erofs_dir_pack_size(ents, 4, 4096), 64);
	memset(buf, 0, sizeof(buf));
	erofs_dir_pack(ents, 4, 4096, buf);
	CHECK(!memcmp(buf, expect, sizeof(expect)));
	CHECK(buf[64] == 0);

	/* 1000 entries of 12 + 10 bytes into 512-byte blocks: 23 per block */
	many = calloc(n, sizeof(*many));
	names = calloc(n, sizeof(*names));
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "f%09u", i);
		many[i] = (struct erofs_dirent_info){ names[i], 100 + i, 10,
						      EROFS_FT_REG_FILE };
	}
	size = erofs_dir_pack_size(many, n, 512);
	CHECK_EQ_U(size, (n / 23) * 512 + (n % 23) * 22);
	big = calloc(1, (size + 511) / 512 * 512);
	erofs_dir_pack(many, n, 512, big);
	for (i = 0; i < (size + 511) / 512; i++) {
		const struct erofs_dirent *de = (void *)(big + i * 512);
		unsigned int cnt = le16toh(de->nameoff) / 12;

		CHECK(cnt == (i < n / 23 ? 23u : n % 23));
		CHECK_EQ_U(le64toh(de->nid), 100 + i * 23);
		CHECK(!memcmp(big + i * 512 + le16toh(de->nameoff),
			      names[i * 23], 10));
	}
	free(big);
	free(names);
	free(many);

	/* byte order: '!' and '-' sort before '.', high bytes after ASCII */
	CHECK(erofs_name_cmp("!x", 2, ".", 1) < 0);
	CHECK(erofs_name_cmp(".", 1, "..", 2) < 0);
	CHECK(erofs_name_cmp("..", 2, ".a", 2) < 0);
	CHECK(erofs_name_cmp("a", 1, "\xc3\xa9", 2) < 0);
	CHECK(erofs_name_cmp("ab", 2, "abc", 3) < 0);
	CHECK(erofs_name_cmp("abc", 3, "abc", 3) == 0);
	return unit_done("dir");
}
