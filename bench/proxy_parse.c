/*
 * proxy_parse: what proxy_parse() (src/proxy.c) costs per header, on one
 * core, for the headers a listener behind HAProxy sees, and the worst a
 * client dribbling a header one byte at a time can make it cost (every read
 * parses the whole buffer again).
 *
 *   make bench/proxy_parse && bench/proxy_parse [seconds-per-case]
 *
 * One line per case: bytes, ns per call, and for the dribble cases the CPU
 * time one such connection costs in total. Runs each case for 0.3 s unless
 * told otherwise.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"
#include "tool.h"

struct bench_hdr {
	uint8_t b[PROXY_MAX_HEADER];
	size_t  n;
};

static void
bench_put(struct bench_hdr *h, const void *p, size_t n)
{
	if (h->n + n > sizeof(h->b))
		tool_die("header too large");
	if (n == 0)
		return;
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void
bench_tlv(struct bench_hdr *h, uint8_t type, const void *v, size_t n)
{
	uint8_t t[3] = { type, (uint8_t)(n >> 8), (uint8_t)n };

	bench_put(h, t, 3);
	bench_put(h, v, n);
}

/* Signature, PROXY, fam; addresses filled with a pattern. */
static void
bench_v2(struct bench_hdr *h, uint8_t fam, size_t addrlen)
{
	static const uint8_t sig[12] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
	};
	uint8_t hdr[4] = { 0x21, fam, 0, 0 };
	uint8_t addr[216];

	memset(addr, 0x5a, sizeof(addr));
	h->n = 0;
	bench_put(h, sig, sizeof(sig));
	bench_put(h, hdr, sizeof(hdr));
	bench_put(h, addr, addrlen);
}

/* Set the length; with crc_off, fill the CRC32C TLV at that offset. */
static void
bench_finish(struct bench_hdr *h, size_t crc_off)
{
	uint32_t crc;

	h->b[14] = (uint8_t)((h->n - 16) >> 8);
	h->b[15] = (uint8_t)(h->n - 16);
	if (crc_off == 0)
		return;
	memset(h->b + crc_off, 0, 4);
	crc = htonl(proxy_crc32c(0, h->b, h->n));
	memcpy(h->b + crc_off, &crc, 4);
}

static double
bench_now(void)
{
	return (double)tool_now_ns() / 1e9;
}

/*
 * Parse buf (whole, or every prefix up to it when dribble is set) for
 * `seconds`; print ns per call.
 */
static void
bench_case(const char *name, const void *buf, size_t len, unsigned allow, int dribble,
    double seconds)
{
	struct proxy_info pi;
	double start, elapsed;
	unsigned long rounds = 0, calls = 0;
	size_t i;
	int r;

	if (proxy_parse(buf, len, allow, &pi, NULL, NULL) != (int)len)
		tool_die("case %s does not parse", name);
	start = bench_now();
	do {
		for (i = dribble ? 1 : len; i <= len; i++) {
			r = proxy_parse(buf, i, allow, &pi, NULL, NULL);
			if (r < 0 || (r > 0 && (size_t)r != len))
				tool_die("case %s: %d at %zu", name, r, i);
			calls++;
		}
		rounds++;
		elapsed = bench_now() - start;
	} while (elapsed < seconds);
	if (dribble)
		printf("%-34s bytes=%-5zu ns_per_call=%-8.0f us_per_connection=%.0f\n", name, len,
		    elapsed * 1e9 / (double)calls, elapsed * 1e6 / (double)rounds);
	else
		printf("%-34s bytes=%-5zu ns_per_call=%.0f\n", name, len,
		    elapsed * 1e9 / (double)calls);
}

int
main(int argc, char **argv)
{
	static const char v1[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	static const char v1_6[] = "PROXY TCP6 2001:db8:85a3::8a2e:370:7334 2001:db8::1 56324 443\r\n";
	static const char v1_worst[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct bench_hdr h, ssl;
	uint8_t fill[256];
	double seconds = 0.3;
	size_t off;

	tool_init("proxy_parse", 1);
	if (argc > 1 && (tool_parse_double(argv[1], 0, 10, &seconds) == -1 || seconds <= 0)) {
		fprintf(stderr, "usage: proxy_parse [seconds-per-case, at most 10]\n");
		return 64;
	}
	memset(fill, 'a', sizeof(fill));
	bench_case("v1 TCP4", v1, strlen(v1), PROXY_V1 | PROXY_V2, 0, seconds);
	bench_case("v1 TCP6", v1_6, strlen(v1_6), PROXY_V1 | PROXY_V2, 0, seconds);
	bench_case("v1 TCP6 longest", v1_worst, strlen(v1_worst), PROXY_V1 | PROXY_V2, 0, seconds);

	bench_v2(&h, 0x11, 12);
	bench_finish(&h, 0);
	bench_case("v2 INET", h.b, h.n, PROXY_V2, 0, seconds);

	/* send-proxy-v2 + proxy-v2-options ssl,cert-cn,ssl-cipher,authority,crc32c,unique-id */
	bench_v2(&h, 0x21, 36);
	bench_tlv(&h, PROXY_TLV_CRC32C, "\0\0\0\0", 4);
	off = h.n - 4;
	bench_tlv(&h, PROXY_TLV_ALPN, "h2", 2);
	bench_tlv(&h, PROXY_TLV_AUTHORITY, "www.example.com", 15);
	bench_tlv(&h, PROXY_TLV_UNIQUE_ID, "C0A80001:D9E4_C0A8000B:01BB_65F1E2D3_0001:1A2B", 46);
	ssl.n = 0;
	bench_put(&ssl, "\x07\0\0\0\0", 5);
	bench_tlv(&ssl, PROXY_TLV_SSL_VERSION, "TLSv1.3", 7);
	bench_tlv(&ssl, PROXY_TLV_SSL_CN, "client.example.com", 18);
	bench_tlv(&ssl, PROXY_TLV_SSL_CIPHER, "TLS_AES_256_GCM_SHA384", 22);
	bench_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	bench_finish(&h, off);
	bench_case("v2 INET6 + HAProxy TLVs + CRC32C", h.b, h.n, PROXY_V2, 0, seconds);

	/* The largest HAProxy header (see PROXY_MAX_HEADER in proxy.h). */
	bench_v2(&h, 0x21, 36);
	bench_tlv(&h, PROXY_TLV_CRC32C, "\0\0\0\0", 4);
	off = h.n - 4;
	bench_tlv(&h, PROXY_TLV_ALPN, fill, 255);
	bench_tlv(&h, PROXY_TLV_AUTHORITY, fill, 255);
	bench_tlv(&h, PROXY_TLV_UNIQUE_ID, fill, 128);
	ssl.n = 0;
	bench_put(&ssl, "\x07\0\0\0\0", 5);
	bench_tlv(&ssl, PROXY_TLV_SSL_VERSION, "TLSv1.3", 7);
	bench_tlv(&ssl, PROXY_TLV_SSL_CN, fill, 256);
	bench_tlv(&ssl, PROXY_TLV_SSL_CIPHER, fill, 64);
	bench_tlv(&ssl, PROXY_TLV_SSL_SIG_ALG, fill, 64);
	bench_tlv(&ssl, PROXY_TLV_SSL_KEY_ALG, fill, 64);
	bench_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	bench_tlv(&h, PROXY_TLV_NETNS, fill, 255);
	bench_finish(&h, off);
	bench_case("v2 largest HAProxy header", h.b, h.n, PROXY_V2, 0, seconds);

	/* Dribbled one byte per read: every prefix is parsed again. */
	bench_case("dribble v1 TCP6 longest", v1_worst, strlen(v1_worst), PROXY_V1, 1, seconds);
	bench_case("dribble v2 largest HAProxy header", h.b, h.n, PROXY_V2, 1, seconds);
	/* The worst: PROXY_MAX_HEADER of empty NOOP TLVs, each read walks them all. */
	bench_v2(&h, 0x11, 12);
	while (h.n + 3 <= PROXY_MAX_HEADER)
		bench_tlv(&h, PROXY_TLV_NOOP, NULL, 0);
	bench_finish(&h, 0);
	bench_case("dribble v2 4096 bytes of NOOP TLVs", h.b, h.n, PROXY_V2, 1, seconds);
	return 0;
}
