/*
 * tool.c: what the C test and bench programs have in common (see tool.h).
 * libc only, so a bench script can build a client with plain cc. Only
 * tool_init() and tool_catch() touch state (the main thread calls them at
 * start-up); the rest is safe from any thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

volatile sig_atomic_t tool_signalled;

static const char *tool_name;
static int tool_die_status = 1;

void
tool_init(const char *name, int die_status)
{
	tool_name = name;
	tool_die_status = die_status;
}

static void __attribute__((format(printf, 1, 0)))
tool_vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name != NULL ? tool_name : program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
tool_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vwarn(fmt, ap);
	va_end(ap);
}

void
tool_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	tool_vwarn(fmt, ap);
	va_end(ap);
	exit(tool_die_status);
}

void
tool_die_errno(const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_die("%s: %s", msg, strerror(saved));
}

static void
tool_catch_cb(int sig)
{
	(void)sig;
	tool_signalled = 1;
}

void
tool_catch(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tool_catch_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

uint64_t
tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
tool_now_us(void)
{
	return tool_now_ns() / 1000;
}

uint64_t
tool_now_ms(void)
{
	return tool_now_ns() / 1000000;
}

/* Leading decimal digits of s into *v; *end past them. -1 if none or overflow. */
static int
tool_parse_digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	unsigned d;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*v = n;
	*end = s;
	return 0;
}

int
tool_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	const char *end;
	uint64_t n;

	if (tool_parse_digits(s, &n, &end) == -1 || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

uint64_t
tool_uint_arg(const char *s, const char *what, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (tool_parse_uint(s, min, max, &v) == -1)
		tool_die("bad %s: %s (%" PRIu64 " to %" PRIu64 ")", what, s, min, max);
	return v;
}

int
tool_parse_scaled(const char *s, uint64_t *v)
{
	const char *end;
	unsigned shift = 0;
	uint64_t n;

	if (tool_parse_digits(s, &n, &end) == -1)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || n > (UINT64_MAX >> shift))
		return -1;
	*v = n << shift;
	return 0;
}

int
tool_parse_double(const char *s, double min, double max, double *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(d >= min && d <= max))
		return -1;
	*v = d;
	return 0;
}

int
tool_unix_addr(const char *path, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	*len = sizeof(*sun);
	return 0;
}

void
tool_loopback4(uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*sin);
}

int
tool_parse_loopback(const char *hostport, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2], *p;
	const char *colon;
	uint64_t port;
	size_t hl;

	colon = strrchr(hostport, ':');
	if (colon == NULL || colon == hostport)
		return -1;
	hl = (size_t)(colon - hostport);
	if (hl >= sizeof(host) || tool_parse_uint(colon + 1, 1, 65535, &port) == -1)
		return -1;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	p = host;
	if (*p == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		p++;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, p, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, p, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
tool_socket(int family, int flags)
{
	int fd, one = 1;

	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) == -1)
		return -1;
	if (family == AF_INET || family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
tool_connect(int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	return errno == EINPROGRESS ? 1 : -1;
}

int
tool_sock_error(int fd)
{
	socklen_t sl;
	int err = 0;

	sl = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		return errno;
	return err;
}

int
tool_listen_loopback(int backlog, uint16_t *port, const char **step)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, saved;

	tool_loopback4(0, &ss, &len);
	*step = "socket";
	/* Not close-on-exec: proxy_recv -x hands it to the program it runs. */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	*step = "bind";
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
	*step = "listen";
	if (backlog >= 0 && listen(fd, backlog) == -1)
		goto fail;
	*step = "getsockname";
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		goto fail;
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*step = NULL;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
tool_epoll_ctl(int epfd, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	return epoll_ctl(epfd, op, fd, &ev);
}

int
tool_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
tool_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
tool_raise_nofile(uint64_t want)
{
	struct rlimit rl;
	rlim_t target;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	target = rl.rlim_max;
	if (want < (uint64_t)RLIM_INFINITY && (rl.rlim_max == RLIM_INFINITY ||
	    (rlim_t)want < rl.rlim_max))
		target = (rlim_t)want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
		rl.rlim_cur = target;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Bucket of v: values below 2^SUB_BITS have their own; above, the top
 * SUB_BITS bits of v (the leading 1 and SUB_BITS - 1 more) pick it. */
static unsigned
tool_hist_index(uint64_t v)
{
	unsigned msb, e;

	if (v < (1U << TOOL_HIST_SUB_BITS))
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	e = msb - TOOL_HIST_SUB_BITS + 1;
	return e * TOOL_HIST_HALF + (unsigned)(v >> e);
}

/* Midpoint of a bucket: the value reported for it. */
static uint64_t
tool_hist_value(unsigned idx)
{
	unsigned e, m;

	if (idx < (1U << TOOL_HIST_SUB_BITS))
		return idx;
	e = idx / TOOL_HIST_HALF - 1;
	m = idx - e * TOOL_HIST_HALF;
	return ((uint64_t)m << e) + ((1ULL << e) >> 1);
}

void
tool_hist_add(struct tool_hist *h, uint64_t v)
{
	h->count[tool_hist_index(v)]++;
	h->total++;
	if (v > h->max)
		h->max = v;
}

uint64_t
tool_hist_percentile(const struct tool_hist *h, double p)
{
	uint64_t want, seen = 0, v;
	unsigned i;

	if (h->total == 0)
		return 0;
	want = (uint64_t)(p * (double)h->total + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < TOOL_HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			v = tool_hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

int
tool_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t
tool_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Byte pos is byte (pos & 7) of tool_mix64(base + pos / 8). */
void
tool_stream(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t base = tool_mix64(seed ^ 0x5bd1e995ULL);
	size_t i = 0;

	while (i < len) {
		uint64_t pos = off + i, v = tool_mix64(base + (pos >> 3));
		unsigned b;

		for (b = (unsigned)(pos & 7); b < 8 && i < len; b++, i++)
			buf[i] = (uint8_t)(v >> (8 * b));
	}
}
