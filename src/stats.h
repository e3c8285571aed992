/*
 * stats.h: the statistics registry. Each module registers its counters,
 * gauges and histograms once (name, type, help, label names, a collect
 * function); the admin console's STATS, the Prometheus page and the systemd
 * STATUS line all render from here, so a number is formatted in one place.
 *
 * Loop thread only (collect functions may read other threads' counters
 * through those modules' own locked/atomic getters).
 */
#ifndef ECHOD_STATS_H
#define ECHOD_STATS_H

#include <stddef.h>
#include <stdint.h>

enum stats_type { STATS_COUNTER, STATS_GAUGE, STATS_HISTOGRAM };
enum stats_unit {
	STATS_UNIT_NONE = 0,
	STATS_UNIT_SECONDS,	/* values and histogram sums are given in microseconds */
};

#define STATS_MAX_LABELS	4
#define STATS_HIST_BUCKETS	16
/*
 * Upper bounds in microseconds: 10 50 100 500 1000 5000 10000 25000 50000
 * 100000 250000 500000 1000000 2500000 5000000 10000000 (+Inf follows).
 */
extern const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS];

struct stats_hist {
	uint64_t	counts[STATS_HIST_BUCKETS + 1];	/* per bucket, not cumulative; last: +Inf */
	uint64_t	count;
	uint64_t	sum_us;
};

/* Add one sample (a bucket holds the samples <= its bound). Pure. */
void		stats_hist_add(struct stats_hist *h, uint64_t us);
/* Nearest-rank percentile of n samples (sorts v in place); 0 when n == 0. Pure. */
uint64_t	stats_percentile(uint64_t *v, size_t n, unsigned pct);

struct stats_emit;		/* opaque: one rendering in progress */

/*
 * A family: one name, its samples told apart by label values. Rules that
 * stats_register() enforces (so that every rendering is valid Prometheus):
 * names and label names match [a-z][a-z0-9_]*; label names are distinct,
 * and "le" is reserved in histograms; a counter's name ends in "_total";
 * a seconds family's name ends in "_seconds" ("_seconds_total" for a
 * counter); a histogram is in seconds; no name may equal another family's
 * name or one of a histogram's series names (NAME_bucket, NAME_sum,
 * NAME_count); help and collect are set.
 */
struct stats_family {
	const char	*name;	/* "connections_total"; Prometheus adds "echod_" */
	enum stats_type	 type;
	enum stats_unit	 unit;
	const char	*help;	/* one line */
	const char	*labels[STATS_MAX_LABELS + 1];	/* label names, NULL-terminated */
	void		(*collect)(struct stats_emit *e, void *arg);
	void		*arg;
};

/* Register a family (static storage, kept by pointer). Duplicate or invalid: fatalx. */
void	stats_register(const struct stats_family *f);
/* 0 if stats_register(f) would accept f now; else -1 and a static cause in *why. */
int	stats_check(const struct stats_family *f, const char **why);
void	stats_unregister(const struct stats_family *f);	/* no-op if not registered */
void	stats_clear(void);				/* forget every family (tests, exit) */

/*
 * From collect(): one sample, then exactly one `const char *` label value
 * per label name, in the family's label order:
 *
 *	stats_emit_u64(e, l->total, l->name, l->svc->name);
 *
 * These are macros that append an end marker, so a wrong number of label
 * values (or a NULL one, or a u64 sample in a histogram family or the
 * reverse) stops the process with the family's name instead of reading
 * past the arguments. Label values are copied into the output at once.
 */
extern const char	stats_label_end[];
#define stats_emit_u64(e, ...)	stats_emit_u64_marked((e), __VA_ARGS__, stats_label_end)
#define stats_emit_hist(e, ...)	stats_emit_hist_marked((e), __VA_ARGS__, stats_label_end)
void	stats_emit_u64_marked(struct stats_emit *e, uint64_t v, ...);
void	stats_emit_hist_marked(struct stats_emit *e, const struct stats_hist *h, ...);

/*
 * Renderings, malloc'd NUL-terminated text; *len set when len != NULL; NULL when
 * out of memory (counted by util_oom).
 * Families in registration order, samples in the order collect() emits them.
 * Prometheus: text exposition format 0.0.4, names prefixed "echod_".
 * Text (admin console): one "name=value" or "name{l="v"}=value" line per
 * sample, each ending in "\r\n"; a histogram gives NAME_count and NAME_sum.
 */
char	*stats_render_prometheus(size_t *len);
char	*stats_render_text(const char *prefix, size_t *len);	/* prefix NULL or "": all */

/*
 * Sum of a family's u64 samples over all label values (microseconds for
 * seconds families; a histogram family sums its observation counts),
 * saturating at UINT64_MAX; -1 if no such family.
 */
int	stats_get(const char *name, uint64_t *sum);
/* Every registered family, in registration order. */
void	stats_foreach_family(void (*cb)(const struct stats_family *f, void *arg), void *arg);

#endif
