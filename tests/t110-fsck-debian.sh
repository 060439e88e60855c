#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Images made by Debian's mkfs.erofs (erofs-utils 1.5), the independent
# writer: our fsck.erofs finds them clean, and fsck.erofs --extract gives
# back the source tree.  Plain, extended-inode, chunked and blob-device
# (--device) images, and a compressed one.  The tree
# avoids what 1.5 cannot build (255-byte names, the torture tree's large
# xattr sets).

. "$(dirname "$0")/lib.sh"

require_root
require_cmd setfattr setfacl python3
find_treecmp
[ -x "$DEB_MKFS" ] || skip "needs Debian's mkfs.erofs at $DEB_MKFS"
[ -x "$OUR_FSCK" ] || die "fsck.erofs not found at $OUR_FSCK"

src=$WORK/src
mkdir -p "$src/dir/sub" "$src/empty"
(
	cd "$src" || exit 1
	for s in 0 1 100 4095 4096 4097 10000 65536 200000; do
		head -c $s /dev/urandom >f$s
	done
	ln -s f100 link
	ln -s "$(printf 'p%.0s' $(seq 1 200))" dir/longlink
	ln f100 dir/hard
	ln f100 dir/sub/hard2
	mknod chr c 1 3
	mknod blk b 259 70000
	mkfifo fifo
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
	truncate -s 1M sparse
	echo end >>sparse
	touch "$(printf 'n%.0s' $(seq 1 200))"
	setfattr -n user.a -v hello f1
	setfattr -n trusted.t -v 0x0001ff f1
	setfattr -n security.s -v lbl dir
	setfacl -m u:1234:r-x f100
	chown 1234:5678 f4096
	chown 100000:70000 f4097
	chmod 4755 f10000
	chmod 1777 empty
	touch -h -d @1600000000.123456789 link f0 dir
	touch -d @2000000000.5 f1
) || die "cannot build the source tree"

# deb_case NAME MKFS-ARGS [FSCK-ARGS]
deb_case() {
	local name=$1 margs=$2 fargs=${3:-} img=$WORK/$1.img out=$WORK/$1.out
	rm -f "$img"
	# shellcheck disable=SC2086
	if ! "$DEB_MKFS" $margs "$img" "$src" >"$WORK/deb.log" 2>&1; then
		fail "$name: Debian mkfs.erofs $margs succeeds"
		tr '\r' '\n' <"$WORK/deb.log" | grep -v Processing | tail -n 5 | sed 's/^/    /'
		return
	fi
	# shellcheck disable=SC2086
	if "$OUR_FSCK" $fargs "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: our fsck.erofs finds the Debian image clean"
	else
		fail "$name: our fsck.erofs rejects the Debian image"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
	# shellcheck disable=SC2086
	if "$OUR_FSCK" $fargs --extract="$out" "$img" >"$WORK/fsck.out" 2>&1; then
		pass "$name: our fsck.erofs --extract succeeds"
		compare_tree "$src" "$out" "$name: the extracted tree equals the source"
	else
		fail "$name: our fsck.erofs --extract fails"
		head -n 20 "$WORK/fsck.out" | sed 's/^/    /'
	fi
	rm -rf "$out"
}

deb_case "deb-plain" ""
deb_case "deb-extended" "-Eforce-inode-extended"
deb_case "deb-chunks" "--chunksize=4096"
deb_case "deb-chunks64k" "--chunksize=65536"
deb_case "deb-blobdev" "--chunksize=4096 --blobdev=$WORK/blob.img" "--device=$WORK/blob.img"

# a compressed image is read too (t160 covers compression in depth)
deb_case "deb-lz4hc" "-zlz4hc -C65536"

# the blob image without its device: the chunks point nowhere useful
if [ -f "$WORK/deb-blobdev.img" ] || "$DEB_MKFS" --chunksize=4096 --blobdev="$WORK/blob.img" \
	"$WORK/deb-blobdev.img" "$src" >/dev/null 2>&1; then
	"$OUR_FSCK" --device="$WORK/blob.img" --device="$WORK/blob.img" "$WORK/deb-blobdev.img" \
		>"$WORK/fsck.out" 2>&1
	rc=$?
	if [ $rc = 2 ] && grep -q "2 extra devices given, but the image has 1" "$WORK/fsck.out"; then
		pass "a wrong number of --device options is refused"
	else
		fail "a wrong number of --device options: exit $rc"
		sed 's/^/    /' "$WORK/fsck.out"
	fi
fi

finish
