/*
 * check_stats.c: the statistics registry (stats.c). Registration order and
 * the naming rules (every refusal through stats_check's cause and through
 * stats_register's exit), unregister, label counts and the end-marker
 * checks, escaping, seconds formatting at the edges, histogram buckets,
 * the admin text's prefix filter and line endings, stats_get, nearest-rank
 * percentiles, and `promtool check metrics` on a registry with a family of
 * every kind (skipped, with a note, when promtool is neither on PATH nor
 * unpacked in build-tools/ by scripts/dev.sh).
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "util.h"
#include "unit.h"

/* A sample for the test collect function: a value and up to four label values. */
struct sample {
	uint64_t	 v;
	const char	*l[STATS_MAX_LABELS];
};

struct samples {
	const struct sample	*s;
	size_t			 n;
	size_t			 nlabels;	/* label values passed per sample */
};

static void
emit_one(struct stats_emit *e, uint64_t v, size_t n, const char *const *l)
{
	switch (n) {
	case 0:
		stats_emit_u64(e, v);
		break;
	case 1:
		stats_emit_u64(e, v, l[0]);
		break;
	case 2:
		stats_emit_u64(e, v, l[0], l[1]);
		break;
	case 3:
		stats_emit_u64(e, v, l[0], l[1], l[2]);
		break;
	case 4:
		stats_emit_u64(e, v, l[0], l[1], l[2], l[3]);
		break;
	default:
		stats_emit_u64(e, v, l[0], l[1], l[2], l[3], "one too many");
		break;
	}
}

static void
collect_samples(struct stats_emit *e, void *arg)
{
	const struct samples *ss = arg;
	size_t i;

	for (i = 0; i < ss->n; i++)
		emit_one(e, ss->s[i].v, ss->nlabels, ss->s[i].l);
}

static void
collect_nothing(struct stats_emit *e, void *arg)
{
}

static void
collect_one_hist(struct stats_emit *e, void *arg)
{
	stats_emit_hist(e, (const struct stats_hist *)arg);
}

static void
collect_hist_by_cb(struct stats_emit *e, void *arg)
{
	const struct stats_hist *h = arg;

	stats_emit_hist(e, &h[0], "conn_read_cb");
	stats_emit_hist(e, &h[1], "pool \"done\"");
}

static void
collect_seven(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, 7);
}

/* The whole rendering must equal `want`, and *len its length. */
static void
expect_prom(const char *want)
{
	size_t len = 12345;
	char *got = stats_render_prometheus(&len);

	ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
	ck_assert_uint_eq(len, strlen(want));
	free(got);
}

static void
expect_text(const char *prefix, const char *want)
{
	size_t len = 12345;
	char *got = stats_render_text(prefix, &len);

	ck_assert_msg(strcmp(got, want) == 0, "prefix %s got:\n%s\nwant:\n%s",
	    prefix != NULL ? prefix : "(null)", got, want);
	ck_assert_uint_eq(len, strlen(want));
	free(got);
}

static void
setup(void)
{
	stats_clear();
}

static void
teardown(void)
{
	stats_clear();
}

/* ---------------------------------------------------------------- registration */

static const struct sample two_listeners[] = {
	{ 5, { "echo", "echo" } },
	{ 0, { "chargen", "chargen" } },
	{ 9, { "alpha", "echo" } },
};
static const struct samples two_listeners_ss = { two_listeners, 3, 2 };
static const struct sample one_plain[] = { { 42, { NULL } } };
static const struct samples one_plain_ss = { one_plain, 1, 0 };

static const struct stats_family fam_conns = {
	"connections_total", STATS_COUNTER, STATS_UNIT_NONE, "Connections accepted, by listener.",
	{ "listener", "service", NULL }, collect_samples, (void *)&two_listeners_ss,
};
static const struct stats_family fam_workers = {
	"pool_workers", STATS_GAUGE, STATS_UNIT_NONE, "Worker threads.", { NULL },
	collect_samples, (void *)&one_plain_ss,
};
static const struct stats_family fam_aardvark = {
	"aardvark", STATS_GAUGE, STATS_UNIT_NONE, "Registered last, sorts first.", { NULL },
	collect_seven, NULL,
};

/* Appends each family's name to a 256-byte buffer. */
static void
names_cb(const struct stats_family *f, void *arg)
{
	char *buf = arg;

	if (buf[0] != '\0')
		strncat(buf, " ", 255 - strlen(buf));
	strncat(buf, f->name, 255 - strlen(buf));
}

/* Families in registration order (not sorted), samples in emission order. */
START_TEST(test_order)
{
	char buf[256];

	stats_register(&fam_workers);
	stats_register(&fam_conns);
	stats_register(&fam_aardvark);
	expect_text(NULL, "pool_workers=42\r\n"
	    "connections_total{listener=\"echo\",service=\"echo\"}=5\r\n"
	    "connections_total{listener=\"chargen\",service=\"chargen\"}=0\r\n"
	    "connections_total{listener=\"alpha\",service=\"echo\"}=9\r\n"
	    "aardvark=7\r\n");
	buf[0] = '\0';
	stats_foreach_family(names_cb, buf);
	ck_assert_str_eq(buf, "pool_workers connections_total aardvark");
}
END_TEST

START_TEST(test_empty_registry)
{
	size_t len = 99;
	char *s;

	s = stats_render_prometheus(&len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	s = stats_render_text(NULL, NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* A family that is wrong in one way each, and the cause stats_check gives. */
struct bad_family {
	struct stats_family	 f;
	const char		*why;		/* a substring of the cause */
	const struct stats_family *before;	/* registered first (NULL: none) */
};

static const struct stats_family fam_lag = {
	"loop_lag_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "Loop lag.", { NULL },
	collect_nothing, NULL,
};

#define BAD(name, type, unit, help, coll, why, before, ...) \
	{ { name, type, unit, help, { __VA_ARGS__ }, coll, NULL }, why, before }
static const struct bad_family bad_families[] = {
	BAD(NULL, STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL, NULL),
	BAD("", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL, NULL),
	BAD("Conns", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL, NULL),
	BAD("1conns", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL, NULL),
	BAD("_conns", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL, NULL),
	BAD("conns-open", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL,
	    NULL),
	BAD("echod:conns", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "match", NULL,
	    NULL),
	BAD("conns", STATS_COUNTER, STATS_UNIT_NONE, "h", collect_nothing, "_total", NULL, NULL),
	BAD("lag", STATS_GAUGE, STATS_UNIT_SECONDS, "h", collect_nothing, "_seconds", NULL, NULL),
	BAD("busy_total", STATS_COUNTER, STATS_UNIT_SECONDS, "h", collect_nothing,
	    "_seconds_total", NULL, NULL),
	BAD("lag_seconds", STATS_HISTOGRAM, STATS_UNIT_NONE, "h", collect_nothing,
	    "histogram must be in seconds", NULL, NULL),
	BAD("x", (enum stats_type)7, STATS_UNIT_NONE, "h", collect_nothing, "type", NULL, NULL),
	BAD("x", STATS_GAUGE, (enum stats_unit)7, "h", collect_nothing, "unit", NULL, NULL),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, NULL, collect_nothing, "help", NULL, NULL),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, "h", NULL, "collect", NULL, NULL),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "label names", NULL,
	    "a", "b", "c", "d", "e"),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "label name does not",
	    NULL, "Listener", NULL),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "label name does not",
	    NULL, "__name__", NULL),
	BAD("x", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing, "repeated", NULL,
	    "a", "b", "a", NULL),
	BAD("cb_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "h", collect_nothing, "\"le\"",
	    NULL, "callback", "le", NULL),
	BAD("connections_total", STATS_COUNTER, STATS_UNIT_NONE, "h", collect_nothing, "clashes",
	    &fam_conns, NULL),
	BAD("loop_lag_seconds_count", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing,
	    "clashes", &fam_lag, NULL),
	BAD("loop_lag_seconds_bucket", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing,
	    "clashes", &fam_lag, NULL),
	BAD("loop_lag_seconds_sum", STATS_GAUGE, STATS_UNIT_NONE, "h", collect_nothing,
	    "clashes", &fam_lag, NULL),
	BAD("pool", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "h", collect_nothing, "_seconds",
	    NULL, NULL),
};
#define NBAD	((int)ARRAY_LEN(bad_families))

static const struct stats_family fam_wait = {
	"pool_wait_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "h", { NULL }, collect_nothing,
	NULL,
};
static const struct stats_family fam_wait_sum = {
	"pool_wait_seconds_sum", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL }, collect_nothing,
	NULL,
};
static const struct stats_family fam_wait_total = {
	"pool_wait_seconds_total", STATS_COUNTER, STATS_UNIT_SECONDS, "h", { NULL },
	collect_nothing, NULL,
};

/* Every rule through stats_check's cause. */
START_TEST(test_check_rules)
{
	const struct stats_family four_ok = {
		"four", STATS_GAUGE, STATS_UNIT_NONE, "h", { "w", "x", "y", "z", NULL },
		collect_nothing, NULL,
	}, busy_ok = {
		"busy_seconds_total", STATS_COUNTER, STATS_UNIT_SECONDS, "h", { NULL },
		collect_nothing, NULL,
	};
	const struct bad_family *b;
	const char *why;
	int i;

	for (i = 0; i < NBAD; i++) {
		b = &bad_families[i];
		stats_clear();
		if (b->before != NULL)
			stats_register(b->before);
		why = NULL;
		ck_assert_msg(stats_check(&b->f, &why) == -1, "row %d (%s) accepted", i,
		    b->f.name != NULL ? b->f.name : "NULL");
		ck_assert_msg(strstr(why, b->why) != NULL, "row %d: cause '%s', want '%s'", i, why,
		    b->why);
	}
	ck_assert_int_eq(stats_check(NULL, &why), -1);
	/* Near misses that are valid: a seconds counter, 4 labels, a gauge's NAME_sum. */
	stats_clear();
	ck_assert_msg(stats_check(&four_ok, &why) == 0, "%s", why);
	ck_assert_msg(stats_check(&busy_ok, &why) == 0, "%s", why);
	stats_register(&fam_workers);
	ck_assert_msg(stats_check(&fam_wait_sum, &why) == 0, "%s", why);
	/* A histogram claims NAME_sum and friends: a clash in both orders. */
	stats_register(&fam_wait_sum);
	ck_assert_int_eq(stats_check(&fam_wait, &why), -1);
	ck_assert_str_eq(why, "the name clashes with a registered family's");
	stats_clear();
	stats_register(&fam_wait);
	ck_assert_int_eq(stats_check(&fam_wait_sum, &why), -1);
	ck_assert_msg(stats_check(&fam_wait_total, &why) == 0, "%s", why);
	stats_register(&fam_wait_total);
	stats_register(&fam_workers);
	/* The same family twice. */
	ck_assert_int_eq(stats_check(&fam_workers, &why), -1);
	ck_assert_str_eq(why, "already registered");
}
END_TEST

/* stats_register exits (fatalx) on each refused row. */
START_TEST(test_register_refused)
{
	const struct bad_family *b = &bad_families[_i];

	if (b->before != NULL)
		stats_register(b->before);
	stats_register(&b->f);
}
END_TEST

START_TEST(test_register_twice)
{
	stats_register(&fam_conns);
	stats_register(&fam_conns);
}
END_TEST

START_TEST(test_register_null)
{
	stats_register(NULL);
}
END_TEST

START_TEST(test_unregister)
{
	uint64_t sum;

	stats_register(&fam_workers);
	stats_register(&fam_conns);
	stats_register(&fam_aardvark);
	stats_unregister(&fam_conns);
	stats_unregister(&fam_conns);		/* no longer there: no-op */
	stats_unregister(&fam_lag);		/* never there: no-op */
	expect_text(NULL, "pool_workers=42\r\naardvark=7\r\n");
	ck_assert_int_eq(stats_get("connections_total", &sum), -1);
	/* Back again, now last. */
	stats_register(&fam_conns);
	expect_text("", "pool_workers=42\r\naardvark=7\r\n"
	    "connections_total{listener=\"echo\",service=\"echo\"}=5\r\n"
	    "connections_total{listener=\"chargen\",service=\"chargen\"}=0\r\n"
	    "connections_total{listener=\"alpha\",service=\"echo\"}=9\r\n");
	stats_unregister(&fam_workers);
	stats_unregister(&fam_conns);
	stats_unregister(&fam_aardvark);
	expect_text(NULL, "");
	stats_register(&fam_aardvark);
	expect_text(NULL, "aardvark=7\r\n");
}
END_TEST

/* ---------------------------------------------------------------- labels */

static const struct sample four[] = {
	{ 1, { "a", "b", "c", "d" } },
	{ 2, { "", "", "", "" } },
};
static const struct samples four_ss = { four, 2, 4 };
static const struct sample one[] = { { 3, { "x" } } };
static const struct samples one_ss = { one, 1, 1 };

static const struct stats_family fam_four = {
	"four", STATS_GAUGE, STATS_UNIT_NONE, "Four labels.", { "w", "x", "y", "z", NULL },
	collect_samples, (void *)&four_ss,
};
static const struct stats_family fam_one = {
	"one", STATS_GAUGE, STATS_UNIT_NONE, "One label.", { "only", NULL },
	collect_samples, (void *)&one_ss,
};

START_TEST(test_label_counts)
{
	stats_register(&fam_workers);
	stats_register(&fam_one);
	stats_register(&fam_conns);
	stats_register(&fam_four);
	expect_prom("# HELP echod_pool_workers Worker threads.\n"
	    "# TYPE echod_pool_workers gauge\n"
	    "echod_pool_workers 42\n"
	    "# HELP echod_one One label.\n"
	    "# TYPE echod_one gauge\n"
	    "echod_one{only=\"x\"} 3\n"
	    "# HELP echod_connections_total Connections accepted, by listener.\n"
	    "# TYPE echod_connections_total counter\n"
	    "echod_connections_total{listener=\"echo\",service=\"echo\"} 5\n"
	    "echod_connections_total{listener=\"chargen\",service=\"chargen\"} 0\n"
	    "echod_connections_total{listener=\"alpha\",service=\"echo\"} 9\n"
	    "# HELP echod_four Four labels.\n"
	    "# TYPE echod_four gauge\n"
	    "echod_four{w=\"a\",x=\"b\",y=\"c\",z=\"d\"} 1\n"
	    "echod_four{w=\"\",x=\"\",y=\"\",z=\"\"} 2\n");
}
END_TEST

static struct stats_hist zero_hist;

/* Wrong label value counts stop the process instead of reading past the arguments. */
static const struct samples too_few_ss = { two_listeners, 3, 1 };
static const struct samples too_many_ss = { two_listeners, 3, 3 };
static const struct samples five_ss = { four, 2, 5 };
static const struct sample null_label[] = { { 1, { "echo", NULL } } };
static const struct samples null_label_ss = { null_label, 1, 2 };
static const struct stats_family fam_wrong[] = {
	{ "too_few", STATS_GAUGE, STATS_UNIT_NONE, "h", { "listener", "service", NULL },
	  collect_samples, (void *)&too_few_ss },
	{ "too_many", STATS_GAUGE, STATS_UNIT_NONE, "h", { "listener", "service", NULL },
	  collect_samples, (void *)&too_many_ss },
	{ "five", STATS_GAUGE, STATS_UNIT_NONE, "h", { "w", "x", "y", "z", NULL },
	  collect_samples, (void *)&five_ss },
	{ "none_wanted", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL },
	  collect_samples, (void *)&one_ss },
	{ "null_value", STATS_GAUGE, STATS_UNIT_NONE, "h", { "listener", "service", NULL },
	  collect_samples, (void *)&null_label_ss },
	{ "u64_in_hist_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "h", { NULL },
	  collect_seven, NULL },
	{ "hist_in_gauge", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL },
	  collect_one_hist, &zero_hist },
};

/* Each wrong family stops every rendering: Prometheus, text and stats_get. */
START_TEST(test_emit_wrong)
{
	const struct stats_family *f = &fam_wrong[_i / 3];
	uint64_t sum;

	stats_register(f);
	switch (_i % 3) {
	case 0:
		free(stats_render_prometheus(NULL));
		break;
	case 1:
		free(stats_render_text(NULL, NULL));
		break;
	default:
		stats_get(f->name, &sum);
		break;
	}
}
END_TEST

/* ---------------------------------------------------------------- escaping */

static const struct sample odd[] = {
	{ 1, { "back\\slash", "quote\"d" } },
	{ 2, { "new\nline", "all\\\"\n" } },
	{ 3, { "plain {}=,", "" } },
};
static const struct samples odd_ss = { odd, 3, 2 };
static const struct stats_family fam_odd = {
	"odd", STATS_GAUGE, STATS_UNIT_NONE, "Help with \\ and a \"quote\"\nand a second line.",
	{ "a", "b", NULL }, collect_samples, (void *)&odd_ss,
};

START_TEST(test_escaping)
{
	stats_register(&fam_odd);
	expect_prom("# HELP echod_odd Help with \\\\ and a \"quote\"\\nand a second line.\n"
	    "# TYPE echod_odd gauge\n"
	    "echod_odd{a=\"back\\\\slash\",b=\"quote\\\"d\"} 1\n"
	    "echod_odd{a=\"new\\nline\",b=\"all\\\\\\\"\\n\"} 2\n"
	    "echod_odd{a=\"plain {}=,\",b=\"\"} 3\n");
	expect_text(NULL, "odd{a=\"back\\\\slash\",b=\"quote\\\"d\"}=1\r\n"
	    "odd{a=\"new\\nline\",b=\"all\\\\\\\"\\n\"}=2\r\n"
	    "odd{a=\"plain {}=,\",b=\"\"}=3\r\n");
}
END_TEST

/* ---------------------------------------------------------------- seconds */

static const struct sample secs[] = {
	{ 0, { "zero" } },
	{ 1, { "one_us" } },
	{ 999999, { "just_under" } },
	{ 1000000, { "one_s" } },
	{ 1000001, { "just_over" } },
	{ 139, { "typical" } },
	{ UINT64_MAX - 1, { "max_minus_1" } },
	{ UINT64_MAX, { "max" } },
};
static const struct samples secs_ss = { secs, ARRAY_LEN(secs), 1 };
static const struct stats_family fam_secs = {
	"lag_seconds", STATS_GAUGE, STATS_UNIT_SECONDS, "Seconds.", { "case", NULL },
	collect_samples, (void *)&secs_ss,
};
static const struct samples busy_ss = { &secs[5], 1, 0 };
static const struct stats_family fam_busy = {
	"busy_seconds_total", STATS_COUNTER, STATS_UNIT_SECONDS, "Busy time.", { NULL },
	collect_samples, (void *)&busy_ss,
};

START_TEST(test_seconds)
{
	stats_register(&fam_secs);
	stats_register(&fam_busy);
	expect_prom("# HELP echod_lag_seconds Seconds.\n"
	    "# TYPE echod_lag_seconds gauge\n"
	    "echod_lag_seconds{case=\"zero\"} 0.000000\n"
	    "echod_lag_seconds{case=\"one_us\"} 0.000001\n"
	    "echod_lag_seconds{case=\"just_under\"} 0.999999\n"
	    "echod_lag_seconds{case=\"one_s\"} 1.000000\n"
	    "echod_lag_seconds{case=\"just_over\"} 1.000001\n"
	    "echod_lag_seconds{case=\"typical\"} 0.000139\n"
	    "echod_lag_seconds{case=\"max_minus_1\"} 18446744073709.551614\n"
	    "echod_lag_seconds{case=\"max\"} 18446744073709.551615\n"
	    "# HELP echod_busy_seconds_total Busy time.\n"
	    "# TYPE echod_busy_seconds_total counter\n"
	    "echod_busy_seconds_total 0.000139\n");
	expect_text("lag", "lag_seconds{case=\"zero\"}=0.000000\r\n"
	    "lag_seconds{case=\"one_us\"}=0.000001\r\n"
	    "lag_seconds{case=\"just_under\"}=0.999999\r\n"
	    "lag_seconds{case=\"one_s\"}=1.000000\r\n"
	    "lag_seconds{case=\"just_over\"}=1.000001\r\n"
	    "lag_seconds{case=\"typical\"}=0.000139\r\n"
	    "lag_seconds{case=\"max_minus_1\"}=18446744073709.551614\r\n"
	    "lag_seconds{case=\"max\"}=18446744073709.551615\r\n");
	expect_text("busy", "busy_seconds_total=0.000139\r\n");
}
END_TEST

/* ---------------------------------------------------------------- histograms */

/* Samples at, just over and far past bounds: a bucket holds the samples <= its bound. */
static void
fill_hist(struct stats_hist *h)
{
	static const uint64_t us[] = { 0, 10, 11, 50, 10000000, 10000001 };
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < ARRAY_LEN(us); i++)
		stats_hist_add(h, us[i]);
}

START_TEST(test_hist_add)
{
	struct stats_hist h;
	size_t i;

	fill_hist(&h);
	ck_assert_uint_eq(h.counts[0], 2);
	ck_assert_uint_eq(h.counts[1], 2);
	for (i = 2; i < STATS_HIST_BUCKETS - 1; i++)
		ck_assert_uint_eq(h.counts[i], 0);
	ck_assert_uint_eq(h.counts[STATS_HIST_BUCKETS - 1], 1);
	ck_assert_uint_eq(h.counts[STATS_HIST_BUCKETS], 1);
	ck_assert_uint_eq(h.count, 6);
	ck_assert_uint_eq(h.sum_us, 20000072);
	/* Every bound lands in its own bucket, one past it in the next. */
	for (i = 0; i < STATS_HIST_BUCKETS; i++) {
		memset(&h, 0, sizeof(h));
		stats_hist_add(&h, stats_hist_bounds_us[i]);
		stats_hist_add(&h, stats_hist_bounds_us[i] + 1);
		ck_assert_uint_eq(h.counts[i], 1);
		ck_assert_uint_eq(h.counts[i + 1], 1);
	}
}
END_TEST

static const struct stats_family fam_empty_hist = {
	"idle_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "Never observed.", { NULL },
	collect_nothing, NULL,
};

START_TEST(test_hist_render)
{
	struct stats_hist h;
	struct stats_family lag = fam_lag;

	fill_hist(&h);
	lag.collect = collect_one_hist;
	lag.arg = &h;
	stats_register(&lag);
	stats_register(&fam_empty_hist);
	expect_prom("# HELP echod_loop_lag_seconds Loop lag.\n"
	    "# TYPE echod_loop_lag_seconds histogram\n"
	    "echod_loop_lag_seconds_bucket{le=\"1e-05\"} 2\n"
	    "echod_loop_lag_seconds_bucket{le=\"5e-05\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.0001\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.0005\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.001\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.005\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.01\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.025\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.05\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.1\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.25\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"0.5\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"1\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"2.5\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"5\"} 4\n"
	    "echod_loop_lag_seconds_bucket{le=\"10\"} 5\n"
	    "echod_loop_lag_seconds_bucket{le=\"+Inf\"} 6\n"
	    "echod_loop_lag_seconds_sum 20.000072\n"
	    "echod_loop_lag_seconds_count 6\n"
	    "# HELP echod_idle_seconds Never observed.\n"
	    "# TYPE echod_idle_seconds histogram\n");
	expect_text(NULL, "loop_lag_seconds_count=6\r\nloop_lag_seconds_sum=20.000072\r\n");
}
END_TEST

START_TEST(test_hist_labels)
{
	struct stats_hist h[2];
	struct stats_family f = {
		"callback_duration_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "By callback.",
		{ "callback", NULL }, collect_hist_by_cb, h,
	};
	char *text;

	fill_hist(&h[0]);
	memset(&h[1], 0, sizeof(h[1]));
	stats_hist_add(&h[1], 139);
	stats_register(&f);
	text = stats_render_prometheus(NULL);
	ck_assert_msg(strstr(text, "echod_callback_duration_seconds_bucket{callback=\"conn_read_cb\","
	    "le=\"1e-05\"} 2\n") != NULL, "%s", text);
	ck_assert(strstr(text, "echod_callback_duration_seconds_bucket{callback=\"conn_read_cb\","
	    "le=\"+Inf\"} 6\n") != NULL);
	ck_assert(strstr(text, "echod_callback_duration_seconds_sum{callback=\"conn_read_cb\"} "
	    "20.000072\necho") != NULL);
	ck_assert(strstr(text, "echod_callback_duration_seconds_bucket{callback=\"pool \\\"done\\\"\","
	    "le=\"0.0001\"} 0\necho") != NULL);
	ck_assert(strstr(text, "echod_callback_duration_seconds_bucket{callback=\"pool \\\"done\\\"\","
	    "le=\"0.0005\"} 1\necho") != NULL);
	ck_assert(strstr(text, "echod_callback_duration_seconds_count{callback=\"pool \\\"done\\\"\"} "
	    "1\n") != NULL);
	free(text);
	expect_text(NULL, "callback_duration_seconds_count{callback=\"conn_read_cb\"}=6\r\n"
	    "callback_duration_seconds_sum{callback=\"conn_read_cb\"}=20.000072\r\n"
	    "callback_duration_seconds_count{callback=\"pool \\\"done\\\"\"}=1\r\n"
	    "callback_duration_seconds_sum{callback=\"pool \\\"done\\\"\"}=0.000139\r\n");
}
END_TEST

/* ---------------------------------------------------------------- text */

START_TEST(test_prefix)
{
	char *s, *p;

	stats_register(&fam_conns);
	stats_register(&fam_workers);
	stats_register(&fam_aardvark);
	stats_register(&fam_one);
	expect_text("connections", "connections_total{listener=\"echo\",service=\"echo\"}=5\r\n"
	    "connections_total{listener=\"chargen\",service=\"chargen\"}=0\r\n"
	    "connections_total{listener=\"alpha\",service=\"echo\"}=9\r\n");
	expect_text("pool_", "pool_workers=42\r\n");
	expect_text("o", "one{only=\"x\"}=3\r\n");
	expect_text("pool_workers_", "");
	expect_text("echod_", "");		/* the admin names have no echod_ prefix */
	expect_text("zzz", "");
	/* "" and NULL: all; every line ends in CRLF, no bare LF. */
	s = stats_render_text("", NULL);
	ck_assert_str_eq(s, "connections_total{listener=\"echo\",service=\"echo\"}=5\r\n"
	    "connections_total{listener=\"chargen\",service=\"chargen\"}=0\r\n"
	    "connections_total{listener=\"alpha\",service=\"echo\"}=9\r\n"
	    "pool_workers=42\r\naardvark=7\r\none{only=\"x\"}=3\r\n");
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		ck_assert(p > s && p[-1] == '\r');
	free(s);
}
END_TEST

/* ---------------------------------------------------------------- stats_get */

static void
collect_from_other(struct stats_emit *e, void *arg)
{
	uint64_t conns = 0;

	ck_assert_int_eq(stats_get("connections_total", &conns), 0);
	stats_emit_u64(e, conns * 2);
}

static const struct sample big[] = {
	{ UINT64_MAX - 5, { "a" } },
	{ 10, { "b" } },
};
static const struct samples big_ss = { big, 2, 1 };
static const struct stats_family fam_big = {
	"big_total", STATS_COUNTER, STATS_UNIT_NONE, "Saturates.", { "x", NULL },
	collect_samples, (void *)&big_ss,
};
static const struct stats_family fam_derived = {
	"derived", STATS_GAUGE, STATS_UNIT_NONE, "Twice connections_total.", { NULL },
	collect_from_other, NULL,
};

START_TEST(test_get)
{
	struct stats_hist h[2];
	struct stats_family hf = {
		"callback_duration_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "By callback.",
		{ "callback", NULL }, collect_hist_by_cb, h,
	};
	uint64_t sum = 777;

	fill_hist(&h[0]);
	memset(&h[1], 0, sizeof(h[1]));
	stats_hist_add(&h[1], 139);
	ck_assert_int_eq(stats_get("connections_total", &sum), -1);
	stats_register(&fam_conns);
	stats_register(&fam_workers);
	stats_register(&fam_secs);
	stats_register(&fam_big);
	stats_register(&fam_empty_hist);
	stats_register(&hf);
	stats_register(&fam_derived);
	ck_assert_int_eq(stats_get("connections_total", &sum), 0);
	ck_assert_uint_eq(sum, 14);
	ck_assert_int_eq(stats_get("pool_workers", &sum), 0);
	ck_assert_uint_eq(sum, 42);
	ck_assert_int_eq(stats_get("big_total", &sum), 0);
	ck_assert_uint_eq(sum, UINT64_MAX);
	ck_assert_int_eq(stats_get("idle_seconds", &sum), 0);
	ck_assert_uint_eq(sum, 0);
	ck_assert_int_eq(stats_get("callback_duration_seconds", &sum), 0);
	ck_assert_uint_eq(sum, 7);
	ck_assert_int_eq(stats_get("derived", &sum), 0);	/* stats_get inside a collect */
	ck_assert_uint_eq(sum, 28);
	/* Microseconds, and the sum saturates: 1 + 999999 + ... + UINT64_MAX. */
	ck_assert_int_eq(stats_get("lag_seconds", &sum), 0);
	ck_assert_uint_eq(sum, UINT64_MAX);
	ck_assert_int_eq(stats_get("connections", &sum), -1);
	ck_assert_int_eq(stats_get("echod_connections_total", &sum), -1);
	ck_assert_int_eq(stats_get("callback_duration_seconds_count", &sum), -1);
	/* Rendering after stats_get in a collect still renders everything once. */
	expect_text("derived", "derived=28\r\n");
}
END_TEST

/* ---------------------------------------------------------------- reentry */

static void
collect_registers(struct stats_emit *e, void *arg)
{
	stats_register(&fam_aardvark);
}

static void
collect_unregisters(struct stats_emit *e, void *arg)
{
	stats_unregister(&fam_workers);
}

static void
collect_clears(struct stats_emit *e, void *arg)
{
	stats_clear();
}

static const struct stats_family fam_reentry[] = {
	{ "reg", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL }, collect_registers, NULL },
	{ "unreg", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL }, collect_unregisters, NULL },
	{ "clear", STATS_GAUGE, STATS_UNIT_NONE, "h", { NULL }, collect_clears, NULL },
};

/* The family list cannot change under a rendering. */
START_TEST(test_reentry)
{
	stats_register(&fam_workers);
	stats_register(&fam_reentry[_i]);
	free(stats_render_text(NULL, NULL));
}
END_TEST

/* ---------------------------------------------------------------- percentile */

START_TEST(test_percentile)
{
	uint64_t v[100], one1 = 7, three[] = { 30, 10, 20 };
	size_t i;

	ck_assert_uint_eq(stats_percentile(NULL, 0, 50), 0);
	ck_assert_uint_eq(stats_percentile(&one1, 1, 0), 7);
	ck_assert_uint_eq(stats_percentile(&one1, 1, 99), 7);
	/* 1..100 shuffled: the p-th percentile is p. */
	for (i = 0; i < 100; i++)
		v[i] = (i * 37) % 100 + 1;
	ck_assert_uint_eq(stats_percentile(v, 100, 50), 50);
	for (i = 1; i < 100; i++)
		ck_assert_uint_eq(v[i - 1] + 1, v[i]);		/* sorted in place */
	ck_assert_uint_eq(stats_percentile(v, 100, 1), 1);
	ck_assert_uint_eq(stats_percentile(v, 100, 99), 99);
	ck_assert_uint_eq(stats_percentile(v, 100, 100), 100);
	ck_assert_uint_eq(stats_percentile(v, 100, 0), 1);
	ck_assert_uint_eq(stats_percentile(v, 100, 250), 100);
	/* Three samples: rank ceil(3 * p / 100). */
	ck_assert_uint_eq(stats_percentile(three, 3, 33), 10);
	ck_assert_uint_eq(stats_percentile(three, 3, 34), 20);
	ck_assert_uint_eq(stats_percentile(three, 3, 50), 20);
	ck_assert_uint_eq(stats_percentile(three, 3, 66), 20);
	ck_assert_uint_eq(stats_percentile(three, 3, 67), 30);
	/* 1000 samples 1..1000: p99 is the 990th. */
	{
		uint64_t w[1000];

		for (i = 0; i < 1000; i++)
			w[i] = 1000 - i;
		ck_assert_uint_eq(stats_percentile(w, 1000, 99), 990);
		ck_assert_uint_eq(stats_percentile(w, 1000, 50), 500);
	}
}
END_TEST

/* ---------------------------------------------------------------- promtool */

/*
 * promtool on PATH, else unpacked by scripts/dev.sh into build-tools/ of the
 * source tree ($top_srcdir under make check); NULL if neither.
 */
static const char *
promtool_path(void)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	if (system("command -v promtool >/dev/null 2>&1") == 0)
		return "promtool";
	snprintf(path, sizeof(path), "%s/build-tools/usr/bin/promtool",
	    top != NULL ? top : CHECK_STATS_SRCDIR);
	return access(path, X_OK) == 0 ? path : NULL;
}

/* Exit status of `promtool check metrics < text`; its output in out. */
static int
promtool_check(const char *promtool, const char *text, char *out, size_t outsize)
{
	char in[64], res[64], cmd[4500];
	FILE *fp;
	size_t n;
	int status;

	snprintf(in, sizeof(in), "/tmp/check_stats.%ld.prom", (long)getpid());
	snprintf(res, sizeof(res), "/tmp/check_stats.%ld.out", (long)getpid());
	fp = fopen(in, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
	ck_assert_int_eq(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "'%s' check metrics <%s >%s 2>&1", promtool, in, res);
	status = system(cmd);
	fp = fopen(res, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(out, 1, outsize - 1, fp);
	out[n] = '\0';
	fclose(fp);
	unlink(in);
	unlink(res);
	ck_assert_msg(status != -1 && WIFEXITED(status), "cannot run %s", cmd);
	return WEXITSTATUS(status);
}

static const struct sample reasons[] = {
	{ 3, { "echo", "fd_limit" } },
	{ 0, { "we\"ird\\name\n", "accept_error" } },
};
static const struct samples reasons_ss = { reasons, 2, 2 };
static const struct stats_family fam_rejected = {
	"connections_rejected_total", STATS_COUNTER, STATS_UNIT_NONE,
	"Connections refused at accept, by listener and reason (a \\ and a\nnewline).",
	{ "listener", "reason", NULL }, collect_samples, (void *)&reasons_ss,
};
static const struct stats_family fam_no_samples = {
	"jobs_rejected_total", STATS_COUNTER, STATS_UNIT_NONE, "No samples yet.", { "reason", NULL },
	collect_nothing, NULL,
};

START_TEST(test_promtool)
{
	const char *promtool = promtool_path();
	struct stats_hist h[2];
	struct stats_family lag = fam_lag, cb = {
		"callback_duration_seconds", STATS_HISTOGRAM, STATS_UNIT_SECONDS, "By callback.",
		{ "callback", NULL }, collect_hist_by_cb, h,
	};
	char out[1024], *text;
	int rc;

	if (promtool == NULL) {
		printf("check_stats: SKIP test_promtool: promtool is neither on PATH nor in "
		    "$top_srcdir/build-tools (scripts/dev.sh test unpacks it there)\n");
		return;
	}
	fill_hist(&h[0]);
	memset(&h[1], 0, sizeof(h[1]));
	stats_hist_add(&h[1], 139);
	lag.collect = collect_one_hist;
	lag.arg = &h[0];
	stats_register(&fam_conns);		/* counter, two labels */
	stats_register(&fam_rejected);		/* counter, escaped labels and help */
	stats_register(&fam_no_samples);	/* counter without samples */
	stats_register(&fam_workers);		/* gauge */
	stats_register(&fam_secs);		/* seconds gauge, labels, huge values */
	stats_register(&fam_busy);		/* seconds counter */
	stats_register(&lag);			/* histogram */
	stats_register(&cb);			/* histogram with labels */
	stats_register(&fam_empty_hist);	/* histogram without samples */
	text = stats_render_prometheus(NULL);
	rc = promtool_check(promtool, text, out, sizeof(out));
	if (rc != 0)		/* too long for a Check message: the log gets it */
		fprintf(stderr, "rendering given to promtool:\n%s", text);
	ck_assert_msg(rc == 0, "promtool check metrics exit %d: %s", rc, out);
	free(text);
	/* The check can fail: a counter without _total and a bad escape are refused. */
	rc = promtool_check(promtool, "# HELP echod_conns x\n# TYPE echod_conns counter\n"
	    "echod_conns 1\n", out, sizeof(out));
	ck_assert_msg(rc != 0, "promtool accepted a counter without _total:\n%s", out);
	rc = promtool_check(promtool, "# HELP echod_x_total x\n# TYPE echod_x_total counter\n"
	    "echod_x_total{a=\"\\q\"} 1\n", out, sizeof(out));
	ck_assert_msg(rc != 0, "promtool accepted an invalid escape:\n%s", out);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("registry"), *tx = tcase_create("refused"),
	    *tp = tcase_create("promtool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_empty_registry);
	tcase_add_test(tc, test_check_rules);
	tcase_add_test(tc, test_unregister);
	tcase_add_test(tc, test_label_counts);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_hist_add);
	tcase_add_test(tc, test_hist_render);
	tcase_add_test(tc, test_hist_labels);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_percentile);
	suite_add_tcase(s, tc);

	/* fatalx() exits ECHOD_EX_FAIL; a test that returns instead fails. */
	tcase_add_checked_fixture(tx, setup, teardown);
	tcase_set_timeout(tx, 10);
	tcase_add_loop_exit_test(tx, test_register_refused, ECHOD_EX_FAIL, 0, NBAD);
	tcase_add_exit_test(tx, test_register_twice, ECHOD_EX_FAIL);
	tcase_add_exit_test(tx, test_register_null, ECHOD_EX_FAIL);
	tcase_add_loop_exit_test(tx, test_emit_wrong, ECHOD_EX_FAIL, 0,
	    3 * (int)ARRAY_LEN(fam_wrong));
	tcase_add_loop_exit_test(tx, test_reentry, ECHOD_EX_FAIL, 0, (int)ARRAY_LEN(fam_reentry));
	suite_add_tcase(s, tx);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_set_timeout(tp, 30);
	tcase_add_test(tp, test_promtool);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	return unit_main(stats_suite());
}
