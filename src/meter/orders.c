/* orders.c — the purchase history a bill is priced with, from the app's
 * stored orders (src/tenant/orders.c): the orders provider of the bill run,
 * `imcloud bill` and the server's scheduled bill run.
 *
 * Stored orders are one row per period (anchor_day = the first T, period k);
 * the billing library takes one order per first T with a count of periods
 * (bill_order_t), so the rows of one (kind, item, value, anchor_day) become
 * one order of max(period)+1 periods when they are the contiguous periods
 * 0..max, and one single-period order each otherwise. A postpaid package
 * (intl, P-51) runs until the app's next package order: it gets the periods
 * that reach the end of the usage month or that next order, whichever is
 * first, and ends there (bill_order_t.end_day: the bill neither charges nor
 * holds it after the next order). Retention add-ons (tenant/retention.c) are
 * not orders to the billing library: they are priced as the usage month's
 * c2c_roaming_months / history_days (meter__usage_retention). */
#include "billing/billing.h"
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_group(const store_order_t *a, const store_order_t *b)
{
  return !strcmp(a->kind, b->kind) && !strcmp(a->item, b->item) && a->value == b->value &&
         !strcmp(a->value_name, b->value_name) && a->anchor_day == b->anchor_day && !strcmp(a->pay, b->pay);
}

/* The day before the app's next package order after row i (before its own
 * start when replaced on its first day), or -1 when none follows: a
 * postpaid package runs until then (P-51). */
static int64_t replaced_on(const store_order_t *v, int n, int i)
{
  int64_t end = -1;
  for (int j = 0; j < n; j++) {
    if (j == i || strcmp(v[j].kind, "package")) continue;
    int later = v[j].start_day > v[i].start_day || (v[j].start_day == v[i].start_day && v[j].id > v[i].id);
    if (later && (end < 0 || v[j].start_day - 1 < end)) end = v[j].start_day - 1;
  }
  return end;
}

/* Last day a postpaid package row runs: until the next package order. */
static int64_t postpaid_end(const store_order_t *v, int n, int i)
{
  int64_t r = replaced_on(v, n, i);
  return r >= 0 && r < v[i].end_day ? r : v[i].end_day;
}

static int to_bill(const bill_book_t *b, const store_order_t *o, int64_t start, int32_t periods, bill_order_t *out,
                   char *err, size_t cap)
{
  memset(out, 0, sizeof *out);
  out->start_day = start;
  out->periods = periods;
  if (!strcmp(o->kind, "package")) {
    if ((out->edition = bill_book_edition_find(b, o->item)) < 0)
      return imc_errf(err, cap, IMC_E_BILL_EDITION, "order %lld of app %u names edition \"%s\", unknown to its book",
                      (long long)o->id, o->sdkappid, o->item);
    return 0;
  }
  out->is_addon = 1;
  if (bill_addon_parse(o->item, &out->addon))
    return imc_errf(err, cap, IMC_E_BILL_ADDON, "order %lld of app %u names add-on \"%s\", unknown", (long long)o->id,
                    o->sdkappid, o->item);
  out->value = o->value;
  snprintf(out->value_name, sizeof out->value_name, "%s", o->value_name);
  return 0;
}

int meter_orders_tenant(void *ud, store_t *s, const store_app_t *app, int32_t month, bill_order_t *orders, int cap, int *n,
                        char *err, size_t errcap)
{
  (void)ud;
  *n = 0;
  const bill_book_t *b; /* the book the bill is priced with: the orders' edition codes are its */
  int rc = tenant_app_book(s, app, &b, err, errcap);
  if (rc) return rc;
  int y = month / 100, m = month % 100;
  int64_t first = imc_days_from_civil(y, m, 1), last = first + imc_days_in_month(y, m) - 1;
  store_order_t *v = NULL;
  int nv = 0;
  if ((rc = tenant_app_orders(s, app->sdkappid, &v, &nv))) return imc_errf(err, errcap, rc, "orders of app %u: %s", app->sdkappid, imc_strerror(rc));
  char *done = calloc((size_t)nv + 1, 1);
  if (!done) { free(v); return IMC_E_NOMEM; }
  for (int i = 0; i < nv && !rc; i++) {
    if (done[i]) continue;
    const store_order_t *o = &v[i];
    if (!strcmp(o->kind, "addon") && tenant_retention_addon(o->item, NULL)) continue; /* usage, below */
    if (!tenant_order_of_scheme(o, app->scheme)) continue; /* another scheme's order (P-07) */
    /* the group of o: its rows, the highest period, whether they are 0..max */
    int32_t maxp = -1, count = 0;
    int64_t end = -1;
    for (int j = i; j < nv; j++) {
      if (!same_group(o, &v[j])) continue;
      count++;
      if (v[j].period > maxp) maxp = v[j].period;
      int64_t e = strcmp(v[j].pay, "postpaid") ? v[j].end_day : postpaid_end(v, nv, j);
      if (e > end) end = e;
    }
    /* bill_compute ignores orders outside the month (after its grace days):
     * only those that can touch it are passed, to stay within cap */
    int64_t grace = 62;
    if (o->anchor_day > last || end + grace < first) {
      for (int j = i; j < nv; j++) if (same_group(o, &v[j])) done[j] = 1;
      continue;
    }
    int contiguous = count == maxp + 1;
    for (int j = i; j < nv && !rc; j++) {
      if (!same_group(o, &v[j]) || done[j]) continue;
      done[j] = 1;
      int32_t periods = 1;
      int64_t start = contiguous ? o->anchor_day : v[j].start_day;
      if (contiguous) periods = maxp + 1;
      if (!strcmp(v[j].pay, "postpaid")) { /* runs to its end, clipped at the month's last day */
        int64_t until = end < last ? end : last;
        while (periods < 1200 && bill_period_start(start, periods) <= until) periods++;
      }
      if (*n >= cap) { rc = imc_errf(err, errcap, IMC_E_BILL_USAGE, "app %u has more than %d orders touching %04d-%02d", app->sdkappid, cap, y, m); break; }
      if ((rc = to_bill(b, &v[j], start, periods, &orders[*n], err, errcap))) break;
      if (!strcmp(v[j].pay, "postpaid") && !strcmp(v[j].kind, "package")) {
        int64_t r = replaced_on(v, nv, j); /* its period ends there, for the fee and the edition */
        if (r >= 0) orders[*n].end_day = r < start ? start - 1 : r;
      }
      (*n)++;
      if (contiguous) { for (int k = j; k < nv; k++) if (same_group(o, &v[k])) done[k] = 1; }
    }
  }
  free(done);
  free(v);
  return rc;
}

/* P-21, P-35, P-46: the retention an app held in the usage month, as the
 * bill's usage — per day of the month the life cycle's holds (what the
 * server enforced that day: an add-on the edition in force may not hold
 * counts nothing), the month's value being the highest day's, like peak DAU
 * (P-24); merged with imported figures by max. */
int meter__usage_retention(store_t *s, const store_app_t *app, int32_t month, bill_usage_t *u, char *err, size_t errcap)
{
  store_order_t *v = NULL;
  int nv = 0, rc = tenant_app_orders(s, app->sdkappid, &v, &nv), any = 0;
  if (rc) return imc_errf(err, errcap, rc, "orders of app %u: %s", app->sdkappid, imc_strerror(rc));
  for (int i = 0; i < nv && !any; i++) any = !strcmp(v[i].kind, "addon") && tenant_retention_addon(v[i].item, NULL);
  int y = month / 100, m = month % 100;
  int64_t first = imc_days_from_civil(y, m, 1), days = imc_days_in_month(y, m);
  for (int64_t d = first; any && d < first + days; d++) {
    tenant_lifecycle_t lc;
    if ((rc = tenant_lifecycle(app, v, nv, d, &lc))) {
      imc_errf(err, errcap, rc, "app %u on its retention add-ons: %s", app->sdkappid, imc_strerror(rc));
      break;
    }
    if (lc.plan.hold[PLAN_HOLD_ROAMING_MONTHS] > u->c2c_roaming_months) u->c2c_roaming_months = lc.plan.hold[PLAN_HOLD_ROAMING_MONTHS];
    if (lc.plan.hold[PLAN_HOLD_HISTORY_DAYS] > u->history_days) u->history_days = lc.plan.hold[PLAN_HOLD_HISTORY_DAYS];
  }
  free(v);
  return rc;
}
