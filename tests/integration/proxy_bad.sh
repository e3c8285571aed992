# proxy_bad.sh: bad PROXY protocol input. Each malformed, truncated,
# oversized, dribbled, wrong-version or late header is closed with one log
# line naming what was wrong, counted per listener (connections_rejected_total
# reason proxy_header or proxy_timeout) and by error
# (proxy_header_errors_total), and nothing else is affected: a client of
# another listener keeps its round trips going all along, and good headers
# are served right after the bad ones.
: "${TEST_TIMEOUT:=150}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

[ -n "$PYTHON" ] || skip "python3 not installed"
{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener any]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = any\n'
	printf 'proxy_from = 127.0.0.1\nproxy_timeout = 1s\n\n'
	printf '[listener v1]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = v1\n'
	printf 'proxy_from = 127.0.0.1\n\n'
	printf '[listener v2]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = v2\n'
	printf 'proxy_from = 127.0.0.1\n\n'
	printf '[listener plain]\nbind = 127.0.0.1:0\nservice = echo\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
AP=$(port_of any) || fail "no port for any"
V1=$(port_of v1) || fail "no port for v1"
V2=$(port_of v2) || fail "no port for v2"
EP=$(port_of plain) || fail "no port for plain"

# Round trips on another listener every 300 ms during the whole test.
spawn "$TCLIENT" -T 140 rtt -i 300 127.0.0.1 "$EP" 450 >"$tmp/rtt.out" 2>&1
RTT=$SPAWN_PID

N=0
# bad PORT ERROR DETAIL ARGS...: the header is refused with ERROR; one log line with DETAIL.
bad()
{
	local port=$1 err=$2 detail=$3 before

	shift 3
	N=$((N + 1))
	before=$(stat "proxy_header_errors_total{error=\"$err\"}")
	"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$port" "$@" --data x --expect-close \
	    >"$tmp/bad.$N.out" 2>&1 || fail "case $N ($err) was served: $(cat "$tmp/bad.$N.out")"
	wait_log_count "refused listener=[a-z0-9]+ peer=127\.0\.0\.1:[0-9]+ reason=proxy_header rule=$detail suppressed=0$" 1 ||
	    fail "case $N: no log line with rule=$detail"
	expect_stat "proxy_header_errors_total{error=\"$err\"}" $((before + 1))
	# one line a second per reason: the next case in a new second
	sleep 1.1
}

bad "$AP" not-proxy 'not a PROXY protocol header' --raw "$(printf 'GET / HTTP/1.0\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')"
bad "$AP" malformed 'v1 line ends before its last field' --v1 'TCP4 192.0.2.1'
bad "$AP" bad-address 'v1 IPv4 octet above 255' --v1 'TCP4 192.0.2.300 198.51.100.7 1 2'
bad "$AP" too-long '.*' --raw "$(printf 'PROXY UNKNOWN %0120d' 0 | od -An -v -tx1 | tr -d ' \n')"
bad "$AP" too-long 'v2 header longer than PROXY_MAX_HEADER \(4096 bytes\)' \
    --v2 proxy --src 192.0.2.1:1 --dst 198.51.100.7:2 --len 5000
bad "$AP" crc 'v2 header CRC32C does not match' --v2 proxy --src 192.0.2.1:1 --dst 198.51.100.7:2 \
    --tlv 3:00000000
bad "$AP" bad-tlv '.*' --v2 proxy --src 192.0.2.1:1 --dst 198.51.100.7:2 --tlv-raw 01001041
bad "$AP" unsupported 'v2 command is neither LOCAL nor PROXY' --v2 proxy --cmd 3 \
    --src 192.0.2.1:1 --dst 198.51.100.7:2
bad "$V1" version '.*' --v2 proxy --src 192.0.2.1:1 --dst 198.51.100.7:2
bad "$V2" version '.*' --v1 'TCP4 192.0.2.1 198.51.100.7 1 2'
# truncated: the balancer goes away in the middle of a v2 header
bad "$AP" malformed 'closed before the end of the PROXY header' --v2 proxy \
    --src 192.0.2.1:1 --dst 198.51.100.7:2 --cut 20 --shut
# dribbled: one byte every 20 ms; at most 16 reads for one header
bad "$AP" malformed 'PROXY header sent in too many pieces' --v1 'TCP4 192.0.2.1 198.51.100.7 1 2' \
    --pieces 40 --gap 20
expect_stat 'connections_rejected_total{listener="any",service="echo",reason="proxy_header"}' 10
expect_stat 'connections_rejected_total{listener="v1",service="echo",reason="proxy_header"}' 1
expect_stat 'connections_rejected_total{listener="v2",service="echo",reason="proxy_header"}' 1

# proxy_timeout = 1s: part of a header and then nothing; and nothing at all.
# Closed by the daemon: after the timeout and long before the client's own 30 s
# (the upper bound leaves room for the interpreter's start on a loaded machine).
for arg in '--cut 10' '--raw ""'; do
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	eval "\"\$PYTHON\" \"\$PROXY_CLIENT\" --timeout 30 127.0.0.1 \"\$AP\" --v1 'TCP4 192.0.2.1 198.51.100.7 1 2' $arg --expect-close" \
	    >"$tmp/late.out" 2>&1 || fail "a late header was served: $(cat "$tmp/late.out")"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -ge 900 ] && [ "$ms" -lt 10000 ] || fail "closed after $ms ms with proxy_timeout = 1s"
	sleep 1.1
done
expect_stat 'connections_rejected_total{listener="any",service="echo",reason="proxy_timeout"}' 2
[ "$(log_count 'refused listener=any peer=127\.0\.0\.1:[0-9]+ reason=proxy_timeout ')" -eq 2 ] ||
    fail "proxy_timeout refusals: $(grep 'reason=proxy.timeout' "$ECHOD_LOG")"
[ "$(log_count 'close listener=any .*reason=proxy-timeout')" -eq 2 ] || fail "proxy-timeout close lines"

# Nothing else was affected: good headers are served on every listener,
# and the other listener's client never missed a round trip.
for p in "$AP" "$V1"; do
	"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$p" --v1 'TCP4 192.0.2.1 198.51.100.7 1 2' \
	    --data fine >"$tmp/good.out" 2>&1 && [ "$(cat "$tmp/good.out")" = fine ] ||
	    fail "a good v1 header after the bad ones: $(cat "$tmp/good.out")"
done
"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$V2" --v2 proxy --src 192.0.2.1:1 \
    --dst 198.51.100.7:2 --data fine >"$tmp/good.out" 2>&1 && [ "$(cat "$tmp/good.out")" = fine ] ||
    fail "a good v2 header after the bad ones"
proc_alive "$RTT" || fail "the round-trip client of the plain listener stopped: $(cat "$tmp/rtt.out")"
no_log 'close listener=plain '
in=$(admin CONNS | sed -n 's/.* listener=plain .* bytes_in=\([0-9]*\) .*/\1/p')
# "ping\n" every 300 ms for the whole test (over 30 s)
[ "${in:-0}" -ge 400 ] || fail "the plain listener's client sent only ${in:-0} bytes"
stop_pid "$RTT"
stop_echod
note ok
