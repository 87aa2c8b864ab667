/* ws_status_subs.c — the registry of user-status subscriptions (who gets a
 * `status` push when a user's status changes; docs/protocol.md "User
 * status").
 *
 * A subscription is (subscriber user, session id) → watched user, held twice:
 * by the watched user (the push walks it) and by the subscribing user (the
 * per-user cap counts it, the session's end removes it). Both caps come from
 * the serve options status_subs_per_user (all sessions of one user) and
 * status_subs_max (the whole process); an add that would pass either
 * changes nothing. A session's subscriptions are freed when it ends
 * (ws_status_subs_session_gone), so memory is bounded by status_subs_max.
 * Loop thread only. */
#include "api/rel_api.h"
#include "util/err.h"
#include "util/u64map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct sub { uint32_t user_no, sid; } sub_t;       /* in a watched user's list */
typedef struct own { uint32_t sid, target; } own_t;        /* in a subscriber's list */
typedef struct subs_list { sub_t *v; uint32_t n, cap; } subs_list_t;
typedef struct own_list { own_t *v; uint32_t n, cap; } own_list_t;

struct rel_subs {
  u64map_t by_target;          /* app << 32 | watched user_no → subs_list_t* */
  u64map_t by_user;            /* app << 32 | subscriber user_no → own_list_t* */
  size_t total;                /* subscriptions held (entries of either map's lists) */
};

static uint64_t key_of(uint32_t app, uint32_t user) { return (uint64_t)app << 32 | user; }

int ws_status_subs_init(api_srv_t *srv)
{
  if (!(srv->subs = calloc(1, sizeof *srv->subs))) return IMC_E_NOMEM;
  u64map_init(&srv->subs->by_target);
  u64map_init(&srv->subs->by_user);
  return 0;
}

static void subs_list_free(void *v) { subs_list_t *l = v; free(l->v); free(l); }
static void own_list_free(void *v) { own_list_t *l = v; free(l->v); free(l); }

void ws_status_subs_free(api_srv_t *srv)
{
  struct rel_subs *r = srv->subs;
  if (!r) return;
  u64map_free_each(&r->by_target, subs_list_free);
  u64map_free_each(&r->by_user, own_list_free);
  free(srv->subs);
  srv->subs = NULL;
}

void ws_status_subs_stats(const api_srv_t *srv, size_t *total, size_t *targets, size_t *users)
{
  *total = srv->subs ? srv->subs->total : 0;
  *targets = srv->subs ? srv->subs->by_target.len : 0;
  *users = srv->subs ? srv->subs->by_user.len : 0;
}

/* Grow an array of elements of size sz to hold one more; 0 or IMC_E_NOMEM. */
static int grow(void **v, uint32_t n, uint32_t *cap, size_t sz)
{
  if (n < *cap) return 0;
  uint32_t nc = *cap ? *cap * 2 : 4;
  void *nv = realloc(*v, nc * sz);
  if (!nv) return IMC_E_NOMEM;
  *v = nv;
  *cap = nc;
  return 0;
}

/* The list of a map key, created empty if missing (NULL on OOM). */
static void *list_ensure(u64map_t *m, uint64_t k, size_t list_sz)
{
  void *l = u64map_get(m, k);
  if (l) return l;
  if (!(l = calloc(1, list_sz))) return NULL;
  if (u64map_put(m, k, l)) { free(l); return NULL; }
  return l;
}

static void target_drop_if_empty(struct rel_subs *r, uint64_t k)
{
  subs_list_t *l = u64map_get(&r->by_target, k);
  if (l && !l->n) { u64map_del(&r->by_target, k); free(l->v); free(l); }
}

static void user_drop_if_empty(struct rel_subs *r, uint64_t k)
{
  own_list_t *l = u64map_get(&r->by_user, k);
  if (l && !l->n) { u64map_del(&r->by_user, k); free(l->v); free(l); }
}

static int own_has(const own_list_t *ol, uint32_t sid, uint32_t target)
{
  for (uint32_t i = 0; ol && i < ol->n; i++)
    if (ol->v[i].sid == sid && ol->v[i].target == target) return 1;
  return 0;
}

/* Remove the subscription from the watched user's list (the subscriber's
 * list is the caller's). */
static void target_remove(struct rel_subs *r, uint32_t app, uint32_t user, uint32_t sid, uint32_t target)
{
  uint64_t k = key_of(app, target);
  subs_list_t *l = u64map_get(&r->by_target, k);
  for (uint32_t i = 0; l && i < l->n; i++)
    if (l->v[i].user_no == user && l->v[i].sid == sid) {
      l->v[i] = l->v[--l->n];
      assert(r->total > 0);
      r->total--;
      break;
    }
  target_drop_if_empty(r, k);
}

static int add_one(struct rel_subs *r, uint32_t app, uint32_t user, uint32_t sid, uint32_t target)
{
  own_list_t *ol = list_ensure(&r->by_user, key_of(app, user), sizeof *ol);
  subs_list_t *tl = ol ? list_ensure(&r->by_target, key_of(app, target), sizeof *tl) : NULL;
  if (!tl || grow((void **)&ol->v, ol->n, &ol->cap, sizeof *ol->v) || grow((void **)&tl->v, tl->n, &tl->cap, sizeof *tl->v)) {
    target_drop_if_empty(r, key_of(app, target));
    user_drop_if_empty(r, key_of(app, user));
    return IMC_E_NOMEM;
  }
  ol->v[ol->n++] = (own_t){ sid, target };
  tl->v[tl->n++] = (sub_t){ user, sid };
  r->total++;
  return 0;
}

void ws_status_subs_del(api_srv_t *srv, const im_session_t *s, uint32_t target)
{
  struct rel_subs *r = srv->subs;
  uint64_t k = key_of(s->sdkappid, s->user_no);
  own_list_t *ol = u64map_get(&r->by_user, k);
  for (uint32_t i = 0; ol && i < ol->n; i++)
    if (ol->v[i].sid == s->sid && ol->v[i].target == target) {
      ol->v[i] = ol->v[--ol->n];
      target_remove(r, s->sdkappid, s->user_no, s->sid, target);
      break;
    }
  user_drop_if_empty(r, k);
}

int ws_status_subs_add(api_srv_t *srv, const im_session_t *s, const uint32_t *targets, size_t n)
{
  struct rel_subs *r = srv->subs;
  own_list_t *ol = u64map_get(&r->by_user, key_of(s->sdkappid, s->user_no));
  size_t fresh = 0;
  for (size_t i = 0; i < n; i++) {
    int dup = own_has(ol, s->sid, targets[i]);
    for (size_t j = 0; j < i && !dup; j++) dup = targets[j] == targets[i];
    fresh += !dup;
  }
  if ((ol ? ol->n : 0) + fresh > (size_t)srv->cfg->status_subs_per_user) return IMC_E_STATUS_SUBS_USER;
  if (r->total + fresh > (size_t)srv->cfg->status_subs_max) return IMC_E_STATUS_SUBS_FULL;
  uint32_t before = ol ? ol->n : 0; /* this call's additions are appended after it */
  for (size_t i = 0; i < n; i++) {
    ol = u64map_get(&r->by_user, key_of(s->sdkappid, s->user_no));
    if (own_has(ol, s->sid, targets[i])) continue;
    int rc = add_one(r, s->sdkappid, s->user_no, s->sid, targets[i]);
    if (rc) { /* all or nothing: undo this call's additions */
      ol = u64map_get(&r->by_user, key_of(s->sdkappid, s->user_no));
      while (ol && ol->n > before) {
        ol->n--;
        target_remove(r, s->sdkappid, s->user_no, s->sid, ol->v[ol->n].target);
      }
      user_drop_if_empty(r, key_of(s->sdkappid, s->user_no));
      return rc;
    }
  }
  return 0;
}

void ws_status_subs_session_gone(api_srv_t *srv, uint32_t app, uint32_t user, uint32_t sid)
{
  struct rel_subs *r = srv->subs;
  if (!r || !user) return;
  uint64_t k = key_of(app, user);
  own_list_t *ol = u64map_get(&r->by_user, k);
  for (uint32_t i = 0; ol && i < ol->n;) {
    if (ol->v[i].sid != sid) { i++; continue; }
    target_remove(r, app, user, sid, ol->v[i].target);
    ol->v[i] = ol->v[--ol->n];
  }
  user_drop_if_empty(r, k);
}

void ws_status_subs_each(api_srv_t *srv, uint32_t app, uint32_t target, void (*fn)(void *ud, uint32_t user_no, uint32_t sid),
                         void *ud)
{
  const subs_list_t *l = u64map_get(&srv->subs->by_target, key_of(app, target));
  for (uint32_t i = 0; l && i < l->n; i++) fn(ud, l->v[i].user_no, l->v[i].sid);
}
