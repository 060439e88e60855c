#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A real tree that Debian installs (/usr/share/perl, else /usr/include),
# built in place without copying: the image mounts and equals the tree, and
# erofs-utils 1.5 accepts it.  Built with 4096- and 1024-byte blocks; when
# both trees exist, /usr/include is built as well.

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
find_treecmp

src=
for d in /usr/share/perl /usr/include; do
	if [ -d "$d" ]; then
		src=$d
		break
	fi
done
[ -n "$src" ] || skip "neither /usr/share/perl nor /usr/include exists"
log "source: $src ($(find "$src" | wc -l) entries)"

build_mount_compare "real4096" "$src" "" ""
build_mount_compare "real1024" "$src" "-b 1024" ""
if [ "$src" != /usr/include ] && [ -d /usr/include ]; then
	log "source: /usr/include ($(find /usr/include | wc -l) entries)"
	build_mount_compare "include" /usr/include "" ""
fi

finish
