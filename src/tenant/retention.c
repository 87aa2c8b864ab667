/* retention.c — retention add-ons: the message history an app keeps beyond
 * its edition's free retention, bought as an add-on order and billed
 * monthly as usage (docs/decisions/retention-addons.md).
 *
 *   c2c_roaming_months=N  S-2019 C2C roaming extension (P-21: C2C only, 30
 *                         days per month) and S-2020 history extension
 *                         (P-35: C2C and group); priced per extended month
 *                         on the month's peak DAU.
 *   history_days=N        S-2022 / international / legacy retention tier
 *                         (P-46 "history" item; the tiers the edition is
 *                         offered).
 *
 * Unlike the prepaid add-ons (T to T-1, orders.c) a retention add-on is a
 * postpaid setting: the order is recorded without a debit (price 0, pay
 * "postpaid"), runs from its day until the app's next order of the same
 * add-on (value 0 = back to the free retention), and the monthly bill
 * prices the highest value held in the month (meter/orders.c). Pure: the
 * order is written by tenant_addon_buy (orders.c), which calls these. */
#include "billing/billing.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "util/json_whole.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *addon;
  plan_hold_t hold;
  bill_metric_t metric;
  int64_t max;               /* as `imcloud quote` bounds the figure */
  const char *unit, *rule, *other;
} rows[] = {
  { "c2c_roaming_months", PLAN_HOLD_ROAMING_MONTHS, BILL_M_ROAMING_MONTHS, 1200, "months", "P-21, P-35",
    "its retention is sold as history_days tiers (P-46)" },
  { "history_days", PLAN_HOLD_HISTORY_DAYS, BILL_M_HISTORY_DAYS, 36500, "days", "P-46",
    "its history is extended by months: c2c_roaming_months (P-21, P-35)" },
};
#define NROWS (int)(sizeof rows / sizeof *rows)

static int row_of(const char *addon)
{
  for (int i = 0; addon && i < NROWS; i++)
    if (!strcmp(rows[i].addon, addon)) return i;
  return -1;
}

int tenant_retention_addon(const char *addon, plan_hold_t *hold)
{
  int r = row_of(addon);
  if (r >= 0 && hold) *hold = rows[r].hold;
  return r >= 0;
}

static int is_retention(const store_order_t *o) { return !strcmp(o->kind, "addon") && row_of(o->item) >= 0; }

int64_t tenant_order_last_day(const store_order_t *v, int n, int i)
{
  const store_order_t *o = &v[i];
  if (!is_retention(o)) return o->end_day;
  int64_t end = o->end_day;
  for (int j = 0; j < n; j++) {
    const store_order_t *x = &v[j];
    if (j == i || strcmp(x->kind, "addon") || strcmp(x->item, o->item)) continue;
    int later = x->start_day > o->start_day || (x->start_day == o->start_day && x->id > o->id);
    if (later && x->start_day - 1 < end) end = x->start_day - 1; /* superseded (may leave it no day at all) */
  }
  return end;
}

int tenant_order_in_force(const store_order_t *v, int n, int i, int64_t day)
{
  return v[i].start_day <= day && day <= tenant_order_last_day(v, n, i);
}


/* The add-on orders as listed (tenant.h). */
json_t *tenant_addons_json(const store_order_t *v, int n, int64_t day)
{
  json_t *arr = json_array();
  int bad = 0; /* whole or NULL (§90) */
  for (int i = 0; !bad && i < n; i++) {
    if (strcmp(v[i].kind, "addon")) continue;
    json_t *j = tenant_order_json(&v[i]);
    char last[16];
    imc_date_format(tenant_order_last_day(v, n, i), last, sizeof last);
    jwhole_put(j, "in_force", json_boolean(tenant_order_in_force(v, n, i, day)), &bad);
    jwhole_put(j, "last_day", json_string(last), &bad);
    jwhole_add(arr, j, &bad);
  }
  return jwhole_take(arr, bad);
}

/* ---- buying ------------------------------------------------------------------------ */
/* The values the edition may hold, for the refusal ("30, 90, 180, 360"). */
static void offers(bill_scheme_t s, int edition, plan_hold_t hold, const char *region, char *out, size_t cap)
{
  out[0] = 0;
  if (hold == PLAN_HOLD_ROAMING_MONTHS) {
    snprintf(out, cap, "1-1200 months on editions billed for usage:");
    for (int e = 0; e < plan_editions(s); e++) {
      plan_app_t p;
      if (plan_app_init(&p, bill_scheme_name(s), plan_edition_code(s, e), region) || plan_app_hold(&p, hold, 1)) continue;
      size_t l = strlen(out);
      snprintf(out + l, cap - l, " %s", plan_edition_code(s, e));
    }
    return;
  }
  plan_app_t p;
  if (plan_app_init(&p, bill_scheme_name(s), plan_edition_code(s, edition), region)) return;
  for (int64_t d = 1; d <= 36500; d++) { /* the tiers are days; the books sell at most a few */
    if (plan_app_hold(&p, hold, d)) continue;
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "%s%lld", l ? ", " : "", (long long)d);
  }
  if (!out[0]) snprintf(out, cap, "none");
}

int tenant_retention_check(const store_app_t *app, const store_order_t *orders, int n, const char *addon, int64_t value,
                           int64_t day, char *err, size_t errcap)
{
  int r = row_of(addon);
  if (r < 0) return imc_errf(err, errcap, IMC_E_BILL_ADDON, "'%s' is not a retention add-on", addon ? addon : "");
  bill_scheme_t s;
  if (bill_scheme_parse(app->scheme, &s)) return imc_errf(err, errcap, IMC_E_BILL_SCHEME, "app %u has an unknown scheme", app->sdkappid);
  const bill_book_t *b = bill_book_builtin(s);
  if (!b) return imc_errf(err, errcap, IMC_E_BILL_BOOK, "built-in %s book: %s", app->scheme, bill_book_builtin_error(s));
  if (!bill_book_prices(b, rows[r].metric))
    return imc_errf(err, errcap, IMC_E_BILL_ADDON_FORBIDDEN, "the %s price book sells no %s: %s", app->scheme, addon, rows[r].other);
  if (value < 0 || value > rows[r].max)
    return imc_errf(err, errcap, IMC_E_BILL_ADDON, "%s=%lld: out of range (0-%lld %s)", addon, (long long)value,
                    (long long)rows[r].max, rows[r].unit);
  tenant_lifecycle_t at;
  int rc = tenant_lifecycle(app, orders, n, day, &at);
  if (rc) return imc_errf(err, errcap, rc, "app %u: %s", app->sdkappid, imc_strerror(rc));
  /* L-4: the edition in force on the day may hold that value (P-15, P-30:
   * the trial buys nothing; P-46: the edition's tiers) */
  plan_app_t probe = at.plan;
  if (value && plan_app_hold(&probe, rows[r].hold, value)) {
    char of[160];
    offers(s, at.edition, rows[r].hold, app->region, of, sizeof of);
    return imc_errf(err, errcap, IMC_E_BILL_ADDON_FORBIDDEN, "%s=%lld is not offered to the %s %s edition (%s): %s",
                    addon, (long long)value, app->scheme, plan_edition_code(s, at.edition), rows[r].rule, of);
  }
  /* the same setting already in force on that day (and not superseded later) */
  for (int i = 0; i < n; i++) {
    if (strcmp(orders[i].kind, "addon") || strcmp(orders[i].item, addon)) continue;
    if (tenant_order_in_force(orders, n, i, day) && orders[i].value == value) {
      char a[16];
      imc_date_format(orders[i].start_day, a, sizeof a);
      return imc_errf(err, errcap, IMC_E_EXISTS, "%s=%lld is already in force since %s", addon, (long long)value, a);
    }
  }
  if (!value) {
    int held = 0;
    for (int i = 0; i < n; i++)
      if (!strcmp(orders[i].kind, "addon") && !strcmp(orders[i].item, addon) && orders[i].value &&
          tenant_order_last_day(orders, n, i) >= day)
        held = 1;
    if (!held) return imc_errf(err, errcap, IMC_E_EXISTS, "%s: nothing held to end (0 = back to the free retention)", addon);
  }
  return 0;
}

void tenant_retention_order(const store_app_t *app, const char *addon, int64_t value, int64_t day, const char *reference,
                            const char *book, int64_t now_s, store_order_t *o)
{
  memset(o, 0, sizeof *o);
  snprintf(o->kind, sizeof o->kind, "addon");
  snprintf(o->item, sizeof o->item, "%s", addon);
  o->value = value;
  o->sdkappid = app->sdkappid;
  o->customer_id = app->customer_id;
  o->at_s = now_s;
  o->anchor_day = o->start_day = day;
  o->period = 0;
  o->end_day = imc_days_from_civil(9999, 12, 31); /* until the next order of this add-on */
  snprintf(o->book, sizeof o->book, "%s", book);
  o->price_fen = 0;                               /* billed monthly as usage (meter/orders.c) */
  snprintf(o->pay, sizeof o->pay, "postpaid");
  snprintf(o->reference, sizeof o->reference, "%s", reference);
}
