# command_shutdown.sh: SIGTERM with jobs in flight. Graceful: the running
# job finishes and is answered, queued jobs are answered "-ERR shutting
# down", inline commands already received are answered, then the server
# closes the connection and exits 0. A job that outlives shutdown_timeout
# does not hold the exit for longer than that plus a bounded pool wait.
. "$(dirname "$0")/lib.sh"

have_openbsd_nc ||
    skip "OpenBSD nc (with -N) not installed"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 8s
linger_timeout = 200ms
workers = 1

[log]
level = info

[listener cmd]
bind = 127.0.0.1:0
service = command
INI
start_echod "$tmp/echod.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"

# The client never closes: nc without -N only ends when the server closes.
printf 'SLEEP 800\nSLEEP 800\nDIGEST md5 x\nPING\n' >"$tmp/inflight.in"
spawn sh -c "timeout 20 nc 127.0.0.1 $P <'$tmp/inflight.in'" >"$tmp/inflight.raw" 2>/dev/null
C=$SPAWN_PID
# An idle client is closed at once.
spawn sh -c "timeout 20 nc 127.0.0.1 $P </dev/null" >"$tmp/idle.raw" 2>/dev/null
I=$SPAWN_PID
sleep 0.3
t0=$(date +%s)
stop_echod 15
t1=$(date +%s)
wait_exit "$C" 5 || fail "the server did not close the client with jobs in flight"
tr -d '\r' <"$tmp/inflight.raw" >"$tmp/inflight.out"
printf '+OK slept 800 ms\n-ERR shutting down\n-ERR shutting down\n+OK PONG\n' |
    diff -u - "$tmp/inflight.out" >&2 || fail "replies during shutdown"
wait_exit "$I" 5 || fail "the idle client was not closed"
[ $((t1 - t0)) -le 4 ] || fail "graceful shutdown took $((t1 - t0)) s"
expect_log "pool: shutdown cancelled=2 running=1"

# A job longer than shutdown_timeout (1s): the connection is closed at the
# timeout and the pool stops within its bounded wait.
cat >"$tmp/short.ini" <<INI
[server]
shutdown_timeout = 1s
workers = 1

[log]
level = info

[listener cmd]
bind = 127.0.0.1:0
service = command
INI
start_echod "$tmp/short.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"
printf 'SLEEP 9000\n' >"$tmp/long.in"
spawn sh -c "timeout 20 nc 127.0.0.1 $P <'$tmp/long.in'" >"$tmp/long.raw" 2>/dev/null
C=$SPAWN_PID
sleep 0.3
t0=$(date +%s)
kill -TERM "$ECHOD_PID"
echod_wait_exit 10 || fail "echod still running 10 s after SIGTERM with a 9 s job"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "exit took $((t1 - t0)) s with shutdown_timeout 1s"
expect_log "shutdown timeout"
expect_log "pool stopped"
wait_exit "$C" 5 || fail "client not closed"
[ ! -s "$tmp/long.raw" ] || fail "unexpected reply: $(cat "$tmp/long.raw")"
