/* End-to-end time travel with the test clock (`imcloud serve --test-clock`,
 * POST /operator/v1/clock; docs/operator-api.md "Test clock"): the server's
 * bill run and arrears, each test on its own server and data directory
 * (tests/lib/e2e_clock.h; corrections and the day change: test_clock_corr.c):
 *  - two pro apps with imported October usage are billed on 1 November by
 *    the server's bill run, each bill equal to `imcloud quote` for the same
 *    usage and package to the fen; an order dated in a month already billed
 *    is refused (409); unpaid, the bills suspend both customers' apps
 *    7 days after issue (60016); a top-up through the CLI (learned from the
 *    change log) and one through the operator API pay the bills and resume
 *    the apps; the operator's resume of an app suspended for arrears is
 *    refused (409), and a renewal of a lapsed app leaves it suspended for
 *    arrears while its customer has an overdue bill; the bill run prices an
 *    intl Standard app with the operator's books (serve --pricebooks-dir);
 *  - apps of a region whose zone is west of the server's (germany, UTC+1),
 *    made while the server runs: logins dated in the region's zone; the
 *    bill run bills the other apps at 00:00 and these when their month
 *    ends, with the logins of their last hours. */
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

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_clock.h"
#include "e2e_cli.h"
#include "store/store.h"


/* ---- the bill run, arrears, top-ups ---------------------------------------------------- */
static void test_bill_run_and_arrears(void **st)
{
  (void)st;
  int64_t cx, cy;
  char kx[80], ky[80];
  uint32_t ax = pro_app("x", &cx, kx), ay = pro_app("y", &cy, ky);
  /* 00:00 on 1 November (UTC+8): the server's bill run */
  json_t *ran = clock_to("2026-11-01T00:00:00+08:00");
  assert_true(ran_sum(ran, "bill_run", "issued") >= 2);
  assert_int_equal(ran_sum(ran, "bill_run", "failed"), 0);
  json_decref(ran);
  /* each bill equals imcloud quote for the same usage and package, to the fen */
  char path[400], out[1 << 15];
  snprintf(path, sizeof path, "%s/oct-x.json", srv.dir);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "quote --scheme s2022 --edition pro --bill-month 2026-10 --usage '%s' --json", path), 0);
  json_t *q = json_loads(out, 0, NULL);
  assert_non_null(q);
  assert_int_equal(jint(q, "total_fen"), 499900);
  uint32_t apps[2] = { ax, ay };
  for (int i = 0; i < 2; i++) {
    json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", apps[i]);
    assert_int_equal(json_array_size(json_object_get(l, "bills")), 1);
    json_t *b = json_array_get(json_object_get(l, "bills"), 0);
    assert_int_equal(jint(b, "total_fen"), jint(q, "total_fen"));
    assert_int_equal(jint(b, "prepaid_fen"), jint(q, "prepaid_fen"));
    assert_int_equal(jint(b, "postpaid_fen"), jint(q, "postpaid_fen"));
    assert_true(json_equal(json_object_get(b, "lines"), json_object_get(q, "lines")));
    assert_string_equal(jstr(b, "status"), "open"); /* the wallet is empty: not paid */
    assert_int_equal(jint(b, "issued_at"), 1793462400);
    json_decref(l);
  }
  json_decref(q);
  /* an order dated in October, billed now, would be paid and on no bill: refused (409); dated in November it is taken */
  json_t *no = callf(409, "POST", "{\"addon\":\"history_days\",\"value\":90,\"at\":\"2026-10-20\"}",
                     "/operator/v1/apps/%u/addons", ax);
  assert_string_equal(jstr(no, "error.code"), "BILL_MONTH_ISSUED");
  json_decref(no);
  no = callf(409, "POST", "{\"edition\":\"ultimate\",\"at\":\"2026-10-31\"}", "/operator/v1/apps/%u/upgrade", ax);
  assert_string_equal(jstr(no, "error.code"), "BILL_MONTH_ISSUED");
  json_decref(no);
  json_decref(callf(201, "POST", "{\"addon\":\"history_days\",\"value\":90,\"at\":\"2026-11-01\"}",
                    "/operator/v1/apps/%u/addons", ax));
  /* a second pass of the same instant bills nothing twice */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill run --month 2026-10 --json"), 0);
  assert_non_null(strstr(out, "\"issued\":0"));
  /* 7 days after issue, unpaid: both customers' apps suspended for arrears (60016) */
  ran = clock_to("2026-11-07T23:59:59+08:00");
  json_decref(ran);
  char by[16];
  assert_string_equal(app_status(ax, by, sizeof by), "active");
  ran = clock_to("2026-11-08T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "arrears_suspended") + ran_sum(ran, "arrears", "suspended"), 2);
  json_decref(ran);
  for (int i = 0; i < 2; i++) {
    assert_string_equal(app_status(apps[i], by, sizeof by), "suspended");
    assert_string_equal(by, "arrears");
  }
  assert_int_equal(v4_code(ax, kx, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 60016);
  json_t *l = callf(200, "GET", NULL, "/operator/v1/customers/%lld/bills", (long long)cx);
  assert_string_equal(jstr(json_array_get(json_object_get(l, "bills"), 0), "status"), "overdue");
  json_decref(l);
  /* a top-up too small for the bill pays nothing and resumes nothing */
  json_t *o = callf(201, "POST", "{\"amount_fen\":100,\"reference\":\"small\"}", "/operator/v1/customers/%lld/wallet/topups", (long long)cy);
  assert_int_equal(jint(o, "bills_paid"), 0);
  assert_int_equal(jint(o, "apps_resumed"), 0);
  json_decref(o);
  assert_string_equal(app_status(ay, by, sizeof by), "suspended");
  /* nor does the operator's resume (it answered 200 and the app served until the next day change) */
  o = callf(409, "POST", "{}", "/operator/v1/apps/%u/resume", ay);
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "APP_IN_ARREARS");
  json_decref(o);
  assert_string_equal(app_status(ay, by, sizeof by), "suspended");
  assert_string_equal(by, "arrears");
  /* the operator API top-up that covers the bill: paid and resumed before the reply */
  o = callf(201, "POST", "{\"amount_fen\":400000,\"reference\":\"bank-y\"}", "/operator/v1/customers/%lld/wallet/topups", (long long)cy);
  assert_int_equal(jint(o, "bills_paid"), 1);
  assert_int_equal(jint(o, "apps_resumed"), 1);
  assert_int_equal(jint(o, "wallet_balance_fen"), 100);
  json_decref(o);
  assert_string_equal(app_status(ay, by, sizeof by), "active");
  assert_int_equal(v4_code(ay, ky, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  /* the CLI top-up: the server learns it from the change log, pays and resumes */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer %lld --amount-fen 400000 --reference bank-x", (long long)cx), 0);
  int resumed = 0;
  for (int i = 0; i < 200 && !resumed; i++) {
    resumed = !strcmp(app_status(ax, by, sizeof by), "active");
    if (!resumed) usleep(50 * 1000);
  }
  assert_true(resumed);
  for (int i = 0; i < 100 && v4_code(ax, kx, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"); i++)
    usleep(50 * 1000);
  assert_int_equal(v4_code(ax, kx, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  l = callf(200, "GET", NULL, "/operator/v1/customers/%lld/bills", (long long)cx);
  assert_string_equal(jstr(json_array_get(json_object_get(l, "bills"), 0), "status"), "paid");
  json_decref(l);
  o = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cx);
  assert_int_equal(jint(o, "balance_fen"), 0);
  json_decref(o);
}

/* ---- a renewal does not resume past an overdue bill -------------------------------------- */
/* October's pro package lapses on 8 November, the day October's unpaid
 * overage bill becomes overdue. A renewal paid from a later top-up (too
 * small for the bill) records the period but leaves the app suspended, now
 * for arrears (it resumed the app until the next day change). */
static void test_renewal_in_arrears(void **st)
{
  (void)st;
  int64_t cust = new_customer("ra", 99900);
  char key[80], path[400], out[4096];
  uint32_t app = new_app(cust, key);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  snprintf(path, sizeof path, "%s/oct-ra.json", srv.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 50000}]}", f);
  fclose(f);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 0);
  json_decref(clock_to("2026-11-08T00:00:00+08:00"));
  char by[16];
  assert_string_equal(app_status(app, by, sizeof by), "suspended");
  json_t *o = callf(201, "POST", "{\"amount_fen\":100000,\"reference\":\"part\"}", "/operator/v1/customers/%lld/wallet/topups",
                    (long long)cust);
  assert_int_equal(jint(o, "bills_paid"), 0);
  json_decref(o);
  o = callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app);
  assert_string_equal(jstr(json_object_get(o, "state"), "state"), "active");
  assert_string_equal(jstr(json_object_get(o, "state"), "status"), "suspended");
  assert_string_equal(jstr(json_object_get(o, "state"), "suspended_by"), "arrears");
  json_decref(o);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 60016);
  /* with the server stopped, the CLI: a top-up, then bill settle pays the bill and ends the arrears (it paid and
   * left the app suspended, and app resume was refused for arrears already paid) */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer %lld --amount-fen 500000 --reference cli-pay", (long long)cust), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill settle --customer %lld --json", (long long)cust), 0);
  assert_non_null(strstr(out, "\"paid\":1"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app state --sdkappid %u --json", app), 0);
  assert_non_null(strstr(out, "\"status\":\"active\""));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app resume --sdkappid %u", app), 0);
  static const char *const again[] = { "--test-clock", "--test-clock-start", "2026-11-08", NULL };
  assert_int_equal(e2e_server_start(&srv, again), 0); /* the teardown stops it */
}

/* ---- the CLI on a data directory whose server runs on the test clock ------------------- */
/* The bill's status as `imcloud bill` prints it: "open", "overdue" or "paid"; the CLI's stderr in err. */
static const char *cli_bill_status(uint32_t app, char *buf, size_t cap, char err[1024])
{
  static char out[1 << 15];
  assert_int_equal(e2e_cli_run(srv.dir, "", out, sizeof out, err, 1024, "bill --sdkappid %u --month 2026-10 --json --data '%s'",
                               app, srv.dir), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  snprintf(buf, cap, "%s", jstr(o, "status"));
  json_decref(o);
  return buf;
}

/* DIR/test-clock holds the server's clock (written at its start and at every move, removed by a start without
 * --test-clock), and the CLI dates by it: October's bill, issued on 1 November, is open for the CLI too until
 * the 8th. Before, the CLI judged it by the real clock (overdue since 8 November 2026) while the server said
 * open. */
static void test_cli_on_server_clock(void **st)
{
  (void)st;
  int64_t cz;
  char kz[80], by[16], err[1024], path[400];
  uint32_t az = pro_app("z", &cz, kz);
  json_decref(clock_to("2026-11-02T12:00:00+08:00"));
  json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", az);
  assert_string_equal(jstr(json_array_get(json_object_get(l, "bills"), 0), "status"), "open");
  json_decref(l);
  assert_string_equal(cli_bill_status(az, by, sizeof by, err), "open");
  assert_non_null(strstr(err, "is on its server's test clock"));
  snprintf(path, sizeof path, "%s/test-clock", srv.dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  long long ms = 0;
  assert_int_equal(fscanf(f, "%lld", &ms), 1);
  fclose(f);
  assert_int_equal(ms, 1793592000000LL); /* 2026-11-02T12:00:00+08:00 */
  json_decref(clock_to("2026-11-08T00:00:00+08:00"));
  assert_string_equal(cli_bill_status(az, by, sizeof by, err), "overdue");
  /* a CLI top-up is dated on the server's clock: its ledger entry says so */
  static char out[1 << 15];
  assert_int_equal(e2e_cli_run(srv.dir, "", out, sizeof out, err, 1024, "wallet topup --customer %lld --amount-fen 1 --reference z1 --data '%s'",
                               (long long)cz, srv.dir), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet show --customer %lld --json", (long long)cz), 0);
  json_t *w = json_loads(out, 0, NULL);
  assert_non_null(w);
  json_t *ents = json_object_get(w, "entries"), *last = NULL;
  for (size_t i = 0; i < json_array_size(ents); i++)
    if (!strcmp(jstr(json_array_get(ents, i), "reference"), "z1")) last = json_array_get(ents, i);
  assert_non_null(last);
  assert_int_equal(jint(last, "at"), 1794067200); /* 2026-11-08T00:00:00+08:00 */
  json_decref(w);
  /* a start without --test-clock removes the file: the CLI is back on the real clock, and says nothing */
  assert_int_equal(e2e_server_stop(&srv), 0);
  static const char *const real[] = { NULL };
  assert_int_equal(e2e_server_start(&srv, real), 0); /* the teardown stops it */
  struct stat sb;
  assert_int_equal(stat(path, &sb), -1);
  assert_string_equal(cli_bill_status(az, by, sizeof by, err), "overdue");
  assert_null(strstr(err, "test clock"));
}

/* ---- the server's operator price books (serve --pricebooks-dir) ----------------------- */
/* An intl Standard app is billed by the server's bill run with the
 * operator's prices (no seed gives them; without a book of the operator's
 * the run refuses the app). The setting was documented and could not be
 * given to the server. */
static int setup_books(void **st)
{
  (void)st;
  if (prepare()) return -1;
  FILE *in = fopen("data/pricebooks/intl.json", "rb");
  json_t *book = in ? json_loadf(in, 0, NULL) : NULL;
  if (in) fclose(in);
  if (!book) return -1;
  json_t *ed;
  size_t i;
  json_array_foreach(json_object_get(book, "editions"), i, ed) {
    json_t *pk = json_object_get(ed, "package");
    if (!json_is_object(pk)) continue;
    json_object_del(pk, "operator_config");
    if (!strcmp(json_string_value(json_object_get(ed, "code")), "standard")) json_object_set_new(pk, "fen", json_integer(150000));
  }
  json_array_foreach(json_object_get(book, "items"), i, ed) {
    json_object_del(ed, "operator_config");
    if (!strcmp(json_string_value(json_object_get(ed, "code")), "mau_overage")) json_object_set_new(ed, "block_fen", json_integer(80000));
  }
  json_object_set_new(book, "operator_config", json_false());
  static char books[400];
  char path[480];
  snprintf(books, sizeof books, "%s/books", srv.dir);
  if (mkdir(books, 0700)) { json_decref(book); return -1; }
  snprintf(path, sizeof path, "%s/intl.json", books);
  int rc = json_dump_file(book, path, 0);
  json_decref(book);
  static const char *args[] = { "--test-clock", "--test-clock-start", "2026-10-01", "--pricebooks-dir", books, NULL };
  return rc || e2e_server_start(&srv, args) ? -1 : 0;
}

static void test_operator_books(void **st)
{
  (void)st;
  int64_t cust = new_customer("ob", 100000000);
  char body[200];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"sg\",\"region\":\"singapore\"}", (long long)cust);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t sg = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  json_decref(callf(201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", sg));
  json_t *ran = clock_to("2026-11-01T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "bill_run", "failed"), 0);
  json_decref(ran);
  json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", sg);
  assert_int_equal(json_array_size(json_object_get(l, "bills")), 1);
  assert_int_equal(jint(json_array_get(json_object_get(l, "bills"), 0), "total_fen"), 150000);
  json_decref(l);
}

/* ---- a region zone west of the server's (M-1) ------------------------------------ */
static int setup_zone(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2027-04-29", NULL };
  if (prepare()) return -1;
  store_t *s;
  if (store_open(srv.dir, &s)) return -1;
  int rc = store_meta_set(s, "billing_tz:germany", "3600"); /* UTC+1, set before the server starts */
  store_close(s);
  return rc || e2e_server_start(&srv, args) ? -1 : 0;
}

/* A legacy app (created 2019) of region germany, made while the server runs. */
static uint32_t zone_app(const char *region, char key[80])
{
  char body[200];
  int64_t cust = new_customer(region, 0);
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"z\",\"region\":\"%s\",\"created_at\":\"2019-01-01\"}",
           (long long)cust, region);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  snprintf(key, 80, "%s", jstr(a, "key"));
  json_decref(a);
  return id;
}

static void zone_login(uint32_t app, const char *key, const char *user)
{
  char sig[1024], msg[2048], out[2048] = "";
  e2e_usersig(app, key, user, 100000000, sig, sizeof sig); /* signed at the wall clock, valid at the test clock's */
  snprintf(msg, sizeof msg, "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\","
           "\"platform\":\"Web\",\"device_id\":\"d-%s\"}", app, user, sig, user);
  for (int i = 0; i < 100; i++, usleep(50 * 1000)) { /* until the server knows the app */
    int fd = e2e_ws_connect(srv.port, "/ws");
    assert_true(fd >= 0);
    int ok = !e2e_ws_send_text(fd, msg) && e2e_ws_recv_text(fd, out, sizeof out, 5000) >= 0 && strstr(out, "\"code\":0");
    close(fd);
    if (ok) return;
  }
  fail_msg("%s could not log in to %u: %s", user, app, out);
}

/* The total of app's April 2027 bill; -1: none issued. */
static int64_t april_bill(uint32_t app)
{
  json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", app), *b;
  size_t i;
  int64_t total = -1;
  json_array_foreach(json_object_get(l, "bills"), i, b) if (!strcmp(jstr(b, "bill_month"), "2027-04")) total = jint(b, "total_fen");
  json_decref(l);
  return total;
}

/* An app of a region whose billing zone is west of the server's, created
 * while the server runs: its logins are dated in its own zone (they were
 * dated in the server's until a restart), and the bill run at 00:00 on the
 * 1st in the server's zone bills the other apps at once and this one when
 * its own month ends (it failed the whole run, retried each minute for 7
 * hours), with the logins of its last hours in April. */
static void test_region_zone(void **st)
{
  (void)st;
  char kg[80], kc[80];
  uint32_t g = zone_app("germany", kg), c = zone_app("china", kc);
  json_decref(clock_to("2027-04-30T06:30:00+08:00")); /* 2027-04-29 23:30 in UTC+1 */
  zone_login(g, kg, "g1");
  zone_login(c, kc, "c1");
  json_t *u = callf(200, "GET", NULL, "/operator/v1/apps/%u/usage?month=2027-04", g);
  assert_int_equal(jint(u, "tz_offset_s"), 3600);
  assert_int_equal(jint(u, "peak_dau"), 1);
  assert_string_equal(jstr(u, "peak_dau_date"), "2027-04-29");
  json_decref(u);
  json_t *ran = clock_to("2027-05-01T00:00:00+08:00"); /* 2027-04-30 17:00 in UTC+1 */
  assert_int_equal(ran_sum(ran, "bill_run", "failed"), 0);
  assert_true(ran_sum(ran, "bill_run", "issued") >= 1); /* the china app, at once */
  assert_int_equal(ran_sum(ran, "bill_run", "later"), 1);  /* the germany app: its April goes on */
  json_decref(ran);
  assert_int_equal(april_bill(c), 100000); /* P-03 */
  assert_int_equal(april_bill(g), -1);
  zone_login(g, kg, "g2"); /* 30 April in its zone */
  ran = clock_to("2027-05-01T07:00:00+08:00"); /* 00:00 on 1 May in UTC+1 */
  assert_int_equal(ran_sum(ran, "bill_run", "issued"), 1);
  assert_int_equal(ran_sum(ran, "bill_run", "later"), 0);
  json_decref(ran);
  u = callf(200, "GET", NULL, "/operator/v1/apps/%u/usage?month=2027-04", g);
  assert_int_equal(jint(u, "mau"), 2);
  json_decref(u);
  assert_int_equal(april_bill(g), 100000); /* P-03: peak DAU 1, one started block of 10,000 DAU, 1,000 yuan */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_bill_run_and_arrears, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_renewal_in_arrears, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_cli_on_server_clock, setup_billing, stop),
    cmocka_unit_test_setup_teardown(test_operator_books, setup_books, stop),
    cmocka_unit_test_setup_teardown(test_region_zone, setup_zone, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
