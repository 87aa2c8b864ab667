/* lifecycle.c — an app's edition state on a given day, from its record and
 * its orders. Pure (no store, no clock): the caller loads the orders.
 *
 *  FREE    the app is on its scheme's free edition (L-1) or legacy: no package.
 *  ACTIVE  a package order covers the day: the highest such edition applies.
 *  GRACE   the last package period ended less than grace_days ago (L-3,
 *          P-11): the limits fall back to the free edition's, except those
 *          on stored data (history retention, recent conversations kept:
 *          `keep`), which stay the package's so that nothing is purged or
 *          trimmed before the app is renewed; renewing continues the period.
 *  LAPSED  grace is over: the service stops (the app is suspended by
 *          tenant_app_lifecycle_run) until a renewal.
 *
 * Add-ons in force are the add-on orders covering the day that the
 * effective edition may hold (plan_app_hold checks the book's offers), so a
 * lapsed package takes its add-ons' raised limits with it. A retention
 * add-on (retention.c) runs until the next order of the same add-on, so at
 * most one of each is in force on a day. Only the orders of the app's
 * scheme count (tenant_order_of_scheme): after a move off legacy (P-07) the
 * legacy add-ons (member caps and groups per user, free on legacy, P-48)
 * still ran their period and raised the new edition's limits where its book
 * sells the same value (a legacy member_cap=2000 gave pro 2,000 members). */
#include "tenant/tenant.h"
#include "util/err.h"

#include <string.h>

static const char *const state_names[] = { "free", "active", "grace", "lapsed" };

const char *tenant_lc_state_name(tenant_lc_state_t s)
{
  return (unsigned)s < sizeof state_names / sizeof *state_names ? state_names[s] : NULL;
}

static int edition_index(bill_scheme_t s, const char *code)
{
  for (int i = 0; i < plan_editions(s); i++)
    if (!strcmp(plan_edition_code(s, i), code)) return i;
  return -1;
}

static const struct { const char *addon; plan_hold_t hold; } addon_holds[] = {
  { "avchatroom_unlimited", PLAN_HOLD_AVCHATROOM_UNLIMITED },
  { "member_cap", PLAN_HOLD_MEMBER_CAP },
  { "groups_per_user", PLAN_HOLD_GROUPS_PER_USER },
  { "c2c_roaming_months", PLAN_HOLD_ROAMING_MONTHS }, /* P-21, P-35 (retention.c) */
  { "history_days", PLAN_HOLD_HISTORY_DAYS },         /* P-46 */
};

/* A postpaid package (intl, P-51) runs until the app's next package order
 * (a change of edition, P-57); a prepaid one until its end_day. */
static int64_t postpaid_end(const store_order_t *orders, int n, int i)
{
  const store_order_t *o = &orders[i];
  if (strcmp(o->pay, "postpaid")) return o->end_day;
  int64_t end = o->end_day;
  for (int j = 0; j < n; j++) {
    const store_order_t *x = &orders[j];
    if (j == i || strcmp(x->kind, "package")) continue;
    int later = x->start_day > o->start_day || (x->start_day == o->start_day && x->id > o->id);
    if (later && x->start_day - 1 < end) end = x->start_day - 1 < o->start_day ? o->start_day - 1 : x->start_day - 1;
  }
  return end;
}

int tenant_order_of_scheme(const store_order_t *o, const char *scheme)
{
  size_t n = strlen(scheme);
  return !strncmp(o->book, scheme, n) && (o->book[n] == '@' || !o->book[n]);
}

int tenant_lifecycle(const store_app_t *app, const store_order_t *orders, int n, int64_t day, tenant_lifecycle_t *out)
{
  memset(out, 0, sizeof *out);
  bill_scheme_t s;
  if (bill_scheme_parse(app->scheme, &s)) return IMC_E_BILL_SCHEME;
  int held = edition_index(s, app->edition);
  if (held < 0) return IMC_E_BILL_EDITION;
  out->package_edition = -1;
  out->package_end_day = out->grace_end_day = -1;
  int last = -1; /* the edition of the package period ending last among those begun by the day */
  for (int i = 0; i < n; i++) {
    const store_order_t *o = &orders[i];
    if (strcmp(o->kind, "package") || !tenant_order_of_scheme(o, app->scheme)) continue;
    int e = edition_index(s, o->item);
    if (e < 0) continue;
    int64_t end = postpaid_end(orders, n, i);
    if (o->start_day <= day && day <= end && e > out->package_edition) out->package_edition = e;
    if (o->start_day <= day && (end > out->package_end_day || (end == out->package_end_day && e > last))) {
      out->package_end_day = end;
      last = e;
    }
  }
  int64_t grace = plan_grace_days(s);
  if (out->package_edition >= 0) {
    out->state = TENANT_LC_ACTIVE;
    out->edition = out->package_edition;
  } else if (held == 0 || grace < 0) {
    out->state = TENANT_LC_FREE;          /* L-1; legacy has no package (P-02) */
    out->edition = held;
  } else {
    out->edition = 0;                     /* limits fall back to the free edition */
    if (out->package_end_day >= 0) out->grace_end_day = out->package_end_day + grace;
    out->state = out->grace_end_day >= day ? TENANT_LC_GRACE : TENANT_LC_LAPSED;
  }
  int rc = plan_app_init(&out->plan, app->scheme, plan_edition_code(s, out->edition), app->region);
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    const store_order_t *o = &orders[i];
    if (strcmp(o->kind, "addon") || !tenant_order_of_scheme(o, app->scheme) || !tenant_order_in_force(orders, n, i, day)) continue;
    for (size_t k = 0; k < sizeof addon_holds / sizeof *addon_holds; k++) {
      if (strcmp(o->item, addon_holds[k].addon)) continue;
      int64_t v = addon_holds[k].hold == PLAN_HOLD_AVCHATROOM_UNLIMITED ? 1 : o->value;
      if (v > out->plan.hold[addon_holds[k].hold]) (void)plan_app_hold(&out->plan, addon_holds[k].hold, v); /* refused: no effect */
    }
  }
  out->keep = out->plan;
  if ((out->state == TENANT_LC_GRACE || out->state == TENANT_LC_LAPSED) && last > 0) {
    if ((rc = plan_app_init(&out->keep, app->scheme, plan_edition_code(s, last), app->region))) return rc;
    /* with the retention add-ons in force, which a renewal brings back (they run until their next order):
     * not billed for the grace days (the bill reads plan's holds), but nothing they keep is purged */
    for (int i = 0; i < n; i++) {
      const store_order_t *o = &orders[i];
      if (strcmp(o->kind, "addon") || !tenant_order_of_scheme(o, app->scheme) || !tenant_order_in_force(orders, n, i, day)) continue;
      for (size_t k = 0; k < sizeof addon_holds / sizeof *addon_holds; k++)
        if (!strcmp(o->item, addon_holds[k].addon) &&
            (addon_holds[k].hold == PLAN_HOLD_HISTORY_DAYS || addon_holds[k].hold == PLAN_HOLD_ROAMING_MONTHS) &&
            o->value > out->keep.hold[addon_holds[k].hold])
          (void)plan_app_hold(&out->keep, addon_holds[k].hold, o->value); /* refused: no effect */
    }
  }
  return 0;
}

int tenant_app_refusal(const tenant_app_t *a)
{
  if (a->lc_state == TENANT_LC_LAPSED) return IMC_E_PLAN_EXPIRED;   /* 60020: the package lapsed (P-45) */
  if (strcmp(a->rec.status, "active")) return IMC_E_APP_DISABLED;   /* 60016: suspended by the operator */
  return 0;
}
