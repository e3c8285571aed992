#!/bin/bash
# debug_bench.sh: what debug mode, the loop-lag monitor and metrics scraping
# cost. Echo throughput (loadgen pingpong) against four daemons, interleaved
# round by round in the same run so that machine noise hits all alike:
#
#   baseline  echod built with -DECHOD_NO_DEBUG_HOOKS: every debug hook
#             compiled out and no loop-lag timer (the "build without the
#             instrumentation")
#   off       the normal build, debug mode off (lag monitor on)
#   on        the normal build, debug mode on (-d): every callback timed
#   scrape    the normal build, debug mode off, GET /metrics every 100 ms
#
# Reports the median requests/s and server CPU microseconds per request of
# each, and the ratios off/baseline, on/off, scrape/off. Goals (issue 5):
# off >= 0.98x baseline, on >= 0.85x.
#
# With --instructions the same cases run under valgrind's callgrind instead:
# instructions (Ir, all threads of the server) per round trip, from the
# difference of a short and a long run (start-up and exit cancel out), and
# the instructions of one scrape. Deterministic, so it holds on a busy
# machine where req/s does not.
#
# usage: bench/debug_bench.sh [--quick] [--rounds N] [--duration S] [--conns N]
#            [--size N] [--instructions] [--out FILE]
# env:   ECHOD (default ./src/echod), ECHOD_BASELINE (default: built here from
#        the source tree into a temporary directory), LOADGEN (default: built
#        here from bench/loadgen.c), top_srcdir.
# Needs: cc, curl >= 7.84 (--rate), taskset (util-linux) if available.
# Traffic goes to 127.0.0.1 only; every run is bounded by --duration.
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
BENCH_NAME=debug_bench
. "$srcdir/bench/lib.sh"
ECHOD=${ECHOD:-./src/echod}
rounds=3
duration=5
warmup=1
conns=16
size=64
out=
instructions=0

while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1; duration=2 ;;
	--rounds) rounds=$2; shift ;;
	--duration) duration=$2; shift ;;
	--conns) conns=$2; shift ;;
	--size) size=$2; shift ;;
	--out) out=$2; shift ;;
	--instructions) instructions=1 ;;
	-h|--help) sed -n '2,31p' "$0"; exit 0 ;;
	*) echo "debug_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-debug-bench.XXXXXX") || exit 1
server_pid=
scraper_pid=

bench_cleanup()
{
	bench_reap "$scraper_pid" "$server_pid"
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$ECHOD" ] || bench_die "no daemon at $ECHOD (set ECHOD)"
ECHOD=$(cd "$(dirname "$ECHOD")" && pwd)/$(basename "$ECHOD")
pin_server=
pin_client=
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin_server="taskset -c 0"
	pin_client="taskset -c 1"
fi

if [ -z "${LOADGEN:-}" ]; then
	bench_log "compiling loadgen"
	bench_cc "$tmp/loadgen" loadgen || bench_die "cannot build loadgen"
	LOADGEN=$tmp/loadgen
fi

# The baseline: the same sources, configured apart, hooks compiled out.
if [ -z "${ECHOD_BASELINE:-}" ]; then
	bench_log "building the baseline (-DECHOD_NO_DEBUG_HOOKS) in $tmp/base"
	[ -x "$srcdir/configure" ] || bench_die "run autoreconf -fi in $srcdir first"
	mkdir -p "$tmp/base"
	(cd "$tmp/base" && "$srcdir/configure" CFLAGS="-O2 -g -DECHOD_NO_DEBUG_HOOKS" \
	    >configure.log 2>&1 && make -j2 src/echod >make.log 2>&1) ||
	    bench_die "baseline build failed (see a kept copy with TMPDIR)"
	ECHOD_BASELINE=$tmp/base/src/echod
fi

# write_ini FILE METRICS_BIND
write_ini()
{
	cat >"$1" <<INI
[server]
shutdown_timeout = 2s

[log]
level = warning

[metrics]
bind = $2

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}
write_ini "$tmp/plain.ini" ""
write_ini "$tmp/metrics.ini" 127.0.0.1:0

# start BINARY INI [ARGS]: sets server_pid, port, mport.
start()
{
	local bin=$1 ini=$2

	shift 2
	: >"$tmp/server.log"
	$pin_server "$bin" -f -c "$ini" -l info "$@" </dev/null >/dev/null 2>"$tmp/server.log" &
	server_pid=$!
	started 200
}

# started TRIES: wait (TRIES x 50 ms) until the daemon just started is ready;
# sets port (echo listener) and mport (metrics, if any) from its log.
started()
{
	bench_echod_ready "$tmp/server.log" "$server_pid" "$1" ||
	    bench_die "daemon not ready: $(tail -n 5 "$tmp/server.log")"
	port=$(bench_echod_port "$tmp/server.log" echo "$server_pid" 1)
	mport=$(sed -n 's/.*metrics listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$tmp/server.log" | head -n 1)
}

# stop [TRIES]: SIGTERM, then SIGKILL after TRIES x 50 ms (default 5 s).
stop()
{
	bench_stop "$server_pid" TERM "${1:-100}"
	server_pid=
}

# Scrape every 100 ms for as long as the run: one curl process, one
# keep-alive connection, paced with --rate; one status line per scrape.
scraper()
{
	local n=$(( (duration + warmup) * 10 ))

	exec $pin_client curl -s -o /dev/null -w '%{http_code}\n' --rate 10/s --max-time $((n / 10 + 5)) \
	    "http://127.0.0.1:$mport/metrics?n=[1-$n]" >"$tmp/scrapes"
}

# run NAME: one measurement against the started daemon; appends to results.
run()
{
	local name=$1 c0 c1 line rps req cpu

	if [ "$name" = scrape ]; then
		scraper &
		scraper_pid=$!
	fi
	c0=$(bench_cpu_ticks "$server_pid")
	$pin_client "$LOADGEN" pingpong -c "$conns" -s "$size" -d "$duration" -w "$warmup" \
	    "127.0.0.1:$port" >"$tmp/lg.out" 2>"$tmp/lg.err"
	c1=$(bench_cpu_ticks "$server_pid")
	if [ -n "$scraper_pid" ]; then
		# ends by itself (n scrapes, --max-time); its output is complete then
		wait "$scraper_pid" 2>/dev/null
		scraper_pid=
	fi
	line=$(grep '^mode=' "$tmp/lg.out") || bench_die "$name: loadgen failed: $(cat "$tmp/lg.err")"
	rps=$(bench_kv rps "$line")
	req=$(bench_kv requests_total "$line")
	cpu=$(bench_us_per $((c1 - c0)) "$req")
	printf '%s %s %s\n' "$name" "$rps" "$cpu" >>"$tmp/results"
	bench_log "$name: rps=$rps cpu_us_per_req=$cpu$([ "$name" = scrape ] &&
	    echo " scrapes=$(grep -c '^200$' "$tmp/scrapes")")"
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'
}

# ---------------------------------------------------------------- instructions

# cg_run BINARY INI ROUNDTRIPS SCRAPES [ARGS]: one server under callgrind;
# its instruction total goes to cg_ir.
cg_run()
{
	local bin=$1 ini=$2 n=$3 k=$4 file

	shift 4
	file=$tmp/cg.$$.$RANDOM
	: >"$tmp/server.log"
	valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" -f -c "$ini" -l info "$@" \
	    </dev/null >/dev/null 2>"$tmp/server.log" &
	server_pid=$!
	started 1200
	if [ "$n" -gt 0 ]; then
		"$LOADGEN" pingpong -c 1 -s 64 -w 0 -d 120 -n "$n" "127.0.0.1:$port" \
		    >"$tmp/lg.out" 2>"$tmp/lg.err" || bench_die "loadgen under valgrind: $(cat "$tmp/lg.err")"
	fi
	if [ "$k" -gt 0 ]; then
		curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$mport/metrics?n=[1-$k]" ||
		    bench_die "scrapes under valgrind failed"
	fi
	# callgrind writes its totals at the exit: give it time.
	stop 1200
	cg_ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
	[ -n "$cg_ir" ] || bench_die "no callgrind totals in $file"
}

if [ "$instructions" -eq 1 ]; then
	bench_need valgrind
	short=2000
	long=12000
	[ "$rounds" -eq 1 ] && [ "$duration" -le 2 ] && { short=1000; long=5000; }
	{
		echo "# debug mode and metrics cost in instructions ($(date -u +%Y-%m-%dT%H:%MZ))"
		echo
		echo "callgrind, pingpong 64 B x 1 connection; Ir per round trip ="
		echo "(Ir($long round trips) - Ir($short)) / $((long - short)), all threads of the server."
		echo
		echo "| case | Ir per round trip | baseline / case |"
		echo "|---|---:|---:|"
	} >"$tmp/report"
	for c in baseline off on; do
		case $c in
		baseline) bin=$ECHOD_BASELINE; set -- ;;
		off) bin=$ECHOD; set -- ;;
		on) bin=$ECHOD; set -- -d ;;
		esac
		bench_log "instructions: $c"
		cg_run "$bin" "$tmp/plain.ini" "$short" 0 "$@"
		a=$cg_ir
		cg_run "$bin" "$tmp/plain.ini" "$long" 0 "$@"
		b=$cg_ir
		per=$(awk -v a="$a" -v b="$b" -v d=$((long - short)) 'BEGIN { printf "%.0f", (b - a) / d }')
		eval "ir_$c=$per"
		echo "| $c | $per | $(ratio "$ir_baseline" "$per") |" >>"$tmp/report"
	done
	bench_log "instructions: one scrape"
	cg_run "$ECHOD" "$tmp/metrics.ini" 0 10
	a=$cg_ir
	cg_run "$ECHOD" "$tmp/metrics.ini" 0 60
	b=$cg_ir
	per=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 50 }')
	{
		echo
		echo "One GET /metrics: $per Ir; scraped every 100 ms that is $((per * 10)) Ir/s," \
		    "or $(awk -v s="$per" -v r="$ir_off" 'BEGIN { printf "%.1f", s * 10 / r }')" \
		    "round trips' worth per second."
	} >>"$tmp/report"
	if [ -n "$out" ]; then
		tee "$out" <"$tmp/report"
	else
		cat "$tmp/report"
	fi
	exit 0
fi

# ---------------------------------------------------------------- throughput

: >"$tmp/results"
cases="baseline off on scrape"
r=1
while [ $r -le "$rounds" ]; do
	bench_log "round $r of $rounds"
	for c in $cases; do
		case $c in
		baseline) start "$ECHOD_BASELINE" "$tmp/plain.ini" ;;
		off) start "$ECHOD" "$tmp/plain.ini" ;;
		on) start "$ECHOD" "$tmp/plain.ini" -d ;;
		scrape) start "$ECHOD" "$tmp/metrics.ini" ;;
		esac
		run "$c"
		if grep -q 'slow callback' "$tmp/server.log"; then
			bench_log "$c: $(grep -c 'slow callback' "$tmp/server.log") slow callback(s)," \
			    "first: $(grep -m 1 'slow callback' "$tmp/server.log")"
		fi
		stop
	done
	r=$((r + 1))
done

# median NAME COLUMN
median()
{
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$tmp/results" | bench_median %.3f
}


report()
{
	local c

	echo "# debug mode and metrics cost ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "pingpong, $conns connections x $size B, $rounds round(s) of ${duration}s" \
	    "(+${warmup}s warm-up), medians; cpu = server CPU microseconds per request."
	echo
	echo "| case | req/s | cpu us/req |"
	echo "|---|---|---|"
	for c in $cases; do
		echo "| $c | $(median "$c" 2) | $(median "$c" 3) |"
	done
	echo
	echo "Ratios: req/s, and requests per server CPU second (less sensitive to other"
	echo "load on the machine)."
	echo
	echo "| ratio | req/s | per CPU second | goal |"
	echo "|---|---|---|---|"
	row "off / baseline" off baseline ">= 0.98"
	row "on / baseline" on baseline ">= 0.85"
	row "on / off" on off ""
	row "scrape / off" scrape off ""
}

# row LABEL A B GOAL: A's throughput relative to B's.
row()
{
	echo "| $1 | $(ratio "$(median "$2" 2)" "$(median "$3" 2)") |" \
	    "$(ratio "$(median "$3" 3)" "$(median "$2" 3)") | $4 |"
}

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi
