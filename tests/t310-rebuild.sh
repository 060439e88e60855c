#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mkfs.erofs --rebuild: EROFS images merged as overlay layers into a
# metadata-only image whose files read their data from the inputs.  The
# oracle is overlayfs over the kernel's mounts of the inputs; the rebuilt
# image is mounted with the inputs attached read-only as its devices.

. "$(dirname "$0")/lib.sh"

require_mkfs
require_mount
find_treecmp
D=$top_builddir/dump/dump.erofs

# the files behind IMG's devices, in table order, found in DIR by their ids
dev_files() {
	local img=$1 dir=$2 t
	for t in $("$D" --device "$img" | sed -n 's/^device_tag: "\(.*\)"$/\1/p'); do
		echo "$dir/$t"
	done
}

# mount_rebuilt IMG MNT DIR: IMG with its devices from DIR attached
mount_rebuilt() {
	local files
	mapfile -t files < <(dev_files "$1" "$3")
	mount_with_devices "$1" "$2" "${files[@]}"
}

# ------------------------------------------------------------ layers

L1=$WORK/l1
L2=$WORK/l2
L3=$WORK/l3
mkdir -p "$L1/etc/conf.d" "$L1/usr/lib" "$L1/opaque/old/deep" "$L1/var/log" "$L1/todir"
echo base >"$L1/etc/motd"
echo keep >"$L1/etc/conf.d/a"
echo drop >"$L1/etc/conf.d/b"
head -c 3000000 /dev/urandom >"$L1/usr/lib/big"
head -c 8192 /dev/urandom >"$L1/usr/lib/blocks"
head -c 5000 /dev/urandom >"$L1/usr/lib/tail5000"
ln "$L1/usr/lib/big" "$L1/usr/lib/big.link"
ln -s ../usr/lib/big "$L1/etc/link"
echo hidden >"$L1/opaque/old/deep/x"
echo visible-before >"$L1/opaque/kept-name"
mkfifo "$L1/var/log/fifo"
truncate -s 30M "$L1/var/log/sparse"
printf 'mid' | dd of="$L1/var/log/sparse" bs=1 seek=$((9 * 1048576)) conv=notrunc status=none
echo "file that becomes a dir" >"$L1/tofile"
echo x >"$L1/todir/inner"
setfattr -n user.layer -v one "$L1/etc/motd" 2>/dev/null || true
: >"$L1/empty"

mkdir -p "$L2/etc/conf.d" "$L2/opaque" "$L2/usr/lib" "$L2/tofile"
echo upper >"$L2/etc/motd"
mknod "$L2/etc/conf.d/b" c 0 0
setfattr -n trusted.overlay.opaque -v y "$L2/opaque"
echo visible-after >"$L2/opaque/kept-name"
head -c 70000 /dev/urandom >"$L2/usr/lib/new70000"
echo now-a-dir-entry >"$L2/tofile/entry"
echo "dir replaced by a file" >"$L2/todir"
mknod "$L2/not-in-lower" c 0 0

mkdir -p "$L3/usr/lib"
mknod "$L3/usr/lib/blocks" c 0 0
echo third >"$L3/third"

for n in 1 2 3; do
	eval "src=\$L$n"
	build "$WORK/l$n.img" "$src" || die "cannot build layer $n"
done

# the expected merge: overlayfs over the kernel's mounts of the layers
for n in 1 2 3; do
	mount_image "$WORK/l$n.img" "$WORK/m$n" || die "cannot mount layer $n"
done
mkdir -p "$WORK/ovl"
mount -t overlay overlay -o "lowerdir=$WORK/m3:$WORK/m2:$WORK/m1" "$WORK/ovl" ||
	die "cannot mount overlayfs"
__mounts+=("$WORK/ovl")
# a plain copy of the merged tree, for a direct build
cp -a "$WORK/ovl" "$WORK/merged"

inputs_dir=$WORK/inputs	# the inputs by id, to attach them by tag
mkdir -p "$inputs_dir"
for n in 1 2 3; do
	ln -sf "$WORK/l$n.img" "$inputs_dir/$(sum "$WORK/l$n.img")"
done

check_rebuild() {	# NAME IMG STOREDIR [fsck args]: mount, compare, fsck
	local name=$1 img=$2 store=$3
	shift 3
	if mount_rebuilt "$img" "$WORK/$name.mnt" "$store"; then
		pass "$name: the kernel mounts the rebuilt image with its inputs as devices"
		compare_tree "$WORK/ovl" "$WORK/$name.mnt" \
			"$name: the mounted image equals the overlayfs merge of the layers" \
			--ignore-dir-nlink
		umount_image "$WORK/$name.mnt"
	else
		fail "$name: the kernel mounts the rebuilt image with its inputs as devices"
	fi
	detach_loops
	check "$name: our fsck reads every byte through the devices" \
		"$OUR_FSCK" --extract --blob-dir="$store" "$@" "$img"
}

# ------------------------------------------------------------ merges

if build --rebuild --fingerprint "$WORK/r0.img" \
	"$WORK/l1.img" "$WORK/l2.img" "$WORK/l3.img" &&
	build --rebuild --fingerprint-name=trusted.fp --fingerprint "$WORK/r.img" \
	"$WORK/l1.img" "$WORK/l2.img" "$WORK/l3.img"; then
	pass "rebuild: three layers merge"
	size=$(stat -c %s "$WORK/r0.img")
	check "rebuild: the image holds metadata only ($size bytes)" [ "$size" -lt 65536 ]
	check_rebuild rebuild "$WORK/r0.img" "$inputs_dir" --verify-fingerprints
	# the fingerprints equal those of a direct build of the merged tree
	if build --fingerprint-name=trusted.fp --fingerprint "$WORK/direct.img" "$WORK/merged" &&
		mount_image "$WORK/direct.img" "$WORK/direct.mnt" &&
		mount_rebuilt "$WORK/r.img" "$WORK/r2.mnt" "$inputs_dir"; then
		(cd "$WORK/direct.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp.direct"
		(cd "$WORK/r2.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/fp.rebuild"
		check "rebuild: fingerprints equal those of a direct build of the merged tree ($(grep -c '^trusted.fp=' "$WORK/fp.direct") files)" \
			cmp -s "$WORK/fp.direct" "$WORK/fp.rebuild"
		umount_image "$WORK/direct.mnt"
		umount_image "$WORK/r2.mnt"
		detach_loops
	else
		fail "rebuild: direct build and rebuilt image mount for the fingerprint comparison"
	fi
else
	fail "rebuild: three layers merge"
fi

# chunk-based inputs with their data in a blob store, and Debian's images
STORE=$WORK/store
mkdir -p "$STORE"
if build --blob-dir="$STORE" -Ededupe "$WORK/l1b.img" "$L1" &&
	build --blob-dir="$STORE" --rebuild "$WORK/rb.img" "$WORK/l1b.img" \
		"$WORK/l2.img" "$WORK/l3.img"; then
	pass "rebuild: a layer whose data is in a blob store merges"
	for n in 2 3; do
		ln -sf "$WORK/l$n.img" "$STORE/$(sum "$WORK/l$n.img")"
	done
	ln -sf "$WORK/l1b.img" "$STORE/$(sum "$WORK/l1b.img")"
	# l1b.img keeps no data of its own, l3.img only inline data
	check "rebuild: the device table lists just the blob and l2.img" \
		[ "$("$D" --device "$WORK/rb.img" | sed -n 's/^device_tag: "\(.*\)"$/\1/p' | tr '\n' ' ')" = \
		  "$("$D" --device "$WORK/l1b.img" | sed -n 's/^device_tag: "\(.*\)"$/\1/p') $(sum "$WORK/l2.img") " ]
	check_rebuild rebuild-blobs "$WORK/rb.img" "$STORE"
else
	fail "rebuild: a layer whose data is in a blob store merges"
fi
if run_mkfs --rebuild "$WORK/nostore.img" "$WORK/l1b.img"; then
	fail "rebuild: a layer with blobs needs --blob-dir"
else
	check "rebuild: a layer with blobs and no --blob-dir is refused with a clear message" \
		grep -q "give --blob-dir to find them" "$WORK/mkfs.err"
fi

if [ -x "$DEB_MKFS" ]; then
	if "$DEB_MKFS" "$WORK/deb1.img" "$L1" >/dev/null 2>&1 &&
		build --rebuild "$WORK/rd.img" "$WORK/deb1.img" "$WORK/l2.img" "$WORK/l3.img"; then
		pass "rebuild: an erofs-utils 1.5 image is an input"
		ln -sf "$WORK/deb1.img" "$inputs_dir/$(sum "$WORK/deb1.img")"
		check_rebuild rebuild-deb "$WORK/rd.img" "$inputs_dir"
	else
		fail "rebuild: an erofs-utils 1.5 image is an input"
	fi
	# compressed files cannot be referenced in place: refused, or copied
	ZT=$WORK/ztree
	mkdir -p "$ZT/sub"
	seq 1 300000 >"$ZT/numbers"
	yes 'a line of text that compresses well' | head -n 20000 >"$ZT/sub/text"
	head -c 100000 /dev/urandom >"$ZT/random"
	printf 'tiny' >"$ZT/tiny"
	if "$DEB_MKFS" -zlz4hc "$WORK/lz4.img" "$ZT" >/dev/null 2>&1; then
		echo keep >"$WORK/r.img.before"
		cp "$WORK/r.img.before" "$WORK/exists.img"
		if run_mkfs --rebuild "$WORK/exists.img" "$WORK/lz4.img"; then
			fail "rebuild: a compressed input is refused without --rebuild=copy"
		else
			check "rebuild: a compressed input is refused, naming the file" \
				grep -q "cannot reference '.*' of image '$WORK/lz4.img' in place: its data is compressed" "$WORK/mkfs.err"
			check "rebuild: the existing output is untouched" \
				cmp -s "$WORK/exists.img" "$WORK/r.img.before"
		fi
		ZS=$WORK/zstore
		mkdir -p "$ZS"
		if build --rebuild=copy --blob-dir="$ZS" --fingerprint-name=trusted.fp \
			--fingerprint "$WORK/rz.img" "$WORK/lz4.img" &&
			build --fingerprint-name=trusted.fp --fingerprint "$WORK/zdirect.img" "$ZT"; then
			pass "rebuild=copy: compressed files are copied into a new blob"
			ln -sf "$WORK/lz4.img" "$ZS/$(sum "$WORK/lz4.img")"
			if mount_rebuilt "$WORK/rz.img" "$WORK/rz.mnt" "$ZS" &&
				mount_image "$WORK/zdirect.img" "$WORK/zdirect.mnt"; then
				compare_tree "$ZT" "$WORK/rz.mnt" \
					"rebuild=copy: the mounted image equals the tree the input was built from" \
					--ignore-xattrs --ignore-mtime
				(cd "$WORK/zdirect.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/zfp1"
				(cd "$WORK/rz.mnt" && getfattr -R -e hex -n trusted.fp . 2>/dev/null) >"$WORK/zfp2"
				check "rebuild=copy: fingerprints equal a direct build's" \
					cmp -s "$WORK/zfp1" "$WORK/zfp2"
				umount_image "$WORK/rz.mnt"
				umount_image "$WORK/zdirect.mnt"
			else
				fail "rebuild=copy: the kernel mounts the image with the new blob"
			fi
			detach_loops
			check "rebuild=copy: our fsck checks it and its blob" \
				"$OUR_FSCK" --extract --blob-dir="$ZS" "$WORK/rz.img"
		else
			fail "rebuild=copy: compressed files are copied into a new blob"
		fi
		if run_mkfs --rebuild=copy "$WORK/x.img" "$WORK/lz4.img"; then
			fail "rebuild=copy: needs a place for the blob"
		else
			check "rebuild=copy without --blobdev or --blob-dir is a usage error" \
				bash -c "[ $MKFS_RC = 2 ] && grep -q 'needs --blobdev or --blob-dir' '$WORK/mkfs.err'"
		fi
	fi
fi

# ------------------------------------------------------------ bad input

if run_mkfs --rebuild "$WORK/x.img" "$WORK/missing.img"; then
	fail "rebuild: a missing input is refused"
else
	check "rebuild: a missing input is refused, naming it (exit 1)" \
		bash -c "[ $MKFS_RC = 1 ] && grep -q \"'$WORK/missing.img'\" '$WORK/mkfs.err' && [ ! -e '$WORK/x.img' ]"
fi
head -c 8192 /dev/urandom >"$WORK/garbage.img"
if run_mkfs --rebuild "$WORK/x.img" "$WORK/garbage.img"; then
	fail "rebuild: an input that is not EROFS is refused"
else
	check "rebuild: an input that is not EROFS is refused, naming it" \
		grep -q "'$WORK/garbage.img'" "$WORK/mkfs.err"
fi
if run_mkfs -b 1024 --rebuild "$WORK/x.img" "$WORK/l1.img"; then
	fail "rebuild: a block size other than the inputs' is refused"
else
	check "rebuild: a block size other than the inputs' is refused with a hint" \
		grep -q "build with -b 4096" "$WORK/mkfs.err"
fi
if run_mkfs --rebuild "$WORK/x.img"; then
	fail "rebuild: no input is a usage error"
else
	check "rebuild: no input is a usage error (exit 2)" [ "$MKFS_RC" = 2 ]
fi

finish
