/*
 * fuzz_addr.c: libFuzzer harness for bind specifications (addr_parse) and
 * their formatting (addr_format). The input is one spec, up to its first NUL.
 *
 * Invariants:
 *   - a spec gives 1 address, or 2 for "*:PORT" (0.0.0.0 then ::, one port),
 *     or -1 with a non-empty reason;
 *   - each address has a family the daemon binds (inet, inet6, unix) and the
 *     socket length of that family;
 *   - its formatted form parses back to exactly the same address, and is a
 *     fixed point (formatting that again gives the same string);
 *   - formatting into any smaller buffer gives a NUL-terminated prefix;
 *   - addr_port and addr_is_local agree with the spec's port and address.
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include "addr.h"
#include "fuzz.h"

static int
fuzz_addr_same(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && a->ss.ss_family == b->ss.ss_family &&
	    memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* Loopback as addr.h defines it: 127/8, ::1, ::ffff:127/104, or a unix socket. */
static int
fuzz_addr_ref_local(const struct addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t one[16] = { [15] = 1 };

	switch (a->ss.ss_family) {
	case AF_INET:
		return ((const uint8_t *)&sin->sin_addr)[0] == 127;
	case AF_INET6:
		return memcmp(&sin6->sin6_addr, one, 16) == 0 ||
		    (memcmp(&sin6->sin6_addr, mapped, 12) == 0 &&
		    ((const uint8_t *)&sin6->sin6_addr)[12] == 127);
	default:
		return 1;
	}
}

static void
fuzz_addr_check_one(const char *spec, const struct addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char buf[ADDR_STRLEN], again[ADDR_STRLEN], *small;
	struct addr back[ADDR_MAX_PER_SPEC];
	const char *why = NULL;
	size_t n, size;

	switch (a->ss.ss_family) {
	case AF_INET:
		FUZZ_CHECK(a->len == sizeof(struct sockaddr_in), "'%s': inet length %u", spec,
		    (unsigned)a->len);
		break;
	case AF_INET6:
		FUZZ_CHECK(a->len == sizeof(struct sockaddr_in6), "'%s': inet6 length %u", spec,
		    (unsigned)a->len);
		break;
	case AF_UNIX:
		FUZZ_CHECK(a->len == offsetof(struct sockaddr_un, sun_path) +
		    strlen(((const struct sockaddr_un *)sa)->sun_path) + 1 &&
		    a->len <= sizeof(struct sockaddr_un), "'%s': unix length %u", spec,
		    (unsigned)a->len);
		FUZZ_CHECK(addr_port(sa) == 0, "'%s': a unix socket with a port", spec);
		break;
	default:
		FUZZ_CHECK(0, "'%s': family %d", spec, (int)a->ss.ss_family);
	}
	FUZZ_CHECK(addr_is_local(sa) == fuzz_addr_ref_local(a), "'%s': addr_is_local says %d",
	    spec, addr_is_local(sa));

	addr_format(sa, a->len, buf, sizeof(buf));
	n = strlen(buf);
	FUZZ_CHECK(n + 1 < sizeof(buf), "'%s' formats to %zu bytes", spec, n);
	FUZZ_CHECK(addr_parse(buf, back, &why) == 1, "'%s' formats to '%s', which does not "
	    "parse: %s", spec, buf, why != NULL ? why : "?");
	FUZZ_CHECK(fuzz_addr_same(a, &back[0]), "'%s' formats to '%s', which parses to "
	    "another address", spec, buf);
	addr_format((const struct sockaddr *)&back[0].ss, back[0].len, again, sizeof(again));
	FUZZ_CHECK(strcmp(buf, again) == 0, "'%s' formats to '%s', then to '%s'", spec, buf,
	    again);

	/* Every shorter buffer: a NUL-terminated prefix, nothing written past it. */
	for (size = 1; size <= n; size++) {
		small = xmalloc(size);
		addr_format(sa, a->len, small, size);
		FUZZ_CHECK(strlen(small) == size - 1 && strncmp(small, buf, size - 1) == 0,
		    "'%s' into %zu bytes gives '%s'", buf, size, small);
		free(small);
	}
}

/* The digits after the last ':' of the spec, as the port must read. */
static long
fuzz_addr_ref_port(const char *spec)
{
	const char *colon = strrchr(spec, ':');

	return colon != NULL ? strtol(colon + 1, NULL, 10) : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_cstring(data, size);
	struct addr out[ADDR_MAX_PER_SPEC];
	const char *why = NULL;
	const char *wild;
	int n, i;

	memset(out, 0xa5, sizeof(out));
	n = addr_parse(spec, out, &why);
	if (n == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0', "'%s' refused without a reason", spec);
		free(spec);
		return 0;
	}
	FUZZ_CHECK(n == 1 || n == 2, "'%s' gives %d addresses", spec, n);
	for (i = 0; i < n; i++) {
		fuzz_addr_check_one(spec, &out[i]);
		if (out[i].ss.ss_family != AF_UNIX)
			FUZZ_CHECK(addr_port((const struct sockaddr *)&out[i].ss) ==
			    fuzz_addr_ref_port(spec), "'%s': port %d", spec,
			    addr_port((const struct sockaddr *)&out[i].ss));
	}
	if (n == 2) {
		/* "*:P" and "udp:*:P": IPv4 and IPv6 on the same port */
		wild = strncmp(spec, "udp:", 4) == 0 ? spec + 4 : spec;
		FUZZ_CHECK(wild[0] == '*' && wild[1] == ':', "'%s' gives two addresses", spec);
		FUZZ_CHECK(out[0].ss.ss_family == AF_INET && out[1].ss.ss_family == AF_INET6,
		    "'%s': families %d, %d", spec, out[0].ss.ss_family, out[1].ss.ss_family);
		FUZZ_CHECK(!addr_is_local((const struct sockaddr *)&out[0].ss) &&
		    !addr_is_local((const struct sockaddr *)&out[1].ss), "'%s' is local", spec);
	}
	free(spec);
	return 0;
}
