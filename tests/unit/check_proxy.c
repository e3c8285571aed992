/*
 * check_proxy.c: unit tests for proxy.c: the PROXY protocol v1/v2 parser,
 * proxy_describe() and CRC32C. Headers are the specification's examples
 * and v2 headers built byte by byte here. Every valid header is also fed
 * one byte at a time, and every invalid one must be rejected exactly at
 * its first impossible byte.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "proxy.h"
#include "unit.h"

#define ANY (PROXY_V1 | PROXY_V2)

/* What the application sends right after the header. */
static const char pp_app[] = "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";

static const uint8_t pp_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* CRC32C bit by bit, straight from the polynomial, to check proxy_crc32c. */
static uint32_t
pp_crc_ref(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffff;
	int k;

	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78 : 0);
	}
	return ~crc;
}

static const char *
pp_addr(const struct sockaddr_storage *ss, socklen_t len, char *buf)
{
	return addr_format((const struct sockaddr *)ss, len, buf, ADDR_STRLEN);
}

/*
 * buf[0..len) is one complete header: it parses to len; every shorter prefix
 * needs more; with application bytes after it, the result is the same.
 */
static void
pp_ok(const void *buf, size_t len, unsigned allow, struct proxy_info *out)
{
	static uint8_t more[PROXY_MAX_HEADER + sizeof(pp_app)];
	struct proxy_info again;
	enum proxy_err err;
	const char *detail;
	size_t i;
	int r;

	r = proxy_parse(buf, len, allow, out, &err, &detail);
	ck_assert_msg(r == (int)len, "parse: r=%d want %zu (%s: %s)", r, len,
	    proxy_err_name(err), detail ? detail : "-");
	ck_assert_int_eq(err, PROXY_E_NONE);
	ck_assert_ptr_null(detail);
	for (i = 0; i < len; i++) {
		r = proxy_parse(buf, i, allow, &again, &err, &detail);
		ck_assert_msg(r == 0, "prefix of %zu/%zu bytes: r=%d (%s: %s), want need-more",
		    i, len, r, proxy_err_name(err), detail ? detail : "-");
	}
	ck_assert_uint_le(len + sizeof(pp_app), sizeof(more));
	memcpy(more, buf, len);
	memcpy(more + len, pp_app, sizeof(pp_app));
	r = proxy_parse(more, len + sizeof(pp_app), allow, &again, &err, &detail);
	ck_assert_int_eq(r, (int)len);
	ck_assert_msg(memcmp(out, &again, sizeof(again)) == 0, "result differs with bytes after it");
}

/*
 * buf[0..len) is rejected with `want`, and byte `at` is the first one that
 * rules it out: every prefix up to `at` bytes needs more, at + 1 fails.
 */
static void
pp_bad_at(const void *buf, size_t len, unsigned allow, size_t at, enum proxy_err want,
    const char *what)
{
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail;
	size_t i;
	int r;

	ck_assert_msg(at < len, "%s: at=%zu len=%zu", what, at, len);
	r = proxy_parse(buf, len, allow, &pi, &err, &detail);
	ck_assert_msg(r == -1 && err == want, "%s: r=%d err=%s (%s), want %s", what, r,
	    proxy_err_name(err), detail ? detail : "-", proxy_err_name(want));
	ck_assert_ptr_nonnull(detail);
	ck_assert_int_eq(pi.version, 0);
	for (i = 0; i <= at; i++) {
		r = proxy_parse(buf, i, allow, &pi, &err, &detail);
		ck_assert_msg(r == 0, "%s: prefix of %zu bytes: r=%d (%s: %s), want need-more "
		    "up to %zu bytes", what, i, r, proxy_err_name(err), detail ? detail : "-", at);
	}
	r = proxy_parse(buf, at + 1, allow, &pi, &err, &detail);
	ck_assert_msg(r == -1 && err == want, "%s: prefix of %zu bytes: r=%d err=%s, want %s",
	    what, at + 1, r, proxy_err_name(err), proxy_err_name(want));
}

/* A text case: the first byte of `bad` is the first impossible one. */
static void
pp_bad_text(const char *good, const char *bad, unsigned allow, enum proxy_err want)
{
	char line[512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s%s", good, bad);
	ck_assert_uint_lt(n, sizeof(line));
	pp_bad_at(line, n, allow, strlen(good), want, line);
}

static void
pp_bad_detail(const void *buf, size_t len, unsigned allow, const char *want)
{
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail = NULL;

	ck_assert_int_eq(proxy_parse(buf, len, allow, &pi, &err, &detail), -1);
	ck_assert_msg(detail != NULL && strstr(detail, want) != NULL, "detail '%s', want '%s'",
	    detail ? detail : "(null)", want);
}

/* ------------------------------------------------------------------ v2 builder */

struct hdr {
	uint8_t b[PROXY_MAX_HEADER + 512];
	size_t  n;
};

static void
h_put(struct hdr *h, const void *p, size_t n)
{
	ck_assert_uint_le(h->n + n, sizeof(h->b));
	if (n == 0)
		return;
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void
h_u8(struct hdr *h, unsigned v)
{
	uint8_t b = (uint8_t)v;

	h_put(h, &b, 1);
}

static void
h_u16(struct hdr *h, unsigned v)
{
	h_u8(h, v >> 8);
	h_u8(h, v & 0xff);
}

static void
h_u32(struct hdr *h, uint32_t v)
{
	h_u16(h, v >> 16);
	h_u16(h, v & 0xffff);
}

static void
h_fill(struct hdr *h, uint8_t byte, size_t n)
{
	while (n-- > 0)
		h_u8(h, byte);
}

/* Signature, version/command, family; the length is set by h_len(). */
static void
h_v2(struct hdr *h, uint8_t vc, uint8_t fam)
{
	h->n = 0;
	h_put(h, pp_sig, sizeof(pp_sig));
	h_u8(h, vc);
	h_u8(h, fam);
	h_u16(h, 0);
}

static void
h_len(struct hdr *h)
{
	h->b[14] = (uint8_t)((h->n - 16) >> 8);
	h->b[15] = (uint8_t)((h->n - 16) & 0xff);
}

static void
h_tlv(struct hdr *h, uint8_t type, const void *v, size_t n)
{
	h_u8(h, type);
	h_u16(h, (unsigned)n);
	h_put(h, v, n);
}

static void
h_tlv_str(struct hdr *h, uint8_t type, const char *s)
{
	h_tlv(h, type, s, strlen(s));
}

/* The address block of a TCP4 (af AF_INET) or TCP6 (AF_INET6) header. */
static void
h_addrs(struct hdr *h, int af, const char *src, const char *dst, unsigned sport,
    unsigned dport)
{
	struct in6_addr a;	/* room for either family */
	size_t len = af == AF_INET ? 4 : 16;

	ck_assert_int_eq(inet_pton(af, src, &a), 1);
	h_put(h, &a, len);
	ck_assert_int_eq(inet_pton(af, dst, &a), 1);
	h_put(h, &a, len);
	h_u16(h, sport);
	h_u16(h, dport);
}

/* A zeroed CRC32C TLV; returns the offset of its value for h_crc(). */
static size_t
h_crc_tlv(struct hdr *h)
{
	static const uint8_t zero[4];

	h_tlv(h, PROXY_TLV_CRC32C, zero, sizeof(zero));
	return h->n - 4;
}

/* Set the length, then the CRC of the whole header (reference CRC). */
static void
h_crc(struct hdr *h, size_t off)
{
	uint32_t crc;

	h_len(h);
	memset(h->b + off, 0, 4);
	crc = pp_crc_ref(h->b, h->n);
	h->b[off] = (uint8_t)(crc >> 24);
	h->b[off + 1] = (uint8_t)(crc >> 16);
	h->b[off + 2] = (uint8_t)(crc >> 8);
	h->b[off + 3] = (uint8_t)crc;
}

/* The SSL TLV HAProxy sends with ssl,cert-cn,ssl-cipher,cert-sig,cert-key. */
static void
h_ssl(struct hdr *h, uint8_t client, uint32_t verify)
{
	struct hdr v;

	v.n = 0;
	h_u8(&v, client);
	h_u32(&v, verify);
	h_tlv_str(&v, PROXY_TLV_SSL_VERSION, "TLSv1.3");
	h_tlv_str(&v, PROXY_TLV_SSL_CN, "client one");
	h_tlv_str(&v, PROXY_TLV_SSL_SIG_ALG, "RSA-SHA256");
	h_tlv_str(&v, PROXY_TLV_SSL_KEY_ALG, "RSA2048");
	h_tlv_str(&v, PROXY_TLV_SSL_CIPHER, "TLS_AES_128_GCM_SHA256");
	h_tlv_str(&v, 0x26, "X25519");                  /* SSL_GROUP: skipped */
	h_tlv(h, PROXY_TLV_SSL, v.b, v.n);
}

/* PROXY TCP over IPv4, 192.0.2.1:56324 -> 198.51.100.7:443, no TLVs. */
static void
h_simple(struct hdr *h)
{
	h_v2(h, 0x21, 0x11);
	h_addrs(h, AF_INET, "192.0.2.1", "198.51.100.7", 56324, 443);
	h_len(h);
}

/* ------------------------------------------------------------------ CRC32C */

START_TEST(test_crc32c)
{
	static const char check[] = "123456789";
	uint8_t buf[300];
	size_t i, split;

	ck_assert_uint_eq(proxy_crc32c(0, check, 9), 0xe3069283);
	ck_assert_uint_eq(proxy_crc32c(0, check, 0), 0);
	/* RFC 3720 B.4 */
	memset(buf, 0, 32);
	ck_assert_uint_eq(proxy_crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, 32);
	ck_assert_uint_eq(proxy_crc32c(0, buf, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(proxy_crc32c(0, buf, 32), 0x46dd794e);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	ck_assert_uint_eq(proxy_crc32c(0, buf, 32), 0x113fdb5c);

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i <= sizeof(buf); i++)
		ck_assert_uint_eq(proxy_crc32c(0, buf, i), pp_crc_ref(buf, i));
	for (split = 0; split <= sizeof(buf); split++)
		ck_assert_uint_eq(proxy_crc32c(proxy_crc32c(0, buf, split), buf + split,
		    sizeof(buf) - split), pp_crc_ref(buf, sizeof(buf)));
}
END_TEST

/* ------------------------------------------------------------------ v1 */

static void
pp_v1_inet(const char *line, unsigned allow, const char *src, const char *dst)
{
	struct proxy_info pi;
	char a[ADDR_STRLEN];

	pp_ok(line, strlen(line), allow, &pi);
	ck_assert_int_eq(pi.version, 1);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_int_eq(pi.transport, SOCK_STREAM);
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), src);
	ck_assert_str_eq(pp_addr(&pi.dst, pi.dstlen, a), dst);
	ck_assert_uint_eq(pi.srclen, pi.src.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
}

static void
pp_v1_unknown(const char *line)
{
	struct proxy_info pi;

	pp_ok(line, strlen(line), ANY, &pi);
	ck_assert_int_eq(pi.version, 1);
	ck_assert_int_eq(pi.local, PROXY_LOCAL_CMD);
	ck_assert_uint_eq(pi.srclen, 0);
	ck_assert_uint_eq(pi.dstlen, 0);
	ck_assert_int_eq(pi.transport, 0);
}

#define FFFF6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

START_TEST(test_v1_spec_examples)
{
	static const char worst[] = "PROXY UNKNOWN " FFFF6 " " FFFF6 " 65535 65535\r\n";
	static const char tcp6max[] = "PROXY TCP6 " FFFF6 " " FFFF6 " 65535 65535\r\n";
	static const char tcp4max[] = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";

	/* The lengths the specification computes. */
	ck_assert_uint_eq(strlen(tcp4max), 56);
	ck_assert_uint_eq(strlen(tcp6max), 104);
	ck_assert_uint_eq(strlen(worst), 107);
	ck_assert_uint_eq(strlen(worst), PROXY_V1_MAX);

	pp_v1_inet("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", ANY,
	    "192.168.0.1:56324", "192.168.0.11:443");
	pp_v1_inet(tcp4max, PROXY_V1, "255.255.255.255:65535", "255.255.255.255:65535");
	pp_v1_inet(tcp6max, ANY, "[" FFFF6 "]:65535", "[" FFFF6 "]:65535");
	pp_v1_unknown("PROXY UNKNOWN\r\n");
	pp_v1_unknown(worst);
}
END_TEST

START_TEST(test_v1_more)
{
	char line[128];

	pp_v1_inet("PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n", ANY, "0.0.0.0:0", "10.0.0.1:1");
	pp_v1_inet("PROXY TCP4 10.20.30.40 100.200.201.249 65535 10000\r\n", ANY,
	    "10.20.30.40:65535", "100.200.201.249:10000");
	pp_v1_inet("PROXY TCP6 ::1 2001:db8::1 56324 443\r\n", PROXY_V1,
	    "[::1]:56324", "[2001:db8::1]:443");
	pp_v1_inet("PROXY TCP6 2001:DB8:0:0:0:0:0:1 :: 1 2\r\n", ANY,
	    "[2001:db8::1]:1", "[::]:2");
	pp_v1_inet("PROXY TCP6 ::ffff:192.0.2.1 fe80::1:2:3:4 1 2\r\n", ANY,
	    "[::ffff:192.0.2.1]:1", "[fe80::1:2:3:4]:2");
	pp_v1_inet("PROXY TCP6 1:2:3:4:5:6:7:: ::2:3:4:5:6:7:8 1 2\r\n", ANY,
	    "[1:2:3:4:5:6:7:0]:1", "[0:2:3:4:5:6:7:8]:2");
	/* UNKNOWN: whatever comes before CRLF is ignored. */
	pp_v1_unknown("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n");
	pp_v1_unknown("PROXY UNKNOWN   \x01\x7f\xff anything \r\n");
	/* The longest UNKNOWN line: 107 bytes. */
	snprintf(line, sizeof(line), "PROXY UNKNOWN %.*s\r\n", 91,
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890");
	ck_assert_uint_eq(strlen(line), 107);
	pp_v1_unknown(line);
}
END_TEST

#define L4 "PROXY TCP4 1.2.3.4 5.6.7.8 80 443"

START_TEST(test_v1_malformed)
{
	/* Not a PROXY header at all, or the wrong word. */
	pp_bad_text("", "GET / HTTP/1.1\r\n", ANY, PROXY_E_NOT_PROXY);
	pp_bad_text("", " PROXY TCP4\r\n", ANY, PROXY_E_NOT_PROXY);
	pp_bad_text("PRO", "BE\r\n", ANY, PROXY_E_NOT_PROXY);
	pp_bad_text("", "proxy TCP4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_NOT_PROXY);
	/* Spaces. */
	pp_bad_text("PROXY", "TCP4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY ", " TCP4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 ", " 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4 ", " 5.6.7.8 80 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 ", " 80 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80 ", " 443\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text(L4, " \r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text(L4, "\t\r\n", ANY, PROXY_E_ADDRESS);
	/* Line endings. */
	pp_bad_text(L4, "\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text(L4 "\r", "X", ANY, PROXY_E_MALFORMED);
	pp_bad_text(L4 "\r", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4 1.2.3.4", "\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP4", "\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY ", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY UNKNOWN", "\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY UNKNOWN\r", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY UNKNOWN 1.2.3.4", "\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY UNKNOWN 1.2.3.4\r", "x\r\n", ANY, PROXY_E_MALFORMED);
	/* Protocol keyword. */
	pp_bad_text("PROXY TCP", "5 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY ", "tcp4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY U", "DP4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY TCP", " 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY TCP4", "4 1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY UNKNOWN", "X\r\n", ANY, PROXY_E_UNSUPPORTED);
	pp_bad_text("PROXY UNKNOW", "\r\n", ANY, PROXY_E_UNSUPPORTED);
}
END_TEST

START_TEST(test_v1_bad_address)
{
	/* TCP4 */
	pp_bad_text("PROXY TCP4 ", "::1 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 2", ":db8::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 200", "1:db8::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3", " 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.", " 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4", ".5 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 25", "6.1.1.1 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.99", "9 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 0", "1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.0", "0 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.", ".2.3 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 ", ".1.2.3 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4", "a 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 ", "localhost 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 ", "+1.2.3.4 5.6.7.8 80 443\r\n", ANY, PROXY_E_ADDRESS);
	/* TCP6 */
	pp_bad_text("PROXY TCP6 1", ".2.3.4 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 :", "1:: ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ::", ": ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 1::2:", ":3 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 1234", "5:: ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 fe80::1", "%eth0 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ", "g::1 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ", "[::1] ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ::ffff:1.2.3.4", ":5 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ::ffff:1.2.3.", "a ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 1:2:3:4:5:6:7:8:9", ":0 ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	/* Only the whole field shows these. */
	pp_bad_text("PROXY TCP6 1:2", " ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 1:2:3:4:5:6:7:8:9", " ::1 80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP6 ::1 1::", "\r\n", ANY, PROXY_E_MALFORMED);
	pp_bad_text("PROXY TCP6 ::1 ::1:", " 80 443\r\n", ANY, PROXY_E_ADDRESS);
	/* Ports. */
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 ", "+80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 ", "-1 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80 6553", "6\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80 9999", "9\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 0", "80 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80 0", "0\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80", "a 443\r\n", ANY, PROXY_E_ADDRESS);
	pp_bad_text("PROXY TCP4 1.2.3.4 5.6.7.8 80 0", "x1bb\r\n", ANY, PROXY_E_ADDRESS);
}
END_TEST

START_TEST(test_v1_nul_byte)
{
	static const char line[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 80 443\r\n";

	pp_bad_at(line, sizeof(line) - 1, ANY, 18, PROXY_E_ADDRESS, "NUL in an address");
}
END_TEST

START_TEST(test_v1_too_long)
{
	char line[256];

	/* No CRLF in sight: refused at the 107th byte. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	pp_bad_at(line, sizeof(line), ANY, 106, PROXY_E_TOO_LONG, "UNKNOWN without CRLF");
	pp_bad_detail(line, sizeof(line), ANY, "longer than 107 bytes");
	/* A 108-byte line: its CR is the 107th byte. */
	line[106] = '\r';
	line[107] = '\n';
	pp_bad_at(line, 108, ANY, 106, PROXY_E_TOO_LONG, "108-byte UNKNOWN line");
	/* One byte shorter is the longest line allowed. */
	line[105] = '\r';
	line[106] = '\n';
	{
		struct proxy_info pi;

		pp_ok(line, 107, ANY, &pi);
		ck_assert_int_eq(pi.local, PROXY_LOCAL_CMD);
	}
	/* TCP6 with IPv4-in-IPv6 spelled out: valid addresses, too long a line. */
	snprintf(line, sizeof(line), "PROXY TCP6 %s %s 65535 65535\r\n",
	    "0000:0000:0000:0000:0000:ffff:255.255.255.255",
	    "0000:0000:0000:0000:0000:ffff:255.255.255.255");
	pp_bad_at(line, strlen(line), ANY, 106, PROXY_E_TOO_LONG, "long TCP6");
}
END_TEST

/* ------------------------------------------------------------------ v2 */

START_TEST(test_v2_inet)
{
	struct proxy_info pi;
	struct hdr h;
	char a[ADDR_STRLEN];

	h_simple(&h);
	ck_assert_uint_eq(h.n, 28);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.version, 2);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_int_eq(pi.transport, SOCK_STREAM);
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), "192.0.2.1:56324");
	ck_assert_str_eq(pp_addr(&pi.dst, pi.dstlen, a), "198.51.100.7:443");
	ck_assert_uint_eq(pi.srclen, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(pi.dstlen, sizeof(struct sockaddr_in));
	ck_assert_str_eq(pi.alpn, "");
	ck_assert_int_eq(pi.crc_present, 0);
	ck_assert_int_eq(pi.ssl_present, 0);
	pp_ok(h.b, h.n, PROXY_V2, &pi);

	h_v2(&h, 0x21, 0x12);                                    /* UDP */
	h_addrs(&h, AF_INET, "10.0.0.1", "10.0.0.2", 53, 5353);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.transport, SOCK_DGRAM);
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), "10.0.0.1:53");
}
END_TEST

START_TEST(test_v2_inet6)
{
	struct proxy_info pi;
	struct hdr h;
	char a[ADDR_STRLEN];

	h_v2(&h, 0x21, 0x21);
	h_addrs(&h, AF_INET6, "2001:db8::1", "2001:db8::2:1", 56324, 443);
	h_len(&h);
	ck_assert_uint_eq(h.n, 52);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.transport, SOCK_STREAM);
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), "[2001:db8::1]:56324");
	ck_assert_str_eq(pp_addr(&pi.dst, pi.dstlen, a), "[2001:db8::2:1]:443");
	ck_assert_uint_eq(pi.srclen, sizeof(struct sockaddr_in6));

	h_v2(&h, 0x21, 0x22);
	h_addrs(&h, AF_INET6, "::1", "::ffff:192.0.2.1", 1, 65535);
	h_len(&h);
	pp_ok(h.b, h.n, PROXY_V2, &pi);
	ck_assert_int_eq(pi.transport, SOCK_DGRAM);
	ck_assert_str_eq(pp_addr(&pi.dst, pi.dstlen, a), "[::ffff:192.0.2.1]:65535");
}
END_TEST

START_TEST(test_v2_unix)
{
	struct proxy_info pi;
	struct hdr h;
	char path[108], a[ADDR_STRLEN];

	memset(path, 0, sizeof(path));
	strcpy(path, "/run/haproxy/client\"\n.sock");
	h_v2(&h, 0x21, 0x31);
	h_put(&h, path, sizeof(path));
	h_put(&h, path, sizeof(path));
	h_len(&h);
	ck_assert_uint_eq(h.n, 16 + 216);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_int_eq(pi.src.ss_family, AF_UNIX);
	ck_assert_int_eq(pi.dst.ss_family, AF_UNIX);
	ck_assert_uint_eq(pi.srclen, offsetof(struct sockaddr_un, sun_path));
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), "unix");
	ck_assert_int_eq(pi.transport, SOCK_STREAM);

	h.b[13] = 0x32;
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.transport, SOCK_DGRAM);
}
END_TEST

START_TEST(test_v2_local)
{
	struct proxy_info pi;
	struct hdr h;
	size_t off;

	/* What HAProxy sends for a health check. */
	h_v2(&h, 0x20, 0x00);
	h_len(&h);
	ck_assert_uint_eq(h.n, 16);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.version, 2);
	ck_assert_int_eq(pi.local, PROXY_LOCAL_CMD);
	ck_assert_uint_eq(pi.srclen, 0);
	ck_assert_uint_eq(pi.dstlen, 0);
	ck_assert_int_eq(pi.transport, 0);

	/* LOCAL with addresses and a CRC: addresses ignored, TLVs read. */
	h_v2(&h, 0x20, 0x11);
	h_addrs(&h, AF_INET, "192.0.2.1", "198.51.100.7", 1, 2);
	off = h_crc_tlv(&h);
	h_crc(&h, off);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.local, PROXY_LOCAL_CMD);
	ck_assert_uint_eq(pi.srclen, 0);
	ck_assert_int_eq(pi.crc_present, 1);

	/* PROXY with family UNSPEC: the real peer is kept too. */
	h_v2(&h, 0x21, 0x00);
	h_tlv_str(&h, 0xe0, "custom");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.local, PROXY_LOCAL_UNSPEC);
	ck_assert_uint_eq(pi.srclen, 0);
}
END_TEST

START_TEST(test_v2_tlvs)
{
	static const uint8_t uid[] = { 0x4a, 0x2f, 0x00, 0xff, 0x10 };
	struct proxy_info pi;
	struct hdr h;
	size_t off;

	/* Each TLV alone. */
	h_v2(&h, 0x21, 0x11);
	h_addrs(&h, AF_INET, "192.0.2.1", "198.51.100.7", 56324, 443);
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_str_eq(pi.alpn, "h2");

	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "example.com");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_str_eq(pi.authority, "example.com");

	h.n = 28;
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, uid, sizeof(uid));
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_uint_eq(pi.unique_id_len, sizeof(uid));
	ck_assert_mem_eq(pi.unique_id, uid, sizeof(uid));

	/* NOOP: any length, any content, any number of times. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_NOOP, NULL, 0);
	h_tlv(&h, PROXY_TLV_NOOP, "\0\0\0\0\0", 5);
	h_tlv(&h, PROXY_TLV_NOOP, "\xff\x03\x00", 3);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);

	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_NETNS, "blue");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_str_eq(pi.netns, "blue");

	h.n = 28;
	h_ssl(&h, PROXY_SSL_CLIENT_SSL | PROXY_SSL_CLIENT_CERT_CONN | PROXY_SSL_CLIENT_CERT_SESS, 0);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.ssl_present, 1);
	ck_assert_uint_eq(pi.ssl_client, 7);
	ck_assert_uint_eq(pi.ssl_verify, 0);
	ck_assert_str_eq(pi.ssl_version, "TLSv1.3");
	ck_assert_str_eq(pi.ssl_cn, "client one");
	ck_assert_str_eq(pi.ssl_cipher, "TLS_AES_128_GCM_SHA256");
	ck_assert_str_eq(pi.ssl_sig_alg, "RSA-SHA256");
	ck_assert_str_eq(pi.ssl_key_alg, "RSA2048");

	/* SSL without sub-TLVs: a plain TCP client. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, "\0\0\0\0\x01", 5);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.ssl_present, 1);
	ck_assert_uint_eq(pi.ssl_client, 0);
	ck_assert_uint_eq(pi.ssl_verify, 1);
	ck_assert_str_eq(pi.ssl_version, "");

	/* Unknown types, custom, experimental and future ranges: skipped. */
	h.n = 28;
	h_tlv_str(&h, 0xe0, "custom value");
	h_tlv_str(&h, 0xe0, "twice is fine");
	h_tlv_str(&h, 0xef, "");
	h_tlv_str(&h, 0xf0, "experimental");
	h_tlv_str(&h, 0xff, "future");
	h_tlv_str(&h, 0x06, "unassigned");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);

	/* All of them, with a CRC over everything. */
	h.n = 28;
	off = h_crc_tlv(&h);
	h_tlv_str(&h, PROXY_TLV_ALPN, "http/1.1");
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "www.example.org");
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, uid, sizeof(uid));
	h_ssl(&h, PROXY_SSL_CLIENT_SSL, 0);
	h_tlv_str(&h, PROXY_TLV_NETNS, "red");
	h_tlv_str(&h, 0xe5, "x");
	h_tlv(&h, PROXY_TLV_NOOP, "\0\0", 2);
	h_crc(&h, off);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.crc_present, 1);
	ck_assert_str_eq(pi.alpn, "http/1.1");
	ck_assert_str_eq(pi.authority, "www.example.org");
	ck_assert_str_eq(pi.netns, "red");
	ck_assert_str_eq(pi.ssl_cn, "client one");
	ck_assert_uint_eq(pi.truncated, 0);
}
END_TEST

START_TEST(test_v2_crc)
{
	struct proxy_info pi;
	struct hdr h;
	size_t off, i;

	/* The CRC TLV last (HAProxy puts it first, as in test_v2_tlvs). */
	h_v2(&h, 0x21, 0x21);
	h_addrs(&h, AF_INET6, "2001:db8::1", "2001:db8::2", 1000, 2000);
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	off = h_crc_tlv(&h);
	h_crc(&h, off);
	ck_assert_uint_eq(off, 16 + 36 + 5 + 3);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.crc_present, 1);
	ck_assert_str_eq(pi.alpn, "h2");
	/*
	 * A flipped bit in an address, in the ALPN value or in the CRC value
	 * is caught by the CRC, once the last byte is in.
	 */
	for (i = 16; i < h.n; i++) {
		if ((i >= 52 && i < 55) || (i >= off - 3 && i < off))
			continue;       /* TLV headers: their own errors */
		h.b[i] ^= 0x01;
		pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_CRC, "flipped bit");
		h.b[i] ^= 0x01;
	}
}
END_TEST

START_TEST(test_v2_crc_wrong)
{
	struct proxy_info pi;
	struct hdr h;
	size_t off;

	h_simple(&h);
	h.n = 28;
	off = h_crc_tlv(&h);
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "example.com");
	h_crc(&h, off);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_int_eq(pi.crc_present, 1);

	h.b[off + 3] ^= 0x80;
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_CRC, "wrong CRC value");
	pp_bad_detail(h.b, h.n, ANY, "CRC32C does not match");
	h.b[off + 3] ^= 0x80;
	/* The CRC of the header with the field filled in, not zeroed. */
	{
		uint32_t crc = pp_crc_ref(h.b, h.n);

		h.b[off] = (uint8_t)(crc >> 24);
		h.b[off + 1] = (uint8_t)(crc >> 16);
		h.b[off + 2] = (uint8_t)(crc >> 8);
		h.b[off + 3] = (uint8_t)crc;
	}
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_CRC, "CRC not over a zeroed field");

	/* A CRC32C TLV must be 4 bytes, and only one. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_CRC32C, "\0\0\0", 3);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "3-byte CRC TLV");
	h.n = 28;
	h_tlv(&h, PROXY_TLV_CRC32C, "\0\0\0\0\0", 5);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "5-byte CRC TLV");
	h.n = 28;
	off = h_crc_tlv(&h);
	h_crc_tlv(&h);
	h_crc(&h, off);
	pp_bad_at(h.b, h.n, ANY, 37, PROXY_E_TLV, "two CRC TLVs");
}
END_TEST

START_TEST(test_v2_signature)
{
	struct hdr h;
	size_t i;

	for (i = 0; i < 12; i++) {
		h_simple(&h);
		h.b[i] ^= 0x80;
		pp_bad_at(h.b, h.n, ANY, i, PROXY_E_NOT_PROXY, "signature byte");
		pp_bad_at(h.b, h.n, PROXY_V2, i, PROXY_E_NOT_PROXY, "signature byte, v2 only");
		h.b[i] ^= 0x80;
		h.b[i] = i == 0 ? 0x0a : 0x0d;
		if (pp_sig[i] != h.b[i])
			pp_bad_at(h.b, h.n, ANY, i, PROXY_E_NOT_PROXY, "CR/LF swapped");
	}
}
END_TEST

START_TEST(test_v2_version_command)
{
	static const uint8_t versions[] = { 0x01, 0x11, 0x31, 0xf1, 0x00, 0x10 };
	struct hdr h;
	size_t i;
	unsigned cmd;

	for (i = 0; i < sizeof(versions); i++) {
		h_simple(&h);
		h.b[12] = versions[i];
		pp_bad_at(h.b, h.n, ANY, 12, PROXY_E_VERSION, "version nibble");
	}
	for (cmd = 2; cmd < 16; cmd++) {
		h_simple(&h);
		h.b[12] = (uint8_t)(0x20 | cmd);
		pp_bad_at(h.b, h.n, ANY, 12, PROXY_E_UNSUPPORTED, "command");
	}
	h_simple(&h);
	h.b[12] = 0x22;
	pp_bad_detail(h.b, h.n, ANY, "neither LOCAL nor PROXY");
}
END_TEST

START_TEST(test_v2_family)
{
	struct proxy_info pi;
	struct hdr h;
	unsigned fam;
	size_t need;

	for (fam = 0; fam < 256; fam++) {
		switch (fam) {
		case 0x00: need = 0; break;
		case 0x11: case 0x12: need = 12; break;
		case 0x21: case 0x22: need = 36; break;
		case 0x31: case 0x32: need = 216; break;
		default:
			h_simple(&h);
			h.b[13] = (uint8_t)fam;
			pp_bad_at(h.b, h.n, ANY, 13, PROXY_E_UNSUPPORTED, "family/transport");
			continue;
		}
		/* Exactly the address block: fine; one byte less: malformed. */
		h_v2(&h, 0x21, (uint8_t)fam);
		h_fill(&h, 0x01, need);
		h_len(&h);
		pp_ok(h.b, h.n, ANY, &pi);
		if (need == 0)
			continue;
		h.n--;
		h_len(&h);
		pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_MALFORMED, "address block too short");
		pp_bad_detail(h.b, h.n, ANY, "shorter than the address family needs");
		/* LOCAL too: the family says where the TLVs start. */
		h.b[12] = 0x20;
		pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_MALFORMED, "LOCAL, block too short");
	}
	h_simple(&h);
	h.b[13] = 0x41;
	pp_bad_detail(h.b, h.n, ANY, "family is not");
	h.b[13] = 0x13;
	pp_bad_detail(h.b, h.n, ANY, "transport is not");
	h.b[13] = 0x10;
	pp_bad_detail(h.b, h.n, ANY, "only one of them is UNSPEC");
}
END_TEST

START_TEST(test_v2_length_cap)
{
	struct proxy_info pi;
	struct hdr h;

	/* A header of exactly PROXY_MAX_HEADER bytes. */
	h_v2(&h, 0x21, 0x11);
	h_addrs(&h, AF_INET, "192.0.2.1", "198.51.100.7", 1, 2);
	h_u8(&h, PROXY_TLV_NOOP);
	h_u16(&h, PROXY_MAX_HEADER - 28 - 3);
	h_fill(&h, 0, PROXY_MAX_HEADER - 28 - 3);
	h_len(&h);
	ck_assert_uint_eq(h.n, PROXY_MAX_HEADER);
	pp_ok(h.b, h.n, ANY, &pi);

	/* One more byte: refused as soon as the length field is in. */
	h_u8(&h, 0);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_TOO_LONG, "cap + 1");
	pp_bad_detail(h.b, h.n, ANY, "longer than PROXY_MAX_HEADER");
	h.b[14] = h.b[15] = 0xff;
	pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_TOO_LONG, "65535");
}
END_TEST

START_TEST(test_v2_tlv_bounds)
{
	struct hdr h;
	struct hdr ssl;

	/* A TLV whose length runs past the header: known from its header. */
	h_simple(&h);
	h_u8(&h, PROXY_TLV_ALPN);
	h_u16(&h, 10);
	h_put(&h, "h2h2h", 5);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "ALPN past the end");
	pp_bad_detail(h.b, h.n, ANY, "TLV 0x01 (ALPN) runs past the header");
	h.b[28] = PROXY_TLV_SSL;
	pp_bad_detail(h.b, h.n, ANY, "TLV 0x20 (SSL) runs past the header");
	h.b[28] = 0xe3;
	pp_bad_detail(h.b, h.n, ANY, "TLV of an unknown type runs past the header");
	h.b[29] = 0xff;
	h.b[30] = 0xff;
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "65535-byte TLV");

	/* 1- and 2-byte TLV stubs: known from the header length alone. */
	h_simple(&h);
	h_u8(&h, PROXY_TLV_NOOP);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_TLV, "1-byte TLV stub");
	h_u8(&h, 0);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 15, PROXY_E_TLV, "2-byte TLV stub");
	pp_bad_detail(h.b, h.n, ANY, "TLV header runs past the header");
	/* ... and after a valid TLV, once that one is in. */
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_u8(&h, PROXY_TLV_NOOP);
	h_u8(&h, 0);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 32, PROXY_E_TLV, "stub after ALPN");

	/* SSL: shorter than client + verify. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, "\x01\0\0\0", 4);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "4-byte SSL TLV");
	/* A sub-TLV running past its SSL TLV, though not past the header. */
	ssl.n = 0;
	h_put(&ssl, "\x01\0\0\0\0", 5);
	h_u8(&ssl, PROXY_TLV_SSL_VERSION);
	h_u16(&ssl, 8);
	h_put(&ssl, "TLSv1.3", 7);
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	h_tlv(&h, PROXY_TLV_NOOP, "\0\0\0\0", 4);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 28 + 3 + ssl.n - 1, PROXY_E_TLV, "sub-TLV past SSL");
	pp_bad_detail(h.b, h.n, ANY, "sub-TLV runs past its SSL TLV");
	/* A 1- and 2-byte sub-TLV stub. */
	ssl.n = 5;
	h_u8(&ssl, PROXY_TLV_SSL_CN);
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_TLV, "1-byte sub-TLV stub");
	h_u8(&ssl, 0);
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_TLV, "2-byte sub-TLV stub");
	pp_bad_detail(h.b, h.n, ANY, "sub-TLV header runs past its SSL TLV");
	/* Two CN sub-TLVs. */
	ssl.n = 5;
	h_tlv_str(&ssl, PROXY_TLV_SSL_CN, "a");
	h_tlv_str(&ssl, PROXY_TLV_SSL_CN, "b");
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_TLV, "two CN sub-TLVs");
}
END_TEST

START_TEST(test_v2_tlv_values)
{
	struct proxy_info pi;
	struct hdr h;
	uint8_t big[300];

	memset(big, 'u', sizeof(big));
	/* UNIQUE_ID: 128 bytes is the most, refused from its length. */
	h_simple(&h);
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, big, 128);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_uint_eq(pi.unique_id_len, 128);
	h.n = 28;
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, big, 129);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 30, PROXY_E_TLV, "129-byte UNIQUE_ID");
	pp_bad_detail(h.b, h.n, ANY, "longer than 128 bytes");
	h.n = 28;
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, big, 0);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_uint_eq(pi.unique_id_len, 0);

	/* Known types at most once. */
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_tlv_str(&h, PROXY_TLV_ALPN, "http/1.1");
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, 35, PROXY_E_TLV, "two ALPN TLVs");
	pp_bad_detail(h.b, h.n, ANY, "appears twice");

	/* A NUL inside a string: refused once the value is in. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_AUTHORITY, "good.example\0.evil", 18);
	h_len(&h);
	pp_bad_at(h.b, h.n, ANY, h.n - 1, PROXY_E_TLV, "NUL in authority");
	pp_bad_detail(h.b, h.n, ANY, "NUL byte");

	/* Longer than the field: cut and flagged. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_ALPN, big, 100);
	h_tlv(&h, PROXY_TLV_NETNS, big, 64);
	h_tlv(&h, PROXY_TLV_AUTHORITY, big, 255);
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_uint_eq(strlen(pi.alpn), sizeof(pi.alpn) - 1);
	ck_assert_uint_eq(strlen(pi.netns), sizeof(pi.netns) - 1);
	ck_assert_uint_eq(strlen(pi.authority), 255);
	ck_assert_uint_eq(pi.truncated, PROXY_TRUNC_ALPN | PROXY_TRUNC_NETNS);
	/* Control bytes are kept as sent (proxy_describe escapes them). */
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "a b\r\n\"c\"\x7f\xc3\xa9");
	h_len(&h);
	pp_ok(h.b, h.n, ANY, &pi);
	ck_assert_str_eq(pi.authority, "a b\r\n\"c\"\x7f\xc3\xa9");
}
END_TEST

/*
 * The largest header HAProxy builds with every proxy-v2-option, at the
 * sizes the PROXY_MAX_HEADER comment adds up: 1442 bytes.
 */
START_TEST(test_v2_haproxy_largest)
{
	struct proxy_info pi;
	struct hdr h, ssl;
	uint8_t fill[256];
	size_t off;

	memset(fill, 'a', sizeof(fill));
	h_v2(&h, 0x21, 0x21);
	h_addrs(&h, AF_INET6, "2001:db8::1", "2001:db8::2", 65535, 443);
	off = h_crc_tlv(&h);
	h_tlv(&h, PROXY_TLV_ALPN, fill, 255);
	h_tlv(&h, PROXY_TLV_AUTHORITY, fill, 255);
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, fill, 128);
	ssl.n = 0;
	h_put(&ssl, "\x07\0\0\0\0", 5);
	h_tlv_str(&ssl, PROXY_TLV_SSL_VERSION, "TLSv1.3");
	h_tlv(&ssl, PROXY_TLV_SSL_CN, fill, 256);
	h_tlv(&ssl, PROXY_TLV_SSL_CIPHER, fill, 64);
	h_tlv(&ssl, PROXY_TLV_SSL_SIG_ALG, fill, 64);
	h_tlv(&ssl, PROXY_TLV_SSL_KEY_ALG, fill, 64);
	h_tlv(&h, PROXY_TLV_SSL, ssl.b, ssl.n);
	h_tlv(&h, PROXY_TLV_NETNS, fill, 255);
	h_crc(&h, off);
	ck_assert_uint_eq(h.n, 1442);
	ck_assert_uint_lt(h.n, PROXY_MAX_HEADER);
	pp_ok(h.b, h.n, PROXY_V2, &pi);
	ck_assert_int_eq(pi.crc_present, 1);
	ck_assert_uint_eq(pi.truncated, PROXY_TRUNC_ALPN | PROXY_TRUNC_SSL_CN |
	    PROXY_TRUNC_SSL_CIPHER | PROXY_TRUNC_SSL_SIG_ALG | PROXY_TRUNC_SSL_KEY_ALG |
	    PROXY_TRUNC_NETNS);
	ck_assert_uint_eq(strlen(pi.authority), 255);
	ck_assert_uint_eq(strlen(pi.ssl_cn), 255);
}
END_TEST

/* Hex text to bytes. */
static size_t
pp_unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		ck_assert_uint_lt(n, size);
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/*
 * Headers captured from HAProxy 2.6.12 by tests/integration/proxy_haproxy.sh:
 * send-proxy-v2 with proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,
 * cert-key,authority,crc32c,unique-id behind a TLS frontend, and a health
 * check with crc32c.
 */
START_TEST(test_v2_haproxy_capture)
{
	static const char full[] =
	    "0d0a0d0a000d0a515549540a211100927f0000017f000001a218d0ed03000437b83056"
	    "010002683202000a6563686f642e7465737405000f3132372e302e302e313a34313439"
	    "362000580700000000210007544c5376312e332200116563686f642d746573742d636c"
	    "69656e74250005454332353624001165636473612d776974682d534841323536230016"
	    "544c535f4145535f3235365f47434d5f534841333834";
	static const char check[] = "0d0a0d0a000d0a515549540a20000007030004a9b87e8f";
	struct proxy_info pi;
	uint8_t b[512];
	char a[ADDR_STRLEN], d[PROXY_DESCRIBE_MAX];
	size_t n;

	n = pp_unhex(full, b, sizeof(b));
	ck_assert_uint_eq(n, 162);
	pp_ok(b, n, PROXY_V2, &pi);
	ck_assert_str_eq(pp_addr(&pi.src, pi.srclen, a), "127.0.0.1:41496");
	ck_assert_str_eq(pp_addr(&pi.dst, pi.dstlen, a), "127.0.0.1:53485");
	ck_assert_int_eq(pi.crc_present, 1);
	ck_assert_uint_eq(pi.ssl_client, PROXY_SSL_CLIENT_SSL | PROXY_SSL_CLIENT_CERT_CONN |
	    PROXY_SSL_CLIENT_CERT_SESS);
	proxy_describe(&pi, d, sizeof(d));
	ck_assert_str_eq(d, "v2 src=127.0.0.1:41496 dst=127.0.0.1:53485 alpn=h2 "
	    "authority=echod.test unique_id=3132372e302e302e313a3431343936 ssl=TLSv1.3 "
	    "ssl_cert=conn ssl_verify=0 ssl_cn=echod-test-client ssl_cipher=TLS_AES_256_GCM_SHA384 "
	    "ssl_sig_alg=ecdsa-with-SHA256 ssl_key_alg=EC256 crc32c=ok");
	/* The client's port, changed on the way: the CRC catches it. */
	b[24] ^= 0x01;
	pp_bad_at(b, n, PROXY_V2, n - 1, PROXY_E_CRC, "captured header, altered port");

	n = pp_unhex(check, b, sizeof(b));
	pp_ok(b, n, ANY, &pi);
	ck_assert_int_eq(pi.local, PROXY_LOCAL_CMD);
	ck_assert_int_eq(pi.crc_present, 1);
	proxy_describe(&pi, d, sizeof(d));
	ck_assert_str_eq(d, "v2 local crc32c=ok");
}
END_TEST

/* ------------------------------------------------------------------ versions */

START_TEST(test_allow)
{
	static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 80 443\r\n";
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail;
	struct hdr h;

	h_simple(&h);
	/* Each version on a listener that takes only the other: first byte. */
	pp_bad_at(h.b, h.n, PROXY_V1, 0, PROXY_E_VERSION, "v2 on v1-only");
	pp_bad_detail(h.b, h.n, PROXY_V1, "accepts only v1");
	pp_bad_at(v1, strlen(v1), PROXY_V2, 0, PROXY_E_VERSION, "v1 on v2-only");
	pp_bad_detail(v1, strlen(v1), PROXY_V2, "accepts only v2");
	pp_bad_at(v1, strlen(v1), 0, 0, PROXY_E_VERSION, "nothing allowed");
	pp_ok(v1, strlen(v1), PROXY_V1, &pi);
	pp_ok(h.b, h.n, PROXY_V2, &pi);

	/* With more bytes in the first read, what they are is named exactly. */
	ck_assert_int_eq(proxy_parse("POST / HTTP/1.1\r\n", 17, PROXY_V2, &pi, &err, &detail), -1);
	ck_assert_int_eq(err, PROXY_E_NOT_PROXY);
	ck_assert_int_eq(proxy_parse("\r\n\r\nGET", 7, PROXY_V1, &pi, &err, &detail), -1);
	ck_assert_int_eq(err, PROXY_E_NOT_PROXY);
	ck_assert_int_eq(proxy_parse("PROXY", 5, PROXY_V2, &pi, &err, &detail), -1);
	ck_assert_int_eq(err, PROXY_E_VERSION);
	/* TLS and SSH are not mistaken for anything. */
	pp_bad_at("\x16\x03\x01\x02\x00\x01", 6, ANY, 0, PROXY_E_NOT_PROXY, "TLS ClientHello");
	pp_bad_at("SSH-2.0-OpenSSH", 15, ANY, 0, PROXY_E_NOT_PROXY, "SSH banner");
	/* err and detail are optional; nothing is needed from an empty buffer. */
	ck_assert_int_eq(proxy_parse("X", 1, ANY, &pi, NULL, NULL), -1);
	ck_assert_int_eq(proxy_parse("", 0, ANY, &pi, &err, &detail), 0);
	ck_assert_int_eq(err, PROXY_E_NONE);
}
END_TEST

START_TEST(test_err_names)
{
	static const char *want[PROXY_E_COUNT] = {
		"none", "not-proxy", "version", "malformed", "too-long", "bad-address", "crc",
		"bad-tlv", "unsupported",
	};
	int e;

	for (e = 0; e < PROXY_E_COUNT; e++)
		ck_assert_str_eq(proxy_err_name((enum proxy_err)e), want[e]);
	ck_assert_str_eq(proxy_err_name(PROXY_E_COUNT), "unknown");
	ck_assert_str_eq(proxy_err_name((enum proxy_err)-1), "unknown");
}
END_TEST

/* ------------------------------------------------------------------ robustness */

/*
 * Every prefix of buf: need-more until some length, then one result for
 * good: -1 from the first failing prefix on, or the header length once it
 * is complete, never beyond the buffer.
 */
static void
pp_prefixes_consistent(const uint8_t *buf, size_t len, unsigned allow)
{
	struct proxy_info pi;
	enum proxy_err err;
	const char *detail;
	size_t i;
	int r, first = 0;

	for (i = 0; i <= len; i++) {
		r = proxy_parse(buf, i, allow, &pi, &err, &detail);
		if (r == -1) {
			ck_assert(err > PROXY_E_NONE && err < PROXY_E_COUNT);
			ck_assert_ptr_nonnull(detail);
		}
		if (first == 0)
			first = r;
		else if (first > 0)
			ck_assert_int_eq(r, first);
		else
			ck_assert_int_eq(r, -1);
		ck_assert(r <= (int)i);
		ck_assert(r < (int)PROXY_MAX_HEADER + 1);
	}
}

START_TEST(test_mutations)
{
	static const uint8_t values[] = { 0x00, 0x01, 0x03, 0x0a, 0x0d, 0x20, 0x2e, 0x30, 0x3a,
	    0x7f, 0x80, 0xff };
	static const char *lines[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 65535\r\n",
		"PROXY UNKNOWN\r\n",
	};
	struct hdr h, m;
	size_t i, j, k, off;

	for (k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		for (i = 0; i < strlen(lines[k]); i++) {
			for (j = 0; j < sizeof(values); j++) {
				memcpy(m.b, lines[k], strlen(lines[k]));
				m.b[i] = values[j];
				pp_prefixes_consistent(m.b, strlen(lines[k]), ANY);
			}
		}
	}
	h_simple(&h);
	h.n = 28;
	off = h_crc_tlv(&h);
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_tlv(&h, PROXY_TLV_SSL, "\x01\0\0\0\0\x21\0\x01x", 9);
	h_tlv_str(&h, PROXY_TLV_UNIQUE_ID, "id");
	h_crc(&h, off);
	for (i = 0; i < h.n; i++) {
		for (j = 0; j < sizeof(values); j++) {
			m = h;
			m.b[i] = values[j];
			pp_prefixes_consistent(m.b, m.n, ANY);
			pp_prefixes_consistent(m.b, m.n, PROXY_V2);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ describe */

static void
pp_describe_eq(const void *buf, size_t len, const char *want)
{
	struct proxy_info pi;
	char out[PROXY_DESCRIBE_MAX];
	size_t n;

	ck_assert_int_eq(proxy_parse(buf, len, ANY, &pi, NULL, NULL), (int)len);
	n = proxy_describe(&pi, out, sizeof(out));
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(test_describe)
{
	static const char v1[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	static const char v1u[] = "PROXY UNKNOWN\r\n";
	static const uint8_t uid[] = { 0x4a, 0x2f, 0x00, 0xff };
	struct hdr h;
	size_t off;

	pp_describe_eq(v1, strlen(v1), "v1 src=192.168.0.1:56324 dst=192.168.0.11:443");
	pp_describe_eq(v1u, strlen(v1u), "v1 unknown");
	h_v2(&h, 0x20, 0x00);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 local");
	h_v2(&h, 0x21, 0x00);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 unspec");
	h_v2(&h, 0x21, 0x32);
	h_fill(&h, 0, 216);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 dgram src=unix dst=unix");
	h_v2(&h, 0x21, 0x21);
	h_addrs(&h, AF_INET6, "2001:db8::1", "2001:db8::2", 1000, 443);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=[2001:db8::1]:1000 dst=[2001:db8::2]:443");

	h_simple(&h);
	h.n = 28;
	off = h_crc_tlv(&h);
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "example.com");
	h_tlv(&h, PROXY_TLV_UNIQUE_ID, uid, sizeof(uid));
	h_ssl(&h, PROXY_SSL_CLIENT_SSL | PROXY_SSL_CLIENT_CERT_CONN | PROXY_SSL_CLIENT_CERT_SESS,
	    0);
	h_tlv_str(&h, PROXY_TLV_NETNS, "blue");
	h_crc(&h, off);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 alpn=h2 "
	    "authority=example.com unique_id=4a2f00ff ssl=TLSv1.3 ssl_cert=conn ssl_verify=0 "
	    "ssl_cn=\"client one\" ssl_cipher=TLS_AES_128_GCM_SHA256 ssl_sig_alg=RSA-SHA256 "
	    "ssl_key_alg=RSA2048 netns=blue crc32c=ok");

	/* SSL TLV without sub-TLVs; a session certificate that failed. */
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, "\x05\0\0\0\x15", 5);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 ssl=yes "
	    "ssl_cert=sess ssl_verify=21");
	h.n = 28;
	h_tlv(&h, PROXY_TLV_SSL, "\0\0\0\0\0", 5);
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 ssl=no");
}
END_TEST

START_TEST(test_describe_escaping)
{
	struct hdr h;
	char big[100], want[256];

	h_simple(&h);
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "a b");
	h_tlv_str(&h, PROXY_TLV_ALPN, "say \"hi\"\\");
	h_tlv_str(&h, PROXY_TLV_NETNS, "\x01\t\r\n\x1b[31m\x7f\xc3\xa9");
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 "
	    "alpn=\"say \\\"hi\\\"\\\\\" authority=\"a b\" "
	    "netns=\"\\x01\\x09\\x0d\\x0a\\x1b[31m\\x7f\\xc3\\xa9\"");

	/* A quote or a backslash alone is enough to quote the value. */
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "x\"y");
	h_tlv_str(&h, PROXY_TLV_ALPN, "p\\q");
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 "
	    "alpn=\"p\\\\q\" authority=\"x\\\"y\"");

	/* A log line cannot be split or forged through a value. */
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "x\nconn=1 reason=forged");
	h_len(&h);
	pp_describe_eq(h.b, h.n, "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 "
	    "authority=\"x\\x0aconn=1 reason=forged\"");

	/* '=' and other printable ASCII stay as they are; truncation is said. */
	memset(big, 'z', sizeof(big));
	h.n = 28;
	h_tlv_str(&h, PROXY_TLV_SSL_VERSION, "ignored: not inside SSL");
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "k=v,w;[x]{y}~");
	h_tlv(&h, PROXY_TLV_ALPN, big, sizeof(big));
	h_len(&h);
	snprintf(want, sizeof(want), "v2 src=192.0.2.1:56324 dst=198.51.100.7:443 alpn=%.63s "
	    "authority=k=v,w;[x]{y}~ truncated=alpn", big);
	pp_describe_eq(h.b, h.n, want);
}
END_TEST

/* Every buffer size: whole items only, then " ..." if it fits. */
START_TEST(test_describe_truncation)
{
	struct proxy_info pi;
	struct hdr h;
	char full[PROXY_DESCRIBE_MAX], out[PROXY_DESCRIBE_MAX];
	size_t n, size, len, keep;

	h_simple(&h);
	h_tlv_str(&h, PROXY_TLV_ALPN, "h2");
	h_tlv_str(&h, PROXY_TLV_AUTHORITY, "quoted \"value\"");
	h_tlv_str(&h, PROXY_TLV_NETNS, "\x01\x02");
	h_len(&h);
	ck_assert_int_eq(proxy_parse(h.b, h.n, ANY, &pi, NULL, NULL), (int)h.n);
	n = proxy_describe(&pi, full, sizeof(full));
	ck_assert_uint_eq(n, strlen(full));

	ck_assert_uint_eq(proxy_describe(&pi, NULL, 0), n);
	for (size = 1; size <= n + 1; size++) {
		memset(out, 'Z', sizeof(out));
		ck_assert_uint_eq(proxy_describe(&pi, out, size), n);
		len = strlen(out);
		ck_assert_uint_lt(len, size);
		ck_assert_msg(out[size] == 'Z', "wrote past %zu bytes", size);
		if (size > n) {
			ck_assert_str_eq(out, full);
			continue;
		}
		keep = len;
		if (len >= 4 && strcmp(out + len - 4, " ...") == 0)
			keep = len - 4;
		else
			ck_assert_msg(size - keep <= 4, "size %zu: '%s' has no ' ...' marker", size, out);
		ck_assert_msg(strncmp(out, full, keep) == 0, "size %zu: '%s' not a prefix", size, out);
		ck_assert_msg(keep == 0 || full[keep] == ' ', "size %zu: '%s' cuts an item",
		    size, out);
	}
}
END_TEST

/* The longest description of any header fits PROXY_DESCRIBE_MAX. */
START_TEST(test_describe_max)
{
	struct proxy_info pi;
	char out[PROXY_DESCRIBE_MAX + 64];
	struct sockaddr_in6 *s6;
	size_t n;

	memset(&pi, 0, sizeof(pi));
	pi.version = 2;
	pi.local = 0;
	pi.transport = SOCK_DGRAM;
	s6 = (struct sockaddr_in6 *)&pi.src;
	s6->sin6_family = AF_INET6;
	memset(&s6->sin6_addr, 0xff, 16);
	s6->sin6_port = 0xffff;
	pi.dst = pi.src;
	pi.srclen = pi.dstlen = sizeof(*s6);
#define FILL(f) do { memset(f, 0x01, sizeof(f) - 1); f[sizeof(f) - 1] = '\0'; } while (0)
	FILL(pi.alpn);
	FILL(pi.authority);
	FILL(pi.ssl_version);
	FILL(pi.ssl_cn);
	FILL(pi.ssl_cipher);
	FILL(pi.ssl_sig_alg);
	FILL(pi.ssl_key_alg);
	FILL(pi.netns);
#undef FILL
	memset(pi.unique_id, 0xff, sizeof(pi.unique_id));
	pi.unique_id_len = sizeof(pi.unique_id);
	pi.crc_present = 1;
	pi.ssl_present = 1;
	pi.ssl_client = 0xff;
	pi.ssl_verify = 0xffffffff;
	pi.truncated = 0xff;
	n = proxy_describe(&pi, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_uint_lt(n, PROXY_DESCRIBE_MAX);
	ck_assert_ptr_nonnull(strstr(out, " truncated=alpn,authority,ssl_version,ssl_cn,"
	    "ssl_cipher,ssl_sig_alg,ssl_key_alg,netns"));
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("parse");
	TCase *tr = tcase_create("robustness");
	TCase *td = tcase_create("describe");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_crc32c);
	tcase_add_test(tc, test_v1_spec_examples);
	tcase_add_test(tc, test_v1_more);
	tcase_add_test(tc, test_v1_malformed);
	tcase_add_test(tc, test_v1_bad_address);
	tcase_add_test(tc, test_v1_nul_byte);
	tcase_add_test(tc, test_v1_too_long);
	tcase_add_test(tc, test_v2_inet);
	tcase_add_test(tc, test_v2_inet6);
	tcase_add_test(tc, test_v2_unix);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_v2_crc);
	tcase_add_test(tc, test_v2_crc_wrong);
	tcase_add_test(tc, test_v2_signature);
	tcase_add_test(tc, test_v2_version_command);
	tcase_add_test(tc, test_v2_family);
	tcase_add_test(tc, test_v2_length_cap);
	tcase_add_test(tc, test_v2_tlv_bounds);
	tcase_add_test(tc, test_v2_tlv_values);
	tcase_add_test(tc, test_v2_haproxy_largest);
	tcase_add_test(tc, test_v2_haproxy_capture);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_err_names);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, test_mutations);
	suite_add_tcase(s, tr);

	tcase_set_timeout(td, 30);
	tcase_add_test(td, test_describe);
	tcase_add_test(td, test_describe_escaping);
	tcase_add_test(td, test_describe_truncation);
	tcase_add_test(td, test_describe_max);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	return unit_main(proxy_suite());
}
