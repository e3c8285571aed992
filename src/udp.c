/*
 * udp.c: UDP listeners (udp.h). Loop thread.
 *
 * One readable event per socket reads datagrams in batches of UDP_BATCH
 * with recvmmsg() into buffers shared by every UDP socket (the loop runs
 * one callback at a time, and a batch is answered before the callback
 * returns), checks each request, asks the service for its reply and sends
 * the replies of the batch with one sendmmsg(). echo's reply is the
 * request's own buffer: nothing is copied on the way through.
 *
 * A reply the socket does not take (EAGAIN) is copied into the socket's
 * send queue, and a writable event sends the queue when the socket drains.
 * While a socket has a queue, new replies go behind it. The queues of a
 * listener hold at most udp_send_queue bytes (entry headers included);
 * a reply that does not fit is dropped and counted. Nothing here ever
 * blocks or grows without bound: reading goes on, and what cannot be sent
 * is dropped with a reason.
 *
 * Each readable event reads at most UDP_BATCHES_PER_EVENT batches, so one
 * busy socket cannot keep the loop from everything else; the event is
 * level-triggered and fires again.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "access.h"
#include "acl.h"
#include "addr.h"
#include "config.h"
#include "debug.h"
#include "log.h"
#include "loop.h"
#include "sd.h"
#include "service.h"
#include "source.h"
#include "stats.h"
#include "udp.h"
#include "util.h"

#define UDP_BATCH		32
#define UDP_BATCHES_PER_EVENT	8
/* Above the largest UDP payload (65527 bytes over IPv6): a datagram is never cut. */
#define UDP_BUFSIZE		65536
/* IP and UDP headers: what a request and its reply cost on the wire besides the payload. */
#define UDP_HDR_V4		28
#define UDP_HDR_V6		48
#define UDP_CMSG_SPACE		CMSG_SPACE(sizeof(struct in6_pktinfo))

/* Why a datagram got no reply (the label of udp_datagrams_dropped_total). */
enum udp_reason {
	UDP_R_PORT_ZERO = 0,	/* from port 0 */
	UDP_R_LOOP_PORT,	/* from 7, 9, 13, 19 or 37: another service would answer back */
	UDP_R_SOURCE,		/* from a broadcast, multicast or unspecified address */
	UDP_R_DEST,		/* sent to a broadcast or multicast address */
	UDP_R_DENY,		/* deny list */
	UDP_R_NOT_ALLOWED,	/* allow entries, none matched */
	UDP_R_AMPLIFICATION,	/* the reply would exceed the cap and cannot be cut */
	UDP_R_BUDGET,		/* the source's reply budget is spent */
	UDP_R_UNTRACKED,	/* the source table is full: no budget to hold the source to */
	UDP_R_QUEUE_FULL,	/* the socket was full and so was the send queue */
	UDP_R_SEND_ERROR,	/* sendmmsg refused the reply (unreachable, EACCES, ...) */
	UDP_R_CLOSED,		/* still queued when the socket closed (reload, shutdown) */
	UDP_R_RECV_QUEUE,	/* the kernel's receive queue was full (read from SO_MEMINFO) */
	UDP_R_COUNT
};

static const char *const udp_reason_names[UDP_R_COUNT] = {
	[UDP_R_PORT_ZERO] = "port_zero",
	[UDP_R_LOOP_PORT] = "loop_port",
	[UDP_R_SOURCE] = "source_not_unicast",
	[UDP_R_DEST] = "dest_not_unicast",
	[UDP_R_DENY] = "deny_list",
	[UDP_R_NOT_ALLOWED] = "not_allowed",
	[UDP_R_AMPLIFICATION] = "amplification",
	[UDP_R_BUDGET] = "budget",
	[UDP_R_UNTRACKED] = "source_table_full",
	[UDP_R_QUEUE_FULL] = "queue_full",
	[UDP_R_SEND_ERROR] = "send_error",
	[UDP_R_CLOSED] = "closed",
	[UDP_R_RECV_QUEUE] = "receive_queue",
};

/*
 * A control message buffer, aligned for struct cmsghdr (not a member of it:
 * its flexible array would make this a variable-sized type, which may not
 * sit inside struct udp_out).
 */
union udp_cmsg {
	char		buf[UDP_CMSG_SPACE];
	_Alignas(struct cmsghdr) char	align;
};

/* What a running listener needs of its [listener] section. */
struct udp_conf {
	const struct service	*svc;
	void			*svc_conf;	/* owned copy (plain data, service.h) */
	const struct acl	*acl;		/* the config's; a merge brings the new one */
	uint64_t		 amplification;
	struct source_budget	 budget;
	unsigned		 prefix_v4;
	unsigned		 prefix_v6;
	uint64_t		 queue_max;	/* bytes, over all the listener's sockets */
};

/* A reply waiting for its socket to drain. */
struct udp_out {
	struct udp_out		*next;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	union udp_cmsg		 cmsg;		/* the source address to send from */
	size_t			 cmsglen;
	size_t			 len;
	char			 data[];
};

struct udp_sock {
	struct udp_listener	*owner;
	char			*spec;		/* bind spec it came from */
	int			 index;		/* which address of the spec ("*" has two) */
	int			 fd;
	struct addr		 bound;		/* actual address (port 0 resolved) */
	int			 pktinfo;	/* wildcard bind: each request's address is read */
	int			 inherited;	/* socket activation (the fd is a duplicate) */
	int			 dual_stack;	/* inherited IPv6 socket that takes IPv4 too */
	struct event		*rev;
	struct event		*wev;		/* pending while the queue is not empty */
	struct udp_out		*qhead;
	struct udp_out		**qtail;
};

struct udp_listener {
	char			*name;
	unsigned		 scope;		/* in the per-source table */
	struct udp_conf		 conf;
	struct udp_sock		**socks;
	size_t			 nsocks;
	int			 live;		/* in the table, reading */
	uint64_t		 queued;	/* bytes in its sockets' queues */
	uint64_t		 in, in_bytes, out, out_bytes, shortened;
	uint64_t		 dropped[UDP_R_COUNT];
	uint64_t		 kernel_drops_closed;	/* of its sockets closed so far */
	TAILQ_ENTRY(udp_listener) entry;
};
TAILQ_HEAD(udp_list, udp_listener);

/* The batch: one set for every UDP socket (one callback runs at a time). */
struct udp_batch {
	struct mmsghdr		 in[UDP_BATCH];
	struct iovec		 iniov[UDP_BATCH];
	struct sockaddr_storage	 peer[UDP_BATCH];
	union udp_cmsg		 incmsg[UDP_BATCH];
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 outiov[UDP_BATCH];
	union udp_cmsg		 outcmsg[UDP_BATCH];
	char			 scratch[UDP_BATCH][SERVICE_DGRAM_SCRATCH];
	char			*buf;		/* UDP_BATCH buffers of UDP_BUFSIZE */
	unsigned		 dirty;		/* receive headers the last recvmmsg wrote */
	int			 pktinfo;	/* what their control buffers are set for; -1 */
};

/* The drop log: one line per reason per second, the rest counted. */
struct udp_droplog {
	uint64_t	 second;
	uint64_t	 suppressed;
};

static struct event_base	*udp_base;
static struct udp_list		 udp_live = TAILQ_HEAD_INITIALIZER(udp_live);
static struct udp_batch		*udp_b;
static struct udp_droplog	 udp_droplog[UDP_R_COUNT];
static uint64_t			 udp_now_ms;	/* the clock of the batch being answered */
static uint64_t			 udp_recv_error_second;

static void	udp_read_cb(evutil_socket_t, short, void *);
static void	udp_write_cb(evutil_socket_t, short, void *);
static void	udp_register_stats(void);
static void	udp_unregister_stats(void);
static const char *udp_scope_name(unsigned scope);

/* ---------------------------------------------------------------- setup */

void
udp_init(struct event_base *base)
{
	udp_base = base;
	access_add_scope_names(udp_scope_name);
	udp_register_stats();
}

void
udp_destroy(void)
{
	udp_unregister_stats();
	if (udp_b != NULL) {
		free(udp_b->buf);
		free(udp_b);
	}
	udp_b = NULL;
	memset(udp_droplog, 0, sizeof(udp_droplog));
}

/*
 * The batch buffers: 2 MiB of address space, touched only as far as
 * datagrams reach. The receive headers point at their buffers for good;
 * udp_recv() resets only what the kernel writes back.
 */
static void
udp_batch_alloc(void)
{
	struct msghdr *mh;
	unsigned i;

	if (udp_b != NULL)
		return;
	udp_b = xcalloc(1, sizeof(*udp_b));
	udp_b->buf = xmalloc((size_t)UDP_BATCH * UDP_BUFSIZE);
	udp_b->pktinfo = -1;
	for (i = 0; i < UDP_BATCH; i++) {
		mh = &udp_b->in[i].msg_hdr;
		udp_b->iniov[i].iov_base = udp_b->buf + (size_t)i * UDP_BUFSIZE;
		udp_b->iniov[i].iov_len = UDP_BUFSIZE;
		mh->msg_name = &udp_b->peer[i];
		mh->msg_iov = &udp_b->iniov[i];
		mh->msg_iovlen = 1;
	}
}

/* SOURCES shows the listener a source belongs to. */
static const char *
udp_scope_name(unsigned scope)
{
	struct udp_listener *l;

	TAILQ_FOREACH(l, &udp_live, entry)
		if (l->scope == scope)
			return l->name;
	return NULL;
}

struct udp_listener *
udp_find(const char *name)
{
	struct udp_listener *l;

	TAILQ_FOREACH(l, &udp_live, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

/* Take the options of `lc`; the reply byte bucket holds at least one largest datagram. */
static void
udp_conf_set(struct udp_conf *c, const struct listener_conf *lc)
{
	free(c->svc_conf);
	memset(c, 0, sizeof(*c));
	c->svc = service_find(lc->service);
	if (lc->svc_conf != NULL && lc->svc_conf_size > 0) {
		c->svc_conf = xmalloc(lc->svc_conf_size);
		memcpy(c->svc_conf, lc->svc_conf, lc->svc_conf_size);
	}
	c->acl = lc->acl;
	c->amplification = lc->udp_max_amplification;
	c->budget.pkt_rate = lc->udp_reply_rate;
	c->budget.pkt_burst = lc->udp_reply_rate;
	c->budget.byte_rate = lc->udp_reply_bandwidth;
	c->budget.byte_burst = lc->udp_reply_bandwidth > UDP_BUFSIZE ? lc->udp_reply_bandwidth :
	    UDP_BUFSIZE;
	c->prefix_v4 = (unsigned)lc->source_prefix_v4;
	c->prefix_v6 = (unsigned)lc->source_prefix_v6;
	c->queue_max = lc->udp_send_queue;
}

/* ---------------------------------------------------------------- drops */

static void
udp_drop(struct udp_listener *l, enum udp_reason why, const struct sockaddr *peer,
    socklen_t peerlen, const char *detail)
{
	struct udp_droplog *st = &udp_droplog[why];
	uint64_t second = udp_now_ms / 1000;
	char abuf[ADDR_STRLEN];

	l->dropped[why]++;
	if (st->second == second && st->second != 0) {
		st->suppressed++;
		return;
	}
	log_info(LOG_S_CONN, "udp dropped listener=%s peer=%s reason=%s%s%s suppressed=%" PRIu64,
	    l->name, peer != NULL ? addr_format(peer, peerlen, abuf, sizeof(abuf)) : "-",
	    udp_reason_names[why], detail != NULL ? " " : "", detail != NULL ? detail : "",
	    st->suppressed);
	st->second = second;
	st->suppressed = 0;
}

/* A drop by the access lists names the deciding entry, as TCP refusals do. */
static void
udp_drop_rule(struct udp_listener *l, enum udp_reason why, const struct sockaddr *peer,
    socklen_t peerlen, const char *rule)
{
	char detail[ACL_RULELEN + 8];

	if ((why != UDP_R_DENY && why != UDP_R_NOT_ALLOWED) || rule[0] == '\0') {
		udp_drop(l, why, peer, peerlen, NULL);
		return;
	}
	snprintf(detail, sizeof(detail), "rule=%s", rule);
	udp_drop(l, why, peer, peerlen, detail);
}

/* ---------------------------------------------------------------- send queue */

static size_t
udp_out_size(const struct udp_out *o)
{
	return sizeof(*o) + o->len;
}

/* Copy a reply into the socket's queue; -1 (nothing queued) when the listener's bound is reached. */
static int
udp_enqueue(struct udp_sock *s, const struct msghdr *mh)
{
	struct udp_listener *l = s->owner;
	size_t len = mh->msg_iov[0].iov_len;
	struct udp_out *o;

	if (l->queued + sizeof(*o) + len > l->conf.queue_max)
		return -1;
	o = xmalloc(sizeof(*o) + len);
	o->next = NULL;
	memcpy(&o->peer, mh->msg_name, mh->msg_namelen);
	o->peerlen = mh->msg_namelen;
	o->cmsglen = mh->msg_controllen;
	if (o->cmsglen > 0)
		memcpy(o->cmsg.buf, mh->msg_control, o->cmsglen);
	o->len = len;
	memcpy(o->data, mh->msg_iov[0].iov_base, len);
	if (s->qhead == NULL)
		event_add(s->wev, NULL);
	*s->qtail = o;
	s->qtail = &o->next;
	l->queued += udp_out_size(o);
	return 0;
}

static void
udp_dequeue(struct udp_sock *s)
{
	struct udp_out *o = s->qhead;

	s->qhead = o->next;
	if (s->qhead == NULL)
		s->qtail = &s->qhead;
	s->owner->queued -= udp_out_size(o);
	free(o);
}

/* Queue what the socket did not take, or drop it when the queue is full. */
static void
udp_enqueue_rest(struct udp_sock *s, struct mmsghdr *out, unsigned from, unsigned n)
{
	const struct msghdr *mh;
	unsigned j;

	for (j = from; j < n; j++) {
		mh = &out[j].msg_hdr;
		if (udp_enqueue(s, mh) == -1)
			udp_drop(s->owner, UDP_R_QUEUE_FULL, mh->msg_name, mh->msg_namelen, NULL);
	}
}

/*
 * sendmmsg `n` replies from out[]. With `queue_rest`, what the socket does
 * not take goes to the queue; otherwise (sending the queue itself) the
 * caller keeps it. Returns how many went, a reply refused for good
 * counting as gone; stops at EAGAIN.
 */
static unsigned
udp_send(struct udp_sock *s, struct mmsghdr *out, unsigned n, int queue_rest, int *again)
{
	struct udp_listener *l = s->owner;
	const struct msghdr *mh;
	char detail[96];
	unsigned off = 0, j;
	int r;

	*again = 0;
	while (off < n) {
		r = sendmmsg(s->fd, out + off, n - off, MSG_DONTWAIT);
		if (r > 0) {
			for (j = off; j < off + (unsigned)r; j++) {
				l->out++;
				l->out_bytes += out[j].msg_len;
			}
			off += (unsigned)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*again = 1;
			if (queue_rest)
				udp_enqueue_rest(s, out, off, n);
			break;
		}
		/* This reply cannot go (no route, EACCES for a broadcast, ...): drop it, go on. */
		mh = &out[off].msg_hdr;
		snprintf(detail, sizeof(detail), "error=\"%s\"", strerror(r == -1 ? errno : EIO));
		udp_drop(l, UDP_R_SEND_ERROR, mh->msg_name, mh->msg_namelen, detail);
		off++;
	}
	return off;
}

/* Send the queue, a batch at a time, until it is empty or the socket is full. */
static void
udp_flush(struct udp_sock *s)
{
	struct mmsghdr *out = udp_b->out;
	struct iovec *iov = udp_b->outiov;
	struct udp_out *o;
	unsigned n, sent, j;
	int again = 0;

	while (s->qhead != NULL && !again) {
		for (n = 0, o = s->qhead; o != NULL && n < UDP_BATCH; o = o->next, n++) {
			memset(&out[n], 0, sizeof(out[n]));
			iov[n].iov_base = o->data;
			iov[n].iov_len = o->len;
			out[n].msg_hdr.msg_name = &o->peer;
			out[n].msg_hdr.msg_namelen = o->peerlen;
			out[n].msg_hdr.msg_iov = &iov[n];
			out[n].msg_hdr.msg_iovlen = 1;
			out[n].msg_hdr.msg_control = o->cmsglen > 0 ? o->cmsg.buf : NULL;
			out[n].msg_hdr.msg_controllen = o->cmsglen;
		}
		sent = udp_send(s, out, n, 0, &again);
		for (j = 0; j < sent; j++)
			udp_dequeue(s);
	}
	if (s->qhead == NULL)
		event_del(s->wev);
}

/* ---------------------------------------------------------------- requests */

static int
udp_is_loop_port(int port)
{
	return port == 7 || port == 9 || port == 13 || port == 19 || port == 37;
}

/* The IP and UDP header bytes of a datagram from `sa` (IPv4-mapped peers are IPv4). */
static size_t
udp_header_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr))
		return UDP_HDR_V6;
	return UDP_HDR_V4;
}

/* The longest reply payload: reply packet <= amplification x request packet. */
static size_t
udp_cap(const struct udp_listener *l, const struct sockaddr *peer, size_t len)
{
	uint64_t h = udp_header_len(peer), cap;

	cap = l->conf.amplification * ((uint64_t)len + h) - h;
	return cap > UDP_BUFSIZE ? UDP_BUFSIZE : (size_t)cap;
}

/*
 * A wildcard bind: the address the request was sent to (drop it if that was
 * broadcast or multicast), and the control message that sends the reply
 * from there into *reply. UDP_R_COUNT (go on) or UDP_R_DEST; *replylen 0
 * when there is none.
 */
static enum udp_reason
udp_dest(const struct msghdr *mh, union udp_cmsg *reply, size_t *replylen)
{
	struct cmsghdr *c, *rc = (struct cmsghdr *)(void *)reply->buf;
	struct in_pktinfo pi4, r4;
	struct in6_pktinfo pi6, r6;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	*replylen = 0;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi4, CMSG_DATA(c), sizeof(pi4));
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr = pi4.ipi_addr;
			/*
			 * The kernel sets ipi_spec_dst to the header's destination for a
			 * local unicast address, and to an interface address for a
			 * broadcast (directed ones included) or multicast.
			 */
			if (!addr_is_unicast((struct sockaddr *)&sin) ||
			    pi4.ipi_addr.s_addr != pi4.ipi_spec_dst.s_addr)
				return UDP_R_DEST;
			memset(&r4, 0, sizeof(r4));
			r4.ipi_spec_dst = pi4.ipi_addr;
			rc->cmsg_level = IPPROTO_IP;
			rc->cmsg_type = IP_PKTINFO;
			rc->cmsg_len = CMSG_LEN(sizeof(r4));
			memcpy(CMSG_DATA(rc), &r4, sizeof(r4));
			*replylen = CMSG_SPACE(sizeof(r4));
			return UDP_R_COUNT;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_addr = pi6.ipi6_addr;
			if (!addr_is_unicast((struct sockaddr *)&sin6))
				return UDP_R_DEST;
			/* The interface too: a link-local address means nothing without it. */
			r6 = pi6;
			rc->cmsg_level = IPPROTO_IPV6;
			rc->cmsg_type = IPV6_PKTINFO;
			rc->cmsg_len = CMSG_LEN(sizeof(r6));
			memcpy(CMSG_DATA(rc), &r6, sizeof(r6));
			*replylen = CMSG_SPACE(sizeof(r6));
			return UDP_R_COUNT;
		}
	}
	return UDP_R_COUNT;
}

/* The checks on the request alone: UDP_R_COUNT when it may be answered. */
static enum udp_reason
udp_check(const struct udp_listener *l, const struct sockaddr *peer, char *rule, size_t rulesize)
{
	int port = addr_port(peer);

	if (port == 0)
		return UDP_R_PORT_ZERO;
	if (udp_is_loop_port(port))
		return UDP_R_LOOP_PORT;
	if (!addr_is_unicast(peer))
		return UDP_R_SOURCE;
	if (l->conf.acl != NULL) {
		switch (acl_check(l->conf.acl, peer, rule, rulesize)) {
		case ACL_DENIED:
			return UDP_R_DENY;
		case ACL_NOT_ALLOWED:
			return UDP_R_NOT_ALLOWED;
		default:
			break;
		}
	}
	return UDP_R_COUNT;
}

/* The reply budget of the request's source, when the listener has one. */
static enum udp_reason
udp_budget(const struct udp_listener *l, const struct sockaddr *peer, size_t rlen)
{
	const struct udp_conf *c = &l->conf;

	if (c->budget.pkt_rate == 0 && c->budget.byte_rate == 0)
		return UDP_R_COUNT;
	switch (access_udp_budget(l->scope, peer, c->prefix_v4, c->prefix_v6, &c->budget, rlen,
	    udp_now_ms)) {
	case ACCESS_BUDGET_SPENT:
		return UDP_R_BUDGET;
	case ACCESS_BUDGET_UNTRACKED:
		return UDP_R_UNTRACKED;
	default:
		return UDP_R_COUNT;
	}
}

/*
 * Request i of the batch: its reply into out[*k] (or the queue), or a drop.
 * The reply may point into the request's buffer (echo) or into scratch[*k].
 */
static void
udp_answer(struct udp_sock *s, unsigned i, unsigned *k, time_t now)
{
	struct udp_listener *l = s->owner;
	struct udp_batch *b = udp_b;
	struct msghdr *in = &b->in[i].msg_hdr, *mh;
	const struct sockaddr *peer = in->msg_name;
	struct service_dgram rq;
	enum service_dgram_result res;
	enum udp_reason why;
	const char *reply;
	char rule[ACL_RULELEN];
	size_t rlen, cmsglen = 0;

	rule[0] = '\0';
	if ((why = udp_check(l, peer, rule, sizeof(rule))) == UDP_R_COUNT && s->pktinfo)
		why = udp_dest(in, &b->outcmsg[*k], &cmsglen);
	if (why != UDP_R_COUNT) {
		udp_drop_rule(l, why, peer, in->msg_namelen, rule);
		return;
	}
	rq.data = in->msg_iov[0].iov_base;
	rq.len = b->in[i].msg_len;
	rq.cap = udp_cap(l, peer, rq.len);
	rq.now = now;
	rq.conf = l->conf.svc_conf;
	rq.out = b->scratch[*k];
	switch ((res = l->conf.svc->on_datagram(&rq, &reply, &rlen))) {
	case SERVICE_DG_NONE:
		return;
	case SERVICE_DG_OVER_CAP:
		udp_drop(l, UDP_R_AMPLIFICATION, peer, in->msg_namelen, NULL);
		return;
	case SERVICE_DG_SHORTENED:
		l->shortened++;
		break;
	default:
		break;
	}
	if ((why = udp_budget(l, peer, rlen)) != UDP_R_COUNT) {
		udp_drop(l, why, peer, in->msg_namelen, NULL);
		return;
	}
	mh = &b->out[*k].msg_hdr;
	memset(&b->out[*k], 0, sizeof(b->out[*k]));
	b->outiov[*k].iov_base = (void *)reply;
	b->outiov[*k].iov_len = rlen;
	mh->msg_name = in->msg_name;
	mh->msg_namelen = in->msg_namelen;
	mh->msg_iov = &b->outiov[*k];
	mh->msg_iovlen = 1;
	mh->msg_control = cmsglen > 0 ? b->outcmsg[*k].buf : NULL;
	mh->msg_controllen = cmsglen;
	/* Behind a queue: in order, or dropped when the queue is full. */
	if (s->qhead != NULL) {
		if (udp_enqueue(s, mh) == -1)
			udp_drop(l, UDP_R_QUEUE_FULL, peer, in->msg_namelen, NULL);
		return;
	}
	(*k)++;
}

/* One recvmmsg: how many datagrams (0: none, or an error that was logged). */
static unsigned
udp_recv(struct udp_sock *s)
{
	struct udp_batch *b = udp_b;
	struct msghdr *mh;
	unsigned i;
	int n, err;

	/* The kernel wrote the name and control lengths of the headers it filled. */
	if (b->pktinfo != s->pktinfo) {
		b->pktinfo = s->pktinfo;
		b->dirty = UDP_BATCH;
	}
	for (i = 0; i < b->dirty; i++) {
		mh = &b->in[i].msg_hdr;
		mh->msg_namelen = sizeof(b->peer[i]);
		mh->msg_control = s->pktinfo ? b->incmsg[i].buf : NULL;
		mh->msg_controllen = s->pktinfo ? sizeof(b->incmsg[i].buf) : 0;
	}
	do
		n = recvmmsg(s->fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	b->dirty = n > 0 ? (unsigned)n : 0;
	if (n == -1) {
		/* At most a line a second: the event fires again while the error lasts. */
		err = errno;
		if (err != EAGAIN && err != EWOULDBLOCK &&
		    util_now_ms() / 1000 != udp_recv_error_second) {
			udp_recv_error_second = util_now_ms() / 1000;
			log_warn(LOG_S_SERVER, "listener=%s udp receive error=\"%s\"", s->owner->name,
			    strerror(err));
		}
		return 0;
	}
	return (unsigned)n;
}

static void
udp_read_body(struct udp_sock *s)
{
	struct udp_listener *l = s->owner;
	unsigned n, i, k, round;
	time_t now;
	int again;

	udp_batch_alloc();
	for (round = 0; round < UDP_BATCHES_PER_EVENT; round++) {
		if ((n = udp_recv(s)) == 0)
			break;
		now = time(NULL);
		udp_now_ms = util_now_ms();
		for (i = 0, k = 0; i < n; i++) {
			l->in++;
			l->in_bytes += udp_b->in[i].msg_len;
			udp_answer(s, i, &k, now);
		}
		if (k > 0)
			(void)udp_send(s, udp_b->out, k, 1, &again);
		if (n < UDP_BATCH)
			break;
	}
}

/* For loop.h's LOOP_CB: the listener in a slow-callback report. */
static void
udp_describe(const void *arg, struct debug_where *w)
{
	const struct udp_sock *s = arg;

	snprintf(w->listener, sizeof(w->listener), "%s", s->owner->name);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *s = arg;

	LOOP_CB("udp_read_cb", udp_describe, s, udp_read_body(s));
}

static void
udp_write_body(struct udp_sock *s)
{
	udp_batch_alloc();
	udp_now_ms = util_now_ms();
	udp_flush(s);
}

static void
udp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *s = arg;

	LOOP_CB("udp_write_cb", udp_describe, s, udp_write_body(s));
}

/* ---------------------------------------------------------------- sockets */

/* Datagrams the kernel dropped because the socket's receive queue was full. */
static uint64_t
udp_kernel_drops(const struct udp_sock *s)
{
#ifdef SO_MEMINFO
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	memset(mem, 0, sizeof(mem));
	if (s->fd != -1 && getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(mem[0]))
		return mem[SK_MEMINFO_DROPS];
#endif
	return 0;
}

/* The last replies of a closing socket get one try; what is left is dropped. */
static void
udp_sock_close(struct udp_sock *s)
{
	struct udp_listener *l = s->owner;

	if (s->qhead != NULL) {
		udp_batch_alloc();
		udp_now_ms = util_now_ms();
		udp_flush(s);
	}
	while (s->qhead != NULL) {
		l->dropped[UDP_R_CLOSED]++;
		udp_dequeue(s);
	}
	l->kernel_drops_closed += udp_kernel_drops(s);
	if (s->rev != NULL)
		event_free(s->rev);
	if (s->wev != NULL)
		event_free(s->wev);
	/* An inherited socket (a duplicate) may be taken again by a later reload. */
	sd_listen_release(s->fd);
	if (s->fd != -1)
		close(s->fd);
	free(s->spec);
	free(s);
}

static int
udp_is_wildcard(const struct addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/*
 * Wrap a bound datagram socket; events created, not added. A wildcard bind
 * asks for each request's destination address. Closes fd on failure.
 */
static int
udp_sock_add(struct udp_listener *l, const char *spec, int index, int fd, int inherited,
    int dual_stack, char **err)
{
	struct udp_sock *s = xcalloc(1, sizeof(*s));
	int one = 1, rc = 0;

	s->owner = l;
	s->spec = xstrdup(spec);
	s->index = index;
	s->fd = fd;
	s->inherited = inherited;
	s->dual_stack = dual_stack;
	s->qtail = &s->qhead;
	s->bound.len = sizeof(s->bound.ss);
	s->bound.socktype = SOCK_DGRAM;
	if (getsockname(fd, (struct sockaddr *)&s->bound.ss, &s->bound.len) == -1) {
		xasprintf(err, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if ((s->pktinfo = udp_is_wildcard(&s->bound))) {
		if (s->bound.ss.ss_family == AF_INET)
			rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc == -1) {
			xasprintf(err, "setsockopt (packet info) on %s: %s", spec, strerror(errno));
			goto fail;
		}
	}
	s->rev = event_new(udp_base, fd, EV_READ | EV_PERSIST, udp_read_cb, s);
	s->wev = event_new(udp_base, fd, EV_WRITE | EV_PERSIST, udp_write_cb, s);
	if (s->rev == NULL || s->wev == NULL) {
		xasprintf(err, "event_new failed for %s", spec);
		goto fail;
	}
	l->socks = xreallocarray(l->socks, l->nsocks + 1, sizeof(*l->socks));
	l->socks[l->nsocks++] = s;
	return 0;
fail:
	if (inherited)
		sd_listen_release(fd);
	close(fd);
	s->fd = -1;
	if (s->rev != NULL)
		event_free(s->rev);
	if (s->wev != NULL)
		event_free(s->wev);
	free(s->spec);
	free(s);
	return -1;
}

/* socket + options + bind; returns the fd or -1 with *err. No SO_REUSEADDR: see below. */
static int
udp_bind(const struct addr *a, const struct listener_conf *lc, char **err)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char abuf[ADDR_STRLEN];
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(err, "cannot create socket for udp:%s: %s",
		    addr_format(sa, a->len, abuf, sizeof(abuf)), strerror(errno));
		return -1;
	}
	/*
	 * SO_REUSEADDR on UDP would let a second process bind the same address
	 * and take the datagrams meant for this one; reuse_port is the explicit
	 * way to share a port.
	 */
	if ((lc->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) ||
	    (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)) {
		xasprintf(err, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, sa, a->len) == -1) {
		xasprintf(err, "cannot bind udp:%s: %s", addr_format(sa, a->len, abuf, sizeof(abuf)),
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
udp_has_sock(const struct udp_listener *l, const char *spec, int index)
{
	size_t i;

	for (i = 0; l != NULL && i < l->nsocks; i++)
		if (l->socks[i]->index == index && strcmp(l->socks[i]->spec, spec) == 0)
			return 1;
	return 0;
}

/* An inherited IPv6 socket that also takes IPv4 serves a whole "udp:*:PORT" spec. */
static int
udp_spec_dual_stack(const struct udp_listener *l, const char *spec)
{
	size_t i;

	for (i = 0; l != NULL && i < l->nsocks; i++)
		if (l->socks[i]->dual_stack && strcmp(l->socks[i]->spec, spec) == 0)
			return 1;
	return 0;
}

/* Socket activation: the addresses of `b` systemd passed a datagram socket for. */
static int
udp_take_spec(struct udp_listener *l, const struct bind_conf *b, struct udp_listener *cur,
    char **err)
{
	int i, fd, dual;

	for (i = 0; i < b->naddrs && sd_listen_count() > 0; i++) {
		if (udp_has_sock(cur, b->spec, i))
			continue;
		if ((fd = sd_listen_take(l->name, &b->addrs[i], &dual)) == -1)
			continue;
		if (udp_sock_add(l, b->spec, i, fd, 1, dual, err) == -1)
			return -1;
	}
	return 0;
}

/* Bind one spec's addresses; "udp:*:0" puts IPv6 on the port IPv4 was given. */
static int
udp_open_spec(struct udp_listener *l, const struct bind_conf *b, const struct listener_conf *lc,
    struct udp_listener *cur, char **err)
{
	struct addr a;
	int i, fd, port = -1;

	if (udp_take_spec(l, b, cur, err) == -1)
		return -1;
	if (udp_spec_dual_stack(l, b->spec) || udp_spec_dual_stack(cur, b->spec))
		return 0;
	for (i = 0; i < b->naddrs; i++) {
		if (udp_has_sock(cur, b->spec, i) || udp_has_sock(l, b->spec, i))
			continue;
		a = b->addrs[i];
		if (port > 0 && a.ss.ss_family == AF_INET6 && addr_port((struct sockaddr *)&a.ss) == 0)
			((struct sockaddr_in6 *)&a.ss)->sin6_port = htons((uint16_t)port);
		fd = udp_bind(&a, lc, err);
		if (fd == -1 && b->naddrs > 1 && a.ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT) {
			log_warn(LOG_S_SERVER, "listener=%s bind=%s IPv6 unavailable, IPv4 only",
			    l->name, b->spec);
			free(*err);
			*err = NULL;
			continue;
		}
		if (fd == -1 || udp_sock_add(l, b->spec, i, fd, 0, 0, err) == -1)
			return -1;
		port = addr_port((struct sockaddr *)&l->socks[l->nsocks - 1]->bound.ss);
	}
	return 0;
}

static void
udp_free(struct udp_listener *l)
{
	size_t i;

	for (i = 0; i < l->nsocks; i++)
		udp_sock_close(l->socks[i]);
	free(l->socks);
	free(l->conf.svc_conf);
	free(l->name);
	free(l);
}

struct udp_listener *
udp_open(const struct listener_conf *lc, struct udp_listener *cur, char **err)
{
	struct udp_listener *l;
	char *why = NULL;
	size_t i;

	*err = NULL;
	l = xcalloc(1, sizeof(*l));
	l->name = xstrdup(lc->name);
	l->scope = cur != NULL ? cur->scope : access_scope_new();
	udp_conf_set(&l->conf, lc);
	if (l->conf.svc == NULL || l->conf.svc->on_datagram == NULL) {
		xasprintf(err, "listener %s: service '%s' does not answer datagrams", lc->name,
		    lc->service);
		goto fail;
	}
	for (i = 0; i < lc->nbinds; i++) {
		if (udp_open_spec(l, &lc->binds[i], lc, cur, &why) == -1) {
			xasprintf(err, "listener %s: %s", lc->name, why);
			free(why);
			goto fail;
		}
	}
	return l;
fail:
	udp_free(l);
	return NULL;
}

void
udp_discard(struct udp_listener *staged)
{
	udp_free(staged);
}

static void
udp_log_socks(const struct udp_listener *l, size_t from)
{
	char abuf[ADDR_STRLEN];
	size_t i;

	for (i = from; i < l->nsocks; i++)
		log_info(LOG_S_SERVER, "listening listener=%s service=%s addr=udp:%s", l->name,
		    l->conf.svc->name, addr_format((const struct sockaddr *)&l->socks[i]->bound.ss,
		    l->socks[i]->bound.len, abuf, sizeof(abuf)));
}

void
udp_start(struct udp_listener *l)
{
	size_t i;

	TAILQ_INSERT_TAIL(&udp_live, l, entry);
	l->live = 1;
	udp_log_socks(l, 0);
	for (i = 0; i < l->nsocks; i++)
		event_add(l->socks[i]->rev, NULL);
}

void
udp_merge(struct udp_listener *cur, struct udp_listener *staged, const struct listener_conf *lc)
{
	size_t i, j, first_new;
	int keep;
	size_t b;

	/* Close the sockets whose spec is gone. */
	for (i = 0, j = 0; i < cur->nsocks; i++) {
		keep = 0;
		for (b = 0; b < lc->nbinds && !keep; b++)
			keep = strcmp(lc->binds[b].spec, cur->socks[i]->spec) == 0 &&
			    cur->socks[i]->index < lc->binds[b].naddrs;
		if (!keep) {
			log_info(LOG_S_SERVER, "listener=%s bind=%s closed", cur->name,
			    cur->socks[i]->spec);
			udp_sock_close(cur->socks[i]);
			continue;
		}
		cur->socks[j++] = cur->socks[i];
	}
	cur->nsocks = j;
	/* Adopt the staged ones. */
	first_new = cur->nsocks;
	cur->socks = xreallocarray(cur->socks, cur->nsocks + staged->nsocks + 1,
	    sizeof(*cur->socks));
	for (i = 0; i < staged->nsocks; i++) {
		staged->socks[i]->owner = cur;
		cur->socks[cur->nsocks++] = staged->socks[i];
		event_add(staged->socks[i]->rev, NULL);
	}
	staged->nsocks = 0;
	udp_discard(staged);
	udp_conf_set(&cur->conf, lc);
	udp_log_socks(cur, first_new);
}

static void
udp_close(struct udp_listener *l)
{
	uint64_t queued = l->queued;

	TAILQ_REMOVE(&udp_live, l, entry);
	l->live = 0;
	log_info(LOG_S_SERVER, "listener=%s closed datagrams_in=%" PRIu64 " out=%" PRIu64
	    " queued_bytes=%" PRIu64, l->name, l->in, l->out, queued);
	udp_free(l);
}

int
udp_close_unless(int (*keep)(const char *name, void *arg), void *arg)
{
	struct udp_listener *l, *next;
	int n = 0;

	for (l = TAILQ_FIRST(&udp_live); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (!keep(l->name, arg)) {
			udp_close(l);
			n++;
		}
	}
	return n;
}

void
udp_close_all(void)
{
	struct udp_listener *l;

	while ((l = TAILQ_FIRST(&udp_live)) != NULL)
		udp_close(l);
}

/* ---------------------------------------------------------------- statistics */

static uint64_t
udp_dropped(const struct udp_listener *l, enum udp_reason r)
{
	uint64_t n;
	size_t i;

	if (r != UDP_R_RECV_QUEUE)
		return l->dropped[r];
	n = l->kernel_drops_closed;
	for (i = 0; i < l->nsocks; i++)
		n += udp_kernel_drops(l->socks[i]);
	return n;
}

/* One sample per live UDP listener; `arg` picks the value. */
static void
udp_collect(struct stats_emit *e, void *arg)
{
	const char *what = arg;
	struct udp_listener *l;
	uint64_t v;

	TAILQ_FOREACH(l, &udp_live, entry) {
		if (strcmp(what, "in") == 0)
			v = l->in;
		else if (strcmp(what, "in_bytes") == 0)
			v = l->in_bytes;
		else if (strcmp(what, "out") == 0)
			v = l->out;
		else if (strcmp(what, "out_bytes") == 0)
			v = l->out_bytes;
		else if (strcmp(what, "shortened") == 0)
			v = l->shortened;
		else
			v = l->queued;
		stats_emit_u64(e, v, l->name, l->conf.svc->name);
	}
}

static void
udp_collect_dropped(struct stats_emit *e, void *arg)
{
	struct udp_listener *l;
	int r;

	TAILQ_FOREACH(l, &udp_live, entry)
		for (r = 0; r < UDP_R_COUNT; r++)
			stats_emit_u64(e, udp_dropped(l, (enum udp_reason)r), l->name,
			    l->conf.svc->name, udp_reason_names[r]);
}

static const struct stats_family udp_families[] = {
	{ "udp_datagrams_received_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Datagrams read from UDP listeners' sockets.", { "listener", "service", NULL },
	  udp_collect, "in" },
	{ "udp_received_bytes_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Payload bytes of those datagrams.", { "listener", "service", NULL }, udp_collect,
	  "in_bytes" },
	{ "udp_datagrams_sent_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Replies sent by UDP listeners.", { "listener", "service", NULL }, udp_collect, "out" },
	{ "udp_sent_bytes_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Payload bytes of those replies.", { "listener", "service", NULL }, udp_collect,
	  "out_bytes" },
	{ "udp_datagrams_dropped_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Datagrams that got no reply, or replies not sent, by reason.",
	  { "listener", "service", "reason", NULL }, udp_collect_dropped, NULL },
	{ "udp_replies_shortened_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "chargen replies cut to the amplification cap.", { "listener", "service", NULL },
	  udp_collect, "shortened" },
	{ "udp_send_queue_bytes", STATS_GAUGE, STATS_UNIT_NONE,
	  "Bytes of replies waiting for a full socket to drain.", { "listener", "service", NULL },
	  udp_collect, "queued" },
};

static void
udp_register_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(udp_families); i++)
		stats_register(&udp_families[i]);
}

static void
udp_unregister_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(udp_families); i++)
		stats_unregister(&udp_families[i]);
}
