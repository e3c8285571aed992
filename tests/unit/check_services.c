/*
 * check_services.c: the pure generators behind chargen, daytime and time,
 * checked against the RFC vectors.
 */
#include "autoconf.h"

#include <check.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "service.h"
#include "unit.h"

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	ck_assert_int_eq(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
	for (i = 0; i < mdlen; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

START_TEST(test_chargen_cycle_sha256)
{
	char buf[CHARGEN_CYCLE], hex[65];
	uint64_t pos = 0;

	ck_assert_int_eq(CHARGEN_CYCLE, 7030);
	service_chargen_fill(&pos, buf, sizeof(buf));
	ck_assert_uint_eq(pos, 7030);
	sha256_hex(buf, sizeof(buf), hex);
	ck_assert_str_eq(hex, "3cdea95b39ae39243127adde7cd303a8b8c9f25248a3fc0c483ba70b00fb8f19");
}
END_TEST

START_TEST(test_chargen_lines)
{
	char buf[CHARGEN_LINE_LEN * 200];
	uint64_t pos = 0;
	size_t line, i;

	service_chargen_fill(&pos, buf, sizeof(buf));
	for (line = 0; line < 200; line++) {
		const char *l = buf + line * CHARGEN_LINE_LEN;

		/* line N starts at character N mod 95 of the ring 32..126 */
		ck_assert_int_eq(l[0], ' ' + (int)(line % 95));
		for (i = 0; i < CHARGEN_LINE_CHARS; i++) {
			ck_assert_int_ge(l[i], 32);
			ck_assert_int_le(l[i], 126);
			ck_assert_int_eq(l[i], ' ' + (int)((line + i) % 95));
		}
		ck_assert_int_eq(l[72], '\r');
		ck_assert_int_eq(l[73], '\n');
	}
}
END_TEST

START_TEST(test_chargen_fill_resumes)
{
	char whole[20000], parts[20000];
	uint64_t pos = 0, pos2 = 0;
	size_t off = 0, chunk = 1;

	service_chargen_fill(&pos, whole, sizeof(whole));
	while (off < sizeof(parts)) {
		size_t n = chunk < sizeof(parts) - off ? chunk : sizeof(parts) - off;

		service_chargen_fill(&pos2, parts + off, n);
		off += n;
		chunk = chunk * 3 + 1;   /* odd sizes cross line and cycle boundaries */
	}
	ck_assert_uint_eq(pos, pos2);
	ck_assert_mem_eq(whole, parts, sizeof(whole));
}
END_TEST

START_TEST(test_daytime_ctime)
{
	char buf[64];
	size_t n;

	setenv("TZ", "UTC", 1);
	/* 2026-07-10 22:19:13 UTC */
	n = service_daytime_format((time_t)1783721953, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Fri Jul 10 22:19:13 2026\r\n");
	ck_assert_uint_eq(n, strlen(buf));
	/* single-digit days are space padded, like ctime(3) */
	service_daytime_format((time_t)1782950400, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu Jul  2 00:00:00 2026\r\n");
}
END_TEST

START_TEST(test_daytime_rfc3339)
{
	char buf[64];

	service_daytime_format((time_t)1783721953, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-07-10T22:19:13Z\r\n");
}
END_TEST

START_TEST(test_time_value)
{
	ck_assert_uint_eq(service_time_value(0), 2208988800U);
	/* RFC 868 examples: 2,398,291,200 = 1 Jan 1976 GMT */
	ck_assert_uint_eq(service_time_value((time_t)189302400), 2398291200U);
	/* wraps mod 2^32 (2036-02-07) */
	ck_assert_uint_eq(service_time_value((time_t)2085978496), 0U);
}
END_TEST

/* One datagram through a service: its result, reply and length. */
static enum service_dgram_result
dgram(const struct service *svc, const void *conf, const char *req, size_t len, size_t cap,
    time_t now, char *out, const char **reply, size_t *rlen)
{
	struct service_dgram rq = { req, len, cap, now, conf, out };

	*reply = NULL;
	*rlen = 0;
	return svc->on_datagram(&rq, reply, rlen);
}

START_TEST(test_dgram_echo_discard)
{
	char out[SERVICE_DGRAM_SCRATCH];
	static char big[65507];
	const char *reply;
	size_t rlen;

	ck_assert_int_eq(dgram(&service_echo, NULL, "hello", 5, 5, 0, out, &reply, &rlen),
	    SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 5);
	ck_assert_mem_eq(reply, "hello", 5);
	/* the request itself goes back: no copy */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(dgram(&service_echo, NULL, big, sizeof(big), sizeof(big), 0, out, &reply,
	    &rlen), SERVICE_DG_REPLY);
	ck_assert_ptr_eq(reply, big);
	ck_assert_uint_eq(rlen, 65507);
	ck_assert_int_eq(dgram(&service_echo, NULL, "", 0, 0, 0, out, &reply, &rlen),
	    SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 0);
	ck_assert_int_eq(dgram(&service_echo, NULL, "hello", 5, 4, 0, out, &reply, &rlen),
	    SERVICE_DG_OVER_CAP);
	ck_assert_int_eq(dgram(&service_discard, NULL, "hello", 5, 100, 0, out, &reply, &rlen),
	    SERVICE_DG_NONE);
	ck_assert_uint_eq(rlen, 0);
	/* stream-only services have no datagram handler */
	ck_assert_ptr_null(service_command.on_datagram);
	ck_assert_ptr_null(service_admin.on_datagram);
}
END_TEST

START_TEST(test_dgram_chargen)
{
	char out[SERVICE_DGRAM_SCRATCH], stream[CHARGEN_DGRAM_MAX], hex[65];
	uint64_t pos = 0;
	const char *reply;
	size_t rlen;

	service_chargen_fill(&pos, stream, sizeof(stream));
	/* the longest reply RFC 864 allows: the first 512 bytes of the stream */
	ck_assert_int_eq(dgram(&service_chargen, NULL, "x", 1, 65507, 0, out, &reply, &rlen),
	    SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 512);
	ck_assert_mem_eq(reply, stream, 512);
	ck_assert_mem_eq(reply, " !\"#$%&'()*+,-./0123456789", 26);
	ck_assert_mem_eq(reply + 72, "\r\n!\"#$", 6);
	sha256_hex(reply, rlen, hex);
	ck_assert_str_eq(hex, "40de47bdfba34eaca4fa319f838a1b34c88cf974de6c833355437136a2cb318e");
	/* under the cap: shorter, a prefix of the same pattern */
	ck_assert_int_eq(dgram(&service_chargen, NULL, "0123456789", 10, 10, 0, out, &reply,
	    &rlen), SERVICE_DG_SHORTENED);
	ck_assert_uint_eq(rlen, 10);
	ck_assert_mem_eq(reply, " !\"#$%&'()", 10);
	ck_assert_int_eq(dgram(&service_chargen, NULL, "", 0, 0, 0, out, &reply, &rlen),
	    SERVICE_DG_SHORTENED);
	ck_assert_uint_eq(rlen, 0);
	ck_assert_int_eq(dgram(&service_chargen, NULL, "", 0, 512, 0, out, &reply, &rlen),
	    SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 512);
}
END_TEST

START_TEST(test_dgram_clock)
{
	struct config_errors e = { NULL, 0 };
	char out[SERVICE_DGRAM_SCRATCH];
	struct config *cf = NULL;
	const char *reply;
	size_t rlen;

	setenv("TZ", "UTC", 1);
	ck_assert_int_eq(dgram(&service_daytime, NULL, "", 0, 26, (time_t)1783721953, out,
	    &reply, &rlen), SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 26);
	ck_assert_mem_eq(reply, "Fri Jul 10 22:19:13 2026\r\n", 26);
	/* a daytime cut short would be wrong: none at all */
	ck_assert_int_eq(dgram(&service_daytime, NULL, "", 0, 25, (time_t)1783721953, out,
	    &reply, &rlen), SERVICE_DG_OVER_CAP);
	/* the listener's daytime_format */
	ck_assert_int_eq(config_load_string("t", "[listener d]\nbind = udp:127.0.0.1:0\n"
	    "service = daytime\ndaytime_format = rfc3339\n", &cf, &e), 0);
	ck_assert_int_eq(dgram(&service_daytime, cf->listeners[0]->svc_conf, "?", 1, 100,
	    (time_t)1783721953, out, &reply, &rlen), SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 22);
	ck_assert_mem_eq(reply, "2026-07-10T22:19:13Z\r\n", 22);
	config_free(cf);

	ck_assert_int_eq(dgram(&service_time, NULL, "", 0, 4, (time_t)189302400, out, &reply,
	    &rlen), SERVICE_DG_REPLY);
	ck_assert_uint_eq(rlen, 4);
	/* 2,398,291,200 = 0x8EF30500 */
	ck_assert_mem_eq(reply, "\x8e\xf3\x05\x00", 4);
	ck_assert_int_eq(dgram(&service_time, NULL, "abc", 3, 3, (time_t)189302400, out, &reply,
	    &rlen), SERVICE_DG_OVER_CAP);
}
END_TEST

START_TEST(test_service_table)
{
	ck_assert_ptr_eq(service_find("echo"), &service_echo);
	ck_assert_ptr_eq(service_find("chargen"), &service_chargen);
	ck_assert_ptr_null(service_find("nope"));
	ck_assert_ptr_nonnull(strstr(service_names(), "daytime"));
}
END_TEST

static Suite *
services_suite(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("generators");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_chargen_cycle_sha256);
	tcase_add_test(tc, test_chargen_lines);
	tcase_add_test(tc, test_chargen_fill_resumes);
	tcase_add_test(tc, test_daytime_ctime);
	tcase_add_test(tc, test_daytime_rfc3339);
	tcase_add_test(tc, test_time_value);
	tcase_add_test(tc, test_service_table);
	tcase_add_test(tc, test_dgram_echo_discard);
	tcase_add_test(tc, test_dgram_chargen);
	tcase_add_test(tc, test_dgram_clock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(services_suite());
}
