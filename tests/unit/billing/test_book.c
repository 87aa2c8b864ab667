/* Unit tests for the billing library below the quote layer: the built-in
 * books load and carry their rule ids, the loader refuses broken books with a
 * reason, T to T-1 periods (L-2), bills over a purchase timeline (upgrades,
 * renewals, add-ons bought before the package), the usage-import parser and
 * money formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "util/date.h"
#include "util/err.h"

static int64_t D(int y, int m, int d) { return imc_days_from_civil(y, m, d); }

static void test_builtin_books(void **st)
{
  (void)st;
  static const char *const editions[BILL_SCHEME__COUNT][4] = {
    [BILL_SCHEME_LEGACY] = { "legacy" }, [BILL_SCHEME_S2019] = { "trial", "pro" },
    [BILL_SCHEME_S2020] = { "trial", "pro" }, [BILL_SCHEME_S2022] = { "trial", "pro", "ultimate" },
    [BILL_SCHEME_INTL] = { "developer", "standard", "pro" },
  };
  for (int s = 0; s < BILL_SCHEME__COUNT; s++) {
    const bill_book_t *b = bill_book_builtin((bill_scheme_t)s);
    if (!b) fail_msg("book %s: %s", bill_scheme_name((bill_scheme_t)s), bill_book_builtin_error((bill_scheme_t)s));
    assert_int_equal(bill_book_scheme(b), s);
    int n = 0;
    while (n < 4 && editions[s][n]) {
      assert_string_equal(bill_book_edition_code(b, n), editions[s][n]);
      assert_int_equal(bill_book_edition_find(b, editions[s][n]), n);
      n++;
    }
    assert_int_equal(bill_book_editions(b), n);
    assert_string_equal(bill_book_edition_code(b, bill_book_free_edition(b)), bill_scheme_free_edition((bill_scheme_t)s));
  }
  assert_null(bill_book_builtin(BILL_SCHEME__COUNT));
}

static void expect_load_error(const char *json, const char *needle)
{
  bill_book_t *b = NULL;
  char err[256] = "";
  assert_int_equal(bill_book_load(json, strlen(json), &b, err, sizeof err), IMC_E_BILL_BOOK);
  assert_null(b);
  if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

#define ED_FREE "{\"code\":\"free\",\"name_zh\":\"免费\",\"name_en\":\"Free\",\"rank\":0,\"package\":null,\"overage\":false," \
                "\"free\":{\"peak_dau\":100},\"limits\":{\"users\":100,\"groups\":null}}"
#define HEAD "{\"scheme\":\"s2022\",\"title_zh\":\"t\",\"title_en\":\"t\",\"editions\":[" ED_FREE "],"

static void test_loader_rejects(void **st)
{
  (void)st;
  expect_load_error("{", "JSON error");
  expect_load_error("[]", "object");
  expect_load_error("{\"scheme\":\"s2099\"}", "scheme");
  expect_load_error("{\"scheme\":\"s2022\",\"title_zh\":\"t\",\"title_en\":\"t\"}", "editions");
}

static void test_loader_accepts_minimal_and_checks_items(void **st)
{
  (void)st;
  const char ok[] = HEAD "\"items\":[],\"addons\":[]}";
  bill_book_t *b = NULL;
  char err[256] = "";
  assert_int_equal(bill_book_load(ok, sizeof ok - 1, &b, err, sizeof err), 0);
  bill_book_free(b);
  expect_load_error(HEAD "\"items\":[{\"code\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"unit_zh\":\"u\",\"unit_en\":\"u\","
                    "\"rule\":\"P-1\",\"formula\":\"magic\",\"metric\":\"peak_dau\"}],\"addons\":[]}", "unknown formula");
  expect_load_error(HEAD "\"items\":[{\"code\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"unit_zh\":\"u\",\"unit_en\":\"u\","
                    "\"rule\":\"P-1\",\"formula\":\"blocks_over_free\",\"metric\":\"peak_dau\",\"free\":0,\"block\":0,"
                    "\"block_fen\":5,\"rounding\":\"ceil\"}],\"addons\":[]}", "block");
  expect_load_error(HEAD "\"items\":[{\"code\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"unit_zh\":\"u\",\"unit_en\":\"u\","
                    "\"rule\":\"P-1\",\"formula\":\"blocks_over_free\",\"metric\":\"peak_dau\",\"free\":0,\"block\":10,"
                    "\"block_fen\":5}],\"addons\":[]}", "rounding");
  expect_load_error(HEAD "\"items\":[{\"code\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"unit_zh\":\"u\",\"unit_en\":\"u\","
                    "\"rule\":\"P-1\",\"formula\":\"blocks_over_free\",\"metric\":\"peak_dau\",\"free\":0,\"block\":10,"
                    "\"block_fen\":1.5,\"rounding\":\"ceil\"}],\"addons\":[]}", "integer");
  expect_load_error(HEAD "\"items\":[],\"addons\":[{\"code\":\"member_cap\",\"name_zh\":\"m\",\"name_en\":\"m\",\"rule\":\"P\","
                    "\"kind\":\"prepaid\",\"value\":\"number\",\"offers\":{\"gold\":[{\"value\":1,\"fen\":1}]}}]}", "unknown edition");
  expect_load_error(HEAD "\"items\":[],\"addons\":[{\"code\":\"member_cap\",\"name_zh\":\"m\",\"name_en\":\"m\",\"rule\":\"P\","
                    "\"kind\":\"prepaid\",\"value\":\"number\",\"offers\":{\"free\":[{\"value\":1,\"fen\":-1}]}}]}", "out of range");
  expect_load_error("{\"scheme\":\"s2022\",\"scheme\":\"s2022\"}", "JSON error"); /* duplicate keys */
}

static void test_periods(void **st)
{
  (void)st;
  /* L-2: T to T-1; a day the month lacks is clamped to its last day */
  assert_int_equal(bill_period_start(D(2026, 3, 15), 1), D(2026, 4, 15));
  assert_int_equal(bill_period_start(D(2026, 1, 31), 1), D(2026, 2, 28));
  assert_int_equal(bill_period_start(D(2024, 1, 31), 1), D(2024, 2, 29));
  assert_int_equal(bill_period_start(D(2026, 1, 31), 2), D(2026, 3, 31)); /* from T, not chained */
  assert_int_equal(bill_period_start(D(2026, 12, 10), 1), D(2027, 1, 10));
  assert_int_equal(bill_period_start(D(2026, 5, 1), 12), D(2027, 5, 1));
}

static int bill_at(const bill_order_t *o, int n, int32_t month, bill_t *b, char *err)
{
  static bill_usage_t u;
  memset(&u, 0, sizeof u);
  u.peak_dau = 15000;
  bill_input_t in = { .month = month, .orders = o, .norders = n, .usage = &u };
  return bill_compute(bill_book_builtin(BILL_SCHEME_S2022), &in, b, err, 256);
}

static void test_timeline(void **st)
{
  (void)st;
  bill_t b;
  char err[256];
  /* pro bought 2026-01-31 for 3 periods: Jan 31..Feb 27, Feb 28..Mar 30, Mar 31..Apr 29 */
  bill_order_t pro = { .edition = 1, .start_day = D(2026, 1, 31), .periods = 3 };
  assert_int_equal(bill_at(&pro, 1, 202601, &b, err), 0);
  assert_int_equal(b.prepaid_fen, 99900);
  assert_int_equal(b.edition, 1);
  assert_int_equal(b.postpaid_fen, 100000); /* 15,000 DAU: one started 10,000 above the free 10,000 */
  assert_int_equal(bill_at(&pro, 1, 202602, &b, err), 0);
  assert_int_equal(b.prepaid_fen, 99900);   /* period 1 starts Feb 28 */
  assert_int_equal(bill_at(&pro, 1, 202604, &b, err), 0);
  assert_int_equal(b.prepaid_fen, 0);       /* period 2 started in March */
  assert_int_equal(b.edition, 1);           /* ...and is held until Apr 29 */
  /* issue 16: expired Apr 29, grace Apr 30..May 6 (7 days, L-3): May is priced on the lapsed pro
   * (overage 1 x 1,000 for 15,000 DAU), not on trial; no package fee (no period starts) */
  assert_int_equal(bill_at(&pro, 1, 202605, &b, err), 0);
  assert_int_equal(b.edition, 1);
  assert_int_equal(b.prepaid_fen, 0);
  assert_int_equal(b.postpaid_fen, 100000);
  assert_int_equal(b.nbreaks, 0);
  /* June has neither package nor grace days: back to the capped trial, no overage */
  assert_int_equal(bill_at(&pro, 1, 202606, &b, err), 0);
  assert_int_equal(b.edition, 0);
  assert_int_equal(b.total_fen, 0);
  assert_int_equal(b.nbreaks, 1);           /* 15,000 DAU breaks trial's 100 users */
  /* grace ending on the last day of a month: one day short of the next month */
  bill_order_t p2 = { .edition = 1, .start_day = D(2026, 6, 25), .periods = 1 }; /* Jun 25..Jul 24, grace Jul 25..31 */
  assert_int_equal(bill_at(&p2, 1, 202608, &b, err), 0);
  assert_int_equal(b.edition, 0);
  p2.start_day = D(2026, 6, 26);            /* Jun 26..Jul 25, grace Jul 26..Aug 1 */
  assert_int_equal(bill_at(&p2, 1, 202608, &b, err), 0);
  assert_int_equal(b.edition, 1);

  /* upgrade mid-month: pro from Oct 1, ultimate from Oct 15 -> both packages, ultimate quotas */
  bill_order_t up[2] = { { .edition = 1, .start_day = D(2026, 10, 1), .periods = 1 },
                         { .edition = 2, .start_day = D(2026, 10, 15), .periods = 1 } };
  assert_int_equal(bill_at(up, 2, 202610, &b, err), 0);
  assert_int_equal(b.edition, 2);
  assert_int_equal(b.prepaid_fen, 99900 + 299900);
  assert_int_equal(bill_at(up, 2, 202611, &b, err), 0);
  assert_int_equal(b.prepaid_fen, 0);
  assert_int_equal(b.edition, 2);           /* ultimate held until Nov 14 */

  /* an add-on bought before the package: trial cannot buy it (L-4) */
  bill_order_t early[2] = { { .is_addon = 1, .addon = BILL_ADDON_MEMBER_CAP, .value = 2000, .start_day = D(2026, 10, 1), .periods = 1 },
                            { .edition = 1, .start_day = D(2026, 10, 2), .periods = 1 } };
  assert_int_equal(bill_at(early, 2, 202610, &b, err), IMC_E_BILL_ADDON_FORBIDDEN);
  early[0].start_day = D(2026, 10, 2);
  assert_int_equal(bill_at(early, 2, 202610, &b, err), 0);
  assert_int_equal(b.prepaid_fen, 99900 + 50000);

  /* bad inputs change nothing and explain themselves */
  assert_int_equal(bill_at(&pro, 1, 202613, &b, err), IMC_E_BILL_MONTH);
  bill_order_t bad = { .edition = 7, .start_day = D(2026, 10, 1), .periods = 1 };
  assert_int_equal(bill_at(&bad, 1, 202610, &b, err), IMC_E_BILL_EDITION);
  bad.edition = 1;
  bad.periods = 0;
  assert_int_equal(bill_at(&bad, 1, 202610, &b, err), IMC_E_INVAL);
}

static void test_usage_json(void **st)
{
  (void)st;
  bill_usage_t u;
  char err[256];
  const bill_book_t *b = bill_book_builtin(BILL_SCHEME_S2022);
  const char doc[] = "{\"days\":[{\"date\":\"2026-10-01\",\"dau\":900,\"groups\":10,\"bandwidth_mbps\":300},"
                     "{\"date\":\"2026-10-02\",\"dau\":22000,\"groups\":5,\"bandwidth_mbps\":500}],"
                     "\"mau\":40000,\"call_minutes\":{\"audio\":12}}";
  assert_int_equal(bill_usage_parse_json(doc, sizeof doc - 1, b, 202610, &u, err, sizeof err), 0);
  assert_int_equal(u.peak_dau, 22000);    /* P-24: the highest day */
  assert_int_equal(u.peak_groups, 10);
  assert_int_equal(u.bw_days, 2);
  assert_int_equal(u.bw_mbps[0] + u.bw_mbps[1], 800);
  assert_int_equal(u.mau, 40000);
  assert_int_equal(u.call_minutes[3], 12); /* audio is the 4th kind of the s2022 book */
  static const char *const bad[] = {
    "[1]", "{\"peak_dau\":-1}", "{\"peak_dau\":1.5}", "{\"peak_dau\":\"7\"}", "{\"dau\":1}",
    "{\"days\":[{\"date\":\"2026-11-01\",\"dau\":1}]}",                       /* not in the month */
    "{\"days\":[{\"date\":\"2026-10-01\"},{\"date\":\"2026-10-01\"}]}",     /* twice */
    "{\"days\":[{\"date\":\"2026-10-32\"}]}", "{\"peak_dau\":1,\"days\":[{\"date\":\"2026-10-01\",\"dau\":1}]}",
    "{\"call_minutes\":{\"smell\":1}}", "{\"bandwidth_mbps\":[1,-2]}", "{\"c2c_roaming_months\":1201}",
    "{\"peak_dau\":1000000000001}", "{\"peak_dau\":1,\"peak_dau\":2}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    int rc = bill_usage_parse_json(bad[i], strlen(bad[i]), b, 202610, &u, err, sizeof err);
    if (rc != IMC_E_BILL_USAGE) fail_msg("usage %s accepted", bad[i]);
    assert_true(err[0]);
  }
}

static void test_fen_format(void **st)
{
  (void)st;
  char s[32];
  bill_fen_format(500000, s, sizeof s);
  assert_string_equal(s, "5,000.00");
  bill_fen_format(99900, s, sizeof s);
  assert_string_equal(s, "999.00");
  bill_fen_format(7, s, sizeof s);
  assert_string_equal(s, "0.07");
  bill_fen_format(123456789012, s, sizeof s);
  assert_string_equal(s, "1,234,567,890.12");
  bill_fen_format(-150, s, sizeof s);
  assert_string_equal(s, "-1.50");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_builtin_books), cmocka_unit_test(test_loader_rejects),
    cmocka_unit_test(test_loader_accepts_minimal_and_checks_items), cmocka_unit_test(test_periods),
    cmocka_unit_test(test_timeline), cmocka_unit_test(test_usage_json), cmocka_unit_test(test_fen_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
