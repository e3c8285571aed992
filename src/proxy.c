/*
 * proxy.c: PROXY protocol v1/v2 header parser, its description for logs, and
 * CRC32C. Pure functions over the caller's bytes; no I/O, no allocation, no
 * logging, no globals but constant tables; any thread.
 *
 * Every call parses from the first byte, so a header that arrives in pieces
 * is simply parsed again with more bytes. Each step either completes, asks
 * for more (only when what it has seen so far can still be the start of a
 * valid header), or fails at the first byte that rules the header out.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "proxy.h"

/* Step results. */
#define PROXY_FAIL -1
#define PROXY_MORE 0
#define PROXY_OK   1

#define PROXY_V1_SIG     "PROXY"
#define PROXY_V1_SIG_LEN 5
static const uint8_t proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define PROXY_V2_SIG_LEN sizeof(proxy_v2_sig)

#define PROXY_TLV_HDR 3      /* type, length (2 bytes, network order) */
#define PROXY_SSL_HDR 5      /* client (1 byte), verify (4 bytes) */
#define PROXY_UNIX_PATH 108  /* a v2 AF_UNIX address, whatever the host's sun_path */

/* Bits for known TLVs already seen: each may appear once. */
#define PROXY_SEEN_ALPN        0x001
#define PROXY_SEEN_AUTHORITY   0x002
#define PROXY_SEEN_CRC32C      0x004
#define PROXY_SEEN_UNIQUE_ID   0x008
#define PROXY_SEEN_SSL         0x010
#define PROXY_SEEN_NETNS       0x020
#define PROXY_SEEN_SSL_VERSION 0x040
#define PROXY_SEEN_SSL_CN      0x080
#define PROXY_SEEN_SSL_CIPHER  0x100
#define PROXY_SEEN_SSL_SIG_ALG 0x200
#define PROXY_SEEN_SSL_KEY_ALG 0x400

struct proxy_ctx {
	const uint8_t      *buf;
	size_t              len;      /* bytes available */
	size_t              off;      /* next byte to look at */
	struct proxy_info  *out;
	enum proxy_err      err;
	const char         *detail;
	unsigned            seen;     /* PROXY_SEEN_* */
	size_t              crc_off;  /* v2: offset of the CRC32C value, 0 if none */
};

static const char *proxy_err_names[PROXY_E_COUNT] = {
	[PROXY_E_NONE] = "none",
	[PROXY_E_NOT_PROXY] = "not-proxy",
	[PROXY_E_VERSION] = "version",
	[PROXY_E_MALFORMED] = "malformed",
	[PROXY_E_TOO_LONG] = "too-long",
	[PROXY_E_ADDRESS] = "bad-address",
	[PROXY_E_CRC] = "crc",
	[PROXY_E_TLV] = "bad-tlv",
	[PROXY_E_UNSUPPORTED] = "unsupported",
};

const char *
proxy_err_name(enum proxy_err e)
{
	if ((unsigned)e >= PROXY_E_COUNT)
		return "unknown";
	return proxy_err_names[e];
}

static int
proxy_fail(struct proxy_ctx *c, enum proxy_err e, const char *detail)
{
	c->err = e;
	c->detail = detail;
	return PROXY_FAIL;
}

/* ------------------------------------------------------------------ CRC32C */

/*
 * CRC32C, reflected polynomial 0x82F63B78, four bits at a time: a 16-entry
 * table is easy to check against the polynomial, and at under 10 ns a byte
 * a typical 160-byte HAProxy header costs 1-2 us, once per connection
 * (bench/proxy_parse).
 */
static const uint32_t proxy_crc32c_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
	0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
	0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75
};

uint32_t
proxy_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		crc = (crc >> 4) ^ proxy_crc32c_nibble[crc & 0x0f];
		crc = (crc >> 4) ^ proxy_crc32c_nibble[crc & 0x0f];
	}
	return ~crc;
}

/* ------------------------------------------------------------------ v1 */

static int
proxy_v1_is_delim(uint8_t ch)
{
	return ch == ' ' || ch == '\r' || ch == '\n';
}

/* At the start of a field: it must not be empty. */
static int
proxy_v1_field_start(struct proxy_ctx *c)
{
	if (c->off == c->len)
		return PROXY_MORE;
	switch (c->buf[c->off]) {
	case ' ':
		return proxy_fail(c, PROXY_E_MALFORMED, "more than one space between v1 fields");
	case '\r':
		return proxy_fail(c, PROXY_E_MALFORMED, "v1 line ends before its last field");
	case '\n':
		return proxy_fail(c, PROXY_E_MALFORMED, "v1 line ends with LF alone (CRLF expected)");
	}
	return PROXY_OK;
}

/* After a field: exactly one space, or CRLF after the last field. */
static int
proxy_v1_field_end(struct proxy_ctx *c, int last)
{
	uint8_t ch;

	if (c->off == c->len)
		return PROXY_MORE;
	ch = c->buf[c->off];
	if (ch == '\n')
		return proxy_fail(c, PROXY_E_MALFORMED, "v1 line ends with LF alone (CRLF expected)");
	if (!last) {
		if (ch != ' ')
			return proxy_fail(c, PROXY_E_MALFORMED, "v1 line ends before its last field");
		c->off++;
		return PROXY_OK;
	}
	if (ch != '\r')
		return proxy_fail(c, PROXY_E_MALFORMED, "space after the last v1 field (CRLF expected)");
	if (c->off + 1 == c->len)
		return PROXY_MORE;
	if (c->buf[c->off + 1] != '\n')
		return proxy_fail(c, PROXY_E_MALFORMED, "v1 line has a CR not followed by LF");
	c->off += 2;
	return PROXY_OK;
}

/* Dotted quad: exactly 4 decimal octets 0..255 without leading zeros. */
static int
proxy_v1_ipv4(struct proxy_ctx *c, struct in_addr *ia)
{
	uint32_t a = 0;
	unsigned oct = 0, ndig = 0, nparts = 0;
	uint8_t ch;

	for (; c->off < c->len; c->off++) {
		ch = c->buf[c->off];
		if (ch >= '0' && ch <= '9') {
			if (ndig > 0 && oct == 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "leading zero in a v1 IPv4 octet");
			oct = oct * 10 + (unsigned)(ch - '0');
			if (oct > 255)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv4 octet above 255");
			ndig++;
		} else if (ch == '.') {
			if (ndig == 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "empty octet in a v1 IPv4 address");
			if (nparts == 3)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv4 address with more than 4 octets");
			a = (a << 8) | oct;
			nparts++;
			oct = ndig = 0;
		} else if (proxy_v1_is_delim(ch)) {
			if (nparts != 3 || ndig == 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv4 address with fewer than 4 octets");
			ia->s_addr = htonl((a << 8) | oct);
			return PROXY_OK;
		} else
			return proxy_fail(c, PROXY_E_ADDRESS, "character not allowed in a v1 IPv4 address");
	}
	return PROXY_MORE;
}

/*
 * IPv6 text: checks each byte against what can still become an address (hex
 * groups of at most 4 digits, one "::", at most 8 colons, a dotted IPv4 tail
 * only after a colon), then inet_pton() on the whole field decides.
 */
static int
proxy_v1_ipv6(struct proxy_ctx *c, struct in6_addr *ia6)
{
	char text[INET6_ADDRSTRLEN];
	size_t n = 0;
	unsigned group = 0, colons = 0, dcolon = 0, dots = 0;
	uint8_t ch, prev = 0;

	for (; c->off < c->len; c->off++, prev = ch) {
		ch = c->buf[c->off];
		if (proxy_v1_is_delim(ch)) {
			text[n] = '\0';
			if (inet_pton(AF_INET6, text, ia6) != 1)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv6 address does not parse");
			return PROXY_OK;
		}
		if (n == sizeof(text) - 1)
			return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv6 address longer than 45 characters");
		if (n == 1 && text[0] == ':' && ch != ':')
			return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv6 address starts with a single colon");
		if (ch == ':') {
			if (dots > 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "colon after the IPv4 part of a v1 IPv6 address");
			if (prev == ':' && dcolon++ > 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "more than one '::' in a v1 IPv6 address");
			if (++colons > 8)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv6 address with more than 8 colons");
			group = 0;
		} else if (ch == '.') {
			if (colons == 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "IPv4 address where v1 TCP6 needs IPv6");
			dots++;
			group = 0;
		} else if ((ch >= '0' && ch <= '9') || (dots == 0 &&
		    ((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))) {
			if (++group > 4)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 IPv6 group longer than 4 digits");
		} else
			return proxy_fail(c, PROXY_E_ADDRESS, "character not allowed in a v1 IPv6 address");
		text[n++] = (char)ch;
	}
	return PROXY_MORE;
}

/* Decimal port 0..65535, no sign, no leading zero. */
static int
proxy_v1_port(struct proxy_ctx *c, in_port_t *port)
{
	unsigned v = 0, ndig = 0;
	uint8_t ch;

	for (; c->off < c->len; c->off++) {
		ch = c->buf[c->off];
		if (ch >= '0' && ch <= '9') {
			if (ndig > 0 && v == 0)
				return proxy_fail(c, PROXY_E_ADDRESS, "leading zero in a v1 port");
			v = v * 10 + (unsigned)(ch - '0');
			if (v > 65535)
				return proxy_fail(c, PROXY_E_ADDRESS, "v1 port above 65535");
			ndig++;
		} else if (proxy_v1_is_delim(ch)) {
			*port = htons((in_port_t)v);
			return PROXY_OK;
		} else
			return proxy_fail(c, PROXY_E_ADDRESS, "character not allowed in a v1 port");
	}
	return PROXY_MORE;
}

/* One address field of the line's family into ss. */
static int
proxy_v1_addr(struct proxy_ctx *c, int family, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	int r;

	if ((r = proxy_v1_field_start(c)) != PROXY_OK)
		return r;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		*sslen = sizeof(*sin);
		return proxy_v1_ipv4(c, &sin->sin_addr);
	}
	sin6->sin6_family = AF_INET6;
	*sslen = sizeof(*sin6);
	return proxy_v1_ipv6(c, &sin6->sin6_addr);
}

static in_port_t *
proxy_port_of(struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return &((struct sockaddr_in *)ss)->sin_port;
	return &((struct sockaddr_in6 *)ss)->sin6_port;
}

/* "<src> <dst> <sport> <dport>\r\n" after "PROXY TCP4 " or "PROXY TCP6 ". */
static int
proxy_v1_inet(struct proxy_ctx *c, int family)
{
	struct proxy_info *pi = c->out;
	int r;

	if ((r = proxy_v1_addr(c, family, &pi->src, &pi->srclen)) != PROXY_OK ||
	    (r = proxy_v1_field_end(c, 0)) != PROXY_OK ||
	    (r = proxy_v1_addr(c, family, &pi->dst, &pi->dstlen)) != PROXY_OK ||
	    (r = proxy_v1_field_end(c, 0)) != PROXY_OK)
		return r;
	if ((r = proxy_v1_field_start(c)) != PROXY_OK ||
	    (r = proxy_v1_port(c, proxy_port_of(&pi->src))) != PROXY_OK ||
	    (r = proxy_v1_field_end(c, 0)) != PROXY_OK)
		return r;
	if ((r = proxy_v1_field_start(c)) != PROXY_OK ||
	    (r = proxy_v1_port(c, proxy_port_of(&pi->dst))) != PROXY_OK)
		return r;
	pi->transport = SOCK_STREAM;
	return proxy_v1_field_end(c, 1);
}

/* After "PROXY UNKNOWN": CRLF, or a space and anything up to CRLF. */
static int
proxy_v1_unknown(struct proxy_ctx *c)
{
	c->out->local = PROXY_LOCAL_CMD;
	if (c->off == c->len)
		return PROXY_MORE;
	if (c->buf[c->off] == ' ') {
		for (c->off++; c->off < c->len; c->off++) {
			if (c->buf[c->off] == '\r' || c->buf[c->off] == '\n')
				break;
		}
	}
	return proxy_v1_field_end(c, 1);
}

/* The protocol keyword, matched byte by byte against the three allowed. */
static int
proxy_v1_family(struct proxy_ctx *c, int *family)
{
	static const struct {
		const char *word;
		int         family;
	} kw[] = { { "TCP4", AF_INET }, { "TCP6", AF_INET6 }, { "UNKNOWN", AF_UNSPEC } };
	size_t start = c->off, n, i;
	int prefix, r;

	if ((r = proxy_v1_field_start(c)) != PROXY_OK)
		return r;
	for (; c->off < c->len && !proxy_v1_is_delim(c->buf[c->off]); c->off++) {
		n = c->off - start + 1;
		for (prefix = 0, i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
			if (n <= strlen(kw[i].word) && memcmp(c->buf + start, kw[i].word, n) == 0)
				prefix = 1;
		if (!prefix)
			return proxy_fail(c, PROXY_E_UNSUPPORTED, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
	}
	if (c->off == c->len)
		return PROXY_MORE;
	n = c->off - start;
	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		if (n == strlen(kw[i].word) && memcmp(c->buf + start, kw[i].word, n) == 0) {
			*family = kw[i].family;
			return PROXY_OK;
		}
	}
	return proxy_fail(c, PROXY_E_UNSUPPORTED, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
}

/* A v1 line; c->off is past "PROXY". */
static int
proxy_v1(struct proxy_ctx *c)
{
	int family, r;

	c->out->version = 1;
	if (c->off == c->len)
		return PROXY_MORE;
	if (c->buf[c->off] != ' ')
		return proxy_fail(c, PROXY_E_MALFORMED, "v1 'PROXY' not followed by one space");
	c->off++;
	if ((r = proxy_v1_family(c, &family)) != PROXY_OK)
		return r;
	if (family == AF_UNSPEC)
		return proxy_v1_unknown(c);
	if ((r = proxy_v1_field_end(c, 0)) != PROXY_OK)
		return r;
	return proxy_v1_inet(c, family);
}

/* ------------------------------------------------------------------ v2 TLVs */

static uint16_t
proxy_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
proxy_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Store a string value: no NUL inside; cut to the field and flag if longer. */
static int
proxy_tlv_str(struct proxy_ctx *c, char *dst, size_t size, const uint8_t *v, size_t vlen,
    unsigned trunc)
{
	if (memchr(v, '\0', vlen) != NULL)
		return proxy_fail(c, PROXY_E_TLV, "TLV string value contains a NUL byte");
	if (vlen >= size) {
		vlen = size - 1;
		c->out->truncated |= trunc;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return PROXY_OK;
}

/* Mark a known type seen; a second one is ambiguous and refused. */
static int
proxy_tlv_once(struct proxy_ctx *c, unsigned bit)
{
	if (c->seen & bit)
		return proxy_fail(c, PROXY_E_TLV, "a TLV type that may appear once appears twice");
	c->seen |= bit;
	return PROXY_OK;
}

static int
proxy_ssl_sub(struct proxy_ctx *c, uint8_t type, const uint8_t *v, size_t vlen)
{
	struct proxy_info *pi = c->out;
	int r = PROXY_OK;

	switch (type) {
	case PROXY_TLV_SSL_VERSION:
		if ((r = proxy_tlv_once(c, PROXY_SEEN_SSL_VERSION)) == PROXY_OK)
			r = proxy_tlv_str(c, pi->ssl_version, sizeof(pi->ssl_version), v, vlen,
			    PROXY_TRUNC_SSL_VERSION);
		break;
	case PROXY_TLV_SSL_CN:
		if ((r = proxy_tlv_once(c, PROXY_SEEN_SSL_CN)) == PROXY_OK)
			r = proxy_tlv_str(c, pi->ssl_cn, sizeof(pi->ssl_cn), v, vlen,
			    PROXY_TRUNC_SSL_CN);
		break;
	case PROXY_TLV_SSL_CIPHER:
		if ((r = proxy_tlv_once(c, PROXY_SEEN_SSL_CIPHER)) == PROXY_OK)
			r = proxy_tlv_str(c, pi->ssl_cipher, sizeof(pi->ssl_cipher), v, vlen,
			    PROXY_TRUNC_SSL_CIPHER);
		break;
	case PROXY_TLV_SSL_SIG_ALG:
		if ((r = proxy_tlv_once(c, PROXY_SEEN_SSL_SIG_ALG)) == PROXY_OK)
			r = proxy_tlv_str(c, pi->ssl_sig_alg, sizeof(pi->ssl_sig_alg), v, vlen,
			    PROXY_TRUNC_SSL_SIG_ALG);
		break;
	case PROXY_TLV_SSL_KEY_ALG:
		if ((r = proxy_tlv_once(c, PROXY_SEEN_SSL_KEY_ALG)) == PROXY_OK)
			r = proxy_tlv_str(c, pi->ssl_key_alg, sizeof(pi->ssl_key_alg), v, vlen,
			    PROXY_TRUNC_SSL_KEY_ALG);
		break;
	default:                /* GROUP, SIG_SCHEME, CLIENT_CERT, future ones */
		break;
	}
	return r;
}

/* PP2_TYPE_SSL: client, verify, then sub-TLVs that must stay inside it. */
static int
proxy_tlv_ssl(struct proxy_ctx *c, const uint8_t *v, size_t vlen)
{
	struct proxy_info *pi = c->out;
	size_t off, sublen;
	int r;

	pi->ssl_present = 1;
	pi->ssl_client = v[0];
	pi->ssl_verify = proxy_get32(v + 1);
	for (off = PROXY_SSL_HDR; off < vlen; off += PROXY_TLV_HDR + sublen) {
		if (vlen - off < PROXY_TLV_HDR)
			return proxy_fail(c, PROXY_E_TLV, "sub-TLV header runs past its SSL TLV");
		sublen = proxy_get16(v + off + 1);
		if (sublen > vlen - off - PROXY_TLV_HDR)
			return proxy_fail(c, PROXY_E_TLV, "sub-TLV runs past its SSL TLV");
		if ((r = proxy_ssl_sub(c, v[off], v + off + PROXY_TLV_HDR, sublen)) != PROXY_OK)
			return r;
	}
	return PROXY_OK;
}

/* One complete top-level TLV, its header already checked; v is in c->buf. */
static int
proxy_tlv(struct proxy_ctx *c, uint8_t type, const uint8_t *v, size_t vlen)
{
	struct proxy_info *pi = c->out;

	switch (type) {
	case PROXY_TLV_ALPN:
		return proxy_tlv_str(c, pi->alpn, sizeof(pi->alpn), v, vlen, PROXY_TRUNC_ALPN);
	case PROXY_TLV_AUTHORITY:
		return proxy_tlv_str(c, pi->authority, sizeof(pi->authority), v, vlen,
		    PROXY_TRUNC_AUTHORITY);
	case PROXY_TLV_CRC32C:
		c->crc_off = (size_t)(v - c->buf);
		return PROXY_OK;
	case PROXY_TLV_UNIQUE_ID:
		memcpy(pi->unique_id, v, vlen);
		pi->unique_id_len = vlen;
		return PROXY_OK;
	case PROXY_TLV_SSL:
		return proxy_tlv_ssl(c, v, vlen);
	case PROXY_TLV_NETNS:
		return proxy_tlv_str(c, pi->netns, sizeof(pi->netns), v, vlen, PROXY_TRUNC_NETNS);
	default:                /* NOOP, custom (0xE0-0xEF), experimental, future */
		return PROXY_OK;
	}
}

/*
 * What a TLV's header alone can rule out, checked before its value is in:
 * a second TLV of a type that may appear once, and fixed or capped lengths.
 */
static int
proxy_tlv_head(struct proxy_ctx *c, uint8_t type, size_t vlen)
{
	switch (type) {
	case PROXY_TLV_ALPN:
		return proxy_tlv_once(c, PROXY_SEEN_ALPN);
	case PROXY_TLV_AUTHORITY:
		return proxy_tlv_once(c, PROXY_SEEN_AUTHORITY);
	case PROXY_TLV_CRC32C:
		if (vlen != 4)
			return proxy_fail(c, PROXY_E_TLV, "TLV 0x03 (CRC32C) is not 4 bytes long");
		return proxy_tlv_once(c, PROXY_SEEN_CRC32C);
	case PROXY_TLV_UNIQUE_ID:
		if (vlen > PROXY_UNIQUE_ID_MAX)
			return proxy_fail(c, PROXY_E_TLV, "TLV 0x05 (UNIQUE_ID) longer than 128 bytes");
		return proxy_tlv_once(c, PROXY_SEEN_UNIQUE_ID);
	case PROXY_TLV_SSL:
		if (vlen < PROXY_SSL_HDR)
			return proxy_fail(c, PROXY_E_TLV, "TLV 0x20 (SSL) shorter than its 5-byte header");
		return proxy_tlv_once(c, PROXY_SEEN_SSL);
	case PROXY_TLV_NETNS:
		return proxy_tlv_once(c, PROXY_SEEN_NETNS);
	default:
		return PROXY_OK;
	}
}

static const char *
proxy_tlv_past_detail(uint8_t type)
{
	switch (type) {
	case PROXY_TLV_ALPN:
		return "TLV 0x01 (ALPN) runs past the header";
	case PROXY_TLV_AUTHORITY:
		return "TLV 0x02 (AUTHORITY) runs past the header";
	case PROXY_TLV_CRC32C:
		return "TLV 0x03 (CRC32C) runs past the header";
	case PROXY_TLV_NOOP:
		return "TLV 0x04 (NOOP) runs past the header";
	case PROXY_TLV_UNIQUE_ID:
		return "TLV 0x05 (UNIQUE_ID) runs past the header";
	case PROXY_TLV_SSL:
		return "TLV 0x20 (SSL) runs past the header";
	case PROXY_TLV_NETNS:
		return "TLV 0x30 (NETNS) runs past the header";
	default:
		return "TLV of an unknown type runs past the header";
	}
}

/*
 * The TLVs in [c->off, end), where c->off may be past the bytes available
 * yet. Each one is checked against `end` as soon as its 3-byte header is
 * there (a stub shorter than that as soon as `end` is known), and parsed
 * once all of it is.
 */
static int
proxy_v2_tlvs(struct proxy_ctx *c, size_t end)
{
	size_t vlen;
	int r;

	while (c->off < end) {
		if (end - c->off < PROXY_TLV_HDR)
			return proxy_fail(c, PROXY_E_TLV, "TLV header runs past the header");
		if (c->len < c->off + PROXY_TLV_HDR)
			return PROXY_MORE;
		vlen = proxy_get16(c->buf + c->off + 1);
		if (vlen > end - c->off - PROXY_TLV_HDR)
			return proxy_fail(c, PROXY_E_TLV, proxy_tlv_past_detail(c->buf[c->off]));
		if ((r = proxy_tlv_head(c, c->buf[c->off], vlen)) != PROXY_OK)
			return r;
		if (c->len < c->off + PROXY_TLV_HDR + vlen)
			return PROXY_MORE;
		r = proxy_tlv(c, c->buf[c->off], c->buf + c->off + PROXY_TLV_HDR, vlen);
		if (r != PROXY_OK)
			return r;
		c->off += PROXY_TLV_HDR + vlen;
	}
	/* No TLVs at all: the address block itself may not be in yet. */
	if (c->len < end)
		return PROXY_MORE;
	return PROXY_OK;
}

/* CRC of the whole header with the CRC32C value taken as zero. */
static int
proxy_v2_crc(struct proxy_ctx *c, size_t end)
{
	static const uint8_t zero[4];
	uint32_t crc;

	crc = proxy_crc32c(0, c->buf, c->crc_off);
	crc = proxy_crc32c(crc, zero, sizeof(zero));
	crc = proxy_crc32c(crc, c->buf + c->crc_off + 4, end - c->crc_off - 4);
	if (crc != proxy_get32(c->buf + c->crc_off))
		return proxy_fail(c, PROXY_E_CRC, "v2 header CRC32C does not match");
	c->out->crc_present = 1;
	return PROXY_OK;
}

/* ------------------------------------------------------------------ v2 */

/*
 * The family/transport byte: one of the seven combinations the spec lists.
 * Sets the address block length.
 */
static int
proxy_v2_fam(struct proxy_ctx *c, uint8_t fam, size_t *addrlen)
{
	switch (fam) {
	case 0x00:
		*addrlen = 0;
		break;
	case 0x11:
	case 0x12:
		*addrlen = 2 * 4 + 2 * 2;
		break;
	case 0x21:
	case 0x22:
		*addrlen = 2 * 16 + 2 * 2;
		break;
	case 0x31:
	case 0x32:
		*addrlen = 2 * PROXY_UNIX_PATH;
		break;
	default:
		if ((fam >> 4) > 3)
			return proxy_fail(c, PROXY_E_UNSUPPORTED, "v2 address family is not UNSPEC, INET, INET6 or UNIX");
		if ((fam & 0x0f) > 2)
			return proxy_fail(c, PROXY_E_UNSUPPORTED, "v2 transport is not UNSPEC, STREAM or DGRAM");
		return proxy_fail(c, PROXY_E_UNSUPPORTED,
		    "v2 family and transport: only one of them is UNSPEC");
	}
	c->out->transport = (fam & 0x0f) == 1 ? SOCK_STREAM : (fam & 0x0f) == 2 ? SOCK_DGRAM : 0;
	return PROXY_OK;
}

/* Copy the addresses of a PROXY command; p is the address block. */
static void
proxy_v2_addrs(struct proxy_info *pi, uint8_t fam, const uint8_t *p)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&pi->src, *d4 = (struct sockaddr_in *)&pi->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pi->src, *d6 = (struct sockaddr_in6 *)&pi->dst;

	switch (fam >> 4) {
	case 1:
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p, 4);
		memcpy(&d4->sin_addr, p + 4, 4);
		memcpy(&s4->sin_port, p + 8, 2);
		memcpy(&d4->sin_port, p + 10, 2);
		pi->srclen = pi->dstlen = sizeof(struct sockaddr_in);
		break;
	case 2:
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p, 16);
		memcpy(&d6->sin6_addr, p + 16, 16);
		memcpy(&s6->sin6_port, p + 32, 2);
		memcpy(&d6->sin6_port, p + 34, 2);
		pi->srclen = pi->dstlen = sizeof(struct sockaddr_in6);
		break;
	case 3:
		/* Unnamed: the paths are the balancer's business, not echod's. */
		pi->src.ss_family = pi->dst.ss_family = AF_UNIX;
		pi->srclen = pi->dstlen = offsetof(struct sockaddr_un, sun_path);
		break;
	default:
		pi->local = PROXY_LOCAL_UNSPEC;
		break;
	}
}

/* A v2 header; the 12-byte signature has matched. */
static int
proxy_v2(struct proxy_ctx *c)
{
	struct proxy_info *pi = c->out;
	size_t addrlen, total;
	uint8_t vc, fam;
	int r;

	pi->version = 2;
	if (c->len < PROXY_V2_SIG_LEN + 1)
		return PROXY_MORE;
	vc = c->buf[PROXY_V2_SIG_LEN];
	if ((vc >> 4) != 2)
		return proxy_fail(c, PROXY_E_VERSION, "v2 signature with a version other than 2");
	if ((vc & 0x0f) > 1)
		return proxy_fail(c, PROXY_E_UNSUPPORTED, "v2 command is neither LOCAL nor PROXY");
	if (c->len < PROXY_V2_SIG_LEN + 2)
		return PROXY_MORE;
	fam = c->buf[PROXY_V2_SIG_LEN + 1];
	if ((r = proxy_v2_fam(c, fam, &addrlen)) != PROXY_OK)
		return r;
	if (c->len < PROXY_V2_FIXED)
		return PROXY_MORE;
	total = PROXY_V2_FIXED + proxy_get16(c->buf + PROXY_V2_SIG_LEN + 2);
	if (total > PROXY_MAX_HEADER)
		return proxy_fail(c, PROXY_E_TOO_LONG, "v2 header longer than PROXY_MAX_HEADER (4096 bytes)");
	if (total - PROXY_V2_FIXED < addrlen)
		return proxy_fail(c, PROXY_E_MALFORMED, "v2 length shorter than the address family needs");
	if ((vc & 0x0f) == 0)
		pi->local = PROXY_LOCAL_CMD;
	else if (c->len >= PROXY_V2_FIXED + addrlen)
		proxy_v2_addrs(pi, fam, c->buf + PROXY_V2_FIXED);
	/* TLV lengths can be checked before the addresses are in. */
	c->off = PROXY_V2_FIXED + addrlen;
	if ((r = proxy_v2_tlvs(c, total)) != PROXY_OK)
		return r;
	if (c->crc_off != 0 && (r = proxy_v2_crc(c, total)) != PROXY_OK)
		return r;
	return PROXY_OK;
}

/* ------------------------------------------------------------------ entry */

/* 1 if buf[0..len) is a prefix of sig (or sig a prefix of buf). */
static int
proxy_prefix(const uint8_t *buf, size_t len, const void *sig, size_t siglen)
{
	return memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

/*
 * Which version the first bytes start; -1 with the error when they start
 * neither one this listener accepts.
 */
static int
proxy_detect(struct proxy_ctx *c, unsigned allow)
{
	int v1 = proxy_prefix(c->buf, c->len, PROXY_V1_SIG, PROXY_V1_SIG_LEN);
	int v2 = proxy_prefix(c->buf, c->len, proxy_v2_sig, PROXY_V2_SIG_LEN);

	if (v1 && (allow & PROXY_V1))
		return 1;
	if (v2 && (allow & PROXY_V2))
		return 2;
	if (v1)
		return proxy_fail(c, PROXY_E_VERSION, "v1 header on a listener that accepts only v2");
	if (v2)
		return proxy_fail(c, PROXY_E_VERSION, "v2 header on a listener that accepts only v1");
	return proxy_fail(c, PROXY_E_NOT_PROXY, "not a PROXY protocol header");
}

int
proxy_parse(const void *buf, size_t len, unsigned allow, struct proxy_info *out,
    enum proxy_err *err, const char **detail)
{
	struct proxy_ctx c;
	int version, r;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.buf = buf;
	c.len = len;
	c.out = out;
	if (err != NULL)
		*err = PROXY_E_NONE;
	if (detail != NULL)
		*detail = NULL;
	if (len == 0)
		return 0;

	if ((version = proxy_detect(&c, allow)) == 1) {
		/* The line may not pass 107 bytes: look no further. */
		c.len = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
		if (c.len < PROXY_V1_SIG_LEN)
			return 0;
		c.off = PROXY_V1_SIG_LEN;
		r = proxy_v1(&c);
		if (r == PROXY_MORE && len >= PROXY_V1_MAX)
			r = proxy_fail(&c, PROXY_E_TOO_LONG, "v1 header longer than 107 bytes");
	} else if (version == 2) {
		if (len < PROXY_V2_SIG_LEN)
			return 0;
		r = proxy_v2(&c);
	} else
		r = PROXY_FAIL;

	if (r == PROXY_OK)
		return (int)c.off;
	if (r == PROXY_MORE)
		return 0;
	memset(out, 0, sizeof(*out));
	if (err != NULL)
		*err = c.err;
	if (detail != NULL)
		*detail = c.detail;
	return -1;
}

/* ------------------------------------------------------------------ describe */

/* One item ("key=value") is built here before it is appended whole. */
#define PROXY_ITEM_MAX (32 + 4 * 256 + 2)

struct proxy_out {
	char   *buf;
	size_t  size;
	size_t  need;     /* length of the whole description */
	size_t  used;     /* bytes in buf, without the NUL */
	int     full;     /* an item did not fit: append nothing more */
	char    item[PROXY_ITEM_MAX];
	size_t  ilen;
};

static void
proxy_item_put(struct proxy_out *o, const char *s, size_t n)
{
	if (n > sizeof(o->item) - 1 - o->ilen)
		n = sizeof(o->item) - 1 - o->ilen;
	memcpy(o->item + o->ilen, s, n);
	o->ilen += n;
	o->item[o->ilen] = '\0';
}

/* A value, quoted and escaped unless it is plain printable ASCII. */
static void
proxy_item_value(struct proxy_out *o, const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4];
	size_t i;
	int quote = n == 0;

	for (i = 0; i < n && !quote; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
			quote = 1;
	if (!quote) {
		proxy_item_put(o, (const char *)v, n);
		return;
	}
	proxy_item_put(o, "\"", 1);
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)v[i];
			proxy_item_put(o, esc, 2);
		} else if (v[i] < 0x20 || v[i] >= 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[v[i] >> 4];
			esc[3] = hex[v[i] & 0x0f];
			proxy_item_put(o, esc, 4);
		} else
			proxy_item_put(o, (const char *)&v[i], 1);
	}
	proxy_item_put(o, "\"", 1);
}

/* Append the item built so far, with a space before all but the first. */
static void
proxy_item_end(struct proxy_out *o)
{
	size_t n = o->ilen + (o->need > 0 ? 1 : 0);

	if (!o->full && o->used + n < o->size) {
		if (o->need > 0)
			o->buf[o->used++] = ' ';
		memcpy(o->buf + o->used, o->item, o->ilen + 1);
		o->used += o->ilen;
	} else
		o->full = 1;
	o->need += n;
	o->ilen = 0;
	o->item[0] = '\0';
}

static void
proxy_item_word(struct proxy_out *o, const char *word)
{
	proxy_item_put(o, word, strlen(word));
	proxy_item_end(o);
}

static void
proxy_item_str(struct proxy_out *o, const char *key, const char *value)
{
	if (value[0] == '\0')
		return;
	proxy_item_put(o, key, strlen(key));
	proxy_item_put(o, "=", 1);
	proxy_item_value(o, (const unsigned char *)value, strlen(value));
	proxy_item_end(o);
}

static void
proxy_item_addr(struct proxy_out *o, const char *key, const struct sockaddr_storage *ss,
    socklen_t len)
{
	char text[ADDR_STRLEN];

	if (len == 0)
		return;
	addr_format((const struct sockaddr *)ss, len, text, sizeof(text));
	proxy_item_put(o, key, strlen(key));
	proxy_item_put(o, "=", 1);
	proxy_item_value(o, (const unsigned char *)text, strlen(text));
	proxy_item_end(o);
}

static void
proxy_item_hex(struct proxy_out *o, const char *key, const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char two[2];
	size_t i;

	if (n == 0)
		return;
	proxy_item_put(o, key, strlen(key));
	proxy_item_put(o, "=", 1);
	for (i = 0; i < n; i++) {
		two[0] = hex[v[i] >> 4];
		two[1] = hex[v[i] & 0x0f];
		proxy_item_put(o, two, 2);
	}
	proxy_item_end(o);
}

static void
proxy_describe_ssl(struct proxy_out *o, const struct proxy_info *pi)
{
	char num[32];

	if (!pi->ssl_present)
		return;
	if (pi->ssl_version[0] != '\0')
		proxy_item_str(o, "ssl", pi->ssl_version);
	else
		proxy_item_word(o, (pi->ssl_client & PROXY_SSL_CLIENT_SSL) ? "ssl=yes" : "ssl=no");
	if (pi->ssl_client & PROXY_SSL_CLIENT_CERT_CONN)
		proxy_item_word(o, "ssl_cert=conn");
	else if (pi->ssl_client & PROXY_SSL_CLIENT_CERT_SESS)
		proxy_item_word(o, "ssl_cert=sess");
	if (pi->ssl_client & (PROXY_SSL_CLIENT_CERT_CONN | PROXY_SSL_CLIENT_CERT_SESS)) {
		snprintf(num, sizeof(num), "ssl_verify=%u", (unsigned)pi->ssl_verify);
		proxy_item_word(o, num);
	}
	proxy_item_str(o, "ssl_cn", pi->ssl_cn);
	proxy_item_str(o, "ssl_cipher", pi->ssl_cipher);
	proxy_item_str(o, "ssl_sig_alg", pi->ssl_sig_alg);
	proxy_item_str(o, "ssl_key_alg", pi->ssl_key_alg);
}

static void
proxy_describe_truncated(struct proxy_out *o, unsigned truncated)
{
	static const struct {
		unsigned    bit;
		const char *name;
	} names[] = {
		{ PROXY_TRUNC_ALPN, "alpn" }, { PROXY_TRUNC_AUTHORITY, "authority" },
		{ PROXY_TRUNC_SSL_VERSION, "ssl_version" }, { PROXY_TRUNC_SSL_CN, "ssl_cn" },
		{ PROXY_TRUNC_SSL_CIPHER, "ssl_cipher" }, { PROXY_TRUNC_SSL_SIG_ALG, "ssl_sig_alg" },
		{ PROXY_TRUNC_SSL_KEY_ALG, "ssl_key_alg" }, { PROXY_TRUNC_NETNS, "netns" },
	};
	size_t i;
	int first = 1;

	if (truncated == 0)
		return;
	proxy_item_put(o, "truncated=", 10);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(truncated & names[i].bit))
			continue;
		if (!first)
			proxy_item_put(o, ",", 1);
		proxy_item_put(o, names[i].name, strlen(names[i].name));
		first = 0;
	}
	proxy_item_end(o);
}

size_t
proxy_describe(const struct proxy_info *pi, char *buf, size_t size)
{
	struct proxy_out o;

	memset(&o, 0, sizeof(o));
	o.buf = buf;
	o.size = size;
	if (size > 0)
		buf[0] = '\0';

	proxy_item_word(&o, pi->version == 1 ? "v1" : pi->version == 2 ? "v2" : "none");
	if (pi->local == PROXY_LOCAL_CMD)
		proxy_item_word(&o, pi->version == 1 ? "unknown" : "local");
	else if (pi->local == PROXY_LOCAL_UNSPEC)
		proxy_item_word(&o, "unspec");
	if (pi->transport == SOCK_DGRAM)
		proxy_item_word(&o, "dgram");
	proxy_item_addr(&o, "src", &pi->src, pi->srclen);
	proxy_item_addr(&o, "dst", &pi->dst, pi->dstlen);
	proxy_item_str(&o, "alpn", pi->alpn);
	proxy_item_str(&o, "authority", pi->authority);
	proxy_item_hex(&o, "unique_id", pi->unique_id, pi->unique_id_len);
	proxy_describe_ssl(&o, pi);
	proxy_item_str(&o, "netns", pi->netns);
	if (pi->crc_present)
		proxy_item_word(&o, "crc32c=ok");
	proxy_describe_truncated(&o, pi->truncated);

	/* Say that items were left out, if " ..." fits. */
	if (o.full && o.used + 4 < o.size) {
		memcpy(o.buf + o.used, " ...", 5);
		o.used += 4;
	}
	return o.need;
}
