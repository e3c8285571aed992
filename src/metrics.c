/*
 * metrics.c: Prometheus metrics. GET /metrics returns the same counters and
 * gauges as the admin console's STATS, plus histograms of loop lag and of
 * callback duration, in the text exposition format 0.0.4. The HTTP side is
 * libevent's evhttp on the server's event base (no parser of our own), so a
 * scrape runs on the loop thread between other callbacks; rendering is a
 * few hundred lines of text and touches nothing another thread owns except
 * through the pool's and the log's locked stats calls.
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
#include "conn.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"
#include "service.h"
#include "tls.h"
#include "util.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TIMEOUT_S	10

static struct evhttp			*metrics_http;
static struct evhttp_bound_socket	*metrics_sock;
static char				*metrics_bind;
static uint64_t				 metrics_scrapes;

/* ---------------------------------------------------------------- rendering */

static void
metrics_head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_u64(struct evbuffer *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	metrics_head(b, name, type, help);
	evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void
metrics_seconds(struct evbuffer *b, const char *name, const char *help, uint64_t us)
{
	metrics_head(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %" PRIu64 ".%06" PRIu64 "\n", name, us / 1000000, us % 1000000);
}

/* A label value with \, " and newline escaped, as the format requires. */
static const char *
metrics_label(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < size; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

/* Buckets are cumulative in the format; ours are per bucket. `labels` may be "". */
static void
metrics_hist(struct evbuffer *b, const char *name, const char *labels, const struct debug_hist *h)
{
	const char *sep = labels[0] != '\0' ? "," : "";
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < DEBUG_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep,
		    (double)debug_hist_bounds_us[i] / 1e6, cum);
	}
	cum += h->counts[DEBUG_HIST_BUCKETS];
	evbuffer_add_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
	evbuffer_add_printf(b, "%s_sum%s%s%s %" PRIu64 ".%06" PRIu64 "\n", name,
	    labels[0] != '\0' ? "{" : "", labels, labels[0] != '\0' ? "}" : "",
	    h->sum_us / 1000000, h->sum_us % 1000000);
	evbuffer_add_printf(b, "%s_count%s%s%s %" PRIu64 "\n", name,
	    labels[0] != '\0' ? "{" : "", labels, labels[0] != '\0' ? "}" : "", h->count);
}

static void
metrics_cb_hist(const char *name, const struct debug_hist *h, void *arg)
{
	char lbuf[128], labels[160];

	snprintf(labels, sizeof(labels), "callback=\"%s\"", metrics_label(name, lbuf, sizeof(lbuf)));
	metrics_hist(arg, "echod_callback_duration_seconds", labels, h);
}

/* One per-listener family: `field` picks the value. */
static void
metrics_listeners(struct evbuffer *b, const char *name, const char *type, const char *help,
    int field)
{
	struct listener *l;
	char lbuf[128];
	uint64_t v;

	metrics_head(b, name, type, help);
	TAILQ_FOREACH(l, listener_all(), entry) {
		switch (field) {
		case 0:
			v = l->current;
			break;
		case 1:
			v = l->total;
			break;
		default:
			v = l->paused == 1;
			break;
		}
		evbuffer_add_printf(b, "%s{listener=\"%s\",service=\"%s\"} %" PRIu64 "\n", name,
		    metrics_label(l->name, lbuf, sizeof(lbuf)), l->svc->name, v);
	}
}

/* Refused at accept, by listener and reason; then in the TLS handshake, by reason. */
static void
metrics_rejected(struct evbuffer *b)
{
	struct tls_stats ts;
	struct listener *l;
	char lbuf[128];
	int i;

	metrics_head(b, "echod_connections_rejected_total", "counter",
	    "Connections refused at accept, by listener and reason.");
	TAILQ_FOREACH(l, listener_all(), entry) {
		metrics_label(l->name, lbuf, sizeof(lbuf));
		evbuffer_add_printf(b, "echod_connections_rejected_total{listener=\"%s\",service=\"%s\","
		    "reason=\"fd_limit\"} %" PRIu64 "\n", lbuf, l->svc->name, l->rejected_fd_limit);
		evbuffer_add_printf(b, "echod_connections_rejected_total{listener=\"%s\",service=\"%s\","
		    "reason=\"accept_error\"} %" PRIu64 "\n", lbuf, l->svc->name,
		    l->rejected - l->rejected_fd_limit);
	}
	tls_get_stats(&ts);
	metrics_u64(b, "echod_tls_handshakes_total", "counter", "TLS handshakes completed.",
	    ts.handshakes_ok);
	metrics_u64(b, "echod_tls_resumed_total", "counter",
	    "TLS handshakes that resumed a session.", ts.resumed);
	metrics_head(b, "echod_tls_handshake_failures_total", "counter",
	    "TLS handshakes that failed (the connection was closed), by reason.");
	for (i = 0; i < TLS_FAIL_COUNT; i++)
		evbuffer_add_printf(b, "echod_tls_handshake_failures_total{reason=\"%s\"} %" PRIu64
		    "\n", tls_fail_name((enum tls_fail)i), ts.failed[i]);
}

static void
metrics_render_conns(struct evbuffer *b)
{
	struct conn_stats cs;

	conn_get_stats(&cs);
	metrics_listeners(b, "echod_connections_open", "gauge",
	    "Connections open now, by listener.", 0);
	metrics_listeners(b, "echod_connections_total", "counter",
	    "Connections accepted, by listener.", 1);
	metrics_rejected(b);
	metrics_listeners(b, "echod_listener_paused", "gauge",
	    "1 while the listener does not accept (limits, descriptor shortage).", 3);
	metrics_u64(b, "echod_server_connections_open", "gauge",
	    "Connections open now, all listeners.", cs.current);
	metrics_u64(b, "echod_server_connections_total", "counter",
	    "Connections accepted since start, all listeners (removed ones too).", cs.total);
	metrics_u64(b, "echod_received_bytes_total", "counter", "Bytes read from clients.",
	    cs.bytes_in);
	metrics_u64(b, "echod_sent_bytes_total", "counter", "Bytes written to clients.",
	    cs.bytes_out);
}

static void
metrics_render_jobs(struct evbuffer *b, const struct debug_stats *ds)
{
	struct pool_stats ps;

	pool_get_stats(&ps);
	metrics_u64(b, "echod_pool_workers", "gauge", "Worker threads of the job pool.",
	    ps.workers);
	metrics_u64(b, "echod_jobs_queued", "gauge", "Jobs waiting for a worker.", ps.queued);
	metrics_u64(b, "echod_jobs_running", "gauge", "Jobs on a worker now.", ps.running);
	metrics_u64(b, "echod_jobs_submitted_total", "counter", "Jobs accepted into the queue.",
	    ps.submitted);
	metrics_u64(b, "echod_jobs_rejected_total", "counter",
	    "Jobs refused because the queue was full.", ps.rejected);
	metrics_head(b, "echod_jobs_finished_total", "counter", "Jobs finished, by outcome.");
	evbuffer_add_printf(b, "echod_jobs_finished_total{status=\"completed\"} %" PRIu64 "\n"
	    "echod_jobs_finished_total{status=\"failed\"} %" PRIu64 "\n"
	    "echod_jobs_finished_total{status=\"cancelled\"} %" PRIu64 "\n"
	    "echod_jobs_finished_total{status=\"timed_out\"} %" PRIu64 "\n",
	    ps.completed, ps.failed, ps.cancelled, ps.timed_out);
	metrics_u64(b, "echod_jobs_never_retrieved_total", "counter",
	    "Failed or timed-out jobs whose connection was gone.", ds->never_retrieved);
	metrics_u64(b, "echod_jobs_never_scheduled_total", "counter",
	    "Jobs freed without ever running on a worker.", ds->never_scheduled);
}

static void
metrics_render_loop(struct evbuffer *b, const struct debug_stats *ds)
{
	struct debug_hist h;

	metrics_u64(b, "echod_debug_mode", "gauge", "1 while debug mode is on.",
	    (uint64_t)ds->enabled);
	metrics_u64(b, "echod_slow_callbacks_total", "counter",
	    "Loop callbacks slower than slow_callback_ms (timed in debug mode).",
	    ds->slow_callbacks);
	metrics_u64(b, "echod_wrong_thread_calls_total", "counter",
	    "Loop-only calls made from another thread and refused (debug mode).",
	    ds->wrong_thread);
	debug_lag_hist(&h);
	metrics_head(b, "echod_loop_lag_seconds", "histogram",
	    "How late the loop ran a 100 ms timer.");
	metrics_hist(b, "echod_loop_lag_seconds", "", &h);
	metrics_seconds(b, "echod_loop_lag_p50_seconds",
	    "Median loop lag over the last 1024 samples.", ds->lag_p50_us);
	metrics_seconds(b, "echod_loop_lag_p99_seconds",
	    "99th percentile loop lag over the last 1024 samples.", ds->lag_p99_us);
	metrics_seconds(b, "echod_loop_lag_max_seconds", "Largest loop lag since start.",
	    ds->lag_max_us);
	metrics_head(b, "echod_callback_duration_seconds", "histogram",
	    "Run time of loop callbacks, by callback (recorded in debug mode).");
	debug_cb_hist_foreach(metrics_cb_hist, b);
}

void
metrics_render(struct evbuffer *b)
{
	struct debug_stats ds;
	struct log_stats ls;
	uint64_t up_ms = util_now_ms() - server_start_ms();

	debug_get_stats(&ds);
	log_get_stats(&ls);
	metrics_head(b, "echod_build_info", "gauge", "Always 1; the version is a label.");
	evbuffer_add_printf(b, "echod_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	metrics_seconds(b, "echod_start_time_seconds", "Start time, seconds since the epoch.",
	    ((uint64_t)time(NULL) * 1000 - up_ms) * 1000);
	metrics_seconds(b, "echod_uptime_seconds", "Seconds since start.", up_ms * 1000);
	metrics_render_conns(b);
	metrics_render_jobs(b, &ds);
	metrics_u64(b, "echod_log_records_written_total", "counter", "Log records written.",
	    ls.written);
	metrics_u64(b, "echod_log_records_dropped_total", "counter",
	    "Log records dropped because the log queue was full.", ls.dropped);
	metrics_render_loop(b, &ds);
	metrics_u64(b, "echod_metrics_scrapes_total", "counter",
	    "Requests for /metrics, this one included.", metrics_scrapes);
}

/* ---------------------------------------------------------------- HTTP */

/* GET or HEAD only: evhttp answers other methods itself (evhttp_set_allowed_methods). */
static void
metrics_request_body(struct evhttp_request *req)
{
	struct evbuffer *b;

	metrics_scrapes++;
	if ((b = evbuffer_new()) == NULL)
		fatalx("metrics: evbuffer_new failed");
	metrics_render(b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	DEBUG_CB("metrics_request_cb", NULL, NULL, metrics_request_body(req));
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

void
metrics_stop(void)
{
	if (metrics_http != NULL)
		evhttp_free(metrics_http);	/* closes the bound socket */
	metrics_http = NULL;
	metrics_sock = NULL;
	free(metrics_bind);
	metrics_bind = NULL;
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
	if (bind == NULL || *bind == '\0') {
		if (metrics_http != NULL)
			log_info(LOG_S_SERVER, "metrics off");
		metrics_stop();
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
	metrics_stop();
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
