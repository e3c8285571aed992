/*
 * util.c: allocation wrappers (fatal ones for start-up, counted non-fatal
 * ones for runtime), fatal exits, value parsers, clocks and thread
 * helpers. Any thread; the only shared state is the atomic count of
 * failed allocations.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory (malloc %zu)", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (calloc %zu x %zu)", nmemb, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatalx("out of memory (realloc %zu)", n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("out of memory (reallocarray %zu x %zu)", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatalx("out of memory (strdup)");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatalx("out of memory (strndup)");
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int n = vasprintf(ret, fmt, ap);

	if (n < 0)
		fatalx("out of memory (vasprintf)");
	return n;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}

/* Failed runtime allocations; any thread. */
static uint64_t util_oom_total;

void
util_oom(void)
{
	__atomic_add_fetch(&util_oom_total, 1, __ATOMIC_RELAXED);
}

uint64_t
util_oom_count(void)
{
	return __atomic_load_n(&util_oom_total, __ATOMIC_RELAXED);
}

/* A failed allocation is counted once, here, whoever asked. */
static void *
util_counted(void *p)
{
	if (p == NULL)
		util_oom();
	return p;
}

void *
util_malloc(size_t n)
{
	return util_counted(malloc(n ? n : 1));
}

void *
util_calloc(size_t nmemb, size_t size)
{
	return util_counted(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *
util_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (size != 0 && nmemb > SIZE_MAX / size) {
		util_oom();
		return NULL;
	}
	n = nmemb * size;
	return util_counted(realloc(p, n > 0 ? n : 1));
}

char *
util_strdup(const char *s)
{
	return util_counted(strdup(s));
}

char *
util_strndup(const char *s, size_t n)
{
	return util_counted(strndup(s, n));
}

int
util_vasprintf(char **ret, const char *fmt, va_list ap)
{
	int n = vasprintf(ret, fmt, ap);

	if (n < 0) {
		*ret = NULL;
		util_oom();
	}
	return n;
}

int
util_asprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = util_vasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}

/*
 * Where a fatal message goes. util.c sits below log.c, so log.c installs
 * its synchronous writer here (log_init); before that, plain stderr.
 */
static void
util_fatal_stderr(const char *msg)
{
	fprintf(stderr, "echod: %s\n", msg);
}

static util_fatal_cb util_fatal_out = util_fatal_stderr;

void
util_set_fatal_hook(util_fatal_cb cb)
{
	util_fatal_out = cb != NULL ? cb : util_fatal_stderr;
}

void
fatal(const char *fmt, ...)
{
	char msg[1024], line[1200];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "fatal: %s: %s", msg, strerror(saved));
	util_fatal_out(line);
	exit(ECHOD_EX_FAIL);
}

void
fatalx(const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "fatal: %s", msg);
	util_fatal_out(line);
	exit(ECHOD_EX_FAIL);
}

/* Digits only, no sign, no overflow. Sets *end past the digits. */
static int
util_parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

int
util_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end;

	if (util_parse_digits(s, &v, &end) == -1 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	const char *end;

	if (util_parse_digits(s, &v, &end) == -1)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mult = 1ULL << 10; end++; break;
	case 'm': mult = 1ULL << 20; end++; break;
	case 'g': mult = 1ULL << 30; end++; break;
	default: return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || (v != 0 && mult > UINT64_MAX / v))
		return -1;
	*out = v * mult;
	return 0;
}

int
util_parse_duration_ms(const char *s, uint64_t *out)
{
	uint64_t v, mult;
	const char *end;

	if (util_parse_digits(s, &v, &end) == -1)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else
		return -1;
	if (v != 0 && mult > UINT64_MAX / v)
		return -1;
	*out = v * mult;
	return 0;
}

const char *
util_fmt_size(uint64_t v, char *buf, size_t size)
{
	if (v != 0 && v % (1ULL << 30) == 0)
		snprintf(buf, size, "%" PRIu64 "G", v >> 30);
	else if (v != 0 && v % (1ULL << 20) == 0)
		snprintf(buf, size, "%" PRIu64 "M", v >> 20);
	else if (v != 0 && v % (1ULL << 10) == 0)
		snprintf(buf, size, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

const char *
util_fmt_duration_ms(uint64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
	else if (ms != 0)
		snprintf(buf, size, "%" PRIu64 "ms", ms);
	else
		snprintf(buf, size, "0");
	return buf;
}

int
util_parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

uint64_t
util_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
util_now_ms(void)
{
	return util_now_us() / 1000;
}

void
util_set_thread_name(const char *name)
{
#ifdef HAVE_PTHREAD_SETNAME_NP
	char buf[16];

	snprintf(buf, sizeof(buf), "%s", name);   /* the kernel keeps 15 chars */
	pthread_setname_np(pthread_self(), buf);
#else
	(void)name;
#endif
}

void
util_block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}
