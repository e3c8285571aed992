# debug_slow_callback.sh: in debug mode, BLOCK 150 on the command service
# makes the connection's read callback run 150 ms: one "slow callback"
# warning names it, the connection, listener and peer; the slowlog and
# STATS show it, and the loop-lag monitor saw the stall. Fast callbacks
# (PING, echo traffic) are never reported. With debug mode off (DEBUG off
# from the console), BLOCK is refused.
. "$(dirname "$0")/lib.sh"

have_nc_unix || skip "nc with -U (unix sockets) not installed"

# cmd LINE...: send lines to the command service, print the replies.
cmd()
{
	printf '%s\r\n' "$@" | timeout 10 nc -N 127.0.0.1 "$C" | tr -d '\r'
}

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s

[debug]
enabled = yes
slow_callback_ms = 100
lag_threshold_ms = 40

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
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
C=$(port_of cmd) || fail "no cmd port"

# Fast callbacks only: nothing is slow.
[ "$(cmd PING PING PING | grep -c '^+OK PONG$')" -eq 3 ] || fail "PING"
tclient -T 20 echo-bulk 127.0.0.1 "$P" 1M 3 >/dev/null 2>&1 || fail "echo traffic"
sleep 0.3
no_log 'slow callback'
[ "$(admin SLOWLOG | head -n 1)" = "+OK" ] || fail "slowlog not empty before BLOCK"

# BLOCK 150: exactly one slow callback, with its context.
[ "$(cmd 'BLOCK 150')" = "+OK blocked 150 ms" ] || fail "BLOCK 150 reply"
expect_log 'slow callback name=conn_read_cb conn=[0-9]+ listener=cmd peer=127\.0\.0\.1:[0-9]+ took_ms=1[5-9][0-9]'
expect_log 'loop lag lag_ms=[0-9]+ threshold_ms=40'
[ "$(log_count 'slow callback')" -eq 1 ] || fail "expected one slow callback: $(grep 'slow callback' "$ECHOD_LOG")"
admin 'SLOWLOG 5' >"$tmp/slowlog.out"
[ "$(grep -c '^time=' "$tmp/slowlog.out")" -eq 1 ] || fail "SLOWLOG: $(cat "$tmp/slowlog.out")"
grep -q -E '^time=[0-9T:-]+Z name=conn_read_cb conn=[0-9]+ listener=cmd peer=127\.0\.0\.1:[0-9]+ took_ms=1[5-9][0-9]\.[0-9]{3}$' \
    "$tmp/slowlog.out" || fail "SLOWLOG line: $(cat "$tmp/slowlog.out")"
admin STATS >"$tmp/stats.out"
tr -d '\r' <"$tmp/stats.out" | grep -q '^slow_callbacks_total=1$' ||
    fail "STATS slow_callbacks_total: $(grep slow "$tmp/stats.out")"
lagmax=$(tr -d '\r' <"$tmp/stats.out" | sed -n 's/^loop_lag_max_seconds=\([0-9]*\)\.\([0-9]\{3\}\).*/\1\2/p')
[ "${lagmax:-0}" -ge 40 ] || fail "loop_lag_max_seconds=$lagmax ms after a 150 ms stall"

# Out of debug mode, BLOCK is refused and nothing new is reported.
admin 'DEBUG off' | grep -q '^+OK debug off' || fail "DEBUG off"
[ "$(cmd 'BLOCK 150')" = "-ERR debug mode is off" ] || fail "BLOCK not refused with debug off"
cmd 'BLOCK' | grep -q '^-ERR usage: BLOCK <ms>' || fail "BLOCK without ms not refused"
[ "$(log_count 'slow callback')" -eq 1 ] || fail "a slow callback reported with debug mode off"

# Back on at run time: timing resumes.
admin 'DEBUG on' | grep -q '^+OK debug on' || fail "DEBUG on"
[ "$(cmd 'BLOCK 120')" = "+OK blocked 120 ms" ] || fail "BLOCK 120 reply"
wait_log_count 'slow callback name=conn_read_cb' 2 || fail "no second slow callback after DEBUG on"
no_log ' (error|critical) '
stop_echod
note ok
