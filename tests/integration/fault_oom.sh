# fault_oom.sh: malloc, calloc and realloc fail with probability 0.001 for
# 10 s while echo streams, connection churn, command sessions, TLS clients
# and admin STATS run. The daemon lives on: a connection whose allocation
# failed closes (reason oom, or refused at accept with reason oom), a reply
# that cannot be built fails alone (-ERR), every other byte any client gets is right,
# allocation_failures_total counts it all. With the faults off a new
# client is exact, the daemon holds the descriptors it held before, and it
# exits 0 on SIGTERM (in an ASan build, with no leak reported).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/fault_lib.sh"

have_cmd openssl || skip "openssl command line tool not installed"
tls_certs "$tmp/certs" || fail "cannot make test certificates"
CERTS=$tmp/certs
. "$(dirname "$0")/tls_lib.sh"
{
	printf '[server]\nworkers = 2\nshutdown_timeout = 5s\n'
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\n'
	printf '[listener cmd]\nbind = 127.0.0.1:0\nservice = command\n'
	printf '[listener admin]\nbind = unix:%s\nservice = admin\n' "$ADMIN"
	tls_listener_ini tls echo
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
PC=$(port_of cmd) || fail "no command port"
PT=$(port_of tls) || fail "no tls port"
fresh_ok "$P"
tls_echo_ok "$PT" warm-up || fail "TLS echo before any fault"
BASE=$(fd_count)
note "descriptors at rest: $BASE"

# The command session's script and what it must answer: each client gets
# this exactly, or a prefix of it and then a close.
i=0
: >"$tmp/cmd.in"
: >"$tmp/cmd.want"
while [ "$i" -lt 40 ]; do
	printf 'ECHO line-%d\r\nDIGEST sha256 x%d\r\nPING\r\n' "$i" "$i" >>"$tmp/cmd.in"
	printf '+OK line-%d\r\n+OK %s\r\n+OK PONG\r\n' "$i" \
	    "$(printf 'x%d' "$i" | openssl dgst -sha256 -r | cut -d' ' -f1)" >>"$tmp/cmd.want"
	i=$((i + 1))
done
printf 'QUIT\r\n' >>"$tmp/cmd.in"
printf '+OK bye\r\n' >>"$tmp/cmd.want"

# answers_ok GOT WANT: GOT has WANT's lines in order, each exact or an
# "-ERR ..." line (that one reply failed: a worker out of memory), and may
# stop early (the session closed, oom), its last line possibly cut.
answers_ok()
{
	awk 'NR == FNR { want[FNR] = $0; nwant = FNR; next }
	     { got[FNR] = $0; ngot = FNR }
	     END {
		if (ngot > nwant) exit 1
		for (i = 1; i <= ngot; i++) {
			if (got[i] == want[i] || got[i] ~ /^-ERR [^\r]*\r$/)
				continue
			if (i == ngot && index(want[i], got[i]) == 1)
				continue
			print "line " i ": got \"" got[i] "\" want \"" want[i] "\"" > "/dev/stderr"
			exit 1
		}
	     }' "$2" "$1"
}

fault_set 'malloc=ENOMEM,p=0.001' 'calloc=ENOMEM,p=0.001' 'realloc=ENOMEM,p=0.001'
spawn "$LOADGEN" stream -r -c 8 -s 60000 -W 2 -w 0 -d 10 "127.0.0.1:$P" \
    >"$tmp/lg.stream.out" 2>"$tmp/lg.stream.err"
lg_stream=$SPAWN_PID
spawn "$LOADGEN" churn -r -c 4 -w 0 -d 10 "127.0.0.1:$P" >"$tmp/lg.churn.out" 2>"$tmp/lg.churn.err"
lg_churn=$SPAWN_PID
end=$(($(date +%s) + 10))
n=0 cut=0 tls=0 stats=0
while [ "$(date +%s)" -lt "$end" ]; do
	n=$((n + 1))
	timeout 20 nc -N 127.0.0.1 "$PC" <"$tmp/cmd.in" >"$tmp/cmd.got" 2>/dev/null
	answers_ok "$tmp/cmd.got" "$tmp/cmd.want" 2>"$tmp/cmd.why" ||
	    fail "command session $n: wrong answer: $(cat "$tmp/cmd.why")"
	cmp -s "$tmp/cmd.got" "$tmp/cmd.want" || cut=$((cut + 1))
	printf 'tls-%d\n' "$n" | timeout 20 openssl s_client -connect "127.0.0.1:$PT" -quiet \
	    -no_ign_eof >"$tmp/tls.got" 2>/dev/null
	[ ! -s "$tmp/tls.got" ] || [ "$(cat "$tmp/tls.got")" = "tls-$n" ] ||
	    fail "TLS client $n: wrong bytes: $(od -c "$tmp/tls.got" | head -n 3)"
	tls=$((tls + 1))
	# STATS: whole (ends in +OK) or refused (-ERR out of memory) or the session closed
	admin STATS | tr -d '\r' >"$tmp/stats.got"
	if tail -n 1 "$tmp/stats.got" | grep -q -x -E '\+OK'; then
		grep -q '^uptime_seconds=' "$tmp/stats.got" || fail "STATS +OK without its lines"
		stats=$((stats + 1))
	elif [ -s "$tmp/stats.got" ]; then
		grep -q -x -e '-ERR out of memory' "$tmp/stats.got" ||
		    fail "STATS cut short: $(tail -n 2 "$tmp/stats.got")"
	fi
done
wait_exit "$lg_stream" 30 || fail "loadgen stream did not end"
[ "$WAIT_STATUS" -eq 0 ] || fail "loadgen stream: $(cat "$tmp/lg.stream.out" "$tmp/lg.stream.err")"
wait_exit "$lg_churn" 30 || fail "loadgen churn did not end"
[ "$WAIT_STATUS" -eq 0 ] || fail "loadgen churn: $(cat "$tmp/lg.churn.out" "$tmp/lg.churn.err")"
fault_set
note "stream: $(field "$(cat "$tmp/lg.stream.out")" requests_total) exact messages, $(field "$(cat "$tmp/lg.stream.out")" closed) closed"
note "churn: $(field "$(cat "$tmp/lg.churn.out")" requests_total) exact, $(field "$(cat "$tmp/lg.churn.out")" closed) closed"
note "command sessions: $n ($cut not whole, none wrong); TLS clients: $tls; whole STATS replies: $stats"

proc_alive "$ECHOD_PID" || fail "echod died under allocation failures"
oom=$(stat_of allocation_failures_total)
[ "$oom" -gt 0 ] || fail "allocation_failures_total is 0"
closed=$(stat_of 'connections_closed_total{reason="oom"}')
refused=$(admin STATS | tr -d '\r' | awk -F= '/^connections_rejected_total.*reason="oom"/ { n += $NF } END { print n + 0 }')
note "allocation_failures_total=$oom closed(oom)=$closed refused(oom)=$refused"
[ "$((closed + refused))" -gt 0 ] || fail "no connection closed or refused for want of memory"
# Each oom close logs a warning, unless formatting that very line failed too
# (then it counts as a dropped log record).
warned=$(log_count 'out of memory what=')
dropped=$(stat_of log_records_dropped_total)
[ "$((warned + dropped))" -ge "$closed" ] ||
    fail "$closed oom closes, but $warned warnings and $dropped dropped log records"
fresh_ok "$P"
tls_echo_ok "$PT" after-oom || fail "TLS echo after the allocation faults"
timeout 20 nc -N 127.0.0.1 "$PC" <"$tmp/cmd.in" >"$tmp/cmd.got" 2>/dev/null
cmp -s "$tmp/cmd.got" "$tmp/cmd.want" || fail "command session after the faults: $(cmp "$tmp/cmd.got" "$tmp/cmd.want")"
fd_settle "$BASE"

stop_echod
[ $(($(fault_fired malloc) + $(fault_fired calloc) + $(fault_fired realloc))) -gt 0 ] ||
    fail "no allocation fault injected: $(cat "$FAULT_REPORT")"
note "failed: malloc $(fault_fired malloc), calloc $(fault_fired calloc), realloc $(fault_fired realloc)"
note ok
