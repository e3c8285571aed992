# metrics_limits.sh: the metrics endpoint bounds what a client can hold.
# [metrics] max_connections = 4, request_timeout = 2s. Four clients dribble
# a request head, a byte every 200 ms (each byte would restart an idle
# timeout): each is cut about 2 s after it was accepted. While they hold
# every slot, a fifth connection is closed at once, without an answer. Both
# are counted in the metrics, and /metrics answers once the slots are free.
# The metrics connections count towards the descriptors echod asks for.
. "$(dirname "$0")/lib.sh"

have_cmd curl || skip "curl not installed"
have_cmd perl || skip "perl not installed"

cat >"$tmp/echod.ini" <<INI
[server]
max_connections = 1000

[log]
level = info

[metrics]
bind = 127.0.0.1:0
max_connections = 4
request_timeout = 2s

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
# A soft descriptor limit below what the config needs: echod raises it and
# counts the metrics connections in.
hard=$(ulimit -H -n)
if [ "$hard" = unlimited ] || [ "$hard" -ge 1100 ]; then
	ECHOD_N=1
	ECHOD_LOG=$tmp/echod.1.log
	(ulimit -S -n 256 && exec "$ECHOD" -f -c "$tmp/echod.ini") </dev/null \
	    >"$tmp/echod.1.out" 2>"$ECHOD_LOG" &
	ECHOD_PID=$!
	LIB_PIDS="$LIB_PIDS $ECHOD_PID"
	expect_log 'ready listeners=1' 15
	expect_log 'RLIMIT_NOFILE raised from 256 to 1068 for max_connections=1000 \+ \[metrics\] max_connections=4'
else
	note "hard descriptor limit $hard: RLIMIT_NOFILE part skipped"
	start_echod "$tmp/echod.ini"
fi
M=$(sed -n 's/.* metrics listening addr=\([^ ]*\) .*/\1/p' "$ECHOD_LOG" | head -n 1)
[ -n "$M" ] || fail "no metrics address in the log"
MH=${M%:*}
MP=${M##*:}

# dribble ID: a request head one byte every 200 ms for up to 8 s; writes
# "ID SECONDS" to $tmp/dribble.ID when the server closes the connection
# (EOF, reset or a failed write), "ID open" if it never did.
dribble()
{
	perl -MSocket -MTime::HiRes=time,sleep -e '
		my ($id, $host, $port, $out) = @ARGV;
		$SIG{PIPE} = "IGNORE";
		socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
		connect($s, sockaddr_in($port, inet_aton($host))) or die "connect: $!";
		my $t0 = time;
		open(my $c, ">", "$out.connected") or die; close($c);
		my $head = "GET /metrics HTTP/1.1\r\nX-Slow: " . ("a" x 200);
		my $gone = 0;
		for my $i (0 .. length($head) - 1) {
			last if time - $t0 > 8;
			if (!defined syswrite($s, substr($head, $i, 1))) { $gone = 1; last; }
			my $rin = ""; vec($rin, fileno($s), 1) = 1;
			if (select(my $rout = $rin, undef, undef, 0.2) > 0) {
				my $n = sysread($s, my $buf, 4096);
				if (!$n) { $gone = 1; last; }
			}
		}
		open(my $f, ">", $out) or die;
		printf $f "%s %s\n", $id, $gone ? sprintf("%.2f", time - $t0) : "open";
		close($f);
	' "$1" "$MH" "$MP" "$tmp/dribble.$1"
}

pids=
for i in 1 2 3 4; do
	spawn dribble "$i" 2>"$tmp/dribble.$i.err"
	pids="$pids $SPAWN_PID"
done
wait_until 10 '[ "$(ls "$tmp" | grep -c "^dribble\.[0-9]\.connected\$")" -eq 4 ]' ||
    fail "the dribbling clients did not connect"
sleep 0.2
# Every slot is taken: a fifth connection is closed at once, unanswered.
t0=$(date +%s%N)
out=$(curl -s -S --max-time 5 "http://$M/metrics" 2>&1)
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
note "fifth connection: curl exit $rc after $ms ms ($out)"
[ "$rc" -ne 0 ] || fail "a fifth connection was answered with 4 slots taken: $out"
[ "$ms" -lt 2000 ] || fail "the fifth connection took $ms ms to be closed (deadline 2 s)"

for p in $pids; do
	wait_exit "$p" 15 || fail "a dribbling client is still running"
done
for i in 1 2 3 4; do
	r=$(cut -d' ' -f2 "$tmp/dribble.$i")
	note "dribbling client $i closed after $r s"
	[ "$r" != open ] || fail "dribbling client $i was never cut (8 s)"
	awk -v r="$r" 'BEGIN { exit !(r >= 1.7 && r < 4.5) }' ||
	    fail "dribbling client $i cut after $r s, expected about 2 s (request_timeout)"
done
expect_log 'metrics request timeout peer=127\.0\.0\.1:[0-9]+ state=reading after_ms='

curl -s -S --max-time 10 "http://$M/metrics" >"$tmp/m.txt" || fail "no metrics after the slots were freed"
v()
{
	awk -v s="$1" '$1 == s { print $2 }' "$tmp/m.txt"
}
[ "$(v echod_metrics_connections_timed_out_total)" = 4 ] ||
    fail "timed out: $(grep timed_out "$tmp/m.txt")"
[ "$(v echod_metrics_connections_rejected_total)" -ge 1 ] ||
    fail "rejected: $(grep rejected_total "$tmp/m.txt" | grep metrics)"
[ "$(v echod_metrics_connections_open)" = 1 ] || fail "open: $(grep connections_open "$tmp/m.txt")"
no_log ' (error|critical) '
stop_echod
note ok
