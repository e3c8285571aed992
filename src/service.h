/*
 * service.h: the protocol handlers. Each service is a small table of
 * callbacks that conn.c calls on the loop thread, and a table of the
 * options it owns. A service never touches the socket: it reads what
 * conn.c hands it and writes with conn_write(); writing never closes the
 * connection under it (conn.h), so a service needs no "still alive?"
 * checks: its state lives until on_close.
 *
 * Options: a service declares its keys (struct service_key); config.c
 * accepts them in a [listener] section of that service and, for keys marked
 * SERVICE_K_SERVER, in [server] as the default of every such listener. The
 * values land in the service's own options struct (plain data, no pointers:
 * it is copied), which the service reads in on_open (conn_svc_conf()).
 *
 * This header is the interface only: it sits below config.c, which looks
 * services up here; the implementations (service_*.c) sit above conn.c.
 */
#ifndef ECHOD_SERVICE_H
#define ECHOD_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conn;
struct sockaddr;

enum service_key_type {
	SERVICE_K_UINT = 0,	/* a number from min to max */
	SERVICE_K_SIZE,		/* bytes, K/M/G suffixes */
	SERVICE_K_DURATION,	/* milliseconds, ms/s/m/h suffixes */
	SERVICE_K_BOOL,		/* int */
	SERVICE_K_ENUM,		/* int: index of the value in names[] */
	SERVICE_K_CUSTOM,	/* parse() */
};

#define SERVICE_K_SERVER	0x1	/* also a [server] key: the default for every listener */

struct service_key {
	const char		*name;
	enum service_key_type	 type;
	size_t			 off;		/* field in the service's options struct */
	uint64_t		 min, max;	/* UINT, SIZE, DURATION */
	const char		*def;		/* default, as it would be written */
	const char *const	*names;		/* ENUM: NULL-terminated accepted words */
	unsigned		 flags;		/* SERVICE_K_* */
	/* CUSTOM: parse value into field; -1 with what was expected in *expect. */
	int			(*parse)(const char *value, void *field, const char **expect);
	/* CUSTOM: the field as it would be written (config dumps); returns buf. */
	const char		*(*format)(const void *field, char *buf, size_t size);
};

/*
 * Datagram services (the UDP sections of RFC 862-868): one request, at most
 * one reply, a pure function of the request, the service's options and the
 * time. Any thread. `cap` is the longest reply allowed (the listener's
 * amplification cap); `out` is scratch space of SERVICE_DGRAM_SCRATCH bytes
 * for a reply that is not the request itself.
 */
#define SERVICE_DGRAM_SCRATCH	512
struct service_dgram {
	const char	*data;		/* the request's payload */
	size_t		 len;
	size_t		 cap;		/* longest reply allowed */
	time_t		 now;
	const void	*conf;		/* the service's options (struct service conf_size) */
	char		*out;		/* SERVICE_DGRAM_SCRATCH bytes */
};
enum service_dgram_result {
	SERVICE_DG_NONE = 0,	/* no reply (discard) */
	SERVICE_DG_REPLY,	/* *reply and *rlen: the reply (it may point into the request) */
	SERVICE_DG_SHORTENED,	/* the same, cut to cap: still a whole reply (chargen's length) */
	SERVICE_DG_OVER_CAP,	/* the reply is longer than cap and has no shorter form: none */
};

/* struct service flags */
#define SERVICE_F_OPERATOR	0x1	/* the admin console: outside [server] max_connections,
					   unix sockets 0600 by default */

struct service {
	const char *name;
	unsigned    flags;		/* SERVICE_F_* */
	/* The options: keys, and the size of the struct they fill. */
	const struct service_key *keys;
	size_t      nkeys;
	size_t      conf_size;
	/* Optional: may a listener of this service bind `sa`? 0 yes; -1 and what is expected. */
	int  (*check_bind)(const void *conf, const struct sockaddr *sa, const char **expect);
	/* Connection accepted and set up. May write, may call conn_finish(). */
	void (*on_open)(struct conn *c);
	/* Bytes read from the peer (valid only during the call). */
	void (*on_data)(struct conn *c, const char *data, size_t len);
	/* The peer shut down its write side. NULL: conn_finish(c). */
	void (*on_eof)(struct conn *c);
	/* Pending output fell below the low watermark (producers refill). */
	void (*on_drain)(struct conn *c);
	/* Graceful server shutdown began. NULL: conn_finish(c). */
	void (*on_shutdown)(struct conn *c);
	/* The connection is closing: release service state (conn_svc_data()). */
	void (*on_close)(struct conn *c);
	/* Datagrams (UDP listeners); NULL: the service is stream-only. */
	enum service_dgram_result (*on_datagram)(const struct service_dgram *rq,
	    const char **reply, size_t *rlen);
};

/* Look a service up by name; NULL if unknown. */
const struct service *service_find(const char *name);
/* Space-separated list of known service names, for error messages. */
const char           *service_names(void);
/* Every service, for key lookups: NULL after the last. */
const struct service *service_at(size_t i);
/* The key `name` of `svc`, or NULL. */
const struct service_key *service_key_find(const struct service *svc, const char *name);

/*
 * Pure generators (any thread; unit-tested).
 * chargen: RFC 864 lines of 72 printable characters (ASCII 32..126) + CRLF;
 * line N starts at character N mod 95. `*pos` is the byte offset in the
 * endless stream; fills `len` bytes of it into buf and advances *pos.
 */
#define CHARGEN_LINE_CHARS 72
#define CHARGEN_LINE_LEN   74
#define CHARGEN_RING       95
#define CHARGEN_CYCLE      (CHARGEN_RING * CHARGEN_LINE_LEN)   /* 7030 bytes */
void     service_chargen_fill(uint64_t *pos, char *buf, size_t len);
/*
 * chargen over UDP: RFC 864 lets a reply carry 0 to 512 characters; echod
 * always answers with the longest, the first 512 bytes of the stream above
 * (six lines and 68 characters of the seventh), cut to `cap` when that is
 * less. Returns the length written into buf (at least CHARGEN_DGRAM_MAX bytes).
 */
#define CHARGEN_DGRAM_MAX  512
size_t   service_chargen_datagram(char *buf, size_t cap);
/* daytime: one line with CRLF into buf (at least 64 bytes); returns its length. */
size_t   service_daytime_format(time_t t, int rfc3339, char *buf, size_t size);
/* time (RFC 868): seconds since 1900-01-01 00:00 UTC, mod 2^32. */
uint32_t service_time_value(time_t t);

extern const struct service service_echo;
extern const struct service service_discard;
extern const struct service service_chargen;
extern const struct service service_daytime;
extern const struct service service_time;
extern const struct service service_command;
extern const struct service service_admin;

#endif
