# admin_remote.sh: the admin console belongs on a unix socket (created 0600
# unless unix_mode says otherwise). A TCP bind, even loopback, is refused
# (at -t, at start-up and on reload) unless allow_tcp = yes with an
# auth_token_file; a non-loopback address also needs allow_remote = yes.
# Over TCP every session must start with AUTH <token>: a wrong or missing
# token closes it. Admin connections never wait for [server]
# max_connections: with every slot taken, STATS and KILL still work.
. "$(dirname "$0")/lib.sh"

have_cmd nc || skip "nc not installed"

# admin_ini FILE BIND [EXTRA...]: a config with an echo and an admin listener.
admin_ini()
{
	f=$1 b=$2
	shift 2
	{
		printf '[server]\nmax_connections = 3\nshutdown_timeout = 3s\n\n'
		printf '[log]\nconnections = yes\n\n'
		printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\n\n'
		printf '[listener admin]\nbind = %s\nservice = admin\n' "$b"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$f"
}

# refused FILE SPEC WANT: -t exits 78 and names the bind's line.
refused()
{
	"$ECHOD" -t -c "$1" >"$tmp/t.out" 2>&1
	rc=$?
	[ "$rc" -eq 78 ] || fail "-t with admin on $2 exited $rc, expected 78: $(cat "$tmp/t.out")"
	grep -q -F "[listener admin] bind: $3, got '$2'" "$tmp/t.out" ||
	    fail "no refusal message for $2: $(cat "$tmp/t.out")"
}

printf 'correct-horse-battery-staple\n' >"$tmp/token"
chmod 600 "$tmp/token"
notcp='expected a unix socket for the admin console (a TCP bind needs allow_tcp = yes and auth_token_file)'
remote='expected a unix socket or a loopback address for the admin console (or allow_remote = yes)'

# TCP without the opt-in and the token: refused, loopback included.
for spec in 127.0.0.1:0 '[::1]:0' 0.0.0.0:0 '*:0'; do
	admin_ini "$tmp/a.ini" "$spec"
	refused "$tmp/a.ini" "$spec" "$notcp"
done
admin_ini "$tmp/a.ini" 127.0.0.1:0 "allow_tcp = yes"
refused "$tmp/a.ini" 127.0.0.1:0 "$notcp"
admin_ini "$tmp/a.ini" 127.0.0.1:0 "auth_token_file = $tmp/token"
refused "$tmp/a.ini" 127.0.0.1:0 "$notcp"
# Non-loopback: allow_remote as well.
admin_ini "$tmp/a.ini" 0.0.0.0:0 "allow_tcp = yes" "auth_token_file = $tmp/token"
refused "$tmp/a.ini" 0.0.0.0:0 "$remote"
admin_ini "$tmp/a.ini" 0.0.0.0:0 "allow_tcp = yes" "auth_token_file = $tmp/token" "allow_remote = yes"
"$ECHOD" -t -c "$tmp/a.ini" >"$tmp/t.out" 2>&1 || fail "remote with every opt-in refused: $(cat "$tmp/t.out")"
# A token file others can read, or a short token, is refused.
chmod 644 "$tmp/token"
admin_ini "$tmp/a.ini" 127.0.0.1:0 "allow_tcp = yes" "auth_token_file = $tmp/token"
"$ECHOD" -t -c "$tmp/a.ini" >"$tmp/t.out" 2>&1 && fail "a world-readable token file was accepted"
grep -q 'auth_token_file: expected a regular file only its owner can read' "$tmp/t.out" ||
    fail "no message for the token file's mode: $(cat "$tmp/t.out")"
chmod 600 "$tmp/token"
printf 'short\n' >"$tmp/short"
chmod 600 "$tmp/short"
admin_ini "$tmp/a.ini" 127.0.0.1:0 "allow_tcp = yes" "auth_token_file = $tmp/short"
"$ECHOD" -t -c "$tmp/a.ini" >"$tmp/t.out" 2>&1 && fail "a 5-character token was accepted"
# Start-up is refused too (the same validation).
admin_ini "$tmp/a.ini" 127.0.0.1:0
"$ECHOD" -f -c "$tmp/a.ini" >"$tmp/start.out" 2>&1
rc=$?
[ "$rc" -eq 78 ] || fail "start with a TCP admin bind exited $rc, expected 78"
# allow_remote on another service loads, with a warning, and changes nothing.
printf '[listener e]\nbind = 127.0.0.1:0\nservice = echo\nallow_remote = yes\n' >"$tmp/ok4.ini"
"$ECHOD" -t -c "$tmp/ok4.ini" >"$tmp/t.out" 2>&1 || fail "allow_remote on echo refused"
grep -q 'warning: .*allow_remote: not an option of service echo; ignored' "$tmp/t.out" ||
    fail "no warning for allow_remote on echo: $(cat "$tmp/t.out")"

# Over TCP with the token: AUTH first, then the console works.
admin_ini "$tmp/echod.ini" 127.0.0.1:0 "allow_tcp = yes" "auth_token_file = $tmp/token"
start_echod "$tmp/echod.ini"
AP=$(port_of admin) || fail "no admin port"
EP=$(port_of echo) || fail "no echo port"
printf 'AUTH correct-horse-battery-staple\nSTATS debug_\n' | timeout 10 nc -N 127.0.0.1 "$AP" |
    tr -d '\r' >"$tmp/ok.out"
grep -q '^+OK authenticated$' "$tmp/ok.out" || fail "AUTH with the token: $(cat "$tmp/ok.out")"
grep -q '^debug_mode=0$' "$tmp/ok.out" || fail "STATS after AUTH: $(cat "$tmp/ok.out")"
printf 'STATS\n' | timeout 10 nc -N 127.0.0.1 "$AP" | tr -d '\r' >"$tmp/no.out"
grep -q '^-ERR authentication required' "$tmp/no.out" || fail "STATS without AUTH: $(cat "$tmp/no.out")"
grep -q 'debug_mode' "$tmp/no.out" && fail "STATS answered without AUTH"
printf 'AUTH correct-horse-battery-stapler\nSTATS\n' | timeout 10 nc -N 127.0.0.1 "$AP" |
    tr -d '\r' >"$tmp/bad.out"
grep -q '^-ERR authentication failed' "$tmp/bad.out" || fail "a wrong token: $(cat "$tmp/bad.out")"
grep -q 'debug_mode' "$tmp/bad.out" && fail "STATS answered after a wrong token"
expect_log 'admin auth failed'
expect_log 'close listener=admin .*reason=auth-failed'

# The operator is never locked out: fill max_connections (3) from one address.
for i in 1 2 3; do
	spawn tclient hold 127.0.0.1 "$EP" 20 >/dev/null 2>&1
done
wait_log_count 'open listener=echo' 3 || fail "the 3 echo connections did not open"
expect_log 'listener=echo paused reason=server_max_connections'
printf 'AUTH correct-horse-battery-staple\nCONNS\n' | timeout 10 nc -N 127.0.0.1 "$AP" |
    tr -d '\r' >"$tmp/conns.out"
id=$(sed -n 's/^conn=\([0-9]*\) listener=echo .*/\1/p' "$tmp/conns.out" | head -n 1)
[ -n "$id" ] || fail "CONNS with every slot taken: $(cat "$tmp/conns.out")"
printf 'AUTH correct-horse-battery-staple\nKILL %s\n' "$id" | timeout 10 nc -N 127.0.0.1 "$AP" |
    tr -d '\r' | grep -q "^+OK killed conn=$id$" || fail "KILL with every slot taken"
expect_log "conn=$id close listener=echo .*reason=admin-kill"
stop_echod

# A unix-socket console is created 0600 unless unix_mode says otherwise.
if nc -h 2>&1 | grep -q -E -- '-U[[:space:]]'; then
	admin_ini "$tmp/echod.ini" "unix:$tmp/admin.sock"
	start_echod "$tmp/echod.ini"
	mode=$(stat -c %a "$tmp/admin.sock")
	[ "$mode" = 600 ] || fail "admin socket mode $mode, expected 600"
	# Reload: moving the running console to TCP is refused, the old one stays.
	admin_ini "$tmp/echod.ini" 0.0.0.0:0
	kill -HUP "$ECHOD_PID"
	expect_log "reload failed errors=1"
	expect_log "config error: .*\[listener admin\] bind: expected a unix socket for the admin console"
	printf 'DEBUG\n' | timeout 10 nc -N -U "$tmp/admin.sock" | grep -q '^debug=off' ||
	    fail "the admin console stopped answering after the refused reload"
	stop_echod
fi
note ok
