/*
 * service_chargen.c: character generator (RFC 864). Sends the 95-line
 * printable ring until the client goes away. Flow control: it produces only
 * while the connection is below the high watermark, a bounded amount per
 * callback, and otherwise waits for on_drain. Input is discarded. Over UDP,
 * each datagram gets the first 512 bytes of the pattern (fewer under the
 * amplification cap). Loop thread (the pattern functions are pure).
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "service.h"

/* Two cycles back to back: any window of up to one cycle is contiguous. */
static char chargen_cycle[2 * CHARGEN_CYCLE];
static int  chargen_ready;

/* Most bytes produced per callback, so one fast reader cannot hog the loop. */
#define CHARGEN_BURST (256 * 1024)

static void
chargen_build(void)
{
	size_t line, i;
	char *p = chargen_cycle;

	for (line = 0; line < CHARGEN_RING; line++) {
		for (i = 0; i < CHARGEN_LINE_CHARS; i++)
			*p++ = (char)(' ' + (line + i) % CHARGEN_RING);
		*p++ = '\r';
		*p++ = '\n';
	}
	memcpy(chargen_cycle + CHARGEN_CYCLE, chargen_cycle, CHARGEN_CYCLE);
	chargen_ready = 1;
}

/* The stream from byte `pos` on: one whole cycle, contiguous, never copied. */
static const char *
chargen_window(uint64_t pos)
{
	if (!chargen_ready)
		chargen_build();
	return chargen_cycle + pos % CHARGEN_CYCLE;
}

void
service_chargen_fill(uint64_t *pos, char *buf, size_t len)
{
	size_t n;

	while (len > 0) {
		n = len < CHARGEN_CYCLE ? len : CHARGEN_CYCLE;
		memcpy(buf, chargen_window(*pos), n);
		buf += n;
		len -= n;
		*pos += n;
	}
}

size_t
service_chargen_datagram(char *buf, size_t cap)
{
	uint64_t pos = 0;
	size_t n = cap < CHARGEN_DGRAM_MAX ? cap : CHARGEN_DGRAM_MAX;

	service_chargen_fill(&pos, buf, n);
	return n;
}

/*
 * RFC 864 over UDP: 0 to 512 characters per datagram. Under the cap the
 * reply is shorter, which is still a valid reply; the request is ignored.
 */
static enum service_dgram_result
chargen_on_datagram(const struct service_dgram *rq, const char **reply, size_t *rlen)
{
	*rlen = service_chargen_datagram(rq->out, rq->cap);
	*reply = rq->out;
	return *rlen < CHARGEN_DGRAM_MAX ? SERVICE_DG_SHORTENED : SERVICE_DG_REPLY;
}

/* The stream position (mod one cycle) lives in the service data: no allocation. */
static void
chargen_produce(struct conn *c)
{
	uint64_t pos = (uintptr_t)conn_svc_data(c);
	size_t produced = 0;

	while (conn_writable(c) && produced < CHARGEN_BURST) {
		conn_write(c, chargen_window(pos), CHARGEN_CYCLE);
		produced += CHARGEN_CYCLE;
	}
	conn_set_svc_data(c, (void *)(uintptr_t)((pos + produced) % CHARGEN_CYCLE));
	/* Everything may have gone straight to the socket: ask to be called when writable. */
	conn_want_drain(c);
}

static void
chargen_on_data(struct conn *c, const char *data, size_t len)
{
	/* RFC 864: data received is thrown away */
}

static void
chargen_on_eof(struct conn *c)
{
	/* The client only shut its write side: keep sending until it closes. */
}

const struct service service_chargen = {
	.name = "chargen",
	.on_open = chargen_produce,
	.on_data = chargen_on_data,
	.on_eof = chargen_on_eof,
	.on_drain = chargen_produce,
	.on_datagram = chargen_on_datagram,
};
