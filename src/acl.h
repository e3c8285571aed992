/*
 * acl.h: allow/deny lists of IPv4 and IPv6 addresses and CIDR prefixes,
 * checked against a peer address at accept.
 *
 * The longest matching prefix decides; when the same longest prefix is both
 * allowed and denied, deny wins. With at least one allow entry (of either
 * family), an address that matches nothing is refused; with only deny
 * entries it is accepted. IPv4-mapped IPv6 entries and peers
 * (::ffff:a.b.c.d) are IPv4. Unix-socket peers are not subject to address
 * lists. Lookup walks a path-compressed binary trie, one per family: its
 * cost depends on the prefix depth, not on the list length.
 *
 * Threads: a list is built by one thread (the config loader) and is
 * read-only afterwards; acl_check() on a finished list may run on any
 * thread, concurrently.
 *
 * Lifetime: a list is reference-counted, so that a running listener keeps
 * the lists it was configured with after a reload frees that configuration
 * (a connection still reading its PROXY header is checked against them).
 * References are taken and dropped on one thread (the loop).
 */
#ifndef ECHOD_ACL_H
#define ECHOD_ACL_H

#include <sys/socket.h>
#include <stddef.h>

enum acl_action {
	ACL_ALLOW = 0,
	ACL_DENY,
};

enum acl_verdict {
	ACL_PASS = 0,		/* matched allow, or matched nothing with no allow entries */
	ACL_DENIED,		/* the longest match is a deny entry */
	ACL_NOT_ALLOWED,	/* there are allow entries and nothing matched */
};

/* Room for an error from acl_add(). */
#define ACL_ERRLEN	192
/* Room for a rule as acl_check() writes it: INET6_ADDRSTRLEN and "/128". */
#define ACL_RULELEN	56
/* acl_load_file() hands out at most this many messages, then "N more errors". */
#define ACL_MAX_ERRORS	100

struct acl;

struct acl	*acl_new(void);
/* One more reference; returns a (NULL stays NULL). */
struct acl	*acl_ref(struct acl *a);
/* Drop a reference; the last one frees the list. NULL is a no-op. */
void		 acl_free(struct acl *a);

/*
 * Add one entry: "192.0.2.7", "10.0.0.0/8", "2001:db8::/32", "::1",
 * "::ffff:192.0.2.0/120" (stored as 192.0.2.0/24). A bare address is a /32
 * or /128. Adding an entry that is already there is a no-op; the same
 * prefix with the opposite action is kept as well (deny wins). Returns 0,
 * or -1 and what was expected in why ("expected a network address:
 * 10.0.0.0/8" for 10.1.2.3/8); why may be NULL.
 */
int		 acl_add(struct acl *a, enum acl_action act, const char *spec, char *why,
		    size_t whysize);

/*
 * Add every line of an access file: "allow PREFIX" or "deny PREFIX", '#'
 * comments (whole-line and trailing), blank lines, surrounding whitespace.
 * Returns 0, or -1 when the file cannot be read or a line is bad; then every
 * problem is appended to *errs (malloc'd strings, *nerrs counts them) as
 * "PATH:LINE: message", at most ACL_MAX_ERRORS of them and then
 * "PATH: N more errors not shown". On -1 the list holds the good lines and
 * is meant to be discarded.
 */
int		 acl_load_file(struct acl *a, const char *path, char ***errs, size_t *nerrs);

/*
 * The verdict for a peer. rule (may be NULL; ACL_RULELEN bytes are enough)
 * gets the deciding entry, "10.0.0.0/8" or "192.0.2.7", or "" when no entry
 * matched. Unix-socket peers pass; other non-IP families match nothing.
 */
enum acl_verdict acl_check(const struct acl *a, const struct sockaddr *sa, char *rule,
		    size_t rulesize);

size_t		 acl_count(const struct acl *a);	/* entries (prefix, action) */
size_t		 acl_memory(const struct acl *a);	/* bytes held */
int		 acl_empty(const struct acl *a);
/* "pass", "deny-list", "not-allowed" */
const char	*acl_verdict_name(enum acl_verdict v);

#endif
