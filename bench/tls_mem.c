/*
 * tls_mem.c: what an idle TLS connection holds in echod's memory, and where.
 *
 *   tls_mem [-n conns] [-v tls1_2|tls1_3] [-c client-cert -k client-key -a ca] CERT KEY
 *
 * Runs echod's own TLS transport (libechod: tls_ctx_new() with the config
 * table's defaults, conn_new(), tls_conn_accept(), the echo service) on N
 * socketpairs. A forked child is the client: on each connection it completes
 * a full handshake, echoes one 64-byte message (so a TLS 1.3 client also
 * reads its tickets) and keeps the connection open. Once all N are idle
 * the server's live heap is compared with a snapshot taken before they
 * were opened:
 *
 *   - every malloc of the process (interposed here: malloc, calloc, realloc,
 *     free, the aligned variants), counted by usable size;
 *   - of those, OpenSSL's, by the file:line that made them
 *     (CRYPTO_set_mem_functions), largest first.
 *
 * All per connection; heap bytes, not RSS (the allocation map of this tool
 * would count in the RSS; bench/tls_bench.sh measures the daemon's). One
 * thread runs the loop; the log thread is started but logs nothing below
 * "critical". Build it in a tree configured without --enable-debug or
 * sanitizers (make bench/tls_mem); under ASan only OpenSSL's allocations
 * are counted. No network: socketpairs only.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "stats.h"
#include "tls.h"
#include "util.h"

#define MEM_MAP_BITS    21              /* pointer -> site map: 2M slots */
#define MEM_MAP_SIZE    (1u << MEM_MAP_BITS)
#define MEM_SITES       8192
#define MEM_MSG         64

/* glibc's own allocator, under the names the interposed functions call. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void  __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* What OpenSSL's hooks and this tool allocate with: glibc's, or ASan's. */
#ifdef __SANITIZE_ADDRESS__
#define mem_raw_malloc(n)       malloc(n)
#define mem_raw_calloc(n, s)    calloc(n, s)
#define mem_raw_realloc(p, n)   realloc(p, n)
#define mem_raw_free(p)         free(p)
#else
#define mem_raw_malloc(n)       __libc_malloc(n)
#define mem_raw_calloc(n, s)    __libc_calloc(n, s)
#define mem_raw_realloc(p, n)   __libc_realloc(p, n)
#define mem_raw_free(p)         __libc_free(p)
#endif

struct mem_site {
	const char *file;
	int         line;
	int64_t     bytes;
	int64_t     count;
};

struct mem_slot {
	void       *p;                      /* NULL free, MEM_TOMB deleted */
	uint32_t    site;
	uint32_t    size;
};

#define MEM_TOMB ((void *)1)

static atomic_llong     mem_live;       /* usable bytes of every live block */
static pthread_mutex_t  mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mem_slot *mem_map;
static struct mem_site  mem_sites[MEM_SITES];
static uint32_t         mem_nsites;

/* ---------------------------------------------------------------- every malloc */

#ifndef __SANITIZE_ADDRESS__

static void
mem_count(void *p, int sign)
{
	if (p != NULL)
		atomic_fetch_add(&mem_live, sign * (long long)malloc_usable_size(p));
}

void *
malloc(size_t n)
{
	void *p = __libc_malloc(n);

	mem_count(p, 1);
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	mem_count(p, 1);
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p;

	mem_count(old, -1);
	p = __libc_realloc(old, n);
	if (p == NULL && n != 0)
		mem_count(old, 1);
	mem_count(p, 1);
	return p;
}

void
free(void *p)
{
	mem_count(p, -1);
	__libc_free(p);
}

void *
memalign(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);

	mem_count(p, 1);
	return p;
}

void *
aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int
posix_memalign(void **pp, size_t align, size_t n)
{
	if ((*pp = memalign(align, n)) == NULL)
		return ENOMEM;
	return 0;
}
#endif

/* ---------------------------------------------------------------- OpenSSL's, by site */

static uint32_t
mem_site_of(const char *file, int line)
{
	uint32_t i;

	for (i = 0; i < mem_nsites; i++)
		if (mem_sites[i].line == line && mem_sites[i].file == file)
			return i;
	if (mem_nsites == MEM_SITES)
		return MEM_SITES - 1;
	mem_sites[mem_nsites].file = file;
	mem_sites[mem_nsites].line = line;
	return mem_nsites++;
}

static size_t
mem_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> (64 - MEM_MAP_BITS));
}

static void
mem_put(void *p, size_t size, const char *file, int line)
{
	size_t i;
	uint32_t s;

	pthread_mutex_lock(&mem_lock);
	s = mem_site_of(file, line);
	mem_sites[s].bytes += (int64_t)size;
	mem_sites[s].count++;
	for (i = mem_hash(p); mem_map[i].p != NULL && mem_map[i].p != MEM_TOMB;
	    i = (i + 1) & (MEM_MAP_SIZE - 1))
		;
	mem_map[i].p = p;
	mem_map[i].site = s;
	mem_map[i].size = (uint32_t)size;
	pthread_mutex_unlock(&mem_lock);
}

static void
mem_del(void *p)
{
	size_t i;

	pthread_mutex_lock(&mem_lock);
	for (i = mem_hash(p); mem_map[i].p != NULL; i = (i + 1) & (MEM_MAP_SIZE - 1)) {
		if (mem_map[i].p == p) {
			mem_sites[mem_map[i].site].bytes -= mem_map[i].size;
			mem_sites[mem_map[i].site].count--;
			mem_map[i].p = MEM_TOMB;
			break;
		}
	}
	pthread_mutex_unlock(&mem_lock);
}

static void *
mem_crypto_malloc(size_t n, const char *file, int line)
{
	void *p = mem_raw_malloc(n);

	if (p != NULL)
		mem_put(p, malloc_usable_size(p), file, line);
	return p;
}

static void
mem_crypto_free(void *p, const char *file, int line)
{
	if (p == NULL)
		return;
	mem_del(p);
	mem_raw_free(p);
}

static void *
mem_crypto_realloc(void *old, size_t n, const char *file, int line)
{
	void *p;

	if (old != NULL)
		mem_del(old);
	p = mem_raw_realloc(old, n);
	if (p != NULL)
		mem_put(p, malloc_usable_size(p), file, line);
	else if (old != NULL && n != 0)
		mem_put(old, malloc_usable_size(old), file, line);
	return p;
}

/* ---------------------------------------------------------------- snapshots */

struct mem_snap {
	int64_t  live;
	int64_t  crypto;
	int64_t *site_bytes;
	int64_t *site_count;
};

static void
mem_snapshot(struct mem_snap *s)
{
	uint32_t i;

	s->site_bytes = mem_raw_calloc(MEM_SITES, sizeof(*s->site_bytes));
	s->site_count = mem_raw_calloc(MEM_SITES, sizeof(*s->site_count));
	s->crypto = 0;
	pthread_mutex_lock(&mem_lock);
	for (i = 0; i < mem_nsites; i++) {
		s->site_bytes[i] = mem_sites[i].bytes;
		s->site_count[i] = mem_sites[i].count;
		s->crypto += mem_sites[i].bytes;
	}
	pthread_mutex_unlock(&mem_lock);
	s->live = atomic_load(&mem_live);
}

static int
mem_cmp_delta(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0;
}

static void
mem_report(const struct mem_snap *a, const struct mem_snap *b, long n)
{
	int64_t (*d)[3], shown = 0, total;
	uint32_t i, k = 0;

	total = (b->crypto - a->crypto) + (b->live - a->live);
	printf("conns=%ld heap_per_conn=%.0f openssl_per_conn=%.0f other_per_conn=%.0f\n", n,
	    (double)total / n, (double)(b->crypto - a->crypto) / n,
	    (double)(b->live - a->live) / n);
	d = mem_raw_calloc(mem_nsites + 1, sizeof(*d));
	for (i = 0; i < mem_nsites; i++) {
		d[k][0] = i;
		d[k][1] = b->site_bytes[i] - a->site_bytes[i];
		d[k][2] = b->site_count[i] - a->site_count[i];
		if (d[k][1] != 0)
			k++;
	}
	qsort(d, k, sizeof(*d), mem_cmp_delta);
	printf("%10s %8s  %s\n", "B/conn", "blk/conn", "OpenSSL allocation site");
	for (i = 0; i < k; i++) {
		if ((double)d[i][1] / n < 8 && i > 20)
			continue;
		shown += d[i][1];
		printf("%10.1f %8.2f  %s:%d\n", (double)d[i][1] / n, (double)d[i][2] / n,
		    mem_sites[d[i][0]].file != NULL ? mem_sites[d[i][0]].file : "?",
		    mem_sites[d[i][0]].line);
	}
	printf("%10.1f %8s  (sites under 8 B/conn)\n",
	    (double)(b->crypto - a->crypto - shown) / n, "");
#ifdef __SANITIZE_ADDRESS__
	printf("%10s %8s  everything else: not counted under ASan\n", "?", "");
#else
	printf("%10.1f %8s  everything else (echod, libevent: struct conn, evbuffer, ...)\n",
	    (double)(b->live - a->live) / n, "");
#endif
	mem_raw_free(d);
}

/* ---------------------------------------------------------------- client (child) */

struct mem_opts {
	long        n;
	int         version;
	const char *cert, *key, *client_cert, *client_key, *ca;
};

static void __attribute__((noreturn))
mem_die(const char *what)
{
	fprintf(stderr, "tls_mem: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* Handshake and one echo on every fd; tell the parent; wait for it to finish. */
static void __attribute__((noreturn))
mem_client(const struct mem_opts *o, int *fds, int ctl)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char out[MEM_MSG], in[MEM_MSG];
	SSL **ssl;
	long i;
	int got, rv;

	if (ctx == NULL)
		mem_die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, o->version);
	SSL_CTX_set_max_proto_version(ctx, o->version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (o->client_cert != NULL &&
	    (SSL_CTX_use_certificate_file(ctx, o->client_cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->client_key, SSL_FILETYPE_PEM) != 1))
		mem_die("client certificate");
	ssl = calloc((size_t)o->n, sizeof(*ssl));
	memset(out, 'm', sizeof(out));
	for (i = 0; i < o->n; i++) {
		if ((ssl[i] = SSL_new(ctx)) == NULL || SSL_set_fd(ssl[i], fds[i]) != 1 ||
		    SSL_connect(ssl[i]) != 1)
			mem_die("handshake failed");
		if (SSL_write(ssl[i], out, sizeof(out)) != (int)sizeof(out))
			mem_die("write failed");
		for (got = 0; got < (int)sizeof(in); got += rv)
			if ((rv = SSL_read(ssl[i], in + got, (int)sizeof(in) - got)) <= 0)
				mem_die("read failed");
		if (memcmp(in, out, sizeof(in)) != 0)
			mem_die("echo differs");
	}
	if (write(ctl, "k", 1) != 1)
		mem_die("control write");
	/* Hold every connection until the parent has measured and closes ctl. */
	while (read(ctl, in, 1) > 0)
		;
	_exit(0);
}

/* ---------------------------------------------------------------- server (parent) */

static int mem_client_done;

static void
mem_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	char b;

	if (read(fd, &b, 1) != 1)
		mem_die("the client failed");
	mem_client_done = 1;
	event_base_loopbreak(base);
}

static struct tls_ctx *
mem_tls_ctx(const struct mem_opts *o, struct config **cfp)
{
	struct config_errors errs = { NULL, 0 };
	struct tls_ctx *t;
	char *ini, *err = NULL;

	/* every connection waits its turn for the one client: no handshake timeout */
	xasprintf(&ini, "[listener mem]\nbind = 127.0.0.1:0\nservice = echo\ntls = yes\n"
	    "tls_handshake_timeout = 1h\ntls_cert = %s\ntls_key = %s\n%s%s%s", o->cert, o->key,
	    o->ca != NULL ? "tls_verify_client = required\ntls_ca = " : "",
	    o->ca != NULL ? o->ca : "", o->ca != NULL ? "\n" : "");
	if (config_load_string("tls_mem.ini", ini, cfp, &errs) != 0)
		mem_die(errs.n > 0 ? errs.msgs[0] : "config");
	if ((t = tls_ctx_new(config_find_listener(*cfp, "mem"), &err)) == NULL)
		mem_die(err);
	free(ini);
	return t;
}

static void
mem_usage(void)
{
	fprintf(stderr, "usage: tls_mem [-n conns] [-v tls1_2|tls1_3] "
	    "[-c client-cert -k client-key -a ca] CERT KEY\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct mem_opts o = { .n = 1000, .version = TLS1_3_VERSION };
	struct conn_params p;
	struct mem_snap before, after;
	struct event_base *base;
	struct event *ctl_ev;
	struct tls_ctx *t;
	struct config *cf = NULL;
	const char *why = NULL;
	int *cfds, *sfds, ctl[2], sv[2], ch, status;
	pid_t pid;
	long i;

	while ((ch = getopt(argc, argv, "n:v:c:k:a:")) != -1) {
		switch (ch) {
		case 'n': o.n = atol(optarg); break;
		case 'v': o.version = strcmp(optarg, "tls1_2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION; break;
		case 'c': o.client_cert = optarg; break;
		case 'k': o.client_key = optarg; break;
		case 'a': o.ca = optarg; break;
		default: mem_usage();
		}
	}
	if (argc - optind != 2 || o.n < 1 || o.n > 100000)
		mem_usage();
	o.cert = argv[optind];
	o.key = argv[optind + 1];
	if ((mem_map = mem_raw_calloc(MEM_MAP_SIZE, sizeof(*mem_map))) == NULL)
		mem_die("no memory for the allocation map");
	if (CRYPTO_set_mem_functions(mem_crypto_malloc, mem_crypto_realloc,
	    mem_crypto_free) != 1)
		mem_die("CRYPTO_set_mem_functions: OpenSSL allocated before main");
	signal(SIGPIPE, SIG_IGN);

	log_init();
	log_set_level(LOG_L_CRITICAL);
	if ((base = loop_base_new(&why)) == NULL)
		mem_die(why);
	conn_init(base);
	tls_init();
	t = mem_tls_ctx(&o, &cf);

	cfds = xcalloc((size_t)o.n, sizeof(*cfds));
	sfds = xcalloc((size_t)o.n, sizeof(*sfds));
	for (i = 0; i < o.n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			mem_die("socketpair (raise ulimit -n)");
		sfds[i] = sv[0];
		cfds[i] = sv[1];
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) == -1)
		mem_die("socketpair");
	if ((pid = fork()) == -1)
		mem_die("fork");
	if (pid == 0) {
		close(ctl[0]);
		for (i = 0; i < o.n; i++)
			close(sfds[i]);
		mem_client(&o, cfds, ctl[1]);
	}
	close(ctl[1]);
	for (i = 0; i < o.n; i++)
		close(cfds[i]);
	free(cfds);

	/* Warm-up done (context, loop, log thread): the baseline. */
	mem_snapshot(&before);
	memset(&p, 0, sizeof(p));
	p.svc = &service_echo;
	p.owner_name = "mem";
	for (i = 0; i < o.n; i++) {
		evutil_make_socket_nonblocking(sfds[i]);
		tls_conn_accept(conn_new(&p, sfds[i], NULL, 0), t);
	}
	ctl_ev = event_new(base, ctl[0], EV_READ | EV_PERSIST, mem_ctl_cb, base);
	event_add(ctl_ev, NULL);
	while (!mem_client_done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			mem_die("event loop");
	for (i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (conn_count() != (size_t)o.n)
		mem_die("connections were lost");
	mem_snapshot(&after);
	mem_report(&before, &after, o.n);

	close(ctl[0]);
	waitpid(pid, &status, 0);
	event_free(ctl_ev);
	conn_close_all(CONN_R_EXIT);
	conn_destroy();
	tls_ctx_free(t);
	config_free(cf);
	tls_stop();
	event_base_free(base);
	free(sfds);
	return 0;
}
