/*
 * conn.h: one client connection. Loop thread only (see STYLE.md, threads).
 *
 * Lifetime: a conn is reference-counted. The accept path creates it with
 * one reference (the connection's own); every job in flight holds one more,
 * taken on the loop thread. Nothing a service calls ever closes or frees a
 * connection on the service's stack:
 *   - conn_write() and conn_printf() only queue (trying the socket first);
 *     a write error marks the connection closing with a reason.
 *   - conn_close() marks the connection closing (idempotent: the first
 *     reason wins). The close itself (events and socket released, the
 *     service's on_close, one log line, the owner's close hook, the drop of
 *     the connection's own reference) runs when the outermost loop callback
 *     returns (loop.h), or at once when called outside any callback.
 *   - the memory is freed, also from there, when the last reference is gone.
 * So a service may write, fail, write again and close twice in one
 * callback, and its state is intact until on_close.
 *
 * The struct is private to conn.c; other modules use the functions below.
 */
#ifndef ECHOD_CONN_H
#define ECHOD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn;
struct debug_where;
struct evbuffer;
struct event_base;
struct misbehave;
struct service;

/*
 * The connection's life, one state at a time (transition table in conn.c):
 *
 *   NEW -> [PREFACE ->] [HANDSHAKE ->] OPEN -> DRAINING -> LINGER -> CLOSING -> CLOSED -> FREEING
 *                          |        |                    ^
 *                          v        v                    |
 *                      HALFCLOSED -> FLUSHING -----------+
 *
 * and any live state -> CLOSING. PREFACE: the owner reads something before
 * the service and any handshake (the PROXY protocol header). HALFCLOSED: the peer shut its write side
 * and the service is still answering. DRAINING: the service is done; output
 * is flushed, then our write side is shut and input drained (LINGER), so a
 * close never resets the peer. FLUSHING: the service is done and the peer
 * already sent EOF: flush, then close. CLOSING: the close runs when the
 * outermost callback returns.
 */
enum conn_state {
	CONN_S_NEW = 0,
	CONN_S_PREFACE,
	CONN_S_HANDSHAKE,
	CONN_S_OPEN,
	CONN_S_HALFCLOSED,
	CONN_S_DRAINING,
	CONN_S_FLUSHING,
	CONN_S_LINGER,
	CONN_S_CLOSING,
	CONN_S_CLOSED,
	CONN_S_FREEING,
	CONN_S_COUNT
};

/* Why a connection closed: the close log line's reason= and a counter each. */
enum conn_reason {
	CONN_R_NONE = 0,
	CONN_R_EOF,                 /* the peer closed, everything owed was sent */
	CONN_R_FINISHED,            /* the service finished (daytime, QUIT) and the peer closed */
	CONN_R_RESET,               /* ECONNRESET / EPIPE */
	CONN_R_TIMEOUT,             /* ETIMEDOUT */
	CONN_R_IO_ERROR,            /* another read/write error */
	CONN_R_IDLE_TIMEOUT,
	CONN_R_HANDSHAKE_TIMEOUT,
	CONN_R_HANDSHAKE_FAILED,    /* a transport handshake failed without a finer reason */
	CONN_R_TLS_SETUP,           /* SSL_new or SSL_set_fd failed */
	CONN_R_TLS_HANDSHAKE,       /* protocol error, garbage, no shared cipher */
	CONN_R_TLS_PLAINTEXT,       /* plain text on a TLS port */
	CONN_R_TLS_VERSION,         /* below tls_min_version */
	CONN_R_TLS_NO_CLIENT_CERT,
	CONN_R_TLS_BAD_CLIENT_CERT,
	CONN_R_TLS_TRUNCATED,       /* the peer closed or reset during the handshake */
	CONN_R_SHUTDOWN,            /* graceful server shutdown */
	CONN_R_SHUTDOWN_TIMEOUT,
	CONN_R_SHUTDOWN_NOW,
	CONN_R_EXIT,
	CONN_R_ADMIN_KILL,
	CONN_R_MAX_BYTES,           /* max_bytes (in + out) reached */
	CONN_R_MAX_LIFETIME,        /* max_lifetime reached */
	CONN_R_LINE_TIMEOUT,        /* the command service's line_timeout */
	CONN_R_PROXY_TIMEOUT,       /* no complete PROXY header within proxy_timeout */
	CONN_R_PROXY_HEADER,        /* a PROXY header refused (malformed, wrong version...) */
	CONN_R_REFUSED,             /* refused by the access rules after a PROXY header */
	CONN_R_AUTH,                /* the admin console's AUTH failed */
	CONN_R_MB_RESET,            /* misbehaving on purpose: reset_after (RST) */
	CONN_R_MB_CLOSE,            /* misbehaving on purpose: close_after (FIN) */
	CONN_R_OOM,                 /* out of memory for this connection (the daemon goes on) */
	CONN_R_COUNT
};
const char  *conn_reason_name(enum conn_reason r);
const char  *conn_state_name(enum conn_state st);
/* Legal transitions (pure; the table conn_set_state obeys; used by tests). */
int          conn_state_allowed(enum conn_state from, enum conn_state to);

/*
 * Transport: plain sockets here, TLS in tls.c. read/write return bytes
 * (>0), 0 for EOF (read only), or -1 with errno (EAGAIN: try again later).
 * A transport that needs the opposite readiness (TLS wanting to write while
 * reading) calls conn_io_want_write(); conn.c then retries on writability.
 */
struct conn_io {
	const char *name;
	/* Optional: drive a handshake in HANDSHAKE. 1 done, 0 again later, -1 failed (*reason). */
	int     (*handshake)(struct conn *c, enum conn_reason *reason);
	/*
	 * Optional: input the transport holds (decrypted, or records read
	 * ahead) that a read returns without a socket event; non-zero means
	 * "read again". conn.c reads again, or wakes its own read event when
	 * reading resumes, since the socket may have nothing left to signal.
	 */
	size_t  (*pending)(struct conn *c);
	ssize_t (*read)(struct conn *c, void *buf, size_t len);
	ssize_t (*write)(struct conn *c, const void *buf, size_t len);
	/* Write from the front of `buf`, draining what was written. */
	ssize_t (*write_buf)(struct conn *c, struct evbuffer *buf);
	/* Shut the write side (TCP FIN / TLS close_notify); 0 when done. */
	int     (*shutdown)(struct conn *c);
	/* The connection is closing: release the transport (reason: conn_reason(c)). */
	void    (*free)(struct conn *c);
	/* Optional: " tls=TLSv1.3 cipher=... subject=..." for CONNS. */
	void    (*describe)(const struct conn *c, char *buf, size_t size);
};
extern const struct conn_io conn_io_plain;

/* ---------------------------------------------------------------- table */

/* Loop-thread setup; conn_destroy at exit (after conn_close_all and the pool's end). */
void         conn_init(struct event_base *base);
void         conn_destroy(void);
/* Graceful shutdown: every service's on_shutdown (default: finish). */
void         conn_shutdown_all(void);
void         conn_close_all(enum conn_reason reason);
size_t       conn_count(void);

/* What the owner (a listener) gives a new connection. */
struct conn_params {
	const struct service *svc;
	const void           *svc_conf;      /* the service's options; valid during on_open only */
	const char           *owner_name;    /* for logs; must stay valid until the close hook */
	void                 *owner;         /* handed to the close hook */
	uint64_t              idle_timeout_ms;
	uint64_t              max_bytes;       /* in + out, exact: reads and writes are cut
	                                          to it, then a max-bytes close; 0: none */
	uint64_t              max_lifetime_ms; /* 0: none */
	uint64_t              rate_limit;      /* output bytes/s; 0: none */
	void                 *owner_data;      /* conn_owner_data() */
	/*
	 * The owner's live misbehaviour (misbehave.h) when this connection was
	 * picked for it, else NULL: read at every decision, so a change reaches
	 * the output still to come; it must outlive the connection's close hook.
	 * misbehave_state seeds the connection's own draws (jitter).
	 */
	struct misbehave     *misbehave;
	uint64_t              misbehave_state;
};
/* Accept path: take ownership of `fd`. NULL when out of memory (fd untouched, not taken). */
struct conn *conn_new(const struct conn_params *p, int fd, const struct sockaddr *peer,
                 socklen_t plen);
/* Called once per connection, at its close (the owner counts and resumes accepting). */
typedef void (*conn_closed_cb)(struct conn *c, void *owner);
void         conn_set_closed_hook(conn_closed_cb cb);
/* Enter OPEN and call the service's on_open (plain connections, from accept). */
void         conn_start(struct conn *c);
/*
 * Enter HANDSHAKE with transport `io` (io_data e.g. the SSL *): reading is
 * armed, the handshake must finish within timeout_ms, then conn_start()
 * runs by itself.
 */
void         conn_start_handshake(struct conn *c, const struct conn_io *io, void *io_data,
                 uint64_t timeout_ms);

/*
 * Enter PREFACE: `fn` runs whenever the socket is readable until it
 * returns 1 (having started the next phase itself: conn_start() or a
 * handshake) or -1 (the connection closes with *reason); timeout_ms bounds
 * the whole preface (closed with proxy-timeout).
 */
typedef int (*conn_preface_cb)(struct conn *c, void *arg, enum conn_reason *reason);
/*
 * free_fn(arg) runs when the preface ends, however it ends (close included).
 * -1 when out of memory: the connection is closing (oom) and free_fn(arg) has run.
 */
int          conn_start_preface(struct conn *c, conn_preface_cb fn, void *arg,
                 void (*free_fn)(void *arg), uint64_t timeout_ms);
/* The client's real address (from a PROXY header) and how it came ("via=..."). */
void         conn_set_peer(struct conn *c, const struct sockaddr *sa, socklen_t len);
/* -1 when out of memory (the caller closes with CONN_R_OOM). */
int          conn_set_via(struct conn *c, const char *text);
/* The peer address, NULL for unix peers. */
const struct sockaddr *conn_peer(const struct conn *c, socklen_t *len);
void        *conn_owner_data(const struct conn *c);
void         conn_set_owner_data(struct conn *c, void *data);

/* A live connection by id (NULL once it is closing or gone). */
struct conn *conn_find(uint64_t id);
void         conn_ref(struct conn *c);
void         conn_unref(struct conn *c);

/* ---------------------------------------------------------------- services */

/* Queue bytes for the peer; written through at once when nothing is pending. */
void         conn_write(struct conn *c, const void *data, size_t len);
void         conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t       conn_pending(const struct conn *c);
/* The service is done: flush output, shut the write side, linger, close. */
void         conn_finish(struct conn *c);
/* Mark the connection closing (idempotent; see the top of this file). */
void         conn_close(struct conn *c, enum conn_reason reason);
/* An allocation for this connection failed (`what`): a warning, then close with reason oom. */
void         conn_close_oom(struct conn *c, const char *what);
/* Stop / restart reading on behalf of the service (pipelining limits). */
void         conn_pause_read(struct conn *c);
void         conn_resume_read(struct conn *c);
/*
 * While `on`, a connection the service does not read (paused, or half-closed)
 * is still watched: a peer that resets it (or closes a unix socket) closes it
 * within a fraction of a second, so its jobs are cancelled then, not when a
 * reply finally meets the reset. A TCP FIN alone is a half-close and is
 * still answered. The command service turns it on while it has jobs in flight.
 */
void         conn_watch_peer(struct conn *c, int on);
/* Call the service's on_drain once pending output is below the low watermark. */
void         conn_want_drain(struct conn *c);
/* 1 while the service may produce output (OPEN or HALFCLOSED) and it is below the high watermark. */
int          conn_writable(const struct conn *c);
int          conn_is_alive(const struct conn *c);     /* not closing or closed */
/*
 * Close with `reason` unless the deadline is moved or cleared (ms 0) within
 * ms milliseconds (the command service's line_timeout). One per connection.
 */
void         conn_set_deadline(struct conn *c, uint64_t ms, enum conn_reason reason);
/*
 * The connection came in on a loopback address (or a unix socket): for a
 * proxied client, the address it connected to as its PROXY header says
 * (conn_set_local), not the balancer's connection to us.
 */
int          conn_local_is_loopback(const struct conn *c);
void         conn_set_local(struct conn *c, const struct sockaddr *sa, socklen_t len);

uint64_t     conn_id(const struct conn *c);
void        *conn_svc_data(const struct conn *c);
void         conn_set_svc_data(struct conn *c, void *data);
/* The service's options (struct conn_params.svc_conf); only inside on_open. */
const void  *conn_svc_conf(const struct conn *c);
const char  *conn_owner_name(const struct conn *c);
enum conn_state conn_state(const struct conn *c);
enum conn_reason conn_reason(const struct conn *c);
/* "127.0.0.1:5000", "[::1]:5000" or "unix" into buf. */
const char  *conn_peer_str(const struct conn *c, char *buf, size_t size);

/* ---------------------------------------------------------------- transports */

int          conn_fd(const struct conn *c);
void        *conn_io_data(const struct conn *c);
/* Transport asks for a write-readiness callback (TLS handshake, renegotiation). */
void         conn_io_want_write(struct conn *c);

/* ---------------------------------------------------------------- settings */

/* Server-wide watermarks and linger timeout (applied on reload). */
void         conn_set_limits(size_t high, size_t low, uint64_t linger_ms);
/* [log] connections: open/close records at info (else debug). */
void         conn_set_log_connections(int on);
/*
 * The settings of `m` changed (admin MISBEHAVE, reload): its open
 * connections apply them now to the output still to come (due times,
 * slices, thresholds, close_after); a stalled one whose stall_after no
 * longer holds resumes.
 */
void         conn_misbehave_changed(struct misbehave *m);

/* ---------------------------------------------------------------- introspection */

/* One connection, as CONNS and the exit report show it. */
struct conn_info {
	uint64_t        id;
	const char     *owner;          /* listener name */
	char            peer[128];
	const char     *state;
	uint64_t        age_ms;
	uint64_t        idle_ms;
	uint64_t        bytes_in;
	uint64_t        bytes_out;
	size_t          pending_out;
	unsigned        jobs;           /* references held by jobs in flight */
	char            transport[384]; /* the transport's describe(), "" for plain */
	char            via[512];       /* " via=... proxy=..." for proxied clients, else "" */
	/* " misbehave=yes|stalled|resetting|closing" while its listener's misbehaviour applies, else "" */
	char            misbehave[32];
};
/* One connection's details; conn_foreach visits every live connection in accept order. */
void         conn_info(const struct conn *c, struct conn_info *ci);
void         conn_foreach(void (*cb)(const struct conn_info *ci, void *arg), void *arg);
/* 1 while the read event is armed (not paused by backpressure or the service). */
int          conn_reading(const struct conn *c);
/* Close a live connection by id (admin KILL); -1 if there is none. */
int          conn_kill(uint64_t id, enum conn_reason reason);
/* For loop.h's LOOP_CB: describes a connection in a slow-callback report. */
void         conn_describe(const void *c, struct debug_where *w);

#endif
