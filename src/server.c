/*
 * server.c: the process. Owns the event_base (main thread), the signal
 * events, the start-up order, reload (SIGHUP) and graceful shutdown
 * (SIGTERM/SIGINT). Every function here runs on the loop thread.
 *
 * Start-up: config -> log sink -> listeners bound -> signals -> accepting
 * -> log thread -> loop. Shutdown: stop accepting (a reuse_port socket
 * first accepts what the kernel queued on it), read what has already
 * arrived, then ask every connection to finish (flush what is owed), exit
 * when none is left or at shutdown_timeout.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "access.h"
#include "admin.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "debug.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pool.h"
#include "sd.h"
#include "server.h"
#include "stats.h"
#include "tls.h"
#include "udp.h"
#include "util.h"

static struct event_base   *server_evbase;
static struct config       *server_cf;
static struct server_opts   server_o;
static uint64_t             server_started_ms;
static time_t               server_started_wall;
static int                  server_stopping;
static int                  server_exit_code;
static struct event        *server_sig_term, *server_sig_int, *server_sig_hup, *server_sig_usr1;
static struct event        *server_shutdown_ev, *server_finish_ev;

/* Settings that apply to the running process, at start-up and on reload. */
static int
server_apply_log(const struct config *cf, char **err)
{
	struct log_conf lc;

	memset(&lc, 0, sizeof(lc));
	lc.level = cf->log_level;
	memcpy(lc.subsys_level, cf->log_subsys_level, sizeof(lc.subsys_level));
	lc.target = cf->log_target;
	lc.facility = cf->log_facility;
	lc.queue_size = cf->log_queue_size;
	if (log_configure(&lc, err) == -1)
		return -1;
	if (server_o.log_level >= 0)
		log_set_level((enum log_level)server_o.log_level);
	return 0;
}

static void
server_apply_limits(const struct config *cf)
{
	conn_set_limits(cf->write_high_watermark, cf->write_low_watermark, cf->linger_timeout_ms);
	conn_set_log_connections(cf->log_connections);
	listener_set_global_max(cf->max_connections);
	access_configure(server_evbase, cf);
	listener_check_limits();
	debug_configure(cf->debug_enabled, cf->debug_slow_callback_ms, cf->debug_slowlog_size);
	loop_set_lag_threshold(cf->debug_lag_threshold_ms);
	daemon_raise_nofile(cf->max_connections,
	    cf->metrics_bind != NULL && *cf->metrics_bind != '\0' ? cf->metrics_max_connections : 0);
}

/* The [metrics] section as metrics.c takes it. */
static int
server_apply_metrics(const struct config *cf, char **err)
{
	struct metrics_conf mc;

	mc.bind = cf->metrics_bind;
	mc.max_connections = cf->metrics_max_connections;
	mc.request_timeout_ms = cf->metrics_request_timeout_ms;
	return metrics_configure(server_evbase, &mc, err);
}

/* ---------------------------------------------------------------- reload */

/* Load the config the server was started with (file, or defaults when it had none). */
static struct config *
server_load_config(struct config_errors *errs)
{
	struct config *cf = NULL;

	if (server_o.config_path == NULL)
		return config_default();
	if (!server_o.config_explicit && access(server_o.config_path, F_OK) == -1 && errno == ENOENT)
		return config_default();
	if (config_load(server_o.config_path, &cf, errs) == -1)
		return NULL;
	return cf;
}

/* A listener opened or staged: TCP and unix (listener.c) or UDP (udp.c). */
struct server_staged {
	struct listener		*tcp;
	struct udp_listener	*udp;
};

static void
server_discard_staged(struct server_staged *st)
{
	if (st->tcp != NULL)
		listener_discard(st->tcp);
	if (st->udp != NULL)
		udp_discard(st->udp);
	st->tcp = NULL;
	st->udp = NULL;
}

/*
 * Bind what `lc` needs: everything (start-up), or, on reload, what the
 * live listener of its name and kind does not have. A listener that
 * changes kind is a new one (the old one closes at commit).
 */
static int
server_open_listener(const struct listener_conf *lc, int reload, struct server_staged *st,
    char **err)
{
	if (lc->udp)
		st->udp = udp_open(lc, reload ? udp_find(lc->name) : NULL, err);
	else
		st->tcp = listener_open(lc, reload ? listener_find(lc->name) : NULL, err);
	return st->udp != NULL || st->tcp != NULL ? 0 : -1;
}

/* Bind what the new config adds; on failure undo and report. */
static int
server_stage_listeners(const struct config *cf, struct server_staged *staged, char **err)
{
	size_t i;

	for (i = 0; i < cf->nlisteners; i++) {
		if (server_open_listener(cf->listeners[i], 1, &staged[i], err) == -1) {
			while (i-- > 0)
				server_discard_staged(&staged[i]);
			return -1;
		}
	}
	return 0;
}

static int
server_listener_kept(const char *name, void *arg)
{
	const struct listener_conf *lc = config_find_listener(arg, name);

	return lc != NULL && !lc->udp;
}

static int
server_udp_kept(const char *name, void *arg)
{
	const struct listener_conf *lc = config_find_listener(arg, name);

	return lc != NULL && lc->udp;
}

/* Commit: cannot fail. Removed listeners close; their connections live on. */
static void
server_commit_listeners(const struct config *cf, struct server_staged *staged, int *added,
    int *removed)
{
	struct udp_listener *u;
	struct listener *l;
	size_t i;

	*removed = listener_close_unless(server_listener_kept, (void *)cf);
	*removed += udp_close_unless(server_udp_kept, (void *)cf);
	for (i = 0; i < cf->nlisteners; i++) {
		if (cf->listeners[i]->udp) {
			if ((u = udp_find(cf->listeners[i]->name)) != NULL)
				udp_merge(u, staged[i].udp, cf->listeners[i]);
			else {
				udp_start(staged[i].udp);
				(*added)++;
			}
			continue;
		}
		l = listener_find(cf->listeners[i]->name);
		if (l != NULL)
			listener_merge(l, staged[i].tcp, cf->listeners[i]);
		else {
			listener_start(staged[i].tcp);
			(*added)++;
		}
	}
}

static void
server_warn_restart_uint(const char *key, uint64_t was, uint64_t now)
{
	if (was != now)
		log_warn(LOG_S_CONFIG, "reload: %s changed from %" PRIu64 " to %" PRIu64 ": applies "
		    "only after a restart", key, was, now);
}

static void
server_warn_restart_str(const char *key, const char *was, const char *now)
{
	if (strcmp(was != NULL ? was : "", now != NULL ? now : "") != 0)
		log_warn(LOG_S_CONFIG, "reload: %s changed from '%s' to '%s': applies only after a "
		    "restart", key, was != NULL ? was : "", now != NULL ? now : "");
}

/* Socket options are set when a socket is bound: kept ones keep the old values. */
static void
server_warn_rebind(const struct listener_conf *was, const struct listener_conf *lc)
{
	if (was->backlog != lc->backlog || was->reuse_port != lc->reuse_port ||
	    was->unix_mode != lc->unix_mode)
		log_warn(LOG_S_CONFIG, "reload: [listener %s] backlog, reuse_port or unix_mode "
		    "changed: applies only to addresses bound from now on", lc->name);
}

/* Keys read once at start-up: a reload keeps the old value and says so. */
static void
server_warn_restart(const struct config *was, const struct config *cf)
{
	const struct listener_conf *old;
	size_t i;

	server_warn_restart_str("[server] pidfile", was->pidfile, cf->pidfile);
	server_warn_restart_str("[server] user", was->user, cf->user);
	server_warn_restart_str("[server] group", was->group, cf->group);
	server_warn_restart_uint("[server] workers", was->workers, cf->workers);
	server_warn_restart_uint("[log] queue_size", was->log_queue_size, cf->log_queue_size);
	for (i = 0; i < cf->nlisteners; i++)
		if ((old = config_find_listener(was, cf->listeners[i]->name)) != NULL)
			server_warn_rebind(old, cf->listeners[i]);
}

/* Warnings of a configuration that loads ("a key this service ignores"). */
static void
server_log_warnings(const struct config *cf)
{
	size_t i;

	for (i = 0; i < cf->nwarnings; i++)
		log_warn(LOG_S_CONFIG, "config warning: %s", cf->warnings[i]);
}

static void
server_reload_failed(struct config_errors *errs, const char *why)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		log_error(LOG_S_CONFIG, "config error: %s", errs->msgs[i]);
	if (why != NULL)
		log_error(LOG_S_CONFIG, "config error: %s", why);
	log_error(LOG_S_CONFIG, "reload failed errors=%zu, keeping the current configuration",
	    errs->n + (why != NULL));
	sd_notify_ready();
}

/* Reload: 0 applied, -1 refused (the old configuration stays). Signals and the console. */
static int
server_reload(void)
{
	struct config_errors errs = { NULL, 0 };
	struct server_staged *staged;
	struct config *cf;
	char *err = NULL;
	int added = 0, removed = 0;

	if (server_stopping) {
		log_info(LOG_S_SERVER, "reload ignored: shutting down");
		return -1;
	}
	log_info(LOG_S_SERVER, "reloading config=%s",
	    server_o.config_path != NULL ? server_o.config_path : "(built-in defaults)");
	sd_notify_reloading();
	if ((cf = server_load_config(&errs)) == NULL) {
		server_reload_failed(&errs, NULL);
		config_errors_free(&errs);
		return -1;
	}
	server_log_warnings(cf);
	staged = xcalloc(cf->nlisteners + 1, sizeof(*staged));
	if (server_stage_listeners(cf, staged, &err) == -1)
		goto fail;
	/*
	 * The log sink and the metrics address are the two steps that commit as
	 * they succeed. The sink goes first: a failed sink changes nothing, and a
	 * metrics bind that fails afterwards puts the old sink back, so a refused
	 * reload really keeps the running configuration.
	 */
	if (server_apply_log(cf, &err) == -1)
		goto fail_staged;
	/* A new metrics address is bound before the old one closes. */
	if (server_apply_metrics(cf, &err) == -1) {
		char *lerr = NULL;

		if (server_apply_log(server_cf, &lerr) == -1) {
			log_error(LOG_S_CONFIG, "cannot restore the previous log settings: %s", lerr);
			free(lerr);
		}
		goto fail_staged;
	}
	server_commit_listeners(cf, staged, &added, &removed);
	free(staged);
	server_apply_limits(cf);
	pool_set_limits(cf->job_queue_max, cf->job_timeout_ms);
	server_warn_restart(server_cf, cf);
	config_free(server_cf);
	server_cf = cf;
	log_info(LOG_S_SERVER, "reload ok listeners=%zu added=%d removed=%d", cf->nlisteners, added,
	    removed);
	sd_notify_ready();
	return 0;
fail_staged:
	for (size_t i = 0; i < cf->nlisteners; i++)
		server_discard_staged(&staged[i]);
fail:
	server_reload_failed(&errs, err);
	free(err);
	free(staged);
	config_free(cf);
	return -1;
}

/* ---------------------------------------------------------------- shutdown */

static void
server_check_done(void)
{
	if (server_stopping && conn_count() == 0)
		event_base_loopexit(server_evbase, NULL);
}

/* listener.c's hook: a connection ended (a shutdown completes at zero). */
static void
server_conn_closed(void)
{
	/* Its descriptor is free: a metrics address paused at EMFILE may accept again. */
	metrics_fd_released();
	if (server_stopping)
		server_check_done();
}

/* ---------------------------------------------------------------- pending report */

struct server_pending {
	const char	*when;
	size_t		 njobs;
	int		 count_only;
};

static void
server_pending_job_cb(const struct pool_job_info *ji, void *arg)
{
	struct server_pending *p = arg;

	if (strcmp(ji->state, "done") == 0)
		return;
	p->njobs++;
	if (p->count_only)
		return;
	log_warn(LOG_S_DEBUG, "pending at %s: job kind=%s conn=%" PRIu64 " state=%s age_ms=%"
	    PRIu64 " site=%s:%d", p->when, ji->kind, ji->conn_id, ji->state, ji->age_ms,
	    ji->file != NULL ? ji->file : "?", ji->line);
}

static void
server_pending_conn_cb(const struct conn_info *ci, void *arg)
{
	const struct server_pending *p = arg;

	log_warn(LOG_S_DEBUG, "pending at %s: conn=%" PRIu64 " listener=%s peer=%s state=%s "
	    "age_ms=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " pending_out=%zu "
	    "jobs=%u", p->when, ci->id, ci->owner, ci->peer, ci->state, ci->age_ms, ci->bytes_in,
	    ci->bytes_out, ci->pending_out, ci->jobs);
}

void
server_report_pending(const char *when)
{
	struct server_pending p = { when, 0, 1 };
	size_t nconns = conn_count();

	pool_foreach_job(server_pending_job_cb, &p);
	if (nconns == 0 && p.njobs == 0) {
		log_debug(LOG_S_DEBUG, "pending at %s: nothing", when);
		return;
	}
	log_warn(LOG_S_DEBUG, "pending at %s: connections=%zu jobs=%zu", when, nconns, p.njobs);
	conn_foreach(server_pending_conn_cb, &p);
	p.njobs = 0;
	p.count_only = 0;
	pool_foreach_job(server_pending_job_cb, &p);
}

static void
server_shutdown_timeout_body(void)
{
	log_warn(LOG_S_SERVER, "shutdown timeout after %" PRIu64 "ms: closing connections=%zu",
	    server_cf->shutdown_timeout_ms, conn_count());
	server_report_pending("shutdown-timeout");
	conn_close_all(CONN_R_SHUTDOWN_TIMEOUT);
	event_base_loopexit(server_evbase, NULL);
}

static void
server_shutdown_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("server_shutdown_timeout_cb", NULL, NULL, server_shutdown_timeout_body());
}

/*
 * The second step of a graceful shutdown, one loop iteration after the
 * signal: every connection is asked to finish (flush what it owes, then
 * close) and queued jobs answer "shutting down".
 */
static void
server_finish_body(void)
{
	pool_shutdown_begin();
	conn_shutdown_all();
	server_check_done();
}

static void
server_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	LOOP_CB("server_finish_cb", NULL, NULL, server_finish_body());
}

static void
server_shutdown(int graceful)
{
	struct timeval tv, now = { 0, 0 };

	if (!server_stopping)
		sd_notify_stopping();
	if (server_stopping || !graceful) {
		log_warn(LOG_S_SERVER, "immediate shutdown connections=%zu", conn_count());
		server_exit_code = ECHOD_EX_FAIL;
		server_stopping = 1;
		server_report_pending("shutdown-now");
		conn_close_all(CONN_R_SHUTDOWN_NOW);
		event_base_loopbreak(server_evbase);
		return;
	}
	server_stopping = 1;
	log_info(LOG_S_SERVER, "shutting down gracefully connections=%zu timeout_ms=%" PRIu64,
	    conn_count(), server_cf->shutdown_timeout_ms);
	/* reuse_port sockets accept what the kernel queued on them first (listener.c). */
	listener_close_all();
	/* UDP replies still queued get their last try here. */
	udp_close_all();
	/*
	 * Connections finish on the next loop iteration, not now: libevent runs
	 * the read callbacks that iteration's poll reports before its timers,
	 * so input the kernel already holds (a request sent just before the
	 * signal, or by a client just accepted from a queue) is read and
	 * answered rather than dropped. Queued jobs then complete with
	 * "shutting down"; running ones may still reply.
	 */
	server_finish_ev = evtimer_new(server_evbase, server_finish_cb, NULL);
	tv.tv_sec = (time_t)(server_cf->shutdown_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(server_cf->shutdown_timeout_ms % 1000) * 1000;
	server_shutdown_ev = evtimer_new(server_evbase, server_shutdown_timeout_cb, NULL);
	if (server_shutdown_ev == NULL || server_finish_ev == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(server_finish_ev, &now);
	evtimer_add(server_shutdown_ev, &tv);
}

/* ---------------------------------------------------------------- signals */

static void
server_signal_body(evutil_socket_t sig)
{
	log_info(LOG_S_SERVER, "signal=SIG%s", sigabbrev_np((int)sig) != NULL ?
	    sigabbrev_np((int)sig) : "?");
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		server_shutdown(1);
		break;
	case SIGHUP:
		(void)server_reload();
		break;
	case SIGUSR1:
		log_info(LOG_S_SERVER, "reopening log");
		log_reopen();
		break;
	}
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	LOOP_CB("server_signal_cb", NULL, NULL, server_signal_body(sig));
}

static struct event *
server_signal_new(int sig)
{
	struct event *ev = evsignal_new(server_evbase, sig, server_signal_cb, NULL);

	if (ev == NULL || evsignal_add(ev, NULL) == -1)
		fatalx("cannot install handler for signal %d", sig);
	return ev;
}

/* ---------------------------------------------------------------- statistics */

static void
server_collect_build(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, 1, PACKAGE_VERSION);
}

static void
server_collect_start(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, (uint64_t)server_started_wall * 1000000);
}

static void
server_collect_uptime(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, (util_now_ms() - server_started_ms) * 1000);
}

static void
server_collect_oom(struct stats_emit *e, void *arg)
{
	stats_emit_u64(e, util_oom_count());
}

static const struct stats_family server_families[] = {
	{ "build_info", STATS_GAUGE, STATS_UNIT_NONE, "Always 1; the version is a label.",
	  { "version", NULL }, server_collect_build, NULL },
	{ "start_time_seconds", STATS_GAUGE, STATS_UNIT_SECONDS,
	  "Start time, seconds since the epoch.", { NULL }, server_collect_start, NULL },
	{ "uptime_seconds", STATS_GAUGE, STATS_UNIT_SECONDS, "Seconds since start.", { NULL },
	  server_collect_uptime, NULL },
	{ "allocation_failures_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Runtime allocations that failed; each cost one connection, reply or log line, "
	  "never the daemon.", { NULL }, server_collect_oom, NULL },
};

static void
server_register_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(server_families); i++)
		stats_register(&server_families[i]);
}

static void
server_unregister_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(server_families); i++)
		stats_unregister(&server_families[i]);
}

/* ---------------------------------------------------------------- run */

static int
server_open_listeners(void)
{
	struct server_staged *opened;
	char *err = NULL;
	size_t i;

	opened = xcalloc(server_cf->nlisteners + 1, sizeof(*opened));
	for (i = 0; i < server_cf->nlisteners; i++) {
		if (server_open_listener(server_cf->listeners[i], 0, &opened[i], &err) == -1) {
			log_crit(LOG_S_SERVER, "cannot start: %s", err);
			free(err);
			while (i-- > 0)
				server_discard_staged(&opened[i]);
			free(opened);
			return -1;
		}
	}
	for (i = 0; i < server_cf->nlisteners; i++) {
		if (opened[i].udp != NULL)
			udp_start(opened[i].udp);
		else
			listener_start(opened[i].tcp);
	}
	free(opened);
	return 0;
}

static void server_unregister_stats(void);

static void
server_cleanup(void)
{
	struct event **evs[] = { &server_sig_term, &server_sig_int, &server_sig_hup,
	    &server_sig_usr1, &server_shutdown_ev, &server_finish_ev };
	size_t i;

	server_report_pending("exit");
	listener_close_all();
	udp_close_all();
	conn_close_all(CONN_R_EXIT);
	/* Owed completions run here and drop their connection references. */
	pool_destroy(server_cf->shutdown_timeout_ms < 1000 ? server_cf->shutdown_timeout_ms : 1000);
	conn_destroy();
	listener_destroy();
	udp_destroy();
	access_stop();
	for (i = 0; i < ARRAY_LEN(evs); i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	sd_stop();
	metrics_stop();
	tls_stop();
	log_unregister_stats();
	server_unregister_stats();
	loop_stop();
	debug_stop();
	event_base_free(server_evbase);
	server_evbase = NULL;
	config_free(server_cf);
	server_cf = NULL;
	debug_report_leaks();
}

int
server_run(const struct server_opts *opts, struct config *cf)
{
	static const struct admin_hooks hooks = { server_reload, server_shutdown };
	const char *why = NULL;
	char *err = NULL;

	server_o = *opts;
	server_cf = cf;
	server_started_ms = util_now_ms();
	server_started_wall = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((server_evbase = loop_base_new(&why)) == NULL)
		fatalx("cannot create the event base: %s", why);
	if (server_apply_log(cf, &err) == -1) {
		log_crit(LOG_S_SERVER, "cannot start: %s", err);
		free(err);
		return ECHOD_EX_CONFIG;
	}
	log_info(LOG_S_SERVER, "echod %s starting pid=%ld config=%s libevent=%s backend=%s",
	    PACKAGE_VERSION, (long)getpid(), cf->path != NULL ? cf->path : "(built-in defaults)",
	    event_get_version(), event_base_get_method(server_evbase));
	server_log_warnings(cf);
	server_register_stats();
	debug_init(server_o.debug);
	loop_start(server_evbase);
	log_register_stats();
	tls_init();
	access_init();
	conn_init(server_evbase);
	listener_init(server_evbase);
	udp_init(server_evbase);
	listener_set_conn_closed_hook(server_conn_closed);
	admin_set_hooks(&hooks);
	server_apply_limits(cf);
	if (server_open_listeners() == -1) {
		server_cleanup();
		return ECHOD_EX_FAIL;
	}
	if (server_apply_metrics(cf, &err) == -1) {
		log_crit(LOG_S_SERVER, "cannot start: %s", err);
		free(err);
		server_cleanup();
		return ECHOD_EX_FAIL;
	}
	sd_listen_check_unused();
	/* Bound (low ports need root): now root is no longer needed. */
	if (daemon_drop_privileges(cf->user, cf->group, &err) == -1) {
		log_crit(LOG_S_SERVER, "cannot start: %s", err);
		free(err);
		server_cleanup();
		return ECHOD_EX_FAIL;
	}
	if (pool_init(server_evbase, (unsigned)cf->workers, cf->job_queue_max, cf->job_timeout_ms,
	    &err) == -1) {
		log_crit(LOG_S_SERVER, "cannot start the worker pool: %s", err);
		free(err);
		server_cleanup();
		return ECHOD_EX_FAIL;
	}
	server_sig_term = server_signal_new(SIGTERM);
	server_sig_int = server_signal_new(SIGINT);
	server_sig_hup = server_signal_new(SIGHUP);
	server_sig_usr1 = server_signal_new(SIGUSR1);
	listener_check_limits();
	/* Logging must never block the loop: without its thread, echod does not run. */
	if (log_start() == -1) {
		server_cleanup();
		return ECHOD_EX_FAIL;
	}
	log_info(LOG_S_SERVER, "ready listeners=%zu", cf->nlisteners);
	sd_start(server_evbase);
	sd_notify_ready();
	daemon_ready();

	event_base_dispatch(server_evbase);

	server_cleanup();
	log_info(LOG_S_SERVER, "exiting status=%d", server_exit_code);
	log_stop();
	return server_exit_code;
}
