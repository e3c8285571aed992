/*
 * debug.c: debug mode and loop health: slow-callback timing and the slowlog
 * ring, the loop-lag monitor, wrong-thread checks, reports on pool jobs
 * whose error nobody retrieved or that never ran, and the exit reports.
 *
 * Threads: everything runs on the loop thread, except debug_wrong_thread()
 * (any thread: it is the check) and the OpenSSL ex_data callbacks that count
 * live SSL objects (whichever thread creates or frees one). The counters
 * that other threads touch are atomics.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_EXECINFO_H
#include <execinfo.h>
#endif

#include <event2/event.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "conn.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "pool.h"
#include "util.h"

#define DEBUG_BT_MAX		24
#define DEBUG_CB_NAMES_MAX	32
#define DEBUG_FDS_MAX		4096

int debug_mode;

const uint64_t debug_hist_bounds_us[DEBUG_HIST_BUCKETS] = {
	10, 50, 100, 500, 1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

struct debug_job_site {
	int	 n;
	void	*frames[DEBUG_BT_MAX];
};

struct debug_cb_hist {
	const char		*name;
	struct debug_hist	 h;
};

static struct event_base	*debug_base;
static pthread_t		 debug_loop_thread;
static int			 debug_have_loop;
static int			 debug_cfg_seen;	/* debug_configure ran once */
static int			 debug_cfg_enabled;	/* last configured value */
static uint64_t			 debug_slow_us = 100 * 1000;
static uint64_t			 debug_lag_threshold_us = 100 * 1000;

/* Slowlog ring. */
static struct debug_slow	*debug_slowlog;
static size_t			 debug_slowlog_cap = 128;
static size_t			 debug_slowlog_head;	/* next slot */
static size_t			 debug_slowlog_len;

/* Callback-duration histograms by name (static strings). */
static struct debug_cb_hist	 debug_cb_hists[DEBUG_CB_NAMES_MAX];
static size_t			 debug_ncb_hists;

/* Loop lag. */
static struct event		*debug_lag_ev;
static uint64_t			 debug_lag_due_us;
static uint64_t			 debug_lag_ring[DEBUG_LAG_WINDOW];
static size_t			 debug_lag_len, debug_lag_next;
static uint64_t			 debug_lag_max_us;
static struct debug_hist	 debug_lag_h;

/* Counters; the wrong-thread one is bumped off the loop thread. */
static uint64_t			 debug_nslow;
static uint64_t			 debug_nwrong;
static uint64_t			 debug_nunretrieved;
static uint64_t			 debug_nunscheduled;

/* Descriptors open at start-up, and live TLS objects. */
static int			*debug_fds0;
static size_t			 debug_nfds0;
static int			 debug_ssl_index = -1;
static uint64_t			 debug_live_ssl;
static uint64_t			 debug_live_ssl_ctx;

static void	debug_lag_arm(void);

/* ---------------------------------------------------------------- pure helpers */

void
debug_hist_add(struct debug_hist *h, uint64_t us)
{
	size_t i;

	for (i = 0; i < DEBUG_HIST_BUCKETS && us > debug_hist_bounds_us[i]; i++)
		continue;
	h->counts[i]++;
	h->count++;
	h->sum_us += us;
}

static int
debug_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least pct% of the samples at or below it. */
uint64_t
debug_percentile(uint64_t *v, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), debug_u64_cmp);
	if (pct >= 100)
		return v[n - 1];
	rank = (n * pct + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* ---------------------------------------------------------------- mode */

void
debug_set_enabled(int on, const char *who)
{
	on = on != 0;
	if (on == debug_mode)
		return;
	__atomic_store_n(&debug_mode, on, __ATOMIC_RELAXED);
	log_msg(on ? LOG_L_WARNING : LOG_L_INFO, LOG_S_DEBUG, "debug mode %s by=%s",
	    on ? "on" : "off", who);
}

static int
debug_env_enabled(void)
{
	const char *e = getenv("ECHOD_DEBUG");
	int v;

	if (e == NULL || *e == '\0')
		return 0;
	if (util_parse_bool(e, &v) == -1)
		return 1;	/* like PYTHONASYNCIODEBUG: any non-empty value */
	return v;
}

static void
debug_slowlog_resize(size_t cap)
{
	struct debug_slow *old = debug_slowlog, *nw;
	size_t keep, i;

	if (cap == 0)
		cap = 1;
	if (cap == debug_slowlog_cap && debug_slowlog != NULL)
		return;
	nw = xcalloc(cap, sizeof(*nw));
	/* keep the newest entries, oldest first, in slots 0..keep-1 */
	keep = debug_slowlog_len < cap ? debug_slowlog_len : cap;
	for (i = 0; i < keep && old != NULL; i++)
		nw[i] = old[(debug_slowlog_head + debug_slowlog_cap - keep + i) % debug_slowlog_cap];
	free(old);
	debug_slowlog = nw;
	debug_slowlog_cap = cap;
	debug_slowlog_len = old != NULL ? keep : 0;
	debug_slowlog_head = debug_slowlog_len % cap;
}

void
debug_configure(int enabled, uint64_t slow_callback_ms, uint64_t slowlog_size,
    uint64_t lag_threshold_ms)
{
	debug_slow_us = slow_callback_ms * 1000;
	debug_lag_threshold_us = lag_threshold_ms * 1000;
	debug_slowlog_resize((size_t)slowlog_size);
	if (!debug_cfg_seen) {
		if (enabled)
			debug_set_enabled(1, "config");
	} else if (enabled != debug_cfg_enabled)
		debug_set_enabled(enabled, "config");
	debug_cfg_seen = 1;
	debug_cfg_enabled = enabled != 0;
}

/* ---------------------------------------------------------------- TLS objects */

static void
debug_ssl_new_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	__atomic_add_fetch(argl == 0 ? &debug_live_ssl : &debug_live_ssl_ctx, 1, __ATOMIC_RELAXED);
}

static void
debug_ssl_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	__atomic_sub_fetch(argl == 0 ? &debug_live_ssl : &debug_live_ssl_ctx, 1, __ATOMIC_RELAXED);
}

/* OpenSSL calls these for every SSL and SSL_CTX created after this point. */
static void
debug_ssl_track(void)
{
	if (debug_ssl_index != -1)
		return;
	debug_ssl_index = SSL_get_ex_new_index(0, NULL, debug_ssl_new_cb, NULL, debug_ssl_free_cb);
	SSL_CTX_get_ex_new_index(1, NULL, debug_ssl_new_cb, NULL, debug_ssl_free_cb);
}

/* ---------------------------------------------------------------- descriptors */

/* Open descriptors of this process, sorted; *n set. */
static int *
debug_list_fds(size_t *n)
{
	struct dirent *de;
	DIR *d;
	int *v = NULL, fd, self;
	size_t len = 0;

	*n = 0;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return NULL;
	self = dirfd(d);
	while ((de = readdir(d)) != NULL && len < DEBUG_FDS_MAX) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == self)
			continue;
		v = xreallocarray(v, len + 1, sizeof(*v));
		v[len++] = fd;
	}
	closedir(d);
	*n = len;
	return v;
}

static int
debug_fd_in(int fd, const int *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == fd)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- init */

void
debug_init(struct event_base *base, int enabled)
{
	debug_base = base;
	debug_loop_thread = pthread_self();
	debug_have_loop = 1;
	debug_cfg_seen = 0;
	debug_slowlog_resize(debug_slowlog_cap);
	free(debug_fds0);
	debug_fds0 = debug_list_fds(&debug_nfds0);
	debug_ssl_track();
	if (enabled)
		debug_set_enabled(1, "command-line");
	else if (debug_env_enabled())
		debug_set_enabled(1, "environment");
	if (base != NULL)
		debug_lag_arm();
}

void
debug_stop(void)
{
	if (debug_lag_ev != NULL)
		event_free(debug_lag_ev);
	debug_lag_ev = NULL;
	debug_base = NULL;
}

/* ---------------------------------------------------------------- wrong thread */

int
debug_is_loop_thread(void)
{
	return !debug_have_loop || pthread_equal(pthread_self(), debug_loop_thread);
}

int
debug_wrong_thread_check(const char *fn)
{
	char name[32];

	if (debug_is_loop_thread())
		return 0;
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "?");
	__atomic_add_fetch(&debug_nwrong, 1, __ATOMIC_RELAXED);
	log_error(LOG_S_DEBUG, "wrong thread: %s called from thread=%s, not the loop thread; "
	    "call refused", fn, name);
	return 1;
}

/* ---------------------------------------------------------------- callback timing */

void
debug_cb_begin(struct debug_cb *t)
{
	t->start_us = util_now_us();
}

static struct debug_hist *
debug_cb_hist(const char *name)
{
	size_t i;

	/* Names are static strings: pointers match on the hot path. */
	for (i = 0; i < debug_ncb_hists; i++)
		if (debug_cb_hists[i].name == name)
			return &debug_cb_hists[i].h;
	for (i = 0; i < debug_ncb_hists; i++)
		if (strcmp(debug_cb_hists[i].name, name) == 0)
			return &debug_cb_hists[i].h;
	if (debug_ncb_hists == DEBUG_CB_NAMES_MAX)
		return NULL;
	debug_cb_hists[debug_ncb_hists].name = name;
	return &debug_cb_hists[debug_ncb_hists++].h;
}

static void
debug_slow_record(const char *name, const struct conn *c, const char *lname, uint64_t took_us)
{
	struct debug_slow *e = &debug_slowlog[debug_slowlog_head];
	char conn_kv[32] = "";

	memset(e, 0, sizeof(*e));
	e->when = time(NULL);
	e->name = name;
	e->took_us = took_us;
	if (c != NULL) {
		e->conn_id = c->id;
		lname = c->listener != NULL ? c->listener->name : NULL;
		conn_peer_str(c, e->peer, sizeof(e->peer));
		snprintf(conn_kv, sizeof(conn_kv), " conn=%" PRIu64, c->id);
	}
	if (lname != NULL)
		snprintf(e->listener, sizeof(e->listener), "%s", lname);
	debug_slowlog_head = (debug_slowlog_head + 1) % debug_slowlog_cap;
	if (debug_slowlog_len < debug_slowlog_cap)
		debug_slowlog_len++;
	debug_nslow++;
	log_warn(LOG_S_DEBUG, "slow callback name=%s%s%s%s%s%s took_ms=%" PRIu64, name, conn_kv,
	    e->listener[0] ? " listener=" : "", e->listener, e->peer[0] ? " peer=" : "", e->peer,
	    took_us / 1000);
}

void
debug_cb_end(struct debug_cb *t, const char *name, const struct conn *c, const char *lname)
{
	uint64_t took = util_now_us() - t->start_us;
	struct debug_hist *h;

	if ((h = debug_cb_hist(name)) != NULL)
		debug_hist_add(h, took);
	if (took > debug_slow_us && debug_slowlog != NULL)
		debug_slow_record(name, c, lname, took);
}

void
debug_slowlog_foreach(size_t n, void (*cb)(const struct debug_slow *, void *), void *arg)
{
	size_t i, idx;

	if (n == 0 || n > debug_slowlog_len)
		n = debug_slowlog_len;
	for (i = 0; i < n; i++) {
		idx = (debug_slowlog_head + debug_slowlog_cap - 1 - i) % debug_slowlog_cap;
		cb(&debug_slowlog[idx], arg);
	}
}

void
debug_cb_hist_foreach(void (*cb)(const char *, const struct debug_hist *, void *), void *arg)
{
	size_t i;

	for (i = 0; i < debug_ncb_hists; i++)
		cb(debug_cb_hists[i].name, &debug_cb_hists[i].h, arg);
}

/* ---------------------------------------------------------------- loop lag */

static void
debug_lag_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = util_now_us();
	uint64_t lag = now > debug_lag_due_us ? now - debug_lag_due_us : 0;

	debug_lag_ring[debug_lag_next] = lag;
	debug_lag_next = (debug_lag_next + 1) % DEBUG_LAG_WINDOW;
	if (debug_lag_len < DEBUG_LAG_WINDOW)
		debug_lag_len++;
	if (lag > debug_lag_max_us)
		debug_lag_max_us = lag;
	debug_hist_add(&debug_lag_h, lag);
	if (debug_on() && debug_lag_threshold_us > 0 && lag > debug_lag_threshold_us)
		log_warn(LOG_S_DEBUG, "loop lag lag_ms=%" PRIu64 " threshold_ms=%" PRIu64,
		    lag / 1000, debug_lag_threshold_us / 1000);
	debug_lag_arm();
}

/* One-shot, re-armed from its callback: the lag is now minus when it was due. */
static void
debug_lag_arm(void)
{
	struct timeval tv = { 0, DEBUG_LAG_INTERVAL_MS * 1000 };

#ifdef ECHOD_NO_DEBUG_HOOKS
	return;
#endif
	if (debug_base == NULL)
		return;
	if (debug_lag_ev == NULL &&
	    (debug_lag_ev = evtimer_new(debug_base, debug_lag_cb, NULL)) == NULL)
		fatalx("debug: evtimer_new failed");
	debug_lag_due_us = util_now_us() + DEBUG_LAG_INTERVAL_MS * 1000;
	evtimer_add(debug_lag_ev, &tv);
}

void
debug_lag_hist(struct debug_hist *h)
{
	*h = debug_lag_h;
}

void
debug_get_stats(struct debug_stats *st)
{
	uint64_t v[DEBUG_LAG_WINDOW];

	memset(st, 0, sizeof(*st));
	st->enabled = debug_on() != 0;
	st->slow_callback_ms = debug_slow_us / 1000;
	st->slow_callbacks = debug_nslow;
	st->wrong_thread = __atomic_load_n(&debug_nwrong, __ATOMIC_RELAXED);
	st->never_retrieved = debug_nunretrieved;
	st->never_scheduled = debug_nunscheduled;
	st->lag_samples = debug_lag_h.count;
	st->lag_max_us = debug_lag_max_us;
	memcpy(v, debug_lag_ring, debug_lag_len * sizeof(*v));
	st->lag_p50_us = debug_percentile(v, debug_lag_len, 50);
	st->lag_p99_us = debug_percentile(v, debug_lag_len, 99);
}

/* ---------------------------------------------------------------- pool jobs */

struct debug_job_site *
debug_job_site_new(void)
{
	struct debug_job_site *s;

	if (!debug_on())
		return NULL;
	s = xcalloc(1, sizeof(*s));
#ifdef HAVE_EXECINFO_H
	s->n = backtrace(s->frames, DEBUG_BT_MAX);
#endif
	return s;
}

/* The submission backtrace, one log line per frame (skipping this file's frame). */
static void
debug_log_site(const char *what, const struct debug_job_site *s)
{
#ifdef HAVE_EXECINFO_H
	char **sym;
	int i;

	if (s == NULL || s->n <= 1)
		return;
	if ((sym = backtrace_symbols(s->frames, s->n)) == NULL)
		return;
	for (i = 1; i < s->n; i++)
		log_warn(LOG_S_DEBUG, "%s submitted at #%d %s", what, i - 1, sym[i]);
	free(sym);
#endif
}

void
debug_job_done(const struct pool_done *d, const char *file, int line,
    const struct debug_job_site *site)
{
	if (d->status != POOL_FAILED && d->status != POOL_TIMEOUT)
		return;
	if (d->conn_id == 0 || conn_find(d->conn_id) != NULL)
		return;
	debug_nunretrieved++;
	log_warn(LOG_S_POOL, "job error never retrieved kind=%s conn=%" PRIu64 " status=%s "
	    "site=%s:%d", d->kind, d->conn_id, pool_status_name(d->status),
	    file != NULL ? file : "?", line);
	debug_log_site("job error never retrieved", site);
}

void
debug_job_free(const char *kind, uint64_t conn_id, int status, int ran, const char *file,
    int line, struct debug_job_site *site)
{
	int loud;

	if (!ran && (status == POOL_CANCELLED || status == POOL_TIMEOUT || status == POOL_SHUTDOWN)) {
		debug_nunscheduled++;
		/* A client that leaves cancels its queued jobs: news only in debug mode. */
		loud = debug_on() || status != POOL_CANCELLED;
		if (loud || log_enabled(LOG_S_POOL, LOG_L_DEBUG)) {
			log_msg(loud ? LOG_L_WARNING : LOG_L_DEBUG, LOG_S_POOL, "job never scheduled "
			    "kind=%s conn=%" PRIu64 " status=%s site=%s:%d", kind, conn_id,
			    pool_status_name((enum pool_status)status), file != NULL ? file : "?",
			    line);
			if (loud)
				debug_log_site("job never scheduled", site);
		}
	}
	free(site);
}

/* ---------------------------------------------------------------- exit reports */

struct debug_pending {
	const char	*when;
	size_t		 njobs;
	int		 count_only;
};

static void
debug_pending_job_cb(const struct pool_job_info *ji, void *arg)
{
	struct debug_pending *p = arg;

	if (strcmp(ji->state, "done") == 0)
		return;
	p->njobs++;
	if (p->count_only)
		return;
	log_warn(LOG_S_DEBUG, "pending at %s: job kind=%s conn=%" PRIu64 " state=%s age_ms=%"
	    PRIu64 " site=%s:%d", p->when, ji->kind, ji->conn_id, ji->state, ji->age_ms,
	    ji->file != NULL ? ji->file : "?", ji->line);
}

void
debug_report_pending(const char *when)
{
	struct debug_pending p = { when, 0, 1 };
	char pbuf[ADDR_STRLEN];
	uint64_t now = conn_now_ms();
	struct conn *c;
	size_t nconns = conn_count();

	pool_foreach_job(debug_pending_job_cb, &p);
	if (nconns == 0 && p.njobs == 0) {
		log_debug(LOG_S_DEBUG, "pending at %s: nothing", when);
		return;
	}
	log_warn(LOG_S_DEBUG, "pending at %s: connections=%zu jobs=%zu", when, nconns, p.njobs);
	TAILQ_FOREACH(c, conn_all(), entry)
		log_warn(LOG_S_DEBUG, "pending at %s: conn=%" PRIu64 " listener=%s peer=%s state=%s "
		    "age_ms=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " pending_out=%zu "
		    "jobs=%u", when, c->id, c->listener->name, conn_peer_str(c, pbuf, sizeof(pbuf)),
		    conn_state_name(c->state), now - c->created_ms, c->bytes_in, c->bytes_out,
		    conn_pending(c), c->jobs);
	p.njobs = 0;
	p.count_only = 0;
	pool_foreach_job(debug_pending_job_cb, &p);
}

void
debug_report_leaks(void)
{
	char path[64], target[PATH_MAX];
	size_t n, i, leaked = 0;
	uint64_t ssl, ctx;
	ssize_t len;
	int *fds;

	if (!debug_on())
		return;
	fds = debug_list_fds(&n);
	for (i = 0; i < n; i++) {
		if (debug_fd_in(fds[i], debug_fds0, debug_nfds0))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
			len = 0;
		target[len] = '\0';
		log_warn(LOG_S_DEBUG, "not closed at exit: fd=%d target=%s", fds[i], target);
		leaked++;
	}
	free(fds);
	ssl = __atomic_load_n(&debug_live_ssl, __ATOMIC_RELAXED);
	ctx = __atomic_load_n(&debug_live_ssl_ctx, __ATOMIC_RELAXED);
	if (ssl > 0 || ctx > 0)
		log_warn(LOG_S_DEBUG, "not freed at exit: tls ssl=%" PRIu64 " ssl_ctx=%" PRIu64,
		    ssl, ctx);
	if (leaked == 0 && ssl == 0 && ctx == 0)
		log_info(LOG_S_DEBUG, "exit check: no descriptors or TLS objects left open");
	free(debug_fds0);
	debug_fds0 = NULL;
	debug_nfds0 = 0;
}
