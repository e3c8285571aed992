# service_echo.sh: echo (RFC 862) is byte-exact and binary-safe: 16 MiB of
# random bytes through the C client, 1 MiB through socat and nc, NUL bytes, no
# line buffering, and the open/close log lines with their byte counts.
. "$(dirname "$0")/lib.sh"

cat >"$tmp/echod.ini" <<INI
[server]
shutdown_timeout = 5s

[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no listening line for echo"
addr_of echo | grep -q -E '^127\.0\.0\.1:[0-9]+$' || fail "bad listening address: $(addr_of echo)"
[ "$P" -gt 0 ] || fail "port 0 in the listening line"

# 16 MiB, random chunk sizes, reading while writing, clean FIN at the end.
tclient echo-bulk 127.0.0.1 "$P" 16M 20260710 >"$tmp/bulk.out" ||
    fail "echo-bulk 16 MiB failed"
note "$(cat "$tmp/bulk.out")"
expect_log "conn=[0-9]+ open listener=echo peer=127\.0\.0\.1:[0-9]+"
expect_log "conn=[0-9]+ close listener=echo peer=127\.0\.0\.1:[0-9]+ reason=eof bytes_in=16777216 bytes_out=16777216 duration_ms=[0-9]+"

# No line buffering: a partial line comes straight back.
out=$(tclient -T 5 fetch -d 'partial line' 127.0.0.1 "$P" 12 2>"$tmp/partial.log") ||
    fail "fetch of a partial line failed"
[ "$out" = "partial line" ] || fail "partial line came back as '$out' ($(cat "$tmp/partial.log"))"

# Binary safety: NULs, 0xff, CR, LF, in a small file, through nc.
printf 'a\000b\000\000\377\376\r\n\000\r\000z' >"$tmp/bin.in"
if have_openbsd_nc; then
	timeout 10 nc -N 127.0.0.1 "$P" <"$tmp/bin.in" >"$tmp/bin.out" 2>"$tmp/nc.log" ||
	    fail "nc exited with status $? on the binary echo"
	cmp "$tmp/bin.in" "$tmp/bin.out" || fail "binary bytes changed by the echo (nc)"
	head -c 1048576 /dev/urandom >"$tmp/rand.in"
	timeout 20 nc -N 127.0.0.1 "$P" <"$tmp/rand.in" >"$tmp/rand.nc.out" 2>"$tmp/nc.log" ||
	    fail "nc exited with status $? on 1 MiB"
	cmp "$tmp/rand.in" "$tmp/rand.nc.out" || fail "1 MiB through nc changed"
else
	note "OpenBSD nc (with -N) not installed: skipping the nc cases"
fi

# socat: 1 MiB of /dev/urandom; socat shuts down its write side at EOF and
# waits (-t) for the server to finish the echo and close.
if have_cmd socat; then
	[ -f "$tmp/rand.in" ] || head -c 1048576 /dev/urandom >"$tmp/rand.in"
	timeout 30 socat -t 20 - "TCP4:127.0.0.1:$P" <"$tmp/rand.in" >"$tmp/rand.socat.out" \
	    2>"$tmp/socat.log" || fail "socat exited with status $?: $(cat "$tmp/socat.log")"
	cmp "$tmp/rand.in" "$tmp/rand.socat.out" || fail "1 MiB through socat changed"
	timeout 10 socat -t 5 - "TCP4:127.0.0.1:$P" <"$tmp/bin.in" >"$tmp/bin.socat.out" \
	    2>"$tmp/socat.log" || fail "socat exited with status $? on the binary echo"
	cmp "$tmp/bin.in" "$tmp/bin.socat.out" || fail "binary bytes changed by the echo (socat)"
else
	note "socat not installed: skipping the socat cases"
fi

# Many short round trips on one connection.
tclient rtt 127.0.0.1 "$P" 200 >"$tmp/rtt.out" || fail "200 round trips"
note "$(cat "$tmp/rtt.out")"

no_log ' (error|critical) '
stop_echod
note ok
