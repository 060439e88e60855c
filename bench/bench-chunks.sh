#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times chunk-based builds of our mkfs.erofs on real trees, in two parts.
#
# 1. Deduplication: on the Linux 6.1 source tree that bench-mkfs.sh uses
#    (cached in /var/cache/erofs-forge-bench), our plain build against our
#    `--chunksize=4096 -Ededupe` build, and Debian's mkfs.erofs (erofs-utils
#    1.5) with the same options as a reference: wall, CPU, peak RSS, image
#    size, the bytes deduplication saved, and the ratio dedupe/plain.
# 2. Two versions: version 1 is the 6.1 tree, version 2 the Linux 6.12 source
#    from Debian's linux-source-6.12 (bookworm-security), cached next to it.
#    v1 is built into a blob store, v2 into the same store with v1's image as
#    a blob dictionary, and v2 alone into a second, empty store (a full
#    build): how much of v2 the dictionary spares, and at what cost.
#
# After one warm-up run of everything (in which the images are checked, not
# timed), all builds run ROUNDS times in turns on a warm page cache; the best
# of the rounds is reported. The load average is printed before each round
# and at the end, since other jobs may share the machine. See bench/README.md.
#
# usage: bench/bench-chunks.sh [--rounds=N] [--chunksize=SIZE] [--no-two-version] [--no-debian] [--durable]
#   MKFS=PATH         our mkfs.erofs (default: build/mkfs/mkfs.erofs)
#   FSCK=PATH         our fsck.erofs (default: build/fsck/fsck.erofs)
#   BENCH_CACHE=DIR   where the .debs, the trees and the images go
#                     (default: /var/cache/erofs-forge-bench)
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'
  --rounds=N        rounds per build (default 3)
  --chunksize=SIZE  chunk size in bytes for every chunk-based build, ours and
                    Debian's, in both parts (a power of two, at least 4096;
                    default 4096)
  --no-two-version  leave out part 2 (and the 6.12 tree)
  --no-debian       leave out Debian's mkfs.erofs in part 1
  --durable         time each build followed by `sync -f IMAGE` (the blobs
                    are on the same filesystem), so that every build pays for
                    getting its output onto the disk
EOF
}

rounds=3 chunksize=4096 two_version=1 with_debian=1 durable=0
while (($#)); do
	case $1 in
	--rounds=*) rounds=${1#--rounds=} ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--chunksize=*) chunksize=${1#--chunksize=} ;;
	--chunksize) chunksize=${2:?--chunksize needs a size}; shift ;;
	--no-two-version) two_version=0 ;;
	--no-debian) with_debian=0 ;;
	--durable) durable=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds takes a positive number" >&2; exit 2; }
if [[ ! $chunksize =~ ^[1-9][0-9]*$ ]] || ((chunksize < 4096 || (chunksize & (chunksize - 1)) != 0)); then
	echo "bench: --chunksize takes a power of two of at least 4096 (bytes)" >&2
	exit 2
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BENCH_CACHE:-/var/cache/erofs-forge-bench}
ours_src=${MKFS:-$top/build/mkfs/mkfs.erofs}
fsck_src=${FSCK:-$top/build/fsck/fsck.erofs}
peer=/usr/bin/mkfs.erofs
peer_fsck=/usr/bin/fsck.erofs
timestamp=1700000000
uuid=4f3c1b2a-5d6e-4f70-8a9b-0c1d2e3f4a5b
# the same rule as bench-mkfs.sh, which shares the 6.1 tree
min_bytes=$((1024 * 1024 * 1024))
min_files=50000
# targets of part 1
max_wall_ratio=1.2
max_rss_bytes=200000000

say() { printf '\n==> %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

"$top/scripts/install-deps.sh"
[[ -x $ours_src ]] || die "no mkfs.erofs at $ours_src: build it (scripts/build.sh build) or set MKFS"
[[ -x $fsck_src ]] || die "no fsck.erofs at $fsck_src: build it (scripts/build.sh build) or set FSCK"

mkdir -p "$cache/deb"
[[ -w $cache ]] || die "$cache is not writable: run as root or set BENCH_CACHE"
# one run at a time: the output directory below is fixed
exec 9>"$cache/chunks.lock"
flock -n 9 || die "another bench-chunks.sh is running on $cache"

tree=$cache/tree
tree2=$cache/tree-6.12
out=$cache/chunks-out
scratch=$(mktemp -d "$cache/chunks-run.XXXXXX")
cleanup() {
	rm -rf "$scratch" "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binaries are copied first, so that a rebuild in the build directory
# while the rounds run cannot mix two versions in one table.
cp "$ours_src" "$scratch/mkfs.erofs"
cp "$fsck_src" "$scratch/fsck.erofs"
ours=$scratch/mkfs.erofs
ours_fsck=$scratch/fsck.erofs

# --- the trees --------------------------------------------------------------

# tree_stats DIR: "BYTES FILES DIRS SYMLINKS" of DIR, counting regular files'
# apparent sizes
tree_stats() {
	find "$1" -printf '%y %s\n' | awk '
		$1 == "f" { bytes += $2; files++ }
		$1 == "d" { dirs++ }
		$1 == "l" { links++ }
		END { printf "%d %d %d %d\n", bytes, files, dirs, links }'
}

# prepare_tree VERSION DIR MARKER: the source of Debian's linux-source-VERSION
# unpacked below DIR; MARKER says that unpacking finished
prepare_tree() {
	local ver=$1 dir=$2 marker=$3 deb pkg=linux-source-$1 kdir part n bytes files rest
	[[ -f $marker ]] && return
	rm -rf "$dir" "$cache/pkg-$ver"

	deb=$(find "$cache/deb" -name "${pkg}_*_all.deb" | sort -V | tail -n 1)
	if [[ -z $deb ]]; then
		say "downloading $pkg into $cache/deb"
		local get=(apt-get -q -o APT::Sandbox::User=root download "$pkg")
		(cd "$cache/deb" && "${get[@]}") ||
			{ apt-get update -qq && (cd "$cache/deb" && "${get[@]}"); }
		deb=$(find "$cache/deb" -name "${pkg}_*_all.deb" | sort -V | tail -n 1)
		[[ -n $deb ]] || die "apt-get download $pkg gave no .deb"
	fi

	say "unpacking $(basename "$deb") into $dir"
	dpkg-deb -x "$deb" "$cache/pkg-$ver"
	mkdir -p "$dir"
	tar -xJf "$cache/pkg-$ver/usr/src/$pkg.tar.xz" -C "$dir"
	rm -rf "$cache/pkg-$ver"

	# bench-mkfs.sh tops the 6.1 tree up when it is small; so does this, so
	# that both scripts leave the same tree behind
	if [[ $dir == "$tree" ]]; then
		kdir=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
		part=$kdir/drivers
		[[ -d $part ]] || part=$kdir
		n=1
		while read -r bytes files rest <<<"$(tree_stats "$dir")" &&
			((bytes < min_bytes || files < min_files)); do
			echo "tree has $bytes bytes in $files files; adding copy-$n of ${part#"$dir"/}"
			mkdir -p "$dir/copy-$n"
			cp -a "$part" "$dir/copy-$n/"
			n=$((n + 1))
		done
	fi
	touch "$marker"
}

# describe_tree DIR: prints its counts; sets tree_bytes_out
describe_tree() {
	local bytes files dirs links
	read -r bytes files dirs links <<<"$(tree_stats "$1")"
	printf '%s: %d regular files (%.2f GiB, %d bytes), %d directories, %d symlinks\n' \
		"$1" "$files" "$(awk -v b="$bytes" 'BEGIN { print b / 2^30 }')" "$bytes" "$dirs" "$links"
	tree_bytes_out=$bytes
	tree_files_out=$files
}

prepare_tree 6.1 "$tree" "$cache/tree.done"
((two_version)) && prepare_tree 6.12 "$tree2" "$cache/tree-6.12.done"

say "trees"
describe_tree "$tree"
tree_bytes=$tree_bytes_out tree_files=$tree_files_out
need=$((tree_bytes * 3 / 2))
if ((two_version)); then
	describe_tree "$tree2"
	tree2_bytes=$tree_bytes_out tree2_files=$tree_files_out
	# at the peak: v1's blob and v2's in one store, v2's full blob in another
	need=$(((tree_bytes + 2 * tree2_bytes) * 6 / 5))
fi

mkdir -p "$out"
avail=$(($(df --output=avail -k "$out" | tail -n 1) * 1024))
((avail > need)) || die "$out has $avail bytes free; this run needs about $need"

# --- the builds -------------------------------------------------------------

# Each build is a command line for `bash -c`, with IMG (the image), STORE (a
# blob store) and DICT (a dictionary image) in its environment. Our builds
# run with -d3, which adds nothing but a few lines of phase timings.
q() { printf '%q ' "$@"; }
pins=(-T "$timestamp" -U "$uuid")
chunk_opts=(--chunksize="$chunksize")

part1=(plain dedupe)
declare -A label cmd
version=$({ "$ours" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }')
ours_label="ours ${version:-?}"
label[plain]="$ours_label plain"
cmd[plain]="$(q "$ours" -d3 "${pins[@]}") \"\$IMG\" $(q "$tree")"
label[dedupe]="$ours_label chunks+dedupe"
cmd[dedupe]="$(q "$ours" -d3 "${chunk_opts[@]}" -Ededupe "${pins[@]}") \"\$IMG\" $(q "$tree")"
if ((with_debian)); then
	# erofs-utils 1.5 takes this option set and exits 0, but ignores -E words
	# it does not know (dedupe is one of them); its --chunksize alone stores
	# identical chunks once
	part1+=(debian)
	label[debian]="Debian $(dpkg-query -W -f='${Version}' erofs-utils) chunks+dedupe"
	cmd[debian]="$(q "$peer" "${chunk_opts[@]}" -Ededupe "${pins[@]}") \"\$IMG\" $(q "$tree")"
fi

part2=()
if ((two_version)); then
	part2=(v1 v2inc v2full)
	label[v1]="v1 (6.1) into STORE"
	cmd[v1]="$(q "$ours" -d3 "${chunk_opts[@]}" "${pins[@]}") --blob-dir=\"\$STORE\" \"\$IMG\" $(q "$tree")"
	label[v2inc]="v2 (6.12), dict v1"
	cmd[v2inc]="$(q "$ours" -d3 "${chunk_opts[@]}" "${pins[@]}") --blob-dir=\"\$STORE\" --blob-dict=\"\$DICT\" \"\$IMG\" $(q "$tree2")"
	label[v2full]="v2 (6.12) into STORE2"
	cmd[v2full]="$(q "$ours" -d3 "${chunk_opts[@]}" "${pins[@]}") --blob-dir=\"\$STORE\" \"\$IMG\" $(q "$tree2")"
fi
if ((durable)); then
	for t in "${part1[@]}" "${part2[@]}"; do
		# shellcheck disable=SC2016 # expanded by the bash -c that runs it
		cmd[$t]+=' && sync -f "$IMG"'
	done
fi

say "commands (IMG, STORE, DICT as below)"
for t in "${part1[@]}" "${part2[@]}"; do
	printf '%-24s %s\n' "$t:" "${cmd[$t]}"
done
echo "ours: copied from $ours_src ($(stat -c '%y' "$ours_src" | cut -d. -f1), sha256 $(sha256sum "$ours" | cut -c1-16))"
if [[ -z ${MKFS:-} ]] && head=$(git -C "$top" describe --always --dirty 2>/dev/null); then
	echo "source tree at $head (the binary may have been built from another state)"
fi

say "warming the page cache (reading the trees once)"
# through a pipe: GNU tar skips reading file data when it writes to /dev/null
tar -cf - -C "$tree" . | cat >/dev/null
((two_version)) && tar -cf - -C "$tree2" . | cat >/dev/null

# --- one build --------------------------------------------------------------

declare -A best_wall best_cpu best_rss size blob reused saved
declare -A best_log
loads=()

# num_from LOG REGEX: the first number after REGEX on a line of LOG (or "")
num_from() {
	sed -n "s/^$2 *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1
}

# check_same KEY TOOL VALUE: warn when a figure differs between rounds
check_same() {
	local -n arr=$1
	if [[ -n ${arr[$2]:-} && ${arr[$2]} != "$3" ]]; then
		echo "warning: ${label[$2]}: $1 is $3 this round, ${arr[$2]} before" >&2
	fi
	arr[$2]=$3
}

# run TOOL ROUND IMG [STORE [DICT]]
run() {
	local t=$1 r=$2 img=$3 store=${4:-} dict=${5:-} wall user sys rss cpu bytes b n log
	log=$scratch/$t.$r.log
	rm -f "$img"
	sync
	if ! IMG=$img STORE=$store DICT=$dict /usr/bin/time -f '%e %U %S %M' -o "$scratch/time" \
		bash -c "${cmd[$t]}" >"$log" 2>&1; then
		cat "$log" >&2
		die "${label[$t]} failed: ${cmd[$t]}"
	fi
	# our mkfs.erofs says "error" only when something went wrong, even if it
	# then exits 0; so it must not say so here
	if grep -qi 'error' "$log" && [[ $t != debian ]]; then
		cat "$log" >&2
		echo "warning: ${label[$t]} printed an error" >&2
	fi
	read -r wall user sys rss <"$scratch/time"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	bytes=$(stat -c %s "$img")

	check_same size "$t" "$bytes"
	if [[ -n $store ]]; then
		b=$(sed -n 's/^Blob .*: \([0-9][0-9]*\) bytes, id [0-9a-f]*\.$/\1/p' "$log")
		if [[ -z $b ]]; then
			grep -q '^No new blob' "$log" || die "${label[$t]}: no Blob line in its summary"
			b=0
		fi
		check_same blob "$t" "$b"
		n=$(sed -n 's/^Reused: \([0-9][0-9]*\) bytes.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
		check_same reused "$t" "$n"
	fi
	if [[ $t != debian ]] && grep -q '^Chunks:' "$log"; then
		n=$(sed -n 's/^Chunks: [0-9]* chunk-based files; \([0-9][0-9]*\) bytes stored once.*/\1/p' "$log")
		[[ -n $n ]] || die "${label[$t]}: cannot read its Chunks line"
		check_same saved "$t" "$n"
	fi

	printf '%-34s wall %7.2f s   cpu %7.2f s   peak RSS %8.1f MiB   image %9.2f MiB%s\n' \
		"${label[$t]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
		"$(awk -v b="$bytes" 'BEGIN { print b / 2^20 }')" \
		"$([[ -n $store ]] && awk -v b="${blob[$t]}" 'BEGIN { printf "   blob %9.2f MiB", b / 2^20 }')"

	((r == 0)) && return
	if [[ -z ${best_wall[$t]:-} ]] || awk -v a="$wall" -v b="${best_wall[$t]}" 'BEGIN { exit !(a < b) }'; then
		best_wall[$t]=$wall
		best_log[$t]=$log
	fi
	if [[ -z ${best_cpu[$t]:-} ]] || awk -v a="$cpu" -v b="${best_cpu[$t]}" 'BEGIN { exit !(a < b) }'; then
		best_cpu[$t]=$cpu
	fi
	if [[ -z ${best_rss[$t]:-} ]] || ((rss < best_rss[$t])); then
		best_rss[$t]=$rss
	fi
}

# check LABEL COMMAND...: an untimed check that must exit 0
declare -A checked
check() {
	local what=$1
	shift
	if "$@" >"$scratch/check.log" 2>&1; then
		checked[$what]=ok
		sed 's/^/    /' "$scratch/check.log"
	else
		checked[$what]=FAILED
		echo "warning: check failed: $*" >&2
		cat "$scratch/check.log" >&2
	fi
}

# --- the rounds -------------------------------------------------------------

n1=${#part1[@]}
# round 0 warms up each build (its binary, the allocator's pages, the dentry
# and inode caches) and is not counted; it is also where the images are
# checked, untimed, so that a broken image cannot pass for a fast one
for ((r = 0; r <= rounds; r++)); do
	loads+=("$(loadavg)")
	if ((r == 0)); then
		say "warm-up round, not counted (load average ${loads[-1]})"
	else
		say "round $r of $rounds (load average ${loads[-1]})"
	fi

	# part 1: each round starts with the next build
	for ((i = 0; i < n1; i++)); do
		t=${part1[(i + r) % n1]}
		img=$out/$t.img
		run "$t" "$r" "$img"
		if ((r == 0)); then
			if [[ $t == debian ]]; then
				check "$t" "$peer_fsck" "$img"
			else
				check "$t" "$ours_fsck" "$img"
			fi
		fi
		rm -f "$img"
	done

	((two_version)) || continue
	# part 2: v1 before v2 against it, and the full build of v2 first in
	# every other round; every round starts with empty stores
	rm -rf "$out/store" "$out/store2"
	mkdir -p "$out/store" "$out/store2"
	full_first=$((r % 2 == 0))
	if ((full_first)); then
		run v2full "$r" "$out/v2full.img" "$out/store2"
	fi
	run v1 "$r" "$out/v1.img" "$out/store"
	run v2inc "$r" "$out/v2.img" "$out/store" "$out/v1.img"
	if ((!full_first)); then
		run v2full "$r" "$out/v2full.img" "$out/store2"
	fi
	if ((r == 0)); then
		check v2inc "$ours_fsck" --blob-dir="$out/store" "$out/v2.img"
		grep -q ': clean' "$scratch/check.log" || checked[v2inc]=FAILED
		check v1 "$ours_fsck" --blob-dir="$out/store" "$out/v1.img"
		check v2full "$ours_fsck" --blob-dir="$out/store2" "$out/v2full.img"
	fi
	rm -rf "$out/store" "$out/store2" "$out"/v1.img "$out"/v2.img "$out"/v2full.img
done
loads+=("$(loadavg)")

# --- the tables -------------------------------------------------------------

mib() { awk -v k="$1" -v d="$2" 'BEGIN { printf "%.2f", k / d }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", 100 * a / b }'; }

# phases LOG: "scan 0.123 s, chunk digests 0.456 s, ..." from a -d3 log
phases() {
	sed -n 's/^mkfs\.erofs: \(.*\) took \([0-9.]*\) s$/\1 \2/p' "$1" |
		awk '{ t = $NF; $NF = ""; sub(/ $/, ""); printf "%s%s %s s", (NR > 1 ? ", " : ""), $0, t } END { print "" }'
}

say "best of $rounds rounds; chunk size $chunksize; $(nproc) cores; Linux $(uname -r)"
echo "load average (1, 5, 15 min) before each round and at the end: $(printf '[%s] ' "${loads[@]}")"
((durable)) && echo "(--durable: each time includes sync -f of the image)"

echo
echo "part 1: $tree ($tree_files files, $tree_bytes bytes)"
fmt='%-34s %8s %8s %13s %15s %8s\n'
# shellcheck disable=SC2059
printf "$fmt" build "wall s" "cpu s" "peak RSS MiB" "image bytes" "check"
for t in "${part1[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
		"$(mib "${best_rss[$t]}" 1024)" "${size[$t]}" "${checked[$t]:--}"
done
dd_rss=$((best_rss[dedupe] * 1024))
echo
printf 'dedupe wall / plain wall:  %s   (target at most %sx: %s)\n' \
	"$(ratio "${best_wall[dedupe]}" "${best_wall[plain]}")" "$max_wall_ratio" \
	"$(awk -v a="${best_wall[dedupe]}" -v b="${best_wall[plain]}" -v t="$max_wall_ratio" \
		'BEGIN { print (a / b <= t) ? "met" : "MISSED" }')"
printf 'dedupe cpu / plain cpu:    %s\n' "$(ratio "${best_cpu[dedupe]}" "${best_cpu[plain]}")"
printf 'dedupe peak RSS:           %.1f MB (%s MiB)   (target at most %d MB: %s)\n' \
	"$(awk -v b="$dd_rss" 'BEGIN { print b / 1e6 }')" "$(mib "${best_rss[dedupe]}" 1024)" \
	$((max_rss_bytes / 1000000)) "$( ((dd_rss <= max_rss_bytes)) && echo met || echo MISSED)"
printf 'dedupe saved:              %d bytes (%.2f MiB), by its Chunks line\n' \
	"${saved[dedupe]}" "$(awk -v b="${saved[dedupe]}" 'BEGIN { print b / 2^20 }')"
printf 'image dedupe - plain:      %+d bytes (%s of plain)\n' \
	$((size[dedupe] - size[plain])) "$(pct $((size[dedupe] - size[plain])) "${size[plain]}")"
if ((with_debian)); then
	printf 'ours dedupe / Debian:      wall %s, cpu %s, peak RSS %s, image %s\n' \
		"$(ratio "${best_wall[dedupe]}" "${best_wall[debian]}")" \
		"$(ratio "${best_cpu[dedupe]}" "${best_cpu[debian]}")" \
		"$(ratio "${best_rss[dedupe]}" "${best_rss[debian]}")" \
		"$(ratio "${size[dedupe]}" "${size[debian]}")"
fi
echo
echo "phases (-d3) of the fastest round:"
for t in plain dedupe; do
	printf '  %-22s %s\n' "$t:" "$(phases "${best_log[$t]}")"
done

if ((two_version)); then
	echo
	echo "part 2: v1 $tree ($tree_files files), v2 $tree2 ($tree2_files files, $tree2_bytes bytes)"
	fmt='%-34s %8s %8s %13s %13s %15s %15s %8s\n'
	# shellcheck disable=SC2059
	printf "$fmt" build "wall s" "cpu s" "peak RSS MiB" "image bytes" "new blob bytes" "reused bytes" "check"
	for t in "${part2[@]}"; do
		# shellcheck disable=SC2059
		printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
			"$(mib "${best_rss[$t]}" 1024)" "${size[$t]}" "${blob[$t]}" "${reused[$t]}" "${checked[$t]:--}"
	done
	echo
	printf "v2's new blob / full build's blob:  %s (%d of %d bytes)\n" \
		"$(pct "${blob[v2inc]}" "${blob[v2full]}")" "${blob[v2inc]}" "${blob[v2full]}"
	printf 'reused from v1:                     %d bytes (%.2f MiB, %s of the full blob)\n' \
		"${reused[v2inc]}" "$(awk -v b="${reused[v2inc]}" 'BEGIN { print b / 2^20 }')" \
		"$(pct "${reused[v2inc]}" "${blob[v2full]}")"
	printf 'v2 with dict / v2 full:             wall %s, cpu %s, peak RSS %s\n' \
		"$(ratio "${best_wall[v2inc]}" "${best_wall[v2full]}")" \
		"$(ratio "${best_cpu[v2inc]}" "${best_cpu[v2full]}")" \
		"$(ratio "${best_rss[v2inc]}" "${best_rss[v2full]}")"
	echo "fsck.erofs --blob-dir=STORE v2.img: ${checked[v2inc]}"
	echo
	echo "phases (-d3) of the fastest round:"
	for t in "${part2[@]}"; do
		printf '  %-22s %s\n' "$t:" "$(phases "${best_log[$t]}")"
	done
fi
