/*
 * acl.c: allow/deny lists as path-compressed binary tries (one per family)
 * and the access-file reader. Pure data structure with no logging: the
 * config loader builds a list on its thread; once built it is read-only
 * and acl_check() may run on any thread.
 *
 * A key is 128 bits in two words, most significant bit first; an IPv4
 * address sits in the top 32 bits. Each node holds a prefix (host bits
 * zero) and its length; a node with no action flags only branches. A trie
 * with N prefixes has at most 2N-1 nodes, whatever their lengths, and a
 * lookup visits at most one node per distinct prefix length on its path.
 * Nodes live in one array and link by index, which keeps a node at 32
 * bytes and the list in one allocation.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "addr.h"
#include "util.h"

#define ACL_NIL		UINT32_MAX
#define ACL_F_ALLOW	0x1
#define ACL_F_DENY	0x2
#define ACL_SPEC_MAX	64	/* longer is not an address: "ffff:...:255.255.255.255/128" is 49 */
#define ACL_QUOTE_MAX	80	/* how much of a bad line an error message repeats */

enum acl_family {
	ACL_V4 = 0,
	ACL_V6,
	ACL_NFAMILIES
};

struct acl_node {
	uint64_t	 key[2];
	uint32_t	 child[2];	/* by the bit after the prefix; ACL_NIL: none */
	uint8_t		 plen;
	uint8_t		 flags;		/* ACL_F_*; 0: a branching node, not an entry */
};

struct acl {
	struct acl_node	*nodes;
	uint32_t	 nnodes;
	uint32_t	 cap;
	uint32_t	 root[ACL_NFAMILIES];
	size_t		 entries;
	size_t		 allows;
	unsigned	 refs;
};

/* A parsed entry or peer address. */
struct acl_prefix {
	enum acl_family	 fam;
	uint64_t	 key[2];
	unsigned	 plen;
};

static const unsigned acl_maxbits[ACL_NFAMILIES] = { 32, 128 };

/* ---------------------------------------------------------------- bits */

static int
acl_bit(const uint64_t k[2], unsigned i)
{
	return i < 64 ? (int)(k[0] >> (63 - i)) & 1 : (int)(k[1] >> (127 - i)) & 1;
}

/* Number of leading bits a and b share (0..128). */
static unsigned
acl_common(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x;

	if ((x = a[0] ^ b[0]) != 0)
		return (unsigned)__builtin_clzll(x);
	if ((x = a[1] ^ b[1]) != 0)
		return 64 + (unsigned)__builtin_clzll(x);
	return 128;
}

/* ---------------------------------------------------------------- addresses */

/* ::ffff:0:0/96, the IPv4-mapped range */
static int
acl_is_mapped(const uint64_t key[2])
{
	return key[0] == 0 && (key[1] >> 32) == 0xffff;
}

/* The lookup key of a peer; -1 for a family that is not IP. */
static int
acl_peer_key(const struct sockaddr *sa, struct acl_prefix *p)
{
	switch (addr_key_of(sa, p->key)) {
	case 4:
		p->fam = ACL_V4;
		break;
	case 6:
		p->fam = ACL_V6;
		break;
	default:
		return -1;
	}
	p->plen = acl_maxbits[p->fam];
	return 0;
}

/* "10.0.0.0/8", or "192.0.2.7" for a host; as an IPv6 address when v6 (even for IPv4). */
static void
acl_format(char *buf, size_t size, enum acl_family fam, const uint64_t key[2], unsigned plen,
    int v6)
{
	uint64_t mapped[2];

	if (fam == ACL_V4 && v6) {
		mapped[0] = 0;
		mapped[1] = 0xffff00000000ULL | (key[0] >> 32);
		addr_key_format(buf, size, 6, mapped, plen + 96);
	} else
		addr_key_format(buf, size, fam == ACL_V4 ? 4 : 6, key, plen);
}

/* Prefix length: decimal, no sign, no leading zero, at most max. */
static int
acl_parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n;

	n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static void
acl_why(char *why, size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
acl_why(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

/* "192.0.2.7", "10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120". */
static int
acl_parse_prefix(const char *spec, struct acl_prefix *p, char *why, size_t whysize)
{
	char buf[ACL_SPEC_MAX], net[ACL_RULELEN];
	struct in6_addr ia6;
	struct in_addr ia;
	uint64_t masked[2];
	char *slash;
	int v6 = 0;

	if (strlen(spec) >= sizeof(buf))
		goto bad_address;
	memcpy(buf, spec, strlen(spec) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &ia) == 1) {
		p->fam = ACL_V4;
		addr_key_v4(p->key, &ia);
	} else if (inet_pton(AF_INET6, buf, &ia6) == 1) {
		p->fam = ACL_V6;
		addr_key_v6(p->key, &ia6);
		v6 = 1;
	} else
		goto bad_address;
	p->plen = acl_maxbits[p->fam];
	if (slash != NULL && acl_parse_len(slash, acl_maxbits[p->fam], &p->plen) == -1) {
		acl_why(why, whysize, "expected a prefix length from 0 to %u after '/'",
		    acl_maxbits[p->fam]);
		return -1;
	}
	if (p->fam == ACL_V6 && acl_is_mapped(p->key) && p->plen >= 96) {
		p->fam = ACL_V4;
		p->key[0] = p->key[1] << 32;
		p->key[1] = 0;
		p->plen -= 96;
	}
	addr_key_mask(masked, p->key, p->plen);
	if (masked[0] != p->key[0] || masked[1] != p->key[1]) {
		acl_format(net, sizeof(net), p->fam, masked, p->plen, v6);
		/* A /32 or /128 has no host bits, so the format always has a '/'. */
		acl_why(why, whysize, "expected a network address: %s", net);
		return -1;
	}
	return 0;

bad_address:
	acl_why(why, whysize, "expected an IPv4 or IPv6 address or CIDR prefix, as in "
	    "192.0.2.7, 10.0.0.0/8 or 2001:db8::/32");
	return -1;
}

/* ---------------------------------------------------------------- trie */

struct acl *
acl_new(void)
{
	struct acl *a = xcalloc(1, sizeof(*a));
	int f;

	for (f = 0; f < ACL_NFAMILIES; f++)
		a->root[f] = ACL_NIL;
	a->refs = 1;
	return a;
}

struct acl *
acl_ref(struct acl *a)
{
	if (a != NULL)
		a->refs++;
	return a;
}

void
acl_free(struct acl *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	free(a->nodes);
	free(a);
}

/* Room for n more nodes, so that indices and pointers into nodes stay valid during an insert. */
static void
acl_reserve(struct acl *a, uint32_t n)
{
	uint32_t cap;

	if (a->cap - a->nnodes >= n)
		return;
	if (a->nnodes > UINT32_MAX / 2 - n)
		fatalx("access list too large: %u nodes", a->nnodes);
	cap = a->cap < 64 ? 64 : a->cap * 2;
	a->nodes = xreallocarray(a->nodes, cap, sizeof(*a->nodes));
	a->cap = cap;
}

/* Give back what the last doubling left unused (after a whole file is loaded). */
static void
acl_shrink(struct acl *a)
{
	if (a->nnodes == 0 || a->cap == a->nnodes)
		return;
	a->nodes = xreallocarray(a->nodes, a->nnodes, sizeof(*a->nodes));
	a->cap = a->nnodes;
}

static uint32_t
acl_node_new(struct acl *a, const uint64_t key[2], unsigned plen, uint8_t flags)
{
	struct acl_node *n = &a->nodes[a->nnodes];

	addr_key_mask(n->key, key, plen);
	n->plen = (uint8_t)plen;
	n->flags = flags;
	n->child[0] = n->child[1] = ACL_NIL;
	return a->nnodes++;
}

/* Insert a prefix with one action flag; 0 if the entry was already there. */
static int
acl_insert(struct acl *a, const struct acl_prefix *p, uint8_t flag)
{
	struct acl_node *nd;
	uint32_t *link, i, n, m;
	unsigned common;

	acl_reserve(a, 2);
	link = &a->root[p->fam];
	while ((i = *link) != ACL_NIL) {
		nd = &a->nodes[i];
		common = acl_common(nd->key, p->key);
		if (common > p->plen)
			common = p->plen;
		if (common < nd->plen) {
			/* p leaves nd's path above nd: p, or a branch, goes in between. */
			n = acl_node_new(a, p->key, p->plen, flag);
			if (common == p->plen)
				a->nodes[n].child[acl_bit(nd->key, common)] = i;
			else {
				m = acl_node_new(a, p->key, common, 0);
				a->nodes[m].child[acl_bit(p->key, common)] = n;
				a->nodes[m].child[acl_bit(nd->key, common)] = i;
				n = m;
			}
			*link = n;
			return 1;
		}
		if (nd->plen == p->plen) {
			if (nd->flags & flag)
				return 0;
			nd->flags |= flag;
			return 1;
		}
		link = &nd->child[acl_bit(p->key, nd->plen)];
	}
	*link = acl_node_new(a, p->key, p->plen, flag);
	return 1;
}

int
acl_add(struct acl *a, enum acl_action act, const char *spec, char *why, size_t whysize)
{
	struct acl_prefix p;

	if (act != ACL_ALLOW && act != ACL_DENY) {
		acl_why(why, whysize, "expected 'allow' or 'deny'");
		return -1;
	}
	if (acl_parse_prefix(spec, &p, why, whysize) == -1)
		return -1;
	if (acl_insert(a, &p, act == ACL_DENY ? ACL_F_DENY : ACL_F_ALLOW)) {
		a->entries++;
		if (act == ACL_ALLOW)
			a->allows++;
	}
	return 0;
}

/* The deepest entry on the path of key; ACL_NIL if none. */
static uint32_t
acl_lookup(const struct acl *a, const struct acl_prefix *p)
{
	const struct acl_node *nd;
	uint32_t i, best = ACL_NIL;
	unsigned max = acl_maxbits[p->fam];

	i = a->root[p->fam];
	while (i != ACL_NIL) {
		nd = &a->nodes[i];
		if (acl_common(nd->key, p->key) < nd->plen)
			break;
		if (nd->flags != 0)
			best = i;
		if (nd->plen >= max)
			break;
		i = nd->child[acl_bit(p->key, nd->plen)];
	}
	return best;
}

enum acl_verdict
acl_check(const struct acl *a, const struct sockaddr *sa, char *rule, size_t rulesize)
{
	const struct acl_node *nd;
	struct acl_prefix p;
	uint32_t i;

	if (rule != NULL && rulesize > 0)
		rule[0] = '\0';
	if (sa->sa_family == AF_UNIX)
		return ACL_PASS;
	if (acl_peer_key(sa, &p) == -1 || (i = acl_lookup(a, &p)) == ACL_NIL)
		return a->allows > 0 ? ACL_NOT_ALLOWED : ACL_PASS;
	nd = &a->nodes[i];
	if (rule != NULL && rulesize > 0)
		acl_format(rule, rulesize, p.fam, nd->key, nd->plen, 0);
	return (nd->flags & ACL_F_DENY) ? ACL_DENIED : ACL_PASS;
}

size_t
acl_count(const struct acl *a)
{
	return a->entries;
}

size_t
acl_memory(const struct acl *a)
{
	return sizeof(*a) + (size_t)a->cap * sizeof(*a->nodes);
}

int
acl_empty(const struct acl *a)
{
	return a->entries == 0;
}

const char *
acl_verdict_name(enum acl_verdict v)
{
	switch (v) {
	case ACL_PASS:
		return "pass";
	case ACL_DENIED:
		return "deny-list";
	case ACL_NOT_ALLOWED:
		return "not-allowed";
	}
	return "?";
}

/* ---------------------------------------------------------------- access files */

struct acl_file {
	const char	*path;
	unsigned long	 lineno;
	size_t		 bad;		/* errors found; the first ACL_MAX_ERRORS are kept */
	char		***errs;
	size_t		*nerrs;
};

static void
acl_file_push(struct acl_file *f, char *msg)
{
	*f->errs = xreallocarray(*f->errs, *f->nerrs + 1, sizeof(**f->errs));
	(*f->errs)[(*f->nerrs)++] = msg;
}

static void
acl_file_error(struct acl_file *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "PATH:LINE: message", or "PATH: message" when no line is being read. */
static void
acl_file_error(struct acl_file *f, const char *fmt, ...)
{
	char *msg, *line;
	va_list ap;

	if (f->bad++ >= ACL_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (f->lineno > 0)
		xasprintf(&line, "%s:%lu: %s", f->path, f->lineno, msg);
	else
		xasprintf(&line, "%s: %s", f->path, msg);
	free(msg);
	acl_file_push(f, line);
}

/* Copy n bytes of s for an error message: printable ASCII, shortened with "...". */
static void
acl_quote(char *buf, size_t size, const char *s, size_t n)
{
	size_t i, max = size - 1;

	if (n > max) {
		n = max - 3;
		memcpy(buf + n, "...", 4);
	} else
		buf[n] = '\0';
	for (i = 0; i < n; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
}

/* One line, comment and newline included. */
static void
acl_file_line(struct acl *a, struct acl_file *f, char *line, size_t len)
{
	char got[ACL_QUOTE_MAX + 1], why[ACL_ERRLEN];
	char *p, *word, *spec, *end;
	enum acl_action act;

	if (memchr(line, '\0', len) != NULL) {
		acl_file_error(f, "expected text, got a NUL byte");
		return;
	}
	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	for (p = line; isspace((unsigned char)*p); p++)
		;
	for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	if (*p == '\0')
		return;
	acl_quote(got, sizeof(got), p, (size_t)(end - p));
	word = p;
	p += strcspn(p, " \t\v\f\r");
	if (*p != '\0')
		*p++ = '\0';
	for (; isspace((unsigned char)*p); p++)
		;
	spec = p;
	p += strcspn(p, " \t\v\f\r");
	if (strcasecmp(word, "allow") == 0)
		act = ACL_ALLOW;
	else if (strcasecmp(word, "deny") == 0)
		act = ACL_DENY;
	else
		goto bad_line;
	if (*spec == '\0' || *p != '\0')
		goto bad_line;
	if (acl_add(a, act, spec, why, sizeof(why)) == -1) {
		acl_quote(got, sizeof(got), spec, strlen(spec));
		acl_file_error(f, "%s, got '%s'", why, got);
	}
	return;

bad_line:
	acl_file_error(f, "expected 'allow' or 'deny' followed by an address or CIDR prefix, "
	    "got '%s'", got);
}

int
acl_load_file(struct acl *a, const char *path, char ***errs, size_t *nerrs)
{
	struct acl_file f = { path, 0, 0, errs, nerrs };
	char *line = NULL, *more;
	size_t size = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		acl_file_error(&f, "cannot open: %s", strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &size, fp)) != -1) {
		f.lineno++;
		acl_file_line(a, &f, line, (size_t)n);
	}
	f.lineno = 0;
	if (ferror(fp))
		acl_file_error(&f, "cannot read: %s", strerror(errno));
	fclose(fp);
	free(line);
	if (f.bad > ACL_MAX_ERRORS) {
		xasprintf(&more, "%s: %zu more errors not shown", path, f.bad - ACL_MAX_ERRORS);
		acl_file_push(&f, more);
	}
	acl_shrink(a);
	return f.bad > 0 ? -1 : 0;
}
