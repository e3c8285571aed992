# sd_notify.sh: the systemd notification protocol, without systemd. A unix
# datagram socket (sd_helper recv) stands in for NOTIFY_SOCKET and records
# every message, one per line. Checks READY=1 once bound; RELOADING=1 with
# MONOTONIC_USEC= and then READY=1 on SIGHUP, also when the reload fails;
# STATUS= refreshed with the live connection count; WATCHDOG=1 from the loop
# at half WATCHDOG_USEC, and only for the PID in WATCHDOG_PID; STOPPING=1 on
# SIGTERM and nothing but watchdog pings after it; the order of all of it;
# and the warning when a reload changes a key that needs a restart.
. "$(dirname "$0")/lib.sh"

SD_HELPER=$top_builddir/tests/integration/sd_helper
[ -x "$SD_HELPER" ] || fail "not built: $SD_HELPER"
grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/autoconf.h" ||
    skip "built without libsystemd: no notifications to check"

# notify_listen NAME: a recorder on $tmp/NAME.sock writing $tmp/NAME.out.
notify_listen()
{
	local sock=$tmp/$1.sock

	spawn "$SD_HELPER" recv "$sock" 80 >"$tmp/$1.out" 2>"$tmp/$1.helper.log"
	wait_until 5 '[ -S "$sock" ]' || fail "sd_helper did not create $sock"
}

# The real daemon behind a wrapper that sets WATCHDOG_PID to the daemon's own
# PID (exec keeps it), as systemd does.
REAL_ECHOD=$ECHOD
cat >"$tmp/wrap.sh" <<EOF
#!/bin/sh
WATCHDOG_PID=\$\$
export WATCHDOG_PID
exec "$REAL_ECHOD" "\$@"
EOF
chmod +x "$tmp/wrap.sh"

write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[server]
workers = $1
shutdown_timeout = 5s

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}

notify_listen n1
MSGS=$tmp/n1.out
write_ini 2
NOTIFY_SOCKET=$tmp/n1.sock
WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
ECHOD=$tmp/wrap.sh start_echod "$tmp/echod.ini"
unset NOTIFY_SOCKET WATCHDOG_USEC
P=$(port_of echo) || fail "no listening line for echo"

STATUS_RE='server_connections_open=[0-9]+ server_connections_total=[0-9]+ jobs_running=[0-9]+ jobs_queued=[0-9]+ loop_lag_p99_seconds=[0-9]+\.[0-9]{6}'
wait_file_grep '^READY=1' 10 "$MSGS" || fail "no READY=1: $(cat "$MSGS")"
first=$(grep -v '^WATCHDOG=1$' "$MSGS" | head -n 1)
echo "$first" | grep -q -E "^READY=1 STATUS=server_connections_open=0 server_connections_total=0 jobs_running=0 jobs_queued=0 loop_lag_p99_seconds=[0-9]+\.[0-9]{6}$" ||
    fail "first message: '$first'"
expect_log 'systemd notify=yes watchdog_usec=400000'

# WATCHDOG=1 every 200 ms: at least 5 within 2 s of READY.
sleep 2
n=$(grep -c '^WATCHDOG=1$' "$MSGS")
[ "$n" -ge 5 ] || fail "only $n WATCHDOG=1 in 2 s with WATCHDOG_USEC=400000"
[ "$n" -le 40 ] || fail "$n WATCHDOG=1 in 2 s: far more than every 200 ms"

# A live connection shows in the next STATUS= refresh (every 5 s).
spawn "$TCLIENT" -T 30 hold -e 127.0.0.1 "$P" 25 >"$tmp/hold.out" 2>&1
HOLD_PID=$SPAWN_PID
wait_file_grep '^STATUS=server_connections_open=1 server_connections_total=1 ' 12 "$MSGS" ||
    fail "no STATUS= with one open connection: $(grep STATUS "$MSGS" | tail -n 3)"
grep '^STATUS=' "$MSGS" | grep -v -q -E "^STATUS=$STATUS_RE$" &&
    fail "malformed STATUS= line: $(grep '^STATUS=' "$MSGS" | grep -v -E "^STATUS=$STATUS_RE$" | head -n 1)"

# Reload: RELOADING=1 + MONOTONIC_USEC (CLOCK_MONOTONIC, at most the uptime),
# then READY=1; workers needs a restart and says so.
# So does a socket option of a socket that stays bound.
write_ini 3
echo 'backlog = 64' >>"$tmp/echod.ini"
kill -HUP "$ECHOD_PID"
wait_file_grep '^RELOADING=1' 10 "$MSGS" || fail "no RELOADING=1 after SIGHUP"
expect_log 'reload ok'
expect_log 'reload: \[server\] workers changed from 2 to 3: applies only after a restart'
expect_log 'reload: \[listener echo\] backlog, reuse_port or unix_mode changed: applies only to addresses bound from now on'
reloading=$(grep '^RELOADING=1' "$MSGS" | head -n 1)
echo "$reloading" | grep -q -E '^RELOADING=1 MONOTONIC_USEC=[0-9]+ STATUS=reloading$' ||
    fail "reload message: '$reloading'"
mono1=$(echo "$reloading" | sed 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/')
up_us=$(awk '{ printf "%d\n", ($1 + 1) * 1000000 }' /proc/uptime)
[ "$mono1" -gt 0 ] && [ "$mono1" -le "$up_us" ] ||
    fail "MONOTONIC_USEC=$mono1 is not a monotonic clock reading (uptime ${up_us} us)"

# A reload that fails keeps the old config and still ends with READY=1.
cat >"$tmp/echod.ini" <<INI
[server]
workers = banana

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
kill -HUP "$ECHOD_PID"
expect_log 'reload failed'
wait_file_grep '^RELOADING=1 MONOTONIC_USEC=[0-9]+ STATUS=reloading$' 5 "$MSGS" || fail "no RELOADING=1"
wait_until 5 '[ "$(grep -c "^RELOADING=1" "$MSGS")" -ge 2 ] && [ "$(grep -c "^READY=1" "$MSGS")" -ge 3 ]' ||
    fail "no RELOADING=1/READY=1 pair for the failed reload: $(grep -v WATCHDOG "$MSGS")"
mono2=$(grep '^RELOADING=1' "$MSGS" | sed -n '2s/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
[ "$mono2" -gt "$mono1" ] || fail "MONOTONIC_USEC went from $mono1 to $mono2"

# The connection survived both reloads.
proc_alive "$HOLD_PID" || fail "the held connection ended during the reloads"

kill -TERM "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
stop_echod
sleep 0.3

# The whole conversation, watchdog and periodic STATUS= left out.
seq=$(grep -v -E '^(WATCHDOG=1|STATUS=.*)$' "$MSGS" | cut -d' ' -f1 | tr '\n' ' ')
[ "$seq" = "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1 " ] ||
    fail "message order: '$seq'"
grep -q -E "^STOPPING=1 STATUS=stopping $STATUS_RE\$" "$MSGS" ||
    fail "stop message: $(grep STOPPING "$MSGS")"
after=$(sed -n '/^STOPPING=1/,$p' "$MSGS" | sed 1d | grep -v '^WATCHDOG=1$' || true)
[ -z "$after" ] || fail "messages after STOPPING=1: $after"

# WATCHDOG_PID names another process: that watchdog is not ours.
notify_listen n2
NOTIFY_SOCKET=$tmp/n2.sock
WATCHDOG_USEC=200000
WATCHDOG_PID=1
export NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
write_ini 2
start_echod "$tmp/echod.ini"
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
wait_file_grep '^READY=1' 10 "$tmp/n2.out" || fail "no READY=1 (second run)"
sleep 1
grep -q '^WATCHDOG=1$' "$tmp/n2.out" && fail "WATCHDOG=1 sent although WATCHDOG_PID is not echod"
expect_log 'systemd notify=yes watchdog_usec=0'
stop_echod

# Without NOTIFY_SOCKET: nothing to send, nothing logged about systemd.
start_echod "$tmp/echod.ini"
stop_echod
no_log 'systemd notify='
no_log 'sd_notify failed'
note "ok: $(grep -c . "$MSGS") messages, order $seq"
