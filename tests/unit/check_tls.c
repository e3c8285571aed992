/*
 * check_tls.c: TLS contexts and the TLS transport. Certificates are made at
 * test time with the OpenSSL API (EC P-256) in a temporary directory: a
 * good pair, a mismatched key, expired, expiring soon, not yet valid, a CA
 * and a client certificate it signed. Handshakes run over a socketpair
 * against the real conn.c state machine and event loop, with a
 * non-blocking OpenSSL client on the other end.
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "service.h"
#include "stats.h"
#include "tls.h"
#include "unit.h"
#include "util.h"

#define DAY (24 * 3600L)

static char certdir[] = "/tmp/check_tls.XXXXXX";
static struct event_base *base;

/* ---------------------------------------------------------------- certificates */

static char *
path_of(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", certdir, name);
	return p;
}

static EVP_PKEY *
key_new(const char *name)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char *p = path_of(name);
	FILE *f;

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	free(p);
	return k;
}

static void
cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ck_assert_ptr_nonnull(e = X509V3_EXT_conf_nid(NULL, &v3, nid, value));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/*
 * Write NAME.pem: subject CN=cn, valid from now+from to now+to seconds,
 * signed by (issuer, ikey) or self-signed when issuer is NULL.
 */
static X509 *
cert_new(const char *name, const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long from, long to, int ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char *p = path_of(name);
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"echod tests", -1,
	    -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	cert_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		cert_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	ck_assert_int_gt(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()), 0);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_NAME_free(n);
	free(p);
	return x;
}

/* Runs once, in the parent: the files outlive each forked test. */
static void
certs_make(void)
{
	EVP_PKEY *ca_k, *srv_k, *other_k, *k;
	X509 *ca;
	FILE *f;
	char *p;

	ck_assert_ptr_nonnull(mkdtemp(certdir));
	ca_k = key_new("ca.key");
	ca = cert_new("ca.pem", "echod unit CA", ca_k, NULL, NULL, -DAY, 365 * DAY, 1);
	srv_k = key_new("server.key");
	X509_free(cert_new("server.pem", "localhost", srv_k, ca, ca_k, -DAY, 365 * DAY, 0));
	X509_free(cert_new("expired.pem", "localhost", srv_k, NULL, NULL, -30 * DAY, -DAY, 0));
	X509_free(cert_new("soon.pem", "localhost", srv_k, NULL, NULL, -DAY, 10 * DAY, 0));
	X509_free(cert_new("future.pem", "localhost", srv_k, NULL, NULL, 2 * DAY, 30 * DAY, 0));
	other_k = key_new("other.key");
	k = key_new("client.key");
	X509_free(cert_new("client.pem", "unit-client", k, ca, ca_k, -DAY, 365 * DAY, 0));
	EVP_PKEY_free(k);
	/* the server key again, encrypted with a passphrase */
	ck_assert_ptr_nonnull(f = fopen(p = path_of("encrypted.key"), "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, srv_k, EVP_aes_128_cbc(), NULL, 0, NULL,
	    (void *)"secret"), 1);
	fclose(f);
	free(p);
	k = key_new("rogue.key");
	X509_free(cert_new("rogue.pem", "rogue-client", k, NULL, NULL, -DAY, 365 * DAY, 0));
	EVP_PKEY_free(k);
	X509_free(ca);
	EVP_PKEY_free(ca_k);
	EVP_PKEY_free(srv_k);
	EVP_PKEY_free(other_k);
}

static int
certs_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
certs_remove(void)
{
	nftw(certdir, certs_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---------------------------------------------------------------- fixtures */

/* A TLS listener_conf as the config would make it; free with lc_free. */
static struct listener_conf *
lc_new(const char *cert, const char *key)
{
	struct listener_conf *lc = xcalloc(1, sizeof(*lc));

	lc->name = xstrdup("unit");
	lc->tls = 1;
	lc->tls_cert = cert != NULL ? path_of(cert) : NULL;
	lc->tls_key = key != NULL ? path_of(key) : NULL;
	lc->tls_ciphers = xstrdup("ECDHE+AESGCM:ECDHE+CHACHA20");
	lc->tls_ciphersuites = xstrdup("TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256");
	lc->tls_handshake_timeout_ms = 5000;
	lc->tls_session_tickets = 1;
	return lc;
}

static void
lc_free(struct listener_conf *lc)
{
	free(lc->name);
	free(lc->tls_cert);
	free(lc->tls_key);
	free(lc->tls_ca);
	free(lc->tls_ciphers);
	free(lc->tls_ciphersuites);
	free(lc);
}

static void
setup(void)
{
	base = unit_loop_setup(LOG_L_CRITICAL);
	conn_init(base);
	tls_init();
	conn_set_limits(256 * 1024, 64 * 1024, 200);
}

static void
teardown(void)
{
	conn_close_all(CONN_R_EXIT);
	conn_destroy();
	tls_stop();
	event_base_free(base);
	stats_clear();
}

/* The TLS context a listener with lc would hand its connections. */
static struct tls_ctx *
tls_listener(const struct listener_conf *lc)
{
	struct tls_ctx *t;
	char *err = NULL;

	t = tls_ctx_new(lc, &err);
	ck_assert_msg(t != NULL, "tls_ctx_new: %s", err != NULL ? err : "?");
	return t;
}

/* Accept one end of a socketpair as a TLS connection; *peer is the client's end. */
static struct conn *
tls_accept_pair(struct tls_ctx *t, int *peer)
{
	struct conn *c;

	c = unit_echo_pair("unit", peer);
	tls_conn_accept(c, t);
	ck_assert_int_eq(conn_state(c), CONN_S_HANDSHAKE);
	/* keep it past conn_close, to read its close reason */
	conn_ref(c);
	return c;
}

/*
 * A field of the connection's TLS description in CONNS (" tls=TLSv1.3
 * cipher=... resumed=no subject=\"CN=x\""), into buf; NULL when absent or
 * empty (a closed connection has none).
 */
static const char *
tls_field(const struct conn *c, const char *key, char *buf, size_t size)
{
	struct conn_info ci;
	char pat[32];
	const char *p, *end;
	size_t n;

	conn_info(c, &ci);
	snprintf(pat, sizeof(pat), " %s=", key);
	if ((p = strstr(ci.transport, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	if (*p == '"')
		end = strchr(++p, '"');
	else
		end = p + strcspn(p, " ");
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= size)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* One sample of the statistics registry, as STATS shows it ("name{l=\"v\"}"). */
static uint64_t
stat_of(const char *sample)
{
	char *text, *p, pat[256];
	uint64_t v = 0;

	text = stats_render_text(NULL, NULL);
	snprintf(pat, sizeof(pat), "\n%s=", sample);
	if ((p = strstr(text, pat)) != NULL)
		v = strtoull(p + strlen(pat), NULL, 10);
	else if (strncmp(text, pat + 1, strlen(pat + 1)) == 0)
		v = strtoull(text + strlen(pat + 1), NULL, 10);
	else
		ck_abort_msg("no sample %s in:\n%s", sample, text);
	free(text);
	return v;
}

static uint64_t
stat_sum(const char *name)
{
	uint64_t v = 0;

	ck_assert_int_eq(stats_get(name, &v), 0);
	return v;
}

static SSL *
client_new(int fd, int version, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char *p;
	SSL *s;

	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (cert != NULL) {
		p = path_of(cert);
		ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, p, SSL_FILETYPE_PEM), 1);
		free(p);
		p = path_of(key);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, p, SSL_FILETYPE_PEM), 1);
		free(p);
	}
	s = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(s, fd);
	SSL_set_connect_state(s);
	return s;
}

/* Drive both ends until the client's handshake ends: 1 done, -1 failed. */
static int
client_handshake(SSL *s, int rounds)
{
	int rv, err;

	while (rounds-- > 0) {
		unit_spin(base, 1);
		rv = SSL_do_handshake(s);
		if (rv == 1)
			return 1;
		err = SSL_get_error(s, rv);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

/* Read up to n bytes through TLS within a bounded number of loop turns. */
static size_t
client_read(SSL *s, char *buf, size_t n, int rounds)
{
	size_t got = 0;
	int rv;

	while (rounds-- > 0 && got < n) {
		unit_spin(base, 1);
		rv = SSL_read(s, buf + got, (int)(n - got));
		if (rv > 0)
			got += (size_t)rv;
		else if (SSL_get_error(s, rv) != SSL_ERROR_WANT_READ)
			break;
	}
	ERR_clear_error();
	return got;
}

static void
spin_until_closed(struct conn *c, int rounds)
{
	while (rounds-- > 0 && conn_state(c) != CONN_S_CLOSED) {
		unit_spin(base, 1);
		usleep(1000);
	}
}

static void
client_free(SSL *s)
{
	SSL_free(s);
	ERR_clear_error();
}

/* A TLS connection to listener context l: the daemon's end in *c (held, see
 * tls_accept_pair), the client's SSL (not yet handshaken) on *peer. */
static SSL *
client_open(struct tls_ctx *l, struct conn **c, int *peer, int version, const char *cert,
    const char *key)
{
	*c = tls_accept_pair(l, peer);
	return client_new(*peer, version, cert, key);
}

/* The end of client_open: the client, its socket, the held connection. */
static void
client_close(SSL *s, int peer, struct conn *c)
{
	client_free(s);
	close(peer);
	conn_unref(c);
}

/* tls_ctx_new refuses cert and key, with an error naming want and want2. */
static void
expect_ctx_refused(const char *cert, const char *key, const char *want, const char *want2)
{
	struct listener_conf *lc = lc_new(cert, key);
	char *err = NULL;

	ck_assert_msg(tls_ctx_new(lc, &err) == NULL, "%s + %s: accepted", cert, key);
	ck_assert_msg(err != NULL && strstr(err, want) != NULL && strstr(err, want2) != NULL,
	    "%s + %s: error '%s', want '%s' and '%s'", cert, key, err, want, want2);
	free(err);
	lc_free(lc);
}

/* ---------------------------------------------------------------- contexts */

START_TEST(test_ctx_good_pair)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *t;
	char *err = NULL, *msg = NULL;

	t = tls_ctx_new(lc, &err);
	ck_assert_msg(t != NULL, "good pair refused: %s", err);
	ck_assert_ptr_null(err);
	tls_ctx_free(t);
	ck_assert_uint_eq(stat_sum("tls_contexts_loaded_total"), 1);
	ck_assert_int_eq(tls_check_listener(lc, &msg), 0);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "subject=\"CN=localhost,O=echod tests\"") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "days_left=36") != NULL, "%s", msg);
	free(msg);
	lc_free(lc);
}
END_TEST

START_TEST(test_ctx_no_tls)
{
	struct listener_conf *lc = lc_new(NULL, NULL);
	char *msg = (char *)"x";

	lc->tls = 0;
	ck_assert_int_eq(tls_check_listener(lc, &msg), 0);
	ck_assert_ptr_null(msg);
	lc_free(lc);
}
END_TEST

START_TEST(test_ctx_mismatched_pair)
{
	struct listener_conf *lc = lc_new("server.pem", "other.key");
	char *err = NULL, *msg = NULL;

	ck_assert_ptr_null(tls_ctx_new(lc, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "does not match") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "other.key") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(tls_check_listener(lc, &msg), -1);
	ck_assert_msg(strstr(msg, "listener unit: tls_key") != NULL, "%s", msg);
	free(msg);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	lc_free(lc);
}
END_TEST

START_TEST(test_ctx_missing_files)
{
	expect_ctx_refused("nonexistent.pem", "server.key", "tls_cert", "nonexistent.pem");
	expect_ctx_refused("server.pem", "nonexistent.key", "tls_key", "nonexistent.key");
	/* an encrypted key: refused, never a passphrase prompt */
	expect_ctx_refused("server.pem", "encrypted.key", "tls_key", "passphrase");
	/* a key file given as the certificate */
	expect_ctx_refused("server.key", "server.key", "tls_cert", "server.key");
}
END_TEST

START_TEST(test_check_expired)
{
	struct listener_conf *lc = lc_new("expired.pem", "server.key");
	struct tls_ctx *t;
	char *err = NULL, *msg = NULL;

	ck_assert_int_eq(tls_check_listener(lc, &msg), -1);
	ck_assert_msg(strstr(msg, "expired on") != NULL, "%s", msg);
	free(msg);
	/* The daemon still loads it (and warns): refusing would not bring back a valid one. */
	ck_assert_ptr_nonnull(t = tls_ctx_new(lc, &err));
	tls_ctx_free(t);
	lc_free(lc);
}
END_TEST

START_TEST(test_check_expires_soon)
{
	struct listener_conf *lc = lc_new("soon.pem", "server.key");
	char *msg = NULL;

	ck_assert_int_eq(tls_check_listener(lc, &msg), 1);
	ck_assert_msg(strstr(msg, "expires soon") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "days_left=9") != NULL || strstr(msg, "days_left=10") != NULL,
	    "%s", msg);
	free(msg);
	lc_free(lc);
}
END_TEST

START_TEST(test_check_not_yet_valid)
{
	struct listener_conf *lc = lc_new("future.pem", "server.key");
	char *msg = NULL;

	ck_assert_int_eq(tls_check_listener(lc, &msg), -1);
	ck_assert_msg(strstr(msg, "not valid before") != NULL, "%s", msg);
	free(msg);
	lc_free(lc);
}
END_TEST

/* days_left: whole days, rounded down, the same rule for -t and the daemon. */
START_TEST(test_whole_days)
{
	ck_assert_int_eq(tls_whole_days(10 * DAY + 12 * 3600), 10);
	ck_assert_int_eq(tls_whole_days(10 * DAY + DAY - 1), 10);
	ck_assert_int_eq(tls_whole_days(10 * DAY), 10);
	ck_assert_int_eq(tls_whole_days(10 * DAY - 1), 9);
	ck_assert_int_eq(tls_whole_days(3600), 0);
	ck_assert_int_eq(tls_whole_days(0), 0);
	ck_assert_int_eq(tls_whole_days(-1), -1);
	ck_assert_int_eq(tls_whole_days(-DAY), -1);
	ck_assert_int_eq(tls_whole_days(-DAY - 1), -2);
}
END_TEST

START_TEST(test_ctx_bad_ciphers)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	char *err = NULL;

	free(lc->tls_ciphers);
	lc->tls_ciphers = xstrdup("NO-SUCH-CIPHER");
	ck_assert_ptr_null(tls_ctx_new(lc, &err));
	ck_assert_msg(strstr(err, "tls_ciphers") != NULL, "%s", err);
	free(err);
	free(lc->tls_ciphers);
	lc->tls_ciphers = xstrdup("ECDHE+AESGCM");
	free(lc->tls_ciphersuites);
	lc->tls_ciphersuites = xstrdup("TLS_NO_SUCH_SUITE");
	ck_assert_ptr_null(tls_ctx_new(lc, &err));
	ck_assert_msg(strstr(err, "tls_ciphersuites") != NULL, "%s", err);
	free(err);
	lc_free(lc);
}
END_TEST

START_TEST(test_ctx_bad_ca)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	char *err = NULL;

	lc->tls_verify_client = TLS_VERIFY_REQUIRED;
	lc->tls_ca = path_of("no-ca.pem");
	ck_assert_ptr_null(tls_ctx_new(lc, &err));
	ck_assert_msg(strstr(err, "tls_ca") != NULL && strstr(err, "no-ca.pem") != NULL, "%s", err);
	free(err);
	lc_free(lc);
}
END_TEST

/* ---------------------------------------------------------------- config keys */

static int
config_has_error(const struct config_errors *errs, const char *what)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], what) != NULL)
			return 1;
	return 0;
}

START_TEST(test_config_keys)
{
	struct config_errors errs = { NULL, 0 };
	const struct listener_conf *lc;
	struct config *cf = NULL;

	ck_assert_int_eq(config_load_string("t.ini",
	    "[listener plain]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "[listener s]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n"
	    "tls_cert = /c.pem\ntls_key = /k.pem\ntls_ca = /ca.pem\n"
	    "tls_verify_client = required\ntls_min_version = TLS1.3\n"
	    "tls_ciphers = ECDHE+AESGCM\ntls_ciphersuites = TLS_AES_128_GCM_SHA256\n"
	    "tls_handshake_timeout = 1500ms\ntls_session_tickets = no\n", &cf, &errs), 0);
	lc = config_find_listener(cf, "plain");
	ck_assert_int_eq(lc->tls, 0);
	ck_assert_int_eq(lc->tls_verify_client, TLS_VERIFY_NONE);
	ck_assert_int_eq(lc->tls_min_version, TLS_MIN_TLS12);
	ck_assert_str_eq(lc->tls_ciphers, "ECDHE+AES128+AESGCM:ECDHE+AES256+AESGCM:ECDHE+CHACHA20");
	ck_assert_ptr_nonnull(strstr(lc->tls_ciphersuites, "TLS_AES_256_GCM_SHA384"));
	ck_assert_uint_eq(lc->tls_handshake_timeout_ms, 10000);
	ck_assert_int_eq(lc->tls_session_tickets, 1);
	lc = config_find_listener(cf, "s");
	ck_assert_int_eq(lc->tls, 1);
	ck_assert_str_eq(lc->tls_cert, "/c.pem");
	ck_assert_str_eq(lc->tls_key, "/k.pem");
	ck_assert_str_eq(lc->tls_ca, "/ca.pem");
	ck_assert_int_eq(lc->tls_verify_client, TLS_VERIFY_REQUIRED);
	ck_assert_int_eq(lc->tls_min_version, TLS_MIN_TLS13);
	ck_assert_str_eq(lc->tls_ciphers, "ECDHE+AESGCM");
	ck_assert_str_eq(lc->tls_ciphersuites, "TLS_AES_128_GCM_SHA256");
	ck_assert_uint_eq(lc->tls_handshake_timeout_ms, 1500);
	ck_assert_int_eq(lc->tls_session_tickets, 0);
	config_free(cf);
}
END_TEST

START_TEST(test_config_validation)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cf = NULL;

	ck_assert_int_eq(config_load_string("t.ini",
	    "[listener a]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n"
	    "[listener b]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\ntls_cert = /c.pem\n"
	    "tls_key = /k.pem\ntls_verify_client = optional\n"
	    "[listener c]\nbind = 127.0.0.1:0\nservice = echo\ntls_verify_client = maybe\n"
	    "tls_min_version = SSL3\ntls_handshake_timeout = 0\ntls_cert =\n", &cf, &errs), -1);
	ck_assert_ptr_null(cf);
	ck_assert(config_has_error(&errs, "t.ini:1: [listener a] tls_cert: expected"));
	ck_assert(config_has_error(&errs, "t.ini:1: [listener a] tls_key: expected"));
	ck_assert(config_has_error(&errs, "t.ini:5: [listener b] tls_ca: expected a CA file"));
	ck_assert(config_has_error(&errs, "t.ini:15: [listener c] tls_verify_client: expected "
	    "none, optional or required, got 'maybe'"));
	ck_assert(config_has_error(&errs, "t.ini:16: [listener c] tls_min_version: expected "
	    "TLS1.2 or TLS1.3, got 'SSL3'"));
	ck_assert(config_has_error(&errs, "t.ini:17: [listener c] tls_handshake_timeout"));
	ck_assert(config_has_error(&errs, "t.ini:18: [listener c] tls_cert"));
	config_errors_free(&errs);
}
END_TEST

/* tls_ktls: no (the default) or auto; anything else is refused with what is expected. */
START_TEST(test_config_ktls)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cf = NULL;

	ck_assert_int_eq(config_load_string("t.ini",
	    "[listener a]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "[listener b]\nbind = 127.0.0.1:0\nservice = echo\ntls_ktls = auto\n"
	    "[listener c]\nbind = 127.0.0.1:0\nservice = echo\ntls_ktls = No\n", &cf, &errs), 0);
	ck_assert_int_eq(config_find_listener(cf, "a")->tls_ktls, TLS_KTLS_NO);
	ck_assert_int_eq(config_find_listener(cf, "b")->tls_ktls, TLS_KTLS_AUTO);
	ck_assert_int_eq(config_find_listener(cf, "c")->tls_ktls, TLS_KTLS_NO);
	config_free(cf);
	cf = NULL;
	ck_assert_int_eq(config_load_string("t.ini",
	    "[listener a]\nbind = 127.0.0.1:0\nservice = echo\ntls_ktls = yes\n", &cf, &errs), -1);
	ck_assert(config_has_error(&errs, "t.ini:4: [listener a] tls_ktls: expected auto or no, "
	    "got 'yes'"));
	config_errors_free(&errs);
}
END_TEST

/*
 * The kernel probe agrees with the kernel: the tls module's statistics file
 * exists exactly when the probe found the "tls" TCP ULP (the probe loads
 * the module when it is there to load and the process may).
 */
START_TEST(test_ktls_probe)
{
	int avail = tls_ktls_available();

	ck_assert_int_eq(tls_ktls_available(), avail);
	ck_assert_int_eq(avail, access("/proc/net/tls_stat", F_OK) == 0);
}
END_TEST

/* ---------------------------------------------------------------- handshakes */

START_TEST(test_handshake_echo_mtls)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l;
	char buf[256];
	struct conn *c;
	SSL *s;
	int peer;

	lc->tls_verify_client = TLS_VERIFY_REQUIRED;
	lc->tls_ca = path_of("ca.pem");
	l = tls_listener(lc);
	s = client_open(l, &c, &peer, TLS1_3_VERSION, "client.pem", "client.key");
	ck_assert_int_eq(client_handshake(s, 200), 1);
	ck_assert_int_eq(SSL_write(s, "hello over tls\n", 15), 15);
	ck_assert_uint_eq(client_read(s, buf, 15, 200), 15);
	ck_assert_mem_eq(buf, "hello over tls\n", 15);
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	ck_assert_str_eq(tls_field(c, "tls", buf, sizeof(buf)), "TLSv1.3");
	ck_assert_str_eq(tls_field(c, "cipher", buf, sizeof(buf)), "TLS_AES_256_GCM_SHA384");
	ck_assert_str_eq(tls_field(c, "subject", buf, sizeof(buf)), "CN=unit-client,O=echod tests");
	ck_assert_str_eq(tls_field(c, "resumed", buf, sizeof(buf)), "no");
	ck_assert_uint_eq(stat_sum("tls_handshakes_total"), 1);
	ck_assert_uint_eq(stat_sum("tls_client_certs_total"), 1);
	ck_assert_uint_eq(stat_of("tls_handshakes_total{version=\"TLSv1.3\"}"), 1);
	ck_assert_uint_eq(stat_sum("tls_handshake_failures_total"), 0);

	/* Client close_notify: the echo ends with EOF, and answers with its own. */
	ck_assert_int_eq(SSL_shutdown(s), 0);
	spin_until_closed(c, 200);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), "eof");
	ck_assert_uint_eq(client_read(s, buf, 1, 50), 0);
	ck_assert(SSL_get_shutdown(s) & SSL_RECEIVED_SHUTDOWN);
	ck_assert_ptr_null(tls_field(c, "subject", buf, sizeof(buf)));
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/* Server finishes first (TLS 1.2): close_notify, then the TCP write side. */
START_TEST(test_server_close_notify_tls12)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	char buf[64];
	struct conn *c;
	SSL *s;
	int peer;

	s = client_open(l, &c, &peer, TLS1_2_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	ck_assert_int_eq(SSL_write(s, "abc", 3), 3);
	ck_assert_uint_eq(client_read(s, buf, 3, 200), 3);
	ck_assert_str_eq(tls_field(c, "tls", buf, sizeof(buf)), "TLSv1.2");
	ck_assert_ptr_null(tls_field(c, "subject", buf, sizeof(buf)));
	conn_finish(c);
	ck_assert_int_eq(conn_state(c), CONN_S_LINGER);
	ck_assert_uint_eq(client_read(s, buf, 1, 50), 0);
	ck_assert_int_eq(SSL_get_error(s, 0), SSL_ERROR_ZERO_RETURN);
	ck_assert(SSL_get_shutdown(s) & SSL_RECEIVED_SHUTDOWN);
	client_free(s);
	close(peer);
	spin_until_closed(c, 200);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/* 4 MiB each way through the transport: partial writes, backpressure, order. */
START_TEST(test_bulk_echo)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	static unsigned char out[4 << 20], in[4 << 20];
	size_t sent = 0, got = 0, i;
	struct conn_info ci;
	struct conn *c;
	int peer, rv, rounds = 200000;
	SSL *s;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 131 + (i >> 12));
	s = client_open(l, &c, &peer, TLS1_3_VERSION, NULL, NULL);
	SSL_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	while (got < sizeof(in) && rounds-- > 0) {
		if (sent < sizeof(out)) {
			rv = SSL_write(s, out + sent, (int)(sizeof(out) - sent > 65536 ? 65536 :
			    sizeof(out) - sent));
			if (rv > 0)
				sent += (size_t)rv;
		}
		unit_spin(base, 1);
		rv = SSL_read(s, in + got, (int)(sizeof(in) - got));
		if (rv > 0)
			got += (size_t)rv;
		ERR_clear_error();
	}
	ck_assert_uint_eq(got, sizeof(in));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	conn_info(c, &ci);
	ck_assert_uint_eq(ci.bytes_in, sizeof(out));
	ck_assert_uint_eq(ci.bytes_out, sizeof(out));
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/* TLS 1.3 KeyUpdate asking for the server's: its reply goes out with the echo. */
START_TEST(test_key_update)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	char buf[16];
	struct conn *c;
	int peer, i;
	SSL *s;

	s = client_open(l, &c, &peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(SSL_key_update(s, SSL_KEY_UPDATE_REQUESTED), 1);
		ck_assert_int_eq(SSL_write(s, "rekeyed", 7), 7);
		ck_assert_uint_eq(client_read(s, buf, 7, 200), 7);
		ck_assert_mem_eq(buf, "rekeyed", 7);
	}
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_resumption)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION }, i, peer, rounds;
	SSL_SESSION *sess;
	char buf[256];
	struct conn *c;
	SSL *s;

	for (i = 0; i < 2; i++) {
		s = client_open(l, &c, &peer, versions[i], NULL, NULL);
		ck_assert_int_eq(client_handshake(s, 200), 1);
		/* TLS 1.3 tickets arrive after the handshake: read the echo first */
		ck_assert_int_eq(SSL_write(s, "x", 1), 1);
		ck_assert_uint_eq(client_read(s, buf, 1, 200), 1);
		ck_assert_ptr_nonnull(sess = SSL_get1_session(s));
		ck_assert(SSL_SESSION_is_resumable(sess));
		/* a client that closes without close_notify spoils its TLS 1.2 session */
		SSL_shutdown(s);
		client_close(s, peer, c);

		s = client_open(l, &c, &peer, versions[i], NULL, NULL);
		SSL_set_session(s, sess);
		SSL_SESSION_free(sess);
		ck_assert_int_eq(client_handshake(s, 200), 1);
		ck_assert_msg(SSL_session_reused(s) == 1, "not resumed, version %d", versions[i]);
		/* an abbreviated handshake ends on the server's side last */
		for (rounds = 0; rounds < 100 && conn_state(c) == CONN_S_HANDSHAKE; rounds++)
			unit_spin(base, 1);
		ck_assert_str_eq(tls_field(c, "resumed", buf, sizeof(buf)), "yes");
		client_close(s, peer, c);
	}
	ck_assert_uint_eq(stat_sum("tls_handshakes_total"), 4);
	ck_assert_uint_eq(stat_sum("tls_resumed_total"), 2);
	ck_assert_uint_eq(stat_of("tls_handshakes_total{version=\"TLSv1.2\"}"), 2);
	ck_assert_uint_eq(stat_of("tls_handshakes_total{version=\"TLSv1.3\"}"), 2);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/*
 * A test service: echo, counting on_data calls, optionally pausing reading
 * at the first data (as a service with too much in flight does).
 */
static unsigned count_calls;
static size_t   count_bytes;
static int      count_pause;

static void
count_on_data(struct conn *c, const char *data, size_t len)
{
	count_calls++;
	count_bytes += len;
	conn_write(c, data, len);
	if (count_pause)
		conn_pause_read(c);
}

static const struct service count_service = {
	.name = "count-echo",
	.on_data = count_on_data,
};

static struct conn *
count_accept_pair(struct tls_ctx *t, int *peer)
{
	struct conn_params p;
	struct conn *c;

	count_calls = 0;
	count_bytes = 0;
	memset(&p, 0, sizeof(p));
	p.svc = &count_service;
	p.owner_name = "unit";
	c = unit_conn_pair(&p, peer);
	tls_conn_accept(c, t);
	conn_ref(c);
	return c;
}

/*
 * Records that arrive together are read together: one read(2) takes them
 * all (read ahead) and the service gets them in one on_data call, not one
 * call (and one reply record) per record.
 */
START_TEST(test_read_ahead_coalesces)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	static char out[200 * 16], in[200 * 16];
	struct conn *c;
	size_t i;
	SSL *s;
	int peer;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)('a' + i % 26);
	c = count_accept_pair(l, &peer);
	s = client_new(peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	unit_spin(base, 5);
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	/* 200 records of 16 bytes, all sent before the server runs */
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(SSL_write(s, out + i * 16, 16), 16);
	ck_assert_uint_eq(client_read(s, in, sizeof(in), 200), sizeof(in));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	ck_assert_uint_eq(count_bytes, sizeof(out));
	ck_assert_msg(count_calls <= 2, "%u on_data calls for 200 records sent together",
	    count_calls);
	client_free(s);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/*
 * Data and the close_notify after it come in one read; the service stops
 * reading at the data. The end of input is held in the transport, not in
 * the socket (the client sends no FIN), so resuming must deliver it.
 */
START_TEST(test_read_ahead_end_after_pause)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	char buf[8];
	struct conn *c;
	SSL *s;
	int peer;

	c = count_accept_pair(l, &peer);
	s = client_new(peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	unit_spin(base, 5);
	count_pause = 1;
	ck_assert_int_eq(SSL_write(s, "abc", 3), 3);
	ck_assert_int_eq(SSL_shutdown(s), 0);
	ck_assert_uint_eq(client_read(s, buf, 3, 100), 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_uint_eq(count_calls, 1);
	unit_spin(base, 20);
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	count_pause = 0;
	conn_resume_read(c);
	spin_until_closed(c, 200);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), "eof");
	client_free(s);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/*
 * Data, then a record that does not decrypt, in one read: the service gets
 * the data, then the connection closes (io-error). OpenSSL has sent its
 * alert by then, so the reply to that data is not sent.
 */
START_TEST(test_read_ahead_error_after_data)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	static const unsigned char rec[] = { 0x17, 0x03, 0x03, 0x00, 0x20,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	char buf[8];
	struct conn *c;
	SSL *s;
	int peer;

	c = count_accept_pair(l, &peer);
	s = client_new(peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	unit_spin(base, 5);
	ck_assert_int_eq(SSL_write(s, "xyz", 3), 3);
	ck_assert_int_eq(write(peer, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	spin_until_closed(c, 100);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), "io-error");
	ck_assert_uint_eq(count_calls, 1);
	ck_assert_uint_eq(count_bytes, 3);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* the alert, then the end: no echo */
	ck_assert_uint_eq(client_read(s, buf, 3, 50), 0);
	client_free(s);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

static int ticket_count;

static int
ticket_new_cb(SSL *s, SSL_SESSION *sess)
{
	ticket_count++;
	return 0;
}

/* A TLS 1.3 handshake, full or resumed, gives the client one ticket. */
START_TEST(test_one_ticket)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	SSL_SESSION *sess = NULL;
	char buf[4];
	struct conn *c;
	int i, peer;
	SSL *s;

	for (i = 0; i < 2; i++) {
		c = tls_accept_pair(l, &peer);
		s = client_new(peer, TLS1_3_VERSION, NULL, NULL);
		SSL_CTX_set_session_cache_mode(SSL_get_SSL_CTX(s), SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(SSL_get_SSL_CTX(s), ticket_new_cb);
		if (sess != NULL)
			SSL_set_session(s, sess);
		ticket_count = 0;
		ck_assert_int_eq(client_handshake(s, 200), 1);
		ck_assert_int_eq(SSL_session_reused(s), i);
		ck_assert_int_eq(SSL_write(s, "t", 1), 1);
		ck_assert_uint_eq(client_read(s, buf, 1, 200), 1);
		unit_spin(base, 10);
		ck_assert_uint_eq(client_read(s, buf, 1, 10), 0);
		ck_assert_int_eq(ticket_count, 1);
		SSL_SESSION_free(sess);
		sess = SSL_get1_session(s);
		SSL_shutdown(s);
		client_free(s);
		close(peer);
		conn_unref(c);
	}
	SSL_SESSION_free(sess);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/*
 * The default cipher order (config table defaults, only cert and key set):
 * AES-128-GCM, then AES-256-GCM, then ChaCha20-Poly1305, for TLS 1.2 and
 * TLS 1.3 alike, whatever order the client offers them in.
 */
START_TEST(test_default_cipher_order)
{
	static const struct {
		int         version;
		const char *offer;      /* the client's preference, best first */
		const char *want;
	} cases[] = {
		{ TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
		  "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256" },
		{ TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384",
		  "ECDHE-ECDSA-AES256-GCM-SHA384" },
		{ TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305" },
		{ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
		  "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256" },
		{ TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
		  "TLS_AES_256_GCM_SHA384" },
		{ TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256" },
	};
	struct config_errors errs = { NULL, 0 };
	struct config *cf = NULL;
	char *cert = path_of("server.pem"), *key = path_of("server.key"), *ini, buf[64];
	struct tls_ctx *l;
	struct conn *c;
	size_t i;
	int peer, rounds;
	SSL *s;

	xasprintf(&ini, "[listener d]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n"
	    "tls_cert = %s\ntls_key = %s\n", cert, key);
	ck_assert_int_eq(config_load_string("t.ini", ini, &cf, &errs), 0);
	l = tls_listener(config_find_listener(cf, "d"));
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		c = tls_accept_pair(l, &peer);
		s = client_new(peer, cases[i].version, NULL, NULL);
		if (cases[i].version == TLS1_3_VERSION)
			ck_assert_int_eq(SSL_set_ciphersuites(s, cases[i].offer), 1);
		else
			ck_assert_int_eq(SSL_set_cipher_list(s, cases[i].offer), 1);
		ck_assert_int_eq(client_handshake(s, 200), 1);
		for (rounds = 0; rounds < 100 && conn_state(c) == CONN_S_HANDSHAKE; rounds++)
			unit_spin(base, 1);
		ck_assert_str_eq(SSL_get_cipher_name(s), cases[i].want);
		ck_assert_str_eq(tls_field(c, "cipher", buf, sizeof(buf)), cases[i].want);
		client_free(s);
		close(peer);
		conn_unref(c);
	}
	tls_ctx_free(l);
	config_free(cf);
	free(ini);
	free(cert);
	free(key);
}
END_TEST

/* A refused handshake: the conn closes with `reason`, counted once under it. */
static void
expect_failure(struct conn *c, const char *reason, int rounds)
{
	char sample[128];

	spin_until_closed(c, rounds);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), reason);
	snprintf(sample, sizeof(sample), "tls_handshake_failures_total{reason=\"%s\"}", reason);
	ck_assert_uint_eq(stat_of(sample), 1);
	ck_assert_uint_eq(stat_sum("tls_handshake_failures_total"), 1);
	ck_assert_uint_eq(stat_sum("tls_handshakes_total"), 0);
}

START_TEST(test_fail_plaintext)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	struct conn *c;
	int peer;

	c = tls_accept_pair(l, &peer);
	ck_assert_int_eq(write(peer, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	expect_failure(c, "tls-plaintext", 100);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/* Every byte value: text and line whitespace are refused, the rest goes to OpenSSL. */
START_TEST(test_first_byte_class)
{
	unsigned b;

	ck_assert_int_eq(tls_first_byte_class(0x16), TLS_FIRST_TLS);
	ck_assert_int_eq(tls_first_byte_class('G'), TLS_FIRST_TEXT);
	ck_assert_int_eq(tls_first_byte_class(' '), TLS_FIRST_TEXT);
	ck_assert_int_eq(tls_first_byte_class('~'), TLS_FIRST_TEXT);
	ck_assert_int_eq(tls_first_byte_class('\r'), TLS_FIRST_SPACE);
	ck_assert_int_eq(tls_first_byte_class('\n'), TLS_FIRST_SPACE);
	ck_assert_int_eq(tls_first_byte_class('\t'), TLS_FIRST_SPACE);
	for (b = 0; b < 256; b++) {
		if ((b >= 0x20 && b < 0x7f) || b == '\r' || b == '\n' || b == '\t')
			ck_assert_int_ne(tls_first_byte_class((unsigned char)b), TLS_FIRST_TLS);
		else
			ck_assert_int_eq(tls_first_byte_class((unsigned char)b), TLS_FIRST_TLS);
	}
}
END_TEST

START_TEST(test_fail_garbage)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	static const unsigned char junk[] = { 0x16, 0x7f, 0x00, 0x00, 0x10, 0xde, 0xad, 0xbe,
	    0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b };
	struct conn *c;
	int peer;

	c = tls_accept_pair(l, &peer);
	ck_assert_int_eq(write(peer, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	expect_failure(c, "tls-handshake-failed", 100);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_fail_truncated)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	/* a handshake record header announcing 512 bytes, then only a few */
	static const unsigned char part[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
	    0xfc, 0x03, 0x03 };
	struct conn *c;
	int peer;

	c = tls_accept_pair(l, &peer);
	ck_assert_int_eq(write(peer, part, sizeof(part)), (ssize_t)sizeof(part));
	unit_spin(base, 5);
	ck_assert_int_eq(conn_state(c), CONN_S_HANDSHAKE);
	close(peer);
	expect_failure(c, "tls-truncated", 100);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_fail_timeout)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l;
	struct conn *c;
	int peer;

	lc->tls_handshake_timeout_ms = 100;
	l = tls_listener(lc);
	c = tls_accept_pair(l, &peer);
	spin_until_closed(c, 2000);
	expect_failure(c, "handshake-timeout", 1);
	close(peer);
	conn_unref(c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_fail_client_certs)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l;
	struct conn *c;
	SSL *s;
	int peer;

	lc->tls_verify_client = TLS_VERIFY_REQUIRED;
	lc->tls_ca = path_of("ca.pem");
	l = tls_listener(lc);

	/* none sent: TLS 1.2 fails in the handshake itself */
	s = client_open(l, &c, &peer, TLS1_2_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), -1);
	expect_failure(c, "tls-no-client-cert", 100);
	client_close(s, peer, c);

	/* one from another CA (TLS 1.3: the client learns after its Finished) */
	s = client_open(l, &c, &peer, TLS1_3_VERSION, "rogue.pem", "rogue.key");
	client_handshake(s, 200);
	spin_until_closed(c, 100);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), "tls-bad-client-cert");
	ck_assert_uint_eq(stat_of("tls_handshake_failures_total{reason=\"tls-bad-client-cert\"}"), 1);
	ck_assert_uint_eq(stat_sum("tls_handshake_failures_total"), 2);
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

/* After the handshake, a record that does not decrypt ends the connection. */
START_TEST(test_bad_record_after_handshake)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l = tls_listener(lc);
	/* application data record, 32 bytes of junk as ciphertext */
	static const unsigned char rec[] = { 0x17, 0x03, 0x03, 0x00, 0x20,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	char buf[256];
	struct conn *c;
	SSL *s;
	int peer;

	s = client_open(l, &c, &peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	ck_assert_int_eq(SSL_write(s, "ok", 2), 2);
	ck_assert_uint_eq(client_read(s, buf, 2, 200), 2);
	ck_assert_int_eq(write(peer, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	spin_until_closed(c, 100);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_str_eq(conn_reason_name(conn_reason(c)), "io-error");
	ck_assert_uint_eq(ERR_peek_error(), 0);
	ck_assert_uint_eq(stat_sum("tls_handshakes_total"), 1);
	ck_assert_uint_eq(stat_sum("tls_handshake_failures_total"), 0);
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_optional_client_cert)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l;
	struct conn *c;
	char buf[4];
	SSL *s;
	int peer;

	lc->tls_verify_client = TLS_VERIFY_OPTIONAL;
	lc->tls_ca = path_of("ca.pem");
	l = tls_listener(lc);
	s = client_open(l, &c, &peer, TLS1_3_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), 1);
	ck_assert_int_eq(SSL_write(s, "ok", 2), 2);
	ck_assert_uint_eq(client_read(s, buf, 2, 200), 2);
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	ck_assert_ptr_null(tls_field(c, "subject", buf, sizeof(buf)));
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

START_TEST(test_min_version)
{
	struct listener_conf *lc = lc_new("server.pem", "server.key");
	struct tls_ctx *l;
	struct conn *c;
	SSL *s;
	int peer;

	lc->tls_min_version = TLS_MIN_TLS13;
	l = tls_listener(lc);
	s = client_open(l, &c, &peer, TLS1_2_VERSION, NULL, NULL);
	ck_assert_int_eq(client_handshake(s, 200), -1);
	expect_failure(c, "tls-version", 100);
	client_close(s, peer, c);
	tls_ctx_free(l);
	lc_free(lc);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("contexts");
	tcase_add_unchecked_fixture(tc, certs_make, certs_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ctx_good_pair);
	tcase_add_test(tc, test_ctx_no_tls);
	tcase_add_test(tc, test_ctx_mismatched_pair);
	tcase_add_test(tc, test_ctx_missing_files);
	tcase_add_test(tc, test_check_expired);
	tcase_add_test(tc, test_check_expires_soon);
	tcase_add_test(tc, test_check_not_yet_valid);
	tcase_add_test(tc, test_whole_days);
	tcase_add_test(tc, test_ctx_bad_ciphers);
	tcase_add_test(tc, test_ctx_bad_ca);
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_config_validation);
	tcase_add_test(tc, test_config_ktls);
	tcase_add_test(tc, test_ktls_probe);
	tcase_add_test(tc, test_handshake_echo_mtls);
	tcase_add_test(tc, test_server_close_notify_tls12);
	tcase_add_test(tc, test_bulk_echo);
	tcase_add_test(tc, test_key_update);
	tcase_add_test(tc, test_resumption);
	tcase_add_test(tc, test_default_cipher_order);
	tcase_add_test(tc, test_read_ahead_coalesces);
	tcase_add_test(tc, test_read_ahead_end_after_pause);
	tcase_add_test(tc, test_read_ahead_error_after_data);
	tcase_add_test(tc, test_one_ticket);
	tcase_add_test(tc, test_fail_plaintext);
	tcase_add_test(tc, test_first_byte_class);
	tcase_add_test(tc, test_fail_garbage);
	tcase_add_test(tc, test_fail_truncated);
	tcase_add_test(tc, test_fail_timeout);
	tcase_add_test(tc, test_fail_client_certs);
	tcase_add_test(tc, test_bad_record_after_handshake);
	tcase_add_test(tc, test_optional_client_cert);
	tcase_add_test(tc, test_min_version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(tls_suite());
}
