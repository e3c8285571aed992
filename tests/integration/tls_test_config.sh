# tls_test_config.sh: `echod -t` loads every TLS listener's certificate and
# key: a good pair prints its expiry and "configuration OK" (exit 0); a key
# that does not match, a missing certificate or an expired certificate is an
# error (exit 78); a certificate expiring within 30 days is a warning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

CERTS=$tmp/certs
tls_certs "$CERTS"

# ini CERT KEY: one TLS echo listener with that pair.
ini()
{
	printf '[listener secure]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n'
	printf 'tls_cert = %s\ntls_key = %s\n' "$1" "$2"
}

# check CERT KEY: run -t, leave stdout+stderr in $out and the status in $rc.
check()
{
	ini "$1" "$2" >"$tmp/t.ini"
	rc=0
	out=$("$ECHOD" -t -c "$tmp/t.ini" 2>&1) || rc=$?
}

check "$CERTS/server.pem" "$CERTS/server.key"
[ "$rc" -eq 0 ] || fail "good pair: exit $rc: $out"
echo "$out" | grep -q 'configuration OK' || fail "good pair: $out"
echo "$out" | grep -q 'listener secure: tls_cert .*days_left=' || fail "no expiry report: $out"

check "$CERTS/server.pem" "$CERTS/client.key"
[ "$rc" -eq 78 ] || fail "mismatched key: exit $rc, expected 78: $out"
echo "$out" | grep -q 'configuration OK' && fail "mismatched key reported OK: $out"
echo "$out" | grep -qi 'error: .*listener secure' || fail "mismatched key: no error line: $out"

check "$tmp/none.pem" "$CERTS/server.key"
[ "$rc" -eq 78 ] || fail "missing certificate: exit $rc, expected 78: $out"

# A certificate that expires in 10 days: a warning, still OK.
tls_key "$tmp/soon.key"
openssl req -x509 -new -key "$tmp/soon.key" -out "$tmp/soon.pem" -days 10 \
    -subj "/CN=localhost" 2>/dev/null || fail "cannot make a short-lived certificate"
check "$tmp/soon.pem" "$tmp/soon.key"
[ "$rc" -eq 0 ] || fail "expiring soon: exit $rc, expected 0: $out"
echo "$out" | grep -q 'warning: ' || fail "expiring soon: no warning: $out"

# Expired and not-yet-valid certificates are errors too: tests/unit/check_tls.c
# makes those in C (this openssl command line cannot back-date a certificate).

# -t and the running daemon count the days left alike: a certificate that
# expires in 10 days and 12 hours has 10 whole days left for both (not 11,
# and not one figure rounded and the other truncated).
end=$(date -u -d '+10 days 12 hours' +%Y%m%d%H%M%SZ)
tls_self_signed_until "$tmp" half "$end" || fail "cannot make a certificate ending $end"
check "$tmp/half.pem" "$tmp/half.key"
[ "$rc" -eq 0 ] || fail "10.5 days left: exit $rc, expected 0: $out"
t_days=$(echo "$out" | sed -n 's/.*listener secure: tls_cert .* days_left=\([0-9-]*\).*/\1/p')
start_echod "$tmp/t.ini"
expect_log 'listener=secure tls context loaded .* days_left=' 10
d_days=$(sed -n 's/.*listener=secure tls context loaded .* days_left=\([0-9-]*\) .*/\1/p' \
    "$ECHOD_LOG" | head -n 1)
stop_echod
note "days_left: -t says $t_days, the daemon says $d_days"
[ "$t_days" = 10 ] || fail "-t: days_left=$t_days for 10 days 12 hours, expected 10: $out"
[ "$d_days" = 10 ] || fail "daemon: days_left=$d_days for 10 days 12 hours, expected 10"
grep -q 'listener=secure tls certificate .* expires in 10 days' "$ECHOD_LOG" ||
    fail "the daemon's expiry warning does not say 10 days"

# Not valid yet: -t refuses it, and the daemon, which loads it, says why.
tls_self_signed_until "$tmp" future "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)" \
    "$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)" || fail "cannot make a future certificate"
check "$tmp/future.pem" "$tmp/future.key"
[ "$rc" -eq 78 ] || fail "not yet valid: exit $rc, expected 78: $out"
echo "$out" | grep -q 'not valid before' || fail "not yet valid: $out"
start_echod "$tmp/t.ini"
expect_log 'listener=secure tls certificate .*future.pem is not valid before ' 10
stop_echod
note ok
