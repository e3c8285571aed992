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

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not found" >&2; exit 1; }

if [ -z "${LOADGEN:-}" ] || [ -z "${REF_EPOLL:-}" ] || [ -z "${REF_LIBEVENT:-}" ]; then
	cc=${CC:-cc}
	$cc -O2 -g -I"$srcdir/tests/common" -o "$tmp/loadgen" "$srcdir/bench/loadgen.c" \
	    "$srcdir/tests/common/tool.c" || exit 1
	$cc -O2 -g -o "$tmp/ref_epoll" "$srcdir/bench/ref_epoll.c" || exit 1
	$cc -O2 -g -o "$tmp/ref_libevent" "$srcdir/bench/ref_libevent.c" \
	    $(pkg-config --cflags --libs libevent) || exit 1
	LOADGEN=${LOADGEN:-$tmp/loadgen}
	REF_EPOLL=${REF_EPOLL:-$tmp/ref_epoll}
	REF_LIBEVENT=${REF_LIBEVENT:-$tmp/ref_libevent}
fi
if [ -z "${ECHOD:-}" ]; then
	for cand in "$srcdir"/build-bench/src/echod "$srcdir"/build*/src/echod; do
		if [ -x "$cand" ] && ! nm "$cand" 2>/dev/null | grep -q -e __asan_init -e __tsan_init; then
			ECHOD=$cand
			break
		fi
	done
fi

cat > "$tmp/echod.ini" <<EOF
[server]
max_connections = 30000
[log]
level = warning
level.server = info
[listener echo]
bind = 127.0.0.1:0
service = echo
idle_timeout = 0
EOF

cg_stop() {
	local sig=$1 i
	[ -n "$server_pid" ] || return 0
	kill -"$sig" "$server_pid" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=""
}

# Run one server under callgrind for n round-trips; its instruction total
# goes to cg_ir. Runs in this shell (not a subshell) so the EXIT trap always
# knows the server's PID.
cg_measure() {
	local kind=$1 n=$2 i port="" file="$tmp/out.$1.$2" log re
	case "$kind" in
	epoll) set -- "$REF_EPOLL" 0; log="$tmp/srv.out"; re='^port=\([0-9]*\).*' ;;
	libevent) set -- "$REF_LIBEVENT" 0; log="$tmp/srv.out"; re='^port=\([0-9]*\).*' ;;
	echod|echod-base)
		if [ "$kind" = echod ]; then set -- "$ECHOD"; else set -- "$ECHOD_BASE"; fi
		set -- "$1" -f -c "$tmp/echod.ini"; log="$tmp/srv.err"
		re='.*listening listener=echo service=echo addr=127\.0\.0\.1:\([0-9]*\).*' ;;
	esac
	# Truncate here, not in the child: the port must not be read from the
	# previous server's output.
	: > "$tmp/srv.out"
	: > "$tmp/srv.err"
	valgrind --tool=callgrind --callgrind-out-file="$file" "$@" \
	    >"$tmp/srv.out" 2>"$tmp/srv.err" &
	server_pid=$!
	for i in $(seq 1 1200); do
		port=$(sed -n "s/$re/\\1/p" "$log" | head -n 1)
		[ -n "$port" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ]; then
		echo "callgrind.sh: $kind did not start" >&2
		cat "$tmp/srv.err" >&2
		cg_stop KILL
		return 1
	fi
	if ! "$LOADGEN" pingpong -c 1 -s 64 -w 0 -d 60 -n "$n" \
	    127.0.0.1:"$port" >"$tmp/lg.out" 2>"$tmp/lg.err"; then
		echo "callgrind.sh: loadgen against $kind failed" >&2
		cat "$tmp/lg.out" "$tmp/lg.err" >&2
		cg_stop KILL
		return 1
	fi
	cg_stop TERM
	cg_ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
	[ -n "$cg_ir" ] || { echo "callgrind.sh: no totals in $file" >&2; return 1; }
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
