/*
 * debug.h: debug mode (modelled on asyncio's).
 *
 * Debug mode is a process-wide flag: ECHOD_DEBUG=1, -d/--debug,
 * [debug] enabled = yes, or the admin console's DEBUG on. When it is on,
 * every loop callback is timed (loop.h; slow ones are logged here and kept
 * in the slowlog ring), loop-only functions check the calling thread, pool
 * jobs carry a backtrace of their submission, and the exit report lists the
 * descriptors and TLS objects left open. Outside debug mode each of these
 * hooks costs one predictable branch on a relaxed load.
 *
 * This module sits low (only log, stats and util below it): it knows no
 * connection, listener or job. Callers describe what they worked on through
 * small callbacks and plain values. Everything runs on the loop thread
 * except debug_on() and debug_wrong_thread(), which any thread may call.
 */
#ifndef ECHOD_DEBUG_H
#define ECHOD_DEBUG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The flag itself; read it through debug_on(). Written on the loop thread only. */
extern int debug_mode;

#ifdef ECHOD_NO_DEBUG_HOOKS
/* The benchmark's baseline (bench/debug_bench.sh): every hook compiled out. */
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
 * Invariant checks of --enable-debug builds: DEBUG_ASSERT(x) stops the
 * process with the expression and its place when x is false; in other
 * builds it costs nothing (x is not evaluated).
 */
#ifdef ECHOD_DEBUG_BUILD
#define DEBUG_ASSERT(x) do {						\
	if (__builtin_expect(!(x), 0))					\
		debug_assert_failed(#x, __FILE__, __LINE__, __func__);	\
} while (0)
#else
#define DEBUG_ASSERT(x) do { } while (0)
#endif
void	debug_assert_failed(const char *expr, const char *file, int line, const char *fn)
	    __attribute__((noreturn));

/*
 * Start-up, on the loop thread, after the log sink is configured and before
 * any listener or TLS context exists: remembers the loop thread and the
 * descriptors open now (for the exit report). Debug mode is on if `enabled`
 * (-d) or ECHOD_DEBUG is set to a true value.
 */
void	debug_init(int enabled);
/*
 * [debug] settings, at start-up and on reload. `enabled` turns debug mode on
 * at start-up; on reload only a change of the configured value changes the
 * mode, so a DEBUG on from the console survives an unrelated reload.
 */
void	debug_configure(int enabled, uint64_t slow_callback_ms, uint64_t slowlog_size);
/* Turn debug mode on or off now; `who` names the cause for the log line. */
void	debug_set_enabled(int on, const char *who);
/* Free the slowlog (at exit). */
void	debug_stop(void);

/* ---------------------------------------------------------------- slow callbacks */

/* What a slow callback worked on, for its log line and the slowlog. */
struct debug_where {
	uint64_t	conn_id;		/* 0: none */
	char		listener[48];
	char		peer[64];
};
/* Fills *w from `arg` (a connection, a listener); called only for slow callbacks. */
typedef void (*debug_describe_cb)(const void *arg, struct debug_where *w);

/* The loop's wrapper reports every timed callback here (loop.c). */
void	debug_cb_took(const char *name, debug_describe_cb describe, const void *arg,
	    uint64_t took_us);

/* One slowlog entry. */
struct debug_slow {
	time_t		when;			/* wall clock */
	const char	*name;
	struct debug_where where;
	uint64_t	took_us;
};
/* The last `n` (0: all) slow callbacks, newest first. */
void	debug_slowlog_foreach(size_t n, void (*cb)(const struct debug_slow *, void *), void *arg);

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

/* What the pool tells about one job; plain values, no pool types. */
struct debug_job {
	const char	*kind;
	uint64_t	 conn_id;
	const char	*status;	/* "failed", "timeout", ... */
	const char	*file;		/* submission site */
	int		 line;
	const struct debug_job_site *site;
};
/*
 * Loop thread, after a job's done callback: its failure (an error or a
 * timeout) was handed to a done callback that did not retrieve it, usually
 * because the connection it was for had gone: "job error never retrieved".
 */
void	debug_job_unretrieved(const struct debug_job *j);
/*
 * Loop thread, when the pool frees a job that never ran on a worker:
 * "job never scheduled" (a warning, except for a job its client's departure
 * cancelled, which is news only in debug mode). `quiet` marks that case.
 */
void	debug_job_unscheduled(const struct debug_job *j, int quiet);
void	debug_job_site_free(struct debug_job_site *site);

/* ---------------------------------------------------------------- reports */

/* At start-up: note the descriptors open now; at exit, in debug mode, report the new ones. */
void	debug_report_leaks(void);

struct debug_stats {
	int		enabled;
	uint64_t	slow_callback_ms;
	uint64_t	slow_callbacks;		/* since start */
	uint64_t	wrong_thread;		/* refused calls */
	uint64_t	never_retrieved;
	uint64_t	never_scheduled;
};
void	debug_get_stats(struct debug_stats *st);

#endif
