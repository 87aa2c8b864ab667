/* Unit tests for src/util/u64map: a growth moves the old table a step at a
 * time, and lookups, removals and walks stay exact while it lasts. Every
 * check runs against a reference array over a fixed universe of keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/u64map.h"

enum { K = 60000 }; /* the key universe: key_of(1) … key_of(K) */

#include "xorshift.h"

/* Distinct non-zero keys: odd multiples are a bijection modulo 2^64; every
 * fourth key is small and sequential (dense user numbers cluster). */
static uint64_t key_of(size_t i) { return i % 4 ? i * 0x9E3779B97F4A7C15ull : i; }
static void *val_of(size_t i, unsigned gen) { return (void *)(uintptr_t)(i << 8 | (gen & 0xff) | 1); }
static void *ref[K + 1]; /* the expected value of key_of(i), NULL when absent */

/* i such that key_of(i) == key, or 0. */
static size_t find_index(uint64_t key)
{
  uint64_t inv = 0x9E3779B97F4A7C15ull; /* its inverse modulo 2^64 by Newton's iteration */
  for (int n = 0; n < 6; n++) inv *= 2 - 0x9E3779B97F4A7C15ull * inv;
  uint64_t i = key * inv;
  if (i >= 1 && i <= K && i % 4) return (size_t)i;
  if (key >= 1 && key <= K && key % 4 == 0) return (size_t)key;
  return 0;
}

/* A walk visits every expected key exactly once and nothing else; gets agree. */
static void check_all(const u64map_t *m)
{
  static unsigned char seen[K + 1];
  memset(seen, 0, sizeof seen);
  size_t want = 0, got = 0;
  for (size_t i = 1; i <= K; i++) {
    assert_ptr_equal(u64map_get(m, key_of(i)), ref[i]);
    want += ref[i] != NULL;
  }
  assert_int_equal(m->len, want);
  u64map_iter_t it;
  uint64_t k;
  void *v;
  for (u64map_iter_init(m, &it); u64map_next(m, &it, &k, &v);) {
    size_t i = find_index(k);
    assert_true(i != 0);
    assert_int_equal(seen[i], 0); /* once */
    seen[i] = 1;
    assert_ptr_equal(v, ref[i]);
    got++;
  }
  assert_int_equal(got, want);
}

/* Random puts, replacements and removals across several growths; every op
 * is checked, and the whole map (gets and a walk) every 4,001 ops and
 * every 7th op while a growth lasts. A growth
 * must be spread over many calls: with a one-shot doubling no op would
 * ever see moves left, and the checks made during growths would not happen. */
static void test_u64map_ops_against_reference(void **st)
{
  (void)st;
  rng_state = 0x2545F4914F6CDD1Dull;
  size_t in_growth_ops = 0, in_growth_checks = 0, growths = 0, most_moved = 0;
  for (int round = 0; round < 2; round++) {
    u64map_t m;
    u64map_init(&m);
    memset(ref, 0, sizeof ref);
    size_t keys = round ? K : K / 8; /* a small universe reaches steady state early, then shrinks and grows */
    for (unsigned op = 1; op <= 300000; op++) {
      size_t i = 1 + rnd() % keys;
      unsigned r = (unsigned)(rnd() % 100);
      size_t left = u64map_moves_left(&m), cap0 = u64map_bytes(&m);
      if (r < 65) {
        void *v = val_of(i, op);
        assert_int_equal(u64map_put(&m, key_of(i), v), 0);
        ref[i] = v;
      } else if (r < 95) {
        assert_ptr_equal(u64map_del(&m, key_of(i)), ref[i]);
        ref[i] = NULL;
      } else {
        assert_ptr_equal(u64map_get(&m, key_of(i)), ref[i]);
      }
      size_t left1 = u64map_moves_left(&m);
      if (u64map_bytes(&m) != cap0 && left1) growths++; /* a growth began and did not end at once */
      else if (left > left1 && left - left1 > most_moved) most_moved = left - left1;
      if (left1) in_growth_ops++;
      assert_ptr_equal(u64map_get(&m, key_of(i)), ref[i]);
      if (op % 4001 == 0 || (left1 && op % 7 == 0)) { check_all(&m); in_growth_checks += left1 != 0; }
    }
    check_all(&m);
    u64map_free(&m);
    assert_int_equal(m.len, 0);
    assert_null(u64map_get(&m, key_of(1)));
  }
  print_message("growths=%zu in_growth_ops=%zu in_growth_checks=%zu most_moved=%zu\n", growths, in_growth_ops, in_growth_checks, most_moved);
  assert_true(growths >= 16);
  assert_true(in_growth_ops >= 500);
  assert_true(in_growth_checks >= 50);
  assert_true(most_moved >= U64MAP_MOVE_STEP);
  assert_true(most_moved < 1024); /* a step and the rest of one cluster, never a table */
}

/* Fill a fresh map until a growth is under way, then walk it removing every
 * key whose bit 3 is set (u64map_iter_del): each key is visited exactly once,
 * exactly the chosen ones are gone, and the map stays usable. At every
 * table size from 16 to 65,536 slots and at several points of each growth. */
static void test_u64map_walk_during_growth(void **st)
{
  (void)st;
  rng_state = 0x9E3779B97F4A7C15ull;
  size_t walks = 0;
  for (int growth = 1; growth <= 12; growth++) { /* the growth to 32 << (growth - 1) slots */
    for (int third = 0; third < 3; third++) {
      u64map_t m;
      u64map_init(&m);
      memset(ref, 0, sizeof ref);
      int seen_growths = 0;
      size_t more = 0;
      for (;;) {
        size_t i = 1 + rnd() % K;
        if (ref[i]) continue;
        size_t bytes = u64map_bytes(&m);
        ref[i] = val_of(i, 1);
        assert_int_equal(u64map_put(&m, key_of(i), ref[i]), 0);
        if (bytes && u64map_bytes(&m) > bytes && ++seen_growths == growth) more = (size_t)third * (bytes / 16 / U64MAP_MOVE_STEP) / 3;
        if (seen_growths == growth && !more--) break;
      }
      if (!u64map_moves_left(&m)) { u64map_free(&m); continue; }
      walks++;
      check_all(&m);
      static unsigned char seen[K + 1];
      memset(seen, 0, sizeof seen);
      u64map_iter_t it;
      uint64_t k;
      void *v;
      size_t removed = 0;
      for (u64map_iter_init(&m, &it); u64map_next(&m, &it, &k, &v);) {
        size_t i = find_index(k);
        assert_true(i != 0);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        if (k & 8) { assert_ptr_equal(u64map_iter_del(&m, &it), v); ref[i] = NULL; removed++; }
      }
      for (size_t i = 1; i <= K; i++) if (!seen[i]) assert_null(ref[i]); /* every key was visited */
      assert_true(removed > 0);
      check_all(&m);
      /* the map goes on: the growth ends and later ones too */
      for (size_t i = 1; i <= K; i += 3) {
        ref[i] = val_of(i, 2);
        assert_int_equal(u64map_put(&m, key_of(i), ref[i]), 0);
      }
      check_all(&m);
      u64map_free(&m);
    }
  }
  assert_true(walks >= 30);
}

static int free_calls;
static void count_free(void *v) { (void)v; free_calls++; }

static void test_u64map_free_each(void **st)
{
  (void)st;
  u64map_t m = { 0 };
  assert_int_equal(u64map_put(&m, 0, &m), IMC_E_INVAL);
  assert_null(u64map_del(&m, 0));
  uint64_t k = 0;
  while (++k < 100 || (!u64map_moves_left(&m) && k < 100000)) assert_int_equal(u64map_put(&m, k, &m), 0);
  assert_true(u64map_moves_left(&m) > 0);
  u64map_free_each(&m, count_free); /* a growth is under way: both tables hold entries */
  assert_int_equal(free_calls, k - 1);
  assert_int_equal(m.len, 0);
  assert_int_equal(u64map_bytes(&m), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_u64map_ops_against_reference),
    cmocka_unit_test(test_u64map_walk_during_growth),
    cmocka_unit_test(test_u64map_free_each),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
