/*
 * conn.c: client connections: the reader/writer state machine, output
 * buffering with watermarks (backpressure), half-close, timeouts, and the
 * connection table (id -> conn). Loop thread only.
 *
 * I/O path: one read per readiness event into a 64 KiB scratch buffer
 * (libevent's evbuffer_read would cap it at 4096 bytes), handed to the
 * service; writes go straight to the socket while nothing is pending, and
 * only the part the kernel did not take is queued in an evbuffer.
 *
 * States: NEW -> [HANDSHAKE ->] OPEN -> DRAINING -> LINGER -> CLOSED.
 * DRAINING: the service is done; pending output is flushed, input is read
 * and dropped. LINGER: our write side is shut; input is dropped until the
 * peer's EOF or the linger timeout, so closing never resets the peer.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "conn.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "service.h"
#include "util.h"

#define CONN_READ_SIZE   (64 * 1024)
#define CONN_HASH_INIT   1024

static struct event_base *conn_base;
static struct conn_list   conn_live = TAILQ_HEAD_INITIALIZER(conn_live);
static struct conn      **conn_hash;
static size_t             conn_hash_size;
static uint64_t           conn_next_id = 1;
static struct conn_stats  conn_totals;
static size_t             conn_high = 256 * 1024;
static size_t             conn_low = 64 * 1024;
static uint64_t           conn_linger_ms = 2000;
static int                conn_log_open_close;
static char               conn_scratch[CONN_READ_SIZE];
/* Connections whose last reference is gone; freed from conn_reap_cb. */
static struct conn       *conn_reap_list;
static struct event      *conn_reap_ev;

static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_read_cb_body(struct conn *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_timer_cb(evutil_socket_t, short, void *);
static void conn_reap_cb(evutil_socket_t, short, void *);
static void conn_flushed(struct conn *c);
static void conn_after_write(struct conn *c);
static void conn_handshake(struct conn *c);

static const char *conn_state_names[] = {
	"new", "handshake", "open", "draining", "linger", "closed"
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

/* ---------------------------------------------------------------- table */

uint64_t
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

/* Ids are sequential, so id & mask spreads them evenly; grow at load 1. */
static void
conn_hash_grow(void)
{
	struct conn **old = conn_hash, *c, *next;
	size_t oldsize = conn_hash_size, i;

	conn_hash_size = oldsize ? oldsize * 2 : CONN_HASH_INIT;
	conn_hash = xcalloc(conn_hash_size, sizeof(*conn_hash));
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
			return c;
	return NULL;
}

void
conn_init(struct event_base *base)
{
	conn_base = base;
	if (conn_hash == NULL)
		conn_hash_grow();
	conn_reap_ev = event_new(base, -1, 0, conn_reap_cb, NULL);
	if (conn_reap_ev == NULL)
		fatalx("conn_init: event_new failed");
}

size_t
conn_count(void)
{
	return (size_t)conn_totals.current;
}

struct conn_list *
conn_all(void)
{
	return &conn_live;
}

void
conn_get_stats(struct conn_stats *st)
{
	*st = conn_totals;
}

void
conn_set_limits(size_t high, size_t low, uint64_t linger_ms)
{
	conn_high = high;
	conn_low = low;
	conn_linger_ms = linger_ms;
}

size_t
conn_high_watermark(void)
{
	return conn_high;
}

void
conn_set_log_connections(int on)
{
	conn_log_open_close = on;
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

/* ---------------------------------------------------------------- state */

const char *
conn_state_name(enum conn_state st)
{
	return (unsigned)st < ARRAY_LEN(conn_state_names) ? conn_state_names[st] : "?";
}

int
conn_state_allowed(enum conn_state from, enum conn_state to)
{
	if (to == CONN_S_CLOSED)
		return from != CONN_S_CLOSED;
	switch (from) {
	case CONN_S_NEW:
		return to == CONN_S_HANDSHAKE || to == CONN_S_OPEN;
	case CONN_S_HANDSHAKE:
		return to == CONN_S_OPEN;
	case CONN_S_OPEN:
		return to == CONN_S_DRAINING;
	case CONN_S_DRAINING:
		return to == CONN_S_LINGER;
	default:
		return 0;
	}
}

void
conn_set_state(struct conn *c, enum conn_state st)
{
	if (!conn_state_allowed(c->state, st))
		fatalx("conn=%" PRIu64 " illegal state change %s -> %s", c->id,
		    conn_state_name(c->state), conn_state_name(st));
	log_debug(LOG_S_CONN, "conn=%" PRIu64 " state %s -> %s", c->id,
	    conn_state_name(c->state), conn_state_name(st));
	c->state = st;
}

int
conn_is_alive(const struct conn *c)
{
	return c->state != CONN_S_CLOSED;
}

/*
 * Arm or disarm the read event from the flags. In DRAINING and LINGER input
 * is dropped as it arrives, so reading continues whatever the output holds.
 */
static void
conn_update_read(struct conn *c)
{
	int want;

	if (c->state == CONN_S_CLOSED || (c->flags & CONN_F_EOF))
		want = 0;
	else if (c->state == CONN_S_DRAINING || c->state == CONN_S_LINGER)
		want = 1;
	else
		want = !(c->flags & (CONN_F_READ_PAUSED | CONN_F_SVC_PAUSED));
	if (want && !(c->flags & CONN_F_READING)) {
		event_add(&c->read_ev, NULL);
		c->flags |= CONN_F_READING;
	} else if (!want && (c->flags & CONN_F_READING)) {
		event_del(&c->read_ev);
		c->flags &= ~CONN_F_READING;
	}
}

static void
conn_arm_timer(struct conn *c, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	event_add(&c->timer_ev, &tv);
}

/* ---------------------------------------------------------------- lifetime */

struct conn *
conn_new(struct listener *l, int fd, const struct sockaddr *peer, socklen_t plen)
{
	struct conn *c;
	int one = 1;

	c = xcalloc(1, sizeof(*c));
	c->id = conn_next_id++;
	c->fd = fd;
	c->state = CONN_S_NEW;
	c->refs = 1;
	c->listener = l;
	listener_ref(l);
	c->svc = l->svc;
	c->io = &conn_io_plain;
	if ((c->out = evbuffer_new()) == NULL)
		fatalx("conn_new: evbuffer_new failed");
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
	c->idle_timeout_ms = l->conf->idle_timeout_ms;

	if (conn_totals.current >= conn_hash_size)
		conn_hash_grow();
	conn_hash_insert(c);
	TAILQ_INSERT_TAIL(&conn_live, c, entry);
	conn_totals.current++;
	conn_totals.total++;

	if (log_enabled(LOG_S_CONN, conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG)) {
		char pbuf[ADDR_STRLEN];

		log_msg(conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG, LOG_S_CONN,
		    "conn=%" PRIu64 " open listener=%s peer=%s", c->id, l->name,
		    conn_peer_str(c, pbuf, sizeof(pbuf)));
	}
	if (c->idle_timeout_ms > 0)
		conn_arm_timer(c, c->idle_timeout_ms);
	return c;
}

void
conn_start(struct conn *c)
{
	conn_set_state(c, CONN_S_OPEN);
	conn_update_read(c);
	if (c->svc->on_open != NULL)
		c->svc->on_open(c);
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	if (c->state != CONN_S_CLOSED)
		fatalx("conn=%" PRIu64 " last reference dropped while %s", c->id,
		    conn_state_name(c->state));
	/* Never free on the caller's stack: the reaper runs from the loop. */
	c->flags |= CONN_F_FREEING;
	c->hnext = conn_reap_list;
	conn_reap_list = c;
	event_active(conn_reap_ev, 0, 0);
}

static void
conn_free(struct conn *c)
{
	listener_unref(c->listener);
	evbuffer_free(c->out);
	free(c);
}

static void
conn_reap_body(void)
{
	struct conn *c, *next;

	c = conn_reap_list;
	conn_reap_list = NULL;
	for (; c != NULL; c = next) {
		next = c->hnext;
		conn_free(c);
	}
}

static void
conn_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	DEBUG_CB("conn_reap_cb", NULL, NULL, conn_reap_body());
}

static void
conn_log_close(struct conn *c)
{
	enum log_level lvl = conn_log_open_close ? LOG_L_INFO : LOG_L_DEBUG;
	char pbuf[ADDR_STRLEN];

	if (!log_enabled(LOG_S_CONN, lvl))
		return;
	log_msg(lvl, LOG_S_CONN, "conn=%" PRIu64 " close listener=%s peer=%s reason=%s "
	    "bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " duration_ms=%" PRIu64,
	    c->id, c->listener->name, conn_peer_str(c, pbuf, sizeof(pbuf)), c->close_reason,
	    c->bytes_in, c->bytes_out, conn_now_ms() - c->created_ms);
}

void
conn_close(struct conn *c, const char *reason)
{
	if (debug_wrong_thread(__func__))
		return;
	if (c->state == CONN_S_CLOSED)
		return;
	c->close_reason = reason;
	conn_set_state(c, CONN_S_CLOSED);
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	event_del(&c->timer_ev);
	c->flags &= ~(CONN_F_READING | CONN_F_WRITE_WAIT | CONN_F_WANT_DRAIN);
	/* The service cancels its queued jobs here; running ones keep a reference. */
	if (c->svc->on_close != NULL)
		c->svc->on_close(c);
	c->io->free(c);
	close(c->fd);
	c->fd = -1;
	conn_hash_remove(c);
	TAILQ_REMOVE(&conn_live, c, entry);
	conn_totals.current--;
	conn_log_close(c);
	listener_conn_closed(c->listener);
	conn_unref(c);
	server_conn_closed();
}

static const char *
conn_errno_reason(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
		return "reset";
	case ETIMEDOUT:
		return "timeout";
	default:
		return "io-error";
	}
}

/* ---------------------------------------------------------------- writing */

static void
conn_account_out(struct conn *c, size_t n)
{
	c->bytes_out += n;
	conn_totals.bytes_out += n;
	c->last_active_ms = conn_now_ms();
}

static void
conn_arm_write(struct conn *c)
{
	if (!(c->flags & CONN_F_WRITE_WAIT)) {
		event_add(&c->write_ev, NULL);
		c->flags |= CONN_F_WRITE_WAIT;
	}
}

static void
conn_disarm_write(struct conn *c)
{
	if (c->flags & CONN_F_WRITE_WAIT) {
		event_del(&c->write_ev);
		c->flags &= ~CONN_F_WRITE_WAIT;
	}
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	if (debug_wrong_thread(__func__))
		return;
	if ((c->state != CONN_S_OPEN && c->state != CONN_S_DRAINING &&
	    c->state != CONN_S_HANDSHAKE) || len == 0)
		return;
	/* Nothing queued: try the socket first, queue only what it refuses. */
	if (c->state != CONN_S_HANDSHAKE && evbuffer_get_length(c->out) == 0) {
		n = c->io->write(c, p, len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
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
	if (evbuffer_add(c->out, p, len) == -1)
		fatalx("conn=%" PRIu64 " evbuffer_add failed", c->id);
	conn_arm_write(c);
	/* Backpressure: stop reading a client whose replies pile up. */
	if (evbuffer_get_length(c->out) > conn_high && !(c->flags & CONN_F_READ_PAUSED)) {
		c->flags |= CONN_F_READ_PAUSED;
		conn_update_read(c);
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " read paused pending=%zu", c->id,
		    evbuffer_get_length(c->out));
	}
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
	n = xvasprintf(&big, fmt, ap);
	va_end(ap);
	conn_write(c, big, (size_t)n);
	free(big);
}

size_t
conn_pending(const struct conn *c)
{
	return evbuffer_get_length(c->out);
}

void
conn_want_drain(struct conn *c)
{
	if (c->state == CONN_S_CLOSED)
		return;
	c->flags |= CONN_F_WANT_DRAIN;
	conn_arm_write(c);
}

static void
conn_write_cb_body(struct conn *c)
{
	ssize_t n;

	if (c->state == CONN_S_HANDSHAKE) {
		c->flags &= ~CONN_F_IO_WANT_WRITE;
		conn_disarm_write(c);
		conn_handshake(c);
		return;
	}
	if (c->flags & CONN_F_IO_WANT_WRITE) {
		/* the transport's read side was waiting for writability */
		c->flags &= ~CONN_F_IO_WANT_WRITE;
		if (c->flags & CONN_F_READING)
			conn_read_cb_body(c);
		if (c->state == CONN_S_CLOSED)
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

/* Timed in debug mode (debug.h); the conn outlives the call (freed by the reaper). */
static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	DEBUG_CB("conn_write_cb", c, NULL, conn_write_cb_body(c));
}

/* After output made progress: resume reading, refill producers, finish. */
static void
conn_after_write(struct conn *c)
{
	size_t pending = evbuffer_get_length(c->out);

	if ((c->flags & CONN_F_READ_PAUSED) && pending <= conn_low) {
		c->flags &= ~CONN_F_READ_PAUSED;
		conn_update_read(c);
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " read resumed pending=%zu", c->id, pending);
	}
	if (c->state == CONN_S_OPEN && (c->flags & CONN_F_WANT_DRAIN) && pending <= conn_low) {
		c->flags &= ~CONN_F_WANT_DRAIN;
		if (c->svc->on_drain != NULL)
			c->svc->on_drain(c);
		if (c->state == CONN_S_CLOSED)
			return;
		pending = evbuffer_get_length(c->out);
	}
	if (pending == 0 && !(c->flags & (CONN_F_WANT_DRAIN | CONN_F_IO_WANT_WRITE)))
		conn_disarm_write(c);
	if (pending == 0 && c->state == CONN_S_DRAINING)
		conn_flushed(c);
}

/* DRAINING and all output sent: close, or shut our side and linger. */
static void
conn_flushed(struct conn *c)
{
	if (c->flags & CONN_F_EOF) {
		conn_close(c, c->close_reason != NULL ? c->close_reason : "eof");
		return;
	}
	if (c->io->shutdown(c) == -1 && errno != ENOTCONN) {
		conn_close(c, conn_errno_reason(errno));
		return;
	}
	conn_set_state(c, CONN_S_LINGER);
	conn_update_read(c);
	conn_arm_timer(c, conn_linger_ms);
}

void
conn_finish(struct conn *c)
{
	if (c->state != CONN_S_OPEN && c->state != CONN_S_HANDSHAKE)
		return;
	if (c->state == CONN_S_HANDSHAKE) {
		conn_close(c, "shutdown");
		return;
	}
	conn_set_state(c, CONN_S_DRAINING);
	c->flags &= ~CONN_F_WANT_DRAIN;
	conn_update_read(c);
	if (evbuffer_get_length(c->out) == 0)
		conn_flushed(c);
}

void
conn_pause_read(struct conn *c)
{
	if (debug_wrong_thread(__func__))
		return;
	c->flags |= CONN_F_SVC_PAUSED;
	conn_update_read(c);
}

void
conn_resume_read(struct conn *c)
{
	if (debug_wrong_thread(__func__))
		return;
	c->flags &= ~CONN_F_SVC_PAUSED;
	conn_update_read(c);
}

/* ---------------------------------------------------------------- handshake */

void
conn_io_want_write(struct conn *c)
{
	if (c->state == CONN_S_CLOSED)
		return;
	c->flags |= CONN_F_IO_WANT_WRITE;
	conn_arm_write(c);
}

void
conn_start_handshake(struct conn *c, const struct conn_io *io, void *io_data, uint64_t timeout_ms)
{
	c->io = io;
	c->io_data = io_data;
	conn_set_state(c, CONN_S_HANDSHAKE);
	conn_update_read(c);
	if (timeout_ms > 0)
		conn_arm_timer(c, timeout_ms);
}

/* Drive the transport's handshake; on success the service starts. */
static void
conn_handshake(struct conn *c)
{
	const char *reason = NULL;
	int rv;

	rv = c->io->handshake(c, &reason);
	if (rv == 0)
		return;
	if (rv < 0) {
		conn_close(c, reason != NULL ? reason : "handshake-failed");
		return;
	}
	/* the idle timer takes over from the handshake timer */
	if (c->idle_timeout_ms > 0)
		conn_arm_timer(c, c->idle_timeout_ms);
	else
		event_del(&c->timer_ev);
	conn_start(c);
	/* replies queued by on_open during the handshake go out now */
	if (conn_is_alive(c) && evbuffer_get_length(c->out) > 0)
		conn_arm_write(c);
}

/* ---------------------------------------------------------------- reading */

static void
conn_on_eof(struct conn *c)
{
	c->flags |= CONN_F_EOF;
	conn_update_read(c);
	switch (c->state) {
	case CONN_S_OPEN:
		if (c->svc->on_eof != NULL)
			c->svc->on_eof(c);
		else
			conn_finish(c);
		break;
	case CONN_S_DRAINING:
		if (evbuffer_get_length(c->out) == 0)
			conn_flushed(c);
		break;
	case CONN_S_LINGER:
		conn_close(c, c->close_reason != NULL ? c->close_reason : "finished");
		break;
	default:
		conn_close(c, "eof");
		break;
	}
}

/* One read; returns 1 if more may be read now (transport has data buffered). */
static int
conn_read_once(struct conn *c)
{
	ssize_t n;

	n = c->io->read(c, conn_scratch, sizeof(conn_scratch));
	if (n > 0) {
		c->bytes_in += (size_t)n;
		conn_totals.bytes_in += (size_t)n;
		c->last_active_ms = conn_now_ms();
		/* In DRAINING and LINGER input is dropped. */
		if (c->state == CONN_S_OPEN)
			c->svc->on_data(c, conn_scratch, (size_t)n);
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
conn_read_cb_body(struct conn *c)
{
	int rounds = 8;      /* bounded: other connections get their turn */

	if (c->state == CONN_S_HANDSHAKE) {
		conn_handshake(c);
		if (c->state != CONN_S_OPEN)
			return;
	}
	while (conn_read_once(c) && c->state != CONN_S_CLOSED && --rounds > 0)
		;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	DEBUG_CB("conn_read_cb", c, NULL, conn_read_cb_body(c));
}

/* ---------------------------------------------------------------- timers */

static void
conn_timer_cb_body(struct conn *c)
{
	uint64_t now, idle;

	switch (c->state) {
	case CONN_S_HANDSHAKE:
		conn_close(c, "handshake-timeout");
		return;
	case CONN_S_LINGER:
		conn_close(c, c->close_reason != NULL ? c->close_reason : "finished");
		return;
	case CONN_S_OPEN:
	case CONN_S_DRAINING:
		if (c->idle_timeout_ms == 0)
			return;
		/* Lazy idle timer: activity only stamps last_active_ms. */
		now = conn_now_ms();
		idle = now - c->last_active_ms;
		if (idle >= c->idle_timeout_ms) {
			conn_close(c, "idle-timeout");
			return;
		}
		conn_arm_timer(c, c->idle_timeout_ms - idle);
		return;
	default:
		return;
	}
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	DEBUG_CB("conn_timer_cb", c, NULL, conn_timer_cb_body(c));
}

/* ---------------------------------------------------------------- server-wide */

/* Snapshot the live connections, each with a reference held. */
static struct conn **
conn_snapshot(size_t *np)
{
	struct conn **v, *c;
	size_t n = 0;

	v = xcalloc(conn_totals.current + 1, sizeof(*v));
	TAILQ_FOREACH(c, &conn_live, entry) {
		conn_ref(c);
		v[n++] = c;
	}
	*np = n;
	return v;
}

void
conn_shutdown_all(void)
{
	struct conn **v, *c;
	size_t n, i;

	v = conn_snapshot(&n);
	for (i = 0; i < n; i++) {
		c = v[i];
		c->flags |= CONN_F_SHUTDOWN;
		if (c->state == CONN_S_OPEN) {
			if (c->close_reason == NULL && !(c->flags & CONN_F_EOF))
				c->close_reason = "shutdown";
			if (c->svc->on_shutdown != NULL)
				c->svc->on_shutdown(c);
			else
				conn_finish(c);
		} else if (c->state == CONN_S_HANDSHAKE || c->state == CONN_S_NEW) {
			conn_close(c, "shutdown");
		}
		conn_unref(c);
	}
	free(v);
}

void
conn_close_all(const char *reason)
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

void
conn_destroy(void)
{
	conn_reap_cb(-1, 0, NULL);
	if (conn_reap_ev != NULL)
		event_free(conn_reap_ev);
	conn_reap_ev = NULL;
	free(conn_hash);
	conn_hash = NULL;
	conn_hash_size = 0;
}
