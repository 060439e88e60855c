#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Chunk-based files, deduplication and blob devices: --chunksize, -Ededupe,
# --blobdev, --blob-dir and --blob-dict.  Every image is mounted by the
# kernel (blobs attached read-only with losetup and named with device=) and
# compared with its source; our fsck.erofs checks each one, and erofs-utils
# 1.5 the ones it can read.

. "$(dirname "$0")/lib.sh"

require_mkfs
require_mount
find_treecmp
D=$top_builddir/dump/dump.erofs

# ------------------------------------------------------------ trees

# a tree whose duplicate chunks are known: A (1 MiB random), B = A,
# C = A with one byte changed in its 123rd block, R = one 4 KiB block
# repeated 64 times, and small, empty and sparse files
mk_dup_tree() {
	local t=$1
	mkdir -p "$t/sub/deeper"
	head -c 1048576 /dev/urandom >"$t/A"
	cp "$t/A" "$t/B"
	cp "$t/A" "$t/sub/C"
	printf 'Z' | dd of="$t/sub/C" bs=1 seek=$((122 * 4096 + 17)) conv=notrunc status=none
	head -c 4096 /dev/urandom >"$WORK/blk"
	for _ in $(seq 64); do cat "$WORK/blk"; done >"$t/R"
}

mk_mixed_tree() {
	local t=$1
	mk_dup_tree "$t"
	head -c 10000 /dev/urandom >"$t/sub/deeper/tail10000"
	head -c 4097 /dev/urandom >"$t/sub/b4097"
	printf 'x' >"$t/one"
	: >"$t/empty"
	truncate -s 20M "$t/sparse"
	printf 'island' | dd of="$t/sparse" bs=1 seek=$((7 * 1048576 + 5)) conv=notrunc status=none
	head -c 300000 "$t/A" >"$t/sub/prefix-of-A"
	ln -s A "$t/link"
	mkfifo "$t/fifo"
	ln "$t/one" "$t/sub/one-link"
	setfattr -n user.note -v chunked "$t/B" 2>/dev/null || true
	touch -d @1600000000 "$t/A" "$t/sub"
}

# data_blocks IMG: the data blocks our fsck counts in IMG
data_blocks() {
	"$OUR_FSCK" "$1" | sed -n 's/.*, \([0-9]*\) data blocks.*/\1/p'
}

# bytes_saved: what the last build's summary says deduplication saved
bytes_saved() {
	sed -n 's/.*; \([0-9]*\) bytes stored once.*/\1/p' "$WORK/mkfs.out"
}

SRC=$WORK/src
mk_mixed_tree "$SRC"

# ------------------------------------------------------------ in the image

for opts in "--chunksize=4096" "--chunksize=65536" "-Ededupe" \
	    "--chunksize=16384 -Ededupe" "-b 1024 --chunksize=1024 -Ededupe" \
	    "-Ededupe --fingerprint"; do
	name=chunks-$(printf '%s' "$opts" | tr -c 'A-Za-z0-9' '_')
	build_mount_compare "$name" "$SRC" "$opts" ""
done

# the expected block count: A once, C's changed block, R's one block
DUP=$WORK/dup
mk_dup_tree "$DUP"
if build -T 0 -Ededupe "$WORK/dup.img" "$DUP"; then
	blocks=$(data_blocks "$WORK/dup.img")
	check "dedupe: A, B = A, C (A but one byte) and R (one block 64 times) take 256 + 1 + 1 data blocks (got $blocks)" \
		[ "$blocks" = 258 ]
	saved=$(bytes_saved)
	check "dedupe: the summary reports $((1048576 + 255 * 4096 + 63 * 4096)) bytes saved (got $saved)" \
		[ "$saved" = $((1048576 + 255 * 4096 + 63 * 4096)) ]
	build_mount_compare dup-check "$DUP" "-Ededupe" ""
else
	fail "dedupe: mkfs.erofs -Ededupe succeeds"
fi

# -Ededupe without blobs keeps files with nothing to share flat, tails
# inline, whatever the chunk size: the image is smaller than a plain one
if build -T 0 "$WORK/plain.img" "$SRC"; then
	p=$(stat -c %s "$WORK/plain.img")
	for opts in "-Ededupe" "-Ededupe --chunksize=16384"; do
		if build -T 0 $opts "$WORK/dd.img" "$SRC"; then
			q=$(stat -c %s "$WORK/dd.img")
			check "$opts: the image ($q bytes) is smaller than a plain one ($p bytes)" \
				[ "$q" -lt "$p" ]
			check "$opts: files that share nothing stay flat" \
				bash -c "'$D' --path=/sub/deeper/tail10000 '$WORK/dd.img' | grep -q 'layout: flat inline'"
			check "$opts: a file shorter than a block stays flat" \
				bash -c "'$D' --path=/one '$WORK/dd.img' | grep -q 'layout: flat inline'"
			check "$opts: a duplicate file is chunk-based" \
				bash -c "'$D' --path=/B '$WORK/dd.img' | grep -q 'layout: chunk'"
		else
			fail "$opts: mkfs.erofs succeeds"
		fi
	done
fi

# identical files share every chunk, their partial last block too: the
# first copy keeps its tail in a block rather than inline
TW=$WORK/twins
mkdir -p "$TW"
head -c 10000 /dev/urandom >"$TW/x"
cp "$TW/x" "$TW/y"
printf 'tiny' >"$TW/z"
for opts in "-Ededupe" "-Ededupe --chunksize=8192"; do
	if build -T 0 $opts "$WORK/twins.img" "$TW"; then
		saved=$(bytes_saved)
		blocks=$(data_blocks "$WORK/twins.img")
		check "$opts: of two identical 10000-byte files, one is stored once whole (saved $saved bytes)" \
			[ "$saved" = 10000 ]
		check "$opts: the two take 3 data blocks between them (got $blocks)" \
			[ "$blocks" = 3 ]
		build_mount_compare "twins-$(printf '%s' "$opts" | tr -c 'A-Za-z0-9' '_')" "$TW" "$opts" ""
	else
		fail "$opts: mkfs.erofs of two identical files succeeds"
	fi
done

# files that only end alike keep their tails inline: a shared tail would
# cost a block; and small files that cannot go inline are still compared
AL=$WORK/alike
mkdir -p "$AL"
{ head -c 8192 /dev/urandom; head -c 1000 "$WORK/blk"; } >"$AL/p"
{ head -c 8192 /dev/urandom; head -c 1000 "$WORK/blk"; } >"$AL/q"
if build -T 0 "$WORK/al-plain.img" "$AL" && build -T 0 -Ededupe "$WORK/al-dd.img" "$AL"; then
	check "-Ededupe: two files that only end alike make no larger an image ($(stat -c %s "$WORK/al-dd.img") against $(stat -c %s "$WORK/al-plain.img") bytes)" \
		[ "$(stat -c %s "$WORK/al-dd.img")" -le "$(stat -c %s "$WORK/al-plain.img")" ]
else
	fail "-Ededupe: the alike files build"
fi
rm -rf "$AL"
mkdir -p "$AL"
head -c 4090 /dev/urandom >"$AL/a"
cp "$AL/a" "$AL/b"
cp "$AL/a" "$AL/c"
if build -T 0 -Ededupe "$WORK/al.img" "$AL"; then
	blocks=$(data_blocks "$WORK/al.img")
	check "-Ededupe: three copies of a 4090-byte file (too big to go inline) take 1 data block (got $blocks)" \
		[ "$blocks" = 1 ]
	build_mount_compare alike-4090 "$AL" "-Ededupe" ""
else
	fail "-Ededupe: three copies of a 4090-byte file build"
fi
rm -rf "$AL"

# the same bytes whatever the number of workers
if build -T 1700000000 -U 11111111-2222-3333-4444-555555555555 --workers=1 \
	-Ededupe --fingerprint "$WORK/w1.img" "$SRC" &&
	build -T 1700000000 -U 11111111-2222-3333-4444-555555555555 --workers=4 \
		-Ededupe --fingerprint "$WORK/w4.img" "$SRC"; then
	check "dedupe: the image is the same for 1 and 4 workers" \
		cmp -s "$WORK/w1.img" "$WORK/w4.img"
else
	fail "dedupe: builds with 1 and 4 workers succeed"
fi

# fingerprints do not depend on the layout
if build -T 0 --fingerprint-name=trusted.fp --fingerprint "$WORK/fp-flat.img" "$SRC" &&
	build -T 0 --fingerprint-name=trusted.fp --fingerprint -Ededupe \
		--chunksize=8192 "$WORK/fp-dd.img" "$SRC" &&
	mount_image "$WORK/fp-flat.img" "$WORK/fp-flat.mnt" &&
	mount_image "$WORK/fp-dd.img" "$WORK/fp-dd.mnt"; then
	(cd "$WORK/fp-flat.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp1"
	(cd "$WORK/fp-dd.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp2"
	check "fingerprints: flat and deduplicated chunked images carry the same values ($(grep -c '^trusted.fp=' "$WORK/fp1") files)" \
		cmp -s "$WORK/fp1" "$WORK/fp2"
	check "fingerprints: our fsck verifies those of the deduplicated image" \
		"$OUR_FSCK" --verify-fingerprints "$WORK/fp-dd.img"
	umount_image "$WORK/fp-flat.mnt"
	umount_image "$WORK/fp-dd.mnt"
else
	fail "fingerprints: flat and chunked images build and mount"
fi

# ------------------------------------------------------------ blobs

tag_of() {	# IMG N: the tag of device slot N
	"$D" --device "$1" | awk -v n="$2" '
		$1 == "device:" { cur = $2 }
		$1 == "device_tag:" && cur == n { gsub(/"/, "", $2); print $2 }'
}

# --blobdev: metadata in the image, data in the blob, named by its digest
if build --blobdev="$WORK/blob" "$WORK/meta.img" "$SRC"; then
	pass "blobdev: mkfs.erofs --blobdev succeeds"
	check "blobdev: the image holds metadata only ($(stat -c %s "$WORK/meta.img") bytes)" \
		[ "$(stat -c %s "$WORK/meta.img")" -lt 262144 ]
	check "blobdev: the device slot's tag is the blob's SHA-256" \
		[ "$(tag_of "$WORK/meta.img" 1)" = "$(sum "$WORK/blob")" ]
	check "blobdev: our fsck accepts image and blob" \
		"$OUR_FSCK" --extract --device="$WORK/blob" "$WORK/meta.img"
	"$OUR_FSCK" "$WORK/meta.img" >/dev/null 2>"$WORK/fsck.err"
	rc=$?
	check "blobdev: our fsck without the blob is a usage error (exit $rc)" [ "$rc" = 2 ]
	check "blobdev: ... in one line that says the image does not hold the blob ($(wc -l <"$WORK/fsck.err") lines)" \
		bash -c "[ \$(wc -l <'$WORK/fsck.err') = 1 ] && grep -q 'its device table lists 1 blob, which is not in the image' '$WORK/fsck.err'"
	"$OUR_FSCK" --device="$WORK/no-such-blob" "$WORK/meta.img" >/dev/null 2>"$WORK/fsck.err"
	rc=$?
	check "blobdev: our fsck with a missing blob fails (exit $rc)" [ "$rc" -ne 0 ]
	check "blobdev: ... and names the blob" \
		grep -q "cannot open '$WORK/no-such-blob'" "$WORK/fsck.err"
	if deb_can_read "$WORK/meta.img"; then
		check "blobdev: erofs-utils 1.5 fsck.erofs accepts image and blob" \
			"$DEB_FSCK" --device="$WORK/blob" "$WORK/meta.img"
	else
		log "note: blobdev: erofs-utils 1.5 checks skipped: $DEB_WHY"
	fi
	if mount_with_devices "$WORK/meta.img" "$WORK/meta.mnt" "$WORK/blob"; then
		pass "blobdev: the kernel mounts the image with its blob"
		compare_tree "$SRC" "$WORK/meta.mnt" "blobdev: mounted image equals the source"
		umount_image "$WORK/meta.mnt"
	else
		fail "blobdev: the kernel mounts the image with its blob"
	fi
	detach_loops
else
	fail "blobdev: mkfs.erofs --blobdev succeeds"
fi

# --blob-dir and --blob-dict: version 2 of a tree reuses version 1's blob
V1=$WORK/v1
V2=$WORK/v2
STORE=$WORK/store
mkdir -p "$V1" "$STORE"
for i in $(seq 40); do
	head -c $((i * 7000)) /dev/urandom >"$V1/file$i"
done
mkdir -p "$V1/d"
head -c 2000000 /dev/urandom >"$V1/d/big"
cp -a "$V1" "$V2"
printf 'changed' | dd of="$V2/d/big" bs=1 seek=1000000 conv=notrunc status=none
head -c 50000 /dev/urandom >"$V2/newfile"
rm "$V2/file7"
echo appended >>"$V2/file3"

if build --blob-dir="$STORE" "$WORK/v1.img" "$V1" &&
	build --blob-dir="$STORE" "$WORK/v2full.img" "$V2" &&
	build --blob-dir="$STORE" --blob-dict="$WORK/v1.img" "$WORK/v2.img" "$V2"; then
	pass "blob-dict: v1, v2 alone and v2 against v1 build"
	grep -q '^Reused: ' "$WORK/mkfs.out" && pass "blob-dict: the summary names the reused blob" ||
		fail "blob-dict: the summary names the reused blob"
	t1=$(tag_of "$WORK/v1.img" 1)
	tfull=$(tag_of "$WORK/v2full.img" 1)
	s1=$(tag_of "$WORK/v2.img" 1)
	s2=$(tag_of "$WORK/v2.img" 2)
	check "blob-dict: v2's device table lists v1's blob, then its own" \
		[ "$s1" = "$t1" -a -n "$s2" -a "$s2" != "$t1" ]
	check "blob-dict: every blob in the store is named by its digest" \
		bash -c "cd '$STORE' && for f in *; do [ \"\$(sha256sum \"\$f\" | cut -d' ' -f1)\" = \"\$f\" ] || exit 1; done"
	new=$(stat -c %s "$STORE/$s2")
	full=$(stat -c %s "$STORE/$tfull")
	check "blob-dict: v2's new blob ($new bytes) is under a tenth of a full build's ($full bytes)" \
		[ $((new * 10)) -lt "$full" ]
	check "blob-dict: dump.erofs --mount-options names both blobs in table order" \
		[ "$("$D" --mount-options --blob-dir="$STORE" "$WORK/v2.img")" = "device=$STORE/$s1,device=$STORE/$s2" ]
	check "blob-dict: our fsck --blob-dir accepts v2 and reads every byte" \
		"$OUR_FSCK" --extract --blob-dir="$STORE" "$WORK/v2.img"
	if mount_with_devices "$WORK/v2.img" "$WORK/v2.mnt" "$STORE/$s1" "$STORE/$s2"; then
		pass "blob-dict: the kernel mounts v2 with both blobs"
		compare_tree "$V2" "$WORK/v2.mnt" "blob-dict: mounted v2 equals its tree"
		umount_image "$WORK/v2.mnt"
	else
		fail "blob-dict: the kernel mounts v2 with both blobs"
	fi
	detach_loops

	# with --verity every blob gets a tree of its own, beside it in the store
	if build --verity --blob-dir="$STORE" --blob-dict="$WORK/v1.img" \
		--manifest="$WORK/v2v.json" "$WORK/v2v.img" "$V2"; then
		n=0
		while read -r cmd; do
			n=$((n + 1))
			# shellcheck disable=SC2086
			check "blob verity: device tree $n passes: $cmd" $cmd
		done < <(sed -n 's/^  Verify with: *//p' "$WORK/mkfs.out")
		check "blob verity: both devices have a tree" [ "$n" = 2 ]
		check "blob verity: the manifest lists both devices with their root hashes" \
			python3 -c "
import json, sys
d = json.load(open('$WORK/v2v.json'))['image']['devices']
sys.exit(not (len(d) == 2 and all(len(x['verity']['root_hash']) == 64 for x in d)))"
		cp "$STORE/$s2" "$WORK/tampered-blob"
		printf 'X' | dd of="$WORK/tampered-blob" bs=1 seek=5000 conv=notrunc status=none
		root2=$(sed -n 's/^  Root hash: *//p' "$WORK/mkfs.out" | sed -n 2p)
		if veritysetup verify "$WORK/tampered-blob" "$STORE/$s2.verity" "$root2" >/dev/null 2>&1; then
			fail "blob verity: a changed blob fails its tree"
		else
			pass "blob verity: a changed blob fails its tree"
		fi
	else
		fail "blob verity: --verity with --blob-dir builds"
	fi

	# a blob that does not match its id
	cp -a "$STORE" "$WORK/bad-store"
	printf 'X' | dd of="$WORK/bad-store/$s2" bs=1 seek=100 conv=notrunc status=none
	if "$OUR_FSCK" --blob-dir="$WORK/bad-store" "$WORK/v2.img" >"$WORK/f.out" 2>&1; then
		fail "tampered blob: our fsck refuses it"
	else
		check "tampered blob: our fsck refuses it, naming the blob and its id" \
			grep -q "device 2 '.*$s2': its content does not match its id $s2" "$WORK/f.out"
	fi

	# a dictionary whose blob is not in the store
	mkdir -p "$WORK/empty-store"
	before=$(ls "$WORK/empty-store" | wc -l)
	if run_mkfs -T 0 --blob-dir="$WORK/empty-store" --blob-dict="$WORK/v1.img" \
		"$WORK/v3.img" "$V2"; then
		fail "missing blob: mkfs.erofs refuses a dictionary whose blob is not in --blob-dir"
	else
		check "missing blob: the message names the dictionary and the blob" \
			grep -q "cannot use blob dictionary '$WORK/v1.img': its blob $t1 is not in '$WORK/empty-store'" "$WORK/mkfs.err"
		check "missing blob: no image and nothing new in the store" \
			[ ! -e "$WORK/v3.img" -a "$(ls -A "$WORK/empty-store" | wc -l)" = "$before" ]
	fi
else
	fail "blob-dict: v1, v2 alone and v2 against v1 build"
fi

# ------------------------------------------------------------ a real tree, twice

# Version 1 is /usr/include as Debian installs it; version 2 changes one
# file in 25 (a line appended), drops one in 50 and adds a few, as a
# package update would.  v2 against v1 must write little.
if [ -d /usr/include ]; then
	R1=$WORK/real1
	R2=$WORK/real2
	RS=$WORK/real-store
	mkdir -p "$RS" "$WORK/real-full"
	cp -a /usr/include "$R1"
	cp -a "$R1" "$R2"
	i=0
	while IFS= read -r -d '' f; do
		i=$((i + 1))
		if [ $((i % 25)) = 0 ]; then
			echo "/* changed in version 2 */" >>"$f"
		elif [ $((i % 50)) = 1 ]; then
			rm -f "$f"
		fi
	done < <(find "$R2" -type f -print0 | sort -z)
	mkdir -p "$R2/new-in-v2"
	for n in 1 2 3; do
		head -c 20000 /dev/urandom >"$R2/new-in-v2/f$n"
	done
	if build --blob-dir="$RS" "$WORK/real1.img" "$R1" &&
		build --blob-dir="$WORK/real-full" "$WORK/real2-full.img" "$R2"; then
		if build --blob-dir="$RS" --blob-dict="$WORK/real1.img" "$WORK/real2.img" "$R2"; then
			new=$(tag_of "$WORK/real2.img" 2)
			full=$(tag_of "$WORK/real2-full.img" 1)
			nb=$(stat -c %s "$RS/$new")
			fb=$(stat -c %s "$WORK/real-full/$full")
			check "real tree: v2's new blob ($nb bytes) is under a tenth of a full build's ($fb bytes)" \
				[ $((nb * 10)) -lt "$fb" ]
			if mount_with_devices "$WORK/real2.img" "$WORK/real2.mnt" \
				"$RS/$(tag_of "$WORK/real2.img" 1)" "$RS/$new"; then
				compare_tree "$R2" "$WORK/real2.mnt" "real tree: mounted v2 equals its tree"
				umount_image "$WORK/real2.mnt"
			else
				fail "real tree: the kernel mounts v2 with both blobs"
			fi
			detach_loops
			check "real tree: our fsck accepts v2 with its blobs" \
				"$OUR_FSCK" --extract --blob-dir="$RS" "$WORK/real2.img"
		else
			fail "real tree: v2 builds against v1"
		fi
	else
		fail "real tree: v1 and a full v2 build"
	fi
	rm -rf "$R1" "$R2"
else
	log "note: /usr/include is missing; the real two-version case is left out"
fi

# a missing blob: fsck names it
mkdir -p "$WORK/holey-store"
if [ -n "${s1:-}" ] && [ -e "$STORE/$s1" ]; then
	cp "$STORE/$s1" "$WORK/holey-store/"
	if "$OUR_FSCK" --blob-dir="$WORK/holey-store" "$WORK/v2.img" >"$WORK/f.out" 2>&1; then
		fail "missing blob: our fsck refuses an image whose blob is missing"
	else
		check "missing blob: our fsck names the missing blob" \
			grep -q "cannot open '$WORK/holey-store/$s2'" "$WORK/f.out"
	fi
fi

# ------------------------------------------------------------ bad options

expect_usage() {	# DESC PATTERN ARGS...
	local desc=$1 pat=$2
	shift 2
	if run_mkfs "$@" "$WORK/bad.img" "$SRC"; then
		fail "$desc: refused"
	else
		check "$desc: exit 2 with a clear message" \
			bash -c "[ $MKFS_RC = 2 ] && grep -q -- '$pat' '$WORK/mkfs.err'"
		check "$desc: no image" [ ! -e "$WORK/bad.img" ]
	fi
}
expect_usage "chunk size not a power of two" "expected a power of two" --chunksize=3000
expect_usage "chunk size below the block size" "at least the block size" --chunksize=2048
expect_usage "--blob-dict without --blob-dir" "needs --blob-dir" --blob-dict="$WORK/v1.img"
expect_usage "--blobdev with --blob-dir" "exclude each other" --blobdev="$WORK/x" --blob-dir="$STORE"
expect_usage "an unknown -E option" "known extended options" -Enosuch

finish
