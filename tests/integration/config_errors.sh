# config_errors.sh: bad configurations give exit 78 (EX_CONFIG) with a
# message naming file, line and key, both with -t and at start-up (where the
# daemon must not become ready); -t reports every error; a bind failure at
# start-up is fatal with a clear message.
. "$(dirname "$0")/lib.sh"

N=0

# bad LINEMARK PATTERN: the ini on stdin must be rejected. LINEMARK is a
# fixed string whose first line is the one the error must name ("-": any
# line); PATTERN an extended regex the message must also match.
bad()
{
	local ini line out

	N=$((N + 1))
	ini=$tmp/bad$N.ini
	cat >"$ini"
	if [ "$1" = "-" ]; then
		line='[0-9]+'
	else
		line=$(grep -n -F -- "$1" "$ini" | head -n 1 | cut -d: -f1)
		[ -n "$line" ] || fail "case $N: marker '$1' not in the ini"
	fi
	out=$tmp/bad$N.out
	timeout 10 "$ECHOD" -t -c "$ini" </dev/null >"$out" 2>&1
	rc=$?
	[ "$rc" -eq 78 ] || fail "case $N ($2): -t exit $rc, expected 78; output: $(cat "$out")"
	grep -E -- "$ini:$line:" "$out" | grep -q -E -- "$2" ||
	    fail "case $N: -t output lacks '$ini:$line: ... $2'; got: $(cat "$out")"
	grep -q 'configuration OK' "$out" && fail "case $N: -t said OK"

	out=$tmp/bad$N.start.out
	timeout 10 "$ECHOD" -f -c "$ini" </dev/null >"$out" 2>&1
	rc=$?
	[ "$rc" -eq 78 ] || fail "case $N ($2): start-up exit $rc, expected 78; output: $(cat "$out")"
	grep -E -- "$ini:$line:" "$out" | grep -q -E -- "$2" ||
	    fail "case $N: start-up output lacks '$ini:$line: ... $2'; got: $(cat "$out")"
	grep -q 'ready listeners' "$out" && fail "case $N: daemon became ready on a bad config"
	return 0
}

L='[listener a]
bind = 127.0.0.1:0
service = echo'

bad '[bogus]' 'bogus' <<INI
$L
[bogus]
x = 1
INI
bad 'frobnicate' 'frobnicate' <<INI
[server]
frobnicate = 1
$L
INI
bad 'lots' 'max_connections.*lots' <<INI
[server]
max_connections = lots
$L
INI
bad '12Q' 'write_high_watermark' <<INI
[server]
write_high_watermark = 12Q
$L
INI
bad 'fortnights' 'shutdown_timeout' <<INI
[server]
shutdown_timeout = 10 fortnights
$L
INI
bad 'parsecs' 'idle_timeout' <<INI
$L
idle_timeout = 5 parsecs
INI
bad 'gopher' 'service.*gopher' <<INI
[listener a]
bind = 127.0.0.1:0
service = gopher
INI
# The second [listener b] is the duplicate.
cat >"$tmp/dup.ini" <<INI
[listener b]
bind = 127.0.0.1:0
service = echo
[listener c]
bind = 127.0.0.1:0
service = echo
[listener b]
bind = 127.0.0.1:0
service = discard
INI
timeout 10 "$ECHOD" -t -c "$tmp/dup.ini" >"$tmp/dup.out" 2>&1
rc=$?
[ "$rc" -eq 78 ] || fail "duplicate listener name: exit $rc, expected 78"
grep -q -E "$tmp/dup.ini:7:.*b" "$tmp/dup.out" ||
    fail "duplicate listener name: no error at line 7: $(cat "$tmp/dup.out")"
bad - 'bind' <<INI
[listener nobind]
service = echo
INI
bad '99999' 'bind' <<INI
[listener a]
bind = 127.0.0.1:99999
service = echo
INI
bad 'nonsense' 'bind' <<INI
[listener a]
bind = nonsense
service = echo
INI
bad 'loud' 'level' <<INI
[log]
level = loud
$L
INI
bad 'maybe' 'connections' <<INI
[log]
connections = maybe
$L
INI
bad - 'write_low_watermark' <<INI
[server]
write_high_watermark = 64K
write_low_watermark = 128K
$L
INI
bad '0999' 'unix_mode' <<INI
$L
unix_mode = 0999
INI
bad 'iso' 'daytime_format' <<INI
[listener d]
bind = 127.0.0.1:0
service = daytime
daytime_format = iso
INI
bad 'backlog' 'backlog' <<INI
$L
backlog = -5
INI
bad 'perhaps' 'reuse_port' <<INI
$L
reuse_port = perhaps
INI
bad 'orphan' '.' <<INI
orphan = 1
$L
INI
bad 'no equals sign' '.' <<INI
$L
this line has no equals sign
INI

# -t reports every error, not just the first.
cat >"$tmp/many.ini" <<INI
[server]
max_connections = lots
shutdown_timeout = forever
[log]
level = loud
$L
INI
timeout 10 "$ECHOD" -t -c "$tmp/many.ini" >"$tmp/many.out" 2>&1
rc=$?
[ "$rc" -eq 78 ] || fail "three errors: exit $rc, expected 78"
for l in 2 3 5; do
	grep -q -E "$tmp/many.ini:$l:" "$tmp/many.out" ||
	    fail "three errors: line $l not reported: $(cat "$tmp/many.out")"
done

# A bind failure at start-up is fatal and names the address.
cat >"$tmp/first.ini" <<INI
[log]
level = info
$L
INI
start_echod "$tmp/first.ini"
P=$(port_of a) || fail "no listening line"
cat >"$tmp/clash.ini" <<INI
[listener clash]
bind = 127.0.0.1:$P
service = echo
INI
timeout 10 "$ECHOD" -f -c "$tmp/clash.ini" </dev/null >"$tmp/clash.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "bind clash: exit $rc, expected a failure exit"
grep -q "127.0.0.1:$P" "$tmp/clash.out" || fail "bind clash: address not named: $(cat "$tmp/clash.out")"
grep -q -i 'in use' "$tmp/clash.out" || fail "bind clash: cause not given: $(cat "$tmp/clash.out")"
grep -q 'ready listeners' "$tmp/clash.out" && fail "bind clash: became ready"
# The first daemon is unaffected.
tclient rtt 127.0.0.1 "$P" 3 >/dev/null || fail "first daemon stopped serving"
stop_echod
note "ok ($N bad configs)"
