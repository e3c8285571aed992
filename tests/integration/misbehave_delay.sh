# misbehave_delay.sh: delay and delay_jitter with real clients. An echo
# round trip on a listener with delay = 100ms takes 100 ms, never less, at 1
# connection (tclient rtt) and at 1000 at once (tclient concurrent, each
# connection timed on its own, every byte verified). Never early is checked
# exactly; the lateness allowed on top is what the same round trips take
# without a delay in the same run, plus 10-15 ms, so a loaded machine does
# not fail the test and a wrong delay does (the figures are printed). Jitter
# stays within +-delay_jitter (never earlier; the median within the bound
# plus that slack) and varies. The open
# log line, CONNS and the counters mark the misbehaving connections; a
# listener with nothing set is untouched.
. "$(dirname "$0")/lib.sh"

have_cmd python3 || skip "python3 not installed"
MB="python3 $top_srcdir/tests/integration/mbclient.py"
ECHOD_NOFILE=4096

cat >"$tmp/echod.ini" <<INI
[server]
max_connections = 5000

[log]
connections = yes

[listener slow]
bind = 127.0.0.1:0
service = echo
delay = 100ms

[listener jittery]
bind = 127.0.0.1:0
service = echo
delay = 50ms
delay_jitter = 20ms
misbehave_seed = 7

[listener plain]
bind = 127.0.0.1:0
service = echo

[listener admin]
bind = unix:$tmp/admin.sock
service = admin
INI
start_echod "$tmp/echod.ini"
PS=$(port_of slow) || fail "no slow listener"
PJ=$(port_of jittery) || fail "no jittery listener"
PP=$(port_of plain) || fail "no plain listener"
# a listener that delays at start-up: the loop runs precise timers
expect_log 'echod .* starting pid=[0-9]+ .* backend=[a-z]+ timers=precise'
expect_log 'listener=slow misbehave delay=100ms delay_jitter=0 .* misbehave_probability=1 misbehave_seed=[1-9][0-9]* at=start'
expect_log 'listener=jittery misbehave delay=50ms delay_jitter=20ms .*misbehave_seed=7 at=start'
no_log 'listener=plain misbehave'

# kv LINE KEY: the value of KEY= in a line of the clients' output
kv()
{
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# One connection: 20 round trips of about 100 ms.
base=$(tclient rtt 127.0.0.1 "$PP" 20) || fail "rtt on the plain listener: $base"
out=$(tclient rtt 127.0.0.1 "$PS" 20) || fail "rtt on the slow listener: $out"
note "1 connection, no delay: $base"
note "1 connection, delay=100ms: $out"
[ "$(kv "$out" min_us)" -ge 100000 ] || fail "a round trip shorter than the delay: $out"
SLACK_US=$(($(kv "$base" p99_us) + 10000))
[ "$(kv "$out" p50_us)" -le $((100000 + SLACK_US)) ] ||
    fail "median round trip more than $SLACK_US us late: $out (baseline $base)"

# 1000 connections at once: first without a delay (what the loop needs now),
# then with. Never early, every time; the lateness bound may be missed when
# the machine stalls the daemon between the two runs (seen at a load average
# of 11 on 2 CPUs: every delayed round trip 120 ms late), so up to three
# attempts; a wrong delay misses all three.
tries=0
while :; do
	tries=$((tries + 1))
	base=$(tclient -T 60 concurrent 127.0.0.1 "$PP" 1000 64) || fail "1000 plain round trips: $base"
	out=$(tclient -T 60 concurrent 127.0.0.1 "$PS" 1000 64) || fail "1000 delayed round trips: $out"
	note "1000 connections, no delay: $base"
	note "1000 connections, delay=100ms: $out"
	[ "$(kv "$out" rtt_min_us)" -ge 100000 ] || fail "a round trip shorter than the delay: $out"
	allow=$((100000 + $(kv "$base" rtt_p99_us) + 15000))
	[ "$(kv "$out" rtt_p50_us)" -le "$allow" ] && break
	[ "$tries" -lt 3 ] ||
	    fail "median round trip at 1000 connections later than ${allow} us: $out (baseline $base)"
	note "attempt $tries: median later than ${allow} us, again"
done
wait_log_count 'close listener=slow .*reason=eof bytes_in=64 bytes_out=64' $((1000 * tries)) 20 ||
    fail "the 1000 delayed connections did not all close after 64 bytes each way"
[ "$(log_count 'open listener=slow .* misbehave=yes')" -eq $((1 + 1000 * tries)) ] ||
    fail "not every connection of the slow listener was marked misbehave=yes"
no_log 'open listener=plain .*misbehave'

# Jitter: 50 ms +- 20 ms, spread over the range (seeded: the same draws every run).
$MB rtt --count 60 127.0.0.1 "$PJ" >"$tmp/jitter.out" || fail "jitter round trips"
rtts=$(sed -n 's/^phase=0 rtt_ms=//p' "$tmp/jitter.out" | tr ',' '\n')
note "jitter 50ms+-20ms: $(echo "$rtts" | sort -n | sed -n '1p;$p' | tr '\n' ' ')(min, max of 60)"
echo "$rtts" | awk '$1 < 30 { bad = bad " " $1 } END { if (bad != "") { print bad; exit 1 } }' ||
    fail "round trips shorter than 50-20 ms: $(echo $rtts)"
med=$(echo "$rtts" | sort -n | sed -n 30p)
awk -v m="$med" -v hi=$((70 + SLACK_US / 1000)) 'BEGIN { exit !(m <= hi) }' ||
    fail "median round trip $med ms above 50+20 ms + $((SLACK_US / 1000)) ms: $(echo $rtts)"
echo "$rtts" | awk 'NR == 1 || $1 < lo { lo = $1 } $1 > hi { hi = $1 } END { exit !(hi - lo >= 20) }' ||
    fail "jitter does not vary: $(echo $rtts)"

# While a connection waits, CONNS marks it; the counters add up.
spawn tclient hold -e 127.0.0.1 "$PS" 30 >"$tmp/hold.out" 2>&1
HOLD=$SPAWN_PID
wait_file_grep 'hold: answered' 10 "$tmp/hold.out" || fail "hold client: $(cat "$tmp/hold.out")"
printf 'CONNS\n' | nc -N -U "$tmp/admin.sock" >"$tmp/conns.out" || fail "CONNS"
grep -q '^conn=[0-9]* listener=slow .* misbehave=yes' "$tmp/conns.out" ||
    fail "CONNS does not mark the misbehaving connection: $(cat "$tmp/conns.out")"
kill "$HOLD"
printf 'STATS misbehave_\n' | nc -N -U "$tmp/admin.sock" | tr -d '\r' >"$tmp/stats.out" || fail "STATS"
grep -q "^misbehave_connections_total{listener=\"slow\",service=\"echo\"}=$((2 + 1000 * tries))\$" \
    "$tmp/stats.out" ||
    fail "misbehave_connections_total: $(grep slow "$tmp/stats.out")"
# 20 rtt messages of 19 bytes, 1000 x 64 per attempt, the hold client's ping (5)
grep -q "^misbehave_delayed_bytes_total{listener=\"slow\",service=\"echo\"}=$((385 + 64000 * tries))\$" \
    "$tmp/stats.out" ||
    fail "misbehave_delayed_bytes_total: $(grep slow "$tmp/stats.out")"
grep -q '^misbehave_connections_total{listener="plain",service="echo"}=0' "$tmp/stats.out" ||
    fail "the plain listener counted a misbehaving connection"
stop_echod
