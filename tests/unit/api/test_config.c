/* Unit tests for the settings table of `imcloud serve` (api_cfg_defs,
 * src/api/config.c, read by util/config.c): every row is walked, so a new
 * setting is covered without a new test.
 *  - every row: a unique snake_case name, help text, a default the row
 *    itself accepts (cfg_defaults sets them all);
 *  - CFG_INT: min <= default <= max; min and max are accepted as a value
 *    and as a flag (--name-with-dashes=V); min-1 and max+1 are refused with
 *    IMC_E_RANGE and "name: \"V\" is not an integer in [min, max]" (util/config.h),
 *    leaving the setting as it was; trailing garbage and "" are IMC_E_INVAL;
 *  - CFG_BOOL: true/1/yes/on set 1, false/0/no/off set 0, another word is
 *    IMC_E_INVAL ("name: \"V\" is not a boolean (true/false)");
 *  - strings with a check (the log level's words, HOST:PORT, a URL path, a
 *    date, a directory): what the check accepts and refuses (IMC_E_CONFIG). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api.h"
#include "util/config.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static int64_t *int_field(api_cfg_t *c, const cfg_def_t *d) { return (int64_t *)(void *)((char *)c + d->offset); }
static int *bool_field(api_cfg_t *c, const cfg_def_t *d) { return (int *)(void *)((char *)c + d->offset); }
static char *str_field(api_cfg_t *c, const cfg_def_t *d) { return *(char **)(void *)((char *)c + d->offset); }

static void defaults(api_cfg_t *c)
{
  memset(c, 0, sizeof *c);
  assert_int_equal(cfg_defaults(api_cfg_defs, c), 0);
}

/* The flag of a row set to value through cfg_load_args: its return, err filled. */
static int by_flag(api_cfg_t *c, const cfg_def_t *d, const char *value, char *err, size_t cap)
{
  char flag[160];
  size_t o = (size_t)snprintf(flag, sizeof flag, "--");
  for (const char *s = d->name; *s; s++) flag[o++] = *s == '_' ? '-' : *s;
  snprintf(flag + o, sizeof flag - o, "=%s", value);
  char *argv[] = { "serve", flag, NULL };
  return cfg_load_args(api_cfg_defs, c, 2, argv, NULL, NULL, err, cap);
}

static void test_every_row(void **st)
{
  (void)st;
  api_cfg_t c;
  defaults(&c);
  int rows = 0;
  for (const cfg_def_t *d = api_cfg_defs; d->name; d++, rows++) {
    assert_true(d->name[0] >= 'a' && d->name[0] <= 'z');
    for (const char *s = d->name; *s; s++) assert_true((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_');
    for (const cfg_def_t *e = api_cfg_defs; e < d; e++)
      if (!strcmp(e->name, d->name)) fail_msg("setting %s declared twice", d->name);
    if (!d->help || !d->help[0]) fail_msg("setting %s has no help", d->name);
    assert_non_null(d->def);
    char err[512] = "";
    if (cfg_set(api_cfg_defs, &c, d->name, d->def, err, sizeof err)) fail_msg("default of %s refused: %s", d->name, err);
  }
  assert_true(rows > 50);
  cfg_free(api_cfg_defs, &c);
}

static void expect_refused(api_cfg_t *c, const cfg_def_t *d, int64_t v, int64_t kept)
{
  char val[32], err[512] = "", want[512];
  snprintf(val, sizeof val, "%lld", (long long)v);
  snprintf(want, sizeof want, "%s: \"%s\" is not an integer in [%lld, %lld]", d->name, val, (long long)d->min, (long long)d->max);
  assert_int_equal(cfg_set(api_cfg_defs, c, d->name, val, err, sizeof err), IMC_E_RANGE);
  assert_string_equal(err, want);
  assert_int_equal(*int_field(c, d), kept);
  err[0] = 0;
  assert_int_equal(by_flag(c, d, val, err, sizeof err), IMC_E_RANGE);
  assert_string_equal(err, want);
  assert_int_equal(*int_field(c, d), kept);
}

static void expect_accepted(api_cfg_t *c, const cfg_def_t *d, int64_t v)
{
  char val[32], err[512] = "";
  snprintf(val, sizeof val, "%lld", (long long)v);
  if (cfg_set(api_cfg_defs, c, d->name, val, err, sizeof err)) fail_msg("%s %s refused: %s", d->name, val, err);
  assert_int_equal(*int_field(c, d), v);
  *int_field(c, d) = v == d->min ? d->max : d->min;
  if (by_flag(c, d, val, err, sizeof err)) fail_msg("--%s=%s refused: %s", d->name, val, err);
  assert_int_equal(*int_field(c, d), v);
}

static void test_int_bounds(void **st)
{
  (void)st;
  api_cfg_t c;
  defaults(&c);
  int rows = 0;
  for (const cfg_def_t *d = api_cfg_defs; d->name; d++) {
    if (d->type != CFG_INT) continue;
    rows++;
    int64_t def;
    char err[512] = "";
    if (d->min > d->max) fail_msg("%s: min %lld > max %lld", d->name, (long long)d->min, (long long)d->max);
    assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, d->def, err, sizeof err), 0);
    def = *int_field(&c, d);
    if (def < d->min || def > d->max) fail_msg("%s: default %lld outside [%lld, %lld]", d->name, (long long)def, (long long)d->min, (long long)d->max);
    expect_accepted(&c, d, d->min);
    if (d->min > INT64_MIN) expect_refused(&c, d, d->min - 1, d->min);
    expect_accepted(&c, d, d->max);
    if (d->max < INT64_MAX) expect_refused(&c, d, d->max + 1, d->max);
    static const char *const garbage[] = { "", "1e9x", "12 ", " 12", "0x10", "+1", "-", "1.5" };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
      err[0] = 0;
      assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, garbage[i], err, sizeof err), IMC_E_INVAL);
      assert_non_null(strstr(err, "is not an integer in"));
      assert_int_equal(*int_field(&c, d), d->max);
    }
  }
  assert_true(rows > 40);
  cfg_free(api_cfg_defs, &c);
}

static void test_bool_words(void **st)
{
  (void)st;
  api_cfg_t c;
  defaults(&c);
  int rows = 0;
  static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };
  for (const cfg_def_t *d = api_cfg_defs; d->name; d++) {
    if (d->type != CFG_BOOL) continue;
    rows++;
    char err[512] = "", want[512];
    for (size_t i = 0; i < 4; i++) {
      assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, yes[i], err, sizeof err), 0);
      assert_int_equal(*bool_field(&c, d), 1);
      assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, no[i], err, sizeof err), 0);
      assert_int_equal(*bool_field(&c, d), 0);
    }
    /* a bare flag turns it on */
    char flag[160];
    size_t o = (size_t)snprintf(flag, sizeof flag, "--");
    for (const char *s = d->name; *s; s++) flag[o++] = *s == '_' ? '-' : *s;
    flag[o] = 0;
    char *argv[] = { "serve", flag, NULL };
    assert_int_equal(cfg_load_args(api_cfg_defs, &c, 2, argv, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(*bool_field(&c, d), 1);
    static const char *const bad[] = { "maybe", "", "2", "enabled" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      snprintf(want, sizeof want, "%s: \"%s\" is not a boolean (true/false)", d->name, bad[i]);
      assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, bad[i], err, sizeof err), IMC_E_INVAL);
      assert_string_equal(err, want);
      assert_int_equal(*bool_field(&c, d), 1);
    }
  }
  assert_true(rows >= 2);
  cfg_free(api_cfg_defs, &c);
}

/* The string rows with a check: each value of ok accepted (and stored), each
 * of bad refused with IMC_E_CONFIG ("name: …"), the setting left as it was. */
static const struct str_case {
  const char *name;
  const char *ok[6];
  const char *bad[6];
} str_cases[] = {
  { "log_level", { "debug", "info", "warn", "error", "off" }, { "verbose", "INFO", "", "warning" } },
  { "listen", { "127.0.0.1:0", "0.0.0.0:65535", "::1:8080" }, { "127.0.0.1:65536", "localhost:80", "127.0.0.1", ":80", "127.0.0.1:-1" } },
  { "ws_path", { "/ws", "/", "/a/b" }, { "ws", "", "/a?b", "/a b" } },
  { "test_clock_start", { "", "2026-11-15", "2028-02-29" }, { "2026-13-01", "2026-02-30", "15/11/2026", "2026-11-15x" } },
  { "pricebooks_dir", { "", "/" }, { "/nonexistent/imcloud-test", "/dev/null" } },
};

static void test_checked_strings(void **st)
{
  (void)st;
  api_cfg_t c;
  defaults(&c);
  int checked = 0;
  for (const cfg_def_t *d = api_cfg_defs; d->name; d++) {
    if (!d->check) continue;
    checked++;
    const struct str_case *k = NULL;
    for (size_t i = 0; i < sizeof str_cases / sizeof str_cases[0]; i++)
      if (!strcmp(str_cases[i].name, d->name)) k = &str_cases[i];
    if (!k) fail_msg("setting %s has a check but no case here", d->name);
    assert_int_equal(d->type, CFG_STR);
    char err[512] = "", prefix[96];
    snprintf(prefix, sizeof prefix, "%s: ", d->name);
    for (size_t i = 0; i < 6 && k->ok[i]; i++) {
      if (cfg_set(api_cfg_defs, &c, d->name, k->ok[i], err, sizeof err)) fail_msg("%s \"%s\" refused: %s", d->name, k->ok[i], err);
      assert_string_equal(str_field(&c, d), k->ok[i]);
    }
    const char *last = k->ok[0];
    assert_int_equal(cfg_set(api_cfg_defs, &c, d->name, last, err, sizeof err), 0);
    for (size_t i = 0; i < 6 && k->bad[i]; i++) {
      err[0] = 0;
      if (cfg_set(api_cfg_defs, &c, d->name, k->bad[i], err, sizeof err) != IMC_E_CONFIG)
        fail_msg("%s \"%s\" not refused", d->name, k->bad[i]);
      assert_memory_equal(err, prefix, strlen(prefix));
      assert_string_equal(str_field(&c, d), last);
    }
  }
  assert_int_equal(checked, (int)(sizeof str_cases / sizeof str_cases[0]));
  cfg_free(api_cfg_defs, &c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_row),
    cmocka_unit_test(test_int_bounds),
    cmocka_unit_test(test_bool_words),
    cmocka_unit_test(test_checked_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
