#!/bin/bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
#
# dm-verity hash trees (mkfs.erofs --verity, fsck.erofs --verity):
#   - veritysetup verify accepts every tree we write with the root hash we
#     print, appended and in a separate file, for block sizes 4096 and 512
#     and for verity blocks smaller and larger than the image's;
#   - the tree is byte for byte what veritysetup format writes when given
#     our salt and UUID;
#   - the filesystem part is the image built without --verity, so the
#     kernel mounts it as before; every image is checked and compared;
#   - the default salt is sha256("erofs-forge verity salt" || UUID), and the
#     same input gives the same tree for any number of workers;
#   - a changed data byte fails veritysetup verify and our fsck, which names
#     the block; a changed hash block and a wrong root hash fail ours;
#   - the manifest carries the values printed;
#   - bad values are refused, and a failed build leaves no image or tree.

. "$(dirname "$0")/lib.sh"

require_mount
require_mkfs
require_cmd veritysetup
require_cmd python3
find_treecmp

UUID=6a7e8bc9-5a7d-4b9f-9a43-1d2e3f405162
src=$WORK/src
mkdir -p "$src/dir/sub" "$src/empty-dir"
printf 'hello\n' >"$src/hello"
head -c 300000 /dev/urandom >"$src/dir/random"
# over 128 blocks of 4096 bytes: a tree of two levels
head -c 1100000 /dev/urandom >"$src/large"
head -c 8192 /dev/urandom >"$src/dir/two-blocks"
head -c 5000 /dev/urandom >"$src/dir/sub/odd"
: >"$src/empty"
truncate -s 8M "$src/sparse"
printf 'middle' | dd of="$src/sparse" bs=1 seek=$((4 << 20)) conv=notrunc status=none
ln -s hello "$src/link"
ln "$src/hello" "$src/dir/hardlink"
for i in $(seq 1 40); do printf 'file %d\n' "$i" >"$src/dir/sub/f$i"; done
# -T pins every mtime; the source gets the same, for the comparisons
find "$src" -exec touch -h -d @1700000000 {} +

# field NAME: a "Name: value" line of the last build's output
field() {
	sed -n "s/^$1:[[:space:]]*//p" "$WORK/mkfs.out"
}

# verity_build NAME "MKFS ARGS": builds $WORK/NAME.img and mounts, compares
# and checks it like any other image
verity_build() {
	local name=$1 margs=$2 img=$WORK/$1.img mnt=$WORK/$1.mnt
	rm -f "$img"
	# shellcheck disable=SC2086
	if ! build $margs -T 1700000000 -U $UUID "$img" "$src"; then
		fail "$name: mkfs.erofs $margs succeeds"
		return 1
	fi
	pass "$name: mkfs.erofs $margs succeeds"
	check_image "$img" "$name"
	if mount_image "$img" "$mnt"; then
		pass "$name: the kernel mounts the image"
		compare_tree "$src" "$mnt" "$name: mounted image equals the source"
		umount_image "$mnt" || fail "$name: unmount"
	else
		fail "$name: the kernel mounts the image"
	fi
}

for bs in 4096 512; do
	log "--- block size $bs"
	run_mkfs -b $bs -T 1700000000 -U $UUID "$WORK/plain$bs.img" "$src" ||
		die "plain image with -b $bs does not build"
	plain=$WORK/plain$bs.img
	fs_bytes=$(stat -c %s "$plain")

	name=app$bs
	if verity_build $name "-b $bs --verity"; then
		img=$WORK/$name.img
		cp "$WORK/mkfs.out" "$WORK/$name.out"
		root=$(field 'Root hash')
		off=$(field 'Hash offset')
		check "$name: Root hash is 64 hex digits" [ "${#root}" -eq 64 ]
		check "$name: Hash offset is the end of the filesystem" [ "$off" = "$fs_bytes" ]
		check "$name: Data blocks: the filesystem's blocks" \
			[ "$(field 'Data blocks')" -eq $((fs_bytes / bs)) ]
		check "$name: Data and hash block size $bs" \
			[ "$(field 'Data block size')" = $bs ] && [ "$(field 'Hash block size')" = $bs ]
		check "$name: Hash type 1, sha256" \
			[ "$(field 'Hash type')" = 1 ] && [ "$(field 'Hash algorithm')" = sha256 ]
		check "$name: Hash start block is the block after the verity superblock" \
			[ "$(field 'Hash start block')" -eq $((off / bs + 1)) ]
		check "$name: the filesystem is the image without --verity, byte for byte" \
			cmp -s -n "$fs_bytes" "$img" "$plain"
		check "$name: veritysetup verify accepts it with the printed root hash" \
			veritysetup verify "$img" "$img" "$root" --hash-offset="$off"
		verify_cmd=$(field 'Verify with')
		check "$name: the printed command verifies it" \
			[ "$verify_cmd" = "veritysetup verify $img $img $root --hash-offset=$off" ]
		"$OUR_FSCK" --verity --root-hash="$root" "$img" >"$WORK/v.out" 2>&1
		check "$name: our fsck.erofs --verity accepts it" [ $? -eq 0 ]
		check "$name: ... and says so" grep -q "verity: .* match root hash $root" "$WORK/v.out"
		# veritysetup format with our salt and UUID writes the same tree
		cp "$plain" "$WORK/vs.img"
		veritysetup format --salt="$(field Salt)" --uuid=$UUID --data-block-size=$bs \
			--hash-block-size=$bs --hash-offset="$fs_bytes" "$WORK/vs.img" "$WORK/vs.img" \
			>"$WORK/vs.out" 2>&1
		check "$name: veritysetup format gives the same root hash" \
			grep -q "^Root hash:[[:space:]]*$root\$" "$WORK/vs.out"
		check "$name: ... and the same file, byte for byte" cmp -s "$WORK/vs.img" "$img"

		# one data byte changed in a copy: in the middle of dir/random
		blk=$("$top_builddir/dump/dump.erofs" --path=/dir/random "$img" |
			sed -n 's/^start_block: //p')
		cp "$img" "$WORK/bad.img"
		byte=$(od -An -tu1 -j $((blk * bs + 77)) -N1 "$WORK/bad.img" | tr -d ' ')
		printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
			dd of="$WORK/bad.img" bs=1 seek=$((blk * bs + 77)) conv=notrunc status=none
		veritysetup verify "$WORK/bad.img" "$WORK/bad.img" "$root" --hash-offset="$off" \
			>"$WORK/vs.out" 2>&1
		check "$name: veritysetup verify fails on a changed data byte" [ $? -ne 0 ]
		check "$name: ... naming its position" \
			grep -q "position $((blk * bs))" "$WORK/vs.out"
		"$OUR_FSCK" --verity --root-hash="$root" "$WORK/bad.img" >"$WORK/v.out" 2>&1
		check "$name: our fsck.erofs --verity fails on it (exit 1)" [ $? -eq 1 ]
		check "$name: ... naming data block $blk" \
			grep -q "verity: data block $blk (bytes $((blk * bs))-$(((blk + 1) * bs - 1)), filesystem block $blk) does not match" "$WORK/v.out"

		# a byte of the last level-0 hash block: that block is named
		cp "$img" "$WORK/bad.img"
		printf '\377' | dd of="$WORK/bad.img" bs=1 seek=$(($(stat -c %s "$img") - 1)) \
			conv=notrunc status=none
		"$OUR_FSCK" --verity --root-hash="$root" "$WORK/bad.img" >"$WORK/v.out" 2>&1
		check "$name: a changed hash block fails our fsck (exit 1)" [ $? -eq 1 ]
		check "$name: ... naming a hash block of level 0" \
			grep -q "verity: hash block [0-9]* of level 0 (offset [0-9]*) does not match the level above" "$WORK/v.out"
		wrong=$(printf '%s' "$root" | tr '0-9a-f' '1-9a-f0')
		"$OUR_FSCK" --verity --root-hash="$wrong" "$img" >"$WORK/v.out" 2>&1
		check "$name: another root hash fails our fsck (exit 1)" [ $? -eq 1 ]
		check "$name: ... saying the top block does not match it" \
			grep -q "top hash block .* does not match the root hash" "$WORK/v.out"
		"$OUR_FSCK" --verity --root-hash="$root" "$plain" >"$WORK/v.out" 2>&1
		check "$name: an image without a tree fails our fsck --verity (exit 1)" [ $? -eq 1 ]
		rm -f "$WORK/bad.img" "$WORK/vs.img"
	fi

	name=sep$bs
	if verity_build $name "-b $bs --verity=$WORK/$name.hash"; then
		img=$WORK/$name.img
		root=$(field 'Root hash')
		check "$name: Hash offset 0" [ "$(field 'Hash offset')" = 0 ]
		check "$name: the image is the image without --verity" cmp -s "$img" "$plain"
		check "$name: veritysetup verify accepts image and tree" \
			veritysetup verify "$img" "$WORK/$name.hash" "$root"
		check "$name: the printed command verifies it" \
			[ "$(field 'Verify with')" = "veritysetup verify $img $WORK/$name.hash $root" ]
		check "$name: our fsck.erofs --verity=FILE accepts it" \
			"$OUR_FSCK" --verity="$WORK/$name.hash" --root-hash="$root" "$img"
		check "$name: the same root hash as the appended tree" \
			grep -q "^Root hash:[[:space:]]*$(sed -n 's/^Root hash:[[:space:]]*//p' "$WORK/app$bs.out" 2>/dev/null)" "$WORK/mkfs.out"
		cp "$img" "$WORK/bad.img"
		printf 'X' | dd of="$WORK/bad.img" bs=1 seek=$((fs_bytes - 1)) conv=notrunc status=none
		veritysetup verify "$WORK/bad.img" "$WORK/$name.hash" "$root" >/dev/null 2>&1
		check "$name: veritysetup verify fails on a changed last byte" [ $? -ne 0 ]
		"$OUR_FSCK" --verity="$WORK/$name.hash" --root-hash="$root" "$WORK/bad.img" \
			>"$WORK/v.out" 2>&1
		check "$name: ... and so does our fsck, naming the last block" \
			grep -q "verity: data block $((fs_bytes / bs - 1)) " "$WORK/v.out"
		rm -f "$WORK/bad.img"
	fi
done

log "--- verity blocks of another size than the image's"
for combo in "4096 512" "512 4096" "1024 2048"; do
	set -- $combo
	name=b$1v$2
	if verity_build $name "-b $1 --verity-block-size=$2 --verity"; then
		img=$WORK/$name.img
		root=$(field 'Root hash')
		off=$(field 'Hash offset')
		check "$name: data and hash blocks of $2 bytes" \
			[ "$(field 'Data block size')" = "$2" ] && [ "$(field 'Hash block size')" = "$2" ]
		check "$name: the hash offset is a multiple of $2" [ $((off % $2)) -eq 0 ]
		check "$name: veritysetup verify accepts it" \
			veritysetup verify "$img" "$img" "$root" --hash-offset="$off"
		check "$name: our fsck.erofs --verity accepts it" \
			"$OUR_FSCK" --verity --root-hash="$root" "$img"
	fi
done

log "--- fingerprints and a tree in one build; the manifest"
name=fp
if verity_build $name "--fingerprint --verity --manifest=$WORK/m.json"; then
	img=$WORK/$name.img
	root=$(field 'Root hash')
	off=$(field 'Hash offset')
	check "$name: veritysetup verify accepts it" \
		veritysetup verify "$img" "$img" "$root" --hash-offset="$off"
	check "$name: our fsck verifies fingerprints and tree" \
		"$OUR_FSCK" --verify-fingerprints --verity --root-hash="$root" "$img"
	if python3 - "$WORK/m.json" "$img" "$WORK/mkfs.out" $UUID <<'PY'
import hashlib, json, sys, uuid
m = json.load(open(sys.argv[1]))
img = open(sys.argv[2], 'rb').read()
out = dict(l.split(':', 1) for l in open(sys.argv[3]) if ':' in l)
out = {k.strip(): v.strip() for k, v in out.items()}
v = m["image"]["verity"]
assert m["image"]["sha256"] == hashlib.sha256(img).hexdigest()
assert m["image"]["size"] == len(img)
assert m["image"]["blocks"] * m["image"]["block_size"] == v["hash_offset"]
assert v["root_hash"] == out["Root hash"]
assert v["salt"] == out["Salt"]
assert v["hash_type"] == 1 and v["algorithm"] == "sha256"
assert v["data_blocks"] == int(out["Data blocks"])
assert v["data_block_size"] == v["hash_block_size"] == 4096
assert v["hash_offset"] == int(out["Hash offset"])
assert v["hash_start_block"] == int(out["Hash start block"])
assert v["hash_offset"] + v["hash_bytes"] == len(img)
assert v["uuid"] == sys.argv[4] and v["placement"] == "appended"
# the default salt: sha256 of the text and the UUID's 16 bytes
want = hashlib.sha256(b"erofs-forge verity salt" + uuid.UUID(sys.argv[4]).bytes)
assert v["salt"] == want.hexdigest(), (v["salt"], want.hexdigest())
assert any("fingerprint" in f for f in m["files"])
PY
	then pass "manifest: the verity values as printed, the salt derived from the UUID"
	else fail "manifest: the verity values as printed, the salt derived from the UUID"
	fi
fi

log "--- reproducible"
run_mkfs --verity --workers=1 -T 1700000000 -U $UUID "$WORK/w1.img" "$src"
r1=$(field 'Root hash')
run_mkfs --verity --workers=4 -T 1700000000 -U $UUID "$WORK/w4.img" "$src"
check "the same image and tree for 1 and 4 workers" cmp -s "$WORK/w1.img" "$WORK/w4.img"
check "the same root hash as the first build" [ "$r1" = "$(field 'Root hash')" ] && \
	[ "$r1" = "$(sed -n 's/^Root hash:[[:space:]]*//p' "$WORK/app4096.out")" ]
run_mkfs --verity -T 1700000000 -U 00000000-0000-0000-0000-000000000001 "$WORK/u.img" "$src"
check "another UUID gives another salt" [ "$(field Salt)" != "$(sed -n 's/^Salt:[[:space:]]*//p' "$WORK/app4096.out")" ]
rm -f "$WORK/w1.img" "$WORK/w4.img" "$WORK/u.img"

log "--- a salt given"
for salt in 00112233445566778899 -; do
	img=$WORK/salt.img
	if run_mkfs --verity --verity-salt=$salt "$img" "$src"; then
		check "--verity-salt=$salt is the salt printed" [ "$(field Salt)" = $salt ]
		check "--verity-salt=$salt: veritysetup verify accepts it" \
			veritysetup verify "$img" "$img" "$(field 'Root hash')" --hash-offset="$(field 'Hash offset')"
		check "--verity-salt=$salt: our fsck accepts it" \
			"$OUR_FSCK" --verity --root-hash="$(field 'Root hash')" "$img"
	else
		fail "--verity-salt=$salt builds"
	fi
done
run_mkfs -q --verity "$WORK/q.img" "$src"
check "-q still prints the root hash" [ -n "$(field 'Root hash')" ]
check "-q prints no summary" [ -z "$(grep '^Built' "$WORK/mkfs.out")" ]

log "--- bad values and failed builds"
for args in "--verity-salt=zz --verity" "--verity-salt=abc --verity" "--verity-salt= --verity" \
	"--verity-block-size=8192 --verity" "--verity-block-size=1000 --verity" \
	"--verity-salt=00" "--verity-block-size=512" "--verity=" "--verity=$WORK/bad.img"; do
	# shellcheck disable=SC2086
	run_mkfs $args "$WORK/bad.img" "$src"
	check "$args exits 2" [ "$MKFS_RC" -eq 2 ]
	check "$args leaves no image" [ ! -e "$WORK/bad.img" ]
done
run_mkfs "--verity=$WORK/no/such/dir/t.hash" "$WORK/bad.img" "$src"
check "a hash file that cannot be created fails the build (exit 1)" [ "$MKFS_RC" -eq 1 ]
check "... naming it" grep -q "cannot create hash tree '$WORK/no/such/dir/t.hash'" "$WORK/mkfs.err"
check "... and leaves no image" [ ! -e "$WORK/bad.img" ]
check "... and no temporary file" [ -z "$(find "$WORK" -maxdepth 1 -name '.bad.img.*')" ]
"$OUR_FSCK" --verity "$WORK/plain4096.img" >/dev/null 2>&1
check "fsck.erofs --verity without --root-hash exits 2" [ $? -eq 2 ]
"$OUR_FSCK" --root-hash=abcd --verity "$WORK/plain4096.img" >/dev/null 2>&1
check "fsck.erofs with a short root hash exits 2" [ $? -eq 2 ]
"$OUR_FSCK" --verity="$WORK/no-such.hash" --root-hash="$r1" "$WORK/plain4096.img" >/dev/null 2>&1
check "fsck.erofs with a missing hash file exits 2" [ $? -eq 2 ]

# SIGTERM while the image and its separate hash tree are temporary files:
# both go.  strace holds every fsync for 1.5 s, so the hash tree's
# temporary file stays in place until the signal has been sent.
SIG=$WORK/sig
mkdir -p "$SIG/src" "$SIG/out"
head -c 1000000 /dev/urandom >"$SIG/src/f"
if command -v strace >/dev/null; then
	strace -f -qq -o /dev/null -e trace=fsync \
		-e inject=fsync:delay_enter=1500000 \
		"$MKFS" --verity="$SIG/out/t.hash" "$SIG/out/t.img" "$SIG/src" \
		>/dev/null 2>&1 &
	pid=$!
	seen=
	for _ in $(seq 2000); do
		if [ -n "$(find "$SIG/out" -name '.t.hash.*')" ]; then
			seen=1
			pkill -TERM -P "$pid"
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	wait "$pid"
	rc=$?
	check "SIGTERM: the hash tree's temporary file was seen while the build ran" \
		[ -n "$seen" ]
	check "SIGTERM: the build dies of the signal (exit $rc)" [ "$rc" = 143 ]
	check "SIGTERM: no temporary file, image or hash tree is left ($(ls -A "$SIG/out" | tr '\n' ' '))" \
		[ -z "$(ls -A "$SIG/out")" ]
else
	fail "SIGTERM: strace is installed (scripts/install-deps.sh installs it)"
fi
rm -rf "$SIG"

finish
