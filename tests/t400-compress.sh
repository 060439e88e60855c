#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Compressed files: -z lz4, lz4hc, zstd and deflate with pclusters of 4 KiB,
# 64 KiB and 1 MiB, with and without -Eztailpacking and -Efragments, and
# -Elegacy-compress (full indexes).  Every image is mounted by the kernel and compared with
# its source: random, text-like and all-zero files at the sizes where the
# index format has edges (0, 1, block-1, block, block+1, around each
# pcluster size and around the 4 MiB segments compression works in), and
# one file of a few hundred MB.  erofs-utils 1.5 checks and extracts the
# lz4 images without fragments (it predates them); our fsck.erofs checks every image once it reads compressed
# files.  Builds with 1 and 4 workers must be byte-identical, and a
# fingerprint must not depend on whether the file is compressed.

. "$(dirname "$0")/lib.sh"

require_mkfs
require_mount
find_treecmp
require_cmd awk getfattr

T=(-T 1700000000 -U 0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)

# text_bytes N: N bytes of text that compresses about as well as prose
text_bytes() {
	awk -v seed="${2:-7}" 'BEGIN {
		srand(seed)
		split("the of and to in is was for on that with as by at from it " \
		      "erofs image block cluster kernel page read write file data " \
		      "compress index extent tail inode", w, " ")
		for (;;) {
			line = ""
			n = 4 + int(rand() * 10)
			for (i = 0; i < n; i++)
				line = line w[1 + int(rand() * 38)] " "
			print line int(rand() * 100000)
		}
	}' | head -c "$1"
}

# mk_tree DIR PCLUSTER: files of each kind at the sizes that matter
mk_tree() {
	local t=$1 p=$2 s kind
	mkdir -p "$t/text" "$t/rand" "$t/zero" "$t/mixed"
	text_bytes $((2 * p + 8192)) 11 >"$WORK/text.src"
	head -c $((2 * p + 8192)) /dev/urandom >"$WORK/rand.src"
	: >"$t/empty"
	for s in 1 4095 4096 4097 8191 8193 $((p - 1)) "$p" $((p + 1)) $((2 * p + 3)); do
		for kind in text rand; do
			head -c "$s" "$WORK/$kind.src" >"$t/$kind/$s"
		done
		head -c "$s" /dev/zero >"$t/zero/$s"
	done
	# around the 4 MiB segments that are compressed as separate jobs
	text_bytes $((4 * 1048576 + 1)) 12 >"$t/text/seg+1"
	head -c $((4 * 1048576 - 1)) "$t/text/seg+1" >"$t/text/seg-1"
	head -c $((8 * 1048576 + 4097)) /dev/zero >"$t/zero/2seg+4097"
	# raw and compressed extents in turn
	{
		head -c 100000 "$WORK/rand.src"
		text_bytes 300000 13
		head -c 200000 /dev/zero
		head -c 5000 "$WORK/rand.src"
		text_bytes 7000 14
	} >"$t/mixed/a"
	{
		text_bytes 70000 15
		head -c 12345 "$WORK/rand.src"
	} >"$t/mixed/b"
	# the rest of a tree: metadata around compressed files
	ln -s text/1 "$t/link"
	ln "$t/text/4097" "$t/hardlink"
	setfattr -n user.note -v compressed "$t/text/$p" 2>/dev/null || true
	mkdir "$t/emptydir"
	touch -d @1600000000 "$t/mixed/a"
}

# deb_extract IMG SRC NAME: erofs-utils 1.5 decodes every file of an lz4
# image, and what it extracts equals the source's contents
deb_extract() {
	local img=$1 src=$2 name=$3 out=$WORK/deb.extract
	rm -rf "$out"
	if "$DEB_FSCK" --extract="$out" "$img" >"$WORK/debx.out" 2>&1; then
		pass "$name: erofs-utils 1.5 fsck.erofs --extract decodes every file"
		if diff -r "$src" "$out" >"$WORK/debx.diff" 2>&1; then
			pass "$name: what erofs-utils 1.5 extracts equals the source"
		else
			fail "$name: what erofs-utils 1.5 extracts differs from the source"
			head -n 10 "$WORK/debx.diff" | sed 's/^/    /'
		fi
	else
		fail "$name: erofs-utils 1.5 fsck.erofs --extract fails"
		head -n 10 "$WORK/debx.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
}

# our_reads_compressed: our fsck.erofs reads compressed files (exit 3 means
# it refuses them as not supported yet)
our_reads_compressed() {
	local img=$1
	our_fsck_usable || return 1
	"$OUR_FSCK" "$img" >/dev/null 2>&1
	[ $? != 3 ]
}

# quietly CMD...: runs CMD, its output kept in $WORK/cmd.out
quietly() {
	"$@" >"$WORK/cmd.out" 2>&1 || { head -n 10 "$WORK/cmd.out" | sed 's/^/    /'; return 1; }
}

# zcheck NAME SRC "MKFS ARGS": build, check, mount, compare
zcheck() {
	local name=$1 src=$2 margs=$3
	local img=$WORK/$name.img mnt=$WORK/$name.mnt
	rm -f "$img"
	# shellcheck disable=SC2086
	if ! build "${T[@]}" $margs "$img" "$src"; then
		fail "$name: mkfs.erofs $margs succeeds"
		return 1
	fi
	pass "$name: mkfs.erofs $margs succeeds"
	if [ $(($(sb_incompat "$img") & 0x1)) = 1 ]; then
		pass "$name: the image has ZERO_PADDING"
	else
		fail "$name: the image lacks ZERO_PADDING"
	fi
	# erofs-utils 1.5 reads lz4 without fragments ('^fragments' turns
	# them off, and lz4 has them off by default)
	case $margs in
	*-Efragments*|*,fragments*) ;;
	*lz4*)
		if deb_can_read "$img"; then
			check "$name: erofs-utils 1.5 fsck.erofs accepts the image" \
				quietly "$DEB_FSCK" "$img"
			deb_extract "$img" "$src" "$name"
		fi ;;
	esac
	if our_reads_compressed "$img"; then
		check "$name: our fsck.erofs accepts the image" quietly "$OUR_FSCK" "$img"
		check_extract "$img" "$src" "$name" --mtime=1700000000
	fi
	if ! mount_image "$img" "$mnt"; then
		fail "$name: the kernel mounts the image"
		return 1
	fi
	pass "$name: the kernel mounts the image"
	compare_tree "$src" "$mnt" "$name: mounted image equals the source" --mtime=1700000000
	umount_image "$mnt" || fail "$name: unmount"
	rm -f "$img"
}

ALGS=(lz4 lz4hc zstd deflate)
note=
for a in "${ALGS[@]}"; do
	if ! run_mkfs -z "$a" "$WORK/probe.img" "$WORK" 2>/dev/null &&
		grep -q 'no .* support' "$WORK/mkfs.err"; then
		note="$note $a"
	fi
	rm -f "$WORK/probe.img"
done
[ -z "$note" ] || skip "this build lacks codecs:$note"

# ------------------------------------------------------------ the matrix

for p in 4096 65536 1048576; do
	SRC=$WORK/src-$p
	mk_tree "$SRC" "$p"
	for a in "${ALGS[@]}"; do
		for e in "-E^ztailpacking,^fragments" "-Eztailpacking,^fragments" \
			"-Eztailpacking,fragments"; do
			zcheck "$a-C$p$(printf '%s' "$e" | sed 's/\^/no-/g' | tr -c 'a-z\n' '-')" "$SRC" \
				"-z $a -C $p $e"
		done
	done
	rm -rf "$SRC"
done

SRC=$WORK/src-mid
mk_tree "$SRC" 16384
# full indexes, levels, small blocks (full indexes there too)
zcheck lz4hc-full "$SRC" "-z lz4hc,level=12 -C 16384 -Elegacy-compress"
zcheck zstd-full-tail "$SRC" "-z zstd,level=9 -C 16384 -Elegacy-compress -Eztailpacking,^fragments"
zcheck deflate-b1024 "$SRC" "-b 1024 -z deflate,level=9 -C 16384 -Eztailpacking,^fragments"
zcheck lz4-b512 "$SRC" "-b 512 -z lz4 -C 4096"
# lz4's largest pcluster is 256 blocks, in whatever block size
zcheck lz4hc-b1024-256blocks "$SRC" "-b 1024 -z lz4hc -C 262144"
zcheck lz4hc-4 "$SRC" "-z lz4hc,4 -C 8192 -Eztailpacking"
for a in "${ALGS[@]}"; do
	zcheck "$a-fragments" "$SRC" "-z $a -C 65536 -Efragments"
done
zcheck zstd-frag-full "$SRC" "-z zstd -C 32768 -Efragments -Elegacy-compress"
zcheck deflate-frag-b2048 "$SRC" "-b 2048 -z deflate -C 8192 -Efragments"

# the packed inode is in the superblock, and a small file has no blocks
if build "${T[@]}" -z lz4hc -C 65536 -Efragments "$WORK/frag.img" "$SRC"; then
	check "-Efragments: the superblock has FRAGMENTS and a packed inode" \
		[ $(($(sb_incompat "$WORK/frag.img") & 0x20)) != 0 -a \
		"$(sb_u64 "$WORK/frag.img" $((0x60)))" != 0 ]
	mount_image "$WORK/frag.img" "$WORK/frag.mnt" &&
		check "-Efragments: a 12 KiB file takes no block of its own" \
			[ "$(stat -c %b "$WORK/frag.mnt/text/8193")" = 0 ] &&
		umount_image "$WORK/frag.mnt"
	rm -f "$WORK/frag.img"
fi

# defaults: zstd and deflate pack tails and fragments, lz4 and lz4hc do not
same_image() {
	local desc=$1 a=$2 b=$3
	rm -f "$WORK/d1.img" "$WORK/d2.img"
	# shellcheck disable=SC2086
	if build "${T[@]}" $a "$WORK/d1.img" "$SRC" &&
		build "${T[@]}" $b "$WORK/d2.img" "$SRC"; then
		check "$desc" cmp -s "$WORK/d1.img" "$WORK/d2.img"
	else
		fail "$desc: both builds succeed"
	fi
	rm -f "$WORK/d1.img" "$WORK/d2.img"
}
same_image "-z zstd means -z zstd -Eztailpacking,fragments" \
	"-z zstd -C 65536" "-z zstd -C 65536 -Eztailpacking,fragments"
same_image "-z deflate means -z deflate -Eztailpacking,fragments" \
	"-z deflate -C 16384" "-z deflate -C 16384 -Eztailpacking,fragments"
same_image "-z lz4hc means -z lz4hc -E^ztailpacking,^fragments" \
	"-z lz4hc -C 65536" "-z lz4hc -C 65536 -E^ztailpacking,^fragments"
same_image "-E^fragments after -Efragments turns them off again" \
	"-z zstd -C 65536 -Efragments -E^fragments" "-z zstd -C 65536 -E^fragments"
if build "${T[@]}" -z zstd -C 65536 -E^fragments "$WORK/nofrag.img" "$SRC"; then
	check "-z zstd -E^fragments: no FRAGMENTS feature and no packed inode" \
		[ $(($(sb_incompat "$WORK/nofrag.img") & 0x20)) = 0 -a \
		"$(sb_u64 "$WORK/nofrag.img" $((0x60)))" = 0 ]
	rm -f "$WORK/nofrag.img"
fi

# the ratio one pcluster leaves behind does not spoil the next ones: after
# a run of zeros (which fills a pcluster with a megabyte), text compresses
# as well as it does alone
ZT=$WORK/zt
mkdir -p "$ZT/zeros-then-text" "$ZT/text"
text_bytes 3145728 5 >"$ZT/text/f"
{ head -c 1048576 /dev/zero; cat "$ZT/text/f"; } >"$ZT/zeros-then-text/f"
for a in zstd deflate lz4hc; do
	for p in 4096 65536; do
		rm -f "$WORK/zt1.img" "$WORK/zt2.img"
		if build "${T[@]}" -z $a -C $p -E^fragments,^ztailpacking \
			"$WORK/zt1.img" "$ZT/text" &&
			build "${T[@]}" -z $a -C $p -E^fragments,^ztailpacking \
				"$WORK/zt2.img" "$ZT/zeros-then-text"; then
			s1=$(stat -c %s "$WORK/zt1.img")
			s2=$(stat -c %s "$WORK/zt2.img")
			check "$a -C $p: 1 MiB of zeros, then text, takes at most 16 KiB more than the text alone ($s2 against $s1 bytes)" \
				[ "$s2" -le $((s1 + 16384)) ]
		else
			fail "$a -C $p: the zeros-then-text builds succeed"
		fi
	done
done
rm -rf "$ZT" "$WORK/zt1.img" "$WORK/zt2.img"

# ------------------------------------------------------------ a large file

BIG=$WORK/big
mkdir -p "$BIG"
text_bytes 1048576 21 >"$WORK/text1m"
{
	head -c $((96 * 1048576)) /dev/urandom
	for _ in $(seq 96); do cat "$WORK/text1m"; done
	head -c $((96 * 1048576 + 12345)) /dev/zero
} >"$BIG/large"
log "large file: $(stat -c %s "$BIG/large") bytes"
zcheck big-lz4 "$BIG" "-z lz4 -C 65536"
zcheck big-lz4hc "$BIG" "-z lz4hc,level=3 -C 1048576 -Eztailpacking"
zcheck big-zstd "$BIG" "-z zstd,level=1 -C 131072"
zcheck big-deflate "$BIG" "-z deflate,level=1 -C 4096 -Eztailpacking"
rm -rf "$BIG" "$WORK/text1m"

# ------------------------------------------------------------ reproducible

for a in "${ALGS[@]}"; do
	ok=1
	for w in 1 4; do
		build "${T[@]}" --workers=$w -z "$a" -C 65536 -Eztailpacking,fragments \
			"$WORK/w$w.img" "$SRC" || ok=0
	done
	if ((ok)) && cmp -s "$WORK/w1.img" "$WORK/w4.img"; then
		pass "$a: --workers=1 and --workers=4 build the same image"
	else
		fail "$a: --workers=1 and --workers=4 build different images"
	fi
	rm -f "$WORK/w1.img" "$WORK/w4.img"
done

# ------------------------------------------------------------ fingerprints

fp_of() {
	local img=$1 mnt=$WORK/fp.mnt f
	mount_image "$img" "$mnt" || return 1
	for f in text/4097 rand/16385 zero/16384 mixed/a text/seg+1; do
		printf '%s %s\n' "$f" "$(getfattr --only-values -n user.fp "$mnt/$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
	done
	umount_image "$mnt"
}
if build "${T[@]}" --fingerprint --fingerprint-name=user.fp "$WORK/fp-plain.img" "$SRC" &&
	build "${T[@]}" --fingerprint --fingerprint-name=user.fp -z zstd -C 65536 \
		"$WORK/fp-z.img" "$SRC"; then
	fp_of "$WORK/fp-plain.img" >"$WORK/fp-plain.txt"
	fp_of "$WORK/fp-z.img" >"$WORK/fp-z.txt"
	if [ -s "$WORK/fp-plain.txt" ] && ! grep -q ' $' "$WORK/fp-plain.txt" &&
		cmp -s "$WORK/fp-plain.txt" "$WORK/fp-z.txt"; then
		pass "fingerprints of compressed files equal those of the same files uncompressed"
	else
		fail "fingerprints differ between the compressed and the uncompressed image"
		paste "$WORK/fp-plain.txt" "$WORK/fp-z.txt" | head -n 5 | sed 's/^/    /'
	fi
	zcheck fp-zstd "$SRC" "--fingerprint -z zstd -C 65536 -Eztailpacking,^fragments"
else
	fail "fingerprinted builds succeed"
fi

# ------------------------------------------------------------ usage errors

usage_error() {
	local desc=$1
	shift
	rm -f "$WORK/bad.img"
	run_mkfs "$@" "$WORK/bad.img" "$SRC"
	if [ "$MKFS_RC" = 2 ] && [ ! -e "$WORK/bad.img" ] && [ -s "$WORK/mkfs.err" ]; then
		pass "$desc: usage error ($(head -n 1 "$WORK/mkfs.err"))"
	else
		fail "$desc: expected exit 2 and no image, got $MKFS_RC"
	fi
}
usage_error "unknown algorithm" -z lzo
usage_error "two algorithms" -z lz4:zstd
usage_error "a level for lz4" -z lz4,level=3
usage_error "lz4hc level 13" -z lz4hc,level=13
usage_error "zstd level 0" -z zstd,0
usage_error "-C not a block multiple" -z lz4 -C 6000
usage_error "-C over 1 MiB" -z lz4 -C 2097152
usage_error "lz4 -C over 256 blocks" -b 1024 -z lz4hc -C 1048576
usage_error "-C without -z" -C 65536
usage_error "-Eztailpacking without -z" -Eztailpacking
usage_error "-Efragments without -z" -Efragments
usage_error "an unknown option turned off" -z zstd -E^bogus
usage_error "-z with --chunksize" -z lz4 --chunksize=65536
usage_error "-z with -Ededupe" -z lz4 -Ededupe

finish
