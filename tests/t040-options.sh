#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every option of the mkfs.erofs command line contract, checked on a mounted
# image (and on the superblock where the option lands there):
#   -b, -L, -U (UUID, clear, random), -T, --all-root, --force-uid/--force-gid,
#   --exclude-path, --exclude-regex, -x, --xattr-prefix, --workers, -q, -d,
#   --help, --version, an IMAGE inside SOURCE (left out of the image), and
#   invalid values (exit 2, a message, no image).

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd python3 blkid setfattr
find_treecmp

src=$WORK/src
bash "$GEN_TORTURE" "$src" --small || die "gen-torture.sh failed"

# the bytes of a superblock field as hex
sb_hex() {
	od -An -v -tx1 -j $((1024 + $2)) -N "$3" "$1" | tr -d ' \n'
}

log "--- -b"
for bs in 512 1024 2048 4096; do
	img=$WORK/b$bs.img
	if build -b $bs "$img" "$src"; then
		bits=$(sb_blkszbits "$img")
		if [ $((1 << bits)) -eq $bs ]; then
			pass "-b $bs: blkszbits is $bits"
		else
			fail "-b $bs: blkszbits is $bits"
		fi
		if [ $(($(stat -c %s "$img") % bs)) -eq 0 ]; then
			pass "-b $bs: the image is a whole number of blocks"
		else
			fail "-b $bs: image size $(stat -c %s "$img") is not a multiple of $bs"
		fi
		blocks=$(sb_u32 "$img" $((0x24)))
		if [ $((blocks * bs)) -eq "$(stat -c %s "$img")" ]; then
			pass "-b $bs: the superblock block count matches the image size"
		else
			fail "-b $bs: superblock says $blocks blocks, image has $(stat -c %s "$img") bytes"
		fi
		rm -f "$img"
	else
		fail "-b $bs: mkfs.erofs succeeds"
	fi
done
if build "$WORK/default.img" "$src"; then
	check "no -b: 4096-byte blocks" [ "$(sb_blkszbits "$WORK/default.img")" = 12 ]
else
	fail "mkfs.erofs without options succeeds"
fi
build_mount_compare "b512" "$src" "-b 512" ""

log "--- -L"
label=forge-label-15c
if build -L "$label" "$WORK/label.img" "$src"; then
	got=$(blkid -p -o value -s LABEL "$WORK/label.img")
	check "-L: blkid reads the label '$label'" [ "$got" = "$label" ]
	want=$(printf '%s' "$label" | od -An -tx1 | tr -d ' \n')00
	check "-L: label bytes at superblock 0x40, NUL padded" \
		[ "$(sb_hex "$WORK/label.img" $((0x40)) 16)" = "$want" ]
else
	fail "-L $label: mkfs.erofs succeeds"
fi
if build -L "a" "$WORK/label.img" "$src"; then
	check "-L a: one-byte label" [ "$(blkid -p -o value -s LABEL "$WORK/label.img")" = a ]
else
	fail "-L a: mkfs.erofs succeeds"
fi

log "--- -U"
uuid=01234567-89ab-cdef-0123-456789abcdef
if build -U $uuid "$WORK/uuid.img" "$src"; then
	check "-U: blkid reads the UUID" \
		[ "$(blkid -p -o value -s UUID "$WORK/uuid.img")" = $uuid ]
	check "-U: raw bytes at superblock 0x30" \
		[ "$(sb_hex "$WORK/uuid.img" $((0x30)) 16)" = "${uuid//-/}" ]
	if deb_can_read "$WORK/uuid.img"; then
		"$DEB_DUMP" -s "$WORK/uuid.img" >"$WORK/dump.out" 2>&1
		check "-U: erofs-utils 1.5 dump.erofs -s shows the UUID" \
			grep -q "UUID: *$uuid" "$WORK/dump.out"
	fi
else
	fail "-U $uuid: mkfs.erofs succeeds"
fi
upper=ABCDEF01-2345-6789-ABCD-EF0123456789
if build -U $upper "$WORK/uuid.img" "$src"; then
	check "-U: upper-case UUID accepted" \
		[ "$(sb_hex "$WORK/uuid.img" $((0x30)) 16)" = abcdef0123456789abcdef0123456789 ]
else
	fail "-U $upper: mkfs.erofs succeeds"
fi
if build -U clear "$WORK/uuid.img" "$src"; then
	check "-U clear: the UUID is all zero" \
		[ "$(sb_hex "$WORK/uuid.img" $((0x30)) 16)" = 00000000000000000000000000000000 ]
else
	fail "-U clear: mkfs.erofs succeeds"
fi
if build -U random "$WORK/r1.img" "$src" && build -U random "$WORK/r2.img" "$src"; then
	r1=$(sb_hex "$WORK/r1.img" $((0x30)) 16)
	r2=$(sb_hex "$WORK/r2.img" $((0x30)) 16)
	check "-U random: two builds get different, non-zero UUIDs" \
		[ "$r1" != "$r2" -a "$r1" != 00000000000000000000000000000000 ]
else
	fail "-U random: mkfs.erofs succeeds"
fi

log "--- -T"
for t in 0 1 4102444800; do
	img=$WORK/t$t.img
	if build -T $t "$img" "$src"; then
		check "-T $t: superblock build time" [ "$(sb_build_time "$img")" = $t ]
		if mount_image "$img" "$WORK/mnt"; then
			compare_tree "$src" "$WORK/mnt" "-T $t: every mtime is $t" --mtime=$t
			umount_image "$WORK/mnt"
		else
			fail "-T $t: the image mounts"
		fi
	else
		fail "-T $t: mkfs.erofs succeeds"
	fi
done

log "--- owners"
build_mount_compare "all-root" "$src" "--all-root" "--uid=0 --gid=0"
build_mount_compare "force-both" "$src" "--force-uid=1234 --force-gid=5678" "--uid=1234 --gid=5678"
build_mount_compare "force-uid" "$src" "--force-uid=100000" "--uid=100000"
build_mount_compare "force-gid" "$src" "--force-gid=70000" "--gid=70000"
build_mount_compare "force-zero" "$src" "--force-uid=0 --force-gid=0" "--uid=0 --gid=0"

log "--- --exclude-path"
deep1=$(cd "$src/deep" && ls -d level-000-*)
build_mount_compare "exclude-path" "$src" \
	"--exclude-path=big --exclude-path=dirs/nested --exclude-path=names/-dash --exclude-path=xattrs/shared/s-03 --exclude-path=deep/$deep1/$(cd "$src/deep/$deep1" && ls -d level-001-*) --exclude-path=hardlinks/many-3" \
	"--exclude=big --exclude=dirs/nested --exclude=names/-dash --exclude=xattrs/shared/s-03 --exclude=deep/$deep1/$(cd "$src/deep/$deep1" && ls -d level-001-*) --exclude=hardlinks/many-3"
build_mount_compare "exclude-path-hl" "$src" \
	"--exclude-path=hardlinks/a" "--exclude=hardlinks/a"
# a path excludes itself, not its siblings that start with the same bytes
build_mount_compare "exclude-path-prefix" "$src" \
	"--exclude-path=dirs/empty --exclude-path=names/a --exclude-path=sizes/size-1" \
	"--exclude=dirs/empty --exclude=names/a --exclude=sizes/size-1"

log "--- --exclude-regex"
# exclude_regex NAME REGEX...: the expected set is every path relative to
# the root that grep -E matches; below a match, everything goes too
exclude_regex() {
	local name=$1 r margs=() targs=() grepargs=() p
	shift
	for r in "$@"; do
		margs+=("--exclude-regex=$r")
		grepargs+=(-e "$r")
	done
	while IFS= read -r -d '' p; do
		targs+=("--exclude=$p")
	done < <(cd "$src" && find . -mindepth 1 -printf '%P\0' | grep -zE "${grepargs[@]}")
	log "$name: ${#targs[@]} paths match"
	rm -f "$WORK/$name.img"
	if ! build "${margs[@]}" "$WORK/$name.img" "$src"; then
		fail "$name: mkfs.erofs ${margs[*]} succeeds"
		return
	fi
	pass "$name: mkfs.erofs ${margs[*]} succeeds"
	if mount_image "$WORK/$name.img" "$WORK/mnt"; then
		compare_tree "$src" "$WORK/mnt" "$name: exactly the matching paths are left out" \
			"${targs[@]}"
		EXCLUDE_MNT_OK=1
	else
		fail "$name: the image mounts"
		EXCLUDE_MNT_OK=0
	fi
}
exclude_regex "exclude-regex" '^sizes/size-[0-9]*1$' '(^|/)s-0[0-4]$'
[ "$EXCLUDE_MNT_OK" = 1 ] && umount_image "$WORK/mnt"
exclude_regex "exclude-regex-children" '^text/'
if [ "$EXCLUDE_MNT_OK" = 1 ]; then
	check "exclude-regex-children: 'text' itself stays, empty" \
		[ -d "$WORK/mnt/text" -a -z "$(ls -A "$WORK/mnt/text")" ]
	umount_image "$WORK/mnt"
fi
exclude_regex "exclude-regex-dir" '^dirs$' 'x{30}'
[ "$EXCLUDE_MNT_OK" = 1 ] && umount_image "$WORK/mnt"

log "--- -x and --xattr-prefix"
build_mount_compare "x5" "$src" "-x 5" ""
build_mount_compare "x100" "$src" "-x 100" ""
build_mount_compare "xattr-prefix" "$src" \
	"--xattr-prefix=trusted.overlay. --xattr-prefix=user.many. --xattr-prefix=security.selinux" ""
if build --xattr-prefix=trusted.overlay. --xattr-prefix=user.many. "$WORK/xp.img" "$src"; then
	incompat=$(sb_incompat "$WORK/xp.img")
	check "--xattr-prefix: feature_incompat has XATTR_PREFIXES (0x40)" \
		[ $((incompat & 0x40)) -ne 0 ]
	check "--xattr-prefix: two prefixes in the superblock" \
		[ "$(sb_u8 "$WORK/xp.img" $((0x5B)))" = 2 ]
else
	fail "--xattr-prefix: mkfs.erofs succeeds"
fi

log "--- -x: which xattrs are shared"
# Three files carry user.a=1, two carry user.b=2, one carries user.c=3,
# and user.h=4 is on two inodes, one of which has four names (hard links
# count once).  A pair is shared when more than N inodes carry it.  The inline xattr size
# that erofs-utils 1.5 dump.erofs reports tells the two apart: 12 bytes of
# header plus 4 for a shared id, or plus 8 for the inline entry.
xs=$WORK/xshare
mkdir -p "$xs"
for f in a1 a2 a3 b1 b2 c1; do
	echo "$f" >"$xs/$f"
done
for f in a1 a2 a3; do setfattr -n user.a -v 1 "$xs/$f"; done
for f in b1 b2; do setfattr -n user.b -v 2 "$xs/$f"; done
setfattr -n user.c -v 3 "$xs/c1"
for f in h1 h2; do echo "$f" >"$xs/$f"; setfattr -n user.h -v 4 "$xs/$f"; done
for f in h1-link1 h1-link2 h1-link3; do ln "$xs/h1" "$xs/$f"; done
# xshare N EXPECTED-FOR-a -b -c -h (s = shared, i = inline)
xshare() {
	local n=$1 want f kind size got
	shift
	if ! build -x "$n" "$WORK/xs.img" "$xs"; then
		fail "-x $n: mkfs.erofs succeeds"
		return
	fi
	if ! deb_can_read "$WORK/xs.img"; then
		log "note: -x $n: sharing not checked: $DEB_WHY"
		return
	fi
	got=
	for f in a1 b1 c1 h1; do
		size=$("$DEB_DUMP" --path="/$f" "$WORK/xs.img" 2>/dev/null |
			sed -n 's/.*Xattr size: *\([0-9]*\).*/\1/p')
		case $size in
		16) kind=s ;;
		20) kind=i ;;
		*) kind="?($size)" ;;
		esac
		got="$got$kind "
	done
	got=${got% }
	want="$*"
	if [ "$got" = "$want" ]; then
		pass "-x $n: shared/inline for user.a (3 inodes), user.b (2), user.c (1), user.h (2): $got"
	else
		fail "-x $n: shared/inline for user.a (3 inodes), user.b (2), user.c (1), user.h (2): got $got, expected $want"
	fi
	if mount_image "$WORK/xs.img" "$WORK/xs.mnt"; then
		compare_tree "$xs" "$WORK/xs.mnt" "-x $n: mounted tree equals the source"
		umount_image "$WORK/xs.mnt"
	else
		fail "-x $n: the image mounts"
	fi
}
xshare 2 s i i i
xshare 1 s s i s
xshare 0 s s s s
xshare 3 i i i i
xshare 100 i i i i

log "--- --workers, -q, -d"
build_mount_compare "workers1" "$src" "--workers=1" ""
build_mount_compare "workers3" "$src" "--workers=3" ""
if build -U clear -T 1 "$WORK/q0.img" "$src"; then
	check "without -q: a summary on stdout" [ -s "$WORK/mkfs.out" ]
fi
if build -q -U clear -T 1 "$WORK/q1.img" "$src"; then
	check "-q: nothing on stdout" [ ! -s "$WORK/mkfs.out" ]
	check "-q: nothing on stderr" [ ! -s "$WORK/mkfs.err" ]
	check "-q: the same image as without -q" cmp -s "$WORK/q0.img" "$WORK/q1.img"
else
	fail "-q: mkfs.erofs succeeds"
fi
for d in 0 9; do
	if build -d $d -U clear -T 1 "$WORK/d$d.img" "$src"; then
		pass "-d $d: mkfs.erofs succeeds"
	else
		fail "-d $d: mkfs.erofs succeeds"
	fi
done
[ -f "$WORK/d0.img" ] && [ -f "$WORK/d9.img" ] &&
	check "-d: the message level does not change the image" cmp -s "$WORK/d0.img" "$WORK/d9.img"

log "--- --help, --version"
if run_mkfs --help; then
	pass "--help exits 0"
	check "--help prints a usage on stdout" grep -qi usage "$WORK/mkfs.out"
else
	fail "--help exits 0 (exit $MKFS_RC)"
fi
if run_mkfs --version; then
	pass "--version exits 0"
	check "--version prints a version" grep -q '[0-9]\.[0-9]' "$WORK/mkfs.out"
else
	fail "--version exits 0 (exit $MKFS_RC)"
fi

log "--- IMAGE inside SOURCE"
in=$WORK/in
bash "$GEN_TORTURE" "$in" --small --no-sparse || die "gen-torture.sh failed"
# The build itself changes the mtime of the directory that receives the
# image, so that one mtime is not compared.
for round in first second; do
	# the second round finds the image of the first one in the source
	if build "$in/out.img" "$in"; then
		pass "image inside the source ($round build): mkfs.erofs succeeds"
		cp "$in/out.img" "$WORK/inside.img"
		if mount_image "$WORK/inside.img" "$WORK/mnt"; then
			compare_tree "$in" "$WORK/mnt" \
				"image inside the source ($round build) is left out of the image" \
				--exclude=out.img --ignore-root-mtime
			umount_image "$WORK/mnt"
		else
			fail "image inside the source: the image mounts"
		fi
	else
		fail "image inside the source ($round build): mkfs.erofs succeeds"
	fi
done
rm -f "$in/out.img"
if build "$in/dirs/nested/out.img" "$in"; then
	cp "$in/dirs/nested/out.img" "$WORK/inside.img"
	if mount_image "$WORK/inside.img" "$WORK/mnt"; then
		compare_tree "$in" "$WORK/mnt" \
			"image deeper inside the source is left out of the image" \
			--exclude=dirs/nested/out.img --ignore-mtime
		umount_image "$WORK/mnt"
	else
		fail "image deeper inside the source: the image mounts"
	fi
else
	fail "image deeper inside the source: mkfs.erofs succeeds"
fi
rm -f "$in/dirs/nested/out.img"
# given through a different spelling of the path
mkdir -p "$WORK/link-dir"
ln -s "$in" "$WORK/link-dir/src-link"
if build "$WORK/link-dir/src-link/./dirs/../out.img" "$in"; then
	cp "$in/out.img" "$WORK/inside.img"
	if mount_image "$WORK/inside.img" "$WORK/mnt"; then
		compare_tree "$in" "$WORK/mnt" \
			"image inside the source, named through a symlink and '..', is left out" \
			--exclude=out.img --ignore-root-mtime
		umount_image "$WORK/mnt"
	else
		fail "image inside the source via a symlink: the image mounts"
	fi
else
	fail "image inside the source via a symlink: mkfs.erofs succeeds"
fi
rm -f "$in/out.img"

log "--- invalid values: exit 2, a message, no image"
small=$WORK/small
mkdir -p "$small"
echo hi >"$small/file"
bad() {
	local img=$WORK/bad.img
	rm -f "$img"
	run_mkfs "$@"
	if [ "$MKFS_RC" -eq 2 ]; then
		pass "mkfs.erofs $(printf '%q ' "$@")exits 2"
	else
		fail "mkfs.erofs $(printf '%q ' "$@")exits 2 (got $MKFS_RC)"
	fi
	if grep -q '^mkfs\.erofs: ' "$WORK/mkfs.err"; then
		pass "  ... and says why on stderr: $(head -n 1 "$WORK/mkfs.err")"
	else
		fail "  ... and says why on stderr, as 'mkfs.erofs: ...' (got: $(head -n 3 "$WORK/mkfs.err"))"
	fi
	check "  ... and leaves no image" [ ! -e "$img" ]
}
img=$WORK/bad.img
bad -b 3000 "$img" "$small"
bad -b abc "$img" "$small"
bad -b 8192 "$img" "$small"
bad -b 256 "$img" "$small"
bad -b 4096x "$img" "$small"
bad -b "" "$img" "$small"
bad -L 0123456789abcdef "$img" "$small"
bad -L "$(printf 'é%.0s' 1 2 3 4 5 6 7 8)" "$img" "$small"
bad -U nonsense "$img" "$small"
bad -U 01234567-89ab-cdef-0123-456789abcdeg "$img" "$small"
bad -U 01234567-89ab-cdef-0123-456789abcde "$img" "$small"
bad --force-uid=-5 "$img" "$small"
bad --force-uid=abc "$img" "$small"
bad --force-uid= "$img" "$small"
bad --force-uid=4294967296 "$img" "$small"
bad --force-gid=-1 "$img" "$small"
bad --force-gid=1x "$img" "$small"
bad -x abc "$img" "$small"
bad -T abc "$img" "$small"
bad -T 12abc "$img" "$small"
bad --workers=abc "$img" "$small"
bad -d abc "$img" "$small"
bad '--exclude-regex=(' "$img" "$small"
bad --no-such-option "$img" "$small"
bad -Z "$img" "$small"
bad "$img"
bad
bad "$img" "$small" extra-argument

finish
