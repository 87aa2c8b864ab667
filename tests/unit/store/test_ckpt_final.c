/* Unit tests for store_ckpt_final (store_ckpt.h): when a cycle of pinned
 * checkpoint rounds ends with the blocking round. The bound on the frames
 * the blocking round copies is pages / STORE_CKPT_FINAL_DIV, and never more
 * than STORE_CKPT_FINAL_MAX (wave 46: at 65,536 pages it was 2,048); the
 * other ends (rounds that stop shrinking, the WAL's cap, the rounds' cap)
 * hold at every threshold, and each is named (/healthz ckpt.ends). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store_ckpt.h"

/* The first round of a cycle (no round before: last_pending is not compared), the WAL well under its cap. */
static int first(int pages, int pending) { return store_ckpt_final(pages, pages + pending, pending, 0, 1); }

enum { ON = STORE_CKPT_GO_ON, FEW = STORE_CKPT_END_FEW, FLAT = STORE_CKPT_END_FLAT, CAP = STORE_CKPT_END_WAL_CAP,
       ROUNDS = STORE_CKPT_END_ROUNDS };

static void test_bound_caps_at_final_max(void **st)
{
  (void)st;
  /* the server's threshold: at most 512 frames, not 65,536 / 32 = 2,048 */
  assert_int_equal(first(65536, 512), FEW);
  assert_int_equal(first(65536, 513), ON);
  assert_int_equal(first(65536, 2048), ON);
  /* the store's own default: 16,384 / 32 = 512, as before */
  assert_int_equal(first(16384, 512), FEW);
  assert_int_equal(first(16384, 513), ON);
  /* small thresholds keep pages / 32 */
  assert_int_equal(first(4096, 128), FEW);
  assert_int_equal(first(4096, 129), ON);
  assert_int_equal(first(16, 0), FEW);
  assert_int_equal(first(16, 1), ON);
}

static void test_other_ends(void **st)
{
  (void)st;
  /* the first end that holds names it: few frames before the rest */
  assert_int_equal(store_ckpt_final(65536, STORE_CKPT_WAL_CAP * 65536, 100, 50, STORE_CKPT_ROUNDS_MAX), FEW);
  /* rounds that stop shrinking, from the second round on */
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 4000, 2), FLAT);
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 5000, 2), FLAT);
  assert_int_equal(store_ckpt_final(65536, 70000, 3000, 4000, 2), ON);
  assert_int_equal(store_ckpt_final(65536, 70000, 5000, 4000, 1), ON);
  /* the WAL at its cap */
  assert_int_equal(store_ckpt_final(65536, STORE_CKPT_WAL_CAP * 65536, 9000, 10000, 1), CAP);
  assert_int_equal(store_ckpt_final(65536, STORE_CKPT_WAL_CAP * 65536 - 1, 9000, 10000, 1), ON);
  /* the rounds' cap */
  assert_int_equal(store_ckpt_final(65536, 70000, 9000, 10000, STORE_CKPT_ROUNDS_MAX), ROUNDS);
  assert_int_equal(store_ckpt_final(65536, 70000, 9000, 10000, STORE_CKPT_ROUNDS_MAX - 1), ON);
}

static void test_end_names(void **st)
{
  (void)st;
  assert_string_equal(store_ckpt_end_name(STORE_CKPT_END_FEW), "few");
  assert_string_equal(store_ckpt_end_name(STORE_CKPT_END_FLAT), "flat");
  assert_string_equal(store_ckpt_end_name(STORE_CKPT_END_WAL_CAP), "wal_cap");
  assert_string_equal(store_ckpt_end_name(STORE_CKPT_END_ROUNDS), "rounds");
  assert_string_equal(store_ckpt_end_name(STORE_CKPT_ENDS), "?");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bound_caps_at_final_max),
    cmocka_unit_test(test_other_ends),
    cmocka_unit_test(test_end_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
