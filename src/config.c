/*
 * config.c: the configuration loader. A table of keys (section, name,
 * setter, field offset, range, default) drives everything: defaults, the
 * inih handler, the documentation check. Parsing collects every error
 * instead of stopping at the first; the config is then validated as a whole.
 * Runs on the loop thread (start-up and reload); builds a new struct config
 * each time and never touches the one in use.
 *
 * Line numbers: inih's handler does not get them here, so inih reads through
 * config_read_cb, which counts lines. inih calls the handler for a line right
 * after reading it, so the counter is the current line. The reader also sees
 * section headers before inih does, which is how empty sections, unknown
 * sections and the line of each header are known.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "service.h"
#include "util.h"

#define CONFIG_MAX_ERRORS	100	/* handed out */
#define CONFIG_MAX_KEPT		1000	/* collected (then sorted); the rest are counted */
#define CONFIG_COUNT_MAX	((uint64_t)INT_MAX)
#define CONFIG_QUEUE_MAX	((uint64_t)1 << 20)
#define CONFIG_SIZE_MAX		((uint64_t)1 << 30)
#define CONFIG_DURATION_MAX	((uint64_t)168 * 3600 * 1000)
#define CONFIG_WORKERS_MAX	256	/* 0 is kept: pool.c then uses one per CPU */
#define CONFIG_AMPLIFICATION_MAX 1000	/* udp_max_amplification */
#define CONFIG_UNIX_MODE_UNSET	((mode_t)07777)	/* not a mode config_set_mode takes */
#define CONFIG_DEFAULT_TEXT \
	"[listener echo]\nservice = echo\nbind = 127.0.0.1:7007\n"

enum config_sect {
	CONFIG_SECT_NONE = 0,	/* before the first header */
	CONFIG_SECT_SERVER,
	CONFIG_SECT_LOG,
	CONFIG_SECT_LISTENER,
	CONFIG_SECT_DEBUG,
	CONFIG_SECT_METRICS,
	CONFIG_SECT_SKIP,	/* a bad header, already reported: ignore its keys */
};

#define CONFIG_K_REPEAT		0x1	/* may be given several times; values add up */
#define CONFIG_K_REQUIRED	0x2	/* a [listener] without it is an error */
#define CONFIG_K_SUBSYS		0x4	/* matches "level.<subsystem>" */
#define CONFIG_K_SRVDEF		0x8	/* a [listener] key defaulting to the [server] key of its name */

struct config_parse;
struct config_key;

/* Parse value into the field of obj; on bad input report it and return -1. */
typedef int (*config_set_cb)(struct config_parse *, const struct config_key *, void *,
    const char *);

struct config_key {
	enum config_sect	 sect;
	const char		*name;
	config_set_cb		 set;
	size_t			 off;	/* field in struct config or struct listener_conf */
	uint64_t		 min;
	uint64_t		 max;
	const char		*def;	/* default, as it would be written; NULL: none */
	int			 flags;	/* CONFIG_K_* */
	const struct service_key *skey;	/* a service's key (service.h), else NULL */
};

static int	config_set_uint(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_int(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_size(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_duration(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_bool(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_mode(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_level(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_subsys_level(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_target(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_facility(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_service(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_bind(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_enum(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_rate(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_byte_rate(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_acl_list(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_proxy_mode(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_custom(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_metrics_bind(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_text(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_tls_verify(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_tls_version(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_probability(struct config_parse *, const struct config_key *, void *,
		    const char *);
static int	config_set_tls_ktls(struct config_parse *, const struct config_key *, void *,
		    const char *);

#define SRV	CONFIG_SECT_SERVER
#define LOG	CONFIG_SECT_LOG
#define LSN	CONFIG_SECT_LISTENER
#define G(f)	offsetof(struct config, f)
#define L(f)	offsetof(struct listener_conf, f)

/*
 * Every accepted key: section, name, setter, field, min, max, default, flags.
 * Adding a key is adding a row (and documenting it in conf/echod.ini, which
 * a unit test checks).
 */
static const struct config_key config_keys[] = {
	{ SRV, "max_connections", config_set_uint, G(max_connections), 1, CONFIG_COUNT_MAX,
	  "10000", 0, NULL },
	{ SRV, "shutdown_timeout", config_set_duration, G(shutdown_timeout_ms), 0,
	  CONFIG_DURATION_MAX, "30s", 0, NULL },
	{ SRV, "write_high_watermark", config_set_size, G(write_high_watermark), 1, CONFIG_SIZE_MAX,
	  "256K", 0, NULL },
	{ SRV, "write_low_watermark", config_set_size, G(write_low_watermark), 0, CONFIG_SIZE_MAX,
	  "64K", 0, NULL },
	{ SRV, "linger_timeout", config_set_duration, G(linger_timeout_ms), 0, CONFIG_DURATION_MAX,
	  "2s", 0, NULL },
	{ SRV, "workers", config_set_uint, G(workers), 0, CONFIG_WORKERS_MAX, "0", 0, NULL },
	{ SRV, "job_queue_max", config_set_uint, G(job_queue_max), 1, CONFIG_QUEUE_MAX, "1024", 0, NULL },
	{ SRV, "job_timeout", config_set_duration, G(job_timeout_ms), 1, CONFIG_DURATION_MAX,
	  "30s", 0, NULL },
	{ SRV, "accept_rate", config_set_rate, G(accept_rate), 0, CONFIG_COUNT_MAX, "0", 0, NULL },
	{ SRV, "accept_burst", config_set_uint, G(accept_burst), 0, CONFIG_COUNT_MAX, "0", 0, NULL },
	{ SRV, "max_sources", config_set_uint, G(max_sources), 0, CONFIG_QUEUE_MAX * 16, "100000", 0,
	  NULL },
	{ SRV, "source_expire", config_set_duration, G(source_expire_ms), 0, CONFIG_DURATION_MAX,
	  "60s", 0, NULL },
	{ SRV, "max_per_source", config_set_uint, G(max_per_source), 0, CONFIG_COUNT_MAX, "0", 0,
	  NULL },
	{ SRV, "source_prefix_v4", config_set_uint, G(source_prefix_v4), 1, 32, "32", 0, NULL },
	{ SRV, "source_prefix_v6", config_set_uint, G(source_prefix_v6), 1, 128, "64", 0, NULL },
	{ SRV, "rate_per_source", config_set_rate, G(rate_per_source), 0, CONFIG_COUNT_MAX, "0", 0,
	  NULL },
	{ SRV, "burst", config_set_uint, G(burst), 1, CONFIG_COUNT_MAX, "10", 0, NULL },
	{ SRV, "udp_max_amplification", config_set_uint, G(udp_max_amplification), 1,
	  CONFIG_AMPLIFICATION_MAX, "1", 0, NULL },
	{ SRV, "udp_reply_rate", config_set_rate, G(udp_reply_rate), 0, CONFIG_COUNT_MAX, "1000/s", 0,
	  NULL },
	{ SRV, "udp_reply_bandwidth", config_set_byte_rate, G(udp_reply_bandwidth), 0,
	  CONFIG_SIZE_MAX, "1M/s", 0, NULL },
	{ SRV, "udp_send_queue", config_set_size, G(udp_send_queue), 0, CONFIG_SIZE_MAX, "1M", 0,
	  NULL },
	{ SRV, "pidfile", config_set_text, G(pidfile), 0, 0, NULL, 0, NULL },
	{ SRV, "user", config_set_text, G(user), 0, 0, NULL, 0, NULL },
	{ SRV, "group", config_set_text, G(group), 0, 0, NULL, 0, NULL },

	{ LOG, "level", config_set_level, G(log_level), 0, 0, "info", 0, NULL },
	{ LOG, "level.<subsystem>", config_set_subsys_level, G(log_subsys_level), 0, 0,
	  NULL, CONFIG_K_SUBSYS, NULL },
	{ LOG, "target", config_set_target, G(log_target), 0, 0, "stderr", 0, NULL },
	{ LOG, "facility", config_set_facility, G(log_facility), 0, 0, "daemon", 0, NULL },
	{ LOG, "queue_size", config_set_uint, G(log_queue_size), 16, CONFIG_QUEUE_MAX,
	  "4096", 0, NULL },
	{ LOG, "connections", config_set_bool, G(log_connections), 0, 0, "no", 0, NULL },

	{ LSN, "bind", config_set_bind, 0, 0, 0, NULL, CONFIG_K_REPEAT | CONFIG_K_REQUIRED, NULL },
	{ LSN, "service", config_set_service, L(service), 0, 0, NULL, CONFIG_K_REQUIRED, NULL },
	{ LSN, "backlog", config_set_int, L(backlog), 1, 65535, "511", 0, NULL },
	{ LSN, "reuse_port", config_set_bool, L(reuse_port), 0, 0, "no", 0, NULL },
	{ LSN, "max_connections", config_set_uint, L(max_connections), 0, CONFIG_COUNT_MAX,
	  "0", 0, NULL },
	{ LSN, "idle_timeout", config_set_duration, L(idle_timeout_ms), 0, CONFIG_DURATION_MAX,
	  "300s", 0, NULL },
	{ LSN, "unix_mode", config_set_mode, L(unix_mode), 0, 0777, NULL, 0, NULL },
	{ LSN, "allow", config_set_acl_list, L(allow), ACL_ALLOW, 0, NULL, CONFIG_K_REPEAT, NULL },
	{ LSN, "deny", config_set_acl_list, L(deny), ACL_DENY, 0, NULL, CONFIG_K_REPEAT, NULL },
	{ LSN, "access_file", config_set_text, L(access_file), 0, 0, NULL, 0, NULL },
	{ LSN, "max_per_source", config_set_uint, L(max_per_source), 0, CONFIG_COUNT_MAX, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "source_prefix_v4", config_set_uint, L(source_prefix_v4), 1, 32, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "source_prefix_v6", config_set_uint, L(source_prefix_v6), 1, 128, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "rate_per_source", config_set_rate, L(rate_per_source), 0, CONFIG_COUNT_MAX, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "burst", config_set_uint, L(burst), 1, CONFIG_COUNT_MAX, NULL, CONFIG_K_SRVDEF, NULL },
	{ LSN, "udp_max_amplification", config_set_uint, L(udp_max_amplification), 1,
	  CONFIG_AMPLIFICATION_MAX, NULL, CONFIG_K_SRVDEF, NULL },
	{ LSN, "udp_reply_rate", config_set_rate, L(udp_reply_rate), 0, CONFIG_COUNT_MAX, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "udp_reply_bandwidth", config_set_byte_rate, L(udp_reply_bandwidth), 0,
	  CONFIG_SIZE_MAX, NULL, CONFIG_K_SRVDEF, NULL },
	{ LSN, "udp_send_queue", config_set_size, L(udp_send_queue), 0, CONFIG_SIZE_MAX, NULL,
	  CONFIG_K_SRVDEF, NULL },
	{ LSN, "max_bytes", config_set_size, L(max_bytes), 0, (uint64_t)1 << 50, "0", 0, NULL },
	{ LSN, "max_lifetime", config_set_duration, L(max_lifetime_ms), 0, CONFIG_DURATION_MAX, "0",
	  0, NULL },
	{ LSN, "rate_limit", config_set_byte_rate, L(rate_limit), 0, CONFIG_SIZE_MAX, "0", 0, NULL },
	{ LSN, "delay", config_set_duration, L(misbehave.delay_ms), 0, MISBEHAVE_DELAY_MAX_MS, "0",
	  0, NULL },
	{ LSN, "delay_jitter", config_set_duration, L(misbehave.jitter_ms), 0,
	  MISBEHAVE_DELAY_MAX_MS, "0", 0, NULL },
	{ LSN, "slice_size", config_set_size, L(misbehave.slice_size), 0, MISBEHAVE_SLICE_MAX, "0",
	  0, NULL },
	{ LSN, "slice_delay", config_set_duration, L(misbehave.slice_delay_ms), 0,
	  MISBEHAVE_DELAY_MAX_MS, "0", 0, NULL },
	{ LSN, "reset_after", config_set_size, L(misbehave.reset_after), 0, MISBEHAVE_BYTES_MAX, "0",
	  0, NULL },
	{ LSN, "stall_after", config_set_size, L(misbehave.stall_after), 0, MISBEHAVE_BYTES_MAX, "0",
	  0, NULL },
	{ LSN, "close_after", config_set_duration, L(misbehave.close_after_ms), 0,
	  MISBEHAVE_CLOSE_MAX_MS, "0", 0, NULL },
	{ LSN, "misbehave_probability", config_set_probability, L(misbehave.probability), 0,
	  MISBEHAVE_PPM, "1", 0, NULL },
	{ LSN, "misbehave_seed", config_set_uint, L(misbehave.seed), 0, UINT64_MAX, "0", 0, NULL },
	{ LSN, "proxy_protocol", config_set_proxy_mode, L(proxy_protocol), 0, 0, "no", 0, NULL },
	{ LSN, "proxy_from", config_set_acl_list, L(proxy_from), ACL_ALLOW, 0, NULL, CONFIG_K_REPEAT,
	  NULL },
	{ LSN, "proxy_timeout", config_set_duration, L(proxy_timeout_ms), 1, CONFIG_DURATION_MAX,
	  "5s", 0, NULL },
	{ LSN, "tls", config_set_bool, L(tls), 0, 0, "no", 0, NULL },
	{ LSN, "tls_cert", config_set_text, L(tls_cert), 0, 0, NULL, 0, NULL },
	{ LSN, "tls_key", config_set_text, L(tls_key), 0, 0, NULL, 0, NULL },
	{ LSN, "tls_ca", config_set_text, L(tls_ca), 0, 0, NULL, 0, NULL },
	{ LSN, "tls_verify_client", config_set_tls_verify, L(tls_verify_client), 0, 0, "none", 0, NULL },
	{ LSN, "tls_min_version", config_set_tls_version, L(tls_min_version), 0, 0, "TLS1.2", 0, NULL },
	{ LSN, "tls_ciphers", config_set_text, L(tls_ciphers), 0, 0,
	  "ECDHE+AES128+AESGCM:ECDHE+AES256+AESGCM:ECDHE+CHACHA20", 0, NULL },
	{ LSN, "tls_ciphersuites", config_set_text, L(tls_ciphersuites), 0, 0,
	  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", 0, NULL },
	{ LSN, "tls_handshake_timeout", config_set_duration, L(tls_handshake_timeout_ms), 1,
	  CONFIG_DURATION_MAX, "10s", 0, NULL },
	{ LSN, "tls_session_tickets", config_set_bool, L(tls_session_tickets), 0, 0, "yes", 0, NULL },
	{ LSN, "tls_ktls", config_set_tls_ktls, L(tls_ktls), 0, 0, "no", 0, NULL },

	{ CONFIG_SECT_DEBUG, "enabled", config_set_bool, G(debug_enabled), 0, 0, "no", 0, NULL },
	{ CONFIG_SECT_DEBUG, "slow_callback_ms", config_set_uint, G(debug_slow_callback_ms), 1,
	  3600000, "100", 0, NULL },
	{ CONFIG_SECT_DEBUG, "slowlog_size", config_set_uint, G(debug_slowlog_size), 1, 65536,
	  "128", 0, NULL },
	{ CONFIG_SECT_DEBUG, "lag_threshold_ms", config_set_uint, G(debug_lag_threshold_ms), 1,
	  3600000, "100", 0, NULL },

	{ CONFIG_SECT_METRICS, "bind", config_set_metrics_bind, G(metrics_bind), 0, 0, "", 0, NULL },
	{ CONFIG_SECT_METRICS, "max_connections", config_set_uint, G(metrics_max_connections), 1,
	  4096, "16", 0, NULL },
	{ CONFIG_SECT_METRICS, "request_timeout", config_set_duration,
	  G(metrics_request_timeout_ms), 100, 3600 * 1000, "10s", 0, NULL },
};
#define CONFIG_NKEYS	ARRAY_LEN(config_keys)

#undef SRV
#undef LOG
#undef G
#undef L
#undef LSN

struct config_msg {
	int			 line;		/* INT_MAX: about the whole file */
	size_t			 seq;
	char			*msg;
};

/* A service key as written: in [server] (listener NULL) or in a [listener]. */
struct config_svcval {
	struct listener_conf	*listener;
	const char		*name;		/* the service_key's name */
	char			*value;
	int			 line;
};

struct config_parse;
static const struct service_key *config_svc_key_any(const char *name, int server,
		    const struct service **svcp);
static void	config_svc_key(struct config_parse *ps, const char *name, const char *value);

/* State of one load: the config being built and where the reader is. */
struct config_parse {
	struct config		*cf;
	struct config_errors	*errs;		/* may be NULL: errors are only counted */
	struct config_msg	*msgs;
	size_t			 nerrs;
	const char		*file;
	int			 defaults;	/* applying built-in defaults: errors are bugs */

	FILE			*fp;		/* the source: a file ... */
	const char		*text;		/* ... or a string */
	char			*buf;
	size_t			 bufsize;
	int			 lineno;
	int			 syntax_line;	/* first syntax error the reader reported */

	enum config_sect	 sect;
	char			*sect_buf;	/* between the brackets (owned) */
	const char		*sect_name;	/* sect_buf, or a name while applying defaults */
	int			 sect_line;
	struct listener_conf	*lc;		/* the current [listener NAME] */
	const char		*key;		/* the key being set, for messages */

	int			 seen[CONFIG_NKEYS];	/* line where a key was set, 0: not */
	int			 subsys_seen[LOG_S_COUNT];

	struct config_svcval	*svcvals;	/* service keys, applied at the end */
	size_t			 nsvcvals;
};

static const char *
config_sect_name(enum config_sect s)
{
	switch (s) {
	case CONFIG_SECT_SERVER:
		return "server";
	case CONFIG_SECT_LOG:
		return "log";
	case CONFIG_SECT_LISTENER:
		return "listener";
	case CONFIG_SECT_DEBUG:
		return "debug";
	case CONFIG_SECT_METRICS:
		return "metrics";
	default:
		return "?";
	}
}

/*
 * A copy of s that is safe to print on a terminal or in a log line: control
 * and non-ASCII bytes become \t, \r, \n or \xNN, and a backslash becomes
 * \\, so the escaped text reads back unambiguously (like vis(3)).
 */
static char *
config_escape(const char *s)
{
	const unsigned char *p;
	char *out, *q;

	out = q = xmalloc(4 * strlen(s) + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '\\':
			q = stpcpy(q, "\\\\");
			break;
		case '\t':
			q = stpcpy(q, "\\t");
			break;
		case '\r':
			q = stpcpy(q, "\\r");
			break;
		case '\n':
			q = stpcpy(q, "\\n");
			break;
		default:
			if (*p >= 0x20 && *p < 0x7f)
				*q++ = (char)*p;
			else
				q += sprintf(q, "\\x%02x", *p);
			break;
		}
	}
	*q = '\0';
	return out;
}

/*
 * Remember "FILE:LINE: message" (or "FILE: message" when line is 0). Errors
 * are sorted by line before they are handed out, since some are only found
 * at the end of a section or of the file. Messages quote what was written
 * (values, keys, section names), which may hold any byte: the whole message
 * is escaped, so an error line never carries raw control bytes to a terminal
 * or a log.
 */
static void __attribute__((format(printf, 3, 4)))
config_error(struct config_parse *ps, int line, const char *fmt, ...)
{
	struct config_msg *m;
	char *msg, *raw;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ps->defaults)
		fatalx("built-in configuration default is invalid: %s", msg);
	if (ps->nerrs++ >= CONFIG_MAX_KEPT) {
		free(msg);
		return;
	}
	ps->msgs = xreallocarray(ps->msgs, ps->nerrs, sizeof(*ps->msgs));
	m = &ps->msgs[ps->nerrs - 1];
	m->line = line > 0 ? line : INT_MAX;
	m->seq = ps->nerrs;
	if (line > 0)
		xasprintf(&raw, "%s:%d: %s", ps->file, line, msg);
	else
		xasprintf(&raw, "%s: %s", ps->file, msg);
	m->msg = config_escape(raw);
	free(raw);
	free(msg);
}

static int
config_msg_cmp(const void *a, const void *b)
{
	const struct config_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
config_errors_add(struct config_errors *errs, char *msg)
{
	if (errs == NULL) {
		free(msg);
		return;
	}
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
	errs->msgs[errs->n++] = msg;
}

/* Hand the errors out in line order, at most CONFIG_MAX_ERRORS of them. */
static void
config_errors_flush(struct config_parse *ps)
{
	size_t i, kept = ps->nerrs < CONFIG_MAX_KEPT ? ps->nerrs : CONFIG_MAX_KEPT;
	char *more, *raw;

	if (kept > 0)
		qsort(ps->msgs, kept, sizeof(*ps->msgs), config_msg_cmp);
	for (i = 0; i < kept; i++) {
		if (i < CONFIG_MAX_ERRORS)
			config_errors_add(ps->errs, ps->msgs[i].msg);
		else
			free(ps->msgs[i].msg);
	}
	if (ps->nerrs > CONFIG_MAX_ERRORS) {
		xasprintf(&raw, "%s: %zu more errors not shown", ps->file,
		    ps->nerrs - CONFIG_MAX_ERRORS);
		more = config_escape(raw);
		free(raw);
		config_errors_add(ps->errs, more);
	}
	free(ps->msgs);
	ps->msgs = NULL;
}

/* "FILE:LINE: [section] key: expected ..., got 'value'" */
static int
config_bad_value(struct config_parse *ps, const char *expect, const char *got)
{
	config_error(ps, ps->lineno, "[%s] %s: %s, got '%s'", ps->sect_name, ps->key, expect, got);
	return -1;
}

/* A key that may be given once: remember its line, complain the second time. */
static int
config_once(struct config_parse *ps, int *slot)
{
	if (*slot != 0) {
		config_error(ps, ps->lineno, "[%s] %s: expected at most one value, but it was "
		    "already set on line %d", ps->sect_name, ps->key, *slot);
		return -1;
	}
	*slot = ps->lineno;
	return 0;
}

static uint64_t *
config_u64(void *obj, const struct config_key *k)
{
	return (uint64_t *)((char *)obj + k->off);
}

static int *
config_intp(void *obj, const struct config_key *k)
{
	return (int *)((char *)obj + k->off);
}

static char **
config_strp(void *obj, const struct config_key *k)
{
	return (char **)((char *)obj + k->off);
}

static void
config_set_str(void *obj, const struct config_key *k, const char *value)
{
	char **p = config_strp(obj, k);

	free(*p);
	*p = xstrdup(value);
}

static int
config_parse_count(struct config_parse *ps, const struct config_key *k, const char *value,
    uint64_t *out)
{
	char expect[128];

	if (util_parse_uint(value, k->max, out) == -1 || *out < k->min) {
		snprintf(expect, sizeof(expect), "expected an integer from %llu to %llu",
		    (unsigned long long)k->min, (unsigned long long)k->max);
		return config_bad_value(ps, expect, value);
	}
	return 0;
}

static int
config_set_uint(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	return config_parse_count(ps, k, value, config_u64(obj, k));
}

static int
config_set_int(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	uint64_t v;

	if (config_parse_count(ps, k, value, &v) == -1)
		return -1;
	*config_intp(obj, k) = (int)v;
	return 0;
}

/*
 * A value in k's range, read by `parse` and written in messages by `fmt`:
 * "expected a WHAT from MIN to MAX (HOW)".
 */
static int
config_set_ranged(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value, int (*parse)(const char *, uint64_t *),
    const char *(*fmt)(uint64_t, char *, size_t), const char *what, const char *how)
{
	char expect[160], lo[32], hi[32];
	uint64_t v;

	if (parse(value, &v) == -1 || v < k->min || v > k->max) {
		snprintf(expect, sizeof(expect), "expected a %s from %s to %s (%s)", what,
		    fmt(k->min, lo, sizeof(lo)), fmt(k->max, hi, sizeof(hi)), how);
		return config_bad_value(ps, expect, value);
	}
	*config_u64(obj, k) = v;
	return 0;
}

static int
config_set_size(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	return config_set_ranged(ps, k, obj, value, util_parse_size, util_fmt_size, "size",
	    "bytes, or a number with a K, M or G suffix");
}

static int
config_set_duration(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	return config_set_ranged(ps, k, obj, value, util_parse_duration_ms, util_fmt_duration_ms,
	    "duration", "a number with ms, s, m or h; seconds if bare");
}

static int
config_set_bool(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	if (util_parse_bool(value, config_intp(obj, k)) == -1)
		return config_bad_value(ps, "expected yes or no (or true/false, on/off, 1/0)", value);
	return 0;
}

/* Octal permission bits, as in chmod: "0660", "660", "0600". */
static int
config_set_mode(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	unsigned long v = 0;
	const char *p;

	for (p = value; *p >= '0' && *p <= '7' && v <= k->max; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (p == value || *p != '\0' || v > k->max)
		return config_bad_value(ps, "expected an octal file mode from 0000 to 0777, "
		    "such as 0660", value);
	*(mode_t *)((char *)obj + k->off) = (mode_t)v;
	return 0;
}

static int
config_set_level(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	int l = log_level_parse(value);

	if (l == -1)
		return config_bad_value(ps, "expected a log level (debug, info, warning, error "
		    "or critical)", value);
	*(enum log_level *)((char *)obj + k->off) = (enum log_level)l;
	return 0;
}

/* "level.conn = debug": the subsystem comes from the key itself. */
static int
config_set_subsys_level(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	const char *name = ps->key + strlen("level.");
	char expect[256];
	size_t off;
	int s, l, i;

	if ((s = log_subsys_parse(name)) == -1) {
		off = (size_t)snprintf(expect, sizeof(expect), "expected a subsystem name after "
		    "'level.' (one of:");
		for (i = 0; i < LOG_S_COUNT && off < sizeof(expect); i++)
			off += (size_t)snprintf(expect + off, sizeof(expect) - off, " %s",
			    log_subsys_name((enum log_subsys)i));
		if (off < sizeof(expect))
			snprintf(expect + off, sizeof(expect) - off, ")");
		return config_bad_value(ps, expect, name);
	}
	if (config_once(ps, &ps->subsys_seen[s]) == -1)
		return -1;
	if ((l = log_level_parse(value)) == -1)
		return config_bad_value(ps, "expected a log level (debug, info, warning, error "
		    "or critical)", value);
	((int *)((char *)obj + k->off))[s] = l;
	return 0;
}

static int
config_set_target(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	if (strcmp(value, "stderr") != 0 && strcmp(value, "syslog") != 0 &&
	    (strncmp(value, "file:/", 6) != 0 || value[6] == '\0'))
		return config_bad_value(ps, "expected stderr, syslog or file:/absolute/path", value);
	config_set_str(obj, k, value);
	return 0;
}

/* Names are log.c's (log_facility_parse), stored in lower case. */
static int
config_set_facility(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	char **p = config_strp(obj, k);
	char *q;

	if (log_facility_parse(value) == -1)
		return config_bad_value(ps, "expected a syslog facility such as daemon, user or "
		    "local0 ... local7", value);
	free(*p);
	*p = xstrdup(value);
	for (q = *p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return 0;
}

static int
config_set_service(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	const struct service *svc = service_find(value);
	char *expect;

	if (svc == NULL) {
		xasprintf(&expect, "expected a service name (one of: %s)", service_names());
		config_bad_value(ps, expect, value);
		free(expect);
		return -1;
	}
	config_set_str(obj, k, svc->name);
	return 0;
}

static void
config_add_bind(struct listener_conf *lc, const char *spec, const struct addr *addrs, int n,
    int line)
{
	struct bind_conf *b;

	lc->binds = xreallocarray(lc->binds, lc->nbinds + 1, sizeof(*lc->binds));
	b = &lc->binds[lc->nbinds++];
	memset(b, 0, sizeof(*b));
	b->spec = xstrdup(spec);
	memcpy(b->addrs, addrs, (size_t)n * sizeof(*addrs));
	b->naddrs = n;
	b->line = line;
}

/*
 * "bind = A, B C": each comma- or whitespace-separated spec is one bind.
 * Whitespace is every byte inih trims (isspace), so no spec ends in a byte
 * that would be trimmed when the value is written back (config_dump).
 */
#define CONFIG_BIND_SEP	", \t\r\n\v\f"

static int
config_set_bind(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	struct addr addrs[ADDR_MAX_PER_SPEC];
	char *copy, *tok, *save = NULL;
	const char *why;
	int n, found = 0, rc = 0;

	copy = xstrdup(value);
	for (tok = strtok_r(copy, CONFIG_BIND_SEP, &save); tok != NULL;
	    tok = strtok_r(NULL, CONFIG_BIND_SEP, &save)) {
		found = 1;
		if ((n = addr_parse(tok, addrs, &why)) == -1)
			rc = config_bad_value(ps, why, tok);
		else
			config_add_bind(obj, tok, addrs, n, ps->lineno);
	}
	free(copy);
	if (!found)
		return config_bad_value(ps, "expected one or more addresses such as 127.0.0.1:7007, "
		    "[::1]:7007, *:7007 or unix:/path", value);
	return rc;
}

/* A service's SERVICE_K_ENUM key: one of its words, stored as the word's index. */
static int
config_set_enum(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	const char *const *names = k->skey->names;
	char expect[256];
	size_t off, i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcasecmp(value, names[i]) == 0) {
			*config_intp(obj, k) = (int)i;
			return 0;
		}
	}
	off = (size_t)snprintf(expect, sizeof(expect), "expected ");
	for (i = 0; names[i] != NULL && off < sizeof(expect); i++)
		off += (size_t)snprintf(expect + off, sizeof(expect) - off, "%s%s",
		    i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ", names[i]);
	return config_bad_value(ps, expect, value);
}

/* A service's SERVICE_K_CUSTOM key: its own parser. */
static int
config_set_custom(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	const char *expect = "a valid value";

	if (k->skey->parse(value, (char *)obj + k->off, &expect) == -1)
		return config_bad_value(ps, expect, value);
	return 0;
}

/*
 * A rate, "100/s" or "100" ("/s" is optional): the number before the "/s"
 * in buf (empty when it does not fit, which no parser accepts).
 */
static void
config_rate_number(const char *value, char *buf, size_t size)
{
	size_t n = strlen(value);

	if (n >= 2 && strcmp(value + n - 2, "/s") == 0)
		n -= 2;
	if (n >= size)
		n = 0;
	memcpy(buf, value, n);
	buf[n] = '\0';
}

/* "100/s" or "100": a count per second (connect rates). */
static int
config_set_rate(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	char buf[64];
	uint64_t v;

	config_rate_number(value, buf, sizeof(buf));
	if (util_parse_uint(buf, k->max, &v) == -1)
		return config_bad_value(ps, "expected a rate such as 100/s (a count per second, "
		    "0 for none)", value);
	*config_u64(obj, k) = v;
	return 0;
}

/* "64K/s": bytes per second (output shaping). */
static int
config_set_byte_rate(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	char buf[64];
	uint64_t v;

	config_rate_number(value, buf, sizeof(buf));
	if (util_parse_size(buf, &v) == -1 || v > k->max)
		return config_bad_value(ps, "expected bytes per second such as 64K/s (a size with "
		    "a K, M or G suffix, 0 for no limit)", value);
	*config_u64(obj, k) = v;
	return 0;
}

/*
 * allow, deny, proxy_from: addresses and CIDR prefixes, several per line
 * (comma or space separated), several lines add up. Each entry is checked
 * here (so an error has its line) and kept as written; the lists are built
 * when the section ends.
 */
static int
config_set_acl_list(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	struct config_list *list = (struct config_list *)((char *)obj + k->off);
	char *copy, *tok, *save = NULL, why[ACL_ERRLEN];
	struct config_value *cv;
	struct acl *scratch;
	int rc = 0, found = 0;

	copy = xstrdup(value);
	scratch = acl_new();
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		found = 1;
		if (acl_add(scratch, (enum acl_action)k->min, tok, why, sizeof(why)) == -1) {
			rc = config_bad_value(ps, why, tok);
			continue;
		}
		list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
		cv = &list->v[list->n++];
		cv->key = NULL;
		cv->value = xstrdup(tok);
		cv->line = ps->lineno;
	}
	acl_free(scratch);
	free(copy);
	if (!found)
		return config_bad_value(ps, "expected addresses or CIDR prefixes such as "
		    "192.0.2.7, 10.0.0.0/8 or 2001:db8::/32", value);
	return rc;
}

static int
config_set_proxy_mode(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	static const char *const names[] = { "no", "v1", "v2", "any" };
	enum proxy_mode *p = (enum proxy_mode *)((char *)obj + k->off);
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		if (strcasecmp(value, names[i]) == 0) {
			*p = (enum proxy_mode)i;
			return 0;
		}
	}
	return config_bad_value(ps, "expected no, v1, v2 or any", value);
}

/* A non-empty string (file paths, cipher lists); checked further by tls.c. */
static int
config_set_text(struct config_parse *ps, const struct config_key *k, void *obj, const char *value)
{
	if (*value == '\0')
		return config_bad_value(ps, "expected a non-empty value", value);
	config_set_str(obj, k, value);
	return 0;
}

static int
config_set_tls_verify(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	enum tls_verify *p = (enum tls_verify *)((char *)obj + k->off);

	if (strcasecmp(value, "none") == 0)
		*p = TLS_VERIFY_NONE;
	else if (strcasecmp(value, "optional") == 0)
		*p = TLS_VERIFY_OPTIONAL;
	else if (strcasecmp(value, "required") == 0)
		*p = TLS_VERIFY_REQUIRED;
	else
		return config_bad_value(ps, "expected none, optional or required", value);
	return 0;
}

static int
config_set_tls_version(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	enum tls_min_version *p = (enum tls_min_version *)((char *)obj + k->off);

	if (strcasecmp(value, "TLS1.2") == 0 || strcasecmp(value, "TLSv1.2") == 0)
		*p = TLS_MIN_TLS12;
	else if (strcasecmp(value, "TLS1.3") == 0 || strcasecmp(value, "TLSv1.3") == 0)
		*p = TLS_MIN_TLS13;
	else
		return config_bad_value(ps, "expected TLS1.2 or TLS1.3", value);
	return 0;
}

/* misbehave_probability: "0.25", stored in millionths (misbehave.c reads it). */
static int
config_set_probability(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	if (misbehave_parse_probability(value, config_u64(obj, k)) == -1)
		return config_bad_value(ps, "expected a probability from 0 to 1 such as 0.25 "
		    "(at most six decimals)", value);
	return 0;
}

static int
config_set_tls_ktls(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	enum tls_ktls *p = (enum tls_ktls *)((char *)obj + k->off);

	if (strcasecmp(value, "auto") == 0)
		*p = TLS_KTLS_AUTO;
	else if (strcasecmp(value, "no") == 0)
		*p = TLS_KTLS_NO;
	else
		return config_bad_value(ps, "expected auto or no", value);
	return 0;
}

static const struct config_key *
config_key_find(enum config_sect sect, const char *name)
{
	const struct config_key *k;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->sect != sect)
			continue;
		if ((k->flags & CONFIG_K_SUBSYS) && strncmp(name, "level.", 6) == 0)
			return k;
		if (strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

static int
config_key_index(enum config_sect sect, const char *name)
{
	const struct config_key *k = config_key_find(sect, name);

	if (k == NULL)
		fatalx("config: no key %s.%s in the table", config_sect_name(sect), name);
	return (int)(k - config_keys);
}

static void *
config_key_obj(struct config_parse *ps, const struct config_key *k)
{
	return k->sect == CONFIG_SECT_LISTENER ? (void *)ps->lc : (void *)ps->cf;
}

/* Apply the defaults of one section's keys; a failure is a bug in the table. */
static void
config_apply_defaults(struct config_parse *ps, enum config_sect sect)
{
	const struct config_key *k;
	const char *saved_name = ps->sect_name;

	ps->defaults = 1;
	ps->sect_name = config_sect_name(sect);
	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->sect != sect || k->def == NULL)
			continue;
		ps->key = k->name;
		k->set(ps, k, config_key_obj(ps, k), k->def);
	}
	ps->sect_name = saved_name;
	ps->defaults = 0;
}

static int
config_listener_name_ok(const char *name)
{
	const char *p;

	if (*name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_.-", *p) == NULL)
			return 0;
	return 1;
}

static void
config_listener_begin(struct config_parse *ps, const char *name)
{
	const struct listener_conf *old;
	struct config *cf = ps->cf;
	struct listener_conf *lc;
	size_t i;

	if (!config_listener_name_ok(name)) {
		config_error(ps, ps->lineno, "[%s]: expected a listener name of letters, digits, "
		    "'_', '.' or '-', as in [listener echo], got '%s'", ps->sect_name, name);
		ps->sect = CONFIG_SECT_SKIP;
		return;
	}
	if ((old = config_find_listener(cf, name)) != NULL) {
		config_error(ps, ps->lineno, "[%s]: expected a unique listener name, but it is "
		    "already defined on line %d", ps->sect_name, old->line);
		ps->sect = CONFIG_SECT_SKIP;
		return;
	}
	lc = xcalloc(1, sizeof(*lc));
	lc->name = xstrdup(name);
	lc->file = xstrdup(ps->file);
	lc->line = ps->lineno;
	cf->listeners = xreallocarray(cf->listeners, cf->nlisteners + 1, sizeof(*cf->listeners));
	cf->listeners[cf->nlisteners++] = lc;
	ps->lc = lc;
	ps->sect = CONFIG_SECT_LISTENER;
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].sect != CONFIG_SECT_LISTENER)
			continue;
		ps->seen[i] = 0;
		/* resolved to the [server] value at the end of the file */
		if (config_keys[i].flags & CONFIG_K_SRVDEF)
			*config_u64(lc, &config_keys[i]) = CONFIG_UNSET;
	}
	/* resolved by service at the end: 0600 for the admin console, else 0660 */
	lc->unix_mode = CONFIG_UNIX_MODE_UNSET;
	config_apply_defaults(ps, CONFIG_SECT_LISTENER);
}

/* tls = yes needs a certificate and key; client verification needs CAs. */
static void
config_check_tls(struct config_parse *ps)
{
	const struct listener_conf *lc = ps->lc;

	if (lc == NULL)
		return;
	if (lc->tls && lc->tls_cert == NULL)
		config_error(ps, ps->sect_line, "[%s] tls_cert: expected a certificate file "
		    "with tls = yes, but it is missing", ps->sect_name);
	if (lc->tls && lc->tls_key == NULL)
		config_error(ps, ps->sect_line, "[%s] tls_key: expected a private key file "
		    "with tls = yes, but it is missing", ps->sect_name);
	if (lc->tls_verify_client != TLS_VERIFY_NONE && lc->tls_ca == NULL)
		config_error(ps, ps->sect_line, "[%s] tls_ca: expected a CA file with "
		    "tls_verify_client = %s, but it is missing", ps->sect_name,
		    lc->tls_verify_client == TLS_VERIFY_REQUIRED ? "required" : "optional");
}

/* Add every entry of a list key to `a` (they were checked when read). */
static void
config_acl_fill(struct acl *a, const struct config_list *list, enum acl_action act)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (acl_add(a, act, list->v[i].value, NULL, 0) == -1)
			fatalx("config: %s no longer parses", list->v[i].value);
}

/*
 * The listener's lists: allow + deny + access_file into one acl, and
 * proxy_from; an access file's bad lines are errors with its own name and
 * line numbers. PROXY protocol needs proxy_from.
 */
static void
config_build_access(struct config_parse *ps)
{
	struct listener_conf *lc = ps->lc;
	char **errs = NULL;
	size_t nerrs = 0, i;

	if (lc->allow.n > 0 || lc->deny.n > 0 || lc->access_file != NULL) {
		lc->acl = acl_new();
		config_acl_fill(lc->acl, &lc->allow, ACL_ALLOW);
		config_acl_fill(lc->acl, &lc->deny, ACL_DENY);
		if (lc->access_file != NULL &&
		    acl_load_file(lc->acl, lc->access_file, &errs, &nerrs) == -1) {
			for (i = 0; i < nerrs; i++) {
				config_error(ps, ps->seen[config_key_index(CONFIG_SECT_LISTENER,
				    "access_file")], "[%s] access_file: %s", ps->sect_name, errs[i]);
				free(errs[i]);
			}
			free(errs);
		}
	}
	if (lc->proxy_from.n > 0) {
		lc->proxy_acl = acl_new();
		config_acl_fill(lc->proxy_acl, &lc->proxy_from, ACL_ALLOW);
	}
	if (lc->proxy_protocol != PROXY_MODE_NO && lc->proxy_from.n == 0)
		config_error(ps, ps->sect_line, "[%s] proxy_from: expected the addresses of the "
		    "balancers allowed to send a PROXY header with proxy_protocol = %s, but it is "
		    "missing", ps->sect_name, lc->proxy_protocol == PROXY_MODE_V1 ? "v1" :
		    lc->proxy_protocol == PROXY_MODE_V2 ? "v2" : "any");
}

static void config_warning(struct config_parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keys a UDP listener does not use (connections, TLS, PROXY protocol). */
static const char *const config_tcp_only_keys[] = {
	"backlog", "max_connections", "idle_timeout", "unix_mode", "max_per_source",
	"rate_per_source", "burst", "max_bytes", "max_lifetime", "rate_limit", "proxy_from",
	"proxy_timeout", "tls_cert", "tls_key", "tls_ca", "tls_verify_client", "tls_min_version",
	"tls_ciphers", "tls_ciphersuites", "tls_handshake_timeout", "tls_session_tickets",
};

/* Where key `name` of this [listener] was set, 0 if it was not. */
static int
config_seen_line(struct config_parse *ps, const char *name)
{
	return ps->seen[config_key_index(CONFIG_SECT_LISTENER, name)];
}

/* The keys of the other transport are ignored with a warning; tls and PROXY are errors. */
static void
config_check_transport_keys(struct config_parse *ps)
{
	const struct listener_conf *lc = ps->lc;
	static const char *const udp_keys[] = { "udp_max_amplification", "udp_reply_rate",
	    "udp_reply_bandwidth", "udp_send_queue" };
	size_t i;
	int line;

	if (!lc->udp) {
		for (i = 0; i < ARRAY_LEN(udp_keys); i++)
			if ((line = config_seen_line(ps, udp_keys[i])) != 0)
				config_warning(ps, line, "[%s] %s: applies only to a listener with "
				    "udp: binds; ignored", ps->sect_name, udp_keys[i]);
		return;
	}
	if (lc->tls)
		config_error(ps, config_seen_line(ps, "tls"), "[%s] tls: expected no on a "
		    "listener with udp: binds (there is no DTLS), got 'yes'", ps->sect_name);
	if (lc->proxy_protocol != PROXY_MODE_NO)
		config_error(ps, config_seen_line(ps, "proxy_protocol"), "[%s] proxy_protocol: "
		    "expected no on a listener with udp: binds (PROXY headers are a stream's "
		    "preface)", ps->sect_name);
	for (i = 0; i < ARRAY_LEN(config_tcp_only_keys); i++)
		if ((line = config_seen_line(ps, config_tcp_only_keys[i])) != 0)
			config_warning(ps, line, "[%s] %s: not used by a listener with udp: binds; "
			    "ignored", ps->sect_name, config_tcp_only_keys[i]);
}

/*
 * A listener is all UDP or all TCP (and unix): one kind of socket, one
 * code path. A UDP listener needs a service that answers datagrams.
 */
static void
config_check_udp(struct config_parse *ps)
{
	struct listener_conf *lc = ps->lc;
	const struct bind_conf *first = NULL, *b;
	const struct service *svc;
	size_t i;

	for (i = 0; i < lc->nbinds; i++) {
		b = &lc->binds[i];
		if (first == NULL) {
			first = b;
			lc->udp = b->addrs[0].socktype == SOCK_DGRAM;
			continue;
		}
		if ((b->addrs[0].socktype == SOCK_DGRAM) == lc->udp)
			continue;
		config_error(ps, b->line, "[%s] bind: expected every address of a listener to be "
		    "%s, like '%s' on line %d (a listener is either all UDP or all TCP; use another "
		    "[listener] for the other), got '%s'", ps->sect_name, lc->udp ?
		    "UDP (udp:...)" : "TCP or unix", first->spec, first->line, b->spec);
	}
	if (lc->udp && lc->service != NULL && (svc = service_find(lc->service)) != NULL &&
	    svc->on_datagram == NULL)
		config_error(ps, config_seen_line(ps, "service"), "[%s] service: expected a service "
		    "that answers datagrams (echo, discard, chargen, daytime or time) on a listener "
		    "with udp: binds, got '%s'", ps->sect_name, lc->service);
	config_check_transport_keys(ps);
}

/* Leaving a [listener]: report required keys it did not set, at its header line. */
static void
config_section_end(struct config_parse *ps)
{
	const struct config_key *k;

	if (ps->sect != CONFIG_SECT_LISTENER)
		return;
	config_check_udp(ps);
	config_check_tls(ps);
	config_build_access(ps);
	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->sect != CONFIG_SECT_LISTENER || !(k->flags & CONFIG_K_REQUIRED))
			continue;
		if (ps->seen[k - config_keys] == 0)
			config_error(ps, ps->sect_line, "[%s] %s: expected this key in every "
			    "[listener] section, but it is missing", ps->sect_name, k->name);
	}
}

/* A "[...]" header: name is what is between the brackets, trimmed. */
static void
config_section_begin(struct config_parse *ps, const char *name)
{
	config_section_end(ps);
	free(ps->sect_buf);
	ps->sect_buf = xstrdup(name);
	ps->sect_name = ps->sect_buf;
	ps->sect_line = ps->lineno;
	ps->lc = NULL;
	if (strcmp(name, "server") == 0)
		ps->sect = CONFIG_SECT_SERVER;
	else if (strcmp(name, "log") == 0)
		ps->sect = CONFIG_SECT_LOG;
	else if (strcmp(name, "debug") == 0)
		ps->sect = CONFIG_SECT_DEBUG;
	else if (strcmp(name, "metrics") == 0)
		ps->sect = CONFIG_SECT_METRICS;
	else if (strncmp(name, "listener", 8) == 0 &&
	    (name[8] == '\0' || isspace((unsigned char)name[8])))
		config_listener_begin(ps, name + 8 + strspn(name + 8, " \t"));
	else {
		config_error(ps, ps->lineno, "[%s]: unknown section; expected [server], [log], "
		    "[debug], [metrics] or [listener NAME]", name);
		ps->sect = CONFIG_SECT_SKIP;
	}
}

static void
config_syntax_error(struct config_parse *ps, const char *fmt, const char *got)
{
	if (ps->syntax_line == 0)
		ps->syntax_line = ps->lineno;
	config_error(ps, ps->lineno, fmt, got);
}

/* Like inih: find one of chars, stopping at a ';' that follows whitespace. */
static const char *
config_find_chars(const char *s, const char *chars)
{
	int was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* Look at a line before inih does: section headers and syntax errors. */
static void
config_scan_line(struct config_parse *ps, const char *line)
{
	const char *end;
	char *name;
	size_t n;

	if (*line == '\0' || *line == ';' || *line == '#')
		return;
	if (*line == '[') {
		end = config_find_chars(line + 1, "]");
		if (*end != ']') {
			config_syntax_error(ps, "syntax error: expected ']' at the end of the "
			    "section header, got '%s'", line);
			config_section_end(ps);
			ps->sect = CONFIG_SECT_SKIP;
			return;
		}
		line += 1 + strspn(line + 1, " \t");
		for (n = (size_t)(end - line); n > 0 && isspace((unsigned char)line[n - 1]); n--)
			continue;
		name = xstrndup(line, n);
		config_section_begin(ps, name);
		free(name);
		return;
	}
	end = config_find_chars(line, "=:");
	if (*end != '=' && *end != ':')
		config_syntax_error(ps, "syntax error: expected 'key = value', got '%s'", line);
}

/* The next physical line into ps->buf, without its newline; NULL at the end. */
static char *
config_next_line(struct config_parse *ps)
{
	const char *nl;
	ssize_t n;
	size_t len;

	if (ps->fp != NULL) {
		if ((n = getline(&ps->buf, &ps->bufsize, ps->fp)) == -1) {
			if (ferror(ps->fp))
				config_error(ps, 0, "read error: %s", strerror(errno));
			return NULL;
		}
		return ps->buf;
	}
	if (ps->text == NULL || *ps->text == '\0')
		return NULL;
	nl = strchr(ps->text, '\n');
	len = nl != NULL ? (size_t)(nl - ps->text) : strlen(ps->text);
	if (len + 1 > ps->bufsize) {
		ps->bufsize = len + 1;
		ps->buf = xrealloc(ps->buf, ps->bufsize);
	}
	memcpy(ps->buf, ps->text, len);
	ps->buf[len] = '\0';
	ps->text = nl != NULL ? nl + 1 : ps->text + len;
	return ps->buf;
}

/* Strip surrounding whitespace (and a UTF-8 byte order mark on line 1). */
static char *
config_trim(struct config_parse *ps, char *line)
{
	size_t n;

	if (ps->lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	line += strspn(line, " \t\r\n\v\f");
	n = strlen(line);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	return line;
}

/*
 * inih's reader. Leading whitespace is removed before inih sees the line, so
 * an indented line is never taken as a continuation of the previous value.
 */
static char *
config_read_cb(char *str, int num, void *stream)
{
	struct config_parse *ps = stream;
	char *line;

	if ((line = config_next_line(ps)) == NULL)
		return NULL;
	ps->lineno++;
	line = config_trim(ps, line);
	if (strlen(line) + 2 > (size_t)num) {
		/* inih gets an empty line instead, so this is not in its count */
		config_error(ps, ps->lineno, "line too long: expected at most %d characters "
		    "(split long bind lists over several bind lines)", num - 2);
		if (*line == '[') {
			config_section_end(ps);
			ps->sect = CONFIG_SECT_SKIP;
		}
		line = (char *)"";
	} else
		config_scan_line(ps, line);
	snprintf(str, (size_t)num, "%s\n", line);
	return str;
}

static void
config_unknown_key(struct config_parse *ps)
{
	const struct config_key *k;
	char *known = NULL, *tmp;

	const struct service *svc;
	size_t i, j;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->sect != ps->sect)
			continue;
		xasprintf(&tmp, "%s%s%s", known ? known : "", known ? ", " : "", k->name);
		free(known);
		known = tmp;
	}
	/* and the services' keys, each name once */
	for (i = 0; (ps->sect == CONFIG_SECT_SERVER || ps->sect == CONFIG_SECT_LISTENER) &&
	    (svc = service_at(i)) != NULL; i++) {
		for (j = 0; j < svc->nkeys; j++) {
			if (ps->sect == CONFIG_SECT_SERVER && !(svc->keys[j].flags & SERVICE_K_SERVER))
				continue;
			if (config_svc_key_any(svc->keys[j].name, ps->sect == CONFIG_SECT_SERVER,
			    NULL) != &svc->keys[j])
				continue;
			xasprintf(&tmp, "%s%s%s", known ? known : "", known ? ", " : "",
			    svc->keys[j].name);
			free(known);
			known = tmp;
		}
	}
	config_error(ps, ps->lineno, "[%s] %s: unknown key; expected one of: %s", ps->sect_name,
	    ps->key, known ? known : "(none)");
	free(known);
}

/*
 * Record that k was given on this line. Returns -1 (reported) if k takes one
 * value and already had one in this section. level.<subsystem> is checked per
 * subsystem by its setter.
 */
static int
config_key_seen(struct config_parse *ps, const struct config_key *k)
{
	int *slot = &ps->seen[k - config_keys];

	if (k->flags & CONFIG_K_SUBSYS)
		return 0;
	if (!(k->flags & CONFIG_K_REPEAT))
		return config_once(ps, slot);
	if (*slot == 0)
		*slot = ps->lineno;
	return 0;
}

static int
config_handler_cb(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *ps = user;
	const struct config_key *k;

	if (name == NULL)
		return 1;	/* a section start, in inih builds that report them */
	if (value == NULL)
		value = "";	/* a key without '=', in inih builds that allow it */
	if (ps->sect == CONFIG_SECT_SKIP)
		return 1;
	if (ps->sect == CONFIG_SECT_NONE) {
		config_error(ps, ps->lineno, "%s: expected a [section] header before the first key",
		    name);
		return 1;
	}
	ps->key = name;
	if ((k = config_key_find(ps->sect, name)) == NULL)
		config_svc_key(ps, name, value);
	else if (config_key_seen(ps, k) == 0)
		k->set(ps, k, config_key_obj(ps, k), value);
	ps->key = NULL;
	return 1;	/* errors are collected here; inih's count only syntax errors */
}

/* ---------------------------------------------------------------- service options */

/*
 * A service's key as a row of the key table, so the same setters, messages
 * and dumps serve both. `sect` is where it was written.
 */
static void
config_svc_row(const struct service_key *sk, enum config_sect sect, struct config_key *k)
{
	static const config_set_cb setters[] = {
		[SERVICE_K_UINT] = config_set_uint,
		[SERVICE_K_SIZE] = config_set_size,
		[SERVICE_K_DURATION] = config_set_duration,
		[SERVICE_K_BOOL] = config_set_bool,
		[SERVICE_K_ENUM] = config_set_enum,
		[SERVICE_K_CUSTOM] = config_set_custom,
	};

	memset(k, 0, sizeof(*k));
	k->sect = sect;
	k->name = sk->name;
	k->set = setters[sk->type];
	k->off = sk->off;
	k->min = sk->min;
	k->max = sk->max;
	k->def = sk->def;
	k->skey = sk;
}

/* The first service offering key `name` (in [server] only those marked so), or NULL. */
static const struct service_key *
config_svc_key_any(const char *name, int server, const struct service **svcp)
{
	const struct service_key *sk;
	const struct service *svc;
	size_t i;

	for (i = 0; (svc = service_at(i)) != NULL; i++) {
		if ((sk = service_key_find(svc, name)) == NULL)
			continue;
		if (server && !(sk->flags & SERVICE_K_SERVER))
			continue;
		if (svcp != NULL)
			*svcp = svc;
		return sk;
	}
	return NULL;
}

/*
 * A service key written in [server] or a [listener]: check the value now
 * (into scratch space, so the error has this line) and keep it; which
 * listeners it applies to is known only at the end (config_svc_apply).
 */
static void
config_svc_record(struct config_parse *ps, const struct service_key *sk,
    const struct service *svc, const char *value)
{
	struct config_svcval *v;
	struct config_key k;
	void *scratch;

	config_svc_row(sk, ps->sect, &k);
	scratch = xcalloc(1, svc->conf_size > 0 ? svc->conf_size : 1);
	if (k.set(ps, &k, scratch, value) == -1) {
		free(scratch);
		return;
	}
	free(scratch);
	ps->svcvals = xreallocarray(ps->svcvals, ps->nsvcvals + 1, sizeof(*ps->svcvals));
	v = &ps->svcvals[ps->nsvcvals++];
	v->listener = ps->sect == CONFIG_SECT_LISTENER ? ps->lc : NULL;
	v->name = sk->name;
	v->value = xstrdup(value);
	v->line = ps->lineno;
}

/* One service key given twice in the same section: the second is an error. */
static int
config_svc_seen(struct config_parse *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->nsvcvals; i++) {
		if (strcmp(ps->svcvals[i].name, name) == 0 &&
		    ps->svcvals[i].listener == (ps->sect == CONFIG_SECT_LISTENER ? ps->lc : NULL)) {
			config_error(ps, ps->lineno, "[%s] %s: expected at most one value, but it "
			    "was already set on line %d", ps->sect_name, name, ps->svcvals[i].line);
			return 1;
		}
	}
	return 0;
}

/* A key the key table does not have: a service's, or unknown. */
static void
config_svc_key(struct config_parse *ps, const char *name, const char *value)
{
	const struct service_key *sk;
	const struct service *svc = NULL;

	if (ps->sect != CONFIG_SECT_SERVER && ps->sect != CONFIG_SECT_LISTENER) {
		config_unknown_key(ps);
		return;
	}
	if ((sk = config_svc_key_any(name, ps->sect == CONFIG_SECT_SERVER, &svc)) == NULL) {
		config_unknown_key(ps);
		return;
	}
	if (!config_svc_seen(ps, name))
		config_svc_record(ps, sk, svc, value);
}

/* Apply `name = value` (already checked) to one listener's options. */
static void
config_svc_set(struct config_parse *ps, struct listener_conf *lc, const struct service_key *sk,
    const char *value, int line, enum config_sect sect)
{
	struct config_key k;
	const char *saved_name = ps->sect_name;
	int saved_line = ps->lineno;
	char sname[160];

	snprintf(sname, sizeof(sname), sect == CONFIG_SECT_SERVER ? "server" : "listener %s",
	    lc->name);
	config_svc_row(sk, sect, &k);
	ps->sect_name = sname;
	ps->key = sk->name;
	ps->lineno = line;
	k.set(ps, &k, lc->svc_conf, value);
	ps->sect_name = saved_name;
	ps->lineno = saved_line;
	ps->key = NULL;
}

/* Remember a warning: "FILE:LINE: message". Warnings never fail a load. */
static void __attribute__((format(printf, 3, 4)))
config_warning(struct config_parse *ps, int line, const char *fmt, ...)
{
	struct config *cf = ps->cf;
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	cf->warnings = xreallocarray(cf->warnings, cf->nwarnings + 1, sizeof(*cf->warnings));
	xasprintf(&cf->warnings[cf->nwarnings++], "%s:%d: %s", ps->file, line, msg);
	free(msg);
}

/*
 * Build each listener's service options: the service's defaults, then the
 * [server] values of keys it offers, then the listener's own. A listener key
 * its service does not offer is ignored with a warning (configurations that
 * set, say, allow_remote on an echo listener keep working).
 */
static void
config_svc_apply_one(struct config_parse *ps, struct listener_conf *lc)
{
	const struct service *svc;
	const struct service_key *sk;
	struct config_svcval *v;
	size_t i;
	int pass;

	/* a listener without a (valid) service was reported already */
	if (lc->service == NULL || (svc = service_find(lc->service)) == NULL)
		return;
	lc->svc_conf_size = svc->conf_size;
	lc->svc_conf = svc->conf_size > 0 ? xcalloc(1, svc->conf_size) : NULL;
	ps->defaults = 1;
	for (i = 0; i < svc->nkeys; i++)
		config_svc_set(ps, lc, &svc->keys[i], svc->keys[i].def, 0, CONFIG_SECT_LISTENER);
	ps->defaults = 0;
	/* [server] values first, wherever they were written, then the listener's own. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ps->nsvcvals; i++) {
			v = &ps->svcvals[i];
			if (v->listener != (pass == 0 ? NULL : lc))
				continue;
			if ((sk = service_key_find(svc, v->name)) == NULL) {
				if (pass == 1)
					config_warning(ps, v->line, "[listener %s] %s: not an option "
					    "of service %s; ignored", lc->name, v->name, svc->name);
				continue;
			}
			config_svc_set(ps, lc, sk, v->value, v->line, pass == 0 ?
			    CONFIG_SECT_SERVER : CONFIG_SECT_LISTENER);
		}
	}
}

static void
config_svc_apply(struct config_parse *ps)
{
	size_t i;

	struct config *cf = ps->cf;
	struct config_value *cv;

	for (i = 0; i < cf->nlisteners; i++)
		config_svc_apply_one(ps, cf->listeners[i]);
	for (i = 0; i < ps->nsvcvals; i++) {
		if (ps->svcvals[i].listener == NULL) {
			/* kept: the dump writes [server] as it was given */
			cf->server_svc = xreallocarray(cf->server_svc, cf->nserver_svc + 1,
			    sizeof(*cf->server_svc));
			cv = &cf->server_svc[cf->nserver_svc++];
			cv->key = xstrdup(ps->svcvals[i].name);
			cv->value = ps->svcvals[i].value;
			cv->line = ps->svcvals[i].line;
			continue;
		}
		free(ps->svcvals[i].value);
	}
	free(ps->svcvals);
	ps->svcvals = NULL;
	ps->nsvcvals = 0;
}

/* A service may refuse some bind addresses (the admin console: remote ones). */
static void
config_check_service_binds(struct config_parse *ps)
{
	const struct listener_conf *lc;
	const struct service *svc;
	const struct bind_conf *b;
	const char *expect;
	size_t li, bi;
	int ai;

	for (li = 0; li < ps->cf->nlisteners; li++) {
		lc = ps->cf->listeners[li];
		if ((svc = service_find(lc->service != NULL ? lc->service : "")) == NULL ||
		    svc->check_bind == NULL)
			continue;
		for (bi = 0; bi < lc->nbinds; bi++) {
			b = &lc->binds[bi];
			for (ai = 0; ai < b->naddrs; ai++) {
				if (svc->check_bind(lc->svc_conf,
				    (const struct sockaddr *)&b->addrs[ai].ss, &expect) == 0)
					continue;
				config_error(ps, b->line, "[listener %s] bind: %s, got '%s'",
				    lc->name, expect, b->spec);
				break;
			}
		}
	}
}

/* Would binding both collide? Port 0 (chosen by the kernel) never does. */
static int
config_addr_same(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;

	/* TCP and UDP have separate port spaces: udp:127.0.0.1:7 and 127.0.0.1:7 coexist. */
	if (a->ss.ss_family != b->ss.ss_family ||
	    (a->socktype == SOCK_DGRAM) != (b->socktype == SOCK_DGRAM))
		return 0;
	switch (a->ss.ss_family) {
	case AF_INET:
		return a4->sin_port != 0 && a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		return a6->sin6_port != 0 && a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	case AF_UNIX:
		return strcmp(((const struct sockaddr_un *)&a->ss)->sun_path,
		    ((const struct sockaddr_un *)&b->ss)->sun_path) == 0;
	default:
		return 0;
	}
}

/* The first bind before binds[bi] of listeners[li] (in file order) that uses a. */
static const struct bind_conf *
config_bind_conflict(const struct config *cf, size_t li, size_t bi, const struct addr *a,
    const struct listener_conf **owner)
{
	const struct listener_conf *lc;
	size_t i, j, end;
	int k;

	for (i = 0; i <= li; i++) {
		lc = cf->listeners[i];
		end = i == li ? bi : lc->nbinds;
		for (j = 0; j < end; j++) {
			for (k = 0; k < lc->binds[j].naddrs; k++) {
				if (config_addr_same(a, &lc->binds[j].addrs[k])) {
					*owner = lc;
					return &lc->binds[j];
				}
			}
		}
	}
	return NULL;
}

/* Report binds[bi] of listeners[li] if an earlier bind uses one of its addresses. */
static void
config_check_bind(struct config_parse *ps, size_t li, size_t bi)
{
	const struct listener_conf *lc = ps->cf->listeners[li], *owner;
	const struct bind_conf *b = &lc->binds[bi], *other;
	char buf[ADDR_STRLEN];
	int ai;

	for (ai = 0; ai < b->naddrs; ai++) {
		other = config_bind_conflict(ps->cf, li, bi, &b->addrs[ai], &owner);
		if (other == NULL)
			continue;
		addr_format((const struct sockaddr *)&b->addrs[ai].ss, b->addrs[ai].len, buf,
		    sizeof(buf));
		config_error(ps, b->line, "[listener %s] bind: expected an address used only "
		    "once, but %s is already used by [listener %s] on line %d", lc->name, buf,
		    owner->name, other->line);
		return;
	}
}

static void
config_check_binds(struct config_parse *ps)
{
	size_t li, bi;

	for (li = 0; li < ps->cf->nlisteners; li++)
		for (bi = 0; bi < ps->cf->listeners[li]->nbinds; bi++)
			config_check_bind(ps, li, bi);
}

/* low < high; a high watermark given alone brings the low one down to high/4. */
static void
config_check_watermarks(struct config_parse *ps)
{
	struct config *cf = ps->cf;
	int hi = ps->seen[config_key_index(CONFIG_SECT_SERVER, "write_high_watermark")];
	int lo = ps->seen[config_key_index(CONFIG_SECT_SERVER, "write_low_watermark")];
	char hbuf[32], lbuf[32];

	if (hi != 0 && lo == 0)
		cf->write_low_watermark = cf->write_high_watermark / 4;
	if (cf->write_low_watermark < cf->write_high_watermark)
		return;
	config_error(ps, lo != 0 ? lo : hi, "[server] write_low_watermark: expected a size below "
	    "write_high_watermark (%s), got %s",
	    util_fmt_size(cf->write_high_watermark, hbuf, sizeof(hbuf)),
	    util_fmt_size(cf->write_low_watermark, lbuf, sizeof(lbuf)));
}

/* [metrics] bind: "" (off) or one TCP address, as for a listener's bind. */
static int
config_set_metrics_bind(struct config_parse *ps, const struct config_key *k, void *obj,
    const char *value)
{
	struct addr addrs[ADDR_MAX_PER_SPEC];
	const char *why;

	if (*value != '\0' && addr_parse(value, addrs, &why) == -1)
		return config_bad_value(ps, why, value);
	if (*value != '\0' && (addrs[0].ss.ss_family == AF_UNIX || addrs[0].socktype != SOCK_STREAM))
		return config_bad_value(ps, "expected a TCP address such as 127.0.0.1:9107 "
		    "(or nothing: metrics off)", value);
	config_set_str(obj, k, value);
	return 0;
}

/* Listener keys not set take the [server] value of the same name. */
static void
config_resolve_srvdef(struct config_parse *ps)
{
	const struct config_key *k, *sk;
	const struct service *svc;
	struct listener_conf *lc;
	size_t i;

	for (i = 0; i < ps->cf->nlisteners; i++) {
		lc = ps->cf->listeners[i];
		if (lc->unix_mode != CONFIG_UNIX_MODE_UNSET)
			continue;
		svc = lc->service != NULL ? service_find(lc->service) : NULL;
		lc->unix_mode = svc != NULL && (svc->flags & SERVICE_F_OPERATOR) ? 0600 : 0660;
	}

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->sect != CONFIG_SECT_LISTENER || !(k->flags & CONFIG_K_SRVDEF))
			continue;
		sk = config_key_find(CONFIG_SECT_SERVER, k->name);
		for (i = 0; i < ps->cf->nlisteners; i++)
			if (*config_u64(ps->cf->listeners[i], k) == CONFIG_UNSET)
				*config_u64(ps->cf->listeners[i], k) = *config_u64(ps->cf, sk);
	}
}

/*
 * A UDP listener's reply budget lives in the source table: with max_sources
 * 0 no source has one, and every reply would be dropped.
 */
static void
config_check_udp_sources(struct config_parse *ps)
{
	const struct listener_conf *lc;
	size_t i;

	if (ps->cf->max_sources > 0)
		return;
	for (i = 0; i < ps->cf->nlisteners; i++) {
		lc = ps->cf->listeners[i];
		if (!lc->udp || (lc->udp_reply_rate == 0 && lc->udp_reply_bandwidth == 0))
			continue;
		config_error(ps, ps->seen[config_key_index(CONFIG_SECT_SERVER, "max_sources")],
		    "[server] max_sources: expected more than 0 with a UDP listener that has a "
		    "reply budget ([listener %s] on line %d keeps its sources' budgets in the source "
		    "table), or udp_reply_rate = 0 and udp_reply_bandwidth = 0 there", lc->name,
		    lc->line);
		return;
	}
}

/* Checks that need the whole file. */
static void
config_finish(struct config_parse *ps)
{
	if (ps->cf->nlisteners == 0)
		config_error(ps, 0, "expected at least one [listener NAME] section, found none");
	config_check_binds(ps);
	config_resolve_srvdef(ps);
	config_check_udp_sources(ps);
	config_svc_apply(ps);
	config_check_service_binds(ps);
	config_check_watermarks(ps);
}

static void
config_parse_init(struct config_parse *ps, const char *file, struct config_errors *errs)
{
	int i;

	memset(ps, 0, sizeof(*ps));
	ps->file = file;
	ps->errs = errs;
	ps->cf = xcalloc(1, sizeof(*ps->cf));
	for (i = 0; i < LOG_S_COUNT; i++)
		ps->cf->log_subsys_level[i] = -1;
	config_apply_defaults(ps, CONFIG_SECT_SERVER);
	config_apply_defaults(ps, CONFIG_SECT_LOG);
	config_apply_defaults(ps, CONFIG_SECT_DEBUG);
	config_apply_defaults(ps, CONFIG_SECT_METRICS);
}

/* Parse from the source set in ps; on any error free the config. */
static int
config_parse_run(struct config_parse *ps, struct config **out)
{
	int rc;

	rc = ini_parse_stream(config_read_cb, ps, config_handler_cb, ps);
	config_section_end(ps);
	if (rc == -2)
		fatalx("out of memory (inih)");
	/* The reader reports syntax errors as inih would; this catches any it missed. */
	if (rc > 0 && rc != ps->syntax_line)
		config_error(ps, rc, "syntax error");
	config_finish(ps);
	free(ps->buf);
	free(ps->sect_buf);
	config_errors_flush(ps);
	if (ps->nerrs > 0) {
		config_free(ps->cf);
		*out = NULL;
		return -1;
	}
	*out = ps->cf;
	return 0;
}

/* fopen() succeeds on a directory; say so instead of "read error". */
static int
config_is_dir(FILE *fp)
{
	struct stat st;

	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return 1;
	}
	return 0;
}

int
config_load(const char *path, struct config **out, struct config_errors *errs)
{
	struct config_parse ps;
	int rc;

	config_parse_init(&ps, path, errs);
	if ((ps.fp = fopen(path, "r")) == NULL || config_is_dir(ps.fp)) {
		config_error(&ps, 0, "cannot open: %s", strerror(errno));
		if (ps.fp != NULL)
			fclose(ps.fp);
		config_errors_flush(&ps);
		config_free(ps.cf);
		*out = NULL;
		return -1;
	}
	rc = config_parse_run(&ps, out);
	fclose(ps.fp);
	if (rc == 0)
		(*out)->path = xstrdup(path);
	return rc;
}

int
config_load_string(const char *name, const char *text, struct config **out,
    struct config_errors *errs)
{
	struct config_parse ps;

	config_parse_init(&ps, name, errs);
	ps.text = text;
	return config_parse_run(&ps, out);
}

struct config *
config_default(void)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cf;

	if (config_load_string("built-in defaults", CONFIG_DEFAULT_TEXT, &cf, &errs) == -1)
		fatalx("built-in configuration is invalid: %s", errs.n > 0 ? errs.msgs[0] : "?");
	return cf;
}

static void
config_list_free(struct config_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->v[i].value);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static void
config_listener_free(struct listener_conf *lc)
{
	size_t i;

	for (i = 0; i < lc->nbinds; i++)
		free(lc->binds[i].spec);
	free(lc->binds);
	free(lc->name);
	free(lc->file);
	free(lc->service);
	free(lc->tls_cert);
	free(lc->tls_key);
	free(lc->tls_ca);
	free(lc->tls_ciphers);
	free(lc->tls_ciphersuites);
	free(lc->svc_conf);
	free(lc->access_file);
	config_list_free(&lc->allow);
	config_list_free(&lc->deny);
	config_list_free(&lc->proxy_from);
	acl_free(lc->acl);
	acl_free(lc->proxy_acl);
	free(lc);
}

void
config_free(struct config *cf)
{
	size_t i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nlisteners; i++)
		config_listener_free(cf->listeners[i]);
	free(cf->listeners);
	free(cf->log_target);
	free(cf->log_facility);
	free(cf->metrics_bind);
	free(cf->pidfile);
	free(cf->user);
	free(cf->group);
	free(cf->path);
	for (i = 0; i < cf->nwarnings; i++)
		free(cf->warnings[i]);
	free(cf->warnings);
	for (i = 0; i < cf->nserver_svc; i++) {
		free(cf->server_svc[i].key);
		free(cf->server_svc[i].value);
	}
	free(cf->server_svc);
	free(cf);
}

void
config_errors_free(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

const struct listener_conf *
config_find_listener(const struct config *cf, const char *name)
{
	size_t i;

	if (cf == NULL)
		return NULL;
	for (i = 0; i < cf->nlisteners; i++)
		if (strcmp(cf->listeners[i]->name, name) == 0)
			return cf->listeners[i];
	return NULL;
}

int
config_service_value(const struct listener_conf *lc, const char *key, uint64_t *v)
{
	const struct service_key *sk;
	const struct service *svc;
	const char *field;

	if ((svc = service_find(lc->service != NULL ? lc->service : "")) == NULL ||
	    (sk = service_key_find(svc, key)) == NULL || lc->svc_conf == NULL)
		return -1;
	field = (const char *)lc->svc_conf + sk->off;
	switch (sk->type) {
	case SERVICE_K_UINT:
	case SERVICE_K_SIZE:
	case SERVICE_K_DURATION:
		*v = *(const uint64_t *)field;
		return 0;
	case SERVICE_K_BOOL:
	case SERVICE_K_ENUM:
		*v = (uint64_t)*(const int *)field;
		return 0;
	default:
		return -1;
	}
}

void
config_foreach_key(void (*cb)(const char *section, const char *key, void *arg), void *arg)
{
	const struct service_key *sk;
	const struct config_key *k;
	const struct service *svc;
	size_t i, j;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++)
		cb(config_sect_name(k->sect), k->name, arg);
	/* The services' keys, each name once (the first service that has it). */
	for (i = 0; (svc = service_at(i)) != NULL; i++) {
		for (j = 0; j < svc->nkeys; j++) {
			sk = &svc->keys[j];
			if (config_svc_key_any(sk->name, 0, NULL) != sk)
				continue;
			cb("listener", sk->name, arg);
			if (sk->flags & SERVICE_K_SERVER)
				cb("server", sk->name, arg);
		}
	}
}

/* ---------------------------------------------------------------- dump */

/*
 * Longest line the loader takes: inih's buffer less the newline and the NUL
 * (config_read_cb reports longer ones).
 */
#define CONFIG_LINE_MAX		(INI_MAX_LINE - 2)

/* Write one key's value(s) from obj as "key = value" lines. */
typedef void (*config_dump_cb)(FILE *, const struct config_key *, const void *);

/*
 * "key = value", or "key=value" where the spaces would change what is read
 * back: a value starting with ';' (a comment after whitespace) or a line
 * that would pass CONFIG_LINE_MAX. "key =" for an empty value; NULL (not
 * set): a comment.
 */
static void
config_dump_line(FILE *fp, const char *key, const char *value)
{
	if (value == NULL)
		fprintf(fp, "; %s (not set)\n", key);
	else if (*value == '\0')
		fprintf(fp, "%s =\n", key);
	else if (*value == ';' || strlen(key) + 3 + strlen(value) > CONFIG_LINE_MAX)
		fprintf(fp, "%s=%s\n", key, value);
	else
		fprintf(fp, "%s = %s\n", key, value);
}

static const void *
config_dump_field(const void *obj, const struct config_key *k)
{
	return (const char *)obj + k->off;
}

static void
config_dump_uint(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)*(const uint64_t *)config_dump_field(obj, k));
	config_dump_line(fp, k->name, buf);
}

static void
config_dump_int(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", *(const int *)config_dump_field(obj, k));
	config_dump_line(fp, k->name, buf);
}

static void
config_dump_size(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32];

	config_dump_line(fp, k->name, util_fmt_size(*(const uint64_t *)config_dump_field(obj, k),
	    buf, sizeof(buf)));
}

static void
config_dump_duration(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32];

	config_dump_line(fp, k->name, util_fmt_duration_ms(
	    *(const uint64_t *)config_dump_field(obj, k), buf, sizeof(buf)));
}

static void
config_dump_bool(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name, *(const int *)config_dump_field(obj, k) ? "yes" : "no");
}

static void
config_dump_mode(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04o", (unsigned)*(const mode_t *)config_dump_field(obj, k));
	config_dump_line(fp, k->name, buf);
}

static void
config_dump_level(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name,
	    log_level_name(*(const enum log_level *)config_dump_field(obj, k)));
}

/* One line per subsystem: "level.conn = debug", or a comment when it follows level. */
static void
config_dump_subsys_level(FILE *fp, const struct config_key *k, const void *obj)
{
	const int *levels = config_dump_field(obj, k);
	char key[64];
	int s;

	for (s = 0; s < LOG_S_COUNT; s++) {
		snprintf(key, sizeof(key), "level.%s", log_subsys_name((enum log_subsys)s));
		config_dump_line(fp, key, levels[s] == -1 ? NULL :
		    log_level_name((enum log_level)levels[s]));
	}
}

/* Strings: target, facility, service, paths, cipher lists, the metrics bind. */
static void
config_dump_str(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name, *(char *const *)config_dump_field(obj, k));
}

/* One line per bind spec, as written. */
static void
config_dump_bind(FILE *fp, const struct config_key *k, const void *obj)
{
	const struct listener_conf *lc = obj;
	size_t i;

	for (i = 0; i < lc->nbinds; i++)
		config_dump_line(fp, k->name, lc->binds[i].spec);
}

/* A count per second: "100/s". */
static void
config_dump_rate(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu/s",
	    (unsigned long long)*(const uint64_t *)config_dump_field(obj, k));
	config_dump_line(fp, k->name, buf);
}

/* Bytes per second: "64K/s". */
static void
config_dump_byte_rate(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[32], out[40];

	util_fmt_size(*(const uint64_t *)config_dump_field(obj, k), buf, sizeof(buf));
	snprintf(out, sizeof(out), "%s/s", buf);
	config_dump_line(fp, k->name, out);
}

/* One line per entry of a list key, as written; a comment when empty. */
static void
config_dump_acl_list(FILE *fp, const struct config_key *k, const void *obj)
{
	const struct config_list *list = config_dump_field(obj, k);
	size_t i;

	if (list->n == 0)
		config_dump_line(fp, k->name, NULL);
	for (i = 0; i < list->n; i++)
		config_dump_line(fp, k->name, list->v[i].value);
}

static void
config_dump_proxy_mode(FILE *fp, const struct config_key *k, const void *obj)
{
	static const char *const names[] = { "no", "v1", "v2", "any" };

	config_dump_line(fp, k->name, names[*(const enum proxy_mode *)config_dump_field(obj, k)]);
}

/* A service's enum key: its word. */
static void
config_dump_enum(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name, k->skey->names[*(const int *)config_dump_field(obj, k)]);
}

/* A service's custom key: its own formatter. */
static void
config_dump_custom(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[1024];

	config_dump_line(fp, k->name, k->skey->format(config_dump_field(obj, k), buf,
	    sizeof(buf)));
}

static void
config_dump_tls_verify(FILE *fp, const struct config_key *k, const void *obj)
{
	switch (*(const enum tls_verify *)config_dump_field(obj, k)) {
	case TLS_VERIFY_OPTIONAL:
		config_dump_line(fp, k->name, "optional");
		break;
	case TLS_VERIFY_REQUIRED:
		config_dump_line(fp, k->name, "required");
		break;
	default:
		config_dump_line(fp, k->name, "none");
		break;
	}
}

static void
config_dump_tls_version(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name,
	    *(const enum tls_min_version *)config_dump_field(obj, k) == TLS_MIN_TLS13 ?
	    "TLS1.3" : "TLS1.2");
}

static void
config_dump_probability(FILE *fp, const struct config_key *k, const void *obj)
{
	char buf[16];

	config_dump_line(fp, k->name, misbehave_format_probability(
	    *(const uint64_t *)config_dump_field(obj, k), buf, sizeof(buf)));
}

static void
config_dump_tls_ktls(FILE *fp, const struct config_key *k, const void *obj)
{
	config_dump_line(fp, k->name,
	    *(const enum tls_ktls *)config_dump_field(obj, k) == TLS_KTLS_AUTO ? "auto" : "no");
}

/* How to write back what each setter stored: a new key with a known setter needs nothing. */
static const struct {
	config_set_cb	set;
	config_dump_cb	dump;
} config_dumpers[] = {
	{ config_set_uint, config_dump_uint },
	{ config_set_int, config_dump_int },
	{ config_set_size, config_dump_size },
	{ config_set_duration, config_dump_duration },
	{ config_set_bool, config_dump_bool },
	{ config_set_mode, config_dump_mode },
	{ config_set_level, config_dump_level },
	{ config_set_subsys_level, config_dump_subsys_level },
	{ config_set_target, config_dump_str },
	{ config_set_facility, config_dump_str },
	{ config_set_service, config_dump_str },
	{ config_set_bind, config_dump_bind },
	{ config_set_enum, config_dump_enum },
	{ config_set_rate, config_dump_rate },
	{ config_set_byte_rate, config_dump_byte_rate },
	{ config_set_acl_list, config_dump_acl_list },
	{ config_set_proxy_mode, config_dump_proxy_mode },
	{ config_set_custom, config_dump_custom },
	{ config_set_metrics_bind, config_dump_str },
	{ config_set_text, config_dump_str },
	{ config_set_tls_verify, config_dump_tls_verify },
	{ config_set_tls_version, config_dump_tls_version },
	{ config_set_probability, config_dump_probability },
	{ config_set_tls_ktls, config_dump_tls_ktls },
};

static void
config_dump_key(FILE *fp, const struct config_key *k, const void *obj)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(config_dumpers); i++)
		if (config_dumpers[i].set == k->set)
			break;
	/* a setter without a dumper is a bug in this file, found by any dump */
	if (i == ARRAY_LEN(config_dumpers))
		fatalx("config: no dump for %s.%s", config_sect_name(k->sect), k->name);
	config_dumpers[i].dump(fp, k, obj);
}

/*
 * [server]'s service options (max_line, ...): the value given, or the
 * default, each written as its service's key would write it.
 */
static void
config_dump_server_svc(FILE *fp, const struct config *cf)
{
	struct config_parse ps;
	const struct service_key *sk;
	const struct service *svc;
	struct config_key k;
	const char *value;
	void *scratch;
	size_t i, j, v;

	memset(&ps, 0, sizeof(ps));
	ps.file = "dump";
	ps.defaults = 1;	/* these values loaded once: failing now is a bug */
	ps.sect_name = "server";
	for (i = 0; (svc = service_at(i)) != NULL; i++) {
		for (j = 0; j < svc->nkeys; j++) {
			sk = &svc->keys[j];
			if (!(sk->flags & SERVICE_K_SERVER) || config_svc_key_any(sk->name, 1,
			    NULL) != sk)
				continue;
			value = sk->def;
			for (v = 0; v < cf->nserver_svc; v++)
				if (strcmp(cf->server_svc[v].key, sk->name) == 0)
					value = cf->server_svc[v].value;
			config_svc_row(sk, CONFIG_SECT_SERVER, &k);
			scratch = xcalloc(1, svc->conf_size);
			ps.key = sk->name;
			k.set(&ps, &k, scratch, value);
			config_dump_key(fp, &k, scratch);
			free(scratch);
		}
	}
}

/* Every key of one section, in table order; a listener's service keys after its own. */
static void
config_dump_section(FILE *fp, enum config_sect sect, const void *obj)
{
	const struct listener_conf *lc = obj;
	const struct service *svc;
	const struct config_key *k;
	struct config_key sk;
	size_t i;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++)
		if (k->sect == sect)
			config_dump_key(fp, k, obj);
	if (sect == CONFIG_SECT_SERVER)
		config_dump_server_svc(fp, obj);
	if (sect != CONFIG_SECT_LISTENER || lc->svc_conf == NULL ||
	    (svc = service_find(lc->service)) == NULL)
		return;
	for (i = 0; i < svc->nkeys; i++) {
		config_svc_row(&svc->keys[i], sect, &sk);
		config_dump_key(fp, &sk, lc->svc_conf);
	}
}

char *
config_dump(const struct config *cf)
{
	enum config_sect sect;
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp;
	int bad;

	if ((fp = open_memstream(&text, &len)) == NULL)
		fatal("config: open_memstream");
	for (sect = CONFIG_SECT_NONE + 1; sect < CONFIG_SECT_SKIP; sect++) {
		if (sect == CONFIG_SECT_LISTENER)
			continue;
		fprintf(fp, "%s[%s]\n", sect == CONFIG_SECT_NONE + 1 ? "" : "\n",
		    config_sect_name(sect));
		config_dump_section(fp, sect, cf);
	}
	for (i = 0; i < cf->nlisteners; i++) {
		fprintf(fp, "\n[listener %s]\n", cf->listeners[i]->name);
		config_dump_section(fp, CONFIG_SECT_LISTENER, cf->listeners[i]);
	}
	bad = ferror(fp);
	if (fclose(fp) != 0 || bad)
		fatalx("config: out of memory (dump)");
	return text;
}
