/*
 * addr.h: listener bind specifications and IP prefix keys (pure functions, any thread).
 *   127.0.0.1:7007   [::1]:7007   *:7007 (IPv4 and IPv6)   0.0.0.0:0
 *   unix:/path/to/socket
 *   udp:127.0.0.1:7007   udp:[::1]:7007   udp:*:7007 (datagram sockets)
 */
#ifndef ECHOD_ADDR_H
#define ECHOD_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stddef.h>
#include <stdint.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t               len;
	int                     socktype;   /* SOCK_STREAM, or SOCK_DGRAM for "udp:" */
};

/* Maximum number of socket addresses one spec expands to ("*" gives two). */
#define ADDR_MAX_PER_SPEC 2

/*
 * Parse one spec into up to ADDR_MAX_PER_SPEC addresses. Returns the number
 * of addresses (1 or 2) or -1 with a static description of what was expected
 * in *why.
 */
int  addr_parse(const char *spec, struct addr *out, const char **why);

/* Format "127.0.0.1:7007", "[::1]:7007" or "unix:/path" into buf. Returns buf. */
char *addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);
#define ADDR_STRLEN 128

/*
 * 1 if a datagram from `sa` may be answered: an IPv4 or IPv6 unicast
 * address. 0 for the unspecified address and 0.0.0.0/8, IPv4 multicast,
 * reserved and broadcast (224.0.0.0/3, 255.255.255.255 included), IPv6
 * multicast (ff00::/8) and the IPv4-mapped forms of those, and non-IP
 * families. A reply to such an address would reach many hosts, or none.
 */
int  addr_is_unicast(const struct sockaddr *sa);

/* Port of an inet address (host order), 0 for unix. */
int  addr_port(const struct sockaddr *sa);
/* 1 if the address is loopback (127/8, ::1) or a unix socket. */
int  addr_is_local(const struct sockaddr *sa);

/*
 * Prefix keys: an IP address as two 64-bit words, most significant first,
 * an IPv4 address in the top 32 bits of key[0], an IPv6 one in all 128
 * bits. The access lists (acl.c) and the per-source table (source.c) match
 * and count on them.
 */
void addr_key_v4(uint64_t key[2], const struct in_addr *ia);
void addr_key_v6(uint64_t key[2], const struct in6_addr *ia6);
/* The key of an inet address: returns 4 or 6 (an IPv4-mapped IPv6 address gives 4), -1 if not inet. */
int  addr_key_of(const struct sockaddr *sa, uint64_t key[2]);
/* in with all but its first plen bits cleared (plen over the 128 bits). */
void addr_key_mask(uint64_t out[2], const uint64_t in[2], unsigned plen);
/* "10.0.0.0/8", or "192.0.2.7" when plen is the whole address (32 for fam 4, 128 for 6). */
void addr_key_format(char *buf, size_t size, int fam, const uint64_t key[2], unsigned plen);

#endif
