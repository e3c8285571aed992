/*
 * fuzz_acl.c: libFuzzer harness for address and CIDR parsing and the
 * allow/deny lists (acl_add, acl_check in acl.h).
 *
 * Input: lines of "+SPEC" (allow) or "-SPEC" (deny) and "?ADDR" (check an
 * address); everything else is ignored. Invariants:
 *   - a spec is either added, or refused with a non-empty reason;
 *   - the deciding rule acl_check reports is itself an entry that parses
 *     (re-adding it to a fresh list succeeds), and the verdict agrees with a
 *     linear reference over the accepted entries (longest prefix wins, deny
 *     wins a tie, with any allow entry an unmatched address is refused);
 *   - checking the same address twice gives the same verdict.
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "acl.h"
#include "fuzz.h"

#define FUZZ_ACL_MAX	64

struct fuzz_entry {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 net[16];
	unsigned	 bits;
	int		 deny;
};

/* Parse "a.b.c.d[/n]" or "v6[/n]" the way a reference would; 0 when it cannot. */
static int
fuzz_acl_ref_parse(const char *spec, struct fuzz_entry *e)
{
	char buf[128], *slash;
	unsigned char addr[16];
	size_t i;

	if (strlen(spec) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, buf, addr) == 1) {
		e->family = AF_INET;
		memcpy(e->net, addr, 4);
		e->bits = slash != NULL ? (unsigned)strtoul(slash + 1, NULL, 10) : 32;
		return 1;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return 0;
	e->family = AF_INET6;
	memcpy(e->net, addr, 16);
	e->bits = slash != NULL ? (unsigned)strtoul(slash + 1, NULL, 10) : 128;
	/* an IPv4-mapped entry of /96 or longer is the IPv4 entry it means */
	for (i = 0; i < 10 && addr[i] == 0; i++)
		;
	if (i == 10 && addr[10] == 0xff && addr[11] == 0xff && e->bits >= 96) {
		e->family = AF_INET;
		memmove(e->net, addr + 12, 4);
		memset(e->net + 4, 0, 12);
		e->bits -= 96;
	}
	return 1;
}

static int
fuzz_acl_match(const struct fuzz_entry *e, int family, const unsigned char *a)
{
	unsigned i, full = e->bits / 8, rest = e->bits % 8;

	if (e->family != family)
		return 0;
	for (i = 0; i < full; i++)
		if (a[i] != e->net[i])
			return 0;
	return rest == 0 || ((a[full] ^ e->net[full]) & (0xff << (8 - rest))) == 0;
}

/* The reference verdict: longest prefix, deny wins a tie, allow entries make a default refusal. */
static enum acl_verdict
fuzz_acl_ref(const struct fuzz_entry *es, size_t n, int family, const unsigned char *a)
{
	int best = -1, deny = 0, any_allow = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		any_allow |= !es[i].deny;
		if (!fuzz_acl_match(&es[i], family, a))
			continue;
		if ((int)es[i].bits > best) {
			best = (int)es[i].bits;
			deny = es[i].deny;
		} else if ((int)es[i].bits == best)
			deny |= es[i].deny;
	}
	if (best >= 0)
		return deny ? ACL_DENIED : ACL_PASS;
	return any_allow ? ACL_NOT_ALLOWED : ACL_PASS;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_entry es[FUZZ_ACL_MAX];
	struct sockaddr_storage ss;
	char *text = fuzz_cstring(data, size), *line, *save = NULL;
	char why[ACL_ERRLEN], rule[ACL_RULELEN];
	unsigned char addr[16];
	enum acl_verdict v, v2, ref;
	struct acl *a = acl_new(), *b;
	size_t n = 0;
	int family;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if ((line[0] == '+' || line[0] == '-') && n < FUZZ_ACL_MAX) {
			why[0] = '\0';
			if (acl_add(a, line[0] == '-' ? ACL_DENY : ACL_ALLOW, line + 1, why,
			    sizeof(why)) == -1) {
				FUZZ_CHECK(why[0] != '\0', "'%s' refused without a reason", line + 1);
				continue;
			}
			FUZZ_CHECK(fuzz_acl_ref_parse(line + 1, &es[n]),
			    "'%s' accepted, but it is not an address", line + 1);
			es[n].deny = line[0] == '-';
			n++;
		} else if (line[0] == '?') {
			memset(&ss, 0, sizeof(ss));
			if (inet_pton(AF_INET, line + 1, addr) == 1) {
				family = AF_INET;
				((struct sockaddr_in *)&ss)->sin_family = AF_INET;
				memcpy(&((struct sockaddr_in *)&ss)->sin_addr, addr, 4);
			} else if (inet_pton(AF_INET6, line + 1, addr) == 1) {
				family = AF_INET6;
				((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
				memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, addr, 16);
			} else
				continue;
			v = acl_check(a, (struct sockaddr *)&ss, rule, sizeof(rule));
			v2 = acl_check(a, (struct sockaddr *)&ss, NULL, 0);
			FUZZ_CHECK(v == v2, "two checks of %s differ", line + 1);
			/* a mapped peer is checked as IPv4; the reference does that too */
			if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)addr)) {
				family = AF_INET;
				memmove(addr, addr + 12, 4);
			}
			ref = fuzz_acl_ref(es, n, family, addr);
			FUZZ_CHECK(v == ref, "%s: verdict %s, reference %s", line + 1,
			    acl_verdict_name(v), acl_verdict_name(ref));
			if (rule[0] != '\0') {
				b = acl_new();
				FUZZ_CHECK(acl_add(b, ACL_ALLOW, rule, why, sizeof(why)) == 0,
				    "rule '%s' does not parse: %s", rule, why);
				acl_free(b);
			}
		}
	}
	acl_free(a);
	free(text);
	return 0;
}
