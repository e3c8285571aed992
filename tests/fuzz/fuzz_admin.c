/*
 * fuzz_admin.c: libFuzzer harness for the admin console's parser
 * (admin_parse in admin.h): a line split into at most ADMIN_MAX_ARGS words
 * and matched against the command table, with and without authentication.
 *
 * Input: one flag byte (bit 0: the session is authenticated), then the line.
 * Invariants: an empty or all-space line is 0; a refusal has a non-empty
 * printable message; a command's name matches its first word (case
 * insensitive) and its words are non-empty, space-free and inside the
 * buffer; an unauthenticated session accepts AUTH <token> only; parsing
 * the same line twice gives the same result; and a line rebuilt from the
 * words (single spaces) parses to the same command. Runs on libFuzzer's
 * thread.
 */
#include "autoconf.h"

#include <ctype.h>
#include <strings.h>

#include "admin.h"
#include "fuzz.h"

static int
fuzz_admin_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_request *a, *b, *r;
	const char *line;
	size_t len, i, off;
	char rebuilt[ADMIN_MAX_LINE + ADMIN_MAX_ARGS + 1];
	int authed, rc, rc2, rc3;

	if (size < 1)
		return 0;
	authed = data[0] & 1;
	line = (const char *)data + 1;
	len = size - 1;
	a = xcalloc(1, sizeof(*a));
	b = xcalloc(1, sizeof(*b));
	r = xcalloc(1, sizeof(*r));
	rc = admin_parse(line, len, authed, a);
	rc2 = admin_parse(line, len, authed, b);
	FUZZ_CHECK(rc == rc2 && a->n == b->n && a->cmd == b->cmd &&
	    strcmp(a->error, b->error) == 0, "two parses of one line differ");
	FUZZ_CHECK(rc >= -1 && rc <= 2, "result %d", rc);
	if (rc == -1)
		FUZZ_CHECK(a->error[0] != '\0' && fuzz_admin_printable(a->error),
		    "refusal without a printable message: '%s'", a->error);
	if (rc == 0)
		FUZZ_CHECK(a->n == 0, "empty line with %d words", a->n);
	FUZZ_CHECK(a->n >= 0 && a->n <= ADMIN_MAX_ARGS, "%d words", a->n);
	for (i = 0; i < (size_t)a->n; i++) {
		FUZZ_CHECK(a->v[i] >= a->buf && a->v[i] < a->buf + sizeof(a->buf),
		    "word %zu outside the buffer", i);
		FUZZ_CHECK(a->v[i][0] != '\0', "empty word %zu", i);
		for (off = 0; a->v[i][off] != '\0'; off++)
			FUZZ_CHECK(!isspace((unsigned char)a->v[i][off]), "space in word %zu", i);
	}
	if (rc == 1) {
		FUZZ_CHECK(authed, "a command before AUTH");
		FUZZ_CHECK(strcasecmp(admin_command_name(a->cmd), a->v[0]) == 0,
		    "command %s for word %s", admin_command_name(a->cmd), a->v[0]);
	}
	if (rc == 2)
		FUZZ_CHECK(!authed && a->n == 2 && strcasecmp(a->v[0], "AUTH") == 0,
		    "AUTH result for '%s' (authed %d)", a->v[0], authed);
	/* The words, joined by single spaces, are the same request. */
	if (rc >= 1) {
		off = 0;
		for (i = 0; i < (size_t)a->n; i++)
			off += (size_t)snprintf(rebuilt + off, sizeof(rebuilt) - off, "%s%s",
			    i > 0 ? " " : "", a->v[i]);
		rc3 = admin_parse(rebuilt, off, authed, r);
		FUZZ_CHECK(rc3 == rc && r->cmd == a->cmd && r->n == a->n,
		    "rebuilt line '%s' parses to %d/%d, not %d/%d", rebuilt, rc3, r->cmd, rc,
		    a->cmd);
	}
	free(a);
	free(b);
	free(r);
	return 0;
}
