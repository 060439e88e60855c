#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Installs the Debian 12 packages that building, testing and benchmarking
# erofs-forge need. Silent when they are all there already, so the other
# scripts can call it on every run; `apt-get update` only runs when something
# is missing. Extra package names given as arguments are installed too.
#
# usage: scripts/install-deps.sh [PACKAGE...]
set -euo pipefail

packages=(
	# build
	build-essential autoconf automake libtool pkg-config
	libssl-dev liblz4-dev libzstd-dev zlib1g-dev liblzma-dev uuid-dev libxxhash-dev
	libarchive-dev
	# tests: Debian's erofs-utils 1.5 is the second checker; mount(8) and
	# losetup(8) live in "mount", not in "util-linux"
	erofs-utils attr acl python3 util-linux mount kmod openssl
	# veritysetup checks the dm-verity trees mkfs.erofs --verity writes
	cryptsetup-bin
	# tests: archives to read with --tar
	tar libarchive-tools gzip zstd xz-utils bzip2
	# tests: strace holds a system call, so that a signal (pkill, from
	# procps) lands mid-build
	strace procps
	# bench: the squashfs peer, GNU time for peak RSS, xz for the kernel tree
	squashfs-tools time xz-utils
	"$@"
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

if ((EUID == 0)); then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run this script as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
