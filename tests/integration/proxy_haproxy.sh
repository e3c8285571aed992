# proxy_haproxy.sh: what a real HAProxy (mode tcp) sends with send-proxy and
# send-proxy-v2, read and parsed with proxy_parse() by proxy_recv, as a
# listener with proxy_protocol set will: v1; v2 with every proxy-v2-option
# behind a TLS frontend that HAProxy terminates (SNI, ALPN and a client
# certificate from openssl s_client); v2 LOCAL from a health check; v2
# refused by a v1-only parse. Skipped (77) when haproxy is not installed.
# HAProxy runs in the foreground (-db) from a temporary config, on a
# loopback socket bound by proxy_recv -x (bind fd@3, no fixed port), and is
# stopped by its PID.
: "${TEST_TIMEOUT:=90}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"

HAPROXY=$(command -v haproxy) || skip "haproxy not installed"
RECV=$top_builddir/tests/integration/proxy_recv
[ -x "$RECV" ] || fail "not built: $RECV"
have_cmd openssl || skip "openssl command line tool not installed"
have_cmd socat || skip "socat not installed"
CERTS=$tmp/certs
tls_certs "$CERTS" || fail "cannot make the test certificates"
cat "$CERTS/server.pem" "$CERTS/server.key" >"$CERTS/server-crt.pem"
N=0
HAPROXY_PID=

# recv_start ALLOW: proxy_recv in the background, its port in RPORT.
recv_start()
{
	N=$((N + 1))
	rm -f "$tmp/recv.port"
	spawn "$RECV" -a "$1" -t 20 "$tmp/recv.port" >"$tmp/recv.$N.out" 2>"$tmp/recv.$N.err"
	RECV_PID=$SPAWN_PID
	wait_file_grep '^[0-9]+$' 10 "$tmp/recv.port" || fail "proxy_recv did not start"
	RPORT=$(cat "$tmp/recv.port")
}

# haproxy_start SERVER-OPTIONS BIND-OPTIONS: HAProxy from its frontend (port
# in FPORT) to proxy_recv.
haproxy_start()
{
	cat >"$tmp/haproxy.$N.cfg" <<EOF
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 20s
	timeout server 20s
frontend fe
	bind fd@3 $2
	unique-id-format %ci:%cp
	default_backend be
backend be
	server recv 127.0.0.1:$RPORT $1
EOF
	rm -f "$tmp/fe.port"
	spawn "$RECV" -x "$tmp/fe.port" "$HAPROXY" -db -f "$tmp/haproxy.$N.cfg" \
	    </dev/null >"$tmp/haproxy.$N.log" 2>&1
	HAPROXY_PID=$SPAWN_PID
	wait_file_grep '^[0-9]+$' 10 "$tmp/fe.port" || fail "no frontend socket for HAProxy"
	FPORT=$(cat "$tmp/fe.port")
}

haproxy_stop()
{
	if proc_alive "$HAPROXY_PID"; then
		kill -TERM "$HAPROXY_PID"
		wait_exit "$HAPROXY_PID" 10 || fail "HAProxy still running 10 s after SIGTERM"
	else
		fail "HAProxy exited early: $(tail -n 5 "$tmp/haproxy.$N.log")"
	fi
}

# recv_result STATUS: wait for proxy_recv; its exit status must be STATUS.
# The result line in LINE, the raw header (hex) in RAW.
recv_result()
{
	wait_exit "$RECV_PID" 20 || fail "proxy_recv still running after 20 s"
	[ "$WAIT_STATUS" -eq "$1" ] || fail "proxy_recv exited $WAIT_STATUS, want $1: " \
	    "$(cat "$tmp/recv.$N.out" "$tmp/recv.$N.err") / HAProxy: $(tail -n 5 "$tmp/haproxy.$N.log")"
	LINE=$(grep -E '^(ok|error) ' "$tmp/recv.$N.out")
	RAW=$(sed -n 's/^raw=//p' "$tmp/recv.$N.out")
	note "case $N: $LINE"
	[ -z "$RAW" ] || note "case $N: header $RAW"
}

# has REGEX: the result line matches.
has()
{
	printf '%s\n' "$LINE" | grep -q -E -- "$1" || fail "case $N: no '$1' in: $LINE"
}

# 1. send-proxy: v1 from a plain TCP frontend.
recv_start any
haproxy_start "send-proxy" ""
printf 'hello\n' | timeout 20 socat -t 5 - "TCP:127.0.0.1:$FPORT" >"$tmp/client.$N.out" 2>&1
recv_result 0
haproxy_stop
has "^ok len=[0-9]+ reads=[0-9]+ v1 src=127\\.0\\.0\\.1:[0-9]+ dst=127\\.0\\.0\\.1:$FPORT after=hello\$"

# 2. send-proxy-v2 with every option, TLS terminated by HAProxy.
recv_start v2
haproxy_start "send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id" \
    "ssl crt $CERTS/server-crt.pem alpn h2,http/1.1 ca-file $CERTS/ca.pem verify optional"
printf 'hello\n' | timeout 20 openssl s_client -connect "127.0.0.1:$FPORT" -quiet \
    -servername echod.test -alpn h2 -cert "$CERTS/client.pem" -key "$CERTS/client.key" \
    -CAfile "$CERTS/ca.pem" >"$tmp/client.$N.out" 2>&1
recv_result 0
haproxy_stop
has "^ok len=[0-9]+ reads=[0-9]+ v2 src=127\\.0\\.0\\.1:[0-9]+ dst=127\\.0\\.0\\.1:$FPORT "
has " alpn=h2 authority=echod\\.test unique_id=[0-9a-f]+ ssl=TLSv1\\.3 ssl_cert=conn ssl_verify=0 "
has " ssl_cn=echod-test-client ssl_cipher=TLS_[A-Z0-9_]+ ssl_sig_alg=[^ ]+ ssl_key_alg=[^ ]+ "
has " crc32c=ok after=hello\$"
# unique-id-format %ci:%cp: the client's address, as the header's source.
src=$(printf '%s\n' "$LINE" | sed -n 's/.* src=\(127\.0\.0\.1:[0-9]*\) .*/\1/p')
uid=$(printf '%s' "$src" | od -An -tx1 | tr -d ' \n')
has " unique_id=$uid "

# 3. A health check: v2 LOCAL, with a CRC.
recv_start any
haproxy_start "send-proxy-v2 proxy-v2-options crc32c check inter 1s" ""
recv_result 0
haproxy_stop
has "^ok len=[0-9]+ reads=[0-9]+ v2 local crc32c=ok after="

# 4. v2 to a parse that takes only v1: refused on the first read.
recv_start v1
haproxy_start "send-proxy-v2" ""
printf 'hello\n' | timeout 20 socat -t 5 - "TCP:127.0.0.1:$FPORT" >"$tmp/client.$N.out" 2>&1
recv_result 1
haproxy_stop
has '^error err=version detail="v2 header on a listener that accepts only v1" reads=1$'
