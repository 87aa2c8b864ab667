/* store_grp_convs (the conversation lists' read of a user's member rows,
 * docs/decisions/groups-conversations.md §13 "What a page reads"): one entry per group
 * number of the user's rows, by number, with the state of the pinned and
 * deleted ones; and every statement it runs is answered from an index
 * alone (EXPLAIN QUERY PLAN: a covering index), so no member row — name
 * card, custom data — is read. The store is used directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define USER 7u

static char dir[64];
static char sql[8][1024]; /* the statements store_grp_convs ran (sqlite3_trace_v2), as EXPLAIN QUERY PLAN */
static int nsql;

static int on_trace(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)p;
  if (nsql < 8 && strstr((const char *)x, "grp_member")) snprintf(sql[nsql++], sizeof sql[0], "EXPLAIN QUERY PLAN %s", (const char *)x);
  return 0;
}

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "grpconvs");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static void member(store_t *s, uint32_t gno, uint32_t user, int role)
{
  store_grp_member_t m = { .user_no = user, .role = role, .join_s = 1700000000, .name_card = "card",
                           .data = "[{\"Key\":\"k\",\"Value\":\"a long value\"}]" };
  assert_int_equal(store_grp_member_put(s, APP, gno, &m), 0);
}

static void test_convs_rows_and_plan(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  for (uint32_t g = 1; g <= 5; g++) member(s, g, USER, 0);
  member(s, 6, USER, 3);     /* an application: a row, no state */
  member(s, 1, USER + 1, 0); /* another user */
  member(s, 9, USER, 0);
  assert_int_equal(store_grp_member_set(s, APP, 2, USER, "conv_hidden", 9, NULL), 0);
  assert_int_equal(store_grp_member_pin(s, APP, 4, USER, 100), 0);
  assert_int_equal(store_grp_member_pin(s, APP, 9, USER, 100), 0);
  assert_int_equal(store_grp_member_pin(s, APP, 6, USER, 100), IMC_E_NOTFOUND);
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_STMT, on_trace, NULL), SQLITE_OK);
  store_grp_conv_t *c;
  size_t n;
  assert_int_equal(store_grp_convs(s, APP, USER, &c, &n), 0);
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), 0, NULL, NULL), SQLITE_OK);
  assert_int_equal(n, 7);
  static const uint32_t nos[] = { 1, 2, 3, 4, 5, 6, 9 };
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(c[i].group_no, nos[i]);
    assert_int_equal(c[i].hidden_seq, nos[i] == 2 ? 9 : 0);
    assert_int_equal(c[i].pinned_at_s, nos[i] == 4 || nos[i] == 9 ? 100 : 0);
  }
  assert_true(c[3].pin_seq > 0 && c[6].pin_seq > c[3].pin_seq); /* pinned later: a higher order */
  free(c);
  /* a user without rows */
  assert_int_equal(store_grp_convs(s, APP, 99, &c, &n), 0);
  assert_int_equal(n, 0);
  assert_null(c);
  /* every statement reads an index only */
  assert_int_equal(nsql, 2);
  for (int i = 0; i < nsql; i++) {
    sqlite3_stmt *st2;
    assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql[i], -1, &st2, NULL), SQLITE_OK);
    int steps = 0;
    while (sqlite3_step(st2) == SQLITE_ROW) {
      const char *d = (const char *)sqlite3_column_text(st2, 3);
      if (!strstr(d, "COVERING INDEX")) fail_msg("%s: %s", sql[i], d);
      steps++;
    }
    sqlite3_finalize(st2);
    assert_int_equal(steps, 1); /* one search, no sort */
  }
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_convs_rows_and_plan),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
