# tls_mtls.sh: client certificates (mutual TLS) with openssl s_client:
# tls_verify_client = required and optional, each with a good client
# certificate (its subject is logged), one from another CA, and none; TLS 1.2
# and TLS 1.3 (where the server refuses after the client's Finished).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[log]\nlevel = info\nconnections = yes\n\n'
	tls_listener_ini req echo 'tls_verify_client = required' "tls_ca = $CERTS/ca.pem"
	tls_listener_ini opt echo 'tls_verify_client = optional' "tls_ca = $CERTS/ca.pem"
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PR=$(port_of req) || fail "no req listener"
PO=$(port_of opt) || fail "no opt listener"
expect_log 'listener=req tls context loaded .* verify_client=required'
expect_log 'listener=opt tls context loaded .* verify_client=optional'
GOOD="-cert $CERTS/client.pem -key $CERTS/client.key"
ROGUE="-cert $CERTS/rogue.pem -key $CERTS/rogue.key"
SUBJ="subject=\"$TLS_SUBJ_CLIENT\""

for v in -tls1_2 -tls1_3; do
	# required: a good certificate is served and its subject logged
	n=$(log_count "tls handshake ok .*$SUBJ")
	tls_echo_ok "$PR" "mtls required $v" $v $GOOD || fail "required, good cert, $v"
	wait_log_count "tls handshake ok .*$SUBJ" $((n + 1)) || fail "subject not logged ($v)"

	n=$(tls_failures tls-bad-client-cert)
	tls_refused "$PR" $v $ROGUE || fail "required: a cert from another CA was served ($v)"
	wait_log_count "tls handshake failed reason=tls-bad-client-cert " $((n + 1)) ||
	    fail "no tls-bad-client-cert line ($v)"

	n=$(tls_failures tls-no-client-cert)
	tls_refused "$PR" $v || fail "required: a client without a cert was served ($v)"
	wait_log_count "tls handshake failed reason=tls-no-client-cert " $((n + 1)) ||
	    fail "no tls-no-client-cert line ($v)"

	# optional: no certificate is fine, a good one is verified, a bad one refused
	tls_echo_ok "$PO" "mtls optional none $v" $v || fail "optional, no cert, $v"
	n=$(log_count "tls handshake ok .*$SUBJ")
	tls_echo_ok "$PO" "mtls optional good $v" $v $GOOD || fail "optional, good cert, $v"
	wait_log_count "tls handshake ok .*$SUBJ" $((n + 1)) || fail "optional: subject not logged"
	n=$(tls_failures tls-bad-client-cert)
	tls_refused "$PO" $v $ROGUE || fail "optional: a cert from another CA was served ($v)"
	wait_log_count "tls handshake failed reason=tls-bad-client-cert " $((n + 1)) ||
	    fail "optional: no tls-bad-client-cert line ($v)"
done
grep -q 'reason=tls-bad-client-cert detail="unable to get local issuer certificate"' \
    "$ECHOD_LOG" || fail "the verifier's reason is not in the failure line"
[ "$(log_count 'listener=req tls handshake failed reason=tls-bad-client-cert ')" -eq 2 ] ||
    fail "required: bad-client-cert lines"
[ "$(log_count 'listener=opt tls handshake failed reason=tls-bad-client-cert ')" -eq 2 ] ||
    fail "optional: bad-client-cert lines"
[ "$(tls_failures tls-bad-client-cert)" -eq 4 ] || fail "bad-client-cert count: $(tls_failures tls-bad-client-cert)"
[ "$(tls_failures tls-no-client-cert)" -eq 2 ] || fail "no-client-cert count: $(tls_failures tls-no-client-cert)"

no_log ' (error|critical) '
stop_echod
note ok
