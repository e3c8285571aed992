/*
 * listener.h: listening sockets and accept. Loop thread only.
 * A listener is one [listener NAME] section: one or more bound sockets, a
 * service, and limits. Listeners are reference-counted: each open
 * connection holds a reference (taken at accept, dropped by the close hook
 * listener.c installs in conn.c), so a listener removed on reload lives
 * until its last connection. The struct is private to listener.c.
 */
#ifndef ECHOD_LISTENER_H
#define ECHOD_LISTENER_H

#include <stdint.h>

struct event_base;
struct listener;
struct listener_conf;

/* Start-up: the retry timer, the conn.c close hook, the counters. */
void             listener_init(struct event_base *base);
void             listener_destroy(void);    /* at exit, after listener_close_all */
/*
 * Bind the sockets of `lc` (not yet accepting). With `cur` (the live
 * listener of the same name, on reload) only the bind specs `cur` does not
 * already have are bound: the result is a staging listener for
 * listener_merge(). Returns NULL and a malloc'd message in *err on failure,
 * having closed whatever it bound.
 */
struct listener *listener_open(const struct listener_conf *lc, struct listener *cur, char **err);
/* Put an opened listener into service (table + accepting). */
void             listener_start(struct listener *l);
/*
 * Reload commit, cannot fail: close the sockets of `cur` whose spec is gone
 * from `lc`, adopt the sockets of `staged` (then freed), take the new options.
 * Established connections are untouched.
 */
void             listener_merge(struct listener *cur, struct listener *staged,
                     const struct listener_conf *lc);
/* Reload abort: close and free a staging listener. */
void             listener_discard(struct listener *staged);
/* Close every live listener for which keep(name, arg) is 0; returns how many. */
int              listener_close_unless(int (*keep)(const char *name, void *arg), void *arg);
void             listener_close_all(void);
struct listener *listener_find(const char *name);

/* A connection ended (after conn.c's hook did the listener's part). */
typedef void (*listener_conn_closed_cb)(void);
void             listener_set_conn_closed_hook(listener_conn_closed_cb cb);
/* Re-evaluate pause/resume for every listener (limits changed). */
void             listener_check_limits(void);
void             listener_set_global_max(uint64_t max);

#endif
