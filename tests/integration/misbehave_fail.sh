# misbehave_fail.sh: reset_after, stall_after and close_after with real
# clients, each at its documented byte or time, every byte delivered the
# right one:
#   reset: exactly reset_after bytes, then a reset, as mbclient.py (Python),
#     tclient (C), socat and nc see it; over TLS no close_notify comes first;
#   stall: exactly stall_after bytes, then silence (nc, mbclient.py), the
#     connection open and marked stalled in CONNS until idle_timeout closes
#     it;
#   close: a clean EOF close_after after accept (nc, socat, mbclient.py),
#     over TLS with close_notify;
# and the counters in STATS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

have_cmd python3 || skip "python3 not installed"
have_cmd socat || skip "socat not installed"
MB="python3 $top_srcdir/tests/integration/mbclient.py"
CERTS=$tmp/certs
tls_certs "$CERTS"

{
	printf '[log]\nconnections = yes\n\n'
	printf '[listener reset]\nbind = 127.0.0.1:0\nservice = echo\nreset_after = 1000\n\n'
	printf '[listener stall]\nbind = 127.0.0.1:0\nservice = echo\nstall_after = 100\n'
	printf 'idle_timeout = 3s\n\n'
	printf '[listener close]\nbind = 127.0.0.1:0\nservice = echo\nclose_after = 400ms\n\n'
	printf '[listener plain]\nbind = 127.0.0.1:0\nservice = echo\n\n'
	printf '[listener admin]\nbind = unix:%s/admin.sock\nservice = admin\n\n' "$tmp"
	tls_listener_ini treset echo 'reset_after = 3000'
	tls_listener_ini tclose echo 'close_after = 300ms'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PR=$(port_of reset) || fail "no reset listener"
PS=$(port_of stall) || fail "no stall listener"
PC=$(port_of close) || fail "no close listener"
PP=$(port_of plain) || fail "no plain listener"
PTR=$(port_of treset) || fail "no treset listener"
PTC=$(port_of tclose) || fail "no tclose listener"

result()
{
	sed -n 's/^result //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

admin()
{
	printf '%s\n' "$1" | nc -N -U "$tmp/admin.sock" | tr -d '\r'
}

# feed FILE SECONDS: $tmp/feed.fifo gives FILE, then stays open SECONDS (a client's stdin)
feed()
{
	rm -f "$tmp/feed.fifo"
	mkfifo "$tmp/feed.fifo" || fail "mkfifo"
	spawn sh -c 'exec >"$3"; cat "$1"; sleep "$2"' feed "$1" "$2" "$tmp/feed.fifo"
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# ---- reset_after = 1000
$MB chunks --send 5000 127.0.0.1 "$PR" >"$tmp/reset.out" || fail "mbclient reset"
note "reset, python: $(sed -n 's/^result //p' "$tmp/reset.out")"
[ "$(result "$tmp/reset.out" end)" = reset ] || fail "python saw no reset: $(cat "$tmp/reset.out")"
[ "$(result "$tmp/reset.out" bytes)" = 1000 ] || fail "not 1000 bytes before the reset"
[ "$(result "$tmp/reset.out" match)" = yes ] || fail "wrong bytes before the reset"
expect_log 'close listener=reset .*reason=misbehave-reset bytes_in=5000 bytes_out=1000'

# tclient (C): the same random bytes to the plain listener and to this one; a prefix, then reset
tclient fetch -n 5000 127.0.0.1 "$PP" 5000 >"$tmp/fetch.ref" 2>/dev/null || fail "reference fetch"
tclient fetch -n 5000 127.0.0.1 "$PR" 5000 >"$tmp/fetch.out" 2>"$tmp/fetch.err" ||
    fail "tclient fetch: $(cat "$tmp/fetch.err")"
note "reset, tclient: $(cat "$tmp/fetch.err")"
grep -q 'received=1000 eof=reset' "$tmp/fetch.err" || fail "tclient: $(cat "$tmp/fetch.err")"
head -c 1000 "$tmp/fetch.ref" | cmp -s - "$tmp/fetch.out" || fail "tclient: wrong bytes"

# socat names it (a warning: -d shows it)
head -c 5000 /dev/urandom >"$tmp/r5k"
timeout 10 socat -d -t 5 - "TCP:127.0.0.1:$PR" <"$tmp/r5k" >"$tmp/socat.out" 2>"$tmp/socat.err"
grep -q 'Connection reset by peer' "$tmp/socat.err" || fail "socat: $(cat "$tmp/socat.err")"
head -c 1000 "$tmp/r5k" | cmp -s - "$tmp/socat.out" || fail "socat: wrong bytes before the reset"
# nc drops what it has not read yet when the reset comes (as after a real crash),
# and quits at once, though its input is still open (a FIN would keep it waiting)
feed "$tmp/r5k" 10
t0=$(now_ms)
timeout 10 nc 127.0.0.1 "$PR" <"$tmp/feed.fifo" >"$tmp/nc.out" 2>"$tmp/nc.err"
ms=$(($(now_ms) - t0))
n=$(wc -c <"$tmp/nc.out")
note "reset, nc: quit after $ms ms with $n bytes"
[ "$ms" -lt 5000 ] || fail "nc did not see the reset ($ms ms)"
[ "$n" -le 1000 ] || fail "nc: $n bytes, more than reset_after"
head -c "$n" "$tmp/r5k" | cmp -s - "$tmp/nc.out" || fail "nc: wrong bytes before the reset"

# TLS: 3000 bytes of plaintext in whole records, then a reset without close_notify
head -c 10000 /dev/urandom >"$tmp/r10k"
timeout 10 socat -d -t 5 - "OPENSSL:127.0.0.1:$PTR,verify=0" <"$tmp/r10k" >"$tmp/tls.out" 2>"$tmp/tls.err"
grep -q 'Connection reset by peer' "$tmp/tls.err" || fail "socat TLS: $(cat "$tmp/tls.err")"
head -c 3000 "$tmp/r10k" | cmp -s - "$tmp/tls.out" || fail "TLS: wrong bytes before the reset"
$MB --tls "$CERTS/ca.pem" chunks --send 10000 127.0.0.1 "$PTR" >"$tmp/tlsreset.out" ||
    fail "mbclient TLS reset"
[ "$(result "$tmp/tlsreset.out" bytes)" = 3000 ] && [ "$(result "$tmp/tlsreset.out" match)" = yes ] ||
    fail "TLS: $(sed -n 's/^result //p' "$tmp/tlsreset.out")"
# OpenSSL 3 reports a reset while reading as an EOF without close_notify
[ "$(result "$tmp/tlsreset.out" end)" = tls-error:SSLEOFError ] ||
    [ "$(result "$tmp/tlsreset.out" end)" = reset ] ||
    fail "TLS: the connection ended cleanly: $(sed -n 's/^result //p' "$tmp/tlsreset.out")"

# ---- stall_after = 100: 100 bytes, then silence, reading stops, idle_timeout ends it
(printf '%01000d' 0; sleep 2) | timeout 1 nc 127.0.0.1 "$PS" >"$tmp/stall.nc" 2>&1
[ $? -eq 124 ] || fail "nc did not wait on a stalled connection"
[ "$(wc -c <"$tmp/stall.nc")" -eq 100 ] || fail "nc got $(wc -c <"$tmp/stall.nc") bytes, not 100"
spawn $MB chunks --send 1000 --quiet-s 1.5 127.0.0.1 "$PS" >"$tmp/stall.out"
STALLER=$SPAWN_PID
wait_log_count 'misbehave stall listener=stall bytes_out=100' 2 || fail "no second stall logged"
admin CONNS >"$tmp/conns.out"
grep -q '^conn=[0-9]* listener=stall .*bytes_in=1000 bytes_out=100 pending_out=900 .* misbehave=stalled' \
    "$tmp/conns.out" || fail "CONNS does not show the stall: $(cat "$tmp/conns.out")"
wait_exit "$STALLER" 10 || fail "mbclient still waiting"
[ "$(result "$tmp/stall.out" end)" = silence ] || fail "stall: $(cat "$tmp/stall.out")"
[ "$(result "$tmp/stall.out" bytes)" = 100 ] && [ "$(result "$tmp/stall.out" match)" = yes ] ||
    fail "stall: $(sed -n 's/^result //p' "$tmp/stall.out")"
# tclient (C), a client that stays: 100 bytes, then silence until the server's
# idle_timeout (3 s after the last byte) ends it
t0=$(now_ms)
spawn tclient fetch -n 1000 127.0.0.1 "$PS" 2000 >"$tmp/stall.fetch" 2>"$tmp/stall.fetch.err"
wait_exit "$SPAWN_PID" 15 || fail "the stalled connection outlived idle_timeout"
ms=$(($(now_ms) - t0))
note "stall, tclient: $(cat "$tmp/stall.fetch.err"), after $ms ms"
grep -q '^fetch: sent=1000 received=100 ' "$tmp/stall.fetch.err" ||
    fail "tclient: $(cat "$tmp/stall.fetch.err")"
[ "$ms" -ge 2900 ] || fail "tclient: the stalled connection ended after $ms ms, before idle_timeout"
tclient fetch -n 1000 127.0.0.1 "$PP" 100 >"$tmp/stall.ref" 2>/dev/null || fail "reference fetch"
cmp -s "$tmp/stall.ref" "$tmp/stall.fetch" || fail "tclient: wrong bytes before the stall"
expect_log 'close listener=stall .*reason=idle-timeout bytes_in=1000 bytes_out=100 duration_ms=3[0-9]{3}'

# ---- close_after = 400ms: the bytes so far, then a clean EOF
$MB chunks --send 10 --quiet-s 3 127.0.0.1 "$PC" >"$tmp/close.out" || fail "mbclient close"
note "close, python: $(sed -n 's/^result //p' "$tmp/close.out")"
[ "$(result "$tmp/close.out" end)" = eof ] || fail "close: $(cat "$tmp/close.out")"
[ "$(result "$tmp/close.out" bytes)" = 10 ] && [ "$(result "$tmp/close.out" match)" = yes ] ||
    fail "close: $(cat "$tmp/close.out")"
awk -v t="$(result "$tmp/close.out" conn_end_ms)" 'BEGIN { exit !(t >= 400 && t < 1500) }' ||
    fail "close: EOF $(result "$tmp/close.out" conn_end_ms) ms after connecting, not 400"
expect_log 'close listener=close .*reason=misbehave-close bytes_in=10 bytes_out=10'
# tclient (C): its 10 bytes back, then a clean EOF (FIN, no reset) at close_after
t0=$(now_ms)
tclient fetch -d 0123456789 127.0.0.1 "$PC" 100 >"$tmp/close.fetch" 2>"$tmp/close.fetch.err" ||
    fail "tclient close: $(cat "$tmp/close.fetch.err")"
ms=$(($(now_ms) - t0))
note "close, tclient: $(cat "$tmp/close.fetch.err"), after $ms ms"
grep -q '^fetch: sent=10 received=10 eof=clean$' "$tmp/close.fetch.err" ||
    fail "tclient close: $(cat "$tmp/close.fetch.err")"
[ "$(cat "$tmp/close.fetch")" = 0123456789 ] || fail "tclient close: '$(cat "$tmp/close.fetch")'"
[ "$ms" -ge 400 ] || fail "tclient saw the close after $ms ms"
# nc -d (reads the network only) ends at the EOF
t0=$(now_ms)
timeout 5 nc -d 127.0.0.1 "$PC" >"$tmp/close.nc" 2>&1 || fail "nc did not see the close (status $?)"
ms=$(($(now_ms) - t0))
note "close, nc: EOF after $ms ms"
[ "$ms" -ge 400 ] || fail "nc saw the close after $ms ms"
# socat with its input still open: the echo, then the EOF ends it (-t 0.2 s later)
printf 'hello\n' >"$tmp/hello"
feed "$tmp/hello" 10
t0=$(now_ms)
timeout 5 socat -t 0.2 - "TCP:127.0.0.1:$PC" <"$tmp/feed.fifo" >"$tmp/close.socat" \
    2>"$tmp/close.socat.err" || fail "socat: status $? $(cat "$tmp/close.socat.err")"
ms=$(($(now_ms) - t0))
note "close, socat: EOF, done after $ms ms"
[ "$(cat "$tmp/close.socat")" = hello ] || fail "socat: '$(cat "$tmp/close.socat")'"
[ "$ms" -ge 400 ] || fail "socat saw the close after $ms ms"
# over TLS: close_notify, so a clean end
$MB --tls "$CERTS/ca.pem" chunks --send 10 --quiet-s 3 127.0.0.1 "$PTC" >"$tmp/tlsclose.out" ||
    fail "mbclient TLS close"
[ "$(result "$tmp/tlsclose.out" end)" = eof ] && [ "$(result "$tmp/tlsclose.out" bytes)" = 10 ] ||
    fail "TLS close: $(sed -n 's/^result //p' "$tmp/tlsclose.out")"

# ---- the counters
admin 'STATS misbehave_' >"$tmp/stats.out"
for kv in 'resets_total{listener="reset",service="echo"}=4' \
    'resets_total{listener="treset",service="echo"}=2' \
    'stalls_total{listener="stall",service="echo"}=3' \
    'closes_total{listener="close",service="echo"}=4' \
    'closes_total{listener="tclose",service="echo"}=1' \
    'connections_total{listener="reset",service="echo"}=4' \
    'connections_total{listener="plain",service="echo"}=0'; do
	grep -q -F -x "misbehave_$kv" "$tmp/stats.out" || fail "no misbehave_$kv in: $(cat "$tmp/stats.out")"
done
stop_echod
