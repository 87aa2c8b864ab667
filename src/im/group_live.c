/* group_live.c — live-room (AVChatRoom) fan-out: one encoded frame (or one
 * batch of frames) shared by every member session, walks over the room in
 * bounded slices, coalescing windows for busy rooms, and the lossy
 * slow-consumer policy (docs/decisions/groups-live.md §8). Loop thread only.
 *
 * Walks: a fan-out is a walk over the room's sessions as they were when it
 * began (a copy of the set's slots), reaching at most fanout_slice of them
 * per loop turn: the first slice in the turn the message arrives, the rest
 * in the next turns (the arm hook, 1 ms). The network layer writes a turn's
 * output in that turn, so no turn writes to more than a slice of a room,
 * and the loop reads (publishers, REST) between slices. A session that left
 * the room or closed since the walk began is skipped. Whatever arrives
 * while a walk is under way waits in the room's batch and goes out in the
 * next walk, as one buffer of back-to-back WebSocket frames queued with one
 * reference per member: per member, the order of arrival holds, and the
 * busier the room the more messages share one queue entry and one write.
 *
 * Coalescing: a room with at least coalesce_min_members sessions starts a
 * walk at most once per coalesce_ms. The first message after a quiet window
 * goes out at once; one arriving sooner joins the batch, which goes out when
 * the window that began with the last walk ends (or when the walk under way
 * ends, if that is later). A notice (not a message) first sends whatever
 * of the room is under way or waiting, then goes out itself, all in the
 * turn it arrives: order holds, and a dissolve, which frees the room right
 * after its notice, loses nothing.
 *
 * Joins: a session that joins while messages wait in the batch is listed
 * with how many wait (the room's late joiners); the batch's walk gives it
 * only the messages that came after its join, one by one as a sender gets
 * them. A session that joins while a walk is under way is not in that walk
 * (it began before); one that was in it, quit and joins again is listed as
 * the walk's fresh sessions and skipped by the rest of it. A session that
 * quits or closes is skipped by the rest of the walk (the walk holds
 * session ids, looked up when reached). Either list holds at most 65,536
 * sessions; past that the walk and the batch go out before the join.
 *
 * Drops: a member whose connection already has bytes queued and would pass
 * queue_bytes with this fan-out does not get it; its session counts the lost
 * messages and, at the next fan-out it can take, first gets a live_dropped
 * notice with the count. A message whose frame cannot be made, or that a
 * member's connection cannot queue (out of memory), is lost the same way:
 * counted for each member that misses it and announced, never silently. A
 * member still losing messages max_lag_ms after its first loss, its queue not
 * drained to half of queue_bytes since, is cut off with 1008.
 * Stored-history groups never come here. */
#include "im/group_int.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* What one pass gives each member: f (msgs messages) to everyone but the
 * senders, which get the batch's frames one by one without their own. */
typedef struct gwalk {
  void *f;                     /* frames[0] (one message), or the batch's concat (a reference of its own) */
  uint32_t msgs;
  void **frames;               /* the batch (a reference each) */
  uint32_t *sids;              /* the sending session of each frame (0 = none) */
  uint32_t nf;
  uint32_t *senders;           /* the distinct sending sessions, sorted */
  uint32_t ns;
  uint64_t *late;              /* sessions that joined while the batch waited: sid << 32 | frames before the join, sorted */
  uint32_t nlate;
  uint64_t *members;           /* walks: the room's slots when it began (sid << 32 | user_no); NULL = none under way */
  uint32_t nm, next;           /* walks: members, the next one to reach */
  uint32_t *fresh;             /* walks: sessions that joined since it began (skipped: a rejoin after a quit) */
  uint32_t nfresh, fresh_cap;
  int fresh_sorted;
} gwalk_t;

/* A room's fan-out state. */
typedef struct glive {
  void **frames;               /* the batch: what waits for the next walk */
  uint32_t *sids;
  uint32_t n, cap;
  uint64_t *late;              /* the batch's late joiners: sid << 32 | lv->n at the join, in join order */
  uint32_t nlate, late_cap;
  uint64_t last_ms;            /* loop time the room's last walk began */
  uint64_t due_ms;             /* while n > 0: the earliest the batch's walk may begin */
  int listed;                  /* in G->lv_rooms */
  gwalk_t w;                   /* the walk under way (w.members != NULL) */
} glive_t;

/* A batch never holds more messages than this: everything due goes out at
 * once instead (one big turn, only when a room outruns its walks). */
#define LIVE_BATCH_MAX 4096u
/* Nor more late joiners: the batch goes out before the next join instead. */
#define LIVE_LATE_MAX 65536u

void im_groups_set_live(im_groups_t *G, const im_live_cfg_t *cfg) { G->live = *cfg; }

/* Walks need the batch buffer, the clock and the timer. */
static int walking(const im_groups_t *G) { return G->h.concat && G->h.now_ms && G->h.arm; }

static int coalescing(const im_groups_t *G, const im_group_t *g)
{
  return G->live.coalesce_ms && walking(G) && g->live.len >= G->live.coalesce_min_members;
}

static uint64_t now_ms(const im_groups_t *G) { return G->h.now_ms ? G->h.now_ms(G->h.ud) : 0; }

/* ---- one member -------------------------------------------------------------------------- */
/* Session s (ss: its live-room state) loses msgs messages: counted, and the next live-room message it gets is
 * preceded by a live_dropped notice with the count. Its lag runs from its first loss until a message reaches it
 * with its connection's queue at most half of queue_bytes (it drained); a loss max_lag_ms or more into the lag
 * cuts it off (1008). */
static void lose(im_groups_t *G, gsess_t *ss, im_session_t *s, uint32_t msgs, uint64_t now)
{
  if (!ss->lag_ms) {
    ss->lag_ms = (uint32_t)now | 1u;
    G->st.live_lagging++;
  } else if (G->live.max_lag_ms && (int32_t)((uint32_t)now - ss->lag_ms) >= (int32_t)G->live.max_lag_ms) {
    if (G->h.cut && !G->h.cut(G->h.ud, s, "slow consumer: live-room messages lost for too long")) G->st.live_cutoffs++;
  }
  ss->dropped = ss->dropped + msgs < ss->dropped ? UINT32_MAX : ss->dropped + msgs;
  G->st.live_dropped += msgs;
}

/* Queue f (bytes, msgs messages) to s under the drop policy: the bytes queued
 * (0 when s lost it or was cut off). A member whose connection is behind
 * loses f; so does one whose connection cannot queue f or, when it lost
 * messages before, the live_dropped notice that must precede f (out of
 * memory): f is then counted with the rest and the notice is tried again
 * before the next message, so no member gets a message after a loss it was
 * not told of. */
static size_t member_send(im_groups_t *G, im_session_t *s, void *f, size_t bytes, uint32_t msgs, uint64_t now)
{
  gsess_t *ss = G->st.live_lagging ? u64map_get(&G->sess, s->sid) : NULL;
  size_t q = G->live.queue_bytes && G->h.queued ? G->h.queued(G->h.ud, s) : 0;
  if (q && q + bytes > G->live.queue_bytes) {
    if (ss || (ss = u64map_get(&G->sess, s->sid))) lose(G, ss, s, msgs, now);
    return 0;
  }
  size_t sent = 0;
  assert(!ss || !ss->dropped || ss->lag_ms); /* a loss not yet told of is a lag under way */
  if (ss && ss->dropped) {
    void *n = G->h.encode_dropped ? G->h.encode_dropped(G->h.ud, ss->dropped) : NULL;
    int rc = n ? grp__send(G, s, n, 1) : IMC_E_NOMEM;
    if (!rc) sent += G->h.frame_bytes(G->h.ud, n);
    if (n) G->h.release(G->h.ud, n);
    if (rc == IMC_E_NOMEM) { lose(G, ss, s, msgs, now); return 0; }
    if (rc) {
      if (rc == IMC_E_BUSY) G->st.live_cutoffs++;
      return 0;
    }
    ss->dropped = 0;
  }
  /* the lag ends when the member has drained: a message that fits in a queue still over half full is the
   * kernel taking a little of a reader that does not read (its receive queue collapsed), not a recovery */
  if (ss && ss->lag_ms && q <= G->live.queue_bytes / 2) {
    ss->lag_ms = 0;
    G->st.live_lagging--;
  }
  int rc = grp__send(G, s, f, 1);
  if (rc == IMC_E_NOMEM && (ss || (ss = u64map_get(&G->sess, s->sid)))) lose(G, ss, s, msgs, now);
  if (rc) {
    if (rc == IMC_E_BUSY) G->st.live_cutoffs++;
    return sent;
  }
  G->st.live_frames += msgs;
  return sent + bytes;
}

static int sid_in(const uint32_t *sorted, size_t n, uint32_t sid)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sorted[mid] == sid) return 1;
    if (sorted[mid] < sid) lo = mid + 1; else hi = mid;
  }
  return 0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* ---- one member of a pass ----------------------------------------------------------------- */
/* The frames of w a session joined after: 0, or (a late joiner) how many
 * of the batch came before its last join. */
static uint32_t late_from(const gwalk_t *w, uint32_t sid)
{
  size_t lo = 0, hi = w->nlate;
  while (lo < hi) { /* the first entry of sid + 1 */
    size_t mid = (lo + hi) / 2;
    if ((uint32_t)(w->late[mid] >> 32) <= sid) lo = mid + 1; else hi = mid;
  }
  return lo && (uint32_t)(w->late[lo - 1] >> 32) == sid ? (uint32_t)w->late[lo - 1] : 0;
}

/* Queue w's share to s (session sid): the bytes queued. */
static uint64_t reach(im_groups_t *G, const gwalk_t *w, size_t bytes, im_session_t *s, uint32_t sid, uint64_t now)
{
  uint32_t from = w->nlate ? late_from(w, sid) : 0;
  if (!from && (!w->ns || !sid_in(w->senders, w->ns, sid))) return member_send(G, s, w->f, bytes, w->msgs, now);
  uint64_t sent = 0;
  for (uint32_t k = from; k < w->nf; k++)
    if (w->sids[k] != sid) sent += member_send(G, s, w->frames[k], G->h.frame_bytes(G->h.ud, w->frames[k]), 1, now);
  return sent;
}

static void meter(im_groups_t *G, const im_group_t *g, uint64_t sent)
{
  G->st.live_bytes += sent;
  if (sent && G->h.live_bytes) G->h.live_bytes(G->h.ud, g->sdkappid, sent);
}

/* One pass over every session of g now (no walk hooks, or no memory for a walk). */
static void fan_out(im_groups_t *G, im_group_t *g, const gwalk_t *w, uint64_t now)
{
  size_t bytes = G->h.frame_bytes(G->h.ud, w->f);
  uint64_t sent = 0;
  uint64_t pos = 0, v;
  while (gset_next(&g->live, &pos, &v)) {
    uint32_t sid = (uint32_t)(v >> 32);
    im_session_t *s = im_presence_find(G->p, g->sdkappid, (uint32_t)v, sid);
    if (s) sent += reach(G, w, bytes, s, sid, now);
  }
  G->st.live_fanouts++;
  meter(G, g, sent);
}

/* One frame f (sent by session sid, 0 = none) to every session of g now. */
static void fan_out_one(im_groups_t *G, im_group_t *g, void *f, uint32_t sid, uint64_t now)
{
  gwalk_t w = { .f = f, .msgs = 1, .frames = &f, .sids = &sid, .nf = 1, .senders = &sid, .ns = sid != 0 };
  fan_out(G, g, &w, now);
}

/* ---- walks ------------------------------------------------------------------------------- */
static void walk_end(im_groups_t *G, gwalk_t *w)
{
  if (w->nf > 1 && w->f) G->h.release(G->h.ud, w->f);
  for (uint32_t k = 0; k < w->nf; k++) G->h.release(G->h.ud, w->frames[k]);
  free(w->frames);
  free(w->sids);
  free(w->senders);
  free(w->late);
  free(w->fresh);
  free(w->members);
  memset(w, 0, sizeof *w);
}

/* Begin the walk of g's batch (the batch is empty after). Without memory
 * for it, the batch goes out now instead, a pass per message. */
static void walk_begin(im_groups_t *G, im_group_t *g, uint64_t now)
{
  glive_t *lv = g->lv;
  gwalk_t *w = &lv->w;
  uint32_t n = lv->n;
  assert(n && !w->members);
  *w = (gwalk_t){ .msgs = n, .frames = lv->frames, .sids = lv->sids, .nf = n, .late = lv->late, .nlate = lv->nlate };
  lv->frames = NULL;
  lv->sids = NULL;
  lv->n = lv->cap = 0;
  lv->late = NULL;
  lv->nlate = lv->late_cap = 0;
  /* by session, then join order (the last join counts) */
  if (w->nlate > 1) qsort(w->late, w->nlate, sizeof *w->late, cmp_u64);
  lv->last_ms = now;
  w->senders = malloc(n * sizeof *w->senders);
  w->members = malloc((g->live.len ? g->live.len : 1) * sizeof *w->members);
  w->f = n == 1 ? w->frames[0] : G->h.concat(G->h.ud, w->frames, n);
  if (!w->senders || !w->members || !w->f) {
    for (uint32_t k = 0; k < n; k++) fan_out_one(G, g, w->frames[k], w->sids[k], now);
    walk_end(G, w); /* releases the frames */
    return;
  }
  uint32_t ns = 0;
  for (uint32_t k = 0; k < n; k++)
    if (w->sids[k]) w->senders[ns++] = w->sids[k];
  qsort(w->senders, ns, sizeof *w->senders, cmp_u32);
  uint32_t d = 0;
  for (uint32_t k = 0; k < ns; k++)
    if (!d || w->senders[d - 1] != w->senders[k]) w->senders[d++] = w->senders[k];
  w->ns = d;
  uint64_t pos = 0, v;
  while (gset_next(&g->live, &pos, &v)) w->members[w->nm++] = v;
  G->st.live_fanouts++;
}

/* Reach up to budget members of g's walk; end it after its last member.
 * Returns the members taken from the walk. */
static uint32_t walk_step(im_groups_t *G, im_group_t *g, uint32_t budget, uint64_t now)
{
  gwalk_t *w = &g->lv->w;
  size_t bytes = G->h.frame_bytes(G->h.ud, w->f);
  uint32_t end = w->nm - w->next > budget ? w->next + budget : w->nm, taken = end - w->next;
  uint64_t sent = 0;
  if (w->nfresh > 1 && !w->fresh_sorted) qsort(w->fresh, w->nfresh, sizeof *w->fresh, cmp_u32);
  w->fresh_sorted = 1;
  for (; w->next < end; w->next++) {
    uint64_t v = w->members[w->next];
    uint32_t sid = (uint32_t)(v >> 32);
    if (gset_get(&g->live, sid) != (uint32_t)v) continue; /* left the room since the walk began */
    if (w->nfresh && sid_in(w->fresh, w->nfresh, sid)) continue; /* left and joined again: not from before */
    im_session_t *s = im_presence_find(G->p, g->sdkappid, (uint32_t)v, sid);
    if (s) sent += reach(G, w, bytes, s, sid, now);
  }
  G->st.live_slices++;
  meter(G, g, sent);
  if (w->next == w->nm) walk_end(G, w);
  return taken;
}

/* This turn's share of g's fan-out: go on with the walk under way, begin
 * the batch's walk when it is due, at most fanout_slice members in all
 * (0 = no limit). 1 if work is left (a walk under way or a batch waiting). */
static int pump(im_groups_t *G, im_group_t *g, uint64_t now)
{
  glive_t *lv = g->lv;
  uint32_t budget = G->live.fanout_slice ? G->live.fanout_slice : UINT32_MAX;
  for (;;) {
    if (!lv->w.members && lv->n && lv->due_ms <= now) walk_begin(G, g, now);
    if (!lv->w.members || !budget) break;
    budget -= walk_step(G, g, budget, now);
  }
  return lv->w.members || lv->n;
}

/* Everything of g now, whatever the slice and the window. */
static void drain(im_groups_t *G, im_group_t *g, uint64_t now)
{
  glive_t *lv = g->lv;
  while (lv->w.members || lv->n) {
    if (!lv->w.members) walk_begin(G, g, now);
    if (lv->w.members) walk_step(G, g, UINT32_MAX, now);
  }
}

/* ---- the batch --------------------------------------------------------------------------- */
/* Keep g in the list im_groups_live_flush works through and have the flush
 * called when its next step is due. */
static void schedule(im_groups_t *G, im_group_t *g, uint64_t now)
{
  glive_t *lv = g->lv;
  if (!lv->listed) {
    if (G->lv_n == G->lv_cap) {
      size_t ncap = G->lv_cap ? G->lv_cap * 2 : 8;
      uint64_t *r = realloc(G->lv_rooms, ncap * sizeof *r);
      if (!r) { drain(G, g, now); return; } /* nobody would come back for it */
      G->lv_rooms = r;
      G->lv_cap = ncap;
    }
    G->lv_rooms[G->lv_n++] = (uint64_t)g->sdkappid << 32 | g->group_no;
    lv->listed = 1;
  }
  G->h.arm(G->h.ud, lv->w.members || lv->due_ms <= now ? 1 : (uint32_t)(lv->due_ms - now));
}

/* Add f (sent by session sid) to g's batch, taking it. 0, or IMC_E_NOMEM (f not taken). */
static int batch_add(glive_t *lv, void *f, uint32_t sid)
{
  if (lv->n == lv->cap) {
    uint32_t ncap = lv->cap ? lv->cap * 2 : 16;
    void **fr = realloc(lv->frames, ncap * sizeof *fr);
    if (!fr) return IMC_E_NOMEM;
    lv->frames = fr;
    uint32_t *si = realloc(lv->sids, ncap * sizeof *si);
    if (!si) return IMC_E_NOMEM;
    lv->sids = si;
    lv->cap = ncap;
  }
  lv->frames[lv->n] = f;
  lv->sids[lv->n++] = sid;
  return 0;
}

/* The frame of a message or notice for g (sent by session except_sid, 0 = none) could not be made (out of memory):
 * what of g is under way or waiting goes out first, then every other session of the room loses it, counted and
 * announced as for a member that is behind. */
static void lost_by_all(im_groups_t *G, im_group_t *g, uint32_t except_sid, uint64_t now)
{
  if (g->lv) drain(G, g, now);
  uint64_t pos = 0, v;
  while (gset_next(&g->live, &pos, &v)) {
    uint32_t sid = (uint32_t)(v >> 32);
    gsess_t *ss = sid == except_sid ? NULL : u64map_get(&G->sess, sid);
    im_session_t *s = ss ? im_presence_find(G->p, g->sdkappid, (uint32_t)v, sid) : NULL;
    if (s) lose(G, ss, s, 1, now);
  }
}

void grp__live_deliver(im_groups_t *G, im_group_t *g, const im_gevent_t *ev, uint32_t except_sid)
{
  uint64_t now = now_ms(G);
  void *f = grp__encode(G, ev);
  if (!f) { lost_by_all(G, g, except_sid, now); return; }
  if (!walking(G) || (!g->lv && !(g->lv = calloc(1, sizeof *g->lv)))) { /* at once: nothing can be under way */
    fan_out_one(G, g, f, except_sid, now);
    G->h.release(G->h.ud, f);
    return;
  }
  glive_t *lv = g->lv;
  if (lv->n >= LIVE_BATCH_MAX) drain(G, g, now);
  /* a notice (a dissolve frees the room right after its own), or no memory
   * to wait: what came before goes out first, then f, all in this turn */
  if (ev->kind != IM_GEV_MSG || batch_add(lv, f, except_sid)) {
    drain(G, g, now);
    fan_out_one(G, g, f, except_sid, now);
    G->h.release(G->h.ud, f);
    return;
  }
  if (lv->n == 1) /* the window that began with the last walk, if the room is busy enough to wait */
    lv->due_ms = coalescing(G, g) && lv->last_ms + G->live.coalesce_ms > now ? lv->last_ms + G->live.coalesce_ms : now;
  int busy = lv->w.members != NULL;
  if (busy || lv->n > 1 || lv->due_ms > now) G->st.live_batched++;
  /* a walk under way goes on in the next turn (one slice per turn), then this one */
  if (busy || pump(G, g, now)) schedule(G, g, now);
}

void im_groups_live_flush(im_groups_t *G)
{
  uint64_t now = now_ms(G), next = 0;
  size_t w = 0;
  for (size_t i = 0; i < G->lv_n; i++) {
    uint64_t k = G->lv_rooms[i];
    im_group_t *g = grp__by_no(G, (uint32_t)(k >> 32), (uint32_t)k);
    if (!g || !g->lv) continue;
    glive_t *lv = g->lv;
    if (!pump(G, g, now)) { lv->listed = 0; continue; }
    uint64_t due = lv->w.members || lv->due_ms <= now ? now + 1 : lv->due_ms;
    if (!next || due < next) next = due;
    G->lv_rooms[w++] = k;
  }
  G->lv_n = w;
  if (next && G->h.arm) G->h.arm(G->h.ud, (uint32_t)(next - now));
}

void grp__live_free(im_groups_t *G, im_group_t *g)
{
  glive_t *lv = g->lv;
  if (!lv) return;
  if (lv->w.members) walk_end(G, &lv->w);
  for (uint32_t k = 0; k < lv->n; k++) G->h.release(G->h.ud, lv->frames[k]);
  free(lv->frames);
  free(lv->sids);
  free(lv->late);
  free(lv);
  g->lv = NULL;
}

/* Room for one more element in *v (n used of *cap, elem bytes each), the
 * capacity doubled from 16 up to LIVE_LATE_MAX. 0 or IMC_E_NOMEM. */
static int list_room(void **v, uint32_t n, uint32_t *cap, size_t elem)
{
  if (n < *cap) return 0;
  uint32_t ncap = *cap ? *cap * 2 : 16;
  void *l = ncap <= LIVE_LATE_MAX ? realloc(*v, ncap * elem) : NULL;
  if (!l) return IMC_E_NOMEM;
  *v = l;
  *cap = ncap;
  return 0;
}

/* Note sid as a late joiner of lv's batch (at most LIVE_LATE_MAX). 0 or IMC_E_NOMEM. */
static int late_add(glive_t *lv, uint32_t sid)
{
  void *v = lv->late;
  int rc = list_room(&v, lv->nlate, &lv->late_cap, sizeof *lv->late);
  lv->late = v;
  if (rc) return rc;
  lv->late[lv->nlate++] = (uint64_t)sid << 32 | lv->n;
  return 0;
}

/* Note sid as joined since walk w began (at most LIVE_LATE_MAX). 0 or IMC_E_NOMEM. */
static int fresh_add(gwalk_t *w, uint32_t sid)
{
  void *v = w->fresh;
  int rc = list_room(&v, w->nfresh, &w->fresh_cap, sizeof *w->fresh);
  w->fresh = v;
  if (rc) return rc;
  w->fresh[w->nfresh++] = sid;
  w->fresh_sorted = 0;
  return 0;
}

void grp__live_joining(im_groups_t *G, im_group_t *g, uint32_t sid)
{
  glive_t *lv = g->lv;
  if (!lv) return; /* nothing under way or waiting: every later message is for it */
  /* a walk under way began before the join; the batch's messages came before it.
   * Without room to note either, both go out now, before the join. */
  if ((lv->w.members && fresh_add(&lv->w, sid)) ||
      (lv->n && late_add(lv, sid)))
    drain(G, g, now_ms(G));
}
