# access_lists.sh: allow and deny lists, applied at accept before a byte is
# read, to clients from several loopback addresses: the longest matching
# prefix decides, deny wins a tie, with an allow list an address matching
# nothing is refused, a deny-only list admits the rest; IPv6 on ::1. A
# refused client never becomes a connection (no "open" line, nothing read),
# and each refusal is counted per listener and reason in STATS and in the
# Prometheus metrics, and logged with the deciding rule.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

have_cmd curl || skip "curl not installed"

{
	printf '[log]\nconnections = yes\n\n[metrics]\nbind = 127.0.0.1:0\n\n'
	admin_section
	# 127.0.0.0/8 allowed, 127.0.0.0/24 denied, 127.0.0.4/30 allowed again;
	# 127.0.0.6 both allowed and denied (a tie: deny wins).
	printf '[listener lists]\nbind = 127.0.0.1:0\nservice = echo\n'
	printf 'allow = 127.0.0.0/8\ndeny = 127.0.0.0/24\n'
	printf 'allow = 127.0.0.4/30, 127.0.0.6\ndeny = 127.0.0.6\n\n'
	# Only an allow list: everything else is refused (not_allowed).
	printf '[listener only]\nbind = 127.0.0.1:0\nservice = echo\nallow = 127.0.0.2 127.0.2.0/24\n\n'
	# Only a deny list: everything else is admitted.
	printf '[listener open]\nbind = 127.0.0.1:0\nservice = echo\ndeny = 127.0.0.3\n\n'
	if have_ipv6; then
		printf '[listener v6deny]\nbind = [::1]:0\nservice = echo\ndeny = ::1\n\n'
		printf '[listener v6allow]\nbind = [::1]:0\nservice = echo\n'
		printf 'deny = ::/0\nallow = ::1/128\nallow = 127.0.0.0/8\n\n'
	fi
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
LP=$(port_of lists) || fail "no port for lists"
OP=$(port_of only) || fail "no port for only"
NP=$(port_of open) || fail "no port for open"

# Longest prefix: /30 allow beats /24 deny beats /8 allow.
expect_served 127.0.0.5 "$LP"
expect_served 127.0.1.1 "$LP"
expect_refused 127.0.0.9 "$LP"
expect_log "refused listener=lists peer=127\.0\.0\.9:[0-9]+ reason=deny_list rule=127\.0\.0\.0/24 "
# (at most one line per reason a second: the next one in a new second)
sleep 1.1
expect_refused 127.0.0.6 "$LP"
expect_log "refused listener=lists peer=127\.0\.0\.6:[0-9]+ reason=deny_list rule=127\.0\.0\.6 "
expect_refused 127.0.0.2 "$LP"
# allow-only list
expect_served 127.0.0.2 "$OP"
expect_served 127.0.2.200 "$OP"
expect_refused 127.0.0.3 "$OP"
expect_refused 127.0.3.2 "$OP"
expect_log "refused listener=only peer=127\.0\.0\.3:[0-9]+ reason=not_allowed "
# deny-only list
sleep 1.1
expect_served 127.0.0.2 "$NP"
expect_served 127.0.0.4 "$NP"
expect_refused 127.0.0.3 "$NP"

# Refused clients were never connections: no open line from their addresses.
no_log "open listener=lists peer=127\.0\.0\.(9|2|6):"
no_log "open listener=only peer=127\.0\.(0\.3|3\.2):"
no_log "open listener=open peer=127\.0\.0\.3:"
# Nothing refused was read: the echo bytes are those of the served pings.
served_n=$(log_count "open listener=(lists|only|open) ")
[ "$served_n" -eq 6 ] || fail "$served_n connections opened, expected the 6 served"

# Counted per listener and reason.
expect_stat 'connections_rejected_total{listener="lists",service="echo",reason="deny_list"}' 3
expect_stat 'connections_rejected_total{listener="lists",service="echo",reason="not_allowed"}' 0
expect_stat 'connections_rejected_total{listener="only",service="echo",reason="not_allowed"}' 2
expect_stat 'connections_rejected_total{listener="only",service="echo",reason="deny_list"}' 0
expect_stat 'connections_rejected_total{listener="open",service="echo",reason="deny_list"}' 1
expect_stat 'connections_total{listener="lists",service="echo"}' 2
# ... and the same numbers in the metrics.
M=$(sed -n 's/.* metrics listening addr=\([^ ]*\) .*/\1/p' "$ECHOD_LOG" | head -n 1)
[ -n "$M" ] || fail "no metrics address"
curl -s -S --max-time 10 "http://$M/metrics" >"$tmp/metrics.txt" || fail "metrics scrape"
grep -q -F 'echod_connections_rejected_total{listener="lists",service="echo",reason="deny_list"} 3' \
    "$tmp/metrics.txt" || fail "metrics: $(grep rejected "$tmp/metrics.txt" | head -n 5)"
grep -q -F 'echod_connections_rejected_total{listener="only",service="echo",reason="not_allowed"} 2' \
    "$tmp/metrics.txt" || fail "metrics: no not_allowed count for only"

if have_ipv6; then
	D6=$(port_of v6deny) || fail "no port for v6deny"
	A6=$(port_of v6allow) || fail "no port for v6allow"
	"$TCLIENT" -T 10 hold -e -q ::1 "$A6" 5 >/dev/null 2>&1 || fail "::1 refused by allow = ::1/128"
	sleep 1.1
	"$TCLIENT" -T 10 hold -e -q ::1 "$D6" 5 >/dev/null 2>&1 && fail "::1 served on a deny = ::1 listener"
	expect_log "refused listener=v6deny peer=\[::1\]:[0-9]+ reason=deny_list rule=::1 "
	expect_stat 'connections_rejected_total{listener="v6deny",service="echo",reason="deny_list"}' 1
	expect_stat 'connections_total{listener="v6allow",service="echo"}' 1
else
	note "no ::1 on the loopback interface: IPv6 lists not tested"
fi
stop_echod
note ok
