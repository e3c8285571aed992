# admin_remote.sh: an admin console bound to a TCP address other than
# loopback is refused (at -t, at start-up and on reload) unless
# allow_remote = yes; unix sockets and loopback are accepted.
. "$(dirname "$0")/lib.sh"

# admin_ini FILE BIND [EXTRA]: a config with an echo and an admin listener.
admin_ini()
{
	cat >"$1" <<INI
[listener echo]
bind = 127.0.0.1:0
service = echo

[listener admin]
bind = $2
service = admin
${3:-}
INI
}

want='bind: expected a unix socket or a loopback address for the admin console (or allow_remote = yes)'

for spec in 0.0.0.0:0 '*:0' '[::]:0'; do
	admin_ini "$tmp/remote.ini" "$spec"
	"$ECHOD" -t -c "$tmp/remote.ini" >"$tmp/t.out" 2>&1
	rc=$?
	[ "$rc" -eq 78 ] || fail "-t with admin on $spec exited $rc, expected 78: $(cat "$tmp/t.out")"
	grep -q -F "remote.ini:6: [listener admin] $want, got '$spec'" "$tmp/t.out" ||
	    fail "no refusal message for $spec: $(cat "$tmp/t.out")"
done

# Start-up is refused too (the same validation).
admin_ini "$tmp/remote.ini" 0.0.0.0:0
"$ECHOD" -f -c "$tmp/remote.ini" >"$tmp/start.out" 2>&1
rc=$?
[ "$rc" -eq 78 ] || fail "start with a remote admin bind exited $rc, expected 78"

# Accepted: allow_remote = yes, loopback, unix.
admin_ini "$tmp/ok1.ini" 0.0.0.0:0 "allow_remote = yes"
"$ECHOD" -t -c "$tmp/ok1.ini" >"$tmp/t.out" 2>&1 || fail "allow_remote = yes refused: $(cat "$tmp/t.out")"
admin_ini "$tmp/ok2.ini" 127.0.0.1:0
"$ECHOD" -t -c "$tmp/ok2.ini" >"$tmp/t.out" 2>&1 || fail "loopback admin refused: $(cat "$tmp/t.out")"
admin_ini "$tmp/ok3.ini" "[::1]:0"
"$ECHOD" -t -c "$tmp/ok3.ini" >"$tmp/t.out" 2>&1 || fail "[::1] admin refused: $(cat "$tmp/t.out")"
# allow_remote on another service is accepted and changes nothing.
printf '[listener e]\nbind = 127.0.0.1:0\nservice = echo\nallow_remote = yes\n' >"$tmp/ok4.ini"
"$ECHOD" -t -c "$tmp/ok4.ini" >"$tmp/t.out" 2>&1 || fail "allow_remote on echo refused"

# Reload: moving the running console to 0.0.0.0 is refused, the old one stays.
admin_ini "$tmp/echod.ini" "unix:$ADMIN" "unix_mode = 0600"
start_echod "$tmp/echod.ini"
admin_ini "$tmp/echod.ini" 0.0.0.0:0
kill -HUP "$ECHOD_PID"
expect_log "reload failed errors=1"
expect_log "config error: .*\[listener admin\] bind: expected a unix socket or a loopback address for the admin console"
if have_nc_unix; then
	admin DEBUG | grep -q '^debug=off' ||
	    fail "the admin console stopped answering after the refused reload"
fi
stop_echod
note ok
