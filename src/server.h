/*
 * server.h: the process: owns the event_base, signal events, start-up
 * order, reload and graceful shutdown. Main thread. Nothing below calls up
 * into here: the modules that must reach the server (the admin console's
 * RELOAD and SHUTDOWN, the listeners' "a connection closed") take hooks
 * that server_run() installs.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <stdint.h>

struct config;

struct server_opts {
	const char *config_path;     /* resolved path (may not exist) */
	int         config_explicit; /* -c given: a missing file is an error */
	int         foreground;
	int         debug;
	int         log_level;       /* -1 = from config */
};

/* Run the daemon on `cf` (now owned by the server) until shutdown; returns the exit code. */
int                 server_run(const struct server_opts *opts, struct config *cf);

/*
 * Log the connections and jobs still pending (shutdown timeout, SHUTDOWN
 * now, exit): "pending at exit: conn=... listener=... state=...".
 */
void                server_report_pending(const char *when);

#endif
