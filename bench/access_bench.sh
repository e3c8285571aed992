#!/usr/bin/env bash
# access_bench.sh: what access control costs and what it protects, written
# as a Markdown report.
#
#  1. Established connections: server CPU per request, pingpong 64 B x 10,
#     with access lists (a 100,000-entry deny list and an allow list),
#     per-source tracking and limits, and the PROXY protocol (loadgen
#     --proxy) all on, against all off (max_sources = 0, no lists, no
#     PROXY). Target: at most 1.02x. Also instructions per round-trip under
#     callgrind (deterministic), unless --no-callgrind.
#  2. Accept path: churn (connect, one 64 B round-trip, close; 10 at a time)
#     from 10,000 source addresses, with the deny list and per-source
#     tracking on, against off: connections per second (target at least
#     0.95x) and server CPU per connection; memory per tracked source from
#     STATS sources_memory_bytes / sources_tracked; what loading the deny
#     list costs at start-up.
#  3. Under attack: a legitimate ping-pong client from 127.0.0.4 alone, then
#     while 127.0.0.2 opens connections as fast as it can (rate_per_source
#     on) and 127.0.0.3 holds 3,000 idle ones. Target: its p99 within 2x of
#     the unattacked p99, and never refused. The attackers run on the
#     server's CPU (attack): over loopback the kernel does both ends of a
#     connect() in the connecting process, so this is where a remote
#     attack's server-side work would land; and again on the measured
#     client's CPU at nice 19 (clientcpu), which shows what the attack costs
#     the client machine rather than the server.
#
# echod runs pinned to CPU 0, the clients to CPU 1. Run as root, echod and
# the measured client run at nice -10
# (--no-boost: at the shell's priority): on a machine whose CPUs other work
# shares, the server then gets the CPU it asks for within a scheduler tick,
# as a server on cores of its own would; every configuration gets the same. The configurations alternate run by run (off, on, off, on,
# ...), each run against a freshly started server; the report shows
# medians and the ratios of medians of the same run, and the load average.
# Server CPU is the sum of the run time of all its threads
# (/proc/PID/task/*/schedstat, nanoseconds) over the whole run.
#
# usage: bench/access_bench.sh [--quick] [--reps N] [--out FILE] [--no-callgrind] [--no-boost]
# environment: ECHOD, LOADGEN (bench binaries; compiled into a temporary
#   directory when unset, echod found as in run.sh), CC.
# Everything talks to 127.0.0.0/8 only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=access_bench.sh
. "$srcdir/bench/lib.sh"
quick=0
reps=""
out=""
callgrind=1
boost=1

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--reps) reps=$2; shift ;;
	--out) out=$2; shift ;;
	--no-callgrind) callgrind=0 ;;
	--no-boost) boost=0 ;;
	-h|--help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "access_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || out="$srcdir/bench/access_results.md"
if [ "$quick" = 1 ]; then
	warmup=0.3; duration=1; reps=${reps:-1}
else
	warmup=0.5; duration=2; reps=${reps:-5}
fi
DENY_N=100000
# The server and the measured client: nice -10 when root and not --no-boost.
BOOST=""
[ "$boost" = 1 ] && [ "$(id -u)" -eq 0 ] && BOOST="nice -n -10"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-access-bench.XXXXXX")
server_pid=""
bg_pids=""

ab_cleanup() {
	# shellcheck disable=SC2086
	bench_reap $bg_pids "$server_pid"
	rm -rf "$tmp"
}
trap ab_cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ binaries
if [ -z "${LOADGEN:-}" ]; then
	bench_log "compiling loadgen into $tmp"
	bench_cc "$tmp/loadgen" loadgen || exit 1
	LOADGEN=$tmp/loadgen
fi
bench_find_echod
[ -n "$ECHOD" ] && [ -x "$ECHOD" ] || bench_die "no echod binary (set ECHOD=...)"
bench_need taskset awk nc
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ------------------------------------------------------------ the deny list
# DENY_N random prefixes, nine in ten IPv4 (/16 to /32, first octet never
# 0 or 127, so none covers 127.0.0.0/8), one in ten IPv6 (/32, /48 or /64
# in 2000::/3). Fixed seed: the same list every run.
awk -v n="$DENY_N" 'BEGIN {
	srand(42)
	for (i = 0; i < n; i++) {
		if (i % 10 == 9) {
			k = int(rand() * 3)
			printf "deny %x:%x", 8192 + int(rand() * 8192), int(rand() * 65536)
			if (k >= 1)
				printf ":%x", int(rand() * 65536)
			if (k >= 2)
				printf ":%x", int(rand() * 65536)
			printf "::/%d\n", 32 + 16 * k
			continue
		}
		do { a = 1 + int(rand() * 223) } while (a == 127)
		len = 16 + int(rand() * 17)
		v = ((a * 256 + int(rand() * 256)) * 256 + int(rand() * 256)) * 256 + int(rand() * 256)
		m = 2 ^ (32 - len)
		v = int(v / m) * m
		printf "deny %d.%d.%d.%d/%d\n", int(v / 16777216), int(v / 65536) % 256,
		    int(v / 256) % 256, v % 256, len
	}
}' > "$tmp/deny.txt"
[ "$(wc -l < "$tmp/deny.txt")" -eq "$DENY_N" ] || bench_die "deny list generation failed"

# ------------------------------------------------------------ servers
# ab_conf NAME: write $tmp/NAME.ini.
#   off      echo, nothing of access control (max_sources = 0: no table)
#   on       echo behind PROXY v2, deny list + allow list, per-source limits
#   churnon  echo, deny list + allow list, per-source limits (no PROXY: the
#            accept path itself)
#   attack   echo, rate_per_source = 50 with bursts of 3000, max_per_source 5000
ab_conf() {
	local name=$1 extra=""
	case "$name" in
	off) extra="" ;;
	on) extra="proxy_protocol = v2
proxy_from = 127.0.0.0/8
access_file = $tmp/deny.txt
allow = 127.0.0.0/8
max_per_source = 1000
rate_per_source = 100000
burst = 100000" ;;
	churnon) extra="access_file = $tmp/deny.txt
allow = 127.0.0.0/8
max_per_source = 1000
rate_per_source = 100000
burst = 100000" ;;
	attack) extra="max_per_source = 5000
rate_per_source = 50
burst = 3000" ;;
	esac
	cat > "$tmp/$name.ini" <<-EOF
	[server]
	max_connections = 30000
	$( [ "$name" = off ] && echo "max_sources = 0" )
	[log]
	level = warning
	level.server = info
	[listener echo]
	bind = 127.0.0.1:0
	service = echo
	idle_timeout = 0
	$extra
	[listener admin]
	bind = unix:$tmp/admin.sock
	service = admin
	EOF
}

# ab_start NAME: echod with $tmp/NAME.ini, pinned to CPU 0; its echo port
# in port once it is ready.
ab_start() {
	ab_conf "$1"
	: > "$tmp/srv.err"
	$BOOST taskset -c 0 "$ECHOD" -f -c "$tmp/$1.ini" >/dev/null 2>"$tmp/srv.err" &
	server_pid=$!
	if bench_echod_ready "$tmp/srv.err" "$server_pid" 400 &&
	    port=$(bench_echod_port "$tmp/srv.err" echo "$server_pid" 1); then
		return 0
	fi
	bench_log "echod ($1) did not start:"
	cat "$tmp/srv.err" >&2
	exit 1
}

ab_stop() {
	bench_stop "$server_pid" TERM 200
	server_pid=""
}

# Run time of every thread of the server, in nanoseconds.
ab_cpu_ns() {
	cat /proc/"$server_pid"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f", n }'
}

ab_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"
}

# One statistic (a name without labels) from the admin console.
ab_stat() {
	printf 'STATS %s\n' "$1" | timeout 10 nc -N -U "$tmp/admin.sock" | tr -d '\r' |
	    sed -n "s/^$1=//p" | head -n 1
}

ab_rejected() {
	printf 'STATS connections_rejected_total\n' | timeout 10 nc -N -U "$tmp/admin.sock" |
	    tr -d '\r' | sed -n 's/.*listener="echo".*reason="\([a-z_]*\)"}=\([1-9][0-9]*\)$/\1=\2/p' |
	    tr '\n' ' '
}


# ------------------------------------------------------------ runs
started=$(date +%s)
load_start=$(bench_loadavg)
: > "$tmp/est.tsv"; : > "$tmp/churn.tsv"; : > "$tmp/attack.tsv"; : > "$tmp/mem.tsv"; : > "$tmp/load.tsv"
bench_log "echod: $ECHOD; reps=$reps duration=${duration}s warmup=${warmup}s"

# 1. Established connections.
for rep in $(seq 1 "$reps"); do
	for cfg in off on; do
		ab_start "$cfg"
		proxy=""
		[ "$cfg" = on ] && proxy=--proxy
		c0=$(ab_cpu_ns)
		line=$($BOOST taskset -c 1 "$LOADGEN" pingpong -c 10 -s 64 -d "$duration" -w "$warmup" $proxy \
		    --src-range 127.0.2.1-127.0.2.10 127.0.0.1:"$port" 2>"$tmp/lg.err" | grep '^mode=')
		c1=$(ab_cpu_ns)
		ab_stop
		n=$(bench_kv requests_total "$line")
		errs=$(( $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") ))
		printf '%s\t%s\t%s\t%s\t%s\n' "$cfg" "$(bench_kv rps "$line")" \
		    "$(awk -v d=$((c1 - c0)) -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? d / n : 0) }')" \
		    "$(bench_kv p99_us "$line")" "$errs" >> "$tmp/est.tsv"
		bench_log "established/$cfg: $(tail -n 1 "$tmp/lg.err")"
	done
done

# 2. Accept path, and the deny list's start-up cost: CPU time of echod -t
# (parse and load) without and with it, then the runs.
TIMEFORMAT='%U %S'
for cfg in off churnon; do
	ab_conf "$cfg"
	for rep in 1 2 3; do
		{ time "$ECHOD" -t -c "$tmp/$cfg.ini" >/dev/null 2>&1; } 2>&1 |
		    awk -v c="$cfg" '{ printf "%s\t%.0f\n", c, ($1 + $2) * 1000 }' >> "$tmp/load.tsv"
	done
done
for rep in $(seq 1 "$reps"); do
	for cfg in off churnon; do
		t0=$(date +%s%N)
		ab_start "$cfg"
		t1=$(date +%s%N)
		rss0=$(ab_rss_kib)
		c0=$(ab_cpu_ns)
		line=$($BOOST taskset -c 1 "$LOADGEN" churn -c 10 -s 64 -d "$duration" -w "$warmup" \
		    --src-range 127.1.0.1-127.1.39.16 127.0.0.1:"$port" 2>"$tmp/lg.err" | grep '^mode=')
		c1=$(ab_cpu_ns)
		tracked=$(ab_stat sources_tracked)
		mem=$(ab_stat sources_memory_bytes)
		ab_stop
		n=$(bench_kv requests_total "$line")
		errs=$(( $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") ))
		printf '%s\t%s\t%s\t%s\t%s\n' "$cfg" "$(bench_kv rps "$line")" \
		    "$(awk -v d=$((c1 - c0)) -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? d / n : 0) }')" \
		    "$errs" "$(( (t1 - t0) / 1000000 ))" >> "$tmp/churn.tsv"
		printf '%s\t%s\t%s\t%s\n' "$cfg" "${tracked:-0}" "${mem:-0}" "${rss0:-0}" >> "$tmp/mem.tsv"
		bench_log "churn/$cfg: $(tail -n 1 "$tmp/lg.err"); sources_tracked=$tracked memory=$mem"
	done
done

# 3. Under attack.
for rep in $(seq 1 "$reps"); do
	for cond in calm attack clientcpu; do
		ab_start attack
		flood_pid=""; hold_pid=""; held=""
		# Where the attackers run: on the server's CPU at the default
		# priority, or on the measured client's CPU at nice 19.
		acpu=0; anice=0
		[ "$cond" = clientcpu ] && { acpu=1; anice=19; }
		if [ "$cond" != calm ]; then
			: > "$tmp/hold.out"
			nice -n "$anice" taskset -c "$acpu" "$LOADGEN" idle -c 3000 -s 64 -d 3600 -t 30 \
			    --src-range 127.0.0.3-127.0.0.3 127.0.0.1:"$port" >"$tmp/hold.out" 2>/dev/null &
			hold_pid=$!
			bg_pids="$hold_pid"
			for i in $(seq 1 600); do
				grep -q '^established=' "$tmp/hold.out" && break
				sleep 0.05
			done
			held=$(bench_kv established "$(grep '^established=' "$tmp/hold.out")")
			nice -n "$anice" taskset -c "$acpu" "$LOADGEN" flood -c 64 -w 0 \
			    -d "$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print d + w + 0.5 }')" \
			    --src-range 127.0.0.2-127.0.0.2 127.0.0.1:"$port" >"$tmp/flood.out" 2>/dev/null &
			flood_pid=$!
			bg_pids="$hold_pid $flood_pid"
			sleep 0.3
		fi
		c0=$(ab_cpu_ns); t0=$(date +%s%N)
		line=$($BOOST taskset -c 1 "$LOADGEN" pingpong -c 2 -s 64 -d "$duration" -w "$warmup" \
		    --src-range 127.0.0.4-127.0.0.4 127.0.0.1:"$port" 2>"$tmp/lg.err" | grep '^mode=')
		c1=$(ab_cpu_ns); t1=$(date +%s%N)
		util=$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", 100 * c / t }')
		flood_rate=""; rejected=""
		if [ "$cond" != calm ]; then
			wait "$flood_pid"
			flood_rate=$(bench_kv rps "$(grep '^mode=' "$tmp/flood.out")")
			rejected=$(ab_rejected)
			kill -TERM "$hold_pid" 2>/dev/null
			wait "$hold_pid" 2>/dev/null
			bg_pids=""
		fi
		ab_stop
		errs=$(( $(bench_kv errors "$line") + $(bench_kv connect_errors "$line") ))
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cond" "$(bench_kv p50_us "$line")" \
		    "$(bench_kv p99_us "$line")" "$(bench_kv rps "$line")" "$errs" "${flood_rate:--}" \
		    "${held:--}" "${rejected:--}" "$util" >> "$tmp/attack.tsv"
		bench_log "attack/$cond: $(tail -n 1 "$tmp/lg.err") flood=${flood_rate:--}/s held=${held:--} $rejected"
	done
done

# Instructions per operation under callgrind, off and on: deterministic.
# cg_line CFG MODE SHORT LONG: (Ir(LONG operations) - Ir(SHORT)) /
# (LONG - SHORT), all threads of the server; MODE pingpong (1 connection,
# round-trips) or churn (1 at a time, connections from 10,000 addresses).
cg_line() {
	local cfg=$1 mode=$2 short=$3 long=$4 n a b args
	[ "$callgrind" = 1 ] && command -v valgrind >/dev/null || return 1
	for n in "$short" "$long"; do
		ab_conf "$cfg"
		: > "$tmp/srv.err"
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$cfg.$mode.$n" \
		    "$ECHOD" -f -c "$tmp/$cfg.ini" >/dev/null 2>"$tmp/srv.err" &
		server_pid=$!
		if ! bench_echod_ready "$tmp/srv.err" "$server_pid" 1200 ||
		    ! port=$(bench_echod_port "$tmp/srv.err" echo "$server_pid" 1); then
			ab_stop
			return 1
		fi
		args="--src-range 127.0.2.1-127.0.2.1"
		[ "$mode" = churn ] && args="--src-range 127.1.0.1-127.1.39.16"
		[ "$cfg" = on ] && args="$args --proxy"
		"$LOADGEN" "$mode" -c 1 -s 64 -w 0 -d 300 -n "$n" $args 127.0.0.1:"$port" >/dev/null 2>&1 ||
		    { ab_stop; return 1; }
		ab_stop
	done
	a=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$cfg.$mode.$short")
	b=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$cfg.$mode.$long")
	[ -n "$a" ] && [ -n "$b" ] || return 1
	awk -v a="$a" -v b="$b" -v d=$((long - short)) 'BEGIN { printf "%.0f", (b - a) / d }'
}
cg_off=""; cg_on=""; cgc_off=""; cgc_on=""
if [ "$callgrind" = 1 ]; then
	bench_log "callgrind: round-trips off, on; connections off, on"
	cg_off=$(cg_line off pingpong 2000 12000) || cg_off=""
	cg_on=$(cg_line on pingpong 2000 12000) || cg_on=""
	cgc_off=$(cg_line off churn 1000 4000) || cgc_off=""
	cgc_on=$(cg_line churnon churn 1000 4000) || cgc_on=""
fi

elapsed=$(( $(date +%s) - started ))
load_end=$(bench_loadavg)

# ------------------------------------------------------------ report
col() { awk -F'\t' -v c="$1" -v k="$2" '$1 == k { print $c }' "$3" | bench_median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "nan") printf "%.3f", a / b; else print "-" }'; }
verdict() { awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN { if (r == "-") print "-"; else if ((op == "<=" && r <= t) || (op == ">=" && r >= t)) print "met"; else print "missed" }'; }

e_off_cpu=$(col 3 off "$tmp/est.tsv"); e_on_cpu=$(col 3 on "$tmp/est.tsv")
e_off_rps=$(col 2 off "$tmp/est.tsv"); e_on_rps=$(col 2 on "$tmp/est.tsv")
e_off_p99=$(col 4 off "$tmp/est.tsv"); e_on_p99=$(col 4 on "$tmp/est.tsv")
e_ratio=$(ratio "$e_on_cpu" "$e_off_cpu")
c_off_rps=$(col 2 off "$tmp/churn.tsv"); c_on_rps=$(col 2 churnon "$tmp/churn.tsv")
c_off_cpu=$(col 3 off "$tmp/churn.tsv"); c_on_cpu=$(col 3 churnon "$tmp/churn.tsv")
c_off_ms=$(col 5 off "$tmp/churn.tsv"); c_on_ms=$(col 5 churnon "$tmp/churn.tsv")
c_ratio=$(ratio "$c_on_rps" "$c_off_rps")
l_off=$(col 2 off "$tmp/load.tsv"); l_on=$(col 2 churnon "$tmp/load.tsv")
m_tracked=$(col 2 churnon "$tmp/mem.tsv"); m_mem=$(col 3 churnon "$tmp/mem.tsv")
m_rss_off=$(col 4 off "$tmp/mem.tsv"); m_rss_on=$(col 4 churnon "$tmp/mem.tsv")
a_calm=$(col 3 calm "$tmp/attack.tsv"); a_att=$(col 3 attack "$tmp/attack.tsv")
a_cli=$(col 3 clientcpu "$tmp/attack.tsv")
a_calm50=$(col 2 calm "$tmp/attack.tsv"); a_att50=$(col 2 attack "$tmp/attack.tsv")
a_ratio=$(ratio "$a_att" "$a_calm")
a_errs=$(awk -F'\t' '{ n += $5 } END { print n + 0 }' "$tmp/attack.tsv")
e_errs=$(awk -F'\t' '{ n += $5 } END { print n + 0 }' "$tmp/est.tsv")
c_errs=$(awk -F'\t' '{ n += $4 } END { print n + 0 }' "$tmp/churn.tsv")
commit=$(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$srcdir" diff --quiet HEAD -- src bench 2>/dev/null; then
	commit="$commit (with uncommitted changes)"
fi

{
	echo "# Access control: cost and protection"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit; echod: $ECHOD"
	echo "- Machine: $(bench_machine)"
	echo "- Run: $( [ "$quick" = 1 ] && echo quick || echo full ), $reps run(s) per configuration, warm-up ${warmup} s, measured ${duration} s, configurations alternating run by run, ${elapsed} s in all"
	echo "- Load average (1, 5, 15 min) at start: $load_start; at end: $load_end. The 2 CPUs are shared with other work: above about 2, the server and the clients waited for CPU and the figures are noisy; the ratios compare runs made minutes apart at most."
	echo "- echod pinned to CPU 0, the measured clients to CPU 1, the attackers to CPU 0 (clientcpu: CPU 1 at nice 19); echod and the measured client $( [ -n "$BOOST" ] && echo "at nice -10" || echo "at the shell's priority (no boost)" ). Server CPU: run time of all its threads (schedstat) over the whole run, warm-up included, divided by all requests."
	echo
	echo "## Summary"
	echo
	echo "| measure | off | on | ratio | target | |"
	echo "|---|---:|---:|---:|---|---|"
	echo "| established: server CPU ns per request | $e_off_cpu | $e_on_cpu | $e_ratio | <= 1.02x | $(verdict "$e_ratio" '<=' 1.02) |"
	if [ -n "$cg_off" ] && [ -n "$cg_on" ]; then
		r=$(ratio "$cg_on" "$cg_off")
		echo "| established: instructions per round-trip (callgrind) | $cg_off | $cg_on | $r | <= 1.02x | $(verdict "$r" '<=' 1.02) |"
	fi
	echo "| accept path: connections per second | $c_off_rps | $c_on_rps | $c_ratio | >= 0.95x | $(verdict "$c_ratio" '>=' 0.95) |"
	echo "| accept path: server CPU ns per connection | $c_off_cpu | $c_on_cpu | $(ratio "$c_on_cpu" "$c_off_cpu") | | |"
	if [ -n "$cgc_off" ] && [ -n "$cgc_on" ]; then
		echo "| accept path: instructions per connection (callgrind) | $cgc_off | $cgc_on | $(ratio "$cgc_on" "$cgc_off") | | |"
	fi
	echo "| under attack: legitimate client p99 µs (calm / attacked) | $a_calm | $a_att | $a_ratio | <= 2x, never refused | $(verdict "$a_ratio" '<=' 2)$( [ "$a_errs" -eq 0 ] && echo ", 0 refused" || echo ", $a_errs errors: missed" ) |"
	echo "| the same, attackers on the client's CPU (calm / attacked) | $a_calm | $a_cli | $(ratio "$a_cli" "$a_calm") | | |"
	echo
	echo "Memory per tracked source: $m_tracked sources tracked after the churn run, sources_memory_bytes $m_mem: $(awk -v m="$m_mem" -v n="$m_tracked" 'BEGIN { if (n > 0) printf "%.0f", m / n; else print "-" }') bytes per source (the table's entries and its bucket array)."
	echo
	echo "The $DENY_N-entry deny list: echod's resident memory right after start-up $m_rss_off KiB without it, $m_rss_on KiB with it ($(awk -v a="$m_rss_on" -v b="$m_rss_off" 'BEGIN { printf "%.1f", (a - b) / 1024 }') MiB); CPU time of \`echod -t\` (reading and checking the configuration) $l_off ms without it, $l_on ms with it; start to ready (wall clock) $c_off_ms ms without it, $c_on_ms ms with it (medians)."
	echo
	echo "## 1. Established connections"
	echo
	echo "loadgen pingpong 64 B x 10 connections from 127.0.2.1-10. *on*: the echo listener has"
	echo "\`proxy_protocol = v2\` (loadgen \`--proxy\` sends a v2 header with the connection's own"
	echo "addresses), \`access_file\` with the $DENY_N-entry deny list, \`allow = 127.0.0.0/8\`,"
	echo "\`max_per_source = 1000\`, \`rate_per_source\` and \`burst\` 100000. *off*: \`max_sources = 0\`"
	echo "(no per-source table), no lists, no PROXY. Access control runs once per connection;"
	echo "a request on an established connection pays nothing for it, so the ratio shows noise"
	echo "around 1. The instruction count under callgrind (1 connection, (Ir(12000 round-trips) -"
	echo "Ir(2000)) / 10000, all threads) is the deterministic form of the same comparison."
	echo
	echo "| config | req/s | CPU ns/req | p99 µs | errors |"
	echo "|---|---:|---:|---:|---:|"
	echo "| off | $e_off_rps | $e_off_cpu | $e_off_p99 | |"
	echo "| on | $e_on_rps | $e_on_cpu | $e_on_p99 | |"
	echo
	echo "Runs, in order (config, req/s, CPU ns/req, p99 µs, errors):"
	echo
	awk -F'\t' '{ printf "%s%s %s %s %s %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4, $5 } END { print "" }' "$tmp/est.tsv"
	echo
	echo "## 2. Accept path"
	echo
	echo "loadgen churn, 10 at a time: connect, one 64 B round-trip, close, from 10,000 source"
	echo "addresses in turn (127.1.0.1-127.1.39.16). *on* (churnon): the deny list, the allow list"
	echo "and per-source limits as above (no PROXY: a direct client). *off*: as above. Each"
	echo "connection is looked up in the deny list (a miss: 127.0.0.0/8 is in none of its"
	echo "prefixes) and in the per-source table. The client is single-threaded on one CPU and"
	echo "may be what limits the rate; server CPU per connection is the comparison that does"
	echo "not depend on it. Under callgrind: 1 connection at a time, (Ir(4000 connections) -"
	echo "Ir(1000)) / 3000."
	echo
	echo "| config | connections/s | server CPU ns/conn | start to ready ms | errors |"
	echo "|---|---:|---:|---:|---:|"
	echo "| off | $c_off_rps | $c_off_cpu | $c_off_ms | |"
	echo "| on | $c_on_rps | $c_on_cpu | $c_on_ms | |"
	echo
	echo "Runs, in order (config, connections/s, CPU ns/conn, errors, start ms):"
	echo
	awk -F'\t' '{ printf "%s%s %s %s %s %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4, $5 } END { print "" }' "$tmp/churn.tsv"
	echo
	echo "## 3. Under attack"
	echo
	echo "The echo listener has \`rate_per_source = 50\` with \`burst = 3000\` and \`max_per_source = 5000\`."
	echo "*calm*: the legitimate client alone, loadgen pingpong 64 B x 2 connections from 127.0.0.4."
	echo "*attack*: the same while 127.0.0.3 holds 3,000 idle connections (loadgen idle, opened"
	echo "within its burst) and 127.0.0.2 connects and resets as fast as it can with 64 connects"
	echo "in flight (loadgen flood): after its burst, all but 50 a second are refused at accept,"
	echo "before a byte is read. Refused-or-not, every flood connection costs the server an"
	echo "accept and a close on the one loop thread the legitimate client also needs. The"
	echo "attackers run on echod's CPU at the default priority: over loopback the kernel handles"
	echo "both ends of each connect() in the attacker's process, so that is where the server"
	echo "side of a remote attack would be. *clientcpu*: the attackers on the measured client's"
	echo "CPU instead (nice 19): the server's load is the same, but the client's own CPU now"
	echo "does the attack's TCP work, which a remote attacker's traffic would not."
	echo
	echo "| condition | legit p50 µs | legit p99 µs | legit req/s | legit errors | flood connects/s | idle held | refused at accept (server) | server CPU % |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$tmp/attack.tsv"
	echo
	echo "Medians: p50 $a_calm50 µs calm, $a_att50 µs attacked; p99 $a_calm µs calm, $a_att µs attacked ($a_ratio x)."
	echo "Server CPU %: echod's threads' run time over the legitimate client's run, as a share of one CPU."
	echo
	echo "Errors over all runs: established $e_errs, churn $c_errs, legitimate client under attack $a_errs."
} > "$tmp/report.md"

cp "$tmp/report.md" "$out"
bench_log "report written to $out"
