#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hand-made corrupt images (fuzz/mkcorrupt.py breaks one rule of the
# format per image, starting from a good image of a small tree, with
# 4096- and 512-byte blocks): truncated, bad checksum, nid out of range,
# dirent name offset past the block, looping directory, chunk index past
# the end, unknown incompat bit, bad blkszbits, xattr count overflow,
# inline tail crossing a block, and more; and compressed images broken in
# their lcluster indexes (past the end, clusterofs, delta0/delta1, a lying
# block count), map header (algorithm ids, inline tail size) or data
# (garbage, a decoded length that differs).  fsck.erofs must reject each
# with the expected exit code and a message naming the fault; dump.erofs
# and fsck.erofs --extract must fail cleanly too.  No run may crash: an
# exit by signal (or a sanitizer report, in the sanitizer build) fails.

. "$(dirname "$0")/lib.sh"

require_mkfs
require_cmd python3 setfattr
[ -x "$OUR_FSCK" ] || die "fsck.erofs not found at $OUR_FSCK"
OUR_DUMP=${OUR_DUMP:-$top_builddir/dump/dump.erofs}
[ -x "$OUR_DUMP" ] || die "dump.erofs not found at $OUR_DUMP"

src=$WORK/src
mkdir -p "$src/d"
echo hi >"$src/a"
head -c 9000 /dev/urandom >"$src/big"
echo sub >"$src/d/f"
ln "$src/a" "$src/d/hl"
truncate -s 50000 "$src/sparse"
echo tail >>"$src/sparse"
echo x >"$src/x"
setfattr -n user.one -v 1 "$src/x" && setfattr -n user.two -v 22 "$src/x" ||
	skip "$WORK does not support user xattrs"

# a sanitizer report exits 23, which no tool uses
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=23"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=23"

# no_crash DESC RC: a signal or a sanitizer report is a crash
no_crash() {
	if [ "$2" -ge 128 ] || [ "$2" = 23 ] ||
		grep -qE 'Sanitizer|runtime error' "$WORK/run.out"; then
		fail "$1 crashed (exit $2)"
		head -n 30 "$WORK/run.out" | sed 's/^/    /'
		return 1
	fi
	return 0
}

# run_manifest DIR TAG: each image of mkcorrupt.py's manifest in DIR
run_manifest() {
	local dir=$1 tag=$2 name code msg img rc args
	n=0
	while IFS=$'\t' read -r name code msg; do
		n=$((n + 1))
		img=$dir/$name.img
		"$OUR_FSCK" "$img" >"$WORK/run.out" 2>&1
		rc=$?
		no_crash "$tag/$name: fsck.erofs" $rc || continue
		if [ $rc = "$code" ] && grep -qF -- "$msg" "$WORK/run.out"; then
			pass "$tag/$name: fsck.erofs exits $code with '$msg'"
		else
			fail "$tag/$name: fsck.erofs exits $rc (expected $code and '$msg')"
			head -n 10 "$WORK/run.out" | sed 's/^/    /'
		fi
		if [ "$code" = 1 ] && ! grep -q "Structure needs cleaning" "$WORK/run.out"; then
			fail "$tag/$name: the report does not say 'Structure needs cleaning'"
		fi
		rm -rf "$WORK/x"
		"$OUR_FSCK" --extract="$WORK/x" "$img" >"$WORK/run.out" 2>&1
		rc=$?
		no_crash "$tag/$name: fsck.erofs --extract" $rc &&
			check "$tag/$name: fsck.erofs --extract fails" [ $rc != 0 ]
		for args in "-s" "-S" "--ls" "--path=/d/f" "--path=/sparse" "--nid=0" \
			"-e --path=/big" "-e --path=/tail"; do
			# shellcheck disable=SC2086
			"$OUR_DUMP" $args "$img" >"$WORK/run.out" 2>&1
			no_crash "$tag/$name: dump.erofs $args" $? || break
		done
	done <"$dir/manifest"
}

for bs in 4096 512; do
	good=$WORK/good$bs.img
	build -b "$bs" -T 1700000000 -U clear "$good" "$src" || die "mkfs.erofs -b $bs failed"
	"$OUR_FSCK" "$good" >"$WORK/run.out" 2>&1 || die "the good $bs image is not clean"
	mkdir -p "$WORK/bad$bs"
	python3 "$tests_srcdir/fuzz/mkcorrupt.py" "$good" "$WORK/bad$bs" >"$WORK/bad$bs/manifest" ||
		die "mkcorrupt.py failed"
	run_manifest "$WORK/bad$bs" "$bs"
	check "$bs: mkcorrupt.py made at least 25 images ($n)" [ $n -ge 25 ]
done

# compressed images (Debian's mkfs.erofs, LZ4HC): compact indexes with
# inline tails, and full indexes; each broken in one place
[ -x "$DEB_MKFS" ] || skip "needs Debian's mkfs.erofs at $DEB_MKFS"
zsrc=$WORK/zsrc
python3 - "$zsrc" <<'EOF' || die "cannot build the compressed tree"
import os, random, sys
top = sys.argv[1]
r = random.Random(5)
words = [b"alpha", b"beta", b"gamma", b"delta", b"\n", b"erofs"]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + b" "
    return bytes(out[:n])
os.makedirs(top)
open(os.path.join(top, "big"), "wb").write(
    b"".join(text(1500) + r.randbytes(1000) for _ in range(40)))
open(os.path.join(top, "tail"), "wb").write(text(5000))
EOF
"$DEB_MKFS" -zlz4hc -C16384 -Eztailpacking "$WORK/zc.img" "$zsrc" >/dev/null 2>&1 &&
	"$DEB_MKFS" -zlz4hc -C16384 -Elegacy-compress "$WORK/zf.img" "$zsrc" >/dev/null 2>&1 ||
	die "Debian mkfs.erofs -zlz4hc failed"
for img in "$WORK/zc.img" "$WORK/zf.img"; do
	"$OUR_FSCK" "$img" >"$WORK/run.out" 2>&1 ||
		die "the good compressed image $(basename "$img") is not clean"
done
mkdir -p "$WORK/zbad"
python3 "$tests_srcdir/fuzz/mkcorrupt.py" --compressed "$WORK/zc.img" "$WORK/zf.img" \
	"$WORK/zbad" >"$WORK/zbad/manifest" || die "mkcorrupt.py --compressed failed"
run_manifest "$WORK/zbad" "lz4hc"
check "lz4hc: mkcorrupt.py made at least 10 compressed images ($n)" [ $n -ge 10 ]

# every fuzz seed (good, corrupt and fuzzer-made) through --extract and
# dump: no crash, and nothing written outside the target directory
for img in "$tests_srcdir"/fuzz/corpus/* "$tests_srcdir"/fuzz/crashers/*; do
	[ -f "$img" ] || continue
	name=fuzz/$(basename "$img")
	rm -rf "$WORK/xt"
	mkdir -p "$WORK/xt/target"
	"$OUR_FSCK" --extract="$WORK/xt/target" "$img" >"$WORK/run.out" 2>&1
	no_crash "$name: fsck.erofs --extract" $? || continue
	if [ "$(ls -A "$WORK/xt")" = target ]; then
		pass "$name: --extract does not crash and stays inside its target"
	else
		fail "$name: --extract wrote outside its target: $(ls -A "$WORK/xt")"
	fi
	for args in "-S" "--ls"; do
		"$OUR_DUMP" $args "$img" >"$WORK/run.out" 2>&1
		no_crash "$name: dump.erofs $args" $? || break
	done
done

finish
