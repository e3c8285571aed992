/*
 * conn.c: client connections: the reader/writer state machine, output
 * buffering with watermarks (backpressure), half-close, timeouts, deferred
 * close and free, and the connection table (id -> conn). Loop thread only.
 *
 * I/O path: one read per readiness event into a 64 KiB scratch buffer
 * (libevent's evbuffer_read would cap it at 4096 bytes), handed to the
 * service; writes go straight to the socket while nothing is pending, and
 * only the part the kernel did not take is queued in an evbuffer.
 *
 * States and their transitions are in conn.h and the table below; every
 * change goes through conn_set_state(), which also re-arms the events the
 * new state needs. The few flags left are not states: why reading is
 * paused, what the write event waits for, and which events are armed.
 *
 * Scheduled output: with rate_limit, or on a listener that misbehaves on
 * purpose (misbehave.h), output goes through the scheduler below instead:
 * queued, and sent when due, in slices, up to a reset or a stall, with one
 * timer per connection.
 *
 * Close: conn_close() only marks CLOSING and queues the connection; the
 * real close runs from conn_flush_cb, which loop.c calls when the outermost
 * callback returns. Frees are deferred the same way. No function here ever
 * frees or closes a connection on its caller's stack.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "addr.h"
#include "conn.h"
#include "debug.h"
#include "log.h"
#include "loop.h"
#include "misbehave.h"
#include "service.h"
#include "stats.h"
#include "util.h"

#define CONN_READ_SIZE   (64 * 1024)
#define CONN_HASH_INIT   1024

#define CONN_F_READ_PAUSED   0x01  /* reading stopped: output above high watermark */
#define CONN_F_SVC_PAUSED    0x02  /* reading stopped by the service (conn_pause_read) */
#define CONN_F_WANT_DRAIN    0x04  /* call on_drain when output falls below the low mark */
#define CONN_F_IO_WANT_WRITE 0x08  /* the transport waits for writability */
#define CONN_F_UNIX          0x10  /* unix-domain peer */
#define CONN_F_READING       0x20  /* read event armed */
#define CONN_F_WRITING       0x40  /* write event armed */
#define CONN_F_SHAPE_WAIT    0x80  /* output waits for the shape timer (tokens, due time, slice) */
#define CONN_F_SHAPING      0x100  /* inside conn_sched_send: a producer's write only queues */
#define CONN_F_WATCH_PEER   0x200  /* conn_watch_peer: probe the socket while not reading */
#define CONN_F_PROBING      0x400  /* the probe timer (ext->probe_ev) is armed */
#define CONN_F_AT_MAX       0x800  /* max_bytes used up: no more reading; close once flushed */
#define CONN_F_SCHED       0x1000  /* rate_limit or a misbehaviour (now or once): the scheduler */
#define CONN_F_MB_HOLD     0x2000  /* misbehave: nothing more sent or read (stall, reset) */
#define CONN_F_MB_RESET    0x4000  /* misbehave: the hold ends in a reset (RST) */
#define CONN_F_MB_CUT      0x8000  /* misbehave: close_after fired, output is dropped */
#define CONN_F_MB_SEEN    0x10000  /* misbehave: counted as a connection it acted on */

/* conn_watch_peer: how often a connection that is not reading is probed. */
#define CONN_PEER_PROBE_MS   200

/*
 * What few connections need, allocated on first use so an idle connection
 * stays small: the preface reader (PROXY protocol), where a proxied client
 * came through, the output scheduler (rate_limit, misbehaviour), and
 * deadlines besides the idle timeout (max_lifetime, a service's deadline
 * such as line_timeout).
 */
struct conn_ext {
	conn_preface_cb        preface;       /* NULL once the preface is over */
	void                  *preface_arg;
	void                 (*preface_free)(void *arg);
	char                  *via;           /* " via=... proxy=..." for CONNS and the close line */
	struct sockaddr_storage local;        /* what a proxied client connected to */
	socklen_t              local_len;     /* 0: the socket's own address */
	uint64_t               lifetime_at;   /* ms; 0: none */
	uint64_t               deadline_at;   /* ms; 0: none */
	enum conn_reason       deadline_reason;
	/* the scheduler's one timer: tokens, due times, slices, the wait before a reset */
	struct event           shape_ev;
	/* rate_limit: a token bucket in milli-bytes, refilled from a microsecond clock */
	uint64_t               rate;          /* bytes/s; 0: not shaped */
	uint64_t               tokens;        /* milli-bytes */
	uint64_t               cap;           /* milli-bytes */
	uint64_t               stamp_us;
	/* misbehaviour: when the queued chunks were written, the next slice, the reset wait */
	struct misbehave_marks marks;
	uint64_t               slice_at_us;   /* the next slice may leave then */
	uint64_t               hold_since_ms; /* reset_after reached: waiting for the peer's ACKs */
	size_t                 retry_len;     /* a write that would block is retried with >= this */
	/* conn_watch_peer: polls the socket while the service waits but does not read */
	struct event           probe_ev;
	int                    probe_set;     /* probe_ev assigned */
};

struct conn {
	uint64_t               id;            /* never reused */
	int                    fd;
	enum conn_state        state;
	enum conn_reason       reason;        /* for the close line; set before or at close */
	unsigned               flags;         /* CONN_F_* */
	int                    refs;
	const struct service  *svc;
	void                  *svc_data;
	const void            *svc_conf;      /* during on_open only */
	const char            *owner_name;
	void                  *owner;
	const struct conn_io  *io;            /* plain or TLS transport */
	void                  *io_data;       /* SSL * for TLS */

	struct evbuffer       *out;           /* pending output */
	struct event           read_ev;
	struct event           write_ev;
	struct event           timer_ev;      /* idle / linger / handshake timeouts */
	uint64_t               created_ms;
	uint64_t               last_active_ms;
	uint64_t               idle_timeout_ms;
	uint64_t               bytes_in;
	uint64_t               bytes_out;
	uint64_t               max_bytes;     /* in + out; 0: none */
	void                  *owner_data;    /* the owner's, e.g. its source-table entry */
	struct conn_ext       *ext;           /* NULL until needed */
	struct misbehave      *mb;            /* the owner's misbehaviour, if picked for it */
	uint64_t               mb_rng;        /* this connection's draws (jitter) */

	union {
		struct sockaddr     sa;
		struct sockaddr_in  sin;
		struct sockaddr_in6 sin6;
	}                      peer;
	socklen_t              peer_len;

	TAILQ_ENTRY(conn)      entry;         /* live connections, accept order */
	struct conn           *hnext;         /* id hash chain */
	struct conn           *dnext;         /* deferred close or free list */
};
TAILQ_HEAD(conn_list, conn);

static struct event_base *conn_base;
static struct conn_list   conn_live = TAILQ_HEAD_INITIALIZER(conn_live);
static struct conn      **conn_hash;
static size_t             conn_hash_size;
static uint64_t           conn_next_id = 1;
static uint64_t           conn_current;
static uint64_t           conn_total;
static uint64_t           conn_bytes_in;
static uint64_t           conn_bytes_out;
static uint64_t           conn_closed[CONN_R_COUNT];
static size_t             conn_high = 256 * 1024;
static size_t             conn_low = 64 * 1024;
static uint64_t           conn_linger_ms = 2000;
static int                conn_log_open_close;
static char               conn_scratch[CONN_READ_SIZE];
static conn_closed_cb     conn_closed_hook;
/* Deferred work, run by conn_flush_cb when the outermost callback returns. */
static struct conn       *conn_close_list, **conn_close_tail = &conn_close_list;
static struct conn       *conn_free_list;
static int                conn_flush_slot = -1;
static const struct timeval *conn_probe_tv; /* common timeout: one timer-heap slot for all */

static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_read_body(struct conn *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_timer_cb(evutil_socket_t, short, void *);
static void conn_probe_cb(evutil_socket_t, short, void *);
static void conn_update_probe(struct conn *c);
static void conn_flushed(struct conn *c);
static void conn_after_write(struct conn *c);
static void conn_handshake(struct conn *c);
static void conn_shape_init(struct conn *c, uint64_t rate);
static int  conn_sched_on(const struct conn *c);
static void conn_sched_write(struct conn *c, const void *data, size_t len);
static void conn_sched_send(struct conn *c);
static void conn_shape_cb(evutil_socket_t, short, void *);
static void conn_mb_close(struct conn *c);
static void conn_preface(struct conn *c);
static void conn_preface_end(struct conn_ext *x);
static enum conn_reason conn_errno_reason(int err);

static const char *conn_state_names[CONN_S_COUNT] = {
	[CONN_S_NEW] = "new",
	[CONN_S_PREFACE] = "preface",
	[CONN_S_HANDSHAKE] = "handshake",
	[CONN_S_OPEN] = "open",
	[CONN_S_HALFCLOSED] = "half-closed",
	[CONN_S_DRAINING] = "draining",
	[CONN_S_FLUSHING] = "flushing",
	[CONN_S_LINGER] = "linger",
	[CONN_S_CLOSING] = "closing",
	[CONN_S_CLOSED] = "closed",
	[CONN_S_FREEING] = "freeing",
};

static const char *conn_reason_names[CONN_R_COUNT] = {
	[CONN_R_NONE] = "none",
	[CONN_R_EOF] = "eof",
	[CONN_R_FINISHED] = "finished",
	[CONN_R_RESET] = "reset",
	[CONN_R_TIMEOUT] = "timeout",
	[CONN_R_IO_ERROR] = "io-error",
	[CONN_R_IDLE_TIMEOUT] = "idle-timeout",
	[CONN_R_HANDSHAKE_TIMEOUT] = "handshake-timeout",
	[CONN_R_HANDSHAKE_FAILED] = "handshake-failed",
	[CONN_R_TLS_SETUP] = "tls-setup-failed",
	[CONN_R_TLS_HANDSHAKE] = "tls-handshake-failed",
	[CONN_R_TLS_PLAINTEXT] = "tls-plaintext",
	[CONN_R_TLS_VERSION] = "tls-version",
	[CONN_R_TLS_NO_CLIENT_CERT] = "tls-no-client-cert",
	[CONN_R_TLS_BAD_CLIENT_CERT] = "tls-bad-client-cert",
	[CONN_R_TLS_TRUNCATED] = "tls-truncated",
	[CONN_R_SHUTDOWN] = "shutdown",
	[CONN_R_SHUTDOWN_TIMEOUT] = "shutdown-timeout",
	[CONN_R_SHUTDOWN_NOW] = "shutdown-now",
	[CONN_R_EXIT] = "exit",
	[CONN_R_ADMIN_KILL] = "admin-kill",
	[CONN_R_MAX_BYTES] = "max-bytes",
	[CONN_R_MAX_LIFETIME] = "max-lifetime",
	[CONN_R_LINE_TIMEOUT] = "line-timeout",
	[CONN_R_PROXY_TIMEOUT] = "proxy-timeout",
	[CONN_R_PROXY_HEADER] = "proxy-header",
	[CONN_R_REFUSED] = "refused",
	[CONN_R_AUTH] = "auth-failed",
	[CONN_R_MB_RESET] = "misbehave-reset",
	[CONN_R_MB_CLOSE] = "misbehave-close",
	[CONN_R_OOM] = "oom",
};

/*
 * The transition table: conn_transitions[from] is the set of states `from`
 * may move to. Every live state may also move to CLOSING.
 */
#define B(s)	(1u << (s))
#define CONN_LIVE_TO_CLOSING	B(CONN_S_CLOSING)
static const unsigned conn_transitions[CONN_S_COUNT] = {
	[CONN_S_NEW] = B(CONN_S_PREFACE) | B(CONN_S_HANDSHAKE) | B(CONN_S_OPEN) |
	    CONN_LIVE_TO_CLOSING,
	[CONN_S_PREFACE] = B(CONN_S_HANDSHAKE) | B(CONN_S_OPEN) | CONN_LIVE_TO_CLOSING,
	[CONN_S_HANDSHAKE] = B(CONN_S_OPEN) | CONN_LIVE_TO_CLOSING,
	[CONN_S_OPEN] = B(CONN_S_HALFCLOSED) | B(CONN_S_DRAINING) | CONN_LIVE_TO_CLOSING,
	[CONN_S_HALFCLOSED] = B(CONN_S_FLUSHING) | CONN_LIVE_TO_CLOSING,
	[CONN_S_DRAINING] = B(CONN_S_FLUSHING) | B(CONN_S_LINGER) | CONN_LIVE_TO_CLOSING,
	[CONN_S_FLUSHING] = CONN_LIVE_TO_CLOSING,
	[CONN_S_LINGER] = CONN_LIVE_TO_CLOSING,
	[CONN_S_CLOSING] = B(CONN_S_CLOSED),
	[CONN_S_CLOSED] = B(CONN_S_FREEING),
	[CONN_S_FREEING] = 0,
};

/* What each state does with input and output. */
#define CONN_P_READ     0x1  /* the read event is wanted (unless paused, in OPEN) */
#define CONN_P_SERVICE  0x2  /* the service runs: on_data, on_drain */
#define CONN_P_WRITE    0x4  /* output may be queued and sent */
#define CONN_P_IDLE     0x8  /* the idle timeout applies */
static const unsigned conn_props[CONN_S_COUNT] = {
	[CONN_S_NEW] = 0,
	[CONN_S_PREFACE] = CONN_P_READ,
	[CONN_S_HANDSHAKE] = CONN_P_READ | CONN_P_WRITE,
	[CONN_S_OPEN] = CONN_P_READ | CONN_P_SERVICE | CONN_P_WRITE | CONN_P_IDLE,
	[CONN_S_HALFCLOSED] = CONN_P_SERVICE | CONN_P_WRITE | CONN_P_IDLE,
	[CONN_S_DRAINING] = CONN_P_READ | CONN_P_WRITE | CONN_P_IDLE,
	[CONN_S_FLUSHING] = CONN_P_WRITE | CONN_P_IDLE,
	[CONN_S_LINGER] = CONN_P_READ,
	[CONN_S_CLOSING] = 0,
	[CONN_S_CLOSED] = 0,
	[CONN_S_FREEING] = 0,
};

/* ---------------------------------------------------------------- plain io */

static ssize_t
conn_plain_read(struct conn *c, void *buf, size_t len)
{
	return read(c->fd, buf, len);
}

static ssize_t
conn_plain_write(struct conn *c, const void *buf, size_t len)
{
	return send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t
conn_plain_write_buf(struct conn *c, struct evbuffer *buf)
{
	return evbuffer_write(buf, c->fd);
}

static int
conn_plain_shutdown(struct conn *c)
{
	return shutdown(c->fd, SHUT_WR);
}

static void
conn_plain_free(struct conn *c)
{
}

const struct conn_io conn_io_plain = {
	.name = "plain",
	.read = conn_plain_read,
	.write = conn_plain_write,
	.write_buf = conn_plain_write_buf,
	.shutdown = conn_plain_shutdown,
	.free = conn_plain_free,
};

/* ---------------------------------------------------------------- names */

const char *
conn_state_name(enum conn_state st)
{
	return (unsigned)st < CONN_S_COUNT ? conn_state_names[st] : "?";
}

const char *
conn_reason_name(enum conn_reason r)
{
	return (unsigned)r < CONN_R_COUNT ? conn_reason_names[r] : "?";
}

int
conn_state_allowed(enum conn_state from, enum conn_state to)
{
	if ((unsigned)from >= CONN_S_COUNT || (unsigned)to >= CONN_S_COUNT)
		return 0;
	return (conn_transitions[from] & B(to)) != 0;
}

/* ---------------------------------------------------------------- table */

/* Coarse monotonic milliseconds, cheap enough for every callback. */
static uint64_t
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
conn_hash_insert(struct conn *c)
{
	size_t b = (size_t)(c->id & (conn_hash_size - 1));

	c->hnext = conn_hash[b];
	conn_hash[b] = c;
}

/*
 * Ids are sequential, so id & mask spreads them evenly; grow at load 1.
 * Out of memory the table keeps its size (longer chains) and tries again
 * at the next connection.
 */
static void
conn_hash_grow(void)
{
	struct conn **old = conn_hash, **nh, *c, *next;
	size_t oldsize = conn_hash_size, i, size = oldsize ? oldsize * 2 : CONN_HASH_INIT;

	if ((nh = util_calloc(size, sizeof(*nh))) == NULL) {
		if (oldsize == 0)
			fatalx("out of memory (connection table)");
		return;
	}
	conn_hash = nh;
	conn_hash_size = size;
	for (i = 0; i < oldsize; i++) {
		for (c = old[i]; c != NULL; c = next) {
			next = c->hnext;
			conn_hash_insert(c);
		}
	}
	free(old);
}

static void
conn_hash_remove(struct conn *c)
{
	struct conn **pp = &conn_hash[c->id & (conn_hash_size - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

struct conn *
conn_find(uint64_t id)
{
	struct conn *c;

	if (conn_hash == NULL)
		return NULL;
	for (c = conn_hash[id & (conn_hash_size - 1)]; c != NULL; c = c->hnext)
		if (c->id == id)
			return conn_is_alive(c) ? c : NULL;
	return NULL;
}

size_t
conn_count(void)
{
	return (size_t)conn_current;
}

void
conn_set_limits(size_t high, size_t low, uint64_t linger_ms)
{
	conn_high = high;
	conn_low = low;
	conn_linger_ms = linger_ms;
}

void
conn_set_log_connections(int on)
{
	conn_log_open_close = on;
}

void
conn_set_closed_hook(conn_closed_cb cb)
{
	conn_closed_hook = cb;
}

/* ---------------------------------------------------------------- accessors */

uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

void *
conn_svc_data(const struct conn *c)
{
	return c->svc_data;
}

void
conn_set_svc_data(struct conn *c, void *data)
{
	c->svc_data = data;
}

const void *
conn_svc_conf(const struct conn *c)
{
	DEBUG_ASSERT(c->svc_conf != NULL);
	return c->svc_conf;
}

const char *
conn_owner_name(const struct conn *c)
{
	return c->owner_name;
}

enum conn_state
conn_state(const struct conn *c)
{
	return c->state;
}

enum conn_reason
conn_reason(const struct conn *c)
{
	return c->reason;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

void *
conn_io_data(const struct conn *c)
{
	return c->io_data;
}

int
conn_is_alive(const struct conn *c)
{
	return c->state < CONN_S_CLOSING;
}

const char *
conn_peer_str(const struct conn *c, char *buf, size_t size)
{
	if (c->flags & CONN_F_UNIX) {
		snprintf(buf, size, "unix");
		return buf;
	}
	return addr_format(&c->peer.sa, c->peer_len, buf, size);
}

void
conn_describe(const void *arg, struct debug_where *w)
{
	const struct conn *c = arg;

	w->conn_id = c->id;
	snprintf(w->listener, sizeof(w->listener), "%s", c->owner_name);
	conn_peer_str(c, w->peer, sizeof(w->peer));
}

/* ---------------------------------------------------------------- events */

/*
 * Input the transport already holds (TLS records read ahead) raises no
 * socket event: when reading is on, run the read callback anyway.
 */
static void
conn_kick_read(struct conn *c)
{
	if ((c->flags & CONN_F_READING) && c->io->pending != NULL && c->io->pending(c) > 0)
		event_active(&c->read_ev, EV_READ, 1);
}

/* Arm or disarm the read and write events from the state and the flags. */
static void
conn_update_io(struct conn *c)
{
	unsigned p = conn_props[c->state];
	size_t pending;
	int rd, wr = 0;

	rd = (p & CONN_P_READ) && !(c->state == CONN_S_OPEN &&
	    (c->flags & (CONN_F_READ_PAUSED | CONN_F_SVC_PAUSED))) && !(c->flags & CONN_F_AT_MAX);
	/*
	 * Output waiting for the shape timer does not want the socket; nor does
	 * a producer waiting for it to drain (on_drain comes from the timer's
	 * sends), or writability would wake the loop over and over.
	 */
	if (p & CONN_P_WRITE) {
		pending = evbuffer_get_length(c->out);
		wr = (pending > 0 && !(c->flags & CONN_F_SHAPE_WAIT)) ||
		    (pending == 0 && (c->flags & CONN_F_WANT_DRAIN)) ||
		    (c->flags & CONN_F_IO_WANT_WRITE);
	}
	if (c->state == CONN_S_HANDSHAKE)
		wr = (c->flags & CONN_F_IO_WANT_WRITE) != 0;
	if (__builtin_expect((c->flags & CONN_F_MB_HOLD) != 0, 0))
		rd = wr = 0;
	/* event_add allocates (libevent's per-descriptor map): out of memory, close. */
	if (rd && !(c->flags & CONN_F_READING)) {
		if (event_add(&c->read_ev, NULL) == -1) {
			conn_close_oom(c, "event_add");
			return;
		}
		c->flags |= CONN_F_READING;
		conn_kick_read(c);
	} else if (!rd && (c->flags & CONN_F_READING)) {
		event_del(&c->read_ev);
		c->flags &= ~CONN_F_READING;
	}
	if (wr && !(c->flags & CONN_F_WRITING)) {
		if (event_add(&c->write_ev, NULL) == -1) {
			conn_close_oom(c, "event_add");
			return;
		}
		c->flags |= CONN_F_WRITING;
	} else if (!wr && (c->flags & CONN_F_WRITING)) {
		event_del(&c->write_ev);
		c->flags &= ~CONN_F_WRITING;
	}
	conn_update_probe(c);
}

/* A closing connection's timer stays off: conn_set_state(CLOSING) removed it for good. */
static void
conn_arm_timer(struct conn *c, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	if (!conn_is_alive(c))
		return;
	/* A connection without its timer would never time out: close it instead. */
	if (event_add(&c->timer_ev, &tv) == -1)
		conn_close_oom(c, "timer");
}

/* A connection's extension, its shape timer assigned; NULL when out of memory. */
static struct conn_ext *
conn_ext_new(struct conn *c)
{
	struct conn_ext *x;

	if ((x = util_calloc(1, sizeof(*x))) != NULL)
		evtimer_assign(&x->shape_ev, conn_base, conn_shape_cb, c);
	return x;
}

/* NULL (and the connection closing, oom) when out of memory. */
static struct conn_ext *
conn_ext(struct conn *c)
{
	if (c->ext == NULL && (c->ext = conn_ext_new(c)) == NULL)
		conn_close_oom(c, "connection state");
	return c->ext;
}

/*
 * Arm the timer for the earliest of the idle timeout (lazy: activity only
 * stamps last_active_ms), max_lifetime, the service's deadline and a
 * misbehaviour's close_after (read live: a change re-arms it).
 */
static void
conn_arm_wake(struct conn *c)
{
	uint64_t now = conn_now_ms(), at = 0;

	if (c->idle_timeout_ms > 0)
		at = c->last_active_ms + c->idle_timeout_ms;
	if (c->ext != NULL && c->ext->lifetime_at != 0 && (at == 0 || c->ext->lifetime_at < at))
		at = c->ext->lifetime_at;
	if (c->ext != NULL && c->ext->deadline_at != 0 && (at == 0 || c->ext->deadline_at < at))
		at = c->ext->deadline_at;
	if (c->mb != NULL && c->mb->conf.close_after_ms > 0 && !(c->flags & CONN_F_MB_CUT) &&
	    (at == 0 || c->created_ms + c->mb->conf.close_after_ms < at))
		at = c->created_ms + c->mb->conf.close_after_ms;
	if (at == 0)
		event_del(&c->timer_ev);
	else
		conn_arm_timer(c, at > now ? at - now : 0);
}

/* The one place a state changes: checked against the table, logged, events re-armed. */
static void
conn_set_state(struct conn *c, enum conn_state st)
{
	if (!conn_state_allowed(c->state, st))
		fatalx("conn=%" PRIu64 " illegal state change %s -> %s", c->id,
		    conn_state_name(c->state), conn_state_name(st));
	log_debug(LOG_S_CONN, "conn=%" PRIu64 " state %s -> %s", c->id,
	    conn_state_name(c->state), conn_state_name(st));
	c->state = st;
	if (st == CONN_S_LINGER)
		conn_arm_timer(c, conn_linger_ms);
	else if (st >= CONN_S_CLOSING)
		event_del(&c->timer_ev);
	if (st < CONN_S_CLOSED)
		conn_update_io(c);
}

/* ---------------------------------------------------------------- lifetime */

static void conn_flush_cb(void);
static const struct stats_family conn_families[5];

void
conn_init(struct event_base *base)
{
	size_t i;

	struct timeval tv = { CONN_PEER_PROBE_MS / 1000, (CONN_PEER_PROBE_MS % 1000) * 1000 };

	conn_base = base;
	conn_probe_tv = event_base_init_common_timeout(base, &tv);
	if (conn_hash == NULL)
		conn_hash_grow();
	conn_flush_slot = loop_flush_hook(conn_flush_cb);
	for (i = 0; i < ARRAY_LEN(conn_families); i++)
		stats_register(&conn_families[i]);
}

struct conn *
conn_new(const struct conn_params *p, int fd, const struct sockaddr *peer, socklen_t plen)
{
	struct conn *c;
	int one = 1;

	if ((c = util_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->out = evbuffer_new()) == NULL) {
		util_oom();
		free(c);
		return NULL;
	}
	c->id = conn_next_id++;
	c->fd = fd;
	c->state = CONN_S_NEW;
	c->refs = 1;
	c->svc = p->svc;
	c->svc_conf = p->svc_conf;
	c->owner = p->owner;
	c->owner_name = p->owner_name;
	c->io = &conn_io_plain;
	if (peer != NULL && peer->sa_family == AF_UNIX)
		c->flags |= CONN_F_UNIX;
	else if (peer != NULL && plen <= sizeof(c->peer)) {
		memcpy(&c->peer, peer, plen);
		c->peer_len = plen;
	}
	if (!(c->flags & CONN_F_UNIX))
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	event_assign(&c->read_ev, conn_base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	event_assign(&c->write_ev, conn_base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	evtimer_assign(&c->timer_ev, conn_base, conn_timer_cb, c);
	c->created_ms = c->last_active_ms = conn_now_ms();
	c->idle_timeout_ms = p->idle_timeout_ms;
	c->max_bytes = p->max_bytes;
	c->owner_data = p->owner_data;
	if (p->max_lifetime_ms > 0 || p->rate_limit > 0) {
		/* Before the table knows it: out of memory, it is simply undone. */
		if ((c->ext = conn_ext_new(c)) == NULL) {
			evbuffer_free(c->out);
			free(c);
			return NULL;
		}
		if (p->max_lifetime_ms > 0)
			c->ext->lifetime_at = c->created_ms + p->max_lifetime_ms;
		if (p->rate_limit > 0)
			conn_shape_init(c, p->rate_limit);
	}
	c->mb = p->misbehave;
	c->mb_rng = p->misbehave_state;
	/* A misbehaviour turned on later sets it then (conn_misbehave_changed). */
	if (p->rate_limit > 0 || (c->mb != NULL && c->mb->on))
		c->flags |= CONN_F_SCHED;

	if (conn_current >= conn_hash_size)
		conn_hash_grow();
	conn_hash_insert(c);
	TAILQ_INSERT_TAIL(&conn_live, c, entry);
	conn_current++;
	conn_total++;

	if (log_enabled(LOG_S_CONN, conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG)) {
		char pbuf[ADDR_STRLEN];

		log_msg(conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG, LOG_S_CONN,
		    "conn=%" PRIu64 " open listener=%s peer=%s%s", c->id, c->owner_name,
		    conn_peer_str(c, pbuf, sizeof(pbuf)),
		    c->mb != NULL && c->mb->on ? " misbehave=yes" : "");
	}
	conn_arm_wake(c);
	return c;
}

void
conn_start(struct conn *c)
{
	/* Closed while setting up (out of memory arming a timer): it never opens. */
	if (!conn_is_alive(c))
		return;
	conn_set_state(c, CONN_S_OPEN);
	/* Arming its events may have failed (oom): on_close runs, on_open never did. */
	if (conn_is_alive(c) && c->svc->on_open != NULL)
		c->svc->on_open(c);
	/* The options belong to the listener's configuration, which a reload replaces. */
	c->svc_conf = NULL;
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

static void
conn_free(struct conn *c)
{
	DEBUG_ASSERT(c->refs == 0 && c->state == CONN_S_FREEING);
	if (c->ext != NULL) {
		free(c->ext->via);
		misbehave_marks_clear(&c->ext->marks);
	}
	free(c->ext);
	evbuffer_free(c->out);
	free(c);
}

void
conn_unref(struct conn *c)
{
	DEBUG_ASSERT(c->refs > 0);
	if (--c->refs > 0)
		return;
	if (c->state != CONN_S_CLOSED)
		fatalx("conn=%" PRIu64 " last reference dropped while %s", c->id,
		    conn_state_name(c->state));
	/* Never free on the caller's stack: when the outermost callback returns. */
	conn_set_state(c, CONN_S_FREEING);
	c->dnext = conn_free_list;
	conn_free_list = c;
	loop_defer(conn_flush_slot);
}

static void
conn_log_close(struct conn *c)
{
	enum log_level lvl = conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG;
	char pbuf[ADDR_STRLEN];

	if (!log_enabled(LOG_S_CONN, lvl))
		return;
	log_msg(lvl, LOG_S_CONN, "conn=%" PRIu64 " close listener=%s peer=%s reason=%s "
	    "bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " duration_ms=%" PRIu64 "%s",
	    c->id, c->owner_name, conn_peer_str(c, pbuf, sizeof(pbuf)),
	    conn_reason_name(c->reason), c->bytes_in, c->bytes_out,
	    conn_now_ms() - c->created_ms,
	    c->ext != NULL && c->ext->via != NULL ? c->ext->via : "");
}

/* The real close, from conn_flush_cb: nothing above us on the stack holds c. */
static void
conn_close_now(struct conn *c)
{
	DEBUG_ASSERT(c->state == CONN_S_CLOSING && c->fd != -1);
	conn_set_state(c, CONN_S_CLOSED);
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	if (c->ext != NULL)
		event_del(&c->ext->shape_ev);
	if (c->ext != NULL && c->ext->probe_set)
		event_del(&c->ext->probe_ev);
	if (c->ext != NULL)
		conn_preface_end(c->ext);
	c->flags &= ~(CONN_F_READING | CONN_F_WRITING | CONN_F_SHAPE_WAIT | CONN_F_PROBING);
	/* The service cancels its queued jobs here; running ones keep a reference. */
	if (c->svc->on_close != NULL)
		c->svc->on_close(c);
	c->io->free(c);
	c->io_data = NULL;
	if (c->reason == CONN_R_MB_RESET) {
		/* reset_after: an abortive close sends RST, as a crashed peer would */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	conn_hash_remove(c);
	TAILQ_REMOVE(&conn_live, c, entry);
	DEBUG_ASSERT(conn_current > 0);
	conn_current--;
	conn_closed[c->reason]++;
	conn_log_close(c);
	if (conn_closed_hook != NULL)
		conn_closed_hook(c, c->owner);
	c->owner = NULL;
	c->owner_name = "?";
	conn_unref(c);
}

/* loop.c's flush hook: pending closes, then pending frees. */
static void
conn_flush_cb(void)
{
	struct conn *c;

	while ((c = conn_close_list) != NULL) {
		conn_close_list = c->dnext;
		if (conn_close_list == NULL)
			conn_close_tail = &conn_close_list;
		c->dnext = NULL;
		conn_close_now(c);
	}
	while ((c = conn_free_list) != NULL) {
		conn_free_list = c->dnext;
		conn_free(c);
	}
}

void
conn_close(struct conn *c, enum conn_reason reason)
{
	if (debug_wrong_thread(__func__))
		return;
	if (c->state >= CONN_S_CLOSING)
		return;
	c->reason = reason;
	conn_set_state(c, CONN_S_CLOSING);
	c->flags &= ~(CONN_F_WANT_DRAIN | CONN_F_IO_WANT_WRITE);
	*conn_close_tail = c;
	conn_close_tail = &c->dnext;
	loop_defer(conn_flush_slot);
}

void
conn_close_oom(struct conn *c, const char *what)
{
	if (!conn_is_alive(c))
		return;
	log_warn(LOG_S_CONN, "conn=%" PRIu64 " out of memory what=%s", c->id, what);
	conn_close(c, CONN_R_OOM);
}

static enum conn_reason
conn_errno_reason(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
		return CONN_R_RESET;
	case ENOMEM:
		return CONN_R_OOM;
	case ETIMEDOUT:
		return CONN_R_TIMEOUT;
	default:
		return CONN_R_IO_ERROR;
	}
}

/* ---------------------------------------------------------------- writing */

/*
 * max_bytes: what the connection may still move, in + out, counting the
 * output already queued. Reads are cut to it and writes truncated to it, so
 * a connection moves exactly max_bytes at most; once it is used up, reading
 * stops and the connection closes (max-bytes) when the queued output is sent.
 */
static uint64_t
conn_budget(const struct conn *c)
{
	uint64_t used;

	if (c->max_bytes == 0)
		return UINT64_MAX;
	used = c->bytes_in + c->bytes_out + evbuffer_get_length(c->out);
	return used >= c->max_bytes ? 0 : c->max_bytes - used;
}

static void
conn_check_max_bytes(struct conn *c)
{
	if (c->max_bytes == 0 || !conn_is_alive(c) || conn_budget(c) > 0)
		return;
	if (!(c->flags & CONN_F_AT_MAX)) {
		c->flags |= CONN_F_AT_MAX;
		conn_update_io(c);
	}
	if (evbuffer_get_length(c->out) == 0)
		conn_close(c, CONN_R_MAX_BYTES);
}

static void
conn_account_out(struct conn *c, size_t n)
{
	c->bytes_out += n;
	conn_bytes_out += n;
	c->last_active_ms = conn_now_ms();
	conn_check_max_bytes(c);
}

/* Pause reading a client whose replies pile up (the caller re-arms the events). */
static void
conn_mark_high(struct conn *c)
{
	if (evbuffer_get_length(c->out) > conn_high && !(c->flags & CONN_F_READ_PAUSED)) {
		c->flags |= CONN_F_READ_PAUSED;
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " read paused pending=%zu", c->id,
		    evbuffer_get_length(c->out));
	}
}

static void
conn_check_high(struct conn *c)
{
	conn_mark_high(c);
	conn_update_io(c);
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	if (debug_wrong_thread(__func__))
		return;
	if (!(conn_props[c->state] & CONN_P_WRITE) || len == 0)
		return;
	if (c->max_bytes > 0 && c->state != CONN_S_HANDSHAKE && len > conn_budget(c)) {
		/* What does not fit in max_bytes is never sent. */
		len = (size_t)conn_budget(c);
		if (len == 0) {
			conn_check_max_bytes(c);
			return;
		}
	}
	if (__builtin_expect((c->flags & CONN_F_SCHED) != 0, 0) && conn_sched_on(c)) {
		conn_sched_write(c, data, len);
		conn_check_max_bytes(c);        /* queued output counts: reading stops at the budget */
		return;
	}
	/* Nothing queued: try the socket first, queue only what it refuses. */
	if (c->state != CONN_S_HANDSHAKE && evbuffer_get_length(c->out) == 0) {
		n = c->io->write(c, p, len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				/* Writing never closes: the close runs after this callback. */
				conn_close(c, conn_errno_reason(errno));
				return;
			}
			n = 0;
		}
		if (n > 0)
			conn_account_out(c, (size_t)n);
		if ((size_t)n == len)
			return;
		p += n;
		len -= (size_t)n;
	}
	if (evbuffer_add(c->out, p, len) == -1) {
		util_oom();
		conn_close_oom(c, "output buffer");
		return;
	}
	conn_check_high(c);
	conn_check_max_bytes(c);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[1024], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf)) {
		conn_write(c, buf, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = util_vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		conn_close_oom(c, "reply");
		return;
	}
	conn_write(c, big, (size_t)n);
	free(big);
}

size_t
conn_pending(const struct conn *c)
{
	return evbuffer_get_length(c->out);
}

int
conn_writable(const struct conn *c)
{
	return (conn_props[c->state] & CONN_P_SERVICE) && evbuffer_get_length(c->out) < conn_high &&
	    !(c->flags & CONN_F_AT_MAX);
}

void
conn_want_drain(struct conn *c)
{
	if (!(conn_props[c->state] & CONN_P_SERVICE))
		return;
	c->flags |= CONN_F_WANT_DRAIN;
	conn_update_io(c);
}

static void
conn_write_body(struct conn *c)
{
	ssize_t n;

	if (c->state == CONN_S_HANDSHAKE) {
		c->flags &= ~CONN_F_IO_WANT_WRITE;
		conn_update_io(c);
		conn_handshake(c);
		/* input that came with the end of the handshake may be buffered already */
		if (conn_is_alive(c))
			conn_kick_read(c);
		return;
	}
	if (c->flags & CONN_F_IO_WANT_WRITE) {
		/* the transport's read side was waiting for writability */
		c->flags &= ~CONN_F_IO_WANT_WRITE;
		if (c->flags & CONN_F_READING)
			conn_read_body(c);
		if (!conn_is_alive(c))
			return;
	}
	if ((c->flags & CONN_F_SCHED) && conn_sched_on(c)) {
		conn_sched_send(c);
		return;
	}
	if (evbuffer_get_length(c->out) > 0) {
		n = c->io->write_buf(c, c->out);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				conn_close(c, conn_errno_reason(errno));
			return;
		}
		conn_account_out(c, (size_t)n);
	}
	conn_after_write(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	LOOP_CB("conn_write_cb", conn_describe, c, conn_write_body(c));
}

/* After output made progress: resume reading, refill producers, finish. */
static void
conn_after_write(struct conn *c)
{
	size_t pending = evbuffer_get_length(c->out);

	if ((c->flags & CONN_F_READ_PAUSED) && pending <= conn_low) {
		c->flags &= ~CONN_F_READ_PAUSED;
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " read resumed pending=%zu", c->id, pending);
	}
	if ((c->flags & CONN_F_WANT_DRAIN) && pending <= conn_low &&
	    (conn_props[c->state] & CONN_P_SERVICE)) {
		c->flags &= ~CONN_F_WANT_DRAIN;
		if (c->svc->on_drain != NULL)
			c->svc->on_drain(c);
		pending = evbuffer_get_length(c->out);
	}
	if (!conn_is_alive(c))
		return;
	conn_update_io(c);
	if (pending == 0 && (c->state == CONN_S_DRAINING || c->state == CONN_S_FLUSHING))
		conn_flushed(c);
}

/* The service is done and all output is sent: close, or shut our side and linger. */
static void
conn_flushed(struct conn *c)
{
	/* A stalled connection sends nothing more, not even its FIN. */
	if (c->flags & CONN_F_MB_HOLD)
		return;
	if (c->state == CONN_S_FLUSHING) {
		conn_close(c, c->reason != CONN_R_NONE ? c->reason : CONN_R_EOF);
		return;
	}
	if (c->io->shutdown(c) == -1 && errno != ENOTCONN) {
		conn_close(c, conn_errno_reason(errno));
		return;
	}
	conn_set_state(c, CONN_S_LINGER);
}

void
conn_finish(struct conn *c)
{
	switch (c->state) {
	case CONN_S_HANDSHAKE:
		conn_close(c, CONN_R_SHUTDOWN);
		return;
	case CONN_S_OPEN:
		conn_set_state(c, CONN_S_DRAINING);
		break;
	case CONN_S_HALFCLOSED:
		conn_set_state(c, CONN_S_FLUSHING);
		break;
	default:
		return;
	}
	c->flags &= ~CONN_F_WANT_DRAIN;
	conn_update_io(c);
	if (evbuffer_get_length(c->out) == 0)
		conn_flushed(c);
}

void
conn_pause_read(struct conn *c)
{
	if (debug_wrong_thread(__func__))
		return;
	c->flags |= CONN_F_SVC_PAUSED;
	if (conn_is_alive(c))
		conn_update_io(c);
}

void
conn_resume_read(struct conn *c)
{
	if (debug_wrong_thread(__func__))
		return;
	c->flags &= ~CONN_F_SVC_PAUSED;
	if (conn_is_alive(c))
		conn_update_io(c);
}

/* ---------------------------------------------------------------- scheduled output */

/*
 * Output that may not leave as soon as the socket takes it goes through
 * the scheduler: rate_limit's token bucket and the owner's misbehaviour
 * (misbehave.h: delay and jitter, slices, reset_after, stall_after). The
 * bytes wait in the output buffer, so they count against the watermarks
 * (backpressure) and are never copied; for delays, marks over the buffer
 * say when each queued chunk was written. One timer per connection
 * (shape_ev) wakes the scheduler when the next byte may leave: never a
 * timer per chunk, never a sleep. Each write hands the transport one
 * contiguous piece (what is due, one slice, what the tokens allow, up to a
 * threshold), so TLS cuts its records at those bounds and never corrupts
 * one. Settings are read live at every decision: a change (admin
 * MISBEHAVE, reload) applies to every byte still queued.
 */

/* The connection's output goes through the scheduler now (CONN_F_SCHED set). */
static int
conn_sched_on(const struct conn *c)
{
	const struct conn_ext *x = c->ext;

	return (c->mb != NULL && c->mb->on) || (x != NULL && (x->rate > 0 || x->marks.n > 0)) ||
	    (c->flags & (CONN_F_MB_HOLD | CONN_F_MB_CUT)) != 0;
}

/*
 * rate_limit: output leaves at most `rate` bytes a second. A token bucket
 * holds up to a tenth of a second's worth (at least 1 byte); when it runs
 * dry the write event is dropped and the timer wakes when a useful amount
 * has refilled, so chargen produces only as fast as the shaper drains.
 */
static void
conn_shape_init(struct conn *c, uint64_t rate)
{
	struct conn_ext *x = conn_ext(c);

	x->rate = rate;
	x->cap = (rate / 10 > 0 ? rate / 10 : 1) * 1000;
	x->tokens = x->cap;
	x->stamp_us = util_now_us();
}

static void
conn_shape_refill(struct conn_ext *x)
{
	uint64_t now = util_now_us(), add;

	if (now <= x->stamp_us)
		return;
	/* rate bytes/s = rate milli-bytes/ms: (now - stamp) us * rate / 1000 milli-bytes */
	add = (now - x->stamp_us) * x->rate / 1000;
	x->tokens = x->tokens + add > x->cap ? x->cap : x->tokens + add;
	x->stamp_us = now;
}

/* Out of tokens: when a quarter of the bucket (or what is owed) is back. */
static uint64_t
conn_shape_wake(const struct conn_ext *x, size_t pending, uint64_t now)
{
	uint64_t want;

	want = (uint64_t)pending * 1000 < x->cap / 4 ? (uint64_t)pending * 1000 : x->cap / 4;
	if (want < 1000)
		want = 1000;
	/* milli-bytes at `rate` bytes/s: (want - tokens) * 1000 / rate microseconds */
	return now + (want - x->tokens) * 1000 / x->rate + 1;
}

static size_t
conn_min(size_t a, uint64_t b)
{
	return (uint64_t)a < b ? a : (size_t)b;
}

/* The bytes before the marks, then each mark that is due, in order (up to `cap`). */
static size_t
conn_mb_due(struct conn *c, size_t pending, size_t cap, uint64_t now, uint64_t *wake)
{
	struct conn_ext *x = c->ext;
	const struct misbehave_conf *mc = &c->mb->conf;
	struct misbehave_mark *m;
	uint64_t at, due = pending - x->marks.bytes;
	size_t i;

	for (i = 0; due < cap && (m = misbehave_marks_at(&x->marks, i)) != NULL; i++) {
		at = misbehave_due_us(m, mc->delay_ms * 1000, mc->jitter_ms * 1000);
		if (at > now) {
			*wake = at;
			break;
		}
		due += m->len;
	}
	return conn_min(cap, due);
}

/*
 * How many bytes may leave now: what is due, one slice, what the tokens
 * allow, up to reset_after or stall_after, 64 KiB. 0: nothing now, and
 * *wake says when to look again (0: when the socket or new output says so).
 */
static size_t
conn_sched_allow(struct conn *c, uint64_t now, uint64_t *wake)
{
	struct conn_ext *x = c->ext;
	const struct misbehave_conf *mc = c->mb != NULL ? &c->mb->conf : NULL;
	size_t pending = evbuffer_get_length(c->out), allow = pending;

	if (pending == 0)
		return 0;
	allow = conn_min(allow, CONN_READ_SIZE);
	if (x->marks.n > 0 && (allow = conn_mb_due(c, pending, allow, now, wake)) == 0)
		return 0;
	if (mc != NULL && mc->slice_size > 0) {
		if (now < x->slice_at_us) {
			*wake = x->slice_at_us;
			return 0;
		}
		allow = conn_min(allow, mc->slice_size);
	}
	if (x->rate > 0) {
		if (x->tokens < 1000) {
			*wake = conn_shape_wake(x, pending, now);
			return 0;
		}
		allow = conn_min(allow, x->tokens / 1000);
	}
	if (mc != NULL && mc->reset_after > c->bytes_out)
		allow = conn_min(allow, mc->reset_after - c->bytes_out);
	if (mc != NULL && mc->stall_after > c->bytes_out)
		allow = conn_min(allow, mc->stall_after - c->bytes_out);
	/* A write that would block is retried with at least the same bytes (OpenSSL's rule). */
	if (allow < x->retry_len)
		allow = conn_min(pending, x->retry_len);
	return allow;
}

/* A misbehaviour acted on this connection: count it once. */
static void
conn_mb_seen(struct conn *c)
{
	if (c->flags & CONN_F_MB_SEEN)
		return;
	c->flags |= CONN_F_MB_SEEN;
	c->mb->connections++;
}

/* n bytes left from the front of the buffer: the marks, tokens, the next slice. */
static void
conn_sched_sent(struct conn *c, size_t n, uint64_t now)
{
	struct conn_ext *x = c->ext;
	uint64_t unmarked = evbuffer_get_length(c->out) - x->marks.bytes;

	evbuffer_drain(c->out, n);
	if (n > unmarked) {
		misbehave_marks_consume(&x->marks, n - unmarked);
		c->mb->delayed_bytes += n - unmarked;
		conn_mb_seen(c);
	}
	if (x->rate > 0)
		x->tokens -= (uint64_t)n * 1000;
	if (c->mb != NULL && c->mb->conf.slice_size > 0) {
		x->slice_at_us = now + c->mb->conf.slice_delay_ms * 1000;
		conn_mb_seen(c);
	}
	conn_account_out(c, n);
}

/* -1: the timer could not be added (libevent allocates: out of memory). */
static int
conn_shape_arm(struct conn *c, uint64_t wait_us)
{
	struct timeval tv = { .tv_sec = (time_t)(wait_us / 1000000),
	    .tv_usec = (suseconds_t)(wait_us % 1000000) };

	if (evtimer_add(&c->ext->shape_ev, &tv) == -1)
		return -1;
	c->flags |= CONN_F_SHAPE_WAIT;
	return 0;
}

/* reset_after: once the peer has acknowledged every byte (bounded by linger_timeout), RST. */
static void
conn_mb_reset_wait(struct conn *c)
{
	int queued = 0;

	if (ioctl(c->fd, SIOCOUTQ, &queued) == -1)
		queued = 0;
	if (queued > 0 && conn_now_ms() - c->ext->hold_since_ms < conn_linger_ms &&
	    conn_shape_arm(c, 1000) == 0)
		return;
	c->mb->resets++;
	conn_close(c, CONN_R_MB_RESET);
}

/* Hold: nothing more is sent or read; the idle timer keeps running. */
static void
conn_mb_hold(struct conn *c, unsigned flag)
{
	c->flags |= CONN_F_MB_HOLD | flag;
	c->flags &= ~CONN_F_SHAPE_WAIT;
	event_del(&c->ext->shape_ev);
	conn_mb_seen(c);
	conn_update_io(c);
	if (log_enabled(LOG_S_CONN, conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG))
		log_msg(conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG, LOG_S_CONN,
		    "conn=%" PRIu64 " misbehave %s listener=%s bytes_out=%" PRIu64, c->id,
		    flag ? "reset" : "stall", c->owner_name, c->bytes_out);
}

/* reset_after or stall_after reached: 1 if the connection now holds. */
static int
conn_mb_tripped(struct conn *c)
{
	const struct misbehave_conf *mc = &c->mb->conf;

	if (mc->reset_after > 0 && c->bytes_out >= mc->reset_after) {
		conn_mb_hold(c, CONN_F_MB_RESET);
		c->ext->hold_since_ms = conn_now_ms();
		conn_mb_reset_wait(c);
		return 1;
	}
	if (mc->stall_after > 0 && c->bytes_out >= mc->stall_after) {
		c->mb->stalls++;
		conn_mb_hold(c, 0);
		return 1;
	}
	return 0;
}

/* Send what may leave now; then wait for the socket, or for the timer. */
static void
conn_sched_send(struct conn *c)
{
	struct conn_ext *x = conn_ext(c);
	uint64_t now = util_now_us(), wake = 0;
	unsigned char *p;
	size_t chunk;
	ssize_t n;

	if (c->state == CONN_S_HANDSHAKE || !(conn_props[c->state] & CONN_P_WRITE) ||
	    (c->flags & CONN_F_MB_HOLD) || x == NULL)
		return;
	c->flags |= CONN_F_SHAPING;
	if (x->rate > 0)
		conn_shape_refill(x);
	for (;;) {
		if (c->mb != NULL && conn_mb_tripped(c))
			goto out;
		if ((chunk = conn_sched_allow(c, now, &wake)) == 0)
			break;
		if ((p = evbuffer_pullup(c->out, (ssize_t)chunk)) == NULL) {
			util_oom();
			conn_close_oom(c, "output buffer");
			goto out;
		}
		n = c->io->write(c, p, chunk);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(c, conn_errno_reason(errno));
			goto out;
		}
		x->retry_len = n < 0 ? chunk : chunk - (size_t)n;
		if (n > 0)
			conn_sched_sent(c, (size_t)n, now);
		if (!conn_is_alive(c))
			goto out;
		if (x->retry_len > 0) {
			wake = 0;       /* the socket is full: wait for it */
			break;
		}
	}
	if (wake != 0 && evbuffer_get_length(c->out) > 0 &&
	    conn_shape_arm(c, wake > now ? wake - now : 0) == -1) {
		conn_close_oom(c, "timer");
		goto out;
	}
	conn_update_io(c);
	/* may run the producer (on_drain): its writes only queue, sent on the next write event */
	conn_after_write(c);
out:
	c->flags &= ~CONN_F_SHAPING;
}

/* Queue output on a scheduled connection; send it if nothing is waiting already. */
static void
conn_sched_write(struct conn *c, const void *data, size_t len)
{
	struct conn_ext *x;
	const struct misbehave *m = c->mb;

	if (c->flags & CONN_F_MB_CUT)
		return;         /* close_after fired: what is still written goes nowhere */
	if ((x = conn_ext(c)) == NULL)
		return;
	if (evbuffer_add(c->out, data, len) == -1) {
		util_oom();
		conn_close_oom(c, "output buffer");
		return;
	}
	/* Marked while delays apply, and while marks remain (they cover the tail). */
	if (m != NULL && (m->conf.delay_ms > 0 || m->conf.jitter_ms > 0 || x->marks.n > 0) &&
	    misbehave_marks_push(&x->marks, util_now_us(), len,
	    (uint32_t)(misbehave_next(&c->mb_rng) >> 32)) == -1) {
		conn_close_oom(c, "output marks");
		return;
	}
	conn_mark_high(c);
	/*
	 * conn_sched_send re-arms the events once it knows whether it waits for
	 * a timer. A producer writing from its own on_drain only queues: the
	 * next write event or timer sends it (no recursion).
	 */
	if (c->state == CONN_S_HANDSHAKE ||
	    (c->flags & (CONN_F_SHAPE_WAIT | CONN_F_MB_HOLD | CONN_F_SHAPING)))
		conn_update_io(c);
	else
		conn_sched_send(c);
}

static void
conn_shape_body(struct conn *c)
{
	c->flags &= ~CONN_F_SHAPE_WAIT;
	if (!conn_is_alive(c))
		return;
	if (c->flags & CONN_F_MB_RESET)
		conn_mb_reset_wait(c);
	else
		conn_sched_send(c);
}

static void
conn_shape_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	LOOP_CB("conn_shape_cb", conn_describe, c, conn_shape_body(c));
}

/*
 * close_after: a clean close. Output not yet sent is dropped (the server
 * "goes away" mid-response), the write side is shut (FIN, or close_notify
 * then FIN), input is drained for linger_timeout as after any finish.
 */
static void
conn_mb_close(struct conn *c)
{
	if (c->flags & CONN_F_MB_RESET)
		return;         /* a reset is already under way */
	c->mb->closes++;
	conn_mb_seen(c);
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
	if (c->ext != NULL) {
		misbehave_marks_clear(&c->ext->marks);
		event_del(&c->ext->shape_ev);
		c->ext->retry_len = 0;
	}
	c->flags &= ~(CONN_F_MB_HOLD | CONN_F_SHAPE_WAIT | CONN_F_WANT_DRAIN);
	c->flags |= CONN_F_MB_CUT;
	if (c->reason == CONN_R_NONE)
		c->reason = CONN_R_MB_CLOSE;
	if (log_enabled(LOG_S_CONN, conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG))
		log_msg(conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG, LOG_S_CONN,
		    "conn=%" PRIu64 " misbehave close listener=%s bytes_out=%" PRIu64, c->id,
		    c->owner_name, c->bytes_out);
	switch (c->state) {
	case CONN_S_OPEN:
		conn_set_state(c, CONN_S_DRAINING);
		break;
	case CONN_S_HALFCLOSED:
		conn_set_state(c, CONN_S_FLUSHING);
		break;
	case CONN_S_DRAINING:
	case CONN_S_FLUSHING:
		conn_update_io(c);
		break;
	default:
		return;
	}
	conn_flushed(c);
}

/* A stalled connection whose stall_after no longer holds (changed at run time) resumes. */
static int
conn_mb_unstall(struct conn *c)
{
	const struct misbehave_conf *mc = &c->mb->conf;

	if ((c->flags & (CONN_F_MB_HOLD | CONN_F_MB_RESET)) != CONN_F_MB_HOLD ||
	    (mc->stall_after > 0 && c->bytes_out >= mc->stall_after))
		return 0;
	c->flags &= ~CONN_F_MB_HOLD;
	log_debug(LOG_S_CONN, "conn=%" PRIu64 " misbehave stall lifted", c->id);
	conn_update_io(c);
	return 1;
}

void
conn_misbehave_changed(struct misbehave *m)
{
	static const struct timeval now = { 0, 0 };
	struct conn_ext *x;
	struct conn *c;

	if (debug_wrong_thread(__func__))
		return;
	TAILQ_FOREACH(c, &conn_live, entry) {
		if (c->mb != m || !conn_is_alive(c))
			continue;
		if (m->on)
			c->flags |= CONN_F_SCHED;
		if (conn_props[c->state] & CONN_P_IDLE)
			conn_arm_wake(c);       /* close_after moved */
		if ((c->flags & CONN_F_MB_HOLD) && !conn_mb_unstall(c))
			continue;
		if (!conn_sched_on(c) && !(c->flags & CONN_F_SHAPE_WAIT))
			continue;
		/* The scheduler looks again from the timer: new due times, slices, thresholds. */
		if ((x = conn_ext(c)) == NULL)
			continue;
		if (evtimer_add(&x->shape_ev, &now) == -1) {
			conn_close_oom(c, "timer");
			continue;
		}
		c->flags |= CONN_F_SHAPE_WAIT;
		conn_update_io(c);
	}
}

/* ---------------------------------------------------------------- deadlines */

void
conn_set_deadline(struct conn *c, uint64_t ms, enum conn_reason reason)
{
	struct conn_ext *x;

	if (!conn_is_alive(c) || (ms == 0 && (c->ext == NULL || c->ext->deadline_at == 0)))
		return;
	if ((x = conn_ext(c)) == NULL)
		return;
	x->deadline_at = ms > 0 ? conn_now_ms() + ms : 0;
	x->deadline_reason = reason;
	if (conn_props[c->state] & CONN_P_IDLE)
		conn_arm_wake(c);
}

/* ---------------------------------------------------------------- preface */

int
conn_start_preface(struct conn *c, conn_preface_cb fn, void *arg, void (*free_fn)(void *),
    uint64_t timeout_ms)
{
	struct conn_ext *x = conn_is_alive(c) ? conn_ext(c) : NULL;

	if (x == NULL) {
		if (free_fn != NULL)
			free_fn(arg);
		return -1;
	}
	x->preface = fn;
	x->preface_arg = arg;
	x->preface_free = free_fn;
	conn_set_state(c, CONN_S_PREFACE);
	conn_arm_timer(c, timeout_ms);
	return 0;
}

/* Readable in PREFACE: the owner's reader either needs more, refuses, or has moved on. */
static void
conn_preface_end(struct conn_ext *x)
{
	if (x->preface == NULL)
		return;
	if (x->preface_free != NULL)
		x->preface_free(x->preface_arg);
	x->preface = NULL;
	x->preface_arg = NULL;
}

static void
conn_preface(struct conn *c)
{
	enum conn_reason reason = CONN_R_PROXY_HEADER;
	int rv;

	rv = c->ext->preface(c, c->ext->preface_arg, &reason);
	if (rv == 0)
		return;
	conn_preface_end(c->ext);
	if (rv < 0)
		conn_close(c, reason);
	else if (c->state == CONN_S_OPEN)
		conn_arm_wake(c);
}

void
conn_set_peer(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(c->peer))
		return;
	memcpy(&c->peer, sa, len);
	c->peer_len = len;
	c->flags &= ~CONN_F_UNIX;
}

const struct sockaddr *
conn_peer(const struct conn *c, socklen_t *len)
{
	*len = c->peer_len;
	return (c->flags & CONN_F_UNIX) ? NULL : &c->peer.sa;
}

int
conn_set_via(struct conn *c, const char *text)
{
	struct conn_ext *x;
	char *via;

	if ((via = util_strdup(text)) == NULL)
		return -1;
	if ((x = conn_ext(c)) == NULL) {
		free(via);
		return -1;
	}
	free(x->via);
	x->via = via;
	return 0;
}

void *
conn_owner_data(const struct conn *c)
{
	return c->owner_data;
}

void
conn_set_owner_data(struct conn *c, void *data)
{
	c->owner_data = data;
}

void
conn_set_local(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	struct conn_ext *x = conn_ext(c);

	if (len == 0 || len > sizeof(x->local))
		return;
	memcpy(&x->local, sa, len);
	x->local_len = len;
}

int
conn_local_is_loopback(const struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	/* A proxied client: where it connected to, not where the balancer did. */
	if (c->ext != NULL && c->ext->local_len > 0)
		return addr_is_local((const struct sockaddr *)&c->ext->local);
	if (c->flags & CONN_F_UNIX)
		return 1;
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	return addr_is_local((struct sockaddr *)&ss);
}

/* ---------------------------------------------------------------- handshake */

void
conn_io_want_write(struct conn *c)
{
	if (!conn_is_alive(c))
		return;
	c->flags |= CONN_F_IO_WANT_WRITE;
	conn_update_io(c);
}

void
conn_start_handshake(struct conn *c, const struct conn_io *io, void *io_data, uint64_t timeout_ms)
{
	/* Closing already: the transport is still handed over, so its free() releases io_data. */
	c->io = io;
	c->io_data = io_data;
	if (!conn_is_alive(c))
		return;
	conn_set_state(c, CONN_S_HANDSHAKE);
	if (timeout_ms > 0)
		conn_arm_timer(c, timeout_ms);
}

/* Drive the transport's handshake; on success the service starts. */
static void
conn_handshake(struct conn *c)
{
	enum conn_reason reason = CONN_R_HANDSHAKE_FAILED;
	int rv;

	rv = c->io->handshake(c, &reason);
	if (rv == 0)
		return;
	if (rv < 0) {
		conn_close(c, reason);
		return;
	}
	/* the idle timer takes over from the handshake timer */
	conn_arm_wake(c);
	conn_start(c);
}

/* ---------------------------------------------------------------- reading */

static void
conn_on_eof(struct conn *c)
{
	switch (c->state) {
	case CONN_S_OPEN:
		conn_set_state(c, CONN_S_HALFCLOSED);
		if (c->svc->on_eof != NULL)
			c->svc->on_eof(c);
		else
			conn_finish(c);
		break;
	case CONN_S_DRAINING:
		conn_set_state(c, CONN_S_FLUSHING);
		if (evbuffer_get_length(c->out) == 0)
			conn_flushed(c);
		break;
	case CONN_S_LINGER:
		conn_close(c, c->reason != CONN_R_NONE ? c->reason : CONN_R_FINISHED);
		break;
	default:
		conn_close(c, CONN_R_EOF);
		break;
	}
}

/* One read; returns 1 if more may be read now (transport has data buffered). */
static int
conn_read_once(struct conn *c)
{
	size_t want = sizeof(conn_scratch);
	ssize_t n;

	if (c->max_bytes > 0 && conn_budget(c) < want) {
		want = (size_t)conn_budget(c);
		if (want == 0) {
			conn_check_max_bytes(c);
			return 0;
		}
	}
	n = c->io->read(c, conn_scratch, want);
	if (n > 0) {
		c->bytes_in += (size_t)n;
		conn_bytes_in += (size_t)n;
		c->last_active_ms = conn_now_ms();
		/* In DRAINING and LINGER input is dropped. */
		if (c->state == CONN_S_OPEN)
			c->svc->on_data(c, conn_scratch, (size_t)n);
		conn_check_max_bytes(c);
		if (!(c->flags & CONN_F_READING))
			return 0;
		/*
		 * Read again now rather than after another epoll_wait when the
		 * transport holds decrypted bytes, or when the buffer filled up and
		 * the peer is keeping up (nothing pending): more is likely waiting.
		 */
		if (c->io->pending != NULL && c->io->pending(c) > 0)
			return 1;
		return (size_t)n == sizeof(conn_scratch) && evbuffer_get_length(c->out) == 0;
	}
	if (n == 0) {
		conn_on_eof(c);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	conn_close(c, conn_errno_reason(errno));
	return 0;
}

static void
conn_read_body(struct conn *c)
{
	int rounds = 8;      /* bounded: other connections get their turn */

	if (c->state == CONN_S_PREFACE) {
		conn_preface(c);
		return;
	}
	if (c->state == CONN_S_HANDSHAKE) {
		conn_handshake(c);
		if (c->state != CONN_S_OPEN)
			return;
		/*
		 * The handshake read what the socket had: read now only what the
		 * transport holds (data sent with the end of the handshake), else
		 * wait for the socket rather than try it for an EAGAIN.
		 */
		if (c->io->pending == NULL || c->io->pending(c) == 0)
			return;
	}
	while (conn_read_once(c) && conn_is_alive(c) && --rounds > 0)
		;
	/* out of rounds with input buffered: the rest on the next loop turn */
	if (rounds == 0 && conn_is_alive(c))
		conn_kick_read(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	LOOP_CB("conn_read_cb", conn_describe, c, conn_read_body(c));
}

/* ---------------------------------------------------------------- timers */

static void
conn_timer_body(struct conn *c)
{
	uint64_t now, idle;

	switch (c->state) {
	case CONN_S_PREFACE:
		conn_close(c, CONN_R_PROXY_TIMEOUT);
		return;
	case CONN_S_HANDSHAKE:
		conn_close(c, CONN_R_HANDSHAKE_TIMEOUT);
		return;
	case CONN_S_LINGER:
		conn_close(c, c->reason != CONN_R_NONE ? c->reason : CONN_R_FINISHED);
		return;
	default:
		break;
	}
	if (!(conn_props[c->state] & CONN_P_IDLE))
		return;
	now = conn_now_ms();
	if (c->ext != NULL && c->ext->lifetime_at != 0 && now >= c->ext->lifetime_at) {
		conn_close(c, CONN_R_MAX_LIFETIME);
		return;
	}
	if (c->ext != NULL && c->ext->deadline_at != 0 && now >= c->ext->deadline_at) {
		conn_close(c, c->ext->deadline_reason);
		return;
	}
	if (c->mb != NULL && c->mb->conf.close_after_ms > 0 && !(c->flags & CONN_F_MB_CUT) &&
	    now >= c->created_ms + c->mb->conf.close_after_ms) {
		conn_mb_close(c);
		return;
	}
	/* Lazy idle timer: activity only stamps last_active_ms. */
	idle = now - c->last_active_ms;
	if (c->idle_timeout_ms > 0 && idle >= c->idle_timeout_ms) {
		conn_close(c, CONN_R_IDLE_TIMEOUT);
		return;
	}
	conn_arm_wake(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	LOOP_CB("conn_timer_cb", conn_describe, c, conn_timer_body(c));
}

/* ---------------------------------------------------------------- peer probe */

/*
 * A connection the service waits on (jobs in flight) but does not read
 * (paused at a limit, or half-closed) has no event on its socket, so a peer
 * that resets it, or closes a unix socket, would go unnoticed until a reply
 * is written. While the service asks for it (conn_watch_peer) and reading
 * is off, a timer polls the socket: POLLHUP or POLLERR means the peer is
 * gone. A TCP peer's FIN alone is no such sign (it is a half-close, and is
 * answered), so only a reset is seen on TCP.
 */
static void
conn_update_probe(struct conn *c)
{
	int want = (c->flags & CONN_F_WATCH_PEER) && (conn_props[c->state] & CONN_P_SERVICE) &&
	    !(c->flags & CONN_F_READING);

	if (want && !(c->flags & CONN_F_PROBING)) {
		struct conn_ext *x = conn_ext(c);

		if (x == NULL)
			return;
		if (!x->probe_set) {
			event_assign(&x->probe_ev, conn_base, -1, EV_PERSIST, conn_probe_cb, c);
			x->probe_set = 1;
		}
		if (event_add(&x->probe_ev, conn_probe_tv) == -1) {
			conn_close_oom(c, "timer");
			return;
		}
		c->flags |= CONN_F_PROBING;
	} else if (!want && (c->flags & CONN_F_PROBING)) {
		event_del(&c->ext->probe_ev);
		c->flags &= ~CONN_F_PROBING;
	}
}

void
conn_watch_peer(struct conn *c, int on)
{
	if (debug_wrong_thread(__func__))
		return;
	if (on)
		c->flags |= CONN_F_WATCH_PEER;
	else
		c->flags &= ~CONN_F_WATCH_PEER;
	if (conn_is_alive(c))
		conn_update_probe(c);
}

/* 1 and the close reason if the socket says the peer is gone. */
static int
conn_peer_gone(struct conn *c, enum conn_reason *why)
{
	struct pollfd pfd = { c->fd, 0, 0 };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & (POLLHUP | POLLERR)))
		return 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	*why = err != 0 ? conn_errno_reason(err) : CONN_R_EOF;
	return 1;
}

static void
conn_probe_body(struct conn *c)
{
	enum conn_reason why;

	if (!conn_is_alive(c) || !conn_peer_gone(c, &why))
		return;
	log_debug(LOG_S_CONN, "conn=%" PRIu64 " peer gone while not reading state=%s",
	    c->id, conn_state_name(c->state));
	conn_close(c, why);
}

static void
conn_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	LOOP_CB("conn_probe_cb", conn_describe, c, conn_probe_body(c));
}

/* ---------------------------------------------------------------- server-wide */

/* Snapshot the live connections, each with a reference held. */
static struct conn **
conn_snapshot(size_t *np)
{
	struct conn **v, *c;
	size_t n = 0;

	v = xcalloc(conn_current + 1, sizeof(*v));
	TAILQ_FOREACH(c, &conn_live, entry) {
		if (!conn_is_alive(c))
			continue;
		conn_ref(c);
		v[n++] = c;
	}
	*np = n;
	return v;
}

static void
conn_shutdown_one(struct conn *c)
{
	/* Stalled (or waiting to be reset) on purpose: it would never drain. */
	if (c->flags & CONN_F_MB_HOLD) {
		conn_close(c, CONN_R_SHUTDOWN);
		return;
	}
	switch (c->state) {
	case CONN_S_OPEN:
	case CONN_S_HALFCLOSED:
		if (c->reason == CONN_R_NONE && c->state == CONN_S_OPEN)
			c->reason = CONN_R_SHUTDOWN;
		if (c->svc->on_shutdown != NULL)
			c->svc->on_shutdown(c);
		else
			conn_finish(c);
		break;
	case CONN_S_NEW:
	case CONN_S_PREFACE:
	case CONN_S_HANDSHAKE:
		/* Nothing is owed to a client the service has not met yet. */
		conn_close(c, CONN_R_SHUTDOWN);
		break;
	default:
		break;
	}
}

void
conn_shutdown_all(void)
{
	struct conn **v;
	size_t n, i;

	v = conn_snapshot(&n);
	for (i = 0; i < n; i++) {
		conn_shutdown_one(v[i]);
		conn_unref(v[i]);
	}
	free(v);
}

void
conn_close_all(enum conn_reason reason)
{
	struct conn **v;
	size_t n, i;

	v = conn_snapshot(&n);
	for (i = 0; i < n; i++) {
		conn_close(v[i], reason);
		conn_unref(v[i]);
	}
	free(v);
}

int
conn_kill(uint64_t id, enum conn_reason reason)
{
	struct conn *c = conn_find(id);

	if (c == NULL)
		return -1;
	conn_close(c, reason);
	return 0;
}

void
conn_info(const struct conn *c, struct conn_info *ci)
{
	uint64_t now = conn_now_ms();

	memset(ci, 0, sizeof(*ci));
	ci->id = c->id;
	ci->owner = c->owner_name;
	conn_peer_str(c, ci->peer, sizeof(ci->peer));
	ci->state = conn_state_name(c->state);
	ci->age_ms = now - c->created_ms;
	ci->idle_ms = now - c->last_active_ms;
	ci->bytes_in = c->bytes_in;
	ci->bytes_out = c->bytes_out;
	ci->pending_out = evbuffer_get_length(c->out);
	/* Every reference but the connection's own is a job in flight (or a snapshot). */
	ci->jobs = c->refs > 1 ? (unsigned)c->refs - 1 : 0;
	if (c->io->describe != NULL && conn_is_alive(c))
		c->io->describe(c, ci->transport, sizeof(ci->transport));
	if (c->ext != NULL && c->ext->via != NULL)
		snprintf(ci->via, sizeof(ci->via), "%s", c->ext->via);
	if (c->mb != NULL && (c->mb->on || (c->flags & (CONN_F_MB_HOLD | CONN_F_MB_CUT))))
		snprintf(ci->misbehave, sizeof(ci->misbehave), " misbehave=%s",
		    (c->flags & CONN_F_MB_RESET) ? "resetting" : (c->flags & CONN_F_MB_HOLD) ?
		    "stalled" : (c->flags & CONN_F_MB_CUT) ? "closing" : "yes");
}

void
conn_foreach(void (*cb)(const struct conn_info *ci, void *arg), void *arg)
{
	struct conn_info ci;
	struct conn *c;

	TAILQ_FOREACH(c, &conn_live, entry) {
		conn_info(c, &ci);
		cb(&ci, arg);
	}
}

int
conn_reading(const struct conn *c)
{
	return (c->flags & CONN_F_READING) != 0;
}

/* ---------------------------------------------------------------- statistics */

static void
conn_collect(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, *(const uint64_t *)arg);
}

static void
conn_collect_closed(struct stats_emit *e, void *arg)
{
	int r;

	for (r = CONN_R_EOF; r < CONN_R_COUNT; r++)
		stats_emit_u64(e, conn_closed[r], conn_reason_names[r]);
}

static const struct stats_family conn_families[5] = {
	{ "server_connections_open", STATS_GAUGE, STATS_UNIT_NONE,
	  "Connections open now, all listeners.", { NULL }, conn_collect, &conn_current },
	{ "server_connections_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Connections accepted since start, all listeners (removed ones too).", { NULL },
	  conn_collect, &conn_total },
	{ "connections_closed_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Connections closed, by the reason in their close log line.", { "reason", NULL },
	  conn_collect_closed, NULL },
	{ "received_bytes_total", STATS_COUNTER, STATS_UNIT_NONE, "Bytes read from clients.",
	  { NULL }, conn_collect, &conn_bytes_in },
	{ "sent_bytes_total", STATS_COUNTER, STATS_UNIT_NONE, "Bytes written to clients.",
	  { NULL }, conn_collect, &conn_bytes_out },
};

void
conn_destroy(void)
{
	size_t i;

	conn_flush_cb();
	free(conn_hash);
	conn_hash = NULL;
	conn_hash_size = 0;
	for (i = 0; i < ARRAY_LEN(conn_families); i++)
		stats_unregister(&conn_families[i]);
}
