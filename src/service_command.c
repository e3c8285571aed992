/*
 * service_command.c: the line-based `command` service for telnet and nc.
 * PING, ECHO, TIME and HELP are answered on the loop; RESOLVE (getaddrinfo),
 * DIGEST (OpenSSL EVP) and SLEEP may block, so they run on the worker pool.
 *
 * Threads: everything here runs on the loop thread except the
 * command_work_* functions, which run on workers and see only their own
 * copy of the request (struct command_work), never the connection.
 *
 * Pipelining: each request gets a reply slot, in request order; a slot is
 * filled at once (inline commands, errors) or when its job completes, and
 * slots are written from the head only when ready, so replies keep request
 * order when jobs finish out of order. With max_pending slots unwritten, or
 * with the connection's share of the job queue in flight (pool_conn_share:
 * one client never fills the queue every client shares), reading stops
 * (conn_pause_read) until replies drain or jobs finish; unparsed bytes stay
 * in the line reader. While jobs are in flight, conn_watch_peer notices a
 * client that resets even when it is not read, so its jobs go at once.
 *
 * Lifetime: a slot with a job in flight holds a connection reference. When
 * the connection closes, on_close cancels those jobs and orphans their slots
 * (slot->session = NULL); the done callback then only frees the slot and
 * drops the reference.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <strings.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "command.h"
#include "conn.h"
#include "debug.h"
#include "log.h"
#include "pool.h"
#include "service.h"
#include "util.h"

#define COMMAND_RESOLVE_MAX          32     /* addresses listed */

/*
 * commands: which commands a listener offers. "auto" (the default) is every
 * command, but RESOLVE only on connections that came in on a loopback
 * address: RESOLVE lets a client query the daemon's resolver, internal
 * names included, which an exposed listener must not offer unasked.
 */
struct command_set {
	int                        is_auto;
	unsigned                   mask;        /* bit per enum command_id */
};

/* The command service's options: per listener, with [server] defaults. */
struct command_conf {
	uint64_t                   max_line;
	uint64_t                   max_sleep_ms;
	uint64_t                   max_pending;
	uint64_t                   line_timeout_ms;
	struct command_set         commands;
};

static int	command_set_parse(const char *value, void *field, const char **expect);
static const char *command_set_format(const void *field, char *buf, size_t size);
static const struct service_key command_keys[] = {
	{ "max_line", SERVICE_K_SIZE, offsetof(struct command_conf, max_line), 16,
	  (uint64_t)1 << 20, "4096", NULL, SERVICE_K_SERVER, NULL, NULL },
	{ "max_sleep", SERVICE_K_DURATION, offsetof(struct command_conf, max_sleep_ms), 0,
	  (uint64_t)168 * 3600 * 1000, "10s", NULL, SERVICE_K_SERVER, NULL, NULL },
	{ "max_pending", SERVICE_K_UINT, offsetof(struct command_conf, max_pending), 1, 65536,
	  "64", NULL, SERVICE_K_SERVER, NULL, NULL },
	{ "line_timeout", SERVICE_K_DURATION, offsetof(struct command_conf, line_timeout_ms), 0,
	  (uint64_t)168 * 3600 * 1000, "30s", NULL, SERVICE_K_SERVER, NULL, NULL },
	{ "commands", SERVICE_K_CUSTOM, offsetof(struct command_conf, commands), 0, 0, "auto",
	  NULL, 0, command_set_parse, command_set_format },
};

/* The commands every listener offers, whatever `commands` says. */
#define COMMAND_ALWAYS	((1u << COMMAND_HELP) | (1u << COMMAND_QUIT))

struct command_session;

struct command_reply {
	TAILQ_ENTRY(command_reply) entry;
	struct command_session    *session;     /* NULL: orphaned, the connection closed */
	struct conn               *conn;        /* referenced while job != NULL */
	struct pool_job           *job;         /* in flight */
	char                      *text;
	size_t                     len;
	int                        ready;
	int                        close_after; /* QUIT, Ctrl-C, Ctrl-D */
};
TAILQ_HEAD(command_reply_list, command_reply);

struct command_session {
	struct command_reader      reader;
	struct command_reply_list  replies;     /* request order */
	unsigned                   pending;     /* replies not yet written */
	unsigned                   max_pending;
	size_t                     jobs;        /* in flight: at pool_conn_share(), wait */
	uint64_t                   max_sleep_ms;
	int                        eof;
	int                        closing;     /* saw QUIT: parse nothing more */
	int                        shutdown;
	int                        paused;
	unsigned                   offered;     /* bit per enum command_id */
	uint64_t                   line_timeout_ms;
	uint64_t                   lines;       /* complete lines read, for the line timer */
	uint64_t                   timed_lines; /* `lines` when the line timer was set */
	int                        timing;      /* the line timer is set */
	int                        oom;         /* a reply could not be allocated: close */
};

/* A job's private copy of its request: plain data, no pointers. */
struct command_work {
	enum command_id            id;
	int                        family;
	uint64_t                   ms;
	char                       alg[8];
	char                       host[COMMAND_HOST_MAX + 1];
	size_t                     textlen;
	char                       text[];
};

static void	command_run(struct conn *, struct command_session *);

/* ---------------------------------------------------------------- workers */

static int
command_work_sleep(struct pool_work *w)
{
	const struct command_work *cw = w->in;

	if (pool_work_sleep(w, cw->ms) != 0) {
		pool_work_printf(w, "-ERR shutting down\r\n");
		return -1;
	}
	pool_work_printf(w, "+OK slept %" PRIu64 " ms\r\n", cw->ms);
	return 0;
}

static int
command_work_digest(struct pool_work *w)
{
	const struct command_work *cw = w->in;
	const EVP_MD              *md;
	unsigned char              buf[EVP_MAX_MD_SIZE];
	unsigned int               n, i;
	char                       hex[2 * EVP_MAX_MD_SIZE + 1];

	if ((md = EVP_get_digestbyname(cw->alg)) == NULL ||
	    EVP_Digest(cw->text, cw->textlen, buf, &n, md, NULL) != 1) {
		pool_work_printf(w, "-ERR digest %s not available\r\n", cw->alg);
		return -1;
	}
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	pool_work_printf(w, "+OK %s\r\n", hex);
	return 0;
}

static int
command_work_resolve(struct pool_work *w)
{
	const struct command_work *cw = w->in;
	struct addrinfo            hints, *res, *ai;
	char                       addrs[COMMAND_RESOLVE_MAX][INET6_ADDRSTRLEN];
	const void                *src;
	int                        rc, n = 0, i, dup;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = cw->family;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(cw->host, NULL, &hints, &res)) != 0) {
		pool_work_printf(w, "-ERR cannot resolve %s: %s\r\n", cw->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && n < COMMAND_RESOLVE_MAX; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			src = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			src = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, src, addrs[n], sizeof addrs[n]) == NULL)
			continue;
		for (dup = 0, i = 0; i < n && !dup; i++)
			dup = strcmp(addrs[i], addrs[n]) == 0;
		if (!dup)
			n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		pool_work_printf(w, "-ERR cannot resolve %s: no addresses\r\n", cw->host);
		return -1;
	}
	pool_work_printf(w, "+OK %d lines\r\n", n);
	for (i = 0; i < n; i++)
		pool_work_printf(w, "%s\r\n", addrs[i]);
	return 0;
}

/* ---------------------------------------------------------------- replies */

/*
 * Out of memory for a reply (or its text): the session is marked and
 * command_run closes the connection (reason oom); answers cannot be
 * skipped without the client losing count of them.
 */
static struct command_reply *
command_reply_add(struct command_session *s)
{
	struct command_reply *r = util_calloc(1, sizeof *r);

	if (r == NULL) {
		s->oom = 1;
		return NULL;
	}
	r->session = s;
	TAILQ_INSERT_TAIL(&s->replies, r, entry);
	s->pending++;
	return r;
}

static void
command_reply_set(struct command_reply *r, const char *text, size_t len)
{
	if ((r->text = util_strndup(text, len)) == NULL) {
		if (r->session != NULL)
			r->session->oom = 1;
		return;
	}
	r->len = len;
	r->ready = 1;
}

static void
command_reply_printf(struct command_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
command_reply_printf(struct command_session *s, const char *fmt, ...)
{
	struct command_reply *r = command_reply_add(s);
	va_list               ap;
	int                   n;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	n = util_vasprintf(&r->text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->oom = 1;
		return;
	}
	r->len = (size_t)n;
	r->ready = 1;
}

static void
command_reply_free(struct command_reply *r)
{
	free(r->text);
	free(r);
}

/* ---------------------------------------------------------------- commands */

static void
command_do_help(struct command_session *s)
{
	struct command_reply *r = command_reply_add(s);
	char                 *text = NULL, *next;
	int                   i, n;

	if (r == NULL)
		return;
	for (i = 0, n = 0; i < COMMAND_COUNT; i++)
		n += (s->offered & (1u << i)) != 0;
	if (util_asprintf(&text, "+OK %d lines\r\n", n) < 0) {
		s->oom = 1;
		return;
	}
	for (i = 0; i < COMMAND_COUNT; i++) {
		if (!(s->offered & (1u << i)))
			continue;
		n = util_asprintf(&next, "%s%s\r\n", text, command_help((enum command_id)i));
		free(text);
		if (n < 0) {
			s->oom = 1;
			return;
		}
		text = next;
	}
	r->text = text;
	r->len = strlen(text);
	r->ready = 1;
}

static void
command_do_time(struct command_session *s)
{
	struct tm tm;
	time_t    t = time(NULL);
	char      buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	command_reply_printf(s, "+OK %s\r\n", buf);
}

/* The last reply queued ends the session once written. */
static void
command_reply_last_closes(struct command_session *s)
{
	struct command_reply *r = TAILQ_LAST(&s->replies, command_reply_list);

	if (r != NULL)
		r->close_after = 1;
}

static void
command_do_bye(struct command_session *s)
{
	struct command_reply *r = command_reply_add(s);

	s->closing = 1;
	if (r == NULL)
		return;
	command_reply_set(r, "+OK bye\r\n", 9);
	r->close_after = 1;
}

static void	command_job_done(const struct pool_done *);

/* Hand a blocking command to the pool; its slot waits for the completion. */
static void
command_do_job(struct conn *c, struct command_session *s, const struct command_req *req)
{
	struct pool_submit_args  a;
	struct command_work     *cw;
	struct command_reply    *r = command_reply_add(s);
	size_t                   size = sizeof *cw + req->textlen;
	int                      rc;

	if (r == NULL)
		return;
	if ((cw = util_calloc(1, size)) == NULL) {
		s->oom = 1;
		return;
	}
	cw->id = req->id;
	cw->family = req->family;
	cw->ms = req->ms;
	memcpy(cw->alg, req->alg, sizeof cw->alg);
	memcpy(cw->host, req->host, sizeof cw->host);
	cw->textlen = req->textlen;
	if (req->textlen > 0)
		memcpy(cw->text, req->text, req->textlen);

	memset(&a, 0, sizeof a);
	a.kind = command_name(req->id);
	a.work = req->id == COMMAND_SLEEP ? command_work_sleep :
	    req->id == COMMAND_DIGEST ? command_work_digest : command_work_resolve;
	a.in = cw;
	a.inlen = size;
	a.done = command_job_done;
	a.arg = r;
	a.conn_id = conn_id(c);
	rc = pool_submit(&a, &r->job);
	free(cw);
	if (rc == -1) {
		r->job = NULL;
		if (errno == EAGAIN) {
			log_info(LOG_S_POOL, "conn=%" PRIu64 " command=%s reason=busy", conn_id(c), a.kind);
			command_reply_set(r, "-ERR busy\r\n", 11);
		} else if (errno == ENOMEM)
			s->oom = 1;
		else
			command_reply_set(r, "-ERR shutting down\r\n", 20);
		return;
	}
	/* The job holds a reference until its done callback, taken here on the loop. */
	conn_ref(c);
	r->conn = c;
	/* A client that resets while we wait for this job is noticed, even unread. */
	if (s->jobs++ == 0)
		conn_watch_peer(c, 1);
}

/*
 * BLOCK <ms>: deliberately stall the loop thread (debug mode only), so an
 * operator or a test can watch the slow-callback warning and the loop-lag
 * monitor fire. Outside debug mode it is refused: it would hurt every client.
 */
static void
command_do_block(struct command_session *s, uint64_t ms)
{
	uint64_t until;

	if (!debug_on()) {
		command_reply_printf(s, "-ERR debug mode is off\r\n");
		return;
	}
	until = util_now_us() + ms * 1000;
	while (util_now_us() < until)
		;
	command_reply_printf(s, "+OK blocked %llu ms\r\n", (unsigned long long)ms);
}

static void
command_do_line(struct conn *c, struct command_session *s, const char *line, size_t len)
{
	struct command_req req;
	char               err[128];
	int                rc;

	rc = command_parse(line, len, s->max_sleep_ms, &req, err, sizeof err);
	if (rc == 1)
		return;
	if (rc == -1) {
		command_reply_printf(s, "-ERR %s\r\n", err);
		return;
	}
	if (!(s->offered & (1u << req.id))) {
		command_reply_printf(s, "-ERR %s is not offered here\r\n", command_name(req.id));
		return;
	}
	switch (req.id) {
	case COMMAND_HELP:
		command_do_help(s);
		break;
	case COMMAND_QUIT:
		command_do_bye(s);
		break;
	case COMMAND_PING:
		command_reply_printf(s, "+OK PONG\r\n");
		break;
	case COMMAND_ECHO:
		command_reply_printf(s, "+OK%s%.*s\r\n", req.textlen > 0 ? " " : "",
		    (int)req.textlen, req.text);
		break;
	case COMMAND_TIME:
		command_do_time(s);
		break;
	case COMMAND_RESOLVE:
	case COMMAND_DIGEST:
	case COMMAND_SLEEP:
		command_do_job(c, s, &req);
		break;
	case COMMAND_BLOCK:
		command_do_block(s, req.ms);
		break;
	case COMMAND_COUNT:
		break;
	}
}

/* One event from the line reader. */
static void
command_do_event(struct conn *c, struct command_session *s, enum command_event ev,
    const char *line, size_t len)
{
	switch (ev) {
	case COMMAND_EV_LINE:
		s->lines++;
		command_do_line(c, s, line, len);
		break;
	case COMMAND_EV_TOO_LONG:
		command_reply_printf(s, "-ERR line too long\r\n");
		break;
	case COMMAND_EV_INTERRUPT:
	case COMMAND_EV_EOT:
		command_do_bye(s);
		break;
	case COMMAND_EV_SB_TOO_LONG:
		command_reply_printf(s, "-ERR telnet subnegotiation too long\r\n");
		s->closing = 1;
		command_reply_last_closes(s);
		break;
	case COMMAND_EV_NONE:
		break;
	}
}

/* Write the ready replies at the head; 1 once a goodbye has been written. */
static int
command_flush(struct conn *c, struct command_session *s)
{
	struct command_reply *r;
	int                   bye = 0;

	while (!bye && (r = TAILQ_FIRST(&s->replies)) != NULL && r->ready) {
		TAILQ_REMOVE(&s->replies, r, entry);
		s->pending--;
		bye = r->close_after;
		conn_write(c, r->text, r->len);
		command_reply_free(r);
	}
	return bye;
}

/*
 * line_timeout: the time one command line may take to arrive, counted from
 * its first byte while the service is reading. A client that dribbles a
 * line (or a telnet sequence) byte by byte is closed; one that sends whole
 * lines never meets it. Paused reading (max_pending, the job share) stops the clock.
 */
static void
command_line_timer(struct conn *c, struct command_session *s, int reading)
{
	int partial = reading && s->line_timeout_ms > 0 && command_reader_partial(&s->reader);

	if (partial && (!s->timing || s->timed_lines != s->lines)) {
		conn_set_deadline(c, s->line_timeout_ms, CONN_R_LINE_TIMEOUT);
		s->timing = 1;
		s->timed_lines = s->lines;
	} else if (!partial && s->timing) {
		conn_set_deadline(c, 0, CONN_R_LINE_TIMEOUT);
		s->timing = 0;
	}
}

/*
 * Room for another request: under max_pending replies, and under this
 * connection's fair share of the job queue (pool_conn_share), so one client
 * pipelining jobs waits for its own instead of filling the queue for all.
 */
static int
command_room(const struct command_session *s)
{
	return s->pending < s->max_pending && s->jobs < pool_conn_share();
}

/* Reading on or off from the session's state. */
static void
command_update_read(struct conn *c, struct command_session *s)
{
	int want = !s->closing && !s->shutdown && command_room(s) &&
	    command_reader_pending(&s->reader) == 0;

	if (s->eof)
		return;     /* conn.c stopped reading at EOF */
	command_line_timer(c, s, want);
	if (!want && !s->paused) {
		s->paused = 1;
		conn_pause_read(c);
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " command reading paused pending=%u",
		    conn_id(c), s->pending);
	} else if (want && s->paused) {
		s->paused = 0;
		conn_resume_read(c);
		log_debug(LOG_S_CONN, "conn=%" PRIu64 " command reading resumed pending=%u",
		    conn_id(c), s->pending);
	}
}

/* Write what is ready, take more lines while under max_pending, then decide. */
static void
command_run(struct conn *c, struct command_session *s)
{
	enum command_event ev;
	const char        *line;
	size_t             len;

	for (;;) {
		if (s->oom) {
			conn_close_oom(c, "command reply");
			return;
		}
		if (command_flush(c, s)) {
			/* QUIT, Ctrl-C, Ctrl-D: the goodbye is queued; nothing after it was parsed. */
			conn_finish(c);
			return;
		}
		if (s->closing || !command_room(s))
			break;
		ev = command_reader_next(&s->reader, s->eof, &line, &len);
		if (ev == COMMAND_EV_NONE)
			break;
		command_do_event(c, s, ev, line, len);
	}
	if (s->oom) {
		conn_close_oom(c, "command reply");
		return;
	}
	if ((s->eof || s->shutdown) && TAILQ_EMPTY(&s->replies)) {
		/* Half-close or shutdown: everything received is answered. */
		conn_finish(c);
		return;
	}
	command_update_read(c, s);
}

static void
command_job_done(const struct pool_done *d)
{
	struct command_reply   *r = d->arg;
	struct conn            *c = r->conn;
	struct command_session *s = r->session;

	/* The connection is gone (on_close orphaned the slot): drop the result. */
	if (s == NULL) {
		command_reply_free(r);
		conn_unref(c);
		return;
	}
	r->job = NULL;
	r->conn = NULL;
	if (--s->jobs == 0)
		conn_watch_peer(c, 0);
	switch (d->status) {
	case POOL_OK:
	case POOL_FAILED:
		if (d->oom)
			command_reply_set(r, "-ERR out of memory\r\n", 20);
		else
			command_reply_set(r, d->out, d->outlen);
		break;
	case POOL_TIMEOUT:
		command_reply_set(r, "-ERR timeout\r\n", 14);
		break;
	case POOL_SHUTDOWN:
		command_reply_set(r, "-ERR shutting down\r\n", 20);
		break;
	case POOL_CANCELLED:
		command_reply_set(r, "-ERR cancelled\r\n", 16);
		break;
	}
	/* The client gets the outcome, errors included: retrieved. */
	pool_retrieved(d);
	command_run(c, s);
	/* Last: the free, if this was the last reference, is deferred to the loop. */
	conn_unref(c);
}

/* ---------------------------------------------------------------- options */

/* "auto", or command names separated by commas or spaces: "PING ECHO TIME". */
static int
command_set_parse(const char *value, void *field, const char **expect)
{
	struct command_set *set = field;
	char *copy, *tok, *save = NULL;
	int id, rc = 0;

	memset(set, 0, sizeof(*set));
	if (strcasecmp(value, "auto") == 0) {
		set->is_auto = 1;
		set->mask = (1u << COMMAND_COUNT) - 1;
		return 0;
	}
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		for (id = 0; id < COMMAND_COUNT; id++)
			if (strcasecmp(tok, command_name((enum command_id)id)) == 0)
				break;
		if (id == COMMAND_COUNT) {
			rc = -1;
			break;
		}
		set->mask |= 1u << id;
	}
	free(copy);
	if (rc == -1 || set->mask == 0) {
		*expect = "expected auto, or command names such as PING ECHO TIME DIGEST SLEEP "
		    "RESOLVE";
		return -1;
	}
	return 0;
}

static const char *
command_set_format(const void *field, char *buf, size_t size)
{
	const struct command_set *set = field;
	size_t off = 0;
	int id;

	buf[0] = '\0';
	if (set->is_auto)
		snprintf(buf, size, "auto");
	for (id = 0; !set->is_auto && id < COMMAND_COUNT && off < size; id++)
		if (set->mask & (1u << id))
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off > 0 ? " " : "",
			    command_name((enum command_id)id));
	return buf;
}

/* ---------------------------------------------------------------- service callbacks */

static void
command_on_open(struct conn *c)
{
	const struct command_conf *cc = conn_svc_conf(c);
	struct command_session    *s = util_calloc(1, sizeof *s);

	if (s == NULL) {
		conn_close_oom(c, "command session");
		return;
	}
	TAILQ_INIT(&s->replies);
	if (command_reader_init(&s->reader, (size_t)cc->max_line) == -1) {
		free(s);
		conn_close_oom(c, "command session");
		return;
	}
	s->max_pending = (unsigned)cc->max_pending;
	s->max_sleep_ms = cc->max_sleep_ms;
	s->line_timeout_ms = cc->line_timeout_ms;
	s->offered = cc->commands.mask | COMMAND_ALWAYS;
	if (cc->commands.is_auto && !conn_local_is_loopback(c))
		s->offered &= ~(1u << COMMAND_RESOLVE);
	conn_set_svc_data(c, s);
}

static void
command_on_data(struct conn *c, const char *data, size_t len)
{
	struct command_session *s = conn_svc_data(c);

	if (command_reader_push(&s->reader, data, len) == -1) {
		conn_close_oom(c, "command input");
		return;
	}
	command_run(c, s);
}

static void
command_on_eof(struct conn *c)
{
	struct command_session *s = conn_svc_data(c);

	s->eof = 1;
	command_run(c, s);
}

static void
command_on_shutdown(struct conn *c)
{
	struct command_session *s = conn_svc_data(c);

	/* Answer what was received (queued jobs get "shutting down"), then close. */
	s->shutdown = 1;
	command_run(c, s);
}

static void
command_on_close(struct conn *c)
{
	struct command_session *s = conn_svc_data(c);
	struct command_reply   *r;

	if (s == NULL)
		return;
	while ((r = TAILQ_FIRST(&s->replies)) != NULL) {
		TAILQ_REMOVE(&s->replies, r, entry);
		if (r->job != NULL) {
			/* Its done callback frees the slot and drops the reference. */
			r->session = NULL;
			pool_cancel(r->job);
		} else
			command_reply_free(r);
	}
	command_reader_free(&s->reader);
	free(s);
	conn_set_svc_data(c, NULL);
}

const struct service service_command = {
	.name = "command",
	.keys = command_keys,
	.nkeys = sizeof(command_keys) / sizeof(command_keys[0]),
	.conf_size = sizeof(struct command_conf),
	.on_open = command_on_open,
	.on_data = command_on_data,
	.on_eof = command_on_eof,
	.on_shutdown = command_on_shutdown,
	.on_close = command_on_close,
};
