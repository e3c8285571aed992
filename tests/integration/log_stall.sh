# log_stall.sh: a stalled log reader never stalls the daemon. echod logs at
# debug level with connection records into a FIFO whose reader we SIGSTOP;
# thousands of echo round trips on thousands of connections must all complete
# with normal latency. Once the reader resumes, a "dropped=N" line appears,
# and the daemon still exits 0 on SIGTERM. A second daemon gets SIGTERM while
# its reader is still stopped: it must exit 0 anyway, without hanging.
. "$(dirname "$0")/lib.sh"

have_cmd mkfifo || skip "mkfifo not installed"

ROUNDS=10
PER_ROUND=200
RTT_COUNT=3000
# A blocked event loop shows up as a round trip stuck for seconds (or the
# client's deadline); a healthy one answers in well under this, even under
# a sanitizer on a busy machine.
P99_MAX_US=200000

cat >"$tmp/stall.ini" <<INI
[log]
level = debug
connections = yes
queue_size = 1024

[listener echo]
bind = 127.0.0.1:0
service = echo
INI

# rtt_field OUTPUT KEY: a number from tclient's "rtt: ok ..." line.
rtt_field()
{
	field "$(grep '^rtt: ok' "$1")" "$2"
}

# start_fifo_echod: the daemon's stderr is a FIFO; `cat` (READER) copies it
# into the log we read.
start_fifo_echod()
{
	ECHOD_N=$((ECHOD_N + 1))
	ECHOD_LOG=$tmp/echod.$ECHOD_N.log
	: >"$ECHOD_LOG"
	mkfifo "$tmp/stderr.$ECHOD_N.fifo" || fail "mkfifo"
	spawn cat "$tmp/stderr.$ECHOD_N.fifo" >"$ECHOD_LOG"
	READER=$SPAWN_PID
	"$ECHOD" -f -c "$tmp/stall.ini" </dev/null >"$tmp/echod.$ECHOD_N.out" \
	    2>"$tmp/stderr.$ECHOD_N.fifo" &
	ECHOD_PID=$!
	LIB_PIDS="$LIB_PIDS $ECHOD_PID"
	expect_log 'ready listeners=1' 15
	PORT=$(port_of echo) || fail "no port for listener echo"
}

# load: connections and round trips; the clients fail on any stuck echo.
load()
{
	local i=0

	while [ "$i" -lt "$ROUNDS" ]; do
		tclient concurrent 127.0.0.1 "$PORT" "$PER_ROUND" 64 >"$tmp/conc.out" ||
		    fail "round $i of $PER_ROUND connections failed: $(cat "$tmp/conc.out")"
		i=$((i + 1))
	done
	tclient rtt 127.0.0.1 "$PORT" "$RTT_COUNT" >"$tmp/rtt1.out" ||
	    fail "round trips with a stalled log failed: $(cat "$tmp/rtt1.out")"
}

start_fifo_echod

tclient rtt 127.0.0.1 "$PORT" 500 >"$tmp/rtt0.out" || fail "baseline rtt failed"
note "reader running: $(grep '^rtt' "$tmp/rtt0.out")"

# Stop the reader: the pipe fills, then the log thread blocks on it.
kill -STOP "$READER"
load
note "reader stopped: $(grep '^rtt' "$tmp/rtt1.out")"
P99=$(rtt_field "$tmp/rtt1.out" p99_us)
[ -n "$P99" ] || fail "no p99 in: $(cat "$tmp/rtt1.out")"
[ "$P99" -lt "$P99_MAX_US" ] || fail "p99 round trip ${P99} us with a stalled log"
proc_alive "$ECHOD_PID" || fail "echod died while its log was stalled"
no_log 'dropped='

# Resume the reader: the log thread catches up and reports what it lost.
kill -CONT "$READER"
expect_log 'warning server: dropped=[0-9]+' 15

kill -TERM "$ECHOD_PID"
echod_wait_exit 15 || fail "echod still running 15 s after SIGTERM"
[ "$ECHOD_STATUS" -eq 0 ] || fail "echod exited with status $ECHOD_STATUS"
# The reader ends at EOF, once it has copied everything.
wait_exit "$READER" 10 || fail "log reader did not see EOF"
grep -q 'exiting status=0' "$ECHOD_LOG" || fail "no 'exiting status=0' line"

# Every connection either has its close record or was counted as dropped.
CONNS=$((ROUNDS * PER_ROUND + 2))
CLOSED=$(log_count ' close listener=echo ')
DROPPED=$(sed -n 's/.* dropped=\([0-9]*\)$/\1/p' "$ECHOD_LOG" | awk '{ s += $1 } END { print s + 0 }')
note "connections=$CONNS close_records=$CLOSED dropped=$DROPPED"
[ "$DROPPED" -gt 0 ] || fail "dropped=N lines add up to 0"
[ $((CLOSED + DROPPED)) -ge "$CONNS" ] ||
    fail "$CONNS connections but only $CLOSED close records and $DROPPED drops"

# SIGTERM while the reader is still stopped: the log cannot be flushed, and
# the daemon must not wait for it forever.
start_fifo_echod
kill -STOP "$READER"
load
kill -TERM "$ECHOD_PID"
echod_wait_exit 20 || fail "echod hangs on a stalled log after SIGTERM"
[ "$ECHOD_STATUS" -eq 0 ] || fail "echod exited with status $ECHOD_STATUS with a stalled log"
kill -CONT "$READER"
wait_exit "$READER" 10 || fail "log reader did not see EOF"
exit 0
