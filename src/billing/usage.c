/* usage.c — the usage-import document (docs/billing.md "Usage documents")
 * parsed into a bill_usage_t: strict types, known keys only, integers in
 * range, daily rows folded into monthly peaks. Pure. */
#include "billing/billing_int.h"
#include "util/date.h"
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define uerr(err, cap, ...) imc_errf(err, cap, IMC_E_BILL_USAGE, __VA_ARGS__)

static int get_int(json_t *v, const char *what, int64_t max, int64_t *out, char *err, size_t cap)
{
  if (!json_is_integer(v)) return uerr(err, cap, "%s must be an integer", what);
  json_int_t x = json_integer_value(v);
  if (x < 0 || x > max) return uerr(err, cap, "%s = %lld is out of range 0..%lld", what, (long long)x, (long long)max);
  *out = (int64_t)x;
  return 0;
}

static int parse_days(json_t *days, int32_t month, bill_usage_t *u, uint32_t direct, char *err, size_t cap)
{
  if (!json_is_array(days)) return uerr(err, cap, "\"days\" must be an array");
  if (json_array_size(days) > BILL_MAX_DAYS) return uerr(err, cap, "\"days\" has more than %d entries", BILL_MAX_DAYS);
  int64_t seen[BILL_MAX_DAYS];
  int has_bw = 0;
  for (size_t i = 0; i < json_array_size(days); i++) {
    json_t *d = json_array_get(days, i);
    char what[48];
    if (!json_is_object(d)) return uerr(err, cap, "days[%zu] must be an object", i);
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v) {
      if (strcmp(k, "date") && strcmp(k, "dau") && strcmp(k, "groups") && strcmp(k, "bandwidth_mbps"))
        return uerr(err, cap, "days[%zu]: unknown key \"%s\"", i, k);
    }
    json_t *dt = json_object_get(d, "date");
    int y, m, dd;
    if (!json_is_string(dt) || imc_date_parse(json_string_value(dt), &y, &m, &dd))
      return uerr(err, cap, "days[%zu].date must be \"YYYY-MM-DD\"", i);
    if (month && y * 100 + m != month) return uerr(err, cap, "days[%zu].date %s is not in the bill month", i, json_string_value(dt));
    seen[i] = imc_days_from_civil(y, m, dd);
    for (size_t j = 0; j < i; j++)
      if (seen[j] == seen[i]) return uerr(err, cap, "days[%zu].date %s given twice", i, json_string_value(dt));
    int64_t x;
    int rc;
    if ((v = json_object_get(d, "dau"))) {
      snprintf(what, sizeof what, "days[%zu].dau", i);
      if ((direct & (1u << BILL_M_PEAK_DAU))) return uerr(err, cap, "give peak_dau or daily dau, not both");
      if ((rc = get_int(v, what, BILL_USAGE_MAX, &x, err, cap))) return rc;
      if (x > u->peak_dau) u->peak_dau = x; /* P-24: the month's highest daily DAU */
      u->given |= 1u << BILL_M_PEAK_DAU;
    }
    if ((v = json_object_get(d, "groups"))) {
      snprintf(what, sizeof what, "days[%zu].groups", i);
      if ((direct & (1u << BILL_M_PEAK_GROUPS))) return uerr(err, cap, "give peak_groups or daily groups, not both");
      if ((rc = get_int(v, what, BILL_USAGE_MAX, &x, err, cap))) return rc;
      if (x > u->peak_groups) u->peak_groups = x; /* M-4 */
      u->given |= 1u << BILL_M_PEAK_GROUPS;
    }
    if ((v = json_object_get(d, "bandwidth_mbps"))) {
      snprintf(what, sizeof what, "days[%zu].bandwidth_mbps", i);
      if ((direct & (1u << BILL_M_BANDWIDTH))) return uerr(err, cap, "give bandwidth_mbps or daily values, not both");
      if ((rc = get_int(v, what, BILL_USAGE_MAX, &u->bw_mbps[u->bw_days], err, cap))) return rc;
      u->bw_days++; /* M-5: one daily peak per day */
      has_bw = 1;
    }
  }
  if (has_bw) u->given |= 1u << BILL_M_BANDWIDTH;
  return 0;
}

int bill_usage_parse_json(const char *text, size_t len, const bill_book_t *book, int32_t month, bill_usage_t *out,
                          char *err, size_t cap)
{
  if (cap) err[0] = 0;
  memset(out, 0, sizeof *out);
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return uerr(err, cap, "usage JSON error at line %d column %d: %s", je.line, je.column, je.text);
  int rc = 0;
  if (!json_is_object(root)) { rc = uerr(err, cap, "usage must be a JSON object"); goto done; }
  static const struct { const char *key; bill_metric_t m; int64_t max; size_t off; } scalars[] = {
    { "peak_dau", BILL_M_PEAK_DAU, BILL_USAGE_MAX, offsetof(bill_usage_t, peak_dau) },
    { "mau", BILL_M_MAU, BILL_USAGE_MAX, offsetof(bill_usage_t, mau) },
    { "peak_groups", BILL_M_PEAK_GROUPS, BILL_USAGE_MAX, offsetof(bill_usage_t, peak_groups) },
    { "c2c_roaming_months", BILL_M_ROAMING_MONTHS, 1200, offsetof(bill_usage_t, c2c_roaming_months) },
    { "history_days", BILL_M_HISTORY_DAYS, 36500, offsetof(bill_usage_t, history_days) },
  };
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    size_t i;
    for (i = 0; i < sizeof scalars / sizeof *scalars; i++) if (!strcmp(k, scalars[i].key)) break;
    if (i < sizeof scalars / sizeof *scalars) {
      if ((rc = get_int(v, k, scalars[i].max, (int64_t *)((char *)out + scalars[i].off), err, cap))) goto done;
      out->given |= 1u << scalars[i].m;
    } else if (!strcmp(k, "bandwidth_mbps")) {
      if (!json_is_array(v) || json_array_size(v) > BILL_MAX_DAYS) { rc = uerr(err, cap, "bandwidth_mbps must be an array of at most %d daily peaks", BILL_MAX_DAYS); goto done; }
      for (size_t j = 0; j < json_array_size(v); j++)
        if ((rc = get_int(json_array_get(v, j), "bandwidth_mbps[]", BILL_USAGE_MAX, &out->bw_mbps[j], err, cap))) goto done;
      out->bw_days = (int32_t)json_array_size(v);
      out->given |= 1u << BILL_M_BANDWIDTH;
    } else if (!strcmp(k, "call_minutes")) {
      if (!json_is_object(v)) { rc = uerr(err, cap, "call_minutes must be an object {\"kind\": minutes}"); goto done; }
      const char *ck;
      json_t *cv;
      json_object_foreach(v, ck, cv) {
        int idx = -1;
        for (int j = 0; book && bill_book_call_kind(book, j); j++)
          if (!strcmp(bill_book_call_kind(book, j), ck)) idx = j;
        if (idx < 0) { rc = uerr(err, cap, "call_minutes: unknown call kind \"%s\"", ck); goto done; }
        if ((rc = get_int(cv, "call_minutes", BILL_USAGE_MAX, &out->call_minutes[idx], err, cap))) goto done;
      }
      out->given |= 1u << BILL_M_CALL_MINUTES;
    } else if (strcmp(k, "days")) {
      rc = uerr(err, cap, "unknown usage key \"%s\"", k);
      goto done;
    }
  }
  json_t *days = json_object_get(root, "days");
  if (days) rc = parse_days(days, month, out, out->given, err, cap);
done:
  json_decref(root);
  if (rc) memset(out, 0, sizeof *out);
  return rc;
}
