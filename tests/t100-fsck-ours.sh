#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Our fsck.erofs on images our mkfs.erofs builds from the torture tree
# (gen-torture.sh --small), with every block size, all xattrs shared, xattrs
# dropped and long xattr prefixes: the check is clean, --extract without a
# directory reads every byte, and --extract=DIR gives back a tree equal to
# the source (treecmp: content, types, modes, owners, mtimes, xattrs,
# devices, hard links).  Needs root for the tree, not for mounting.

. "$(dirname "$0")/lib.sh"

require_root
require_mkfs
require_cmd python3
find_treecmp
[ -x "$OUR_FSCK" ] || die "fsck.erofs not found at $OUR_FSCK"

src=$WORK/src
bash "$GEN_TORTURE" "$src" --small >/dev/null || die "gen-torture.sh failed"

# fsck_extract NAME MKFS-ARGS TREECMP-ARGS
fsck_extract() {
	local name=$1 margs=$2 targs=$3 img=$WORK/$1.img
	# shellcheck disable=SC2086
	if ! build $margs "$img" "$src"; then
		fail "$name: mkfs.erofs $margs succeeds"
		return
	fi
	if "$OUR_FSCK" "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: fsck.erofs finds the image clean"
	else
		fail "$name: fsck.erofs rejects the image"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	if "$OUR_FSCK" --extract "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: fsck.erofs --extract reads every byte"
	else
		fail "$name: fsck.erofs --extract (no directory) fails"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	# shellcheck disable=SC2086
	check_extract "$img" "$src" "$name" $targs
	rm -f "$img"
}

for bs in 4096 512 1024 2048; do
	fsck_extract "bs$bs" "-b $bs" ""
done
fsck_extract "xshared" "-x 0" ""
fsck_extract "noxattr" "-x -1" "--no-xattrs"
fsck_extract "prefixes" "-b 1024 --xattr-prefix=trusted.overlay. --xattr-prefix=user.long" ""
fsck_extract "pinned" "-T 1700000000 --all-root" "--mtime=1700000000 --uid=0 --gid=0"

finish
