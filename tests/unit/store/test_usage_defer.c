/* store_usage_add_at_commit (sqlite_defer.c): counters summed in memory and
 * written at COMMIT must equal what store_usage_add per event would have
 * committed — jobs rolled back to their savepoint, batches rolled back,
 * savepoints that open and commit a transaction, more sums than kept in
 * memory, and adds outside a transaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define DAY 20261202

static char dir[64];
static store_t *s;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "udefer")) return -1;
  return test_store_open(dir, &s) ? -1 : 0;
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static const char *want_metric;
static int64_t got;
static void on_day(void *ud, int32_t day, const char *metric, int64_t value)
{
  (void)ud;
  if (day == DAY && !strcmp(metric, want_metric)) got = value;
}

/* The committed value of metric (0: no row), read on a second connection. */
static int64_t committed(const char *metric)
{
  store_t *r;
  assert_int_equal(test_store_open(dir, &r), 0);
  want_metric = metric;
  got = 0;
  assert_int_equal(store_usage_day_each(r, 0, APP, DAY, DAY, on_day, NULL), 0);
  store_close(r);
  return got;
}

static void job(const char *metric, int64_t n, int fail)
{
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, metric, n), 0);
  if (fail) assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
}

/* The writer's batch: a failed job's add is not counted; nothing is written
 * before the COMMIT. */
static void test_batch_with_failed_job(void **st)
{
  (void)st;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  job("c2c_msgs", 1, 0);
  job("c2c_msgs", 1, 1);
  job("c2c_msgs", 2, 0);
  job("group_msgs", 5, 1);
  assert_int_equal(committed("c2c_msgs"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(committed("c2c_msgs"), 3);
  assert_int_equal(committed("group_msgs"), 0);
  /* next batch adds to the row; a rolled-back batch adds nothing */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  job("c2c_msgs", 4, 0);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  job("c2c_msgs", 10, 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(committed("c2c_msgs"), 13);
}

/* Outside a transaction the add is written at once; a SAVEPOINT that opens
 * the transaction commits its sums with its RELEASE. */
static void test_autocommit_and_outer_savepoint(void **st)
{
  (void)st;
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "c2c_msgs", 7), 0);
  assert_int_equal(committed("c2c_msgs"), 7);
  assert_int_equal(store_exec(s, "SAVEPOINT outer"), 0);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "c2c_msgs", 2), 0);
  assert_int_equal(store_exec(s, "RELEASE outer"), 0);
  assert_int_equal(committed("c2c_msgs"), 9);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "", 1), IMC_E_INVAL);
}

/* More distinct counters than kept in memory: the sums are written early,
 * inside the job's savepoint, and a ROLLBACK TO still undoes exactly that
 * job's adds. */
static void test_many_metrics_and_nested_rollback(void **st)
{
  (void)st;
  char m[24];
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  job("c2c_msgs", 1, 0);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "c2c_msgs", 100), 0);
  for (int i = 0; i < 40; i++) {
    snprintf(m, sizeof m, "m%d", i);
    assert_int_equal(store_usage_add_at_commit(s, APP, DAY, m, 1), 0);
  }
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  job("m3", 2, 0);
  /* a savepoint inside a job (tenant.c's app_create) rolled back alone */
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "c2c_msgs", 1), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT inner"), 0);
  assert_int_equal(store_usage_add_at_commit(s, APP, DAY, "c2c_msgs", 50), 0);
  assert_int_equal(store_exec(s, "ROLLBACK TO inner"), 0);
  assert_int_equal(store_exec(s, "RELEASE inner"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(committed("c2c_msgs"), 2);
  assert_int_equal(committed("m3"), 2);
  assert_int_equal(committed("m0"), 0);
  assert_int_equal(committed("m39"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_batch_with_failed_job, setup, teardown),
    cmocka_unit_test_setup_teardown(test_autocommit_and_outer_savepoint, setup, teardown),
    cmocka_unit_test_setup_teardown(test_many_metrics_and_nested_rollback, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
