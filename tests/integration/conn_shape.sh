# conn_shape.sh: rate_limit shapes a connection's output with a token bucket
# and a timer. echo and chargen at 64K/s send within +-15% of the limit over
# a few seconds, byte-exact; reading pauses with the output, so a client
# that offers 10 MiB to a 64K/s echo is read only as fast as it is answered
# and the daemon's memory stays bounded; and the daemon sleeps between
# sends: little CPU and few loop wake-ups per second, never a busy loop. A
# shaped TLS echo is byte-exact at the same rate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"
. "$(dirname "$0")/tls_certs.sh"

RATE=65536
[ -n "$PYTHON" ] || skip "python3 not installed"
CERTS=$tmp/certs
tls_certs "$CERTS" || fail "cannot make the test certificates"
{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\nrate_limit = 64K/s\n\n'
	printf '[listener chargen]\nbind = 127.0.0.1:0\nservice = chargen\nrate_limit = 64K/s\n\n'
	printf '[listener tls]\nbind = 127.0.0.1:0\nservice = echo\nrate_limit = 64K/s\ntls = yes\n'
	printf 'tls_cert = %s\ntls_key = %s\n\n' "$CERTS/server.pem" "$CERTS/server.key"
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
EP=$(port_of echo) || fail "no echo port"
CP=$(port_of chargen) || fail "no chargen port"
TP=$(port_of tls) || fail "no tls port"

# within15 WHAT BYTES MS: BYTES in MS milliseconds is RATE +-15%.
within15()
{
	local bps=$(( $2 * 1000 / $3 ))

	note "$1: $2 bytes in $3 ms = $bps bytes/s (limit $RATE)"
	[ "$bps" -ge $((RATE * 85 / 100)) ] && [ "$bps" -le $((RATE * 115 / 100)) ] ||
	    fail "$1: $bps bytes/s is not within 15% of $RATE"
}

# loop_wakeups: voluntary context switches of the loop thread (one per sleep in epoll_wait).
loop_wakeups()
{
	sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$ECHOD_PID/task/$ECHOD_PID/status"
}

# chargen: 3 s worth; the stream is the RFC 864 one.
c0=$(cpu_ticks "$ECHOD_PID")
w0=$(loop_wakeups)
t0=$(date +%s%N)
tclient fetch 127.0.0.1 "$CP" $((3 * RATE)) >"$tmp/cg.out" 2>"$tmp/cg.err" || fail "chargen fetch"
t1=$(date +%s%N)
c1=$(cpu_ticks "$ECHOD_PID")
w1=$(loop_wakeups)
[ "$(wc -c <"$tmp/cg.out")" -eq $((3 * RATE)) ] || fail "chargen: $(cat "$tmp/cg.err")"
# The daemon's own account: bytes sent and the connection's duration.
wait_log 'close listener=chargen ' || fail "no close line for chargen"
line=$(grep 'close listener=chargen ' "$ECHOD_LOG" | head -n 1)
within15 chargen "$(field "$line" bytes_out)" "$(field "$line" duration_ms)"
"$PYTHON" -c '
import sys
ring = "".join(chr(32 + i) for i in range(95))
data = open(sys.argv[1], "rb").read().decode("ascii")
lines = "".join((ring * 2)[n % 95:n % 95 + 72] + "\r\n" for n in range(len(data) // 74 + 1))
sys.exit(0 if data == lines[:len(data)] else 1)
' "$tmp/cg.out" || fail "shaped chargen output is not the RFC 864 stream"
ms=$(( (t1 - t0) / 1000000 ))
hz=$(getconf CLK_TCK)
note "chargen: daemon cpu $(( (c1 - c0) * 1000 / hz )) ms, loop wake-ups $((w1 - w0)) in $ms ms"
# A busy loop burns the CPU; waking per byte or per millisecond shows in
# the wake-ups. Shaped at 64K/s the loop wakes some 40 times a second for
# the shaper, 10 for the lag monitor.
[ $(( (c1 - c0) * 1000 / hz )) -le $((ms / 10)) ] || fail "chargen shaping used $((c1 - c0)) ticks in $ms ms"
[ $(( (w1 - w0) * 1000 / ms )) -le 250 ] || fail "$((w1 - w0)) loop wake-ups in $ms ms of shaping"

# echo: 192K through a 64K/s echo, verified byte by byte as it comes back.
tclient echo-bulk 127.0.0.1 "$EP" $((3 * RATE)) 11 >"$tmp/eb.out" 2>&1 ||
    fail "shaped echo-bulk: $(cat "$tmp/eb.out")"
within15 echo $((3 * RATE)) "$(sed -n 's/.* ms=\([0-9]*\) .*/\1/p' "$tmp/eb.out")"

# TLS: the shaper writes through SSL_write in pieces of its own choosing.
"$PYTHON" -c '
# One thread: an SSL object must not be read and written from two at once.
import os, selectors, socket, ssl, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(cafile=sys.argv[3])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="localhost")
s.setblocking(False)
data = os.urandom(n)
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
t0 = time.monotonic()
sent, got = 0, bytearray()
while len(got) < n and time.monotonic() - t0 < 20:
    sel.select(1)
    if sent < n:
        try:
            sent += s.send(data[sent:sent + 16384])
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        if sent == n:
            sel.modify(s, selectors.EVENT_READ)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass
    else:
        break
ms = int((time.monotonic() - t0) * 1000)
print(len(got), ms, "exact" if bytes(got) == data else "different")
' "$TP" $((2 * RATE)) "$CERTS/ca.pem" >"$tmp/tls.out" 2>&1 || fail "shaped TLS echo: $(cat "$tmp/tls.out")"
set -- $(cat "$tmp/tls.out")
[ "$1" -eq $((2 * RATE)) ] && [ "$3" = exact ] || fail "shaped TLS echo: $(cat "$tmp/tls.out")"
within15 "TLS echo" "$1" "$2"

# 10 MiB offered to the 64K/s echo by a client that reads everything: the
# daemon reads only as fast as it sends, its memory does not grow.
rss0=$(rss_kb "$ECHOD_PID")
c0=$(cpu_ticks "$ECHOD_PID")
spawn tclient echo-bulk 127.0.0.1 "$EP" 10M 12 >"$tmp/big.out" 2>&1
BIG=$SPAWN_PID
sleep 3
admin CONNS | grep ' listener=echo ' >"$tmp/conns.out"
rss1=$(rss_kb "$ECHOD_PID")
c1=$(cpu_ticks "$ECHOD_PID")
stop_pid "$BIG"
in=$(sed -n 's/.* bytes_in=\([0-9]*\) .*/\1/p' "$tmp/conns.out")
out=$(sed -n 's/.* bytes_out=\([0-9]*\) .*/\1/p' "$tmp/conns.out")
pend=$(sed -n 's/.* pending_out=\([0-9]*\) .*/\1/p' "$tmp/conns.out")
[ -n "$in" ] || fail "no CONNS line for the 10 MiB client"
note "10 MiB offered, after 3 s: bytes_in=$in bytes_out=$out pending_out=$pend rss ${rss0} -> ${rss1} KiB"
# at most the high watermark (256K) and one read (64K) ahead of what was sent
[ "$in" -le $((out + 256 * 1024 + 64 * 1024)) ] || fail "read $in bytes for $out sent"
[ "$in" -le $((1024 * 1024)) ] || fail "read $in of 10 MiB in 3 s at 64K/s"
[ "$out" -le $((4 * RATE)) ] || fail "sent $out bytes in 3 s at 64K/s"
[ $((rss1 - rss0)) -le 4096 ] || fail "RSS grew from $rss0 to $rss1 KiB"
[ $((c1 - c0)) -le $((hz * 3 / 10)) ] || fail "the paused echo used $((c1 - c0)) ticks in 3 s"
stop_echod
note ok
