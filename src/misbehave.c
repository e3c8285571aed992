/*
 * misbehave.c: the settings of a misbehaving listener, the seeded
 * generator that picks its connections and draws their jitter, and the
 * output marks (see misbehave.h). Pure: no I/O, no clock; any thread.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "misbehave.h"
#include "util.h"

const char *const misbehave_keys[] = {
	"delay", "delay_jitter", "slice_size", "slice_delay", "reset_after", "stall_after",
	"close_after", "misbehave_probability", "misbehave_seed", NULL
};

enum misbehave_type { MISBEHAVE_T_DURATION, MISBEHAVE_T_SIZE, MISBEHAVE_T_PROB, MISBEHAVE_T_SEED };

/* One key: its field, how it is written, its largest value and what a bad value gets told. */
static const struct misbehave_key {
	const char		*name;
	size_t			 off;
	enum misbehave_type	 type;
	uint64_t		 max;
	const char		*expect;
} misbehave_table[] = {
	{ "delay", offsetof(struct misbehave_conf, delay_ms), MISBEHAVE_T_DURATION,
	  MISBEHAVE_DELAY_MAX_MS, "expected a duration from 0 to 1h (ms, s, m or h)" },
	{ "delay_jitter", offsetof(struct misbehave_conf, jitter_ms), MISBEHAVE_T_DURATION,
	  MISBEHAVE_DELAY_MAX_MS, "expected a duration from 0 to 1h (ms, s, m or h)" },
	{ "slice_size", offsetof(struct misbehave_conf, slice_size), MISBEHAVE_T_SIZE,
	  MISBEHAVE_SLICE_MAX, "expected a size from 0 to 1G (bytes, K, M or G)" },
	{ "slice_delay", offsetof(struct misbehave_conf, slice_delay_ms), MISBEHAVE_T_DURATION,
	  MISBEHAVE_DELAY_MAX_MS, "expected a duration from 0 to 1h (ms, s, m or h)" },
	{ "reset_after", offsetof(struct misbehave_conf, reset_after), MISBEHAVE_T_SIZE,
	  MISBEHAVE_BYTES_MAX, "expected a size from 0 to 1048576G (bytes, K, M or G)" },
	{ "stall_after", offsetof(struct misbehave_conf, stall_after), MISBEHAVE_T_SIZE,
	  MISBEHAVE_BYTES_MAX, "expected a size from 0 to 1048576G (bytes, K, M or G)" },
	{ "close_after", offsetof(struct misbehave_conf, close_after_ms), MISBEHAVE_T_DURATION,
	  MISBEHAVE_CLOSE_MAX_MS, "expected a duration from 0 to 168h (ms, s, m or h)" },
	{ "misbehave_probability", offsetof(struct misbehave_conf, probability), MISBEHAVE_T_PROB,
	  MISBEHAVE_PPM, "expected a probability from 0 to 1 such as 0.25 (at most six decimals)" },
	{ "misbehave_seed", offsetof(struct misbehave_conf, seed), MISBEHAVE_T_SEED, UINT64_MAX,
	  "expected a whole number from 0 (a random seed) to 18446744073709551615" },
};

int
misbehave_active(const struct misbehave_conf *mc)
{
	return mc->delay_ms != 0 || mc->jitter_ms != 0 || mc->slice_size != 0 ||
	    mc->reset_after != 0 || mc->stall_after != 0 || mc->close_after_ms != 0;
}

void
misbehave_conf_default(struct misbehave_conf *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->probability = MISBEHAVE_PPM;
}

/* ---------------------------------------------------------------- words */

int
misbehave_parse_probability(const char *s, uint64_t *ppm)
{
	uint64_t whole = 0, frac = 0, scale = 100000;
	const char *p = s;
	int digits = 0;

	if (*p == '0' || *p == '1')
		whole = (uint64_t)(*p++ - '0');
	else if (*p != '.')
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits == 6)
				return -1;
			frac += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
		if (digits == 0)
			return -1;
	}
	if (*p != '\0' || p == s || (whole == 1 && frac != 0))
		return -1;
	*ppm = whole * MISBEHAVE_PPM + frac;
	return 0;
}

const char *
misbehave_format_probability(uint64_t ppm, char *buf, size_t size)
{
	size_t n;

	if (ppm >= MISBEHAVE_PPM) {
		snprintf(buf, size, "1");
		return buf;
	}
	if (ppm == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	snprintf(buf, size, "0.%06" PRIu64, ppm);
	for (n = strlen(buf); n > 2 && buf[n - 1] == '0'; n--)
		buf[n - 1] = '\0';
	return buf;
}

int
misbehave_set(struct misbehave_conf *mc, const char *key, const char *value,
    const char **expect)
{
	const struct misbehave_key *k;
	uint64_t v;
	int rc;

	for (k = misbehave_table; k < misbehave_table + ARRAY_LEN(misbehave_table); k++)
		if (strcmp(k->name, key) == 0)
			break;
	if (k == misbehave_table + ARRAY_LEN(misbehave_table)) {
		*expect = "expected one of delay, delay_jitter, slice_size, slice_delay, "
		    "reset_after, stall_after, close_after, misbehave_probability, misbehave_seed";
		return -1;
	}
	switch (k->type) {
	case MISBEHAVE_T_DURATION:
		rc = util_parse_duration_ms(value, &v);
		break;
	case MISBEHAVE_T_SIZE:
		rc = util_parse_size(value, &v);
		break;
	case MISBEHAVE_T_PROB:
		rc = misbehave_parse_probability(value, &v);
		break;
	default:
		rc = util_parse_uint(value, UINT64_MAX, &v);
		break;
	}
	if (rc == -1 || v > k->max) {
		*expect = k->expect;
		return -1;
	}
	*(uint64_t *)(void *)((char *)mc + k->off) = v;
	return 0;
}

const char *
misbehave_format(const struct misbehave_conf *mc, uint64_t seed, char *buf, size_t size)
{
	char d[7][32], p[16];

	snprintf(buf, size, "delay=%s delay_jitter=%s slice_size=%s slice_delay=%s "
	    "reset_after=%s stall_after=%s close_after=%s misbehave_probability=%s "
	    "misbehave_seed=%" PRIu64,
	    util_fmt_duration_ms(mc->delay_ms, d[0], sizeof(d[0])),
	    util_fmt_duration_ms(mc->jitter_ms, d[1], sizeof(d[1])),
	    util_fmt_size(mc->slice_size, d[2], sizeof(d[2])),
	    util_fmt_duration_ms(mc->slice_delay_ms, d[3], sizeof(d[3])),
	    util_fmt_size(mc->reset_after, d[4], sizeof(d[4])),
	    util_fmt_size(mc->stall_after, d[5], sizeof(d[5])),
	    util_fmt_duration_ms(mc->close_after_ms, d[6], sizeof(d[6])),
	    misbehave_format_probability(mc->probability, p, sizeof(p)), seed);
	return buf;
}

/* ---------------------------------------------------------------- generator */

uint64_t
misbehave_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
misbehave_start(struct misbehave *m, uint64_t random_seed)
{
	m->on = misbehave_active(&m->conf);
	m->seed = m->conf.seed != 0 ? m->conf.seed : random_seed;
	m->drawn = 0;
}

int
misbehave_choose(struct misbehave *m, uint64_t *conn_state)
{
	uint64_t n = m->drawn++, s, r;

	/* Connection n's stream starts from the seed and n alone. */
	s = m->seed ^ misbehave_next(&n);
	r = misbehave_next(&s);
	*conn_state = misbehave_next(&s);
	if (m->conf.probability >= MISBEHAVE_PPM)
		return 1;
	/* r scaled to [0, 10^6): (r >> 32) * 10^6 / 2^32, no modulo bias worth the name */
	return ((r >> 32) * MISBEHAVE_PPM >> 32) < m->conf.probability;
}

int64_t
misbehave_jitter_us(uint32_t draw, uint64_t jitter_us)
{
	uint64_t span;

	if (jitter_us == 0)
		return 0;
	/* draw * (2J + 1) / 2^32 is uniform in [0, 2J] */
	span = 2 * jitter_us + 1;
	return (int64_t)(((uint64_t)draw * span) >> 32) - (int64_t)jitter_us;
}

/* ---------------------------------------------------------------- marks */

int
misbehave_marks_push(struct misbehave_marks *q, uint64_t stamp_us, uint64_t len, uint32_t draw)
{
	struct misbehave_mark *tail, *v;
	size_t i, cap;

	if (q->n > 0) {
		tail = &q->v[(q->head + q->n - 1) % q->cap];
		if (q->n == MISBEHAVE_MARKS_MAX || stamp_us < tail->stamp_us + MISBEHAVE_MARK_MERGE_US) {
			tail->len += len;
			q->bytes += len;
			return 0;
		}
	}
	if (q->n == q->cap) {
		/* grow, unrolling the ring so it starts at 0 */
		cap = q->cap == 0 ? 8 : q->cap * 2;
		if ((v = util_reallocarray(NULL, cap, sizeof(*v))) == NULL)
			return -1;
		for (i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = (struct misbehave_mark){ stamp_us, len, draw };
	q->n++;
	q->bytes += len;
	return 0;
}

struct misbehave_mark *
misbehave_marks_at(struct misbehave_marks *q, size_t i)
{
	return i < q->n ? &q->v[(q->head + i) % q->cap] : NULL;
}

void
misbehave_marks_consume(struct misbehave_marks *q, uint64_t len)
{
	struct misbehave_mark *m;
	uint64_t take;

	while (len > 0 && q->n > 0) {
		m = &q->v[q->head];
		take = len < m->len ? len : m->len;
		m->len -= take;
		q->bytes -= take;
		len -= take;
		if (m->len == 0) {
			q->head = (q->head + 1) % q->cap;
			q->n--;
		}
	}
	if (q->n == 0)
		q->head = 0;
}

void
misbehave_marks_clear(struct misbehave_marks *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

uint64_t
misbehave_due_us(const struct misbehave_mark *m, uint64_t delay_us, uint64_t jitter_us)
{
	int64_t add = (int64_t)delay_us + misbehave_jitter_us(m->draw, jitter_us);

	return add > 0 ? m->stamp_us + (uint64_t)add : m->stamp_us;
}
