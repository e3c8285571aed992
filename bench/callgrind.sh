#!/usr/bin/env bash
# callgrind.sh: instructions per round-trip in the server process, a
# deterministic figure for catching regressions.
#
# Each server runs under `valgrind --tool=callgrind` twice: once for a short
# and once for a long loadgen pingpong 64 B x 1 connection workload (--requests).
# The difference of the two instruction totals divided by the difference in
# round-trips cancels start-up and shutdown, leaving the cost of one
# round-trip (all threads of the process). Prints a Markdown table on stdout.
#
# usage: bench/callgrind.sh [SERVER...]   (default: epoll libevent echod)
#   SERVER: epoll, libevent, echod, or echod-base (the binary in ECHOD_BASE, an
#   older build to compare with: the same workload and configuration)
# environment: ECHOD, ECHOD_BASE, LOADGEN, REF_EPOLL, REF_LIBEVENT (compiled when unset),
#   CG_SHORT, CG_LONG (round-trips, default 2000 and 12000).

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=callgrind.sh
. "$srcdir/bench/lib.sh"
short=${CG_SHORT:-2000}
long=${CG_LONG:-12000}
servers=${*:-epoll libevent echod}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-callgrind.XXXXXX")
server_pid=""
cg_ir=""

cg_cleanup() {
	cg_stop KILL
	rm -rf "$tmp"
}
trap cg_cleanup EXIT
trap 'exit 130' INT TERM

bench_need valgrind

if [ -z "${LOADGEN:-}" ] || [ -z "${REF_EPOLL:-}" ] || [ -z "${REF_LIBEVENT:-}" ]; then
	bench_cc "$tmp/loadgen" loadgen || exit 1
	bench_cc "$tmp/ref_epoll" ref_epoll || exit 1
	# shellcheck disable=SC2046
	bench_cc "$tmp/ref_libevent" ref_libevent $(pkg-config --cflags --libs libevent) || exit 1
	LOADGEN=${LOADGEN:-$tmp/loadgen}
	REF_EPOLL=${REF_EPOLL:-$tmp/ref_epoll}
	REF_LIBEVENT=${REF_LIBEVENT:-$tmp/ref_libevent}
fi
bench_find_echod
bench_echo_ini "$tmp/echod.ini"

# cg_stop SIGNAL: stop the server (valgrind may take a while: 10 s).
cg_stop() {
	bench_stop "$server_pid" "$1" 200
	server_pid=""
}

# Run one server under callgrind for n round-trips; its instruction total
# goes to cg_ir. Runs in this shell (not a subshell) so the EXIT trap always
# knows the server's PID.
cg_measure() {
	local kind=$1 n=$2 port="" file="$tmp/out.$1.$2" log re
	case "$kind" in
	epoll) set -- "$REF_EPOLL" 0; log="$tmp/srv.out"; re='^port=\([0-9]*\).*' ;;
	libevent) set -- "$REF_LIBEVENT" 0; log="$tmp/srv.out"; re='^port=\([0-9]*\).*' ;;
	echod|echod-base)
		if [ "$kind" = echod ]; then set -- "$ECHOD"; else set -- "$ECHOD_BASE"; fi
		set -- "$1" -f -c "$tmp/echod.ini"; log="$tmp/srv.err"
		re='.*listening listener=echo .*addr=127\.0\.0\.1:\([0-9]*\).*' ;;
	esac
	# Truncate here, not in the child: the port must not be read from the
	# previous server's output.
	: > "$tmp/srv.out"
	: > "$tmp/srv.err"
	valgrind --tool=callgrind --callgrind-out-file="$file" "$@" \
	    >"$tmp/srv.out" 2>"$tmp/srv.err" &
	server_pid=$!
	if ! port=$(bench_wait_match "$log" "$re" "$server_pid" 1200); then
		bench_log "$kind did not start"
		cat "$tmp/srv.err" >&2
		cg_stop KILL
		return 1
	fi
	if ! "$LOADGEN" pingpong -c 1 -s 64 -w 0 -d 60 -n "$n" \
	    127.0.0.1:"$port" >"$tmp/lg.out" 2>"$tmp/lg.err"; then
		bench_log "loadgen against $kind failed"
		cat "$tmp/lg.out" "$tmp/lg.err" >&2
		cg_stop KILL
		return 1
	fi
	cg_stop TERM
	cg_ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
	[ -n "$cg_ir" ] || { bench_log "no totals in $file"; return 1; }
}

echo "Workload: loadgen pingpong 64 B x 1 connection; instructions (Ir, all threads of"
echo "the server process) per round-trip = (Ir($long round-trips) - Ir($short)) / $((long - short))."
echo
echo "| server | Ir per round-trip | Ir for $short | Ir for $long |"
echo "|---|---:|---:|---:|"
rc=0
for kind in $servers; do
	if { [ "$kind" = echod ] && [ -z "${ECHOD:-}" ]; } ||
	    { [ "$kind" = echod-base ] && [ -z "${ECHOD_BASE:-}" ]; }; then
		echo "| $kind | (no binary) | | |"
		continue
	fi
	cg_measure "$kind" "$short" || { rc=1; continue; }
	a=$cg_ir
	cg_measure "$kind" "$long" || { rc=1; continue; }
	b=$cg_ir
	awk -v k="$kind" -v a="$a" -v b="$b" -v d=$((long - short)) \
	    'BEGIN { printf "| %s | %.0f | %.0f | %.0f |\n", k, (b - a) / d, a, b }'
done
exit $rc
