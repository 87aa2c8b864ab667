/* bench_usage_login — CPU per durable login row: store_usage_login (one
 * new user-day: the usage_login insert and the correction trigger that asks
 * whether that month is billed), in transactions of 64 rows as the writer
 * groups logins, commits included, into a fresh SQLite database. Two rounds
 * (two days). Usage: taskset -c 0 build/bench/bench_usage_login [ROWS] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "store/store.h"

static double cpu_s(void)
{
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  char dir[] = "/tmp/imcloud-ulbench-XXXXXX";
  if (n < 1 || !mkdtemp(dir)) return 1;
  store_t *s;
  int64_t cust;
  if (store_open(dir, &s) || store_customer_create(s, "bench", 1, &cust)) return 1;
  store_app_t a = { 0 };
  a.sdkappid = 1400000001;
  a.customer_id = cust;
  snprintf(a.name, sizeof a.name, "a"); snprintf(a.secret_key, sizeof a.secret_key, "k");
  snprintf(a.region, sizeof a.region, "china"); snprintf(a.scheme, sizeof a.scheme, "s2022");
  snprintf(a.edition, sizeof a.edition, "pro");
  a.created_at_s = 1;
  if (store_app_insert(s, &a)) return 1;
  for (int round = 0; round < 2; round++) {
    double c0 = cpu_s();
    for (int i = 0; i < n; i += 64) {
      if (store_exec(s, "BEGIN IMMEDIATE")) return 1;
      for (int k = 0; k < 64 && i + k < n; k++)
        if (store_usage_login(s, a.sdkappid, 20261101 + round, (uint32_t)(i + k + 1))) return 1;
      if (store_exec(s, "COMMIT")) return 1;
    }
    printf("round %d: %d usage_login rows in transactions of 64: %.2f us CPU each, commits included\n", round, n,
           (cpu_s() - c0) * 1e6 / n);
  }
  store_close(s);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
