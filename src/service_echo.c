/*
 * service_echo.c: echo (RFC 862). Every byte read is written back,
 * byte-exact, no line buffering. Backpressure is conn.c's: when the output
 * passes the high watermark, reading stops. Loop thread.
 */
#include "autoconf.h"

#include "conn.h"
#include "service.h"

static void
echo_on_data(struct conn *c, const char *data, size_t len)
{
	conn_write(c, data, len);
}

const struct service service_echo = {
	.name = "echo",
	.on_data = echo_on_data,
	/* on_eof NULL: flush what is owed, then close (half-close). */
};
