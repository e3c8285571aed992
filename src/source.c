/*
 * source.c: the per-source table (hash table, idle LRU list, eviction and
 * expiry) and the token bucket. Loop thread only; no locking, no logging.
 *
 * Entries are chained in a hash table keyed with SipHash-1-3 under a
 * per-process random key, so a remote peer cannot pick addresses that
 * collide. The bucket array doubles with the entry count up to the power of
 * two at or above max_sources and never beyond.
 *
 * An entry with no open connection is on the idle list, oldest use first;
 * an entry with connections is on no list, so neither expiry nor eviction
 * ever walks past it. Both work from the old end of the idle list and stop
 * early: expiry at the first entry used less than idle_ms ago, eviction
 * after SOURCE_EVICT_SCAN entries. An idle entry whose bucket is still
 * refilling is not clean; it is moved to the young end and looked at again
 * later, which keeps the list ordered and each pass short.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "siphash.h"
#include "source.h"
#include "util.h"

#define SOURCE_MILLI		1000	/* milli-tokens per token */
#define SOURCE_EVICT_SCAN	32	/* idle entries an eviction looks at */
#define SOURCE_MIN_BUCKETS	16

struct source_link {
	struct source_link	*prev;
	struct source_link	*next;
};

struct source_key {
	uint64_t	 addr[2];	/* masked; IPv4 in the top 32 bits of addr[0] */
	uint32_t	 scope;
	uint8_t		 fam;		/* 4 or 6 */
	uint8_t		 plen;
};

struct source {
	struct source_link	 lru;		/* first: a link is its entry; NULL links: busy */
	struct source		*hnext;
	struct source_key	 key;
	uint32_t		 conns;
	uint64_t		 accepted;
	uint64_t		 refused;
	uint32_t		 refused_by[SOURCE_REASONS];
	uint64_t		 tokens;	/* milli-tokens; UINT64_MAX: full, size not known yet */
	uint64_t		 stamp_ms;	/* tokens computed for this time */
	uint64_t		 pkt_tokens;	/* reply budget (UDP), milli-packets; as tokens */
	uint64_t		 byte_tokens;	/* milli-bytes */
	uint64_t		 budget_ms;	/* both computed for this time */
	uint64_t		 full_ms;	/* the bucket is full again from then on */
	uint64_t		 seen_ms;
	uint64_t		 lru_ms;	/* when it was put at the young end of the idle list */
};

struct source_table {
	struct source		**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  entries;
	size_t			  max;
	uint64_t		  idle_ms;
	struct source_link	  idle;		/* sentinel: idle.next is the oldest */
	struct siphash_key	  hkey;
	uint64_t		  untracked;
	uint64_t		  evicted;
	uint64_t		  expired;
	uint64_t		  scanned;
};

/* ---------------------------------------------------------------- token buckets */

static uint64_t
source_cap(uint64_t burst)
{
	if (burst == 0)
		return SOURCE_MILLI;
	if (burst > UINT64_MAX / SOURCE_MILLI)
		return UINT64_MAX / SOURCE_MILLI * SOURCE_MILLI;
	return burst * SOURCE_MILLI;
}

/* The bucket's content at now (rate milli-tokens a millisecond), without taking. */
static uint64_t
source_fill(uint64_t tokens, uint64_t stamp_ms, uint64_t rate, uint64_t cap, uint64_t now_ms)
{
	uint64_t elapsed, room;

	if (tokens >= cap)
		return cap;
	if (now_ms <= stamp_ms)
		return tokens;
	elapsed = now_ms - stamp_ms;
	room = cap - tokens;
	/* elapsed * rate > room, asked without overflowing. */
	if (elapsed > room / rate)
		return cap;
	return tokens + elapsed * rate;
}

static int
source_take(uint64_t *tokens, uint64_t *stamp_ms, uint64_t rate, uint64_t cap, uint64_t now_ms)
{
	*tokens = source_fill(*tokens, *stamp_ms, rate, cap, now_ms);
	if (now_ms > *stamp_ms)
		*stamp_ms = now_ms;
	if (*tokens < SOURCE_MILLI)
		return 0;
	*tokens -= SOURCE_MILLI;
	return 1;
}

/* Milliseconds until the bucket holds want milli-tokens (rounded up). */
static uint64_t
source_wait(uint64_t have, uint64_t want, uint64_t rate)
{
	if (have >= want)
		return 0;
	return (want - have + rate - 1) / rate;
}

void
source_bucket_init(struct source_bucket *b, uint64_t rate_per_s, uint64_t burst, uint64_t now_ms)
{
	b->rate = rate_per_s;
	b->cap = source_cap(burst);
	b->tokens = b->cap;
	b->stamp_ms = now_ms;
}

int
source_bucket_take(struct source_bucket *b, uint64_t now_ms)
{
	if (b->rate == 0)
		return 1;
	return source_take(&b->tokens, &b->stamp_ms, b->rate, b->cap, now_ms);
}

uint64_t
source_bucket_wait_ms(const struct source_bucket *b, uint64_t now_ms)
{
	uint64_t have;

	if (b->rate == 0)
		return 0;
	have = source_fill(b->tokens, b->stamp_ms, b->rate, b->cap, now_ms);
	return source_wait(have, SOURCE_MILLI, b->rate);
}

/* The entry is clean again only once every bucket it has is full. */
static void
source_full_at(struct source *s, uint64_t when_ms)
{
	if (when_ms > s->full_ms)
		s->full_ms = when_ms;
}

int
source_rate_take(struct source *s, uint64_t rate_per_s, uint64_t burst, uint64_t now_ms)
{
	uint64_t cap = source_cap(burst);
	int ok;

	if (rate_per_s == 0)
		return 1;
	ok = source_take(&s->tokens, &s->stamp_ms, rate_per_s, cap, now_ms);
	source_full_at(s, s->stamp_ms + source_wait(s->tokens, cap, rate_per_s));
	return ok;
}

int
source_budget_take(struct source *s, const struct source_budget *b, uint64_t bytes,
    uint64_t now_ms)
{
	uint64_t pcap = source_cap(b->pkt_burst), bcap = source_cap(b->byte_burst);
	uint64_t need = bytes > UINT64_MAX / SOURCE_MILLI ? UINT64_MAX : bytes * SOURCE_MILLI;
	uint64_t pt = s->pkt_tokens, bt = s->byte_tokens;

	if (b->pkt_rate != 0)
		pt = source_fill(pt, s->budget_ms, b->pkt_rate, pcap, now_ms);
	if (b->byte_rate != 0)
		bt = source_fill(bt, s->budget_ms, b->byte_rate, bcap, now_ms);
	if (now_ms > s->budget_ms)
		s->budget_ms = now_ms;
	s->pkt_tokens = pt;
	s->byte_tokens = bt;
	if ((b->pkt_rate != 0 && pt < SOURCE_MILLI) || (b->byte_rate != 0 && bt < need))
		return 0;
	if (b->pkt_rate != 0) {
		s->pkt_tokens -= SOURCE_MILLI;
		source_full_at(s, s->budget_ms + source_wait(s->pkt_tokens, pcap, b->pkt_rate));
	}
	if (b->byte_rate != 0) {
		s->byte_tokens -= need;
		source_full_at(s, s->budget_ms + source_wait(s->byte_tokens, bcap, b->byte_rate));
	}
	return 1;
}

/* ---------------------------------------------------------------- idle list */

static void
source_idle_unlink(struct source *s)
{
	s->lru.prev->next = s->lru.next;
	s->lru.next->prev = s->lru.prev;
	s->lru.prev = s->lru.next = NULL;
}

static void
source_idle_append(struct source_table *t, struct source *s, uint64_t now_ms)
{
	s->lru.prev = t->idle.prev;
	s->lru.next = &t->idle;
	t->idle.prev->next = &s->lru;
	t->idle.prev = &s->lru;
	s->lru_ms = now_ms;
}

static int
source_is_idle(const struct source *s)
{
	return s->lru.next != NULL;
}

/* The oldest idle entry, or NULL. */
static struct source *
source_idle_oldest(struct source_table *t)
{
	return t->idle.next == &t->idle ? NULL : (struct source *)t->idle.next;
}

/* Nothing worth keeping: no connection, and the bucket is full (as a new entry's would be). */
static int
source_is_clean(const struct source *s, uint64_t now_ms)
{
	return s->conns == 0 && s->full_ms <= now_ms;
}

/* ---------------------------------------------------------------- hash table */

static uint64_t
source_hash(const struct source_table *t, const struct source_key *k)
{
	uint64_t w[3];

	w[0] = k->addr[0];
	w[1] = k->addr[1];
	w[2] = (uint64_t)k->scope | (uint64_t)k->fam << 32 | (uint64_t)k->plen << 40;
	return siphash13(&t->hkey, w, sizeof(w));
}

static int
source_key_eq(const struct source_key *a, const struct source_key *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] && a->scope == b->scope &&
	    a->fam == b->fam && a->plen == b->plen;
}

/* The smallest power of two at or above n (at least SOURCE_MIN_BUCKETS). */
static size_t
source_pow2(size_t n)
{
	size_t p = SOURCE_MIN_BUCKETS;

	while (p < n && p <= SIZE_MAX / 2)
		p *= 2;
	return p;
}

static void
source_rehash(struct source_table *t, size_t nbuckets)
{
	struct source **nb, *s, *next;
	size_t i, h;

	/* Out of memory the table keeps its size: longer chains, nothing lost. */
	if ((nb = util_calloc(nbuckets, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (s = t->buckets[i]; s != NULL; s = next) {
			next = s->hnext;
			h = (size_t)source_hash(t, &s->key) & (nbuckets - 1);
			s->hnext = nb[h];
			nb[h] = s;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = nbuckets;
}

static void
source_hash_unlink(struct source_table *t, struct source *s)
{
	struct source **pp;

	pp = &t->buckets[source_hash(t, &s->key) & (t->nbuckets - 1)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;
}

/* Take an idle entry out of the table (its memory is the caller's). */
static void
source_remove(struct source_table *t, struct source *s)
{
	source_hash_unlink(t, s);
	source_idle_unlink(s);
	t->entries--;
}

/* ---------------------------------------------------------------- table */

struct source_table *
source_table_new(size_t max_sources, uint64_t idle_ms)
{
	struct source_table *t = xcalloc(1, sizeof(*t));

	t->max = max_sources;
	t->idle_ms = idle_ms;
	t->idle.prev = t->idle.next = &t->idle;
	t->hkey = *siphash_process_key();
	t->nbuckets = SOURCE_MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

void
source_table_free(struct source_table *t)
{
	struct source *s, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (s = t->buckets[i]; s != NULL; s = next) {
			next = s->hnext;
			free(s);
		}
	}
	free(t->buckets);
	free(t);
}

void
source_table_set_limits(struct source_table *t, size_t max_sources, uint64_t idle_ms,
    uint64_t now_ms)
{
	struct source_link *l, *next;
	struct source *s;
	size_t want;

	t->max = max_sources;
	t->idle_ms = idle_ms;
	/* A reload is rare: walking the whole idle list once is fine here. */
	for (l = t->idle.next; l != &t->idle && t->entries > t->max; l = next) {
		next = l->next;
		s = (struct source *)l;
		if (source_is_clean(s, now_ms)) {
			source_remove(t, s);
			free(s);
			t->evicted++;
		}
	}
	/* Busy entries may keep the count above the new max for a while. */
	want = source_pow2(t->max > t->entries ? t->max : t->entries);
	if (t->nbuckets > want)
		source_rehash(t, want);
}

void
source_table_stats(const struct source_table *t, struct source_stats *st)
{
	st->entries = t->entries;
	st->max = t->max;
	st->untracked = t->untracked;
	st->evicted = t->evicted;
	st->expired = t->expired;
	st->scanned = t->scanned;
	st->memory = sizeof(*t) + t->nbuckets * sizeof(*t->buckets) +
	    t->entries * sizeof(struct source);
}

/* The key of a peer in scope; -1 if it is not an IP peer. */
static int
source_key_of(const struct sockaddr *sa, unsigned scope, unsigned prefix_v4,
    unsigned prefix_v6, struct source_key *k)
{
	uint64_t key[2];
	unsigned plen;
	int fam;

	memset(k, 0, sizeof(*k));
	k->scope = scope;
	if ((fam = addr_key_of(sa, key)) == -1)
		return -1;
	k->fam = (uint8_t)fam;
	plen = fam == 4 ? (prefix_v4 > 32 ? 32 : prefix_v4) : (prefix_v6 > 128 ? 128 : prefix_v6);
	k->plen = (uint8_t)plen;
	addr_key_mask(k->addr, key, plen);
	return 0;
}

/*
 * Make room for one entry in a full table: the least recently used clean
 * idle entry, taken out of the table, or NULL. Refilling entries met on the
 * way go to the young end; at most SOURCE_EVICT_SCAN entries are examined.
 */
static struct source *
source_evict(struct source_table *t, uint64_t now_ms)
{
	struct source *s, *first_moved = NULL;
	int i;

	for (i = 0; i < SOURCE_EVICT_SCAN; i++) {
		if ((s = source_idle_oldest(t)) == NULL || s == first_moved)
			break;
		t->scanned++;
		if (source_is_clean(s, now_ms)) {
			source_remove(t, s);
			t->evicted++;
			return s;
		}
		source_idle_unlink(s);
		source_idle_append(t, s, now_ms);
		if (first_moved == NULL)
			first_moved = s;
	}
	return NULL;
}

static void
source_init(struct source *s, const struct source_key *k, uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->tokens = UINT64_MAX;
	s->stamp_ms = now_ms;
	s->pkt_tokens = s->byte_tokens = UINT64_MAX;
	s->budget_ms = now_ms;
	s->seen_ms = now_ms;
}

struct source *
source_lookup(struct source_table *t, unsigned scope, const struct sockaddr *sa,
    unsigned prefix_v4, unsigned prefix_v6, uint64_t now_ms)
{
	struct source_key k;
	struct source *s;
	size_t h;

	if (source_key_of(sa, scope, prefix_v4, prefix_v6, &k) == -1)
		return NULL;
	h = (size_t)source_hash(t, &k);
	for (s = t->buckets[h & (t->nbuckets - 1)]; s != NULL; s = s->hnext) {
		if (source_key_eq(&s->key, &k)) {
			s->seen_ms = now_ms;
			if (source_is_idle(s)) {
				source_idle_unlink(s);
				source_idle_append(t, s, now_ms);
			}
			return s;
		}
	}
	/*
	 * Full: reuse a clean entry. More than one goes only when a reload
	 * lowered the max below the count.
	 */
	s = NULL;
	while (t->entries >= t->max) {
		free(s);
		if ((s = source_evict(t, now_ms)) == NULL)
			break;
	}
	if (t->entries >= t->max) {
		t->untracked++;
		return NULL;
	}
	/* Out of memory: untracked, as when the table is full. */
	if (s == NULL && (s = util_malloc(sizeof(*s))) == NULL) {
		t->untracked++;
		return NULL;
	}
	if (t->entries + 1 > t->nbuckets && t->nbuckets < source_pow2(t->max))
		source_rehash(t, t->nbuckets * 2);
	source_init(s, &k, now_ms);
	s->hnext = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = s;
	source_idle_append(t, s, now_ms);
	t->entries++;
	return s;
}

void
source_conn_open(struct source *s)
{
	if (s->conns++ == 0 && source_is_idle(s))
		source_idle_unlink(s);
	s->accepted++;
}

void
source_conn_close(struct source_table *t, struct source *s, uint64_t now_ms)
{
	if (s->conns == 0)
		fatalx("source: connection closed twice");
	s->seen_ms = now_ms;
	if (--s->conns == 0)
		source_idle_append(t, s, now_ms);
}

void
source_refused(struct source *s, unsigned reason)
{
	s->refused++;
	if (reason < SOURCE_REASONS && s->refused_by[reason] < UINT32_MAX)
		s->refused_by[reason]++;
}

unsigned
source_conns(const struct source *s)
{
	return s->conns;
}

void
source_get_info(const struct source *s, struct source_info *info)
{
	addr_key_format(info->addr, sizeof(info->addr), s->key.fam, s->key.addr, s->key.plen);
	info->scope = s->key.scope;
	info->conns = s->conns;
	info->accepted = s->accepted;
	info->refused = s->refused;
	memcpy(info->refused_by, s->refused_by, sizeof(info->refused_by));
	info->last_seen_ms = s->seen_ms;
}

size_t
source_expire(struct source_table *t, uint64_t now_ms)
{
	struct source *s, *first_moved = NULL;
	size_t n = 0;

	if (t->idle_ms == 0)
		return 0;
	while ((s = source_idle_oldest(t)) != NULL && s != first_moved) {
		if (now_ms < s->lru_ms || now_ms - s->lru_ms < t->idle_ms)
			break;
		t->scanned++;
		if (source_is_clean(s, now_ms)) {
			source_remove(t, s);
			free(s);
			t->expired++;
			n++;
		} else {
			source_idle_unlink(s);
			source_idle_append(t, s, now_ms);
			if (first_moved == NULL)
				first_moved = s;
		}
	}
	return n;
}

/* ---------------------------------------------------------------- top sources */

/* >0 if a is busier than b; a total order (the key breaks ties). */
static int
source_busier(const struct source *a, const struct source *b)
{
	if (a->conns != b->conns)
		return a->conns > b->conns ? 1 : -1;
	if (a->refused != b->refused)
		return a->refused > b->refused ? 1 : -1;
	if (a->accepted != b->accepted)
		return a->accepted > b->accepted ? 1 : -1;
	if (a->key.scope != b->key.scope)
		return a->key.scope < b->key.scope ? 1 : -1;
	if (a->key.fam != b->key.fam)
		return a->key.fam < b->key.fam ? 1 : -1;
	if (a->key.addr[0] != b->key.addr[0])
		return a->key.addr[0] < b->key.addr[0] ? 1 : -1;
	if (a->key.addr[1] != b->key.addr[1])
		return a->key.addr[1] < b->key.addr[1] ? 1 : -1;
	if (a->key.plen != b->key.plen)
		return a->key.plen < b->key.plen ? 1 : -1;
	return 0;
}

static int
source_top_cmp(const void *a, const void *b)
{
	return source_busier(*(struct source *const *)b, *(struct source *const *)a);
}

/* Restore the min-heap (least busy at 0) below slot i. */
static void
source_heap_down(struct source **heap, size_t n, size_t i)
{
	struct source *tmp;
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && source_busier(heap[c], heap[c + 1]) > 0)
			c++;
		if (source_busier(heap[i], heap[c]) <= 0)
			break;
		tmp = heap[i];
		heap[i] = heap[c];
		heap[c] = tmp;
		i = c;
	}
}

static void
source_heap_up(struct source **heap, size_t i)
{
	struct source *tmp;
	size_t p;

	while (i > 0 && source_busier(heap[p = (i - 1) / 2], heap[i]) > 0) {
		tmp = heap[i];
		heap[i] = heap[p];
		heap[p] = tmp;
		i = p;
	}
}

void
source_top(const struct source_table *t, size_t n, source_top_cb cb, void *arg)
{
	struct source_info info;
	struct source **heap, *s;
	size_t i, len = 0;

	if (n > t->entries)
		n = t->entries;
	if (n == 0)
		return;
	heap = xreallocarray(NULL, n, sizeof(*heap));
	for (i = 0; i < t->nbuckets; i++) {
		for (s = t->buckets[i]; s != NULL; s = s->hnext) {
			if (len < n) {
				heap[len] = s;
				source_heap_up(heap, len++);
			} else if (source_busier(s, heap[0]) > 0) {
				heap[0] = s;
				source_heap_down(heap, len, 0);
			}
		}
	}
	qsort(heap, len, sizeof(*heap), source_top_cmp);
	for (i = 0; i < len; i++) {
		source_get_info(heap[i], &info);
		cb(&info, arg);
	}
	free(heap);
}
