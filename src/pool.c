/*
 * pool.c: worker threads, a bounded FIFO job queue and the completion
 * hand-off back to the loop thread (modelled on Redis bio.c and memcached
 * thread.c).
 *
 * Threads: pool_init/submit/cancel/shutdown/destroy, the timeout timers and
 * the completion drain run on the loop thread; pool_worker_main and the
 * pool_work_* helpers run on the workers. Everything both sides touch is
 * under pool->lock. Workers never touch a libevent object except
 * a write to the loop's wake-up eventfd (so libevent itself needs no locks),
 * and never a struct conn.
 *
 * A job's outcome is "decided" exactly once, under the lock: by the worker
 * (OK/FAILED), or on the loop by cancel, timeout or shutdown. Deciding puts
 * the job on the completion list; the loop is woken only when that list goes
 * from empty to non-empty and drains it by swapping it out under the lock.
 * A job decided while a worker still runs it is "abandoned": the worker
 * discards its result. The job is freed, always on the loop thread, once its
 * done callback has run and no worker holds it; whichever of the two happens
 * last arranges the free (a worker finishing an abandoned, already-delivered
 * job puts it back on the completion list just to be reaped).
 *
 * Timeouts cost O(log n) per job in libevent's timer heap, O(1) with the
 * common-timeout queue used for the default job_timeout; nothing scans all
 * jobs per tick.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "debug.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "stats.h"
#include "util.h"

/* Worker threads run this much nicer than the loop thread (capped at 19). */
#define POOL_WORKER_NICE 10

enum pool_job_state {
	POOL_J_QUEUED = 0,
	POOL_J_RUNNING,
	POOL_J_IDLE,        /* on no worker: finished, or removed from the queue */
};

struct pool;

struct pool_job {
	struct pool          *pool;
	uint64_t              id;
	const char           *kind;
	const char           *file;
	int                   line;
	struct debug_job_site *dbg;        /* debug mode: submission backtrace */
	uint64_t              conn_id;
	pool_work_cb          work;
	pool_done_cb          done;
	void                 *arg;
	void                 *in;
	size_t                inlen;

	/* Under pool->lock. */
	enum pool_job_state   state;
	enum pool_status      status;
	int                   decided;
	int                   abandoned;   /* decided while a worker runs it */
	int                   delivered;   /* done callback has run */
	int                   on_clist;
	char                 *out;
	size_t                outlen;
	int                   oom;         /* FAILED for want of memory */
	uint64_t              submit_us;
	uint64_t              start_us;
	uint64_t              end_us;

	/* Loop thread only. */
	struct event          timer;
	int                   timer_set;
	int                   retrieved;   /* the done callback took the outcome (pool_retrieved) */

	TAILQ_ENTRY(pool_job) qentry;      /* queue or completion list */
	TAILQ_ENTRY(pool_job) aentry;      /* all live jobs */
};
TAILQ_HEAD(pool_job_list, pool_job);

struct pool_worker {
	struct pool          *pool;
	pthread_t             thread;
	unsigned              index;
	int                   started;
	int                   exited;      /* under lock */
};

struct pool {
	struct event_base    *base;
	pthread_mutex_t       lock;
	pthread_cond_t        work_cv;     /* queue non-empty or stopping */
	pthread_cond_t        abandon_cv;  /* a running job was abandoned; hard stop */
	pthread_cond_t        idle_cv;     /* a worker exited */

	struct pool_worker   *workers;
	unsigned              nworkers;
	unsigned              nalive;

	struct pool_job_list  queue;
	size_t                nqueued;
	size_t                queue_max;
	unsigned              nrunning;
	struct pool_job_list  clist;       /* completions for the loop */
	struct pool_job_list  all;
	struct event         *wake_ev;     /* NULL once destroy gave up on workers */
	int                   wake_fd;     /* eventfd the loop watches; workers write it */

	uint64_t              job_timeout_ms;
	const struct timeval *common_tv;   /* common timeout for job_timeout_ms */
	int                   shutting;    /* no new jobs */
	int                   stopping;    /* workers exit when the queue is empty */
	int                   hard;        /* interrupt pool_work_sleep */
	uint64_t              next_id;

	struct pool_stats     stats;
};

static struct pool *pool;
/* Kept reachable when destroy leaves stuck workers behind at exit. */
static struct pool *volatile pool_leftover;

static void	pool_wakeup_cb(evutil_socket_t, short, void *);
static void	pool_timeout_cb(evutil_socket_t, short, void *);

static const char *
pool_status_name(enum pool_status st)
{
	switch (st) {
	case POOL_OK:
		return "ok";
	case POOL_FAILED:
		return "failed";
	case POOL_CANCELLED:
		return "cancelled";
	case POOL_TIMEOUT:
		return "timeout";
	case POOL_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}

/*
 * Locked. Wake the loop: an eventfd write, so the event base needs no
 * locking of its own (it is created with EVENT_BASE_FLAG_NOLOCK).
 */
static void
pool_wake(struct pool *p)
{
	uint64_t one = 1;

	/* EAGAIN would mean the counter is saturated: the loop is awake anyway. */
	if (write(p->wake_fd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_error(LOG_S_POOL, "cannot wake the loop: %s", strerror(errno));
}

/* Locked. Hand a decided (or reapable) job to the loop; wake it on empty -> non-empty. */
static void
pool_push_completion(struct pool *p, struct pool_job *job)
{
	int was_empty = TAILQ_EMPTY(&p->clist);

	TAILQ_INSERT_TAIL(&p->clist, job, qentry);
	job->on_clist = 1;
	if (was_empty && p->wake_ev != NULL)
		pool_wake(p);
}

/* Locked. Decide a job's outcome from the loop side (cancel, timeout, shutdown). */
static void
pool_decide_locked(struct pool *p, struct pool_job *job, enum pool_status st)
{
	job->decided = 1;
	job->status = st;
	switch (job->state) {
	case POOL_J_QUEUED:
		TAILQ_REMOVE(&p->queue, job, qentry);
		p->nqueued--;
		job->state = POOL_J_IDLE;
		break;
	case POOL_J_RUNNING:
		/* The worker keeps the job; it discards its result when done. */
		job->abandoned = 1;
		pthread_cond_broadcast(&p->abandon_cv);
		break;
	case POOL_J_IDLE:
		break;
	}
	if (st == POOL_TIMEOUT)
		p->stats.timed_out++;
	else
		p->stats.cancelled++;
	pool_push_completion(p, job);
}

/* What debug.c reports about a job, as plain values. */
static void
pool_debug_job(const struct pool_job *job, struct debug_job *j)
{
	j->kind = job->kind;
	j->conn_id = job->conn_id;
	j->status = pool_status_name(job->status);
	j->file = job->file;
	j->line = job->line;
	j->site = job->dbg;
}

static void
pool_job_free(struct pool_job *job)
{
	struct debug_job j;

	/* A worker may still run an abandoned job: only an idle one is freed. */
	DEBUG_ASSERT(job->state != POOL_J_RUNNING);
	/* A job that never ran on a worker: "never scheduled" (news in debug mode for cancels). */
	if (job->start_us == 0 && (job->status == POOL_CANCELLED || job->status == POOL_TIMEOUT ||
	    job->status == POOL_SHUTDOWN)) {
		pool_debug_job(job, &j);
		debug_job_unscheduled(&j, job->status == POOL_CANCELLED);
	}
	debug_job_site_free(job->dbg);
	free(job->in);
	free(job->out);
	free(job);
}

/* ---------------------------------------------------------------- workers */

void
pool_work_append(struct pool_work *w, const void *data, size_t len)
{
	size_t need = w->outlen + len + 1, cap;
	char  *out;

	if (w->oom)
		return;
	if (need > w->outcap) {
		cap = need < 256 ? 256 : need * 2;
		/* Out of memory: the job fails as a whole (pool_worker_run), never with half a result. */
		if ((out = util_reallocarray(w->out, cap, 1)) == NULL) {
			w->oom = 1;
			return;
		}
		w->out = out;
		w->outcap = cap;
	}
	memcpy(w->out + w->outlen, data, len);
	w->outlen += len;
	w->out[w->outlen] = '\0';
}

void
pool_work_printf(struct pool_work *w, const char *fmt, ...)
{
	va_list ap;
	char   *s;
	int     n;

	va_start(ap, fmt);
	n = util_vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->oom = 1;
		return;
	}
	pool_work_append(w, s, (size_t)n);
	free(s);
}

int
pool_work_abandoned(struct pool_work *w)
{
	struct pool *p = w->job->pool;
	int          r;

	pthread_mutex_lock(&p->lock);
	r = w->job->abandoned || p->hard;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_work_sleep(struct pool_work *w, uint64_t ms)
{
	struct pool     *p = w->job->pool;
	struct timespec  ts;
	int              r = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (w->job->abandoned || p->hard) {
			r = -1;
			break;
		}
		if (pthread_cond_timedwait(&p->abandon_cv, &p->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Locked on entry and exit. Run one job with the lock dropped. */
static void
pool_worker_run(struct pool *p, struct pool_job *job)
{
	struct pool_work w;
	int              rc;

	job->state = POOL_J_RUNNING;
	job->start_us = util_now_us();
	p->nrunning++;
	pthread_mutex_unlock(&p->lock);

	memset(&w, 0, sizeof w);
	w.in = job->in;
	w.inlen = job->inlen;
	w.job = job;
	rc = job->work(&w);
	if (w.oom) {
		free(w.out);
		w.out = NULL;
		w.outlen = 0;
		rc = -1;
	}

	pthread_mutex_lock(&p->lock);
	p->nrunning--;
	job->state = POOL_J_IDLE;
	job->end_us = util_now_us();
	if (job->abandoned) {
		/* Its done callback ran or is on its way: drop the late result. */
		free(w.out);
		if (job->delivered)
			pool_push_completion(p, job);
		return;
	}
	job->out = w.out;
	job->outlen = w.outlen;
	job->oom = w.oom;
	job->decided = 1;
	job->status = rc == 0 ? POOL_OK : POOL_FAILED;
	if (rc == 0)
		p->stats.completed++;
	else
		p->stats.failed++;
	pool_push_completion(p, job);
}

static void *
pool_worker_main(void *arg)
{
	struct pool_worker *wk = arg;
	struct pool        *p = wk->pool;
	struct pool_job    *job;
	char                name[16];
	id_t                tid;
	int                 nice;

	util_block_signals();
	snprintf(name, sizeof name, "echod-worker-%u", wk->index);
	util_set_thread_name(name);
	/*
	 * Lower this thread's priority (Linux nice values are per thread): on a
	 * core shared with the loop, CPU-heavy jobs (DIGEST) then yield to it
	 * instead of preempting it. Measured: echo p99 under a DIGEST-only load
	 * went from about 60x idle to about 1x (bench/pool_bench.sh).
	 */
	tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	nice = getpriority(PRIO_PROCESS, tid);
	if (errno == 0 && nice < 19 &&
	    setpriority(PRIO_PROCESS, tid, nice + POOL_WORKER_NICE > 19 ? 19 : nice + POOL_WORKER_NICE) == -1)
		log_debug(LOG_S_POOL, "worker=%u cannot lower priority: %s", wk->index, strerror(errno));

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (TAILQ_EMPTY(&p->queue) && !p->stopping)
			pthread_cond_wait(&p->work_cv, &p->lock);
		if ((job = TAILQ_FIRST(&p->queue)) == NULL)
			break;
		TAILQ_REMOVE(&p->queue, job, qentry);
		p->nqueued--;
		pool_worker_run(p, job);
	}
	wk->exited = 1;
	p->nalive--;
	pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---------------------------------------------------------------- loop side */

static void
pool_timer_stop(struct pool_job *job)
{
	if (job->timer_set) {
		event_del(&job->timer);
		job->timer_set = 0;
	}
}

/* Run one job's done callback; free it unless a worker still holds it. */
static void
pool_deliver(struct pool *p, struct pool_job *job)
{
	struct pool_done d;
	uint64_t         start_us, end_us;
	int              release;

	DEBUG_ASSERT(debug_is_loop_thread());
	pool_timer_stop(job);
	/* An abandoned job may still be on its worker, which stamps these. */
	pthread_mutex_lock(&p->lock);
	start_us = job->start_us;
	end_us = job->end_us;
	pthread_mutex_unlock(&p->lock);
	memset(&d, 0, sizeof d);
	d.job = job;
	d.kind = job->kind;
	d.conn_id = job->conn_id;
	d.arg = job->arg;
	/* Decided before it reached the completion list: no longer written. */
	d.status = job->status;
	if (job->status == POOL_OK || job->status == POOL_FAILED) {
		d.out = job->out != NULL ? job->out : "";
		d.outlen = job->outlen;
		d.oom = job->oom;
	}
	if (start_us != 0) {
		d.queued_us = start_us - job->submit_us;
		if (end_us != 0)
			d.run_us = end_us - start_us;
	}
	job->done(&d);
	/* A failure the done callback did not take (its connection had gone): debug.c says so. */
	if ((d.status == POOL_FAILED || d.status == POOL_TIMEOUT) && !job->retrieved) {
		struct debug_job j;

		pool_debug_job(job, &j);
		debug_job_unretrieved(&j);
	}

	pthread_mutex_lock(&p->lock);
	job->delivered = 1;
	release = job->state != POOL_J_RUNNING;
	if (release)
		TAILQ_REMOVE(&p->all, job, aentry);
	pthread_mutex_unlock(&p->lock);
	if (release)
		pool_job_free(job);
}

/* Swap the completion list out under the lock, then deliver without it. */
static void
pool_drain(struct pool *p)
{
	struct pool_job_list local;
	struct pool_job     *job;
	int                  reap;

	TAILQ_INIT(&local);
	pthread_mutex_lock(&p->lock);
	TAILQ_CONCAT(&local, &p->clist, qentry);
	TAILQ_FOREACH(job, &local, qentry)
		job->on_clist = 0;
	pthread_mutex_unlock(&p->lock);

	while ((job = TAILQ_FIRST(&local)) != NULL) {
		TAILQ_REMOVE(&local, job, qentry);
		pthread_mutex_lock(&p->lock);
		reap = job->delivered;
		if (reap)
			TAILQ_REMOVE(&p->all, job, aentry);
		pthread_mutex_unlock(&p->lock);
		if (reap)
			pool_job_free(job);
		else
			pool_deliver(p, job);
	}
}

static void
pool_wakeup_body(evutil_socket_t fd, struct pool *p)
{
	uint64_t n;

	/* Reset the counter first: a wake-up after this read is not lost. */
	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_error(LOG_S_POOL, "wake-up read: %s", strerror(errno));
	pool_drain(p);
}

static void
pool_wakeup_cb(evutil_socket_t fd, short events, void *arg)
{
	LOOP_CB("pool_wakeup_cb", NULL, NULL, pool_wakeup_body(fd, arg));
}

static void
pool_timeout_body(struct pool_job *job)
{
	struct pool     *p = job->pool;
	int              fired = 0;

	job->timer_set = 0;
	pthread_mutex_lock(&p->lock);
	if (!job->decided) {
		pool_decide_locked(p, job, POOL_TIMEOUT);
		fired = 1;
	}
	pthread_mutex_unlock(&p->lock);
	if (fired)
		log_info(LOG_S_POOL, "job=%llu kind=%s conn=%llu status=timeout site=%s:%d",
		    (unsigned long long)job->id, job->kind,
		    (unsigned long long)job->conn_id, job->file, job->line);
}

static void
pool_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	LOOP_CB("pool_timeout_cb", NULL, NULL, pool_timeout_body(arg));
}

/* 0, or -1 when the timer cannot be added (out of memory). */
static int
pool_timer_start(struct pool *p, struct pool_job *job, uint64_t timeout_ms)
{
	struct timeval tv;
	int rv;

	if (timeout_ms == 0)
		timeout_ms = p->job_timeout_ms;
	if (timeout_ms == 0)
		return 0;
	evtimer_assign(&job->timer, p->base, pool_timeout_cb, job);
	if (timeout_ms == p->job_timeout_ms && p->common_tv != NULL)
		rv = evtimer_add(&job->timer, p->common_tv);
	else {
		tv.tv_sec = (time_t)(timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
		rv = evtimer_add(&job->timer, &tv);
	}
	/* libevent's timer heap could not grow: a job without its deadline is not queued */
	if (rv == -1) {
		util_oom();
		return -1;
	}
	job->timer_set = 1;
	return 0;
}

int
pool_submit_at(const struct pool_submit_args *a, struct pool_job **jobp,
    const char *file, int line)
{
	struct pool     *p = pool;
	struct pool_job *job;

	if (debug_wrong_thread(__func__)) {
		errno = EPERM;
		return -1;
	}
	if (p == NULL) {
		errno = ESHUTDOWN;
		return -1;
	}
	pthread_mutex_lock(&p->lock);
	if (p->shutting) {
		pthread_mutex_unlock(&p->lock);
		errno = ESHUTDOWN;
		return -1;
	}
	if (p->nqueued >= p->queue_max) {
		p->stats.rejected++;
		pthread_mutex_unlock(&p->lock);
		errno = EAGAIN;
		return -1;
	}
	pthread_mutex_unlock(&p->lock);

	/*
	 * Only the loop thread submits, shuts down or changes queue_max, so the
	 * checks above still hold when the job is queued below.
	 */
	/* Out of memory: ENOMEM, the caller fails that request. */
	if ((job = util_calloc(1, sizeof *job)) == NULL ||
	    (job->in = util_malloc(a->inlen + 1)) == NULL) {
		free(job);
		errno = ENOMEM;
		return -1;
	}
	job->pool = p;
	job->kind = a->kind;
	job->file = file;
	job->line = line;
	job->dbg = debug_job_site_new();
	job->conn_id = a->conn_id;
	job->work = a->work;
	job->done = a->done;
	job->arg = a->arg;
	if (a->inlen > 0)
		memcpy(job->in, a->in, a->inlen);
	((char *)job->in)[a->inlen] = '\0';
	job->inlen = a->inlen;
	job->submit_us = util_now_us();
	if (pool_timer_start(p, job, a->timeout_ms) == -1) {
		debug_job_site_free(job->dbg);
		free(job->in);
		free(job);
		errno = ENOMEM;
		return -1;
	}

	pthread_mutex_lock(&p->lock);
	job->id = ++p->next_id;
	job->state = POOL_J_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, job, qentry);
	TAILQ_INSERT_TAIL(&p->all, job, aentry);
	p->nqueued++;
	p->stats.submitted++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->lock);

	if (jobp != NULL)
		*jobp = job;
	return 0;
}

void
pool_retrieved(const struct pool_done *d)
{
	d->job->retrieved = 1;
}

void
pool_cancel(struct pool_job *job)
{
	struct pool *p = job->pool;

	pthread_mutex_lock(&p->lock);
	if (!job->decided)
		pool_decide_locked(p, job, POOL_CANCELLED);
	pthread_mutex_unlock(&p->lock);
}

unsigned
pool_cancel_conn(uint64_t conn_id)
{
	struct pool     *p = pool;
	struct pool_job *job;
	unsigned         n = 0;

	if (p == NULL || conn_id == 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	TAILQ_FOREACH(job, &p->all, aentry) {
		if (job->conn_id == conn_id && !job->decided) {
			pool_decide_locked(p, job, POOL_CANCELLED);
			n++;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* Locked. Complete every queued job with POOL_SHUTDOWN. */
static unsigned
pool_flush_queue_locked(struct pool *p)
{
	struct pool_job *job;
	unsigned         n = 0;

	while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
		pool_decide_locked(p, job, POOL_SHUTDOWN);
		n++;
	}
	return n;
}

void
pool_shutdown_begin(void)
{
	struct pool *p = pool;
	unsigned     n, running;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->shutting = 1;
	n = pool_flush_queue_locked(p);
	running = p->nrunning;
	pthread_mutex_unlock(&p->lock);
	log_info(LOG_S_POOL, "shutdown cancelled=%u running=%u", n, running);
}

int
pool_busy(void)
{
	struct pool *p = pool;
	int          busy;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->lock);
	busy = p->nqueued + p->nrunning > 0;
	pthread_mutex_unlock(&p->lock);
	return busy;
}

void
pool_set_limits(size_t queue_max, uint64_t job_timeout_ms)
{
	struct pool    *p = pool;
	struct timeval  tv;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->queue_max = queue_max > 0 ? queue_max : 1;
	pthread_mutex_unlock(&p->lock);
	/* Loop-only fields: jobs already queued keep their deadline. */
	p->job_timeout_ms = job_timeout_ms;
	p->common_tv = NULL;
	if (job_timeout_ms > 0) {
		tv.tv_sec = (time_t)(job_timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(job_timeout_ms % 1000) * 1000;
		p->common_tv = event_base_init_common_timeout(p->base, &tv);
	}
}

size_t
pool_conn_share(void)
{
	struct pool *p = pool;
	size_t       share;

	if (p == NULL)
		return SIZE_MAX;
	pthread_mutex_lock(&p->lock);
	share = p->queue_max / 4;
	pthread_mutex_unlock(&p->lock);
	return share > 0 ? share : 1;
}

void
pool_get_stats(struct pool_stats *st)
{
	struct pool *p = pool;

	memset(st, 0, sizeof *st);
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	*st = p->stats;
	st->workers = p->nworkers;
	st->queued = p->nqueued;
	st->running = p->nrunning;
	pthread_mutex_unlock(&p->lock);
}

void
pool_foreach_job(void (*cb)(const struct pool_job_info *, void *), void *arg)
{
	struct pool          *p = pool;
	struct pool_job      *job;
	struct pool_job_info *v;
	size_t                n = 0, i;
	uint64_t              now = util_now_us();

	if (p == NULL)
		return;
	/* Copy under the lock, call back without it (cb may submit or cancel). */
	pthread_mutex_lock(&p->lock);
	TAILQ_FOREACH(job, &p->all, aentry)
		n++;
	v = xcalloc(n + 1, sizeof *v);
	i = 0;
	TAILQ_FOREACH(job, &p->all, aentry) {
		v[i].kind = job->kind;
		v[i].file = job->file;
		v[i].line = job->line;
		v[i].conn_id = job->conn_id;
		v[i].state = job->state == POOL_J_QUEUED ? "queued" :
		    job->state == POOL_J_RUNNING ? "running" : "done";
		v[i].age_ms = (now - job->submit_us) / 1000;
		i++;
	}
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		cb(&v[i], arg);
	free(v);
}

/* ---------------------------------------------------------------- statistics */

/* `arg` names the pool_stats field. */
static void
pool_collect(struct stats_emit *e, void *arg)
{
	struct pool_stats st;

	pool_get_stats(&st);
	stats_emit_u64(e, *(const uint64_t *)((const char *)&st + (size_t)(uintptr_t)arg));
}

static void
pool_collect_finished(struct stats_emit *e, void *arg)
{
	struct pool_stats st;

	pool_get_stats(&st);
	stats_emit_u64(e, st.completed, "completed");
	stats_emit_u64(e, st.failed, "failed");
	stats_emit_u64(e, st.cancelled, "cancelled");
	stats_emit_u64(e, st.timed_out, "timed_out");
}

#define POOL_FIELD(f)	((void *)(uintptr_t)offsetof(struct pool_stats, f))
static const struct stats_family pool_families[] = {
	{ "pool_workers", STATS_GAUGE, STATS_UNIT_NONE, "Worker threads of the job pool.",
	  { NULL }, pool_collect, POOL_FIELD(workers) },
	{ "jobs_queued", STATS_GAUGE, STATS_UNIT_NONE, "Jobs waiting for a worker.", { NULL },
	  pool_collect, POOL_FIELD(queued) },
	{ "jobs_running", STATS_GAUGE, STATS_UNIT_NONE, "Jobs on a worker now.", { NULL },
	  pool_collect, POOL_FIELD(running) },
	{ "jobs_submitted_total", STATS_COUNTER, STATS_UNIT_NONE, "Jobs accepted into the queue.",
	  { NULL }, pool_collect, POOL_FIELD(submitted) },
	{ "jobs_rejected_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Jobs refused because the queue was full.", { NULL }, pool_collect,
	  POOL_FIELD(rejected) },
	{ "jobs_finished_total", STATS_COUNTER, STATS_UNIT_NONE, "Jobs finished, by outcome.",
	  { "status", NULL }, pool_collect_finished, NULL },
};
#undef POOL_FIELD

/* ---------------------------------------------------------------- init and destroy */

static unsigned
pool_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : (unsigned)n;
}

static void
pool_free(struct pool *p)
{
	if (p->wake_ev != NULL)
		event_free(p->wake_ev);
	if (p->wake_fd != -1)
		close(p->wake_fd);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->abandon_cv);
	pthread_cond_destroy(&p->idle_cv);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p);
}

int
pool_init(struct event_base *base, unsigned nworkers, size_t queue_max,
    uint64_t job_timeout_ms, char **err)
{
	struct pool         *p;
	pthread_condattr_t   ca;
	unsigned             i;
	int                  rc;

	if (pool != NULL) {
		xasprintf(err, "pool already running");
		return -1;
	}
	p = xcalloc(1, sizeof *p);
	p->wake_fd = -1;
	p->base = base;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->abandon_cv, &ca);
	pthread_cond_init(&p->idle_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->work_cv, NULL);
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->clist);
	TAILQ_INIT(&p->all);
	p->nworkers = nworkers > 0 ? nworkers : pool_default_workers();
	p->workers = xcalloc(p->nworkers, sizeof *p->workers);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake_fd == -1) {
		xasprintf(err, "pool: eventfd: %s", strerror(errno));
		goto fail;
	}
	p->wake_ev = event_new(base, p->wake_fd, EV_READ | EV_PERSIST, pool_wakeup_cb, p);
	if (p->wake_ev == NULL || event_add(p->wake_ev, NULL) == -1) {
		xasprintf(err, "pool: cannot create the wake-up event");
		goto fail;
	}
	pool = p;
	pool_set_limits(queue_max, job_timeout_ms);

	for (i = 0; i < p->nworkers; i++) {
		p->workers[i].index = i;
		p->workers[i].pool = p;
		pthread_mutex_lock(&p->lock);
		p->nalive++;
		pthread_mutex_unlock(&p->lock);
		rc = pthread_create(&p->workers[i].thread, NULL, pool_worker_main, &p->workers[i]);
		if (rc != 0) {
			pthread_mutex_lock(&p->lock);
			p->nalive--;
			pthread_mutex_unlock(&p->lock);
			xasprintf(err, "pool: cannot start worker %u: pthread_create: %s", i,
			    strerror(rc));
			goto fail;
		}
		p->workers[i].started = 1;
	}
	for (i = 0; i < ARRAY_LEN(pool_families); i++)
		stats_register(&pool_families[i]);
	log_info(LOG_S_POOL, "pool started workers=%u queue_max=%zu job_timeout_ms=%llu",
	    p->nworkers, p->queue_max, (unsigned long long)job_timeout_ms);
	return 0;

fail:
	if (pool == p) {
		pthread_mutex_lock(&p->lock);
		p->stopping = 1;
		pthread_cond_broadcast(&p->work_cv);
		pthread_mutex_unlock(&p->lock);
		for (i = 0; i < p->nworkers; i++)
			if (p->workers[i].started)
				pthread_join(p->workers[i].thread, NULL);
		pool = NULL;
	}
	pool_free(p);
	return -1;
}

/* Locked. Wait until every worker has exited or the monotonic deadline passes. */
static void
pool_wait_workers_locked(struct pool *p, uint64_t wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(wait_ms / 1000);
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (p->nalive > 0)
		if (pthread_cond_timedwait(&p->idle_cv, &p->lock, &ts) == ETIMEDOUT)
			break;
}

void
pool_destroy(uint64_t wait_ms)
{
	struct pool     *p = pool;
	struct pool_job *job;
	unsigned         i, left;

	if (p == NULL)
		return;
	for (i = 0; i < ARRAY_LEN(pool_families); i++)
		stats_unregister(&pool_families[i]);
	pthread_mutex_lock(&p->lock);
	p->shutting = 1;
	p->stopping = 1;
	pool_flush_queue_locked(p);
	pthread_cond_broadcast(&p->work_cv);
	pool_wait_workers_locked(p, wait_ms);
	if (p->nalive > 0) {
		/* Interrupt interruptible work (pool_work_sleep), briefly. */
		p->hard = 1;
		pthread_cond_broadcast(&p->abandon_cv);
		pool_wait_workers_locked(p, 200);
	}
	left = p->nalive;
	if (left > 0) {
		/* Stuck workers: answer their jobs now and never wake the loop again. */
		TAILQ_FOREACH(job, &p->all, aentry)
			if (job->state == POOL_J_RUNNING && !job->decided)
				pool_decide_locked(p, job, POOL_SHUTDOWN);
	}
	/*
	 * Under the lock: a worker that set `exited` has released the lock for
	 * good, so joining it here cannot deadlock; the others may still be
	 * running and write `exited` later.
	 */
	for (i = 0; i < p->nworkers; i++) {
		if (!p->workers[i].started)
			continue;
		if (p->workers[i].exited)
			pthread_join(p->workers[i].thread, NULL);
		else
			pthread_detach(p->workers[i].thread);
	}
	pthread_mutex_unlock(&p->lock);
	pool_drain(p);

	if (left > 0) {
		log_warn(LOG_S_POOL, "pool stopped workers_left=%u", left);
		pthread_mutex_lock(&p->lock);
		event_free(p->wake_ev);
		p->wake_ev = NULL;
		pthread_mutex_unlock(&p->lock);
		pool_leftover = p;
		pool = NULL;
		return;
	}
	log_info(LOG_S_POOL, "pool stopped");
	pool = NULL;
	pool_free(p);
}
