/*
 * metrics.c: Prometheus metrics. GET /metrics returns the statistics
 * registry (stats.h) in the text exposition format 0.0.4: the same numbers
 * as the admin console's STATS, with histogram buckets. Loop thread only: a
 * scrape runs between other callbacks.
 *
 * The HTTP side is a small HTTP/1.x responder of its own, because the
 * endpoint faces whoever can reach it and libevent 2.1's evhttp cannot be
 * bounded: it has no connection limit, its timeout restarts with every byte
 * (a client dribbling a header byte every few seconds holds a descriptor for
 * hours), and it takes connections only from its own accept loop
 * (evhttp_get_request is private in 2.1), so their opening and closing
 * cannot be counted. Here:
 *   - every connection is accepted here and counted against [metrics]
 *     max_connections; one more is closed at once and counted;
 *   - each has an absolute deadline, [metrics] request_timeout from accept,
 *     whatever it sends, then it is closed and counted;
 *   - one request per connection: the head (request line and headers, at
 *     most METRICS_HEAD_MAX bytes) up to its blank line, then the answer
 *     with "Connection: close"; our side is shut down and the rest of the
 *     input read and dropped until the client closes (no reset loses the
 *     answer). Only the request line is parsed (metrics_request_status);
 *     headers and any body are ignored.
 * Accepting pauses when descriptors run out (EMFILE, ENFILE), as the
 * service listeners do: retried on a back-off timer (100 ms doubling to
 * 2 s), or at once when a connection closes.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "addr.h"
#include "debug.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "util.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_HEAD_MAX	8192	/* request line and headers */
#define METRICS_BACKLOG		64
#define METRICS_RETRY_MIN_MS	100
#define METRICS_RETRY_MAX_MS	2000

enum metrics_conn_state {
	METRICS_C_READING = 0,	/* the request head */
	METRICS_C_WRITING,	/* the answer */
	METRICS_C_DRAINING,	/* our side shut: dropping input until the client closes */
};

struct metrics_conn {
	TAILQ_ENTRY(metrics_conn) entry;
	int			 fd;
	enum metrics_conn_state	 state;
	struct event		 read_ev;
	struct event		 write_ev;
	struct event		 deadline_ev;
	struct evbuffer		*out;
	uint64_t		 accepted_ms;
	size_t			 headlen;
	char			 peer[ADDR_STRLEN];
	char			 head[METRICS_HEAD_MAX];
};
TAILQ_HEAD(metrics_conn_list, metrics_conn);

static struct event_base	*metrics_base;
static struct evconnlistener	*metrics_evl;
static char			*metrics_bind;
static uint64_t			 metrics_max_conns = METRICS_MAX_CONNECTIONS_DEFAULT;
static uint64_t			 metrics_timeout_ms = METRICS_REQUEST_TIMEOUT_DEFAULT_MS;
static struct metrics_conn_list	 metrics_conns = TAILQ_HEAD_INITIALIZER(metrics_conns);
static uint64_t			 metrics_nconns;
static int			 metrics_registered;
/* Accept paused for lack of descriptors; retried on metrics_retry_ev. */
static struct event		*metrics_retry_ev;
static int			 metrics_paused;
static uint64_t			 metrics_retry_ms = METRICS_RETRY_MIN_MS;

static struct {
	uint64_t	scrapes;
	uint64_t	accepted;
	uint64_t	rejected;	/* over max_connections: closed at accept */
	uint64_t	timed_out;	/* still open at the deadline */
	uint64_t	accept_errors;
}				 metrics_n;

static void	metrics_conn_close(struct metrics_conn *mc);
static void	metrics_resume(const char *why);

/* ---------------------------------------------------------------- statistics */

/* `arg` picks the counter. */
static void
metrics_collect(struct stats_emit *e, void *arg)
{
	switch (*(const char *)arg) {
	case 's':
		stats_emit_u64(e, metrics_n.scrapes);
		break;
	case 'a':
		stats_emit_u64(e, metrics_n.accepted);
		break;
	case 'r':
		stats_emit_u64(e, metrics_n.rejected);
		break;
	case 't':
		stats_emit_u64(e, metrics_n.timed_out);
		break;
	case 'e':
		stats_emit_u64(e, metrics_n.accept_errors);
		break;
	case 'o':
		stats_emit_u64(e, metrics_nconns);
		break;
	case 'p':
		stats_emit_u64(e, (uint64_t)metrics_paused);
		break;
	}
}

static const struct stats_family metrics_families[] = {
	{ "metrics_scrapes_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Requests for /metrics, this one included.", { NULL }, metrics_collect, "s" },
	{ "metrics_connections_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Connections accepted on the metrics address.", { NULL }, metrics_collect, "a" },
	{ "metrics_connections_open", STATS_GAUGE, STATS_UNIT_NONE,
	  "Connections open on the metrics address now, this one included.", { NULL },
	  metrics_collect, "o" },
	{ "metrics_connections_rejected_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Metrics connections closed at accept: [metrics] max_connections were open.", { NULL },
	  metrics_collect, "r" },
	{ "metrics_connections_timed_out_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Metrics connections closed at their [metrics] request_timeout.", { NULL },
	  metrics_collect, "t" },
	{ "metrics_accept_errors_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Failed accepts on the metrics address (each pauses accepting there).", { NULL },
	  metrics_collect, "e" },
	{ "metrics_paused", STATS_GAUGE, STATS_UNIT_NONE,
	  "1 while the metrics address does not accept (out of descriptors).", { NULL },
	  metrics_collect, "p" },
};

/* ---------------------------------------------------------------- the request */

/*
 * The end of the head (after its blank line) in buf, or 0 while it is
 * incomplete. The first `from` bytes were scanned already (a client may
 * send its head a byte at a time: no rescan of all of it per byte).
 */
static size_t
metrics_head_end(const char *buf, size_t len, size_t from)
{
	size_t i;

	for (i = from > 2 ? from - 2 : 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
metrics_request_status(const char *line, size_t len, int *head)
{
	const char *sp1, *sp2, *end = line + len, *path, *pend;

	*head = 0;
	if ((pend = memchr(line, '\n', len)) != NULL)
		end = pend;
	if (end > line && end[-1] == '\r')
		end--;
	if ((sp1 = memchr(line, ' ', (size_t)(end - line))) == NULL || sp1 == line ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL || sp2 == sp1 + 1 ||
	    memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) != NULL)
		return 400;
	if (end - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    sp2[6] < '0' || sp2[6] > '9' || sp2[7] != '.' || sp2[8] < '0' || sp2[8] > '9')
		return 400;
	if (sp2[6] != '1')
		return 505;
	path = sp1 + 1;
	/* absolute-form (a request through a proxy): the path after the authority */
	if ((size_t)(sp2 - path) > 7 && strncasecmp(path, "http://", 7) == 0) {
		path += 7;
		while (path < sp2 && *path != '/')
			path++;
	}
	pend = path;
	while (pend < sp2 && *pend != '?' && *pend != '#')
		pend++;
	if ((size_t)(sp1 - line) == 4 && memcmp(line, "HEAD", 4) == 0)
		*head = 1;
	else if ((size_t)(sp1 - line) != 3 || memcmp(line, "GET", 3) != 0)
		return 405;
	if ((size_t)(pend - path) != strlen(METRICS_PATH) ||
	    memcmp(path, METRICS_PATH, strlen(METRICS_PATH)) != 0)
		return 404;
	return 200;
}

static const char *
metrics_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "HTTP Version Not Supported";
	}
}

static void
metrics_text_free(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

/* An allocation for this scrape failed: it ends (the client sees a close), the daemon goes on. */
static void
metrics_conn_oom(struct metrics_conn *mc, const char *what)
{
	log_warn(LOG_S_SERVER, "metrics peer=%s out of memory what=%s", mc->peer, what);
	metrics_conn_close(mc);
}

/*
 * Queue the whole answer to the request in mc->head (status from the
 * request line, or 431); -1 when out of memory (nothing usable queued).
 */
static int
metrics_answer(struct metrics_conn *mc, int status, int head)
{
	char date[64], *body = NULL, *text = NULL;
	struct tm tm;
	size_t len = 0;
	time_t now = time(NULL);

	if (status == 200) {
		metrics_n.scrapes++;
		body = stats_render_prometheus(&len);
	} else if (util_asprintf(&body, "%d %s%s\n", status, metrics_reason(status),
	    status == 404 ? " (try " METRICS_PATH ")" : "") >= 0)
		len = strlen(body);
	if (body == NULL)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (util_asprintf(&text, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, metrics_reason(status),
	    date, status == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8", len,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "") < 0 ||
	    evbuffer_add(mc->out, text, strlen(text)) == -1) {
		free(text);
		free(body);
		return -1;
	}
	free(text);
	/* The body goes out by reference; the evbuffer frees it once sent. */
	if (head)
		free(body);
	else if (evbuffer_add_reference(mc->out, body, len, metrics_text_free, NULL) == -1) {
		free(body);
		return -1;
	}
	if (status != 200)
		log_debug(LOG_S_SERVER, "metrics peer=%s status=%d", mc->peer, status);
	return 0;
}

/* ---------------------------------------------------------------- connections */

/* Drive the connection after an event: write what is queued, then shut and drain. */
static void
metrics_conn_write(struct metrics_conn *mc)
{
	if (evbuffer_get_length(mc->out) > 0 && evbuffer_write(mc->out, mc->fd) == -1 &&
	    errno != EAGAIN && errno != EINTR) {
		metrics_conn_close(mc);
		return;
	}
	if (evbuffer_get_length(mc->out) > 0) {
		if (event_add(&mc->write_ev, NULL) == -1)
			metrics_conn_oom(mc, "event_add");
		return;
	}
	event_del(&mc->write_ev);
	/* All sent: a FIN after it, then read until the client closes (no reset). */
	shutdown(mc->fd, SHUT_WR);
	mc->state = METRICS_C_DRAINING;
	if (event_add(&mc->read_ev, NULL) == -1)
		metrics_conn_oom(mc, "event_add");
}

static void
metrics_conn_request(struct metrics_conn *mc, size_t scanned)
{
	size_t end = metrics_head_end(mc->head, mc->headlen, scanned);
	int status, head = 0;

	if (end == 0 && mc->headlen < sizeof(mc->head))
		return;		/* more to come */
	status = end == 0 ? 431 : metrics_request_status(mc->head, end, &head);
	if (metrics_answer(mc, status, head) == -1) {
		metrics_conn_oom(mc, "answer");
		return;
	}
	mc->state = METRICS_C_WRITING;
	event_del(&mc->read_ev);
	metrics_conn_write(mc);
}

static void
metrics_conn_read(struct metrics_conn *mc)
{
	char drop[4096];
	ssize_t n;

	if (mc->state == METRICS_C_DRAINING) {
		n = read(mc->fd, drop, sizeof(drop));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			metrics_conn_close(mc);
		return;
	}
	n = read(mc->fd, mc->head + mc->headlen, sizeof(mc->head) - mc->headlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Gone before a whole request: nothing to answer. */
		metrics_conn_close(mc);
		return;
	}
	mc->headlen += (size_t)n;
	metrics_conn_request(mc, mc->headlen - (size_t)n);
}

/* For loop.h's LOOP_CB: a metrics client in a slow-callback report. */
static void
metrics_describe(const void *arg, struct debug_where *w)
{
	const struct metrics_conn *mc = arg;

	snprintf(w->listener, sizeof(w->listener), "metrics");
	snprintf(w->peer, sizeof(w->peer), "%.*s", (int)sizeof(w->peer) - 1, mc->peer);
}

static void
metrics_read_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("metrics_read_cb", metrics_describe, arg, metrics_conn_read(arg));
}

static void
metrics_write_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("metrics_write_cb", metrics_describe, arg, metrics_conn_write(arg));
}

static void
metrics_deadline_body(struct metrics_conn *mc)
{
	metrics_n.timed_out++;
	log_info(LOG_S_SERVER, "metrics request timeout peer=%s state=%s after_ms=%" PRIu64,
	    mc->peer, mc->state == METRICS_C_READING ? "reading" : mc->state ==
	    METRICS_C_WRITING ? "writing" : "draining", util_now_ms() - mc->accepted_ms);
	metrics_conn_close(mc);
}

static void
metrics_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("metrics_deadline_cb", metrics_describe, arg, metrics_deadline_body(arg));
}

/* The last thing a callback does with mc: nothing refers to it afterwards. */
static void
metrics_conn_close(struct metrics_conn *mc)
{
	event_del(&mc->read_ev);
	event_del(&mc->write_ev);
	event_del(&mc->deadline_ev);
	close(mc->fd);
	evbuffer_free(mc->out);
	TAILQ_REMOVE(&metrics_conns, mc, entry);
	metrics_nconns--;
	free(mc);
	/* A descriptor is free again. */
	metrics_resume("fd-released");
}

static void
metrics_accept_body(evutil_socket_t fd, struct sockaddr *sa, int slen)
{
	struct timeval tv;
	struct metrics_conn *mc;
	char peer[ADDR_STRLEN];

	/* Accepting works again: the next shortage starts its back-off afresh. */
	metrics_retry_ms = METRICS_RETRY_MIN_MS;
	addr_format(sa, (socklen_t)slen, peer, sizeof(peer));
	if (metrics_nconns >= metrics_max_conns) {
		metrics_n.rejected++;
		log_debug(LOG_S_SERVER, "metrics peer=%s refused: max_connections=%" PRIu64
		    " open", peer, metrics_max_conns);
		close(fd);
		return;
	}
	if ((mc = util_calloc(1, sizeof(*mc))) == NULL || (mc->out = evbuffer_new()) == NULL) {
		/* Out of memory: this scrape is refused, the next may do. */
		if (mc != NULL)
			util_oom();
		free(mc);
		metrics_n.rejected++;
		log_warn(LOG_S_SERVER, "metrics peer=%s out of memory what=connection", peer);
		close(fd);
		return;
	}
	mc->fd = fd;
	mc->accepted_ms = util_now_ms();
	snprintf(mc->peer, sizeof(mc->peer), "%s", peer);
	event_assign(&mc->read_ev, metrics_base, fd, EV_READ | EV_PERSIST, metrics_read_cb, mc);
	event_assign(&mc->write_ev, metrics_base, fd, EV_WRITE | EV_PERSIST, metrics_write_cb, mc);
	evtimer_assign(&mc->deadline_ev, metrics_base, metrics_deadline_cb, mc);
	TAILQ_INSERT_TAIL(&metrics_conns, mc, entry);
	metrics_nconns++;
	metrics_n.accepted++;
	tv.tv_sec = (time_t)(metrics_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(metrics_timeout_ms % 1000) * 1000;
	if (evtimer_add(&mc->deadline_ev, &tv) == -1 || event_add(&mc->read_ev, NULL) == -1)
		metrics_conn_oom(mc, "event_add");
}

static void
metrics_accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int slen,
    void *arg)
{
	LOOP_CB("metrics_accept_cb", NULL, NULL, metrics_accept_body(fd, sa, slen));
}

/* ---------------------------------------------------------------- accept pausing */

static void
metrics_resume(const char *why)
{
	if (!metrics_paused)
		return;
	metrics_paused = 0;
	event_del(metrics_retry_ev);
	if (metrics_evl != NULL)
		evconnlistener_enable(metrics_evl);
	log_info(LOG_S_SERVER, "metrics resumed after=%s", why);
}

static void
metrics_retry_body(void)
{
	metrics_resume("retry-timer");
}

static void
metrics_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("metrics_retry_cb", NULL, NULL, metrics_retry_body());
}

/* accept() failed (the socket's error, read first): pause, retry on a back-off timer. */
static void
metrics_accept_error_body(struct evconnlistener *evl, int err)
{
	int fd_short = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
	struct timeval tv;

	metrics_n.accept_errors++;
	evconnlistener_disable(evl);
	metrics_paused = 1;
	log_warn(LOG_S_SERVER, "metrics paused reason=%s error=\"%s\" retry_ms=%" PRIu64,
	    fd_short ? "fd-limit" : "accept-error", strerror(err), metrics_retry_ms);
	tv.tv_sec = (time_t)(metrics_retry_ms / 1000);
	tv.tv_usec = (suseconds_t)(metrics_retry_ms % 1000) * 1000;
	evtimer_add(metrics_retry_ev, &tv);
	metrics_retry_ms = metrics_retry_ms * 2 > METRICS_RETRY_MAX_MS ? METRICS_RETRY_MAX_MS :
	    metrics_retry_ms * 2;
}

static void
metrics_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	LOOP_CB("metrics_accept_error_cb", NULL, NULL, metrics_accept_error_body(evl, err));
}

void
metrics_fd_released(void)
{
	metrics_resume("fd-released");
}

/* ---------------------------------------------------------------- the address */

/* socket + bind + listen for one parsed address; -1 and *err on failure. */
static int
metrics_listen(const struct addr *a, char **err)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char abuf[ADDR_STRLEN];
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(err, "metrics: socket: %s", strerror(errno));
		return -1;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, a->len) == -1 || listen(fd, METRICS_BACKLOG) == -1) {
		xasprintf(err, "metrics: cannot bind %s: %s", addr_format(sa, a->len, abuf,
		    sizeof(abuf)), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Stop accepting; connections still open finish (or meet their deadline). */
static void
metrics_close_listener(void)
{
	if (metrics_retry_ev != NULL)
		event_del(metrics_retry_ev);
	metrics_paused = 0;
	if (metrics_evl != NULL)
		evconnlistener_free(metrics_evl);	/* LEV_OPT_CLOSE_ON_FREE closes the socket */
	metrics_evl = NULL;
	free(metrics_bind);
	metrics_bind = NULL;
}

void
metrics_stop(void)
{
	size_t i;

	metrics_close_listener();
	while (!TAILQ_EMPTY(&metrics_conns))
		metrics_conn_close(TAILQ_FIRST(&metrics_conns));
	if (metrics_retry_ev != NULL)
		event_free(metrics_retry_ev);
	metrics_retry_ev = NULL;
	metrics_base = NULL;
	for (i = 0; i < ARRAY_LEN(metrics_families); i++)
		stats_unregister(&metrics_families[i]);
	metrics_registered = 0;
}

int
metrics_local_addr(struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	if (metrics_evl == NULL ||
	    getsockname(evconnlistener_get_fd(metrics_evl), (struct sockaddr *)ss, len) == -1)
		return -1;
	return 0;
}

/* Limits apply to connections accepted from now on. */
static void
metrics_set_limits(const struct metrics_conf *mc)
{
	metrics_max_conns = mc->max_connections > 0 ? mc->max_connections :
	    METRICS_MAX_CONNECTIONS_DEFAULT;
	metrics_timeout_ms = mc->request_timeout_ms > 0 ? mc->request_timeout_ms :
	    METRICS_REQUEST_TIMEOUT_DEFAULT_MS;
}

int
metrics_configure(struct event_base *base, const struct metrics_conf *mc, char **err)
{
	struct addr addrs[ADDR_MAX_PER_SPEC];
	struct sockaddr_storage ss;
	struct evconnlistener *evl;
	const char *why, *bind = mc->bind;
	char abuf[ADDR_STRLEN];
	socklen_t len;
	size_t i;
	int fd;

	*err = NULL;
	if (!metrics_registered) {
		for (i = 0; i < ARRAY_LEN(metrics_families); i++)
			stats_register(&metrics_families[i]);
		metrics_registered = 1;
	}
	metrics_base = base;
	if (metrics_retry_ev == NULL &&
	    (metrics_retry_ev = evtimer_new(base, metrics_retry_cb, NULL)) == NULL)
		fatalx("metrics: evtimer_new failed");
	if (bind == NULL || *bind == '\0') {
		if (metrics_evl != NULL)
			log_info(LOG_S_SERVER, "metrics off");
		metrics_close_listener();
		metrics_set_limits(mc);
		return 0;
	}
	if (metrics_evl != NULL && strcmp(bind, metrics_bind) == 0) {
		metrics_set_limits(mc);
		return 0;
	}
	if (addr_parse(bind, addrs, &why) == -1) {
		xasprintf(err, "metrics: bind %s: %s", bind, why);
		return -1;
	}
	/* "*:port" gives two addresses; metrics take the first (IPv4). */
	if ((fd = metrics_listen(&addrs[0], err)) == -1)
		return -1;
	evl = evconnlistener_new(base, metrics_accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (evl == NULL) {
		xasprintf(err, "metrics: cannot serve on %s", bind);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(evl, metrics_accept_error_cb);
	/* The new address is bound: only now does the old one close. */
	metrics_close_listener();
	metrics_evl = evl;
	metrics_bind = xstrdup(bind);
	metrics_set_limits(mc);
	if (metrics_local_addr(&ss, &len) == -1)
		len = 0;
	log_info(LOG_S_SERVER, "metrics listening addr=%s path=%s max_connections=%" PRIu64
	    " request_timeout_ms=%" PRIu64, len > 0 ? addr_format((struct sockaddr *)&ss, len,
	    abuf, sizeof(abuf)) : bind, METRICS_PATH, metrics_max_conns, metrics_timeout_ms);
	return 0;
}
