/*
 * fault.c: a test-only LD_PRELOAD library that makes chosen calls of the
 * process it is loaded into fail, on demand. Never linked into the daemon:
 * the fault tests start the real src/echod with LD_PRELOAD pointing here.
 *
 * Rules come from ECHOD_FAULTS at start-up and from the file named by
 * ECHOD_FAULT_FILE, read again (at most every 50 ms) whenever it changes,
 * so a test can switch faults on and off while load runs. A rule:
 *
 *   CALL=RESULT[,MODE...]      rules separated by ';' or newlines
 *
 *   CALL     accept accept4 read recv write send writev readv sendmmsg
 *            malloc calloc realloc eventfd pthread_create timerfd_create
 *            epoll_create1 socket SSL_new SSL_CTX_new, or clock (see below)
 *   RESULT   an errno name (EMFILE, ENFILE, ENOBUFS, ECONNABORTED, EINTR,
 *            EAGAIN, ECONNRESET, EPIPE, ENOMEM) the call fails with; for
 *            SSL_new and SSL_CTX_new, NULL
 *   MODE     p=0.01      each call fails with this probability
 *            every=N     every Nth call fails
 *            after=N     every call after the first N fails
 *            count=K     at most K failures in all (0: no bound)
 *            any         also non-socket descriptors (read/write family)
 *   clock=+MS            CLOCK_MONOTONIC*, CLOCK_BOOTTIME and CLOCK_REALTIME
 *                        (also as time() and gettimeofday() read it) jump
 *                        forward MS milliseconds from now on (negative:
 *                        back, for the wall clock only; monotonic clocks
 *                        never go back)
 *   wallclock=+MS        the wall clock alone jumps (either way); monotonic
 *                        clocks keep running
 *
 * The read/write family fails only on sockets (unless `any`), so files and
 * the eventfd stay untouched. Every injected failure is counted, and the
 * counts are written to ECHOD_FAULT_REPORT (if set) at exit:
 * "CALL injected=N calls=M". Works in threads: a small lock guards the
 * rules; the counters are atomics.
 */
#define _GNU_SOURCE
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAULT_RULES	32
#define FAULT_CHECK_NS	50000000ULL	/* control file checked at most every 50 ms */

enum fault_call {
	F_ACCEPT, F_ACCEPT4, F_READ, F_RECV, F_WRITE, F_SEND, F_WRITEV, F_READV, F_MALLOC,
	F_CALLOC, F_REALLOC, F_EVENTFD, F_PTHREAD_CREATE, F_TIMERFD_CREATE, F_EPOLL_CREATE1,
	F_SOCKET, F_SSL_NEW, F_SSL_CTX_NEW, F_SENDMMSG, F_COUNT
};

static const char *fault_names[F_COUNT] = {
	"accept", "accept4", "read", "recv", "write", "send", "writev", "readv", "malloc",
	"calloc", "realloc", "eventfd", "pthread_create", "timerfd_create", "epoll_create1",
	"socket", "SSL_new", "SSL_CTX_new", "sendmmsg",
};

struct fault_rule {
	enum fault_call	 call;
	int		 err;
	double		 p;
	uint64_t	 every, after, count;
	int		 any_fd;
	uint64_t	 calls;		/* seen by this rule */
	uint64_t	 injected;
};

static struct fault_rule	 fault_rules[FAULT_RULES];
static int			 fault_nrules;
static pthread_mutex_t		 fault_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t			 fault_clock_ms;	/* the clock jump */
static int64_t			 fault_wall_ms;		/* the wall clock's own jump */
static uint64_t			 fault_calls[F_COUNT], fault_injected[F_COUNT];
static uint64_t			 fault_rng = 0x9e3779b97f4a7c15ULL;
static uint64_t			 fault_checked_ns;
static struct timespec		 fault_file_mtime;
/* initial-exec: no __tls_get_addr, which is not usable yet when ld.so or ASan allocate early */
/* volatile: dlsym cannot see it, so the compiler would drop the ++/-- around that call */
static __thread volatile int	 fault_inside __attribute__((tls_model("initial-exec")));
static int			 fault_ready;
/*
 * Set by our constructor. Before it, allocations are passed through
 * unchecked: under ASan they come from its start-up, when the functions a
 * check calls (pthread_mutex_lock, getenv) are not usable yet.
 */
static int			 fault_live;

__attribute__((constructor)) static void
fault_start(void)
{
	fault_live = 1;
}

/* The real functions, found lazily. dlsym may allocate: a static arena serves that. */
static void	*(*real_malloc)(size_t);
static void	*(*real_calloc)(size_t, size_t);
static void	*(*real_realloc)(void *, size_t);
static int	(*real_clock_gettime)(clockid_t, struct timespec *);
static char	 fault_arena[8192];
static size_t	 fault_arena_used;

static void *
fault_sym(const char *name)
{
	void *p;

	fault_inside++;
	p = dlsym(RTLD_NEXT, name);
	fault_inside--;
	if (p == NULL) {
		fprintf(stderr, "fault: no symbol %s\n", name);
		abort();
	}
	return p;
}

/* The real clock_gettime, found on first use. */
static int
fault_real_clock(clockid_t id, struct timespec *ts)
{
	if (real_clock_gettime == NULL)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))
		    fault_sym("clock_gettime");
	return real_clock_gettime(id, ts);
}

/* ---------------------------------------------------------------- rules */

static int
fault_errno(const char *s)
{
	static const struct { const char *name; int err; } t[] = {
		{ "EMFILE", EMFILE }, { "ENFILE", ENFILE }, { "ENOBUFS", ENOBUFS },
		{ "ECONNABORTED", ECONNABORTED }, { "EINTR", EINTR }, { "EAGAIN", EAGAIN },
		{ "ECONNRESET", ECONNRESET }, { "EPIPE", EPIPE }, { "ENOMEM", ENOMEM },
		{ "NULL", ENOMEM }, { "EIO", EIO }, { "ETIMEDOUT", ETIMEDOUT },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].err;
	return -1;
}

static void
fault_parse_rule(char *spec)
{
	struct fault_rule r;
	char *eq, *tok, *save = NULL;
	int i;

	while (*spec == ' ' || *spec == '\t')
		spec++;
	if (*spec == '\0' || *spec == '#')
		return;
	if ((eq = strchr(spec, '=')) == NULL)
		goto bad;
	*eq++ = '\0';
	if (strcmp(spec, "clock") == 0) {
		__atomic_store_n(&fault_clock_ms, strtoll(eq, NULL, 10), __ATOMIC_RELAXED);
		return;
	}
	if (strcmp(spec, "wallclock") == 0) {
		__atomic_store_n(&fault_wall_ms, strtoll(eq, NULL, 10), __ATOMIC_RELAXED);
		return;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < F_COUNT; i++)
		if (strcmp(spec, fault_names[i]) == 0)
			break;
	if (i == F_COUNT)
		goto bad;
	r.call = (enum fault_call)i;
	tok = strtok_r(eq, ",", &save);
	if (tok == NULL || (r.err = fault_errno(tok)) == -1)
		goto bad;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		if (strncmp(tok, "p=", 2) == 0)
			r.p = strtod(tok + 2, NULL);
		else if (strncmp(tok, "every=", 6) == 0)
			r.every = strtoull(tok + 6, NULL, 10);
		else if (strncmp(tok, "after=", 6) == 0)
			r.after = strtoull(tok + 6, NULL, 10);
		else if (strncmp(tok, "count=", 6) == 0)
			r.count = strtoull(tok + 6, NULL, 10);
		else if (strcmp(tok, "any") == 0)
			r.any_fd = 1;
		else
			goto bad;
	}
	if (r.p == 0 && r.every == 0 && r.after == 0)
		r.every = 1;		/* no mode: every call */
	if (fault_nrules < FAULT_RULES)
		fault_rules[fault_nrules++] = r;
	return;
bad:
	fprintf(stderr, "fault: bad rule '%s'\n", spec);
}

/* Replace the rules with those of `text` (the lock is held). */
static void
fault_load(const char *text)
{
	char buf[4096], *line, *save = NULL;

	/* a clock jump stays until a rule changes it */
	fault_nrules = 0;
	snprintf(buf, sizeof(buf), "%s", text != NULL ? text : "");
	for (line = strtok_r(buf, ";\n", &save); line != NULL; line = strtok_r(NULL, ";\n", &save))
		fault_parse_rule(line);
}

static uint64_t
fault_now_ns(void)
{
	struct timespec ts;

	fault_real_clock(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Re-read ECHOD_FAULT_FILE when it changed (the lock is held). */
static void
fault_check_file(void)
{
	const char *path = getenv("ECHOD_FAULT_FILE");
	char text[4096];
	struct stat st;
	uint64_t now;
	ssize_t n;
	FILE *fp;

	if (path == NULL)
		return;
	now = fault_now_ns();
	if (now - fault_checked_ns < FAULT_CHECK_NS)
		return;
	fault_checked_ns = now;
	if (stat(path, &st) == -1)
		return;
	if (st.st_mtim.tv_sec == fault_file_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == fault_file_mtime.tv_nsec)
		return;
	fault_file_mtime = st.st_mtim;
	if ((fp = fopen(path, "r")) == NULL)
		return;
	n = (ssize_t)fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n > 0 ? n : 0] = '\0';
	fault_load(text);
}

static void
fault_init(void)
{
	if (fault_ready)
		return;
	fault_ready = 1;
	fault_load(getenv("ECHOD_FAULTS"));
}

/* Should this call fail? `fd` -1: not a descriptor call. Returns the errno or 0. */
static int
fault_hit(enum fault_call call, int fd)
{
	struct fault_rule *r;
	int type, i, err = 0;
	socklen_t len = sizeof(type);
	double u;

	if (fault_inside > 0)
		return 0;
	fault_inside++;
	__atomic_add_fetch(&fault_calls[call], 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&fault_lock);
	fault_init();
	fault_check_file();
	for (i = 0; i < fault_nrules && err == 0; i++) {
		r = &fault_rules[i];
		if (r->call != call)
			continue;
		if (fd >= 0 && !r->any_fd &&
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
			continue;
		r->calls++;
		if (r->count > 0 && r->injected >= r->count)
			continue;
		fault_rng ^= fault_rng << 13;
		fault_rng ^= fault_rng >> 7;
		fault_rng ^= fault_rng << 17;
		u = (double)(fault_rng >> 11) / (double)(1ULL << 53);
		if ((r->p > 0 && u < r->p) || (r->every > 0 && r->calls % r->every == 0) ||
		    (r->after > 0 && r->calls > r->after)) {
			r->injected++;
			err = r->err;
		}
	}
	pthread_mutex_unlock(&fault_lock);
	if (err != 0)
		__atomic_add_fetch(&fault_injected[call], 1, __ATOMIC_RELAXED);
	fault_inside--;
	return err;
}

__attribute__((destructor)) static void
fault_report(void)
{
	const char *path = getenv("ECHOD_FAULT_REPORT");
	FILE *fp;
	int i;

	if (path == NULL || (fp = fopen(path, "a")) == NULL)
		return;
	for (i = 0; i < F_COUNT; i++)
		if (fault_injected[i] > 0 || fault_calls[i] > 0)
			fprintf(fp, "%s injected=%llu calls=%llu pid=%ld\n", fault_names[i],
			    (unsigned long long)fault_injected[i],
			    (unsigned long long)fault_calls[i], (long)getpid());
	fclose(fp);
}

/* ---------------------------------------------------------------- calls */

#define FAIL_IF(call, fd, ret) do {					\
	int fault_e_ = fault_live ? fault_hit((call), (fd)) : 0;	\
	if (fault_e_ != 0) {						\
		errno = fault_e_;					\
		return (ret);						\
	}								\
} while (0)

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	FAIL_IF(F_ACCEPT, -1, -1);
	if (real == NULL)
		real = fault_sym("accept");
	return real(fd, sa, len);
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	FAIL_IF(F_ACCEPT4, -1, -1);
	if (real == NULL)
		real = fault_sym("accept4");
	return real(fd, sa, len, flags);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);

	FAIL_IF(F_READ, fd, -1);
	if (real == NULL)
		real = fault_sym("read");
	return real(fd, buf, n);
}

ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);

	FAIL_IF(F_RECV, fd, -1);
	if (real == NULL)
		real = fault_sym("recv");
	return real(fd, buf, n, flags);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	FAIL_IF(F_WRITE, fd, -1);
	if (real == NULL)
		real = fault_sym("write");
	return real(fd, buf, n);
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);

	FAIL_IF(F_SEND, fd, -1);
	if (real == NULL)
		real = fault_sym("send");
	return real(fd, buf, n, flags);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	FAIL_IF(F_WRITEV, fd, -1);
	if (real == NULL)
		real = fault_sym("writev");
	return real(fd, iov, n);
}

ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	FAIL_IF(F_READV, fd, -1);
	if (real == NULL)
		real = fault_sym("readv");
	return real(fd, iov, n);
}

/* UDP replies: EAGAIN is a full socket, which loopback never has of itself. */
int
sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	static int (*real)(int, struct mmsghdr *, unsigned int, int);

	FAIL_IF(F_SENDMMSG, fd, -1);
	if (real == NULL)
		real = fault_sym("sendmmsg");
	return real(fd, vec, n, flags);
}

int
eventfd(unsigned int initval, int flags)
{
	static int (*real)(unsigned int, int);

	FAIL_IF(F_EVENTFD, -1, -1);
	if (real == NULL)
		real = fault_sym("eventfd");
	return real(initval, flags);
}

int
timerfd_create(int clockid, int flags)
{
	static int (*real)(int, int);

	FAIL_IF(F_TIMERFD_CREATE, -1, -1);
	if (real == NULL)
		real = fault_sym("timerfd_create");
	return real(clockid, flags);
}

int
epoll_create1(int flags)
{
	static int (*real)(int);

	FAIL_IF(F_EPOLL_CREATE1, -1, -1);
	if (real == NULL)
		real = fault_sym("epoll_create1");
	return real(flags);
}

int
socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	FAIL_IF(F_SOCKET, -1, -1);
	if (real == NULL)
		real = fault_sym("socket");
	return real(domain, type, protocol);
}

int
pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	int e = fault_hit(F_PTHREAD_CREATE, -1);

	if (e != 0)
		return e;		/* pthread functions return the error */
	if (real == NULL)
		real = fault_sym("pthread_create");
	return real(t, attr, fn, arg);
}

void *
SSL_new(void *ctx)
{
	static void *(*real)(void *);

	FAIL_IF(F_SSL_NEW, -1, NULL);
	if (real == NULL)
		real = fault_sym("SSL_new");
	return real(ctx);
}

void *
SSL_CTX_new(const void *method)
{
	static void *(*real)(const void *);

	FAIL_IF(F_SSL_CTX_NEW, -1, NULL);
	if (real == NULL)
		real = fault_sym("SSL_CTX_new");
	return real(method);
}

/* Allocation: dlsym's own allocations come from the arena before the real malloc is known. */
void *
malloc(size_t n)
{
	void *p;

	if (real_malloc == NULL) {
		if (fault_inside > 0) {
			n = (n + 15) & ~(size_t)15;
			if (fault_arena_used + n > sizeof(fault_arena))
				return NULL;
			p = fault_arena + fault_arena_used;
			fault_arena_used += n;
			return p;
		}
		real_malloc = fault_sym("malloc");
	}
	FAIL_IF(F_MALLOC, -1, NULL);
	return real_malloc(n);
}

void *
calloc(size_t m, size_t n)
{
	void *p;

	if (real_calloc == NULL) {
		if (fault_inside > 0) {
			/* zeroed: the arena is static and never reused */
			p = malloc(m * n);
			return p;
		}
		real_calloc = fault_sym("calloc");
	}
	FAIL_IF(F_CALLOC, -1, NULL);
	return real_calloc(m, n);
}

void *
realloc(void *old, size_t n)
{
	if (real_realloc == NULL)
		real_realloc = fault_sym("realloc");
	FAIL_IF(F_REALLOC, -1, NULL);
	return real_realloc(old, n);
}

void
free(void *p)
{
	static void (*real)(void *);

	/* the arena is never freed */
	if ((char *)p >= fault_arena && (char *)p < fault_arena + sizeof(fault_arena))
		return;
	if (real == NULL) {
		/* dlsym frees its last error while we look free up: that one is let go */
		if (fault_inside > 0)
			return;
		real = fault_sym("free");
	}
	real(p);
}

/* Clock jumps: what echod's timers and the daytime/time services see. */
static int
fault_is_wall(clockid_t id)
{
	return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE;
}

/* The jump for clock `id` in milliseconds. */
static int64_t
fault_jump_ms(clockid_t id)
{
	int64_t ms = __atomic_load_n(&fault_clock_ms, __ATOMIC_RELAXED);

	if (ms < 0 && !fault_is_wall(id))
		ms = 0;
	if (fault_is_wall(id))
		ms += __atomic_load_n(&fault_wall_ms, __ATOMIC_RELAXED);
	return ms;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int rv = fault_real_clock(id, ts);
	int64_t ms = fault_jump_ms(id);

	if (rv != 0 || ms == 0)
		return rv;
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	} else if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
	return rv;
}

/* glibc reads these from the vDSO without clock_gettime: they jump too. */
time_t
time(time_t *t)
{
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	if (t != NULL)
		*t = now;
	return now;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
