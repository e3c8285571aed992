# debug_jobs.sh: a pool job that never ran on a worker (still queued when a
# graceful shutdown began) is reported as "job never scheduled" with the
# place it was submitted; in debug mode with the backtrace captured at
# submission too.
. "$(dirname "$0")/lib.sh"

have_cmd nc || skip "nc not installed"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s
workers = 1
max_sleep = 10s

[listener cmd]
bind = 127.0.0.1:0
service = command
INI

# pipeline PORT: SLEEP 1500 takes the only worker, SLEEP 100 waits behind it;
# then SIGTERM. The running job still answers, the queued one is dropped.
pipeline()
{
	spawn sh -c "printf 'SLEEP 1500\r\nSLEEP 100\r\n' | timeout 10 nc -N 127.0.0.1 $1 \
	    >$tmp/client.out 2>&1"
	CLIENT=$SPAWN_PID
	sleep 0.5
	stop_echod
	wait_exit "$CLIENT" 10 || fail "client still running"
	tr -d '\r' <"$tmp/client.out" >"$tmp/client.txt"
	sed -n 1p "$tmp/client.txt" | grep -q '^+OK' || fail "first reply: $(cat "$tmp/client.txt")"
	grep -q '^-ERR shutting down$' "$tmp/client.txt" ||
	    fail "queued job not answered 'shutting down': $(cat "$tmp/client.txt")"
}

start_echod "$tmp/echod.ini" -d
pipeline "$(port_of cmd)"
expect_log 'job never scheduled kind=SLEEP conn=[0-9]+ status=shutdown site=[^ ]*service_command\.c:[0-9]+'
expect_log 'job never scheduled submitted at #0 '
[ "$(log_count 'job never scheduled kind=')" -eq 1 ] || fail "the job that ran was reported too"
expect_log 'exit check: no descriptors or TLS objects left open'

# Outside debug mode: the same report, without the backtrace.
start_echod "$tmp/echod.ini"
pipeline "$(port_of cmd)"
expect_log 'job never scheduled kind=SLEEP conn=[0-9]+ status=shutdown site=[^ ]*service_command\.c:[0-9]+'
no_log 'submitted at #'
note ok
