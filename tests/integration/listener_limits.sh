# listener_limits.sh: at max_connections (per listener, then the global [server]
# limit) the listener pauses: a new client's TCP connect succeeds (backlog)
# but it gets no service until a slot frees, then the listener resumes.
. "$(dirname "$0")/lib.sh"

cat >"$tmp/echod.ini" <<INI
[server]
max_connections = 3
shutdown_timeout = 5s

[log]
level = info
connections = yes

[listener lim]
bind = 127.0.0.1:0
service = echo
max_connections = 2

[listener g1]
bind = 127.0.0.1:0
service = echo

[listener g2]
bind = 127.0.0.1:0
service = echo
INI
start_echod "$tmp/echod.ini"
PL=$(port_of lim) || fail "no port for lim"
P1=$(port_of g1) || fail "no port for g1"
P2=$(port_of g2) || fail "no port for g2"

# holder NAME PORT: a client that echoes once and then holds its slot.
holder()
{
	spawn tclient hold -e 127.0.0.1 "$2" 30 >"$tmp/$1.out" 2>&1
	eval "PID_$1=\$SPAWN_PID"
	wait_file_grep 'answered' 10 "$tmp/$1.out" || fail "$1 was not served: $(cat "$tmp/$1.out")"
}

# waiter NAME PORT: a client that connects and waits (up to 20 s) for its echo.
waiter()
{
	spawn tclient hold -e -q 127.0.0.1 "$2" 20 >"$tmp/$1.out" 2>&1
	eval "PID_$1=\$SPAWN_PID"
	wait_file_grep 'connected' 10 "$tmp/$1.out" ||
	    fail "$1: TCP connect did not succeed while paused: $(cat "$tmp/$1.out")"
}

# still_waiting NAME: no echo for a second.
still_waiting()
{
	sleep 1
	grep -q 'answered' "$tmp/$1.out" && fail "$1 was served beyond max_connections"
	return 0
}

# release NAME: end a holder; its slot frees.
release()
{
	local pid

	eval "pid=\$PID_$1"
	kill -TERM "$pid"
	wait_exit "$pid" 5 || fail "$1 did not exit"
}

# served NAME: the waiter got its echo and exited 0.
served()
{
	local pid

	eval "pid=\$PID_$1"
	wait_exit "$pid" 15 || fail "$1 still waiting after a slot was freed"
	[ "$WAIT_STATUS" -eq 0 ] || fail "$1 was not served after a slot was freed: $(cat "$tmp/$1.out")"
}

# ---- per-listener limit: 2 on lim.
holder a "$PL"
holder b "$PL"
expect_log 'listener=lim paused reason=max_connections'
waiter c "$PL"
still_waiting c
# Other listeners are not paused by lim's own limit (2 of 3 global slots used).
tclient rtt 127.0.0.1 "$P1" 3 >/dev/null || fail "g1 not served while lim is paused"
release a
expect_log 'listener=lim resumed'
served c
release b

# ---- global limit: 3 over every listener.
wait_log_count ' close listener=' 4 10 || fail "connections of the first part not closed"
holder x "$P1"
holder y "$P2"
holder z "$PL"
expect_log 'listener=g1 paused reason=(server_)?max_connections'
expect_log 'listener=g2 paused reason=(server_)?max_connections'
waiter w "$P1"
still_waiting w
release y
expect_log 'listener=g1 resumed'
served w
release x
release z

no_log ' (error|critical) '
stop_echod
note ok
