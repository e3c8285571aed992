# debug_mode.sh: the four ways to turn debug mode on (ECHOD_DEBUG, -d,
# [debug] enabled, the admin console's DEBUG), toggling it at run time and by
# reload, and the exit check that lists descriptors left open.
. "$(dirname "$0")/lib.sh"

have_admin=0
if have_nc_unix; then
	have_admin=1
fi

write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s

[debug]
enabled = $1
slow_callback_ms = 250

[listener echo]
bind = 127.0.0.1:0
service = echo

[listener admin]
bind = unix:$ADMIN
service = admin
unix_mode = 0600
INI
}

# Off by default: nothing about debug mode in the log.
write_ini no
start_echod "$tmp/echod.ini"
no_log 'debug mode on'
stop_echod

# ECHOD_DEBUG=1 (like PYTHONASYNCIODEBUG); ECHOD_DEBUG=0 leaves it off.
ECHOD_DEBUG=1 start_echod "$tmp/echod.ini"
expect_log 'debug mode on by=environment$'
stop_echod
expect_log 'exit check: no descriptors or TLS objects left open'
ECHOD_DEBUG=0 start_echod "$tmp/echod.ini"
no_log 'debug mode on'
stop_echod

# -d / --debug
start_echod "$tmp/echod.ini" -d
expect_log 'debug mode on by=command-line'
stop_echod
start_echod "$tmp/echod.ini" --debug
expect_log 'debug mode on by=command-line'
stop_echod

# [debug] enabled = yes, then a reload that turns it off, and on again.
write_ini yes
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
expect_log 'debug mode on by=config'
write_ini no
kill -HUP "$ECHOD_PID"
expect_log 'debug mode off by=config'
write_ini yes
kill -HUP "$ECHOD_PID"
wait_log_count 'debug mode on by=config' 2 || fail "reload did not turn debug mode back on"

if [ "$have_admin" -eq 1 ]; then
	# Run time: DEBUG off/on from the console, visible in STATS.
	admin 'DEBUG off' | grep -q '^+OK debug off' || fail "DEBUG off"
	expect_log 'debug mode off by=admin'
	admin STATS | grep -q '^debug_mode=0$' || fail "STATS debug_mode=0"
	# An unrelated reload keeps the console's choice (the configured value did not change).
	kill -HUP "$ECHOD_PID"
	wait_log_count 'reload ok' 3 || fail "third reload"
	admin STATS | grep -q '^debug_mode=0$' || fail "an unrelated reload changed debug mode"
	admin 'DEBUG on' | grep -q '^+OK debug on' || fail "DEBUG on"
	admin STATS | grep -q '^debug_mode=1$' || fail "STATS debug_mode=1"
	admin STATS | grep -q '^slow_callback_threshold_seconds=0.250000$' ||
	    fail "slow_callback_ms from [debug]"
else
	note "nc without -U: skipping the console part"
fi

# Normal traffic in debug mode: no slow callbacks, no wrong-thread refusals.
tclient -T 20 echo-bulk 127.0.0.1 "$P" 1M 7 >/dev/null 2>&1 || fail "echo in debug mode"
no_log 'slow callback'
no_log 'wrong thread'
stop_echod
expect_log 'exit check: no descriptors or TLS objects left open'
no_log 'not closed at exit'
note ok
