/* bench_clock.h — the monotonic clock in µs and the u64 comparison for
 * qsort that the bench programs share. Header only (each bench is one .c
 * file). */
#ifndef IMC_BENCH_CLOCK_H
#define IMC_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in µs. */
static inline uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* qsort comparator for uint64_t, ascending. */
static inline int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

#endif
