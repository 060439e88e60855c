#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Builds a Debian kernel with the page cache sharing series and proves the
# feature in qemu with images made by this project's mkfs.erofs.
#
# usage: contrib/kernel/run-tests.sh [--kernel 6.12|7.3|all] [--scenarios "1 2 3"]
#                                    [--check-only]
#   --kernel 6.12    (default) Debian's linux-source-6.12 with patches/ applied
#   --kernel 7.3     Debian's linux-source-7.3 as it is (upstream sharing), for
#                    interoperability; runs scenarios 1 2 3 5 5b 16 by default
#   --kernel all     both, one after the other
#   --check-only     only check that the series applies to the pinned source
#   --build-each     build 6.12 after each patch of the series (and the whole
#                    series with the feature configured off); no tests
#   --module         build EROFS as a module (with the fscache backend on),
#                    load it in the guest and add scenario 15: unload it
#
# Needs root (apt-get) and about 3 GB under $EROFS_KERNEL_CACHE
# (default /var/cache/erofs-forge-kernel), where kernel trees and builds are
# cached, keyed by Debian version, gcc version, config fragment and patches:
# a run with an unchanged series and fragment boots without compiling.
# Prints one line per scenario and, last, "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${EROFS_KERNEL_CACHE:-/var/cache/erofs-forge-kernel}
jobs=${JOBS:-$(nproc)}

# Debian package versions this was tested against
declare -A debver=([6.12]="6.12.117-1~deb12u1" [7.3]="7.3.4-1~bpo13+1")
declare -A defscen=([6.12]="1 2 3 4 5 5b 6 7 8 9 10 11 12 13 14 16" [7.3]="1 2 3 5 5b 16")

kernels=6.12
scen=""
check_only=0
build_each_patch=0
module_variant=0
while (($#)); do
	case $1 in
	--kernel) kernels=$2; shift 2 ;;
	--scenarios) scen=$2; shift 2 ;;
	--check-only) check_only=1; shift ;;
	--build-each) build_each_patch=1; shift ;;
	--module) module_variant=1; shift ;;
	*) echo "usage: $0 [--kernel 6.12|7.3|all] [--scenarios LIST] [--check-only|--build-each]" >&2; exit 2 ;;
	esac
done
[[ $kernels == all ]] && kernels="6.12 7.3"
fragments=("$here/config.fragment")
targets=(bzImage)
variant_suffix=
if ((module_variant)); then
	fragments+=("$here/config-module.fragment")
	targets=(bzImage modules)
	variant_suffix=-module
	defscen[6.12]+=" 15"
	defscen[7.3]+=" 15"
fi

log() { echo "run-tests: $*" >&2; }

# install_deps [PACKAGE...]: what the full harness needs by default
install_deps() {
	local want=(flex bison libelf-dev bc cpio make gcc libc6-dev xz-utils
		    qemu-system-x86 busybox-static python3 patch attr
		    erofs-utils debian-archive-keyring cryptsetup-bin)
	local missing=()
	(($#)) && want=("$@")
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
}

# apt run against trixie-backports through a private configuration, so the
# machine's own sources stay untouched
apt_bpo() {
	local d=$cache/apt-trixie-bpo
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main' \
		> "$d/sources.list"
	apt-get -q -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::lists="$d/lists" -o Dir::Cache="$d/cache" \
		-o APT::Sandbox::User=root "$@"
}

# fetch V: unpack linux-source-V at the pinned version into $cache/V/pristine
fetch() {
	local v=$1 want=${debver[$1]} deb
	local dir=$cache/$v/pristine
	if [[ -f $dir/.debian-version && $(cat "$dir/.debian-version") == "$want" ]]; then
		return
	fi
	mkdir -p "$cache/dl"
	deb=$cache/dl/linux-source-${v}_${want}_all.deb
	if [[ ! -f $deb ]]; then
		log "downloading linux-source-$v $want"
		if [[ $v == 6.12 ]]; then
			apt-get -q update >/dev/null
			(cd "$cache/dl" && apt-get -q download "linux-source-$v=$want" >/dev/null)
		else
			apt_bpo update >/dev/null
			(cd "$cache/dl" && apt_bpo download "linux-source-$v=$want" >/dev/null)
		fi
	fi
	log "unpacking linux-source-$v"
	rm -rf "$dir" "$cache/dl/x"
	dpkg-deb -x "$deb" "$cache/dl/x"
	mkdir -p "$cache/$v"
	tar -C "$cache/$v" -xaf "$cache/dl/x/usr/src/linux-source-$v.tar.xz"
	mv "$cache/$v/linux-source-$v" "$dir"
	rm -rf "$cache/dl/x"
	echo "$want" > "$dir/.debian-version"
}

patches_of() {
	[[ $1 == 6.12 ]] && ls "$here"/patches/*.patch
	return 0
}

check_series() {
	local v=$1 p tmp
	fetch "$v"
	tmp=$cache/$v/check
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cp -a "$cache/$v/pristine/fs" "$cache/$v/pristine/Documentation" "$tmp/"
	for p in $(patches_of "$v"); do
		if ! patch -d "$tmp" -p1 -s -N --dry-run < "$p" >/dev/null ||
		   ! patch -d "$tmp" -p1 -s -N < "$p" >/dev/null; then
			echo "series: $(basename "$p") does not apply to linux-source-$v ${debver[$v]}"
			return 1
		fi
	done
	rm -rf "$tmp"
	echo "series: $(patches_of "$v" | wc -l) patches apply to linux-source-$v ${debver[$v]}"
}

# config DIR: tinyconfig plus the fragment, checked line by line when $2=check
config() {
	local b=$1 l
	make -s O="$b" tinyconfig >/dev/null
	scripts/kconfig/merge_config.sh -m -O "$b" "$b/.config" "${fragments[@]}" >/dev/null
	make -s O="$b" olddefconfig >/dev/null
}
merge_again() {
	local b=$1 l sym bad=0
	local -A want=()
	scripts/kconfig/merge_config.sh -m -O "$b" "$b/.config" "${fragments[@]}" >/dev/null
	make -s O="$b" olddefconfig >/dev/null
	# the last fragment to name a symbol decides its value
	while read -r l; do
		case $l in CONFIG_*|"# CONFIG_"*)
			sym=${l#\# }
			want[${sym%%[= ]*}]=$l ;;
		esac
	done < <(cat "${fragments[@]}")
	for sym in "${!want[@]}"; do
		grep -qx "${want[$sym]}" "$b/.config" ||
			{ log "config: ${want[$sym]} did not take"; bad=1; }
	done
	return $bad
}

# build V: sets $kimg to a directory holding bzImage and gen_init_cpio
build_kernel() {
	local v=$1 bkey key base work p
	fetch "$v"
	bkey=$( { echo "${debver[$v]}"; gcc --version | head -n 1; cat "${fragments[@]}"; } |
		sha256sum | cut -c1-16)
	key=$( { echo "$bkey"; for p in $(patches_of "$v"); do cat "$p"; done; } |
		sha256sum | cut -c1-16)
	kimg=$cache/$v/img-$key${variant_suffix}
	if [[ -f $kimg/bzImage ]]; then
		log "linux $v: cached kernel $key"
		return
	fi
	base=$cache/$v/base-$bkey${variant_suffix}
	work=$cache/$v/work	# a fixed path: kbuild records absolute paths
	if [[ ! -d $base ]]; then
		log "linux $v: building the unpatched base (about 4-15 minutes)"
		rm -rf "$work"
		mkdir -p "$work"
		cp -al "$cache/$v/pristine" "$work/linux"
		(cd "$work/linux" && config "$work/build" &&
		 nice -n 10 make -s O="$work/build" -j"$jobs" "${targets[@]}" >"$work/base.log" 2>&1) ||
			{ tail -n 30 "$work/base.log" >&2; return 1; }
		cp -a "$work/build" "$base.tmp"
		mv "$base.tmp" "$base"
	fi
	log "linux $v: applying $(patches_of "$v" | wc -l) patches and rebuilding"
	rm -rf "$work"
	mkdir -p "$work"
	cp -al "$cache/$v/pristine" "$work/linux"
	for p in $(patches_of "$v"); do
		# GNU patch writes new files, so the hard-linked pristine tree survives
		patch -d "$work/linux" -p1 -s < "$p" || { log "$(basename "$p") failed"; return 1; }
	done
	cp -a "$base" "$work/build"
	(cd "$work/linux" && merge_again "$work/build" &&
	 nice -n 10 make -s O="$work/build" -j"$jobs" "${targets[@]}" >"$work/build.log" 2>&1) ||
		{ tail -n 30 "$work/build.log" >&2; return 1; }
	rm -rf "$kimg.tmp"
	mkdir -p "$kimg.tmp"
	cp "$work/build/arch/x86/boot/bzImage" "$work/build/usr/gen_init_cpio" \
		"$work/build/.config" "$kimg.tmp/"
	if ((module_variant)); then
		(cd "$work/linux" && make -s O="$work/build" INSTALL_MOD_PATH="$kimg.tmp/mods" \
			INSTALL_MOD_STRIP=1 modules_install >/dev/null)
	fi
	rm -rf "$kimg"
	mv "$kimg.tmp" "$kimg"
	prune "$cache/$v/img-" "$kimg"
	prune "$cache/$v/base-" "$base"
}

# prune PREFIX KEEP: remove the other cached builds of this variant
prune() {
	local o
	for o in "$1"*; do
		[[ $o == "$2" || $o == *.tmp ]] && continue
		if [[ -n $variant_suffix ]]; then
			[[ $o == *"$variant_suffix" ]] || continue
		else
			[[ $o == *-module ]] && continue
		fi
		rm -rf "$o"
	done
}

# the 8 MiB test file: every 4 KiB page names its index, the rest repeats
make_big() {
	python3 - "$1" "$2" <<'PY'
import sys
size, out = int(sys.argv[2]), sys.argv[1]
fill = bytes((i * 37 + 11) & 0xFF for i in range(4096))
with open(out, "wb") as f:
    for i in range(size // 4096):
        head = b"page %08d of the shared file\n" % i
        f.write(head + fill[len(head):])
PY
}

make_images() {
	local d=$1 mk=$top/build/mkfs/mkfs.erofs i
	local fix=(-T 1700000000 -U 6a7e8bc9-5a7d-4b9f-9a43-1d2e3f405162)
	rm -rf "$d/img" "$d/t"
	mkdir -p "$d/img" "$d/t"
	make_big "$d/big.bin" $((8 << 20))
	for t in a b; do
		mkdir -p "$d/t/$t/etc"
		cp "$d/big.bin" "$d/t/$t/big.bin"
		echo "only in image $t" > "$d/t/$t/etc/only-$t"
	done
	echo "image b has more" > "$d/t/b/more.txt"
	"$mk" -q "${fix[@]}" --fingerprint "$d/img/a.img" "$d/t/a" >/dev/null
	"$mk" -q "${fix[@]}" --fingerprint "$d/img/b.img" "$d/t/b" >/dev/null
	"$mk" -q "${fix[@]}" "$d/img/a-nofp.img" "$d/t/a" >/dev/null
	"$mk" -q "${fix[@]}" "$d/img/b-nofp.img" "$d/t/b" >/dev/null
	for ((i = 0; i < 16; i++)); do
		mkdir -p "$d/t/m$i"
		cp "$d/big.bin" "$d/t/m$i/big.bin"
		echo "image $i" > "$d/t/m$i/id"
		"$mk" -q "${fix[@]}" --fingerprint "$d/img/m$i.img" "$d/t/m$i" >/dev/null
	done
	# scenario 5: our compressed images, once mkfs.erofs can make them
	if "$mk" -q -z lz4 --fingerprint "$d/img/za.img" "$d/t/a" >/dev/null 2>&1; then
		"$mk" -q -z lz4 --fingerprint "$d/img/zb.img" "$d/t/b" >/dev/null
	else
		rm -f "$d/img/za.img"
	fi
	# scenario 5b: lz4 images from Debian's mkfs.erofs, which cannot write
	# fingerprints: give the files a user xattr and add a one-entry prefix
	# table naming it after the fact
	if [[ -x /usr/bin/mkfs.erofs ]]; then
		for t in a b; do
			setfattr -n user.fp -v "sha256:$(sha256sum < "$d/big.bin" | cut -c1-64)" \
				"$d/t/$t/big.bin"
			/usr/bin/mkfs.erofs -zlz4 -T 1700000000 "$d/img/d$t.img" "$d/t/$t" >/dev/null 2>&1
			setfattr -x user.fp "$d/t/$t/big.bin"
			python3 "$here/imgtool.py" add-fp-prefix "$d/img/d$t.img" 1 fp
		done
	fi
	# scenario 10: a prefix id past the table, and (in 1 KiB-block images) a
	# fingerprint name that resolves to a 3000-byte value
	cp "$d/img/a.img" "$d/img/badid.img"
	python3 "$here/imgtool.py" set-prefix-id "$d/img/badid.img" 127
	head -c 65536 "$d/big.bin" > "$d/long.bin"
	for t in la lb; do
		mkdir -p "$d/t/$t"
		cp "$d/long.bin" "$d/t/$t/f.bin"
		setfattr -n user.erofs.fingerprint.v2 -v "$(head -c 3000 /dev/zero | tr '\0' x)" \
			"$d/t/$t/f.bin"
		"$mk" -q "${fix[@]}" -b 1024 --fingerprint "$d/img/$t.img" "$d/t/$t" >/dev/null
		python3 "$here/imgtool.py" retarget "$d/img/$t.img" 1 erofs.fingerprint.v2
	done
	# scenario 11: different contents, one publisher-defined value
	mkdir -p "$d/t/pubx" "$d/t/puby"
	head -c 1048576 "$d/big.bin" > "$d/t/pubx/pub.bin"
	tail -c 1048576 "$d/big.bin" > "$d/t/puby/pub.bin"
	echo 'pub.bin "publisher:serial-0042"' > "$d/pub.map"
	"$mk" -q "${fix[@]}" --fingerprint --fingerprint-map="$d/pub.map" "$d/img/pubx.img" "$d/t/pubx" >/dev/null
	"$mk" -q "${fix[@]}" --fingerprint --fingerprint-map="$d/pub.map" "$d/img/puby.img" "$d/t/puby" >/dev/null
	make_verity_images "$d"
	{
		echo "BIG_SIZE=$((8 << 20))"
		echo "BIG_SHA=$(sha256sum < "$d/big.bin" | cut -c1-64)"
		echo "LONG_SHA=$(sha256sum < "$d/long.bin" | cut -c1-64)"
		echo "PUBX_SHA=$(sha256sum < "$d/t/pubx/pub.bin" | cut -c1-64)"
		echo "PUBY_SHA=$(sha256sum < "$d/t/puby/pub.bin" | cut -c1-64)"
		cat "$d/verity.expect"
	} > "$d/expect"
}

# verity_field NAME: the value mkfs.erofs printed for NAME (stdin)
verity_field() {
	sed -n "s/^$1: *//p" | tr -d '[:space:]'
}

# scenario 16: images with a dm-verity tree, for veritysetup in the guest.
# va has the tree after the filesystem, vb in a file of its own; both hold
# big.bin. vt is va with one byte of the second block of data.bin inverted,
# so that its tree (and root hash) no longer match.
make_verity_images() {
	local d=$1 mk=$top/build/mkfs/mkfs.erofs out blk bs=4096
	local fix=(-T 1700000000 -U 6a7e8bc9-5a7d-4b9f-9a43-1d2e3f405162)
	mkdir -p "$d/t/va/etc" "$d/t/vb"
	cp "$d/big.bin" "$d/t/va/big.bin"
	cp "$d/big.bin" "$d/t/vb/big.bin"
	# three blocks of their own, none of them inline
	dd if="$d/big.bin" of="$d/t/va/data.bin" bs=$bs skip=100 count=3 status=none
	echo "only in image va" > "$d/t/va/etc/only-va"
	echo "image vb has more" > "$d/t/vb/more.txt"
	out=$("$mk" -q "${fix[@]}" --fingerprint --verity "$d/img/va.img" "$d/t/va")
	echo "VA_ROOT=$(verity_field "Root hash" <<< "$out")" > "$d/verity.expect"
	echo "VA_OFFSET=$(verity_field "Hash offset" <<< "$out")" >> "$d/verity.expect"
	out=$("$mk" -q "${fix[@]}" --fingerprint --verity="$d/img/vb.hash" "$d/img/vb.img" "$d/t/vb")
	echo "VB_ROOT=$(verity_field "Root hash" <<< "$out")" >> "$d/verity.expect"
	blk=$("$top/build/dump/dump.erofs" --path=/data.bin "$d/img/va.img" |
	      sed -n 's/^start_block: *//p')
	[[ $blk =~ ^[0-9]+$ ]] || { log "no start block for data.bin in va.img"; return 1; }
	cp "$d/img/va.img" "$d/img/vt.img"
	python3 "$here/imgtool.py" flip-byte "$d/img/vt.img" $(((blk + 1) * bs + 100))
	{
		echo "DATA_SHA=$(sha256sum < "$d/t/va/data.bin" | cut -c1-64)"
		echo "DATA0_SHA=$(head -c $bs "$d/t/va/data.bin" | sha256sum | cut -c1-64)"
		echo "ONLY_VA_SHA=$(sha256sum < "$d/t/va/etc/only-va" | cut -c1-64)"
		echo "MORE_SHA=$(sha256sum < "$d/t/vb/more.txt" | cut -c1-64)"
	} >> "$d/verity.expect"
}

# with_libs PROGRAM DEST: initramfs entries for a dynamically linked PROGRAM
# installed as DEST, and for every library ldd lists and the loader, at the
# paths ldd prints them under (the guest has no /usr merge to follow)
with_libs() {
	local prog=$1 dest=$2 p dir sub
	local -a parts
	local -A made=()
	echo "file $dest $prog 0755 0 0"
	for p in $(ldd "$prog" | grep -o '/[^ ]*'); do
		dir=${p%/*}
		parts=()
		while [[ -n $dir && -z ${made[$dir]:-} ]]; do
			parts=("$dir" "${parts[@]}")
			made[$dir]=1
			dir=${dir%/*}
		done
		for sub in "${parts[@]}"; do echo "dir $sub 0755 0 0"; done
		echo "file $p $(readlink -f "$p") 0755 0 0"
	done
}

make_initramfs() {
	local d=$1 gen=$2 out=$3 a f
	{
		echo "dir /dev 0755 0 0"
		echo "nod /dev/console 0600 0 0 c 5 1"
		for a in bin etc img proc sys tmp mnt fb; do echo "dir /$a 0755 0 0"; done
		echo "file /bin/busybox $(command -v busybox) 0755 0 0"
		for a in $(busybox --list); do
			[[ $a == busybox ]] || echo "slink /bin/$a busybox 0777 0 0"
		done
		echo "file /bin/pcs $d/pcs 0755 0 0"
		echo "file /init $here/guest/init.sh 0755 0 0"
		with_libs "$(command -v veritysetup || echo /usr/sbin/veritysetup)" /bin/veritysetup
		echo "dir /run 0755 0 0"
		echo "file /etc/expect $d/expect 0644 0 0"
		if [[ -d $kimg/mods/lib/modules ]]; then
			(cd "$kimg/mods" && find lib -type d | sort | sed 's|^\(.*\)$|dir /\1 0755 0 0|'
			 find lib -type f | sort | sed "s|^\(.*\)\$|file /\1 $kimg/mods/\1 0644 0 0|")
		fi
		for f in "$d"/img/*.img "$d"/img/*.hash; do
			echo "file /img/$(basename "$f") $f 0644 0 0"
		done
	} > "$d/initramfs.list"
	"$gen" "$d/initramfs.list" | gzip -1 > "$out"
}

# run_qemu LOG KVM V LIST: boots the guest, serial output to LOG. Under KVM
# (nested KVM is not always able to run a guest) gives up early when the
# guest has not started its scenarios within 25 s; returns non-zero then.
run_qemu() {
	local log=$1 kvm=$2 v=$3 list=$4 accel=() pid t=0 limit=900
	((kvm)) && accel=(-enable-kvm)
	log "linux $v: booting qemu ($( ((kvm)) && echo KVM || echo TCG)), scenarios: $list"
	qemu-system-x86_64 "${accel[@]}" -m 1536 -smp 2 -nographic -no-reboot \
		-kernel "$kimg/bzImage" -initrd "$d/initramfs-$v.gz" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 pcs.scen=${list// /,}" \
		> "$log" 2>&1 < /dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if ((t >= limit)) || { ((kvm)) && { grep -q "KVM internal error" "$log" ||
		     { ((t >= 25)) && ! grep -q "guest: " "$log"; }; }; }; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 1
		t=$((t + 1))
	done
	wait "$pid" 2>/dev/null
	grep -q "^guest: done" "$log"
}

# boot V LIST: prints the scenario lines, counts into passed/failed
boot() {
	local v=$1 list=$2 log s line
	local t0=$SECONDS
	d=$cache/run
	make_initramfs "$d" "$kimg/gen_init_cpio" "$d/initramfs-$v.gz"
	log=$d/guest-$v.log
	if [[ -w /dev/kvm ]] && run_qemu "$log" 1 "$v" "$list"; then
		:
	else
		[[ -w /dev/kvm ]] && log "linux $v: KVM did not get the guest going, using TCG"
		run_qemu "$log" 0 "$v" "$list" || true
	fi
	tr -d '\r' < "$log" > "$log.txt"
	log "linux $v: guest ran for $((SECONDS - t0)) s; serial log in $log.txt"
	for s in $list; do
		line=$(grep -m1 "^scenario $s: " "$log.txt" || true)
		if [[ -z $line ]]; then
			line="scenario $s: FAIL: no result from the guest (see $log.txt)"
		fi
		echo "[$v] $line"
		case $line in
		*": PASS: "*) passed=$((passed + 1)) ;;
		*": FAIL: "*) failed=$((failed + 1)) ;;
		esac
	done
	grep "^perf: " "$log.txt" | sed "s/^/[$v] /" || true
	if grep -qE "BUG:|WARNING:|Oops|Kernel panic|kmemleak: [1-9]" "$log.txt"; then
		echo "[$v] kernel reported problems:"
		grep -E -A3 "BUG:|WARNING:|Oops|Kernel panic|kmemleak: [1-9]" "$log.txt" | head -n 40
		failed=$((failed + 1))
	fi
}

# build_each: builds the 6.12 kernel after each patch of the series, then
# the whole series with CONFIG_EROFS_FS_PAGE_CACHE_SHARE off
build_each() {
	local v=6.12 bkey base work p n=0 k i
	local -a ps
	mapfile -t ps < <(patches_of "$v")
	fetch "$v"
	bkey=$( { echo "${debver[$v]}"; gcc --version | head -n 1; cat "${fragments[@]}"; } |
		sha256sum | cut -c1-16)
	base=$cache/$v/base-$bkey
	work=$cache/$v/work
	[[ -d $base ]] || { kimg=; build_kernel "$v" || return 1; }
	for ((k = 1; k <= ${#ps[@]} + 1; k++)); do
		rm -rf "$work"
		mkdir -p "$work"
		cp -al "$cache/$v/pristine" "$work/linux"
		for ((i = 0; i < k && i < ${#ps[@]}; i++)); do
			patch -d "$work/linux" -p1 -s < "${ps[i]}"
		done
		cp -a "$base" "$work/build"
		(cd "$work/linux" && { merge_again "$work/build" 2>/dev/null || true; }
		 if ((k > ${#ps[@]})); then
			scripts/config --file "$work/build/.config" -d EROFS_FS_PAGE_CACHE_SHARE
			make -s O="$work/build" olddefconfig >/dev/null
		 fi
		 nice -n 10 make -s O="$work/build" -j"$jobs" bzImage >"$work/build.log" 2>&1) &&
			p=ok || p=FAILED
		if ((k > ${#ps[@]})); then
			echo "build: whole series, CONFIG_EROFS_FS_PAGE_CACHE_SHARE=n: $p"
		else
			echo "build: after $(basename "${ps[k - 1]}"): $p"
		fi
		[[ $p == ok ]] || { tail -n 20 "$work/build.log"; n=$((n + 1)); }
		grep -E "warning:" "$work/build.log" | grep erofs || true
	done
	rm -rf "$work"
	((n == 0))
}

main() {
	local v
	passed=0 failed=0
	[[ $(id -u) == 0 ]] || { echo "run-tests: needs root" >&2; exit 1; }
	if ((check_only)); then
		# light: no qemu, no compiler; exit 3 if the source cannot be had
		install_deps patch xz-utils
		(fetch 6.12) || { echo "series: linux-source-6.12 ${debver[6.12]} unavailable"; exit 3; }
		check_series 6.12
		return
	fi
	install_deps
	if ((build_each_patch)); then
		build_each
		return
	fi
	log "building mkfs.erofs"
	"$top/scripts/build.sh" build >/dev/null
	mkdir -p "$cache/run"
	gcc -O2 -Wall -static -o "$cache/run/pcs" "$here/guest/pcs.c"
	make_images "$cache/run"
	for v in $kernels; do
		check_series "$v" >&2 || { failed=$((failed + 1)); continue; }
		build_kernel "$v" || { echo "[$v] kernel build failed"; failed=$((failed + 1)); continue; }
		boot "$v" "${scen:-${defscen[$v]}}"
	done
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main
