/* End-to-end: a legacy app moved to the current scheme (P-07: `upgrade
 * trial` with approval, then pro) is billed on the book in force on each day
 * (docs/decisions/billing-scheme-change.md), on a test-clock server:
 *  - an order dated before the move is refused (400 BILL_NO_BOOK);
 *  - the month of the move: the days before it on legacy (P-03, P-05), the
 *    days from it on s2022 (trial: nothing; pro: its package and P-42 DAU
 *    overage on the days since the move only), one bill that says when the
 *    scheme changed; figures by hand;
 *  - a month billed before the move and corrected after it (late usage):
 *    the correction is priced on legacy, as the bill was; the month of the
 *    move is previewed split, the month after it on s2022 alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static char auth[160];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "first", auth, sizeof auth)) return -1;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-12-01", NULL };
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* an operator API call on this test's server (e2e_op.h) */
#define callf(want, method, body, ...) op_callf(srv.port, auth, (want), (method), (body), __VA_ARGS__)

/* Move the clock; returns the jobs that ran (new reference). */
static json_t *clock_to(const char *now)
{
  char body[96];
  snprintf(body, sizeof body, "{\"now\":\"%s\"}", now);
  json_t *o = callf(200, "POST", body, "/operator/v1/clock");
  json_t *ran = json_incref(json_object_get(o, "ran"));
  json_decref(o);
  return ran;
}

static int64_t ran_sum(json_t *ran, const char *job, const char *k)
{
  int64_t n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(ran, i, r) if (!strcmp(jstr(r, "job"), job)) n += jint(r, k);
  return n;
}

/* A customer whose first app dates from 2019 (P-01: its apps are legacy), with a wallet. */
static int64_t legacy_customer(const char *name)
{
  char body[128];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = callf(201, "POST", body, "/operator/v1/customers");
  int64_t id = jint(c, "id");
  json_decref(c);
  snprintf(body, sizeof body, "{\"amount_fen\":2000000,\"reference\":\"seed-%s\"}", name);
  json_decref(callf(201, "POST", body, "/operator/v1/customers/%lld/wallet/topups", (long long)id));
  return id;
}

static uint32_t legacy_app(int64_t customer)
{
  char body[200];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"old\",\"region\":\"china\",\"created_at\":\"2019-06-01\"}",
           (long long)customer);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  json_t *st = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", id);
  assert_string_equal(jstr(st, "scheme"), "legacy");
  json_decref(st);
  json_decref(a);
  return id;
}

static void import(uint32_t app, const char *name, const char *doc)
{
  char path[400], out[2048];
  snprintf(path, sizeof path, "%s/%s.json", srv.dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(doc, f);
  fclose(f);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 0);
}

/* P-07 through the operator API: trial by approval. */
static void to_trial(uint32_t app)
{
  json_t *r = callf(200, "POST", "{\"edition\":\"trial\",\"approved\":true}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(r, "state.scheme"), "s2022");
  assert_string_equal(jstr(r, "state.edition"), "trial");
  json_decref(r);
}

/* `imcloud bill --json` for the month: the preview, or the issued bill with its corrections. */
static json_t *bill(uint32_t app, const char *month)
{
  static char out[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month %s --json", app, month), 0);
  json_t *b = json_loads(out, 0, NULL);
  assert_non_null(b);
  return b;
}

/* Line i of a bill: its code, rule and amount. */
static void line_is(json_t *b, size_t i, const char *code, const char *rule, int64_t fen)
{
  json_t *l = json_array_get(json_object_get(b, "lines"), i);
  assert_non_null(l);
  assert_string_equal(jstr(l, "code"), code);
  assert_string_equal(jstr(l, "rule"), rule);
  assert_int_equal(jint(l, "amount_fen"), fen);
}

static void test_month_of_the_move(void **st)
{
  (void)st;
  int64_t cust = legacy_customer("oldco");
  uint32_t t = legacy_app(cust), p = legacy_app(cust);
  json_decref(clock_to("2027-01-10T09:00:00+08:00"));
  /* 3 January, on legacy: peak DAU 22,000 and 202,000 groups (the P-06 example) */
  static const char jan3[] = "{\"days\":[{\"date\":\"2027-01-03\",\"dau\":22000,\"groups\":202000}]}";
  import(t, "t3", jan3);
  import(p, "p3", jan3);
  json_t *b = bill(t, "2027-01");
  assert_string_equal(jstr(b, "scheme"), "legacy");
  assert_int_equal(jint(b, "total_fen"), 500000); /* 3 x 1,000 (P-03) + 2 x 1,000 (P-05) */
  json_decref(b);
  /* the move on 10 January: t stays trial, p goes on to pro (999 元) */
  to_trial(t);
  to_trial(p);
  /* an s2022 order cannot be dated before the move (those days are legacy's, whose bill lists legacy orders only) */
  json_t *no = callf(400, "POST", "{\"edition\":\"pro\",\"at\":\"2027-01-09\"}", "/operator/v1/apps/%u/upgrade", p);
  assert_string_equal(jstr(no, "error.code"), "BILL_NO_BOOK");
  json_decref(no);
  json_t *w = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  assert_int_equal(jint(w, "balance_fen"), 2000000); /* nothing was debited */
  json_decref(w);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", p));
  /* 20 January, on s2022: peak DAU 12,000 for p */
  import(p, "p20", "{\"days\":[{\"date\":\"2027-01-20\",\"dau\":12000}]}");

  /* t: the legacy days keep their 5,000 元; trial's days cost nothing and break no limit
   * (22,000 DAU were legacy's, before the move) */
  b = bill(t, "2027-01");
  assert_string_equal(jstr(b, "scheme"), "s2022");
  assert_string_equal(jstr(b, "edition"), "trial");
  assert_int_equal(jint(b, "total_fen"), 500000);
  assert_int_equal(jint(b, "postpaid_fen"), 500000);
  assert_int_equal(json_array_size(json_object_get(b, "lines")), 2);
  line_is(b, 0, "dau", "P-03", 300000);
  line_is(b, 1, "groups_overage", "P-05", 200000);
  assert_string_equal(jstr(json_array_get(json_object_get(b, "lines"), 0), "detail"),
                      "legacy 2027-01-01..2027-01-09: peak_dau 22,000, free 0, per started 10,000");
  assert_int_equal(json_array_size(json_object_get(b, "limit_breaks")), 0);
  assert_string_equal(jstr(b, "scheme_change.from_scheme"), "legacy");
  assert_string_equal(jstr(b, "scheme_change.until"), "2027-01-09");
  assert_string_equal(jstr(b, "scheme_change.day"), "2027-01-10");
  json_decref(b);

  /* p: legacy 5,000 + pro package 999 + DAU overage on 12,000 (the days since the move:
   * 1 started 10,000 above pro's 10,000, 1,000 元, P-42) = 6,999 元 */
  b = bill(p, "2027-01");
  assert_string_equal(jstr(b, "edition"), "pro");
  assert_int_equal(jint(b, "total_fen"), 699900);
  assert_int_equal(jint(b, "prepaid_fen"), 99900);
  assert_int_equal(jint(b, "postpaid_fen"), 600000);
  assert_int_equal(json_array_size(json_object_get(b, "lines")), 4);
  line_is(b, 0, "dau", "P-03", 300000);
  line_is(b, 1, "groups_overage", "P-05", 200000);
  line_is(b, 2, "package", "P-41", 99900);
  line_is(b, 3, "dau_overage", "P-42", 100000);
  assert_string_equal(jstr(json_array_get(json_object_get(b, "lines"), 3), "detail"), "peak_dau 12,000, free 10,000, per started 10,000");
  json_decref(b);
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2027-01", p), 0);
  assert_non_null(strstr(out, "scheme legacy until 2027-01-09, s2022 from 2027-01-10 (P-07)"));

  /* the bill run issues the same documents; the wallet pays them */
  json_t *ran = clock_to("2027-02-01T00:00:00+08:00");
  json_decref(ran);
  b = bill(t, "2027-01");
  assert_true(json_is_string(json_object_get(b, "number"))); /* issued */
  assert_int_equal(jint(b, "total_fen"), 500000);
  assert_string_equal(jstr(b, "status"), "paid");
  json_decref(b);
  b = bill(p, "2027-01");
  assert_int_equal(jint(b, "total_fen"), 699900);
  json_decref(b);
  /* February is s2022's alone: trial costs nothing */
  b = bill(t, "2027-02");
  assert_string_equal(jstr(b, "scheme"), "s2022");
  assert_int_equal(jint(b, "total_fen"), 0);
  assert_null(json_object_get(b, "scheme_change"));
  json_decref(b);
}

static void test_correction_of_a_legacy_month(void **st)
{
  (void)st;
  int64_t cust = legacy_customer("late");
  uint32_t app = legacy_app(cust);
  json_decref(clock_to("2027-01-10T09:00:00+08:00"));
  import(app, "g", "{\"days\":[{\"date\":\"2027-01-03\",\"groups\":202000}]}");
  json_decref(clock_to("2027-02-01T00:00:00+08:00"));
  json_t *b = bill(app, "2027-01");
  char number[32];
  assert_true(json_is_string(json_object_get(b, "number"))); /* issued */
  snprintf(number, sizeof number, "%s", jstr(b, "number"));
  assert_string_equal(jstr(b, "scheme"), "legacy");
  assert_int_equal(jint(b, "total_fen"), 200000); /* 2 x 1,000 (P-05) */
  json_decref(b);
  /* moved on 10 February; then January's DAU arrives late */
  json_decref(clock_to("2027-02-10T09:00:00+08:00"));
  to_trial(app);
  import(app, "d", "{\"days\":[{\"date\":\"2027-01-05\",\"dau\":22000}]}");
  json_t *ran = clock_to("2027-02-11T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "corrections"), 1);
  json_decref(ran);
  /* the correction prices January as the bill was: legacy, +3,000 元 (P-03) */
  b = bill(app, "2027-01");
  json_t *c = json_array_get(json_object_get(b, "corrections"), 0);
  assert_non_null(c);
  assert_string_equal(jstr(c, "corrects"), number);
  assert_string_equal(jstr(c, "scheme"), "legacy");
  assert_string_equal(jstr(c, "edition"), "legacy");
  assert_int_equal(jint(c, "total_fen"), 500000);
  assert_int_equal(jint(c, "difference_fen"), 300000);
  line_is(c, 0, "dau", "P-03", 300000);
  line_is(c, 1, "groups_overage", "P-05", 200000);
  assert_null(json_object_get(c, "scheme_change"));
  json_decref(b);
  /* February: legacy for 1-9 (no usage: no lines), s2022 trial since the 10th */
  import(app, "f", "{\"days\":[{\"date\":\"2027-02-03\",\"dau\":5000}]}");
  b = bill(app, "2027-02");
  assert_string_equal(jstr(b, "scheme"), "s2022");
  assert_int_equal(jint(b, "total_fen"), 100000); /* 1 started 10,000 of 5,000 legacy DAU (P-03) */
  line_is(b, 0, "dau", "P-03", 100000);
  assert_string_equal(jstr(b, "scheme_change.day"), "2027-02-10");
  json_decref(b);
  /* March: s2022 only */
  b = bill(app, "2027-03");
  assert_string_equal(jstr(b, "scheme"), "s2022");
  assert_null(json_object_get(b, "scheme_change"));
  json_decref(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_month_of_the_move, setup, teardown),
    cmocka_unit_test_setup_teardown(test_correction_of_a_legacy_month, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
