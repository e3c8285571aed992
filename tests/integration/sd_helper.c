/*
 * sd_helper.c: stand-ins for systemd in the sd_*.sh tests.
 *
 *   sd_helper recv PATH SECONDS   bind a unix datagram socket at PATH (what
 *                                 NOTIFY_SOCKET names) and print every
 *                                 message on one line, newlines as spaces,
 *                                 until SIGTERM or SECONDS have passed
 *   sd_helper port                print a free TCP port on 127.0.0.1
 *
 * Single-threaded; every wait is bounded.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static int
sd_helper_recv(const char *path, uint64_t seconds)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct pollfd pfd;
	uint64_t end = tool_now_ms() + seconds * 1000;
	char buf[4096];
	ssize_t n, i;
	int fd;

	tool_catch(SIGTERM);
	tool_catch(SIGINT);
	if (tool_unix_addr(path, &ss, &len) == -1) {
		tool_warn("path too long: %s", path);
		return 1;
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1) {
		tool_warn("%s: %s", path, strerror(errno));
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!tool_signalled && tool_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
	close(fd);
	unlink(path);
	return 0;
}

static int
sd_helper_port(void)
{
	const char *step;
	uint16_t port;
	int fd;

	if ((fd = tool_listen_loopback(-1, &port, &step)) == -1) {
		tool_warn("port: %s", strerror(errno));
		return 1;
	}
	printf("%u\n", port);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t seconds;

	tool_init("sd_helper", 1);
	if (argc == 4 && strcmp(argv[1], "recv") == 0 &&
	    tool_parse_uint(argv[3], 0, 86400, &seconds) == 0)
		return sd_helper_recv(argv[2], seconds);
	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return sd_helper_port();
	fprintf(stderr, "usage: sd_helper recv PATH SECONDS | sd_helper port\n");
	return 64;
}
