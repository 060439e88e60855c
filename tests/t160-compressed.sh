#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Compressed images, read by our fsck.erofs and dump.erofs.
#
# Debian's mkfs.erofs (erofs-utils 1.5) builds LZ4 and LZ4HC images of a
# tree of random, text-like and all-zero files (sizes 0, 1, 4095..4097,
# pcluster sizes +-1, a few MB) with several pcluster sizes (-C), with and
# without ztailpacking, and with full indexes (-Elegacy-compress).  For
# each: our fsck.erofs finds it clean, --extract gives back the source, and
# the kernel's mount of the image equals what we extracted.
#
# The committed images of tests/zimages (zstd, DEFLATE, MicroLZMA, LZ4HC
# with fragments, dedupe and interlaced pclusters, made once by erofs-utils
# 1.8.6) and a HEAD2 variant made by zimages/head2.py go through the same
# checks against the tree zimages/mktree.py rebuilds.
#
# NEW_MKFS, when set to a newer mkfs.erofs (1.8 or later), also builds the
# large tree with zstd, deflate and lzma, fragments and dedupe.

. "$(dirname "$0")/lib.sh"

require_root
require_mount
require_cmd python3
find_treecmp
[ -x "$DEB_MKFS" ] || skip "needs Debian's mkfs.erofs at $DEB_MKFS"
[ -x "$OUR_FSCK" ] || die "fsck.erofs not found at $OUR_FSCK"
OUR_DUMP=${OUR_DUMP:-$top_builddir/dump/dump.erofs}
[ -x "$OUR_DUMP" ] || die "dump.erofs not found at $OUR_DUMP"

src=$WORK/src
python3 - "$src" <<'EOF' || die "cannot build the source tree"
import os, random, sys
top = sys.argv[1]
r = random.Random(160)
words = [b"alpha", b"beta", b"gamma", b"delta", b"lorem", b"ipsum", b"\n",
         b"erofs", b"cluster", b"extent"]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + b" "
    return bytes(out[:n])
os.makedirs(os.path.join(top, "d"))
sizes = [0, 1, 4095, 4096, 4097, 16383, 16384, 16385, 65535, 65536, 65537,
         1048575, 1048577]
for s in sizes:
    for kind, data in (("rand", r.randbytes(s)), ("text", text(s)), ("zero", bytes(s))):
        open(os.path.join(top, "%s-%d" % (kind, s)), "wb").write(data)
for kind, data in (("rand", r.randbytes(3 << 20)), ("text", text(3 << 20)),
                   ("zero", bytes(3 << 20))):
    open(os.path.join(top, "d", "big-" + kind), "wb").write(data)
blk = r.randbytes(20000)
open(os.path.join(top, "d", "dup1"), "wb").write(blk * 4 + text(7000))
open(os.path.join(top, "d", "dup2"), "wb").write(text(3000) + blk * 3)
open(os.path.join(top, "d", "mixed"), "wb").write(
    b"".join(text(5000) + r.randbytes(3000) + bytes(9000) for _ in range(20)))
os.symlink("text-4097", os.path.join(top, "link"))
EOF

# zcase NAME IMG SRC: clean, extracted equal to SRC, mounted equal to that
zcase() {
	local name=$1 img=$2 tree=$3 out=$WORK/${1//\//-}.x mnt=$WORK/${1//\//-}.mnt
	if "$OUR_FSCK" "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: our fsck.erofs finds the image clean"
	else
		fail "$name: our fsck.erofs rejects the image"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
	if "$OUR_FSCK" --extract="$out" "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: --extract succeeds"
		compare_tree "$tree" "$out" "$name: the extracted tree equals the source"
		if mount_image "$img" "$mnt"; then
			compare_tree "$mnt" "$out" "$name: the extracted tree equals the kernel's mount"
			umount_image "$mnt" || fail "$name: unmount"
		else
			fail "$name: the kernel mounts the image"
		fi
	else
		fail "$name: --extract fails"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
}

# debcase NAME MKFS-ARGS: an image of the large tree by Debian's mkfs.erofs
debcase() {
	local name=$1 img=$WORK/$1.img
	shift
	# shellcheck disable=SC2068
	if ! "$DEB_MKFS" $@ "$img" "$src" >"$WORK/mkfs.log" 2>&1; then
		fail "$name: Debian mkfs.erofs $* succeeds"
		tail -n 3 "$WORK/mkfs.log" | sed 's/^/    /'
		return
	fi
	zcase "$name" "$img" "$src"
	rm -f "$img"
}

for c in 4096 16384 65536 1048576; do
	debcase "lz4-C$c" -zlz4 -C$c
	debcase "lz4hc-C$c" -zlz4hc,9 -C$c
	debcase "lz4hc-tailpack-C$c" -zlz4hc -C$c -Eztailpacking
done
debcase "lz4-full" -zlz4 -Elegacy-compress
debcase "lz4hc-full-C16384" -zlz4hc -C16384 -Elegacy-compress
debcase "lz4-tailpack-C8192" -zlz4 -C8192 -Eztailpacking

# dump.erofs -e: the extents of a compressed file tile it, each with a format
img=$WORK/dump.img
if "$DEB_MKFS" -zlz4hc -C16384 -Eztailpacking "$img" "$src" >/dev/null 2>&1; then
	for p in d/mixed text-65537 zero-1048577 text-4097; do
		size=$(stat -c %s "$src/$p")
		if "$OUR_DUMP" -e --path="/$p" "$img" >"$WORK/dump.out" 2>&1 &&
			awk -v size="$size" '
				/^extent: / {
					split($2, r, /\.\./)
					if (r[1] != at || $3 !~ /^(lz4|shifted|interlaced)$/) bad = 1
					at = r[2]; n++
				}
				/^layout: compressed/ { z = 1 }
				END { exit !(z && n && !bad && at == size) }' at=0 "$WORK/dump.out"; then
			pass "dump.erofs -e: the extents of $p tile its $size bytes"
		else
			fail "dump.erofs -e: the extents of $p"
			head -n 30 "$WORK/dump.out" | sed 's/^/    /'
		fi
	done
	"$OUR_DUMP" --path=/d/mixed "$img" >"$WORK/dump.out" 2>&1
	check "dump.erofs: a compressed file's algorithm and index" \
		grep -qx "algorithm: lz4" "$WORK/dump.out"
	check "dump.erofs: without -e, the number of extents" \
		grep -qE "^extents: [0-9]+$" "$WORK/dump.out"
	rm -f "$img"
fi

# the committed images, and their tree
zsrc=$WORK/zsrc
python3 "$tests_srcdir/zimages/mktree.py" "$zsrc" || die "zimages/mktree.py failed"
while read -r name args; do
	zcase "zimages/$name" "$tests_srcdir/zimages/$name.img" "$zsrc"
done <"$tests_srcdir/zimages/images.list"
if python3 "$tests_srcdir/zimages/head2.py" "$tests_srcdir/zimages/lz4hc-dedupe-full.img" \
	"$WORK/head2.img" >"$WORK/head2.out" 2>&1; then
	zcase "zimages/lz4hc-head2" "$WORK/head2.img" "$zsrc"
else
	fail "zimages/head2.py makes a HEAD2 image"
	sed 's/^/    /' "$WORK/head2.out"
fi

# a newer writer, when one is given, on the large tree
if [ -n "${NEW_MKFS:-}" ] && [ -x "$NEW_MKFS" ]; then
	newcase() {
		local name=$1 img=$WORK/$1.img
		shift
		# shellcheck disable=SC2068
		if "$NEW_MKFS" --quiet $@ "$img" "$src" >"$WORK/mkfs.log" 2>&1; then
			zcase "new/$name" "$img" "$src"
		else
			fail "new/$name: $NEW_MKFS $* succeeds"
		fi
		rm -f "$img"
	}
	for alg in zstd deflate lzma lz4hc; do
		newcase "$alg" -z$alg -C65536
		newcase "$alg-all" -z$alg -C16384 -Eztailpacking,fragments,dedupe
	done
	# not -Eztailpacking,fragments together: erofs-utils 1.8.6 then may
	# leave an interlaced raw tail inline, which no reader (the kernel
	# included) gives back right; our fsck.erofs calls it corrupt
	newcase "zstd-b512-tailpack" -b512 -zzstd -C4096 -Eztailpacking
	newcase "zstd-b512-frag" -b512 -zzstd -C4096 -Efragments
	newcase "lz4hc-b1024-dedupe" -b1024 -zlz4hc -C8192 -Ededupe
else
	log "note: NEW_MKFS not set: zstd, deflate and lzma come from the committed images only"
fi

finish
