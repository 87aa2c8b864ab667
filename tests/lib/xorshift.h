/* xorshift.h — a seeded xorshift64 generator for the tests' random
 * operation sequences (reproducible: the same seed, the same sequence).
 * One state per test file; not for anything but tests. */
#ifndef IMC_TESTS_XORSHIFT_H
#define IMC_TESTS_XORSHIFT_H

#include <stdint.h>

static uint64_t rng_state; /* seed it (non-zero) before the first rnd() */

static inline uint64_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

#endif
