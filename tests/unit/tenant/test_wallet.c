/* Unit tests for wallets (src/tenant/wallet.c over the SQLite store): signs
 * per kind, the balance never below zero (a debit larger than the balance is
 * refused and writes nothing), idempotent references, the ledger is
 * append-only even for raw SQL, and bad input is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenant/tenant.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

static char dir[64];
static store_t *s;
static int64_t cust;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "wallet") || test_store_open(dir, &s)) return -1;
  return tenant_customer_create(s, "payer", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static int64_t balance(void)
{
  int64_t b = -1;
  assert_int_equal(store_wallet_balance(s, cust, &b), 0);
  return b;
}

static int count;
static void on_entry(void *ud, const store_ledger_t *e) { (void)ud; (void)e; count++; }
static int entries(void) { count = 0; assert_int_equal(store_ledger_each(s, cust, on_entry, NULL), 0); return count; }

static void test_kinds_and_balance(void **st)
{
  (void)st;
  store_ledger_t e;
  assert_int_equal(balance(), 0);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 100000, "bank transfer", "t1", 2000, &e), 0);
  assert_int_equal(e.amount_fen, 100000);
  assert_int_equal(e.balance_fen, 100000);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_ORDER, 99900, "pro package 2026-10", "o1", 2001, &e), 0);
  assert_int_equal(e.amount_fen, -99900);
  assert_int_equal(balance(), 100);
  /* a prepaid order larger than the balance is refused and writes nothing */
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_ORDER, 101, "add-on", "o2", 2002, &e), IMC_E_WALLET_FUNDS);
  assert_int_equal(balance(), 100);
  assert_int_equal(entries(), 2);
  /* exactly the balance is fine */
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_PAYMENT, 100, "bill 2026-10", "b1", 2003, &e), 0);
  assert_int_equal(balance(), 0);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_REFUND, 50, "refund", "r1", 2004, &e), 0);
  assert_int_equal(balance(), 50);
}

static void test_references(void **st)
{
  (void)st;
  store_ledger_t e;
  int64_t b0 = balance();
  int n0 = entries();
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 700, "top-up", "same", 3000, &e), 0);
  assert_int_equal(e.replayed, 0);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 700, "top-up", "same", 3001, &e), 0);
  assert_int_equal(e.replayed, 1);
  assert_int_equal(balance(), b0 + 700);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 701, "top-up", "same", 3002, &e), IMC_E_EXISTS);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_REFUND, 700, "top-up", "same", 3002, &e), IMC_E_EXISTS);
  assert_int_equal(entries(), n0 + 1);
}

static void test_bad_input_and_append_only(void **st)
{
  (void)st;
  store_ledger_t e;
  int n0 = entries();
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 0, "x", "z1", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, -1, "x", "z2", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, TENANT_WALLET_MAX_FEN + 1, "x", "z3", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 1, "", "z4", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 1, "x", "with space", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER__COUNT, 1, "x", "z5", 1, &e), IMC_E_INVAL);
  assert_int_equal(tenant_wallet_post(s, 0, 987654, TENANT_LEDGER_TOPUP, 1, "x", "z6", 1, &e), IMC_E_NOTFOUND);
  assert_int_equal(entries(), n0);
  /* the ledger refuses edits and deletions even through raw SQL */
  assert_true(store_exec(s, "UPDATE ledger SET amount_fen = 999999999") != 0);
  assert_true(store_exec(s, "DELETE FROM ledger") != 0);
  assert_int_equal(entries(), n0);
  tenant_ledger_kind_t k;
  assert_int_equal(tenant_ledger_kind_parse("payment", &k), 0);
  assert_int_equal(k, TENANT_LEDGER_PAYMENT);
  assert_int_equal(tenant_ledger_kind_parse("gift", &k), IMC_E_INVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kinds_and_balance), cmocka_unit_test(test_references),
    cmocka_unit_test(test_bad_input_and_append_only),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
