/*
 * ref_udp: the reference UDP echo server for bench/udp_bench.sh.
 *
 * One thread, one non-blocking datagram socket on 127.0.0.1, level-triggered
 * epoll. Each readable event reads batches of REF_BATCH datagrams with
 * recvmmsg() (again only while a batch comes back full, at most
 * REF_ROUNDS times) and sends each batch straight back with one sendmmsg()
 * from the same buffers. A reply the socket does not take is dropped and
 * counted: nothing is queued, nothing is checked. This is about the least
 * work one event-loop thread can do per datagram with the same system
 * calls echod uses: the ceiling echod's UDP path is measured against.
 *
 * usage: ref_udp PORT   (0 = kernel chooses; prints port=N once bound)
 * On SIGTERM it prints received=N sent=N send_dropped=N and exits.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF_BATCH	32
#define REF_ROUNDS	8
#define REF_BUFSIZE	65536

static struct mmsghdr		 ref_msgs[REF_BATCH];
static struct iovec		 ref_iov[REF_BATCH];
static struct sockaddr_storage	 ref_peer[REF_BATCH];
static char			*ref_buf;
static volatile sig_atomic_t	 ref_stop;
static uint64_t			 ref_received, ref_sent, ref_dropped;
static int			 ref_dirty = REF_BATCH;

static void __attribute__((noreturn))
ref_fatal(const char *what)
{
	fprintf(stderr, "ref_udp: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
ref_on_term(int sig)
{
	(void)sig;
	ref_stop = 1;
}

static int
ref_bind(const char *portstr)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	char			*end;
	long			port;
	int			fd;

	port = strtol(portstr, &end, 10);
	if (*portstr == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "usage: ref_udp PORT\n");
		exit(2);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		ref_fatal("socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		ref_fatal("bind");
	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		ref_fatal("getsockname");
	printf("port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

/* One batch: receive up to REF_BATCH, send them all back. Returns how many came. */
static int
ref_batch(int fd)
{
	int	n, i, off, r;

	/* Only the headers the last batch used: the kernel and the send changed those. */
	for (i = 0; i < ref_dirty; i++) {
		ref_iov[i].iov_len = REF_BUFSIZE;
		ref_msgs[i].msg_hdr.msg_namelen = sizeof ref_peer[i];
	}
	n = recvmmsg(fd, ref_msgs, REF_BATCH, MSG_DONTWAIT, NULL);
	ref_dirty = n > 0 ? n : 0;
	if (n <= 0)
		return 0;
	ref_received += (uint64_t)n;
	/* The same headers go back out: each reply is its request's buffer. */
	for (i = 0; i < n; i++)
		ref_iov[i].iov_len = ref_msgs[i].msg_len;
	for (off = 0; off < n; ) {
		r = sendmmsg(fd, ref_msgs + off, (unsigned)(n - off), MSG_DONTWAIT);
		if (r > 0) {
			ref_sent += (uint64_t)r;
			off += r;
		} else if (r == -1 && errno == EINTR)
			continue;
		else if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ref_dropped += (uint64_t)(n - off);
			break;
		} else {
			ref_dropped++;
			off++;
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct epoll_event	ev;
	struct sigaction	sa;
	int			epfd, fd, round, i;

	if (argc != 2) {
		fprintf(stderr, "usage: ref_udp PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ref_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((ref_buf = malloc((size_t)REF_BATCH * REF_BUFSIZE)) == NULL)
		ref_fatal("malloc");
	for (i = 0; i < REF_BATCH; i++) {
		ref_iov[i].iov_base = ref_buf + (size_t)i * REF_BUFSIZE;
		ref_msgs[i].msg_hdr.msg_name = &ref_peer[i];
		ref_msgs[i].msg_hdr.msg_iov = &ref_iov[i];
		ref_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	fd = ref_bind(argv[1]);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		ref_fatal("epoll_create1");
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		ref_fatal("epoll_ctl");
	while (!ref_stop) {
		if (epoll_wait(epfd, &ev, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			ref_fatal("epoll_wait");
		}
		for (round = 0; round < REF_ROUNDS; round++)
			if (ref_batch(fd) < REF_BATCH)
				break;
	}
	printf("received=%llu sent=%llu send_dropped=%llu\n", (unsigned long long)ref_received,
	    (unsigned long long)ref_sent, (unsigned long long)ref_dropped);
	return 0;
}
