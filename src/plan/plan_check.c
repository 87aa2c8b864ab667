/* plan_check.c — the app's facts (plan_app_init, plan_app_hold) and the one
 * check (plan_check): the limit in force is the edition's value raised by
 * what the app holds (add-ons, retention), a feature is the edition's flag
 * narrowed by region (P-55) and time (international Pro's push, 48 h after
 * approval). Pure; messages are built into the caller's verdict. */
#include "plan/plan_int.h"
#include "util/num.h"
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* "1,234,567", or "unlimited" */
static const char *num(int64_t v, char *buf, size_t cap)
{
  if (v == PLAN_UNLIMITED) { snprintf(buf, cap, "unlimited"); return buf; }
  return imc_fmt_group(v, buf, cap);
}

static const plan_scheme_t *scheme_of(const plan_app_t *a)
{
  const plan_scheme_t *p = a && a->ready ? plan__scheme(a->scheme) : NULL;
  return p && a->edition >= 0 && a->edition < p->neditions ? p : NULL;
}

/* ---- facts ------------------------------------------------------------------ */
int plan_app_init(plan_app_t *app, const char *scheme, const char *edition, const char *region)
{
  bill_scheme_t s;
  if (bill_scheme_parse(scheme, &s)) return IMC_E_BILL_SCHEME;
  const plan_scheme_t *p = plan__scheme(s);
  if (!p) return IMC_E_BILL_BOOK;
  int e = -1;
  for (int i = 0; edition && i < p->neditions; i++)
    if (!strcmp(p->ed[i].code, edition)) e = i;
  if (e < 0) return IMC_E_BILL_EDITION;
  if (!bill_region_known(region) || strlen(region) >= sizeof app->region) return IMC_E_INVAL;
  memset(app, 0, sizeof *app);
  app->ready = 1;
  app->scheme = s;
  app->edition = e;
  snprintf(app->region, sizeof app->region, "%s", region);
  return 0;
}

static int offered(const plan_offers_t *of, int64_t v)
{
  if (of->any_value) return 1;
  for (int i = 0; i < of->n; i++)
    if (of->value[i] == v) return 1;
  return 0;
}

int plan_app_hold(plan_app_t *app, plan_hold_t what, int64_t value)
{
  const plan_scheme_t *p = scheme_of(app);
  if (!p || (unsigned)what >= PLAN_HOLD__COUNT) return IMC_E_INVAL;
  if (value < 0) return IMC_E_RANGE;
  const plan_edition_t *ed = &p->ed[app->edition];
  int ok = 1;
  if (value) switch (what) {
  case PLAN_HOLD_AVCHATROOM_UNLIMITED: ok = value == 1 && ed->avchat_unlimited_offered; break;
  case PLAN_HOLD_MEMBER_CAP: ok = offered(&ed->member_cap, value); break;
  case PLAN_HOLD_GROUPS_PER_USER: ok = offered(&ed->groups_per_user, value); break;
  case PLAN_HOLD_HISTORY_DAYS: ok = offered(&ed->history_days, value); break;
  case PLAN_HOLD_ROAMING_MONTHS: ok = ed->roaming && value <= 1200; break;
  case PLAN_HOLD_BIG_GROUPS_EXTRA: ok = value <= BILL_USAGE_MAX; break;
  default: ok = 0;
  }
  if (!ok) return IMC_E_BILL_ADDON_FORBIDDEN;
  app->hold[what] = value;
  return 0;
}

/* ---- limits in force ---------------------------------------------------------- */
static int64_t raise(int64_t v, int64_t held)
{
  return v == PLAN_UNLIMITED || held <= v ? v : held;
}

/* P-17: the per-customer quota of the member_cap offer held, 0 without. */
static int64_t per_customer(const plan_edition_t *ed, int64_t cap, int64_t *floor)
{
  int64_t below = 0, q = 0;
  for (int i = 0; i < ed->member_cap.n; i++) {
    if (ed->member_cap.value[i] == cap) q = ed->member_cap.per_customer[i];
    else if (ed->member_cap.value[i] < cap && ed->member_cap.value[i] > below) below = ed->member_cap.value[i];
  }
  if (floor) *floor = below;
  return q;
}

static int64_t roaming_days(const plan_scheme_t *p, const plan_app_t *a)
{
  return a->hold[PLAN_HOLD_ROAMING_MONTHS] * p->roaming_days_per_month;
}

static int community_region_blocked(const plan_scheme_t *p, const plan_app_t *a)
{
  for (int i = 0; i < p->community_regions.n; i++)
    if (!strcmp(p->community_regions.v[i], a->region)) return 1;
  return 0;
}

static int64_t limit_in_force(const plan_scheme_t *p, const plan_app_t *a, int64_t now_s, plan_item_t w)
{
  const plan_edition_t *ed = &p->ed[a->edition];
  int64_t v = ed->value[w];
  switch (w) {
  case PLAN_L_MEMBERS: case PLAN_L_MEMBERS_INITIAL: return raise(v, a->hold[PLAN_HOLD_MEMBER_CAP]);
  case PLAN_L_GROUPS_PER_USER: return raise(v, a->hold[PLAN_HOLD_GROUPS_PER_USER]);
  case PLAN_L_AVCHATROOMS: return a->hold[PLAN_HOLD_AVCHATROOM_UNLIMITED] ? PLAN_UNLIMITED : v;
  case PLAN_L_HISTORY_DAYS:
    v = raise(v, a->hold[PLAN_HOLD_HISTORY_DAYS]);
    return p->roaming_scope && !strcmp(p->roaming_scope, "all") ? raise(v, roaming_days(p, a)) : v;
  case PLAN_L_C2C_HISTORY_DAYS:
    return raise(raise(v, a->hold[PLAN_HOLD_HISTORY_DAYS]), p->roaming_scope ? roaming_days(p, a) : 0);
  case PLAN_L_BIG_GROUPS: {
    int64_t q = per_customer(ed, a->hold[PLAN_HOLD_MEMBER_CAP], NULL);
    return q ? q + a->hold[PLAN_HOLD_BIG_GROUPS_EXTRA] : PLAN_UNLIMITED;
  }
  case PLAN_F_ALL_MEMBER_PUSH:
    if (v == PLAN_FEAT_ON_APPLICATION)
      return a->push_approved_at_s > 0 && now_s >= a->push_approved_at_s + p->push_delay_s;
    return v == PLAN_FEAT_ON;
  case PLAN_F_COMMUNITY: return v == PLAN_FEAT_ON && !community_region_blocked(p, a);
  default: return w >= PLAN_FIRST_FEATURE ? v == PLAN_FEAT_ON : v;
  }
}

int64_t plan_limit(const plan_app_t *app, int64_t now_s, plan_item_t what)
{
  const plan_scheme_t *p = scheme_of(app);
  return p && (unsigned)what < PLAN__COUNT ? limit_in_force(p, app, now_s, what) : 0;
}

int64_t plan_big_group_floor(const plan_app_t *app)
{
  const plan_scheme_t *p = scheme_of(app);
  if (!p) return PLAN_UNLIMITED;
  int64_t floor;
  return per_customer(&p->ed[app->edition], app->hold[PLAN_HOLD_MEMBER_CAP], &floor) ? floor : PLAN_UNLIMITED;
}

static int64_t offers_max(const plan_offers_t *of, int64_t v)
{
  if (of->any_value) return PLAN_UNLIMITED;
  for (int i = 0; i < of->n; i++) v = raise(v, of->value[i]);
  return v;
}

int64_t plan_edition_max(bill_scheme_t s, int e, plan_item_t w)
{
  const plan_scheme_t *p = plan__scheme(s);
  if (!p || e < 0 || e >= p->neditions || (unsigned)w >= PLAN__COUNT) return 0;
  const plan_edition_t *ed = &p->ed[e];
  int64_t v = ed->value[w];
  int roam_all = p->roaming_scope && !strcmp(p->roaming_scope, "all") && ed->roaming;
  switch (w) {
  case PLAN_L_MEMBERS: case PLAN_L_MEMBERS_INITIAL: return offers_max(&ed->member_cap, v);
  case PLAN_L_GROUPS_PER_USER: return offers_max(&ed->groups_per_user, v);
  case PLAN_L_AVCHATROOMS: return ed->avchat_unlimited_offered ? PLAN_UNLIMITED : v;
  case PLAN_L_HISTORY_DAYS: return roam_all ? 1200 * p->roaming_days_per_month : offers_max(&ed->history_days, v);
  case PLAN_L_C2C_HISTORY_DAYS:
    return p->roaming_scope && ed->roaming ? 1200 * p->roaming_days_per_month : offers_max(&ed->history_days, v);
  default: return v;
  }
}

/* ---- messages ------------------------------------------------------------------- */
typedef struct mb { char *p; size_t cap, len; } mb_t;

static void put(mb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(mb_t *b, const char *fmt, ...)
{
  if (b->len >= b->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n > 0) b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

/* "editions: trial 20, pro 200 (add-ons up to 2,000), ultimate 2,000 (add-ons up to 6,000)" */
static void limit_editions(mb_t *b, const plan_scheme_t *p, plan_item_t w)
{
  char x[32], y[32];
  put(b, "; %s editions:", bill_scheme_name(p->scheme));
  for (int e = 0; e < p->neditions; e++) {
    int64_t v = p->ed[e].value[w], m = plan_edition_max(p->scheme, e, w);
    if ((w == PLAN_L_FREE_DAU || w == PLAN_L_FREE_MAU) && v == PLAN_UNLIMITED) {
      put(b, "%s %s %s", e ? "," : "", p->ed[e].code, p->ed[e].overage ? "no cap (overage billed)" : "no cap");
      continue;
    }
    put(b, "%s %s %s", e ? "," : "", p->ed[e].code, num(v, x, sizeof x));
    if (m != v) put(b, " (add-ons up to %s)", num(m, y, sizeof y));
  }
}

static void feature_editions(mb_t *b, const plan_scheme_t *p, plan_item_t w)
{
  int n = 0;
  for (int e = 0; e < p->neditions; e++) {
    int64_t v = p->ed[e].value[w];
    if (v == PLAN_FEAT_OFF) continue;
    put(b, "%s%s %s (%s)%s", n++ ? ", " : "; editions that have it: ", bill_scheme_name(p->scheme), p->ed[e].code,
        p->ed[e].name_zh, v == PLAN_FEAT_ON_APPLICATION ? " on application" : "");
  }
  if (!n) put(b, "; no edition of the %s scheme has it", bill_scheme_name(p->scheme));
}

static int refuse(plan_verdict_t *out, int err) { out->err = err; return err; }

static int bad(plan_verdict_t *out, const char *why)
{
  snprintf(out->msg, sizeof out->msg, "plan_check: %s", why);
  return refuse(out, IMC_E_INVAL);
}

int plan_check(const plan_app_t *app, int64_t now_s, plan_item_t what, int64_t current, int64_t adding,
               plan_verdict_t *out)
{
  /* field by field, not memset: the allowed path is the hot one (a 340-byte
   * clear was 80% of its cost) */
  out->err = 0;
  out->what = what;
  out->limit = 0;
  out->msg[0] = 0;
  const plan_scheme_t *p = scheme_of(app);
  if (!p) return bad(out, "app facts not initialised (plan_app_init)");
  if ((unsigned)what >= PLAN__COUNT) return bad(out, "unknown item");
  if (current < 0 || adding < 0) return bad(out, "negative count");
  const plan_edition_t *ed = &p->ed[app->edition];
  int64_t lim = limit_in_force(p, app, now_s, what);
  out->limit = lim;
  mb_t b = { out->msg, sizeof out->msg, 0 };
  char x[32], y[32];
  if (what < PLAN_FIRST_FEATURE) {
    if (lim == PLAN_UNLIMITED || (current <= lim && adding <= lim - current)) return 0;
    put(&b, "%s: %s %s (%s) allows %s", plan__items[what].label, bill_scheme_name(p->scheme), ed->code, ed->name_zh,
        num(lim, x, sizeof x));
    if (lim != ed->value[what]) put(&b, " with its add-ons (edition %s)", num(ed->value[what], y, sizeof y));
    put(&b, ", %s in use, %s more refused", num(current, x, sizeof x), num(adding, y, sizeof y));
    if (what == PLAN_L_BIG_GROUPS) put(&b, " (P-17: a ticket raises it)");
    else limit_editions(&b, p, what);
    put(&b, " (%s)", what == PLAN_L_DAILY_NEW_GROUPS || what == PLAN_L_DAILY_NEW_BCHATROOMS ? "P-53"
                     : what == PLAN_L_BIG_GROUPS ? "P-17" : ed->limits_rule);
    return refuse(out, plan__items[what].err);
  }
  if (lim) return 0;
  if (what == PLAN_F_COMMUNITY && ed->value[what] == PLAN_FEAT_ON) {
    put(&b, "community groups are not available in the %s data center (%s)", app->region, p->community_regions.rule);
    return refuse(out, plan__items[what].err);
  }
  if (ed->value[what] == PLAN_FEAT_ON_APPLICATION) {
    if (!app->push_approved_at_s)
      put(&b, "%s on %s %s (%s) is enabled on application: not approved (%s)", plan__items[what].label,
          bill_scheme_name(p->scheme), ed->code, ed->name_zh, p->push_rule);
    else
      put(&b, "%s on %s %s (%s) takes effect %s s after approval: %s s to go (%s)", plan__items[what].label,
          bill_scheme_name(p->scheme), ed->code, ed->name_zh, num(p->push_delay_s, x, sizeof x),
          num(app->push_approved_at_s + p->push_delay_s - now_s, y, sizeof y), p->push_rule);
    return refuse(out, plan__items[what].err);
  }
  put(&b, "%s is not in %s %s (%s)", plan__items[what].label, bill_scheme_name(p->scheme), ed->code, ed->name_zh);
  feature_editions(&b, p, what);
  put(&b, " (%s)", ed->features_rule);
  return refuse(out, plan__items[what].err);
}

static int in_list(const plan_list_t *l, const char *s)
{
  for (int i = 0; s && i < l->n; i++)
    if (!strcmp(l->v[i], s)) return 1;
  return 0;
}

int plan_check_read_receipts(const plan_app_t *app, int64_t now_s, const char *group_type, int64_t group_max_members,
                             plan_verdict_t *out)
{
  int rc = plan_check(app, now_s, PLAN_F_GROUP_READ_RECEIPTS, 0, 0, out);
  if (rc) return rc;
  const plan_scheme_t *p = scheme_of(app);
  if (in_list(&p->receipt_types, group_type) && group_max_members >= 0 && group_max_members <= p->receipt_max_members)
    return 0;
  char x[32];
  mb_t b = { out->msg, sizeof out->msg, 0 };
  put(&b, "group read receipts apply to groups of at most %s members of the types", num(p->receipt_max_members, x, sizeof x));
  for (int i = 0; i < p->receipt_types.n; i++) put(&b, "%s %s", i ? "," : "", p->receipt_types.v[i]);
  put(&b, " (%s)", p->receipt_rule);
  return refuse(out, IMC_E_PLAN_RECEIPT_GROUP);
}

int plan_check_live_element(const plan_app_t *app, const char *elem_type, plan_verdict_t *out)
{
  out->err = 0;
  out->what = PLAN__COUNT;
  out->limit = 0;
  out->msg[0] = 0;
  const plan_scheme_t *p = scheme_of(app);
  if (!p) return bad(out, "app facts not initialised (plan_app_init)");
  if (in_list(&p->live_elements, elem_type)) return 0;
  mb_t b = { out->msg, sizeof out->msg, 0 };
  put(&b, "live groups (AVChatRoom) carry only");
  for (int i = 0; i < p->live_elements.n; i++) put(&b, "%s %s", i ? "," : "", p->live_elements.v[i]);
  put(&b, " (%s)", p->live_elements.rule);
  return refuse(out, IMC_E_PLAN_LIVE_ELEMENT);
}
