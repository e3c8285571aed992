# udp_services.sh: every service over UDP, with real clients (python3 for
# exact datagrams, nc -u, socat), byte for byte:
#   echo: the datagram back, an empty one, 65,507 bytes whole, over IPv6;
#   discard: nothing; chargen: the first 512 bytes of the RFC 864 pattern,
#   cut to the request's length under the default cap; daytime and time: the
#   time, only for requests at least as long at the default cap;
#   udp:*:P: the reply leaves from the address the request was sent to
#   (127.0.0.2, 127.0.0.3, ::1); the counters in STATS and in /metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/udp_lib.sh"

V6=
if have_ipv6; then
	V6=", udp:[::1]:0"
fi
cat >"$tmp/u.ini" <<INI
[listener echo]
bind = udp:127.0.0.1:0$V6
service = echo

[listener discard]
bind = udp:127.0.0.1:0
service = discard

[listener chargen]
bind = udp:127.0.0.1:0
service = chargen

[listener chargen-wide]
bind = udp:127.0.0.1:0
service = chargen
udp_max_amplification = 100

[listener daytime]
bind = udp:127.0.0.1:0
service = daytime

[listener time]
bind = udp:127.0.0.1:0
service = time

[listener time2]
bind = udp:127.0.0.1:0
service = time
udp_max_amplification = 2

[listener wild]
bind = udp:*:0
service = echo

[metrics]
bind = 127.0.0.1:0

$(admin_ini)
INI
start_echod "$tmp/u.ini"
E=$(port_of echo) || fail "no echo port"
D=$(port_of discard) || fail "no discard port"
C=$(port_of chargen) || fail "no chargen port"
CW=$(port_of chargen-wide) || fail "no chargen-wide port"
DT=$(port_of daytime) || fail "no daytime port"
T=$(port_of time) || fail "no time port"
T2=$(port_of time2) || fail "no time2 port"
W=$(port_of wild) || fail "no wild port"
expect_log "listening listener=echo service=echo addr=udp:127\.0\.0\.1:$E"

# ---------------------------------------------------------------- echo
out=$(udp 127.0.0.1 "$E" --data hello)
[ "$(udp_field "$out" hex)" = "$(printf hello | od -An -tx1 | tr -d ' \n')" ] ||
    fail "echo of hello: $out"
[ "$(udp_field "$out" from)" = "127.0.0.1:$E" ] || fail "echo answered from $(udp_field "$out" from)"
out=$(udp 127.0.0.1 "$E" --hex "")
[ "$(udp_replies "$out")" = 1 ] && [ "$(udp_field "$out" len)" = 0 ] ||
    fail "an empty datagram is echoed empty: $out"
out=$(udp 127.0.0.1 "$E" --hex 000102feff0d0a)
[ "$(udp_field "$out" hex)" = 000102feff0d0a ] || fail "binary echo: $out"
big=$("$PYTHON" -c 'import hashlib; print(hashlib.sha256(b"x" * 65507).hexdigest())')
out=$(udp 127.0.0.1 "$E" --size 65507)
[ "$(udp_field "$out" len)" = 65507 ] && [ "$(udp_field "$out" sha256)" = "$big" ] ||
    fail "65,507 bytes not echoed whole: $(echo "$out" | cut -c1-120)"
# real clients
out=$(printf 'via nc\n' | nc -u -w1 127.0.0.1 "$E")
[ "$out" = "via nc" ] || fail "nc -u echo returned '$out'"
out=$(printf 'via socat' | socat -t1 - "UDP:127.0.0.1:$E")
[ "$out" = "via socat" ] || fail "socat echo returned '$out'"
if [ -n "$V6" ]; then
	E6=$(port_of echo 2) || fail "no IPv6 echo port"
	out=$(udp ::1 "$E6" --data v6)
	[ "$(udp_field "$out" hex)" = 7636 ] && [ "$(udp_field "$out" from)" = "[::1]:$E6" ] ||
	    fail "IPv6 echo: $out"
	out=$(udp ::1 "$E6" --size 65507)
	[ "$(udp_field "$out" sha256)" = "$big" ] || fail "65,507 bytes over IPv6"
	out=$(printf 'nc6' | nc -6 -u -w1 ::1 "$E6")
	[ "$out" = nc6 ] || fail "nc -6 -u echo returned '$out'"
else
	note "no IPv6 loopback: IPv6 cases skipped"
fi

# ---------------------------------------------------------------- discard
out=$(udp 127.0.0.1 "$D" --data 'into the void' --timeout 0.5)
[ "$(udp_replies "$out")" = 0 ] || fail "discard answered: $out"
[ "$(stat 'udp_datagrams_received_total{listener="discard",service="discard"}')" = 1 ] ||
    fail "discard did not count its datagram"

# ---------------------------------------------------------------- chargen
out=$(udp 127.0.0.1 "$C" --size 10)
[ "$(udp_field "$out" hex)" = "$(chargen_hex 10)" ] || fail "chargen, 10-byte request: $out"
out=$(udp 127.0.0.1 "$C" --size 600)
[ "$(udp_field "$out" len)" = 512 ] && [ "$(udp_field "$out" hex)" = "$(chargen_hex 512)" ] ||
    fail "chargen, 600-byte request: $(echo "$out" | cut -c1-100)"
out=$(udp 127.0.0.1 "$C" --hex "")
[ "$(udp_field "$out" len)" = 0 ] || fail "chargen, empty request under cap 1: $out"
[ "$(stat 'udp_replies_shortened_total{listener="chargen",service="chargen"}')" = 2 ] ||
    fail "shortened chargen replies not counted"
out=$(udp 127.0.0.1 "$CW" --hex "")
[ "$(udp_field "$out" hex)" = "$(chargen_hex 512)" ] || fail "chargen at cap 100, empty request"

# ---------------------------------------------------------------- daytime, time
now=$(date +%s)
out=$(udp 127.0.0.1 "$DT" --size 26)
hex=$(udp_field "$out" hex)
line=$("$PYTHON" -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode().strip())' "$hex")
echo "$line" | grep -q -E '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$' ||
    fail "daytime reply '$line'"
[ "${hex%0d0a}" != "$hex" ] && [ "$(udp_field "$out" len)" = 26 ] || fail "daytime reply $hex"
got=$(date -d "$line" +%s)
[ $((got - now)) -ge -5 ] && [ $((got - now)) -le 5 ] || fail "daytime $line is not now"
out=$(printf 'x\n' | socat -t1 - "UDP:127.0.0.1:$DT")
[ -z "$out" ] || fail "daytime answered a 2-byte request at cap 1: '$out'"
out=$(printf '%026d' 0 | socat -t1 - "UDP:127.0.0.1:$DT")
printf '%s' "$out" | grep -q -E '[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}' || fail "daytime via socat: '$out'"
[ "$(stat 'udp_datagrams_dropped_total{listener="daytime",service="daytime",reason="amplification"}')" = 1 ] ||
    fail "daytime over the cap not counted"

now=$(date +%s)
out=$(udp 127.0.0.1 "$T" --size 4)
v=$(printf '%d' "0x$(udp_field "$out" hex)")
[ "$(udp_field "$out" len)" = 4 ] || fail "time reply: $out"
[ $((v - 2208988800 - now)) -ge -5 ] && [ $((v - 2208988800 - now)) -le 5 ] ||
    fail "time $v is not now ($now)"
out=$(udp 127.0.0.1 "$T" --hex "" --timeout 0.5)
[ "$(udp_replies "$out")" = 0 ] || fail "time answered an empty request at cap 1"
# RFC 868's client sends an empty datagram: it needs udp_max_amplification = 2.
out=$(udp 127.0.0.1 "$T2" --hex "")
[ "$(udp_field "$out" len)" = 4 ] || fail "time at cap 2, empty request: $out"

# ---------------------------------------------------------------- wildcard
for a in 127.0.0.2 127.0.0.3; do
	out=$(udp "$a" "$W" --data "to $a")
	[ "$(udp_field "$out" from)" = "$a:$W" ] || fail "a request to $a:$W was answered from $(udp_field "$out" from)"
done
if [ -n "$V6" ]; then
	out=$(udp ::1 "$W" --data six)
	[ "$(udp_field "$out" from)" = "[::1]:$W" ] || fail "udp:*: over IPv6: $out"
fi

# ---------------------------------------------------------------- counters
n=$(stat 'udp_datagrams_sent_total{listener="echo",service="echo"}')
[ "$n" -ge 6 ] || fail "echo sent $n"
[ "$(stat 'udp_datagrams_received_total{listener="wild",service="echo"}')" = \
    "$(stat 'udp_datagrams_sent_total{listener="wild",service="echo"}')" ] || fail "wild in != out"
b=$(stat 'udp_sent_bytes_total{listener="echo",service="echo"}')
[ "$b" -ge 65507 ] || fail "echo sent bytes $b"
M=$(sed -n 's/.*metrics listening addr=\([^ ]*\).*/\1/p' "$ECHOD_LOG" | head -n 1)
if have_cmd curl && [ -n "$M" ]; then
	curl -s --max-time 10 "http://$M/metrics" >"$tmp/m.txt" || fail "GET /metrics"
	grep -q "^echod_udp_datagrams_sent_total{listener=\"echo\",service=\"echo\"} $n\$" "$tmp/m.txt" ||
	    fail "metrics: $(grep udp_datagrams_sent "$tmp/m.txt" | head -n 3)"
	grep -q '^echod_udp_datagrams_dropped_total{listener="daytime",service="daytime",reason="amplification"} 1$' \
	    "$tmp/m.txt" || fail "metrics: no amplification drop"
fi
no_log 'udp receive error'
stop_echod
