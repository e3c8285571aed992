/*
 * conn.h: one client connection. Loop thread only (see STYLE.md, threads).
 *
 * Lifetime: a conn is reference-counted. The listener's accept creates it
 * with one reference (the connection's own). Every job in flight holds one
 * more, taken on the loop thread. conn_close() is idempotent: it marks the
 * conn CLOSED, releases the socket and events, logs one line with the reason
 * and drops the connection's own reference. The struct is freed later, from
 * the loop, when the last reference is gone, never on the caller's stack.
 */
#ifndef ECHOD_CONN_H
#define ECHOD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/buffer.h>

struct listener;
struct service;
struct conn_io;

enum conn_state {
	CONN_S_NEW = 0,     /* allocated, not yet set up */
	CONN_S_HANDSHAKE,   /* TLS handshake in progress */
	CONN_S_OPEN,        /* reading and writing */
	CONN_S_DRAINING,    /* service done: flush output; input is discarded */
	CONN_S_LINGER,      /* write side shut; discard input until EOF or timeout */
	CONN_S_CLOSED,      /* dead: waiting for the last reference to go */
};

#define CONN_F_EOF          0x0001  /* peer shut down its write side */
#define CONN_F_READ_PAUSED  0x0002  /* reading stopped: output above high watermark */
#define CONN_F_SVC_PAUSED   0x0004  /* reading stopped by the service (conn_pause_read) */
#define CONN_F_WRITE_WAIT   0x0008  /* output pending, write event armed */
#define CONN_F_UNIX         0x0010  /* unix-domain socket */
#define CONN_F_SHUTDOWN     0x0020  /* server shutdown reached this conn */
#define CONN_F_FREEING      0x0040  /* on the free list */
#define CONN_F_WANT_DRAIN   0x0080  /* call on_drain when writable */
#define CONN_F_READING      0x0100  /* read event is armed */
#define CONN_F_IO_WANT_WRITE 0x0200 /* transport waits for writability */

struct conn {
	uint64_t               id;            /* never reused */
	int                    fd;
	enum conn_state        state;
	unsigned               flags;
	int                    refs;
	const struct service  *svc;
	void                  *svc_data;
	struct listener       *listener;      /* holds a listener reference */
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
	unsigned               jobs;          /* jobs in flight (informational) */
	const char            *close_reason;

	union {
		struct sockaddr     sa;
		struct sockaddr_in  sin;
		struct sockaddr_in6 sin6;
	}                      peer;
	socklen_t              peer_len;

	TAILQ_ENTRY(conn)      entry;         /* all live connections */
	struct conn           *hnext;         /* id hash chain */
};

/*
 * Transport: plain sockets here, TLS in tls.c. read/write return bytes
 * (>0), 0 for EOF (read only), or -1 with errno (EAGAIN: try again later).
 * A transport that needs the opposite readiness (TLS wanting to write while
 * reading) calls conn_io_want_write(); conn.c then retries on writability.
 */
struct conn_io {
	const char *name;
	/* Optional: drive a handshake in CONN_S_HANDSHAKE. 1 done, 0 again later, -1 failed (errno or *reason). */
	int     (*handshake)(struct conn *c, const char **reason);
	/* Optional: bytes already decrypted and readable without a socket event. */
	size_t  (*pending)(struct conn *c);
	ssize_t (*read)(struct conn *c, void *buf, size_t len);
	ssize_t (*write)(struct conn *c, const void *buf, size_t len);
	/* Write from the front of `buf`, draining what was written. */
	ssize_t (*write_buf)(struct conn *c, struct evbuffer *buf);
	/* Shut the write side (TCP FIN / TLS close_notify); 0 when done. */
	int     (*shutdown)(struct conn *c);
	void    (*free)(struct conn *c);
};
extern const struct conn_io conn_io_plain;

TAILQ_HEAD(conn_list, conn);

/* Loop-thread setup of the connection table; conn_free_all at exit. */
void         conn_init(struct event_base *base);
void         conn_shutdown_all(void);       /* graceful: call every service's on_shutdown */
void         conn_close_all(const char *reason);
/* At exit: free what is left (after conn_close_all and the pool's end). */
void         conn_destroy(void);
size_t       conn_count(void);
struct conn_list *conn_all(void);

/* Accept path: take ownership of `fd`. Returns NULL (fd closed) on failure. */
struct conn *conn_new(struct listener *l, int fd, const struct sockaddr *peer, socklen_t plen);

struct conn *conn_find(uint64_t id);
void         conn_ref(struct conn *c);
void         conn_unref(struct conn *c);

void         conn_set_state(struct conn *c, enum conn_state st);
const char  *conn_state_name(enum conn_state st);
/* Legal transitions (pure; used by conn_set_state and tests). */
int          conn_state_allowed(enum conn_state from, enum conn_state to);

/* Queue bytes for the peer; writes through at once when nothing is pending. */
void         conn_write(struct conn *c, const void *data, size_t len);
void         conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t       conn_pending(const struct conn *c);
/* Service finished: flush output, shut the write side, linger, close. */
void         conn_finish(struct conn *c);
/* Close now, idempotent. `reason` is a static string ("eof", "idle-timeout"). */
void         conn_close(struct conn *c, const char *reason);
/* Stop / restart reading on behalf of the service (pipelining limits). */
void         conn_pause_read(struct conn *c);
void         conn_resume_read(struct conn *c);
int          conn_is_alive(const struct conn *c);

/* Transport asks for a write-readiness callback (TLS renegotiation, handshake). */
void         conn_io_want_write(struct conn *c);

/* Call the service's on_drain once the socket is writable (producers). */
void         conn_want_drain(struct conn *c);
size_t       conn_high_watermark(void);

/* "127.0.0.1:5000" etc. into buf. */
const char  *conn_peer_str(const struct conn *c, char *buf, size_t size);

/* Server-wide watermarks and linger timeout (applied on reload). */
void         conn_set_limits(size_t high, size_t low, uint64_t linger_ms);
/* [log] connections: open/close records at info (else debug). */
void         conn_set_log_connections(int on);
/* Enter OPEN and call the service's on_open (plain connections, from accept). */
void         conn_start(struct conn *c);
/*
 * Enter HANDSHAKE with transport `io` (io_data e.g. the SSL *): reading is
 * armed, the handshake must finish within timeout_ms, then conn_start()
 * runs by itself.
 */
void         conn_start_handshake(struct conn *c, const struct conn_io *io, void *io_data,
                 uint64_t timeout_ms);
/* Coarse monotonic milliseconds, cheap enough for every callback. */
uint64_t     conn_now_ms(void);

struct conn_stats {
	uint64_t current;
	uint64_t total;
	uint64_t bytes_in;
	uint64_t bytes_out;
};
void         conn_get_stats(struct conn_stats *st);

#endif
