#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Configures and builds erofs-forge out of tree in BUILDDIR (relative to the
# top of the source tree unless absolute). Reruns configure only when there
# is no Makefile yet or the configure arguments changed, so calling it again
# is cheap. Both quickstart.sh and run-tests.sh build through here.
#
# usage: scripts/build.sh BUILDDIR [CONFIGURE-ARGUMENT...]
set -euo pipefail

if (($# < 1)); then
	echo "usage: $0 BUILDDIR [CONFIGURE-ARGUMENT...]" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$1
shift
[[ $builddir == /* ]] || builddir=$top/$builddir

cd "$top"
# configure refuses a VPATH build next to an in-tree one; say how to fix it
# rather than cleaning someone's in-tree build behind their back.
if [[ -f config.status ]]; then
	echo "build: $top was configured in the source tree; out-of-tree builds need" >&2
	echo "build: that undone first: run 'make distclean' in $top" >&2
	exit 1
fi
if [[ ! -x configure ]]; then
	echo "build: generating configure"
	./autogen.sh
fi

mkdir -p "$builddir"
cd "$builddir"
args_file=.erofs-forge-configure-args
want=$(printf '%q ' "$@")
if [[ ! -f Makefile || ! -f $args_file || $(cat "$args_file") != "$want" ]]; then
	echo "build: configuring $builddir${*:+ with $*}"
	rm -f "$args_file"
	"$top/configure" "$@"
	printf '%s' "$want" >"$args_file"
fi

echo "build: make in $builddir"
make -j"$(nproc)" --no-print-directory
