/*
 * service_discard.c: discard (RFC 863). Reads and drops everything, never
 * writes, closes after the client's EOF. Loop thread.
 */
#include "autoconf.h"

#include "conn.h"
#include "service.h"

static void
discard_on_data(struct conn *c, const char *data, size_t len)
{
	/* dropped; conn.c has already counted the bytes */
}

const struct service service_discard = {
	.name = "discard",
	.on_data = discard_on_data,
};
