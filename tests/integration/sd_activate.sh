# sd_activate.sh: socket activation with systemd-socket-activate, which
# binds the sockets, waits for the first client and then runs echod with
# LISTEN_FDS/LISTEN_FDNAMES, like a systemd .socket unit.
#   1. by name: sockets named echo and discard serve [listener echo] and
#      [listener discard] whatever their bind lines say; a third listener
#      binds its own socket; a reload keeps the sockets; a listener removed
#      and added back by reloads takes its inherited socket again.
#   2. by address: an unnamed unix socket and an unnamed TCP socket serve
#      the listeners bound to exactly those addresses; an inherited socket
#      no listener wants is reported; echod leaves the socket file alone.
#   3. an IPv6 socket that also accepts IPv4 serves a whole "*:PORT" line.
. "$(dirname "$0")/lib.sh"

SD_HELPER=$top_builddir/tests/integration/sd_helper
[ -x "$SD_HELPER" ] || fail "not built: $SD_HELPER"
grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/autoconf.h" ||
    skip "built without libsystemd: no socket activation"
have_cmd systemd-socket-activate || skip "systemd-socket-activate not installed (package systemd)"

free_port()
{
	"$SD_HELPER" port || fail "no free port"
}

# activate INI TRIGGER_HOST TRIGGER_PORT ARGS...: run echod under
# systemd-socket-activate ARGS, then connect to the trigger address so it
# starts; returns when echod is ready. The activator execs echod, so its
# PID is echod's.
activate()
{
	local ini=$1 th=$2 tp=$3

	shift 3
	activator_spawn "$ACTIVATE_NSOCKS" "$@" "$ECHOD" -f -c "$ini"
	# The first client wakes the activator; echod then serves it.
	spawn "$TCLIENT" -T 20 connect "$th" "$tp" >/dev/null 2>&1
	wait_log 'ready listeners=[0-9]+' 15 || fail "echod not ready under socket activation"
}

# ---------------------------------------------------------------- by name
P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
cat >"$tmp/names.ini" <<INI
[listener echo]
bind = 127.0.0.1:0
service = echo

[listener discard]
bind = 127.0.0.1:0
service = discard

[listener daytime]
bind = 127.0.0.1:0
service = daytime
INI
ACTIVATE_NSOCKS=2
activate "$tmp/names.ini" 127.0.0.1 "$P1" -l "127.0.0.1:$P1" -l "127.0.0.1:$P2" \
    --fdname=echo:discard
expect_log "inherited socket fd=3 name=echo addr=127\.0\.0\.1:$P1"
expect_log "inherited socket fd=4 name=discard addr=127\.0\.0\.1:$P2"
expect_log "listener=echo uses inherited socket name=echo addr=127\.0\.0\.1:$P1"
expect_log "listener=discard uses inherited socket name=discard addr=127\.0\.0\.1:$P2"
[ "$(addr_of echo)" = "127.0.0.1:$P1" ] || fail "echo listens on $(addr_of echo), not :$P1"
[ "$(addr_of discard)" = "127.0.0.1:$P2" ] || fail "discard listens on $(addr_of discard)"
DT=$(port_of daytime) || fail "daytime did not bind its own socket"
[ "$DT" != "$P1" ] && [ "$DT" != "$P2" ] || fail "daytime got an inherited socket"
no_log 'matches no listener'

out=$(tclient -T 5 fetch -s -d 'by name' 127.0.0.1 "$P1" 7) || fail "echo on the inherited socket"
[ "$out" = "by name" ] || fail "echo on the inherited socket returned '$out'"
out=$(tclient -T 5 fetch -s -d 'into the void' 127.0.0.1 "$P2" 16) ||
    fail "discard on the inherited socket"
[ -z "$out" ] || fail "discard on the inherited socket answered '$out'"
tclient -T 5 fetch 127.0.0.1 "$DT" 64 | grep -q -E '[0-9]{4}' || fail "daytime on its own socket"

# A reload with the same listeners keeps every socket.
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 1 || fail "first reload"
no_log 'listener=echo bind=.* closed'
out=$(tclient -T 5 fetch -s -d again 127.0.0.1 "$P1" 5) || fail "echo after reload"
[ "$out" = "again" ] || fail "echo after reload returned '$out'"

# Remove [listener echo] by reload, then add it back: it takes the same socket.
sed '/^\[listener echo\]/,/^$/d' "$tmp/names.ini" >"$tmp/names2.ini"
cp "$tmp/names.ini" "$tmp/names.orig"
cp "$tmp/names2.ini" "$tmp/names.ini"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 2 || fail "reload without echo"
expect_log 'listener=echo closed'
cp "$tmp/names.orig" "$tmp/names.ini"
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 3 || fail "reload with echo again"
wait_log_count "listener=echo uses inherited socket name=echo addr=127\.0\.0\.1:$P1" 2 ||
    fail "echo did not take its inherited socket again"
out=$(tclient -T 5 fetch -s -d back 127.0.0.1 "$P1" 4) || fail "echo after it came back"
[ "$out" = "back" ] || fail "echo after it came back returned '$out'"
stop_echod

# ---------------------------------------------------------------- by address
P3=$(free_port)
P4=$(free_port)
while [ "$P4" = "$P3" ]; do P4=$(free_port); done
SOCK=$tmp/echo.sock
cat >"$tmp/addr.ini" <<INI
[listener u]
bind = unix:$SOCK
service = echo

[listener t]
bind = 127.0.0.1:$P3
service = daytime
INI
ACTIVATE_NSOCKS=3
activate "$tmp/addr.ini" 127.0.0.1 "$P3" -l "$SOCK" -l "127.0.0.1:$P3" -l "127.0.0.1:$P4"
expect_log "listener=u uses inherited socket name=unknown addr=unix:$SOCK"
expect_log "listener=t uses inherited socket name=unknown addr=127\.0\.0\.1:$P3"
expect_log "inherited socket name=unknown addr=127\.0\.0\.1:$P4 matches no listener"
out=$(tclient -T 5 fetch -s -d 'over unix' "unix:$SOCK" - 9) || fail "echo on the inherited unix socket"
[ "$out" = "over unix" ] || fail "echo on the inherited unix socket returned '$out'"
tclient -T 5 fetch 127.0.0.1 "$P3" 64 | grep -q -E '[0-9]{4}' || fail "daytime on the inherited socket"
stop_echod
[ -S "$SOCK" ] || fail "echod removed the unix socket systemd created"

# ---------------------------------------------------------------- dual stack
if have_ipv6; then
	P5=$(free_port)
	cat >"$tmp/dual.ini" <<INI
[listener echo]
bind = *:$P5
service = echo
INI
	ACTIVATE_NSOCKS=1
	activate "$tmp/dual.ini" 127.0.0.1 "$P5" -l "[::]:$P5"
	if grep -q 'dual_stack=yes' "$ECHOD_LOG"; then
		expect_log "listener=echo uses inherited socket name=unknown addr=\[::\]:$P5"
		[ "$(grep -c 'listening listener=echo ' "$ECHOD_LOG")" -eq 1 ] ||
		    fail "a *:PORT line served by a dual-stack socket bound more: $(grep listening "$ECHOD_LOG")"
		out=$(tclient -T 5 fetch -s -d v4 127.0.0.1 "$P5" 2) || fail "IPv4 through the dual-stack socket"
		[ "$out" = "v4" ] || fail "IPv4 through the dual-stack socket returned '$out'"
		out=$(tclient -T 5 fetch -s -d v6 ::1 "$P5" 2) || fail "IPv6 through the dual-stack socket"
		[ "$out" = "v6" ] || fail "IPv6 through the dual-stack socket returned '$out'"
	else
		note "net.ipv6.bindv6only=1: no dual-stack socket to check"
	fi
	stop_echod
else
	note "no IPv6 loopback: dual-stack case skipped"
fi
