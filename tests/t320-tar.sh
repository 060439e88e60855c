#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Tar archives as the source (--tar, --oci).  Oracles:
#   - the kernel: images of GNU tar and bsdtar archives of the torture tree
#     (PAX, xattrs, ACLs, sparse files), plain and compressed, from a file
#     and from a pipe, mounted and compared with the tree;
#   - the directory source: the image of a tar of a tree must be the image
#     of the tree itself, byte for byte (-U pinned), with and without
#     fingerprints, and with the same manifest;
#   - index mode (--tar=i): mounted with the archive as its device, equal to
#     the tree, with the fingerprints of full mode;
#   - overlayfs: an OCI layer pair (whiteouts, an opaque directory) built
#     with --oci, stacked by overlayfs and merged by --rebuild, equals the
#     stack of the same layers written in overlayfs form;
#   - bad archives: a clear message naming the entry, exit 1, no image.

. "$(dirname "$0")/lib.sh"

require_mkfs
require_mount
require_cmd python3 bsdtar tar gzip zstd xz bzip2 setfacl getfattr
find_treecmp
D=$top_builddir/dump/dump.erofs

LOOPS=()
attach() {	# FILE: a read-only loop device for it
	local l
	l=$(losetup -r -f --show "$1") || return 1
	__loops+=("$l")
	LOOPS+=("$l")
	echo "$l"
}
detach_all() {
	local l
	for l in "${LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	LOOPS=()
}

# ------------------------------------------------------------ the tree

src=$WORK/src
log "generating the torture tree"
bash "$GEN_TORTURE" "$src" || die "gen-torture.sh failed"

# What a tar archive cannot carry, taken out of the tree first, so that
# "equal to the tree" is the whole claim for everything else:
#   - sockets (neither tar stores them);
#   - hard links between devices or FIFOs (GNU tar stores none, bsdtar
#     none for devices);
#   - an ACL entry for uid 4000000000 (bsdtar's ACL records hold ids as
#     signed 32-bit numbers);
#   - sub-second times before 1970: libarchive 3.6 reads the correct PAX
#     decimal that GNU tar writes ("-1.5" as -1 s + 0.5 s), so those come
#     out wrong from GNU tar archives.
find "$src" -type s -delete
declare -A seen
while IFS= read -r -d '' f; do
	ino=$(stat -c %i "$f")
	if [ -n "${seen[$ino]:-}" ]; then
		cp -a "$f" "$f.unlinked" && mv -f "$f.unlinked" "$f"
	else
		seen[$ino]=1
	fi
done < <(find "$src" \( -type c -o -type b -o -type p \) -links +1 -print0)
setfacl -x u:4000000000 "$src/xattrs/acl" || die "setfacl failed"
python3 - "$src/times" <<'PY' || die "cannot adjust the times"
import os, sys
for dp, dns, fns in os.walk(sys.argv[1]):
    for n in dns + fns:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        if st.st_mtime_ns < 0 and st.st_mtime_ns % 10**9:
            t = st.st_mtime_ns - st.st_mtime_ns % 10**9
            os.utime(p, ns=(st.st_atime_ns, t), follow_symlinks=False)
PY

log "archiving it with GNU tar and bsdtar"
tar --format=pax --xattrs --xattrs-include='*' --acls --sparse \
	-cf "$WORK/gnu.tar" -C "$src" . 2>"$WORK/tar.err" ||
	{ cat "$WORK/tar.err"; die "GNU tar failed"; }
bsdtar --format=pax --xattrs --acls -cf "$WORK/bsd.tar" -C "$src" . 2>"$WORK/tar.err" ||
	{ cat "$WORK/tar.err"; die "bsdtar failed"; }
for a in gnu bsd; do
	gzip -c "$WORK/$a.tar" >"$WORK/$a.tar.gz"
	zstd -q -c "$WORK/$a.tar" >"$WORK/$a.tar.zst"
	xz -T1 -c "$WORK/$a.tar" >"$WORK/$a.tar.xz"
	bzip2 -c "$WORK/$a.tar" >"$WORK/$a.tar.bz2"
done

PIN="-U 6a7e8bc9-5a7d-4b9f-9a43-1d2e3f405162"

# ------------------------------------------------------------ full mode

# shellcheck disable=SC2086
build $PIN "$WORK/dir.img" "$src" || die "cannot build the image of the tree"
# shellcheck disable=SC2086
if build $PIN --tar=f "$WORK/gnu.img" "$WORK/gnu.tar"; then
	pass "tar: GNU tar archive builds"
	check_image "$WORK/gnu.img" gnu.img
	if mount_image "$WORK/gnu.img" "$WORK/gnu.mnt"; then
		compare_tree "$src" "$WORK/gnu.mnt" "tar: the mounted image of the GNU tar archive equals the tree"
		umount_image "$WORK/gnu.mnt"
	else
		fail "tar: the kernel mounts the image of the GNU tar archive"
	fi
else
	fail "tar: GNU tar archive builds"
fi

for a in gnu bsd; do
	for c in "" .gz .zst .xz .bz2; do
		rm -f "$WORK/t.img"
		# shellcheck disable=SC2086
		if build $PIN --tar "$WORK/t.img" "$WORK/$a.tar$c"; then
			check "tar: $a.tar$c from a file: the image equals the tree's, byte for byte" \
				cmp -s "$WORK/t.img" "$WORK/dir.img"
		else
			fail "tar: $a.tar$c builds"
		fi
	done
done
for a in gnu.tar bsd.tar.zst gnu.tar.gz; do
	rm -f "$WORK/t.img"
	# shellcheck disable=SC2086
	if cat "$WORK/$a" | build $PIN --tar=f "$WORK/t.img"; then
		check "tar: $a from a pipe: the image equals the tree's" \
			cmp -s "$WORK/t.img" "$WORK/dir.img"
	else
		fail "tar: $a from a pipe builds"
	fi
done
rm -f "$WORK/t.img"
# shellcheck disable=SC2086
if build $PIN --tar=f "$WORK/t.img" - <"$WORK/bsd.tar.xz"; then
	check "tar: '-' reads standard input" cmp -s "$WORK/t.img" "$WORK/dir.img"
else
	fail "tar: '-' reads standard input"
fi

# the other options behave as with a directory
FPOPTS="--fingerprint --fingerprint-name=trusted.fp"
# (a plain archive on disk is read in place, a compressed one spooled)
for opts in "$FPOPTS --manifest=MANIFEST" "-b 1024 -x 0 --all-root" \
	    "-Ededupe --chunksize=8192" "-z lz4hc -C 16384 -Eztailpacking" \
	    "-z zstd -C 16384" \
	    "-T 1700000000 --exclude-path=names --exclude-regex=^xattrs/m"; do
	# shellcheck disable=SC2086
	if ! build $PIN ${opts//MANIFEST/$WORK/dir.json} "$WORK/o-dir.img" "$src"; then
		fail "tar: the directory build with $opts succeeds"
		continue
	fi
	for a in gnu.tar gnu.tar.zst; do
		# shellcheck disable=SC2086
		if build $PIN ${opts//MANIFEST/$WORK/tar.json} --tar=f "$WORK/o-tar.img" "$WORK/$a"; then
			check "tar: $a with $opts: the image equals the tree's" \
				cmp -s "$WORK/o-dir.img" "$WORK/o-tar.img"
			case $opts in
			*--manifest*)
				check "tar: $a: and so does the manifest" \
					cmp -s "$WORK/dir.json" "$WORK/tar.json"
				;;
			esac
		else
			fail "tar: $a: the build with $opts succeeds"
		fi
	done
	rm -f "$WORK/o-dir.img" "$WORK/o-tar.img"
done

# sparse entries that end in a long hole, which the writer reads in whole
# chunks from the spool: the same image as their tree
SP=$WORK/sparse-tail
mkdir -p "$SP"
truncate -s 10M "$SP/head-only"
printf 'hello' | dd of="$SP/head-only" conv=notrunc status=none
truncate -s 1M "$SP/middle"
printf 'hello' | dd of="$SP/middle" bs=1 seek=500000 conv=notrunc status=none
tar --format=pax --sparse -cf "$WORK/sparse.tar" -C "$SP" . ||
	die "GNU tar failed on the sparse tree"
for opts in "" "-Ededupe --chunksize=8192" "-z zstd" "--fingerprint"; do
	# shellcheck disable=SC2086
	if build $PIN -T 0 $opts "$WORK/sp-dir.img" "$SP" &&
		build $PIN -T 0 $opts --tar=f "$WORK/sp-tar.img" "$WORK/sparse.tar"; then
		check "tar: sparse entries ending in a hole${opts:+, $opts}: the image equals the tree's" \
			cmp -s "$WORK/sp-dir.img" "$WORK/sp-tar.img"
	else
		fail "tar: sparse entries ending in a hole${opts:+, $opts}: both builds succeed"
	fi
done
rm -rf "$SP" "$WORK/sparse.tar" "$WORK/sp-dir.img" "$WORK/sp-tar.img"

# ------------------------------------------------------------ index mode

# shellcheck disable=SC2086
if build $PIN $FPOPTS --tar=f "$WORK/fp-full.img" "$WORK/gnu.tar" &&
	build $PIN $FPOPTS --tar=i "$WORK/idx.img" "$WORK/gnu.tar"; then
	pass "tar: index mode builds"
	check "tar: index mode picks 512-byte blocks" [ "$(sb_blkszbits "$WORK/idx.img")" = 9 ]
	size=$(stat -c %s "$WORK/idx.img")
	tarsize=$(stat -c %s "$WORK/gnu.tar")
	check "tar: the index image ($size bytes) holds no file data (archive: $tarsize bytes)" \
		[ "$size" -lt $((tarsize / 4)) ]
	check "tar: the device's tag is the archive's SHA-256" \
		[ "$("$D" --device "$WORK/idx.img" | sed -n 's/^device_tag: "\(.*\)"$/\1/p')" = "$(sum "$WORK/gnu.tar")" ]
	check "tar: our fsck reads every byte through the archive and checks its id" \
		"$OUR_FSCK" --extract --device="$WORK/gnu.tar" --verify-fingerprints "$WORK/idx.img"
	if l=$(attach "$WORK/gnu.tar") && mount_image "$WORK/idx.img" "$WORK/idx.mnt" "device=$l" &&
		mount_image "$WORK/fp-full.img" "$WORK/full.mnt"; then
		pass "tar: the kernel mounts the index image with the archive as its device"
		compare_tree "$src" "$WORK/idx.mnt" "tar: the mounted index image equals the tree" \
			--ignore-xattrs
		(cd "$WORK/idx.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp.idx"
		(cd "$WORK/full.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp.full"
		check "tar: index-mode fingerprints equal full mode's ($(grep -c '^trusted.fp=' "$WORK/fp.full") files)" \
			cmp -s "$WORK/fp.idx" "$WORK/fp.full"
		umount_image "$WORK/idx.mnt"
		umount_image "$WORK/full.mnt"
	else
		fail "tar: the kernel mounts the index image with the archive as its device"
	fi
	detach_all
else
	fail "tar: index mode builds"
fi
if run_mkfs --tar=i "$WORK/x.img" "$WORK/gnu.tar.gz"; then
	fail "tar: index mode refuses a compressed archive"
else
	check "tar: index mode refuses a compressed archive, saying why" \
		grep -q "it is gzip-compressed" "$WORK/mkfs.err"
fi
if run_mkfs --tar=i -b 4096 "$WORK/x.img" "$WORK/gnu.tar"; then
	fail "tar: index mode refuses 4096-byte blocks"
else
	check "tar: index mode refuses 4096-byte blocks (exit 2)" [ "$MKFS_RC" = 2 ]
fi
if run_mkfs --tar=i "$WORK/x.img" <"$WORK/gnu.tar"; then
	fail "tar: index mode refuses standard input"
else
	check "tar: index mode refuses standard input (exit 2)" [ "$MKFS_RC" = 2 ]
fi

# ------------------------------------------------------------ OCI layers

# the layers in overlayfs form (whiteouts as 0:0 devices, opaque xattr)
# give the expected stack; the same layers in OCI form go through --oci
L1=$WORK/l1
O2=$WORK/l2-ovl
T2=$WORK/l2-oci
mkdir -p "$L1/etc/conf.d" "$L1/opaque/old" "$L1/usr/lib" "$L1/gone-dir/sub"
echo base >"$L1/etc/motd"
echo keep >"$L1/etc/conf.d/a"
echo drop >"$L1/etc/conf.d/b"
echo hidden >"$L1/opaque/old/x"
echo before >"$L1/opaque/kept"
head -c 100000 /dev/urandom >"$L1/usr/lib/big"
echo x >"$L1/gone-dir/sub/y"
for d in "$O2" "$T2"; do
	mkdir -p "$d/etc/conf.d" "$d/opaque" "$d/usr/lib"
	echo upper >"$d/etc/motd"
	echo after >"$d/opaque/kept"
	head -c 5000 /dev/urandom >"$d/usr/lib/new" 2>/dev/null
done
cp "$O2/usr/lib/new" "$T2/usr/lib/new"
mknod "$O2/etc/conf.d/b" c 0 0
mknod "$O2/gone-dir" c 0 0
setfattr -n trusted.overlay.opaque -v y "$O2/opaque"
: >"$T2/etc/conf.d/.wh.b"
: >"$T2/.wh.gone-dir"
: >"$T2/opaque/.wh..wh..opq"
# a whiteout next to an entry of its own layer: the entry stays
: >"$T2/usr/lib/.wh.new"

tar --format=pax -cf "$WORK/l1.tar" -C "$L1" . &&
	tar --format=pax -cf "$WORK/l2.tar" -C "$T2" . ||
	die "cannot archive the layers"
if build "$WORK/l1.img" "$L1" && build "$WORK/l2-ovl.img" "$O2" &&
	build --tar --oci "$WORK/l1-oci.img" "$WORK/l1.tar" &&
	build --tar --oci "$WORK/l2-oci.img" "$WORK/l2.tar"; then
	pass "oci: the layers build"
	mount_image "$WORK/l1.img" "$WORK/m1" && mount_image "$WORK/l2-ovl.img" "$WORK/m2" &&
		mount_image "$WORK/l1-oci.img" "$WORK/o1" && mount_image "$WORK/l2-oci.img" "$WORK/o2" ||
		die "cannot mount the layers"
	mkdir -p "$WORK/want" "$WORK/got"
	mount -t overlay overlay -o "lowerdir=$WORK/m2:$WORK/m1" "$WORK/want" &&
		__mounts+=("$WORK/want") || die "cannot mount overlayfs"
	if mount -t overlay overlay -o "lowerdir=$WORK/o2:$WORK/o1" "$WORK/got"; then
		__mounts+=("$WORK/got")
		pass "oci: overlayfs stacks the --oci images"
		compare_tree "$WORK/want" "$WORK/got" \
			"oci: the stacked --oci images equal the stacked overlayfs-form layers" \
			--ignore-dir-nlink --ignore-mtime
		check "oci: a whited-out entry is gone" [ ! -e "$WORK/got/etc/conf.d/b" ]
		check "oci: an opaque directory hides the layer below" [ ! -e "$WORK/got/opaque/old" ]
		check "oci: a whiteout does not hide its own layer's entry" [ -f "$WORK/got/usr/lib/new" ]
		umount_image "$WORK/got"
	else
		fail "oci: overlayfs stacks the --oci images"
	fi
	if build --rebuild "$WORK/merged.img" "$WORK/l1-oci.img" "$WORK/l2-oci.img"; then
		pass "oci: --rebuild merges the --oci images"
		opts=""
		for t in $("$D" --device "$WORK/merged.img" | sed -n 's/^device_tag: "\(.*\)"$/\1/p'); do
			for f in "$WORK/l1-oci.img" "$WORK/l2-oci.img"; do
				[ "$(sum "$f")" = "$t" ] && opts="$opts${opts:+,}device=$(attach "$f")"
			done
		done
		if mount_image "$WORK/merged.img" "$WORK/merged.mnt" "$opts"; then
			compare_tree "$WORK/want" "$WORK/merged.mnt" \
				"oci: the merged image equals the overlayfs stack" \
				--ignore-dir-nlink --ignore-mtime
			umount_image "$WORK/merged.mnt"
		else
			fail "oci: the merged image mounts"
		fi
		detach_all
	else
		fail "oci: --rebuild merges the --oci images"
	fi
else
	fail "oci: the layers build"
fi
# without --oci, .wh. names are ordinary files
if build --tar "$WORK/plain.img" "$WORK/l2.tar" && mount_image "$WORK/plain.img" "$WORK/plain.mnt"; then
	check "oci: without --oci a .wh. file is an ordinary file" [ -f "$WORK/plain.mnt/etc/conf.d/.wh.b" ]
	umount_image "$WORK/plain.mnt"
else
	fail "oci: the layer builds without --oci"
fi
if run_mkfs --oci "$WORK/x.img" "$L1"; then
	fail "oci: --oci without --tar is refused"
else
	check "oci: --oci without --tar is a usage error" [ "$MKFS_RC" = 2 ]
fi

# ------------------------------------------------------------ bad input

BAD=$WORK/bad
mkdir -p "$BAD"
python3 - "$BAD" <<'PY' || die "cannot make the bad archives"
import io, os, sys, tarfile
out = sys.argv[1]
def mk(name, entries, fmt=tarfile.PAX_FORMAT):
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as tf:
        for path, kind, arg in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000
            data = None
            if kind == "file":
                data = io.BytesIO(arg)
                ti.size = len(arg)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "link":
                ti.type = tarfile.LNKTYPE
                ti.linkname = arg
            elif kind == "type":
                ti.type = arg
            tf.addfile(ti, data)
mk("dotdot.tar", [("a", "file", b"x"), ("../escape", "file", b"y")])
mk("absolute.tar", [("/etc/escape", "file", b"y")])
mk("inner-dotdot.tar", [("a", "dir", None), ("a/../../escape", "file", b"y")])
mk("link-missing.tar", [("a", "file", b"x"), ("the-link", "link", "not-there")])
mk("link-escape.tar", [("a", "file", b"x"), ("the-link", "link", "../a")])
mk("link-excluded.tar", [("d", "dir", None), ("d/a", "file", b"x"), ("the-link", "link", "d/a")])
mk("multivolume.tar", [("continued", "type", b"M")], tarfile.GNU_FORMAT)
mk("not-a-dir.tar", [("f", "file", b"x"), ("f/below", "file", b"y")])
mk("duplicate.tar", [("d", "dir", None), ("d/f", "file", b"first\n"),
                     ("d/f", "file", b"the later entry wins\n"),
                     ("x", "file", b"a file"), ("x", "dir", None),
                     ("x/inner", "file", b"inner\n")])
PY
head -c $(($(stat -c %s "$WORK/gnu.tar") / 2 + 5000)) "$WORK/gnu.tar" >"$BAD/truncated.tar"
# cut at an entry boundary: only the missing end-of-archive blocks tell
off=$(python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getmembers()[-1].offset)' "$WORK/l1.tar")
head -c "$off" "$WORK/l1.tar" >"$BAD/cut-at-entry.tar"
head -c 300000 "$WORK/gnu.tar.zst" >"$BAD/truncated.tar.zst"
cp "$WORK/l1.tar" "$BAD/corrupt-header.tar"
# the checksum field of the third entry's header
off=$(python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getmembers()[2].offset_data - 512 + 148)' "$WORK/l1.tar")
printf '99999999' | dd of="$BAD/corrupt-header.tar" bs=1 seek="$off" conv=notrunc status=none

bad_case() {	# NAME FRAGMENT: the build fails naming FRAGMENT, no image
	local name=$1 frag=$2
	echo keep >"$WORK/exists.img"
	if run_mkfs --tar "$WORK/exists.img" "$BAD/$name"; then
		fail "bad: $name is refused"
		return
	fi
	check "bad: $name: exit 1, the message names $frag" \
		bash -c "[ $MKFS_RC = 1 ] && grep -qF -- \"$frag\" '$WORK/mkfs.err'"
	check "bad: $name: the existing image is untouched and no temporary file is left" \
		bash -c "[ \"\$(cat '$WORK/exists.img')\" = keep ] && [ -z \"\$(ls -A '$WORK' | grep '^\\.exists')\" ]"
	sed 's/^/    /' "$WORK/mkfs.err"
}
bad_case dotdot.tar "'../escape'"
bad_case absolute.tar "'/etc/escape'"
bad_case inner-dotdot.tar "'a/../../escape'"
bad_case link-missing.tar "'the-link'"
bad_case link-escape.tar "'the-link'"
bad_case multivolume.tar "'continued'"
bad_case not-a-dir.tar "'f/below'"
bad_case truncated.tar "Truncated tar archive"
bad_case cut-at-entry.tar "without the end-of-archive blocks"
bad_case truncated.tar.zst "truncated.tar.zst"
bad_case corrupt-header.tar "corrupt-header.tar"

if run_mkfs --tar --exclude-path=d "$WORK/x.img" "$BAD/link-excluded.tar"; then
	fail "bad: a hard link to an excluded entry is refused"
else
	check "bad: a hard link to an excluded entry is refused, naming both" \
		grep -qF "tar entry 'the-link' of '$BAD/link-excluded.tar': hard link to 'd/a', which is excluded" "$WORK/mkfs.err"
fi

if build --tar "$WORK/dup.img" "$BAD/duplicate.tar" && mount_image "$WORK/dup.img" "$WORK/dup.mnt"; then
	check "bad: a duplicate entry: the later one wins" \
		[ "$(cat "$WORK/dup.mnt/d/f")" = "the later entry wins" ]
	check "bad: a directory replaces a file of the same path" \
		[ "$(cat "$WORK/dup.mnt/x/inner")" = inner ]
	umount_image "$WORK/dup.mnt"
else
	fail "bad: an archive with duplicate entries builds"
fi

finish
