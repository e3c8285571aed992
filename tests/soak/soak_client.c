/*
 * soak_client.c: the load driver of the soak test (tests/soak/soak.sh). One
 * process, one thread, one epoll loop on non-blocking sockets runs every
 * client kind of the mixed workload at once and checks every byte:
 *
 *   pingpong      echo: one message of random size at a time, paced
 *   stream        echo: a paced stream with a window, then half-close
 *   churn         echo: connect, one round trip, close (every 8th with RST)
 *   chargen       chargen reader: the RFC 864 pattern from byte 0, then close
 *   chargen-write chargen reader that also sends (the server drops it)
 *   discard       discard writer: send, half-close, expect nothing but EOF
 *   discard-read  discard reader: nothing may ever arrive
 *   slow-echo     echo: sends fast, reads at a trickle (backpressure)
 *   slow-chargen  chargen read at a trickle
 *   never-echo    echo: sends until stalled, never reads, closes (RST)
 *   never-chargen chargen never read, then closed
 *   command       command service: PING, ECHO, DIGEST (checked with
 *                 OpenSSL), SLEEP, RESOLVE of loopback names and numeric
 *                 addresses only, pipelined, then QUIT
 *   command-abort SLEEP/DIGEST/RESOLVE jobs, then a disconnect mid-job
 *   tls           echo over TLS (verified certificate, resumption)
 *
 * Echoed bytes are checked against a deterministic stream per connection
 * (splitmix64 of the offset), chargen bytes against the RFC 864 ring.
 * Over the admin console (unix socket) it asks for STATS every second and
 * KILLs a random connection of its own now and then; the connection that
 * was killed accepts its close, any other unexpected close is an error.
 * Every second it writes one sample line: the daemon's RSS and descriptors
 * (/proc/PID), requests completed and the round-trip p99 of that second,
 * and values from STATS.
 *
 * SIGUSR1 starts the drain: no new connections, never-readers and slow
 * readers read at full speed, every client keeps talking until the server
 * closes (its graceful shutdown). Each connection that ends then gets one
 * line in the finals file (local port, bytes received, how it ended), which
 * soak.sh matches against the daemon's close records. The report (per-kind
 * counters, refusals, errors) goes to --report; the exit status is 0 only if
 * no byte mismatched and nothing failed.
 *
 * Only loopback addresses; every wait is bounded by --max-seconds.
 */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tool.h"

#define SOAK_BUFSZ		65536
#define SOAK_TICK_MS		5
#define SOAK_STALL_MS		30000	/* no progress for this long: an error */
#define SOAK_CMD_WINDOW		8	/* command requests in flight per connection */
#define SOAK_CMD_LINE		512
#define SOAK_LAT_MAX		65536	/* latency samples kept per second */
#define SOAK_CONNS_MAX		256
#define SOAK_ADMIN_BUF		(256 * 1024)

/* chargen, RFC 864: 95 lines of 72 characters + CRLF, line N starts at N mod 95 */
#define SOAK_CG_LINE		74
#define SOAK_CG_CHARS		72
#define SOAK_CG_RING		95
#define SOAK_CG_CYCLE		(SOAK_CG_RING * SOAK_CG_LINE)

enum soak_kind {
	SOAK_K_PINGPONG = 0,
	SOAK_K_STREAM,
	SOAK_K_CHURN,
	SOAK_K_CHARGEN,
	SOAK_K_CHARGEN_WRITE,
	SOAK_K_DISCARD,
	SOAK_K_DISCARD_READ,
	SOAK_K_SLOW_ECHO,
	SOAK_K_SLOW_CHARGEN,
	SOAK_K_NEVER_ECHO,
	SOAK_K_NEVER_CHARGEN,
	SOAK_K_COMMAND,
	SOAK_K_COMMAND_ABORT,
	SOAK_K_TLS,
	SOAK_K_COUNT
};

enum soak_target { SOAK_T_ECHO, SOAK_T_CHARGEN, SOAK_T_DISCARD, SOAK_T_COMMAND, SOAK_T_TLS,
	SOAK_T_COUNT };
/*
 * The daemon's listener of each target has the option's name (soak.sh's
 * configuration): CONNS and the close records name the listener, and one
 * local port may be in use towards two listeners at once, so a connection
 * is known by listener and port.
 */
static const char *soak_target_names[SOAK_T_COUNT] = {
	"echo", "chargen", "discard", "command", "tls",
};

/* What received bytes are checked against. */
enum soak_verify { SOAK_V_ECHO, SOAK_V_CHARGEN, SOAK_V_NONE, SOAK_V_LINES };

struct soak_kind_def {
	const char		*name;
	enum soak_target	 target;
	enum soak_verify	 verify;
	int			 count;		/* connections (slots) by default */
};

static struct soak_kind_def soak_kinds[SOAK_K_COUNT] = {
	[SOAK_K_PINGPONG]	= { "pingpong", SOAK_T_ECHO, SOAK_V_ECHO, 6 },
	[SOAK_K_STREAM]		= { "stream", SOAK_T_ECHO, SOAK_V_ECHO, 2 },
	[SOAK_K_CHURN]		= { "churn", SOAK_T_ECHO, SOAK_V_ECHO, 2 },
	[SOAK_K_CHARGEN]	= { "chargen", SOAK_T_CHARGEN, SOAK_V_CHARGEN, 2 },
	[SOAK_K_CHARGEN_WRITE]	= { "chargen-write", SOAK_T_CHARGEN, SOAK_V_CHARGEN, 1 },
	[SOAK_K_DISCARD]	= { "discard", SOAK_T_DISCARD, SOAK_V_NONE, 2 },
	[SOAK_K_DISCARD_READ]	= { "discard-read", SOAK_T_DISCARD, SOAK_V_NONE, 1 },
	[SOAK_K_SLOW_ECHO]	= { "slow-echo", SOAK_T_ECHO, SOAK_V_ECHO, 1 },
	[SOAK_K_SLOW_CHARGEN]	= { "slow-chargen", SOAK_T_CHARGEN, SOAK_V_CHARGEN, 1 },
	[SOAK_K_NEVER_ECHO]	= { "never-echo", SOAK_T_ECHO, SOAK_V_ECHO, 1 },
	[SOAK_K_NEVER_CHARGEN]	= { "never-chargen", SOAK_T_CHARGEN, SOAK_V_CHARGEN, 1 },
	[SOAK_K_COMMAND]	= { "command", SOAK_T_COMMAND, SOAK_V_LINES, 3 },
	[SOAK_K_COMMAND_ABORT]	= { "command-abort", SOAK_T_COMMAND, SOAK_V_LINES, 2 },
	[SOAK_K_TLS]		= { "tls", SOAK_T_TLS, SOAK_V_ECHO, 2 },
};

/* Why a client was turned away or ended early, as the client saw it. */
enum soak_refusal {
	SOAK_R_CMD_BUSY = 0,		/* -ERR busy: the job queue was full */
	SOAK_R_CMD_TIMEOUT,		/* -ERR timeout: job_timeout passed */
	SOAK_R_CMD_SHUTTING_DOWN,	/* -ERR shutting down */
	SOAK_R_ADMIN_KILL,		/* closed by our own admin KILL */
	SOAK_R_SHUTDOWN_EOF,		/* the server's graceful shutdown closed it */
	SOAK_R_SHUTDOWN_REFUSED,	/* connect refused after the listeners closed */
	SOAK_R_SHUTDOWN_RESET,		/* reset while the server shut down (checked by soak.sh) */
	SOAK_R_COUNT
};
static const char *soak_refusal_names[SOAK_R_COUNT] = {
	"cmd-busy", "cmd-timeout", "cmd-shutting-down", "admin-kill", "shutdown-eof",
	"shutdown-connect-refused", "shutdown-reset",
};

enum soak_error {
	SOAK_E_CONNECT = 0,	/* connect failed */
	SOAK_E_RESET,		/* reset by the server */
	SOAK_E_EOF,		/* the server closed early */
	SOAK_E_IO,		/* another socket error */
	SOAK_E_TLS,		/* TLS handshake or protocol error */
	SOAK_E_REPLY,		/* a command reply that is not the expected one */
	SOAK_E_STALL,		/* no progress for SOAK_STALL_MS */
	SOAK_E_ADMIN,		/* the admin console failed */
	SOAK_E_DRAIN,		/* still open when the drain deadline passed */
	SOAK_E_COUNT
};
static const char *soak_error_names[SOAK_E_COUNT] = {
	"connect", "reset", "early-eof", "io-error", "tls", "bad-reply", "stalled", "admin",
	"not-drained",
};

enum soak_cstate {
	SOAK_S_IDLE = 0,	/* no socket; connects at next_ms */
	SOAK_S_CONNECTING,
	SOAK_S_HANDSHAKE,	/* TLS */
	SOAK_S_OPEN,
	SOAK_S_DONE,		/* drained: never reconnects */
};

/* One expected command reply. */
struct soak_expect {
	int		 kind;		/* SOAK_X_* */
	char		 text[160];	/* exact first line (without CRLF) */
	char		 extra[64];	/* RESOLVE: the one address line */
};
enum { SOAK_X_LINE = 0, SOAK_X_RESOLVE, SOAK_X_JOB, SOAK_X_QUIT };

struct soak_conn {
	int			 fd;
	enum soak_kind		 kind;
	enum soak_cstate	 st;
	uint64_t		 gen;		/* bumped at every connect */
	uint16_t		 lport;
	uint64_t		 seed;
	uint64_t		 tx, rx;	/* bytes sent, bytes received (and checked) */
	uint64_t		 tx_limit;	/* may send up to here now */
	uint64_t		 goal;		/* per-connection goal (bytes or exchanges) */
	uint64_t		 msg_end;	/* pingpong: rx offset that completes the message */
	uint64_t		 msg_t0;	/* us: exchange started */
	int			 in_msg;
	uint64_t		 next_ms;	/* connect / next message / hold end */
	uint64_t		 progress_ms;
	uint64_t		 tokens;	/* token bucket (bytes) for paced kinds */
	uint64_t		 tokens_ms;
	uint64_t		 rtokens;	/* slow readers: bytes they may read */
	uint32_t		 events;
	int			 shut_wr;
	int			 eof;
	int			 kill_pending;
	int			 want_out;	/* a write would block (or TLS wants to write) */
	uint64_t		 left;		/* exchanges before this connection ends */
	SSL			*ssl;
	int			 tls_wlen;	/* length of a write to retry */
	/* command */
	struct soak_expect	 q[SOAK_CMD_WINDOW];
	size_t			 qhead, qlen;
	char			 line[SOAK_CMD_LINE];
	size_t			 linelen;
	int			 want_addr;	/* RESOLVE: the address line is next */
	int			 quit_sent;
};

/* Counters of one client kind. */
struct soak_kstats {
	uint64_t	conns;
	uint64_t	exchanges;
	uint64_t	bytes_sent;
	uint64_t	bytes_verified;
	uint64_t	killed;
	uint64_t	drained;
	uint64_t	errors;
};

/* The admin console connection. */
enum soak_admin_op { SOAK_A_NONE = 0, SOAK_A_STATS, SOAK_A_CONNS, SOAK_A_KILL };

struct soak_admin {
	int		 	 fd;
	enum soak_admin_op	 op;
	char			*in;
	size_t			 inlen;
	uint64_t		 next_stats_ms;
	uint64_t		 next_kill_ms;
	/* the kill in progress */
	struct soak_conn	*victim;
	uint64_t		 victim_gen;
	uint16_t		 victim_port;
	uint64_t		 victim_id;
	/* values from the last STATS */
	double			 lag_p99_s;
	double			 slow_cb_s;
	uint64_t		 conns_open;
	uint64_t		 log_dropped;
	int			 have_stats;
};

struct soak_target_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 set;
};

/* ---------------------------------------------------------------- globals */

static struct soak_target_addr	 soak_addr[SOAK_T_COUNT];
static struct soak_conn		 soak_conns[SOAK_CONNS_MAX];
static size_t			 soak_nconns;
static struct soak_kstats	 soak_ks[SOAK_K_COUNT];
static uint64_t			 soak_refusals[SOAK_R_COUNT];
static uint64_t			 soak_errors[SOAK_E_COUNT];
static uint64_t			 soak_mismatches;
static uint64_t			 soak_kills_sent, soak_kills_ok, soak_kills_missed;
static uint64_t			 soak_tls_handshakes, soak_tls_resumed;
static int			 soak_ep = -1;
static int			 soak_draining;
static uint64_t			 soak_drain_ms;
static uint64_t			 soak_start_ms;
static uint64_t			 soak_deadline_ms;
static uint64_t			 soak_rng = 0x2545f4914f6cdd1dULL;
static int			 soak_pid;
static const char		*soak_admin_path;
static struct soak_admin	 soak_adm = { .fd = -1 };
static FILE			*soak_samples, *soak_finals;
static const char		*soak_report_path;
static SSL_CTX			*soak_tls_ctx;
static SSL_SESSION		*soak_tls_session;
static uint64_t			 soak_kill_interval_ms = 700;
static uint64_t			 soak_drain_timeout_ms = 60000;
static int			 soak_verbose_left = 20;	/* detailed error lines */
/* requests completed and echo round-trip latencies (us) of the current second */
static uint64_t			 soak_sec_requests;
static uint64_t			 soak_lat[SOAK_LAT_MAX];
static size_t			 soak_nlat;
static uint64_t			 soak_sec_start_ms;
/* whole-run echo round-trip latencies (us) */
static struct tool_hist		 soak_hist;
static uint8_t			 soak_cg_ring[2 * SOAK_CG_CYCLE];

static void	soak_conn_end(struct soak_conn *, const char *, uint64_t);
static void	soak_conn_fail(struct soak_conn *, enum soak_error, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- helpers */

/* The driver's own choices (sizes, delays, victims): xorshift64. */
static uint64_t
soak_rand(void)
{
	soak_rng ^= soak_rng << 13;
	soak_rng ^= soak_rng >> 7;
	soak_rng ^= soak_rng << 17;
	return soak_rng;
}

/* A number from lo to hi inclusive. */
static uint64_t
soak_range(uint64_t lo, uint64_t hi)
{
	return lo + soak_rand() % (hi - lo + 1);
}

static void
soak_cg_init(void)
{
	size_t line, i;
	uint8_t *p = soak_cg_ring;

	for (line = 0; line < SOAK_CG_RING; line++) {
		for (i = 0; i < SOAK_CG_CHARS; i++)
			*p++ = (uint8_t)(' ' + (line + i) % SOAK_CG_RING);
		*p++ = '\r';
		*p++ = '\n';
	}
	memcpy(soak_cg_ring + SOAK_CG_CYCLE, soak_cg_ring, SOAK_CG_CYCLE);
}

static void
soak_latency(uint64_t us)
{
	if (soak_nlat < SOAK_LAT_MAX)
		soak_lat[soak_nlat++] = us;
	tool_hist_add(&soak_hist, us);
}

/* One exchange of `c`'s kind completed. */
static void
soak_exchange(struct soak_conn *c)
{
	soak_ks[c->kind].exchanges++;
	soak_sec_requests++;
	c->progress_ms = tool_now_ms();
}

/* ---------------------------------------------------------------- pacing */

/* Bytes per second of the paced kinds. */
static uint64_t
soak_rate(enum soak_kind k)
{
	switch (k) {
	case SOAK_K_STREAM:
	case SOAK_K_CHARGEN:
	case SOAK_K_DISCARD:
		return 1 << 20;
	case SOAK_K_CHARGEN_WRITE:
		return 512 << 10;
	case SOAK_K_SLOW_ECHO:
		return 128 << 10;
	case SOAK_K_SLOW_CHARGEN:
		return 64 << 10;
	default:
		return 0;
	}
}

/* Refill a token bucket of `rate` bytes/s, holding at most 100 ms worth. */
static void
soak_refill(uint64_t *tokens, uint64_t *last_ms, uint64_t rate, uint64_t now)
{
	uint64_t cap = rate / 10;

	if (*last_ms == 0 || now < *last_ms) {
		*last_ms = now;
		return;
	}
	*tokens += (now - *last_ms) * rate / 1000;
	if (*tokens > cap)
		*tokens = cap;
	*last_ms = now;
}

/* ---------------------------------------------------------------- I/O */

/* Send up to len; >0 sent, -1 with errno (EAGAIN: wait for writability). */
static ssize_t
soak_io_send(struct soak_conn *c, const uint8_t *buf, size_t len)
{
	int rv, err;

	if (c->ssl == NULL)
		return send(c->fd, buf, len, MSG_NOSIGNAL);
	if (c->tls_wlen > 0 && (size_t)c->tls_wlen < len)
		len = (size_t)c->tls_wlen;
	ERR_clear_error();
	rv = SSL_write(c->ssl, buf, (int)len);
	if (rv > 0) {
		c->tls_wlen = 0;
		return rv;
	}
	c->tls_wlen = (int)len;
	err = SSL_get_error(c->ssl, rv);
	if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
		errno = EAGAIN;
		return -1;
	}
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		return -1;
	errno = EPROTO;
	return -1;
}

/*
 * Receive; >0 bytes, 0 clean end (FIN, or close_notify on TLS), -1 with
 * errno (EAGAIN: nothing now; EPROTO: a TLS error, including an end without
 * close_notify).
 */
static ssize_t
soak_io_recv(struct soak_conn *c, uint8_t *buf, size_t len)
{
	int rv, err;

	if (c->ssl == NULL)
		return recv(c->fd, buf, len, 0);
	ERR_clear_error();
	rv = SSL_read(c->ssl, buf, (int)len);
	if (rv > 0)
		return rv;
	err = SSL_get_error(c->ssl, rv);
	if (err == SSL_ERROR_WANT_READ) {
		errno = EAGAIN;
		return -1;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		c->want_out = 1;
		errno = EAGAIN;
		return -1;
	}
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		return -1;
	errno = EPROTO;
	return -1;
}

/* Shut our write side: FIN, or close_notify on TLS. */
static void
soak_io_shutdown(struct soak_conn *c)
{
	int rv;

	if (c->shut_wr)
		return;
	if (c->ssl != NULL) {
		ERR_clear_error();
		rv = SSL_shutdown(c->ssl);
		/* close_notify did not fit in the socket buffer: again when writable */
		if (rv < 0 && SSL_get_error(c->ssl, rv) == SSL_ERROR_WANT_WRITE) {
			c->want_out = 1;
			return;
		}
		c->shut_wr = 1;
		return;
	}
	c->shut_wr = 1;
	shutdown(c->fd, SHUT_WR);
}

static void
soak_set_events(struct soak_conn *c, int want_in)
{
	uint32_t want = (want_in ? EPOLLIN : 0) | (c->want_out ? EPOLLOUT : 0);

	if (c->st == SOAK_S_CONNECTING)
		want = EPOLLOUT;
	if (want == c->events)
		return;
	if (tool_epoll_ctl(soak_ep, EPOLL_CTL_MOD, c->fd, want, c) == -1)
		tool_die_errno("epoll_ctl");
	c->events = want;
}

/* ---------------------------------------------------------------- connections */

static void
soak_conn_schedule(struct soak_conn *c, uint64_t delay_ms)
{
	c->st = soak_draining ? SOAK_S_DONE : SOAK_S_IDLE;
	c->next_ms = tool_now_ms() + delay_ms;
}

/* Close the socket now; rst: abortive close (RST instead of FIN). */
static void
soak_conn_close(struct soak_conn *c, int rst)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd == -1)
		return;
	if (rst) {
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	c->events = 0;
}

/* The connection's finals line (drain mode): soak.sh matches it with the daemon's log. */
static void
soak_final(struct soak_conn *c, const char *how)
{
	if (soak_finals == NULL || !soak_draining || c->lport == 0)
		return;
	fprintf(soak_finals, "kind=%s listener=%s port=%u received=%" PRIu64 " sent=%" PRIu64
	    " end=%s\n", soak_kinds[c->kind].name, soak_target_names[soak_kinds[c->kind].target],
	    c->lport, c->rx, c->tx, how);
}

/* The connection ended as planned (or by the server's shutdown, or a kill). */
static void
soak_conn_end(struct soak_conn *c, const char *how, uint64_t reconnect_ms)
{
	int rst = strcmp(how, "rst") == 0;

	soak_final(c, how);
	soak_conn_close(c, rst);
	soak_conn_schedule(c, reconnect_ms);
}

static void
soak_conn_fail(struct soak_conn *c, enum soak_error e, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	soak_errors[e]++;
	soak_ks[c->kind].errors++;
	if (soak_verbose_left > 0) {
		soak_verbose_left--;
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		tool_warn("error %s kind=%s port=%u tx=%" PRIu64 " rx=%" PRIu64 ": %s",
		    soak_error_names[e], soak_kinds[c->kind].name, c->lport, c->tx, c->rx, why);
	}
	soak_final(c, soak_error_names[e]);
	soak_conn_close(c, 1);
	soak_conn_schedule(c, 100);
}

static void
soak_mismatch(struct soak_conn *c, uint64_t off, uint8_t got, uint8_t want)
{
	soak_mismatches++;
	soak_conn_fail(c, SOAK_E_REPLY, "byte %" PRIu64 ": got 0x%02x, expected 0x%02x", off, got,
	    want);
}

static void
soak_conn_connect(struct soak_conn *c)
{
	struct soak_target_addr *t = &soak_addr[soak_kinds[c->kind].target];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	/* Every field from tx on belongs to one connection: start afresh. */
	memset(&c->tx, 0, sizeof(*c) - offsetof(struct soak_conn, tx));
	memset(&ss, 0, sizeof(ss));
	c->gen++;
	c->lport = 0;
	c->seed = soak_rand();
	c->progress_ms = tool_now_ms();
	if ((fd = tool_socket(t->ss.ss_family, SOCK_NONBLOCK)) == -1)
		tool_die_errno("socket");
	c->fd = fd;
	soak_ks[c->kind].conns++;
	if (tool_connect(fd, &t->ss, t->len) == -1) {
		int err = errno;

		if (soak_draining && err == ECONNREFUSED) {
			soak_refusals[SOAK_R_SHUTDOWN_REFUSED]++;
			soak_conn_close(c, 0);
			soak_conn_schedule(c, 0);
			return;
		}
		soak_conn_fail(c, SOAK_E_CONNECT, "connect: %s", strerror(err));
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET)
		c->lport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		c->lport = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	c->st = SOAK_S_CONNECTING;
	c->events = EPOLLOUT;
	if (tool_epoll_ctl(soak_ep, EPOLL_CTL_ADD, fd, EPOLLOUT, c) == -1)
		tool_die_errno("epoll_ctl");
}

/* ---------------------------------------------------------------- kinds: setup */

static void	soak_cmd_next(struct soak_conn *, uint64_t);

/* The connection is open (TLS: handshake done): set the kind's goals. */
static void
soak_kind_open(struct soak_conn *c, uint64_t now)
{
	c->st = SOAK_S_OPEN;
	c->progress_ms = now;
	c->tokens_ms = now;
	switch (c->kind) {
	case SOAK_K_PINGPONG:
		c->left = soak_range(100, 1000);
		c->next_ms = now;
		break;
	case SOAK_K_TLS:
		c->left = soak_range(20, 200);
		c->next_ms = now;
		break;
	case SOAK_K_CHURN:
		c->left = 1;
		c->next_ms = now;
		break;
	case SOAK_K_STREAM:
		c->goal = soak_range(64 << 10, 8 << 20);
		break;
	case SOAK_K_CHARGEN:
	case SOAK_K_CHARGEN_WRITE:
		c->goal = soak_range(64 << 10, 2 << 20);
		break;
	case SOAK_K_DISCARD:
		c->goal = soak_range(64 << 10, 4 << 20);
		break;
	case SOAK_K_DISCARD_READ:
		c->goal = soak_range(1, 512);
		c->next_ms = now + 200;
		break;
	case SOAK_K_SLOW_ECHO:
		c->goal = soak_range(256 << 10, 1 << 20);
		break;
	case SOAK_K_SLOW_CHARGEN:
		c->goal = soak_range(128 << 10, 512 << 10);
		break;
	case SOAK_K_NEVER_ECHO:
		c->goal = 16 << 20;
		c->next_ms = now + soak_range(2000, 6000);
		break;
	case SOAK_K_NEVER_CHARGEN:
		c->next_ms = now + soak_range(2000, 6000);
		break;
	case SOAK_K_COMMAND:
		c->left = soak_range(200, 2000);
		c->next_ms = now;
		break;
	case SOAK_K_COMMAND_ABORT:
		c->left = soak_range(2, 4);
		c->next_ms = now + soak_range(0, 100);
		soak_cmd_next(c, now);
		break;
	case SOAK_K_COUNT:
		break;
	}
}

/* ---------------------------------------------------------------- command service */

static void
soak_hex(const unsigned char *d, unsigned n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Queue one random request and what must come back. RESOLVE asks only for
 * names the hosts file answers (localhost) or numeric addresses: no DNS query
 * ever leaves the machine.
 */
static void
soak_cmd_request(struct soak_conn *c, char *req, size_t size)
{
	static const char *algs[] = { "sha256", "sha1", "md5", "sha512" };
	struct soak_expect *x = &c->q[(c->qhead + c->qlen) % SOAK_CMD_WINDOW];
	char tok[24];
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned mdlen = 0, r = (unsigned)soak_range(0, 99);
	const char *alg;

	memset(x, 0, sizeof(*x));
	snprintf(tok, sizeof(tok), "t%016" PRIx64, soak_rand());
	x->kind = SOAK_X_LINE;
	if (c->kind == SOAK_K_COMMAND_ABORT)
		r = 40 + r % 60;	/* jobs only */
	if (r < 20) {
		snprintf(req, size, "PING\r\n");
		snprintf(x->text, sizeof(x->text), "+OK PONG");
	} else if (r < 40) {
		snprintf(req, size, "ECHO %s\r\n", tok);
		snprintf(x->text, sizeof(x->text), "+OK %s", tok);
	} else if (r < 65) {
		alg = algs[soak_rand() % 4];
		EVP_Digest(tok, strlen(tok), md, &mdlen, EVP_get_digestbyname(alg), NULL);
		soak_hex(md, mdlen, hex);
		snprintf(req, size, "DIGEST %s %s\r\n", alg, tok);
		snprintf(x->text, sizeof(x->text), "+OK %s", hex);
		x->kind = SOAK_X_JOB;
	} else if (r < 85) {
		unsigned ms = (unsigned)soak_range(0, 100);

		snprintf(req, size, "SLEEP %u\r\n", ms);
		snprintf(x->text, sizeof(x->text), "+OK slept %u ms", ms);
		x->kind = SOAK_X_JOB;
	} else {
		static const char *q[][2] = {
			{ "localhost v4", "127.0.0.1" },
			{ "127.0.0.1", "127.0.0.1" },
			{ "::1", "::1" },
			{ "127.0.0.2 v4", "127.0.0.2" },
		};
		unsigned i = (unsigned)(soak_rand() % 4);

		snprintf(req, size, "RESOLVE %s\r\n", q[i][0]);
		snprintf(x->text, sizeof(x->text), "+OK 1 lines");
		snprintf(x->extra, sizeof(x->extra), "%s", q[i][1]);
		x->kind = SOAK_X_RESOLVE;
	}
	c->qlen++;
}

/* Queue the bytes of a request for sending: the command kinds send text, not the stream. */
static int
soak_cmd_send(struct soak_conn *c, const char *req)
{
	size_t len = strlen(req);
	ssize_t n = soak_io_send(c, (const uint8_t *)req, len);

	/*
	 * At most SOAK_CMD_WINDOW short requests are in flight, far below any
	 * socket buffer and below max_pending: a request that does not go out
	 * whole is a failure.
	 */
	if (n == (ssize_t)len) {
		c->tx += len;
		soak_ks[c->kind].bytes_sent += len;
		return 0;
	}
	if (n == -1 && errno != EAGAIN && (soak_draining || c->kill_pending)) {
		/* the server already closed: the read side reports how */
		c->shut_wr = 1;
		return -1;
	}
	soak_conn_fail(c, SOAK_E_IO, "send: %s", n == -1 ? strerror(errno) : "short write");
	return -1;
}

/* Send the next request(s) when due and the window has room. */
static void
soak_cmd_next(struct soak_conn *c, uint64_t now)
{
	char req[256];

	if (c->quit_sent || c->shut_wr)
		return;
	if (c->kind == SOAK_K_COMMAND_ABORT) {
		while (c->left > 0 && c->qlen < SOAK_CMD_WINDOW) {
			soak_cmd_request(c, req, sizeof(req));
			c->left--;
			if (soak_cmd_send(c, req) == -1)
				return;
		}
		return;
	}
	if (now < c->next_ms || c->qlen >= SOAK_CMD_WINDOW)
		return;
	if (c->left == 0) {
		struct soak_expect *x = &c->q[(c->qhead + c->qlen) % SOAK_CMD_WINDOW];

		memset(x, 0, sizeof(*x));
		x->kind = SOAK_X_QUIT;
		snprintf(x->text, sizeof(x->text), "+OK bye");
		c->qlen++;
		c->quit_sent = 1;
		soak_cmd_send(c, "QUIT\r\n");
		return;
	}
	soak_cmd_request(c, req, sizeof(req));
	c->left--;
	c->next_ms = now + 20;
	soak_cmd_send(c, req);
}

/* One reply line (without CRLF) of the command service. */
static void
soak_cmd_line(struct soak_conn *c, const char *line)
{
	struct soak_expect *x;

	if (c->qlen == 0) {
		soak_mismatches++;
		soak_conn_fail(c, SOAK_E_REPLY, "reply without a request: '%.80s'", line);
		return;
	}
	x = &c->q[c->qhead];
	if (c->want_addr) {
		if (strcmp(line, x->extra) != 0) {
			soak_mismatches++;
			soak_conn_fail(c, SOAK_E_REPLY, "RESOLVE address '%.80s', expected '%s'",
			    line, x->extra);
			return;
		}
		c->want_addr = 0;
	} else if (strcmp(line, x->text) == 0) {
		if (x->kind == SOAK_X_RESOLVE) {
			c->want_addr = 1;
			return;
		}
	} else if (x->kind == SOAK_X_JOB || x->kind == SOAK_X_RESOLVE) {
		/* A job may be refused: counted by reason, not a mismatch. */
		if (strcmp(line, "-ERR busy") == 0)
			soak_refusals[SOAK_R_CMD_BUSY]++;
		else if (strcmp(line, "-ERR timeout") == 0)
			soak_refusals[SOAK_R_CMD_TIMEOUT]++;
		else if (strcmp(line, "-ERR shutting down") == 0 && soak_draining)
			soak_refusals[SOAK_R_CMD_SHUTTING_DOWN]++;
		else {
			soak_mismatches++;
			soak_conn_fail(c, SOAK_E_REPLY, "reply '%.80s', expected '%s'", line, x->text);
			return;
		}
	} else {
		soak_mismatches++;
		soak_conn_fail(c, SOAK_E_REPLY, "reply '%.80s', expected '%s'", line, x->text);
		return;
	}
	c->qhead = (c->qhead + 1) % SOAK_CMD_WINDOW;
	c->qlen--;
	soak_ks[c->kind].bytes_verified += strlen(line) + 2;
	if (x->kind != SOAK_X_QUIT)
		soak_exchange(c);
}

/* Split received bytes into lines. Returns -1 when the connection failed. */
static int
soak_cmd_input(struct soak_conn *c, const uint8_t *buf, size_t len)
{
	uint64_t gen = c->gen;
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (c->linelen == 0 || c->line[c->linelen - 1] != '\r') {
				soak_mismatches++;
				soak_conn_fail(c, SOAK_E_REPLY, "line without CRLF");
				return -1;
			}
			c->line[c->linelen - 1] = '\0';
			c->linelen = 0;
			soak_cmd_line(c, c->line);
			if (c->gen != gen || c->fd == -1)
				return -1;
			continue;
		}
		if (c->linelen >= sizeof(c->line) - 1) {
			soak_mismatches++;
			soak_conn_fail(c, SOAK_E_REPLY, "reply line too long");
			return -1;
		}
		c->line[c->linelen++] = (char)buf[i];
	}
	return 0;
}

/* ---------------------------------------------------------------- receiving */

/* Check received bytes; -1 when the connection was failed. */
static int
soak_check(struct soak_conn *c, const uint8_t *buf, size_t n)
{
	uint8_t want[SOAK_BUFSZ];
	size_t i;

	switch (soak_kinds[c->kind].verify) {
	case SOAK_V_ECHO:
		if (c->rx + n > c->tx) {
			soak_mismatches++;
			soak_conn_fail(c, SOAK_E_REPLY, "%" PRIu64 " bytes more than sent",
			    c->rx + n - c->tx);
			return -1;
		}
		tool_stream(c->seed, c->rx, want, n);
		if (memcmp(want, buf, n) != 0) {
			for (i = 0; want[i] == buf[i]; i++)
				;
			soak_mismatch(c, c->rx + i, buf[i], want[i]);
			return -1;
		}
		break;
	case SOAK_V_CHARGEN: {
		size_t done = 0, k;

		while (done < n) {
			uint64_t pos = c->rx + done;
			const uint8_t *w = soak_cg_ring + pos % SOAK_CG_CYCLE;

			k = n - done < SOAK_CG_CYCLE ? n - done : SOAK_CG_CYCLE;
			if (memcmp(w, buf + done, k) != 0) {
				for (i = 0; w[i] == buf[done + i]; i++)
					;
				soak_mismatch(c, pos + i, buf[done + i], w[i]);
				return -1;
			}
			done += k;
		}
		break;
	}
	case SOAK_V_NONE:
		soak_mismatch(c, c->rx, buf[0], 0);
		return -1;
	case SOAK_V_LINES:
		if (soak_cmd_input(c, buf, n) == -1)
			return -1;
		c->rx += n;
		return 0;
	}
	c->rx += n;
	soak_ks[c->kind].bytes_verified += n;
	return 0;
}

/* How many bytes the kind may read now. */
static uint64_t
soak_read_allowance(struct soak_conn *c)
{
	if (soak_draining)
		return UINT64_MAX;
	switch (c->kind) {
	case SOAK_K_NEVER_ECHO:
	case SOAK_K_NEVER_CHARGEN:
		return 0;
	case SOAK_K_SLOW_ECHO:
	case SOAK_K_SLOW_CHARGEN:
		return c->rtokens;
	case SOAK_K_CHARGEN:
	case SOAK_K_CHARGEN_WRITE:
		/* paced, and never past the goal */
		return c->rtokens < c->goal - c->rx ? c->rtokens : c->goal - c->rx;
	default:
		return UINT64_MAX;
	}
}

static void	soak_on_eof(struct soak_conn *, int);

/* Read what is allowed and available. Returns -1 when the connection went away. */
static int
soak_recv_all(struct soak_conn *c)
{
	static uint8_t buf[SOAK_BUFSZ];
	uint64_t allow;
	ssize_t n;
	size_t want;
	int rounds = 16;

	while (rounds-- > 0 && c->fd != -1 && !c->eof) {
		allow = soak_read_allowance(c);
		if (allow == 0)
			return 0;
		want = allow < sizeof(buf) ? (size_t)allow : sizeof(buf);
		n = soak_io_recv(c, buf, want);
		if (n > 0) {
			uint64_t gen = c->gen;

			c->progress_ms = tool_now_ms();
			if (c->kind == SOAK_K_SLOW_ECHO || c->kind == SOAK_K_SLOW_CHARGEN ||
			    c->kind == SOAK_K_CHARGEN || c->kind == SOAK_K_CHARGEN_WRITE)
				c->rtokens -= c->rtokens < (uint64_t)n ? c->rtokens : (uint64_t)n;
			if (soak_check(c, buf, (size_t)n) == -1 || c->gen != gen)
				return -1;
			continue;
		}
		if (n == 0) {
			soak_on_eof(c, 0);
			return -1;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		soak_on_eof(c, errno);
		return -1;
	}
	return 0;
}

/*
 * The server ended the connection (err 0: a clean end; else the errno).
 * Expected after our half-close, after a KILL, and in the drain.
 */
static void
soak_on_eof(struct soak_conn *c, int err)
{
	int partial = c->linelen > 0 || c->want_addr;

	c->eof = 1;
	if (c->kill_pending) {
		soak_ks[c->kind].killed++;
		soak_refusals[SOAK_R_ADMIN_KILL]++;
		soak_conn_end(c, "killed", soak_range(10, 200));
		return;
	}
	if (soak_draining) {
		if (err != 0) {
			/* soak.sh checks that the daemon never accepted this one */
			soak_refusals[SOAK_R_SHUTDOWN_RESET]++;
			soak_conn_end(c, "reset", 0);
			return;
		}
		if (partial) {
			soak_mismatches++;
			soak_conn_fail(c, SOAK_E_REPLY, "half a reply line at the end");
			return;
		}
		soak_ks[c->kind].drained++;
		soak_refusals[SOAK_R_SHUTDOWN_EOF]++;
		soak_conn_end(c, "eof", 0);
		return;
	}
	if (err != 0) {
		soak_conn_fail(c, err == ECONNRESET ? SOAK_E_RESET : err == EPROTO ? SOAK_E_TLS :
		    SOAK_E_IO, "receive: %s", strerror(err));
		return;
	}
	/* A clean end is the plan only after our half-close (or QUIT), with everything back. */
	if (c->kind == SOAK_K_COMMAND && c->quit_sent && c->qlen == 0 && !partial) {
		soak_conn_end(c, "quit", soak_range(10, 100));
		return;
	}
	if (c->shut_wr && soak_kinds[c->kind].verify == SOAK_V_ECHO && c->rx == c->tx) {
		if (c->kind == SOAK_K_STREAM || c->kind == SOAK_K_SLOW_ECHO)
			soak_exchange(c);
		if (c->kind == SOAK_K_TLS && c->ssl != NULL) {
			if (soak_tls_session != NULL)
				SSL_SESSION_free(soak_tls_session);
			soak_tls_session = SSL_get1_session(c->ssl);
		}
		soak_conn_end(c, "eof", soak_range(10, 100));
		return;
	}
	if (c->shut_wr && c->kind == SOAK_K_DISCARD && c->tx == c->goal) {
		soak_exchange(c);
		soak_conn_end(c, "eof", soak_range(10, 100));
		return;
	}
	if (c->shut_wr && c->kind == SOAK_K_DISCARD_READ) {
		soak_exchange(c);
		soak_conn_end(c, "eof", soak_range(10, 100));
		return;
	}
	soak_conn_fail(c, SOAK_E_EOF, "the server closed%s", c->shut_wr ? " before the echo ended" : "");
}

/* ---------------------------------------------------------------- sending */

/* Send the stream up to c->tx_limit. -1 when the connection went away. */
static int
soak_send_stream(struct soak_conn *c)
{
	static uint8_t buf[SOAK_BUFSZ];
	ssize_t n;
	size_t len;

	c->want_out = 0;
	while (c->tx < c->tx_limit) {
		len = c->tx_limit - c->tx < sizeof(buf) ? (size_t)(c->tx_limit - c->tx) : sizeof(buf);
		if (c->tls_wlen > 0 && (size_t)c->tls_wlen < len)
			len = (size_t)c->tls_wlen;
		tool_stream(c->seed, c->tx, buf, len);
		n = soak_io_send(c, buf, len);
		if (n > 0) {
			c->tx += (uint64_t)n;
			soak_ks[c->kind].bytes_sent += (uint64_t)n;
			c->progress_ms = tool_now_ms();
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			c->want_out = 1;
			return 0;
		}
		if (soak_draining || c->kill_pending) {
			/* the server already closed: the read side reports how */
			c->tx_limit = c->tx;
			return 0;
		}
		soak_conn_fail(c, errno == EPIPE || errno == ECONNRESET ? SOAK_E_RESET : SOAK_E_IO,
		    "send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- kinds: progress */

/* pingpong, tls, churn: one message at a time, paced. */
static void
soak_step_pingpong(struct soak_conn *c, uint64_t now)
{
	uint64_t interval = c->kind == SOAK_K_TLS ? 20 : c->kind == SOAK_K_CHURN ? 0 : 10;
	size_t maxsz = c->kind == SOAK_K_PINGPONG ? 8192 : c->kind == SOAK_K_TLS ? 4096 : 256;

	if (c->in_msg && c->rx == c->msg_end) {
		c->in_msg = 0;
		soak_latency(tool_now_us() - c->msg_t0);
		soak_exchange(c);
		if (c->left > 0)
			c->left--;
		c->next_ms = c->msg_t0 / 1000 + interval;
		if (c->kind == SOAK_K_CHURN && !soak_draining) {
			/* every 8th churn client resets instead of closing */
			soak_conn_end(c, soak_rand() % 8 == 0 ? "rst" : "fin", 20);
			return;
		}
	}
	if (!c->in_msg && !c->shut_wr) {
		if (c->left == 0 && !soak_draining) {
			soak_io_shutdown(c);
			return;
		}
		if (now >= c->next_ms) {
			c->in_msg = 1;
			c->msg_t0 = tool_now_us();
			c->tx_limit = c->tx + soak_range(1, maxsz);
			c->msg_end = c->tx_limit;
		}
	}
}

static void
soak_step_kind(struct soak_conn *c, uint64_t now)
{
	uint64_t rate = soak_rate(c->kind);

	switch (c->kind) {
	case SOAK_K_PINGPONG:
	case SOAK_K_TLS:
	case SOAK_K_CHURN:
		soak_step_pingpong(c, now);
		break;
	case SOAK_K_STREAM:
		soak_refill(&c->tokens, &c->tokens_ms, rate, now);
		if (c->tx_limit < c->goal) {
			uint64_t lim = c->rx + (256 << 10);	/* window */
			uint64_t n = c->goal - c->tx_limit;

			if (n > c->tokens)
				n = c->tokens;
			if (c->tx_limit + n > lim)
				n = lim > c->tx_limit ? lim - c->tx_limit : 0;
			c->tx_limit += n;
			c->tokens -= n;
		} else if (c->tx == c->goal && !c->shut_wr)
			soak_io_shutdown(c);
		break;
	case SOAK_K_CHARGEN:
	case SOAK_K_CHARGEN_WRITE:
		soak_refill(&c->rtokens, &c->tokens_ms, rate, now);
		if (c->kind == SOAK_K_CHARGEN_WRITE && c->tx_limit <= c->tx)
			c->tx_limit = c->tx + rate / 200;	/* about as much as it reads */
		if (c->rx >= c->goal && !soak_draining) {
			soak_exchange(c);
			/* the server is still writing: our close resets */
			soak_conn_end(c, "rst", soak_range(10, 100));
		}
		break;
	case SOAK_K_DISCARD:
		soak_refill(&c->tokens, &c->tokens_ms, rate, now);
		if (c->tx_limit < c->goal) {
			uint64_t n = c->goal - c->tx_limit;

			if (n > c->tokens)
				n = c->tokens;
			c->tx_limit += n;
			c->tokens -= n;
		} else if (c->tx == c->goal && !c->shut_wr)
			soak_io_shutdown(c);
		break;
	case SOAK_K_DISCARD_READ:
		c->tx_limit = c->goal;
		if (now >= c->next_ms && c->tx == c->goal && !c->shut_wr)
			soak_io_shutdown(c);
		break;
	case SOAK_K_SLOW_ECHO:
		soak_refill(&c->rtokens, &c->tokens_ms, rate, now);
		if (soak_draining)
			c->tx_limit = c->tx;	/* only collect what is owed */
		else
			c->tx_limit = c->goal;
		if (c->tx == c->goal && !c->shut_wr)
			soak_io_shutdown(c);
		break;
	case SOAK_K_SLOW_CHARGEN:
		soak_refill(&c->rtokens, &c->tokens_ms, rate, now);
		if (c->rx >= c->goal && !soak_draining) {
			soak_exchange(c);
			soak_conn_end(c, "rst", soak_range(10, 100));
		}
		break;
	case SOAK_K_NEVER_ECHO:
	case SOAK_K_NEVER_CHARGEN:
		if (soak_draining) {
			c->tx_limit = c->tx;
			c->progress_ms = now;
			break;
		}
		if (c->kind == SOAK_K_NEVER_ECHO)
			c->tx_limit = c->goal;
		c->progress_ms = now;	/* holding is the plan */
		if (now >= c->next_ms) {
			soak_exchange(c);
			/* unread data: the close resets */
			soak_conn_end(c, "rst", soak_range(10, 100));
		}
		break;
	case SOAK_K_COMMAND:
		soak_cmd_next(c, now);
		break;
	case SOAK_K_COMMAND_ABORT:
		if (soak_draining)
			break;
		soak_cmd_next(c, now);
		if (now >= c->next_ms) {
			soak_exchange(c);
			/* mid-job: a FIN, or a RST one time in three */
			soak_conn_end(c, soak_rand() % 3 == 0 ? "rst" : "fin", soak_range(20, 100));
		}
		break;
	case SOAK_K_COUNT:
		break;
	}
}

/* ---------------------------------------------------------------- TLS */

static void
soak_tls_init(const char *cafile)
{
	soak_tls_ctx = SSL_CTX_new(TLS_client_method());
	if (soak_tls_ctx == NULL)
		tool_die("SSL_CTX_new failed");
	if (SSL_CTX_load_verify_locations(soak_tls_ctx, cafile, NULL) != 1)
		tool_die("cannot load the CA file %s", cafile);
	SSL_CTX_set_verify(soak_tls_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(soak_tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(soak_tls_ctx, SSL_SESS_CACHE_CLIENT);
}

static void
soak_tls_start(struct soak_conn *c)
{
	X509_VERIFY_PARAM *vp;

	if ((c->ssl = SSL_new(soak_tls_ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		tool_die("SSL_new failed");
	vp = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1");
	/* every other connection resumes the last session */
	if (soak_tls_session != NULL && (soak_ks[SOAK_K_TLS].conns & 1))
		SSL_set_session(c->ssl, soak_tls_session);
	c->st = SOAK_S_HANDSHAKE;
}

/* Drive the handshake; returns 1 when done, 0 to wait, -1 if the connection went away. */
static int
soak_tls_handshake(struct soak_conn *c)
{
	int rv, err;

	ERR_clear_error();
	rv = SSL_connect(c->ssl);
	if (rv == 1) {
		soak_tls_handshakes++;
		if (SSL_session_reused(c->ssl))
			soak_tls_resumed++;
		c->want_out = 0;
		return 1;
	}
	err = SSL_get_error(c->ssl, rv);
	if (err == SSL_ERROR_WANT_READ) {
		c->want_out = 0;
		return 0;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		c->want_out = 1;
		return 0;
	}
	if (c->kill_pending || soak_draining) {
		soak_on_eof(c, errno != 0 ? errno : ECONNRESET);
		return -1;
	}
	soak_conn_fail(c, SOAK_E_TLS, "handshake: %s",
	    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
	    ERR_reason_error_string(ERR_peek_last_error()) : strerror(errno));
	return -1;
}

/* ---------------------------------------------------------------- driving one connection */

/* Do everything `c` can do now (after an event or on a tick). */
static void
soak_conn_step(struct soak_conn *c, uint32_t events, uint64_t now)
{
	uint64_t gen = c->gen;
	int err, i;

	if (c->st == SOAK_S_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if ((err = tool_sock_error(c->fd)) != 0) {
			if (soak_draining && (err == ECONNREFUSED || err == ECONNRESET)) {
				soak_refusals[err == ECONNREFUSED ? SOAK_R_SHUTDOWN_REFUSED :
				    SOAK_R_SHUTDOWN_RESET]++;
				soak_conn_end(c, "refused", 0);
				return;
			}
			soak_conn_fail(c, SOAK_E_CONNECT, "connect: %s", strerror(err));
			return;
		}
		if (c->kind == SOAK_K_TLS)
			soak_tls_start(c);
		else
			soak_kind_open(c, now);
	}
	if (c->st == SOAK_S_HANDSHAKE) {
		int rv = soak_tls_handshake(c);

		if (rv == -1)
			return;
		if (rv == 0) {
			soak_set_events(c, 1);
			return;
		}
		soak_kind_open(c, now);
	}
	if (c->st != SOAK_S_OPEN)
		return;
	/* A few rounds: reading may allow sending (window) and the reverse. */
	for (i = 0; i < 4 && c->gen == gen && c->fd != -1; i++) {
		uint64_t tx0 = c->tx, rx0 = c->rx;

		soak_step_kind(c, now);
		if (c->gen != gen || c->fd == -1)
			return;
		if (soak_kinds[c->kind].verify != SOAK_V_LINES && soak_send_stream(c) == -1)
			return;
		if (soak_recv_all(c) == -1)
			return;
		if (c->tx == tx0 && c->rx == rx0)
			break;
	}
	if (c->gen != gen || c->fd == -1)
		return;
	if (now > c->progress_ms && now - c->progress_ms > SOAK_STALL_MS) {
		soak_conn_fail(c, SOAK_E_STALL, "no progress for %d s", SOAK_STALL_MS / 1000);
		return;
	}
	soak_set_events(c, soak_read_allowance(c) > 0);
}

/* ---------------------------------------------------------------- admin console */

static void
soak_admin_connect(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (tool_unix_addr(soak_admin_path, &ss, &len) == -1)
		tool_die("admin path too long");
	if ((fd = tool_socket(AF_UNIX, 0)) == -1)
		tool_die_errno("socket");
	/* A blocking connect on a local socket: immediate. */
	if (tool_connect(fd, &ss, len) == -1)
		tool_die_errno("connect %s", soak_admin_path);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		tool_die_errno("fcntl");
	soak_adm.fd = fd;
	soak_adm.in = malloc(SOAK_ADMIN_BUF);
	if (soak_adm.in == NULL)
		tool_die("out of memory");
}

static void
soak_admin_send(const char *cmd, enum soak_admin_op op)
{
	size_t len = strlen(cmd);

	/* Commands are tiny and the console reads them at once. */
	if (send(soak_adm.fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len) {
		if (soak_draining)
			return;
		soak_errors[SOAK_E_ADMIN]++;
		tool_warn("admin send: %s", strerror(errno));
		close(soak_adm.fd);
		soak_adm.fd = -1;
		return;
	}
	soak_adm.op = op;
}

/* /proc/PID: RSS in KiB, open descriptors, CPU time used (seconds). */
static void
soak_proc_sample(uint64_t *rss_kb, uint64_t *fds, double *cpu_s)
{
	char path[64], line[1024], *p;
	unsigned long ut, st;
	FILE *fp;
	DIR *d;
	struct dirent *de;

	*rss_kb = 0;
	*fds = 0;
	*cpu_s = 0.0;
	snprintf(path, sizeof(path), "/proc/%d/stat", soak_pid);
	if ((fp = fopen(path, "r")) != NULL) {
		/* after "(comm) ": state is field 3, utime and stime are 14 and 15 */
		if (fgets(line, sizeof(line), fp) != NULL && (p = strrchr(line, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		fclose(fp);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", soak_pid);
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, "VmRSS: %" SCNu64, rss_kb) == 1)
				break;
		fclose(fp);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", soak_pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				(*fds)++;
		closedir(d);
	}
}

/*
 * One sample line, after each STATS reply (about once a second). Columns:
 * 1 seconds since start, 2 RSS KiB, 3 descriptors, 4 descriptors minus
 * open connections (the daemon's own), 5 open connections, 6 exchanges
 * completed per second, 7 round-trip p99 ms of that second (echo, TLS,
 * churn), 8 loop lag p99 ms, 9 slow-callback threshold s, 10 log records
 * dropped, 11 CPU seconds used.
 */
static void
soak_sample(uint64_t now)
{
	uint64_t rss, fds, p99 = 0;
	double secs = (double)(now - soak_sec_start_ms) / 1000.0, cpu;

	soak_proc_sample(&rss, &fds, &cpu);
	if (soak_nlat > 0) {
		qsort(soak_lat, soak_nlat, sizeof(soak_lat[0]), tool_cmp_u64);
		p99 = soak_lat[(soak_nlat * 99 + 99) / 100 - 1];
	}
	if (soak_samples != NULL && secs > 0.0)
		fprintf(soak_samples, "%.3f %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRIu64
		    " %.1f %.3f %.3f %.3f %" PRIu64 " %.2f\n",
		    (double)(now - soak_start_ms) / 1000.0, rss, fds,
		    (int64_t)fds - (int64_t)soak_adm.conns_open, soak_adm.conns_open,
		    (double)soak_sec_requests / secs, (double)p99 / 1000.0,
		    soak_adm.lag_p99_s * 1000.0, soak_adm.slow_cb_s, soak_adm.log_dropped, cpu);
	if (soak_samples != NULL)
		fflush(soak_samples);
	soak_sec_requests = 0;
	soak_nlat = 0;
	soak_sec_start_ms = now;
}

static void
soak_admin_stats_line(const char *l)
{
	double d;
	uint64_t u;

	if (sscanf(l, "loop_lag_p99_seconds=%lf", &d) == 1)
		soak_adm.lag_p99_s = d;
	else if (sscanf(l, "slow_callback_threshold_seconds=%lf", &d) == 1)
		soak_adm.slow_cb_s = d;
	else if (sscanf(l, "server_connections_open=%" SCNu64, &u) == 1)
		soak_adm.conns_open = u;
	else if (sscanf(l, "log_records_dropped_total=%" SCNu64, &u) == 1)
		soak_adm.log_dropped = u;
}

/* Pick a random live connection of ours to kill; 0 if there is none. */
static int
soak_admin_pick(void)
{
	size_t i, start;

	if (soak_nconns == 0)
		return 0;
	start = (size_t)(soak_rand() % soak_nconns);
	for (i = 0; i < soak_nconns; i++) {
		struct soak_conn *c = &soak_conns[(start + i) % soak_nconns];

		if (c->st == SOAK_S_OPEN && !c->kill_pending && c->lport != 0 && !c->eof) {
			soak_adm.victim = c;
			soak_adm.victim_gen = c->gen;
			soak_adm.victim_port = c->lport;
			soak_adm.victim_id = 0;
			return 1;
		}
	}
	return 0;
}

static void
soak_admin_conns_line(const char *l)
{
	char pat[80];
	uint64_t id;

	snprintf(pat, sizeof(pat), " listener=%s peer=127.0.0.1:%u ",
	    soak_target_names[soak_kinds[soak_adm.victim->kind].target], soak_adm.victim_port);
	if (strstr(l, pat) != NULL && sscanf(l, "conn=%" SCNu64, &id) == 1)
		soak_adm.victim_id = id;
}

/* A whole reply has arrived (its last line starts with +OK or -ERR). */
static void
soak_admin_done(const char *last, uint64_t now)
{
	enum soak_admin_op op = soak_adm.op;
	struct soak_conn *v = soak_adm.victim;
	char cmd[64];

	soak_adm.op = SOAK_A_NONE;
	switch (op) {
	case SOAK_A_STATS:
		soak_adm.have_stats = 1;
		soak_sample(now);
		break;
	case SOAK_A_CONNS:
		if (soak_adm.victim_id == 0 || v->gen != soak_adm.victim_gen || v->fd == -1 ||
		    soak_draining) {
			soak_kills_missed++;
			break;
		}
		/* From now on this connection accepts its end. */
		v->kill_pending = 1;
		snprintf(cmd, sizeof(cmd), "KILL %" PRIu64 "\n", soak_adm.victim_id);
		soak_kills_sent++;
		soak_admin_send(cmd, SOAK_A_KILL);
		break;
	case SOAK_A_KILL:
		if (strncmp(last, "+OK", 3) == 0)
			soak_kills_ok++;
		else {
			soak_kills_missed++;
			if (v->gen == soak_adm.victim_gen)
				v->kill_pending = 0;
		}
		break;
	case SOAK_A_NONE:
		break;
	}
}

static void
soak_admin_read(uint64_t now)
{
	ssize_t n;
	char *p, *nl;

	while (soak_adm.fd != -1) {
		if (soak_adm.inlen >= SOAK_ADMIN_BUF - 1)
			tool_die("admin reply too long");
		n = recv(soak_adm.fd, soak_adm.in + soak_adm.inlen, SOAK_ADMIN_BUF - 1 -
		    soak_adm.inlen, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* The console closes at shutdown; before that it is a failure. */
			if (!soak_draining) {
				soak_errors[SOAK_E_ADMIN]++;
				tool_warn("admin console closed");
			}
			close(soak_adm.fd);
			soak_adm.fd = -1;
			return;
		}
		soak_adm.inlen += (size_t)n;
		soak_adm.in[soak_adm.inlen] = '\0';
		/* Parse complete lines; keep a partial one. */
		p = soak_adm.in;
		while ((nl = strchr(p, '\n')) != NULL) {
			*nl = '\0';
			if (nl > p && nl[-1] == '\r')
				nl[-1] = '\0';
			if (strncmp(p, "+OK", 3) == 0 || strncmp(p, "-ERR", 4) == 0) {
				soak_admin_done(p, now);
			} else if (soak_adm.op == SOAK_A_STATS)
				soak_admin_stats_line(p);
			else if (soak_adm.op == SOAK_A_CONNS)
				soak_admin_conns_line(p);
			p = nl + 1;
		}
		soak_adm.inlen = (size_t)(soak_adm.in + soak_adm.inlen - p);
		memmove(soak_adm.in, p, soak_adm.inlen);
	}
}

/* Every second STATS (and a sample); every kill interval CONNS then KILL. */
static void
soak_admin_tick(uint64_t now)
{
	/* In the drain the samples stop: the server is shutting down. */
	if (soak_adm.fd == -1 || soak_adm.op != SOAK_A_NONE || soak_draining)
		return;
	if (now >= soak_adm.next_stats_ms) {
		soak_adm.next_stats_ms += 1000;
		if (soak_adm.next_stats_ms < now)
			soak_adm.next_stats_ms = now + 1000;
		soak_admin_send("STATS\n", SOAK_A_STATS);
		return;
	}
	if (!soak_draining && soak_kill_interval_ms > 0 && now >= soak_adm.next_kill_ms) {
		soak_adm.next_kill_ms = now + soak_kill_interval_ms;
		if (soak_admin_pick())
			soak_admin_send("CONNS\n", SOAK_A_CONNS);
	}
}

/* ---------------------------------------------------------------- report */

static void
soak_report(FILE *fp)
{
	uint64_t ex = 0, sent = 0, ver = 0, errs = 0;
	int k;

	fprintf(fp, "%-14s %7s %10s %14s %14s %6s %7s %6s\n", "kind", "conns", "exchanges",
	    "bytes_sent", "bytes_verified", "killed", "drained", "errors");
	for (k = 0; k < SOAK_K_COUNT; k++) {
		struct soak_kstats *s = &soak_ks[k];

		if (soak_kinds[k].count == 0)
			continue;
		fprintf(fp, "%-14s %7" PRIu64 " %10" PRIu64 " %14" PRIu64 " %14" PRIu64 " %6" PRIu64
		    " %7" PRIu64 " %6" PRIu64 "\n", soak_kinds[k].name, s->conns, s->exchanges,
		    s->bytes_sent, s->bytes_verified, s->killed, s->drained, s->errors);
		ex += s->exchanges;
		sent += s->bytes_sent;
		ver += s->bytes_verified;
		errs += s->errors;
	}
	fprintf(fp, "%-14s %7s %10" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", "total", "", ex, sent,
	    ver);
	fprintf(fp, "\n");
	fprintf(fp, "mismatches=%" PRIu64 "\n", soak_mismatches);
	fprintf(fp, "client_errors=%" PRIu64 "\n", errs + soak_errors[SOAK_E_ADMIN]);
	for (k = 0; k < SOAK_E_COUNT; k++)
		if (soak_errors[k] > 0)
			fprintf(fp, "client_error{reason=\"%s\"}=%" PRIu64 "\n", soak_error_names[k],
			    soak_errors[k]);
	for (k = 0; k < SOAK_R_COUNT; k++)
		fprintf(fp, "refusal{reason=\"%s\"}=%" PRIu64 "\n", soak_refusal_names[k],
		    soak_refusals[k]);
	fprintf(fp, "admin_kills_sent=%" PRIu64 " admin_kills_ok=%" PRIu64
	    " admin_kills_missed=%" PRIu64 "\n", soak_kills_sent, soak_kills_ok, soak_kills_missed);
	fprintf(fp, "tls_handshakes=%" PRIu64 " tls_resumed=%" PRIu64 "\n", soak_tls_handshakes,
	    soak_tls_resumed);
	fprintf(fp, "round_trips=%" PRIu64 " rtt_p50_ms=%.3f rtt_p99_ms=%.3f rtt_max_ms=%.3f\n",
	    soak_hist.total, (double)tool_hist_percentile(&soak_hist, 0.50) / 1000.0,
	    (double)tool_hist_percentile(&soak_hist, 0.99) / 1000.0, (double)soak_hist.max / 1000.0);
}

/* ---------------------------------------------------------------- main loop */

static void
soak_start_drain(uint64_t now)
{
	size_t i;

	soak_draining = 1;
	soak_drain_ms = now;
	for (i = 0; i < soak_nconns; i++) {
		struct soak_conn *c = &soak_conns[i];

		if (c->st == SOAK_S_IDLE)
			c->st = SOAK_S_DONE;
	}
}

/* Drain over: every connection has ended. */
static int
soak_all_done(void)
{
	size_t i;

	for (i = 0; i < soak_nconns; i++)
		if (soak_conns[i].st != SOAK_S_DONE)
			return 0;
	return 1;
}

static void
soak_run(void)
{
	struct epoll_event evs[64];
	uint64_t now, last_tick = 0;
	size_t i;
	int n, j;

	for (;;) {
		now = tool_now_ms();
		if (tool_signalled && !soak_draining)
			soak_start_drain(now);
		if (soak_draining && soak_all_done())
			return;
		if (now >= soak_deadline_ms || (soak_draining && now - soak_drain_ms >
		    soak_drain_timeout_ms)) {
			for (i = 0; i < soak_nconns; i++) {
				struct soak_conn *c = &soak_conns[i];

				if (c->st != SOAK_S_DONE && c->st != SOAK_S_IDLE) {
					soak_conn_fail(c, SOAK_E_DRAIN, "still open at the deadline");
					c->st = SOAK_S_DONE;
				}
			}
			if (!soak_draining)
				tool_warn("--max-seconds passed without a drain");
			return;
		}
		n = epoll_wait(soak_ep, evs, 64, SOAK_TICK_MS);
		if (n == -1 && errno != EINTR)
			tool_die_errno("epoll_wait");
		now = tool_now_ms();
		for (j = 0; j < n; j++) {
			if (evs[j].data.ptr == &soak_adm) {
				soak_admin_read(now);
				continue;
			}
			soak_conn_step(evs[j].data.ptr, evs[j].events, now);
		}
		if (now - last_tick >= SOAK_TICK_MS) {
			last_tick = now;
			for (i = 0; i < soak_nconns; i++) {
				struct soak_conn *c = &soak_conns[i];

				if (c->st == SOAK_S_IDLE && now >= c->next_ms)
					soak_conn_connect(c);
				else if (c->st == SOAK_S_OPEN)
					soak_conn_step(c, 0, now);
			}
			soak_admin_tick(now);
		}
	}
}

/* ---------------------------------------------------------------- setup */

static void __attribute__((noreturn))
soak_usage(void)
{
	int k;

	fprintf(stderr,
	    "usage: soak_client --echo HOST:PORT --chargen HOST:PORT --discard HOST:PORT\n"
	    "         --command HOST:PORT --tls HOST:PORT --tls-ca FILE --admin PATH --pid PID\n"
	    "         [--samples FILE] [--finals FILE] [--report FILE] [--max-seconds N]\n"
	    "         [--seed N] [--kill-ms MS] [--mix KIND=N,...]\n"
	    "Each address is that of the daemon's listener of the option's name.\n"
	    "SIGUSR1 starts the drain (the server is about to shut down).\nkinds:");
	for (k = 0; k < SOAK_K_COUNT; k++)
		fprintf(stderr, " %s=%d", soak_kinds[k].name, soak_kinds[k].count);
	fprintf(stderr, "\n");
	exit(2);
}

/* A numeric loopback HOST:PORT (127.0.0.1:PORT, [::1]:PORT). */
static void
soak_parse_addr(enum soak_target t, const char *s)
{
	struct soak_target_addr *a = &soak_addr[t];

	if (tool_parse_loopback(s, &a->ss, &a->len) == -1)
		tool_die("bad address '%s' (a loopback HOST:PORT)", s);
	a->set = 1;
}

static void
soak_parse_mix(char *s)
{
	char *tok, *save = NULL, *eq;
	int k;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(tok, '=')) == NULL)
			soak_usage();
		*eq = '\0';
		for (k = 0; k < SOAK_K_COUNT; k++)
			if (strcmp(soak_kinds[k].name, tok) == 0)
				break;
		if (k == SOAK_K_COUNT)
			tool_die("unknown kind '%s'", tok);
		soak_kinds[k].count = (int)tool_uint_arg(eq + 1, "count", 0, SOAK_CONNS_MAX);
	}
}

static FILE *
soak_open_out(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		tool_die_errno("cannot write %s", path);
	return fp;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "echo", required_argument, NULL, 'e' },
		{ "chargen", required_argument, NULL, 'g' },
		{ "discard", required_argument, NULL, 'd' },
		{ "command", required_argument, NULL, 'c' },
		{ "tls", required_argument, NULL, 't' },
		{ "tls-ca", required_argument, NULL, 'C' },
		{ "admin", required_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "samples", required_argument, NULL, 's' },
		{ "finals", required_argument, NULL, 'f' },
		{ "report", required_argument, NULL, 'r' },
		{ "max-seconds", required_argument, NULL, 'T' },
		{ "seed", required_argument, NULL, 'S' },
		{ "kill-ms", required_argument, NULL, 'k' },
		{ "mix", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cafile = NULL;
	uint64_t max_s = 3600;
	FILE *rep;
	int ch, k, j, rc;

	tool_init("soak_client", 2);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e': soak_parse_addr(SOAK_T_ECHO, optarg); break;
		case 'g': soak_parse_addr(SOAK_T_CHARGEN, optarg); break;
		case 'd': soak_parse_addr(SOAK_T_DISCARD, optarg); break;
		case 'c': soak_parse_addr(SOAK_T_COMMAND, optarg); break;
		case 't': soak_parse_addr(SOAK_T_TLS, optarg); break;
		case 'C': cafile = optarg; break;
		case 'a': soak_admin_path = optarg; break;
		case 'p': soak_pid = (int)tool_uint_arg(optarg, "pid", 1, INT32_MAX); break;
		case 's': soak_samples = soak_open_out(optarg); break;
		case 'f': soak_finals = soak_open_out(optarg); break;
		case 'r': soak_report_path = optarg; break;
		case 'T': max_s = tool_uint_arg(optarg, "--max-seconds", 1, 86400); break;
		case 'S': soak_rng = tool_mix64(tool_uint_arg(optarg, "--seed", 0, UINT64_MAX)) | 1;
			break;
		case 'k': soak_kill_interval_ms = tool_uint_arg(optarg, "--kill-ms", 0, 86400000);
			break;
		case 'm': soak_parse_mix(optarg); break;
		default: soak_usage();
		}
	}
	if (optind != argc || soak_admin_path == NULL || soak_pid <= 0)
		soak_usage();
	for (k = 0; k < SOAK_K_COUNT; k++) {
		if (soak_kinds[k].count > 0 && !soak_addr[soak_kinds[k].target].set)
			tool_die("kind %s needs the address of its service", soak_kinds[k].name);
		if (soak_nconns + (size_t)soak_kinds[k].count > SOAK_CONNS_MAX)
			tool_die("too many connections");
		for (j = 0; j < soak_kinds[k].count; j++) {
			struct soak_conn *c = &soak_conns[soak_nconns++];

			c->fd = -1;
			c->kind = (enum soak_kind)k;
			c->st = SOAK_S_IDLE;
		}
	}
	if (soak_kinds[SOAK_K_TLS].count > 0) {
		if (cafile == NULL)
			tool_die("--tls-ca is needed for TLS clients");
		soak_tls_init(cafile);
	}
	soak_cg_init();
	signal(SIGPIPE, SIG_IGN);
	tool_catch(SIGUSR1);
	if ((soak_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		tool_die_errno("epoll_create1");
	soak_start_ms = tool_now_ms();
	soak_sec_start_ms = soak_start_ms;
	soak_deadline_ms = soak_start_ms + max_s * 1000;
	soak_admin_connect();
	if (tool_epoll_ctl(soak_ep, EPOLL_CTL_ADD, soak_adm.fd, EPOLLIN, &soak_adm) == -1)
		tool_die_errno("epoll_ctl");
	soak_adm.next_stats_ms = soak_start_ms + 1000;
	soak_adm.next_kill_ms = soak_start_ms + 2000;
	/* Start the clients spread over the first 200 ms. */
	for (j = 0; j < (int)soak_nconns; j++)
		soak_conns[j].next_ms = soak_start_ms + soak_range(0, 200);

	soak_run();

	if (soak_finals != NULL)
		fclose(soak_finals);
	if (soak_samples != NULL)
		fclose(soak_samples);
	rep = soak_report_path != NULL ? soak_open_out(soak_report_path) : stdout;
	soak_report(rep);
	rc = soak_mismatches == 0 && soak_errors[SOAK_E_ADMIN] == 0 ? 0 : 1;
	for (k = 0; k < SOAK_K_COUNT; k++)
		if (soak_ks[k].errors > 0)
			rc = 1;
	if (!soak_draining)
		rc = 1;
	if (rep != stdout)
		fclose(rep);
	if (soak_tls_session != NULL)
		SSL_SESSION_free(soak_tls_session);
	for (j = 0; j < (int)soak_nconns; j++)
		soak_conn_close(&soak_conns[j], 0);
	if (soak_tls_ctx != NULL)
		SSL_CTX_free(soak_tls_ctx);
	if (soak_adm.fd != -1)
		close(soak_adm.fd);
	free(soak_adm.in);
	return rc;
}
