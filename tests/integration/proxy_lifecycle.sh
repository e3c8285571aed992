# proxy_lifecycle.sh: PROXY protocol connections still reading their header
# when the daemon reloads or stops. A reload that removes their listener
# leaves them be (as every connection of a removed listener) and they finish
# their header under the rules they were accepted with: the removed
# listener's deny list still refuses, its other clients are served (under
# ASan, a list freed with the old configuration shows up here). A graceful
# shutdown closes them at once, as it does a TLS handshake, instead of
# waiting for proxy_timeout or shutdown_timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

[ -n "$PYTHON" ] || skip "python3 not installed"
ini()
{
	{
		printf '[server]\nshutdown_timeout = 15s\n\n[log]\nconnections = yes\n\n'
		admin_section
		printf '[listener %s]\nbind = 127.0.0.1:0\nservice = echo\nproxy_protocol = v1\n' "$1"
		printf 'proxy_from = 127.0.0.1\nproxy_timeout = 20s\ndeny = 192.0.2.66, 192.0.2.67\n\n'
	} >"$tmp/echod.ini"
}
ini old
start_echod "$tmp/echod.ini"
P=$(port_of old) || fail "no port for old"

# Two clients send the first 12 bytes of their header, then wait 3 s.
spawn "$PYTHON" "$PROXY_CLIENT" --timeout 15 127.0.0.1 "$P" --v1 'TCP4 192.0.2.66 198.51.100.7 1 2' \
    --split 12 --split-wait 3 --data denied --expect-close >"$tmp/denied.out" 2>&1
DENIED=$SPAWN_PID
spawn "$PYTHON" "$PROXY_CLIENT" --timeout 15 127.0.0.1 "$P" --v1 'TCP4 192.0.2.1 198.51.100.7 1 2' \
    --split 12 --split-wait 3 --data served >"$tmp/served.out" 2>&1
SERVED=$SPAWN_PID
wait_log_count 'open listener=old ' 2 || fail "the two clients did not connect"
admin CONNS | grep -c ' listener=old .* state=preface ' | grep -q '^2$' ||
    fail "not two connections reading their header: $(admin CONNS)"

# The listener is replaced by another one (its lists go with the old configuration).
ini new
kill -HUP "$ECHOD_PID"
expect_log 'reload ok listeners=2 added=1 removed=1'
expect_log 'listener=old closed connections=2'

wait_exit "$DENIED" 15 || fail "the denied client did not finish"
[ "$WAIT_STATUS" -eq 0 ] || fail "the denied client was served: $(cat "$tmp/denied.out")"
wait_exit "$SERVED" 15 || fail "the allowed client did not finish"
[ "$WAIT_STATUS" -eq 0 ] && [ "$(cat "$tmp/served.out")" = served ] ||
    fail "the allowed client was not served: $(cat "$tmp/served.out")"
expect_log 'refused listener=old peer=192\.0\.2\.66:1 reason=deny_list rule=192\.0\.2\.66 '
expect_log 'close listener=old peer=192\.0\.2\.1:1 reason=eof bytes_in=6 bytes_out=6 '
# The new listener has its own lists.
NP=$(port_of new) || fail "no port for new"
"$PYTHON" "$PROXY_CLIENT" --timeout 10 127.0.0.1 "$NP" --v1 'TCP4 192.0.2.67 198.51.100.7 1 2' \
    --data x --expect-close >/dev/null 2>&1 || fail "192.0.2.67 served on the new listener"

# Graceful shutdown with a silent balancer connection: proxy_timeout (20s)
# and shutdown_timeout (15s) are both far away; the daemon exits at once.
spawn "$PYTHON" "$PROXY_CLIENT" --timeout 30 127.0.0.1 "$NP" --raw 50524f5859 --expect-close \
    >"$tmp/silent.out" 2>&1
SILENT=$SPAWN_PID
wait_log_count 'open listener=new ' 2 || fail "the silent client did not connect"
t0=$(date +%s%N)
stop_echod 10
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
note "graceful shutdown with a connection in its PROXY header: $ms ms"
[ "$ms" -lt 3000 ] || fail "graceful shutdown took $ms ms with a connection reading its PROXY header"
expect_log 'close listener=new peer=127\.0\.0\.1:[0-9]+ reason=shutdown '
wait_exit "$SILENT" 10 || fail "the silent client was not closed"
[ "$WAIT_STATUS" -eq 0 ] || fail "the silent client: $(cat "$tmp/silent.out")"
note ok
