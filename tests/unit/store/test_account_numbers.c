/* Unit tests for account numbers (src/store/sqlite.c account_import_txn,
 * migration 29): a new account gets the number after the app's highest, is
 * never given a number a deleted account had (the highest one included,
 * across a reopen), and numbers are per app; an import of an existing
 * account keeps its number. Inside a transaction the next number is counted
 * on (sqlite_login.c): a savepoint rolled back gives its numbers again, a
 * deletion is still respected, and another connection's accounts are seen
 * by the next transaction. */
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

static char dir[64];
static store_t *s;
static int64_t cust;

static uint32_t make_app(void)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "pro");
  a.created_at_s = 1700000000;
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

static uint32_t import(uint32_t app, const char *user)
{
  uint32_t no = 0;
  assert_int_equal(store_account_import(s, app, user, NULL, NULL, 1700000000, &no), 0);
  return no;
}

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "accno") || test_store_open(dir, &s)) return -1;
  return store_customer_create(s, "acme", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static void test_numbers(void **st)
{
  (void)st;
  uint32_t a = make_app(), b = make_app();
  assert_int_equal(import(a, "u1"), 1);
  assert_int_equal(import(a, "u2"), 2);
  assert_int_equal(import(a, "u3"), 3);
  assert_int_equal(import(b, "u1"), 1);        /* per app */
  assert_int_equal(import(a, "u2"), 2);        /* existing: its number */
  assert_int_equal(store_account_delete(s, a, "u3"), 0); /* the highest */
  assert_int_equal(import(a, "u4"), 4);        /* not 3 again */
  assert_int_equal(store_account_delete(s, a, "u4"), 0);
  assert_int_equal(store_account_delete(s, a, "u1"), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(import(a, "u3"), 5);        /* re-imported: a new number */
  assert_int_equal(import(a, "u1"), 6);
  assert_int_equal(import(b, "u2"), 2);
  /* inside a transaction that rolls back, the number is given again */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(import(a, "u7"), 7);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(import(a, "u8"), 7);
  /* in one transaction: numbers counted on, a savepoint's rolled back, a deletion of the highest,
   * another app in between, and the next transaction after another connection's import */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(import(a, "u9"), 8);
  assert_int_equal(import(a, "u10"), 9);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(import(a, "u11"), 10);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(import(a, "u12"), 10);       /* the rolled-back number again, no gap */
  assert_int_equal(store_account_delete(s, a, "u12"), 0);
  assert_int_equal(import(b, "u3"), 3);
  assert_int_equal(import(a, "u13"), 11);       /* not 10: it was deleted */
  assert_int_equal(import(a, "u9"), 8);         /* existing */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_t *other;
  assert_int_equal(test_store_open(dir, &other), 0);
  uint32_t no = 0;
  assert_int_equal(store_account_import(other, a, "x1", NULL, NULL, 1700000000, &no), 0);
  assert_int_equal(no, 12);
  store_close(other);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(import(a, "u14"), 13);       /* after the other connection's */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
