# misbehave_slice.sh: slice_size and slice_delay with real clients. Output
# arrives in pieces of at most slice_size, slice_delay apart, every byte the
# right one (mbclient.py times each recv); over TLS each piece is its own
# records, never corrupted: python's ssl reads no record larger than the
# slice, and 1 MiB through socat (sliced and delayed) comes back byte for
# byte. chargen, which produces as fast as it may, is sliced too and
# keeps to its pattern.
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
	printf '[listener sliced]\nbind = 127.0.0.1:0\nservice = echo\n'
	printf 'slice_size = 10\nslice_delay = 20ms\n\n'
	printf '[listener trickle]\nbind = 127.0.0.1:0\nservice = chargen\n'
	printf 'slice_size = 100\nslice_delay = 10ms\n\n'
	tls_listener_ini tsliced echo 'slice_size = 100' 'slice_delay = 5ms' 'delay = 30ms'
	tls_listener_ini tbulk echo 'slice_size = 1000' 'delay = 10ms'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PS=$(port_of sliced) || fail "no sliced listener"
PC=$(port_of trickle) || fail "no trickle listener"
PT=$(port_of tsliced) || fail "no tsliced listener"
PB=$(port_of tbulk) || fail "no tbulk listener"

# result FILE KEY: a field of mbclient's summary line
result()
{
	sed -n 's/^result //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# 100 bytes in ten slices of 10, 20 ms apart: about 180 ms from first to last.
$MB chunks --send 100 --quiet-s 1 127.0.0.1 "$PS" >"$tmp/plain.out" || fail "mbclient chunks"
note "plain: $(sed -n 's/^result //p' "$tmp/plain.out")"
[ "$(result "$tmp/plain.out" match)" = yes ] || fail "wrong bytes: $(cat "$tmp/plain.out")"
[ "$(result "$tmp/plain.out" bytes)" = 100 ] || fail "not every byte: $(cat "$tmp/plain.out")"
# What the server sent by time t (since the client's send) is at most one
# slice per 20 ms begun: checked at every recv, whatever the client's own
# scheduling merged (2 ms for the clock read after the send).
awk '/^chunk/ { split($2, t, "="); split($3, n, "="); got += n[2]
	if (got > 10 * (int((t[2] + 2) / 20) + 1)) { print; bad = 1 } } END { exit bad }' \
    "$tmp/plain.out" || fail "slices faster than 10 bytes per 20 ms: $(cat "$tmp/plain.out")"
[ "$(result "$tmp/plain.out" chunks)" -ge 5 ] || fail "hardly sliced: $(cat "$tmp/plain.out")"
awk -v t="$(result "$tmp/plain.out" last_ms)" 'BEGIN { exit !(t >= 178) }' ||
    fail "the last slice came too early: $(cat "$tmp/plain.out")"
[ "$(result "$tmp/plain.out" end)" = silence ] || fail "the connection ended: $(cat "$tmp/plain.out")"

# chargen through the slicer: pieces of 100 bytes, its pattern intact.
timeout 2 nc 127.0.0.1 "$PC" </dev/null >"$tmp/chargen.out" 2>/dev/null
n=$(wc -c <"$tmp/chargen.out")
note "chargen sliced for 2 s: $n bytes"
[ "$n" -ge 5000 ] && [ "$n" -le 20200 ] || fail "chargen at 100 bytes per 10 ms sent $n bytes in 2 s"
# every byte: line N is 72 characters from ' ' + N mod 95, then CRLF (RFC 864)
python3 -c '
import sys
got = open(sys.argv[1], "rb").read()
want = b"".join(bytes(32 + (n + i) % 95 for i in range(72)) + b"\r\n"
                for n in range(len(got) // 74 + 1))
sys.exit(got != want[:len(got)])' "$tmp/chargen.out" || fail "chargen pattern broken by the slicer"

# TLS: 1000 bytes in records of at most 100, the first after the delay.
$MB --tls "$CERTS/ca.pem" chunks --send 1000 --quiet-s 1 127.0.0.1 "$PT" >"$tmp/tls.out" ||
    fail "mbclient over TLS"
note "tls: $(sed -n 's/^result //p' "$tmp/tls.out")"
[ "$(result "$tmp/tls.out" match)" = yes ] || fail "TLS: wrong bytes: $(cat "$tmp/tls.out")"
[ "$(result "$tmp/tls.out" bytes)" = 1000 ] || fail "TLS: not every byte: $(cat "$tmp/tls.out")"
[ "$(result "$tmp/tls.out" max_chunk)" -le 100 ] || fail "TLS: a record above 100 bytes"
[ "$(result "$tmp/tls.out" chunks)" -ge 10 ] || fail "TLS: fewer than 10 pieces"
awk -v t="$(result "$tmp/tls.out" first_ms)" 'BEGIN { exit !(t >= 29) }' ||
    fail "TLS: the first slice came before the delay: $(cat "$tmp/tls.out")"

# TLS bulk: 1 MiB both ways at once, sliced into 1000-byte records and
# delayed, byte for byte through socat's TLS client (which ends with
# close_notify and keeps reading).
head -c 1048576 /dev/urandom >"$tmp/bulk.in"
timeout 60 socat -t 30 - "OPENSSL:127.0.0.1:$PB,verify=0" <"$tmp/bulk.in" \
    >"$tmp/bulk.out" 2>"$tmp/socat.err" || fail "socat exited with $?: $(cat "$tmp/socat.err")"
cmp "$tmp/bulk.in" "$tmp/bulk.out" || fail "1 MiB through sliced, delayed TLS changed"
expect_log 'close listener=tbulk .*reason=eof bytes_in=1048576 bytes_out=1048576'
stop_echod
