/*
 * server.h: the process: owns the event_base, signal events, start-up
 * order, reload and graceful shutdown. Main thread.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <stdint.h>
#include <event2/event.h>

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

/* Valid while the server runs (loop thread). */
struct event_base  *server_base(void);
const struct config *server_config(void);
uint64_t            server_start_ms(void);

/* Request a reload / shutdown from the loop thread (signals, admin). */
void                server_reload(void);
void                server_shutdown(int graceful);
/* conn.c tells the server a connection ended (shutdown completes at zero). */
void                server_conn_closed(void);

#endif
