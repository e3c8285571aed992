/*
 * config.h: the parsed configuration. A config is built by config_load()
 * (inih) on the loop thread at start-up and on reload, validated as a whole,
 * and then only read. A reload builds a new one and swaps it in.
 */
#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "acl.h"
#include "addr.h"
#include "log.h"
#include "misbehave.h"

/* tls_verify_client: ask for a client certificate (mTLS). */
enum tls_verify {
	TLS_VERIFY_NONE = 0,    /* do not ask */
	TLS_VERIFY_OPTIONAL,    /* ask; one that is sent must verify against tls_ca */
	TLS_VERIFY_REQUIRED,    /* a certificate that verifies against tls_ca is required */
};

/* tls_ktls: hand the record layer to the kernel (kTLS) when it offers it. */
enum tls_ktls {
	TLS_KTLS_NO = 0,        /* records always encrypted in user space */
	TLS_KTLS_AUTO,          /* the kernel's when it has the "tls" TCP ULP and the cipher */
};

/* tls_min_version */
enum tls_min_version {
	TLS_MIN_TLS12 = 0,
	TLS_MIN_TLS13,
};

/* proxy_protocol: which PROXY protocol header a listener reads first. */
enum proxy_mode {
	PROXY_MODE_NO = 0,
	PROXY_MODE_V1,
	PROXY_MODE_V2,
	PROXY_MODE_ANY,
};

/* A list key (allow, deny, proxy_from): every entry as written, with its line. */
struct config_list {
	struct config_value *v;
	size_t               n;
};

/* Listener keys that default to their [server] value hold this until the file is read. */
#define CONFIG_UNSET UINT64_MAX

/* One bind spec of a listener, as written and as parsed. */
struct bind_conf {
	char        *spec;                      /* "127.0.0.1:7007", "*:7", "unix:/x" */
	struct addr  addrs[ADDR_MAX_PER_SPEC];
	int          naddrs;
	int          line;                      /* where it was written, for messages */
};

/* A key as written, kept for dumps. */
struct config_value {
	char                *key;
	char                *value;
	int                  line;
};

struct listener_conf {
	char                *name;              /* [listener NAME] */
	char                *file;              /* where it was defined, for messages */
	int                  line;
	char                *service;           /* "echo", "discard", ... (validated) */
	struct bind_conf    *binds;
	size_t               nbinds;
	int                  backlog;           /* default 511 */
	int                  reuse_port;        /* default no */
	uint64_t             max_connections;   /* 0 = only the global limit */
	uint64_t             idle_timeout_ms;   /* 0 = none; default 300s */
	mode_t               unix_mode;         /* default 0660 */

	/* Who may connect (access.c): lists checked at accept, per-source limits */
	struct config_list   allow;
	struct config_list   deny;
	char                *access_file;
	struct acl          *acl;               /* allow + deny + access_file; NULL: none */
	uint64_t             max_per_source;    /* 0 = none; default [server] */
	uint64_t             source_prefix_v4;  /* default [server], 32 */
	uint64_t             source_prefix_v6;  /* default [server], 64 */
	uint64_t             rate_per_source;   /* connections/s per source, 0 = none */
	uint64_t             burst;             /* of rate_per_source; default [server] */

	/* UDP (udp.c): every bind is udp:...; the keys below apply only then */
	int                  udp;
	uint64_t             udp_max_amplification; /* reply <= this x request; default [server] */
	uint64_t             udp_reply_rate;    /* replies/s per source, 0 = none; default [server] */
	uint64_t             udp_reply_bandwidth; /* reply bytes/s per source, 0 = none; [server] */
	uint64_t             udp_send_queue;    /* bytes queued while the socket is full; [server] */

	/* Per connection (conn.c) */
	uint64_t             max_bytes;         /* in + out; 0 = none */
	uint64_t             max_lifetime_ms;   /* 0 = none */
	uint64_t             rate_limit;        /* output bytes/s; 0 = none */

	/* Misbehaving on purpose (misbehave.h): delay, slicing, reset, stall, close */
	struct misbehave_conf misbehave;

	/* PROXY protocol (proxy.c): a balancer's header before anything else */
	enum proxy_mode      proxy_protocol;    /* default no */
	struct config_list   proxy_from;        /* balancers allowed to send it */
	struct acl          *proxy_acl;         /* proxy_from as a list */
	uint64_t             proxy_timeout_ms;  /* default 5s */

	/* The service's own options (service.h): its struct, filled from its keys */
	void                *svc_conf;
	size_t               svc_conf_size;

	/* TLS (tls.c); the strings are owned by the config, not by copies */
	int                  tls;               /* default no */
	char                *tls_cert;          /* PEM certificate chain; required with tls */
	char                *tls_key;           /* PEM private key; required with tls */
	char                *tls_ca;            /* PEM CAs for client certificates */
	enum tls_verify      tls_verify_client; /* default none; not none needs tls_ca */
	enum tls_min_version tls_min_version;   /* default TLS1.2 */
	char                *tls_ciphers;       /* TLS 1.2 cipher list */
	char                *tls_ciphersuites;  /* TLS 1.3 cipher suites */
	uint64_t             tls_handshake_timeout_ms; /* default 10s */
	int                  tls_session_tickets; /* default yes */
	enum tls_ktls        tls_ktls;          /* default no */
};

struct config {
	char                  *path;            /* NULL when running on built-in defaults */

	/* [server] */
	uint64_t               max_connections;       /* default 10000 */
	uint64_t               shutdown_timeout_ms;   /* default 30s */
	uint64_t               write_high_watermark;  /* default 256K */
	uint64_t               write_low_watermark;   /* default 64K; < high */
	uint64_t               linger_timeout_ms;     /* drain input after reply; default 2s */
	uint64_t               workers;               /* 0 = number of CPUs, at least 2 */
	uint64_t               job_queue_max;         /* default 1024 */
	uint64_t               job_timeout_ms;        /* default 30s */
	char                  *pidfile;               /* NULL: none with -f, else daemon.h's default */
	char                  *user;                  /* NULL: keep the starting user */
	char                  *group;                 /* NULL: the user's group */

	/* who may connect: daemon-wide, and the defaults of the listener keys */
	uint64_t               accept_rate;           /* new connections/s, all listeners; 0 none */
	uint64_t               accept_burst;          /* default: accept_rate */
	uint64_t               max_sources;           /* source table bound, default 100000 */
	uint64_t               source_expire_ms;      /* idle sources forgotten after, 60s */
	uint64_t               max_per_source;        /* default 0 (none) */
	uint64_t               source_prefix_v4;      /* default 32 */
	uint64_t               source_prefix_v6;      /* default 64 */
	uint64_t               rate_per_source;       /* default 0 (none) */
	uint64_t               burst;                 /* default 10 */

	/* UDP listeners: defaults of the listener keys of the same name */
	uint64_t               udp_max_amplification; /* default 1 */
	uint64_t               udp_reply_rate;        /* default 1000/s */
	uint64_t               udp_reply_bandwidth;   /* default 1M/s */
	uint64_t               udp_send_queue;        /* default 1M */

	/* [log] */
	enum log_level         log_level;             /* default info */
	int                    log_subsys_level[LOG_S_COUNT]; /* -1 = not set */
	char                  *log_target;            /* "stderr", "file:/path", "syslog" */
	char                  *log_facility;          /* default "daemon" */
	uint64_t               log_queue_size;        /* default 4096 records */
	int                    log_connections;       /* default no */

	/* [debug] (debug.h) */
	int                    debug_enabled;          /* default no */
	uint64_t               debug_slow_callback_ms; /* default 100 */
	uint64_t               debug_slowlog_size;     /* default 128 */
	uint64_t               debug_lag_threshold_ms; /* default 100 */

	/* [metrics] (metrics.h) */
	char                  *metrics_bind;          /* "" = off */
	uint64_t               metrics_max_connections; /* default 16 */
	uint64_t               metrics_request_timeout_ms; /* default 10s */

	struct listener_conf **listeners;
	size_t                 nlisteners;

	/* [server] values of service options (max_line, ...): defaults for their listeners */
	struct config_value   *server_svc;
	size_t                 nserver_svc;

	/* "FILE:LINE: ..." things that load but deserve a word (a key the service ignores) */
	char                 **warnings;
	size_t                 nwarnings;
};

/* A list of readable error messages: "FILE:LINE: [section] key: expected ..., got '...'". */
struct config_errors {
	char   **msgs;
	size_t   n;
};

/*
 * Load and validate `path`. On success returns 0 and *out. On failure returns
 * -1, *out is NULL and every error found is in errs (the caller frees it with
 * config_errors_free). A file that does not exist is an error here; main()
 * decides whether to fall back to config_default().
 */
int                   config_load(const char *path, struct config **out, struct config_errors *errs);
/* Parse from a string (tests); `name` is used in messages in place of a file name. */
int                   config_load_string(const char *name, const char *text, struct config **out,
                          struct config_errors *errs);
/* Built-in defaults: one echo listener on 127.0.0.1:7007. */
struct config        *config_default(void);
void                  config_free(struct config *cf);
void                  config_errors_free(struct config_errors *errs);

const struct listener_conf *config_find_listener(const struct config *cf, const char *name);
/*
 * A listener's service option as a number (sizes in bytes, durations in
 * ms, booleans and enums as 0/1/index): 0, or -1 when its service has no
 * such key or it is not numeric.
 */
int                   config_service_value(const struct listener_conf *lc, const char *key,
                          uint64_t *v);

/*
 * The effective configuration as ini text, every key of the key table in
 * table order: [server], [log], [debug], [metrics], then each [listener NAME]
 * in file order. A key that is not set (a path with no default, a log
 * subsystem that follows level) is a "; key (not set)" comment. Values are
 * written as they were loaded, byte for byte (not escaped). Loading the text
 * gives the same configuration, and dumping that gives the same text. The
 * caller frees it.
 */
char                 *config_dump(const struct config *cf);

/*
 * The key table, for documentation checks: calls cb for every accepted
 * "section.key" ("server.max_connections", "listener.bind", "log.level.SUBSYS" is
 * reported as "log.level.<subsystem>").
 */
void                  config_foreach_key(void (*cb)(const char *section, const char *key, void *arg),
                          void *arg);

#endif
