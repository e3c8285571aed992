/*
 * check_acl.c: unit tests for the allow/deny lists in acl.c: the matching
 * rules, entry syntax and its errors, access files, and the trie against a
 * brute-force linear reference over random overlapping lists.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "util.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

/* A peer address: "192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", or "unix". */
static const struct sockaddr *
peer(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(s, "unix") == 0) {
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, "/run/echod.sock");
	} else if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4000);
	} else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4000);
	} else
		ck_abort_msg("test peer '%s' does not parse", s);
	return (const struct sockaddr *)ss;
}

static void
add_ok(struct acl *a, enum acl_action act, const char *spec)
{
	char why[ACL_ERRLEN] = "";

	ck_assert_msg(acl_add(a, act, spec, why, sizeof(why)) == 0, "'%s' rejected: %s", spec, why);
}

static void
expect(const struct acl *a, const char *addr, enum acl_verdict want, const char *want_rule)
{
	struct sockaddr_storage ss;
	char rule[ACL_RULELEN];
	enum acl_verdict v;

	memset(rule, 'x', sizeof(rule));
	v = acl_check(a, peer(addr, &ss), rule, sizeof(rule));
	ck_assert_msg(v == want, "%s: verdict %s, want %s (rule '%s')", addr, acl_verdict_name(v),
	    acl_verdict_name(want), rule);
	ck_assert_msg(strcmp(rule, want_rule) == 0, "%s: rule '%s', want '%s'", addr, rule,
	    want_rule);
}

static char *
write_file(const char *text)
{
	char *path = xstrdup("/tmp/check_acl.XXXXXX");
	int fd;

	ck_assert((fd = mkstemp(path)) != -1);
	ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
free_errs(char **errs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(errs[i]);
	free(errs);
}

/* xorshift64*: reproducible across runs and platforms. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545f4914f6cdd1dULL;
}

/* ---------------------------------------------------------------- rules */

START_TEST(test_longest_match_v4)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_ALLOW, "10.0.0.0/8");
	add_ok(a, ACL_DENY, "10.1.0.0/16");
	add_ok(a, ACL_ALLOW, "10.1.2.0/24");
	add_ok(a, ACL_DENY, "10.1.2.3");
	add_ok(a, ACL_DENY, "10.1.2.128/25");
	expect(a, "10.2.3.4", ACL_PASS, "10.0.0.0/8");
	expect(a, "10.1.5.5", ACL_DENIED, "10.1.0.0/16");
	expect(a, "10.1.2.4", ACL_PASS, "10.1.2.0/24");
	expect(a, "10.1.2.3", ACL_DENIED, "10.1.2.3");
	expect(a, "10.1.2.200", ACL_DENIED, "10.1.2.128/25");
	expect(a, "10.1.2.127", ACL_PASS, "10.1.2.0/24");
	expect(a, "11.0.0.1", ACL_NOT_ALLOWED, "");
	expect(a, "9.255.255.255", ACL_NOT_ALLOWED, "");
	/* An allow list refuses the other family too. */
	expect(a, "2001:db8::1", ACL_NOT_ALLOWED, "");
	ck_assert_uint_eq(acl_count(a), 5);
	ck_assert(!acl_empty(a));
	acl_free(a);
}
END_TEST

START_TEST(test_insert_order)
{
	/* The same list inserted shortest-first and longest-first gives the same answers. */
	static const char *specs[] = { "10.1.2.3", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8",
	    "10.1.2.2/31", "10.128.0.0/9", "0.0.0.0/0" };
	static const struct {
		const char *addr, *rule;
	} cases[] = {
		{ "10.1.2.3", "10.1.2.3" }, { "10.1.2.2", "10.1.2.2/31" },
		{ "10.1.2.9", "10.1.2.0/24" }, { "10.1.9.9", "10.1.0.0/16" },
		{ "10.9.9.9", "10.0.0.0/8" }, { "10.200.0.1", "10.128.0.0/9" },
		{ "192.0.2.1", "0.0.0.0/0" },
	};
	struct acl *a, *b;
	size_t i, n = ARRAY_LEN(specs);

	a = acl_new();
	b = acl_new();
	for (i = 0; i < n; i++) {
		add_ok(a, ACL_DENY, specs[i]);
		add_ok(b, ACL_DENY, specs[n - 1 - i]);
	}
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		expect(a, cases[i].addr, ACL_DENIED, cases[i].rule);
		expect(b, cases[i].addr, ACL_DENIED, cases[i].rule);
	}
	acl_free(a);
	acl_free(b);
}
END_TEST

START_TEST(test_deny_only)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_DENY, "192.0.2.0/24");
	add_ok(a, ACL_DENY, "2001:db8:bad::/48");
	expect(a, "192.0.2.77", ACL_DENIED, "192.0.2.0/24");
	expect(a, "198.51.100.1", ACL_PASS, "");
	expect(a, "2001:db8:bad:1::5", ACL_DENIED, "2001:db8:bad::/48");
	expect(a, "2001:db8:bae::5", ACL_PASS, "");
	expect(a, "::1", ACL_PASS, "");
	acl_free(a);
}
END_TEST

START_TEST(test_empty_list)
{
	struct acl *a = acl_new();

	ck_assert(acl_empty(a));
	ck_assert_uint_eq(acl_count(a), 0);
	expect(a, "192.0.2.1", ACL_PASS, "");
	expect(a, "::1", ACL_PASS, "");
	expect(a, "unix", ACL_PASS, "");
	ck_assert_uint_ge(acl_memory(a), 1);
	acl_free(a);
	acl_free(NULL);
}
END_TEST

/* A reference keeps the list after its creator lets go (a listener after a reload). */
START_TEST(test_references)
{
	struct acl *a = acl_new(), *b;

	add_ok(a, ACL_DENY, "192.0.2.0/24");
	b = acl_ref(a);
	ck_assert_ptr_eq(b, a);
	ck_assert_ptr_null(acl_ref(NULL));
	acl_free(a);
	/* still there (ASan would report a use after free) */
	expect(b, "192.0.2.77", ACL_DENIED, "192.0.2.0/24");
	expect(b, "198.51.100.1", ACL_PASS, "");
	acl_free(b);
}
END_TEST

START_TEST(test_tie_deny_wins)
{
	struct acl *a = acl_new(), *b = acl_new();

	add_ok(a, ACL_ALLOW, "10.0.0.0/8");
	add_ok(a, ACL_DENY, "10.0.0.0/8");
	add_ok(b, ACL_DENY, "10.0.0.0/8");
	add_ok(b, ACL_ALLOW, "10.0.0.0/8");
	ck_assert_uint_eq(acl_count(a), 2);
	ck_assert_uint_eq(acl_count(b), 2);
	expect(a, "10.9.9.9", ACL_DENIED, "10.0.0.0/8");
	expect(b, "10.9.9.9", ACL_DENIED, "10.0.0.0/8");
	/* A longer allow still beats the shorter tied pair. */
	add_ok(a, ACL_ALLOW, "10.9.0.0/16");
	expect(a, "10.9.9.9", ACL_PASS, "10.9.0.0/16");
	expect(a, "10.8.9.9", ACL_DENIED, "10.0.0.0/8");
	acl_free(a);
	acl_free(b);
}
END_TEST

START_TEST(test_duplicates)
{
	struct acl *a = acl_new();
	size_t mem;

	add_ok(a, ACL_ALLOW, "10.0.0.0/8");
	add_ok(a, ACL_ALLOW, "2001:db8::/32");
	mem = acl_memory(a);
	add_ok(a, ACL_ALLOW, "10.0.0.0/8");
	add_ok(a, ACL_ALLOW, "::ffff:10.0.0.0/104");	/* the same entry, written mapped */
	add_ok(a, ACL_ALLOW, "2001:0db8:0::/32");
	ck_assert_uint_eq(acl_count(a), 2);
	ck_assert_uint_eq(acl_memory(a), mem);
	expect(a, "10.0.0.1", ACL_PASS, "10.0.0.0/8");
	acl_free(a);
}
END_TEST

START_TEST(test_v6)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_ALLOW, "2001:db8::/32");
	add_ok(a, ACL_DENY, "2001:db8:1::/48");
	add_ok(a, ACL_ALLOW, "2001:db8:1:2::/64");
	add_ok(a, ACL_ALLOW, "::1");
	add_ok(a, ACL_DENY, "2001:db8:1:2::dead");
	add_ok(a, ACL_DENY, "fe80::/10");
	expect(a, "2001:db8:ffff::1", ACL_PASS, "2001:db8::/32");
	expect(a, "2001:db8:1:3::1", ACL_DENIED, "2001:db8:1::/48");
	expect(a, "2001:db8:1:2::1", ACL_PASS, "2001:db8:1:2::/64");
	expect(a, "2001:db8:1:2::dead", ACL_DENIED, "2001:db8:1:2::dead");
	expect(a, "::1", ACL_PASS, "::1");
	expect(a, "::2", ACL_NOT_ALLOWED, "");
	expect(a, "fe80::1", ACL_DENIED, "fe80::/10");
	expect(a, "febf::1", ACL_DENIED, "fe80::/10");
	expect(a, "fec0::1", ACL_NOT_ALLOWED, "");
	expect(a, "2001:db9::1", ACL_NOT_ALLOWED, "");
	/* IPv4 entries are a different family: none here, and allow entries exist. */
	expect(a, "127.0.0.1", ACL_NOT_ALLOWED, "");
	acl_free(a);
}
END_TEST

START_TEST(test_zero_prefix)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_DENY, "0.0.0.0/0");
	add_ok(a, ACL_ALLOW, "192.0.2.0/24");
	add_ok(a, ACL_ALLOW, "::/0");
	add_ok(a, ACL_DENY, "2001:db8::/32");
	expect(a, "1.2.3.4", ACL_DENIED, "0.0.0.0/0");
	expect(a, "255.255.255.255", ACL_DENIED, "0.0.0.0/0");
	expect(a, "0.0.0.0", ACL_DENIED, "0.0.0.0/0");
	expect(a, "192.0.2.5", ACL_PASS, "192.0.2.0/24");
	expect(a, "2001:db8::1", ACL_DENIED, "2001:db8::/32");
	expect(a, "2002::1", ACL_PASS, "::/0");
	expect(a, "::", ACL_PASS, "::/0");
	/* A mapped peer is IPv4: ::/0 does not cover it, 0.0.0.0/0 does. */
	expect(a, "::ffff:1.2.3.4", ACL_DENIED, "0.0.0.0/0");
	acl_free(a);
}
END_TEST

START_TEST(test_mapped_entries)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_ALLOW, "::ffff:192.0.2.0/120");
	add_ok(a, ACL_DENY, "::ffff:192.0.2.7");
	add_ok(a, ACL_DENY, "::ffff:0.0.0.0/96");
	ck_assert_uint_eq(acl_count(a), 3);
	expect(a, "192.0.2.9", ACL_PASS, "192.0.2.0/24");
	expect(a, "::ffff:192.0.2.9", ACL_PASS, "192.0.2.0/24");
	expect(a, "192.0.2.7", ACL_DENIED, "192.0.2.7");
	expect(a, "198.51.100.1", ACL_DENIED, "0.0.0.0/0");
	/* Not IPv6 entries: an IPv6 peer matches none of them. */
	expect(a, "2001:db8::1", ACL_NOT_ALLOWED, "");
	acl_free(a);

	/* Shorter than /96 is an IPv6 prefix that only IPv6 peers can match. */
	a = acl_new();
	add_ok(a, ACL_DENY, "::fffe:0:0/95");
	expect(a, "::fffe:1.2.3.4", ACL_DENIED, "::fffe:0:0/95");
	expect(a, "::ffff:1.2.3.4", ACL_PASS, "");
	expect(a, "1.2.3.4", ACL_PASS, "");
	acl_free(a);
}
END_TEST

START_TEST(test_mapped_peers)
{
	struct acl *a = acl_new();

	add_ok(a, ACL_ALLOW, "10.0.0.0/8");
	add_ok(a, ACL_DENY, "10.66.0.0/16");
	expect(a, "::ffff:10.1.1.1", ACL_PASS, "10.0.0.0/8");
	expect(a, "::ffff:10.66.1.1", ACL_DENIED, "10.66.0.0/16");
	expect(a, "::ffff:11.1.1.1", ACL_NOT_ALLOWED, "");
	/* Not mapped: ::a01:101 (IPv4-compatible, deprecated) and 64:ff9b:: (NAT64) are IPv6. */
	expect(a, "::10.1.1.1", ACL_NOT_ALLOWED, "");
	expect(a, "64:ff9b::10.1.1.1", ACL_NOT_ALLOWED, "");
	acl_free(a);
}
END_TEST

START_TEST(test_non_ip_peers)
{
	struct acl *a = acl_new();
	struct sockaddr_storage ss;
	char rule[ACL_RULELEN] = "junk";

	add_ok(a, ACL_DENY, "0.0.0.0/0");
	add_ok(a, ACL_DENY, "::/0");
	expect(a, "unix", ACL_PASS, "");
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	ck_assert_int_eq(acl_check(a, (struct sockaddr *)&ss, rule, sizeof(rule)), ACL_PASS);
	ck_assert_str_eq(rule, "");
	add_ok(a, ACL_ALLOW, "127.0.0.1");
	expect(a, "unix", ACL_PASS, "");
	/* Another family matches nothing: with allow entries, that is a refusal. */
	ck_assert_int_eq(acl_check(a, (struct sockaddr *)&ss, NULL, 0), ACL_NOT_ALLOWED);
	acl_free(a);
}
END_TEST

START_TEST(test_rule_buffer)
{
	struct acl *a = acl_new();
	struct sockaddr_storage ss;
	char small[8];

	add_ok(a, ACL_DENY, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124");
	expect(a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff7", ACL_DENIED,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124");
	/* A short buffer is cut, never overrun; NULL is fine. */
	ck_assert_int_eq(acl_check(a, peer("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &ss), small,
	    sizeof(small)), ACL_DENIED);
	ck_assert_str_eq(small, "ffff:ff");
	ck_assert_int_eq(acl_check(a, peer("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &ss), NULL,
	    0), ACL_DENIED);
	acl_free(a);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(acl_verdict_name(ACL_PASS), "pass");
	ck_assert_str_eq(acl_verdict_name(ACL_DENIED), "deny-list");
	ck_assert_str_eq(acl_verdict_name(ACL_NOT_ALLOWED), "not-allowed");
	ck_assert_str_eq(acl_verdict_name((enum acl_verdict)42), "?");
}
END_TEST

/* ---------------------------------------------------------------- syntax */

START_TEST(test_bad_specs)
{
#define addr_msg "expected an IPv4 or IPv6 address or CIDR prefix, as in " \
	    "192.0.2.7, 10.0.0.0/8 or 2001:db8::/32"
#define len4 "expected a prefix length from 0 to 32 after '/'"
#define len6 "expected a prefix length from 0 to 128 after '/'"
	static const struct {
		const char *spec, *why;
	} cases[] = {
		{ "10.1.2.3/8", "expected a network address: 10.0.0.0/8" },
		{ "192.0.2.1/31", "expected a network address: 192.0.2.0/31" },
		{ "1.0.0.0/0", "expected a network address: 0.0.0.0/0" },
		{ "2001:db8::1/32", "expected a network address: 2001:db8::/32" },
		{ "2001:db8::1/127", "expected a network address: 2001:db8::/127" },
		{ "::1/0", "expected a network address: ::/0" },
		{ "::ffff:192.0.2.1/120", "expected a network address: ::ffff:192.0.2.0/120" },
		{ "10.0.0.0/33", len4 },
		{ "10.0.0.0/", len4 },
		{ "10.0.0.0/-1", len4 },
		{ "10.0.0.0/+8", len4 },
		{ "10.0.0.0/08", len4 },
		{ "10.0.0.0/8/8", len4 },
		{ "10.0.0.0/ 8", len4 },
		{ "10.0.0.0/8 ", len4 },
		{ "10.0.0.0/1000", len4 },
		{ "10.0.0.0/0x8", len4 },
		{ "::/129", len6 },
		{ "::/", len6 },
		{ "::/4294967304", len6 },
		{ "", addr_msg },
		{ "/8", addr_msg },
		{ "10.0.0", addr_msg },
		{ "256.0.0.0", addr_msg },
		{ "010.0.0.1", addr_msg },
		{ "10.0.0.0.0", addr_msg },
		{ " 10.0.0.1", addr_msg },
		{ "10.0.0.1 ", addr_msg },
		{ "example.com", addr_msg },
		{ "fe80::1%eth0", addr_msg },
		{ "fe80::1%eth0/64", addr_msg },
		{ "2001:db8:::/32", addr_msg },
		{ "[::1]", addr_msg },
		{ "allow 10.0.0.0/8", addr_msg },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128xxxxxxxxxxxxxxxxxx", addr_msg },
	};
	struct acl *a = acl_new();
	char why[ACL_ERRLEN], small[12];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		strcpy(why, "unchanged");
		ck_assert_msg(acl_add(a, ACL_DENY, cases[i].spec, why, sizeof(why)) == -1,
		    "'%s' accepted", cases[i].spec);
		ck_assert_msg(strcmp(why, cases[i].why) == 0, "'%s': '%s', want '%s'",
		    cases[i].spec, why, cases[i].why);
	}
	ck_assert_int_eq(acl_add(a, (enum acl_action)7, "10.0.0.0/8", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "expected 'allow' or 'deny'");
	/* why may be NULL or short. */
	ck_assert_int_eq(acl_add(a, ACL_DENY, "10.1.2.3/8", NULL, 0), -1);
	ck_assert_int_eq(acl_add(a, ACL_DENY, "10.1.2.3/8", small, sizeof(small)), -1);
	ck_assert_str_eq(small, "expected a ");
	ck_assert(acl_empty(a));
	expect(a, "10.1.2.3", ACL_PASS, "");
	acl_free(a);
#undef addr_msg
#undef len4
#undef len6
}
END_TEST

START_TEST(test_good_specs)
{
	static const struct {
		const char *spec, *addr, *rule;
	} cases[] = {
		{ "192.0.2.7", "192.0.2.7", "192.0.2.7" },
		{ "192.0.2.7/32", "192.0.2.7", "192.0.2.7" },
		{ "10.0.0.0/8", "10.255.0.1", "10.0.0.0/8" },
		{ "128.0.0.0/1", "200.1.1.1", "128.0.0.0/1" },
		{ "0.0.0.0/0", "8.8.8.8", "0.0.0.0/0" },
		{ "::1", "::1", "::1" },
		{ "::1/128", "::1", "::1" },
		{ "2001:DB8::/32", "2001:db8::77", "2001:db8::/32" },
		{ "2001:0db8:0000::/48", "2001:db8:0:1::", "2001:db8::/48" },
		{ "8000::/1", "ffff::1", "8000::/1" },
		{ "::/0", "2001:db8::1", "::/0" },
		{ "::ffff:192.0.2.0/120", "192.0.2.1", "192.0.2.0/24" },
		{ "::ffff:10.0.0.0/104", "10.9.9.9", "10.0.0.0/8" },
		{ "::ffff:192.0.2.7", "192.0.2.7", "192.0.2.7" },
		{ "::ffff:c000:0207/128", "192.0.2.7", "192.0.2.7" },
		{ "64:ff9b::/96", "64:ff9b::1.2.3.4", "64:ff9b::/96" },
	};
	struct acl *a;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		a = acl_new();
		add_ok(a, ACL_DENY, cases[i].spec);
		expect(a, cases[i].addr, ACL_DENIED, cases[i].rule);
		acl_free(a);
	}
}
END_TEST

/* ---------------------------------------------------------------- access files */

START_TEST(test_file)
{
	static const char text[] =
	    "# echod access list\n"
	    "\n"
	    "allow 10.0.0.0/8\n"
	    "   deny    10.66.0.0/16   # the lab\n"
	    "\tallow\t2001:db8::/32\t\n"
	    "deny 192.0.2.1\r\n"
	    "DENY 198.51.100.0/24\n"
	    "Allow 203.0.113.0/24#no space before the comment\n"
	    "    # indented comment\n"
	    "allow 10.0.0.0/8\n"
	    "deny 2001:db8:bad::/48";	/* no newline at the end */
	struct acl *a = acl_new();
	char **errs = NULL, *path = write_file(text);
	size_t nerrs = 0;

	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), 0);
	ck_assert_uint_eq(nerrs, 0);
	ck_assert_uint_eq(acl_count(a), 7);
	expect(a, "10.1.1.1", ACL_PASS, "10.0.0.0/8");
	expect(a, "10.66.1.1", ACL_DENIED, "10.66.0.0/16");
	expect(a, "2001:db8::1", ACL_PASS, "2001:db8::/32");
	expect(a, "2001:db8:bad::1", ACL_DENIED, "2001:db8:bad::/48");
	expect(a, "192.0.2.1", ACL_DENIED, "192.0.2.1");
	expect(a, "198.51.100.9", ACL_DENIED, "198.51.100.0/24");
	expect(a, "203.0.113.9", ACL_PASS, "203.0.113.0/24");
	expect(a, "192.0.2.2", ACL_NOT_ALLOWED, "");
	/* Loading shrinks the node array to what is used. */
	ck_assert_uint_le(acl_memory(a), 2 * 7 * 32 + 64);
	unlink(path);
	free(path);
	acl_free(a);
}
END_TEST

START_TEST(test_file_errors)
{
	static const char text[] =
	    "allow 10.0.0.0/8\n"			/* 1 */
	    "dney 10.0.0.0/8\n"				/* 2 */
	    "allow\n"					/* 3 */
	    "deny 10.1.2.3/8   # typo\n"		/* 4 */
	    "allow 10.0.0.0/8 192.0.2.0/24\n"		/* 5 */
	    "\n"					/* 6 */
	    "10.0.0.0/8\n"				/* 7 */
	    "deny example.com\n"			/* 8 */
	    "allow 2001:db8::/200\n"			/* 9 */
	    "allow\t\x1b[31m\n"				/* 10 */
	    "deny 192.0.2.0/24\n"			/* 11 */
	    "allowed 192.0.2.0/24\n"			/* 12 */
	    "deny ::ffff:192.0.2.1/120\n";		/* 13 */
	static const char *want[] = {
	    ":2: expected 'allow' or 'deny' followed by an address or CIDR prefix, got 'dney 10.0.0.0/8'",
	    ":3: expected 'allow' or 'deny' followed by an address or CIDR prefix, got 'allow'",
	    ":4: expected a network address: 10.0.0.0/8, got '10.1.2.3/8'",
	    ":5: expected 'allow' or 'deny' followed by an address or CIDR prefix, got 'allow 10.0.0.0/8 192.0.2.0/24'",
	    ":7: expected 'allow' or 'deny' followed by an address or CIDR prefix, got '10.0.0.0/8'",
	    ":8: expected an IPv4 or IPv6 address or CIDR prefix, as in 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32, got 'example.com'",
	    ":9: expected a prefix length from 0 to 128 after '/', got '2001:db8::/200'",
	    ":10: expected an IPv4 or IPv6 address or CIDR prefix, as in 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32, got '?[31m'",
	    ":12: expected 'allow' or 'deny' followed by an address or CIDR prefix, got 'allowed 192.0.2.0/24'",
	    ":13: expected a network address: ::ffff:192.0.2.0/120, got '::ffff:192.0.2.1/120'",
	};
	struct acl *a = acl_new();
	char **errs = NULL, *path = write_file(text), *line;
	size_t i, nerrs = 0;

	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, ARRAY_LEN(want));
	for (i = 0; i < nerrs; i++) {
		xasprintf(&line, "%s%s", path, want[i]);
		ck_assert_msg(strcmp(errs[i], line) == 0, "error %zu:\n '%s'\nwant\n '%s'", i,
		    errs[i], line);
		free(line);
	}
	/* The good lines were added (the caller discards the list). */
	ck_assert_uint_eq(acl_count(a), 2);
	free_errs(errs, nerrs);
	unlink(path);
	free(path);
	acl_free(a);
}
END_TEST

START_TEST(test_file_odd_bytes)
{
	static const char text[] = "allow 10.0.0.0/8\ndeny 192.0.2.0/24\0junk\nallow ::1\n";
	struct acl *a = acl_new();
	char **errs = NULL, *path, *long_line, *line;
	size_t nerrs = 0;
	FILE *fp;
	int i;

	path = xstrdup("/tmp/check_acl.XXXXXX");
	ck_assert((i = mkstemp(path)) != -1);
	ck_assert(write(i, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(i);
	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, 1);
	xasprintf(&line, "%s:2: expected text, got a NUL byte", path);
	ck_assert_str_eq(errs[0], line);
	free(line);
	free_errs(errs, nerrs);

	/* A very long bad line is quoted shortened. */
	ck_assert((fp = fopen(path, "w")) != NULL);
	long_line = xmalloc(5001);
	memset(long_line, 'z', 5000);
	long_line[5000] = '\0';
	fprintf(fp, "deny 10.0.0.0/8\n%s\n", long_line);
	fclose(fp);
	errs = NULL;
	nerrs = 0;
	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, 1);
	xasprintf(&line, "%s:2: expected 'allow' or 'deny' followed by an address or CIDR prefix, "
	    "got '%.77s...'", path, long_line);
	ck_assert_str_eq(errs[0], line);
	free(line);
	free(long_line);
	free_errs(errs, nerrs);
	unlink(path);
	free(path);
	acl_free(a);
}
END_TEST

START_TEST(test_file_cap)
{
	struct acl *a = acl_new();
	char **errs, *path, *line;
	size_t i, nerrs;
	FILE *fp;

	path = write_file("");
	ck_assert((fp = fopen(path, "w")) != NULL);
	for (i = 1; i <= 250; i++)
		fprintf(fp, "%s\n", i % 2 ? "bogus line" : "deny 10.0.0.1/8");
	fprintf(fp, "deny 10.0.0.0/8\n");
	fclose(fp);
	/* Errors are appended after what the caller already has. */
	errs = xmalloc(sizeof(*errs));
	errs[0] = xstrdup("earlier error");
	nerrs = 1;
	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, 1 + ACL_MAX_ERRORS + 1);
	ck_assert_str_eq(errs[0], "earlier error");
	xasprintf(&line, "%s:1: expected 'allow' or 'deny' followed by an address or CIDR "
	    "prefix, got 'bogus line'", path);
	ck_assert_str_eq(errs[1], line);
	free(line);
	xasprintf(&line, "%s:100: expected a network address: 10.0.0.0/8, got '10.0.0.1/8'", path);
	ck_assert_str_eq(errs[100], line);
	free(line);
	xasprintf(&line, "%s: 150 more errors not shown", path);
	ck_assert_str_eq(errs[101], line);
	free(line);
	ck_assert_uint_eq(acl_count(a), 1);
	free_errs(errs, nerrs);
	unlink(path);
	free(path);
	acl_free(a);
}
END_TEST

START_TEST(test_file_unreadable)
{
	struct acl *a = acl_new();
	char **errs = NULL, *want;
	char dir[] = "/tmp/check_acl_dir.XXXXXX";
	size_t nerrs = 0;

	ck_assert_int_eq(acl_load_file(a, "/nonexistent/echod/deny.txt", &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, 1);
	ck_assert_str_eq(errs[0], "/nonexistent/echod/deny.txt: cannot open: No such file or directory");
	ck_assert(mkdtemp(dir) != NULL);
	ck_assert_int_eq(acl_load_file(a, dir, &errs, &nerrs), -1);
	ck_assert_uint_eq(nerrs, 2);
	xasprintf(&want, "%s: cannot read: Is a directory", dir);
	ck_assert_str_eq(errs[1], want);
	free(want);
	rmdir(dir);
	free_errs(errs, nerrs);
	ck_assert(acl_empty(a));
	acl_free(a);
}
END_TEST

/* 100,000 entries in a file: loads, counts, right answers, compact. */
START_TEST(test_file_100k)
{
	struct acl *a = acl_new();
	struct sockaddr_storage ss;
	char **errs = NULL, *path, addr[64];
	size_t i, nerrs = 0;
	FILE *fp;

	path = write_file("");
	ck_assert((fp = fopen(path, "w")) != NULL);
	/* 50,000 IPv4 /24s in 10/8 (odd ones denied) and 50,000 IPv6 /48s, plus covers. */
	for (i = 0; i < 50000; i++)
		fprintf(fp, "%s 10.%zu.%zu.0/24\n", i % 2 ? "deny" : "allow", i >> 8, i & 255);
	for (i = 0; i < 50000; i++)
		fprintf(fp, "%s 2001:db8:%zx::/48 # entry %zu\n", i % 3 ? "allow" : "deny", i, i);
	fprintf(fp, "deny 10.0.0.0/8\nallow 2001:db8::/32\n");
	fclose(fp);
	ck_assert_int_eq(acl_load_file(a, path, &errs, &nerrs), 0);
	ck_assert_uint_eq(acl_count(a), 100002);
	for (i = 0; i < 50000; i += 7) {
		snprintf(addr, sizeof(addr), "10.%zu.%zu.%zu", i >> 8, i & 255, (i * 31) & 255);
		ck_assert_int_eq(acl_check(a, peer(addr, &ss), NULL, 0),
		    i % 2 ? ACL_DENIED : ACL_PASS);
		snprintf(addr, sizeof(addr), "2001:db8:%zx:%zx::1", i, i & 0xffff);
		ck_assert_int_eq(acl_check(a, peer(addr, &ss), NULL, 0),
		    i % 3 ? ACL_PASS : ACL_DENIED);
	}
	expect(a, "10.200.0.1", ACL_DENIED, "10.0.0.0/8");
	expect(a, "2001:db8:ffff::1", ACL_PASS, "2001:db8::/32");
	expect(a, "11.0.0.1", ACL_NOT_ALLOWED, "");
	/* At most 2N-1 nodes of 32 bytes: a bit-per-node trie would need megabytes more. */
	ck_assert_uint_le(acl_memory(a), 64 * acl_count(a) + 64);
	unlink(path);
	free(path);
	acl_free(a);
}
END_TEST

/* ---------------------------------------------------------------- against a reference */

struct ref_entry {
	int		 v6;
	uint8_t		 b[16];
	unsigned	 plen;
	enum acl_action	 act;
};

static int
ref_match(const uint8_t *x, const uint8_t *y, unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(x, y, whole) != 0)
		return 0;
	return rest == 0 || ((x[whole] ^ y[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void
ref_format(const struct ref_entry *e, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->b, a, sizeof(a));
	if (e->plen == (e->v6 ? 128u : 32u))
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%u", a, e->plen);
}

/* The linear scan the trie replaces: longest match, deny wins a tie. */
static enum acl_verdict
ref_check(const struct ref_entry *ents, size_t n, int v6, const uint8_t *b, char *rule,
    size_t size)
{
	const struct ref_entry *best = NULL;
	size_t i, allows = 0;

	for (i = 0; i < n; i++) {
		if (ents[i].act == ACL_ALLOW)
			allows++;
		if (ents[i].v6 != v6 || !ref_match(ents[i].b, b, ents[i].plen))
			continue;
		if (best == NULL || ents[i].plen > best->plen ||
		    (ents[i].plen == best->plen && ents[i].act == ACL_DENY))
			best = &ents[i];
	}
	rule[0] = '\0';
	if (best == NULL)
		return allows > 0 ? ACL_NOT_ALLOWED : ACL_PASS;
	ref_format(best, rule, size);
	return best->act == ACL_DENY ? ACL_DENIED : ACL_PASS;
}

/* Random bytes near one of a few cluster bases, so prefixes nest at many depths. */
static void
rnd_addr(uint64_t *st, const uint8_t bases[][16], size_t nbases, unsigned len, uint8_t *out)
{
	unsigned keep, i;

	memcpy(out, bases[rnd(st) % nbases], len);
	if (rnd(st) % 8 == 0)
		keep = 0;
	else
		keep = (unsigned)(rnd(st) % (len * 8 + 1));
	for (i = keep; i < len * 8; i++) {
		if (rnd(st) & 1)
			out[i / 8] ^= (uint8_t)(1 << (7 - i % 8));
	}
}

static void
rnd_mask(uint8_t *b, unsigned len, unsigned plen)
{
	unsigned i;

	for (i = plen; i < len * 8; i++)
		b[i / 8] &= (uint8_t)~(1 << (7 - i % 8));
}

static void
compare_random(uint64_t seed, size_t nentries, size_t nprobes, int deny_only)
{
	uint8_t bases4[12][16], bases6[12][16], b[16];
	struct ref_entry *ents = xcalloc(nentries, sizeof(*ents)), *e;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char spec[80], a6[INET6_ADDRSTRLEN], rule[ACL_RULELEN], want_rule[ACL_RULELEN];
	enum acl_verdict v, want;
	uint64_t st = seed;
	struct acl *a = acl_new();
	size_t i, j;
	int v6, mapped;

	for (i = 0; i < 12; i++) {
		for (j = 0; j < 16; j++) {
			bases4[i][j] = (uint8_t)rnd(&st);
			bases6[i][j] = (uint8_t)rnd(&st);
		}
	}
	for (i = 0; i < nentries; i++) {
		e = &ents[i];
		e->v6 = rnd(&st) % 2;
		e->act = deny_only || rnd(&st) % 2 ? ACL_DENY : ACL_ALLOW;
		rnd_addr(&st, e->v6 ? bases6 : bases4, 12, e->v6 ? 16 : 4, e->b);
		e->plen = (unsigned)(rnd(&st) % ((e->v6 ? 128 : 32) + 1));
		if (rnd(&st) % 16 == 0)
			e->plen = e->v6 ? 128 : 32;
		rnd_mask(e->b, e->v6 ? 16 : 4, e->plen);
		if (i > 0 && rnd(&st) % 10 == 0) {
			/* Repeat an earlier prefix, with either action. */
			memcpy(e, &ents[rnd(&st) % i], sizeof(*e));
			if (!deny_only)
				e->act = rnd(&st) % 2 ? ACL_DENY : ACL_ALLOW;
		}
		if (!e->v6 && rnd(&st) % 4 == 0) {
			/* Written as an IPv4-mapped IPv6 prefix. */
			snprintf(spec, sizeof(spec), "::ffff:%u.%u.%u.%u/%u", e->b[0], e->b[1], e->b[2],
			    e->b[3], e->plen + 96);
		} else {
			inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->b, a6, sizeof(a6));
			snprintf(spec, sizeof(spec), "%s/%u", a6, e->plen);
		}
		add_ok(a, e->act, spec);
	}
	for (i = 0; i < nprobes; i++) {
		v6 = rnd(&st) % 2;
		mapped = !v6 && rnd(&st) % 3 == 0;
		rnd_addr(&st, v6 ? bases6 : bases4, 12, v6 ? 16 : 4, b);
		memset(&ss, 0, sizeof(ss));
		if (v6) {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, b, 16);
		} else if (mapped) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], b, 4);
		} else {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, b, 4);
		}
		want = ref_check(ents, nentries, v6, b, want_rule, sizeof(want_rule));
		v = acl_check(a, (struct sockaddr *)&ss, rule, sizeof(rule));
		inet_ntop(v6 ? AF_INET6 : AF_INET, b, a6, sizeof(a6));
		ck_assert_msg(v == want && strcmp(rule, want_rule) == 0,
		    "seed %llu probe %zu %s%s: %s '%s', reference %s '%s'", (unsigned long long)seed,
		    i, mapped ? "::ffff:" : "", a6, acl_verdict_name(v), rule,
		    acl_verdict_name(want), want_rule);
	}
	ck_assert_uint_le(acl_count(a), nentries);
	free(ents);
	acl_free(a);
}

START_TEST(test_random_reference)
{
	compare_random(0x9e3779b97f4a7c15ULL + (uint64_t)_i, 3000, 6000, 0);
}
END_TEST

START_TEST(test_random_reference_deny_only)
{
	compare_random(0xdeadbeefcafef00dULL + (uint64_t)_i, 2000, 4000, 1);
}
END_TEST

START_TEST(test_random_reference_small)
{
	uint64_t i;

	/* Small lists: every shape of a short trie. */
	for (i = 0; i < 300; i++)
		compare_random(0x1234567ULL + i, 1 + (size_t)i % 12, 200, i % 5 == 0);
}
END_TEST

static Suite *
acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_longest_match_v4);
	tcase_add_test(tc, test_insert_order);
	tcase_add_test(tc, test_deny_only);
	tcase_add_test(tc, test_empty_list);
	tcase_add_test(tc, test_references);
	tcase_add_test(tc, test_tie_deny_wins);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_v6);
	tcase_add_test(tc, test_zero_prefix);
	tcase_add_test(tc, test_mapped_entries);
	tcase_add_test(tc, test_mapped_peers);
	tcase_add_test(tc, test_non_ip_peers);
	tcase_add_test(tc, test_rule_buffer);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_good_specs);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_file_odd_bytes);
	tcase_add_test(tc, test_file_cap);
	tcase_add_test(tc, test_file_unreadable);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_100k);
	tcase_add_loop_test(tc, test_random_reference, 0, 3);
	tcase_add_loop_test(tc, test_random_reference_deny_only, 0, 2);
	tcase_add_test(tc, test_random_reference_small);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(acl_suite());
}
