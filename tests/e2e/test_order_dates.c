/* End-to-end: the dates and the price book of an operator's order, each test
 * on its own server (`imcloud serve --test-clock`) and data directory:
 *  - an app made through the operator API is created at the server's (test)
 *    clock; an upgrade, renewal or add-on dated before the day the app was
 *    created is refused (409 ORDER_BEFORE_APP through the API, exit 1 from
 *    the CLI) and changes nothing (wallet, edition, orders); the creation
 *    day itself is accepted, for an app made now and for one given an
 *    earlier created_at. */
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

static e2e_server_t srv;
static char auth[160];

/* A data directory with a customer (so `operator token` has a database), the token, then the server. */
static int start(const char *const *args)
{
  char out[512];
  e2e_dir_init(&srv);
  if (e2e_cli(&srv, out, sizeof out, "customer create --name first --json")) return -1;
  if (e2e_cli(&srv, out, sizeof out, "operator token --json")) return -1;
  json_t *j = json_loads(out, 0, NULL);
  if (!j) return -1;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(j, "token")));
  json_decref(j);
  return e2e_server_start(&srv, args) ? -1 : 0;
}

static int stop(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *callf(int want, const char *method, const char *body, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static json_t *callf(int want, const char *method, const char *body, const char *fmt, ...)
{
  static char buf[1 << 18];
  char target[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(target, sizeof target, fmt, ap);
  va_end(ap);
  int st = e2e_http_timeout(srv.port, method, target, auth, body, buf, sizeof buf, 120000);
  json_t *o = json_loads(buf, 0, NULL);
  if (!o) fail_msg("%s %s: not JSON (%d): %.300s", method, target, st, buf);
  if (st != want) fail_msg("%s %s: status %d, want %d: %.600s", method, target, st, want, buf);
  return o;
}

static int64_t new_customer(const char *name, int64_t topup_fen)
{
  char body[128];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = callf(201, "POST", body, "/operator/v1/customers");
  int64_t id = jint(c, "id");
  json_decref(c);
  snprintf(body, sizeof body, "{\"amount_fen\":%lld,\"reference\":\"seed-%s\"}", (long long)topup_fen, name);
  json_decref(callf(201, "POST", body, "/operator/v1/customers/%lld/wallet/topups", (long long)id));
  return id;
}

/* An app through the operator API; created: "YYYY-MM-DD" or NULL (now). Returns the app's JSON. */
static json_t *new_app(int64_t customer, const char *region, const char *created)
{
  char body[200], at[48] = "";
  if (created) snprintf(at, sizeof at, ",\"created_at\":\"%s\"", created);
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"app\",\"region\":\"%s\"%s}", (long long)customer, region, at);
  return callf(201, "POST", body, "/operator/v1/apps");
}

/* A refused order: 409 ORDER_BEFORE_APP naming the creation day. */
static void refused(const char *what, const char *body, uint32_t app, const char *created_day)
{
  json_t *o = callf(409, "POST", body, "/operator/v1/apps/%u/%s", app, what);
  assert_string_equal(jstr(o, "error.code"), "ORDER_BEFORE_APP");
  if (!strstr(jstr(o, "error.message"), created_day)) fail_msg("%s: message names no creation day %s: %s", what, created_day, jstr(o, "error.message"));
  json_decref(o);
}

/* ---- orders dated before the app ------------------------------------------------ */
static int setup_dates(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-15", NULL };
  return start(args);
}

static void test_order_before_app(void **st)
{
  (void)st;
  int64_t cust = new_customer("dates", 10000000);
  json_t *a = new_app(cust, "china", NULL);
  uint32_t app = (uint32_t)jint(a, "sdkappid");
  json_t *clock = callf(200, "GET", NULL, "/operator/v1/clock");
  assert_int_equal(jint(a, "created_at"), jint(clock, "now_s")); /* the server's clock, not the wall clock */
  json_decref(clock);
  json_decref(a);

  json_t *w0 = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  refused("upgrade", "{\"edition\":\"pro\",\"at\":\"2026-10-14\"}", app, "2026-10-15");
  refused("addons", "{\"addon\":\"local_audit\",\"at\":\"2026-10-14\"}", app, "2026-10-15");
  refused("renew", "{\"at\":\"2026-10-01\"}", app, "2026-10-15");
  char out[512];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition pro --at 2026-10-14", app), 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "addon buy --sdkappid %u local_audit --at 2026-09-30", app), 1);
  char *log = e2e_server_log(&srv); /* the CLI's stderr */
  assert_non_null(strstr(log, "no order can be dated 2026-10-14, before it"));
  free(log);
  /* nothing changed: wallet and ledger, edition, orders */
  json_t *w1 = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  assert_true(json_equal(w0, w1));
  json_decref(w0);
  json_decref(w1);
  json_t *s = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(s, "edition"), "trial");
  json_decref(s);
  s = callf(200, "GET", NULL, "/operator/v1/apps/%u/addons", app);
  assert_int_equal(json_array_size(json_object_get(s, "addons")), 0);
  json_decref(s);

  /* the creation day itself is an order's day */
  json_t *o = callf(201, "POST", "{\"edition\":\"pro\",\"at\":\"2026-10-15\"}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(o, "order.valid_from"), "2026-10-15");
  json_decref(o);

  /* an app given an earlier created_at (an operator importing a customer) takes orders from that day */
  a = new_app(cust, "china", "2026-10-01");
  uint32_t old = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  refused("upgrade", "{\"edition\":\"pro\",\"at\":\"2026-09-30\"}", old, "2026-10-01");
  o = callf(201, "POST", "{\"edition\":\"pro\",\"at\":\"2026-10-01\"}", "/operator/v1/apps/%u/upgrade", old);
  assert_string_equal(jstr(o, "order.valid_from"), "2026-10-01");
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_order_before_app, setup_dates, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
