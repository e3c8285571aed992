# t_halfclose.sh: when the client shuts down its write side, every echoed byte
# still arrives, then a clean FIN (never a reset); the server logs reason=eof.
. "$(dirname "$0")/lib.sh"

cat >"$tmp/echod.ini" <<INI
[log]
level = info
connections = yes

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no listening line for echo"

# 1 byte and 100 KiB fit the socket buffers: data and FIN reach the server
# together. 4 MiB does not: the client reads while it writes, then shuts down.
for n in 1 102400 4194304; do
	tclient halfclose 127.0.0.1 "$P" "$n" >"$tmp/hc.out" || fail "halfclose of $n bytes"
	grep -q "halfclose: ok bytes=$n eof=clean" "$tmp/hc.out" || fail "halfclose: $(cat "$tmp/hc.out")"
	expect_log "close listener=echo .*reason=eof bytes_in=$n bytes_out=$n "
done

# The same with nc: it shuts down after stdin's EOF and exits at the server's FIN.
if have_cmd nc && nc -h 2>&1 | grep -q -E -- '-N[[:space:]]+Shutdown'; then
	out=$(printf 'hello, half-closed world' | timeout 10 nc -N 127.0.0.1 "$P") ||
	    fail "nc -N did not finish (status $?)"
	[ "$out" = "hello, half-closed world" ] || fail "nc -N got '$out'"
fi

# A connection that shuts down without sending anything gets a clean close.
tclient -T 10 fetch -s 127.0.0.1 "$P" 100 >"$tmp/empty.out" 2>"$tmp/empty.st" || fail "empty half-close"
grep -q 'received=0 eof=clean' "$tmp/empty.st" || fail "empty half-close: $(cat "$tmp/empty.st")"
expect_log "close listener=echo .*reason=eof bytes_in=0 bytes_out=0 "

no_log ' (error|critical) '
no_log 'reason=(reset|write-error|io-error)'
stop_echod
note ok
