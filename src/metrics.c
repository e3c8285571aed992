/*
 * metrics.c: Prometheus metrics. GET /metrics returns the statistics
 * registry (stats.h) in the text exposition format 0.0.4: the same numbers
 * as the admin console's STATS, with histogram buckets. The HTTP side is
 * libevent's evhttp on the server's event base (no parser of our own), so a
 * scrape runs on the loop thread between other callbacks.
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

#include "addr.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "util.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TIMEOUT_S	10

static struct evhttp			*metrics_http;
static struct evhttp_bound_socket	*metrics_sock;
static char				*metrics_bind;
static uint64_t				 metrics_scrapes;
static int				 metrics_registered;

/* ---------------------------------------------------------------- statistics */

static void
metrics_collect_scrapes(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, metrics_scrapes);
}

static const struct stats_family metrics_family = {
	"metrics_scrapes_total", STATS_COUNTER, STATS_UNIT_NONE,
	"Requests for /metrics, this one included.", { NULL }, metrics_collect_scrapes, NULL,
};

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
	metrics_close();
	stats_unregister(&metrics_family);
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
		stats_register(&metrics_family);
		metrics_registered = 1;
	}
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
