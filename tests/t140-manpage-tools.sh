#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Like t070-manpage.sh, for fsck.erofs and dump.erofs: every option that
# `TOOL --help` lists (the -x and --long tokens at the start of its option
# lines) is documented in man/TOOL.1, read with its roff escapes (\-, \f?)
# taken out.  Needs no root.

. "$(dirname "$0")/lib.sh"

for tool in fsck dump; do
	bin=$top_builddir/$tool/$tool.erofs
	man=$top_srcdir/man/$tool.erofs.1
	[ -x "$bin" ] || die "$tool.erofs not found at $bin"
	[ -f "$man" ] || die "no man page at $man"

	if ! "$bin" --help >"$WORK/help.out" 2>&1; then
		fail "$tool.erofs --help exits 0"
		continue
	fi
	opts=$(sed -nE 's/^[[:space:]]+(-([^ ]| [^ ])*)( {2,}.*)?$/\1/p' "$WORK/help.out" |
		grep -oE '(^|[ ,])--?[A-Za-z0-9][-A-Za-z0-9]*' | sed -E 's/^[ ,]//' | sort -u)
	n=$(printf '%s\n' "$opts" | grep -c .)
	if [ "$n" -ge 5 ]; then
		pass "$tool.erofs --help lists $n options"
	else
		fail "$tool.erofs --help lists only $n options"
		sed 's/^/    /' "$WORK/help.out"
	fi
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' "$man" >"$WORK/man.txt"
	for o in $opts; do
		if grep -qE -- "(^|[^-A-Za-z0-9])$o([^-A-Za-z0-9]|$)" "$WORK/man.txt"; then
			pass "$tool.erofs: $o is in the man page"
		else
			fail "$tool.erofs: $o is listed by --help but missing from man/$tool.erofs.1"
		fi
	done
	"$bin" --version >"$WORK/v.out" 2>&1
	check "$tool.erofs --version names the tool" grep -q "^$tool.erofs " "$WORK/v.out"
done

finish
