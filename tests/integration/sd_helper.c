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
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sd_helper_stop;

static void
sd_helper_term(int sig)
{
	(void)sig;
	sd_helper_stop = 1;
}

static long long
sd_helper_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
sd_helper_recv(const char *path, int seconds)
{
	struct sockaddr_un sun;
	struct sigaction sa;
	struct pollfd pfd;
	long long end = sd_helper_now_ms() + (long long)seconds * 1000;
	char buf[4096];
	ssize_t n, i;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sd_helper_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sd_helper: path too long: %s\n", path);
		return 1;
	}
	strcpy(sun.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "sd_helper: %s: %s\n", path, strerror(errno));
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!sd_helper_stop && sd_helper_now_ms() < end) {
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
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		fprintf(stderr, "sd_helper: port: %s\n", strerror(errno));
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return sd_helper_recv(argv[2], atoi(argv[3]));
	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return sd_helper_port();
	fprintf(stderr, "usage: sd_helper recv PATH SECONDS | sd_helper port\n");
	return 64;
}
