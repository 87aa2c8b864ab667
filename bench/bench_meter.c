/* bench_meter — in-process ingest of login events into exact DAU/MAU
 * (src/meter core: dense user numbers, roaring → flat bitset sets).
 *  1. one big app, U distinct users (default 10,000,000) a day: day 1 every
 *     user once in a shuffled order (cold: the sets start sparse and switch
 *     to flat); day 2 every user once again (new for the day; the day set
 *     starts flat like day 1's), then 4·U logins of random users of the day
 *     (duplicates, the common case); events/s per phase, and the meter's
 *     memory (two day sets and the month set);
 *  2. many small apps (default 100,000 × users 1..100: flat sets);
 *  3. 100 sparse big apps (20,000 daily users of 10,000,000 numbers: roaring).
 * The event arrays are generated before the clock starts. Results are
 * checked (DAU and MAU must equal U exactly). Usage: bench_meter [U] [APPS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "meter/meter.h"
#include "util/date.h"

/* Rates use the CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), so a
 * shared, loaded machine does not count other processes' time; the wall
 * time of the whole run is printed at the end for comparison. */
static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static inline uint64_t xorshift(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char **argv)
{
  uint32_t users = argc > 1 ? (uint32_t)atol(argv[1]) : 10000000;
  long napps = argc > 2 ? atol(argv[2]) : 100000;
  const uint32_t app = 1400000001;
  const int64_t day0 = imc_day_start(imc_days_from_civil(2026, 11, 2), IMC_TZ_CHINA_S);
  size_t nrep = (size_t)users * 4;
  uint32_t *perm = malloc(users * sizeof *perm), *rep = malloc(nrep * sizeof *rep);
  int64_t *tim = malloc(nrep * sizeof *tim);
  if (!perm || !rep || !tim) { fprintf(stderr, "out of memory\n"); return 1; }
  for (uint32_t i = 0; i < users; i++) perm[i] = i + 1;
  for (uint32_t i = users - 1; i > 0; i--) { uint32_t j = (uint32_t)(xorshift() % (i + 1)), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
  for (size_t i = 0; i < nrep; i++) { rep[i] = (uint32_t)(xorshift() % users) + 1; tim[i] = day0 + 3600 + (int64_t)(i * 80000 / nrep); }

  double w0 = wall_s();
  meter_t *m;
  if (meter_create(IMC_TZ_CHINA_S, &m)) return 1;
  /* day 1 (cold start): every user once; the sets start sparse and switch */
  double t0 = now_s();
  for (uint32_t i = 0; i < users; i++) meter_login(m, app, perm[i], tim[(size_t)i * 4]);
  double t1 = now_s();
  /* day 2 (steady state): the sets start flat like day 1's; every user once, then 4·U repeats */
  for (uint32_t i = users - 1; i > 0; i--) { uint32_t j = (uint32_t)(xorshift() % (i + 1)), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
  double t2 = now_s();
  for (uint32_t i = 0; i < users; i++) meter_login(m, app, perm[i], tim[(size_t)i * 4] + 86400);
  double t3 = now_s();
  for (size_t i = 0; i < nrep; i++) meter_login(m, app, rep[i], tim[i] + 86400);
  double t4 = now_s();
  meter_month_t mo;
  meter_month(m, app, 202611, &mo);
  int64_t d1 = meter_dau(m, app, 20261102), d2 = meter_dau(m, app, 20261103);
  if (d1 != users || d2 != users || mo.mau != users) {
    fprintf(stderr, "WRONG: dau %lld/%lld mau %lld users %u\n", (long long)d1, (long long)d2, (long long)mo.mau, users);
    return 1;
  }
  size_t mem = meter_mem_bytes(m);
  printf("one app, %u distinct users per day, two days: DAU %lld and %lld, MAU %lld (exact)\n", users, (long long)d1,
         (long long)d2, (long long)mo.mau);
  printf("  day 1, first logins (cold)   %10u events  %7.1f M events/s  %6.2f ns/event\n", users, users / (t1 - t0) / 1e6, (t1 - t0) * 1e9 / users);
  printf("  day 2, first logins          %10u events  %7.1f M events/s  %6.2f ns/event\n", users, users / (t3 - t2) / 1e6, (t3 - t2) * 1e9 / users);
  printf("  day 2, repeat logins         %10zu events  %7.1f M events/s  %6.2f ns/event\n", nrep, nrep / (t4 - t3) / 1e6, (t4 - t3) * 1e9 / nrep);
  printf("  day 2, all                   %10zu events  %7.1f M events/s\n", users + nrep, (users + nrep) / (t4 - t2) / 1e6);
  printf("  meter memory with 2 days and the month: %.2f MiB (%.3f bytes per distinct user per set)\n", mem / 1048576.0,
         (double)mem / users / 3);
  meter_free(m);

  /* many small apps with dense numbers 1..100 (flat), 3 logins per user, apps interleaved */
  if (meter_create(IMC_TZ_CHINA_S, &m)) return 1;
  size_t nsmall = (size_t)napps * 300;
  uint32_t *sa = realloc(rep, nsmall * sizeof *sa), *su = malloc(nsmall * sizeof *su);
  if (!sa || !su) { fprintf(stderr, "out of memory\n"); return 1; }
  for (size_t i = 0; i < nsmall; i++) { sa[i] = app + (uint32_t)(xorshift() % (uint64_t)napps); su[i] = (uint32_t)(xorshift() % 100) + 1; }
  double t5 = now_s();
  for (size_t i = 0; i < nsmall; i++) meter_login(m, sa[i], su[i], day0 + 7200);
  double t6 = now_s();
  printf("%ld small apps (users 1..100, flat), interleaved: %zu events  %.1f M events/s  memory %.1f MiB\n",
         napps, nsmall, nsmall / (t6 - t5) / 1e6, meter_mem_bytes(m) / 1048576.0);
  meter_free(m);

  /* sparse: 100 apps with 10,000,000 user numbers each and 20,000 users a day (roaring) */
  if (meter_create(IMC_TZ_CHINA_S, &m)) return 1;
  size_t nsp = 100 * 20000 * 3;
  if (nsp > nsmall) nsp = nsmall;
  for (size_t i = 0; i < nsp; i++) { sa[i] = app + (uint32_t)(xorshift() % 100); su[i] = (uint32_t)(xorshift() % 20000) * 499 + 1; }
  double t7 = now_s();
  for (size_t i = 0; i < nsp; i++) meter_login(m, sa[i], su[i], day0 + 7200);
  double t8 = now_s();
  printf("100 sparse apps (20,000 of 10,000,000 numbers, roaring), interleaved: %zu events  %.1f M events/s  memory %.1f MiB\n",
         nsp, nsp / (t8 - t7) / 1e6, meter_mem_bytes(m) / 1048576.0);
  meter_free(m);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %.1f MiB (includes the pre-generated event arrays); measured phases: %.2f s CPU, whole run %.2f s wall\n",
         ru.ru_maxrss / 1024.0, (t4 - t0) + (t6 - t5) + (t8 - t7), wall_s() - w0);
  free(perm); free(sa); free(su); free(tim);
  return 0;
}
