#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Times our mkfs.erofs against Debian's mkfs.erofs (erofs-utils 1.5) and, as a
# third reference, mksquashfs, all uncompressed, on one real tree: the Linux
# 6.1 source from Debian's linux-source-6.1 package (topped up by copying part
# of it if it ever falls under 1 GiB or 50,000 files). After one warm-up run
# each, the tools run ROUNDS times in turns on a warm page cache; the best of
# the rounds is reported, with the ratios ours/Debian. See bench/README.md.
#
# usage: bench/bench-mkfs.sh [--peer-only] [--no-squashfs] [--durable] [--fingerprint] [--rounds=N]
#   MKFS=PATH         our mkfs.erofs (default: build/mkfs/mkfs.erofs)
#   BENCH_CACHE=DIR   where the .deb, the tree and the images go
#                     (default: /var/cache/erofs-forge-bench)
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'
  --peer-only       measure only the peers (when our binary is not built)
  --no-squashfs     leave mksquashfs out
  --durable         time each tool followed by `sync -f IMAGE`, so that every
                    tool pays for getting its image onto the disk
  --fingerprint     also time our mkfs.erofs with --fingerprint (sha256), and
                    report its cost over our build without it, its ratio to
                    Debian's build without fingerprints, and the hashing
                    throughput next to `openssl speed -evp sha256`
  --rounds=N        rounds per tool (default 3)
EOF
}

rounds=3 peer_only=0 with_squashfs=1 durable=0 with_fp=0
while (($#)); do
	case $1 in
	--peer-only) peer_only=1 ;;
	--no-squashfs) with_squashfs=0 ;;
	--durable) durable=1 ;;
	--fingerprint) with_fp=1 ;;
	--rounds=*) rounds=${1#--rounds=} ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds takes a positive number" >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BENCH_CACHE:-/var/cache/erofs-forge-bench}
ours=${MKFS:-$top/build/mkfs/mkfs.erofs}
peer=/usr/bin/mkfs.erofs
timestamp=1700000000
uuid=4f3c1b2a-5d6e-4f70-8a9b-0c1d2e3f4a5b
min_bytes=$((1024 * 1024 * 1024))
min_files=50000

say() { printf '\n==> %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

"$top/scripts/install-deps.sh"
if ((!peer_only)) && [[ ! -x $ours ]]; then
	die "no mkfs.erofs at $ours: build it (scripts/build.sh build), set MKFS, or use --peer-only"
fi

mkdir -p "$cache/deb"
[[ -w $cache ]] || die "$cache is not writable: run as root or set BENCH_CACHE"
tree=$cache/tree
out=$cache/out
scratch=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
	rm -rf "$scratch" "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the tree ---------------------------------------------------------------

# tree_stats: "BYTES FILES DIRS SYMLINKS" of the tree, counting regular files'
# apparent sizes
tree_stats() {
	find "$tree" -printf '%y %s\n' | awk '
		$1 == "f" { bytes += $2; files++ }
		$1 == "d" { dirs++ }
		$1 == "l" { links++ }
		END { printf "%d %d %d %d\n", bytes, files, dirs, links }'
}

prepare_tree() {
	local deb kdir part n bytes files rest
	# an unpacked tree is only trusted once the marker says unpacking finished
	[[ -f $cache/tree.done ]] && return
	rm -rf "$tree" "$cache/pkg"

	deb=$(find "$cache/deb" -name 'linux-source-6.1_*_all.deb' | sort -V | tail -n 1)
	if [[ -z $deb ]]; then
		say "downloading linux-source-6.1 into $cache/deb"
		local get=(apt-get -q -o APT::Sandbox::User=root download linux-source-6.1)
		(cd "$cache/deb" && "${get[@]}") ||
			{ apt-get update -qq && (cd "$cache/deb" && "${get[@]}"); }
		deb=$(find "$cache/deb" -name 'linux-source-6.1_*_all.deb' | sort -V | tail -n 1)
		[[ -n $deb ]] || die "apt-get download linux-source-6.1 gave no .deb"
	fi

	say "unpacking $(basename "$deb") into $tree"
	dpkg-deb -x "$deb" "$cache/pkg"
	mkdir -p "$tree"
	tar -xJf "$cache"/pkg/usr/src/linux-source-6.1.tar.xz -C "$tree"
	rm -rf "$cache/pkg"

	kdir=$(find "$tree" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	part=$kdir/drivers
	[[ -d $part ]] || part=$kdir
	n=1
	while read -r bytes files rest <<<"$(tree_stats)" &&
		((bytes < min_bytes || files < min_files)); do
		echo "tree has $bytes bytes in $files files; adding copy-$n of ${part#"$tree"/}"
		mkdir -p "$tree/copy-$n"
		cp -a "$part" "$tree/copy-$n/"
		n=$((n + 1))
	done
	touch "$cache/tree.done"
}

prepare_tree
read -r tree_bytes tree_files tree_dirs tree_links <<<"$(tree_stats)"
say "tree: $tree"
printf '%d regular files (%.2f GiB, %d bytes), %d directories, %d symlinks\n' \
	"$tree_files" "$(awk -v b="$tree_bytes" 'BEGIN { print b / 2^30 }')" "$tree_bytes" \
	"$tree_dirs" "$tree_links"

# images go next to the tree, on the same filesystem, one at a time
mkdir -p "$out"
avail=$(($(df --output=avail -k "$out" | tail -n 1) * 1024))
((avail > tree_bytes * 3 / 2)) ||
	die "$out has $avail bytes free; an image of this tree needs about $tree_bytes"

# --- the tools --------------------------------------------------------------

tools=()
declare -A label cmd
if ((!peer_only)); then
	tools+=(ours)
	version=$({ "$ours" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }')
	label[ours]="erofs-forge ${version:-(no --version)}"
	cmd[ours]="$(printf '%q ' "$ours" -T "$timestamp" -U "$uuid") \"\$IMG\" $(printf '%q' "$tree")"
	if ((with_fp)); then
		tools+=(oursfp)
		label[oursfp]="erofs-forge --fingerprint"
		cmd[oursfp]="$(printf '%q ' "$ours" --fingerprint -T "$timestamp" -U "$uuid") \"\$IMG\" $(printf '%q' "$tree")"
	fi
fi
tools+=(debian)
label[debian]="Debian mkfs.erofs $(dpkg-query -W -f='${Version}' erofs-utils)"
cmd[debian]="$(printf '%q ' "$peer" -T "$timestamp" -U "$uuid") \"\$IMG\" $(printf '%q' "$tree")"
if ((with_squashfs)); then
	tools+=(squashfs)
	label[squashfs]="mksquashfs $(dpkg-query -W -f='${Version}' squashfs-tools | sed 's/^[0-9]*://')"
	cmd[squashfs]="mksquashfs $(printf '%q' "$tree") \"\$IMG\" -noI -noD -noF -noX -noappend -no-progress -quiet -mkfs-time $timestamp -all-time $timestamp"
fi
if ((durable)); then
	for t in "${tools[@]}"; do
		# shellcheck disable=SC2016 # expanded by the bash -c that runs it
		cmd[$t]+=' && sync -f "$IMG"'
	done
fi

say "warming the page cache (reading the whole tree once)"
# through a pipe: GNU tar skips reading file data when it writes to /dev/null
tar -cf - -C "$tree" . | cat >/dev/null

# --- the rounds -------------------------------------------------------------

declare -A best_wall best_cpu best_rss size checked
ntools=${#tools[@]}
# round 0 warms up each tool (its binary, the allocator's pages, the dentry and
# inode caches as each tool walks them) and is not counted; it is also where
# Debian's fsck.erofs checks each erofs image, untimed, so that a broken image
# cannot pass for a fast one
for ((r = 0; r <= rounds; r++)); do
	if ((r == 0)); then
		say "warm-up round, not counted"
	else
		say "round $r of $rounds"
	fi
	for ((i = 0; i < ntools; i++)); do
		# each round starts with the next tool, so that none always runs first
		t=${tools[(i + r) % ntools]}
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
		bytes=$(stat -c %s "$img")
		printf '%-28s wall %7.2f s   cpu %7.2f s   peak RSS %8.1f MiB   image %9.2f MiB\n' \
			"${label[$t]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
			"$(awk -v b="$bytes" 'BEGIN { print b / 2^20 }')"

		if [[ -n ${size[$t]:-} && ${size[$t]} != "$bytes" && $t != squashfs ]]; then
			echo "warning: ${label[$t]} made a ${bytes}-byte image this round, ${size[$t]} before" >&2
		fi
		size[$t]=$bytes

		if ((r == 0)); then
			# erofs-utils 1.5 predates long xattr prefixes, which fingerprints use
			if [[ $t != squashfs && $t != oursfp ]]; then
				if fsck.erofs "$img" >"$scratch/fsck.log" 2>&1; then
					checked[$t]=ok
				else
					checked[$t]=FAILED
					echo "warning: Debian's fsck.erofs rejects the image of ${label[$t]}:" >&2
					cat "$scratch/fsck.log" >&2
				fi
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
		rm -f "$img"
	done
done

# --- the table --------------------------------------------------------------

mib() { awk -v k="$1" -v d="$2" 'BEGIN { printf "%.2f", k / d }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (a / b <= t) ? "met" : "MISSED" }'; }

say "best of $rounds rounds; tree: $tree_files files, $tree_bytes bytes; $(nproc) cores; Linux $(uname -r)"
((durable)) && echo "(--durable: each time includes sync -f of the image)"
fmt='%-30s %10s %10s %14s %12s %15s %10s\n'
# shellcheck disable=SC2059
printf "$fmt" tool "wall s" "cpu s" "peak RSS MiB" "image MiB" "image bytes" "fsck 1.5"
for t in "${tools[@]}"; do
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$t]}" "${best_wall[$t]}" "${best_cpu[$t]}" \
		"$(mib "${best_rss[$t]}" 1024)" "$(mib "${size[$t]}" 1048576)" "${size[$t]}" "${checked[$t]:--}"
done
if ((!peer_only)); then
	# shellcheck disable=SC2059
	printf "$fmt" "ratio ours/Debian" \
		"$(ratio "${best_wall[ours]}" "${best_wall[debian]}")" \
		"$(ratio "${best_cpu[ours]}" "${best_cpu[debian]}")" \
		"$(ratio "${best_rss[ours]}" "${best_rss[debian]}")" \
		"$(ratio "${size[ours]}" "${size[debian]}")" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" "target" "<= 0.50x" "-" "<= 0.25x" "<= 1.00x" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" "verdict" \
		"$(verdict "${best_wall[ours]}" "${best_wall[debian]}" 0.5)" "" \
		"$(verdict "${best_rss[ours]}" "${best_rss[debian]}" 0.25)" \
		"$(verdict "${size[ours]}" "${size[debian]}" 1.0)" "" ""
fi
if ((!peer_only && with_fp)); then
	say "fingerprints (sha256)"
	# shellcheck disable=SC2059
	printf "$fmt" "ratio with/without" \
		"$(ratio "${best_wall[oursfp]}" "${best_wall[ours]}")" \
		"$(ratio "${best_cpu[oursfp]}" "${best_cpu[ours]}")" \
		"$(ratio "${best_rss[oursfp]}" "${best_rss[ours]}")" \
		"$(ratio "${size[oursfp]}" "${size[ours]}")" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" "target" "<= 1.10x" "-" "-" "-" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" "ratio with/Debian without" \
		"$(ratio "${best_wall[oursfp]}" "${best_wall[debian]}")" "" "" "" "" ""
	# shellcheck disable=SC2059
	printf "$fmt" "target" "<= 0.55x" "" "" "" "" ""
	# hashing throughput: the data over the CPU time fingerprints added
	awk -v b="$tree_bytes" -v a="${best_cpu[oursfp]}" -v c="${best_cpu[ours]}" 'BEGIN {
		d = a - c
		if (d > 0)
			printf "hashing: %.0f MB/s per core of added CPU time\n", b / d / 1e6
		else
			print "hashing: no measurable added CPU time"
	}'
	openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null |
		awk '/^sha256/ { printf "openssl speed -evp sha256 (1 MiB blocks): %.0f MB/s\n", $2 / 1000 }'
fi
