# conn_backpressure.sh: a client that sends 64 MiB and never reads stalls once
# the pending output passes the high watermark: the server's RSS stays bounded,
# it does not spin, it keeps serving others, and it resumes (everything is
# echoed) once the client reads. A chargen client that never reads is bounded
# the same way.
. "$(dirname "$0")/lib.sh"

MAX_GROWTH_KB=16384     # 16 MiB: the flood is 64 MiB
HZ=$(getconf CLK_TCK)

cat >"$tmp/echod.ini" <<INI
[server]
write_high_watermark = 256K
write_low_watermark = 64K
shutdown_timeout = 5s

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo

[listener chargen]
bind = 127.0.0.1:0
service = chargen
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
PC=$(port_of chargen) || fail "no chargen port"

# Warm up the allocator so the baseline includes steady-state buffers.
tclient echo-bulk 127.0.0.1 "$P" 4M 1 >/dev/null || fail "warm-up echo"
base=$(rss_kb "$ECHOD_PID")
note "baseline VmRSS ${base} kB"

# cpu_check WHAT: the daemon uses under half a CPU over one second.
cpu_check()
{
	local c0 c1

	c0=$(cpu_ticks "$ECHOD_PID")
	sleep 1
	c1=$(cpu_ticks "$ECHOD_PID")
	[ $((c1 - c0)) -lt $((HZ / 2)) ] ||
	    fail "$1: daemon used $((c1 - c0)) of $HZ CPU ticks in 1 s (busy loop?)"
}

# rss_check WHAT: VmRSS grew less than MAX_GROWTH_KB over the baseline.
rss_check()
{
	local now

	now=$(rss_kb "$ECHOD_PID")
	note "$1: VmRSS ${now} kB (+$((now - base)) kB)"
	[ $((now - base)) -lt "$MAX_GROWTH_KB" ] ||
	    fail "$1: VmRSS grew by $((now - base)) kB (limit $MAX_GROWTH_KB kB)"
}

# ---- echo flood: 64 MiB offered, never read until SIGUSR1, then read back in full.
spawn tclient -T 60 flood -r 127.0.0.1 "$P" 64M 40 >"$tmp/flood.out" 2>"$tmp/flood.err"
FLOOD=$SPAWN_PID
wait_file_grep 'flood: sent=' 30 "$tmp/flood.out" || fail "flood did not stall or finish in 30 s"
sent=$(sed -n 's/^flood: sent=\([0-9]*\) .*/\1/p' "$tmp/flood.out")
grep -q 'stalled=yes' "$tmp/flood.out" ||
    fail "the server read all 64 MiB from a client that never reads: $(cat "$tmp/flood.out")"
note "flood stalled after $sent bytes"
rss_check "flood stalled"
cpu_check "flood stalled"
# Others are still served while one client is stalled.
tclient rtt 127.0.0.1 "$P" 20 >"$tmp/rtt.out" || fail "echo blocked by a stalled client"
rss_check "flood stalled, after 1 s"
# The flood client now shuts down and reads: every byte it sent comes back.
kill -USR1 "$FLOOD"
wait_exit "$FLOOD" 60 || fail "flood client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "flood client failed: $(cat "$tmp/flood.err")"
grep -q "flood: received=$sent eof=clean" "$tmp/flood.out" ||
    fail "after resuming: $(tail -n 1 "$tmp/flood.out"), expected received=$sent eof=clean"
expect_log "close listener=echo .*reason=eof bytes_in=$sent bytes_out=$sent "

# ---- chargen to a client that never reads: bounded, not spinning.
spawn tclient hold 127.0.0.1 "$PC" 3 >"$tmp/hold.out"
HOLD=$SPAWN_PID
sleep 1
rss_check "chargen unread"
cpu_check "chargen unread"
wait_exit "$HOLD" 10 || fail "chargen hold did not finish"
grep -q 'held' "$tmp/hold.out" || fail "chargen closed a slow reader: $(cat "$tmp/hold.out")"
expect_log "close listener=chargen "
line=$(grep -E "close listener=chargen " "$ECHOD_LOG" | head -n 1)
out=$(field "$line" bytes_out)
note "chargen wrote $out bytes to a client that never read"
[ "$out" -lt 67108864 ] || fail "chargen wrote $out bytes to a client that never read"

# ---- a stalled client that dies (reset with output pending): the write
# error is the client's problem, not a SIGPIPE for the daemon.
spawn tclient -T 60 flood 127.0.0.1 "$P" 64M 40 >"$tmp/flood3.out" 2>&1
FLOOD=$SPAWN_PID
wait_file_grep 'flood: sent=.*stalled=yes' 30 "$tmp/flood3.out" || fail "third flood did not stall"
kill -KILL "$FLOOD"
expect_log 'close listener=echo .*reason=(reset|write-error|io-error|eof) '
proc_alive "$ECHOD_PID" || fail "echod died when a stalled client was killed"

tclient echo-bulk 127.0.0.1 "$P" 1M 2 >/dev/null || fail "echo after the floods"
stop_echod
note ok
