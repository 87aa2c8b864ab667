/* End-to-end: the dates and the price book of an operator's order, each test
 * on its own server (`imcloud serve --test-clock`) and data directory:
 *  - an app made through the operator API is created at the server's (test)
 *    clock; an upgrade, renewal or add-on dated before the day the app was
 *    created is refused (409 ORDER_BEFORE_APP through the API, exit 1 from
 *    the CLI) and changes nothing (wallet, edition, orders); the creation
 *    day itself is accepted, for an app made now and for one given an
 *    earlier created_at;
 *  - with `serve --pricebooks-dir DIR` an order is priced by the operator's
 *    book, the one the app's bill is computed with (tenant_app_book): an
 *    intl Standard package (postpaid, P-51) and an s2022 Pro package
 *    (prepaid: the wallet is debited at the operator's price) record the
 *    operator's price and book "… (operator)", and the month's bill charges
 *    exactly the recorded price; the CLI on the same data directory (which
 *    reads the books the server recorded at its start) prices an order the
 *    same way. */
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

static e2e_server_t srv;
static char auth[160];
static char books[400];

/* A data directory with a customer (so `operator token` has a database), the token, then the server. */
static int start(const char *const *args)
{
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "first", auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args) ? -1 : 0;
}

static int stop(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* an operator API call on this test's server (e2e_op.h) */
#define callf(want, method, body, ...) op_callf(srv.port, auth, (want), (method), (body), __VA_ARGS__)

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

/* ---- the operator's price books ------------------------------------------------- */
/* data/pricebooks/<scheme>.json with the operator's marks removed and the package of `edition` at fen. */
static int write_book(const char *scheme, const char *edition, int64_t fen)
{
  char path[480];
  snprintf(path, sizeof path, "data/pricebooks/%s.json", scheme);
  FILE *in = fopen(path, "rb");
  json_t *book = in ? json_loadf(in, 0, NULL) : NULL;
  if (in) fclose(in);
  if (!book) return -1;
  json_t *ed;
  size_t i;
  json_array_foreach(json_object_get(book, "editions"), i, ed) {
    json_t *pk = json_object_get(ed, "package");
    if (!json_is_object(pk)) continue;
    json_object_del(pk, "operator_config");
    if (!strcmp(json_string_value(json_object_get(ed, "code")), edition)) json_object_set_new(pk, "fen", json_integer(fen));
  }
  json_array_foreach(json_object_get(book, "items"), i, ed) json_object_del(ed, "operator_config");
  json_object_set_new(book, "operator_config", json_false());
  snprintf(path, sizeof path, "%s/%s.json", books, scheme);
  int rc = json_dump_file(book, path, 0);
  json_decref(book);
  return rc;
}

static int setup_books(void **st)
{
  (void)st;
  snprintf(books, sizeof books, "/tmp/imcloud-e2e-books-XXXXXX");
  if (!mkdtemp(books)) return -1;
  /* built-in: intl Standard 99,900 and s2022 Pro 99,900 fen a month */
  if (write_book("intl", "standard", 150000) || write_book("s2022", "pro", 123400)) return -1;
  static const char *args[] = { "--test-clock", "--test-clock-start", "2026-10-01", "--pricebooks-dir", books, NULL };
  return start(args);
}

static int stop_books(void **st)
{
  char cmd[480];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", books);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", books);
  return stop(st);
}

/* The amount of the bill line whose code starts with "package", and that it is the only one. */
static int64_t package_line(json_t *bill)
{
  json_t *e, *line = NULL;
  size_t i;
  json_array_foreach(json_object_get(bill, "lines"), i, e) {
    if (strncmp(jstr(e, "code"), "package", 7)) continue;
    assert_null(line);
    line = e;
  }
  if (!line) fail_msg("no package line: %s", json_dumps(bill, JSON_COMPACT));
  return jint(line, "amount_fen");
}

static void test_order_priced_by_operator_book(void **st)
{
  (void)st;
  const int64_t topup = 10000000;
  int64_t cust = new_customer("books", topup);
  json_t *a = new_app(cust, "singapore", NULL);
  uint32_t sg = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  a = new_app(cust, "china", NULL);
  uint32_t cn = (uint32_t)jint(a, "sdkappid");
  json_decref(a);

  json_t *o = callf(201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", sg);
  assert_string_equal(jstr(o, "order.pay"), "postpaid");
  assert_int_equal(jint(o, "order.price_fen"), 150000);
  assert_string_equal(jstr(o, "order.book"), "intl@2022-12-26 (operator)");
  json_decref(o);
  o = callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", cn);
  assert_string_equal(jstr(o, "order.pay"), "prepaid");
  assert_int_equal(jint(o, "order.price_fen"), 123400);
  assert_string_equal(jstr(o, "order.book"), "s2022@2022-06-01 (operator)");
  json_decref(o);
  json_t *w = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  assert_int_equal(jint(w, "balance_fen"), topup - 123400); /* debited at the operator's price */
  json_decref(w);

  json_t *ran = callf(200, "POST", "{\"now\":\"2026-11-01T00:00:00+08:00\"}", "/operator/v1/clock");
  json_decref(ran);
  /* each bill charges the package at the order's recorded price */
  uint32_t apps[2] = { sg, cn };
  int64_t want[2] = { 150000, 123400 };
  for (int i = 0; i < 2; i++) {
    json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", apps[i]);
    assert_int_equal(json_array_size(json_object_get(l, "bills")), 1);
    json_t *bill = json_array_get(json_object_get(l, "bills"), 0);
    assert_int_equal(package_line(bill), want[i]);
    assert_int_equal(jint(bill, "total_fen"), want[i]);
    json_decref(l);
  }

  /* the CLI, without --pricebooks, uses the books the server was started with */
  a = new_app(cust, "china", NULL);
  uint32_t cli_app = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition pro --json", cli_app), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_int_equal(jint(c, "order.price_fen"), 123400);
  assert_string_equal(jstr(c, "order.book"), "s2022@2022-06-01 (operator)");
  json_decref(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_order_before_app, setup_dates, stop),
    cmocka_unit_test_setup_teardown(test_order_priced_by_operator_book, setup_books, stop_books),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
