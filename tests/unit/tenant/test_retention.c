/* Retention add-ons (src/tenant/retention.c, lifecycle.c): pure rules over
 * hand-built order lists — an order runs until the next order of the same
 * add-on (same day: the later id), value 0 ends it; the life cycle turns
 * it into PLAN_HOLD_ROAMING_MONTHS / PLAN_HOLD_HISTORY_DAYS only while the
 * edition in force may hold it (P-21 C2C only on S-2019, P-35 all history
 * on S-2020, P-46 tiers on S-2022); the purchase validation's refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"

static int64_t D(int y, int m, int d) { return imc_days_from_civil(y, m, d); }
static const int64_t NOW = 1790000000;

static store_app_t app_of(const char *scheme, const char *edition)
{
  store_app_t a;
  memset(&a, 0, sizeof a);
  a.sdkappid = 1400000001;
  snprintf(a.scheme, sizeof a.scheme, "%s", scheme);
  snprintf(a.edition, sizeof a.edition, "%s", edition);
  snprintf(a.region, sizeof a.region, "china");
  return a;
}

static store_order_t package(int64_t id, const char *edition, int64_t from, int64_t to)
{
  store_order_t o;
  memset(&o, 0, sizeof o);
  o.id = id;
  snprintf(o.kind, sizeof o.kind, "package");
  snprintf(o.item, sizeof o.item, "%s", edition);
  o.start_day = from;
  o.end_day = to;
  snprintf(o.pay, sizeof o.pay, "prepaid");
  snprintf(o.book, sizeof o.book, "s2019@2019-12-27");
  return o;
}

static store_order_t retention(int64_t id, const char *addon, int64_t value, int64_t day)
{
  store_app_t a = app_of("s2019", "pro");
  store_order_t o;
  tenant_retention_order(&a, addon, value, day, "ref", "s2019@2019-12-27", NOW, &o);
  o.id = id;
  return o;
}

/* The orders as priced by another scheme's book (tenant_lifecycle counts only the app's scheme's). */
static void relabel(store_order_t *v, int n, const char *book)
{
  for (int i = 0; i < n; i++) snprintf(v[i].book, sizeof v[i].book, "%s", book);
}

static void test_names(void **st)
{
  (void)st;
  plan_hold_t h;
  assert_true(tenant_retention_addon("c2c_roaming_months", &h));
  assert_int_equal(h, PLAN_HOLD_ROAMING_MONTHS);
  assert_true(tenant_retention_addon("history_days", &h));
  assert_int_equal(h, PLAN_HOLD_HISTORY_DAYS);
  assert_false(tenant_retention_addon("member_cap", NULL));
  assert_false(tenant_retention_addon(NULL, NULL));
  store_order_t o = retention(1, "c2c_roaming_months", 2, D(2026, 10, 1));
  assert_string_equal(o.pay, "postpaid");
  assert_int_equal(o.price_fen, 0);
  assert_int_equal(o.ledger_id, 0);
  assert_int_equal(o.end_day, D(9999, 12, 31));
}

/* Until the next order of the same add-on; other orders do not end it. */
static void test_superseded(void **st)
{
  (void)st;
  store_order_t v[] = {
    package(1, "pro", D(2026, 10, 1), D(2026, 10, 31)),
    retention(2, "c2c_roaming_months", 1, D(2026, 10, 1)),
    retention(3, "c2c_roaming_months", 2, D(2026, 10, 15)),
    retention(4, "history_days", 30, D(2026, 10, 20)),     /* another add-on: no effect on the roaming rows */
    retention(5, "c2c_roaming_months", 0, D(2026, 10, 25)),
    retention(6, "c2c_roaming_months", 3, D(2026, 10, 25)), /* same day, later id: this one runs */
  };
  int n = 6;
  assert_int_equal(tenant_order_last_day(v, n, 0), D(2026, 10, 31));  /* a package keeps its end_day */
  assert_int_equal(tenant_order_last_day(v, n, 1), D(2026, 10, 14));
  assert_int_equal(tenant_order_last_day(v, n, 2), D(2026, 10, 24));
  assert_int_equal(tenant_order_last_day(v, n, 3), D(9999, 12, 31));
  assert_true(tenant_order_last_day(v, n, 4) < v[4].start_day);       /* superseded the day it starts */
  assert_int_equal(tenant_order_last_day(v, n, 5), D(9999, 12, 31));
  assert_true(tenant_order_in_force(v, n, 1, D(2026, 10, 14)));
  assert_false(tenant_order_in_force(v, n, 1, D(2026, 10, 15)));
  assert_true(tenant_order_in_force(v, n, 2, D(2026, 10, 15)));
  assert_false(tenant_order_in_force(v, n, 4, D(2026, 10, 25)));
  assert_true(tenant_order_in_force(v, n, 5, D(2030, 1, 1)));
  assert_false(tenant_order_in_force(v, n, 5, D(2026, 10, 24)));
}

/* The holds, per scheme, while the edition may hold them. */
static void test_lifecycle_holds(void **st)
{
  (void)st;
  tenant_lifecycle_t lc;
  /* S-2019 pro, roaming 2 months: C2C 7 + ... = 60 days, groups 7 (P-21) */
  store_app_t a = app_of("s2019", "pro");
  store_order_t v[] = {
    package(1, "pro", D(2026, 10, 1), D(2026, 10, 31)),
    retention(2, "c2c_roaming_months", 2, D(2026, 10, 15)),
    retention(3, "c2c_roaming_months", 0, D(2026, 10, 25)),
  };
  assert_int_equal(tenant_lifecycle(&a, v, 2, D(2026, 10, 14), &lc), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 7);
  assert_int_equal(tenant_lifecycle(&a, v, 2, D(2026, 10, 15), &lc), 0);
  assert_int_equal(lc.plan.hold[PLAN_HOLD_ROAMING_MONTHS], 2);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 60);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_HISTORY_DAYS), 7);
  assert_int_equal(tenant_lifecycle(&a, v, 3, D(2026, 10, 25), &lc), 0);  /* ended */
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 7);
  /* the package lapsed (grace: the trial's limits): the trial cannot hold roaming (P-15) */
  assert_int_equal(tenant_lifecycle(&a, v, 2, D(2026, 11, 1), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_GRACE);
  assert_int_equal(lc.plan.hold[PLAN_HOLD_ROAMING_MONTHS], 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 7);
  /* S-2020 history extension: all history (P-35) */
  a = app_of("s2020", "pro");
  relabel(v, 3, "s2020@2020-09-08");
  assert_int_equal(tenant_lifecycle(&a, v, 2, D(2026, 10, 20), &lc), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 60);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_HISTORY_DAYS), 60);
  /* S-2022 pro, a 90-day tier: all history (P-46) */
  a = app_of("s2022", "pro");
  store_order_t w[] = { package(1, "pro", D(2026, 10, 1), D(2026, 10, 31)), retention(2, "history_days", 90, D(2026, 10, 1)) };
  relabel(w, 2, "s2022@2022-06-01");
  assert_int_equal(tenant_lifecycle(&a, w, 2, D(2026, 10, 2), &lc), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_HISTORY_DAYS), 90);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_C2C_HISTORY_DAYS), 90);
}

static void refused(const store_app_t *a, const store_order_t *v, int n, const char *addon, int64_t value, int64_t day,
                    int code, const char *says)
{
  char err[256] = "";
  assert_int_equal(tenant_retention_check(a, v, n, addon, value, day, err, sizeof err), code);
  if (!strstr(err, says)) fail_msg("%s=%lld: \"%s\" lacks \"%s\"", addon, (long long)value, err, says);
}

static void test_check(void **st)
{
  (void)st;
  char err[256];
  store_app_t a = app_of("s2019", "pro");
  store_order_t v[] = { package(1, "pro", D(2026, 10, 1), D(2026, 10, 31)), retention(2, "c2c_roaming_months", 2, D(2026, 10, 15)) };
  assert_int_equal(tenant_retention_check(&a, v, 1, "c2c_roaming_months", 2, D(2026, 10, 1), err, sizeof err), 0);
  assert_int_equal(tenant_retention_check(&a, v, 1, "c2c_roaming_months", 1200, D(2026, 10, 1), err, sizeof err), 0);
  refused(&a, v, 1, "c2c_roaming_months", 1201, D(2026, 10, 1), IMC_E_BILL_ADDON, "out of range");
  refused(&a, v, 1, "c2c_roaming_months", -1, D(2026, 10, 1), IMC_E_BILL_ADDON, "out of range");
  refused(&a, v, 1, "history_days", 30, D(2026, 10, 1), IMC_E_BILL_ADDON_FORBIDDEN, "the s2019 price book sells no history_days");
  refused(&a, v, 1, "member_cap", 2000, D(2026, 10, 1), IMC_E_BILL_ADDON, "not a retention add-on");
  refused(&a, v, 1, "c2c_roaming_months", 2, D(2026, 9, 30), IMC_E_BILL_ADDON_FORBIDDEN, "not offered to the s2019 trial edition (P-21, P-35): 1-1200 months on editions billed for usage: pro");
  refused(&a, v, 1, "c2c_roaming_months", 0, D(2026, 10, 1), IMC_E_EXISTS, "nothing held");
  refused(&a, v, 2, "c2c_roaming_months", 2, D(2026, 10, 20), IMC_E_EXISTS, "already in force since 2026-10-15");
  assert_int_equal(tenant_retention_check(&a, v, 2, "c2c_roaming_months", 3, D(2026, 10, 20), err, sizeof err), 0);
  assert_int_equal(tenant_retention_check(&a, v, 2, "c2c_roaming_months", 0, D(2026, 10, 20), err, sizeof err), 0);
  assert_int_equal(tenant_retention_check(&a, v, 2, "c2c_roaming_months", 2, D(2026, 10, 14), err, sizeof err), 0);
  /* S-2022: the tiers the edition is offered (P-46) */
  a = app_of("s2022", "pro");
  store_order_t w[] = { package(1, "pro", D(2026, 10, 1), D(2026, 10, 31)) };
  relabel(w, 1, "s2022@2022-06-01");
  assert_int_equal(tenant_retention_check(&a, w, 1, "history_days", 180, D(2026, 10, 1), err, sizeof err), 0);
  refused(&a, w, 1, "history_days", 45, D(2026, 10, 1), IMC_E_BILL_ADDON_FORBIDDEN, "(P-46): 30, 90, 180, 360");
  refused(&a, w, 1, "history_days", 30, D(2026, 11, 1), IMC_E_BILL_ADDON_FORBIDDEN, "s2022 trial edition (P-46): none");
  refused(&a, w, 1, "c2c_roaming_months", 1, D(2026, 10, 1), IMC_E_BILL_ADDON_FORBIDDEN, "sells no c2c_roaming_months");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_superseded),
    cmocka_unit_test(test_lifecycle_holds),
    cmocka_unit_test(test_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
