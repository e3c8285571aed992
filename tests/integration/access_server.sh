# access_server.sh: the daemon-wide limits of [server]. accept_rate bounds
# new connections for all listeners together (a source refused by its own
# limits does not spend the daemon's tokens), and never locks the operator
# out: admin connections are not subject to it. The source table is bounded
# by max_sources: when every entry holds an open connection, a new source is
# admitted untracked (counted in sources_untracked_total), and it never
# evicts a busy source's state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/access_lib.sh"

# accept_rate = 2/s, burst 4, for every listener; per listener max_per_source.
{
	printf '[server]\naccept_rate = 2/s\naccept_burst = 4\n\n[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener a]\nbind = 127.0.0.1:0\nservice = echo\n\n'
	printf '[listener b]\nbind = 127.0.0.1:0\nservice = echo\nmax_per_source = 1\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
AP=$(port_of a) || fail "no port for a"
BP=$(port_of b) || fail "no port for b"

[ -n "$PYTHON" ] || skip "python3 not installed"
hold_from 127.0.0.7 "$BP" 30
sleep 2.1
# The bucket is full again (4). Six connections refused by b's
# max_per_source spend none of it: of the twelve that follow, from as many
# sources, the first four are served (a fifth if a token came back meanwhile).
set --
for i in 1 2 3 4 5 6; do
	set -- "$@" "$BP:127.0.0.7"
done
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	set -- "$@" "$AP:127.0.0.$((10 + i))"
done
r=$(burst "$@")
note "accept_rate 2/s burst 4: $r"
case $r in
000000111100000000|000000111110000000) ;;
*) fail "accept_rate 2/s burst 4 after six refusals by max_per_source: $r" ;;
esac
expect_stat 'connections_rejected_total{listener="b",service="echo",reason="max_per_source"}' 6
refused=$(rejected a echo accept_rate)
[ "${refused:-0}" -ge 7 ] || fail "accept_rate refused ${refused:-0} of 12, expected 7 or 8"
expect_log 'refused listener=a peer=127\.0\.0\.[0-9]+:[0-9]+ reason=accept_rate '
# The operator is not locked out by the daemon-wide rate: the bucket is empty
# and the console still answers, several times in a row.
for i in 1 2 3 4 5 6; do
	admin 'STATS sources_' | grep -q '^sources_tracked=' || fail "admin STATS refused under accept_rate ($i)"
done
[ "$(rejected admin admin accept_rate)" = 0 ] || fail "admin connections were refused by accept_rate"
stop_echod

# max_sources = 2: two sources hold connections; a third is admitted untracked.
{
	printf '[server]\nmax_sources = 2\nmax_per_source = 1\n\n[log]\nconnections = yes\n\n'
	admin_section
	printf '[listener echo]\nbind = 127.0.0.1:0\nservice = echo\n\n'
} >"$tmp/echod.ini"
start_echod "$tmp/echod.ini"
P=$(port_of echo) || fail "no echo port"
hold_from 127.0.0.2 "$P" 30
hold_from 127.0.0.3 "$P" 30
expect_stat sources_tracked 2
expect_served 127.0.0.4 "$P"
expect_stat sources_untracked_total 1
expect_stat sources_tracked 2
# the busy sources kept their state: their limit still holds
expect_refused 127.0.0.2 "$P"
expect_refused 127.0.0.3 "$P"
admin 'SOURCES 10' | grep -c '^source=' | grep -q '^2$' || fail "SOURCES: $(admin 'SOURCES 10')"
admin 'SOURCES 10' | grep -q '^source=127\.0\.0\.4 ' && fail "the untracked source is listed"
stop_echod
note ok
