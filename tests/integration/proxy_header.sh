# proxy_header.sh: PROXY protocol listeners with headers crafted by
# proxy_client.py (struct.pack): v1 TCP4, TCP6 and UNKNOWN, v2 PROXY over
# IPv4 and IPv6 with TLVs (ALPN, authority, unique ID, SSL, CRC32C) and v2
# LOCAL (served with the balancer's own address); the header in the same
# segment as the data; a TLS handshake after the header (python's ssl on
# the same socket). The proxied client's address is used everywhere the
# peer's is: close lines and CONNS (which also show via=BALANCER and the
# TLVs), the deny list (IPv4-mapped IPv6 matching IPv4 entries), the
# per-source limits and SOURCES. A connection from anyone but proxy_from is
# refused at accept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"
. "$(dirname "$0")/tls_certs.sh"

[ -n "$PYTHON" ] || skip "python3 not installed"
CERTS=$tmp/certs
tls_certs "$CERTS" || fail "cannot make the test certificates"

{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener px]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = any\n'
	printf 'proxy_from = 127.0.0.1\ndeny = 192.0.2.66, 2001:db8::66, 192.0.2.77\n'
	printf 'max_per_source = 1\n\n'
	printf '[listener v2tls]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = v2\n'
	printf 'proxy_from = 127.0.0.0/24\ntls = yes\ntls_cert = %s\ntls_key = %s\n\n' \
	    "$CERTS/server.pem" "$CERTS/server.key"
	printf '[listener v1tls]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = v1\n'
	printf 'proxy_from = 127.0.0.1\ntls = yes\ntls_cert = %s\ntls_key = %s\n\n' \
	    "$CERTS/server.pem" "$CERTS/server.key"
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PP=$(port_of px) || fail "no port for px"
TP=$(port_of v2tls) || fail "no port for v2tls"
T1=$(port_of v1tls) || fail "no port for v1tls"

# pc ARGS...: proxy_client.py to 127.0.0.1; output in $tmp/pc.out. PC_OPENS:
# the "open" lines logged before it.
pc()
{
	PC_OPENS=$(log_count ' open listener=')
	"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$@" >"$tmp/pc.out" 2>"$tmp/pc.err"
}

# close_of N: the close line of conn=N.
close_of()
{
	wait_log "conn=$1 close " || fail "no close line for conn=$1"
	grep -E "conn=$1 close " "$ECHOD_LOG" | head -n 1
}

# last_conn: the id of the newest connection of listener $1, once the last
# pc's "open" line is logged (the log thread may write it after the client
# has its echo).
last_conn()
{
	wait_log_count ' open listener=' $((PC_OPENS + 1)) || fail "pc's connection was not logged"
	grep -E " open listener=$1 " "$ECHOD_LOG" | tail -n 1 | sed 's/.*conn=\([0-9]*\) open.*/\1/'
}

# v1 TCP4, TCP6 and UNKNOWN
pc "$PP" --v1 'TCP4 192.0.2.1 198.51.100.7 56324 443' --data hello || fail "v1 TCP4: $(cat "$tmp/pc.err")"
[ "$(cat "$tmp/pc.out")" = hello ] || fail "v1 TCP4 echo: $(cat "$tmp/pc.out")"
line=$(close_of "$(last_conn px)")
echo "$line" | grep -q -E ' peer=192\.0\.2\.1:56324 reason=eof .* via=127\.0\.0\.1:[0-9]+ proxy=v1 src=192\.0\.2\.1:56324 dst=198\.51\.100\.7:443$' ||
    fail "v1 TCP4 close line: $line"
pc "$PP" --v1 'TCP6 2001:db8::1 2001:db8::2 1 2' --data hello6 || fail "v1 TCP6"
[ "$(cat "$tmp/pc.out")" = hello6 ] || fail "v1 TCP6 echo"
close_of "$(last_conn px)" | grep -q -E ' peer=\[2001:db8::1\]:1 .* proxy=v1 src=\[2001:db8::1\]:1 dst=\[2001:db8::2\]:2$' ||
    fail "v1 TCP6 close line: $(close_of "$(last_conn px)")"
pc "$PP" --v1 UNKNOWN --data unknown || fail "v1 UNKNOWN"
[ "$(cat "$tmp/pc.out")" = unknown ] || fail "v1 UNKNOWN echo"
close_of "$(last_conn px)" | grep -q -E ' peer=127\.0\.0\.1:[0-9]+ .* via=127\.0\.0\.1:[0-9]+ proxy=v1 unknown$' ||
    fail "v1 UNKNOWN close line: $(close_of "$(last_conn px)")"

# v2 PROXY with TLVs, held open while CONNS looks at it.
n=$(log_count 'open listener=px ')
spawn "$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$PP" --v2 proxy --src 192.0.2.9:1000 \
    --dst 198.51.100.1:443 --alpn h2 --authority example.com --unique-id abc \
    --ssl-version TLSv1.3 --ssl-cn 'client one' --crc --hold 1.5 --data v2data >"$tmp/v2.out" 2>&1
V2=$SPAWN_PID
wait_log_count 'open listener=px ' $((n + 1)) || fail "the v2 client did not connect"
sleep 0.5
admin CONNS | grep ' listener=px ' >"$tmp/conns.out"
grep -q -E '^conn=[0-9]+ listener=px peer=192\.0\.2\.9:1000 state=open .* via=127\.0\.0\.1:[0-9]+ proxy=v2 src=192\.0\.2\.9:1000 dst=198\.51\.100\.1:443 alpn=h2 authority=example\.com unique_id=616263 ssl=TLSv1\.3 ssl_cert=conn ssl_verify=0 ssl_cn="client one" crc32c=ok$' \
    "$tmp/conns.out" || fail "CONNS for v2: $(cat "$tmp/conns.out")"
wait_exit "$V2" 10 || fail "the v2 client did not finish"
[ "$WAIT_STATUS" -eq 0 ] && [ "$(cat "$tmp/v2.out")" = v2data ] || fail "v2 echo: $(cat "$tmp/v2.out")"
# v2 PROXY over IPv6, header and data in one segment
pc "$PP" --v2 proxy --src '[2001:db8::9]:7' --dst '[2001:db8::1]:443' --with-data --data same ||
    fail "v2 IPv6: $(cat "$tmp/pc.err")"
[ "$(cat "$tmp/pc.out")" = same ] || fail "v2 IPv6 echo with data in the header's segment"
close_of "$(last_conn px)" | grep -q -E ' peer=\[2001:db8::9\]:7 .* bytes_in=4 bytes_out=4 .* proxy=v2 src=' ||
    fail "v2 IPv6 close line: $(close_of "$(last_conn px)")"
# v2 LOCAL: a health check, served with the balancer's address
pc "$PP" --v2 local --data local || fail "v2 LOCAL"
[ "$(cat "$tmp/pc.out")" = local ] || fail "v2 LOCAL echo"
close_of "$(last_conn px)" | grep -q -E ' peer=127\.0\.0\.1:[0-9]+ reason=eof .* proxy=v2 local$' ||
    fail "v2 LOCAL close line: $(close_of "$(last_conn px)")"

# The deny list applies to the proxied client (an IPv4-mapped address to IPv4 entries).
pc "$PP" --v1 'TCP4 192.0.2.66 198.51.100.7 5000 443' --data no --expect-close || fail "denied client served"
expect_log 'refused listener=px peer=192\.0\.2\.66:5000 reason=deny_list rule=192\.0\.2\.66 '
sleep 1.1
pc "$PP" --v1 'TCP6 2001:db8::66 2001:db8::1 5000 443' --data no --expect-close || fail "denied v6 client served"
expect_log 'refused listener=px peer=\[2001:db8::66\]:5000 reason=deny_list rule=2001:db8::66 '
sleep 1.1
pc "$PP" --v2 proxy --src '[::ffff:192.0.2.77]:5000' --dst '[2001:db8::1]:443' --data no --expect-close ||
    fail "a denied IPv4-mapped client was served"
expect_log 'refused listener=px peer=\[::ffff:192\.0\.2\.77\]:5000 reason=deny_list rule=192\.0\.2\.77 '
expect_stat 'connections_rejected_total{listener="px",service="echo",reason="deny_list"}' 3
grep -q -E 'close listener=px peer=192\.0\.2\.66:5000 reason=refused .* via=127\.0\.0\.1:' "$ECHOD_LOG" ||
    fail "no close line with reason=refused for the denied client"

# Per-source limits count the proxied client, not the balancer.
n=$(log_count 'open listener=px ')
spawn "$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$PP" --v1 'TCP4 192.0.2.5 198.51.100.7 1 443' \
    --hold 3 --data held >"$tmp/held.out" 2>&1
HELD=$SPAWN_PID
wait_log_count 'open listener=px ' $((n + 1)) || fail "the held client did not connect"
sleep 0.5
pc "$PP" --v1 'TCP4 192.0.2.5 198.51.100.7 2 443' --data second --expect-close ||
    fail "a second connection from 192.0.2.5 was served (max_per_source = 1)"
expect_log 'refused listener=px peer=192\.0\.2\.5:2 reason=max_per_source '
pc "$PP" --v1 'TCP4 192.0.2.6 198.51.100.7 3 443' --data other || fail "192.0.2.6 refused"
admin 'SOURCES 20' | grep -q -E '^source=192\.0\.2\.5 listener=px conns=1 accepted=1 refused=1 ' ||
    fail "SOURCES: $(admin 'SOURCES 20')"
wait_exit "$HELD" 10 || fail "the held client did not finish"

# Untrusted balancer: refused at accept, before a byte is read.
pc "$PP" --bind 127.0.0.2 --v1 'TCP4 192.0.2.1 198.51.100.7 1 2' --data x --expect-close ||
    fail "a header from 127.0.0.2 was accepted"
expect_log 'refused listener=px peer=127\.0\.0\.2:[0-9]+ reason=proxy_untrusted '
no_log 'open listener=px peer=127\.0\.0\.2:'
expect_stat 'connections_rejected_total{listener="px",service="echo",reason="proxy_untrusted"}' 1

# TLS after the header: v2 from 127.0.0.3 (in proxy_from = 127.0.0.0/24), v1.
pc "$TP" --bind 127.0.0.3 --v2 proxy --src 192.0.2.20:4000 --dst 198.51.100.1:443 --alpn h2 \
    --tls --cafile "$CERTS/ca.pem" --hold 1.5 --data tls-v2 >"$tmp/tls.out" 2>&1 &
TLSPID=$!
wait_log 'tls handshake ok' || fail "no TLS handshake after the v2 header: $(cat "$tmp/pc.err")"
sleep 0.3
admin CONNS | grep ' listener=v2tls ' >"$tmp/conns2.out"
grep -q -E ' peer=192\.0\.2\.20:4000 state=open .* tls=TLSv1\.[23] .* via=127\.0\.0\.3:[0-9]+ proxy=v2 src=192\.0\.2\.20:4000 dst=198\.51\.100\.1:443 alpn=h2$' \
    "$tmp/conns2.out" || fail "CONNS for TLS after v2: $(cat "$tmp/conns2.out")"
wait "$TLSPID" || fail "TLS after a v2 header: $(cat "$tmp/pc.err")"
[ "$(cat "$tmp/pc.out")" = tls-v2 ] || fail "TLS echo after v2: $(cat "$tmp/pc.out")"
pc "$T1" --v1 'TCP4 192.0.2.21 198.51.100.7 4001 443' --tls --cafile "$CERTS/ca.pem" --data tls-v1 ||
    fail "TLS after a v1 header: $(cat "$tmp/pc.err")"
[ "$(cat "$tmp/pc.out")" = tls-v1 ] || fail "TLS echo after v1"
close_of "$(last_conn v1tls)" | grep -q -E ' peer=192\.0\.2\.21:4001 reason=eof .* via=127\.0\.0\.1:' ||
    fail "TLS after v1 close line: $(close_of "$(last_conn v1tls)")"
stop_echod
note ok
