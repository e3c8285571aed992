/*
 * admin.c: the admin console (service = admin), a line protocol for
 * operators over `nc -U /run/echod/admin.sock`. Loop thread.
 *
 * Every reply is zero or more data lines (key=value) followed by one status
 * line: "+OK [text]" or "-ERR <reason>". Commands: STATS, CONNS, KILL <id>,
 * JOBS, SLOWLOG [n], DEBUG [on|off], LOGLEVEL <level> [subsystem], RELOAD,
 * SHUTDOWN [graceful|now], HELP, QUIT.
 *
 * Actions that close connections (SHUTDOWN) run from a one-shot event after
 * the reply is written, never inside this connection's read callback, so the
 * console's own state is not freed under the command loop.
 */
#include "autoconf.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "addr.h"
#include "command.h"
#include "config.h"
#include "conn.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "service.h"
#include "tls.h"
#include "util.h"

#define ADMIN_MAX_LINE		1024
#define ADMIN_MAX_ARGS		4
#define ADMIN_SLOWLOG_DEFAULT	10

struct admin {
	struct command_reader	rd;
};

struct admin_args {
	int	 n;
	char	*v[ADMIN_MAX_ARGS];
};

struct admin_cmd {
	const char	*name;
	int		 min, max;		/* argument count */
	void		(*fn)(struct conn *, struct admin_args *);
	const char	*help;
};

static void admin_cmd_help(struct conn *, struct admin_args *);

/* ---------------------------------------------------------------- replies */

static void
admin_ok(struct conn *c, const char *text)
{
	conn_printf(c, "+OK%s%s\r\n", text != NULL ? " " : "", text != NULL ? text : "");
}

static void
admin_err(struct conn *c, const char *reason)
{
	conn_printf(c, "-ERR %s\r\n", reason);
}

/* "0.123" milliseconds from microseconds. */
static const char *
admin_ms(uint64_t us, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
	return buf;
}

/* ---------------------------------------------------------------- STATS */

static void
admin_stats_listeners(struct conn *c)
{
	struct listener *l;

	TAILQ_FOREACH(l, listener_all(), entry)
		conn_printf(c, "listener=%s service=%s current=%" PRIu64 " total=%" PRIu64
		    " rejected=%" PRIu64 " rejected_fd_limit=%" PRIu64 " paused=%d\r\n", l->name,
		    l->svc->name, l->current, l->total, l->rejected, l->rejected_fd_limit,
		    l->paused == 1);
}

/*
 * Refused connections by reason: at accept (descriptor shortage, other
 * accept errors; live listeners) and in the TLS handshake.
 */
static void
admin_stats_rejected(struct conn *c)
{
	struct tls_stats ts;
	struct listener *l;
	uint64_t fd = 0, all = 0;
	int i;

	TAILQ_FOREACH(l, listener_all(), entry) {
		fd += l->rejected_fd_limit;
		all += l->rejected;
	}
	tls_get_stats(&ts);
	conn_printf(c, "connections_rejected=%" PRIu64 "\r\nconnections_rejected_fd_limit=%" PRIu64
	    "\r\nconnections_rejected_accept_error=%" PRIu64 "\r\n", listener_rejected_total(), fd,
	    all - fd);
	conn_printf(c, "tls_handshakes_ok=%" PRIu64 "\r\ntls_handshakes_failed=%" PRIu64 "\r\n",
	    ts.handshakes_ok, ts.handshakes_failed);
	for (i = 0; i < TLS_FAIL_COUNT; i++)
		conn_printf(c, "tls_failed=%s count=%" PRIu64 "\r\n", tls_fail_name((enum tls_fail)i),
		    ts.failed[i]);
}

static void
admin_cmd_stats(struct conn *c, struct admin_args *a)
{
	struct conn_stats cs;
	struct pool_stats ps;
	struct log_stats ls;
	struct debug_stats ds;
	char b1[32], b2[32], b3[32];

	conn_get_stats(&cs);
	pool_get_stats(&ps);
	log_get_stats(&ls);
	debug_get_stats(&ds);
	conn_printf(c, "uptime_s=%" PRIu64 "\r\n", (util_now_ms() - server_start_ms()) / 1000);
	conn_printf(c, "debug=%s\r\n", ds.enabled ? "on" : "off");
	conn_printf(c, "connections_current=%" PRIu64 "\r\nconnections_total=%" PRIu64 "\r\n",
	    cs.current, cs.total);
	admin_stats_rejected(c);
	conn_printf(c, "bytes_in=%" PRIu64 "\r\nbytes_out=%" PRIu64 "\r\n", cs.bytes_in,
	    cs.bytes_out);
	admin_stats_listeners(c);
	conn_printf(c, "jobs_workers=%" PRIu64 "\r\njobs_queued=%" PRIu64 "\r\njobs_running=%"
	    PRIu64 "\r\njobs_submitted=%" PRIu64 "\r\njobs_rejected=%" PRIu64 "\r\n"
	    "jobs_completed=%" PRIu64 "\r\njobs_failed=%" PRIu64 "\r\njobs_cancelled=%" PRIu64
	    "\r\njobs_timed_out=%" PRIu64 "\r\n", ps.workers, ps.queued, ps.running, ps.submitted,
	    ps.rejected, ps.completed, ps.failed, ps.cancelled, ps.timed_out);
	conn_printf(c, "jobs_never_retrieved=%" PRIu64 "\r\njobs_never_scheduled=%" PRIu64 "\r\n",
	    ds.never_retrieved, ds.never_scheduled);
	conn_printf(c, "log_written=%" PRIu64 "\r\nlog_dropped=%" PRIu64 "\r\n", ls.written,
	    ls.dropped);
	conn_printf(c, "slow_callbacks=%" PRIu64 "\r\nslow_callback_ms=%" PRIu64 "\r\n"
	    "wrong_thread_calls=%" PRIu64 "\r\n", ds.slow_callbacks, ds.slow_callback_ms,
	    ds.wrong_thread);
	conn_printf(c, "loop_lag_p50_ms=%s\r\nloop_lag_p99_ms=%s\r\nloop_lag_max_ms=%s\r\n",
	    admin_ms(ds.lag_p50_us, b1, sizeof(b1)), admin_ms(ds.lag_p99_us, b2, sizeof(b2)),
	    admin_ms(ds.lag_max_us, b3, sizeof(b3)));
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- CONNS, KILL */

static void
admin_cmd_conns(struct conn *c, struct admin_args *a)
{
	uint64_t now = conn_now_ms();
	char pbuf[ADDR_STRLEN];
	struct conn *o;

	TAILQ_FOREACH(o, conn_all(), entry)
		conn_printf(c, "conn=%" PRIu64 " listener=%s peer=%s state=%s age_ms=%" PRIu64
		    " idle_ms=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " jobs=%u%s\r\n",
		    o->id, o->listener->name, conn_peer_str(o, pbuf, sizeof(pbuf)),
		    conn_state_name(o->state), now - o->created_ms, now - o->last_active_ms,
		    o->bytes_in, o->bytes_out, o->jobs, o == c ? " self=1" : "");
	admin_ok(c, NULL);
}

static int
admin_parse_u64(const char *s, uint64_t *out)
{
	return util_parse_uint(s, UINT64_MAX, out);
}

static void
admin_cmd_kill(struct conn *c, struct admin_args *a)
{
	struct conn *o;
	uint64_t id;
	char msg[64];

	if (admin_parse_u64(a->v[1], &id) == -1) {
		admin_err(c, "usage: KILL <connection id>");
		return;
	}
	if ((o = conn_find(id)) == NULL || !conn_is_alive(o)) {
		admin_err(c, "no such connection");
		return;
	}
	log_info(LOG_S_ADMIN, "kill conn=%" PRIu64 " by=conn=%" PRIu64, id, c->id);
	snprintf(msg, sizeof(msg), "killed conn=%" PRIu64, id);
	admin_ok(c, msg);
	/* Our own connection: flush the reply, then close (never free under our feet). */
	if (o == c)
		conn_finish(c);
	else
		conn_close(o, "admin-kill");
}

/* ---------------------------------------------------------------- JOBS, SLOWLOG */

/* Queued and running jobs; "done" ones only wait for their completion to be delivered. */
static void
admin_job_cb(const struct pool_job_info *ji, void *arg)
{
	if (strcmp(ji->state, "done") == 0)
		return;
	conn_printf(arg, "job kind=%s conn=%" PRIu64 " state=%s age_ms=%" PRIu64 " site=%s:%d\r\n",
	    ji->kind, ji->conn_id, ji->state, ji->age_ms, ji->file != NULL ? ji->file : "?",
	    ji->line);
}

static void
admin_cmd_jobs(struct conn *c, struct admin_args *a)
{
	pool_foreach_job(admin_job_cb, c);
	admin_ok(c, NULL);
}

static void
admin_slow_cb(const struct debug_slow *e, void *arg)
{
	char when[32], ms[32];
	struct tm tm;

	gmtime_r(&e->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	conn_printf(arg, "time=%s name=%s conn=%" PRIu64 " listener=%s peer=%s took_ms=%s\r\n",
	    when, e->name, e->conn_id, e->listener[0] ? e->listener : "-",
	    e->peer[0] ? e->peer : "-", admin_ms(e->took_us, ms, sizeof(ms)));
}

static void
admin_cmd_slowlog(struct conn *c, struct admin_args *a)
{
	uint64_t n = ADMIN_SLOWLOG_DEFAULT;

	if (a->n > 1 && (admin_parse_u64(a->v[1], &n) == -1 || n == 0)) {
		admin_err(c, "usage: SLOWLOG [n]  (n >= 1)");
		return;
	}
	debug_slowlog_foreach((size_t)n, admin_slow_cb, c);
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- DEBUG, LOGLEVEL */

static void
admin_cmd_debug(struct conn *c, struct admin_args *a)
{
	int on;

	if (a->n == 1) {
		conn_printf(c, "debug=%s\r\n", debug_on() ? "on" : "off");
		admin_ok(c, NULL);
		return;
	}
	if (util_parse_bool(a->v[1], &on) == -1) {
		admin_err(c, "usage: DEBUG [on|off]");
		return;
	}
	debug_set_enabled(on, "admin");
	admin_ok(c, on ? "debug on" : "debug off");
}

static void
admin_cmd_loglevel(struct conn *c, struct admin_args *a)
{
	int level = log_level_parse(a->v[1]), sub = -1;

	if (level < 0) {
		admin_err(c, "unknown level (expected debug, info, warning, error or critical)");
		return;
	}
	if (a->n == 3 && (sub = log_subsys_parse(a->v[2])) < 0) {
		admin_err(c, "unknown subsystem");
		return;
	}
	if (sub >= 0)
		log_set_subsys_level((enum log_subsys)sub, level);
	else
		log_set_level((enum log_level)level);
	log_info(LOG_S_ADMIN, "log level=%s subsystem=%s by=conn=%" PRIu64,
	    log_level_name((enum log_level)level),
	    sub >= 0 ? log_subsys_name((enum log_subsys)sub) : "all", c->id);
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- RELOAD, SHUTDOWN */

static void
admin_cmd_reload(struct conn *c, struct admin_args *a)
{
	const struct config *before = server_config();

	log_info(LOG_S_ADMIN, "reload by=conn=%" PRIu64, c->id);
	server_reload();
	/* The server swaps in a new config only when the reload succeeded. */
	if (server_config() != before)
		admin_ok(c, "reloaded");
	else
		admin_err(c, "reload failed; the current configuration is kept (see the log)");
}

static void
admin_shutdown_body(intptr_t graceful)
{
	server_shutdown((int)graceful);
}

static void
admin_shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
	DEBUG_CB("admin_shutdown_cb", NULL, NULL, admin_shutdown_body((intptr_t)arg));
}

static void
admin_cmd_shutdown(struct conn *c, struct admin_args *a)
{
	struct timeval now = { 0, 0 };
	intptr_t graceful = 1;

	if (a->n == 2) {
		if (strcasecmp(a->v[1], "now") == 0)
			graceful = 0;
		else if (strcasecmp(a->v[1], "graceful") != 0) {
			admin_err(c, "usage: SHUTDOWN [graceful|now]");
			return;
		}
	}
	if (event_base_once(server_base(), -1, EV_TIMEOUT, admin_shutdown_cb, (void *)graceful,
	    &now) == -1) {
		admin_err(c, "cannot schedule the shutdown");
		return;
	}
	log_info(LOG_S_ADMIN, "shutdown %s by=conn=%" PRIu64, graceful ? "graceful" : "now", c->id);
	admin_ok(c, graceful ? "shutting down gracefully" : "shutting down now");
}

/* ---------------------------------------------------------------- QUIT, the table, HELP */

static void
admin_cmd_quit(struct conn *c, struct admin_args *a)
{
	admin_ok(c, "bye");
	conn_finish(c);
}

static const struct admin_cmd admin_cmds[] = {
	{ "STATS", 0, 0, admin_cmd_stats, "STATS - counters, gauges and loop lag" },
	{ "CONNS", 0, 0, admin_cmd_conns, "CONNS - one line per connection" },
	{ "KILL", 1, 1, admin_cmd_kill, "KILL <id> - close a connection" },
	{ "JOBS", 0, 0, admin_cmd_jobs, "JOBS - queued and running pool jobs" },
	{ "SLOWLOG", 0, 1, admin_cmd_slowlog, "SLOWLOG [n] - the last n slow callbacks (default 10)" },
	{ "DEBUG", 0, 1, admin_cmd_debug, "DEBUG [on|off] - show or set debug mode" },
	{ "LOGLEVEL", 1, 2, admin_cmd_loglevel,
	  "LOGLEVEL <level> [subsystem] - set the log level, for all or one subsystem" },
	{ "RELOAD", 0, 0, admin_cmd_reload, "RELOAD - reload the configuration file" },
	{ "SHUTDOWN", 0, 1, admin_cmd_shutdown, "SHUTDOWN [graceful|now] - stop the server" },
	{ "HELP", 0, 0, admin_cmd_help, "HELP - this list" },
	{ "QUIT", 0, 0, admin_cmd_quit, "QUIT - close this connection" },
	{ NULL, 0, 0, NULL, NULL },
};

static void
admin_cmd_help(struct conn *c, struct admin_args *a)
{
	const struct admin_cmd *cmd;

	for (cmd = admin_cmds; cmd->name != NULL; cmd++)
		conn_printf(c, "%s\r\n", cmd->help);
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- dispatch */

/* Split a line (modified in place) into words; -1 if there are too many. */
static int
admin_split(char *line, struct admin_args *a)
{
	char *p = line;

	a->n = 0;
	for (;;) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		if (a->n == ADMIN_MAX_ARGS)
			return -1;
		a->v[a->n++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

static void
admin_execute(struct conn *c, const char *line, size_t len)
{
	const struct admin_cmd *cmd;
	struct admin_args a;
	char buf[ADMIN_MAX_LINE + 1];

	if (len > ADMIN_MAX_LINE)
		len = ADMIN_MAX_LINE;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (admin_split(buf, &a) == -1) {
		admin_err(c, "too many arguments");
		return;
	}
	if (a.n == 0)
		return;
	for (cmd = admin_cmds; cmd->name != NULL; cmd++) {
		if (strcasecmp(cmd->name, a.v[0]) != 0)
			continue;
		if (a.n - 1 < cmd->min || a.n - 1 > cmd->max) {
			conn_printf(c, "-ERR usage: %s\r\n", cmd->help);
			return;
		}
		log_debug(LOG_S_ADMIN, "conn=%" PRIu64 " command=%s", c->id, cmd->name);
		cmd->fn(c, &a);
		return;
	}
	admin_err(c, "unknown command (try HELP)");
}

/* Run every complete line; stop when a command ended this connection's service. */
static void
admin_run(struct conn *c, int eof)
{
	struct admin *ad = c->svc_data;
	const char *line;
	size_t len;

	while (c->state == CONN_S_OPEN) {
		switch (command_reader_next(&ad->rd, eof, &line, &len)) {
		case COMMAND_EV_NONE:
			return;
		case COMMAND_EV_LINE:
			admin_execute(c, line, len);
			break;
		case COMMAND_EV_TOO_LONG:
			admin_err(c, "line too long");
			break;
		case COMMAND_EV_INTERRUPT:
		case COMMAND_EV_EOT:
			conn_finish(c);
			return;
		}
	}
}

static void
admin_on_open(struct conn *c)
{
	struct admin *ad = xcalloc(1, sizeof(*ad));

	command_reader_init(&ad->rd, ADMIN_MAX_LINE);
	c->svc_data = ad;
	log_info(LOG_S_ADMIN, "conn=%" PRIu64 " admin session listener=%s", c->id,
	    c->listener->name);
}

static void
admin_on_data(struct conn *c, const char *data, size_t len)
{
	struct admin *ad = c->svc_data;

	command_reader_push(&ad->rd, data, len);
	admin_run(c, 0);
}

static void
admin_on_eof(struct conn *c)
{
	admin_run(c, 1);
	conn_finish(c);
}

static void
admin_on_close(struct conn *c)
{
	struct admin *ad = c->svc_data;

	if (ad == NULL)
		return;
	command_reader_free(&ad->rd);
	free(ad);
	c->svc_data = NULL;
}

const struct service service_admin = {
	.name = "admin",
	.on_open = admin_on_open,
	.on_data = admin_on_data,
	.on_eof = admin_on_eof,
	.on_close = admin_on_close,
};
