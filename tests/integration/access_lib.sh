# access_lib.sh: helpers of the tests of who may connect and what a
# connection may do (access_*.sh, conn_*.sh, command_access.sh, proxy_*.sh),
# sourced after lib.sh. Clients come from several loopback addresses
# (127.0.0.2, 127.0.0.3, ...: all of 127/8 is the loopback interface) with
# tclient -b; the daemon is read through its admin console on a unix socket.

have_cmd nc || skip "nc not installed"
nc -h 2>&1 | grep -q -E -- '-U[[:space:]]' || skip "nc without unix sockets (-U)"

ADMIN_SOCK=$tmp/admin.sock

# The system python (a version manager's shim may take seconds to start).
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3 || true)
fi
PROXY_CLIENT=$top_srcdir/tests/integration/proxy_client.py

# admin_section: the admin console on $ADMIN_SOCK, for an ini file.
admin_section()
{
	printf '[listener admin]\nbind = unix:%s\nservice = admin\n\n' "$ADMIN_SOCK"
}

# admin CMD...: one console command; its answer without CRs.
admin()
{
	printf '%s\n' "$*" | timeout 10 nc -N -U "$ADMIN_SOCK" | tr -d '\r'
}

# stat SAMPLE: the value of one STATS sample, exactly as written
# ('sources_tracked', 'connections_rejected_total{listener="a",...}'); empty if none.
stat()
{
	admin "STATS ${1%%\{*}" | awk -v s="$1" 'index($0, s "=") == 1 { print substr($0, length(s) + 2) }'
}

# rejected LISTENER SERVICE REASON: connections_rejected_total of one listener and reason.
rejected()
{
	stat "connections_rejected_total{listener=\"$1\",service=\"$2\",reason=\"$3\"}"
}

# expect_stat SAMPLE WANT: the sample has this value (waits up to 5 s: counters
# of a connection that is closing may lag its client by a loop turn).
expect_stat()
{
	local es_sample=$1 es_want=$2

	wait_until 5 '[ "$(stat "$es_sample")" = "$es_want" ]' ||
	    fail "$1 = '$(stat "$1")', expected $2"
}

# served SOURCE PORT: a ping through echo from SOURCE comes back (exit 0);
# 1 when the connection is closed without an answer.
served()
{
	"$TCLIENT" -T 10 -b "$1" hold -e -q 127.0.0.1 "$2" 5 >/dev/null 2>&1
}

# expect_served SOURCE PORT / expect_refused SOURCE PORT
expect_served()
{
	served "$1" "$2" || fail "a client from $1 was not served on port $2"
}

expect_refused()
{
	served "$1" "$2" && fail "a client from $1 was served on port $2"
	return 0
}

# hold_from SOURCE PORT SECONDS: a connection from SOURCE that stays open (a
# ping answered first, so it is known to be admitted); its PID in HOLD_PID.
hold_from()
{
	local out=$tmp/hold.$1.$2.$$.$(date +%s%N)

	spawn "$TCLIENT" -T 60 -b "$1" hold -e 127.0.0.1 "$2" "$3" >"$out" 2>&1
	HOLD_PID=$SPAWN_PID
	wait_file_grep '^hold: (answered|no-answer)' 10 "$out" || fail "hold from $1: no answer"
	grep -q '^hold: answered' "$out" || fail "hold from $1 was refused: $(cat "$out")"
}

# stop_pid PID: end a spawned client and reap it.
stop_pid()
{
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# log_sum KEY PATTERN: the sum of KEY=N over the log lines matching PATTERN.
log_sum()
{
	grep -E -- "$2" "$ECHOD_LOG" | tr ' ' '\n' | sed -n "s/^$1=\([0-9]*\)$/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}

# burst PORT:SOURCE...: one connection each, opened back to back by one
# process (so that a token bucket sees them at once, however slow the
# machine), then a ping on each; prints one character per connection, in
# order: 1 answered, 0 refused.
burst()
{
	"$PYTHON" -c '
import socket, sys
socks = []
for item in sys.argv[1:]:
    port, src = item.split(":", 1)
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect(("127.0.0.1", int(port)))
    socks.append(s)
for s in socks:
    try:
        s.sendall(b"ping\n")
    except OSError:
        pass
out = ""
for s in socks:
    try:
        got = s.recv(16)
    except OSError:
        got = b""
    out += "1" if got == b"ping\n" else "0"
    s.close()
print(out)
' "$@"
}

# ones STRING: how many 1s.
ones()
{
	printf '%s' "$1" | tr -cd 1 | wc -c
}
