/* An operator's recheck of a billed month (decision messaging-c2c-checks5.md
 * §109): POST /operator/v1/apps/{id}/bills/recheck and `imcloud bill
 * recheck` queue the month for the next day job's correction run, the queue
 * a usage import feeds (table bill_recheck, read here from the database):
 *  - a damaged bill (§91, torn past the immutability trigger) is restated by
 *    the next day job without any usage written: one correction, difference
 *    0, the bill's lines again; queuing a queued month is a no-op success;
 *    both queuings are logged; the CSV marks the damaged bill's row;
 *  - a whole month whose usage did not change issues nothing, and leaves
 *    the queue empty;
 *  - every refusal (malformed month, unknown field, unknown app, a month
 *    without a bill, a month not ended, the CLI's bad options) queues
 *    nothing. */
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

static const char oct[] = "{\"month\":\"2026-10\"}";

/* Entries of the recheck queue (app 0: all). */
static int64_t queued(uint32_t app)
{
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM bill_recheck WHERE %u=0 OR sdkappid=%u", app, app);
  return e2e_db_int(&srv, sql);
}

static json_t *recheck(int want, uint32_t app, const char *body)
{
  return callf(want, "POST", body, "/operator/v1/apps/%u/bills/recheck", app);
}

/* The reply of a recheck accepted for app's October. */
static void assert_queued(json_t *r, uint32_t app, int already)
{
  assert_int_equal(jint(r, "sdkappid"), app);
  assert_string_equal(jstr(r, "bill_month"), "2026-10");
  assert_true(json_is_true(json_object_get(r, "queued")));
  assert_int_equal(json_is_true(json_object_get(r, "already_queued")), already);
  json_decref(r);
}

/* A queuing logged as event=bill_recheck_queued by `by`. */
static int logged(uint32_t app, const char *by, int already)
{
  char a[32], b[32], q[32];
  snprintf(a, sizeof a, "sdkappid=%u ", app);
  snprintf(b, sizeof b, "by=%s ", by);
  snprintf(q, sizeof q, "already_queued=%d", already);
  const char *const w[] = { "event=bill_recheck_queued", a, "month=2026-10", b, q };
  return e2e_log_line(&srv, w, 5);
}

static void test_recheck_restates_damaged_bill(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80], want[256];
  static char out[1 << 15];
  uint32_t app = pro_app("rd", &cz, kz);
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  json_t *b0 = app_bill(app);
  assert_string_equal(jstr(b0, "number"), "IMC-2026-10-000001");
  e2e_damage_bill_restart(&srv, "IMC-2026-10-000001", "2026-11-01");
  jobs_idle_after("day"); /* the start-up day job is over: the next one is the one that must see the queue */
  assert_int_equal(queued(app), 0);
  assert_queued(recheck(200, app, oct), app, 0);
  assert_int_equal(queued(app), 1);
  assert_queued(recheck(200, app, oct), app, 1); /* queued already: a no-op success */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill recheck --sdkappid %u --month 2026-10 --json", app), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_queued(c, app, 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill recheck --sdkappid %u --month 2026-10", app), 0);
  snprintf(want, sizeof want, "app %u 2026-10: already queued for the next day job's correction run\n", app);
  assert_string_equal(out, want);
  assert_int_equal(queued(app), 1);
  assert_true(logged(app, "operator", 0));
  assert_true(logged(app, "operator", 1));
  assert_true(logged(app, "cli", 1));
  /* no usage written: the next day job restates the damaged bill (§107) */
  json_t *ran = clock_to("2026-11-02T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  assert_int_equal(ran_sum(ran, "day", "corrections_failed"), 0);
  json_decref(ran);
  assert_int_equal(queued(app), 0);
  json_t *b = app_bill(app);
  assert_true(json_is_true(json_object_get(b, "damaged")));
  assert_string_equal(jstr(b, "bill_month"), "2026-10");
  json_t *k = json_array_get(json_object_get(b, "corrections"), 0);
  assert_int_equal(json_array_size(json_object_get(b, "corrections")), 1);
  assert_string_equal(jstr(k, "number"), "IMC-2026-10-000002");
  assert_int_equal(jint(k, "difference_fen"), 0);
  assert_true(json_equal(json_object_get(k, "lines"), json_object_get(b0, "lines")));
  assert_true(e2e_damage_restated_warned(&srv, "IMC-2026-10-000001", "IMC-2026-10-000002"));
  /* the CSV: the damaged bill one row marked in kind, its stored total; then the correction's lines */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2026-10 --csv", app), 0);
  char head[160]; /* up to the status column, left out: the CLI's clock is the real one */
  snprintf(head, sizeof head,
           "number,sdkappid,bill_month,status,code,kind,quantity,unit,unit_price_fen,per,amount_fen,rule\n"
           "IMC-2026-10-000001,%u,2026-10,", app);
  snprintf(want, sizeof want, ",,damaged,,,,,%lld,\nIMC-2026-10-000002,%u,2026-10,", (long long)jint(b0, "total_fen"), app);
  const char *mark = strncmp(out, head, strlen(head)) ? NULL : strchr(out + strlen(head), ',');
  if (!mark || strncmp(mark, want, strlen(want))) fail_msg("CSV:\n%s\nwant:\n%s…%s", out, head, want);
  size_t rows = 0;
  for (const char *p = out; (p = strstr(p, "\nIMC-2026-10-000002,")); p++) rows++;
  assert_int_equal(rows, json_array_size(json_object_get(b0, "lines")));
  /* idempotent: the next day issues nothing */
  ran = clock_to("2026-11-03T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  json_decref(ran);
  json_decref(b);
  json_decref(b0);
}

static void test_recheck_whole_month_issues_nothing(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80];
  uint32_t app = pro_app("rw", &cz, kz);
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  json_t *b0 = app_bill(app);
  assert_queued(recheck(200, app, oct), app, 0);
  assert_int_equal(queued(app), 1);
  json_t *ran = clock_to("2026-11-02T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 0);
  assert_int_equal(ran_sum(ran, "day", "corrections_failed"), 0);
  json_decref(ran);
  assert_int_equal(queued(app), 0); /* looked at, and taken off the queue */
  json_t *b = app_bill(app);
  assert_true(json_equal(b, b0)); /* the same document, no correction */
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM bills WHERE sdkappid=%u", app);
  assert_int_equal(e2e_db_int(&srv, sql), 1);
  assert_queued(recheck(200, app, oct), app, 0); /* a later recheck queues it again */
  json_decref(b);
  json_decref(b0);
}

static void test_recheck_refused(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80], out[2048];
  uint32_t app = pro_app("rr", &cz, kz);
  json_decref(clock_to("2026-11-01T00:00:00+08:00"));
  static const struct { int other_app, status; const char *body, *code, *says; } no[] = {
    { 0, 400, "{}", "INVAL", "month" },
    { 0, 400, "{\"month\":\"2026-13\"}", "INVAL", "month" },
    { 0, 400, "{\"month\":\"2026-1\"}", "INVAL", "month" },
    { 0, 400, "{\"month\":202610}", "INVAL", "month" },
    { 0, 400, "{\"month\":\"2026-10\",\"force\":true}", "INVAL", "force" },
    { 0, 404, "{\"month\":\"2026-09\"}", "NOTFOUND", "no bill for 2026-09" },     /* before the app: no bill */
    { 0, 409, "{\"month\":\"2026-11\"}", "BILL_MONTH", "has not ended yet" },     /* the month in progress */
    { 0, 409, "{\"month\":\"2027-01\"}", "BILL_MONTH", "has not ended yet" },     /* a future month */
    { 7, 404, "{\"month\":\"2026-10\"}", "NOTFOUND", "no app 7" },
  };
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    json_t *e = recheck(no[i].status, no[i].other_app ? (uint32_t)no[i].other_app : app, no[i].body);
    const char *code = jstr(json_object_get(e, "error"), "code"), *msg = jstr(json_object_get(e, "error"), "message");
    if (strcmp(code, no[i].code) || !strstr(msg, no[i].says)) fail_msg("%s: %s %s", no[i].body, code, msg);
    json_decref(e);
  }
  json_decref(callf(404, "POST", oct, "/operator/v1/apps/99999999999/bills/recheck"));
  json_decref(callf(405, "GET", NULL, "/operator/v1/apps/%u/bills/recheck", app));
  static char body[4096];
  char target[96];
  snprintf(target, sizeof target, "/operator/v1/apps/%u/bills/recheck", app);
  assert_int_equal(e2e_http(srv.port, "POST", target, NULL, oct, body, sizeof body), 401);
  /* the CLI: refusals exit 1, a malformed command line 2 */
  static const struct { int exit; const char *args; } cli[] = {
    { 1, "--month 2026-09" }, { 1, "--month 2026-11" }, { 1, "--month 2026-13" },
    { 2, "" }, { 2, "--month 2026-10 --csv" }, { 2, "--month 2026-10 --pricebooks /tmp" },
  };
  for (size_t i = 0; i < sizeof cli / sizeof *cli; i++)
    if (e2e_cli(&srv, out, sizeof out, "bill recheck --sdkappid %u %s", app, cli[i].args) != cli[i].exit)
      fail_msg("bill recheck %s: not exit %d", cli[i].args, cli[i].exit);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill recheck --sdkappid 7 --month 2026-10"), 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill recheck --month 2026-10"), 2);
  assert_int_equal(queued(0), 0); /* nothing queued, by any of them */
  const char *const w[] = { "event=bill_recheck_queued" };
  assert_false(e2e_log_line(&srv, w, 1));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_recheck_restates_damaged_bill, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_recheck_whole_month_issues_nothing, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_recheck_refused, setup_billing, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
