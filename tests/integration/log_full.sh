# log_full.sh: a log file that cannot be written (the disk is full) costs
# records, never service. echod logs at debug level with connection records
# into file:/dev/full (every write fails with ENOSPC) and serves echo on a
# unix socket, since its "listening" line is lost too. Connections and round
# trips work normally and SIGTERM still ends it with status 0.
. "$(dirname "$0")/lib.sh"

[ -w /dev/full ] || skip "no /dev/full"

CONNS=200
SOCK=$tmp/echo.sock

cat >"$tmp/full.ini" <<INI
[log]
level = debug
connections = yes
target = file:/dev/full

[listener echo]
bind = unix:$SOCK
service = echo
INI

echod_spawn "$ECHOD" -f -c "$tmp/full.ini"

wait_until 15 '{ [ -S "$SOCK" ] && tclient connect "unix:$SOCK" - >/dev/null 2>&1; } ||
    ! proc_alive "$ECHOD_PID"' || fail "echod not accepting on $SOCK within 15 s"
proc_alive "$ECHOD_PID" || fail "echod exited during start-up: $(cat "$ECHOD_LOG")"

i=0
while [ "$i" -lt "$CONNS" ]; do
	tclient hold -e -q "unix:$SOCK" - 5 >"$tmp/hold.out" 2>&1 ||
	    fail "connection $i: $(cat "$tmp/hold.out")"
	i=$((i + 1))
done
tclient rtt "unix:$SOCK" - 2000 >"$tmp/rtt.out" || fail "round trips failed: $(cat "$tmp/rtt.out")"
note "$(cat "$tmp/rtt.out")"
P99=$(field "$(grep '^rtt: ok' "$tmp/rtt.out")" p99_us)
[ -n "$P99" ] && [ "$P99" -lt 200000 ] || fail "p99 round trip ${P99:-?} us with a full log disk"

kill -TERM "$ECHOD_PID"
echod_wait_exit 15 || fail "echod still running 15 s after SIGTERM"
[ "$ECHOD_STATUS" -eq 0 ] || fail "echod exited with status $ECHOD_STATUS"
exit 0
