/*
 * fuzz_conn.c: libFuzzer harness driving the connection state machine
 * (conn.c, with the real services and the worker pool) from a script of
 * events over socketpairs. Parsers never find lifetime bugs; this does:
 * a close from inside a service, a write after a failed write, a peer that
 * resets while output is pending, a job that completes after its
 * connection closed, timers firing between events.
 *
 * Input: a script, one opcode byte and one argument byte per step:
 *   0 open a connection of service arg % 6 (echo, discard, chargen,
 *     daytime, command, "script" below; some with a 1..4 ms idle timeout)
 *   1 the peer of connection arg % 8 writes 1..4096 bytes (the script's
 *     following bytes, repeated)
 *   2 the peer shuts its write side    3 the peer closes (a reset for TCP)
 *   4 the peer reads what it can       5 run the loop once, without waiting
 *   6 kill the connection (as admin KILL does)
 *   7 wait 2 ms and run the loop (timers: idle timeouts, linger, jobs)
 * The "script" service reads its input as actions: 'c' close, 'f' finish,
 * 'p'/'r' pause/resume reading, 'w' write 128 KiB, 'j' submit a job that
 * holds a reference and writes its result to the connection, 'd' ask for
 * on_drain; its state lives until on_close and is checked there (ASan).
 * At the end every connection is closed, the pool drained and destroyed,
 * the base freed: nothing may be left (LeakSanitizer), and the count of
 * connections must come back to 0 with one close per open.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "fuzz.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "service.h"
#include "stats.h"

#define FUZZ_CONNS	8

struct fuzz_job;

struct fuzz_script {
	char			 canary[32];
	struct fuzz_job		*jobs[4];	/* in flight */
};

struct fuzz_job {
	struct conn		*c;		/* referenced until the done callback */
	struct fuzz_script	*s;		/* NULL once the connection closed */
	struct pool_job		*job;
	int			 slot;
};

static struct event_base *fuzz_base;
static struct config *fuzz_cf;		/* the command and daytime options */
static int fuzz_opened, fuzz_closed;

static int
fuzz_conn_work(struct pool_work *w)
{
	pool_work_printf(w, "job done\r\n");
	return 0;
}

static void
fuzz_conn_job_done(const struct pool_done *d)
{
	struct fuzz_job *fj = d->arg;

	/* First: has the connection gone? Then only the reference is left to drop. */
	if (fj->s != NULL) {
		fj->s->jobs[fj->slot] = NULL;
		if (d->status == POOL_OK)
			conn_write(fj->c, d->out, d->outlen);
		pool_retrieved(d);
	}
	conn_unref(fj->c);
	free(fj);
}

static void
fuzz_script_open(struct conn *c)
{
	struct fuzz_script *s = xcalloc(1, sizeof(*s));

	memset(s->canary, 's', sizeof(s->canary));
	conn_set_svc_data(c, s);
}

static void
fuzz_script_job(struct conn *c, struct fuzz_script *s)
{
	struct pool_submit_args a;
	struct fuzz_job *fj;
	int slot;

	for (slot = 0; slot < 4 && s->jobs[slot] != NULL; slot++)
		;
	if (slot == 4)
		return;
	fj = xcalloc(1, sizeof(*fj));
	fj->c = c;
	fj->s = s;
	fj->slot = slot;
	memset(&a, 0, sizeof(a));
	a.kind = "fuzz";
	a.work = fuzz_conn_work;
	a.done = fuzz_conn_job_done;
	a.arg = fj;
	a.conn_id = conn_id(c);
	if (pool_submit(&a, &fj->job) == -1) {
		free(fj);
		return;
	}
	s->jobs[slot] = fj;
	conn_ref(c);
}

static void
fuzz_script_data(struct conn *c, const char *data, size_t len)
{
	static char big[128 * 1024];
	struct fuzz_script *s = conn_svc_data(c);
	size_t i;

	for (i = 0; i < len; i++) {
		FUZZ_CHECK(s->canary[0] == 's', "service state damaged");
		switch (data[i]) {
		case 'c':
			conn_close(c, CONN_R_ADMIN_KILL);
			break;
		case 'f':
			conn_finish(c);
			break;
		case 'p':
			conn_pause_read(c);
			break;
		case 'r':
			conn_resume_read(c);
			break;
		case 'w':
			conn_write(c, big, sizeof(big));
			break;
		case 'j':
			fuzz_script_job(c, s);
			break;
		case 'd':
			conn_want_drain(c);
			break;
		default:
			conn_write(c, data + i, 1);
			break;
		}
	}
}

static void
fuzz_script_drain(struct conn *c)
{
	struct fuzz_script *s = conn_svc_data(c);

	FUZZ_CHECK(s != NULL && s->canary[0] == 's', "on_drain after on_close");
	conn_write(c, "drained\r\n", 9);
}

static void
fuzz_script_close(struct conn *c)
{
	struct fuzz_script *s = conn_svc_data(c);
	int i;

	FUZZ_CHECK(s != NULL && s->canary[0] == 's', "on_close twice or on damaged state");
	for (i = 0; i < 4; i++) {
		if (s->jobs[i] == NULL)
			continue;
		/* the done callback still runs: it must know the connection is gone */
		s->jobs[i]->s = NULL;
		pool_cancel(s->jobs[i]->job);
	}
	s->canary[0] = 'x';
	conn_set_svc_data(c, NULL);
	free(s);
}

static const struct service fuzz_script_svc = {
	.name = "script",
	.on_open = fuzz_script_open,
	.on_data = fuzz_script_data,
	.on_drain = fuzz_script_drain,
	.on_close = fuzz_script_close,
};

static void
fuzz_closed_hook(struct conn *c, void *owner)
{
	fuzz_closed++;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] =
	    "[listener c]\nbind = unix:/fuzz-c\nservice = command\nmax_line = 256\n"
	    "max_sleep = 10ms\nmax_pending = 4\nline_timeout = 0\n"
	    "[listener d]\nbind = unix:/fuzz-d\nservice = daytime\ndaytime_format = rfc3339\n";
	struct config_errors errs = { NULL, 0 };

	signal(SIGPIPE, SIG_IGN);
	log_init();
	log_set_level(LOG_L_CRITICAL);
	if (config_load_string("fuzz.ini", text, &fuzz_cf, &errs) == -1)
		fuzz_fail(__FILE__, __LINE__, "config", "%s", errs.msgs[0]);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct service *svcs[] = { &service_echo, &service_discard,
	    &service_chargen, &service_daytime, &service_command, &fuzz_script_svc };
	static const struct sockaddr_un unix_peer = { .sun_family = AF_UNIX };
	static char junk[65536];
	struct conn *conns[FUZZ_CONNS] = { NULL };
	int peers[FUZZ_CONNS], sv[2], i;
	struct conn_params p;
	const char *why = NULL;
	char *err = NULL;
	size_t step, n;
	uint8_t op, arg;

	fuzz_opened = fuzz_closed = 0;
	for (i = 0; i < FUZZ_CONNS; i++)
		peers[i] = -1;
	fuzz_base = loop_base_new(&why);
	FUZZ_CHECK(fuzz_base != NULL, "loop_base_new: %s", why);
	loop_start(fuzz_base);
	conn_init(fuzz_base);
	conn_set_closed_hook(fuzz_closed_hook);
	conn_set_limits(64 * 1024, 16 * 1024, 5);
	FUZZ_CHECK(pool_init(fuzz_base, 1, 4, 0, &err) == 0, "pool_init: %s", err);

	for (step = 0; step + 1 < size; step += 2) {
		op = data[step] % 8;
		arg = data[step + 1];
		i = arg % FUZZ_CONNS;
		switch (op) {
		case 0:
			if (conns[i] != NULL || peers[i] != -1)
				break;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
				break;
			memset(&p, 0, sizeof(p));
			p.svc = svcs[arg % 6];
			p.svc_conf = p.svc == &service_command ? fuzz_cf->listeners[0]->svc_conf :
			    p.svc == &service_daytime ? fuzz_cf->listeners[1]->svc_conf : NULL;
			p.owner_name = "fuzz";
			p.idle_timeout_ms = (arg & 0x80) ? 1 + (arg & 3) : 0;
			conns[i] = conn_new(&p, sv[0], (const struct sockaddr *)&unix_peer,
			    sizeof(unix_peer));
			conn_ref(conns[i]);	/* the harness's, to read its state */
			peers[i] = sv[1];
			fuzz_opened++;
			conn_start(conns[i]);
			break;
		case 1:
			/* the rest of the script as data (the script service's actions), padded */
			if (peers[i] == -1)
				break;
			n = 1 + (size_t)arg * 16;
			if (size - step - 2 > 0)
				memcpy(junk, data + step + 2, size - step - 2 < n ? size - step - 2 : n);
			if (write(peers[i], junk, n) < 0 && errno != EAGAIN)
				break;
			break;
		case 2:
			if (peers[i] != -1)
				shutdown(peers[i], SHUT_WR);
			break;
		case 3:
			if (peers[i] != -1) {
				close(peers[i]);
				peers[i] = -1;
			}
			break;
		case 4:
			if (peers[i] != -1)
				while (read(peers[i], junk, sizeof(junk)) > 0)
					;
			break;
		case 5:
			event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
			break;
		case 6:
			if (conns[i] != NULL)
				conn_kill(conn_id(conns[i]), CONN_R_ADMIN_KILL);
			break;
		case 7:
			usleep(2000);
			event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
			break;
		}
		/* the harness drops its reference once the connection is closed */
		if (conns[i] != NULL && !conn_is_alive(conns[i])) {
			conn_unref(conns[i]);
			conns[i] = NULL;
		}
	}
	/* Tear down: every connection closed, every job delivered, nothing left. */
	conn_close_all(CONN_R_EXIT);
	for (i = 0; i < FUZZ_CONNS; i++) {
		if (conns[i] != NULL)
			conn_unref(conns[i]);
		if (peers[i] != -1)
			close(peers[i]);
	}
	pool_destroy(1000);
	FUZZ_CHECK(conn_count() == 0, "%zu connections left", conn_count());
	FUZZ_CHECK(fuzz_closed == fuzz_opened, "%d opened, %d closed", fuzz_opened, fuzz_closed);
	conn_destroy();
	loop_stop();
	event_base_free(fuzz_base);
	stats_clear();
	return 0;
}
