#!/bin/bash
# misbehave_bench.sh: what misbehaving on purpose costs, and how precise a
# delay is. Four measurements, the daemons interleaved round by round in the
# same run so that machine noise hits all alike:
#
#   off       echo with nothing set, this build against the commit before
#             (ECHOD_BASE): server CPU microseconds per request, loadgen
#             pingpong 64 B x 16 connections. Goal: at most 1.01x.
#   instr     the same in instructions per round trip (callgrind, 1
#             connection; the difference of a short and a long run), plus
#             this build with delay = 1ms: deterministic, so it holds on a
#             busy machine where CPU time does not (with --instructions).
#   precision delay = 50ms at 1000 connections (pingpong): p50 and p99 of
#             the round trip minus 50 ms, i.e. the error of the added
#             latency plus the round trip itself (about 0.03 ms on an idle
#             loopback). loadgen's histogram resolves about 1.6 %, 0.8 ms at
#             50 ms. Goal: p99 error under 2 ms on an idle machine.
#             The same delay set at run time through the admin console
#             (coarse: the loop keeps the timers it started with, the kernel
#             tick) against set in the file (precise: a timerfd), at 1000
#             and at 100 connections.
#   on/off    server CPU per request at 1000 connections, delay = 50ms
#             against nothing set (same build).
#
# usage: bench/misbehave_bench.sh [--quick] [--rounds N] [--duration S]
#            [--instructions] [--out FILE]
# env:   ECHOD (default: the first build without sanitizers of
#        build-bench/src/echod, build*/src/echod, src/echod), ECHOD_BASE
#        (default: built here from BASE_REV, the merge base with main, with
#        git archive into a temporary directory), LOADGEN (default: built
#        here), top_srcdir.
# Needs: cc, git, nc (OpenBSD, -U), autoconf/automake (for the base build), taskset if
# available, valgrind for --instructions. Loopback only; every run bounded.
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
BENCH_NAME=misbehave_bench
. "$srcdir/bench/lib.sh"
rounds=5
duration=3
warmup=1
out=
instructions=0

while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=2; duration=2 ;;
	--rounds) rounds=$2; shift ;;
	--duration) duration=$2; shift ;;
	--out) out=$2; shift ;;
	--instructions) instructions=1 ;;
	-h|--help) sed -n '2,33p' "$0"; exit 0 ;;
	*) echo "misbehave_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-misbehave-bench.XXXXXX") || exit 1
server_pid=

misbehave_cleanup()
{
	bench_reap "$server_pid"
	rm -rf "$tmp"
}
trap misbehave_cleanup EXIT
trap 'exit 130' INT TERM

bench_need nc
bench_find_echod
[ -n "$ECHOD" ] && [ -x "$ECHOD" ] || bench_die "no daemon (set ECHOD)"
ECHOD=$(cd "$(dirname "$ECHOD")" && pwd)/$(basename "$ECHOD")
bench_is_plain "$ECHOD" || bench_die "$ECHOD is a sanitizer build: it would measure the sanitizer"
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

# The commit before: the same configure flags as a plain build, in a temporary tree.
if [ -z "${ECHOD_BASE:-}" ]; then
	BASE_REV=${BASE_REV:-$(git -C "$srcdir" merge-base HEAD main 2>/dev/null)}
	[ -n "$BASE_REV" ] || bench_die "no base revision (set BASE_REV or ECHOD_BASE)"
	bench_log "building the base $(git -C "$srcdir" rev-parse --short "$BASE_REV") in $tmp/base"
	mkdir -p "$tmp/base"
	(git -C "$srcdir" archive "$BASE_REV" | tar -x -C "$tmp/base" &&
	    cd "$tmp/base" && autoreconf -fi >autoreconf.log 2>&1 &&
	    ./configure >configure.log 2>&1 && make -j2 src/echod >make.log 2>&1) ||
	    bench_die "base build failed"
	ECHOD_BASE=$tmp/base/src/echod
fi

# write_ini FILE [KEY = VALUE...]: one echo listener.
write_ini()
{
	local f=$1

	shift
	{
		printf '[server]\nmax_connections = 5000\nshutdown_timeout = 2s\n'
		printf '[log]\nlevel = warning\nlevel.server = info\n'
		printf '[listener admin]\nbind = unix:%s/admin.sock\nservice = admin\n' "$tmp"
		printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\nidle_timeout = 0\n'
		for kv in "$@"; do
			printf '%s\n' "$kv"
		done
	} >"$f"
}
write_ini "$tmp/off.ini"
write_ini "$tmp/on.ini" 'delay = 50ms'
write_ini "$tmp/on1.ini" 'delay = 1ms'
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# start BINARY INI: the daemon, pinned; sets server_pid and port.
start()
{
	local bin=$1 ini=$2

	: >"$tmp/server.log"
	rm -f "$tmp/admin.sock"
	$pin_server "$bin" -f -c "$ini" </dev/null >/dev/null 2>"$tmp/server.log" &
	server_pid=$!
	started 200
}

# started TRIES: wait (TRIES x 50 ms) until the daemon just started is ready;
# sets port (the echo listener's) from its log.
started()
{
	bench_echod_ready "$tmp/server.log" "$server_pid" "$1" ||
	    bench_die "daemon not ready: $(tail -n 5 "$tmp/server.log")"
	port=$(bench_echod_port "$tmp/server.log" echo "$server_pid" 1)
}

# coarse: the delay set through the admin console after start-up
coarse()
{
	printf 'MISBEHAVE echo delay 50ms\n' | nc -N -U "$tmp/admin.sock" | grep -q '^+OK' ||
	    bench_die "MISBEHAVE failed"
	grep -q 'timers=precise' "$tmp/server.log" && bench_die "precise timers without a delay in the file"
}

# stop [TRIES]: SIGTERM, then SIGKILL after TRIES x 50 ms (default 5 s).
stop()
{
	bench_stop "$server_pid" TERM "${1:-100}"
	server_pid=
}

# run NAME CONNS: one pingpong against the started daemon; appends
# "NAME rps cpu_us_per_req p50_us p99_us" to results.
run()
{
	local name=$1 conns=$2 c0 c1 line rps req cpu p50 p99

	c0=$(bench_cpu_ticks "$server_pid")
	$pin_client "$LOADGEN" pingpong -c "$conns" -s 64 -d "$duration" -w "$warmup" \
	    "127.0.0.1:$port" >"$tmp/lg.out" 2>"$tmp/lg.err"
	c1=$(bench_cpu_ticks "$server_pid")
	line=$(grep '^mode=' "$tmp/lg.out") || bench_die "$name: loadgen failed: $(cat "$tmp/lg.err")"
	rps=$(bench_kv rps "$line")
	req=$(bench_kv requests_total "$line")
	p50=$(bench_kv p50_us "$line")
	p99=$(bench_kv p99_us "$line")
	cpu=$(bench_us_per $((c1 - c0)) "$req")
	printf '%s %s %s %s %s\n' "$name" "$rps" "$cpu" "$p50" "$p99" >>"$tmp/results"
	bench_log "$name: rps=$rps cpu_us_per_req=$cpu p50_us=$p50 p99_us=$p99" \
	    "errors=$(bench_kv errors "$line")"
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'
}

# median NAME COLUMN
median()
{
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$tmp/results" | bench_median %.3f
}

# all NAME COLUMN: every round's value, for the report
all()
{
	awk -v n="$1" -v c="$2" '$1 == n { printf "%s%s", s, $c; s = ", " }' "$tmp/results"
}

# ---------------------------------------------------------------- instructions

# cg_run BINARY INI ROUNDTRIPS: one server under callgrind; its Ir total in cg_ir.
cg_run()
{
	local bin=$1 ini=$2 n=$3 file=$tmp/cg.out

	rm -f "$file"
	: >"$tmp/server.log"
	valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" -f -c "$ini" \
	    </dev/null >/dev/null 2>"$tmp/server.log" &
	server_pid=$!
	started 1200
	"$LOADGEN" pingpong -c 1 -s 64 -w 0 -d 300 -n "$n" "127.0.0.1:$port" \
	    >"$tmp/lg.out" 2>"$tmp/lg.err" || bench_die "loadgen under valgrind: $(cat "$tmp/lg.err")"
	# callgrind writes its totals at the exit: give it time.
	stop 1200
	cg_ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
	[ -n "$cg_ir" ] || bench_die "no callgrind totals"
}

if [ "$instructions" -eq 1 ]; then
	bench_need valgrind
	short=1000
	long=6000
	{
		echo "callgrind, pingpong 64 B x 1 connection; Ir per round trip ="
		echo "(Ir($long round trips) - Ir($short)) / $((long - short)), all threads of the server."
		echo
		echo "| case | Ir per round trip | case / base |"
		echo "|---|---:|---:|"
	} >"$tmp/report"
	for c in base off delay1ms; do
		case $c in
		base) bin=$ECHOD_BASE ini=$tmp/off.ini ;;
		off) bin=$ECHOD ini=$tmp/off.ini ;;
		delay1ms) bin=$ECHOD ini=$tmp/on1.ini ;;
		esac
		bench_log "instructions: $c"
		cg_run "$bin" "$ini" "$short"
		a=$cg_ir
		cg_run "$bin" "$ini" "$long"
		b=$cg_ir
		per=$(awk -v a="$a" -v b="$b" -v d=$((long - short)) 'BEGIN { printf "%.0f", (b - a) / d }')
		eval "ir_$c=$per"
		echo "| $c | $per | $(ratio "$per" "$ir_base") |" >>"$tmp/report"
	done
	if [ -n "$out" ]; then
		tee "$out" <"$tmp/report"
	else
		cat "$tmp/report"
	fi
	exit 0
fi

# ---------------------------------------------------------------- time

: >"$tmp/results"
load_start=$(bench_loadavg)
r=1
while [ $r -le "$rounds" ]; do
	bench_log "round $r of $rounds"
	start "$ECHOD_BASE" "$tmp/off.ini"; run base16 16; stop
	start "$ECHOD" "$tmp/off.ini"; run off16 16; stop
	start "$ECHOD" "$tmp/off.ini"; run off1000 1000; stop
	start "$ECHOD" "$tmp/on.ini"; run on1000 1000; stop
	start "$ECHOD" "$tmp/off.ini"; coarse; run coarse1000 1000; stop
	start "$ECHOD" "$tmp/on.ini"; run on100 100; stop
	start "$ECHOD" "$tmp/off.ini"; coarse; run coarse100 100; stop
	r=$((r + 1))
done
load_end=$(bench_loadavg)

report()
{
	local c

	echo "pingpong 64 B, $rounds round(s) of ${duration} s (+${warmup} s warm-up), medians;"
	echo "cpu = server CPU microseconds per request; load average (1, 5, 15 min)"
	echo "$load_start at the start, $load_end at the end ($(nproc) CPUs)."
	echo
	echo "| case | req/s | cpu us/req | p50 us | p99 us |"
	echo "|---|---:|---:|---:|---:|"
	for c in base16 off16 off1000 on1000 coarse1000 on100 coarse100; do
		echo "| $c | $(median "$c" 2) | $(median "$c" 3) | $(median "$c" 4) | $(median "$c" 5) |"
	done
	echo
	echo "- off, CPU per request, this build / the commit before (16 connections):" \
	    "$(ratio "$(median off16 3)" "$(median base16 3)") (goal <= 1.01);" \
	    "rounds: base $(all base16 3); off $(all off16 3)"
	echo "- delay = 50ms at 1000 connections, error of the added latency (round trip - 50 ms):" \
	    "p50 $(awk -v v="$(median on1000 4)" 'BEGIN { printf "%.2f", v / 1000 - 50 }') ms," \
	    "p99 $(awk -v v="$(median on1000 5)" 'BEGIN { printf "%.2f", v / 1000 - 50 }') ms" \
	    "(goal p99 < 2 ms on an idle machine); rounds p50 $(all on1000 4), p99 $(all on1000 5) us"
	for c in coarse1000 on100 coarse100; do
		echo "- $c: error p50 $(awk -v v="$(median $c 4)" 'BEGIN { printf "%.2f", v / 1000 - 50 }') ms," \
		    "p99 $(awk -v v="$(median $c 5)" 'BEGIN { printf "%.2f", v / 1000 - 50 }') ms;" \
		    "rounds p50 $(all $c 4), p99 $(all $c 5) us"
	done
	echo "- CPU per request at 1000 connections, delay on / off:" \
	    "$(ratio "$(median on1000 3)" "$(median off1000 3)")"
}

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi
