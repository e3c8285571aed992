/*
 * service.h: the protocol handlers. Each service is a small table of
 * callbacks that conn.c calls on the loop thread. A service never touches the
 * socket: it reads what conn.c hands it and writes with conn_write().
 */
#ifndef ECHOD_SERVICE_H
#define ECHOD_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conn;

struct service {
	const char *name;
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
	/* The connection is closing: release service state (c->svc_data). */
	void (*on_close)(struct conn *c);
};

/* Look a service up by name; NULL if unknown. */
const struct service *service_find(const char *name);
/* Space-separated list of known service names, for error messages. */
const char           *service_names(void);

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
