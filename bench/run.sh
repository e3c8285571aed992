#!/usr/bin/env bash
# run.sh: run the echo benchmark matrix and write a Markdown report.
#
# Each server (the epoll reference, the libevent reference, echod) runs pinned
# to CPU 0 and the load generator to CPU 1. The matrix runs configuration by
# configuration, the servers interleaved inside each configuration, each run
# against a freshly started server. Server CPU time comes from /proc/PID/stat
# (utime+stime, all threads) before and after each run.
#
# usage: bench/run.sh [--quick] [--out FILE] [--reps N] [--servers "epoll libevent echod"]
#                     [--no-callgrind] [--only CFG,CFG...]
# environment: ECHOD (echod binary), LOADGEN, REF_EPOLL, REF_LIBEVENT (bench
#   binaries; compiled into a temporary directory when unset), CC.
#   ECHOD_BASE: an older echod build; with it the servers include echod-base
#   (same configuration) and the summary compares echod's CPU/req with it, the
#   two interleaved in the same run (a change's cost against the build before it).
# Everything talks to 127.0.0.0/8 only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=run.sh
. "$srcdir/bench/lib.sh"
quick=0
out=""
reps=""
servers="epoll libevent echod"
callgrind=1
only=""

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--out) out=$2; shift ;;
	--reps) reps=$2; shift ;;
	--servers) servers=$2; shift ;;
	--no-callgrind) callgrind=0 ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || out="$srcdir/bench/results.md"
if [ -n "${ECHOD_BASE:-}" ] && ! echo " $servers " | grep -q ' echod-base '; then
	servers="$servers echod-base"
fi

if [ "$quick" = 1 ]; then
	warmup=0.3; duration=1; hold=1; reps=${reps:-1}
else
	warmup=1; duration=4; hold=3; reps=${reps:-3}
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-bench.XXXXXX")
server_pid=""
lg_pids=""
bg_pid=""

bench_cleanup() {
	# shellcheck disable=SC2086
	bench_reap $lg_pids $bg_pid $server_pid
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ binaries
bench_compile() {
	bench_log "compiling bench programs into $tmp"
	bench_cc "$tmp/loadgen" loadgen || exit 1
	bench_cc "$tmp/ref_epoll" ref_epoll || exit 1
	# shellcheck disable=SC2046
	bench_cc "$tmp/ref_libevent" ref_libevent $(pkg-config --cflags --libs libevent) || exit 1
}

if [ -z "${LOADGEN:-}" ] || [ -z "${REF_EPOLL:-}" ] || [ -z "${REF_LIBEVENT:-}" ]; then
	bench_compile
	LOADGEN=${LOADGEN:-$tmp/loadgen}
	REF_EPOLL=${REF_EPOLL:-$tmp/ref_epoll}
	REF_LIBEVENT=${REF_LIBEVENT:-$tmp/ref_libevent}
fi

# A sanitizer build measures the sanitizer, not echod: skip those.
bench_find_echod
if [ -z "$ECHOD" ] || [ ! -x "$ECHOD" ]; then
	bench_log "no echod binary (set ECHOD=...): measuring the references only"
	servers=$(echo "$servers" | sed 's/echod//')
	ECHOD=""
fi

bench_need taskset awk

# Connections up to the fd limit need the hard limit everywhere.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)

# ------------------------------------------------------------ servers
bench_start_server() {
	local kind=$1
	: > "$tmp/srv.out"; : > "$tmp/srv.err"
	case "$kind" in
	epoll)
		taskset -c 0 "$REF_EPOLL" 0 >"$tmp/srv.out" 2>"$tmp/srv.err" &
		server_pid=$!
		port=$(bench_wait_match "$tmp/srv.out" '^port=\([0-9]*\).*' "$server_pid") ;;
	libevent)
		taskset -c 0 "$REF_LIBEVENT" 0 >"$tmp/srv.out" 2>"$tmp/srv.err" &
		server_pid=$!
		port=$(bench_wait_match "$tmp/srv.out" '^port=\([0-9]*\).*' "$server_pid") ;;
	echod|echod-base)
		bench_echo_ini "$tmp/echod.ini"
		bin=$ECHOD
		[ "$kind" = echod ] || bin=$ECHOD_BASE
		taskset -c 0 "$bin" -f -c "$tmp/echod.ini" >"$tmp/srv.out" 2>"$tmp/srv.err" &
		server_pid=$!
		port=$(bench_echod_port "$tmp/srv.err" echo "$server_pid") ;;
	esac
	if [ -z "$port" ]; then
		bench_log "$kind did not start:"
		cat "$tmp/srv.err" >&2
		bench_stop_server
		return 1
	fi
	return 0
}

bench_stop_server() {
	bench_stop "$server_pid"
	server_pid=""
}

bench_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"
}

# ------------------------------------------------------------ runs
# Background idle connections, to show whether the per-event cost grows with
# the number of connections: held for longer than the measured run.
bench_background() {
	local n=$1
	: > "$tmp/bg.out"
	taskset -c 1 "$LOADGEN" idle -c "$n" -s 64 -t 60 -d 3600 \
	    --src-range 127.0.3.1-127.0.3.250 127.0.0.1:"$port" \
	    >"$tmp/bg.out" 2>"$tmp/bg.err" &
	bg_pid=$!
	bench_wait_match "$tmp/bg.out" '^\(established\)=.*' "$bg_pid" 1300 >/dev/null
	if ! grep -q "^established=$n errors=0 connect_errors=0" "$tmp/bg.out"; then
		bench_log "background idle connections failed: $(cat "$tmp/bg.out" "$tmp/bg.err")"
		bench_background_stop
		return 1
	fi
}

bench_background_stop() {
	[ -n "$bg_pid" ] || return 0
	kill -TERM "$bg_pid" 2>/dev/null
	wait "$bg_pid" 2>/dev/null
	bg_pid=""
}

# One traffic run: prints a result row for the TSV.
bench_traffic() {
	local cfg=$1 kind=$2 mode=$3 size=$4 conns=$5 bg=${6:-0} c0 c1 line t0 t1 cpu_us req rc
	if [ "$bg" -gt 0 ]; then
		bench_background "$bg" || return 1
	fi
	c0=$(bench_cpu_ticks "$server_pid")
	t0=$(date +%s.%N)
	taskset -c 1 "$LOADGEN" "$mode" -c "$conns" -s "$size" -d "$duration" \
	    -w "$warmup" 127.0.0.1:"$port" >"$tmp/lg.out" 2>"$tmp/lg.err" &
	lg_pids=$!
	wait "$lg_pids"
	rc=$?
	lg_pids=""
	t1=$(date +%s.%N)
	c1=$(bench_cpu_ticks "$server_pid")
	bench_background_stop
	line=$(grep '^mode=' "$tmp/lg.out")
	if [ -z "$line" ]; then
		bench_log "$cfg/$kind: loadgen failed (rc=$rc)"
		cat "$tmp/lg.err" >&2
		return 1
	fi
	[ "$rc" = 0 ] || { bench_log "$cfg/$kind: loadgen rc=$rc"; sed -n 1,5p "$tmp/lg.err" >&2; }
	req=$(bench_kv requests_total "$line")
	cpu_us=$(bench_us_per $((c1 - c0)) "$req")
	util=$(bench_cpu_pct $((c1 - c0)) "$t0" "$t1")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$kind" \
	    "$(bench_kv rps "$line")" "$(bench_kv mibps "$line")" \
	    "$(bench_kv p50_us "$line")" "$(bench_kv p99_us "$line")" \
	    "$(bench_kv p999_us "$line")" "$cpu_us" "$util" \
	    $(( $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") )) \
	    "$(bench_kv requests "$line")"
	bench_log "$cfg/$kind: $(sed -n '$p' "$tmp/lg.err") cpu_us/req=$cpu_us srv_cpu=$util%"
}

# Idle run: N connections split over `parts` loadgen processes with separate
# source-address ranges; RSS sampled once all are established.
bench_idle() {
	local cfg=$1 kind=$2 total=$3 parts=$4 i per rss0 rss1 est setup held errs pid line
	per=$(( total / parts ))
	rss0=$(bench_rss_kib)
	lg_pids=""
	for i in $(seq 1 "$parts"); do
		: > "$tmp/idle$i.out"
	done
	for i in $(seq 1 "$parts"); do
		taskset -c 1 "$LOADGEN" idle -c "$per" -s 64 -d "$hold" -t 60 \
		    --src-range "127.0.$i.1-127.0.$i.250" 127.0.0.1:"$port" \
		    >"$tmp/idle$i.out" 2>"$tmp/idle$i.err" &
		lg_pids="$lg_pids $!"
	done
	# Every loadgen prints established=... once its setup phase is over.
	for i in $(seq 1 1300); do
		est=$(cat "$tmp"/idle*.out 2>/dev/null | grep -c '^established=')
		[ "$est" -ge "$parts" ] && break
		sleep 0.05
	done
	rss1=$(bench_rss_kib)
	for pid in $lg_pids; do
		wait "$pid"
	done
	lg_pids=""
	est=0; setup=0; held=0; errs=0
	for i in $(seq 1 "$parts"); do
		line=$(grep '^established=' "$tmp/idle$i.out")
		est=$(( est + $(bench_kv established "$line") ))
		setup=$(awk -v a="$setup" -v b="$(bench_kv setup_s "$line")" \
		    'BEGIN { print (b > a ? b : a) }')
		line=$(grep '^mode=' "$tmp/idle$i.out")
		held=$(( held + $(bench_kv verified "$line") ))
		errs=$(( errs + $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") ))
	done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$kind" "$total" \
	    "$est" "$held" "$errs" "$setup" "$rss0" "$rss1"
	bench_log "$cfg/$kind: $total tried, $est established, $held held through" \
	    "the hold, $errs errors, RSS ${rss0} -> ${rss1} KiB"
}

# name  mode  size  conns  title
if [ "$quick" = 1 ]; then
	matrix="pp64x10 pingpong 64 10
pp16kx10 pingpong 16384 10
st64kx10 stream 65536 10
pp64x10bg pingpong 64 10 1000
churn churn 64 10"
	idle_sets="idle1k 1000 1"
else
	matrix="pp64x1 pingpong 64 1
pp64x10 pingpong 64 10
pp64x100 pingpong 64 100
pp64x1000 pingpong 64 1000
pp64x10bg pingpong 64 10 10000
pp1kx100 pingpong 1024 100
pp16kx10 pingpong 16384 10
pp16kx100 pingpong 16384 100
st64kx10 stream 65536 10
churn churn 64 10"
	# Up to the fd limit: leave the servers a few descriptors of their own.
	idle_sets="idle10k 10000 1
idlemax $(( (nofile - 100) / 2 * 2 )) 2"
fi

# --only: keep the named configurations (first column of the matrix).
if [ -n "$only" ]; then
	pat="^($(echo "$only" | tr ',' '|')) "
	matrix=$(echo "$matrix" | grep -E "$pat")
	idle_sets=$(echo "$idle_sets" | grep -E "$pat")
fi

: > "$tmp/traffic.tsv"
: > "$tmp/idle.tsv"
started=$(date +%s)
load_start=$(bench_loadavg)
bench_log "servers: $servers; echod: ${ECHOD:-none}; reps=$reps duration=${duration}s warmup=${warmup}s"

while read -r cfg mode size conns bg; do
	[ -n "$cfg" ] || continue
	for rep in $(seq 1 "$reps"); do
		for kind in $servers; do
			bench_start_server "$kind" || continue
			bench_traffic "$cfg" "$kind" "$mode" "$size" "$conns" "$bg" >> "$tmp/traffic.tsv"
			bench_stop_server
		done
	done
done <<EOF
$matrix
EOF

while read -r cfg total parts; do
	[ -n "$cfg" ] || continue
	for kind in $servers; do
		bench_start_server "$kind" || continue
		bench_idle "$cfg" "$kind" "$total" "$parts" >> "$tmp/idle.tsv"
		bench_stop_server
	done
done <<EOF
$idle_sets
EOF

cg_out=""
if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null; then
	bench_log "callgrind: $servers"
	cg_out=$(LOADGEN=$LOADGEN REF_EPOLL=$REF_EPOLL REF_LIBEVENT=$REF_LIBEVENT \
	    ECHOD=$ECHOD ECHOD_BASE=${ECHOD_BASE:-} "$srcdir/bench/callgrind.sh" $servers 2>"$tmp/cg.err") ||
	    { bench_log "callgrind.sh failed:"; cat "$tmp/cg.err" >&2; }
fi
elapsed=$(( $(date +%s) - started ))
load_end=$(bench_loadavg)

# ------------------------------------------------------------ report
commit=$(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$srcdir" diff --quiet HEAD -- src 2>/dev/null; then
	commit="$commit (src/ has uncommitted changes)"
fi

{
	echo "# echod benchmark results"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(bench_machine), RLIMIT_NOFILE $nofile"
	echo "- Commit: $commit"
	echo "- echod: ${ECHOD:-not measured}"
	[ -z "${ECHOD_BASE:-}" ] || echo "- echod-base: $ECHOD_BASE"
	echo "- libevent: $(pkg-config --modversion libevent 2>/dev/null || echo unknown)"
	echo "- Run: $( [ "$quick" = 1 ] && echo quick || echo full ) matrix, warm-up ${warmup} s," \
	    "measured ${duration} s, median of $reps run(s) per server, ${elapsed} s in all"
	echo "- Servers pinned to CPU 0, load generator to CPU 1; each run starts a fresh server."
	echo "- Load average (1, 5, 15 min) at start: $load_start; at end: $load_end" \
	    "(above about 2 on this machine, other work shared the CPUs and absolute figures are low)"
	echo
	echo "CPU µs/req is server CPU time (utime+stime of all its threads, /proc/PID/stat)"
	echo "over the whole run divided by all requests in it (warm-up included). Srv CPU % near"
	echo "100 means the server was the bottleneck; well below 100 means the load generator was,"
	echo "and then CPU µs/req is the fair comparison. Ratios are against the epoll reference."
	echo
} > "$tmp/report.md"

[ -s "$tmp/traffic.tsv" ] &&
awk -F'\t' -v order="$servers" -v matrix="$matrix" -f "$srcdir/bench/lib.awk" -f /dev/stdin \
    "$tmp/traffic.tsv" \
    >> "$tmp/report.md" <<'AWK'
# The median of vals[key, 1..n].
function median_of(key, n,   i, a) {
	for (i = 1; i <= n; i++)
		a[i] = vals[key, i]
	return median(a, n)
}
function title(mode, size, conns, bg,   s) {
	s = size >= 1024 ? (size / 1024) " KiB" : size " B"
	if (mode == "churn")
		return "churn: connect, one " s " round-trip, close (" conns " at a time)"
	return mode " " s " x " conns " connection" (conns > 1 ? "s" : "") \
	    (bg > 0 ? ", " bg " idle connections held meanwhile" : "")
}
# The issue's targets: CPU/req within 1.1x of the reference (pingpong,
# stream), churn at least 0.8x the reference's connections per second.
function target(mode, rps, cpu) {
	if (mode == "churn")
		return rps == "-" ? "-" : (rps + 0 >= 0.8 ? "met" : "missed") " (req/s >= 0.8x)"
	return cpu == "-" ? "-" : (cpu + 0 <= 1.1 ? "met" : "missed") " (CPU/req <= 1.1x)"
}
# A change's cost: echod's CPU/req at most 2% above the older build's.
function base_cmp(r) {
	return r == "-" ? "-" : r " (" (r + 0 <= 1.02 ? "within" : "above") " 2%)"
}
function ratio(a, b) {
	return (b > 0 && a != "nan") ? sprintf("%.2f", a / b) : "-"
}
{
	key = $1 SUBSEP $2
	n[key]++
	for (f = 3; f <= 11; f++)
		vals[key SUBSEP f, n[key]] = $f
}
END {
	ns = split(order, srv, " ")
	nm = split(matrix, rows, "\n")
	print "## Summary: ratios to the epoll reference"
	print ""
	hdr = "| configuration |"; sep = "|---|"
	for (s = 1; s <= ns; s++) if (srv[s] != "epoll") {
		hdr = hdr " " srv[s] " req/s | " srv[s] " CPU/req |"
		sep = sep "---:|---:|"
	}
	has_echod = (" " order " ") ~ / echod /
	has_base = has_echod && (" " order " ") ~ / echod-base /
	if (has_echod) {
		hdr = hdr " echod target |"
		sep = sep "---|"
	}
	if (has_base) {
		hdr = hdr " echod CPU/req vs echod-base |"
		sep = sep "---|"
	}
	print hdr; print sep
	for (r = 1; r <= nm; r++) {
		split(rows[r], c, " ")
		cfg = c[1]
		for (s = 1; s <= ns; s++) {
			k = cfg SUBSEP srv[s]
			for (f = 3; f <= 11; f++)
				med[srv[s], f] = n[k] ? median_of(k SUBSEP f, n[k]) : ""
		}
		line = "| " title(c[2], c[3], c[4], c[5]) " |"
		for (s = 1; s <= ns; s++) if (srv[s] != "epoll")
			line = line " " ratio(med[srv[s], 3], med["epoll", 3]) " | " \
			    ratio(med[srv[s], 8], med["epoll", 8]) " |"
		if (has_echod)
			line = line " " target(c[2], ratio(med["echod", 3], med["epoll", 3]),
			    ratio(med["echod", 8], med["epoll", 8])) " |"
		if (has_base)
			line = line " " base_cmp(ratio(med["echod", 8], med["echod-base", 8])) " |"
		print line
	}
	print ""
	print "req/s ratio above 1 is faster than the reference; CPU/req ratio below 1 is cheaper."
	print ""
	for (r = 1; r <= nm; r++) {
		split(rows[r], c, " ")
		cfg = c[1]
		print "## " title(c[2], c[3], c[4], c[5])
		print ""
		print "| server | req/s | MiB/s | p50 µs | p99 µs | p99.9 µs | CPU µs/req | srv CPU % | req/s vs epoll | CPU/req vs epoll | errors |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (s = 1; s <= ns; s++) {
			k = cfg SUBSEP srv[s]
			for (f = 3; f <= 11; f++)
				med[srv[s], f] = n[k] ? median_of(k SUBSEP f, n[k]) : ""
		}
		for (s = 1; s <= ns; s++) {
			if (!n[cfg SUBSEP srv[s]]) {
				print "| " srv[s] " | (did not run) |||||||||| "
				continue
			}
			printf "| %s | %.0f | %.1f | %.1f | %.1f | %.1f | %.2f | %.0f | %s | %s | %d |\n",
			    srv[s], med[srv[s], 3], med[srv[s], 4], med[srv[s], 5],
			    med[srv[s], 6], med[srv[s], 7], med[srv[s], 8], med[srv[s], 9],
			    ratio(med[srv[s], 3], med["epoll", 3]),
			    ratio(med[srv[s], 8], med["epoll", 8]), med[srv[s], 10]
		}
		print ""
	}
}
AWK

if [ -s "$tmp/idle.tsv" ]; then
	{
		echo "## Idle connections"
		echo
		echo "Each connection does one 64 B round-trip, is held ${hold} s, then does a second"
		echo "round-trip; *held* counts connections that completed both. RSS is the server's VmRSS"
		echo "before the load generators start and once every connection is established."
		echo
		echo "| run | server | tried | established | held | errors | setup s | RSS before KiB | RSS after KiB | RSS B/conn |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '{
			per = $4 > 0 ? ($9 - $8) * 1024 / $4 : 0
			printf "| %s | %s | %d | %d | %d | %d | %.2f | %d | %d | %.0f |\n",
			    $1, $2, $3, $4, $5, $6, $7, $8, $9, per
		}' "$tmp/idle.tsv"
		echo
		echo "echod targets: at most 1 KiB of RSS per idle connection, and every connection up"
		echo "to the fd limit held with zero errors."
		echo
	} >> "$tmp/report.md"
fi

if [ -n "$cg_out" ]; then
	{
		echo "## Instructions per round-trip (callgrind)"
		echo
		echo "$cg_out"
		echo
	} >> "$tmp/report.md"
fi

cp "$tmp/report.md" "$out"
bench_log "report written to $out"
