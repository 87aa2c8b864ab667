/* The group message statements read their own group's rows, not the app's:
 * a send's dedupe check (store_grp_msg_append with a window) and an unread
 * count (store_grp_msg_unread) in a small group cost the same however many
 * messages another group of the app holds inside the window. Measured as
 * the virtual machine steps of each statement (SQLITE_STMTSTATUS_VM_STEP,
 * read in a profile trace callback): a count of work, not a time. Before,
 * SQLite's planner (no ANALYZE statistics) ran both through the index on
 * (sdkappid, time_s) and walked every message of the app since the window's
 * start. The store is used directly (no writer thread). */
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
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000007u
#define T0 1700000000
#define BIG 3000 /* messages of the other group inside the window */

static char dir[64];
static int64_t dedupe_steps, unread_steps; /* the most steps one run of each statement took */

static int on_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  sqlite3_stmt *st = p;
  const char *sql = sqlite3_sql(st);
  int64_t steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
  if (!strncmp(sql, "SELECT seq,time_s,flags&16,", 27) && steps > dedupe_steps) dedupe_steps = steps;
  if (!strncmp(sql, "SELECT count(*) FROM grp_msg", 28) && steps > unread_steps) unread_steps = steps;
  return 0;
}

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "grpreads");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static void append(store_t *s, uint32_t gno, uint32_t from, int64_t t, uint32_t random, int64_t since)
{
  store_grp_msg_t m = { .sdkappid = APP, .group_no = gno, .from_no = from, .time_s = t, .random = random,
                        .body = "{\"MsgBody\":[]}", .body_len = 14 };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, since, &dup), 0);
  assert_int_equal(dup, 0);
}

static void test_reads_stay_in_the_group(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 0; i < BIG; i++) append(s, 1, 5, T0 + i / 100, i + 1, 0); /* the busy group 1 */
  for (uint32_t i = 0; i < 3; i++) append(s, 2, 6, T0, 100000 + i, 0);       /* the small group 2 */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_PROFILE, on_profile, NULL), SQLITE_OK);
  /* a send to group 2 with a window holding every message of both groups */
  append(s, 2, 6, T0 + 40, 200000, T0 - 300);
  int64_t n;
  assert_int_equal(store_grp_msg_unread(s, APP, 2, 7, 0, UINT32_MAX, T0 - 300, &n), 0);
  assert_int_equal(n, 4);
  /* steps are a few per row read: group 2's four rows, not group 1's thousands */
  assert_true(dedupe_steps > 0);
  assert_true(unread_steps > 0);
  if (dedupe_steps > 200 || unread_steps > 200)
    fail_msg("dedupe %lld steps, unread %lld steps", (long long)dedupe_steps, (long long)unread_steps);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reads_stay_in_the_group),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
