/*
 * proxy.h: the PROXY protocol (HAProxy's doc/proxy-protocol.txt), version 1
 * (text) and version 2 (binary with TLVs). A pure parser: no I/O, no
 * allocation, no logging, no state between calls; any thread.
 *
 * The caller accumulates the first bytes of a connection and calls
 * proxy_parse() on everything read so far. It returns the header length once
 * a complete header is there, 0 while the bytes are still the beginning of a
 * header this listener accepts, and -1 as soon as they cannot become one.
 * The caller enforces the timeout and stops reading at PROXY_MAX_HEADER.
 */
#ifndef ECHOD_PROXY_H
#define ECHOD_PROXY_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

/* Versions a listener accepts (the `allow` mask). */
#define PROXY_V1 0x1
#define PROXY_V2 0x2

/* Longest v1 line, CRLF included (the spec's worst case, UNKNOWN with IPv6). */
#define PROXY_V1_MAX 107
/* Fixed part of a v2 header: signature, version/command, family, length. */
#define PROXY_V2_FIXED 16

/*
 * Longest header echod accepts, v1 or v2. The v2 length field allows 16 +
 * 65535 bytes. What HAProxy sends with every proxy-v2-option at its largest
 * (IPv6; CRC32C 7; ALPN 3+255; AUTHORITY 3+255; UNIQUE_ID 3+128; SSL 3+5 with
 * VERSION, CN of 64 UTF-8 characters (256 bytes), CIPHER, SIG_ALG, KEY_ALG of
 * 64 each; NETNS 3+255) is 52 + 7 + 258 + 258 + 131 + 478 + 258 = 1442
 * bytes. 4096 leaves room for set-proxy-v2-tlv-fmt custom TLVs or a client
 * certificate sub-TLV (HAProxy's own receiver refuses any TLV over 1024
 * bytes), and bounds what a connection may hold before it is identified.
 */
#define PROXY_MAX_HEADER 4096

/* Longest proxy_describe() output for any struct proxy_info, NUL included. */
#define PROXY_DESCRIBE_MAX 4096

/* TLV types (PP2_TYPE_*) and SSL sub-TLV types (PP2_SUBTYPE_SSL_*). */
#define PROXY_TLV_ALPN        0x01
#define PROXY_TLV_AUTHORITY   0x02
#define PROXY_TLV_CRC32C      0x03
#define PROXY_TLV_NOOP        0x04
#define PROXY_TLV_UNIQUE_ID   0x05
#define PROXY_TLV_SSL         0x20
#define PROXY_TLV_SSL_VERSION 0x21
#define PROXY_TLV_SSL_CN      0x22
#define PROXY_TLV_SSL_CIPHER  0x23
#define PROXY_TLV_SSL_SIG_ALG 0x24
#define PROXY_TLV_SSL_KEY_ALG 0x25
#define PROXY_TLV_NETNS       0x30

/* Bits of proxy_info.ssl_client (PP2_CLIENT_*). */
#define PROXY_SSL_CLIENT_SSL       0x01
#define PROXY_SSL_CLIENT_CERT_CONN 0x02
#define PROXY_SSL_CLIENT_CERT_SESS 0x04

#define PROXY_UNIQUE_ID_MAX 128

enum proxy_err {
	PROXY_E_NONE = 0,
	PROXY_E_NOT_PROXY,      /* "not-proxy": not a PROXY header at all */
	PROXY_E_VERSION,        /* "version": a version this listener does not accept */
	PROXY_E_MALFORMED,      /* "malformed": spaces, line endings, lengths */
	PROXY_E_TOO_LONG,       /* "too-long": v1 over 107 bytes, v2 over PROXY_MAX_HEADER */
	PROXY_E_ADDRESS,        /* "bad-address": an address or port that does not parse */
	PROXY_E_CRC,            /* "crc": the CRC32C TLV does not match */
	PROXY_E_TLV,            /* "bad-tlv": a TLV or sub-TLV that is not well-formed */
	PROXY_E_UNSUPPORTED,    /* "unsupported": a command, family or protocol not in the spec */
	PROXY_E_COUNT
};

/* proxy_info.local: why the real peer address is kept (0: it is not). */
#define PROXY_LOCAL_CMD    1    /* v2 LOCAL (a balancer's health check), v1 UNKNOWN */
#define PROXY_LOCAL_UNSPEC 2    /* v2 PROXY with family and transport UNSPEC */

/* proxy_info.truncated: string values longer than their field. */
#define PROXY_TRUNC_ALPN        0x01
#define PROXY_TRUNC_AUTHORITY   0x02
#define PROXY_TRUNC_SSL_VERSION 0x04
#define PROXY_TRUNC_SSL_CN      0x08
#define PROXY_TRUNC_SSL_CIPHER  0x10
#define PROXY_TRUNC_SSL_SIG_ALG 0x20
#define PROXY_TRUNC_SSL_KEY_ALG 0x40
#define PROXY_TRUNC_NETNS       0x80

/*
 * What a header said. The string fields hold the TLV's bytes as sent (no
 * NUL: a value containing one is rejected), NUL-terminated, cut to the field
 * with the matching PROXY_TRUNC_* bit set when longer. They may contain
 * spaces, quotes or control bytes: log them through proxy_describe(), which
 * escapes. Absent values are "" (and unique_id_len 0).
 */
struct proxy_info {
	int                      version;        /* 1 or 2 */
	int                      local;          /* PROXY_LOCAL_*: keep the real peer */
	int                      transport;      /* SOCK_STREAM, SOCK_DGRAM or 0 */
	struct sockaddr_storage  src, dst;       /* the client, and the address it connected to */
	socklen_t                srclen, dstlen; /* 0 when local */
	char                     alpn[64];
	char                     authority[256];
	unsigned char            unique_id[PROXY_UNIQUE_ID_MAX];
	size_t                   unique_id_len;
	int                      crc_present;    /* a CRC32C TLV was there and matched */
	int                      ssl_present;
	uint8_t                  ssl_client;     /* PROXY_SSL_CLIENT_* */
	uint32_t                 ssl_verify;     /* 0: client certificate verified */
	char                     ssl_version[32];
	char                     ssl_cn[256];
	char                     ssl_cipher[64];
	char                     ssl_sig_alg[64];
	char                     ssl_key_alg[64];
	char                     netns[64];
	unsigned                 truncated;      /* PROXY_TRUNC_* */
};

/*
 * Parse the PROXY header at the start of buf[0..len), accepting the versions
 * in `allow` (PROXY_V1 | PROXY_V2). Returns the header's length (> 0; the
 * bytes after it belong to the application), 0 if more bytes are needed, or
 * -1 with *err and *detail (a static sentence) set. *out is valid only after
 * a return > 0. A v2 address of family UNIX is recorded as an unnamed
 * AF_UNIX address ("unix"); the paths are not kept. err and detail may be
 * NULL.
 */
int         proxy_parse(const void *buf, size_t len, unsigned allow, struct proxy_info *out,
                enum proxy_err *err, const char **detail);

/* Stable name of an error for counters and logs: "not-proxy", "crc", ... */
const char *proxy_err_name(enum proxy_err e);

/*
 * One line for logs and the admin console, key=value after the version:
 *   v2 src=192.0.2.1:56324 dst=198.51.100.7:443 alpn=h2 authority=example.com
 *   unique_id=4a2f... ssl=TLSv1.3 ssl_cn="client one" crc32c=ok
 * Values with spaces, quotes, backslashes, control or non-ASCII bytes are
 * quoted with \" \\ \xHH escapes; unique_id is hex. Like snprintf, returns
 * the length of the whole description; if that is >= size, buf holds only
 * the whole key=value items that fit, followed by " ..." when room allows.
 */
size_t      proxy_describe(const struct proxy_info *pi, char *buf, size_t size);

/*
 * CRC32C (Castagnoli, RFC 3720), chainable: proxy_crc32c(0, "123456789", 9)
 * is 0xE3069283, and proxy_crc32c(proxy_crc32c(0, a, n), b, m) is the CRC of
 * a followed by b.
 */
uint32_t    proxy_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
