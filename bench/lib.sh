# bench/lib.sh: what the benchmark scripts share, sourced by run.sh,
# callgrind.sh, pool_bench.sh, log_bench.sh, debug_bench.sh, tls_bench.sh,
# access_bench.sh, udp_bench.sh and misbehave_bench.sh: messages, compiling the C clients,
# finding a plain echod build, waiting (bounded) for a server's port,
# stopping a process, reading its CPU time from /proc, medians, and the
# lines every report starts with.
#
# Bash. The caller sets BENCH_NAME (the prefix of its messages) and srcdir
# (the source tree) before sourcing, and tmp (its temporary directory)
# before compiling. Every wait is bounded; a server is stopped by PID only.

: "${BENCH_NAME:=bench}"

# bench_log MSG...: "NAME: HH:MM:SS MSG" on stderr.
bench_log()
{
	echo "$BENCH_NAME: $(date -u +%T) $*" >&2
}

# bench_die MSG...: bench_log, then exit 1 (the EXIT trap cleans up).
bench_die()
{
	bench_log "$*"
	exit 1
}

# bench_need CMD...: each command is installed, or bench_die.
bench_need()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bench_die "$c is required"
	done
}

# bench_cc OUT NAME [ARGS...]: compile bench/NAME.c into OUT with ${CC:-cc}
# -O2 -g -Wall -Wextra, with tests/common/tool.c when it includes tool.h;
# ARGS (libraries, pkg-config output) go last. Returns cc's status.
bench_cc()
{
	local out=$1 src=$srcdir/bench/$2.c

	shift 2
	set -- -o "$out" "$src" "$@"
	if grep -q '^#include "tool.h"' "$src"; then
		set -- -I"$srcdir/tests/common" "$@" "$srcdir/tests/common/tool.c"
	fi
	# shellcheck disable=SC2086
	${CC:-cc} -O2 -g -Wall -Wextra "$@"
}

# bench_is_plain BINARY: not a sanitizer build (which would measure the
# sanitizer, not echod).
bench_is_plain()
{
	! nm "$1" 2>/dev/null | grep -q -e __asan_init -e __tsan_init
}

# bench_find_echod: unless ECHOD is set, the first plain build of the
# source tree (build-bench, build*, then an in-tree build) into ECHOD; empty
# if there is none.
bench_find_echod()
{
	local cand

	[ -z "${ECHOD:-}" ] || return 0
	ECHOD=
	for cand in "$srcdir"/build-bench/src/echod "$srcdir"/build*/src/echod \
	    "$srcdir"/src/echod; do
		if [ -x "$cand" ] && bench_is_plain "$cand"; then
			ECHOD=$cand
			return 0
		fi
	done
}

# bench_echo_ini FILE: the plain echo configuration run.sh and callgrind.sh
# measure: one echo listener on a kernel-chosen port, the "listening" line
# (level.server = info) but nothing per connection.
bench_echo_ini()
{
	cat >"$1" <<EOF
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
}

# bench_wait_match FILE SED_RE PID [TRIES]: poll FILE every 50 ms, at most
# TRIES times (default 200), for a line SED_RE matches and print its first
# \(group\). Fails at once when PID has exited.
bench_wait_match()
{
	local file=$1 re=$2 pid=$3 n=${4:-200} i v

	for i in $(seq 1 "$n"); do
		v=$(sed -n "s/$re/\\1/p" "$file" 2>/dev/null | head -n 1)
		if [ -n "$v" ]; then
			echo "$v"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# bench_echod_port LOG NAME PID [TRIES]: the port of echod's listener NAME
# (bound to 127.0.0.1), from the "listening" line of its log.
bench_echod_port()
{
	bench_wait_match "$1" \
	    ".*listening listener=$2 .*addr=127\\.0\\.0\\.1:\\([0-9]*\\).*" "$3" "${4:-200}"
}

# bench_echod_ready LOG PID [TRIES]: wait for echod's "ready listeners=" line.
bench_echod_ready()
{
	bench_wait_match "$1" '.*\(ready\) listeners=.*' "$2" "${3:-200}" >/dev/null
}

# bench_stop PID [SIGNAL [TRIES]]: send SIGNAL (default TERM), wait up to
# TRIES x 50 ms (default 100) for the exit, then SIGKILL; reaps it.
bench_stop()
{
	local pid=$1 sig=${2:-TERM} n=${3:-100} i

	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 1 "$n"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# bench_reap PID...: SIGTERM to each (empty ones skipped), then wait for each:
# the cleanup of a script's children on exit.
bench_reap()
{
	local p

	for p in "$@"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	return 0
}

# bench_cpu_ticks PID: user + system CPU time (all threads), in clock ticks.
bench_cpu_ticks()
{
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# bench_kv KEY LINE: the value of KEY=VALUE in a loadgen or pool_load line.
bench_kv()
{
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# bench_machine: "N CPUs, MODEL, Linux RELEASE" for a report's header.
bench_machine()
{
	local model

	model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "$(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r)"
}

# bench_loadavg: the 1, 5 and 15 minute load averages.
bench_loadavg()
{
	cut -d' ' -f1-3 /proc/loadavg
}

BENCH_HZ=$(getconf CLK_TCK)

# bench_us_per TICKS N: CPU microseconds per item, for TICKS clock ticks
# spent on N items ("nan" when N is 0).
bench_us_per()
{
	awk -v d="$1" -v hz="$BENCH_HZ" -v n="$2" \
	    'BEGIN { if (n > 0) printf "%.3f", d * 1e6 / hz / n; else print "nan" }'
}

# bench_cpu_pct TICKS T0 T1: TICKS clock ticks as a percentage of one CPU
# over the wall-clock interval T0..T1 (seconds, date +%s.%N).
bench_cpu_pct()
{
	awk -v d="$1" -v hz="$BENCH_HZ" -v a="$2" -v b="$3" \
	    'BEGIN { printf "%.0f", 100 * d / hz / (b - a) }'
}

# bench_median [FMT]: the median of the numbers on stdin, one a line ("nan"
# when there are none); the mean of the middle two when their count is even,
# printed with printf FMT when given (awk's print otherwise).
bench_median()
{
	sort -g | awk -v fmt="${1:-}" '{ v[NR] = $1 } END {
		if (NR == 0)
			print "nan"
		else if (NR % 2)
			print v[(NR + 1) / 2]
		else if (fmt == "")
			print (v[NR / 2] + v[NR / 2 + 1]) / 2
		else
			printf fmt "\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
