/*
 * check_addr.c: unit tests for addr.c (bind spec parsing and formatting).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

/* Parse spec, expect n addresses, and format the first one. */
static void
check_parse_ok(const char *spec, int n, const char *formatted)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	char buf[ADDR_STRLEN];
	const char *why = NULL;
	int got;

	got = addr_parse(spec, a, &why);
	ck_assert_msg(got == n, "%s: got %d addresses (%s), want %d", spec, got,
	    why ? why : "-", n);
	addr_format((struct sockaddr *)&a[0].ss, a[0].len, buf, sizeof(buf));
	ck_assert_str_eq(buf, formatted);
}

/* Parse spec, expect failure whose explanation contains `want`. */
static void
check_parse_bad(const char *spec, const char *want)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	const char *why = NULL;

	ck_assert_msg(addr_parse(spec, a, &why) == -1, "'%s' was accepted", spec);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want) != NULL, "'%s': why='%s', want '%s'", spec, why, want);
}

START_TEST(test_ipv4)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a[0].ss;

	check_parse_ok("127.0.0.1:7007", 1, "127.0.0.1:7007");
	check_parse_ok("0.0.0.0:0", 1, "0.0.0.0:0");
	check_parse_ok("10.1.2.3:65535", 1, "10.1.2.3:65535");
	ck_assert_int_eq(addr_parse("192.168.0.1:80", a, NULL), 1);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 80);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0xc0a80001u);
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(test_ipv6)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a[0].ss;

	check_parse_ok("[::1]:7007", 1, "[::1]:7007");
	check_parse_ok("[::]:80", 1, "[::]:80");
	check_parse_ok("[2001:db8::1]:0", 1, "[2001:db8::1]:0");
	check_parse_ok("[::ffff:127.0.0.1]:9", 1, "[::ffff:127.0.0.1]:9");
	ck_assert_int_eq(addr_parse("[::1]:443", a, NULL), 1);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 443);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_in6));
}
END_TEST

START_TEST(test_wildcard)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	char buf[ADDR_STRLEN];
	const char *why = NULL;

	ck_assert_int_eq(addr_parse("*:7007", a, &why), 2);
	addr_format((struct sockaddr *)&a[0].ss, a[0].len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.0.0.0:7007");
	addr_format((struct sockaddr *)&a[1].ss, a[1].len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::]:7007");
	ck_assert_int_eq(addr_port((struct sockaddr *)&a[1].ss), 7007);
	check_parse_bad("*:", "port number");
	check_parse_bad("*:70000", "port number");
	check_parse_bad("*", "expected ADDRESS:PORT");
}
END_TEST

START_TEST(test_unix)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a[0].ss;
	char path[sizeof(sun->sun_path) + 8];
	char spec[sizeof(path) + 8];

	check_parse_ok("unix:/run/echod.sock", 1, "unix:/run/echod.sock");
	ck_assert_int_eq(addr_parse("unix:/tmp/x", a, NULL), 1);
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/tmp/x");
	ck_assert_uint_eq(a[0].len, offsetof(struct sockaddr_un, sun_path) + strlen("/tmp/x") + 1);
	ck_assert_int_eq(addr_port((struct sockaddr *)&a[0].ss), 0);

	/* The longest path that fits sun_path with its NUL, then one byte more. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(sun->sun_path) - 1] = '\0';
	snprintf(spec, sizeof(spec), "unix:%s", path);
	ck_assert_int_eq(addr_parse(spec, a, NULL), 1);
	path[sizeof(sun->sun_path) - 1] = 'a';
	path[sizeof(sun->sun_path)] = '\0';
	snprintf(spec, sizeof(spec), "unix:%s", path);
	check_parse_bad(spec, "shorter than");

	check_parse_bad("unix:", "absolute path");
	check_parse_bad("unix:relative/x", "absolute path");
}
END_TEST

START_TEST(test_udp)
{
	struct addr a[ADDR_MAX_PER_SPEC];
	char buf[ADDR_STRLEN];

	check_parse_ok("udp:127.0.0.1:7007", 1, "127.0.0.1:7007");
	ck_assert_int_eq(addr_parse("udp:127.0.0.1:7", a, NULL), 1);
	ck_assert_int_eq(a[0].socktype, SOCK_DGRAM);
	ck_assert_int_eq(a[0].ss.ss_family, AF_INET);
	ck_assert_int_eq(addr_parse("udp:[::1]:9", a, NULL), 1);
	ck_assert_int_eq(a[0].socktype, SOCK_DGRAM);
	ck_assert_int_eq(a[0].ss.ss_family, AF_INET6);
	ck_assert_int_eq(addr_port((struct sockaddr *)&a[0].ss), 9);
	ck_assert_int_eq(addr_parse("udp:*:19", a, NULL), 2);
	ck_assert_int_eq(a[0].socktype, SOCK_DGRAM);
	ck_assert_int_eq(a[1].socktype, SOCK_DGRAM);
	addr_format((struct sockaddr *)&a[1].ss, a[1].len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::]:19");

	/* Everything else is a stream. */
	ck_assert_int_eq(addr_parse("127.0.0.1:7", a, NULL), 1);
	ck_assert_int_eq(a[0].socktype, SOCK_STREAM);
	ck_assert_int_eq(addr_parse("*:7", a, NULL), 2);
	ck_assert_int_eq(a[1].socktype, SOCK_STREAM);
	ck_assert_int_eq(addr_parse("unix:/x", a, NULL), 1);
	ck_assert_int_eq(a[0].socktype, SOCK_STREAM);

	check_parse_bad("udp:", "IP address and port after 'udp:'");
	check_parse_bad("udp:unix:/run/x", "IP address and port after 'udp:'");
	check_parse_bad("udp:localhost:7", "numeric IPv4/IPv6 address");
	check_parse_bad("udp:127.0.0.1", "ADDRESS:PORT");
	check_parse_bad("udp:[::1]:70000", "port number from 0 to 65535");
	check_parse_bad("udp:udp:127.0.0.1:7", "expected udp: or unix:");
	check_parse_bad("tcp:127.0.0.1:7", "expected udp: or unix:");
	check_parse_bad("UDP:127.0.0.1:7", "in lower case");
}
END_TEST

START_TEST(test_is_unicast)
{
	static const struct {
		const char *spec;
		int         unicast;
	} cases[] = {
		{ "127.0.0.1:1", 1 }, { "10.1.2.3:1", 1 }, { "192.0.2.255:1", 1 },
		{ "223.255.255.255:1", 1 }, { "0.0.0.0:1", 0 }, { "0.1.2.3:1", 0 },
		{ "224.0.0.1:1", 0 }, { "239.255.255.250:1", 0 }, { "240.0.0.1:1", 0 },
		{ "255.255.255.255:1", 0 }, { "[::1]:1", 1 }, { "[2001:db8::1]:1", 1 },
		{ "[fe80::1]:1", 1 }, { "[::]:1", 0 }, { "[ff02::1]:1", 0 }, { "[ff05::2]:1", 0 },
		{ "[::ffff:127.0.0.1]:1", 1 }, { "[::ffff:255.255.255.255]:1", 0 },
		{ "[::ffff:224.0.0.251]:1", 0 }, { "[::ffff:0.0.0.0]:1", 0 }, { "unix:/x", 0 },
	};
	struct addr a[ADDR_MAX_PER_SPEC];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(addr_parse(cases[i].spec, a, NULL), 1);
		ck_assert_msg(addr_is_unicast((struct sockaddr *)&a[0].ss) == cases[i].unicast,
		    "%s: addr_is_unicast != %d", cases[i].spec, cases[i].unicast);
	}
}
END_TEST

START_TEST(test_bad_host)
{
	check_parse_bad("localhost:7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("example.com:80", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("256.1.1.1:80", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("1.2.3:80", "expected a numeric IPv4/IPv6 address");
	check_parse_bad(":7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("[]:7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("[localhost]:7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("[1.2.3.4]:7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("[fe80::1%lo]:7007", "expected a numeric IPv4/IPv6 address");
	check_parse_bad("::1:7007", "brackets");
	check_parse_bad("beef::1:7007", "brackets");
	check_parse_bad("[::1]7007", "[IPV6]:PORT");
	check_parse_bad("[::1", "[IPV6]:PORT");
	check_parse_bad("127.0.0.1", "ADDRESS:PORT");
	check_parse_bad("", "expected an address");
	check_parse_bad(NULL, "expected an address");
}
END_TEST

START_TEST(test_bad_port)
{
	check_parse_bad("127.0.0.1:", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:65536", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:99999999999999999999", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:-1", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:+80", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:0x50", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:80 ", "port number from 0 to 65535");
	check_parse_bad("127.0.0.1:echo", "port number from 0 to 65535");
	check_parse_bad("[::1]:", "port number from 0 to 65535");
	check_parse_bad("[::1]:70000", "port number from 0 to 65535");
}
END_TEST

START_TEST(test_format)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char buf[ADDR_STRLEN];
	socklen_t len;

	/* An unnamed unix peer (socketpair, unbound client) has only a family. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&sun, sizeof(sa_family_t), buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix");

	/* Linux abstract namespace */
	memcpy(sun.sun_path, "\0abs", 4);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4);
	addr_format((struct sockaddr *)&sun, len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:@abs");

	/* Truncation stays NUL-terminated. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(12345);
	sin.sin_addr.s_addr = htonl(0x01020304);
	addr_format((struct sockaddr *)&sin, sizeof(sin), buf, 6);
	ck_assert_str_eq(buf, "1.2.3");
	addr_format((struct sockaddr *)&sin, sizeof(sin), buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.2.3.4:12345");

	addr_format(NULL, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown");
}
END_TEST

START_TEST(test_is_local)
{
	static const struct {
		const char *spec;
		int         local;
	} cases[] = {
		{ "127.0.0.1:1", 1 }, { "127.255.0.9:1", 1 }, { "128.0.0.1:1", 0 },
		{ "10.0.0.1:1", 0 }, { "0.0.0.0:1", 0 }, { "[::1]:1", 1 },
		{ "[::]:1", 0 }, { "[::ffff:127.0.0.2]:1", 1 }, { "[::ffff:10.0.0.1]:1", 0 },
		{ "[2001:db8::1]:1", 0 }, { "unix:/x", 1 },
	};
	struct addr a[ADDR_MAX_PER_SPEC];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(addr_parse(cases[i].spec, a, NULL), 1);
		ck_assert_msg(addr_is_local((struct sockaddr *)&a[0].ss) == cases[i].local,
		    "%s: addr_is_local != %d", cases[i].spec, cases[i].local);
	}
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_unix);
	tcase_add_test(tc, test_udp);
	tcase_add_test(tc, test_is_unicast);
	tcase_add_test(tc, test_bad_host);
	tcase_add_test(tc, test_bad_port);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_is_local);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(addr_suite());
}
