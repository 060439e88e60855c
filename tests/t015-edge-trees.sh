#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Small trees at the edges of the format:
#   - an empty source directory
#   - a root directory with an odd mode, owner, mtime, xattrs and ACLs
#   - a file with 70,000 hard links and a directory with 66,000
#     subdirectories (link counts above 65535; built on tmpfs, since ext4
#     stops at 65000)
#   - sparse files of 4 GiB - 1, 4 GiB and 4 GiB + 1 bytes (the 32-bit size
#     boundary of compact inodes)
#   - SOURCE given through a symlink, with a trailing slash, as a relative
#     path, and as "." with the image inside it

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd python3 setfattr setfacl
find_treecmp

log "--- an empty source directory"
mkdir -p "$WORK/empty"
touch -d @1500000000.5 "$WORK/empty"
build_mount_compare "empty" "$WORK/empty" "" ""
build_mount_compare "empty512" "$WORK/empty" "-b 512" ""

log "--- an odd root directory"
root=$WORK/oddroot
mkdir -p "$root"
echo content >"$root/file"
setfattr -n user.on-root -v "root xattr" "$root"
setfattr -n trusted.overlay.opaque -v y "$root"
setfacl -m u:1234:rwx "$root"
setfacl -d -m u:4321:r-x "$root"
chown 100000:100001 "$root"
chmod 1751 "$root"
touch -d @-12345.678 "$root/file"
touch -d @4000000000.999999999 "$root"
build_mount_compare "oddroot" "$root" "" ""
build_mount_compare "oddroot-noxattr" "$root" "-x -1" "--no-xattrs"

log "--- link counts above 65535 (on tmpfs)"
if mount_tmpfs "$WORK/tmpfs" 1g; then
	python3 - "$WORK/tmpfs/links" <<'PYEOF' || die "cannot create the link tree"
import os, sys
top = sys.argv[1]
os.makedirs(top + "/hl")
os.makedirs(top + "/subdirs")
with open(top + "/hl/target", "w") as f:
    f.write("one inode, 70000 names\n")
fd = os.open(top + "/hl", os.O_RDONLY | os.O_DIRECTORY)
for i in range(1, 70000):
    os.link("target", "l%05d" % i, src_dir_fd=fd, dst_dir_fd=fd)
os.close(fd)
fd = os.open(top + "/subdirs", os.O_RDONLY | os.O_DIRECTORY)
for i in range(66000):
    os.mkdir("d%05d" % i, dir_fd=fd)
os.close(fd)
for d in ("hl", "subdirs", ""):
    os.utime(os.path.join(top, d), ns=(1600000000 * 10**9, 1600000000 * 10**9))
PYEOF
	check "tmpfs: the source file has 70000 links" \
		[ "$(stat -c %h "$WORK/tmpfs/links/hl/target")" = 70000 ]
	build_mount_compare "links" "$WORK/tmpfs/links" "" ""
	rm -rf "$WORK/tmpfs/links"
else
	fail "cannot mount a tmpfs"
fi

log "--- sizes around 4 GiB"
mkdir -p "$WORK/sizes"
for n in $(((4 << 30) - 1)) $((4 << 30)) $(((4 << 30) + 1)); do
	truncate -s "$n" "$WORK/sizes/size-$n"
	printf 'end' | dd of="$WORK/sizes/size-$n" bs=1 seek=$((n - 3)) conv=notrunc status=none
done
touch -d @1600000000 "$WORK/sizes"/* "$WORK/sizes"
build_mount_compare "sizes4g" "$WORK/sizes" "" ""

log "--- ways of naming SOURCE and IMAGE"
src=$WORK/named
mkdir -p "$src/sub"
echo a >"$src/a"
echo b >"$src/sub/b"
ln -s missing "$src/link"
touch -h -d @1600000000 "$src/a" "$src/sub/b" "$src/link" "$src/sub" "$src"
build -T 1 -U clear "$WORK/ref.img" "$src" || fail "reference build"
ln -s "$src" "$WORK/src-link"
if build -T 1 -U clear "$WORK/via-link.img" "$WORK/src-link"; then
	check "SOURCE through a symlink: the same image" cmp -s "$WORK/ref.img" "$WORK/via-link.img"
else
	fail "SOURCE through a symlink: mkfs.erofs succeeds"
fi
if build -T 1 -U clear "$WORK/slash.img" "$src/"; then
	check "SOURCE with a trailing slash: the same image" cmp -s "$WORK/ref.img" "$WORK/slash.img"
else
	fail "SOURCE with a trailing slash: mkfs.erofs succeeds"
fi
if (cd "$WORK" && "$MKFS" -q -T 1 -U clear rel.img named); then
	check "relative IMAGE and SOURCE: the same image" cmp -s "$WORK/ref.img" "$WORK/rel.img"
else
	fail "relative IMAGE and SOURCE: mkfs.erofs succeeds"
fi
if (cd "$src" && "$MKFS" -q -T 1 -U clear inside.img .); then
	mv "$src/inside.img" "$WORK/inside.img"
	touch -d @1600000000 "$src"
	check "SOURCE '.' with the image inside it: the image is left out" \
		cmp -s "$WORK/ref.img" "$WORK/inside.img"
else
	rm -f "$src/inside.img"
	fail "SOURCE '.' with the image inside it: mkfs.erofs succeeds"
fi
if (cd "$src/sub" && "$MKFS" -q -T 1 -U clear ../inside.img ..); then
	mv "$src/inside.img" "$WORK/inside2.img"
	touch -d @1600000000 "$src"
	check "SOURCE '..' with the image given as '../inside.img': the image is left out" \
		cmp -s "$WORK/ref.img" "$WORK/inside2.img"
else
	rm -f "$src/inside.img"
	fail "SOURCE '..' with the image inside it: mkfs.erofs succeeds"
fi

finish
