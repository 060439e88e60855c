#!/bin/bash
# SPDX-License-Identifier: MIT
#
# regen.sh MKFS: remakes the committed images of this directory with MKFS,
# an mkfs.erofs of erofs-utils 1.8 or later (they were made with 1.8.6).
# The images are committed so that the tests need no such mkfs; run this
# only to change the set, and say so in README.md.
set -euo pipefail
mkfs=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/mktree.py" "$work/src"
pin=(-T1700000000 -U 6a7e8bc9-5a7d-4b9f-9a43-1d2e3f405162 --all-root --quiet)
while read -r name args; do
	# shellcheck disable=SC2086
	"$mkfs" "${pin[@]}" $args "$here/$name.img" "$work/src"
done <"$here/images.list"
