/* group.c — the group registry of the loop thread: groups by number and by
 * GroupId, per-app lists and counts, per-user counts, live-room sessions,
 * the startup rebuild and delivery (the compact membership sets are in
 * group_set.c). See group.h for the model and docs/decisions/groups.md for
 * the layout. */
#include "im/group_int.h"
#include "util/date.h"
#include "util/err.h"
#include "util/faultsim.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- registry ------------------------------------------------------------------------- */
void im_groups_start(im_groups_t *G, store_writer_t *w, store_reader_t *r, im_c2c_t *c2c)
{
  G->w = w;
  G->r = r;
  G->c2c = c2c;
  if (G->due_found) grp__due_start(G); /* what a crash left of a large dissolution's events */
}

int im_groups_create(im_presence_t *p, const im_limits_t *lim, const im_group_hooks_t *hooks, im_groups_t **out)
{
  im_groups_t *G = calloc(1, sizeof *G);
  if (!G) return IMC_E_NOMEM;
  G->p = p;
  G->lim = lim;
  G->h = *hooks;
  G->next_no = 1;
  G->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)G;
  *out = G;
  return 0;
}

static void group_free(im_group_t *g)
{
  free(g->group_id);
  json_decref(g->info);
  gset_free(&g->members);
  gset_free(&g->live);
  gset_free(&g->live_users);
  u64map_free(&g->muted);
  u64map_free(&g->pending);
  free(g);
}

void im_groups_free(im_groups_t *G)
{
  if (!G) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&G->by_no, &it); u64map_next(&G->by_no, &it, NULL, &v);) { grp__live_free(G, v); group_free(v); }
  free(G->lv_rooms);
  for (u64map_iter_init(&G->apps, &it); u64map_next(&G->apps, &it, NULL, &v);) { free(((gapp_t *)v)->nos); free(v); }
  for (u64map_iter_init(&G->sess, &it); u64map_next(&G->sess, &it, NULL, &v);) { free(((gsess_t *)v)->group_nos); free(v); }
  u64map_free(&G->by_no);
  u64map_free(&G->by_id);
  u64map_free(&G->apps);
  u64map_free(&G->user_groups);
  u64map_free(&G->sess);
  u64map_free(&G->big_extra);
  free(G);
}

void im_groups_set_plan(im_groups_t *G, const plan_app_t *(*plan_of)(void *, uint32_t), void *ud, int tz_offset_s)
{
  G->plan_of = plan_of;
  G->plan_ud = ud;
  G->tz_offset_s = tz_offset_s;
}

int64_t grp__day_net(im_groups_t *G, uint32_t sdkappid, int64_t now_s, int delta, int64_t counted_s)
{
  gapp_t *a = grp__app(G, sdkappid);
  if (!a) return 0;
  int64_t today = imc_day_of(now_s, G->tz_offset_s);
  if (a->day != today) { a->day = today; a->day_net = 0; }
  if (delta && imc_day_of(counted_s, G->tz_offset_s) == today) a->day_net += delta;
  return a->day_net;
}

im_group_t *grp__usable(const im_groups_t *G, uint32_t sdkappid, const char *group_id)
{
  im_group_t *g = grp__find(G, sdkappid, group_id);
  return g && !g->creating && !g->dissolving ? g : NULL;
}

const plan_app_t *grp__plan(const im_groups_t *G, uint32_t sdkappid)
{
  static const plan_app_t none; /* ready = 0: every check refused */
  const plan_app_t *p = G->plan_of ? G->plan_of(G->plan_ud, sdkappid) : NULL;
  return p ? p : &none;
}

int grp__community_gate(const plan_app_t *plan, const im_group_t *g, int64_t now_s, char *why, size_t cap)
{
  plan_verdict_t v;
  if (g->type != IM_GT_COMMUNITY || !plan_check(plan, now_s, PLAN_F_COMMUNITY, 0, 0, &v)) return 0;
  return imc_errf(why, cap, v.err, "%s; the community keeps its members and history, but no one joins or sends until the "
                  "edition has communities again (P-57)", v.msg);
}

size_t im_groups_in_flight(const im_groups_t *G) { return G->in_flight; }

static uint64_t id_hash(uint32_t sdkappid, const char *id)
{
  uint64_t h = 1469598103934665603ull ^ sdkappid;
  for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ull;
  return h | 1; /* never 0 */
}

im_group_t *im_group_find(const im_groups_t *G, uint32_t sdkappid, const char *group_id)
{
  return grp__usable(G, sdkappid, group_id);
}

im_group_t *grp__find(const im_groups_t *G, uint32_t sdkappid, const char *group_id)
{
  for (im_group_t *g = u64map_get(&G->by_id, id_hash(sdkappid, group_id)); g; g = g->id_next)
    if (g->sdkappid == sdkappid && !strcmp(g->group_id, group_id)) return g;
  return NULL;
}

im_group_t *im_group_by_no(const im_groups_t *G, uint32_t sdkappid, uint32_t group_no)
{
  im_group_t *g = grp__by_no(G, sdkappid, group_no);
  return g && !g->creating && !g->dissolving ? g : NULL;
}

im_group_t *grp__by_no(const im_groups_t *G, uint32_t sdkappid, uint32_t group_no)
{
  return u64map_get(&G->by_no, (uint64_t)sdkappid << 32 | group_no);
}

gapp_t *grp__app(im_groups_t *G, uint32_t sdkappid)
{
  gapp_t *a = u64map_get(&G->apps, sdkappid);
  if (a) return a;
  if (!(a = calloc(1, sizeof *a))) return NULL;
  if (u64map_put(&G->apps, sdkappid, a)) { free(a); return NULL; }
  return a;
}

im_group_t *grp__add(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, const char *group_id, im_gtype_t type,
                     json_t *info)
{
  gapp_t *a = grp__app(G, sdkappid);
  im_group_t *g = calloc(1, sizeof *g);
  if (!a || !g || !(g->group_id = strdup(group_id))) goto oom;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    uint32_t *n = realloc(a->nos, cap * sizeof *n);
    if (!n) goto oom;
    a->nos = n;
    a->cap = cap;
  }
  g->sdkappid = sdkappid;
  g->group_no = group_no;
  g->type = type;
  uint64_t h = id_hash(sdkappid, group_id);
  g->id_next = u64map_get(&G->by_id, h);
  if (u64map_put(&G->by_no, (uint64_t)sdkappid << 32 | group_no, g)) goto oom;
  if (u64map_put(&G->by_id, h, g)) { u64map_del(&G->by_no, (uint64_t)sdkappid << 32 | group_no); goto oom; }
  /* numbers grow, so appending keeps the list ordered (the startup load goes in order too) */
  size_t i = a->n;
  while (i > 0 && a->nos[i - 1] > group_no) i--;
  memmove(&a->nos[i + 1], &a->nos[i], (a->n - i) * sizeof *a->nos);
  a->nos[i] = group_no;
  a->n++;
  if (im_gtype_info(type)->live) a->live++;
  else a->nonlive++;
  if (group_no >= G->next_no) G->next_no = group_no + 1;
  g->info = info;
  G->st.groups++;
  return g;
oom:
  if (g) free(g->group_id);
  free(g);
  json_decref(info);
  return NULL;
}

static void user_count(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, int delta)
{
  uint64_t k = (uint64_t)sdkappid << 32 | user_no;
  uintptr_t n = (uintptr_t)u64map_get(&G->user_groups, k);
  n = delta > 0 ? n + 1 : n - 1;
  if (n) u64map_put(&G->user_groups, k, (void *)n); /* OOM: the count stays behind (a limit then allows one more) */
  else u64map_del(&G->user_groups, k);
}

void grp__remove(im_groups_t *G, im_group_t *g)
{
  gapp_t *a = u64map_get(&G->apps, g->sdkappid);
  if (a) {
    size_t i;
    for (i = 0; i < a->n && a->nos[i] != g->group_no; i++) {}
    if (i < a->n) { memmove(&a->nos[i], &a->nos[i + 1], (a->n - i - 1) * sizeof *a->nos); a->n--; }
    if (im_gtype_info(g->type)->live) a->live--;
    else a->nonlive--;
  }
  uint64_t pos = 0, v;
  while (gset_next(&g->members, &pos, &v)) user_count(G, g->sdkappid, (uint32_t)(v >> 32), -1);
  G->st.memberships -= g->members.len;
  for (pos = 0; gset_next(&g->live, &pos, &v);) {
    gsess_t *ss = u64map_get(&G->sess, v >> 32);
    for (uint32_t k = 0; ss && k < ss->n; k++)
      if (ss->group_nos[k] == g->group_no) { ss->group_nos[k] = ss->group_nos[--ss->n]; break; }
  }
  G->st.live_sessions -= g->live.len;
  grp__live_free(G, g);
  uint64_t h = id_hash(g->sdkappid, g->group_id);
  im_group_t *head = u64map_get(&G->by_id, h), **pp = &head;
  while (*pp && *pp != g) pp = &(*pp)->id_next;
  if (*pp) *pp = g->id_next;
  if (head) u64map_put(&G->by_id, h, head); /* replaces an existing key: no allocation */
  else u64map_del(&G->by_id, h);
  u64map_del(&G->by_no, (uint64_t)g->sdkappid << 32 | g->group_no);
  G->st.groups--;
  group_free(g);
}

int grp__member_put(im_groups_t *G, im_group_t *g, uint32_t user_no, im_grole_t role)
{
  uint32_t old = gset_get(&g->members, user_no);
  uint32_t payload = GM_PRESENT | (uint32_t)role | (old & (GM_MUTED | GM_DISCARD));
  if (gset_put(&g->members, user_no, payload)) return IMC_E_NOMEM;
  if (!old) {
    user_count(G, g->sdkappid, user_no, +1);
    G->st.memberships++;
  }
  return 0;
}

void grp__member_del(im_groups_t *G, im_group_t *g, uint32_t user_no)
{
  if (!gset_del(&g->members, user_no)) return;
  u64map_del(&g->muted, user_no);
  user_count(G, g->sdkappid, user_no, -1);
  G->st.memberships--;
}

void im_groups_user_gone(im_groups_t *G, uint32_t sdkappid, uint32_t user_no)
{
  gapp_t *a = u64map_get(&G->apps, sdkappid);
  for (size_t i = 0; a && user_no && i < a->n; i++) {
    im_group_t *g = grp__by_no(G, sdkappid, a->nos[i]);
    if (!g) continue;
    grp__member_del(G, g, user_no);          /* with its mute */
    u64map_del(&g->muted, user_no);          /* a live room's mute */
    u64map_del(&g->pending, user_no);        /* an application */
    if (g->owner_no == user_no) { g->owner_no = 0; g->owner_id[0] = 0; }
  }
}

void grp__set_discard(im_group_t *g, uint32_t user_no, int on)
{
  uint32_t p = gset_get(&g->members, user_no);
  if (p) gset_put(&g->members, user_no, on ? p | GM_DISCARD : p & ~GM_DISCARD); /* replaces: no allocation */
}

void grp__set_muted(im_group_t *g, uint32_t user_no, int64_t until)
{
  uint32_t p = gset_get(&g->members, user_no);
  if (!p) return;
  if (until > 0 && !u64map_put(&g->muted, user_no, (void *)(uintptr_t)until)) p |= GM_MUTED;
  else { u64map_del(&g->muted, user_no); p &= ~GM_MUTED; }
  gset_put(&g->members, user_no, p); /* replaces: no allocation */
}

uint32_t grp__member_count(const im_group_t *g)
{
  return im_gtype_info(g->type)->live ? g->live.len : g->members.len;
}

size_t im_group_applications(const im_group_t *g) { return g->pending.len; }
int im_group_applied(const im_group_t *g, uint32_t user_no) { return user_no && u64map_get(&g->pending, user_no) != NULL; }

im_grole_t im_group_role(const im_group_t *g, uint32_t user_no)
{
  if (!user_no) return IM_GR_NONE;
  if (im_gtype_info(g->type)->live) {
    if (user_no == g->owner_no) return IM_GR_OWNER;
    return gset_get(&g->live_users, user_no) ? IM_GR_MEMBER : IM_GR_NONE;
  }
  uint32_t p = gset_get(&g->members, user_no);
  return p ? GM_ROLE(p) : IM_GR_NONE;
}

int64_t im_group_muted_until(const im_group_t *g, uint32_t user_no, int64_t now_s)
{
  int64_t until = (int64_t)(uintptr_t)u64map_get(&g->muted, user_no);
  return until > now_s ? until : 0;
}

void im_group_muted_each(const im_group_t *g, int64_t now_s, void (*cb)(void *, uint32_t, int64_t), void *ud)
{
  u64map_iter_t it;
  uint64_t k;
  void *v;
  for (u64map_iter_init(&g->muted, &it); u64map_next(&g->muted, &it, &k, &v);)
    if ((int64_t)(uintptr_t)v > now_s) cb(ud, (uint32_t)k, (int64_t)(uintptr_t)v);
}

void im_group_view(const im_group_t *g, im_group_view_t *out)
{
  *out = (im_group_view_t){ g->sdkappid, g->group_no, g->group_id, g->type, g->owner_no, g->owner_id, g->created_s,
                            g->info_time_s, g->last_msg_s, g->info_seq, g->last_seq, grp__member_count(g),
                            g->last_chg, g->info };
}

void im_groups_each(const im_groups_t *G, uint32_t sdkappid, int type, uint32_t after_no,
                    int (*cb)(void *, const im_group_t *), void *ud)
{
  gapp_t *a = u64map_get(&G->apps, sdkappid);
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) {
    if (a->nos[i] <= after_no) continue;
    im_group_t *g = grp__by_no(G, sdkappid, a->nos[i]);
    if (!g || g->creating || g->dissolving || (type >= 0 && (int)g->type != type)) continue;
    if (cb(ud, g)) return;
  }
}

int64_t im_groups_count(const im_groups_t *G, uint32_t sdkappid, int live)
{
  gapp_t *a = u64map_get(&G->apps, sdkappid);
  return a ? (live ? a->live : a->nonlive) : 0;
}

int64_t im_groups_of_user(const im_groups_t *G, uint32_t sdkappid, uint32_t user_no)
{
  return (int64_t)(uintptr_t)u64map_get(&G->user_groups, (uint64_t)sdkappid << 32 | user_no);
}

void im_groups_stats(const im_groups_t *G, im_groups_stats_t *out)
{
  *out = G->st;
  out->member_bytes = 0;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&G->by_no, &it); u64map_next(&G->by_no, &it, NULL, &v);) {
    const im_group_t *g = v;
    out->member_bytes += gset_bytes(&g->members) + gset_bytes(&g->live) + u64map_bytes(&g->muted);
  }
}

char *grp__info_text(const im_group_t *g) { return json_dumps(g->info, JSON_COMPACT | JSON_SORT_KEYS); }

void grp__row(const im_group_t *g, const char *info_text, store_grp_t *out)
{
  *out = (store_grp_t){ g->sdkappid, g->group_no, g->group_id, g->type, g->owner_no, g->created_s, info_text,
                        g->info_seq, g->info_time_s, g->last_msg_s, g->owner_id, g->counted_s };
}

/* ---- startup rebuild ------------------------------------------------------------------ */
typedef struct load { im_groups_t *G; int rc; int64_t now_s; } load_t;

static void load_group(void *ud, const store_grp_t *r)
{
  load_t *l = ud;
  json_t *info = json_loads(r->info, 0, NULL);
  if (l->rc) { json_decref(info); return; }
  if (!info) info = json_object();
  im_group_t *g = grp__add(l->G, r->sdkappid, r->group_no, r->group_id, (im_gtype_t)r->type, info);
  if (!g) { l->rc = IMC_E_NOMEM; return; }
  g->owner_no = r->owner_no;
  snprintf(g->owner_id, sizeof g->owner_id, "%s", r->owner_no ? r->owner_id : "");
  g->created_s = r->created_s;
  g->counted_s = r->counted_s ? r->counted_s : r->created_s;
  g->info_seq = r->info_seq;
  g->info_time_s = r->info_time_s;
  g->last_msg_s = r->last_msg_s;
  grp__day_net(l->G, r->sdkappid, l->now_s, +1, g->counted_s);
}

static void load_member(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m)
{
  load_t *l = ud;
  im_group_t *g = grp__by_no(l->G, sdkappid, group_no);
  if (l->rc || !g) return;
  if (im_gtype_info(g->type)->live) { /* a live group stores only its mutes */
    if (m->mute_until_s && u64map_put(&g->muted, m->user_no, (void *)(uintptr_t)m->mute_until_s)) l->rc = IMC_E_NOMEM;
    return;
  }
  if (m->role == IM_GR_NONE) { /* an application waiting for approval */
    if (u64map_put(&g->pending, m->user_no, (void *)1)) l->rc = IMC_E_NOMEM;
    return;
  }
  if (grp__member_put(l->G, g, m->user_no, (im_grole_t)m->role)) { l->rc = IMC_E_NOMEM; return; }
  if (m->mute_until_s) grp__set_muted(g, m->user_no, m->mute_until_s);
  if (m->msg_flag == 2) grp__set_discard(g, m->user_no, 1);
}

int im_groups_load(im_groups_t *G, store_t *s, int64_t now_s)
{
  load_t l = { G, 0, now_s };
  int rc = store_grp_each(s, load_group, &l);
  if (!rc) rc = l.rc;
  if (!rc) rc = store_grp_member_each(s, 0, 0, 0, -1, load_member, &l);
  if (!rc) rc = l.rc;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&G->by_no, &it); !rc && u64map_next(&G->by_no, &it, NULL, &v);) {
    im_group_t *g = v;
    rc = store_grp_msg_last_seq(s, g->sdkappid, g->group_no, &g->last_seq);
    if (!rc && !im_gtype_info(g->type)->live)
      rc = store_grp_msg_last_listed(s, g->sdkappid, g->group_no, &g->conv_seq, &g->conv_s);
    if (!rc && !im_gtype_info(g->type)->live) rc = store_grp_msg_last_change(s, g->sdkappid, g->group_no, &g->last_chg);
  }
  if (!rc) rc = store_grp_due_count(s, &G->due_chunks);
  if (!rc && G->due_chunks) G->due_found = 1;
  return rc;
}

/* ---- live rooms: per-session membership ----------------------------------------------- */
/* One session of user_no left the room: its count in live_users drops. */
static void live_user_gone(im_group_t *g, uint32_t user_no)
{
  uint32_t n = gset_get(&g->live_users, user_no);
  assert(n > 0);
  if (n > 1) (void)gset_put(&g->live_users, user_no, n - 1); /* a replace never allocates */
  else gset_del(&g->live_users, user_no);
}

/* Take session sid out of the room (1) or not (0: it was not in it). */
static int live_del(im_groups_t *G, im_group_t *g, uint32_t sid)
{
  uint32_t user_no = gset_get(&g->live, sid);
  if (!user_no || !gset_del(&g->live, sid)) return 0;
  live_user_gone(g, user_no);
  G->st.live_sessions--;
  return 1;
}

int im_group_live_join(im_groups_t *G, uint32_t sdkappid, const char *group_id, im_session_t *s, int *already,
                       char *why, size_t cap)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  *already = 0;
  if (!g) return imc_errf(why, cap, IMC_E_GROUP_GONE, "group %.48s does not exist", group_id);
  if (!im_gtype_info(g->type)->live) return IMC_E_GROUP_TYPE_OP;
  if (gset_get(&g->live, s->sid)) { *already = 1; return 0; }
  gsess_t *ss = u64map_get(&G->sess, s->sid);
  if (!ss) {
    if (!(ss = calloc(1, sizeof *ss))) return IMC_E_NOMEM;
    ss->sdkappid = sdkappid;
    if (u64map_put(&G->sess, s->sid, ss)) { free(ss); return IMC_E_NOMEM; }
  }
  if (ss->n == ss->cap) {
    uint32_t ncap = ss->cap ? ss->cap * 2 : 2;
    uint32_t *n = realloc(ss->group_nos, ncap * sizeof *n);
    if (!n) return IMC_E_NOMEM;
    ss->group_nos = n;
    ss->cap = ncap;
  }
  uint32_t had = gset_get(&g->live_users, s->user_no);
  if (gset_put(&g->live_users, s->user_no, had + 1)) return IMC_E_NOMEM;
  grp__live_joining(G, g, s->sid);
  if (gset_put(&g->live, s->sid, s->user_no)) {
    live_user_gone(g, s->user_no);
    return IMC_E_NOMEM;
  }
  ss->group_nos[ss->n++] = g->group_no;
  G->st.live_sessions++;
  return 0;
}

static void live_leave(im_groups_t *G, im_group_t *g, uint32_t sid)
{
  live_del(G, g, sid);
  gsess_t *ss = u64map_get(&G->sess, sid);
  for (uint32_t k = 0; ss && k < ss->n; k++)
    if (ss->group_nos[k] == g->group_no) { ss->group_nos[k] = ss->group_nos[--ss->n]; break; }
}

int im_group_live_quit(im_groups_t *G, uint32_t sdkappid, const char *group_id, im_session_t *s)
{
  im_group_t *g = grp__find(G, sdkappid, group_id);
  if (!g) return IMC_E_GROUP_GONE;
  if (!gset_get(&g->live, s->sid)) return IMC_E_GROUP_NOT_MEMBER;
  live_leave(G, g, s->sid);
  return 0;
}

void im_group_session_gone(im_groups_t *G, im_session_t *s)
{
  gsess_t *ss = u64map_del(&G->sess, s->sid);
  if (!ss) return;
  if (ss->lag_ms) G->st.live_lagging--;
  for (uint32_t k = 0; k < ss->n; k++) {
    im_group_t *g = grp__by_no(G, ss->sdkappid, ss->group_nos[k]);
    if (g) live_del(G, g, s->sid);
  }
  free(ss->group_nos);
  free(ss);
}

/* ---- delivery ------------------------------------------------------------------------- */
void *grp__encode(im_groups_t *G, const im_gevent_t *ev)
{
  int live = im_gtype_info(ev->type)->live;
  if (imc_fault(live ? IMC_FAULT_LIVE_PUSH_ENCODE : IMC_FAULT_GROUP_PUSH_ENCODE)) return NULL; /* a test's OOM */
  return G->h.encode(G->h.ud, ev);
}

int grp__send(im_groups_t *G, im_session_t *s, void *frame, int live)
{
  if (imc_fault(live ? IMC_FAULT_LIVE_PUSH_SEND : IMC_FAULT_GROUP_PUSH_SEND)) return IMC_E_NOMEM; /* a test's OOM */
  return G->h.send(G->h.ud, s, frame);
}

/* A stored group's push under way: its event and frame, made for the first session due it. */
typedef struct gpush {
  const im_gevent_t *ev;
  void *f;
  int failed;                  /* the frame could not be made */
} gpush_t;

/* Push p's event to s. A session that cannot get an event it is owed (one of a stored message or notice: with a
 * seq, or a recall or change of one), because its frame could not be made or its connection could not queue it
 * (out of memory), is cut with 1011 (the lost hook) rather than left to get the next one after a gap: its device
 * reconnects and its group_sync from its seq hands the message over, as after a slow consumer's close (1008).
 * An online-only event (seq 0, a system notification) is only lost: nothing is owed for it. */
static void push(im_groups_t *G, gpush_t *p, im_session_t *s)
{
  if (!p->f && !p->failed && !(p->f = grp__encode(G, p->ev))) p->failed = 1;
  int rc = p->f ? grp__send(G, s, p->f, 0) : IMC_E_NOMEM;
  if (!rc) G->st.deliveries++;
  else if (rc == IMC_E_NOMEM && p->ev->msg && p->ev->msg->seq && G->h.lost) G->h.lost(G->h.ud, s);
}

static void push_end(im_groups_t *G, gpush_t *p)
{
  if (p->f) G->h.release(G->h.ud, p->f);
}

void grp__deliver_user(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const im_gevent_t *ev)
{
  gpush_t p = { .ev = ev };
  for (im_session_t *s = im_presence_first(G->p, sdkappid, user_no); s; s = s->next) push(G, &p, s);
  push_end(G, &p);
}

void grp__deliver(im_groups_t *G, im_group_t *g, const im_gevent_t *ev, const uint32_t *to, size_t n_to,
                  uint32_t except_sid)
{
  if (im_gtype_info(g->type)->live) { grp__live_deliver(G, g, ev, except_sid); return; }
  gpush_t p = { .ev = ev };
  /* members with MsgFlag Discard get no messages (nor their recalls, changes); notices still go */
  uint32_t skip = ev->msg && ev->kind != IM_GEV_DISSOLVED && !(ev->msg->flags & STORE_GMSG_SYSTEM) ? GM_DISCARD : 0;
  for (size_t i = 0; to && i < n_to; i++) { /* a list: its members only, once each */
    size_t k = 0;
    while (k < i && to[k] != to[i]) k++;
    uint32_t m = gset_get(&g->members, to[i]);
    if (k < i || !m || (m & skip)) continue;
    for (im_session_t *s = im_presence_first(G->p, g->sdkappid, to[i]); s; s = s->next)
      if (s->sid != except_sid) push(G, &p, s);
  }
  uint64_t pos = 0, v;
  while (!to && gset_next(&g->members, &pos, &v)) {
    if ((uint32_t)v & skip) continue;
    for (im_session_t *s = im_presence_first(G->p, g->sdkappid, (uint32_t)(v >> 32)); s; s = s->next)
      if (s->sid != except_sid) push(G, &p, s);
  }
  push_end(G, &p);
}
