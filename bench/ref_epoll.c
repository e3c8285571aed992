/*
 * ref_epoll: the reference echo server for the benchmark.
 *
 * One thread, non-blocking sockets, level-triggered epoll, one shared read
 * buffer. Each readable event reads once (again only while the buffer comes
 * back full) and writes the data straight back; only a partial write keeps
 * the remainder in a per-connection buffer and waits for EPOLLOUT, without
 * reading more meanwhile (backpressure). This is about the least work one
 * event-loop thread can do per request: the ceiling echod is measured
 * against.
 *
 * usage: ref_epoll PORT   (0 = kernel chooses; prints port=N once listening)
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
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
#include <unistd.h>

#define REF_BUF		(64 * 1024)
#define REF_EVENTS	256

struct ref_conn {
	int	 fd;
	char	*pend;		/* unsent remainder, NULL if none */
	size_t	 pend_off;
	size_t	 pend_len;
};

static int	 ref_epfd;
static int	 ref_lfd;
static int	 ref_listening;
static char	 ref_buf[REF_BUF];

static void __attribute__((noreturn))
ref_fatal(const char *what)
{
	fprintf(stderr, "ref_epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
ref_ctl(int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ref_epfd, op, fd, &ev) != 0)
		ref_fatal("epoll_ctl");
}

static void
ref_close(struct ref_conn *c)
{
	close(c->fd);
	free(c->pend);
	free(c);
	if (!ref_listening) {
		/* A descriptor is free again: accept resumes. */
		ref_ctl(EPOLL_CTL_ADD, ref_lfd, EPOLLIN, NULL);
		ref_listening = 1;
	}
}

static void
ref_accept(void)
{
	struct ref_conn	*c;
	int		 fd, one = 1;

	for (;;) {
		fd = accept4(ref_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Stop accepting until a connection closes. */
				ref_ctl(EPOLL_CTL_DEL, ref_lfd, 0, NULL);
				ref_listening = 0;
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = calloc(1, sizeof *c);
		if (c == NULL)
			ref_fatal("calloc");
		c->fd = fd;
		ref_ctl(EPOLL_CTL_ADD, fd, EPOLLIN, c);
	}
}

/* Write data back; keep what the socket does not take. 0 ok, -1 closed. */
static int
ref_write(struct ref_conn *c, const char *data, size_t len)
{
	ssize_t	n;

	n = send(c->fd, data, len, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN)
			return -1;
		n = 0;
	}
	if ((size_t)n == len)
		return 0;
	c->pend = malloc(len - (size_t)n);
	if (c->pend == NULL)
		ref_fatal("malloc");
	memcpy(c->pend, data + n, len - (size_t)n);
	c->pend_off = 0;
	c->pend_len = len - (size_t)n;
	ref_ctl(EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
	return 0;
}

static void
ref_readable(struct ref_conn *c)
{
	ssize_t	n;

	do {
		n = recv(c->fd, ref_buf, sizeof ref_buf, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			ref_close(c);
			return;
		}
		if (n == -1)
			return;
		if (ref_write(c, ref_buf, (size_t)n) != 0) {
			ref_close(c);
			return;
		}
	} while (c->pend == NULL && (size_t)n == sizeof ref_buf);
}

static void
ref_writable(struct ref_conn *c)
{
	ssize_t	n;

	n = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off,
	    MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN)
			ref_close(c);
		return;
	}
	c->pend_off += (size_t)n;
	if (c->pend_off < c->pend_len)
		return;
	free(c->pend);
	c->pend = NULL;
	ref_ctl(EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

static void
ref_listen(const char *portstr)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	char			*end;
	long			port;
	int			one = 1;

	port = strtol(portstr, &end, 10);
	if (*portstr == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "usage: ref_epoll PORT\n");
		exit(2);
	}
	ref_lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (ref_lfd == -1)
		ref_fatal("socket");
	setsockopt(ref_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(ref_lfd, (struct sockaddr *)&sin, sizeof sin) != 0)
		ref_fatal("bind");
	if (listen(ref_lfd, 4096) != 0)
		ref_fatal("listen");
	if (getsockname(ref_lfd, (struct sockaddr *)&sin, &len) != 0)
		ref_fatal("getsockname");
	ref_ctl(EPOLL_CTL_ADD, ref_lfd, EPOLLIN, NULL);
	ref_listening = 1;
	printf("port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[REF_EVENTS];
	struct ref_conn		*c;
	struct rlimit		 rl;
	int			 n, i;

	if (argc != 2) {
		fprintf(stderr, "usage: ref_epoll PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ref_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ref_epfd == -1)
		ref_fatal("epoll_create1");
	ref_listen(argv[1]);
	for (;;) {
		n = epoll_wait(ref_epfd, evs, REF_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			ref_fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c == NULL)
				ref_accept();
			else if (c->pend != NULL)
				ref_writable(c);
			else
				ref_readable(c);
		}
	}
}
