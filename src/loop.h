/*
 * loop.h: the event loop's own machinery, below every module that has
 * callbacks: creating the event base, the wrapper every loop callback runs
 * in, the work deferred until the outermost callback returns, and loop
 * health (the lag monitor and, in debug mode, callback run times).
 * Loop thread only.
 *
 * The wrapper (LOOP_CB) is what makes "writing never closes" hold: a module
 * that must not act on the current call stack (conn.c closing and freeing a
 * connection) asks for a flush with loop_defer(), and the flush runs when
 * the outermost wrapped callback returns, after every caller above it on
 * the stack is done with its pointers.
 */
#ifndef ECHOD_LOOP_H
#define ECHOD_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "debug.h"
#include "util.h"

struct event_base;

/*
 * A new event base for the loop thread. Only that thread ever calls
 * libevent (workers wake the loop through an eventfd), so the base runs
 * without libevent's locking. The daemon and the tests both build theirs
 * here. NULL and a static reason in *why on failure.
 */
struct event_base *loop_base_new(const char **why);

/*
 * Loop health on `base` (at start-up, after loop_base_new): the lag
 * monitor's timer. loop_stop() frees it (before event_base_free). Also
 * routes libevent's own messages into echod's log (event_set_log_callback),
 * at most one line per second per kind of message, with a count of the
 * ones held back.
 */
void	loop_start(struct event_base *base);
void	loop_stop(void);

/* ---------------------------------------------------------------- callbacks */

/* Deferred work: a hook run when the outermost callback returns. */
typedef void (*loop_flush_cb)(void);
#define LOOP_FLUSH_MAX	4
/* Install a flush hook (start-up); returns its slot for loop_defer(). */
int	loop_flush_hook(loop_flush_cb cb);
/*
 * Ask for hook `slot` to run when the outermost callback returns. Outside
 * any callback (tests, exit paths) it runs at once, before this returns.
 */
void	loop_defer(int slot);
/* Nonzero inside a wrapped callback. */
int	loop_in_callback(void);

struct loop_cb {
	uint64_t	start_us;	/* debug mode: when it began; 0 when not timed */
};

extern unsigned loop_depth;
extern unsigned loop_pending;

void	loop_cb_timed_end(struct loop_cb *t, const char *name, debug_describe_cb describe,
	    const void *arg);
void	loop_run_deferred(void);

static inline void
loop_cb_enter(struct loop_cb *t)
{
	t->start_us = debug_on() ? util_now_us() : 0;
	loop_depth++;
}

static inline void
loop_cb_leave(struct loop_cb *t, const char *name, debug_describe_cb describe, const void *arg)
{
	if (__builtin_expect(t->start_us != 0, 0))
		loop_cb_timed_end(t, name, describe, arg);
	if (--loop_depth == 0 && __builtin_expect(loop_pending != 0, 0))
		loop_run_deferred();
}

/*
 * Run `call` (a statement) as a loop callback: timed in debug mode (`describe`
 * and `arg`, which may be NULL, name what it worked on when it was slow), and
 * followed by the deferred work once the outermost callback is done. `arg` is
 * described before the deferred work runs, so it is still valid.
 */
#define LOOP_CB(name, describe, arg, call) do {				\
	struct loop_cb loop_cb_t_;					\
									\
	loop_cb_enter(&loop_cb_t_);					\
	call;								\
	loop_cb_leave(&loop_cb_t_, (name), (describe), (arg));		\
} while (0)

/* ---------------------------------------------------------------- health */

#define LOOP_LAG_WINDOW		1024
#define LOOP_LAG_INTERVAL_MS	100

struct loop_lag {
	uint64_t	samples;
	uint64_t	p50_us;		/* over the last LOOP_LAG_WINDOW samples */
	uint64_t	p99_us;
	uint64_t	max_us;		/* since start */
};
void	loop_get_lag(struct loop_lag *lag);
/* In debug mode a lag above this is logged (0: never). */
void	loop_set_lag_threshold(uint64_t ms);

#endif
