/*
 * fuzz.h: what the libFuzzer harnesses in tests/fuzz share: the entry
 * points' prototypes, FUZZ_CHECK for invariants (a failure prints what broke
 * and aborts, so libFuzzer saves the input as a crash), and small helpers
 * for turning the input into what a parser takes. Harnesses run on
 * libFuzzer's single thread.
 */
#ifndef ECHOD_FUZZ_H
#define ECHOD_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the parser under test: report and abort when it is broken. */
#define FUZZ_CHECK(cond, ...) do {						\
	if (!(cond))								\
		fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);		\
} while (0)

static inline void __attribute__((noreturn, format(printf, 4, 5)))
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==FUZZ== invariant broken at %s:%d: %s\n==FUZZ== ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The input up to its first NUL, as a C string the caller frees. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/* A heap copy of exactly size bytes, so ASan sees a read past the end. */
static inline char *
fuzz_copy(const char *s, size_t size)
{
	char *p = xmalloc(size > 0 ? size : 1);

	memcpy(p, s, size);
	return p;
}

/*
 * A small deterministic generator (xorshift64*) for choices derived from the
 * input, such as where to split a byte stream.
 */
static inline uint64_t
fuzz_rand(uint64_t *state)
{
	uint64_t x = *state != 0 ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#endif
