/* accounts_grow_bench.c — what one account put costs the loop while an
 * app's accounts table grows (src/tenant/registry.c).
 *
 *   build/bench/accounts_grow_bench [N]      (default 1000000)
 *
 * Puts N accounts ("u0", "u1", …, numbered 1…N) into one app of a fresh
 * store's registry, as logins' completions do on the loop, and prints, for
 * every power-of-two range of puts, the slowest single put (thread CPU time,
 * CLOCK_THREAD_CPUTIME_ID) and the mean, then the most table slots one put
 * moved (tenant_registry_account_moves_max) and the total. The slowest put
 * of a range is where a one-shot doubling shows: it rehashed every account
 * in that call. Per-operation CPU, not wall time: other work on the box
 * moves it less (a VM's stolen time still counts). */
#include "store/store.h"
#include "tenant/tenant.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  if (n <= 0 || n > 100000000) { fprintf(stderr, "usage: accounts_grow_bench [N]\n"); return 2; }
  char dir[] = "/tmp/imcloud-accounts-XXXXXX";
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  store_t *s;
  tenant_registry_t *r;
  int64_t cust;
  store_app_t rec;
  tenant_app_params_t p = { .name = "bench", .region = "china", .now_s = (int64_t)time(NULL) };
  if (store_open(dir, &s) || tenant_customer_create(s, "bench", 1, &cust)) { fprintf(stderr, "cannot open a store in %s\n", dir); return 1; }
  p.customer_id = cust;
  if (tenant_app_create(s, &p, &rec) || tenant_registry_load(s, &r)) { fprintf(stderr, "cannot create an app\n"); return 1; }
  uint32_t app = rec.sdkappid;
  uint64_t total = 0, worst = 0, sum = 0;
  long from = 1;
  char uid[32];
  for (long i = 1; i <= n; i++) {
    snprintf(uid, sizeof uid, "u%ld", i - 1);
    uint64_t t0 = cpu_ns();
    int rc = tenant_registry_account_put(r, app, uid, (uint32_t)i);
    uint64_t d = cpu_ns() - t0;
    if (rc) { fprintf(stderr, "put %ld: %d\n", i, rc); return 1; }
    total += d;
    sum += d;
    if (d > worst) worst = d;
    if (i == n || ((i + 1) & i) == 0) { /* i + 1 a power of two: end of a range */
      printf("puts %ld-%ld: slowest_us=%.1f mean_us=%.3f\n", from, i, worst / 1e3, sum / 1e3 / (double)(i - from + 1));
      from = i + 1;
      worst = sum = 0;
    }
  }
  printf("accounts=%ld moves_max=%zu total_ms=%.1f mean_us=%.3f\n", n, tenant_registry_account_moves_max(r, app),
         total / 1e6, total / 1e3 / (double)n);
  tenant_registry_free(r);
  store_close(s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) ? 1 : 0;
}
