/*
 * metrics.h: Prometheus metrics over HTTP (GET /metrics, text format 0.0.4),
 * served on the server's own event base by a small HTTP/1.x responder with
 * a connection cap and an absolute deadline per connection. Loop thread.
 */
#ifndef ECHOD_METRICS_H
#define ECHOD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

#define METRICS_MAX_CONNECTIONS_DEFAULT		16
#define METRICS_REQUEST_TIMEOUT_DEFAULT_MS	10000

/* The [metrics] settings. */
struct metrics_conf {
	const char	*bind;			/* "127.0.0.1:9107"; NULL or "": off */
	uint64_t	 max_connections;	/* open at once; one more is closed at accept */
	uint64_t	 request_timeout_ms;	/* from accept to the end; then it is closed */
};

/*
 * Serve on mc->bind ("127.0.0.1:9107", "[::1]:0"). At start-up and on
 * reload: an unchanged bind keeps its socket; a new one is bound before the
 * old one is closed. The limits apply to connections accepted from then on.
 * Returns -1 and a malloc'd *err when the new address cannot be bound (the
 * old one, if any, stays).
 */
int	metrics_configure(struct event_base *base, const struct metrics_conf *mc, char **err);
/*
 * A descriptor was released (a connection closed): if accepting on the
 * metrics address is paused for lack of descriptors, try again now.
 */
void	metrics_fd_released(void);
/* At exit: close the socket and every metrics connection (before event_base_free). */
void	metrics_stop(void);
/* The bound address (port 0 resolved); -1 when metrics are off. */
int	metrics_local_addr(struct sockaddr_storage *ss, socklen_t *len);

/*
 * The answer to a request head (pure): 200 for GET or HEAD of /metrics
 * (query string ignored; *head set for HEAD), 404 for another path, 405
 * for another method, 505 for an HTTP version other than 1.x, 400 for a
 * request line that is not "METHOD SP TARGET SP HTTP/d.d". Only the first
 * line of `head` is read.
 */
int	metrics_request_status(const char *head, size_t len, int *headonly);

#endif
