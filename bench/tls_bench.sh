#!/usr/bin/env bash
# tls_bench.sh: what TLS costs echod, against the cipher itself, HAProxy
# terminating TLS in front of plain echod, and openssl s_server, all on this
# machine in the same run. Prints a Markdown report (bench/README.md, "TLS").
#
#   1. Cipher: `openssl speed -evp` for the suite the ping-pong client
#      negotiated, encrypting and decrypting 64 B, 1 KiB and 16 KiB blocks.
#   2. Echo ping-pong (bench/tls_pingpong.c, compiled here), 64 B, 1 KiB and
#      16 KiB messages on --conns connections, three servers interleaved:
#      plain echod, echod's own TLS, and HAProxy (`mode tcp`, `ssl crt`, one
#      thread) terminating TLS in front of plain echod. Server CPU time per
#      message (HAProxy's plus echod's for the third), and the overhead over
#      the cipher: TLS CPU / (plain CPU + decrypt + encrypt of the message).
#   3. Handshakes (bench/tls_client.c hs, one client, back to back): full
#      TLS 1.3 and 1.2, TLS 1.2 resumed by session id and by ticket, TLS 1.3
#      resumed by PSK ticket; s_server, echod and HAProxy interleaved;
#      handshakes per second and server CPU per handshake.
#   4. Idle memory: RSS per idle connection of echod with --idle TLS 1.3
#      connections (bench/tls_client.c idle), and of plain ones when
#      LOADGEN (bench/loadgen) is given; with TLS_MEM (bench/tls_mem), what
#      an idle TLS connection holds, by OpenSSL allocation site.
#   5. Kernel TLS: whether the kernel offers it (echod's tls_ktls = auto
#      probe); if it does, 16 KiB ping-pong with tls_ktls = auto against no.
#
# The servers run pinned to CPU 0 and the clients to CPU 1 when taskset is
# there; each case runs --reps times, interleaved, and the report gives the
# medians and ratios of this run, with the load average before and after.
#
# usage: bench/tls_bench.sh [--quick] [--reps N] [--time SECONDS] [--conns N]
#            [--idle N] [--out FILE]
# environment: ECHOD (echod binary, from a build without --enable-debug;
#   default: build-bench/src/echod, else build*/src/echod), LOADGEN, TLS_MEM,
#   CC (default cc), HAPROXY (default haproxy; the HAProxy cases are skipped
#   when it is missing). Needs openssl, a C compiler and the OpenSSL
#   headers. Talks to 127.0.0.1 only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=tls_bench.sh
. "$srcdir/bench/lib.sh"
reps=3
secs=3
conns=8
idle=10000
out=""

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) reps=1; secs=2; idle=2000 ;;
	--reps) reps=$2; shift ;;
	--time) secs=$2; shift ;;
	--conns) conns=$2; shift ;;
	--idle) idle=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "tls_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

bench_need openssl
bench_find_echod
[ -n "$ECHOD" ] && [ -x "$ECHOD" ] || bench_die "set ECHOD to the echod binary"
HAPROXY=${HAPROXY:-haproxy}
command -v "$HAPROXY" >/dev/null || HAPROXY=""

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tls_bench.XXXXXX") || bench_die "mktemp"
PIDS=""
cleanup()
{
	# shellcheck disable=SC2086
	bench_reap $PIDS
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERVER_CPU=""
CLIENT_CPU=""
PINNED=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	SERVER_CPU="taskset -c 0"
	CLIENT_CPU="taskset -c 1"
	PINNED=yes
fi
# Each server in a session of its own, as a daemon runs: with the kernel's
# autogroup scheduling a server started in this script's session shares one
# CPU share with the clients and helpers; on a busy machine that alone moved
# sequential handshake rates by 1.5-2x from one server to another.
if command -v setsid >/dev/null; then
	SERVER_CPU="setsid $SERVER_CPU"
fi
load_before=$(bench_loadavg)

# ---------------------------------------------------------------- clients
for c in tls_pingpong tls_client; do
	# shellcheck disable=SC2046
	bench_cc "$tmp/$c" "$c" -pthread \
	    $(pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto) ||
	    bench_die "cannot compile bench/$c.c"
done

# ---------------------------------------------------------------- certificates
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key.pem" 2>/dev/null &&
openssl req -x509 -new -key "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null || bench_die "cannot make a certificate"
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/haproxy.pem"

# ---------------------------------------------------------------- helpers
# cpu_ticks PID...: user + system CPU time of the processes, in clock ticks.
cpu_ticks()
{
	local p t=0

	for p in "$@"; do
		t=$((t + $(bench_cpu_ticks "$p")))
	done
	echo "$t"
}

rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# median FMT: the median of the space-separated numbers on stdin (an even
# count's middle two averaged, printed with printf FMT), 0 for none.
median()
{
	local m

	m=$(tr ' ' '\n' | grep -v '^$' | bench_median "$1")
	if [ "$m" = nan ]; then echo 0; else echo "$m"; fi
}

# na VALUE: "n/a" for a median of nothing
na()
{
	if [ "$1" = 0 ]; then echo n/a; else echo "$1"; fi
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# listening PORT: something listens on 127.0.0.1:PORT.
listening()
{
	ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN
}

# free_port: a port nothing listens on, below the kernel's ephemeral range
# (s_server and HAProxy cannot report a port 0); callers retry on a clash.
free_port()
{
	local p lo

	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (lo - 10000)))
		listening "$p" || { echo "$p"; return 0; }
	done
	bench_die "no free port"
}

# start_echod [KEY = VALUE lines for the TLS listener]: echod with a TLS echo
# listener (ECHOD_TLS) and a plain one (ECHOD_PLAIN), pid ECHOD_PID.
start_echod()
{
	{
		printf '[server]\nmax_connections = 19000\n\n'
		# "listening" and "ready" lines, no line per handshake (unless asked)
		printf '[log]\nlevel = info\nlevel.tls = %s\n\n' "${ECHOD_TLS_LOG:-warning}"
		printf '[listener tls]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n'
		printf 'tls_cert = %s\ntls_key = %s\n' "$tmp/cert.pem" "$tmp/key.pem"
		for kv in "$@"; do
			printf '%s\n' "$kv"
		done
		printf '\n[listener plain]\nbind = 127.0.0.1:0\nservice = echo\n'
	} >"$tmp/echod.ini"
	: >"$tmp/echod.log"
	$SERVER_CPU "$ECHOD" -f -c "$tmp/echod.ini" 2>"$tmp/echod.log" &
	ECHOD_PID=$!
	PIDS="$PIDS $ECHOD_PID"
	bench_echod_ready "$tmp/echod.log" "$ECHOD_PID" 100 &&
	    ECHOD_TLS=$(bench_echod_port "$tmp/echod.log" tls "$ECHOD_PID" 1) &&
	    ECHOD_PLAIN=$(bench_echod_port "$tmp/echod.log" plain "$ECHOD_PID" 1) ||
	    bench_die "echod did not start: $(tail -5 "$tmp/echod.log")"
	[ "$(cat "/proc/$ECHOD_PID/comm")" = echod ] || bench_die "pid $ECHOD_PID is not echod"
}

# start_haproxy: HAProxy, one thread, terminating TLS on HAP_PORT in front of
# echod's plain listener; echod's default ciphers and versions; pid HAP_PID.
# HAProxy resets its CPU affinity to every CPU unless cpu-map says otherwise.
start_haproxy()
{

	for _ in 1 2 3 4 5; do
		start_haproxy_on "$(free_port)" && return 0
	done
	bench_die "haproxy did not start: $(tail -3 "$tmp/haproxy.log")"
}

start_haproxy_on()
{
	HAP_PORT=$1
	cat >"$tmp/haproxy.cfg" <<CFG
global
    nbthread 1
${PINNED:+    cpu-map 1/1 0}
    maxconn 9900
    ssl-default-bind-ciphers ECDHE+AES128+AESGCM:ECDHE+AES256+AESGCM:ECDHE+CHACHA20
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend tls
    bind 127.0.0.1:$HAP_PORT ssl crt $tmp/haproxy.pem
    default_backend echo
backend echo
    server echod 127.0.0.1:$ECHOD_PLAIN
CFG
	$SERVER_CPU "$HAPROXY" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
	HAP_PID=$!
	PIDS="$PIDS $HAP_PID"
	for _ in $(seq 60); do
		if listening "$HAP_PORT"; then
			[ -z "$PINNED" ] || grep -q '^Cpus_allowed_list:[[:space:]]*0$' \
			    "/proc/$HAP_PID/status" || bench_die "haproxy is not on CPU 0 alone"
			return 0
		fi
		kill -0 "$HAP_PID" 2>/dev/null || break
		sleep 0.05
	done
	bench_stop "$HAP_PID"
	return 1
}

start_s_server()
{

	for _ in 1 2 3 4 5; do
		start_s_server_on "$(free_port)" && return 0
	done
	bench_die "openssl s_server did not start: $(tail -3 "$tmp/s_server.log")"
}

start_s_server_on()
{
	SS_PORT=$1
	$SERVER_CPU openssl s_server -accept "127.0.0.1:$SS_PORT" -cert "$tmp/cert.pem" \
	    -key "$tmp/key.pem" -quiet -naccept 100000000 </dev/null >"$tmp/s_server.log" 2>&1 &
	SS_PID=$!
	PIDS="$PIDS $SS_PID"
	for _ in $(seq 60); do
		listening "$SS_PORT" && return 0
		kill -0 "$SS_PID" 2>/dev/null || break
		sleep 0.05
	done
	bench_stop "$SS_PID"
	return 1
}

# ---------------------------------------------------------------- ping-pong
# pingpong MODE PORT SIZE PID...: messages per second into PP_RATE, CPU
# microseconds per message of the PIDs into PP_CPU, the cipher into PP_CIPHER.
pingpong()
{
	local mode=$1 port=$2 size=$3 c0 c1 r n s

	shift 3
	c0=$(cpu_ticks "$@")
	r=$($CLIENT_CPU "$tmp/tls_pingpong" "$mode" "$port" "$conns" "$size" "$secs") ||
	    bench_die "tls_pingpong $mode $port failed"
	c1=$(cpu_ticks "$@")
	n=$(echo "$r" | sed -n 's/.*messages=\([0-9]*\).*/\1/p')
	s=$(echo "$r" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
	[ -n "$n" ] && [ "$n" -gt 0 ] || bench_die "tls_pingpong $mode $port: no message echoed"
	PP_RATE=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", n / s }')
	PP_CPU=$(awk -v n="$n" -v t="$((c1 - c0))" -v hz="$BENCH_HZ" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
	PP_CIPHER=$(echo "$r" | sed -n 's/.* cipher=\([^ ]*\).*/\1/p')
}

declare -A pp ppcpu
sizes="64 1024 16384"
servers="plain tls"
[ -n "$HAPROXY" ] && servers="$servers haproxy"
bench_log "ping-pong: $sizes B, $conns connections, $reps x ${secs}s per case ($servers)"
start_echod
[ -n "$HAPROXY" ] && start_haproxy
cipher=""
for r in $(seq "$reps"); do
	for size in $sizes; do
		for sv in $servers; do
			case $sv in
			plain) pingpong plain "$ECHOD_PLAIN" "$size" "$ECHOD_PID" ;;
			tls) pingpong tls "$ECHOD_TLS" "$size" "$ECHOD_PID"; cipher=$PP_CIPHER ;;
			haproxy) pingpong tls "$HAP_PORT" "$size" "$HAP_PID" "$ECHOD_PID"
				[ "$PP_CIPHER" = "$cipher" ] || bench_die "haproxy chose $PP_CIPHER, echod $cipher" ;;
			esac
			pp[$sv.$size]="${pp[$sv.$size]:-} $PP_RATE"
			ppcpu[$sv.$size]="${ppcpu[$sv.$size]:-} $PP_CPU"
		done
	done
done
[ -n "$HAPROXY" ] && bench_stop "$HAP_PID"
bench_stop "$ECHOD_PID"

# ---------------------------------------------------------------- cipher
# The suite's bulk cipher, as openssl speed names it.
case $cipher in
*AES_128_GCM*|*AES128-GCM*) evp=aes-128-gcm ;;
*AES_256_GCM*|*AES256-GCM*) evp=aes-256-gcm ;;
*CHACHA20*) evp=chacha20-poly1305 ;;
*) bench_die "unknown cipher '$cipher'" ;;
esac
declare -A enc dec
bench_log "cipher: openssl speed -evp $evp, encrypt and decrypt"
for size in $sizes; do
	# "AES-128-GCM  4471787.22k": thousands of bytes per CPU second
	enc[$size]=$(openssl speed -seconds 1 -evp "$evp" -bytes "$size" 2>/dev/null |
	    awk 'END { sub(/k$/, "", $NF); print $NF * 1000 }')
	dec[$size]=$(openssl speed -seconds 1 -evp "$evp" -decrypt -bytes "$size" 2>/dev/null |
	    awk 'END { sub(/k$/, "", $NF); print $NF * 1000 }')
done

# ---------------------------------------------------------------- handshakes
# handshakes MODE PORT PID...: into HS_RATE (per second) and HS_CPU (server
# CPU microseconds per handshake); HS_RESUMED: how many were resumed.
handshakes()
{
	local mode=$1 port=$2 c0 c1 r n s

	shift 2
	c0=$(cpu_ticks "$@")
	r=$($CLIENT_CPU "$tmp/tls_client" hs "$mode" "$port" "$secs") ||
	    bench_die "tls_client hs $mode $port failed"
	c1=$(cpu_ticks "$@")
	n=$(echo "$r" | sed -n 's/.*handshakes=\([0-9]*\).*/\1/p')
	s=$(echo "$r" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
	HS_RESUMED=$(echo "$r" | sed -n 's/.*resumed=\([0-9]*\).*/\1/p')
	[ -n "$n" ] && [ "$n" -gt 1 ] || bench_die "tls_client hs $mode $port: no handshake"
	case $mode in
	full*) [ "$HS_RESUMED" -eq 0 ] || bench_die "$mode $port: $HS_RESUMED resumed" ;;
	*) [ "$HS_RESUMED" -ge $((n - 1)) ] || bench_die "$mode $port: $HS_RESUMED of $n resumed" ;;
	esac
	HS_RATE=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", n / s }')
	HS_CPU=$(awk -v n="$n" -v t="$((c1 - c0))" -v hz="$BENCH_HZ" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
}

declare -A hs hscpu
modes="full13 full12 id12 ticket12 psk13"
hsservers="s_server echod"
[ -n "$HAPROXY" ] && hsservers="$hsservers haproxy"
bench_log "handshakes: $modes, $reps x ${secs}s per case ($hsservers)"
for r in $(seq "$reps"); do
	for mode in $modes; do
		for sv in $hsservers; do
			case $sv in
			s_server) start_s_server; handshakes "$mode" "$SS_PORT" "$SS_PID"
				bench_stop "$SS_PID" ;;
			echod) start_echod; handshakes "$mode" "$ECHOD_TLS" "$ECHOD_PID"
				bench_stop "$ECHOD_PID" ;;
			haproxy) start_echod; start_haproxy
				handshakes "$mode" "$HAP_PORT" "$HAP_PID" "$ECHOD_PID"
				bench_stop "$HAP_PID"; bench_stop "$ECHOD_PID" ;;
			esac
			hs[$sv.$mode]="${hs[$sv.$mode]:-} $HS_RATE"
			hscpu[$sv.$mode]="${hscpu[$sv.$mode]:-} $HS_CPU"
		done
	done
done

# ---------------------------------------------------------------- idle memory
# idle_rss PID PORT KIND N: RSS bytes per idle connection of PID into IDLE_B.
idle_rss()
{
	local pid=$1 port=$2 kind=$3 n=$4 r0 r1 est i

	r0=$(rss_kib "$pid")
	: >"$tmp/idle.out"
	if [ "$kind" = tls ]; then
		$CLIENT_CPU "$tmp/tls_client" idle "$port" "$n" 6 4 >"$tmp/idle.out" 2>"$tmp/idle.err" &
	else
		$CLIENT_CPU "$LOADGEN" idle -c "$n" -s 64 -d 6 -t 60 "127.0.0.1:$port" \
		    >"$tmp/idle.out" 2>"$tmp/idle.err" &
	fi
	i=$!
	for _ in $(seq 1200); do
		grep -q '^established=' "$tmp/idle.out" && break
		kill -0 "$i" 2>/dev/null || break
		sleep 0.1
	done
	est=$(sed -n 's/^established=\([0-9]*\).*/\1/p' "$tmp/idle.out")
	[ "${est:-0}" -eq "$n" ] || bench_die "idle $kind: ${est:-0} of $n connections: $(cat "$tmp/idle.err")"
	sleep 2
	r1=$(rss_kib "$pid")
	wait "$i" || bench_die "idle $kind: the client failed: $(cat "$tmp/idle.err")"
	IDLE_B=$(( (r1 - r0) * 1024 / n ))
}

bench_log "idle memory: $idle TLS 1.3 connections${LOADGEN:+ and $idle plain ones}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
start_echod
idle_rss "$ECHOD_PID" "$ECHOD_TLS" tls "$idle"
idle_tls=$IDLE_B
bench_stop "$ECHOD_PID"
idle_plain=""
if [ -n "${LOADGEN:-}" ] && [ -x "$LOADGEN" ]; then
	start_echod
	idle_rss "$ECHOD_PID" "$ECHOD_PLAIN" plain "$idle"
	idle_plain=$IDLE_B
	bench_stop "$ECHOD_PID"
fi
mem_report=""
if [ -n "${TLS_MEM:-}" ] && [ -x "$TLS_MEM" ]; then
	mem_report=$("$TLS_MEM" -n 1000 "$tmp/cert.pem" "$tmp/key.pem" 2>&1) || mem_report=""
fi

# ---------------------------------------------------------------- kernel TLS
ECHOD_TLS_LOG=info start_echod 'tls_ktls = auto'
if grep -q 'tls_ktls=auto: the kernel offers no TLS offload' "$tmp/echod.log"; then
	ktls="no: the kernel has no \"tls\" TCP ULP ($(uname -r)); tls_ktls = auto runs as no"
	bench_stop "$ECHOD_PID"
else
	bench_log "kernel TLS: 16 KiB ping-pong, tls_ktls = auto against no"
	k_auto=""; k_no=""
	for r in $(seq "$reps"); do
		[ "$r" -gt 1 ] && start_echod 'tls_ktls = auto'
		pingpong tls "$ECHOD_TLS" 16384 "$ECHOD_PID"
		k_auto="$k_auto $PP_CPU"
		bench_stop "$ECHOD_PID"
		start_echod 'tls_ktls = no'
		pingpong tls "$ECHOD_TLS" 16384 "$ECHOD_PID"
		k_no="$k_no $PP_CPU"
		bench_stop "$ECHOD_PID"
	done
	ktls="yes: 16 KiB TLS echo, echod CPU us/msg $(echo "$k_auto" | median %.2f) with auto,"
	ktls="$ktls $(echo "$k_no" | median %.2f) with no"
fi

# ---------------------------------------------------------------- report
report()
{
	local size mode p t h c

	echo "## TLS benchmark"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(openssl version | cut -d' ' -f1-2)," \
	    "${HAPROXY:+HAProxy $("$HAPROXY" -v 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p'),}" \
	    "$(nproc) CPUs${PINNED:+ (servers on CPU 0, clients on CPU 1)}," \
	    "load average $load_before before and $(bench_loadavg) after;" \
	    "medians of $reps runs of ${secs}s. Certificate EC P-256; negotiated $cipher."
	echo
	echo "### Echo ping-pong, $conns connections: server CPU per message"
	echo
	echo "| message | plain echod us | echod TLS us | HAProxy+echod us | $evp dec+enc us | TLS / (plain + cipher) | echod TLS / HAProxy | msg/s plain, TLS, HAProxy |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	for size in $sizes; do
		p=$(echo "${ppcpu[plain.$size]}" | median %.2f)
		t=$(echo "${ppcpu[tls.$size]}" | median %.2f)
		h=$(echo "${ppcpu[haproxy.$size]:-}" | median %.2f)
		c=$(awk -v s="$size" -v e="${enc[$size]}" -v d="${dec[$size]}" \
		    'BEGIN { if (e > 0 && d > 0) printf "%.2f", (s / e + s / d) * 1e6; else print 0 }')
		echo "| $size B | $p | $t | $(na "$h") | $c |" \
		    "$(awk -v t="$t" -v p="$p" -v c="$c" 'BEGIN { printf "%.2f", t / (p + c) }') |" \
		    "$(ratio "$t" "$h") |" \
		    "$(echo "${pp[plain.$size]}" | median %.0f), $(echo "${pp[tls.$size]}" | median %.0f)," \
		    "$(echo "${pp[haproxy.$size]:-}" | median %.0f) |"
	done
	echo
	echo "### Handshakes, one client back to back: per second, and server CPU us each"
	echo
	echo "| handshake | s_server /s | echod /s | HAProxy /s | echod / s_server | echod / HAProxy | echod / s_server, each run | CPU us s_server, echod, HAProxy+echod |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	for mode in $modes; do
		p=$(echo "${hs[s_server.$mode]}" | median %.0f)
		t=$(echo "${hs[echod.$mode]}" | median %.0f)
		h=$(echo "${hs[haproxy.$mode]:-}" | median %.0f)
		echo "| $mode | $p | $t | $(na "$h") | $(ratio "$t" "$p") | $(ratio "$t" "$h") |" \
		    "$(paste -d' ' <(echo "${hs[echod.$mode]}" | tr ' ' '\n' | grep -v '^$') \
		    <(echo "${hs[s_server.$mode]}" | tr ' ' '\n' | grep -v '^$') |
		    awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0) }') |" \
		    "$(echo "${hscpu[s_server.$mode]}" | median %.0f), $(echo "${hscpu[echod.$mode]}" | median %.0f)," \
		    "$(echo "${hscpu[haproxy.$mode]:-}" | median %.0f) |"
	done
	echo
	echo "full13/full12: a new session each time; id12: TLS 1.2 session id (client without"
	echo "tickets); ticket12: TLS 1.2 ticket; psk13: TLS 1.3 PSK ticket (with ECDHE). Each"
	echo "handshake ends with the client's close_notify; TLS 1.3 clients read their tickets."
	echo
	echo "### Idle connections"
	echo
	echo "- echod RSS per idle TLS 1.3 connection ($idle connections, full handshakes, one"
	echo "  64-byte echo each, 2 s after the last): $idle_tls B${idle_plain:+; per idle plain connection: $idle_plain B}."
	if [ -n "$mem_report" ]; then
		echo "- What one idle TLS 1.3 connection holds on the heap (bench/tls_mem, 1000 connections):"
		echo
		echo '```'
		echo "$mem_report" | head -n 24
		echo '```'
	fi
	echo
	echo "### Kernel TLS"
	echo
	echo "Offered here: $ktls."
}

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi
