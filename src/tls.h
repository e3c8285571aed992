/*
 * tls.h: TLS for any listener, with OpenSSL on the connection's own
 * non-blocking socket (a struct conn_io transport for conn.c). Loop thread
 * only, except tls_check_listener(), which -t calls before the loop exists.
 * Counters (handshakes by version, failures by reason, resumptions) are in
 * the statistics registry once tls_init() has run.
 */
#ifndef ECHOD_TLS_H
#define ECHOD_TLS_H

#include <stdint.h>

#include "conn.h"

struct listener_conf;
struct tls_ctx;

/* What the first byte from a client on a TLS port says. */
enum tls_first {
	TLS_FIRST_TLS = 0,       /* a handshake record (0x16), or binary: OpenSSL judges */
	TLS_FIRST_TEXT,          /* printable ASCII: a plaintext client, refused */
	TLS_FIRST_SPACE,         /* CR, LF or TAB: a plaintext client, refused */
};

extern const struct conn_io tls_io;

/* Register the TLS counters (start-up); tls_stop() unregisters them. */
void            tls_init(void);
void            tls_stop(void);

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

/*
 * Whether the kernel offers TLS offload (kTLS: the "tls" TCP upper-layer
 * protocol), asked of the kernel once per call; tls_ktls = auto uses it
 * only then. 0 also when OpenSSL was built without kTLS.
 */
int             tls_ktls_available(void);

/* Accept path: wrap the accepted socket in a session of `t` and start the handshake. */
void            tls_conn_accept(struct conn *c, struct tls_ctx *t);

/*
 * -t: load and check a listener's certificate and key as the daemon would.
 * Returns 0 (fine, or the listener has no TLS), 1 (warning: the certificate
 * expires within 30 days) or -1 (error: cannot load, key does not match,
 * expired, not yet valid). *msg is a malloc'd one-line report, NULL when the
 * listener has no TLS: "listener NAME: tls_cert FILE: subject=... notAfter=...
 * days_left=N".
 */
int             tls_check_listener(const struct listener_conf *lc, char **msg);

/*
 * The one rounding rule for a certificate's days_left, used by -t and by the
 * daemon's "tls context loaded" line alike: whole days, rounded down, so a
 * certificate that expires in 10 days and 12 hours has 10 days left, and one
 * in its last day 0. Negative seconds (already expired) give negative days.
 */
int             tls_whole_days(long long seconds);

/* The decision the accept path makes on the first byte, before OpenSSL sees it. */
enum tls_first  tls_first_byte_class(unsigned char b);

#endif
