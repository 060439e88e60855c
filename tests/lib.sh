# SPDX-License-Identifier: MIT
#
# tests/lib.sh: sourced by every end-to-end test (tests/tNNN-*.sh).
#
# It finds the binaries, makes a private work directory, and installs a trap
# that unmounts whatever the test mounted, detaches loop devices and removes
# the work directory, also when the test fails or is interrupted.
#
# Environment:
#   top_srcdir, top_builddir  set by `make check`; default to the repository
#                             that holds this file
#   MKFS                      mkfs.erofs under test
#                             (default $top_builddir/mkfs/mkfs.erofs)
#   DEB_FSCK, DEB_DUMP        erofs-utils 1.5 tools used as a second oracle
#   CI=true                   a test that cannot run (no root, no loop mount)
#                             fails instead of being skipped
#   TMPDIR                    where work directories go (must support xattrs)
#   KEEP_WORK=1               keep the work directory for a post-mortem
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.

set -u
export LC_ALL=C
umask 022

TEST_NAME=$(basename "$0" .sh)

__lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$__lib_dir/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# make check passes relative paths; the tests change directories
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
tests_srcdir=$top_srcdir/tests

MKFS=${MKFS:-$top_builddir/mkfs/mkfs.erofs}
OUR_FSCK=${OUR_FSCK:-$top_builddir/fsck/fsck.erofs}
DEB_FSCK=${DEB_FSCK:-/usr/bin/fsck.erofs}
DEB_DUMP=${DEB_DUMP:-/usr/bin/dump.erofs}
DEB_MKFS=${DEB_MKFS:-/usr/bin/mkfs.erofs}
# shellcheck disable=SC2034  # used by the tests that source this file
GEN_TORTURE=$tests_srcdir/gen-torture.sh

# feature_incompat bits that erofs-utils 1.5 knows: ZERO_PADDING,
# COMPR_CFGS, BIG_PCLUSTER, CHUNKED_FILE, DEVICE_TABLE, ZTAILPACKING
DEB_KNOWN_INCOMPAT=$((0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20))

__checks=0
__failures=0
__mounts=()
__loops=()

# ------------------------------------------------------------ reporting

log() {
	printf '%s\n' "$*"
}

pass() {
	__checks=$((__checks + 1))
	printf 'ok %d - %s\n' "$__checks" "$*"
}

# A failed check: reported, counted, and the test goes on.
fail() {
	__checks=$((__checks + 1))
	__failures=$((__failures + 1))
	printf 'FAIL %d - %s\n' "$__checks" "$*"
}

# Something the test cannot continue after.
die() {
	printf 'FATAL: %s\n' "$*"
	__failures=$((__failures + 1))
	exit 1
}

# The environment cannot run this test: skip, or fail under CI=true.
skip() {
	if [ "${CI:-}" = true ]; then
		printf 'FAIL: cannot run (%s), and CI=true forbids skipping\n' "$*"
		exit 1
	fi
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# A test that only runs on request: skipped even under CI.
skip_optin() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# Runs "$@" as one check.
check() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc"
	fi
}

finish() {
	if [ "$__failures" -gt 0 ]; then
		printf '%s: %d of %d checks failed\n' "$TEST_NAME" "$__failures" "$__checks"
		exit 1
	fi
	printf '%s: all %d checks passed\n' "$TEST_NAME" "$__checks"
	exit 0
}

# ------------------------------------------------------------ cleanup

__cleanup() {
	local rc=$? i m
	set +e
	trap - EXIT INT TERM HUP
	for ((i = ${#__mounts[@]} - 1; i >= 0; i--)); do
		m=${__mounts[i]}
		[ -n "$m" ] || continue
		if mountpoint -q "$m" 2>/dev/null; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
				echo "warning: cannot unmount $m" >&2
		fi
	done
	for m in "${__loops[@]}"; do
		[ -n "$m" ] && losetup -d "$m" 2>/dev/null
	done
	# loop devices still backed by files of this test (mount -o loop
	# normally detaches them itself)
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		losetup -n -O NAME,BACK-FILE 2>/dev/null |
		while read -r dev file; do
			case $file in
			"$WORK"/*) losetup -d "$dev" 2>/dev/null ;;
			esac
		done
		if [ "${KEEP_WORK:-0}" = 1 ]; then
			echo "work directory kept: $WORK" >&2
		else
			# a directory left at mode 000 or immutable must not stop us
			chmod -R u+rwx "$WORK" 2>/dev/null
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

trap __cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

WORK=$(mktemp -d "${TMPDIR:-/tmp}/erofs-$TEST_NAME.XXXXXX") ||
	{ echo "cannot create a work directory" >&2; exit 99; }

# ------------------------------------------------------------ requirements

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (mounts, device nodes, owners)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

require_mkfs() {
	[ -x "$MKFS" ] || die "mkfs.erofs not found at $MKFS (build it, or set MKFS)"
	log "mkfs under test: $MKFS"
}

# Proves that an EROFS image can be loop-mounted here, with an image built
# by an independent tool when there is one, so that a broken mkfs under
# test cannot turn its own failures into skips.
require_mount() {
	require_root
	local probe=$WORK/.probe src=$WORK/.probe-src mnt=$WORK/.probe-mnt
	mkdir -p "$src" "$mnt"
	echo probe >"$src/file"
	if ! grep -qw erofs /proc/filesystems 2>/dev/null; then
		modprobe erofs 2>/dev/null
		grep -qw erofs /proc/filesystems 2>/dev/null ||
			skip "the kernel has no EROFS support"
	fi
	[ -e /dev/loop-control ] || skip "no loop device support"
	if [ -x "$DEB_MKFS" ]; then
		"$DEB_MKFS" "$probe" "$src" >/dev/null 2>&1 ||
			skip "cannot build a probe image with $DEB_MKFS"
	else
		"$MKFS" "$probe" "$src" >/dev/null 2>&1 ||
			die "cannot build even a one-file image with $MKFS"
	fi
	if ! mount -t erofs -o loop,ro "$probe" "$mnt" 2>"$WORK/.probe-err"; then
		skip "cannot loop-mount an EROFS image: $(cat "$WORK/.probe-err")"
	fi
	umount "$mnt"
	rm -rf "$probe" "$src" "$mnt" "$WORK/.probe-err"
}

# treecmp: the built one, or compiled here from source.
find_treecmp() {
	TREECMP=$top_builddir/tests/tools/treecmp
	if [ ! -x "$TREECMP" ]; then
		TREECMP=$WORK/treecmp
		${CC:-cc} -std=gnu11 -O2 -Wall -o "$TREECMP" \
			"$tests_srcdir/tools/treecmp.c" ||
			die "cannot build treecmp"
	fi
}

# ------------------------------------------------------------ images

# mount_image IMG DIR [extra mount options]
mount_image() {
	local img=$1 dir=$2 opts=${3:-}
	mkdir -p "$dir"
	if mount -t erofs -o "loop,ro${opts:+,$opts}" "$img" "$dir" 2>"$WORK/mount.err"; then
		__mounts+=("$dir")
		return 0
	fi
	log "mount of $img failed: $(cat "$WORK/mount.err")"
	dmesg 2>/dev/null | tail -n 5 | sed 's/^/    dmesg: /'
	return 1
}

# attach_ro FILE: a read-only loop device for FILE in $LOOPDEV, detached
# with detach_loops or at exit.  Blobs and other extra devices of a
# loop-mounted image are attached this way.
attach_ro() {
	LOOPDEV=$(losetup -r -f --show "$1") || return 1
	__loops+=("$LOOPDEV")
}

detach_loops() {
	local i
	for i in "${!__loops[@]}"; do
		losetup -d "${__loops[i]}" 2>/dev/null
		__loops[i]=
	done
}

# mount_with_devices IMG DIR FILE...: IMG mounted with each FILE attached
# read-only as its extra devices, in device table order
mount_with_devices() {
	local img=$1 dir=$2 opts="" f
	shift 2
	for f in "$@"; do
		attach_ro "$f" || return 1
		opts="$opts${opts:+,}device=$LOOPDEV"
	done
	mount_image "$img" "$dir" "$opts"
}

# mount_tmpfs DIR SIZE: a small filesystem, e.g. to run out of space
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" || return 1
	__mounts+=("$1")
}

umount_image() {
	local dir=$1 i
	umount "$dir" || return 1
	for i in "${!__mounts[@]}"; do
		[ "${__mounts[i]}" = "$dir" ] && __mounts[i]=
	done
	return 0
}

# run_mkfs ARGS...: runs $MKFS, keeping stdout and stderr in
# $WORK/mkfs.out and $WORK/mkfs.err; returns its exit status.
run_mkfs() {
	local rc
	"$MKFS" "$@" >"$WORK/mkfs.out" 2>"$WORK/mkfs.err"
	rc=$?
	MKFS_RC=$rc
	return $rc
}

# Like run_mkfs, but a failure is reported with the command and its stderr.
build() {
	if run_mkfs "$@"; then
		return 0
	fi
	log "mkfs.erofs $* exited with $MKFS_RC:"
	head -n 20 "$WORK/mkfs.err" | sed 's/^/    /'
	return 1
}

# sb_u8/sb_u16/sb_u32/sb_u64 IMG OFFSET: little-endian superblock fields,
# OFFSET relative to the superblock at 1024.
sb_field() {
	od -An -v -t "u$3" -j $((1024 + $2)) -N "$3" --endian=little "$1" | tr -d ' '
}
sb_u8() { sb_field "$1" "$2" 1; }
sb_u16() { sb_field "$1" "$2" 2; }
sb_u32() { sb_field "$1" "$2" 4; }
sb_u64() { sb_field "$1" "$2" 8; }

sb_incompat() { sb_u32 "$1" $((0x50)); }
# build time: epoch, plus the 32-bit offset at 0x6C in 48-bit images
sb_build_time() {
	local t
	t=$(sb_u64 "$1" $((0x18)))
	if [ $(($(sb_incompat "$1") & 0x80)) -ne 0 ]; then
		t=$((t + $(sb_u32 "$1" $((0x6C)))))
	fi
	echo "$t"
}
sb_blkszbits() { sb_u8 "$1" $((0x0C)); }

# Can erofs-utils 1.5 read this image?  Sets DEB_WHY when it cannot.
deb_can_read() {
	local img=$1 incompat bits
	DEB_WHY=
	if [ ! -x "$DEB_FSCK" ]; then
		DEB_WHY="$DEB_FSCK is not installed"
		return 1
	fi
	incompat=$(sb_incompat "$img")
	if [ $((incompat & ~DEB_KNOWN_INCOMPAT)) -ne 0 ]; then
		DEB_WHY=$(printf 'image has feature_incompat 0x%x; erofs-utils 1.5 knows only 0x%x' \
			"$incompat" "$DEB_KNOWN_INCOMPAT")
		return 1
	fi
	# erofs-utils 1.5 supports only blocks of the page size
	bits=$(sb_blkszbits "$img")
	if [ "$bits" != 12 ]; then
		DEB_WHY="block size $((1 << bits)): erofs-utils 1.5 reads only 4096-byte blocks"
		return 1
	fi
	return 0
}

# Our own fsck.erofs checks every image once it exists; a placeholder that
# cannot even print its version is not used.
our_fsck_usable() {
	if [ -z "${__our_fsck_usable:-}" ]; then
		__our_fsck_usable=no
		if [ -x "$OUR_FSCK" ] && "$OUR_FSCK" --version >/dev/null 2>&1; then
			__our_fsck_usable=yes
		else
			log "note: our fsck.erofs ($OUR_FSCK) is not usable yet; images are not checked with it"
		fi
	fi
	[ "$__our_fsck_usable" = yes ]
}

# check_image IMG: the independent readers accept the image.
check_image() {
	local img=$1 name=${2:-$(basename "$1")}
	if deb_can_read "$img"; then
		if "$DEB_FSCK" "$img" >"$WORK/fsck.out" 2>&1; then
			pass "$name: erofs-utils 1.5 fsck.erofs accepts the image"
		else
			fail "$name: erofs-utils 1.5 fsck.erofs rejects the image"
			head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
		fi
		if "$DEB_DUMP" -s "$img" >"$WORK/dump.out" 2>&1; then
			pass "$name: erofs-utils 1.5 dump.erofs -s runs"
		else
			fail "$name: erofs-utils 1.5 dump.erofs -s fails"
			head -n 20 "$WORK/dump.out" | sed 's/^/    /'
		fi
	else
		log "note: $name: erofs-utils 1.5 checks skipped: $DEB_WHY"
	fi
	if our_fsck_usable; then
		if "$OUR_FSCK" "$img" >"$WORK/fsck.out" 2>&1; then
			pass "$name: our fsck.erofs accepts the image"
		else
			fail "$name: our fsck.erofs rejects the image"
			head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
		fi
	fi
}

# deb_check_mtimes IMG SRC RELPATH...: erofs-utils 1.5 dump.erofs shows
# each file's source mtime.  That reader takes the time of a compact inode
# from the superblock alone, as kernels before 6.15 did, so this catches
# per-file times hidden in compact inodes, which newer kernels read but
# older ones do not.
deb_check_mtimes() {
	local img=$1 src=$2 p want got
	shift 2
	if ! deb_can_read "$img"; then
		log "note: mtimes not checked with erofs-utils 1.5: $DEB_WHY"
		return
	fi
	for p in "$@"; do
		want=$(TZ=UTC stat -c %y "$src/$p" | cut -c1-29)
		got=$(TZ=UTC "$DEB_DUMP" --path="/$p" "$img" 2>&1 |
			sed -n 's/^Timestamp: *//p' | cut -c1-29)
		if [ "$want" = "$got" ]; then
			pass "erofs-utils 1.5 reads the mtime of $p as $want"
		else
			fail "erofs-utils 1.5 reads the mtime of $p as '$got', expected $want"
		fi
	done
}

# check_extract IMG SRC NAME [treecmp options]: our fsck.erofs extracts the
# image (--extract, which checks it as well), and the extracted tree equals
# SRC as treecmp sees it.  Skipped when our fsck.erofs is not built.  A
# source inside $WORK is extracted next to itself, on its own filesystem
# (which may allow more than $WORK does, e.g. link counts on tmpfs).
check_extract() {
	local img=$1 src=$2 name=$3 out=$WORK/$3.extract
	shift 3
	case $src in
	"$WORK"/*) out=$(dirname "$src")/$name.extract ;;
	esac
	[ -x "$OUR_FSCK" ] || return 0
	rm -rf "$out"
	if "$OUR_FSCK" --extract="$out" "$img" >"$WORK/extract.out" 2>&1; then
		pass "$name: our fsck.erofs --extract succeeds"
		compare_tree "$src" "$out" "$name: extracted tree equals the source" "$@"
	else
		fail "$name: our fsck.erofs --extract fails"
		head -n 20 "$WORK/extract.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
}

# compare_tree SRC MNT DESC [treecmp options]
compare_tree() {
	local src=$1 mnt=$2 desc=$3
	shift 3
	if "$TREECMP" "$@" -- "$src" "$mnt" >"$WORK/treecmp.out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		head -n 40 "$WORK/treecmp.out" | sed 's/^/    /'
	fi
}

# build_mount_compare NAME SRC "MKFS ARGS" "TREECMP ARGS"
# Builds $WORK/NAME.img from SRC, checks it with the second oracle, mounts
# it on $WORK/NAME.mnt, compares and unmounts.
build_mount_compare() {
	local name=$1 src=$2 margs=$3 targs=$4
	local img=$WORK/$name.img mnt=$WORK/$name.mnt
	local shown=${margs:-(no options)}
	rm -f "$img"
	# shellcheck disable=SC2086
	if ! build $margs "$img" "$src"; then
		fail "$name: mkfs.erofs $shown succeeds"
		return 1
	fi
	pass "$name: mkfs.erofs $shown succeeds"
	check_image "$img" "$name"
	# shellcheck disable=SC2086
	check_extract "$img" "$src" "$name" $targs
	if ! mount_image "$img" "$mnt"; then
		fail "$name: the kernel mounts the image"
		return 1
	fi
	pass "$name: the kernel mounts the image"
	# shellcheck disable=SC2086
	compare_tree "$src" "$mnt" "$name: mounted image equals the source" $targs
	umount_image "$mnt" || fail "$name: unmount"
	rm -f "$img"
}

# sum FILE: a checksum for "is it untouched" checks
sum() {
	sha256sum "$1" | cut -d' ' -f1
}
