/*
 * sd.h: running under systemd. Readiness, reload and stop notifications
 * and a one-line STATUS (sd_notify), the watchdog kept alive from the event
 * loop, and sockets passed by socket activation (LISTEN_FDS,
 * LISTEN_FDNAMES): listening stream sockets and datagram sockets. Main (loop) thread only.
 *
 * Built without libsystemd, or started without NOTIFY_SOCKET / LISTEN_FDS,
 * every notification does nothing and no socket is inherited.
 */
#ifndef ECHOD_SD_H
#define ECHOD_SD_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;

/* How often STATUS= is refreshed. */
#define SD_STATUS_INTERVAL_MS	5000

/*
 * Take the sockets systemd passed. Call once, first thing in main(): the
 * environment names the PID they were passed to, so before daemonizing.
 * Returns how many sockets were inherited.
 */
size_t		 sd_listen_init(void);
/*
 * A listening socket for address `a` of listener `name`: an inherited
 * socket of a->socktype (ListenStream= for TCP and unix, ListenDatagram=
 * for udp:) bound to exactly that address, else an unused one of that type
 * whose FileDescriptorName= is `name`. Returns a new descriptor (non-blocking,
 * close-on-exec) the caller owns and closes, or -1 when none matches. The
 * socket is in use until sd_listen_release(); *dual_stack is set when it is
 * an IPv6 socket that also accepts IPv4.
 */
int		 sd_listen_take(const char *name, const struct addr *a, int *dual_stack);
/* 1 if `fd` came from sd_listen_take() and is still in use. */
int		 sd_listen_is_inherited(int fd);
/* The caller is about to close `fd`: its socket may be taken again. */
void		 sd_listen_release(int fd);
/* After the listeners opened: log the inherited sockets nothing uses. */
void		 sd_listen_check_unused(void);
size_t		 sd_listen_count(void);

/*
 * Start the watchdog (WATCHDOG_USEC, WATCHDOG_PID) and STATUS timers on the
 * loop. WATCHDOG=1 goes out from the loop itself every half interval, so a
 * stalled loop gets the service restarted.
 */
void		 sd_start(struct event_base *base);
/* Free the timers and close the inherited sockets (at exit). */
void		 sd_stop(void);

void		 sd_notify_ready(void);		/* READY=1 + STATUS */
void		 sd_notify_reloading(void);	/* RELOADING=1 + MONOTONIC_USEC */
void		 sd_notify_stopping(void);	/* STOPPING=1 + STATUS */
/* 1 when notifications go somewhere (NOTIFY_SOCKET set, libsystemd built in). */
int		 sd_notify_enabled(void);
/* Watchdog interval in microseconds, 0 when not enabled for this process. */
uint64_t	 sd_watchdog_usec(void);

/* The STATUS= summary: connections, jobs, loop lag p99 (debug.c's monitor). Returns buf. */
char		*sd_status_line(char *buf, size_t size);

#endif
