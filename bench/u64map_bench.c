/* u64map_bench.c — what one put costs while a u64map grows (src/util/u64map.c).
 *
 *   build/bench/u64map_bench [N]      (default 1000000)
 *
 * Puts N keys shaped as the presence map's (sdkappid << 32 | user_no, user
 * numbers 1…N) into a fresh map, as logins do on the loop, and prints for
 * every power-of-two range of puts the slowest single put (thread CPU time,
 * CLOCK_THREAD_CPUTIME_ID, one reading around each put) and the mean per
 * put (a second fresh map, one reading per range: the clock costs more than
 * a put). Then the mean get of a present and of an absent key, and the mean
 * removal. The slowest put of a range is where a one-shot doubling shows:
 * it rehashed every key in that call. Per-operation CPU, not wall time; on
 * a loaded VM stolen time counts too, so `over_100us` (puts slower than
 * 100 µs) and, where the map grows in steps (U64MAP_MOVE_STEP defined),
 * `moves_max` (the most old slots one put moved) are the steadier figures;
 * `faults_max` is the most minor page faults one put took (first touches of
 * a new table: the kernel zeroes each page then), `faults_of_slowest` those
 * of the slowest put. */
#include "util/u64map.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/types.h>

static long minflt(void)
{
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

static uint64_t cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define APP 1400000001ull
static uint64_t key_of(long i) { return APP << 32 | (uint64_t)i; }

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  if (n <= 0 || n > 100000000) { fprintf(stderr, "usage: u64map_bench [N]\n"); return 2; }
  u64map_t a, b;
  u64map_init(&a);
  u64map_init(&b);
  uint64_t worst = 0, worst_all = 0;
#ifdef U64MAP_MOVE_STEP
  size_t moves_max = 0;
#endif
  long over = 0, faults_max = 0, faults_slow = 0;
  long from = 1;
  uint64_t total_b = 0;
  for (long i = 1; i <= n; i++) {
#ifdef U64MAP_MOVE_STEP
    size_t left = u64map_moves_left(&a);
#endif
    long f0 = minflt();
    uint64_t t0 = cpu_ns();
    int rc = u64map_put(&a, key_of(i), (void *)(uintptr_t)i);
    uint64_t d = cpu_ns() - t0;
    long f = minflt() - f0;
    if (rc) { fprintf(stderr, "put %ld: %d\n", i, rc); return 1; }
    if (f > faults_max) faults_max = f;
    if (d > worst_all && d > worst) faults_slow = f;
#ifdef U64MAP_MOVE_STEP
    size_t left1 = u64map_moves_left(&a);
    if (left > left1 && left - left1 > moves_max) moves_max = left - left1;
#endif
    if (d > worst) worst = d;
    over += d > 100000;
    if (i == n || ((i + 1) & i) == 0) { /* i + 1 a power of two: end of a range */
      uint64_t t1 = cpu_ns();
      for (long j = from; j <= i; j++)
        if (u64map_put(&b, key_of(j), (void *)(uintptr_t)j)) { fprintf(stderr, "put %ld\n", j); return 1; }
      uint64_t mean = cpu_ns() - t1;
      total_b += mean;
      printf("puts %ld-%ld: slowest_us=%.1f mean_ns=%.1f\n", from, i, worst / 1e3, mean / (double)(i - from + 1));
      if (worst > worst_all) worst_all = worst;
      from = i + 1;
      worst = 0;
    }
  }
  uint64_t t0 = cpu_ns(), sum = 0;
  for (long i = 1; i <= n; i++) sum += (uintptr_t)u64map_get(&b, key_of(i));
  uint64_t t_get = cpu_ns() - t0;
  t0 = cpu_ns();
  for (long i = 1; i <= n; i++) sum += (uintptr_t)u64map_get(&b, key_of(n + i));
  uint64_t t_miss = cpu_ns() - t0;
  t0 = cpu_ns();
  for (long i = 1; i <= n; i++) sum += (uintptr_t)u64map_del(&b, key_of(i));
  uint64_t t_del = cpu_ns() - t0;
  printf("keys=%ld slowest_put_us=%.1f over_100us=%ld faults_of_slowest=%ld faults_max=%ld moves_max=%zd mean_put_ns=%.1f mean_get_ns=%.1f mean_get_absent_ns=%.1f mean_del_ns=%.1f (check %llu)\n", n,
         worst_all / 1e3, over, faults_slow, faults_max,
#ifdef U64MAP_MOVE_STEP
         (ssize_t)moves_max,
#else
         (ssize_t)-1, /* one-shot doublings: every key */
#endif
         total_b / (double)n, t_get / (double)n, t_miss / (double)n, t_del / (double)n,
         (unsigned long long)(sum % 1000));
  u64map_free(&a);
  u64map_free(&b);
  return 0;
}
