/* Unit tests for util/hist: every value's percentile lies within its bucket
 * (at most 1/16 above it, never below), ranks are exact on the counts, the
 * maximum is exact and caps the answer, and merging equals adding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/hist.h"

#include <string.h>

/* One value alone: its p50 is at or above it, within 1/16 (or 1 µs). */
static void test_single_value_bounds(void **st)
{
  (void)st;
  static const uint64_t us[] = { 0, 1, 15, 16, 17, 31, 32, 100, 999, 1000, 4096, 12345, 1000000, 60000000 };
  for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
    imc_hist_t h;
    memset(&h, 0, sizeof h);
    imc_hist_add(&h, us[i] * 1000 + 999); /* the sub-µs part is dropped */
    uint64_t p = imc_hist_pct_us(&h, 50);
    assert_true(p >= us[i]);
    assert_true(p <= us[i] + us[i] / 16 + 1);
    assert_int_equal(h.n, 1);
  }
}

/* Every bucket boundary: a value's answer is never below it and the bucket
 * answers grow with the value. */
static void test_monotonic(void **st)
{
  (void)st;
  uint64_t prev = 0;
  for (uint64_t v = 0; v < (1u << 22); v = v < 64 ? v + 1 : v + v / 37) {
    imc_hist_t h;
    memset(&h, 0, sizeof h);
    imc_hist_add(&h, v * 1000);
    imc_hist_add(&h, (uint64_t)1 << 40); /* a larger maximum: the answer is the bucket's top */
    uint64_t p = imc_hist_pct_us(&h, 50);
    assert_true(p >= v);
    assert_true(p >= prev);
    assert_true(p <= v + v / 16 + 1);
    prev = p;
  }
}

/* Ranks: 90 values of 10 µs and 10 of 5 ms: p50 and p90 are 10 µs, p91 and
 * p99 near 5 ms, p100 the exact maximum; beyond the last bucket the maximum
 * answers. */
static void test_ranks_and_max(void **st)
{
  (void)st;
  imc_hist_t h;
  memset(&h, 0, sizeof h);
  assert_int_equal(imc_hist_pct_us(&h, 99), 0);
  for (int i = 0; i < 90; i++) imc_hist_add(&h, 10000);
  for (int i = 0; i < 10; i++) imc_hist_add(&h, 5000000 + (uint64_t)i * 1000);
  assert_int_equal(imc_hist_pct_us(&h, 50), 10);
  assert_int_equal(imc_hist_pct_us(&h, 90), 10);
  assert_true(imc_hist_pct_us(&h, 91) >= 5000 && imc_hist_pct_us(&h, 91) <= 5000 + 5000 / 16);
  assert_int_equal(imc_hist_pct_us(&h, 100), 5009);
  assert_int_equal(h.max_ns, 5009000);
  imc_hist_add(&h, (uint64_t)100000 * 1000000000); /* 100,000 s */
  assert_int_equal(imc_hist_pct_us(&h, 100), (uint64_t)100000 * 1000000);
}

static void test_merge(void **st)
{
  (void)st;
  imc_hist_t a, b, both;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&both, 0, sizeof both);
  for (uint64_t i = 1; i < 5000; i++) {
    imc_hist_add(i % 3 ? &a : &b, i * 7919);
    imc_hist_add(&both, i * 7919);
  }
  imc_hist_merge(&a, &b);
  assert_memory_equal(&a, &both, sizeof a);
}

/* Adding a value n times at once equals n single adds (counts, buckets,
 * maximum); n 0 changes nothing. */
static void test_add_n(void **st)
{
  (void)st;
  imc_hist_t one, many;
  memset(&one, 0, sizeof one);
  memset(&many, 0, sizeof many);
  for (uint64_t i = 0; i < 3000; i++) {
    uint64_t ns = i * i * 977, n = i % 7;
    for (uint64_t k = 0; k < n; k++) imc_hist_add(&one, ns);
    imc_hist_add_n(&many, ns, (uint32_t)n);
  }
  assert_memory_equal(&one, &many, sizeof one);
  imc_hist_add_n(&many, (uint64_t)1 << 50, 0);
  assert_memory_equal(&one, &many, sizeof one);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_single_value_bounds),
    cmocka_unit_test(test_monotonic),
    cmocka_unit_test(test_ranks_and_max),
    cmocka_unit_test(test_merge),
    cmocka_unit_test(test_add_n),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
