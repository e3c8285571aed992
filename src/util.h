/*
 * util.h: small helpers used everywhere: x-allocators that stop the process
 * on out-of-memory, counted util_ allocators that fail instead, fatal
 * exits, and the parsers for sizes, durations and booleans used by the
 * config. Thread-safe; the one state is the count of failed allocations.
 */
#ifndef ECHOD_UTIL_H
#define ECHOD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define ECHOD_EX_OK      0
#define ECHOD_EX_FAIL    1
#define ECHOD_EX_USAGE   64   /* sysexits EX_USAGE */
#define ECHOD_EX_CONFIG  78   /* sysexits EX_CONFIG */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void   *xmalloc(size_t n);
void   *xcalloc(size_t nmemb, size_t size);
void   *xrealloc(void *p, size_t n);
void   *xreallocarray(void *p, size_t nmemb, size_t size);
char   *xstrdup(const char *s);
char   *xstrndup(const char *s, size_t n);
int     xasprintf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int     xvasprintf(char **ret, const char *fmt, va_list ap);

/*
 * Runtime allocations made for one connection, one reply or one log line:
 * NULL (or -1) on failure, counted, never an exit. The caller fails just
 * that connection (close reason oom) or that reply. Start-up, config and
 * reload keep the x-allocators above.
 */
void   *util_malloc(size_t n);
void   *util_calloc(size_t nmemb, size_t size);
void   *util_reallocarray(void *p, size_t nmemb, size_t size);
char   *util_strdup(const char *s);
char   *util_strndup(const char *s, size_t n);
/* -1 and *ret NULL on failure. */
int     util_asprintf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int     util_vasprintf(char **ret, const char *fmt, va_list ap);
/* Count a failed allocation made elsewhere (libevent's evbuffer_add, event_add...). */
void    util_oom(void);
/* Allocations failed since start (any thread). */
uint64_t util_oom_count(void);

/* Log at critical level (synchronously) and exit(1). fatal() appends strerror(errno). */
typedef void (*util_fatal_cb)(const char *msg);
/* Where fatal messages are written (log.c installs its synchronous writer). */
void    util_set_fatal_hook(util_fatal_cb cb);
void    fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void    fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Parsers: return 0 on success, -1 on bad input (and leave *out untouched).
 * Sizes: "123", "4K", "256k", "1M", "2G" (binary multiples), no negatives.
 * Durations: "150ms", "10s", "5m", "1h"; a bare number means seconds. Result in ms.
 * Booleans: yes/no, true/false, on/off, 1/0 (case-insensitive).
 */
int     util_parse_size(const char *s, uint64_t *out);
int     util_parse_duration_ms(const char *s, uint64_t *out);
int     util_parse_bool(const char *s, int *out);
int     util_parse_uint(const char *s, uint64_t max, uint64_t *out);
/*
 * The shortest exact spelling the parsers above read back: sizes "64K",
 * "1M", "100"; durations "100ms", "2s", "5m", "1h", "0". Return buf.
 */
const char *util_fmt_size(uint64_t v, char *buf, size_t size);
const char *util_fmt_duration_ms(uint64_t ms, char *buf, size_t size);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t util_now_ms(void);
uint64_t util_now_us(void);

/* Name the calling thread ("echod-worker-3"); best effort. */
void    util_set_thread_name(const char *name);
/* Block every signal in the calling thread (worker and log threads). */
void    util_block_signals(void);

#endif
