# sd_daemon.sh: running without systemd. Without -f echod detaches (the
# command exits 0 once the listeners are bound, 1 if start-up fails), works
# in / with stdio on /dev/null, writes a locked pidfile that a second
# instance respects and a stale one does not block, removes it at exit,
# reloads a relative config path after detaching, switches to [server] user
# after binding (as root), and fits RLIMIT_NOFILE to max_connections.
. "$(dirname "$0")/lib.sh"

# A detached daemon's stderr is /dev/null: sanitizers report into files,
# checked at the end.
ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$tmp/sanitizer"
UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$tmp/sanitizer"
TSAN_OPTIONS="$TSAN_OPTIONS:log_path=$tmp/sanitizer"
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

# run_cmd ARGS...: run echod to completion (it detaches); status in RC.
run_cmd()
{
	timeout 20 "$ECHOD" "$@" </dev/null >"$tmp/cmd.out" 2>"$tmp/cmd.err"
	RC=$?
	[ "$RC" -ne 124 ] || fail "echod $* did not return within 20 s"
}

# daemon_pid PIDFILE: the PID in it, once it is a live process.
daemon_pid()
{
	local file=$1 pid

	wait_until 5 'pid=$(cat "$file" 2>/dev/null) && [ -n "$pid" ] && proc_alive "$pid"' ||
	    fail "no live process in pidfile $file ($pid)"
	LIB_PIDS="$LIB_PIDS $pid"
	echo "$pid"
}

# wait_gone PID: the (non-child) process ends within 15 s.
wait_gone()
{
	local pid=$1

	wait_until 15 '! proc_alive "$pid"' || fail "pid $pid still running 15 s after SIGTERM"
}

PIDFILE=$tmp/run/echod.pid
write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[server]
pidfile = $PIDFILE
max_connections = 100
$1

[log]
target = file:$tmp/daemon.log

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}

# ---------------------------------------------------------------- detach
write_ini ""
# A relative -c: the daemon works in / and must still find it on reload.
(cd "$tmp" && timeout 20 "$ECHOD" -c echod.ini </dev/null >"$tmp/cmd.out" 2>"$tmp/cmd.err")
RC=$?
[ "$RC" -eq 0 ] || fail "detaching start: exit $RC: $(cat "$tmp/cmd.err")"
[ -s "$PIDFILE" ] || fail "no pidfile at $PIDFILE"
D=$(daemon_pid "$PIDFILE")
ECHOD_LOG=$tmp/daemon.log
ECHOD_PID=
grep -q -E "ready listeners=1" "$ECHOD_LOG" || fail "not ready when the command returned"
[ "$(readlink "/proc/$D/cwd")" = "/" ] || fail "daemon cwd is $(readlink "/proc/$D/cwd")"
for fd in 0 1 2; do
	[ "$(readlink "/proc/$D/fd/$fd")" = "/dev/null" ] ||
	    fail "daemon fd $fd is $(readlink "/proc/$D/fd/$fd"), not /dev/null"
done
sid=$(sed 's/.*) //' "/proc/$D/stat" | cut -d' ' -f4)
[ "$sid" != "$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f4)" ] || fail "daemon kept our session"
[ "$(cat "$PIDFILE")" = "$D" ] || fail "pidfile holds $(cat "$PIDFILE"), daemon is $D"
P=$(port_of echo) || fail "no listening line"
out=$(tclient -T 5 fetch -s -d detached 127.0.0.1 "$P" 8) || fail "echo from the daemon"
[ "$out" = "detached" ] || fail "echo from the daemon returned '$out'"

# A second instance with the same pidfile refuses to start.
run_cmd -c "$tmp/echod.ini"
[ "$RC" -eq 1 ] || fail "second instance: exit $RC, expected 1"
grep -q "pidfile $PIDFILE is held by a running echod (pid $D)" "$tmp/cmd.err" ||
    fail "second instance said: $(cat "$tmp/cmd.err")"
[ "$(cat "$PIDFILE")" = "$D" ] || fail "the second instance changed the pidfile"
proc_alive "$D" || fail "the first instance died"

# Reload through the relative path; pidfile changes need a restart.
write_ini ""
sed -i "s|^pidfile = .*|pidfile = $tmp/other.pid|" "$tmp/echod.ini"
kill -HUP "$D"
wait_log 'reload ok' 10 || fail "reload after detaching: $(tail -n 5 "$ECHOD_LOG")"
expect_log "reload: \[server\] pidfile changed from '$PIDFILE' to '$tmp/other.pid': applies only after a restart"
[ ! -e "$tmp/other.pid" ] || fail "a reload wrote the new pidfile"

kill -TERM "$D"
wait_gone "$D"
[ ! -e "$PIDFILE" ] || fail "pidfile left after a clean exit"
expect_log 'exiting status=0'

# ---------------------------------------------------------------- stale pidfile
write_ini ""
mkdir -p "$tmp/run"
echo 999999 >"$PIDFILE"
: >"$tmp/daemon.log"
run_cmd -c "$tmp/echod.ini"
[ "$RC" -eq 0 ] || fail "start over a stale pidfile: exit $RC: $(cat "$tmp/cmd.err")"
D=$(daemon_pid "$PIDFILE")
[ "$D" != 999999 ] || fail "stale pidfile kept"
grep -q "removing stale pidfile=$PIDFILE pid=999999" "$tmp/cmd.err" "$ECHOD_LOG" ||
    fail "no stale-pidfile warning"
kill -TERM "$D"
wait_gone "$D"
[ ! -e "$PIDFILE" ] || fail "pidfile left after a clean exit"

# ---------------------------------------------------------------- failures
# Start-up fails after detaching: the command still fails, with the reason.
cat >"$tmp/bad.ini" <<INI
[server]
pidfile = $tmp/bad.pid

[log]
target = file:$tmp/bad.log

[listener echo]
bind = unix:$tmp/no/such/dir/echo.sock
service = echo
INI
run_cmd -c "$tmp/bad.ini"
[ "$RC" -eq 1 ] || fail "failed start-up: exit $RC, expected 1"
grep -q "cannot start" "$tmp/cmd.err" "$tmp/bad.log" || fail "failed start-up gave no reason"
[ ! -e "$tmp/bad.pid" ] || fail "pidfile left by a failed start-up"

# Detaching with the log on stderr: warned, since it would go nowhere.
cat >"$tmp/stderr.ini" <<INI
[server]
pidfile = $tmp/stderr.pid

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
run_cmd -c "$tmp/stderr.ini"
[ "$RC" -eq 0 ] || fail "detaching start with stderr log: exit $RC"
grep -q 'target is stderr: once detached, log lines are discarded' "$tmp/cmd.err" ||
    fail "no warning about the stderr log: $(cat "$tmp/cmd.err")"
D=$(daemon_pid "$tmp/stderr.pid")
kill -TERM "$D"
wait_gone "$D"

# -f writes a pidfile only when one is set.
write_ini ""
sed -i '/^target = /d' "$tmp/echod.ini"
start_echod "$tmp/echod.ini"
[ "$(cat "$PIDFILE")" = "$ECHOD_PID" ] || fail "-f with pidfile: it holds $(cat "$PIDFILE" 2>&1)"
stop_echod
[ ! -e "$PIDFILE" ] || fail "-f: pidfile left after exit"
sed -i '/^pidfile = /d' "$tmp/echod.ini"
start_echod "$tmp/echod.ini"
ls -l "/proc/$ECHOD_PID/fd" | grep -q '\.pid$' && fail "-f without a pidfile key holds a pidfile"
stop_echod
ECHOD_LOG=$tmp/daemon.log

# ---------------------------------------------------------------- RLIMIT_NOFILE
hard=$(ulimit -H -n)
if [ "$hard" = unlimited ] || [ "$hard" -ge 1200 ]; then
	write_ini ""
	sed -i 's/^max_connections = 100$/max_connections = 1000/' "$tmp/echod.ini"
	: >"$tmp/daemon.log"
	(ulimit -S -n 256 && exec "$ECHOD" -f -c "$tmp/echod.ini" </dev/null >"$tmp/nofile.out" 2>&1) &
	ECHOD_PID=$!
	LIB_PIDS="$LIB_PIDS $ECHOD_PID"
	expect_log 'ready listeners=1'
	expect_log 'RLIMIT_NOFILE raised from 256 to 1064 for max_connections=1000'
	soft=$(awk '/^Max open files/ { print $4 }' "/proc/$ECHOD_PID/limits")
	[ "$soft" -eq 1064 ] || fail "soft RLIMIT_NOFILE is $soft, expected 1064"
	stop_echod
fi
# Beyond the hard limit: a warning (or, with CAP_SYS_RESOURCE, a raise).
write_ini ""
sed -i 's/^max_connections = 100$/max_connections = 5000/' "$tmp/echod.ini"
: >"$tmp/daemon.log"
(ulimit -n 512 && exec "$ECHOD" -f -c "$tmp/echod.ini" </dev/null >"$tmp/nofile.out" 2>&1) &
ECHOD_PID=$!
LIB_PIDS="$LIB_PIDS $ECHOD_PID"
expect_log 'ready listeners=1'
if ! grep -q 'RLIMIT_NOFILE raised from 512 to 5064' "$ECHOD_LOG"; then
	expect_log 'RLIMIT_NOFILE=512 \(hard 512\) is below max_connections=5000 \+ 64 reserved'
fi
stop_echod

# ---------------------------------------------------------------- user
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	nuid=$(id -u nobody)
	PIDFILE=$tmp/runas/echod.pid
	write_ini "user = nobody"
	# The log directory must stay writable for the unprivileged daemon.
	chmod 0777 "$tmp"
	: >"$tmp/daemon.log"
	chmod 0666 "$tmp/daemon.log"
	run_cmd -c "$tmp/echod.ini"
	[ "$RC" -eq 0 ] || fail "start as root with user = nobody: exit $RC: $(cat "$tmp/cmd.err")"
	D=$(daemon_pid "$PIDFILE")
	expect_log "privileges dropped user=nobody uid=$nuid"
	grep -q -E "^Uid:[[:space:]]+$nuid[[:space:]]+$nuid[[:space:]]+$nuid[[:space:]]+$nuid$" \
	    "/proc/$D/status" || fail "daemon runs as $(grep ^Uid: "/proc/$D/status")"
	grep -q -E '^Groups:[[:space:]]*[0-9 ]*$' "/proc/$D/status" || fail "groups not reset"
	grep -q -E '^Groups:.*\b0\b' "/proc/$D/status" && fail "still in group root"
	P=$(port_of echo) || fail "no listening line"
	out=$(tclient -T 5 fetch -s -d nobody 127.0.0.1 "$P" 6) || fail "echo as nobody"
	[ "$out" = "nobody" ] || fail "echo as nobody returned '$out'"
	kill -TERM "$D"
	wait_gone "$D"
	# echod made the pidfile's directory and gave it to the user: removed.
	[ ! -e "$PIDFILE" ] || fail "pidfile left after dropping privileges"
	chmod 0700 "$tmp"
elif [ "$(id -u)" -ne 0 ] && id nobody >/dev/null 2>&1 && [ "$(id -un)" != nobody ]; then
	write_ini "user = nobody"
	run_cmd -f -c "$tmp/echod.ini"
	[ "$RC" -eq 1 ] || fail "user = nobody without root: exit $RC, expected 1"
	grep -q 'cannot switch to user=nobody group=-: not running as root' "$tmp/cmd.err" \
	    "$tmp/daemon.log" || fail "no reason given for the refused user switch"
else
	note "no user 'nobody': privilege drop not checked"
fi

for f in "$tmp"/sanitizer.*; do
	[ -f "$f" ] || continue
	fail "sanitizer report in $(basename "$f"): $(head -n 40 "$f")"
done
