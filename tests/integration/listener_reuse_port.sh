# listener_reuse_port.sh: two echod processes on one port with reuse_port = yes,
# the way systemd/echod@.service runs one per core. Both serve; a graceful
# stop of one loses no connection:
#
#  - connections the kernel had already queued on the stopping instance's
#    socket (it is paused at max_connections, so they wait there) are
#    accepted before the socket closes and answered byte-exact, where Linux
#    would otherwise reset them (net.ipv4.tcp_migrate_req = 0);
#  - echo sessions running in a loop through the stop all complete
#    byte-exact with tcp_migrate_req = 1. With 0, a handshake that completes
#    in the microseconds between the last accept and the close is still
#    reset; that loop's figures are printed, not asserted.
#
# Everything runs in a network namespace of its own (unshare --net, which
# needs root), where the sysctl can be set without touching the host and
# which disappears with the test's processes. Skipped (77) without root or
# namespaces, as in an unprivileged container.
: "${TEST_TIMEOUT:=150}"

if [ -z "${ECHOD_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 ||
	    ! command -v ip >/dev/null 2>&1 || ! unshare --net true 2>/dev/null; then
		echo "SKIP: listener_reuse_port: needs root, unshare and ip for a network namespace"
		exit 77
	fi
	ECHOD_NETNS=1
	export ECHOD_NETNS
	exec unshare --net -- sh -c 'ip link set lo up && exec sh "$0"' "$0"
fi

. "$(dirname "$0")/lib.sh"

have_cmd ss || skip "ss not installed (package iproute2)"
MIGRATE=/proc/sys/net/ipv4/tcp_migrate_req

# conf NAME PORT MAXCONN: an echo listener sharing PORT, an admin socket.
conf()
{
	cat >"$tmp/$1.ini" <<INI
[server]
shutdown_timeout = 20s

[log]
level = info

[listener echo]
bind = 127.0.0.1:$2
service = echo
reuse_port = yes
max_connections = $3

[listener admin]
bind = unix:$tmp/$1.sock
service = admin
INI
}

admin()
{
	printf '%s\n' "$2" | timeout 10 nc -N -U "$tmp/$1.sock" | tr -d '\r'
}

# stat_of NAME FAMILY: one value from the instance's STATS (listener echo).
stat_of()
{
	admin "$1" "STATS $2" | sed -n "s/^$2{listener=\"echo\",service=\"echo\"}=//p"
}

# start NAME PORT MAXCONN: an instance; its PID and log in NAME_PID, NAME_LOG.
start()
{
	conf "$1" "$2" "$3"
	start_echod "$tmp/$1.ini"
	eval "$1_PID=\$ECHOD_PID $1_LOG=\$ECHOD_LOG"
}

# stop NAME: SIGTERM, exit status 0 (stop_echod works on ECHOD_PID/LOG).
stop()
{
	eval "ECHOD_PID=\$$1_PID ECHOD_LOG=\$$1_LOG"
	stop_echod 25
}

# queued PID: connections waiting in the accept queue of that process's
# socket on port P (Recv-Q of a listening socket).
queued()
{
	ss -H -l -t -n -p "sport = :$P" | grep "pid=$1," | awk '{ n += $2 } END { print n + 0 }'
}

# loops SECONDS: four echo-loop clients from 127.0.0.2-5 in the background.
loops()
{
	LOOPS=
	for i in 2 3 4 5; do
		spawn tclient -b "127.0.0.$i" echo-loop -b 2000 127.0.0.1 "$P" "$1" \
		    >"$tmp/loop.$M.$i.out" 2>&1
		LOOPS="$LOOPS $SPAWN_PID"
	done
}

# loops_wait: every loop ended; their summary lines in LOOPS_OUT.
loops_wait()
{
	for p in $LOOPS; do
		wait_exit "$p" 30 || fail "echo-loop still running"
	done
	LOOPS_OUT=$(grep -h '^echo-loop: ' "$tmp"/loop."$M".*.out | grep -v started)
	note "migrate=$M: $(printf '%s\n' "$LOOPS_OUT" | grep -c 'sessions=') loops:" \
	    "$(printf '%s\n' "$LOOPS_OUT" | sed -n 's/.* sessions=\([0-9]*\) .* ok=\([0-9]*\) refused=\([0-9]*\) reset=\([0-9]*\) cut=\([0-9]*\) .*/\1 sessions, \2 ok, \3 refused, \4 reset, \5 cut;/p' | tr '\n' ' ')"
}

phase()
{
	M=$1
	echo "$M" >"$MIGRATE" || fail "cannot set tcp_migrate_req=$M in the namespace"

	# ---- 1: both instances serve the one port.
	start a 0 2
	P=$(port_of echo) || fail "no echo port"
	start b "$P" 0
	expect_log "listening listener=echo service=echo addr=127\\.0\\.0\\.1:$P"
	loops 1
	loops_wait
	printf '%s\n' "$LOOPS_OUT" | grep -q -v ' ok sessions=' && fail "migrate=$M: $LOOPS_OUT"
	na=$(stat_of a connections_total)
	nb=$(stat_of b connections_total)
	note "migrate=$M: instance a served $na connections, b $nb"
	[ "${na:-0}" -gt 0 ] && [ "${nb:-0}" -gt 0 ] || fail "not both served: a=$na b=$nb"

	# ---- 2: a holds two idle connections (its max_connections), so the
	# kernel's share of new connections waits in a's queue; at SIGTERM a
	# accepts them before closing and answers each one.
	tries=0
	while [ "$(stat_of a connections_open)" != 2 ]; do
		tries=$((tries + 1))
		[ "$tries" -le 60 ] || fail "no two connections on instance a after 60 tries"
		spawn tclient -b 127.0.0.9 hold 127.0.0.1 "$P" 60 >"$tmp/hold.$M.$tries.out" 2>&1
		wait_file_grep '^hold: connected' 10 "$tmp/hold.$M.$tries.out" || fail "hold $tries"
		sleep 0.1
	done
	spawn tclient concurrent 127.0.0.1 "$P" 40 1500 >"$tmp/conc.$M.out" 2>&1
	CONC=$SPAWN_PID
	wait_until 5 '[ "$(queued "$a_PID")" -ne 0 ] || ! proc_alive "$CONC"' ||
	    fail "no connection waits in instance a's queue"
	[ "$(queued "$a_PID")" -ne 0 ] ||
	    fail "every connection was served at once: $(cat "$tmp/conc.$M.out")"
	sleep 0.3
	q=$(queued "$a_PID")
	proc_alive "$CONC" || fail "the concurrent client ended with connections queued"
	stop a
	wait_exit "$CONC" 20 || fail "concurrent client still running"
	[ "$WAIT_STATUS" -eq 0 ] || fail "migrate=$M: of $q connections queued on instance a" \
	    "at SIGTERM, some were lost: $(cat "$tmp/conc.$M.out")"
	grep -q '^concurrent: ok connections=40 ' "$tmp/conc.$M.out" ||
	    fail "concurrent: $(cat "$tmp/conc.$M.out")"
	drained=$(sed -n 's/.*listener=echo .* reuse_port drained=\([0-9]*\) left=.*/\1/p' "$a_LOG")
	note "migrate=$M: $q connections queued on instance a at SIGTERM, drained=$drained"
	[ "${drained:-0}" -ge "$q" ] || fail "a drained $drained of $q queued connections"
	# The idle ones owed nothing: closed cleanly, never reset.
	grep -h 'peer-closed' "$tmp"/hold."$M".*.out | grep -v -q 'eof=clean' &&
	    fail "an idle connection of a was reset: $(grep -h peer-closed "$tmp"/hold."$M".*.out)"

	# ---- 3: a graceful stop in the middle of four echo loops.
	start a "$P" 0
	loops 2
	sleep 0.7
	stop a
	grep -q 'listener=echo .* reuse_port drained=' "$a_LOG" || fail "no drain line in a's log"
	loops_wait
	printf '%s\n' "$LOOPS_OUT" | grep -q ' refused=[1-9]' && fail "migrate=$M: refused: $LOOPS_OUT"
	if [ "$M" = 1 ]; then
		printf '%s\n' "$LOOPS_OUT" | grep -q -v ' ok sessions=' &&
		    fail "migrate=1: sessions lost through the stop: $LOOPS_OUT"
	fi
	stop b
}

[ -w "$MIGRATE" ] || skip "no $MIGRATE (Linux before 5.14)"
phase 0
phase 1
