#!/usr/bin/env bash
# run.sh: run echod's libFuzzer harnesses (tests/fuzz/Makefile.am runs it).
#
#   run.sh check SECONDS PROGRAM...   replay each harness's seed corpus, then
#                                     fuzz SECONDS; fail on any crash, leak,
#                                     timeout or invariant failure
#   run.sh fuzz SECONDS PROGRAM...    fuzz SECONDS each, then merge the new
#                                     inputs that add coverage into
#                                     fuzz-out/corpus/NAME (build directory)
#
# PROGRAM is fuzz_NAME in the current directory; its seeds are
# $srcdir/corpus/NAME/ and its dictionary $srcdir/NAME.dict when there is
# one. New inputs, crash artifacts and logs go under $top_builddir/fuzz-out/;
# the summary table (runs, exec/s, libFuzzer's final cov: and ft:) is
# printed and written to $top_builddir/fuzz-summary.txt. Nothing is ever
# written into the source tree.
set -u

mode=${1:?usage: run.sh check|fuzz SECONDS PROGRAM...}
seconds=${2:?usage: run.sh check|fuzz SECONDS PROGRAM...}
shift 2
: "${srcdir:=$(cd "$(dirname "$0")" && pwd)}"
: "${top_builddir:=$(pwd)/../..}"
out=$top_builddir/fuzz-out
summary=$top_builddir/fuzz-summary.txt
case $mode in check|fuzz) ;; *) echo "run.sh: unknown mode '$mode'" >&2; exit 64;; esac
case $seconds in ''|*[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 64;; esac

# libFuzzer turns ASan, LeakSanitizer and UBSan reports (the build does not
# recover from UB) into a failing exit with the input saved as an artifact.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# What a failing harness says first: an invariant, a sanitizer, libFuzzer.
run_findings='==FUZZ==|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|ALARM: working on the last Unit'

# The last libFuzzer status line ("#N DONE cov: C ft: F corp: K/S ...") and
# the final stats give the numbers of the table.
run_stat() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}
run_field() {
	grep -E '^#[0-9]+' "$1" | tail -n 1 | sed -n "s/.* $2: \([^ ]*\).*/\1/p"
}

# run_one PROGRAM: fuzz one harness; prints its table row, returns its status.
run_one() {
	local prog=$1 name=${1#fuzz_} status=ok rc start elapsed dirs
	local seeds=$srcdir/corpus/$name log=$out/logs/$name.log
	local new=$out/new/$name keep=$out/corpus/$name art=$out/artifacts/$name/
	local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$art")

	[ -x "./$prog" ] || { echo "run.sh: ./$prog not built" >&2; return 1; }
	[ -d "$seeds" ] || { echo "run.sh: no seed corpus $seeds" >&2; return 1; }
	[ -f "$srcdir/$name.dict" ] && args+=(-dict="$srcdir/$name.dict")
	rm -rf "$new"
	mkdir -p "$new" "$art" "$out/logs"
	[ "$mode" = fuzz ] && mkdir -p "$keep"
	dirs=("$new" "$seeds")
	# inputs kept by an earlier `make fuzz` are replayed too
	[ -d "$keep" ] && dirs+=("$keep")
	start=$(date +%s)
	touch "$log.start"
	# New inputs go to the first directory; the others are only read.
	"./$prog" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	elapsed=$(( $(date +%s) - start ))
	if [ $rc -ne 0 ]; then
		status="FAIL(rc=$rc)"
		{
			echo "== $name: $(grep -m1 -E -A1 "$run_findings" "$log" | tr '\n' ' ')"
			find "$art" -type f -newer "$log.start" | while read -r f; do
				echo "== $name: input saved as $f; reproduce: (cd $(pwd) && ./$prog $f)"
			done
			echo "== $name: log $log"
		} >&2
	elif [ "$mode" = fuzz ]; then
		# Keep only what adds coverage to the seeds and what was kept before.
		run_merge "$prog" "$seeds" "$keep" "$new" >"$out/logs/$name.merge.log" 2>&1 ||
			status="FAIL(merge)"
	fi
	printf '%-12s %-12s %10s %8s %6s %7s %8s %8s %5ss\n' "$name" "$status" \
		"$(run_stat "$log" number_of_executed_units)" \
		"$(run_stat "$log" average_exec_per_sec)" \
		"$(run_field "$log" cov)" "$(run_field "$log" ft)" \
		"$(run_field "$log" corp | cut -d/ -f1)" \
		"$(find "$new" -type f | wc -l)" "$elapsed"
	[ "$status" = ok ]
}

# run_merge PROGRAM SEEDS KEEP NEW: KEEP gets the inputs of NEW that add
# features over SEEDS and KEEP; the seed files themselves are not copied.
run_merge() {
	local tmp
	tmp=$(mktemp -d "$out/merge.XXXXXX") || return 1
	cp -p "$2"/* "$3"/* "$tmp"/ 2>/dev/null
	"./$1" -merge=1 "$tmp" "$4" || { rm -rf "$tmp"; return 1; }
	for f in "$tmp"/*; do
		[ -e "$2/${f##*/}" ] || [ -e "$3/${f##*/}" ] || cp -p "$f" "$3"/
	done
	rm -rf "$tmp"
}

header=$(printf '%-12s %-12s %10s %8s %6s %7s %8s %8s %6s' harness result runs exec/s cov ft \
	corpus new time)
failed=0
{
	echo "make $([ "$mode" = check ] && echo fuzz-check || echo fuzz): ${seconds}s per harness," \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "$header"
} >"$summary"
echo "$header"
# FUZZ_JOBS harnesses at once (default: one per CPU); each fuzzes on one
# CPU, so the wall time is about SECONDS x harnesses / FUZZ_JOBS. The rows
# are printed in the order the harnesses were named.
njobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $njobs in ''|*[!0-9]*|0) njobs=1;; esac
rows=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-rows.XXXXXX") || exit 1
trap 'rm -rf "$rows"' EXIT
i=0
for prog in "$@"; do
	while [ "$(jobs -pr | wc -l)" -ge "$njobs" ]; do
		wait -n
	done
	i=$((i + 1))
	{ run_one "$prog" >"$rows/$i" || echo failed >"$rows/$i.failed"; } &
done
wait
for n in $(seq 1 "$i"); do
	cat "$rows/$n"
	cat "$rows/$n" >>"$summary"
	[ -e "$rows/$n.failed" ] && failed=1
done
echo "summary: $summary; logs: $out/logs/"
if [ $failed -ne 0 ]; then
	echo "FAILED: a harness found a problem; reproduce with ./fuzz_NAME ARTIFACT" \
		"(artifacts under $out/artifacts/)" >&2
	exit 1
fi
[ "$mode" = fuzz ] && echo "new inputs are in $out/corpus/NAME/; copy useful ones into" \
	"tests/fuzz/corpus/NAME/ by hand"
exit 0
