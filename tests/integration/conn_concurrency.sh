# conn_concurrency.sh: 1000 echo connections open at once, each doing a round
# trip while all are open; several bulk transfers in parallel; every
# connection is logged open and closed.
. "$(dirname "$0")/lib.sh"

N=1000
# Room for N client and N server descriptors (the daemon inherits this limit).
want=$((2 * N + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$want" ] ||
    skip "open file limit $(ulimit -n) is below $want"

cat >"$tmp/echod.ini" <<INI
[server]
max_connections = 5000

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
backlog = 1024
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"

tclient -T 60 concurrent 127.0.0.1 "$P" "$N" 1024 >"$tmp/conc.out" ||
    fail "$N concurrent connections: $(cat "$tmp/conc.out")"
note "$(cat "$tmp/conc.out")"
wait_log_count ' close listener=echo ' "$N" 20 ||
    fail "only $(log_count ' close listener=echo ') of $N connections closed"
[ "$(log_count ' open listener=echo ')" -eq "$N" ] ||
    fail "$(log_count ' open listener=echo ') open lines for $N connections"
[ "$(log_count ' close listener=echo .*reason=eof bytes_in=1024 bytes_out=1024 ')" -eq "$N" ] ||
    fail "not every connection closed with reason=eof and 1024 bytes each way"
# Connection ids are unique.
[ "$(sed -n 's/.* conn=\([0-9]*\) open .*/\1/p' "$ECHOD_LOG" | sort -u | wc -l)" -eq "$N" ] ||
    fail "connection ids are not unique"

# Four 4 MiB transfers at the same time, plus round trips alongside.
pids=
for i in 1 2 3 4; do
	spawn tclient echo-bulk 127.0.0.1 "$P" 4M "$i" >"$tmp/bulk$i.out" 2>&1
	pids="$pids $SPAWN_PID"
done
tclient rtt 127.0.0.1 "$P" 100 >"$tmp/rtt.out" || fail "round trips alongside bulk transfers"
note "$(cat "$tmp/rtt.out")"
for p in $pids; do
	wait_exit "$p" 30 || fail "a parallel echo-bulk did not finish"
	[ "$WAIT_STATUS" -eq 0 ] || fail "a parallel echo-bulk failed: $(cat "$tmp"/bulk*.out)"
done

no_log ' (error|critical) '
no_log 'accept error'
stop_echod
note ok
