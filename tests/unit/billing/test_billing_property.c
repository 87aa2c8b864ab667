/* Property tests over generated usage (>= 1,000,000 bills per run, fixed
 * seed so a failure reproduces): on every book and every edition,
 *  - a bill is never negative and its total equals the sum of its lines,
 *    prepaid + postpaid = total;
 *  - a bill never decreases when any usage metric grows;
 *  - at every block edge of every blocks_over_free item: the quantity at
 *    free + k*block is k, and one unit more starts block k+1.
 * The sanitizer build runs it too, with IMC_PROPERTY_BILLS=200000 (the
 * normal build's 1,000,000 would take minutes under ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "util/date.h"
#include "util/err.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

/* Magnitudes from 0 to ~10^9, biased towards block edges. */
static int64_t gen(int64_t block)
{
  switch (next() % 4) {
  case 0: return (int64_t)(next() % 1000);
  case 1: { int64_t v = (int64_t)(next() % 50) * block + (int64_t)(next() % 3) - 1; return v < 0 ? 0 : v; }
  case 2: return (int64_t)(next() % 1000000);
  default: return (int64_t)(next() % 1000000000);
  }
}

static int quote(const bill_book_t *b, int e, int32_t month, const bill_usage_t *u, bill_t *out)
{
  bill_order_t o = { .edition = e, .start_day = 0, .periods = 1 };
  o.start_day = imc_days_from_civil(month / 100, month % 100, 1);
  bill_input_t in = { .month = month, .orders = &o, .norders = 1, .usage = u, .strict = 0 };
  char err[256];
  return bill_compute(b, &in, out, err, sizeof err);
}

static void check_sums(const bill_t *b)
{
  int64_t sum = 0, pre = 0, post = 0;
  for (int i = 0; i < b->nlines; i++) {
    assert_true(b->lines[i].amount_fen >= 0);
    assert_true(b->lines[i].quantity >= 0);
    sum += b->lines[i].amount_fen;
    *(b->lines[i].kind == BILL_PREPAID ? &pre : &post) += b->lines[i].amount_fen;
  }
  assert_true(b->total_fen >= 0);
  assert_int_equal(sum, b->total_fen);
  assert_int_equal(pre, b->prepaid_fen);
  assert_int_equal(post, b->postpaid_fen);
}

static void random_usage(bill_usage_t *u, int32_t month)
{
  memset(u, 0, sizeof *u);
  u->peak_dau = gen(10000);
  u->mau = gen(10000);
  u->peak_groups = gen(100000);
  int dim = month % 100 == 2 ? 28 : 30;
  u->bw_days = (int32_t)(next() % (unsigned)(dim + 1));
  for (int i = 0; i < u->bw_days; i++) u->bw_mbps[i] = (int64_t)(next() % 100000);
  u->c2c_roaming_months = (int64_t)(next() % 13);
}

static void test_properties(void **st)
{
  (void)st;
  static const int32_t months[] = { 202005, 202205, 202206, 202602, 202610 };
  long bills = 0, want = 1000000;
  const char *env = getenv("IMC_PROPERTY_BILLS");
  if (env && atol(env) > 0) want = atol(env);
  bill_t a, b;
  for (int round = 0; bills < want; round++) {
    for (int s = 0; s < BILL_SCHEME__COUNT; s++) {
      const bill_book_t *book = bill_book_builtin((bill_scheme_t)s);
      assert_non_null(book);
      for (int e = 0; e < bill_book_editions(book); e++) {
        int32_t month = months[next() % 5];
        bill_usage_t u, v;
        random_usage(&u, month);
        assert_int_equal(quote(book, e, month, &u, &a), 0);
        check_sums(&a);
        /* grow one metric (or all) and the bill must not shrink */
        v = u;
        switch (next() % 6) {
        case 0: v.peak_dau += (int64_t)(next() % 30000); break;
        case 1: v.mau += (int64_t)(next() % 30000); break;
        case 2: v.peak_groups += (int64_t)(next() % 300000); break;
        case 3: if (v.bw_days) v.bw_mbps[next() % (unsigned)v.bw_days] += (int64_t)(next() % 1000); break;
        case 4: v.c2c_roaming_months += 1; break;
        default: v.peak_dau += 1; v.mau += 1; v.peak_groups += 1; break;
        }
        assert_int_equal(quote(book, e, month, &v, &b), 0);
        check_sums(&b);
        if (b.total_fen < a.total_fen)
          fail_msg("%s/%s %d: bill fell from %lld to %lld when usage grew", bill_scheme_name((bill_scheme_t)s),
                   bill_book_edition_code(book, e), (int)month, (long long)a.total_fen, (long long)b.total_fen);
        bills += 2;
      }
    }
    (void)round;
  }
  printf("%ld generated bills checked\n", bills);
}

/* Block edges of the DAU rules, with the free quota and block written here
 * from the rules (not read from the books): at free + k*block exactly k
 * blocks, one above k+1, one below k (or 0). */
static int64_t dau_blocks(const bill_book_t *book, int e, int32_t month, int64_t dau)
{
  bill_usage_t u;
  memset(&u, 0, sizeof u);
  u.peak_dau = dau;
  bill_t b;
  assert_int_equal(quote(book, e, month, &u, &b), 0);
  for (int i = 0; i < b.nlines; i++)
    if (!strcmp(b.lines[i].code, "dau_overage") || !strcmp(b.lines[i].code, "dau")) return b.lines[i].quantity;
  return 0;
}

static void test_block_edges(void **st)
{
  (void)st;
  static const struct { bill_scheme_t s; const char *ed; int32_t month; int64_t free, block; } edges[] = {
    { BILL_SCHEME_S2022, "pro", 202610, 10000, 10000 },        /* P-42 */
    { BILL_SCHEME_S2022, "ultimate", 202610, 10000, 10000 },   /* P-42 */
    { BILL_SCHEME_S2019, "pro", 202003, 100000, 100000 },      /* P-19 */
    { BILL_SCHEME_S2020, "pro", 202103, 100000, 100000 },      /* P-32 */
    { BILL_SCHEME_LEGACY, "legacy", 202206, 0, 10000 },        /* P-03 */
    { BILL_SCHEME_LEGACY, "legacy", 202205, 0, 100000 },       /* P-04 */
  };
  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
    const bill_book_t *book = bill_book_builtin(edges[i].s);
    int e = bill_book_edition_find(book, edges[i].ed);
    assert_true(e >= 0);
    for (int64_t k = 0; k < 200; k++) {
      int64_t edge = edges[i].free + k * edges[i].block;
      assert_int_equal(dau_blocks(book, e, edges[i].month, edge), k);
      assert_int_equal(dau_blocks(book, e, edges[i].month, edge + 1), k + 1);
      if (edge > 0) assert_int_equal(dau_blocks(book, e, edges[i].month, edge - 1), k > 0 ? k : 0);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_properties), cmocka_unit_test(test_block_edges) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
