/*
 * listener.c: listening sockets, accept, and accept pausing. Loop thread.
 *
 * Each [listener NAME] owns one socket per bound address. Accepting pauses
 * (evconnlistener_disable: new clients wait in the kernel backlog) when the
 * listener's or the server's max_connections is reached, or when accept
 * fails for lack of descriptors (EMFILE/ENFILE); it resumes when a
 * connection ends or, for descriptor shortage, on a back-off timer.
 *
 * A socket that shares its port with other processes (SO_REUSEPORT) is
 * drained before it closes: Linux resets the connections still queued on a
 * closed listening socket (unless net.ipv4.tcp_migrate_req hands them to
 * another socket of the port), so what the kernel queued is accepted first.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "access.h"
#include "acl.h"
#include "addr.h"
#include "config.h"
#include "conn.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "proxy.h"
#include "sd.h"
#include "service.h"
#include "stats.h"
#include "tls.h"
#include "util.h"

#define LISTENER_RETRY_MIN_MS  100
#define LISTENER_RETRY_MAX_MS  2000

/* Why a listener does not accept now. */
enum listener_pause {
	LISTENER_ACCEPTING = 0,
	LISTENER_P_FD_LIMIT,          /* out of descriptors: retried on a back-off timer */
	LISTENER_P_SERVER_MAX,        /* [server] max_connections */
	LISTENER_P_MAX,               /* the listener's max_connections */
	LISTENER_P_COUNT
};


struct listener_sock {
	char                  *spec;       /* bind spec it came from */
	int                    index;      /* which address of the spec ("*" has two) */
	struct evconnlistener *evl;
	int                    fd;
	struct addr            bound;      /* actual address (port 0 resolved) */
	int                    unlink_on_close; /* unix socket we created */
};

struct listener {
	char                       *name;
	struct listener_conf       *conf;     /* owned copy of the options (no binds) */
	const struct service       *svc;
	struct listener_sock       *socks;
	size_t                      nsocks;
	int                         refs;
	int                         closed;   /* removed or shutting down */
	enum listener_pause         pause;    /* what the sockets were last set to */
	uint64_t                    current;  /* live connections */
	uint64_t                    total;    /* accepted */
	uint64_t                    refused[ACCESS_R_COUNT];  /* by access_reason */
	unsigned                    scope;    /* this listener in the per-source table */
	struct tls_ctx             *tls;
	TAILQ_ENTRY(listener)       entry;
};
TAILQ_HEAD(listener_list, listener);

static const char *listener_pause_names[LISTENER_P_COUNT] = {
	[LISTENER_ACCEPTING] = "none",
	[LISTENER_P_FD_LIMIT] = "fd-limit",
	[LISTENER_P_SERVER_MAX] = "server_max_connections",
	[LISTENER_P_MAX] = "max_connections",
};

/* PROXY headers refused, by what was wrong with them (all listeners). */
static uint64_t              listener_proxy_errors[PROXY_E_COUNT];
/* Connections counted against [server] max_connections (operator listeners are not). */
static uint64_t              listener_counted;

static struct event_base    *listener_base;
static struct listener_list  listener_live = TAILQ_HEAD_INITIALIZER(listener_live);
static uint64_t              listener_global_max;
static int                   listener_fd_short;      /* EMFILE/ENFILE back-off active */
static uint64_t              listener_retry_ms = LISTENER_RETRY_MIN_MS;
static struct event         *listener_retry_ev;
static listener_conn_closed_cb listener_closed_hook;

static void listener_accept_cb(struct evconnlistener *, evutil_socket_t, struct sockaddr *, int, void *);
static void listener_error_cb(struct evconnlistener *, void *);
static void listener_retry_cb(evutil_socket_t, short, void *);
static void listener_update(struct listener *l, int force);
static void listener_unref(struct listener *l);
static void listener_conn_closed(struct conn *c, void *owner);
static void listener_register_stats(void);
static const char *listener_scope_name(unsigned scope);
static void listener_unregister_stats(void);
static void listener_accept_body(struct listener *l, evutil_socket_t fd, struct sockaddr *sa,
    int slen);
static void listener_sock_drain(struct listener *l, struct listener_sock *s);

void
listener_init(struct event_base *base)
{
	listener_base = base;
	listener_retry_ev = evtimer_new(base, listener_retry_cb, NULL);
	if (listener_retry_ev == NULL)
		fatalx("listener_init: evtimer_new failed");
	conn_set_closed_hook(listener_conn_closed);
	access_add_scope_names(listener_scope_name);
	listener_register_stats();
}

/* SOURCES shows the listener a source belongs to. */
static const char *
listener_scope_name(unsigned scope)
{
	struct listener *l;

	TAILQ_FOREACH(l, &listener_live, entry)
		if (l->scope == scope)
			return l->name;
	return NULL;
}

void
listener_set_conn_closed_hook(listener_conn_closed_cb cb)
{
	listener_closed_hook = cb;
}

struct listener *
listener_find(const char *name)
{
	struct listener *l;

	TAILQ_FOREACH(l, &listener_live, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

void
listener_set_global_max(uint64_t max)
{
	listener_global_max = max;
}

/* The options a running listener needs; binds stay with the config. */
static struct listener_conf *
listener_conf_copy(const struct listener_conf *lc, const char *name)
{
	struct listener_conf *copy = xmalloc(sizeof(*copy));

	*copy = *lc;
	copy->name = (char *)name;
	copy->file = NULL;
	copy->service = NULL;
	copy->binds = NULL;
	copy->nbinds = 0;
	/* owned by the config, which a reload frees; tls.c keeps what it needs */
	copy->tls_cert = copy->tls_key = copy->tls_ca = NULL;
	copy->tls_ciphers = copy->tls_ciphersuites = NULL;
	memset(&copy->allow, 0, sizeof(copy->allow));
	memset(&copy->deny, 0, sizeof(copy->deny));
	memset(&copy->proxy_from, 0, sizeof(copy->proxy_from));
	copy->access_file = NULL;
	/*
	 * The lists themselves are shared, not copied (an access file may hold
	 * 100,000 entries): a reference each, so that a removed listener's
	 * connections still reading a PROXY header outlive the configuration.
	 */
	copy->acl = acl_ref(lc->acl);
	copy->proxy_acl = acl_ref(lc->proxy_acl);
	/* the service's options are plain data (service.h): a byte copy */
	copy->svc_conf = NULL;
	if (lc->svc_conf != NULL && lc->svc_conf_size > 0) {
		copy->svc_conf = xmalloc(lc->svc_conf_size);
		memcpy(copy->svc_conf, lc->svc_conf, lc->svc_conf_size);
	}
	return copy;
}

static void
listener_conf_free(struct listener_conf *copy)
{
	if (copy == NULL)
		return;
	acl_free(copy->acl);
	acl_free(copy->proxy_acl);
	free(copy->svc_conf);
	free(copy);
}

/* ---------------------------------------------------------------- sockets */

/* A unix socket path left by a dead process is removed; a live one is an error. */
static int
listener_unix_prepare(const struct sockaddr_un *sun, char **err)
{
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : (xasprintf(err, "%s: %s", sun->sun_path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(err, "%s exists and is not a socket", sun->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		xasprintf(err, "%s is in use by a running process", sun->sun_path);
		return -1;
	}
	close(fd);
	unlink(sun->sun_path);
	return 0;
}

static int
listener_sock_options(int fd, int family, const struct listener_conf *lc, char **err)
{
	int one = 1;

	if (family == AF_UNIX)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (lc->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)) {
		xasprintf(err, "setsockopt: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* socket + options + bind + listen; returns the fd or -1 with *err. */
static int
listener_bind(const struct addr *a, const struct listener_conf *lc, char **err)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char abuf[ADDR_STRLEN];
	int fd;

	if (sa->sa_family == AF_UNIX && listener_unix_prepare((const struct sockaddr_un *)sa, err) == -1)
		return -1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(err, "cannot create socket for %s: %s",
		    addr_format(sa, a->len, abuf, sizeof(abuf)), strerror(errno));
		return -1;
	}
	if (listener_sock_options(fd, sa->sa_family, lc, err) == -1)
		goto fail;
	if (bind(fd, sa, a->len) == -1) {
		xasprintf(err, "cannot bind %s: %s", addr_format(sa, a->len, abuf, sizeof(abuf)),
		    strerror(errno));
		goto fail;
	}
	if (sa->sa_family == AF_UNIX &&
	    chmod(((const struct sockaddr_un *)sa)->sun_path, lc->unix_mode) == -1) {
		xasprintf(err, "cannot chmod %s: %s", ((const struct sockaddr_un *)sa)->sun_path,
		    strerror(errno));
		unlink(((const struct sockaddr_un *)sa)->sun_path);
		goto fail;
	}
	if (listen(fd, lc->backlog) == -1) {
		xasprintf(err, "cannot listen on %s: %s", addr_format(sa, a->len, abuf, sizeof(abuf)),
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void
listener_sock_close(struct listener_sock *s)
{
	/* An inherited socket (a duplicate) may be taken again by a later reload. */
	sd_listen_release(s->fd);
	if (s->evl != NULL)
		evconnlistener_free(s->evl);     /* LEV_OPT_CLOSE_ON_FREE closes fd */
	else if (s->fd != -1)
		close(s->fd);
	if (s->unlink_on_close)
		unlink(((struct sockaddr_un *)&s->bound.ss)->sun_path);
	free(s->spec);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Wrap a bound, listening fd into a (disabled) evconnlistener. */
static int
listener_sock_add(struct listener *l, const char *spec, int index, int fd, char **err)
{
	struct listener_sock *s;

	l->socks = xreallocarray(l->socks, l->nsocks + 1, sizeof(*l->socks));
	s = &l->socks[l->nsocks];
	memset(s, 0, sizeof(*s));
	s->spec = xstrdup(spec);
	s->index = index;
	s->fd = fd;
	s->bound.len = sizeof(s->bound.ss);
	if (getsockname(fd, (struct sockaddr *)&s->bound.ss, &s->bound.len) == -1) {
		xasprintf(err, "getsockname: %s", strerror(errno));
		close(fd);
		free(s->spec);
		return -1;
	}
	s->unlink_on_close = s->bound.ss.ss_family == AF_UNIX;
	s->evl = evconnlistener_new(listener_base, listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED, 0, fd);
	if (s->evl == NULL) {
		xasprintf(err, "evconnlistener_new failed for %s", spec);
		close(fd);
		free(s->spec);
		return -1;
	}
	evconnlistener_set_error_cb(s->evl, listener_error_cb);
	l->nsocks++;
	return 0;
}

static int
listener_has_sock(const struct listener *l, const char *spec, int index)
{
	size_t i;

	for (i = 0; i < l->nsocks; i++)
		if (l->socks[i].index == index && strcmp(l->socks[i].spec, spec) == 0)
			return 1;
	return 0;
}

/* An inherited IPv6 socket that also accepts IPv4 serves a whole "*:PORT" spec. */
static int
listener_spec_dual_stack(const struct listener *l, const char *spec)
{
	socklen_t len;
	size_t i;
	int v6only;

	for (i = 0; l != NULL && i < l->nsocks; i++) {
		len = sizeof(v6only);
		if (strcmp(l->socks[i].spec, spec) == 0 && l->socks[i].bound.ss.ss_family == AF_INET6 &&
		    sd_listen_is_inherited(l->socks[i].fd) &&
		    getsockopt(l->socks[i].fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && !v6only)
			return 1;
	}
	return 0;
}

/*
 * Socket activation: the addresses of `b` systemd passed a socket for (by
 * address or by FileDescriptorName= = listener name) use it instead of
 * binding. Such a socket is never unlinked by echod: systemd owns it.
 */
static int
listener_take_spec(struct listener *l, const struct bind_conf *b, struct listener *cur, char **err)
{
	int i, fd;

	for (i = 0; i < b->naddrs && sd_listen_count() > 0; i++) {
		if (cur != NULL && listener_has_sock(cur, b->spec, i))
			continue;
		if ((fd = sd_listen_take(l->name, &b->addrs[i], NULL)) == -1)
			continue;
		if (listener_sock_add(l, b->spec, i, fd, err) == -1) {
			sd_listen_release(fd);
			return -1;
		}
		l->socks[l->nsocks - 1].unlink_on_close = 0;
	}
	return 0;
}

/* Bind one spec's addresses; "*:0" puts IPv6 on the port IPv4 was given. */
static int
listener_open_spec(struct listener *l, const struct bind_conf *b, const struct listener_conf *lc,
    struct listener *cur, char **err)
{
	struct addr a;
	int i, fd, port = -1;

	if (listener_take_spec(l, b, cur, err) == -1)
		return -1;
	if (listener_spec_dual_stack(l, b->spec) || listener_spec_dual_stack(cur, b->spec))
		return 0;
	for (i = 0; i < b->naddrs; i++) {
		if ((cur != NULL && listener_has_sock(cur, b->spec, i)) || listener_has_sock(l, b->spec, i))
			continue;
		a = b->addrs[i];
		if (port > 0 && a.ss.ss_family == AF_INET6 && addr_port((struct sockaddr *)&a.ss) == 0)
			((struct sockaddr_in6 *)&a.ss)->sin6_port = htons((uint16_t)port);
		fd = listener_bind(&a, lc, err);
		if (fd == -1 && b->naddrs > 1 && a.ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT) {
			log_warn(LOG_S_SERVER, "listener=%s bind=%s IPv6 unavailable, IPv4 only", l->name, b->spec);
			free(*err);
			*err = NULL;
			continue;
		}
		if (fd == -1 || listener_sock_add(l, b->spec, i, fd, err) == -1)
			return -1;
		port = addr_port((struct sockaddr *)&l->socks[l->nsocks - 1].bound.ss);
	}
	return 0;
}

struct listener *
listener_open(const struct listener_conf *lc, struct listener *cur, char **err)
{
	struct listener *l;
	char *why = NULL;
	size_t i;

	*err = NULL;
	l = xcalloc(1, sizeof(*l));
	l->name = xstrdup(lc->name);
	l->conf = listener_conf_copy(lc, l->name);
	l->svc = service_find(lc->service);
	l->refs = 1;
	l->scope = cur != NULL ? cur->scope : access_scope_new();
	if (l->svc == NULL) {
		xasprintf(err, "listener %s: unknown service '%s'", lc->name, lc->service);
		goto fail;
	}
	/* A certificate or key problem fails here, so a reload keeps the old context. */
	if (lc->tls && (l->tls = tls_ctx_new(lc, &why)) == NULL) {
		xasprintf(err, "listener %s: %s", lc->name, why);
		free(why);
		goto fail;
	}
	for (i = 0; i < lc->nbinds; i++) {
		if (listener_open_spec(l, &lc->binds[i], lc, cur, &why) == -1) {
			xasprintf(err, "listener %s: %s", lc->name, why);
			free(why);
			goto fail;
		}
	}
	return l;
fail:
	listener_discard(l);
	return NULL;
}

static void
listener_log_socks(const struct listener *l, size_t from)
{
	char abuf[ADDR_STRLEN];
	size_t i;

	for (i = from; i < l->nsocks; i++)
		log_info(LOG_S_SERVER, "listening listener=%s service=%s addr=%s", l->name, l->svc->name,
		    addr_format((const struct sockaddr *)&l->socks[i].bound.ss, l->socks[i].bound.len,
		    abuf, sizeof(abuf)));
}

void
listener_start(struct listener *l)
{
	TAILQ_INSERT_TAIL(&listener_live, l, entry);
	listener_log_socks(l, 0);
	listener_update(l, 1);
}

void
listener_merge(struct listener *cur, struct listener *staged, const struct listener_conf *lc)
{
	size_t i, j, first_new;
	int keep, b;

	/* Close the sockets whose spec is gone. */
	for (i = 0, j = 0; i < cur->nsocks; i++) {
		keep = 0;
		for (b = 0; b < (int)lc->nbinds && !keep; b++)
			keep = strcmp(lc->binds[b].spec, cur->socks[i].spec) == 0 &&
			    cur->socks[i].index < lc->binds[b].naddrs;
		if (!keep) {
			listener_sock_drain(cur, &cur->socks[i]);
			log_info(LOG_S_SERVER, "listener=%s bind=%s closed", cur->name, cur->socks[i].spec);
			listener_sock_close(&cur->socks[i]);
			continue;
		}
		cur->socks[j++] = cur->socks[i];
	}
	cur->nsocks = j;
	/* Adopt the staged ones. */
	first_new = cur->nsocks;
	cur->socks = xreallocarray(cur->socks, cur->nsocks + staged->nsocks + 1, sizeof(*cur->socks));
	for (i = 0; i < staged->nsocks; i++) {
		evconnlistener_set_cb(staged->socks[i].evl, listener_accept_cb, cur);
		cur->socks[cur->nsocks++] = staged->socks[i];
	}
	staged->nsocks = 0;
	/* New handshakes use the new TLS context; live sessions hold the old one. */
	tls_ctx_free(cur->tls);
	cur->tls = staged->tls;
	staged->tls = NULL;
	listener_discard(staged);
	listener_conf_free(cur->conf);
	cur->conf = listener_conf_copy(lc, cur->name);
	cur->svc = service_find(lc->service);
	listener_log_socks(cur, first_new);
	listener_update(cur, 1);
}

static void
listener_free(struct listener *l)
{
	size_t i;

	for (i = 0; i < l->nsocks; i++)
		listener_sock_close(&l->socks[i]);
	free(l->socks);
	tls_ctx_free(l->tls);
	listener_conf_free(l->conf);
	free(l->name);
	free(l);
}

void
listener_discard(struct listener *staged)
{
	listener_free(staged);
}

/*
 * A TCP socket of ours whose port other sockets may share (SO_REUSEPORT).
 * Not one systemd passed: systemd keeps it open, queue included, for the
 * next instance.
 */
static int
listener_sock_shared(const struct listener_sock *s)
{
	socklen_t len = sizeof(int);
	int on = 0;

	if (s->fd == -1 || s->bound.ss.ss_family == AF_UNIX || sd_listen_is_inherited(s->fd))
		return 0;
	return getsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == 0 && on;
}

/*
 * Connections waiting in a listening socket's accept queue, and the queue's
 * length (TCP_INFO on a listener: tcpi_unacked and tcpi_sacked). -1 when
 * the kernel does not say.
 */
static int
listener_sock_queue(int fd, unsigned *max)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 || ti.tcpi_state != TCP_LISTEN)
		return -1;
	if (max != NULL)
		*max = ti.tcpi_sacked;
	return (int)ti.tcpi_unacked;
}

/*
 * Before a shared socket closes: accept what the kernel queued on it, as
 * connections like any other (limits do not pause this; access rules
 * apply). The kernel keeps choosing this socket for a share of the new
 * connections until it is closed, so the loop stops at an empty queue or
 * after twice the queue's length. A connection whose handshake completes
 * between the last accept and the close is still reset, unless
 * tcp_migrate_req is on; `left` in the log says how many the kernel held
 * at the close.
 */
static void
listener_sock_drain(struct listener *l, struct listener_sock *s)
{
	char abuf[ADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned max = 0, n = 0, bound;
	int fd, err = 0, left;

	if (!listener_sock_shared(s))
		return;
	bound = listener_sock_queue(s->fd, &max) >= 0 && max > 0 ? 2 * max : 2 * 65535;
	while (n < bound) {
		len = sizeof(ss);
		fd = accept4(s->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = errno;
			break;
		}
		n++;
		listener_accept_body(l, fd, (struct sockaddr *)&ss, (int)len);
	}
	left = listener_sock_queue(s->fd, NULL);
	log_info(LOG_S_SERVER, "listener=%s addr=%s reuse_port drained=%u left=%d%s%s%s", l->name,
	    addr_format((const struct sockaddr *)&s->bound.ss, s->bound.len, abuf, sizeof(abuf)),
	    n, left, err != 0 ? " error=\"" : "", err != 0 ? strerror(err) : "",
	    err != 0 ? "\"" : "");
}

/* Stop accepting, close the sockets, leave the table, drop the table's reference. */
static void
listener_close(struct listener *l)
{
	size_t i;

	if (l->closed)
		return;
	for (i = 0; i < l->nsocks; i++)
		listener_sock_drain(l, &l->socks[i]);
	l->closed = 1;
	for (i = 0; i < l->nsocks; i++)
		listener_sock_close(&l->socks[i]);
	l->nsocks = 0;
	TAILQ_REMOVE(&listener_live, l, entry);
	log_info(LOG_S_SERVER, "listener=%s closed connections=%" PRIu64, l->name, l->current);
	listener_unref(l);
}

int
listener_close_unless(int (*keep)(const char *name, void *arg), void *arg)
{
	struct listener *l, *next;
	int n = 0;

	for (l = TAILQ_FIRST(&listener_live); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (!keep(l->name, arg)) {
			listener_close(l);
			n++;
		}
	}
	return n;
}

void
listener_close_all(void)
{
	struct listener *l;

	while ((l = TAILQ_FIRST(&listener_live)) != NULL)
		listener_close(l);
}

static void
listener_ref(struct listener *l)
{
	l->refs++;
}

static void
listener_unref(struct listener *l)
{
	DEBUG_ASSERT(l->refs > 0);
	if (--l->refs == 0)
		listener_free(l);
}

/* ---------------------------------------------------------------- limits */

/* Why `l` should not accept now. */
static enum listener_pause
listener_pause_reason(const struct listener *l)
{
	if (listener_fd_short)
		return LISTENER_P_FD_LIMIT;
	/* Operator listeners (the admin console) never wait for the server-wide limit. */
	if (listener_global_max > 0 && listener_counted >= listener_global_max &&
	    !(l->svc->flags & SERVICE_F_OPERATOR))
		return LISTENER_P_SERVER_MAX;
	if (l->conf->max_connections > 0 && l->current >= l->conf->max_connections)
		return LISTENER_P_MAX;
	return LISTENER_ACCEPTING;
}

/* Enable or disable accepting to match the limits; `force` applies it even if unchanged. */
static void
listener_update(struct listener *l, int force)
{
	enum listener_pause why = listener_pause_reason(l);
	int pause = why != LISTENER_ACCEPTING, was = l->pause != LISTENER_ACCEPTING;
	size_t i;

	if (l->closed || (!force && pause == was))
		return;
	for (i = 0; i < l->nsocks; i++) {
		if (pause)
			evconnlistener_disable(l->socks[i].evl);
		else
			evconnlistener_enable(l->socks[i].evl);
	}
	if (pause && !was)
		log_info(LOG_S_SERVER, "listener=%s paused reason=%s current=%" PRIu64, l->name,
		    listener_pause_names[why], l->current);
	else if (!pause && was)
		log_info(LOG_S_SERVER, "listener=%s resumed current=%" PRIu64, l->name, l->current);
	l->pause = why;
}

void
listener_check_limits(void)
{
	struct listener *l;

	if (debug_wrong_thread(__func__))
		return;
	TAILQ_FOREACH(l, &listener_live, entry)
		listener_update(l, 0);
}

/* No complete PROXY header within proxy_timeout: a refusal like the others, counted and logged. */
static void
listener_proxy_timed_out(struct conn *c, struct listener *l)
{
	const struct sockaddr *sa;
	socklen_t len;

	sa = conn_peer(c, &len);
	l->refused[ACCESS_R_PROXY_TIMEOUT]++;
	access_refused(l->name, ACCESS_R_PROXY_TIMEOUT, NULL, sa, len, NULL);
}

/* conn.c's close hook: one connection of `owner` ended. */
static void
listener_conn_closed(struct conn *c, void *owner)
{
	struct listener *l = owner;

	DEBUG_ASSERT(l->current > 0);
	l->current--;
	if (!(l->svc->flags & SERVICE_F_OPERATOR))
		listener_counted--;
	if (conn_state(c) == CONN_S_CLOSED && conn_reason(c) == CONN_R_PROXY_TIMEOUT)
		listener_proxy_timed_out(c, l);
	access_release(conn_owner_data(c));
	/* A descriptor was freed: try accepting again at once. */
	if (listener_fd_short) {
		listener_fd_short = 0;
		event_del(listener_retry_ev);
	}
	listener_check_limits();
	/* The connection's reference: a removed listener may go now. */
	listener_unref(l);
	if (listener_closed_hook != NULL)
		listener_closed_hook();
}

/* ---------------------------------------------------------------- accept */

/* The operator's console is outside the daemon-wide accept rate, as outside max_connections. */
static unsigned
listener_access_flags(const struct listener *l)
{
	return (l->svc->flags & SERVICE_F_OPERATOR) ? ACCESS_F_OPERATOR : 0;
}

/* A refusal at accept: counted by reason, logged without flooding, nothing read. */
static void
listener_refuse(struct listener *l, enum access_reason why, struct source *src,
    const struct sockaddr *sa, socklen_t salen, const char *rule)
{
	l->refused[why]++;
	access_refused(l->name, why, src, sa, salen, rule);
}

/*
 * The connection object for an accepted socket; the listener is referenced
 * while it lives. Out of memory: the socket is closed, the refusal counted
 * (reason oom) and logged, and NULL returned.
 */
static struct conn *
listener_conn_new(struct listener *l, int fd, const struct sockaddr *sa, socklen_t slen,
    struct source *src)
{
	const struct listener_conf *lc = l->conf;
	struct conn_params p;
	struct conn *c;

	memset(&p, 0, sizeof(p));
	p.svc = l->svc;
	p.svc_conf = lc->svc_conf;
	p.owner = l;
	p.owner_name = l->name;
	p.owner_data = src;
	p.idle_timeout_ms = lc->idle_timeout_ms;
	p.max_bytes = lc->max_bytes;
	p.max_lifetime_ms = lc->max_lifetime_ms;
	p.rate_limit = lc->rate_limit;
	if ((c = conn_new(&p, fd, sa, slen)) == NULL) {
		listener_refuse(l, ACCESS_R_OOM, NULL, sa, slen, NULL);
		close(fd);
		return NULL;
	}
	listener_ref(l);
	l->current++;
	l->total++;
	if (!(l->svc->flags & SERVICE_F_OPERATOR))
		listener_counted++;
	return c;
}

/* Admitted: the transport's handshake, or the service at once. */
static void
listener_conn_begin(struct listener *l, struct conn *c)
{
	/* Already closing (out of memory arming its timer): nothing to begin. */
	if (!conn_is_alive(c))
		return;
	if (l->tls != NULL)
		tls_conn_accept(c, l->tls);
	else
		conn_start(c);
}

/* ---------------------------------------------------------------- PROXY protocol */

/* The header read so far; the connection's preface argument until it is parsed. */
struct listener_preface {
	struct listener	*listener;
	unsigned	 reads;
	size_t		 len;
	unsigned char	 buf[PROXY_MAX_HEADER];
};

/* Reads spent on one header: a balancer sends it at once; a dribbler is cut short. */
#define LISTENER_PREFACE_READS	16

static const unsigned listener_proxy_allow[] = {
	[PROXY_MODE_NO] = 0,
	[PROXY_MODE_V1] = PROXY_V1,
	[PROXY_MODE_V2] = PROXY_V2,
	[PROXY_MODE_ANY] = PROXY_V1 | PROXY_V2,
};

static void
listener_preface_free(void *arg)
{
	free(arg);
}

/* A refused header: counted by what was wrong with it, logged, closed. */
static int
listener_proxy_refuse(struct conn *c, struct listener *l, enum proxy_err err, const char *detail)
{
	socklen_t len;
	const struct sockaddr *sa = conn_peer(c, &len);

	listener_proxy_errors[err]++;
	l->refused[ACCESS_R_PROXY_HEADER]++;
	access_refused(l->name, ACCESS_R_PROXY_HEADER, NULL, sa, len, detail);
	return -1;
}

/*
 * After the header: the client's address replaces the balancer's, the
 * access rules run on it, and the connection starts (a TLS handshake comes
 * after the header).
 */
static int
listener_proxy_admit(struct conn *c, struct listener *l, const struct proxy_info *pi,
    enum conn_reason *reason)
{
	char via[PROXY_DESCRIBE_MAX + 160], desc[PROXY_DESCRIBE_MAX], abuf[ADDR_STRLEN], rule[64];
	const struct sockaddr *sa;
	enum access_reason why;
	struct source *src;
	socklen_t len;

	sa = conn_peer(c, &len);
	proxy_describe(pi, desc, sizeof(desc));
	snprintf(via, sizeof(via), " via=%s proxy=%s", sa != NULL ? addr_format(sa, len, abuf,
	    sizeof(abuf)) : "unix", desc);
	if (conn_set_via(c, via) == -1) {
		conn_close_oom(c, "PROXY via");
		*reason = CONN_R_OOM;
		return -1;
	}
	if (!pi->local && pi->srclen > 0 && pi->src.ss_family != AF_UNIX)
		conn_set_peer(c, (const struct sockaddr *)&pi->src, pi->srclen);
	/* What the client connected to decides what a service offers (command's RESOLVE). */
	if (!pi->local && pi->dstlen > 0)
		conn_set_local(c, (const struct sockaddr *)&pi->dst, pi->dstlen);
	sa = conn_peer(c, &len);
	why = access_check(l->conf, l->scope, listener_access_flags(l), sa, &src, rule,
	    sizeof(rule));
	if (why != ACCESS_OK) {
		listener_refuse(l, why, src, sa, len, rule);
		*reason = CONN_R_REFUSED;
		return -1;
	}
	access_admit(src);
	conn_set_owner_data(c, src);
	listener_conn_begin(l, c);
	return 1;
}

/*
 * conn.c's preface reader for PROXY protocol listeners. Bytes are peeked,
 * and only those that belong to the header are consumed, so the service
 * (or the TLS handshake) reads exactly what followed it. While the header
 * is incomplete everything peeked is part of it, and is taken: the read
 * event does not fire again until more arrives.
 */
static int
listener_proxy_preface(struct conn *c, void *arg, enum conn_reason *reason)
{
	struct listener_preface *pf = arg;
	struct listener *l = pf->listener;
	unsigned char peek[PROXY_MAX_HEADER];
	unsigned allow = listener_proxy_allow[l->conf->proxy_protocol];
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail;
	size_t room = sizeof(pf->buf) - pf->len, take;
	ssize_t n;
	int rv;

	*reason = CONN_R_PROXY_HEADER;
	n = recv(conn_fd(c), peek, room, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return listener_proxy_refuse(c, l, PROXY_E_MALFORMED, n == 0 ?
		    "closed before the end of the PROXY header" : strerror(errno));
	memcpy(pf->buf + pf->len, peek, (size_t)n);
	rv = proxy_parse(pf->buf, pf->len + (size_t)n, allow, &pi, &err, &detail);
	if (rv < 0)
		return listener_proxy_refuse(c, l, err, detail);
	take = rv > 0 ? (size_t)rv - pf->len : (size_t)n;
	if (recv(conn_fd(c), peek, take, 0) != (ssize_t)take)
		return listener_proxy_refuse(c, l, PROXY_E_MALFORMED, "short read of the header");
	pf->len += take;
	if (rv == 0) {
		if (++pf->reads >= LISTENER_PREFACE_READS)
			return listener_proxy_refuse(c, l, PROXY_E_MALFORMED,
			    "PROXY header sent in too many pieces");
		return 0;
	}
	return listener_proxy_admit(c, l, &pi, reason);
}

/* ---------------------------------------------------------------- accept */

static void
listener_accept_body(struct listener *l, evutil_socket_t fd, struct sockaddr *sa, int slen)
{
	const struct listener_conf *lc = l->conf;
	struct listener_preface *pf;
	enum access_reason why;
	struct source *src = NULL;
	struct conn *c;
	char rule[64];

	if (l->closed) {
		close(fd);
		return;
	}
	listener_retry_ms = LISTENER_RETRY_MIN_MS;
	if (lc->proxy_protocol != PROXY_MODE_NO) {
		/* Only the balancers may speak first; the client is checked after its header. */
		if ((why = access_check_proxy(lc, sa)) != ACCESS_OK) {
			listener_refuse(l, why, NULL, sa, (socklen_t)slen, NULL);
			close(fd);
			return;
		}
		if ((c = listener_conn_new(l, fd, sa, (socklen_t)slen, NULL)) == NULL)
			return;
		if ((pf = util_calloc(1, sizeof(*pf))) == NULL)
			conn_close_oom(c, "PROXY header");
		else {
			pf->listener = l;
			/* -1: out of memory, already closing (oom) and pf freed */
			(void)conn_start_preface(c, listener_proxy_preface, pf,
			    listener_preface_free, lc->proxy_timeout_ms);
		}
	} else if ((why = access_check(lc, l->scope, listener_access_flags(l), sa, &src, rule,
	    sizeof(rule))) != ACCESS_OK) {
		/* Refused before a byte is read: no connection object at all. */
		listener_refuse(l, why, src, sa, (socklen_t)slen, rule);
		close(fd);
		return;
	} else {
		if ((c = listener_conn_new(l, fd, sa, (socklen_t)slen, src)) == NULL)
			return;
		access_admit(src);
		listener_conn_begin(l, c);
	}
	/* At a limit: disabling here also ends evconnlistener's accept loop. */
	if (listener_pause_reason(l) != LISTENER_ACCEPTING)
		listener_check_limits();
}

/* For loop.h's LOOP_CB: a listener in a slow-callback report. */
static void
listener_describe(const void *arg, struct debug_where *w)
{
	const struct listener *l = arg;

	snprintf(w->listener, sizeof(w->listener), "%s", l->name);
}

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int slen,
    void *arg)
{
	struct listener *l = arg;

	LOOP_CB("listener_accept_cb", listener_describe, l, listener_accept_body(l, fd, sa, slen));
}

static void
listener_error_body(struct listener *l, int err)
{
	struct timeval tv;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		l->refused[ACCESS_R_ACCEPT_ERROR]++;
		log_warn(LOG_S_SERVER, "listener=%s accept error=\"%s\"", l->name, strerror(err));
		return;
	}
	/* Out of descriptors: pause every listener and retry on a back-off timer. */
	l->refused[ACCESS_R_FD_LIMIT]++;
	log_warn(LOG_S_SERVER, "listener=%s accept error=\"%s\" paused retry_ms=%" PRIu64,
	    l->name, strerror(err), listener_retry_ms);
	listener_fd_short = 1;
	listener_check_limits();
	tv.tv_sec = (time_t)(listener_retry_ms / 1000);
	tv.tv_usec = (suseconds_t)(listener_retry_ms % 1000) * 1000;
	evtimer_add(listener_retry_ev, &tv);
	listener_retry_ms = listener_retry_ms * 2 > LISTENER_RETRY_MAX_MS ?
	    LISTENER_RETRY_MAX_MS : listener_retry_ms * 2;
}

/* Timed in debug mode; the socket error is read first, before anything can change it. */
static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();

	LOOP_CB("listener_error_cb", listener_describe, l, listener_error_body(l, err));
}

static void
listener_retry_body(void)
{
	listener_fd_short = 0;
	listener_check_limits();
}

static void
listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("listener_retry_cb", NULL, NULL, listener_retry_body());
}

/* ---------------------------------------------------------------- statistics */

/* One sample per live listener; `arg` picks the value. */
static void
listener_collect(struct stats_emit *e, void *arg)
{
	const char *what = arg;
	struct listener *l;
	uint64_t v;

	TAILQ_FOREACH(l, &listener_live, entry) {
		if (what[0] == 'o')
			v = l->current;
		else if (what[0] == 't')
			v = l->total;
		else
			v = l->pause != LISTENER_ACCEPTING;
		stats_emit_u64(e, v, l->name, l->svc->name);
	}
}

static void
listener_collect_refused(struct stats_emit *e, void *arg)
{
	struct listener *l;
	int r;

	TAILQ_FOREACH(l, &listener_live, entry)
		for (r = ACCESS_OK + 1; r < ACCESS_R_COUNT; r++)
			stats_emit_u64(e, l->refused[r], l->name, l->svc->name,
			    access_reason_name((enum access_reason)r));
}

static void
listener_collect_proxy(struct stats_emit *e, void *arg)
{
	int r;

	for (r = PROXY_E_NONE + 1; r < PROXY_E_COUNT; r++)
		stats_emit_u64(e, listener_proxy_errors[r], proxy_err_name((enum proxy_err)r));
}

static const struct stats_family listener_families[] = {
	{ "connections_open", STATS_GAUGE, STATS_UNIT_NONE, "Connections open now, by listener.",
	  { "listener", "service", NULL }, listener_collect, "open" },
	{ "connections_total", STATS_COUNTER, STATS_UNIT_NONE, "Connections accepted, by listener.",
	  { "listener", "service", NULL }, listener_collect, "total" },
	{ "connections_rejected_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Connections refused at accept, by listener and reason.",
	  { "listener", "service", "reason", NULL }, listener_collect_refused, NULL },
	{ "listener_paused", STATS_GAUGE, STATS_UNIT_NONE,
	  "1 while the listener does not accept (limits, descriptor shortage).",
	  { "listener", "service", NULL }, listener_collect, "paused" },
	{ "proxy_header_errors_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "PROXY protocol headers refused, by what was wrong with them.", { "error", NULL },
	  listener_collect_proxy, NULL },
};

static void
listener_register_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(listener_families); i++)
		stats_register(&listener_families[i]);
}

static void
listener_unregister_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(listener_families); i++)
		stats_unregister(&listener_families[i]);
}

void
listener_destroy(void)
{
	if (listener_retry_ev != NULL)
		event_free(listener_retry_ev);
	listener_retry_ev = NULL;
	listener_unregister_stats();
}
