# admin_console.sh: every admin console command over `nc -U`: HELP, STATS
# (counters checked against known traffic), CONNS, KILL, JOBS, SLOWLOG,
# DEBUG, LOGLEVEL, RELOAD (good and broken config), SHUTDOWN graceful, then
# SHUTDOWN now with a client still connected (pending-at-exit report).
. "$(dirname "$0")/lib.sh"

have_nc_unix || skip "nc with -U (unix sockets) not installed"

# stat_of KEY: a value of STATS.
stat_of()
{
	admin STATS | sed -n "s/^$1=//p"
}

write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
max_sleep = 10s

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo

[listener cmd]
bind = 127.0.0.1:0
service = command

[listener admin]
bind = unix:$ADMIN
service = admin
unix_mode = 0600
$1
INI
}

write_ini ""
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no listening line for echo"
C=$(port_of cmd) || fail "no listening line for cmd"
[ "$(stat -c %a "$ADMIN")" = 600 ] || fail "admin socket mode is $(stat -c %a "$ADMIN"), not 600"

# HELP lists every command and ends with +OK.
admin HELP >"$tmp/help.out"
for cmd in STATS CONNS KILL JOBS SLOWLOG DEBUG LOGLEVEL RELOAD SHUTDOWN HELP QUIT; do
	grep -q "^$cmd" "$tmp/help.out" || fail "HELP does not list $cmd: $(cat "$tmp/help.out")"
done
[ "$(tail -n 1 "$tmp/help.out")" = "+OK" ] || fail "HELP does not end with +OK"
admin BOGUS | grep -q '^-ERR unknown command' || fail "unknown command not refused"
admin 'KILL' | grep -q '^-ERR usage: KILL' || fail "KILL without an id not refused"

# STATS against known traffic: 3 echo connections of 1000 bytes each.
for i in 1 2 3; do
	tclient -T 10 fetch -s -n 1000 127.0.0.1 "$P" 1000 >/dev/null 2>&1 ||
	    fail "echo fetch $i failed"
done
wait_log_count "close listener=echo" 3 || fail "the 3 echo connections did not close"
admin STATS >"$tmp/stats.out"
L='{listener="echo",service="echo"}'
for want in "connections_total$L=3" "connections_open$L=0" "listener_paused$L=0" \
    'connections_rejected_total{listener="echo",service="echo",reason="fd_limit"}=0'; do
	grep -q -F -x "$want" "$tmp/stats.out" || fail "STATS has no line $want"
done
for key in uptime_seconds start_time_seconds build_info debug_mode server_connections_open \
    connections_rejected_total tls_handshakes_total tls_handshake_failures_total \
    tls_resumed_total received_bytes_total sent_bytes_total pool_workers jobs_queued \
    jobs_running jobs_submitted_total jobs_rejected_total jobs_finished_total \
    jobs_never_retrieved_total jobs_never_scheduled_total log_records_written_total \
    log_records_dropped_total slow_callbacks_total wrong_thread_calls_total \
    loop_lag_seconds_count loop_lag_p50_seconds loop_lag_p99_seconds loop_lag_max_seconds \
    slow_callback_threshold_seconds metrics_scrapes_total; do
	grep -q -E "^$key[{=]" "$tmp/stats.out" || fail "STATS has no $key"
done
# the console's own sessions close with reason eof too
eof=$(sed -n 's/^connections_closed_total{reason="eof"}=//p' "$tmp/stats.out")
[ "${eof:-0}" -ge 3 ] || fail "connections_closed_total eof=$eof, expected at least 3"
bin=$(sed -n 's/^received_bytes_total=//p' "$tmp/stats.out")
[ "$bin" -ge 3000 ] || fail "received_bytes_total=$bin, expected at least 3000"
grep -q '^debug_mode=0$' "$tmp/stats.out" || fail "debug mode should be off"
grep -q -F -x 'tls_handshake_failures_total{reason="tls-plaintext"}=0' "$tmp/stats.out" ||
    fail "no TLS failure reasons"
grep -q -E '^loop_lag_p99_seconds=[0-9]+\.[0-9]{6}$' "$tmp/stats.out" || fail "loop lag format"
# A prefix keeps only those families; every line is name=value.
admin 'STATS jobs_' >"$tmp/jobs.out"
grep -q '^jobs_running=' "$tmp/jobs.out" || fail "STATS jobs_ lacks jobs_running"
grep -v -E '^(jobs_|\+OK)' "$tmp/jobs.out" && fail "STATS jobs_ shows other families"
grep -v -E '^([a-z][a-z0-9_]*(\{[^}]*\})?=[0-9.]+|\+OK)$' "$tmp/stats.out" &&
    fail "a STATS line is not name=value"

# CONNS and KILL: a held echo connection is listed, then killed.
spawn tclient hold 127.0.0.1 "$P" 20 >"$tmp/hold.out" 2>&1
HOLD=$SPAWN_PID
wait_log "open listener=echo peer=" || fail "held connection not opened"
# held_id: the id CONNS gives the held echo connection (empty if none).
held_id()
{
	admin CONNS | sed -n 's/^conn=\([0-9]*\) listener=echo .*state=open.*/\1/p'
}
wait_until 5 'id=$(held_id) && [ -n "$id" ]' || fail "CONNS does not list the held echo connection"
admin CONNS | grep -q -E "^conn=$id listener=echo peer=127\.0\.0\.1:[0-9]+ state=open age_ms=[0-9]+ idle_ms=[0-9]+ bytes_in=0 bytes_out=0 pending_out=0 jobs=0$" ||
    fail "CONNS line format: $(admin CONNS)"
admin CONNS | grep -q 'listener=admin .* self=1' || fail "CONNS does not mark the console itself"
admin "KILL $id" | grep -q "^+OK killed conn=$id$" || fail "KILL $id"
expect_log "conn=$id close listener=echo .*reason=admin-kill"
admin "KILL $id" | grep -q '^-ERR no such connection' || fail "KILL of a dead id not refused"
wait_exit "$HOLD" 10 || fail "held client still running after KILL"

# JOBS: a SLEEP running on a worker is listed with its kind and site.
spawn sh -c "printf 'SLEEP 3000\r\n' | timeout 10 nc -N 127.0.0.1 $C >$tmp/sleep.out 2>&1"
JOB_RE='^job kind=SLEEP conn=[0-9]+ state=(queued|running) age_ms=[0-9]+ site=.*service_command\.c:[0-9]+$'
wait_until 5 'admin JOBS | grep -q -E "$JOB_RE"' || fail "JOBS does not list the SLEEP job: $(admin JOBS)"
admin JOBS | tail -n 1 | grep -q '^+OK$' || fail "JOBS does not end with +OK"

# SLOWLOG: nothing slow yet; a bad count is refused.
[ "$(admin SLOWLOG)" = "+OK" ] || fail "SLOWLOG not empty: $(admin SLOWLOG)"
admin 'SLOWLOG x' | grep -q '^-ERR usage: SLOWLOG' || fail "SLOWLOG x not refused"

# DEBUG: show, on, off.
[ "$(admin DEBUG | head -n 1)" = "debug=off" ] || fail "DEBUG should show off"
admin 'DEBUG on' | grep -q '^+OK debug on' || fail "DEBUG on"
expect_log "debug mode on by=admin"
[ "$(stat_of debug_mode)" = 1 ] || fail "STATS does not show debug_mode=1"
admin 'DEBUG off' | grep -q '^+OK debug off' || fail "DEBUG off"
[ "$(stat_of debug_mode)" = 0 ] || fail "STATS does not show debug_mode=0"
admin 'DEBUG maybe' | grep -q '^-ERR usage: DEBUG' || fail "DEBUG maybe not refused"

# LOGLEVEL: per subsystem, then global; bad names refused.
admin 'LOGLEVEL debug conn' | grep -q '^+OK' || fail "LOGLEVEL debug conn"
tclient -T 10 fetch -s -d x 127.0.0.1 "$P" 1 >/dev/null 2>&1 || fail "echo after LOGLEVEL"
expect_log ' debug conn: conn=[0-9]+ state open -> (draining|half-closed)'
admin 'LOGLEVEL loud' | grep -q '^-ERR unknown level' || fail "LOGLEVEL loud not refused"
admin 'LOGLEVEL info nosuch' | grep -q '^-ERR unknown subsystem' || fail "bad subsystem"
admin 'LOGLEVEL info conn' | grep -q '^+OK' || fail "LOGLEVEL info conn"

# RELOAD: good, then a broken file (kept), then good again.
admin RELOAD | grep -q '^+OK reloaded$' || fail "RELOAD of a good config"
expect_log 'reload ok listeners=3'
cp "$tmp/echod.ini" "$tmp/good.ini"
printf '[server]\nmax_connections = lots\n' >>"$tmp/echod.ini"
admin RELOAD | grep -q '^-ERR reload failed' || fail "RELOAD of a broken config not refused"
cp "$tmp/good.ini" "$tmp/echod.ini"

wait_exit "$SPAWN_PID" 10 || fail "SLEEP client did not finish"
grep -q '^+OK' "$tmp/sleep.out" || fail "SLEEP reply: $(cat "$tmp/sleep.out")"

# SHUTDOWN graceful: the reply comes back, the daemon exits 0.
admin 'SHUTDOWN graceful' | grep -q '^+OK shutting down gracefully$' ||
    fail "SHUTDOWN graceful"
echod_wait_exit 15 || fail "echod did not exit after SHUTDOWN graceful"
[ "$ECHOD_STATUS" -eq 0 ] || fail "exit status $ECHOD_STATUS after SHUTDOWN graceful"
expect_log 'shutdown graceful by=conn=[0-9]+'
expect_log 'exiting status=0'

# SHUTDOWN now with an echo client still connected: pending-at-exit lists it.
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no listening line for echo"
spawn tclient hold 127.0.0.1 "$P" 20 >"$tmp/hold2.out" 2>&1
wait_log "open listener=echo peer=" || fail "held connection not opened"
admin 'SHUTDOWN sideways' | grep -q '^-ERR usage: SHUTDOWN' || fail "SHUTDOWN sideways"
admin 'SHUTDOWN now' | grep -q '^+OK shutting down now$' || fail "SHUTDOWN now"
echod_wait_exit 15 || fail "echod did not exit after SHUTDOWN now"
[ "$ECHOD_STATUS" -eq 1 ] || fail "exit status $ECHOD_STATUS after SHUTDOWN now, expected 1"
expect_log 'pending at shutdown-now: connections=[0-9]+ jobs=0'
expect_log 'pending at shutdown-now: conn=[0-9]+ listener=echo peer=127\.0\.0\.1:[0-9]+ state=open'
no_log ' (error|critical) '
note ok
