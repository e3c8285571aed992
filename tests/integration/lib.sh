# lib.sh: shared helpers of the integration tests, sourced by every
# <feature>_<what>.sh.
#
# POSIX sh. Each test gets a temporary directory (removed on exit), starts the
# real daemon with `start_echod INI` on kernel-chosen loopback ports, reads the
# actual ports from its log (`port_of NAME`), drives it with tclient, nc and
# socat, and stops it with `stop_echod`, which asserts a clean exit. On exit
# every log is scanned for sanitizer reports; any makes the test fail.
# Every wait is bounded, and a watchdog ends a test that runs too long.
#
# The harness (make check) exports ECHOD, top_srcdir, top_builddir and
# SANITIZER; run by hand, they default to an in-tree build.

set -u

TEST_NAME=$(basename "$0" .sh)
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${ECHOD:=$top_builddir/src/echod}"
: "${SANITIZER:=}"
: "${TEST_TIMEOUT:=90}"
TCLIENT=$top_builddir/tests/integration/tclient

# The daemon and tclient report in UTC and the tests compare against date(1).
TZ=UTC
export TZ
# Report sanitizer findings on stderr (the daemon log), with stacks.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1}
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

SANITIZER_PATTERN='ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer|LeakSanitizer'

ECHOD_PID=
ECHOD_LOG=
ECHOD_STATUS=
ECHOD_N=0
LIB_PIDS=

fail()
{
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

note()
{
	echo "$TEST_NAME: $*"
}

# proc_alive PID: the process exists and is not a zombie.
proc_alive()
{
	local st

	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

lib_sanitizer_check()
{
	local f bad=0

	# Every file: daemon logs and the clients' stdout and stderr captures.
	for f in "$tmp"/*; do
		[ -f "$f" ] || continue
		if grep -q -E "$SANITIZER_PATTERN" "$f"; then
			echo "FAIL: $TEST_NAME: sanitizer report in $(basename "$f"):" >&2
			grep -E -A 30 "$SANITIZER_PATTERN" "$f" | head -n 60 >&2
			bad=1
		fi
	done
	return $bad
}

lib_cleanup()
{
	local rc=$? p f

	trap - EXIT
	# Cleanup is short and bounded; a late signal must not cut it off.
	trap '' INT TERM HUP
	set +e
	rm -f "$tmp/.running"
	for p in $LIB_PIDS; do
		if proc_alive "$p"; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	lib_sanitizer_check || rc=1
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$tmp"/echod.*.log; do
			[ -f "$f" ] || continue
			echo "---- last lines of $(basename "$f") ----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "$TEST_NAME: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}

# A test that overruns TEST_TIMEOUT is ended (the EXIT trap then cleans up).
# The watchdog polls a marker file that cleanup removes, so it needs no
# signal to stop (a signal could race with its start-up) and ends by itself.
lib_watchdog()
{
	(
		i=0
		while [ "$i" -lt $(($1 * 4)) ]; do
			sleep 0.25
			[ -e "$tmp/.running" ] || exit 0
			i=$((i + 1))
		done
		[ -e "$tmp/.running" ] || exit 0
		echo "FAIL: $TEST_NAME: watchdog: still running after $1 s" >&2
		kill -TERM $$
	) </dev/null >/dev/null &
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-$TEST_NAME.XXXXXX") || fail "mktemp"
# Where a test binds its admin console, if it has one.
ADMIN=$tmp/admin.sock
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
: >"$tmp/.running"
lib_watchdog "$TEST_TIMEOUT"

[ -x "$ECHOD" ] || fail "daemon not built: $ECHOD"
[ -x "$TCLIENT" ] || fail "test client not built: $TCLIENT"

# spawn CMD...: run CMD in the background (redirect at the call), remember its
# PID in SPAWN_PID so cleanup can end it. "tclient" runs the binary itself (not
# the shell function) so that the PID is the client's own.
spawn()
{
	if [ "$1" = tclient ]; then
		shift
		set -- "$TCLIENT" -T 30 "$@"
	fi
	"$@" &
	SPAWN_PID=$!
	LIB_PIDS="$LIB_PIDS $SPAWN_PID"
}

# wait_exit PID TIMEOUT: wait for a spawned process; its status in WAIT_STATUS.
# Returns 1 (and leaves it running) if it is still alive after TIMEOUT seconds.
wait_exit()
{
	local we_pid=$1

	wait_until "$2" '! proc_alive "$we_pid"' || return 1
	wait "$1"
	WAIT_STATUS=$?
	return 0
}

# tclient ARGS: the C test client with a 30 s overall deadline.
tclient()
{
	"$TCLIENT" -T 30 "$@"
}

# wait_file_grep PATTERN TIMEOUT FILE: poll FILE for an extended regex.
# Gives up early when FILE is the daemon's log and the daemon has exited.
wait_file_grep()
{
	local wf_re=$1 wf_file=$3

	wait_until "$2" 'grep -q -E -- "$wf_re" "$wf_file" 2>/dev/null ||
	    { [ "$wf_file" = "$ECHOD_LOG" ] && [ -n "$ECHOD_PID" ] && ! proc_alive "$ECHOD_PID"; }' ||
	    return 1
	grep -q -E -- "$1" "$3" 2>/dev/null
}

# wait_log PATTERN [TIMEOUT]: wait for an extended regex in the daemon log.
wait_log()
{
	wait_file_grep "$1" "${2:-10}" "$ECHOD_LOG"
}

# log_count PATTERN: how many lines of the daemon log match.
log_count()
{
	grep -c -E -- "$1" "$ECHOD_LOG" 2>/dev/null || true
}

# wait_log_count PATTERN N [TIMEOUT]: wait until at least N lines match.
wait_log_count()
{
	local wl_re=$1 wl_n=$2

	wait_until "${3:-10}" '[ "$(log_count "$wl_re")" -ge "$wl_n" ]'
}

# expect_log PATTERN [TIMEOUT]: wait_log or fail.
expect_log()
{
	wait_log "$1" "${2:-10}" || fail "no log line matching '$1' within ${2:-10} s"
}

# no_log PATTERN: fail if the daemon log has a matching line.
no_log()
{
	if grep -q -E -- "$1" "$ECHOD_LOG"; then
		fail "unexpected log line: $(grep -E -- "$1" "$ECHOD_LOG" | head -n 1)"
	fi
}

# start_echod INI [ARGS...]: run the daemon in the foreground mode, in the
# background of this shell (echod_spawn), stderr to ECHOD_LOG; wait until it
# is ready. ECHOD_NOFILE, if set, is the daemon's open file limit.
start_echod()
{
	local ini=$1

	shift
	echod_spawn "$ECHOD" -f -c "$ini" "$@"
	if ! wait_log 'ready listeners=[0-9]+' 15; then
		proc_alive "$ECHOD_PID" || fail "echod exited during start-up"
		fail "echod not ready within 15 s"
	fi
}

# addr_of NAME [N]: the address of the Nth "listening listener=NAME" line
# (127.0.0.1:PORT, [::1]:PORT, unix:/path). Returns 1 if there is none.
addr_of()
{
	local a

	a=$(sed -n "s/.* listening listener=$1 .*addr=\([^ ]*\).*/\1/p" "$ECHOD_LOG" |
	    sed -n "${2:-1}p")
	[ -n "$a" ] || return 1
	echo "$a"
}

# port_of NAME [N]: the kernel-chosen port of listener NAME, from the log.
# Use as P=$(port_of echo) || fail ...
port_of()
{
	local a po_name=$1 po_n=${2:-1}

	wait_until 10 'a=$(addr_of "$po_name" "$po_n")' || return 1
	case $a in
	unix:*) echo "-" ;;
	*) echo "${a##*:}" ;;
	esac
}

# echod_wait_exit TIMEOUT: wait for the daemon to exit; status in ECHOD_STATUS.
echod_wait_exit()
{
	wait_exit "$ECHOD_PID" "$1" || return 1
	ECHOD_STATUS=$WAIT_STATUS
	return 0
}

# stop_echod [TIMEOUT]: SIGTERM, wait, assert exit status 0 and the last log line.
stop_echod()
{
	local t=${1:-15}

	proc_alive "$ECHOD_PID" || fail "echod died before it was stopped"
	kill -TERM "$ECHOD_PID"
	if ! echod_wait_exit "$t"; then
		kill -KILL "$ECHOD_PID" 2>/dev/null
		fail "echod still running $t s after SIGTERM"
	fi
	[ "$ECHOD_STATUS" -eq 0 ] || fail "echod exited with status $ECHOD_STATUS after SIGTERM"
	grep -q -E 'exiting status=0' "$ECHOD_LOG" || fail "no 'exiting status=0' log line"
}

# rss_kb PID: resident set size in KiB.
rss_kb()
{
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"
}

# cpu_ticks PID: user + system CPU time in clock ticks.
cpu_ticks()
{
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# have_ipv6: the loopback interface has ::1.
have_ipv6()
{
	grep -q -i '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null
}

# have_cmd NAME: a tool is installed.
have_cmd()
{
	command -v "$1" >/dev/null 2>&1
}

# have_openbsd_nc: nc is OpenBSD's, whose -N shuts down the write side at the
# end of its input (and then reads the rest of the replies).
have_openbsd_nc()
{
	have_cmd nc && nc -h 2>&1 | grep -q -E -- '-N[[:space:]]+Shutdown'
}

# have_nc_unix: nc talks to unix sockets (-U), as admin() needs.
have_nc_unix()
{
	have_cmd nc && nc -h 2>&1 | grep -q -E -- '-U[[:space:]]'
}

# admin CMD...: send each argument as one line to the admin console listening
# on $ADMIN (bind = unix:$ADMIN); print the replies, CR stripped.
admin()
{
	printf '%s\n' "$@" | timeout 10 nc -N -U "$ADMIN" | tr -d '\r'
}

# talk NAME [TIMEOUT]: send $tmp/NAME.in to 127.0.0.1:$P with OpenBSD nc and
# shut down the write side; the replies go to $tmp/NAME.raw and, CR stripped,
# to $tmp/NAME.out. Fails the test if nc does (or runs past TIMEOUT, 10 s).
talk()
{
	timeout "${2:-10}" nc -N 127.0.0.1 "$P" <"$tmp/$1.in" >"$tmp/$1.raw" 2>"$tmp/$1.nc" ||
	    fail "$1: nc exited with status $?"
	tr -d '\r' <"$tmp/$1.raw" >"$tmp/$1.out"
}

# close_line_of REASON: the first "close ... reason=REASON" log line.
close_line_of()
{
	grep -E " close .*reason=$1( |$)" "$ECHOD_LOG" | head -n 1
}

# field LINE KEY: the value of KEY=VALUE in a log line.
field()
{
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# ---------------------------------------------------------------- spawning
# echod_spawn CMD...: run CMD (the daemon: "$ECHOD" and its arguments, or a
# wrapper that execs it) in the background of this shell, stdin /dev/null,
# stdout to $tmp/echod.N.out, stderr to $tmp/echod.N.log, which becomes
# ECHOD_LOG (a test whose daemon logs to a file sets ECHOD_LOG after it).
# ECHOD_PID is its PID, ended at exit; ECHOD_NOFILE, if set, its open file
# limit, soft and hard. It does not wait: start_echod does.
echod_spawn()
{
	ECHOD_N=$((ECHOD_N + 1))
	ECHOD_LOG=$tmp/echod.$ECHOD_N.log
	: >"$ECHOD_LOG"
	if [ -n "${ECHOD_NOFILE:-}" ]; then
		# For the daemon only: the subshell sets the limit and execs it.
		(ulimit -n "$ECHOD_NOFILE" && exec "$@") </dev/null \
		    >"$tmp/echod.$ECHOD_N.out" 2>"$ECHOD_LOG" &
	else
		"$@" </dev/null >"$tmp/echod.$ECHOD_N.out" 2>"$ECHOD_LOG" &
	fi
	ECHOD_PID=$!
	LIB_PIDS="$LIB_PIDS $ECHOD_PID"
	ECHOD_STATUS=
}

# ---------------------------------------------------------------- polling
# wait_until TIMEOUT CONDITION: evaluate the shell CONDITION (one string, run
# with eval in the caller's variables) every 50 ms until it succeeds; returns
# 1 if it still fails after TIMEOUT whole seconds. The bounded form of every
# "until ...; do sleep; done" a test needs:
#   wait_until 10 '[ -e "$tmp/ready" ]' || fail "the client did not start"
# In CONDITION, $1, $2... are wait_until's own: copy a caller's argument into
# a variable first.
wait_until()
{
	local wu_i=0 wu_n

	wu_n=$(($1 * 20))
	while ! eval "$2"; do
		[ "$wu_i" -ge "$wu_n" ] && return 1
		sleep 0.05
		wu_i=$((wu_i + 1))
	done
	return 0
}

# activator_spawn NSOCKS ARGS...: echod_spawn systemd-socket-activate ARGS
# (ARGS end with "$ECHOD" and its arguments; the activator execs it, so
# ECHOD_PID becomes echod's), then wait up to 10 s until the activator says
# it listens on NSOCKS sockets, or fail.
activator_spawn()
{
	local as_n=$1

	shift
	echod_spawn systemd-socket-activate "$@"
	wait_until 10 '[ "$(grep -c "^Listening on" "$ECHOD_LOG")" -ge "$as_n" ] ||
	    ! proc_alive "$ECHOD_PID"'
	proc_alive "$ECHOD_PID" || fail "systemd-socket-activate exited: $(cat "$ECHOD_LOG")"
	[ "$(grep -c '^Listening on' "$ECHOD_LOG")" -ge "$as_n" ] ||
	    fail "systemd-socket-activate did not listen: $(cat "$ECHOD_LOG")"
}
