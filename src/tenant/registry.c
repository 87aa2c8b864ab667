/* registry.c — the server's in-memory apps and accounts (tenant.h).
 *
 * Apps: u64map SDKAppID → tenant_app_t*. Accounts of an app: open-addressing
 * table of {hash, user_no, user_id*} (16 bytes a slot plus the string), load
 * ≤ 0.7, backward-shift deletion, and the reverse index by_no: user_no →
 * the same string (8 bytes an account: user numbers are dense per app), so a
 * session, which keeps only its number, can name its user. Loop thread only.
 * The reverse index is paged (BY_NO_PAGE numbers a page, allocated when a
 * number in it is first put, and a directory of pages that doubles; the
 * first page starts at 16 entries and doubles up to a page, so an app with
 * few accounts keeps a small index): one flat array doubled by realloc and
 * memset copied and zeroed 8 bytes per account in one put (8 MB at a million
 * accounts).
 *
 * Growth is incremental (Redis's dict rehashes a few buckets per operation;
 * the idea, not its code: ours is open addressing). A doubling that moved
 * every account at once ran inside one login's completion on the loop: at
 * 11,468 and 22,937 accounts it held the loop 1.1–7.7 ms, and every request
 * that arrived meanwhile waited (docs/BENCHMARKS.md, "Issue 11, wave 11").
 * Now the full table becomes `old`, new accounts go to a table twice its
 * size, and each put or removal moves at least ACCT_MOVE_STEP old slots, on
 * to the end of their cluster (an empty slot): an old cluster is moved
 * whole or not at all, and a moved slot is left empty, so a probe of the
 * old table from any key's home slot still ends at the right place (a key
 * whose home was moved finds an empty slot at once). Every account is in
 * exactly one of the two tables; lookups try the new one, then the old.
 * The moves end before the new table needs to grow (it fills from 0.35 to
 * 0.7 while the old one's cap slots are moved, ACCT_MOVE_STEP ≥ 2 per put);
 * if a growth ever found them unfinished it would finish them first. Both
 * tables exist only while the moves last (as both did during the one-shot
 * copy). */
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

#define ACCT_MOVE_STEP 64 /* old slots moved per put or removal while the table grows (≥ 2, see above) */
#define BY_NO_PAGE 4096   /* user numbers per page of the reverse index (32 KiB) */

typedef struct acct_slot { char *user_id; uint32_t hash; uint32_t user_no; } acct_slot_t;
struct tenant_accounts {
  acct_slot_t *slots; size_t cap;   /* the table new accounts go to */
  acct_slot_t *old; size_t old_cap; /* the table being moved out, or NULL */
  size_t old_pos, old_left;         /* the next old slot to move, and how many are left */
  size_t len;                       /* accounts in both tables */
  size_t moved_max;                 /* the most slots one put or removal moved (tenant_registry_account_moves_max) */
  const char ***by_no; size_t by_no_pages; /* the reverse index: pages of BY_NO_PAGE, NULL until used */
  size_t first_cap;                          /* entries of the first page (16 … BY_NO_PAGE) */
};

struct tenant_registry { u64map_t apps; };

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h ? h : 1;
}

static acct_slot_t *table_find(acct_slot_t *slots, size_t cap, const char *uid, uint32_t h)
{
  if (!cap) return NULL;
  for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
    acct_slot_t *s = &slots[i];
    if (!s->user_id) return NULL;
    if (s->hash == h && !strcmp(s->user_id, uid)) return s;
  }
}

/* The slot of uid in either table, or NULL; *in_old says which. */
static acct_slot_t *acct_find(const tenant_accounts_t *t, const char *uid, uint32_t h, int *in_old)
{
  acct_slot_t *s = table_find(t->slots, t->cap, uid, h);
  if (in_old) *in_old = 0;
  if (s || !t->old) return s;
  if (in_old) *in_old = 1;
  return table_find(t->old, t->old_cap, uid, h);
}

static void table_place(acct_slot_t *slots, size_t cap, acct_slot_t v)
{
  size_t j = v.hash & (cap - 1);
  while (slots[j].user_id) j = (j + 1) & (cap - 1);
  slots[j] = v;
}

/* Move old slots into the new table in order, at least `want`, then on to
 * the end of the cluster; frees the old table once every slot moved. */
static void acct_move(tenant_accounts_t *t, size_t want)
{
  size_t n = 0;
  while (t->old_left) {
    acct_slot_t *o = &t->old[t->old_pos];
    int empty = !o->user_id;
    if (!empty) { table_place(t->slots, t->cap, *o); *o = (acct_slot_t){ 0 }; }
    t->old_pos = (t->old_pos + 1) & (t->old_cap - 1);
    t->old_left--;
    n++;
    if (empty && n >= want) break;
  }
  if (n > t->moved_max) t->moved_max = n;
  if (!t->old_left) { free(t->old); t->old = NULL; t->old_cap = 0; }
}

/* Double the table: the full one becomes the old one, moved a step at a
 * time from an empty slot on (so the cluster that wraps around the end
 * moves whole). */
static int acct_grow(tenant_accounts_t *t)
{
  if (t->old) acct_move(t, SIZE_MAX); /* not reached with ACCT_MOVE_STEP ≥ 2 */
  size_t ncap = t->cap ? t->cap * 2 : 16;
  acct_slot_t *ns = calloc(ncap, sizeof *ns);
  if (!ns) return IMC_E_NOMEM;
  if (t->cap) {
    size_t e = 0;
    while (t->slots[e].user_id) e++; /* load ≤ 0.7: there is one */
    t->old = t->slots;
    t->old_cap = t->cap;
    t->old_pos = e;
    t->old_left = t->cap;
  }
  t->slots = ns;
  t->cap = ncap;
  return 0;
}

/* The reverse index's entry for user_no, or NULL when its page does not exist. */
static const char **by_no_at(const tenant_accounts_t *t, uint32_t user_no)
{
  size_t pg = user_no / BY_NO_PAGE;
  if (pg >= t->by_no_pages || !t->by_no[pg] || (!pg && user_no >= t->first_cap)) return NULL;
  return &t->by_no[pg][user_no % BY_NO_PAGE];
}

/* Make the reverse index hold user_no: at most one page and a directory
 * doubling (8 bytes a page) per call. */
static int by_no_reserve(tenant_accounts_t *t, uint32_t user_no)
{
  size_t pg = user_no / BY_NO_PAGE;
  if (pg >= t->by_no_pages) {
    size_t n = t->by_no_pages ? t->by_no_pages : 4;
    while (n <= pg) n *= 2;
    const char ***nv = realloc(t->by_no, n * sizeof *nv);
    if (!nv) return IMC_E_NOMEM;
    memset(nv + t->by_no_pages, 0, (n - t->by_no_pages) * sizeof *nv);
    t->by_no = nv;
    t->by_no_pages = n;
  }
  if (!pg) { /* the first page doubles up to its full size */
    if (user_no < t->first_cap) return 0;
    size_t n = t->first_cap ? t->first_cap : 16;
    while (n <= user_no) n *= 2;
    const char **nv = realloc(t->by_no[0], n * sizeof *nv);
    if (!nv) return IMC_E_NOMEM;
    memset(nv + t->first_cap, 0, (n - t->first_cap) * sizeof *nv);
    t->by_no[0] = nv;
    t->first_cap = n;
    return 0;
  }
  if (!t->by_no[pg] && !(t->by_no[pg] = calloc(BY_NO_PAGE, sizeof **t->by_no))) return IMC_E_NOMEM;
  return 0;
}

/* Forget user_no's entry if it names uid's string. */
static void by_no_clear(tenant_accounts_t *t, uint32_t user_no, const char *uid)
{
  const char **e = by_no_at(t, user_no);
  if (e && *e == uid) *e = NULL;
}

static int acct_put(tenant_accounts_t *t, const char *uid, uint32_t user_no)
{
  uint32_t h = hash_str(uid);
  if (by_no_reserve(t, user_no)) return IMC_E_NOMEM;
  if (t->old) acct_move(t, ACCT_MOVE_STEP);
  acct_slot_t *s = acct_find(t, uid, h, NULL);
  if (s) {
    by_no_clear(t, s->user_no, s->user_id);
    s->user_no = user_no;
    *by_no_at(t, user_no) = s->user_id;
    return 0;
  }
  if ((t->len + 1) * 10 > t->cap * 7 && acct_grow(t)) return IMC_E_NOMEM;
  char *copy = strdup(uid);
  if (!copy) return IMC_E_NOMEM;
  table_place(t->slots, t->cap, (acct_slot_t){ copy, h, user_no });
  *by_no_at(t, user_no) = copy;
  t->len++;
  return 0;
}

/* Remove slot i of a table by backward shift (keeps probe chains intact
 * without tombstones; stays inside i's cluster). */
static void table_remove(acct_slot_t *slots, size_t cap, size_t i)
{
  size_t j = i;
  for (;;) {
    j = (j + 1) & (cap - 1);
    if (!slots[j].user_id) break;
    size_t home = slots[j].hash & (cap - 1);
    if (((j - home) & (cap - 1)) >= ((j - i) & (cap - 1))) { slots[i] = slots[j]; i = j; }
  }
  slots[i] = (acct_slot_t){ 0 };
}

static void acct_del(tenant_accounts_t *t, const char *uid)
{
  if (t->old) acct_move(t, ACCT_MOVE_STEP);
  int in_old;
  acct_slot_t *s = acct_find(t, uid, hash_str(uid), &in_old);
  if (!s) return;
  by_no_clear(t, s->user_no, s->user_id);
  free(s->user_id);
  if (in_old) table_remove(t->old, t->old_cap, (size_t)(s - t->old));
  else table_remove(t->slots, t->cap, (size_t)(s - t->slots));
  t->len--;
}

static void acct_free(tenant_accounts_t *t)
{
  if (!t) return;
  for (size_t i = 0; i < t->cap; i++) free(t->slots[i].user_id);
  for (size_t i = 0; i < t->old_cap; i++) free(t->old[i].user_id);
  free(t->slots);
  free(t->old);
  for (size_t i = 0; i < t->by_no_pages; i++) free(t->by_no[i]);
  free(t->by_no);
  free(t);
}

/* ---- loading ------------------------------------------------------------------ */
typedef struct load_ctx { tenant_registry_t *r; store_t *s; int rc; } load_ctx_t;

typedef struct acct_load { tenant_accounts_t **t; int rc; } acct_load_t;

static int acct_put(tenant_accounts_t *t, const char *uid, uint32_t user_no);

/* Put into *t, made on first use (an app's deleted accounts: most apps have none). */
static int acct_put_new(tenant_accounts_t **t, const char *uid, uint32_t user_no)
{
  if (!*t && !(*t = calloc(1, sizeof **t))) return IMC_E_NOMEM;
  return acct_put(*t, uid, user_no);
}

static void on_account_load(void *ud, const char *uid, uint32_t user_no)
{
  acct_load_t *l = ud;
  if (!l->rc) l->rc = acct_put_new(l->t, uid, user_no);
}

/* uid's first number into *t: kept when it has one (numbers only grow) */
static int first_put(tenant_accounts_t **t, const char *uid, uint32_t user_no)
{
  if (*t && acct_find(*t, uid, hash_str(uid), NULL)) return 0;
  return acct_put_new(t, uid, user_no);
}

typedef struct gone_load { tenant_app_t *a; int rc; } gone_load_t;

static void on_gone_load(void *ud, const char *uid, uint32_t user_no) /* in number order */
{
  gone_load_t *l = ud;
  if (!l->rc) l->rc = acct_put_new(&l->a->gone, uid, user_no);
  if (!l->rc) l->rc = first_put(&l->a->first, uid, user_no);
}

int tenant_registry_app_upsert(tenant_registry_t *r, const store_app_t *rec, const tenant_lifecycle_t *lc)
{
  tenant_app_t *a = u64map_get(&r->apps, rec->sdkappid);
  if (!a) {
    if (!(a = calloc(1, sizeof *a)) || !(a->accounts = calloc(1, sizeof *a->accounts))) { free(a); return IMC_E_NOMEM; }
    if (u64map_put(&r->apps, rec->sdkappid, a)) { acct_free(a->accounts); free(a); return IMC_E_NOMEM; }
  }
  a->rec = *rec; /* an update keeps the accounts */
  if (lc) { a->plan = lc->plan; a->keep = lc->keep; a->lc_state = lc->state; }
  return 0;
}

static void on_app(void *ud, const store_app_t *rec)
{
  load_ctx_t *c = ud;
  if (!c->rc) c->rc = tenant_registry_app_upsert(c->r, rec, NULL); /* plans: refreshed after the load */
}

static int load_accounts(tenant_registry_t *r, store_t *s)
{
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&r->apps, &it); u64map_next(&r->apps, &it, NULL, &v);) {
    tenant_app_t *a = v;
    if (a->accounts->len) continue;
    acct_load_t l = { &a->accounts, 0 };
    gone_load_t g = { a, 0 };
    int rc = store_account_each(s, a->rec.sdkappid, on_account_load, &l);
    if (!rc && !l.rc) rc = store_account_gone_each(s, a->rec.sdkappid, on_gone_load, &g); /* the latest deletion last */
    if (rc || l.rc || g.rc) return rc ? rc : l.rc ? l.rc : g.rc;
  }
  return 0;
}

int tenant_registry_refresh_plans(tenant_registry_t *r, store_t *s, int64_t day)
{
  store_order_t *v = NULL;
  int n = 0, first = tenant_app_orders(s, 0, &v, &n); /* every order, by app then id: one query */
  u64map_iter_t it;
  void *av;
  for (u64map_iter_init(&r->apps, &it); u64map_next(&r->apps, &it, NULL, &av);) {
    tenant_app_t *a = av;
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
      memset(&a->keep, 0, sizeof a->keep);
      if (!first) first = rc;
      continue;
    }
    a->plan = lc.plan;
    a->keep = lc.keep;
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

static void app_free(void *v)
{
  tenant_app_t *a = v;
  acct_free(a->accounts);
  acct_free(a->gone);
  acct_free(a->first);
  free(a);
}

void tenant_registry_free(tenant_registry_t *r)
{
  if (!r) return;
  u64map_free_each(&r->apps, app_free);
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
  acct_slot_t *s = a ? acct_find(a->accounts, user_id, hash_str(user_id), NULL) : NULL;
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

int tenant_registry_account_gone(tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no)
{
  tenant_app_t *a = u64map_get(&r->apps, sdkappid);
  if (!a) return IMC_E_NOTFOUND;
  acct_del(a->accounts, user_id);
  int rc = acct_put_new(&a->gone, user_id, user_no);
  return rc ? rc : first_put(&a->first, user_id, user_no);
}

uint32_t tenant_registry_meter_no(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no)
{
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  acct_slot_t *s = a && a->first ? acct_find(a->first, user_id, hash_str(user_id), NULL) : NULL;
  return s ? s->user_no : user_no;
}

int tenant_registry_account_find_gone(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id,
                                      uint32_t *user_no)
{
  if (!tenant_registry_account_find(r, sdkappid, user_id, user_no)) return 0;
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  acct_slot_t *s = a && a->gone ? acct_find(a->gone, user_id, hash_str(user_id), NULL) : NULL;
  if (!s) return IMC_E_NOTFOUND;
  *user_no = s->user_no;
  return 0;
}

const char *tenant_registry_account_id(const tenant_registry_t *r, uint32_t sdkappid, uint32_t user_no)
{
  tenant_app_t *a = u64map_get(&r->apps, sdkappid);
  const tenant_accounts_t *t = a ? a->accounts : NULL;
  const char **e = t ? by_no_at(t, user_no) : NULL;
  return e ? *e : NULL;
}

size_t tenant_registry_account_count(const tenant_registry_t *r, uint32_t sdkappid)
{
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  return a ? a->accounts->len : 0;
}

size_t tenant_registry_account_moves_max(const tenant_registry_t *r, uint32_t sdkappid)
{
  const tenant_app_t *a = tenant_registry_app(r, sdkappid);
  return a ? a->accounts->moved_max : 0;
}
