/*
 * metrics.c: Prometheus metrics. GET /metrics returns the statistics
 * registry (stats.h) in the text exposition format 0.0.4: the same numbers
 * as the admin console's STATS, with histogram buckets. The HTTP side is
 * libevent's evhttp on the server's event base (no parser of our own), so a
 * scrape runs on the loop thread between other callbacks.
 *
 * Accepting pauses when descriptors run out (EMFILE, ENFILE) as the service
 * listeners do: the evconnlistener evhttp accepts with is disabled and
 * retried on a back-off timer (100 ms doubling to 2 s), or at once when a
 * connection closes. Without that, libevent would retry accept() in a busy
 * loop, warning on stderr each time.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "addr.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "util.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TIMEOUT_S	10
#define METRICS_RETRY_MIN_MS	100
#define METRICS_RETRY_MAX_MS	2000

static struct evhttp			*metrics_http;
static struct evhttp_bound_socket	*metrics_sock;
static char				*metrics_bind;
static uint64_t				 metrics_scrapes;
static int				 metrics_registered;
/* Accept paused for lack of descriptors; retried on metrics_retry_ev. */
static struct event			*metrics_retry_ev;
static int				 metrics_paused;
static uint64_t				 metrics_retry_ms = METRICS_RETRY_MIN_MS;
static uint64_t				 metrics_accept_errors;

/* ---------------------------------------------------------------- statistics */

static void
metrics_collect_scrapes(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, metrics_scrapes);
}

static void
metrics_collect_accept_errors(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, metrics_accept_errors);
}

static void
metrics_collect_paused(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, (uint64_t)metrics_paused);
}

static const struct stats_family metrics_families[] = {
	{ "metrics_scrapes_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Requests for /metrics, this one included.", { NULL }, metrics_collect_scrapes, NULL },
	{ "metrics_accept_errors_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Failed accepts on the metrics address (each pauses accepting there).", { NULL },
	  metrics_collect_accept_errors, NULL },
	{ "metrics_paused", STATS_GAUGE, STATS_UNIT_NONE,
	  "1 while the metrics address does not accept (out of descriptors).", { NULL },
	  metrics_collect_paused, NULL },
};

/* ---------------------------------------------------------------- accept pausing */

static struct evconnlistener *
metrics_evl(void)
{
	return metrics_sock != NULL ? evhttp_bound_socket_get_listener(metrics_sock) : NULL;
}

static void
metrics_resume(const char *why)
{
	if (!metrics_paused)
		return;
	metrics_paused = 0;
	event_del(metrics_retry_ev);
	if (metrics_evl() != NULL)
		evconnlistener_enable(metrics_evl());
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

	metrics_accept_errors++;
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

/* ---------------------------------------------------------------- HTTP */

/* GET or HEAD only: evhttp answers other methods itself (evhttp_set_allowed_methods). */
static void
metrics_text_free(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

static void
metrics_request_body(struct evhttp_request *req)
{
	struct evbuffer *b;
	size_t len;
	char *text;

	metrics_scrapes++;
	/* Accepting works again: the next shortage starts its back-off afresh. */
	metrics_retry_ms = METRICS_RETRY_MIN_MS;
	if ((b = evbuffer_new()) == NULL)
		fatalx("metrics: evbuffer_new failed");
	text = stats_render_prometheus(&len);
	/* evhttp frees the text once it is sent (evbuffer_add_reference's cleanup). */
	if (evbuffer_add_reference(b, text, len, metrics_text_free, NULL) == -1)
		fatalx("metrics: evbuffer_add_reference failed");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	LOOP_CB("metrics_request_cb", NULL, NULL, metrics_request_body(req));
}

static void
metrics_notfound_cb(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, 404, "Not Found (try " METRICS_PATH ")");
}

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
	if (bind(fd, sa, a->len) == -1 || listen(fd, 64) == -1) {
		xasprintf(err, "metrics: cannot bind %s: %s", addr_format(sa, a->len, abuf,
		    sizeof(abuf)), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static struct evhttp *
metrics_http_new(struct event_base *base)
{
	struct evhttp *http;

	if ((http = evhttp_new(base)) == NULL)
		fatalx("metrics: evhttp_new failed");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_cb(http, METRICS_PATH, metrics_request_cb, NULL);
	evhttp_set_gencb(http, metrics_notfound_cb, NULL);
	return http;
}

static void
metrics_close(void)
{
	if (metrics_retry_ev != NULL)
		event_del(metrics_retry_ev);
	metrics_paused = 0;
	if (metrics_http != NULL)
		evhttp_free(metrics_http);	/* closes the bound socket */
	metrics_http = NULL;
	metrics_sock = NULL;
	free(metrics_bind);
	metrics_bind = NULL;
}

void
metrics_stop(void)
{
	size_t i;

	metrics_close();
	if (metrics_retry_ev != NULL)
		event_free(metrics_retry_ev);
	metrics_retry_ev = NULL;
	for (i = 0; i < ARRAY_LEN(metrics_families); i++)
		stats_unregister(&metrics_families[i]);
	metrics_registered = 0;
}

int
metrics_configure(struct event_base *base, const char *bind, char **err)
{
	struct addr addrs[ADDR_MAX_PER_SPEC], bound;
	struct evhttp_bound_socket *sock;
	struct evhttp *http;
	char abuf[ADDR_STRLEN];
	const char *why;
	int fd;

	*err = NULL;
	if (!metrics_registered) {
		for (size_t i = 0; i < ARRAY_LEN(metrics_families); i++)
			stats_register(&metrics_families[i]);
		metrics_registered = 1;
	}
	if (metrics_retry_ev == NULL &&
	    (metrics_retry_ev = evtimer_new(base, metrics_retry_cb, NULL)) == NULL)
		fatalx("metrics: evtimer_new failed");
	if (bind == NULL || *bind == '\0') {
		if (metrics_http != NULL)
			log_info(LOG_S_SERVER, "metrics off");
		metrics_close();
		return 0;
	}
	if (metrics_http != NULL && strcmp(bind, metrics_bind) == 0)
		return 0;
	if (addr_parse(bind, addrs, &why) == -1) {
		xasprintf(err, "metrics: bind %s: %s", bind, why);
		return -1;
	}
	/* "*:port" gives two addresses; metrics take the first (IPv4). */
	if ((fd = metrics_listen(&addrs[0], err)) == -1)
		return -1;
	http = metrics_http_new(base);
	if ((sock = evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		xasprintf(err, "metrics: cannot serve on %s", bind);
		close(fd);
		evhttp_free(http);
		return -1;
	}
	/* evhttp's own listener: a failed accept pauses it instead of a warning per retry. */
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(sock), metrics_accept_error_cb);
	metrics_close();
	metrics_http = http;
	metrics_sock = sock;
	metrics_bind = xstrdup(bind);
	bound.len = sizeof(bound.ss);
	if (getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len) == -1)
		bound.len = 0;
	log_info(LOG_S_SERVER, "metrics listening addr=%s path=%s",
	    bound.len > 0 ? addr_format((struct sockaddr *)&bound.ss, bound.len, abuf, sizeof(abuf)) :
	    bind, METRICS_PATH);
	return 0;
}
