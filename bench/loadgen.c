/*
 * loadgen: load generator for echo servers on the loopback interface.
 *
 * Single-threaded, non-blocking, one epoll loop. Modes:
 *   pingpong  each connection sends one message and waits for all of it back
 *   stream    each connection keeps up to --window messages in flight
 *   idle      open N connections, one round-trip each, hold them, then one
 *             more round-trip each to prove they are still alive
 *   churn     connect, one round-trip, close, repeat
 *   flood     connect and reset at once, repeat, as fast as possible: an
 *             attacker; refused connects are counted, not fatal
 *
 * --proxy starts every connection with a PROXY protocol v2 header carrying
 * the connection's own addresses, as HAProxy's send-proxy-v2 would.
 *
 * Every echoed byte is checked against a deterministic per-connection
 * pattern. With --reconnect (not idle), a connection the server
 * closes or resets is no error if every byte it echoed was right: it is
 * counted (closed=) and opened again; the fault-injection tests use this.
 * Round-trip latencies go into a log-linear histogram (tool.h). The result
 * is one key=value line on stdout and a human summary on stderr.
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
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Pattern: a pseudo-random period of prime length, stored with a tail copy
 * so any offset can be sent or compared as one contiguous run. */
#define LOADGEN_PERIOD		65521
#define LOADGEN_CHUNK		65536
#define LOADGEN_RXBUF		(256 * 1024)
#define LOADGEN_MAX_SIZE	(16 * 1024 * 1024)

enum loadgen_mode {
	LOADGEN_PINGPONG,
	LOADGEN_STREAM,
	LOADGEN_IDLE,
	LOADGEN_CHURN,
	LOADGEN_FLOOD
};

enum loadgen_state {
	LG_S_FREE,		/* slot has no socket */
	LG_S_CONNECTING,	/* connect() in progress */
	LG_S_ACTIVE,		/* exchanging messages */
	LG_S_HOLD,		/* idle: first round-trip done, holding */
	LG_S_VERIFYING,		/* idle: second round-trip in flight */
	LG_S_VERIFIED,		/* idle: second round-trip done */
	LG_S_DEAD		/* failed; counted as an error */
};

struct lg_conn {
	int			 fd;
	enum loadgen_state	 state;
	uint32_t		 index;
	uint32_t		 seed;
	uint32_t		 events;
	uint64_t		 tx_off;
	uint64_t		 rx_off;
	uint64_t		 tx_limit;	/* bytes allowed to be sent */
	uint64_t		 started;	/* churn: connect time */
	uint64_t		*stamps;	/* send time of each message in window */
};

struct loadgen {
	enum loadgen_mode	 mode;
	struct sockaddr_storage	 target;
	socklen_t		 target_len;
	char			 target_str[128];
	uint32_t		 src_first;	/* host order, 0 = no binding */
	uint32_t		 src_count;
	uint32_t		 src_next;	/* connects so far: picks the next source */
	unsigned		 conns;
	size_t			 size;
	unsigned		 window;
	double			 duration;
	double			 warmup;
	double			 timeout;
	uint64_t		 max_requests;	/* 0 = unbounded */
	unsigned		 burst;		/* connects in progress at once */
	int			 proxy;		/* --proxy: a PROXY v2 header first */
	int			 reconnect;	/* a server close is counted, not an error */

	int			 epfd;
	struct lg_conn		*slots;
	uint8_t			*pat;
	uint8_t			*rxbuf;

	uint64_t		 t_begin;
	uint64_t		 t_measure;	/* end of warm-up */
	uint64_t		 t_end;
	int			 stopping;	/* no new messages or connections */

	unsigned		 connecting;
	unsigned		 live;		/* open sockets */
	unsigned		 next_connect;	/* idle/pingpong: next slot to open */
	unsigned		 opened;	/* connections that reached ACTIVE */
	unsigned		 held;
	unsigned		 verified;
	uint64_t		 issued;	/* messages started */
	uint64_t		 done_total;	/* messages completed */
	uint64_t		 done;		/* ... inside the measured window */
	uint64_t		 bytes;		/* echoed bytes in the window */
	uint64_t		 errors;	/* verification, reset, early EOF */
	uint64_t		 connect_errors;
	uint64_t		 closed;	/* --reconnect: closed by the server */
	struct tool_hist	 hist;
};

static void __attribute__((noreturn))
loadgen_usage(void)
{
	fprintf(stderr,
	    "usage: loadgen MODE [options] HOST:PORT\n"
	    "  MODE: pingpong | stream | idle | churn | flood\n"
	    "  -c, --connections N   concurrent connections (default 1)\n"
	    "  -s, --size N          message size in bytes (default 64)\n"
	    "  -d, --duration SEC    measured time; idle: hold time (default 5)\n"
	    "  -w, --warmup SEC      warm-up before measuring (default 1)\n"
	    "  -W, --window N        stream: messages in flight per connection (default 4)\n"
	    "  -n, --requests N      stop after N round-trips (duration is then a bound)\n"
	    "  -S, --src-range A-B   source addresses A..B (127.0.0.0/8), the next one per connect\n"
	    "  -b, --burst N         connects in progress at once (default 256)\n"
	    "  -t, --timeout SEC     idle: bound on connect and verify phases (default 60)\n"
	    "  -P, --proxy           send a PROXY v2 header first (the socket's own addresses)\n"
	    "  -r, --reconnect       not idle: a connection the server closes or\n"
	    "                        resets (every byte so far verified) is counted and\n"
	    "                        reopened, not an error\n"
	    "HOST must be a loopback address (127.0.0.0/8 or ::1).\n");
	exit(2);
}

static int
loadgen_parse_range(struct loadgen *lg, const char *s)
{
	char		 buf[64], *dash;
	struct in_addr	 a, b;
	uint32_t	 ha, hb;

	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash == NULL)
		return -1;
	*dash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 ||
	    inet_pton(AF_INET, dash + 1, &b) != 1)
		return -1;
	ha = ntohl(a.s_addr);
	hb = ntohl(b.s_addr);
	if ((ha >> 24) != 127 || (hb >> 24) != 127 || hb < ha)
		return -1;
	lg->src_first = ha;
	lg->src_count = hb - ha + 1;
	return 0;
}

static double
loadgen_parse_double(const char *s, const char *what)
{
	double	v;

	if (tool_parse_double(s, 0, 86400, &v) == -1)
		tool_die("bad %s: %s", what, s);
	return v;
}

static void
loadgen_parse_args(struct loadgen *lg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "window", required_argument, NULL, 'W' },
		{ "requests", required_argument, NULL, 'n' },
		{ "src-range", required_argument, NULL, 'S' },
		{ "burst", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "proxy", no_argument, NULL, 'P' },
		{ "reconnect", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*mode;
	int		 ch;

	lg->conns = 1;
	lg->size = 64;
	lg->duration = 5;
	lg->warmup = 1;
	lg->window = 4;
	lg->burst = 256;
	lg->timeout = 60;
	if (argc < 2)
		loadgen_usage();
	mode = argv[1];
	if (strcmp(mode, "pingpong") == 0)
		lg->mode = LOADGEN_PINGPONG;
	else if (strcmp(mode, "stream") == 0)
		lg->mode = LOADGEN_STREAM;
	else if (strcmp(mode, "idle") == 0)
		lg->mode = LOADGEN_IDLE;
	else if (strcmp(mode, "churn") == 0)
		lg->mode = LOADGEN_CHURN;
	else if (strcmp(mode, "flood") == 0)
		lg->mode = LOADGEN_FLOOD;
	else
		loadgen_usage();
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:s:d:w:W:n:S:b:t:Prh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			lg->conns = (unsigned)tool_uint_arg(optarg,
			    "connections", 0, 1000000);
			break;
		case 's':
			lg->size = (size_t)tool_uint_arg(optarg, "size",
			    0, LOADGEN_MAX_SIZE);
			break;
		case 'd':
			lg->duration = loadgen_parse_double(optarg, "duration");
			break;
		case 'w':
			lg->warmup = loadgen_parse_double(optarg, "warmup");
			break;
		case 'W':
			lg->window = (unsigned)tool_uint_arg(optarg,
			    "window", 0, 1024);
			break;
		case 'n':
			lg->max_requests = tool_uint_arg(optarg,
			    "requests", 0, UINT64_MAX);
			break;
		case 'S':
			if (loadgen_parse_range(lg, optarg) != 0)
				tool_die("bad --src-range (want "
				    "127.x.y.z-127.x.y.z): %s", optarg);
			break;
		case 'b':
			lg->burst = (unsigned)tool_uint_arg(optarg,
			    "burst", 0, 100000);
			break;
		case 't':
			lg->timeout = loadgen_parse_double(optarg, "timeout");
			break;
		case 'P':
			lg->proxy = 1;
			break;
		case 'r':
			lg->reconnect = 1;
			break;
		default:
			loadgen_usage();
		}
	}
	if (optind != argc - 1)
		loadgen_usage();
	if (tool_parse_loopback(argv[optind], &lg->target,
	    &lg->target_len) != 0)
		tool_die("target must be a loopback HOST:PORT "
		    "(127.0.0.0/8 or [::1]): %s", argv[optind]);
	snprintf(lg->target_str, sizeof lg->target_str, "%s", argv[optind]);
	if (lg->conns == 0 || lg->size == 0 || lg->window == 0 ||
	    lg->burst == 0)
		tool_die("connections, size, window, burst must be > 0");
	if (lg->src_count != 0 && lg->target.ss_family != AF_INET)
		tool_die("--src-range needs an IPv4 target");
	if (lg->mode != LOADGEN_STREAM)
		lg->window = 1;
	if (lg->reconnect && lg->mode == LOADGEN_IDLE)
		tool_die("--reconnect does not go with idle");
}

static void
loadgen_pattern_init(struct loadgen *lg)
{
	uint32_t	x = 0x9e3779b9;
	size_t		i;

	lg->pat = malloc(LOADGEN_PERIOD + LOADGEN_CHUNK);
	lg->rxbuf = malloc(LOADGEN_RXBUF);
	if (lg->pat == NULL || lg->rxbuf == NULL)
		tool_die("out of memory");
	for (i = 0; i < LOADGEN_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		lg->pat[i] = (uint8_t)(x >> 11);
	}
	for (i = 0; i < LOADGEN_CHUNK; i++)
		lg->pat[LOADGEN_PERIOD + i] = lg->pat[i];
}

static void
loadgen_set_events(struct loadgen *lg, struct lg_conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	if (tool_epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, events, c) != 0)
		tool_die_errno("epoll_ctl");
	c->events = events;
}

static void
loadgen_close(struct loadgen *lg, struct lg_conn *c, enum loadgen_state st)
{
	if (c->fd != -1) {
		if (c->state == LG_S_CONNECTING)
			lg->connecting--;
		lg->live--;
		close(c->fd);
		c->fd = -1;
	}
	c->state = st;
	c->events = 0;
}

static void
loadgen_fail(struct loadgen *lg, struct lg_conn *c, const char *why, int err)
{
	static unsigned	reported;

	if (reported++ < 5)
		tool_warn("conn %u: %s%s%s", c->index, why, err ? ": " : "",
		    err ? strerror(err) : "");
	if (c->state == LG_S_CONNECTING)
		lg->connect_errors++;
	else
		lg->errors++;
	loadgen_close(lg, c, LG_S_DEAD);
}

static void loadgen_connect(struct loadgen *, struct lg_conn *);
static void loadgen_churn_next(struct loadgen *, struct lg_conn *);

/*
 * --reconnect: the server closed or reset c, and every byte it echoed was
 * verified. Messages issued but not echoed are given back (so --requests
 * still counts only completed ones) and the slot connects again.
 */
static void
loadgen_server_closed(struct loadgen *lg, struct lg_conn *c)
{
	uint64_t sent_msgs = (c->tx_limit + lg->size - 1) / lg->size;
	uint64_t done_msgs = c->rx_off / lg->size;

	lg->issued -= sent_msgs - done_msgs;
	lg->closed++;
	loadgen_close(lg, c, LG_S_FREE);
	if (lg->mode == LOADGEN_CHURN)
		loadgen_churn_next(lg, c);
	else if (!lg->stopping)
		loadgen_connect(lg, c);
}

/* A failed recv/send or an EOF: an error, or with --reconnect a counted close. */
static void
loadgen_io_end(struct loadgen *lg, struct lg_conn *c, const char *why, int err)
{
	if (lg->reconnect && (err == 0 || err == ECONNRESET || err == EPIPE))
		loadgen_server_closed(lg, c);
	else
		loadgen_fail(lg, c, why, err);
}

/* Start a non-blocking connect for slot c. */
static void
loadgen_connect(struct loadgen *lg, struct lg_conn *c)
{
	struct sockaddr_in	 src;
	int			 fd, one = 1;

	fd = tool_socket(lg->target.ss_family, SOCK_NONBLOCK);
	if (fd == -1) {
		c->state = LG_S_CONNECTING;
		lg->connecting++;
		loadgen_fail(lg, c, "socket", errno);
		return;
	}
	if (lg->src_count != 0) {
		/* Let connect() pick the port so the 4-tuple, not the
		 * source address alone, has to be unique. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		/* One address after the other, per connect: a churn or flood
		 * run goes through the whole range, not one per slot. */
		src.sin_addr.s_addr = htonl(lg->src_first +
		    lg->src_next++ % lg->src_count);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
			close(fd);
			c->state = LG_S_CONNECTING;
			lg->connecting++;
			loadgen_fail(lg, c, "bind", errno);
			return;
		}
	}
	c->fd = fd;
	lg->live++;
	c->state = LG_S_CONNECTING;
	c->tx_off = c->rx_off = c->tx_limit = 0;
	c->started = tool_now_ns();
	lg->connecting++;
	if (tool_connect(fd, &lg->target, lg->target_len) == -1) {
		loadgen_fail(lg, c, "connect", errno);
		return;
	}
	if (tool_epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, EPOLLOUT, c) != 0)
		tool_die_errno("epoll_ctl add");
	c->events = EPOLLOUT;
}

/* Send what the window allows; ask for EPOLLOUT if the socket is full. */
static void
loadgen_send(struct loadgen *lg, struct lg_conn *c)
{
	uint64_t	msg, end;
	size_t		pos, len;
	ssize_t		n;

	while (c->tx_off < c->tx_limit) {
		if (c->tx_off % lg->size == 0) {
			msg = c->tx_off / lg->size;
			c->stamps[msg % lg->window] = tool_now_ns();
		}
		/* Never cross a message boundary: stamps are per message. */
		end = (c->tx_off / lg->size + 1) * lg->size;
		if (end > c->tx_limit)
			end = c->tx_limit;
		len = (size_t)(end - c->tx_off);
		if (len > LOADGEN_CHUNK)
			len = LOADGEN_CHUNK;
		pos = (size_t)((c->seed + c->tx_off) % LOADGEN_PERIOD);
		n = send(c->fd, lg->pat + pos, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			loadgen_io_end(lg, c, "send", errno);
			return;
		}
		c->tx_off += (uint64_t)n;
	}
	loadgen_set_events(lg, c, EPOLLIN |
	    (c->tx_off < c->tx_limit ? EPOLLOUT : 0));
}

/* Allow one more message to be sent, if the run still issues messages. */
static int
loadgen_issue(struct loadgen *lg, struct lg_conn *c)
{
	if (lg->stopping)
		return 0;
	if (lg->max_requests != 0 && lg->issued >= lg->max_requests)
		return 0;
	lg->issued++;
	c->tx_limit += lg->size;
	return 1;
}

static int
loadgen_verify(struct loadgen *lg, struct lg_conn *c, const uint8_t *buf,
    size_t n)
{
	size_t	pos, k;

	pos = (size_t)((c->seed + c->rx_off) % LOADGEN_PERIOD);
	while (n > 0) {
		k = n > LOADGEN_CHUNK ? LOADGEN_CHUNK : n;
		if (memcmp(buf, lg->pat + pos, k) != 0)
			return -1;
		buf += k;
		n -= k;
		pos = (pos + k) % LOADGEN_PERIOD;
	}
	return 0;
}

static void
loadgen_record(struct loadgen *lg, uint64_t started, uint64_t now)
{
	lg->done_total++;
	if (now < lg->t_measure || now > lg->t_end)
		return;
	lg->done++;
	lg->bytes += lg->size;
	tool_hist_add(&lg->hist, now - started);
}

/* One message fully echoed on connection c. */
static void
loadgen_complete(struct loadgen *lg, struct lg_conn *c, uint64_t msg,
    uint64_t now)
{
	switch (lg->mode) {
	case LOADGEN_PINGPONG:
	case LOADGEN_STREAM:
		loadgen_record(lg, c->stamps[msg % lg->window], now);
		if (loadgen_issue(lg, c))
			loadgen_send(lg, c);
		break;
	case LOADGEN_IDLE:
		if (c->state == LG_S_ACTIVE) {
			c->state = LG_S_HOLD;
			lg->held++;
			loadgen_record(lg, c->stamps[0], now);
		} else {
			c->state = LG_S_VERIFIED;
			lg->verified++;
		}
		loadgen_set_events(lg, c, EPOLLIN);
		break;
	case LOADGEN_CHURN:
		loadgen_record(lg, c->started, now);
		loadgen_close(lg, c, LG_S_FREE);
		loadgen_churn_next(lg, c);
		break;
	case LOADGEN_FLOOD:
		/* Never exchanges a message: reset as soon as it connects. */
		break;
	}
}

static void
loadgen_readable(struct loadgen *lg, struct lg_conn *c)
{
	uint64_t	now, msg;
	ssize_t		n;

	for (;;) {
		n = recv(c->fd, lg->rxbuf, LOADGEN_RXBUF, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			loadgen_io_end(lg, c, "recv", errno);
			return;
		}
		if (n == 0) {
			loadgen_io_end(lg, c, "closed by server", 0);
			return;
		}
		if (c->rx_off + (uint64_t)n > c->tx_off) {
			loadgen_fail(lg, c, "more bytes back than sent", 0);
			return;
		}
		if (loadgen_verify(lg, c, lg->rxbuf, (size_t)n) != 0) {
			loadgen_fail(lg, c, "echoed bytes differ", 0);
			return;
		}
		now = tool_now_ns();
		msg = c->rx_off / lg->size;
		c->rx_off += (uint64_t)n;
		/* Complete every message whose last byte just arrived. */
		while ((msg + 1) * lg->size <= c->rx_off) {
			loadgen_complete(lg, c, msg, now);
			if (c->state != LG_S_ACTIVE)
				return;
			msg++;
		}
		if ((size_t)n < LOADGEN_RXBUF)
			return;
	}
}

/*
 * PROXY protocol v2 (PROXY, TCP over IPv4 or IPv6): the connection's own
 * source and destination, sent before the first message. 28 or 52 bytes
 * always fit in a fresh socket's buffer.
 */
static int
loadgen_proxy_header(struct loadgen *lg, struct lg_conn *c)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	    0x55, 0x49, 0x54, 0x0a };
	struct sockaddr_storage	 src, dst;
	socklen_t		 slen = sizeof src, dlen = sizeof dst;
	uint8_t			 h[16 + 36];
	size_t			 len;

	if (getsockname(c->fd, (struct sockaddr *)&src, &slen) != 0 ||
	    getpeername(c->fd, (struct sockaddr *)&dst, &dlen) != 0) {
		loadgen_fail(lg, c, "proxy header: address", errno);
		return -1;
	}
	memcpy(h, sig, sizeof sig);
	h[12] = 0x21;	/* version 2, PROXY */
	if (src.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
		const struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;

		h[13] = 0x11;	/* TCP over IPv4 */
		h[14] = 0;
		h[15] = 12;
		memcpy(h + 16, &s4->sin_addr, 4);
		memcpy(h + 20, &d4->sin_addr, 4);
		memcpy(h + 24, &s4->sin_port, 2);
		memcpy(h + 26, &d4->sin_port, 2);
		len = 28;
	} else {
		const struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
		const struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;

		h[13] = 0x21;	/* TCP over IPv6 */
		h[14] = 0;
		h[15] = 36;
		memcpy(h + 16, &s6->sin6_addr, 16);
		memcpy(h + 32, &d6->sin6_addr, 16);
		memcpy(h + 48, &s6->sin6_port, 2);
		memcpy(h + 50, &d6->sin6_port, 2);
		len = 52;
	}
	if (send(c->fd, h, len, MSG_NOSIGNAL) != (ssize_t)len) {
		loadgen_fail(lg, c, "proxy header: send", errno);
		return -1;
	}
	return 0;
}

/*
 * Flood: the connection is up; reset it at once (SO_LINGER 0: no TIME_WAIT,
 * so one source address does not run out of ports) and connect again.
 */
static void
loadgen_flood_next(struct loadgen *lg, struct lg_conn *c)
{
	struct linger	lin = { 1, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
	loadgen_record(lg, c->started, tool_now_ns());
	loadgen_close(lg, c, LG_S_FREE);
	loadgen_churn_next(lg, c);
}

static void
loadgen_connected(struct loadgen *lg, struct lg_conn *c)
{
	int	err;

	if ((err = tool_sock_error(c->fd)) != 0) {
		loadgen_fail(lg, c, "connect", err);
		if (lg->mode == LOADGEN_FLOOD)
			loadgen_churn_next(lg, c);
		return;
	}
	lg->connecting--;
	lg->opened++;
	if (lg->mode == LOADGEN_FLOOD) {
		loadgen_flood_next(lg, c);
		return;
	}
	c->state = LG_S_ACTIVE;
	if (lg->proxy && loadgen_proxy_header(lg, c) != 0)
		return;
	if (lg->mode == LOADGEN_IDLE || lg->mode == LOADGEN_CHURN) {
		/* The one round-trip is part of the connection cycle. */
		c->tx_limit = lg->size;
	} else {
		while (c->tx_limit / lg->size < lg->window &&
		    loadgen_issue(lg, c))
			;
	}
	loadgen_send(lg, c);
}

static void
loadgen_churn_next(struct loadgen *lg, struct lg_conn *c)
{
	if (lg->stopping)
		return;
	if (lg->max_requests != 0 && lg->issued >= lg->max_requests)
		return;
	lg->issued++;
	loadgen_connect(lg, c);
}

static void
loadgen_dispatch(struct loadgen *lg, struct lg_conn *c, uint32_t events)
{
	if (c->fd == -1)
		return;
	if (c->state == LG_S_CONNECTING) {
		loadgen_connected(lg, c);
		return;
	}
	if (c->state == LG_S_HOLD && (events & (EPOLLIN | EPOLLERR |
	    EPOLLHUP))) {
		/* A held connection must stay silent. */
		lg->held--;
		loadgen_fail(lg, c, "held connection closed or got data", 0);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		loadgen_readable(lg, c);
		/* closed, or (--reconnect) connecting again: the events were the old socket's */
		if (c->state != LG_S_ACTIVE && c->state != LG_S_VERIFYING)
			return;
	}
	if (c->fd != -1 && (events & EPOLLOUT))
		loadgen_send(lg, c);
}

/* Open pending connections, at most lg->burst in progress at once. */
static void
loadgen_open_more(struct loadgen *lg)
{
	struct lg_conn	*c;

	while (!lg->stopping && lg->next_connect < lg->conns &&
	    lg->connecting < lg->burst) {
		c = &lg->slots[lg->next_connect++];
		if (lg->mode == LOADGEN_CHURN || lg->mode == LOADGEN_FLOOD)
			loadgen_churn_next(lg, c);
		else
			loadgen_connect(lg, c);
	}
}

static void
loadgen_poll(struct loadgen *lg, uint64_t deadline)
{
	struct epoll_event	evs[256];
	uint64_t		now;
	int			n, i, ms;

	now = tool_now_ns();
	ms = deadline > now ? (int)((deadline - now) / 1000000) + 1 : 0;
	if (ms > 100)
		ms = 100;
	n = epoll_wait(lg->epfd, evs, 256, ms);
	if (n == -1) {
		if (errno == EINTR)
			return;
		tool_die_errno("epoll_wait");
	}
	for (i = 0; i < n; i++)
		loadgen_dispatch(lg, evs[i].data.ptr, evs[i].events);
}

static int
loadgen_finished(struct loadgen *lg)
{
	if (lg->max_requests != 0 && lg->done_total >= lg->max_requests)
		return 1;
	return 0;
}

static void
loadgen_run_traffic(struct loadgen *lg)
{
	while (!tool_signalled) {
		loadgen_open_more(lg);
		if (tool_now_ns() >= lg->t_end || loadgen_finished(lg))
			break;
		/* Every connection failed: waiting out the run is pointless. */
		if (lg->live == 0 && lg->next_connect == lg->conns)
			break;
		loadgen_poll(lg, lg->t_end);
	}
	lg->stopping = 1;
}

/* Idle: open all, one round-trip each, report, hold, verify again. */
static void
loadgen_run_idle(struct loadgen *lg)
{
	uint64_t	 bound, hold_end;
	uint64_t	 failed;
	unsigned	 i, live;
	struct lg_conn	*c;

	bound = tool_now_ns() + (uint64_t)(lg->timeout * 1e9);
	while (!tool_signalled && tool_now_ns() < bound) {
		loadgen_open_more(lg);
		if (lg->next_connect == lg->conns && lg->connecting == 0 &&
		    lg->held + lg->errors + lg->connect_errors >= lg->conns)
			break;
		loadgen_poll(lg, bound);
	}
	printf("established=%u errors=%" PRIu64 " connect_errors=%" PRIu64
	    " setup_s=%.3f\n", lg->held, lg->errors, lg->connect_errors,
	    (double)(tool_now_ns() - lg->t_begin) / 1e9);
	fflush(stdout);
	hold_end = tool_now_ns() + (uint64_t)(lg->duration * 1e9);
	while (!tool_signalled && tool_now_ns() < hold_end)
		loadgen_poll(lg, hold_end);
	/* Second round-trip on every held connection. */
	live = 0;
	for (i = 0; i < lg->conns; i++) {
		c = &lg->slots[i];
		if (c->state != LG_S_HOLD)
			continue;
		c->state = LG_S_VERIFYING;
		c->tx_limit += lg->size;
		loadgen_send(lg, c);
		live++;
	}
	bound = tool_now_ns() + (uint64_t)(lg->timeout * 1e9);
	failed = lg->errors;
	while (!tool_signalled && tool_now_ns() < bound &&
	    lg->verified + (lg->errors - failed) < live)
		loadgen_poll(lg, bound);
}

static void
loadgen_report(struct loadgen *lg, double measured)
{
	const char	*mode[] = { "pingpong", "stream", "idle", "churn", "flood" };
	double		 rps, mibps;
	uint64_t	 p50, p99, p999;

	rps = measured > 0 ? (double)lg->done / measured : 0;
	mibps = measured > 0 ? (double)lg->bytes / measured / 1048576.0 : 0;
	p50 = tool_hist_percentile(&lg->hist, 0.50);
	p99 = tool_hist_percentile(&lg->hist, 0.99);
	p999 = tool_hist_percentile(&lg->hist, 0.999);
	printf("mode=%s target=%s conns=%u size=%zu window=%u warmup=%.3f "
	    "duration=%.3f requests=%" PRIu64 " requests_total=%" PRIu64
	    " rps=%.1f mibps=%.2f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f errors=%" PRIu64 " connect_errors=%" PRIu64
	    " connected=%u held=%u verified=%u closed=%" PRIu64 "\n",
	    mode[lg->mode], lg->target_str, lg->conns, lg->size, lg->window,
	    lg->warmup, measured, lg->done, lg->done_total, rps, mibps,
	    (double)p50 / 1e3, (double)p99 / 1e3, (double)p999 / 1e3,
	    (double)lg->hist.max / 1e3, lg->errors, lg->connect_errors,
	    lg->opened, lg->held, lg->verified, lg->closed);
	fflush(stdout);
	fprintf(stderr, "%s %s: %u conns x %zu B: %.0f req/s, %.2f MiB/s, "
	    "latency p50 %.1f us p99 %.1f us p99.9 %.1f us max %.1f us, "
	    "%" PRIu64 " errors, %" PRIu64 " connect errors",
	    mode[lg->mode], lg->target_str, lg->conns, lg->size, rps, mibps,
	    (double)p50 / 1e3, (double)p99 / 1e3, (double)p999 / 1e3,
	    (double)lg->hist.max / 1e3, lg->errors, lg->connect_errors);
	if (lg->mode == LOADGEN_IDLE)
		fprintf(stderr, ", %u held, %u verified after hold",
		    lg->held, lg->verified);
	fputc('\n', stderr);
}

int
main(int argc, char **argv)
{
	struct loadgen	 lg;
	unsigned	 i;
	double		 measured;
	uint64_t	 stop;
	int		 ok;

	tool_init("loadgen", 2);
	memset(&lg, 0, sizeof lg);
	loadgen_parse_args(&lg, argc, argv);
	tool_raise_nofile(UINT64_MAX);
	loadgen_pattern_init(&lg);
	tool_catch(SIGINT);
	tool_catch(SIGTERM);
	signal(SIGPIPE, SIG_IGN);

	lg.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lg.epfd == -1)
		tool_die_errno("epoll_create1");
	lg.slots = calloc(lg.conns, sizeof *lg.slots);
	if (lg.slots == NULL)
		tool_die("out of memory");
	for (i = 0; i < lg.conns; i++) {
		lg.slots[i].fd = -1;
		lg.slots[i].index = i;
		lg.slots[i].seed = (uint32_t)(((uint64_t)i * 7919) %
		    LOADGEN_PERIOD);
		lg.slots[i].stamps = calloc(lg.window, sizeof(uint64_t));
		if (lg.slots[i].stamps == NULL)
			tool_die("out of memory");
	}

	lg.t_begin = tool_now_ns();
	if (lg.mode == LOADGEN_IDLE) {
		lg.warmup = 0;
		lg.t_measure = lg.t_begin;
		lg.t_end = UINT64_MAX;
		loadgen_run_idle(&lg);
		stop = tool_now_ns();
		measured = (double)(stop - lg.t_begin) / 1e9;
	} else {
		lg.t_measure = lg.t_begin + (uint64_t)(lg.warmup * 1e9);
		lg.t_end = lg.t_measure + (uint64_t)(lg.duration * 1e9);
		if (lg.max_requests != 0) {
			/* A fixed workload is measured whole. */
			lg.t_measure = lg.t_begin;
			lg.warmup = 0;
		}
		loadgen_run_traffic(&lg);
		stop = tool_now_ns();
		if (stop > lg.t_end)
			stop = lg.t_end;
		measured = stop > lg.t_measure ?
		    (double)(stop - lg.t_measure) / 1e9 : 0;
	}
	loadgen_report(&lg, measured);

	ok = lg.errors == 0 && lg.connect_errors == 0 && !tool_signalled;
	/* An attacker expects refusals: it fails only if nothing got through. */
	if (lg.mode == LOADGEN_FLOOD)
		ok = lg.done_total > 0 && !tool_signalled;
	if (lg.mode == LOADGEN_IDLE && lg.verified != lg.conns)
		ok = 0;
	if (lg.max_requests != 0 && lg.done_total < lg.max_requests)
		ok = 0;
	for (i = 0; i < lg.conns; i++) {
		if (lg.slots[i].fd != -1)
			close(lg.slots[i].fd);
		free(lg.slots[i].stamps);
	}
	free(lg.slots);
	free(lg.pat);
	free(lg.rxbuf);
	close(lg.epfd);
	return ok ? 0 : 1;
}
