#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every option that `mkfs.erofs --help` lists (the -x and --long tokens at
# the start of its option lines) is documented in man/mkfs.erofs.1.  The man
# page is compared with its roff escapes (\-, \f?) taken out.  Needs no root.

. "$(dirname "$0")/lib.sh"

require_mkfs
man=$top_srcdir/man/mkfs.erofs.1
[ -f "$man" ] || die "no man page at $man"

if ! run_mkfs --help; then
	fail "mkfs.erofs --help exits 0 (exit $MKFS_RC)"
	finish
fi

# option lines start with blanks and a dash; the option part ends where
# two blanks separate it from its description, e.g. "  -b SIZE   block
# size", "  -q, --quiet   ...", "  --force-uid=UID   ..."
opts=$(sed -nE 's/^[[:space:]]+(-([^ ]| [^ ])*)( {2,}.*)?$/\1/p' "$WORK/mkfs.out" |
	grep -oE '(^|[ ,])--?[A-Za-z0-9][-A-Za-z0-9]*' | sed -E 's/^[ ,]//' | sort -u)
n=$(printf '%s\n' "$opts" | grep -c .)
if [ "$n" -ge 5 ]; then
	pass "--help lists $n options"
else
	fail "--help lists only $n options"
	sed 's/^/    /' "$WORK/mkfs.out"
fi

# the man page as plain text: \- -> -, font escapes and \& removed
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' "$man" >"$WORK/man.txt"

for o in $opts; do
	# the option as a whole word: not followed by more name characters
	if grep -qE -- "(^|[^-A-Za-z0-9])$o([^-A-Za-z0-9]|$)" "$WORK/man.txt"; then
		pass "$o is in the man page"
	else
		fail "$o is listed by --help but missing from man/mkfs.erofs.1"
	fi
done

finish
