# access_log.sh: refusals are logged without flooding. 300 connections
# refused within about a second give at most one "refused listener=..." line
# per reason per second, each with the count of lines suppressed before it,
# and a "refused reason=R suppressed=N (not logged one by one)" summary once
# the second is over; the lines plus the suppressed counts add up to the
# refusal counter. Another reason in the same second still gets its line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

[ -n "$PYTHON" ] || skip "python3 not installed"
N=300
{
	admin_section
	printf '[listener shut]\nbind = 127.0.0.1:0\nservice = echo\ndeny = 127.0.0.0/8\n\n'
	printf '[listener picky]\nbind = 127.0.0.1:0\nservice = echo\nallow = 192.0.2.1\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
SP=$(port_of shut) || fail "no port for shut"
PP=$(port_of picky) || fail "no port for picky"

# N connections as fast as one process can open them; each is refused at accept.
"$PYTHON" -c '
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t0 = time.monotonic()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.close()
print("%d connections in %.0f ms" % (n, (time.monotonic() - t0) * 1000))
' "$SP" "$N" >"$tmp/flood.out" 2>&1 || fail "flood client: $(cat "$tmp/flood.out")"
note "$(cat "$tmp/flood.out")"
expect_refused 127.0.0.1 "$PP"
expect_stat 'connections_rejected_total{listener="shut",service="echo",reason="deny_list"}' "$N"
expect_stat 'connections_rejected_total{listener="picky",service="echo",reason="not_allowed"}' 1
# The other reason was logged at once, though deny_list lines were being suppressed.
expect_log 'refused listener=picky peer=127\.0\.0\.1:[0-9]+ reason=not_allowed suppressed=0$'
# The summary of the suppressed ones comes within the next seconds.
expect_log 'refused reason=deny_list suppressed=[0-9]+ \(not logged one by one\)' 5
sleep 1.2
lines=$(log_count 'refused listener=shut ')
suppressed=$(log_sum suppressed 'refused (listener=shut |reason=deny_list suppressed=)')
note "deny_list: $lines lines, $suppressed suppressed"
[ $((lines + suppressed)) -eq "$N" ] ||
    fail "$lines lines + $suppressed suppressed != $N refusals"
# One line a second at most: the flood took well under 10 s.
[ "$lines" -ge 1 ] && [ "$lines" -le 10 ] || fail "$lines refusal lines for $N refusals"
[ "$(log_count 'refused reason=picky|refused reason=not_allowed')" -eq 0 ] ||
    fail "a summary line for not_allowed, which suppressed nothing"
stop_echod
note ok
