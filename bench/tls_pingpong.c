/*
 * tls_pingpong: echo ping-pong client, plain TCP or TLS, for
 * bench/tls_bench.sh. Each of CONNS connections runs in its own thread with
 * blocking sockets: send a SIZE-byte message, read it back, check it, repeat
 * for SECONDS. The same code path serves both modes, so the ratio of the two
 * measures what TLS costs. TLS uses OpenSSL with no certificate check (the
 * benchmark's own throwaway certificate). Loopback only.
 *
 * usage: tls_pingpong plain|tls PORT CONNS SIZE SECONDS
 * prints: messages=N bytes=B seconds=S (bytes one way), and with tls the
 * protocol and cipher the server chose: version=TLSv1.3 cipher=...
 */
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tool.h"

static int                 pingpong_tls;
static uint16_t            pingpong_port;
static size_t              pingpong_size;
static double              pingpong_seconds;
static SSL_CTX            *pingpong_ctx;
static atomic_ullong       pingpong_messages;
static char                pingpong_cipher[128];
static pthread_mutex_t     pingpong_lock = PTHREAD_MUTEX_INITIALIZER;

/* The message, then what OpenSSL has to say. */
static void __attribute__((noreturn))
pingpong_die(const char *what)
{
	tool_warn("%s", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
pingpong_now(void)
{
	return (double)tool_now_ns() / 1e9;
}

/* All of buf, written or read, through TLS when s is set. */
static int
pingpong_io(SSL *s, int fd, char *buf, size_t len, int writing)
{
	size_t done = 0;
	int n;

	if (s == NULL)
		return writing ? tool_write_all(fd, buf, len) : tool_read_all(fd, buf, len);
	while (done < len) {
		if (writing)
			n = SSL_write(s, buf + done, (int)(len - done));
		else
			n = SSL_read(s, buf + done, (int)(len - done));
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int
pingpong_connect(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	tool_loopback4(pingpong_port, &ss, &len);
	if ((fd = tool_socket(AF_INET, 0)) == -1)
		pingpong_die("socket failed");
	if (tool_connect(fd, &ss, len) == -1)
		pingpong_die("connect failed");
	return fd;
}

static void *
pingpong_run(void *arg)
{
	char *out = malloc(pingpong_size), *in = malloc(pingpong_size);
	unsigned long long n = 0;
	SSL *s = NULL;
	double end;
	size_t i;
	int fd;

	if (out == NULL || in == NULL)
		pingpong_die("out of memory");
	for (i = 0; i < pingpong_size; i++)
		out[i] = (char)(i * 7 + (uintptr_t)arg);
	fd = pingpong_connect();
	if (pingpong_tls) {
		if ((s = SSL_new(pingpong_ctx)) == NULL || SSL_set_fd(s, fd) != 1 ||
		    SSL_connect(s) != 1)
			pingpong_die("TLS handshake failed");
		pthread_mutex_lock(&pingpong_lock);
		snprintf(pingpong_cipher, sizeof(pingpong_cipher), " version=%s cipher=%s",
		    SSL_get_version(s), SSL_get_cipher_name(s));
		pthread_mutex_unlock(&pingpong_lock);
	}
	end = pingpong_now() + pingpong_seconds;
	while (pingpong_now() < end) {
		if (pingpong_io(s, fd, out, pingpong_size, 1) == -1 ||
		    pingpong_io(s, fd, in, pingpong_size, 0) == -1)
			pingpong_die("connection failed");
		if (memcmp(in, out, pingpong_size) != 0)
			pingpong_die("the echo differs from the message");
		n++;
	}
	atomic_fetch_add(&pingpong_messages, n);
	if (s != NULL) {
		SSL_shutdown(s);
		SSL_free(s);
	}
	close(fd);
	free(out);
	free(in);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t *threads;
	unsigned long long n;
	uint64_t port, conns, size, i;
	double t0;

	tool_init("tls_pingpong", 1);
	if (argc != 6 || (strcmp(argv[1], "plain") != 0 && strcmp(argv[1], "tls") != 0)) {
		fprintf(stderr, "usage: tls_pingpong plain|tls PORT CONNS SIZE SECONDS\n");
		return 2;
	}
	pingpong_tls = strcmp(argv[1], "tls") == 0;
	if (tool_parse_uint(argv[2], 1, 65535, &port) == -1 ||
	    tool_parse_uint(argv[3], 1, 1000, &conns) == -1 ||
	    tool_parse_uint(argv[4], 1, 64 << 20, &size) == -1 ||
	    tool_parse_double(argv[5], 0, 86400, &pingpong_seconds) == -1 ||
	    pingpong_seconds <= 0)
		pingpong_die("bad arguments");
	pingpong_port = (uint16_t)port;
	pingpong_size = (size_t)size;
	if (pingpong_tls) {
		if ((pingpong_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			pingpong_die("SSL_CTX_new failed");
		SSL_CTX_set_verify(pingpong_ctx, SSL_VERIFY_NONE, NULL);
	}
	if ((threads = calloc(conns, sizeof(*threads))) == NULL)
		pingpong_die("out of memory");
	t0 = pingpong_now();
	for (i = 0; i < conns; i++)
		if (pthread_create(&threads[i], NULL, pingpong_run, (void *)(uintptr_t)i) != 0)
			pingpong_die("pthread_create failed");
	for (i = 0; i < conns; i++)
		pthread_join(threads[i], NULL);
	n = atomic_load(&pingpong_messages);
	printf("messages=%llu bytes=%llu seconds=%.3f%s\n", n, n * pingpong_size,
	    pingpong_now() - t0, pingpong_cipher);
	free(threads);
	SSL_CTX_free(pingpong_ctx);
	return 0;
}
