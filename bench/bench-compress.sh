#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times our compressed builds against their peers on the tree bench-mkfs.sh
# prepares (the Linux 6.1 source, 1.2 GiB), all in the same run, in turns:
#   lz4hc  ours -z lz4hc -C 65536      vs Debian's mkfs.erofs 1.5, same settings
#   lz4    ours -z lz4                 vs mksquashfs -comp lz4 -processors 2
#   zstd   ours -z zstd,level=15 -C 131072
#                                      vs mksquashfs -comp zstd -Xcompression-level 15
#                                         -b 131072 -processors 2
# and prints wall time, CPU time, peak RSS and image size of each, the ratios
# and the targets.  Ours also runs lz4 with -Eztailpacking,fragments and zstd
# without them (-E^ztailpacking,^fragments; zstd has them by default),
# compared with the same peer.  See bench/README.md.
#
# usage: bench/bench-compress.sh [--rounds=N] [--only=lz4hc,lz4,zstd] [--durable]
#   MKFS=PATH         our mkfs.erofs (default: build/mkfs/mkfs.erofs)
#   BENCH_CACHE=DIR   where the tree is (prepared by bench-mkfs.sh) and the
#                     images go (default: /var/cache/erofs-forge-bench)
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'
  --rounds=N        timed rounds per tool (default 1; the best is reported)
  --only=LIST       only these comparisons (lz4hc, lz4, zstd)
  --durable         time each tool followed by `sync -f IMAGE` (ours fsyncs
                    its image before renaming it into place, the peers do not)
EOF
}

rounds=1 only=lz4hc,lz4,zstd durable=0
while (($#)); do
	case $1 in
	--durable) durable=1 ;;
	--rounds=*) rounds=${1#--rounds=} ;;
	--only=*) only=${1#--only=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
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

[[ -x $ours ]] || die "no mkfs.erofs at $ours: build it (scripts/build.sh build) or set MKFS"
tree=$cache/tree
[[ -f $cache/tree.done ]] ||
	die "no tree in $cache: run bench/bench-mkfs.sh --peer-only once to prepare it"
command -v mksquashfs >/dev/null || die "mksquashfs is missing: apt-get install squashfs-tools"
out=$cache/compress-out
scratch=$(mktemp -d "$cache/compress-run.XXXXXX")
cleanup() {
	rm -rf "$scratch" "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$out"

read -r tree_bytes tree_files < <(find "$tree" -type f -printf '%s\n' |
	awk '{ b += $1; n++ } END { printf "%d %d\n", b, n }')
say "tree: $tree: $tree_files files, $tree_bytes bytes; $(nproc) cores; Linux $(uname -r)"

ver=$({ "$ours" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }')
deb="Debian mkfs.erofs $(dpkg-query -W -f='${Version}' erofs-utils)"
sq="mksquashfs $(dpkg-query -W -f='${Version}' squashfs-tools | sed 's/^[0-9]*://')"
q() { printf '%q ' "$@"; }
sqfix="-noappend -no-progress -quiet -mkfs-time $timestamp -all-time $timestamp -processors 2"

declare -A label cmd
tools=()
add() { tools+=("$1"); label[$1]=$2; cmd[$1]=$3; }
case ",$only," in *,lz4hc,*)
	add ours-lz4hc "erofs-forge ${ver:-?} -z lz4hc -C 65536" \
		"$(q "$ours" -q -T $timestamp -U $uuid -z lz4hc -C 65536) \"\$IMG\" $(q "$tree")"
	add deb-lz4hc "$deb -z lz4hc -C 65536" \
		"$(q /usr/bin/mkfs.erofs -T $timestamp -U $uuid -zlz4hc -C65536) \"\$IMG\" $(q "$tree")"
esac
case ",$only," in *,lz4,*)
	add ours-lz4 "erofs-forge ${ver:-?} -z lz4" \
		"$(q "$ours" -q -T $timestamp -U $uuid -z lz4) \"\$IMG\" $(q "$tree")"
	add ours-lz4f "erofs-forge ${ver:-?} -z lz4 -Eztailpacking,fragments" \
		"$(q "$ours" -q -T $timestamp -U $uuid -z lz4 -Eztailpacking,fragments) \"\$IMG\" $(q "$tree")"
	add sq-lz4 "$sq -comp lz4" \
		"mksquashfs $(q "$tree") \"\$IMG\" -comp lz4 $sqfix"
esac
case ",$only," in *,zstd,*)
	add ours-zstd "erofs-forge ${ver:-?} -z zstd,level=15 -C 131072" \
		"$(q "$ours" -q -T $timestamp -U $uuid -z zstd,level=15 -C 131072) \"\$IMG\" $(q "$tree")"
	add ours-zstdnf "erofs-forge ${ver:-?} -z zstd,level=15 -C 131072 -E^ztailpacking,^fragments" \
		"$(q "$ours" -q -T $timestamp -U $uuid -z zstd,level=15 -C 131072 -E^ztailpacking,^fragments) \"\$IMG\" $(q "$tree")"
	add sq-zstd "$sq -comp zstd -Xcompression-level 15 -b 131072" \
		"mksquashfs $(q "$tree") \"\$IMG\" -comp zstd -Xcompression-level 15 -b 131072 $sqfix"
esac

if ((durable)); then
	for t in "${tools[@]}"; do
		# shellcheck disable=SC2016 # expanded by the bash -c that runs it
		cmd[$t]+=' && sync -f "$IMG"'
	done
fi

say "warming the page cache (reading the whole tree once)"
tar -cf - -C "$tree" . | cat >/dev/null

declare -A best_wall best_cpu best_rss size checked
for ((r = 1; r <= rounds; r++)); do
	say "round $r of $rounds"
	n=${#tools[@]}
	for ((i = 0; i < n; i++)); do
		t=${tools[(i + r - 1) % n]}
		img=$out/$t.img
		rm -f "$img"
		sync
		if ! IMG=$img /usr/bin/time -f '%e %U %S %M' -o "$scratch/time" \
			bash -c "${cmd[$t]}" >"$scratch/$t.log" 2>&1; then
			cat "$scratch/$t.log" >&2
			die "${label[$t]} failed: ${cmd[$t]}"
		fi
		read -r wall user sys rss <"$scratch/time"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		size[$t]=$(stat -c %s "$img")
		printf '%-78s wall %7.2f s  cpu %7.2f s  peak RSS %7.1f MiB  image %8.2f MiB\n' \
			"${label[$t]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
			"$(awk -v b="${size[$t]}" 'BEGIN { print b / 2^20 }')"
		if [[ -z ${best_wall[$t]:-} ]] || awk -v a="$wall" -v b="${best_wall[$t]}" 'BEGIN { exit !(a < b) }'; then
			best_wall[$t]=$wall
		fi
		if [[ -z ${best_cpu[$t]:-} ]] || awk -v a="$cpu" -v b="${best_cpu[$t]}" 'BEGIN { exit !(a < b) }'; then
			best_cpu[$t]=$cpu
		fi
		if [[ -z ${best_rss[$t]:-} ]] || ((rss < best_rss[$t])); then
			best_rss[$t]=$rss
		fi
		# the lz4 images once, untimed: Debian's fsck decodes every file
		# (it predates fragments, so the -Efragments image is left out)
		if ((r == 1)) && [[ $t == *lz4* && $t != sq-* && $t != *f ]]; then
			if fsck.erofs --extract "$img" >"$scratch/fsck.log" 2>&1; then
				checked[$t]=ok
			else
				checked[$t]=FAILED
				echo "warning: Debian's fsck.erofs --extract rejects the image of ${label[$t]}:" >&2
				tail -n 5 "$scratch/fsck.log" >&2
			fi
		fi
		rm -f "$img"
	done
done

mib() { awk -v k="$1" -v d="$2" 'BEGIN { printf "%.2f", k / d }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (a / b <= t) ? "met" : "MISSED" }'; }

say "best of $rounds round(s); tree: $tree_files files, $tree_bytes bytes; $(nproc) cores"
((durable)) && echo "(--durable: each time includes sync -f of the image)"
fmt='%-78s %9s %9s %13s %11s %14s %8s\n'
# shellcheck disable=SC2059
printf "$fmt" tool "wall s" "cpu s" "peak RSS MiB" "image MiB" "image bytes" "fsck 1.5"
for t in "${tools[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
		"$(mib "${best_rss[$t]}" 1024)" "$(mib "${size[$t]}" 1048576)" "${size[$t]}" "${checked[$t]:--}"
done

# compare OURS PEER WALL_TARGET SIZE_TARGET (a target of - is none)
compare() {
	local a=$1 b=$2 tw=$3 ts=$4
	[[ -n ${best_wall[$a]:-} && -n ${best_wall[$b]:-} ]] || return 0
	say "${label[$a]} / ${label[$b]}"
	# shellcheck disable=SC2059
	printf "$fmt" ratio "$(ratio "${best_wall[$a]}" "${best_wall[$b]}")" \
		"$(ratio "${best_cpu[$a]}" "${best_cpu[$b]}")" \
		"$(ratio "${best_rss[$a]}" "${best_rss[$b]}")" \
		"$(ratio "${size[$a]}" "${size[$b]}")" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" target "${tw:+<= ${tw}x}" "" "" "${ts:+<= ${ts}x}" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" verdict "${tw:+$(verdict "${best_wall[$a]}" "${best_wall[$b]}" "$tw")}" "" "" \
		"${ts:+$(verdict "${size[$a]}" "${size[$b]}" "$ts")}" "" ""
}
compare ours-lz4hc deb-lz4hc 0.6 1.0
compare ours-lz4 sq-lz4 0.8 ""
compare ours-lz4f sq-lz4 0.8 ""
compare ours-zstd sq-zstd 0.5 1.15
compare ours-zstdnf sq-zstd "" ""
