#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# The first thing to run on a fresh Debian 12 machine: installs what the build
# needs, builds erofs-forge in build/, makes an image of the bundled example
# tree and shows what is in it. Safe to run again; it redoes only what changed.
#
# usage: sudo scripts/quickstart.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '\n==> %s\n' "$*"; }

say "installing build dependencies (Debian packages)"
./scripts/install-deps.sh

say "building erofs-forge in build/"
# the same configuration as the first build of run-tests.sh, so that running
# one after the other does not rebuild everything
./scripts/build.sh build --enable-werror

mkfs=$top/build/mkfs/mkfs.erofs
src=$top/build/example-rootfs
img=$top/build/example.img

# git keeps only regular files and symlinks, so the kinds of entries it cannot
# hold are added to a copy of examples/rootfs here, not in the source tree.
say "staging examples/rootfs in build/example-rootfs"
rm -rf "$src"
cp -a examples/rootfs "$src"
mkdir -p "$src/srv/empty" "$src/var/lib"
ln "$src/etc/hostname" "$src/etc/hostname.hardlink"
mkfifo "$src/run.fifo"
# a sparse file: 8 MiB with 4 KiB of data in the middle becomes a chunk-based
# file whose holes take no space in the image
truncate -s 8M "$src/var/lib/sparse.bin"
printf 'data in the middle of a hole\n' |
	dd of="$src/var/lib/sparse.bin" bs=4096 seek=1024 conv=notrunc status=none
if setfattr -n user.example -v "kept in the image" "$src/etc/hostname" 2>/dev/null; then
	has_xattr=1
else
	has_xattr=0
	echo "(this filesystem does not take user.* xattrs; the example goes without)"
fi

say "building the image: mkfs.erofs -L example -T 1700000000 -U <fixed> build/example.img build/example-rootfs"
rm -f "$img"
"$mkfs" -L example -T 1700000000 -U ddfd9ea3-0c9d-40a3-b1bc-67bf8385570d "$img" "$src"

say "the image"
ls -l "$img"
# -T and -U pin every timestamp and the UUID, so this digest is the same on
# every run over the same tree
sha256sum "$img"

say "our dump.erofs -s reads its superblock"
"$top/build/dump/dump.erofs" -s "$img"

say "our fsck.erofs checks every inode, xattr, directory and block of it"
"$top/build/fsck/fsck.erofs" "$img"

say "Debian's fsck.erofs (erofs-utils $(dpkg-query -W -f='${Version}' erofs-utils)), an independent reader, checks it too"
/usr/bin/fsck.erofs "$img"
echo "Debian's fsck.erofs found no errors"

if ((EUID != 0)); then
	say "run as root to loop-mount the image and list it"
	exit 0
fi

mnt=$(mktemp -d /tmp/erofs-forge-example.XXXXXX)
cleanup() {
	if mountpoint -q "$mnt"; then
		umount "$mnt"
	fi
	rmdir "$mnt"
}
trap cleanup EXIT

say "mounting it with the kernel: mount -t erofs -o loop,ro build/example.img $mnt"
mount -t erofs -o loop,ro "$img" "$mnt"
(cd "$mnt" && ls -lR --time-style=+%F\ %T .)
if ((has_xattr)); then
	say "its xattrs"
	(cd "$mnt" && getfattr -d etc/hostname)
fi
say "unmounting"
umount "$mnt"
echo "done: the image is $img; mkfs.erofs is $mkfs"
