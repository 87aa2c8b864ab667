/* End-to-end: dates and limits of the billing life cycle on a test-clock
 * server whose billing zone is UTC (--billing-tz-offset-s 0), not UTC+8
 * (docs/decisions/billing-scheme-change.md, docs/billing.md):
 *  - the day of a move off legacy (P-07) is the day of its instant in the
 *    billing zone, for orders as for bills: moved at 02:00 UTC+8 on 10
 *    January (18:00 UTC on the 9th), an order dated 9 January is the new
 *    scheme's and on the bill, one dated the 8th is refused (orders took the
 *    China day, the 10th, and refused the 9th the bill prices on s2022);
 *  - limits after the move come from s2022 orders only: a legacy
 *    member_cap=2000 add-on (free on legacy, P-48) gave the pro edition
 *    2,000 members per group instead of pro's 200;
 *  - `usage import` checks a legacy month of the moved app, and the month
 *    of the move, against legacy's book (no call kinds), not s2022's;
 *  - `app create --created-at` dates the app in the stored billing zone
 *    (it took UTC+8's midnight whatever the zone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-12-01", "--billing-tz-offset-s", "0", NULL };
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#define callf(want, method, body, ...) op_callf(srv.port, auth, (want), (method), (body), __VA_ARGS__)

static void clock_to(const char *now)
{
  char body[96];
  snprintf(body, sizeof body, "{\"now\":\"%s\"}", now);
  json_decref(callf(200, "POST", body, "/operator/v1/clock"));
}

/* A legacy app (its customer's first app dates from 2019, P-01) with a funded wallet; its key into key. */
static uint32_t legacy_app(const char *name, char *key, size_t cap)
{
  char body[200];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = callf(201, "POST", body, "/operator/v1/customers");
  int64_t cust = jint(c, "id");
  json_decref(c);
  snprintf(body, sizeof body, "{\"amount_fen\":2000000,\"reference\":\"seed-%s\"}", name);
  json_decref(callf(201, "POST", body, "/operator/v1/customers/%lld/wallet/topups", (long long)cust));
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"%s\",\"region\":\"china\",\"created_at\":\"2019-06-01\"}",
           (long long)cust, name);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  snprintf(key, cap, "%s", jstr(a, "key"));
  assert_string_equal(jstr(a, "scheme"), "legacy");
  json_decref(a);
  return id;
}

/* P-07 at the test clock's now: legacy -> trial by approval, then pro dated at (NULL: today). */
static void move_to_pro(uint32_t app, const char *at)
{
  char body[96];
  json_decref(callf(200, "POST", "{\"edition\":\"trial\",\"approved\":true}", "/operator/v1/apps/%u/upgrade", app));
  snprintf(body, sizeof body, at ? "{\"edition\":\"pro\",\"at\":\"%s\"}" : "{\"edition\":\"pro\"%s}", at ? at : "");
  json_t *o = callf(201, "POST", body, "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(o, "state.edition"), "pro");
  json_decref(o);
}

/* Moved at 02:00 UTC+8 on 10 January = 18:00 UTC on the 9th: the 9th is the day of the move in the
 * billing zone (UTC), the bill's first s2022 day, and the first day an s2022 order can be dated. */
static void test_order_on_the_day_of_the_move(void **st)
{
  (void)st;
  char key[80], out[8192];
  uint32_t app = legacy_app("moved", key, sizeof key);
  clock_to("2027-01-10T02:00:00+08:00");
  json_decref(callf(200, "POST", "{\"edition\":\"trial\",\"approved\":true}", "/operator/v1/apps/%u/upgrade", app));
  json_t *o = callf(400, "POST", "{\"edition\":\"pro\",\"at\":\"2027-01-08\"}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(o, "error.code"), "BILL_NO_BOOK");
  assert_non_null(strstr(jstr(o, "error.message"), "on 2027-01-09 (UTC+00:00, P-07)"));
  json_decref(o);
  o = callf(201, "POST", "{\"edition\":\"pro\",\"at\":\"2027-01-09\"}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(o, "order.valid_from"), "2027-01-09");
  assert_string_equal(jstr(o, "order.book"), "s2022@2022-06-01");
  json_decref(o);
  /* the bill: legacy until the 8th, s2022 from the 9th, with the package dated the 9th (P-41) */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %u --month 2027-01 --json", app), 0);
  json_t *b = json_loads(out, 0, NULL);
  assert_non_null(b);
  assert_string_equal(jstr(b, "scheme_change.until"), "2027-01-08");
  assert_string_equal(jstr(b, "scheme_change.day"), "2027-01-09");
  int64_t package = 0;
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(b, "lines"), i, l) if (!strcmp(jstr(l, "code"), "package")) package = jint(l, "amount_fen");
  assert_int_equal(package, 99900);
  json_decref(b);
}

/* A REST v4 call as administrator with a UserSig valid for ten years: the server's clock runs ahead
 * of the wall clock the signature is dated with (e2e_v4's lasts a day). The parsed reply. */
static json_t *rest(uint32_t app, const char *key, const char *cmd, const char *body)
{
  static char sig[1024], target[1400], out[1 << 16];
  e2e_usersig(app, key, "administrator", 10 * 365 * 86400LL, sig, sizeof sig);
  snprintf(target, sizeof target, "/v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=%u&contenttype=json", cmd, app,
           sig, (unsigned)rand());
  assert_int_equal(e2e_http(srv.port, "POST", target, "Content-Type: application/json\r\n", body, out, sizeof out), 200);
  return json_loads(out, 0, NULL);
}

/* create_group of a Public group for up to max members (MaxMemberCount, checked against the
 * members per group the app's edition and add-ons allow); its ErrorCode. */
static int64_t group_of(uint32_t app, const char *key, const char *name, int max)
{
  char body[200];
  snprintf(body, sizeof body, "{\"Type\":\"Public\",\"Name\":\"%s\",\"MaxMemberCount\":%d}", name, max);
  json_t *r = rest(app, key, "group_open_http_svc/create_group", body);
  assert_non_null(r);
  int64_t code = jint(r, "ErrorCode");
  json_decref(r);
  return code;
}

/* A legacy member_cap=2000 (free, P-48) bought on 5 January runs until 4 February; moved to pro on
 * the 9th, the app has pro's 200 members per group, not the legacy add-on's 2,000 (pro sells 2,000
 * for 500 yuan a month). */
static void test_limits_after_the_move(void **st)
{
  (void)st;
  char key[80];
  uint32_t app = legacy_app("capped", key, sizeof key);
  json_t *o = callf(201, "POST", "{\"addon\":\"member_cap\",\"value\":2000,\"at\":\"2027-01-05\"}", "/operator/v1/apps/%u/addons", app);
  assert_string_equal(jstr(o, "order.book"), "legacy@open");
  json_decref(o);
  assert_int_equal(group_of(app, key, "before", 2000), 0); /* on legacy */
  move_to_pro(app, NULL);
  assert_int_equal(group_of(app, key, "after", 201), 10038);
  assert_int_equal(group_of(app, key, "after200", 200), 0);
}

/* `usage import` of doc for app: the exit status; the CLI's output, stderr included, into out. */
static int import(uint32_t app, const char *name, const char *doc, char *out, size_t cap)
{
  char path[400];
  snprintf(path, sizeof path, "%s/%s.json", srv.dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(doc, f);
  fclose(f);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "'%s' usage import --sdkappid %u '%s' --data '%s' 2>&1", srv.bin, app, path, srv.dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* December 2026 is a legacy month of an app moved in January: its import is checked on legacy's
 * book, which prices no call minutes (s2022's took "audio", then asked for an av_call package legacy
 * never sells). January, the month of the move: its undated figures count with its first day, a
 * legacy day (billing-scheme-change.md §4), so on legacy's book too, even with an s2022 av_call
 * package bought since the move (they were taken, and billed nowhere). */
static void test_import_of_a_legacy_month(void **st)
{
  (void)st;
  char key[80], out[4096];
  uint32_t app = legacy_app("imported", key, sizeof key);
  move_to_pro(app, NULL);
  assert_int_equal(import(app, "dec", "{\"call_minutes\":{\"audio\":5},\"days\":[{\"date\":\"2026-12-03\",\"dau\":10}]}", out, sizeof out), 1);
  assert_non_null(strstr(out, "unknown call kind \"audio\""));
  assert_int_equal(import(app, "dec2", "{\"days\":[{\"date\":\"2026-12-03\",\"dau\":10}]}", out, sizeof out), 0);
  json_decref(callf(201, "POST", "{\"addon\":\"av_call\",\"value\":\"basic\"}", "/operator/v1/apps/%u/addons", app));
  assert_int_equal(import(app, "jan", "{\"call_minutes\":{\"audio\":5000000},\"days\":[{\"date\":\"2027-01-20\",\"dau\":1}]}", out, sizeof out), 1);
  assert_non_null(strstr(out, "unknown call kind \"audio\""));
}

/* --created-at is a day of the billing zone the server stored (UTC here), as --at and --month are. */
static void test_created_at_in_billing_zone(void **st)
{
  (void)st;
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "customer create --name zoned --json"), 0);
  json_t *c = json_loads(out, 0, NULL);
  int64_t cust = jint(c, "id");
  json_decref(c);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app create --customer %lld --name z --region china --created-at 2019-12-26 --json",
                           (long long)cust), 0);
  json_t *a = json_loads(out, 0, NULL);
  assert_non_null(a);
  assert_int_equal(jint(a, "created_at"), 1577318400); /* 2019-12-26T00:00:00Z (UTC+8's midnight: 1577289600) */
  assert_string_equal(jstr(a, "created_date"), "2019-12-26");
  assert_string_equal(jstr(a, "scheme"), "legacy");
  json_decref(a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_order_on_the_day_of_the_move),
    cmocka_unit_test(test_limits_after_the_move),
    cmocka_unit_test(test_import_of_a_legacy_month),
    cmocka_unit_test(test_created_at_in_billing_zone),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
