/*
 * siphash.h: SipHash (Aumasson and Bernstein), a keyed hash for tables
 * whose keys an attacker chooses (peer addresses). Pure functions, any
 * thread. SipHash-1-3 for table lookups; SipHash-2-4, the variant with
 * published test vectors, checks the implementation.
 */
#ifndef ECHOD_SIPHASH_H
#define ECHOD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* 128-bit key: 16 bytes, read little-endian as two words. */
struct siphash_key {
	uint64_t k0;
	uint64_t k1;
};

uint64_t siphash13(const struct siphash_key *k, const void *data, size_t len);
uint64_t siphash24(const struct siphash_key *k, const void *data, size_t len);
/* The key from 16 bytes (as the reference implementation reads it). */
void     siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16]);
/*
 * A per-process random key from getrandom() (/dev/urandom if that is
 * missing), drawn on the first call; thread-safe. Stops the process if the
 * system has no randomness at all (only possible at start-up).
 */
const struct siphash_key *siphash_process_key(void);

#endif
