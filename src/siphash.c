/*
 * siphash.c: SipHash-c-d over byte strings, and the per-process random key.
 * Pure functions, any thread; siphash_process_key() draws the key once
 * under pthread_once.
 */
#include "autoconf.h"

#include <sys/random.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "siphash.h"
#include "util.h"

#define SIPHASH_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

struct siphash_state {
	uint64_t v0, v1, v2, v3;
};

static struct siphash_key siphash_proc_key;
static pthread_once_t siphash_proc_once = PTHREAD_ONCE_INIT;

static void
siphash_round(struct siphash_state *s)
{
	s->v0 += s->v1;
	s->v1 = SIPHASH_ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = SIPHASH_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = SIPHASH_ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = SIPHASH_ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = SIPHASH_ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = SIPHASH_ROTL(s->v2, 32);
}

static uint64_t
siphash_load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	/* A whole word: one load (the byte loop below is not always recognised as one). */
	if (n == 8) {
		memcpy(&v, p, sizeof(v));
		return le64toh(v);
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
siphash_compress(struct siphash_state *s, uint64_t m, int c)
{
	int i;

	s->v3 ^= m;
	for (i = 0; i < c; i++)
		siphash_round(s);
	s->v0 ^= m;
}

static uint64_t
siphash_cd(const struct siphash_key *k, const void *data, size_t len, int c, int d)
{
	struct siphash_state s;
	const uint8_t *p = data;
	size_t left = len;
	uint64_t last;
	int i;

	s.v0 = k->k0 ^ 0x736f6d6570736575ULL;
	s.v1 = k->k1 ^ 0x646f72616e646f6dULL;
	s.v2 = k->k0 ^ 0x6c7967656e657261ULL;
	s.v3 = k->k1 ^ 0x7465646279746573ULL;
	for (; left >= 8; p += 8, left -= 8)
		siphash_compress(&s, siphash_load_le(p, 8), c);
	last = siphash_load_le(p, left) | ((uint64_t)(len & 0xff) << 56);
	siphash_compress(&s, last, c);
	s.v2 ^= 0xff;
	for (i = 0; i < d; i++)
		siphash_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t
siphash13(const struct siphash_key *k, const void *data, size_t len)
{
	return siphash_cd(k, data, len, 1, 3);
}

uint64_t
siphash24(const struct siphash_key *k, const void *data, size_t len)
{
	return siphash_cd(k, data, len, 2, 4);
}

void
siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16])
{
	k->k0 = siphash_load_le(bytes, 8);
	k->k1 = siphash_load_le(bytes + 8, 8);
}

/* Fill buf from getrandom(), or /dev/urandom on a kernel without it. */
static int
siphash_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n == -1 && errno == EINTR)
			continue;
		else
			break;
	}
	if (got == len)
		return 0;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (got = 0; got < len; ) {
		n = read(fd, buf + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else if (!(n == -1 && errno == EINTR))
			break;
	}
	close(fd);
	return got == len ? 0 : -1;
}

static void
siphash_proc_init(void)
{
	uint8_t bytes[16];

	if (siphash_random(bytes, sizeof(bytes)) == -1)
		fatal("no randomness for the hash key (getrandom, /dev/urandom)");
	siphash_key_from_bytes(&siphash_proc_key, bytes);
}

const struct siphash_key *
siphash_process_key(void)
{
	pthread_once(&siphash_proc_once, siphash_proc_init);
	return &siphash_proc_key;
}
