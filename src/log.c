/*
 * log.c: the logging API and the log thread.
 *
 * Any thread may log. A log call formats its record on the caller's thread
 * and copies it into a bounded in-memory ring under a mutex held only for
 * that copy. One thread, "echod-log", takes records out of the ring, renders
 * them for the sink (stderr, the journal, a file or syslog) and writes them.
 * A producer never waits for I/O or for the log thread: when the ring is
 * full the record is dropped and counted, and once the sink accepts writes
 * again the log thread writes one "dropped=N" line.
 *
 * The log thread writes in batches: woken by the first record after a quiet
 * spell it naps a millisecond so that a busy daemon costs one wake-up and
 * one write() per batch. It alone owns the sink while it runs; a reload
 * hands it a new sink and SIGUSR1 asks it to reopen the file, so the loop
 * thread never waits on a slow sink either.
 *
 * Before log_start() and after log_stop() there is no log thread and every
 * record is written synchronously by the calling thread. log_sync() always
 * writes straight to stderr (fatal paths). log_stop() (also run at exit)
 * writes everything queued, giving up only on a sink that takes nothing for
 * LOG_STOP_STALL_MS.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"
#include "util.h"

/* Longest message kept; longer ones are cut. */
#define LOG_MSG_MAX		2048
/* Ring bytes per record of queue_size: typical records are well below. */
#define LOG_BYTES_PER_RECORD	256
#define LOG_QUEUE_DEFAULT	4096
#define LOG_QUEUE_MAX		(1024 * 1024)
/* The log thread renders up to this much before each write(). */
#define LOG_OUT_SIZE		(64 * 1024)
/* The log thread lets records gather this long before a write. */
#define LOG_NAP_US		1000
/* log_stop gives up on a sink that has taken nothing for this long. */
#define LOG_STOP_STALL_MS	5000
/* Room for one rendered line: prefix + message + newline. */
#define LOG_LINE_MAX		(LOG_MSG_MAX + 128)

static const char *log_level_names[] = { "debug", "info", "warning", "error", "critical" };
static const char *log_subsys_names[] = { "server", "conn", "pool", "tls", "config", "admin", "debug" };
static const int   log_level_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };

static const struct {
	const char *name;
	int         value;
} log_facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "lpr", LOG_LPR },
	{ "mail", LOG_MAIL }, { "news", LOG_NEWS }, { "syslog", LOG_SYSLOG },
	{ "user", LOG_USER }, { "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

enum log_sink_type {
	LOG_SINK_STDERR = 0,
	LOG_SINK_FILE,
	LOG_SINK_SYSLOG,
};

struct log_sink {
	enum log_sink_type type;
	int                fd;		/* stderr: 2; file: our descriptor */
	int                journal;	/* stderr is the journal: <N> prefixes */
	int                stderr_journal; /* fd 2 is the journal (for log_sync) */
	char              *path;	/* file sink */
	int                facility;	/* syslog sink */
};

/* One record in the ring: this header, then len bytes of message. */
struct log_rec {
	uint32_t len;
	uint8_t  level;
	uint8_t  subsys;
	uint16_t msec;
	int64_t  sec;
};

enum log_state {
	LOG_ST_SYNC = 0,	/* no log thread: callers write themselves */
	LOG_ST_RUNNING,		/* records go through the ring */
	LOG_ST_STOPPING,	/* still queued; the thread drains and exits */
};

/* Effective level per subsystem: relaxed atomics, read from any thread. */
static _Atomic int      log_levels[LOG_S_COUNT];
/* Written only by the loop thread (set_level, configure). */
static int              log_base_level = LOG_L_INFO;
static int              log_overrides[LOG_S_COUNT] = { -1, -1, -1, -1, -1, -1, -1 };
static size_t           log_queue_size = LOG_QUEUE_DEFAULT;

static _Atomic uint64_t log_written;
static _Atomic uint64_t log_dropped;
/* fd 2 is the journal; read by log_sync from any thread. */
static _Atomic int      log_stderr_journal;
static int              log_inited;	/* loop thread only */

/*
 * The queue. Everything below is protected by log_qlock. The ring region
 * [tail, head) belongs to the log thread, which reads it without the lock:
 * producers only ever write into the free part, and only the log thread
 * moves tail.
 */
static pthread_mutex_t  log_qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   log_qcond = PTHREAD_COND_INITIALIZER;
static enum log_state   log_state = LOG_ST_SYNC;
static unsigned char   *log_ring;
static size_t           log_ring_size;
static size_t           log_ring_max;		/* most records at once */
static uint64_t         log_head;
static uint64_t         log_tail;
static size_t           log_count;
static uint64_t         log_drop_pending;	/* not yet reported by a dropped= line */
static int              log_sleeping;		/* the log thread waits on log_qcond */
static int              log_reopen_pending;
static struct log_sink *log_sink_pending;	/* handed over by log_configure */
static uint64_t         log_sink_pending_at;	/* for the records queued from here on */
static pthread_cond_t   log_done_cond = PTHREAD_COND_INITIALIZER;	/* thread done */
static pthread_t        log_thread;
/* Bumped by the log thread each time the sink took a batch (log_stop watches). */
static _Atomic uint64_t log_progress;

/*
 * The current sink. While the log thread runs it alone uses and replaces
 * the sink (log_configure hands a new one over through log_sink_pending, so
 * the loop never waits on a slow sink). Otherwise the callers writing
 * synchronously use it under log_sink_lock. The log thread takes that lock
 * too, which only matters in the moments around start and stop.
 */
static pthread_mutex_t  log_sink_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_sink *log_sink;

int
log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_level_names); i++)
		if (strcasecmp(s, log_level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warn") == 0)
		return LOG_L_WARNING;
	if (strcasecmp(s, "err") == 0)
		return LOG_L_ERROR;
	if (strcasecmp(s, "crit") == 0)
		return LOG_L_CRITICAL;
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return (unsigned)l < ARRAY_LEN(log_level_names) ? log_level_names[l] : "?";
}

int
log_subsys_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_subsys_names); i++)
		if (strcasecmp(s, log_subsys_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_subsys_name(enum log_subsys s)
{
	return (unsigned)s < ARRAY_LEN(log_subsys_names) ? log_subsys_names[s] : "?";
}

int
log_facility_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_facilities); i++)
		if (strcasecmp(s, log_facilities[i].name) == 0)
			return log_facilities[i].value;
	return -1;
}

static void
log_recompute(void)
{
	int i;

	for (i = 0; i < LOG_S_COUNT; i++)
		atomic_store_explicit(&log_levels[i],
		    log_overrides[i] >= 0 ? log_overrides[i] : log_base_level, memory_order_relaxed);
}

void
log_set_level(enum log_level l)
{
	log_base_level = l;
	log_recompute();
}

void
log_set_subsys_level(enum log_subsys s, int level)
{
	if ((unsigned)s >= LOG_S_COUNT)
		return;
	log_overrides[s] = level;
	log_recompute();
}

int
log_enabled(enum log_subsys s, enum log_level l)
{
	if ((unsigned)s >= LOG_S_COUNT)
		return 0;
	return (int)l >= atomic_load_explicit(&log_levels[s], memory_order_relaxed);
}

/* ------------------------------------------------------------ rendering */

/* 1 if fd 2 is the stream systemd's JOURNAL_STREAM ("dev:ino") names. */
static int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Copy a message, turning line breaks into spaces: one record, one line. */
static size_t
log_copy_msg(char *dst, const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
	return len;
}

static size_t
log_put(char *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	return n;
}

/*
 * "2026-07-10T22:19:13.042Z " for a record. The part up to the second is
 * cached per thread: the log thread renders many records a second.
 */
static size_t
log_put_time(char *out, const struct log_rec *r)
{
	static __thread int64_t cached_sec = -1;
	static __thread char    cached[64];
	static __thread size_t  cached_len;
	unsigned ms = (unsigned)r->msec % 1000;
	struct tm tm;
	time_t t;
	size_t n;

	if (r->sec != cached_sec) {
		t = (time_t)r->sec;
		gmtime_r(&t, &tm);
		cached_len = (size_t)snprintf(cached, sizeof(cached),
		    "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = r->sec;
	}
	memcpy(out, cached, cached_len);
	n = cached_len;
	out[n++] = (char)('0' + ms / 100);
	out[n++] = (char)('0' + ms / 10 % 10);
	out[n++] = (char)('0' + ms % 10);
	out[n++] = 'Z';
	out[n++] = ' ';
	return n;
}

/*
 * Render one record into out (at least LOG_LINE_MAX bytes): "<N>subsys: msg"
 * for the journal, else "2026-07-10T22:19:13.042Z level subsys: msg".
 */
static size_t
log_render(char *out, int journal, const struct log_rec *r, const char *msg)
{
	size_t n;

	if (journal) {
		out[0] = '<';
		out[1] = (char)('0' + log_level_prio[r->level]);
		out[2] = '>';
		n = 3;
	} else {
		n = log_put_time(out, r);
		n += log_put(out + n, log_level_name(r->level));
		out[n++] = ' ';
	}
	n += log_put(out + n, log_subsys_name(r->subsys));
	out[n++] = ':';
	out[n++] = ' ';
	n += log_copy_msg(out + n, msg, r->len);
	out[n++] = '\n';
	return n;
}

/*
 * Format the message and stamp the record on the caller's thread. -1 when
 * the C library could not format it (vsnprintf fails for want of memory
 * with some conversions): the caller drops the record.
 */
static int
log_format(struct log_rec *r, char *msg, enum log_level l, enum log_subsys s,
    const char *fmt, va_list ap)
{
	struct timespec ts;
	int n, rv = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((n = vsnprintf(msg, LOG_MSG_MAX, fmt, ap)) < 0) {
		/* the format string itself: what log_sync still writes */
		n = snprintf(msg, LOG_MSG_MAX, "(not formatted) %s", fmt);
		rv = -1;
	}
	if (n < 0)
		n = 0;
	if (n > LOG_MSG_MAX - 1)
		n = LOG_MSG_MAX - 1;
	r->len = (uint32_t)n;
	r->level = (uint8_t)((unsigned)l < ARRAY_LEN(log_level_names) ? l : LOG_L_CRITICAL);
	r->subsys = (uint8_t)((unsigned)s < LOG_S_COUNT ? s : LOG_S_SERVER);
	r->sec = (int64_t)ts.tv_sec;
	r->msec = (uint16_t)(ts.tv_nsec / 1000000);
	return rv;
}

/* ---------------------------------------------------------------- sinks */

/*
 * Write all of buf (holding nrec records) to fd. Returns the number of
 * records that did not make it. Signals are blocked in the log thread, so
 * EINTR is rare; EAGAIN happens if someone made a shared stderr non-blocking.
 */
static uint64_t
log_write_fd(int fd, const char *buf, size_t len)
{
	struct pollfd pfd;
	uint64_t lost = 0;
	size_t off = 0, i;
	ssize_t n;

	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		/* A broken sink: the unwritten lines are lost. */
		for (i = off; i < len; i++)
			if (buf[i] == '\n')
				lost++;
		break;
	}
	return lost;
}

static void
log_sink_free(struct log_sink *sk)
{
	if (sk == NULL)
		return;
	if (sk->type == LOG_SINK_FILE && sk->fd != -1)
		close(sk->fd);
	free(sk->path);
	free(sk);
}

static int
log_file_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

/* Build a sink from [log] target and facility; -1 and *err on failure. */
static struct log_sink *
log_sink_new(const char *target, const char *facility, char **err)
{
	struct log_sink *sk;
	int fac;

	fac = log_facility_parse(facility != NULL ? facility : "daemon");
	if (fac == -1) {
		xasprintf(err, "[log] facility: unknown syslog facility '%s'", facility);
		return NULL;
	}
	if (target == NULL)
		target = "stderr";
	sk = xcalloc(1, sizeof(*sk));
	sk->fd = -1;
	sk->facility = fac;
	sk->stderr_journal = log_stderr_is_journal();
	if (strcmp(target, "stderr") == 0) {
		sk->type = LOG_SINK_STDERR;
		sk->fd = STDERR_FILENO;
		sk->journal = sk->stderr_journal;
	} else if (strcmp(target, "syslog") == 0)
		sk->type = LOG_SINK_SYSLOG;
	else if (strncmp(target, "file:", 5) == 0 && target[5] != '\0') {
		sk->type = LOG_SINK_FILE;
		sk->path = xstrdup(target + 5);
		if ((sk->fd = log_file_open(sk->path)) == -1) {
			xasprintf(err, "[log] target: cannot open '%s': %s", sk->path,
			    strerror(errno));
			goto fail;
		}
	} else {
		xasprintf(err, "[log] target: expected stderr, syslog or file:/path, got '%s'",
		    target);
		goto fail;
	}
	return sk;
fail:
	log_sink_free(sk);
	return NULL;
}

/* The owner of the sink switches to a new one (openlog is process-wide). */
static void
log_sink_switch(struct log_sink *sk)
{
	if (log_sink != NULL && log_sink->type == LOG_SINK_SYSLOG)
		closelog();
	log_sink_free(log_sink);
	log_sink = sk;
	if (sk->type == LOG_SINK_SYSLOG)
		openlog("echod", LOG_PID | LOG_NDELAY, sk->facility);
	atomic_store_explicit(&log_stderr_journal, sk->stderr_journal, memory_order_relaxed);
}

/* Plain stderr, until log_configure says otherwise. */
static struct log_sink *
log_sink_default(void)
{
	struct log_sink *sk;

	sk = xcalloc(1, sizeof(*sk));
	sk->type = LOG_SINK_STDERR;
	sk->fd = STDERR_FILENO;
	sk->stderr_journal = sk->journal = log_stderr_is_journal();
	atomic_store_explicit(&log_stderr_journal, sk->journal, memory_order_relaxed);
	return sk;
}

/*
 * Where a failed reopen is also told: the log itself is the old file, which
 * logrotate has just renamed away (and may compress or delete), so nobody
 * reads it there.
 */
enum log_alert {
	LOG_ALERT_NONE = 0,
	LOG_ALERT_STDERR,	/* a terminal, a pipe, the journal: someone reads it */
	LOG_ALERT_SYSLOG,	/* stderr is /dev/null or closed (detached) */
};

/* A failed reopen: what to tell, and where; filled under log_sink_lock. */
struct log_reopen_fail {
	int		error;		/* errno; 0: the reopen worked */
	char		*path;
	enum log_alert	alert;
	int		facility;
};

/* 1 if fd 2 leads somewhere other than /dev/null, a closed descriptor or the sink's file. */
static int
log_stderr_read(int sink_fd)
{
	struct stat st, null, sink;

	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	if (S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev)
		return 0;
	if (sink_fd != -1 && fstat(sink_fd, &sink) == 0 && st.st_dev == sink.st_dev &&
	    st.st_ino == sink.st_ino)
		return 0;
	return 1;
}

/*
 * Reopen a file sink by path (logrotate). On failure keep writing to the old
 * file and fill *f for the caller to report once it no longer holds
 * log_sink_lock. Called by the owner of the sink.
 */
static void
log_sink_reopen(struct log_reopen_fail *f)
{
	int fd;

	memset(f, 0, sizeof(*f));
	if (log_sink == NULL || log_sink->type != LOG_SINK_FILE)
		return;
	if ((fd = log_file_open(log_sink->path)) == -1) {
		f->error = errno;
		f->path = xstrdup(log_sink->path);
		f->alert = log_stderr_read(log_sink->fd) ? LOG_ALERT_STDERR : LOG_ALERT_SYSLOG;
		f->facility = log_sink->facility;
		return;
	}
	close(log_sink->fd);
	log_sink->fd = fd;
}

/*
 * In the log (the old file keeps the history together) and where someone
 * reads: stderr when it leads somewhere, else syslog.
 */
static void
log_reopen_failed(struct log_reopen_fail *f)
{
	const char *why;

	if (f->error == 0)
		return;
	why = strerror(f->error);
	log_error(LOG_S_SERVER, "log reopen path=%s failed: %s", f->path, why);
	if (f->alert == LOG_ALERT_STDERR)
		log_sync(LOG_L_ERROR, LOG_S_SERVER, "log reopen path=%s failed: %s; still "
		    "writing to the file open before", f->path, why);
	else if (f->alert == LOG_ALERT_SYSLOG)
		syslog(f->facility | LOG_ERR, "server: log reopen path=%s failed: %s; still "
		    "writing to the file open before", f->path, why);
	free(f->path);
	f->path = NULL;
}

/* Write one rendered record synchronously (no log thread). */
static void
log_write_sync(const struct log_rec *r, const char *msg)
{
	char line[LOG_LINE_MAX];
	uint64_t lost;
	size_t n;

	pthread_mutex_lock(&log_sink_lock);
	if (log_sink == NULL)
		log_sink = log_sink_default();
	if (log_sink->type == LOG_SINK_SYSLOG) {
		syslog(log_sink->facility | log_level_prio[r->level], "%s: %.*s",
		    log_subsys_name(r->subsys), (int)r->len, msg);
		lost = 0;
	} else {
		n = log_render(line, log_sink->journal, r, msg);
		lost = log_write_fd(log_sink->fd, line, n);
	}
	pthread_mutex_unlock(&log_sink_lock);
	if (lost)
		atomic_fetch_add_explicit(&log_dropped, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&log_written, 1, memory_order_relaxed);
}

/* ----------------------------------------------------------------- ring */

static void
log_ring_put(uint64_t pos, const void *src, size_t n)
{
	size_t off = (size_t)(pos % log_ring_size), first;

	first = log_ring_size - off < n ? log_ring_size - off : n;
	memcpy(log_ring + off, src, first);
	memcpy(log_ring, (const unsigned char *)src + first, n - first);
}

static void
log_ring_get(uint64_t pos, void *dst, size_t n)
{
	size_t off = (size_t)(pos % log_ring_size), first;

	first = log_ring_size - off < n ? log_ring_size - off : n;
	memcpy(dst, log_ring + off, first);
	memcpy((unsigned char *)dst + first, log_ring, n - first);
}

/*
 * Push a formatted record. Returns 0 if queued or dropped, -1 if there is
 * no log thread and the caller must write it itself.
 */
static int
log_enqueue(const struct log_rec *r, const char *msg)
{
	size_t need = sizeof(*r) + r->len;
	int wake;

	pthread_mutex_lock(&log_qlock);
	if (log_state == LOG_ST_SYNC) {
		pthread_mutex_unlock(&log_qlock);
		return -1;
	}
	if (log_count == log_ring_max || log_ring_size - (size_t)(log_head - log_tail) < need) {
		log_drop_pending++;
		pthread_mutex_unlock(&log_qlock);
		atomic_fetch_add_explicit(&log_dropped, 1, memory_order_relaxed);
		return 0;
	}
	log_ring_put(log_head, r, sizeof(*r));
	log_ring_put(log_head + sizeof(*r), msg, r->len);
	log_head += need;
	log_count++;
	wake = log_sleeping;
	log_sleeping = 0;
	pthread_mutex_unlock(&log_qlock);
	if (wake)
		pthread_cond_signal(&log_qcond);
	return 0;
}

static void
log_vmsg(enum log_level l, enum log_subsys s, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];
	struct log_rec r;

	if (!log_enabled(s, l))
		return;
	if (log_format(&r, msg, l, s, fmt, ap) == -1) {
		/* Counted like a full queue's loss, and named by the next dropped= line. */
		pthread_mutex_lock(&log_qlock);
		if (log_state != LOG_ST_SYNC)
			log_drop_pending++;
		pthread_mutex_unlock(&log_qlock);
		atomic_fetch_add_explicit(&log_dropped, 1, memory_order_relaxed);
		return;
	}
	if (log_enqueue(&r, msg) == -1)
		log_write_sync(&r, msg);
}

void
log_msg(enum log_level l, enum log_subsys s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(l, s, fmt, ap);
	va_end(ap);
}

void
log_sync(enum log_level l, enum log_subsys s, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX], line[LOG_LINE_MAX];
	struct log_rec r;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	(void)log_format(&r, msg, l, s, fmt, ap);	/* -1: the format string is written */
	va_end(ap);
	n = log_render(line, atomic_load_explicit(&log_stderr_journal, memory_order_relaxed),
	    &r, msg);
	if (log_write_fd(STDERR_FILENO, line, n) == 0)
		atomic_fetch_add_explicit(&log_written, 1, memory_order_relaxed);
}

/* ------------------------------------------------------- the log thread */

/* A batch being rendered by the log thread. */
struct log_batch {
	char     *buf;
	size_t    len;
	uint64_t  nrec;
	uint64_t  unreported;	/* lost records no dropped= line has named yet */
};

/* Write out a rendered batch; lost lines count as dropped and get reported. */
static void
log_batch_flush(struct log_batch *b)
{
	uint64_t lost;

	if (b->len == 0)
		return;
	lost = log_write_fd(log_sink->fd, b->buf, b->len);
	atomic_fetch_add_explicit(&log_written, b->nrec - lost, memory_order_relaxed);
	if (lost) {
		atomic_fetch_add_explicit(&log_dropped, lost, memory_order_relaxed);
		b->unreported += lost;
	}
	b->len = 0;
	b->nrec = 0;
}

/* Hand one record to the sink: syslog directly, else into the batch. */
static void
log_batch_add(struct log_batch *b, const struct log_rec *r, const char *msg)
{
	if (log_sink->type == LOG_SINK_SYSLOG) {
		syslog(log_sink->facility | log_level_prio[r->level], "%s: %.*s",
		    log_subsys_name(r->subsys), (int)r->len, msg);
		atomic_fetch_add_explicit(&log_written, 1, memory_order_relaxed);
		return;
	}
	b->len += log_render(b->buf + b->len, log_sink->journal, r, msg);
	b->nrec++;
}

/*
 * Render the records in [log_tail, head) and write them. The ring space is
 * given back before each write, so producers can queue while we wait on a
 * slow sink.
 */
static void
log_drain(struct log_batch *b, uint64_t head)
{
	char msg[LOG_MSG_MAX];
	struct log_rec r;
	uint64_t pos = log_tail;
	size_t n = 0;

	while (pos != head) {
		log_ring_get(pos, &r, sizeof(r));
		log_ring_get(pos + sizeof(r), msg, r.len);
		pos += sizeof(r) + r.len;
		n++;
		log_batch_add(b, &r, msg);
		if (pos == head || b->len > LOG_OUT_SIZE - LOG_LINE_MAX) {
			pthread_mutex_lock(&log_qlock);
			log_tail = pos;
			log_count -= n;
			pthread_mutex_unlock(&log_qlock);
			n = 0;
			log_batch_flush(b);
			atomic_fetch_add_explicit(&log_progress, 1, memory_order_relaxed);
		}
	}
}

/*
 * Say how many records were lost. If the sink still fails, keep the count
 * for the next attempt, which comes with the next records (never a spin).
 */
static void
log_report_dropped(struct log_batch *b)
{
	char msg[64];
	struct log_rec r;
	struct timespec ts;
	uint64_t lost;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(msg, sizeof(msg), "dropped=%llu", (unsigned long long)b->unreported);
	r.len = (uint32_t)n;
	r.level = LOG_L_WARNING;
	r.subsys = LOG_S_SERVER;
	r.sec = (int64_t)ts.tv_sec;
	r.msec = (uint16_t)(ts.tv_nsec / 1000000);
	if (log_sink->type == LOG_SINK_SYSLOG) {
		syslog(log_sink->facility | LOG_WARNING, "server: %s", msg);
		b->unreported = 0;
		return;
	}
	b->len = log_render(b->buf, log_sink->journal, &r, msg);
	lost = log_write_fd(log_sink->fd, b->buf, b->len);
	b->len = 0;
	if (lost == 0)
		b->unreported = 0;
}

/* With log_qlock held: only plain records are waiting, and few of them. */
static int
log_nap_wanted(void)
{
	return log_state == LOG_ST_RUNNING && !log_reopen_pending && log_sink_pending == NULL &&
	    log_count < log_ring_max / 4;
}

static void
log_nap(void)
{
	struct timespec ts = { 0, LOG_NAP_US * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* What the log thread took from the shared state in one round. */
struct log_work {
	uint64_t         head;		/* write out [log_tail, head) */
	uint64_t         dropped;	/* dropped by producers meanwhile */
	struct log_sink *sink;		/* a new sink from log_configure */
	uint64_t         sink_at;	/* records before this go to the old sink */
	int              reopen;	/* log_reopen was called */
};

/*
 * Wait for work and take it, under log_qlock. Returns 0 once stopping and
 * everything is written: callers write synchronously from then on.
 */
static int
log_thread_wait(struct log_work *w)
{
	int slept = 0, done;

	pthread_mutex_lock(&log_qlock);
	while (log_head == log_tail && log_state == LOG_ST_RUNNING &&
	    !log_reopen_pending && log_sink_pending == NULL && log_drop_pending == 0) {
		log_sleeping = 1;
		pthread_cond_wait(&log_qcond, &log_qlock);
		slept = 1;
	}
	log_sleeping = 0;
	if (slept && log_nap_wanted()) {
		/*
		 * Woken by the first record after a quiet spell: let a batch
		 * gather. Producers do not signal while we nap (log_sleeping is
		 * 0), so a busy daemon pays about one wake-up and one write()
		 * per LOG_NAP_US, not one per record.
		 */
		pthread_mutex_unlock(&log_qlock);
		log_nap();
		pthread_mutex_lock(&log_qlock);
	}
	w->head = log_head;
	w->reopen = log_reopen_pending;
	log_reopen_pending = 0;
	w->sink = log_sink_pending;
	w->sink_at = log_sink_pending_at;
	log_sink_pending = NULL;
	/* Drops counted so far happened while these records were queued. */
	w->dropped = log_drop_pending;
	log_drop_pending = 0;
	done = log_head == log_tail && log_state == LOG_ST_STOPPING && w->sink == NULL &&
	    !w->reopen && w->dropped == 0;
	if (done) {
		log_state = LOG_ST_SYNC;
		pthread_cond_signal(&log_done_cond);
	}
	pthread_mutex_unlock(&log_qlock);
	return !done;
}

/* Apply a new sink or a reopen, then write the records taken. */
static void
log_thread_work(struct log_batch *b, const struct log_work *w)
{
	struct log_reopen_fail f = { 0, NULL, LOG_ALERT_NONE, 0 };

	/*
	 * Uncontended while we run: callers writing synchronously exist only
	 * in the moments around start and stop.
	 */
	pthread_mutex_lock(&log_sink_lock);
	if (w->sink != NULL) {
		/*
		 * What was queued before the hand-over belongs to the old sink:
		 * a reload's own first lines, and everything before a reload that
		 * is refused (and puts the old sink back), never reach the new one.
		 */
		log_drain(b, w->sink_at);
		log_sink_switch(w->sink);
	}
	if (w->reopen)
		log_sink_reopen(&f);
	b->unreported += w->dropped;
	log_drain(b, w->head);
	if (b->unreported)
		log_report_dropped(b);
	pthread_mutex_unlock(&log_sink_lock);
	/* Queued like any record, once we no longer hold log_sink_lock. */
	log_reopen_failed(&f);
}

static void *
log_thread_main(void *arg)
{
	struct log_batch b = { xmalloc(LOG_OUT_SIZE), 0, 0, 0 };
	struct log_work w;

	util_set_thread_name("echod-log");
	util_block_signals();
	while (log_thread_wait(&w))
		log_thread_work(&b, &w);
	free(b.buf);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* ---------------------------------------------------------------- statistics */

static void
log_collect(struct stats_emit *e, void *arg)
{
	struct log_stats st;

	log_get_stats(&st);
	stats_emit_u64(e, *(const char *)arg == 'w' ? st.written : st.dropped);
}

static const struct stats_family log_families[] = {
	{ "log_records_written_total", STATS_COUNTER, STATS_UNIT_NONE, "Log records written.",
	  { NULL }, log_collect, "w" },
	{ "log_records_dropped_total", STATS_COUNTER, STATS_UNIT_NONE,
	  "Log records dropped: the log queue was full, or a record could not be formatted "
	  "(out of memory).", { NULL }, log_collect, "d" },
};

/* The log's counters in the statistics registry (start-up; log_unregister_stats at exit). */
void
log_register_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_families); i++)
		stats_register(&log_families[i]);
}

void
log_unregister_stats(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_families); i++)
		stats_unregister(&log_families[i]);
}

/* util.c's fatal messages: written at once, bypassing the queue. */
static void
log_fatal_sync(const char *msg)
{
	log_sync(LOG_L_CRITICAL, LOG_S_SERVER, "%s", msg);
}

void
log_init(void)
{
	int i;

	log_base_level = LOG_L_INFO;
	for (i = 0; i < LOG_S_COUNT; i++)
		log_overrides[i] = -1;
	log_recompute();
	log_inited = 1;
	util_set_fatal_hook(log_fatal_sync);
	pthread_mutex_lock(&log_sink_lock);
	if (log_sink == NULL)
		log_sink = log_sink_default();
	pthread_mutex_unlock(&log_sink_lock);
}

/* Give a new sink to its owner: the log thread if it runs, else now. */
static void
log_install_sink(struct log_sink *sk)
{
	struct log_sink *old = NULL;
	int running;

	pthread_mutex_lock(&log_qlock);
	running = log_state != LOG_ST_SYNC;
	if (running) {
		/*
		 * The new sink takes the records queued from now on. Two reloads
		 * before the log thread looked: the newer wins, and what was
		 * queued between them stays with the current sink.
		 */
		old = log_sink_pending;
		log_sink_pending = sk;
		log_sink_pending_at = log_head;
		if (log_sleeping) {
			log_sleeping = 0;
			pthread_cond_signal(&log_qcond);
		}
	}
	pthread_mutex_unlock(&log_qlock);
	if (running) {
		log_sink_free(old);
		return;
	}
	pthread_mutex_lock(&log_sink_lock);
	log_sink_switch(sk);
	pthread_mutex_unlock(&log_sink_lock);
}

int
log_configure(const struct log_conf *lc, char **err)
{
	struct log_sink *sk;
	int i;

	*err = NULL;
	if (!log_inited)
		log_init();
	if ((sk = log_sink_new(lc->target, lc->facility, err)) == NULL)
		return -1;
	log_install_sink(sk);
	log_base_level = lc->level;
	for (i = 0; i < LOG_S_COUNT; i++)
		log_overrides[i] = lc->subsys_level[i];
	log_recompute();
	/* The ring is sized at log_start; a reload cannot resize it. */
	log_queue_size = lc->queue_size > 0 ? (size_t)lc->queue_size : LOG_QUEUE_DEFAULT;
	if (log_queue_size > LOG_QUEUE_MAX)
		log_queue_size = LOG_QUEUE_MAX;
	return 0;
}

/*
 * exit() without log_stop() (fatalx after start-up): still write what is
 * queued, so the records that led to the error are not lost. Bounded like
 * log_stop.
 */
static void
log_atexit(void)
{
	log_stop();
}

int
log_start(void)
{
	static int registered;
	unsigned char *ring;
	size_t size;
	int error;

	if (!log_inited)
		log_init();
	if (!registered) {
		atexit(log_atexit);
		registered = 1;
	}
	/* Allocated outside the lock: fatalx on failure logs, then exits. */
	size = log_queue_size * LOG_BYTES_PER_RECORD + sizeof(struct log_rec) + LOG_MSG_MAX;
	ring = xmalloc(size);
	pthread_mutex_lock(&log_qlock);
	if (log_state != LOG_ST_SYNC) {
		pthread_mutex_unlock(&log_qlock);
		free(ring);
		return 0;
	}
	log_ring = ring;
	log_ring_size = size;
	log_ring_max = log_queue_size;
	log_head = log_tail = 0;
	log_count = 0;
	log_drop_pending = 0;
	log_reopen_pending = 0;
	log_sleeping = 0;
	log_state = LOG_ST_RUNNING;
	pthread_mutex_unlock(&log_qlock);

	if ((error = pthread_create(&log_thread, NULL, log_thread_main, NULL)) != 0) {
		pthread_mutex_lock(&log_qlock);
		log_state = LOG_ST_SYNC;
		/* Queued meanwhile, with nobody to write them. */
		atomic_fetch_add_explicit(&log_dropped, log_count, memory_order_relaxed);
		free(log_ring);
		log_ring = NULL;
		pthread_mutex_unlock(&log_qlock);
		log_error(LOG_S_SERVER, "cannot start the log thread: pthread_create: %s",
		    strerror(error));
		return -1;
	}
	return 0;
}

/*
 * With log_qlock held: wait until the log thread has written everything, as
 * long as the sink keeps taking records. -1 if it took nothing for
 * LOG_STOP_STALL_MS.
 */
static int
log_stop_wait(void)
{
	uint64_t seen, now, last;
	struct timespec ts;

	seen = atomic_load_explicit(&log_progress, memory_order_relaxed);
	last = util_now_ms();
	while (log_state != LOG_ST_SYNC) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&log_done_cond, &log_qlock, &ts);
		now = util_now_ms();
		if (atomic_load_explicit(&log_progress, memory_order_relaxed) != seen) {
			seen = atomic_load_explicit(&log_progress, memory_order_relaxed);
			last = now;
		} else if (now - last >= LOG_STOP_STALL_MS)
			return -1;
	}
	return 0;
}

void
log_stop(void)
{
	pthread_mutex_lock(&log_qlock);
	/* exit() on the log thread itself (fatalx there): it cannot wait for itself. */
	if (log_state != LOG_ST_RUNNING || pthread_equal(pthread_self(), log_thread)) {
		pthread_mutex_unlock(&log_qlock);
		return;
	}
	log_state = LOG_ST_STOPPING;
	pthread_cond_signal(&log_qcond);
	/* The thread writes everything queued, then returns. */
	if (log_stop_wait() == -1) {
		/*
		 * The sink has been stuck for seconds (a stopped reader): do not
		 * hang the exit on it. The thread stays blocked in write(), the
		 * state stays STOPPING so late records are queued or dropped,
		 * never written by a caller that would block too.
		 */
		pthread_mutex_unlock(&log_qlock);
		pthread_detach(log_thread);
		return;
	}
	pthread_mutex_unlock(&log_qlock);
	pthread_join(log_thread, NULL);
	pthread_mutex_lock(&log_qlock);
	free(log_ring);
	log_ring = NULL;
	log_ring_size = 0;
	pthread_mutex_unlock(&log_qlock);
}

void
log_reopen(void)
{
	struct log_reopen_fail f;
	int running;

	pthread_mutex_lock(&log_qlock);
	running = log_state != LOG_ST_SYNC;
	if (running) {
		log_reopen_pending = 1;
		if (log_sleeping) {
			log_sleeping = 0;
			pthread_cond_signal(&log_qcond);
		}
	}
	pthread_mutex_unlock(&log_qlock);
	if (running)
		return;
	pthread_mutex_lock(&log_sink_lock);
	log_sink_reopen(&f);
	pthread_mutex_unlock(&log_sink_lock);
	log_reopen_failed(&f);
}

void
log_get_stats(struct log_stats *st)
{
	st->written = atomic_load_explicit(&log_written, memory_order_relaxed);
	st->dropped = atomic_load_explicit(&log_dropped, memory_order_relaxed);
}
