/* damaged (src/im/damaged.h) and jsonload (src/util/jsonload.h): a stored
 * body parses, does not (damaged: not JSON, or JSON that is not an object),
 * or its parse runs out of memory — the last told apart by what happened
 * (the fault site body_alloc fails an allocation inside the parse of a good
 * text), not by the text; a damaged row is logged and counted once however
 * often it is met, up to IM_DAMAGED_ROWS_MAX rows, past which each reading
 * of a row not kept is counted untracked
 * (docs/decisions/messaging-c2c-checks3.md §88, messaging-c2c-checks4.md §95). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "im/damaged.h"
#include "util/err.h"
#include "util/log.h"

#define GOOD "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]}"

static void test_load_outcomes(void **st)
{
  (void)st;
  json_t *o = (json_t *)1;
  /* the plan is read at the first fault check: the 1st allocation inside a load fails */
  setenv("IMCLOUD_TEST_FAIL", "body_alloc:1", 1);
  assert_int_equal(im_body_load(GOOD, strlen(GOOD), &o), IMC_E_NOMEM); /* a good text, out of memory */
  assert_null(o);
  assert_int_equal(im_body_load(GOOD, strlen(GOOD), &o), IM_BODY_OK);
  assert_non_null(json_object_get(o, "MsgBody"));
  json_decref(o);
  static const char *const damaged[] = { "{\"MsgBody\":[{\"MsgTy", "[1,2]", "\"text\"", "{}}", "\xff" };
  for (size_t i = 0; i < sizeof damaged / sizeof *damaged; i++) {
    o = (json_t *)1;
    assert_int_equal(im_body_load(damaged[i], strlen(damaged[i]), &o), IM_BODY_DAMAGED);
    assert_null(o);
  }
  assert_int_equal(im_body_load("", 0, &o), IM_BODY_OK); /* no body */
  assert_null(o);
  /* jansson's own allocations outside a load are not counted as a load's */
  json_t *a = json_pack("{s:s}", "k", "v");
  assert_non_null(a);
  json_decref(a);
  assert_int_equal(im_body_load("[", 1, &o), IM_BODY_DAMAGED);
}

static void test_note_counts_once_per_row(void **st)
{
  (void)st;
  imc_log_level = IMC_LOG_OFF; /* the counters say what was logged */
  im_damaged_stats_t s0, s;
  im_damaged_stats(&s0);
  im_damaged_row_t a = { IM_DAMAGED_C2C, 1400000001, (uint64_t)3 << 32 | 7, 2, "alice", "1_2_3" };
  im_damaged_row_t b = { IM_DAMAGED_GROUP, 1400000001, (uint64_t)3 << 32 | 7, 2, "alice", NULL }; /* same numbers */
  for (int i = 0; i < 3; i++) im_damaged_note(&a);
  im_damaged_note(&b);
  im_damaged_stats(&s);
  assert_int_equal(s.rows - s0.rows, 2);
  a.seq = 3; /* another row */
  im_damaged_note(&a);
  im_damaged_stats(&s);
  assert_int_equal(s.rows - s0.rows, 3);
  assert_int_equal(s.untracked, 0);
}

/* Rows up to the max, each met twice, count once each (until 2026-12-06 a direct-mapped table of 1,024 row hashes
 * forgot a row another one pushed out, and logged it again); past the max, each reading of a new row is untracked,
 * and the rows kept stay counted once. */
static void test_rows_once_until_the_max(void **st)
{
  (void)st;
  imc_log_level = IMC_LOG_OFF;
  im_damaged_stats_t s0, s;
  im_damaged_stats(&s0);
  uint64_t room = IM_DAMAGED_ROWS_MAX - s0.rows;
  im_damaged_row_t r = { IM_DAMAGED_C2C, 1400000002, (uint64_t)5 << 32 | 9, 0, "bob", NULL };
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < room; i++) {
      r.seq = i + 1;
      r.kind = i % 2 ? IM_DAMAGED_GROUP : IM_DAMAGED_C2C;
      im_damaged_note(&r);
    }
  im_damaged_stats(&s);
  assert_int_equal(s.rows, IM_DAMAGED_ROWS_MAX);
  assert_int_equal(s.untracked, 0);
  r.seq = (uint32_t)room + 1; /* one more row: no room */
  im_damaged_note(&r);
  im_damaged_note(&r);
  r.seq = 1; /* a row kept */
  r.kind = IM_DAMAGED_C2C;
  im_damaged_note(&r);
  im_damaged_stats(&s);
  assert_int_equal(s.rows, IM_DAMAGED_ROWS_MAX);
  assert_int_equal(s.untracked, 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_load_outcomes),
    cmocka_unit_test(test_note_counts_once_per_row),
    cmocka_unit_test(test_rows_once_until_the_max),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
