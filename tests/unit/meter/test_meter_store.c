/* Unit tests for the storage side of metering (src/meter load.c, report.c,
 * import.c over src/store/sqlite_usage.c): every usage row round-trips, a
 * replayed event counts once, the month report from storage, the rebuild of
 * the in-memory meter after a restart (reopen) gives the same figures,
 * imported documents are validated, kept immutable and merged by max. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter/meter.h"
#include "store/store.h"
#include "store/store_writer.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define TZ IMC_TZ_CHINA_S

static char dir[64];
static store_t *s;
static uint32_t app;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "meter") || test_store_open(dir, &s)) return -1;
  int64_t cust;
  if (store_customer_create(s, "acme", 1000, &cust)) return -1;
  store_app_t a = { 0 };
  a.sdkappid = app = 1400000001;
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "pro");
  a.created_at_s = 1700000000;
  return store_app_insert(s, &a);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static int64_t local(int y, int mo, int d, int h, int mi, int sec)
{
  return imc_day_start(imc_days_from_civil(y, mo, d), TZ) + h * 3600 + mi * 60 + sec;
}

static void test_report_from_storage(void **st)
{
  (void)st;
  /* DAU: 3 users on 1 Nov, 2 (one new) on 2 Nov, duplicates ignored */
  uint32_t logins[][2] = { { 20261101, 1 }, { 20261101, 2 }, { 20261101, 3 }, { 20261101, 3 },
                           { 20261102, 1 }, { 20261102, 4 }, { 20261201, 9 } };
  for (size_t i = 0; i < sizeof logins / sizeof *logins; i++)
    assert_int_equal(store_usage_login(s, app, (int32_t)logins[i][0], logins[i][1]), 0);
  assert_int_equal(store_usage_add(s, app, 20261101, METER_M_C2C_MSGS, 10), 0);
  assert_int_equal(store_usage_add(s, app, 20261101, METER_M_C2C_MSGS, 5), 0);
  assert_int_equal(store_usage_add(s, app, 20261102, METER_M_GROUP_MSGS, 7), 0);
  assert_int_equal(store_usage_max(s, app, 20261101, METER_M_BW_PEAK_BPS, 8000001), 0);
  assert_int_equal(store_usage_max(s, app, 20261101, METER_M_BW_PEAK_BPS, 2000000), 0); /* lower: kept */
  assert_int_equal(store_usage_max(s, app, 20261102, METER_M_CONN_PEAK, 12), 0);
  int rep;
  assert_int_equal(store_usage_event(s, app, "call-1", 20261101, "call_audio", 30, 1, &rep), 0);
  assert_int_equal(rep, 0);
  assert_int_equal(store_usage_event(s, app, "call-1", 20261101, "call_audio", 30, 1, &rep), 0);
  assert_int_equal(rep, 1);                                                   /* replay: once */
  assert_int_equal(store_usage_event(s, app, "call-1", 20261101, "call_audio", 31, 1, &rep), IMC_E_EXISTS);
  assert_int_equal(store_usage_event(s, app, "call-2", 20261102, "call_video_hd", 4, 1, &rep), 0);
  assert_int_equal(store_usage_event(s, app, "", 20261102, "call_video_hd", 4, 1, &rep), IMC_E_INVAL);
  /* groups: g1 from before the month, g2 on 1 Nov dissolved on 2 Nov, a live room, g2 re-created */
  assert_int_equal(store_usage_group(s, app, "g1", 0, local(2026, 10, 20, 0, 0, 0), 0), 0);
  assert_int_equal(store_usage_group(s, app, "g2", 0, local(2026, 11, 1, 10, 0, 0), 0), 0);
  assert_int_equal(store_usage_group(s, app, "g2", 0, local(2026, 11, 1, 10, 0, 0), 0), 0); /* replay */
  assert_int_equal(store_usage_group(s, app, "g2", 0, local(2026, 11, 2, 10, 0, 0), 1), 0);
  assert_int_equal(store_usage_group(s, app, "g2", 0, local(2026, 11, 2, 10, 0, 0), 1), 0); /* replay */
  assert_int_equal(store_usage_group(s, app, "live", 1, local(2026, 11, 1, 11, 0, 0), 0), 0);
  assert_int_equal(store_usage_group(s, app, "g2", 0, local(2026, 11, 3, 9, 0, 0), 0), 0);
  meter_report_t r;
  assert_int_equal(meter_report(s, app, 202611, TZ, &r), 0);
  assert_int_equal(r.ndays, 30);
  assert_int_equal(r.days[0].date, 20261101);
  assert_int_equal(r.days[0].dau, 3);
  assert_int_equal(r.days[1].dau, 2);
  assert_int_equal(r.mau, 4);
  assert_int_equal(r.peak_dau, 3);
  assert_int_equal(r.peak_dau_date, 20261101);
  assert_int_equal(r.days[0].c2c_msgs, 15);
  assert_int_equal(r.days[1].group_msgs, 7);
  assert_int_equal(r.days[0].bandwidth_peak_mbps, 9);   /* 8,000,001 bit/s: a started Mbps */
  assert_int_equal(r.bandwidth_mbps_days, 9);
  assert_int_equal(r.days[1].conn_peak, 12);
  assert_int_equal(r.days[0].call_minutes[0], 30);
  assert_int_equal(r.call_minutes[0], 30);
  assert_int_equal(r.call_minutes[2], 4);
  assert_int_equal(r.days[0].groups, 2);
  assert_int_equal(r.days[0].net_new_groups, 1);
  assert_int_equal(r.days[1].groups, 2);
  assert_int_equal(r.days[1].net_new_groups, -1);
  assert_int_equal(r.days[2].groups, 2);
  assert_int_equal(r.days[2].net_new_groups, 1);
  assert_int_equal(r.days[0].live_groups_peak, 1);
  assert_int_equal(r.peak_groups, 2);
  assert_int_equal(r.accumulated_groups, 3);
  assert_int_equal(r.imported_docs, 0);
  assert_int_equal(meter_report(s, 1, 202611, TZ, &r), IMC_E_NOTFOUND);
  assert_int_equal(meter_report(s, app, 202613, TZ, &r), IMC_E_INVAL);
}

static void test_restart_rebuild(void **st)
{
  (void)st;
  int64_t now = local(2026, 12, 10, 12, 0, 0);
  /* the rows the server writes: 1 Nov (MAU only after the rebuild), 20 Nov and 10 Dec (window) */
  for (uint32_t u = 1; u <= 100; u++) assert_int_equal(store_usage_login(s, app, 20261101, u), 0);
  for (uint32_t u = 50; u <= 5000; u++) assert_int_equal(store_usage_login(s, app, 20261120, u), 0);
  for (uint32_t u = 1; u <= 70; u++) assert_int_equal(store_usage_login(s, app, 20261210, u * 3), 0);
  assert_int_equal(store_usage_max(s, app, 20261210, METER_M_CONN_PEAK, 33), 0);
  store_close(s);                                    /* a restart */
  assert_int_equal(test_store_open(dir, &s), 0);
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  assert_int_equal(meter_load(m, s, now), 0);
  assert_int_equal(meter_dau(m, app, 20261120), 4951);
  assert_int_equal(meter_dau(m, app, 20261210), 70);
  assert_int_equal(meter_dau(m, app, 20261101), 0);  /* outside the window: storage only */
  meter_month_t mo;
  meter_month(m, app, 202611, &mo);
  assert_int_equal(mo.mau, 5000);                     /* exact, with the 1 Nov users */
  meter_month(m, app, 202612, &mo);
  assert_int_equal(mo.mau, 70);
  assert_int_equal(meter_conn_peak(m, app, 20261210), 33);
  /* nothing counted twice after the rebuild */
  assert_int_equal(meter_login(m, app, 3, now + 60), 0);
  assert_int_equal(meter_login(m, app, 4, now + 60), 1);
  meter_report_t r;
  assert_int_equal(meter_report(s, app, 202611, TZ, &r), 0);
  assert_int_equal(r.mau, 5000);
  assert_int_equal(r.peak_dau, 4951);
  assert_int_equal(r.peak_dau_date, 20261120);
  meter_free(m);
}

static void test_registrations(void **st)
{
  (void)st;
  uint32_t no;
  assert_int_equal(store_account_import(s, app, "a", NULL, NULL, local(2026, 11, 4, 23, 59, 59), &no), 0);
  assert_int_equal(store_account_import(s, app, "b", NULL, NULL, local(2026, 11, 5, 0, 0, 0), &no), 0);
  assert_int_equal(store_account_import(s, app, "c", NULL, NULL, local(2026, 11, 5, 8, 0, 0), &no), 0);
  assert_int_equal(store_account_import(s, app, "c", "nick", NULL, local(2026, 11, 6, 8, 0, 0), &no), 0); /* not new */
  assert_int_equal(store_account_delete(s, app, "b"), 0);                                  /* still registered that day */
  meter_report_t r;
  assert_int_equal(meter_report(s, app, 202611, TZ, &r), 0);
  assert_int_equal(r.days[3].registrations, 1);
  assert_int_equal(r.days[4].registrations, 2);
  assert_int_equal(r.days[5].registrations, 0);
  /* app info on 20 Nov: the 30 days from 21 Oct; one account before them (the day's last second is its day's),
   * the deleted one still counted; the running total per day (store_usage_registered, then the days) */
  assert_int_equal(store_account_import(s, app, "d", NULL, NULL, local(2026, 10, 20, 23, 59, 59), &no), 0);
  assert_int_equal(store_account_import(s, app, "e", NULL, NULL, local(2026, 10, 21, 0, 0, 0), &no), 0);
  meter_appinfo_t *ai = malloc(sizeof *ai);
  assert_non_null(ai);
  assert_int_equal(meter_appinfo(s, app, local(2026, 11, 20, 12, 0, 0), TZ, ai), 0);
  assert_int_equal(ai->days[0].date, 20261021);
  assert_int_equal(ai->days[0].registrations, 1);
  assert_int_equal(ai->reg_total[0], 2);
  assert_int_equal(ai->reg_total[13], 2);   /* 3 Nov */
  assert_int_equal(ai->days[14].registrations, 1);
  assert_int_equal(ai->reg_total[14], 3);   /* 4 Nov */
  assert_int_equal(ai->days[15].registrations, 2);
  assert_int_equal(ai->reg_total[29], 5);   /* 19 Nov */
  /* a store of schema 48 (no registrations per day): migration 49 counts them from usage_reg, same totals */
  assert_int_equal(store_exec(s, "DROP TABLE usage_reg_day; ALTER TABLE grp_member DROP COLUMN apply_seq;"
                                 " ALTER TABLE c2c_msg DROP COLUMN max_t; DROP TABLE grp_apply_mark;"
                                 " DROP INDEX grp_msg_chg; ALTER TABLE grp_msg DROP COLUMN chg; DROP TABLE grp_chg; DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
  " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random); ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed;"
                                 " PRAGMA user_version=48"), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  memset(ai, 0, sizeof *ai);
  assert_int_equal(meter_appinfo(s, app, local(2026, 11, 20, 12, 0, 0), TZ, ai), 0);
  assert_int_equal(ai->reg_total[0], 2);
  assert_int_equal(ai->reg_total[14], 3);
  assert_int_equal(ai->reg_total[29], 5);
  free(ai);
}

static void on_stopped(void *arg) { *(int *)arg = 1; }

/* The server's periodic flush through the writer thread lands in storage. */
static void test_flush_through_writer(void **st)
{
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1024, &w), 0);
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  int64_t t = local(2026, 11, 7, 10, 0, 0);
  for (int i = 0; i < 42; i++) assert_int_equal(meter_rest_call(m, app, t), 0);
  assert_int_equal(meter_conn(m, app, +1, t), 0);
  assert_int_equal(meter_live_bytes(m, app, 250000, t), 0);   /* 2 Mbit/s */
  assert_int_equal(meter_flush_submit(m, w, t + 1), 0);
  assert_int_equal(meter_rest_call(m, app, t + 1), 0);
  assert_int_equal(meter_flush_submit(m, w, t + 2), 0);
  assert_int_equal(meter_flush_submit(m, w, t + 3), 0);       /* nothing pending: nothing submitted */
  int stopped = 0;
  store_writer_stop(w, on_stopped, &stopped);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(stopped);
  uv_loop_close(&loop);
  meter_report_t r;
  assert_int_equal(meter_report(s, app, 202611, TZ, &r), 0);
  assert_int_equal(r.days[6].rest_calls, 43);
  assert_int_equal(r.days[6].conn_peak, 1);
  assert_int_equal(r.days[6].bandwidth_peak_mbps, 2);
  assert_int_equal(meter_day_of(m, app, t), 20261107);
  meter_free(m);
}

static void test_region_zone(void **st)
{
  (void)st;
  int tz;
  assert_int_equal(meter_app_zone(s, app, TZ, &tz), 0);
  assert_int_equal(tz, TZ);
  assert_int_equal(store_meta_set(s, "billing_tz:china", "3600"), 0);
  assert_int_equal(meter_app_zone(s, app, TZ, &tz), 0);
  assert_int_equal(tz, 3600);
  assert_int_equal(store_meta_set(s, "billing_tz:china", "99999"), 0);
  assert_int_equal(meter_app_zone(s, app, TZ, &tz), IMC_E_CONFIG);
  assert_int_equal(meter_app_zone(s, 7, TZ, &tz), IMC_E_NOTFOUND);
}

static const char doc[] =
  "{\"mau\": 900, \"call_minutes\": {\"audio\": 100},"
  " \"days\": [{\"date\": \"2026-10-01\", \"dau\": 500, \"groups\": 40, \"bandwidth_mbps\": 3},"
  "          {\"date\": \"2026-10-02\", \"dau\": 20}]}";

static void test_import(void **st)
{
  (void)st;
  char err[256];
  int64_t id;
  /* metered: 2 Oct has 30 users (above the imported 20), one audio call */
  for (uint32_t u = 1; u <= 30; u++) assert_int_equal(store_usage_login(s, app, 20261002, u), 0);
  int rep;
  assert_int_equal(store_usage_event(s, app, "c1", 20261003, "call_audio", 7, 1, &rep), 0);
  /* P-46: call minutes for a month without an av_call package in force are refused, nothing stored */
  assert_int_equal(meter_import(s, app, 0, "oct.json", doc, strlen(doc), 5, &id, err, sizeof err), IMC_E_METER_NO_CALL_PACKAGE);
  assert_non_null(strstr(err, "no av_call package in force in 2026-10"));
  store_order_t o = { .sdkappid = app, .at_s = 1, .kind = "addon", .item = "av_call", .value_name = "basic",
                      .anchor_day = imc_days_from_civil(2026, 9, 20), .start_day = imc_days_from_civil(2026, 9, 20),
                      .end_day = imc_days_from_civil(2026, 10, 19), .book = "s2022", .pay = "prepaid" };
  store_app_t a;
  int64_t oid;
  assert_int_equal(store_app_get(s, app, &a), 0);
  o.customer_id = a.customer_id;
  assert_int_equal(store_order_insert(s, &o, &oid), 0);
  assert_int_equal(meter_import(s, app, 0, "oct.json", doc, strlen(doc), 5, &id, err, sizeof err), 0);
  meter_report_t r;
  assert_int_equal(meter_report(s, app, 202610, TZ, &r), 0);
  assert_int_equal(r.days[0].dau, 500);
  assert_true(r.days[0].imported);
  assert_int_equal(r.days[1].dau, 30);                /* max(metered 30, imported 20) */
  assert_false(r.days[1].imported);
  assert_int_equal(r.days[0].groups, 40);
  assert_int_equal(r.days[0].bandwidth_peak_mbps, 3);
  assert_int_equal(r.peak_dau, 500);
  assert_int_equal(r.peak_dau_date, 20261001);
  assert_int_equal(r.mau, 900);
  assert_int_equal(r.call_minutes[0], 107);            /* imported minutes + metered minutes */
  assert_int_equal(r.imported_docs, 1);
  /* a second import of the same day replaces the first's figure */
  static const char doc2[] = "{\"days\": [{\"date\": \"2026-10-01\", \"dau\": 450}]}";
  assert_int_equal(meter_import(s, app, 202610, "oct2.json", doc2, strlen(doc2), 6, &id, err, sizeof err), 0);
  assert_int_equal(meter_report(s, app, 202610, TZ, &r), 0);
  assert_int_equal(r.days[0].dau, 450);
  assert_int_equal(r.imported_docs, 2);
  /* invalid documents: clear errors, nothing stored */
  static const struct { const char *text; int32_t month; const char *msg; } bad[] = {
    { "{\"days\": [{\"date\": \"2026-10-01\", \"dau\": -1}]}", 0, "out of range" },
    { "{\"days\": [{\"date\": \"2026-10-01\", \"dau\": 1}, {\"date\": \"2026-11-01\", \"dau\": 1}]}", 0, "one month at a time" },
    { "{\"mau\": 5}", 0, "--month" },
    { "{\"days\": [{\"date\": \"2026-10-01\", \"users\": 1}]}", 0, "unknown key" },
    { "{\"bandwidth_mbps\": [1, 2]}", 202610, "per day" },
    { "{\"days\": [", 0, "JSON error" },
    { "{\"days\": [{\"date\": \"2026-11-01\", \"dau\": 1}]}", 202610, "not in the bill month" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(meter_import(s, app, bad[i].month, "bad.json", bad[i].text, strlen(bad[i].text), 7, &id, err, sizeof err),
                     IMC_E_BILL_USAGE);
    if (!strstr(err, bad[i].msg)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
  }
  assert_int_equal(meter_report(s, app, 202610, TZ, &r), 0);
  assert_int_equal(r.imported_docs, 2);
  assert_int_equal(meter_import(s, 5, 202610, "x", doc2, strlen(doc2), 6, &id, err, sizeof err), IMC_E_NOTFOUND);
  /* the documents are immutable */
  assert_int_not_equal(store_exec(s, "UPDATE usage_import_doc SET body='x'"), 0);
  assert_int_not_equal(store_exec(s, "DELETE FROM usage_import_doc"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_report_from_storage, setup, teardown),
    cmocka_unit_test_setup_teardown(test_restart_rebuild, setup, teardown),
    cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
    cmocka_unit_test_setup_teardown(test_region_zone, setup, teardown),
    cmocka_unit_test_setup_teardown(test_flush_through_writer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_import, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
