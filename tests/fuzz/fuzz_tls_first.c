/*
 * fuzz_tls_first.c: libFuzzer harness for what a TLS listener does with a
 * client's first flight: the plaintext decision on the first byte
 * (tls_first_byte_class, as tls_peek_first uses it) and OpenSSL's server
 * handshake fed the same bytes through a memory BIO pair.
 *
 * The server context is set up once, as tls.c's tls_ctx_build() does for a
 * listener with the config's defaults (TLS 1.2 minimum, the default
 * tls_ciphers and tls_ciphersuites, the same options and session cache),
 * with an EC P-256 certificate made at start-up: no key is committed.
 *
 * Invariants:
 *   - a first byte that is printable ASCII, CR, LF or TAB is refused before
 *     OpenSSL sees anything; every other byte is handed to OpenSSL;
 *   - SSL_accept on one flight never completes (no client Finished can be
 *     forged), never crashes or leaks, and never reports an HTTP request on
 *     bytes the first-byte check let through (that would be plaintext that
 *     slipped past it).
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "fuzz.h"
#include "tls.h"

/*
 * OpenSSL is not instrumented, so libFuzzer's coverage cannot see how far
 * OpenSSL got with an input. These counters, in the section libFuzzer reads
 * as extra coverage (and clears before each input), record what it did:
 * the ClientHello's version and extensions, the handshake state and result,
 * the error reasons and how much the server answered. An input that makes
 * OpenSSL do something new is kept like one that reaches new code.
 */
#define FUZZ_TLS_COUNTERS	4096
static uint8_t fuzz_tls_counters[FUZZ_TLS_COUNTERS]
    __attribute__((section("__libfuzzer_extra_counters"), used));

enum fuzz_tls_feature {
	FUZZ_TLS_F_HELLO_VERSION = 1,
	FUZZ_TLS_F_EXTENSION,
	FUZZ_TLS_F_CIPHERS,
	FUZZ_TLS_F_STATE,
	FUZZ_TLS_F_RESULT,
	FUZZ_TLS_F_ERROR,
	FUZZ_TLS_F_ANSWER,
};

static SSL_CTX *fuzz_tls_ctx;

static void
fuzz_tls_feature(enum fuzz_tls_feature kind, uint32_t value)
{
	uint32_t h = (uint32_t)kind * 0x9e3779b1u ^ value * 0x85ebca6bu;
	uint8_t *c;

	h ^= h >> 15;
	c = &fuzz_tls_counters[h % FUZZ_TLS_COUNTERS];
	if (*c < 255)
		(*c)++;
}

/* Bit length of n: counts of similar size are one feature. */
static uint32_t
fuzz_tls_log2(size_t n)
{
	uint32_t b = 0;

	while (n > 0) {
		b++;
		n >>= 1;
	}
	return b;
}

/*
 * Called by OpenSSL once it has parsed a ClientHello: what was in it.
 * Values a client may set freely (version, extension types) are bucketed
 * into the known ones and "other", so that every unknown number is not a
 * new feature.
 */
static int
fuzz_tls_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *ciphers;
	unsigned int v = SSL_client_hello_get0_legacy_version(ssl);
	int *exts = NULL;
	size_t n = 0, i;

	fuzz_tls_feature(FUZZ_TLS_F_HELLO_VERSION, v >= 0x0300 && v <= 0x0304 ? v : 0);
	fuzz_tls_feature(FUZZ_TLS_F_CIPHERS, fuzz_tls_log2(SSL_client_hello_get0_ciphers(ssl,
	    &ciphers) / 2));
	if (SSL_client_hello_get1_extensions_present(ssl, &exts, &n) == 1) {
		for (i = 0; i < n; i++)
			fuzz_tls_feature(FUZZ_TLS_F_EXTENSION, exts[i] <= 64 || exts[i] == 0xff01 ?
			    (uint32_t)exts[i] : 0xffff);
		OPENSSL_free(exts);
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static X509 *
fuzz_tls_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365 * 24 * 3600L) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		fatalx("fuzz_tls_first: cannot make a certificate");
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
	    -1, -1, 0) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		fatalx("fuzz_tls_first: cannot sign the certificate");
	return x;
}

/* tls.c's tls_ctx_build() for a listener with the default tls_* keys. */
static SSL_CTX *
fuzz_tls_ctx_new(void)
{
	struct config *cf = config_default();
	const struct listener_conf *lc = cf->listeners[0];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509 *x;

	if (key == NULL || ctx == NULL)
		fatalx("fuzz_tls_first: OpenSSL set-up failed");
	x = fuzz_tls_cert(key);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, lc->tls_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, lc->tls_ciphersuites) != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		fatalx("fuzz_tls_first: cannot set up the server context");
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"echod:fuzz", 10);
	SSL_CTX_set_client_hello_cb(ctx, fuzz_tls_hello_cb, NULL);
	X509_free(x);
	EVP_PKEY_free(key);
	config_free(cf);
	return ctx;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_tls_ctx = fuzz_tls_ctx_new();
	return 0;
}

/* The first-byte rule, written out: text and line whitespace are plaintext. */
static int
fuzz_tls_is_text(unsigned char b)
{
	return (b >= 0x20 && b <= 0x7e) || b == '\r' || b == '\n' || b == '\t';
}

/*
 * Record OpenSSL's errors as features; did it take these bytes for an HTTP
 * request or a proxy CONNECT?
 */
static int
fuzz_tls_errors(void)
{
	unsigned long e;
	int r, http = 0;

	while ((e = ERR_get_error()) != 0) {
		fuzz_tls_feature(FUZZ_TLS_F_ERROR, (uint32_t)e);
		if (ERR_GET_LIB(e) != ERR_LIB_SSL)
			continue;
		r = ERR_GET_REASON(e);
		if (r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST)
			http = 1;
	}
	return http;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tls_first first;
	BIO *rbio, *wbio;
	SSL *ssl;
	int rv;

	if (size == 0)
		return 0;
	first = tls_first_byte_class(data[0]);
	FUZZ_CHECK(first == TLS_FIRST_TLS || first == TLS_FIRST_TEXT || first == TLS_FIRST_SPACE,
	    "class %d for 0x%02x", (int)first, data[0]);
	FUZZ_CHECK((first != TLS_FIRST_TLS) == fuzz_tls_is_text(data[0]),
	    "first byte 0x%02x classed %d", data[0], (int)first);
	if (first != TLS_FIRST_TLS)
		return 0;	/* refused: the daemon closes before any handshake */

	if ((ssl = SSL_new(fuzz_tls_ctx)) == NULL || (rbio = BIO_new(BIO_s_mem())) == NULL ||
	    (wbio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("fuzz_tls_first: out of memory");
	BIO_set_mem_eof_return(rbio, -1);	/* no more bytes yet, as a non-blocking socket */
	FUZZ_CHECK(BIO_write(rbio, data, (int)size) == (int)size, "BIO_write");
	SSL_set_bio(ssl, rbio, wbio);
	SSL_set_accept_state(ssl);
	ERR_clear_error();
	rv = SSL_accept(ssl);
	FUZZ_CHECK(rv != 1, "a handshake completed from one flight of %zu bytes", size);
	fuzz_tls_feature(FUZZ_TLS_F_STATE, (uint32_t)SSL_get_state(ssl));
	fuzz_tls_feature(FUZZ_TLS_F_RESULT, (uint32_t)SSL_get_error(ssl, rv));
	fuzz_tls_feature(FUZZ_TLS_F_ANSWER, fuzz_tls_log2(BIO_ctrl_pending(wbio)));
	FUZZ_CHECK(!fuzz_tls_errors(), "OpenSSL saw an HTTP request after first byte 0x%02x",
	    data[0]);
	SSL_free(ssl);
	ERR_clear_error();
	return 0;
}
