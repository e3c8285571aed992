# listener_emfile.sh: when accept fails with EMFILE the listener pauses and
# retries on a timer (no busy loop, no crash, established clients still
# served) and serves waiting clients once descriptors are free again.
. "$(dirname "$0")/lib.sh"

HZ=$(getconf CLK_TCK)
N=60

cat >"$tmp/echod.ini" <<INI
[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
# Only the daemon gets the small descriptor limit.
ECHOD_NOFILE=48 start_echod "$tmp/echod.ini"
grep -q -E '^Max open files +48 +48 ' "/proc/$ECHOD_PID/limits" ||
    fail "the daemon's open file limit is not 48: $(grep 'open files' "/proc/$ECHOD_PID/limits")"
P=$(port_of echo) || fail "no echo port"

# A connection established before the limit is reached keeps echoing.
spawn tclient rtt -i 100 127.0.0.1 "$P" 25 >"$tmp/rtt.out" 2>&1
RTT=$SPAWN_PID
wait_log 'conn=[0-9]+ open listener=echo ' || fail "first client not accepted"

# More clients than the daemon has descriptors for; each echoes once.
pids=
i=1
while [ "$i" -le "$N" ]; do
	spawn tclient hold -e 127.0.0.1 "$P" 30 >"$tmp/h$i.out" 2>&1
	pids="$pids $SPAWN_PID"
	i=$((i + 1))
done

count_served()
{
	grep -l answered "$tmp"/h*.out 2>/dev/null | wc -l
}

# release_served: end every served client; its descriptor frees.
release_served()
{
	local k=0 p

	for p in $pids; do
		k=$((k + 1))
		if grep -q answered "$tmp/h$k.out" && proc_alive "$p"; then
			kill -TERM "$p"
		fi
	done
}

expect_log 'listener=echo .*(Too many open files|EMFILE|emfile)' 10
sleep 0.5
served=$(count_served)
note "$served of $N clients served at the descriptor limit"
[ "$served" -lt "$N" ] || fail "all $N clients served with 48 descriptors: limit not reached"
[ "$served" -gt 0 ] || fail "no client served"
proc_alive "$ECHOD_PID" || fail "echod died at EMFILE"
# Paused and retrying on a timer: well under half a CPU.
c0=$(cpu_ticks "$ECHOD_PID")
sleep 1
c1=$(cpu_ticks "$ECHOD_PID")
[ $((c1 - c0)) -lt $((HZ / 2)) ] ||
    fail "daemon used $((c1 - c0)) of $HZ CPU ticks in 1 s at EMFILE (busy loop?)"
wait_exit "$RTT" 10 || fail "the established client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "the established client failed at EMFILE: $(cat "$tmp/rtt.out")"

# Free descriptors: the waiting clients are served in turn.
i=0
while [ "$(count_served)" -lt "$N" ] && [ "$i" -lt 150 ]; do
	release_served
	sleep 0.1
	i=$((i + 1))
done
[ "$(count_served)" -ge "$N" ] ||
    fail "only $(count_served) of $N clients served after descriptors were freed"
release_served
tclient rtt 127.0.0.1 "$P" 5 >/dev/null || fail "no echo after EMFILE"
no_log ' critical '
stop_echod
note ok
