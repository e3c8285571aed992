/*
 * check_config.c: unit tests for config.c: defaults, every key, every kind of
 * error (with file and line), the keys of who may connect (lists, per-source
 * and per-connection limits, PROXY protocol, commands) with their [server]
 * defaults and dumps, and that conf/echod.ini documents every key and loads
 * cleanly.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "config.h"
#include "util.h"
#include "unit.h"

/* A listener that makes a file valid, for tests about other sections. */
#define LSN "[listener a]\nbind = 127.0.0.1:0\nservice = echo\n"

/* All messages, one per line, for failure output. */
static char *
errs_join(const struct config_errors *e)
{
	char *all = xstrdup(""), *tmp;
	size_t i;

	for (i = 0; i < e->n; i++) {
		xasprintf(&tmp, "%s\n  %s", all, e->msgs[i]);
		free(all);
		all = tmp;
	}
	return all;
}

static struct config *
load_ok(const char *text)
{
	struct config_errors e = { NULL, 0 };
	struct config *cf = NULL;
	int rc;

	rc = config_load_string("t.ini", text, &cf, &e);
	ck_assert_msg(rc == 0 && e.n == 0, "unexpected errors:%s", errs_join(&e));
	ck_assert_ptr_nonnull(cf);
	config_errors_free(&e);
	return cf;
}

static void
load_bad(const char *text, struct config_errors *e)
{
	struct config *cf = (struct config *)1;

	ck_assert_int_eq(config_load_string("t.ini", text, &cf, e), -1);
	ck_assert_ptr_null(cf);
	ck_assert_msg(e->n > 0, "no error message for:\n%s", text);
}

/* Index of the message starting with `prefix` and containing `part`; fails if none. */
static size_t
err_find(const struct config_errors *e, const char *prefix, const char *part)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(e->msgs[i], part) != NULL)
			return i;
	ck_abort_msg("no error '%s...%s' in:%s", prefix, part, errs_join(e));
	return 0;
}

/* The text must give exactly one error: this one. */
static void
check_one_error(const char *text, const char *prefix, const char *part)
{
	struct config_errors e = { NULL, 0 };

	load_bad(text, &e);
	err_find(&e, prefix, part);
	ck_assert_msg(e.n == 1, "want only '%s', got:%s", prefix, errs_join(&e));
	config_errors_free(&e);
}

static void
check_server_defaults(const struct config *cf)
{
	int i;

	ck_assert_uint_eq(cf->max_connections, 10000);
	ck_assert_uint_eq(cf->shutdown_timeout_ms, 30000);
	ck_assert_uint_eq(cf->write_high_watermark, 256 * 1024);
	ck_assert_uint_eq(cf->write_low_watermark, 64 * 1024);
	ck_assert_uint_eq(cf->linger_timeout_ms, 2000);
	ck_assert_uint_eq(cf->workers, 0);
	ck_assert_uint_eq(cf->job_queue_max, 1024);
	ck_assert_uint_eq(cf->job_timeout_ms, 30000);
	ck_assert_int_eq(cf->log_level, LOG_L_INFO);
	for (i = 0; i < LOG_S_COUNT; i++)
		ck_assert_int_eq(cf->log_subsys_level[i], -1);
	ck_assert_str_eq(cf->log_target, "stderr");
	ck_assert_str_eq(cf->log_facility, "daemon");
	ck_assert_uint_eq(cf->log_queue_size, 4096);
	ck_assert_int_eq(cf->log_connections, 0);
}

static void
check_listener_defaults(const struct listener_conf *lc)
{
	ck_assert_int_eq(lc->backlog, 511);
	ck_assert_int_eq(lc->reuse_port, 0);
	ck_assert_uint_eq(lc->max_connections, 0);
	ck_assert_uint_eq(lc->idle_timeout_ms, 300000);
	ck_assert_uint_eq(lc->unix_mode, 0660);
}

START_TEST(test_default)
{
	struct config *cf = config_default();
	const struct listener_conf *lc;
	char buf[ADDR_STRLEN];

	ck_assert_ptr_null(cf->path);
	check_server_defaults(cf);
	ck_assert_uint_eq(cf->nlisteners, 1);
	lc = config_find_listener(cf, "echo");
	ck_assert_ptr_nonnull(lc);
	ck_assert_str_eq(lc->service, "echo");
	ck_assert_uint_eq(lc->nbinds, 1);
	ck_assert_str_eq(lc->binds[0].spec, "127.0.0.1:7007");
	ck_assert_int_eq(lc->binds[0].naddrs, 1);
	addr_format((struct sockaddr *)&lc->binds[0].addrs[0].ss, lc->binds[0].addrs[0].len, buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:7007");
	check_listener_defaults(lc);
	config_free(cf);
}
END_TEST

START_TEST(test_minimal)
{
	struct config *cf = load_ok(LSN);
	const struct listener_conf *lc = config_find_listener(cf, "a");

	ck_assert_ptr_null(cf->path);
	check_server_defaults(cf);
	ck_assert_ptr_nonnull(lc);
	ck_assert_str_eq(lc->name, "a");
	ck_assert_str_eq(lc->file, "t.ini");
	ck_assert_int_eq(lc->line, 1);
	ck_assert_int_eq(lc->binds[0].line, 2);
	check_listener_defaults(lc);
	ck_assert_ptr_null(config_find_listener(cf, "b"));
	ck_assert_ptr_null(config_find_listener(NULL, "a"));
	config_free(cf);
}
END_TEST

START_TEST(test_every_key)
{
	static const char text[] =
	    "[server]\n"
	    "max_connections = 500\n"
	    "shutdown_timeout = 5s\n"
	    "write_high_watermark = 1M\n"
	    "write_low_watermark = 100K\n"
	    "linger_timeout = 250ms\n"
	    "workers = 8\n"
	    "job_queue_max = 32\n"
	    "job_timeout = 2m\n"
	    "max_line = 512\n"
	    "max_sleep = 1h\n"
	    "max_pending = 3\n"
	    "[log]\n"
	    "level = debug\n"
	    "level.conn = error\n"
	    "level.tls = warning\n"
	    "target = file:/var/log/echod.log\n"
	    "facility = local3\n"
	    "queue_size = 16\n"
	    "connections = yes\n"
	    "[listener day]\n"
	    "bind = unix:/tmp/echod-day.sock\n"
	    "service = daytime\n"
	    "backlog = 7\n"
	    "reuse_port = on\n"
	    "max_connections = 9\n"
	    "idle_timeout = 0\n"
	    "unix_mode = 0600\n"
	    "daytime_format = rfc3339\n"
	    "[listener cmd]\n"
	    "bind = 127.0.0.1:0\n"
	    "service = command\n"
	    "max_pending = 5\n"
	    "[listener cmd2]\n"
	    "bind = 127.0.0.2:0\n"
	    "service = command\n";
	struct config *cf = load_ok(text);
	const struct listener_conf *lc = config_find_listener(cf, "day");
	const struct listener_conf *cmd = config_find_listener(cf, "cmd");
	const struct listener_conf *cmd2 = config_find_listener(cf, "cmd2");
	uint64_t v;

	ck_assert_uint_eq(cf->max_connections, 500);
	ck_assert_uint_eq(cf->shutdown_timeout_ms, 5000);
	ck_assert_uint_eq(cf->write_high_watermark, 1 << 20);
	ck_assert_uint_eq(cf->write_low_watermark, 100 * 1024);
	ck_assert_uint_eq(cf->linger_timeout_ms, 250);
	ck_assert_uint_eq(cf->workers, 8);
	ck_assert_uint_eq(cf->job_queue_max, 32);
	ck_assert_uint_eq(cf->job_timeout_ms, 120000);
	/* [server] command options are the defaults of every command listener */
	ck_assert_int_eq(config_service_value(cmd, "max_line", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(config_service_value(cmd, "max_sleep", &v), 0);
	ck_assert_uint_eq(v, 3600000);
	ck_assert_int_eq(config_service_value(cmd, "max_pending", &v), 0);
	ck_assert_uint_eq(v, 5);                /* its own value wins */
	ck_assert_int_eq(config_service_value(cmd2, "max_pending", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(config_service_value(lc, "max_pending", &v), -1);
	ck_assert_uint_eq(cf->nwarnings, 0);
	ck_assert_int_eq(cf->log_level, LOG_L_DEBUG);
	ck_assert_int_eq(cf->log_subsys_level[LOG_S_CONN], LOG_L_ERROR);
	ck_assert_int_eq(cf->log_subsys_level[LOG_S_TLS], LOG_L_WARNING);
	ck_assert_int_eq(cf->log_subsys_level[LOG_S_SERVER], -1);
	ck_assert_str_eq(cf->log_target, "file:/var/log/echod.log");
	ck_assert_str_eq(cf->log_facility, "local3");
	ck_assert_uint_eq(cf->log_queue_size, 16);
	ck_assert_int_eq(cf->log_connections, 1);
	ck_assert_ptr_nonnull(lc);
	ck_assert_str_eq(lc->service, "daytime");
	ck_assert_int_eq(lc->line, 21);
	ck_assert_int_eq(lc->binds[0].addrs[0].ss.ss_family, AF_UNIX);
	ck_assert_int_eq(lc->backlog, 7);
	ck_assert_int_eq(lc->reuse_port, 1);
	ck_assert_uint_eq(lc->max_connections, 9);
	ck_assert_uint_eq(lc->idle_timeout_ms, 0);
	ck_assert_uint_eq(lc->unix_mode, 0600);
	ck_assert_int_eq(config_service_value(lc, "daytime_format", &v), 0);
	ck_assert_uint_eq(v, 1);                /* rfc3339 */
	config_free(cf);
}
END_TEST

/* Limits are inclusive; suffixes and spelling variants are accepted. */
START_TEST(test_values)
{
	struct config *cf;
	uint64_t v;

	cf = load_ok("[server]\nmax_line = 1M\nmax_pending = 65536\nworkers = 256\n"
	    "job_timeout = 1ms\nshutdown_timeout = 0\nwrite_high_watermark = 1G\n"
	    "write_low_watermark = 0\n[log]\nlevel = WARN\nfacility = LOCAL7\n"
	    "target = syslog\n" LSN "backlog = 65535\nunix_mode = 777\nreuse_port = false\n"
	    "[listener c]\nbind = 127.0.0.1:0\nservice = command\n");
	ck_assert_int_eq(config_service_value(cf->listeners[1], "max_line", &v), 0);
	ck_assert_uint_eq(v, 1 << 20);
	ck_assert_int_eq(config_service_value(cf->listeners[1], "max_pending", &v), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_uint_eq(cf->workers, 256);
	ck_assert_uint_eq(cf->job_timeout_ms, 1);
	ck_assert_uint_eq(cf->shutdown_timeout_ms, 0);
	ck_assert_uint_eq(cf->write_high_watermark, 1ULL << 30);
	ck_assert_uint_eq(cf->write_low_watermark, 0);
	ck_assert_int_eq(cf->log_level, LOG_L_WARNING);
	ck_assert_str_eq(cf->log_facility, "local7");
	ck_assert_str_eq(cf->log_target, "syslog");
	ck_assert_int_eq(cf->listeners[0]->backlog, 65535);
	ck_assert_uint_eq(cf->listeners[0]->unix_mode, 0777);
	config_free(cf);

	cf = load_ok("[server]\nlinger_timeout = 10\n" LSN "idle_timeout = 168h\n"
	    "[listener c]\nbind = 127.0.0.1:0\nservice = command\nmax_line = 16\n");
	ck_assert_int_eq(config_service_value(cf->listeners[1], "max_line", &v), 0);
	ck_assert_uint_eq(v, 16);
	ck_assert_uint_eq(cf->linger_timeout_ms, 10000);
	ck_assert_uint_eq(cf->listeners[0]->idle_timeout_ms, 168ULL * 3600 * 1000);
	config_free(cf);
}
END_TEST

START_TEST(test_watermarks)
{
	struct config *cf;

	/* High alone: low follows at a quarter. */
	cf = load_ok("[server]\nwrite_high_watermark = 1M\n" LSN);
	ck_assert_uint_eq(cf->write_low_watermark, 256 * 1024);
	config_free(cf);
	cf = load_ok("[server]\nwrite_high_watermark = 1\n" LSN);
	ck_assert_uint_eq(cf->write_low_watermark, 0);
	config_free(cf);
	/* Low alone, below the default high. */
	cf = load_ok("[server]\nwrite_low_watermark = 255K\n" LSN);
	ck_assert_uint_eq(cf->write_low_watermark, 255 * 1024);
	ck_assert_uint_eq(cf->write_high_watermark, 256 * 1024);
	config_free(cf);

	check_one_error("[server]\nwrite_high_watermark = 64K\nwrite_low_watermark = 128K\n" LSN,
	    "t.ini:3: [server] write_low_watermark: expected a size below write_high_watermark "
	    "(64K), got 128K", "");
	check_one_error("[server]\nwrite_low_watermark = 64K\nwrite_high_watermark = 64K\n" LSN,
	    "t.ini:2: [server] write_low_watermark: expected a size below", "(64K), got 64K");
	check_one_error("[server]\nwrite_low_watermark = 256K\n" LSN,
	    "t.ini:2: [server] write_low_watermark: expected a size below", "(256K)");
}
END_TEST

START_TEST(test_bind_lists)
{
	static const char text[] =
	    "[listener multi]\n"
	    "service = echo\n"
	    "bind = 127.0.0.1:1, [::1]:2 *:3\n"
	    "bind=unix:/tmp/echod-test.sock\n"
	    "bind = \t127.0.0.2:4 ,,127.0.0.3:5\n";
	struct config *cf = load_ok(text);
	const struct listener_conf *lc = config_find_listener(cf, "multi");
	static const char *specs[] = { "127.0.0.1:1", "[::1]:2", "*:3", "unix:/tmp/echod-test.sock",
	    "127.0.0.2:4", "127.0.0.3:5" };
	static const int naddrs[] = { 1, 1, 2, 1, 1, 1 };
	static const int lines[] = { 3, 3, 3, 4, 5, 5 };
	size_t i;

	ck_assert_uint_eq(lc->nbinds, ARRAY_LEN(specs));
	for (i = 0; i < ARRAY_LEN(specs); i++) {
		ck_assert_str_eq(lc->binds[i].spec, specs[i]);
		ck_assert_int_eq(lc->binds[i].naddrs, naddrs[i]);
		ck_assert_int_eq(lc->binds[i].line, lines[i]);
	}
	ck_assert_int_eq(lc->binds[2].addrs[0].ss.ss_family, AF_INET);
	ck_assert_int_eq(lc->binds[2].addrs[1].ss.ss_family, AF_INET6);
	config_free(cf);

	/* Each bad address of a list is reported; the good ones do not hide them. */
	{
		struct config_errors e = { NULL, 0 };

		load_bad("[listener a]\nservice = echo\nbind = 127.0.0.1:1 localhost:2 ::1:3\n", &e);
		err_find(&e, "t.ini:3: [listener a] bind: expected a numeric IPv4/IPv6 address",
		    "got 'localhost:2'");
		err_find(&e, "t.ini:3: [listener a] bind: expected brackets", "got '::1:3'");
		ck_assert_uint_eq(e.n, 2);
		config_errors_free(&e);
	}
}
END_TEST

struct bad_case {
	const char *text;
	const char *prefix;	/* the message starts with this ... */
	const char *part;	/* ... and contains this */
};

/* Every key with a bad value: exactly one error naming file, line, section, key. */
START_TEST(test_bad_values)
{
	static const struct bad_case cases[] = {
		{ "[server]\nmax_connections = lots\n" LSN,
		  "t.ini:2: [server] max_connections: expected an integer from 1 to ", "got 'lots'" },
		{ "[server]\nmax_connections = 0\n" LSN,
		  "t.ini:2: [server] max_connections: expected an integer", "got '0'" },
		{ "[server]\nmax_connections = -1\n" LSN,
		  "t.ini:2: [server] max_connections: expected an integer", "got '-1'" },
		{ "[server]\nshutdown_timeout = 10 fortnights\n" LSN,
		  "t.ini:2: [server] shutdown_timeout: expected a duration from 0 to 168h",
		  "got '10 fortnights'" },
		{ "[server]\nshutdown_timeout = 169h\n" LSN,
		  "t.ini:2: [server] shutdown_timeout: expected a duration", "got '169h'" },
		{ "[server]\nwrite_high_watermark = 12Q\n" LSN,
		  "t.ini:2: [server] write_high_watermark: expected a size from 1 to 1G",
		  "got '12Q'" },
		{ "[server]\nwrite_high_watermark = 0\n" LSN,
		  "t.ini:2: [server] write_high_watermark: expected a size from 1", "got '0'" },
		{ "[server]\nwrite_low_watermark = 2G\n" LSN,
		  "t.ini:2: [server] write_low_watermark: expected a size from 0 to 1G", "got '2G'" },
		{ "[server]\nlinger_timeout = 1d\n" LSN,
		  "t.ini:2: [server] linger_timeout: expected a duration", "got '1d'" },
		{ "[server]\nworkers = 257\n" LSN,
		  "t.ini:2: [server] workers: expected an integer from 0 to 256", "got '257'" },
		{ "[server]\njob_queue_max = 0\n" LSN,
		  "t.ini:2: [server] job_queue_max: expected an integer from 1 to 1048576",
		  "got '0'" },
		{ "[server]\njob_timeout = 0\n" LSN,
		  "t.ini:2: [server] job_timeout: expected a duration from 1ms to 168h", "got '0'" },
		{ "[server]\nmax_line = 15\n" LSN,
		  "t.ini:2: [server] max_line: expected a size from 16 to 1M", "got '15'" },
		{ "[server]\nmax_line = 2M\n" LSN,
		  "t.ini:2: [server] max_line: expected a size from 16 to 1M", "got '2M'" },
		{ "[server]\nmax_sleep = soon\n" LSN,
		  "t.ini:2: [server] max_sleep: expected a duration", "got 'soon'" },
		{ "[server]\nmax_pending = 65537\n" LSN,
		  "t.ini:2: [server] max_pending: expected an integer from 1 to 65536",
		  "got '65537'" },
		{ "[log]\nlevel = loud\n" LSN,
		  "t.ini:2: [log] level: expected a log level (debug, info, warning, error or "
		  "critical)", "got 'loud'" },
		{ "[log]\nlevel.conn = loud\n" LSN,
		  "t.ini:2: [log] level.conn: expected a log level", "got 'loud'" },
		{ "[log]\nlevel.bogus = debug\n" LSN,
		  "t.ini:2: [log] level.bogus: expected a subsystem name after 'level.' (one of: "
		  "server conn pool tls config admin debug)", "got 'bogus'" },
		{ "[log]\nlevel. = debug\n" LSN,
		  "t.ini:2: [log] level.: expected a subsystem name", "got ''" },
		{ "[log]\ntarget = file:relative/x\n" LSN,
		  "t.ini:2: [log] target: expected stderr, syslog or file:/absolute/path",
		  "got 'file:relative/x'" },
		{ "[log]\ntarget = stdout\n" LSN,
		  "t.ini:2: [log] target: expected stderr, syslog", "got 'stdout'" },
		{ "[log]\nfacility = local9\n" LSN,
		  "t.ini:2: [log] facility: expected a syslog facility", "got 'local9'" },
		{ "[log]\nqueue_size = 15\n" LSN,
		  "t.ini:2: [log] queue_size: expected an integer from 16 to ", "got '15'" },
		{ "[log]\nconnections = maybe\n" LSN,
		  "t.ini:2: [log] connections: expected yes or no", "got 'maybe'" },
		{ "[listener a]\nbind = 127.0.0.1:99999\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected a port number from 0 to 65535",
		  "got '127.0.0.1:99999'" },
		{ "[listener a]\nbind = nonsense\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected ADDRESS:PORT", "got 'nonsense'" },
		{ "[listener a]\nbind = localhost:7007\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected a numeric IPv4/IPv6 address",
		  "got 'localhost:7007'" },
		{ "[listener a]\nbind = unix:sock\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected an absolute path", "got 'unix:sock'" },
		{ "[listener a]\nbind =\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected one or more addresses", "got ''" },
		{ "[listener a]\nbind = ,\nservice = echo\n",
		  "t.ini:2: [listener a] bind: expected one or more addresses", "got ','" },
		{ "[listener a]\nbind = 127.0.0.1:0\nservice = gopher\n",
		  "t.ini:3: [listener a] service: expected a service name (one of: echo ",
		  "got 'gopher'" },
		{ LSN "backlog = -5\n",
		  "t.ini:4: [listener a] backlog: expected an integer from 1 to 65535", "got '-5'" },
		{ LSN "backlog = 0\n", "t.ini:4: [listener a] backlog: expected an integer",
		  "got '0'" },
		{ LSN "reuse_port = perhaps\n",
		  "t.ini:4: [listener a] reuse_port: expected yes or no", "got 'perhaps'" },
		{ LSN "max_connections = many\n",
		  "t.ini:4: [listener a] max_connections: expected an integer from 0 to ",
		  "got 'many'" },
		{ LSN "idle_timeout = 5 parsecs\n",
		  "t.ini:4: [listener a] idle_timeout: expected a duration from 0 to 168h",
		  "got '5 parsecs'" },
		{ LSN "unix_mode = 0999\n",
		  "t.ini:4: [listener a] unix_mode: expected an octal file mode from 0000 to 0777",
		  "got '0999'" },
		{ LSN "unix_mode = 01777\n",
		  "t.ini:4: [listener a] unix_mode: expected an octal file mode", "got '01777'" },
		{ LSN "unix_mode = rw\n",
		  "t.ini:4: [listener a] unix_mode: expected an octal file mode", "got 'rw'" },
		{ LSN "daytime_format = iso\n",
		  "t.ini:4: [listener a] daytime_format: expected ctime or rfc3339", "got 'iso'" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		check_one_error(cases[i].text, cases[i].prefix, cases[i].part);
}
END_TEST

/*
 * Services own their options: a key of another service on a listener is
 * accepted with a warning (old files keep working), a [server] default must
 * be marked as one, and a bad value is an error wherever it is written.
 */
START_TEST(test_service_options)
{
	struct config *cf;
	uint64_t v;

	cf = load_ok(LSN "allow_remote = yes\nmax_line = 100\n");
	ck_assert_uint_eq(cf->nwarnings, 2);
	ck_assert_str_eq(cf->warnings[0], "t.ini:4: [listener a] allow_remote: not an option of "
	    "service echo; ignored");
	ck_assert_str_eq(cf->warnings[1], "t.ini:5: [listener a] max_line: not an option of "
	    "service echo; ignored");
	ck_assert_int_eq(config_service_value(cf->listeners[0], "max_line", &v), -1);
	config_free(cf);

	/* the [server] default, written after the listener, still applies to it */
	cf = load_ok("[listener c]\nbind = 127.0.0.1:0\nservice = command\n"
	    "[server]\nmax_line = 100\n");
	ck_assert_int_eq(config_service_value(cf->listeners[0], "max_line", &v), 0);
	ck_assert_uint_eq(v, 100);
	ck_assert_uint_eq(cf->nwarnings, 0);
	config_free(cf);

	check_one_error("[server]\ndaytime_format = rfc3339\n" LSN,
	    "t.ini:2: [server] daytime_format: unknown key; expected one of: ", "max_pending");
	check_one_error("[listener c]\nbind = 127.0.0.1:0\nservice = command\nmax_line = 8\n",
	    "t.ini:4: [listener c] max_line: expected a size from 16 to 1M", "got '8'");
	check_one_error("[listener c]\nbind = 127.0.0.1:0\nservice = command\nmax_line = 64\n"
	    "max_line = 65\n", "t.ini:5: [listener c] max_line: expected at most one value, but it "
	    "was already set on line 4", "");
	check_one_error(LSN "daytime_format = ISO\n",
	    "t.ini:4: [listener a] daytime_format: expected ctime or rfc3339", "got 'ISO'");
}
END_TEST

START_TEST(test_unknown)
{
	check_one_error(LSN "[bogus]\nx = 1\ny = 2\n",
	    "t.ini:4: [bogus]: unknown section; expected [server], [log], [debug], [metrics] or [listener NAME]", "");
	check_one_error("[server]\nfrobnicate = 1\n" LSN,
	    "t.ini:2: [server] frobnicate: unknown key; expected one of: max_connections, ",
	    "max_pending");
	check_one_error("[log]\nlevels = debug\n" LSN,
	    "t.ini:2: [log] levels: unknown key; expected one of: level, level.<subsystem>, ", "");
	check_one_error(LSN "colour = blue\n",
	    "t.ini:4: [listener a] colour: unknown key; expected one of: bind, service, ",
	    "daytime_format, max_line, max_sleep, max_pending, line_timeout, commands, allow_tcp, "
	    "allow_remote, auth_token_file");
	check_one_error("orphan = 1\n" LSN,
	    "t.ini:1: orphan: expected a [section] header before the first key", "");
	check_one_error("[listener]\nbind = 127.0.0.1:0\nservice = echo\n" LSN,
	    "t.ini:1: [listener]: expected a listener name of letters, digits", "got ''");
	check_one_error("[listener a b]\nbind = 127.0.0.1:0\n" LSN,
	    "t.ini:1: [listener a b]: expected a listener name", "got 'a b'");
	check_one_error("[listeners]\n" LSN, "t.ini:1: [listeners]: unknown section", "");
	/* Keys are case-sensitive, section names too. */
	check_one_error("[Server]\n" LSN, "t.ini:1: [Server]: unknown section", "");
}
END_TEST

START_TEST(test_duplicates)
{
	struct config_errors e = { NULL, 0 };
	struct config *cf;

	check_one_error("[listener b]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "[listener c]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "[listener b]\nbind = 127.0.0.1:0\nservice = discard\n",
	    "t.ini:7: [listener b]: expected a unique listener name, but it is already defined "
	    "on line 1", "");
	check_one_error("[server]\nmax_connections = 1\nmax_connections = 2\n" LSN,
	    "t.ini:3: [server] max_connections: expected at most one value, but it was already "
	    "set on line 2", "");
	/* [server] may appear twice, but a key still has one value. */
	check_one_error("[server]\nworkers = 1\n" LSN "[server]\nworkers = 2\n",
	    "t.ini:7: [server] workers: expected at most one value", "line 2");
	check_one_error("[log]\nlevel.conn = debug\nlevel.pool = debug\nlevel.conn = info\n" LSN,
	    "t.ini:4: [log] level.conn: expected at most one value", "line 2");
	check_one_error(LSN "service = discard\n",
	    "t.ini:4: [listener a] service: expected at most one value", "line 3");
	/* The same key in two listeners is fine. */
	cf = load_ok(LSN "backlog = 5\n[listener b]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "backlog = 6\n");
	ck_assert_int_eq(config_find_listener(cf, "b")->backlog, 6);
	config_free(cf);

	/* Binds: the same address twice is an error; port 0 never collides. */
	check_one_error("[listener a]\nbind = 127.0.0.1:7007\nservice = echo\n"
	    "[listener b]\nservice = echo\nbind = 127.0.0.1:7007\n",
	    "t.ini:6: [listener b] bind: expected an address used only once, but 127.0.0.1:7007 "
	    "is already used by [listener a] on line 2", "");
	check_one_error("[listener a]\nbind = 127.0.0.1:7007, 127.0.0.1:7007\nservice = echo\n",
	    "t.ini:2: [listener a] bind: expected an address used only once", "[listener a]");
	check_one_error("[listener a]\nbind = 0.0.0.0:7\nservice = echo\n"
	    "[listener b]\nservice = echo\nbind = *:7\n",
	    "t.ini:6: [listener b] bind: expected an address used only once, but 0.0.0.0:7", "");
	check_one_error("[listener a]\nbind = [::]:7 \nservice = echo\n"
	    "[listener b]\nservice = echo\nbind = *:7\n",
	    "t.ini:6: [listener b] bind: expected an address used only once, but [::]:7", "");
	check_one_error("[listener a]\nbind = unix:/tmp/s\nservice = echo\n"
	    "[listener b]\nservice = echo\nbind = unix:/tmp/s\n",
	    "t.ini:6: [listener b] bind: expected an address used only once, but unix:/tmp/s",
	    "");
	cf = load_ok("[listener a]\nbind = 127.0.0.1:0, 127.0.0.1:0\nservice = echo\n"
	    "[listener b]\nbind = 127.0.0.1:0 *:0\nservice = echo\n"
	    "[listener c]\nbind = 127.0.0.1:7, 127.0.0.2:7, [::1]:7, unix:/tmp/s7\nservice = echo\n");
	config_free(cf);

	/* Three listeners on one address: both later ones are reported. */
	load_bad("[listener a]\nbind = 127.0.0.1:9\nservice = echo\n"
	    "[listener b]\nbind = 127.0.0.1:9\nservice = echo\n"
	    "[listener c]\nbind = 127.0.0.1:9\nservice = echo\n", &e);
	err_find(&e, "t.ini:5: [listener b] bind:", "[listener a] on line 2");
	err_find(&e, "t.ini:8: [listener c] bind:", "[listener a] on line 2");
	ck_assert_uint_eq(e.n, 2);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_missing)
{
	struct config_errors e = { NULL, 0 };

	check_one_error("[listener nobind]\nservice = echo\n",
	    "t.ini:1: [listener nobind] bind: expected this key in every [listener] section, but "
	    "it is missing", "");
	check_one_error("[log]\nlevel = info\n\n[listener nosvc]\n\n bind = 127.0.0.1:0\n",
	    "t.ini:4: [listener nosvc] service: expected this key", "missing");
	check_one_error("[server]\n[log]\n",
	    "t.ini: expected at least one [listener NAME] section, found none", "");
	check_one_error("", "t.ini: expected at least one [listener NAME] section", "");
	check_one_error("; only a comment\n", "t.ini: expected at least one [listener", "");

	/* An empty listener section (the last in the file) misses both keys. */
	load_bad(LSN "[listener empty]\n", &e);
	err_find(&e, "t.ini:4: [listener empty] bind:", "missing");
	err_find(&e, "t.ini:4: [listener empty] service:", "missing");
	ck_assert_uint_eq(e.n, 2);
	config_errors_free(&e);
}
END_TEST

/* Every error is reported, in line order, even those found at the end. */
START_TEST(test_many_errors)
{
	static const char text[] =
	    "[server]\n"				/* 1 */
	    "max_connections = lots\n"			/* 2 */
	    "shutdown_timeout = forever\n"		/* 3 */
	    "[listener a]\n"				/* 4: no service */
	    "bind = 127.0.0.1:1\n"			/* 5 */
	    "[log]\n"					/* 6 */
	    "level = loud\n"				/* 7 */
	    "this is not a key\n"			/* 8 */
	    "[listener b]\n"				/* 9 */
	    "service = echo\n"				/* 10 */
	    "bind = 127.0.0.1:1\n"			/* 11: same as a */
	    "[nope\n"					/* 12 */
	    "also not a key\n";				/* 13 */
	static const char *want[] = {
		"t.ini:2: [server] max_connections:",
		"t.ini:3: [server] shutdown_timeout:",
		"t.ini:4: [listener a] service:",
		"t.ini:7: [log] level:",
		"t.ini:8: syntax error: expected 'key = value', got 'this is not a key'",
		"t.ini:11: [listener b] bind:",
		"t.ini:12: syntax error: expected ']' at the end of the section header, got '[nope'",
		"t.ini:13: syntax error: expected 'key = value'",
	};
	struct config_errors e = { NULL, 0 };
	size_t i;

	load_bad(text, &e);
	ck_assert_msg(e.n == ARRAY_LEN(want), "want %zu errors, got:%s", ARRAY_LEN(want),
	    errs_join(&e));
	for (i = 0; i < ARRAY_LEN(want); i++)
		ck_assert_msg(strncmp(e.msgs[i], want[i], strlen(want[i])) == 0,
		    "error %zu: want '%s...', got:%s", i, want[i], errs_join(&e));
	config_errors_free(&e);
}
END_TEST

START_TEST(test_syntax)
{
	struct config_errors e = { NULL, 0 };
	struct config *cf;
	char *text, *longline;

	/* A broken header: its keys are not blamed on the section before it. */
	check_one_error(LSN "[listener b\nbind = 127.0.0.1:0\nservice = echo\n",
	    "t.ini:4: syntax error: expected ']' at the end of the section header",
	    "got '[listener b'");
	check_one_error(LSN "no equals sign\n",
	    "t.ini:4: syntax error: expected 'key = value', got 'no equals sign'", "");

	/* A line longer than inih's buffer is one error, not two half-lines. */
	longline = xmalloc(400);
	memset(longline, '1', 399);
	longline[399] = '\0';
	xasprintf(&text, LSN "backlog = %s\n[server]\n", longline);
	load_bad(text, &e);
	err_find(&e, "t.ini:4: line too long: expected at most ", "characters");
	ck_assert_msg(e.n == 1, "got:%s", errs_join(&e));
	config_errors_free(&e);
	free(text);
	free(longline);

	/*
	 * Accepted: indented lines (never continuations), CRLF, a BOM, inline
	 * comments after whitespace, '#' comments, name:value, a value with ';'.
	 */
	cf = load_ok("\xef\xbb\xbf; comment\r\n"
	    "[server]\r\n"
	    "    max_connections = 77   ; inline comment\r\n"
	    "\tworkers = 3\r\n"
	    "# hash comment\n"
	    "  [ listener  x ]  ; trailing comment\n"
	    "  bind = 127.0.0.1:0\n"
	    "  service: echo\n"
	    "[log]\n"
	    "target = file:/tmp/a;b.log\n");
	ck_assert_uint_eq(cf->max_connections, 77);
	ck_assert_uint_eq(cf->workers, 3);
	ck_assert_ptr_nonnull(config_find_listener(cf, "x"));
	ck_assert_int_eq(config_find_listener(cf, "x")->line, 6);
	ck_assert_str_eq(cf->log_target, "file:/tmp/a;b.log");
	config_free(cf);
}
END_TEST

/* Every message is printable ASCII: nothing for a terminal or a log to interpret. */
static void
check_printable(const struct config_errors *e)
{
	const unsigned char *p;
	size_t i;

	for (i = 0; i < e->n; i++)
		for (p = (const unsigned char *)e->msgs[i]; *p != '\0'; p++)
			ck_assert_msg(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in '%s'", *p,
			    e->msgs[i]);
}

/* What was written is quoted with control and non-ASCII bytes escaped. */
START_TEST(test_escaped_messages)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[server]\nmax_connections = 1\t2\x01\x7f\xff\\z\n" LSN,
		  "t.ini:2: [server] max_connections: expected an integer from 1 to 2147483647, "
		  "got '1\\t2\\x01\\x7f\\xff\\\\z'" },
		{ "[server]\nworkers = 1\r2\n" LSN,
		  "t.ini:2: [server] workers: expected an integer from 0 to 256, got '1\\r2'" },
		{ "[ser\x1bver]\n" LSN,
		  "t.ini:1: [ser\\x1bver]: unknown section; expected [server], [log], [debug], "
		  "[metrics] or [listener NAME]" },
		{ "[server]\nmax\x07" "conn = 1\n" LSN,
		  "t.ini:2: [server] max\\x07conn: unknown key; expected one of: " },
		{ LSN "\x1b[2J\n",
		  "t.ini:4: syntax error: expected 'key = value', got '\\x1b[2J'" },
		{ "[listener a\x08" "b]\n" LSN,
		  "t.ini:1: [listener a\\x08b]: expected a listener name of letters, digits, "
		  "'_', '.' or '-', as in [listener echo], got 'a\\x08b'" },
	};
	struct config_errors e = { NULL, 0 };
	struct config *cf = NULL;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		load_bad(cases[i].text, &e);
		ck_assert_msg(e.n == 1, "case %zu:%s", i, errs_join(&e));
		ck_assert_msg(strncmp(e.msgs[0], cases[i].msg, strlen(cases[i].msg)) == 0,
		    "case %zu: want '%s...', got '%s'", i, cases[i].msg, e.msgs[0]);
		check_printable(&e);
		config_errors_free(&e);
	}

	/* The name given in place of a file is escaped too. */
	ck_assert_int_eq(config_load_string("a\nb", "[server]\nworkers = x\n", &cf, &e), -1);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_str_eq(e.msgs[0], "a\\nb:2: [server] workers: expected an integer from 0 to "
	    "256, got 'x'");
	ck_assert_str_eq(e.msgs[1], "a\\nb: expected at least one [listener NAME] section, "
	    "found none");
	check_printable(&e);
	config_errors_free(&e);
}
END_TEST

static char *
write_temp(const char *text)
{
	char *path;
	FILE *fp;
	int fd;

	xasprintf(&path, "%s/check_config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

START_TEST(test_files)
{
	struct config_errors e = { NULL, 0 };
	struct config *cf = (struct config *)1;
	char *path, *want;

	ck_assert_int_eq(config_load("/nonexistent/echod.ini", &cf, &e), -1);
	ck_assert_ptr_null(cf);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msgs[0], "/nonexistent/echod.ini: cannot open: No such file or directory");
	config_errors_free(&e);
	ck_assert_ptr_null(e.msgs);

	ck_assert_int_eq(config_load("/", &cf, &e), -1);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msgs[0], "/: cannot open: Is a directory");
	config_errors_free(&e);

	path = write_temp("[server]\nworkers = many\n" LSN);
	ck_assert_int_eq(config_load(path, &cf, &e), -1);
	xasprintf(&want, "%s:2: [server] workers: expected an integer", path);
	err_find(&e, want, "got 'many'");
	ck_assert_uint_eq(e.n, 1);
	config_errors_free(&e);
	unlink(path);
	free(want);
	free(path);

	path = write_temp(LSN);
	ck_assert_int_eq(config_load(path, &cf, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(cf->path, path);
	ck_assert_str_eq(cf->listeners[0]->file, path);
	config_free(cf);
	unlink(path);
	free(path);

	/* A NULL error list is allowed: the result still says it failed. */
	ck_assert_int_eq(config_load_string("t.ini", "[bad", &cf, NULL), -1);
	ck_assert_ptr_null(cf);
}
END_TEST

/* More errors than are worth reading: the first 100, then a count. */
START_TEST(test_error_cap)
{
	struct config_errors e = { NULL, 0 };
	char *text = xstrdup("[server]\n"), *tmp;
	int i;

	for (i = 0; i < 150; i++) {
		xasprintf(&tmp, "%sjunk%d = 1\n", text, i);
		free(text);
		text = tmp;
	}
	load_bad(text, &e);
	ck_assert_uint_eq(e.n, 101);
	ck_assert_str_eq(e.msgs[100], "t.ini: 51 more errors not shown");
	ck_assert(strncmp(e.msgs[99], "t.ini:101: [server] junk99:", 27) == 0);
	config_errors_free(&e);
	free(text);
}
END_TEST

struct key_list {
	char   **keys;
	size_t   n;
};

static void
collect_key_cb(const char *section, const char *key, void *arg)
{
	struct key_list *kl = arg;

	kl->keys = xreallocarray(kl->keys, kl->n + 1, sizeof(*kl->keys));
	xasprintf(&kl->keys[kl->n++], "%s.%s", section, key);
}

static int
key_list_has(const struct key_list *kl, const char *key)
{
	size_t i;

	for (i = 0; i < kl->n; i++)
		if (strcmp(kl->keys[i], key) == 0)
			return 1;
	return 0;
}

static void
key_list_free(struct key_list *kl)
{
	size_t i;

	for (i = 0; i < kl->n; i++)
		free(kl->keys[i]);
	free(kl->keys);
}

START_TEST(test_foreach_key)
{
	struct key_list kl = { NULL, 0 };
	size_t i, j;

	config_foreach_key(collect_key_cb, &kl);
	ck_assert_uint_ge(kl.n, 25);
	ck_assert(key_list_has(&kl, "server.max_connections"));
	ck_assert(key_list_has(&kl, "listener.max_connections"));
	ck_assert(key_list_has(&kl, "log.level.<subsystem>"));
	ck_assert(key_list_has(&kl, "listener.bind"));
	ck_assert(key_list_has(&kl, "listener.daytime_format"));
	for (i = 0; i < kl.n; i++)
		for (j = i + 1; j < kl.n; j++)
			ck_assert_msg(strcmp(kl.keys[i], kl.keys[j]) != 0, "%s twice", kl.keys[i]);
	key_list_free(&kl);
}
END_TEST

/* load(text) succeeds, load(dump) succeeds, dump(load(dump)) == dump; returns the dump. */
static char *
dump_round_trip(const char *text)
{
	struct config *cf = load_ok(text), *cf2;
	char *d1 = config_dump(cf), *d2;

	cf2 = load_ok(d1);
	d2 = config_dump(cf2);
	ck_assert_msg(strcmp(d1, d2) == 0, "dump of the dump differs:\n%s\n----\n%s", d1, d2);
	free(d2);
	config_free(cf2);
	config_free(cf);
	return d1;
}

/* The dump has this exact line. */
static void
dump_has_line(const char *dump, const char *line)
{
	const char *p;
	size_t n = strlen(line);

	for (p = dump; p != NULL; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return;
	ck_abort_msg("no line '%s' in:\n%s", line, dump);
}

/* "section.key" for each key line of a dump; level.conn counts as level.<subsystem>. */
static void
dump_scan_keys(const char *dump, struct key_list *found)
{
	char *copy = xstrdup(dump), *line, *save = NULL, section[64] = "";
	const char *key;
	size_t n;

	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (*line == '[') {
			snprintf(section, sizeof(section), "%.*s", (int)strcspn(line + 1, " ]"),
			    line + 1);
			continue;
		}
		key = strncmp(line, "; ", 2) == 0 ? line + 2 : line;
		n = strcspn(key, " =");
		found->keys = xreallocarray(found->keys, found->n + 1, sizeof(*found->keys));
		if (strncmp(key, "level.", 6) == 0)
			xasprintf(&found->keys[found->n++], "%s.level.<subsystem>", section);
		else
			xasprintf(&found->keys[found->n++], "%s.%.*s", section, (int)n, key);
	}
	free(copy);
}

/* Every key of the table is in the dump, in its section, with its effective value. */
START_TEST(test_dump_every_key)
{
	struct key_list keys = { NULL, 0 }, found = { NULL, 0 };
	/* one listener of each service that has options: each dumps its own */
	char *dump = dump_round_trip(LSN "[listener d]\nbind = 127.0.0.2:0\nservice = daytime\n"
	    "[listener c]\nbind = 127.0.0.3:0\nservice = command\n"
	    "[listener m]\nbind = unix:/tmp/check_config.admin.sock\nservice = admin\n");
	size_t i;

	config_foreach_key(collect_key_cb, &keys);
	dump_scan_keys(dump, &found);
	for (i = 0; i < keys.n; i++)
		ck_assert_msg(key_list_has(&found, keys.keys[i]), "%s not in:\n%s", keys.keys[i],
		    dump);
	ck_assert_msg(strncmp(dump, "[server]\nmax_connections = 10000\n", 33) == 0, "%s", dump);
	dump_has_line(dump, "shutdown_timeout = 30s");
	dump_has_line(dump, "write_high_watermark = 256K");
	dump_has_line(dump, "write_low_watermark = 64K");
	dump_has_line(dump, "max_line = 4K");
	dump_has_line(dump, "; pidfile (not set)");
	dump_has_line(dump, "level = info");
	dump_has_line(dump, "; level.conn (not set)");
	dump_has_line(dump, "target = stderr");
	dump_has_line(dump, "[metrics]");
	dump_has_line(dump, "bind =");
	dump_has_line(dump, "[listener a]");
	dump_has_line(dump, "bind = 127.0.0.1:0");
	dump_has_line(dump, "service = echo");
	dump_has_line(dump, "unix_mode = 0660");
	dump_has_line(dump, "idle_timeout = 5m");
	dump_has_line(dump, "tls_min_version = TLS1.2");
	dump_has_line(dump, "; tls_cert (not set)");
	free(dump);
	key_list_free(&keys);
	key_list_free(&found);
}
END_TEST

/* Values set in the file come back as set, in the shortest spelling. */
START_TEST(test_dump_values)
{
	static const char text[] =
	    "[server]\n"
	    "write_high_watermark = 2048K\n"
	    "shutdown_timeout = 90000ms\n"
	    "linger_timeout = 1500ms\n"
	    "pidfile = /run/echod.pid\n"
	    "[log]\n"
	    "level.conn = error\n"
	    "facility = LOCAL3\n"
	    "[metrics]\n"
	    "bind = 127.0.0.1:9107\n"
	    "[debug]\n"
	    "enabled = on\n"
	    "[listener day]\n"
	    "bind = unix:/tmp/echod-day.sock, *:0 127.0.0.1:0\n"
	    "bind = [::1]:0\n"
	    "service = daytime\n"
	    "unix_mode = 600\n"
	    "daytime_format = rfc3339\n"
	    "tls = yes\n"
	    "tls_cert =;odd\n"
	    "tls_key = /k.pem\n"
	    "tls_ca = /ca.pem\n"
	    "tls_verify_client = Required\n"
	    "tls_min_version = tlsv1.3\n"
	    "[listener cmd]\n"
	    "bind = 127.0.0.2:0\n"
	    "service = command\n"
	    "reuse_port = true\n";
	char *dump = dump_round_trip(text);

	dump_has_line(dump, "write_high_watermark = 2M");
	dump_has_line(dump, "write_low_watermark = 512K");
	dump_has_line(dump, "shutdown_timeout = 90s");
	dump_has_line(dump, "linger_timeout = 1500ms");
	dump_has_line(dump, "pidfile = /run/echod.pid");
	dump_has_line(dump, "level.conn = error");
	dump_has_line(dump, "; level.tls (not set)");
	dump_has_line(dump, "facility = local3");
	dump_has_line(dump, "bind = 127.0.0.1:9107");
	dump_has_line(dump, "enabled = yes");
	dump_has_line(dump, "bind = unix:/tmp/echod-day.sock");
	dump_has_line(dump, "bind = *:0");
	dump_has_line(dump, "bind = 127.0.0.1:0");
	dump_has_line(dump, "bind = [::1]:0");
	dump_has_line(dump, "unix_mode = 0600");
	dump_has_line(dump, "daytime_format = rfc3339");
	dump_has_line(dump, "tls = yes");
	/* "tls_cert = ;odd" would read back as an empty value and a comment */
	dump_has_line(dump, "tls_cert=;odd");
	dump_has_line(dump, "tls_verify_client = required");
	dump_has_line(dump, "tls_min_version = TLS1.3");
	dump_has_line(dump, "[listener cmd]");
	dump_has_line(dump, "reuse_port = yes");
	ck_assert_ptr_nonnull(strstr(dump, "[listener day]"));
	ck_assert(strstr(dump, "[listener day]") < strstr(dump, "[listener cmd]"));
	free(dump);
}
END_TEST

/* A value that fills a line is written without the spaces around '='. */
START_TEST(test_dump_long_value)
{
	char *value, *text, *dump, *line;
	size_t n = 198 - strlen("tls_ciphers=");

	value = xmalloc(n + 1);
	memset(value, 'A', n);
	value[n] = '\0';
	xasprintf(&text, LSN "tls_ciphers=%s\n", value);
	xasprintf(&line, "tls_ciphers=%s", value);
	dump = dump_round_trip(text);
	dump_has_line(dump, line);
	free(dump);
	free(line);
	free(text);
	free(value);
}
END_TEST

/* ---------------------------------------------------------------- who may connect */

/* The verdict of a listener's lists for a numeric address. */
static enum acl_verdict
verdict(const struct acl *a, const char *addr)
{
	struct addr parsed[ADDR_MAX_PER_SPEC];
	char spec[128];
	const char *why = NULL;

	snprintf(spec, sizeof(spec), strchr(addr, ':') != NULL ? "[%s]:1" : "%s:1", addr);
	ck_assert_msg(addr_parse(spec, parsed, &why) == 1, "%s: %s", spec, why);
	return acl_check(a, (const struct sockaddr *)&parsed[0].ss, NULL, 0);
}

/*
 * The access, per-source, per-connection and PROXY keys: values, the
 * [server] defaults a listener inherits (its own value wins), the lists
 * built from allow/deny/proxy_from, and the command service's commands and
 * line_timeout.
 */
START_TEST(test_access_keys)
{
	static const char text[] =
	    "[server]\n"
	    "accept_rate = 100/s\n"
	    "accept_burst = 50\n"
	    "max_sources = 5000\n"
	    "source_expire = 2m\n"
	    "max_per_source = 8\n"
	    "source_prefix_v4 = 24\n"
	    "source_prefix_v6 = 48\n"
	    "rate_per_source = 20\n"
	    "burst = 4\n"
	    "[listener a]\n"
	    "bind = 127.0.0.1:0\n"
	    "service = echo\n"
	    "allow = 10.0.0.0/8, 192.0.2.7\n"
	    "allow = 2001:db8::/32\n"
	    "deny = 10.1.0.0/16 ::ffff:198.51.100.0/120\n"
	    "max_per_source = 2\n"
	    "rate_per_source = 5/s\n"
	    "rate_limit = 64K/s\n"
	    "max_bytes = 1M\n"
	    "max_lifetime = 1h\n"
	    "proxy_protocol = v2\n"
	    "proxy_from = 127.0.0.1, ::1\n"
	    "proxy_timeout = 2s\n"
	    "[listener b]\n"
	    "bind = 127.0.0.2:0\n"
	    "service = echo\n"
	    "[listener c]\n"
	    "bind = 127.0.0.3:0\n"
	    "service = command\n"
	    "commands = ping, Echo TIME\n"
	    "line_timeout = 5s\n";
	struct config *cf = load_ok(text);
	const struct listener_conf *a = config_find_listener(cf, "a");
	const struct listener_conf *b = config_find_listener(cf, "b");
	const struct listener_conf *c = config_find_listener(cf, "c");
	uint64_t v;

	ck_assert_uint_eq(cf->accept_rate, 100);
	ck_assert_uint_eq(cf->accept_burst, 50);
	ck_assert_uint_eq(cf->max_sources, 5000);
	ck_assert_uint_eq(cf->source_expire_ms, 120000);
	/* a: its own values */
	ck_assert_uint_eq(a->max_per_source, 2);
	ck_assert_uint_eq(a->rate_per_source, 5);
	ck_assert_uint_eq(a->source_prefix_v4, 24);
	ck_assert_uint_eq(a->source_prefix_v6, 48);
	ck_assert_uint_eq(a->burst, 4);
	ck_assert_uint_eq(a->rate_limit, 65536);
	ck_assert_uint_eq(a->max_bytes, 1 << 20);
	ck_assert_uint_eq(a->max_lifetime_ms, 3600000);
	ck_assert_int_eq(a->proxy_protocol, PROXY_MODE_V2);
	ck_assert_uint_eq(a->proxy_timeout_ms, 2000);
	ck_assert_ptr_nonnull(a->acl);
	ck_assert_uint_eq(acl_count(a->acl), 5);
	ck_assert_int_eq(verdict(a->acl, "10.2.3.4"), ACL_PASS);
	ck_assert_int_eq(verdict(a->acl, "10.1.3.4"), ACL_DENIED);
	ck_assert_int_eq(verdict(a->acl, "198.51.100.9"), ACL_DENIED);
	ck_assert_int_eq(verdict(a->acl, "2001:db8::1"), ACL_PASS);
	ck_assert_int_eq(verdict(a->acl, "192.0.2.8"), ACL_NOT_ALLOWED);
	ck_assert_ptr_nonnull(a->proxy_acl);
	ck_assert_uint_eq(acl_count(a->proxy_acl), 2);
	ck_assert_int_eq(verdict(a->proxy_acl, "::1"), ACL_PASS);
	ck_assert_int_eq(verdict(a->proxy_acl, "127.0.0.2"), ACL_NOT_ALLOWED);
	/* b: the [server] defaults, no lists, no PROXY, no per-connection limits */
	ck_assert_uint_eq(b->max_per_source, 8);
	ck_assert_uint_eq(b->rate_per_source, 20);
	ck_assert_uint_eq(b->source_prefix_v4, 24);
	ck_assert_uint_eq(b->source_prefix_v6, 48);
	ck_assert_uint_eq(b->burst, 4);
	ck_assert_ptr_null(b->acl);
	ck_assert_ptr_null(b->proxy_acl);
	ck_assert_int_eq(b->proxy_protocol, PROXY_MODE_NO);
	ck_assert_uint_eq(b->proxy_timeout_ms, 5000);
	ck_assert_uint_eq(b->rate_limit, 0);
	ck_assert_uint_eq(b->max_bytes, 0);
	ck_assert_uint_eq(b->max_lifetime_ms, 0);
	ck_assert_int_eq(config_service_value(c, "line_timeout", &v), 0);
	ck_assert_uint_eq(v, 5000);
	ck_assert_uint_eq(cf->nwarnings, 0);
	config_free(cf);

	/* the defaults without a [server] section */
	cf = load_ok(LSN "[listener c]\nbind = 127.0.0.3:0\nservice = command\n");
	a = cf->listeners[0];
	ck_assert_uint_eq(cf->accept_rate, 0);
	ck_assert_uint_eq(cf->max_sources, 100000);
	ck_assert_uint_eq(cf->source_expire_ms, 60000);
	ck_assert_uint_eq(a->max_per_source, 0);
	ck_assert_uint_eq(a->rate_per_source, 0);
	ck_assert_uint_eq(a->source_prefix_v4, 32);
	ck_assert_uint_eq(a->source_prefix_v6, 64);
	ck_assert_uint_eq(a->burst, 10);
	ck_assert_int_eq(config_service_value(cf->listeners[1], "line_timeout", &v), 0);
	ck_assert_uint_eq(v, 30000);
	config_free(cf);
}
END_TEST

/* The new keys with bad values: one error each, with file, line, section, key, expectation. */
START_TEST(test_access_keys_bad)
{
#define CMD "[listener c]\nbind = 127.0.0.1:0\nservice = command\n"
	static const struct bad_case cases[] = {
		{ "[server]\naccept_rate = fast\n" LSN,
		  "t.ini:2: [server] accept_rate: expected a rate such as 100/s (a count per second, "
		  "0 for none)", "got 'fast'" },
		{ "[server]\naccept_burst = -1\n" LSN,
		  "t.ini:2: [server] accept_burst: expected an integer from 0 to ", "got '-1'" },
		{ "[server]\nmax_sources = many\n" LSN,
		  "t.ini:2: [server] max_sources: expected an integer from 0 to 16777216",
		  "got 'many'" },
		{ "[server]\nsource_expire = soon\n" LSN,
		  "t.ini:2: [server] source_expire: expected a duration from 0 to 168h", "got 'soon'" },
		{ "[server]\nsource_prefix_v4 = 33\n" LSN,
		  "t.ini:2: [server] source_prefix_v4: expected an integer from 1 to 32", "got '33'" },
		{ "[server]\nsource_prefix_v6 = 0\n" LSN,
		  "t.ini:2: [server] source_prefix_v6: expected an integer from 1 to 128", "got '0'" },
		{ "[server]\nburst = 0\n" LSN,
		  "t.ini:2: [server] burst: expected an integer from 1 to ", "got '0'" },
		{ "[server]\nrate_per_source = 5/min\n" LSN,
		  "t.ini:2: [server] rate_per_source: expected a rate such as 100/s", "got '5/min'" },
		{ LSN "allow = 10.1.2.3/8\n",
		  "t.ini:4: [listener a] allow: expected a network address: 10.0.0.0/8",
		  "got '10.1.2.3/8'" },
		{ LSN "deny = nonsense\n",
		  "t.ini:4: [listener a] deny: expected an IPv4 or IPv6 address or CIDR prefix",
		  "got 'nonsense'" },
		{ LSN "allow =\n",
		  "t.ini:4: [listener a] allow: expected addresses or CIDR prefixes such as "
		  "192.0.2.7, 10.0.0.0/8 or 2001:db8::/32", "got ''" },
		{ LSN "deny = 10.0.0.0/8 junk\n",
		  "t.ini:4: [listener a] deny: expected an IPv4 or IPv6 address", "got 'junk'" },
		{ LSN "proxy_from = 10.0.0.0/33\n",
		  "t.ini:4: [listener a] proxy_from: expected a prefix length from 0 to 32 after '/'",
		  "got '10.0.0.0/33'" },
		{ LSN "access_file = /nonexistent/echod-access\n",
		  "t.ini:4: [listener a] access_file: /nonexistent/echod-access: cannot open: ",
		  "No such file" },
		{ LSN "max_per_source = -2\n",
		  "t.ini:4: [listener a] max_per_source: expected an integer from 0 to ", "got '-2'" },
		{ LSN "rate_per_source = often\n",
		  "t.ini:4: [listener a] rate_per_source: expected a rate such as 100/s",
		  "got 'often'" },
		{ LSN "burst = 0\n",
		  "t.ini:4: [listener a] burst: expected an integer from 1 to ", "got '0'" },
		{ LSN "source_prefix_v4 = 0\n",
		  "t.ini:4: [listener a] source_prefix_v4: expected an integer from 1 to 32",
		  "got '0'" },
		{ LSN "rate_limit = 64K/min\n",
		  "t.ini:4: [listener a] rate_limit: expected bytes per second such as 64K/s (a size "
		  "with a K, M or G suffix, 0 for no limit)", "got '64K/min'" },
		{ LSN "max_bytes = lots\n",
		  "t.ini:4: [listener a] max_bytes: expected a size from 0 to ", "got 'lots'" },
		{ LSN "max_lifetime = 1d\n",
		  "t.ini:4: [listener a] max_lifetime: expected a duration from 0 to 168h",
		  "got '1d'" },
		{ LSN "proxy_protocol = v3\n",
		  "t.ini:4: [listener a] proxy_protocol: expected no, v1, v2 or any", "got 'v3'" },
		{ LSN "proxy_protocol = any\n",
		  "t.ini:1: [listener a] proxy_from: expected the addresses of the balancers allowed "
		  "to send a PROXY header with proxy_protocol = any, but it is missing", "missing" },
		{ LSN "proxy_protocol = v1\nproxy_from = 127.0.0.1\nproxy_timeout = 0\n",
		  "t.ini:6: [listener a] proxy_timeout: expected a duration from 1ms to 168h",
		  "got '0'" },
		{ CMD "commands = PING FROB\n",
		  "t.ini:4: [listener c] commands: expected auto, or command names such as PING ECHO "
		  "TIME DIGEST SLEEP RESOLVE", "got 'PING FROB'" },
		{ CMD "commands =\n", "t.ini:4: [listener c] commands: expected auto", "got ''" },
		{ CMD "line_timeout = forever\n",
		  "t.ini:4: [listener c] line_timeout: expected a duration from 0 to 168h",
		  "got 'forever'" },
		{ "[server]\nline_timeout = 169h\n" CMD,
		  "t.ini:2: [server] line_timeout: expected a duration from 0 to 168h", "got '169h'" },
	};
#undef CMD
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		check_one_error(cases[i].text, cases[i].prefix, cases[i].part);
}
END_TEST

/* The new keys come back from a dump as set, and the dump loads to the same dump. */
START_TEST(test_dump_access_keys)
{
	char *dump = dump_round_trip(
	    "[server]\naccept_rate = 100\naccept_burst = 50\nmax_sources = 5000\n"
	    "source_expire = 120s\nmax_per_source = 8\nrate_per_source = 20/s\n"
	    "[listener a]\nbind = 127.0.0.1:0\nservice = echo\n"
	    "allow = 10.0.0.0/8, 192.0.2.7\nallow = 2001:db8::/32\ndeny = 10.1.0.0/16\n"
	    "rate_limit = 65536/s\nmax_bytes = 1048576\nmax_lifetime = 3600s\n"
	    "proxy_protocol = V1\nproxy_from = 127.0.0.1 ::1\nproxy_timeout = 2000ms\n"
	    "[listener c]\nbind = 127.0.0.3:0\nservice = command\ncommands = ping, Echo TIME\n"
	    "line_timeout = 5s\n");

	dump_has_line(dump, "accept_rate = 100/s");
	dump_has_line(dump, "accept_burst = 50");
	dump_has_line(dump, "max_sources = 5000");
	dump_has_line(dump, "source_expire = 2m");
	dump_has_line(dump, "max_per_source = 8");
	dump_has_line(dump, "rate_per_source = 20/s");
	dump_has_line(dump, "allow = 10.0.0.0/8");
	dump_has_line(dump, "allow = 192.0.2.7");
	dump_has_line(dump, "allow = 2001:db8::/32");
	dump_has_line(dump, "deny = 10.1.0.0/16");
	dump_has_line(dump, "rate_limit = 64K/s");
	dump_has_line(dump, "max_bytes = 1M");
	dump_has_line(dump, "max_lifetime = 1h");
	dump_has_line(dump, "proxy_protocol = v1");
	dump_has_line(dump, "proxy_from = 127.0.0.1");
	dump_has_line(dump, "proxy_from = ::1");
	dump_has_line(dump, "proxy_timeout = 2s");
	dump_has_line(dump, "commands = PING ECHO TIME");
	dump_has_line(dump, "line_timeout = 5s");
	dump_has_line(dump, "; access_file (not set)");
	free(dump);
}
END_TEST

/*
 * Every byte inih trims separates binds: "unix:/a\v" was a bind to the path
 * "/a\v", which config_dump wrote as "bind = unix:/a\v" and the reload
 * read as "/a" (found by tests/fuzz/fuzz_config).
 */
START_TEST(test_bind_whitespace)
{
	static const char text[] =
	    "[listener a]\n"
	    "service = echo\n"
	    "bind = unix:/tmp/a\v,127.0.0.1:1\f127.0.0.1:2\r,unix:/tmp/b\n";
	static const char *specs[] = { "unix:/tmp/a", "127.0.0.1:1", "127.0.0.1:2", "unix:/tmp/b" };
	struct config *cf = load_ok(text);
	const struct listener_conf *lc = config_find_listener(cf, "a");
	char *dump;
	size_t i;

	ck_assert_uint_eq(lc->nbinds, ARRAY_LEN(specs));
	for (i = 0; i < ARRAY_LEN(specs); i++)
		ck_assert_str_eq(lc->binds[i].spec, specs[i]);
	config_free(cf);
	dump = dump_round_trip(text);
	dump_has_line(dump, "bind = unix:/tmp/a");
	free(dump);
}
END_TEST

/* udp: binds: a UDP listener, its keys and defaults, what it refuses and ignores. */
START_TEST(test_udp)
{
	struct config *cf;
	const struct listener_conf *lc;
	char *dump;

	cf = load_ok("[server]\nudp_max_amplification = 4\nudp_send_queue = 64K\n"
	    "[listener u]\nbind = udp:127.0.0.1:7007, udp:[::1]:7007\nservice = chargen\n"
	    "udp_reply_rate = 50/s\nudp_reply_bandwidth = 16K/s\n"
	    "[listener t]\nbind = 127.0.0.1:7007\nservice = echo\n"
	    "[listener v]\nbind = udp:*:7013\nservice = daytime\n");
	lc = config_find_listener(cf, "u");
	ck_assert_int_eq(lc->udp, 1);
	ck_assert_uint_eq(lc->udp_max_amplification, 4);
	ck_assert_uint_eq(lc->udp_reply_rate, 50);
	ck_assert_uint_eq(lc->udp_reply_bandwidth, 16384);
	ck_assert_uint_eq(lc->udp_send_queue, 65536);
	ck_assert_int_eq(lc->binds[1].addrs[0].socktype, SOCK_DGRAM);
	/* TCP and UDP ports are separate: the same address and port, no conflict */
	lc = config_find_listener(cf, "t");
	ck_assert_int_eq(lc->udp, 0);
	lc = config_find_listener(cf, "v");
	ck_assert_int_eq(lc->udp, 1);
	ck_assert_int_eq(lc->binds[0].naddrs, 2);
	ck_assert_uint_eq(lc->udp_reply_rate, 1000);
	ck_assert_uint_eq(lc->udp_reply_bandwidth, 1024 * 1024);
	ck_assert_uint_eq(lc->udp_max_amplification, 4);
	ck_assert_uint_eq(cf->nwarnings, 0);
	config_free(cf);

	/* the dump writes udp: binds and the keys back as read */
	dump = dump_round_trip("[listener u]\nbind = udp:127.0.0.1:0\nservice = echo\n"
	    "udp_reply_bandwidth = 64K/s\n");
	dump_has_line(dump, "bind = udp:127.0.0.1:0");
	dump_has_line(dump, "udp_max_amplification = 1");
	dump_has_line(dump, "udp_reply_rate = 1000/s");
	dump_has_line(dump, "udp_reply_bandwidth = 64K/s");
	dump_has_line(dump, "udp_send_queue = 1M");
	free(dump);

	/* a listener is all UDP or all TCP */
	check_one_error("[listener u]\nbind = udp:127.0.0.1:7\nbind = 127.0.0.1:8\nservice = echo\n",
	    "t.ini:3: [listener u] bind: expected every address of a listener to be UDP "
	    "(udp:...), like 'udp:127.0.0.1:7' on line 2 (a listener is either all UDP or all "
	    "TCP; use another [listener] for the other), got '127.0.0.1:8'", "");
	check_one_error("[listener u]\nservice = echo\nbind = unix:/tmp/x udp:*:7\n",
	    "t.ini:3: [listener u] bind: expected every address of a listener to be TCP or unix",
	    "got 'udp:*:7'");
	/* services that answer datagrams only */
	check_one_error("[listener u]\nbind = udp:127.0.0.1:7\nservice = command\n",
	    "t.ini:3: [listener u] service: expected a service that answers datagrams (echo, "
	    "discard, chargen, daytime or time) on a listener with udp: binds, got 'command'", "");
	check_one_error("[listener u]\nbind = udp:127.0.0.1:7\nservice = echo\ntls = yes\n"
	    "tls_cert = /x\ntls_key = /y\n",
	    "t.ini:4: [listener u] tls: expected no on a listener with udp: binds", "DTLS");
	check_one_error("[listener u]\nbind = udp:127.0.0.1:7\nservice = echo\n"
	    "proxy_protocol = v2\nproxy_from = 127.0.0.1\n",
	    "t.ini:4: [listener u] proxy_protocol: expected no", "");
	/* the same UDP address twice is a conflict */
	check_one_error("[listener u]\nbind = udp:127.0.0.1:7\nservice = echo\n"
	    "[listener w]\nbind = udp:127.0.0.1:7\nservice = discard\n",
	    "t.ini:5: [listener w] bind: expected an address used only once", "");
	/* metrics are HTTP: TCP only */
	check_one_error(LSN "[metrics]\nbind = udp:127.0.0.1:9107\n",
	    "t.ini:5: [metrics] bind: expected a TCP address", "");
	check_one_error("[server]\nmax_sources = 0\n[listener u]\nbind = udp:127.0.0.1:7\n"
	    "service = echo\n", "t.ini:2: [server] max_sources: expected more than 0 with a UDP "
	    "listener that has a reply budget ([listener u] on line 3", "");
	config_free(load_ok("[server]\nmax_sources = 0\n[listener u]\nbind = udp:127.0.0.1:7\n"
	    "service = echo\nudp_reply_rate = 0\nudp_reply_bandwidth = 0\n"));
	check_one_error("[server]\nudp_max_amplification = 0\n" LSN,
	    "t.ini:2: [server] udp_max_amplification: expected an integer from 1 to 1000", "");

	/* keys of the other transport: ignored with a warning */
	cf = load_ok("[listener u]\nbind = udp:127.0.0.1:7\nservice = echo\nidle_timeout = 5s\n"
	    "max_connections = 3\n[listener t]\nbind = 127.0.0.1:7\nservice = echo\n"
	    "udp_reply_rate = 5/s\n");
	ck_assert_uint_eq(cf->nwarnings, 3);
	ck_assert_str_eq(cf->warnings[0], "t.ini:5: [listener u] max_connections: not used by a "
	    "listener with udp: binds; ignored");
	ck_assert_str_eq(cf->warnings[1], "t.ini:4: [listener u] idle_timeout: not used by a "
	    "listener with udp: binds; ignored");
	ck_assert_str_eq(cf->warnings[2], "t.ini:9: [listener t] udp_reply_rate: applies only to "
	    "a listener with udp: binds; ignored");
	config_free(cf);
}
END_TEST

static char *
sample_path(void)
{
	static const char *tries[] = { "../conf/echod.ini", "conf/echod.ini", "../../conf/echod.ini" };
	const char *top = getenv("top_srcdir");
	struct stat st;
	char *path;
	size_t i;

	if (top != NULL && *top != '\0') {
		xasprintf(&path, "%s/conf/echod.ini", top);
		return path;
	}
	for (i = 0; i < ARRAY_LEN(tries); i++)
		if (stat(tries[i], &st) == 0)
			return xstrdup(tries[i]);
	ck_abort_msg("conf/echod.ini not found: set top_srcdir");
	return NULL;
}

/*
 * Record "section.key" for a line like "key = x", ";key =" or "; key = x".
 * "[listener NAME]" counts as section "listener"; a commented header too.
 */
static void
doc_scan_line(const char *line, char *section, size_t size, struct key_list *found)
{
	const char *p = line + strspn(line, ";# \t");
	size_t n;

	if (*p == '[') {
		p++;
		n = strcspn(p, " \t]");
		snprintf(section, size, "%.*s", (int)n, p);
		return;
	}
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.<>");
	if (n == 0 || *section == '\0')
		return;
	if (p[n + strspn(p + n, " \t")] != '=')
		return;
	found->keys = xreallocarray(found->keys, found->n + 1, sizeof(*found->keys));
	xasprintf(&found->keys[found->n++], "%s.%.*s", section, (int)n, p);
}

/* Every key of the table is documented, in its section, in conf/echod.ini. */
START_TEST(test_sample_documents_every_key)
{
	struct key_list keys = { NULL, 0 }, found = { NULL, 0 };
	char *path = sample_path(), *line = NULL, *missing = xstrdup(""), *tmp;
	char section[64] = "";
	size_t size = 0, i;
	FILE *fp;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	while (getline(&line, &size, fp) != -1)
		doc_scan_line(line, section, sizeof(section), &found);
	fclose(fp);
	config_foreach_key(collect_key_cb, &keys);
	for (i = 0; i < keys.n; i++) {
		if (key_list_has(&found, keys.keys[i]))
			continue;
		xasprintf(&tmp, "%s %s", missing, keys.keys[i]);
		free(missing);
		missing = tmp;
	}
	ck_assert_msg(*missing == '\0', "%s does not document:%s", path, missing);
	free(missing);
	free(line);
	free(path);
	key_list_free(&keys);
	key_list_free(&found);
}
END_TEST

START_TEST(test_sample_loads)
{
	static const struct {
		const char *name, *service;
		int         port;
	} want[] = {
		{ "echo", "echo", 7007 }, { "discard", "discard", 7009 },
		{ "chargen", "chargen", 7019 }, { "daytime", "daytime", 7013 },
		{ "time", "time", 7037 }, { "command", "command", 7008 },
	};
	struct config_errors e = { NULL, 0 };
	const struct listener_conf *lc;
	struct config *cf = NULL;
	char *path = sample_path();
	size_t i;

	ck_assert_msg(config_load(path, &cf, &e) == 0, "%s:%s", path, errs_join(&e));
	check_server_defaults(cf);
	ck_assert_uint_eq(cf->nlisteners, ARRAY_LEN(want));
	for (i = 0; i < ARRAY_LEN(want); i++) {
		lc = config_find_listener(cf, want[i].name);
		ck_assert_msg(lc != NULL, "no [listener %s]", want[i].name);
		ck_assert_str_eq(lc->service, want[i].service);
		ck_assert_uint_eq(lc->nbinds, 1);
		ck_assert(addr_is_local((struct sockaddr *)&lc->binds[0].addrs[0].ss));
		ck_assert_int_eq(addr_port((struct sockaddr *)&lc->binds[0].addrs[0].ss),
		    want[i].port);
		check_listener_defaults(lc);
	}
	config_free(cf);
	free(path);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");
	TCase *doc = tcase_create("sample");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_default);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_watermarks);
	tcase_add_test(tc, test_bind_lists);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_service_options);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_escaped_messages);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_foreach_key);
	tcase_add_test(tc, test_dump_every_key);
	tcase_add_test(tc, test_dump_values);
	tcase_add_test(tc, test_dump_long_value);
	tcase_add_test(tc, test_bind_whitespace);
	tcase_add_test(tc, test_access_keys);
	tcase_add_test(tc, test_access_keys_bad);
	tcase_add_test(tc, test_dump_access_keys);
	tcase_add_test(tc, test_udp);
	suite_add_tcase(s, tc);

	tcase_set_timeout(doc, 20);
	tcase_add_test(doc, test_sample_documents_every_key);
	tcase_add_test(doc, test_sample_loads);
	suite_add_tcase(s, doc);
	return s;
}

int
main(void)
{
	return unit_main(config_suite());
}
