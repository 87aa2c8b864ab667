/* bench_bill_run — the monthly bill run (src/meter/bills.c) over N apps
 * (default 100,000) with a month of daily usage each (31 imported daily DAU
 * rows, legacy apps billed on peak DAU), into a fresh SQLite database in a
 * temporary directory: the time of the first run (pricing from stored usage
 * and storing the numbered bills, synchronous=FULL commits per 10,000 apps),
 * of a second run (a no-op), and a check that the stored bills are byte for
 * byte the same after it; wall and CPU seconds of each run (on a shared box
 * the wall time also counts waiting for the core and for fsync).
 * Instruction counts of the runs only (docs/BENCHMARKS.md): valgrind
 * --tool=callgrind --instr-atstart=no --toggle-collect=meter_bill_run
 * build/bench/bench_bill_run 10000. BENCH_KEEP=1 keeps the temporary directory (its path is printed).
 * Usage: bench_bill_run [N]   (docs/BENCHMARKS.md: taskset -c 0 build/bench/bench_bill_run 100000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "meter/meter.h"
#include "store/store.h"
#include "util/date.h"

/* Under valgrind --instr-atstart=no only the runs are instrumented (the
 * setup then runs at near-native speed); without the header, no-ops. */
#if defined(__has_include) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process: on a shared box the wall
 * time includes waiting for the core and for fsync; both are printed.
 * sys_s: the system part alone (writing the WAL, checkpoints). */
static double sys_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void on_bill(void *ud, const store_bill_t *b)
{
  uint64_t *h = ud;
  for (const unsigned char *p = (const unsigned char *)b->body; *p; p++) *h = (*h ^ *p) * 1099511628211ull;
  for (const char *p = b->number; *p; p++) *h = (*h ^ (unsigned char)*p) * 1099511628211ull;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 100000;
  char dir[] = "/tmp/imcloud-billbench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  store_t *s;
  int64_t cust;
  if (store_open(dir, &s) || store_customer_create(s, "bench", 1, &cust)) return 1;
  double t0 = now_s();
  store_exec(s, "BEGIN IMMEDIATE");
  int64_t doc;
  for (long i = 0; i < n; i++) {
    store_app_t a = { 0 };
    a.sdkappid = 1400000001u + (uint32_t)i;
    a.customer_id = cust;
    strcpy(a.name, "a"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
    strcpy(a.scheme, "legacy"); strcpy(a.edition, "legacy");
    a.created_at_s = 1546272000;
    if (store_app_insert(s, &a) || store_usage_import_doc(s, a.sdkappid, 202610, "bench", "{}", 1, &doc)) return 1;
    for (int d = 1; d <= 31; d++)
      if (store_usage_import_put(s, a.sdkappid, 20261000 + d, METER_M_DAU, (i * 7919 + d * 104729) % 250000, doc)) return 1;
  }
  store_exec(s, "COMMIT");
  double t1 = now_s();
  printf("setup: %ld apps, %ld daily usage rows in %.1f s\n", n, n * 31, t1 - t0);
  int64_t run_at = imc_day_start(imc_days_from_civil(2026, 11, 1), IMC_TZ_CHINA_S);
  meter_bill_run_stats_t st;
  char err[256];
  CALLGRIND_START_INSTRUMENTATION;
  double t2 = now_s(), c2 = cpu_s(), y2 = sys_s();
  int rc = meter_bill_run(s, 0, 202610, run_at, IMC_TZ_CHINA_S, meter_orders_none, NULL, &st, err, sizeof err);
  double t3 = now_s(), c3 = cpu_s(), y3 = sys_s();
  if (rc || st.issued != n) { fprintf(stderr, "run failed: %d %s (issued %d)\n", rc, err, st.issued); return 1; }
  uint64_t h1 = 1469598103934665603ull, h2 = h1;
  store_bill_each(s, 0, 0, on_bill, &h1);
  double t4 = now_s(), c4 = cpu_s();
  rc = meter_bill_run(s, 0, 202610, run_at + 3600, IMC_TZ_CHINA_S, meter_orders_none, NULL, &st, err, sizeof err);
  double t5 = now_s(), c5 = cpu_s();
  CALLGRIND_STOP_INSTRUMENTATION;
  store_bill_each(s, 0, 0, on_bill, &h2);
  if (rc || st.issued != 0 || st.existing != n || h1 != h2) { fprintf(stderr, "second run changed something\n"); return 1; }
  printf("first run:  %ld bills priced and stored in %.2f s wall, %.2f s CPU of which %.2f s system (%.0f apps/s wall)\n", n,
         t3 - t2, c3 - c2, y3 - y2, n / (t3 - t2));
  printf("second run: %ld apps, 0 issued, in %.2f s wall, %.2f s CPU; stored bills byte-identical (fnv %016llx)\n", n,
         t5 - t4, c5 - c4, (unsigned long long)h1);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
  store_close(s);
  if (getenv("BENCH_KEEP")) { printf("kept %s\n", dir); return 0; } /* BENCH_KEEP=1: the database stays for inspection */
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
