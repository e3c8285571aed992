/*
 * service_clock.c: daytime (RFC 867) and time (RFC 868). Both answer once
 * and close; the reply is never lost when the client already sent bytes:
 * conn_finish() writes, shuts the write side, drains input, then closes.
 * Over UDP each datagram, whatever it holds, is answered with the time; a
 * time that does not fit under the amplification cap is not sent at all (a
 * cut one would be wrong). Loop thread (formatters are pure).
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "service.h"

/* Seconds from 1900-01-01 to 1970-01-01. */
#define CLOCK_EPOCH_OFFSET 2208988800ULL

size_t
service_daytime_format(time_t t, int rfc3339, char *buf, size_t size)
{
	struct tm tm;
	size_t n;

	if (rfc3339) {
		gmtime_r(&t, &tm);
		n = strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ\r\n", &tm);
	} else {
		localtime_r(&t, &tm);
		n = strftime(buf, size, "%a %b %e %H:%M:%S %Y\r\n", &tm);
	}
	return n;
}

uint32_t
service_time_value(time_t t)
{
	return (uint32_t)(((uint64_t)t + CLOCK_EPOCH_OFFSET) & 0xffffffffULL);
}

static void
clock_on_data(struct conn *c, const char *data, size_t len)
{
	/* the request carries no meaning; input is drained and dropped */
}

/* The daytime service's options. */
enum daytime_format {
	DAYTIME_CTIME = 0,   /* "Fri Jul 10 22:19:13 2026" */
	DAYTIME_RFC3339,     /* "2026-07-10T22:19:13Z" */
};
struct daytime_conf {
	int	format;      /* enum daytime_format */
};
static const char *const daytime_formats[] = { "ctime", "rfc3339", NULL };
static const struct service_key daytime_keys[] = {
	{ "daytime_format", SERVICE_K_ENUM, offsetof(struct daytime_conf, format), 0, 0, "ctime",
	  daytime_formats, 0, NULL, NULL },
};

static void
daytime_on_open(struct conn *c)
{
	const struct daytime_conf *dc = conn_svc_conf(c);
	char line[64];
	size_t n;
	int rfc3339 = dc->format == DAYTIME_RFC3339;

	n = service_daytime_format(time(NULL), rfc3339, line, sizeof(line));
	conn_write(c, line, n);
	conn_finish(c);
}

/* RFC 867 over UDP: the same line as over TCP. */
static enum service_dgram_result
daytime_on_datagram(const struct service_dgram *rq, const char **reply, size_t *rlen)
{
	const struct daytime_conf *dc = rq->conf;
	size_t n;

	n = service_daytime_format(rq->now, dc != NULL && dc->format == DAYTIME_RFC3339, rq->out,
	    SERVICE_DGRAM_SCRATCH);
	if (n > rq->cap)
		return SERVICE_DG_OVER_CAP;
	*reply = rq->out;
	*rlen = n;
	return SERVICE_DG_REPLY;
}

/* The 32-bit time in network byte order. */
static void
time_bytes(time_t now, unsigned char b[4])
{
	uint32_t v = service_time_value(now);

	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static void
time_on_open(struct conn *c)
{
	unsigned char b[4];

	time_bytes(time(NULL), b);
	conn_write(c, b, sizeof(b));
	conn_finish(c);
}

/* RFC 868 over UDP: four bytes. */
static enum service_dgram_result
time_on_datagram(const struct service_dgram *rq, const char **reply, size_t *rlen)
{
	if (rq->cap < 4)
		return SERVICE_DG_OVER_CAP;
	time_bytes(rq->now, (unsigned char *)rq->out);
	*reply = rq->out;
	*rlen = 4;
	return SERVICE_DG_REPLY;
}

const struct service service_daytime = {
	.name = "daytime",
	.keys = daytime_keys,
	.nkeys = sizeof(daytime_keys) / sizeof(daytime_keys[0]),
	.conf_size = sizeof(struct daytime_conf),
	.on_open = daytime_on_open,
	.on_data = clock_on_data,
	.on_datagram = daytime_on_datagram,
};

const struct service service_time = {
	.name = "time",
	.on_open = time_on_open,
	.on_data = clock_on_data,
	.on_datagram = time_on_datagram,
};
