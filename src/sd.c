/*
 * sd.c: running under systemd. Main (loop) thread only.
 *
 * Notifications: READY=1 once every listener is bound, RELOADING=1 with
 * MONOTONIC_USEC= when a reload starts and READY=1 when it ends (applied
 * or not), STOPPING=1 at shutdown, and STATUS= with a one-line summary
 * refreshed every SD_STATUS_INTERVAL_MS. This is the Type=notify-reload
 * protocol; it works as well with Type=notify and ExecReload=kill -HUP.
 *
 * Watchdog: WATCHDOG=1 is sent by a timer on the event loop, at half the
 * WATCHDOG_USEC interval. A thread would keep the service "alive" while
 * the loop is stuck; a loop timer does not, so systemd restarts it.
 *
 * Socket activation: the inherited sockets (LISTEN_FDS) are kept here for
 * the life of the process. A listener gets a duplicate of one (by bound
 * address, else by FileDescriptorName= = listener name) and closes only
 * its duplicate, so a listener removed and re-added by reloads can take
 * the same socket again and systemd's socket is never unlinked.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "loop.h"
#include "sd.h"
#include "stats.h"
#include "util.h"

/* One socket passed by systemd. */
struct sd_sock {
	int		 fd;		/* inherited descriptor, kept until exit */
	char		*name;		/* FileDescriptorName= ("unknown" if none) */
	struct addr	 bound;
	int		 dual_stack;	/* IPv6 socket that also accepts IPv4 */
	int		 used;		/* duplicate handed to a listener, or -1 */
};

static struct sd_sock	*sd_socks;
static size_t		 sd_nsocks;

static struct event	*sd_watchdog_ev;
static struct event	*sd_status_ev;
static uint64_t		 sd_wd_usec;
static int		 sd_notifying;	/* NOTIFY_SOCKET set (and libsystemd built in) */
static int		 sd_stopping;

/* ---------------------------------------------------------------- notify */

static void sd_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sd_send(const char *fmt, ...)
{
#ifdef HAVE_SYSTEMD
	static int warned;
	va_list ap;
	char *msg, *p;
	int r;

	if (!sd_notifying)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	r = sd_notify(0, msg);
	if (r < 0 && !warned) {
		/* Once: a broken NOTIFY_SOCKET must not flood the log every 5 s. */
		log_warn(LOG_S_SERVER, "sd_notify failed error=\"%s\"", strerror(-r));
		warned = 1;
	}
	/* One log line: the message's newlines become spaces. */
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	log_debug(LOG_S_SERVER, "sd_notify msg=\"%s\"", msg);
	free(msg);
#else
	(void)fmt;
#endif
}

int
sd_notify_enabled(void)
{
	return sd_notifying;
}

uint64_t
sd_watchdog_usec(void)
{
	return sd_wd_usec;
}

/* The statistics STATUS= shows, rendered as the admin console's STATS shows them. */
static const char *const sd_status_stats[] = {
	"server_connections_open", "server_connections_total", "jobs_running", "jobs_queued",
	"loop_lag_p99_seconds",
};

char *
sd_status_line(char *buf, size_t size)
{
	size_t i, off = 0, n, len;
	char *text, *nl;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_LEN(sd_status_stats); i++) {
		if ((text = stats_render_text(sd_status_stats[i], &len)) == NULL)
			continue;	/* out of memory: this STATUS= line is shorter */
		/* Only the family of exactly that name: the first line, "name=value\r\n". */
		if ((nl = strstr(text, "\r\n")) != NULL)
			*nl = '\0';
		n = strlen(text);
		if (n > 0 && off + n + 2 < size) {
			snprintf(buf + off, size - off, "%s%s", off > 0 ? " " : "", text);
			off += n + (off > 0);
		}
		free(text);
	}
	return buf;
}

static void
sd_notify_status(void)
{
	char line[256];

	sd_send("STATUS=%s", sd_status_line(line, sizeof(line)));
}

void
sd_notify_ready(void)
{
	char line[256];

	sd_send("READY=1\nSTATUS=%s", sd_status_line(line, sizeof(line)));
}

void
sd_notify_reloading(void)
{
	/* MONOTONIC_USEC: systemd ignores a RELOADING=1 it cannot order. */
	sd_send("RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", util_now_us());
}

void
sd_notify_stopping(void)
{
	char line[256];

	sd_stopping = 1;
	if (sd_status_ev != NULL)
		evtimer_del(sd_status_ev);
	sd_send("STOPPING=1\nSTATUS=stopping %s", sd_status_line(line, sizeof(line)));
}

/* ---------------------------------------------------------------- timers */

/* Both timed in debug mode (debug.h). */
static void
sd_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("sd_watchdog_cb", NULL, NULL, sd_send("WATCHDOG=1"));
}

static void
sd_status_body(void)
{
	if (!sd_stopping)
		sd_notify_status();
}

static void
sd_status_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("sd_status_cb", NULL, NULL, sd_status_body());
}

static struct event *
sd_timer_new(struct event_base *base, event_callback_fn cb, uint64_t usec)
{
	struct timeval tv = { (time_t)(usec / 1000000), (suseconds_t)(usec % 1000000) };
	struct event *ev;

	ev = event_new(base, -1, EV_PERSIST, cb, NULL);
	if (ev == NULL || evtimer_add(ev, &tv) == -1)
		fatalx("sd: cannot add a timer");
	return ev;
}

/* The watchdog interval systemd set for this process (WATCHDOG_PID checked), or 0. */
static uint64_t
sd_watchdog_lookup(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

void
sd_start(struct event_base *base)
{
#ifdef HAVE_SYSTEMD
	sd_notifying = getenv("NOTIFY_SOCKET") != NULL;
#endif
	/* A watchdog meant for another process (WATCHDOG_PID) is not ours. */
	if ((sd_wd_usec = sd_watchdog_lookup()) > 0)
		sd_watchdog_ev = sd_timer_new(base, sd_watchdog_cb, sd_wd_usec / 2);
	if (sd_notifying)
		sd_status_ev = sd_timer_new(base, sd_status_cb, SD_STATUS_INTERVAL_MS * 1000);
	if (sd_notifying || sd_wd_usec > 0)
		log_info(LOG_S_SERVER, "systemd notify=%s watchdog_usec=%" PRIu64,
		    sd_notifying ? "yes" : "no", sd_wd_usec);
}

void
sd_stop(void)
{
	struct event **evs[] = { &sd_watchdog_ev, &sd_status_ev };
	size_t i;

	for (i = 0; i < ARRAY_LEN(evs); i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	for (i = 0; i < sd_nsocks; i++) {
		close(sd_socks[i].fd);
		free(sd_socks[i].name);
	}
	free(sd_socks);
	sd_socks = NULL;
	sd_nsocks = 0;
	sd_notifying = sd_stopping = 0;
	sd_wd_usec = 0;
}

/* ---------------------------------------------------------------- sockets */

static int
sd_addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const struct sockaddr *sb = (const struct sockaddr *)&b->ss;

	/* A zeroed struct addr (socktype 0) is a stream, like every spec without udp:. */
	if (sa->sa_family != sb->sa_family ||
	    (a->socktype == SOCK_DGRAM) != (b->socktype == SOCK_DGRAM))
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		return ((const struct sockaddr_in *)sa)->sin_port ==
		    ((const struct sockaddr_in *)sb)->sin_port &&
		    ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)sb)->sin_addr.s_addr;
	case AF_INET6:
		return ((const struct sockaddr_in6 *)sa)->sin6_port ==
		    ((const struct sockaddr_in6 *)sb)->sin6_port &&
		    memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		    &((const struct sockaddr_in6 *)sb)->sin6_addr, sizeof(struct in6_addr)) == 0;
	case AF_UNIX:
		return strncmp(((const struct sockaddr_un *)sa)->sun_path,
		    ((const struct sockaddr_un *)sb)->sun_path,
		    sizeof(((const struct sockaddr_un *)sa)->sun_path)) == 0;
	}
	return 0;
}

/* "127.0.0.1:7", or "udp:127.0.0.1:7" for a datagram socket: as a bind line writes it. */
static char *
sd_addr_format(const struct addr *a, char *buf, size_t size)
{
	char abuf[ADDR_STRLEN];

	snprintf(buf, size, "%s%s", a->socktype == SOCK_DGRAM ? "udp:" : "",
	    addr_format((const struct sockaddr *)&a->ss, a->len, abuf, sizeof(abuf)));
	return buf;
}

#ifdef HAVE_SYSTEMD
/* Record inherited descriptor `fd`; 0 if it is neither a listening stream nor a datagram socket. */
static int
sd_sock_add(int fd, const char *name)
{
	struct sd_sock *s;
	int v6only = 1, type;
	socklen_t len = sizeof(v6only);

	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0)
		type = SOCK_STREAM;
	else if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0)
		type = SOCK_DGRAM;	/* ListenDatagram= */
	else {
		log_warn(LOG_S_SERVER, "inherited fd=%d name=%s is neither a listening stream "
		    "socket nor a datagram socket: ignored", fd, name);
		return 0;
	}
	sd_socks = xreallocarray(sd_socks, sd_nsocks + 1, sizeof(*sd_socks));
	s = &sd_socks[sd_nsocks];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->used = -1;
	s->name = xstrdup(name);
	s->bound.len = sizeof(s->bound.ss);
	if (getsockname(fd, (struct sockaddr *)&s->bound.ss, &s->bound.len) == -1) {
		log_warn(LOG_S_SERVER, "inherited fd=%d name=%s: getsockname: %s: ignored", fd, name,
		    strerror(errno));
		free(s->name);
		return 0;
	}
	s->bound.socktype = type;
	if (s->bound.ss.ss_family == AF_INET6 &&
	    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0)
		s->dual_stack = !v6only;
	sd_nsocks++;
	return 1;
}
#endif

size_t
sd_listen_init(void)
{
#ifdef HAVE_SYSTEMD
	char **names = NULL, abuf[ADDR_STRLEN + 8];
	int n, i;

	/* Unset LISTEN_*: nothing started from here may believe they are its. */
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_warn(LOG_S_SERVER, "socket activation: %s", strerror(-n));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!sd_sock_add(SD_LISTEN_FDS_START + i, names != NULL && names[i] != NULL ?
		    names[i] : "unknown"))
			continue;
		log_info(LOG_S_SERVER, "inherited socket fd=%d name=%s addr=%s%s",
		    sd_socks[sd_nsocks - 1].fd, sd_socks[sd_nsocks - 1].name,
		    sd_addr_format(&sd_socks[sd_nsocks - 1].bound, abuf, sizeof(abuf)),
		    sd_socks[sd_nsocks - 1].dual_stack ? " dual_stack=yes" : "");
	}
	if (names != NULL) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
#endif
	return sd_nsocks;
}

size_t
sd_listen_count(void)
{
	return sd_nsocks;
}

/* Hand out a duplicate of s: non-blocking (libevent accepts in a loop, udp.c reads in one). */
static int
sd_sock_use(struct sd_sock *s, const char *name, int *dual_stack)
{
	char abuf[ADDR_STRLEN + 8];
	int fd, fl;

	fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3);
	if (fd == -1)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	s->used = fd;
	if (dual_stack != NULL)
		*dual_stack = s->dual_stack;
	log_info(LOG_S_SERVER, "listener=%s uses inherited socket name=%s addr=%s", name, s->name,
	    sd_addr_format(&s->bound, abuf, sizeof(abuf)));
	return fd;
}

int
sd_listen_take(const char *name, const struct addr *a, int *dual_stack)
{
	size_t i;

	if (dual_stack != NULL)
		*dual_stack = 0;
	for (i = 0; i < sd_nsocks; i++)
		if (sd_socks[i].used == -1 && sd_addr_equal(&sd_socks[i].bound, a))
			return sd_sock_use(&sd_socks[i], name, dual_stack);
	/* By name: a socket of the kind the bind line asks for (ListenDatagram= for udp:). */
	for (i = 0; i < sd_nsocks; i++)
		if (sd_socks[i].used == -1 &&
		    (sd_socks[i].bound.socktype == SOCK_DGRAM) == (a->socktype == SOCK_DGRAM) &&
		    strcmp(sd_socks[i].name, name) == 0)
			return sd_sock_use(&sd_socks[i], name, dual_stack);
	return -1;
}

int
sd_listen_is_inherited(int fd)
{
	size_t i;

	if (fd < 0)
		return 0;
	for (i = 0; i < sd_nsocks; i++)
		if (sd_socks[i].used == fd)
			return 1;
	return 0;
}

void
sd_listen_release(int fd)
{
	size_t i;

	if (fd < 0)
		return;
	for (i = 0; i < sd_nsocks; i++)
		if (sd_socks[i].used == fd)
			sd_socks[i].used = -1;
}

void
sd_listen_check_unused(void)
{
	char abuf[ADDR_STRLEN + 8];
	size_t i;

	for (i = 0; i < sd_nsocks; i++)
		if (sd_socks[i].used == -1)
			log_warn(LOG_S_SERVER, "inherited socket name=%s addr=%s matches no listener "
			    "(by FileDescriptorName= or address): not served", sd_socks[i].name,
			    sd_addr_format(&sd_socks[i].bound, abuf, sizeof(abuf)));
}
