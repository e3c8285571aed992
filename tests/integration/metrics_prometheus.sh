# metrics_prometheus.sh: GET /metrics over HTTP: counters compared with
# known echo traffic, histograms present, 404 elsewhere, a reload that moves
# the metrics address (the old one closes) and one that turns metrics off.
# The exposition is validated with `promtool check metrics` (Debian package
# prometheus); without promtool everything else runs and the test then
# reports a skip.
. "$(dirname "$0")/lib.sh"

have_cmd curl || skip "curl not installed"

write_ini()
{
	cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s

[log]
level = info
connections = yes

[debug]
enabled = yes

[metrics]
bind = $1

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
}

# metrics_addr [N]: the Nth "metrics listening addr=" of the log.
metrics_addr()
{
	sed -n 's/.* metrics listening addr=\([^ ]*\) .*/\1/p' "$ECHOD_LOG" | sed -n "${1:-1}p"
}

scrape()
{
	curl -s -S --max-time 10 "http://$1/metrics"
}

# value FILE SAMPLE: the value of one sample line (name with labels, exact).
value()
{
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

write_ini 127.0.0.1:0
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no listening line for echo"
wait_log 'metrics listening addr=127\.0\.0\.1:[0-9]+ path=/metrics' || fail "no metrics line"
M=$(metrics_addr 1)

# Known traffic: 4 connections, 1000 bytes each way.
for i in 1 2 3 4; do
	tclient -T 10 fetch -s -n 1000 127.0.0.1 "$P" 1000 >/dev/null 2>&1 ||
	    fail "echo fetch $i failed"
done
wait_log_count "close listener=echo" 4 || fail "the echo connections did not close"

# The lag timer runs every 100 ms: wait for its first samples (these scrapes count too).
i=0
until scrape "$M" 2>/dev/null | grep -q '^echod_loop_lag_seconds_count [1-9]'; do
	i=$((i + 1))
	[ $i -lt 40 ] || fail "no loop lag samples after 2 s"
	sleep 0.05
done
n0=$i
scrape "$M" >"$tmp/m1.txt" || fail "GET /metrics failed"
curl -s -D "$tmp/headers.txt" -o /dev/null --max-time 10 "http://$M/metrics" ||
    fail "second GET failed"
grep -q -i '^Content-Type: text/plain; version=0.0.4' "$tmp/headers.txt" ||
    fail "wrong content type: $(cat "$tmp/headers.txt")"
scrape "$M" >"$tmp/m2.txt" || fail "third GET failed"

L='{listener="echo",service="echo"}'
[ "$(value "$tmp/m1.txt" "echod_connections_total$L")" = 4 ] ||
    fail "echod_connections_total: $(grep '^echod_connections_total' "$tmp/m1.txt")"
[ "$(value "$tmp/m1.txt" "echod_connections_open$L")" = 0 ] || fail "echod_connections_open"
[ "$(value "$tmp/m1.txt" echod_server_connections_total)" = 4 ] || fail "server total"
[ "$(value "$tmp/m1.txt" echod_received_bytes_total)" = 4000 ] ||
    fail "echod_received_bytes_total: $(value "$tmp/m1.txt" echod_received_bytes_total)"
[ "$(value "$tmp/m1.txt" echod_sent_bytes_total)" = 4000 ] || fail "echod_sent_bytes_total"
[ "$(value "$tmp/m1.txt" echod_debug_mode)" = 1 ] || fail "echod_debug_mode"
[ "$(value "$tmp/m1.txt" 'echod_connections_rejected_total{listener="echo",service="echo",reason="fd_limit"}')" = 0 ] ||
    fail "no fd_limit rejection series"
grep -q '^echod_tls_handshake_failures_total{reason="tls-plaintext"} 0$' "$tmp/m1.txt" ||
    fail "no TLS failure series"
[ "$(value "$tmp/m1.txt" echod_metrics_scrapes_total)" = $((n0 + 2)) ] ||
    fail "scrape count $(value "$tmp/m1.txt" echod_metrics_scrapes_total), expected $((n0 + 2))"
[ "$(value "$tmp/m2.txt" echod_metrics_scrapes_total)" = $((n0 + 4)) ] || fail "later scrape count"
grep -q '^# TYPE echod_loop_lag_seconds histogram$' "$tmp/m1.txt" || fail "no lag histogram"
# Debug mode times every callback: the echo reads are in the duration histogram.
grep -q '^echod_callback_duration_seconds_count{callback="conn_read_cb"} [1-9]' "$tmp/m1.txt" ||
    fail "no conn_read_cb durations"
grep -q '^echod_callback_duration_seconds_count{callback="listener_accept_cb"} 4$' "$tmp/m1.txt" ||
    fail "accept callbacks: $(grep 'callback="listener_accept_cb"' "$tmp/m1.txt" | tail -n 1)"
# Every name is echod_-prefixed; counters end in _total.
grep -v '^#' "$tmp/m1.txt" | grep -v -q '^echod_' && fail "a sample without the echod_ prefix"
grep '^# TYPE .* counter$' "$tmp/m1.txt" | grep -v -q '_total counter$' &&
    fail "a counter without _total"

# The families served are exactly the ones README.md's statistics table documents.
sed -n 's/^# TYPE echod_\([a-z0-9_]*\) .*/\1/p' "$tmp/m1.txt" | sort >"$tmp/served"
sed -n '/<!-- metrics -->/,/<!-- \/metrics -->/p' "$top_srcdir/README.md" |
    sed -n 's/^| \(`[a-z0-9_]*`\(, `[a-z0-9_]*`\)*\) |.*/\1/p' | tr -d '`' | tr ',' '\n' |
    tr -d ' ' | sort >"$tmp/documented"
[ -s "$tmp/documented" ] || fail "no metrics table in README.md"
comm -23 "$tmp/served" "$tmp/documented" >"$tmp/undocumented"
comm -13 "$tmp/served" "$tmp/documented" >"$tmp/unserved"
[ -s "$tmp/undocumented" ] && fail "served but not in README.md: $(tr '\n' ' ' <"$tmp/undocumented")"
[ -s "$tmp/unserved" ] && fail "in README.md but not served: $(tr '\n' ' ' <"$tmp/unserved")"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$M/other")
[ "$code" = 404 ] || fail "GET /other answered $code, expected 404"

# Reload to another address: the new one serves, the old one is closed.
write_ini 127.0.0.2:0
kill -HUP "$ECHOD_PID"
expect_log 'reload ok'
wait_log 'metrics listening addr=127\.0\.0\.2:[0-9]+' || fail "metrics did not move on reload"
M2=$(metrics_addr 2)
scrape "$M2" >"$tmp/m3.txt" || fail "GET on the new address failed"
[ "$(value "$tmp/m3.txt" "echod_connections_total$L")" = 4 ] || fail "counters lost on reload"
curl -s -o /dev/null --max-time 5 "http://$M/metrics" && fail "the old metrics address still answers"

# Reload with an empty bind: metrics off.
write_ini ""
kill -HUP "$ECHOD_PID"
expect_log 'metrics off'
curl -s -o /dev/null --max-time 5 "http://$M2/metrics" && fail "metrics still served after off"

no_log ' (error|critical) '
stop_echod

if have_cmd promtool; then
	for f in m1 m2 m3; do
		promtool check metrics <"$tmp/$f.txt" >"$tmp/promtool.out" 2>&1 ||
		    fail "promtool check metrics $f: $(cat "$tmp/promtool.out")"
	done
	note ok
else
	skip "promtool (Debian package prometheus) not installed; the rest passed"
fi
