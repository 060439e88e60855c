#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Sparse source files keep their holes (chunk-based layout):
#   - a 10 GiB file with 1 MiB of data in four 256 KiB extents gives an
#     image under 2 MiB, and reads back equal (cmp over all 10 GiB);
#   - a fully sparse 5 GiB file gives a tiny image;
#   - files with a hole at the start, at the end, and an unaligned hole
#     read back equal;
#   - erofs-utils 1.5 accepts the images.

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
find_treecmp

# write_at FILE OFFSET LENGTH SEED: LENGTH bytes of pseudo-random data
write_at() {
	openssl enc -aes-128-ctr -nosalt -pass "pass:$4" -pbkdf2 </dev/zero 2>/dev/null |
		head -c "$3" |
		dd of="$1" bs=64K oflag=seek_bytes seek="$2" conv=notrunc status=none
}
require_cmd openssl

GiB=$((1 << 30))
KiB256=$((256 << 10))

# image_for NAME MAXBYTES FILE...: an image holding only these files
image_for() {
	local name=$1 max=$2 f size
	shift 2
	rm -rf "${WORK:?}/$name"
	mkdir -p "$WORK/$name"
	for f in "$@"; do
		cp --sparse=always -p "$WORK/files/$f" "$WORK/$name/$f" ||
			die "cannot copy $f"
	done
	touch -d @1600000000 "$WORK/$name"
	if ! build "$WORK/$name.img" "$WORK/$name"; then
		fail "$name: mkfs.erofs succeeds"
		return 1
	fi
	pass "$name: mkfs.erofs succeeds"
	size=$(stat -c %s "$WORK/$name.img")
	if [ "$size" -le "$max" ]; then
		pass "$name: image is $size bytes (at most $max)"
	else
		fail "$name: image is $size bytes, more than $max: holes were not kept"
	fi
	check_image "$WORK/$name.img" "$name"
	check_extract "$WORK/$name.img" "$WORK/$name" "$name"
	if ! mount_image "$WORK/$name.img" "$WORK/$name.mnt"; then
		fail "$name: the image mounts"
		return 1
	fi
	compare_tree "$WORK/$name" "$WORK/$name.mnt" "$name: mounted tree equals the source"
	return 0
}

files=$WORK/files
mkdir -p "$files"

log "--- a 10 GiB file with 1 MiB of data"
truncate -s $((10 * GiB)) "$files/ten-gib"
write_at "$files/ten-gib" 0 $KiB256 a
write_at "$files/ten-gib" $((3 * GiB + 16 * KiB256)) $KiB256 b
write_at "$files/ten-gib" $((7 * GiB + 4 * KiB256)) $KiB256 c
write_at "$files/ten-gib" $((10 * GiB - KiB256)) $KiB256 d
log "source uses $(du -k "$files/ten-gib" | cut -f1) KiB on disk"
if image_for ten "$((2 << 20))" ten-gib; then
	check "ten: st_size is 10 GiB" [ "$(stat -c %s "$WORK/ten.mnt/ten-gib")" = $((10 * GiB)) ]
	log "reading 10 GiB back with cmp"
	if cmp "$files/ten-gib" "$WORK/ten.mnt/ten-gib"; then
		pass "ten: cmp finds the 10 GiB file equal"
	else
		fail "ten: cmp finds the 10 GiB file different"
	fi
	umount_image "$WORK/ten.mnt"
fi

log "--- a fully sparse 5 GiB file"
truncate -s $((5 * GiB)) "$files/all-hole"
truncate -s 100000 "$files/small-hole"
if image_for hole "$((256 << 10))" all-hole small-hole; then
	check "hole: st_size is 5 GiB" [ "$(stat -c %s "$WORK/hole.mnt/all-hole")" = $((5 * GiB)) ]
	check "hole: the small all-hole file is 100000 zero bytes" \
		cmp -s "$WORK/hole.mnt/small-hole" <(head -c 100000 /dev/zero)
	umount_image "$WORK/hole.mnt"
fi

log "--- holes at the start, at the end, unaligned"
truncate -s $((GiB + 5000)) "$files/hole-at-start"
write_at "$files/hole-at-start" "$GiB" 5000 e
write_at "$files/hole-at-end" 0 5000 f
truncate -s "$GiB" "$files/hole-at-end"
write_at "$files/holes-unaligned" 0 1000 g
write_at "$files/holes-unaligned" $((64 << 20 | 1)) 3000 h
write_at "$files/holes-unaligned" $((300 << 20)) 1 i
truncate -s $(((300 << 20) + 77777)) "$files/holes-unaligned"
if image_for edges "$((1 << 20))" hole-at-start hole-at-end holes-unaligned; then
	for f in hole-at-start hole-at-end holes-unaligned; do
		if cmp "$files/$f" "$WORK/edges.mnt/$f"; then
			pass "edges: cmp finds $f equal"
		else
			fail "edges: cmp finds $f different"
		fi
	done
	umount_image "$WORK/edges.mnt"
fi

log "--- the smaller ones together, with 1024-byte blocks"
mkdir -p "$WORK/allsrc"
for f in all-hole small-hole hole-at-start hole-at-end holes-unaligned; do
	cp --sparse=always -p "$files/$f" "$WORK/allsrc/$f" || die "cannot copy $f"
done
if build -b 1024 "$WORK/all.img" "$WORK/allsrc"; then
	pass "all: mkfs.erofs -b 1024 succeeds"
	size=$(stat -c %s "$WORK/all.img")
	check "all: image is $size bytes (at most 2 MiB)" [ "$size" -le $((2 << 20)) ]
	if mount_image "$WORK/all.img" "$WORK/all.mnt"; then
		compare_tree "$WORK/allsrc" "$WORK/all.mnt" "all: mounted tree equals the source"
		umount_image "$WORK/all.mnt"
	else
		fail "all: the image mounts"
	fi
else
	fail "all: mkfs.erofs -b 1024 succeeds"
fi

finish
