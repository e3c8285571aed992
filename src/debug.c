/*
 * debug.c: debug mode: the slowlog ring of slow callbacks (timed by loop.c),
 * wrong-thread checks, reports on pool jobs whose error nobody retrieved or
 * that never ran, invariant failures, and the exit report of descriptors
 * and TLS objects left open.
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

#include <openssl/ssl.h>

#include "debug.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#define DEBUG_BT_MAX		24
#define DEBUG_FDS_MAX		4096

int debug_mode;

struct debug_job_site {
	int	 n;
	void	*frames[DEBUG_BT_MAX];
};

static pthread_t		 debug_loop_thread;
static int			 debug_have_loop;
static int			 debug_cfg_seen;	/* debug_configure ran once */
static int			 debug_cfg_enabled;	/* last configured value */
static uint64_t			 debug_slow_us = 100 * 1000;

/* Slowlog ring. */
static struct debug_slow	*debug_slowlog;
static size_t			 debug_slowlog_cap = 128;
static size_t			 debug_slowlog_head;	/* next slot */
static size_t			 debug_slowlog_len;

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
debug_configure(int enabled, uint64_t slow_callback_ms, uint64_t slowlog_size)
{
	debug_slow_us = slow_callback_ms * 1000;
	debug_slowlog_resize((size_t)slowlog_size);
	if (!debug_cfg_seen) {
		if (enabled)
			debug_set_enabled(1, "config");
	} else if (enabled != debug_cfg_enabled)
		debug_set_enabled(enabled, "config");
	debug_cfg_seen = 1;
	debug_cfg_enabled = enabled != 0;
}

void
debug_assert_failed(const char *expr, const char *file, int line, const char *fn)
{
	fatalx("assertion failed: %s (%s:%d, %s)", expr, file, line, fn);
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

/* ---------------------------------------------------------------- statistics */

static void
debug_collect(struct stats_emit *e, void *arg)
{
	struct debug_stats st;

	debug_get_stats(&st);
	switch (*(const char *)arg) {
	case 'm':
		stats_emit_u64(e, (uint64_t)st.enabled);
		break;
	case 's':
		stats_emit_u64(e, st.slow_callbacks);
		break;
	case 'w':
		stats_emit_u64(e, st.wrong_thread);
		break;
	case 't':
		stats_emit_u64(e, st.slow_callback_ms * 1000);
		break;
	case 'r':
		stats_emit_u64(e, st.never_retrieved);
		break;
	default:
		stats_emit_u64(e, st.never_scheduled);
		break;
	}
}

static const struct stats_family debug_families[] = {
	{ "debug_mode", STATS_GAUGE, STATS_UNIT_NONE, "1 while debug mode is on.", { NULL },
	  debug_collect, "m" },
	{ "slow_callbacks_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Loop callbacks slower than slow_callback_ms (timed in debug mode).", { NULL },
	  debug_collect, "s" },
	{ "slow_callback_threshold_seconds", STATS_GAUGE, STATS_UNIT_SECONDS,
	  "A callback running longer than this is a slow callback ([debug] slow_callback_ms).",
	  { NULL }, debug_collect, "t" },
	{ "wrong_thread_calls_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Loop-only calls made from another thread and refused (debug mode).", { NULL },
	  debug_collect, "w" },
	{ "jobs_never_retrieved_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Failed or timed-out jobs whose outcome no client received.", { NULL },
	  debug_collect, "r" },
	{ "jobs_never_scheduled_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Jobs freed without ever running on a worker.", { NULL }, debug_collect, "n" },
};

/* ---------------------------------------------------------------- init */

void
debug_init(int enabled)
{
	size_t i;

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
	for (i = 0; i < ARRAY_LEN(debug_families); i++)
		stats_register(&debug_families[i]);
}

void
debug_stop(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(debug_families); i++)
		stats_unregister(&debug_families[i]);
	free(debug_slowlog);
	debug_slowlog = NULL;
	debug_slowlog_len = debug_slowlog_head = 0;
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

/* ---------------------------------------------------------------- slow callbacks */

static void
debug_slow_record(const char *name, debug_describe_cb describe, const void *arg,
    uint64_t took_us)
{
	struct debug_slow *e = &debug_slowlog[debug_slowlog_head];
	struct debug_where *w = &e->where;
	char conn_kv[32] = "";

	memset(e, 0, sizeof(*e));
	e->when = time(NULL);
	e->name = name;
	e->took_us = took_us;
	if (describe != NULL && arg != NULL)
		describe(arg, w);
	if (w->conn_id != 0)
		snprintf(conn_kv, sizeof(conn_kv), " conn=%" PRIu64, w->conn_id);
	debug_slowlog_head = (debug_slowlog_head + 1) % debug_slowlog_cap;
	if (debug_slowlog_len < debug_slowlog_cap)
		debug_slowlog_len++;
	debug_nslow++;
	log_warn(LOG_S_DEBUG, "slow callback name=%s%s%s%s%s%s took_ms=%" PRIu64, name, conn_kv,
	    w->listener[0] ? " listener=" : "", w->listener, w->peer[0] ? " peer=" : "", w->peer,
	    took_us / 1000);
}

void
debug_cb_took(const char *name, debug_describe_cb describe, const void *arg, uint64_t took_us)
{
	if (took_us > debug_slow_us && debug_slowlog != NULL)
		debug_slow_record(name, describe, arg, took_us);
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
debug_get_stats(struct debug_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->enabled = debug_on() != 0;
	st->slow_callback_ms = debug_slow_us / 1000;
	st->slow_callbacks = debug_nslow;
	st->wrong_thread = __atomic_load_n(&debug_nwrong, __ATOMIC_RELAXED);
	st->never_retrieved = debug_nunretrieved;
	st->never_scheduled = debug_nunscheduled;
}

/* ---------------------------------------------------------------- pool jobs */

struct debug_job_site *
debug_job_site_new(void)
{
	struct debug_job_site *s;

	/* Out of memory the job simply has no recorded call site. */
	if (!debug_on() || (s = util_calloc(1, sizeof(*s))) == NULL)
		return NULL;
#ifdef HAVE_EXECINFO_H
	s->n = backtrace(s->frames, DEBUG_BT_MAX);
#endif
	return s;
}

void
debug_job_site_free(struct debug_job_site *site)
{
	free(site);
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
debug_job_unretrieved(const struct debug_job *j)
{
	debug_nunretrieved++;
	log_warn(LOG_S_POOL, "job error never retrieved kind=%s conn=%" PRIu64 " status=%s "
	    "site=%s:%d", j->kind, j->conn_id, j->status, j->file != NULL ? j->file : "?",
	    j->line);
	debug_log_site("job error never retrieved", j->site);
}

void
debug_job_unscheduled(const struct debug_job *j, int quiet)
{
	int loud = debug_on() || !quiet;

	debug_nunscheduled++;
	if (!loud && !log_enabled(LOG_S_POOL, LOG_L_DEBUG))
		return;
	log_msg(loud ? LOG_L_WARNING : LOG_L_DEBUG, LOG_S_POOL, "job never scheduled kind=%s "
	    "conn=%" PRIu64 " status=%s site=%s:%d", j->kind, j->conn_id, j->status,
	    j->file != NULL ? j->file : "?", j->line);
	if (loud)
		debug_log_site("job never scheduled", j->site);
}

/* ---------------------------------------------------------------- exit report */

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
