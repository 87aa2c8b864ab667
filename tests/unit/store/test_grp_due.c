/* store_grp_due_* (migration 45, src/im/group_due.c): the inbox events of a
 * large group's dissolution still to append. Rows come back oldest first
 * with their payload, time and users (any user number, the top bit too),
 * across a reopen; a deleted row is gone; none left is IMC_E_NOTFOUND. The
 * store is used directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_grp.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "grpdue");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static void test_due_rows_oldest_first(void **st)
{
  (void)st;
  store_t *s;
  store_grp_due_t d;
  static const uint32_t a[] = { 1, 0x80000001u, 0xFFFFFFFFu }, b[] = { 42 };
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_grp_due_first(s, &d), IMC_E_NOTFOUND);
  assert_int_equal(store_grp_due_put(s, APP, 1700000000, "{\"type\":\"group_dissolved\"}", a, 3), 0);
  assert_int_equal(store_grp_due_put(s, APP + 1, 1700000001, "{\"n\":2}", b, 1), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_grp_due_first(s, &d), 0);
  assert_int_equal(d.sdkappid, APP);
  assert_int_equal(d.at_s, 1700000000);
  assert_string_equal(d.payload, "{\"type\":\"group_dissolved\"}");
  assert_int_equal(d.n, 3);
  assert_memory_equal(d.users, a, sizeof a);
  int64_t first = d.id;
  store_grp_due_free(&d);
  assert_int_equal(store_grp_due_first(s, &d), 0); /* still there until deleted */
  assert_int_equal(d.id, first);
  store_grp_due_free(&d);
  assert_int_equal(store_grp_due_del(s, first), 0);
  assert_int_equal(store_grp_due_first(s, &d), 0);
  assert_int_equal(d.sdkappid, APP + 1);
  assert_string_equal(d.payload, "{\"n\":2}");
  assert_int_equal(d.n, 1);
  assert_int_equal(d.users[0], 42);
  assert_int_equal(store_grp_due_del(s, d.id), 0);
  store_grp_due_free(&d);
  assert_int_equal(store_grp_due_first(s, &d), IMC_E_NOTFOUND);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_due_rows_oldest_first) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
