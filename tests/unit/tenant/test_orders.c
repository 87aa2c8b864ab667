/* Orders and the edition life cycle (src/tenant/orders.c, lifecycle.c) over
 * the SQLite store: a purchase on the 31st (T..T-1, month-end clamped),
 * renewal continuing the period, an order refused for lack of balance
 * writing nothing, idempotent replays, add-ons validated against the edition
 * held (L-4), expiry -> the free edition's limits -> 7-day grace ->
 * suspension, renewal resuming, auto-renew, postpaid intl packages, P-07,
 * P-44, and append-only orders. Every expected date and amount is derived in
 * the comment next to it from L-2, L-3, P-11, P-41, P-46, P-47. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

static char dir[64];
static store_t *s;
static int64_t cust;
static const int64_t NOW = 1790000000;

static int64_t D(int y, int m, int d) { return imc_days_from_civil(y, m, d); }

/* Each test pays from its own customer: balances are its own. */
static void fresh_customer(void) { assert_int_equal(tenant_customer_create(s, "buyer", 1000, &cust), 0); }

static uint32_t new_app(const char *region, const char *scheme)
{
  tenant_app_params_t p = { .customer_id = cust, .name = "shop", .region = region, .scheme = scheme, .now_s = NOW };
  store_app_t a;
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  return a.sdkappid;
}

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "orders") || test_store_open(dir, &s)) return -1;
  return tenant_customer_create(s, "buyer", 1000, &cust);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static int64_t balance(void)
{
  int64_t b = -1;
  assert_int_equal(store_wallet_balance(s, cust, &b), 0);
  return b;
}

static void topup(int64_t fen, const char *ref)
{
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 0, cust, TENANT_LEDGER_TOPUP, fen, "test", ref, NOW, &e), 0);
}

static int norders(uint32_t app)
{
  store_order_t *v;
  int n;
  assert_int_equal(tenant_app_orders(s, app, &v, &n), 0);
  free(v);
  return n;
}

static int ledger_n;
static void on_entry(void *ud, const store_ledger_t *e) { (void)ud; (void)e; ledger_n++; }
static int nledger(void) { ledger_n = 0; assert_int_equal(store_ledger_each(s, cust, on_entry, NULL), 0); return ledger_n; }

static tenant_lifecycle_t state(uint32_t app, int64_t day)
{
  store_app_t a;
  tenant_lifecycle_t lc;
  assert_int_equal(tenant_app_state(s, app, day, &a, &lc), 0);
  return lc;
}

/* Pure: T..T-1 from the 31st, fallback, grace, lapse; add-ons follow the edition. */
static void test_lifecycle_pure(void **st)
{
  (void)st;
  store_app_t a;
  memset(&a, 0, sizeof a);
  strcpy(a.scheme, "s2022");
  strcpy(a.edition, "pro");
  strcpy(a.region, "china");
  store_order_t o[2];
  memset(o, 0, sizeof o);
  strcpy(o[0].kind, "package");
  strcpy(o[0].item, "pro");
  strcpy(o[0].book, "s2022@2022-06-01");
  strcpy(o[1].book, "s2022@2022-06-01");
  o[0].start_day = D(2026, 1, 31);
  o[0].end_day = D(2026, 2, 27);     /* period 1 starts Feb 28 (31 clamped), so period 0 ends Feb 27 */
  strcpy(o[1].kind, "addon");
  strcpy(o[1].item, "member_cap");
  o[1].value = 2000;
  o[1].start_day = D(2026, 2, 1);
  o[1].end_day = D(2026, 2, 28);
  tenant_lifecycle_t lc;
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 1, 30), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_LAPSED);  /* pro without any package yet */
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 2, 27), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_ACTIVE);
  assert_int_equal(lc.edition, 1);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_MEMBERS), 2000);  /* the add-on */
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_USERS), PLAN_UNLIMITED);
  /* an order priced by another scheme's book (a legacy app's free member_cap, P-48, before its move
   * to s2022, P-07) raises no limit of the s2022 edition: pro's own 200 */
  strcpy(o[1].book, "legacy@open");
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 2, 27), &lc), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_MEMBERS), 200);
  strcpy(o[1].book, "s2022@2022-06-01");
  /* Feb 28: expired; limits fall back to trial's (L-3), the add-on no longer applies */
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 2, 28), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_GRACE);
  assert_int_equal(lc.edition, 0);
  assert_int_equal(lc.grace_end_day, D(2026, 3, 6)); /* Feb 27 + 7 days */
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_USERS), 100);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_MEMBERS), 20);
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 3, 6), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_GRACE);
  assert_int_equal(tenant_lifecycle(&a, o, 2, D(2026, 3, 7), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_LAPSED);
  /* free editions and legacy have no package: FREE */
  strcpy(a.edition, "trial");
  assert_int_equal(tenant_lifecycle(&a, NULL, 0, D(2026, 3, 7), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_FREE);
  strcpy(a.scheme, "legacy");
  strcpy(a.edition, "legacy");
  assert_int_equal(tenant_lifecycle(&a, NULL, 0, D(2026, 3, 7), &lc), 0);
  assert_int_equal(lc.state, TENANT_LC_FREE);
  strcpy(a.edition, "gold");
  assert_int_equal(tenant_lifecycle(&a, NULL, 0, D(2026, 3, 7), &lc), IMC_E_BILL_EDITION);
  assert_string_equal(tenant_lc_state_name(TENANT_LC_GRACE), "grace");
}

/* Purchase on the 31st, replay, renewal, a refused order writes nothing. */
static void test_purchase_and_renewal(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("china", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  topup(200000, "t-purchase");
  int64_t b0 = balance();
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 1, 31), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_false(replayed);
  assert_int_equal(o.price_fen, 99900);                /* P-41: pro 999 元 */
  assert_string_equal(o.pay, "prepaid");
  assert_int_equal(o.start_day, D(2026, 1, 31));
  assert_int_equal(o.end_day, D(2026, 2, 27));
  assert_true(o.ledger_id > 0);
  assert_string_equal(o.book, "s2022@2022-06-01");
  assert_int_equal(balance(), b0 - 99900);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.edition, "pro");
  /* the same command again (same day, derived reference): a replay, nothing debited */
  int nl = nledger();
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 1, 31), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_true(replayed);
  assert_int_equal(nledger(), nl);
  assert_int_equal(norders(app), 1);
  /* buying the package held again is refused: renew instead */
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 2, 10), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_PLAN_EDITION_CHANGE);
  assert_non_null(strstr(err, "renew"));
  /* renew on Feb 20: period 1 from the first T: Feb 28 (clamped) .. Mar 30 */
  assert_int_equal(tenant_app_renew(s, app, D(2026, 2, 20), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.period, 1);
  assert_int_equal(o.start_day, D(2026, 2, 28));
  assert_int_equal(o.end_day, D(2026, 3, 30));
  assert_int_equal(balance(), b0 - 2 * 99900);         /* 200 fen left */
  assert_int_equal(tenant_app_renew(s, app, D(2026, 2, 21), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_EXISTS);
  /* an add-on that costs more than the balance: refused, nothing written */
  nl = nledger();
  int no = norders(app);
  int64_t b = balance();
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 2000, NULL, D(2026, 2, 1), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_WALLET_FUNDS);
  assert_non_null(strstr(err, "50000"));
  assert_int_equal(nledger(), nl);
  assert_int_equal(norders(app), no);
  assert_int_equal(balance(), b);
  /* with money: member cap 2,000 for 500 元 (P-46), and the limit follows */
  topup(50000, "t-addon");
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 2000, NULL, D(2026, 2, 1), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.price_fen, 50000);
  assert_int_equal(o.end_day, D(2026, 2, 28));
  tenant_lifecycle_t lc = state(app, D(2026, 2, 15));
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_MEMBERS_INITIAL), 2000);
  lc = state(app, D(2026, 3, 1));
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_MEMBERS_INITIAL), 200); /* add-on ended Feb 28 */
  /* an included value costs nothing and debits nothing */
  nl = nledger();
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 200, NULL, D(2026, 2, 2), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_string_equal(o.pay, "included");
  assert_int_equal(nledger(), nl);
  /* values not sold to pro, unknown add-ons, a free edition, an unknown edition, a day before the book */
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 6000, NULL, D(2026, 2, 2), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_BILL_ADDON_FORBIDDEN);
  assert_non_null(strstr(err, "2000"));
  assert_int_equal(tenant_addon_buy(s, app, "gold", 0, NULL, D(2026, 2, 2), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_BILL_ADDON);
  assert_int_equal(tenant_app_upgrade(s, app, "trial", D(2026, 2, 2), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_PLAN_EDITION_CHANGE);
  assert_non_null(strstr(err, "P-44"));
  assert_int_equal(tenant_app_upgrade(s, app, "gold", D(2026, 2, 2), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_BILL_EDITION);
  assert_int_equal(tenant_app_upgrade(s, app, "ultimate", D(2021, 1, 1), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_BILL_NO_BOOK);
  assert_int_equal(tenant_app_upgrade(s, app, "ultimate", D(2026, 2, 2), "bad ref", NOW, &o, &replayed, err, sizeof err), IMC_E_INVAL);
  /* a reference used for a different order */
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 200, NULL, D(2026, 2, 3), "my-ref-1", NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(tenant_addon_buy(s, app, "groups_per_user", 500, NULL, D(2026, 2, 3), "my-ref-1", NOW, &o, &replayed, err, sizeof err),
                   IMC_E_EXISTS);
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 200, NULL, D(2026, 2, 3), "my-ref-1", NOW, &o, &replayed, err, sizeof err), 0);
  assert_true(replayed);
  /* orders are append-only, even for raw SQL */
  assert_int_not_equal(store_exec(s, "UPDATE orders SET price_fen=0"), 0);
  assert_int_not_equal(store_exec(s, "DELETE FROM orders"), 0);
}

/* Trial buys only local audit (L-4, P-47). */
static void test_trial_addons(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("china", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  topup(1000000, "t-trial");
  int64_t b = balance();
  assert_int_equal(tenant_addon_buy(s, app, "member_cap", 2000, NULL, D(2026, 5, 1), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_BILL_ADDON_FORBIDDEN);
  assert_int_equal(tenant_addon_buy(s, app, "avchatroom_unlimited", 0, NULL, D(2026, 5, 1), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_BILL_ADDON_FORBIDDEN);
  assert_int_equal(balance(), b);
  assert_int_equal(tenant_addon_buy(s, app, "local_audit", 0, NULL, D(2026, 5, 1), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.price_fen, 100000);
  assert_int_equal(balance(), b - 100000);
  /* buying it again while held continues its period: May 1 .. May 31, then June 1 .. June 30 */
  assert_int_equal(tenant_addon_buy(s, app, "local_audit", 0, NULL, D(2026, 5, 20), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.start_day, D(2026, 6, 1));
  assert_int_equal(o.end_day, D(2026, 6, 30));
  /* a third purchase before June is refused: June is bought (no double charge) */
  int64_t b2 = balance();
  assert_int_equal(tenant_addon_buy(s, app, "local_audit", 0, NULL, D(2026, 5, 21), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_EXISTS);
  assert_int_equal(balance(), b2);
  /* in June it continues into July */
  assert_int_equal(tenant_addon_buy(s, app, "local_audit", 0, NULL, D(2026, 6, 2), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.start_day, D(2026, 7, 1));
  assert_int_equal(state(app, D(2026, 6, 15)).state, TENANT_LC_FREE);
}

/* Expiry, grace, suspension, renewal resumes; auto-renew with and without money. */
static void test_grace_suspension_autorenew(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("china", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  tenant_run_t ran;
  topup(99900, "t-grace");
  assert_int_equal(tenant_app_upgrade(s, app, "ultimate", D(2026, 3, 31), NULL, NOW, &o, &replayed, err, sizeof err),
                   IMC_E_WALLET_FUNDS);                   /* 2,999 元 > 999 元: nothing written */
  assert_int_equal(norders(app), 0);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.edition, "trial");
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 3, 31), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.end_day, D(2026, 4, 29));           /* period 1 starts Apr 30 (31 clamped) */
  /* Apr 29 active; Apr 30..May 6 grace; May 7 lapsed -> suspended */
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 4, 29), NOW, &ran, err, sizeof err), 0);
  assert_int_equal(ran.state, TENANT_LC_ACTIVE);
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 6), NOW, &ran, err, sizeof err), 0);
  assert_int_equal(ran.state, TENANT_LC_GRACE);
  assert_false(ran.suspended);
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 7), NOW, &ran, err, sizeof err), 0);
  assert_int_equal(ran.state, TENANT_LC_LAPSED);
  assert_true(ran.suspended);
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.status, "suspended");
  char by[16];
  assert_int_equal(tenant_app_suspended_by(s, app, by, sizeof by), 0);
  assert_string_equal(by, "lapse");
  /* idempotent; resume refused while lapsed */
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 7), NOW, &ran, err, sizeof err), 0);
  assert_false(ran.suspended);
  assert_int_equal(tenant_app_resume(s, app, D(2026, 5, 7), err, sizeof err), IMC_E_PLAN_EXPIRED);
  /* auto-renew without money: stays lapsed, says why */
  assert_int_equal(tenant_app_set_auto_renew(s, app, 1), 0);
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 8), NOW, &ran, err, sizeof err), 0);
  assert_false(ran.renewed);
  assert_non_null(strstr(ran.renew_error, "top up"));
  /* with money: renewed — period 1 Apr 30..May 30 still covers May 8, so it continues the period — and resumed */
  topup(99900, "t-grace2");
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 8), NOW, &ran, err, sizeof err), 0);
  assert_true(ran.renewed);
  assert_true(ran.resumed);
  assert_int_equal(ran.renewal.start_day, D(2026, 4, 30));
  assert_int_equal(ran.renewal.end_day, D(2026, 5, 30));
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.status, "active");
  /* operator suspension is not undone by the run; resume lifts it */
  assert_int_equal(tenant_app_suspend(s, app), 0);
  assert_int_equal(tenant_app_lifecycle_run(s, app, D(2026, 5, 9), NOW, &ran, err, sizeof err), 0);
  assert_false(ran.resumed);
  assert_int_equal(tenant_app_resume(s, app, D(2026, 5, 9), err, sizeof err), 0);
  /* a lower package while the higher prepaid one runs is refused (it could not apply) */
  topup(299900, "t-grace-up");
  assert_int_equal(tenant_app_upgrade(s, app, "ultimate", D(2026, 5, 10), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  int64_t bb = balance();
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 5, 20), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_PLAN_EDITION_CHANGE);
  assert_non_null(strstr(err, "2026-06-09"));                /* ultimate May 10..Jun 9 */
  assert_int_equal(balance(), bb);
  /* after a whole period missed a renewal starts a new period on its day */
  assert_int_equal(tenant_app_set_auto_renew(s, app, 0), 0);
  topup(299900, "t-grace3");                               /* the app is on ultimate now */
  assert_int_equal(tenant_app_renew(s, app, D(2026, 8, 15), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(o.start_day, D(2026, 8, 15));
  assert_int_equal(o.end_day, D(2026, 9, 14));
  assert_int_equal(o.period, 0);
}

/* intl packages are postpaid (P-51); P-07 legacy -> trial needs the approval. */
static void test_intl_and_legacy(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("singapore", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  int nl = nledger();
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 7, 10), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_string_equal(o.pay, "postpaid");
  assert_int_equal(o.ledger_id, 0);
  assert_int_equal(nledger(), nl);
  assert_int_equal(state(app, D(2030, 1, 1)).state, TENANT_LC_ACTIVE);
  /* all-member push on intl Pro: enabled on application, 48 h after the recorded approval */
  tenant_lifecycle_t pl = state(app, D(2026, 7, 20));
  plan_verdict_t v;
  assert_int_equal(plan_check(&pl.plan, NOW, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_int_equal(tenant_app_set_push_approved(s, app, NOW, err, sizeof err), 0);
  pl = state(app, D(2026, 7, 20));
  assert_int_equal(pl.plan.push_approved_at_s, NOW);
  assert_int_equal(plan_check(&pl.plan, NOW + 48 * 3600 - 1, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_int_equal(plan_check(&pl.plan, NOW + 48 * 3600, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), 0);
  /* P-57: a change to standard drops push and community from its day on */
  tenant_lifecycle_t lc = state(app, D(2026, 7, 31));
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_F_COMMUNITY), 1);
  assert_int_equal(tenant_app_upgrade(s, app, "standard", D(2026, 8, 1), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  lc = state(app, D(2026, 7, 31));
  assert_int_equal(lc.package_edition, 2);                /* pro until the day before */
  lc = state(app, D(2026, 8, 1));
  assert_int_equal(lc.package_edition, 1);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_F_COMMUNITY), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_F_ALL_MEMBER_PUSH), 0);
  assert_int_equal(plan_limit(&lc.plan, NOW, PLAN_L_GROUPS_PER_USER), 500);
  uint32_t old = new_app("china", "legacy");
  assert_int_equal(tenant_app_legacy_to_trial(s, old, 0, NOW, err, sizeof err), IMC_E_PLAN_EDITION_CHANGE);
  assert_non_null(strstr(err, "P-07"));
  assert_int_equal(tenant_app_legacy_to_trial(s, old, 1, NOW, err, sizeof err), 0);
  store_app_t a;
  assert_int_equal(store_app_get(s, old, &a), 0);
  assert_string_equal(a.scheme, "s2022");
  assert_string_equal(a.edition, "trial");
  assert_int_equal(tenant_app_legacy_to_trial(s, app, 1, NOW, err, sizeof err), IMC_E_PLAN_EDITION_CHANGE);
}

/* The registry keeps each app's plan facts: what the REST and WebSocket
 * handlers pass to plan_check in one line. */
static void test_registry_plans(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("china", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  topup(99900, "t-registry");
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 6, 10), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  tenant_registry_t *r;
  assert_int_equal(tenant_registry_load(s, &r), 0);
  const tenant_app_t *a = tenant_registry_app(r, app);
  assert_non_null(a);
  assert_true(a->plan.ready);                 /* loaded for today (long after the package) */
  assert_int_equal(tenant_registry_refresh_plans(r, s, D(2026, 6, 20)), 0);
  assert_int_equal(a->lc_state, TENANT_LC_ACTIVE);
  plan_verdict_t v;
  assert_int_equal(plan_check(&a->plan, NOW, PLAN_L_USERS, 100, 1, &v), 0);      /* pro: unlimited */
  assert_int_equal(plan_check(&a->plan, NOW, PLAN_L_FRIENDS, 3000, 1, &v), IMC_E_PLAN_FRIENDS);
  assert_int_equal(tenant_registry_refresh_plans(r, s, D(2026, 7, 12)), 0);     /* Jun 10..Jul 9, grace */
  assert_int_equal(a->lc_state, TENANT_LC_GRACE);
  assert_int_equal(plan_check(&a->plan, NOW, PLAN_L_USERS, 100, 1, &v), IMC_E_ACCOUNT_LIMIT); /* trial's 100 */
  assert_int_equal(imc_err_compat(IMC_E_ACCOUNT_LIMIT), 70398);
  assert_int_equal(tenant_app_refusal(a), 0);                                   /* grace: still served */
  assert_int_equal(tenant_registry_refresh_plans(r, s, D(2026, 7, 17)), 0);     /* Jul 9 + 7 = Jul 16 */
  assert_int_equal(a->lc_state, TENANT_LC_LAPSED);
  assert_int_equal(tenant_app_refusal(a), IMC_E_PLAN_EXPIRED);
  assert_int_equal(imc_err_compat(tenant_app_refusal(a)), 60020);
  tenant_registry_free(r);
  /* several apps with and without orders in one refresh (one query for all orders); intl Pro's
   * push approval comes along */
  uint32_t intl = new_app("singapore", NULL), idle = new_app("china", NULL);
  assert_int_equal(tenant_app_upgrade(s, intl, "pro", D(2026, 6, 1), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(tenant_app_set_push_approved(s, intl, NOW, err, sizeof err), 0);
  /* the s2022 book sells no push on application (ultimate has it outright): refused, nothing recorded */
  assert_int_equal(tenant_app_set_push_approved(s, idle, NOW, err, sizeof err), IMC_E_BILL_ADDON_FORBIDDEN);
  assert_string_equal(err, "the s2022 price book sells no all-member push on application (intl Pro, §6): its editions with all-member push: ultimate");
  int64_t at = -1;
  assert_int_equal(tenant_app_push_approved(s, idle, &at), 0);
  assert_int_equal(at, 0);
  assert_int_equal(tenant_registry_load(s, &r), 0);
  assert_int_equal(tenant_registry_refresh_plans(r, s, D(2026, 6, 20)), 0);
  assert_int_equal(tenant_registry_app(r, app)->lc_state, TENANT_LC_ACTIVE);
  assert_int_equal(tenant_registry_app(r, intl)->lc_state, TENANT_LC_ACTIVE);
  assert_int_equal(tenant_registry_app(r, intl)->plan.push_approved_at_s, NOW);
  assert_int_equal(plan_check(&tenant_registry_app(r, intl)->plan, NOW + 48 * 3600, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), 0);
  assert_int_equal(tenant_registry_app(r, idle)->lc_state, TENANT_LC_FREE);
  assert_int_equal(plan_limit(&tenant_registry_app(r, idle)->plan, NOW, PLAN_L_USERS), 100);
  tenant_registry_free(r);
  /* an operator suspension: 60016 */
  assert_int_equal(tenant_app_suspend(s, app), 0);
  assert_int_equal(tenant_registry_load(s, &r), 0);
  a = tenant_registry_app(r, app);
  assert_int_equal(tenant_registry_refresh_plans(r, s, D(2026, 6, 20)), 0);
  assert_int_equal(tenant_app_refusal(a), IMC_E_APP_DISABLED);
  assert_int_equal(imc_err_compat(IMC_E_APP_DISABLED), 60016);
  tenant_registry_free(r);
}

/* Inside an open transaction (a writer-thread job) the functions nest: a
 * refusal rolls back only its own work, the caller's rollback undoes theirs. */
static void test_nested_in_writer_txn(void **st)
{
  (void)st;
  fresh_customer();
  uint32_t app = new_app("china", NULL);
  store_order_t o;
  int replayed;
  char err[256];
  topup(99900, "t-nested");
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_true(store_in_transaction(s));
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(tenant_app_upgrade(s, app, "ultimate", D(2026, 9, 1), NULL, NOW, &o, &replayed, err, sizeof err), IMC_E_WALLET_FUNDS);
  assert_true(store_in_transaction(s));                            /* the caller's transaction is still open */
  assert_int_equal(tenant_app_upgrade(s, app, "pro", D(2026, 9, 1), NULL, NOW, &o, &replayed, err, sizeof err), 0);
  assert_int_equal(norders(app), 1);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);   /* the writer rolls the job back */
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_false(store_in_transaction(s));
  assert_int_equal(norders(app), 0);
  assert_int_equal(balance(), 99900);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.edition, "trial");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lifecycle_pure), cmocka_unit_test(test_purchase_and_renewal),
    cmocka_unit_test(test_trial_addons), cmocka_unit_test(test_grace_suspension_autorenew),
    cmocka_unit_test(test_intl_and_legacy), cmocka_unit_test(test_registry_plans),
    cmocka_unit_test(test_nested_in_writer_txn),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
