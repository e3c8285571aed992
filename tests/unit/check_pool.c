/*
 * check_pool.c: the worker pool. Each test gets its own event_base (built as
 * the daemon builds it, without libevent's locking: a worker that called
 * into libevent would race, and TSan would say so) and its own
 * pool, runs the loop until the expected completions arrived (bounded in
 * time), and checks statuses, results, ordering and counters.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "pool.h"
#include "stats.h"
#include "unit.h"
#include "util.h"

#define MAX_DONE 20000

struct rec {
	int               n;                  /* done callbacks so far */
	int               arg[MAX_DONE];      /* arg of each, in delivery order */
	enum pool_status  st[MAX_DONE];
	char             *out[MAX_DONE];
	uint64_t          conn[MAX_DONE];
	int               calls_per_arg[MAX_DONE];
};

static struct event_base *base;
static struct event      *tick;
static struct rec         rec;

/* A gate that "blocking" jobs wait on, so tests control when they finish. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  gate_cv = PTHREAD_COND_INITIALIZER;
static int             gate_open;
static int             gate_started;
static int             ran_count;

static void
setup_pool(unsigned workers, size_t qmax, uint64_t timeout_ms)
{
	char *err = NULL;

	base = unit_base_new();
	tick = unit_tick_new(base);
	memset(&rec, 0, sizeof rec);
	gate_open = gate_started = ran_count = 0;
	ck_assert_msg(pool_init(base, workers, qmax, timeout_ms, &err) == 0, "%s", err);
}

static void
teardown_pool(void)
{
	int i;

	pool_destroy(1000);
	for (i = 0; i < rec.n; i++)
		free(rec.out[i]);
	event_free(tick);
	event_base_free(base);
}

static void
done_cb(const struct pool_done *d)
{
	int i = rec.n++;
	int a = (int)(intptr_t)d->arg;

	ck_assert_int_lt(i, MAX_DONE);
	rec.arg[i] = a;
	rec.st[i] = d->status;
	rec.conn[i] = d->conn_id;
	rec.out[i] = d->out != NULL ? xstrndup(d->out, d->outlen) : NULL;
	if (a >= 0 && a < MAX_DONE)
		rec.calls_per_arg[a]++;
	ck_assert_ptr_nonnull(d->kind);
}

/* Run the loop until `n` completions or `ms` passed; returns completions seen. */
static int
run_until(int n, uint64_t ms)
{
	return unit_run_until(base, &rec.n, n, ms);
}

/* ---------------------------------------------------------------- work functions */

static int
work_echo(struct pool_work *w)
{
	pool_work_append(w, w->in, w->inlen);
	return 0;
}

static int
work_fail(struct pool_work *w)
{
	pool_work_printf(w, "failed:%s", (const char *)w->in);
	return -1;
}

static int
work_sleep(struct pool_work *w)
{
	uint64_t ms = strtoull(w->in, NULL, 10);

	if (pool_work_sleep(w, ms) != 0) {
		pool_work_printf(w, "interrupted");
		return -1;
	}
	pool_work_printf(w, "slept %llu", (unsigned long long)ms);
	return 0;
}

/* Blocks, without looking at the pool, until the test opens the gate. */
static int
work_gate(struct pool_work *w)
{
	pthread_mutex_lock(&gate_lock);
	gate_started++;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	pool_work_printf(w, "gate");
	return 0;
}

static int
work_count(struct pool_work *w)
{
	pthread_mutex_lock(&gate_lock);
	ran_count++;
	pthread_mutex_unlock(&gate_lock);
	pool_work_printf(w, "counted");
	return 0;
}

static int
work_whoami(struct pool_work *w)
{
	char     name[32] = "";
	sigset_t set;

	pthread_getname_np(pthread_self(), name, sizeof name);
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	pool_work_printf(w, "%s %d %d", name, sigismember(&set, SIGTERM), sigismember(&set, SIGINT));
	return 0;
}

static void
gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_lock);
}

/* Wait (bounded) until `n` gate jobs are running on workers. */
static void
gate_wait_started(int n)
{
	uint64_t end = util_now_ms() + 5000;
	int      got;

	for (;;) {
		pthread_mutex_lock(&gate_lock);
		got = gate_started;
		pthread_mutex_unlock(&gate_lock);
		if (got >= n || util_now_ms() > end)
			break;
		usleep(1000);
	}
	ck_assert_int_ge(got, n);
}

static int
ran(void)
{
	int n;

	pthread_mutex_lock(&gate_lock);
	n = ran_count;
	pthread_mutex_unlock(&gate_lock);
	return n;
}

static int
submit(const char *kind, pool_work_cb work, const char *in, int arg, uint64_t conn,
    uint64_t timeout_ms, struct pool_job **jobp)
{
	struct pool_submit_args a = {
		.kind = kind, .work = work, .in = in, .inlen = in != NULL ? strlen(in) : 0,
		.done = done_cb, .arg = (void *)(intptr_t)arg, .conn_id = conn,
		.timeout_ms = timeout_ms,
	};

	return pool_submit(&a, jobp);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_result_and_input_copy)
{
	char in[16] = "hello";

	setup_pool(2, 16, 0);
	ck_assert_int_eq(submit("echo", work_echo, in, 1, 42, 0, NULL), 0);
	/* The job has its own copy: changing ours now must not matter. */
	strcpy(in, "XXXXX");
	ck_assert_int_eq(run_until(1, 5000), 1);
	ck_assert_int_eq(rec.st[0], POOL_OK);
	ck_assert_str_eq(rec.out[0], "hello");
	ck_assert_int_eq(rec.conn[0], 42);
	ck_assert_int_eq(rec.arg[0], 1);
	teardown_pool();
}
END_TEST

START_TEST(test_failed_and_stats)
{
	struct pool_stats st;

	setup_pool(2, 16, 0);
	ck_assert_int_eq(submit("fail", work_fail, "x", 1, 0, 0, NULL), 0);
	ck_assert_int_eq(submit("echo", work_echo, "y", 2, 0, 0, NULL), 0);
	ck_assert_int_eq(run_until(2, 5000), 2);
	pool_get_stats(&st);
	ck_assert_int_eq(st.workers, 2);
	ck_assert_int_eq(st.submitted, 2);
	ck_assert_int_eq(st.completed, 1);
	ck_assert_int_eq(st.failed, 1);
	ck_assert_int_eq(st.queued, 0);
	ck_assert_int_eq(st.running, 0);
	ck_assert_int_eq(rec.calls_per_arg[1], 1);
	ck_assert_str_eq(rec.out[rec.arg[0] == 1 ? 0 : 1], "failed:x");
	teardown_pool();
}
END_TEST

START_TEST(test_workers_named_and_signals_blocked)
{
	setup_pool(2, 16, 0);
	ck_assert_int_eq(submit("whoami", work_whoami, NULL, 1, 0, 0, NULL), 0);
	ck_assert_int_eq(run_until(1, 5000), 1);
	ck_assert_msg(strncmp(rec.out[0], "echod-worker-", 13) == 0, "name: %s", rec.out[0]);
	ck_assert_msg(strstr(rec.out[0], " 1 1") != NULL, "signals not blocked: %s", rec.out[0]);
	teardown_pool();
}
END_TEST

START_TEST(test_fifo_with_one_worker)
{
	char in[16];
	int  i;

	setup_pool(1, 1000, 0);
	for (i = 0; i < 200; i++) {
		snprintf(in, sizeof in, "%d", i);
		ck_assert_int_eq(submit("echo", work_echo, in, i, 0, 0, NULL), 0);
	}
	ck_assert_int_eq(run_until(200, 10000), 200);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(rec.arg[i], i);
		ck_assert_int_eq(atoi(rec.out[i]), i);
	}
	teardown_pool();
}
END_TEST

START_TEST(test_completions_in_finishing_order)
{
	setup_pool(2, 16, 0);
	ck_assert_int_eq(submit("sleep", work_sleep, "300", 1, 0, 0, NULL), 0);
	ck_assert_int_eq(submit("sleep", work_sleep, "10", 2, 0, 0, NULL), 0);
	ck_assert_int_eq(run_until(2, 5000), 2);
	ck_assert_int_eq(rec.arg[0], 2);
	ck_assert_int_eq(rec.arg[1], 1);
	ck_assert_str_eq(rec.out[1], "slept 300");
	teardown_pool();
}
END_TEST

START_TEST(test_not_called_synchronously)
{
	struct pool_job *job;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 1, 0, 0, NULL), 0);
	gate_wait_started(1);
	ck_assert_int_eq(submit("count", work_count, NULL, 2, 0, 0, &job), 0);
	pool_cancel(job);
	/* Completions only ever run from the loop. */
	ck_assert_int_eq(rec.n, 0);
	ck_assert_int_eq(run_until(1, 5000), 1);
	ck_assert_int_eq(rec.st[0], POOL_CANCELLED);
	gate_release();
	ck_assert_int_eq(run_until(2, 5000), 2);
	teardown_pool();
}
END_TEST

START_TEST(test_cancel_queued_never_runs)
{
	struct pool_job  *job[5];
	struct pool_stats st;
	int               i;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 0, 0, 0, NULL), 0);
	gate_wait_started(1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(submit("count", work_count, NULL, i + 1, 0, 0, &job[i]), 0);
	pool_cancel(job[1]);
	pool_cancel(job[3]);
	pool_cancel(job[3]);  /* idempotent */
	ck_assert_int_eq(run_until(2, 5000), 2);
	ck_assert_int_eq(rec.st[0], POOL_CANCELLED);
	ck_assert_int_eq(rec.st[1], POOL_CANCELLED);
	ck_assert_ptr_null(rec.out[0]);
	gate_release();
	ck_assert_int_eq(run_until(6, 5000), 6);
	unit_run_for(base, 50);
	ck_assert_int_eq(rec.n, 6);
	ck_assert_int_eq(ran(), 3);
	ck_assert_int_eq(rec.calls_per_arg[2], 1);
	ck_assert_int_eq(rec.calls_per_arg[4], 1);
	pool_get_stats(&st);
	ck_assert_int_eq(st.cancelled, 2);
	ck_assert_int_eq(st.completed, 4);
	teardown_pool();
}
END_TEST

START_TEST(test_cancel_running_discards_result)
{
	struct pool_job  *job;
	struct pool_stats st;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 7, 99, 0, &job), 0);
	gate_wait_started(1);
	/* The connection closed while its job runs. */
	pool_cancel(job);
	ck_assert_int_eq(run_until(1, 5000), 1);
	ck_assert_int_eq(rec.st[0], POOL_CANCELLED);
	pool_get_stats(&st);
	ck_assert_int_eq(st.running, 1);
	ck_assert_int_eq(pool_busy(), 1);
	gate_release();
	/* The late result comes back and is dropped: no second callback. */
	unit_run_for(base, 200);
	ck_assert_int_eq(rec.n, 1);
	ck_assert_int_eq(rec.calls_per_arg[7], 1);
	pool_get_stats(&st);
	ck_assert_int_eq(st.running, 0);
	ck_assert_int_eq(st.completed, 0);
	ck_assert_int_eq(st.cancelled, 1);
	ck_assert_int_eq(pool_busy(), 0);
	teardown_pool();
}
END_TEST

START_TEST(test_cancel_conn)
{
	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 0, 7, 0, NULL), 0);
	gate_wait_started(1);
	ck_assert_int_eq(submit("count", work_count, NULL, 1, 7, 0, NULL), 0);
	ck_assert_int_eq(submit("count", work_count, NULL, 2, 8, 0, NULL), 0);
	ck_assert_int_eq(submit("count", work_count, NULL, 3, 7, 0, NULL), 0);
	ck_assert_int_eq(pool_cancel_conn(7), 3);
	ck_assert_int_eq(pool_cancel_conn(7), 0);
	gate_release();
	ck_assert_int_eq(run_until(4, 5000), 4);
	unit_run_for(base, 50);
	ck_assert_int_eq(rec.n, 4);
	ck_assert_int_eq(ran(), 1);
	ck_assert_int_eq(rec.calls_per_arg[2], 1);
	teardown_pool();
}
END_TEST

START_TEST(test_timeout_running_interrupts_sleep)
{
	struct pool_stats st;
	uint64_t          t0 = util_now_ms();

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("sleep", work_sleep, "5000", 1, 0, 100, NULL), 0);
	ck_assert_int_eq(run_until(1, 3000), 1);
	ck_assert_int_eq(rec.st[0], POOL_TIMEOUT);
	ck_assert_uint_ge(util_now_ms() - t0, 90);
	ck_assert_uint_lt(util_now_ms() - t0, 2000);
	/* The abandoned sleep gives its worker back promptly. */
	unit_run_for(base, 100);
	pool_get_stats(&st);
	ck_assert_int_eq(st.running, 0);
	ck_assert_int_eq(st.timed_out, 1);
	ck_assert_int_eq(rec.n, 1);
	teardown_pool();
}
END_TEST

START_TEST(test_timeout_default_and_late_result)
{
	struct pool_stats st;

	/* Default job timeout from pool_init, a job that ignores it. */
	setup_pool(2, 16, 80);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 1, 0, 0, NULL), 0);
	ck_assert_int_eq(run_until(1, 3000), 1);
	ck_assert_int_eq(rec.st[0], POOL_TIMEOUT);
	gate_release();
	unit_run_for(base, 150);
	ck_assert_int_eq(rec.n, 1);
	pool_get_stats(&st);
	ck_assert_int_eq(st.timed_out, 1);
	ck_assert_int_eq(st.completed, 0);
	ck_assert_int_eq(st.running, 0);
	teardown_pool();
}
END_TEST

START_TEST(test_timeout_while_queued)
{
	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 1, 0, 0, NULL), 0);
	gate_wait_started(1);
	ck_assert_int_eq(submit("count", work_count, NULL, 2, 0, 50, NULL), 0);
	ck_assert_int_eq(run_until(1, 3000), 1);
	ck_assert_int_eq(rec.arg[0], 2);
	ck_assert_int_eq(rec.st[0], POOL_TIMEOUT);
	gate_release();
	ck_assert_int_eq(run_until(2, 3000), 2);
	unit_run_for(base, 50);
	ck_assert_int_eq(ran(), 0);
	teardown_pool();
}
END_TEST

START_TEST(test_queue_full)
{
	struct pool_stats st;
	int               i;

	setup_pool(1, 3, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 0, 0, 0, NULL), 0);
	gate_wait_started(1);
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(submit("count", work_count, NULL, i, 0, 0, NULL), 0);
	errno = 0;
	ck_assert_int_eq(submit("count", work_count, NULL, 4, 0, 0, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	pool_get_stats(&st);
	ck_assert_int_eq(st.queued, 3);
	ck_assert_int_eq(st.rejected, 1);
	/* A larger bound on reload takes effect at once. */
	pool_set_limits(4, 0);
	ck_assert_int_eq(submit("count", work_count, NULL, 5, 0, 0, NULL), 0);
	gate_release();
	ck_assert_int_eq(run_until(5, 5000), 5);
	ck_assert_int_eq(ran(), 4);
	/* Drained: room again. */
	ck_assert_int_eq(submit("count", work_count, NULL, 6, 0, 0, NULL), 0);
	ck_assert_int_eq(run_until(6, 5000), 6);
	teardown_pool();
}
END_TEST

/* One connection's fair share: a quarter of the queue bound, at least 1. */
START_TEST(test_conn_share)
{
	ck_assert_uint_eq(pool_conn_share(), SIZE_MAX);
	setup_pool(2, 16, 0);
	ck_assert_uint_eq(pool_conn_share(), 4);
	pool_set_limits(1024, 0);
	ck_assert_uint_eq(pool_conn_share(), 256);
	pool_set_limits(7, 0);
	ck_assert_uint_eq(pool_conn_share(), 1);
	pool_set_limits(1, 0);
	ck_assert_uint_eq(pool_conn_share(), 1);
	teardown_pool();
}
END_TEST

START_TEST(test_shutdown_queued_and_running)
{
	struct pool_stats st;
	int               i;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 0, 0, 0, NULL), 0);
	gate_wait_started(1);
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(submit("count", work_count, NULL, i, 0, 0, NULL), 0);
	ck_assert_int_eq(pool_busy(), 1);
	pool_shutdown_begin();
	errno = 0;
	ck_assert_int_eq(submit("count", work_count, NULL, 9, 0, 0, NULL), -1);
	ck_assert_int_eq(errno, ESHUTDOWN);
	ck_assert_int_eq(run_until(3, 5000), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rec.st[i], POOL_SHUTDOWN);
		ck_assert_int_eq(rec.arg[i], i + 1);
	}
	/* The running job still finishes and delivers its result. */
	ck_assert_int_eq(pool_busy(), 1);
	gate_release();
	ck_assert_int_eq(run_until(4, 5000), 4);
	ck_assert_int_eq(rec.st[3], POOL_OK);
	ck_assert_str_eq(rec.out[3], "gate");
	ck_assert_int_eq(pool_busy(), 0);
	ck_assert_int_eq(ran(), 0);
	pool_get_stats(&st);
	ck_assert_int_eq(st.cancelled, 3);
	teardown_pool();
}
END_TEST

START_TEST(test_destroy_waits_then_interrupts)
{
	uint64_t t0;

	setup_pool(2, 16, 0);
	ck_assert_int_eq(submit("sleep", work_sleep, "50", 1, 0, 0, NULL), 0);
	ck_assert_int_eq(submit("sleep", work_sleep, "10000", 2, 0, 0, NULL), 0);
	unit_run_for(base, 20);
	t0 = util_now_ms();
	/* The short job finishes within the wait; the long one is interrupted. */
	pool_destroy(300);
	ck_assert_uint_ge(util_now_ms() - t0, 250);
	ck_assert_uint_lt(util_now_ms() - t0, 3000);
	ck_assert_int_eq(rec.n, 2);
	ck_assert_int_eq(rec.calls_per_arg[1], 1);
	ck_assert_int_eq(rec.calls_per_arg[2], 1);
	ck_assert_int_eq(rec.st[rec.arg[0] == 1 ? 0 : 1], POOL_OK);
	ck_assert_int_eq(rec.st[rec.arg[0] == 2 ? 0 : 1], POOL_FAILED);
	/* Already destroyed: teardown's second destroy is a no-op. */
	teardown_pool();
}
END_TEST

START_TEST(test_destroy_leaves_stuck_worker)
{
	uint64_t t0;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 1, 0, 0, NULL), 0);
	ck_assert_int_eq(submit("count", work_count, NULL, 2, 0, 0, NULL), 0);
	gate_wait_started(1);
	t0 = util_now_ms();
	pool_destroy(100);
	ck_assert_uint_lt(util_now_ms() - t0, 3000);
	/* Both callbacks ran inside destroy: queued and stuck both report shutdown. */
	ck_assert_int_eq(rec.n, 2);
	ck_assert_int_eq(rec.st[0], POOL_SHUTDOWN);
	ck_assert_int_eq(rec.st[1], POOL_SHUTDOWN);
	ck_assert_int_eq(ran(), 0);
	gate_release();
	usleep(50000);
	ck_assert_int_eq(rec.n, 2);
	teardown_pool();
}
END_TEST

static int site_seen;

static void
site_cb(const struct pool_job_info *ji, void *arg)
{
	int line = *(int *)arg;

	site_seen++;
	if (ji->conn_id == 5) {
		ck_assert_str_eq(ji->state, "running");
		ck_assert_str_eq(ji->kind, "gate");
	} else {
		ck_assert_int_eq(ji->conn_id, 6);
		ck_assert_str_eq(ji->state, "queued");
		ck_assert_int_eq(ji->line, line);
		ck_assert_ptr_nonnull(strstr(ji->file, "check_pool.c"));
	}
}

START_TEST(test_submission_site)
{
	struct pool_submit_args a = { .kind = "count", .work = work_count, .done = done_cb, .conn_id = 6 };
	int                     line;

	setup_pool(1, 16, 0);
	ck_assert_int_eq(submit("gate", work_gate, NULL, 1, 5, 0, NULL), 0);
	gate_wait_started(1);
	line = __LINE__ + 1;
	ck_assert_int_eq(pool_submit(&a, NULL), 0);
	pool_foreach_job(site_cb, &line);
	ck_assert_int_eq(site_seen, 2);
	gate_release();
	ck_assert_int_eq(run_until(2, 5000), 2);
	teardown_pool();
}
END_TEST

START_TEST(test_stress)
{
	struct pool_job  *job[4000];
	struct pool_stats st;
	char              in[32];
	int               i, ncancel = 0, ok = 0;

	setup_pool(8, 5000, 0);
	for (i = 0; i < 4000; i++) {
		snprintf(in, sizeof in, "job-%d", i);
		ck_assert_int_eq(submit("echo", i % 3 == 0 ? work_fail : work_echo, in, i,
		    (uint64_t)i, 0, &job[i]), 0);
		if (i % 7 == 0 && i > 0 && rec.calls_per_arg[i - 7] == 0) {
			/* Cancel an older one: it is queued, running or finished. */
			pool_cancel(job[i - 7]);
			ncancel++;
		}
		if (i % 500 == 0)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_int_eq(run_until(4000, 20000), 4000);
	unit_run_for(base, 50);
	ck_assert_int_eq(rec.n, 4000);
	for (i = 0; i < 4000; i++)
		ck_assert_int_eq(rec.calls_per_arg[i], 1);
	for (i = 0; i < rec.n; i++) {
		snprintf(in, sizeof in, "job-%d", rec.arg[i]);
		if (rec.st[i] == POOL_OK) {
			ck_assert_str_eq(rec.out[i], in);
			ok++;
		} else if (rec.st[i] == POOL_FAILED)
			ck_assert_int_eq(rec.arg[i] % 3, 0);
		else
			ck_assert_int_eq(rec.st[i], POOL_CANCELLED);
		ck_assert_int_eq(rec.conn[i], (uint64_t)rec.arg[i]);
	}
	pool_get_stats(&st);
	ck_assert_int_eq(st.submitted, 4000);
	ck_assert_int_eq(st.completed + st.failed + st.cancelled, 4000);
	ck_assert_int_eq(st.completed, ok);
	ck_assert_int_le(st.cancelled, ncancel);
	ck_assert_int_eq(st.queued + st.running, 0);
	teardown_pool();
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_result_and_input_copy);
	tcase_add_test(tc, test_failed_and_stats);
	tcase_add_test(tc, test_workers_named_and_signals_blocked);
	tcase_add_test(tc, test_fifo_with_one_worker);
	tcase_add_test(tc, test_completions_in_finishing_order);
	tcase_add_test(tc, test_not_called_synchronously);
	tcase_add_test(tc, test_cancel_queued_never_runs);
	tcase_add_test(tc, test_cancel_running_discards_result);
	tcase_add_test(tc, test_cancel_conn);
	tcase_add_test(tc, test_timeout_running_interrupts_sleep);
	tcase_add_test(tc, test_timeout_default_and_late_result);
	tcase_add_test(tc, test_timeout_while_queued);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_conn_share);
	tcase_add_test(tc, test_shutdown_queued_and_running);
	tcase_add_test(tc, test_destroy_waits_then_interrupts);
	tcase_add_test(tc, test_destroy_leaves_stuck_worker);
	tcase_add_test(tc, test_submission_site);
	tcase_add_test(tc, test_stress);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(pool_suite());
}
