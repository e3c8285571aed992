/*
 * pool.h: the worker pool. Blocking or CPU-heavy work runs on named worker
 * threads; its result comes back to the loop thread through one completion
 * hand-off. Every function here is called on the loop thread, except the
 * pool_work_* helpers, which a work function calls on its worker thread.
 *
 * A job's life: pool_submit() copies the input and queues the job. A worker
 * runs the work function on that private copy; the work function sees no
 * connection, no libevent object, only its input and a result buffer. Then
 * the done callback runs on the loop thread, exactly once for every job that
 * pool_submit() accepted, never from inside pool_submit() or pool_cancel().
 * Its status tells what happened: the work ran (OK/FAILED), or the job was
 * cancelled, timed out or cancelled by shutdown (no result; a late result of
 * a job that was still running is discarded when the worker returns).
 */
#ifndef ECHOD_POOL_H
#define ECHOD_POOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct pool_job;

enum pool_status {
	POOL_OK = 0,        /* work function returned 0; result available */
	POOL_FAILED,        /* work function returned -1; result (error text) available */
	POOL_CANCELLED,     /* pool_cancel(): never ran, or result discarded */
	POOL_TIMEOUT,       /* deadline passed first; late result discarded */
	POOL_SHUTDOWN,      /* still queued when shutdown began; never ran */
};

/*
 * Worker side. `in` is the job's private copy of the input (NUL-terminated
 * after inlen bytes, for convenience). The work function appends its result
 * with pool_work_append/printf and returns 0 (OK) or -1 (FAILED).
 */
struct pool_work {
	const void        *in;
	size_t             inlen;
	char              *out;
	size_t             outlen;
	size_t             outcap;
	int                oom;        /* the result could not be stored: the job FAILED, oom */
	struct pool_job   *job;        /* opaque; for pool_work_sleep/abandoned */
};
typedef int  (*pool_work_cb)(struct pool_work *w);

void    pool_work_append(struct pool_work *w, const void *data, size_t len);
void    pool_work_printf(struct pool_work *w, const char *fmt, ...)
            __attribute__((format(printf, 2, 3)));
/* Nonzero once the result of this job can no longer reach anyone. */
int     pool_work_abandoned(struct pool_work *w);
/*
 * Sleep up to `ms`; returns 0 after the full time, -1 early when the job was
 * abandoned (cancelled, timed out) or the pool is being destroyed.
 */
int     pool_work_sleep(struct pool_work *w, uint64_t ms);

/* Loop side: what the done callback gets. Valid only during the call. */
struct pool_done {
	struct pool_job   *job;        /* invalid after the callback returns */
	const char        *kind;
	uint64_t           conn_id;
	void              *arg;
	enum pool_status   status;
	const char        *out;        /* OK/FAILED: the result; else NULL */
	size_t             outlen;
	int                oom;        /* FAILED: the worker ran out of memory; out is empty */
	uint64_t           queued_us;  /* submit -> start (0 if it never ran) */
	uint64_t           run_us;     /* start -> end (0 if not finished) */
};
typedef void (*pool_done_cb)(const struct pool_done *d);

struct pool_submit_args {
	const char        *kind;       /* static string: "digest", "sleep" */
	pool_work_cb       work;
	const void        *in;         /* copied */
	size_t             inlen;
	pool_done_cb       done;
	void              *arg;        /* loop-side only; a worker never sees it */
	uint64_t           conn_id;    /* 0: not tied to a connection */
	uint64_t           timeout_ms; /* 0: the pool's job_timeout (0 there: none) */
};

/*
 * Start `nworkers` threads (0: number of CPUs, at least 2). Returns -1 and a
 * malloc'd *err on failure. Workers wake the loop through an eventfd and
 * never call libevent, so `base` needs no locking (EVENT_BASE_FLAG_NOLOCK).
 */
int     pool_init(struct event_base *base, unsigned nworkers, size_t queue_max,
            uint64_t job_timeout_ms, char **err);
/* Reload: new queue bound and default job timeout (worker count is fixed). */
void    pool_set_limits(size_t queue_max, uint64_t job_timeout_ms);

/*
 * Fairness: the most jobs one connection should have queued or running at
 * once, a quarter of job_queue_max (at least 1; no limit before pool_init).
 * The queue is shared by every client: a service holds a connection's
 * further jobs back at this count (it stops reading that client) instead of
 * letting one client fill the queue and everyone else get "busy".
 */
size_t  pool_conn_share(void);

/*
 * Queue a job. Returns 0 and, if jobp is not NULL, a handle valid until the
 * done callback has run. Returns -1 without queueing: errno EAGAIN when the
 * queue is full (reply "busy"), ESHUTDOWN after pool_shutdown_begin or
 * before pool_init, ENOMEM when out of memory. Records the caller's file
 * and line (see pool_submit).
 */
int     pool_submit_at(const struct pool_submit_args *a, struct pool_job **jobp,
            const char *file, int line);
#define pool_submit(a, jobp) pool_submit_at((a), (jobp), __FILE__, __LINE__)

/*
 * From a done callback: the job's outcome reached its consumer (a reply was
 * written, a client told). A failed or timed-out job whose done callback
 * does not say so is reported as "job error never retrieved" (debug.h).
 */
void    pool_retrieved(const struct pool_done *d);

/*
 * Cancel: a queued job never runs; a running job's result is discarded. The
 * done callback runs later with POOL_CANCELLED, unless the job's outcome was
 * already decided (then nothing changes). Idempotent until the done callback
 * has run; the handle must not be used after that.
 */
void    pool_cancel(struct pool_job *job);
/* Cancel every job of a connection (at close). Returns how many. */
unsigned pool_cancel_conn(uint64_t conn_id);

/* Graceful shutdown: refuse new jobs, complete queued ones with POOL_SHUTDOWN;
 * running ones continue and deliver their results. */
void    pool_shutdown_begin(void);
/* Queued + running > 0. */
int     pool_busy(void);
/*
 * Stop the workers and join them, waiting at most wait_ms for running jobs.
 * Jobs still running then get POOL_SHUTDOWN; done callbacks still owed run
 * here, on the calling (loop) thread, so connection references are dropped.
 * Workers stuck past wait_ms are left behind (the process is exiting).
 */
void    pool_destroy(uint64_t wait_ms);

struct pool_stats {
	uint64_t workers;
	uint64_t queued;       /* now */
	uint64_t running;      /* now, including abandoned jobs still on a worker */
	uint64_t submitted;    /* totals from here on */
	uint64_t rejected;     /* queue full */
	uint64_t completed;
	uint64_t failed;
	uint64_t cancelled;    /* pool_cancel and shutdown */
	uint64_t timed_out;
};
void    pool_get_stats(struct pool_stats *st);

/* Debugging: every live job, with where it was submitted. Loop thread. */
struct pool_job_info {
	const char        *kind;
	const char        *file;
	int                line;
	uint64_t           conn_id;
	const char        *state;      /* "queued", "running", "done" */
	uint64_t           age_ms;     /* since submission */
};
void    pool_foreach_job(void (*cb)(const struct pool_job_info *, void *), void *arg);


#endif
