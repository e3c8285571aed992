/*
 * command.h: the pure parts of the command service: splitting the byte
 * stream into lines (LF or CRLF, a length limit, telnet IAC sequences) and
 * parsing one line into a validated request. No I/O, no globals; used by
 * service_command.c on the loop thread and by the unit tests.
 */
#ifndef ECHOD_COMMAND_H
#define ECHOD_COMMAND_H

#include <stddef.h>
#include <stdint.h>

/* Telnet bytes (RFC 854). */
#define TELNET_IAC   255
#define TELNET_DONT  254
#define TELNET_DO    253
#define TELNET_WONT  252
#define TELNET_WILL  251
#define TELNET_SB    250
#define TELNET_EL    248
#define TELNET_EC    247
#define TELNET_IP    244
#define TELNET_SE    240
#define COMMAND_EOT  0x04    /* Ctrl-D */

enum command_event {
	COMMAND_EV_NONE = 0,     /* need more input */
	COMMAND_EV_LINE,         /* a complete line (without its line ending) */
	COMMAND_EV_TOO_LONG,     /* a line passed max_line; the rest of it is skipped */
	COMMAND_EV_INTERRUPT,    /* telnet IAC IP (Ctrl-C) */
	COMMAND_EV_EOT,          /* Ctrl-D on an empty line */
	COMMAND_EV_SB_TOO_LONG,  /* a telnet subnegotiation passed COMMAND_SB_MAX bytes */
};

/* Longest telnet subnegotiation (IAC SB ... IAC SE) a reader accepts. */
#define COMMAND_SB_MAX 512

/*
 * Line reader. Bytes go in with command_reader_push(); events come out of
 * command_reader_next() one at a time, so the caller may stop taking lines
 * (pipelining limit) and resume later: unread bytes stay buffered.
 */
struct command_reader {
	size_t   max_line;
	char    *line;           /* max_line + 1 bytes */
	size_t   len;
	int      cr;             /* a CR was seen and not yet stored */
	int      skipping;       /* discarding the rest of a too-long line */
	int      iac;            /* telnet parser state */
	size_t   sblen;          /* bytes of the current subnegotiation */
	char    *in;             /* pushed, not yet parsed */
	size_t   inoff;
	size_t   inlen;
	size_t   incap;
};

/* Both return -1 when out of memory (nothing taken; the caller fails the connection). */
int      command_reader_init(struct command_reader *r, size_t max_line);
void     command_reader_free(struct command_reader *r);
int      command_reader_push(struct command_reader *r, const void *data, size_t len);
/* Bytes pushed and not yet parsed. */
size_t   command_reader_pending(const struct command_reader *r);
/* 1 while part of a line (or of a telnet sequence) has arrived and its end has not. */
int      command_reader_partial(const struct command_reader *r);
/*
 * Next event. For COMMAND_EV_LINE, *line and *len point into the reader, valid
 * until the next call. With `eof` set, a final line without a line ending is
 * returned as a line.
 */
enum command_event command_reader_next(struct command_reader *r, int eof,
                       const char **line, size_t *len);

enum command_id {
	COMMAND_HELP = 0,
	COMMAND_QUIT,
	COMMAND_PING,
	COMMAND_ECHO,
	COMMAND_TIME,
	COMMAND_RESOLVE,
	COMMAND_DIGEST,
	COMMAND_SLEEP,
	COMMAND_BLOCK,      /* debug mode only: busy-waits on the loop thread */
	COMMAND_COUNT,
};

#define COMMAND_HOST_MAX 253

struct command_req {
	enum command_id  id;
	const char      *text;      /* ECHO, DIGEST: points into the line */
	size_t           textlen;
	char             host[COMMAND_HOST_MAX + 1];  /* RESOLVE */
	int              family;    /* RESOLVE: AF_UNSPEC, AF_INET, AF_INET6 */
	char             alg[8];    /* DIGEST: "sha256", "sha512", "sha1", "md5" */
	uint64_t         ms;        /* SLEEP, BLOCK */
};

/*
 * Parse one line. Returns 0 and fills *req, or -1 with the reason for the
 * "-ERR <reason>" reply in err (NUL-terminated, truncated to errsize). A blank
 * line returns 1: no command, no reply.
 */
int          command_parse(const char *line, size_t len, uint64_t max_sleep_ms,
                 struct command_req *req, char *err, size_t errsize);
const char  *command_name(enum command_id id);
/* One "NAME args - what" line per command, for HELP. */
const char  *command_help(enum command_id id);

#endif
