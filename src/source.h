/*
 * source.h: the bounded per-source table behind max_per_source,
 * rate_per_source/burst and the admin SOURCES command, and the token bucket
 * used for per-source and global accept rates.
 *
 * A source is a peer address masked to a prefix (IPv4 by prefix_v4, IPv6 by
 * prefix_v6; an IPv4-mapped IPv6 peer is IPv4) within a scope, a small
 * integer the caller chooses per listener. One table serves the whole
 * daemon; max_sources bounds it. When it is full, the least recently used
 * entry that holds nothing worth keeping (no open connection, full bucket)
 * is reused; entries with open connections or a partly drained bucket are
 * never evicted. If no entry can be evicted the new source is not tracked:
 * source_lookup() returns NULL and the caller admits it under the global
 * limits only.
 *
 * Time is the caller's monotonic clock in milliseconds, passed in.
 * Threads: the loop thread only (no locking).
 *
 * Lifetime: an entry with open connections (source_conn_open() without its
 * source_conn_close()) is never freed, so a connection may keep its
 * struct source * while it is open. Any other entry pointer is valid only
 * until the next call that may free entries: source_lookup() of another
 * source, source_expire(), source_table_set_limits(), source_table_free().
 */
#ifndef ECHOD_SOURCE_H
#define ECHOD_SOURCE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define SOURCE_REASONS		8	/* refusal reasons counted per source */
#define SOURCE_ADDRLEN		56	/* INET6_ADDRSTRLEN, "/128" */
#define SOURCE_DEFAULT_MAX	100000
#define SOURCE_DEFAULT_V4	32
#define SOURCE_DEFAULT_V6	64

struct source_table;
struct source;

/* What SOURCES shows for one source. */
struct source_info {
	char		 addr[SOURCE_ADDRLEN];	/* "192.0.2.7", "198.51.100.0/24", "2001:db8::/64" */
	unsigned	 scope;
	unsigned	 conns;			/* open now */
	uint64_t	 accepted;		/* connections opened */
	uint64_t	 refused;		/* all reasons */
	uint32_t	 refused_by[SOURCE_REASONS];	/* per reason, saturating */
	uint64_t	 last_seen_ms;		/* last lookup or close */
};

struct source_stats {
	size_t		 entries;
	size_t		 max;
	uint64_t	 untracked;	/* lookups of new sources refused an entry (table full) */
	uint64_t	 evicted;	/* clean entries reused for a new source, or dropped on a lower max */
	uint64_t	 expired;	/* freed by source_expire() */
	uint64_t	 scanned;	/* entries examined by expiry and eviction: their whole cost */
	size_t		 memory;	/* bytes held: entries, buckets, the table */
};

typedef void (*source_top_cb)(const struct source_info *, void *);

/*
 * max_sources: the bound on entries (0: track nothing). idle_ms: an entry
 * with no open connection and a full bucket is freed by source_expire()
 * this long after its last use (0: idle entries stay until evicted).
 */
struct source_table	*source_table_new(size_t max_sources, uint64_t idle_ms);
void			 source_table_free(struct source_table *t);
/*
 * On reload. A lower max drops clean entries (LRU first) down to it; entries
 * with connections or refilling buckets stay, and new sources are not
 * tracked until the count is below the max again.
 */
void			 source_table_set_limits(struct source_table *t, size_t max_sources,
			    uint64_t idle_ms, uint64_t now_ms);
void			 source_table_stats(const struct source_table *t, struct source_stats *st);

/*
 * The entry for sa in scope, created if needed; marks it used at now_ms.
 * NULL when the table is full and nothing can be evicted (counted as
 * untracked), and for peers that are not IPv4 or IPv6 (unix sockets; not
 * counted). Prefix lengths above 32 or 128 mean the whole address.
 */
struct source		*source_lookup(struct source_table *t, unsigned scope,
			    const struct sockaddr *sa, unsigned prefix_v4, unsigned prefix_v6,
			    uint64_t now_ms);

/*
 * The source's connect-rate bucket: 1 and one token taken, or 0 (refused).
 * rate_per_s 0 means unlimited (the bucket is not touched); burst is the
 * bucket size, 0 counts as 1. The bucket starts full.
 */
int			 source_rate_take(struct source *s, uint64_t rate_per_s, uint64_t burst,
			    uint64_t now_ms);
/*
 * A reply budget (UDP listeners): packets and bytes a second sent to one
 * source, each a token bucket holding `burst` (0 counts as 1); a rate of 0
 * is no limit. The buckets start full.
 */
struct source_budget {
	uint64_t	 pkt_rate;
	uint64_t	 pkt_burst;
	uint64_t	 byte_rate;
	uint64_t	 byte_burst;
};
/*
 * A reply of `bytes` to s: 1 and one packet and `bytes` bytes taken, or 0
 * and nothing taken (either bucket short). A refilling budget keeps the
 * entry from being evicted or expired, like a refilling connect rate.
 */
int			 source_budget_take(struct source *s, const struct source_budget *b,
			    uint64_t bytes, uint64_t now_ms);
/* A connection from s was admitted: counts it open and accepted. */
void			 source_conn_open(struct source *s);
/* That connection closed; the entry may now expire or be evicted. */
void			 source_conn_close(struct source_table *t, struct source *s,
			    uint64_t now_ms);
/*
 * A connection from s was refused. reason: the caller's index below
 * SOURCE_REASONS (others count in the total only).
 */
void			 source_refused(struct source *s, unsigned reason);
unsigned		 source_conns(const struct source *s);
void			 source_get_info(const struct source *s, struct source_info *info);

/* Free entries idle for idle_ms with a full bucket; returns how many. Walks only the old end. */
size_t			 source_expire(struct source_table *t, uint64_t now_ms);
/* Visit the n busiest sources: most open connections, then refusals, then accepts. */
void			 source_top(const struct source_table *t, size_t n, source_top_cb cb,
			    void *arg);

/*
 * A token bucket for a global rate ([server] accept_rate): rate_per_s
 * tokens a second, up to burst (0 counts as 1); starts full. Integer
 * milli-token arithmetic: no drift however the calls are spaced.
 */
struct source_bucket {
	uint64_t	 rate;		/* tokens per second; 0: unlimited */
	uint64_t	 cap;		/* milli-tokens */
	uint64_t	 tokens;	/* milli-tokens */
	uint64_t	 stamp_ms;	/* tokens were computed for this time */
};

void			 source_bucket_init(struct source_bucket *b, uint64_t rate_per_s,
			    uint64_t burst, uint64_t now_ms);
/* 1 and one token taken, or 0. */
int			 source_bucket_take(struct source_bucket *b, uint64_t now_ms);
/* Milliseconds until a token is there (0: now), to pause accepting that long. */
uint64_t		 source_bucket_wait_ms(const struct source_bucket *b, uint64_t now_ms);

#endif
