/*
 * proxy_recv: the receiving end of proxy_haproxy.sh, standing in for a
 * listener with proxy_protocol set. It accepts one connection and reads it
 * the way the accept path does: each read appended to the buffer and
 * proxy_parse() called on all of it, until a header is complete or refused.
 *
 *   proxy_recv [-a v1|v2|any] [-t SECONDS] PORTFILE
 *       listen on 127.0.0.1, kernel-chosen port, written to PORTFILE; print
 *         ok len=N reads=R <proxy_describe()> after=<application bytes>
 *         raw=<the header in hex>
 *       or
 *         error err=<name> detail="<detail>" reads=R
 *       exit 0 for a header, 1 for a refused one, 2 for anything else.
 *   proxy_recv -x PORTFILE CMD [ARGS...]
 *       listen on 127.0.0.1, kernel-chosen port, as fd 3, write the port to
 *       PORTFILE and exec CMD (HAProxy with "bind fd@3"): no fixed port.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"
#include "tool.h"

/* A listening socket on 127.0.0.1:0; its port goes to portfile. */
static int
recv_listen(const char *portfile)
{
	char tmpname[4096];
	const char *step;
	uint16_t port;
	FILE *f;
	int fd;

	if ((fd = tool_listen_loopback(16, &port, &step)) == -1)
		tool_die_errno("%s", step);
	/* Written whole, then renamed: a reader never sees half a number. */
	snprintf(tmpname, sizeof(tmpname), "%s.tmp", portfile);
	if ((f = fopen(tmpname, "w")) == NULL)
		tool_die_errno("%s", tmpname);
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmpname, portfile) == -1)
		tool_die_errno("%s", portfile);
	return fd;
}

static int
recv_exec(const char *portfile, char **argv)
{
	int fd = recv_listen(portfile);

	if (fd != 3) {
		if (dup2(fd, 3) == -1)
			tool_die_errno("dup2");
		close(fd);
	}
	execvp(argv[0], argv);
	tool_die_errno("%s", argv[0]);
}

/* Wait up to `ms` for fd to be readable; 0 on timeout. */
static int
recv_wait(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (r == -1)
		tool_die_errno("poll");
	return r;
}

static void
recv_hex(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* After the header: the application's first line (or what came before EOF). */
static void
recv_after(int fd, unsigned char *buf, size_t size, size_t len, size_t hlen, int ms)
{
	ssize_t n;
	size_t i;

	while (memchr(buf + hlen, '\n', len - hlen) == NULL && len < size && recv_wait(fd, ms)) {
		if ((n = read(fd, buf + len, size - len)) <= 0)
			break;
		len += (size_t)n;
	}
	printf(" after=");
	for (i = hlen; i < len && buf[i] != '\n'; i++)
		putchar(buf[i] >= 0x21 && buf[i] < 0x7f ? buf[i] : '.');
}

static int
recv_one(int lfd, unsigned allow, int ms)
{
	unsigned char buf[PROXY_MAX_HEADER + 512];
	char desc[PROXY_DESCRIBE_MAX];
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail;
	size_t len = 0;
	ssize_t n;
	int fd, r = 0, reads = 0;

	if (!recv_wait(lfd, ms)) {
		tool_warn("no connection within %d ms", ms);
		return 2;
	}
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		tool_die_errno("accept");
	/* Reads are capped at PROXY_MAX_HEADER, as the accept path caps them. */
	while (r == 0 && len < PROXY_MAX_HEADER) {
		if (!recv_wait(fd, ms)) {
			tool_warn("header incomplete after %d ms (%zu bytes)", ms, len);
			return 2;
		}
		if ((n = read(fd, buf + len, PROXY_MAX_HEADER - len)) <= 0) {
			tool_warn("%s after %zu bytes", n == 0 ? "EOF" : strerror(errno), len);
			return 2;
		}
		len += (size_t)n;
		reads++;
		r = proxy_parse(buf, len, allow, &pi, &err, &detail);
	}
	if (r <= 0) {
		printf("error err=%s detail=\"%s\" reads=%d\n", proxy_err_name(err),
		    detail ? detail : "", reads);
		close(fd);
		return 1;
	}
	proxy_describe(&pi, desc, sizeof(desc));
	printf("ok len=%d reads=%d %s", r, reads, desc);
	recv_after(fd, buf, sizeof(buf), len, (size_t)r, ms);
	printf("\nraw=");
	recv_hex(buf, (size_t)r);
	printf("\n");
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned allow = PROXY_V1 | PROXY_V2;
	uint64_t secs;
	int ch, ms = 15000, lfd;

	tool_init("proxy_recv", 2);
	while ((ch = getopt(argc, argv, "+a:t:x")) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "v1") == 0)
				allow = PROXY_V1;
			else if (strcmp(optarg, "v2") == 0)
				allow = PROXY_V2;
			else if (strcmp(optarg, "any") != 0)
				goto usage;
			break;
		case 't':
			if (tool_parse_uint(optarg, 1, 86400, &secs) == -1)
				goto usage;
			ms = (int)secs * 1000;
			break;
		case 'x':
			if (argc - optind < 2)
				goto usage;
			return recv_exec(argv[optind], argv + optind + 1);
		default:
			goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = recv_listen(argv[optind]);
	return recv_one(lfd, allow, ms);
usage:
	fprintf(stderr, "usage: proxy_recv [-a v1|v2|any] [-t seconds] portfile\n"
	    "       proxy_recv -x portfile cmd [args...]\n");
	return 2;
}
