/*
 * check_command.c: the command service's pure parts: line splitting (LF,
 * CRLF, long lines, telnet IAC sequences, the bound on a subnegotiation,
 * Ctrl-D) and command parsing (case, arguments, errors).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "command.h"
#include "unit.h"

/* Feed `in` in one piece (or byte by byte) and render the events as text. */
static char *
events(size_t max_line, const char *in, size_t len, int bytewise, int eof)
{
	static char           out[4096];
	struct command_reader r;
	enum command_event    ev;
	const char           *line;
	size_t                n, i, o = 0;

	command_reader_init(&r, max_line);
	out[0] = '\0';
	for (i = 0; i < (bytewise ? len : 1); i++) {
		if (bytewise)
			command_reader_push(&r, in + i, 1);
		else
			command_reader_push(&r, in, len);
		while ((ev = command_reader_next(&r, eof && (!bytewise || i == len - 1), &line, &n))
		    != COMMAND_EV_NONE) {
			switch (ev) {
			case COMMAND_EV_LINE:
				o += (size_t)snprintf(out + o, sizeof out - o, "[%.*s]", (int)n, line);
				break;
			case COMMAND_EV_TOO_LONG:
				o += (size_t)snprintf(out + o, sizeof out - o, "<long>");
				break;
			case COMMAND_EV_INTERRUPT:
				o += (size_t)snprintf(out + o, sizeof out - o, "<ip>");
				break;
			case COMMAND_EV_EOT:
				o += (size_t)snprintf(out + o, sizeof out - o, "<eot>");
				break;
			case COMMAND_EV_SB_TOO_LONG:
				o += (size_t)snprintf(out + o, sizeof out - o, "<sb>");
				break;
			default:
				ck_abort();
			}
		}
	}
	ck_assert_int_eq(command_reader_pending(&r), 0);
	command_reader_free(&r);
	return out;
}

/* Same result whether the input arrives at once or one byte at a time. */
#define ck_events(max, in, eof, expect) do {                                  \
	ck_assert_str_eq(events((max), (in), sizeof(in) - 1, 0, (eof)), (expect)); \
	ck_assert_str_eq(events((max), (in), sizeof(in) - 1, 1, (eof)), (expect)); \
} while (0)

START_TEST(test_lines_lf_crlf)
{
	ck_events(100, "PING\nECHO a b\r\n\r\nx", 0, "[PING][ECHO a b][]");
	ck_events(100, "PING\nlast", 1, "[PING][last]");
	ck_events(100, "a\rb\n", 0, "[a\rb]");
	ck_events(100, "a\r", 1, "[a]");
	ck_events(100, "", 1, "");
}
END_TEST

START_TEST(test_long_lines)
{
	/* Exactly max_line is fine, with either line ending. */
	ck_events(4, "abcd\nabcd\r\nab\n", 0, "[abcd][abcd][ab]");
	/* One more: one error, the rest of the line skipped, then usable again. */
	ck_events(4, "abcde\nPING\n", 0, "<long>[PING]");
	ck_events(4, "abcdefghijklmnop\r\nPING\r\n", 0, "<long>[PING]");
	ck_events(4, "abcd\rX\nok\n", 0, "<long>[ok]");
	ck_events(4, "abcdefgh", 1, "<long>");
}
END_TEST

START_TEST(test_telnet_iac)
{
	/* Option negotiation is consumed. */
	ck_events(100, "\xff\xfb\x01PI\xff\xfd\x03NG\n", 0, "[PING]");
	/* Subnegotiation up to IAC SE is consumed, even with IAC IAC inside. */
	ck_events(100, "\xff\xfa\x18\x00xterm\xff\xff\xff\xf0PING\n", 0, "[PING]");
	/* IAC IAC is a literal 0xff data byte. */
	ck_events(100, "a\xff\xff" "b\n", 0, "[a\xff" "b]");
	/* Ctrl-C: IAC IP, then telnet's IAC DO TIMING-MARK. */
	ck_events(100, "SLEE\xff\xf4\xff\xfd\x06", 0, "<ip>");
	/* Erase character and erase line. */
	ck_events(100, "PINGG\xff\xf7\n", 0, "[PING]");
	ck_events(100, "junk\xff\xf8PING\n", 0, "[PING]");
	/* NOP, AYT, GA are ignored; CR NUL ends a line. */
	ck_events(100, "P\xff\xf1I\xff\xf6N\xff\xf9G\r", 0, "");
	ck_events(100, "PING\r\0ECHO x\r\n", 0, "[PING][ECHO x]");
}
END_TEST

/* IAC SB, `n` copies of `unit` (ulen bytes), then `tail`: into buf; returns the length. */
static size_t
sb_input(char *buf, size_t size, const char *unit, size_t ulen, size_t n, const char *tail)
{
	size_t len = 0, i;

	buf[len++] = (char)TELNET_IAC;
	buf[len++] = (char)TELNET_SB;
	for (i = 0; i < n; i++) {
		ck_assert_uint_le(len + ulen, size);
		memcpy(buf + len, unit, ulen);
		len += ulen;
	}
	ck_assert_uint_le(len + strlen(tail), size);
	memcpy(buf + len, tail, strlen(tail));
	return len + strlen(tail);
}

/* The events of `in` must start with `prefix`, fed at once and byte by byte. */
static void
ck_events_start(const char *in, size_t len, const char *prefix)
{
	int bytewise;

	for (bytewise = 0; bytewise < 2; bytewise++) {
		const char *out = events(100, in, len, bytewise, 0);

		ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0,
		    "%s: events '%.60s', expected '%s...'", bytewise ? "bytewise" : "at once", out,
		    prefix);
	}
}

/*
 * A subnegotiation is at most COMMAND_SB_MAX bytes, whatever they are:
 * plain bytes, escaped 0xff (IAC IAC) or IAC followed by anything but SE.
 * An endless one gives one error event instead of consuming input forever.
 */
START_TEST(test_telnet_sb_bound)
{
	static char in[4096];
	struct command_reader r;
	const char *line;
	size_t len, n;

	/* 512 bytes and its end: consumed; the next line is read */
	len = sb_input(in, sizeof(in), "a", 1, COMMAND_SB_MAX, "\xff\xf0PING\n");
	ck_events_start(in, len, "[PING]");
	ck_assert_str_eq(events(100, in, len, 0, 0), "[PING]");
	/* with escaped 0xff bytes, within the bound */
	len = sb_input(in, sizeof(in), "\xff\xff", 2, COMMAND_SB_MAX / 2, "\xff\xf0PING\n");
	ck_assert_str_eq(events(100, in, len, 0, 0), "[PING]");
	ck_assert_str_eq(events(100, in, len, 1, 0), "[PING]");
	/* one byte more, without an end: the error */
	len = sb_input(in, sizeof(in), "a", 1, COMMAND_SB_MAX + 1, "");
	ck_assert_str_eq(events(100, in, len, 0, 0), "<sb>");
	ck_assert_str_eq(events(100, in, len, 1, 0), "<sb>");
	/* endless escaped 0xff: bounded too */
	len = sb_input(in, sizeof(in), "\xff\xff", 2, 1000, "");
	ck_events_start(in, len, "<sb>");
	/* endless IAC + not-SE pairs: bounded too */
	len = sb_input(in, sizeof(in), "\xff\x01", 2, 1000, "");
	ck_events_start(in, len, "<sb>");
	/* while inside a subnegotiation, the reader has a partial line (line_timeout runs) */
	command_reader_init(&r, 100);
	command_reader_push(&r, "\xff\xfa\x18", 3);
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_NONE);
	ck_assert(command_reader_partial(&r));
	command_reader_push(&r, "\xff\xf0", 2);
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_NONE);
	ck_assert(!command_reader_partial(&r));
	command_reader_free(&r);
}
END_TEST

START_TEST(test_ctrl_d)
{
	ck_events(100, "\x04", 0, "<eot>");
	ck_events(100, "PING\n\x04", 0, "[PING]<eot>");
	/* Not on an empty line: dropped. */
	ck_events(100, "PI\x04NG\n", 0, "[PING]");
}
END_TEST

START_TEST(test_reader_resumes)
{
	struct command_reader r;
	const char           *line;
	size_t                n;

	command_reader_init(&r, 16);
	command_reader_push(&r, "A\nB\nC", 5);
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_LINE);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(line[0], 'A');
	/* The caller stops here (pipelining limit); the rest stays buffered. */
	ck_assert_int_eq(command_reader_pending(&r), 3);
	command_reader_push(&r, "\n", 1);
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_LINE);
	ck_assert_int_eq(line[0], 'B');
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_LINE);
	ck_assert_int_eq(line[0], 'C');
	ck_assert_int_eq(command_reader_next(&r, 0, &line, &n), COMMAND_EV_NONE);
	command_reader_free(&r);
}
END_TEST

static int
parse(const char *line, struct command_req *req, char *err)
{
	return command_parse(line, strlen(line), 10000, req, err, 128);
}

START_TEST(test_parse_simple_case_insensitive)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("ping", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_PING);
	ck_assert_int_eq(parse("  PiNg  ", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_PING);
	ck_assert_int_eq(parse("help", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_HELP);
	ck_assert_int_eq(parse("Quit", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_QUIT);
	ck_assert_int_eq(parse("TIME", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_TIME);
	ck_assert_int_eq(parse("", &req, err), 1);
	ck_assert_int_eq(parse(" \t ", &req, err), 1);
	ck_assert_int_eq(parse("PING x", &req, err), -1);
	ck_assert_str_eq(err, "usage: PING");
	ck_assert_int_eq(parse("TIME now", &req, err), -1);
	ck_assert_int_eq(parse("PINGX", &req, err), -1);
	ck_assert_str_eq(err, "unknown command 'PINGX', try HELP");
	ck_assert_int_eq(parse("\x01\x02", &req, err), -1);
	ck_assert_str_eq(err, "unknown command, try HELP");
}
END_TEST

START_TEST(test_parse_echo)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("echo Hello,  World ", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_ECHO);
	ck_assert_int_eq(req.textlen, 14);
	ck_assert_int_eq(strncmp(req.text, "Hello,  World ", 14), 0);
	ck_assert_int_eq(parse("ECHO", &req, err), 0);
	ck_assert_int_eq(req.textlen, 0);
}
END_TEST

START_TEST(test_parse_resolve)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("RESOLVE localhost", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_RESOLVE);
	ck_assert_str_eq(req.host, "localhost");
	ck_assert_int_eq(req.family, AF_UNSPEC);
	ck_assert_int_eq(parse("resolve ::1 V6", &req, err), 0);
	ck_assert_int_eq(req.family, AF_INET6);
	ck_assert_int_eq(parse("resolve 127.0.0.1 v4", &req, err), 0);
	ck_assert_int_eq(req.family, AF_INET);
	ck_assert_int_eq(parse("RESOLVE", &req, err), -1);
	ck_assert_str_eq(err, "usage: RESOLVE <host> [v4|v6]");
	ck_assert_int_eq(parse("RESOLVE a v5", &req, err), -1);
	ck_assert_str_eq(err, "address family must be v4 or v6");
	ck_assert_int_eq(parse("RESOLVE a v4 x", &req, err), -1);
	ck_assert_int_eq(parse("RESOLVE a/b", &req, err), -1);
	ck_assert_str_eq(err, "bad host name");
}
END_TEST

START_TEST(test_parse_digest)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("DIGEST SHA256 hello world", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_DIGEST);
	ck_assert_str_eq(req.alg, "sha256");
	ck_assert_int_eq(req.textlen, 11);
	ck_assert_int_eq(strncmp(req.text, "hello world", 11), 0);
	ck_assert_int_eq(parse("digest md5 x", &req, err), 0);
	ck_assert_str_eq(req.alg, "md5");
	ck_assert_int_eq(parse("digest sha1 x", &req, err), 0);
	ck_assert_int_eq(parse("digest sha512 x", &req, err), 0);
	ck_assert_int_eq(parse("DIGEST sha3 x", &req, err), -1);
	ck_assert_str_eq(err, "unknown digest, expected sha256, sha512, sha1 or md5");
	ck_assert_int_eq(parse("DIGEST sha256", &req, err), -1);
	ck_assert_int_eq(parse("DIGEST", &req, err), -1);
	ck_assert_str_eq(err, "usage: DIGEST <sha256|sha512|sha1|md5> <text>");
}
END_TEST

START_TEST(test_parse_sleep)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("SLEEP 0", &req, err), 0);
	ck_assert_int_eq(req.ms, 0);
	ck_assert_int_eq(parse("sleep 10000", &req, err), 0);
	ck_assert_int_eq(req.ms, 10000);
	ck_assert_int_eq(parse("sleep 10001", &req, err), -1);
	ck_assert_str_eq(err, "ms must be a number from 0 to 10000");
	ck_assert_int_eq(parse("sleep 99999999999999999999999", &req, err), -1);
	ck_assert_int_eq(parse("sleep -1", &req, err), -1);
	ck_assert_int_eq(parse("sleep 1s", &req, err), -1);
	ck_assert_int_eq(parse("sleep", &req, err), -1);
	ck_assert_str_eq(err, "usage: SLEEP <ms>");
	ck_assert_int_eq(parse("sleep 1 2", &req, err), -1);
}
END_TEST

START_TEST(test_parse_block)
{
	struct command_req req;
	char               err[128];

	ck_assert_int_eq(parse("BLOCK 150", &req, err), 0);
	ck_assert_int_eq(req.id, COMMAND_BLOCK);
	ck_assert_int_eq(req.ms, 150);
	ck_assert_int_eq(parse("block 10001", &req, err), -1);
	ck_assert_str_eq(err, "ms must be a number from 0 to 10000");
	ck_assert_int_eq(parse("block", &req, err), -1);
	ck_assert_str_eq(err, "usage: BLOCK <ms>");
	ck_assert_int_eq(parse("block 5 x", &req, err), -1);
}
END_TEST

START_TEST(test_help_table)
{
	int i;

	for (i = 0; i < COMMAND_COUNT; i++) {
		ck_assert_int_eq(strncmp(command_help(i), command_name(i), strlen(command_name(i))), 0);
		ck_assert_ptr_nonnull(strstr(command_help(i), " - "));
	}
}
END_TEST

static Suite *
command_suite(void)
{
	Suite *s = suite_create("command");
	TCase *tc = tcase_create("reader");
	TCase *tp = tcase_create("parser");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_lines_lf_crlf);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_telnet_iac);
	tcase_add_test(tc, test_telnet_sb_bound);
	tcase_add_test(tc, test_ctrl_d);
	tcase_add_test(tc, test_reader_resumes);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 10);
	tcase_add_test(tp, test_parse_simple_case_insensitive);
	tcase_add_test(tp, test_parse_echo);
	tcase_add_test(tp, test_parse_resolve);
	tcase_add_test(tp, test_parse_digest);
	tcase_add_test(tp, test_parse_sleep);
	tcase_add_test(tp, test_parse_block);
	tcase_add_test(tp, test_help_table);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	return unit_main(command_suite());
}
