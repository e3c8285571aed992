/*
 * tclient.c: the C test client of the integration tests. It does what nc and
 * socat cannot do reliably: stream deterministic pseudo-random bytes while
 * reading concurrently, hold a thousand connections open at once, send
 * without ever reading, tell a clean FIN from a reset, and time round trips.
 *
 * Single-threaded, poll(2) based, libc and tests/common/tool.c only. Every
 * wait is bounded by the global deadline (-T SECONDS, default 30). Targets
 * are "HOST PORT" with a numeric IPv4 or IPv6 host (brackets allowed), or
 * "unix:/path -" for a unix-domain socket. -b ADDRESS binds every
 * connection's source address first (127.0.0.2: another loopback source, for
 * per-source limits). Exit status: 0 success, 1 failure or mismatch, 2 usage,
 * 3 connection refused (connect subcommand).
 */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define TCLIENT_EX_OK       0
#define TCLIENT_EX_FAIL     1
#define TCLIENT_EX_USAGE    2
#define TCLIENT_EX_REFUSED  3

#define TCLIENT_BUFSZ       65536
#define TCLIENT_PING        "ping\n"

/* A resolved connect target. */
struct tclient_target {
	struct sockaddr_storage  ss;
	socklen_t                len;
	int                      family;
	char                     name[160];
};

/* One connection of the concurrent subcommand. */
struct tclient_peer {
	int       fd;
	int       connected;
	int       done;
	size_t    sent;
	size_t    recvd;
};

static uint64_t  tclient_deadline_ms;
static int       tclient_timeout_s = 30;
static struct sockaddr_storage tclient_src;	/* -b: source address; family 0: none */
static socklen_t tclient_srclen;

static void __attribute__((noreturn))
tclient_usage(void)
{
	fprintf(stderr,
	    "usage: tclient [-T SECONDS] [-b SOURCE-ADDRESS] COMMAND ARGS\n"
	    "  echo-bulk HOST PORT BYTES SEED   stream random bytes, read concurrently, verify\n"
	    "  halfclose HOST PORT BYTES        send, shutdown(SHUT_WR), read to a clean EOF\n"
	    "  concurrent HOST PORT N MSGSIZE   N echo connections open at once, one round trip each\n"
	    "  echo-loop [-b BYTES] [-i MS] HOST PORT SECONDS\n"
	    "                                   echo sessions one after another (MS apart) for SECONDS\n"
	    "                                   (or until SIGUSR1): connect, send BYTES, shut down the\n"
	    "                                   write side, read them back to a clean EOF; counts\n"
	    "                                   refused, reset and cut sessions, stops at a wrong byte\n"
	    "  flood [-r] HOST PORT BYTES HOLD  send without reading until stalled; hold HOLD s\n"
	    "                                   (or until SIGUSR1);\n"
	    "                                   -r: then shut down the write side and read all\n"
	    "  rtt [-i MS] HOST PORT COUNT      round-trip latencies (p50/p99)\n"
	    "  hold [-e] [-q] HOST PORT SECONDS connect and hold; -e: echo a ping first; -q: quit after it\n"
	    "  connect HOST PORT                exit 0 if connected, 3 if refused\n"
	    "  fetch [-s] [-w MS] [-d DATA] [-n BYTES] HOST PORT MAX\n"
	    "                                   send DATA or BYTES random bytes (-s: then shut down\n"
	    "                                   the write side; -w: then wait MS before reading),\n"
	    "                                   copy up to MAX bytes read to stdout\n"
	    "HOST is numeric IPv4/IPv6, or unix:/path (PORT then ignored).\n"
	    "-B ADDR: connect from this numeric source address.\n");
	exit(TCLIENT_EX_USAGE);
}

/* Milliseconds to wait: at most `want` (-1 = no limit), never past the deadline. */
static int
tclient_wait_ms(int want, const char *what)
{
	uint64_t now = tool_now_ms();
	uint64_t left;

	if (now >= tclient_deadline_ms)
		tool_die("timeout after %d s while %s", tclient_timeout_s, what);
	left = tclient_deadline_ms - now;
	if (want >= 0 && (uint64_t)want < left)
		return want;
	return left > 1000000 ? 1000000 : (int)left;
}

/* A count, size or seed: decimal, optionally with K, M or G. */
static uint64_t
tclient_parse_num(const char *s, const char *what)
{
	uint64_t v;

	if (tool_parse_scaled(s, &v) == -1)
		tool_die("bad %s '%s'", what, s);
	return v;
}

/* Compare buf with the stream of seed at off; die naming the first bad byte. */
static void
tclient_verify(const char *what, uint64_t seed, uint64_t off, const uint8_t *buf, size_t len)
{
	uint8_t want[TCLIENT_BUFSZ];
	size_t done = 0, n, i;

	while (done < len) {
		n = len - done < sizeof(want) ? len - done : sizeof(want);
		tool_stream(seed, off + done, want, n);
		if (memcmp(want, buf + done, n) != 0) {
			for (i = 0; i < n && want[i] == buf[done + i]; i++)
				;
			tool_die("%s: mismatch at byte %" PRIu64 ": got 0x%02x, expected 0x%02x",
			    what, off + done + i, buf[done + i], want[i]);
		}
		done += n;
	}
}

static void
tclient_resolve(const char *host, const char *port, struct tclient_target *t)
{
	struct addrinfo hints, *res;
	char h[128];
	size_t hl;
	int rc;

	memset(t, 0, sizeof(*t));
	if (strncmp(host, "unix:", 5) == 0) {
		if (tool_unix_addr(host + 5, &t->ss, &t->len) == -1)
			tool_die("unix path too long: %s", host + 5);
		t->family = AF_UNIX;
		snprintf(t->name, sizeof(t->name), "%s", host);
		return;
	}
	hl = strlen(host);
	if (hl >= sizeof(h))
		tool_die("host too long: %s", host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memcpy(h, host + 1, hl - 2);
		h[hl - 2] = '\0';
	} else
		memcpy(h, host, hl + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(h, port, &hints, &res)) != 0)
		tool_die("bad address %s port %s: %s", host, port, gai_strerror(rc));
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->len = res->ai_addrlen;
	t->family = res->ai_family;
	snprintf(t->name, sizeof(t->name), t->family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, port);
	freeaddrinfo(res);
}

/* -b ADDRESS: the numeric source address every connection binds (port 0). */
static void
tclient_source(const char *addr)
{
	struct tclient_target t;

	tclient_resolve(addr, "0", &t);
	if (t.family == AF_UNIX)
		tool_die("-b needs an IPv4 or IPv6 address, got %s", addr);
	memcpy(&tclient_src, &t.ss, t.len);
	tclient_srclen = t.len;
}

/* Start a non-blocking connect; *pending is set while it is in progress. -1 + errno on failure. */
static int
tclient_connect_start(const struct tclient_target *t, int *pending)
{
	int fd, rc, saved, one = 1;

	if ((fd = tool_socket(t->family, SOCK_NONBLOCK)) == -1)
		return -1;
	if (tclient_srclen > 0 && t->family != AF_UNIX) {
		if (tclient_src.ss_family != t->family)
			tool_die("-b: the source and %s are not of the same family", t->name);
		/* The port comes with connect(): only the 4-tuple must be unique. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	}
	if ((tclient_srclen > 0 && t->family != AF_UNIX &&
	    bind(fd, (const struct sockaddr *)&tclient_src, tclient_srclen) == -1) ||
	    (rc = tool_connect(fd, &t->ss, t->len)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*pending = rc;
	return fd;
}

/* Connect and wait for it; -1 with errno set on failure. */
static int
tclient_dial(const struct tclient_target *t)
{
	struct pollfd pfd;
	int fd, pending, err;

	for (;;) {
		fd = tclient_connect_start(t, &pending);
		/* A full unix-socket backlog says EAGAIN instead of queueing us. */
		if (fd == -1 && errno == EAGAIN && t->family == AF_UNIX) {
			poll(NULL, 0, tclient_wait_ms(10, "connecting"));
			continue;
		}
		break;
	}
	if (fd == -1 || !pending)
		return fd;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	while (poll(&pfd, 1, tclient_wait_ms(-1, "connecting")) != 1)
		;
	if ((err = tool_sock_error(fd)) != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int
tclient_dial_or_die(const struct tclient_target *t)
{
	int fd = tclient_dial(t);

	if (fd == -1)
		tool_die("connect %s: %s", t->name, strerror(errno));
	return fd;
}

static const char *
tclient_eof_name(int err)
{
	return err == 0 ? "clean" : err == ECONNRESET ? "reset" : strerror(err);
}

/*
 * Stream `total` bytes of `seed` to an echo server and verify the echo,
 * reading whenever the socket is readable. chunk_seed != 0 makes every write
 * a pseudo-random size (1..64K) and yields to reading after each one; 0
 * writes as much as the socket takes. After the last byte the write side is
 * shut down; the server must then send the rest and a clean FIN.
 */
static void
tclient_stream(const char *what, int fd, uint64_t total, uint64_t seed, uint64_t chunk_seed)
{
	static uint8_t wbuf[TCLIENT_BUFSZ], rbuf[TCLIENT_BUFSZ];
	struct pollfd pfd;
	uint64_t sent = 0, recvd = 0, nchunk = 0;
	int shut = 0;
	ssize_t n;

	for (;;) {
		while (sent < total) {
			size_t len = TCLIENT_BUFSZ;

			if (chunk_seed != 0)
				len = 1 + tool_mix64(chunk_seed + nchunk) % TCLIENT_BUFSZ;
			if (len > total - sent)
				len = (size_t)(total - sent);
			tool_stream(seed, sent, wbuf, len);
			n = send(fd, wbuf, len, MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == -1)
				tool_die("%s: send after %" PRIu64 " bytes: %s", what, sent,
				    strerror(errno));
			sent += (uint64_t)n;
			nchunk++;
			if (chunk_seed != 0)
				break;
		}
		if (sent == total && !shut) {
			if (shutdown(fd, SHUT_WR) == -1)
				tool_die("%s: shutdown: %s", what, strerror(errno));
			shut = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, tclient_wait_ms(-1, what)) <= 0)
			continue;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1)
			tool_die("%s: receive after %" PRIu64 " of %" PRIu64 " bytes: eof=%s",
			    what, recvd, total, tclient_eof_name(errno));
		if (n == 0) {
			if (recvd < total)
				tool_die("%s: EOF after %" PRIu64 " of %" PRIu64 " bytes",
				    what, recvd, total);
			return;
		}
		if (recvd + (uint64_t)n > total)
			tool_die("%s: %" PRIu64 " bytes more than sent", what,
			    recvd + (uint64_t)n - total);
		tclient_verify(what, seed, recvd, rbuf, (size_t)n);
		recvd += (uint64_t)n;
	}
}

static int
tclient_cmd_echo_bulk(int argc, char **argv)
{
	struct tclient_target t;
	uint64_t total, seed, t0, us;
	int fd;

	if (argc != 5)
		tclient_usage();
	tclient_resolve(argv[1], argv[2], &t);
	total = tclient_parse_num(argv[3], "byte count");
	seed = tclient_parse_num(argv[4], "seed");
	t0 = tool_now_us();
	fd = tclient_dial_or_die(&t);
	tclient_stream("echo-bulk", fd, total, seed, seed * 2 + 1);
	us = tool_now_us() - t0;
	close(fd);
	printf("echo-bulk: ok bytes=%" PRIu64 " ms=%" PRIu64 " mib_per_s=%.1f eof=clean\n",
	    total, us / 1000, us ? (double)total / (1024.0 * 1024.0) / ((double)us / 1e6) : 0.0);
	return TCLIENT_EX_OK;
}

/* How one echo-loop session ended. */
enum tclient_session_end {
	TCLIENT_SESS_OK,
	TCLIENT_SESS_REFUSED,	/* connect failed */
	TCLIENT_SESS_RESET,	/* send or receive failed (a reset) */
	TCLIENT_SESS_CUT,	/* a clean EOF before every byte came back */
	TCLIENT_SESS_COUNT
};

/*
 * One session: send `total` bytes of `seed`, shut down the write side, read
 * every byte back to a clean EOF. A wrong byte is fatal (tclient_verify);
 * anything else is returned, with what happened in `why`.
 */
static enum tclient_session_end
tclient_session(const struct tclient_target *t, uint64_t total, uint64_t seed, char *why,
    size_t whysize)
{
	static uint8_t wbuf[TCLIENT_BUFSZ], rbuf[TCLIENT_BUFSZ];
	enum tclient_session_end end = TCLIENT_SESS_OK;
	uint64_t sent = 0, recvd = 0;
	struct pollfd pfd;
	int fd, shut = 0;
	size_t len;
	ssize_t n;

	if ((fd = tclient_dial(t)) == -1) {
		snprintf(why, whysize, "connect: %s", strerror(errno));
		return TCLIENT_SESS_REFUSED;
	}
	for (;;) {
		while (sent < total) {
			len = total - sent < sizeof(wbuf) ? (size_t)(total - sent) : sizeof(wbuf);
			tool_stream(seed, sent, wbuf, len);
			n = send(fd, wbuf, len, MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == -1) {
				snprintf(why, whysize, "send after %" PRIu64 " bytes: %s", sent,
				    strerror(errno));
				end = TCLIENT_SESS_RESET;
				goto out;
			}
			sent += (uint64_t)n;
		}
		if (sent == total && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, tclient_wait_ms(-1, "echo-loop session")) <= 0 ||
		    !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1) {
			snprintf(why, whysize, "receive after %" PRIu64 " of %" PRIu64 " bytes: %s",
			    recvd, total, tclient_eof_name(errno));
			end = TCLIENT_SESS_RESET;
			goto out;
		}
		if (n == 0) {
			if (recvd < total) {
				snprintf(why, whysize, "clean EOF after %" PRIu64 " of %" PRIu64 " bytes",
				    recvd, total);
				end = TCLIENT_SESS_CUT;
			}
			goto out;
		}
		if (recvd + (uint64_t)n > total)
			tool_die("echo-loop: %" PRIu64 " bytes more than sent", recvd + (uint64_t)n - total);
		tclient_verify("echo-loop", seed, recvd, rbuf, (size_t)n);
		recvd += (uint64_t)n;
	}
out:
	close(fd);
	return end;
}

static int
tclient_cmd_echo_loop(int argc, char **argv)
{
	static const char *names[TCLIENT_SESS_COUNT] = { "ok", "refused", "reset", "cut" };
	struct tclient_target t;
	uint64_t bytes = 4096, seconds, t0, n = 0, count[TCLIENT_SESS_COUNT] = { 0 }, pause_ms = 0;
	enum tclient_session_end end;
	char why[160];
	int ch, i;

	while ((ch = getopt(argc, argv, "+b:i:")) != -1) {
		if (ch == 'b')
			bytes = tclient_parse_num(optarg, "byte count");
		else if (ch == 'i')
			pause_ms = tclient_parse_num(optarg, "interval");
		else
			tclient_usage();
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || bytes == 0)
		tclient_usage();
	tclient_resolve(argv[0], argv[1], &t);
	seconds = tclient_parse_num(argv[2], "seconds");
	/* The loop and its last session fit in the deadline. */
	if (tclient_deadline_ms < tool_now_ms() + seconds * 1000 + 10000)
		tclient_deadline_ms = tool_now_ms() + seconds * 1000 + 10000;
	t0 = tool_now_ms();
	printf("echo-loop: started\n");
	fflush(stdout);
	while (!tool_signalled && tool_now_ms() - t0 < seconds * 1000) {
		if (n > 0 && pause_ms > 0)
			poll(NULL, 0, tclient_wait_ms((int)pause_ms, "pausing"));
		end = tclient_session(&t, bytes, ++n, why, sizeof(why));
		count[end]++;
		/* The first few failures in full; the rest are only counted. */
		if (end != TCLIENT_SESS_OK && n - count[TCLIENT_SESS_OK] <= 10) {
			printf("echo-loop: session %" PRIu64 " %s: %s\n", n, names[end], why);
			fflush(stdout);
		}
	}
	printf("echo-loop: %s sessions=%" PRIu64 " bytes=%" PRIu64, count[TCLIENT_SESS_OK] == n ?
	    "ok" : "failed", n, bytes);
	for (i = 0; i < TCLIENT_SESS_COUNT; i++)
		printf(" %s=%" PRIu64, names[i], count[i]);
	printf(" ms=%" PRIu64 "\n", tool_now_ms() - t0);
	return count[TCLIENT_SESS_OK] == n ? TCLIENT_EX_OK : TCLIENT_EX_FAIL;
}

static int
tclient_cmd_halfclose(int argc, char **argv)
{
	struct tclient_target t;
	uint64_t total;
	int fd, err;
	char c;

	if (argc != 4)
		tclient_usage();
	tclient_resolve(argv[1], argv[2], &t);
	total = tclient_parse_num(argv[3], "byte count");
	fd = tclient_dial_or_die(&t);
	tclient_stream("halfclose", fd, total, 42, 0);
	/* After the FIN nothing else may arrive: no reset, no stray byte. */
	poll(NULL, 0, 100);
	if (recv(fd, &c, 1, MSG_DONTWAIT) != 0)
		tool_die("halfclose: after EOF: %s", errno == EAGAIN ? "no longer at EOF" :
		    tclient_eof_name(errno));
	if ((err = tool_sock_error(fd)) != 0)
		tool_die("halfclose: socket error after EOF: %s", strerror(err));
	close(fd);
	printf("halfclose: ok bytes=%" PRIu64 " eof=clean\n", total);
	return TCLIENT_EX_OK;
}

/* Open every connection of `peers` (at most 128 connects in progress at a time). */
static void
tclient_concurrent_open(const struct tclient_target *t, struct tclient_peer *peers, size_t n,
    struct pollfd *pfds)
{
	size_t started = 0, connected = 0, inflight, i;
	int pending, err;

	while (connected < n) {
		for (inflight = 0, i = 0; i < started; i++)
			if (!peers[i].connected)
				inflight++;
		while (started < n && inflight < 128) {
			peers[started].fd = tclient_connect_start(t, &pending);
			if (peers[started].fd == -1)
				tool_die("concurrent: connection %zu of %zu: %s", started + 1, n,
				    strerror(errno));
			if (!pending) {
				peers[started].connected = 1;
				connected++;
			} else
				inflight++;
			started++;
		}
		for (i = 0; i < started; i++) {
			pfds[i].fd = peers[i].connected ? -1 : peers[i].fd;
			pfds[i].events = POLLOUT;
			pfds[i].revents = 0;
		}
		if (poll(pfds, started, tclient_wait_ms(-1, "opening connections")) <= 0)
			continue;
		for (i = 0; i < started; i++) {
			if (peers[i].connected || pfds[i].revents == 0)
				continue;
			if ((err = tool_sock_error(peers[i].fd)) != 0)
				tool_die("concurrent: connection %zu: %s", i + 1, strerror(err));
			peers[i].connected = 1;
			connected++;
		}
	}
}

/* One echo round trip of `size` bytes on every connection, all at once. */
static void
tclient_concurrent_echo(struct tclient_peer *peers, size_t n, size_t size, struct pollfd *pfds)
{
	uint8_t buf[TCLIENT_BUFSZ];
	size_t done = 0, i, len;
	ssize_t r;

	while (done < n) {
		for (i = 0; i < n; i++) {
			pfds[i].fd = peers[i].done ? -1 : peers[i].fd;
			pfds[i].events = POLLIN | (peers[i].sent < size ? POLLOUT : 0);
			pfds[i].revents = 0;
		}
		if (poll(pfds, n, tclient_wait_ms(-1, "waiting for echoes")) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			struct tclient_peer *p = &peers[i];

			if ((pfds[i].revents & POLLOUT) && p->sent < size) {
				len = size - p->sent < sizeof(buf) ? size - p->sent : sizeof(buf);
				tool_stream(i + 1, p->sent, buf, len);
				r = send(p->fd, buf, len, MSG_NOSIGNAL);
				if (r == -1 && errno != EAGAIN && errno != EINTR)
					tool_die("concurrent: connection %zu: send: %s", i + 1,
					    strerror(errno));
				if (r > 0)
					p->sent += (size_t)r;
			}
			if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(p->fd, buf, sizeof(buf), 0);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				tool_die("concurrent: connection %zu: closed after %zu of %zu bytes: eof=%s",
				    i + 1, p->recvd, size, r == 0 ? "clean" : tclient_eof_name(errno));
			if (p->recvd + (size_t)r > size)
				tool_die("concurrent: connection %zu: more bytes than sent", i + 1);
			tclient_verify("concurrent", i + 1, p->recvd, buf, (size_t)r);
			p->recvd += (size_t)r;
			if (p->recvd == size) {
				p->done = 1;
				done++;
			}
		}
	}
}

static int
tclient_cmd_concurrent(int argc, char **argv)
{
	struct tclient_target t;
	struct tclient_peer *peers;
	struct pollfd *pfds;
	uint64_t t0, t1, t2;
	size_t n, size, i;

	if (argc != 5)
		tclient_usage();
	tclient_resolve(argv[1], argv[2], &t);
	n = tclient_parse_num(argv[3], "connection count");
	size = tclient_parse_num(argv[4], "message size");
	if (n == 0 || size == 0)
		tool_die("concurrent: N and MSGSIZE must be positive");
	tool_raise_nofile(n + 64);
	if ((peers = calloc(n, sizeof(*peers))) == NULL || (pfds = calloc(n, sizeof(*pfds))) == NULL)
		tool_die("out of memory");
	t0 = tool_now_ms();
	tclient_concurrent_open(&t, peers, n, pfds);
	t1 = tool_now_ms();
	tclient_concurrent_echo(peers, n, size, pfds);
	t2 = tool_now_ms();
	/* Every connection stayed open until all had their echo: they were served at once. */
	for (i = 0; i < n; i++)
		close(peers[i].fd);
	printf("concurrent: ok connections=%zu msgsize=%zu connect_ms=%" PRIu64 " echo_ms=%" PRIu64 "\n",
	    n, size, t1 - t0, t2 - t1);
	free(pfds);
	free(peers);
	return TCLIENT_EX_OK;
}

/* Send up to `total` bytes without reading; stop when no progress for a second. */
static uint64_t
tclient_flood_send(int fd, uint64_t total, int *stalled)
{
	static uint8_t buf[TCLIENT_BUFSZ];
	struct pollfd pfd;
	uint64_t sent = 0;
	ssize_t n;
	size_t len;

	*stalled = 0;
	while (sent < total) {
		len = total - sent < sizeof(buf) ? (size_t)(total - sent) : sizeof(buf);
		tool_stream(1, sent, buf, len);
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			tool_die("flood: send after %" PRIu64 " bytes: %s", sent, strerror(errno));
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, tclient_wait_ms(1000, "flooding")) == 0) {
			*stalled = 1;
			break;
		}
	}
	return sent;
}

/* Read everything until EOF, checking it is a prefix of what was sent. */
static void
tclient_flood_drain(int fd, uint64_t sent)
{
	static uint8_t buf[TCLIENT_BUFSZ];
	struct pollfd pfd;
	uint64_t recvd = 0;
	ssize_t n;
	int err = 0;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, tclient_wait_ms(-1, "reading the echo")) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1)
			err = errno;
		if (n <= 0)
			break;
		if (recvd + (uint64_t)n > sent)
			tool_die("flood: received more than sent");
		tclient_verify("flood", 1, recvd, buf, (size_t)n);
		recvd += (uint64_t)n;
	}
	printf("flood: received=%" PRIu64 " eof=%s\n", recvd, tclient_eof_name(err));
}

static int
tclient_cmd_flood(int argc, char **argv)
{
	struct tclient_target t;
	struct pollfd pfd;
	uint64_t total, sent, hold_ms, t0, el;
	int fd, ch, drain = 0, stalled;

	while ((ch = getopt(argc, argv, "+r")) != -1) {
		if (ch != 'r')
			tclient_usage();
		drain = 1;
	}
	argc -= optind;
	argv += optind;
	if (argc != 4)
		tclient_usage();
	tclient_resolve(argv[0], argv[1], &t);
	total = tclient_parse_num(argv[2], "byte count");
	hold_ms = tclient_parse_num(argv[3], "hold seconds") * 1000;
	fd = tclient_dial_or_die(&t);
	sent = tclient_flood_send(fd, total, &stalled);
	printf("flood: sent=%" PRIu64 " stalled=%s\n", sent, stalled ? "yes" : "no");
	fflush(stdout);
	/*
	 * Hold without reading, for HOLD s or until SIGUSR1; poll with no events
	 * still reports a reset. Short slices bound the wait for a signal that
	 * lands just before poll.
	 */
	t0 = tool_now_ms();
	while (!tool_signalled && (el = tool_now_ms() - t0) < hold_ms) {
		pfd.fd = fd;
		pfd.events = 0;
		if (poll(&pfd, 1, tclient_wait_ms(hold_ms - el < 100 ? (int)(hold_ms - el) : 100,
		    "holding")) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
			break;
	}
	if (drain) {
		/* The rest of what was sent is still owed, then the server's FIN. */
		if (shutdown(fd, SHUT_WR) == -1)
			tool_die("flood: shutdown: %s", strerror(errno));
		tclient_flood_drain(fd, sent);
	}
	close(fd);
	return TCLIENT_EX_OK;
}

/* Send msg and wait until exactly it comes back; -1 if nothing came by `until_ms`. */
static int
tclient_roundtrip(int fd, const char *msg, size_t len, const char *what, uint64_t until_ms)
{
	char buf[256];
	size_t got = 0;
	struct pollfd pfd;
	uint64_t now;
	ssize_t n;

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		tool_die("%s: send: %s", what, strerror(errno));
	while (got < len) {
		if ((now = tool_now_ms()) >= until_ms)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, tclient_wait_ms((int)(until_ms - now), what)) <= 0)
			continue;
		n = recv(fd, buf + got, len - got, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			tool_die("%s: connection closed: eof=%s", what,
			    n == 0 ? "clean" : tclient_eof_name(errno));
		got += (size_t)n;
	}
	if (memcmp(buf, msg, len) != 0)
		tool_die("%s: echo mismatch: sent '%.*s' got '%.*s'", what, (int)len - 1, msg,
		    (int)len - 1, buf);
	return 0;
}

static int
tclient_cmd_rtt(int argc, char **argv)
{
	struct tclient_target t;
	uint64_t *lat, count, i, interval_ms = 0, t0;
	char msg[32];
	int fd, ch, len;

	while ((ch = getopt(argc, argv, "+i:")) != -1) {
		if (ch != 'i')
			tclient_usage();
		interval_ms = tclient_parse_num(optarg, "interval");
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		tclient_usage();
	tclient_resolve(argv[0], argv[1], &t);
	count = tclient_parse_num(argv[2], "count");
	if (count == 0)
		tool_die("rtt: COUNT must be positive");
	if ((lat = calloc(count, sizeof(*lat))) == NULL)
		tool_die("out of memory");
	fd = tclient_dial_or_die(&t);
	for (i = 0; i < count; i++) {
		if (i > 0 && interval_ms > 0)
			poll(NULL, 0, tclient_wait_ms((int)interval_ms, "sleeping"));
		len = snprintf(msg, sizeof(msg), "rtt %010" PRIu64 " pad\n", i);
		t0 = tool_now_us();
		if (tclient_roundtrip(fd, msg, (size_t)len, "rtt", tclient_deadline_ms) == -1)
			tool_die("rtt: no echo of round trip %" PRIu64 " within %d s", i,
			    tclient_timeout_s);
		lat[i] = tool_now_us() - t0;
	}
	close(fd);
	qsort(lat, count, sizeof(*lat), tool_cmp_u64);
	printf("rtt: ok count=%" PRIu64 " p50_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
	    count, lat[count / 2], lat[count * 99 / 100], lat[count - 1]);
	free(lat);
	return TCLIENT_EX_OK;
}

/* Wait up to ms for the peer to close; never reads pending data. Returns 1 if it closed. */
static int
tclient_wait_close(int fd, uint64_t ms, int *err)
{
	struct pollfd pfd;
	uint64_t t0 = tool_now_ms(), el;

	*err = 0;
	while ((el = tool_now_ms() - t0) < ms) {
		pfd.fd = fd;
		pfd.events = POLLRDHUP;
		if (poll(&pfd, 1, tclient_wait_ms((int)(ms - el), "holding")) != 1)
			continue;
		if (pfd.revents & (POLLERR | POLLHUP | POLLRDHUP)) {
			*err = tool_sock_error(fd);
			return 1;
		}
	}
	return 0;
}

static int
tclient_cmd_hold(int argc, char **argv)
{
	struct tclient_target t;
	uint64_t hold_ms, t0, el;
	int fd, ch, ping = 0, quit = 0, err;

	while ((ch = getopt(argc, argv, "+eq")) != -1) {
		if (ch == 'e')
			ping = 1;
		else if (ch == 'q')
			quit = 1;
		else
			tclient_usage();
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		tclient_usage();
	tclient_resolve(argv[0], argv[1], &t);
	hold_ms = tclient_parse_num(argv[2], "seconds") * 1000;
	/* The whole hold fits in the deadline. */
	if (tclient_deadline_ms < tool_now_ms() + hold_ms + 5000)
		tclient_deadline_ms = tool_now_ms() + hold_ms + 5000;
	fd = tclient_dial_or_die(&t);
	t0 = tool_now_ms();
	printf("hold: connected\n");
	fflush(stdout);
	if (ping) {
		/* No answer within SECONDS is the result some tests wait for. */
		if (tclient_roundtrip(fd, TCLIENT_PING, strlen(TCLIENT_PING), "hold", t0 + hold_ms) == -1) {
			printf("hold: no-answer after_ms=%" PRIu64 "\n", tool_now_ms() - t0);
			close(fd);
			return TCLIENT_EX_FAIL;
		}
		printf("hold: answered after_ms=%" PRIu64 "\n", tool_now_ms() - t0);
		fflush(stdout);
		if (quit) {
			close(fd);
			return TCLIENT_EX_OK;
		}
	}
	el = tool_now_ms() - t0;
	if (el < hold_ms && tclient_wait_close(fd, hold_ms - el, &err)) {
		printf("hold: peer-closed after_ms=%" PRIu64 " eof=%s\n", tool_now_ms() - t0,
		    tclient_eof_name(err));
		close(fd);
		return TCLIENT_EX_OK;
	}
	printf("hold: held ms=%" PRIu64 "\n", tool_now_ms() - t0);
	close(fd);
	return TCLIENT_EX_OK;
}

static int
tclient_cmd_connect(int argc, char **argv)
{
	struct tclient_target t;
	int fd;

	if (argc != 3)
		tclient_usage();
	tclient_resolve(argv[1], argv[2], &t);
	if ((fd = tclient_dial(&t)) == -1) {
		printf("connect: %s: %s\n", t.name, strerror(errno));
		return errno == ECONNREFUSED || errno == ENOENT ? TCLIENT_EX_REFUSED : TCLIENT_EX_FAIL;
	}
	printf("connect: %s: connected\n", t.name);
	close(fd);
	return TCLIENT_EX_OK;
}

/*
 * After the server's FIN, Linux reports EOF even if a reset follows (a server
 * that closed with our bytes unread, or that our bytes reached after it
 * closed). Such a reset only shows in SO_ERROR: wait for it briefly.
 */
static const char *
tclient_fetch_after_fin(int fd)
{
	poll(NULL, 0, tclient_wait_ms(100, "checking for a reset"));
	return tool_sock_error(fd) == 0 ? "clean" : "reset-after-fin";
}

static int
tclient_cmd_fetch(int argc, char **argv)
{
	static uint8_t buf[TCLIENT_BUFSZ];
	struct tclient_target t;
	const char *data = NULL;
	uint64_t nrand = 0, sendlen, sent = 0, max, got = 0, wait_ms = 0;
	struct pollfd pfd;
	int fd, ch, shut = 0, shut_done = 0, send_err = 0, err = 0, waited = 0;
	const char *end = "limit";
	ssize_t n;

	while ((ch = getopt(argc, argv, "+sd:n:w:")) != -1) {
		switch (ch) {
		case 's': shut = 1; break;
		case 'w': wait_ms = tclient_parse_num(optarg, "wait"); break;
		case 'd': data = optarg; break;
		case 'n': nrand = tclient_parse_num(optarg, "byte count"); break;
		default: tclient_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || (data != NULL && nrand != 0))
		tclient_usage();
	tclient_resolve(argv[0], argv[1], &t);
	max = tclient_parse_num(argv[2], "maximum");
	sendlen = data != NULL ? strlen(data) : nrand;
	fd = tclient_dial_or_die(&t);
	while (got < max) {
		/* Send before reading, as a client that talks first would. */
		while (sent < sendlen && !send_err) {
			size_t len = sendlen - sent < sizeof(buf) ? (size_t)(sendlen - sent) : sizeof(buf);
			uint8_t wb[TCLIENT_BUFSZ];

			if (data != NULL)
				memcpy(wb, data + sent, len);
			else
				tool_stream(7, sent, wb, len);
			n = send(fd, wb, len, MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == -1)
				send_err = errno;
			else
				sent += (uint64_t)n;
		}
		if (shut && sent == sendlen && !shut_done) {
			shutdown(fd, SHUT_WR);
			shut_done = 1;
		}
		/* -w: let the server act on what was sent before reading anything. */
		if (wait_ms > 0 && !waited) {
			poll(NULL, 0, tclient_wait_ms((int)wait_ms, "waiting"));
			waited = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < sendlen && !send_err ? POLLOUT : 0);
		if (poll(&pfd, 1, tclient_wait_ms(-1, "fetching")) <= 0)
			continue;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, buf, max - got < sizeof(buf) ? (size_t)(max - got) : sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			err = n == 0 ? 0 : errno;
			end = tclient_eof_name(err);
			if (n == 0 && sendlen > 0)
				end = tclient_fetch_after_fin(fd);
			break;
		}
		if (tool_write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
			tool_die_errno("write to stdout");
		got += (uint64_t)n;
	}
	fprintf(stderr, "fetch: sent=%" PRIu64 " received=%" PRIu64 " eof=%s%s%s\n", sent, got, end,
	    send_err ? " send_error=" : "", send_err ? strerror(send_err) : "");
	close(fd);
	return TCLIENT_EX_OK;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "echo-bulk", tclient_cmd_echo_bulk },
		{ "halfclose", tclient_cmd_halfclose },
		{ "concurrent", tclient_cmd_concurrent },
		{ "echo-loop", tclient_cmd_echo_loop },
		{ "flood", tclient_cmd_flood },
		{ "rtt", tclient_cmd_rtt },
		{ "hold", tclient_cmd_hold },
		{ "connect", tclient_cmd_connect },
		{ "fetch", tclient_cmd_fetch },
	};
	size_t i;
	int ch;

	tool_init("tclient", TCLIENT_EX_FAIL);
	while ((ch = getopt(argc, argv, "+T:b:h")) != -1) {
		if (ch == 'T')
			tclient_timeout_s = (int)tclient_parse_num(optarg, "timeout");
		else if (ch == 'b')
			tclient_source(optarg);
		else
			tclient_usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		tclient_usage();
	signal(SIGPIPE, SIG_IGN);
	/* SIGUSR1: stop holding (flood). */
	tool_catch(SIGUSR1);
	tclient_deadline_ms = tool_now_ms() + (uint64_t)tclient_timeout_s * 1000;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name) == 0) {
			optind = 0;	/* glibc: restart option parsing for the subcommand */
			return cmds[i].fn(argc, argv);
		}
	}
	tclient_usage();
}
