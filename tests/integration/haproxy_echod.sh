# haproxy_echod.sh: the real HAProxy, configured by the shipped
# conf/haproxy-echod.cfg, in front of two echod instances, with clients from
# several loopback addresses (127.0.0.2, 127.0.0.3, ...). It shows:
#
#  - both instances are checked up (PING / +OK PONG on the command service,
#    behind a PROXY v2 LOCAL header);
#  - echod's close log lines and CONNS carry each client's own address;
#  - max_per_source and deny apply to the client, not to HAProxy;
#  - a graceful SIGTERM of the instance serving a client that is owed 32 MiB:
#    that client still gets every byte and a clean end; HAProxy marks the
#    instance down; echo sessions looping through the whole switch are never
#    refused, reset or cut, and every byte comes back exact; the instance,
#    started again on its ports, is marked up and serves again.
#
# The HAProxy configuration is the shipped file with the test's addresses
# substituted: the frontend binds fd@3 (a kernel-chosen port from
# proxy_recv -x), the servers and their check ports are the instances', the
# stats socket is in the test's directory, and the chroot, user and group
# lines are removed (the test need not run as root). HAProxy runs in the
# foreground and is stopped by its PID. Skipped (77) without haproxy.
: "${TEST_TIMEOUT:=180}"
. "$(dirname "$0")/lib.sh"

HAPROXY=$(command -v haproxy) || skip "haproxy not installed"
have_cmd socat || skip "socat not installed"
RECV=$top_builddir/tests/integration/proxy_recv
[ -x "$RECV" ] || fail "not built: $RECV"
CFG=$top_srcdir/conf/haproxy-echod.cfg
[ -f "$CFG" ] || fail "missing $CFG"

# conf NAME ECHO_PORT COMMAND_PORT: one instance behind HAProxy. The
# watermarks let it read a client's 32 MiB at once and owe all of it.
conf()
{
	cat >"$tmp/$1.ini" <<INI
[server]
shutdown_timeout = 60s
write_high_watermark = 64M
write_low_watermark = 32M

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:$2
service = echo
proxy_protocol = v2
proxy_from = 127.0.0.1
max_per_source = 2
deny = 127.0.0.6

[listener command]
bind = 127.0.0.1:$3
service = command
proxy_protocol = v2
proxy_from = 127.0.0.1

[listener admin]
bind = unix:$tmp/$1.sock
service = admin
INI
}

admin()
{
	printf '%s\n' "$2" | timeout 10 nc -N -U "$tmp/$1.sock" | tr -d '\r'
}

# start NAME ECHO_PORT COMMAND_PORT: PID, log and ports in NAME_PID,
# NAME_LOG, NAME_ECHO, NAME_CMD.
start()
{
	local e c

	conf "$@"
	start_echod "$tmp/$1.ini"
	e=$(port_of echo) || fail "$1: no echo port"
	c=$(port_of command) || fail "$1: no command port"
	eval "$1_PID=\$ECHOD_PID $1_LOG=\$ECHOD_LOG $1_ECHO=\$e $1_CMD=\$c"
}

# stop NAME: SIGTERM, then exit status 0 within 30 s.
stop()
{
	eval "ECHOD_PID=\$$1_PID ECHOD_LOG=\$$1_LOG"
	stop_echod 30
}

# srv_state SERVER: HAProxy's srv_op_state (0 down, 2 up) from the stats socket.
srv_state()
{
	echo "show servers state echod" | timeout 10 socat -t 5 - "UNIX-CONNECT:$tmp/haproxy.sock" |
	    awk -v n="$1" '$4 == n { print $6 }'
}

# wait_state SERVER STATE: bounded wait for HAProxy to see it.
wait_state()
{
	local ws_srv=$1 ws_state=$2

	wait_until 15 '[ "$(srv_state "$ws_srv")" = "$ws_state" ] || ! proc_alive "$HAPROXY_PID"' ||
	    fail "HAProxy: $1 not in state $2 after 15 s: $(srv_state "$1")"
	proc_alive "$HAPROXY_PID" || fail "HAProxy exited: $(tail -n 5 "$tmp/haproxy.log")"
}

# owner SOURCE: the instance (a or b) whose CONNS shows a client from SOURCE.
owner()
{
	local n

	for n in a b; do
		admin "$n" CONNS | grep -q -E "listener=echo peer=$1:[0-9]+ " && echo "$n"
	done
}

# ---- both instances, and HAProxy in front of them.
start a 0 0
start b 0 0
sed -e 's/^\tbind :7007$/\tbind fd@3/' \
    -e "s/ 127\\.0\\.0\\.1:7107 port 7108\$/ 127.0.0.1:$a_ECHO port $a_CMD/" \
    -e "s/ 127\\.0\\.0\\.1:7207 port 7208\$/ 127.0.0.1:$b_ECHO port $b_CMD/" \
    -e "s|/run/haproxy/echod\\.sock|$tmp/haproxy.sock|" \
    -e '/^\t\(chroot\|user\|group\) /d' "$CFG" >"$tmp/haproxy.cfg"
# Every substitution took: no shipped address is left outside comments.
left=$(grep -v '^[[:space:]]*#' "$tmp/haproxy.cfg" |
    grep -E ':7007|:7[12]0[0-9]|port 7[12]0[0-9]|/run/haproxy|chroot|^[[:space:]](user|group) ')
[ -z "$left" ] || fail "substitution missed: $left"
# haproxy -c, with a socket as fd 3 for the frontend.
"$RECV" -x "$tmp/check.port" "$HAPROXY" -c -f "$tmp/haproxy.cfg" >"$tmp/haproxy.check" 2>&1 ||
    fail "haproxy -c: $(cat "$tmp/haproxy.check")"
spawn "$RECV" -x "$tmp/fe.port" "$HAPROXY" -db -f "$tmp/haproxy.cfg" \
    </dev/null >"$tmp/haproxy.log" 2>&1
HAPROXY_PID=$SPAWN_PID
wait_file_grep '^[0-9]+$' 10 "$tmp/fe.port" || fail "no frontend socket for HAProxy"
FP=$(cat "$tmp/fe.port")
wait_state echod1 2
wait_state echod2 2
# The checks: PROXY v2 LOCAL, served with HAProxy's own address.
ECHOD_LOG=$a_LOG
expect_log "close listener=command peer=127\\.0\\.0\\.1:[0-9]+ .*bytes_in=12 bytes_out=19 .*proxy=v2 local"

# ---- the client's address in CONNS and in the close line.
spawn tclient -b 127.0.0.2 hold -e 127.0.0.1 "$FP" 30 >"$tmp/addr.out" 2>&1
ADDR=$SPAWN_PID
wait_file_grep '^hold: answered' 10 "$tmp/addr.out" || fail "127.0.0.2: $(cat "$tmp/addr.out")"
n=$(owner 127.0.0.2)
[ -n "$n" ] || fail "no instance shows peer=127.0.0.2 in CONNS: $(admin a CONNS; admin b CONNS)"
admin "$n" CONNS | grep -q -E "listener=echo peer=127\\.0\\.0\\.2:[0-9]+ .* via=127\\.0\\.0\\.1:[0-9]+ proxy=v2 src=127\\.0\\.0\\.2:" ||
    fail "CONNS: $(admin "$n" CONNS)"
kill -TERM "$ADDR"
wait_exit "$ADDR" 5 || fail "hold client still running"
eval "ECHOD_LOG=\$${n}_LOG"
expect_log "close listener=echo peer=127\\.0\\.0\\.2:[0-9]+ .* via=127\\.0\\.0\\.1:[0-9]+ proxy=v2 src=127\\.0\\.0\\.2:"
note "127.0.0.2 served by instance $n and shown with its own address"

# ---- max_per_source = 2 counts the client (per instance), not HAProxy:
# of five connections from 127.0.0.3 spread over two instances, four are
# served; 127.0.0.4 is served all the same.
HOLDS=
for i in 1 2 3 4 5; do
	spawn tclient -b 127.0.0.3 hold -e 127.0.0.1 "$FP" 60 >"$tmp/src3.$i.out" 2>&1
	HOLDS="$HOLDS $SPAWN_PID"
	wait_until 10 'grep -q -E "^hold: answered|connection closed" "$tmp/src3.$i.out"' ||
	    fail "127.0.0.3 connection $i: $(cat "$tmp/src3.$i.out")"
done
served=$(cat "$tmp"/src3.*.out | grep -c '^hold: answered')
closed=$(cat "$tmp"/src3.*.out | grep -c 'connection closed: eof=clean')
[ "$served" -eq 4 ] && [ "$closed" -eq 1 ] ||
    fail "127.0.0.3: $served served and $closed closed, want 4 and 1: $(cat "$tmp"/src3.*.out)"
tclient -b 127.0.0.4 hold -e -q 127.0.0.1 "$FP" 5 >"$tmp/src4.out" 2>&1 ||
    fail "127.0.0.4 refused while 127.0.0.3 is at its limit: $(cat "$tmp/src4.out")"
grep -h -E 'refused listener=echo peer=127\.0\.0\.3:[0-9]+ reason=max_per_source' "$a_LOG" "$b_LOG" |
    grep -q . || fail "no max_per_source refusal of 127.0.0.3 in the logs"
r=0
for n in a b; do
	v=$(admin "$n" 'STATS connections_rejected_total' |
	    sed -n 's/^connections_rejected_total{listener="echo",service="echo",reason="max_per_source"}=//p')
	r=$((r + ${v:-0}))
done
[ "$r" -eq 1 ] || fail "connections_rejected_total max_per_source: $r, want 1"
kill -TERM $HOLDS 2>/dev/null
for p in $HOLDS; do
	wait_exit "$p" 5 || fail "hold client still running"
done

# ---- deny = 127.0.0.6 refuses that client, not HAProxy or anyone else.
tclient -b 127.0.0.6 hold -e -q 127.0.0.1 "$FP" 5 >"$tmp/src6.out" 2>&1 &&
    fail "127.0.0.6 was served despite deny: $(cat "$tmp/src6.out")"
grep -q 'connection closed' "$tmp/src6.out" || fail "127.0.0.6: $(cat "$tmp/src6.out")"
grep -h -E 'refused listener=echo peer=127\.0\.0\.6:[0-9]+ reason=deny_list rule=127\.0\.0\.6' \
    "$a_LOG" "$b_LOG" | grep -q . || fail "no deny_list refusal of 127.0.0.6 in the logs"
tclient -b 127.0.0.7 hold -e -q 127.0.0.1 "$FP" 5 >"$tmp/src7.out" 2>&1 ||
    fail "127.0.0.7 refused: $(cat "$tmp/src7.out")"

# ---- graceful stop of one instance while clients run.
# A client from 127.0.0.8 sends 32 MiB without reading: its instance (x)
# reads it all and owes all of it when it is told to stop.
spawn tclient -T 120 -b 127.0.0.8 flood -r 127.0.0.1 "$FP" 32M 90 >"$tmp/flood.out" 2>&1
FLOOD=$SPAWN_PID
wait_file_grep '^flood: sent=33554432 stalled=no' 20 "$tmp/flood.out" ||
    fail "flood client: $(cat "$tmp/flood.out")"
x=$(owner 127.0.0.8)
case $x in
a) y=b; xs=echod1 ;;
b) y=a; xs=echod2 ;;
*) fail "the flood client is on no single instance: '$x'" ;;
esac
wait_until 10 'admin "$x" CONNS | grep -q -E "peer=127\\.0\\.0\\.8:[0-9]+ .* bytes_in=33554432 "' ||
    fail "instance $x did not read the 32 MiB: $(admin "$x" CONNS)"
note "the flood client is on instance $x; stopping it"

# Three echo loops from 127.0.0.10-12, 2 ms between sessions, through the switch.
LOOPS=
for i in 10 11 12; do
	spawn tclient -b "127.0.0.$i" echo-loop -b 3000 -i 2 127.0.0.1 "$FP" 100 \
	    >"$tmp/loop.$i.out" 2>&1
	LOOPS="$LOOPS $SPAWN_PID"
done
sleep 1
eval "x_pid=\$${x}_PID x_log=\$${x}_LOG x_echo=\$${x}_ECHO x_cmd=\$${x}_CMD"
kill -TERM "$x_pid"
ECHOD_LOG=$x_log
expect_log 'shutting down gracefully'
wait_state "$xs" 0
note "HAProxy marked $xs down"
sleep 1
ny0=$(admin "$y" 'STATS connections_total' | sed -n 's/^connections_total{listener="echo",service="echo"}=//p')
sleep 1
ny1=$(admin "$y" 'STATS connections_total' | sed -n 's/^connections_total{listener="echo",service="echo"}=//p')
[ "${ny1:-0}" -gt "${ny0:-0}" ] || fail "instance $y took no new connection ($ny0 -> $ny1)"
# Nothing new reached x after the signal.
sed -n '/shutting down gracefully/,$p' "$x_log" | grep -q ' open listener=echo ' &&
    fail "instance $x accepted after SIGTERM: $(sed -n '/shutting down gracefully/,$p' "$x_log" | grep -m 1 ' open listener=echo ')"
proc_alive "$x_pid" || fail "instance $x exited while it still owed the flood client"

# The flood client reads now: all 32 MiB, then a clean end; then x exits 0.
kill -USR1 "$FLOOD"
wait_exit "$FLOOD" 60 || fail "flood client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "flood client: $(cat "$tmp/flood.out")"
grep -q '^flood: received=33554432 eof=clean' "$tmp/flood.out" ||
    fail "flood client after the stop: $(tail -n 1 "$tmp/flood.out")"
wait_exit "$x_pid" 30 || fail "instance $x still running after its last client"
[ "$WAIT_STATUS" -eq 0 ] || fail "instance $x exited with status $WAIT_STATUS"
grep -q 'exiting status=0' "$x_log" || fail "instance $x: no 'exiting status=0'"

# x again, on its ports: HAProxy marks it up and sends it sessions.
start "$x" "$x_echo" "$x_cmd"
wait_state "$xs" 2
note "HAProxy marked $xs up again"
expect_log 'close listener=echo peer=127\.0\.0\.1[0-2]:[0-9]+ .*reason=eof bytes_in=3000 bytes_out=3000 ' 15

kill -USR1 $LOOPS
for p in $LOOPS; do
	wait_exit "$p" 30 || fail "echo loop still running"
done
for i in 10 11 12; do
	sum=$(grep '^echo-loop: .* sessions=' "$tmp/loop.$i.out")
	note "127.0.0.$i: ${sum#echo-loop: }"
	printf '%s\n' "$sum" | grep -q -E '^echo-loop: ok sessions=[1-9][0-9]* .* refused=0 reset=0 cut=0 ' ||
	    fail "127.0.0.$i: $(grep -v started "$tmp/loop.$i.out")"
done

# How the switch stayed invisible: the connections HAProxy opened to the
# stopped instance before its checks failed were refused and redispatched.
redis=$(echo "show stat" | timeout 10 socat -t 5 - "UNIX-CONNECT:$tmp/haproxy.sock" |
    awk -F, '$1 == "echod" && $2 == "BACKEND" { print $17 }')
note "HAProxy redispatched ${redis:-?} connections refused by the stopped instance"
[ "${redis:-0}" -gt 0 ] || fail "no redispatch: the switch was not exercised"

kill -TERM "$HAPROXY_PID"
wait_exit "$HAPROXY_PID" 10 || fail "HAProxy still running 10 s after SIGTERM"
stop a
stop b
