# shutdown_signals.sh: SIGTERM stops accepting, delivers every byte already
# read and owed to a client (even one that only starts reading later), closes
# idle connections, and exits 0; shutdown_timeout bounds the wait; a second
# signal exits at once; SIGINT is graceful too.
. "$(dirname "$0")/lib.sh"

# conf TIMEOUT [HIGH LOW]: an echo listener with the given shutdown_timeout
# and write watermarks.
conf()
{
	cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = $1
write_high_watermark = ${2:-256K}
write_low_watermark = ${3:-64K}

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}

# flood_client HOLD PATTERN [-r]: a client that sends until stalled (or all
# FLOOD_BYTES), then holds HOLD s or until SIGUSR1.
flood_client()
{
	spawn tclient -T 60 flood ${3:-} 127.0.0.1 "$P" "$FLOOD_BYTES" "$1" >"$tmp/flood$ECHOD_N.out" 2>&1
	FLOOD=$SPAWN_PID
	wait_file_grep "$2" 30 "$tmp/flood$ECHOD_N.out" ||
	    fail "flood: expected '$2', got: $(cat "$tmp/flood$ECHOD_N.out")"
}

# ---- 1: every byte read before SIGTERM is delivered, then exit 0. With a
# 64 MiB watermark the server reads all 8 MiB at once and owes all of it.
conf 10s 64M 32M
FLOOD_BYTES=8388608
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
flood_client 40 'flood: sent=8388608 stalled=no' -r
sleep 0.5
spawn tclient hold 127.0.0.1 "$P" 20 >"$tmp/idle.out"
IDLE=$SPAWN_PID
wait_log_count ' open listener=echo ' 2 || fail "idle client not accepted"
kill -TERM "$ECHOD_PID"
expect_log 'shutting down gracefully connections=2'
# The idle connection owes nothing: it is closed now, cleanly.
wait_exit "$IDLE" 5 || fail "idle connection not closed at shutdown"
grep -q 'peer-closed .*eof=clean' "$tmp/idle.out" || fail "idle client: $(cat "$tmp/idle.out")"
# New clients are not served any more (refused, or never answered).
tclient -T 5 hold -e -q 127.0.0.1 "$P" 1 >"$tmp/late.out" 2>&1
grep -q answered "$tmp/late.out" && fail "a new connection was served after SIGTERM"
proc_alive "$ECHOD_PID" || fail "echod exited before delivering the stalled client's data"
# The flood client reads only now; it must get all 8 MiB and a clean FIN.
kill -USR1 "$FLOOD"
wait_exit "$FLOOD" 40 || fail "flood client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "flood client failed: $(cat "$tmp/flood1.out")"
grep -q 'flood: received=8388608 eof=clean' "$tmp/flood1.out" ||
    fail "after SIGTERM: $(tail -n 1 "$tmp/flood1.out"), expected received=8388608 eof=clean"
echod_wait_exit 15 || fail "echod still running 15 s after the last client finished"
[ "$ECHOD_STATUS" -eq 0 ] || fail "exit status $ECHOD_STATUS after a graceful shutdown"
expect_log 'exiting status=0'
expect_log 'close listener=echo .*reason=[a-z-]+ bytes_in=8388608 bytes_out=8388608 '
grep -q 'signal=SIGTERM' "$ECHOD_LOG" || SIGNAME_BAD="$(grep -m 1 'signal=' "$ECHOD_LOG")"

# ---- 1b: the same with backpressure (256K watermark): the client stalls with
# input the server has not read; what the server did read comes back in full,
# then a clean FIN (not a reset that would throw away the client's data).
conf 10s
FLOOD_BYTES=64M
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
flood_client 40 'flood: sent=.*stalled=yes' -r
kill -TERM "$ECHOD_PID"
expect_log 'shutting down gracefully connections=1'
sleep 0.5
proc_alive "$ECHOD_PID" || fail "echod exited before delivering the stalled client's data"
kill -USR1 "$FLOOD"
wait_exit "$FLOOD" 40 || fail "flood client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "flood client failed: $(cat "$tmp/flood2.out")"
echod_wait_exit 15 || fail "echod still running 15 s after the last client finished"
[ "$ECHOD_STATUS" -eq 0 ] || fail "exit status $ECHOD_STATUS after a graceful shutdown"
recv=$(sed -n 's/^flood: received=\([0-9]*\) .*/\1/p' "$tmp/flood2.out")
grep -q 'eof=clean' "$tmp/flood2.out" || fail "backpressured client: $(tail -n 1 "$tmp/flood2.out")"
[ "$recv" -gt 0 ] || fail "nothing echoed"
expect_log "close listener=echo .*bytes_out=$recv "
note "delivered $recv bytes after SIGTERM to a stalled client"

# ---- 2: shutdown_timeout bounds the wait for a client that never reads.
conf 1s
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
flood_client 30 "flood: sent=.*stalled=yes"
t0=$(date +%s)
kill -TERM "$ECHOD_PID"
echod_wait_exit 6 || fail "echod still running 6 s after SIGTERM with shutdown_timeout = 1s"
note "exited $(($(date +%s) - t0)) s after SIGTERM with shutdown_timeout = 1s"
[ "$ECHOD_STATUS" -eq 0 ] || fail "exit status $ECHOD_STATUS after the shutdown timeout"
expect_log 'exiting status=0'
kill -TERM "$FLOOD"

# ---- 3: a second SIGTERM exits at once.
conf 30s
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
flood_client 30 "flood: sent=.*stalled=yes"
kill -TERM "$ECHOD_PID"
expect_log 'shutting down gracefully connections=1'
kill -TERM "$ECHOD_PID"
echod_wait_exit 3 || fail "echod still running 3 s after a second SIGTERM"
note "second SIGTERM: exit status $ECHOD_STATUS"
kill -TERM "$FLOOD"

# ---- 4: SIGINT is a graceful shutdown too.
conf 5s
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
kill -INT "$ECHOD_PID"
echod_wait_exit 10 || fail "echod still running 10 s after SIGINT"
[ "$ECHOD_STATUS" -eq 0 ] || fail "exit status $ECHOD_STATUS after SIGINT"
expect_log 'exiting status=0'

# Signals are logged by name.
[ -z "${SIGNAME_BAD:-}" ] || fail "no 'signal=SIGTERM' log line; got: $SIGNAME_BAD"
grep -q 'signal=SIGINT' "$ECHOD_LOG" || fail "no 'signal=SIGINT' log line: $(grep -m 1 'signal=' "$ECHOD_LOG")"
note ok
