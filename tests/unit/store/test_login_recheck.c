/* Unit tests for a login row's bill recheck (src/store/sqlite_login.c): a
 * new login row of a month the app has a bill for queues the month in
 * bill_recheck, once; a row of a month without a bill, or a row that was
 * there, queues nothing. The writer keeps the highest billed month per
 * transaction instead of looking bills up per row: a bill this connection
 * adds in the same transaction, or another connection commits between two
 * transactions, must still be seen, with the row outside a transaction as
 * well. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

static char dir[64];
static store_t *s;
static int64_t cust;

static uint32_t make_app(store_t *st)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(st, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "pro");
  a.created_at_s = 1700000000;
  assert_int_equal(store_app_insert(st, &a), 0);
  return a.sdkappid;
}

static void bill(store_t *st, uint32_t app, int32_t month)
{
  store_bill_t in = { 0 }, out;
  in.sdkappid = app;
  in.customer_id = cust;
  in.month = month;
  in.issued_at_s = 1700000000;
  in.body = "{}";
  assert_int_equal(store_bill_insert(st, &in, &out), 0);
}

typedef struct { int n; uint32_t app; int32_t month; } queued_t;
static void on_queued(void *ud, uint32_t app, int32_t month)
{
  queued_t *q = ud;
  q->n++;
  q->app = app;
  q->month = month;
}

static queued_t queued(void)
{
  queued_t q = { 0 };
  assert_int_equal(store_bill_recheck_each(s, 100, on_queued, &q), 0);
  return q;
}

static void done(uint32_t app, int32_t month) { assert_int_equal(store_bill_recheck_done(s, app, month), 0); }

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "lrecheck") || test_store_open(dir, &s)) return -1;
  return store_customer_create(s, "acme", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

/* outside a transaction: each row decides for itself */
static void test_rows(void **st)
{
  (void)st;
  uint32_t a = make_app(s), b = make_app(s);
  bill(s, a, 202610);
  assert_int_equal(store_usage_login(s, a, 20261101, 1), 0); /* November: no bill */
  assert_int_equal(store_usage_login(s, b, 20261005, 1), 0); /* b has no October bill */
  assert_int_equal(queued().n, 0);
  assert_int_equal(store_usage_login(s, a, 20261005, 1), 0); /* late October login of a */
  queued_t q = queued();
  assert_int_equal(q.n, 1);
  assert_int_equal(q.app, a);
  assert_int_equal(q.month, 202610);
  assert_int_equal(store_usage_login(s, a, 20261006, 2), 0); /* already queued: once */
  assert_int_equal(queued().n, 1);
  done(a, 202610);
  assert_int_equal(store_usage_login(s, a, 20261005, 1), 0); /* the row was there: nothing new */
  assert_int_equal(queued().n, 0);
  assert_int_equal(store_usage_login(s, a, 20260915, 1), 0); /* an earlier month without a bill */
  assert_int_equal(queued().n, 0);
}

/* one transaction: a login before the month's bill, the bill, a login after it */
static void test_bill_in_the_transaction(void **st)
{
  (void)st;
  uint32_t a = make_app(s);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_usage_login(s, a, 20261030, 1), 0); /* no bill yet */
  bill(s, a, 202610);
  assert_int_equal(store_usage_login(s, a, 20261031, 2), 0); /* billed since */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  queued_t q = queued();
  assert_int_equal(q.n, 1);
  assert_int_equal(q.month, 202610);
}

/* a bill committed by another connection between two of this one's transactions */
static void test_bill_by_another_connection(void **st)
{
  (void)st;
  uint32_t a = make_app(s);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_usage_login(s, a, 20261030, 1), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_t *other;
  assert_int_equal(test_store_open(dir, &other), 0);
  bill(other, a, 202610);
  store_close(other);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_usage_login(s, a, 20261031, 2), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(queued().n, 1);
  /* and after a transaction that rolled back */
  done(a, 202610);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_usage_login(s, a, 20261129, 1), 0);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(test_store_open(dir, &other), 0);
  bill(other, a, 202611);
  store_close(other);
  assert_int_equal(store_exec(s, "BEGIN"), 0);
  assert_int_equal(store_usage_login(s, a, 20261130, 3), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  queued_t q = queued();
  assert_int_equal(q.n, 1);
  assert_int_equal(q.month, 202611);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bill_in_the_transaction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bill_by_another_connection, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
