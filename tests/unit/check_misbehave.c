/*
 * check_misbehave.c: the pure part of misbehaving on purpose: the
 * settings' words (parse, format, limits), the seeded generator (known
 * splitmix64 outputs, reproducible choices, the share a probability picks,
 * connection n independent of the others), jitter bounds, and the output
 * marks (merging, the ring's growth and bound, consumption, due times).
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "misbehave.h"

START_TEST(test_splitmix64_known_values)
{
	uint64_t s = 0;

	/* the reference implementation's first outputs from state 0 */
	ck_assert_uint_eq(misbehave_next(&s), 0xe220a8397b1dcdafULL);
	ck_assert_uint_eq(misbehave_next(&s), 0x6e789e6aa1b965f4ULL);
	ck_assert_uint_eq(misbehave_next(&s), 0x06c45d188009454fULL);
}
END_TEST

static struct misbehave
mb_with(uint64_t seed, uint64_t ppm)
{
	struct misbehave m;

	memset(&m, 0, sizeof(m));
	misbehave_conf_default(&m.conf);
	m.conf.seed = seed;
	m.conf.probability = ppm;
	misbehave_start(&m, 999);
	return m;
}

START_TEST(test_choices_reproducible)
{
	struct misbehave a = mb_with(42, 500000), b = mb_with(42, 500000), c = mb_with(43, 500000);
	uint64_t sa, sb, sc;
	int i, same_as_other = 0;

	for (i = 0; i < 200; i++) {
		int ca = misbehave_choose(&a, &sa), cb = misbehave_choose(&b, &sb);

		ck_assert_int_eq(ca, cb);
		ck_assert_uint_eq(sa, sb);
		same_as_other += misbehave_choose(&c, &sc) == ca;
	}
	ck_assert_uint_eq(a.drawn, 200);
	/* another seed: another sequence (equal by chance about half the time) */
	ck_assert_int_lt(same_as_other, 150);
}
END_TEST

START_TEST(test_seed_zero_takes_the_random_seed)
{
	struct misbehave m = mb_with(0, MISBEHAVE_PPM), n = mb_with(7, MISBEHAVE_PPM);

	ck_assert_uint_eq(m.seed, 999);
	ck_assert_uint_eq(n.seed, 7);
	/* a restart begins the stream again */
	n.drawn = 12;
	misbehave_start(&n, 5);
	ck_assert_uint_eq(n.drawn, 0);
}
END_TEST

START_TEST(test_probability_share)
{
	struct misbehave none = mb_with(1, 0), all = mb_with(1, MISBEHAVE_PPM);
	struct misbehave half = mb_with(1, 500000), tenth = mb_with(9, 100000);
	int i, n_half = 0, n_tenth = 0;
	uint64_t st;

	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(misbehave_choose(&none, &st), 0);
		ck_assert_int_eq(misbehave_choose(&all, &st), 1);
		n_half += misbehave_choose(&half, &st);
		n_tenth += misbehave_choose(&tenth, &st);
	}
	/* binomial: 4 standard deviations either way */
	ck_assert_int_gt(n_half, 4800);
	ck_assert_int_lt(n_half, 5200);
	ck_assert_int_gt(n_tenth, 880);
	ck_assert_int_lt(n_tenth, 1120);
}
END_TEST

/* Connection n's answer and draws come from the seed and n, not from the probability. */
START_TEST(test_connection_state_depends_on_seed_and_index_only)
{
	struct misbehave a = mb_with(5, 300000), b = mb_with(5, MISBEHAVE_PPM);
	uint64_t sa, sb;
	int i;

	for (i = 0; i < 50; i++) {
		misbehave_choose(&a, &sa);
		misbehave_choose(&b, &sb);
		ck_assert_uint_eq(sa, sb);
	}
}
END_TEST

START_TEST(test_jitter_bounds)
{
	int64_t lo = 0, hi = 0, j;
	uint64_t s = 3;
	int i;

	ck_assert_int_eq(misbehave_jitter_us(0, 0), 0);
	ck_assert_int_eq(misbehave_jitter_us(UINT32_MAX, 0), 0);
	ck_assert_int_eq(misbehave_jitter_us(0, 20000), -20000);
	ck_assert_int_eq(misbehave_jitter_us(UINT32_MAX, 20000), 20000);
	for (i = 0; i < 100000; i++) {
		j = misbehave_jitter_us((uint32_t)(misbehave_next(&s) >> 32), 1000);
		ck_assert_int_ge(j, -1000);
		ck_assert_int_le(j, 1000);
		lo = j < lo ? j : lo;
		hi = j > hi ? j : hi;
	}
	/* the whole range is used */
	ck_assert_int_le(lo, -990);
	ck_assert_int_ge(hi, 990);
}
END_TEST

START_TEST(test_probability_words)
{
	static const struct {
		const char	*in;
		uint64_t	 ppm;
		const char	*out;
	} ok[] = {
		{ "0", 0, "0" }, { "1", 1000000, "1" }, { "0.25", 250000, "0.25" },
		{ "0.000001", 1, "0.000001" }, { ".5", 500000, "0.5" }, { "1.0", 1000000, "1" },
		{ "0.1", 100000, "0.1" }, { "0.123456", 123456, "0.123456" },
	};
	static const char *bad[] = { "", ".", "0.", "2", "1.5", "1.000001", "-0.1", "0.1234567",
	    "0,5", "0.5 ", "abc", "50%" };
	char buf[16];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 7;
		ck_assert_msg(misbehave_parse_probability(ok[i].in, &v) == 0, "%s", ok[i].in);
		ck_assert_uint_eq(v, ok[i].ppm);
		ck_assert_str_eq(misbehave_format_probability(v, buf, sizeof(buf)), ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		ck_assert_msg(misbehave_parse_probability(bad[i], &v) == -1, "'%s'", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
}
END_TEST

START_TEST(test_set_and_format)
{
	struct misbehave_conf mc, before;
	const char *why = NULL;
	char buf[512];

	misbehave_conf_default(&mc);
	ck_assert_int_eq(misbehave_active(&mc), 0);
	ck_assert_str_eq(misbehave_format(&mc, 42, buf, sizeof(buf)),
	    "delay=0 delay_jitter=0 slice_size=0 slice_delay=0 reset_after=0 stall_after=0 "
	    "close_after=0 misbehave_probability=1 misbehave_seed=42");
	ck_assert_int_eq(misbehave_set(&mc, "delay", "100ms", &why), 0);
	ck_assert_int_eq(misbehave_active(&mc), 1);
	ck_assert_int_eq(misbehave_set(&mc, "delay_jitter", "2s", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "slice_size", "1K", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "slice_delay", "5ms", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "reset_after", "1M", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "stall_after", "100", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "close_after", "3m", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "misbehave_probability", "0.5", &why), 0);
	ck_assert_int_eq(misbehave_set(&mc, "misbehave_seed", "18446744073709551615", &why), 0);
	ck_assert_uint_eq(mc.seed, UINT64_MAX);
	ck_assert_str_eq(misbehave_format(&mc, 7, buf, sizeof(buf)),
	    "delay=100ms delay_jitter=2s slice_size=1K slice_delay=5ms reset_after=1M "
	    "stall_after=100 close_after=3m misbehave_probability=0.5 misbehave_seed=7");

	/* refused: the settings stay as they were */
	before = mc;
	ck_assert_int_eq(misbehave_set(&mc, "delay", "2h", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "1h"));
	ck_assert_int_eq(misbehave_set(&mc, "delay", "soon", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "close_after", "169h", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "slice_size", "2G", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "misbehave_probability", "2", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "misbehave_seed", "-1", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "misbehave_seed", "18446744073709551616", &why), -1);
	ck_assert_int_eq(misbehave_set(&mc, "latency", "1s", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "delay_jitter"));
	ck_assert_mem_eq(&mc, &before, sizeof(mc));

	/* probability and seed alone are not a behaviour */
	misbehave_conf_default(&mc);
	mc.seed = 3;
	mc.probability = 1;
	ck_assert_int_eq(misbehave_active(&mc), 0);
	mc.close_after_ms = 1;
	ck_assert_int_eq(misbehave_active(&mc), 1);
}
END_TEST

START_TEST(test_marks_merge_and_consume)
{
	struct misbehave_marks q;
	struct misbehave_mark *m;

	memset(&q, 0, sizeof(q));
	ck_assert_ptr_null(misbehave_marks_at(&q, 0));
	misbehave_marks_push(&q, 1000, 10, 1);
	misbehave_marks_push(&q, 1999, 5, 2);      /* within 1 ms: one chunk */
	misbehave_marks_push(&q, 2000, 7, 3);      /* 1 ms later: its own */
	ck_assert_uint_eq(q.n, 2);
	ck_assert_uint_eq(q.bytes, 22);
	m = misbehave_marks_at(&q, 0);
	ck_assert_uint_eq(m->stamp_us, 1000);
	ck_assert_uint_eq(m->len, 15);
	ck_assert_uint_eq(m->draw, 1);
	ck_assert_uint_eq(misbehave_marks_at(&q, 1)->draw, 3);
	misbehave_marks_consume(&q, 12);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_uint_eq(misbehave_marks_at(&q, 0)->len, 3);
	misbehave_marks_consume(&q, 5);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_uint_eq(misbehave_marks_at(&q, 0)->stamp_us, 2000);
	ck_assert_uint_eq(misbehave_marks_at(&q, 0)->len, 5);
	ck_assert_uint_eq(q.bytes, 5);
	misbehave_marks_consume(&q, 100);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_uint_eq(q.bytes, 0);
	misbehave_marks_clear(&q);
}
END_TEST

/* The ring grows across its wrap-around point, in order; at its bound the last mark grows. */
START_TEST(test_marks_ring)
{
	struct misbehave_marks q;
	uint64_t t = 0, i;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < 6; i++, t += 5000)
		misbehave_marks_push(&q, t, 1, (uint32_t)i);
	misbehave_marks_consume(&q, 4);                 /* head moves to 4 */
	for (i = 6; i < 40; i++, t += 5000)
		misbehave_marks_push(&q, t, 1, (uint32_t)i);  /* wraps, then grows */
	ck_assert_uint_eq(q.n, 36);
	for (i = 0; i < 36; i++)
		ck_assert_uint_eq(misbehave_marks_at(&q, i)->draw, i + 4);
	misbehave_marks_clear(&q);

	for (i = 0; i < MISBEHAVE_MARKS_MAX + 10; i++, t += 5000)
		misbehave_marks_push(&q, t, 2, 0);
	ck_assert_uint_eq(q.n, MISBEHAVE_MARKS_MAX);
	ck_assert_uint_eq(q.bytes, 2 * (MISBEHAVE_MARKS_MAX + 10));
	ck_assert_uint_eq(misbehave_marks_at(&q, MISBEHAVE_MARKS_MAX - 1)->len, 22);
	misbehave_marks_clear(&q);
}
END_TEST

START_TEST(test_due_times)
{
	struct misbehave_mark lo = { 1000000, 1, 0 }, mid = { 1000000, 1, 1U << 31 },
	    hi = { 1000000, 1, UINT32_MAX };

	ck_assert_uint_eq(misbehave_due_us(&mid, 0, 0), 1000000);
	ck_assert_uint_eq(misbehave_due_us(&mid, 100000, 0), 1100000);
	ck_assert_uint_eq(misbehave_due_us(&lo, 100000, 20000), 1080000);
	ck_assert_uint_eq(misbehave_due_us(&hi, 100000, 20000), 1120000);
	/* jitter larger than the delay: never before the write */
	ck_assert_uint_eq(misbehave_due_us(&lo, 10000, 50000), 1000000);
}
END_TEST

static Suite *
misbehave_suite(void)
{
	Suite *s = suite_create("misbehave");
	TCase *tc = tcase_create("pure");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_splitmix64_known_values);
	tcase_add_test(tc, test_choices_reproducible);
	tcase_add_test(tc, test_seed_zero_takes_the_random_seed);
	tcase_add_test(tc, test_probability_share);
	tcase_add_test(tc, test_connection_state_depends_on_seed_and_index_only);
	tcase_add_test(tc, test_jitter_bounds);
	tcase_add_test(tc, test_probability_words);
	tcase_add_test(tc, test_set_and_format);
	tcase_add_test(tc, test_marks_merge_and_consume);
	tcase_add_test(tc, test_marks_ring);
	tcase_add_test(tc, test_due_times);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(misbehave_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
