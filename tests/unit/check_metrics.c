/*
 * check_metrics.c: the metrics endpoint (metrics.c). The request-line
 * decision as a pure function, then the responder on a real event loop
 * (built as the daemon builds it) with real sockets: a scrape and a HEAD, a
 * client over [metrics] max_connections closed at accept and counted,
 * clients that dribble their request cut at request_timeout from accept
 * and counted, and a reload that changes the limits.
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "util.h"
#include "unit.h"

static struct event_base *base;

/* ---------------------------------------------------------------- request line */

static int
status_of(const char *head, int *headonly)
{
	return metrics_request_status(head, strlen(head), headonly);
}

START_TEST(test_request_status)
{
	int h;

	ck_assert_int_eq(status_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &h), 200);
	ck_assert_int_eq(h, 0);
	ck_assert_int_eq(status_of("HEAD /metrics HTTP/1.0\r\n\r\n", &h), 200);
	ck_assert_int_eq(h, 1);
	ck_assert_int_eq(status_of("GET /metrics?name[]=x HTTP/1.1\n\n", &h), 200);
	ck_assert_int_eq(status_of("GET http://127.0.0.1:9107/metrics HTTP/1.1\r\n\r\n", &h), 200);
	ck_assert_int_eq(status_of("GET /metricsx HTTP/1.1\r\n\r\n", &h), 404);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n\r\n", &h), 404);
	ck_assert_int_eq(status_of("GET /Metrics HTTP/1.1\r\n\r\n", &h), 404);
	ck_assert_int_eq(status_of("POST /metrics HTTP/1.1\r\n\r\n", &h), 405);
	ck_assert_int_eq(status_of("get /metrics HTTP/1.1\r\n\r\n", &h), 405);
	ck_assert_int_eq(status_of("GET /metrics HTTP/2.0\r\n\r\n", &h), 505);
	ck_assert_int_eq(status_of("GET /metrics HTTP/1.1 x\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("GET  /metrics HTTP/1.1\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("GET /metrics\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("GET /metrics FTP/1.1\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("GET /metrics HTTP/1.\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("\r\n\r\n", &h), 400);
	ck_assert_int_eq(status_of("", &h), 400);
	/* Only the first line counts: the rest of the head may say anything. */
	ck_assert_int_eq(status_of("GET /metrics HTTP/1.1\r\nX: GET /x HTTP/9.9\r\n\r\n", &h), 200);
}
END_TEST

/* ---------------------------------------------------------------- live */

static void
setup(void)
{
	base = unit_loop_setup(LOG_L_WARNING);
}

static void
teardown(void)
{
	metrics_stop();
	event_base_free(base);
	stats_clear();
}

static void
serve(uint64_t max_connections, uint64_t timeout_ms)
{
	struct metrics_conf mc = { "127.0.0.1:0", max_connections, timeout_ms };
	char *err = NULL;

	ck_assert_msg(metrics_configure(base, &mc, &err) == 0, "%s", err);
}

/* A connected, non-blocking client socket. */
static int
client(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	ck_assert_int_eq(metrics_local_addr(&ss, &len), 0);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* Turn the loop for about `ms`. */
static void
run_ms(uint64_t ms)
{
	uint64_t end = util_now_ms() + ms;

	while (util_now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
}

/* Read what the server sent until it closes, turning the loop; NULL if it did not within ms. */
static char *
read_to_eof(int fd, uint64_t ms)
{
	uint64_t end = util_now_ms() + ms;
	size_t len = 0, cap = 1 << 16;
	char *buf = xmalloc(cap);
	ssize_t n;

	while (util_now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fd, buf + len, cap - len - 1);
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			buf[len] = '\0';
			return buf;
		}
		if (n > 0) {
			len += (size_t)n;
			if (cap - len < 1024)
				buf = xrealloc(buf, cap *= 2);
			continue;
		}
		usleep(2000);
	}
	free(buf);
	return NULL;
}

/* The value of one unlabelled sample of the exposition. */
static uint64_t
sample(const char *name)
{
	char *text, *p, key[128];
	uint64_t v = UINT64_MAX;
	size_t len;

	text = stats_render_prometheus(&len);
	snprintf(key, sizeof(key), "\n%s ", name);
	if ((p = strstr(text, key)) != NULL)
		v = strtoull(p + strlen(key), NULL, 10);
	free(text);
	ck_assert_msg(v != UINT64_MAX, "no sample %s", name);
	return v;
}

START_TEST(test_scrape_and_head)
{
	char *reply;
	int fd;

	serve(4, 5000);
	fd = client();
	ck_assert_int_eq(write(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 34), 34);
	ck_assert_ptr_nonnull(reply = read_to_eof(fd, 3000));
	ck_assert_msg(strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", reply);
	ck_assert_ptr_nonnull(strstr(reply, "\r\nContent-Type: text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(reply, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(reply, "\nechod_metrics_scrapes_total 1\n"));
	free(reply);
	close(fd);

	fd = client();
	ck_assert_int_eq(write(fd, "HEAD /metrics HTTP/1.1\r\n\r\n", 26), 26);
	ck_assert_ptr_nonnull(reply = read_to_eof(fd, 3000));
	ck_assert_msg(strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", reply);
	/* Headers only: the blank line ends the reply. */
	ck_assert_str_eq(strstr(reply, "\r\n\r\n"), "\r\n\r\n");
	free(reply);
	close(fd);
	run_ms(20);
	ck_assert_uint_eq(sample("echod_metrics_scrapes_total"), 2);
	ck_assert_uint_eq(sample("echod_metrics_connections_open"), 0);
}
END_TEST

/* One over max_connections: closed at accept, counted; the others unaffected. */
START_TEST(test_connection_cap)
{
	int held[3], extra, i;
	uint64_t t0;
	char *reply;

	serve(3, 5000);
	for (i = 0; i < 3; i++) {
		held[i] = client();
		ck_assert_int_eq(write(held[i], "GET /metrics HTTP/1.1\r\n", 23), 23);
	}
	run_ms(50);
	ck_assert_uint_eq(sample("echod_metrics_connections_open"), 3);
	extra = client();
	t0 = util_now_ms();
	ck_assert_ptr_nonnull(reply = read_to_eof(extra, 1000));
	ck_assert_str_eq(reply, "");
	ck_assert_uint_lt(util_now_ms() - t0, 500);
	free(reply);
	close(extra);
	ck_assert_uint_eq(sample("echod_metrics_connections_rejected_total"), 1);
	/* A held one finishes its request and is answered. */
	ck_assert_int_eq(write(held[0], "\r\n", 2), 2);
	ck_assert_ptr_nonnull(reply = read_to_eof(held[0], 3000));
	ck_assert_msg(strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", reply);
	free(reply);
	close(held[0]);
	run_ms(20);
	/* A slot is free again. */
	extra = client();
	ck_assert_int_eq(write(extra, "GET /metrics HTTP/1.0\r\n\r\n", 25), 25);
	ck_assert_ptr_nonnull(reply = read_to_eof(extra, 3000));
	ck_assert_msg(strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", reply);
	free(reply);
	close(extra);
	for (i = 1; i < 3; i++)
		close(held[i]);
	ck_assert_uint_eq(sample("echod_metrics_connections_rejected_total"), 1);
}
END_TEST

/* A client dribbling its head a byte at a time is cut at the deadline from accept. */
START_TEST(test_deadline_from_accept)
{
	uint64_t t0, took;
	int fd, closed = 0;
	char *reply;

	serve(4, 400);
	fd = client();
	t0 = util_now_ms();
	ck_assert_int_eq(write(fd, "GET /metrics HTTP/1.1\r\n", 23), 23);
	/* One byte every 50 ms: each would restart an idle timeout. */
	while (!closed && util_now_ms() - t0 < 3000) {
		run_ms(50);
		closed = write(fd, "X", 1) == -1;
		if (!closed && (reply = read_to_eof(fd, 1)) != NULL) {
			closed = 1;
			free(reply);
		}
	}
	took = util_now_ms() - t0;
	ck_assert_msg(closed, "still open after %llu ms", (unsigned long long)took);
	ck_assert_msg(took >= 350 && took < 1200, "closed after %llu ms, deadline 400 ms",
	    (unsigned long long)took);
	close(fd);
	ck_assert_uint_eq(sample("echod_metrics_connections_timed_out_total"), 1);
	ck_assert_uint_eq(sample("echod_metrics_connections_open"), 0);
}
END_TEST

/* A reload changes the limits for connections accepted from then on. */
START_TEST(test_reload_limits)
{
	struct metrics_conf mc = { NULL, 1, 5000 };
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	int fd[2], i;
	char *reply, *err = NULL;

	serve(2, 5000);
	ck_assert_int_eq(metrics_local_addr(&a, &alen), 0);
	/* Same address: the socket stays, max_connections becomes 1. */
	mc.bind = "127.0.0.1:0";
	ck_assert_msg(metrics_configure(base, &mc, &err) == 0, "%s", err);
	ck_assert_int_eq(metrics_local_addr(&b, &blen), 0);
	ck_assert_mem_eq(&a, &b, alen);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(write(fd[i] = client(), "GET", 3), 3);
	ck_assert_ptr_nonnull(reply = read_to_eof(fd[1], 1000));
	ck_assert_str_eq(reply, "");
	free(reply);
	close(fd[0]);
	close(fd[1]);
	/* Off: no address. */
	mc.bind = "";
	ck_assert_msg(metrics_configure(base, &mc, &err) == 0, "%s", err);
	ck_assert_int_eq(metrics_local_addr(&b, &blen), -1);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_test(tc, test_request_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("live");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_scrape_and_head);
	tcase_add_test(tc, test_connection_cap);
	tcase_add_test(tc, test_deadline_from_accept);
	tcase_add_test(tc, test_reload_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(metrics_suite());
}
