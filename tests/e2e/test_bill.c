/* End-to-end: `imcloud bill` with a server running on the same data
 * directory. A legacy app's October usage imported (the P-06 worked example:
 * peak DAU 22,000, peak groups 202,000) → a preview marked as such → `bill
 * run` issues IMC-2026-10-000001, equal to `imcloud quote` for the same usage
 * to the fen (5,000 元) → a second run changes nothing → open, then paid by
 * `bill settle` after a wallet top-up; --csv; bad arguments. */
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
#include "e2e_damage.h"

static e2e_server_t srv;

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, NULL, NULL, NULL, NULL)) return -1;
  /* the server's start-up jobs (bill run of last month, day change) run on
   * its first tick; wait for them so the apps below are billed only by the
   * runs this test makes */
  for (int i = 0; i < 200; i++) {
    char *log = e2e_server_log(&srv);
    int ran = log && strstr(log, "job=day");
    free(log);
    if (ran) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *cli_json(const char *fmt, const char *arg1)
{
  static char out[1 << 16];
  char cmd[512];
  snprintf(cmd, sizeof cmd, fmt, arg1);
  if (e2e_cli(&srv, out, sizeof out, "%s", cmd) != 0) fail_msg("imcloud %s failed", cmd);
  json_t *o = json_loads(out, 0, NULL);
  if (!o) fail_msg("imcloud %s: not JSON: %s", cmd, out);
  return o;
}

static void test_p06_bill_equals_quote(void **st)
{
  (void)st;
  json_t *c = cli_json("customer create --name legacy-co --json%s", "");
  char cust[32], app[32];
  snprintf(cust, sizeof cust, "%lld", (long long)json_integer_value(json_object_get(c, "id")));
  json_decref(c);
  char args[128];
  snprintf(args, sizeof args, "app create --customer %s --name old --region china --created-at 2019-03-01 --json", cust);
  json_t *a = cli_json("%s", args);
  assert_string_equal(json_string_value(json_object_get(a, "scheme")), "legacy");
  snprintf(app, sizeof app, "%lld", (long long)json_integer_value(json_object_get(a, "sdkappid")));
  json_decref(a);
  char path[400], out[8192];
  snprintf(path, sizeof path, "%s/oct.json", srv.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 21000, \"groups\": 150000},"
        " {\"date\": \"2026-10-20\", \"dau\": 22000, \"groups\": 202000}]}", f);
  fclose(f);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %s '%s'", app, path), 0);
  /* before the run: a preview, marked as such */
  snprintf(args, sizeof args, "bill --sdkappid %s --month 2026-10 --json", app);
  json_t *p = cli_json("%s", args);
  assert_true(json_is_true(json_object_get(p, "preview")));
  assert_true(json_is_null(json_object_get(p, "number")));
  assert_int_equal(json_integer_value(json_object_get(p, "total_fen")), 500000);
  json_decref(p);
  /* the bill run (the CLI's; the server's timer calls the same function) */
  json_t *r = cli_json("bill run --month 2026-10 --json%s", "");
  assert_int_equal(json_integer_value(json_object_get(r, "issued")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "failed")), 0);
  json_decref(r);
  json_t *b = cli_json("%s", args);
  assert_string_equal(json_string_value(json_object_get(b, "number")), "IMC-2026-10-000001");
  assert_string_equal(json_string_value(json_object_get(b, "status")), "open");
  assert_null(json_object_get(b, "preview"));
  /* P-06: the same usage through quote gives the same money, to the fen */
  json_t *q = cli_json("quote --scheme legacy --edition legacy --bill-month 2026-10 --peak-dau 22000 --peak-groups 202000 --json%s", "");
  assert_int_equal(json_integer_value(json_object_get(q, "total_fen")), 500000);
  assert_int_equal(json_integer_value(json_object_get(b, "total_fen")), json_integer_value(json_object_get(q, "total_fen")));
  assert_true(json_equal(json_object_get(b, "lines"), json_object_get(q, "lines")));
  json_decref(q);
  /* a second run issues nothing; the stored bill is unchanged */
  r = cli_json("bill run --month 2026-10 --json%s", "");
  assert_int_equal(json_integer_value(json_object_get(r, "issued")), 0);
  assert_int_equal(json_integer_value(json_object_get(r, "existing")), 1);
  json_decref(r);
  json_t *b2 = cli_json("%s", args);
  assert_true(json_equal(b, b2));
  json_decref(b2);
  json_decref(b);
  /* a top-up that covers the bill, then settle: paid (a payment entry in the ledger) */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer %s --amount-fen 600000 --reference bank-1", cust), 0);
  /* the running server learns of the top-up from the change log and pays the
   * bill itself; `bill settle` pays it when the server has not yet: paid once */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill settle --customer %s --json", cust), 0);
  assert_true(strstr(out, "\"paid\":1") || strstr(out, "\"paid\":0"));
  b = cli_json("%s", args);
  assert_string_equal(json_string_value(json_object_get(b, "status")), "paid");
  json_decref(b);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet show --customer %s --json", cust), 0);
  assert_non_null(strstr(out, "\"reference\":\"bill-IMC-2026-10-000001\""));
  assert_non_null(strstr(out, "\"balance_fen\":100000"));
  /* CSV of the lines; the text form names the number */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %s --month 2026-10 --csv", app), 0);
  assert_int_equal(strncmp(out, "number,sdkappid,bill_month,status,code,kind,quantity,unit,unit_price_fen,per,amount_fen,rule\n", 91), 0);
  assert_non_null(strstr(out, "IMC-2026-10-000001,"));
  assert_non_null(strstr(out, ",\"10,000 DAU\","));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid %s --month 2026-10", app), 0);
  assert_non_null(strstr(out, "IMC-2026-10-000001"));
  assert_non_null(strstr(out, "total 5,000.00"));
}

/* A new operator token's Authorization header into hdr, once the running
 * server knows it (it learns a rotated token from the change log within one
 * change_poll_ms: 10 s allowed). */
static void operator_auth(char *hdr, size_t cap)
{
  char out[512];
  static char body[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "operator token --json"), 0);
  json_t *t = json_loads(out, 0, NULL);
  assert_non_null(t);
  snprintf(hdr, cap, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  for (int i = 0; i < 200 && e2e_http(srv.port, "GET", "/operator/v1/customers", hdr, NULL, body, sizeof body) == 401; i++)
    usleep(50 * 1000);
}

/* The operator API lists the same stored bills. */
static void test_operator_bills(void **st)
{
  (void)st;
  char hdr[160], target[128];
  static char body[1 << 16];
  operator_auth(hdr, sizeof hdr);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers/1/bills", hdr, NULL, body, sizeof body), 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  json_t *b = json_array_get(json_object_get(o, "bills"), 0);
  assert_string_equal(json_string_value(json_object_get(b, "number")), "IMC-2026-10-000001");
  assert_string_equal(json_string_value(json_object_get(b, "status")), "paid");
  char app[24];
  snprintf(app, sizeof app, "%lld", (long long)json_integer_value(json_object_get(b, "sdkappid")));
  snprintf(target, sizeof target, "/operator/v1/apps/%s/bills", app);
  json_t *cli = cli_json("bill --sdkappid %s --month 2026-10 --json", app);
  assert_true(json_equal(b, cli));
  json_decref(cli);
  json_decref(o);
  assert_int_equal(e2e_http(srv.port, "GET", target, hdr, NULL, body, sizeof body), 200);
  o = json_loads(body, 0, NULL);
  assert_int_equal(json_array_size(json_object_get(o, "bills")), 1);
  json_decref(o);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/apps/7/bills", hdr, NULL, body, sizeof body), 404);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers/99/bills", hdr, NULL, body, sizeof body), 404);
}

/* A stored bill whose body does not parse (disk damage, a manual edit) is
 * listed from its columns, marked "damaged", not refused for ever (§91): the
 * body is torn in the stopped server's database (past the immutability
 * trigger, as damage would be), and the operator API and the CLI still show
 * the bill's number, status and amounts. */
static void test_damaged_bill_listed(void **st)
{
  (void)st;
  char hdr[160];
  static char body[1 << 16];
  operator_auth(hdr, sizeof hdr);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers/1/bills", hdr, NULL, body, sizeof body), 200);
  json_t *before = json_loads(body, 0, NULL);
  json_t *b0 = json_array_get(json_object_get(before, "bills"), 0);
  assert_non_null(b0);
  e2e_damage_bill_restart(&srv, "IMC-2026-10-000001", NULL);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers/1/bills", hdr, NULL, body, sizeof body), 200);
  json_t *after = json_loads(body, 0, NULL);
  json_t *b = json_array_get(json_object_get(after, "bills"), 0);
  assert_non_null(b);
  assert_true(json_is_true(json_object_get(b, "damaged")));
  assert_null(json_object_get(b0, "damaged"));
  static const char *const same[] = { "number", "seq", "sdkappid", "status", "issued_at", "due_at",
                                      "total_fen", "prepaid_fen", "postpaid_fen" };
  for (size_t i = 0; i < sizeof same / sizeof *same; i++)
    if (!json_equal(json_object_get(b, same[i]), json_object_get(b0, same[i])))
      fail_msg("%s differs: %s", same[i], body);
  assert_null(json_object_get(b, "lines"));
  assert_string_equal(json_string_value(json_object_get(b, "month")), "2026-10"); /* from the column (§91's name) */
  assert_string_equal(json_string_value(json_object_get(b, "bill_month")), "2026-10"); /* a whole document's name (§109) */
  char app[24], want[256];
  snprintf(app, sizeof app, "%lld", (long long)json_integer_value(json_object_get(b, "sdkappid")));
  json_t *cli = cli_json("bill --sdkappid %s --month 2026-10 --json", app);
  assert_true(json_is_true(json_object_get(cli, "damaged")));
  assert_string_equal(json_string_value(json_object_get(cli, "bill_month")), "2026-10");
  json_decref(cli);
  /* CSV: the header, then one row marked damaged in kind with the stored total (§109) */
  assert_int_equal(e2e_cli(&srv, body, sizeof body, "bill --sdkappid %s --month 2026-10 --csv", app), 0);
  snprintf(want, sizeof want,
           "number,sdkappid,bill_month,status,code,kind,quantity,unit,unit_price_fen,per,amount_fen,rule\n"
           "IMC-2026-10-000001,%s,2026-10,%s,,damaged,,,,,%lld,\n",
           app, json_string_value(json_object_get(b, "status")), (long long)json_integer_value(json_object_get(b, "total_fen")));
  assert_string_equal(body, want);
  json_decref(after);
  json_decref(before);
}

static void test_bill_errors(void **st)
{
  (void)st;
  char out[1024];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --month 2026-10"), 2);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid 1400000001 --month 2026-1"), 1); /* a bad value */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid 7 --month 2026-10"), 1);
  assert_string_equal(out, "");
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill run --month 2099-01"), 1); /* not ended */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill settle"), 2);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill frob"), 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_p06_bill_equals_quote),
    cmocka_unit_test(test_operator_bills),
    cmocka_unit_test(test_bill_errors),
    cmocka_unit_test(test_damaged_bill_listed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
