#!/bin/sh
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# /init of the test guest: runs the page cache sharing scenarios named by
# pcs.scen= on the kernel command line and prints one line per scenario,
#   scenario N: PASS|FAIL|SKIP: what (details)
# plus "perf: ..." lines, then powers the machine off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /mnt /tmp /fb
mount -t tmpfs tmpfs /tmp
. /etc/expect		# BIG_SHA PUBX_SHA PUBY_SHA LONG_SHA, VA_ROOT... for s16

ONE=$((BIG_SIZE / 1024))	# one copy of the big file, in kB
SCEN=$(sed -n 's/.*pcs\.scen=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')

say() { echo "scenario $1: $2: $3"; }
cached() { awk '/^Cached:/ { print $2 }' /proc/meminfo; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }
res() { set -- $(pcs fincore "$1"); echo "$1"; }
pages() { set -- $(pcs fincore "$1"); echo "$2"; }

# mnt IMAGE DIR [OPTIONS]: read-only mount of an image file (through a
# loop device) or of a block device
mnt() {
	mkdir -p "$2"
	if [ -b "$1" ]; then
		mount -t erofs -o "ro${3:+,$3}" "$1" "$2"
	else
		mount -t erofs -o "ro,loop${3:+,$3}" "$1" "$2"
	fi
}
umnt() { for d; do umount "$d" 2>/dev/null; done; }

# one copy: grew by 3/4 to 3/2 of the file; two copies: at least 7/4 of it
one_copy() { [ "$1" -ge $((ONE * 3 / 4)) ] && [ "$1" -le $((ONE * 3 / 2)) ]; }
two_copies() { [ "$1" -ge $((ONE * 7 / 4)) ]; }

# pair N WHAT IMG_A IMG_B OPTS_A OPTS_B SHARED(yes|no)
# Reads big.bin through A, checks residency through B before B reads it,
# then reads B and checks the growth of Cached and both digests.
pair() {
	n=$1 what=$2
	if ! mnt "$3" /mnt/a "$5" || ! mnt "$4" /mnt/b "$6"; then
		say "$n" FAIL "$what (mount failed)"; umnt /mnt/a /mnt/b; return
	fi
	c0=$(cached)
	sa=$(sha /mnt/a/big.bin)
	rb=$(res /mnt/b/big.bin); tot=$(pages /mnt/b/big.bin)
	sb=$(sha /mnt/b/big.bin)
	grow=$(($(cached) - c0))
	umnt /mnt/a /mnt/b
	detail="B resident before reading it: $rb/$tot pages, Cached +${grow} kB for a ${ONE} kB file"
	if [ "$sa" != "$BIG_SHA" ] || [ "$sb" != "$BIG_SHA" ]; then
		say "$n" FAIL "$what (wrong data; $detail)"
	elif [ "$7" = yes ] && [ "$rb" = "$tot" ] && one_copy "$grow"; then
		say "$n" PASS "$what ($detail)"
	elif [ "$7" = no ] && [ "$rb" = 0 ] && two_copies "$grow"; then
		say "$n" PASS "$what ($detail)"
	else
		say "$n" FAIL "$what ($detail)"
	fi
}

S="inode_share,domain_id=d1"

s1() { pair 1 "same domain shares one copy" /img/a.img /img/b.img "$S" "$S" yes; }
s2() { pair 2 "different domains share nothing" /img/a.img /img/b.img \
	"$S" "inode_share,domain_id=d2" no; }
s3() { pair 3 "without inode_share nothing is shared" /img/a.img /img/b.img "" "" no; }
s4() { pair 4 "equal content without fingerprints is not shared" \
	/img/a-nofp.img /img/b-nofp.img "$S" "$S" no; }
s5() {
	if [ ! -e /img/za.img ]; then
		say 5 SKIP "mkfs.erofs has no -z lz4 yet"; return
	fi
	pair 5 "lz4 images share one copy" /img/za.img /img/zb.img "$S" "$S" yes
}
# compressed files through images from another builder, fingerprint table
# added by hand; exercises the compressed read path on its own
s5b() {
	if [ ! -e /img/da.img ]; then
		say 5b SKIP "no lz4 images from /usr/bin/mkfs.erofs"; return
	fi
	pair 5b "lz4 images (Debian mkfs.erofs 1.5, table added by hand) share" \
		/img/da.img /img/db.img "$S" "$S" yes
}

s6() {
	mnt /img/a.img /mnt/a "$S" && mnt /img/b.img /mnt/b "$S" ||
		{ say 6 FAIL "mount failed"; umnt /mnt/a /mnt/b; return; }
	ma=$(pcs mmapcat /mnt/a/big.bin | sha256sum | cut -d' ' -f1)
	mb=$(pcs mmapcat /mnt/b/big.bin | sha256sum | cut -d' ' -f1)
	set -- $(pcs frames /mnt/a/big.bin); fa=$1 za=$2
	set -- $(pcs frames /mnt/b/big.bin); fb=$1 zb=$2 np=$3
	umnt /mnt/a /mnt/b
	d="frames of $np pages: A $fa, B $fb"
	if [ "$ma" = "$BIG_SHA" ] && [ "$mb" = "$BIG_SHA" ] && [ "$fa" = "$fb" ] &&
	   [ "$za" = 0 ] && [ "$zb" = 0 ]; then
		say 6 PASS "mmap through both images: right bytes, same physical pages ($d)"
	else
		say 6 FAIL "mmap through both images ($d; digests ok: $([ "$ma" = "$BIG_SHA" ] && echo A) $([ "$mb" = "$BIG_SHA" ] && echo B))"
	fi
}

s7() {
	mnt /img/a.img /mnt/a "$S" && mnt /img/b.img /mnt/b "$S" ||
		{ say 7 FAIL "mount failed"; umnt /mnt/a /mnt/b; return; }
	sha /mnt/a/big.bin >/dev/null
	r0=$(res /mnt/b/big.bin)
	c0=$(cached)
	pcs dontneed /mnt/a/big.bin
	r1=$(res /mnt/b/big.bin); ra=$(res /mnt/a/big.bin)
	drop=$((c0 - $(cached)))
	umnt /mnt/a /mnt/b
	d="B resident $r0 -> $r1 pages, A $ra, Cached -${drop} kB"
	if [ "$r0" -gt 0 ] && [ "$r1" = 0 ] && [ "$ra" = 0 ] && one_copy "$drop"; then
		say 7 PASS "fadvise(DONTNEED) through A drops the pages for B ($d)"
	else
		say 7 FAIL "fadvise(DONTNEED) through A ($d)"
	fi
}

kmemleak_erofs() {
	[ -w /sys/kernel/debug/kmemleak ] || { echo "n/a"; return; }
	sleep 6		# kmemleak ignores objects younger than 5 s
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	grep -c erofs /sys/kernel/debug/kmemleak
}

s8() {
	c0=$(cached)
	mnt /img/a.img /mnt/a "$S" && mnt /img/b.img /mnt/b "$S" ||
		{ say 8 FAIL "mount failed"; umnt /mnt/a /mnt/b; return; }
	sha /mnt/a/big.bin >/dev/null
	rm -f /tmp/go
	pcs hold /mnt/b/big.bin /tmp/go > /tmp/held &
	hold=$!
	sleep 1
	umount /mnt/a && ua=ok || ua=failed
	touch /tmp/go
	wait $hold
	sh=$(sha /tmp/held); rm -f /tmp/held /tmp/go
	umount /mnt/b && ub=ok || ub=failed
	left=$(($(cached) - c0))
	leaks=$(kmemleak_erofs)
	d="umount A $ua while B open, umount B $ub, Cached ${left} kB over start, kmemleak reports naming erofs: $leaks"
	if [ "$sh" = "$BIG_SHA" ] && [ $ua = ok ] && [ $ub = ok ] &&
	   [ "$left" -lt $((ONE / 4)) ] && { [ "$leaks" = 0 ] || [ "$leaks" = n/a ]; }; then
		say 8 PASS "unmount one sharer while the other reads ($d)"
	else
		say 8 FAIL "unmount one sharer while the other reads ($d; data ok: $([ "$sh" = "$BIG_SHA" ] && echo yes || echo no))"
	fi
}

# mount_many OPTS: mount the 16 images at /mnt/m0../mnt/m15
mount_many() {
	i=0
	while [ $i -lt 16 ]; do
		mnt /img/m$i.img /mnt/m$i "$1" || return 1
		i=$((i + 1))
	done
}
umount_many() { i=0; while [ $i -lt 16 ]; do umnt /mnt/m$i; i=$((i + 1)); done; }

# parallel_read: 16 readers at once; prints "BAD GROWTH_KB"
parallel_read() {
	c0=$(cached)
	i=0
	while [ $i -lt 16 ]; do
		sha /mnt/m$i/big.bin > /tmp/r$i &
		i=$((i + 1))
	done
	wait
	bad=0; i=0
	while [ $i -lt 16 ]; do
		[ "$(cat /tmp/r$i)" = "$BIG_SHA" ] || bad=$((bad + 1))
		i=$((i + 1))
	done
	rm -f /tmp/r*
	echo "$bad $(($(cached) - c0))"
}

s9() {
	mount_many "$S" || { say 9 FAIL "mount failed"; umount_many; return; }
	set -- $(parallel_read); bad=$1 gs=$2
	umount_many
	mount_many "$S"
	set -- $(pcs readtime /mnt/m0/big.bin); miss=$3
	set -- $(pcs readtime /mnt/m1/big.bin); hit=$3
	umount_many
	mount_many ""
	set -- $(parallel_read); badn=$1 gn=$2
	umount_many
	mount_many ""
	set -- $(pcs readtime /mnt/m0/big.bin); nmiss=$3
	set -- $(pcs readtime /mnt/m1/big.bin); nhit=$3
	umount_many
	echo "perf: 16 images, 16 parallel readers of a ${ONE} kB file: Cached +${gs} kB with inode_share, +${gn} kB without"
	echo "perf: inode_share: first image (miss) ${miss} MB/s, second image (hit) ${hit} MB/s"
	echo "perf: without inode_share: first image ${nmiss} MB/s, second image ${nhit} MB/s (both miss)"
	d="wrong digests: $bad shared, $badn unshared; Cached +${gs} kB shared, +${gn} kB unshared"
	if [ "$bad" = 0 ] && [ "$badn" = 0 ] && one_copy "$gs" &&
	   [ "$gn" -ge $((ONE * 14)) ]; then
		say 9 PASS "16 images, 16 parallel readers, one copy ($d)"
	else
		say 9 FAIL "16 images, 16 parallel readers ($d)"
	fi
}

s10() {
	dmesg -c >/dev/null
	if mnt /img/badid.img /mnt/a "$S" 2>/dev/null; then
		umnt /mnt/a; bad="mounted"
	elif dmesg | grep -q "invalid ishare xattr prefix id"; then
		bad=""
		msg=$(dmesg | grep "invalid ishare xattr prefix id" | sed 's/^\[[^]]*\] //' | head -n 1)
	else
		bad="refused without the message"
	fi
	# same oversized fingerprint on both sides: must not be shared
	if mnt /img/la.img /mnt/a "$S" && mnt /img/lb.img /mnt/b "$S"; then
		s1=$(sha /mnt/a/f.bin); r=$(res /mnt/b/f.bin); s2=$(sha /mnt/b/f.bin)
		long="B resident $r pages before reading"
		[ "$s1" = "$LONG_SHA" ] && [ "$s2" = "$LONG_SHA" ] && [ "$r" = 0 ] ||
			bad="$bad oversized fingerprint: $long, data ok: $([ "$s1$s2" = "$LONG_SHA$LONG_SHA" ] && echo yes || echo no)"
	else
		bad="$bad oversized-fingerprint image did not mount"
	fi
	umnt /mnt/a /mnt/b
	if [ -z "$bad" ]; then
		say 10 PASS "corrupt prefix id refused (\"$msg\"); oversized fingerprint not shared ($long)"
	else
		say 10 FAIL "$bad"
	fi
}

s11() {
	mnt /img/pubx.img /mnt/a "$S" && mnt /img/puby.img /mnt/b "$S" ||
		{ say 11 FAIL "mount failed"; umnt /mnt/a /mnt/b; return; }
	sx=$(sha /mnt/a/pub.bin); r=$(res /mnt/b/pub.bin); sy=$(sha /mnt/b/pub.bin)
	umnt /mnt/a /mnt/b
	mnt /img/pubx.img /mnt/a "$S" && mnt /img/puby.img /mnt/b "inode_share,domain_id=d2"
	sx2=$(sha /mnt/a/pub.bin); r2=$(res /mnt/b/pub.bin); sy2=$(sha /mnt/b/pub.bin)
	umnt /mnt/a /mnt/b
	same="same domain: Y resident $r pages before reading, Y reads $( [ "$sy" = "$PUBX_SHA" ] && echo "X's bytes" || echo "its own bytes")"
	diff="other domain: Y resident $r2, reads $( [ "$sy2" = "$PUBY_SHA" ] && echo "its own bytes" || echo "wrong bytes")"
	if [ "$sx" = "$PUBX_SHA" ] && [ "$r" -gt 0 ] && [ "$sy" = "$PUBX_SHA" ] &&
	   [ "$sx2" = "$PUBX_SHA" ] && [ "$r2" = 0 ] && [ "$sy2" = "$PUBY_SHA" ]; then
		say 11 PASS "publisher-defined values ($same; $diff)"
	else
		say 11 FAIL "publisher-defined values ($same; $diff)"
	fi
}

s12() {
	mnt /img/a.img /mnt/a "$S" && mnt /img/a-nofp.img /mnt/b "$S" ||
		{ say 12 FAIL "mount failed"; umnt /mnt/a /mnt/b; return; }
	o1=$(pcs odirect /mnt/a/big.bin); o2=$(pcs odirect /mnt/b/big.bin)
	umnt /mnt/a /mnt/b
	if [ "$o1" = EINVAL ] && [ "$o2" = OK ]; then
		say 12 PASS "O_DIRECT refused on a shared file (EINVAL), allowed on an unshared one"
	else
		say 12 FAIL "O_DIRECT: shared file $o1, unshared file $o2"
	fi
}

# file-backed mounts (the other uncompressed read path)
s13() {
	mount -t ramfs ramfs /fb && cp /img/a.img /img/b.img /fb/ || { say 13 FAIL "setup"; return; }
	mkdir -p /mnt/a /mnt/b /mnt/c
	if ! pcs mount /fb/a.img /mnt/a "$S" || ! pcs mount /fb/b.img /mnt/b "$S"; then
		say 13 FAIL "file-backed mount failed"; umnt /mnt/a /mnt/b; umount /fb; return
	fi
	c0=$(cached)
	sa=$(sha /mnt/a/big.bin); rb=$(res /mnt/b/big.bin); tot=$(pages /mnt/b/big.bin)
	sb=$(sha /mnt/b/big.bin)
	grow=$(($(cached) - c0))
	# a loop mount of the same image reads another way: not shared
	mnt /img/b.img /mnt/c "$S"; rc=$(res /mnt/c/big.bin); sc=$(sha /mnt/c/big.bin)
	umnt /mnt/a /mnt/b /mnt/c; umount /fb
	d="file-backed B resident $rb pages before reading, Cached +${grow} kB; loop-mounted C resident $rc"
	if [ "$sa$sb$sc" = "$BIG_SHA$BIG_SHA$BIG_SHA" ] && [ "$rb" = "$tot" ] &&
	   one_copy "$grow" && [ "$rc" = 0 ]; then
		say 13 PASS "file-backed mounts share, a block-device mount does not join them ($d)"
	else
		say 13 FAIL "file-backed mounts ($d)"
	fi
}

s14() {
	mkdir -p /mnt/a
	e1=$(mount -t erofs -o ro,loop,inode_share /img/a.img /mnt/a 2>&1 && echo mounted || echo refused)
	umnt /mnt/a
	e2=$(mount -t erofs -o ro,loop,inode_share,domain_id= /img/a.img /mnt/a 2>&1 && echo mounted || echo refused)
	umnt /mnt/a
	mnt /img/a.img /mnt/a "inode_share,domain_id=secret-d1"
	opts=$(grep " /mnt/a " /proc/mounts | cut -d' ' -f4)
	umnt /mnt/a
	case "$e1$e2" in *mounted*) ok=no ;; *) ok=yes ;; esac
	case "$opts" in *inode_share*) ;; *) ok=no ;; esac
	case "$opts" in *secret*|*domain_id*) ok=no ;; esac
	if [ $ok = yes ]; then
		say 14 PASS "inode_share needs a non-empty domain_id; /proc/mounts shows \"$opts\""
	else
		say 14 FAIL "option rules: no domain_id ${e1##*
}, empty domain_id ${e2##*
}, /proc/mounts \"$opts\""
	fi
}

# dm-verity under erofs: veritysetup opens va (tree after the filesystem)
# and vb (tree in vb.hash); erofs mounts the verity devices with inode_share
# and big.bin, in both, is shared. Then vt, va with one byte of data.bin
# inverted: it opens, but data.bin fails with EIO and the rest still reads.
vstatus() { veritysetup status "$1" 2>/dev/null | sed -n 's/^ *status: *//p'; }
vclose() { for v; do veritysetup close "$v" 2>/dev/null; done; }

s16() {
	export DM_DISABLE_UDEV=1	# no udev here: libdevmapper makes the nodes
	mkdir -p /run/cryptsetup /dev/mapper
	if ! veritysetup open /img/va.img va /img/va.img "$VA_ROOT" \
			--hash-offset="$VA_OFFSET" 2>/tmp/verr ||
	   ! veritysetup open /img/vb.img vb /img/vb.hash "$VB_ROOT" 2>>/tmp/verr; then
		say 16 FAIL "veritysetup open: $(tr '\n' ' ' < /tmp/verr)"
		vclose va vb; return
	fi
	pair 16 "big.bin through both devices" /dev/mapper/va /dev/mapper/vb \
		"$S" "$S" yes > /tmp/p16
	share=$(sed -n 's/^scenario 16: //p' /tmp/p16)	# PASS: what (details)
	files=bad
	if mnt /dev/mapper/va /mnt/a "$S" && mnt /dev/mapper/vb /mnt/b "$S"; then
		how=$(grep " /mnt/a " /proc/mounts | cut -d' ' -f1,3,4)
		[ "$(sha /mnt/a/data.bin)" = "$DATA_SHA" ] &&
		[ "$(sha /mnt/a/etc/only-va)" = "$ONLY_VA_SHA" ] &&
		[ "$(sha /mnt/b/more.txt)" = "$MORE_SHA" ] && files=ok
	fi
	umnt /mnt/a /mnt/b
	sa=$(vstatus va); sb=$(vstatus vb)
	vclose va vb

	dmesg -c >/dev/null
	veritysetup open /img/vt.img vt /img/vt.img "$VA_ROOT" \
		--hash-offset="$VA_OFFSET" 2>/tmp/verr && vo=ok || vo=failed
	veritysetup verify /img/vt.img /img/vt.img "$VA_ROOT" \
		--hash-offset="$VA_OFFSET" >/dev/null 2>&1 && vv=passed || vv=failed
	rd=- b0=- tb=- to=-
	if [ $vo = ok ] && mnt /dev/mapper/vt /mnt/c "inode_share,domain_id=vt"; then
		t0=$(vstatus vt)
		rd=$(cat /mnt/c/data.bin 2>&1 >/dev/null) && rd=read
		b0=$(dd if=/mnt/c/data.bin bs=4096 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
		tb=$(sha /mnt/c/big.bin)
		to=$(sha /mnt/c/etc/only-va)
		t1=$(vstatus vt)
	fi
	umnt /mnt/c
	vclose vt
	kmsg=$(dmesg | grep -m1 "verity.*corrupted" | sed 's/^\[[^]]*\] //')
	case "$rd" in
	*"Input/output error"*|*"I/O error"*) eio=yes ;;
	*) eio=no ;;
	esac
	good="${share#*: }; other files $files; mounted as \"$how\"; status va $sa, vb $sb"
	bad="open $vo, veritysetup verify $vv, data.bin: EIO $eio, its first block $([ "$b0" = "$DATA0_SHA" ] && echo reads || echo "does not read"), big.bin $([ "$tb" = "$BIG_SHA" ] && echo reads || echo "does not read"), etc/only-va $([ "$to" = "$ONLY_VA_SHA" ] && echo reads || echo "does not read"), status ${t0:--} then ${t1:--}, kernel: \"$kmsg\""
	if [ "${share%%:*}" = PASS ] && [ $files = ok ] && [ $vo = ok ] &&
	   [ $vv = failed ] && [ $eio = yes ] && [ "$b0" = "$DATA0_SHA" ] &&
	   [ "$tb" = "$BIG_SHA" ] && [ "$to" = "$ONLY_VA_SHA" ]; then
		say 16 PASS "veritysetup open, erofs on /dev/mapper with inode_share ($good); tampered image ($bad)"
	else
		say 16 FAIL "dm-verity ($good; tampered image: $bad; veritysetup said: $(tr '\n' ' ' < /tmp/verr))"
	fi
}

if [ -d /lib/modules ]; then
	# libcrc32c needs the crc32c algorithm, which it would ask for through
	# /sbin/modprobe; this guest has none there
	modprobe crc32c_generic
	modprobe erofs || echo "guest: modprobe erofs failed"
fi
# leaks are counted from here on
[ -w /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak

# module unload: run last, when the earlier scenarios have unmounted everything
s15() {
	if ! grep -q "^erofs " /proc/modules; then
		say 15 SKIP "erofs is built in"; return
	fi
	rmmod erofs && r1=ok || r1=failed
	left=$(grep -c erofs /proc/filesystems)
	modprobe erofs && pair 15a "after reloading the module: same domain shares" \
		/img/a.img /img/b.img "$S" "$S" yes > /tmp/p15
	rmmod erofs && r2=ok || r2=failed
	leaks=$(kmemleak_all)
	d="rmmod $r1, erofs types left in /proc/filesystems: $left, reload: $(cut -d: -f2 /tmp/p15), rmmod again $r2, new kmemleak reports: $leaks"
	if [ $r1 = ok ] && [ $r2 = ok ] && [ "$left" = 0 ] && grep -q PASS /tmp/p15 &&
	   { [ "$leaks" = 0 ] || [ "$leaks" = n/a ]; }; then
		say 15 PASS "module unload leaves nothing behind ($d)"
	else
		say 15 FAIL "module unload ($d)"
	fi
}

kmemleak_all() {
	[ -w /sys/kernel/debug/kmemleak ] || { echo "n/a"; return; }
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	grep -c "unreferenced object" /sys/kernel/debug/kmemleak
}

echo "guest: $(uname -r), scenarios: $SCEN"
for s in $SCEN; do
	"s$s"
done
echo "guest: done"
poweroff -f
