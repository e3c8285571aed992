# debug_tls_exit.sh: debug mode's exit check counts live TLS objects (SSL
# and SSL_CTX, through OpenSSL's ex_data hooks) and descriptors: after TLS
# traffic and a reload that swaps the context, everything is freed and
# closed by the time the daemon exits. A plain client that ignores the
# shutdown (it sends without reading, so its echo cannot be flushed) makes
# the graceful shutdown time out: the pending report lists it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[server]\nshutdown_timeout = 1s\n\n[log]\nlevel = info\nconnections = yes\n\n'
	printf '[debug]\nenabled = yes\n\n'
	tls_listener_ini echo echo
	printf '[listener plain]\nbind = 127.0.0.1:0\nservice = echo\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo listener"

tls_echo_ok "$P" "one" -tls1_3 || fail "TLS 1.3 echo round trip"
tls_echo_ok "$P" "two" -tls1_2 || fail "TLS 1.2 echo round trip"
kill -HUP "$ECHOD_PID"
expect_log 'reload ok'
tls_echo_ok "$P" "three" || fail "echo after the reload"

# A client that never reads: its echo backs up, reading pauses, and the
# graceful shutdown (1 s) times out with its output still pending.
PP=$(port_of plain) || fail "no plain listener"
spawn tclient flood 127.0.0.1 "$PP" 64M 20 >/dev/null 2>&1
wait_log 'open listener=plain' || fail "the flooding client did not connect"
sleep 0.5
stop_echod
expect_log 'pending at shutdown-timeout: connections=1 jobs=0'
expect_log 'pending at shutdown-timeout: conn=[0-9]+ listener=plain peer=127\.0\.0\.1:[0-9]+ state=draining'
expect_log 'exit check: no descriptors or TLS objects left open'
no_log 'not (closed|freed) at exit'
note ok
