# metrics_emfile.sh: the metrics address when descriptors run out. echod runs
# with 48 descriptors and a file log; held echo connections use them all up,
# then a scrape waits in the metrics backlog. accept() fails with EMFILE:
# the metrics listener must pause and retry on a back-off timer like the
# service listeners (CPU stays low), say so in echod's log, write no raw
# libevent "[warn]" line to stderr, and answer /metrics again once the
# connections are released.
. "$(dirname "$0")/lib.sh"

have_cmd curl || skip "curl not installed"
HZ=$(getconf CLK_TCK)
N=60
LOG=$tmp/echod.file.log

cat >"$tmp/echod.ini" <<INI
[log]
level = info
target = file:$LOG

[metrics]
bind = 127.0.0.1:0

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
# Started by hand: with a file target, stderr holds only what comes before
# the configuration is applied (and whatever escapes echod's log).
ECHOD_NOFILE=48
echod_spawn "$ECHOD" -f -c "$tmp/echod.ini"
ECHOD_LOG=$LOG
expect_log 'ready listeners=1' 15
P=$(port_of echo) || fail "no echo port"
M=$(sed -n 's/.* metrics listening addr=\([^ ]*\) .*/\1/p' "$LOG" | head -n 1)
[ -n "$M" ] || fail "no metrics address in the log"
curl -s -S --max-time 10 "http://$M/metrics" | grep -q '^echod_build_info' ||
    fail "no metrics before the descriptors run out"

# Use up every descriptor with held echo connections.
pids=
i=1
while [ "$i" -le "$N" ]; do
	spawn tclient hold -e 127.0.0.1 "$P" 60 >"$tmp/h$i.out" 2>&1
	pids="$pids $SPAWN_PID"
	i=$((i + 1))
done
expect_log 'listener=echo accept error=".*Too many open files' 15

# A scrape now waits in the metrics backlog; accepting it fails.
spawn curl -s -S --max-time 30 -o "$tmp/late.txt" "http://$M/metrics" 2>"$tmp/late.err"
LATE=$SPAWN_PID
expect_log 'metrics paused reason=fd-limit error="Too many open files" retry_ms=' 10
c0=$(cpu_ticks "$ECHOD_PID")
sleep 2
c1=$(cpu_ticks "$ECHOD_PID")
note "daemon CPU at EMFILE with a scrape waiting: $((c1 - c0)) of $((2 * HZ)) ticks in 2 s"
# Under 20% of one CPU.
[ $((c1 - c0)) -lt $((2 * HZ / 5)) ] ||
    fail "daemon used $((c1 - c0)) of $((2 * HZ)) CPU ticks in 2 s at EMFILE (busy loop?)"
proc_alive "$ECHOD_PID" || fail "echod died at EMFILE"
if grep -q '\[warn\]' "$tmp/echod.1.log"; then
	fail "raw libevent lines on stderr: $(grep -c '\[warn\]' "$tmp/echod.1.log") like" \
	    "$(grep '\[warn\]' "$tmp/echod.1.log" | head -n 1)"
fi
# Retried on a back-off timer, not in a loop.
n=$(log_count 'metrics paused reason=fd-limit')
[ "$n" -le 12 ] || fail "$n metrics pause lines in about 2 s: not backing off"

# Release the connections: the waiting scrape is answered, and new ones too.
for p in $pids; do
	kill -TERM "$p" 2>/dev/null
done
wait_exit "$LATE" 20 || fail "the waiting scrape was never answered"
[ "$WAIT_STATUS" -eq 0 ] || fail "the waiting scrape failed: $(cat "$tmp/late.err")"
grep -q '^echod_build_info' "$tmp/late.txt" || fail "the waiting scrape got no metrics"
curl -s -S --max-time 10 "http://$M/metrics" >"$tmp/after.txt" ||
    fail "no metrics after the connections were released"
grep -q '^echod_metrics_accept_errors_total [1-9]' "$tmp/after.txt" ||
    fail "accept errors not counted: $(grep accept_errors "$tmp/after.txt")"
expect_log 'metrics resumed after='
grep -q '\[warn\]' "$tmp/echod.1.log" && fail "raw libevent lines on stderr"
no_log ' critical '
stop_echod
note ok
