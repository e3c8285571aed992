/*
 * check_source.c: unit tests for the per-source table and the token bucket
 * in source.c, and for the SipHash implementation it hashes with.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "source.h"
#include "util.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

static const struct sockaddr *
peer(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(5000);
	} else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(5000);
	} else
		ck_abort_msg("test peer '%s' does not parse", s);
	return (const struct sockaddr *)ss;
}

/* Lookup with the default prefixes (/32, /64) in scope 0. */
static struct source *
look(struct source_table *t, const char *addr, uint64_t now)
{
	struct sockaddr_storage ss;

	return source_lookup(t, 0, peer(addr, &ss), SOURCE_DEFAULT_V4, SOURCE_DEFAULT_V6, now);
}

static struct source *
look_v4(struct source_table *t, uint32_t a, uint64_t now)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a);
	return source_lookup(t, 0, (struct sockaddr *)&sin, 32, 64, now);
}

static void
info_of(const struct source *s, struct source_info *info)
{
	ck_assert(s != NULL);
	memset(info, 0x5a, sizeof(*info));
	source_get_info(s, info);
}

static struct source_stats
stats(const struct source_table *t)
{
	struct source_stats st;

	source_table_stats(t, &st);
	return st;
}

/* ---------------------------------------------------------------- siphash */

START_TEST(test_siphash24_vectors)
{
	/* From the SipHash paper and reference vectors: key 00..0f, message 00..len-1. */
	static const struct {
		size_t len;
		uint64_t want;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 2, 0x0d6c8009d9a94f5aULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL },
	};
	struct siphash_key k;
	uint8_t kb[16], msg[64];
	size_t i;

	for (i = 0; i < 16; i++)
		kb[i] = (uint8_t)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	siphash_key_from_bytes(&k, kb);
	for (i = 0; i < ARRAY_LEN(v); i++)
		ck_assert_msg(siphash24(&k, msg, v[i].len) == v[i].want,
		    "siphash24 len %zu: %016llx", v[i].len,
		    (unsigned long long)siphash24(&k, msg, v[i].len));
}
END_TEST

START_TEST(test_siphash13_vectors)
{
	/* CPython 3.11's bytes hash (SipHash-1-3) with PYTHONHASHSEED=0, a zero key. */
	static const struct siphash_key zero = { 0, 0 };
	uint8_t msg[24];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	ck_assert(siphash13(&zero, "a", 1) == 0x407448d2b89b1813ULL);
	ck_assert(siphash13(&zero, "echod", 5) == 0x5ae1bdb12150022aULL);
	ck_assert(siphash13(&zero, msg, 15) == 0xf30eb725bb91c9eaULL);
	ck_assert(siphash13(&zero, msg, 24) == 0x31185a47af932f3aULL);
}
END_TEST

START_TEST(test_siphash_process_key)
{
	const struct siphash_key *a = siphash_process_key(), *b = siphash_process_key();

	/* Drawn once; 128 random bits are not all zero. */
	ck_assert_ptr_eq(a, b);
	ck_assert(a->k0 != 0 || a->k1 != 0);
}
END_TEST

/* ---------------------------------------------------------------- keys */

START_TEST(test_lookup_same_entry)
{
	struct source_table *t = source_table_new(100, 0);
	struct source_info info;
	struct source *s;

	s = look(t, "192.0.2.1", 10);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(look(t, "192.0.2.1", 20), s);
	ck_assert_ptr_ne(look(t, "192.0.2.2", 20), s);
	ck_assert_uint_eq(stats(t).entries, 2);
	info_of(s, &info);
	ck_assert_str_eq(info.addr, "192.0.2.1");
	ck_assert_uint_eq(info.scope, 0);
	ck_assert_uint_eq(info.conns, 0);
	ck_assert_uint_eq(info.accepted, 0);
	ck_assert_uint_eq(info.refused, 0);
	ck_assert_uint_eq(info.last_seen_ms, 20);
	ck_assert_uint_eq(source_conns(s), 0);
	source_table_free(t);
	source_table_free(NULL);
}
END_TEST

START_TEST(test_prefix_grouping)
{
	struct source_table *t = source_table_new(100, 0);
	struct sockaddr_storage ss;
	struct source_info info;
	struct source *a, *b;

	a = source_lookup(t, 0, peer("192.0.2.1", &ss), 24, 64, 0);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("192.0.2.200", &ss), 24, 64, 0), a);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("::ffff:192.0.2.9", &ss), 24, 64, 0), a);
	ck_assert_ptr_ne(source_lookup(t, 0, peer("192.0.3.1", &ss), 24, 64, 0), a);
	info_of(a, &info);
	ck_assert_str_eq(info.addr, "192.0.2.0/24");
	/* The same address under another prefix length is another source. */
	ck_assert_ptr_ne(source_lookup(t, 0, peer("192.0.2.0", &ss), 32, 64, 0), a);

	b = source_lookup(t, 0, peer("2001:db8:1:2::1", &ss), 24, 64, 0);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("2001:db8:1:2:ffff:ffff:ffff:ffff", &ss), 24, 64, 0), b);
	ck_assert_ptr_ne(source_lookup(t, 0, peer("2001:db8:1:3::1", &ss), 24, 64, 0), b);
	info_of(b, &info);
	ck_assert_str_eq(info.addr, "2001:db8:1:2::/64");
	b = source_lookup(t, 0, peer("2001:db8:1:2::1", &ss), 24, 56, 0);
	info_of(b, &info);
	ck_assert_str_eq(info.addr, "2001:db8:1::/56");
	b = source_lookup(t, 0, peer("2001:db8::7", &ss), 24, 128, 0);
	info_of(b, &info);
	ck_assert_str_eq(info.addr, "2001:db8::7");
	b = source_lookup(t, 0, peer("2001:db8::7", &ss), 24, 65, 0);
	info_of(b, &info);
	ck_assert_str_eq(info.addr, "2001:db8::/65");

	/* /0 makes one source of a family; too long a prefix means the whole address. */
	a = source_lookup(t, 0, peer("198.51.100.1", &ss), 0, 0, 0);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("203.0.113.9", &ss), 0, 0, 0), a);
	ck_assert_ptr_ne(source_lookup(t, 0, peer("2001:db8::1", &ss), 0, 0, 0), a);
	info_of(a, &info);
	ck_assert_str_eq(info.addr, "0.0.0.0/0");
	a = source_lookup(t, 0, peer("198.51.100.1", &ss), 99, 999, 0);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("198.51.100.1", &ss), 32, 64, 0), a);
	a = source_lookup(t, 0, peer("2001:db8::1", &ss), 99, 999, 0);
	ck_assert_ptr_eq(source_lookup(t, 0, peer("2001:db8::1", &ss), 32, 128, 0), a);
	source_table_free(t);
}
END_TEST

START_TEST(test_scopes)
{
	struct source_table *t = source_table_new(100, 0);
	struct sockaddr_storage ss;
	struct source *a, *b;

	a = source_lookup(t, 1, peer("192.0.2.1", &ss), 32, 64, 0);
	b = source_lookup(t, 2, peer("192.0.2.1", &ss), 32, 64, 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_eq(source_lookup(t, 1, peer("192.0.2.1", &ss), 32, 64, 0), a);
	source_conn_open(a);
	source_conn_open(a);
	source_conn_open(b);
	ck_assert_uint_eq(source_conns(a), 2);
	ck_assert_uint_eq(source_conns(b), 1);
	ck_assert_uint_eq(stats(t).entries, 2);
	source_table_free(t);
}
END_TEST

START_TEST(test_not_ip)
{
	struct source_table *t = source_table_new(100, 0);
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_ptr_null(source_lookup(t, 0, (struct sockaddr *)&sun, 32, 64, 0));
	ck_assert_uint_eq(stats(t).entries, 0);
	ck_assert_uint_eq(stats(t).untracked, 0);
	source_table_free(t);
}
END_TEST

/* ---------------------------------------------------------------- counters */

START_TEST(test_counters)
{
	struct source_table *t = source_table_new(100, 0);
	struct source_info info;
	struct source *s = look(t, "192.0.2.1", 0);

	source_conn_open(s);
	source_conn_open(s);
	source_conn_open(s);
	source_conn_close(t, s, 50);
	source_conn_close(t, s, 60);
	source_refused(s, 0);
	source_refused(s, 3);
	source_refused(s, 3);
	source_refused(s, SOURCE_REASONS - 1);
	source_refused(s, SOURCE_REASONS);	/* out of range: in the total only */
	source_refused(s, 1000);
	info_of(s, &info);
	ck_assert_uint_eq(info.conns, 1);
	ck_assert_uint_eq(info.accepted, 3);
	ck_assert_uint_eq(info.refused, 6);
	ck_assert_uint_eq(info.refused_by[0], 1);
	ck_assert_uint_eq(info.refused_by[1], 0);
	ck_assert_uint_eq(info.refused_by[3], 2);
	ck_assert_uint_eq(info.refused_by[SOURCE_REASONS - 1], 1);
	ck_assert_uint_eq(info.last_seen_ms, 60);
	source_table_free(t);
}
END_TEST

/* Closing more connections than were opened is a bug in the caller: stop. */
START_TEST(test_close_unopened)
{
	struct source_table *t = source_table_new(100, 0);
	struct source *s = look(t, "192.0.2.1", 0);

	source_conn_open(s);
	source_conn_close(t, s, 1);
	source_conn_close(t, s, 2);
}
END_TEST

/* ---------------------------------------------------------------- token buckets */

START_TEST(test_rate_basic)
{
	struct source_table *t = source_table_new(100, 0);
	struct source *s = look(t, "192.0.2.1", 1000);
	int i;

	/* 10/s, burst 5: five at once, then one every 100 ms. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(source_rate_take(s, 10, 5, 1000), 1);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1000), 0);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1099), 0);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1100), 1);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1100), 0);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1150), 0);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 1200), 1);
	/* A long gap fills the bucket to the burst, no further. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(source_rate_take(s, 10, 5, 10000000), 1);
	ck_assert_int_eq(source_rate_take(s, 10, 5, 10000000), 0);
	/* rate 0: unlimited. */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(source_rate_take(s, 0, 5, 10000000), 1);
	/* burst 0 counts as 1. */
	s = look(t, "192.0.2.2", 0);
	ck_assert_int_eq(source_rate_take(s, 1, 0, 0), 1);
	ck_assert_int_eq(source_rate_take(s, 1, 0, 999), 0);
	ck_assert_int_eq(source_rate_take(s, 1, 0, 1000), 1);
	/* A smaller burst after a reload caps what the bucket holds. */
	s = look(t, "192.0.2.3", 0);
	ck_assert_int_eq(source_rate_take(s, 1, 100, 0), 1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(source_rate_take(s, 1, 3, 0), 1);
	ck_assert_int_eq(source_rate_take(s, 1, 3, 0), 0);
	source_table_free(t);
}
END_TEST

START_TEST(test_budget)
{
	struct source_budget b = { 10, 10, 1000, 2000 };
	struct source_table *t = source_table_new(2, 0);
	struct source *s = look(t, "192.0.2.1", 0), *u;
	int i;

	/* packets: 10 at once, then one every 100 ms */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(source_budget_take(s, &b, 1, 0), 1);
	ck_assert_int_eq(source_budget_take(s, &b, 1, 0), 0);
	ck_assert_int_eq(source_budget_take(s, &b, 1, 99), 0);
	ck_assert_int_eq(source_budget_take(s, &b, 1, 100), 1);
	/* bytes: 2000 held, 1000 a second; a refusal takes nothing from either bucket */
	s = look(t, "192.0.2.2", 0);
	ck_assert_int_eq(source_budget_take(s, &b, 1500, 0), 1);
	ck_assert_int_eq(source_budget_take(s, &b, 501, 0), 0);
	ck_assert_int_eq(source_budget_take(s, &b, 500, 0), 1);
	ck_assert_int_eq(source_budget_take(s, &b, 1, 0), 0);
	ck_assert_int_eq(source_budget_take(s, &b, 100, 100), 1);
	ck_assert_int_eq(source_budget_take(s, &b, 0, 100), 1);	/* an empty reply costs a packet */
	/* more than the bucket holds never goes */
	ck_assert_int_eq(source_budget_take(s, &b, 2001, 1000000), 0);
	ck_assert_int_eq(source_budget_take(s, &b, 2000, 1000000), 1);
	/* the refusal spent no packet: 10 after the long gap, one taken */
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(source_budget_take(s, &b, 0, 1000000), 1);
	ck_assert_int_eq(source_budget_take(s, &b, 0, 1000000), 0);
	/* rates 0: no limit */
	b.pkt_rate = b.byte_rate = 0;
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(source_budget_take(s, &b, 65507, 1000000), 1);

	/* a refilling budget is kept in a full table like a refilling connect rate */
	b.pkt_rate = 1;
	b.pkt_burst = 1;
	ck_assert_int_eq(source_budget_take(s, &b, 1, 2000000), 1);	/* full again at 2001000 */
	u = look(t, "192.0.2.1", 2000000);	/* now the younger of the two, but clean */
	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_nonnull(look(t, "192.0.2.3", 2000500));
	ck_assert_uint_eq(stats(t).evicted, 1);
	ck_assert_ptr_eq(look(t, "192.0.2.2", 2000600), s);
	ck_assert_int_eq(source_budget_take(s, &b, 1, 2000600), 0);	/* its state was kept */
	ck_assert_int_eq(source_budget_take(s, &b, 1, 2001000), 1);
	source_table_free(t);
}
END_TEST

/*
 * Greedy takes at uneven steps: exactly burst + floor(rate * T / 1000), no
 * drift. (The bucket never fills up between steps: max_step * rate stays
 * under (burst - 1) tokens.)
 */
static void
check_no_drift(uint64_t rate, uint64_t burst, uint64_t max_step, uint64_t duration, uint64_t seed)
{
	struct source_table *t = source_table_new(100, 0);
	struct source_bucket b;
	struct source *s = look(t, "192.0.2.1", 0);
	uint64_t now = 0, got_s = 0, got_b = 0, st = seed, want;

	source_bucket_init(&b, rate, burst, 0);
	while (now < duration) {
		while (source_rate_take(s, rate, burst, now))
			got_s++;
		while (source_bucket_take(&b, now))
			got_b++;
		st = st * 6364136223846793005ULL + 1442695040888963407ULL;
		now += 1 + (st >> 33) % max_step;
		if (now > duration)
			now = duration;
	}
	while (source_rate_take(s, rate, burst, now))
		got_s++;
	while (source_bucket_take(&b, now))
		got_b++;
	want = burst + rate * duration / 1000;
	ck_assert_msg(got_s == want && got_b == want, "rate %llu burst %llu: %llu and %llu, want %llu",
	    (unsigned long long)rate, (unsigned long long)burst, (unsigned long long)got_s,
	    (unsigned long long)got_b, (unsigned long long)want);
	source_table_free(t);
}

START_TEST(test_rate_no_drift)
{
	check_no_drift(3, 2, 37, 1000000, 1);
	check_no_drift(7, 2, 1, 100000, 2);
	check_no_drift(1, 2, 999, 3600000, 3);
	check_no_drift(997, 50, 20, 200000, 4);
	check_no_drift(333, 10, 3, 100000, 5);
}
END_TEST

START_TEST(test_bucket)
{
	struct source_bucket b;
	int i;

	/* 4/s, burst 1: a token every 250 ms. */
	source_bucket_init(&b, 4, 1, 1000);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 1000), 0);
	ck_assert_int_eq(source_bucket_take(&b, 1000), 1);
	ck_assert_int_eq(source_bucket_take(&b, 1000), 0);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 1000), 250);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 1100), 150);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 1249), 1);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 1250), 0);
	ck_assert_int_eq(source_bucket_take(&b, 1249), 0);
	ck_assert_int_eq(source_bucket_take(&b, 1250), 1);
	/* 3/s: 333.3 ms a token, rounded up. */
	source_bucket_init(&b, 3, 1, 0);
	ck_assert_int_eq(source_bucket_take(&b, 0), 1);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 0), 334);
	ck_assert_int_eq(source_bucket_take(&b, 333), 0);
	ck_assert_int_eq(source_bucket_take(&b, 334), 1);
	/* Unlimited. */
	source_bucket_init(&b, 0, 0, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(source_bucket_take(&b, 0), 1);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 0), 0);
	/* A clock that steps back neither refills nor breaks the bucket. */
	source_bucket_init(&b, 1, 1, 5000);
	ck_assert_int_eq(source_bucket_take(&b, 5000), 1);
	ck_assert_int_eq(source_bucket_take(&b, 100), 0);
	ck_assert_uint_eq(source_bucket_wait_ms(&b, 100), 1000);
	ck_assert_int_eq(source_bucket_take(&b, 5999), 0);
	ck_assert_int_eq(source_bucket_take(&b, 6000), 1);
}
END_TEST

START_TEST(test_bucket_extremes)
{
	struct source_bucket b;
	int i;

	/* Nothing overflows at the limits. */
	source_bucket_init(&b, UINT64_MAX, UINT64_MAX, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(source_bucket_take(&b, (uint64_t)i), 1);
	ck_assert_int_eq(source_bucket_take(&b, UINT64_MAX), 1);
	source_bucket_init(&b, 1, UINT64_MAX, 0);
	ck_assert_int_eq(source_bucket_take(&b, 0), 1);
	ck_assert_int_eq(source_bucket_take(&b, UINT64_MAX), 1);
	source_bucket_init(&b, UINT64_MAX / 2, 2, 0);
	ck_assert_int_eq(source_bucket_take(&b, 0), 1);
	ck_assert_int_eq(source_bucket_take(&b, 0), 1);
	ck_assert_int_eq(source_bucket_take(&b, 0), 0);
	ck_assert_int_eq(source_bucket_take(&b, 1), 1);
	ck_assert_int_eq(source_bucket_take(&b, 1), 1);
	ck_assert_int_eq(source_bucket_take(&b, 1), 0);
	ck_assert_int_eq(source_bucket_take(&b, UINT64_MAX), 1);
	ck_assert_int_eq(source_bucket_take(&b, UINT64_MAX), 1);
	ck_assert_int_eq(source_bucket_take(&b, UINT64_MAX), 0);
}
END_TEST

/* ---------------------------------------------------------------- a full table */

START_TEST(test_full_evicts_clean_lru)
{
	struct source_table *t = source_table_new(4, 0);
	struct source *a, *b, *c, *e, *f, *g;

	a = look(t, "192.0.2.1", 1);
	b = look(t, "192.0.2.2", 2);
	c = look(t, "192.0.2.3", 3);
	ck_assert_ptr_nonnull(look(t, "192.0.2.4", 4));
	source_conn_open(a);				/* busy */
	ck_assert_int_eq(source_rate_take(b, 1, 1, 2), 1);	/* drained until 1002 */
	ck_assert_ptr_eq(look(t, "192.0.2.3", 5), c);	/* c used after d */
	/* Full: d is the least recently used clean entry. */
	e = look(t, "192.0.2.5", 6);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(stats(t).entries, 4);
	ck_assert_uint_eq(stats(t).evicted, 1);
	/* Then c. */
	f = look(t, "192.0.2.6", 7);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(stats(t).evicted, 2);
	/* a and b kept their state. */
	ck_assert_ptr_eq(look(t, "192.0.2.1", 8), a);
	ck_assert_uint_eq(source_conns(a), 1);
	ck_assert_ptr_eq(look(t, "192.0.2.2", 8), b);
	ck_assert_int_eq(source_rate_take(b, 1, 1, 8), 0);
	/* Now make e and f dirty: nothing can go, the newcomer is not tracked. */
	source_conn_open(e);
	ck_assert_int_eq(source_rate_take(f, 1, 2, 9), 1);
	ck_assert_ptr_null(look(t, "192.0.2.7", 10));
	ck_assert_ptr_null(look(t, "2001:db8::7", 10));
	ck_assert_uint_eq(stats(t).untracked, 2);
	ck_assert_uint_eq(stats(t).evicted, 2);
	ck_assert_uint_eq(stats(t).entries, 4);
	/* Known sources are still found in a full table. */
	ck_assert_ptr_eq(look(t, "192.0.2.5", 11), e);
	/* b's bucket is full again from 1002 (the last take at 8 failed): b goes. */
	ck_assert_ptr_null(look(t, "192.0.2.8", 1001));
	g = look(t, "192.0.2.8", 1002);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(stats(t).evicted, 3);
	ck_assert_ptr_eq(look(t, "192.0.2.1", 1003), a);
	ck_assert_uint_eq(source_conns(a), 1);
	ck_assert_ptr_eq(look(t, "192.0.2.5", 1003), e);
	ck_assert_uint_eq(source_conns(e), 1);
	/* A closed connection makes its entry clean again: g goes first (older), then a. */
	source_conn_close(t, a, 1004);
	ck_assert_ptr_nonnull(look(t, "192.0.2.9", 1005));
	ck_assert_uint_eq(stats(t).evicted, 4);
	ck_assert_ptr_nonnull(look(t, "192.0.2.10", 1006));
	ck_assert_uint_eq(stats(t).evicted, 5);
	/* f (refilling until 1009) and e (busy) are still there. */
	ck_assert_ptr_eq(look(t, "192.0.2.6", 1007), f);
	ck_assert_int_eq(source_rate_take(f, 1, 2, 1007), 1);
	ck_assert_int_eq(source_rate_take(f, 1, 2, 1007), 0);
	ck_assert_ptr_eq(look(t, "192.0.2.5", 1007), e);
	ck_assert_uint_eq(source_conns(e), 1);
	ck_assert_uint_eq(stats(t).evicted, 5);
	source_table_free(t);
}
END_TEST

/* A table full of dirty entries: newcomers are counted, never tracked, cost bounded. */
START_TEST(test_full_never_evicts_dirty)
{
	struct source_table *t = source_table_new(100, 0);
	struct source *s[100];
	struct source_stats st;
	uint32_t i;

	for (i = 0; i < 100; i++) {
		s[i] = look_v4(t, 0x0a000000 + i, i);
		ck_assert_ptr_nonnull(s[i]);
		if (i % 2)
			source_conn_open(s[i]);
		else
			ck_assert_int_eq(source_rate_take(s[i], 1, 10, i), 1);
	}
	for (i = 0; i < 10000; i++)
		ck_assert_ptr_null(look_v4(t, 0xc0000000 + i, 200 + i / 100));
	st = stats(t);
	ck_assert_uint_eq(st.untracked, 10000);
	ck_assert_uint_eq(st.evicted, 0);
	ck_assert_uint_eq(st.entries, 100);
	/* Only the 50 idle (refilling) entries are ever looked at, at most 32 a time. */
	ck_assert_uint_le(st.scanned, 10000 * 32);
	for (i = 0; i < 100; i++) {
		ck_assert_ptr_eq(look_v4(t, 0x0a000000 + i, 300), s[i]);
		if (i % 2)
			ck_assert_uint_eq(source_conns(s[i]), 1);
		else	/* 9 tokens left of 10 at t=i, +0.3 by t=300 */
			ck_assert_int_eq(source_rate_take(s[i], 1, 10, 300), 1);
	}
	source_table_free(t);
}
END_TEST

START_TEST(test_max_zero)
{
	struct source_table *t = source_table_new(0, 1000);

	ck_assert_ptr_null(look(t, "192.0.2.1", 0));
	ck_assert_ptr_null(look(t, "2001:db8::1", 0));
	ck_assert_uint_eq(stats(t).untracked, 2);
	ck_assert_uint_eq(stats(t).entries, 0);
	source_table_free(t);
}
END_TEST

/* 1.1M distinct sources through a 10,000-entry table: bounded, every newcomer accounted for. */
START_TEST(test_memory_bounded)
{
	struct source_table *t = source_table_new(10000, 60000);
	struct source_stats st;
	struct sockaddr_in6 sin6;
	struct source *s;
	size_t peak = 0;
	uint32_t i;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[0] = 0x20;
	/* 1M sources at 10 a millisecond; one in three connects at 1000/s (refilling for 1 ms). */
	for (i = 0; i < 1000000; i++) {
		if (i % 2) {
			s = look_v4(t, 0x0b000000 + i, i / 10);
		} else {
			memcpy(&sin6.sin6_addr.s6_addr[4], &i, sizeof(i));
			s = source_lookup(t, 0, (struct sockaddr *)&sin6, 32, 64, i / 10);
		}
		if (s != NULL && i % 3 == 0)
			ck_assert_int_eq(source_rate_take(s, 1000, 5, i / 10), 1);
		if (i % 1000 == 0) {
			st = stats(t);
			ck_assert_uint_le(st.entries, 10000);
			if (st.memory > peak)
				peak = st.memory;
		}
	}
	st = stats(t);
	ck_assert_uint_eq(st.entries, 10000);
	ck_assert_uint_eq(st.entries + st.evicted + st.untracked, 1000000);
	ck_assert_uint_gt(st.evicted, 980000);
	/* Then 100,000 more in one millisecond, each left refilling for a second: the
	 * table fills with entries it may not evict and the rest go untracked. */
	for (i = 0; i < 100000; i++) {
		s = look_v4(t, 0x0c000000 + i, 200000);
		if (s != NULL)
			ck_assert_int_eq(source_rate_take(s, 1, 5, 200000), 1);
	}
	st = stats(t);
	ck_assert_uint_eq(st.entries, 10000);
	ck_assert_uint_eq(st.entries + st.evicted + st.untracked, 1100000);
	ck_assert_uint_ge(st.untracked, 90000);
	if (st.memory > peak)
		peak = st.memory;
	/* Entries (under 200 bytes each) and 16,384 buckets of a pointer. */
	ck_assert_uint_le(peak, 10000 * 200 + 16384 * sizeof(void *) + 1024);
	source_table_free(t);
}
END_TEST

/* ---------------------------------------------------------------- expiry */

START_TEST(test_expire)
{
	struct source_table *t = source_table_new(100, 1000);
	struct source *s[10];
	uint32_t i;

	for (i = 0; i < 10; i++)
		s[i] = look_v4(t, 0x0a000000 + i, 0);
	for (i = 0; i < 3; i++)
		source_conn_open(s[i]);			/* busy */
	for (i = 3; i < 5; i++) {			/* refilling until 5000 */
		ck_assert_int_eq(source_rate_take(s[i], 1, 5, 0), 1);
		ck_assert_int_eq(source_rate_take(s[i], 1, 5, 0), 1);
		ck_assert_int_eq(source_rate_take(s[i], 1, 5, 0), 1);
		ck_assert_int_eq(source_rate_take(s[i], 1, 5, 0), 1);
		ck_assert_int_eq(source_rate_take(s[i], 1, 5, 0), 1);
	}
	ck_assert_ptr_eq(look_v4(t, 0x0a000009, 900), s[9]);	/* used again */
	ck_assert_uint_eq(source_expire(t, 999), 0);
	ck_assert_uint_eq(source_expire(t, 1000), 4);		/* 5..8 */
	ck_assert_uint_eq(stats(t).entries, 6);
	ck_assert_uint_eq(source_expire(t, 1899), 0);
	ck_assert_uint_eq(source_expire(t, 1900), 1);		/* 9 */
	ck_assert_uint_eq(source_expire(t, 3000), 0);
	ck_assert_uint_eq(source_expire(t, 4000), 0);
	ck_assert_uint_eq(source_expire(t, 5000), 2);		/* 3, 4: full and idle */
	ck_assert_uint_eq(stats(t).entries, 3);
	ck_assert_uint_eq(stats(t).expired, 7);
	/* Busy entries never expire; closed, they do idle_ms after the close. */
	ck_assert_uint_eq(source_expire(t, 1000000), 0);
	for (i = 0; i < 3; i++)
		source_conn_close(t, s[i], 1000000 + i);
	ck_assert_uint_eq(source_expire(t, 1000999), 0);
	ck_assert_uint_eq(source_expire(t, 1001001), 2);
	ck_assert_uint_eq(source_expire(t, 1001002), 1);
	ck_assert_uint_eq(stats(t).entries, 0);
	ck_assert_uint_eq(stats(t).expired, 10);
	/* A new entry for an expired source starts afresh. */
	s[0] = look_v4(t, 0x0a000003, 1001003);
	ck_assert_uint_eq(source_conns(s[0]), 0);
	source_table_free(t);
}
END_TEST

START_TEST(test_expire_off)
{
	struct source_table *t = source_table_new(100, 0);

	look(t, "192.0.2.1", 0);
	ck_assert_uint_eq(source_expire(t, UINT64_MAX), 0);
	ck_assert_uint_eq(stats(t).entries, 1);
	source_table_free(t);
}
END_TEST

/* Expiry walks from the old end and stops: busy or young entries cost nothing. */
START_TEST(test_expire_cost)
{
	struct source_table *t = source_table_new(100000, 1000);
	struct source *s;
	uint32_t i;

	for (i = 0; i < 20000; i++) {
		s = look_v4(t, 0x0a000000 + i, 0);
		source_conn_open(s);
	}
	for (i = 0; i < 10; i++)
		look_v4(t, 0x0b000000 + i, 500);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(source_expire(t, 1000 + i / 2), 0);
	ck_assert_uint_eq(stats(t).scanned, 0);
	for (i = 0; i < 20000; i++)
		look_v4(t, 0x0c000000 + i, 2000);
	ck_assert_uint_eq(source_expire(t, 2000), 10);
	ck_assert_uint_eq(stats(t).scanned, 10);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(source_expire(t, 2999), 0);
	ck_assert_uint_eq(stats(t).scanned, 10);
	ck_assert_uint_eq(source_expire(t, 3000), 20000);
	ck_assert_uint_eq(stats(t).scanned, 20010);
	ck_assert_uint_eq(stats(t).entries, 20000);
	source_table_free(t);
}
END_TEST

/* ---------------------------------------------------------------- reload */

START_TEST(test_set_limits)
{
	struct source_table *t = source_table_new(10, 0);
	struct source *busy[2], *s;
	struct source_stats st;
	size_t mem;
	uint32_t i;

	for (i = 0; i < 8; i++)
		look_v4(t, 0x0a000000 + i, i);
	for (i = 0; i < 2; i++) {
		busy[i] = look_v4(t, 0x0b000000 + i, 100);
		source_conn_open(busy[i]);
	}
	ck_assert_uint_eq(stats(t).entries, 10);
	/* Lower: the six oldest clean entries go. */
	source_table_set_limits(t, 4, 0, 200);
	st = stats(t);
	ck_assert_uint_eq(st.entries, 4);
	ck_assert_uint_eq(st.max, 4);
	ck_assert_uint_eq(st.evicted, 6);
	ck_assert_ptr_nonnull(look_v4(t, 0x0a000007, 201));
	ck_assert_ptr_nonnull(look_v4(t, 0x0a000006, 201));
	ck_assert_uint_eq(stats(t).entries, 4);
	ck_assert_uint_eq(stats(t).evicted, 6);		/* found, not made anew */
	/* Below the busy count: the busy entries stay, newcomers are not tracked. */
	source_table_set_limits(t, 1, 0, 300);
	ck_assert_uint_eq(stats(t).entries, 2);
	ck_assert_ptr_null(look(t, "192.0.2.1", 301));
	ck_assert_uint_eq(source_conns(busy[0]), 1);
	/* Once they close, the next newcomer brings the count down to the max. */
	source_conn_close(t, busy[0], 400);
	source_conn_close(t, busy[1], 400);
	s = look(t, "192.0.2.1", 401);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(stats(t).entries, 1);
	/* Raise it again; the bucket array grows with the entries, up to the max. */
	source_table_set_limits(t, 5000, 0, 500);
	mem = stats(t).memory;
	for (i = 0; i < 6000; i++)
		look_v4(t, 0x0d000000 + i, 600);
	st = stats(t);
	ck_assert_uint_eq(st.entries, 5000);
	ck_assert_uint_gt(st.memory, mem);
	/* Lower again: entries and bucket array shrink. */
	mem = st.memory;
	source_table_set_limits(t, 100, 1000, 700);
	st = stats(t);
	ck_assert_uint_eq(st.entries, 100);
	ck_assert_uint_lt(st.memory, mem / 20);
	ck_assert_uint_eq(source_expire(t, 1600), 100);
	source_table_free(t);
}
END_TEST

/* ---------------------------------------------------------------- top sources */

struct top_seen {
	char		 addr[8][SOURCE_ADDRLEN];
	unsigned	 conns[8];
	size_t		 n;
};

static void
top_cb(const struct source_info *info, void *arg)
{
	struct top_seen *ts = arg;

	ck_assert_uint_lt(ts->n, 8);
	snprintf(ts->addr[ts->n], sizeof(ts->addr[ts->n]), "%s", info->addr);
	ts->conns[ts->n++] = info->conns;
}

START_TEST(test_top)
{
	struct source_table *t = source_table_new(1000, 0);
	struct top_seen ts;
	struct source *s;
	uint32_t i;
	int k;

	/* 500 quiet sources... */
	for (i = 0; i < 500; i++)
		look_v4(t, 0x0a000000 + i, 0);
	/* ...and a few busy ones. */
	s = look(t, "192.0.2.1", 0);			/* 2 open */
	source_conn_open(s);
	source_conn_open(s);
	s = look(t, "192.0.2.2", 0);			/* 1 open, 5 refused */
	source_conn_open(s);
	for (k = 0; k < 5; k++)
		source_refused(s, 1);
	s = look(t, "192.0.2.3", 0);			/* 1 open, 2 refused */
	source_conn_open(s);
	source_refused(s, 0);
	source_refused(s, 2);
	s = look(t, "2001:db8::1", 0);			/* 0 open, 9 accepted */
	for (k = 0; k < 9; k++) {
		source_conn_open(s);
		source_conn_close(t, s, 1);
	}
	s = look(t, "192.0.2.4", 0);			/* 0 open, 1 refused */
	source_refused(s, 7);
	s = look(t, "192.0.2.5", 0);			/* 0 open, 1 accepted */
	source_conn_open(s);
	source_conn_close(t, s, 1);

	memset(&ts, 0, sizeof(ts));
	source_top(t, 6, top_cb, &ts);
	ck_assert_uint_eq(ts.n, 6);
	ck_assert_str_eq(ts.addr[0], "192.0.2.1");
	ck_assert_uint_eq(ts.conns[0], 2);
	ck_assert_str_eq(ts.addr[1], "192.0.2.2");
	ck_assert_str_eq(ts.addr[2], "192.0.2.3");
	ck_assert_str_eq(ts.addr[3], "192.0.2.4");
	ck_assert_str_eq(ts.addr[4], "2001:db8::/64");
	ck_assert_str_eq(ts.addr[5], "192.0.2.5");

	memset(&ts, 0, sizeof(ts));
	source_top(t, 1, top_cb, &ts);
	ck_assert_uint_eq(ts.n, 1);
	ck_assert_str_eq(ts.addr[0], "192.0.2.1");
	memset(&ts, 0, sizeof(ts));
	source_top(t, 0, top_cb, &ts);
	ck_assert_uint_eq(ts.n, 0);
	source_table_free(t);

	/* More asked for than there are. */
	t = source_table_new(10, 0);
	look(t, "192.0.2.9", 0);
	look(t, "192.0.2.8", 0);
	memset(&ts, 0, sizeof(ts));
	source_top(t, 100, top_cb, &ts);
	ck_assert_uint_eq(ts.n, 2);
	/* Equal counts: address order, so the listing is stable. */
	ck_assert_str_eq(ts.addr[0], "192.0.2.8");
	ck_assert_str_eq(ts.addr[1], "192.0.2.9");
	source_table_free(t);
}
END_TEST

static Suite *
source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc;

	tc = tcase_create("hash");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_siphash24_vectors);
	tcase_add_test(tc, test_siphash13_vectors);
	tcase_add_test(tc, test_siphash_process_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("entries");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_lookup_same_entry);
	tcase_add_test(tc, test_prefix_grouping);
	tcase_add_test(tc, test_scopes);
	tcase_add_test(tc, test_not_ip);
	tcase_add_test(tc, test_counters);
	tcase_add_exit_test(tc, test_close_unopened, ECHOD_EX_FAIL);
	tcase_add_test(tc, test_top);
	suite_add_tcase(s, tc);

	tc = tcase_create("bucket");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rate_basic);
	tcase_add_test(tc, test_rate_no_drift);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_bucket);
	tcase_add_test(tc, test_bucket_extremes);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_evicts_clean_lru);
	tcase_add_test(tc, test_full_never_evicts_dirty);
	tcase_add_test(tc, test_max_zero);
	tcase_add_test(tc, test_memory_bounded);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_expire_off);
	tcase_add_test(tc, test_expire_cost);
	tcase_add_test(tc, test_set_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(source_suite());
}
