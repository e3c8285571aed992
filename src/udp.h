/*
 * udp.h: UDP listeners (udp: binds): echo, discard, chargen, daytime and
 * time over UDP on the event loop, in batches (recvmmsg/sendmmsg), without
 * becoming a reflector. Loop thread only.
 *
 * A UDP listener is one [listener NAME] section whose binds are all udp:
 * specs: one datagram socket per address, the service's on_datagram
 * (service.h) for each request, and per listener a bounded send queue for
 * the replies a full socket does not take. It has no connections, so a
 * listener removed on reload closes at once. The API is listener.h's:
 * open (bind, or stage what a reload adds), start, merge (reload commit),
 * discard (reload abort), close. The struct is private to udp.c.
 *
 * Before a reply goes out (in this order, cheapest first; each drop is
 * counted per listener by reason and logged at most once a second per
 * reason): the sender's port (0, or 7, 9, 13, 19, 37: another such service
 * would answer back, forever), the sender's address (broadcast, multicast,
 * unspecified) and, on a wildcard bind, the address the request was sent
 * to (broadcast, multicast: every host would answer); the listener's
 * allow/deny lists; the amplification cap (reply packet at most
 * udp_max_amplification times the request packet, headers included); the
 * sender's reply budget (udp_reply_rate, udp_reply_bandwidth, a token bucket
 * per source in access.c's table). A reply on a wildcard bind leaves from the
 * address the request came to (IP_PKTINFO / IPV6_PKTINFO).
 */
#ifndef ECHOD_UDP_H
#define ECHOD_UDP_H

struct event_base;
struct listener_conf;
struct udp_listener;

/* Start-up: the counters, the SOURCES hook. The batch buffers come with the first listener. */
void			 udp_init(struct event_base *base);
void			 udp_destroy(void);	/* at exit, after udp_close_all */

/*
 * Bind the sockets of `lc` (not yet reading). With `cur` (the live UDP
 * listener of the same name, on reload) only the bind specs `cur` does not
 * already have are bound: the result is a staging listener for udp_merge().
 * Returns NULL and a malloc'd message in *err on failure, having closed
 * whatever it bound.
 */
struct udp_listener	*udp_open(const struct listener_conf *lc, struct udp_listener *cur,
			    char **err);
/* Put an opened listener into service (table + reading). */
void			 udp_start(struct udp_listener *l);
/*
 * Reload commit, cannot fail: close the sockets of `cur` whose spec is gone
 * from `lc`, adopt the sockets of `staged` (then freed), take the new
 * options (service, lists, cap, budget, queue bound).
 */
void			 udp_merge(struct udp_listener *cur, struct udp_listener *staged,
			    const struct listener_conf *lc);
/* Reload abort: close and free a staging listener. */
void			 udp_discard(struct udp_listener *staged);
/*
 * Close every live UDP listener for which keep(name, arg) is 0 (replies
 * still queued get one last try); returns how many.
 */
int			 udp_close_unless(int (*keep)(const char *name, void *arg), void *arg);
void			 udp_close_all(void);
struct udp_listener	*udp_find(const char *name);

#endif
