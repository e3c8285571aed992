/*
 * check_util.c: unit tests for the value parsers and helpers in util.c.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "unit.h"

/* parse(s) gives want; what names the parser in the messages. */
static void
check_ok(int (*parse)(const char *, uint64_t *), const char *what, const char *s,
    uint64_t want)
{
	uint64_t v = 12345;

	ck_assert_msg(parse(s, &v) == 0, "%s '%s' rejected", what, s);
	ck_assert_msg(v == want, "%s '%s' = %llu, want %llu", what, s, (unsigned long long)v,
	    (unsigned long long)want);
}

/* parse(s) refuses s and leaves its output alone. */
static void
check_bad(int (*parse)(const char *, uint64_t *), const char *what, const char *s)
{
	uint64_t v = 12345;

	ck_assert_msg(parse(s, &v) == -1, "%s '%s' accepted", what, s);
	ck_assert_msg(v == 12345, "%s '%s': output changed on error", what, s);
}

#define check_size(s, want)	check_ok(util_parse_size, "size", (s), (want))
#define check_size_bad(s)	check_bad(util_parse_size, "size", (s))
#define check_duration(s, want)	check_ok(util_parse_duration_ms, "duration", (s), (want))
#define check_duration_bad(s)	check_bad(util_parse_duration_ms, "duration", (s))

START_TEST(test_size)
{
	check_size("0", 0);
	check_size("123", 123);
	check_size("4K", 4096);
	check_size("256k", 256 * 1024);
	check_size("1M", 1 << 20);
	check_size("2G", 2ULL << 30);
	check_size("64KB", 64 * 1024);
	check_size("1mb", 1 << 20);
	check_size("18446744073709551615", UINT64_MAX);
	check_size("17179869183G", 17179869183ULL << 30);
}
END_TEST

START_TEST(test_size_bad)
{
	check_size_bad("");
	check_size_bad("K");
	check_size_bad("-1");
	check_size_bad("+1");
	check_size_bad(" 1");
	check_size_bad("1 ");
	check_size_bad("1 K");
	check_size_bad("1T");
	check_size_bad("1KK");
	check_size_bad("1.5M");
	check_size_bad("0x10");
	check_size_bad("12Q");
	check_size_bad("18446744073709551616");
	check_size_bad("17179869184G");
}
END_TEST

START_TEST(test_duration)
{
	check_duration("0", 0);
	check_duration("10", 10000);
	check_duration("10s", 10000);
	check_duration("150ms", 150);
	check_duration("5m", 300000);
	check_duration("1h", 3600000);
	check_duration("0ms", 0);
}
END_TEST

START_TEST(test_duration_bad)
{
	check_duration_bad("");
	check_duration_bad("s");
	check_duration_bad("-1s");
	check_duration_bad("1 s");
	check_duration_bad("1S");
	check_duration_bad("1d");
	check_duration_bad("1.5s");
	check_duration_bad("10 fortnights");
	check_duration_bad("1sec");
	check_duration_bad("1msx");
	check_duration_bad("18446744073709551615s");
	check_duration_bad("18446744073709551616ms");
}
END_TEST

/* The shortest spelling, and the parsers read it back to the same value. */
START_TEST(test_fmt_round_trip)
{
	static const struct { uint64_t v; const char *size, *dur; } t[] = {
		{ 0, "0", "0" },
		{ 1, "1", "1ms" },
		{ 1000, "1000", "1s" },
		{ 1024, "1K", "1024ms" },
		{ 60000, "60000", "1m" },
		{ 1ULL << 20, "1M", "1048576ms" },
		{ 3600000, "3600000", "1h" },
		{ 5ULL << 30, "5G", "5368709120ms" },
		{ 90000, "90000", "90s" },
	};
	char buf[32];
	uint64_t back;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_str_eq(util_fmt_size(t[i].v, buf, sizeof(buf)), t[i].size);
		ck_assert_int_eq(util_parse_size(buf, &back), 0);
		ck_assert_uint_eq(back, t[i].v);
		ck_assert_str_eq(util_fmt_duration_ms(t[i].v, buf, sizeof(buf)), t[i].dur);
		if (t[i].v != 0) {	/* a bare "0" is seconds, the same zero */
			ck_assert_int_eq(util_parse_duration_ms(buf, &back), 0);
			ck_assert_uint_eq(back, t[i].v);
		}
	}
}
END_TEST

START_TEST(test_bool)
{
	static const char *yes[] = { "yes", "YES", "true", "True", "on", "ON", "1" };
	static const char *no[] = { "no", "No", "false", "FALSE", "off", "Off", "0" };
	static const char *bad[] = { "", "y", "n", "2", "yes ", "maybe", "perhaps", "enable" };
	size_t i;
	int v;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		v = -1;
		ck_assert_msg(util_parse_bool(yes[i], &v) == 0 && v == 1, "'%s' is not yes", yes[i]);
	}
	for (i = 0; i < ARRAY_LEN(no); i++) {
		v = -1;
		ck_assert_msg(util_parse_bool(no[i], &v) == 0 && v == 0, "'%s' is not no", no[i]);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		v = -1;
		ck_assert_msg(util_parse_bool(bad[i], &v) == -1 && v == -1, "'%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_uint)
{
	uint64_t v = 7;

	ck_assert_int_eq(util_parse_uint("0", 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(util_parse_uint("10", 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(util_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert(v == UINT64_MAX);
	v = 7;
	ck_assert_int_eq(util_parse_uint("11", 10, &v), -1);
	ck_assert_int_eq(util_parse_uint("", 10, &v), -1);
	ck_assert_int_eq(util_parse_uint("-1", 10, &v), -1);
	ck_assert_int_eq(util_parse_uint("1K", 10000, &v), -1);
	ck_assert_int_eq(util_parse_uint("lots", 10, &v), -1);
	ck_assert_int_eq(util_parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(test_alloc)
{
	char *s, *t;

	s = xstrdup("hello");
	ck_assert_str_eq(s, "hello");
	t = xstrndup("hello world", 5);
	ck_assert_str_eq(t, "hello");
	free(s);
	ck_assert_int_eq(xasprintf(&s, "%s=%d", "n", 42), 4);
	ck_assert_str_eq(s, "n=42");
	free(s);
	free(t);
}
END_TEST

/* The runtime allocators: results as the x-allocators', a failure NULL and counted. */
START_TEST(test_alloc_counted)
{
	uint64_t before = util_oom_count();
	char *s, *t;
	int *v;

	s = util_strdup("hello");
	ck_assert_str_eq(s, "hello");
	t = util_strndup("hello world", 5);
	ck_assert_str_eq(t, "hello");
	free(s);
	free(t);
	ck_assert_int_eq(util_asprintf(&s, "%s=%d", "n", 42), 4);
	ck_assert_str_eq(s, "n=42");
	free(s);
	v = util_calloc(4, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v[3], 0);
	v = util_reallocarray(v, 8, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	free(v);
	ck_assert_uint_eq(util_oom_count(), before);
	/* an overflowing size fails without an allocation, and is counted */
	ck_assert_ptr_null(util_reallocarray(NULL, SIZE_MAX / 2, 4));
	ck_assert_uint_eq(util_oom_count(), before + 1);
	util_oom();
	ck_assert_uint_eq(util_oom_count(), before + 2);
}
END_TEST

START_TEST(test_clock)
{
	uint64_t a = util_now_ms(), b = util_now_ms();
	uint64_t u1 = util_now_us(), u2 = util_now_us();

	ck_assert(b >= a);
	ck_assert(u2 >= u1);
	ck_assert(u1 / 1000 + 1000 >= a);
}
END_TEST

/* fatalx() logs and exits 1. */
START_TEST(test_fatalx)
{
	fatalx("test %d", 1);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_size_bad);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_duration_bad);
	tcase_add_test(tc, test_fmt_round_trip);
	tcase_add_test(tc, test_bool);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_alloc);
	tcase_add_test(tc, test_alloc_counted);
	tcase_add_test(tc, test_clock);
	tcase_add_exit_test(tc, test_fatalx, ECHOD_EX_FAIL);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(util_suite());
}
