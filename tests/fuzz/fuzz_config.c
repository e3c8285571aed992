/*
 * fuzz_config.c: libFuzzer harness for the whole configuration load, from
 * text through inih, the key setters, validation and the error list
 * (config_load_string). The input is the file's text (up to its first NUL).
 *
 * Invariants:
 *   - a load either gives a config and no error, or no config and 1 to 101
 *     errors (100 and a "more errors" line);
 *   - every error starts with "fuzz.ini:" or "fuzz.ini:LINE:" (LINE within
 *     the text), says something after it, holds only printable ASCII, and
 *     the errors come in line order, file-wide ones last;
 *   - loading is deterministic (same errors, or the same config_dump);
 *   - a config that loads is valid (listeners with binds and a service,
 *     low watermark below the high one, TLS with a certificate and key) and
 *     round-trips: load(dump) succeeds and dump(load(dump)) == dump.
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <ctype.h>

#include "config.h"
#include "fuzz.h"

#define FUZZ_NAME "fuzz.ini"

/* Lines in the text as the loader counts them. */
static int
fuzz_config_lines(const char *text)
{
	int n = 0;

	for (; *text != '\0'; text++)
		if (*text == '\n' || text[1] == '\0')
			n++;
	return n;
}

/*
 * "fuzz.ini:LINE: msg" gives LINE, "fuzz.ini: msg" gives 0; anything else
 * breaks the invariant.
 */
static int
fuzz_config_msg_line(const char *msg)
{
	const char *p;
	long line;

	FUZZ_CHECK(strncmp(msg, FUZZ_NAME ":", sizeof(FUZZ_NAME)) == 0, "no prefix: '%s'", msg);
	p = msg + sizeof(FUZZ_NAME);
	if (*p == ' ') {
		FUZZ_CHECK(p[1] != '\0', "empty message: '%s'", msg);
		return 0;
	}
	FUZZ_CHECK(isdigit((unsigned char)*p) && *p != '0', "bad line number: '%s'", msg);
	for (line = 0; isdigit((unsigned char)*p); p++) {
		line = line * 10 + (*p - '0');
		FUZZ_CHECK(line < 10000000, "line number overflow: '%s'", msg);
	}
	FUZZ_CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0', "bad prefix: '%s'", msg);
	return (int)line;
}

static void
fuzz_config_check_errors(const struct config_errors *e, const char *text)
{
	const unsigned char *p;
	int nlines = fuzz_config_lines(text), line, prev = 1;
	size_t i;

	FUZZ_CHECK(e->n >= 1 && e->n <= 101, "%zu errors", e->n);
	for (i = 0; i < e->n; i++) {
		FUZZ_CHECK(e->msgs[i] != NULL && e->msgs[i][0] != '\0', "empty error %zu", i);
		for (p = (const unsigned char *)e->msgs[i]; *p != '\0'; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in '%s'", *p,
			    e->msgs[i]);
		line = fuzz_config_msg_line(e->msgs[i]);
		if (i == 100) {
			FUZZ_CHECK(strstr(e->msgs[i], "more errors not shown") != NULL,
			    "101st error is '%s'", e->msgs[i]);
			continue;
		}
		FUZZ_CHECK(line <= nlines, "line %d of %d: '%s'", line, nlines, e->msgs[i]);
		/* line order, the whole-file errors (line 0) after all others */
		FUZZ_CHECK(prev != 0 ? line == 0 || line >= prev : line == 0,
		    "error out of order after line %d: '%s'", prev, e->msgs[i]);
		prev = line;
	}
}

static void
fuzz_config_check_valid(const struct config *cf)
{
	const struct listener_conf *lc;
	size_t i, j;

	FUZZ_CHECK(cf->nlisteners >= 1, "no listener");
	FUZZ_CHECK(cf->write_low_watermark < cf->write_high_watermark, "watermarks %llu >= %llu",
	    (unsigned long long)cf->write_low_watermark,
	    (unsigned long long)cf->write_high_watermark);
	for (i = 0; i < cf->nlisteners; i++) {
		lc = cf->listeners[i];
		FUZZ_CHECK(lc->name != NULL && lc->name[0] != '\0', "listener %zu: no name", i);
		FUZZ_CHECK(lc->service != NULL, "[listener %s]: no service", lc->name);
		FUZZ_CHECK(lc->nbinds >= 1, "[listener %s]: no bind", lc->name);
		for (j = 0; j < lc->nbinds; j++)
			FUZZ_CHECK(lc->binds[j].naddrs >= 1 && lc->binds[j].naddrs <= ADDR_MAX_PER_SPEC,
			    "[listener %s]: bind %zu has %d addresses", lc->name, j,
			    lc->binds[j].naddrs);
		FUZZ_CHECK(!lc->tls || (lc->tls_cert != NULL && lc->tls_key != NULL),
		    "[listener %s]: tls without a certificate or key", lc->name);
		FUZZ_CHECK(lc->tls_verify_client == TLS_VERIFY_NONE || lc->tls_ca != NULL,
		    "[listener %s]: client verification without tls_ca", lc->name);
	}
}

/* load(dump) succeeds and dumps to the same text. */
static void
fuzz_config_check_dump(const char *dump)
{
	struct config_errors e = { NULL, 0 };
	struct config *cf = NULL;
	char *again;

	FUZZ_CHECK(config_load_string(FUZZ_NAME, dump, &cf, &e) == 0,
	    "the dump does not load: %s\n--- dump:\n%s", e.n > 0 ? e.msgs[0] : "?", dump);
	again = config_dump(cf);
	FUZZ_CHECK(strcmp(dump, again) == 0, "dump(load(dump)) differs:\n--- dump:\n%s\n"
	    "--- dump of its load:\n%s", dump, again);
	free(again);
	config_free(cf);
}

static void
fuzz_config_check_same_errors(const struct config_errors *a, const struct config_errors *b)
{
	size_t i;

	FUZZ_CHECK(a->n == b->n, "a second load gave %zu errors, not %zu", b->n, a->n);
	for (i = 0; i < a->n; i++)
		FUZZ_CHECK(strcmp(a->msgs[i], b->msgs[i]) == 0, "a second load said '%s', not '%s'",
		    b->msgs[i], a->msgs[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors e1 = { NULL, 0 }, e2 = { NULL, 0 };
	struct config *cf1 = (struct config *)1, *cf2 = (struct config *)1;
	char *text = fuzz_cstring(data, size), *d1, *d2;
	int rc1, rc2;

	rc1 = config_load_string(FUZZ_NAME, text, &cf1, &e1);
	rc2 = config_load_string(FUZZ_NAME, text, &cf2, &e2);
	FUZZ_CHECK(rc1 == rc2, "two loads of the same text: %d then %d", rc1, rc2);
	if (rc1 == 0) {
		FUZZ_CHECK(cf1 != NULL && e1.n == 0, "success with %zu errors", e1.n);
		fuzz_config_check_valid(cf1);
		d1 = config_dump(cf1);
		d2 = config_dump(cf2);
		FUZZ_CHECK(strcmp(d1, d2) == 0, "two loads dump differently");
		fuzz_config_check_dump(d1);
		free(d1);
		free(d2);
	} else {
		FUZZ_CHECK(rc1 == -1 && cf1 == NULL && cf2 == NULL, "failure: rc %d, config %p",
		    rc1, (void *)cf1);
		fuzz_config_check_errors(&e1, text);
		fuzz_config_check_same_errors(&e1, &e2);
	}
	config_free(cf1);
	config_free(cf2);
	config_errors_free(&e1);
	config_errors_free(&e2);
	free(text);
	return 0;
}
