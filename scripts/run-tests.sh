#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
# Builds erofs-forge twice, out of tree, and runs `make check` in each build:
#   build/       --enable-werror
#   build-asan/  --enable-werror --enable-sanitizers (AddressSanitizer, UBSan)
# then prints the results of every test suite and closes with one line,
#   N passed, N failed, N skipped
# summed over both runs. XFAIL counts as passed; FAIL, XPASS and ERROR count
# as failed. Exits non-zero when anything failed or when no test ran at all.
# This is what CI runs (.ci/run).
#
# usage: sudo scripts/run-tests.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '\n==> %s\n' "$*"; }

# UBSan reports come without a stack trace unless asked; a caller's own
# setting wins.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

say "installing dependencies (Debian packages)"
./scripts/install-deps.sh

total_pass=0 total_fail=0 total_skip=0
results=()   # one line per test suite, printed at the end
failed_logs=()

# field NAME FILE: the number on automake's "# NAME: n" line in a test-suite.log
field() {
	sed -n "s/^# $1: *\([0-9][0-9]*\)\$/\1/p" "$2" | head -n 1 | grep . || echo 0
}

# run NAME BUILDDIR CONFIGURE-ARGUMENT...
run() {
	local name=$1 dir=$2
	shift 2
	local rc=0

	say "$name: building in $dir/ (configure $*)"
	if ! ./scripts/build.sh "$dir" "$@"; then
		results+=("$(printf '%-6s build failed in %s' "$name" "$dir")")
		total_fail=$((total_fail + 1))
		return
	fi

	say "$name: make check in $dir/"
	# stale logs from an earlier run must not be counted again
	find "$dir" -name test-suite.log -delete
	(cd "$dir" && make -j"$(nproc)" --no-print-directory check) 2>&1 |
		tee "$dir/make-check.log" || rc=$?

	local suites=0 failures=0 f p x s fail xpass err
	while IFS= read -r -d '' f; do
		suites=$((suites + 1))
		p=$(field PASS "$f")
		x=$(field XFAIL "$f")
		s=$(field SKIP "$f")
		fail=$(field FAIL "$f")
		xpass=$(field XPASS "$f")
		err=$(field ERROR "$f")
		failures=$((failures + fail + xpass + err))
		total_pass=$((total_pass + p + x))
		total_skip=$((total_skip + s))
		results+=("$(printf '%-6s pass %3d  xfail %d  fail %d  xpass %d  error %d  skip %d  %s' \
			"$name" "$p" "$x" "$fail" "$xpass" "$err" "$s" "$f")")
		if ((fail + xpass + err > 0)); then
			failed_logs+=("$f")
		fi
	done < <(find "$dir" -name test-suite.log -print0 | sort -z)
	total_fail=$((total_fail + failures))

	# make check can fail outside any test (a test program that does not
	# compile, say) with no suite recording it: that is a failure too
	if ((rc != 0 && failures == 0)); then
		results+=("$(printf '%-6s make check exited %d; see %s' "$name" "$rc" "$dir/make-check.log")")
		total_fail=$((total_fail + 1))
	elif ((suites == 0)); then
		results+=("$(printf '%-6s no test suite ran in %s' "$name" "$dir")")
	fi
}

run plain build --enable-werror
run asan build-asan --enable-werror --enable-sanitizers

# The kernel series in contrib/kernel must still apply to the Debian source it
# targets. Booting it takes contrib/kernel/run-tests.sh and too long for CI;
# see contrib/kernel/README.md.
kernel_series() {
	local out rc=0
	if [[ $(id -u) != 0 ]]; then
		results+=("$(printf '%-6s series check skipped: needs root for apt-get' kernel)")
		total_skip=$((total_skip + 1))
		return
	fi
	say "kernel: does contrib/kernel/patches apply to linux-source-6.12?"
	out=$(contrib/kernel/run-tests.sh --check-only 2>&1) || rc=$?
	printf '%s\n' "$out"
	out=$(grep '^series: ' <<<"$out" | tail -n 1)
	case $rc in
	0) results+=("$(printf '%-6s %s' kernel "${out#series: }")")
	   total_pass=$((total_pass + 1)) ;;
	3) results+=("$(printf '%-6s series check skipped: %s' kernel "${out#series: }")")
	   total_skip=$((total_skip + 1)) ;;
	*) results+=("$(printf '%-6s FAILED: %s' kernel "${out#series: }")")
	   total_fail=$((total_fail + 1)) ;;
	esac
}
kernel_series

for f in "${failed_logs[@]}"; do
	say "failing tests: $f"
	cat "$f"
done

say "results"
printf '%s\n' "${results[@]}"
echo
if ((total_skip > 0)); then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi

if ((total_fail > 0)); then
	exit 1
fi
if ((total_pass == 0)); then
	echo "run-tests: no test ran" >&2
	exit 1
fi
