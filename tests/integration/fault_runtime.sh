# fault_runtime.sh: faults that fire while load runs never stop the daemon.
# Phases, each under load from bench/loadgen (every byte verified):
#   accept4 fails EMFILE/ENFILE/ENOBUFS/ECONNABORTED: listeners pause and
#     resume, the refusals are counted, every accepted client is exact;
#   read/write calls fail EINTR or EAGAIN: invisible, no connection closes;
#   ECONNRESET/EPIPE: those connections close with reason=reset (log line
#     and counter), their clients see a close and never a wrong byte;
#   SSL_new fails: that TLS connection closes (tls-setup-failed), others echo.
# After each phase, with the faults off, a new client is exact and the
# daemon holds as many descriptors as before; at the end SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/fault_lib.sh"

tls_certs "$tmp/certs" || fail "cannot make test certificates"
CERTS=$tmp/certs
. "$(dirname "$0")/tls_lib.sh"
{
	printf '[server]\nworkers = 2\nshutdown_timeout = 5s\n'
	printf '[log]\nconnections = yes\n'
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\n'
	printf '[listener admin]\nbind = unix:%s\nservice = admin\n' "$ADMIN"
	tls_listener_ini tls echo
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
PT=$(port_of tls) || fail "no tls port"
fresh_ok "$P"
tls_echo_ok "$PT" warm-up || fail "TLS echo before any fault"
BASE=$(fd_count)
note "descriptors at rest: $BASE"

# ---- accept4: out of descriptors (pause, retry) and aborted connections
fault_set 'accept4=EMFILE,p=0.04' 'accept4=ENFILE,p=0.04' 'accept4=ENOBUFS,p=0.04' \
    'accept4=ECONNABORTED,p=0.1'
lg accept churn -r -c 4 -w 0 -d 3 "127.0.0.1:$P"
fault_set
[ "$(lg_field accept requests_total)" -gt 50 ] || fail "too few connections got through: $(cat "$tmp/lg.accept.out")"
n=$(stat_of 'connections_rejected_total{listener="echo",service="echo",reason="fd_limit"}')
[ "$n" -gt 0 ] || fail "no fd_limit refusal counted"
expect_log 'listener=echo accept error="Too many open files" paused'
expect_log 'listener=echo accept error="Too many open files in system" paused'
expect_log 'listener=echo accept error="No buffer space available" paused'
expect_log 'listener=echo resumed'
note "accept: $(lg_field accept requests_total) exact connections, fd_limit refusals=$n"
fresh_ok "$P"
fd_settle "$BASE"

# ---- EINTR and spurious EAGAIN: nobody may notice (no --reconnect: a close fails it)
fault_set 'read=EINTR,p=0.05' 'recv=EAGAIN,p=0.05' 'readv=EINTR,p=0.05' \
    'write=EAGAIN,p=0.05' 'send=EINTR,p=0.03' 'send=EAGAIN,p=0.03' 'writev=EAGAIN,p=0.05'
lg transient stream -c 16 -s 4000 -W 4 -w 0 -d 3 "127.0.0.1:$P"
tls_echo_ok "$PT" through-eintr || fail "TLS echo under EINTR/EAGAIN"
fault_set
# loadgen without --reconnect fails on any close before its end; it closes
# its sockets with echoed bytes unread, so the daemon's count of resets
# cannot tell: the clients' view is the check.
note "transient: $(lg_field transient requests_total) exact round trips"
fresh_ok "$P"
fd_settle "$BASE"

# ---- ECONNRESET / EPIPE on a few calls: those connections close, reason=reset
resets0=$(stat_of 'connections_closed_total{reason="reset"}')
lines0=$(log_count ' close listener=echo .*reason=reset ')
fault_set 'read=ECONNRESET,p=0.003' 'send=EPIPE,p=0.003' 'writev=ECONNRESET,p=0.01'
lg reset stream -r -c 16 -s 4000 -W 4 -w 0 -d 3 "127.0.0.1:$P"
fault_set
closed=$(lg_field reset closed)
resets=$(($(stat_of 'connections_closed_total{reason="reset"}') - resets0))
lines=$(($(log_count ' close listener=echo .*reason=reset ') - lines0))
[ "$closed" -gt 0 ] || fail "no client saw its connection reset: $(cat "$tmp/lg.reset.out")"
# (loadgen's own final close, with echoed bytes unread, is a reset too)
[ "$resets" -ge "$closed" ] || fail "clients saw $closed closes, the daemon counted $resets resets"
[ "$lines" -eq "$resets" ] || fail "$resets resets counted, $lines close lines with reason=reset"
note "reset: $closed connections reset, every byte before exact"
fresh_ok "$P"
fd_settle "$BASE"

# tls_try PORT LINE: 0 if LINE came back exactly through TLS, 1 if the
# server closed first; any other output fails the test.
tls_try()
{
	local pid out=$tmp/try.out line=$2 rc=1 settled=0

	rm -f "$tmp/try.fifo"
	mkfifo "$tmp/try.fifo" || fail "mkfifo"
	timeout 20 openssl s_client -connect "127.0.0.1:$1" -quiet -no_ign_eof \
	    <"$tmp/try.fifo" >"$out" 2>"$tmp/try.err" &
	pid=$!
	exec 4>"$tmp/try.fifo"
	(printf '%s\n' "$2" >&4) 2>/dev/null
	wait_until 10 'grep -q -x -F -- "$line" "$out" || ! proc_alive "$pid"' &&
	    settled=1
	grep -q -x -F -- "$2" "$out" && rc=0
	exec 4>&-
	wait "$pid"
	[ "$settled" = 1 ] || fail "TLS client on $1: neither echoed nor closed within 10 s"
	if [ -s "$out" ] && [ "$(cat "$out")" != "$2" ]; then
		fail "TLS client got wrong bytes: $(od -c "$out" | head -n 3)"
	fi
	return $rc
}

# ---- SSL_new fails on every third TLS connection while plain load runs
spawn "$LOADGEN" stream -c 4 -s 1000 -W 2 -w 0 -d 4 "127.0.0.1:$P" \
    >"$tmp/lg.tlsload.out" 2>"$tmp/lg.tlsload.err"
bg=$SPAWN_PID
fault_set 'SSL_new=NULL,every=3'
ok=0 refused=0
for i in 1 2 3 4 5 6; do
	if tls_try "$PT" "tls-line-$i"; then
		ok=$((ok + 1))
	else
		refused=$((refused + 1))
	fi
done
[ "$refused" -eq 2 ] && [ "$ok" -eq 4 ] || fail "SSL_new failing every third time: $ok echoed, $refused refused"

fault_set
wait_exit "$bg" 30 || fail "plain load under SSL_new faults did not end"
[ "$WAIT_STATUS" -eq 0 ] || fail "plain load under SSL_new faults: $(cat "$tmp/lg.tlsload.out" "$tmp/lg.tlsload.err")"
setup=$(stat_of 'connections_closed_total{reason="tls-setup-failed"}')
[ "$setup" -ge 1 ] || fail "no TLS connection closed with tls-setup-failed"
[ "$(log_count 'cannot set up TLS')" -eq "$setup" ] || fail "$setup tls-setup-failed closes, $(log_count 'cannot set up TLS') log lines"
note "SSL_new: $setup TLS connections failed set-up ($refused refused clients), the others exact"
tls_echo_ok "$PT" after-ssl-new || fail "TLS echo after the SSL_new faults"
fresh_ok "$P"
fd_settle "$BASE"

stop_echod
expect_fired accept4 SSL_new
[ $(($(fault_fired read) + $(fault_fired recv) + $(fault_fired readv))) -gt 0 ] || fail "no read fault injected"
[ $(($(fault_fired send) + $(fault_fired write) + $(fault_fired writev))) -gt 0 ] || fail "no write fault injected"
note ok
