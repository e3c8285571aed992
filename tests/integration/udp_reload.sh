# udp_reload.sh: SIGHUP adds, changes and removes UDP listeners like TCP ones.
#   - a UDP listener is added; one whose bind line stays keeps its socket
#     (same port) and takes new options (service, amplification cap) at once;
#   - a removed UDP listener's port is closed (ICMP port unreachable);
#   - a listener switches from TCP to UDP and back on the same port;
#   - a TCP listener and a UDP listener share a port number;
#   - a reload the config refuses (udp: with tls, with the command service)
#     keeps the running listeners.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/udp_lib.sh"

P=$("$PYTHON" "$UDPC" port --tcp-too) || fail "no port free for UDP and TCP"

write_ini()
{
	{
		cat
		admin_ini
	} >"$tmp/r.ini"
}

reloads=0
reload_ok()
{
	reloads=$((reloads + 1))
	kill -HUP "$ECHOD_PID"
	wait_log_count 'reload (ok|failed)' "$reloads" 15 || fail "no reload result ($1)"
	[ "$(grep -E 'reload (ok|failed)' "$ECHOD_LOG" | sed -n "${reloads}p" | grep -c 'reload ok')" = 1 ] ||
	    fail "reload refused ($1): $(grep 'config error' "$ECHOD_LOG" | tail -n 3)"
}

write_ini <<INI
[listener u]
bind = udp:127.0.0.1:$P
service = echo

[listener t]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/r.ini"
T=$(port_of t) || fail "no TCP port"
out=$(udp 127.0.0.1 "$P" --data before)
[ "$(udp_field "$out" hex)" = "$(printf before | od -An -tx1 | tr -d ' \n')" ] || fail "echo: $out"

# Add a UDP listener; u becomes chargen at cap 100, same bind: same socket.
write_ini <<INI
[listener u]
bind = udp:127.0.0.1:$P
service = chargen
udp_max_amplification = 100

[listener t]
bind = 127.0.0.1:0
service = echo

[listener d]
bind = udp:127.0.0.1:0
service = daytime
INI
reload_ok "add d, change u"
expect_log 'reload ok listeners=4 added=1 removed=0'
D=$(port_of d) || fail "d did not bind"
no_log "listener=u bind=udp:127\.0\.0\.1:$P closed"
[ "$(grep -c "listening listener=u " "$ECHOD_LOG")" = 1 ] || fail "u was bound again"
out=$(udp 127.0.0.1 "$P" --hex "")
[ "$(udp_field "$out" hex)" = "$(chargen_hex 512)" ] || fail "u did not become chargen at cap 100: $out"
out=$(udp 127.0.0.1 "$D" --size 30)
[ "$(udp_field "$out" len)" = 26 ] || fail "the added daytime listener: $out"

# Remove d: its port closes. Switch t to UDP on the TCP port's number, and
# add a TCP listener on u's UDP port number.
write_ini <<INI
[listener u]
bind = udp:127.0.0.1:$P
service = chargen
udp_max_amplification = 100

[listener t]
bind = udp:127.0.0.1:$T
service = echo

[listener tcp-on-p]
bind = 127.0.0.1:$P
service = echo
INI
reload_ok "remove d, t to UDP"
expect_log 'reload ok listeners=4 added=2 removed=2'
expect_log 'listener=d closed'
"$PYTHON" "$UDPC" refused 127.0.0.1 "$D" || fail "the removed listener's port $D still answers"
out=$(udp 127.0.0.1 "$T" --data now-udp)
[ "$(udp_field "$out" from)" = "127.0.0.1:$T" ] || fail "t over UDP: $out"
out=$(tclient -T 5 fetch -s -d tcp-beside 127.0.0.1 "$P" 10) || fail "TCP echo on u's port number"
[ "$out" = tcp-beside ] || fail "TCP on u's port number returned '$out'"
out=$(udp 127.0.0.1 "$P" --size 3)
[ "$(udp_field "$out" len)" = 512 ] || fail "u after a TCP listener took its port number: $out"

# Refused reloads keep everything.
cp "$tmp/r.ini" "$tmp/good.ini"
write_ini <<INI
[listener u]
bind = udp:127.0.0.1:$P
service = command
INI
kill -HUP "$ECHOD_PID"
reloads=$((reloads + 1))
wait_log_count 'reload (ok|failed)' "$reloads" 15 || fail "no result of the bad reload"
expect_log "service: expected a service that answers datagrams"
expect_log 'reload failed errors=1'
out=$(udp 127.0.0.1 "$P" --size 3)
[ "$(udp_field "$out" len)" = 512 ] || fail "u after a refused reload: $out"

# And back: t is TCP again.
sed "s/udp:127.0.0.1:$T/127.0.0.1:$T/" "$tmp/good.ini" >"$tmp/r.ini"
reload_ok "t back to TCP"
out=$(tclient -T 5 fetch -s -d tcp-again 127.0.0.1 "$T" 9) || fail "t back on TCP"
[ "$out" = tcp-again ] || fail "t back on TCP returned '$out'"
"$PYTHON" "$UDPC" refused 127.0.0.1 "$T" || fail "t's UDP port still answers"
stop_echod
