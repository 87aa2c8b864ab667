/* Unit tests for bills priced from the stored orders (src/meter/orders.c) and
 * for arrears (src/meter/arrears.c, tenant_app_set_arrears): the periods of
 * one first day become one billing order with its count of periods (the
 * 31st clamped, L-2); a pro app's October bill from its orders equals the
 * price of the same package bought that month; a bill unpaid 7 days after
 * issue suspends every app of the customer (reason "arrears"), not one
 * second earlier; an operator suspension is left alone; a top-up that pays
 * the bill resumes them; arrears ending on a lapsed app leave it suspended
 * for the lapse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define TZ IMC_TZ_CHINA_S

static char dir[64];
static store_t *s;
static int64_t cust;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "arrears") || test_store_open(dir, &s)) return -1;
  return tenant_customer_create(s, "acme", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static uint32_t app_create(const char *scheme, int y, int m, int d)
{
  tenant_app_params_t p = { .customer_id = cust, .name = "a", .region = "china", .scheme = scheme,
                            .created_at_s = imc_day_start(imc_days_from_civil(y, m, d), TZ), .now_s = 1796000000 };
  store_app_t a;
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  return a.sdkappid;
}

static void topup(int64_t fen, const char *ref)
{
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, fen, "test", ref, 1796000000, &e), 0);
}

static const char *status(uint32_t app, char by[16])
{
  static store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_int_equal(tenant_app_suspended_by(s, app, by, 16), 0);
  return a.status;
}

static void test_orders_provider(void **st)
{
  (void)st;
  uint32_t app = app_create(NULL, 2026, 1, 1);
  topup(3 * 99900, "t");
  store_order_t o;
  int replayed;
  char err[256];
  int64_t jan31 = imc_days_from_civil(2026, 1, 31);
  assert_int_equal(tenant_app_upgrade(s, app, "pro", jan31, NULL, 1796000000, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(tenant_app_renew(s, app, jan31, NULL, 1796000000, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(tenant_app_renew(s, app, imc_days_from_civil(2026, 3, 1), NULL, 1796000000, &o, &replayed, err, sizeof err), 0);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  bill_order_t v[BILL_MAX_ORDERS];
  int n = -1;
  assert_int_equal(meter_orders_tenant(NULL, s, &a, 202603, v, BILL_MAX_ORDERS, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);                                 /* three period rows, one order */
  assert_int_equal(v[0].is_addon, 0);
  assert_int_equal(v[0].start_day, jan31);
  assert_int_equal(v[0].periods, 3);
  assert_int_equal(v[0].edition, bill_book_edition_find(bill_book_builtin(BILL_SCHEME_S2022), "pro"));
  assert_int_equal(bill_period_start(jan31, 2), imc_days_from_civil(2026, 3, 31)); /* the 31st again after February */
  /* a month long after: nothing touches it */
  assert_int_equal(meter_orders_tenant(NULL, s, &a, 202612, v, BILL_MAX_ORDERS, &n, err, sizeof err), 0);
  assert_int_equal(n, 0);
  /* March's bill: the period starting 31 March, at the book's price, already paid */
  char *json;
  int64_t t[3];
  assert_int_equal(meter_bill_compute(s, app, 202603, TZ, meter_orders_tenant, NULL, &json, t, err, sizeof err), 0);
  assert_int_equal(t[1], 99900);
  assert_int_equal(t[2], 0);
  assert_non_null(strstr(json, "pro package 2026-03-31..2026-04-29"));
  free(json);
  /* the same bill as a package bought on the 1st of that month (what imcloud quote prices) */
  assert_int_equal(meter_bill_compute(s, app, 202601, TZ, meter_orders_tenant, NULL, &json, t, err, sizeof err), 0);
  assert_int_equal(t[0], 99900);
  free(json);
}

static void dau(uint32_t app, int32_t day, uint32_t n)
{
  for (uint32_t u = 1; u <= n; u++) assert_int_equal(store_usage_login(s, app, day, u), 0);
}

static void test_arrears(void **st)
{
  (void)st;
  uint32_t a1 = app_create("legacy", 2019, 3, 1), a2 = app_create("legacy", 2019, 3, 1), a3 = app_create("legacy", 2019, 3, 1);
  dau(a1, 20261005, 10); /* legacy: 1,000 元 for the month */
  assert_int_equal(tenant_app_suspend(s, a3), 0);
  int64_t nov1 = imc_day_start(imc_days_from_civil(2026, 11, 1), TZ);
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_tenant, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 3);
  assert_int_equal(r.paid, 0); /* an empty wallet */
  meter_arrears_stats_t ar;
  char by[16];
  /* one second before the 7 days: nothing; the moment is reported */
  assert_int_equal(meter_arrears_run(s, 0, 0, nov1 + 7 * 86400 - 1, TZ, &ar), 0);
  assert_int_equal(ar.in_arrears, 0);
  assert_int_equal(ar.suspended, 0);
  assert_int_equal(ar.next_overdue_s, nov1 + 7 * 86400);
  assert_string_equal(status(a1, by), "active");
  /* at 7 days: every app of the customer, except the one the operator suspended */
  assert_int_equal(meter_arrears_run(s, 0, 0, nov1 + 7 * 86400, TZ, &ar), 0);
  assert_int_equal(ar.in_arrears, 1);
  assert_int_equal(ar.suspended, 2);
  assert_string_equal(status(a1, by), "suspended");
  assert_string_equal(by, "arrears");
  assert_string_equal(status(a2, by), "suspended");
  assert_string_equal(by, "arrears");
  assert_string_equal(status(a3, by), "suspended");
  assert_string_equal(by, "operator");
  /* again: idempotent */
  assert_int_equal(meter_arrears_run(s, 0, 0, nov1 + 8 * 86400, TZ, &ar), 0);
  assert_int_equal(ar.suspended + ar.resumed, 0);
  /* a top-up short of the bill: nothing paid, nothing resumed */
  topup(99999, "short");
  assert_int_equal(meter_arrears_run(s, cust, 1, nov1 + 8 * 86400, TZ, &ar), 0);
  assert_int_equal(ar.bills_paid, 0);
  assert_int_equal(ar.resumed, 0);
  /* one that covers it: paid, the arrears apps resumed, the operator's left alone */
  topup(1, "rest");
  assert_int_equal(meter_arrears_run(s, cust, 1, nov1 + 8 * 86400, TZ, &ar), 0);
  assert_int_equal(ar.bills_paid, 1);
  assert_int_equal(ar.resumed, 2);
  assert_string_equal(status(a1, by), "active");
  assert_string_equal(status(a2, by), "active");
  assert_string_equal(status(a3, by), "suspended");
  assert_string_equal(by, "operator");
  int64_t bal;
  assert_int_equal(store_wallet_balance(s, cust, &bal), 0);
  assert_int_equal(bal, 0);
}

/* Arrears ending on an app whose package lapsed meanwhile: suspended for the lapse. */
static void test_arrears_then_lapse(void **st)
{
  (void)st;
  uint32_t app = app_create(NULL, 2026, 1, 1);
  topup(99900, "pkg");
  store_order_t o;
  int replayed, changed;
  char err[256], by[16];
  int64_t oct1 = imc_days_from_civil(2026, 10, 1);
  assert_int_equal(tenant_app_upgrade(s, app, "pro", oct1, NULL, 1796000000, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(tenant_app_set_arrears(s, app, 1, oct1 + 5, &changed), 0);
  assert_int_equal(changed, 1);
  assert_string_equal(status(app, by), "suspended");
  assert_string_equal(by, "arrears");
  /* 31 Oct + 7 grace days later the package lapsed */
  assert_int_equal(tenant_app_set_arrears(s, app, 0, oct1 + 40, &changed), 0);
  assert_int_equal(changed, 1);
  assert_string_equal(status(app, by), "suspended");
  assert_string_equal(by, "lapse");
  /* a lapse suspension is not touched by arrears either way */
  assert_int_equal(tenant_app_set_arrears(s, app, 0, oct1 + 40, &changed), 0);
  assert_int_equal(changed, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_orders_provider, setup, teardown),
    cmocka_unit_test_setup_teardown(test_arrears, setup, teardown),
    cmocka_unit_test_setup_teardown(test_arrears_then_lapse, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
