/* Unit tests for src/im/group_set.c (gset_t, the groups' membership sets):
 * a resize (growth or shrink) is spread over later calls, and gets,
 * removals and walks stay exact while it lasts. Checked against a
 * reference array over a fixed universe of keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "im/group_int.h"
#include "util/err.h"

enum { K = 50000 };
static uint32_t ref[K + 1]; /* payload of key i, 0 when absent */
#include "xorshift.h"

/* Every key's payload agrees, len agrees, a walk visits each entry once. */
static void check_all(const gset_t *s)
{
  static unsigned char seen[K + 1];
  memset(seen, 0, sizeof seen);
  uint32_t want = 0, got = 0;
  for (uint32_t i = 1; i <= K; i++) {
    assert_int_equal(gset_get(s, i), ref[i]);
    want += ref[i] != 0;
  }
  assert_int_equal(s->len, want);
  uint64_t pos = 0, v;
  while (gset_next(s, &pos, &v)) {
    uint32_t k = (uint32_t)(v >> 32);
    assert_true(k >= 1 && k <= K);
    assert_int_equal(seen[k], 0);
    seen[k] = 1;
    assert_int_equal((uint32_t)v, ref[k]);
    got++;
  }
  assert_int_equal(got, want);
}

/* Rounds of mostly joins then mostly leaves (so the set grows past 10^4
 * and shrinks back, several times), checked at every op and wholly every
 * 3,001 ops and every 5th op while a resize lasts. A one-shot resize never
 * leaves moves, so the checks during resizes would not happen. */
static void test_gset_ops_against_reference(void **st)
{
  (void)st;
  rng_state = 0x853C49E6748FEA9Bull;
  gset_t s = { 0 };
  memset(ref, 0, sizeof ref);
  size_t resizes = 0, in_resize_checks = 0, most_moved = 0;
  unsigned op = 0;
  for (int round = 0; round < 6; round++) {
    unsigned join_pct = round % 2 ? 25 : 80, ops = round < 2 ? 30000 : 60000;
    for (unsigned n = 0; n < ops; n++, op++) {
      uint32_t k = 1 + (uint32_t)(rnd() % (round < 2 ? K / 10 : K));
      uint32_t left = gset_moves_left(&s);
      size_t bytes = gset_bytes(&s);
      if (rnd() % 100 < join_pct) {
        uint32_t p = (uint32_t)(rnd() % 7) + 1;
        assert_int_equal(gset_put(&s, k, p), 0);
        ref[k] = p;
      } else {
        assert_int_equal(gset_del(&s, k), ref[k] != 0);
        ref[k] = 0;
      }
      assert_int_equal(gset_get(&s, k), ref[k]);
      uint32_t left1 = gset_moves_left(&s);
      if (gset_bytes(&s) != bytes && left1 > left) resizes++;
      else if (left > left1 && left - left1 > most_moved) most_moved = left - left1;
      if (op % 3001 == 0 || (left1 && op % 5 == 0)) { check_all(&s); in_resize_checks += left1 != 0; }
    }
    check_all(&s);
  }
  gset_free(&s);
  assert_int_equal(gset_bytes(&s), 0);
  print_message("resizes=%zu in_resize_checks=%zu most_moved=%zu\n", resizes, in_resize_checks, most_moved);
  assert_true(resizes >= 20);
  assert_true(in_resize_checks >= 50);
  assert_true(most_moved >= 64 && most_moved < 1024);
}

/* A live room of 100,000 sessions: no join or leave moves more than a step
 * and a cluster, and everything is found throughout. */
static void test_gset_big_room_in_steps(void **st)
{
  (void)st;
  gset_t s = { 0 };
  uint32_t most = 0;
  for (uint32_t sid = 1; sid <= 100000; sid++) {
    uint32_t left = gset_moves_left(&s);
    assert_int_equal(gset_put(&s, sid, sid ^ 0x5a5a), 0);
    uint32_t left1 = gset_moves_left(&s);
    if (left > left1 && left - left1 > most) most = left - left1;
    if (left1 > left) assert_true(left1 == (uint32_t)(gset_bytes(&s) / 8 - s.cap)); /* began: nothing moved yet */
  }
  for (uint32_t sid = 1; sid <= 100000; sid += 97) assert_int_equal(gset_get(&s, sid), sid ^ 0x5a5a);
  for (uint32_t sid = 1; sid <= 100000; sid++) {
    uint32_t left = gset_moves_left(&s);
    assert_int_equal(gset_del(&s, sid), 1);
    uint32_t left1 = gset_moves_left(&s);
    if (left > left1 && left - left1 > most) most = left - left1;
    if (sid % 1000 == 0 && sid < 100000) assert_int_equal(gset_get(&s, sid + 1), (sid + 1) ^ 0x5a5a);
  }
  assert_int_equal(s.len, 0);
  assert_true(most >= 64 && most < 1024);
  gset_free(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gset_ops_against_reference),
    cmocka_unit_test(test_gset_big_room_in_steps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
