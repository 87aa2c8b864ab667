/* book.c — load and validate a price-book document (data/pricebooks/<scheme>.json,
 * schema in docs/billing.md) into struct bill_book. Every value is checked
 * here once, so compute.c can trust the book: known formulas and metrics,
 * positive blocks, prices within BOOK_PRICE_MAX, editions referenced by
 * tiers and offers exist, an edition's free amount exists where an item
 * needs it. */
#include "billing/billing_int.h"
#include "util/date.h"
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const metric_names[BILL_M__COUNT] = {
  [BILL_M_PEAK_DAU] = "peak_dau",         [BILL_M_MAU] = "mau",
  [BILL_M_PEAK_GROUPS] = "peak_groups",   [BILL_M_BANDWIDTH] = "bandwidth_mbps",
  [BILL_M_ROAMING_MONTHS] = "c2c_roaming_months", [BILL_M_HISTORY_DAYS] = "history_days",
  [BILL_M_CALL_MINUTES] = "call_minutes",
};

const char *bill__metric_name(bill_metric_t m) { return (unsigned)m < BILL_M__COUNT ? metric_names[m] : "?"; }

int bill__metric_parse(const char *s, bill_metric_t *out)
{
  for (int i = 0; i < BILL_M__COUNT; i++)
    if (!strcmp(s, metric_names[i])) { *out = (bill_metric_t)i; return 0; }
  return IMC_E_BILL_BOOK;
}

static const char *const formula_names[BOOK_F__COUNT] = {
  [BOOK_F_BLOCKS_OVER_FREE] = "blocks_over_free", [BOOK_F_PER_UNIT_SUM] = "per_unit_sum",
  [BOOK_F_MONTHS_X_BLOCKS] = "months_x_blocks",   [BOOK_F_TIER_BY_EDITION] = "tier_by_edition",
  [BOOK_F_CALL_MINUTES] = "call_minutes",
};

static const char *const addon_names[BILL_ADDON__COUNT] = {
  [BILL_ADDON_AVCHATROOM_UNLIMITED] = "avchatroom_unlimited", [BILL_ADDON_MEMBER_CAP] = "member_cap",
  [BILL_ADDON_GROUPS_PER_USER] = "groups_per_user", [BILL_ADDON_LOCAL_AUDIT] = "local_audit",
  [BILL_ADDON_AV_CALL] = "av_call",
};

const char *bill_addon_name(bill_addon_t a) { return (unsigned)a < BILL_ADDON__COUNT ? addon_names[a] : NULL; }

int bill_addon_parse(const char *name, bill_addon_t *out)
{
  for (int i = 0; i < BILL_ADDON__COUNT; i++)
    if (!strcmp(name, addon_names[i])) { *out = (bill_addon_t)i; return 0; }
  return IMC_E_BILL_ADDON;
}

int bill__month_ok(int32_t m) { return m >= 197001 && m <= 999912 && m % 100 >= 1 && m % 100 <= 12; }

/* ---- loader state: the first error wins ------------------------------------ */
typedef struct ld { char *err; size_t cap; int failed; } ld_t;

static void fail(ld_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ld_t *l, const char *fmt, ...)
{
  if (l->failed++) return;
  va_list ap;
  va_start(ap, fmt);
  if (l->cap) vsnprintf(l->err, l->cap, fmt, ap);
  va_end(ap);
}

static const char *str_req(ld_t *l, json_t *o, const char *key, const char *where)
{
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v)) { fail(l, "%s: \"%s\" must be a string", where, key); return ""; }
  return json_string_value(v);
}

static const char *str_opt(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Integer in [min, max]; null -> BOOK_UNLIMITED when allow_null. Missing ->
 * dflt when dflt != INT64_MIN, else an error. */
static int64_t int_get(ld_t *l, json_t *o, const char *key, int64_t min, int64_t max, int allow_null,
                       int64_t dflt, const char *where)
{
  json_t *v = json_object_get(o, key);
  if (!v) {
    if (dflt != INT64_MIN) return dflt;
    fail(l, "%s: \"%s\" is missing", where, key);
    return 0;
  }
  if (json_is_null(v) && allow_null) return BOOK_UNLIMITED;
  if (!json_is_integer(v)) { fail(l, "%s: \"%s\" must be an integer", where, key); return 0; }
  json_int_t x = json_integer_value(v);
  if (x < min || x > max) { fail(l, "%s: \"%s\" = %lld is out of range", where, key, (long long)x); return 0; }
  return (int64_t)x;
}

static int bool_get(json_t *o, const char *key) { return json_is_true(json_object_get(o, key)); }

static int32_t month_get(ld_t *l, json_t *o, const char *key, const char *where)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  int y, m;
  if (!json_is_string(v) || imc_month_parse(json_string_value(v), &y, &m)) {
    fail(l, "%s: \"%s\" must be \"YYYY-MM\"", where, key);
    return 0;
  }
  return y * 100 + m;
}

static int64_t date_get(ld_t *l, json_t *o, const char *key, int64_t open)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return open;
  int y, m, d;
  if (!json_is_string(v) || imc_date_parse(json_string_value(v), &y, &m, &d)) {
    fail(l, "\"%s\" must be \"YYYY-MM-DD\" or null", key);
    return open;
  }
  return imc_days_from_civil(y, m, d);
}

static bill_kind_t kind_get(ld_t *l, json_t *o, const char *where)
{
  const char *k = str_req(l, o, "kind", where);
  if (!strcmp(k, "prepaid")) return BILL_PREPAID;
  if (!strcmp(k, "postpaid")) return BILL_POSTPAID;
  fail(l, "%s: \"kind\" must be prepaid or postpaid", where);
  return BILL_PREPAID;
}

static int edition_index(const bill_book_t *b, const char *code)
{
  for (int i = 0; i < b->neditions; i++)
    if (!strcmp(b->editions[i].code, code)) return i;
  return -1;
}

/* ---- editions --------------------------------------------------------------- */
static void load_edition(ld_t *l, bill_book_t *b, json_t *e, int idx)
{
  book_edition_t *ed = &b->editions[idx];
  char where[64];
  snprintf(where, sizeof where, "editions[%d]", idx);
  if (!json_is_object(e)) { fail(l, "%s must be an object", where); return; }
  ed->code = str_req(l, e, "code", where);
  ed->name_zh = str_req(l, e, "name_zh", where);
  ed->name_en = str_req(l, e, "name_en", where);
  ed->rank = (int)int_get(l, e, "rank", 0, 100, 0, INT64_MIN, where);
  json_t *pk = json_object_get(e, "package");
  if (json_is_object(pk)) {
    ed->has_package = 1;
    ed->package_fen = int_get(l, pk, "fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
    ed->package_kind = kind_get(l, pk, where);
    ed->package_rule = str_req(l, pk, "rule", where);
    ed->package_placeholder = bool_get(pk, "operator_config");
  } else if (pk && !json_is_null(pk)) {
    fail(l, "%s: \"package\" must be an object or null", where);
  } else {
    ed->package_rule = str_opt(e, "package_rule");
  }
  ed->overage = bool_get(e, "overage");
  ed->overage_rule = str_opt(e, "overage_rule");
  json_t *fr = json_object_get(e, "free");
  if (!json_is_object(fr)) { fail(l, "%s: \"free\" must be an object", where); return; }
  for (int m = 0; m < BILL_M__COUNT; m++) ed->free[m] = BOOK_UNLIMITED;
  static const bill_metric_t free_metrics[] = { BILL_M_PEAK_DAU, BILL_M_MAU, BILL_M_PEAK_GROUPS, BILL_M_HISTORY_DAYS };
  for (size_t i = 0; i < sizeof free_metrics / sizeof *free_metrics; i++) {
    bill_metric_t m = free_metrics[i];
    ed->free[m] = int_get(l, fr, bill__metric_name(m), 0, BILL_USAGE_MAX, 1, BOOK_UNLIMITED, where);
  }
  json_t *li = json_object_get(e, "limits");
  if (!json_is_object(li)) { fail(l, "%s: \"limits\" must be an object", where); return; }
  ed->lim_users = int_get(l, li, "users", 0, BILL_USAGE_MAX, 1, INT64_MIN, where);
  ed->lim_groups = int_get(l, li, "groups", 0, BILL_USAGE_MAX, 1, INT64_MIN, where);
  ed->limits_rule = str_opt(li, "rule");
}

/* ---- items ------------------------------------------------------------------ */
static void load_tiers(ld_t *l, bill_book_t *b, book_item_t *it, json_t *tiers, const char *where)
{
  if (!json_is_object(tiers)) { fail(l, "%s: \"tiers\" must be an object", where); return; }
  const char *ecode;
  json_t *arr;
  json_object_foreach(tiers, ecode, arr) {
    int e = edition_index(b, ecode);
    if (e < 0) { fail(l, "%s: tiers name unknown edition \"%s\"", where, ecode); return; }
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > BOOK_MAX_TIERS) {
      fail(l, "%s: tiers of %s must be a non-empty array (at most %d)", where, ecode, BOOK_MAX_TIERS);
      return;
    }
    int64_t prev_days = 0, prev_fen = -1;
    for (size_t i = 0; i < json_array_size(arr); i++) {
      json_t *t = json_array_get(arr, i);
      book_tier_t *bt = &it->tiers[e][i];
      bt->days = int_get(l, t, "days", 1, 36500, 0, INT64_MIN, where);
      bt->fen = int_get(l, t, "fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
      bt->included = bool_get(t, "included");
      bt->rule = str_opt(t, "rule");
      /* ascending days and non-decreasing prices keep bills monotonic */
      if (bt->days <= prev_days || bt->fen < prev_fen) { fail(l, "%s: tiers of %s must ascend", where, ecode); return; }
      if (bt->included && bt->fen) { fail(l, "%s: an included tier costs 0", where); return; }
      prev_days = bt->days;
      prev_fen = bt->fen;
    }
    it->tiers_for[e] = (int)json_array_size(arr);
  }
}

static void load_kinds(ld_t *l, book_item_t *it, json_t *kinds, const char *where)
{
  if (!json_is_array(kinds) || json_array_size(kinds) == 0 || json_array_size(kinds) > BILL_CALL_KINDS) {
    fail(l, "%s: \"kinds\" must be a non-empty array (at most %d)", where, BILL_CALL_KINDS);
    return;
  }
  for (size_t i = 0; i < json_array_size(kinds); i++) {
    json_t *k = json_array_get(kinds, i);
    book_call_kind_t *ck = &it->kinds[i];
    ck->kind = str_req(l, k, "kind", where);
    ck->name_zh = str_req(l, k, "name_zh", where);
    ck->name_en = str_req(l, k, "name_en", where);
    ck->weight = int_get(l, k, "weight", 1, 1000, 0, INT64_MIN, where);
    ck->fen_per_1000 = int_get(l, k, "fen_per_1000", 0, 1000000, 0, INT64_MIN, where);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(it->kinds[j].kind, ck->kind)) fail(l, "%s: call kind \"%s\" twice", where, ck->kind);
  }
  it->nkinds = (int)json_array_size(kinds);
}

static void load_item(ld_t *l, bill_book_t *b, json_t *o, int idx)
{
  book_item_t *it = &b->items[idx];
  char where[64];
  snprintf(where, sizeof where, "items[%d]", idx);
  if (!json_is_object(o)) { fail(l, "%s must be an object", where); return; }
  it->code = str_req(l, o, "code", where);
  it->name_zh = str_req(l, o, "name_zh", where);
  it->name_en = str_req(l, o, "name_en", where);
  it->unit_zh = str_req(l, o, "unit_zh", where);
  it->unit_en = str_req(l, o, "unit_en", where);
  it->rule = str_req(l, o, "rule", where);
  it->placeholder = bool_get(o, "operator_config");
  it->overseas_placeholder = bool_get(o, "overseas_operator_config");
  const char *f = str_req(l, o, "formula", where);
  it->formula = BOOK_F__COUNT;
  for (int i = 0; i < BOOK_F__COUNT; i++)
    if (!strcmp(f, formula_names[i])) it->formula = (book_formula_t)i;
  if (it->formula == BOOK_F__COUNT) { fail(l, "%s: unknown formula \"%s\"", where, f); return; }
  if (bill__metric_parse(str_req(l, o, "metric", where), &it->metric)) { fail(l, "%s: unknown metric", where); return; }
  json_t *fr = json_object_get(o, "free");
  if (json_is_string(fr) && !strcmp(json_string_value(fr), "edition")) it->free_from_edition = 1;
  else if (fr) it->free_fixed = int_get(l, o, "free", 0, BILL_USAGE_MAX, 0, INT64_MIN, where);
  it->from_month = month_get(l, o, "from_month", where);
  it->until_month = month_get(l, o, "until_month", where);
  const char *rounding = str_opt(o, "rounding");
  if (rounding && strcmp(rounding, "ceil")) fail(l, "%s: the only rounding is \"ceil\"", where);

  switch (it->formula) {
  case BOOK_F_BLOCKS_OVER_FREE:
    it->block = int_get(l, o, "block", 1, BILL_USAGE_MAX, 0, INT64_MIN, where);
    it->block_fen = int_get(l, o, "block_fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
    if (!rounding) fail(l, "%s: \"rounding\" must be stated", where);
    break;
  case BOOK_F_MONTHS_X_BLOCKS:
    it->block = int_get(l, o, "block", 1, BILL_USAGE_MAX, 0, INT64_MIN, where);
    it->block_fen = int_get(l, o, "block_fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
    if (bill__metric_parse(str_req(l, o, "base", where), &it->base)) fail(l, "%s: unknown base metric", where);
    if (!rounding) fail(l, "%s: \"rounding\" must be stated", where);
    break;
  case BOOK_F_PER_UNIT_SUM:
    it->unit_fen = int_get(l, o, "unit_fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
    if (it->metric != BILL_M_BANDWIDTH) fail(l, "%s: per_unit_sum needs a daily metric", where);
    break;
  case BOOK_F_TIER_BY_EDITION:
    load_tiers(l, b, it, json_object_get(o, "tiers"), where);
    if (!it->free_from_edition) fail(l, "%s: tier items take the edition's free amount", where);
    break;
  case BOOK_F_CALL_MINUTES:
    load_kinds(l, it, json_object_get(o, "kinds"), where);
    if (b->call_item >= 0) fail(l, "%s: only one call-minutes item", where);
    b->call_item = idx;
    break;
  default: break;
  }
  if (it->free_from_edition)
    for (int e = 0; e < b->neditions; e++)
      if ((b->editions[e].overage || it->formula == BOOK_F_TIER_BY_EDITION) && b->editions[e].free[it->metric] == BOOK_UNLIMITED)
        fail(l, "%s: edition %s has no free %s", where, b->editions[e].code, bill__metric_name(it->metric));
}

/* ---- add-ons ------------------------------------------------------------------ */
static void load_addon(ld_t *l, bill_book_t *b, json_t *o, int idx)
{
  char where[64];
  snprintf(where, sizeof where, "addons[%d]", idx);
  if (!json_is_object(o)) { fail(l, "%s must be an object", where); return; }
  bill_addon_t code;
  if (bill_addon_parse(str_req(l, o, "code", where), &code)) { fail(l, "%s: unknown add-on code", where); return; }
  book_addon_t *a = &b->addons[code];
  if (a->present) { fail(l, "%s: add-on %s twice", where, addon_names[code]); return; }
  a->present = 1;
  a->name_zh = str_req(l, o, "name_zh", where);
  a->name_en = str_req(l, o, "name_en", where);
  a->rule = str_req(l, o, "rule", where);
  a->kind = kind_get(l, o, where);
  const char *vt = str_req(l, o, "value", where);
  a->value_type = !strcmp(vt, "number") ? BOOK_V_NUMBER : !strcmp(vt, "name") ? BOOK_V_NAME : BOOK_V_NONE;
  if (a->value_type == BOOK_V_NONE && strcmp(vt, "none")) fail(l, "%s: \"value\" must be none, number or name", where);
  json_t *offers = json_object_get(o, "offers");
  if (!json_is_object(offers)) { fail(l, "%s: \"offers\" must be an object", where); return; }
  const char *ecode;
  json_t *arr;
  json_object_foreach(offers, ecode, arr) {
    int e = edition_index(b, ecode);
    if (e < 0) { fail(l, "%s: offers name unknown edition \"%s\"", where, ecode); return; }
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > BOOK_MAX_OFFERS) {
      fail(l, "%s: offers of %s must be a non-empty array", where, ecode);
      return;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
      json_t *t = json_array_get(arr, i);
      book_offer_t *of = &a->offers[e][i];
      of->fen = int_get(l, t, "fen", 0, BOOK_PRICE_MAX, 0, INT64_MIN, where);
      of->included = bool_get(t, "included");
      of->any_value = bool_get(t, "any_value");
      of->rule = str_opt(t, "rule");
      of->name_zh = str_opt(t, "name_zh");
      if (of->included && of->fen) fail(l, "%s: an included offer costs 0", where);
      if (a->value_type == BOOK_V_NUMBER && !of->any_value)
        of->value = int_get(l, t, "value", 1, BILL_USAGE_MAX, 0, INT64_MIN, where);
      if (a->value_type == BOOK_V_NAME) {
        of->value_name = str_req(l, t, "value", where);
        if (strlen(of->value_name) >= sizeof ((bill_order_t *)0)->value_name) fail(l, "%s: value name too long", where);
      }
      if (code == BILL_ADDON_AV_CALL)
        of->included_minutes = int_get(l, t, "included_minutes", 0, BILL_USAGE_MAX, 0, INT64_MIN, where);
    }
    a->noffers[e] = (int)json_array_size(arr);
  }
}

/* ---- document --------------------------------------------------------------- */
int bill_book_load(const char *json, size_t len, bill_book_t **out, char *err, size_t errcap)
{
  ld_t l = { err, errcap, 0 };
  if (errcap) err[0] = 0;
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    if (errcap) snprintf(err, errcap, "JSON error at line %d column %d: %s", je.line, je.column, je.text);
    return IMC_E_BILL_BOOK;
  }
  bill_book_t *b = calloc(1, sizeof *b);
  if (!b) { json_decref(root); return IMC_E_NOMEM; }
  b->root = root;
  b->call_item = -1;
  if (!json_is_object(root)) { fail(&l, "a price book is a JSON object"); goto done; }
  if (bill_scheme_parse(str_req(&l, root, "scheme", "book"), &b->scheme)) fail(&l, "book: unknown \"scheme\"");
  b->title_zh = str_req(&l, root, "title_zh", "book");
  b->title_en = str_req(&l, root, "title_en", "book");
  b->rule = str_opt(root, "rule");
  b->effective_from = date_get(&l, root, "effective_from", INT64_MIN);
  b->effective_to = date_get(&l, root, "effective_to", INT64_MAX);
  if (b->effective_from > b->effective_to) fail(&l, "book: effective_from is after effective_to");
  json_t *lc = json_object_get(root, "lifecycle");
  if (lc && !json_is_object(lc)) fail(&l, "book: \"lifecycle\" must be an object");
  else if (lc) b->grace_days = int_get(&l, lc, "grace_days", 0, 366, 0, INT64_MIN, "lifecycle");
  b->operator_config = bool_get(root, "operator_config");
  b->config_note = str_opt(root, "config_note");

  json_t *eds = json_object_get(root, "editions");
  if (!json_is_array(eds) || json_array_size(eds) == 0 || json_array_size(eds) > BOOK_MAX_EDITIONS) {
    fail(&l, "book: \"editions\" must be a non-empty array (at most %d)", BOOK_MAX_EDITIONS);
    goto done;
  }
  b->neditions = (int)json_array_size(eds);
  for (int i = 0; i < b->neditions && !l.failed; i++) load_edition(&l, b, json_array_get(eds, i), i);
  for (int i = 0; i < b->neditions && !l.failed; i++) {
    if (b->editions[i].rank != i) fail(&l, "editions must be listed by rank 0, 1, 2, ...");
    for (int j = 0; j < i; j++)
      if (!strcmp(b->editions[i].code, b->editions[j].code)) fail(&l, "edition %s twice", b->editions[i].code);
  }
  if (!l.failed && b->editions[0].has_package && b->editions[0].package_fen)
    fail(&l, "the rank-0 edition is the free one (L-1)");

  json_t *items = json_object_get(root, "items");
  if (!json_is_array(items) || json_array_size(items) > BOOK_MAX_ITEMS) {
    fail(&l, "book: \"items\" must be an array (at most %d)", BOOK_MAX_ITEMS);
    goto done;
  }
  b->nitems = (int)json_array_size(items);
  for (int i = 0; i < b->nitems && !l.failed; i++) load_item(&l, b, json_array_get(items, i), i);

  json_t *addons = json_object_get(root, "addons");
  if (!json_is_array(addons)) { fail(&l, "book: \"addons\" must be an array"); goto done; }
  for (size_t i = 0; i < json_array_size(addons) && !l.failed; i++) load_addon(&l, b, json_array_get(addons, i), (int)i);
  if (!l.failed && b->call_item >= 0 && !b->addons[BILL_ADDON_AV_CALL].present)
    fail(&l, "a call-minutes item needs the av_call add-on");

done:
  if (l.failed) {
    bill_book_free(b);
    return IMC_E_BILL_BOOK;
  }
  *out = b;
  return 0;
}

void bill_book_free(bill_book_t *b)
{
  if (!b) return;
  json_decref(b->root);
  free(b);
}

bill_scheme_t bill_book_scheme(const bill_book_t *b) { return b->scheme; }
int64_t bill_book_effective_from(const bill_book_t *b) { return b->effective_from; }
int bill_book_editions(const bill_book_t *b) { return b->neditions; }
int bill_book_edition_find(const bill_book_t *b, const char *code) { return edition_index(b, code); }
int bill_book_free_edition(const bill_book_t *b) { (void)b; return 0; }

const char *bill_book_edition_code(const bill_book_t *b, int e)
{
  return e >= 0 && e < b->neditions ? b->editions[e].code : NULL;
}
const char *bill_book_edition_name_zh(const bill_book_t *b, int e)
{
  return e >= 0 && e < b->neditions ? b->editions[e].name_zh : NULL;
}
const char *bill_book_edition_name_en(const bill_book_t *b, int e)
{
  return e >= 0 && e < b->neditions ? b->editions[e].name_en : NULL;
}

const char *bill_book_call_kind(const bill_book_t *b, int i)
{
  if (b->call_item < 0 || i < 0 || i >= b->items[b->call_item].nkinds) return NULL;
  return b->items[b->call_item].kinds[i].kind;
}

const struct json_t *bill_book_doc(const bill_book_t *b) { return b->root; }

void bill_book_effective(const bill_book_t *b, int64_t *from, int64_t *to)
{
  *from = b->effective_from;
  *to = b->effective_to;
}

int bill_book_prices(const bill_book_t *b, bill_metric_t m)
{
  for (int i = 0; i < b->nitems; i++)
    if (b->items[i].metric == m) return 1;
  return 0;
}
