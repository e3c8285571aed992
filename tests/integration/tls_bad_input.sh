# tls_bad_input.sh: clients that do not speak TLS, or stop half-way, on a TLS
# port: plain text (HTTP), binary garbage, garbage in a TLS record, a
# truncated client hello, a connection closed before any byte, a stalled
# handshake (tls_handshake_timeout = 1s), and a peer that drops TCP without
# close_notify (an EOF, not an error). Each is closed with one log line
# naming its reason, while an established TLS session keeps working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

have_cmd socat || skip "socat not installed"
CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[log]\nlevel = info\nconnections = yes\n\n'
	tls_listener_ini tls echo 'tls_handshake_timeout = 1s'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of tls) || fail "no tls listener"

tls_session_open "$P" -tls1_3
tls_session_echo "before the bad clients" || fail "established session: no echo"

# raw BYTES: send them (octal escapes, as printf's format), shut the write
# side, wait for the server to close
raw()
{
	# shellcheck disable=SC2059
	printf "$1" | timeout 10 socat -t 5 - "TCP4:127.0.0.1:$P" >"$tmp/raw.out" 2>&1
	[ $? -ne 124 ] || fail "connection still open after 10 s: $1"
}

# expect_failure REASON N: N failure lines with this reason, and as many closes
expect_failure()
{
	wait_log_count "tls handshake failed reason=$1 " "$2" ||
	    fail "expected $2 'reason=$1' failure lines, got $(tls_failures "$1")"
	wait_log_count "close listener=tls .*reason=$1 " "$2" ||
	    fail "expected $2 closes with reason=$1"
}

raw 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
expect_failure tls-plaintext 1
[ ! -s "$tmp/raw.out" ] || fail "a plaintext client got a reply: $(head -c 80 "$tmp/raw.out")"
raw 'HELO example.org\r\n'
expect_failure tls-plaintext 2
raw '\000\001\002\003\377\376garbage\000'
expect_failure tls-handshake-failed 1
raw '\026\177\000\000\020\336\255\276\357\000\001\002\003\004\005\006\007'
expect_failure tls-handshake-failed 2
# a record header announcing 512 bytes of client hello, then only 6
raw '\026\003\001\002\000\001\000\001\374\003\003'
expect_failure tls-truncated 1
raw ''
expect_failure tls-truncated 2
grep -q 'reason=tls-truncated detail="closed before a client hello"' "$ECHOD_LOG" ||
    fail "no detail for a client that sent nothing"

# stalled: connects, sends nothing, keeps its side open; closed after ~1 s
start=$(date +%s%N)
sleep 5 | timeout 10 socat -t 5 - "TCP4:127.0.0.1:$P" >/dev/null 2>&1 &
stall=$!
expect_failure handshake-timeout 1
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -ge 900 ] || fail "handshake timeout after only $elapsed ms"
line=$(close_line_of handshake-timeout)
d=$(field "$line" duration_ms)
[ "$d" -ge 950 ] && [ "$d" -le 3000 ] || fail "handshake-timeout after $d ms, not ~1000"
kill "$stall" 2>/dev/null
wait "$stall" 2>/dev/null

# a handshake that stops half-way (s_client waiting on us is not it: hold
# the client hello back after its first bytes) also times out
printf '\026\003\001\002\000\001' | { cat; sleep 3; } |
    timeout 10 socat -t 5 - "TCP4:127.0.0.1:$P" >/dev/null 2>&1
expect_failure handshake-timeout 2

# a peer that drops TCP without close_notify (killed): an EOF like any other
rm -f "$tmp/drop.fifo"
mkfifo "$tmp/drop.fifo" || fail "mkfifo"
socat - "OPENSSL:127.0.0.1:$P,verify=0" <"$tmp/drop.fifo" >"$tmp/drop.out" 2>/dev/null &
drop=$!
LIB_PIDS="$LIB_PIDS $drop"
exec 6>"$tmp/drop.fifo"
(printf 'dropped soon\n' >&6) 2>/dev/null
wait_file_grep '^dropped soon$' 10 "$tmp/drop.out" || fail "no echo before the drop"
kill -KILL "$drop"
wait "$drop" 2>/dev/null
exec 6>&-
expect_log 'close listener=tls .*reason=eof bytes_in=13 bytes_out=13'

# the established session did not notice any of it
tls_session_echo "after the bad clients" || fail "established session broken by bad clients"
tls_session_close
expect_log 'close listener=tls .*reason=eof bytes_in=45 bytes_out=45'
# and new clients are still served
tls_echo_ok "$P" "a new client" || fail "new TLS client after the bad ones"
total=$(log_count 'tls handshake failed reason=')
[ "$total" -eq 8 ] || fail "expected 8 handshake failure lines, got $total"

no_log ' (error|critical) '
stop_echod
note ok
