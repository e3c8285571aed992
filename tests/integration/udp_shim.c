/*
 * udp_shim.c: fault injection for udp_guard.sh, loaded into echod with
 * LD_PRELOAD. While the file named by ECHOD_TEST_UDP_FULL exists,
 * sendmmsg() fails with EAGAIN, as it does on a socket whose send buffer
 * is full: over loopback a UDP socket never fills (each datagram is handed
 * to the receiver at once), so this is how the send queue is exercised.
 * Everything else goes to the real function.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*udp_shim_sendmmsg_cb)(int, struct mmsghdr *, unsigned int, int);

int
sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	static udp_shim_sendmmsg_cb real;
	const char *full = getenv("ECHOD_TEST_UDP_FULL");

	if (real == NULL)
		real = (udp_shim_sendmmsg_cb)dlsym(RTLD_NEXT, "sendmmsg");
	if (full != NULL && access(full, F_OK) == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, vec, n, flags);
}
