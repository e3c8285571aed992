/*
 * fuzz_units.c: libFuzzer harness for the value parsers of util.h that the
 * config uses: util_parse_uint, util_parse_size, util_parse_duration_ms and
 * util_parse_bool. The input is one value, up to its first NUL; every parser
 * reads it.
 *
 * Invariants:
 *   - each parser accepts exactly what an independent reference reads from
 *     util.h's description, with the same value, and leaves the output alone
 *     when it refuses;
 *   - an accepted uint is at most the limit given (each of the config's
 *     limits is tried), and a higher limit accepts it too;
 *   - the shortest spelling of an accepted value (as the config writes it in
 *     messages and dumps: 256K, 30s, 150ms, yes) parses back to the same
 *     value, and so does its plain spelling (bytes, or ms).
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "fuzz.h"

#define FUZZ_UNSET	0xdeadbeefcafef00dULL

/* Digits then the rest; -1 if there are none or the number passes 2^64 - 1. */
static int
fuzz_units_digits(const char *s, uint64_t *v, const char **rest)
{
	unsigned __int128 acc = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		acc = acc * 10 + (unsigned)(*p - '0');
		if (acc > UINT64_MAX)
			return -1;
	}
	if (p == s)
		return -1;
	*v = (uint64_t)acc;
	*rest = p;
	return 0;
}

/* A number times mult, or -1 past 2^64 - 1. */
static int
fuzz_units_scale(uint64_t v, uint64_t mult, uint64_t *out)
{
	unsigned __int128 r = (unsigned __int128)v * mult;

	if (r > UINT64_MAX)
		return -1;
	*out = (uint64_t)r;
	return 0;
}

/* "123", "4K", "256k", "1M", "2G", with an optional B after the suffix. */
static int
fuzz_units_ref_size(const char *s, uint64_t *out)
{
	const char *rest;
	uint64_t v, mult;

	if (fuzz_units_digits(s, &v, &rest) == -1)
		return -1;
	if (*rest == '\0')
		return fuzz_units_scale(v, 1, out);
	if (*rest == 'k' || *rest == 'K')
		mult = 1ULL << 10;
	else if (*rest == 'm' || *rest == 'M')
		mult = 1ULL << 20;
	else if (*rest == 'g' || *rest == 'G')
		mult = 1ULL << 30;
	else
		return -1;
	rest++;
	if (*rest == 'b' || *rest == 'B')
		rest++;
	if (*rest != '\0')
		return -1;
	return fuzz_units_scale(v, mult, out);
}

/* "150ms", "10s", "5m", "1h"; a bare number is seconds. */
static int
fuzz_units_ref_duration(const char *s, uint64_t *out)
{
	const char *rest;
	uint64_t v, mult;

	if (fuzz_units_digits(s, &v, &rest) == -1)
		return -1;
	if (strcmp(rest, "") == 0 || strcmp(rest, "s") == 0)
		mult = 1000;
	else if (strcmp(rest, "ms") == 0)
		mult = 1;
	else if (strcmp(rest, "m") == 0)
		mult = 60000;
	else if (strcmp(rest, "h") == 0)
		mult = 3600000;
	else
		return -1;
	return fuzz_units_scale(v, mult, out);
}

static int
fuzz_units_ref_bool(const char *s, int *out)
{
	static const char *words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(words); i++) {
		if (strcasecmp(s, words[i]) == 0) {
			*out = (int)(i % 2);
			return 0;
		}
	}
	return -1;
}

/*
 * Limits the config passes to util_parse_uint (config.c's key table), and
 * the extremes, in increasing order.
 */
static const uint64_t fuzz_units_limits[] = {
	0, 1, 256, 65535, 65536, (uint64_t)1 << 20, 3600000, (uint64_t)INT32_MAX, UINT64_MAX,
};

static void
fuzz_units_uint(const char *s)
{
	uint64_t v, ref, prev = FUZZ_UNSET;
	const char *rest;
	char buf[32];
	size_t i;
	int ok, refok;

	refok = fuzz_units_digits(s, &ref, &rest) == 0 && *rest == '\0';
	for (i = 0; i < ARRAY_LEN(fuzz_units_limits); i++) {
		v = FUZZ_UNSET;
		ok = util_parse_uint(s, fuzz_units_limits[i], &v) == 0;
		FUZZ_CHECK(ok == (refok && ref <= fuzz_units_limits[i]), "uint '%s' max %" PRIu64
		    ": accepted %d", s, fuzz_units_limits[i], ok);
		if (!ok) {
			FUZZ_CHECK(v == FUZZ_UNSET, "uint '%s' refused, but set", s);
			FUZZ_CHECK(prev == FUZZ_UNSET, "uint '%s' accepted under a lower limit", s);
			continue;
		}
		FUZZ_CHECK(v == ref && v <= fuzz_units_limits[i], "uint '%s' read as %" PRIu64,
		    s, v);
		prev = v;
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		FUZZ_CHECK(util_parse_uint(buf, fuzz_units_limits[i], &v) == 0 && v == ref,
		    "uint '%s' does not read back", buf);
	}
}

static void
fuzz_units_size(const char *s)
{
	uint64_t v = FUZZ_UNSET, ref = FUZZ_UNSET, back;
	char buf[32];
	int ok;

	ok = util_parse_size(s, &v) == 0;
	FUZZ_CHECK(ok == (fuzz_units_ref_size(s, &ref) == 0), "size '%s': accepted %d", s, ok);
	FUZZ_CHECK(v == ref, "size '%s' read as %" PRIu64 ", not %" PRIu64, s, v, ref);
	if (!ok)
		return;
	util_fmt_size(v, buf, sizeof(buf));	/* as config messages and MISBEHAVE spell it */
	FUZZ_CHECK(util_parse_size(buf, &back) == 0 && back == v, "size %" PRIu64 " spelt '%s' "
	    "does not read back", v, buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	FUZZ_CHECK(util_parse_size(buf, &back) == 0 && back == v, "size '%s' does not read back",
	    buf);
}

static void
fuzz_units_duration(const char *s)
{
	uint64_t v = FUZZ_UNSET, ref = FUZZ_UNSET, back;
	char buf[32];
	int ok;

	ok = util_parse_duration_ms(s, &v) == 0;
	FUZZ_CHECK(ok == (fuzz_units_ref_duration(s, &ref) == 0), "duration '%s': accepted %d",
	    s, ok);
	FUZZ_CHECK(v == ref, "duration '%s' read as %" PRIu64 " ms, not %" PRIu64, s, v, ref);
	if (!ok)
		return;
	util_fmt_duration_ms(v, buf, sizeof(buf));
	FUZZ_CHECK(util_parse_duration_ms(buf, &back) == 0 && back == v, "duration %" PRIu64
	    " ms spelt '%s' does not read back", v, buf);
	snprintf(buf, sizeof(buf), "%" PRIu64 "ms", v);
	FUZZ_CHECK(util_parse_duration_ms(buf, &back) == 0 && back == v, "duration '%s' does "
	    "not read back", buf);
	if (v % 1000 == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64, v / 1000);
		FUZZ_CHECK(util_parse_duration_ms(buf, &back) == 0 && back == v, "duration '%s' "
		    "(seconds) does not read back", buf);
	}
}

static void
fuzz_units_bool(const char *s)
{
	int v = -7, ref = -7, back = -7, ok;

	ok = util_parse_bool(s, &v) == 0;
	FUZZ_CHECK(ok == (fuzz_units_ref_bool(s, &ref) == 0), "bool '%s': accepted %d", s, ok);
	FUZZ_CHECK(v == ref, "bool '%s' read as %d, not %d", s, v, ref);
	if (!ok)
		return;
	FUZZ_CHECK(util_parse_bool(v ? "yes" : "no", &back) == 0 && back == v,
	    "bool %d does not read back", v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);

	fuzz_units_uint(s);
	fuzz_units_size(s);
	fuzz_units_duration(s);
	fuzz_units_bool(s);
	free(s);
	return 0;
}
