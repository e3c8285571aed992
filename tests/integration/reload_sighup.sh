# reload_sighup.sh: SIGHUP adds and removes listeners while an established
# connection stays open and keeps echoing; changed limits and the log level
# apply; a broken config (bad values, or a bind that fails) is rejected with
# every error logged and the daemon keeps serving on the old configuration.
. "$(dirname "$0")/lib.sh"

INI=$tmp/echod.ini
HEAD='[server]
shutdown_timeout = 5s

[log]
level = info
connections = yes
'
LA='[listener a]
bind = 127.0.0.1:0
service = echo
'
LB='[listener b]
bind = 127.0.0.1:0
service = echo
'

# reload N: send SIGHUP, wait for the Nth "reload ok".
reload_ok()
{
	kill -HUP "$ECHOD_PID"
	wait_log_count 'reload ok' "$1" 10 || fail "reload $1 not ok: $(grep -E 'config error|reload' "$ECHOD_LOG" | tail -n 5)"
}

printf '%s\n%s' "$HEAD" "$LA" >"$INI"
start_echod "$INI"
PA=$(port_of a) || fail "no port for a"

# A client that stays connected to a and echoes every 200 ms for 5 s.
spawn tclient rtt -i 200 127.0.0.1 "$PA" 25 >"$tmp/long.out" 2>&1
LONG=$SPAWN_PID
wait_log 'conn=[0-9]+ open listener=a ' || fail "long-lived client not accepted"

# ---- add b.
printf '%s\n%s\n%s' "$HEAD" "$LA" "$LB" >"$INI"
reload_ok 1
PB=$(port_of b) || fail "no listening line for the new listener b"
tclient rtt 127.0.0.1 "$PB" 3 >/dev/null || fail "new listener b does not echo"
tclient rtt 127.0.0.1 "$PA" 3 >/dev/null || fail "a stopped echoing after b was added"
[ "$(log_count 'listening listener=a ')" -ge 1 ] || fail "a not listening"

# ---- remove a: new connections to it fail, the established one lives on.
printf '%s\n%s' "$HEAD" "$LB" >"$INI"
reload_ok 2
tclient -T 5 connect 127.0.0.1 "$PA" >"$tmp/conn.out"
rc=$?
[ "$rc" -eq 3 ] || fail "removed listener a still accepts (connect status $rc: $(cat "$tmp/conn.out"))"
tclient rtt 127.0.0.1 "$PB" 3 >/dev/null || fail "b stopped echoing after a was removed"
proc_alive "$LONG" || fail "the long-lived client ended before the reloads were done: $(cat "$tmp/long.out")"
no_log 'close listener=a .*reason=(shutdown|reset|io-error)'

# ---- broken config: two errors, both logged, b keeps serving, nothing added.
printf '%s\nbogus_key = 1\n%s\n[listener c]\nbind = 127.0.0.1:0\nservice = nope\n' \
    "$LB" "$HEAD" >"$INI"
kill -HUP "$ECHOD_PID"
expect_log 'reload failed errors=2, keeping the current configuration'
l1=$(grep -n 'bogus_key' "$INI" | cut -d: -f1)
l2=$(grep -n 'service = nope' "$INI" | cut -d: -f1)
expect_log "config error: $INI:$l1: .*bogus_key"
expect_log "config error: $INI:$l2: .*service"
no_log 'listening listener=c '
tclient rtt 127.0.0.1 "$PB" 3 >/dev/null || fail "b stopped echoing after a failed reload"

# ---- a bind that fails at reload is an error too; the old config stays.
printf '%s\n%s\n[listener clash]\nbind = 127.0.0.1:%s\nservice = echo\n' "$HEAD" "$LB" "$PB" >"$INI"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload failed' 2 10 || fail "a reload whose bind fails was not rejected"
no_log 'listening listener=clash '
tclient rtt 127.0.0.1 "$PB" 3 >/dev/null || fail "b stopped echoing after a failed bind at reload"

# The long-lived connection to the removed listener echoed all along.
wait_exit "$LONG" 15 || fail "long-lived client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "long-lived client failed: $(cat "$tmp/long.out")"
grep -q 'rtt: ok count=25' "$tmp/long.out" || fail "long-lived client: $(cat "$tmp/long.out")"
expect_log 'close listener=a .*reason=eof'

# ---- a changed limit applies: b allows one connection.
printf '%s\n%smax_connections = 1\n' "$HEAD" "$LB" >"$INI"
reload_ok 3
spawn tclient hold -e 127.0.0.1 "$PB" 20 >"$tmp/holder.out"
HOLDER=$SPAWN_PID
wait_file_grep answered 10 "$tmp/holder.out" || fail "holder on b not served"
spawn tclient hold -e -q 127.0.0.1 "$PB" 15 >"$tmp/waiter.out"
WAITER=$SPAWN_PID
sleep 1
grep -q answered "$tmp/waiter.out" && fail "reloaded max_connections = 1 not applied"
kill -TERM "$HOLDER"
wait_exit "$WAITER" 10 || fail "waiter not served after the holder left"
[ "$WAIT_STATUS" -eq 0 ] || fail "waiter failed: $(cat "$tmp/waiter.out")"

# ---- a changed [log] level applies.
no_log ' debug '
printf '%s
%s' "$(echo "$HEAD" | sed 's/^level = info$/level = debug/')" "$LB" >"$INI"
reload_ok 4
tclient rtt 127.0.0.1 "$PB" 1 >/dev/null || fail "b does not echo after the log level changed"
expect_log ' debug '

# Each SIGHUP is logged by name.
[ "$(log_count 'signal=SIGHUP')" -eq 6 ] ||
    fail "expected 6 'signal=SIGHUP' log lines, got $(log_count 'signal=SIGHUP'): $(grep -m 1 'signal=' "$ECHOD_LOG")"
no_log ' critical '
stop_echod
note ok
