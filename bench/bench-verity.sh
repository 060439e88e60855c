#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times `mkfs.erofs --fingerprint --verity` (the hash tree made in the same
# build) against the two steps publishers run today: `mkfs.erofs
# --fingerprint`, then `veritysetup format` over the finished image, the
# tree appended after its last block in both. The tree is the Linux 6.1
# source that bench-mkfs.sh caches. After one warm-up run each, which also
# checks that both give byte-identical images (veritysetup is given our salt
# and UUID) and that `veritysetup verify` accepts ours, the two run ROUNDS
# times in turns on a warm page cache; the best of the rounds is reported,
# with the ratio one-step/two-step. See bench/README.md.
#
# usage: bench/bench-verity.sh [--rounds=N] [--durable]
#   MKFS=PATH         our mkfs.erofs (default: build/mkfs/mkfs.erofs)
#   BENCH_CACHE=DIR   where the tree and the images are
#                     (default: /var/cache/erofs-forge-bench)
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'
  --rounds=N        rounds per variant (default 5)
  --durable         time each variant followed by `sync -f IMAGE`
EOF
}

rounds=5 durable=0
while (($#)); do
	case $1 in
	--rounds=*) rounds=${1#--rounds=} ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--durable) durable=1 ;;
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

"$top/scripts/install-deps.sh"
[[ -x $ours ]] || die "no mkfs.erofs at $ours: build it (scripts/build.sh build) or set MKFS"
command -v veritysetup >/dev/null || die "veritysetup is missing (Debian's cryptsetup-bin)"
tree=$cache/tree
if [[ ! -f $cache/tree.done ]]; then
	say "no cached tree yet: bench-mkfs.sh downloads and unpacks it"
	"$top/bench/bench-mkfs.sh" --peer-only --no-squashfs --rounds=1 >/dev/null
fi
[[ -f $cache/tree.done ]] || die "no tree at $tree"
out=$cache/verity-out
scratch=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
	rm -rf "$scratch" "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$out"

read -r tree_bytes tree_files < <(find "$tree" -type f -printf '%s\n' |
	awk '{ b += $1; n++ } END { printf "%d %d\n", b, n }')
say "tree: $tree: $tree_files regular files, $tree_bytes bytes"

# the salt we derive from the UUID, so that veritysetup can be told the same
salt=$("$ours" -q --verity -T "$timestamp" -U "$uuid" "$scratch/probe.img" "$top/examples/rootfs" |
	sed -n 's/^Salt:[[:space:]]*//p')
[[ -n $salt ]] || die "$ours --verity prints no salt"
rm -f "$scratch/probe.img"

mk=$(printf '%q ' "$ours" -q --fingerprint -T "$timestamp" -U "$uuid")
tr=$(printf '%q' "$tree")
declare -A label cmd
variants=(one two)
label[one]="mkfs.erofs --fingerprint --verity"
cmd[one]="$mk --verity \"\$IMG\" $tr >\"\$IMG.out\""
label[two]="mkfs.erofs --fingerprint; veritysetup format"
# shellcheck disable=SC2016 # expanded by the bash -c that runs it
cmd[two]="$mk \"\$IMG\" $tr && veritysetup format --salt=$salt --uuid=$uuid"' --hash-offset=$(stat -c %s "$IMG") "$IMG" "$IMG" >"$IMG.out"'
if ((durable)); then
	for t in "${variants[@]}"; do
		# shellcheck disable=SC2016
		cmd[$t]+=' && sync -f "$IMG"'
	done
fi

say "warming the page cache (reading the whole tree once)"
tar -cf - -C "$tree" . | cat >/dev/null

declare -A best_wall best_cpu best_rss size
for ((r = 0; r <= rounds; r++)); do
	if ((r == 0)); then
		say "warm-up round, not counted: both images are checked"
	else
		say "round $r of $rounds"
	fi
	for ((i = 0; i < 2; i++)); do
		t=${variants[(i + r) % 2]}
		img=$out/$t.img
		rm -f "$img" "$img.out"
		sync
		# the two steps are one command: GNU time reports the larger peak
		# RSS of the two and the sum of their CPU times
		if ! IMG=$img /usr/bin/time -f '%e %U %S %M' -o "$scratch/time" \
			bash -c "${cmd[$t]}" >"$scratch/$t.log" 2>&1; then
			cat "$scratch/$t.log" >&2
			die "${label[$t]} failed: ${cmd[$t]}"
		fi
		read -r wall user sys rss <"$scratch/time"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		bytes=$(stat -c %s "$img")
		printf '%-46s wall %6.2f s   cpu %6.2f s   peak RSS %7.1f MiB   file %9.2f MiB\n' \
			"${label[$t]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
			"$(awk -v b="$bytes" 'BEGIN { print b / 2^20 }')"
		size[$t]=$bytes
		if ((r == 0)); then
			root=$(sed -n 's/^Root hash:[[:space:]]*//p' "$img.out")
			echo "  root hash $root"
			if [[ $t == one ]]; then
				off=$(sed -n 's/^Hash offset:[[:space:]]*//p' "$img.out")
				veritysetup verify "$img" "$img" "$root" --hash-offset="$off" ||
					die "veritysetup verify rejects the image of ${label[one]}"
				echo "  veritysetup verify accepts it"
				mv "$img" "$out/keep.img"
			else
				cmp "$img" "$out/keep.img" ||
					die "the two variants made different images"
				echo "  byte-identical to the one-step image"
				rm -f "$out/keep.img"
			fi
		else
			if [[ -z ${best_wall[$t]:-} ]] || awk -v a="$wall" -v b="${best_wall[$t]}" 'BEGIN { exit !(a < b) }'; then
				best_wall[$t]=$wall
			fi
			if [[ -z ${best_cpu[$t]:-} ]] || awk -v a="$cpu" -v b="${best_cpu[$t]}" 'BEGIN { exit !(a < b) }'; then
				best_cpu[$t]=$cpu
			fi
			if [[ -z ${best_rss[$t]:-} ]] || ((rss < best_rss[$t])); then
				best_rss[$t]=$rss
			fi
		fi
		rm -f "$img" "$img.out"
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (a / b <= t) ? "met" : "MISSED" }'; }

say "best of $rounds rounds; $(nproc) cores; Linux $(uname -r); $(veritysetup --version | head -n 1)"
((durable)) && echo "(--durable: each time includes sync -f of the image)"
fmt='%-46s %10s %10s %14s %15s\n'
# shellcheck disable=SC2059
printf "$fmt" variant "wall s" "cpu s" "peak RSS MiB" "file bytes"
for t in "${variants[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
		"$(awk -v k="${best_rss[$t]}" 'BEGIN { printf "%.1f", k / 1024 }')" "${size[$t]}"
done
# shellcheck disable=SC2059
printf "$fmt" "ratio one-step/two-step" "$(ratio "${best_wall[one]}" "${best_wall[two]}")" \
	"$(ratio "${best_cpu[one]}" "${best_cpu[two]}")" \
	"$(ratio "${best_rss[one]}" "${best_rss[two]}")" ""
# shellcheck disable=SC2059
printf "$fmt" "target" "<= 0.70x" "-" "-" ""
# shellcheck disable=SC2059
printf "$fmt" "verdict" "$(verdict "${best_wall[one]}" "${best_wall[two]}" 0.7)" "" "" ""
