/* import.c — `imcloud usage import`: a usage document (the format `imcloud
 * quote --usage` reads, docs/billing.md "Usage documents") validated by the
 * billing library's parser against the app's price book, then kept (source
 * name and text, immutable) and recorded as imported figures, all in one
 * transaction. */
#include "billing/billing.h"
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "util/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ierr(err, cap, ...) imc_errf(err, cap, IMC_E_BILL_USAGE, __VA_ARGS__)

/* The month of the document's days when the caller gave none. */
static int month_of_days(json_t *root, int32_t *month, char *err, size_t cap)
{
  json_t *days = json_object_get(root, "days"), *d;
  size_t i;
  int32_t found = 0;
  json_array_foreach(days, i, d) {
    int y, m, dd;
    json_t *dt = json_object_get(d, "date");
    if (!json_is_string(dt) || imc_date_parse(json_string_value(dt), &y, &m, &dd)) continue; /* the parser says why */
    if (!found) found = y * 100 + m;
    else if (found != y * 100 + m) return ierr(err, cap, "days[%zu].date %s is not in %04d-%02d: import one month at a time", i,
                                               json_string_value(dt), found / 100, found % 100);
  }
  if (!found) return ierr(err, cap, "the document has no dated days: give the month (--month YYYY-MM)");
  *month = found;
  return 0;
}

/* The book the month's bill prices its month-level figures with (the
 * figures are checked against it: its call kinds): the app's book, and for
 * an app moved off legacy (P-07) the scheme it left when the month's first
 * day is before the day of the move (billing-scheme-change.md §3, §4: a
 * legacy month, and the month of the move, whose undated figures count with
 * its first day). It was the app's current scheme's built-in book: a legacy
 * month of a moved app was checked against s2022's (and an operator's book
 * given with --pricebooks-dir was not the one checked). */
static int month_book(store_t *s, const store_app_t *app, int32_t yyyymm, const bill_book_t **book, char *err, size_t cap)
{
  store_app_t a = *app;
  tenant_scheme_change_t ch;
  int tz, rc = tenant_app_scheme_change(s, a.sdkappid, &ch);
  if (!rc && ch.at_s && yyyymm && !(rc = meter_zone_default(s, IMC_TZ_CHINA_S, &tz)) &&
      !(rc = meter_app_zone(s, a.sdkappid, tz, &tz)) &&
      imc_days_from_civil(yyyymm / 100, yyyymm % 100, 1) < imc_day_of(ch.at_s, tz)) {
    snprintf(a.scheme, sizeof a.scheme, "%s", ch.scheme);
    snprintf(a.edition, sizeof a.edition, "%s", ch.edition);
  }
  if (rc) return imc_errf(err, cap, rc, "the scheme history of app %u: %s", a.sdkappid, imc_strerror(rc));
  return tenant_app_book(s, &a, book, err, cap);
}

typedef struct row { int32_t day; const char *metric; int64_t value; } row_t;

/* Rows of a validated document: daily figures, then month-level ones. */
static int collect(json_t *root, int32_t month, const bill_usage_t *u, row_t *rows, int *n, char *err, size_t cap)
{
  static const char *const daily[] = { METER_M_DAU, METER_M_GROUPS, METER_M_BW_MBPS };
  json_t *days = json_object_get(root, "days"), *d;
  size_t i;
  *n = 0;
  if (json_is_array(json_object_get(root, "bandwidth_mbps")))
    return ierr(err, cap, "bandwidth_mbps without dates cannot be recorded: give it per day in days[]");
  json_array_foreach(days, i, d) {
    int y, m, dd;
    imc_date_parse(json_string_value(json_object_get(d, "date")), &y, &m, &dd);
    for (size_t k = 0; k < sizeof daily / sizeof *daily; k++) {
      json_t *v = json_object_get(d, daily[k]);
      if (v) rows[(*n)++] = (row_t){ y * 10000 + m * 100 + dd, daily[k], json_integer_value(v) };
    }
  }
  static const struct { const char *key; bill_metric_t m; size_t off; } month_rows[] = {
    { "mau", BILL_M_MAU, offsetof(bill_usage_t, mau) },
    { "c2c_roaming_months", BILL_M_ROAMING_MONTHS, offsetof(bill_usage_t, c2c_roaming_months) },
    { "history_days", BILL_M_HISTORY_DAYS, offsetof(bill_usage_t, history_days) },
  };
  int32_t mday = month * 100;
  for (size_t k = 0; k < sizeof month_rows / sizeof *month_rows; k++)
    if (json_object_get(root, month_rows[k].key))
      rows[(*n)++] = (row_t){ mday, month_rows[k].key, *(const int64_t *)((const char *)u + month_rows[k].off) };
  if (json_object_get(root, "peak_dau")) rows[(*n)++] = (row_t){ mday, "peak_dau", u->peak_dau };
  if (json_object_get(root, "peak_groups")) rows[(*n)++] = (row_t){ mday, "peak_groups", u->peak_groups };
  json_t *calls = json_object_get(root, "call_minutes"), *v;
  const char *kind;
  json_object_foreach(calls, kind, v) {
    int k = meter_call_kind(kind);
    if (k < 0) return ierr(err, cap, "call_minutes: \"%s\" is not a metered call kind (audio, video_sd, video_hd, video_fhd)", kind);
    rows[(*n)++] = (row_t){ mday, meter_call_metric(k), json_integer_value(v) };
  }
  return 0;
}

/* The month's bill priced from what storage holds now, the way the bill
 * (meter_bill_compute) prices it: the same book, scheme split, orders and
 * retention add-ons. 0, or the pricing's error with its reason in err. */
static int price_month(store_t *s, uint32_t app, int32_t yyyymm, char *err, size_t cap)
{
  int tz, rc = meter_zone_default(s, IMC_TZ_CHINA_S, &tz);
  if (rc) return imc_errf(err, cap, rc, "the server's billing zone: %s", imc_strerror(rc));
  char *json = NULL;
  int64_t totals[3];
  rc = meter_bill_compute(s, app, yyyymm, tz, meter_orders_tenant, NULL, &json, totals, err, cap);
  free(json);
  return rc;
}

int meter_import(store_t *s, uint32_t app, int32_t yyyymm, const char *source, const char *text, size_t len,
                 int64_t now_s, int64_t *doc_id, char *err, size_t cap)
{
  if (cap) err[0] = 0;
  if (!source || !imc_utf8_valid(source, strlen(source))) return ierr(err, cap, "the document's source name must be UTF-8");
  store_app_t a;
  int rc = store_app_get(s, app, &a);
  if (rc) return rc == IMC_E_NOTFOUND ? imc_errf(err, cap, rc, "no app %u", app) : rc;
  const bill_book_t *book = NULL;
  if (yyyymm && (rc = month_book(s, &a, yyyymm, &book, err, cap))) return rc;
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return ierr(err, cap, "usage JSON error at line %d column %d: %s", je.line, je.column, je.text);
  bill_usage_t u;
  row_t rows[3 * BILL_MAX_DAYS + 16];
  int n = 0;
  if (!json_is_object(root)) rc = ierr(err, cap, "usage must be a JSON object");
  else if (!yyyymm) rc = month_of_days(root, &yyyymm, err, cap);
  if (!rc && !book) rc = month_book(s, &a, yyyymm, &book, err, cap); /* the month from the days */
  if (!rc) rc = bill_usage_parse_json(text, len, book, yyyymm, &u, err, cap);
  if (!rc) rc = collect(root, yyyymm, &u, rows, &n, err, cap);
  json_decref(root);
  if (rc) return rc;
  int64_t mins = 0;
  for (int i = 0; i < BILL_CALL_KINDS; i++) mins |= u.call_minutes[i];
  if (mins) { /* P-46: only a month with an av_call package in force has billable minutes */
    int64_t first = imc_days_from_civil(yyyymm / 100, yyyymm % 100, 1);
    char in[32];
    snprintf(in, sizeof in, "in %04d-%02d", yyyymm / 100, yyyymm % 100);
    if ((rc = meter__call_package_in(s, app, first, first + imc_days_in_month(yyyymm / 100, yyyymm % 100) - 1, in, err, cap)))
      return rc;
  }
  /* The month is priced before and after the import, the way its bill
   * will be: an import after which the bill cannot be priced, for a reason
   * the month did not have without it, is refused and writes nothing (a
   * history_days beyond what the edition can buy made the month unbillable:
   * P-08 for legacy). A month unbillable already (a book without the
   * operator's prices, P-59) still takes imports: they are not the cause. */
  char before[256], after[256];
  int rc_before = price_month(s, app, yyyymm, before, sizeof before);
  if (rc_before == IMC_E_NOMEM || rc_before == IMC_E_IO || rc_before == IMC_E_BUSY)
    return imc_errf(err, cap, rc_before, "pricing %04d-%02d: %s", yyyymm / 100, yyyymm % 100, before);
  if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) return imc_errf(err, cap, rc, "the database is busy");
  rc = store_usage_import_doc(s, app, yyyymm, source, text, now_s, doc_id);
  for (int i = 0; !rc && i < n; i++) rc = store_usage_import_put(s, app, rows[i].day, rows[i].metric, rows[i].value, *doc_id);
  if (rc) {
    store_exec(s, "ROLLBACK");
    return imc_errf(err, cap, rc, "storing the import failed: %s", imc_strerror(rc));
  }
  int rc_after = price_month(s, app, yyyymm, after, sizeof after);
  if (rc_after && (!rc_before || rc_after != rc_before || strcmp(after, before))) {
    store_exec(s, "ROLLBACK");
    return imc_errf(err, cap, rc_after, "the bill of %04d-%02d could not be priced with these figures: %s", yyyymm / 100,
                    yyyymm % 100, after);
  }
  if ((rc = store_exec(s, "COMMIT"))) {
    store_exec(s, "ROLLBACK");
    return imc_errf(err, cap, rc, "storing the import failed: %s", imc_strerror(rc));
  }
  return 0;
}
