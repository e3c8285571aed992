# sd_units.sh: the systemd unit files. `systemd-analyze verify` on copies
# whose ExecStart= points at the built daemon (the installed paths need not
# exist yet), `systemd-analyze security --offline=yes` on the services with
# an exposure of 2.0 or lower (the scores are printed in the test log), and
# the shape of the units: notify protocol, reload by SIGHUP, the watchdog,
# the hardening the daemon relies on, and the five classic ports. The
# template echod@.service is checked as its instance echod@0.service: one
# user for every instance (SO_REUSEPORT needs it), its own config, runtime
# directory and CPU; the per-instance configuration its comment shows passes
# echod -t.
. "$(dirname "$0")/lib.sh"

have_cmd systemd-analyze || skip "systemd-analyze not installed (package systemd)"
SERVICE_IN=$top_srcdir/systemd/echod.service.in
TEMPLATE_IN=$top_srcdir/systemd/echod@.service.in
SOCKET=$top_srcdir/systemd/echod.socket
[ -f "$SERVICE_IN" ] && [ -f "$TEMPLATE_IN" ] && [ -f "$SOCKET" ] ||
    fail "unit files missing in $top_srcdir/systemd"

mkdir -p "$tmp/units" "$tmp/etc/echod"
cp "$top_srcdir/conf/echod.ini" "$tmp/etc/echod/echod.ini"
sed -e "s|@sbindir@/echod|$ECHOD|g" -e "s|@sysconfdir@|$tmp/etc|g" "$SERVICE_IN" \
    >"$tmp/units/echod.service"
sed -e "s|@sbindir@/echod|$ECHOD|g" -e "s|@sysconfdir@|$tmp/etc|g" "$TEMPLATE_IN" \
    >"$tmp/units/echod@.service"
ln -s echod@.service "$tmp/units/echod@0.service"
cp "$SOCKET" "$tmp/units/echod.socket"
grep -q '@[a-z]*@' "$tmp/units/echod.service" "$tmp/units/echod@.service" &&
    fail "unsubstituted placeholder: $(grep '@[a-z]*@' "$tmp/units/echod.service" "$tmp/units/echod@.service")"

# The sample config the unit starts with is valid.
"$ECHOD" -t -c "$tmp/etc/echod/echod.ini" >"$tmp/t.out" 2>&1 ||
    fail "echod -t on the shipped config: $(cat "$tmp/t.out")"
# So is the instance's, as the template's comment writes it (the indented
# lines from "for example:" to "Start one instance").
sed -n '/for example:$/,/^# Start one instance/s/^#   //p' "$tmp/units/echod@.service" >"$tmp/etc/echod/echod@0.ini"
grep -q -x 'reuse_port = yes' "$tmp/etc/echod/echod@0.ini" ||
    fail "no per-instance example in echod@.service: $(cat "$tmp/etc/echod/echod@0.ini")"
"$ECHOD" -t -c "$tmp/etc/echod/echod@0.ini" >"$tmp/t0.out" 2>&1 ||
    fail "echod -t on echod@.service's example: $(cat "$tmp/t0.out")"

# verify: syntax, unknown settings, the executables exist.
if ! systemd-analyze verify --man=no "$tmp/units/echod.service" "$tmp/units/echod.socket" \
    "$tmp/units/echod@0.service" >"$tmp/verify.out" 2>&1; then
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

# The template: the same protocol and hardening, one user for all instances,
# each with its own config file, runtime directory (admin socket, pidfile)
# and CPU.
unit_has "ExecStart=$ECHOD -f -c $tmp/etc/echod/echod@%i.ini" echod@.service
unit_has "ExecStartPre=$ECHOD -t -c $tmp/etc/echod/echod@%i.ini" echod@.service
for s in 'Type=notify' 'NotifyAccess=main' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'DynamicUser=yes' 'User=echod' 'Group=echod' 'RuntimeDirectory=echod-%i' 'CPUAffinity=%i'; do
	unit_has "$s" echod@.service
done
grep -q -E '^WatchdogSec=[1-9]' "$tmp/units/echod@.service" || fail "echod@.service: no WatchdogSec="
# Every hardening line of echod.service is in the template too.
sed -n '/^NoNewPrivileges=/,/^SystemCallErrorNumber=/p' "$tmp/units/echod.service" >"$tmp/hard.txt"
[ -s "$tmp/hard.txt" ] || fail "no hardening block in echod.service"
while IFS= read -r line; do
	case $line in
	'' | '#'*) continue ;;
	esac
	unit_has "$line" echod@.service
done <"$tmp/hard.txt"
[ "$(sed -n 's/^LimitNOFILE=//p' "$tmp/units/echod@.service")" = "$nofile" ] ||
    fail "echod@.service: LimitNOFILE differs from echod.service"

# security: the exposure score, offline (no running systemd needed).
for u in echod.service echod@0.service; do
	if systemd-analyze security --offline=yes "$tmp/units/$u" >"$tmp/security.out" 2>&1; then
		score=$(sed -n "s/.*Overall exposure level for $u: \\([0-9.]*\\).*/\\1/p" "$tmp/security.out")
		[ -n "$score" ] || fail "$u: no exposure score in: $(tail -n 3 "$tmp/security.out")"
		note "systemd-analyze security exposure of $u: $score"
		awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
		    fail "$u: exposure $score is above 2.0: $(grep '✗' "$tmp/security.out")"
	elif grep -q -i -E 'unrecognized option|unknown option' "$tmp/security.out"; then
		note "systemd-analyze has no --offline (systemd < 250): security score not checked"
		break
	else
		fail "systemd-analyze security $u: $(tail -n 5 "$tmp/security.out")"
	fi
done
