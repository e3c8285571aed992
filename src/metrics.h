/*
 * metrics.h: Prometheus metrics over HTTP (GET /metrics, text format 0.0.4),
 * served with libevent's evhttp on the server's own event base. Loop thread.
 */
#ifndef ECHOD_METRICS_H
#define ECHOD_METRICS_H

struct event_base;
struct evbuffer;

/*
 * Serve on `bind` ("127.0.0.1:9107", "[::1]:0"; NULL or "" turns metrics
 * off). At start-up and on reload: an unchanged bind keeps its socket; a new
 * one is bound before the old one is closed. Returns -1 and a malloc'd *err
 * when the new address cannot be bound (the old one, if any, stays).
 */
int	metrics_configure(struct event_base *base, const char *bind, char **err);
/*
 * A descriptor was released (a connection closed): if accepting on the
 * metrics address is paused for lack of descriptors, try again now.
 */
void	metrics_fd_released(void);
/* At exit: close the socket and free the HTTP server (before event_base_free). */
void	metrics_stop(void);

#endif
