# tls_echo.sh: echo over TLS with real clients: openssl s_client round trips
# with TLS 1.2 and TLS 1.3, 16 MiB through socat byte-exact (the client ends
# with close_notify and keeps reading: half-close), a server that finishes
# first (daytime: close_notify then FIN), discard and chargen over TLS, a
# TLS 1.3-only listener refusing TLS 1.2, and session resumption.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[log]\nlevel = info\nconnections = yes\n\n'
	tls_listener_ini echo echo
	tls_listener_ini daytime daytime 'daytime_format = rfc3339'
	tls_listener_ini chargen chargen
	tls_listener_ini only13 echo 'tls_min_version = TLS1.3'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo listener"
PD=$(port_of daytime) || fail "no daytime listener"
PC=$(port_of chargen) || fail "no chargen listener"
P13=$(port_of only13) || fail "no only13 listener"
expect_log "listener=echo tls context loaded cert=$CERTS/server.pem subject=\"CN=localhost\""

tls_echo_ok "$P" "hello over TLS 1.2" -tls1_2 || fail "TLS 1.2 echo round trip"
expect_log 'tls handshake ok version=TLSv1\.2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 resumed=no'
tls_echo_ok "$P" "hello over TLS 1.3" -tls1_3 || fail "TLS 1.3 echo round trip"
expect_log 'tls handshake ok version=TLSv1\.3 cipher=TLS_AES_128_GCM_SHA256 resumed=no'
# the client's close_notify is an EOF: the echo ends normally
wait_log_count 'close listener=echo .*reason=eof bytes_in=19 bytes_out=19' 2 ||
    fail "no clean close after the round trips"

# TLS 1.2 resumption: s_client -reconnect resumes 5 times
printf '' | timeout 20 openssl s_client -connect "127.0.0.1:$P" -tls1_2 -reconnect \
    >"$tmp/reconnect.out" 2>&1 || fail "s_client -reconnect failed"
n=$(grep -c '^Reused,' "$tmp/reconnect.out")
[ "$n" -ge 5 ] || fail "s_client -tls1_2 -reconnect: $n of 5 sessions resumed"
wait_log_count 'tls handshake ok version=TLSv1\.2 .*resumed=yes' 5 ||
    fail "no resumed TLS 1.2 handshake logged"
# TLS 1.3: the ticket comes after the handshake, so keep it from a round trip
tls_echo_ok "$P" "ticket" -tls1_3 -sess_out "$tmp/sess13" || fail "TLS 1.3 round trip"
tls_echo_ok "$P" "resumed" -tls1_3 -sess_in "$tmp/sess13" || fail "TLS 1.3 resumed round trip"
expect_log 'tls handshake ok version=TLSv1\.3 .*resumed=yes'

# 16 MiB of random bytes, both directions at once, through socat's TLS client
if have_cmd socat; then
	head -c 16777216 /dev/urandom >"$tmp/r16.in"
	timeout 60 socat -t 30 - "OPENSSL:127.0.0.1:$P,verify=0" <"$tmp/r16.in" \
	    >"$tmp/r16.out" 2>"$tmp/socat.err" || fail "socat exited with $?: $(cat "$tmp/socat.err")"
	cmp "$tmp/r16.in" "$tmp/r16.out" || fail "16 MiB through TLS changed"
	expect_log 'close listener=echo .*reason=eof bytes_in=16777216 bytes_out=16777216'

	# server finishes first: the line, close_notify, FIN; socat sees a clean end
	out=$(timeout 10 socat -u "OPENSSL:127.0.0.1:$PD,verify=0" - 2>"$tmp/socat.err") ||
	    fail "socat daytime exited with $?: $(cat "$tmp/socat.err")"
	echo "$out" | grep -q -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z' ||
	    fail "daytime over TLS: '$out'"

	# chargen over TLS: 1 MiB of the RFC 864 pattern, then the client leaves
	timeout 20 socat -u "OPENSSL:127.0.0.1:$PC,verify=0" - 2>/dev/null |
	    head -c 1048576 >"$tmp/chargen.out"
	[ "$(wc -c <"$tmp/chargen.out")" -eq 1048576 ] || fail "chargen over TLS: short"
	head -n 1 "$tmp/chargen.out" | grep -q '^ !"#\$%&' || fail "chargen over TLS: bad first line"
else
	note "socat not installed: skipping the socat cases"
fi

# TLS 1.3-only listener: TLS 1.2 is refused with its own reason, 1.3 works
tls_refused "$P13" -tls1_2 || fail "TLS 1.2 client was served by a TLS 1.3-only listener"
expect_log "listener=only13 tls handshake failed reason=tls-version "
tls_echo_ok "$P13" "only 1.3" -tls1_3 || fail "TLS 1.3 on the TLS 1.3-only listener"

no_log ' (error|critical) '
stop_echod
note ok
