/*
 * check_listener.c: closing a listening socket with connections still in
 * the kernel's accept queue, with a real event loop and real loopback
 * sockets. A socket that shares its port (reuse_port = yes; here with a
 * sibling socket the test holds, as another instance would) accepts what
 * is queued before it closes, and serves it; a socket of its own closes
 * and Linux resets what was queued.
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "access.h"
#include "config.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "stats.h"

#define NCLIENTS	24

static struct event_base *base;
static struct config *cf;

static void
setup(void)
{
	const char *why = NULL;

	signal(SIGPIPE, SIG_IGN);
	log_init();
	log_set_level(LOG_L_WARNING);
	base = loop_base_new(&why);
	ck_assert_ptr_nonnull(base);
	access_init();
	conn_init(base);
	listener_init(base);
	cf = NULL;
}

static void
teardown(void)
{
	listener_close_all();
	conn_close_all(CONN_R_EXIT);
	conn_destroy();
	listener_destroy();
	access_stop();
	config_free(cf);
	event_base_free(base);
	stats_clear();
}

/* A listening socket on 127.0.0.1:port (0: the kernel chooses); its port in *portp. */
static int
tcp_listen(int port, int reuse_port, int *portp)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	if (reuse_port)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*portp = ntohs(sin.sin_port);
	return fd;
}

/* An echo listener on 127.0.0.1:port, opened and accepting (the loop is not run). */
static void
start_echo(int port, int reuse_port)
{
	struct config_errors errs = { NULL, 0 };
	struct listener *l;
	char text[256], *err = NULL;

	snprintf(text, sizeof(text), "[listener echo]\nbind = 127.0.0.1:%d\nservice = echo\n"
	    "reuse_port = %s\n", port, reuse_port ? "yes" : "no");
	ck_assert_int_eq(config_load_string("check_listener", text, &cf, &errs), 0);
	access_configure(base, cf);
	l = listener_open(cf->listeners[0], NULL, &err);
	ck_assert_msg(l != NULL, "listener_open: %s", err != NULL ? err : "?");
	listener_start(l);
}

/* A connected client that has sent "ping\n" (the handshake needs no accept). */
static int
client(int port)
{
	struct sockaddr_in sin;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(send(fd, "ping\n", 5, 0), 5);
	return fd;
}

/* Run the loop until `fd` is readable (at most about 2 s); then read it. */
static ssize_t
answer(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int i;

	for (i = 0; i < 200 && poll(&pfd, 1, 0) == 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		poll(&pfd, 1, 10);
	}
	return recv(fd, buf, size, MSG_DONTWAIT);
}

START_TEST(test_reuse_port_drained)
{
	int sibling, port, fds[NCLIENTS], i, afd, on_sibling = 0, echoed = 0;
	char buf[16];
	ssize_t n;

	sibling = tcp_listen(0, 1, &port);
	start_echo(port, 1);
	for (i = 0; i < NCLIENTS; i++)
		fds[i] = client(port);
	/* The kernel spread the clients over both sockets; the sibling takes its own. */
	while ((afd = accept(sibling, NULL, NULL)) >= 0) {
		on_sibling++;
		close(afd);
	}
	ck_assert_int_lt(on_sibling, NCLIENTS);
	ck_assert_uint_eq(conn_count(), 0);
	/* Closing: what was queued on the listener becomes connections first. */
	listener_close_all();
	ck_assert_uint_eq(conn_count(), (size_t)(NCLIENTS - on_sibling));
	/* And they are served: each one gets its ping back. */
	for (i = 0; i < NCLIENTS; i++) {
		n = answer(fds[i], buf, sizeof(buf));
		if (n == 5 && memcmp(buf, "ping\n", 5) == 0)
			echoed++;
	}
	ck_assert_int_eq(echoed, NCLIENTS - on_sibling);
	for (i = 0; i < NCLIENTS; i++)
		close(fds[i]);
	close(sibling);
}
END_TEST

START_TEST(test_own_port_reset)
{
	int probe, port, fds[4], i, resets = 0;
	char buf[16];

	/* A free port: the kernel's choice, released for the listener. */
	probe = tcp_listen(0, 0, &port);
	close(probe);
	start_echo(port, 0);
	for (i = 0; i < 4; i++)
		fds[i] = client(port);
	listener_close_all();
	ck_assert_uint_eq(conn_count(), 0);
	for (i = 0; i < 4; i++) {
		if (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == ECONNRESET)
			resets++;
		close(fds[i]);
	}
	ck_assert_int_eq(resets, 4);
}
END_TEST

static Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("close");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_reuse_port_drained);
	tcase_add_test(tc, test_own_port_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(listener_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
