/* Unit tests for store_ckpt_final (store_ckpt.h): when a cycle of pinned
 * checkpoint rounds ends with the blocking round. The bound on the frames
 * the blocking round copies is pages / STORE_CKPT_FINAL_DIV, and never more
 * than STORE_CKPT_FINAL_MAX (wave 46: at 65,536 pages it was 2,048); the
 * other ends (rounds that stop shrinking, the WAL's cap, the rounds' cap)
 * hold at every threshold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store_ckpt.h"

/* The first round of a cycle (no round before: last_pending is not compared), the WAL well under its cap. */
static int first(int pages, int pending) { return store_ckpt_final(pages, pages + pending, pending, 0, 1); }

static void test_bound_caps_at_final_max(void **st)
{
  (void)st;
  /* the server's threshold: at most 512 frames, not 65,536 / 32 = 2,048 */
  assert_int_equal(first(65536, 512), 1);
  assert_int_equal(first(65536, 513), 0);
  assert_int_equal(first(65536, 2048), 0);
  /* the store's own default: 16,384 / 32 = 512, as before */
  assert_int_equal(first(16384, 512), 1);
  assert_int_equal(first(16384, 513), 0);
  /* small thresholds keep pages / 32 */
  assert_int_equal(first(4096, 128), 1);
  assert_int_equal(first(4096, 129), 0);
  assert_int_equal(first(16, 0), 1);
  assert_int_equal(first(16, 1), 0);
}

static void test_other_ends(void **st)
{
  (void)st;
  /* rounds that stop shrinking, from the second round on */
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 4000, 2), 1);
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 5000, 2), 1);
  assert_int_equal(store_ckpt_final(65536, 70000, 3000, 4000, 2), 0);
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 4000, 1), 0);
  /* the WAL at its cap */
  assert_int_equal(store_ckpt_final(65536, STORE_CKPT_WAL_CAP * 65536, 9000, 10000, 1), 1);
  assert_int_equal(store_ckpt_final(65536, STORE_CKPT_WAL_CAP * 65536 - 1, 9000, 10000, 1), 0);
  /* the rounds' cap */
  assert_int_equal(store_ckpt_final(65536, 70000, 9000, 10000, STORE_CKPT_ROUNDS_MAX), 1);
  assert_int_equal(store_ckpt_final(65536, 70000, 9000, 10000, STORE_CKPT_ROUNDS_MAX - 1), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bound_caps_at_final_max),
    cmocka_unit_test(test_other_ends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
