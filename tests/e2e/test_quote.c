/* End-to-end: the `imcloud quote` command line as scripts use it — exit
 * status, one JSON object on stdout, one line on stderr and nothing on stdout
 * for bad input, --compare, --usage files, and --pricebooks (the operator's
 * own copy of a book, P-59). Runs the real binary. */
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
#include "e2e_cli.h"

static e2e_server_t box; /* only its data directory: no server needed */

/* Run `imcloud quote ARGS`; capture stdout and stderr; return the exit status. */
static int quote(const char *args, char *out, size_t outcap, char *err, size_t errcap)
{
  return e2e_cli_run(box.dir, "", out, outcap, err, errcap, "quote %s", args);
}

static json_t *quote_json(const char *args)
{
  static char out[1 << 16], err[1024];
  char full[1024];
  snprintf(full, sizeof full, "%s --json", args);
  int rc = quote(full, out, sizeof out, err, sizeof err);
  if (rc) fail_msg("quote %s: exit %d: %s", args, rc, err);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  if (!j) fail_msg("quote %s: not JSON: %s", args, je.text);
  return j;
}

static int64_t jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void test_seed_example_json(void **st)
{
  (void)st;
  json_t *j = quote_json("--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 22000 --peak-groups 202000");
  assert_int_equal(jint(j, "total_fen"), 500000); /* P-06: 5,000 元 */
  assert_int_equal(jint(j, "prepaid_fen"), 0);
  assert_int_equal(jint(j, "postpaid_fen"), 500000);
  json_t *lines = json_object_get(j, "lines");
  assert_int_equal(json_array_size(lines), 2);
  int64_t sum = 0;
  for (size_t i = 0; i < json_array_size(lines); i++) {
    json_t *l = json_array_get(lines, i);
    sum += jint(l, "amount_fen");
    assert_true(json_is_string(json_object_get(l, "rule")));
    assert_true(json_is_string(json_object_get(l, "name_zh")));
  }
  assert_int_equal(sum, 500000);
  json_decref(j);
}

static void test_text_and_compare(void **st)
{
  (void)st;
  static char out[1 << 16], err[1024];
  assert_int_equal(quote("--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau 22000", out, sizeof out, err, sizeof err), 0);
  assert_non_null(strstr(out, "峰值 DAU"));
  assert_non_null(strstr(out, "Peak DAU overage"));
  assert_non_null(strstr(out, "2,999.00"));
  assert_int_equal(quote("--scheme s2022 --compare --bill-month 2026-10 --peak-dau 22000", out, sizeof out, err, sizeof err), 0);
  assert_non_null(strstr(out, "cheapest"));
  json_t *j = quote_json("--scheme s2022 --compare --bill-month 2026-10 --peak-dau 22000");
  assert_string_equal(json_string_value(json_object_get(j, "cheapest")), "pro");
  json_t *trial = json_array_get(json_object_get(j, "editions"), 0);
  assert_true(json_is_true(json_object_get(trial, "breaks_limits")));
  json_decref(j);
  /* issue 16: ultimate includes 200 members, unlimited AVChatRooms and 1,000 groups per user:
   * 2,999 元 beats pro's 999 + 1,000 + 1,100 = 3,099 元 */
  j = quote_json("--scheme s2022 --compare --bill-month 2026-10 --addon member_cap=200 --addon avchatroom_unlimited "
                 "--addon groups_per_user=1000");
  assert_string_equal(json_string_value(json_object_get(j, "cheapest")), "ultimate");
  json_decref(j);
}

static void test_bad_input(void **st)
{
  (void)st;
  static const char *const bad[] = {
    "--scheme s2077 --edition pro --bill-month 2026-10",
    "--scheme s2022 --edition gold --bill-month 2026-10",
    "--scheme s2022 --edition pro --bill-month 2026-13",
    "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau -1",
    "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau lots",
    "--scheme s2022 --edition trial --bill-month 2026-10 --addon member_cap=2000",
    "--scheme s2022 --edition pro --bill-month 2026-10 --addon teleport",
    "--scheme s2022 --edition pro --bill-month 2026-10 --json --usage /nonexistent/usage.json",
    "--scheme s2022 --bill-month 2026-10",
    "--scheme s2022 --edition pro --bill-month 2026-10 --mau 5000",          /* issue 16: s2022 bills peak DAU */
    "--scheme intl --edition standard --bill-month 2026-10 --peak-dau 5000", /* intl bills MAU */
    "--scheme s2019 --edition trial --bill-month 2026-10 --c2c-roaming-months 1",
    "--scheme legacy --edition legacy --bill-month 2026-10 --addon local_audit",
  };
  static char out[4096], err[4096];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = quote(bad[i], out, sizeof out, err, sizeof err);
    if (rc == 0) fail_msg("accepted: %s", bad[i]);
    assert_string_equal(out, "");                 /* no bill */
    assert_non_null(strstr(err, "imcloud quote: "));
    char *nl = strchr(err, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], 0);                   /* exactly one line */
  }
}

static void test_usage_file_and_pricebooks(void **st)
{
  (void)st;
  char path[320], cmd[1024];
  snprintf(path, sizeof path, "%s/usage.json", box.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"days\":[{\"date\":\"2026-10-01\",\"dau\":5000},{\"date\":\"2026-10-02\",\"dau\":22000}],\"peak_groups\":150000}", f);
  fclose(f);
  char args[512];
  snprintf(args, sizeof args, "--scheme s2022 --edition pro --bill-month 2026-10 --usage %s", path);
  json_t *j = quote_json(args);
  assert_int_equal(jint(j, "total_fen"), 99900 + 200000 + 100000);
  json_decref(j);
  /* the operator's own intl book: Standard at 1,234.56 元 (P-59 configuration) */
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/books' && sed 's/\"fen\": 99900, \"kind\": \"postpaid\"/\"fen\": 123456, \"kind\": \"postpaid\"/' "
           "data/pricebooks/intl.json > '%s/books/intl.json'", box.dir, box.dir);
  assert_int_equal(system(cmd), 0);
  snprintf(args, sizeof args, "--scheme intl --edition standard --bill-month 2026-10 --pricebooks %s/books", box.dir);
  j = quote_json(args);
  assert_int_equal(jint(j, "total_fen"), 123456);
  json_decref(j);
}

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&box);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  e2e_dir_remove(&box);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seed_example_json), cmocka_unit_test(test_text_and_compare),
    cmocka_unit_test(test_bad_input), cmocka_unit_test(test_usage_file_and_pricebooks),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
