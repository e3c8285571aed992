/*
 * check_conn.c: the connection state machine, driven over a socketpair with
 * a real event loop: transitions, echo, backpressure, half-close, finish,
 * idle timeout, and the id table.
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "service.h"
#include "util.h"

static struct event_base *base;

/* A listener as listener_open would build it, without sockets. */
static struct listener *
fake_listener(const struct service *svc, uint64_t idle_ms)
{
	struct listener *l = xcalloc(1, sizeof(*l));

	l->name = xstrdup("test");
	l->conf = xcalloc(1, sizeof(*l->conf));
	l->conf->idle_timeout_ms = idle_ms;
	l->svc = svc;
	l->refs = 1;
	return l;
}

static void
setup(void)
{
	log_init();
	log_set_level(LOG_L_WARNING);
	base = event_base_new();
	conn_init(base);
	listener_init(base);
	conn_set_limits(64 * 1024, 16 * 1024, 200);
}

static void
teardown(void)
{
	conn_close_all("test-end");
	conn_destroy();
	listener_destroy();
	event_base_free(base);
}

/* Open a conn on one end of a socketpair; the other end is *peer. */
static struct conn *
open_pair(struct listener *l, int *peer)
{
	int sv[2];
	struct conn *c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	*peer = sv[1];
	c = conn_new(l, sv[0], NULL, 0);
	conn_start(c);
	return c;
}

static void
spin(int rounds)
{
	while (rounds-- > 0)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Read whatever is available within a bounded number of loop turns. */
static size_t
drain_peer(int peer, char *buf, size_t size, int rounds)
{
	size_t got = 0;
	ssize_t n;

	while (rounds-- > 0 && got < size) {
		spin(1);
		n = read(peer, buf + got, size - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
	}
	return got;
}

START_TEST(test_transitions)
{
	ck_assert(conn_state_allowed(CONN_S_NEW, CONN_S_OPEN));
	ck_assert(conn_state_allowed(CONN_S_NEW, CONN_S_HANDSHAKE));
	ck_assert(conn_state_allowed(CONN_S_HANDSHAKE, CONN_S_OPEN));
	ck_assert(conn_state_allowed(CONN_S_OPEN, CONN_S_DRAINING));
	ck_assert(conn_state_allowed(CONN_S_DRAINING, CONN_S_LINGER));
	ck_assert(conn_state_allowed(CONN_S_LINGER, CONN_S_CLOSED));
	ck_assert(conn_state_allowed(CONN_S_OPEN, CONN_S_CLOSED));
	ck_assert(!conn_state_allowed(CONN_S_CLOSED, CONN_S_CLOSED));
	ck_assert(!conn_state_allowed(CONN_S_CLOSED, CONN_S_OPEN));
	ck_assert(!conn_state_allowed(CONN_S_LINGER, CONN_S_OPEN));
	ck_assert(!conn_state_allowed(CONN_S_DRAINING, CONN_S_OPEN));
	ck_assert(!conn_state_allowed(CONN_S_OPEN, CONN_S_HANDSHAKE));
	ck_assert_str_eq(conn_state_name(CONN_S_DRAINING), "draining");
}
END_TEST

START_TEST(test_echo_roundtrip)
{
	struct listener *l = fake_listener(&service_echo, 0);
	char out[4096], in[4096];
	struct conn *c;
	int peer;
	size_t i;

	c = open_pair(l, &peer);
	ck_assert_int_eq(c->state, CONN_S_OPEN);
	ck_assert_ptr_eq(conn_find(c->id), c);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7);         /* includes NULs */
	ck_assert_int_eq(write(peer, out, sizeof(out)), (ssize_t)sizeof(out));
	ck_assert_uint_eq(drain_peer(peer, in, sizeof(in), 100), sizeof(in));
	ck_assert_mem_eq(in, out, sizeof(out));
	ck_assert_uint_eq(c->bytes_in, sizeof(out));
	ck_assert_uint_eq(c->bytes_out, sizeof(out));
	close(peer);
	listener_unref(l);
}
END_TEST

START_TEST(test_backpressure)
{
	struct listener *l = fake_listener(&service_echo, 0);
	static char chunk[32768], sink[65536];
	struct conn *c;
	int peer, i;
	ssize_t n;

	c = open_pair(l, &peer);
	/* The peer only writes: the echo output piles up until reading stops. */
	for (i = 0; i < 400; i++) {
		n = write(peer, chunk, sizeof(chunk));
		spin(1);
		if (n < 0 && errno == EAGAIN && (c->flags & CONN_F_READ_PAUSED))
			break;
	}
	ck_assert(c->flags & CONN_F_READ_PAUSED);
	ck_assert_uint_le(conn_pending(c), 64 * 1024 + 64 * 1024);
	/* The peer reads: output drains below the low mark and reading resumes. */
	for (i = 0; i < 1000 && (c->flags & CONN_F_READ_PAUSED); i++) {
		while (read(peer, sink, sizeof(sink)) > 0)
			;
		spin(1);
	}
	ck_assert(!(c->flags & CONN_F_READ_PAUSED));
	close(peer);
	listener_unref(l);
}
END_TEST

START_TEST(test_half_close)
{
	struct listener *l = fake_listener(&service_echo, 0);
	char in[64];
	struct conn *c;
	uint64_t id;
	int peer;
	size_t got;

	c = open_pair(l, &peer);
	id = c->id;
	ck_assert_int_eq(write(peer, "hello", 5), 5);
	shutdown(peer, SHUT_WR);
	got = drain_peer(peer, in, sizeof(in), 200);
	ck_assert_uint_eq(got, 5);
	ck_assert_mem_eq(in, "hello", 5);
	/* after every byte: a clean EOF, and the conn is gone */
	ck_assert_int_eq(read(peer, in, sizeof(in)), 0);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_uint_eq(conn_count(), 0);
	close(peer);
	listener_unref(l);
}
END_TEST

START_TEST(test_finish_lingers)
{
	struct listener *l = fake_listener(&service_daytime, 0);
	char in[128];
	struct conn *c;
	int peer;
	ssize_t n;

	l->conf->daytime_format = DAYTIME_RFC3339;
	/* the client already sent bytes: the reply must still arrive whole */
	c = open_pair(l, &peer);
	ck_assert_int_eq(write(peer, "ignored input", 13), 13);
	spin(5);
	ck_assert(c->state == CONN_S_LINGER || c->state == CONN_S_CLOSED);
	n = read(peer, in, sizeof(in) - 1);
	ck_assert_int_eq(n, 22);               /* YYYY-MM-DDTHH:MM:SSZ\r\n */
	ck_assert_int_eq(in[20], '\r');
	close(peer);
	spin(5);
	ck_assert_uint_eq(conn_count(), 0);
	listener_unref(l);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct listener *l = fake_listener(&service_echo, 100);
	struct timeval tv = { 0, 400000 };
	struct conn *c;
	uint64_t id;
	int peer;
	char b;

	c = open_pair(l, &peer);
	id = c->id;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_int_eq(read(peer, &b, 1), 0);
	close(peer);
	listener_unref(l);
}
END_TEST

START_TEST(test_close_idempotent_and_refs)
{
	struct listener *l = fake_listener(&service_echo, 0);
	struct conn *c;
	int peer;

	c = open_pair(l, &peer);
	conn_ref(c);                 /* a job in flight */
	conn_close(c, "test");
	conn_close(c, "again");
	ck_assert_int_eq(c->state, CONN_S_CLOSED);
	ck_assert_str_eq(c->close_reason, "test");
	conn_write(c, "x", 1);       /* a late completion writing: ignored */
	ck_assert_uint_eq(conn_pending(c), 0);
	conn_unref(c);               /* freed later, by the loop */
	spin(2);
	close(peer);
	listener_unref(l);
}
END_TEST

START_TEST(test_many_ids)
{
	struct listener *l = fake_listener(&service_discard, 0);
	struct conn *cs[3000];
	int peers[3000];
	size_t i;

	for (i = 0; i < 3000; i++)
		cs[i] = open_pair(l, &peers[i]);
	for (i = 0; i < 3000; i++)
		ck_assert_ptr_eq(conn_find(cs[i]->id), cs[i]);
	for (i = 0; i < 3000; i += 2)
		conn_close(cs[i], "test");
	for (i = 1; i < 3000; i += 2)
		ck_assert_ptr_eq(conn_find(cs[i]->id), cs[i]);
	ck_assert_uint_eq(conn_count(), 1500);
	for (i = 0; i < 3000; i++)
		close(peers[i]);
	listener_unref(l);
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("state-machine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_transitions);
	tcase_add_test(tc, test_echo_roundtrip);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_finish_lingers);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_close_idempotent_and_refs);
	tcase_add_test(tc, test_many_ids);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conn_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
