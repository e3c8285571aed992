/*
 * listener.h: listening sockets and accept. Loop thread only.
 * A listener is one [listener NAME] section: one or more bound sockets, a
 * service, and limits. Listeners are reference-counted: connections hold a
 * reference so a listener removed on reload lives until its last connection.
 */
#ifndef ECHOD_LISTENER_H
#define ECHOD_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"

struct listener_conf;
struct service;

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
	struct listener_conf       *conf;     /* owned copy of the scalar options (no binds) */
	const struct service       *svc;
	struct listener_sock       *socks;
	size_t                      nsocks;
	int                         refs;
	int                         closed;   /* removed or shutting down */
	int                         paused;   /* accept disabled (limit or EMFILE); -1 unknown */
	uint64_t                    current;  /* live connections */
	uint64_t                    total;    /* accepted */
	uint64_t                    rejected;
	uint64_t                    rejected_fd_limit; /* of rejected: out of descriptors */
	void                       *tls;      /* struct tls_ctx *, tls.c */
	TAILQ_ENTRY(listener)       entry;
};

TAILQ_HEAD(listener_list, listener);

void                  listener_init(struct event_base *base);
/*
 * Bind the sockets of `lc` (not yet accepting). With `cur` (the live
 * listener of the same name, on reload) only the bind specs `cur` does not
 * already have are bound: the result is a staging listener for
 * listener_merge(). Returns NULL and a malloc'd message in *err on failure,
 * having closed whatever it bound.
 */
struct listener      *listener_open(const struct listener_conf *lc, struct listener *cur, char **err);
/* Put an opened listener into service (table + accepting). */
void                  listener_start(struct listener *l);
/*
 * Reload commit, cannot fail: close the sockets of `cur` whose spec is gone
 * from `lc`, adopt the sockets of `staged` (then freed), take the new options.
 * Established connections are untouched.
 */
void                  listener_merge(struct listener *cur, struct listener *staged,
                          const struct listener_conf *lc);
/* Reload abort: close and free a staging listener. */
void                  listener_discard(struct listener *staged);
/* Stop accepting, close sockets, leave the table, drop the table's reference. */
void                  listener_close(struct listener *l);
void                  listener_close_all(void);
void                  listener_destroy(void);    /* at exit, after listener_close_all */
void                  listener_ref(struct listener *l);
void                  listener_unref(struct listener *l);
struct listener_list *listener_all(void);
struct listener      *listener_find(const char *name);

/* A connection of `l` ended: resume accepting if limits allow. */
void                  listener_conn_closed(struct listener *l);
/* Re-evaluate pause/resume for every listener (limits changed). */
void                  listener_check_limits(void);
void                  listener_set_global_max(uint64_t max);
uint64_t              listener_rejected_total(void);

#endif
