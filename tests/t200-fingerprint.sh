#!/bin/bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
#
# Per-file fingerprints (--fingerprint, --fingerprint-name,
# --xattr-inode-digest):
#   - with a visible name (trusted.erofs.fingerprint) the kernel shows on
#     every regular file with data "sha256:" + the digest sha256sum gives,
#     and nothing on empty files, directories, symlinks and devices;
#   - the default hidden name: the superblock's compat bit 0x20, prefix id
#     (byte 1129) and the prefix record at xattr_prefix_start are exact;
#   - equal files in two trees get equal values, a moved file keeps its value;
#   - sparse files are hashed with their holes as zeros;
#   - other algorithms carry their name as the tag;
#   - the image is the same for 1 and 4 workers;
#   - publisher maps (hex and quoted values, quoted paths), values taken
#     from a source xattr, --fingerprint-strict, and each map error;
#   - the JSON manifest: schema, the image's sha256, files, fingerprints;
#   - our fsck.erofs --verify-fingerprints passes clean images, names a
#     file whose data block was changed, and refuses an image without any;
#   - bad values are refused.

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd getfattr
require_cmd sha256sum
require_cmd xxd

src=$WORK/src
mkdir -p "$src/dir" "$src/other"
printf 'hello\n' >"$src/hello"
head -c 4096 /dev/zero | tr '\0' A >"$src/a4k"
: >"$src/empty"
head -c 300000 /dev/urandom >"$src/dir/random"
cp "$src/dir/random" "$src/other/copy"
truncate -s 64M "$src/sparse"
printf 'data in the middle' | dd of="$src/sparse" bs=1 seek=$((32 << 20)) conv=notrunc status=none
ln -s hello "$src/link"
ln "$src/hello" "$src/dir/hardlink"
mkfifo "$src/fifo"
mknod "$src/chr" c 1 3
# a source xattr of the fingerprint's own name is replaced, not doubled
setfattr -n trusted.erofs.fingerprint -v stale "$src/a4k"

NAME=trusted.erofs.fingerprint
expect_value() { # FILE: "sha256:" + digest, as hex
	printf 'sha256:' | xxd -p
	sha256sum <"$1" | cut -c1-64
}
value_of() { # FILE NAME
	getfattr -h -n "$2" --only-values "$1" 2>/dev/null | xxd -p | tr -d '\n'
}

log "--- a visible name: the kernel shows the values"
img=$WORK/visible.img mnt=$WORK/visible.mnt
if build --fingerprint --fingerprint-name=$NAME -T 1700000000 "$img" "$src" &&
	mount_image "$img" "$mnt"; then
	for f in hello a4k dir/random other/copy sparse dir/hardlink; do
		want=$(expect_value "$src/$f" | tr -d '\n')
		got=$(value_of "$mnt/$f" $NAME)
		check "$f: fingerprint is sha256: + sha256sum of the content" [ "$got" = "$want" ]
	done
	check "equal files in different places have equal values" \
		[ "$(value_of "$mnt/dir/random" $NAME)" = "$(value_of "$mnt/other/copy" $NAME)" ]
	check "different files have different values" \
		[ "$(value_of "$mnt/hello" $NAME)" != "$(value_of "$mnt/a4k" $NAME)" ]
	for f in empty dir link fifo chr; do
		check "$f carries no fingerprint" [ -z "$(value_of "$mnt/$f" $NAME)" ]
	done
	check "the value is 39 bytes" [ "$(getfattr -h -n $NAME --only-values "$mnt/hello" | wc -c)" -eq 39 ]
	check "content reads back" cmp -s "$mnt/sparse" "$src/sparse"
	umount_image "$mnt"
	check "compat bit ISHARE_XATTRS is set" [ $(($(sb_u32 "$img" 8) & 0x20)) -ne 0 ]
else
	fail "visible-name image builds and mounts"
fi

log "--- the default, hidden name"
img=$WORK/hidden.img mnt=$WORK/hidden.mnt
if build --fingerprint -T 1700000000 -U clear "$img" "$src"; then
	check "compat has ISHARE_XATTRS (0x20)" [ $(($(sb_u32 "$img" 8) & 0x20)) -ne 0 ]
	check "incompat has XATTR_PREFIXES (0x40)" [ $(($(sb_incompat "$img") & 0x40)) -ne 0 ]
	check "ishare_xattr_prefix_id (byte 1129) is 0" [ "$(sb_u8 "$img" 105)" -eq 0 ]
	check "one long prefix or more" [ "$(sb_u8 "$img" $((0x5B)))" -ge 1 ]
	start=$(($(sb_u32 "$img" $((0x5C))) * 4))
	rec=$(od -An -v -t x1 -j "$start" -N 24 "$img" | tr -d ' \n')
	want="1500""00"$(printf 'erofs.fingerprint.v1' | xxd -p)"00"
	check "prefix record: length 21, base index 0, erofs.fingerprint.v1, pad" [ "$rec" = "$want" ]
	if mount_image "$img" "$mnt"; then
		check "hidden: listxattr shows nothing on a fingerprinted file" \
			[ -z "$(getfattr -h -d -m - "$mnt/hello" 2>/dev/null)" ]
		check "hidden: content reads back" cmp -s "$mnt/dir/random" "$src/dir/random"
		umount_image "$mnt"
	else
		fail "hidden-name image mounts"
	fi
	run_mkfs --xattr-inode-digest -T 1700000000 -U clear "$WORK/alias.img" "$src"
	check "--xattr-inode-digest gives the same image as --fingerprint" cmp -s "$img" "$WORK/alias.img"
	run_mkfs --fingerprint --workers=1 -T 1700000000 -U clear "$WORK/w1.img" "$src"
	run_mkfs --fingerprint --workers=4 -T 1700000000 -U clear "$WORK/w4.img" "$src"
	check "the same image for 1 and 4 workers" cmp -s "$WORK/w1.img" "$WORK/w4.img"
	check "the same image as the first build" cmp -s "$WORK/w1.img" "$img"
else
	fail "hidden-name image builds"
fi

log "--- another algorithm"
img=$WORK/sha512.img mnt=$WORK/sha512.mnt
if build --fingerprint=sha512 --fingerprint-name=user.fp "$img" "$src" &&
	mount_image "$img" "$mnt"; then
	want=$( (printf 'sha512:' | xxd -p; sha512sum <"$src/hello" | cut -c1-128) | tr -d '\n')
	check "sha512: tag and digest" [ "$(value_of "$mnt/hello" user.fp)" = "$want" ]
	umount_image "$mnt"
else
	fail "sha512 image builds and mounts"
fi

log "--- publisher-supplied values: a map and a source xattr"
mkdir -p "$src/with space"
printf 'x\n' >"$src/with space/file"
setfattr -n user.pubfp -v "from-the-xattr" "$src/dir/random"
cat >"$WORK/map" <<'MAP'
# comments and blank lines are skipped

hello hex:0102030405
"with space/file" "serial \x41BC"
/other/copy "build-id:1234"
MAP
img=$WORK/map.img mnt=$WORK/map.mnt
if build --fingerprint-name=user.fp --fingerprint-map="$WORK/map" \
	--fingerprint-from-xattr=user.pubfp --manifest="$WORK/manifest.json" \
	-T 1700000000 "$img" "$src" && mount_image "$img" "$mnt"; then
	check "map: hex value" [ "$(value_of "$mnt/hello" user.fp)" = "0102030405" ]
	check "map: hard link shares the value" [ "$(value_of "$mnt/dir/hardlink" user.fp)" = "0102030405" ]
	check "map: quoted path and value with an escape" \
		[ "$(value_of "$mnt/with space/file" user.fp)" = "$(printf 'serial ABC' | xxd -p)" ]
	check "map: a leading / is the image root" \
		[ "$(value_of "$mnt/other/copy" user.fp)" = "$(printf 'build-id:1234' | xxd -p)" ]
	check "xattr source: value taken from user.pubfp" \
		[ "$(value_of "$mnt/dir/random" user.fp)" = "$(printf 'from-the-xattr' | xxd -p)" ]
	check "xattr source: the source xattr itself is kept" \
		[ "$(getfattr -n user.pubfp --only-values "$mnt/dir/random")" = "from-the-xattr" ]
	want=$(expect_value "$src/a4k" | tr -d '\n')
	check "files the map misses get computed values" [ "$(value_of "$mnt/a4k" user.fp)" = "$want" ]
	umount_image "$mnt"
	if python3 - "$WORK/manifest.json" "$img" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
img = open(sys.argv[2], 'rb').read()
assert m["schema"] == "erofs-forge-manifest/1"
assert m["image"]["sha256"] == hashlib.sha256(img).hexdigest()
assert m["image"]["size"] == len(img)
assert "ishare_xattrs" in m["image"]["features"]
assert m["image"]["fingerprint"] == {"name": "user.fp", "algorithm": "sha256", "prefix_id": 0}
files = {f["path"]: f for f in m["files"]}
assert files["/"]["type"] == "directory"
assert files["/hello"]["fingerprint"] == "0102030405"
assert files["/hello"]["fingerprint_source"] == "map"
assert files["/dir/random"]["fingerprint_source"] == "xattr"
assert files["/a4k"]["fingerprint_source"] == "computed"
assert files["/link"]["type"] == "symlink" and files["/link"]["target"] == "hello"
assert files["/chr"]["rdev"] == "1:3"
assert "fingerprint" not in files["/empty"]
assert files["/hello"]["nid"] == files["/dir/hardlink"]["nid"]
paths = [f["path"] for f in m["files"]]
assert paths[0] == "/" and len(paths) == len(set(paths))
PY
	then pass "manifest: schema, image digest, files and fingerprints"
	else fail "manifest: schema, image digest, files and fingerprints"
	fi
else
	fail "map image builds and mounts"
fi
run_mkfs --fingerprint-map="$WORK/map" --fingerprint-strict "$WORK/strict.img" "$src"
check "--fingerprint-strict: a file without a value fails the build" [ "$MKFS_RC" -eq 1 ]
check "--fingerprint-strict: the message names a file" grep -q "no fingerprint supplied for '" "$WORK/mkfs.err"
check "--fingerprint-strict: no image" [ ! -e "$WORK/strict.img" ]

bad_map() { # DESC CONTENT MESSAGE
	printf '%b' "$2" >"$WORK/bad.map"
	run_mkfs --fingerprint-map="$WORK/bad.map" --manifest="$WORK/bad.json" "$WORK/bad.img" "$src"
	check "map with $1: exit 1" [ "$MKFS_RC" -eq 1 ]
	check "map with $1: the message names the line" grep -q "line .*$3" "$WORK/mkfs.err"
	check "map with $1: no image and no manifest" [ ! -e "$WORK/bad.img" ] && [ ! -e "$WORK/bad.json" ]
}
bad_map "a path the image lacks" 'nothere hex:00\n' "no such path"
bad_map "a duplicated path" 'hello hex:01\nhello hex:02\n' "line 1"
bad_map "an empty value" 'hello ""\n' "empty value"
bad_map "a value over the block size" "hello hex:$(head -c 4097 /dev/zero | xxd -p | tr -d '\n')\n" "longer than the block size"
bad_map "a directory" 'dir hex:01\n' "not a regular file"
bad_map "no value" 'hello\n' "missing value"
bad_map "odd hex" 'hello hex:123\n' "odd number"

log "--- verification by our fsck.erofs"
if [ -x "$OUR_FSCK" ]; then
	img=$WORK/verify.img
	if build --fingerprint-map="$WORK/map" -T 1700000000 "$img" "$src"; then
		"$top_builddir/dump/dump.erofs" -s "$img" >"$WORK/d.out"
		check "dump -s: the fingerprint name and prefix id" \
			grep -qx 'fingerprint_name: "erofs.fingerprint.v1"' "$WORK/d.out" &&
			grep -qx 'ishare_xattr_prefix_id: 0' "$WORK/d.out"
		"$top_builddir/dump/dump.erofs" --path=/a4k "$img" >"$WORK/d.out"
		check "dump --path: the file's fingerprint value" \
			grep -q "^xattr: erofs.fingerprint.v1 = 0x$(expect_value "$src/a4k" | tr -d '\n')" "$WORK/d.out"
		"$OUR_FSCK" --verify-fingerprints "$img" >"$WORK/v.out" 2>&1
		check "verify: a clean image passes" [ $? -eq 0 ]
		check "verify: map values are reported as publisher-supplied" \
			grep -q "publisher-supplied" "$WORK/v.out"
		check "verify: no computed value differs" grep -q "(.* match, 0 do not)" "$WORK/v.out"
		# the data block of dir/random, from our dump.erofs
		blk=$("$top_builddir/dump/dump.erofs" --path=/dir/random "$img" |
			sed -n 's/^start_block: //p')
		cp "$img" "$WORK/tampered.img"
		printf 'X' | dd of="$WORK/tampered.img" bs=1 seek=$((blk * 4096 + 100)) \
			conv=notrunc status=none
		"$OUR_FSCK" --verify-fingerprints "$WORK/tampered.img" >"$WORK/v.out" 2>&1
		check "verify: a changed data block fails (exit 1)" [ $? -eq 1 ]
		check "verify: the message names the file" \
			grep -q "fingerprint of '/dir/random'" "$WORK/v.out"
		"$OUR_FSCK" --xattr-inode-digest "$WORK/tampered.img" >/dev/null 2>&1
		check "verify: --xattr-inode-digest is the same check" [ $? -eq 1 ]
		run_mkfs "$WORK/plain.img" "$src"
		"$OUR_FSCK" --verify-fingerprints "$WORK/plain.img" >"$WORK/v.out" 2>&1
		check "verify: an image without fingerprints exits 1" [ $? -eq 1 ]
		check "verify: ... saying so" grep -q "no fingerprints" "$WORK/v.out"
	else
		fail "verification image builds"
	fi
else
	fail "our fsck.erofs is built ($OUR_FSCK)"
fi

log "--- bad values"
for args in "--fingerprint=md5" "--fingerprint=" "--fingerprint-name=" "--xattr-inode-digest="; do
	run_mkfs $args "$WORK/bad.img" "$src"
	check "$args exits 2" [ "$MKFS_RC" -eq 2 ]
	check "$args leaves no image" [ ! -e "$WORK/bad.img" ]
done

finish
