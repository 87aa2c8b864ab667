/* registry.c — the server's in-memory apps and accounts (tenant.h).
 *
 * Apps: u64map SDKAppID → tenant_app_t*. Accounts of an app: open-addressing
 * table of {hash, user_no, user_id*} (16 bytes a slot plus the string), load
 * ≤ 0.7, backward-shift deletion, and the reverse index by_no[user_no] →
 * the same string (8 bytes an account: user numbers are dense per app), so a
 * session, which keeps only its number, can name its user. Loop thread only. */
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

typedef struct acct_slot { char *user_id; uint32_t hash; uint32_t user_no; } acct_slot_t;
struct tenant_accounts { acct_slot_t *slots; size_t cap, len; const char **by_no; size_t by_no_cap; };

struct tenant_registry { u64map_t apps; };

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h ? h : 1;
}

static acct_slot_t *acct_find(const tenant_accounts_t *t, const char *uid, uint32_t h)
{
  if (!t->cap) return NULL;
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    acct_slot_t *s = &t->slots[i];
    if (!s->user_id) return NULL;
    if (s->hash == h && !strcmp(s->user_id, uid)) return s;
  }
}

static int acct_grow(tenant_accounts_t *t)
{
  size_t ncap = t->cap ? t->cap * 2 : 16;
  acct_slot_t *ns = calloc(ncap, sizeof *ns);
  if (!ns) return IMC_E_NOMEM;
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->slots[i].user_id) continue;
    size_t j = t->slots[i].hash & (ncap - 1);
    while (ns[j].user_id) j = (j + 1) & (ncap - 1);
    ns[j] = t->slots[i];
  }
  free(t->slots);
  t->slots = ns;
  t->cap = ncap;
  return 0;
}

/* Make by_no hold index user_no. */
static int by_no_reserve(tenant_accounts_t *t, uint32_t user_no)
{
  if (user_no < t->by_no_cap) return 0;
  size_t ncap = t->by_no_cap ? t->by_no_cap : 16;
  while (ncap <= user_no) ncap *= 2;
  const char **nv = realloc(t->by_no, ncap * sizeof *nv);
  if (!nv) return IMC_E_NOMEM;
  memset(nv + t->by_no_cap, 0, (ncap - t->by_no_cap) * sizeof *nv);
  t->by_no = nv;
  t->by_no_cap = ncap;
  return 0;
}

static int acct_put(tenant_accounts_t *t, const char *uid, uint32_t user_no)
{
  uint32_t h = hash_str(uid);
  if (by_no_reserve(t, user_no)) return IMC_E_NOMEM;
  acct_slot_t *s = acct_find(t, uid, h);
  if (s) {
    if (s->user_no < t->by_no_cap && t->by_no[s->user_no] == s->user_id) t->by_no[s->user_no] = NULL;
    s->user_no = user_no;
    t->by_no[user_no] = s->user_id;
    return 0;
  }
  if ((t->len + 1) * 10 > t->cap * 7 && acct_grow(t)) return IMC_E_NOMEM;
  char *copy = strdup(uid);
  if (!copy) return IMC_E_NOMEM;
  size_t i = h & (t->cap - 1);
  while (t->slots[i].user_id) i = (i + 1) & (t->cap - 1);
  t->slots[i] = (acct_slot_t){ copy, h, user_no };
  t->by_no[user_no] = copy;
  t->len++;
  return 0;
}

static void acct_del(tenant_accounts_t *t, const char *uid)
{
  acct_slot_t *s = acct_find(t, uid, hash_str(uid));
  if (!s) return;
  size_t i = (size_t)(s - t->slots), j = i;
  if (s->user_no < t->by_no_cap && t->by_no[s->user_no] == s->user_id) t->by_no[s->user_no] = NULL;
  free(s->user_id);
  for (;;) {
    j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].user_id) break;
    size_t home = t->slots[j].hash & (t->cap - 1);
    if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) { t->slots[i] = t->slots[j]; i = j; }
  }
  t->slots[i] = (acct_slot_t){ 0 };
  t->len--;
}

static void acct_free(tenant_accounts_t *t)
{
  if (!t) return;
  for (size_t i = 0; i < t->cap; i++) free(t->slots[i].user_id);
  free(t->slots);
  free(t->by_no);
  free(t);
}

/* ---- loading ------------------------------------------------------------------ */
typedef struct load_ctx { tenant_registry_t *r; store_t *s; int rc; } load_ctx_t;

typedef struct acct_load { tenant_accounts_t *t; int rc; } acct_load_t;

static void on_account_load(void *ud, const char *uid, uint32_t user_no)
{
  acct_load_t *l = ud;
  if (!l->rc) l->rc = acct_put(l->t, uid, user_no);
}

int tenant_registry_app_upsert(tenant_registry_t *r, const store_app_t *rec, const tenant_lifecycle_t *lc)
{
  tenant_app_t *a = u64map_get(&r->apps, rec->sdkappid);
  if (!a) {
    if (!(a = calloc(1, sizeof *a)) || !(a->accounts = calloc(1, sizeof *a->accounts))) { free(a); return IMC_E_NOMEM; }
    if (u64map_put(&r->apps, rec->sdkappid, a)) { acct_free(a->accounts); free(a); return IMC_E_NOMEM; }
  }
  a->rec = *rec; /* an update keeps the accounts */
  if (lc) { a->plan = lc->plan; a->lc_state = lc->state; }
  return 0;
}

static void on_app(void *ud, const store_app_t *rec)
{
  load_ctx_t *c = ud;
  if (!c->rc) c->rc = tenant_registry_app_upsert(c->r, rec, NULL); /* plans: refreshed after the load */
}

static int load_accounts(tenant_registry_t *r, store_t *s)
{
  for (size_t i = 0; i < r->apps.cap; i++) {
    tenant_app_t *a = r->apps.slots[i].val;
    if (!a || a->accounts->len) continue;
    acct_load_t l = { a->accounts, 0 };
    int rc = store_account_each(s, a->rec.sdkappid, on_account_load, &l);
    if (rc || l.rc) return rc ? rc : l.rc;
  }
  return 0;
}

int tenant_registry_refresh_plans(tenant_registry_t *r, store_t *s, int64_t day)
{
  store_order_t *v = NULL;
  int n = 0, first = tenant_app_orders(s, 0, &v, &n); /* every order, by app then id: one query */
  for (size_t i = 0; i < r->apps.cap; i++) {
    tenant_app_t *a = r->apps.slots[i].val;
    if (!a) continue;
    int rc = first;
    tenant_lifecycle_t lc;
    if (!rc) {
      int lo = 0, hi = n; /* first order of this app */
      while (lo < hi) { int mid = (lo + hi) / 2; if (v[mid].sdkappid < a->rec.sdkappid) lo = mid + 1; else hi = mid; }
      int end = lo;
      while (end < n && v[end].sdkappid == a->rec.sdkappid) end++;
      rc = tenant_lifecycle(&a->rec, end > lo ? v + lo : NULL, end - lo, day, &lc); /* no orders: v may be NULL */
    }
    if (!rc && plan_edition_value(lc.plan.scheme, lc.plan.edition, PLAN_F_ALL_MEMBER_PUSH) == PLAN_FEAT_ON_APPLICATION)
      rc = tenant_app_push_approved(s, a->rec.sdkappid, &lc.plan.push_approved_at_s);
    if (rc) {
      memset(&a->plan, 0, sizeof a->plan); /* not ready: refuse rather than guess */
      if (!first) first = rc;
      continue;
    }
    a->plan = lc.plan;
    a->lc_state = lc.state;
  }
  free(v);
  return first;
}

int tenant_registry_reload_apps(tenant_registry_t *r, store_t *s)
{
  load_ctx_t c = { r, s, 0 };
  int rc = store_app_list(s, 0, on_app, &c);
  if (!rc) rc = c.rc;
  if (!rc) rc = load_accounts(r, s);
  if (!rc) tenant_registry_refresh_plans(r, s, imc_day_of(imc_clock_now_s(), IMC_TZ_CHINA_S)); /* failures: plan not ready */
  return rc;
}

int tenant_registry_load(store_t *s, tenant_registry_t **out)
{
  tenant_registry_t *r = calloc(1, sizeof *r);
  if (!r) return IMC_E_NOMEM;
  u64map_init(&r->apps);
  int rc = tenant_registry_reload_apps(r, s);
  if (rc) { tenant_registry_free(r); return rc; }
  *out = r;
  return 0;
}

void tenant_registry_free(tenant_registry_t *r)
{
  if (!r) return;
  for (size_t i = 0; i < r->apps.cap; i++) {
    tenant_app_t *a = r->apps.slots[i].val;
    if (!a) continue;
    acct_free(a->accounts);
    free(a);
  }
  u64map_free(&r->apps);
  free(r);
}

const tenant_app_t *tenant_registry_app(const tenant_registry_t *r, uint32_t sdkappid)
{
  return sdkappid ? u64map_get(&r->apps, sdkappid) : NULL;
}

size_t tenant_registry_app_count(const tenant_registry_t *r) { return r->apps.len; }

int tenant_registry_account_find(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t *user_no)
{
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  acct_slot_t *s = a ? acct_find(a->accounts, user_id, hash_str(user_id)) : NULL;
  if (!s) return IMC_E_NOTFOUND;
  *user_no = s->user_no;
  return 0;
}

int tenant_registry_account_put(tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no)
{
  tenant_app_t *a = u64map_get(&r->apps, sdkappid);
  if (!a) return IMC_E_NOTFOUND;
  return acct_put(a->accounts, user_id, user_no);
}

void tenant_registry_account_remove(tenant_registry_t *r, uint32_t sdkappid, const char *user_id)
{
  tenant_app_t *a = u64map_get(&r->apps, sdkappid);
  if (a) acct_del(a->accounts, user_id);
}

const char *tenant_registry_account_id(const tenant_registry_t *r, uint32_t sdkappid, uint32_t user_no)
{
  tenant_app_t *a = u64map_get(&r->apps, sdkappid);
  const tenant_accounts_t *t = a ? a->accounts : NULL;
  return t && user_no < t->by_no_cap ? t->by_no[user_no] : NULL;
}

size_t tenant_registry_account_count(const tenant_registry_t *r, uint32_t sdkappid)
{
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  return a ? a->accounts->len : 0;
}
