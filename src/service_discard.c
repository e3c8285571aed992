/*
 * service_discard.c: discard (RFC 863). Reads and drops everything, never
 * writes, closes after the client's EOF; over UDP, never answers. Loop
 * thread.
 */
#include "autoconf.h"

#include "conn.h"
#include "service.h"

static void
discard_on_data(struct conn *c, const char *data, size_t len)
{
	/* dropped; conn.c has already counted the bytes */
}

/* RFC 863 over UDP: nothing is sent in response. */
static enum service_dgram_result
discard_on_datagram(const struct service_dgram *rq, const char **reply, size_t *rlen)
{
	return SERVICE_DG_NONE;
}

const struct service service_discard = {
	.name = "discard",
	.on_data = discard_on_data,
	.on_datagram = discard_on_datagram,
};
