#!/usr/bin/env bash
# tls_bench.sh: TLS benchmark for echod, with openssl s_server as the
# reference, on the same machine in the same run.
#
#   1. handshakes per second with `openssl s_time` (one client, sequential
#      connections): full handshakes (-new) with TLS 1.3 and TLS 1.2, and
#      resumed ones (-reuse, TLS 1.2: s_time closes before it reads a TLS 1.3
#      ticket, so TLS 1.3 sessions are never resumable by it), against
#      `openssl s_server` and against an echod TLS echo listener, same
#      certificate (EC P-256), same client;
#   2. echo of 16 KiB messages, ping-pong: bench/tls_pingpong.c (compiled
#      here) sends a message and waits for it back, on 1 and on 8
#      connections, plain and TLS through the same code; messages per second,
#      the ratio TLS / plain, and echod's CPU time per message;
#   3. echo streaming with 16 KiB blocks: socat streams a file through the
#      echo service and back (socat -b 16384), over TLS and over plain TCP,
#      and the ratio TLS / plain; with echod's CPU time per GiB for each.
#
# The server runs pinned to CPU 0 and the client to CPU 1 when taskset is
# there. Runs are interleaved (s_server, echod, s_server, echod...) and the
# median of --reps runs is reported.
#
# usage: bench/tls_bench.sh [--quick] [--reps N] [--time SECONDS] [--mib N] [--out FILE]
# environment: ECHOD (the echod binary; default: build-*/src/echod or src/echod),
#   CC (for tls_pingpong; default cc).
# Needs: openssl, socat, a C compiler and the OpenSSL headers. Talks to
# 127.0.0.1 only.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
reps=3
secs=5
mib=256
out=""

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) reps=1; secs=2; mib=64 ;;
	--reps) reps=$2; shift ;;
	--time) secs=$2; shift ;;
	--mib) mib=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "tls_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

die()
{
	echo "tls_bench.sh: $*" >&2
	exit 1
}

command -v openssl >/dev/null || die "openssl not installed"
command -v socat >/dev/null || die "socat not installed"
if [ -z "${ECHOD:-}" ]; then
	for e in "$srcdir"/src/echod "$srcdir"/build*/src/echod; do
		[ -x "$e" ] && ECHOD=$e && break
	done
fi
[ -n "${ECHOD:-}" ] && [ -x "$ECHOD" ] || die "set ECHOD to the echod binary"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tls_bench.XXXXXX") || die "mktemp"
PIDS=""
cleanup()
{
	local p

	for p in $PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERVER_CPU=""
CLIENT_CPU=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	SERVER_CPU="taskset -c 0"
	CLIENT_CPU="taskset -c 1"
fi

# ---------------------------------------------------------------- client
# shellcheck disable=SC2046
${CC:-cc} -O2 -pthread -I"$srcdir/tests/common" -o "$tmp/tls_pingpong" \
    "$srcdir/bench/tls_pingpong.c" "$srcdir/tests/common/tool.c" \
    $(pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto) ||
    die "cannot compile bench/tls_pingpong.c"

# ---------------------------------------------------------------- certificates
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key.pem" 2>/dev/null &&
openssl req -x509 -new -key "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null || die "cannot make a certificate"

now_ns()
{
	date +%s%N
}

# cpu_ticks PID: user + system CPU time in clock ticks (all threads).
cpu_ticks()
{
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

median()
{
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'
}

# ---------------------------------------------------------------- servers
start_echod()
{
	cat >"$tmp/echod.ini" <<INI
[server]
max_connections = 10000

[log]
; "listening" and "ready" lines, but no line per handshake
level = info
level.tls = warning

[listener tls]
bind = 127.0.0.1:0
service = echo
tls = yes
tls_cert = $tmp/cert.pem
tls_key = $tmp/key.pem

[listener plain]
bind = 127.0.0.1:0
service = echo
INI
	: >"$tmp/echod.log"
	$SERVER_CPU "$ECHOD" -f -c "$tmp/echod.ini" 2>"$tmp/echod.log" &
	ECHOD_PID=$!
	PIDS="$PIDS $ECHOD_PID"
	for _ in $(seq 100); do
		grep -q 'ready listeners=' "$tmp/echod.log" && break
		sleep 0.05
	done
	TLS_PORT=$(sed -n 's/.*listening listener=tls .*addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/echod.log")
	PLAIN_PORT=$(sed -n 's/.*listening listener=plain .*addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/echod.log")
	[ -n "$TLS_PORT" ] && [ -n "$PLAIN_PORT" ] || die "echod did not start: $(tail -5 "$tmp/echod.log")"
}

stop_pid()
{
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# listening PORT: something listens on 127.0.0.1:PORT.
listening()
{
	if command -v ss >/dev/null; then
		ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN
	else
		sleep 0.5
	fi
}

# s_server on a free port chosen by trying (it cannot report a port 0).
start_s_server()
{
	local p i

	for _ in $(seq 20); do
		p=$((20000 + (RANDOM % 20000)))
		listening "$p" && continue
		$SERVER_CPU openssl s_server -accept "127.0.0.1:$p" -cert "$tmp/cert.pem" \
		    -key "$tmp/key.pem" -quiet -naccept 100000000 </dev/null >"$tmp/s_server.log" 2>&1 &
		SSERVER_PID=$!
		for i in $(seq 40); do
			kill -0 "$SSERVER_PID" 2>/dev/null || break
			if listening "$p"; then
				PIDS="$PIDS $SSERVER_PID"
				SSERVER_PORT=$p
				return 0
			fi
			sleep 0.05
		done
		kill "$SSERVER_PID" 2>/dev/null
		wait "$SSERVER_PID" 2>/dev/null
	done
	die "cannot start openssl s_server: $(tail -n 3 "$tmp/s_server.log")"
}

# s_time_rate PID PORT ARGS...: handshakes per wall-clock second into
# HS_RATE, and the server's CPU microseconds per handshake into HS_CPU.
s_time_rate()
{
	local pid=$1 p=$2 t0 t1 c0 c1 n

	shift 2
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	n=$($CLIENT_CPU openssl s_time -connect "127.0.0.1:$p" -time "$secs" "$@" 2>/dev/null |
	    sed -n 's/^\([0-9]*\) connections in [0-9.]*s;.*/\1/p' | head -n 1)
	t1=$(now_ns)
	c1=$(cpu_ticks "$pid")
	[ -n "$n" ] && [ "$n" -gt 0 ] || die "s_time $* against port $p made no connection"
	HS_RATE=$(awk -v n="$n" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }')
	HS_CPU=$(awk -v n="$n" -v t="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.0f\n", t / hz * 1e6 / n }')
}

# ---------------------------------------------------------------- handshakes
declare -A hs hscpu
hz=$(getconf CLK_TCK)
cases="full13:-new -tls1_3|full12:-new -tls1_2|resumed12:-reuse -tls1_2"
echo "tls_bench: handshakes, $reps x ${secs}s per case (server CPU 0, client CPU 1)" >&2
for r in $(seq "$reps"); do
	IFS='|'
	for c in $cases; do
		IFS=$' \t\n'
		name=${c%%:*}
		args=${c#*:}
		start_s_server
		# shellcheck disable=SC2086
		s_time_rate "$SSERVER_PID" "$SSERVER_PORT" $args
		hs[sserver.$name]="${hs[sserver.$name]:-} $HS_RATE"
		hscpu[sserver.$name]="${hscpu[sserver.$name]:-} $HS_CPU"
		stop_pid "$SSERVER_PID"
		start_echod
		# shellcheck disable=SC2086
		s_time_rate "$ECHOD_PID" "$TLS_PORT" $args
		hs[echod.$name]="${hs[echod.$name]:-} $HS_RATE"
		hscpu[echod.$name]="${hscpu[echod.$name]:-} $HS_CPU"
		stop_pid "$ECHOD_PID"
		IFS='|'
	done
	IFS=$' \t\n'
done

# ---------------------------------------------------------------- ping-pong
# pingpong MODE PORT CONNS: messages per second into PP_RATE, echod's CPU
# microseconds per message into PP_CPU.
pingpong()
{
	local c0 c1 r n sec

	c0=$(cpu_ticks "$ECHOD_PID")
	r=$($CLIENT_CPU "$tmp/tls_pingpong" "$1" "$2" "$3" 16384 "$secs") ||
	    die "tls_pingpong $1 failed"
	c1=$(cpu_ticks "$ECHOD_PID")
	n=$(echo "$r" | sed -n 's/.*messages=\([0-9]*\).*/\1/p')
	sec=$(echo "$r" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
	[ -n "$n" ] && [ "$n" -gt 0 ] || die "tls_pingpong $1: no message echoed"
	PP_RATE=$(awk -v n="$n" -v s="$sec" 'BEGIN { printf "%.0f\n", n / s }')
	PP_CPU=$(awk -v n="$n" -v t="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.1f\n", t / hz * 1e6 / n }')
}

declare -A pp ppcpu
echo "tls_bench: ping-pong, 16 KiB messages, $reps x ${secs}s, 1 and 8 connections" >&2
for r in $(seq "$reps"); do
	start_echod
	for conns in 1 8; do
		pingpong plain "$PLAIN_PORT" "$conns"
		pp[plain.$conns]="${pp[plain.$conns]:-} $PP_RATE"
		ppcpu[plain.$conns]="${ppcpu[plain.$conns]:-} $PP_CPU"
		pingpong tls "$TLS_PORT" "$conns"
		pp[tls.$conns]="${pp[tls.$conns]:-} $PP_RATE"
		ppcpu[tls.$conns]="${ppcpu[tls.$conns]:-} $PP_CPU"
	done
	stop_pid "$ECHOD_PID"
done

# ---------------------------------------------------------------- throughput
head -c $((mib * 1048576)) /dev/urandom >"$tmp/data"

# stream ADDRESS: MiB/s through the echo and back, and echod's ticks used.
stream()
{
	local t0 t1 c0 c1 bytes

	c0=$(cpu_ticks "$ECHOD_PID")
	t0=$(now_ns)
	$CLIENT_CPU socat -b 16384 -t 30 - "$1" <"$tmp/data" >"$tmp/data.out" 2>"$tmp/socat.err" ||
	    die "socat $1: $(cat "$tmp/socat.err")"
	t1=$(now_ns)
	c1=$(cpu_ticks "$ECHOD_PID")
	bytes=$(wc -c <"$tmp/data.out")
	[ "$bytes" -eq $((mib * 1048576)) ] || die "socat $1: $bytes bytes came back"
	cmp -s "$tmp/data" "$tmp/data.out" || die "socat $1: the echo changed the data"
	STREAM_MIBS=$(awk -v b="$bytes" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f\n", b / 1048576 / (ns / 1e9) }')
	STREAM_TICKS=$((c1 - c0))
}

echo "tls_bench: echo throughput, $reps x $mib MiB each way, 16 KiB blocks" >&2
tput_tls=""; tput_plain=""; cpu_tls=""; cpu_plain=""
for r in $(seq "$reps"); do
	start_echod
	stream "TCP4:127.0.0.1:$PLAIN_PORT"
	tput_plain="$tput_plain $STREAM_MIBS"
	cpu_plain="$cpu_plain $(awk -v t="$STREAM_TICKS" -v hz="$hz" -v m="$mib" 'BEGIN { printf "%.2f\n", t / hz / (2 * m / 1024) }')"
	stream "OPENSSL:127.0.0.1:$TLS_PORT,verify=0"
	tput_tls="$tput_tls $STREAM_MIBS"
	cpu_tls="$cpu_tls $(awk -v t="$STREAM_TICKS" -v hz="$hz" -v m="$mib" 'BEGIN { printf "%.2f\n", t / hz / (2 * m / 1024) }')"
	stop_pid "$ECHOD_PID"
done

# ---------------------------------------------------------------- report
med()
{
	echo "$1" | tr ' ' '\n' | grep -v '^$' | median
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

report()
{
	local name es ss ec sc

	echo "## TLS benchmark"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(openssl version), $(nproc) CPUs," \
	    "${SERVER_CPU:+server on CPU 0, client on CPU 1,} median of $reps runs."
	echo "Certificate: EC P-256. Client: openssl s_time (${secs}s per run), socat -b 16384."
	echo
	echo "| handshakes | s_server /s | echod /s | echod / s_server | s_server CPU us each | echod CPU us each |"
	echo "|---|---:|---:|---:|---:|---:|"
	for name in full13 full12 resumed12; do
		ss=$(med "${hs[sserver.$name]}")
		es=$(med "${hs[echod.$name]}")
		sc=$(med "${hscpu[sserver.$name]}")
		ec=$(med "${hscpu[echod.$name]}")
		echo "| $name | $ss | $es | $(ratio "$es" "$ss") | $sc | $ec |"
	done
	echo
	echo "| ping-pong, 16 KiB messages | plain msg/s | TLS msg/s | TLS / plain | plain: echod CPU us/msg | TLS: echod CPU us/msg |"
	echo "|---|---:|---:|---:|---:|---:|"
	for conns in 1 8; do
		ss=$(med "${pp[plain.$conns]}")
		es=$(med "${pp[tls.$conns]}")
		echo "| $conns connection(s) | $ss | $es | $(ratio "$es" "$ss") |" \
		    "$(med "${ppcpu[plain.$conns]}") | $(med "${ppcpu[tls.$conns]}") |"
	done
	echo
	echo "| streaming, 16 KiB blocks | MiB/s (each way) | echod CPU s per GiB moved |"
	echo "|---|---:|---:|"
	echo "| plain TCP | $(med "$tput_plain") | $(med "$cpu_plain") |"
	echo "| TLS 1.3 (AES-256-GCM) | $(med "$tput_tls") | $(med "$cpu_tls") |"
	echo
	echo "TLS / plain streaming throughput: $(ratio "$(med "$tput_tls")" "$(med "$tput_plain")")"
	echo
	echo "full13/full12: new session each connection (TLS 1.3 / 1.2);" \
	    "resumed12: TLS 1.2 session resumption (ticket)."
	echo "s_time runs one connection at a time, so handshakes/s is latency-bound and" \
	    "moves with the machine's load; the CPU columns (server CPU time per" \
	    "handshake) are steadier."
	echo "Ping-pong and streaming rates include the client's own work (it encrypts" \
	    "and decrypts too); the CPU columns are echod's alone. For comparison," \
	    "\`openssl speed -evp aes-256-gcm -bytes 16384\` on this machine:" \
	    "$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 1 2>/dev/null |
	    awk '/^AES-256-GCM/ { printf "%.0f MB/s", $2 / 1000 }')."
}

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi
