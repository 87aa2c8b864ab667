/* Unit tests for correction documents (src/meter/corrections.c over the
 * SQLite store; docs/decisions/billing-corrections.md): a late login that
 * leaves the bill unchanged issues nothing; one that raises the billed DAU
 * block issues a numbered correction in the bills series that references
 * the bill and asks for the difference, while the bill stays byte for byte;
 * draining the queue again (and after reopening the store) issues nothing; a
 * correction rolled back with its transaction stays queued and is issued by
 * the next run; settle pays the bill, then the correction; a lower re-import
 * issues a correction downwards credited to the wallet (`refund`); a month
 * without a bill queues nothing; counter upserts of a billed month queue it
 * once (an upsert overrides a trigger's OR IGNORE: the triggers avoid it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static uint32_t add_app(void)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "legacy"); strcpy(a.edition, "legacy");
  a.created_at_s = 1546272000; /* 2019: a legacy app, billed per started 10,000 DAU (P-03) */
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

static void logins(uint32_t app, int32_t day, uint32_t from, uint32_t to)
{
  assert_int_equal(store_exec(s, "BEGIN"), 0);
  for (uint32_t u = from; u <= to; u++) assert_int_equal(store_usage_login(s, app, day, u), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
}

static int setup(void **st)
{
  (void)st;
  nov1 = imc_day_start(imc_days_from_civil(2026, 11, 1), TZ);
  if (test_tmpdir_make(dir, sizeof dir, "corr") || test_store_open(dir, &s)) return -1;
  return store_customer_create(s, "acme", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static meter_correction_stats_t drain(int64_t now)
{
  meter_correction_stats_t c;
  char err[256];
  assert_int_equal(meter_bill_corrections_run(s, 0, now, TZ, meter_orders_none, NULL, &c, err, sizeof err), 0);
  assert_int_equal(c.failed, 0);
  return c;
}

static void on_count(void *ud, uint32_t app, int32_t month) { (void)app; (void)month; (*(int *)ud)++; }

static int queued(void)
{
  int n = 0;
  assert_int_equal(store_bill_recheck_each(s, 1000, on_count, &n), 0);
  return n;
}

static void bill_run(void)
{
  meter_bill_run_stats_t r;
  char err[256];
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, meter_orders_none, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.failed, 0);
}

static void test_late_login_correction(void **st)
{
  (void)st;
  uint32_t app = add_app();
  logins(app, 20261003, 1, 9999);
  logins(app, 20261101, 1, 3);   /* November usage: no bill yet, queues nothing */
  assert_int_equal(queued(), 0);
  bill_run();
  store_bill_t bill;
  assert_int_equal(store_bill_get(s, app, 202610, &bill), 0);
  assert_int_equal(bill.postpaid_fen, 100000);
  assert_int_equal(bill.due_fen, 100000);
  assert_int_equal(bill.corrects_seq, 0);
  char *body0 = bill.body;
  assert_int_equal(queued(), 0);
  assert_int_equal(drain(nov1 + 60).checked, 0);
  /* a late October login that moves no billed figure (another day, below the peak): priced again,
   * nothing issued */
  logins(app, 20261010, 5, 5);
  assert_int_equal(queued(), 1);
  meter_correction_stats_t c = drain(nov1 + 86400);
  assert_int_equal(c.checked, 1);
  assert_int_equal(c.issued, 0);
  assert_int_equal(queued(), 0);
  /* two more on the peak day: 10,001 DAU, two blocks (P-03) → a correction, the bill unchanged */
  logins(app, 20261003, 10000, 10001);
  assert_int_equal(queued(), 1);
  /* issued inside a transaction that rolls back (a crash): nothing written, still queued */
  store_bill_t x;
  int issued;
  char err[256];
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(meter_bill_correct(s, 1, app, 202610, nov1 + 2 * 86400, TZ, meter_orders_none, NULL, &x, &issued, err, sizeof err), 0);
  assert_int_equal(issued, 1);
  free(x.body);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(queued(), 1);
  c = drain(nov1 + 2 * 86400);
  assert_int_equal(c.issued, 1);
  assert_int_equal(c.paid, 0);   /* the wallet is empty: open */
  json_t *docs;
  assert_int_equal(meter_bills_json(s, 0, app, 202610, nov1 + 2 * 86400, &docs), 0);
  assert_int_equal(json_array_size(docs), 1);
  json_t *b = json_array_get(docs, 0);
  assert_string_equal(json_string_value(json_object_get(b, "number")), "IMC-2026-10-000001");
  assert_int_equal(json_integer_value(json_object_get(b, "postpaid_fen")), 100000);
  json_t *corr = json_object_get(b, "corrections");
  assert_int_equal(json_array_size(corr), 1);
  json_t *k = json_array_get(corr, 0);
  assert_string_equal(json_string_value(json_object_get(k, "number")), "IMC-2026-10-000002"); /* the same gap-free series */
  assert_string_equal(json_string_value(json_object_get(k, "corrects")), "IMC-2026-10-000001");
  assert_int_equal(json_integer_value(json_object_get(k, "difference_fen")), 100000);
  assert_int_equal(json_integer_value(json_object_get(k, "postpaid_fen")), 200000);
  assert_int_equal(json_integer_value(json_object_get(k, "total_fen")), 200000);
  assert_int_equal(json_integer_value(json_object_get(k, "issued_at")), nov1 + 2 * 86400);
  assert_string_equal(json_string_value(json_object_get(k, "status")), "open");
  json_decref(docs);
  /* the bill itself is untouched, byte for byte */
  store_bill_t again;
  assert_int_equal(store_bill_get(s, app, 202610, &again), 0);
  assert_string_equal(again.body, body0);
  assert_int_equal(again.postpaid_fen, 100000);
  free(again.body);
  /* idempotent: nothing queued, nothing issued, also after reopening the store */
  assert_int_equal(drain(nov1 + 3 * 86400).issued, 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(queued(), 0);
  assert_int_equal(drain(nov1 + 3 * 86400).checked, 0);
  /* a November bill and the customer list show each correction once, after its bill */
  assert_int_equal(meter_bills_json(s, cust, 0, 0, nov1 + 3 * 86400, &docs), 0);
  assert_int_equal(json_array_size(docs), 1);
  assert_int_equal(json_array_size(json_object_get(json_array_get(docs, 0), "corrections")), 1);
  json_decref(docs);
  /* overdue 7 days after its own issue (P-14, P-45); a top-up pays the bill, then the correction */
  store_ledger_t e;
  int paid = 0;
  int64_t bal;
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, 250000, "top-up", "t1", nov1, &e), 0);
  assert_int_equal(meter_bill_settle(s, cust, nov1 + 3 * 86400, &paid), 0);
  assert_int_equal(paid, 2);
  assert_int_equal(store_wallet_balance(s, cust, &bal), 0);
  assert_int_equal(bal, 50000);
  assert_int_equal(meter_bills_json(s, 0, app, 202610, nov1 + 3 * 86400, &docs), 0);
  k = json_array_get(json_object_get(json_array_get(docs, 0), "corrections"), 0);
  assert_string_equal(json_string_value(json_object_get(k, "status")), "paid");
  json_decref(docs);
  free(body0);
  /* immutable, corrections too */
  assert_int_not_equal(store_exec(s, "UPDATE bills SET due_fen=0 WHERE corrects>0"), 0);
  assert_int_not_equal(store_exec(s, "DELETE FROM bills WHERE corrects>0"), 0);
}

static void on_ledger(void *ud, const store_ledger_t *e)
{
  if (!strcmp(e->kind, "refund")) *(store_ledger_t *)ud = *e;
}

static void test_import_down_refund(void **st)
{
  (void)st;
  uint32_t app = add_app();
  static const char hi[] = "{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 22000}]}";
  static const char lo[] = "{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 12000}]}";
  int64_t doc;
  char err[256];
  assert_int_equal(meter_import(s, app, 202610, "hi.json", hi, strlen(hi), nov1 - 86400, &doc, err, sizeof err), 0);
  bill_run();
  store_bill_t bill;
  assert_int_equal(store_bill_get(s, app, 202610, &bill), 0);
  assert_int_equal(bill.postpaid_fen, 300000); /* three started 10,000 blocks */
  assert_int_equal(bill.paid, 0);
  free(bill.body);
  /* the operator re-imports October with a lower figure: a correction downwards, credited at once */
  int rc = meter_import(s, app, 202610, "lo.json", lo, strlen(lo), nov1 + 3600, &doc, err, sizeof err);
  if (rc) fail_msg("import: %s", err);
  meter_correction_stats_t c = drain(nov1 + 86400);
  assert_int_equal(c.issued, 1);
  assert_int_equal(c.refunded, 1);
  json_t *docs;
  assert_int_equal(meter_bills_json(s, 0, app, 202610, nov1 + 86400, &docs), 0);
  json_t *k = json_array_get(json_object_get(json_array_get(docs, 0), "corrections"), 0);
  assert_non_null(k);
  assert_int_equal(json_integer_value(json_object_get(k, "difference_fen")), -100000);
  assert_int_equal(json_integer_value(json_object_get(k, "postpaid_fen")), 200000);
  assert_string_equal(json_string_value(json_object_get(k, "status")), "paid");
  char ref[48];
  snprintf(ref, sizeof ref, "bill-%s", json_string_value(json_object_get(k, "number")));
  json_decref(docs);
  store_ledger_t e = { 0 };
  assert_int_equal(store_ledger_each(s, cust, on_ledger, &e), 0);
  assert_string_equal(e.reference, ref);
  assert_int_equal(e.amount_fen, 100000);
  int64_t bal;
  assert_int_equal(store_wallet_balance(s, cust, &bal), 0);
  assert_int_equal(bal, 100000);
  /* the same import again changes no figure: nothing more */
  assert_int_equal(meter_import(s, app, 202610, "lo.json", lo, strlen(lo), nov1 + 7200, &doc, err, sizeof err), 0);
  assert_int_equal(drain(nov1 + 2 * 86400).issued, 0);
  /* upserts of a billed month's counters (the server's meter flush, late messages) queue it once
   * and fail nothing; an unbilled figure issues nothing */
  assert_int_equal(store_usage_add(s, app, 20261005, "c2c_msgs", 1), 0);
  assert_int_equal(store_usage_add(s, app, 20261005, "c2c_msgs", 1), 0);
  assert_int_equal(store_usage_max(s, app, 20261005, "conn_peak", 3), 0);
  assert_int_equal(queued(), 1);
  meter_correction_stats_t c2 = drain(nov1 + 3 * 86400);
  assert_int_equal(c2.checked, 1);
  assert_int_equal(c2.issued, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_late_login_correction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_import_down_refund, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
