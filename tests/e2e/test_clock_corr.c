/* End-to-end time travel with the test clock (`imcloud serve --test-clock`,
 * POST /operator/v1/clock; docs/operator-api.md "Test clock"): correction
 * documents and the day change, each test on its own server and data
 * directory (tests/lib/e2e_clock.h; the bill run: test_clock_bill.c):
 *  - late October usage after that bill (call minutes, an import raising DAU)
 *    → the next day job issues correction IMC-2026-10-000002 referencing
 *    the bill, equal to `imcloud quote` for the corrected usage, shown by the
 *    operator API and `imcloud bill --json`; later days and a restart issue
 *    nothing more;
 *  - a renewal whose period starts in a billed month is corrected onto that
 *    month, also when recorded by a server before migration 35 (the schema
 *    rolled back to 35: migration 36 queues the month);
 *  - the day change over 120 apps with --day-batch 50 runs in 8 bounded
 *    writer transactions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_clock.h"
#include "store/store.h"


/* ---- a late event after the bill: a correction document -------------------------- */
static void test_late_usage_correction(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80], out[1 << 15];
  uint32_t app = pro_app("z", &cz, kz);
  json_decref(callf(201, "POST", "{\"amount_fen\":50000,\"reference\":\"avc\"}", "/operator/v1/customers/%lld/wallet/topups",
                    (long long)cz));
  json_decref(callf(201, "POST", "{\"addon\":\"av_call\",\"value\":\"basic\"}", "/operator/v1/apps/%u/addons", app));
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  json_t *b0 = app_bill(app);
  assert_string_equal(jstr(b0, "number"), "IMC-2026-10-000001");
  assert_int_equal(json_array_size(json_object_get(b0, "corrections")), 0);
  /* late October usage after the bill: call minutes recorded for 20 October, and an import that
   * raises 21 October's DAU to 52,000 */
  json_decref(callf(201, "POST", "{\"kind\":\"audio\",\"minutes\":120000,\"event_id\":\"call-1\",\"date\":\"2026-10-20\"}",
                    "/operator/v1/apps/%u/call-minutes", app));
  usage_import(app, "late-z.json", "{\"days\": [{\"date\": \"2026-10-21\", \"dau\": 52000}]}");
  /* the bill is not edited */
  json_t *b1 = app_bill(app);
  assert_int_equal(json_array_size(json_object_get(b1, "corrections")), 0);
  assert_true(json_equal(json_object_get(b1, "lines"), json_object_get(b0, "lines")));
  json_decref(b1);
  /* the next day job issues the correction */
  json_t *ran = clock_to("2026-11-02T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  json_decref(ran);
  /* it equals imcloud quote for the whole corrected usage, to the fen */
  json_t *q = quote_pro_october("all-z.json", "{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 21000, \"groups\": 150000},"
                                              " {\"date\": \"2026-10-20\", \"dau\": 32000, \"groups\": 90000},"
                                              " {\"date\": \"2026-10-21\", \"dau\": 52000}],"
                                              " \"call_minutes\": {\"audio\": 120000}}");
  json_t *b = app_bill(app);
  assert_string_equal(jstr(b, "number"), "IMC-2026-10-000001");
  assert_int_equal(jint(b, "postpaid_fen"), jint(b0, "postpaid_fen"));
  json_t *corr = json_object_get(b, "corrections");
  assert_int_equal(json_array_size(corr), 1);
  json_t *k = json_array_get(corr, 0);
  assert_string_equal(jstr(k, "number"), "IMC-2026-10-000002");
  assert_string_equal(jstr(k, "corrects"), "IMC-2026-10-000001");
  assert_int_equal(jint(k, "total_fen"), jint(q, "total_fen"));
  assert_int_equal(jint(k, "postpaid_fen"), jint(q, "postpaid_fen"));
  assert_true(json_equal(json_object_get(k, "lines"), json_object_get(q, "lines")));
  assert_int_equal(jint(k, "difference_fen"), jint(q, "postpaid_fen") - jint(b0, "postpaid_fen"));
  assert_true(jint(k, "difference_fen") > 0);
  assert_int_equal(jint(k, "issued_at"), 1793462400 + 86400);
  assert_string_equal(jstr(k, "status"), "open"); /* the wallet is empty */
  json_decref(q);
  /* imcloud bill --json shows the same documents */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10 --json", app), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_string_equal(jstr(c, "number"), "IMC-2026-10-000001");
  json_t *ck = json_array_get(json_object_get(c, "corrections"), 0);
  assert_non_null(ck);
  assert_int_equal(json_array_size(json_object_get(c, "corrections")), 1);
  assert_string_equal(jstr(ck, "number"), "IMC-2026-10-000002");
  assert_int_equal(jint(ck, "difference_fen"), jint(k, "difference_fen"));
  assert_true(json_equal(json_object_get(ck, "lines"), json_object_get(k, "lines")));
  json_decref(c);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10", app), 0);
  assert_non_null(strstr(out, "correction IMC-2026-10-000002: corrected total "));
  /* idempotent: the next day issues nothing */
  ran = clock_to("2026-11-03T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
  /* restart safe: the start-up jobs (bill run, day change) and the next day issue nothing more */
  assert_int_equal(e2e_server_stop(&srv), 0);
  static const char *const again[] = { "--test-clock", "--test-clock-start", "2026-11-03", NULL };
  assert_int_equal(e2e_server_start(&srv, again), 0);
  ran = clock_to("2026-11-04T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
  json_t *b2 = app_bill(app);
  assert_int_equal(json_array_size(json_object_get(b2, "corrections")), 1);
  assert_true(json_equal(json_object_get(b2, "lines"), json_object_get(b0, "lines")));
  assert_string_equal(jstr(json_array_get(json_object_get(b2, "corrections"), 0), "number"), "IMC-2026-10-000002");
  json_decref(b2);
  json_decref(b);
  json_decref(b0);
}

/* The same renewal recorded by a server before migration 35 (no trigger): migration 36 queues the month
 * once, and the next day job corrects it (it stayed on no document). Emulated: the queue emptied and the
 * database marked as version 35 before a restart. */
static void test_migration_queues_old_renewals(void **st)
{
  (void)st;
  int64_t cust = new_customer("mq", 2 * 99900);
  uint32_t app = new_app(cust, NULL);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(clock_to("2026-10-03T12:00:00+08:00"));
  json_decref(callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app));
  assert_int_equal(e2e_server_stop(&srv), 0);
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  assert_int_equal(store_exec(s, "DELETE FROM bill_recheck"), 0);
  assert_int_equal(store_exec(s, "DROP TRIGGER accounts_gone_kept; DROP TABLE accounts_gone;"
                                "ALTER TABLE c2c_recent DROP COLUMN pin_seq; ALTER TABLE grp_msg DROP COLUMN from_id;"
                                "DROP INDEX grp_member_conv; DROP INDEX c2c_recent_pinned; DROP INDEX grp_member_pinned;"
                                "DROP TABLE pin_order; ALTER TABLE grp_member DROP COLUMN conv_hidden;"
                                "ALTER TABLE grp_member DROP COLUMN pinned_at;"
                                "ALTER TABLE grp_member DROP COLUMN pin_seq; ALTER TABLE c2c_purge_floor DROP COLUMN upto_id;"
                                "DROP TABLE grp_events_due; DROP INDEX grp_owner;"
                                "CREATE TABLE reg46(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                                " PRIMARY KEY(sdkappid, user_no)) WITHOUT ROWID; INSERT INTO reg46 SELECT * FROM usage_reg;"
                                " DROP TABLE usage_reg; ALTER TABLE reg46 RENAME TO usage_reg; DROP INDEX bills_app;"
                                "DROP INDEX c2c_msg_imported;"
                                "CREATE INDEX c2c_msg_imported ON c2c_msg(conv, sdkappid, random) WHERE (flags&32)!=0;"
                                "ALTER TABLE c2c_msg DROP COLUMN run_lo; DROP TABLE usage_reg_day;"
                                "ALTER TABLE grp_member DROP COLUMN apply_seq;"
                                "ALTER TABLE c2c_msg DROP COLUMN max_t; DROP TABLE grp_apply_mark;"
                                "DROP INDEX grp_msg_chg; ALTER TABLE grp_msg DROP COLUMN chg; DROP TABLE grp_chg; DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
  " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random); ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed;"),
                   0); /* migrations 37-53 */
  assert_int_equal(store_exec(s, "PRAGMA user_version=35"), 0);
  store_close(s);
  static const char *const again[] = { "--test-clock", "--test-clock-start", "2026-10-03", NULL };
  assert_int_equal(e2e_server_start(&srv, again), 0);
  json_t *ran = clock_to("2026-10-04T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  json_decref(ran);
}

/* ---- a renewal whose period starts in a billed month ---------------------------------- */
/* Bought on 31 August (to 29 September); September is billed at 00:00 on
 * 1 October; renewed in grace on 3 October, the new period starts on
 * 30 September, in the billed month. No usage row of September changes
 * after its bill, so only the order can queue the month: the next day job
 * issues a correction of September's bill that lists the renewal (before,
 * the 999 yuan were paid and on no document). */
static void test_renewal_into_billed_month(void **st)
{
  (void)st;
  int64_t cust = new_customer("rn", 2 * 99900);
  uint32_t app = new_app(cust, NULL);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(clock_to("2026-10-03T12:00:00+08:00"));
  json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", app), *b, *sep = NULL;
  size_t i;
  json_array_foreach(json_object_get(l, "bills"), i, b) if (!strcmp(jstr(b, "bill_month"), "2026-09")) sep = b;
  assert_non_null(sep);
  assert_int_equal(jint(sep, "prepaid_fen"), 0); /* the August order is on August's bill */
  assert_int_equal(json_array_size(json_object_get(sep, "corrections")), 0);
  char number[32];
  snprintf(number, sizeof number, "%s", jstr(sep, "number"));
  json_decref(l);
  json_t *o = callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app);
  assert_string_equal(jstr(json_object_get(o, "order"), "valid_from"), "2026-09-30");
  json_decref(o);
  json_t *ran = clock_to("2026-10-04T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  json_decref(ran);
  l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", app);
  sep = NULL;
  json_array_foreach(json_object_get(l, "bills"), i, b) if (!strcmp(jstr(b, "bill_month"), "2026-09")) sep = b;
  assert_non_null(sep);
  assert_int_equal(jint(sep, "prepaid_fen"), 0); /* the bill itself is never edited */
  json_t *corr = json_object_get(sep, "corrections");
  assert_int_equal(json_array_size(corr), 1);
  json_t *k = json_array_get(corr, 0);
  assert_string_equal(jstr(k, "corrects"), number);
  assert_int_equal(jint(k, "prepaid_fen"), 99900); /* the renewal, paid from the wallet */
  assert_int_equal(jint(k, "difference_fen"), 0);
  json_decref(l);
  ran = clock_to("2026-10-05T00:00:00+08:00"); /* idempotent */
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
}

/* ---- the day change in bounded steps ------------------------------------------- */
static void test_day_job_steps(void **st)
{
  (void)st;
  /* the start-up jobs first, so the move below runs one day change */
  int started = 0;
  for (int i = 0; i < 400 && !started; i++) {
    char *log = e2e_server_log(&srv);
    started = log && strstr(log, "job=day");
    free(log);
    if (!started) usleep(50 * 1000);
  }
  assert_true(started);
  /* 120 apps of customer 1, written straight into the database (the server learns them from the change log) */
  store_t *db;
  assert_int_equal(store_open(srv.dir, &db), 0);
  assert_int_equal(store_exec(db, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 120; i++) {
    store_app_t a = { 0 };
    assert_int_equal(store_app_next_sdkappid(db, &a.sdkappid), 0);
    a.customer_id = 1;
    strcpy(a.name, "bulk"); strcpy(a.secret_key, "0123456789abcdef"); strcpy(a.region, "china");
    strcpy(a.scheme, "s2022"); strcpy(a.edition, "trial");
    a.created_at_s = 1793246400; /* 2026-10-29 12:00 +08:00 */
    assert_int_equal(store_app_insert(db, &a), 0);
  }
  assert_int_equal(store_exec(db, "COMMIT"), 0);
  store_close(db);
  json_t *ran = clock_to("2026-10-31T00:00:00+08:00");
  /* the day change of 31 October in steps of 50 (--day-batch 50): corrections, 3 steps of life cycles,
   * 1 of arrears (one customer), 3 of fresh records: 8 transactions */
  json_t *day = NULL, *row;
  size_t i;
  json_array_foreach(ran, i, row) if (!strcmp(jstr(row, "job"), "day")) day = row;
  assert_non_null(day);
  assert_string_equal(jstr(day, "date"), "2026-10-31");
  assert_int_equal(jint(day, "apps"), 120);
  assert_int_equal(jint(day, "steps"), 8);
  assert_int_equal(jint(day, "failed"), 0);
  json_decref(ran);
  /* the apps are in the registry with their plan facts: a trial app answers REST */
  char key[80];
  uint32_t app = new_app(1, key);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  /* the bill run of October goes in steps of 50 apps too: 120 bulk apps and the others, every one billed once */
  ran = clock_to("2026-11-01T00:00:01+08:00");
  json_t *bill = NULL;
  json_array_foreach(ran, i, row) if (!strcmp(jstr(row, "job"), "bill_run")) bill = row;
  assert_non_null(bill);
  assert_string_equal(jstr(bill, "month"), "2026-10");
  json_int_t apps = jint(bill, "apps");
  assert_true(apps >= 121);
  assert_int_equal(jint(bill, "issued"), apps);
  assert_int_equal(jint(bill, "failed"), 0);
  assert_int_equal(jint(bill, "steps"), (apps + 49) / 50);
  json_decref(ran);
}

static int setup_steps(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-30", "--day-batch", "50", NULL };
  return start(args);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_late_usage_correction, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_renewal_into_billed_month, setup_lapse, stop),
    cmocka_unit_test_setup_teardown(test_migration_queues_old_renewals, setup_lapse, stop),
    cmocka_unit_test_setup_teardown(test_day_job_steps, setup_steps, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
