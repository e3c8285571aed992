/*
 * tool.h: what the C test and bench programs have in common: the test client
 * and helpers (tests/integration: tclient, proxy_recv, sd_helper) and the
 * bench clients (bench: loadgen, pool_load, tls_pingpong, acl_bench,
 * proxy_parse) and the soak client (tests/soak: soak_client). Messages and
 * exits named after the program, monotonic clocks, strict number parsing,
 * loopback and unix addresses, socket set-up, whole reads and writes, the
 * descriptor limit, a latency histogram.
 *
 * libc only, never libechod: the bench scripts build a client with plain
 * `cc -Itests/common bench/loadgen.c tests/common/tool.c`. No state but the
 * program name and the signal flag, set up by the main thread; any thread
 * may call the rest.
 */
#ifndef ECHOD_TOOL_H
#define ECHOD_TOOL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Messages go to stderr as "NAME: message". tool_init() sets NAME (default:
 * the program's file name) and the exit status of tool_die() (default 1).
 * tool_die() flushes stdout first, so what a program printed comes before
 * its last word; tool_die_errno() appends ": strerror(errno)".
 */
void	tool_init(const char *name, int die_status);
void	tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	tool_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	tool_die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Set (to 1) by a signal tool_catch() installed; no SA_RESTART, so a wait
 * in progress returns EINTR and the program can look at it. */
extern volatile sig_atomic_t tool_signalled;
void	tool_catch(int sig);

/* CLOCK_MONOTONIC. */
uint64_t tool_now_ns(void);
uint64_t tool_now_us(void);
uint64_t tool_now_ms(void);

/*
 * Numbers: 0, or -1 (and *v untouched) unless all of s is one in [min, max].
 * tool_parse_uint: decimal digits only (no sign, no space).
 * tool_parse_scaled: the same, optionally followed by K, M or G (x 1024^n).
 * tool_parse_double: what strtod takes, never NaN.
 */
int	tool_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
int	tool_parse_scaled(const char *s, uint64_t *v);
int	tool_parse_double(const char *s, double min, double max, double *v);
/* tool_parse_uint, or tool_die("bad WHAT: S (MIN to MAX)"): for options. */
uint64_t tool_uint_arg(const char *s, const char *what, uint64_t min, uint64_t max);

/*
 * Addresses. tool_unix_addr: -1 if the path does not fit. tool_loopback4:
 * 127.0.0.1:port. tool_parse_loopback: "HOST:PORT" with a loopback HOST
 * (127.0.0.0/8, or ::1 with or without brackets) and a port 1..65535; -1
 * for anything else.
 */
int	tool_unix_addr(const char *path, struct sockaddr_storage *ss, socklen_t *len);
void	tool_loopback4(uint16_t port, struct sockaddr_storage *ss, socklen_t *len);
int	tool_parse_loopback(const char *hostport, struct sockaddr_storage *ss, socklen_t *len);

/*
 * Sockets; -1 and errno on failure.
 * tool_socket: a close-on-exec stream socket, TCP_NODELAY for IPv4 and IPv6;
 *   flags may add SOCK_NONBLOCK.
 * tool_connect: 0 connected, 1 in progress (non-blocking socket).
 * tool_sock_error: the socket's pending error (SO_ERROR), 0 if none; how a
 *   connect in progress ended.
 * tool_listen_loopback: a TCP socket bound to 127.0.0.1 on a port the kernel
 *   chooses (in *port), listening unless backlog < 0, inherited across exec;
 *   on failure *step names the call that failed ("socket", "bind", "listen",
 *   "getsockname").
 * tool_epoll_ctl: epoll_ctl() with the event built from events and ptr.
 */
int	tool_socket(int family, int flags);
int	tool_connect(int fd, const struct sockaddr_storage *ss, socklen_t len);
int	tool_sock_error(int fd);
int	tool_listen_loopback(int backlog, uint16_t *port, const char **step);
int	tool_epoll_ctl(int epfd, int op, int fd, uint32_t events, void *ptr);

/* All len bytes, blocking, retrying EINTR: 0, or -1 with errno set (0 when
 * tool_read_all met end of file first). */
int	tool_write_all(int fd, const void *buf, size_t len);
int	tool_read_all(int fd, void *buf, size_t len);

/* Raise the soft RLIMIT_NOFILE towards want (UINT64_MAX: the hard limit);
 * never lowers it, never above the hard limit. Best effort. */
void	tool_raise_nofile(uint64_t want);

/*
 * A log-linear histogram of values in any unit (loadgen: ns, soak_client:
 * us): exact below 64, then 32 buckets per power of two, so a percentile is
 * within 1.6 % of the true value. The caller owns it; zeroed, it is empty.
 * tool_hist_percentile: p in [0, 1]; the midpoint of the bucket holding the
 * p-th value (never above max), 0 when empty.
 */
#define TOOL_HIST_SUB_BITS	6
#define TOOL_HIST_HALF		(1 << (TOOL_HIST_SUB_BITS - 1))
#define TOOL_HIST_BUCKETS	((64 - TOOL_HIST_SUB_BITS + 2) * TOOL_HIST_HALF)
struct tool_hist {
	uint64_t	count[TOOL_HIST_BUCKETS];
	uint64_t	total;
	uint64_t	max;
};
void	 tool_hist_add(struct tool_hist *h, uint64_t v);
uint64_t tool_hist_percentile(const struct tool_hist *h, double p);

/*
 * splitmix64: a well-mixed 64-bit value of x. tool_stream: the bytes
 * [off, off + len) of the endless byte stream of `seed`, a pure function of
 * the offset, so a client checks an echo from any offset without keeping
 * what it sent (tclient and soak_client write and verify with it).
 */
uint64_t tool_mix64(uint64_t x);
void	 tool_stream(uint64_t seed, uint64_t off, uint8_t *buf, size_t len);

/* qsort() comparator of uint64_t, ascending. */
int	tool_cmp_u64(const void *a, const void *b);

#endif
