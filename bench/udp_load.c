/*
 * udp_load: load generator for UDP echo servers on the loopback interface
 * (bench/udp_bench.sh).
 *
 * One thread, FLOWS connected datagram sockets, each bound to its own
 * source address (127.0.1.1, 127.0.1.2, ...: distinct sources for a
 * per-source budget), level-triggered epoll, recvmmsg/sendmmsg in batches.
 * Modes:
 *   window  closed loop: each flow keeps WINDOW datagrams in flight and
 *           sends one for each reply; a flow that hears nothing for 50 ms
 *           counts what it had in flight as lost and starts over. This is
 *           the throughput the server sustains without loss.
 *   flood   open loop: every flow sends as fast as the client can, and
 *           replies are read in between. Sent minus received is what was
 *           lost at saturation (the server's and the client's receive
 *           queues: client_drops is the client's share, from SO_MEMINFO).
 * Every reply is compared with what was sent (length and bytes).
 *
 * usage: udp_load [-m window|flood] [-s SIZE] [-f FLOWS] [-w WINDOW]
 *                 [-d SECONDS] [-W WARMUP] [-n COUNT] HOST:PORT
 * -n: window mode sends COUNT datagrams in all and stops once they are
 * answered (or lost), or after SECONDS (bench/udp_bench.sh --callgrind).
 * Prints one key=value line: mode size flows window duration rate (replies/s
 * over the measured part) sent received lost bad client_drops
 * received_total (warm-up included).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOAD_BATCH	32
#define LOAD_MAX_FLOWS	250
#define LOAD_MAX_SIZE	65507
#define LOAD_STALL_NS	(50 * 1000000ULL)

struct load_flow {
	int		 fd;
	uint64_t	 inflight;
	uint64_t	 last_rx_ns;
};

static struct load_flow	 load_flows[LOAD_MAX_FLOWS];
static unsigned		 load_nflows = 8;
static size_t		 load_size = 64;
static uint64_t		 load_window = 16;
static double		 load_duration = 2, load_warmup = 0.5;
static int		 load_flood;
static char		*load_payload;		/* what is sent; replies must equal it */
static char		*load_rxbuf;
static struct mmsghdr	 load_tx[LOAD_BATCH], load_rx[LOAD_BATCH];
static struct iovec	 load_txiov[LOAD_BATCH], load_rxiov[LOAD_BATCH];
/* Counted from the end of the warm-up on; *_total from the start. */
static uint64_t		 load_sent, load_received, load_received_total, load_lost, load_bad;
static int		 load_measuring;
static uint64_t		 load_limit;		/* -n: datagrams in all, 0: no limit */
static uint64_t		 load_sent_total;

static void __attribute__((noreturn))
load_fatal(const char *what)
{
	fprintf(stderr, "udp_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
load_usage(void)
{
	fprintf(stderr, "usage: udp_load [-m window|flood] [-s SIZE] [-f FLOWS] [-w WINDOW] "
	    "[-d SECONDS] [-W WARMUP] [-n COUNT] HOST:PORT\n");
	exit(2);
}

static void
load_target(const char *arg, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
		load_usage();
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		load_usage();
}

/* Flow i: bound to 127.0.1.(i+1), connected to the server. */
static void
load_open(int epfd, const struct sockaddr_in *to)
{
	struct epoll_event ev;
	struct sockaddr_in src;
	unsigned i;
	int buf = 4 << 20;

	for (i = 0; i < load_nflows; i++) {
		load_flows[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (load_flows[i].fd == -1)
			load_fatal("socket");
		setsockopt(load_flows[i].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000101 + i);
		if (bind(load_flows[i].fd, (struct sockaddr *)&src, sizeof(src)) != 0)
			load_fatal("bind");
		if (connect(load_flows[i].fd, (const struct sockaddr *)to, sizeof(*to)) != 0)
			load_fatal("connect");
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, load_flows[i].fd, &ev) != 0)
			load_fatal("epoll_ctl");
	}
}

/* Send n datagrams on flow f; returns how many the socket took. */
static uint64_t
load_send(struct load_flow *f, uint64_t n)
{
	uint64_t done = 0;
	unsigned k, i;
	int r;

	if (load_limit > 0 && load_sent_total + n > load_limit)
		n = load_limit - load_sent_total;
	while (done < n) {
		k = n - done > LOAD_BATCH ? LOAD_BATCH : (unsigned)(n - done);
		for (i = 0; i < k; i++) {
			load_txiov[i].iov_base = load_payload;
			load_txiov[i].iov_len = load_size;
			memset(&load_tx[i], 0, sizeof(load_tx[i]));
			load_tx[i].msg_hdr.msg_iov = &load_txiov[i];
			load_tx[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(f->fd, load_tx, k, MSG_DONTWAIT);
		if (r <= 0) {
			if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED &&
			    errno != EINTR)
				load_fatal("sendmmsg");
			break;
		}
		done += (uint64_t)r;
	}
	f->inflight += done;
	load_sent_total += done;
	if (load_measuring)
		load_sent += done;
	return done;
}

/* Read everything flow f has; returns how many replies. */
static uint64_t
load_drain(struct load_flow *f, uint64_t now)
{
	uint64_t got = 0;
	unsigned i;
	int n;

	do {
		for (i = 0; i < LOAD_BATCH; i++) {
			load_rxiov[i].iov_base = load_rxbuf + (size_t)i * 65536;
			load_rxiov[i].iov_len = 65536;
			memset(&load_rx[i], 0, sizeof(load_rx[i]));
			load_rx[i].msg_hdr.msg_iov = &load_rxiov[i];
			load_rx[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(f->fd, load_rx, LOAD_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (i = 0; i < (unsigned)n; i++)
			if (load_rx[i].msg_len != load_size ||
			    memcmp(load_rxiov[i].iov_base, load_payload, load_size) != 0)
				load_bad++;
		got += (uint64_t)n;
	} while (n == LOAD_BATCH);
	if (got > 0)
		f->last_rx_ns = now;
	f->inflight = f->inflight > got ? f->inflight - got : 0;
	load_received_total += got;
	if (load_measuring)
		load_received += got;
	return got;
}

/* Flows that heard nothing for a while: what they had in flight is lost. */
static void
load_unstall(uint64_t now)
{
	unsigned i;

	for (i = 0; i < load_nflows; i++) {
		if (load_flows[i].inflight == 0 || now - load_flows[i].last_rx_ns < LOAD_STALL_NS)
			continue;
		if (load_measuring)
			load_lost += load_flows[i].inflight;
		load_flows[i].inflight = 0;
		load_flows[i].last_rx_ns = now;
		load_send(&load_flows[i], load_window);
	}
}

static uint64_t
load_client_drops(void)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len;
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < load_nflows; i++) {
		len = sizeof(mem);
		memset(mem, 0, sizeof(mem));
		if (getsockopt(load_flows[i].fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0)
			n += mem[SK_MEMINFO_DROPS];
	}
	return n;
}

static void
load_run(int epfd)
{
	struct epoll_event evs[LOAD_MAX_FLOWS];
	uint64_t start = load_now_ns(), now = start, warm_end, end, got;
	unsigned i;
	int n;

	warm_end = start + (uint64_t)(load_warmup * 1e9);
	end = warm_end + (uint64_t)(load_duration * 1e9);
	for (i = 0; i < load_nflows; i++) {
		load_flows[i].last_rx_ns = now;
		if (!load_flood)
			load_send(&load_flows[i], load_window);
	}
	while (now < end && (load_limit == 0 || load_received_total + load_lost < load_limit)) {
		if (load_flood)
			for (i = 0; i < load_nflows; i++)
				load_send(&load_flows[i], LOAD_BATCH);
		n = epoll_wait(epfd, evs, LOAD_MAX_FLOWS, load_flood ? 0 : 10);
		if (n == -1 && errno != EINTR)
			load_fatal("epoll_wait");
		now = load_now_ns();
		if (!load_measuring && now >= warm_end)
			load_measuring = 1;
		for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
			got = load_drain(&load_flows[evs[i].data.u32], now);
			if (!load_flood && got > 0)
				load_send(&load_flows[evs[i].data.u32], got);
		}
		if (!load_flood)
			load_unstall(now);
	}
	/* In flight at the end: given a moment, then counted as lost. */
	usleep(100000);
	now = load_now_ns();
	for (i = 0; i < load_nflows; i++) {
		load_drain(&load_flows[i], now);
		load_lost += load_flows[i].inflight;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in to;
	size_t i;
	int c, epfd;

	while ((c = getopt(argc, argv, "m:s:f:w:d:W:n:")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "flood") == 0)
				load_flood = 1;
			else if (strcmp(optarg, "window") != 0)
				load_usage();
			break;
		case 's':
			load_size = (size_t)atol(optarg);
			break;
		case 'f':
			load_nflows = (unsigned)atoi(optarg);
			break;
		case 'w':
			load_window = (uint64_t)atoll(optarg);
			break;
		case 'd':
			load_duration = atof(optarg);
			break;
		case 'W':
			load_warmup = atof(optarg);
			break;
		case 'n':
			load_limit = (uint64_t)atoll(optarg);
			break;
		default:
			load_usage();
		}
	}
	if (optind + 1 != argc || load_size == 0 || load_size > LOAD_MAX_SIZE || load_nflows == 0 ||
	    load_nflows > LOAD_MAX_FLOWS || load_window == 0 || load_duration <= 0)
		load_usage();
	load_target(argv[optind], &to);
	if ((load_payload = malloc(load_size)) == NULL ||
	    (load_rxbuf = malloc((size_t)LOAD_BATCH * 65536)) == NULL)
		load_fatal("malloc");
	for (i = 0; i < load_size; i++)
		load_payload[i] = (char)('a' + i % 26);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		load_fatal("epoll_create1");
	load_open(epfd, &to);
	load_run(epfd);
	printf("mode=%s size=%zu flows=%u window=%llu duration=%.3f rate=%.0f sent=%llu "
	    "received=%llu lost=%llu bad=%llu client_drops=%llu received_total=%llu\n",
	    load_flood ? "flood" : "window", load_size, load_nflows,
	    (unsigned long long)load_window, load_duration, (double)load_received / load_duration,
	    (unsigned long long)load_sent, (unsigned long long)load_received,
	    (unsigned long long)load_lost, (unsigned long long)load_bad,
	    (unsigned long long)load_client_drops(), (unsigned long long)load_received_total);
	return load_bad == 0 ? 0 : 1;
}
