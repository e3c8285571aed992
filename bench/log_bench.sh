#!/bin/bash
# log_bench.sh: what logging costs echod's echo throughput. Two daemons, run
# alternately in the same invocation so that machine noise hits both alike:
#
#   warning   [log] level = warning, connections = no, plus level.server = info
#             (a per-subsystem override) so that the "listening ... addr=" line
#             the script reads the port from still appears; nothing is logged
#             per connection or per request
#   debug     [log] level = debug, connections = yes: every state change of
#             every connection and one record per open and close
#
# Workloads: pingpong 64 B x 50 connections, and churn (connect, one 64 B
# round-trip, close) x 10 connections, which makes the most connection records.
# Sinks: echod's stderr to a file, and to a pipe read by `cat >/dev/null`.
# For every workload and sink, N pairs (one warning run, one debug run, each
# against a freshly started daemon; the order inside a pair alternates so that
# a drift in machine load does not favour one side). For each pair: the ratio
# debug / warning of req/s, and of server CPU time per request (utime + stime
# of all echod threads from /proc/PID/stat, sampled before and after the load
# generator, divided by all its requests, warm-up included). Target (issue 4):
# debug req/s >= 0.9x warning.
#
# echod is built optimized (configure without --enable-debug) from a
# `git archive HEAD` copy of the source tree, so uncommitted changes are not
# measured, unless ECHOD (and LOADGEN) name binaries to use instead.
#
# The daemon (and the pipe's reader) run pinned to CPU 0 with taskset, the
# load generator to CPU 1. The Markdown report goes to stdout and to --out.
#
# usage: bench/log_bench.sh [--quick] [--pairs N] [--duration S] [--warmup S]
#            [--sinks "file pipe"] [--build-dir DIR] [--out FILE]
#   --quick      2 pairs of 1 s runs (a smoke test of the script)
#   --build-dir  build there and keep it (default: a temporary directory)
#   --out        default bench/log_results.md; "-" for stdout only
# env:   ECHOD, LOADGEN (skip the build), CC.
# Needs: git, autoconf, automake, libtool, pkg-config, a C compiler, the
#        libraries echod builds with, taskset (util-linux), timeout (coreutils).
# Traffic goes to 127.0.0.1 only; every run is bounded in time.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=log_bench
. "$srcdir/bench/lib.sh"
pairs=5
duration=4
warmup=1
sinks="file pipe"
build_dir=
out=$srcdir/bench/log_results.md

while [ $# -gt 0 ]; do
	case $1 in
	--quick) pairs=2; duration=1; warmup=0.3 ;;
	--pairs) pairs=$2; shift ;;
	--duration) duration=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--sinks) sinks=$2; shift ;;
	--build-dir) build_dir=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,39p' "$0"; exit 0 ;;
	*) echo "log_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-log-bench.XXXXXX") || exit 1
server_pid=
reader_pid=
lg_pid=

bench_cleanup()
{
	trap '' INT TERM
	bench_reap "$lg_pid" "$server_pid" "$reader_pid"
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_need taskset timeout awk git
[ "$(nproc)" -ge 2 ] || bench_die "needs two CPUs (daemon on 0, load generator on 1)"

# ---------------------------------------------------------------- build

commit=$(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null) || commit=unknown
if [ -z "${ECHOD:-}" ]; then
	[ "$commit" != unknown ] || bench_die "$srcdir is not a git work tree (set ECHOD)"
	[ -n "$build_dir" ] || build_dir=$tmp/build
	mkdir -p "$build_dir" || exit 1
	build_dir=$(cd "$build_dir" && pwd)
	bench_log "building $commit (git archive HEAD) optimized in $build_dir"
	rm -rf "$build_dir/tree"
	mkdir "$build_dir/tree" || exit 1
	git -C "$srcdir" archive HEAD | tar -x -C "$build_dir/tree" ||
	    bench_die "git archive failed"
	(cd "$build_dir/tree" && autoreconf -fi >"$build_dir/autoreconf.log" 2>&1) ||
	    bench_die "autoreconf failed, see $build_dir/autoreconf.log"
	mkdir -p "$build_dir/tree/build"
	(cd "$build_dir/tree/build" && ../configure >"$build_dir/configure.log" 2>&1) ||
	    bench_die "configure failed, see $build_dir/configure.log"
	(cd "$build_dir/tree/build" && make -j2 src/echod bench/loadgen \
	    >"$build_dir/make.log" 2>&1) ||
	    bench_die "make failed, see $build_dir/make.log"
	ECHOD=$build_dir/tree/build/src/echod
	LOADGEN=${LOADGEN:-$build_dir/tree/build/bench/loadgen}
	built="commit $commit, built from \`git archive HEAD\` with \`configure\` and no options"
	built="$built (optimized, no --enable-debug)"
else
	built="given binary ECHOD=$ECHOD (source tree at commit $commit)"
fi
[ -x "$ECHOD" ] || bench_die "no daemon at $ECHOD"
bench_is_plain "$ECHOD" || bench_die "$ECHOD is a sanitizer build: it would measure the sanitizer"
if [ -z "${LOADGEN:-}" ]; then
	bench_log "compiling loadgen"
	bench_cc "$tmp/loadgen" loadgen || bench_die "cannot build loadgen"
	LOADGEN=$tmp/loadgen
fi
[ -x "$LOADGEN" ] || bench_die "no load generator at $LOADGEN"

# ---------------------------------------------------------------- daemons

cat >"$tmp/warning.ini" <<INI
[server]
max_connections = 1000
shutdown_timeout = 2s

[log]
level = warning
# only to get the "listening ... addr=" line the port is read from
level.server = info
connections = no

[listener echo]
bind = 127.0.0.1:0
service = echo
idle_timeout = 0
INI

cat >"$tmp/debug.ini" <<INI
[server]
max_connections = 1000
shutdown_timeout = 2s

[log]
level = debug
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
idle_timeout = 0
INI

# The pipe's reader: copies the start-up lines (up to "ready") into a file for
# the port, then becomes `cat >/dev/null`. bash's read takes a pipe byte by
# byte, so it never swallows what cat should see.
bench_reader()
{
	local line

	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$tmp/startup.log"
		case $line in
		*"ready listeners="*) break ;;
		esac
	done
	exec cat >/dev/null
}

# bench_start LEVEL SINK: sets server_pid (and reader_pid) and port.
bench_start()
{
	local level=$1 sink=$2 log

	rm -f "$tmp/stderr.log" "$tmp/startup.log" "$tmp/fifo"
	: >"$tmp/startup.log"
	case $sink in
	file)
		log=$tmp/stderr.log
		taskset -c 0 "$ECHOD" -f -c "$tmp/$level.ini" </dev/null >/dev/null \
		    2>"$tmp/stderr.log" &
		server_pid=$!
		;;
	pipe)
		log=$tmp/startup.log
		mkfifo "$tmp/fifo" || exit 1
		bench_reader <"$tmp/fifo" &
		reader_pid=$!
		taskset -p -c 0 "$reader_pid" >/dev/null || bench_die "taskset -p failed"
		taskset -c 0 "$ECHOD" -f -c "$tmp/$level.ini" </dev/null >/dev/null \
		    2>"$tmp/fifo" &
		server_pid=$!
		;;
	esac
	bench_echod_ready "$log" "$server_pid" ||
	    bench_die "$level/$sink: daemon not ready: $(tail -n 5 "$log")"
	port=$(bench_echod_port "$log" echo "$server_pid" 1) ||
	    bench_die "$level/$sink: no listening line: $(head -n 5 "$log")"
}

# Stop the daemon (SIGTERM; it writes what is queued, then exits) and the reader.
bench_stop_daemon()
{
	bench_stop "$server_pid"
	server_pid=
	# The pipe is closed now: cat sees EOF and ends by itself (the signal
	# after 5 s is only for a reader that hangs).
	bench_stop "$reader_pid" 0
	reader_pid=
}

# Busy and total clock ticks of CPU 0, where echod runs: "busy total".
bench_cpu0_ticks()
{
	awk '$1 == "cpu0" { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

# bench_run WORKLOAD LEVEL SINK PAIR: one run against a fresh daemon; appends
# a row to $tmp/runs: workload sink pair level rps cpu_us p50 p99 errors
# log_lines dropped requests_total server_cpu_percent cpu0_busy_percent.
bench_run()
{
	local wl=$1 level=$2 sink=$3 pair=$4 mode conns c0 c1 line rc rps req cpu
	local errs lines=- dropped=- t0 t1 util s0 s1 cpu0

	case $wl in
	pingpong) mode=pingpong; conns=50 ;;
	churn) mode=churn; conns=10 ;;
	esac
	bench_start "$level" "$sink"
	s0=$(bench_cpu0_ticks)
	c0=$(bench_cpu_ticks "$server_pid")
	t0=$(date +%s.%N)
	timeout -k 5 "$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print int(d + w + 30) }')" \
	    taskset -c 1 "$LOADGEN" "$mode" -c "$conns" -s 64 -d "$duration" -w "$warmup" \
	    "127.0.0.1:$port" >"$tmp/lg.out" 2>"$tmp/lg.err" &
	lg_pid=$!
	wait "$lg_pid"
	rc=$?
	lg_pid=
	c1=$(bench_cpu_ticks "$server_pid")
	t1=$(date +%s.%N)
	s1=$(bench_cpu0_ticks)
	bench_stop_daemon
	line=$(grep '^mode=' "$tmp/lg.out") ||
	    bench_die "$wl/$level/$sink: loadgen failed (rc=$rc): $(cat "$tmp/lg.err")"
	rps=$(bench_kv rps "$line")
	req=$(bench_kv requests_total "$line")
	errs=$(( $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") ))
	cpu=$(bench_us_per $((c1 - c0)) "$req")
	util=$(bench_cpu_pct $((c1 - c0)) "$t0" "$t1")
	cpu0=$(echo "$s0 $s1" | awk '{ b = 0; if ($4 > $2) b = 100 * ($3 - $1) / ($4 - $2); printf "%.0f", b }')
	if [ "$sink" = file ]; then
		lines=$(wc -l <"$tmp/stderr.log")
		dropped=$(sed -n 's/.* dropped=\([0-9]*\).*/\1/p' "$tmp/stderr.log" |
		    awk '{ s += $1 } END { print s + 0 }')
		rm -f "$tmp/stderr.log"
	fi
	printf '%s %s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$wl" "$sink" "$pair" "$level" "$rps" \
	    "$cpu" "$(bench_kv p50_us "$line")" "$(bench_kv p99_us "$line")" "$errs" \
	    "$lines" "$dropped" "$req" "$util" "$cpu0" >>"$tmp/runs"
	bench_log "$wl/$sink pair $pair $level: rps=$rps cpu_us/req=$cpu srv_cpu=$util% cpu0_busy=$cpu0% errors=$errs" \
	    "log_lines=$lines dropped=$dropped"
	[ "$rc" = 0 ] || bench_log "$wl/$level/$sink: loadgen rc=$rc: $(sed -n 1,3p "$tmp/lg.err")"
}

# ---------------------------------------------------------------- runs

: >"$tmp/runs"
started=$(date +%s)
load_start=$(bench_loadavg)
bench_log "echod: $ECHOD; $pairs pairs, ${duration}s + ${warmup}s warm-up; sinks: $sinks"
for wl in pingpong churn; do
	for sink in $sinks; do
		p=1
		while [ $p -le "$pairs" ]; do
			if [ $((p % 2)) -eq 1 ]; then
				order="warning debug"
			else
				order="debug warning"
			fi
			for level in $order; do
				bench_run "$wl" "$level" "$sink" "$p"
			done
			p=$((p + 1))
		done
	done
done
elapsed=$(( $(date +%s) - started ))
load_end=$(bench_loadavg)

# ---------------------------------------------------------------- report

{
	echo "# echod: cost of debug logging and connection records"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(bench_machine)," \
	    "$(ldd --version 2>/dev/null | head -n 1 | sed 's/.* //' | sed 's/^/glibc /')"
	echo "- echod: $built"
	echo "- Load average (1, 5, 15 min) at start: $load_start; at end: $load_end"
	echo "- $pairs pairs per workload and sink, each run ${duration} s measured after a" \
	    "${warmup} s warm-up against a freshly started daemon; ${elapsed} s in all"
	echo "- echod (and the pipe's reader) pinned to CPU 0, loadgen to CPU 1; loopback only"
	echo
	echo "**warning**: \`level = warning\`, \`connections = no\`, and \`level.server = info\`"
	echo "(a per-subsystem override, only so that the \`listening ... addr=\` line giving the"
	echo "kernel-chosen port still appears; the server subsystem logs nothing per request)."
	echo "**debug**: \`level = debug\`, \`connections = yes\` (every connection state change"
	echo "and an open and a close record per connection). Sink \`file\`: stderr to a file on"
	echo "$(df -P "$tmp" 2>/dev/null | awk 'NR == 2 { print $1 }' | sed 's/^/the /; s/$/ file system/');"
	echo "\`pipe\`: stderr to a pipe read by \`cat >/dev/null\` (also on CPU 0)."
	echo
	echo "Per pair: req/s ratio = debug / warning (target >= 0.9); CPU/req ratio = server CPU"
	echo "time per request, debug / warning (utime + stime of all echod threads from"
	echo "/proc/PID/stat over the whole run, warm-up included; above 1 costs more). The order"
	echo "inside a pair alternates (odd pairs warning first, even pairs debug first)."
	echo
} >"$tmp/report.md"

awk -v pairs="$pairs" -v sinks="$sinks" -f "$srcdir/bench/lib.awk" -f /dev/stdin "$tmp/runs" \
    >>"$tmp/report.md" <<'AWK'
function fmt(x) {
	return x == "nan" ? "-" : sprintf("%.3f", x)
}
function title(wl) {
	if (wl == "pingpong")
		return "pingpong 64 B x 50 connections"
	return "churn: connect, one 64 B round-trip, close (10 at a time)"
}
{
	k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
	rps[k] = $5; cpu[k] = $6; p50[k] = $7; p99[k] = $8; err[k] = $9
	lines[k] = $10; drop[k] = $11; reqs[k] = $12; util[k] = $13; busy0[k] = $14
}
END {
	nw = split("pingpong churn", wls, " ")
	ns = split(sinks, snk, " ")
	for (w = 1; w <= nw; w++) for (s = 1; s <= ns; s++) {
		wl = wls[w]; sk = snk[s]
		print "## " title(wl) ", stderr to a " sk
		print ""
		print "| pair | warning req/s | debug req/s | req/s ratio | warning CPU µs/req | debug CPU µs/req | CPU/req ratio | p99 µs warning / debug | srv CPU % warning / debug | CPU 0 busy % warning / debug | log lines (debug) | dropped | errors |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		n = nr = nc = 0
		for (p = 1; p <= pairs; p++) {
			a = wl SUBSEP sk SUBSEP p SUBSEP "warning"
			b = wl SUBSEP sk SUBSEP p SUBSEP "debug"
			if (!(a in rps) || !(b in rps))
				continue
			n++
			wr[n] = rps[a]; dr[n] = rps[b]; wc[n] = cpu[a]; dc[n] = cpu[b]
			# a run without a request or a CPU tick has no ratio
			rtxt = ctxt = "-"
			if (rps[a] > 0) {
				rr[++nr] = rps[b] / rps[a]
				rtxt = sprintf("%.3f", rr[nr])
			}
			if (cpu[a] > 0 && cpu[b] > 0) {
				cr[++nc] = cpu[b] / cpu[a]
				ctxt = sprintf("%.3f", cr[nc])
			}
			lpr = "-"
			if (lines[b] != "-" && reqs[b] > 0)
				lpr = sprintf("%s (%.2f/req)", lines[b], lines[b] / reqs[b])
			printf "| %d | %.0f | %.0f | %s | %.2f | %.2f | %s | %.0f / %.0f | %s / %s | %s / %s | %s | %s | %d |\n",
			    p, rps[a], rps[b], rtxt, cpu[a], cpu[b], ctxt, p99[a], p99[b],
			    util[a], util[b], busy0[a], busy0[b], lpr, drop[b], err[a] + err[b]
		}
		mr = median(rr, nr, "nan"); mc = median(cr, nc, "nan")
		rlo = rhi = clo = chi = ""
		for (i = 1; i <= nr; i++) {
			if (rlo == "" || rr[i] < rlo) rlo = rr[i]
			if (rhi == "" || rr[i] > rhi) rhi = rr[i]
		}
		for (i = 1; i <= nc; i++) {
			if (clo == "" || cr[i] < clo) clo = cr[i]
			if (chi == "" || cr[i] > chi) chi = cr[i]
		}
		rrange = nr ? sprintf("%.2f-%.2f", rlo, rhi) : "-"
		crange = nc ? sprintf("%.2f-%.2f", clo, chi) : "-"
		printf "| **median** | %.0f | %.0f | **%s** | %.2f | %.2f | **%s** | | | | | | |\n",
		    median(wr, n, "nan"), median(dr, n, "nan"), fmt(mr), median(wc, n, "nan"),
		    median(dc, n, "nan"), fmt(mc)
		print ""
		sum[w, s] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |", title(wl), sk,
		    fmt(mr), rrange, fmt(mc), crange,
		    mc == "nan" || mc == 0 ? "-" : fmt(1 / mc),
		    mr == "nan" ? "no data" : mr >= 0.9 ? "met" : "**not met**")
	}
	print "## Summary: medians of the per-pair ratios (debug / warning)"
	print ""
	print "| workload | sink | req/s ratio | (pairs' range) | CPU/req ratio | (pairs' range) | capacity ratio (1 / CPU/req) | target req/s >= 0.9x |"
	print "|---|---|---:|---:|---:|---:|---:|---|"
	for (w = 1; w <= nw; w++) for (s = 1; s <= ns; s++)
		print sum[w, s]
	print ""
	print "The capacity ratio is what the req/s ratio would be if echod's CPU were the limit:"
	print "where *srv CPU %* is well below 100 the load generator (or other work on the"
	print "machine) limited req/s, and the CPU/req ratio is the fairer comparison. *CPU 0 busy %*"
	print "is how busy the daemon's CPU was in all (from /proc/stat): far above *srv CPU %*, other"
	print "processes took CPU 0 from echod during that run, and its req/s says more about them than"
	print "about logging. A wide range of per-pair req/s ratios says the same."
	print ""
	print "Log lines: every line of the debug run's file (start-up and shutdown included), and"
	print "per request of the whole run, warm-up included. *dropped* sums"
	print "the daemon's `dropped=N` lines (records lost because the log queue was full); with a"
	print "pipe the lines are not counted. *errors*: loadgen verification errors, resets and"
	print "failed connects of both runs; must be 0."
}
AWK

if [ "$out" = - ]; then
	cat "$tmp/report.md"
else
	cp "$tmp/report.md" "$out" || exit 1
	cat "$tmp/report.md"
	bench_log "report written to $out"
fi
