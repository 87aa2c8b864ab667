/* rel.c — the in-memory relationship rows (rel.h): records by (app, user) in
 * a u64map, rows per kind in sorted arrays, change sets with undo. Loop
 * thread only. */
#include "im/rel.h"
#include "store/store_rel.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/u64map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who holds a UserID in their friend list: app << 32 | hash(peer id) → the
 * user numbers with such a friend row (a hash shared by two ids shares a
 * list: readers check the row). Kept by row_set and rel_user_drop. */
typedef struct holders { uint32_t n, cap; uint32_t v[]; } holders_t;

struct rel {
  u64map_t users;              /* app << 32 | user_no → rel_user_t* (user_no 0: app settings) */
  u64map_t holders;            /* friend rows, reversed: holders_t* */
  size_t bytes;                /* records, row arrays and strings */
};

static uint64_t holder_key(uint32_t app, const char *id)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *id; id++) h = (h ^ (uint8_t)*id) * 16777619u;
  return (uint64_t)app << 32 | h;
}

static int holder_add(rel_t *r, uint32_t app, const char *id, uint32_t user)
{
  uint64_t k = holder_key(app, id);
  holders_t *h = u64map_get(&r->holders, k);
  if (!h || h->n == h->cap) { /* a new list, copied over: the map keeps the old one if the put fails */
    uint32_t cap = h ? h->cap * 2 : 2, n = h ? h->n : 0;
    holders_t *nh = malloc(sizeof *nh + cap * sizeof nh->v[0]);
    if (!nh) return IMC_E_NOMEM;
    nh->n = n;
    nh->cap = cap;
    if (n) memcpy(nh->v, h->v, n * sizeof nh->v[0]);
    if (u64map_put(&r->holders, k, nh)) { free(nh); return IMC_E_NOMEM; }
    r->bytes += sizeof *nh + cap * sizeof nh->v[0];
    if (h) { r->bytes -= sizeof *h + h->cap * sizeof h->v[0]; free(h); }
    h = nh;
  }
  h->v[h->n++] = user;
  return 0;
}

static void holder_del(rel_t *r, uint32_t app, const char *id, uint32_t user)
{
  uint64_t k = holder_key(app, id);
  holders_t *h = u64map_get(&r->holders, k);
  for (uint32_t i = 0; h && i < h->n; i++)
    if (h->v[i] == user) { h->v[i] = h->v[--h->n]; break; }
  if (h && !h->n) {
    r->bytes -= sizeof *h + h->cap * sizeof h->v[0];
    u64map_del(&r->holders, k);
    free(h);
  }
}

void rel_friend_holders(const rel_t *r, uint32_t app, const char *id, void (*cb)(void *ud, rel_user_t *u), void *ud)
{
  const holders_t *h = u64map_get(&r->holders, holder_key(app, id));
  for (uint32_t i = 0; h && i < h->n; i++) {
    rel_user_t *u = rel_user(r, app, h->v[i]);
    if (u && rel_get(u, REL_K_FRIEND, id)) cb(ud, u);
  }
}

/* app settings live at user_no 0: the key stays non-zero because SDKAppIDs are */
static uint64_t key_of(uint32_t app, uint32_t user) { return (uint64_t)app << 32 | user; }

int rel_create(rel_t **out)
{
  rel_t *r = calloc(1, sizeof *r);
  if (!r) return IMC_E_NOMEM;
  u64map_init(&r->users);
  u64map_init(&r->holders);
  *out = r;
  return 0;
}

static void user_free(rel_user_t *u)
{
  for (int k = 0; k < REL_K__COUNT; k++) {
    for (uint32_t i = 0; i < u->k[k].n; i++) { free(u->k[k].v[i].key); free(u->k[k].v[i].val); }
    free(u->k[k].v);
  }
  free(u);
}

void rel_free(rel_t *r)
{
  if (!r) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&r->users, &it); u64map_next(&r->users, &it, NULL, &v);) user_free(v);
  u64map_free(&r->users);
  for (u64map_iter_init(&r->holders, &it); u64map_next(&r->holders, &it, NULL, &v);) free(v);
  u64map_free(&r->holders);
  free(r);
}

void rel_each_user(rel_t *r, void (*cb)(void *ud, rel_user_t *u), void *ud)
{
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&r->users, &it); u64map_next(&r->users, &it, NULL, &v);) cb(ud, v);
}

size_t rel_bytes(const rel_t *r) { return r->bytes + u64map_bytes(&r->users); }

rel_user_t *rel_user(const rel_t *r, uint32_t app, uint32_t user) { return u64map_get(&r->users, key_of(app, user)); }

rel_user_t *rel_user_ensure(rel_t *r, uint32_t app, uint32_t user, const char *id)
{
  rel_user_t *u = rel_user(r, app, user);
  if (u) {
    if (!u->id[0] && id) snprintf(u->id, sizeof u->id, "%s", id);
    return u;
  }
  if (!(u = calloc(1, sizeof *u))) return NULL;
  u->sdkappid = app;
  u->user_no = user;
  snprintf(u->id, sizeof u->id, "%s", id ? id : "");
  if (u64map_put(&r->users, key_of(app, user), u)) { free(u); return NULL; }
  r->bytes += sizeof *u;
  return u;
}

static size_t rows_bytes(const rel_user_t *u)
{
  size_t b = sizeof *u;
  for (int k = 0; k < REL_K__COUNT; k++) {
    b += u->k[k].cap * sizeof(rel_row_t);
    for (uint32_t i = 0; i < u->k[k].n; i++) b += strlen(u->k[k].v[i].key) + strlen(u->k[k].v[i].val) + 2;
  }
  return b;
}

void rel_user_drop(rel_t *r, uint32_t app, uint32_t user)
{
  rel_user_t *u = u64map_del(&r->users, key_of(app, user));
  if (!u) return;
  for (uint32_t i = 0; i < u->k[REL_K_FRIEND].n; i++) holder_del(r, app, u->k[REL_K_FRIEND].v[i].key, user);
  r->bytes -= rows_bytes(u);
  user_free(u);
}

/* Index of key in rows (found) or where it would go. */
static uint32_t find(const rel_rows_t *rs, const char *key, int *found)
{
  uint32_t lo = 0, hi = rs->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = strcmp(rs->v[mid].key, key);
    if (!c) { *found = 1; return mid; }
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  *found = 0;
  return lo;
}

const rel_row_t *rel_get(const rel_user_t *u, rel_kind_t kind, const char *key)
{
  int found;
  if (!u) return NULL;
  uint32_t i = find(&u->k[kind], key, &found);
  return found ? &u->k[kind].v[i] : NULL;
}

const char *rel_val(const rel_user_t *u, rel_kind_t kind, const char *key)
{
  const rel_row_t *row = rel_get(u, kind, key);
  return row ? row->val : NULL;
}

size_t rel_count(const rel_user_t *u, rel_kind_t kind) { return u ? u->k[kind].n : 0; }

const rel_row_t *rel_rows(const rel_user_t *u, rel_kind_t kind, size_t *n)
{
  *n = u ? u->k[kind].n : 0;
  return u ? u->k[kind].v : NULL;
}

int64_t rel_meta_i64(const rel_user_t *u, const char *key)
{
  const char *v = rel_val(u, REL_K_META, key);
  return v ? strtoll(v, NULL, 10) : 0;
}

/* Set (val non-NULL, copied) or delete a row. If old is non-NULL it receives
 * the replaced value (ownership passes, NULL if there was none). 0 or
 * IMC_E_NOMEM (unchanged). */
static int row_set(rel_t *r, rel_user_t *u, rel_kind_t kind, const char *key, const char *val, char **old)
{
  rel_rows_t *rs = &u->k[kind];
  int found;
  uint32_t i = find(rs, key, &found);
  if (old) *old = NULL;
  if (!val) {
    if (!found) return 0;
    if (kind == REL_K_FRIEND) holder_del(r, u->sdkappid, key, u->user_no);
    r->bytes -= strlen(rs->v[i].key) + strlen(rs->v[i].val) + 2;
    free(rs->v[i].key);
    if (old) *old = rs->v[i].val; else free(rs->v[i].val);
    memmove(&rs->v[i], &rs->v[i + 1], (rs->n - i - 1) * sizeof rs->v[0]);
    rs->n--;
    return 0;
  }
  char *nv = strdup(val);
  if (!nv) return IMC_E_NOMEM;
  if (found) {
    r->bytes += strlen(nv);
    r->bytes -= strlen(rs->v[i].val);
    if (old) *old = rs->v[i].val; else free(rs->v[i].val);
    rs->v[i].val = nv;
    return 0;
  }
  char *nk = strdup(key);
  if (!nk) { free(nv); return IMC_E_NOMEM; }
  if (kind == REL_K_FRIEND && holder_add(r, u->sdkappid, key, u->user_no)) { free(nv); free(nk); return IMC_E_NOMEM; }
  if (rs->n == rs->cap) {
    uint32_t cap = rs->cap ? rs->cap * 2 : 4;
    rel_row_t *v = realloc(rs->v, cap * sizeof *v);
    if (!v) {
      if (kind == REL_K_FRIEND) holder_del(r, u->sdkappid, key, u->user_no);
      free(nv);
      free(nk);
      return IMC_E_NOMEM;
    }
    r->bytes += (cap - rs->cap) * sizeof *v;
    rs->v = v;
    rs->cap = cap;
  }
  memmove(&rs->v[i + 1], &rs->v[i], (rs->n - i) * sizeof rs->v[0]);
  rs->v[i] = (rel_row_t){ nk, nv };
  rs->n++;
  r->bytes += strlen(nk) + strlen(nv) + 2;
  return 0;
}

/* ---- load ------------------------------------------------------------------ */
typedef struct load_ctx { rel_t *r; int rc; uint32_t last_app; } load_ctx_t;

static void on_row(void *ud, uint32_t app, uint32_t user, int kind, const char *key, const char *val)
{
  load_ctx_t *l = ud;
  if (l->rc || kind < 0 || kind >= REL_K__COUNT) return;
  rel_user_t *u = rel_user_ensure(l->r, app, user, NULL);
  if (!u) { l->rc = IMC_E_NOMEM; return; }
  l->rc = row_set(l->r, u, (rel_kind_t)kind, key, val, NULL);
}

static void on_account(void *ud, const char *user_id, uint32_t user_no)
{
  load_ctx_t *l = ud;
  rel_user_t *u = rel_user(l->r, l->last_app, user_no);
  if (u) snprintf(u->id, sizeof u->id, "%s", user_id);
}

int rel_load(rel_t *r, store_t *s)
{
  load_ctx_t l = { r, 0, 0 };
  int rc = store_rel_each(s, on_row, &l);
  if (rc || l.rc) return rc ? rc : l.rc;
  /* the UserIDs of every app that has rows */
  u64map_t apps;
  u64map_init(&apps);
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&r->users, &it); !rc && u64map_next(&r->users, &it, NULL, &v);) {
    rel_user_t *u = v;
    if (u64map_get(&apps, u->sdkappid)) continue;
    if ((rc = u64map_put(&apps, u->sdkappid, u))) break;
    l.last_app = u->sdkappid;
    rc = store_account_each(s, u->sdkappid, on_account, &l);
  }
  u64map_free(&apps);
  return rc;
}

/* ---- change sets ----------------------------------------------------------- */
void rel_txn_init(rel_txn_t *t, rel_t *r) { memset(t, 0, sizeof *t); t->r = r; }

/* The next op of t for (app, user_no, kind, key), key copied; t->n not yet counted. NULL on OOM. */
static rel_op_t *op_next(rel_txn_t *t, uint32_t app, uint32_t user_no, rel_kind_t kind, const char *key)
{
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    rel_op_t *ops = realloc(t->ops, cap * sizeof *ops);
    if (!ops) return NULL;
    t->ops = ops;
    t->cap = cap;
  }
  rel_op_t *op = &t->ops[t->n];
  memset(op, 0, sizeof *op);
  op->sdkappid = app;
  op->user_no = user_no;
  op->kind = (uint8_t)kind;
  return (op->key = strdup(key)) ? op : NULL;
}

static int record(rel_txn_t *t, rel_user_t *u, rel_kind_t kind, const char *key, const char *val)
{
  rel_op_t *op = op_next(t, u->sdkappid, u->user_no, kind, key);
  if (!op) return IMC_E_NOMEM;
  if (val && !(op->val = strdup(val))) { free(op->key); return IMC_E_NOMEM; }
  char *old = NULL;
  int rc = row_set(t->r, u, kind, key, val, &old);
  if (rc) { free(op->key); free(op->val); return rc; }
  op->old = old;
  op->had_old = old != NULL;
  t->n++;
  return 0;
}

int rel_txn_put(rel_txn_t *t, rel_user_t *u, rel_kind_t kind, const char *key, const char *val)
{
  return record(t, u, kind, key, val);
}

int rel_txn_del(rel_txn_t *t, rel_user_t *u, rel_kind_t kind, const char *key)
{
  if (!rel_get(u, kind, key)) return 0;
  return record(t, u, kind, key, NULL);
}

int rel_txn_del_stored(rel_txn_t *t, uint32_t app, uint32_t user_no, rel_kind_t kind, const char *key)
{
  if (!op_next(t, app, user_no, kind, key)) return IMC_E_NOMEM;
  t->n++; /* val NULL, no old: an undo "restores" no row, and only where memory holds none */
  return 0;
}

int rel_set_unrecorded(rel_t *r, rel_user_t *u, rel_kind_t kind, const char *key, const char *val)
{
  if (val && imc_fault(IMC_FAULT_REL_UNRECORDED)) return IMC_E_NOMEM; /* tests: a set's allocation failing */
  return row_set(r, u, kind, key, val, NULL);
}

int rel_txn_bump(rel_txn_t *t, rel_user_t *u, const char *key, int64_t *out)
{
  char buf[24];
  int64_t v = rel_meta_i64(u, key) + 1;
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  int rc = record(t, u, REL_K_META, key, buf);
  if (!rc && out) *out = v;
  return rc;
}

int rel_txn_write(store_t *s, const rel_txn_t *t)
{
  int rc = 0;
  if (t->undone) return IMC_E_INTERNAL; /* a caller bug: the set was undone */
  for (size_t i = 0; i < t->n && !rc; i++) {
    const rel_op_t *op = &t->ops[i];
    rc = op->val ? store_rel_put(s, op->sdkappid, op->user_no, op->kind, op->key, op->val)
                 : store_rel_del(s, op->sdkappid, op->user_no, op->kind, op->key);
  }
  return rc;
}

void rel_txn_undo(rel_txn_t *t)
{
  if (t->undone) return;
  for (size_t i = t->n; i-- > 0;) {
    rel_op_t *op = &t->ops[i];
    rel_user_t *u = rel_user(t->r, op->sdkappid, op->user_no);
    if (!u) continue;
    const char *now = rel_val(u, (rel_kind_t)op->kind, op->key);
    /* only where memory still holds what this set wrote */
    if ((op->val == NULL) != (now == NULL) || (now && strcmp(now, op->val))) continue;
    row_set(t->r, u, (rel_kind_t)op->kind, op->key, op->old, NULL);
  }
  /* the set is spent: keep the ops (rel_txn_free releases them) but never undo twice */
  for (size_t i = 0; i < t->n; i++) { free(t->ops[i].old); t->ops[i].old = NULL; t->ops[i].had_old = 0; }
  t->undone = 1;
}

void rel_txn_free(rel_txn_t *t)
{
  for (size_t i = 0; i < t->n; i++) { free(t->ops[i].key); free(t->ops[i].val); free(t->ops[i].old); }
  free(t->ops);
  memset(t, 0, sizeof *t);
}
