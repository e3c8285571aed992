/*
 * check_conn.c: the connection state machine, driven over a socketpair with
 * a real event loop (built as the daemon builds it): the transition table,
 * echo, backpressure, half-close, finish, idle timeout, the id table,
 * max_bytes (exact, in + out), max_lifetime, service deadlines, rate_limit
 * shaping (rate, wake-ups, backpressure), and
 * deferred close: a service that writes, fails, writes again and closes
 * twice in one callback keeps its state until the callback returns (run
 * under ASan by the sanitizer build, where a use after free would abort).
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "stats.h"
#include "unit.h"
#include "util.h"

static struct event_base *base;
static int closed_hook_calls;
static enum conn_reason closed_reason;

/* What a daytime listener would hand its connections. */
static int daytime_rfc3339 = 1;

static void
test_closed_hook(struct conn *c, void *owner)
{
	closed_hook_calls++;
	closed_reason = conn_reason(c);
}

static void
setup(void)
{
	base = unit_loop_setup(LOG_L_WARNING);
	conn_init(base);
	conn_set_closed_hook(test_closed_hook);
	conn_set_limits(64 * 1024, 16 * 1024, 200);
	closed_hook_calls = 0;
	closed_reason = CONN_R_NONE;
}

static void
teardown(void)
{
	conn_close_all(CONN_R_EXIT);
	conn_destroy();
	event_base_free(base);
	stats_clear();
}

/* Open a conn with these parameters on one end of a socketpair; the other end is *peer. */
static struct conn *
open_params(struct conn_params *p, int *peer)
{
	struct conn *c;

	p->owner_name = "test";
	c = unit_conn_pair(p, peer);
	conn_start(c);
	return c;
}

/* Open a conn of `svc` on one end of a socketpair; the other end is *peer. */
static struct conn *
open_svc(const struct service *svc, const void *svc_conf, uint64_t idle_ms, int *peer)
{
	struct conn_params p;

	memset(&p, 0, sizeof(p));
	p.svc = svc;
	p.svc_conf = svc_conf;
	p.idle_timeout_ms = idle_ms;
	return open_params(&p, peer);
}

static struct conn *
open_pair(const struct service *svc, int *peer)
{
	return open_svc(svc, NULL, 0, peer);
}

/* Read whatever is available within a bounded number of loop turns. */
static size_t
drain_peer(int peer, char *buf, size_t size, int rounds)
{
	size_t got = 0;
	ssize_t n;

	while (rounds-- > 0 && got < size) {
		unit_spin(base, 1);
		n = read(peer, buf + got, size - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
	}
	return got;
}

START_TEST(test_transitions)
{
	enum conn_state s;

	ck_assert(conn_state_allowed(CONN_S_NEW, CONN_S_OPEN));
	ck_assert(conn_state_allowed(CONN_S_NEW, CONN_S_HANDSHAKE));
	ck_assert(conn_state_allowed(CONN_S_HANDSHAKE, CONN_S_OPEN));
	ck_assert(conn_state_allowed(CONN_S_OPEN, CONN_S_DRAINING));
	ck_assert(conn_state_allowed(CONN_S_OPEN, CONN_S_HALFCLOSED));
	ck_assert(conn_state_allowed(CONN_S_HALFCLOSED, CONN_S_FLUSHING));
	ck_assert(conn_state_allowed(CONN_S_DRAINING, CONN_S_FLUSHING));
	ck_assert(conn_state_allowed(CONN_S_DRAINING, CONN_S_LINGER));
	ck_assert(conn_state_allowed(CONN_S_CLOSING, CONN_S_CLOSED));
	ck_assert(conn_state_allowed(CONN_S_CLOSED, CONN_S_FREEING));
	/* every live state may close; nothing closes twice or comes back */
	for (s = CONN_S_NEW; s < CONN_S_CLOSING; s++)
		ck_assert(conn_state_allowed(s, CONN_S_CLOSING));
	for (s = CONN_S_CLOSING; s < CONN_S_COUNT; s++) {
		ck_assert(!conn_state_allowed(s, CONN_S_CLOSING));
		ck_assert(!conn_state_allowed(s, CONN_S_OPEN));
	}
	ck_assert(!conn_state_allowed(CONN_S_OPEN, CONN_S_CLOSED));
	ck_assert(!conn_state_allowed(CONN_S_LINGER, CONN_S_OPEN));
	ck_assert(!conn_state_allowed(CONN_S_DRAINING, CONN_S_OPEN));
	ck_assert(!conn_state_allowed(CONN_S_OPEN, CONN_S_HANDSHAKE));
	ck_assert(!conn_state_allowed(CONN_S_HALFCLOSED, CONN_S_DRAINING));
	ck_assert(!conn_state_allowed(CONN_S_COUNT, CONN_S_OPEN));
	ck_assert_str_eq(conn_state_name(CONN_S_DRAINING), "draining");
	ck_assert_str_eq(conn_state_name(CONN_S_HALFCLOSED), "half-closed");
	ck_assert_str_eq(conn_reason_name(CONN_R_IDLE_TIMEOUT), "idle-timeout");
	ck_assert_str_eq(conn_reason_name(CONN_R_TLS_PLAINTEXT), "tls-plaintext");
	ck_assert_str_eq(conn_reason_name(CONN_R_COUNT), "?");
}
END_TEST

START_TEST(test_echo_roundtrip)
{
	char out[4096], in[4096];
	struct conn_info ci;
	struct conn *c;
	int peer;
	size_t i;

	c = open_pair(&service_echo, &peer);
	ck_assert_int_eq(conn_state(c), CONN_S_OPEN);
	ck_assert_ptr_eq(conn_find(conn_id(c)), c);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7);         /* includes NULs */
	ck_assert_int_eq(write(peer, out, sizeof(out)), (ssize_t)sizeof(out));
	ck_assert_uint_eq(drain_peer(peer, in, sizeof(in), 100), sizeof(in));
	ck_assert_mem_eq(in, out, sizeof(out));
	conn_info(c, &ci);
	ck_assert_uint_eq(ci.bytes_in, sizeof(out));
	ck_assert_uint_eq(ci.bytes_out, sizeof(out));
	ck_assert_str_eq(ci.owner, "test");
	ck_assert_str_eq(ci.peer, "unix");
	ck_assert_str_eq(ci.state, "open");
	close(peer);
}
END_TEST

START_TEST(test_backpressure)
{
	static char chunk[32768], sink[65536];
	struct conn *c;
	int peer, i;
	ssize_t n;

	c = open_pair(&service_echo, &peer);
	/* The peer only writes: the echo output piles up until reading stops. */
	for (i = 0; i < 400; i++) {
		n = write(peer, chunk, sizeof(chunk));
		unit_spin(base, 1);
		if (n < 0 && errno == EAGAIN && !conn_reading(c))
			break;
	}
	ck_assert(!conn_reading(c));
	ck_assert_uint_le(conn_pending(c), 64 * 1024 + 64 * 1024);
	/* The peer reads: output drains below the low mark and reading resumes. */
	for (i = 0; i < 1000 && !conn_reading(c); i++) {
		while (read(peer, sink, sizeof(sink)) > 0)
			;
		unit_spin(base, 1);
	}
	ck_assert(conn_reading(c));
	close(peer);
}
END_TEST

START_TEST(test_half_close)
{
	char in[64];
	struct conn *c;
	uint64_t id;
	int peer;
	size_t got;

	c = open_pair(&service_echo, &peer);
	id = conn_id(c);
	ck_assert_int_eq(write(peer, "hello", 5), 5);
	shutdown(peer, SHUT_WR);
	got = drain_peer(peer, in, sizeof(in), 200);
	ck_assert_uint_eq(got, 5);
	ck_assert_mem_eq(in, "hello", 5);
	/* after every byte: a clean EOF, and the conn is gone */
	ck_assert_int_eq(read(peer, in, sizeof(in)), 0);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_uint_eq(conn_count(), 0);
	ck_assert_int_eq(closed_hook_calls, 1);
	close(peer);
}
END_TEST

/* A service waiting on work it handed off: it stops reading and never finishes on EOF. */
static void
waiting_on_data(struct conn *c, const char *data, size_t len)
{
	conn_pause_read(c);
}

static void
waiting_on_eof(struct conn *c)
{
}

static const struct service service_waiting = {
	.name = "waiting",
	.on_data = waiting_on_data,
	.on_eof = waiting_on_eof,
};

/* Turn the loop for about `ms` or until connection `id` is gone; 1 if it is gone. */
static int
gone_within(uint64_t id, unsigned ms)
{
	unsigned i;

	for (i = 0; i < ms / 10 && conn_find(id) != NULL; i++) {
		unit_spin(base, 1);
		usleep(10 * 1000);
	}
	unit_spin(base, 1);
	return conn_find(id) == NULL;
}

/*
 * conn_watch_peer: a peer that goes away while the service reads nothing
 * (paused, or half-closed) is noticed; a half-close alone is not a hang-up.
 */
START_TEST(test_watch_peer)
{
	struct conn *c;
	uint64_t id;
	int peer;

	/* Paused by the service, not watched: a closed peer goes unnoticed. */
	c = open_pair(&service_waiting, &peer);
	id = conn_id(c);
	ck_assert_int_eq(write(peer, "x", 1), 1);
	unit_spin(base, 3);
	ck_assert(!conn_reading(c));
	close(peer);
	ck_assert(!gone_within(id, 400));
	/* Watched: the same is seen within a few probes. */
	conn_watch_peer(c, 1);
	ck_assert(gone_within(id, 1000));
	ck_assert_int_eq(closed_hook_calls, 1);

	/* Half-closed and watched: stays while the peer can still read... */
	c = open_pair(&service_waiting, &peer);
	id = conn_id(c);
	conn_watch_peer(c, 1);
	shutdown(peer, SHUT_WR);
	unit_spin(base, 3);
	ck_assert_int_eq(conn_state(c), CONN_S_HALFCLOSED);
	ck_assert(!gone_within(id, 500));
	/* ...and goes once it closes. */
	close(peer);
	ck_assert(gone_within(id, 1000));
	ck_assert_int_eq(closed_hook_calls, 2);
}
END_TEST

START_TEST(test_finish_lingers)
{
	char in[128];
	struct conn *c;
	int peer;
	ssize_t n;

	/* the client already sent bytes: the reply must still arrive whole */
	c = open_svc(&service_daytime, &daytime_rfc3339, 0, &peer);
	ck_assert_int_eq(write(peer, "ignored input", 13), 13);
	unit_spin(base, 5);
	ck_assert_int_eq(conn_state(c), CONN_S_LINGER);
	n = read(peer, in, sizeof(in) - 1);
	ck_assert_int_eq(n, 22);               /* YYYY-MM-DDTHH:MM:SSZ\r\n */
	ck_assert_int_eq(in[20], '\r');
	close(peer);
	unit_spin(base, 5);
	ck_assert_uint_eq(conn_count(), 0);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct timeval tv = { 0, 400000 };
	struct conn *c;
	uint64_t id;
	int peer;
	char b;

	c = open_svc(&service_echo, NULL, 100, &peer);
	id = conn_id(c);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_int_eq(read(peer, &b, 1), 0);
	close(peer);
}
END_TEST

/* ---------------------------------------------------------------- deferred close */

/* A service that fails its writes and closes twice from one on_data. */
struct victim {
	char	 canary[64];
	int	 data_calls;
	int	 state_after;		/* conn_state() seen at the end of on_data */
	int	 still_alive;
};
static int victim_closes;
static enum conn_reason victim_reason;

static void
victim_on_open(struct conn *c)
{
	struct victim *v = xcalloc(1, sizeof(*v));

	memset(v->canary, 'v', sizeof(v->canary));
	conn_set_svc_data(c, v);
}

static void
victim_on_data(struct conn *c, const char *data, size_t len)
{
	struct victim *v = conn_svc_data(c);
	static char big[256 * 1024];

	v->data_calls++;
	/* The peer is gone: the first write fails (EPIPE) and only marks the close. */
	conn_write(c, big, sizeof(big));
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSING);
	conn_write(c, "again", 5);
	conn_printf(c, "and %s\n", "again");
	conn_close(c, CONN_R_ADMIN_KILL);
	conn_close(c, CONN_R_IDLE_TIMEOUT);
	conn_finish(c);
	conn_want_drain(c);
	conn_pause_read(c);
	/* Our state is still ours: on_close has not run (ASan would catch a free). */
	ck_assert_int_eq(victim_closes, 0);
	v->canary[0] = 'w';
	v->state_after = conn_state(c);
	v->still_alive = conn_is_alive(c);
}

static void
victim_on_close(struct conn *c)
{
	struct victim *v = conn_svc_data(c);

	victim_closes++;
	victim_reason = conn_reason(c);
	if (v->data_calls > 0) {
		ck_assert_int_eq(v->canary[0], 'w');
		ck_assert_int_eq(v->state_after, CONN_S_CLOSING);
		ck_assert(!v->still_alive);
	}
	free(v);
	conn_set_svc_data(c, NULL);
}

static const struct service victim_svc = {
	.name = "victim",
	.on_open = victim_on_open,
	.on_data = victim_on_data,
	.on_close = victim_on_close,
};

START_TEST(test_write_fail_close_twice_in_one_callback)
{
	struct conn *c;
	uint64_t id;
	int peer, i;

	c = open_pair(&victim_svc, &peer);
	id = conn_id(c);
	ck_assert_int_eq(write(peer, "x", 1), 1);
	close(peer);                          /* writes to c now fail with EPIPE */
	for (i = 0; i < 50 && victim_closes == 0; i++)
		unit_spin(base, 1);
	/* The close ran once, after the callback, with the first reason. */
	ck_assert_int_eq(victim_closes, 1);
	ck_assert_int_eq(victim_reason, CONN_R_RESET);
	ck_assert_int_eq(closed_hook_calls, 1);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_uint_eq(conn_count(), 0);
}
END_TEST

START_TEST(test_close_outside_callback_is_immediate)
{
	struct conn *c;
	int peer;

	c = open_pair(&victim_svc, &peer);
	ck_assert(!loop_in_callback());
	conn_close(c, CONN_R_ADMIN_KILL);
	/* No callback to wait for: closed (and freed) before conn_close returned. */
	ck_assert_int_eq(victim_closes, 1);
	ck_assert_int_eq(victim_reason, CONN_R_ADMIN_KILL);
	ck_assert_uint_eq(conn_count(), 0);
	close(peer);
}
END_TEST

START_TEST(test_close_with_reference_held)
{
	struct conn *c;
	int peer;

	c = open_pair(&service_echo, &peer);
	conn_ref(c);                 /* a job in flight */
	conn_close(c, CONN_R_ADMIN_KILL);
	conn_close(c, CONN_R_EOF);
	/* Closed (socket, events, table) but not freed: the job's reference keeps it. */
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_int_eq(conn_reason(c), CONN_R_ADMIN_KILL);
	ck_assert(!conn_is_alive(c));
	conn_write(c, "x", 1);       /* a late completion writing: ignored */
	conn_finish(c);
	ck_assert_uint_eq(conn_pending(c), 0);
	ck_assert_uint_eq(conn_count(), 0);
	conn_unref(c);               /* the last reference: freed now, outside any callback */
	unit_spin(base, 2);
	close(peer);
}
END_TEST

START_TEST(test_many_ids)
{
	struct conn *cs[3000];
	int peers[3000];
	size_t i;

	for (i = 0; i < 3000; i++)
		cs[i] = open_pair(&service_discard, &peers[i]);
	for (i = 0; i < 3000; i++)
		ck_assert_ptr_eq(conn_find(conn_id(cs[i])), cs[i]);
	for (i = 1; i < 3000; i += 2)
		ck_assert_uint_eq(conn_id(cs[i]), conn_id(cs[i - 1]) + 1);
	for (i = 0; i < 3000; i += 2)
		conn_close(cs[i], CONN_R_ADMIN_KILL);
	for (i = 1; i < 3000; i += 2)
		ck_assert_ptr_eq(conn_find(conn_id(cs[i])), cs[i]);
	ck_assert_uint_eq(conn_count(), 1500);
	ck_assert_int_eq(closed_hook_calls, 1500);
	for (i = 0; i < 3000; i++)
		close(peers[i]);
}
END_TEST

/* The close counters by reason are in the statistics registry. */
START_TEST(test_close_reasons_counted)
{
	uint64_t n = 0;
	struct conn *c;
	int peer;
	char *text;

	c = open_pair(&service_echo, &peer);
	conn_close(c, CONN_R_ADMIN_KILL);
	close(peer);
	ck_assert_int_eq(stats_get("connections_closed_total", &n), 0);
	ck_assert_uint_eq(n, 1);
	text = stats_render_text("connections_closed_total", NULL);
	ck_assert_ptr_nonnull(strstr(text, "connections_closed_total{reason=\"admin-kill\"}=1\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "connections_closed_total{reason=\"eof\"}=0\r\n"));
	free(text);
}
END_TEST

/* ---------------------------------------------------------------- per-connection limits */

/* Read from peer until EOF (returns the count, EOF seen in *eof) within `rounds` loop turns. */
static size_t
read_to_eof(int peer, char *buf, size_t size, int rounds, int *eof)
{
	size_t got = 0;
	ssize_t n;

	*eof = 0;
	while (rounds-- > 0) {
		unit_spin(base, 1);
		while ((n = read(peer, buf + got, size - got)) > 0)
			got += (size_t)n;
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (got == size)
			break;
	}
	return got;
}

/* max_bytes counts in + out: 600 in leaves room for 400 out, then a close at exactly 1000. */
START_TEST(test_max_bytes_echo)
{
	static char out[600], in[2048];
	struct conn_params p;
	struct conn *c;
	int peer, eof;
	size_t i, got;

	memset(&p, 0, sizeof(p));
	p.svc = &service_echo;
	p.max_bytes = 1000;
	c = open_params(&p, &peer);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 13 + 1);
	ck_assert_int_eq(write(peer, out, sizeof(out)), (ssize_t)sizeof(out));
	got = read_to_eof(peer, in, sizeof(in), 200, &eof);
	ck_assert_uint_eq(got, 400);
	ck_assert_mem_eq(in, out, 400);
	ck_assert(eof);
	ck_assert_int_eq(closed_hook_calls, 1);
	ck_assert_int_eq(closed_reason, CONN_R_MAX_BYTES);
	ck_assert_uint_eq(conn_count(), 0);
	(void)c;
	close(peer);
}
END_TEST

/* A peer that sends far more than max_bytes: only max_bytes is ever read. */
START_TEST(test_max_bytes_reads_no_more)
{
	static char out[3000];
	struct conn_params p;
	struct conn_info ci;
	struct conn *c;
	int peer;

	memset(&p, 0, sizeof(p));
	p.svc = &service_discard;
	p.max_bytes = 1000;
	c = open_params(&p, &peer);
	conn_ref(c);
	ck_assert_int_eq(write(peer, out, sizeof(out)), (ssize_t)sizeof(out));
	unit_spin(base, 10);
	ck_assert_int_eq(conn_state(c), CONN_S_CLOSED);
	ck_assert_int_eq(conn_reason(c), CONN_R_MAX_BYTES);
	conn_info(c, &ci);
	ck_assert_uint_eq(ci.bytes_in, 1000);
	ck_assert_uint_eq(ci.bytes_out, 0);
	conn_unref(c);
	close(peer);
}
END_TEST

/* chargen under max_bytes: exactly that much of the stream, then EOF. */
START_TEST(test_max_bytes_chargen)
{
	static char in[32768], want[10000];
	struct conn_params p;
	uint64_t pos = 0;
	int peer, eof;
	size_t got;

	memset(&p, 0, sizeof(p));
	p.svc = &service_chargen;
	p.max_bytes = 10000;
	/* as the accept callback would: chargen uses the limit up in on_open */
	LOOP_CB("test_accept", NULL, NULL, open_params(&p, &peer));
	got = read_to_eof(peer, in, sizeof(in), 200, &eof);
	ck_assert_uint_eq(got, 10000);
	ck_assert(eof);
	service_chargen_fill(&pos, want, sizeof(want));
	ck_assert_mem_eq(in, want, sizeof(want));
	ck_assert_int_eq(closed_reason, CONN_R_MAX_BYTES);
	close(peer);
}
END_TEST

/* A service that stamps a deadline when it opens: the connection's line_timeout. */
static uint64_t deadline_ms;

static void
deadline_on_open(struct conn *c)
{
	conn_set_deadline(c, deadline_ms, CONN_R_LINE_TIMEOUT);
}

static void
deadline_on_data(struct conn *c, const char *data, size_t len)
{
	/* "m": move the deadline; "c": clear it */
	if (len > 0 && data[0] == 'm')
		conn_set_deadline(c, deadline_ms, CONN_R_LINE_TIMEOUT);
	else if (len > 0 && data[0] == 'c')
		conn_set_deadline(c, 0, CONN_R_LINE_TIMEOUT);
}

static const struct service deadline_svc = {
	.name = "deadline",
	.on_open = deadline_on_open,
	.on_data = deadline_on_data,
};

/* A deadline closes with its own reason, unless moved or cleared in time. */
START_TEST(test_deadline)
{
	struct conn *c;
	uint64_t id, t0;
	int peer, i;

	deadline_ms = 300;
	c = open_svc(&deadline_svc, NULL, 0, &peer);
	id = conn_id(c);
	t0 = util_now_ms();
	unit_run_for(base, 600);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_int_eq(closed_reason, CONN_R_LINE_TIMEOUT);
	close(peer);

	/* moved every 100 ms for 500 ms (each time 300 ms ahead): still open; then it expires */
	c = open_svc(&deadline_svc, NULL, 0, &peer);
	id = conn_id(c);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(write(peer, "m", 1), 1);
		unit_run_for(base, 100);
		ck_assert_ptr_eq(conn_find(id), c);
	}
	unit_run_for(base, 600);
	ck_assert_ptr_null(conn_find(id));
	close(peer);

	/* cleared: no deadline at all (and no idle timeout) */
	c = open_svc(&deadline_svc, NULL, 0, &peer);
	id = conn_id(c);
	ck_assert_int_eq(write(peer, "c", 1), 1);
	unit_run_for(base, 600);
	ck_assert_ptr_eq(conn_find(id), c);
	ck_assert_uint_ge(util_now_ms() - t0, 1500);
	close(peer);
}
END_TEST

/* max_lifetime closes a busy connection, which idle_timeout never would. */
START_TEST(test_max_lifetime)
{
	struct conn_params p;
	char buf[16];
	struct conn *c;
	uint64_t id;
	int peer, i;

	memset(&p, 0, sizeof(p));
	p.svc = &service_echo;
	p.idle_timeout_ms = 250;
	p.max_lifetime_ms = 500;
	c = open_params(&p, &peer);
	id = conn_id(c);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(write(peer, "x", 1), 1);
		unit_run_for(base, 50);
		ck_assert_ptr_eq(conn_find(id), c);
		ck_assert_int_eq(read(peer, buf, sizeof(buf)), 1);
	}
	unit_run_for(base, 400);
	ck_assert_ptr_null(conn_find(id));
	ck_assert_int_eq(closed_reason, CONN_R_MAX_LIFETIME);
	close(peer);
}
END_TEST

/* ---------------------------------------------------------------- shaping */

/*
 * rate_limit on chargen over 600 ms: about rate * 0.6 bytes plus the first
 * bucket (a tenth of a second's worth), and the loop wakes a few times per
 * bucket, never per byte or per millisecond (a shaper that spins, or
 * sleeps microseconds, shows here).
 */
START_TEST(test_shape_chargen)
{
	static char in[65536], all[200000];
	struct conn_params p;
	uint64_t t0, pos = 0;
	size_t got = 0;
	unsigned wakes = 0;
	ssize_t n;
	int peer;

	memset(&p, 0, sizeof(p));
	p.svc = &service_chargen;
	p.rate_limit = 100000;
	LOOP_CB("test_accept", NULL, NULL, open_params(&p, &peer));
	t0 = util_now_ms();
	while (util_now_ms() - t0 < 600) {
		event_base_loop(base, EVLOOP_ONCE);
		wakes++;
		while ((n = read(peer, in, sizeof(in))) > 0) {
			ck_assert_uint_le(got + (size_t)n, sizeof(all));
			memcpy(all + got, in, (size_t)n);
			got += (size_t)n;
		}
	}
	/* 60000 in 600 ms and a first bucket of 10000; the clock runs a little past 600 */
	ck_assert_msg(got >= 60000 && got <= 75000, "%zu bytes in 600 ms at 100000/s", got);
	ck_assert_msg(wakes < 120, "%u loop wake-ups in 600 ms of shaping", wakes);
	/* byte-exact: the stream from its start */
	{
		static char want[200000];

		service_chargen_fill(&pos, want, got);
		ck_assert_mem_eq(all, want, got);
	}
	close(peer);
}
END_TEST

/* A shaped echo stops reading while its output waits: backpressure holds. */
START_TEST(test_shape_echo_pauses_reading)
{
	static char chunk[32768], in[65536];
	struct conn_params p;
	size_t sent = 0, got = 0;
	uint64_t t0, ms;
	struct conn *c;
	ssize_t n;
	int peer;

	memset(&p, 0, sizeof(p));
	p.svc = &service_echo;
	p.rate_limit = 50000;
	c = open_params(&p, &peer);
	memset(chunk, 'e', sizeof(chunk));
	/* offer 1 MiB, reading the answers as they come, for 400 ms */
	t0 = util_now_ms();
	while ((ms = util_now_ms() - t0) < 400 && sent < 1024 * 1024) {
		if ((n = write(peer, chunk, sizeof(chunk))) > 0)
			sent += (size_t)n;
		unit_run_for(base, 1);
		while ((n = read(peer, in, sizeof(in))) > 0)
			got += (size_t)n;
	}
	/* the output queue is bounded by the high watermark (64K here) and one read */
	ck_assert_uint_le(conn_pending(c), 64 * 1024 + 64 * 1024);
	ck_assert(!conn_reading(c));
	ck_assert_uint_ge(sent, 256 * 1024);
	/* 50000 bytes/s and a first bucket of 5000, give or take a loop turn */
	ck_assert_msg(got <= 50 * ms + 5000 + 2000, "%zu bytes in %" PRIu64 " ms at 50000/s", got,
	    ms);
	close(peer);
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("state-machine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_transitions);
	tcase_add_test(tc, test_echo_roundtrip);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_watch_peer);
	tcase_add_test(tc, test_finish_lingers);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_write_fail_close_twice_in_one_callback);
	tcase_add_test(tc, test_close_outside_callback_is_immediate);
	tcase_add_test(tc, test_close_with_reference_held);
	tcase_add_test(tc, test_many_ids);
	tcase_add_test(tc, test_close_reasons_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_max_bytes_echo);
	tcase_add_test(tc, test_max_bytes_reads_no_more);
	tcase_add_test(tc, test_max_bytes_chargen);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_max_lifetime);
	tcase_add_test(tc, test_shape_chargen);
	tcase_add_test(tc, test_shape_echo_pauses_reading);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(conn_suite());
}
