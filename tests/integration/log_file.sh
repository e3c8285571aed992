# log_file.sh: the file sink. Records go to [log] target = file:PATH (mode
# 0640, appended). logrotate-style: rename the file, SIGUSR1, and every
# record logged afterwards lands in the new file, none lost and none twice.
# SIGHUP with a new target moves the log to another file. A reopen that
# fails is told on stderr as well as in the (old) log file.
. "$(dirname "$0")/lib.sh"

N=100
SINK=$tmp/sink.log
SINK2=$tmp/sink2.log

write_ini()
{
	cat >"$tmp/file.ini" <<INI
[log]
level = info
connections = yes
target = file:$1

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}

# closes FILE: how many connection close records FILE holds.
closes()
{
	grep -c -E ' close listener=echo ' "$1" 2>/dev/null || true
}

write_ini "$SINK"
# stderr gets only what is logged before the config is applied.
echod_spawn "$ECHOD" -f -c "$tmp/file.ini"
ECHOD_LOG=$SINK
wait_until 15 '[ -f "$SINK" ]' || fail "no log file $SINK: $(cat "$tmp/echod.1.log")"
expect_log 'ready listeners=1' 15
PORT=$(port_of echo) || fail "no port for listener echo"
MODE=$(stat -c %a "$SINK")
[ "$MODE" = 640 ] || fail "log file mode $MODE, expected 640"
! grep -q 'listening listener=' "$tmp/echod.1.log" || fail "records after configure went to stderr"

tclient concurrent 127.0.0.1 "$PORT" "$N" 32 >/dev/null || fail "first batch failed"
wait_log_count ' close listener=echo ' "$N" 10 || fail "first batch: $(closes "$SINK") close records"

# Rotate: rename, then SIGUSR1 makes the daemon open the path again.
mv "$SINK" "$SINK.1" || fail "mv"
kill -USR1 "$ECHOD_PID"
wait_until 10 '[ -f "$SINK" ]' || fail "SIGUSR1 did not reopen $SINK"
tclient concurrent 127.0.0.1 "$PORT" "$N" 32 >/dev/null || fail "second batch failed"
wait_log_count ' close listener=echo ' "$N" 10 || fail "second batch: $(closes "$SINK") close records"
sleep 0.2
[ "$(closes "$SINK.1")" -eq "$N" ] || fail "rotated file has $(closes "$SINK.1") close records, expected $N"
[ "$(closes "$SINK")" -eq "$N" ] || fail "new file has $(closes "$SINK") close records, expected $N"
MODE=$(stat -c %a "$SINK")
[ "$MODE" = 640 ] || fail "reopened log file mode $MODE, expected 640"

# Reload with another target: the log moves there.
write_ini "$SINK2"
kill -HUP "$ECHOD_PID"
wait_until 10 '[ -f "$SINK2" ]' || fail "SIGHUP did not open $SINK2"
wait_file_grep 'reload ok' 10 "$SINK2" || fail "no 'reload ok' in the new target"
tclient concurrent 127.0.0.1 "$PORT" "$N" 32 >/dev/null || fail "third batch failed"
ECHOD_LOG=$SINK2
wait_log_count ' close listener=echo ' "$N" 10 || fail "third batch: $(closes "$SINK2") close records"
[ "$(closes "$SINK")" -eq "$N" ] || fail "records after the reload went to the old target"

# A reopen that fails (the path is now a directory) is told on stderr, which
# someone reads in the foreground, not only in the old file nobody reads.
mv "$SINK2" "$SINK2.1" || fail "mv"
mkdir "$SINK2" || fail "mkdir"
kill -USR1 "$ECHOD_PID"
wait_file_grep "error server: log reopen path=$SINK2 failed: Is a directory" 10 \
    "$tmp/echod.1.log" || fail "the failed reopen is not on stderr: $(cat "$tmp/echod.1.log")"
wait_file_grep "log reopen path=$SINK2 failed" 10 "$SINK2.1" ||
    fail "the failed reopen is not in the log"
rmdir "$SINK2"
mv "$SINK2.1" "$SINK2"

stop_echod
if grep -q 'dropped=' "$SINK.1" "$SINK" "$SINK2"; then
	fail "records were dropped"
fi
exit 0
