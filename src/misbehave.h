/*
 * misbehave.h: misbehaving on purpose, the pure part. A listener can make
 * its output late (delay, delay_jitter), cut it into pieces (slice_size,
 * slice_delay), reset the connection or stop talking after so many bytes
 * (reset_after, stall_after), or close it after a while (close_after), for
 * the connections misbehave_probability picks; misbehave_seed makes the
 * picks and the jitter the same from run to run.
 *
 * Here: the settings and their parsing and formatting (the config file and
 * the admin console take the same words), the seeded generator
 * (splitmix64) with the per-connection choice, and the marks conn.c keeps
 * over a connection's output buffer to know when each queued chunk is due.
 * No I/O, no clock, no state besides what the caller hands in; any thread.
 */
#ifndef ECHOD_MISBEHAVE_H
#define ECHOD_MISBEHAVE_H

#include <stddef.h>
#include <stdint.h>

#define MISBEHAVE_PPM			1000000ULL	/* probability 1 */
#define MISBEHAVE_DELAY_MAX_MS		3600000ULL	/* delay, delay_jitter, slice_delay */
#define MISBEHAVE_CLOSE_MAX_MS		(168ULL * 3600000)
#define MISBEHAVE_SLICE_MAX		(1ULL << 30)
#define MISBEHAVE_BYTES_MAX		(1ULL << 50)	/* reset_after, stall_after */

/* A listener's settings, as configured; every one 0 (off) by default. */
struct misbehave_conf {
	uint64_t	delay_ms;	/* every chunk of output leaves this much later */
	uint64_t	jitter_ms;	/* ... plus or minus up to this much (uniform) */
	uint64_t	slice_size;	/* output in pieces of at most this many bytes */
	uint64_t	slice_delay_ms;	/* ... this far apart */
	uint64_t	reset_after;	/* bytes out, then RST */
	uint64_t	stall_after;	/* bytes out, then nothing sent or read */
	uint64_t	close_after_ms;	/* since accept, then a clean close (FIN) */
	uint64_t	probability;	/* of a new connection, in millionths; default 1000000 */
	uint64_t	seed;		/* 0: a random one, chosen at start-up */
};

/* A listener's live misbehaviour: settings, the choice stream, counters. */
struct misbehave {
	struct misbehave_conf	conf;
	int			on;		/* any behaviour set (misbehave_active) */
	uint64_t		seed;		/* the seed in use (conf.seed, or the random one) */
	uint64_t		drawn;		/* connections the stream decided for */
	/* counters (conn.c adds, the listener reports) */
	uint64_t		connections;	/* connections some misbehaviour acted on */
	uint64_t		resets;
	uint64_t		stalls;
	uint64_t		closes;
	uint64_t		delayed_bytes;	/* bytes sent later than they were written */
};

/* The keys, in the order MISBEHAVE and the docs list them. */
extern const char *const misbehave_keys[];

/* 1 when some behaviour is set (probability and seed are not behaviours). */
int		misbehave_active(const struct misbehave_conf *mc);
/* conf with every behaviour off and probability 1. */
void		misbehave_conf_default(struct misbehave_conf *mc);

/*
 * Set one key from its text ("delay", "100ms"). 0 on success; -1 and what
 * was expected in *expect (static text) for an unknown key or a bad value,
 * leaving mc as it was.
 */
int		misbehave_set(struct misbehave_conf *mc, const char *key, const char *value,
		    const char **expect);
/* "delay=100ms delay_jitter=0 ... misbehave_seed=42" (seed: the one in use). */
const char	*misbehave_format(const struct misbehave_conf *mc, uint64_t seed, char *buf,
		    size_t size);

/* Probability: "0", "1", "0.25" (at most six decimals) into millionths. */
int		misbehave_parse_probability(const char *s, uint64_t *ppm);
/* Millionths as the shortest decimal that reads back the same ("0.25", "1"). */
const char	*misbehave_format_probability(uint64_t ppm, char *buf, size_t size);

/* ---------------------------------------------------------------- generator */

/* splitmix64: the next 64-bit output of the stream in *state. */
uint64_t	misbehave_next(uint64_t *state);
/* Start the live object from its settings: seed (conf.seed or `random_seed`), stream at 0. */
void		misbehave_start(struct misbehave *m, uint64_t random_seed);
/*
 * The next connection: 1 if it misbehaves (drawn from the stream; certain
 * at probability 1, never at 0); *conn_state seeds its own generator (the
 * jitter). Connection n of a listener gets the same answer and the same
 * jitter for the same seed, whatever the other connections do.
 */
int		misbehave_choose(struct misbehave *m, uint64_t *conn_state);
/* A jitter offset in microseconds, uniform in [-jitter_us, +jitter_us], from one draw. */
int64_t		misbehave_jitter_us(uint32_t draw, uint64_t jitter_us);

/* ---------------------------------------------------------------- marks */

/*
 * What conn.c knows of its queued output when delaying: a FIFO of chunks,
 * each `len` bytes written at `stamp_us`, with its jitter draw. The marks
 * cover the tail of the output buffer; bytes before them (queued before any
 * delay applied) are due at once. Writes close together share a mark, and
 * the queue never holds more than MISBEHAVE_MARKS_MAX (the last one grows).
 */
#define MISBEHAVE_MARK_MERGE_US	1000
#define MISBEHAVE_MARKS_MAX	1024

struct misbehave_mark {
	uint64_t	stamp_us;
	uint64_t	len;
	uint32_t	draw;
};

struct misbehave_marks {
	struct misbehave_mark	*v;
	size_t			 cap, head, n;
	uint64_t		 bytes;		/* sum of len */
};

/* -1 when the queue cannot grow (out of memory): nothing is added. */
int		misbehave_marks_push(struct misbehave_marks *q, uint64_t stamp_us, uint64_t len,
		    uint32_t draw);
/* The oldest mark, NULL when empty. */
struct misbehave_mark *misbehave_marks_at(struct misbehave_marks *q, size_t i);
/* `len` bytes left the buffer from the front of the marks: they shrink or go. */
void		misbehave_marks_consume(struct misbehave_marks *q, uint64_t len);
void		misbehave_marks_clear(struct misbehave_marks *q);
/* When a mark is due: stamp + delay + its jitter, never before its stamp. */
uint64_t	misbehave_due_us(const struct misbehave_mark *m, uint64_t delay_us,
		    uint64_t jitter_us);

#endif
