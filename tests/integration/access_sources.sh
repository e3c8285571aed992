# access_sources.sh: per-source limits at accept. max_per_source counts the
# open connections of one source (127.0.0.2) while another (127.0.0.3) is
# unaffected; source_prefix_v4 = 24 makes 127.0.0.2 and 127.0.0.3 one
# source; rate_per_source with burst is a token bucket per source; SOURCES
# lists the busiest sources. Every refusal is counted by reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

{
	printf '[server]\nsource_expire = 60s\n\n[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener per]\nbind = 127.0.0.1:0\nservice = echo\nmax_per_source = 2\n\n'
	printf '[listener net]\nbind = 127.0.0.1:0\nservice = echo\nmax_per_source = 1\n'
	printf 'source_prefix_v4 = 24\n\n'
	printf '[listener rate]\nbind = 127.0.0.1:0\nservice = echo\nrate_per_source = 1/s\nburst = 3\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
PP=$(port_of per) || fail "no port for per"
NP=$(port_of net) || fail "no port for net"
RP=$(port_of rate) || fail "no port for rate"

# max_per_source = 2: a third connection from 127.0.0.2 is refused, 127.0.0.3 is served.
hold_from 127.0.0.2 "$PP" 30
H1=$HOLD_PID
hold_from 127.0.0.2 "$PP" 30
expect_refused 127.0.0.2 "$PP"
expect_log 'refused listener=per peer=127\.0\.0\.2:[0-9]+ reason=max_per_source '
expect_served 127.0.0.3 "$PP"
expect_stat 'connections_rejected_total{listener="per",service="echo",reason="max_per_source"}' 1
# SOURCES: the busiest first, with its connections, accepts and refusals.
admin 'SOURCES 3' >"$tmp/sources.out"
head -n 1 "$tmp/sources.out" | grep -q -E '^source=127\.0\.0\.2 listener=per conns=2 accepted=2 refused=1 idle_ms=[0-9]+$' ||
    fail "SOURCES: $(cat "$tmp/sources.out")"
grep -q -E '^source=127\.0\.0\.3 listener=per conns=0 accepted=1 refused=0 ' "$tmp/sources.out" ||
    fail "SOURCES without 127.0.0.3: $(cat "$tmp/sources.out")"
tail -n 1 "$tmp/sources.out" | grep -q '^+OK$' || fail "SOURCES: no +OK"
[ "$(admin 'SOURCES 1' | grep -c '^source=')" -eq 1 ] || fail "SOURCES 1 listed more than one"
admin 'SOURCES 0' | grep -q '^-ERR usage: SOURCES' || fail "SOURCES 0 accepted"
# One of the two closes: 127.0.0.2 may connect again.
stop_pid "$H1"
wait_log_count 'close listener=per peer=127\.0\.0\.2' 1 || fail "the held connection did not close"
expect_served 127.0.0.2 "$PP"

# source_prefix_v4 = 24: 127.0.0.2 and 127.0.0.3 are one source, 127.0.1.3 another.
hold_from 127.0.0.2 "$NP" 30
expect_refused 127.0.0.3 "$NP"
expect_served 127.0.1.3 "$NP"
admin 'SOURCES 20' | grep -q -E '^source=127\.0\.0\.0/24 listener=net conns=1 accepted=1 refused=1 ' ||
    fail "SOURCES has no 127.0.0.0/24 entry: $(admin 'SOURCES 20')"
expect_stat 'connections_rejected_total{listener="net",service="echo",reason="max_per_source"}' 1

# rate_per_source = 1/s, burst = 3: of five at once, three are served;
# another source has its own bucket; a second later one token is back.
[ -n "$PYTHON" ] || skip "python3 not installed"
r=$(burst "$RP:127.0.0.4" "$RP:127.0.0.4" "$RP:127.0.0.4" "$RP:127.0.0.4" "$RP:127.0.0.4" "$RP:127.0.0.5")
t0=$(date +%s%N)
[ "$r" = 111001 ] || fail "rate_per_source 1/s burst 3, five at once from one source and one from another: $r"
sleep 1.2
r=$(burst "$RP:127.0.0.4" "$RP:127.0.0.4")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# one token back after a second (two, if this slow machine took two seconds)
[ "$r" = 10 ] || { [ "$ms" -ge 1900 ] && [ "$r" = 11 ]; } ||
    fail "rate_per_source $ms ms later, two at once: $r"
expect_stat 'connections_rejected_total{listener="rate",service="echo",reason="rate_per_source"}' \
    $((2 + 2 - $(ones "$r")))
expect_stat 'sources_tracked' "$(admin 'SOURCES 100' | grep -c '^source=')"
stop_echod
note ok
