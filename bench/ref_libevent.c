/*
 * ref_libevent: a minimal libevent bufferevent echo server for the
 * benchmark, written the way the libevent documentation teaches it: an
 * evconnlistener, one socket bufferevent per connection, and a read
 * callback that moves the input buffer to the output buffer. No watermarks,
 * no tuning. This is the floor: what a straightforward libevent daemon gets.
 *
 * usage: ref_libevent PORT   (0 = kernel chooses; prints port=N once listening)
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void
ref_read_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_add_buffer(bufferevent_get_output(bev),
	    bufferevent_get_input(bev));
}

static void
ref_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
ref_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct event_base	*base = arg;
	struct bufferevent	*bev;
	int			 one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, ref_read_cb, NULL, ref_event_cb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
ref_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* accept failed (EMFILE): pause the listener for 100 ms instead of spinning. */
static void
ref_error_cb(struct evconnlistener *l, void *arg)
{
	static unsigned	 reported;
	struct timeval	 tv = { 0, 100000 };
	int		 err = EVUTIL_SOCKET_ERROR();

	if (reported++ < 3)
		fprintf(stderr, "ref_libevent: accept: %s\n",
		    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	event_base_once(arg, -1, EV_TIMEOUT, ref_resume_cb, l, &tv);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evconnlistener	*l;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	struct rlimit		 rl;
	char			*end;
	long			 port;

	if (argc != 2) {
		fprintf(stderr, "usage: ref_libevent PORT\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "usage: ref_libevent PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "ref_libevent: event_base_new failed\n");
		return 1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	l = evconnlistener_new_bind(base, ref_accept_cb, base,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4096,
	    (struct sockaddr *)&sin, sizeof sin);
	if (l == NULL) {
		fprintf(stderr, "ref_libevent: bind: %s\n", strerror(errno));
		return 1;
	}
	evconnlistener_set_error_cb(l, ref_error_cb);
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin,
	    &len) != 0) {
		fprintf(stderr, "ref_libevent: getsockname: %s\n",
		    strerror(errno));
		return 1;
	}
	printf("port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	event_base_dispatch(base);
	evconnlistener_free(l);
	event_base_free(base);
	return 0;
}
