# sd_units.sh: the systemd unit files. `systemd-analyze verify` on copies
# whose ExecStart= points at the built daemon (the installed paths need not
# exist yet), `systemd-analyze security --offline=yes` on the service with
# an exposure of 2.0 or lower (the score is printed in the test log), and
# the shape of both units: notify protocol, reload by SIGHUP, the watchdog,
# the hardening the daemon relies on, and the five classic ports.
. "$(dirname "$0")/lib.sh"

have_cmd systemd-analyze || skip "systemd-analyze not installed (package systemd)"
SERVICE_IN=$top_srcdir/systemd/echod.service.in
SOCKET=$top_srcdir/systemd/echod.socket
[ -f "$SERVICE_IN" ] && [ -f "$SOCKET" ] || fail "unit files missing in $top_srcdir/systemd"

mkdir -p "$tmp/units" "$tmp/etc/echod"
cp "$top_srcdir/conf/echod.ini" "$tmp/etc/echod/echod.ini"
sed -e "s|@sbindir@/echod|$ECHOD|g" -e "s|@sysconfdir@|$tmp/etc|g" "$SERVICE_IN" \
    >"$tmp/units/echod.service"
cp "$SOCKET" "$tmp/units/echod.socket"
grep -q '@[a-z]*@' "$tmp/units/echod.service" &&
    fail "unsubstituted placeholder: $(grep '@[a-z]*@' "$tmp/units/echod.service")"

# The sample config the unit starts with is valid.
"$ECHOD" -t -c "$tmp/etc/echod/echod.ini" >"$tmp/t.out" 2>&1 ||
    fail "echod -t on the shipped config: $(cat "$tmp/t.out")"

# verify: syntax, unknown settings, the executables exist.
if ! systemd-analyze verify --man=no "$tmp/units/echod.service" "$tmp/units/echod.socket" \
    >"$tmp/verify.out" 2>&1; then
	if grep -q -E 'Failed to (initialize|set up) manager|Operation not permitted' "$tmp/verify.out"; then
		skip "systemd-analyze verify cannot run here: $(head -n 1 "$tmp/verify.out")"
	fi
	fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
fi
[ -s "$tmp/verify.out" ] && fail "systemd-analyze verify complained: $(cat "$tmp/verify.out")"

# The shape the daemon relies on.
unit_has()
{
	grep -q -x -- "$1" "$tmp/units/$2" || fail "$2 lacks '$1'"
}
unit_has 'Type=notify' echod.service
unit_has 'NotifyAccess=main' echod.service
unit_has 'ExecReload=/bin/kill -HUP $MAINPID' echod.service
unit_has "ExecStart=$ECHOD -f -c $tmp/etc/echod/echod.ini" echod.service
grep -q -E '^WatchdogSec=[1-9]' "$tmp/units/echod.service" || fail "no WatchdogSec="
for s in 'DynamicUser=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'ProtectKernelTunables=yes' \
    'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' \
    'RestrictNamespaces=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes' 'LockPersonality=yes' \
    'RuntimeDirectory=echod'; do
	unit_has "$s" echod.service
done
nofile=$(sed -n 's/^LimitNOFILE=//p' "$tmp/units/echod.service")
maxconn=$(sed -n 's/^;*max_connections = \([0-9]*\)$/\1/p' "$top_srcdir/conf/echod.ini" | head -n 1)
[ -n "$nofile" ] && [ -n "$maxconn" ] && [ "$nofile" -ge $((maxconn + 64)) ] ||
    fail "LimitNOFILE=$nofile does not fit max_connections=$maxconn + 64"
ports=$(sed -n 's/^ListenStream=//p' "$tmp/units/echod.socket" | tr '\n' ' ')
[ "$ports" = "7 9 13 19 37 " ] || fail "echod.socket listens on '$ports'"

# security: the exposure score, offline (no running systemd needed).
if systemd-analyze security --offline=yes "$tmp/units/echod.service" >"$tmp/security.out" 2>&1; then
	score=$(sed -n 's/.*Overall exposure level for echod.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
	[ -n "$score" ] || fail "no exposure score in: $(tail -n 3 "$tmp/security.out")"
	note "systemd-analyze security exposure: $score"
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
	    fail "exposure $score is above 2.0: $(grep '✗' "$tmp/security.out")"
elif grep -q -i -E 'unrecognized option|unknown option' "$tmp/security.out"; then
	note "systemd-analyze has no --offline (systemd < 250): security score not checked"
else
	fail "systemd-analyze security: $(tail -n 5 "$tmp/security.out")"
fi
