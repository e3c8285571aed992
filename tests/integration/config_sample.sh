# config_sample.sh: conf/echod.ini passes -t, binds only loopback addresses,
# and (with its ports switched to kernel-chosen ones) serves echo, discard,
# chargen, daytime and time.
. "$(dirname "$0")/lib.sh"

SAMPLE=$top_srcdir/conf/echod.ini
[ -f "$SAMPLE" ] || fail "no $SAMPLE"

timeout 10 "$ECHOD" -t -c "$SAMPLE" </dev/null >"$tmp/t.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "-t on conf/echod.ini: exit $rc: $(cat "$tmp/t.out")"
grep -q '^configuration OK' "$tmp/t.out" || fail "-t on conf/echod.ini printed: $(cat "$tmp/t.out")"

# Every active bind is on loopback (no root, nothing exposed).
grep -E '^[[:space:]]*bind[[:space:]]*=' "$SAMPLE" | sed 's/^[^=]*=[[:space:]]*//' |
    tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' >"$tmp/binds"
[ -s "$tmp/binds" ] || fail "conf/echod.ini has no active bind"
while read -r b; do
	case $b in
	127.*:[0-9]*|"[::1]:"[0-9]*|unix:*) ;;
	*) fail "conf/echod.ini binds a non-loopback address: $b" ;;
	esac
done <"$tmp/binds"

# The same file on kernel-chosen ports must serve every RFC service.
sed -E '/^[[:space:]]*bind[[:space:]]*=/ s/(127\.[0-9.]+|\[::1\]):[0-9]+/\1:0/g' "$SAMPLE" >"$tmp/sample.ini"
grep -q 'unix:' "$tmp/binds" && sed -i -E "/^[[:space:]]*bind[[:space:]]*=/ s|unix:[^ ,]*|unix:$tmp/sample.sock|" "$tmp/sample.ini"
start_echod "$tmp/sample.ini"
for svc in echo discard chargen daytime time; do
	grep -q -E "listening listener=[^ ]+ service=$svc addr=" "$ECHOD_LOG" ||
	    fail "conf/echod.ini does not serve $svc"
done
a=$(sed -n 's/.* listening listener=[^ ]* service=echo addr=\(127[^ ]*\).*/\1/p' "$ECHOD_LOG" | head -n 1)
[ -n "$a" ] || fail "no IPv4 echo listener in conf/echod.ini"
tclient rtt "${a%:*}" "${a##*:}" 3 >/dev/null || fail "the sample's echo listener does not echo"
stop_echod
note ok
