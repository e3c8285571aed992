/*
 * loop.c: the event base, the callback wrapper's slow path and deferred
 * work, and loop health: the lag monitor (a timer that measures how late
 * the loop runs it, like Node's monitorEventLoopDelay; always on) and, in
 * debug mode, run-time histograms per callback. Loop thread only, except
 * libevent's log callback, which any thread that calls libevent may run.
 *
 * libevent's own messages ("Error from accept() call", epoll warnings) go
 * through echod's log, not straight to stderr: at most one line per second
 * per kind of message, with the number of those held back.
 */
#include "autoconf.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "debug.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "util.h"

#define LOOP_CB_NAMES_MAX	32
/* libevent messages: kinds tracked, and at most one line per kind this often. */
#define LOOP_EVLOG_KINDS	16
#define LOOP_EVLOG_EVERY_MS	1000
#define LOOP_EVLOG_SAMPLE	160

unsigned loop_depth;
unsigned loop_pending;		/* bit per flush hook */

static loop_flush_cb		 loop_hooks[LOOP_FLUSH_MAX];
static int			 loop_nhooks;

/* Lag monitor. */
static struct event		*loop_lag_ev;
static struct event_base	*loop_base;
static uint64_t			 loop_lag_due_us;
static uint64_t			 loop_lag_ring[LOOP_LAG_WINDOW];
static size_t			 loop_lag_len, loop_lag_next;
static uint64_t			 loop_lag_max_us;
static uint64_t			 loop_lag_threshold_us = 100 * 1000;
static struct stats_hist	 loop_lag_h;

/* Callback-duration histograms by name (static strings), filled in debug mode. */
static struct {
	const char		*name;
	struct stats_hist	 h;
}				 loop_cb_hists[LOOP_CB_NAMES_MAX];
static size_t			 loop_ncb_hists;

/*
 * One kind of libevent message: its text with the numbers taken out (fd 7
 * and fd 9 are the same complaint). Under loop_evlog_lock: libevent may log
 * from any thread that calls it.
 */
struct loop_evlog_kind {
	uint64_t		 hash;		/* 0: free slot */
	uint64_t		 last_ms;	/* when its last line was written */
	uint64_t		 held;		/* messages since then, not written */
	int			 severity;
	char			 sample[LOOP_EVLOG_SAMPLE]; /* the latest one held */
};
static pthread_mutex_t		 loop_evlog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loop_evlog_kind	 loop_evlog[LOOP_EVLOG_KINDS];

static void	loop_lag_arm(void);
static void	loop_evlog_flush(int all);

struct event_base *
loop_base_new(const char **why)
{
	struct event_config *cfg;
	struct event_base *base = NULL;

	if ((cfg = event_config_new()) == NULL) {
		*why = "event_config_new failed";
		return NULL;
	}
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) == -1)
		*why = "event_config_set_flag(EVENT_BASE_FLAG_NOLOCK) failed";
	else if ((base = event_base_new_with_config(cfg)) == NULL)
		*why = "event_base_new_with_config failed";
	event_config_free(cfg);
	return base;
}

/* ---------------------------------------------------------------- deferred work */

int
loop_flush_hook(loop_flush_cb cb)
{
	int i;

	for (i = 0; i < loop_nhooks; i++)
		if (loop_hooks[i] == cb)
			return i;
	if (loop_nhooks == LOOP_FLUSH_MAX)
		fatalx("loop: more than %d flush hooks", LOOP_FLUSH_MAX);
	loop_hooks[loop_nhooks] = cb;
	return loop_nhooks++;
}

int
loop_in_callback(void)
{
	return loop_depth > 0;
}

void
loop_defer(int slot)
{
	DEBUG_ASSERT(slot >= 0 && slot < loop_nhooks);
	loop_pending |= 1u << slot;
	if (loop_depth == 0)
		loop_run_deferred();
}

/*
 * The outermost callback returned (or deferred work was asked for outside
 * any callback): run the hooks until none asks again. A hook runs as a
 * callback itself, so what it defers waits for the next round of this loop.
 */
void
loop_run_deferred(void)
{
	unsigned pending;
	int i;

	/* Only the outermost level flushes: no caller above holds a pointer. */
	DEBUG_ASSERT(loop_depth == 0);
	loop_depth++;
	while ((pending = loop_pending) != 0) {
		loop_pending = 0;
		for (i = 0; i < loop_nhooks; i++)
			if (pending & (1u << i))
				loop_hooks[i]();
	}
	loop_depth--;
}

/* ---------------------------------------------------------------- libevent's messages */

static enum log_level
loop_evlog_level(int severity)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		return LOG_L_DEBUG;
	case EVENT_LOG_MSG:
		return LOG_L_INFO;
	case EVENT_LOG_WARN:
		return LOG_L_WARNING;
	default:
		return LOG_L_ERROR;
	}
}

/* FNV-1a of the message with each run of digits read as one '#'. */
static uint64_t
loop_evlog_hash(int severity, const char *msg)
{
	uint64_t h = 14695981039346656037ULL ^ (uint64_t)(unsigned)severity;
	int digits = 0;

	for (; *msg != '\0'; msg++) {
		if (isdigit((unsigned char)*msg)) {
			if (digits++)
				continue;
			h = (h ^ '#') * 1099511628211ULL;
			continue;
		}
		digits = 0;
		h = (h ^ (unsigned char)*msg) * 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

/* Locked. The slot of a kind: its own, a free one, or the least recent (its count is lost). */
static struct loop_evlog_kind *
loop_evlog_slot(uint64_t hash)
{
	struct loop_evlog_kind *k, *old = &loop_evlog[0];
	size_t i;

	for (i = 0; i < LOOP_EVLOG_KINDS; i++) {
		k = &loop_evlog[i];
		if (k->hash == hash)
			return k;
		if (k->hash == 0 || (old->hash != 0 && k->last_ms < old->last_ms))
			old = k;
	}
	memset(old, 0, sizeof(*old));
	old->hash = hash;
	return old;
}

/*
 * event_set_log_callback: queue a log record, or count the message when its
 * kind had a line less than a second ago. Nothing else: no I/O, no libevent.
 */
static void
loop_evlog_cb(int severity, const char *msg)
{
	uint64_t now = util_now_ms(), held = 0, hash = loop_evlog_hash(severity, msg);
	struct loop_evlog_kind *k;
	int write;

	pthread_mutex_lock(&loop_evlog_lock);
	k = loop_evlog_slot(hash);
	write = k->last_ms == 0 || now - k->last_ms >= LOOP_EVLOG_EVERY_MS;
	if (write) {
		held = k->held;
		k->held = 0;
		k->last_ms = now;
	} else {
		k->held++;
		k->severity = severity;
		snprintf(k->sample, sizeof(k->sample), "%s", msg);
	}
	pthread_mutex_unlock(&loop_evlog_lock);
	if (!write)
		return;
	if (held > 0)
		log_msg(loop_evlog_level(severity), LOG_S_SERVER, "libevent: %s (and %" PRIu64
		    " more like it in the last second, not logged)", msg, held);
	else
		log_msg(loop_evlog_level(severity), LOG_S_SERVER, "libevent: %s", msg);
}

/*
 * From the lag timer: the count of a burst that has ended would otherwise
 * wait for the next message of its kind. `all`: every pending count, now.
 */
static void
loop_evlog_flush(int all)
{
	char sample[LOOP_EVLOG_SAMPLE];
	uint64_t now = util_now_ms(), held;
	int severity;
	size_t i;

	for (i = 0; i < LOOP_EVLOG_KINDS; i++) {
		pthread_mutex_lock(&loop_evlog_lock);
		held = loop_evlog[i].held;
		if (held == 0 || (!all && now - loop_evlog[i].last_ms < LOOP_EVLOG_EVERY_MS)) {
			pthread_mutex_unlock(&loop_evlog_lock);
			continue;
		}
		loop_evlog[i].held = 0;
		loop_evlog[i].last_ms = now;
		severity = loop_evlog[i].severity;
		memcpy(sample, loop_evlog[i].sample, sizeof(sample));
		pthread_mutex_unlock(&loop_evlog_lock);
		log_msg(loop_evlog_level(severity), LOG_S_SERVER, "libevent: %" PRIu64 " more "
		    "like \"%s\" not logged", held, sample);
	}
}

/* ---------------------------------------------------------------- callback timing */

static struct stats_hist *
loop_cb_hist(const char *name)
{
	size_t i;

	/* Names are static strings: pointers match on the hot path. */
	for (i = 0; i < loop_ncb_hists; i++)
		if (loop_cb_hists[i].name == name)
			return &loop_cb_hists[i].h;
	for (i = 0; i < loop_ncb_hists; i++)
		if (strcmp(loop_cb_hists[i].name, name) == 0)
			return &loop_cb_hists[i].h;
	if (loop_ncb_hists == LOOP_CB_NAMES_MAX)
		return NULL;
	loop_cb_hists[loop_ncb_hists].name = name;
	return &loop_cb_hists[loop_ncb_hists++].h;
}

void
loop_cb_timed_end(struct loop_cb *t, const char *name, debug_describe_cb describe,
    const void *arg)
{
	uint64_t took = util_now_us() - t->start_us;
	struct stats_hist *h;

	if ((h = loop_cb_hist(name)) != NULL)
		stats_hist_add(h, took);
	debug_cb_took(name, describe, arg, took);
}

/* ---------------------------------------------------------------- lag */

static void
loop_lag_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = util_now_us();
	uint64_t lag = now > loop_lag_due_us ? now - loop_lag_due_us : 0;

	loop_lag_ring[loop_lag_next] = lag;
	loop_lag_next = (loop_lag_next + 1) % LOOP_LAG_WINDOW;
	if (loop_lag_len < LOOP_LAG_WINDOW)
		loop_lag_len++;
	if (lag > loop_lag_max_us)
		loop_lag_max_us = lag;
	stats_hist_add(&loop_lag_h, lag);
	loop_evlog_flush(0);
	if (debug_on() && loop_lag_threshold_us > 0 && lag > loop_lag_threshold_us)
		log_warn(LOG_S_DEBUG, "loop lag lag_ms=%" PRIu64 " threshold_ms=%" PRIu64,
		    lag / 1000, loop_lag_threshold_us / 1000);
	loop_lag_arm();
}

/* One-shot, re-armed from its callback: the lag is now minus when it was due. */
static void
loop_lag_arm(void)
{
	struct timeval tv = { 0, LOOP_LAG_INTERVAL_MS * 1000 };

#ifdef ECHOD_NO_DEBUG_HOOKS
	return;
#endif
	if (loop_base == NULL)
		return;
	if (loop_lag_ev == NULL &&
	    (loop_lag_ev = evtimer_new(loop_base, loop_lag_cb, NULL)) == NULL)
		fatalx("loop: evtimer_new failed");
	loop_lag_due_us = util_now_us() + LOOP_LAG_INTERVAL_MS * 1000;
	evtimer_add(loop_lag_ev, &tv);
}

void
loop_set_lag_threshold(uint64_t ms)
{
	loop_lag_threshold_us = ms * 1000;
}

void
loop_get_lag(struct loop_lag *lag)
{
	uint64_t v[LOOP_LAG_WINDOW];

	memcpy(v, loop_lag_ring, loop_lag_len * sizeof(*v));
	lag->samples = loop_lag_h.count;
	lag->max_us = loop_lag_max_us;
	lag->p50_us = stats_percentile(v, loop_lag_len, 50);
	lag->p99_us = stats_percentile(v, loop_lag_len, 99);
}

/* ---------------------------------------------------------------- statistics */

static void
loop_collect_lag_hist(struct stats_emit *e, void *arg)
{
	stats_emit_hist(e, &loop_lag_h);
}

static void
loop_collect_lag(struct stats_emit *e, void *arg)
{
	struct loop_lag lag;

	loop_get_lag(&lag);
	stats_emit_u64(e, *(const char *)arg == '5' ? lag.p50_us :
	    *(const char *)arg == '9' ? lag.p99_us : lag.max_us);
}

static void
loop_collect_cb_hists(struct stats_emit *e, void *arg)
{
	size_t i;

	for (i = 0; i < loop_ncb_hists; i++)
		stats_emit_hist(e, &loop_cb_hists[i].h, loop_cb_hists[i].name);
}

static const struct stats_family loop_families[] = {
	{ "loop_lag_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS,
	  "How late the loop ran a 100 ms timer.", { NULL }, loop_collect_lag_hist, NULL },
	{ "loop_lag_p50_seconds", STATS_GAUGE, STATS_UNIT_SECONDS,
	  "Median loop lag over the last 1024 samples.", { NULL }, loop_collect_lag, "5" },
	{ "loop_lag_p99_seconds", STATS_GAUGE, STATS_UNIT_SECONDS,
	  "99th percentile loop lag over the last 1024 samples.", { NULL }, loop_collect_lag, "9" },
	{ "loop_lag_max_seconds", STATS_GAUGE, STATS_UNIT_SECONDS,
	  "Largest loop lag since start.", { NULL }, loop_collect_lag, "m" },
	{ "callback_duration_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS,
	  "Run time of loop callbacks, by callback (recorded in debug mode).", { "callback", NULL },
	  loop_collect_cb_hists, NULL },
};

void
loop_start(struct event_base *base)
{
	size_t i;

	loop_base = base;
	for (i = 0; i < ARRAY_LEN(loop_families); i++)
		stats_register(&loop_families[i]);
	event_set_log_callback(loop_evlog_cb);
	loop_lag_arm();
}

void
loop_stop(void)
{
	size_t i;

	if (loop_lag_ev != NULL)
		event_free(loop_lag_ev);
	loop_lag_ev = NULL;
	loop_base = NULL;
	/* Counts still held; libevent keeps logging through the callback to the end. */
	loop_evlog_flush(1);
	for (i = 0; i < ARRAY_LEN(loop_families); i++)
		stats_unregister(&loop_families[i]);
}
