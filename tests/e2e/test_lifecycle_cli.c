/* End-to-end: the edition life cycle through the real `imcloud` binary, no
 * server: customer and app, a purchase on the 31st of a past month paid from
 * the wallet (`app upgrade --at`), a retried command is a replay, an order
 * refused for lack of balance changes nothing (wallet and orders), the
 * package long lapsed suspends the app, a renewal resumes it, add-ons buy and
 * list, auto-renew, operator suspend/resume, exit statuses and one-line
 * errors. Dates are in the past so the real clock can run the test. */
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

static e2e_server_t box; /* data directory only */
static char out[1 << 16];

static json_t *cli_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *cli_json(const char *fmt, ...)
{
  char args[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  int rc = e2e_cli(&box, out, sizeof out, "%s --json", args);
  if (rc) fail_msg("imcloud %s: exit %d", args, rc);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  if (!j) fail_msg("imcloud %s: not JSON: %s", args, out);
  return j;
}

static const char *jstr(json_t *o, const char *path1, const char *key)
{
  json_t *x = path1 ? json_object_get(o, path1) : o;
  return json_string_value(json_object_get(x, key));
}

static int64_t balance(long long cust)
{
  json_t *w = cli_json("wallet show --customer %lld", cust);
  int64_t b = json_integer_value(json_object_get(w, "balance_fen"));
  json_decref(w);
  return b;
}

static int count_orders(unsigned app)
{
  /* every package and add-on order appears in the ledger or the add-on list; count add-ons here */
  json_t *l = cli_json("addon list --sdkappid %u", app);
  int n = (int)json_array_size(json_object_get(l, "addons"));
  json_decref(l);
  return n;
}

static void test_life_cycle(void **st)
{
  (void)st;
  json_t *c = cli_json("customer create --name buyer");
  long long cust = (long long)json_integer_value(json_object_get(c, "id"));
  json_decref(c);
  json_t *a = cli_json("app create --customer %lld --name shop --region china --created-at 2025-01-01", cust);
  unsigned app = (unsigned)json_integer_value(json_object_get(a, "sdkappid"));
  json_decref(a);
  /* nothing in the wallet: the order is refused and nothing changes */
  assert_int_equal(e2e_cli(&box, out, sizeof out, "app upgrade --sdkappid %u --edition pro --at 2025-01-31", app), 1);
  assert_string_equal(out, "");
  assert_int_equal(balance(cust), 0);
  json_t *s = cli_json("app state --sdkappid %u", app);
  assert_string_equal(jstr(s, NULL, "edition"), "trial");
  assert_string_equal(jstr(s, NULL, "state"), "free");
  json_decref(s);
  /* with money: pro from Jan 31 to Feb 27 (the 31st clamped in February), 999 元 */
  json_decref(cli_json("wallet topup --customer %lld --amount-fen 300000 --reference e2e-1", cust));
  json_t *o = cli_json("app upgrade --sdkappid %u --edition pro --at 2025-01-31", app);
  assert_string_equal(jstr(o, "order", "valid_from"), "2025-01-31");
  assert_string_equal(jstr(o, "order", "valid_to"), "2025-02-27");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "order"), "price_fen")), 99900);
  assert_false(json_is_true(json_object_get(o, "replayed")));
  /* long lapsed today: the run after the command suspended it */
  assert_string_equal(jstr(o, "state", "state"), "lapsed");
  assert_string_equal(jstr(o, "state", "status"), "suspended");
  assert_string_equal(jstr(o, "state", "limits_of"), "trial");
  json_decref(o);
  assert_int_equal(balance(cust), 300000 - 99900);
  /* the same command again: a replay, nothing debited */
  o = cli_json("app upgrade --sdkappid %u --edition pro --at 2025-01-31", app);
  assert_true(json_is_true(json_object_get(o, "replayed")));
  json_decref(o);
  assert_int_equal(balance(cust), 300000 - 99900);
  /* the state on a day inside the package: active with pro's limits */
  s = cli_json("app state --sdkappid %u --at 2025-02-27", app);
  assert_string_equal(jstr(s, NULL, "state"), "active");
  assert_string_equal(jstr(s, NULL, "limits_of"), "pro");
  json_decref(s);
  s = cli_json("app state --sdkappid %u --at 2025-03-06", app);      /* Feb 27 + 7 */
  assert_string_equal(jstr(s, NULL, "state"), "grace");
  json_decref(s);
  /* resume refused while lapsed; renewal today starts a new period and resumes */
  assert_int_equal(e2e_cli(&box, out, sizeof out, "app resume --sdkappid %u", app), 1);
  o = cli_json("app renew --sdkappid %u", app);
  assert_string_equal(jstr(o, "state", "state"), "active");
  assert_string_equal(jstr(o, "state", "status"), "active");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "order"), "period")), 0);
  json_decref(o);
  assert_int_equal(balance(cust), 300000 - 2 * 99900);
  /* add-ons: pro may buy member_cap=2000 (500 元); 6000 is not sold to pro; trial-only rules shown by the message */
  o = cli_json("addon buy --sdkappid %u member_cap=2000", app);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "order"), "price_fen")), 50000);
  json_decref(o);
  assert_int_equal(e2e_cli(&box, out, sizeof out, "addon buy --sdkappid %u member_cap=6000", app), 1);
  assert_int_equal(e2e_cli(&box, out, sizeof out, "addon buy --sdkappid %u gold", app), 1);
  assert_int_equal(count_orders(app), 1);
  json_t *l = cli_json("addon list --sdkappid %u", app);
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(l, "addons"), 0), "in_force")));
  json_decref(l);
  /* a short balance: refused, wallet and orders unchanged */
  int64_t b = balance(cust);
  assert_true(b < 100000);
  assert_int_equal(e2e_cli(&box, out, sizeof out, "addon buy --sdkappid %u avchatroom_unlimited", app), 1);
  assert_int_equal(balance(cust), b);
  assert_int_equal(count_orders(app), 1);
  /* settings and operator suspension */
  o = cli_json("app auto-renew --sdkappid %u on", app);
  assert_true(json_is_true(json_object_get(json_object_get(o, "state"), "auto_renew")));
  json_decref(o);
  o = cli_json("app suspend --sdkappid %u", app);
  assert_string_equal(jstr(o, "state", "status"), "suspended");
  assert_string_equal(jstr(o, "state", "suspended_by"), "operator");
  json_decref(o);
  o = cli_json("app resume --sdkappid %u", app);
  assert_string_equal(jstr(o, "state", "status"), "active");
  json_decref(o);
  /* malformed command lines: exit 2; bad values: exit 1 (README); nothing on stdout */
  static const char *const bad[] = {
    "app upgrade --sdkappid 1400000001", "app upgrade --edition pro",
    "addon buy --sdkappid 1400000001", "addon frob --sdkappid 1400000001",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = e2e_cli(&box, out, sizeof out, "%s", bad[i]);
    if (rc != 2) fail_msg("imcloud %s: exit %d, want 2", bad[i], rc);
    assert_string_equal(out, "");
  }
  static const char *const bad_value[] = {
    "app renew --sdkappid 1400000001 --at 2025-02-30", "app renew --sdkappid 1400000001 --at 2999-01-01",
    "addon buy --sdkappid 1400000001 member_cap=", "addon buy --sdkappid 1400000001 member_cap=0",
    "addon buy --sdkappid 1400000001 member_cap=99999999999999999999", "app state --sdkappid abc",
    "app auto-renew --sdkappid 1400000001 maybe",
  };
  for (size_t i = 0; i < sizeof bad_value / sizeof *bad_value; i++) {
    int rc = e2e_cli(&box, out, sizeof out, "%s", bad_value[i]);
    if (rc != 1) fail_msg("imcloud %s: exit %d, want 1 (a bad value; it was 2)", bad_value[i], rc);
    assert_string_equal(out, "");
  }
  /* intl Pro: postpaid package (no debit); all-member push approved now is still off (48 h) */
  a = cli_json("app create --customer %lld --name world --region singapore", cust);
  unsigned intl = (unsigned)json_integer_value(json_object_get(a, "sdkappid"));
  json_decref(a);
  b = balance(cust);
  o = cli_json("app upgrade --sdkappid %u --edition pro", intl);
  assert_string_equal(jstr(o, "order", "pay"), "postpaid");
  json_decref(o);
  assert_int_equal(balance(cust), b);
  o = cli_json("app push-approve --sdkappid %u", intl);
  assert_true(json_is_integer(json_object_get(json_object_get(o, "state"), "push_approved_at")));
  assert_false(json_is_true(json_object_get(json_object_get(o, "state"), "all_member_push")));
  json_decref(o);
  o = cli_json("app push-approve --sdkappid %u off", intl);
  assert_true(json_is_null(json_object_get(json_object_get(o, "state"), "push_approved_at")));
  json_decref(o);
  /* P-44: back to trial is refused; an unknown app */
  assert_int_equal(e2e_cli(&box, out, sizeof out, "app upgrade --sdkappid %u --edition trial", app), 1);
  assert_int_equal(e2e_cli(&box, out, sizeof out, "app renew --sdkappid 1499999999"), 1);
}

static int setup(void **st) { (void)st; e2e_dir_init(&box); snprintf(box.log_path, sizeof box.log_path, "%s/cli.log", box.dir); return 0; }
static int teardown(void **st) { (void)st; e2e_dir_remove(&box); return 0; }

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_life_cycle) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
