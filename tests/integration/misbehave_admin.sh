# misbehave_admin.sh: misbehaviour changed while it runs, and made
# reproducible. The admin console's MISBEHAVE shows a listener's settings
# and changes one on an open connection (a delay turned on, changed, and
# off between round trips on the same connection; a stall lifted); bad
# commands are refused. misbehave_probability picks connections and
# misbehave_seed makes the picks the same: twice in one run (the seed set
# again restarts the stream), across a restart, and with the random seed
# the log reported. A reload applies the file's values and logs the seed.
. "$(dirname "$0")/lib.sh"

have_cmd python3 || skip "python3 not installed"
MB="python3 $top_srcdir/tests/integration/mbclient.py"

write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[log]
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo

[listener coin]
bind = 127.0.0.1:0
service = echo
delay = 80ms
misbehave_probability = 0.5
misbehave_seed = $1

[listener admin]
bind = unix:$tmp/admin.sock
service = admin
INI
}

admin()
{
	printf '%s\n' "$1" | nc -N -U "$tmp/admin.sock" | tr -d '\r'
}

write_ini 42
start_echod "$tmp/echod.ini"
PE=$(port_of echo) || fail "no echo listener"
PC=$(port_of coin) || fail "no coin listener"
expect_log 'listener=coin misbehave delay=80ms .* misbehave_probability=0.5 misbehave_seed=42 at=start'

out=$(admin 'MISBEHAVE echo')
echo "$out" | grep -q -x 'listener=echo delay=0 delay_jitter=0 slice_size=0 slice_delay=0 reset_after=0 stall_after=0 close_after=0 misbehave_probability=1 misbehave_seed=[1-9][0-9]* connections=0 resets=0 stalls=0 closes=0 delayed_bytes=0' ||
    fail "MISBEHAVE echo: $out"
echo "$out" | tail -n 1 | grep -q -x '+OK' || fail "MISBEHAVE echo: no +OK: $out"
[ "$(admin MISBEHAVE | grep -c '^listener=')" -eq 3 ] || fail "MISBEHAVE lists: $(admin MISBEHAVE)"
admin 'MISBEHAVE nosuch' | grep -q -x -e '-ERR no such listener' || fail "an unknown listener"
admin 'MISBEHAVE echo latency 5ms' | grep -q '^-ERR expected one of delay, delay_jitter' ||
    fail "an unknown key"
admin 'MISBEHAVE echo delay soon' | grep -q '^-ERR expected a duration from 0 to 1h' ||
    fail "a bad value"
admin 'MISBEHAVE echo delay' | grep -q '^-ERR usage: MISBEHAVE' || fail "a key without a value"

# One connection: no delay, then 200 ms, then 100 ms, then none, between its round trips.
$MB rtt --count 4 --admin "$tmp/admin.sock" --then 'MISBEHAVE echo delay 200ms' \
    --then 'MISBEHAVE echo delay 100ms' --then 'MISBEHAVE echo delay 0' 127.0.0.1 "$PE" \
    >"$tmp/rtt.out" || fail "round trips with changes: $(cat "$tmp/rtt.out")"
note "$(grep '^phase' "$tmp/rtt.out" | tr '\n' ' ')"
# phase P: every round trip within [lo, hi] ms
phase_in()
{
	sed -n "s/^phase=$1 rtt_ms=//p" "$tmp/rtt.out" | tr ',' '\n' |
	    awk -v lo="$2" -v hi="$3" '$1 < lo || $1 > hi { bad = 1 } END { exit bad }' ||
	    fail "phase $1 not within $2..$3 ms: $(grep "^phase=$1 " "$tmp/rtt.out")"
}
phase_in 0 0 60
phase_in 1 200 400
phase_in 2 100 300
phase_in 3 0 60
expect_log 'misbehave listener=echo delay=200ms by=conn=[0-9]+'
expect_log 'listener=echo misbehave delay=0 .* by=admin'

# A stall turned on for an open connection, then lifted: the rest arrives, intact.
admin 'MISBEHAVE echo stall_after 10' | grep -q '^+OK' || fail "stall_after"
spawn $MB chunks --send 100 --quiet-s 3 --deadline-s 10 127.0.0.1 "$PE" >"$tmp/stall.out"
STALLER=$SPAWN_PID
wait_log 'misbehave stall listener=echo bytes_out=10' || fail "no stall"
admin 'MISBEHAVE echo stall_after 0' | grep -q '^+OK' || fail "stall_after 0"
wait_exit "$STALLER" 15 || fail "mbclient did not finish"
grep -q '^result end=silence .* bytes=100 match=yes' "$tmp/stall.out" ||
    fail "after the stall was lifted: $(sed -n 's/^result //p' "$tmp/stall.out")"

# The seed: 24 connections one after the other, 1 = delayed (picked), 0 = not.
pattern()
{
	$MB pattern --count 24 --threshold-ms 60 127.0.0.1 "$1" || fail "pattern"
}
p1=$(pattern "$PC")
note "seed 42: $p1"
case $p1 in *0*1*|*1*0*) ;; *) fail "probability 0.5 picked all or none: $p1" ;; esac
# the open lines say the same
wait_log_count 'open listener=coin ' 24 || fail "not 24 open lines for coin"
opens=$(grep -E 'open listener=coin ' "$ECHOD_LOG" | sed 's/.*misbehave=yes.*/1/; s/.*open listener.*/0/' | tr -d '\n')
[ "$opens" = "$p1" ] || fail "the log's picks $opens differ from what the client saw $p1"
# the same seed set again restarts the stream: the same picks
admin 'MISBEHAVE coin misbehave_seed 42' | grep -q '^+OK' || fail "misbehave_seed 42"
p2=$(pattern "$PC")
[ "$p2" = "$p1" ] || fail "seed 42 set again: $p2, before $p1"
admin 'MISBEHAVE coin misbehave_seed 43' | grep -q '^+OK' || fail "misbehave_seed 43"
p3=$(pattern "$PC")
note "seed 43: $p3"
[ "$p3" != "$p1" ] || fail "seeds 42 and 43 picked the same 24 connections"
# probability at run time: 0 picks none
admin 'MISBEHAVE coin misbehave_probability 0' | grep -q '^+OK' || fail "probability 0"
[ "$(pattern "$PC")" = 000000000000000000000000 ] || fail "probability 0 picked a connection"
stop_echod

# Across a restart: the same seed, the same picks.
start_echod "$tmp/echod.ini"
PC=$(port_of coin) || fail "no coin listener"
[ "$(pattern "$PC")" = "$p1" ] || fail "seed 42 after a restart picked differently"
stop_echod

# Seed 0: a random seed, logged; given back, it picks the same.
write_ini 0
start_echod "$tmp/echod.ini"
PC=$(port_of coin) || fail "no coin listener"
seed=$(sed -n 's/.*listener=coin misbehave .* misbehave_seed=\([0-9]*\) at=start.*/\1/p' "$ECHOD_LOG")
[ -n "$seed" ] && [ "$seed" != 0 ] || fail "no random seed logged"
p4=$(pattern "$PC")
note "random seed $seed: $p4"

# Reload: the file's values replace the admin's, and the seed is logged.
admin 'MISBEHAVE echo delay 300ms' | grep -q '^+OK' || fail "delay 300ms"
write_ini "$seed"
kill -HUP "$ECHOD_PID"
expect_log "listener=coin misbehave delay=80ms .* misbehave_seed=$seed at=reload"
admin 'MISBEHAVE echo' | grep -q '^listener=echo delay=0 ' || fail "reload kept the admin's delay"
stop_echod
start_echod "$tmp/echod.ini"
PC=$(port_of coin) || fail "no coin listener"
[ "$(pattern "$PC")" = "$p4" ] || fail "the logged random seed $seed picked differently"
stop_echod
