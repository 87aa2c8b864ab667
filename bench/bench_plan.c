/* bench_plan — cost of the edition check on the server's hot paths:
 *  1. allowed checks (the common case: a limit with room), s2022 pro;
 *  2. refusals, which build the human message (rare: a client at its limit);
 *  3. plan_limit (retention, recent conversations). Pure, single thread.
 * Prints ns per call. Usage: bench_plan [N] (default 20,000,000). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "plan/plan.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 20000000;
  if (n < 1000) n = 1000;
  plan_app_t pro, trial;
  plan_verdict_t v;
  if (plan_app_init(&pro, "s2022", "pro", "china") || plan_app_init(&trial, "s2022", "trial", "china") ||
      plan_app_hold(&pro, PLAN_HOLD_MEMBER_CAP, 2000)) {
    fprintf(stderr, "catalog: %s\n", plan_catalog_error() ? plan_catalog_error() : "init failed");
    return 1;
  }
  long ok = 0, refused = 0;
  double t0 = now_s();
  for (long i = 0; i < n; i++) ok += plan_check(&pro, 0, PLAN_L_MEMBERS, i % 2000, 1, &v) == 0;
  double t1 = now_s();
  long m = n / 10;
  for (long i = 0; i < m; i++) refused += plan_check(&trial, 0, i & 1 ? PLAN_L_FRIENDS : PLAN_F_COMMUNITY, 20, 1, &v) != 0;
  double t2 = now_s();
  int64_t sum = 0;
  for (long i = 0; i < n; i++) sum += plan_limit(&pro, 0, PLAN_L_HISTORY_DAYS);
  double t3 = now_s();
  printf("plan_check allowed:  %6.1f ns/call (%ld calls, %ld allowed)\n", (t1 - t0) / (double)n * 1e9, n, ok);
  printf("plan_check refused:  %6.1f ns/call (%ld calls, %ld refused, message built)\n", (t2 - t1) / (double)m * 1e9, m, refused);
  printf("plan_limit:          %6.1f ns/call (checksum %lld)\n", (t3 - t2) / (double)n * 1e9, (long long)sum);
  return ok == n && refused == m ? 0 : 1;
}
