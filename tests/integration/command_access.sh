# command_access.sh: the command service is not an open door. `commands =`
# lists what a listener offers (others answer "-ERR X is not offered here",
# HELP lists only the offered ones); `auto` offers RESOLVE only on
# connections to a loopback address, shown in a network namespace of our
# own with a non-loopback address when we may create one, and for a client
# behind a PROXY protocol balancer on the address it connected to (the
# header's destination), not the balancer's connection. line_timeout
# closes a client that dribbles a line (reason line-timeout) while whole
# lines are unaffected; an endless telnet subnegotiation is cut by length
# (an error, then close) and by time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

[ -n "$PYTHON" ] || skip "python3 not installed"
nc -h 2>&1 | grep -q -E -- '-N[[:space:]]+Shutdown' || skip "OpenBSD nc (with -N) not installed"

{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener some]\nbind = 127.0.0.1:0\nservice = command\ncommands = PING, ECHO time\n\n'
	printf '[listener auto]\nbind = 127.0.0.1:0\nservice = command\n\n'
	printf '[listener slow]\nbind = 127.0.0.1:0\nservice = command\nline_timeout = 1s\n\n'
	printf '[listener proxied]\nbind = 127.0.0.1:0\nservice = command\nproxy_protocol = v1\n'
	printf 'proxy_from = 127.0.0.1\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
SP=$(port_of some) || fail "no port for some"
AP=$(port_of auto) || fail "no port for auto"
LP=$(port_of slow) || fail "no port for slow"
XP=$(port_of proxied) || fail "no port for proxied"

# talk PORT INPUT: the replies (CRs stripped) to INPUT, sent at once then EOF.
talk()
{
	printf "$2" | timeout 10 nc -N 127.0.0.1 "$1" | tr -d '\r'
}

talk "$SP" 'PING\nECHO hi\nTIME\nRESOLVE localhost\nDIGEST md5 x\nSLEEP 1\nHELP\nQUIT\n' >"$tmp/some.out"
sed -n 1p "$tmp/some.out" | grep -q '^+OK PONG$' || fail "PING on some: $(cat "$tmp/some.out")"
sed -n 2p "$tmp/some.out" | grep -q '^+OK hi$' || fail "ECHO on some: $(cat "$tmp/some.out")"
sed -n 3p "$tmp/some.out" | grep -q '^+OK [0-9-]*T[0-9:]*Z$' || fail "TIME on some"
sed -n 4,6p "$tmp/some.out" >"$tmp/some.err"
printf '%s\n' '-ERR RESOLVE is not offered here' '-ERR DIGEST is not offered here' \
    '-ERR SLEEP is not offered here' | diff -u - "$tmp/some.err" >&2 ||
    fail "commands not offered were not refused"
sed -n '7,$p' "$tmp/some.out" >"$tmp/some.help"
printf '%s\n' '+OK 5 lines' 'HELP - list the commands' \
    'QUIT - say goodbye and close the connection' 'PING - reply PONG' \
    'ECHO <text> - reply with the text' 'TIME - the current time, RFC 3339 UTC' '+OK bye' |
    diff -u - "$tmp/some.help" >&2 || fail "HELP on some lists more than what is offered"

# auto on a loopback address: RESOLVE is offered (numeric, and a name from /etc/hosts).
talk "$AP" 'RESOLVE 127.0.0.1\nRESOLVE localhost v4\nHELP\n' >"$tmp/auto.out"
printf '%s\n' '+OK 1 lines' '127.0.0.1' '+OK 1 lines' '127.0.0.1' | diff -u - "$(
    head -n 4 "$tmp/auto.out" >"$tmp/auto.head"; echo "$tmp/auto.head")" >&2 ||
    fail "RESOLVE on a loopback connection with commands = auto"
grep -q '^RESOLVE <host>' "$tmp/auto.out" || fail "HELP on auto does not list RESOLVE"

# Behind a balancer (on this machine, so the daemon's side is loopback),
# auto judges the address the client connected to: the header's dst.
resolve_via()
{
	"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$XP" --v1 "$1" --data 'RESOLVE 127.0.0.1
' --read 12 | tr -d '\r' | head -n 1
}
[ "$(resolve_via 'TCP4 203.0.113.5 198.51.100.7 1000 7008')" = '-ERR RESOLVE is not offered here' ] ||
    fail "RESOLVE offered to a proxied client that connected to 198.51.100.7"
[ "$(resolve_via 'TCP6 2001:db8::5 2001:db8::7 1000 7008')" = '-ERR RESOLVE is not offered here' ] ||
    fail "RESOLVE offered to a proxied client that connected to 2001:db8::7"
[ "$(resolve_via 'TCP4 203.0.113.5 127.0.0.1 1000 7008')" = '+OK 1 lines' ] ||
    fail "RESOLVE not offered to a proxied client that connected to 127.0.0.1"
[ "$(resolve_via UNKNOWN)" = '+OK 1 lines' ] ||
    fail "RESOLVE not offered with PROXY UNKNOWN on a loopback connection"

# line_timeout = 1s: a line dribbled a byte every 0.4 s is cut after 1 s...
t0=$(date +%s%N)
(for c in P I N G; do printf '%s' "$c"; sleep 0.4; done; printf '\n'; sleep 1) |
    timeout 10 nc 127.0.0.1 "$LP" | tr -d '\r' >"$tmp/dribble.out"
expect_log 'close listener=slow .*reason=line-timeout bytes_in=[1-4] '
[ ! -s "$tmp/dribble.out" ] || fail "the dribbled line was answered: $(cat "$tmp/dribble.out")"
line=$(close_line_of line-timeout)
ms=$(field "$line" duration_ms)
[ "$ms" -ge 1000 ] && [ "$ms" -lt 1800 ] || fail "line-timeout after $ms ms"
# ...and whole lines, one every 0.5 s for 3 s, are all answered.
(for i in 1 2 3 4 5 6; do printf 'PING\n'; sleep 0.5; done) |
    timeout 10 nc -N 127.0.0.1 "$LP" | tr -d '\r' >"$tmp/lines.out"
[ "$(grep -c '^+OK PONG$' "$tmp/lines.out")" -eq 6 ] || fail "whole lines: $(cat "$tmp/lines.out")"
[ "$(log_count 'reason=line-timeout')" -eq 1 ] || fail "a client sending whole lines met line_timeout"

# An endless telnet subnegotiation: IAC SB and 2000 bytes of IAC IAC.
"$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    s.sendall(b"\xff\xfa\x18" + b"\xff" * 4000)
except OSError:
    pass
out = b""
while True:
    try:
        d = s.recv(4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode("ascii", "replace"))
' "$AP" | tr -d '\r' >"$tmp/sb.out"
grep -q '^-ERR telnet subnegotiation too long$' "$tmp/sb.out" || fail "endless SB: $(cat "$tmp/sb.out")"
expect_log 'close listener=auto .*reason=(finished|eof|reset) bytes_in=[0-9]+ '
# ...and one dribbled a byte at a time is cut by line_timeout.
(printf '\377\372\030'; for i in 1 2 3 4 5; do printf 'x'; sleep 0.4; done) |
    timeout 10 nc 127.0.0.1 "$LP" >/dev/null
wait_log_count 'close listener=slow .*reason=line-timeout' 2 || fail "a dribbled SB was not cut"

# auto on a non-loopback address: an echod in a network namespace of ours,
# with 192.0.2.1 (TEST-NET-1) on its loopback interface and nothing else.
NS=echod-test-$$
if [ "$(id -u)" -ne 0 ] || ! have_cmd ip || ! ip netns add "$NS" 2>/dev/null; then
	note "cannot create a network namespace: RESOLVE on a non-loopback address not tested"
	stop_echod
	note ok
	exit 0
fi
trap 'rc_=$?; ip netns del "$NS" 2>/dev/null; (exit $rc_); lib_cleanup' EXIT
ip netns exec "$NS" ip link set lo up || fail "netns: lo up"
ip netns exec "$NS" ip addr add 192.0.2.1/32 dev lo || fail "netns: address"
stop_echod
ADMIN_SOCK=$tmp/admin2.sock
{
	admin_section
	printf '[listener wide]\nbind = 192.0.2.1:0\nservice = command\n\n'
	printf '[listener local]\nbind = 127.0.0.1:0\nservice = command\n\n'
} >"$tmp/ns.ini"
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$ECHOD" >"$tmp/echod-ns"
chmod +x "$tmp/echod-ns"
ECHOD_REAL=$ECHOD
ECHOD=$tmp/echod-ns
start_echod "$tmp/ns.ini"
ECHOD=$ECHOD_REAL
WP=$(port_of wide) || fail "no port for wide"
LP2=$(port_of local) || fail "no port for local"
printf 'RESOLVE 127.0.0.1\nHELP\n' | ip netns exec "$NS" timeout 10 nc -N 192.0.2.1 "$WP" |
    tr -d '\r' >"$tmp/wide.out"
head -n 1 "$tmp/wide.out" | grep -q '^-ERR RESOLVE is not offered here$' ||
    fail "RESOLVE offered on 192.0.2.1 with commands = auto: $(cat "$tmp/wide.out")"
grep -q '^RESOLVE' "$tmp/wide.out" && fail "HELP on a non-loopback address lists RESOLVE"
printf 'RESOLVE 127.0.0.1\n' | ip netns exec "$NS" timeout 10 nc -N 127.0.0.1 "$LP2" |
    tr -d '\r' | head -n 1 | grep -q '^+OK 1 lines$' || fail "RESOLVE refused on 127.0.0.1 in the namespace"
stop_echod
note ok
