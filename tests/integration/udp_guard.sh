# udp_guard.sh: a UDP listener is not a reflector.
#   1. the per-source reply budget: packets (udp_reply_rate) and bytes
#      (udp_reply_bandwidth) per second, per source, a second source has its own;
#   2. the access lists of the listener apply to each datagram;
#   3. the loop guard: no reply to port 0 or to 7, 9, 13, 19, 37 (root only:
#      binding those ports and sending from port 0 need privileges);
#   4. no reply to a request sent to a broadcast address (udp:*:P);
#   5. the send queue: replies a full socket does not take wait, up to
#      udp_send_queue bytes, and go out in order once it drains; the rest
#      are dropped and counted (sendmmsg sees a full socket through the
#      fault library, tests/fault/, since loopback never fills one);
# and every drop in STATS udp_datagrams_dropped_total by reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/udp_lib.sh"

[ -r "${FAULT_LIB:-}" ] || fail "not built: the fault library (make check builds it)"
[ "${SANITIZER:-}" != tsan ] || skip "the preloaded fault library and TSan's interceptors do not mix"

dropped()
{
	stat "udp_datagrams_dropped_total{listener=\"$1\",service=\"$2\",reason=\"$3\"}"
}

cat >"$tmp/g.ini" <<INI
[listener rate]
bind = udp:127.0.0.1:0
service = echo
udp_reply_rate = 5/s

[listener bytes]
bind = udp:127.0.0.1:0
service = echo
udp_reply_rate = 0
udp_reply_bandwidth = 100K/s

[listener lists]
bind = udp:127.0.0.1:0
service = echo
deny = 127.0.0.2
allow = 127.0.0.0/8

[listener only3]
bind = udp:127.0.0.1:0
service = echo
allow = 127.0.0.3

[listener wild]
bind = udp:*:0
service = echo

[listener queue]
bind = udp:127.0.0.1:0
service = echo
udp_send_queue = 2600

$(admin_ini)
INI
# The fault library fails sendmmsg only while its rules file says so;
# sanitizer runtimes are told they need not come first (the library is
# preloaded before them).
: >"$tmp/faults"
ECHOD_FAULT_FILE=$tmp/faults
LD_PRELOAD=$FAULT_LIB
ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0
export ECHOD_FAULT_FILE LD_PRELOAD ASAN_OPTIONS
start_echod "$tmp/g.ini"
unset LD_PRELOAD
R=$(port_of rate) || fail "no rate port"
B=$(port_of bytes) || fail "no bytes port"
L=$(port_of lists) || fail "no lists port"
O=$(port_of only3) || fail "no only3 port"
W=$(port_of wild) || fail "no wild port"
Q=$(port_of queue) || fail "no queue port"

# ---------------------------------------------------------------- 1. budget
# 20 at once from one source: the bucket holds one second, 5 (a 6th may
# have refilled if sending took 200 ms on a loaded machine).
out=$(udp 127.0.0.1 "$R" --data burst --count 20 --all --timeout 1)
n=$(udp_replies "$out")
[ "$n" -ge 5 ] && [ "$n" -le 6 ] || fail "rate 5/s: $n replies to a burst of 20"
[ "$(dropped rate echo budget)" -eq $((20 - n)) ] ||
    fail "budget drops $(dropped rate echo budget), expected $((20 - n))"
# Another source has its own budget.
out=$(udp 127.0.0.1 "$R" --data other --count 5 --from 127.0.0.2 --timeout 1)
[ "$(udp_replies "$out")" = 5 ] || fail "a second source did not get its own budget: $out"
expect_log 'udp dropped listener=rate peer=127\.0\.0\.1:[0-9]+ reason=budget'
# The admin console's SOURCES shows the UDP source with its listener and refusals.
echo SOURCES | nc -N -U "$ADMIN_SOCK" >"$tmp/sources.txt"
grep -q -E "^source=127\.0\.0\.1 listener=rate conns=0 accepted=0 refused=$((20 - n)) " \
    "$tmp/sources.txt" || fail "SOURCES: $(cat "$tmp/sources.txt")"
# Bytes: 100K/s, the bucket holds 100K: two 40,000-byte replies, not a third.
out=$(udp 127.0.0.1 "$B" --size 40000 --count 3 --all --timeout 1)
[ "$(udp_replies "$out")" = 2 ] || fail "100K/s: $(udp_replies "$out") replies of 40,000 bytes"
[ "$(dropped bytes echo budget)" = 1 ] || fail "byte budget drop not counted"

# ---------------------------------------------------------------- 2. access lists
out=$(udp 127.0.0.1 "$L" --data ok)
[ "$(udp_replies "$out")" = 1 ] || fail "allowed source refused"
out=$(udp 127.0.0.1 "$L" --data no --from 127.0.0.2 --timeout 0.5)
[ "$(udp_replies "$out")" = 0 ] || fail "denied source answered"
[ "$(dropped lists echo deny_list)" = 1 ] || fail "deny_list drop not counted"
expect_log 'udp dropped listener=lists peer=127\.0\.0\.2:[0-9]+ reason=deny_list rule=127\.0\.0\.2'
out=$(udp 127.0.0.1 "$O" --data no --timeout 0.5)
[ "$(udp_replies "$out")" = 0 ] || fail "a source outside allow answered"
[ "$(dropped only3 echo not_allowed)" = 1 ] || fail "not_allowed drop not counted"
out=$(udp 127.0.0.1 "$O" --data yes --from 127.0.0.3)
[ "$(udp_replies "$out")" = 1 ] || fail "the allowed source was refused"

# ---------------------------------------------------------------- 3. loop guard
if [ "$(id -u)" = 0 ]; then
	sent=0
	for p in 7 9 13 19 37; do
		out=$(udp 127.0.0.1 "$W" --data loop --from "127.0.0.1:$p" --timeout 0.5 2>/dev/null) ||
		    continue	# that port is in use here
		[ "$(udp_replies "$out")" = 0 ] || fail "a request from port $p was answered"
		sent=$((sent + 1))
	done
	[ "$sent" -gt 0 ] || fail "no port of 7, 9, 13, 19, 37 could be bound"
	[ "$(dropped wild echo loop_port)" = "$sent" ] ||
	    fail "loop_port drops $(dropped wild echo loop_port), expected $sent"
	if "$PYTHON" "$UDPC" zeroport 127.0.0.1 "$W"; then
		wait_until 2 '[ "$(dropped wild echo port_zero)" = 1 ]' ||
		    fail "port 0 drop not counted"
	else
		note "no raw socket: the port 0 case is skipped"
	fi
else
	note "not root: ports 7, 9, 13, 19, 37 and 0 cannot be sent from; loop guard skipped"
fi

# ---------------------------------------------------------------- 4. broadcast
# 127.255.255.255 is lo's broadcast address (ip route show table local).
out=$(udp 127.255.255.255 "$W" --data all --broadcast --timeout 0.5 2>&1) ||
    fail "cannot send to 127.255.255.255: $out"
[ "$(udp_replies "$out")" = 0 ] || fail "a broadcast request was answered: $out"
[ "$(dropped wild echo dest_not_unicast)" = 1 ] || fail "dest_not_unicast drop not counted"
out=$(udp 127.0.0.9 "$W" --data unicast)
[ "$(udp_replies "$out")" = 1 ] || fail "unicast to the wildcard bind after the broadcast"

# ---------------------------------------------------------------- 5. send queue
# Each 1,000-byte reply takes 1,000 bytes and an entry header (about 200)
# of the 2,600-byte queue: two fit, the other eight are dropped.
# The library reads its rules file at most every 50 ms.
echo 'sendmmsg=EAGAIN' >"$tmp/faults.new" && mv "$tmp/faults.new" "$tmp/faults"
sleep 0.2
"$PYTHON" - "$Q" >"$tmp/q.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("port=%d" % s.getsockname()[1], flush=True)
for i in range(10):
    s.sendto(bytes([48 + i]) * 1000, ("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
got = []
try:
    while len(got) < 10:
        r, _ = s.recvfrom(2000)
        got.append(chr(r[0]))
        s.settimeout(1)
except socket.timeout:
    pass
print("got=" + "".join(got), flush=True)
PY
QPID=$!
LIB_PIDS="$LIB_PIDS $QPID"
wait_until 10 '[ "$(stat "udp_datagrams_received_total{listener=\"queue\",service=\"echo\"}")" = 10 ]' ||
    fail "the queue listener did not read 10 datagrams"
qb=$(stat 'udp_send_queue_bytes{listener="queue",service="echo"}')
[ "$qb" -gt 2000 ] && [ "$qb" -le 2600 ] || fail "send queue holds $qb bytes, expected 2 replies"
[ "$(dropped queue echo queue_full)" = 8 ] || fail "queue_full drops $(dropped queue echo queue_full)"
[ "$(stat 'udp_datagrams_sent_total{listener="queue",service="echo"}')" = 0 ] ||
    fail "sent while the socket was full"
: >"$tmp/faults.new" && mv "$tmp/faults.new" "$tmp/faults"
wait_exit "$QPID" 30 || fail "the queue client did not finish"
grep -q '^got=01$' "$tmp/q.out" || fail "after the socket drained: $(cat "$tmp/q.out")"
[ "$(stat 'udp_send_queue_bytes{listener="queue",service="echo"}')" = 0 ] || fail "queue not empty"
[ "$(stat 'udp_datagrams_sent_total{listener="queue",service="echo"}')" = 2 ] ||
    fail "queued replies not counted as sent"

no_log 'udp receive error'
stop_echod
