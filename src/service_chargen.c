/*
 * service_chargen.c: character generator (RFC 864). Sends the 95-line
 * printable ring until the client goes away. Flow control: it produces only
 * while the connection's pending output is below the high watermark, a
 * bounded amount per callback, and otherwise waits for on_drain. Input is
 * discarded. Loop thread.
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

void
service_chargen_fill(uint64_t *pos, char *buf, size_t len)
{
	size_t off, n;

	if (!chargen_ready)
		chargen_build();
	while (len > 0) {
		off = (size_t)(*pos % CHARGEN_CYCLE);
		n = len < CHARGEN_CYCLE ? len : CHARGEN_CYCLE;
		memcpy(buf, chargen_cycle + off, n);
		buf += n;
		len -= n;
		*pos += n;
	}
}

/* The stream position (mod one cycle) lives in svc_data: no allocation. */
static void
chargen_produce(struct conn *c)
{
	size_t off = (size_t)(uintptr_t)c->svc_data;
	size_t produced = 0, n;

	if (!chargen_ready)
		chargen_build();
	while (conn_is_alive(c) && c->state == CONN_S_OPEN &&
	    conn_pending(c) < conn_high_watermark() && produced < CHARGEN_BURST) {
		n = CHARGEN_CYCLE;
		conn_write(c, chargen_cycle + off, n);
		produced += n;
	}
	c->svc_data = (void *)(uintptr_t)((off + produced) % CHARGEN_CYCLE);
	/* Everything went straight to the socket: ask to be called when writable. */
	if (conn_is_alive(c) && c->state == CONN_S_OPEN)
		conn_want_drain(c);
}

static void
chargen_on_open(struct conn *c)
{
	c->svc_data = (void *)(uintptr_t)0;
	chargen_produce(c);
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
	.on_open = chargen_on_open,
	.on_data = chargen_on_data,
	.on_eof = chargen_on_eof,
	.on_drain = chargen_produce,
};
