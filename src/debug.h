/*
 * debug.h: debug mode (modelled on asyncio's) and loop health.
 *
 * Debug mode is a process-wide flag: ECHOD_DEBUG=1, -d/--debug,
 * [debug] enabled = yes, or the admin console's DEBUG on. When it is on,
 * every loop callback is timed (slow ones are logged and kept in the
 * slowlog ring), loop-only functions check the calling thread, pool jobs
 * carry a backtrace of their submission, and the exit report lists the
 * descriptors and TLS objects left open. Outside debug mode each of these
 * hooks costs one predictable branch on a relaxed load.
 *
 * The loop-lag monitor (a timer that measures how late the loop runs it, like
 * Node's monitorEventLoopDelay) is always on. Everything here runs on the loop
 * thread except debug_on() and debug_wrong_thread(), which any thread may
 * call.
 */
#ifndef ECHOD_DEBUG_H
#define ECHOD_DEBUG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct conn;
struct pool_done;

/* The flag itself; read it through debug_on(). Written on the loop thread only. */
extern int debug_mode;

#ifdef ECHOD_NO_DEBUG_HOOKS
/* The benchmark's baseline (bench/debug_bench.sh): every hook compiled out, no lag timer. */
static inline int
debug_on(void)
{
	return 0;
}
#else
static inline int
debug_on(void)
{
	return __builtin_expect(__atomic_load_n(&debug_mode, __ATOMIC_RELAXED), 0);
}
#endif

/*
 * Start-up, on the loop thread, after the log sink is configured and before
 * any listener or TLS context exists: remembers the loop thread, the
 * descriptors open now (for the exit report), starts the lag timer. Debug
 * mode is on if `enabled` (-d) or ECHOD_DEBUG is set to a true value.
 */
void	debug_init(struct event_base *base, int enabled);
/*
 * [debug] settings, at start-up and on reload. `enabled` turns debug mode on
 * at start-up; on reload only a change of the configured value changes the
 * mode, so a DEBUG on from the console survives an unrelated reload.
 */
void	debug_configure(int enabled, uint64_t slow_callback_ms, uint64_t slowlog_size,
	    uint64_t lag_threshold_ms);
/* Turn debug mode on or off now; `who` names the cause for the log line. */
void	debug_set_enabled(int on, const char *who);
/* Free the lag timer (before event_base_free). */
void	debug_stop(void);

/* ---------------------------------------------------------------- callback timing */

struct debug_cb {
	uint64_t	start_us;
};
void	debug_cb_begin(struct debug_cb *t);
/* `c` may be NULL; `lname` (listener name) is used when `c` is NULL and may be NULL. */
void	debug_cb_end(struct debug_cb *t, const char *name, const struct conn *c,
	    const char *lname);

/*
 * Run `call` (a statement), timed in debug mode. One call site, so the body
 * inlines; outside debug mode the cost is two predictable branches on one
 * load. `c` is read after the call: conn structs are never freed on the
 * callback's stack.
 */
#define DEBUG_CB(name, c, lname, call) do {				\
	struct debug_cb debug_cb_t_;					\
	int debug_cb_on_ = debug_on();					\
									\
	if (debug_cb_on_)						\
		debug_cb_begin(&debug_cb_t_);				\
	call;								\
	if (debug_cb_on_)						\
		debug_cb_end(&debug_cb_t_, (name), (c), (lname));	\
} while (0)

/* ---------------------------------------------------------------- wrong thread */

int	debug_wrong_thread_check(const char *fn);
/*
 * At the top of a loop-only function: `if (debug_wrong_thread(__func__)) return;`
 * In debug mode a call from another thread is refused (returns 1) and logged
 * with the function and the thread's name. Outside debug mode: 0, one branch.
 */
static inline int
debug_wrong_thread(const char *fn)
{
	return debug_on() && debug_wrong_thread_check(fn);
}
/* Nonzero on the loop thread (or before debug_init). */
int	debug_is_loop_thread(void);

/* ---------------------------------------------------------------- pool jobs */

/* Where a job was submitted: a backtrace in debug mode, else NULL. */
struct debug_job_site;
struct debug_job_site *debug_job_site_new(void);
/*
 * Loop thread, just before a job's done callback: a failed or timed-out job
 * whose connection is already gone is logged as "job error never retrieved".
 */
void	debug_job_done(const struct pool_done *d, const char *file, int line,
	    const struct debug_job_site *site);
/*
 * Loop thread, when the pool frees a job: a job that never ran on a worker
 * (cancelled, timed out or shut down while queued) is logged as "job never
 * scheduled" with its submission site. Frees `site`.
 */
void	debug_job_free(const char *kind, uint64_t conn_id, int status, int ran,
	    const char *file, int line, struct debug_job_site *site);

/* ---------------------------------------------------------------- reports */

/* Connections and jobs still pending (shutdown timeout, SHUTDOWN now, exit). */
void	debug_report_pending(const char *when);
/* After the event base is freed: in debug mode, descriptors and TLS objects left open. */
void	debug_report_leaks(void);

/* ---------------------------------------------------------------- statistics */

#define DEBUG_HIST_BUCKETS	16
/* Upper bounds of the histogram buckets, in microseconds (+Inf follows). */
extern const uint64_t debug_hist_bounds_us[DEBUG_HIST_BUCKETS];

struct debug_hist {
	uint64_t	counts[DEBUG_HIST_BUCKETS + 1];	/* per bucket, not cumulative; last: +Inf */
	uint64_t	count;
	uint64_t	sum_us;
};

struct debug_stats {
	int		enabled;
	uint64_t	slow_callback_ms;
	uint64_t	slow_callbacks;		/* since start */
	uint64_t	wrong_thread;		/* refused calls */
	uint64_t	never_retrieved;
	uint64_t	never_scheduled;
	uint64_t	lag_samples;
	uint64_t	lag_p50_us;		/* over the last DEBUG_LAG_WINDOW samples */
	uint64_t	lag_p99_us;
	uint64_t	lag_max_us;		/* since start */
};
#define DEBUG_LAG_WINDOW	1024
#define DEBUG_LAG_INTERVAL_MS	100

void	debug_get_stats(struct debug_stats *st);
void	debug_lag_hist(struct debug_hist *h);
/* Callback-duration histograms (filled in debug mode), one per callback name. */
void	debug_cb_hist_foreach(void (*cb)(const char *name, const struct debug_hist *h, void *arg),
	    void *arg);
/* Percentile `pct` (0..100) of `n` samples (sorted in place). Pure. */
uint64_t debug_percentile(uint64_t *v, size_t n, unsigned pct);
/* Add one sample to a histogram. Pure. */
void	debug_hist_add(struct debug_hist *h, uint64_t us);

/* One slowlog entry. */
struct debug_slow {
	time_t		when;			/* wall clock */
	const char	*name;
	uint64_t	conn_id;		/* 0: none */
	char		listener[48];
	char		peer[64];
	uint64_t	took_us;
};
/* The last `n` (0: all) slow callbacks, newest first. */
void	debug_slowlog_foreach(size_t n, void (*cb)(const struct debug_slow *, void *), void *arg);

#endif
