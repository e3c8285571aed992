/*
 * daemon.c: running as a classic Unix daemon (see daemon.h). Main thread,
 * at start-up, before the worker and log threads exist, except for
 * daemon_raise_nofile (also on reload, loop thread) and
 * daemon_pidfile_remove (at exit, after the threads are joined).
 *
 * The pidfile is an advisory lock as much as a file: the live instance
 * holds flock() on it for its whole life, so "is another echod running?"
 * is answered by the kernel, not by guessing whether a PID was reused.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "util.h"

#define DAEMON_PIDFILE_TRIES	3

static int	 daemon_ready_fd = -1;	/* write end of the pipe to the waiting parent */
static int	 daemon_is_detached;
static char	*daemon_pid_path;
static int	 daemon_pid_fd = -1;
static dev_t	 daemon_pid_dev;
static ino_t	 daemon_pid_ino;
static char	*daemon_pid_dir;	/* the directory, if echod created it */

/* ---------------------------------------------------------------- detach */

/* The original process: exit with the daemon's start-up result. */
static void __attribute__((noreturn))
daemon_parent_wait(int fd, pid_t child)
{
	char status;
	ssize_t n;

	do
		n = read(fd, &status, 1);
	while (n == -1 && errno == EINTR);
	waitpid(child, NULL, 0);
	_exit(n == 1 && status == 0 ? ECHOD_EX_OK : ECHOD_EX_FAIL);
}

int
daemon_start(char **err)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		xasprintf(err, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		xasprintf(err, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		daemon_parent_wait(fds[0], pid);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	/* Second fork: the daemon is no session leader and never gets a terminal. */
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(ECHOD_EX_OK);
	daemon_ready_fd = fds[1];
	daemon_is_detached = 1;
	return 0;
}

int
daemon_detached(void)
{
	return daemon_is_detached;
}

void
daemon_ready(void)
{
	char ok = 0;
	int fd;

	if (daemon_ready_fd == -1)
		return;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (chdir("/") == -1)
		log_warn(LOG_S_SERVER, "chdir / failed error=\"%s\"", strerror(errno));
	if (write(daemon_ready_fd, &ok, 1) != 1)
		log_warn(LOG_S_SERVER, "cannot tell the parent process start-up is done");
	close(daemon_ready_fd);
	daemon_ready_fd = -1;
}

/* ---------------------------------------------------------------- pidfile */

static char *
daemon_abspath(const char *path)
{
	char cwd[4096], *abs;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	xasprintf(&abs, "%s/%s", cwd, path);
	return abs;
}

/* Create the pidfile's directory (one level) if it is missing. */
static void
daemon_pidfile_mkdir(const char *path)
{
	char *copy = xstrdup(path), *dir = dirname(copy);

	if (mkdir(dir, 0755) == 0) {
		free(daemon_pid_dir);
		daemon_pid_dir = xstrdup(dir);
	} else if (errno != EEXIST)
		log_debug(LOG_S_SERVER, "mkdir for pidfile=%s error=\"%s\"", path, strerror(errno));
	free(copy);
}

/*
 * The name is taken: 1 (and *err) if a live instance holds it, 0 if it
 * was stale and is gone now (try again), -1 (and *err) on error.
 */
static int
daemon_pidfile_check(const char *path, char **err)
{
	struct stat fst, pst;
	char buf[32];
	ssize_t n;
	long pid = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(err, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		int held = errno == EWOULDBLOCK;

		if (held)
			xasprintf(err, "pidfile %s is held by a running echod (pid %ld): not starting "
			    "a second instance", path, pid);
		else
			xasprintf(err, "pidfile %s: flock: %s", path, strerror(errno));
		close(fd);
		return held ? 1 : -1;
	}
	/* Unlocked: its owner is gone. Remove it only if it is still that file. */
	if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 && fst.st_dev == pst.st_dev &&
	    fst.st_ino == pst.st_ino) {
		log_warn(LOG_S_SERVER, "removing stale pidfile=%s pid=%ld", path, pid);
		if (unlink(path) == -1 && errno != ENOENT) {
			xasprintf(err, "cannot remove stale pidfile %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* A locked temporary file with our PID, next to `path`; its fd or -1. */
static int
daemon_pidfile_tmp(const char *path, char **tmp, char **err)
{
	char line[32];
	int fd, len;

	xasprintf(tmp, "%s.XXXXXX", path);
	if ((fd = mkostemp(*tmp, O_CLOEXEC)) == -1) {
		xasprintf(err, "cannot create pidfile %s: %s", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (fchmod(fd, 0644) == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    write(fd, line, (size_t)len) != len) {
		xasprintf(err, "cannot write pidfile %s: %s", *tmp, strerror(errno));
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	return fd;
}

int
daemon_pidfile_create(const char *path, char **err)
{
	struct stat st;
	char *abs, *tmp;
	int fd, tries, r;

	*err = NULL;
	abs = daemon_abspath(path);
	daemon_pidfile_mkdir(abs);
	for (tries = 0; tries < DAEMON_PIDFILE_TRIES; tries++) {
		if ((fd = daemon_pidfile_tmp(abs, &tmp, err)) == -1)
			goto fail;
		/* link() publishes the complete file, and fails if the name exists. */
		r = link(tmp, abs);
		unlink(tmp);
		free(tmp);
		if (r == 0 && fstat(fd, &st) == 0) {
			daemon_pid_fd = fd;
			daemon_pid_path = abs;
			daemon_pid_dev = st.st_dev;
			daemon_pid_ino = st.st_ino;
			return 0;
		}
		close(fd);
		if (r == -1 && errno != EEXIST) {
			xasprintf(err, "cannot create pidfile %s: %s", abs, strerror(errno));
			goto fail;
		}
		if (daemon_pidfile_check(abs, err) != 0)
			goto fail;
	}
	xasprintf(err, "pidfile %s: still taken after %d attempts", abs, DAEMON_PIDFILE_TRIES);
fail:
	free(abs);
	return -1;
}

void
daemon_pidfile_remove(void)
{
	struct stat st;

	if (daemon_pid_path == NULL)
		return;
	if (stat(daemon_pid_path, &st) == 0 && st.st_dev == daemon_pid_dev &&
	    st.st_ino == daemon_pid_ino && unlink(daemon_pid_path) == -1)
		/* Harmless: nobody holds its lock, so the next start replaces it. */
		log_info(LOG_S_SERVER, "pidfile=%s not removed error=\"%s\"", daemon_pid_path,
		    strerror(errno));
	close(daemon_pid_fd);
	daemon_pid_fd = -1;
	free(daemon_pid_path);
	daemon_pid_path = NULL;
	free(daemon_pid_dir);
	daemon_pid_dir = NULL;
}

const char *
daemon_pidfile_path(void)
{
	return daemon_pid_path;
}

/* ---------------------------------------------------------------- privileges */

static int
daemon_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, char **err)
{
	struct passwd *pw;
	struct group *gr;

	*uid = geteuid();
	*gid = getegid();
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			xasprintf(err, "[server] user: unknown user '%s'", user);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			xasprintf(err, "[server] group: unknown group '%s'", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

int
daemon_drop_privileges(const char *user, const char *group, char **err)
{
	uid_t uid;
	gid_t gid;
	int r;

	*err = NULL;
	if (user != NULL && *user == '\0')
		user = NULL;
	if (group != NULL && *group == '\0')
		group = NULL;
	if (user == NULL && group == NULL)
		return 0;
	if (daemon_lookup(user, group, &uid, &gid, err) == -1)
		return -1;
	if (geteuid() != 0) {
		if (uid == geteuid() && gid == getegid())
			return 0;
		xasprintf(err, "cannot switch to user=%s group=%s: not running as root",
		    user != NULL ? user : "-", group != NULL ? group : "-");
		return -1;
	}
	/* A pidfile directory echod made becomes the user's, so it can remove the file at exit. */
	if (daemon_pid_dir != NULL && chown(daemon_pid_dir, uid, gid) == -1)
		log_warn(LOG_S_SERVER, "chown %s error=\"%s\"", daemon_pid_dir, strerror(errno));
	r = user != NULL ? initgroups(user, gid) : setgroups(1, &gid);
	if (r == -1 || setresgid(gid, gid, gid) == -1 ||
	    (user != NULL && setresuid(uid, uid, uid) == -1)) {
		xasprintf(err, "cannot switch to user=%s group=%s: %s", user != NULL ? user : "-",
		    group != NULL ? group : "-", strerror(errno));
		return -1;
	}
	if (user != NULL && uid != 0 && setuid(0) != -1)
		fatalx("root privileges could be regained after switching to user %s", user);
	log_info(LOG_S_SERVER, "privileges dropped user=%s uid=%ld gid=%ld",
	    user != NULL ? user : "root", (long)getuid(), (long)getgid());
	return 0;
}

/* ---------------------------------------------------------------- limits */

uint64_t
daemon_nofile_needed(uint64_t max_connections, uint64_t metrics_connections)
{
	return max_connections + metrics_connections + DAEMON_NOFILE_RESERVE;
}

/* Try soft = hard = `want`; failing that (no privilege), soft = the hard limit. */
static void
daemon_nofile_set(struct rlimit *rl, uint64_t want)
{
	struct rlimit nl;

	nl.rlim_cur = (rlim_t)want;
	nl.rlim_max = rl->rlim_max != RLIM_INFINITY && rl->rlim_max < want ? (rlim_t)want :
	    rl->rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nl) == -1 && nl.rlim_max != rl->rlim_max) {
		nl.rlim_cur = rl->rlim_max;
		nl.rlim_max = rl->rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &nl) == -1)
			log_debug(LOG_S_SERVER, "setrlimit NOFILE error=\"%s\"", strerror(errno));
	}
	getrlimit(RLIMIT_NOFILE, rl);
}

uint64_t
daemon_raise_nofile(uint64_t max_connections, uint64_t metrics_connections)
{
	uint64_t need = daemon_nofile_needed(max_connections, metrics_connections), was;
	struct rlimit rl;
	char metrics[64] = "";

	if (metrics_connections > 0)
		snprintf(metrics, sizeof(metrics), " + [metrics] max_connections=%" PRIu64,
		    metrics_connections);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn(LOG_S_SERVER, "getrlimit NOFILE error=\"%s\"", strerror(errno));
		return 0;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return rl.rlim_cur;
	was = rl.rlim_cur;
	daemon_nofile_set(&rl, need);
	if (rl.rlim_cur >= need) {
		log_info(LOG_S_SERVER, "RLIMIT_NOFILE raised from %" PRIu64 " to %" PRIu64
		    " for max_connections=%" PRIu64 "%s", was, (uint64_t)rl.rlim_cur,
		    max_connections, metrics);
		return rl.rlim_cur;
	}
	log_warn(LOG_S_SERVER, "RLIMIT_NOFILE=%" PRIu64 " (hard %" PRIu64 ") is below max_connections="
	    "%" PRIu64 "%s + %d reserved: accepting pauses when descriptors run out; raise the "
	    "limit (LimitNOFILE=, ulimit -n) or lower max_connections", (uint64_t)rl.rlim_cur,
	    (uint64_t)rl.rlim_max, max_connections, metrics, DAEMON_NOFILE_RESERVE);
	return rl.rlim_cur;
}
