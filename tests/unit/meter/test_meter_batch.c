/* Unit tests for the bill run's batch read (src/meter/report.c
 * meter__report_apps over store_usage_apps_each): for apps with every kind of
 * usage row (logins, metered days, group lives, imported days and month
 * figures, rows of other months, apps without any row, apps in two billing
 * zones), the reports read for a batch equal byte for byte the reports read
 * one app at a time (meter__report_tz, for a bill), and every figure a bill
 * prices equals that of the full report (imported daily DAU and groups are
 * read as their month's maximum, index usage_import_month, including after a
 * re-import lowered a day's figure); a batch that is not in
 * ascending order is refused; store_app_get_many reads the apps that exist;
 * both refuse ids not strictly ascending (the ids drive their statements). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define NAPPS 40
#define FIRST_APP 1400000001u

static char dir[64];
static store_t *s;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "meterbatch") || test_store_open(dir, &s)) return -1;
  int64_t cust;
  if (store_customer_create(s, "acme", 1000, &cust)) return -1;
  return store_meta_set(s, "billing_tz:intl", "0"); /* apps of region intl bill in UTC */
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n) { rnd_state = rnd_state * 1103515245u + 12345u; return (rnd_state >> 8) % n; }

/* Usage of app i: nothing for every 5th app; else random rows in October 2026
 * and in the months around it. */
static void fill(uint32_t app, int i)
{
  if (i % 5 == 0) return;
  static const int32_t months[] = { 202609, 202610, 202610, 202610, 202611 };
  static const char *const day_metrics[] = { METER_M_C2C_MSGS, METER_M_GROUP_MSGS, METER_M_BW_PEAK_BPS, METER_M_CONN_PEAK,
                                             "call_audio", "call_video_hd" };
  static const char *const imp_metrics[] = { METER_M_DAU, METER_M_GROUPS, METER_M_BW_MBPS };
  int64_t doc;
  assert_int_equal(store_usage_import_doc(s, app, 202610, "test", "{}", 1, &doc), 0);
  for (int k = 0; k < 60; k++) {
    int32_t day = months[rnd(5)] * 100 + 1 + (int32_t)rnd(30);
    switch (rnd(4)) {
    case 0: assert_int_equal(store_usage_login(s, app, day, 1 + rnd(50)), 0); break;
    case 1: assert_int_equal(store_usage_add(s, app, day, day_metrics[rnd(6)], 1 + rnd(9000000)), 0); break;
    case 2: assert_int_equal(store_usage_import_put(s, app, day, imp_metrics[rnd(3)], rnd(300000), doc), 0); break;
    default: {
      char g[16];
      snprintf(g, sizeof g, "g%u", rnd(20));
      int64_t at = imc_day_start(imc_days_from_civil(2026, 9 + (int)rnd(3), 1 + (int)rnd(30)), 0) + rnd(86400);
      assert_int_equal(store_usage_group(s, app, g, (int)rnd(2), at, (int)rnd(3) == 0), 0);
    }
    }
  }
  /* created on 31 October 20:00 UTC: October in UTC, November in UTC+8 (the batch reads it for both zones) */
  assert_int_equal(store_usage_group(s, app, "late", 0, imc_day_start(imc_days_from_civil(2026, 10, 31), 0) + 20 * 3600, 0), 0);
  if (i % 4 == 2) { /* a re-import lowers the month's highest day: the maximum follows */
    assert_int_equal(store_usage_import_put(s, app, 20261015, METER_M_DAU, 400000, doc), 0);
    assert_int_equal(store_usage_import_put(s, app, 20261016, METER_M_GROUPS, 400000, doc), 0);
    assert_int_equal(store_usage_import_put(s, app, 20261015, METER_M_DAU, 3 + i, doc), 0);
    assert_int_equal(store_usage_import_put(s, app, 20261016, METER_M_GROUPS, 2 + i, doc), 0);
  }
  if (i % 3 == 0) { /* month-level imported figures */
    assert_int_equal(store_usage_import_put(s, app, 20261000, METER_M_MAU, 1000 + i, doc), 0);
    assert_int_equal(store_usage_import_put(s, app, 20261000, "peak_dau", 900 + i, doc), 0);
    assert_int_equal(store_usage_import_put(s, app, 20261000, "call_audio", 7 * i, doc), 0);
  }
}

/* Rows of store_usage_apps_each belong to the batch (row_batch[0..row_batch_n)) */
static const uint32_t *row_batch;
static int row_batch_n, rows_seen;
static int cmp_u32(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }
static void on_row_in_batch(void *ud, const store_usage_row_t *r)
{
  (void)ud;
  assert_non_null(bsearch(&r->sdkappid, row_batch, (size_t)row_batch_n, sizeof *row_batch, cmp_u32));
  rows_seen++;
}

static void test_batch_equals_one_by_one(void **st)
{
  (void)st;
  static uint32_t ids[NAPPS];
  static int tz[NAPPS];
  static meter_report_t batch[NAPPS], one, full;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < NAPPS; i++) {
    store_app_t a = { 0 };
    a.sdkappid = ids[i] = FIRST_APP + (uint32_t)i * 3; /* gaps: apps that are not in the batch lie between */
    a.customer_id = 1;
    strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, i % 4 == 1 ? "intl" : "china");
    strcpy(a.scheme, "s2022"); strcpy(a.edition, "pro");
    a.created_at_s = 1700000000;
    assert_int_equal(store_app_insert(s, &a), 0);
    assert_int_equal(meter_app_zone(s, a.sdkappid, IMC_TZ_CHINA_S, &tz[i]), 0);
    fill(a.sdkappid, i);
    store_app_t other = a; /* an app outside the batch, with rows of its own */
    other.sdkappid = a.sdkappid + 1;
    assert_int_equal(store_app_insert(s, &other), 0);
    fill(other.sdkappid, i + 1);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(tz[1], 0);
  assert_int_equal(tz[0], IMC_TZ_CHINA_S);
  assert_int_equal(meter__report_apps(s, ids, tz, NAPPS, 202610, batch), 0);
  int nonempty = 0;
  for (int i = 0; i < NAPPS; i++) {
    memset(&one, 0xa5, sizeof one); /* padding too: both start from memset 0 */
    assert_int_equal(meter__report_tz(s, ids[i], 202610, tz[i], 1, &one), 0);
    assert_memory_equal(&batch[i], &one, sizeof one);
    nonempty += one.peak_dau > 0 && one.mau > 0 && one.accumulated_groups > 0;
    /* what a bill prices (bills.c to_usage) is the full report's */
    assert_int_equal(meter__report_tz(s, ids[i], 202610, tz[i], 0, &full), 0);
    assert_int_equal(one.peak_dau, full.peak_dau);
    assert_int_equal(one.peak_groups, full.peak_groups);
    assert_int_equal(one.mau, full.mau);
    assert_int_equal(one.c2c_roaming_months, full.c2c_roaming_months);
    assert_int_equal(one.history_days, full.history_days);
    assert_memory_equal(one.call_minutes, full.call_minutes, sizeof one.call_minutes);
    for (int d = 0; d < full.ndays; d++) assert_int_equal(one.days[d].bandwidth_peak_mbps, full.days[d].bandwidth_peak_mbps);
    assert_true(full.peak_dau < 400000 && full.peak_groups < 400000); /* the lowered figures are not peaks */
  }
  assert_true(nonempty > NAPPS / 3); /* the comparison saw logins, imports and groups */
  /* the batch above spans 3 sdkappids per app: read through its id array (json_each); a batch
   * with every app and the others of even i spans fewer than 2 per app: read by walking the apps
   * table from its first to its last, the rows of the others of odd i (in the range, not in the
   * batch) skipped — it reads the same */
  static uint32_t dense[NAPPS + NAPPS / 2];
  static int dense_tz[NAPPS + NAPPS / 2];
  static meter_report_t dense_rep[NAPPS + NAPPS / 2];
  int nd = 0;
  for (int i = 0; i < NAPPS; i++) {
    dense_tz[nd] = tz[i];
    dense[nd++] = ids[i];
    if (i % 2 == 0) { dense_tz[nd] = tz[i]; dense[nd++] = ids[i] + 1; }
  }
  assert_true((uint64_t)dense[nd - 1] - dense[0] < 2 * (uint64_t)nd); /* sq__ids_dense */
  assert_int_equal(meter__report_apps(s, dense, dense_tz, (size_t)nd, 202610, dense_rep), 0);
  for (int i = 0; i < nd; i++) {
    assert_int_equal(meter__report_tz(s, dense[i], 202610, dense_tz[i], 1, &one), 0);
    assert_memory_equal(&dense_rep[i], &one, sizeof one);
  }
  row_batch = dense; /* the store itself hands over the batch's rows only */
  row_batch_n = nd;
  for (int t = STORE_USAGE_LOGIN; t <= STORE_USAGE_IMPORT_MAX; t++)
    assert_int_equal(store_usage_apps_each(s, t, dense, (size_t)nd, 20261000, t == STORE_USAGE_GROUP ? INT64_MAX : 20261031,
                                           on_row_in_batch, NULL), 0);
  assert_true(rows_seen > nd);
  /* a sub-batch (the server's steps) reads the same */
  assert_int_equal(meter__report_apps(s, ids + 7, tz + 7, 5, 202610, batch), 0);
  assert_int_equal(meter__report_tz(s, ids[9], 202610, tz[9], 1, &one), 0);
  assert_memory_equal(&batch[2], &one, sizeof one);
  /* not ascending: refused, nothing read */
  uint32_t bad[2] = { ids[3], ids[2] };
  int badtz[2] = { 0, 0 };
  assert_int_equal(meter__report_apps(s, bad, badtz, 2, 202610, batch), IMC_E_INVAL);
  bad[1] = ids[3];
  assert_int_equal(meter__report_apps(s, bad, badtz, 2, 202610, batch), IMC_E_INVAL);
}

static void on_app(void *ud, const store_app_t *a)
{
  uint32_t **p = ud;
  *(*p)++ = a->sdkappid;
  assert_string_equal(a->scheme, "s2022");
}

static void on_row_none(void *ud, const store_usage_row_t *r) { (void)ud; (void)r; fail_msg("no row expected"); }

/* store_app_get_many: the apps that exist among those asked, by sdkappid */
static void test_app_get_many(void **st)
{
  (void)st;
  for (uint32_t i = 0; i < 5; i++) {
    store_app_t a = { 0 };
    a.sdkappid = FIRST_APP + i * 2;
    a.customer_id = 1;
    strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
    strcpy(a.scheme, "s2022"); strcpy(a.edition, "pro");
    assert_int_equal(store_app_insert(s, &a), 0);
  }
  uint32_t ask[] = { FIRST_APP, FIRST_APP + 1, FIRST_APP + 4, FIRST_APP + 8, FIRST_APP + 9 }, got[8], *p = got;
  assert_int_equal(store_app_get_many(s, ask, 5, on_app, &p), 0); /* dense: the apps table walked, others skipped */
  assert_int_equal(p - got, 3);
  assert_int_equal(got[0], FIRST_APP);
  assert_int_equal(got[1], FIRST_APP + 4);
  assert_int_equal(got[2], FIRST_APP + 8);
  uint32_t sparse[] = { FIRST_APP + 2, FIRST_APP + 7, FIRST_APP + 8 }; /* through the id array */
  p = got;
  assert_int_equal(store_app_get_many(s, sparse, 3, on_app, &p), 0);
  assert_int_equal(p - got, 2);
  assert_int_equal(got[0], FIRST_APP + 2);
  assert_int_equal(got[1], FIRST_APP + 8);
  p = got;
  assert_int_equal(store_app_get_many(s, ask, 0, on_app, &p), 0);
  assert_int_equal(p - got, 0);
  assert_int_equal(store_app_get_many(s, ask, 100001, on_app, &p), IMC_E_INVAL);
  /* the ids drive the statement in their order: a list not strictly ascending is refused, not
   * answered out of order (nor twice for a repeated id) */
  uint32_t down[] = { FIRST_APP + 4, FIRST_APP }, twice[] = { FIRST_APP, FIRST_APP };
  assert_int_equal(store_app_get_many(s, down, 2, on_app, &p), IMC_E_INVAL);
  assert_int_equal(store_app_get_many(s, twice, 2, on_app, &p), IMC_E_INVAL);
  assert_int_equal(p - got, 0);
  for (int t = STORE_USAGE_LOGIN; t <= STORE_USAGE_IMPORT_MAX; t++) {
    assert_int_equal(store_usage_apps_each(s, t, down, 2, 20261000, 20261031, on_row_none, NULL), IMC_E_INVAL);
    assert_int_equal(store_usage_apps_each(s, t, twice, 2, 20261000, 20261031, on_row_none, NULL), IMC_E_INVAL);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_batch_equals_one_by_one, setup, teardown),
    cmocka_unit_test_setup_teardown(test_app_get_many, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
