# conn_limits.sh: what one connection may do. max_bytes counts bytes in and
# out together and closes the connection at exactly that count (reason
# max-bytes): reads and writes are cut to what is left, the output already
# accepted is delivered, byte-exact. max_lifetime closes a connection that
# is busy all along (reason max-lifetime), unlike idle_timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\nmax_bytes = 1000\n\n'
	printf '[listener chargen]\nbind = 127.0.0.1:0\nservice = chargen\nmax_bytes = 10000\n\n'
	printf '[listener life]\nbind = 127.0.0.1:0\nservice = echo\nmax_lifetime = 1500ms\n'
	printf 'idle_timeout = 1s\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
EP=$(port_of echo) || fail "no echo port"
CP=$(port_of chargen) || fail "no chargen port"
LP=$(port_of life) || fail "no life port"

# close_fields REASON N: bytes_in + bytes_out of the Nth close line with REASON.
close_total()
{
	grep -E " close listener=$1 .*reason=$2 " "$ECHOD_LOG" | sed -n "${3:-1}p" |
	    sed 's/.* bytes_in=\([0-9]*\) bytes_out=\([0-9]*\) .*/\1 \2/' | awk '{ print $1 + $2 }'
}

# Under the limit: an ordinary echo, closed at EOF.
tclient fetch -s -n 400 127.0.0.1 "$EP" 100000 >"$tmp/e400.out" 2>"$tmp/e400.err" ||
    fail "echo 400: $(cat "$tmp/e400.err")"
[ "$(wc -c <"$tmp/e400.out")" -eq 400 ] || fail "echo 400: $(cat "$tmp/e400.err")"
wait_log 'close listener=echo .*reason=eof bytes_in=400 bytes_out=400 ' || fail "no eof close for 400"

# 600 in: 400 of the echo fit; they arrive whole (the first 400 bytes sent),
# then a clean close with max-bytes at exactly 1000.
tclient fetch -s -n 600 127.0.0.1 "$EP" 100000 >"$tmp/e600.out" 2>"$tmp/e600.err" ||
    fail "echo 600: $(cat "$tmp/e600.err")"
grep -q 'received=400 eof=clean' "$tmp/e600.err" || fail "echo 600: $(cat "$tmp/e600.err")"
tclient fetch -s -n 400 127.0.0.1 "$EP" 400 >"$tmp/e400b.out" 2>/dev/null
cmp -s "$tmp/e600.out" "$tmp/e400b.out" || fail "the 400 bytes echoed under max_bytes differ"
expect_log 'close listener=echo .*reason=max-bytes bytes_in=600 bytes_out=400 '

# A client that sends far more than the limit at once: the connection still
# ends at 1000 bytes in + out, and what it got is what the log says it sent.
tclient fetch -n 100000 127.0.0.1 "$EP" 200000 >"$tmp/ebig.out" 2>"$tmp/ebig.err"
wait_log_count 'close listener=echo .*reason=max-bytes' 2 || fail "no max-bytes close for the big send"
[ "$(close_total echo max-bytes 2)" -eq 1000 ] ||
    fail "big send: $(grep 'close listener=echo' "$ECHOD_LOG" | tail -n 1)"
out=$(grep 'close listener=echo .*reason=max-bytes' "$ECHOD_LOG" | sed -n 2p |
    sed 's/.* bytes_out=\([0-9]*\) .*/\1/')
[ "$(wc -c <"$tmp/ebig.out")" -le "$out" ] || fail "the client got more than bytes_out=$out"

# chargen: exactly 10000 bytes of the stream, then a clean close.
tclient fetch 127.0.0.1 "$CP" 100000 >"$tmp/cg.out" 2>"$tmp/cg.err" || fail "chargen fetch"
grep -q 'received=10000 eof=clean' "$tmp/cg.err" || fail "chargen: $(cat "$tmp/cg.err")"
"$PYTHON" -c '
import sys
ring = "".join(chr(32 + i) for i in range(95))
lines = "".join((ring * 2)[n % 95:n % 95 + 72] + "\r\n" for n in range(200))
data = open(sys.argv[1], "rb").read().decode("ascii")
sys.exit(0 if data == lines[:len(data)] else 1)
' "$tmp/cg.out" || fail "chargen under max_bytes is not the RFC 864 stream"
expect_log 'close listener=chargen .*reason=max-bytes bytes_in=0 bytes_out=10000 '
expect_stat 'connections_closed_total{reason="max-bytes"}' 3

# max_lifetime = 1.5s with idle_timeout = 1s: a client that pings every
# 200 ms is never idle, and is still closed at 1.5 s.
tclient rtt -i 200 127.0.0.1 "$LP" 20 >"$tmp/rtt.out" 2>&1 &&
    fail "a 4 s client outlived max_lifetime = 1.5s"
expect_log 'close listener=life .*reason=max-lifetime '
ms=$(grep 'close listener=life .*reason=max-lifetime' "$ECHOD_LOG" | head -n 1 |
    sed 's/.* duration_ms=\([0-9]*\).*/\1/')
[ "$ms" -ge 1500 ] && [ "$ms" -lt 2500 ] || fail "closed by max_lifetime after $ms ms"
# An idle client meets idle_timeout first.
tclient hold 127.0.0.1 "$LP" 5 >"$tmp/hold.out" 2>&1
expect_log 'close listener=life .*reason=idle-timeout '
stop_echod
note ok
