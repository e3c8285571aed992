# command_load.sh: blocking commands never block the loop. 50 clients each
# run SLEEP 200 on a 2-worker pool (about 5 s of queued work) while 50 other
# clients do echo round trips on an echo listener of the same daemon, and
# inline commands (ECHO) on the command listener keep answering at once.
# The bounds are generous (a blocked loop would cost 200 ms per job); the
# real figures belong to the benchmark.
. "$(dirname "$0")/lib.sh"

have_openbsd_nc ||
    skip "OpenBSD nc (with -N) not installed"

# Bounds for the echo clients, in microseconds.
P50_BOUND_US=${COMMAND_LOAD_P50_US:-50000}
P99_BOUND_US=${COMMAND_LOAD_P99_US:-150000}

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 10s
workers = 2
job_queue_max = 1024
job_timeout = 30s

[log]
level = info

[listener cmd]
bind = 127.0.0.1:0
service = command

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
PC=$(port_of cmd) || fail "no listening line for the command listener"
PE=$(port_of echo) || fail "no listening line for the echo listener"

sleepers=
i=0
while [ "$i" -lt 50 ]; do
	spawn sh -c "printf 'SLEEP 200\n' | timeout 60 nc -N 127.0.0.1 $PC" \
	    >"$tmp/sleep.$i.raw" 2>"$tmp/sleep.$i.err"
	sleepers="$sleepers $SPAWN_PID"
	i=$((i + 1))
done
# Let the queue fill before measuring.
sleep 0.5

echoers=
i=0
while [ "$i" -lt 50 ]; do
	spawn "$TCLIENT" -T 30 rtt -i 10 127.0.0.1 "$PE" 20 >"$tmp/rtt.$i.res" 2>"$tmp/rtt.$i.err"
	echoers="$echoers $SPAWN_PID"
	i=$((i + 1))
done

# Inline commands on the command listener: answered now, not after the queue.
i=0
while [ "$i" -lt 5 ]; do
	t0=$(date +%s%N)
	out=$(printf 'ECHO ping %d\n' "$i" | timeout 10 nc -N 127.0.0.1 "$PC" | tr -d '\r')
	t1=$(date +%s%N)
	[ "$out" = "+OK ping $i" ] || fail "ECHO under load answered '$out'"
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] ||
	    fail "ECHO under load took $(( (t1 - t0) / 1000000 )) ms"
	i=$((i + 1))
done

for p in $echoers; do
	wait_exit "$p" 40 || fail "an echo client is still running"
	[ "$WAIT_STATUS" -eq 0 ] || fail "an echo client failed with status $WAIT_STATUS"
done
# Robust figures on a small, busy machine: the worst client's median (a loop
# blocked by 200 ms jobs would put every median near 200 ms) and the median
# client's p99 (a few scheduling outliers do not fail the test).
i=0
: >"$tmp/rtt.all"
while [ "$i" -lt 50 ]; do
	sed -n 's/^rtt: ok count=20 p50_us=\([0-9]*\) p99_us=\([0-9]*\) .*/\1 \2/p' \
	    "$tmp/rtt.$i.res" >>"$tmp/rtt.all"
	grep -q '^rtt: ok' "$tmp/rtt.$i.res" ||
	    fail "echo client $i: $(cat "$tmp/rtt.$i.res" "$tmp/rtt.$i.err")"
	i=$((i + 1))
done
worst_p50=$(cut -d' ' -f1 "$tmp/rtt.all" | sort -n | tail -n 1)
median_p99=$(cut -d' ' -f2 "$tmp/rtt.all" | sort -n | sed -n 25p)
worst_p99=$(cut -d' ' -f2 "$tmp/rtt.all" | sort -n | tail -n 1)
note "echo under a saturated pool, 50 clients: worst p50 ${worst_p50} us, median p99 ${median_p99} us, worst p99 ${worst_p99} us"
[ "$worst_p50" -lt "$P50_BOUND_US" ] || fail "echo p50 ${worst_p50} us with the pool saturated"
[ "$median_p99" -lt "$P99_BOUND_US" ] || fail "echo p99 ${median_p99} us with the pool saturated"

# Every sleeper is answered (2 workers: about 5 s).
for p in $sleepers; do
	wait_exit "$p" 40 || fail "a SLEEP client is still running"
done
i=0
while [ "$i" -lt 50 ]; do
	[ "$(tr -d '\r' <"$tmp/sleep.$i.raw")" = "+OK slept 200 ms" ] ||
	    fail "SLEEP client $i got '$(cat "$tmp/sleep.$i.raw")'"
	i=$((i + 1))
done

stop_echod
