# command_pipeline.sh: pipelined commands are answered in request order even
# when their jobs finish out of order; max_pending stops reading a connection
# until replies drain (and every command is still answered); a full job
# queue answers "-ERR busy" at once, while one connection's own pipeline
# waits for its share of the queue instead; a job past job_timeout answers
# "-ERR timeout".
. "$(dirname "$0")/lib.sh"

have_openbsd_nc ||
    skip "OpenBSD nc (with -N) not installed"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
workers = 4
max_pending = 8
job_queue_max = 1024
job_timeout = 2s

[log]
level = info
level.conn = debug

[listener cmd]
bind = 127.0.0.1:0
service = command
INI
start_echod "$tmp/echod.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"

# Out-of-order completion, in-order replies: the long sleeps come first.
: >"$tmp/order.in"
: >"$tmp/order.exp"
for i in 1 2 3 4 5 6; do
	ms=$(( (7 - i) * 40 ))
	printf 'SLEEP %d\nECHO %d\nDIGEST md5 %d\n' "$ms" "$i" "$i" >>"$tmp/order.in"
	printf '+OK slept %d ms\n+OK %d\n+OK %s\n' "$ms" "$i" \
	    "$(printf '%s' "$i" | md5sum | cut -d' ' -f1)" >>"$tmp/order.exp"
done
talk order 30
diff -u "$tmp/order.exp" "$tmp/order.out" >&2 || fail "pipelined replies out of order"

# 300 commands in one burst, far more than max_pending (8): reading pauses
# and resumes, and every command is answered, in order.
: >"$tmp/burst.in"
: >"$tmp/burst.exp"
i=0
while [ "$i" -lt 100 ]; do
	printf 'SLEEP %d\nECHO n%d\nPING\n' $((i % 3)) "$i" >>"$tmp/burst.in"
	printf '+OK slept %d ms\n+OK n%d\n+OK PONG\n' $((i % 3)) "$i" >>"$tmp/burst.exp"
	i=$((i + 1))
done
talk burst 30
diff -u "$tmp/burst.exp" "$tmp/burst.out" >&2 || fail "burst: replies missing or out of order"
expect_log "conn=[0-9]+ command reading paused pending=8"
expect_log "conn=[0-9]+ command reading resumed pending=[0-7]"

# job_timeout (2s): the client gets an error at the deadline, not the result.
printf 'SLEEP 5000\nPING\n' >"$tmp/timeout.in"
t0=$(date +%s)
talk timeout 30
t1=$(date +%s)
printf -- '-ERR timeout\n+OK PONG\n' | diff -u - "$tmp/timeout.out" >&2 || fail "no timeout reply"
[ $((t1 - t0)) -le 4 ] || fail "timeout reply took $((t1 - t0)) s (job_timeout 2s)"
expect_log "status=timeout"
stop_echod

# A full queue: 1 worker, 2 queue slots, and one job in flight per
# connection (its share: a quarter of job_queue_max, at least 1). Three
# clients' SLEEPs take the worker and both slots; a fourth client is refused
# at once with "-ERR busy" (and its PING still answered).
cat >"$tmp/busy.ini" <<INI
[server]
shutdown_timeout = 5s
workers = 1
job_queue_max = 2
max_pending = 64

[log]
level = info

[listener cmd]
bind = 127.0.0.1:0
service = command

[listener admin]
bind = unix:$tmp/admin.sock
service = admin
unix_mode = 0600
INI
start_echod "$tmp/busy.ini"
P=$(port_of cmd) || fail "no listening line for the command listener"
holders=
for h in a b c; do
	spawn sh -c "printf 'SLEEP 4000\n' | timeout 30 nc -N 127.0.0.1 $P" >"$tmp/busy.$h.raw" \
	    2>/dev/null
	holders="$holders $SPAWN_PID"
	sleep 0.1
done
# The worker and both slots taken (the admin console's JOBS lists them).
wait_until 5 '[ "$(echo JOBS | timeout 5 nc -N -U "$tmp/admin.sock" | grep -c "^job kind=SLEEP")" -ge 3 ]' ||
    fail "busy: the three SLEEPs were not all submitted"
printf 'SLEEP 300\nPING\n' >"$tmp/busy.in"
t0=$(date +%s%N)
talk busy
t1=$(date +%s%N)
printf -- '-ERR busy\n+OK PONG\n' | diff -u - "$tmp/busy.out" >&2 ||
    fail "full queue: expected a busy reply"
# "At once": long before a holder's 4 s job frees a slot (a queued request would wait for it).
[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || fail "busy took $(( (t1 - t0) / 1000000 )) ms"
expect_log "reason=busy"
for p in $holders; do
	wait_exit "$p" 10 || fail "busy: a holding client did not finish"
done
for h in a b c; do
	[ "$(tr -d '\r' <"$tmp/busy.$h.raw")" = "+OK slept 4000 ms" ] ||
	    fail "busy: client $h got '$(cat "$tmp/busy.$h.raw")'"
done
# One connection alone never makes itself busy: its jobs past its share wait
# (reading pauses) and all are answered, in order.
printf 'SLEEP 100\nSLEEP 100\nSLEEP 100\nSLEEP 100\nSLEEP 100\nPING\n' >"$tmp/own.in"
talk own
printf '+OK slept 100 ms\n+OK slept 100 ms\n+OK slept 100 ms\n+OK slept 100 ms\n+OK slept 100 ms\n+OK PONG\n' |
    diff -u - "$tmp/own.out" >&2 || fail "one connection's pipeline was refused"
# The queue drained: jobs are accepted again.
printf 'SLEEP 10\n' >"$tmp/again.in"
talk again 30
[ "$(cat "$tmp/again.out")" = "+OK slept 10 ms" ] || fail "queue not usable after busy"
stop_echod
