# tls_ktls.sh: tls_ktls = auto next to tls_ktls = no. Whatever the kernel
# offers, echo over TLS 1.2 and 1.3 and 16 MiB through socat come back
# byte-exact on both listeners. Where the kernel has no TLS offload (no
# "tls" TCP ULP), auto says so once at start-up and counts no offloaded
# connection; where it has it, the auto listener's AES-GCM connections are
# sent through the kernel (tls_ktls_connections_total{direction="send"}),
# and the no listener's never are.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

have_cmd nc || skip "nc not installed"
nc -h 2>&1 | grep -q -E -- '-U[[:space:]]' || skip "this nc has no -U (unix sockets)"

ADMIN=$tmp/admin.sock
CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[log]\nlevel = info\nconnections = yes\n\n'
	printf '[listener admin]\nbind = unix:%s\nservice = admin\n\n' "$ADMIN"
	tls_listener_ini auto echo 'tls_ktls = auto'
	tls_listener_ini no echo 'tls_ktls = no'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PA=$(port_of auto) || fail "no auto listener"
PN=$(port_of no) || fail "no 'no' listener"

# ktls_sent: connections whose sending the kernel took over, from STATS.
ktls_sent()
{
	printf 'STATS tls_ktls\n' | timeout 10 nc -N -U "$ADMIN" | tr -d '\r' |
	    sed -n 's/^tls_ktls_connections_total{direction="send"}=//p'
}

# echo_all PORT: TLS 1.2 and 1.3 round trips, and 16 MiB both ways at once.
echo_all()
{
	tls_echo_ok "$1" "echo over TLS 1.2 with tls_ktls" -tls1_2 || fail "TLS 1.2 echo on port $1"
	tls_echo_ok "$1" "echo over TLS 1.3 with tls_ktls" -tls1_3 || fail "TLS 1.3 echo on port $1"
	have_cmd socat || return 0
	timeout 60 socat -t 30 - "OPENSSL:127.0.0.1:$1,verify=0" <"$tmp/r16.in" \
	    >"$tmp/r16.out" 2>"$tmp/socat.err" || fail "socat exited with $?: $(cat "$tmp/socat.err")"
	cmp -s "$tmp/r16.in" "$tmp/r16.out" || fail "16 MiB through port $1 changed"
}

head -c 16777216 /dev/urandom >"$tmp/r16.in"
[ "$(ktls_sent)" = 0 ] || fail "STATS has no tls_ktls_connections_total{direction=\"send\"}=0"
if log_count 'listener=auto tls_ktls=auto: the kernel offers no TLS offload' | grep -q '^1$'; then
	# the fallback: the kernel module is not there (or cannot be loaded)
	[ ! -e /proc/net/tls_stat ] || fail "kTLS reported unavailable, but the tls module is loaded"
	echo_all "$PA"
	[ "$(ktls_sent)" = 0 ] || fail "a connection was counted as offloaded without kTLS"
	note "no kernel TLS here: tested the fallback (records encrypted by echod)"
else
	[ -e /proc/net/tls_stat ] || fail "kTLS reported available, but no tls module is loaded"
	echo_all "$PA"
	sent=$(ktls_sent)
	[ "${sent:-0}" -ge 2 ] || fail "tls_ktls = auto: $sent connections sent through the kernel, expected every one"
	note "kernel TLS: $sent connections sent through the kernel"
fi
before=$(ktls_sent)
echo_all "$PN"
[ "$(ktls_sent)" = "$before" ] || fail "tls_ktls = no: a connection was offloaded"
no_log 'listener=no tls_ktls'
no_log ' (error|critical) '
stop_echod
note ok
