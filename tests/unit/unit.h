/*
 * unit.h: what the Check suites share: an event base built as the daemon
 * builds it, turning its loop a bounded number of times or for a bounded
 * time, a connection on one end of a socketpair, and the runner every
 * suite's main() calls. Linked into every suite; runs in the forked test
 * process, on its (loop) thread.
 */
#ifndef ECHOD_UNIT_H
#define ECHOD_UNIT_H

#include <stdint.h>

struct conn;
struct conn_params;
struct event;
struct event_base;
struct Suite;

/* loop_base_new(), or the test fails. */
struct event_base *unit_base_new(void);
/* A test process set up as the daemon's loop thread is: SIGPIPE ignored (a
 * write to a closed peer is an error, not a signal), logging initialised at
 * log_level, and unit_base_new(). */
struct event_base *unit_loop_setup(int log_level);
/* A persistent 10 ms timer: EVLOOP_ONCE then never blocks longer when nothing
 * else is pending. Free with event_free(). */
struct event      *unit_tick_new(struct event_base *base);

/* `rounds` non-blocking turns of the loop. */
void	unit_spin(struct event_base *base, int rounds);
/* Run the loop for `ms` milliseconds (bounded even with nothing else pending). */
void	unit_run_for(struct event_base *base, uint64_t ms);
/* Turn the loop until *count reaches n or `ms` passed; returns *count. */
int	unit_run_until(struct event_base *base, const int *count, int n, uint64_t ms);

/*
 * A connection with params p on one end of a non-blocking unix socketpair,
 * from an unnamed unix peer (what accept reports for one); *peer is the other
 * end. Not started: the caller runs conn_start() or a TLS accept.
 */
struct conn *unit_conn_pair(const struct conn_params *p, int *peer);
/* unit_conn_pair() with the echo service and listener name `owner`. */
struct conn *unit_echo_pair(const char *owner, int *peer);

/* A suite's main(): runs it in fork mode (each test in its own process, so
 * a crash fails that test only); EXIT_SUCCESS if every test passed. */
int	unit_main(struct Suite *s);

#endif
