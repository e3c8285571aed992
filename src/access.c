/*
 * access.c: who may connect (access.h): allow/deny lists, per-source
 * concurrent connections and connect rates, the daemon-wide accept rate,
 * the trusted balancers of PROXY protocol listeners, and refusal logging
 * that cannot flood the log. Loop thread only.
 *
 * Order of the checks at accept, cheapest and most specific first: the
 * lists, the source's open connections, the source's rate, the daemon's
 * rate. A refused source does not spend a daemon-wide token, so one source
 * hammering the server cannot use up the accept rate of everyone else; the
 * admin console neither spends nor needs one, so a flood that empties the
 * daemon's bucket cannot lock the operator out.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "access.h"
#include "acl.h"
#include "addr.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "source.h"
#include "stats.h"
#include "util.h"

#define ACCESS_TICK_MS		1000	/* expiry and the refusal-log summary */
#define ACCESS_SCOPE_HOOKS	2	/* listener.c, udp.c */

static const char *access_reason_names[ACCESS_R_COUNT] = {
	[ACCESS_OK] = "none",
	[ACCESS_R_FD_LIMIT] = "fd_limit",
	[ACCESS_R_ACCEPT_ERROR] = "accept_error",
	[ACCESS_R_DENY] = "deny_list",
	[ACCESS_R_NOT_ALLOWED] = "not_allowed",
	[ACCESS_R_PER_SOURCE] = "max_per_source",
	[ACCESS_R_SOURCE_RATE] = "rate_per_source",
	[ACCESS_R_ACCEPT_RATE] = "accept_rate",
	[ACCESS_R_PROXY_UNTRUSTED] = "proxy_untrusted",
	[ACCESS_R_PROXY_HEADER] = "proxy_header",
	[ACCESS_R_PROXY_TIMEOUT] = "proxy_timeout",
	[ACCESS_R_OOM] = "oom",
};

/* The refusal log: one line per reason per second, the rest counted. */
struct access_logstate {
	uint64_t	 second;	/* when the last line was written (monotonic s) */
	uint64_t	 suppressed;	/* lines not written since */
};

static struct source_table	*access_sources;
static struct source_bucket	 access_bucket;
static uint64_t			 access_rate, access_burst;
static struct access_logstate	 access_log[ACCESS_R_COUNT];
static struct event		*access_tick_ev;
static access_scope_name_cb	 access_scope_names[ACCESS_SCOPE_HOOKS];
static unsigned			 access_next_scope = 1;

/*
 * The entry of the last UDP source looked up, so that the next datagram
 * from the same address (a sender's burst, a batch) skips the hash. Valid
 * until the table may free an entry: any other lookup, expiry, new limits,
 * the end (each clears it; source.h's lifetime rule).
 */
static struct {
	struct source		*src;
	unsigned		 scope;
	unsigned		 prefix_v4;
	unsigned		 prefix_v6;
	sa_family_t		 family;
	unsigned char		 addr[16];
} access_udp_last;

static void
access_udp_forget(void)
{
	access_udp_last.src = NULL;
}

/* The address bytes of an IP peer into addr (4 or 16); 0 for other families. */
static size_t
access_addr_bytes(const struct sockaddr *sa, unsigned char addr[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 16;
	}
	return 0;
}

/* The entry for a UDP source: the last one again, or a lookup. */
static struct source *
access_udp_source(unsigned scope, const struct sockaddr *sa, unsigned prefix_v4,
    unsigned prefix_v6, uint64_t now_ms)
{
	unsigned char addr[16];
	size_t n = access_addr_bytes(sa, addr);

	if (n > 0 && access_udp_last.src != NULL && access_udp_last.scope == scope &&
	    access_udp_last.family == sa->sa_family && access_udp_last.prefix_v4 == prefix_v4 &&
	    access_udp_last.prefix_v6 == prefix_v6 &&
	    (n == 4 ? memcmp(access_udp_last.addr, addr, 4) : memcmp(access_udp_last.addr, addr, 16)) == 0)
		return access_udp_last.src;
	access_udp_forget();
	if (access_sources == NULL || n == 0)
		return NULL;
	access_udp_last.src = source_lookup(access_sources, scope, sa, prefix_v4, prefix_v6, now_ms);
	access_udp_last.scope = scope;
	access_udp_last.family = sa->sa_family;
	access_udp_last.prefix_v4 = prefix_v4;
	access_udp_last.prefix_v6 = prefix_v6;
	memcpy(access_udp_last.addr, addr, n);
	return access_udp_last.src;
}

const char *
access_reason_name(enum access_reason r)
{
	return (unsigned)r < ACCESS_R_COUNT ? access_reason_names[r] : "?";
}

/* ---------------------------------------------------------------- checks */

/*
 * The deciding entry is only wanted for a refusal's log line: formatting it
 * for every admitted connection cost more than the lookup itself (about
 * 2,700 of 3,000 instructions per accept, bench/access_bench.sh). So the
 * lists are looked up without it, and once more with it for a denial.
 */
static enum access_reason
access_check_lists(const struct listener_conf *lc, const struct sockaddr *sa, char *rule,
    size_t rulesize)
{
	if (lc->acl == NULL)
		return ACCESS_OK;
	switch (acl_check(lc->acl, sa, NULL, 0)) {
	case ACL_DENIED:
		(void)acl_check(lc->acl, sa, rule, rulesize);
		return ACCESS_R_DENY;
	case ACL_NOT_ALLOWED:
		return ACCESS_R_NOT_ALLOWED;
	default:
		return ACCESS_OK;
	}
}

enum access_reason
access_check(const struct listener_conf *lc, unsigned scope, unsigned flags,
    const struct sockaddr *sa, struct source **srcp, char *rule, size_t rulesize)
{
	uint64_t now = util_now_ms();
	struct source *src = NULL;
	enum access_reason why;

	*srcp = NULL;
	rule[0] = '\0';
	if ((why = access_check_lists(lc, sa, rule, rulesize)) != ACCESS_OK)
		return why;
	access_udp_forget();
	if (access_sources != NULL)
		src = source_lookup(access_sources, scope, sa, (unsigned)lc->source_prefix_v4,
		    (unsigned)lc->source_prefix_v6, now);
	*srcp = src;
	if (src != NULL && lc->max_per_source > 0 && source_conns(src) >= lc->max_per_source)
		return ACCESS_R_PER_SOURCE;
	if (src != NULL && !source_rate_take(src, lc->rate_per_source, lc->burst, now))
		return ACCESS_R_SOURCE_RATE;
	if (access_rate > 0 && !(flags & ACCESS_F_OPERATOR) &&
	    !source_bucket_take(&access_bucket, now))
		return ACCESS_R_ACCEPT_RATE;
	return ACCESS_OK;
}

enum access_reason
access_check_proxy(const struct listener_conf *lc, const struct sockaddr *sa)
{
	if (lc->proxy_acl == NULL || acl_check(lc->proxy_acl, sa, NULL, 0) != ACL_PASS)
		return ACCESS_R_PROXY_UNTRUSTED;
	return ACCESS_OK;
}

enum access_budget
access_udp_budget(unsigned scope, const struct sockaddr *sa, unsigned prefix_v4,
    unsigned prefix_v6, const struct source_budget *b, size_t bytes, uint64_t now_ms)
{
	struct source *src;

	src = access_udp_source(scope, sa, prefix_v4, prefix_v6, now_ms);
	/* Not tracked: no budget to hold it to, so no reply (a spoofed flood of new sources). */
	if (src == NULL)
		return ACCESS_BUDGET_UNTRACKED;
	if (!source_budget_take(src, b, bytes, now_ms)) {
		source_refused(src, SOURCE_REASONS);	/* counted in the total only */
		return ACCESS_BUDGET_SPENT;
	}
	return ACCESS_BUDGET_OK;
}

void
access_admit(struct source *src)
{
	if (src != NULL)
		source_conn_open(src);
}

void
access_release(struct source *src)
{
	if (src != NULL && access_sources != NULL)
		source_conn_close(access_sources, src, util_now_ms());
}

/* ---------------------------------------------------------------- refusals */

void
access_refused(const char *listener, enum access_reason why, struct source *src,
    const struct sockaddr *sa, socklen_t salen, const char *rule)
{
	struct access_logstate *st = &access_log[why];
	uint64_t second = util_now_ms() / 1000;
	char abuf[ADDR_STRLEN];

	if (src != NULL)
		source_refused(src, (unsigned)why);
	if (st->second == second && st->second != 0) {
		st->suppressed++;
		return;
	}
	log_info(LOG_S_CONN, "refused listener=%s peer=%s reason=%s%s%s suppressed=%" PRIu64,
	    listener, sa != NULL ? addr_format(sa, salen, abuf, sizeof(abuf)) : "unix",
	    access_reason_names[why], rule != NULL && rule[0] != '\0' ? " rule=" : "",
	    rule != NULL ? rule : "", st->suppressed);
	st->second = second;
	st->suppressed = 0;
}

/* Once a second: the refusals suppressed in an earlier second, and source expiry. */
static void
access_tick_body(void)
{
	uint64_t second = util_now_ms() / 1000;
	struct timeval tv = { ACCESS_TICK_MS / 1000, 0 };
	int r;

	for (r = 0; r < ACCESS_R_COUNT; r++) {
		if (access_log[r].suppressed == 0 || access_log[r].second == second)
			continue;
		log_info(LOG_S_CONN, "refused reason=%s suppressed=%" PRIu64 " (not logged one by "
		    "one)", access_reason_names[r], access_log[r].suppressed);
		access_log[r].suppressed = 0;
	}
	if (access_sources != NULL) {
		access_udp_forget();
		source_expire(access_sources, util_now_ms());
	}
	evtimer_add(access_tick_ev, &tv);
}

static void
access_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("access_tick_cb", NULL, NULL, access_tick_body());
}

/* ---------------------------------------------------------------- SOURCES */

void
access_add_scope_names(access_scope_name_cb cb)
{
	size_t i;

	for (i = 0; i < ACCESS_SCOPE_HOOKS; i++) {
		if (access_scope_names[i] == NULL || access_scope_names[i] == cb) {
			access_scope_names[i] = cb;
			return;
		}
	}
	fatalx("access: more than %d scope name hooks", ACCESS_SCOPE_HOOKS);
}

static const char *
access_scope_name(unsigned scope)
{
	const char *name;
	size_t i;

	for (i = 0; i < ACCESS_SCOPE_HOOKS && access_scope_names[i] != NULL; i++)
		if ((name = access_scope_names[i](scope)) != NULL)
			return name;
	return NULL;
}

unsigned
access_scope_new(void)
{
	return access_next_scope++;
}

struct access_top_arg {
	void	(*cb)(const struct access_source *, void *);
	void	*arg;
	uint64_t now;
};

static void
access_top_cb(const struct source_info *si, void *arg)
{
	struct access_top_arg *t = arg;
	struct access_source as;
	const char *name = access_scope_name(si->scope);

	memset(&as, 0, sizeof(as));
	snprintf(as.addr, sizeof(as.addr), "%s", si->addr);
	as.listener = name != NULL ? name : "-";
	as.conns = si->conns;
	as.accepted = si->accepted;
	as.refused = si->refused;
	as.idle_ms = t->now > si->last_seen_ms ? t->now - si->last_seen_ms : 0;
	t->cb(&as, t->arg);
}

void
access_top(size_t n, void (*cb)(const struct access_source *, void *), void *arg)
{
	struct access_top_arg t = { cb, arg, util_now_ms() };

	if (access_sources != NULL)
		source_top(access_sources, n, access_top_cb, &t);
}

/* ---------------------------------------------------------------- setup */

static void
access_collect(struct stats_emit *e, void *arg)
{
	struct source_stats st;

	memset(&st, 0, sizeof(st));
	if (access_sources != NULL)
		source_table_stats(access_sources, &st);
	switch (*(const char *)arg) {
	case 'e':
		stats_emit_u64(e, st.entries);
		break;
	case 'u':
		stats_emit_u64(e, st.untracked);
		break;
	case 'v':
		stats_emit_u64(e, st.evicted);
		break;
	case 'x':
		stats_emit_u64(e, st.expired);
		break;
	default:
		stats_emit_u64(e, st.memory);
		break;
	}
}

static const struct stats_family access_families[] = {
	{ "sources_tracked", STATS_GAUGE, STATS_UNIT_NONE,
	  "Sources in the per-source table (bounded by max_sources).", { NULL }, access_collect,
	  "e" },
	{ "sources_untracked_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "New sources admitted untracked because the table was full of busy sources.",
	  { NULL }, access_collect, "u" },
	{ "sources_evicted_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Idle sources dropped to make room for new ones.", { NULL }, access_collect, "v" },
	{ "sources_expired_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Idle sources forgotten after source_expire.", { NULL }, access_collect, "x" },
	{ "sources_memory_bytes", STATS_GAUGE, STATS_UNIT_NONE,
	  "Memory held by the per-source table.", { NULL }, access_collect, "m" },
};

void
access_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(access_families); i++)
		stats_register(&access_families[i]);
}

/* The tick timer needs the loop's base: created on the first configure. */
static void
access_tick_start(struct event_base *base)
{
	struct timeval tv = { ACCESS_TICK_MS / 1000, 0 };

	if (access_tick_ev != NULL || base == NULL)
		return;
	if ((access_tick_ev = evtimer_new(base, access_tick_cb, NULL)) == NULL)
		fatalx("access: evtimer_new failed");
	evtimer_add(access_tick_ev, &tv);
}

void
access_configure(struct event_base *base, const struct config *cf)
{
	uint64_t now = util_now_ms();

	access_udp_forget();
	if (access_sources == NULL)
		access_sources = source_table_new((size_t)cf->max_sources, cf->source_expire_ms);
	else
		source_table_set_limits(access_sources, (size_t)cf->max_sources,
		    cf->source_expire_ms, now);
	if (cf->accept_rate != access_rate || cf->accept_burst != access_burst) {
		access_rate = cf->accept_rate;
		access_burst = cf->accept_burst;
		source_bucket_init(&access_bucket, access_rate,
		    access_burst > 0 ? access_burst : access_rate, now);
	}
	access_tick_start(base);
}

void
access_stop(void)
{
	size_t i;

	if (access_tick_ev != NULL)
		event_free(access_tick_ev);
	access_tick_ev = NULL;
	access_udp_forget();
	source_table_free(access_sources);
	access_sources = NULL;
	access_rate = access_burst = 0;
	memset(access_log, 0, sizeof(access_log));
	for (i = 0; i < ARRAY_LEN(access_families); i++)
		stats_unregister(&access_families[i]);
}
