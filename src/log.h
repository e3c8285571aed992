/*
 * log.h: the logging API. Every thread may call it. Records are key=value
 * text; each names its subsystem so levels can be set per subsystem.
 * The writing itself happens in log.c (see there for which thread writes).
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level {
	LOG_L_DEBUG = 0,
	LOG_L_INFO,
	LOG_L_WARNING,
	LOG_L_ERROR,
	LOG_L_CRITICAL,
};

enum log_subsys {
	LOG_S_SERVER = 0,
	LOG_S_CONN,
	LOG_S_POOL,
	LOG_S_TLS,
	LOG_S_CONFIG,
	LOG_S_ADMIN,
	LOG_S_DEBUG,
	LOG_S_COUNT
};

/* Parse "debug|info|warning|error|critical" (also "warn", "err", "crit"); -1 if unknown. */
int         log_level_parse(const char *s);
const char *log_level_name(enum log_level l);
/* Parse a subsystem name ("server", "conn", "pool", "tls", "config", ...); -1 if unknown. */
int         log_subsys_parse(const char *s);
const char *log_subsys_name(enum log_subsys s);
/* Parse a syslog facility name ("daemon", "local0", ...) into its LOG_* value; -1 if unknown. */
int         log_facility_parse(const char *s);

/* Level for every subsystem, then per-subsystem overrides (-1 clears an override). */
void        log_set_level(enum log_level l);
void        log_set_subsys_level(enum log_subsys s, int level);
/* Cheap check so callers can skip formatting. Thread-safe (relaxed atomic read). */
int         log_enabled(enum log_subsys s, enum log_level l);

void        log_msg(enum log_level l, enum log_subsys s, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
/* Write synchronously to stderr, bypassing any queue (fatal paths). */
void        log_sync(enum log_level l, enum log_subsys s, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));

#define log_debug(s, ...) do { if (log_enabled((s), LOG_L_DEBUG)) log_msg(LOG_L_DEBUG, (s), __VA_ARGS__); } while (0)
#define log_info(s, ...)  do { if (log_enabled((s), LOG_L_INFO)) log_msg(LOG_L_INFO, (s), __VA_ARGS__); } while (0)
#define log_warn(s, ...)  log_msg(LOG_L_WARNING, (s), __VA_ARGS__)
#define log_error(s, ...) log_msg(LOG_L_ERROR, (s), __VA_ARGS__)
#define log_crit(s, ...)  log_msg(LOG_L_CRITICAL, (s), __VA_ARGS__)

/*
 * Lifecycle. log_init() is called first thing in main (stderr, synchronous).
 * log_configure() applies [log] settings (target, level, ...) at start-up and
 * on reload; returns -1 and sets *err (malloc'd) if the sink cannot be opened.
 * log_start() starts the log thread (if any); log_stop() flushes and joins.
 * log_stop() waits as long as the sink takes records; if it takes nothing
 * for 5 s (say a stopped reader of a stderr pipe) it returns anyway, so an
 * exit never hangs on the log.
 */
/* The [log] settings log_configure() applies (config.c fills them from the file). */
struct log_conf {
	enum log_level  level;
	int             subsys_level[LOG_S_COUNT];   /* -1: not set */
	const char     *target;                      /* "stderr", "file:/path", "syslog" */
	const char     *facility;                    /* syslog facility name */
	uint64_t        queue_size;                  /* records; read at log_start() only */
};
void        log_init(void);
int         log_configure(const struct log_conf *lc, char **err);
int         log_start(void);
void        log_stop(void);
/*
 * SIGUSR1: reopen a file sink (logrotate). Called on the loop thread. If the
 * path cannot be opened, writing goes on to the file open before, and the
 * failure is logged there and also told where someone reads: on stderr when
 * it leads somewhere (not /dev/null, not the log file), else to syslog.
 */
void        log_reopen(void);

struct log_stats {
	uint64_t written;
	uint64_t dropped;
};
void        log_get_stats(struct log_stats *st);
/* The counters above in the statistics registry (server start-up and exit). */
void        log_register_stats(void);
void        log_unregister_stats(void);

#endif
