/*
 * command.c: line splitting with telnet IAC handling, and the command
 * parser of the command service. Pure functions over caller-owned state;
 * the service calls them on the loop thread, the unit tests directly.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "util.h"

enum command_iac_state {
	COMMAND_IAC_NONE = 0,
	COMMAND_IAC_SEEN,        /* IAC */
	COMMAND_IAC_OPTION,      /* IAC WILL/WONT/DO/DONT: one option byte follows */
	COMMAND_IAC_SB,          /* inside IAC SB ... IAC SE */
	COMMAND_IAC_SB_IAC,      /* IAC inside a subnegotiation */
};

static const struct {
	const char *name;
	const char *help;
} command_table[COMMAND_COUNT] = {
	[COMMAND_HELP]    = { "HELP",    "HELP - list the commands" },
	[COMMAND_QUIT]    = { "QUIT",    "QUIT - say goodbye and close the connection" },
	[COMMAND_PING]    = { "PING",    "PING - reply PONG" },
	[COMMAND_ECHO]    = { "ECHO",    "ECHO <text> - reply with the text" },
	[COMMAND_TIME]    = { "TIME",    "TIME - the current time, RFC 3339 UTC" },
	[COMMAND_RESOLVE] = { "RESOLVE", "RESOLVE <host> [v4|v6] - look up the host's addresses" },
	[COMMAND_DIGEST]  = { "DIGEST",  "DIGEST <sha256|sha512|sha1|md5> <text> - hex digest of the text" },
	[COMMAND_SLEEP]   = { "SLEEP",   "SLEEP <ms> - wait ms milliseconds on a worker thread" },
	[COMMAND_BLOCK]   = { "BLOCK",   "BLOCK <ms> - debug mode only: busy-wait ms milliseconds on the loop thread" },
};

static const char *command_digests[] = { "sha256", "sha512", "sha1", "md5" };

const char *
command_name(enum command_id id)
{
	return (unsigned)id < COMMAND_COUNT ? command_table[id].name : "?";
}

const char *
command_help(enum command_id id)
{
	return (unsigned)id < COMMAND_COUNT ? command_table[id].help : "?";
}

/* ---------------------------------------------------------------- line reader */

int
command_reader_init(struct command_reader *r, size_t max_line)
{
	memset(r, 0, sizeof *r);
	r->max_line = max_line > 0 ? max_line : 1;
	r->line = util_malloc(r->max_line + 1);
	return r->line != NULL ? 0 : -1;
}

void
command_reader_free(struct command_reader *r)
{
	free(r->line);
	free(r->in);
	memset(r, 0, sizeof *r);
}

int
command_reader_push(struct command_reader *r, const void *data, size_t len)
{
	size_t need, cap;
	char *in;

	if (len == 0)
		return 0;
	if (r->inoff == r->inlen)
		r->inoff = r->inlen = 0;
	if (r->inoff > 0 && r->inlen + len > r->incap) {
		memmove(r->in, r->in + r->inoff, r->inlen - r->inoff);
		r->inlen -= r->inoff;
		r->inoff = 0;
	}
	need = r->inlen + len;
	if (need > r->incap) {
		cap = need < 1024 ? 1024 : need;
		if ((in = util_reallocarray(r->in, cap, 1)) == NULL)
			return -1;
		r->in = in;
		r->incap = cap;
	}
	memcpy(r->in + r->inlen, data, len);
	r->inlen += len;
	return 0;
}

size_t
command_reader_pending(const struct command_reader *r)
{
	return r->inlen - r->inoff;
}

int
command_reader_partial(const struct command_reader *r)
{
	return r->len > 0 || r->cr || r->skipping || r->iac != COMMAND_IAC_NONE ||
	    command_reader_pending(r) > 0;
}

/* Store one byte of the current line; the byte past max_line starts skipping. */
static enum command_event
command_reader_store(struct command_reader *r, unsigned char c)
{
	if (r->skipping)
		return COMMAND_EV_NONE;
	if (r->len == r->max_line) {
		r->skipping = 1;
		r->len = 0;
		return COMMAND_EV_TOO_LONG;
	}
	r->line[r->len++] = (char)c;
	return COMMAND_EV_NONE;
}

static enum command_event
command_reader_eol(struct command_reader *r, const char **line, size_t *len)
{
	r->cr = 0;
	if (r->skipping) {
		r->skipping = 0;
		return COMMAND_EV_NONE;
	}
	*line = r->line;
	*len = r->len;
	r->len = 0;
	return COMMAND_EV_LINE;
}

/* One data byte (after telnet decoding). */
static enum command_event
command_reader_byte(struct command_reader *r, unsigned char c, const char **line, size_t *len)
{
	enum command_event ev;

	if (c == '\n')
		return command_reader_eol(r, line, len);
	if (r->cr) {
		/* Telnet sends CR NUL for a bare carriage return: end the line. */
		if (c == '\0')
			return command_reader_eol(r, line, len);
		r->cr = 0;
		/* On TOO_LONG the byte after the CR belongs to the skipped line. */
		if ((ev = command_reader_store(r, '\r')) != COMMAND_EV_NONE)
			return ev;
	}
	if (c == '\r') {
		r->cr = 1;
		return COMMAND_EV_NONE;
	}
	if (c == '\0')
		return COMMAND_EV_NONE;
	if (c == COMMAND_EOT) {
		if (r->len == 0 && !r->skipping)
			return COMMAND_EV_EOT;
		return COMMAND_EV_NONE;
	}
	return command_reader_store(r, c);
}

/*
 * n more bytes of a subnegotiation. Bounded: an endless one is an error,
 * not buffered state; every byte counts, escaped or not.
 */
static enum command_event
command_reader_sb_count(struct command_reader *r, size_t n)
{
	r->sblen += n;
	if (r->sblen <= COMMAND_SB_MAX)
		return COMMAND_EV_NONE;
	r->iac = COMMAND_IAC_NONE;
	return COMMAND_EV_SB_TOO_LONG;
}

/* A byte following IAC, or inside an option / subnegotiation. */
static enum command_event
command_reader_telnet(struct command_reader *r, unsigned char c, const char **line, size_t *len)
{
	switch (r->iac) {
	case COMMAND_IAC_OPTION:
		r->iac = COMMAND_IAC_NONE;
		return COMMAND_EV_NONE;
	case COMMAND_IAC_SB:
		if (c == TELNET_IAC) {
			/* counted with the byte after it, unless that ends the subnegotiation */
			r->iac = COMMAND_IAC_SB_IAC;
			return COMMAND_EV_NONE;
		}
		return command_reader_sb_count(r, 1);
	case COMMAND_IAC_SB_IAC:
		if (c == TELNET_SE) {
			r->iac = COMMAND_IAC_NONE;
			return COMMAND_EV_NONE;
		}
		/* IAC IAC (an escaped 0xff), or IAC and anything but SE */
		r->iac = COMMAND_IAC_SB;
		return command_reader_sb_count(r, 2);
	default:
		break;
	}
	r->iac = COMMAND_IAC_NONE;
	switch (c) {
	case TELNET_IAC:
		return command_reader_byte(r, c, line, len);
	case TELNET_WILL:
	case TELNET_WONT:
	case TELNET_DO:
	case TELNET_DONT:
		r->iac = COMMAND_IAC_OPTION;
		return COMMAND_EV_NONE;
	case TELNET_SB:
		r->iac = COMMAND_IAC_SB;
		r->sblen = 0;
		return COMMAND_EV_NONE;
	case TELNET_IP:
		return COMMAND_EV_INTERRUPT;
	case TELNET_EC:
		if (r->len > 0 && !r->skipping)
			r->len--;
		return COMMAND_EV_NONE;
	case TELNET_EL:
		if (!r->skipping)
			r->len = 0;
		return COMMAND_EV_NONE;
	default:
		/* NOP, DM, BRK, AO, AYT, GA, SE: nothing to do for a line protocol. */
		return COMMAND_EV_NONE;
	}
}

enum command_event
command_reader_next(struct command_reader *r, int eof, const char **line, size_t *len)
{
	enum command_event ev;
	unsigned char      c;

	while (r->inoff < r->inlen) {
		c = (unsigned char)r->in[r->inoff++];
		if (r->iac != COMMAND_IAC_NONE)
			ev = command_reader_telnet(r, c, line, len);
		else if (c == TELNET_IAC) {
			r->iac = COMMAND_IAC_SEEN;
			ev = COMMAND_EV_NONE;
		} else
			ev = command_reader_byte(r, c, line, len);
		if (ev != COMMAND_EV_NONE)
			return ev;
	}
	if (eof) {
		r->iac = COMMAND_IAC_NONE;
		if (r->skipping) {
			r->skipping = 0;
			r->cr = 0;
			r->len = 0;
		} else if (r->len > 0 || r->cr)
			return command_reader_eol(r, line, len);
	}
	return COMMAND_EV_NONE;
}

/* ---------------------------------------------------------------- parser */

struct command_cursor {
	const char *p;
	const char *end;
};

static int
command_is_space(char c)
{
	return c == ' ' || c == '\t';
}

static void
command_skip_space(struct command_cursor *cur)
{
	while (cur->p < cur->end && command_is_space(*cur->p))
		cur->p++;
}

/* Next whitespace-separated word; returns its length (0: none). */
static size_t
command_word(struct command_cursor *cur, const char **word)
{
	const char *start;

	command_skip_space(cur);
	start = cur->p;
	while (cur->p < cur->end && !command_is_space(*cur->p))
		cur->p++;
	*word = start;
	return (size_t)(cur->p - start);
}

static int
command_word_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

/* The rest of the line after exactly one separator, verbatim. */
static void
command_rest(struct command_cursor *cur, const char **text, size_t *len)
{
	if (cur->p < cur->end && command_is_space(*cur->p))
		cur->p++;
	*text = cur->p;
	*len = (size_t)(cur->end - cur->p);
}

static int
command_at_end(struct command_cursor *cur)
{
	command_skip_space(cur);
	return cur->p == cur->end;
}

static int
command_usage(enum command_id id, char *err, size_t errsize)
{
	const char *h = command_help(id);
	const char *dash = strstr(h, " - ");

	snprintf(err, errsize, "usage: %.*s", (int)(dash != NULL ? dash - h : (long)strlen(h)), h);
	return -1;
}

static int
command_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
command_host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0 || n > COMMAND_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && c != ':' && c != '%')
			return 0;
	}
	return 1;
}

static int
command_parse_resolve(struct command_cursor *cur, struct command_req *req, char *err, size_t errsize)
{
	const char *w;
	size_t      n;

	if ((n = command_word(cur, &w)) == 0)
		return command_usage(COMMAND_RESOLVE, err, errsize);
	if (!command_host_ok(w, n)) {
		snprintf(err, errsize, "bad host name");
		return -1;
	}
	memcpy(req->host, w, n);
	req->host[n] = '\0';
	req->family = AF_UNSPEC;
	if ((n = command_word(cur, &w)) != 0) {
		if (command_word_is(w, n, "v4"))
			req->family = AF_INET;
		else if (command_word_is(w, n, "v6"))
			req->family = AF_INET6;
		else {
			snprintf(err, errsize, "address family must be v4 or v6");
			return -1;
		}
	}
	if (!command_at_end(cur))
		return command_usage(COMMAND_RESOLVE, err, errsize);
	return 0;
}

static int
command_parse_digest(struct command_cursor *cur, struct command_req *req, char *err, size_t errsize)
{
	const char *w;
	size_t      n, i;

	if ((n = command_word(cur, &w)) == 0)
		return command_usage(COMMAND_DIGEST, err, errsize);
	for (i = 0; i < ARRAY_LEN(command_digests); i++)
		if (command_word_is(w, n, command_digests[i]))
			break;
	if (i == ARRAY_LEN(command_digests)) {
		snprintf(err, errsize, "unknown digest, expected sha256, sha512, sha1 or md5");
		return -1;
	}
	snprintf(req->alg, sizeof req->alg, "%s", command_digests[i]);
	command_rest(cur, &req->text, &req->textlen);
	if (req->textlen == 0)
		return command_usage(COMMAND_DIGEST, err, errsize);
	return 0;
}

/* SLEEP <ms> and BLOCK <ms>: one number from 0 to max_sleep_ms. */
static int
command_parse_ms(struct command_cursor *cur, uint64_t max_sleep_ms, struct command_req *req,
    char *err, size_t errsize)
{
	const char *w;
	size_t      n, i;
	uint64_t    v = 0;

	if ((n = command_word(cur, &w)) == 0 || !command_at_end(cur))
		return command_usage(req->id, err, errsize);
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)w[i]) || v > max_sleep_ms)
			break;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	if (i < n || v > max_sleep_ms) {
		snprintf(err, errsize, "ms must be a number from 0 to %llu",
		    (unsigned long long)max_sleep_ms);
		return -1;
	}
	req->ms = v;
	return 0;
}

int
command_parse(const char *line, size_t len, uint64_t max_sleep_ms, struct command_req *req,
    char *err, size_t errsize)
{
	struct command_cursor cur = { line, line + len };
	const char           *w;
	size_t                n;
	int                   id;

	memset(req, 0, sizeof *req);
	if ((n = command_word(&cur, &w)) == 0)
		return 1;
	for (id = 0; id < COMMAND_COUNT; id++)
		if (command_word_is(w, n, command_table[id].name))
			break;
	if (id == COMMAND_COUNT) {
		if (command_printable(w, n))
			snprintf(err, errsize, "unknown command '%.*s', try HELP",
			    (int)(n > 32 ? 32 : n), w);
		else
			snprintf(err, errsize, "unknown command, try HELP");
		return -1;
	}
	req->id = (enum command_id)id;
	switch (req->id) {
	case COMMAND_ECHO:
		command_rest(&cur, &req->text, &req->textlen);
		return 0;
	case COMMAND_RESOLVE:
		return command_parse_resolve(&cur, req, err, errsize);
	case COMMAND_DIGEST:
		return command_parse_digest(&cur, req, err, errsize);
	case COMMAND_SLEEP:
	case COMMAND_BLOCK:
		return command_parse_ms(&cur, max_sleep_ms, req, err, errsize);
	default:
		if (!command_at_end(&cur))
			return command_usage(req->id, err, errsize);
		return 0;
	}
}
