# tls_reload.sh: SIGHUP reloads the certificate: a new s_client sees the new
# one (its fingerprint changes) while a session opened before keeps echoing.
# A reload with a key that does not match, or a missing certificate, is
# refused as a whole: the old context stays in use and the log says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
. "$(dirname "$0")/tls_lib.sh"

CERTS=$tmp/certs
tls_certs "$CERTS"
mkdir "$tmp/live"
cp "$CERTS/server.pem" "$tmp/live/cert.pem"
cp "$CERTS/server.key" "$tmp/live/key.pem"
cat >"$tmp/echod.ini" <<INI
[log]
level = info

[listener tls]
bind = 127.0.0.1:0
service = echo
tls = yes
tls_cert = $tmp/live/cert.pem
tls_key = $tmp/live/key.pem
INI
start_echod "$tmp/echod.ini"
P=$(port_of tls) || fail "no tls listener"
FP1=$(tls_fingerprint "$CERTS/server.pem")
FP2=$(tls_fingerprint "$CERTS/server2.pem")
[ "$FP1" != "$FP2" ] || fail "test certificates have the same fingerprint"
[ "$(tls_peer_fingerprint "$P")" = "$FP1" ] || fail "served certificate is not server.pem"
expect_log "listener=tls tls context loaded .*sha256=$FP1"

tls_session_open "$P" -tls1_2
tls_session_echo "before reload" || fail "no echo before the reload"

# new certificate and key, SIGHUP
cp "$CERTS/server2.pem" "$tmp/live/cert.pem"
cp "$CERTS/server2.key" "$tmp/live/key.pem"
kill -HUP "$ECHOD_PID"
expect_log 'reload ok '
expect_log "listener=tls tls context loaded .*subject=\"O=second,CN=localhost\".*sha256=$FP2"
[ "$(tls_peer_fingerprint "$P")" = "$FP2" ] || fail "a new client still gets the old certificate"
tls_session_echo "after reload" || fail "the session opened before the reload stopped echoing"
# both certificates' clients coexist: a new echo with the new certificate
tls_echo_ok "$P" "new client after reload" -tls1_3 || fail "no echo for a new client"

# a key that does not match: the reload is refused, the new context stays
cp "$CERTS/server.key" "$tmp/live/key.pem"
kill -HUP "$ECHOD_PID"
expect_log 'reload failed '
expect_log "config error: listener tls: tls_key $tmp/live/key.pem does not match the certificate"
[ "$(tls_peer_fingerprint "$P")" = "$FP2" ] || fail "a refused reload changed the certificate"
tls_session_echo "after a refused reload" || fail "the session broke on a refused reload"

# a missing certificate file: refused the same way
rm -f "$tmp/live/cert.pem"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload failed ' 2 || fail "reload with a missing certificate not refused"
expect_log "config error: listener tls: tls_cert $tmp/live/cert.pem: cannot load"
[ "$(tls_peer_fingerprint "$P")" = "$FP2" ] || fail "a refused reload changed the certificate"

# back to the first pair
cp "$CERTS/server.pem" "$tmp/live/cert.pem"
cp "$CERTS/server.key" "$tmp/live/key.pem"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok ' 2 || fail "second reload not ok"
[ "$(tls_peer_fingerprint "$P")" = "$FP1" ] || fail "the first certificate did not come back"
tls_session_echo "after three reloads" || fail "the session broke after three reloads"
tls_session_close

no_log ' critical '
stop_echod
note ok
