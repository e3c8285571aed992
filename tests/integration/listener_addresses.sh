# listener_addresses.sh: bind forms: [::1]:0, *:0 (IPv4 and IPv6), several
# comma-separated addresses on one listener, unix sockets with unix_mode (and
# a restart on the same path), and reuse_port shared by two daemons.
. "$(dirname "$0")/lib.sh"

V6=no
have_ipv6 && V6=yes
SOCK=$tmp/echo.sock
SOCK2=$tmp/echo2.sock

{
	cat <<INI
[log]
level = info
connections = yes

[listener any]
bind = *:0
service = echo

[listener unix]
bind = unix:$SOCK
service = echo
unix_mode = 0600

[listener unix2]
bind = unix:$SOCK2
service = echo
unix_mode = 0640
INI
	if [ "$V6" = yes ]; then
		cat <<INI

[listener v6]
bind = [::1]:0
service = echo

[listener multi]
bind = 127.0.0.1:0, [::1]:0
service = echo
INI
	else
		cat <<INI

[listener multi]
bind = 127.0.0.1:0, 127.0.0.2:0
service = echo
INI
	fi
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"

# ---- *:0: every socket logged with its own port; IPv4 and IPv6 both served.
n=$(log_count 'listening listener=any ')
[ "$n" -ge 1 ] || fail "no listening line for any"
v4ok=no
v6ok=no
v4line=no
i=1
while [ "$i" -le "$n" ]; do
	a=$(addr_of any "$i") || fail "no address for any #$i"
	p=${a##*:}
	[ "$p" -gt 0 ] || fail "any: port 0 in '$a'"
	case $a in
	0.0.0.0:*)
		v4line=yes
		tclient echo-bulk 127.0.0.1 "$p" 256K 1 >/dev/null || fail "*:0 over IPv4 ($a)"
		v4ok=yes
		;;
	"[::]:"*)
		if [ "$V6" = yes ]; then
			tclient echo-bulk ::1 "$p" 256K 2 >/dev/null || fail "*:0 over IPv6 ($a)"
			v6ok=yes
		fi
		;;
	*)
		fail "any: unexpected address '$a' for *:0"
		;;
	esac
	i=$((i + 1))
done
# One dual-stack [::] socket must take IPv4 too.
if [ "$v4line" = no ]; then
	p=$(port_of any) || fail "no port for any"
	tclient echo-bulk 127.0.0.1 "$p" 256K 3 >/dev/null || fail "*:0 (dual-stack) over IPv4"
	v4ok=yes
fi
[ "$v4ok" = yes ] || fail "*:0 not reachable over IPv4"
[ "$V6" = no ] || [ "$v6ok" = yes ] || fail "*:0 not reachable over IPv6"

# ---- [::1]:0 and several addresses on one listener.
if [ "$V6" = yes ]; then
	a=$(addr_of v6) || fail "no listening line for v6"
	echo "$a" | grep -q -E '^\[::1\]:[1-9][0-9]*$' || fail "v6: logged address '$a'"
	tclient echo-bulk ::1 "${a##*:}" 1M 4 >/dev/null || fail "echo over [::1]"
	tclient halfclose '[::1]' "${a##*:}" 64K >/dev/null || fail "half-close over [::1]"
	expect_log 'close listener=v6 peer=\[::1\]:[0-9]+ reason=eof'
	hosts="127.0.0.1 ::1"
else
	note "no IPv6 loopback: IPv6 cases skipped"
	hosts="127.0.0.1 127.0.0.2"
fi
[ "$(log_count 'listening listener=multi ')" -eq 2 ] || fail "multi: expected 2 listening lines"
i=1
for h in $hosts; do
	a=$(addr_of multi "$i") || fail "multi: no address #$i"
	tclient rtt "$h" "${a##*:}" 5 >/dev/null || fail "multi: no echo on $a"
	i=$((i + 1))
done

# ---- unix sockets: the mode is applied, echo and half-close work.
expect_log "listening listener=unix service=echo addr=unix:$SOCK"
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "unix_mode 0600: socket mode is $(stat -c %a "$SOCK")"
[ "$(stat -c %a "$SOCK2")" = 640 ] || fail "unix_mode 0640: socket mode is $(stat -c %a "$SOCK2")"
tclient echo-bulk "unix:$SOCK" - 4M 5 >/dev/null || fail "echo over a unix socket"
tclient halfclose "unix:$SOCK" - 100K >/dev/null || fail "half-close over a unix socket"
if have_cmd socat; then
	out=$(printf 'over unix' | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK2") ||
	    fail "socat over a unix socket (status $?)"
	[ "$out" = "over unix" ] || fail "socat over a unix socket got '$out'"
fi
expect_log 'close listener=unix .*reason=eof'
stop_echod

# ---- a restart on the same unix paths works (no stale socket in the way).
start_echod "$tmp/echod.ini"
tclient rtt "unix:$SOCK" - 3 >/dev/null || fail "echo over a unix socket after a restart"
stop_echod

# ---- reuse_port: a second daemon binds the same port, both share the load.
cat >"$tmp/rp1.ini" <<INI
[log]
level = info
connections = yes

[listener rp]
bind = 127.0.0.1:0
service = echo
reuse_port = yes
INI
start_echod "$tmp/rp1.ini"
P=$(port_of rp) || fail "no port for rp"
PID1=$ECHOD_PID
LOG1=$ECHOD_LOG
sed "s/^bind = 127.0.0.1:0$/bind = 127.0.0.1:$P/" "$tmp/rp1.ini" >"$tmp/rp2.ini"
start_echod "$tmp/rp2.ini"
[ "$(port_of rp)" = "$P" ] || fail "reuse_port: second daemon on port $(port_of rp), not $P"
tclient concurrent 127.0.0.1 "$P" 40 64 >/dev/null || fail "reuse_port: echo on the shared port"
wait_log 'conn=[0-9]+ close listener=rp ' || fail "reuse_port: the second daemon served nothing"
grep -q -E 'conn=[0-9]+ close listener=rp ' "$LOG1" || fail "reuse_port: the first daemon served nothing"
stop_echod
ECHOD_PID=$PID1
ECHOD_LOG=$LOG1
stop_echod
note ok
