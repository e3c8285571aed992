/*
 * check_log.c: unit tests for log.c: the queue and the log thread (order,
 * many producers, drops when the sink stalls, flush at stop), sinks
 * (stderr with and without the journal, file and reopen, syslog), levels.
 * Every test runs in its own forked child, so each starts with fresh state.
 */
#include "autoconf.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "unit.h"

#define NTHREADS	4
#define PER_THREAD	5000

/*
 * One directory per test case, made and removed by the runner process (so
 * it goes even when a test fails); each test uses its own file names.
 */
static char tmpdir[64];

static void
setup_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_log.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("check_log: mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
teardown_tmpdir(void)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		if (unlink(path) == -1)
			rmdir(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

/* A [log] section as config.c would build it. */
static void
cf_init(struct log_conf *cf, const char *target, uint64_t queue_size)
{
	int i;

	memset(cf, 0, sizeof(*cf));
	cf->level = LOG_L_INFO;
	for (i = 0; i < LOG_S_COUNT; i++)
		cf->subsys_level[i] = -1;
	cf->target = target;
	cf->facility = "daemon";
	cf->queue_size = queue_size;
}

static void
configure_ok(const struct log_conf *cf)
{
	char *err = NULL;
	int rc;

	rc = log_configure(cf, &err);
	ck_assert_msg(rc == 0, "log_configure: %s", err != NULL ? err : "?");
	ck_assert_ptr_null(err);
}

/* log_init(), then the [log] section for target configured (not started). */
static void
configure_new(struct log_conf *cf, const char *target, uint64_t queue_size)
{
	log_init();
	cf_init(cf, target, queue_size);
	configure_ok(cf);
}

/*
 * What fd gives until end of file, NUL-terminated, its length in *len; -1 in
 * *rc if a read failed (0 otherwise). No assertion: a reader thread uses it.
 */
static char *
read_all(int fd, size_t *len, int *rc)
{
	char *buf = xmalloc(65536);
	size_t cap = 65536;
	ssize_t n;

	*len = 0;
	while ((n = read(fd, buf + *len, cap - *len - 1)) > 0) {
		*len += (size_t)n;
		if (cap - *len < 4096) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	buf[*len] = '\0';
	*rc = n == 0 ? 0 : -1;
	return buf;
}

static char *
slurp(const char *path)
{
	char *buf;
	size_t len;
	int fd, rc;

	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "open %s: %s", path, strerror(errno));
	buf = read_all(fd, &len, &rc);
	ck_assert_msg(rc == 0, "read %s: %s", path, strerror(errno));
	close(fd);
	return buf;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Reads a pipe into memory until EOF (the reader side of a stderr sink). */
struct reader {
	pthread_t  thread;
	int        fd;
	char      *buf;
	size_t     len;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	int rc;

	rd->buf = read_all(rd->fd, &rd->len, &rc);
	return NULL;
}

/* Put a fresh pipe's write end on fd 2; returns the read end. */
static int
stderr_to_pipe(void)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	return p[0];
}

/* Fill the pipe behind fd 2 so that the next write to it blocks. */
static void
stderr_fill(void)
{
	char junk[4096];
	int fl;

	memset(junk, 'x', sizeof(junk));
	fl = fcntl(STDERR_FILENO, F_GETFL);
	ck_assert_int_ne(fl, -1);
	ck_assert_int_eq(fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK), 0);
	while (write(STDERR_FILENO, junk, sizeof(junk)) > 0)
		;
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	while (write(STDERR_FILENO, junk, 1) > 0)
		;
	ck_assert_int_eq(fcntl(STDERR_FILENO, F_SETFL, fl), 0);
}

/*
 * Check that every "t=T seq=S" record of the text appears in order per T.
 * Returns the number of such records; *gaps is set if a sequence skips.
 */
static size_t
check_order(const char *text, int nthreads, int *gaps)
{
	int next[NTHREADS + 1] = { 0 };
	const char *p = text;
	size_t n = 0;
	int t, seq;

	*gaps = 0;
	while ((p = strstr(p, " t=")) != NULL) {
		ck_assert_int_eq(sscanf(p, " t=%d seq=%d", &t, &seq), 2);
		ck_assert(t >= 0 && t < nthreads);
		ck_assert_msg(seq >= next[t], "t=%d seq=%d after seq=%d", t, seq, next[t] - 1);
		if (seq != next[t])
			*gaps = 1;
		next[t] = seq + 1;
		n++;
		p++;
	}
	return n;
}

static void *
producer_main(void *arg)
{
	int t = (int)(intptr_t)arg, i;

	for (i = 0; i < PER_THREAD; i++)
		log_info(LOG_S_CONN, "producer t=%d seq=%d", t, i);
	return NULL;
}

static void
run_producers(int n)
{
	pthread_t th[NTHREADS];
	int i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, producer_main, (void *)(intptr_t)i), 0);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

START_TEST(test_order_single_producer)
{
	struct log_stats st;
	struct log_conf cf;
	char path[128], *text;
	int gaps;

	snprintf(path, sizeof(path), "file:%s/one.log", tmpdir);
	configure_new(&cf, path, 8192);
	ck_assert_int_eq(log_start(), 0);
	producer_main((void *)0);
	log_stop();

	text = slurp(path + 5);
	ck_assert_uint_eq(check_order(text, 1, &gaps), PER_THREAD);
	ck_assert_int_eq(gaps, 0);
	ck_assert_uint_eq(count_lines(text), PER_THREAD);
	log_get_stats(&st);
	ck_assert_uint_eq(st.written, PER_THREAD);
	ck_assert_uint_eq(st.dropped, 0);
	free(text);
}
END_TEST

START_TEST(test_many_producers)
{
	struct log_stats st;
	struct log_conf cf;
	char path[128], *text;
	int gaps;

	/* Room for everything, so nothing may be lost whatever the timing. */
	snprintf(path, sizeof(path), "file:%s/many.log", tmpdir);
	configure_new(&cf, path, NTHREADS * PER_THREAD);
	ck_assert_int_eq(log_start(), 0);
	run_producers(NTHREADS);
	log_stop();

	text = slurp(path + 5);
	ck_assert_uint_eq(check_order(text, NTHREADS, &gaps), NTHREADS * PER_THREAD);
	ck_assert_int_eq(gaps, 0);
	log_get_stats(&st);
	ck_assert_uint_eq(st.written, NTHREADS * PER_THREAD);
	ck_assert_uint_eq(st.dropped, 0);
	free(text);
}
END_TEST

/* Sum of N over every "dropped=N" line. */
static uint64_t
sum_dropped(const char *text, size_t *nlines)
{
	const char *p = text;
	unsigned long long n;
	uint64_t sum = 0;

	*nlines = 0;
	while ((p = strstr(p, "dropped=")) != NULL) {
		ck_assert_int_eq(sscanf(p, "dropped=%llu", &n), 1);
		ck_assert(n > 0);
		sum += n;
		(*nlines)++;
		p++;
	}
	return sum;
}

START_TEST(test_drop_when_sink_stalls)
{
	const int total = 20000;
	struct reader rd = { 0 };
	struct log_stats st;
	struct log_conf cf;
	uint64_t t0, elapsed;
	size_t ndropline;
	int i, gaps;

	/* stderr is a pipe nobody reads yet: the log thread blocks on it. */
	rd.fd = stderr_to_pipe();
	configure_new(&cf, "stderr", 64);
	ck_assert_int_eq(log_start(), 0);

	t0 = util_now_ms();
	for (i = 0; i < total; i++)
		log_info(LOG_S_CONN, "stalled t=0 seq=%d padding=%s", i,
		    "................................................................");
	elapsed = util_now_ms() - t0;
	/* Producers never waited on the stalled pipe or on the log thread. */
	ck_assert_msg(elapsed < 5000, "%d log calls took %llu ms", total,
	    (unsigned long long)elapsed);
	log_get_stats(&st);
	ck_assert_msg(st.dropped > 0, "nothing dropped with a stalled sink");

	/* The sink recovers: everything queued is written, then dropped=N. */
	ck_assert_int_eq(pthread_create(&rd.thread, NULL, reader_main, &rd), 0);
	log_stop();
	close(STDERR_FILENO);
	pthread_join(rd.thread, NULL);

	log_get_stats(&st);
	ck_assert_uint_eq(st.written + st.dropped, (uint64_t)total);
	ck_assert_uint_eq(check_order(rd.buf, 1, &gaps), st.written);
	ck_assert_uint_eq(sum_dropped(rd.buf, &ndropline), st.dropped);
	ck_assert_uint_ge(ndropline, 1);
	ck_assert_uint_eq(count_lines(rd.buf), st.written + ndropline);
	free(rd.buf);
}
END_TEST

START_TEST(test_stop_with_dead_sink)
{
	struct log_stats st;
	struct log_conf cf;
	uint64_t t0, elapsed;
	int i, rfd;

	/* Nobody ever reads: the log thread blocks for good in write(). */
	rfd = stderr_to_pipe();
	stderr_fill();
	configure_new(&cf, "stderr", 64);
	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < 1000; i++)
		log_info(LOG_S_SERVER, "dead seq=%d", i);
	t0 = util_now_ms();
	log_stop();
	elapsed = util_now_ms() - t0;
	/* It waited for the sink for a while, but did not hang on it. */
	ck_assert_msg(elapsed >= 4000 && elapsed < 20000, "log_stop took %llu ms",
	    (unsigned long long)elapsed);
	/* Late records still never block. */
	t0 = util_now_ms();
	for (i = 0; i < 1000; i++)
		log_info(LOG_S_SERVER, "late seq=%d", i);
	ck_assert_uint_lt(util_now_ms() - t0, 2000);
	log_get_stats(&st);
	ck_assert_uint_gt(st.dropped, 0);
	close(rfd);
}
END_TEST

START_TEST(test_exit_flushes)
{
	char path[128], errpath[160], *text;
	struct log_conf cf;
	int i, status, gaps, fd;
	pid_t pid;

	snprintf(path, sizeof(path), "file:%s/fatal.log", tmpdir);
	snprintf(errpath, sizeof(errpath), "%s/stderr.log", tmpdir);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* A daemon that dies in fatalx() with records still queued. */
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, STDERR_FILENO);
		configure_new(&cf, path, 4096);
		log_start();
		for (i = 0; i < 2000; i++)
			log_info(LOG_S_SERVER, "doomed t=0 seq=%d", i);
		fatalx("boom");
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == ECHOD_EX_FAIL);
	text = slurp(path + 5);
	ck_assert_uint_eq(check_order(text, 1, &gaps), 2000);
	ck_assert_int_eq(gaps, 0);
	free(text);
	text = slurp(errpath);
	ck_assert_ptr_nonnull(strstr(text, "critical server: fatal: boom\n"));
	free(text);
}
END_TEST

START_TEST(test_flush_at_stop)
{
	const int total = 3000;
	struct log_stats st;
	struct log_conf cf;
	char path[128], *text;
	int i, gaps;

	snprintf(path, sizeof(path), "file:%s/flush.log", tmpdir);
	configure_new(&cf, path, 4096);

	/* Before log_start: written at once by the caller. */
	log_info(LOG_S_SERVER, "before start");
	text = slurp(path + 5);
	ck_assert_ptr_nonnull(strstr(text, "info server: before start\n"));
	free(text);

	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < total; i++)
		log_warn(LOG_S_POOL, "flush t=0 seq=%d", i);
	log_stop();
	text = slurp(path + 5);
	ck_assert_uint_eq(check_order(text, 1, &gaps), total);
	ck_assert_int_eq(gaps, 0);
	free(text);

	/* After log_stop: written at once again, after everything queued. */
	log_error(LOG_S_SERVER, "after stop");
	text = slurp(path + 5);
	ck_assert_uint_eq(count_lines(text), total + 2);
	ck_assert_ptr_nonnull(strstr(text, "error server: after stop\n"));
	ck_assert(strstr(text, "after stop") > strstr(text, "seq=2999"));
	free(text);
	log_get_stats(&st);
	ck_assert_uint_eq(st.written, total + 2);
}
END_TEST

START_TEST(test_level_filter)
{
	struct log_conf cf;
	char path[128], *text;

	snprintf(path, sizeof(path), "file:%s/level.log", tmpdir);
	log_init();
	ck_assert(!log_enabled(LOG_S_SERVER, LOG_L_DEBUG));
	ck_assert(log_enabled(LOG_S_SERVER, LOG_L_INFO));

	cf_init(&cf, path, 1024);
	cf.level = LOG_L_WARNING;
	cf.subsys_level[LOG_S_CONN] = LOG_L_DEBUG;
	cf.subsys_level[LOG_S_TLS] = LOG_L_CRITICAL;
	configure_ok(&cf);
	ck_assert(!log_enabled(LOG_S_SERVER, LOG_L_INFO));
	ck_assert(log_enabled(LOG_S_SERVER, LOG_L_WARNING));
	ck_assert(log_enabled(LOG_S_CONN, LOG_L_DEBUG));
	ck_assert(!log_enabled(LOG_S_TLS, LOG_L_ERROR));
	ck_assert(log_enabled(LOG_S_TLS, LOG_L_CRITICAL));

	ck_assert_int_eq(log_start(), 0);
	log_debug(LOG_S_SERVER, "server-debug");
	log_info(LOG_S_SERVER, "server-info");
	log_warn(LOG_S_SERVER, "server-warning");
	log_debug(LOG_S_CONN, "conn-debug");
	log_error(LOG_S_TLS, "tls-error");
	log_crit(LOG_S_TLS, "tls-critical");
	/* Overrides at run time: clear conn's, raise the base. */
	log_set_subsys_level(LOG_S_CONN, -1);
	log_set_level(LOG_L_ERROR);
	log_info(LOG_S_CONN, "conn-info");
	log_warn(LOG_S_POOL, "pool-warning");
	log_error(LOG_S_POOL, "pool-error");
	log_stop();

	text = slurp(path + 5);
	ck_assert_ptr_null(strstr(text, "server-debug"));
	ck_assert_ptr_null(strstr(text, "server-info"));
	ck_assert_ptr_nonnull(strstr(text, "warning server: server-warning\n"));
	ck_assert_ptr_nonnull(strstr(text, "debug conn: conn-debug\n"));
	ck_assert_ptr_null(strstr(text, "tls-error"));
	ck_assert_ptr_nonnull(strstr(text, "critical tls: tls-critical\n"));
	ck_assert_ptr_null(strstr(text, "conn-info"));
	ck_assert_ptr_null(strstr(text, "pool-warning"));
	ck_assert_ptr_nonnull(strstr(text, "error pool: pool-error\n"));
	ck_assert_uint_eq(count_lines(text), 4);
	free(text);
}
END_TEST

START_TEST(test_parsers)
{
	ck_assert_int_eq(log_level_parse("debug"), LOG_L_DEBUG);
	ck_assert_int_eq(log_level_parse("WARN"), LOG_L_WARNING);
	ck_assert_int_eq(log_level_parse("crit"), LOG_L_CRITICAL);
	ck_assert_int_eq(log_level_parse("verbose"), -1);
	ck_assert_int_eq(log_subsys_parse("tls"), LOG_S_TLS);
	ck_assert_int_eq(log_subsys_parse("nope"), -1);
	ck_assert_str_eq(log_level_name(LOG_L_ERROR), "error");
	ck_assert_str_eq(log_subsys_name(LOG_S_CONFIG), "config");
	ck_assert_int_eq(log_facility_parse("daemon"), LOG_DAEMON);
	ck_assert_int_eq(log_facility_parse("local3"), LOG_LOCAL3);
	ck_assert_int_eq(log_facility_parse("local8"), -1);
}
END_TEST

/* Set JOURNAL_STREAM to fd 2's "dev:ino", or to something else. */
static void
set_journal_stream(int match)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + (match ? 0 : 1));
	ck_assert_int_eq(setenv("JOURNAL_STREAM", v, 1), 0);
}

START_TEST(test_journal_prefix)
{
	struct reader rd = { 0 };
	struct log_conf cf;

	rd.fd = stderr_to_pipe();
	set_journal_stream(1);
	log_init();
	cf_init(&cf, "stderr", 1024);
	cf.level = LOG_L_DEBUG;
	configure_ok(&cf);
	ck_assert_int_eq(log_start(), 0);
	log_debug(LOG_S_POOL, "d k=1");
	log_info(LOG_S_SERVER, "i k=2");
	log_warn(LOG_S_CONN, "w k=3");
	log_error(LOG_S_TLS, "e k=4");
	log_crit(LOG_S_CONFIG, "c k=5");
	log_stop();
	log_sync(LOG_L_CRITICAL, LOG_S_SERVER, "fatal: x");
	close(STDERR_FILENO);
	reader_main(&rd);
	ck_assert_str_eq(rd.buf,
	    "<7>pool: d k=1\n"
	    "<6>server: i k=2\n"
	    "<4>conn: w k=3\n"
	    "<3>tls: e k=4\n"
	    "<2>config: c k=5\n"
	    "<2>server: fatal: x\n");
	free(rd.buf);
}
END_TEST

START_TEST(test_timestamp_format)
{
	struct reader rd = { 0 };
	struct log_conf cf;
	struct tm tm;
	regex_t re;
	time_t now, t;
	char *nl;

	/* JOURNAL_STREAM names some other stream: not the journal. */
	rd.fd = stderr_to_pipe();
	set_journal_stream(0);
	configure_new(&cf, "stderr", 1024);
	ck_assert_int_eq(log_start(), 0);
	log_info(LOG_S_CONN, "conn=42 peer=127.0.0.1:5000 note=two\nlines");
	log_stop();
	close(STDERR_FILENO);
	reader_main(&rd);

	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z info conn: conn=42 peer=127\\.0\\.0\\.1:5000 note=two lines$",
	    REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_uint_eq(count_lines(rd.buf), 1);
	nl = strchr(rd.buf, '\n');
	*nl = '\0';
	ck_assert_msg(regexec(&re, rd.buf, 0, NULL, 0) == 0, "bad line: %s", rd.buf);
	regfree(&re);

	/* UTC, and now. */
	memset(&tm, 0, sizeof(tm));
	ck_assert_ptr_nonnull(strptime(rd.buf, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	now = time(NULL);
	ck_assert_msg(t <= now && now - t < 30, "timestamp %s is not now", rd.buf);
	free(rd.buf);
}
END_TEST

START_TEST(test_file_reopen)
{
	char path[128], rotated[128], *old, *cur, *both;
	struct log_conf cf;
	int i, gaps;

	snprintf(path, sizeof(path), "file:%s/echod.log", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/echod.log.1", tmpdir);
	configure_new(&cf, path, 4096);
	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < 500; i++)
		log_info(LOG_S_SERVER, "rot t=0 seq=%d", i);
	ck_assert_int_eq(rename(path + 5, rotated), 0);
	log_reopen();
	for (i = 500; i < 1000; i++)
		log_info(LOG_S_SERVER, "rot t=0 seq=%d", i);
	log_stop();

	old = slurp(rotated);
	cur = slurp(path + 5);
	/* Records logged after log_reopen() are all in the new file. */
	ck_assert_ptr_nonnull(strstr(cur, "seq=500\n"));
	ck_assert_ptr_null(strstr(old, "seq=500\n"));
	ck_assert_ptr_null(strstr(old, "seq=999\n"));
	/* None lost, none twice: the old file, then the new one, in order. */
	xasprintf(&both, "%s%s", old, cur);
	ck_assert_uint_eq(check_order(both, 1, &gaps), 1000);
	ck_assert_int_eq(gaps, 0);
	ck_assert_uint_eq(count_lines(both), 1000);
	free(old);
	free(cur);
	free(both);
}
END_TEST

START_TEST(test_reopen_fails)
{
	char path[128], rotated[128], *text;
	struct log_conf cf;

	snprintf(path, sizeof(path), "file:%s/fail.log", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/fail.log.1", tmpdir);
	configure_new(&cf, path, 64);
	ck_assert_int_eq(log_start(), 0);
	log_info(LOG_S_SERVER, "before");
	/* The path is now a directory: the reopen fails, the old file stays. */
	ck_assert_int_eq(rename(path + 5, rotated), 0);
	ck_assert_int_eq(mkdir(path + 5, 0700), 0);
	log_reopen();
	log_info(LOG_S_SERVER, "after");
	log_stop();
	rmdir(path + 5);
	text = slurp(rotated);
	ck_assert_ptr_nonnull(strstr(text, "info server: before\n"));
	ck_assert_ptr_nonnull(strstr(text, "error server: log reopen path="));
	ck_assert_ptr_nonnull(strstr(text, "info server: after\n"));
	free(text);
}
END_TEST

/*
 * syslog(3) as this test program sees it: log.c's calls land here (the
 * program's own definition wins over libc's), so a test can tell what was
 * sent to syslog without a syslog daemon. __syslog_chk is what a fortified
 * build calls instead.
 */
static char syslog_seen[1024];

static void
syslog_record(int pri, const char *fmt, va_list ap)
{
	size_t n = strlen(syslog_seen);

	if (n + 64 < sizeof(syslog_seen)) {
		snprintf(syslog_seen + n, sizeof(syslog_seen) - n, "<%d>", pri);
		n = strlen(syslog_seen);
		vsnprintf(syslog_seen + n, sizeof(syslog_seen) - n, fmt, ap);
	}
}

void	syslog(int pri, const char *fmt, ...);
void	__syslog_chk(int pri, int flag, const char *fmt, ...);

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	syslog_record(pri, fmt, ap);
	va_end(ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	syslog_record(pri, fmt, ap);
	va_end(ap);
}

/* Make the file sink `name` fail its next reopen: renamed away, the path a directory. */
static void
reopen_will_fail(const char *path, const char *rotated)
{
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

/* A reopen that fails is told on stderr too, where someone reads it. */
START_TEST(test_reopen_fail_to_stderr)
{
	char path[128], rotated[128], *text;
	struct reader rd = { 0 };
	struct log_conf cf;

	rd.fd = stderr_to_pipe();
	snprintf(path, sizeof(path), "file:%s/told.log", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/told.log.1", tmpdir);
	configure_new(&cf, path, 64);
	ck_assert_int_eq(log_start(), 0);
	reopen_will_fail(path + 5, rotated);
	log_reopen();
	log_stop();
	rmdir(path + 5);
	close(STDERR_FILENO);
	reader_main(&rd);
	ck_assert_msg(strstr(rd.buf, " error server: log reopen path=") != NULL &&
	    strstr(rd.buf, "told.log failed: Is a directory; still writing to the file open "
	    "before\n") != NULL, "stderr: '%s'", rd.buf);
	ck_assert_str_eq(syslog_seen, "");
	/* And in the log itself, as before. */
	text = slurp(rotated);
	ck_assert_ptr_nonnull(strstr(text, "error server: log reopen path="));
	free(text);
	free(rd.buf);
}
END_TEST

/* Detached (stderr on /dev/null): syslog instead. */
START_TEST(test_reopen_fail_to_syslog)
{
	char path[128], rotated[128];
	struct log_conf cf;
	int fd;

	ck_assert_int_ne(fd = open("/dev/null", O_WRONLY), -1);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	snprintf(path, sizeof(path), "file:%s/quiet.log", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/quiet.log.1", tmpdir);
	log_init();
	cf_init(&cf, path, 64);
	cf.facility = "local3";
	configure_ok(&cf);
	ck_assert_int_eq(log_start(), 0);
	reopen_will_fail(path + 5, rotated);
	log_reopen();
	log_stop();
	rmdir(path + 5);
	ck_assert_msg(strncmp(syslog_seen, "<155>server: log reopen path=", 29) == 0 &&
	    strstr(syslog_seen, "quiet.log failed: Is a directory") != NULL,
	    "syslog: '%s'", syslog_seen);
}
END_TEST

START_TEST(test_reopen_without_thread)
{
	char path[128], rotated[128], *text;
	struct log_conf cf;

	snprintf(path, sizeof(path), "file:%s/sync.log", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/sync.log.1", tmpdir);
	configure_new(&cf, path, 16);
	log_info(LOG_S_SERVER, "first");
	ck_assert_int_eq(rename(path + 5, rotated), 0);
	log_reopen();
	log_info(LOG_S_SERVER, "second");
	text = slurp(rotated);
	ck_assert_ptr_nonnull(strstr(text, "first"));
	ck_assert_ptr_null(strstr(text, "second"));
	free(text);
	text = slurp(path + 5);
	ck_assert_ptr_nonnull(strstr(text, "second"));
	free(text);
}
END_TEST

START_TEST(test_configure_errors)
{
	char path[128], bad[160], *err, *text;
	struct log_conf cf;

	snprintf(path, sizeof(path), "file:%s/keep.log", tmpdir);
	snprintf(bad, sizeof(bad), "file:%s/no/such/dir/x.log", tmpdir);
	configure_new(&cf, path, 64);
	ck_assert_int_eq(log_start(), 0);

	cf_init(&cf, bad, 64);
	cf.level = LOG_L_DEBUG;
	ck_assert_int_eq(log_configure(&cf, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "no/such/dir/x.log"));
	free(err);
	/* A failed reload changes nothing: same level, same file. */
	ck_assert(!log_enabled(LOG_S_SERVER, LOG_L_DEBUG));

	cf_init(&cf, "tcp:127.0.0.1:514", 64);
	ck_assert_int_eq(log_configure(&cf, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "target"));
	free(err);
	cf_init(&cf, "file:", 64);
	ck_assert_int_eq(log_configure(&cf, &err), -1);
	free(err);
	cf_init(&cf, "syslog", 64);
	cf.facility = "kitchen";
	ck_assert_int_eq(log_configure(&cf, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "kitchen"));
	free(err);

	log_info(LOG_S_SERVER, "still here");
	log_stop();
	text = slurp(path + 5);
	ck_assert_ptr_nonnull(strstr(text, "still here"));
	free(text);
}
END_TEST

START_TEST(test_reload_switches_sink)
{
	char a[128], b[128], *ta, *tb;
	struct log_conf cf;
	int i, gaps;

	snprintf(a, sizeof(a), "file:%s/a.log", tmpdir);
	snprintf(b, sizeof(b), "file:%s/b.log", tmpdir);
	configure_new(&cf, a, 4096);
	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < 300; i++)
		log_info(LOG_S_SERVER, "sw t=0 seq=%d", i);
	cf_init(&cf, b, 4096);
	configure_ok(&cf);
	for (i = 300; i < 600; i++)
		log_info(LOG_S_SERVER, "sw t=0 seq=%d", i);
	log_stop();

	ta = slurp(a + 5);
	tb = slurp(b + 5);
	ck_assert_ptr_nonnull(strstr(tb, "seq=599\n"));
	ck_assert_ptr_null(strstr(ta, "seq=300\n"));
	/* Queued before the switch: the old sink's, even if not yet written. */
	ck_assert_uint_eq(check_order(ta, 1, &gaps), 300);
	ck_assert_uint_eq(check_order(tb, 1, &gaps), 300);
	free(ta);
	free(tb);
}
END_TEST

/* A refused reload puts the old sink back: the new one never gets a record. */
START_TEST(test_refused_reload_keeps_records)
{
	char a[128], b[128], *ta, *tb;
	struct log_conf cf;
	int i, gaps;

	snprintf(a, sizeof(a), "file:%s/kept.log", tmpdir);
	snprintf(b, sizeof(b), "file:%s/refused.log", tmpdir);
	configure_new(&cf, a, 4096);
	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < 200; i++)
		log_info(LOG_S_SERVER, "rr t=0 seq=%d", i);
	cf_init(&cf, b, 4096);
	configure_ok(&cf);
	cf_init(&cf, a, 4096);
	configure_ok(&cf);
	for (i = 200; i < 400; i++)
		log_info(LOG_S_SERVER, "rr t=0 seq=%d", i);
	log_stop();

	ta = slurp(a + 5);
	tb = slurp(b + 5);
	ck_assert_msg(tb[0] == '\0', "the refused sink got: %.200s", tb);
	ck_assert_uint_eq(check_order(ta, 1, &gaps), 400);
	free(ta);
	free(tb);
}
END_TEST

START_TEST(test_full_disk)
{
	struct log_stats st;
	struct log_conf cf;
	int i;

	if (access("/dev/full", W_OK) != 0)
		return;
	configure_new(&cf, "file:/dev/full", 64);
	ck_assert_int_eq(log_start(), 0);
	for (i = 0; i < 1000; i++)
		log_info(LOG_S_SERVER, "full seq=%d", i);
	log_stop();
	log_get_stats(&st);
	ck_assert_uint_eq(st.written, 0);
	ck_assert_uint_eq(st.dropped, 1000);
}
END_TEST

START_TEST(test_syslog_sink)
{
	struct log_stats st;
	struct log_conf cf;

	log_init();
	cf_init(&cf, "syslog", 64);
	cf.facility = "local5";
	configure_ok(&cf);
	ck_assert_int_eq(log_start(), 0);
	log_info(LOG_S_SERVER, "to syslog");
	log_stop();
	log_get_stats(&st);
	ck_assert_uint_eq(st.written, 1);
}
END_TEST

/* The id of the thread named `name` in this process, or -1. */
static long
find_thread(const char *name)
{
	char path[512], comm[64];
	struct dirent *de;
	long tid = -1;
	FILE *f;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir("/proc/self/task"));
	while (tid == -1 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name) == 0)
				tid = atol(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return tid;
}

START_TEST(test_thread_named_signals_blocked)
{
	unsigned long long blk = 0;
	char path[128], line[256];
	int found = 0, tries;
	long tid = -1;
	FILE *f;

	log_init();
	ck_assert_int_eq(find_thread("echod-log"), -1);
	ck_assert_int_eq(log_start(), 0);
	/* The thread names itself when it starts: give it a moment. */
	for (tries = 0; tid == -1 && tries < 200; tries++) {
		tid = find_thread("echod-log");
		if (tid == -1)
			usleep(10000);
	}
	ck_assert_msg(tid != -1, "no thread named echod-log");
	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "SigBlk: %llx", &blk) == 1)
			found = 1;
	fclose(f);
	ck_assert(found);
	ck_assert(blk & (1ULL << (SIGTERM - 1)));
	ck_assert(blk & (1ULL << (SIGHUP - 1)));
	ck_assert(blk & (1ULL << (SIGUSR1 - 1)));
	ck_assert(blk & (1ULL << (SIGPIPE - 1)));
	log_stop();
	ck_assert_int_eq(find_thread("echod-log"), -1);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("queue");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_order_single_producer);
	tcase_add_test(tc, test_many_producers);
	tcase_add_test(tc, test_drop_when_sink_stalls);
	tcase_add_test(tc, test_flush_at_stop);
	tcase_add_test(tc, test_stop_with_dead_sink);
	tcase_add_test(tc, test_exit_flushes);
	tcase_add_test(tc, test_thread_named_signals_blocked);
	suite_add_tcase(s, tc);

	tc = tcase_create("levels");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_parsers);
	tcase_add_test(tc, test_level_filter);
	suite_add_tcase(s, tc);

	tc = tcase_create("sinks");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_journal_prefix);
	tcase_add_test(tc, test_timestamp_format);
	tcase_add_test(tc, test_file_reopen);
	tcase_add_test(tc, test_reopen_without_thread);
	tcase_add_test(tc, test_reopen_fails);
	tcase_add_test(tc, test_reopen_fail_to_stderr);
	tcase_add_test(tc, test_reopen_fail_to_syslog);
	tcase_add_test(tc, test_configure_errors);
	tcase_add_test(tc, test_reload_switches_sink);
	tcase_add_test(tc, test_refused_reload_keeps_records);
	tcase_add_test(tc, test_full_disk);
	tcase_add_test(tc, test_syslog_sink);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(log_suite());
}
