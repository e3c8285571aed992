/*
 * check_sd.c: unit tests for sd.c (STATUS line, notifications without a
 * NOTIFY_SOCKET, socket activation matching by address and by name) and
 * daemon.c (pidfile, privilege drop checks, descriptor limit), and the
 * documentation check:
 * every key of the config table is in man/echod.ini.5, in its section,
 * saying whether a reload applies it.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "conn.h"
#include "loop.h"
#include "pool.h"
#include "sd.h"
#include "unit.h"
#include "util.h"

/* ---------------------------------------------------------------- sd */

/* STATUS= shows a few statistics exactly as STATS shows them. */
START_TEST(test_status_line)
{
	struct event_base *base;
	char buf[256], *err = NULL;

	base = unit_base_new();
	loop_start(base);
	conn_init(base);
	ck_assert_msg(pool_init(base, 1, 16, 0, &err) == 0, "%s", err);
	sd_status_line(buf, sizeof(buf));
	ck_assert_str_eq(buf, "server_connections_open=0 server_connections_total=0 jobs_running=0 "
	    "jobs_queued=0 loop_lag_p99_seconds=0.000000");
	/* Too small: whole entries only, still terminated. */
	ck_assert_ptr_eq(sd_status_line(buf, 60), buf);
	ck_assert_str_eq(buf, "server_connections_open=0 server_connections_total=0");
	ck_assert_ptr_eq(sd_status_line(buf, 12), buf);
	ck_assert_str_eq(buf, "");
	pool_destroy(100);
	conn_destroy();
	loop_stop();
	event_base_free(base);
	/* Without NOTIFY_SOCKET nothing is sent and nothing fails. */
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sd_notify_enabled(), 0);
	sd_notify_ready();
	sd_notify_reloading();
	sd_notify_stopping();
	ck_assert_uint_eq(sd_watchdog_usec(), 0);
}
END_TEST

#ifdef HAVE_SYSTEMD
/* Datagrams waiting on fd that start with `prefix`; the others are dropped. */
static int
sd_test_count(int fd, const char *prefix, char *last, size_t lastsize)
{
	char buf[1024];
	ssize_t n;
	int count = 0;

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0) {
			count++;
			if (last != NULL)
				snprintf(last, lastsize, "%s", buf);
		}
	}
	return count;
}
#endif

/*
 * WATCHDOG=1 comes from a timer on the loop: while the loop does not run
 * (stalled), nothing is sent; once it runs, every half interval.
 */
START_TEST(test_watchdog_from_loop)
{
#ifdef HAVE_SYSTEMD
	struct sockaddr_un sun;
	struct event_base *base;
	struct timeval tv = { 0, 360000 };
	char pid[32], last[1024] = "";
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/check_sd.%ld.notify", (long)getpid());
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	setenv("WATCHDOG_USEC", "120000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	conn_init(base);
	sd_start(base);
	ck_assert_int_eq(sd_notify_enabled(), 1);
	ck_assert_uint_eq(sd_watchdog_usec(), 120000);
	usleep(300000);
	ck_assert_int_eq(sd_test_count(fd, "WATCHDOG=1", NULL, 0), 0);
	/* 360 ms of loop at 60 ms: about 6 pings. */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	n = sd_test_count(fd, "WATCHDOG=1", last, sizeof(last));
	ck_assert_msg(n >= 4 && n <= 8, "%d WATCHDOG=1 in 360 ms at a 60 ms interval", n);
	ck_assert_str_eq(last, "WATCHDOG=1");
	sd_notify_ready();
	ck_assert_int_eq(sd_test_count(fd, "READY=1\nSTATUS=server_connections_open=0 server_connections_total=0", NULL, 0), 1);
	sd_notify_reloading();
	ck_assert_int_eq(sd_test_count(fd, "RELOADING=1\nMONOTONIC_USEC=", last, sizeof(last)), 1);
	ck_assert_ptr_nonnull(strstr(last, "\nSTATUS=reloading"));
	sd_notify_stopping();
	ck_assert_int_eq(sd_test_count(fd, "STOPPING=1\nSTATUS=stopping server_connections_open=0", NULL, 0), 1);
	sd_stop();
	conn_destroy();
	event_base_free(base);
	close(fd);
	unlink(sun.sun_path);
#else
	/* Built without libsystemd: the environment is ignored. */
	struct event_base *base = event_base_new();

	setenv("NOTIFY_SOCKET", "/tmp/check_sd.none", 1);
	setenv("WATCHDOG_USEC", "120000", 1);
	sd_start(base);
	ck_assert_int_eq(sd_notify_enabled(), 0);
	ck_assert_uint_eq(sd_watchdog_usec(), 0);
	sd_notify_ready();
	sd_stop();
	event_base_free(base);
#endif
}
END_TEST

static int
sd_test_listen_tcp(struct addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->len = sizeof(*sin);
	if (fd == -1 || bind(fd, (struct sockaddr *)sin, a->len) == -1 || listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a->ss, &a->len) == -1)
		return -1;
	return fd;
}

/* A UDP socket on 127.0.0.1, port `port` (0: any); its address (udp:) in *a. */
static int
sd_test_bind_udp(struct addr *a, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
	a->len = sizeof(*sin);
	a->socktype = SOCK_DGRAM;
	if (fd == -1 || bind(fd, (struct sockaddr *)sin, a->len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a->ss, &a->len) == -1)
		return -1;
	return fd;
}

/*
 * Runs in a grandchild: it puts sockets on descriptors 3.. like systemd
 * does, which may clobber the test framework's own descriptors, so it
 * reports only through its exit status (0, or the failing line).
 */
#define SD_EXPECT(e) do { if (!(e)) _exit(__LINE__ % 250 + 1); } while (0)

static void
sd_test_activation(void)
{
	struct addr a1, a2, other, ua, da, dother;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ua.ss;
	char path[64], env[32];
	int s1, s2, su, dg, pp[2], fd, fd2, dual = 7;

	SD_EXPECT((s1 = sd_test_listen_tcp(&a1)) != -1);
	SD_EXPECT((s2 = sd_test_listen_tcp(&a2)) != -1);
	snprintf(path, sizeof(path), "/tmp/check_sd.%ld.sock", (long)getpid());
	memset(&ua, 0, sizeof(ua));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	ua.len = sizeof(*sun);
	unlink(path);
	SD_EXPECT((su = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	SD_EXPECT(bind(su, (struct sockaddr *)sun, ua.len) == 0 && listen(su, 8) == 0);
	/* ListenDatagram=: a UDP socket on the same port number as the first TCP one. */
	SD_EXPECT((dg = sd_test_bind_udp(&da, addr_port((struct sockaddr *)&a1.ss))) != -1);
	SD_EXPECT(pipe(pp) == 0);
	/* Move them clear of 3..7 first, then into place. */
	SD_EXPECT((s1 = fcntl(s1, F_DUPFD, 20)) != -1 && (s2 = fcntl(s2, F_DUPFD, 20)) != -1);
	SD_EXPECT((su = fcntl(su, F_DUPFD, 20)) != -1 && (dg = fcntl(dg, F_DUPFD, 20)) != -1);
	SD_EXPECT((pp[0] = fcntl(pp[0], F_DUPFD, 20)) != -1);
	SD_EXPECT(dup2(s1, 3) == 3 && dup2(s2, 4) == 4 && dup2(su, 5) == 5 && dup2(dg, 6) == 6);
	SD_EXPECT(dup2(pp[0], 7) == 7);
	snprintf(env, sizeof(env), "%ld", (long)getpid());
	setenv("LISTEN_PID", env, 1);
	setenv("LISTEN_FDS", "5", 1);
	setenv("LISTEN_FDNAMES", "echo:discard:unknown:dgram:pipe", 1);
#ifdef HAVE_SYSTEMD
	/* The pipe is no socket: ignored. */
	SD_EXPECT(sd_listen_init() == 4);
	SD_EXPECT(getenv("LISTEN_FDS") == NULL);
	/* The UDP socket: not for a TCP bind of the same address, nor a TCP listener of its name. */
	dother = da;
	((struct sockaddr_in *)&dother.ss)->sin_port = 0;
	dother.socktype = SOCK_STREAM;
	SD_EXPECT(sd_listen_take("dgram", &dother, NULL) == -1);
	dother.socktype = SOCK_DGRAM;
	SD_EXPECT(sd_listen_take("echo", &dother, NULL) == -1);
	SD_EXPECT((fd = sd_listen_take("x", &da, NULL)) > 7);
	SD_EXPECT((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	sd_listen_release(fd);
	close(fd);
	/* by name, a udp: bind takes it */
	SD_EXPECT((fd = sd_listen_take("dgram", &dother, NULL)) > 7);
	sd_listen_release(fd);
	close(fd);
	/* By address, whatever the name; a TCP bind never gets the UDP socket of its port. */
	SD_EXPECT((fd = sd_listen_take("discard", &a1, &dual)) > 6);
	{
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);
		int type = 0;
		socklen_t tlen = sizeof(type);

		SD_EXPECT(getsockname(fd, (struct sockaddr *)&got, &glen) == 0);
		SD_EXPECT(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0);
		SD_EXPECT(type == SOCK_STREAM);
	}
	SD_EXPECT(dual == 0);
	SD_EXPECT(sd_listen_is_inherited(fd));
	SD_EXPECT((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	SD_EXPECT((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	/* Taken: neither its address nor its name finds it again. */
	SD_EXPECT(sd_listen_take("echo", &a1, NULL) == -1);
	/* By name: a listener "discard" whose address systemd did not bind. */
	other = a1;
	((struct sockaddr_in *)&other.ss)->sin_port = 0;
	SD_EXPECT((fd2 = sd_listen_take("discard", &other, NULL)) > 6);
	SD_EXPECT(sd_listen_take("discard", &other, NULL) == -1);
	SD_EXPECT(sd_listen_take("nosuch", &other, NULL) == -1);
	/* A unix socket by path. */
	SD_EXPECT(sd_listen_take("x", &ua, NULL) > 6);
	/* Released, the socket can be taken again (a listener re-added on reload). */
	sd_listen_release(fd);
	close(fd);
	SD_EXPECT(!sd_listen_is_inherited(fd));
	SD_EXPECT((fd = sd_listen_take("echo", &other, NULL)) > 6);
	SD_EXPECT(sd_listen_is_inherited(fd2) && sd_listen_is_inherited(fd));
	sd_listen_check_unused();
	sd_stop();
	SD_EXPECT(sd_listen_count() == 0);
	/* Systemd's socket file is left alone. */
	SD_EXPECT(access(path, F_OK) == 0);
#else
	(void)fd; (void)fd2; (void)dual; (void)other; (void)dother;
	SD_EXPECT(sd_listen_init() == 0);
	SD_EXPECT(sd_listen_take("echo", &a1, NULL) == -1);
#endif
	unlink(path);
	_exit(0);
}

START_TEST(test_activation)
{
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		sd_test_activation();
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "activation check failed (exit status %d: line %% 250 + 1 of the failed check)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}
END_TEST

/* ---------------------------------------------------------------- daemon */

static char *
daemon_test_dir(void)
{
	char *d;

	xasprintf(&d, "/tmp/check_sd.%ld.XXXXXX", (long)getpid());
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static long
daemon_test_read_pid(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

START_TEST(test_pidfile)
{
	char *dir = daemon_test_dir(), *path, *err = NULL;
	pid_t pid;
	int st, fd;

	xasprintf(&path, "%s/sub/echod.pid", dir);
	/* The missing directory is created; the file holds our PID. */
	ck_assert_int_eq(daemon_pidfile_create(path, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(daemon_pidfile_path(), path);
	ck_assert_int_eq(daemon_test_read_pid(path), (long)getpid());
	/* Another process cannot take it while we live. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int r = daemon_pidfile_create(path, &err);

		_exit(r == -1 && err != NULL && strstr(err, "held by a running echod") != NULL &&
		    daemon_test_read_pid(path) == (long)getppid() ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "second instance was not refused");
	/* Removed at exit. */
	daemon_pidfile_remove();
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_ptr_null(daemon_pidfile_path());

	/* A stale pidfile (nobody holds its lock) is replaced. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "999999\n", 7), 7);
	close(fd);
	ck_assert_int_eq(daemon_pidfile_create(path, &err), 0);
	ck_assert_int_eq(daemon_test_read_pid(path), (long)getpid());
	daemon_pidfile_remove();

	/* A directory that cannot be made: a readable error. */
	free(path);
	xasprintf(&path, "%s/a/b/c/echod.pid", dir);
	ck_assert_int_eq(daemon_pidfile_create(path, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
	free(err);
	free(path);
	xasprintf(&path, "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_privileges)
{
	struct passwd *pw;
	char *err = NULL;

	ck_assert_int_eq(daemon_drop_privileges(NULL, NULL, &err), 0);
	ck_assert_int_eq(daemon_drop_privileges("", "", &err), 0);
	ck_assert_int_eq(daemon_drop_privileges("no-such-user-echod", NULL, &err), -1);
	ck_assert_str_eq(err, "[server] user: unknown user 'no-such-user-echod'");
	free(err);
	ck_assert_int_eq(daemon_drop_privileges(NULL, "no-such-group-echod", &err), -1);
	ck_assert_str_eq(err, "[server] group: unknown group 'no-such-group-echod'");
	free(err);
	/* Already the user it asks for: nothing to do, no root needed. */
	pw = getpwuid(geteuid());
	if (pw != NULL && getegid() == pw->pw_gid && geteuid() != 0)
		ck_assert_int_eq(daemon_drop_privileges(pw->pw_name, NULL, &err), 0);
	/* Not root: switching to someone else is refused. */
	if (geteuid() != 0 && (pw = getpwnam("nobody")) != NULL && pw->pw_uid != geteuid()) {
		ck_assert_int_eq(daemon_drop_privileges("nobody", NULL, &err), -1);
		ck_assert_ptr_nonnull(strstr(err, "not running as root"));
		free(err);
	}
}
END_TEST

/* Runs in a forked child: it changes the process's limits. */
START_TEST(test_nofile)
{
	struct rlimit rl;
	uint64_t got;

	ck_assert_uint_eq(daemon_nofile_needed(0, 0), DAEMON_NOFILE_RESERVE);
	ck_assert_uint_eq(daemon_nofile_needed(10000, 0), 10000 + DAEMON_NOFILE_RESERVE);
	/* Metrics connections count too. */
	ck_assert_uint_eq(daemon_nofile_needed(10000, 16), 10000 + 16 + DAEMON_NOFILE_RESERVE);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 512)
		return;
	rl.rlim_cur = 128;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	/* Within the hard limit: raised to exactly what is needed. */
	got = daemon_raise_nofile(300, 16);
	ck_assert_uint_eq(got, 300 + 16 + DAEMON_NOFILE_RESERVE);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_uint_eq(rl.rlim_cur, 300 + 16 + DAEMON_NOFILE_RESERVE);
	/* Enough already: unchanged. */
	ck_assert_uint_eq(daemon_raise_nofile(10, 0), 300 + 16 + DAEMON_NOFILE_RESERVE);
	/* Beyond what any process may have: the hard limit at most, and it says so. */
	got = daemon_raise_nofile((uint64_t)1 << 40, 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_uint_eq(got, rl.rlim_cur);
	ck_assert_uint_lt(got, (uint64_t)1 << 40);
}
END_TEST

/* ---------------------------------------------------------------- docs */

struct doc_keys {
	char	**lines;
	size_t	  n;
	char	 *missing;	/* "section.key ..." */
	size_t	  nmissing;
};

static char *
doc_man_path(void)
{
	static const char *tries[] = { "../man/echod.ini.5", "man/echod.ini.5",
	    "../../man/echod.ini.5" };
	const char *top = getenv("top_srcdir");
	char *path;
	size_t i;

	if (top != NULL && *top != '\0') {
		xasprintf(&path, "%s/man/echod.ini.5", top);
		return path;
	}
	for (i = 0; i < ARRAY_LEN(tries); i++)
		if (access(tries[i], R_OK) == 0)
			return xstrdup(tries[i]);
	ck_abort_msg("man/echod.ini.5 not found: set top_srcdir");
	return NULL;
}

static void
doc_read(struct doc_keys *d)
{
	char *path = doc_man_path(), line[1024];
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		d->lines = xreallocarray(d->lines, d->n + 1, sizeof(*d->lines));
		d->lines[d->n++] = xstrdup(line);
	}
	fclose(f);
	free(path);
}

/* The first line of the subsection ".Ss [section ...]", or d->n. */
static size_t
doc_section(const struct doc_keys *d, const char *section)
{
	size_t i, len = strlen(section);

	for (i = 0; i < d->n; i++)
		if (strncmp(d->lines[i], ".Ss \"[", 6) == 0 &&
		    strncmp(d->lines[i] + 6, section, len) == 0 &&
		    (d->lines[i][6 + len] == ']' || d->lines[i][6 + len] == ' '))
			return i;
	return d->n;
}

/*
 * The ".It Ic key" entry of `key` in `section`: found, and its text (up to
 * the next entry) says "reload" or "restart". 1 if good.
 */
static int
doc_key_ok(const struct doc_keys *d, const char *section, const char *key, const char **why)
{
	size_t i = doc_section(d, section), len = strlen(key), j;
	int depth;

	if (i == d->n) {
		*why = "no .Ss \"[section]\" subsection";
		return 0;
	}
	for (i++; i < d->n && strncmp(d->lines[i], ".S", 2) != 0; i++) {
		if (strncmp(d->lines[i], ".It Ic ", 7) != 0 || strncmp(d->lines[i] + 7, key, len) != 0 ||
		    (d->lines[i][7 + len] != '\0' && d->lines[i][7 + len] != ' '))
			continue;
		/* The entry ends at the next item of its own list (nested lists are part of it). */
		for (j = i + 1, depth = 0; j < d->n && strncmp(d->lines[j], ".S", 2) != 0; j++) {
			if (strncmp(d->lines[j], ".Bl", 3) == 0)
				depth++;
			else if (strncmp(d->lines[j], ".El", 3) == 0 && depth-- == 0)
				break;
			else if (strncmp(d->lines[j], ".It ", 4) == 0 && depth == 0)
				break;
			if (strstr(d->lines[j], "reload") != NULL || strstr(d->lines[j], "restart") != NULL)
				return 1;
		}
		*why = "entry does not say whether a reload applies it (reload/restart)";
		return 0;
	}
	*why = "no \".It Ic KEY\" entry";
	return 0;
}

static void
doc_check_cb(const char *section, const char *key, void *arg)
{
	struct doc_keys *d = arg;
	const char *why = NULL;
	char *m;

	if (doc_key_ok(d, section, key, &why))
		return;
	xasprintf(&m, "%s%s.%s (%s)\n", d->missing != NULL ? d->missing : "", section, key, why);
	free(d->missing);
	d->missing = m;
	d->nmissing++;
}

/* Every key of the table is documented, in its section, in man/echod.ini.5. */
START_TEST(test_man_documents_every_key)
{
	struct doc_keys d = { NULL, 0, NULL, 0 };
	size_t i;

	doc_read(&d);
	config_foreach_key(doc_check_cb, &d);
	ck_assert_msg(d.nmissing == 0, "man/echod.ini.5 misses %zu key(s):\n%s", d.nmissing,
	    d.missing);
	for (i = 0; i < d.n; i++)
		free(d.lines[i]);
	free(d.lines);
}
END_TEST

struct doc_known {
	const char	*section;
	const char	*key;
	int		 found;
};

static void
doc_known_cb(const char *section, const char *key, void *arg)
{
	struct doc_known *k = arg;

	if (strcmp(section, k->section) == 0 && strcmp(key, k->key) == 0)
		k->found = 1;
}

/* The other way round: every entry in the page's key lists is a real key. */
START_TEST(test_man_has_no_stale_key)
{
	struct doc_keys d = { NULL, 0, NULL, 0 };
	static const char *sections[] = { "server", "log", "listener" };
	struct doc_known k;
	size_t s, i, n = 0;
	char key[128];

	doc_read(&d);
	for (s = 0; s < ARRAY_LEN(sections); s++) {
		i = doc_section(&d, sections[s]);
		ck_assert_msg(i < d.n, "no [%s] subsection", sections[s]);
		for (i++; i < d.n && strncmp(d.lines[i], ".S", 2) != 0; i++) {
			if (strncmp(d.lines[i], ".It Ic ", 7) != 0)
				continue;
			ck_assert_int_eq(sscanf(d.lines[i] + 7, "%127s", key), 1);
			k.section = sections[s];
			k.key = key;
			k.found = 0;
			config_foreach_key(doc_known_cb, &k);
			ck_assert_msg(k.found, "man/echod.ini.5 documents [%s] %s, which is no key",
			    sections[s], key);
			n++;
		}
	}
	ck_assert_uint_ge(n, 20);
	for (i = 0; i < d.n; i++)
		free(d.lines[i]);
	free(d.lines);
}
END_TEST

static Suite *
sd_suite(void)
{
	Suite *s = suite_create("sd");
	TCase *tc = tcase_create("sd");
	TCase *dm = tcase_create("daemon");
	TCase *doc = tcase_create("docs");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_status_line);
	tcase_add_test(tc, test_activation);
	tcase_add_test(tc, test_watchdog_from_loop);
	suite_add_tcase(s, tc);

	tcase_set_timeout(dm, 10);
	tcase_add_test(dm, test_pidfile);
	tcase_add_test(dm, test_privileges);
	tcase_add_test(dm, test_nofile);
	suite_add_tcase(s, dm);

	tcase_set_timeout(doc, 10);
	tcase_add_test(doc, test_man_documents_every_key);
	tcase_add_test(doc, test_man_has_no_stale_key);
	suite_add_tcase(s, doc);
	return s;
}

int
main(void)
{
	log_init();
	return unit_main(sd_suite());
}
