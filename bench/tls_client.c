/*
 * tls_client: TLS handshake and idle-connection load for bench/tls_bench.sh.
 * Blocking sockets, one thread per client; loopback only; no certificate
 * check (the benchmark's own throwaway certificate).
 *
 *   tls_client hs MODE PORT SECONDS [THREADS]
 *     Handshakes back to back for SECONDS; each thread: connect, handshake,
 *     (TLS 1.3: wait for the server's tickets), close_notify, close.
 *     MODE:  full12 / full13   a new session every time
 *            id12              TLS 1.2 resumption by session id (no tickets)
 *            ticket12          TLS 1.2 resumption by session ticket
 *            psk13             TLS 1.3 resumption by PSK ticket (psk_dhe_ke)
 *     A resuming mode makes one full handshake per thread, then offers the
 *     newest session it got. Prints: handshakes=N resumed=R seconds=S
 *
 *   tls_client idle PORT CONNS HOLD [THREADS]
 *     Opens CONNS TLS 1.3 connections (full handshakes), echoes 64 bytes on
 *     each, prints "established=N" and holds them HOLD seconds, then echoes
 *     again on each and prints "verified=N". The server's RSS is sampled
 *     during the hold.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define CLIENT_MSG      64
#define CLIENT_TICKET_WAIT_MS 1000

enum client_mode { CM_FULL12, CM_FULL13, CM_ID12, CM_TICKET12, CM_PSK13 };

static const char *client_mode_names[] = { "full12", "full13", "id12", "ticket12", "psk13" };

static enum client_mode client_mode;
static int              client_port;
static double           client_seconds;
static SSL_CTX         *client_ctx;
static atomic_ullong    client_handshakes, client_resumed;

/* idle mode */
static long             idle_conns, idle_threads;
static atomic_long      idle_established, idle_verified;

static void __attribute__((noreturn))
client_die(const char *what)
{
	fprintf(stderr, "tls_client: %s (errno %d)\n", what, errno);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
client_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
client_connect(void)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)client_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		client_die("socket failed");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		client_die("connect failed");
	return fd;
}

static SSL_CTX *
client_ctx_new(int version, int tickets)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		client_die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (!tickets)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* sessions are kept by hand, one per thread */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

/*
 * TLS 1.3 tickets come after the handshake: wait for the first flight the
 * server sends after it, and read what has arrived (non-blocking), so the
 * session can be resumed and nothing is left unread at the close.
 */
static void
client_read_tickets(SSL *s, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int timeout = CLIENT_TICKET_WAIT_MS, rv;
	char b;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		client_die("fcntl failed");
	while (poll(&pfd, 1, timeout) == 1) {
		rv = SSL_read(s, &b, 1);
		if (rv > 0 || SSL_get_error(s, rv) != SSL_ERROR_WANT_READ)
			break;
		timeout = 0;
	}
}

/* One handshake; returns the session to offer next (resuming modes). */
static SSL_SESSION *
client_handshake(SSL_SESSION *offer)
{
	SSL_SESSION *got = NULL;
	SSL *s;
	int fd = client_connect();

	if ((s = SSL_new(client_ctx)) == NULL || SSL_set_fd(s, fd) != 1)
		client_die("SSL_new failed");
	if (offer != NULL)
		SSL_set_session(s, offer);
	if (SSL_connect(s) != 1)
		client_die("handshake failed");
	atomic_fetch_add(&client_handshakes, 1);
	if (SSL_session_reused(s))
		atomic_fetch_add(&client_resumed, 1);
	if (SSL_version(s) == TLS1_3_VERSION)
		client_read_tickets(s, fd);
	if (client_mode != CM_FULL12 && client_mode != CM_FULL13)
		got = SSL_get1_session(s);
	SSL_shutdown(s);
	SSL_free(s);
	close(fd);
	ERR_clear_error();
	return got;
}

static void *
client_hs_run(void *arg __attribute__((unused)))
{
	SSL_SESSION *sess = NULL, *next;
	double end = client_now() + client_seconds;

	while (client_now() < end) {
		next = client_handshake(sess);
		if (next != NULL && SSL_SESSION_is_resumable(next)) {
			SSL_SESSION_free(sess);
			sess = next;
		} else {
			SSL_SESSION_free(next);
		}
	}
	SSL_SESSION_free(sess);
	return NULL;
}

/* ---------------------------------------------------------------- idle */

struct idle_conn {
	SSL *ssl;
	int  fd;
};

static int
idle_echo(SSL *s)
{
	char out[CLIENT_MSG], in[CLIENT_MSG];
	int got, rv;

	memset(out, 'i', sizeof(out));
	if (SSL_write(s, out, sizeof(out)) != (int)sizeof(out))
		return -1;
	for (got = 0; got < (int)sizeof(in); got += rv)
		if ((rv = SSL_read(s, in + got, (int)sizeof(in) - got)) <= 0)
			return -1;
	return memcmp(in, out, sizeof(in)) == 0 ? 0 : -1;
}

static pthread_barrier_t idle_opened, idle_go;

static void *
idle_run(void *arg)
{
	long t = (long)(intptr_t)arg, n = idle_conns / idle_threads + (t < idle_conns % idle_threads);
	struct idle_conn *v = calloc((size_t)n, sizeof(*v));
	long i;

	if (v == NULL)
		client_die("out of memory");
	for (i = 0; i < n; i++) {
		v[i].fd = client_connect();
		if ((v[i].ssl = SSL_new(client_ctx)) == NULL || SSL_set_fd(v[i].ssl, v[i].fd) != 1 ||
		    SSL_connect(v[i].ssl) != 1 || idle_echo(v[i].ssl) == -1)
			client_die("idle: handshake or echo failed");
		atomic_fetch_add(&idle_established, 1);
	}
	pthread_barrier_wait(&idle_opened);
	pthread_barrier_wait(&idle_go);
	for (i = 0; i < n; i++) {
		if (idle_echo(v[i].ssl) == 0)
			atomic_fetch_add(&idle_verified, 1);
		SSL_shutdown(v[i].ssl);
		SSL_free(v[i].ssl);
		close(v[i].fd);
	}
	free(v);
	return NULL;
}

static void
idle_main(long hold)
{
	struct rlimit rl;
	pthread_t *th;
	long i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)idle_conns + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	client_ctx = client_ctx_new(TLS1_3_VERSION, 1);
	th = calloc((size_t)idle_threads, sizeof(*th));
	pthread_barrier_init(&idle_opened, NULL, (unsigned)idle_threads + 1);
	pthread_barrier_init(&idle_go, NULL, (unsigned)idle_threads + 1);
	for (i = 0; i < idle_threads; i++)
		if (pthread_create(&th[i], NULL, idle_run, (void *)(intptr_t)i) != 0)
			client_die("pthread_create failed");
	pthread_barrier_wait(&idle_opened);
	printf("established=%ld\n", atomic_load(&idle_established));
	fflush(stdout);
	sleep((unsigned)hold);
	pthread_barrier_wait(&idle_go);
	for (i = 0; i < idle_threads; i++)
		pthread_join(th[i], NULL);
	printf("verified=%ld\n", atomic_load(&idle_verified));
	free(th);
	SSL_CTX_free(client_ctx);
}

/* ---------------------------------------------------------------- main */

static void
client_usage(void)
{
	fprintf(stderr, "usage: tls_client hs full12|full13|id12|ticket12|psk13 PORT SECONDS "
	    "[THREADS]\n       tls_client idle PORT CONNS HOLD [THREADS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	pthread_t *th;
	double t0;
	long threads = 1, i, m;

	if (argc >= 6 && strcmp(argv[1], "idle") == 0) {
		client_port = atoi(argv[2]);
		idle_conns = atol(argv[3]);
		idle_threads = argc > 5 ? atol(argv[5]) : 1;
		if (client_port <= 0 || idle_conns <= 0 || idle_threads <= 0 || idle_threads > 64)
			client_usage();
		idle_main(atol(argv[4]));
		return 0;
	}
	if (argc < 5 || strcmp(argv[1], "hs") != 0)
		client_usage();
	for (m = 0; m < (long)(sizeof(client_mode_names) / sizeof(*client_mode_names)); m++)
		if (strcmp(argv[2], client_mode_names[m]) == 0)
			break;
	if (m == (long)(sizeof(client_mode_names) / sizeof(*client_mode_names)))
		client_usage();
	client_mode = (enum client_mode)m;
	client_port = atoi(argv[3]);
	client_seconds = atof(argv[4]);
	if (argc > 5)
		threads = atol(argv[5]);
	if (client_port <= 0 || client_seconds <= 0 || threads <= 0 || threads > 64)
		client_usage();
	client_ctx = client_ctx_new(client_mode == CM_FULL13 || client_mode == CM_PSK13 ?
	    TLS1_3_VERSION : TLS1_2_VERSION, client_mode != CM_ID12);
	th = calloc((size_t)threads, sizeof(*th));
	t0 = client_now();
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, client_hs_run, NULL) != 0)
			client_die("pthread_create failed");
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("handshakes=%llu resumed=%llu seconds=%.3f\n", atomic_load(&client_handshakes),
	    atomic_load(&client_resumed), client_now() - t0);
	free(th);
	SSL_CTX_free(client_ctx);
	return 0;
}
