/*
 * check_debug.c: debug mode and loop health. Slow-callback timing and the
 * slowlog ring, the wrong-thread check (conn_write, conn_close and
 * pool_submit called from another thread over a socketpair connection),
 * "never retrieved" and "never scheduled" job reports with their sites,
 * the pending-at-exit and leak reports, the loop-lag monitor, and the
 * Prometheus exposition of all of it. The event base is built as the daemon
 * builds it (no libevent locking), so a worker calling into libevent would
 * show up here under TSan. Log lines are checked in a file that stderr is
 * redirected to (the log writes synchronously before log_start).
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "debug.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "server.h"
#include "service.h"
#include "stats.h"
#include "unit.h"
#include "util.h"

static struct event_base *base;
static struct event      *tick;
static char               logpath[64];
static int                ndone;
static enum pool_status   last_status;

static const char *logtext(void);

/* stderr (the synchronous log) goes to a file the test can read back. */
static void
setup(void)
{
	int fd;

	snprintf(logpath, sizeof(logpath), "/tmp/check_debug.%ld.log", (long)getpid());
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_init();
	log_set_level(LOG_L_INFO);
	base = unit_base_new();
	tick = unit_tick_new(base);
	debug_init(0);
	debug_configure(1, 50, 4);
	loop_start(base);
	loop_set_lag_threshold(40);
	conn_init(base);
	conn_set_limits(64 * 1024, 16 * 1024, 200);
	ndone = 0;
}

/* The log is this test's stderr, so sanitizer reports land there too. */
static void
teardown(void)
{
	const char *bad[] = { "ThreadSanitizer", "AddressSanitizer", "LeakSanitizer",
	    "runtime error:" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(strstr(logtext(), bad[i]) == NULL, "sanitizer report:\n%s", logtext());
	conn_close_all(CONN_R_EXIT);
	pool_destroy(1000);
	conn_destroy();
	loop_stop();
	debug_stop();
	event_free(tick);
	event_base_free(base);
	stats_clear();
	unlink(logpath);
}

/* The whole log so far (static buffer). */
static const char *
logtext(void)
{
	static char buf[64 * 1024];
	ssize_t n;
	int fd;

	fd = open(logpath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
logcount(const char *needle)
{
	const char *p = logtext();
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	return n;
}

static void
busy_ms(uint64_t ms)
{
	uint64_t end = util_now_us() + ms * 1000;

	while (util_now_us() < end)
		continue;
}

/* An echo connection of listener "test" on a socketpair; *peer is the client. */
static struct conn *
open_pair(int *peer)
{
	struct conn *c;

	c = unit_echo_pair("test", peer);
	conn_start(c);
	return c;
}

/* A listener in a slow-callback report, as listener.c describes one. */
static void
echo_listener_describe(const void *arg, struct debug_where *w)
{
	snprintf(w->listener, sizeof(w->listener), "%s", (const char *)arg);
}

/* ---------------------------------------------------------------- pure */

START_TEST(test_percentile_and_hist)
{
	uint64_t v[100], one[1] = { 7 };
	struct stats_hist h;
	size_t i;

	for (i = 0; i < 100; i++)
		v[i] = 100 - i;		/* 100 .. 1, unsorted */
	ck_assert_uint_eq(stats_percentile(v, 100, 50), 50);
	ck_assert_uint_eq(stats_percentile(v, 100, 99), 99);
	ck_assert_uint_eq(stats_percentile(v, 100, 100), 100);
	ck_assert_uint_eq(stats_percentile(one, 1, 50), 7);
	ck_assert_uint_eq(stats_percentile(NULL, 0, 50), 0);

	memset(&h, 0, sizeof(h));
	stats_hist_add(&h, 0);			/* <= 10us */
	stats_hist_add(&h, 10);			/* le is inclusive */
	stats_hist_add(&h, 11);			/* <= 50us */
	stats_hist_add(&h, 20000000);		/* +Inf */
	ck_assert_uint_eq(h.counts[0], 2);
	ck_assert_uint_eq(h.counts[1], 1);
	ck_assert_uint_eq(h.counts[STATS_HIST_BUCKETS], 1);
	ck_assert_uint_eq(h.count, 4);
	ck_assert_uint_eq(h.sum_us, 20000021);
}
END_TEST

/* ---------------------------------------------------------------- invariants */

#ifdef ECHOD_DEBUG_BUILD
/* --enable-debug: a broken invariant stops the process with its place. */
START_TEST(test_assert_fires)
{
	int broken = 1;

	DEBUG_ASSERT(broken == 0);
}
END_TEST
#endif

/* ---------------------------------------------------------------- slow callbacks */

static void
slow_body(uint64_t ms)
{
	busy_ms(ms);
}

static const char *seen_names[8];
static int nseen;

static void
slow_collect(const struct debug_slow *e, void *arg)
{
	if (nseen < 8)
		seen_names[nseen++] = e->name;
}

START_TEST(test_slow_callback)
{
	struct debug_stats st;

	debug_set_enabled(1, "test");
	LOOP_CB("fast_cb", NULL, NULL, slow_body(1));
	debug_get_stats(&st);
	ck_assert_uint_eq(st.slow_callbacks, 0);
	ck_assert_int_eq(logcount("slow callback"), 0);

	LOOP_CB("slow_cb", echo_listener_describe, "echo", slow_body(60));
	debug_get_stats(&st);
	ck_assert_uint_eq(st.slow_callbacks, 1);
	ck_assert_int_eq(logcount("slow callback name=slow_cb listener=echo took_ms="), 1);

	/* Outside debug mode nothing is timed. */
	debug_set_enabled(0, "test");
	LOOP_CB("slow_cb", NULL, NULL, slow_body(60));
	debug_get_stats(&st);
	ck_assert_uint_eq(st.slow_callbacks, 1);
}
END_TEST

START_TEST(test_slow_callback_conn)
{
	struct conn *c;
	int peer;

	c = open_pair(&peer);
	debug_set_enabled(1, "test");
	LOOP_CB("conn_read_cb", conn_describe, c, slow_body(55));
	ck_assert_msg(strstr(logtext(), "slow callback name=conn_read_cb conn=1 listener=test "
	    "peer=unix took_ms=") != NULL, "%s", logtext());
	close(peer);
}
END_TEST

START_TEST(test_slowlog_ring)
{
	static const char *names[6] = { "a_cb", "b_cb", "c_cb", "d_cb", "e_cb", "f_cb" };
	int i;

	debug_set_enabled(1, "test");
	for (i = 0; i < 6; i++)
		LOOP_CB(names[i], NULL, NULL, slow_body(51));
	/* Ring of 4 (debug_configure in setup): the newest four, newest first. */
	nseen = 0;
	debug_slowlog_foreach(0, slow_collect, NULL);
	ck_assert_int_eq(nseen, 4);
	ck_assert_str_eq(seen_names[0], "f_cb");
	ck_assert_str_eq(seen_names[3], "c_cb");
	nseen = 0;
	debug_slowlog_foreach(2, slow_collect, NULL);
	ck_assert_int_eq(nseen, 2);
	ck_assert_str_eq(seen_names[1], "e_cb");
	/* Shrinking keeps the newest. */
	debug_configure(1, 50, 2);
	nseen = 0;
	debug_slowlog_foreach(0, slow_collect, NULL);
	ck_assert_int_eq(nseen, 2);
	ck_assert_str_eq(seen_names[0], "f_cb");
	ck_assert_str_eq(seen_names[1], "e_cb");
}
END_TEST

/* ---------------------------------------------------------------- wrong thread */

struct offloop {
	struct conn	*c;
	int		 submit_rc;
	int		 submit_errno;
};

static int
noop_work(struct pool_work *w)
{
	return 0;
}

static void
noop_done(const struct pool_done *d)
{
	ndone++;
}

static void *
offloop_main(void *arg)
{
	struct offloop *o = arg;
	struct pool_submit_args a = { .kind = "noop", .work = noop_work, .done = noop_done };

	util_set_thread_name("echod-worker-9");
	conn_write(o->c, "nope", 4);
	conn_close(o->c, CONN_R_ADMIN_KILL);
	conn_pause_read(o->c);
	o->submit_rc = pool_submit(&a, NULL);
	o->submit_errno = errno;
	return NULL;
}

START_TEST(test_wrong_thread)
{
	struct offloop o;
	struct debug_stats st;
	pthread_t t;
	char buf[16];
	char *err = NULL;
	int peer;

	ck_assert_msg(pool_init(base, 1, 16, 0, &err) == 0, "%s", err);
	o.c = open_pair(&peer);
	debug_set_enabled(1, "test");
	ck_assert_int_eq(pthread_create(&t, NULL, offloop_main, &o), 0);
	pthread_join(t, NULL);

	/* Refused: nothing written, still open, still reading, no job queued. */
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(conn_state(o.c), CONN_S_OPEN);
	ck_assert(conn_reading(o.c));
	ck_assert_int_eq(o.submit_rc, -1);
	ck_assert_int_eq(o.submit_errno, EPERM);
	ck_assert_msg(strstr(logtext(), "wrong thread: conn_write called from "
	    "thread=echod-worker-9") != NULL, "%s", logtext());
	ck_assert(strstr(logtext(), "wrong thread: conn_close called from thread=echod-worker-9"));
	ck_assert(strstr(logtext(), "wrong thread: conn_pause_read called from"));
	ck_assert(strstr(logtext(), "wrong thread: pool_submit_at called from"));
	debug_get_stats(&st);
	ck_assert_uint_eq(st.wrong_thread, 4);

	/* On the loop thread the same calls work. */
	conn_write(o.c, "yes", 3);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 3);
	ck_assert(debug_is_loop_thread());
	close(peer);
}
END_TEST

/* ---------------------------------------------------------------- jobs */

static int
fail_work(struct pool_work *w)
{
	pool_work_printf(w, "boom");
	return -1;
}

static int
slow_work(struct pool_work *w)
{
	pool_work_sleep(w, 300);
	return 0;
}

static void
status_done(const struct pool_done *d)
{
	last_status = d->status;
	ndone++;
}

static void
retrieving_done(const struct pool_done *d)
{
	last_status = d->status;
	pool_retrieved(d);
	ndone++;
}

static void
wait_done(int n)
{
	ck_assert_int_eq(unit_run_until(base, &ndone, n, 5000), n);
}

START_TEST(test_never_retrieved)
{
	struct pool_submit_args a = { .kind = "failing", .work = fail_work, .done = status_done,
	    .conn_id = 424242 };
	char *err = NULL, site[64];
	int line;

	ck_assert_msg(pool_init(base, 1, 16, 0, &err) == 0, "%s", err);
	debug_set_enabled(1, "test");
	line = __LINE__ + 1;
	ck_assert_int_eq(pool_submit(&a, NULL), 0);
	wait_done(1);
	ck_assert_int_eq(last_status, POOL_FAILED);
	snprintf(site, sizeof(site), "check_debug.c:%d", line);
	ck_assert_msg(strstr(logtext(), "job error never retrieved kind=failing conn=424242 "
	    "status=failed site=") != NULL, "%s", logtext());
	ck_assert_msg(strstr(logtext(), site) != NULL, "no %s in %s", site, logtext());
	/* debug mode: the backtrace captured at submission */
	ck_assert_msg(strstr(logtext(), "job error never retrieved submitted at #0") != NULL,
	    "%s", logtext());

	/* A failure its done callback takes (a client was told) is not reported. */
	a.done = retrieving_done;
	ck_assert_int_eq(pool_submit(&a, NULL), 0);
	wait_done(2);
	ck_assert_int_eq(logcount("job error never retrieved kind"), 1);
}
END_TEST

START_TEST(test_never_scheduled)
{
	struct pool_submit_args slow = { .kind = "holder", .work = slow_work, .done = status_done };
	struct pool_submit_args q = { .kind = "queued", .work = noop_work, .done = status_done,
	    .conn_id = 77 };
	struct pool_job *job;
	char *err = NULL, site[64];
	int line;

	ck_assert_msg(pool_init(base, 1, 16, 0, &err) == 0, "%s", err);
	debug_set_enabled(1, "test");
	ck_assert_int_eq(pool_submit(&slow, NULL), 0);
	line = __LINE__ + 1;
	ck_assert_int_eq(pool_submit(&q, &job), 0);
	pool_cancel(job);
	wait_done(2);
	snprintf(site, sizeof(site), "check_debug.c:%d", line);
	ck_assert_msg(strstr(logtext(), "job never scheduled kind=queued conn=77 "
	    "status=cancelled site=") != NULL, "%s", logtext());
	ck_assert_msg(strstr(logtext(), site) != NULL, "no %s in %s", site, logtext());
	ck_assert(strstr(logtext(), "job never scheduled submitted at #0") != NULL);
	/* The job that ran is not reported. */
	ck_assert_int_eq(logcount("job never scheduled kind=holder"), 0);
}
END_TEST

/* ---------------------------------------------------------------- reports */

START_TEST(test_pending_report)
{
	struct conn *c;
	int peer;

	server_report_pending("exit");
	ck_assert_int_eq(logcount("pending at exit"), 0);
	c = open_pair(&peer);
	server_report_pending("exit");
	ck_assert_msg(strstr(logtext(), "pending at exit: connections=1 jobs=0") != NULL, "%s",
	    logtext());
	ck_assert(strstr(logtext(), "pending at exit: conn=1 listener=test peer=unix state=open"));
	conn_close(c, CONN_R_ADMIN_KILL);
	close(peer);
}
END_TEST

START_TEST(test_leak_report)
{
	SSL_CTX *ctx;
	SSL *ssl;
	char want[64];
	int fd;

	debug_set_enabled(1, "test");
	fd = open("/dev/null", O_RDONLY);
	ctx = SSL_CTX_new(TLS_server_method());
	ssl = SSL_new(ctx);
	debug_report_leaks();
	snprintf(want, sizeof(want), "not closed at exit: fd=%d target=/dev/null", fd);
	ck_assert_msg(strstr(logtext(), want) != NULL, "%s", logtext());
	ck_assert_msg(strstr(logtext(), "not freed at exit: tls ssl=1 ssl_ctx=1") != NULL, "%s",
	    logtext());
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
}
END_TEST

/* ---------------------------------------------------------------- loop lag */

static void
block_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("block_cb", NULL, NULL, busy_ms(150));
}

START_TEST(test_loop_lag)
{
	struct timeval tv = { 0, 120000 };
	struct loop_lag st;
	struct event *ev;
	const char *p;

	debug_set_enabled(1, "test");
	unit_run_for(base, 350);
	loop_get_lag(&st);
	ck_assert_uint_ge(st.samples, 2);
	ck_assert_uint_lt(st.p50_us, 40000);
	/* A 150 ms callback makes the timer late by up to 150 ms. */
	ev = evtimer_new(base, block_cb, NULL);
	evtimer_add(ev, &tv);
	unit_run_for(base, 400);
	event_free(ev);
	loop_get_lag(&st);
	ck_assert_uint_ge(st.max_us, 40000);
	ck_assert_msg(strstr(logtext(), "loop lag lag_ms=") != NULL, "%s", logtext());
	/* 150 ms of busy-waiting, more on a loaded machine */
	ck_assert_msg((p = strstr(logtext(), "slow callback name=block_cb took_ms=")) != NULL &&
	    atoi(p + strlen("slow callback name=block_cb took_ms=")) >= 150, "%s", logtext());
}
END_TEST

/*
 * libevent's own messages go through echod's log, one line per second per
 * kind (fd numbers do not make a new kind), with a count of the rest.
 */
START_TEST(test_libevent_messages)
{
	int i;

	/* Each is a libevent warning: fcntl(-N, F_GETFL) fails with EBADF. */
	for (i = 1; i <= 500; i++)
		ck_assert_int_eq(evutil_make_socket_nonblocking(-i), -1);
	ck_assert_msg(logcount("libevent: fcntl(-1, F_GETFL)") == 1, "%s", logtext());
	ck_assert_msg(logcount("libevent: ") == 1, "%s", logtext());
	ck_assert_msg(strstr(logtext(), " warning server: libevent: fcntl(-1, F_GETFL): Bad file "
	    "descriptor\n") != NULL, "%s", logtext());
	/* The lag timer reports the held ones once a second has passed. */
	unit_run_for(base, 1300);
	ck_assert_msg(strstr(logtext(), "libevent: 499 more like \"fcntl(-500, F_GETFL): Bad "
	    "file descriptor\" not logged") != NULL, "%s", logtext());
	/* A second later, one more is written again, with nothing held. */
	unit_run_for(base, 1100);
	ck_assert_int_eq(evutil_make_socket_nonblocking(-7), -1);
	ck_assert_msg(logcount("libevent: ") == 3, "%s", logtext());
	ck_assert_msg(strstr(logtext(), "libevent: fcntl(-7, F_GETFL)") != NULL, "%s", logtext());
}
END_TEST

/* ---------------------------------------------------------------- metrics */

START_TEST(test_metrics_render)
{
	char *text, *line, *save = NULL;
	int types = 0;

	debug_set_enabled(1, "test");
	LOOP_CB("render_cb", NULL, NULL, slow_body(1));
	text = stats_render_prometheus(NULL);
	ck_assert(strstr(text, "# TYPE echod_loop_lag_seconds histogram\n"));
	ck_assert(strstr(text, "echod_loop_lag_seconds_bucket{le=\"+Inf\"} "));
	ck_assert(strstr(text, "# TYPE echod_server_connections_total counter\n"));
	ck_assert(strstr(text, "# TYPE echod_jobs_never_retrieved_total counter\n"));
	ck_assert(strstr(text, "echod_callback_duration_seconds_bucket{callback=\"render_cb\",le=\"1e-05\"}"));
	ck_assert(strstr(text, "echod_callback_duration_seconds_count{callback=\"render_cb\"} 1\n"));
	ck_assert(strstr(text, "echod_debug_mode 1\n"));
	/* Every sample's family was declared first, counters end in _total. */
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			types++;
			if (strstr(line, " counter") != NULL)
				ck_assert_msg(strstr(line, "_total counter") != NULL, "%s", line);
			continue;
		}
		ck_assert_msg(strncmp(line, "echod_", 6) == 0 || line[0] == '#', "%s", line);
	}
	ck_assert_int_ge(types, 15);
	free(text);
}
END_TEST

static Suite *
debug_suite(void)
{
	Suite *s = suite_create("debug");
	TCase *tc = tcase_create("debug");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_percentile_and_hist);
#ifdef ECHOD_DEBUG_BUILD
	tcase_add_exit_test(tc, test_assert_fires, 1);
#endif
	tcase_add_test(tc, test_slow_callback);
	tcase_add_test(tc, test_slow_callback_conn);
	tcase_add_test(tc, test_slowlog_ring);
	tcase_add_test(tc, test_wrong_thread);
	tcase_add_test(tc, test_never_retrieved);
	tcase_add_test(tc, test_never_scheduled);
	tcase_add_test(tc, test_pending_report);
	tcase_add_test(tc, test_leak_report);
	tcase_add_test(tc, test_loop_lag);
	tcase_add_test(tc, test_libevent_messages);
	tcase_add_test(tc, test_metrics_render);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(debug_suite());
}
