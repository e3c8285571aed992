/*
 * tls.c: TLS on any listener, with OpenSSL 3 directly on the connection's
 * non-blocking socket. Loop thread only (tls_check_listener() also runs
 * from -t before there is a loop).
 *
 * A listener with tls = yes owns a struct tls_ctx (its SSL_CTX), built when
 * the listener is opened at start-up and on every reload, and handed to
 * tls_conn_accept() for each connection. An SSL object holds its own reference to the SSL_CTX it was made
 * from, so connections accepted before a reload keep the old certificate
 * while new ones get the new one.
 *
 * Each connection's transport (struct conn_io tls_io) maps OpenSSL's
 * WANT_READ / WANT_WRITE onto conn.c's readiness events: EAGAIN to wait for
 * readability, conn_io_want_write() when a read needs the socket writable.
 * Before the first handshake step, the first byte is peeked: a TLS client
 * starts with a handshake record (0x16); printable text is a plaintext
 * client on the wrong port and is refused with its own reason.
 *
 * OpenSSL reads ahead (one read(2) for whatever the socket holds) and
 * frees its buffers whenever they are empty; a read hands the service
 * every record already buffered. With tls_ktls = auto and a kernel that
 * offers it, OpenSSL gives the record layer to the kernel after the
 * handshake and falls back by itself where it cannot.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "stats.h"
#include "tls.h"
#include "util.h"

#define TLS_RECORD_MAX        16384          /* plaintext bytes in one record */
#if defined(SSL_OP_ENABLE_KTLS) && !defined(OPENSSL_NO_KTLS)
#define TLS_HAVE_KTLS         1              /* OpenSSL can hand records to the kernel */
#endif
#define TLS_WRITE_BURST       (256 * 1024)   /* per write event, for fairness */
#define TLS_EXPIRY_WARN_DAYS  30
#define TLS_DAY_S             86400LL
#define TLS_DETAIL_MAX        256
#define TLS_RECORD_HANDSHAKE  0x16

struct tls_ctx {
	SSL_CTX  *ctx;
	uint64_t  handshake_timeout_ms;
	int       ktls;           /* tls_ktls = auto and the kernel offers it */
};

/* Per-connection state: conn_io_data(c). */
struct tls_conn {
	SSL      *ssl;
	unsigned  flags;
	char     *subject;        /* verified client certificate, RFC 2253 */
	ssize_t   read_end;       /* TLS_C_READ_END: what the next read returns... */
	int       read_errno;     /* ... and its errno */
};

#define TLS_C_PEEKED    0x01  /* first byte looked at */
#define TLS_C_DONE      0x02  /* handshake complete */
#define TLS_C_FAILED    0x04  /* handshake failure counted and logged */
#define TLS_C_FATAL     0x08  /* fatal OpenSSL error: no close_notify */
#define TLS_C_WANT_READ 0x10  /* the last read needs more bytes from the socket */
#define TLS_C_READ_END  0x20  /* end of input or an error met after data returned */
#define TLS_C_KTLS      0x40  /* kernel offload asked for (tls_ctx ktls) */
#define TLS_C_KTLS_TX   0x80  /* the kernel encrypts what we send */
#define TLS_C_KTLS_RX   0x100 /* the kernel decrypts what we receive */

/* Why a handshake did not complete; each is also the connection's close reason. */
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

enum tls_ktls_dir {
	TLS_KTLS_SEND = 0,
	TLS_KTLS_RECV,
	TLS_KTLS_DIRS
};

enum tls_version_stat {
	TLS_VSTAT_TLS12 = 0,
	TLS_VSTAT_TLS13,
	TLS_VSTAT_OTHER,
	TLS_VSTAT_COUNT
};

static struct {
	uint64_t failed[TLS_FAIL_COUNT];     /* by reason */
	uint64_t resumed;                    /* of the handshakes that completed */
	uint64_t client_certs;               /* ... with a verified client certificate */
	uint64_t version[TLS_VSTAT_COUNT];   /* handshakes completed, by version */
	uint64_t contexts_loaded;            /* start-up and reloads */
	uint64_t ktls[TLS_KTLS_DIRS];        /* handshakes offloaded to the kernel, by direction */
} tls_totals;

static const char *tls_fail_names[TLS_FAIL_COUNT] = {
	[TLS_FAIL_HANDSHAKE] = "tls-handshake-failed",
	[TLS_FAIL_PLAINTEXT] = "tls-plaintext",
	[TLS_FAIL_VERSION] = "tls-version",
	[TLS_FAIL_NO_CLIENT_CERT] = "tls-no-client-cert",
	[TLS_FAIL_BAD_CLIENT_CERT] = "tls-bad-client-cert",
	[TLS_FAIL_TRUNCATED] = "tls-truncated",
	[TLS_FAIL_TIMEOUT] = "handshake-timeout",
	[TLS_FAIL_ABORTED] = "tls-aborted",
};

/* The close reason of a connection whose handshake failed this way. */
static const enum conn_reason tls_fail_reasons[TLS_FAIL_COUNT] = {
	[TLS_FAIL_HANDSHAKE] = CONN_R_TLS_HANDSHAKE,
	[TLS_FAIL_PLAINTEXT] = CONN_R_TLS_PLAINTEXT,
	[TLS_FAIL_VERSION] = CONN_R_TLS_VERSION,
	[TLS_FAIL_NO_CLIENT_CERT] = CONN_R_TLS_NO_CLIENT_CERT,
	[TLS_FAIL_BAD_CLIENT_CERT] = CONN_R_TLS_BAD_CLIENT_CERT,
	[TLS_FAIL_TRUNCATED] = CONN_R_TLS_TRUNCATED,
	[TLS_FAIL_TIMEOUT] = CONN_R_HANDSHAKE_TIMEOUT,
	[TLS_FAIL_ABORTED] = CONN_R_SHUTDOWN,
};

static const char *tls_ktls_dir_names[TLS_KTLS_DIRS] = {
	[TLS_KTLS_SEND] = "send",
	[TLS_KTLS_RECV] = "recv",
};

static const char *tls_version_names[TLS_VSTAT_COUNT] = {
	[TLS_VSTAT_TLS12] = "TLSv1.2",
	[TLS_VSTAT_TLS13] = "TLSv1.3",
	[TLS_VSTAT_OTHER] = "other",
};

/* ---------------------------------------------------------------- statistics */

static void
tls_collect_versions(struct stats_emit *e, void *arg)
{
	int v;

	for (v = 0; v < TLS_VSTAT_COUNT; v++)
		stats_emit_u64(e, tls_totals.version[v], tls_version_names[v]);
}

static void
tls_collect_failed(struct stats_emit *e, void *arg)
{
	int f;

	for (f = 0; f < TLS_FAIL_COUNT; f++)
		stats_emit_u64(e, tls_totals.failed[f], tls_fail_names[f]);
}

static void
tls_collect_ktls(struct stats_emit *e, void *arg)
{
	int d;

	for (d = 0; d < TLS_KTLS_DIRS; d++)
		stats_emit_u64(e, tls_totals.ktls[d], tls_ktls_dir_names[d]);
}

static void
tls_collect(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, *(const uint64_t *)arg);
}

static const struct stats_family tls_families[] = {
	{ "tls_handshakes_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS handshakes completed, by protocol version.", { "version", NULL },
	  tls_collect_versions, NULL },
	{ "tls_resumed_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS handshakes that resumed a session.", { NULL }, tls_collect, &tls_totals.resumed },
	{ "tls_client_certs_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS handshakes with a verified client certificate.", { NULL }, tls_collect,
	  &tls_totals.client_certs },
	{ "tls_handshake_failures_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS handshakes that failed (the connection was closed), by reason.",
	  { "reason", NULL }, tls_collect_failed, NULL },
	{ "tls_contexts_loaded_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS contexts (certificate and key) loaded, at start-up and on reloads.", { NULL },
	  tls_collect, &tls_totals.contexts_loaded },
	{ "tls_ktls_connections_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "TLS connections whose records the kernel encrypts (send) or decrypts (recv), "
	  "by direction (tls_ktls = auto).", { "direction", NULL }, tls_collect_ktls, NULL },
};

void
tls_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(tls_families); i++)
		stats_register(&tls_families[i]);
}

void
tls_stop(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(tls_families); i++)
		stats_unregister(&tls_families[i]);
}

static const char *
tls_err_reason(unsigned long e, char *buf, size_t size)
{
	const char *r;

	if (ERR_SYSTEM_ERROR(e))
		return strerror(ERR_GET_REASON(e));
	if ((r = ERR_reason_error_string(e)) != NULL)
		return r;
	ERR_error_string_n(e, buf, size);
	return buf;
}

/*
 * OpenSSL's reasons for the errors queued on this thread: the first (the
 * root cause, "No such file or directory"), then the last when it differs
 * ("system lib"). Clears the queue.
 */
static const char *
tls_err_detail(char *buf, size_t size)
{
	unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
	char b1[TLS_DETAIL_MAX], b2[TLS_DETAIL_MAX];
	const char *r1, *r2;
	int n;

	if (first == 0) {
		snprintf(buf, size, "no details");
		return buf;
	}
	r1 = tls_err_reason(first, b1, sizeof(b1));
	r2 = tls_err_reason(last, b2, sizeof(b2));
	/* a detail cut short is fine: the return value only tells so */
	if (last != first && strcmp(r1, r2) != 0)
		n = snprintf(buf, size, "%s (%s)", r1, r2);
	else
		n = snprintf(buf, size, "%s", r1);
	ERR_clear_error();
	return n >= 0 ? buf : "?";
}

/* RFC 2253 one-line form of a name: "CN=client,O=Example"; NULL when out of memory. */
static char *
tls_name_try(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *s;
	long n;

	if (b == NULL) {
		util_oom();
		return NULL;
	}
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(b);
		util_oom();
		return NULL;
	}
	n = BIO_get_mem_data(b, &data);
	s = util_strndup(data != NULL ? data : "", n > 0 ? (size_t)n : 0);
	BIO_free(b);
	return s;
}

/* The same at start-up and reload, where out of memory stops the process. */
static char *
tls_name_string(const X509_NAME *name)
{
	char *s = tls_name_try(name);

	if (s == NULL)
		fatalx("tls: out of memory formatting a certificate name");
	return s;
}

/* "2027-11-21T20:14:00Z" */
static const char *
tls_time_string(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}

int
tls_whole_days(long long seconds)
{
	if (seconds >= 0)
		return (int)(seconds / TLS_DAY_S);
	return -(int)((-seconds + TLS_DAY_S - 1) / TLS_DAY_S);
}

/* Where a certificate stands now: the one reading both -t and the daemon report. */
struct tls_validity {
	int	days_left;		/* tls_whole_days() until notAfter */
	int	expired;		/* notAfter has passed (or cannot be read) */
	int	not_yet_valid;		/* notBefore is still ahead */
	char	not_after[32];		/* "2027-11-21T20:14:00Z" */
	char	not_before[32];
};

static void
tls_validity(X509 *x, struct tls_validity *v)
{
	int days = 0, secs = 0;

	memset(v, 0, sizeof(*v));
	tls_time_string(X509_get0_notAfter(x), v->not_after, sizeof(v->not_after));
	tls_time_string(X509_get0_notBefore(x), v->not_before, sizeof(v->not_before));
	v->not_yet_valid = X509_cmp_time(X509_get0_notBefore(x), NULL) > 0;
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1) {
		v->expired = 1;
		return;
	}
	v->days_left = tls_whole_days((long long)days * TLS_DAY_S + secs);
	v->expired = days < 0 || secs < 0;
}

static void
tls_fingerprint(X509 *x, char *buf, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t off = 0;

	buf[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (i = 0; i < n && off + 3 < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%02X", i ? ":" : "", md[i]);
}

/* ---------------------------------------------------------------- context */

static int
tls_ctx_verify(SSL_CTX *ctx, const struct listener_conf *lc, char **err)
{
	char detail[TLS_DETAIL_MAX];
	STACK_OF(X509_NAME) *names;
	int mode;

	if (lc->tls_verify_client == TLS_VERIFY_NONE) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	if (lc->tls_ca == NULL) {
		xasprintf(err, "tls_ca: expected a CA file with tls_verify_client");
		return -1;
	}
	if (SSL_CTX_load_verify_file(ctx, lc->tls_ca) != 1) {
		xasprintf(err, "tls_ca %s: cannot load: %s", lc->tls_ca,
		    tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	/* The CA names sent in the CertificateRequest, so clients pick the right cert. */
	if ((names = SSL_load_client_CA_file(lc->tls_ca)) == NULL) {
		xasprintf(err, "tls_ca %s: no CA certificate in it: %s", lc->tls_ca,
		    tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	mode = SSL_VERIFY_PEER;
	if (lc->tls_verify_client == TLS_VERIFY_REQUIRED)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

static int
tls_ctx_protocol(SSL_CTX *ctx, const struct listener_conf *lc, int ktls, char **err)
{
	char detail[TLS_DETAIL_MAX];
	int min = lc->tls_min_version == TLS_MIN_TLS13 ? TLS1_3_VERSION : TLS1_2_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
		xasprintf(err, "tls_min_version: cannot set: %s", tls_err_detail(detail,
		    sizeof(detail)));
		return -1;
	}
	if (lc->tls_ciphers != NULL && SSL_CTX_set_cipher_list(ctx, lc->tls_ciphers) != 1) {
		xasprintf(err, "tls_ciphers: expected an OpenSSL cipher list with at least one "
		    "usable cipher, got '%s' (%s)", lc->tls_ciphers,
		    tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	if (lc->tls_ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, lc->tls_ciphersuites) != 1) {
		xasprintf(err, "tls_ciphersuites: expected TLS 1.3 cipher suite names separated "
		    "by ':', got '%s' (%s)", lc->tls_ciphersuites,
		    tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	    (lc->tls_session_tickets ? 0 : SSL_OP_NO_TICKET));
	/*
	 * Partial writes: conn.c queues what a write did not take and retries
	 * from there. Buffers released whenever they are empty: an idle
	 * connection holds neither a read nor a write buffer.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Read ahead: one read(2) takes whatever the socket holds, instead of
	 * one for each record header and one for each body. With kernel
	 * offload it stays off until the handshake is over, since records
	 * read ahead keep OpenSSL from handing the receive side to the kernel.
	 */
	SSL_CTX_set_read_ahead(ctx, !ktls);
	/*
	 * One TLS 1.3 ticket per handshake, not OpenSSL's two: each costs
	 * about 7% of a full handshake (a session copy, its encryption), and
	 * a client gets a fresh one with every resumption.
	 */
	SSL_CTX_set_num_tickets(ctx, 1);
#ifdef TLS_HAVE_KTLS
	if (ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
	return 0;
}

/*
 * An encrypted key would make OpenSSL prompt on the terminal, which a daemon
 * (and a reload) must never do: no passphrase, so loading it fails.
 */
static int
tls_passwd_cb(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

/* Certificate chain and key; the key must belong to the certificate. */
static int
tls_ctx_cert(SSL_CTX *ctx, const struct listener_conf *lc, char **err)
{
	char detail[TLS_DETAIL_MAX];

	if (lc->tls_cert == NULL || lc->tls_key == NULL) {
		xasprintf(err, "%s: expected a file with tls = yes", lc->tls_cert == NULL ?
		    "tls_cert" : "tls_key");
		return -1;
	}
	SSL_CTX_set_default_passwd_cb(ctx, tls_passwd_cb);
	if (SSL_CTX_use_certificate_chain_file(ctx, lc->tls_cert) != 1) {
		xasprintf(err, "tls_cert %s: cannot load a PEM certificate chain: %s",
		    lc->tls_cert, tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, lc->tls_key, SSL_FILETYPE_PEM) != 1) {
		/* OpenSSL compares the key with the certificate as it loads it */
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			xasprintf(err, "tls_key %s does not match the certificate in tls_cert %s",
			    lc->tls_key, lc->tls_cert);
		else
			xasprintf(err, "tls_key %s: cannot load a PEM private key (one without "
			    "a passphrase): %s", lc->tls_key, tls_err_detail(detail, sizeof(detail)));
		ERR_clear_error();
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		xasprintf(err, "tls_key %s does not match the certificate in tls_cert %s (%s)",
		    lc->tls_key, lc->tls_cert, tls_err_detail(detail, sizeof(detail)));
		return -1;
	}
	return 0;
}

/*
 * Build the SSL_CTX of `lc` (no logging: -t and the daemon both use it);
 * ktls: ask OpenSSL to hand the records to the kernel.
 */
static SSL_CTX *
tls_ctx_build(const struct listener_conf *lc, int ktls, char **err)
{
	char detail[TLS_DETAIL_MAX], sid[SSL_MAX_SID_CTX_LENGTH + 1];
	SSL_CTX *ctx;

	*err = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(err, "SSL_CTX_new failed: %s", tls_err_detail(detail, sizeof(detail)));
		return NULL;
	}
	if (tls_ctx_protocol(ctx, lc, ktls, err) == -1 || tls_ctx_cert(ctx, lc, err) == -1 ||
	    tls_ctx_verify(ctx, lc, err) == -1)
		goto fail;
	/*
	 * Server-side session cache for resumption by session id (TLS 1.2
	 * without tickets); the context id keeps sessions of one listener
	 * from being resumed on another.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	snprintf(sid, sizeof(sid), "echod:%s", lc->name != NULL ? lc->name : "");
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid, (unsigned)strlen(sid));
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* What a loaded certificate is; warns about expiry, as -t does. */
static void
tls_ctx_log(SSL_CTX *ctx, const struct listener_conf *lc)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char fp[3 * EVP_MAX_MD_SIZE + 1], *subject;
	struct tls_validity v;

	if (x == NULL)
		return;
	subject = tls_name_string(X509_get_subject_name(x));
	tls_fingerprint(x, fp, sizeof(fp));
	tls_validity(x, &v);
	log_info(LOG_S_TLS, "listener=%s tls context loaded cert=%s subject=\"%s\" "
	    "notAfter=%s days_left=%d sha256=%s verify_client=%s", lc->name, lc->tls_cert,
	    subject, v.not_after, v.days_left, fp,
	    lc->tls_verify_client == TLS_VERIFY_REQUIRED ? "required" :
	    lc->tls_verify_client == TLS_VERIFY_OPTIONAL ? "optional" : "none");
	if (v.not_yet_valid)
		log_warn(LOG_S_TLS, "listener=%s tls certificate %s is not valid before %s",
		    lc->name, lc->tls_cert, v.not_before);
	else if (v.expired)
		log_warn(LOG_S_TLS, "listener=%s tls certificate %s expired on %s", lc->name,
		    lc->tls_cert, v.not_after);
	else if (v.days_left < TLS_EXPIRY_WARN_DAYS)
		log_warn(LOG_S_TLS, "listener=%s tls certificate %s expires in %d days (%s)",
		    lc->name, lc->tls_cert, v.days_left, v.not_after);
	free(subject);
}

int
tls_ktls_available(void)
{
#if defined(TLS_HAVE_KTLS) && defined(TCP_ULP)
	static const char ulp[] = "tls";
	int fd, rv, saved;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	rv = setsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, sizeof(ulp));
	saved = errno;
	close(fd);
	/* the kernel has it, and refuses it on a socket that is not connected */
	return rv == 0 || saved == ENOTCONN;
#else
	return 0;
#endif
}

struct tls_ctx *
tls_ctx_new(const struct listener_conf *lc, char **err)
{
	struct tls_ctx *t;
	SSL_CTX *ctx;
	int ktls = 0;

	if (lc->tls_ktls == TLS_KTLS_AUTO && !(ktls = tls_ktls_available()))
		log_info(LOG_S_TLS, "listener=%s tls_ktls=auto: the kernel offers no TLS "
		    "offload (no \"tls\" TCP ULP); records are encrypted in user space",
		    lc->name);
	if ((ctx = tls_ctx_build(lc, ktls, err)) == NULL)
		return NULL;
	tls_ctx_log(ctx, lc);
	t = xcalloc(1, sizeof(*t));
	t->ctx = ctx;
	t->handshake_timeout_ms = lc->tls_handshake_timeout_ms;
	t->ktls = ktls;
	tls_totals.contexts_loaded++;
	return t;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	/* Drops only our reference: live SSL objects hold their own. */
	SSL_CTX_free(t->ctx);
	free(t);
}

int
tls_check_listener(const struct listener_conf *lc, char **msg)
{
	char *err = NULL, *subject;
	struct tls_validity v;
	SSL_CTX *ctx;
	X509 *x;
	int rc = 0;

	*msg = NULL;
	if (!lc->tls)
		return 0;
	if ((ctx = tls_ctx_build(lc, 0, &err)) == NULL) {
		xasprintf(msg, "listener %s: %s", lc->name, err);
		free(err);
		return -1;
	}
	x = SSL_CTX_get0_certificate(ctx);
	subject = tls_name_string(X509_get_subject_name(x));
	tls_validity(x, &v);
	if (v.not_yet_valid) {
		xasprintf(msg, "listener %s: tls_cert %s: not valid before %s (subject=\"%s\")",
		    lc->name, lc->tls_cert, v.not_before, subject);
		rc = -1;
	} else if (v.expired) {
		xasprintf(msg, "listener %s: tls_cert %s: expired on %s (subject=\"%s\")",
		    lc->name, lc->tls_cert, v.not_after, subject);
		rc = -1;
	} else {
		rc = v.days_left < TLS_EXPIRY_WARN_DAYS ? 1 : 0;
		xasprintf(msg, "listener %s: tls_cert %s: subject=\"%s\" notAfter=%s days_left=%d%s",
		    lc->name, lc->tls_cert, subject, v.not_after, v.days_left,
		    rc == 1 ? " (expires soon)" : "");
	}
	free(subject);
	SSL_CTX_free(ctx);
	return rc;
}

/* ---------------------------------------------------------------- handshake */

static void
tls_fail_log(struct conn *c, enum tls_fail f, const char *detail)
{
	struct tls_conn *tc = conn_io_data(c);
	char pbuf[ADDR_STRLEN];

	tc->flags |= TLS_C_FAILED;
	tls_totals.failed[f]++;
	log_info(LOG_S_TLS, "conn=%" PRIu64 " peer=%s listener=%s tls handshake failed "
	    "reason=%s detail=\"%s\"", conn_id(c), conn_peer_str(c, pbuf, sizeof(pbuf)),
	    conn_owner_name(c), tls_fail_names[f], detail);
}

/* Which tls_fail an OpenSSL handshake error is. */
static enum tls_fail
tls_fail_classify(unsigned long e)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return TLS_FAIL_HANDSHAKE;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return TLS_FAIL_NO_CLIENT_CERT;
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		return TLS_FAIL_BAD_CLIENT_CERT;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
		return TLS_FAIL_VERSION;
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
		return TLS_FAIL_PLAINTEXT;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return TLS_FAIL_TRUNCATED;
	default:
		return TLS_FAIL_HANDSHAKE;
	}
}

/* A failed SSL_do_handshake: classify, log once, say why. */
static int
tls_handshake_error(struct conn *c, int err, enum conn_reason *reason)
{
	struct tls_conn *tc = conn_io_data(c);
	char detail[TLS_DETAIL_MAX];
	enum tls_fail f;
	long vr;

	tc->flags |= TLS_C_FATAL;
	if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
		f = TLS_FAIL_TRUNCATED;
		snprintf(detail, sizeof(detail), "%s", err == SSL_ERROR_ZERO_RETURN ?
		    "close_notify" : errno != 0 ? strerror(errno) : "connection closed");
		ERR_clear_error();
	} else {
		f = tls_fail_classify(ERR_peek_last_error());
		tls_err_detail(detail, sizeof(detail));
		/* For a client certificate, the verifier says more than "verify failed". */
		vr = SSL_get_verify_result(tc->ssl);
		if (f == TLS_FAIL_BAD_CLIENT_CERT && vr != X509_V_OK)
			snprintf(detail, sizeof(detail), "%s", X509_verify_cert_error_string(vr));
	}
	tls_fail_log(c, f, detail);
	*reason = tls_fail_reasons[f];
	return -1;
}

/*
 * With tls_ktls = auto, OpenSSL has tried to hand each direction to the
 * kernel at the key change (and falls back by itself when the kernel or
 * the cipher does not allow it): count what it did. A receive side left in
 * user space reads ahead from now on.
 */
static void
tls_handshake_ktls(struct tls_conn *tc)
{
	if (!(tc->flags & TLS_C_KTLS))
		return;
#ifdef TLS_HAVE_KTLS
	if (BIO_get_ktls_send(SSL_get_wbio(tc->ssl))) {
		tc->flags |= TLS_C_KTLS_TX;
		tls_totals.ktls[TLS_KTLS_SEND]++;
	}
	if (BIO_get_ktls_recv(SSL_get_rbio(tc->ssl))) {
		tc->flags |= TLS_C_KTLS_RX;
		tls_totals.ktls[TLS_KTLS_RECV]++;
	}
#endif
	if (!(tc->flags & TLS_C_KTLS_RX))
		SSL_set_read_ahead(tc->ssl, 1);
}

/* 0, or -1 when out of memory (the connection then closes with reason oom). */
static int
tls_handshake_done(struct conn *c)
{
	struct tls_conn *tc = conn_io_data(c);
	const char *version = SSL_get_version(tc->ssl);
	X509 *peer = SSL_get0_peer_certificate(tc->ssl);
	int resumed = SSL_session_reused(tc->ssl);
	enum tls_version_stat v;

	tc->flags |= TLS_C_DONE;
	tls_handshake_ktls(tc);
	if (resumed)
		tls_totals.resumed++;
	if (SSL_version(tc->ssl) == TLS1_3_VERSION)
		v = TLS_VSTAT_TLS13;
	else if (SSL_version(tc->ssl) == TLS1_2_VERSION)
		v = TLS_VSTAT_TLS12;
	else
		v = TLS_VSTAT_OTHER;
	tls_totals.version[v]++;
	if (peer != NULL && SSL_get_verify_result(tc->ssl) == X509_V_OK) {
		/* No subject is no verified identity: the connection fails rather than show "" */
		if ((tc->subject = tls_name_try(X509_get_subject_name(peer))) == NULL)
			return -1;
		tls_totals.client_certs++;
	}
	log_info(LOG_S_TLS, "conn=%" PRIu64 " tls handshake ok version=%s cipher=%s resumed=%s "
	    "subject=\"%s\"", conn_id(c), version, SSL_get_cipher_name(tc->ssl),
	    resumed ? "yes" : "no", tc->subject != NULL ? tc->subject : "");
	return 0;
}

enum tls_first
tls_first_byte_class(unsigned char b)
{
	if (b == TLS_RECORD_HANDSHAKE)
		return TLS_FIRST_TLS;
	if (b >= 0x20 && b < 0x7f)
		return TLS_FIRST_TEXT;
	if (b == '\r' || b == '\n' || b == '\t')
		return TLS_FIRST_SPACE;
	return TLS_FIRST_TLS;
}

/*
 * Look at the first byte without consuming it: 1 a TLS record (or not text:
 * OpenSSL judges), 0 nothing yet, -1 refused (plaintext, or closed).
 */
static int
tls_peek_first(struct conn *c, enum conn_reason *reason)
{
	struct tls_conn *tc = conn_io_data(c);
	enum tls_first first;
	unsigned char b;
	ssize_t n;

	n = recv(conn_fd(c), &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		tc->flags |= TLS_C_FATAL;
		tls_fail_log(c, TLS_FAIL_TRUNCATED, n == 0 ? "closed before a client hello" :
		    strerror(errno));
		*reason = tls_fail_reasons[TLS_FAIL_TRUNCATED];
		return -1;
	}
	tc->flags |= TLS_C_PEEKED;
	if ((first = tls_first_byte_class(b)) != TLS_FIRST_TLS) {
		tc->flags |= TLS_C_FATAL;
		tls_fail_log(c, TLS_FAIL_PLAINTEXT, first == TLS_FIRST_TEXT ?
		    "first byte is printable text" : "first byte is whitespace");
		*reason = tls_fail_reasons[TLS_FAIL_PLAINTEXT];
		return -1;
	}
	return 1;
}

static int
tls_io_handshake(struct conn *c, enum conn_reason *reason)
{
	struct tls_conn *tc = conn_io_data(c);
	int rv, err;

	if (!(tc->flags & TLS_C_PEEKED) && (rv = tls_peek_first(c, reason)) != 1)
		return rv;
	errno = 0;
	rv = SSL_do_handshake(tc->ssl);
	if (rv == 1) {
		if (tls_handshake_done(c) == -1) {
			tc->flags |= TLS_C_FAILED;
			conn_close_oom(c, "TLS client subject");
			*reason = CONN_R_OOM;
			return -1;
		}
		return 1;
	}
	switch ((err = SSL_get_error(tc->ssl, rv))) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		conn_io_want_write(c);
		return 0;
	default:
		return tls_handshake_error(c, err, reason);
	}
}

void
tls_conn_accept(struct conn *c, struct tls_ctx *t)
{
	struct tls_conn *tc;
	char detail[TLS_DETAIL_MAX];
	SSL *ssl;

	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, conn_fd(c)) != 1) {
		log_error(LOG_S_TLS, "conn=%" PRIu64 " cannot set up TLS: %s", conn_id(c),
		    tls_err_detail(detail, sizeof(detail)));
		SSL_free(ssl);
		/* The connection keeps the plain transport, which has nothing to free. */
		conn_close(c, CONN_R_TLS_SETUP);
		return;
	}
	SSL_set_accept_state(ssl);
	if ((tc = util_calloc(1, sizeof(*tc))) == NULL) {
		SSL_free(ssl);
		conn_close_oom(c, "TLS state");
		return;
	}
	tc->ssl = ssl;
	if (t->ktls)
		tc->flags |= TLS_C_KTLS;
	conn_start_handshake(c, &tls_io, tc, t->handshake_timeout_ms);
}

/* ---------------------------------------------------------------- transport */

/* Map a failed SSL_read/SSL_write: -1 with errno; EAGAIN to wait. */
static ssize_t
tls_io_error(struct conn *c, int rv, const char *op)
{
	struct tls_conn *tc = conn_io_data(c);
	char detail[TLS_DETAIL_MAX];
	int err = SSL_get_error(tc->ssl, rv), saved = errno, oom;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		/* A read that must write first waits for writability (conn.c retries it). */
		if (op[0] == 'r')
			conn_io_want_write(c);
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		tc->flags |= TLS_C_FATAL;
		ERR_clear_error();
		errno = saved != 0 ? saved : EPIPE;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		errno = EPIPE;
		return -1;
	default:
		tc->flags |= TLS_C_FATAL;
		/* OpenSSL could not allocate: the close reason says oom, not a protocol error */
		oom = ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE;
		log_info(LOG_S_TLS, "conn=%" PRIu64 " tls %s failed detail=\"%s\"", conn_id(c), op,
		    tls_err_detail(detail, sizeof(detail)));
		errno = oom ? ENOMEM : EPROTO;
		return -1;
	}
}

/* One SSL_read: bytes, 0 at the end of input, -1 with errno (EAGAIN: wait). */
static ssize_t
tls_io_read_record(struct conn *c, void *buf, size_t len)
{
	struct tls_conn *tc = conn_io_data(c);
	int rv;

	errno = 0;
	rv = SSL_read(tc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (rv > 0)
		return rv;
	switch (SSL_get_error(tc->ssl, rv)) {
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a plain TCP close */
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0) {
			tc->flags |= TLS_C_FATAL;
			ERR_clear_error();
			return 0;
		}
		break;
	default:
		break;
	}
	return tls_io_error(c, rv, "read");
}

/*
 * Everything OpenSSL holds, in one call: the records read ahead are
 * decrypted into `buf` one after another, so the service gets them in one
 * on_data call (and answers them with one write), and the socket is read
 * again only once nothing is buffered. An end of input or an error met
 * after some data is held back and returned by the next call.
 */
static ssize_t
tls_io_read(struct conn *c, void *buf, size_t len)
{
	struct tls_conn *tc = conn_io_data(c);
	size_t done = 0;
	ssize_t n;

	if (tc->flags & TLS_C_READ_END) {
		tc->flags &= ~TLS_C_READ_END;
		errno = tc->read_errno;
		return tc->read_end;
	}
	tc->flags &= ~TLS_C_WANT_READ;
	for (;;) {
		n = tls_io_read_record(c, (char *)buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			if (done < len && SSL_has_pending(tc->ssl))
				continue;
			return (ssize_t)done;
		}
		if (n < 0 && errno == EAGAIN)
			tc->flags |= TLS_C_WANT_READ;
		if (done == 0)
			return n;
		if (!(tc->flags & TLS_C_WANT_READ)) {
			tc->flags |= TLS_C_READ_END;
			tc->read_end = n;
			tc->read_errno = errno;
		}
		return (ssize_t)done;
	}
}

static ssize_t
tls_io_write(struct conn *c, const void *buf, size_t len)
{
	struct tls_conn *tc = conn_io_data(c);
	const char *p = buf;
	size_t done = 0;
	int rv, n;

	/* Record by record (partial writes), until done or the socket is full. */
	while (done < len) {
		n = len - done > TLS_RECORD_MAX ? TLS_RECORD_MAX : (int)(len - done);
		errno = 0;
		rv = SSL_write(tc->ssl, p + done, n);
		if (rv <= 0) {
			if (done > 0) {
				/* retried later from the same bytes, as OpenSSL requires */
				ERR_clear_error();
				return (ssize_t)done;
			}
			return tls_io_error(c, rv, "write");
		}
		done += (size_t)rv;
	}
	return (ssize_t)done;
}

/*
 * From the front of the output buffer, a record at a time. After a WANT_WRITE,
 * OpenSSL must be called again with the same bytes: they are still the front
 * of the buffer, since only what was written is drained.
 */
static ssize_t
tls_io_write_buf(struct conn *c, struct evbuffer *buf)
{
	struct tls_conn *tc = conn_io_data(c);
	size_t len, done = 0;
	unsigned char *p;
	int rv, n;

	while (done < TLS_WRITE_BURST && (len = evbuffer_get_length(buf)) > 0) {
		n = len > TLS_RECORD_MAX ? TLS_RECORD_MAX : (int)len;
		if ((p = evbuffer_pullup(buf, n)) == NULL) {
			util_oom();
			if (done > 0)
				return (ssize_t)done;
			errno = ENOMEM;		/* conn.c closes with reason oom */
			return -1;
		}
		errno = 0;
		rv = SSL_write(tc->ssl, p, n);
		if (rv <= 0) {
			if (done > 0) {
				ERR_clear_error();
				return (ssize_t)done;
			}
			return tls_io_error(c, rv, "write");
		}
		evbuffer_drain(buf, (size_t)rv);
		done += (size_t)rv;
	}
	return (ssize_t)done;
}

/* close_notify, then the TCP write side; input is still read (LINGER). */
static int
tls_io_shutdown(struct conn *c)
{
	struct tls_conn *tc = conn_io_data(c);
	int rv;

	if (!(tc->flags & TLS_C_FATAL) && SSL_is_init_finished(tc->ssl)) {
		rv = SSL_shutdown(tc->ssl);
		if (rv < 0) {
			/*
			 * The alert could not be sent now (socket full): keep the
			 * write side open; the linger timer ends the connection.
			 */
			log_debug(LOG_S_TLS, "conn=%" PRIu64 " tls close_notify not sent "
			    "error=%d", conn_id(c), SSL_get_error(tc->ssl, rv));
			ERR_clear_error();
			return 0;
		}
	}
	return shutdown(conn_fd(c), SHUT_WR);
}

/*
 * Whether a read now returns something without the socket: a held-back end
 * of input, or records read ahead. Not after a read that ran out of
 * buffered bytes: the rest of a partial record comes with a socket event.
 */
static size_t
tls_io_pending(struct conn *c)
{
	struct tls_conn *tc = conn_io_data(c);

	if (tc->flags & TLS_C_READ_END)
		return 1;
	if (tc->flags & TLS_C_WANT_READ)
		return 0;
	return SSL_has_pending(tc->ssl) ? 1 : 0;
}

/*
 * conn_close: the connection is going away. A handshake it interrupted
 * (timer, server shutdown) is counted and logged here, since conn.c did
 * the closing. An established session gets a best-effort close_notify
 * unless the peer already had one, the session broke, or the connection
 * is being reset on purpose (reset_after: a crashed server says nothing).
 */
static void
tls_io_free(struct conn *c)
{
	struct tls_conn *tc = conn_io_data(c);
	enum conn_reason why = conn_reason(c);

	if (tc == NULL)
		return;
	if (!(tc->flags & (TLS_C_DONE | TLS_C_FAILED)))
		tls_fail_log(c, why == CONN_R_HANDSHAKE_TIMEOUT ? TLS_FAIL_TIMEOUT : TLS_FAIL_ABORTED,
		    conn_reason_name(why));
	else if ((tc->flags & TLS_C_DONE) && !(tc->flags & TLS_C_FATAL) && why != CONN_R_MB_RESET &&
	    !(SSL_get_shutdown(tc->ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(tc->ssl);
	ERR_clear_error();
	SSL_free(tc->ssl);
	free(tc->subject);
	free(tc);
}

/*
 * For CONNS: version, cipher, resumption, the verified client subject, and
 * which directions the kernel handles (only when it handles one).
 */
static void
tls_io_describe(const struct conn *c, char *buf, size_t size)
{
	struct tls_conn *tc = conn_io_data(c);

	if (tc == NULL || !(tc->flags & TLS_C_DONE)) {
		snprintf(buf, size, " tls=handshake");
		return;
	}
	snprintf(buf, size, " tls=%s cipher=%s resumed=%s subject=\"%s\"%s",
	    SSL_get_version(tc->ssl), SSL_get_cipher_name(tc->ssl),
	    SSL_session_reused(tc->ssl) ? "yes" : "no", tc->subject != NULL ? tc->subject : "",
	    (tc->flags & (TLS_C_KTLS_TX | TLS_C_KTLS_RX)) == (TLS_C_KTLS_TX | TLS_C_KTLS_RX) ?
	    " ktls=send,recv" : (tc->flags & TLS_C_KTLS_TX) ? " ktls=send" :
	    (tc->flags & TLS_C_KTLS_RX) ? " ktls=recv" : "");
}

const struct conn_io tls_io = {
	.name = "tls",
	.handshake = tls_io_handshake,
	.pending = tls_io_pending,
	.read = tls_io_read,
	.write = tls_io_write,
	.write_buf = tls_io_write_buf,
	.shutdown = tls_io_shutdown,
	.free = tls_io_free,
	.describe = tls_io_describe,
};
