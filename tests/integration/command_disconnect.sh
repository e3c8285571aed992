# command_disconnect.sh: clients that go away mid-SLEEP. A connection reset
# while its job is queued cancels the job (it never runs); reset while it
# runs, the result is discarded and the interruptible SLEEP gives its worker
# back at once. Then many clients vanish mid-SLEEP (resets and plain closes)
# and the daemon still stops cleanly; built with --enable-asan, any leak or
# use-after-free fails the test (lib.sh scans the logs).
. "$(dirname "$0")/lib.sh"

have_openbsd_nc ||
    skip "OpenBSD nc (with -N) not installed"
have_cmd perl || skip "perl not installed"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 10s
workers = 1
job_queue_max = 1024

[log]
level = info
connections = yes

[listener cmd]
bind = 127.0.0.1:0
service = command
INI
start_echod "$tmp/echod.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"

# reset_after CMD SECONDS: send CMD, wait, then close with SO_LINGER 0 (a TCP
# reset, no FIN first: the server sees the connection die, not a half-close).
reset_after()
{
	perl -MSocket -e '
		my ($port, $cmd, $wait) = @ARGV;
		socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
		connect($s, sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
		syswrite($s, "$cmd\n") or die "write: $!";
		select(undef, undef, undef, $wait);
		setsockopt($s, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)) or die "linger: $!";
		close($s);
	' "$P" "$1" "$2"
}

# elapsed_ms CMD: run a command on a new connection; prints its reply and,
# on a second line, how long it took.
elapsed_ms()
{
	local t0 t1 out

	t0=$(date +%s%N)
	out=$(printf '%s\n' "$1" | timeout 20 nc -N 127.0.0.1 "$P" | tr -d '\r')
	t1=$(date +%s%N)
	echo "$out"
	echo $(( (t1 - t0) / 1000000 ))
}

# 1. Reset while queued: A holds the only worker for 2 s; B's SLEEP waits in
# the queue and B resets. C then waits for A only, not for B's 2 s.
spawn sh -c "printf 'SLEEP 2000\n' | timeout 20 nc -N 127.0.0.1 $P" >"$tmp/a.raw" 2>/dev/null
A=$SPAWN_PID
sleep 0.2
reset_after "SLEEP 2000" 0.2 || fail "reset client failed"
expect_log "close listener=cmd .*reason=reset"
res=$(elapsed_ms "SLEEP 10")
[ "$(echo "$res" | head -n 1)" = "+OK slept 10 ms" ] || fail "C got '$(echo "$res" | head -n 1)'"
ms=$(echo "$res" | tail -n 1)
note "queued job of a reset client: next job answered after ${ms} ms"
[ "$ms" -lt 2800 ] || fail "the reset client's queued SLEEP ran (${ms} ms)"
wait_exit "$A" 10 || fail "client A still running"
[ "$(tr -d '\r' <"$tmp/a.raw")" = "+OK slept 2000 ms" ] || fail "A got '$(cat "$tmp/a.raw")'"

# 2. Reset while running: D's SLEEP 3000 runs; D resets after 0.3 s; the
# worker is free again at once.
reset_after "SLEEP 3000" 0.3 || fail "reset client failed"
res=$(elapsed_ms "SLEEP 10")
ms=$(echo "$res" | tail -n 1)
note "running job of a reset client: next job answered after ${ms} ms"
[ "$(echo "$res" | head -n 1)" = "+OK slept 10 ms" ] || fail "E got '$(echo "$res" | head -n 1)'"
[ "$ms" -lt 1500 ] || fail "the reset client's SLEEP kept its worker (${ms} ms)"

# 3. Many clients vanish mid-SLEEP: resets, and plain closes by a killed nc
# (those look like a half-close: answered, then the write finds them gone).
printf 'SLEEP 300\nSLEEP 300\n' >"$tmp/multi.in"
i=0
while [ "$i" -lt 20 ]; do
	spawn reset_after "SLEEP 300" 0.1 >/dev/null 2>&1
	spawn timeout 0.2 nc 127.0.0.1 "$P" <"$tmp/multi.in" >/dev/null 2>&1
	i=$((i + 1))
done
sleep 1
# Still healthy.
res=$(elapsed_ms "PING")
[ "$(echo "$res" | head -n 1)" = "+OK PONG" ] || fail "PING after the disconnects: '$res'"
no_log 'fatal|critical'
stop_echod 20
