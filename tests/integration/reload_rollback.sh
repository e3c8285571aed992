# reload_rollback.sh: a reload refused at one of its committing steps keeps
# the running configuration whole. (1) The new log sink cannot be opened:
# metrics must not have moved to the new address. (2) The new metrics
# address is taken: the log sink it had switched to is switched back, so the
# failure and everything after it are logged where they were before.
. "$(dirname "$0")/lib.sh"

cat >"$tmp/echod.ini" <<INI
[log]
level = info

[metrics]
bind = 127.0.0.1:0

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"

# (1) New metrics address free, new sink impossible.
cat >"$tmp/echod.ini" <<INI
[log]
level = info
target = file:$tmp/no-such-dir/echod.log

[metrics]
bind = 127.0.0.2:0

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
kill -HUP "$ECHOD_PID"
expect_log 'reload failed errors=1, keeping the current configuration'
no_log 'metrics listening addr=127\.0\.0\.2'

# (2) New sink: a file. New metrics address: echod's own echo port (in use).
cat >"$tmp/echod.ini" <<INI
[log]
level = info
target = file:$tmp/new.log

[metrics]
bind = 127.0.0.1:$P

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
kill -HUP "$ECHOD_PID"
expect_log 'config error: metrics: cannot bind 127\.0\.0\.1:[0-9]+'
wait_log_count 'reload failed errors=1' 2 || fail "second reload not refused"
if [ -s "$tmp/new.log" ]; then
	fail "records went to the sink of the refused reload: $(cat "$tmp/new.log")"
fi
tclient -T 10 echo-bulk 127.0.0.1 "$P" 64K 7 >/dev/null 2>&1 || fail "echo after the refused reload"
stop_echod
expect_log 'exiting status=0'
[ -s "$tmp/new.log" ] && fail "records went to the refused sink: $(cat "$tmp/new.log")"
note ok
