/* plan_catalog.c — build the edition catalog from the built-in price books,
 * once (pthread_once), and answer the catalog-as-data questions of plan.h.
 *
 * Every edition must state every limit and every feature of the item table
 * below (null = unlimited; a missing key is a load error, so the matrix is
 * complete by construction). Add-on offers (member_cap, groups_per_user,
 * avchatroom_unlimited), the history tiers and the roaming item are read from
 * the same book the bills use, so a limit and its price cannot disagree. */
#include "plan/plan_int.h"
#include "util/err.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const plan_item_def_t plan__items[PLAN__COUNT] = {
  [PLAN_L_USERS]                = { "users", "users (accounts) per app", IMC_E_ACCOUNT_LIMIT, NULL },
  [PLAN_L_FRIENDS]              = { "friends", "friends per user", IMC_E_PLAN_FRIENDS, NULL },
  [PLAN_L_FRIENDS_PEER]         = { "friends", "friends per user (the peer's list)", IMC_E_PLAN_FRIENDS_PEER, NULL },
  [PLAN_L_GROUPS_PER_USER]      = { "groups_per_user", "groups joined per user", IMC_E_PLAN_GROUPS_PER_USER, NULL },
  [PLAN_L_MEMBERS_INITIAL]      = { "members_per_group", "members per non-live group", IMC_E_PLAN_MEMBERS_CAP, NULL },
  [PLAN_L_MEMBERS]              = { "members_per_group", "members per non-live group (group full)", IMC_E_PLAN_GROUP_FULL, NULL },
  [PLAN_L_GROUPS]               = { "groups", "non-live groups per app (dissolved not counted)", IMC_E_PLAN_GROUPS, NULL },
  [PLAN_L_AVCHATROOMS]          = { "avchatrooms", "AVChatRooms per app", IMC_E_PLAN_AVCHATROOMS, NULL },
  [PLAN_L_DAILY_NEW_GROUPS]     = { "daily_new_groups", "daily net new groups", IMC_E_PLAN_DAILY_GROUPS, NULL },
  [PLAN_L_DAILY_NEW_BCHATROOMS] = { "daily_new_bchatrooms", "daily net new BChatRooms", IMC_E_PLAN_DAILY_GROUPS,
                                    "the server has no BChatRoom group type" },
  [PLAN_L_BIG_GROUPS]           = { NULL, "10,000-member groups per customer (P-17)", IMC_E_PLAN_MEMBERS_CAP, NULL },
  [PLAN_L_FREE_DAU]             = { NULL, "free DAU (no overage on this edition)", IMC_E_DAU_LIMIT, NULL },
  [PLAN_L_FREE_MAU]             = { NULL, "free MAU (no overage on this edition)", IMC_E_PLAN_MAU, NULL },
  [PLAN_L_HISTORY_DAYS]         = { NULL, "history retention (days)", IMC_E_PLAN_RETENTION, NULL },
  [PLAN_L_C2C_HISTORY_DAYS]     = { NULL, "C2C history retention (days)", IMC_E_PLAN_RETENTION, NULL },
  [PLAN_L_RECENT_CONVERSATIONS] = { "recent_conversations", "recent conversations kept per user", IMC_E_PLAN_RETENTION, NULL },
  [PLAN_F_ALL_MEMBER_PUSH]      = { "all_member_push", "all-member push", IMC_E_PLAN_PUSH,
                                    "the server has no all-member push command (all_member_push/im_push)" },
  [PLAN_F_MULTI_DEVICE]         = { "multi_device_per_platform", "several devices of one platform online", IMC_E_PLAN_FEATURE_OFF, NULL },
  [PLAN_F_LOCAL_SEARCH]         = { "local_search", "local message search", IMC_E_PLAN_SDK_FEATURE,
                                    "a search of the mobile SDK on the device; no request reaches the server" },
  [PLAN_F_LIVE_GROUP_HISTORY]   = { "live_group_history_for_newcomers", "live-group newcomers see earlier messages", IMC_E_PLAN_FEATURE_OFF,
                                    "live rooms keep no messages, so a newcomer gets no earlier messages on any edition" },
  [PLAN_F_COMMUNITY]            = { "community", "community groups", IMC_E_PLAN_COMMUNITY, NULL },
  [PLAN_F_GROUP_READ_RECEIPTS]  = { "group_read_receipts", "group read receipts", IMC_E_PLAN_ULTIMATE,
                                    "the server has no group read receipts (get_group_msg_receipt)" },
  [PLAN_F_GROUP_TARGETED_MSG]   = { "group_targeted_messages", "targeted group messages", IMC_E_PLAN_ULTIMATE, NULL },
  [PLAN_F_LIVE_GROUP_MEMBERS]   = { "live_group_online_members", "live-group online member list", IMC_E_PLAN_LIVE_GROUP,
                                    "the server has no AVChatRoom member list or marks (get_online_member_num is a count, on every edition)" },
  [PLAN_F_LIVE_GROUP_BROADCAST] = { "live_group_broadcast", "live-group broadcast messages", IMC_E_PLAN_LIVE_GROUP,
                                    "the server has no send_broadcast_msg" },
  [PLAN_F_LIVE_GROUP_BANS]      = { "live_group_bans", "live-group member bans", IMC_E_PLAN_LIVE_GROUP,
                                    "the server has no ban_group_member (forbid_send_msg mutes, on every edition)" },
  [PLAN_F_USER_STATUS]          = { "user_status", "user status", IMC_E_PLAN_USER_STATUS, NULL },
  [PLAN_F_CONVERSATION_MARKS]   = { "conversation_marks", "conversation marks", IMC_E_PLAN_SDK_FEATURE, NULL },
  [PLAN_F_CONVERSATION_GROUPS]  = { "conversation_groups", "conversation groups", IMC_E_PLAN_SDK_FEATURE, NULL },
  [PLAN_F_MESSAGE_EXTENSIONS]   = { "message_extensions", "message extensions", IMC_E_PLAN_EXTENSIONS,
                                    "the server has no message extensions (set_key_values, group_set_key_values)" },
  [PLAN_F_GROUP_COUNTERS]       = { "group_counters", "group counters", IMC_E_PLAN_ULTIMATE,
                                    "the server has no group counters (get_group_counter, update_group_counter)" },
};

const char *plan_item_key(plan_item_t w)
{
  if ((unsigned)w >= PLAN__COUNT) return NULL;
  static const char *const derived[PLAN__COUNT] = {
    [PLAN_L_BIG_GROUPS] = "big_groups_per_customer", [PLAN_L_FREE_DAU] = "free_dau",
    [PLAN_L_FREE_MAU] = "free_mau", [PLAN_L_HISTORY_DAYS] = "history_days",
    [PLAN_L_C2C_HISTORY_DAYS] = "c2c_history_days", [PLAN_L_FRIENDS_PEER] = "friends_peer",
    [PLAN_L_MEMBERS] = "members_per_group_full",
  };
  return derived[w] ? derived[w] : plan__items[w].key;
}
const char *plan_item_label(plan_item_t w) { return (unsigned)w < PLAN__COUNT ? plan__items[w].label : NULL; }
int plan_item_error(plan_item_t w) { return (unsigned)w < PLAN__COUNT ? plan__items[w].err : IMC_E_INVAL; }

int plan_item_parse(const char *key, plan_item_t *out)
{
  for (int i = 0; key && i < PLAN__COUNT; i++)
    if (!strcmp(key, plan_item_key((plan_item_t)i))) { *out = (plan_item_t)i; return 0; }
  return IMC_E_INVAL;
}

/* ---- loading ------------------------------------------------------------------ */
static plan_scheme_t catalog[BILL_SCHEME__COUNT];
static char load_err[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
  if (!load_err[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(load_err, sizeof load_err, fmt, ap);
    va_end(ap);
  }
  return IMC_E_BILL_BOOK;
}

/* A limit: non-negative integer or null (unlimited); required. */
static int limit_get(json_t *o, const char *key, int64_t *out, const char *where)
{
  json_t *v = json_object_get(o, key);
  if (json_is_null(v)) { *out = PLAN_UNLIMITED; return 0; }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > BILL_USAGE_MAX)
    return failf("%s: limit \"%s\" must be a non-negative integer or null", where, key);
  *out = (int64_t)json_integer_value(v);
  return 0;
}

static int list_get(json_t *o, const char *key, const char *field, plan_list_t *out, const char *where)
{
  json_t *r = json_object_get(o, key);
  if (!json_is_object(r)) return failf("%s: capability_rules.%s must be an object", where, key);
  json_t *a = json_object_get(r, field);
  if (!json_is_array(a) || json_array_size(a) > PLAN_MAX_LIST) return failf("%s: %s.%s must be a short array", where, key, field);
  out->n = 0;
  for (size_t i = 0; i < json_array_size(a); i++) {
    if (!json_is_string(json_array_get(a, i))) return failf("%s: %s.%s holds strings", where, key, field);
    out->v[out->n++] = json_string_value(json_array_get(a, i));
  }
  out->rule = json_string_value(json_object_get(r, "rule"));
  if (!out->rule) return failf("%s: %s needs a rule", where, key);
  return 0;
}

static int edition_of(const plan_scheme_t *p, const char *code)
{
  for (int i = 0; i < p->neditions; i++)
    if (!strcmp(p->ed[i].code, code)) return i;
  return -1;
}

/* Offers of a number-valued add-on per edition. */
static int load_offers(plan_scheme_t *p, json_t *offers, size_t field, const char *where)
{
  const char *ecode;
  json_t *arr;
  json_object_foreach(offers, ecode, arr) {
    int e = edition_of(p, ecode);
    if (e < 0) return failf("%s: offers name unknown edition %s", where, ecode);
    plan_offers_t *of = (plan_offers_t *)((char *)&p->ed[e] + field);
    for (size_t i = 0; i < json_array_size(arr) && of->n < PLAN_MAX_OFFERS; i++) {
      json_t *t = json_array_get(arr, i);
      if (json_is_true(json_object_get(t, "any_value"))) { of->any_value = 1; continue; }
      json_t *v = json_object_get(t, "value"), *pc = json_object_get(t, "per_customer");
      if (!json_is_integer(v)) return failf("%s: offer without a number", where);
      of->per_customer[of->n] = json_is_integer(pc) ? (int64_t)json_integer_value(pc) : 0;
      of->value[of->n++] = (int64_t)json_integer_value(v);
    }
  }
  return 0;
}

static int load_addons(plan_scheme_t *p, json_t *root, const char *where)
{
  json_t *addons = json_object_get(root, "addons"), *a;
  size_t i;
  json_array_foreach(addons, i, a) {
    const char *code = json_string_value(json_object_get(a, "code"));
    json_t *offers = json_object_get(a, "offers");
    if (!code || !json_is_object(offers)) continue; /* the billing loader already refused such a book */
    int rc = 0;
    if (!strcmp(code, "member_cap")) rc = load_offers(p, offers, offsetof(plan_edition_t, member_cap), where);
    else if (!strcmp(code, "groups_per_user")) rc = load_offers(p, offers, offsetof(plan_edition_t, groups_per_user), where);
    else if (!strcmp(code, "avchatroom_unlimited")) {
      const char *ecode;
      json_t *arr;
      json_object_foreach(offers, ecode, arr) {
        int e = edition_of(p, ecode);
        if (e >= 0) p->ed[e].avchat_unlimited_offered = 1;
      }
    }
    if (rc) return rc;
  }
  return 0;
}

static int load_items(plan_scheme_t *p, json_t *root, const char *where)
{
  json_t *items = json_object_get(root, "items"), *it;
  size_t i;
  json_array_foreach(items, i, it) {
    const char *metric = json_string_value(json_object_get(it, "metric"));
    if (!metric) continue;
    if (!strcmp(metric, "history_days")) {
      const char *ecode;
      json_t *arr;
      json_object_foreach(json_object_get(it, "tiers"), ecode, arr) {
        int e = edition_of(p, ecode);
        if (e < 0) return failf("%s: history tiers name unknown edition %s", where, ecode);
        plan_offers_t *of = &p->ed[e].history_days;
        for (size_t k = 0; k < json_array_size(arr) && of->n < PLAN_MAX_OFFERS; k++)
          of->value[of->n++] = (int64_t)json_integer_value(json_object_get(json_array_get(arr, k), "days"));
      }
    } else if (!strcmp(metric, "c2c_roaming_months")) {
      json_t *r = json_object_get(it, "retention");
      p->roaming_scope = json_string_value(json_object_get(r, "scope"));
      json_t *d = json_object_get(r, "days_per_month");
      if (!p->roaming_scope || (strcmp(p->roaming_scope, "c2c") && strcmp(p->roaming_scope, "all")) ||
          !json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 31)
        return failf("%s: the roaming item needs \"retention\": {\"scope\": \"c2c\"|\"all\", \"days_per_month\": 1..31}", where);
      p->roaming_days_per_month = (int64_t)json_integer_value(d);
      for (int e = 0; e < p->neditions; e++) p->ed[e].roaming = p->ed[e].overage; /* billed only with overage */
    }
  }
  return 0;
}

static int load_edition(plan_scheme_t *p, json_t *e, int idx, const char *where)
{
  plan_edition_t *ed = &p->ed[idx];
  ed->code = json_string_value(json_object_get(e, "code"));
  ed->name_zh = json_string_value(json_object_get(e, "name_zh"));
  ed->name_en = json_string_value(json_object_get(e, "name_en"));
  ed->overage = json_is_true(json_object_get(e, "overage"));
  json_t *li = json_object_get(e, "limits"), *fe = json_object_get(e, "features"), *fr = json_object_get(e, "free");
  if (!ed->code || !json_is_object(li) || !json_is_object(fe) || !json_is_object(fr))
    return failf("%s editions[%d]: needs code, limits, features and free", where, idx);
  char w[96];
  snprintf(w, sizeof w, "%s %s", where, ed->code);
  for (int i = 0; i < PLAN__COUNT; i++) {
    const plan_item_def_t *d = &plan__items[i];
    if (i >= PLAN_FIRST_FEATURE) {
      json_t *v = json_object_get(fe, d->key);
      if (json_is_true(v)) ed->value[i] = PLAN_FEAT_ON;
      else if (json_is_false(v)) ed->value[i] = PLAN_FEAT_OFF;
      else if (json_is_string(v) && !strcmp(json_string_value(v), "on_application")) ed->value[i] = PLAN_FEAT_ON_APPLICATION;
      else return failf("%s: feature \"%s\" must be true, false or \"on_application\"", w, d->key);
    } else if (d->key) {
      int rc = limit_get(li, d->key, &ed->value[i], w);
      if (rc) return rc;
    }
  }
  /* Derived limits. A free edition without overage is capped at its free
   * DAU / MAU (P-15, P-30, P-42, P-52); with overage there is no cap. */
  int64_t fd = PLAN_UNLIMITED, fm = PLAN_UNLIMITED, hd;
  if (json_object_get(fr, "peak_dau") && limit_get(fr, "peak_dau", &fd, w)) return IMC_E_BILL_BOOK;
  if (json_object_get(fr, "mau") && limit_get(fr, "mau", &fm, w)) return IMC_E_BILL_BOOK;
  if (limit_get(fr, "history_days", &hd, w)) return IMC_E_BILL_BOOK;
  if (hd == PLAN_UNLIMITED) return failf("%s: free history_days must be a number", w);
  ed->value[PLAN_L_FREE_DAU] = ed->overage ? PLAN_UNLIMITED : fd;
  ed->value[PLAN_L_FREE_MAU] = ed->overage ? PLAN_UNLIMITED : fm;
  ed->value[PLAN_L_HISTORY_DAYS] = ed->value[PLAN_L_C2C_HISTORY_DAYS] = hd;
  ed->value[PLAN_L_BIG_GROUPS] = PLAN_UNLIMITED; /* only an add-on with a per-customer quota sets one */
  ed->limits_rule = json_string_value(json_object_get(li, "rule"));
  ed->features_rule = json_string_value(json_object_get(fe, "rule"));
  if (!ed->limits_rule || !ed->features_rule) return failf("%s: limits and features need a rule", w);
  return 0;
}

static int load_scheme(bill_scheme_t s)
{
  plan_scheme_t *p = &catalog[s];
  const bill_book_t *b = bill_book_builtin(s);
  const char *where = bill_scheme_name(s);
  if (!b) return failf("%s: %s", where, bill_book_builtin_error(s));
  json_t *root = (json_t *)bill_book_doc(b); /* read only */
  json_t *eds = json_object_get(root, "editions");
  p->scheme = s;
  p->neditions = (int)json_array_size(eds);
  if (p->neditions < 1 || p->neditions > PLAN_MAX_EDITIONS) return failf("%s: editions", where);
  for (int i = 0; i < p->neditions; i++) {
    int rc = load_edition(p, json_array_get(eds, i), i, where);
    if (rc) return rc;
  }
  int rc = load_addons(p, root, where);
  if (!rc) rc = load_items(p, root, where);
  if (rc) return rc;

  json_t *cr = json_object_get(root, "capability_rules");
  if (!json_is_object(cr)) return failf("%s: \"capability_rules\" must be an object", where);
  if ((rc = list_get(cr, "read_receipts", "group_types", &p->receipt_types, where)) ||
      (rc = list_get(cr, "community_unavailable_regions", "regions", &p->community_regions, where)) ||
      (rc = list_get(cr, "live_group_elements", "types", &p->live_elements, where)))
    return rc;
  json_t *rr = json_object_get(cr, "read_receipts");
  if (limit_get(rr, "max_members", &p->receipt_max_members, where)) return IMC_E_BILL_BOOK;
  p->receipt_rule = p->receipt_types.rule;
  for (int i = 0; i < p->community_regions.n; i++)
    if (!bill_region_known(p->community_regions.v[i])) return failf("%s: unknown region %s", where, p->community_regions.v[i]);
  p->push_delay_s = -1;
  json_t *pa = json_object_get(cr, "all_member_push_on_application");
  if (pa) {
    json_t *d = json_object_get(pa, "delay_s");
    if (!json_is_integer(d) || json_integer_value(d) < 0) return failf("%s: all_member_push_on_application.delay_s", where);
    p->push_delay_s = (int64_t)json_integer_value(d);
    p->push_rule = json_string_value(json_object_get(pa, "rule"));
  }
  for (int e = 0; e < p->neditions; e++)
    if (p->ed[e].value[PLAN_F_ALL_MEMBER_PUSH] == PLAN_FEAT_ON_APPLICATION && p->push_delay_s < 0)
      return failf("%s: an edition has push on application but the book gives no delay", where);

  p->grace_days = -1;
  json_t *lc = json_object_get(root, "lifecycle");
  if (lc) {
    json_t *g = json_object_get(lc, "grace_days");
    p->grace_rule = json_string_value(json_object_get(lc, "rule"));
    if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > 366 || !p->grace_rule)
      return failf("%s: lifecycle needs grace_days 0..366 and a rule", where);
    p->grace_days = (int64_t)json_integer_value(g);
  }

  json_t *dec = json_object_get(root, "decisions"), *d;
  size_t i;
  if (!json_is_array(dec) || json_array_size(dec) > PLAN_MAX_DECISIONS) return failf("%s: \"decisions\" must be an array", where);
  json_array_foreach(dec, i, d) {
    p->decision_rule[i] = json_string_value(json_object_get(d, "rule"));
    p->decision_text[i] = json_string_value(json_object_get(d, "text"));
    if (!p->decision_rule[i] || !p->decision_text[i]) return failf("%s: decisions[%zu] needs rule and text", where, i);
  }
  p->ndecisions = (int)json_array_size(dec);
  p->loaded = 1;
  return 0;
}

static void load_all(void)
{
  for (int s = 0; s < BILL_SCHEME__COUNT; s++) load_scheme((bill_scheme_t)s);
}

const plan_scheme_t *plan__scheme(bill_scheme_t s)
{
  pthread_once(&once, load_all);
  return (unsigned)s < BILL_SCHEME__COUNT && catalog[s].loaded ? &catalog[s] : NULL;
}

const char *plan_catalog_error(void)
{
  pthread_once(&once, load_all);
  return load_err[0] ? load_err : NULL;
}

/* ---- catalog as data ------------------------------------------------------------ */
static const plan_edition_t *edition(bill_scheme_t s, int e)
{
  const plan_scheme_t *p = plan__scheme(s);
  return p && e >= 0 && e < p->neditions ? &p->ed[e] : NULL;
}

int plan_push_on_application(bill_scheme_t s)
{
  const plan_scheme_t *p = plan__scheme(s);
  for (int e = 0; p && e < p->neditions; e++)
    if (p->ed[e].value[PLAN_F_ALL_MEMBER_PUSH] == PLAN_FEAT_ON_APPLICATION) return 1;
  return 0;
}

int plan_editions(bill_scheme_t s) { const plan_scheme_t *p = plan__scheme(s); return p ? p->neditions : 0; }
const char *plan_edition_code(bill_scheme_t s, int e) { const plan_edition_t *x = edition(s, e); return x ? x->code : NULL; }
const char *plan_edition_name_zh(bill_scheme_t s, int e) { const plan_edition_t *x = edition(s, e); return x ? x->name_zh : NULL; }
const char *plan_edition_name_en(bill_scheme_t s, int e) { const plan_edition_t *x = edition(s, e); return x ? x->name_en : NULL; }

int64_t plan_edition_value(bill_scheme_t s, int e, plan_item_t w)
{
  const plan_edition_t *x = edition(s, e);
  return x && (unsigned)w < PLAN__COUNT ? x->value[w] : 0;
}

const char *plan_edition_rule(bill_scheme_t s, int e, int features)
{
  const plan_edition_t *x = edition(s, e);
  return x ? (features ? x->features_rule : x->limits_rule) : NULL;
}

int64_t plan_grace_days(bill_scheme_t s)
{
  const plan_scheme_t *p = plan__scheme(s);
  return p ? p->grace_days : -1;
}

const char *plan_decision(bill_scheme_t s, int i, const char **rule)
{
  const plan_scheme_t *p = plan__scheme(s);
  if (!p || i < 0 || i >= p->ndecisions) return NULL;
  if (rule) *rule = p->decision_rule[i];
  return p->decision_text[i];
}
