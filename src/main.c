/*
 * main.c: command line and wiring. Main thread.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "sd.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#define MAIN_DEFAULT_CONFIG SYSCONFDIR "/echod/echod.ini"

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: echod [-c FILE] [-f] [-t] [-d] [-l LEVEL] [-V] [-h]\n"
	    "  -c, --config FILE      configuration file (default %s)\n"
	    "  -f, --foreground       stay in the foreground: no detaching, no default pidfile\n"
	    "  -t, --test-config      check the configuration and exit (0 OK, 78 errors)\n"
	    "  -d, --debug            debug mode\n"
	    "  -l, --log-level LEVEL  debug, info, warning, error or critical\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             this help\n", MAIN_DEFAULT_CONFIG);
}

/* Load the config for -t or start-up. Prints every error; NULL on failure. */
static struct config *
main_load(const struct server_opts *o, int quiet_default)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cf = NULL;
	size_t i;

	if (!o->config_explicit && access(o->config_path, F_OK) == -1 && errno == ENOENT) {
		if (!quiet_default)
			log_warn(LOG_S_CONFIG, "no config file at %s: running on built-in defaults "
			    "(echo on 127.0.0.1:7007)", o->config_path);
		return config_default();
	}
	if (config_load(o->config_path, &cf, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "echod: %s\n", errs.msgs[i]);
		/* Past the cap the last message says how many more there were. */
		if (errs.n > 1 && strstr(errs.msgs[errs.n - 1], "more errors not shown") != NULL)
			fprintf(stderr, "echod: more than %zu errors in %s\n", errs.n - 1,
			    o->config_path);
		else
			fprintf(stderr, "echod: %zu error%s in %s\n", errs.n, errs.n == 1 ? "" : "s",
			    o->config_path);
		config_errors_free(&errs);
		return NULL;
	}
	return cf;
}

/*
 * Without -f: detach (the parent exits with the start-up result), then
 * claim the pidfile with the daemon's PID. With -f: a pidfile only if set.
 */
static int
main_daemonize(struct server_opts *o, const struct config *cf)
{
	static char abs[PATH_MAX];
	const char *pidfile = cf->pidfile;
	char *err = NULL;

	if (!o->foreground) {
		/* The daemon runs in "/": a reload must still find the file. */
		if (o->config_path[0] != '/' && realpath(o->config_path, abs) != NULL)
			o->config_path = abs;
		if (cf->log_target == NULL || strcmp(cf->log_target, "stderr") == 0)
			log_warn(LOG_S_SERVER, "[log] target is stderr: once detached, log lines are "
			    "discarded (run with -f, or set target = syslog or file:PATH)");
		if (daemon_start(&err) == -1)
			goto fail;
		if (pidfile == NULL)
			pidfile = DAEMON_PIDFILE_DEFAULT;
	}
	if (pidfile != NULL && daemon_pidfile_create(pidfile, &err) == -1)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "echod: %s\n", err);
	free(err);
	return -1;
}

/*
 * -t: load every TLS listener's certificate and key, check they match and
 * report their expiry (a warning within 30 days). Returns -1 on any error.
 */
static int
main_check_tls(const struct config *cf)
{
	char *msg;
	size_t i;
	int rc, bad = 0;

	for (i = 0; i < cf->nlisteners; i++) {
		msg = NULL;
		rc = tls_check_listener(cf->listeners[i], &msg);
		if (msg != NULL)
			fprintf(rc == 0 ? stdout : stderr, "echod: %s%s\n",
			    rc < 0 ? "error: " : rc > 0 ? "warning: " : "", msg);
		free(msg);
		if (rc < 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "test-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_opts o = { MAIN_DEFAULT_CONFIG, 0, 0, 0, -1 };
	struct config *cf;
	int ch, test = 0, rc;

	log_init();
	while ((ch = getopt_long(argc, argv, "c:ftdl:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_path = optarg;
			o.config_explicit = 1;
			break;
		case 'f':
			o.foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'd':
			o.debug = 1;
			break;
		case 'l':
			if ((o.log_level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "echod: unknown log level '%s' (expected debug, info, "
				    "warning, error or critical)\n", optarg);
				return ECHOD_EX_USAGE;
			}
			break;
		case 'V':
			printf("echod %s\n", PACKAGE_VERSION);
			return ECHOD_EX_OK;
		case 'h':
			main_usage(stdout);
			return ECHOD_EX_OK;
		default:
			main_usage(stderr);
			return ECHOD_EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "echod: unexpected argument '%s'\n", argv[optind]);
		main_usage(stderr);
		return ECHOD_EX_USAGE;
	}
	if (o.log_level >= 0)
		log_set_level((enum log_level)o.log_level);
	if ((cf = main_load(&o, test)) == NULL)
		return ECHOD_EX_CONFIG;
	if (test) {
		for (size_t i = 0; i < cf->nwarnings; i++)
			fprintf(stderr, "echod: warning: %s\n", cf->warnings[i]);
		rc = main_check_tls(cf);
		if (rc == 0)
			printf("configuration OK%s\n", cf->path == NULL ? " (built-in defaults)" : "");
		config_free(cf);
		return rc == 0 ? ECHOD_EX_OK : ECHOD_EX_CONFIG;
	}
	/* Socket activation names this PID: take the sockets before any fork. */
	sd_listen_init();
	if (main_daemonize(&o, cf) == -1) {
		config_free(cf);
		return ECHOD_EX_FAIL;
	}
	rc = server_run(&o, cf);
	daemon_pidfile_remove();
	return rc;
}
