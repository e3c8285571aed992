# tls_testssl.sh: testssl.sh (the Debian package) scans a TLS echo listener
# with echod's default TLS settings and must report no HIGH or CRITICAL
# finding. Loopback only: 127.0.0.1, no DNS lookups (--nodns none), no
# revocation checks over the network (testssl.sh only does those with
# --phone-out). The test CA is added as trusted (--add-ca). Skipped (77)
# when testssl.sh is not installed. Takes one to two minutes.
: "${TEST_TIMEOUT:=420}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

TESTSSL=$(command -v testssl || command -v testssl.sh) || skip "testssl.sh not installed"
# The scan's value is the handshake code under a sanitizer: ASan runs it; the
# much slower TSan build (no TLS threads to race) skips it.
[ "${SANITIZER:-}" = tsan ] && skip "testssl.sh scan skipped under TSan (run in the normal and ASan builds)"
CERTS=$tmp/certs
tls_certs "$CERTS"
{
	printf '[log]\nlevel = info\n\n'
	tls_listener_ini tls echo
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of tls) || fail "no tls listener"

timeout 400 "$TESTSSL" --quiet --color 0 --warnings off --nodns none \
    --add-ca "$CERTS/ca.pem" --csvfile "$tmp/testssl.csv" --severity LOW \
    "127.0.0.1:$P" >"$tmp/testssl.txt" 2>&1
rc=$?
[ "$rc" -ne 124 ] || fail "testssl.sh did not finish within 400 s"
[ -s "$tmp/testssl.csv" ] || fail "testssl.sh wrote no findings file (status $rc): $(tail -n 5 "$tmp/testssl.txt")"
grep -q '"TLS1_3"' "$tmp/testssl.csv" 2>/dev/null || grep -q 'TLS 1.3 .*offered' "$tmp/testssl.txt" ||
    fail "testssl.sh did not see TLS 1.3: $(grep -i 'TLS 1' "$tmp/testssl.txt" | head -n 5)"
bad=$(grep -E '^"[^"]*","[^"]*","[^"]*","(HIGH|CRITICAL)"' "$tmp/testssl.csv")
if [ -n "$bad" ]; then
	echo "$bad" >&2
	fail "testssl.sh reported HIGH or CRITICAL findings"
fi
note "testssl.sh: $(grep -c -E '^"[^"]*","[^"]*","[^"]*","(MEDIUM|LOW)"' "$tmp/testssl.csv") MEDIUM/LOW findings, none HIGH or CRITICAL"
grep -E '^"[^"]*","[^"]*","[^"]*","(MEDIUM|LOW)"' "$tmp/testssl.csv" | cut -d, -f1,4,5 | sed 's/^/  /'

# the scan's hundreds of odd handshakes left the daemon serving
tls_echo_ok "$P" "after the scan" || fail "no echo after the scan"
no_log ' (error|critical) '
stop_echod
note ok
