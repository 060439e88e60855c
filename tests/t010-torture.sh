#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The torture tree (gen-torture.sh: every file type, awkward names, 20,000
# entries in one directory, paths longer than PATH_MAX, hard-link groups,
# large uids, old and far-future mtimes, all kinds of xattrs, a 1 GiB
# sparse file) built with every block size, then with xattrs disabled
# (-x -1) and with every xattr shared (-x 0).  Each image must be accepted by
# erofs-utils 1.5 where that version can read it, mount, and equal the source
# in every respect treecmp checks.

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd python3
find_treecmp

src=$WORK/src
log "generating the torture tree (20,000-entry directory, 200 levels deep)"
# GEN_TORTURE_FLAGS is for trying the test with older tools only
bash "$GEN_TORTURE" "$src" ${GEN_TORTURE_FLAGS:-} || die "gen-torture.sh failed"

for bs in 4096 512 1024 2048; do
	log "--- block size $bs"
	build_mount_compare "bs$bs" "$src" "-b $bs" ""
done

log "--- per-file mtimes as an older reader sees them"
if build "$WORK/times.img" "$src"; then
	deb_check_mtimes "$WORK/times.img" "$src" README sizes/size-0 times/epoch \
		times/epoch-plus-1ns times/before-1970 times/before-1970-ns times/year-1902 \
		times/y2038-minus-1 times/y2038 times/year-2100 times/year-2400 \
		times/recent times/recent-ns times/same-second-a times/same-second-b \
		times/dir-2100 times/symlink-1969 times/fifo-2038 times
	rm -f "$WORK/times.img"
else
	fail "mkfs.erofs (no options) succeeds"
fi

log "--- xattrs disabled (-x -1)"
build_mount_compare "noxattr" "$src" "-x -1" "--no-xattrs"

log "--- every xattr shared (-x 0)"
build_mount_compare "xshared" "$src" "-x 0" ""

finish
