# cli_options.sh: command line: -V, -h, usage errors (exit 64), -t on a good
# config (exit 0, "configuration OK"), -t on a missing file (exit 78), start
# and stop with the long options.
. "$(dirname "$0")/lib.sh"

# run_echod ARGS...: run the daemon to completion (bounded); status in RC,
# output in $tmp/cli.out and $tmp/cli.log.
run_echod()
{
	timeout 10 "$ECHOD" "$@" </dev/null >"$tmp/cli.out" 2>"$tmp/cli.log"
	RC=$?
	[ "$RC" -ne 124 ] || fail "echod $* did not exit within 10 s"
}

run_echod -V
[ "$RC" -eq 0 ] || fail "-V exit $RC"
grep -q -E '^echod [0-9]+\.[0-9]+' "$tmp/cli.out" || fail "-V printed: $(cat "$tmp/cli.out")"
run_echod --version
[ "$RC" -eq 0 ] || fail "--version exit $RC"
grep -q -E '^echod [0-9]+\.[0-9]+' "$tmp/cli.out" || fail "--version printed: $(cat "$tmp/cli.out")"

for h in -h --help; do
	run_echod $h
	[ "$RC" -eq 0 ] || fail "$h exit $RC"
	for opt in -c -f -t -d -l -V -h --config --foreground --test-config --debug \
	    --log-level --version --help; do
		grep -q -- "$opt" "$tmp/cli.out" || fail "$h does not mention $opt"
	done
done

# Usage errors: unknown options, missing arguments, stray operands, bad level.
for args in "-x" "--no-such-option" "-c" "--config" "-l" "-l loud" "--log-level=loud" \
    "-f stray-operand"; do
	run_echod $args
	[ "$RC" -eq 64 ] || fail "echod $args: exit $RC, expected 64 (EX_USAGE)"
	[ -s "$tmp/cli.log" ] || fail "echod $args: nothing on stderr"
done

cat >"$tmp/good.ini" <<INI
[server]
max_connections = 100
shutdown_timeout = 5s
write_high_watermark = 256K
write_low_watermark = 64K

[log]
level = info
connections = no

[listener echo]
bind = 127.0.0.1:0
service = echo
INI
for t in -t --test-config; do
	run_echod $t -c "$tmp/good.ini"
	[ "$RC" -eq 0 ] || fail "$t on a good config: exit $RC: $(cat "$tmp/cli.out" "$tmp/cli.log")"
	grep -q '^configuration OK' "$tmp/cli.out" || fail "$t printed: $(cat "$tmp/cli.out")"
done
run_echod -t -d -c "$tmp/good.ini"
[ "$RC" -eq 0 ] || fail "-d is not accepted: exit $RC: $(cat "$tmp/cli.log")"
run_echod --test-config --config="$tmp/good.ini" -l debug
[ "$RC" -eq 0 ] || fail "long options with =: exit $RC: $(cat "$tmp/cli.log")"

# -c names a file that does not exist: an error, not the built-in defaults.
run_echod -t -c "$tmp/missing.ini"
[ "$RC" -eq 78 ] || fail "-t -c missing file: exit $RC, expected 78"
grep -q 'missing.ini' "$tmp/cli.out" "$tmp/cli.log" || fail "-t -c missing file does not name it"
run_echod -f -c "$tmp/missing.ini"
[ "$RC" -eq 78 ] || fail "-f -c missing file: exit $RC, expected 78"

# Start and stop with the long options.
echod_spawn "$ECHOD" --foreground --config "$tmp/good.ini" --log-level debug
expect_log 'ready listeners=1' 15
P=$(port_of echo) || fail "no listening line for echo"
tclient rtt 127.0.0.1 "$P" 3 >/dev/null || fail "echo with long options"
# --log-level debug overrides [log] level = info; with connections = no the
# open and close lines are at debug level.
expect_log ' debug conn: conn=[0-9]+ open listener=echo peer=127\.0\.0\.1:[0-9]+'
expect_log ' debug conn: conn=[0-9]+ close listener=echo peer=127\.0\.0\.1:[0-9]+ reason=eof bytes_in=[0-9]+ bytes_out=[0-9]+ duration_ms=[0-9]+'
stop_echod
# Every line: <RFC 3339 time> <level> <subsystem>: <message>.
bad=$(grep -v -E '^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) (debug|info|warning|error|critical) [a-z]+: [^ ]' "$ECHOD_LOG" | head -n 3)
[ -z "$bad" ] || fail "log lines not in the '<time> <level> <subsystem>: <message>' format: $bad"

# At info level with connections = no there are no open/close lines.
start_echod "$tmp/good.ini"
P=$(port_of echo) || fail "no listening line for echo"
tclient rtt 127.0.0.1 "$P" 3 >/dev/null || fail "echo at info level"
stop_echod
no_log ' (open|close) listener='
no_log ' debug '
note ok
