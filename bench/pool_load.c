/*
 * pool_load: keeps echod's worker pool busy through the command service.
 *
 * Single-threaded, non-blocking, one epoll loop. Each connection keeps
 * --window commands in flight (pipelined), alternating `SLEEP <ms>` and
 * `DIGEST sha256 <text>` (or only one kind when the other is disabled), and
 * sends the next command as soon as a reply comes back. Replies come back in
 * request order, so each one is checked against the command it answers:
 * `+OK slept <ms> ms`, or `+OK <hex>` with the SHA-256 of the text computed
 * here with OpenSSL. `-ERR busy` (job queue full) is counted, and that
 * connection waits 10 ms before it sends again, so a full queue does not turn
 * into a flood of rejected commands on the server's event loop.
 *
 * Once every connection is open and has sent its first window it prints
 * `ready conns=N` on stdout; at the end (duration elapsed, SIGTERM or SIGINT)
 * one key=value summary line on stdout and a human summary on stderr; then
 * it resets its connections so echod cancels their queued jobs. Exit status
 * 0 only with no errors (busy replies are not errors).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tool.h"

#define POOL_LOAD_TEXTS		8	/* distinct DIGEST texts */
#define POOL_LOAD_MAX_WINDOW	64	/* echod's default max_pending */
#define POOL_LOAD_BUSY_PAUSE	10000000ULL	/* ns a connection waits after -ERR busy */
#define POOL_LOAD_RXBUF		4096
#define POOL_LOAD_MAX_ERRLOG	5

enum pool_load_kind {
	POOL_LOAD_SLEEP,
	POOL_LOAD_DIGEST
};

struct pool_load_conn {
	int			 fd;
	int			 connected;
	int			 dead;
	uint32_t		 events;
	unsigned		 index;
	uint64_t		 seq;		/* commands sent so far */
	uint64_t		 paused_until;	/* after -ERR busy */
	/* Commands in flight, oldest first (a ring of `window` entries). */
	enum pool_load_kind	 kind[POOL_LOAD_MAX_WINDOW];
	unsigned		 text[POOL_LOAD_MAX_WINDOW];
	uint64_t		 sent_at[POOL_LOAD_MAX_WINDOW];
	unsigned		 head;
	unsigned		 inflight;
	/* Bytes not yet taken by the kernel. */
	char			*out;
	size_t			 outlen;
	size_t			 outcap;
	/* Partial reply line. */
	char			 line[256];
	size_t			 linelen;
	int			 overlong;
};

struct pool_load_stat {
	uint64_t		 ok;
	uint64_t		 latency_sum;	/* ns, sent to reply */
	uint64_t		 latency_max;
};

struct pool_load {
	struct sockaddr_storage	 target;
	socklen_t		 target_len;
	char			 target_str[128];
	unsigned		 conns;
	unsigned		 window;
	unsigned		 sleep_ms;	/* 0: no SLEEP commands */
	size_t			 digest_size;	/* 0: no DIGEST commands */
	double			 duration;

	int			 epfd;
	struct pool_load_conn	*slots;
	char			*texts[POOL_LOAD_TEXTS];
	char			 hex[POOL_LOAD_TEXTS][2 * EVP_MAX_MD_SIZE + 1];
	char			 slept[64];

	uint64_t		 t_begin;
	unsigned		 connected;
	int			 ready;
	uint64_t		 sent;
	uint64_t		 busy;
	uint64_t		 timeouts;
	uint64_t		 errors;
	uint64_t		 connect_errors;
	struct pool_load_stat	 stat[2];
};

static void __attribute__((noreturn))
pool_load_usage(void)
{
	fprintf(stderr,
	    "usage: pool_load [options] HOST:PORT\n"
	    "  -c, --connections N   connections to the command listener (default 50)\n"
	    "  -W, --window N        commands in flight per connection, 1 to 64 (default 2)\n"
	    "  -m, --sleep-ms N      SLEEP argument in ms, 0 for no SLEEP (default 200)\n"
	    "  -s, --digest-size N   DIGEST sha256 text size, 0 for no DIGEST (default 4096)\n"
	    "  -d, --duration SEC    stop after this long (default 10; also on SIGTERM)\n"
	    "HOST must be a loopback address (127.0.0.0/8 or ::1). The command\n"
	    "listener's max_line must exceed the DIGEST line (size + 16 bytes).\n");
	exit(2);
}

static void
pool_load_options(struct pool_load *pl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'W' },
		{ "sleep-ms", required_argument, NULL, 'm' },
		{ "digest-size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	pl->conns = 50;
	pl->window = 2;
	pl->sleep_ms = 200;
	pl->digest_size = 4096;
	pl->duration = 10;
	while ((ch = getopt_long(argc, argv, "c:W:m:s:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			pl->conns = (unsigned)tool_uint_arg(optarg, "connections", 1, 10000);
			break;
		case 'W':
			pl->window = (unsigned)tool_uint_arg(optarg, "window", 1,
			    POOL_LOAD_MAX_WINDOW);
			break;
		case 'm':
			pl->sleep_ms = (unsigned)tool_uint_arg(optarg, "sleep-ms", 0, 3600000);
			break;
		case 's':
			pl->digest_size = tool_uint_arg(optarg, "digest-size", 0, 1 << 20);
			break;
		case 'd':
			if (tool_parse_double(optarg, 0, 86400, &pl->duration) == -1 ||
			    pl->duration <= 0)
				tool_die("bad duration: %s", optarg);
			break;
		default:
			pool_load_usage();
		}
	}
	if (optind + 1 != argc)
		pool_load_usage();
	if (tool_parse_loopback(argv[optind], &pl->target, &pl->target_len) != 0)
		tool_die("%s: not a loopback HOST:PORT", argv[optind]);
	snprintf(pl->target_str, sizeof pl->target_str, "%s", argv[optind]);
	if (pl->sleep_ms == 0 && pl->digest_size == 0)
		tool_die("both SLEEP and DIGEST disabled: nothing to send");
}

/* Deterministic texts (letters and digits only: no telnet IAC, no line end,
 * no leading or trailing space) and their SHA-256 in lower-case hex. */
static void
pool_load_texts(struct pool_load *pl)
{
	static const char	 alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned		 t, n, i;
	uint32_t		 x;
	size_t			 j;

	snprintf(pl->slept, sizeof pl->slept, "+OK slept %u ms", pl->sleep_ms);
	if (pl->digest_size == 0)
		return;
	for (t = 0; t < POOL_LOAD_TEXTS; t++) {
		if ((pl->texts[t] = malloc(pl->digest_size)) == NULL)
			tool_die("out of memory");
		x = 2654435761U * (t + 1);
		for (j = 0; j < pl->digest_size; j++) {
			x = x * 1103515245U + 12345U;
			pl->texts[t][j] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
		}
		if (EVP_Digest(pl->texts[t], pl->digest_size, md, &n, EVP_sha256(), NULL) != 1)
			tool_die("EVP_Digest sha256 failed");
		for (i = 0; i < n; i++)
			snprintf(pl->hex[t] + 2 * i, 3, "%02x", md[i]);
	}
}

static void
pool_load_error(struct pool_load *pl, struct pool_load_conn *c, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (pl->errors++ < POOL_LOAD_MAX_ERRLOG) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		tool_warn("conn %u: %s", c->index, msg);
	}
}

static void
pool_load_close(struct pool_load *pl, struct pool_load_conn *c)
{
	if (c->fd == -1)
		return;
	epoll_ctl(pl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->dead = 1;
}

static void
pool_load_want(struct pool_load *pl, struct pool_load_conn *c, uint32_t events)
{
	if (c->fd == -1 || c->events == events)
		return;
	if (tool_epoll_ctl(pl->epfd, EPOLL_CTL_MOD, c->fd, events, c) == -1)
		tool_die_errno("epoll_ctl");
	c->events = events;
}

static void
pool_load_append(struct pool_load_conn *c, const char *data, size_t len)
{
	size_t	need = c->outlen + len;

	if (need > c->outcap) {
		c->outcap = need * 2;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			tool_die("out of memory");
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
}

/* Write what the kernel takes; wait for EPOLLOUT for the rest. */
static void
pool_load_flush(struct pool_load *pl, struct pool_load_conn *c)
{
	ssize_t	n;

	while (c->outlen > 0) {
		n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			pool_load_error(pl, c, "send: %s", strerror(errno));
			pool_load_close(pl, c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	pool_load_want(pl, c, EPOLLIN | (c->outlen > 0 ? EPOLLOUT : 0));
}

/* Queue the connection's next command: SLEEP and DIGEST alternate. */
static void
pool_load_send_one(struct pool_load *pl, struct pool_load_conn *c, uint64_t now)
{
	enum pool_load_kind	 kind;
	unsigned		 slot, text = 0;
	char			 hdr[64];
	int			 n;

	if (pl->sleep_ms == 0)
		kind = POOL_LOAD_DIGEST;
	else if (pl->digest_size == 0)
		kind = POOL_LOAD_SLEEP;
	else
		kind = c->seq % 2 == 0 ? POOL_LOAD_SLEEP : POOL_LOAD_DIGEST;
	if (kind == POOL_LOAD_SLEEP) {
		n = snprintf(hdr, sizeof hdr, "SLEEP %u\r\n", pl->sleep_ms);
		pool_load_append(c, hdr, (size_t)n);
	} else {
		text = (unsigned)((c->index + c->seq / 2) % POOL_LOAD_TEXTS);
		pool_load_append(c, "DIGEST sha256 ", 14);
		pool_load_append(c, pl->texts[text], pl->digest_size);
		pool_load_append(c, "\r\n", 2);
	}
	slot = (c->head + c->inflight) % pl->window;
	c->kind[slot] = kind;
	c->text[slot] = text;
	c->sent_at[slot] = now;
	c->inflight++;
	c->seq++;
	pl->sent++;
}

static void
pool_load_fill(struct pool_load *pl, struct pool_load_conn *c, uint64_t now)
{
	if (c->fd == -1 || !c->connected || now < c->paused_until)
		return;
	while (c->inflight < pl->window)
		pool_load_send_one(pl, c, now);
	pool_load_flush(pl, c);
}

/* One reply line, CR stripped: check it against the oldest command in flight. */
static void
pool_load_reply(struct pool_load *pl, struct pool_load_conn *c, const char *line,
    uint64_t now)
{
	struct pool_load_stat	*st;
	enum pool_load_kind	 kind;
	unsigned		 text;
	uint64_t		 lat;
	int			 good;

	if (c->inflight == 0) {
		pool_load_error(pl, c, "reply with no command in flight: %.60s", line);
		pool_load_close(pl, c);
		return;
	}
	kind = c->kind[c->head];
	text = c->text[c->head];
	lat = now - c->sent_at[c->head];
	c->head = (c->head + 1) % pl->window;
	c->inflight--;
	if (strcmp(line, "-ERR busy") == 0) {
		pl->busy++;
		c->paused_until = now + POOL_LOAD_BUSY_PAUSE;
		return;
	}
	if (strcmp(line, "-ERR timeout") == 0) {
		pl->timeouts++;
		return;
	}
	if (kind == POOL_LOAD_SLEEP)
		good = strcmp(line, pl->slept) == 0;
	else
		good = strncmp(line, "+OK ", 4) == 0 && strcmp(line + 4, pl->hex[text]) == 0;
	if (!good) {
		pool_load_error(pl, c, "unexpected reply to %s: %.80s",
		    kind == POOL_LOAD_SLEEP ? "SLEEP" : "DIGEST", line);
		return;
	}
	st = &pl->stat[kind];
	st->ok++;
	st->latency_sum += lat;
	if (lat > st->latency_max)
		st->latency_max = lat;
}

static void
pool_load_read(struct pool_load *pl, struct pool_load_conn *c, uint64_t now)
{
	char	buf[POOL_LOAD_RXBUF];
	ssize_t	n, i;

	for (;;) {
		n = recv(c->fd, buf, sizeof buf, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (!tool_signalled)
				pool_load_error(pl, c, "%s", n == 0 ? "server closed the connection" :
				    strerror(errno));
			pool_load_close(pl, c);
			return;
		}
		for (i = 0; i < n && c->fd != -1; i++) {
			if (buf[i] != '\n') {
				if (c->linelen < sizeof c->line - 1)
					c->line[c->linelen++] = buf[i];
				else
					c->overlong = 1;
				continue;
			}
			if (c->linelen > 0 && c->line[c->linelen - 1] == '\r')
				c->linelen--;
			c->line[c->linelen] = '\0';
			if (c->overlong)
				pool_load_error(pl, c, "overlong reply line");
			else
				pool_load_reply(pl, c, c->line, now);
			c->linelen = 0;
			c->overlong = 0;
		}
		if (c->fd == -1)
			return;
	}
	pool_load_fill(pl, c, now);
}

static void
pool_load_connect_all(struct pool_load *pl)
{
	struct pool_load_conn	*c;
	unsigned		 i;

	for (i = 0; i < pl->conns; i++) {
		c = &pl->slots[i];
		c->index = i;
		c->fd = tool_socket(pl->target.ss_family, SOCK_NONBLOCK);
		if (c->fd == -1)
			tool_die_errno("socket");
		if (tool_connect(c->fd, &pl->target, pl->target_len) == -1) {
			pl->connect_errors++;
			close(c->fd);
			c->fd = -1;
			c->dead = 1;
			continue;
		}
		if (tool_epoll_ctl(pl->epfd, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c) == -1)
			tool_die_errno("epoll_ctl");
		c->events = EPOLLOUT;
	}
}

static void
pool_load_connected(struct pool_load *pl, struct pool_load_conn *c, uint64_t now)
{
	if (tool_sock_error(c->fd) != 0) {
		pl->connect_errors++;
		pool_load_close(pl, c);
		return;
	}
	c->connected = 1;
	pl->connected++;
	pool_load_fill(pl, c, now);
}

static void
pool_load_event(struct pool_load *pl, struct pool_load_conn *c, uint32_t events, uint64_t now)
{
	if (c->fd == -1)
		return;
	if (!c->connected) {
		pool_load_connected(pl, c, now);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		pool_load_read(pl, c, now);
	if (c->fd != -1 && (events & EPOLLOUT))
		pool_load_flush(pl, c);
}

/* Connections paused by -ERR busy resume here. */
static void
pool_load_resume(struct pool_load *pl, uint64_t now)
{
	struct pool_load_conn	*c;
	unsigned		 i;

	if (pl->busy == 0)
		return;
	for (i = 0; i < pl->conns; i++) {
		c = &pl->slots[i];
		if (c->paused_until != 0 && now >= c->paused_until) {
			c->paused_until = 0;
			pool_load_fill(pl, c, now);
		}
	}
}

static void
pool_load_run(struct pool_load *pl)
{
	struct epoll_event	 evs[256];
	uint64_t		 end, now;
	int			 n, i, timeout;

	pl->t_begin = tool_now_ns();
	end = pl->t_begin + (uint64_t)(pl->duration * 1e9);
	pool_load_connect_all(pl);
	while (!tool_signalled && (now = tool_now_ns()) < end) {
		if (!pl->ready && pl->connected + pl->connect_errors == pl->conns) {
			pl->ready = 1;
			printf("ready conns=%u connect_errors=%" PRIu64 "\n", pl->connected,
			    pl->connect_errors);
			fflush(stdout);
		}
		timeout = (int)((end - now) / 1000000) + 1;
		if (pl->busy > 0 && timeout > 10)
			timeout = 10;
		n = epoll_wait(pl->epfd, evs, 256, timeout);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			tool_die_errno("epoll_wait");
		now = tool_now_ns();
		for (i = 0; i < n; i++)
			pool_load_event(pl, evs[i].data.ptr, evs[i].events, now);
		pool_load_resume(pl, now);
	}
}

/*
 * Reset every connection: a plain close is a half-close to echod, which
 * then still answers every command already received (minutes of SLEEPs);
 * a reset makes it drop the connection and cancel its queued jobs.
 */
static void
pool_load_abort_all(struct pool_load *pl)
{
	struct linger	lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned	i;

	for (i = 0; i < pl->conns; i++) {
		if (pl->slots[i].fd == -1)
			continue;
		setsockopt(pl->slots[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		pool_load_close(pl, &pl->slots[i]);
	}
}

static void
pool_load_report(struct pool_load *pl)
{
	struct pool_load_stat	*s = &pl->stat[POOL_LOAD_SLEEP], *d = &pl->stat[POOL_LOAD_DIGEST];
	double			 secs = (double)(tool_now_ns() - pl->t_begin) / 1e9;
	uint64_t		 inflight = 0;
	unsigned		 i, dead = 0;

	for (i = 0; i < pl->conns; i++) {
		inflight += pl->slots[i].inflight;
		dead += pl->slots[i].dead;
	}
	printf("mode=pool_load target=%s conns=%u window=%u sleep_ms=%u digest_size=%zu "
	    "elapsed_s=%.3f sent=%" PRIu64 " sleep_ok=%" PRIu64 " digest_ok=%" PRIu64
	    " busy=%" PRIu64 " timeouts=%" PRIu64 " errors=%" PRIu64 " connect_errors=%" PRIu64
	    " dead=%u inflight_end=%" PRIu64 " jobs_per_s=%.1f sleep_mean_ms=%.1f"
	    " sleep_max_ms=%.1f digest_mean_ms=%.1f digest_max_ms=%.1f\n",
	    pl->target_str, pl->conns, pl->window, pl->sleep_ms, pl->digest_size, secs,
	    pl->sent, s->ok, d->ok, pl->busy, pl->timeouts, pl->errors, pl->connect_errors,
	    dead, inflight, secs > 0 ? (double)(s->ok + d->ok) / secs : 0,
	    s->ok ? (double)s->latency_sum / (double)s->ok / 1e6 : 0,
	    (double)s->latency_max / 1e6,
	    d->ok ? (double)d->latency_sum / (double)d->ok / 1e6 : 0,
	    (double)d->latency_max / 1e6);
	fflush(stdout);
	fprintf(stderr, "pool_load %s: %u conns x %u in flight, %.1f s: %" PRIu64 " SLEEP %u ok, %"
	    PRIu64 " DIGEST ok, %" PRIu64 " busy, %" PRIu64 " timed out, %" PRIu64 " errors, %"
	    PRIu64 " connect errors\n", pl->target_str, pl->conns, pl->window, secs, s->ok,
	    pl->sleep_ms, d->ok, pl->busy, pl->timeouts, pl->errors, pl->connect_errors);
}

int
main(int argc, char **argv)
{
	struct pool_load	 pl;

	tool_init("pool_load", 2);
	memset(&pl, 0, sizeof pl);
	pool_load_options(&pl, argc, argv);
	pool_load_texts(&pl);

	tool_catch(SIGINT);
	tool_catch(SIGTERM);
	signal(SIGPIPE, SIG_IGN);

	if ((pl.slots = calloc(pl.conns, sizeof *pl.slots)) == NULL)
		tool_die("out of memory");
	if ((pl.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		tool_die_errno("epoll_create1");
	pool_load_run(&pl);
	pool_load_report(&pl);
	pool_load_abort_all(&pl);
	return pl.errors == 0 && pl.connect_errors == 0 ? 0 : 1;
}
