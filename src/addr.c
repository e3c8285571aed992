/*
 * addr.c: parsing and formatting of listener addresses. Pure functions with
 * no state and no logging; any thread. Only numeric addresses are accepted:
 * nothing here resolves names.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define ADDR_UNIX_PREFIX "unix:"
#define ADDR_UDP_PREFIX  "udp:"

/* Decimal port, 0..65535, digits only. */
static int
addr_parse_port(const char *s, in_port_t *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	*out = htons((in_port_t)v);
	return 0;
}

static void
addr_set_in(struct addr *a, const struct in_addr *ia, in_port_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	a->socktype = SOCK_STREAM;
	sin->sin_family = AF_INET;
	sin->sin_addr = *ia;
	sin->sin_port = port;
	a->len = sizeof(*sin);
}

static void
addr_set_in6(struct addr *a, const struct in6_addr *ia6, in_port_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	a->socktype = SOCK_STREAM;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = *ia6;
	sin6->sin6_port = port;
	a->len = sizeof(*sin6);
}

/* "unix:/absolute/path" */
static int
addr_parse_unix(const char *path, struct addr *out, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (path[0] != '/') {
		*why = "expected an absolute path after 'unix:', as in unix:/run/echod.sock";
		return -1;
	}
	if (n >= sizeof(sun->sun_path)) {
		*why = "expected a unix socket path shorter than 108 bytes";
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->socktype = SOCK_STREAM;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 1;
}

/* "[v6]:port" */
static int
addr_parse_bracket(const char *spec, struct addr *out, const char **why)
{
	const char *close = strchr(spec, ']');
	char host[INET6_ADDRSTRLEN];
	struct in6_addr ia6;
	in_port_t port;
	size_t n;

	if (close == NULL || close[1] != ':') {
		*why = "expected [IPV6]:PORT, as in [::1]:7007";
		return -1;
	}
	n = (size_t)(close - spec - 1);
	if (n == 0 || n >= sizeof(host)) {
		*why = "expected a numeric IPv4/IPv6 address";
		return -1;
	}
	memcpy(host, spec + 1, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, &ia6) != 1) {
		*why = "expected a numeric IPv4/IPv6 address";
		return -1;
	}
	if (addr_parse_port(close + 2, &port) == -1) {
		*why = "expected a port number from 0 to 65535";
		return -1;
	}
	addr_set_in6(out, &ia6, port);
	return 1;
}

/* "*:port": the IPv4 and the IPv6 wildcard, in that order. */
static int
addr_parse_any(const char *portstr, struct addr *out, const char **why)
{
	struct in_addr any4 = { .s_addr = htonl(INADDR_ANY) };
	in_port_t port;

	if (addr_parse_port(portstr, &port) == -1) {
		*why = "expected a port number from 0 to 65535";
		return -1;
	}
	addr_set_in(&out[0], &any4, port);
	addr_set_in6(&out[1], &in6addr_any, port);
	return 2;
}

/* "a.b.c.d:port" */
static int
addr_parse_ipv4(const char *spec, struct addr *out, const char **why)
{
	const char *colon = strchr(spec, ':');
	char host[INET_ADDRSTRLEN];
	struct in_addr ia;
	in_port_t port;
	size_t n;

	if (colon == NULL) {
		*why = "expected ADDRESS:PORT, as in 127.0.0.1:7007, [::1]:7007, *:7007 or unix:/path";
		return -1;
	}
	if (strchr(colon + 1, ':') != NULL) {
		*why = "expected brackets around an IPv6 address, as in [::1]:7007";
		return -1;
	}
	n = (size_t)(colon - spec);
	if (n == 0 || n >= sizeof(host)) {
		*why = "expected a numeric IPv4/IPv6 address";
		return -1;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &ia) != 1) {
		*why = "expected a numeric IPv4/IPv6 address";
		return -1;
	}
	if (addr_parse_port(colon + 1, &port) == -1) {
		*why = "expected a port number from 0 to 65535";
		return -1;
	}
	addr_set_in(out, &ia, port);
	return 1;
}

/* An IP address and port: "a.b.c.d:port", "[v6]:port" or "*:port". */
static int
addr_parse_inet(const char *spec, struct addr *out, const char **why)
{
	size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

	/* "tcp:", "UDP:": a prefix this parser does not know ("beef:" could start IPv6). */
	if (n > 0 && spec[n] == ':' && strchr(spec + n + 1, ':') != NULL &&
	    strspn(spec, "abcdefABCDEF") < n) {
		*why = "expected udp: or unix: (in lower case) or a numeric address, as in "
		    "udp:127.0.0.1:7007";
		return -1;
	}
	if (spec[0] == '[')
		return addr_parse_bracket(spec, out, why);
	if (spec[0] == '*' && spec[1] == ':')
		return addr_parse_any(spec + 2, out, why);
	return addr_parse_ipv4(spec, out, why);
}

/* "udp:" and an IP address: datagram sockets (no unix datagram sockets). */
static int
addr_parse_udp(const char *spec, struct addr *out, const char **why)
{
	int i, n;

	if (strncmp(spec, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0 || *spec == '\0') {
		*why = "expected an IP address and port after 'udp:', as in udp:127.0.0.1:7007, "
		    "udp:[::1]:7007 or udp:*:7007";
		return -1;
	}
	if ((n = addr_parse_inet(spec, out, why)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		out[i].socktype = SOCK_DGRAM;
	return n;
}

int
addr_parse(const char *spec, struct addr *out, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (spec == NULL || *spec == '\0') {
		*why = "expected an address such as 127.0.0.1:7007, [::1]:7007, *:7007 or unix:/path";
		return -1;
	}
	if (strncmp(spec, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0)
		return addr_parse_unix(spec + strlen(ADDR_UNIX_PREFIX), out, why);
	if (strncmp(spec, ADDR_UDP_PREFIX, strlen(ADDR_UDP_PREFIX)) == 0)
		return addr_parse_udp(spec + strlen(ADDR_UDP_PREFIX), out, why);
	return addr_parse_inet(spec, out, why);
}

static char *
addr_format_unix(const struct sockaddr_un *sun, socklen_t len, char *buf, size_t size)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t max;

	if (len <= off) {
		snprintf(buf, size, "unix");
		return buf;
	}
	max = (size_t)len - off;
	if (max > sizeof(sun->sun_path))
		max = sizeof(sun->sun_path);
	if (sun->sun_path[0] == '\0')   /* Linux abstract namespace */
		snprintf(buf, size, "unix:@%.*s", (int)strnlen(sun->sun_path + 1, max - 1),
		    sun->sun_path + 1);
	else
		snprintf(buf, size, "unix:%.*s", (int)strnlen(sun->sun_path, max), sun->sun_path);
	return buf;
}

char *
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (size == 0)
		return buf;
	if (sa == NULL || len < sizeof(sa_family_t)) {
		snprintf(buf, size, "unknown");
		return buf;
	}
	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%d", host, addr_port(sa));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%d", host, addr_port(sa));
		break;
	case AF_UNIX:
		return addr_format_unix((const struct sockaddr_un *)sa, len, buf, size);
	default:
		snprintf(buf, size, "family-%d", (int)sa->sa_family);
		break;
	}
	return buf;
}

int
addr_port(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	default:
		return 0;
	}
}

/* IPv4 (host order): 0.0.0.0/8, or 224.0.0.0/3 (multicast, reserved, broadcast). */
static int
addr_v4_not_unicast(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 29) == 7;
}

int
addr_is_unicast(const struct sockaddr *sa)
{
	const struct in6_addr *ia6;
	uint32_t v4;

	switch (sa->sa_family) {
	case AF_INET:
		return !addr_v4_not_unicast(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	case AF_INET6:
		ia6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(ia6)) {
			memcpy(&v4, &ia6->s6_addr[12], sizeof(v4));
			return !addr_v4_not_unicast(ntohl(v4));
		}
		return !IN6_IS_ADDR_UNSPECIFIED(ia6) && !IN6_IS_ADDR_MULTICAST(ia6);
	default:
		return 0;
	}
}

int
addr_is_local(const struct sockaddr *sa)
{
	const struct in6_addr *ia6;

	switch (sa->sa_family) {
	case AF_INET:
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		ia6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(ia6))
			return 1;
		/* ::ffff:127.x.y.z, as seen on a dual-stack socket */
		return IN6_IS_ADDR_V4MAPPED(ia6) && ia6->s6_addr[12] == 127;
	case AF_UNIX:
		return 1;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------- prefix keys */

void
addr_key_v4(uint64_t key[2], const struct in_addr *ia)
{
	key[0] = (uint64_t)ntohl(ia->s_addr) << 32;
	key[1] = 0;
}

void
addr_key_v6(uint64_t key[2], const struct in6_addr *ia6)
{
	int i;

	key[0] = key[1] = 0;
	for (i = 0; i < 8; i++) {
		key[0] = (key[0] << 8) | ia6->s6_addr[i];
		key[1] = (key[1] << 8) | ia6->s6_addr[8 + i];
	}
}

int
addr_key_of(const struct sockaddr *sa, uint64_t key[2])
{
	const struct sockaddr_in6 *sin6;

	switch (sa->sa_family) {
	case AF_INET:
		addr_key_v4(key, &((const struct sockaddr_in *)sa)->sin_addr);
		return 4;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		addr_key_v6(key, &sin6->sin6_addr);
		if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return 6;
		key[0] = key[1] << 32;
		key[1] = 0;
		return 4;
	default:
		return -1;
	}
}

void
addr_key_mask(uint64_t out[2], const uint64_t in[2], unsigned plen)
{
	if (plen == 0)
		out[0] = 0;
	else if (plen >= 64)
		out[0] = in[0];
	else
		out[0] = in[0] & (~0ULL << (64 - plen));
	if (plen <= 64)
		out[1] = 0;
	else if (plen >= 128)
		out[1] = in[1];
	else
		out[1] = in[1] & (~0ULL << (128 - plen));
}

void
addr_key_format(char *buf, size_t size, int fam, const uint64_t key[2], unsigned plen)
{
	char a[INET6_ADDRSTRLEN];
	struct in6_addr ia6;
	struct in_addr ia;
	uint64_t k0 = key[0], k1 = key[1];
	int i;

	if (fam == 4) {
		ia.s_addr = htonl((uint32_t)(k0 >> 32));
		inet_ntop(AF_INET, &ia, a, sizeof(a));
	} else {
		for (i = 7; i >= 0; i--) {
			ia6.s6_addr[i] = (uint8_t)k0;
			ia6.s6_addr[8 + i] = (uint8_t)k1;
			k0 >>= 8;
			k1 >>= 8;
		}
		inet_ntop(AF_INET6, &ia6, a, sizeof(a));
	}
	if (plen == (fam == 4 ? 32U : 128U))
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%u", a, plen);
}
