/*
 * stats.c: the statistics registry and its renderings. Families are kept
 * by pointer in registration order; a rendering walks them, calls each
 * family's collect function, and formats the samples it emits straight
 * into one growing buffer: Prometheus text (format 0.0.4), the admin
 * console's name=value lines, or just a sum (stats_get). Values in seconds
 * are formatted from integer microseconds, never through floating point
 * (only the histogram bounds' le="..." labels use %g, as Prometheus
 * clients conventionally print them).
 *
 * Loop thread only: no locks. Collect functions run on the calling
 * thread, inside the rendering.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

#define STATS_PROM_PREFIX	"echod_"

const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS] = {
	10, 50, 100, 500, 1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

/* Only its address matters: the stats_emit_* macros pass it after the label values. */
const char stats_label_end[] = "end of label values";

/* The series a histogram family adds to its own name. */
static const char *const stats_hist_suffixes[] = { "_bucket", "_sum", "_count" };

enum stats_mode {
	STATS_M_PROMETHEUS,
	STATS_M_TEXT,
	STATS_M_SUM,
};

struct stats_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
	int	 failed;	/* out of memory: the rendering is given up */
};

struct stats_emit {
	enum stats_mode			 mode;
	const struct stats_family	*f;		/* NULL outside collect() */
	size_t				 nlabels;
	struct stats_buf		*out;		/* NULL for STATS_M_SUM */
	struct stats_buf		 labels;	/* one sample's escaped a="x",b="y" */
	uint64_t			 sum;
};

static const struct stats_family	**stats_families;
static size_t				  stats_nfamilies;
static size_t				  stats_size;
/* Renderings and stats_foreach_family() in progress: the list must not change. */
static int				  stats_busy;

/* ---------------------------------------------------------------- pure helpers */

void
stats_hist_add(struct stats_hist *h, uint64_t us)
{
	size_t i;

	for (i = 0; i < STATS_HIST_BUCKETS && us > stats_hist_bounds_us[i]; i++)
		continue;
	h->counts[i]++;
	h->count++;
	h->sum_us += us;
}

static int
stats_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least pct% of the samples at or below it. */
uint64_t
stats_percentile(uint64_t *v, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), stats_u64_cmp);
	if (pct >= 100)
		return v[n - 1];
	rank = (n * pct + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* ---------------------------------------------------------------- output buffer */

/* Room for n more bytes and the NUL; -1 (and the buffer failed) when out of memory. */
static int
stats_buf_reserve(struct stats_buf *b, size_t n)
{
	size_t size;
	char *p;

	if (b->failed)
		return -1;
	if (b->size > b->len + n)
		return 0;
	size = b->size == 0 ? 1024 : b->size;
	while (size <= b->len + n)
		size *= 2;
	if ((p = util_reallocarray(b->p, size, 1)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->size = size;
	return 0;
}

static void
stats_buf_add(struct stats_buf *b, const char *s, size_t n)
{
	if (stats_buf_reserve(b, n) == -1)
		return;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
stats_buf_str(struct stats_buf *b, const char *s)
{
	stats_buf_add(b, s, strlen(s));
}

static void
stats_buf_u64(struct stats_buf *b, uint64_t v)
{
	char tmp[32];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	stats_buf_add(b, tmp, (size_t)n);
}

/* Microseconds as seconds with six decimals: 139 -> "0.000139". */
static void
stats_buf_seconds(struct stats_buf *b, uint64_t us)
{
	char tmp[32];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
	stats_buf_add(b, tmp, (size_t)n);
}

static void
stats_buf_value(struct stats_buf *b, enum stats_unit unit, uint64_t v)
{
	if (unit == STATS_UNIT_SECONDS)
		stats_buf_seconds(b, v);
	else
		stats_buf_u64(b, v);
}

/* s with \ and newline escaped, and " too when quote is set (label values; HELP keeps "). */
static void
stats_buf_escaped(struct stats_buf *b, const char *s, int quote)
{
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, quote ? "\\\n\"" : "\\\n");
		stats_buf_add(b, s, run);
		s += run;
		if (*s == '\0')
			break;
		stats_buf_add(b, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", 2);
		s++;
	}
}

/* ---------------------------------------------------------------- registration */

static int
stats_name_ok(const char *s)
{
	if (s == NULL || *s < 'a' || *s > 'z')
		return 0;
	for (s++; *s != '\0'; s++) {
		if ((*s < 'a' || *s > 'z') && (*s < '0' || *s > '9') && *s != '_')
			return 0;
	}
	return 1;
}

static int
stats_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Label names before the NULL; STATS_MAX_LABELS + 1 when the array has no NULL. */
static size_t
stats_nlabels(const struct stats_family *f)
{
	size_t n;

	for (n = 0; n <= STATS_MAX_LABELS && f->labels[n] != NULL; n++)
		continue;
	return n;
}

/* Whether `name` is one of f's series: its own name, or a histogram's NAME_bucket/_sum/_count. */
static int
stats_owns(const struct stats_family *f, const char *name)
{
	size_t n = strlen(f->name), i;

	if (strcmp(f->name, name) == 0)
		return 1;
	if (f->type != STATS_HISTOGRAM || strncmp(f->name, name, n) != 0)
		return 0;
	for (i = 0; i < ARRAY_LEN(stats_hist_suffixes); i++) {
		if (strcmp(name + n, stats_hist_suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static int
stats_check_labels(const struct stats_family *f, const char **why)
{
	size_t n = stats_nlabels(f), i, j;

	if (n > STATS_MAX_LABELS) {
		*why = "more than STATS_MAX_LABELS (4) label names, or no NULL after them";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!stats_name_ok(f->labels[i])) {
			*why = "a label name does not match [a-z][a-z0-9_]*";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(f->labels[i], f->labels[j]) == 0) {
				*why = "a label name is repeated";
				return -1;
			}
		}
		if (f->type == STATS_HISTOGRAM && strcmp(f->labels[i], "le") == 0) {
			*why = "label \"le\" is reserved in histograms";
			return -1;
		}
	}
	return 0;
}

/* The naming rules Prometheus checks (promtool) or expects. */
static int
stats_check_name(const struct stats_family *f, const char **why)
{
	if (!stats_name_ok(f->name)) {
		*why = "name does not match [a-z][a-z0-9_]*";
		return -1;
	}
	if (f->type == STATS_COUNTER && !stats_has_suffix(f->name, "_total")) {
		*why = "a counter's name must end in _total";
		return -1;
	}
	if (f->unit == STATS_UNIT_SECONDS && !stats_has_suffix(f->name,
	    f->type == STATS_COUNTER ? "_seconds_total" : "_seconds")) {
		*why = "a seconds family's name must end in _seconds (_seconds_total for a counter)";
		return -1;
	}
	if (f->type == STATS_HISTOGRAM && f->unit != STATS_UNIT_SECONDS) {
		*why = "a histogram must be in seconds (its buckets are)";
		return -1;
	}
	return 0;
}

int
stats_check(const struct stats_family *f, const char **why)
{
	size_t i;

	if (f == NULL) {
		*why = "no family";
		return -1;
	}
	if (f->type != STATS_COUNTER && f->type != STATS_GAUGE && f->type != STATS_HISTOGRAM) {
		*why = "unknown type";
		return -1;
	}
	if (f->unit != STATS_UNIT_NONE && f->unit != STATS_UNIT_SECONDS) {
		*why = "unknown unit";
		return -1;
	}
	if (stats_check_name(f, why) == -1 || stats_check_labels(f, why) == -1)
		return -1;
	if (f->help == NULL || f->collect == NULL) {
		*why = f->help == NULL ? "no help text" : "no collect function";
		return -1;
	}
	if (stats_busy > 0) {
		*why = "a rendering is in progress";
		return -1;
	}
	for (i = 0; i < stats_nfamilies; i++) {
		if (stats_families[i] == f) {
			*why = "already registered";
			return -1;
		}
		if (stats_owns(stats_families[i], f->name) || stats_owns(f, stats_families[i]->name)) {
			*why = "the name clashes with a registered family's";
			return -1;
		}
	}
	return 0;
}

void
stats_register(const struct stats_family *f)
{
	const char *why;

	if (stats_check(f, &why) == -1) {
		fatalx("stats: cannot register %s: %s", f != NULL && f->name != NULL ? f->name :
		    "(null)", why);
	}
	if (stats_nfamilies == stats_size) {
		stats_size = stats_size == 0 ? 32 : stats_size * 2;
		stats_families = xreallocarray(stats_families, stats_size,
		    sizeof(*stats_families));
	}
	stats_families[stats_nfamilies++] = f;
}

void
stats_unregister(const struct stats_family *f)
{
	size_t i;

	if (stats_busy > 0)
		fatalx("stats: unregister during a rendering");
	for (i = 0; i < stats_nfamilies; i++) {
		if (stats_families[i] == f) {
			memmove(&stats_families[i], &stats_families[i + 1],
			    (stats_nfamilies - i - 1) * sizeof(*stats_families));
			stats_nfamilies--;
			return;
		}
	}
}

void
stats_clear(void)
{
	if (stats_busy > 0)
		fatalx("stats: clear during a rendering");
	free(stats_families);
	stats_families = NULL;
	stats_nfamilies = stats_size = 0;
}

void
stats_foreach_family(void (*cb)(const struct stats_family *f, void *arg), void *arg)
{
	size_t i;

	stats_busy++;
	for (i = 0; i < stats_nfamilies; i++)
		cb(stats_families[i], arg);
	stats_busy--;
}

/* ---------------------------------------------------------------- emitting */

static const char *
stats_type_name(enum stats_type type)
{
	switch (type) {
	case STATS_COUNTER:
		return "counter";
	case STATS_GAUGE:
		return "gauge";
	case STATS_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/*
 * Read one sample's label values (ap is positioned after the value) and,
 * unless only summing, build its escaped label pairs in e->labels. The
 * end marker makes a wrong count a clear stop, not a read past the end.
 */
static void
stats_emit_labels(struct stats_emit *e, va_list ap)
{
	const char *v;
	size_t i;

	e->labels.len = 0;
	if (e->mode != STATS_M_SUM)
		stats_buf_add(&e->labels, "", 0);	/* never NULL for stats_emit_series */
	for (i = 0; i < e->nlabels; i++) {
		v = va_arg(ap, const char *);
		if (v == stats_label_end) {
			fatalx("stats: %s: %zu label values for %zu label names", e->f->name, i,
			    e->nlabels);
		}
		if (v == NULL)
			fatalx("stats: %s: label %s has no value (NULL)", e->f->name, e->f->labels[i]);
		if (e->mode == STATS_M_SUM)
			continue;
		if (i > 0)
			stats_buf_add(&e->labels, ",", 1);
		stats_buf_str(&e->labels, e->f->labels[i]);
		stats_buf_add(&e->labels, "=\"", 2);
		stats_buf_escaped(&e->labels, v, 1);
		stats_buf_add(&e->labels, "\"", 1);
	}
	if (va_arg(ap, const char *) != stats_label_end)
		fatalx("stats: %s: more label values than %zu label names", e->f->name, e->nlabels);
}

/* A sample's series name and labels: [echod_]NAME[suffix][{labels[,extra]}]. */
static void
stats_emit_series(struct stats_emit *e, const char *suffix, const char *extra)
{
	struct stats_buf *b = e->out;

	if (e->mode == STATS_M_PROMETHEUS)
		stats_buf_str(b, STATS_PROM_PREFIX);
	stats_buf_str(b, e->f->name);
	stats_buf_str(b, suffix);
	if (e->labels.len == 0 && extra == NULL)
		return;
	stats_buf_add(b, "{", 1);
	stats_buf_add(b, e->labels.p, e->labels.len);
	if (extra != NULL) {
		if (e->labels.len > 0)
			stats_buf_add(b, ",", 1);
		stats_buf_str(b, extra);
	}
	stats_buf_add(b, "}", 1);
}

/* One whole line: series, separator, value, line ending. */
static void
stats_emit_line(struct stats_emit *e, const char *suffix, const char *extra,
    enum stats_unit unit, uint64_t v)
{
	int prom = e->mode == STATS_M_PROMETHEUS;

	stats_emit_series(e, suffix, extra);
	stats_buf_add(e->out, prom ? " " : "=", 1);
	stats_buf_value(e->out, unit, v);
	stats_buf_str(e->out, prom ? "\n" : "\r\n");
}

static void
stats_emit_check(struct stats_emit *e, int hist)
{
	if (e == NULL || e->f == NULL)
		fatalx("stats: sample emitted outside a collect function");
	if (hist && e->f->type != STATS_HISTOGRAM)
		fatalx("stats: %s: histogram emitted into a %s", e->f->name,
		    stats_type_name(e->f->type));
	if (!hist && e->f->type == STATS_HISTOGRAM)
		fatalx("stats: %s: u64 sample emitted into a histogram", e->f->name);
}

static uint64_t
stats_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void
stats_emit_u64_marked(struct stats_emit *e, uint64_t v, ...)
{
	va_list ap;

	stats_emit_check(e, 0);
	va_start(ap, v);
	stats_emit_labels(e, ap);
	va_end(ap);
	if (e->mode == STATS_M_SUM)
		e->sum = stats_add_sat(e->sum, v);
	else
		stats_emit_line(e, "", NULL, e->f->unit, v);
}

/* le="1e-05" ... le="10": the bounds in seconds, %g as Prometheus clients print them. */
static const char *
stats_le(size_t i)
{
	static char le[STATS_HIST_BUCKETS][32];

	if (le[i][0] == '\0')
		snprintf(le[i], sizeof(le[i]), "le=\"%g\"", (double)stats_hist_bounds_us[i] / 1e6);
	return le[i];
}

/* Buckets are cumulative in the Prometheus format; ours are per bucket. */
static void
stats_emit_buckets(struct stats_emit *e, const struct stats_hist *h)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < STATS_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		stats_emit_line(e, "_bucket", stats_le(i), STATS_UNIT_NONE, cum);
	}
	cum += h->counts[STATS_HIST_BUCKETS];
	stats_emit_line(e, "_bucket", "le=\"+Inf\"", STATS_UNIT_NONE, cum);
}

void
stats_emit_hist_marked(struct stats_emit *e, const struct stats_hist *h, ...)
{
	va_list ap;

	stats_emit_check(e, 1);
	va_start(ap, h);
	stats_emit_labels(e, ap);
	va_end(ap);
	switch (e->mode) {
	case STATS_M_SUM:
		e->sum = stats_add_sat(e->sum, h->count);
		break;
	case STATS_M_PROMETHEUS:
		stats_emit_buckets(e, h);
		stats_emit_line(e, "_sum", NULL, STATS_UNIT_SECONDS, h->sum_us);
		stats_emit_line(e, "_count", NULL, STATS_UNIT_NONE, h->count);
		break;
	case STATS_M_TEXT:
		stats_emit_line(e, "_count", NULL, STATS_UNIT_NONE, h->count);
		stats_emit_line(e, "_sum", NULL, STATS_UNIT_SECONDS, h->sum_us);
		break;
	}
}

/* ---------------------------------------------------------------- renderings */

static void
stats_collect(struct stats_emit *e, const struct stats_family *f)
{
	e->f = f;
	e->nlabels = stats_nlabels(f);
	f->collect(e, f->arg);
	e->f = NULL;
}

static void
stats_prom_head(struct stats_buf *b, const struct stats_family *f)
{
	stats_buf_str(b, "# HELP " STATS_PROM_PREFIX);
	stats_buf_str(b, f->name);
	stats_buf_add(b, " ", 1);
	stats_buf_escaped(b, f->help, 0);
	stats_buf_str(b, "\n# TYPE " STATS_PROM_PREFIX);
	stats_buf_str(b, f->name);
	stats_buf_add(b, " ", 1);
	stats_buf_str(b, stats_type_name(f->type));
	stats_buf_add(b, "\n", 1);
}

static char *
stats_render(enum stats_mode mode, const char *prefix, size_t *len)
{
	struct stats_buf out = { NULL, 0, 0, 0 };
	struct stats_emit e;
	size_t i, plen = prefix != NULL ? strlen(prefix) : 0;

	memset(&e, 0, sizeof(e));
	e.mode = mode;
	e.out = &out;
	stats_buf_add(&out, "", 0);
	stats_busy++;
	for (i = 0; i < stats_nfamilies; i++) {
		if (plen > 0 && strncmp(stats_families[i]->name, prefix, plen) != 0)
			continue;
		if (mode == STATS_M_PROMETHEUS)
			stats_prom_head(&out, stats_families[i]);
		stats_collect(&e, stats_families[i]);
	}
	stats_busy--;
	free(e.labels.p);
	if (out.failed || e.labels.failed) {
		/* a rendering cut short would be read as true numbers: none at all */
		free(out.p);
		return NULL;
	}
	if (len != NULL)
		*len = out.len;
	return out.p;
}

char *
stats_render_prometheus(size_t *len)
{
	return stats_render(STATS_M_PROMETHEUS, NULL, len);
}

char *
stats_render_text(const char *prefix, size_t *len)
{
	return stats_render(STATS_M_TEXT, prefix, len);
}

int
stats_get(const char *name, uint64_t *sum)
{
	struct stats_emit e;
	size_t i;

	for (i = 0; i < stats_nfamilies; i++) {
		if (strcmp(stats_families[i]->name, name) == 0)
			break;
	}
	if (i == stats_nfamilies)
		return -1;
	memset(&e, 0, sizeof(e));
	e.mode = STATS_M_SUM;
	stats_busy++;
	stats_collect(&e, stats_families[i]);
	stats_busy--;
	*sum = e.sum;
	return 0;
}
