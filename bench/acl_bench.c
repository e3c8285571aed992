/*
 * acl_bench.c: load time, lookup rate and memory of the access lists
 * (src/acl.c) and of the per-source table (src/source.c).
 *
 *   acl_bench [-n entries] [-l lookups] [-s sources] [-r seed]
 *
 * Writes 1,000 and then N random allow/deny entries (all IPv4, all IPv6,
 * half and half) to a temporary access file, loads it with acl_load_file(),
 * and times acl_check() on addresses inside entries and on random ones. Then fills a
 * source table with `sources` distinct peers and times lookups of known
 * peers and of new ones in the full table (eviction). One thread; a few
 * seconds with the defaults. Build it in a tree configured without
 * --enable-debug: the library is measured, and a debug build is -O0.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "source.h"
#include "tool.h"
#include "util.h"

struct bench_addr {
	struct sockaddr_storage	 ss;
};

static uint64_t bench_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
bench_rand(void)
{
	bench_state ^= bench_state >> 12;
	bench_state ^= bench_state << 25;
	bench_state ^= bench_state >> 27;
	return bench_state * 0x2545f4914f6cdd1dULL;
}

static void
bench_random_bytes(uint8_t *b, size_t n)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = bench_rand();
		b[i] = (uint8_t)r;
		r >>= 8;
	}
}

static void
bench_mask(uint8_t *b, size_t n, unsigned plen)
{
	unsigned i;

	for (i = plen; i < n * 8; i++)
		b[i / 8] &= (uint8_t)~(1 << (7 - i % 8));
}

static void
bench_set(struct bench_addr *a, int v6, const uint8_t *b)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(&a->ss, 0, sizeof(a->ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, b, 16);
	} else {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, b, 4);
	}
}

/*
 * Write n entries, a share v6_pct of them IPv6; inside[] gets an address in
 * each of the first ninside entries. IPv4 prefixes /8../32, IPv6 /16../128,
 * a quarter of them host entries.
 */
static char *
bench_write_file(size_t n, unsigned v6_pct, struct bench_addr *inside, size_t ninside)
{
	char *path = xstrdup("/tmp/acl_bench.XXXXXX"), a[INET6_ADDRSTRLEN];
	uint8_t b[16], host[16];
	unsigned plen;
	size_t i;
	FILE *fp;
	int fd, v6;

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		fatal("%s", path);
	for (i = 0; i < n; i++) {
		v6 = bench_rand() % 100 < v6_pct;
		bench_random_bytes(b, 16);
		memcpy(host, b, 16);
		if (bench_rand() % 4 == 0)
			plen = v6 ? 128 : 32;
		else
			plen = v6 ? 16 + (unsigned)(bench_rand() % 113) : 8 + (unsigned)(bench_rand() % 25);
		bench_mask(b, v6 ? 16 : 4, plen);
		inet_ntop(v6 ? AF_INET6 : AF_INET, b, a, sizeof(a));
		fprintf(fp, "%s %s/%u\n", bench_rand() % 2 ? "deny" : "allow", a, plen);
		if (i < ninside)
			bench_set(&inside[i], v6, host);
	}
	if (fclose(fp) != 0)
		fatal("%s", path);
	return path;
}

static double
bench_rate(size_t n, uint64_t us)
{
	return us == 0 ? 0 : (double)n * 1e6 / (double)us;
}

/* Time acl_check over the addresses, repeated up to `lookups` calls. */
static double
bench_checks(const struct acl *a, const struct bench_addr *addrs, size_t naddrs, size_t lookups,
    size_t *denied)
{
	uint64_t t0;
	size_t i;

	*denied = 0;
	t0 = tool_now_us();
	for (i = 0; i < lookups; i++) {
		if (acl_check(a, (const struct sockaddr *)&addrs[i % naddrs].ss, NULL, 0) != ACL_PASS)
			(*denied)++;
	}
	return bench_rate(lookups, tool_now_us() - t0);
}

static void
bench_acl(size_t n, unsigned v6_pct, size_t lookups)
{
	size_t naddrs = 65536, i, nerrs = 0, denied_in, denied_rand;
	struct bench_addr *inside, *random;
	struct acl *a = acl_new();
	double in_rate, rand_rate;
	char **errs = NULL, *path;
	uint8_t b[16];
	uint64_t t0, load_us;

	inside = xcalloc(naddrs, sizeof(*inside));
	random = xcalloc(naddrs, sizeof(*random));
	if (naddrs > n)
		naddrs = n;
	path = bench_write_file(n, v6_pct, inside, naddrs);
	for (i = 0; i < naddrs; i++) {
		bench_random_bytes(b, 16);
		bench_set(&random[i], bench_rand() % 100 < v6_pct, b);
	}
	t0 = tool_now_us();
	if (acl_load_file(a, path, &errs, &nerrs) == -1)
		fatalx("%s", nerrs > 0 ? errs[0] : path);
	load_us = tool_now_us() - t0;
	unlink(path);
	free(path);
	in_rate = bench_checks(a, inside, naddrs, lookups, &denied_in);
	rand_rate = bench_checks(a, random, naddrs, lookups, &denied_rand);
	printf("| %3u%% | %7zu | %7zu | %8.1f | %9zu | %6.1f | %10.0f | %10.0f |\n", v6_pct, n,
	    acl_count(a), (double)load_us / 1000, acl_memory(a),
	    (double)acl_memory(a) / (double)acl_count(a), in_rate, rand_rate);
	acl_free(a);
	free(inside);
	free(random);
}

static void
bench_sources(size_t nsources, size_t lookups)
{
	struct source_table *t = source_table_new(nsources, 60000);
	struct bench_addr *addrs = xcalloc(nsources, sizeof(*addrs));
	struct source_stats st;
	struct source *s;
	uint64_t t0, fill_us, hit_us, new_us, now = 1;
	uint8_t b[16];
	size_t i, miss = 0;

	for (i = 0; i < nsources; i++) {
		bench_random_bytes(b, 16);
		bench_set(&addrs[i], i % 2, b);
	}
	t0 = tool_now_us();
	for (i = 0; i < nsources; i++)
		source_lookup(t, 0, (struct sockaddr *)&addrs[i].ss, 32, 64, now);
	fill_us = tool_now_us() - t0;
	source_table_stats(t, &st);
	/* Known peers: lookup, take a token at 1000/s, open and close a connection. */
	t0 = tool_now_us();
	for (i = 0; i < lookups; i++) {
		s = source_lookup(t, 0, (struct sockaddr *)&addrs[(i * 7919) % nsources].ss, 32, 64,
		    now + i / 1000);
		if (s == NULL) {
			miss++;
			continue;
		}
		source_rate_take(s, 1000, 50, now + i / 1000);
		source_conn_open(s);
		source_conn_close(t, s, now + i / 1000);
	}
	hit_us = tool_now_us() - t0;
	/* New peers in the full table: each one evicts the oldest clean entry. */
	now += lookups / 1000 + 1;
	t0 = tool_now_us();
	for (i = 0; i < lookups; i++) {
		bench_random_bytes(b, 4);
		bench_set(&addrs[0], 0, b);
		if (source_lookup(t, 0, (struct sockaddr *)&addrs[0].ss, 32, 64, now) == NULL)
			miss++;
	}
	new_us = tool_now_us() - t0;
	printf("| %7zu | %7.0f | %10.0f | %10.0f | %9zu | %6.1f | %zu |\n", nsources,
	    bench_rate(nsources, fill_us), bench_rate(lookups, hit_us), bench_rate(lookups, new_us),
	    st.memory, (double)st.memory / (double)st.entries, miss);
	source_table_free(t);
	free(addrs);
}

static void
bench_usage(void)
{
	fprintf(stderr, "usage: acl_bench [-n entries] [-l lookups] [-s sources] [-r seed]\n");
	exit(ECHOD_EX_USAGE);
}

int
main(int argc, char **argv)
{
	size_t n = 100000, lookups = 500000, sources = 100000, sizes[2];
	uint64_t v;
	int ch, i;

	while ((ch = getopt(argc, argv, "n:l:s:r:")) != -1) {
		if (ch == '?' || tool_parse_uint(optarg, 1, 100000000, &v) == -1)
			bench_usage();
		switch (ch) {
		case 'n':
			n = (size_t)v;
			break;
		case 'l':
			lookups = (size_t)v;
			break;
		case 's':
			sources = (size_t)v;
			break;
		case 'r':
			bench_state = v;
			break;
		}
	}
#ifdef ECHOD_DEBUG_BUILD
	printf("note: debug build (-O0 library): numbers are pessimistic\n\n");
#endif
	sizes[0] = n < 1000 ? n : 1000;
	sizes[1] = n;
	printf("access lists: %zu and %zu entries from a file, %zu lookups each\n\n", sizes[0],
	    sizes[1], lookups);
	printf("| IPv6 | written | entries | load ms | bytes held | B/entry | in-entry lookups/s |"
	    " random lookups/s |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < 2; i++) {
		bench_acl(sizes[i], 0, lookups);
		bench_acl(sizes[i], 100, lookups);
		bench_acl(sizes[i], 50, lookups);
	}
	printf("\nsource table: %zu distinct peers (half IPv6), %zu lookups\n\n", sources, lookups);
	printf("| sources | inserts/s | known lookups/s (+take, open, close) | new in full table/s |"
	    " bytes held | B/source | untracked |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|\n");
	bench_sources(sources, lookups);
	return 0;
}
