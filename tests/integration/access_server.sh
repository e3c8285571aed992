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

hold_from 127.0.0.7 "$BP" 30
# refused by max_per_source, many times: no daemon-wide token spent
for i in 1 2 3 4 5 6; do
	expect_refused 127.0.0.7 "$BP"
done
# three tokens left of the burst of 4 (at 2/s a few more came back meanwhile)
expect_served 127.0.0.2 "$AP"
expect_served 127.0.0.3 "$BP"
expect_served 127.0.0.4 "$AP"
# now drain the bucket from several sources at once: some are refused
i=0
while [ "$i" -lt 12 ]; do
	served 127.0.0.$((10 + i)) "$AP"
	i=$((i + 1))
done
refused=$(rejected a echo accept_rate)
[ "${refused:-0}" -ge 1 ] || fail "accept_rate refused nothing of 12 quick connections"
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
