# fault_lib.sh: helpers of the runtime fault tests (fault_runtime.sh,
# fault_oom.sh, fault_clock.sh), sourced after lib.sh.
#
# The daemon runs with tests/fault/libechod_fault.so preloaded (through a
# wrapper, so that no other process of the test gets it), reading its rules
# from a control file the test rewrites while load runs (fault_set). Load
# comes from bench/loadgen, which verifies every byte it gets back. At exit
# the library writes how often each call was failed (fault_fired).

[ -r "${FAULT_LIB:-}" ] || skip "the fault library is not built (make check builds it)"
case "${SANITIZER:-}" in
asan) ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"; export ASAN_OPTIONS ;;
tsan) skip "the preloaded fault library and TSan's interceptors do not mix" ;;
esac
LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || fail "load generator not built: $LOADGEN"
have_cmd nc && nc -h 2>&1 | grep -q -E -- '-U[[:space:]]' || skip "this nc has no -U (unix sockets)"

FAULT_RULES=$tmp/fault.rules
FAULT_REPORT=$tmp/fault.report
ADMIN=$tmp/admin.sock
: >"$FAULT_RULES"
cat >"$tmp/echod-fault" <<EOF
#!/bin/sh
LD_PRELOAD='$FAULT_LIB' ECHOD_FAULT_FILE='$FAULT_RULES' ECHOD_FAULT_REPORT='$FAULT_REPORT' \
    exec '$ECHOD' "\$@"
EOF
chmod +x "$tmp/echod-fault"
ECHOD=$tmp/echod-fault

# fault_set [RULE...]: replace the rules (none: every fault off). The
# library looks at the file at most every 50 ms, at its next call.
fault_set()
{
	printf '%s\n' "$@" >"$FAULT_RULES.new"
	mv "$FAULT_RULES.new" "$FAULT_RULES"
	sleep 0.2
	note "faults: ${*:-off}"
}

# admin CMD...: each argument one line to the admin console; its replies.
admin()
{
	printf '%s\n' "$@" | timeout 10 nc -N -U "$ADMIN"
}

# stat_of SERIES: the value of one STATS line ("name" or name{labels}), 0 if absent.
stat_of()
{
	admin STATS | tr -d '\r' | awk -v k="$1=" \
	    'index($0, k) == 1 { print substr($0, length(k) + 1); found = 1; exit }
	     END { if (!found) print 0 }'
}

# fd_count: descriptors the daemon holds.
fd_count()
{
	ls "/proc/$ECHOD_PID/fd" | wc -l
}

# fd_settle BASE: the daemon is back to BASE descriptors within 10 s (closes
# and the linger of finished connections take a moment), or the test fails.
fd_settle()
{
	local fs_base=$1

	if ! wait_until 10 '[ "$(fd_count)" -eq "$fs_base" ]'; then
		ls -l "/proc/$ECHOD_PID/fd" >&2
		fail "descriptors: $(fd_count) open, baseline $1"
	fi
}

# lg NAME ARGS...: run loadgen; exit 0 (no wrong byte, no unexpected close)
# or the test fails. Its key=value line is in $tmp/lg.NAME.out.
lg()
{
	local name=$1

	shift
	timeout 60 "$LOADGEN" "$@" >"$tmp/lg.$name.out" 2>"$tmp/lg.$name.err" ||
	    fail "loadgen $name ($*): $(cat "$tmp/lg.$name.out" "$tmp/lg.$name.err")"
}

# lg_field NAME KEY: a value of loadgen NAME's result line.
lg_field()
{
	field "$(cat "$tmp/lg.$1.out")" "$2"
}

# fresh_ok PORT: with the faults off, a new client is byte-exact.
fresh_ok()
{
	lg fresh pingpong -c 2 -s 1000 -w 0 -d 20 -n 200 "127.0.0.1:$1"
}

# fault_fired CALL: how many times CALL was failed (after the daemon exited).
fault_fired()
{
	awk -v c="$1" '$1 == c { sub("injected=", "", $2); n += $2 } END { print n + 0 }' \
	    "$FAULT_REPORT" 2>/dev/null || echo 0
}

# expect_fired CALL...: each CALL was failed at least once, or the test
# fails: a fault test where nothing was injected proves nothing.
expect_fired()
{
	local c n

	[ -s "$FAULT_REPORT" ] || fail "no fault report: was the library loaded?"
	for c in "$@"; do
		n=$(fault_fired "$c")
		[ "$n" -gt 0 ] || fail "no $c fault was injected: $(cat "$FAULT_REPORT")"
		note "$c failed $n times"
	done
}
