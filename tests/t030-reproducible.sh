#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Reproducibility: with -T and -U pinned, the image depends only on the
# tree's contents, never on inode numbers, creation order, directory hash
# order, the number of workers or the run.  Images are compared with cmp.
#
#   1. the same tree built twice
#   2. the same contents created in reverse order (gen-torture.sh --reverse)
#   3. a tree and its `cp -a` copy (cp cannot copy paths longer than
#      PATH_MAX, so this pair is generated without the deep/ directory)
#   4. --workers=1 against --workers=4
#   5. SOURCE_DATE_EPOCH instead of -T, twice and across trees 1 and 2;
#      mounted, mtimes newer than the epoch read back clamped to it
#   6. the -T image mounted: every mtime equals T

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd python3
find_treecmp

T=1700000000
UUID=01234567-89ab-cdef-0123-456789abcdef
PIN="-T $T -U $UUID"

# same_image DESC IMG1 IMG2
same_image() {
	if [ ! -f "$2" ] || [ ! -f "$3" ]; then
		fail "$1 (an image is missing)"
	elif cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1"
		cmp "$2" "$3" | sed 's/^/    /'
		log "    sizes: $(stat -c %s "$2") and $(stat -c %s "$3")"
	fi
}

# mk IMG SRC [ARGS...]: a build that must succeed
mk() {
	local img=$1 src=$2
	shift 2
	build "$@" "$img" "$src" || fail "mkfs.erofs $* $(basename "$img") succeeds"
}

log "generating trees"
bash "$GEN_TORTURE" "$WORK/a" --small || die "gen-torture.sh failed"
bash "$GEN_TORTURE" "$WORK/b" --small --reverse || die "gen-torture.sh --reverse failed"
bash "$GEN_TORTURE" "$WORK/c" --small --no-deep || die "gen-torture.sh --no-deep failed"
cp -a "$WORK/c" "$WORK/d" || die "cp -a failed"

# The copies must really be equal, or a difference below would be the
# generator's or cp's fault rather than mkfs's.
compare_tree "$WORK/a" "$WORK/b" "trees created in opposite orders are equal"
compare_tree "$WORK/c" "$WORK/d" "cp -a copies the tree faithfully"

log "--- pinned -T/-U"
# shellcheck disable=SC2086
mk "$WORK/a1.img" "$WORK/a" $PIN
# shellcheck disable=SC2086
mk "$WORK/a2.img" "$WORK/a" $PIN
same_image "the same tree built twice gives the same image" "$WORK/a1.img" "$WORK/a2.img"

# shellcheck disable=SC2086
mk "$WORK/b.img" "$WORK/b" $PIN
same_image "creation order does not matter" "$WORK/a1.img" "$WORK/b.img"

# shellcheck disable=SC2086
mk "$WORK/c.img" "$WORK/c" $PIN
# shellcheck disable=SC2086
mk "$WORK/d.img" "$WORK/d" $PIN
same_image "a cp -a copy gives the same image" "$WORK/c.img" "$WORK/d.img"

log "--- workers"
# shellcheck disable=SC2086
mk "$WORK/w1.img" "$WORK/a" $PIN --workers=1
# shellcheck disable=SC2086
mk "$WORK/w4.img" "$WORK/a" $PIN --workers=4
same_image "--workers=1 and --workers=4 give the same image" "$WORK/w1.img" "$WORK/w4.img"
same_image "--workers does not change the default image" "$WORK/a1.img" "$WORK/w4.img"

log "--- the -T image"
if mount_image "$WORK/a1.img" "$WORK/mnt"; then
	compare_tree "$WORK/a" "$WORK/mnt" "-T $T: every mtime reads back as $T" --mtime=$T
	umount_image "$WORK/mnt"
else
	fail "the -T image mounts"
fi
epoch=$(sb_build_time "$WORK/a1.img")
if [ "$epoch" = "$T" ]; then
	pass "-T $T: the superblock build time is $T"
else
	fail "-T $T: the superblock build time is $epoch, expected $T"
fi

log "--- SOURCE_DATE_EPOCH"
SOURCE_DATE_EPOCH=$T build -U $UUID "$WORK/s1.img" "$WORK/a" ||
	fail "SOURCE_DATE_EPOCH build succeeds"
SOURCE_DATE_EPOCH=$T build -U $UUID "$WORK/s2.img" "$WORK/a" ||
	fail "SOURCE_DATE_EPOCH build succeeds"
SOURCE_DATE_EPOCH=$T build -U $UUID "$WORK/s3.img" "$WORK/b" ||
	fail "SOURCE_DATE_EPOCH build succeeds"
same_image "SOURCE_DATE_EPOCH: the same tree twice gives the same image" "$WORK/s1.img" "$WORK/s2.img"
same_image "SOURCE_DATE_EPOCH: creation order does not matter" "$WORK/s1.img" "$WORK/s3.img"
if mount_image "$WORK/s1.img" "$WORK/mnt"; then
	compare_tree "$WORK/a" "$WORK/mnt" \
		"SOURCE_DATE_EPOCH=$T: older mtimes kept, newer ones clamped to $T" \
		--clamp-mtime=$T
	umount_image "$WORK/mnt"
else
	fail "the SOURCE_DATE_EPOCH image mounts"
fi
check_image "$WORK/s1.img" "SOURCE_DATE_EPOCH image"
# older mtimes as erofs-utils 1.5 (which reads compact inodes the way
# kernels before 6.15 do) sees them; the clamped ones are checked below
deb_check_mtimes "$WORK/s1.img" "$WORK/a" README times/epoch times/before-1970-ns \
	times/year-1902 times/same-second-b
if deb_can_read "$WORK/s1.img"; then
	for p in times/year-2100 times/year-2400 times/recent-ns times/y2038; do
		got=$(TZ=UTC "$DEB_DUMP" --path="/$p" "$WORK/s1.img" 2>&1 |
			sed -n 's/^Timestamp: *//p' | cut -c1-29)
		check "erofs-utils 1.5 reads the clamped mtime of $p as 2023-11-14 22:13:20.000000000 (got '$got')" \
			[ "$got" = "2023-11-14 22:13:20.000000000" ]
	done
fi

finish
