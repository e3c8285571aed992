/*
 * unit.c: what the Check suites share (see unit.h). Runs in the forked test
 * process, on its (loop) thread.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "conn.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "util.h"
#include "unit.h"

struct event_base *
unit_base_new(void)
{
	struct event_base *base;
	const char *why = NULL;

	base = loop_base_new(&why);
	ck_assert_msg(base != NULL, "loop_base_new: %s", why != NULL ? why : "?");
	return base;
}

struct event_base *
unit_loop_setup(int log_level)
{
	signal(SIGPIPE, SIG_IGN);
	log_init();
	log_set_level((enum log_level)log_level);
	return unit_base_new();
}

static void
unit_tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

struct event *
unit_tick_new(struct event_base *base)
{
	struct timeval tv = { 0, 10000 };
	struct event *tick;

	tick = event_new(base, -1, EV_PERSIST, unit_tick_cb, NULL);
	ck_assert_ptr_nonnull(tick);
	event_add(tick, &tv);
	return tick;
}

void
unit_spin(struct event_base *base, int rounds)
{
	while (rounds-- > 0)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

void
unit_run_for(struct event_base *base, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	/* The exit timer bounds the run even when nothing else is pending. */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

int
unit_run_until(struct event_base *base, const int *count, int n, uint64_t ms)
{
	uint64_t end = util_now_ms() + ms;

	while (*count < n && util_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return *count;
}

struct conn *
unit_conn_pair(const struct conn_params *p, int *peer)
{
	static const struct sockaddr_un unix_peer = { .sun_family = AF_UNIX };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	*peer = sv[1];
	return conn_new(p, sv[0], (const struct sockaddr *)&unix_peer, sizeof(unix_peer));
}

struct conn *
unit_echo_pair(const char *owner, int *peer)
{
	struct conn_params p;

	memset(&p, 0, sizeof(p));
	p.svc = &service_echo;
	p.owner_name = owner;
	return unit_conn_pair(&p, peer);
}

int
unit_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
