# udp_activate.sh: socket activation of UDP listeners (ListenDatagram=), with
# systemd-socket-activate --datagram, which binds the sockets, waits for the
# first datagram and then runs echod with LISTEN_FDS/LISTEN_FDNAMES. That
# first datagram is still queued: echod answers it.
#   1. by name: datagram sockets named echo and time serve [listener echo]
#      and [listener time] (udp: binds) whatever their bind lines say; a
#      TCP listener named like a socket does not take it; a reload keeps
#      the sockets, and a listener removed and added back takes its socket
#      again;
#   2. by address: an unnamed datagram socket serves the listener bound to
#      exactly that udp: address, and none of the TCP listener on the same
#      address and port number;
#   3. an IPv6 datagram socket that also takes IPv4 serves a whole udp:*:P
#      line, and replies leave from the address each request was sent to
#      (IPv4-mapped on that socket: 127.0.0.2 stays 127.0.0.2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/udp_lib.sh"

grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/autoconf.h" ||
    skip "built without libsystemd: no socket activation"
have_cmd systemd-socket-activate || skip "systemd-socket-activate not installed (package systemd)"

free_port()
{
	"$PYTHON" "$UDPC" port --tcp-too || fail "no free port"
}

# activate INI NSOCKS ARGS...: echod under systemd-socket-activate --datagram ARGS.
activate()
{
	local ini=$1 nsocks=$2

	shift 2
	activator_spawn "$nsocks" --datagram "$@" "$ECHOD" -f -c "$ini"
}

# ---------------------------------------------------------------- by name
P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
cat >"$tmp/names.ini" <<INI
[listener echo]
bind = udp:127.0.0.1:0
service = echo

[listener time]
bind = udp:127.0.0.1:0
service = time

[listener daytime]
bind = udp:127.0.0.1:0
service = daytime

$(admin_ini)
INI
activate "$tmp/names.ini" 2 -l "127.0.0.1:$P1" -l "127.0.0.1:$P2" --fdname=echo:time
# The first datagram starts echod, which then answers it.
out=$(udp 127.0.0.1 "$P1" --data wake-up --timeout 15)
[ "$(udp_field "$out" hex)" = "$(printf wake-up | od -An -tx1 | tr -d ' \n')" ] ||
    fail "the datagram that started echod was not echoed: $out"
wait_log 'ready listeners=[0-9]+' 15 || fail "echod not ready under socket activation"
expect_log "inherited socket fd=3 name=echo addr=udp:127\.0\.0\.1:$P1"
expect_log "inherited socket fd=4 name=time addr=udp:127\.0\.0\.1:$P2"
expect_log "listener=echo uses inherited socket name=echo addr=udp:127\.0\.0\.1:$P1"
expect_log "listener=time uses inherited socket name=time addr=udp:127\.0\.0\.1:$P2"
[ "$(addr_of echo)" = "udp:127.0.0.1:$P1" ] || fail "echo listens on $(addr_of echo)"
DT=$(port_of daytime) || fail "daytime did not bind its own socket"
no_log 'matches no listener'
out=$(udp 127.0.0.1 "$P2" --size 4)
[ "$(udp_field "$out" len)" = 4 ] || fail "time on its inherited socket: $out"
out=$(udp 127.0.0.1 "$DT" --size 26)
[ "$(udp_field "$out" len)" = 26 ] || fail "daytime on its own socket: $out"

# A reload keeps the sockets; echo removed and added back takes its socket again.
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 1 || fail "first reload"
no_log 'listener=echo bind=.* closed'
sed '/^\[listener echo\]/,/^$/d' "$tmp/names.ini" >"$tmp/names2.ini"
cp "$tmp/names.ini" "$tmp/names.orig"
cp "$tmp/names2.ini" "$tmp/names.ini"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 2 || fail "reload without echo"
expect_log 'listener=echo closed'
cp "$tmp/names.orig" "$tmp/names.ini"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 3 || fail "reload with echo again"
wait_log_count "listener=echo uses inherited socket name=echo addr=udp:127\.0\.0\.1:$P1" 2 ||
    fail "echo did not take its inherited socket again"
out=$(udp 127.0.0.1 "$P1" --data back)
[ "$(udp_field "$out" hex)" = 6261636b ] || fail "echo after it came back: $out"
stop_echod

# ---------------------------------------------------------------- by address
P3=$(free_port)
cat >"$tmp/addr.ini" <<INI
[listener tcp]
bind = 127.0.0.1:$P3
service = echo

[listener u]
bind = udp:127.0.0.1:$P3
service = echo

$(admin_ini)
INI
activate "$tmp/addr.ini" 1 -l "127.0.0.1:$P3"
out=$(udp 127.0.0.1 "$P3" --data by-address --timeout 15)
[ "$(udp_field "$out" hex)" = "$(printf by-address | od -An -tx1 | tr -d ' \n')" ] ||
    fail "echo on the inherited socket: $out"
wait_log 'ready listeners=[0-9]+' 15 || fail "echod not ready under socket activation"
expect_log "listener=u uses inherited socket name=unknown addr=udp:127\.0\.0\.1:$P3"
no_log "listener=tcp uses inherited socket"
[ "$(addr_of tcp)" = "127.0.0.1:$P3" ] || fail "the TCP listener: $(addr_of tcp)"
out=$(tclient -T 5 fetch -s -d tcp 127.0.0.1 "$P3" 3) || fail "TCP echo beside the inherited UDP socket"
[ "$out" = tcp ] || fail "TCP echo returned '$out'"
stop_echod

# ---------------------------------------------------------------- dual stack
if have_ipv6; then
	P4=$(free_port)
	cat >"$tmp/dual.ini" <<INI
[listener echo]
bind = udp:*:$P4
service = echo

$(admin_ini)
INI
	activate "$tmp/dual.ini" 1 -l "[::]:$P4"
	out=$(udp ::1 "$P4" --data v6 --timeout 15)
	[ "$(udp_field "$out" from)" = "[::1]:$P4" ] || fail "IPv6 on the inherited [::] socket: $out"
	wait_log 'ready listeners=[0-9]+' 15 || fail "echod not ready under socket activation"
	if grep -q 'dual_stack=yes' "$ECHOD_LOG"; then
		expect_log "listener=echo uses inherited socket name=unknown addr=udp:\[::\]:$P4"
		[ "$(grep -c 'listening listener=echo ' "$ECHOD_LOG")" -eq 1 ] ||
		    fail "a udp:*:PORT line served by a dual-stack socket bound more: $(grep listening "$ECHOD_LOG")"
		out=$(udp 127.0.0.2 "$P4" --data v4)
		[ "$(udp_field "$out" from)" = "127.0.0.2:$P4" ] ||
		    fail "IPv4 through the dual-stack socket answered from $(udp_field "$out" from)"
	else
		note "net.ipv6.bindv6only=1: no dual-stack socket to check"
	fi
	stop_echod
else
	note "no IPv6 loopback: dual-stack case skipped"
fi
