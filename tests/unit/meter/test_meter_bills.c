/* Unit tests for the bill run (src/meter/bills.c over the SQLite store):
 * bills are numbered gap-free per deployment, one per app and month,
 * immutable; a second run issues nothing and leaves the stored bills byte
 * for byte; a run interrupted half-way finishes the rest; a bill equals the
 * library's price of the stored usage; payment from the wallet when it
 * covers the bill, open otherwise, overdue after 7 days (P-14, P-45), paid by
 * settle after a top-up; the orders seam (a provider with a package order);
 * an app billed by another issuer after the run listed the unbilled apps
 * counts as existing (its bill kept, no number skipped); the listing of the
 * apps with and without a bill of a month; a retention add-on billed by a run. */
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
static int64_t nov1; /* 00:00:00 on 1 Nov 2026, UTC+8: the October bill run */

static uint32_t add_app(const char *scheme, const char *edition, int64_t created)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, scheme); strcpy(a.edition, edition);
  a.created_at_s = created;
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

static void dau(uint32_t app, int32_t day, uint32_t n)
{
  for (uint32_t u = 1; u <= n; u++) assert_int_equal(store_usage_login(s, app, day, u), 0);
}

static int setup(void **st)
{
  (void)st;
  nov1 = imc_day_start(imc_days_from_civil(2026, 11, 1), TZ);
  if (test_tmpdir_make(dir, sizeof dir, "bills") || test_store_open(dir, &s)) return -1;
  return store_customer_create(s, "acme", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static char *bill_body(uint32_t app, int32_t month, store_bill_t *b)
{
  assert_int_equal(store_bill_get(s, app, month, b), 0);
  return b->body;
}

static void test_run_numbers_once(void **st)
{
  (void)st;
  int64_t old = 1546272000; /* 2019-01-01: legacy apps, billed on DAU */
  uint32_t a1 = add_app("legacy", "legacy", old), a2 = add_app("legacy", "legacy", old);
  uint32_t late = add_app("legacy", "legacy", nov1);           /* created after October: not billed */
  dau(a1, 20261003, 150);
  dau(a2, 20261020, 20);
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1 - 1, TZ, meter_orders_none, NULL, &r, err, sizeof err), IMC_E_BILL_MONTH);
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.apps, 2);
  assert_int_equal(r.issued, 2);
  assert_int_equal(r.failed, 0);
  store_bill_t b1, b2, x;
  char *body1 = bill_body(a1, 202610, &b1), *body2 = bill_body(a2, 202610, &b2);
  assert_string_equal(b1.number, "IMC-2026-10-000001");
  assert_string_equal(b2.number, "IMC-2026-10-000002");
  assert_int_equal(b1.issued_at_s, nov1);
  assert_int_equal(store_bill_get(s, late, 202610, &x), IMC_E_NOTFOUND);
  /* a second run (and a later one) is a no-op: the stored bills are byte-identical */
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1 + 3600, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 0);
  assert_int_equal(r.existing, 2);
  store_bill_t c1;
  char *again = bill_body(a1, 202610, &c1);
  assert_string_equal(again, body1);
  assert_int_equal(c1.issued_at_s, nov1);
  free(again);
  /* the bill is the library's price of the stored usage: legacy DAU 150 → one started 10,000 block (P-03) */
  json_t *o = json_loads(body1, 0, NULL);
  assert_non_null(o);
  assert_int_equal(json_integer_value(json_object_get(o, "total_fen")), 100000);
  assert_int_equal(b1.postpaid_fen, 100000);
  json_decref(o);
  /* immutable, also for raw SQL */
  assert_int_not_equal(store_exec(s, "UPDATE bills SET total_fen=0"), 0);
  assert_int_not_equal(store_exec(s, "DELETE FROM bills"), 0);
  /* the next month continues the same sequence: gap-free per deployment */
  int64_t dec1 = imc_day_start(imc_days_from_civil(2026, 12, 1), TZ);
  assert_int_equal(meter_bill_run(s, 0, 202611, dec1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 3);
  store_bill_t n3;
  free(bill_body(late, 202611, &n3));
  assert_string_equal(n3.number, "IMC-2026-11-000005");
  assert_int_equal(meter_bill_due_month(dec1, TZ), 202611);
  assert_int_equal(meter_bill_due_month(imc_day_start(imc_days_from_civil(2027, 1, 1), TZ), TZ), 202612);
  free(body1);
  free(body2);
}

static void test_interrupted_run_finishes(void **st)
{
  (void)st;
  uint32_t a[4];
  for (int i = 0; i < 4; i++) { a[i] = add_app("legacy", "legacy", 1546272000); dau(a[i], 20261010, (uint32_t)(i + 1)); }
  /* a run that stopped after two apps (each app is its own transaction) */
  store_bill_t b;
  int existed;
  char err[256];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(meter_bill_issue(s, 0, a[i], 202610, nov1, TZ, meter_orders_none, NULL, &b, &existed, err, sizeof err), 0);
    assert_false(existed);
    free(b.body);
  }
  meter_bill_run_stats_t r;
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1 + 60, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.apps, 4);
  assert_int_equal(r.existing, 2);
  assert_int_equal(r.issued, 2);
  for (int i = 0; i < 4; i++) {
    free(bill_body(a[i], 202610, &b));
    char want[32];
    snprintf(want, sizeof want, "IMC-2026-10-%06d", i + 1);
    assert_string_equal(b.number, want);
  }
}

/* Orders provider that, while the run prices app *ud, issues that app's bill
 * itself (as a second issuer would between the run's list and its insert). */
static int racing_orders(void *ud, store_t *st, const store_app_t *app, int32_t month, bill_order_t *orders, int cap, int *n,
                         char *err, size_t errcap)
{
  if (app->sdkappid == *(uint32_t *)ud) {
    store_bill_t b;
    int existed;
    assert_int_equal(meter_bill_issue(st, 1, app->sdkappid, month, nov1, TZ, meter_orders_none, NULL, &b, &existed, err, errcap), 0);
    assert_false(existed);
    free(b.body);
  }
  return meter_orders_none(NULL, st, app, month, orders, cap, n, err, errcap);
}

static void test_issued_meanwhile(void **st)
{
  (void)st;
  uint32_t a[3];
  for (int i = 0; i < 3; i++) { a[i] = add_app("legacy", "legacy", 1546272000); dau(a[i], 20261010, (uint32_t)(i + 1)); }
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, racing_orders, &a[1], &r, err, sizeof err), 0);
  assert_int_equal(r.apps, 3);
  assert_int_equal(r.failed, 0);
  assert_int_equal(r.existing, 1);
  assert_int_equal(r.issued, 2);
  store_bill_t b;
  for (int i = 0; i < 3; i++) { /* numbered in the order written: the other issuer's bill took the second number */
    free(bill_body(a[i], 202610, &b));
    char want[32];
    snprintf(want, sizeof want, "IMC-2026-10-%06d", i + 1);
    assert_string_equal(b.number, want);
  }
}

/* One run, two customers interleaved: each bill the balance covers is paid,
 * in sdkappid order, a bill it does not cover stays open and a later smaller
 * one is still paid (the run remembers each balance inside its transaction). */
static void test_payment_in_order(void **st)
{
  (void)st;
  int64_t cust1 = cust, cust2;
  assert_int_equal(store_customer_create(s, "other", 1000, &cust2), 0);
  int64_t old = 1546272000, doc;
  uint32_t a1 = add_app("legacy", "legacy", old), a2 = add_app("legacy", "legacy", old), a3 = add_app("legacy", "legacy", old);
  cust = cust2;
  uint32_t b1 = add_app("legacy", "legacy", old);
  cust = cust1;
  uint32_t a4 = add_app("legacy", "legacy", old);
  assert_int_equal(store_usage_import_doc(s, a1, 202610, "test", "{}", 1, &doc), 0);
  assert_int_equal(store_usage_import_put(s, a1, 20261003, METER_M_DAU, 25000, doc), 0); /* 3,000 元 */
  dau(a2, 20261005, 10); /* 1,000 元 each */
  dau(b1, 20261005, 10);
  dau(a3, 20261005, 10);
  dau(a4, 20261005, 10);
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 0, cust1, TENANT_LEDGER_TOPUP, 250000, "top-up", "t1", 100, &e), 0);
  assert_int_equal(tenant_wallet_post(s, 0, cust2, TENANT_LEDGER_TOPUP, 100000, "top-up", "t1", 100, &e), 0);
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 5);
  assert_int_equal(r.paid, 3);
  const struct { uint32_t app; int paid; } want[] = { { a1, 0 }, { a2, 1 }, { a3, 1 }, { b1, 1 }, { a4, 0 } };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    store_bill_t b;
    free(bill_body(want[i].app, 202610, &b));
    assert_int_equal(b.paid, want[i].paid);
  }
  int64_t bal;
  assert_int_equal(store_wallet_balance(s, cust1, &bal), 0);
  assert_int_equal(bal, 50000);
  assert_int_equal(store_wallet_balance(s, cust2, &bal), 0);
  assert_int_equal(bal, 0);
}

static void test_payment_overdue_settle(void **st)
{
  (void)st;
  uint32_t a1 = add_app("legacy", "legacy", 1546272000), a2 = add_app("legacy", "legacy", 1546272000);
  dau(a1, 20261005, 10);   /* 1,000 元 */
  dau(a2, 20261005, 10);   /* 1,000 元 */
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 150000, "top-up", "t1", 100, &e), 0);
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.paid, 1);                       /* the wallet covers the first bill only */
  store_bill_t b1, b2;
  free(bill_body(a1, 202610, &b1));
  free(bill_body(a2, 202610, &b2));
  assert_true(b1.paid);
  assert_false(b2.paid);
  assert_string_equal(meter_bill_status(&b1, nov1), "paid");
  assert_string_equal(meter_bill_status(&b2, nov1), "open");
  assert_string_equal(meter_bill_status(&b2, nov1 + 7 * 86400 - 1), "open");
  assert_string_equal(meter_bill_status(&b2, nov1 + 7 * 86400), "overdue"); /* P-14, P-45 */
  int64_t bal;
  assert_int_equal(store_wallet_balance(s, cust, &bal), 0);
  assert_int_equal(bal, 50000);
  int paid;
  assert_int_equal(meter_bill_settle(s, cust, nov1 + 86400, &paid), 0);
  assert_int_equal(paid, 0);                         /* 500 元 do not cover 1,000 元: nothing paid */
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 60000, "top-up", "t2", 200, &e), 0);
  assert_int_equal(meter_bill_settle(s, cust, nov1 + 86400, &paid), 0);
  assert_int_equal(paid, 1);
  char *body = bill_body(a2, 202610, &b2);
  assert_true(b2.paid);
  assert_string_equal(meter_bill_status(&b2, nov1 + 30 * 86400), "paid");
  assert_int_equal(store_wallet_balance(s, cust, &bal), 0);
  assert_int_equal(bal, 10000);
  json_t *o = meter_bill_json(&b2, nov1);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "status")), "paid");
  assert_string_equal(json_string_value(json_object_get(o, "number")), b2.number);
  assert_int_equal(json_integer_value(json_object_get(o, "due_at")), nov1 + 7 * 86400);
  assert_int_equal(json_integer_value(json_object_get(o, "total_fen")), 100000);
  json_decref(o);
  free(body);
}

/* A provider with the app's package: s2022 pro bought on 1 Oct. */
static int pro_orders(void *ud, store_t *st, const store_app_t *app, int32_t month, bill_order_t *orders, int cap, int *n,
                      char *err, size_t errcap)
{
  (void)ud; (void)st; (void)app; (void)month; (void)cap; (void)err; (void)errcap;
  const bill_book_t *b = bill_book_builtin(BILL_SCHEME_S2022);
  memset(orders, 0, sizeof *orders);
  orders[0].edition = bill_book_edition_find(b, "pro");
  orders[0].start_day = imc_days_from_civil(2026, 10, 1);
  orders[0].periods = 1;
  *n = 1;
  return 0;
}

static void test_orders_seam(void **st)
{
  (void)st;
  uint32_t pro = add_app("s2022", "pro", 1700000000), trial = add_app("s2022", "trial", 1700000000);
  dau(pro, 20261002, 30);
  char err[256];
  meter_bill_run_stats_t r;
  /* without purchase history a pro app is refused, never billed as if it held nothing; the run goes on */
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.failed, 1);
  assert_int_equal(r.issued, 1);
  assert_non_null(strstr(err, "purchase history"));
  store_bill_t b;
  assert_int_equal(store_bill_get(s, pro, 202610, &b), IMC_E_NOTFOUND);
  free(bill_body(trial, 202610, &b));
  assert_int_equal(b.total_fen, 0);
  assert_string_equal(meter_bill_status(&b, nov1), "paid");   /* nothing to pay */
  /* with its orders the same run bills it: the prepaid package appears as an already paid line */
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, pro_orders, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 1);
  char *body = bill_body(pro, 202610, &b);
  json_t *o = json_loads(body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "edition")), "pro");
  assert_true(json_integer_value(json_object_get(o, "prepaid_fen")) > 0);
  assert_int_equal(json_integer_value(json_object_get(o, "postpaid_fen")), 0);
  assert_string_equal(b.number, "IMC-2026-10-000002");
  json_decref(o);
  free(body);
}

/* A run's batch prices each app's retention add-ons from its orders: an S-2022 pro app with a
 * history_days order among legacy apps without orders is billed its retention (P-46), the same
 * bill as meter_bill_compute prices for it alone */
static void test_run_retention_orders(void **st)
{
  (void)st;
  uint32_t a[5];
  int64_t oct1 = imc_days_from_civil(2026, 10, 1), at = imc_day_start(oct1, TZ) + 3600;
  for (int i = 0; i < 5; i++) {
    a[i] = i == 2 ? add_app("s2022", "trial", 1767196800) : add_app("legacy", "legacy", 1546272000);
    dau(a[i], 20261010, (uint32_t)(i + 1));
  }
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 1000000, "top-up", "t1", at, &e), 0);
  store_order_t o;
  int replayed;
  char err[256];
  int rc = tenant_app_upgrade(s, a[2], "pro", oct1, NULL, at, &o, &replayed, err, sizeof err);
  if (!rc) rc = tenant_addon_buy(s, a[2], "history_days", 90, NULL, oct1, "h90", at, &o, &replayed, err, sizeof err);
  if (rc) fail_msg("%d %s", rc, err);
  meter_bill_run_stats_t r;
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_tenant, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 5);
  for (int i = 0; i < 5; i++) {
    store_bill_t b;
    char *body = bill_body(a[i], 202610, &b), *want;
    int64_t t[3];
    assert_int_equal(meter_bill_compute(s, a[i], 202610, TZ, meter_orders_tenant, NULL, &want, t, err, sizeof err), 0);
    assert_string_equal(body, want);
    assert_int_equal(strstr(body, "P-46") != NULL, i == 2);
    free(want);
    free(body);
  }
}

typedef struct ids { uint32_t v[16]; int n; } ids_t;
static void on_month_app(void *ud, uint32_t app, int32_t month)
{
  ids_t *l = ud;
  assert_int_equal(month, 202610);
  assert_true(l->n < 16);
  l->v[l->n++] = app;
}

/* store_bill_month_apps: the apps with and without a bill of the month, by sdkappid — the
 * unbilled ones found by walking the apps beside the month's bills (index bills_month_app):
 * apps billed for another month only, and a correction, do not count as billed */
static void test_month_apps(void **st)
{
  (void)st;
  uint32_t a[7];
  for (int i = 0; i < 7; i++) a[i] = add_app("legacy", "legacy", 1546272000);
  store_bill_t in = { .customer_id = cust, .issued_at_s = nov1, .body = "{}" }, out;
  static const struct { int app; int32_t month; } bills[] = { { 1, 202610 }, { 2, 202610 }, { 3, 202609 }, { 4, 202610 },
                                                              { 3, 202611 }, { 6, 202609 } };
  for (size_t i = 0; i < sizeof bills / sizeof *bills; i++) {
    in.sdkappid = a[bills[i].app];
    in.month = bills[i].month;
    assert_int_equal(store_bill_insert(s, &in, &out), 0);
  }
  in.sdkappid = a[6];
  in.month = 202610;
  in.corrects_seq = out.seq; /* a correction (of app 6's September bill, here only its month matters) */
  assert_int_equal(store_bill_insert(s, &in, &out), 0);
  ids_t billed = { 0 }, unbilled = { 0 };
  assert_int_equal(store_bill_month_apps(s, 202610, 1, on_month_app, &billed), 0);
  assert_int_equal(store_bill_month_apps(s, 202610, 0, on_month_app, &unbilled), 0);
  uint32_t want_billed[] = { a[1], a[2], a[4] }, want_unbilled[] = { a[0], a[3], a[5], a[6] };
  assert_int_equal(billed.n, 3);
  assert_memory_equal(billed.v, want_billed, sizeof want_billed);
  assert_int_equal(unbilled.n, 4);
  assert_memory_equal(unbilled.v, want_unbilled, sizeof want_unbilled);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_run_numbers_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_interrupted_run_finishes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_issued_meanwhile, setup, teardown),
    cmocka_unit_test_setup_teardown(test_payment_overdue_settle, setup, teardown),
    cmocka_unit_test_setup_teardown(test_payment_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_orders_seam, setup, teardown),
    cmocka_unit_test_setup_teardown(test_month_apps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_retention_orders, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
