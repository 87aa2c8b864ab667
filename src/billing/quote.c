/* quote.c — "what would this usage cost?": the `imcloud quote` argument
 * contract parsed into a request (pure: strings in, struct out), pricing on
 * one edition, and --compare across every edition of the book.
 *
 *   imcloud quote --scheme legacy|s2019|s2020|s2022|intl --edition EDITION --bill-month YYYY-MM
 *                 [--peak-dau N] [--mau N] [--peak-groups N] [--bandwidth-mbps N,N,...]
 *                 [--c2c-roaming-months N] [--history-days N]
 *                 [--addon NAME[=VALUE]]... [--json] [--compare]
 * Extensions (docs/billing.md): --call-minutes KIND=N,...  --usage FILE
 * (read by the CLI)  --pricebooks DIR (CLI)  --data DIR (accepted, unused). */
#include "billing/billing_int.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define perr imc_errf /* (err, cap, code, fmt, ...) */

typedef enum {
  Q_SCHEME, Q_EDITION, Q_MONTH, Q_PEAK_DAU, Q_MAU, Q_PEAK_GROUPS, Q_BANDWIDTH, Q_ROAMING, Q_HISTORY,
  Q_ADDON, Q_JSON, Q_COMPARE, Q_CALLS, Q_USAGE, Q_BOOKS, Q_DATA, Q_HELP, Q__COUNT
} qopt_t;

static const struct { const char *name; int takes_value, repeat; } qopts[Q__COUNT] = {
  [Q_SCHEME] = { "--scheme", 1, 0 },          [Q_EDITION] = { "--edition", 1, 0 },
  [Q_MONTH] = { "--bill-month", 1, 0 },       [Q_PEAK_DAU] = { "--peak-dau", 1, 0 },
  [Q_MAU] = { "--mau", 1, 0 },                [Q_PEAK_GROUPS] = { "--peak-groups", 1, 0 },
  [Q_BANDWIDTH] = { "--bandwidth-mbps", 1, 0 }, [Q_ROAMING] = { "--c2c-roaming-months", 1, 0 },
  [Q_HISTORY] = { "--history-days", 1, 0 },   [Q_ADDON] = { "--addon", 1, 1 },
  [Q_JSON] = { "--json", 0, 0 },              [Q_COMPARE] = { "--compare", 0, 0 },
  [Q_CALLS] = { "--call-minutes", 1, 0 },     [Q_USAGE] = { "--usage", 1, 0 },
  [Q_BOOKS] = { "--pricebooks", 1, 0 },       [Q_DATA] = { "--data", 1, 0 },
  [Q_HELP] = { "--help", 0, 0 },
};

static int num(const char *opt, const char *s, int64_t max, int64_t *out, char *err, size_t cap)
{
  int rc = imc_parse_i64(s, 0, max, out);
  if (rc == IMC_E_RANGE) return perr(err, cap, IMC_E_BILL_NUMBER, "%s: \"%s\" is out of range 0..%lld", opt, s, (long long)max);
  if (rc) return perr(err, cap, IMC_E_BILL_NUMBER, "%s: \"%s\" is not a non-negative integer", opt, s);
  return 0;
}

/* "300,500,200" into days. */
static int parse_bandwidth(const char *s, bill_usage_t *u, char *err, size_t cap)
{
  char buf[24];
  const char *p = s;
  u->bw_days = 0;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == 0 || n >= sizeof buf) return perr(err, cap, IMC_E_BILL_NUMBER, "--bandwidth-mbps: bad list \"%s\"", s);
    if (u->bw_days >= BILL_MAX_DAYS) return perr(err, cap, IMC_E_BILL_USAGE, "--bandwidth-mbps: at most %d daily values", BILL_MAX_DAYS);
    memcpy(buf, p, n);
    buf[n] = 0;
    int rc = num("--bandwidth-mbps", buf, BILL_USAGE_MAX, &u->bw_mbps[u->bw_days], err, cap);
    if (rc) return rc;
    u->bw_days++;
    if (!comma) return 0;
    p = comma + 1;
  }
}

/* "--call-minutes audio=1000,video_hd=20": kinds are checked against the book
 * later (bill_quote_resolve_calls); here they are kept by name. */
static int parse_calls(const char *s, bill_quote_req_t *r, char *err, size_t cap)
{
  const char *p = s;
  r->ncalls = 0;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p || (size_t)(eq - p) >= sizeof r->calls[0].kind || r->ncalls >= BILL_CALL_KINDS)
      return perr(err, cap, IMC_E_BILL_USAGE, "--call-minutes: expected KIND=N,... got \"%s\"", s);
    char v[24];
    size_t vn = n - (size_t)(eq + 1 - p);
    if (vn == 0 || vn >= sizeof v) return perr(err, cap, IMC_E_BILL_NUMBER, "--call-minutes: bad number in \"%s\"", s);
    memcpy(v, eq + 1, vn);
    v[vn] = 0;
    memcpy(r->calls[r->ncalls].kind, p, (size_t)(eq - p));
    r->calls[r->ncalls].kind[eq - p] = 0;
    for (int i = 0; i < r->ncalls; i++)
      if (!strcmp(r->calls[i].kind, r->calls[r->ncalls].kind))
        return perr(err, cap, IMC_E_BILL_USAGE, "--call-minutes: %s given twice", r->calls[i].kind);
    int rc = num("--call-minutes", v, BILL_USAGE_MAX, &r->calls[r->ncalls].minutes, err, cap);
    if (rc) return rc;
    r->ncalls++;
    if (!comma) break;
    p = comma + 1;
    if (!*p) return perr(err, cap, IMC_E_BILL_USAGE, "--call-minutes: trailing comma");
  }
  return 0;
}

static int parse_addon(const char *s, bill_quote_req_t *r, char *err, size_t cap)
{
  char name[32];
  const char *eq = strchr(s, '=');
  size_t n = eq ? (size_t)(eq - s) : strlen(s);
  if (n == 0 || n >= sizeof name) return perr(err, cap, IMC_E_BILL_ADDON, "--addon: bad add-on \"%s\"", s);
  memcpy(name, s, n);
  name[n] = 0;
  bill_addon_t a;
  if (bill_addon_parse(name, &a))
    return perr(err, cap, IMC_E_BILL_ADDON, "unknown add-on \"%s\" (known: avchatroom_unlimited, member_cap=N, "
                "groups_per_user=N, local_audit, av_call=basic|advanced|premium)", name);
  for (int i = 0; i < r->naddons; i++)
    if (r->addons[i].addon == a) return perr(err, cap, IMC_E_BILL_ADDON, "add-on %s given twice", name);
  if (r->naddons >= BILL_QUOTE_MAX_ADDONS) return perr(err, cap, IMC_E_BILL_ADDON, "too many add-ons");
  typeof(r->addons[0]) *x = &r->addons[r->naddons];
  memset(x, 0, sizeof *x);
  x->addon = a;
  if (eq) {
    const char *v = eq + 1;
    if (!*v) return perr(err, cap, IMC_E_BILL_ADDON, "--addon %s=: empty value", name);
    if (*v >= '0' && *v <= '9') {
      int rc = num("--addon", v, BILL_USAGE_MAX, &x->value, err, cap);
      if (rc) return rc;
      if (!x->value) return perr(err, cap, IMC_E_BILL_NUMBER, "--addon %s=0: the value must be positive", name);
    } else {
      if (strlen(v) >= sizeof x->value_name) return perr(err, cap, IMC_E_BILL_ADDON, "--addon %s: value too long", name);
      for (const char *q = v; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || *q == '_'))
          return perr(err, cap, IMC_E_BILL_ADDON, "--addon %s: bad value \"%s\"", name, v);
      strcpy(x->value_name, v);
    }
  }
  r->naddons++;
  return 0;
}

int bill_quote_parse(int argc, char *const *argv, bill_quote_req_t *r, char *err, size_t cap)
{
  memset(r, 0, sizeof *r);
  if (cap) err[0] = 0;
  int seen[Q__COUNT] = { 0 };
  const char *scheme = NULL, *month = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    if (strncmp(a, "--", 2)) return perr(err, cap, IMC_E_USAGE, "unexpected argument \"%s\"", a);
    const char *eq = strchr(a, '=');
    size_t alen = eq ? (size_t)(eq - a) : strlen(a);
    int o = -1;
    for (int k = 0; k < Q__COUNT; k++)
      if (strlen(qopts[k].name) == alen && !strncmp(a, qopts[k].name, alen)) o = k;
    if (o < 0) return perr(err, cap, IMC_E_USAGE, "unknown option %.*s", (int)alen, a);
    if (seen[o]++ && !qopts[o].repeat) return perr(err, cap, IMC_E_USAGE, "%s given twice", qopts[o].name);
    if (qopts[o].takes_value) {
      if (eq) val = eq + 1;
      else if (i + 1 < argc) val = argv[++i];
      else return perr(err, cap, IMC_E_USAGE, "%s needs a value", qopts[o].name);
    } else if (eq) {
      return perr(err, cap, IMC_E_USAGE, "%s takes no value", qopts[o].name);
    }
    int rc = 0;
    bill_usage_t *u = &r->usage;
    switch ((qopt_t)o) {
    case Q_SCHEME: scheme = val; break;
    case Q_EDITION: r->edition = val; break;
    case Q_MONTH: month = val; break;
    case Q_PEAK_DAU: rc = num(qopts[o].name, val, BILL_USAGE_MAX, &u->peak_dau, err, cap); u->given |= 1u << BILL_M_PEAK_DAU; break;
    case Q_MAU: rc = num(qopts[o].name, val, BILL_USAGE_MAX, &u->mau, err, cap); u->given |= 1u << BILL_M_MAU; break;
    case Q_PEAK_GROUPS: rc = num(qopts[o].name, val, BILL_USAGE_MAX, &u->peak_groups, err, cap); u->given |= 1u << BILL_M_PEAK_GROUPS; break;
    case Q_BANDWIDTH: rc = parse_bandwidth(val, u, err, cap); u->given |= 1u << BILL_M_BANDWIDTH; break;
    case Q_ROAMING: rc = num(qopts[o].name, val, 1200, &u->c2c_roaming_months, err, cap); u->given |= 1u << BILL_M_ROAMING_MONTHS; break;
    case Q_HISTORY: rc = num(qopts[o].name, val, 36500, &u->history_days, err, cap); u->given |= 1u << BILL_M_HISTORY_DAYS; break;
    case Q_ADDON: rc = parse_addon(val, r, err, cap); break;
    case Q_JSON: r->json = 1; break;
    case Q_COMPARE: r->compare = 1; break;
    case Q_CALLS: rc = parse_calls(val, r, err, cap); u->given |= 1u << BILL_M_CALL_MINUTES; break;
    case Q_USAGE: r->usage_file = val; break;
    case Q_BOOKS: r->pricebooks = val; break;
    case Q_DATA: break; /* every CLI verb takes --data; a quote needs no data */
    case Q_HELP: return 1;
    default: break;
    }
    if (rc) return rc;
  }
  if (!scheme) return perr(err, cap, IMC_E_USAGE, "--scheme is required (legacy, s2019, s2020, s2022, intl)");
  if (bill_scheme_parse(scheme, &r->scheme))
    return perr(err, cap, IMC_E_BILL_SCHEME, "unknown scheme \"%s\" (legacy, s2019, s2020, s2022, intl)", scheme);
  if (!r->edition && !r->compare) return perr(err, cap, IMC_E_USAGE, "--edition is required (or --compare)");
  if (!month) return perr(err, cap, IMC_E_USAGE, "--bill-month YYYY-MM is required");
  int y, m;
  if (imc_month_parse(month, &y, &m)) return perr(err, cap, IMC_E_BILL_MONTH, "--bill-month: \"%s\" is not a month YYYY-MM", month);
  r->month = y * 100 + m;
  if (r->usage.bw_days > imc_days_in_month(y, m))
    return perr(err, cap, IMC_E_BILL_USAGE, "--bandwidth-mbps: %d daily values, but %s has %d days", r->usage.bw_days,
                month, imc_days_in_month(y, m));
  return 0;
}

int bill_quote_resolve(const bill_book_t *b, bill_quote_req_t *r, int *edition, char *err, size_t cap)
{
  *edition = -1;
  if (r->edition) {
    *edition = bill_book_edition_find(b, r->edition);
    if (*edition < 0) {
      char list[96] = "";
      size_t n = 0;
      for (int i = 0; i < b->neditions; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", b->editions[i].code);
      return perr(err, cap, IMC_E_BILL_EDITION, "unknown edition \"%s\" for %s (%s)", r->edition,
                  bill_scheme_name(b->scheme), list);
    }
  }
  /* call kinds by name into the book's order */
  memset(r->usage.call_minutes, 0, sizeof r->usage.call_minutes);
  for (int i = 0; i < r->ncalls; i++) {
    int k = -1;
    for (int j = 0; bill_book_call_kind(b, j); j++)
      if (!strcmp(bill_book_call_kind(b, j), r->calls[i].kind)) k = j;
    if (k < 0) return perr(err, cap, IMC_E_BILL_USAGE, "the %s price book has no call kind \"%s\"",
                           bill_scheme_name(b->scheme), r->calls[i].kind);
    r->usage.call_minutes[k] = r->calls[i].minutes;
  }
  return 0;
}

int bill_quote(const bill_book_t *b, const bill_quote_req_t *r, int edition, bill_t *out, char *err, size_t cap)
{
  bill_order_t orders[1 + BILL_QUOTE_MAX_ADDONS];
  int n = 0;
  int y = r->month / 100, m = r->month % 100;
  if (!bill__month_ok(r->month)) return perr(err, cap, IMC_E_BILL_MONTH, "invalid month");
  int64_t first = imc_days_from_civil(y, m, 1);
  memset(orders, 0, sizeof orders);
  orders[n].edition = edition;
  orders[n].start_day = first;
  orders[n++].periods = 1;
  for (int i = 0; i < r->naddons; i++, n++) {
    orders[n].is_addon = 1;
    orders[n].addon = r->addons[i].addon;
    orders[n].value = r->addons[i].value;
    memcpy(orders[n].value_name, r->addons[i].value_name, sizeof orders[n].value_name);
    orders[n].start_day = first;
    orders[n].periods = 1;
  }
  bill_input_t in = { .month = r->month, .orders = orders, .norders = n, .usage = &r->usage, .strict = 1 };
  return bill_compute(b, &in, out, err, cap);
}

void bill_quote_compare(const bill_book_t *b, const bill_quote_req_t *r, bill_compare_t *out)
{
  out->n = b->neditions < 8 ? b->neditions : 8;
  out->cheapest = -1;
  out->month = r->month;
  for (int e = 0; e < out->n; e++) {
    out->e[e].reason[0] = 0;
    int rc = bill_quote(b, r, e, &out->e[e].bill, out->e[e].reason, sizeof out->e[e].reason);
    out->e[e].ok = rc == 0;
    out->e[e].breaks = rc == 0 && out->e[e].bill.nbreaks > 0;
    if (!out->e[e].ok || out->e[e].breaks) continue;
    if (out->cheapest < 0 || out->e[e].bill.total_fen < out->e[out->cheapest].bill.total_fen) out->cheapest = e;
  }
}
