/* Unit tests for src/util: error table, strict numbers, calendar, config
 * table, u64map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"
#include "util/u64map.h"

static void test_err_table(void **st)
{
  (void)st;
  assert_int_equal(imc_err_compat(0), 0);
  assert_string_equal(imc_strerror(0), "ok");
  assert_int_equal(imc_err_compat(IMC_E_SIG_EXPIRED), 70001);
  assert_int_equal(imc_err_compat(IMC_E_SIG_MISMATCH), 70009);
  assert_int_equal(imc_err_compat(IMC_E_SIG_IDENTIFIER), 70013);
  assert_int_equal(imc_err_compat(IMC_E_SIG_SDKAPPID), 70014);
  assert_int_equal(imc_err_compat(IMC_E_APP_RATE), 60011);
  assert_int_equal(imc_err_compat(IMC_E_JSON_PARSE), 60003);
  assert_string_equal(imc_err_name(IMC_E_NOT_ADMIN), "NOT_ADMIN");
  assert_int_equal(imc_err_compat(-1), 70500);
  assert_int_equal(imc_err_compat(12345), 70500);
  assert_string_equal(imc_strerror(-999999), "unknown error");
  /* every row has a message and the enum stays below zero */
  for (int e = IMC__ERR_BASE + 1; e < IMC__ERR_END; e++) {
    assert_true(e < 0);
    assert_true(strlen(imc_strerror(e)) > 0);
    assert_string_not_equal(imc_err_name(e), "UNKNOWN");
  }
}

static void test_parse_i64(void **st)
{
  (void)st;
  int64_t v = 7;
  assert_int_equal(imc_parse_i64("42", 0, 100, &v), 0); assert_int_equal(v, 42);
  assert_int_equal(imc_parse_i64("-5", -10, 10, &v), 0); assert_int_equal(v, -5);
  assert_int_equal(imc_parse_i64("9223372036854775807", 0, INT64_MAX, &v), 0); assert_true(v == INT64_MAX);
  assert_int_equal(imc_parse_i64("-9223372036854775808", INT64_MIN, 0, &v), 0); assert_true(v == INT64_MIN);
  v = 7;
  assert_int_equal(imc_parse_i64("9223372036854775808", 0, INT64_MAX, &v), IMC_E_RANGE);
  assert_int_equal(imc_parse_i64("1e9x", 0, INT64_MAX, &v), IMC_E_INVAL); /* mosquitto's 1e9x */
  assert_int_equal(imc_parse_i64("", 0, 10, &v), IMC_E_INVAL);
  assert_int_equal(imc_parse_i64(" 1", 0, 10, &v), IMC_E_INVAL);
  assert_int_equal(imc_parse_i64("1 ", 0, 10, &v), IMC_E_INVAL);
  assert_int_equal(imc_parse_i64("+1", 0, 10, &v), IMC_E_INVAL);
  assert_int_equal(imc_parse_i64("-", 0, 10, &v), IMC_E_INVAL);
  assert_int_equal(imc_parse_i64("11", 0, 10, &v), IMC_E_RANGE);
  assert_int_equal(v, 7); /* untouched on error */
  assert_int_equal(imc_ceil_div(0, 10000), 0);
  assert_int_equal(imc_ceil_div(1, 10000), 1);
  assert_int_equal(imc_ceil_div(10000, 10000), 1);
  assert_int_equal(imc_ceil_div(10001, 10000), 2);
}

static void test_dates(void **st)
{
  (void)st;
  assert_int_equal(imc_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(imc_days_from_civil(2000, 3, 1), 11017);
  for (int64_t d = -800000; d < 800000; d += 97) {
    int y, m, dd;
    imc_civil_from_days(d, &y, &m, &dd);
    assert_int_equal(imc_days_from_civil(y, m, dd), d);
    /* imc_day_yyyymmdd keeps the last day it converted: asked again, then for the next day, then again */
    for (int k = 0; k < 3; k++) {
      int64_t e = d + (k == 1);
      imc_civil_from_days(e, &y, &m, &dd);
      assert_int_equal(imc_day_yyyymmdd(e), y * 10000 + m * 100 + dd);
    }
  }
  assert_int_equal(imc_days_in_month(2024, 2), 29);
  assert_int_equal(imc_days_in_month(2100, 2), 28);
  assert_int_equal(imc_days_in_month(2000, 2), 29);
  assert_int_equal(imc_days_in_month(2023, 13), 0);
  /* M-1: 2026-11-22 16:00:00 UTC is 2026-11-23 00:00 in UTC+8 */
  int64_t t = imc_day_start(imc_days_from_civil(2026, 11, 23), IMC_TZ_CHINA_S);
  assert_int_equal(imc_day_yyyymmdd(imc_day_of(t, IMC_TZ_CHINA_S)), 20261123);
  assert_int_equal(imc_day_yyyymmdd(imc_day_of(t - 1, IMC_TZ_CHINA_S)), 20261122);
  assert_int_equal(imc_day_yyyymmdd(imc_day_of(t - 1, 0)), 20261122);
  assert_int_equal(imc_day_of(-1, 0), -1);
  assert_int_equal(imc_yyyymmdd_day(20261123), imc_days_from_civil(2026, 11, 23));
  int y = 0, m = 0, d = 0;
  assert_int_equal(imc_date_parse("2019-12-26", &y, &m, &d), 0);
  assert_int_equal(y * 10000 + m * 100 + d, 20191226);
  assert_int_equal(imc_date_parse("2019-02-29", &y, &m, &d), IMC_E_INVAL);
  assert_int_equal(imc_date_parse("2020-02-29", &y, &m, &d), 0);
  assert_int_equal(imc_date_parse("2019-1-01", &y, &m, &d), IMC_E_INVAL);
  assert_int_equal(imc_date_parse("2019-01-01x", &y, &m, &d), IMC_E_INVAL);
  assert_int_equal(imc_month_parse("2026-13", &y, &m), IMC_E_INVAL);
  assert_int_equal(imc_month_parse("2026-00", &y, &m), IMC_E_INVAL);
  assert_int_equal(imc_month_parse("2022-06", &y, &m), 0);
  assert_int_equal(y * 100 + m, 202206);
}

struct conf { char *listen; int64_t rate; int flag; };
static int check_has_colon(const char *v, char *err, size_t cap)
{
  if (strchr(v, ':')) return 0;
  snprintf(err, cap, "\"%s\" is not HOST:PORT", v);
  return IMC_E_CONFIG;
}

static const cfg_def_t defs[] = {
  { "listen", CFG_STR, offsetof(struct conf, listen), "127.0.0.1:8080", 0, 0, "HOST:PORT", check_has_colon },
  { "rest_rate_limit", CFG_INT, offsetof(struct conf, rate), "200", 1, 1000000, "calls/s", NULL },
  { "test_clock", CFG_BOOL, offsetof(struct conf, flag), "false", 0, 0, "test clock", NULL },
  { 0 }
};

static void test_datetime(void **st)
{
  (void)st;
  int64_t t = 0;
  char buf[32];
  assert_int_equal(imc_datetime_parse("2026-11-01T00:00:00+08:00", &t), 0);
  assert_int_equal(t, 1793462400);
  assert_int_equal(imc_datetime_parse("2026-10-31T16:00:00Z", &t), 0);
  assert_int_equal(t, 1793462400);
  assert_int_equal(imc_datetime_parse("2026-10-31T10:30:00-05:30", &t), 0);
  assert_int_equal(t, 1793462400);
  imc_datetime_format(1793462400, 8 * 3600, buf, sizeof buf);
  assert_string_equal(buf, "2026-11-01T00:00:00+08:00");
  imc_datetime_format(1793462400, -(5 * 3600 + 1800), buf, sizeof buf);
  assert_string_equal(buf, "2026-10-31T10:30:00-05:30");
  imc_datetime_format(1793462399, 0, buf, sizeof buf);
  assert_string_equal(buf, "2026-10-31T15:59:59+00:00");
  static const char *const bad[] = { "2026-11-01", "2026-11-01T00:00:00", "2026-11-01 00:00:00Z", "2026-02-30T00:00:00Z",
                                     "2026-11-01T24:00:00Z", "2026-11-01T00:60:00Z", "2026-11-01T00:00:00+8:00",
                                     "2026-11-01T00:00:00.5Z", "2026-11-01T00:00:00+15:00", "", NULL };
  for (int i = 0; bad[i]; i++) assert_int_equal(imc_datetime_parse(bad[i], &t), IMC_E_INVAL);
  assert_int_equal(imc_datetime_parse(NULL, &t), IMC_E_INVAL);
}

static void test_config(void **st)
{
  (void)st;
  struct conf c = { 0 };
  char err[256];
  assert_int_equal(cfg_defaults(defs, &c), 0);
  assert_string_equal(c.listen, "127.0.0.1:8080");
  assert_int_equal(c.rate, 200);
  assert_int_equal(c.flag, 0);
  char path[] = "/tmp/imc-cfg-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\n\nlisten = 0.0.0.0:9000\nrest_rate_limit 50\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(cfg_load_file(defs, &c, path, err, sizeof err), 0);
  assert_string_equal(c.listen, "0.0.0.0:9000");
  assert_int_equal(c.rate, 50);
  setenv("IMCLOUD_REST_RATE_LIMIT", "60", 1);
  assert_int_equal(cfg_load_env(defs, &c, err, sizeof err), 0);
  assert_int_equal(c.rate, 60);
  setenv("IMCLOUD_REST_RATE_LIMIT", "1e9x", 1);
  assert_int_equal(cfg_load_env(defs, &c, err, sizeof err), IMC_E_INVAL);
  assert_int_equal(c.rate, 60);
  unsetenv("IMCLOUD_REST_RATE_LIMIT");
  char *argv[] = { "serve", "--rest-rate-limit=70", "--test-clock", "--data", "x", NULL };
  const char *extra[] = { "--data", NULL };
  assert_int_equal(cfg_load_args(defs, &c, 5, argv, extra, NULL, err, sizeof err), 0);
  assert_int_equal(c.rate, 70);
  assert_int_equal(c.flag, 1);
  char *bad[] = { "serve", "--nope", "1", NULL };
  assert_int_equal(cfg_load_args(defs, &c, 3, bad, NULL, NULL, err, sizeof err), IMC_E_USAGE);
  char *range[] = { "serve", "--rest-rate-limit", "0", NULL };
  assert_int_equal(cfg_load_args(defs, &c, 3, range, NULL, NULL, err, sizeof err), IMC_E_RANGE);
  FILE *f = fopen(path, "w");
  fputs("listen 1.2.3.4:5\nbogus 1\n", f);
  fclose(f);
  assert_int_equal(cfg_load_file(defs, &c, path, err, sizeof err), IMC_E_NOTFOUND);
  assert_non_null(strstr(err, ":2:"));
  /* a value the row's check refuses names the file and the line (it was reported at start, without either) */
  f = fopen(path, "w");
  fputs("# x\nrest_rate_limit 5\nlisten nowhere\n", f);
  fclose(f);
  assert_int_equal(cfg_load_file(defs, &c, path, err, sizeof err), IMC_E_CONFIG);
  char want[128];
  snprintf(want, sizeof want, "%s:3: listen: \"nowhere\" is not HOST:PORT", path);
  assert_string_equal(err, want);
  setenv("IMCLOUD_LISTEN", "nowhere", 1);
  assert_int_equal(cfg_load_env(defs, &c, err, sizeof err), IMC_E_CONFIG);
  assert_string_equal(err, "IMCLOUD_LISTEN: listen: \"nowhere\" is not HOST:PORT");
  unsetenv("IMCLOUD_LISTEN");
  /* a flag given twice is refused, not the last one taken */
  char *twice[] = { "serve", "--rest-rate-limit=7", "--rest-rate-limit", "8", NULL };
  assert_int_equal(cfg_load_args(defs, &c, 4, twice, NULL, NULL, err, sizeof err), IMC_E_USAGE);
  assert_string_equal(err, "--rest-rate-limit given twice");
  unlink(path);
  cfg_free(defs, &c);
  assert_null(c.listen);
}

static void test_u64map(void **st)
{
  (void)st;
  u64map_t m;
  u64map_init(&m);
  assert_null(u64map_get(&m, 5));
  assert_int_equal(u64map_put(&m, 0, &m), IMC_E_INVAL);
  enum { N = 20000 };
  for (uint64_t k = 1; k <= N; k++) assert_int_equal(u64map_put(&m, k * 7919, (void *)(uintptr_t)k), 0);
  assert_int_equal(m.len, N);
  for (uint64_t k = 1; k <= N; k++) assert_ptr_equal(u64map_get(&m, k * 7919), (void *)(uintptr_t)k);
  for (uint64_t k = 1; k <= N; k += 2) assert_ptr_equal(u64map_del(&m, k * 7919), (void *)(uintptr_t)k);
  assert_int_equal(m.len, N / 2);
  for (uint64_t k = 1; k <= N; k++)
    assert_ptr_equal(u64map_get(&m, k * 7919), k % 2 ? NULL : (void *)(uintptr_t)k);
  assert_null(u64map_del(&m, 3));
  u64map_free(&m);
}

static void test_fmt_group(void **st)
{
  (void)st;
  char b[32];
  assert_string_equal(imc_fmt_group(0, b, sizeof b), "0");
  assert_string_equal(imc_fmt_group(999, b, sizeof b), "999");
  assert_string_equal(imc_fmt_group(1000, b, sizeof b), "1,000");
  assert_string_equal(imc_fmt_group(-1234567, b, sizeof b), "-1,234,567");
  assert_string_equal(imc_fmt_group(INT64_MIN, b, sizeof b), "-9,223,372,036,854,775,808");
  assert_string_equal(imc_fmt_group(1234567, b, 4), "1,2"); /* truncated, NUL-terminated */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fmt_group),
    cmocka_unit_test(test_err_table), cmocka_unit_test(test_parse_i64), cmocka_unit_test(test_dates), cmocka_unit_test(test_datetime),
    cmocka_unit_test(test_config), cmocka_unit_test(test_u64map),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
