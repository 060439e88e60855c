#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Opt-in (EROFS_TEST_LARGE=1): a regular file of 4 GiB + 4 KiB + 1 byte with
# real data everywhere (not sparse), so that its size and block addresses
# do not fit 32 bits in every form.  The image mounts and the file reads
# back equal (cmp).  Needs about 10 GB of free space under TMPDIR and a
# minute or two; that is why it does not run by default.

. "$(dirname "$0")/lib.sh"

[ "${EROFS_TEST_LARGE:-0}" = 1 ] ||
	skip_optin "set EROFS_TEST_LARGE=1 to run (writes about 10 GB)"
require_mount
require_mkfs
require_cmd openssl
find_treecmp

size=$(((4 << 30) + 4096 + 1))
avail=$(df --output=avail -k "$WORK" | tail -n 1 | tr -d ' ')
[ "$avail" -gt $((11 << 20)) ] || skip_optin "needs 11 GiB free under $WORK"

mkdir -p "$WORK/src"
openssl enc -aes-128-ctr -nosalt -pass pass:large -pbkdf2 </dev/zero 2>/dev/null |
	head -c "$size" >"$WORK/src/large"
echo small >"$WORK/src/small"
check "the source file has $size bytes" [ "$(stat -c %s "$WORK/src/large")" = "$size" ]

if build "$WORK/large.img" "$WORK/src"; then
	pass "mkfs.erofs succeeds"
	check_image "$WORK/large.img" "large"
	if mount_image "$WORK/large.img" "$WORK/mnt"; then
		check "st_size reads back as $size" [ "$(stat -c %s "$WORK/mnt/large")" = "$size" ]
		if cmp "$WORK/src/large" "$WORK/mnt/large"; then
			pass "cmp finds the large file equal"
		else
			fail "cmp finds the large file different"
		fi
		compare_tree "$WORK/src" "$WORK/mnt" "mounted tree equals the source"
		umount_image "$WORK/mnt"
	else
		fail "the image mounts"
	fi
else
	fail "mkfs.erofs succeeds"
fi

finish
