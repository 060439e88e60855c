#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dump.erofs output, as documented in dump.erofs(1): -s (superblock and
# feature names), --path/--nid (inode details, xattr values quoted or in
# hex, symlink targets, device numbers, extents and chunk maps), --ls, -S
# (statistics) and --device (the device table of a Debian blob-device
# image).  Needs root for owners and device nodes.

. "$(dirname "$0")/lib.sh"

require_root
require_mkfs
require_cmd setfattr
OUR_DUMP=${OUR_DUMP:-$top_builddir/dump/dump.erofs}
[ -x "$OUR_DUMP" ] || die "dump.erofs not found at $OUR_DUMP"

src=$WORK/src
mkdir -p "$src/d/sub"
printf 'Hello, EROFS!\n' >"$src/hello"
head -c 10000 /dev/zero >"$src/d/zeros"
ln -s hello "$src/link"
ln "$src/hello" "$src/d/hard"
mknod "$src/d/chr" c 259 70000
mkfifo "$src/d/fifo"
truncate -s 1M "$src/sparse"
echo end >>"$src/sparse"
setfattr -n user.text -v 'say "hi"' "$src/hello"
setfattr -n user.bin -v 0x00ff41 "$src/hello"
setfattr -n trusted.overlay.opaque -v y "$src/d"
chown 1234:5678 "$src/d/zeros"
chmod 4750 "$src/d/zeros"
touch -d @1600000000.123456789 "$src/hello"

img=$WORK/img
build -b 1024 -U 01234567-89ab-cdef-0123-456789abcdef -L label \
	--xattr-prefix=trusted.overlay. "$img" "$src" || die "mkfs.erofs failed"

# has DESC FILE LINE...: every LINE is a whole line of FILE
has() {
	local desc=$1 file=$2 l ok=1
	shift 2
	for l in "$@"; do
		if ! grep -qxF -- "$l" "$file"; then
			ok=0
			log "    missing: $l"
		fi
	done
	if [ $ok = 1 ]; then
		pass "$desc"
	else
		fail "$desc"
		sed 's/^/    | /' "$file"
	fi
}

# dump OUT ARGS...: runs dump.erofs, which must succeed
dump() {
	local out=$1
	shift
	if ! "$OUR_DUMP" "$@" >"$out" 2>"$WORK/dump.err"; then
		fail "dump.erofs $* exits 0"
		sed 's/^/    /' "$WORK/dump.err"
	fi
}

dump "$WORK/s" -s "$img"
has "-s: superblock fields" "$WORK/s" \
	"magic: 0xe0f5e1e2" "block_size: 1024" "blkszbits: 10" \
	"uuid: 01234567-89ab-cdef-0123-456789abcdef" "volume_name: label" \
	"xattr_prefix_count: 1" 'xattr_prefix: 0 base 4 infix "overlay."' \
	"image_size: $(stat -c %s "$img")"
if grep -qE '^features:( [a-z0-9_]+)*$' "$WORK/s" &&
	grep '^features:' "$WORK/s" | grep -qw sb_csum &&
	grep '^features:' "$WORK/s" | grep -qw xattr_prefixes; then
	pass "-s: features by name"
else
	fail "-s: features by name"
	grep '^features' "$WORK/s" | sed 's/^/    /'
fi
dump "$WORK/s0" "$img"
check "no option means -s" cmp -s "$WORK/s" "$WORK/s0"

dump "$WORK/i" --path=/hello "$img"
has "--path: a regular file" "$WORK/i" \
	"path: /hello" "type: regular file" "mode: 0100644" "permissions: -rw-r--r--" \
	"size: 14" "nlink: 2" "mtime: 1600000000.123456789" \
	"mtime_utc: 2020-09-13 12:26:40" "xattrs: 2" \
	'xattr: user.text = "say \"hi\""' "xattr: user.bin = 0x00ff41"
nid=$(sed -n 's/^nid: //p' "$WORK/i")
dump "$WORK/n" --nid="$nid" "$img"
sed 1,2d "$WORK/i" >"$WORK/i2"
sed 1d "$WORK/n" >"$WORK/n2"
check "--nid shows what --path shows" cmp -s "$WORK/i2" "$WORK/n2"

dump "$WORK/z" --path=d/zeros "$img"
has "--path: owner, set-id bits, blocks" "$WORK/z" \
	"uid: 1234" "gid: 5678" "mode: 0104750" "permissions: -rwsr-x---" "size: 10000"
check "--path: an extent line" grep -qE '^extent: 0\.\.[0-9]+ blocks [0-9]+\.\.[0-9]+ device 0$' "$WORK/z"

dump "$WORK/l" --path=/link "$img"
has "--path: a symlink" "$WORK/l" "type: symlink" "symlink_target: hello" "size: 5"
dump "$WORK/c" --path=/d/chr "$img"
has "--path: a device" "$WORK/c" "type: character device" "rdev: 259:70000"
dump "$WORK/d" --path=/d "$img"
has "--path: a directory and a long-prefix xattr" "$WORK/d" \
	"type: directory" "nlink: 3" 'xattr: trusted.overlay.opaque = "y"'
dump "$WORK/sp" --path=/sparse "$img"
if grep -qx "layout: chunk based" "$WORK/sp"; then
	check "--path: a chunk map with a hole" grep -qE '^extent: [0-9]+\.\.[0-9]+ hole$' "$WORK/sp"
else
	log "note: /sparse is not chunk-based here"
fi

dump "$WORK/ls" --ls "$img"
root=$(sed -n 's/^root_nid: //p' "$WORK/s")
has "--ls: the root" "$WORK/ls" "$root dir ." "$root dir .." "$nid file hello" \
	"$(sed -n 's/^nid: //p' "$WORK/l") symlink link"
dump "$WORK/ls2" --ls --path=/d "$img"
has "--ls --path" "$WORK/ls2" "$root dir .." "$(sed -n 's/^nid: //p' "$WORK/c") chrdev chr"
check "--ls lists one line per entry" [ "$(wc -l <"$WORK/ls2")" = 7 ]

dump "$WORK/st" -S "$img"
has "-S: statistics" "$WORK/st" "regular_files: 3" "directories: 3" "symlinks: 1" \
	"character_devices: 1" "fifos: 1" "hard_linked_inodes: 1" "inodes: 9" \
	"file_size 1..1023: 1" "file_size 4K..16K-1: 1" "file_size 1M..4M-1: 1"

"$OUR_DUMP" --path=/nonexistent "$img" >"$WORK/o" 2>&1
check "a missing path exits 2" [ $? = 2 ]
"$OUR_DUMP" --nid=1 --path=/ "$img" >"$WORK/o" 2>&1
check "--nid with --path is refused" [ $? = 2 ]

if [ -x "$DEB_MKFS" ]; then
	if "$DEB_MKFS" --chunksize=4096 --blobdev="$WORK/blob" "$WORK/deb.img" "$src" \
		>/dev/null 2>&1; then
		dump "$WORK/dev" --device="$WORK/blob" "$WORK/deb.img"
		has "--device: the device table" "$WORK/dev" "extra_devices: 1" "device: 1" \
			"device_path: $WORK/blob" "device_size: $(stat -c %s "$WORK/blob")"
		dump "$WORK/dz" --device="$WORK/blob" --path=/d/zeros "$WORK/deb.img"
		check "--device: chunks on device 1" grep -qE '^extent: .* device 1$' "$WORK/dz"
		has "--device: 8-byte chunk indexes" "$WORK/dz" "chunk_entries: 8-byte chunk indexes"
	else
		fail "Debian mkfs.erofs --blobdev succeeds"
	fi
else
	log "note: no Debian mkfs.erofs; --device not tested"
fi

finish
