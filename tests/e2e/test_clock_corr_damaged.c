/* A correction run whose last document is damaged (decision
 * messaging-c2c-checks5.md §107; §91 lists such a document from its
 * columns, marked "damaged"). The document is torn in the stopped server's
 * database past the immutability trigger (tests/lib/e2e_damage.h), the month
 * is queued again through the real interface, and the next day job runs:
 *  - the bill is the damaged last document and the usage did not change (the
 *    same October usage imported again): a correction restates the month,
 *    difference 0 from the bill's intact columns, the bill's lines again,
 *    paid; a warning names both documents; the operator API and `imcloud bill`
 *    (JSON and text) list the damaged bill with its whole correction; the
 *    next day issues nothing;
 *  - the latest correction is the damaged last document and the usage
 *    changed (more call minutes): the next correction asks for its postpaid
 *    amount minus the damaged correction's postpaid column, equals `imcloud
 *    quote`, and is listed after the damaged one. */
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
#include "e2e_damage.h"

static void test_damaged_bill_restated(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80], path[400];
  static char out[1 << 15];
  uint32_t app = pro_app("db", &cz, kz);
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  json_t *b0 = app_bill(app);
  assert_string_equal(jstr(b0, "number"), "IMC-2026-10-000001");
  assert_true(jint(b0, "postpaid_fen") > 0); /* the DAU above the package */
  e2e_damage_bill_restart(&srv, "IMC-2026-10-000001", "2026-11-01");
  /* the same October usage imported again: the month is queued, its usage unchanged */
  snprintf(path, sizeof path, "%s/oct-db.json", srv.dir);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 0);
  json_t *ran = clock_to("2026-11-02T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  assert_int_equal(ran_sum(ran, "day", "corrections_failed"), 0);
  json_decref(ran);
  json_t *b = app_bill(app);
  assert_true(json_is_true(json_object_get(b, "damaged"))); /* the bill itself is never edited */
  assert_string_equal(jstr(b, "number"), "IMC-2026-10-000001");
  assert_int_equal(jint(b, "postpaid_fen"), jint(b0, "postpaid_fen"));
  json_t *corr = json_object_get(b, "corrections");
  assert_int_equal(json_array_size(corr), 1);
  json_t *k = json_array_get(corr, 0);
  assert_null(json_object_get(k, "damaged"));
  assert_string_equal(jstr(k, "number"), "IMC-2026-10-000002");
  assert_string_equal(jstr(k, "corrects"), "IMC-2026-10-000001");
  assert_int_equal(jint(k, "difference_fen"), 0); /* from the damaged bill's intact postpaid column */
  assert_int_equal(jint(k, "total_fen"), jint(b0, "total_fen"));
  assert_int_equal(jint(k, "postpaid_fen"), jint(b0, "postpaid_fen"));
  assert_true(json_equal(json_object_get(k, "lines"), json_object_get(b0, "lines"))); /* the lost lines, restated */
  assert_string_equal(jstr(k, "status"), "paid"); /* nothing to pay */
  assert_true(e2e_damage_restated_warned(&srv, "IMC-2026-10-000001", "IMC-2026-10-000002"));
  /* imcloud bill: JSON and text list both documents */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10 --json", app), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_true(json_is_true(json_object_get(c, "damaged")));
  assert_int_equal(json_array_size(json_object_get(c, "corrections")), 1);
  assert_true(json_equal(json_object_get(json_array_get(json_object_get(c, "corrections"), 0), "lines"),
                         json_object_get(b0, "lines")));
  json_decref(c);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10", app), 0);
  assert_null(strstr(out, "(null)"));
  assert_non_null(strstr(out, "IMC-2026-10-000001"));
  assert_non_null(strstr(out, "2026-10"));
  assert_non_null(strstr(out, "damaged"));
  assert_non_null(strstr(out, "correction IMC-2026-10-000002: corrected total "));
  /* the correction is the last document now, and whole: the next day issues nothing */
  ran = clock_to("2026-11-03T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
  json_decref(b);
  json_decref(b0);
}

static void test_damaged_correction_restated(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80];
  static char out[1 << 15];
  uint32_t app = pro_app("dc", &cz, kz);
  json_decref(callf(201, "POST", "{\"amount_fen\":50000,\"reference\":\"avc\"}", "/operator/v1/customers/%lld/wallet/topups",
                    (long long)cz));
  json_decref(callf(201, "POST", "{\"addon\":\"av_call\",\"value\":\"basic\"}", "/operator/v1/apps/%u/addons", app));
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  json_t *b0 = app_bill(app);
  json_decref(callf(201, "POST", "{\"kind\":\"audio\",\"minutes\":120000,\"event_id\":\"call-1\",\"date\":\"2026-10-20\"}",
                    "/operator/v1/apps/%u/call-minutes", app));
  json_decref(clock_to("2026-11-02T00:00:00+08:00"));
  json_t *b1 = app_bill(app);
  json_t *k1 = json_array_get(json_object_get(b1, "corrections"), 0);
  assert_string_equal(jstr(k1, "number"), "IMC-2026-10-000002");
  assert_true(jint(k1, "difference_fen") > 0);
  e2e_damage_bill_restart(&srv, "IMC-2026-10-000002", "2026-11-02");
  /* more late call minutes: the usage changed */
  json_decref(callf(201, "POST", "{\"kind\":\"audio\",\"minutes\":60000,\"event_id\":\"call-2\",\"date\":\"2026-10-21\"}",
                    "/operator/v1/apps/%u/call-minutes", app));
  json_t *ran = clock_to("2026-11-03T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  assert_int_equal(ran_sum(ran, "day", "corrections_failed"), 0);
  json_decref(ran);
  /* the corrected month, priced by imcloud quote */
  json_t *q = quote_pro_october("all-dc.json", "{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 21000, \"groups\": 150000},"
                                               " {\"date\": \"2026-10-20\", \"dau\": 32000, \"groups\": 90000}],"
                                               " \"call_minutes\": {\"audio\": 180000}}");
  json_t *b = app_bill(app);
  assert_null(json_object_get(b, "damaged"));
  json_t *corr = json_object_get(b, "corrections");
  assert_int_equal(json_array_size(corr), 2);
  json_t *kd = json_array_get(corr, 0), *k = json_array_get(corr, 1);
  assert_true(json_is_true(json_object_get(kd, "damaged")));
  assert_string_equal(jstr(kd, "bill_month"), "2026-10"); /* as a whole document names it (§109) */
  assert_string_equal(jstr(kd, "number"), "IMC-2026-10-000002");
  assert_string_equal(jstr(kd, "corrects"), "IMC-2026-10-000001");
  assert_int_equal(jint(kd, "difference_fen"), jint(k1, "difference_fen"));
  assert_int_equal(jint(kd, "postpaid_fen"), jint(k1, "postpaid_fen"));
  assert_null(json_object_get(k, "damaged"));
  assert_string_equal(jstr(k, "number"), "IMC-2026-10-000003");
  assert_string_equal(jstr(k, "corrects"), "IMC-2026-10-000001");
  assert_int_equal(jint(k, "postpaid_fen"), jint(q, "postpaid_fen"));
  assert_true(json_equal(json_object_get(k, "lines"), json_object_get(q, "lines")));
  /* from the damaged correction's intact postpaid column */
  assert_int_equal(jint(k, "difference_fen"), jint(q, "postpaid_fen") - jint(k1, "postpaid_fen"));
  assert_true(jint(k, "difference_fen") > 0);
  assert_true(e2e_damage_restated_warned(&srv, "IMC-2026-10-000002", "IMC-2026-10-000003"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10 --json", app), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(c, "corrections"), 0), "damaged")));
  assert_string_equal(jstr(json_array_get(json_object_get(c, "corrections"), 1), "number"), "IMC-2026-10-000003");
  json_decref(c);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10", app), 0);
  assert_null(strstr(out, "(null)"));
  char *d2 = strstr(out, "correction IMC-2026-10-000002: ");
  assert_non_null(d2);
  assert_non_null(strstr(d2, "(damaged"));
  assert_non_null(strstr(out, "correction IMC-2026-10-000003: "));
  /* CSV: the bill's lines, the damaged correction one row marked in kind with its stored total, the new one's lines */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10 --csv", app), 0);
  char want[160], row[64]; /* the status column is left out: the CLI's clock is the real one */
  snprintf(row, sizeof row, "\nIMC-2026-10-000002,%u,2026-10,", app);
  snprintf(want, sizeof want, ",,damaged,,,,,%lld,\nIMC-2026-10-000003,%u,2026-10,", (long long)jint(k1, "total_fen"), app);
  char *r2 = strstr(out, row), *mark = r2 ? strchr(r2 + strlen(row), ',') : NULL;
  if (!mark || strncmp(mark, want, strlen(want))) fail_msg("CSV:\n%s\nwithout:\n%s", out, want);
  assert_non_null(strstr(out, "\nIMC-2026-10-000001,"));
  ran = clock_to("2026-11-04T00:00:00+08:00"); /* idempotent */
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
  json_decref(q);
  json_decref(b);
  json_decref(b1);
  json_decref(b0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_damaged_bill_restated, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_damaged_correction_restated, setup_billing, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
