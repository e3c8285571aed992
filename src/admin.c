/*
 * admin.c: the admin console (service = admin), a line protocol for
 * operators over `nc -U /run/echod/admin.sock`. Loop thread.
 *
 * Every reply is zero or more data lines (key=value) followed by one status
 * line: "+OK [text]" or "-ERR <reason>". Commands: STATS, CONNS, KILL <id>,
 * JOBS, SLOWLOG [n], DEBUG [on|off], LOGLEVEL <level> [subsystem], RELOAD,
 * SHUTDOWN [graceful|now], HELP, QUIT.
 *
 * Every command runs inline: closing connections (KILL, SHUTDOWN) only marks
 * them, and the closes run after this callback (conn.h), so the console's
 * own state is never freed under the command loop. The reply is written
 * before the action, so SHUTDOWN now still answers.
 *
 * The console reads the daemon through the statistics registry and small
 * accessor functions; RELOAD and SHUTDOWN go through hooks the server
 * installs (admin_set_hooks), since the server sits above the services.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "access.h"
#include "addr.h"
#include "admin.h"
#include "command.h"
#include "conn.h"
#include "debug.h"
#include "log.h"
#include "pool.h"
#include "service.h"
#include "stats.h"
#include "util.h"

#define ADMIN_SLOWLOG_DEFAULT	10

struct admin {
	struct command_reader	rd;
	int			quit;		/* QUIT or Ctrl-D: run nothing more */
	int			authed;		/* AUTH done, or no token configured */
	unsigned char		token_sha[SHA256_DIGEST_LENGTH];
};


struct admin_cmd {
	const char	*name;
	int		 min, max;		/* argument count */
	void		(*fn)(struct conn *, struct admin_request *);
	const char	*help;
};

#define ADMIN_TOKEN_MAX		256

/* The admin service's options. */
struct admin_conf {
	int	allow_tcp;		/* a TCP bind at all (with auth_token_file) */
	int	allow_remote;		/* a TCP bind on a non-loopback address */
	struct admin_token {
		char	path[256];
		char	token[ADMIN_TOKEN_MAX + 1];	/* "" : none */
	}	auth;
};

static int	admin_token_parse(const char *value, void *field, const char **expect);
static const char *admin_token_format(const void *field, char *buf, size_t size);

static const struct service_key admin_keys[] = {
	{ "allow_tcp", SERVICE_K_BOOL, offsetof(struct admin_conf, allow_tcp), 0, 0, "no",
	  NULL, 0, NULL, NULL },
	{ "allow_remote", SERVICE_K_BOOL, offsetof(struct admin_conf, allow_remote), 0, 0, "no",
	  NULL, 0, NULL, NULL },
	{ "auth_token_file", SERVICE_K_CUSTOM, offsetof(struct admin_conf, auth), 0, 0, "",
	  NULL, 0, admin_token_parse, admin_token_format },
};

static struct admin_hooks admin_hooks;

static void admin_cmd_help(struct conn *, struct admin_request *);
static void admin_auth(struct conn *, struct admin_request *);
static void admin_auth_failed(struct conn *);

void
admin_set_hooks(const struct admin_hooks *h)
{
	admin_hooks = *h;
}

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

/* Every counter, gauge and histogram of the registry; an argument keeps names with that prefix. */
static void
admin_cmd_stats(struct conn *c, struct admin_request *a)
{
	size_t len;
	char *text;

	/* Out of memory: this reply fails, the console stays. */
	if ((text = stats_render_text(a->n > 1 ? a->v[1] : NULL, &len)) == NULL) {
		admin_err(c, "out of memory");
		return;
	}
	conn_write(c, text, len);
	free(text);
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- CONNS, KILL */

static void
admin_conn_cb(const struct conn_info *ci, void *arg)
{
	struct conn *c = arg;

	conn_printf(c, "conn=%" PRIu64 " listener=%s peer=%s state=%s age_ms=%" PRIu64
	    " idle_ms=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " pending_out=%zu"
	    " jobs=%u%s%s%s\r\n", ci->id, ci->owner, ci->peer, ci->state, ci->age_ms, ci->idle_ms,
	    ci->bytes_in, ci->bytes_out, ci->pending_out, ci->jobs, ci->transport, ci->via,
	    ci->id == conn_id(c) ? " self=1" : "");
}

static void
admin_cmd_conns(struct conn *c, struct admin_request *a)
{
	conn_foreach(admin_conn_cb, c);
	admin_ok(c, NULL);
}

static int
admin_parse_u64(const char *s, uint64_t *out)
{
	return util_parse_uint(s, UINT64_MAX, out);
}

static void
admin_cmd_kill(struct conn *c, struct admin_request *a)
{
	uint64_t id;
	char msg[64];

	if (admin_parse_u64(a->v[1], &id) == -1) {
		admin_err(c, "usage: KILL <connection id>");
		return;
	}
	if (conn_find(id) == NULL) {
		admin_err(c, "no such connection");
		return;
	}
	log_info(LOG_S_ADMIN, "kill conn=%" PRIu64 " by=conn=%" PRIu64, id, conn_id(c));
	snprintf(msg, sizeof(msg), "killed conn=%" PRIu64, id);
	admin_ok(c, msg);
	/* Our own connection: flush the reply, then close. */
	if (id == conn_id(c)) {
		((struct admin *)conn_svc_data(c))->quit = 1;
		conn_finish(c);
	} else
		conn_kill(id, CONN_R_ADMIN_KILL);
}

/* ---------------------------------------------------------------- SOURCES */

static void
admin_source_cb(const struct access_source *as, void *arg)
{
	conn_printf(arg, "source=%s listener=%s conns=%u accepted=%" PRIu64 " refused=%" PRIu64
	    " idle_ms=%" PRIu64 "\r\n", as->addr, as->listener, as->conns, as->accepted,
	    as->refused, as->idle_ms);
}

/* The busiest sources of the per-source table: open connections, then refusals. */
static void
admin_cmd_sources(struct conn *c, struct admin_request *a)
{
	uint64_t n = ADMIN_SLOWLOG_DEFAULT;

	if (a->n > 1 && (admin_parse_u64(a->v[1], &n) == -1 || n == 0)) {
		admin_err(c, "usage: SOURCES [n]  (n >= 1)");
		return;
	}
	access_top((size_t)n, admin_source_cb, c);
	admin_ok(c, NULL);
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
admin_cmd_jobs(struct conn *c, struct admin_request *a)
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
	    when, e->name, e->where.conn_id, e->where.listener[0] ? e->where.listener : "-",
	    e->where.peer[0] ? e->where.peer : "-", admin_ms(e->took_us, ms, sizeof(ms)));
}

static void
admin_cmd_slowlog(struct conn *c, struct admin_request *a)
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
admin_cmd_debug(struct conn *c, struct admin_request *a)
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
admin_cmd_loglevel(struct conn *c, struct admin_request *a)
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
	    sub >= 0 ? log_subsys_name((enum log_subsys)sub) : "all", conn_id(c));
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- RELOAD, SHUTDOWN */

static void
admin_cmd_reload(struct conn *c, struct admin_request *a)
{
	log_info(LOG_S_ADMIN, "reload by=conn=%" PRIu64, conn_id(c));
	if (admin_hooks.reload == NULL)
		admin_err(c, "reload is not available");
	else if (admin_hooks.reload() == 0)
		admin_ok(c, "reloaded");
	else
		admin_err(c, "reload failed; the current configuration is kept (see the log)");
}

static void
admin_cmd_shutdown(struct conn *c, struct admin_request *a)
{
	int graceful = 1;

	if (a->n == 2) {
		if (strcasecmp(a->v[1], "now") == 0)
			graceful = 0;
		else if (strcasecmp(a->v[1], "graceful") != 0) {
			admin_err(c, "usage: SHUTDOWN [graceful|now]");
			return;
		}
	}
	if (admin_hooks.shutdown == NULL) {
		admin_err(c, "shutdown is not available");
		return;
	}
	log_info(LOG_S_ADMIN, "shutdown %s by=conn=%" PRIu64, graceful ? "graceful" : "now",
	    conn_id(c));
	/* The answer first: the closes the shutdown asks for run after this callback. */
	admin_ok(c, graceful ? "shutting down gracefully" : "shutting down now");
	((struct admin *)conn_svc_data(c))->quit = 1;
	admin_hooks.shutdown(graceful);
}

/* ---------------------------------------------------------------- QUIT, the table, HELP */

static void
admin_cmd_quit(struct conn *c, struct admin_request *a)
{
	admin_ok(c, "bye");
	((struct admin *)conn_svc_data(c))->quit = 1;
	conn_finish(c);
}

static const struct admin_cmd admin_cmds[] = {
	{ "STATS", 0, 1, admin_cmd_stats,
	  "STATS [prefix] - every counter and gauge (those whose name starts with prefix)" },
	{ "CONNS", 0, 0, admin_cmd_conns, "CONNS - one line per connection" },
	{ "SOURCES", 0, 1, admin_cmd_sources,
	  "SOURCES [n] - the n busiest client sources (default 10)" },
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
admin_cmd_help(struct conn *c, struct admin_request *a)
{
	const struct admin_cmd *cmd;

	for (cmd = admin_cmds; cmd->name != NULL; cmd++)
		conn_printf(c, "%s\r\n", cmd->help);
	admin_ok(c, NULL);
}

/* ---------------------------------------------------------------- AUTH */

/* auth_token_file: the secret is the file's first line; others may not read the file. */
static int
admin_token_parse(const char *value, void *field, const char **expect)
{
	struct admin_token *t = field;
	struct stat st;
	size_t n;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	if (*value == '\0')
		return 0;
	if (strlen(value) >= sizeof(t->path) || value[0] != '/') {
		*expect = "expected an absolute path to a file holding the token";
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s", value);
	if ((fp = fopen(value, "r")) == NULL || fstat(fileno(fp), &st) == -1) {
		if (fp != NULL)
			fclose(fp);
		*expect = "expected a readable file holding the token";
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fclose(fp);
		*expect = "expected a regular file only its owner can read (chmod 600)";
		return -1;
	}
	if (fgets(t->token, sizeof(t->token), fp) == NULL)
		t->token[0] = '\0';
	fclose(fp);
	n = strcspn(t->token, "\r\n");
	t->token[n] = '\0';
	if (n < 16 || n == ADMIN_TOKEN_MAX) {
		memset(t->token, 0, sizeof(t->token));
		*expect = "expected a token of 16 to 255 characters on the file's first line";
		return -1;
	}
	return 0;
}

/* The dump shows the file, never the token. */
static const char *
admin_token_format(const void *field, char *buf, size_t size)
{
	snprintf(buf, size, "%s", ((const struct admin_token *)field)->path);
	return buf;
}

/*
 * With a token, the first line must be "AUTH <token>". The token is
 * compared as SHA-256 digests with CRYPTO_memcmp: constant time, whatever
 * the lengths. Anything else, or a wrong token, ends the session.
 */
/* No AUTH, a malformed one, or a wrong token: logged, and the session ends. */
static void
admin_auth_failed(struct conn *c)
{
	struct admin *ad = conn_svc_data(c);
	char pbuf[128];

	log_warn(LOG_S_ADMIN, "conn=%" PRIu64 " peer=%s admin auth failed", conn_id(c),
	    conn_peer_str(c, pbuf, sizeof(pbuf)));
	ad->quit = 1;
	conn_close(c, CONN_R_AUTH);
}

static void
admin_auth(struct conn *c, struct admin_request *a)
{
	struct admin *ad = conn_svc_data(c);
	unsigned char sha[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)a->v[1], strlen(a->v[1]), sha);
	if (CRYPTO_memcmp(sha, ad->token_sha, sizeof(sha)) == 0) {
		ad->authed = 1;
		log_info(LOG_S_ADMIN, "conn=%" PRIu64 " admin auth ok", conn_id(c));
		admin_ok(c, "authenticated");
		return;
	}
	admin_err(c, "authentication failed");
	admin_auth_failed(c);
}

/* ---------------------------------------------------------------- dispatch */

/* Split req->buf (modified in place) into words; -1 if there are too many. */
static int
admin_split(struct admin_request *req)
{
	char *p = req->buf;

	req->n = 0;
	for (;;) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		if (req->n == ADMIN_MAX_ARGS)
			return -1;
		req->v[req->n++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

int
admin_parse(const char *line, size_t len, int authed, struct admin_request *req)
{
	const struct admin_cmd *cmd;

	memset(req, 0, sizeof(*req));
	req->cmd = -1;
	if (len > ADMIN_MAX_LINE)
		len = ADMIN_MAX_LINE;
	memcpy(req->buf, line, len);
	req->buf[len] = '\0';
	/* a NUL inside the line ends it: what follows is not a word */
	if (admin_split(req) == -1) {
		snprintf(req->error, sizeof(req->error), "too many arguments");
		return -1;
	}
	if (req->n == 0)
		return 0;
	if (!authed) {
		if (strcasecmp(req->v[0], "AUTH") != 0 || req->n != 2) {
			snprintf(req->error, sizeof(req->error), "authentication required: the first "
			    "line must be AUTH <token>");
			return -1;
		}
		return 2;
	}
	for (cmd = admin_cmds; cmd->name != NULL; cmd++) {
		if (strcasecmp(cmd->name, req->v[0]) != 0)
			continue;
		if (req->n - 1 < cmd->min || req->n - 1 > cmd->max) {
			snprintf(req->error, sizeof(req->error), "usage: %s", cmd->help);
			return -1;
		}
		req->cmd = (int)(cmd - admin_cmds);
		return 1;
	}
	snprintf(req->error, sizeof(req->error), "unknown command (try HELP)");
	return -1;
}

const char *
admin_command_name(int cmd)
{
	return cmd >= 0 && cmd < (int)ARRAY_LEN(admin_cmds) - 1 ? admin_cmds[cmd].name : "?";
}

static void
admin_execute(struct conn *c, const char *line, size_t len)
{
	struct admin *ad = conn_svc_data(c);
	struct admin_request req;

	switch (admin_parse(line, len, ad->authed, &req)) {
	case 0:
		return;
	case -1:
		admin_err(c, req.error);
		if (!ad->authed)
			admin_auth_failed(c);
		return;
	case 2:
		admin_auth(c, &req);
		return;
	default:
		log_debug(LOG_S_ADMIN, "conn=%" PRIu64 " command=%s", conn_id(c),
		    admin_cmds[req.cmd].name);
		admin_cmds[req.cmd].fn(c, &req);
	}
}

/* Run every complete line; stop when a command ended this session. */
static void
admin_run(struct conn *c, int eof)
{
	struct admin *ad = conn_svc_data(c);
	const char *line;
	size_t len;

	while (!ad->quit) {
		switch (command_reader_next(&ad->rd, eof, &line, &len)) {
		case COMMAND_EV_NONE:
			return;
		case COMMAND_EV_LINE:
			admin_execute(c, line, len);
			break;
		case COMMAND_EV_TOO_LONG:
			admin_err(c, "line too long");
			break;
		case COMMAND_EV_SB_TOO_LONG:
			admin_err(c, "telnet subnegotiation too long");
			ad->quit = 1;
			conn_finish(c);
			return;
		case COMMAND_EV_INTERRUPT:
		case COMMAND_EV_EOT:
			ad->quit = 1;
			conn_finish(c);
			return;
		}
	}
}

static void
admin_on_open(struct conn *c)
{
	const struct admin_conf *ac = conn_svc_conf(c);
	struct admin *ad = util_calloc(1, sizeof(*ad));

	if (ad == NULL || command_reader_init(&ad->rd, ADMIN_MAX_LINE) == -1) {
		free(ad);
		conn_close_oom(c, "admin session");
		return;
	}
	ad->authed = ac->auth.token[0] == '\0';
	if (!ad->authed)
		SHA256((const unsigned char *)ac->auth.token, strlen(ac->auth.token),
		    ad->token_sha);
	conn_set_svc_data(c, ad);
	log_info(LOG_S_ADMIN, "conn=%" PRIu64 " admin session listener=%s", conn_id(c),
	    conn_owner_name(c));
}

static void
admin_on_data(struct conn *c, const char *data, size_t len)
{
	struct admin *ad = conn_svc_data(c);

	if (command_reader_push(&ad->rd, data, len) == -1) {
		conn_close_oom(c, "admin input");
		return;
	}
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
	struct admin *ad = conn_svc_data(c);

	if (ad == NULL)
		return;
	command_reader_free(&ad->rd);
	free(ad);
	conn_set_svc_data(c, NULL);
}

/*
 * The console listens on unix sockets. TCP, even loopback, needs
 * allow_tcp = yes and an auth_token_file; a non-loopback address needs
 * allow_remote = yes as well.
 */
static int
admin_check_bind(const void *conf, const struct sockaddr *sa, const char **expect)
{
	const struct admin_conf *ac = conf;

	if (sa->sa_family == AF_UNIX)
		return 0;
	if (!ac->allow_tcp || ac->auth.token[0] == '\0') {
		*expect = "expected a unix socket for the admin console (a TCP bind needs "
		    "allow_tcp = yes and auth_token_file)";
		return -1;
	}
	if (!ac->allow_remote && !addr_is_local(sa)) {
		*expect = "expected a unix socket or a loopback address for the admin console (or "
		    "allow_remote = yes)";
		return -1;
	}
	return 0;
}

const struct service service_admin = {
	.name = "admin",
	.flags = SERVICE_F_OPERATOR,
	.keys = admin_keys,
	.nkeys = ARRAY_LEN(admin_keys),
	.conf_size = sizeof(struct admin_conf),
	.check_bind = admin_check_bind,
	.on_open = admin_on_open,
	.on_data = admin_on_data,
	.on_eof = admin_on_eof,
	.on_close = admin_on_close,
};
