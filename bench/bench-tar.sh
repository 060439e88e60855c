#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times our mkfs.erofs --tar=f --fingerprint on an archive of the benchmark
# tree (the Linux 6.1 source of bench-mkfs.sh, as a .tar and as a .tar.gz)
# against the pipeline it replaces: extract the archive with GNU tar, then
# build from the directory with our mkfs.erofs --fingerprint.  Also times
# index mode (--tar=i --fingerprint) on the .tar and reports its image size.
# Every run writes into a new, empty ext4 filesystem (a loop-mounted file
# next to the tree, made before the run and removed after it, neither
# timed), after the page cache has written back what earlier runs left:
# extracting 78,000 files where as many were just deleted is much slower,
# which would make the pipeline look worse than it is.  After a warm-up
# round, in which both images of each archive are compared byte for byte,
# ROUNDS rounds run in turns; the best is reported with the ratio
# ours/pipeline.  See bench/README.md.
#
# usage: bench/bench-tar.sh [--rounds=N]
#   MKFS=PATH         our mkfs.erofs (default: build/mkfs/mkfs.erofs)
#   BENCH_CACHE=DIR   where the tree is (bench-mkfs.sh puts it there) and
#                     where the archives, images and extractions go
#                     (default: /var/cache/erofs-forge-bench)
set -euo pipefail

rounds=3
while (($#)); do
	case $1 in
	--rounds=*) rounds=${1#--rounds=} ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	-h | --help) sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds takes a positive number" >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BENCH_CACHE:-/var/cache/erofs-forge-bench}
ours=${MKFS:-$top/build/mkfs/mkfs.erofs}
timestamp=1700000000
uuid=4f3c1b2a-5d6e-4f70-8a9b-0c1d2e3f4a5b

say() { printf '\n==> %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

"$top/scripts/install-deps.sh"
[[ -x $ours ]] || die "no mkfs.erofs at $ours: build it (scripts/build.sh build) or set MKFS"
tree=$cache/tree
[[ -f $cache/tree.done ]] ||
	die "no benchmark tree in $cache: run bench/bench-mkfs.sh --peer-only once to fetch it"
((EUID == 0)) || die "run as root: extraction keeps the archive's owners, as the image does"

# the archives, made once from the tree (a marker says they are complete)
arch=$cache/tar-bench
mkdir -p "$arch"
if [[ ! -f $arch/done ]]; then
	say "archiving $tree into $arch (once)"
	rm -f "$arch"/tree.tar "$arch"/tree.tar.gz
	tar -cf "$arch/tree.tar" -C "$tree" .
	gzip -6 -c "$arch/tree.tar" >"$arch/tree.tar.gz"
	touch "$arch/done"
fi

scratch=$(mktemp -d "$cache/tar-run.XXXXXX")
fs=$scratch/fs.ext4
mnt=$scratch/mnt
mkdir -p "$mnt"
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r files bytes <<<"$(find "$tree" -type f -printf '%s\n' | awk '{ b += $1; n++ } END { print n, b }')"
say "tree: $files regular files, $bytes bytes; archives:"
ls -l "$arch/tree.tar" "$arch/tree.tar.gz" | awk '{ printf "  %s %d bytes\n", $NF, $5 }'

q() { printf '%q ' "$@"; }
M="$(q "$ours" -q -T "$timestamp" -U "$uuid" --fingerprint)"
declare -A cmd label
tools=(ours-tar pipe-tar ours-tgz pipe-tgz index)
label[ours-tar]="mkfs --tar=f, .tar"
label[pipe-tar]="tar -x + mkfs, .tar"
label[ours-tgz]="mkfs --tar=f, .tar.gz"
label[pipe-tgz]="tar -xz + mkfs, .tar.gz"
label[index]="mkfs --tar=i, .tar"
cmd[ours-tar]="$M --tar=f \"\$IMG\" $(q "$arch/tree.tar")"
cmd[pipe-tar]="mkdir \"\$X\" && tar -xf $(q "$arch/tree.tar") -C \"\$X\" && $M \"\$IMG\" \"\$X\""
cmd[ours-tgz]="$M --tar=f \"\$IMG\" $(q "$arch/tree.tar.gz")"
cmd[pipe-tgz]="mkdir \"\$X\" && tar -xzf $(q "$arch/tree.tar.gz") -C \"\$X\" && $M \"\$IMG\" \"\$X\""
cmd[index]="$M --tar=i \"\$IMG\" $(q "$arch/tree.tar")"

# fresh_fs: a new, empty ext4 on $mnt, room for an extraction and an image
fresh_fs() {
	drop_fs
	truncate -s $((bytes * 3 + (2 << 30))) "$fs"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$fs" ||
		die "mkfs.ext4 failed"
	mount -o loop "$fs" "$mnt" || die "cannot mount $fs"
}
drop_fs() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount "$mnt" || die "cannot unmount $mnt"
	fi
	rm -f "$fs"
}
# no run pays for the writeback of an earlier one
settle() {
	local i dirty
	sync
	for ((i = 0; i < 60; i++)); do
		dirty=$(awk '/^(Dirty|Writeback):/ { kb += $2 } END { print kb }' /proc/meminfo)
		((dirty < 65536)) && return
		sleep 1
	done
	echo "warning: $dirty KiB still dirty before the run" >&2
}

say "warming the page cache"
cat "$arch/tree.tar" "$arch/tree.tar.gz" >/dev/null

declare -A best size
for ((r = 0; r <= rounds; r++)); do
	if ((r == 0)); then say "warm-up round, not counted"; else say "round $r of $rounds"; fi
	n=${#tools[@]}
	for ((i = 0; i < n; i++)); do
		t=${tools[(i + r) % n]}
		img=$mnt/$t.img
		fresh_fs
		settle
		if ! IMG=$img X=$mnt/x /usr/bin/time -f '%e %M' -o "$scratch/time" \
			bash -c "${cmd[$t]}" >"$scratch/log" 2>&1; then
			cat "$scratch/log" >&2
			die "${label[$t]} failed: ${cmd[$t]}"
		fi
		read -r wall rss <"$scratch/time"
		size[$t]=$(stat -c %s "$img")
		printf '%-26s wall %7.2f s   peak RSS %8.1f MiB   image %10d bytes\n' \
			"${label[$t]}" "$wall" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "${size[$t]}"
		if ((r > 0)) && { [[ -z ${best[$t]:-} ]] || awk -v a="$wall" -v b="${best[$t]}" 'BEGIN { exit !(a < b) }'; }; then
			best[$t]=$wall
		fi
		# keep the warm-up images' digests to compare them
		((r == 0)) && sha256sum <"$img" >"$scratch/$t.kept"
		drop_fs
	done
	if ((r == 0)); then
		for k in tar tgz; do
			if cmp -s "$scratch/ours-$k.kept" "$scratch/pipe-$k.kept"; then
				echo "image from the archive ($k) equals the image of the extracted tree, byte for byte"
			else
				echo "warning: the images from the archive ($k) and from the extracted tree differ" >&2
			fi
		done
		rm -f "$scratch"/*.kept
	fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a / b <= 0.6) ? "met" : "MISSED" }'; }
say "best of $rounds rounds; $(nproc) cores; Linux $(uname -r)"
printf '%-26s %8s %14s\n' "" "wall s" "image bytes"
for t in "${tools[@]}"; do
	printf '%-26s %8s %14s\n' "${label[$t]}" "${best[$t]}" "${size[$t]}"
done
for k in tar tgz; do
	printf 'ratio ours/pipeline, .%-4s %8s   target <= 0.60x: %s\n' "${k/tgz/tar.gz}" \
		"$(ratio "${best[ours-$k]}" "${best[pipe-$k]}")" "$(verdict "${best[ours-$k]}" "${best[pipe-$k]}")"
done
printf 'index image: %s bytes, %.2f%% of the archive\n' "${size[index]}" \
	"$(awk -v a="${size[index]}" -v b="$(stat -c %s "$arch/tree.tar")" 'BEGIN { print 100 * a / b }')"
