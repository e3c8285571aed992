/*
 * fuzz_command.c: libFuzzer harness for the command service's line reader
 * (telnet IAC sequences, CR/LF, CR NUL, NUL, Ctrl-D, over-long lines) and
 * its parser (command_reader_*, command_parse in command.h).
 *
 * Input: three parameter bytes, then the byte stream a client sends.
 *   byte 0   max_line: 1..64 below 0x80, else 16 << (b % 9) (16..4096)
 *   byte 1   the largest chunk (1..61) and the seed of the chunk sizes and
 *            of when the reader is drained
 *   byte 2   max_sleep_ms: 0, 1, 10000 (the default) or 168h (the maximum)
 *
 * The stream is fed three ways: whole, one byte at a time, and in
 * seed-chosen chunks, draining the reader only after some of them (as the
 * service does when it stops taking lines at its pipelining limit). Each
 * way gives a record of events and parse results; the three must be equal.
 * Every line is at most max_line bytes without LF or NUL; every parse is a
 * blank line, a request with fields in range, or an error with a non-empty
 * printable message. Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <ctype.h>
#include <strings.h>

#include "command.h"
#include "fuzz.h"

#define FUZZ_HDR	3

/* What one way of feeding the stream produced, serialized for comparison. */
struct fuzz_log {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

struct fuzz_params {
	size_t		 max_line;
	uint64_t	 seed;
	uint64_t	 max_sleep_ms;
};

static void
fuzz_log_add(struct fuzz_log *lg, const void *p, size_t n)
{
	if (lg->len + n > lg->cap) {
		lg->cap = (lg->len + n) * 2;
		lg->buf = xrealloc(lg->buf, lg->cap);
	}
	memcpy(lg->buf + lg->len, p, n);
	lg->len += n;
}

static void
fuzz_log_u64(struct fuzz_log *lg, uint64_t v)
{
	fuzz_log_add(lg, &v, sizeof(v));
}

static int
fuzz_command_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	return 1;
}

/* The first word of the line: its offset, and its length in *n. */
static size_t
fuzz_command_word(const char *line, size_t len, size_t *n)
{
	size_t i = 0, j;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	for (j = i; j < len && line[j] != ' ' && line[j] != '\t'; j++)
		continue;
	*n = j - i;
	return i;
}

/* The ms argument as it should be read: digits only, up to max. */
static int
fuzz_command_ref_ms(const char *line, size_t len, uint64_t max, uint64_t *out)
{
	const char *p = line, *end = line + len, *w;
	uint64_t v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && *p != ' ' && *p != '\t')
		p++;	/* the command word */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == w || v > max)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return -1;
	*out = v;
	return 0;
}

static void
fuzz_command_check_req(const struct command_req *req, const char *line, size_t len,
    const struct fuzz_params *fp)
{
	static const char *algs[] = { "sha256", "sha512", "sha1", "md5" };
	size_t i, n, off = fuzz_command_word(line, len, &n);
	uint64_t ms;

	FUZZ_CHECK((unsigned)req->id < COMMAND_COUNT, "id %d", (int)req->id);
	/* the first word is the command's name, in any case */
	FUZZ_CHECK(n == strlen(command_name(req->id)) &&
	    strncasecmp(line + off, command_name(req->id), n) == 0,
	    "'%.*s' parsed as %s", (int)len, line, command_name(req->id));
	switch (req->id) {
	case COMMAND_ECHO:
	case COMMAND_DIGEST:
		FUZZ_CHECK(req->text != NULL && req->text >= line && req->textlen <= len &&
		    req->text + req->textlen == line + len, "text outside the line");
		if (req->id == COMMAND_ECHO)
			break;
		FUZZ_CHECK(req->textlen > 0, "DIGEST of nothing");
		for (i = 0; i < ARRAY_LEN(algs); i++)
			if (strcmp(req->alg, algs[i]) == 0)
				break;
		FUZZ_CHECK(i < ARRAY_LEN(algs), "digest '%s'", req->alg);
		break;
	case COMMAND_RESOLVE:
		FUZZ_CHECK(req->host[0] != '\0' && strlen(req->host) <= COMMAND_HOST_MAX,
		    "host of %zu bytes", strlen(req->host));
		for (i = 0; req->host[i] != '\0'; i++)
			FUZZ_CHECK(isalnum((unsigned char)req->host[i]) ||
			    strchr(".-_:%", req->host[i]) != NULL, "host byte 0x%02x",
			    (unsigned char)req->host[i]);
		FUZZ_CHECK(req->family == AF_UNSPEC || req->family == AF_INET ||
		    req->family == AF_INET6, "family %d", req->family);
		break;
	case COMMAND_SLEEP:
	case COMMAND_BLOCK:
		FUZZ_CHECK(req->ms <= fp->max_sleep_ms, "%llu ms above %llu",
		    (unsigned long long)req->ms, (unsigned long long)fp->max_sleep_ms);
		FUZZ_CHECK(fuzz_command_ref_ms(line, len, fp->max_sleep_ms, &ms) == 0 &&
		    ms == req->ms, "'%.*s' gave %llu ms", (int)len, line,
		    (unsigned long long)req->ms);
		break;
	default:
		/* HELP, QUIT, PING, TIME: nothing after the name */
		FUZZ_CHECK(fuzz_command_blank(line + off + n, len - off - n),
		    "'%.*s' parsed as %s", (int)len, line, command_name(req->id));
		break;
	}
}

/* Parse one line (a heap copy of exactly its bytes) and log the result. */
static void
fuzz_command_parse(struct fuzz_log *lg, const char *line, size_t len,
    const struct fuzz_params *fp)
{
	struct command_req req;
	char err[256], *copy = fuzz_copy(line, len);
	const unsigned char *p;
	size_t off, n;
	uint64_t ms;
	int rc;

	memset(err, 0, sizeof(err));
	rc = command_parse(copy, len, fp->max_sleep_ms, &req, err, sizeof(err));
	fuzz_log_u64(lg, (uint64_t)rc);
	switch (rc) {
	case 1:
		FUZZ_CHECK(fuzz_command_blank(copy, len), "'%.*s' taken as blank", (int)len, line);
		break;
	case -1:
		FUZZ_CHECK(err[0] != '\0', "an error without a message for '%.*s'", (int)len, line);
		for (p = (const unsigned char *)err; *p != '\0'; p++)
			FUZZ_CHECK(isprint(*p), "byte 0x%02x in the error '%s'", *p, err);
		FUZZ_CHECK(!fuzz_command_blank(copy, len), "blank line refused");
		/* a valid SLEEP or BLOCK is never refused */
		off = fuzz_command_word(copy, len, &n);
		FUZZ_CHECK(!(n == 5 && (strncasecmp(copy + off, "SLEEP", 5) == 0 ||
		    strncasecmp(copy + off, "BLOCK", 5) == 0) &&
		    fuzz_command_ref_ms(copy, len, fp->max_sleep_ms, &ms) == 0),
		    "'%.*s' refused: %s", (int)len, line, err);
		fuzz_log_add(lg, err, strlen(err) + 1);
		break;
	default:
		FUZZ_CHECK(rc == 0, "command_parse returned %d", rc);
		fuzz_command_check_req(&req, copy, len, fp);
		fuzz_log_u64(lg, (uint64_t)req.id);
		fuzz_log_u64(lg, req.text != NULL ? (uint64_t)(req.text - copy) : UINT64_MAX);
		fuzz_log_u64(lg, req.textlen);
		fuzz_log_add(lg, req.host, strlen(req.host) + 1);
		fuzz_log_u64(lg, (uint64_t)req.family);
		fuzz_log_add(lg, req.alg, strnlen(req.alg, sizeof(req.alg)));
		fuzz_log_u64(lg, req.ms);
		break;
	}
	free(copy);
}

/* Take events until the reader needs more input. */
static void
fuzz_command_drain(struct command_reader *r, int eof, struct fuzz_log *lg,
    const struct fuzz_params *fp)
{
	enum command_event ev;
	const char *line = NULL;
	size_t len = 0;

	while ((ev = command_reader_next(r, eof, &line, &len)) != COMMAND_EV_NONE) {
		FUZZ_CHECK(ev == COMMAND_EV_LINE || ev == COMMAND_EV_TOO_LONG ||
		    ev == COMMAND_EV_INTERRUPT || ev == COMMAND_EV_EOT, "event %d", (int)ev);
		fuzz_log_u64(lg, (uint64_t)ev);
		if (ev != COMMAND_EV_LINE)
			continue;
		FUZZ_CHECK(len <= fp->max_line, "a line of %zu bytes, max_line %zu", len,
		    fp->max_line);
		FUZZ_CHECK(memchr(line, '\n', len) == NULL && memchr(line, '\0', len) == NULL,
		    "LF or NUL in a line");
		fuzz_log_u64(lg, len);
		fuzz_log_add(lg, line, len);
		fuzz_command_parse(lg, line, len, fp);
	}
}

/*
 * Feed the stream in chunks: chunk 0 means one byte at a time, SIZE_MAX the
 * whole stream at once, otherwise seed-chosen sizes from 1 to chunk, with the
 * reader drained after a seed-chosen half of the pushes.
 */
static void
fuzz_command_feed(const uint8_t *in, size_t size, size_t chunk, const struct fuzz_params *fp,
    struct fuzz_log *lg)
{
	struct command_reader r;
	uint64_t rnd = fp->seed;
	size_t off = 0, n;
	int drain;

	command_reader_init(&r, fp->max_line);
	while (off < size) {
		if (chunk == SIZE_MAX)
			n = size;
		else if (chunk == 0)
			n = 1;
		else
			n = 1 + (size_t)(fuzz_rand(&rnd) % chunk);
		if (n > size - off)
			n = size - off;
		command_reader_push(&r, in + off, n);
		off += n;
		drain = chunk == 0 || chunk == SIZE_MAX || (fuzz_rand(&rnd) & 1);
		if (drain)
			fuzz_command_drain(&r, 0, lg, fp);
	}
	fuzz_command_drain(&r, 0, lg, fp);
	FUZZ_CHECK(command_reader_pending(&r) == 0, "%zu bytes left unread",
	    command_reader_pending(&r));
	fuzz_command_drain(&r, 1, lg, fp);
	command_reader_free(&r);
}

static void
fuzz_command_compare(const struct fuzz_log *a, const struct fuzz_log *b, const char *how)
{
	size_t i;

	if (a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0))
		return;
	for (i = 0; i < a->len && i < b->len && a->buf[i] == b->buf[i]; i++)
		continue;
	FUZZ_CHECK(0, "fed %s, the events differ from the whole stream's at byte %zu of the "
	    "record (lengths %zu and %zu)", how, i, a->len, b->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sleeps[] = { 0, 1, 10000, 168 * 3600 * 1000ULL };
	struct fuzz_log whole = { NULL, 0, 0 }, bytes = { NULL, 0, 0 }, chunks = { NULL, 0, 0 };
	struct fuzz_params fp;
	size_t chunk;

	if (size < FUZZ_HDR)
		return 0;
	fp.max_line = data[0] < 0x80 ? 1 + data[0] % 64 : (size_t)16 << (data[0] % 9);
	fp.seed = data[1] + 1;
	chunk = 1 + data[1] % 61;
	fp.max_sleep_ms = sleeps[data[2] % ARRAY_LEN(sleeps)];
	data += FUZZ_HDR;
	size -= FUZZ_HDR;

	fuzz_command_feed(data, size, SIZE_MAX, &fp, &whole);
	fuzz_command_feed(data, size, 0, &fp, &bytes);
	fuzz_command_feed(data, size, chunk, &fp, &chunks);
	fuzz_command_compare(&whole, &bytes, "one byte at a time");
	fuzz_command_compare(&whole, &chunks, "in chunks");
	free(whole.buf);
	free(bytes.buf);
	free(chunks.buf);
	return 0;
}
