/*
 * tls.h: TLS for any listener, with OpenSSL on the connection's own
 * non-blocking socket (a struct conn_io transport for conn.c). Loop thread
 * only, except tls_check_listener(), which -t calls before the loop exists.
 */
#ifndef ECHOD_TLS_H
#define ECHOD_TLS_H

#include <stdint.h>

#include "conn.h"

struct listener_conf;
struct tls_ctx;

/* Why a handshake did not complete; counted in struct tls_stats. */
enum tls_fail {
	TLS_FAIL_HANDSHAKE = 0,  /* protocol error, garbage, no shared cipher */
	TLS_FAIL_PLAINTEXT,      /* plain text (HTTP, a typed line) on a TLS port */
	TLS_FAIL_VERSION,        /* protocol version below tls_min_version */
	TLS_FAIL_NO_CLIENT_CERT, /* tls_verify_client = required, none sent */
	TLS_FAIL_BAD_CLIENT_CERT, /* client certificate did not verify */
	TLS_FAIL_TRUNCATED,      /* peer closed or reset during the handshake */
	TLS_FAIL_TIMEOUT,        /* tls_handshake_timeout (conn.c's timer) */
	TLS_FAIL_ABORTED,        /* closed by the server (shutdown) mid-handshake */
	TLS_FAIL_COUNT
};

enum tls_version_stat {
	TLS_VSTAT_TLS12 = 0,
	TLS_VSTAT_TLS13,
	TLS_VSTAT_OTHER,
	TLS_VSTAT_COUNT
};

struct tls_stats {
	uint64_t handshakes_ok;
	uint64_t handshakes_failed;
	uint64_t failed[TLS_FAIL_COUNT];     /* by reason, sums to handshakes_failed */
	uint64_t resumed;                    /* of handshakes_ok */
	uint64_t client_certs;               /* of handshakes_ok: verified client cert */
	uint64_t version[TLS_VSTAT_COUNT];   /* of handshakes_ok */
	uint64_t contexts_loaded;            /* start-up and reloads */
};

/* What the first byte from a client on a TLS port says. */
enum tls_first {
	TLS_FIRST_TLS = 0,       /* a handshake record (0x16), or binary: OpenSSL judges */
	TLS_FIRST_TEXT,          /* printable ASCII: a plaintext client, refused */
	TLS_FIRST_SPACE,         /* CR, LF or TAB: a plaintext client, refused */
};

extern const struct conn_io tls_io;

/*
 * Build a server context from a listener's tls_* keys: certificate chain,
 * key (checked against the certificate), client CAs, versions, ciphers,
 * session cache and tickets. Returns NULL and a malloc'd *err naming the
 * key, the file and OpenSSL's reason on failure. Logs the certificate it
 * loaded, and warns when it expires within 30 days.
 */
struct tls_ctx *tls_ctx_new(const struct listener_conf *lc, char **err);
/* Established connections keep the OpenSSL context alive (it is refcounted). */
void            tls_ctx_free(struct tls_ctx *t);

/* Accept path: wrap the accepted socket and start the handshake. */
void            tls_conn_accept(struct conn *c);

/* Peer details of a TLS connection; NULL when not TLS or not known yet. */
const char     *tls_conn_subject(const struct conn *c);  /* verified client cert, RFC 2253 */
const char     *tls_conn_version(const struct conn *c);  /* "TLSv1.3" */
const char     *tls_conn_cipher(const struct conn *c);   /* "TLS_AES_256_GCM_SHA384" */
int             tls_conn_resumed(const struct conn *c);  /* 1 resumed, 0 full, -1 not TLS */

/*
 * -t: load and check a listener's certificate and key as the daemon would.
 * Returns 0 (fine, or the listener has no TLS), 1 (warning: the certificate
 * expires within 30 days) or -1 (error: cannot load, key does not match,
 * expired, not yet valid). *msg is a malloc'd one-line report, NULL when the
 * listener has no TLS: "listener NAME: tls_cert FILE: subject=... notAfter=...
 * days_left=N".
 */
int             tls_check_listener(const struct listener_conf *lc, char **msg);

/* The decision the accept path makes on the first byte, before OpenSSL sees it. */
enum tls_first  tls_first_byte_class(unsigned char b);

void            tls_get_stats(struct tls_stats *st);
const char     *tls_fail_name(enum tls_fail f);
const char     *tls_version_stat_name(enum tls_version_stat v);

#endif
