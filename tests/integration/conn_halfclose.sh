# conn_halfclose.sh: when the client shuts down its write side, every echoed
# byte still arrives, then a clean FIN (never a reset); the server logs
# reason=eof.
. "$(dirname "$0")/lib.sh"

# A high watermark above what the flood case below sends.
cat >"$tmp/echod.ini" <<INI
[server]
write_high_watermark = 16M
write_low_watermark = 1M

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

# The FIN arrives while megabytes of echo are still pending: the client sends
# 8 MiB without reading (the server reads it all, most of the echo waits in
# its buffers), shuts down its write side, and only then reads.
spawn tclient -T 60 flood -r 127.0.0.1 "$P" 8M 40 >"$tmp/flood.out" 2>&1
FLOOD=$SPAWN_PID
wait_file_grep 'flood: sent=' 30 "$tmp/flood.out" || fail "flood client did not send"
grep -q 'flood: sent=8388608 stalled=no' "$tmp/flood.out" || fail "flood: $(cat "$tmp/flood.out")"
sleep 0.3
kill -USR1 "$FLOOD"
wait_exit "$FLOOD" 40 || fail "flood client did not finish"
grep -q 'flood: received=8388608 eof=clean' "$tmp/flood.out" ||
    fail "echo owed at the client's FIN was lost: $(tail -n 1 "$tmp/flood.out")"
expect_log "close listener=echo .*reason=eof bytes_in=8388608 bytes_out=8388608 "

# The same with nc: it shuts down after stdin's EOF and exits at the server's FIN.
if have_openbsd_nc; then
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
