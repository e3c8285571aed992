/*
 * check_services.c: the pure generators behind chargen, daytime and time,
 * checked against the RFC vectors.
 */
#include "autoconf.h"

#include <check.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

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
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_main(services_suite());
}
