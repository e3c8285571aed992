#!/usr/bin/env bash
# udp_bench.sh: UDP echo throughput and server CPU per datagram, echod
# against the epoll + recvmmsg reference (bench/ref_udp.c), in the same run.
#
# Servers: ref (bench/ref_udp.c), echod (udp_reply_rate and _bandwidth set
# far above the load: every datagram goes through the per-source budget
# lookup, none is refused) and echod-nobudget (both rates 0: no per-source
# state). Each server runs pinned to CPU 0 and the load generator
# (bench/udp_load.c, 8 flows from 8 source addresses) to CPU 1, freshly
# started for every run; the servers run interleaved within each
# repetition. Server CPU is utime+stime from /proc/PID/stat around the run.
#
#   window  closed loop, 8 datagrams in flight per flow: datagrams/s
#           without loss, and server CPU per datagram answered;
#   flood   open loop, the client sends as fast as it can: what is lost at
#           saturation, and where (the server socket's receive-queue drops
#           from /proc/net/udp, the client's from SO_MEMINFO).
#
#   --callgrind  also instructions per datagram in the server process
#           (valgrind --tool=callgrind, window mode as above: the difference
#           between a 2,000- and a 12,000-datagram run), a figure the
#           machine's load does not move.
#
# usage: bench/udp_bench.sh [--quick] [--reps N] [--out FILE] [--sizes "64 1400"] [--callgrind]
# environment: ECHOD (a build without sanitizers, ideally without
#   --enable-debug), UDP_LOAD, REF_UDP (compiled into a temporary directory
#   when unset), CC. Loopback only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=udp_bench.sh
. "$srcdir/bench/lib.sh"
quick=0
reps=""
out=""
sizes="64 1400"
callgrind=0

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--callgrind) callgrind=1 ;;
	--reps) reps=$2; shift ;;
	--out) out=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	-h|--help) sed -n '2,29p' "$0"; exit 0 ;;
	*) echo "udp_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || out="$srcdir/bench/udp_results.md"
if [ "$quick" = 1 ]; then
	warmup=0.3; duration=1; reps=${reps:-1}
else
	warmup=0.5; duration=2; reps=${reps:-3}
fi
servers="ref echod echod-nobudget"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-udpbench.XXXXXX")
server_pid=""
ub_cleanup() {
	bench_reap "$server_pid"
	rm -rf "$tmp"
}
trap ub_cleanup EXIT
trap 'exit 130' INT TERM

bench_need taskset awk
if [ -z "${UDP_LOAD:-}" ] || [ -z "${REF_UDP:-}" ]; then
	bench_log "compiling bench programs into $tmp"
	bench_cc "$tmp/udp_load" udp_load || exit 1
	bench_cc "$tmp/ref_udp" ref_udp || exit 1
	UDP_LOAD=${UDP_LOAD:-$tmp/udp_load}
	REF_UDP=${REF_UDP:-$tmp/ref_udp}
fi
bench_find_echod
[ -n "$ECHOD" ] && [ -x "$ECHOD" ] || bench_die "no echod binary: set ECHOD"

# ------------------------------------------------------------ servers

# ub_start KIND [WRAPPER...]: the server, pinned, optionally under a wrapper (valgrind).
ub_start() {
	local kind=$1 rate bw
	shift
	: >"$tmp/srv.out"; : >"$tmp/srv.err"
	case "$kind" in
	ref)
		taskset -c 0 "$@" "$REF_UDP" 0 >"$tmp/srv.out" 2>"$tmp/srv.err" &
		server_pid=$!
		port=$(bench_wait_match "$tmp/srv.out" '^port=\([0-9]*\).*' "$server_pid" 300) ;;
	echod|echod-nobudget)
		rate=2000000000/s; bw=1G/s
		[ "$kind" = echod-nobudget ] && { rate=0; bw=0; }
		cat >"$tmp/echod.ini" <<-EOF
		[log]
		level = warning
		level.server = info
		[listener echo]
		bind = udp:127.0.0.1:0
		service = echo
		udp_reply_rate = $rate
		udp_reply_bandwidth = $bw
		EOF
		taskset -c 0 "$@" "$ECHOD" -f -c "$tmp/echod.ini" >"$tmp/srv.out" 2>"$tmp/srv.err" &
		server_pid=$!
		port=$(bench_wait_match "$tmp/srv.err" \
		    '.*listening listener=echo service=echo addr=udp:127\.0\.0\.1:\([0-9]*\).*' \
		    "$server_pid" 300) ;;
	esac
	if [ -z "$port" ]; then
		bench_log "$kind did not start: $(cat "$tmp/srv.err")"
		ub_stop
		return 1
	fi
}

ub_stop() {
	# A server under valgrind writes its profile on SIGTERM: time for that.
	bench_stop "$server_pid" TERM 600
	server_pid=""
}

# Instructions the server ran for COUNT datagrams of SIZE (callgrind's total).
ub_cg_ir() {
	local kind=$1 size=$2 count=$3 ir
	rm -f "$tmp/cg.out"
	ub_start "$kind" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" || return 1
	taskset -c 1 "$UDP_LOAD" -m window -s "$size" -f 8 -w 8 -d 120 -W 0 -n "$count" \
	    "127.0.0.1:$port" >"$tmp/cg.load" 2>&1
	ub_stop
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.out" 2>/dev/null)
	[ -n "$ir" ] || { bench_log "callgrind $kind: no total: $(cat "$tmp/srv.err" | tail -n 3)"; return 1; }
	grep -q ' lost=0 bad=0 ' "$tmp/cg.load" || bench_log "callgrind $kind $size: $(cat "$tmp/cg.load")"
	echo "$ir"
}

# Receive-queue drops of the server's socket (the last field of /proc/net/udp).
ub_sock_drops() {
	local hex
	hex=$(printf '0100007F:%04X' "$port")
	awk -v a="$hex" '$2 == a { print $NF; found = 1 } END { if (!found) print 0 }' /proc/net/udp
}

# One run: a TSV row  size mode server rate cpu_ns_per_dgram sent received
# server_drops client_drops lost
ub_run() {
	local size=$1 mode=$2 kind=$3 c0 c1 d0 d1 line n cpu
	ub_start "$kind" || return 1
	c0=$(bench_cpu_ticks "$server_pid")
	d0=$(ub_sock_drops)
	line=$(taskset -c 1 "$UDP_LOAD" -m "$mode" -s "$size" -f 8 -w 8 -d "$duration" \
	    -W "$warmup" "127.0.0.1:$port" 2>"$tmp/lg.err")
	c1=$(bench_cpu_ticks "$server_pid")
	d1=$(ub_sock_drops)
	ub_stop
	if [ -z "$line" ]; then
		bench_log "$size/$mode/$kind: udp_load failed: $(cat "$tmp/lg.err")"
		return 1
	fi
	[ "$(bench_kv bad "$line")" = 0 ] || bench_log "$size/$mode/$kind: WRONG REPLIES: $line"
	n=$(bench_kv received_total "$line")
	cpu=$(awk -v d=$((c1 - c0)) -v hz="$BENCH_HZ" -v n="$n" \
	    'BEGIN { if (n > 0) printf "%.0f", d * 1e9 / hz / n; else print "nan" }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$mode" "$kind" \
	    "$(bench_kv rate "$line")" "$cpu" "$(bench_kv sent "$line")" \
	    "$(bench_kv received "$line")" $((d1 - d0)) "$(bench_kv client_drops "$line")" \
	    "$(bench_kv lost "$line")"
	bench_log "$size/$mode/$kind: rate=$(bench_kv rate "$line")/s cpu=${cpu}ns/datagram" \
	    "server_drops=$((d1 - d0)) $line"
}

load_before=$(bench_loadavg)
: >"$tmp/results.tsv"
for size in $sizes; do
	for mode in window flood; do
		for rep in $(seq 1 "$reps"); do
			for kind in $servers; do
				ub_run "$size" "$mode" "$kind" >>"$tmp/results.tsv" || exit 1
				sleep 0.2
			done
		done
	done
done

: >"$tmp/cg.tsv"
if [ "$callgrind" = 1 ]; then
	command -v valgrind >/dev/null || { bench_log "valgrind not found"; exit 1; }
	for size in $sizes; do
		for kind in $servers; do
			a=$(ub_cg_ir "$kind" "$size" 2000) || exit 1
			b=$(ub_cg_ir "$kind" "$size" 12000) || exit 1
			printf '%s\t%s\t%s\n' "$size" "$kind" $(( (b - a) / 10000 )) >>"$tmp/cg.tsv"
			bench_log "callgrind $size/$kind: $(( (b - a) / 10000 )) instructions/datagram"
		done
	done
fi

load_after=$(bench_loadavg)

# ------------------------------------------------------------ report
col() {	# size mode kind column
	awk -F'\t' -v s="$1" -v m="$2" -v k="$3" -v c="$4" '$1 == s && $2 == m && $3 == k { print $c }' \
	    "$tmp/results.tsv"
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}

{
	echo "# UDP echo: echod vs the epoll + recvmmsg reference"
	echo
	echo "Generated by \`bench/udp_bench.sh$( [ "$quick" = 1 ] && echo ' --quick')\` on $(date -u +%Y-%m-%d)," \
	    "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)."
	echo "Server pinned to CPU 0, load generator to CPU 1; $reps repetitions of ${duration} s" \
	    "(after ${warmup} s of warm-up), servers interleaved, medians shown."
	echo "echod: \`$ECHOD\`. Load average (1, 5, 15 min) before: $load_before, after: $load_after."
	echo
	echo "How to read it: CPU per datagram is the server's utime+stime over the run divided by the"
	echo "datagrams it answered; on loopback nearly all of it is the kernel's (two system calls per"
	echo "batch, the UDP send and receive paths), the same for both servers, so the ratio to the"
	echo "reference is the figure to watch (target: at most 1.1x). With other processes on the"
	echo "machine the absolute numbers and the rates move from run to run; the callgrind table does"
	echo "not: it counts the instructions each server runs in user space per datagram, the part"
	echo "that is echod's own (the reference runs the bare loop; echod adds libevent, the checks,"
	echo "the service call, the counters and, with a budget, the source lookup and token buckets)."
	echo "In flood mode the client outruns the server: what is lost is lost in the server socket's"
	echo "receive queue (the kernel's drop counter, which echod reports as"
	echo "\`udp_datagrams_dropped_total{reason=\"receive_queue\"}\`), none in echod's own send queue."
	echo
	echo "## Closed loop (window: 8 flows x 8 in flight)"
	echo
	echo "| size | server | datagrams/s | server CPU ns/datagram | CPU vs ref |"
	echo "|---|---|---|---|---|"
	for size in $sizes; do
		refcpu=$(col "$size" window ref 5 | bench_median %.0f)
		for kind in $servers; do
			cpu=$(col "$size" window "$kind" 5 | bench_median %.0f)
			echo "| $size B | $kind | $(col "$size" window "$kind" 4 | bench_median %.0f) | $cpu |" \
			    "$(ratio "$cpu" "$refcpu")x |"
		done
	done
	echo
	echo "## Saturation (flood: the client sends as fast as it can)"
	echo
	echo "| size | server | sent/s | answered/s | server CPU ns/datagram | lost | server receive-queue drops | client drops |"
	echo "|---|---|---|---|---|---|---|---|"
	for size in $sizes; do
		for kind in $servers; do
			s=$(col "$size" flood "$kind" 6 | bench_median %.0f)
			r=$(col "$size" flood "$kind" 7 | bench_median %.0f)
			echo "| $size B | $kind | $(awk -v s="$s" -v d="$duration" 'BEGIN { printf "%.0f", s / d }') |" \
			    "$(col "$size" flood "$kind" 4 | bench_median %.0f) | $(col "$size" flood "$kind" 5 | bench_median %.0f) |" \
			    "$(awk -v s="$s" -v r="$r" 'BEGIN { if (s > 0) printf "%.1f%%", 100 * (s - r) / s; else print "nan" }') |" \
			    "$(col "$size" flood "$kind" 8 | bench_median %.0f) | $(col "$size" flood "$kind" 9 | bench_median %.0f) |"
		done
	done
	echo
	if [ -s "$tmp/cg.tsv" ]; then
		echo "## Instructions per datagram in the server (callgrind, user space)"
		echo
		echo "| size | server | instructions/datagram | more than ref |"
		echo "|---|---|---|---|"
		for size in $sizes; do
			refir=$(awk -F'\t' -v s="$size" '$1 == s && $2 == "ref" { print $3 }' "$tmp/cg.tsv")
			for kind in $servers; do
				ir=$(awk -F'\t' -v s="$size" -v k="$kind" '$1 == s && $2 == k { print $3 }' \
				    "$tmp/cg.tsv")
				echo "| $size B | $kind | $ir | $((ir - refir)) |"
			done
		done
		echo
	fi
	echo "## Every run"
	echo
	echo "| size | mode | server | rate/s | CPU ns/datagram | sent | received | server drops | client drops | lost |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' \
	    "$tmp/results.tsv"
} >"$out"
bench_log "report: $out"
