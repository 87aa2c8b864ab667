/* bench_quote — pricing speed of the pure billing library.
 *  1. `quote --compare` computation: the s2022 book, three editions, usage
 *     with overage, an add-on and a history tier (argument parsing and book
 *     loading excluded: the books are parsed once per process);
 *  2. a month's pricing for N apps (default 100,000), each with 31 days of
 *     daily usage folded to monthly peaks, a package order and an add-on.
 *     Pricing only: storing numbered bills belongs to the bill run, which
 *     waits on metering (issue note).
 * Prints ns per compare, apps/s, and peak RSS. Usage: bench_quote [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "billing/billing.h"
#include "util/date.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long napps = argc > 1 ? atol(argv[1]) : 100000;
  const bill_book_t *b = bill_book_builtin(BILL_SCHEME_S2022);
  if (!b) { fprintf(stderr, "no book\n"); return 1; }

  /* 1. compare */
  static bill_quote_req_t req;
  char *qa[] = { "quote", "--scheme", "s2022", "--compare", "--bill-month", "2026-10", "--peak-dau", "22000",
                 "--peak-groups", "150000", "--history-days", "90", "--addon", "local_audit" };
  char err[256];
  if (bill_quote_parse((int)(sizeof qa / sizeof *qa), qa, &req, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  static bill_compare_t cmp;
  int iters = 200000;
  double t0 = now_s();
  for (int i = 0; i < iters; i++) bill_quote_compare(b, &req, &cmp);
  double t1 = now_s();
  printf("compare: %d x quote --compare (3 editions) in %.3f s = %.2f us each (cheapest %s)\n", iters, t1 - t0,
         (t1 - t0) * 1e6 / iters, bill_book_edition_code(b, cmp.cheapest));

  /* 2. a month for napps apps */
  int64_t first = imc_days_from_civil(2026, 10, 1);
  uint64_t x = 88172645463325252ull;
  int64_t total = 0;
  static bill_t bill;
  double t2 = now_s();
  for (long a = 0; a < napps; a++) {
    bill_usage_t u;
    memset(&u, 0, sizeof u);
    for (int d = 0; d < 31; d++) { /* daily usage folded to peaks (P-24, M-4) */
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      int64_t dau = (int64_t)(x % 40000), groups = (int64_t)((x >> 20) % 300000);
      if (dau > u.peak_dau) u.peak_dau = dau;
      if (groups > u.peak_groups) u.peak_groups = groups;
    }
    bill_order_t o[2] = { { .edition = 1 + (int)(a % 2), .start_day = first + (a % 28), .periods = 1 },
                          { .is_addon = 1, .addon = BILL_ADDON_LOCAL_AUDIT, .start_day = first, .periods = 1 } };
    bill_input_t in = { .month = 202610, .orders = o, .norders = 2, .usage = &u };
    if (bill_compute(b, &in, &bill, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    total += bill.total_fen;
  }
  double t3 = now_s();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("bill month: %ld apps priced in %.3f s = %.0f apps/s (sum %lld fen); peak RSS %ld KiB\n", napps, t3 - t2,
         napps / (t3 - t2), (long long)total, ru.ru_maxrss);
  return 0;
}
