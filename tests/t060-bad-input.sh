#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Bad input.  In every case mkfs.erofs must exit 1 with a message of the
# form "mkfs.erofs: <what> '<path>': <reason>" that names the offending
# path, leave no file at IMAGE, and leave a pre-existing IMAGE (and the rest
# of its directory) untouched:
#   - a file the user cannot read, a directory the user cannot list (root
#     reads everything, so these run mkfs as nobody through setpriv)
#   - a file that shrinks, grows or vanishes while mkfs runs
#   - SOURCE that is not a directory, or does not exist
#   - an output directory that does not exist, or that the user cannot write
#   - a full disk (a 1 MiB tmpfs)
# and invalid option values exit 2, also without touching an existing IMAGE.

. "$(dirname "$0")/lib.sh"

require_root
require_mkfs
require_cmd setpriv python3 openssl

NOBODY_UID=65534
NOBODY_GID=65534
as_nobody() {
	setpriv --reuid=$NOBODY_UID --regid=$NOBODY_GID --clear-groups -- "$@"
}

# the tests below run as nobody inside $WORK; the build tree may sit in a
# folder nobody can enter (a private temp dir), so run a copy of the binary
chmod 0755 "$WORK"
mkdir -p "$WORK/bin"
cp "$MKFS" "$WORK/bin/mkfs.erofs"
chmod 0755 "$WORK/bin" "$WORK/bin/mkfs.erofs"
MKFS=$WORK/bin/mkfs.erofs
as_nobody test -x "$MKFS" || skip "nobody cannot run $MKFS (check the permissions of its path)"

# check_message DESC [PATH_FRAGMENT]: stderr of the last run explains the
# error in the contract's form "mkfs.erofs: <what> '<path>': <reason>",
# naming the path, and (house rule) reports it once.
check_message() {
	local desc=$1 frag=${2:-} err=$WORK/mkfs.err n
	if [ -z "$frag" ]; then
		if grep -q '^mkfs\.erofs: ' "$err"; then
			pass "$desc: message: $(grep -m1 '^mkfs\.erofs: ' "$err")"
		else
			fail "$desc: a message 'mkfs.erofs: ...' on stderr"
			head -n 5 "$err" | sed 's/^/    stderr: /'
		fi
		return
	fi
	if grep -qE "^mkfs\.erofs: .*'[^']*${frag}[^']*'" "$err"; then
		pass "$desc: the message names '$frag'"
	else
		fail "$desc: a message 'mkfs.erofs: ...' naming '$frag' on stderr"
		head -n 5 "$err" | sed 's/^/    stderr: /'
		return
	fi
	if grep -qE "^mkfs\.erofs: [^'].* '[^']*${frag}[^']*': .+" "$err"; then
		pass "$desc: the message has the form \"mkfs.erofs: <what> '<path>': <reason>\""
	else
		fail "$desc: the message has the form \"mkfs.erofs: <what> '<path>': <reason>\""
		head -n 5 "$err" | sed 's/^/    stderr: /'
	fi
	n=$(grep -c '^mkfs\.erofs: ' "$err")
	if [ "$n" -eq 1 ]; then
		pass "$desc: the error is reported once"
	else
		fail "$desc: the error is reported once ($n 'mkfs.erofs:' lines)"
		head -n 5 "$err" | sed 's/^/    stderr: /'
	fi
}

# expect_failure DESC WANT_RC PATH_FRAGMENT IMG RUNNER... -- MKFS ARGS...
#
# Runs mkfs twice: once with no file at IMG, once over a pre-existing IMG.
# RUNNER is a command prefix (e.g. as_nobody) or ':' for none.
expect_failure() {
	local desc=$1 want=$2 frag=$3 img=$4 runner=() dir before after
	local sum_before sum_after round
	shift 4
	while [ "$1" != -- ]; do
		runner+=("$1")
		shift
	done
	shift
	[ "${runner[0]}" = : ] && runner=()
	dir=$(dirname "$img")
	for round in fresh existing; do
		rm -f "$img" 2>/dev/null
		if [ $round = existing ]; then
			[ -d "$dir" ] || continue
			# a recognisable old image, which must survive
			head -c 12345 /dev/urandom >"$img" 2>/dev/null || continue
			sum_before=$(sum "$img")
		fi
		before=$(ls -A "$dir" 2>/dev/null | sort | tr '\n' '/')
		"${runner[@]}" "$MKFS" "$@" >"$WORK/mkfs.out" 2>"$WORK/mkfs.err"
		MKFS_RC=$?
		if [ "$MKFS_RC" -eq "$want" ]; then
			pass "$desc ($round image): exit $want"
		else
			fail "$desc ($round image): exit $MKFS_RC, expected $want"
			head -n 5 "$WORK/mkfs.err" | sed 's/^/    stderr: /'
		fi
		check_message "$desc ($round image)" "$frag"
		if [ $round = fresh ]; then
			check "$desc ($round image): no file left at the image path" [ ! -e "$img" ]
		else
			sum_after=$(sum "$img" 2>/dev/null)
			check "$desc ($round image): the old image is untouched" \
				[ "$sum_before" = "$sum_after" ]
		fi
		after=$(ls -A "$dir" 2>/dev/null | sort | tr '\n' '/')
		if [ "$before" = "$after" ]; then
			pass "$desc ($round image): no other file left in the output directory"
		else
			fail "$desc ($round image): the output directory changed: [$before] -> [$after]"
		fi
	done
	rm -f "$img" 2>/dev/null
}

# a small readable tree
mktree() {
	mkdir -p "$1/sub"
	echo one >"$1/one"
	echo two >"$1/sub/two"
	chmod -R a+rX "$1"
}

out=$WORK/out
mkdir -p "$out"
chown $NOBODY_UID:$NOBODY_GID "$out"

log "--- a file nobody can read"
mktree "$WORK/ur"
echo secret >"$WORK/ur/sub/secret-file"
chmod 000 "$WORK/ur/sub/secret-file"
expect_failure "unreadable file" 1 secret-file "$out/x.img" as_nobody -- \
	"$out/x.img" "$WORK/ur"

log "--- a directory nobody can list"
mktree "$WORK/ud"
mkdir -p "$WORK/ud/locked-dir/inner"
echo x >"$WORK/ud/locked-dir/inner/file"
chmod 000 "$WORK/ud/locked-dir"
expect_failure "unreadable directory" 1 locked-dir "$out/x.img" as_nobody -- \
	"$out/x.img" "$WORK/ud"

mktree "$WORK/us"
mkdir -p "$WORK/us/search-only/inner"
chmod 0311 "$WORK/us/search-only"
expect_failure "directory with x but no r permission" 1 search-only "$out/x.img" as_nobody -- \
	"$out/x.img" "$WORK/us"

log "--- an output directory nobody can write"
mktree "$WORK/ok"
mkdir -p "$WORK/ro-out"
chmod 0755 "$WORK/ro-out"
expect_failure "unwritable output directory" 1 x.img "$WORK/ro-out/x.img" as_nobody -- \
	"$WORK/ro-out/x.img" "$WORK/ok"

log "--- SOURCE and IMAGE paths"
echo "not a directory" >"$WORK/plain-file"
expect_failure "source is a regular file" 1 plain-file "$out/x.img" : -- \
	"$out/x.img" "$WORK/plain-file"
expect_failure "source does not exist" 1 no-such-source "$out/x.img" : -- \
	"$out/x.img" "$WORK/no-such-source"
expect_failure "output directory does not exist" 1 no-such-dir "$WORK/no-such-dir/x.img" : -- \
	"$WORK/no-such-dir/x.img" "$WORK/ok"
mkdir -p "$WORK/img-is-dir"
expect_failure "IMAGE is an existing directory" 1 img-is-dir "$out/x.img" : -- \
	"$WORK/img-is-dir" "$WORK/ok"
check "IMAGE is an existing directory: the directory is still there" [ -d "$WORK/img-is-dir" ]

log "--- a full disk"
if mount_tmpfs "$WORK/full" 1m; then
	mkdir -p "$WORK/big"
	head -c $((4 << 20)) /dev/urandom >"$WORK/big/random"
	expect_failure "full disk" 1 "" "$WORK/full/x.img" : -- \
		"$WORK/full/x.img" "$WORK/big"
	if grep -q 'No space left on device' "$WORK/mkfs.err"; then
		pass "full disk: the message gives the reason (No space left on device)"
	else
		fail "full disk: the message gives the reason (No space left on device)"
		head -n 5 "$WORK/mkfs.err" | sed 's/^/    stderr: /'
	fi
	check "full disk: the tmpfs is empty again" [ -z "$(ls -A "$WORK/full")" ]
	check "full disk: all its space is free again" \
		[ "$(df --output=used -k "$WORK/full" | tail -n 1 | tr -d ' ')" -eq 0 ]
else
	skip "cannot mount a tmpfs"
fi

log "--- files that change while mkfs reads them"
# These are races by nature.  They are made reliable like this: the tree
# holds one 256 MiB file followed (in name order) by a 64 KiB one, mkfs runs
# with --workers=1, and a watcher waits until mkfs has written 16 MiB into
# its output file (so the scan is over and the big file is being copied)
# before it changes the source: it truncates or extends the big file, or
# deletes the small one that has not been read yet.  If mkfs finishes before
# the watcher could act, the case is reported as not run rather than passed.
head -c $((256 << 20)) < <(openssl enc -aes-128-ctr -nosalt -pass pass:race -pbkdf2 \
	</dev/zero 2>/dev/null) >"$WORK/random-256m"

# race DESC FRAGMENT ACTION TARGET: the watcher starts mkfs itself, so that
# it is already watching when mkfs begins; it exits with mkfs's status, or
# with 100 when mkfs was done before the source could be changed.
race() {
	local desc=$1 frag=$2 action=$3 target=$4 src=$WORK/race-src rc
	local rout=$WORK/race-out
	rm -rf "$src" "$rout"
	mkdir -p "$src" "$rout"
	cp "$WORK/random-256m" "$src/a-big"
	head -c 65536 "$WORK/random-256m" >"$src/b-victim"
	echo "after" >"$src/c-after"
	python3 - "$rout" "$action" "$src/$target" "$WORK/mkfs.out" "$WORK/mkfs.err" \
		"$MKFS" --workers=1 "$rout/x.img" "$src" <<'PYEOF'
import os, subprocess, sys, time
outdir, action, target, out, err = sys.argv[1:6]
cmd = sys.argv[6:]
with open(out, "wb") as o, open(err, "wb") as e:
    proc = subprocess.Popen(cmd, stdout=o, stderr=e)
done = False
while not done and proc.poll() is None:
    try:
        fds = os.listdir("/proc/%d/fd" % proc.pid)
    except OSError:
        fds = []
    for fd in fds:
        p = "/proc/%d/fd/%s" % (proc.pid, fd)
        try:
            if not os.readlink(p).startswith(outdir + "/"):
                continue
            if os.stat(p).st_blocks * 512 < (16 << 20):
                continue
        except OSError:
            continue
        if action == "unlink":
            os.unlink(target)
        elif action == "append":
            with open(target, "ab") as f:
                f.write(b"x" * 65536)
        elif action == "truncate":
            os.truncate(target, os.stat(target).st_size // 2)
        done = True
        break
    time.sleep(0.0002)
rc = proc.wait()
sys.exit(rc if done else 100)
PYEOF
	rc=$?
	if [ $rc -eq 100 ]; then
		log "note: $desc: mkfs finished before the source could be changed; case not run"
		return
	fi
	if [ $rc -eq 1 ]; then
		pass "$desc: exit 1"
	else
		fail "$desc: exit $rc, expected 1"
		head -n 5 "$WORK/mkfs.err" | sed 's/^/    stderr: /'
	fi
	check_message "$desc" "$frag"
	check "$desc: the output directory is empty" [ -z "$(ls -A "$rout")" ]
}
race "file shrinks during the build" a-big truncate a-big
race "file grows during the build" a-big append a-big
race "file vanishes during the build" b-victim unlink b-victim

log "--- invalid option values leave an existing image alone"
expect_failure "-b 3000" 2 "" "$out/x.img" : -- -b 3000 "$out/x.img" "$WORK/ok"
expect_failure "-L of 16 bytes" 2 "" "$out/x.img" : -- -L 0123456789abcdef "$out/x.img" "$WORK/ok"
expect_failure "-U nonsense" 2 "" "$out/x.img" : -- -U nonsense "$out/x.img" "$WORK/ok"
expect_failure "--force-uid=-5" 2 "" "$out/x.img" : -- --force-uid=-5 "$out/x.img" "$WORK/ok"
expect_failure "unknown option" 2 "" "$out/x.img" : -- --no-such-option "$out/x.img" "$WORK/ok"

finish
