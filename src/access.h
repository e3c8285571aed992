/*
 * access.h: who may connect. At accept, before a byte is read, a peer is
 * checked against its listener's allow/deny lists, its source's concurrent
 * connections and connect rate, and the daemon-wide accept rate; a PROXY
 * protocol listener checks the balancer first and the proxied client once
 * its header is read. Refusals are counted by reason per listener (by the
 * caller) and per source, and logged at most once per reason per second
 * with a count of the lines suppressed. Loop thread only.
 *
 * The per-source table (source.h) is one for the daemon, bounded by
 * [server] max_sources; a connection holds its source entry while open
 * (access_admit / access_release), so that entry is never evicted. UDP
 * listeners (udp.c) keep their sources' reply budgets in the same table,
 * each listener in its own scope.
 */
#ifndef ECHOD_ACCESS_H
#define ECHOD_ACCESS_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct listener_conf;
struct source;
struct source_budget;

/* Why a connection was refused: a counter per listener and a log reason each. */
enum access_reason {
	ACCESS_OK = 0,
	ACCESS_R_FD_LIMIT,          /* accept: out of descriptors */
	ACCESS_R_ACCEPT_ERROR,      /* accept: any other error */
	ACCESS_R_DENY,              /* the longest match is a deny entry */
	ACCESS_R_NOT_ALLOWED,       /* allow entries exist and none matched */
	ACCESS_R_PER_SOURCE,        /* max_per_source connections open */
	ACCESS_R_SOURCE_RATE,       /* rate_per_source exceeded */
	ACCESS_R_ACCEPT_RATE,       /* [server] accept_rate exceeded */
	ACCESS_R_PROXY_UNTRUSTED,   /* a PROXY listener, not from proxy_from */
	ACCESS_R_PROXY_HEADER,      /* a malformed, truncated or refused PROXY header */
	ACCESS_R_PROXY_TIMEOUT,     /* no complete PROXY header within proxy_timeout */
	ACCESS_R_OOM,               /* accept: out of memory for the connection */
	ACCESS_R_COUNT
};
/* "deny_list", "max_per_source", ... (labels and log reasons) */
const char	*access_reason_name(enum access_reason r);

/* Start-up: the source table, the daemon-wide bucket, the counters. */
void		 access_init(void);
/* [server] accept_rate, accept_burst, max_sources, source_expire (start-up, reload). */
void		 access_configure(struct event_base *base, const struct config *cf);
void		 access_stop(void);

/*
 * access_check() flags. ACCESS_F_OPERATOR: the operator's console; [server]
 * accept_rate does not apply, so a connection flood cannot lock the
 * operator out.
 */
#define ACCESS_F_OPERATOR	0x1

/*
 * May `sa` connect to the listener `lc` (scope: the listener's number in the
 * source table)? ACCESS_OK and *srcp set (NULL when not tracked: unix peers,
 * a full table) when it may, else the reason; `rule` gets the deciding list
 * entry for the log. Takes a connect-rate token on success.
 */
enum access_reason access_check(const struct listener_conf *lc, unsigned scope, unsigned flags,
		    const struct sockaddr *sa, struct source **srcp, char *rule, size_t rulesize);
/* PROXY listeners: is the balancer `sa` in proxy_from? */
enum access_reason access_check_proxy(const struct listener_conf *lc, const struct sockaddr *sa);
/* The connection from src (may be NULL) was admitted / has closed. */
void		 access_admit(struct source *src);
void		 access_release(struct source *src);
/* Count a refusal against the source (if tracked) and log it without flooding. */
void		 access_refused(const char *listener, enum access_reason why, struct source *src,
		    const struct sockaddr *sa, socklen_t salen, const char *rule);

/* SOURCES [n]: the n busiest sources. */
struct access_source {
	char		 addr[64];
	const char	*listener;
	unsigned	 conns;
	uint64_t	 accepted;
	uint64_t	 refused;
	uint64_t	 idle_ms;
};
/* Scope -> listener name (NULL: not mine), for SOURCES; listener.c and udp.c install one each. */
typedef const char *(*access_scope_name_cb)(unsigned scope);
void		 access_add_scope_names(access_scope_name_cb cb);
/* A listener's own scope in the source table: a number never handed out before. */
unsigned	 access_scope_new(void);

/*
 * UDP: may a reply of `bytes` go to `sa` (a source by prefix_v4/v6 in
 * `scope`) under budget `b`? ACCESS_BUDGET_OK and the budget spent, or why
 * not: spent, or the source has no entry (the table is full of sources
 * still refilling; max_sources 0). Loop thread.
 */
enum access_budget {
	ACCESS_BUDGET_OK = 0,
	ACCESS_BUDGET_SPENT,
	ACCESS_BUDGET_UNTRACKED,
};
enum access_budget access_udp_budget(unsigned scope, const struct sockaddr *sa,
		    unsigned prefix_v4, unsigned prefix_v6, const struct source_budget *b,
		    size_t bytes, uint64_t now_ms);
void		 access_top(size_t n, void (*cb)(const struct access_source *, void *), void *arg);

#endif
