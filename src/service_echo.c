/*
 * service_echo.c: echo (RFC 862). Every byte read is written back,
 * byte-exact, no line buffering. Backpressure is conn.c's: when the output
 * passes the high watermark, reading stops. Over UDP, each datagram is
 * returned unchanged. Loop thread.
 */
#include "autoconf.h"

#include "conn.h"
#include "service.h"

static void
echo_on_data(struct conn *c, const char *data, size_t len)
{
	conn_write(c, data, len);
}

/* RFC 862 over UDP: the datagram goes back unchanged (never above cap: cap >= len). */
static enum service_dgram_result
echo_on_datagram(const struct service_dgram *rq, const char **reply, size_t *rlen)
{
	if (rq->len > rq->cap)
		return SERVICE_DG_OVER_CAP;
	*reply = rq->data;
	*rlen = rq->len;
	return SERVICE_DG_REPLY;
}

const struct service service_echo = {
	.name = "echo",
	.on_data = echo_on_data,
	.on_datagram = echo_on_datagram,
	/* on_eof NULL: flush what is owed, then close (half-close). */
};
