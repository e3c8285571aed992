# conn_idle.sh: idle_timeout closes a quiet connection (cleanly, with a
# reason=idle-timeout log line); traffic keeps a connection alive; a listener
# without a short idle_timeout leaves it open.
. "$(dirname "$0")/lib.sh"

cat >"$tmp/echod.ini" <<INI
[log]
level = info
connections = yes

[listener idle1]
bind = 127.0.0.1:0
service = echo
idle_timeout = 1s

[listener idle800]
bind = 127.0.0.1:0
service = echo
idle_timeout = 800ms

[listener noidle]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
P1=$(port_of idle1) || fail "no port for idle1"
P8=$(port_of idle800) || fail "no port for idle800"
PN=$(port_of noidle) || fail "no port for noidle"

spawn tclient hold 127.0.0.1 "$P1" 5 >"$tmp/h1.out"
H1=$SPAWN_PID
spawn tclient hold 127.0.0.1 "$P8" 5 >"$tmp/h8.out"
H8=$SPAWN_PID
spawn tclient hold 127.0.0.1 "$PN" 3 >"$tmp/hn.out"
HN=$SPAWN_PID
# Round trips every 400 ms for 2.4 s: never idle for a whole second.
tclient rtt -i 400 127.0.0.1 "$P1" 7 >"$tmp/rtt.out" || fail "a busy connection was closed as idle"

# closed_after NAME LO HI: the hold client saw a clean close between LO and HI ms.
closed_after()
{
	local ms

	grep -q 'peer-closed' "$tmp/$1.out" || fail "$1: not closed: $(cat "$tmp/$1.out")"
	grep -q 'eof=clean' "$tmp/$1.out" || fail "$1: not a clean close: $(cat "$tmp/$1.out")"
	ms=$(sed -n 's/.*after_ms=\([0-9]*\).*/\1/p' "$tmp/$1.out")
	[ "$ms" -ge "$2" ] && [ "$ms" -le "$3" ] || fail "$1: closed after $ms ms, expected $2..$3"
	note "$1: closed after $ms ms"
}
for p in $H1 $H8 $HN; do
	wait_exit "$p" 10 || fail "a hold client did not finish"
	[ "$WAIT_STATUS" -eq 0 ] || fail "a hold client failed"
done
closed_after h1 900 3000
closed_after h8 700 2500
grep -q 'held' "$tmp/hn.out" || fail "noidle: closed early: $(cat "$tmp/hn.out")"
[ "$(log_count 'close listener=idle1 .*reason=idle-timeout')" -eq 1 ] ||
    fail "idle1: expected exactly one idle-timeout close"
expect_log 'close listener=idle800 .*reason=idle-timeout'
no_log 'close listener=noidle .*reason=idle-timeout'

stop_echod
note ok
