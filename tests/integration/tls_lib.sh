# tls_lib.sh: helpers of the TLS integration tests, sourced after lib.sh and
# tls_certs.sh. Real clients only: openssl s_client and socat.

have_cmd openssl || skip "openssl command line tool not installed"
TLS_N=0

# tls_listener_ini NAME SERVICE [KEY = VALUE lines...]: a TLS [listener]
# section on a kernel-chosen loopback port with the test server certificate.
tls_listener_ini()
{
	local name=$1 svc=$2

	shift 2
	printf '[listener %s]\nbind = 127.0.0.1:0\nservice = %s\ntls = yes\n' "$name" "$svc"
	printf 'tls_cert = %s\ntls_key = %s\n' "$CERTS/server.pem" "$CERTS/server.key"
	for kv in "$@"; do
		printf '%s\n' "$kv"
	done
	printf '\n'
}

# tls_echo_ok PORT LINE [S_CLIENT ARGS...]: send LINE through openssl
# s_client and wait until it comes back; then close stdin (close_notify).
# Leaves the client's output in $TLS_OUT.
tls_echo_ok()
{
	local p=$1 line=$2 pid rc

	shift 2
	TLS_N=$((TLS_N + 1))
	TLS_OUT=$tmp/sclient.$TLS_N.out
	rm -f "$tmp/sclient.fifo"
	mkfifo "$tmp/sclient.fifo" || fail "mkfifo"
	timeout 20 openssl s_client -connect "127.0.0.1:$p" -quiet -no_ign_eof "$@" \
	    <"$tmp/sclient.fifo" >"$TLS_OUT" 2>"$tmp/sclient.$TLS_N.err" &
	pid=$!
	exec 4>"$tmp/sclient.fifo"
	# a subshell: a client that already quit must not end the test with SIGPIPE
	(printf '%s\n' "$line" >&4) 2>/dev/null
	wait_file_grep "^$line\$" 10 "$TLS_OUT"
	rc=$?
	exec 4>&-
	wait "$pid"
	return $rc
}

# tls_refused PORT [S_CLIENT ARGS...]: a client the server must refuse; its
# line must not come back. The client waits for the server to close.
tls_refused()
{
	local p=$1

	shift
	TLS_N=$((TLS_N + 1))
	TLS_OUT=$tmp/sclient.$TLS_N.out
	printf 'must-not-echo\n' | timeout 15 openssl s_client -connect "127.0.0.1:$p" -quiet \
	    "$@" >"$TLS_OUT" 2>"$tmp/sclient.$TLS_N.err"
	[ $? -ne 124 ] || fail "s_client $* still connected after 15 s"
	if grep -q must-not-echo "$TLS_OUT"; then
		return 1
	fi
	return 0
}

# tls_counter NAME: count of "tls handshake failed reason=NAME" log lines.
tls_failures()
{
	log_count "tls handshake failed reason=$1 "
}

# tls_session_open PORT [S_CLIENT ARGS...]: a long-lived TLS client (openssl
# s_client) fed through a fifo on descriptor 5; TLS_SESS_OUT is its output.
tls_session_open()
{
	local p=$1

	shift
	rm -f "$tmp/session.fifo"
	mkfifo "$tmp/session.fifo" || fail "mkfifo"
	TLS_SESS_OUT=$tmp/session.out
	# the background job opens the fifo itself (a redirection on a function
	# call would block this shell until a writer appears)
	timeout 60 openssl s_client -connect "127.0.0.1:$p" -quiet -no_ign_eof "$@" \
	    <"$tmp/session.fifo" >"$TLS_SESS_OUT" 2>"$tmp/session.err" &
	TLS_SESS_PID=$!
	LIB_PIDS="$LIB_PIDS $TLS_SESS_PID"
	exec 5>"$tmp/session.fifo"
}

# tls_session_echo LINE: send LINE on the long-lived session, wait for it back.
tls_session_echo()
{
	(printf '%s\n' "$1" >&5) 2>/dev/null
	wait_file_grep "^$1\$" 10 "$TLS_SESS_OUT"
}

# tls_session_close: end of input (close_notify); the client exits.
tls_session_close()
{
	exec 5>&-
	wait_exit "$TLS_SESS_PID" 10 || fail "s_client did not exit after its input ended"
}
