/* End-to-end bill rules a review found broken, on one test-clock server
 * (started 2026-12-01, the operator's intl book in --pricebooks-dir with the
 * default fees) driven through the operator API and the CLI:
 *  - P-46: an av_call basic period bought 2026-12-10 and renewed 2027-01-10;
 *    200,000 audio minutes imported for January: the January bill's call
 *    overage equals `imcloud quote --addon av_call=basic` for that usage
 *    (90,000 min x 7 元/1,000 = 630 元), the December period's minutes not
 *    counted again; the text bill prints the minutes (90,000 分钟 / min)
 *    and the rate per 1,000 min apart;
 *  - P-46: call minutes on a trial app are refused by the operator API (409
 *    METER_NO_CALL_PACKAGE) and by `usage import`, as the quote refuses them;
 *  - P-51: intl Standard 2027-01-10, Pro 01-11, Standard 01-12: January
 *    pays one package fee (Pro's 2,999 元), February is priced on Standard
 *    and pays 999 元 once;
 *  - M-1: with a second server started with --billing-tz-offset-s 0, the
 *    CLI's usage report is in that zone (it used UTC+8). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  /* the intl book with its fees as the operator's own (no operator_config marks) */
  FILE *in = fopen("data/pricebooks/intl.json", "rb");
  json_t *book = in ? json_loadf(in, 0, NULL) : NULL;
  if (in) fclose(in);
  if (!book) return -1;
  json_t *ed;
  size_t i;
  json_array_foreach(json_object_get(book, "editions"), i, ed)
    if (json_is_object(json_object_get(ed, "package"))) json_object_del(json_object_get(ed, "package"), "operator_config");
  json_array_foreach(json_object_get(book, "items"), i, ed) json_object_del(ed, "operator_config");
  json_object_set_new(book, "operator_config", json_false());
  static char books[400];
  char path[480];
  snprintf(books, sizeof books, "%s/books", srv.dir);
  if (mkdir(books, 0700)) { json_decref(book); return -1; }
  snprintf(path, sizeof path, "%s/intl.json", books);
  int rc = json_dump_file(book, path, 0);
  json_decref(book);
  static const char *args[] = { "--test-clock", "--test-clock-start", "2026-12-01", "--pricebooks-dir", books, NULL };
  return rc || e2e_server_start(&srv, args) ? -1 : 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* an operator API call on this test's server (e2e_op.h) */
#define callf(want, method, body, ...) op_callf(srv.port, auth, (want), (method), (body), __VA_ARGS__)

static void clock_to(const char *now)
{
  char body[96];
  snprintf(body, sizeof body, "{\"now\":\"%s\"}", now);
  json_decref(callf(200, "POST", body, "/operator/v1/clock"));
}

static uint32_t new_app(const char *name, const char *region, int64_t topup_fen)
{
  char body[160];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = callf(201, "POST", body, "/operator/v1/customers");
  int64_t cust = jint(c, "id");
  json_decref(c);
  if (topup_fen) {
    snprintf(body, sizeof body, "{\"amount_fen\":%lld,\"reference\":\"seed-%s\"}", (long long)topup_fen, name);
    json_decref(callf(201, "POST", body, "/operator/v1/customers/%lld/wallet/topups", (long long)cust));
  }
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"%s\",\"region\":\"%s\"}", (long long)cust, name, region);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  return id;
}

static json_t *cli_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *cli_json(const char *fmt, ...)
{
  static char out[1 << 16];
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = e2e_cli(&srv, out, sizeof out, "%s", cmd);
  if (rc) fail_msg("imcloud %s: exit %d", cmd, rc);
  json_t *o = json_loads(out, 0, NULL);
  if (!o) fail_msg("imcloud %s: not JSON: %.300s", cmd, out);
  return o;
}

/* Sum and count of the lines with code `code`. */
static int64_t lines_fen(json_t *bill, const char *code, int *n)
{
  int64_t fen = 0;
  size_t i;
  json_t *l;
  *n = 0;
  json_array_foreach(json_object_get(bill, "lines"), i, l) {
    if (strcmp(jstr(l, "code"), code)) continue;
    fen += jint(l, "amount_fen");
    (*n)++;
  }
  return fen;
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_call_period_counts_once(void **st)
{
  (void)st;
  uint32_t app = new_app("call", "china", 2000000);
  clock_to("2026-12-10T09:00:00+08:00");
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(callf(201, "POST", "{\"addon\":\"av_call\",\"value\":\"basic\"}", "/operator/v1/apps/%u/addons", app));
  clock_to("2027-01-10T09:00:00+08:00");
  json_decref(callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app));
  json_decref(callf(201, "POST", "{\"addon\":\"av_call\",\"value\":\"basic\"}", "/operator/v1/apps/%u/addons", app));
  char path[400], out[256];
  snprintf(path, sizeof path, "%s/jan.json", srv.dir);
  write_file(path, "{\"call_minutes\": {\"audio\": 200000}}");
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u --month 2027-01 '%s'", app, path), 0);
  json_t *b = cli_json("bill --sdkappid %u --month 2027-01 --pricebooks '%s/books' --json", app, srv.dir);
  json_t *q = cli_json("quote --scheme s2022 --edition pro --addon av_call=basic --bill-month 2027-01 --call-minutes audio=200000 --json");
  int nb, nq;
  int64_t bill_fen = lines_fen(b, "call_overage", &nb), quote_fen = lines_fen(q, "call_overage", &nq);
  assert_int_equal(quote_fen, 63000); /* 90,000 min x 7 元 / 1,000 */
  assert_int_equal(bill_fen, quote_fen);
  assert_int_equal(nb, 1);
  assert_int_equal(jint(b, "postpaid_fen"), jint(q, "postpaid_fen"));
  json_decref(b);
  json_decref(q);
  /* the text bill: the minutes beyond the package and the per-1,000 rate, not "90,000 x 1,000 min" */
  static char out2[1 << 14];
  assert_int_equal(e2e_cli(&srv, out2, sizeof out2, "bill --sdkappid %u --month 2027-01", app), 0);
  const char *row = strstr(out2, "Audio ");
  assert_non_null(row);
  assert_non_null(strstr(row, " 90,000 min "));
  assert_non_null(strstr(row, "(7.00 元 per 1,000 min)"));
  /* the quote's text table: the same */
  assert_int_equal(e2e_cli(&srv, out2, sizeof out2,
                           "quote --scheme s2022 --edition pro --addon av_call=basic --bill-month 2027-01 --call-minutes audio=200000"), 0);
  assert_non_null(strstr(out2, "90,000  分钟 / min"));
  assert_non_null(strstr(out2, "7.00 元 per 1,000 min"));
  assert_non_null(strstr(out2, "audio: 90,000 of 200,000 min beyond the"));
  assert_null(strstr(out2, "千分钟"));
}

static void test_trial_minutes_refused(void **st)
{
  (void)st;
  uint32_t app = new_app("trial", "china", 0);
  json_t *e = callf(409, "POST", "{\"kind\":\"audio\",\"minutes\":20000,\"event_id\":\"c1\"}", "/operator/v1/apps/%u/call-minutes", app);
  assert_string_equal(jstr(e, "error.code"), "METER_NO_CALL_PACKAGE");
  assert_non_null(strstr(jstr(e, "error.message"), "no av_call package in force on 2027-01-10"));
  json_decref(e);
  char path[400], out[256];
  snprintf(path, sizeof path, "%s/trial.json", srv.dir);
  write_file(path, "{\"call_minutes\": {\"audio\": 20000}}");
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u --month 2027-01 '%s'", app, path), 1);
  char *log = e2e_server_log(&srv);
  assert_non_null(strstr(log, "no av_call package in force in 2027-01"));
  free(log);
  /* nothing recorded: the bill has no call line and no break */
  json_t *b = cli_json("bill --sdkappid %u --month 2027-01 --pricebooks '%s/books' --json", app, srv.dir);
  assert_int_equal(jint(b, "total_fen"), 0);
  assert_int_equal(json_array_size(json_object_get(b, "limit_breaks")), 0);
  json_decref(b);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "quote --scheme s2022 --edition trial --bill-month 2027-01 --call-minutes audio=20000"), 1);
}

static void test_intl_one_fee_a_month(void **st)
{
  (void)st;
  uint32_t app = new_app("sg", "singapore", 0);
  json_decref(callf(201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", app));
  clock_to("2027-01-11T09:00:00+08:00");
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  clock_to("2027-01-12T09:00:00+08:00");
  json_decref(callf(201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", app));
  int n;
  json_t *jan = cli_json("bill --sdkappid %u --month 2027-01 --pricebooks '%s/books' --json", app, srv.dir);
  assert_int_equal(lines_fen(jan, "package", &n), 299900);
  assert_int_equal(n, 1);
  assert_string_equal(jstr(jan, "edition"), "pro");
  json_decref(jan);
  json_t *feb = cli_json("bill --sdkappid %u --month 2027-02 --pricebooks '%s/books' --json", app, srv.dir);
  assert_string_equal(jstr(feb, "edition"), "standard");
  assert_int_equal(lines_fen(feb, "package", &n), 99900);
  assert_int_equal(n, 1);
  json_decref(feb);
}

/* M-1: a server started with --billing-tz-offset-s 0 stores its zone; the
 * CLI reads it (it used UTC+8 whatever the server's setting): the usage
 * report says tz_offset_s 0 like the operator API's, and --at dates are
 * checked against today in that zone. */
static e2e_server_t srv0;
static uint32_t app0;

static int setup_utc(void **st)
{
  (void)st;
  char key[80];
  static const char *const args[] = { "--billing-tz-offset-s", "0", NULL };
  return e2e_start(&srv0, "china", &app0, key, args);
}

static int teardown_utc(void **st)
{
  (void)st;
  return e2e_finish(&srv0);
}

static void test_cli_uses_server_zone(void **st)
{
  (void)st;
  static char out[1 << 16];
  assert_int_equal(e2e_cli(&srv0, out, sizeof out, "usage --sdkappid %u --month 2026-11 --json", app0), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  assert_int_equal(jint(o, "tz_offset_s"), 0);
  json_decref(o);
  assert_int_equal(e2e_cli(&srv0, out, sizeof out, "usage --sdkappid %u --month 2026-11", app0), 0);
  assert_non_null(strstr(out, "(UTC+0:00)"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_call_period_counts_once),
    cmocka_unit_test(test_trial_minutes_refused),
    cmocka_unit_test(test_intl_one_fee_a_month),
  };
  const struct CMUnitTest utc[] = { cmocka_unit_test(test_cli_uses_server_zone) };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  return failed + cmocka_run_group_tests(utc, setup_utc, teardown_utc);
}
