#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times `fsck.erofs --extract=DIR IMAGE` of ours against Debian's
# (erofs-utils 1.5) on one image of the tree bench-mkfs.sh uses (the Linux
# 6.1 source, about 1.2 GiB, cached in /var/cache/erofs-forge-bench; run
# bench-mkfs.sh once first, or this script prepares nothing and stops).
# The image is built once by Debian's mkfs.erofs, so that both readers know
# every feature in it. After one warm-up run each (in which the two
# extractions are compared with each other and with the tree), the tools
# run ROUNDS times in turns on a warm page cache; the best of the rounds is
# reported, with the ratio ours/Debian. Each run extracts into a new ext4
# filesystem (a loop-mounted file next to the tree, made before the run and
# unmounted after it, neither timed): on a filesystem where as many files
# were just deleted, ext4 spends most of the time looking for inodes it may
# reuse, whoever extracts.
#
# usage: bench/bench-fsck.sh [--rounds=N] [--durable]
#   FSCK=PATH         our fsck.erofs (default: build/fsck/fsck.erofs)
#   BENCH_CACHE=DIR   where the tree is and the image and output go
#                     (default: /var/cache/erofs-forge-bench)
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'
  --rounds=N        rounds per tool (default 3)
  --durable         time each extraction followed by sync -f, so that both
                    pay for getting the files onto the disk
EOF
}

rounds=3 durable=0
while (($#)); do
	case $1 in
	--rounds=*) rounds=${1#--rounds=} ;;
	--durable) durable=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds takes a positive number" >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BENCH_CACHE:-/var/cache/erofs-forge-bench}
ours=${FSCK:-$top/build/fsck/fsck.erofs}
peer=/usr/bin/fsck.erofs
treecmp=$top/build/tests/tools/treecmp
timestamp=1700000000
uuid=4f3c1b2a-5d6e-4f70-8a9b-0c1d2e3f4a5b

say() { printf '\n==> %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

[[ -x $ours ]] || die "no fsck.erofs at $ours: build it (scripts/build.sh build) or set FSCK"
[[ -x $peer ]] || die "no Debian fsck.erofs at $peer (apt-get install erofs-utils)"
tree=$cache/tree
[[ -f $cache/tree.done ]] || die "no cached tree in $cache: run bench/bench-mkfs.sh once first"
out=$cache/fsck-out
img=$cache/fsck-bench.img
scratch=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
	local t
	for t in ours debian; do
		mountpoint -q "$out/$t" 2>/dev/null && umount "$out/$t"
	done
	rm -rf "$scratch" "$out"
}
# (drop_fs and fresh_fs below; cleanup must not depend on them)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -f $img || $img -ot $cache/tree.done ]]; then
	say "building $img with Debian's mkfs.erofs"
	rm -f "$img"
	/usr/bin/mkfs.erofs -T "$timestamp" -U "$uuid" "$img.tmp" "$tree" >/dev/null 2>&1 ||
		die "Debian's mkfs.erofs failed on $tree"
	mv "$img.tmp" "$img"
fi
read -r files bytes < <(find "$tree" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { print n, b }')
say "image: $img ($(stat -c %s "$img") bytes); tree: $files files, $bytes bytes"

declare -A label cmd best_wall best_cpu best_rss
tools=(ours debian)
version=$({ "$ours" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }')
label[ours]="erofs-forge fsck ${version:-?}"
label[debian]="Debian fsck.erofs $(dpkg-query -W -f='${Version}' erofs-utils)"
cmd[ours]="$(printf '%q ' "$ours") --extract=\"\$DIR\" $(printf '%q' "$img")"
cmd[debian]="$(printf '%q ' "$peer") --extract=\"\$DIR\" $(printf '%q' "$img")"
if ((durable)); then
	for t in "${tools[@]}"; do
		# shellcheck disable=SC2016 # expanded by the bash -c that runs it
		cmd[$t]+=' && sync -f "$DIR"'
	done
fi

say "warming the page cache (reading the image once)"
cat "$img" >/dev/null

for t in ours debian; do
	mountpoint -q "$out/$t" 2>/dev/null && umount "$out/$t"
done
rm -rf "$out"
mkdir -p "$out"
avail=$(($(df --output=avail -k "$out" | tail -n 1) * 1024))
((avail > 3 * bytes)) || die "$out has $avail bytes free; two extractions need more"

# drop_fs TOOL: unmounts and deletes TOOL's filesystem, if any
drop_fs() {
	local mnt=$out/$1
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount "$mnt" || die "cannot unmount $mnt"
	fi
	rm -f "$out/$1.ext4"
}

# settle: write back everything, and wait until the page cache has (next to)
# no dirty pages, so that no run pays for the writeback of an earlier one
settle() {
	local i dirty
	for ((i = 0; i < 100; i++)); do
		sync
		dirty=$(awk '/^(Dirty|Writeback):/ { kb += $2 } END { print kb }' /proc/meminfo)
		((dirty < 65536)) && return
		sleep 0.2
	done
	echo "warning: $dirty KiB still dirty before the run" >&2
}

# fresh_fs TOOL: a new, empty ext4 filesystem mounted on $out/TOOL
fresh_fs() {
	local fs=$out/$1.ext4 mnt=$out/$1
	drop_fs "$1"
	truncate -s $((bytes * 4 + (2 << 30))) "$fs"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$fs" ||
		die "mkfs.ext4 failed"
	mkdir -p "$mnt"
	mount -o loop "$fs" "$mnt" || die "cannot mount $fs"
}

for ((r = 0; r <= rounds; r++)); do
	if ((r == 0)); then
		say "warm-up round, not counted"
	else
		say "round $r of $rounds"
	fi
	for ((i = 0; i < ${#tools[@]}; i++)); do
		t=${tools[(i + r) % ${#tools[@]}]}
		fresh_fs "$t"
		dir=$out/$t/x
		settle
		if ! DIR=$dir /usr/bin/time -f '%e %U %S %M' -o "$scratch/time" \
			bash -c "${cmd[$t]}" >"$scratch/$t.log" 2>&1; then
			cat "$scratch/$t.log" >&2
			die "${label[$t]} failed: ${cmd[$t]}"
		fi
		read -r wall user sys rss <"$scratch/time"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		printf '%-34s wall %7.2f s   cpu %7.2f s   peak RSS %8.1f MiB\n' \
			"${label[$t]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
		if ((r > 0)); then
			awk -v a="$wall" -v b="${best_wall[$t]:-1e9}" 'BEGIN { exit !(a < b) }' &&
				best_wall[$t]=$wall
			awk -v a="$cpu" -v b="${best_cpu[$t]:-1e9}" 'BEGIN { exit !(a < b) }' &&
				best_cpu[$t]=$cpu
			((rss < ${best_rss[$t]:-999999999})) && best_rss[$t]=$rss
			drop_fs "$t"
		fi
	done
	if ((r == 0)); then
		# the two extractions must agree, and ours must equal the tree (times
		# aside: the image pins them to -T)
		if [[ -x $treecmp ]]; then
			"$treecmp" --quiet "$out/debian/x" "$out/ours/x" >"$scratch/cmp" 2>&1 ||
				{ head -n 20 "$scratch/cmp" >&2; die "our extraction differs from Debian's"; }
			"$treecmp" --quiet --ignore-mtime "$tree" "$out/ours/x" >"$scratch/cmp" 2>&1 ||
				{ head -n 20 "$scratch/cmp" >&2; die "our extraction differs from the tree"; }
			echo "check: both extractions are equal, and equal to the tree"
		else
			echo "warning: no $treecmp; the extractions were not compared" >&2
		fi
		drop_fs ours
		drop_fs debian
	fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
say "best of $rounds rounds; $(nproc) cores; Linux $(uname -r)"
((durable)) && echo "(--durable: each time includes sync -f of the output)"
fmt='%-34s %10s %10s %14s\n'
# shellcheck disable=SC2059
printf "$fmt" tool "wall s" "cpu s" "peak RSS MiB"
for t in "${tools[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
		"$(awk -v k="${best_rss[$t]}" 'BEGIN { printf "%.2f", k / 1024 }')"
done
# shellcheck disable=SC2059
printf "$fmt" "ratio ours/Debian" "$(ratio "${best_wall[ours]}" "${best_wall[debian]}")" \
	"$(ratio "${best_cpu[ours]}" "${best_cpu[debian]}")" \
	"$(ratio "${best_rss[ours]}" "${best_rss[debian]}")"
# shellcheck disable=SC2059
printf "$fmt" "target" "<= 0.80x" "-" "-"
printf "$fmt" "verdict" "$(awk -v a="${best_wall[ours]}" -v b="${best_wall[debian]}" \
	'BEGIN { print (a / b <= 0.8) ? "met" : "MISSED" }')" "" ""
