/* compute.c — one month's bill from a price book, the purchase orders and the
 * month's usage. Pure; no allocation; every amount goes through checked
 * integer arithmetic and every rounding is ceil, stated by the book.
 *
 * Order of work (docs/billing.md "How a bill is computed"):
 *  1. the bill edition: the highest-ranked edition held on any day of the
 *     month (package orders, counting the grace days after a package), else
 *     the free edition (L-1); its free quotas and limits apply to the whole
 *     month (decision billing-edition-changes);
 *  2. prepaid lines: one per order whose period k starts inside the month
 *     (L-2: T to T-1, so a period is charged in the month it starts); of
 *     the postpaid packages (intl, P-51) one, the highest edition's; an
 *     order replaced early (end_day) holds no day and no period after it;
 *  3. postpaid lines: one per book item with a non-zero quantity, through the
 *     formula table below;
 *  4. hard-limit breaks of the bill edition (users, groups, capped quotas);
 *  5. totals = sum of lines, split prepaid / postpaid. */
#include "billing/billing_int.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct ctx {
  const bill_book_t *b;
  const bill_input_t *in;
  bill_t *out;
  int64_t first_day, last_day;
  int64_t call_included;   /* minutes of the av_call periods starting this month */
  int call_package;        /* an av_call package is in force on a day of the month */
  char *err;
  size_t errcap;
} ctx_t;

static int failf(ctx_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(ctx_t *c, int code, const char *fmt, ...)
{
  if (c->errcap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errcap, fmt, ap);
    va_end(ap);
  }
  return code;
}


/* ---- periods ---------------------------------------------------------------- */
int64_t bill_period_start(int64_t start_day, int32_t k)
{
  int y, m, d;
  imc_civil_from_days(start_day, &y, &m, &d);
  int64_t mi = (int64_t)y * 12 + (m - 1) + k;
  int ny = (int)(mi / 12), nm = (int)(mi % 12) + 1;
  int dim = imc_days_in_month(ny, nm);
  return imc_days_from_civil(ny, nm, d > dim ? dim : d);
}

static int64_t month_index_of_day(int64_t day)
{
  int y, m, d;
  imc_civil_from_days(day, &y, &m, &d);
  return (int64_t)y * 12 + (m - 1);
}

/* First day after the order: the end of its periods, or the day after its
 * end_day when it was replaced earlier. */
static int64_t order_end(const bill_order_t *o)
{
  int64_t end = bill_period_start(o->start_day, o->periods);
  return o->end_day && o->end_day + 1 < end ? o->end_day + 1 : end;
}

/* Period k of the order that starts inside the bill month, or -1. Period k
 * always starts in month(T) + k because the day is clamped, not carried; a
 * period starting after a replaced order's end_day does not exist. */
static int32_t period_starting_in(const ctx_t *c, const bill_order_t *o)
{
  int64_t k = month_index_of_day(c->first_day) - month_index_of_day(o->start_day);
  if (k < 0 || k >= o->periods) return -1;
  return bill_period_start(o->start_day, (int32_t)k) < order_end(o) ? (int32_t)k : -1;
}

static int order_covers(const bill_order_t *o, int64_t day)
{
  return day >= o->start_day && day < order_end(o);
}

static int order_overlaps(const ctx_t *c, const bill_order_t *o)
{
  return o->start_day <= c->last_day && order_end(o) > c->first_day;
}

/* A package held on a day of the month, or whose grace days (the book's
 * lifecycle.grace_days after its last period, L-3, P-11) fall in it: the
 * app is still on that edition, lapsed, not back on the free one (P-44: an
 * s2022 app cannot return to trial; decision billing-edition-changes). A
 * replaced package (end_day) has no grace days: the next one follows it. */
static int package_in_month(const ctx_t *c, const bill_order_t *o)
{
  int64_t grace = o->end_day ? 0 : c->b->grace_days;
  return o->start_day <= c->last_day && order_end(o) > o->start_day && order_end(o) + grace > c->first_day;
}

/* Edition held on `day`: the highest-ranked package covering it, else free. */
static int edition_at(const ctx_t *c, int64_t day)
{
  int e = 0;
  for (int i = 0; i < c->in->norders; i++) {
    const bill_order_t *o = &c->in->orders[i];
    if (!o->is_addon && order_covers(o, day) && o->edition > e) e = o->edition;
  }
  return e;
}

/* ---- lines ------------------------------------------------------------------ */
static bill_line_t *line_add(ctx_t *c, const char *code, bill_kind_t kind, const char *zh, const char *en,
                             const char *unit_zh, const char *unit_en, const char *rule)
{
  if (c->out->nlines >= BILL_MAX_LINES) return NULL;
  bill_line_t *l = &c->out->lines[c->out->nlines++];
  memset(l, 0, sizeof *l);
  l->code = code;
  l->kind = kind;
  l->name_zh = zh;
  l->name_en = en;
  l->unit_zh = unit_zh;
  l->unit_en = unit_en;
  l->rule = rule ? rule : "";
  l->per = 1;
  return l;
}

/* amount = ceil(quantity * unit_price / per), checked. */
static int line_price(ctx_t *c, bill_line_t *l, int64_t qty, int64_t unit_price, int64_t per)
{
  int64_t prod;
  if (__builtin_mul_overflow(qty, unit_price, &prod))
    return failf(c, IMC_E_BILL_USAGE, "%s: amount overflows (usage too large)", l->code);
  l->quantity = qty;
  l->unit_price_fen = unit_price;
  l->per = per;
  l->amount_fen = imc_ceil_div(prod, per);
  return 0;
}

static int too_many_lines(ctx_t *c) { return failf(c, IMC_E_BILL_USAGE, "too many line items (at most %d)", BILL_MAX_LINES); }

/* ---- prepaid ------------------------------------------------------------------ */
static const book_offer_t *find_offer(const book_addon_t *a, int e, const bill_order_t *o)
{
  for (int i = 0; i < a->noffers[e]; i++) {
    const book_offer_t *of = &a->offers[e][i];
    if (a->value_type == BOOK_V_NONE) return of;
    if (a->value_type == BOOK_V_NUMBER && (of->any_value || of->value == o->value)) return of;
    if (a->value_type == BOOK_V_NAME && !strcmp(of->value_name, o->value_name)) return of;
  }
  return NULL;
}

static int offer_error(ctx_t *c, const book_addon_t *a, bill_addon_t code, int e, const bill_order_t *o)
{
  const book_edition_t *ed = &c->b->editions[e];
  if (!a->present)
    return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "the %s price book sells no %s add-on",
                 bill_scheme_name(c->b->scheme), bill_addon_name(code));
  if (!a->noffers[e])
    return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "%s (%s) cannot buy %s (%s)", ed->code, ed->name_zh,
                 bill_addon_name(code), a->rule);
  if (a->value_type == BOOK_V_NONE)
    return failf(c, IMC_E_BILL_ADDON, "%s takes no value", bill_addon_name(code));
  char list[128] = "";
  size_t n = 0;
  for (int i = 0; i < a->noffers[e] && n < sizeof list - 24; i++) {
    if (a->value_type == BOOK_V_NUMBER && a->offers[e][i].any_value)
      n += (size_t)snprintf(list + n, sizeof list - n, "%sany value (included)", i ? ", " : "");
    else if (a->value_type == BOOK_V_NUMBER)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%lld", i ? ", " : "", (long long)a->offers[e][i].value);
    else
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", a->offers[e][i].value_name);
  }
  const char *name = bill_addon_name(code);
  if (a->value_type == BOOK_V_NUMBER ? !o->value : !o->value_name[0])
    return failf(c, IMC_E_BILL_ADDON, "%s needs a value; %s offers: %s", name, ed->code, list);
  if (a->value_type == BOOK_V_NUMBER)
    return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "%s=%lld is not sold to %s (%s); it offers: %s", name,
                 (long long)o->value, ed->code, a->rule, list);
  return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "%s=%s is not sold to %s (%s); it offers: %s", name,
               o->value_name, ed->code, a->rule, list);
}

static int prepaid_package(ctx_t *c, const bill_order_t *o, int32_t k)
{
  if (o->edition < 0 || o->edition >= c->b->neditions)
    return failf(c, IMC_E_BILL_EDITION, "order names edition %d, the book has %d", o->edition, c->b->neditions);
  const book_edition_t *ed = &c->b->editions[o->edition];
  if (!ed->has_package) return 0; /* the free edition has no package fee (L-1, P-02) */
  bill_line_t *l = line_add(c, "package", ed->package_kind, ed->name_zh, ed->name_en, "月", "month", ed->package_rule);
  if (!l) return too_many_lines(c);
  int64_t ps = bill_period_start(o->start_day, k), pe = bill_period_start(o->start_day, k + 1) - 1;
  if (pe >= order_end(o)) pe = order_end(o) - 1; /* replaced on its last day in force */
  int y1, m1, d1, y2, m2, d2;
  imc_civil_from_days(ps, &y1, &m1, &d1);
  imc_civil_from_days(pe, &y2, &m2, &d2);
  snprintf(l->detail, sizeof l->detail, "%s package %04d-%02d-%02d..%04d-%02d-%02d", ed->code, y1, m1, d1, y2, m2, d2);
  return line_price(c, l, 1, ed->package_fen, 1);
}

static int prepaid_addon(ctx_t *c, const bill_order_t *o, int32_t k)
{
  if ((unsigned)o->addon >= BILL_ADDON__COUNT) return failf(c, IMC_E_BILL_ADDON, "unknown add-on %d", (int)o->addon);
  const book_addon_t *a = &c->b->addons[o->addon];
  int64_t ps = bill_period_start(o->start_day, k);
  int e = edition_at(c, ps); /* L-4: bought while holding an edition that may buy it */
  if (a->present && a->value_type == BOOK_V_NONE && (o->value || o->value_name[0]))
    return failf(c, IMC_E_BILL_ADDON, "%s takes no value", bill_addon_name(o->addon));
  if (a->present && a->value_type == BOOK_V_NUMBER && o->value_name[0])
    return failf(c, IMC_E_BILL_ADDON, "%s takes a number, not \"%s\"", bill_addon_name(o->addon), o->value_name);
  if (a->present && a->value_type == BOOK_V_NAME && o->value)
    return failf(c, IMC_E_BILL_ADDON, "%s takes a name, not a number", bill_addon_name(o->addon));
  const book_offer_t *of = a->present ? find_offer(a, e, o) : NULL;
  if (!of) return offer_error(c, a, o->addon, e, o);
  bill_line_t *l = line_add(c, bill_addon_name(o->addon), a->kind, a->name_zh, a->name_en, "月", "month",
                            of->rule ? of->rule : a->rule);
  if (!l) return too_many_lines(c);
  l->included = of->included;
  if (a->value_type == BOOK_V_NUMBER) snprintf(l->detail, sizeof l->detail, "%lld%s", (long long)o->value, of->included ? " (included)" : "");
  else if (a->value_type == BOOK_V_NAME) snprintf(l->detail, sizeof l->detail, "%s%s%s", o->value_name, of->name_zh ? " " : "", of->name_zh ? of->name_zh : "");
  else if (of->included) snprintf(l->detail, sizeof l->detail, "included");
  return line_price(c, l, 1, of->fen, 1);
}

int bill_order_price(const bill_book_t *b, const bill_order_t *o, int held, int64_t *fen, bill_kind_t *kind,
                     int *included, char *err, size_t errcap)
{
  ctx_t c = { .b = b, .err = err, .errcap = errcap };
  if (errcap) err[0] = 0;
  *fen = 0;
  *kind = BILL_PREPAID;
  *included = 0;
  if (!o->is_addon) {
    if (o->edition < 0 || o->edition >= b->neditions)
      return failf(&c, IMC_E_BILL_EDITION, "no edition %d in %s", o->edition, bill_scheme_name(b->scheme));
    const book_edition_t *ed = &b->editions[o->edition];
    if (!ed->has_package) { *included = 1; return 0; } /* the free edition (L-1, P-02) */
    *fen = ed->package_fen;
    *kind = ed->package_kind;
    return 0;
  }
  if ((unsigned)o->addon >= BILL_ADDON__COUNT) return failf(&c, IMC_E_BILL_ADDON, "unknown add-on %d", (int)o->addon);
  if (held < 0 || held >= b->neditions) return failf(&c, IMC_E_BILL_EDITION, "no edition %d in %s", held, bill_scheme_name(b->scheme));
  const book_addon_t *a = &b->addons[o->addon];
  if (a->present && a->value_type == BOOK_V_NONE && (o->value || o->value_name[0]))
    return failf(&c, IMC_E_BILL_ADDON, "%s takes no value", bill_addon_name(o->addon));
  if (a->present && a->value_type == BOOK_V_NUMBER && o->value_name[0])
    return failf(&c, IMC_E_BILL_ADDON, "%s takes a number, not \"%s\"", bill_addon_name(o->addon), o->value_name);
  if (a->present && a->value_type == BOOK_V_NAME && o->value)
    return failf(&c, IMC_E_BILL_ADDON, "%s takes a name, not a number", bill_addon_name(o->addon));
  const book_offer_t *of = a->present ? find_offer(a, held, o) : NULL;
  if (!of) return offer_error(&c, a, o->addon, held, o);
  *fen = of->fen;
  *kind = a->kind;
  *included = of->included;
  return 0;
}

/* P-46, decision billing-call-minutes: a period's minutes count in the month
 * the period starts, as its fee is charged (L-2), so a period that spans two
 * months gives its minutes once. An av_call package in force on any day of
 * the month lets the month's minutes be billed (beyond the pool); without one
 * they are not billable (a quote refuses them, a bill lists a break). */
static int call_packages(ctx_t *c)
{
  const book_addon_t *a = &c->b->addons[BILL_ADDON_AV_CALL];
  for (int i = 0; i < c->in->norders; i++) {
    const bill_order_t *o = &c->in->orders[i];
    if (!o->is_addon || o->addon != BILL_ADDON_AV_CALL || !order_overlaps(c, o) || !a->present) continue;
    int32_t k = period_starting_in(c, o);
    int64_t day = k >= 0 ? bill_period_start(o->start_day, k) : c->first_day;
    const book_offer_t *of = find_offer(a, edition_at(c, day), o);
    if (!of) continue; /* reported by prepaid_addon when its period starts here */
    c->call_package = 1;
    if (k < 0) continue; /* its minutes counted in the month the period started */
    if (__builtin_add_overflow(c->call_included, of->included_minutes, &c->call_included))
      return failf(c, IMC_E_BILL_USAGE, "call minutes overflow");
  }
  return 0;
}

/* ---- postpaid formulas (one per book_formula_t) ------------------------------ */
static int64_t metric_value(const bill_usage_t *u, bill_metric_t m)
{
  switch (m) {
  case BILL_M_PEAK_DAU: return u->peak_dau;
  case BILL_M_MAU: return u->mau;
  case BILL_M_PEAK_GROUPS: return u->peak_groups;
  case BILL_M_ROAMING_MONTHS: return u->c2c_roaming_months;
  case BILL_M_HISTORY_DAYS: return u->history_days;
  default: return 0;
  }
}

static int64_t item_free(const ctx_t *c, const book_item_t *it)
{
  return it->free_from_edition ? c->b->editions[c->out->edition].free[it->metric] : it->free_fixed;
}

static int f_blocks_over_free(ctx_t *c, const book_item_t *it)
{
  if (!c->b->editions[c->out->edition].overage) return 0; /* capped edition: no overage (P-42) */
  int64_t v = metric_value(c->in->usage, it->metric), free = item_free(c, it);
  int64_t blocks = imc_ceil_div(v - free, it->block);
  if (!blocks) return 0;
  bill_line_t *l = line_add(c, it->code, BILL_POSTPAID, it->name_zh, it->name_en, it->unit_zh, it->unit_en, it->rule);
  if (!l) return too_many_lines(c);
  char vs[32], fs[32], bs[32];
  imc_fmt_group(v, vs, sizeof vs);
  imc_fmt_group(free, fs, sizeof fs);
  imc_fmt_group(it->block, bs, sizeof bs);
  snprintf(l->detail, sizeof l->detail, "%s %s, free %s, per started %s", bill__metric_name(it->metric), vs, fs, bs);
  return line_price(c, l, blocks, it->block_fen, 1);
}

static int f_per_unit_sum(ctx_t *c, const book_item_t *it)
{
  if (!c->b->editions[c->out->edition].overage) return 0;
  const bill_usage_t *u = c->in->usage;
  int64_t sum = 0;
  for (int i = 0; i < u->bw_days; i++) sum += u->bw_mbps[i]; /* each <= 10^12, at most 31 */
  if (!sum) return 0;
  bill_line_t *l = line_add(c, it->code, BILL_POSTPAID, it->name_zh, it->name_en, it->unit_zh, it->unit_en, it->rule);
  if (!l) return too_many_lines(c);
  snprintf(l->detail, sizeof l->detail, "sum of %d daily peaks", u->bw_days);
  return line_price(c, l, sum, it->unit_fen, 1);
}

static int f_months_x_blocks(ctx_t *c, const book_item_t *it)
{
  if (!c->b->editions[c->out->edition].overage) return 0;
  int64_t months = metric_value(c->in->usage, it->metric);
  int64_t base = metric_value(c->in->usage, it->base);
  int64_t blocks = imc_ceil_div(base, it->block), qty;
  if (__builtin_mul_overflow(months, blocks, &qty)) return failf(c, IMC_E_BILL_USAGE, "%s: quantity overflows", it->code);
  if (!qty) return 0;
  bill_line_t *l = line_add(c, it->code, BILL_POSTPAID, it->name_zh, it->name_en, it->unit_zh, it->unit_en, it->rule);
  if (!l) return too_many_lines(c);
  char bs[32];
  imc_fmt_group(base, bs, sizeof bs);
  snprintf(l->detail, sizeof l->detail, "%lld month(s) x %lld block(s) (%s %s)", (long long)months,
           (long long)blocks, bill__metric_name(it->base), bs);
  return line_price(c, l, qty, it->block_fen, 1);
}

static int f_tier_by_edition(ctx_t *c, const book_item_t *it)
{
  int e = c->out->edition;
  const book_edition_t *ed = &c->b->editions[e];
  int64_t v = metric_value(c->in->usage, it->metric), free = item_free(c, it);
  if (v <= free) return 0; /* within the edition's free retention */
  if (!it->tiers_for[e])
    return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "%s (%s) cannot extend %s beyond %lld (%s)", ed->code,
                 ed->name_zh, bill__metric_name(it->metric), (long long)free, it->rule);
  const book_tier_t *t = NULL;
  for (int i = 0; i < it->tiers_for[e] && !t; i++)
    if (it->tiers[e][i].days >= v) t = &it->tiers[e][i];
  if (!t)
    return failf(c, IMC_E_BILL_ADDON_FORBIDDEN, "%s of %lld is not offered to %s (longest: %lld, %s)",
                 bill__metric_name(it->metric), (long long)v, ed->code,
                 (long long)it->tiers[e][it->tiers_for[e] - 1].days, it->rule);
  bill_line_t *l = line_add(c, it->code, BILL_POSTPAID, it->name_zh, it->name_en, it->unit_zh, it->unit_en,
                            t->rule ? t->rule : it->rule);
  if (!l) return too_many_lines(c);
  l->included = t->included;
  snprintf(l->detail, sizeof l->detail, "%lld days%s", (long long)t->days, t->included ? " (included)" : "");
  return line_price(c, l, 1, t->fen, 1);
}

/* P-46: the package's minutes are deducted per kind at the kind's weight, in
 * the book's order (dearest first, decision billing-call-minutes); what is
 * left of each kind is billed at its per-1,000-minute rate, rounded up to the
 * fen once per kind. */
static int f_call_minutes(ctx_t *c, const book_item_t *it)
{
  const bill_usage_t *u = c->in->usage;
  if (!c->call_package) return 0; /* not billable: a limit break (limit_breaks) */
  int64_t pool = c->call_included;
  for (int i = 0; i < it->nkinds; i++) {
    const book_call_kind_t *k = &it->kinds[i];
    int64_t mins = u->call_minutes[i];
    int64_t covered = pool / k->weight;
    if (covered > mins) covered = mins;
    pool -= covered * k->weight;
    int64_t excess = mins - covered;
    if (!excess) continue;
    bill_line_t *l = line_add(c, it->code, BILL_POSTPAID, k->name_zh, k->name_en, it->unit_zh, it->unit_en, it->rule);
    if (!l) return too_many_lines(c);
    char es[32], ms[32];
    imc_fmt_group(excess, es, sizeof es);
    imc_fmt_group(mins, ms, sizeof ms);
    snprintf(l->detail, sizeof l->detail, "%s: %s of %s min beyond the package", k->kind, es, ms);
    int rc = line_price(c, l, excess, k->fen_per_1000, 1000);
    if (rc) return rc;
  }
  return 0;
}

static int (*const formulas[BOOK_F__COUNT])(ctx_t *, const book_item_t *) = {
  [BOOK_F_BLOCKS_OVER_FREE] = f_blocks_over_free,
  [BOOK_F_PER_UNIT_SUM] = f_per_unit_sum,
  [BOOK_F_MONTHS_X_BLOCKS] = f_months_x_blocks,
  [BOOK_F_TIER_BY_EDITION] = f_tier_by_edition,
  [BOOK_F_CALL_MINUTES] = f_call_minutes,
};

static int item_in_force(const book_item_t *it, int32_t month)
{
  return (!it->from_month || month >= it->from_month) && (!it->until_month || month <= it->until_month);
}

/* ---- checks ----------------------------------------------------------------- */
static int usage_valid(ctx_t *c)
{
  const bill_usage_t *u = c->in->usage;
  static const struct { bill_metric_t m; int64_t max; } caps[] = {
    { BILL_M_PEAK_DAU, BILL_USAGE_MAX }, { BILL_M_MAU, BILL_USAGE_MAX }, { BILL_M_PEAK_GROUPS, BILL_USAGE_MAX },
    { BILL_M_ROAMING_MONTHS, 1200 }, { BILL_M_HISTORY_DAYS, 36500 },
  };
  for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
    int64_t v = metric_value(u, caps[i].m);
    if (v < 0 || v > caps[i].max)
      return failf(c, IMC_E_BILL_USAGE, "%s = %lld is out of range 0..%lld", bill__metric_name(caps[i].m),
                   (long long)v, (long long)caps[i].max);
  }
  int dim = (int)(c->last_day - c->first_day + 1);
  if (u->bw_days < 0 || u->bw_days > dim)
    return failf(c, IMC_E_BILL_USAGE, "%d daily bandwidth peaks, but the month has %d days", u->bw_days, dim);
  for (int i = 0; i < u->bw_days; i++)
    if (u->bw_mbps[i] < 0 || u->bw_mbps[i] > BILL_USAGE_MAX)
      return failf(c, IMC_E_BILL_USAGE, "bandwidth_mbps = %lld is out of range", (long long)u->bw_mbps[i]);
  for (int i = 0; i < BILL_CALL_KINDS; i++)
    if (u->call_minutes[i] < 0 || u->call_minutes[i] > BILL_USAGE_MAX)
      return failf(c, IMC_E_BILL_USAGE, "call minutes out of range");
  return 0;
}

static int metric_nonzero(const bill_usage_t *u, bill_metric_t m, int64_t free_history)
{
  switch (m) {
  case BILL_M_BANDWIDTH:
    for (int i = 0; i < u->bw_days; i++) if (u->bw_mbps[i]) return 1;
    return 0;
  case BILL_M_CALL_MINUTES:
    for (int i = 0; i < BILL_CALL_KINDS; i++) if (u->call_minutes[i]) return 1;
    return 0;
  case BILL_M_HISTORY_DAYS: return u->history_days > free_history;
  default: return metric_value(u, m) != 0;
  }
}

/* Strict mode (quotes): usage a book cannot price is a mistake of the asker
 * (decision billing-open-rules 8): a metric no item of the book prices
 * (--mau on s2022, --peak-dau on intl, bandwidth on s2022), and the
 * postpaid-only resources of an edition that is billed nothing beyond its
 * free quota (roaming months and bandwidth on the s2019/s2020 trial: P-15,
 * P-30 — the trial buys nothing). DAU, MAU and groups on a capped edition
 * stay accepted: they are reported as broken limits, which --compare needs. */
static int strict_check(ctx_t *c)
{
  static const bill_metric_t optional[] = { BILL_M_PEAK_DAU, BILL_M_MAU, BILL_M_BANDWIDTH, BILL_M_ROAMING_MONTHS,
                                            BILL_M_HISTORY_DAYS, BILL_M_CALL_MINUTES };
  static const bill_metric_t postpaid_only[] = { BILL_M_BANDWIDTH, BILL_M_ROAMING_MONTHS };
  const book_edition_t *ed = &c->b->editions[c->out->edition];
  int64_t fh = ed->free[BILL_M_HISTORY_DAYS] == BOOK_UNLIMITED ? 0 : ed->free[BILL_M_HISTORY_DAYS];
  for (size_t i = 0; i < sizeof optional / sizeof *optional; i++) {
    bill_metric_t m = optional[i];
    if (!metric_nonzero(c->in->usage, m, fh) || bill_book_prices(c->b, m)) continue;
    return failf(c, IMC_E_BILL_USAGE, "the %s price book does not bill %s%s", bill_scheme_name(c->b->scheme),
                 bill__metric_name(m),
                 m == BILL_M_HISTORY_DAYS && bill_book_prices(c->b, BILL_M_ROAMING_MONTHS)
                   ? " (it extends C2C roaming by months: --c2c-roaming-months)"
                 : m == BILL_M_ROAMING_MONTHS && bill_book_prices(c->b, BILL_M_HISTORY_DAYS)
                   ? " (it sells retention tiers: --history-days)"
                 : m == BILL_M_MAU && bill_book_prices(c->b, BILL_M_PEAK_DAU) ? " (it bills the monthly peak DAU: --peak-dau)"
                 : m == BILL_M_PEAK_DAU && bill_book_prices(c->b, BILL_M_MAU) ? " (it bills MAU: --mau)" : "");
  }
  for (size_t i = 0; i < sizeof postpaid_only / sizeof *postpaid_only && !ed->overage; i++)
    if (metric_nonzero(c->in->usage, postpaid_only[i], 0))
      return failf(c, IMC_E_BILL_USAGE, "%s (%s) of the %s price book is billed nothing beyond its free quota, so it has no %s (%s)",
                   ed->code, ed->name_zh, bill_scheme_name(c->b->scheme), bill__metric_name(postpaid_only[i]),
                   ed->overage_rule ? ed->overage_rule : "L-4");
  if (metric_nonzero(c->in->usage, BILL_M_CALL_MINUTES, 0) && !c->call_package)
    return failf(c, IMC_E_BILL_USAGE, "call minutes need an av_call package (P-46)");
  return 0;
}

static void add_break(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_break(ctx_t *c, const char *fmt, ...)
{
  if (c->out->nbreaks >= BILL_MAX_BREAKS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->out->breaks[c->out->nbreaks++], sizeof c->out->breaks[0], fmt, ap);
  va_end(ap);
}

/* Usage above what the edition allows at all (§6 hard limits; P-42: a capped
 * edition's free quota is its ceiling). The bill is still computed. */
static void limit_breaks(ctx_t *c)
{
  const book_edition_t *ed = &c->b->editions[c->out->edition];
  const bill_usage_t *u = c->in->usage;
  char a[32], b[32];
  static const struct { bill_metric_t m; const char *what; } users[] = {
    { BILL_M_PEAK_DAU, "peak DAU" }, { BILL_M_MAU, "MAU" },
  };
  for (size_t i = 0; i < sizeof users / sizeof *users; i++) {
    int64_t v = metric_value(u, users[i].m);
    if (ed->lim_users != BOOK_UNLIMITED && v > ed->lim_users) {
      imc_fmt_group(v, a, sizeof a);
      imc_fmt_group(ed->lim_users, b, sizeof b);
      add_break(c, "%s %s exceeds %s's %s users", users[i].what, a, ed->code, b);
    } else if (!ed->overage && ed->free[users[i].m] != BOOK_UNLIMITED && v > ed->free[users[i].m]) {
      imc_fmt_group(v, a, sizeof a);
      imc_fmt_group(ed->free[users[i].m], b, sizeof b);
      add_break(c, "%s %s exceeds %s's cap of %s (no overage)", users[i].what, a, ed->code, b);
    }
  }
  if (ed->lim_groups != BOOK_UNLIMITED && u->peak_groups > ed->lim_groups) {
    imc_fmt_group(u->peak_groups, a, sizeof a);
    imc_fmt_group(ed->lim_groups, b, sizeof b);
    add_break(c, "peak groups %s exceed %s's %s groups", a, ed->code, b);
  }
  /* P-46: call minutes need an av_call package in force (a quote refuses them) */
  int64_t mins = 0;
  for (int i = 0; i < BILL_CALL_KINDS; i++) mins += u->call_minutes[i]; /* each <= 10^12 */
  if (mins && !c->call_package) {
    imc_fmt_group(mins, a, sizeof a);
    add_break(c, "call minutes %s without an av_call package in force (P-46): not billed", a);
  }
}

/* ---- entry -------------------------------------------------------------------- */
int bill_compute(const bill_book_t *b, const bill_input_t *in, bill_t *out, char *err, size_t errcap)
{
  ctx_t c = { .b = b, .in = in, .out = out, .err = err, .errcap = errcap };
  if (errcap) err[0] = 0;
  memset(out, 0, offsetof(bill_t, lines));
  out->nlines = out->nbreaks = 0;
  if (!bill__month_ok(in->month)) return failf(&c, IMC_E_BILL_MONTH, "invalid month %d", (int)in->month);
  if (in->norders < 0 || (in->norders && !in->orders) || !in->usage) return failf(&c, IMC_E_INVAL, "bad bill input");
  int y = in->month / 100, m = in->month % 100;
  c.first_day = imc_days_from_civil(y, m, 1);
  c.last_day = c.first_day + imc_days_in_month(y, m) - 1;
  out->month = in->month;
  int rc = usage_valid(&c);
  if (rc) return rc;
  for (int i = 0; i < in->norders; i++) {
    const bill_order_t *o = &in->orders[i];
    if (o->periods < 1 || o->periods > 1200) return failf(&c, IMC_E_INVAL, "order %d: periods must be 1..1200", i);
    if (!o->is_addon && (o->edition < 0 || o->edition >= b->neditions))
      return failf(&c, IMC_E_BILL_EDITION, "order %d: no edition %d in %s", i, o->edition, bill_scheme_name(b->scheme));
  }

  /* 1. bill edition: highest held (or in its grace days) on any day of the month */
  out->edition = 0;
  for (int i = 0; i < in->norders; i++) {
    const bill_order_t *o = &in->orders[i];
    if (!o->is_addon && package_in_month(&c, o) && o->edition > out->edition) out->edition = o->edition;
  }
  /* 2. prepaid: periods starting this month; of the postpaid packages (intl,
   * P-51) one fee a month, the highest edition's among the periods starting
   * in it (decision billing-edition-changes) */
  const bill_order_t *monthly = NULL;
  int32_t monthly_k = -1;
  for (int i = 0; i < in->norders; i++) {
    const bill_order_t *o = &in->orders[i];
    int32_t k = period_starting_in(&c, o);
    if (k < 0) continue;
    if (!o->is_addon && b->editions[o->edition].package_kind == BILL_POSTPAID) {
      if (!monthly || o->edition > monthly->edition) { monthly = o; monthly_k = k; }
      continue;
    }
    rc = o->is_addon ? prepaid_addon(&c, o, k) : prepaid_package(&c, o, k);
    if (rc) return rc;
  }
  if (monthly && (rc = prepaid_package(&c, monthly, monthly_k))) return rc;
  if ((rc = call_packages(&c))) return rc;
  if (in->strict && (rc = strict_check(&c))) return rc;
  /* 3. postpaid items */
  for (int i = 0; i < b->nitems; i++) {
    const book_item_t *it = &b->items[i];
    if (!item_in_force(it, in->month)) continue;
    if ((rc = formulas[it->formula](&c, it))) return rc;
  }
  /* 4. hard limits */
  limit_breaks(&c);
  /* 5. totals */
  for (int i = 0; i < out->nlines; i++) {
    const bill_line_t *l = &out->lines[i];
    int64_t *part = l->kind == BILL_PREPAID ? &out->prepaid_fen : &out->postpaid_fen;
    if (__builtin_add_overflow(*part, l->amount_fen, part) || __builtin_add_overflow(out->total_fen, l->amount_fen, &out->total_fen))
      return failf(&c, IMC_E_BILL_USAGE, "bill total overflows");
  }
  return 0;
}
