# access_file.sh: access_file adds allow/deny entries from a file (comments,
# blank lines, trailing comments, indentation), together with the allow =
# and deny = keys, and is read again on reload. A bad line is a
# configuration error naming the file and the line, at -t and on reload,
# where the old lists stay and keep working. A 100,000-entry deny file
# loads; the reload time is measured (reported, not asserted).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

AF=$tmp/access.txt
cat >"$AF" <<'EOF'
# who may use the echo listener

allow 127.0.0.0/8          # all of loopback...
deny 127.0.0.2             # ...but not this one
	deny   127.0.3.0/24
EOF
{
	printf '[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\naccess_file = %s\n' "$AF"
	printf 'deny = 127.0.0.4\n\n'
} >"$tmp/echod.ini"
"$ECHOD" -t -c "$tmp/echod.ini" >"$tmp/t.out" 2>&1 || fail "-t: $(cat "$tmp/t.out")"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
expect_refused 127.0.0.2 "$P"
expect_refused 127.0.3.9 "$P"
expect_refused 127.0.0.4 "$P"
expect_served 127.0.0.3 "$P"
expect_served 127.0.0.1 "$P"
expect_stat 'connections_rejected_total{listener="echo",service="echo",reason="deny_list"}' 3

# Changed file, reload: the new entries apply, the old ones are gone.
cat >"$AF" <<'EOF'
allow 127.0.0.0/8
deny 127.0.0.3   # now this one
EOF
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' 1 || fail "reload with a changed access_file failed"
expect_served 127.0.0.2 "$P"
expect_served 127.0.3.9 "$P"
expect_refused 127.0.0.3 "$P"
expect_refused 127.0.0.4 "$P"

# A bad line: -t names the file and the line; a reload is refused and the
# running lists stay.
cat >"$AF" <<'EOF'
allow 127.0.0.0/8
# line 3 is wrong, line 4 too
deny 127.0.0.300
permit 127.0.0.9
deny 127.0.0.2
EOF
"$ECHOD" -t -c "$tmp/echod.ini" >"$tmp/t.out" 2>&1
rc=$?
[ "$rc" -eq 78 ] || fail "-t with a bad access_file exited $rc, expected 78: $(cat "$tmp/t.out")"
grep -q -F "echod.ini:11: [listener echo] access_file: $AF:3: expected an IPv4 or IPv6 address" \
    "$tmp/t.out" || fail "-t: no error for line 3: $(cat "$tmp/t.out")"
grep -q -F "access_file: $AF:4: expected 'allow' or 'deny'" "$tmp/t.out" ||
    fail "-t: no error for line 4: $(cat "$tmp/t.out")"
kill -HUP "$ECHOD_PID"
expect_log 'reload failed errors=2'
expect_log "config error: .*access_file: $AF:3: "
expect_served 127.0.0.2 "$P"
expect_refused 127.0.0.3 "$P"
expect_refused 127.0.0.4 "$P"
# A missing file is an error too, with the same outcome.
rm -f "$AF"
kill -HUP "$ECHOD_PID"
expect_log "config error: .*access_file: $AF: cannot open: No such file"
expect_refused 127.0.0.3 "$P"

# 100,000 entries: 99,999 prefixes that match nothing here, and 127.0.0.9.
"$PYTHON" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("# generated: 100000 entries\nallow 127.0.0.0/8\n")
    for i in range(99999):
        f.write("deny 10.%d.%d.%d\n" % (i >> 16, (i >> 8) & 255, i & 255))
    f.write("deny 127.0.0.9\n")
' "$AF" || fail "cannot write the large access file"
t0=$(date +%s%N)
"$ECHOD" -t -c "$tmp/echod.ini" >"$tmp/t.out" 2>&1 || fail "-t with 100000 entries: $(cat "$tmp/t.out")"
t1=$(date +%s%N)
n_ok=$(log_count 'reload ok')
kill -HUP "$ECHOD_PID"
wait_log_count 'reload ok' $((n_ok + 1)) 30 || fail "reload with 100000 entries did not finish"
# The daemon's own timestamps: from "reloading" to "reload ok".
ms=$(grep -E 'reloading config=|reload ok' "$ECHOD_LOG" | tail -n 2 |
    sed 's/^[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*/\1 \2 \3/' |
    awk 'NR == 1 { a = $1 * 3600 + $2 * 60 + $3 } NR == 2 { b = $1 * 3600 + $2 * 60 + $3 }
        END { printf "%d", (b - a) * 1000 }')
note "100000-entry access_file: echod -t $(( (t1 - t0) / 1000000 )) ms, reload ${ms} ms (whole file parsed and every listener staged)"
expect_refused 127.0.0.9 "$P"
expect_served 127.0.0.2 "$P"
expect_served 127.0.0.3 "$P"
stop_echod
note ok
