#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Self-test of the oracle: treecmp must find every kind of difference the
# other tests rely on it to find, and must accept identical trees.  No image
# is built here; only plain directories are compared.

. "$(dirname "$0")/lib.sh"

require_root
require_cmd setfattr
find_treecmp

base=$WORK/base
mkdir -p "$base/dir/sub" "$base/other"
printf 'hello\n' >"$base/file"
head -c 100000 /dev/urandom >"$base/dir/big"
printf 'x' >"$base/dir/sub/small"
ln -s target "$base/link"
ln "$base/file" "$base/dir/hardlink"
printf 'a' >"$base/other/a"
printf 'a' >"$base/other/b"
mknod "$base/chr" c 1 3
mkfifo "$base/fifo"
truncate -s 1M "$base/sparse"
printf 'tail' | dd of="$base/sparse" bs=1 seek=$((1024 * 1024 - 4)) conv=notrunc status=none
setfattr -n user.x -v one "$base/file"
setfattr -h -n trusted.y -v two "$base/link"
chown 1000:1000 "$base/dir/big"
touch -h -d @1600000000.123456789 "$base"/* "$base"/dir/* "$base"/other/*

expect_same() {
	local desc=$1
	shift
	if "$TREECMP" "$@" >"$WORK/out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		sed 's/^/    /' "$WORK/out"
	fi
}

# expect_diff DESC PATTERN TREECMP-ARGS...: exit 1 and PATTERN in the output
expect_diff() {
	local desc=$1 pattern=$2 rc
	shift 2
	"$TREECMP" "$@" >"$WORK/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$pattern" "$WORK/out"; then
		pass "$desc"
	else
		fail "$desc (exit $rc, expected 1 and '$pattern')"
		sed 's/^/    /' "$WORK/out"
	fi
}

copy() {
	rm -rf "$WORK/copy"
	cp -a "$base" "$WORK/copy"
}

copy
expect_same "a tree equals its copy" "$base" "$WORK/copy"

copy; printf 'hellp\n' >"$WORK/copy/file.new"; cat "$WORK/copy/file.new" >"$WORK/copy/file"
rm "$WORK/copy/file.new"; touch -d @1600000000.123456789 "$WORK/copy/file" "$WORK/copy"
expect_diff "content" "'file': content differs" "$base" "$WORK/copy"

copy; printf 'X' | dd of="$WORK/copy/sparse" bs=1 seek=4096 conv=notrunc status=none
touch -d @1600000000.123456789 "$WORK/copy/sparse"
expect_diff "a byte written into a hole" "'sparse': content differs at byte 4096" "$base" "$WORK/copy"

copy; truncate -s 99999 "$WORK/copy/dir/big"; touch -d @1600000000.123456789 "$WORK/copy/dir/big"
expect_diff "size" "'dir/big': size differs" "$base" "$WORK/copy"

copy; chmod 4644 "$WORK/copy/file"
expect_diff "mode bits" "'file': mode differs" "$base" "$WORK/copy"

copy; chown 1001 "$WORK/copy/dir/big"
expect_diff "uid" "'dir/big': uid 1001" "$base" "$WORK/copy"

copy; chgrp 7 "$WORK/copy/dir/big"
expect_diff "gid" "'dir/big': gid 7" "$base" "$WORK/copy"

copy; touch -h -d @1600000000.123456788 "$WORK/copy/link"
expect_diff "mtime nanoseconds" "'link': mtime differs" "$base" "$WORK/copy"

copy; touch -d @1600000001 "$WORK/copy/dir"
expect_diff "directory mtime" "'dir': mtime differs" "$base" "$WORK/copy"

copy; ln -sfn targeu "$WORK/copy/link"; touch -h -d @1600000000.123456789 "$WORK/copy/link"
setfattr -h -n trusted.y -v two "$WORK/copy/link"; touch -d @1600000000.123456789 "$WORK/copy"
expect_diff "symlink target" "'link': symlink target differs" "$base" "$WORK/copy"

copy; rm "$WORK/copy/chr"; mknod "$WORK/copy/chr" c 1 4
touch -d @1600000000.123456789 "$WORK/copy/chr" "$WORK/copy"
expect_diff "device number" "'chr': device differs" "$base" "$WORK/copy"

copy; rm "$WORK/copy/fifo"; touch "$WORK/copy/fifo"
touch -d @1600000000.123456789 "$WORK/copy/fifo" "$WORK/copy"
expect_diff "file type" "'fifo': type differs" "$base" "$WORK/copy"

copy; setfattr -n user.x -v onf "$WORK/copy/file"
expect_diff "xattr value" "xattr 'user.x' differs" "$base" "$WORK/copy"

copy; setfattr -x user.x "$WORK/copy/file"
expect_diff "missing xattr" "xattr 'user.x' missing in B" "$base" "$WORK/copy"

copy; setfattr -h -n trusted.z -v 3 "$WORK/copy/link"
expect_diff "extra xattr on a symlink" "'link': xattr 'trusted.z' only in B" "$base" "$WORK/copy"

copy; rm "$WORK/copy/dir/hardlink"; cp -a "$base/file" "$WORK/copy/dir/hardlink"
setfattr -n user.x -v one "$WORK/copy/dir/hardlink"; touch -d @1600000000.123456789 "$WORK/copy/dir"
expect_diff "a hard link broken up" "not a hard link in B" "$base" "$WORK/copy"

copy; rm "$WORK/copy/other/b"; ln "$WORK/copy/other/a" "$WORK/copy/other/b"
touch -d @1600000000.123456789 "$WORK/copy/other"
expect_diff "two files merged into one inode" "'other/b': shares its inode in B" "$base" "$WORK/copy"

copy; printf '' >"$WORK/copy/extra"; touch -d @1600000000.123456789 "$WORK/copy"
expect_diff "an extra entry" "'extra': only in B" "$base" "$WORK/copy"

copy; rm -r "$WORK/copy/dir/sub"; touch -d @1600000000.123456789 "$WORK/copy/dir"
expect_diff "a missing subtree" "'dir/sub': only in A" "$base" "$WORK/copy"

# names that need escaping are printed escaped, on one line
copy; printf '' >"$WORK/copy/$(printf 'new\nline\377')"; touch -d @1600000000.123456789 "$WORK/copy"
expect_diff "escaped names" "'new\\\\x0aline\\\\xff': only in B" "$base" "$WORK/copy"

# options
copy; rm -r "$WORK/copy/dir/sub"; touch -d @1600000000.123456789 "$WORK/copy/dir"
expect_same "--exclude accepts the missing subtree (and nlink)" --exclude=dir/sub "$base" "$WORK/copy"
copy
expect_diff "--exclude notices an excluded entry present in B" "excluded, but present" \
	--exclude=dir/sub "$base" "$WORK/copy"
copy; chown -h -R 5:6 "$WORK/copy"
expect_same "--uid/--gid" --uid=5 --gid=6 "$base" "$WORK/copy"
copy
expect_diff "--uid notices other owners" "uid 0, expected 5" --uid=5 "$base" "$WORK/copy"
copy; find "$WORK/copy" -exec touch -h -d @1700000000 {} +
expect_same "--mtime" --mtime=1700000000 "$base" "$WORK/copy"
expect_diff "--mtime notices another time" "expected 1700000001" --mtime=1700000001 "$base" "$WORK/copy"
expect_same "--ignore-mtime" --ignore-mtime "$base" "$WORK/copy"
copy; find "$WORK/copy" -exec touch -h -d @1500000000 {} +
expect_same "--clamp-mtime" --clamp-mtime=1500000000 "$base" "$WORK/copy"
expect_diff "--clamp-mtime keeps older times" "expected clamped" --clamp-mtime=1500000001 "$base" "$WORK/copy"
copy; setfattr -x user.x "$WORK/copy/file"; setfattr -h -x trusted.y "$WORK/copy/link"
expect_same "--no-xattrs" --no-xattrs "$base" "$WORK/copy"
expect_diff "--no-xattrs notices an xattr" "present in B" --no-xattrs "$base" "$base"

finish
