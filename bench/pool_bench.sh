#!/usr/bin/env bash
# pool_bench.sh: echo round-trip latency with echod's worker pool idle and
# with it saturated, and the ratio of the two.
#
# Each run starts a fresh echod (workers = 2) with an echo and a command
# listener on 127.0.0.1:0 and an admin console on a unix socket, and measures echo round-trips with
# `loadgen pingpong` (64 B, 10 connections). Pool loads (bench/pool_load.c on
# the command listener, started before the measurement and kept up through it):
#   idle    none: the pool has nothing to do
#   mixed   50 connections, each pipelining SLEEP 200 and DIGEST sha256 of a
#           4 KiB text, 2 in flight: both workers always busy, about 100 jobs
#           queued (the issue's benchmark; the 1.5x target applies to it)
#   digest  50 connections, 4 DIGEST sha256 4 KiB each in flight, no SLEEP:
#           the loop reads and parses 4 KiB lines and hands jobs to the workers
#           as fast as it can (with SHA-NI the loop's share is the larger one);
#           a CPU-bound worst case, shown for the CPU cost, no target
#   digest-nice  the digest load with echod's worker threads reniced to 19
#           after start (renice on their thread ids; echod has no setting for
#           it): what a lower worker priority would buy the loop, no target
# Runs are interleaved round by round (idle, mixed, digest, then the reverse
# order in the next round, so drift hits both sides) and each round gives one
# idle/saturated pair; the report shows every pair's p99 ratio and the median.
#
# Pinning: echod (all its threads: loop, workers, log) runs on CPU 0, loadgen
# and pool_load on CPU 1, as bench/run.sh does. On a 2-core machine this is the
# only split that keeps client CPU out of the server's figures, but it is not
# neutral: the two workers share CPU 0 with the loop thread. SLEEP jobs cost no
# CPU; DIGEST jobs and the loop's own work for each command (parse, submit,
# completion, reply) do, so in the digest profile the loop competes with the
# workers for one core (a worker woken for a job preempts the loop) and its
# latency measures that scheduling too, not only echod's design. On a machine
# with spare cores the workers would run beside the loop instead. Moving the
# workers to CPU 1 is no fix on 2 cores: they then starve loadgen, and the
# probe measures the client. The client side is shared as it is: pool_load and
# loadgen both run on CPU 1. The report shows each process's CPU share, and
# the loop thread's run-queue wait and involuntary context switches from
# /proc (schedstat, status), which also expose other work on the machine
# taking CPU 0.
#
# echod is built from `git archive HEAD` (the committed code, nothing
# uncommitted) in --build-dir with a plain `../configure` (no --enable-debug,
# sanitizers or werror: production flags, -O2), unless ECHOD is set. loadgen
# and pool_load are compiled from the working tree with cc -O2 unless LOADGEN
# and POOL_LOAD are set.
#
# usage: bench/pool_bench.sh [--quick] [--rounds N] [--duration S] [--warmup S]
#                            [--profiles "mixed digest digest-nice"] [--out FILE|-]
#                            [--build-dir DIR]
# environment: ECHOD, LOADGEN, POOL_LOAD, CC, SERVER_CPU (default 0),
#   CLIENT_CPU (default 1).
# The report (Markdown) goes to stdout and to --out (default
# bench/pool_results.md; "-" for stdout only). Loopback only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=pool_bench
. "$srcdir/bench/lib.sh"
rounds=5
duration=5
warmup=1
profiles="mixed digest digest-nice"
out="$srcdir/bench/pool_results.md"
builddir="$srcdir/build-poolbench"
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
echo_conns=10
echo_size=64
target=1.5

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) rounds=2; duration=2; warmup=0.5 ;;
	--rounds) rounds=$2; shift ;;
	--duration) duration=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--profiles) profiles=$2; shift ;;
	--out) out=$2; shift ;;
	--build-dir) builddir=$2; shift ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "pool_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case "$rounds" in ''|*[!0-9]*|0) echo "pool_bench.sh: bad --rounds $rounds" >&2; exit 2 ;; esac
for p in $profiles; do
	case "$p" in mixed|digest|digest-nice) ;; *) echo "pool_bench.sh: unknown profile $p" >&2; exit 2 ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-poolbench.XXXXXX") || exit 1
server_pid=""
load_pid=""
probe_pid=""
build_pid=""
nap_pid=""

pool_bench_cleanup() {
	if [ -n "$build_pid" ]; then
		kill -TERM -- -"$build_pid" 2>/dev/null
		wait "$build_pid" 2>/dev/null
	fi
	bench_reap "$nap_pid" "$probe_pid" "$load_pid" "$server_pid"
	rm -rf "$tmp"
}
trap pool_bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_need taskset git tar awk setsid flock renice nc
[ "$(nproc)" -ge 2 ] || bench_die "needs at least 2 CPUs (server and clients are pinned apart)"

# ------------------------------------------------------------ binaries
# echod from the committed tree, rebuilt only when HEAD moved.
pool_bench_build_echod() {
	local head stamp tree
	head=$(git -C "$srcdir" rev-parse HEAD) || bench_die "not a git checkout: $srcdir"
	tree="$builddir/tree"
	stamp="$builddir/commit"
	ECHOD="$tree/build/src/echod"
	if [ -x "$ECHOD" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$head" ]; then
		bench_log "reusing echod built from $head in $tree/build"
		return 0
	fi
	bench_log "building echod from git archive $head in $tree/build (log: $builddir/build.log)"
	rm -rf "$tree" "$stamp"
	mkdir -p "$tree" || bench_die "cannot create $tree"
	git -C "$srcdir" archive "$head" | tar -x -C "$tree" || bench_die "git archive failed"
	mkdir -p "$tree/build"
	# In its own process group, waited for in the background, so that an
	# interrupt stops the whole build at once (see pool_bench_cleanup);
	# timeout --foreground stays in that group.
	setsid sh -c 'cd "$1" && timeout --foreground 600 autoreconf -fi && cd build &&
	    timeout --foreground 600 ../configure &&
	    timeout --foreground 1200 make -j"$2" src/echod' sh "$tree" "$(nproc)" \
	    >"$builddir/build.log" 2>&1 &
	build_pid=$!
	if ! wait "$build_pid"; then
		build_pid=""
		tail -n 20 "$builddir/build.log" >&2
		bench_die "echod build failed"
	fi
	build_pid=""
	echo "$head" > "$stamp"
}

if [ -n "${ECHOD:-}" ]; then
	echod_origin="$ECHOD (given by ECHOD; build flags not checked)"
	commit=$(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)
else
	mkdir -p "$builddir" || bench_die "cannot create $builddir"
	# One build (and benchmark) at a time per build directory.
	exec 9>"$builddir/lock"
	flock -w 1800 9 || bench_die "$builddir is locked by another pool_bench.sh"
	pool_bench_build_echod
	commit=$(cut -c1-12 "$builddir/commit")
	echod_origin="built from \`git archive $commit\` with \`../configure\` (no --enable-debug; CFLAGS"
	echod_origin="$echod_origin $(sed -n 's/^CFLAGS = //p' "$builddir/tree/build/Makefile"))"
fi
[ -x "$ECHOD" ] || bench_die "no echod binary at $ECHOD"

if [ -z "${LOADGEN:-}" ]; then
	LOADGEN="$tmp/loadgen"
	bench_cc "$LOADGEN" loadgen || bench_die "cannot compile bench/loadgen.c"
fi
if [ -z "${POOL_LOAD:-}" ]; then
	POOL_LOAD="$tmp/pool_load"
	# shellcheck disable=SC2046
	bench_cc "$POOL_LOAD" pool_load $(pkg-config --cflags --libs libcrypto) ||
	    bench_die "cannot compile bench/pool_load.c (needs libssl-dev)"
fi

# ------------------------------------------------------------ server
cat > "$tmp/echod.ini" <<EOF
[server]
workers = 2
job_queue_max = 1024
job_timeout = 30s
; a DIGEST line is 4096 bytes of text plus the command
max_line = 8192
shutdown_timeout = 1s
max_connections = 1000

[log]
level = warning
level.server = info

[listener echo]
bind = 127.0.0.1:0
service = echo
idle_timeout = 0

[listener cmd]
bind = 127.0.0.1:0
service = command
idle_timeout = 0

[listener admin]
bind = unix:$tmp/admin.sock
service = admin
idle_timeout = 0
EOF

pool_bench_start_server() {
	: > "$tmp/echod.log"
	taskset -c "$server_cpu" "$ECHOD" -f -c "$tmp/echod.ini" 2>"$tmp/echod.log" &
	server_pid=$!
	port_echo=$(bench_echod_port "$tmp/echod.log" echo "$server_pid") &&
	    port_cmd=$(bench_echod_port "$tmp/echod.log" cmd "$server_pid") && return 0
	cat "$tmp/echod.log" >&2
	pool_bench_stop_server
	return 1
}

pool_bench_stop_server() {
	bench_stop "$server_pid"
	server_pid=""
}

# CPU ticks of echod's threads, then the loop thread's run-queue wait (ns,
# "-" without schedstat) and involuntary context switches:
# "loop workers other wait_ns nonvoluntary".
pool_bench_thread_ticks() {
	local f wait nonvol
	for f in /proc/"$server_pid"/task/*/stat; do
		cat "$f" 2>/dev/null
		echo
	done | awk -v pid="$server_pid" '
	NF > 0 {
		comm = $0; sub(/^[^(]*\(/, "", comm); sub(/\).*/, "", comm)
		rest = $0; sub(/.*\) /, "", rest); split(rest, f, " ")
		t = f[12] + f[13]
		if ($1 == pid) loop += t
		else if (comm ~ /^echod-worker/) workers += t
		else other += t
	}
	END { printf "%d %d %d ", loop, workers, other }'
	wait=$(awk '{ print $2 }' "/proc/$server_pid/task/$server_pid/schedstat" 2>/dev/null)
	nonvol=$(awk '/^nonvoluntary_ctxt_switches:/ { print $2 }' \
	    "/proc/$server_pid/task/$server_pid/status" 2>/dev/null)
	echo "${wait:--} ${nonvol:--}"
}

# Renice echod's worker threads (not the loop or log thread).
pool_bench_renice_workers() {
	local t n=0
	for t in /proc/"$server_pid"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		echod-worker-*)
			renice -n "$1" -p "${t##*/}" >/dev/null || return 1
			n=$((n + 1)) ;;
		esac
	done
	[ "$n" -gt 0 ]
}


# Pool gauges from the admin console's STATS: "queued running".
pool_bench_pool_gauges() {
	local reply
	reply=$(printf 'STATS\r\nQUIT\r\n' | timeout 3 nc -N -U "$tmp/admin.sock" 2>/dev/null |
	    tr -d '\r')
	echo "$(echo "$reply" | sed -n 's/^jobs_queued=//p') $(echo "$reply" | sed -n 's/^jobs_running=//p')"
}


# ------------------------------------------------------------ one run
# pool_bench_run ROUND PROFILE: one TSV row on stdout.
pool_bench_run() {
	local round=$1 profile=$2 args="" lg pl t0 t1 th0 th1 pl0="" pl1="" gauges
	local loop_pct work_pct other_pct pl_pct rc wait_pct preempt loop_us
	pool_bench_start_server || { bench_log "echod did not start"; return 1; }
	: > "$tmp/pl.out"; : > "$tmp/pl.err"
	case "$profile" in
	mixed) args="-c 50 -W 2 -m 200 -s 4096" ;;
	digest|digest-nice) args="-c 50 -W 4 -m 0 -s 4096" ;;
	esac
	if [ "$profile" = digest-nice ] && ! pool_bench_renice_workers 19; then
		bench_log "$profile: cannot renice the worker threads"
		pool_bench_stop_server
		return 1
	fi
	if [ -n "$args" ]; then
		# shellcheck disable=SC2086
		taskset -c "$client_cpu" "$POOL_LOAD" $args \
		    -d "$(awk -v w="$warmup" -v d="$duration" 'BEGIN { print w + d + 30 }')" \
		    127.0.0.1:"$port_cmd" >"$tmp/pl.out" 2>"$tmp/pl.err" &
		load_pid=$!
		bench_wait_match "$tmp/pl.out" '^\(ready\) .*' "$load_pid" >/dev/null
		grep -q '^ready conns=50 ' "$tmp/pl.out" || {
			bench_log "$profile: pool_load did not connect: $(cat "$tmp/pl.out" "$tmp/pl.err")"
			pool_bench_stop_load; pool_bench_stop_server; return 1
		}
		# Let the queue fill and both workers pick up jobs before measuring.
		sleep 0.5
		pl0=$(bench_cpu_ticks "$load_pid")
	fi
	th0=$(pool_bench_thread_ticks)
	t0=$(date +%s.%N)
	timeout "$(awk -v w="$warmup" -v d="$duration" 'BEGIN { print w + d + 30 }')" \
	    taskset -c "$client_cpu" "$LOADGEN" pingpong -c "$echo_conns" -s "$echo_size" \
	    -w "$warmup" -d "$duration" 127.0.0.1:"$port_echo" >"$tmp/lg.out" 2>"$tmp/lg.err" &
	probe_pid=$!
	# Sample the pool's gauges once, in the middle of the measured window
	# (sleep in the background: `wait` lets a signal's trap run at once).
	sleep "$(awk -v w="$warmup" -v d="$duration" 'BEGIN { print w + d / 2 }')" &
	nap_pid=$!
	wait "$nap_pid"
	nap_pid=""
	gauges=$(pool_bench_pool_gauges)
	wait "$probe_pid"
	rc=$?
	probe_pid=""
	t1=$(date +%s.%N)
	th1=$(pool_bench_thread_ticks)
	if [ -n "$load_pid" ]; then
		pl1=$(bench_cpu_ticks "$load_pid")
		pool_bench_stop_load
	fi
	pool_bench_stop_server
	lg=$(grep '^mode=' "$tmp/lg.out")
	if [ -z "$lg" ]; then
		bench_log "$profile: loadgen failed (rc=$rc): $(head -n 5 "$tmp/lg.err")"
		return 1
	fi
	pl=$(grep '^mode=pool_load' "$tmp/pl.out")
	if [ -n "$args" ] && [ -z "$pl" ]; then
		bench_log "$profile: pool_load gave no summary: $(head -n 5 "$tmp/pl.err")"
		return 1
	fi
	read -r loop_pct work_pct other_pct wait_pct preempt <<-EOF
	$(awk -v a="$th0" -v b="$th1" -v t0="$t0" -v t1="$t1" -v hz="$BENCH_HZ" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= 3; i++) printf "%.0f ", 100 * (y[i] - x[i]) / hz / (t1 - t0)
		if (x[4] == "-" || y[4] == "-") printf "- "
		else printf "%.0f ", 100 * (y[4] - x[4]) / 1e9 / (t1 - t0)
		if (x[5] == "-" || y[5] == "-") printf "-\n"
		else printf "%.0f\n", (y[5] - x[5]) / (t1 - t0)
	}')
	EOF
	# Loop CPU per echo round-trip (warm-up included on both sides).
	loop_us=$(awk -v a="$th0" -v b="$th1" -v n="$(bench_kv requests_total "$lg")" \
	    -v hz="$BENCH_HZ" 'BEGIN { split(a, x, " "); split(b, y, " ")
		if (n > 0) printf "%.2f", (y[1] - x[1]) / hz * 1e6 / n; else print "-" }')
	pl_pct=-
	[ -n "$pl0" ] && [ -n "$pl1" ] && pl_pct=$(bench_cpu_pct $((pl1 - pl0)) "$t0" "$t1")
	# round profile p50 p99 p999 rps lg_errors lg_rc loop% workers% other% pool_load%
	# queued running jobs/s sleep_ok digest_ok busy timeouts pl_errors sleep_mean_ms
	# loop_runq_wait% loop_preempted/s loop_cpu_us/echo
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
	    "$round" "$profile" "$(bench_kv p50_us "$lg")" "$(bench_kv p99_us "$lg")" \
	    "$(bench_kv p999_us "$lg")" "$(bench_kv rps "$lg")" \
	    $(( $(bench_kv errors "$lg") + $(bench_kv connect_errors "$lg") )) "$rc" \
	    "$loop_pct" "$work_pct" "$other_pct" "$pl_pct" \
	    "$(echo "$gauges" | awk '{ print ($1 == "" ? "-" : $1) }')" \
	    "$(echo "$gauges" | awk '{ print ($2 == "" ? "-" : $2) }')" \
	    "${pl:+$(bench_kv jobs_per_s "$pl")}" "${pl:+$(bench_kv sleep_ok "$pl")}" \
	    "${pl:+$(bench_kv digest_ok "$pl")}" "${pl:+$(bench_kv busy "$pl")}" \
	    "${pl:+$(bench_kv timeouts "$pl")}" \
	    "${pl:+$(( $(bench_kv errors "$pl") + $(bench_kv connect_errors "$pl") ))}" \
	    "$([ -n "$pl" ] && [ "$(bench_kv sleep_ok "$pl")" != 0 ] &&
	    bench_kv sleep_mean_ms "$pl")" "$wait_pct" "$preempt" "$loop_us"
	bench_log "round $round $profile: $(sed -n '$p' "$tmp/lg.err"); echod CPU loop" \
	    "$loop_pct% workers $work_pct%, loop run-queue wait $wait_pct%, preempted $preempt/s;" \
	    "pool queued/running ${gauges:-?}${pl:+; $(sed -n '$p' "$tmp/pl.err")}"
}

pool_bench_stop_load() {
	bench_reap "$load_pid"
	load_pid=""
}

# ------------------------------------------------------------ the rounds
load_start=$(bench_loadavg)
started=$(date +%s)
bench_log "echod: $ECHOD; $rounds rounds of idle + $profiles; ${warmup} s warm-up +" \
    "${duration} s per run; echod on CPU $server_cpu, clients on CPU $client_cpu"
: > "$tmp/runs.tsv"
failed=0
for round in $(seq 1 "$rounds"); do
	order="idle $profiles"
	# Reverse the order every other round so slow drift does not favour one side.
	[ $((round % 2)) = 0 ] && order=$(echo "$order" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for profile in $order; do
		pool_bench_run "$round" "$profile" >> "$tmp/runs.tsv" || failed=$((failed + 1))
	done
done
elapsed=$(( $(date +%s) - started ))
load_end=$(bench_loadavg)

# ------------------------------------------------------------ report
{
	echo "# echod pool benchmark: echo latency with the worker pool idle and saturated"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(bench_machine)"
	echo "- Commit: $commit; echod $echod_origin"
	echo "- libevent $(pkg-config --modversion libevent 2>/dev/null || echo unknown)," \
	    "$(openssl version 2>/dev/null | cut -d' ' -f1-2)"
	echo "- $rounds rounds, each a fresh echod per run: idle and $profiles, order reversed" \
	    "every other round; ${elapsed} s in all"
	echo "- Load average (1, 5, 15 min) at start: $load_start; at end: $load_end"
	echo
	echo "echod: \`workers = 2\`, \`job_queue_max = 1024\`, \`max_line = 8192\`, production log" \
	    "levels; echo and command listeners on 127.0.0.1:0, admin console on a unix socket." \
	    "Echo probe: \`loadgen" \
	    "pingpong\`, $echo_size B, $echo_conns connections, ${warmup} s warm-up, ${duration} s" \
	    "measured. Pool load (\`pool_load\` on the command listener, running before and" \
	    "through the probe):"
	echo
	echo "- **mixed**: 50 connections, each with 2 commands in flight, alternating" \
	    "\`SLEEP 200\` and \`DIGEST sha256 <4096-byte text>\` (every reply checked). Both" \
	    "workers are always busy and about 100 jobs wait in the queue. The issue's target" \
	    "(p99 within ${target}x of idle) applies to this profile."
	echo "- **digest**: 50 connections, 4 \`DIGEST sha256 <4096-byte text>\` each in flight," \
	    "no SLEEP: the loop reads and parses 4 KiB command lines and the workers hash as" \
	    "fast as it feeds them, all on one core. A CPU-bound worst case with no target; the" \
	    "CPU columns show which thread is the bottleneck."
	echo "- **digest-nice**: the digest load with echod's two worker threads reniced to 19" \
	    "(\`renice\` on their thread ids after start; echod itself has no such setting):" \
	    "an experiment showing what a lower worker priority would buy the loop. No target."
	echo
	echo "Pinning: echod (loop, workers and log thread) on CPU $server_cpu, loadgen and" \
	    "pool_load on CPU $client_cpu, as \`bench/run.sh\` does. With 2 cores this keeps the" \
	    "clients' CPU out of echod's, but the workers share CPU $server_cpu with the loop:" \
	    "SLEEP costs no CPU, while hashing and the loop's per-command work do, so in the" \
	    "digest profile a worker woken for a job preempts the loop, and the echo latency" \
	    "includes that scheduling. Moving the workers to CPU $client_cpu instead starves the" \
	    "load generator on 2 cores, so it is not done. pool_load shares CPU $client_cpu with" \
	    "loadgen, which adds client-side delay to the saturated runs. CPU columns are" \
	    "percent of one core over the probe's run (warm-up included); *loop run-queue" \
	    "wait* is the time the loop thread was runnable but not running" \
	    "(\`/proc/PID/task/TID/schedstat\`), as a percentage of the run, and *loop" \
	    "preempted* its involuntary context switches per second: both count other" \
	    "processes on CPU $server_cpu too, so they show how noisy the idle baseline was." \
	    "*Loop CPU µs / echo round-trip* (loop thread CPU over all round-trips of the" \
	    "probe) does not depend on neighbours; in the digest profile it also carries the" \
	    "loop's work for the DIGEST commands."
	echo
} > "$tmp/report.md"

awk -F'\t' -v profiles="$profiles" -v target="$target" -v failed="$failed" \
    -f "$srcdir/bench/lib.awk" -f /dev/stdin "$tmp/runs.tsv" >> "$tmp/report.md" <<'AWK' ||
function runs(pr,   r, n) {
	for (r = 1; r <= maxround; r++)
		n += seen[r, pr]
	return n
}
# Median of field f over the rounds of profile pr ("-" when none has it).
function med(pr, f,   r, m, x, vals) {
	for (r = 1; r <= maxround; r++) {
		x = v[r, pr, f]
		if (seen[r, pr] && x != "" && x != "-")
			vals[++m] = x
	}
	return m ? median(vals, m) : "-"
}
function sum(pr, f,   r, t, x) {
	for (r = 1; r <= maxround; r++) {
		x = v[r, pr, f]
		if (seen[r, pr] && x != "" && x != "-")
			t += x
	}
	return t + 0
}
function fmt(x, f) {
	return x == "-" ? x : sprintf(f, x)
}
{
	key = $1 SUBSEP $2
	for (f = 3; f <= 24; f++)
		v[key, f] = $f
	seen[key] = 1
	if ($1 > maxround)
		maxround = $1
}
END {
	np = split(profiles, prof, " ")
	print "## Echo latency per round"
	print ""
	hdr = "| round | idle p50 µs | idle p99 µs |"
	sep = "|---:|---:|---:|"
	for (p = 1; p <= np; p++) {
		hdr = hdr " " prof[p] " p50 µs | " prof[p] " p99 µs | " prof[p] " p99 / idle p99 |"
		sep = sep "---:|---:|---:|"
	}
	print hdr
	print sep
	for (r = 1; r <= maxround; r++) {
		ik = r SUBSEP "idle"
		line = "| " r " | " (seen[ik] ? sprintf("%.1f | %.1f", v[ik, 3], v[ik, 4]) : "- | -") " |"
		for (p = 1; p <= np; p++) {
			k = r SUBSEP prof[p]
			if (!seen[k]) {
				line = line " - | - | - |"
				continue
			}
			ratio = ""
			if (seen[ik] && v[ik, 4] > 0) {
				ratio = v[k, 4] / v[ik, 4]
				nr[p]++
				ratios[p, nr[p]] = ratio
			}
			line = line sprintf(" %.1f | %.1f | %s |", v[k, 3], v[k, 4],
			    ratio == "" ? "-" : sprintf("%.2f", ratio))
		}
		print line
	}
	line = "| **median** | | |"
	for (p = 1; p <= np; p++) {
		delete tmp
		for (i = 1; i <= nr[p]; i++)
			tmp[i] = ratios[p, i]
		medr[p] = median(tmp, nr[p])
		line = line " | | **" (medr[p] == "" ? "-" : sprintf("%.2f", medr[p])) "** |"
	}
	print line
	print ""
	for (p = 1; p <= np; p++) {
		if (medr[p] == "")
			continue
		if (prof[p] == "mixed")
			printf "**Target (mixed): median p99 ratio %.2f, %s the %sx target.**\n", medr[p],
			    (medr[p] <= target ? "within" : "NOT within"), target
		else
			printf "%s: median p99 ratio %.2f (no target).\n", prof[p], medr[p]
		printf "Pairs: "
		for (i = 1; i <= nr[p]; i++)
			printf "%s%.2f", (i > 1 ? ", " : ""), ratios[p, i]
		print ""
		print ""
	}
	if (failed > 0)
		print "**" failed " run(s) failed and are missing above (see the log on stderr).**\n"

	print "## Pool and CPU (median over the rounds)"
	print ""
	print "| profile | echo req/s | echod loop CPU % | loop CPU µs / echo round-trip | loop run-queue wait % | loop preempted /s | workers CPU % | other threads CPU % | pool_load CPU % | jobs queued / running (STATS mid-run) | jobs done /s | SLEEP reply mean ms | -ERR busy | -ERR timeout | errors |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	na = split("idle " profiles, allp, " ")
	for (p = 1; p <= na; p++) {
		pr = allp[p]
		if (!runs(pr))
			continue
		errs = sum(pr, 7) + sum(pr, 20)
		for (r = 1; r <= maxround; r++)
			errs += seen[r, pr] && v[r, pr, 8] != 0
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %d |\n", pr,
		    fmt(med(pr, 6), "%.0f"), med(pr, 9), med(pr, 24), med(pr, 22), med(pr, 23), med(pr, 10),
		    med(pr, 11), med(pr, 12),
		    med(pr, 13), med(pr, 14), fmt(med(pr, 15), "%.0f"), fmt(med(pr, 21), "%.0f"),
		    (pr == "idle" ? "-" : sum(pr, 18)), (pr == "idle" ? "-" : sum(pr, 19)), errs
	}
	print ""
	print "-ERR busy, -ERR timeout and errors are totals over all rounds (errors: echo" \
	    " verification errors, failed probes, unexpected command replies)."
}
AWK
    bench_die "cannot format the report"

if [ "$out" != - ]; then
	cp "$tmp/report.md" "$out" || bench_die "cannot write $out"
	bench_log "report written to $out"
fi
cat "$tmp/report.md"
[ "$failed" = 0 ]
