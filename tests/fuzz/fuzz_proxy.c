/*
 * fuzz_proxy.c: libFuzzer harness for the PROXY protocol parser
 * (proxy_parse, proxy_describe in proxy.h).
 *
 * Input: one byte choosing the versions the listener accepts (1..3), then
 * the bytes a balancer sends. Invariants:
 *   - the result is -1 (with an error and a detail), 0, or a length no
 *     larger than the input and PROXY_MAX_HEADER;
 *   - the bytes after a complete header do not change the result: parsing
 *     exactly the header gives the same length and the same addresses;
 *   - every strict prefix of a complete header is "need more" (0), so a
 *     header that arrives in pieces is never refused half-way;
 *   - a refusal stands: longer input with the same prefix is refused too
 *     (checked by appending the rest of the input);
 *   - proxy_describe() always writes a terminated, printable line that fits
 *     its buffer and returns the whole length, as snprintf does, for every
 *     buffer size tried.
 * Runs on libFuzzer's thread.
 */
#include "autoconf.h"

#include "fuzz.h"
#include "proxy.h"

static void
fuzz_proxy_describe(const struct proxy_info *pi)
{
	static const size_t sizes[] = { 1, 2, 8, 40, 200, PROXY_DESCRIBE_MAX };
	char buf[PROXY_DESCRIBE_MAX];
	size_t i, n, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		n = proxy_describe(pi, buf, sizes[i]);
		/* like snprintf: the whole length is returned, what fits is terminated */
		FUZZ_CHECK(memchr(buf, '\0', sizes[i]) != NULL, "no NUL within %zu bytes", sizes[i]);
		FUZZ_CHECK(strlen(buf) <= n, "wrote %zu of a %zu-byte description", strlen(buf), n);
		FUZZ_CHECK(n >= sizes[i] || strlen(buf) == n, "short description cut");
		for (j = 0; buf[j] != '\0'; j++)
			FUZZ_CHECK((unsigned char)buf[j] >= 0x20 && (unsigned char)buf[j] < 0x7f,
			    "unprintable byte 0x%02x in the description", (unsigned char)buf[j]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info pi, pj;
	enum proxy_err err, err2;
	const char *detail, *detail2;
	unsigned allow;
	char *in;
	size_t len, k;
	int rv, rv2;

	if (size < 1)
		return 0;
	allow = (data[0] % 3) + 1;
	len = size - 1;
	in = fuzz_copy((const char *)data + 1, len);
	rv = proxy_parse(in, len, allow, &pi, &err, &detail);
	FUZZ_CHECK(rv >= -1 && (size_t)(rv > 0 ? rv : 0) <= len && rv <= PROXY_MAX_HEADER,
	    "result %d for %zu bytes", rv, len);
	if (rv < 0) {
		FUZZ_CHECK(err > PROXY_E_NONE && err < PROXY_E_COUNT && detail != NULL &&
		    detail[0] != '\0', "refusal without an error or detail");
		FUZZ_CHECK(proxy_err_name(err)[0] != '?', "error %d has no name", (int)err);
	}
	if (rv > 0) {
		/* exactly the header: same answer */
		rv2 = proxy_parse(in, (size_t)rv, allow, &pj, &err2, &detail2);
		FUZZ_CHECK(rv2 == rv, "header alone gives %d, not %d", rv2, rv);
		FUZZ_CHECK(pj.version == pi.version && pj.local == pi.local &&
		    pj.srclen == pi.srclen && memcmp(&pj.src, &pi.src, pi.srclen) == 0,
		    "header alone gives another client");
		/* every strict prefix needs more */
		for (k = 0; k < (size_t)rv; k++) {
			rv2 = proxy_parse(in, k, allow, &pj, &err2, &detail2);
			FUZZ_CHECK(rv2 == 0, "prefix of %zu bytes of a %d-byte header gives %d (%s)",
			    k, rv, rv2, rv2 < 0 ? detail2 : "");
		}
		fuzz_proxy_describe(&pi);
	}
	if (rv < 0) {
		/* the shortest refused prefix stays refused with everything after it */
		for (k = 0; k < len; k++) {
			rv2 = proxy_parse(in, k, allow, &pj, &err2, &detail2);
			if (rv2 < 0) {
				rv2 = proxy_parse(in, len, allow, &pj, &err2, &detail2);
				FUZZ_CHECK(rv2 == -1, "prefix %zu refused, whole input not", k);
				break;
			}
			FUZZ_CHECK(rv2 == 0, "prefix %zu of a refused input completes (%d)", k,
			    rv2);
		}
	}
	free(in);
	return 0;
}
