/*
 * daemon.h: running as a classic Unix daemon, without a service manager:
 * detaching into the background, a pidfile that marks the live instance,
 * dropping root once the sockets are bound, and fitting the descriptor
 * limit to max_connections. Main thread; start-up only, except
 * daemon_raise_nofile (also on reload) and daemon_pidfile_remove (at exit).
 */
#ifndef ECHOD_DAEMON_H
#define ECHOD_DAEMON_H

#include <stdint.h>

/* The pidfile when echod detaches and [server] pidfile is not set. */
#define DAEMON_PIDFILE_DEFAULT	"/run/echod/echod.pid"
/* Descriptors kept for everything but connections: listeners, log, pool, stdio. */
#define DAEMON_NOFILE_RESERVE	64

/*
 * Detach: fork, new session, fork again. Returns 0 in the daemon. The
 * original process waits until the daemon calls daemon_ready() and exits 0,
 * or exits 1 if the daemon ends first, so a failed start-up still fails the
 * command that ran echod, with the error on its terminal. Returns -1 and
 * *err (malloc'd) if it cannot fork.
 */
int		 daemon_start(char **err);
/*
 * Start-up is complete: release the waiting parent, move to "/" and send
 * stdin, stdout and stderr to /dev/null. Does nothing when not detached.
 */
void		 daemon_ready(void);
int		 daemon_detached(void);

/*
 * Write our PID to `path` atomically (a complete file appears under its
 * name, never a partial one) and keep it locked while the process lives.
 * A pidfile locked by a live instance makes this fail; an unlocked one is
 * stale and replaced. Creates the directory if its parent exists. Returns
 * -1 and *err (malloc'd) on failure.
 */
int		 daemon_pidfile_create(const char *path, char **err);
/* At exit: remove the pidfile if it is still ours. */
void		 daemon_pidfile_remove(void);
/* The pidfile in use (absolute), or NULL. */
const char	*daemon_pidfile_path(void);

/*
 * Switch to `user` (its primary group and supplementary groups) and/or
 * `group`; NULL or "" leaves that part alone. Only root can switch; a
 * non-root process that already runs as them succeeds. Returns -1 and *err
 * (malloc'd) on failure; root can then not be regained.
 */
int		 daemon_drop_privileges(const char *user, const char *group, char **err);

/*
 * Descriptors echod needs (pure): one per client connection, [server]
 * max_connections, plus one per metrics connection, [metrics]
 * max_connections (0 with metrics off), plus DAEMON_NOFILE_RESERVE.
 */
uint64_t	 daemon_nofile_needed(uint64_t max_connections, uint64_t metrics_connections);
/*
 * Raise RLIMIT_NOFILE (soft, and hard if allowed) to fit that; logs a
 * warning when the limit stays below. Returns the soft limit now.
 */
uint64_t	 daemon_raise_nofile(uint64_t max_connections, uint64_t metrics_connections);

#endif
