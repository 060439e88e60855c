#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fsck.erofs --extract against what is already in the target directory and
# the preserve switches: a non-empty directory needs --force; an entry in
# the way needs --overwrite; a symlink planted where the image has a
# directory or a file is never followed, so nothing outside the target
# changes; --no-preserve extracts as the caller with the umask applied;
# hard links come out as hard links.  Needs root (owners).

. "$(dirname "$0")/lib.sh"

require_root
require_mkfs
find_treecmp
[ -x "$OUR_FSCK" ] || die "fsck.erofs not found at $OUR_FSCK"

src=$WORK/src
mkdir -p "$src/d/e"
echo one >"$src/file"
echo two >"$src/d/e/f"
ln "$src/file" "$src/d/hard"
ln -s /etc/passwd "$src/d/abs-link"
chown 1234:5678 "$src/file"
chmod 4755 "$src/file"
build "$WORK/img" "$src" || die "mkfs.erofs failed"

x() {
	"$OUR_FSCK" "$@" "$WORK/img" >"$WORK/x.out" 2>&1
}

out=$WORK/out
x --extract="$out"
check "extraction into a new directory" [ $? = 0 ]
compare_tree "$src" "$out" "the tree comes out equal"
check "hard links stay hard links" [ "$(stat -c %i "$out/file")" = "$(stat -c %i "$out/d/hard")" ]

x --extract="$out"
rc=$?
check "a non-empty target needs --force (exit $rc)" [ $rc = 2 ]
grep -q "not empty" "$WORK/x.out" || fail "the refusal says why"

x --extract="$out" --force
rc=$?
check "--force without --overwrite stops at existing files (exit $rc)" [ $rc = 1 ]
grep -q "File exists" "$WORK/x.out" || fail "the failure says 'File exists'"

x --extract="$out" --force --overwrite
check "--force --overwrite replaces everything" [ $? = 0 ]
compare_tree "$src" "$out" "the tree is equal after overwriting"

# planted symlinks: where the image has the directory d and the file
# d/e/f, the target holds links that lead outside
outside=$WORK/outside
mkdir -p "$outside/e"
echo keep >"$outside/e/f"
echo keep >"$outside/victim"
before=$(find "$outside" -printf '%p %s %T@\n' | sort | sha256sum)
rm -rf "$out"
mkdir -p "$out"
ln -s "$outside" "$out/d"
ln -s "$outside/victim" "$out/file"
x --extract="$out" --force
check "a planted symlink stops the extraction without --overwrite" [ $? = 1 ]
x --extract="$out" --force --overwrite
check "--overwrite replaces planted symlinks" [ $? = 0 ]
after=$(find "$outside" -printf '%p %s %T@\n' | sort | sha256sum)
check "nothing outside the target changed" [ "$before" = "$after" ]
check "the planted links are gone" [ ! -L "$out/d" ] && [ ! -L "$out/file" ]
compare_tree "$src" "$out" "the tree is equal after replacing the planted links"

rm -rf "$out"
(umask 027 && "$OUR_FSCK" --extract="$out" --no-preserve "$WORK/img" >"$WORK/x.out" 2>&1)
check "--no-preserve succeeds" [ $? = 0 ]
check "--no-preserve: owner is the caller" [ "$(stat -c %u:%g "$out/file")" = "0:0" ]
check "--no-preserve: mode masked by the umask" [ "$(stat -c %a "$out/file")" = 750 ]

rm -rf "$out"
x --extract="$out" --no-preserve-owner
check "--no-preserve-owner succeeds" [ $? = 0 ]
check "--no-preserve-owner: owner is the caller" [ "$(stat -c %u:%g "$out/file")" = "0:0" ]
check "--no-preserve-owner: set-uid bit kept" [ "$(stat -c %a "$out/file")" = 4755 ]

rm -rf "$out"
x --extract="$out" --no-preserve --preserve-owner
check "--preserve-owner after --no-preserve keeps owners" \
	[ "$(stat -c %u:%g "$out/file")" = "1234:5678" ]

x --overwrite
check "extraction options without --extract=DIR are refused" [ $? = 2 ]

finish
