/* group_live.c — live-room (AVChatRoom) fan-out: one encoded frame (or one
 * batch of frames) shared by every member session, coalescing windows for
 * busy rooms, and the lossy slow-consumer policy (docs/decisions/groups.md
 * §8). Loop thread only.
 *
 * Coalescing: a room with at least coalesce_min_members sessions fans out
 * at most once per coalesce_ms. The first message after a quiet window goes
 * out at once; one arriving sooner joins the room's batch, which goes out
 * when the window that began with the last fan-out ends — as one buffer of
 * back-to-back WebSocket frames queued with one reference per member, so a
 * member's share of a busy room costs one queue entry and (in the network
 * layer) part of one write per window, whatever the message rate.
 *
 * Drops: a member whose connection already has bytes queued and would pass
 * queue_bytes with this fan-out does not get it; its session counts the lost
 * messages and, at the next fan-out it can take, first gets a live_dropped
 * notice with the count. A member that has lost everything for max_lag_ms
 * is cut off with 1008. Stored-history groups never come here. */
#include "im/group_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* A batch: message frames and the sending session of each (0 = none). */
typedef struct glive {
  void **frames;
  uint32_t *sids;
  uint32_t n, cap;
  uint64_t last_ms;            /* loop time of the room's last fan-out */
  uint64_t due_ms;             /* while n > 0: when the batch goes out */
} glive_t;

/* A batch never holds more messages than this: it goes out early instead. */
#define LIVE_BATCH_MAX 4096u

void im_groups_set_live(im_groups_t *G, const im_live_cfg_t *cfg) { G->live = *cfg; }

static int coalescing(const im_groups_t *G, const im_group_t *g)
{
  return G->live.coalesce_ms && G->h.concat && G->h.now_ms && G->h.arm && g->live.len >= G->live.coalesce_min_members;
}

static uint64_t now_ms(const im_groups_t *G) { return G->h.now_ms ? G->h.now_ms(G->h.ud) : 0; }

/* ---- one member -------------------------------------------------------------------------- */
/* Queue f (bytes, msgs messages) to s under the drop policy: the bytes queued
 * (0 when s lost it or was cut off). */
static size_t member_send(im_groups_t *G, im_session_t *s, void *f, size_t bytes, uint32_t msgs, uint64_t now)
{
  gsess_t *ss = G->st.live_lagging ? u64map_get(&G->sess, s->sid) : NULL;
  size_t q = G->live.queue_bytes && G->h.queued ? G->h.queued(G->h.ud, s) : 0;
  if (q && q + bytes > G->live.queue_bytes) {
    if (!ss && !(ss = u64map_get(&G->sess, s->sid))) return 0;
    if (!ss->lag_ms) {
      ss->lag_ms = (uint32_t)now | 1u;
      G->st.live_lagging++;
    } else if (G->live.max_lag_ms && (int32_t)((uint32_t)now - ss->lag_ms) >= (int32_t)G->live.max_lag_ms) {
      if (G->h.cut && !G->h.cut(G->h.ud, s, "slow consumer: live-room messages lost for too long")) G->st.live_cutoffs++;
    }
    ss->dropped = ss->dropped + msgs < ss->dropped ? UINT32_MAX : ss->dropped + msgs;
    G->st.live_dropped += msgs;
    return 0;
  }
  size_t sent = 0;
  if (ss && ss->lag_ms) {
    void *n = G->h.encode_dropped ? G->h.encode_dropped(G->h.ud, ss->dropped) : NULL;
    if (n) {
      size_t nb = G->h.frame_bytes(G->h.ud, n);
      if (!G->h.send(G->h.ud, s, n)) sent += nb;
      G->h.release(G->h.ud, n);
    }
    ss->dropped = 0;
    ss->lag_ms = 0;
    G->st.live_lagging--;
  }
  int rc = G->h.send(G->h.ud, s, f);
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

/* ---- one pass over the room -------------------------------------------------------------- */
/* Queue f (msgs messages) to every session of g; a session in senders (the
 * sorted, distinct sending sessions of the batch) gets the batch's frames
 * one by one without its own. Meters the bytes. */
static void fan_out(im_groups_t *G, im_group_t *g, void *f, uint32_t msgs, const uint32_t *senders, size_t n_senders,
                    void *const *frames, const uint32_t *sids, uint32_t n_frames, uint64_t now)
{
  size_t bytes = G->h.frame_bytes(G->h.ud, f);
  uint64_t sent = 0;
  for (uint32_t i = 0; i < g->live.cap; i++) {
    uint64_t v = g->live.slots[i];
    if (!v) continue;
    uint32_t sid = (uint32_t)(v >> 32);
    im_session_t *s = im_presence_find(G->p, g->sdkappid, (uint32_t)v, sid);
    if (!s) continue;
    if (!n_senders || !sid_in(senders, n_senders, sid)) { sent += member_send(G, s, f, bytes, msgs, now); continue; }
    for (uint32_t k = 0; k < n_frames; k++)
      if (sids[k] != sid) sent += member_send(G, s, frames[k], G->h.frame_bytes(G->h.ud, frames[k]), 1, now);
  }
  G->st.live_fanouts++;
  G->st.live_bytes += sent;
  if (sent && G->h.live_bytes) G->h.live_bytes(G->h.ud, g->sdkappid, sent);
}

/* Send g's batch now (one shared buffer) and empty it. */
static void flush_room(im_groups_t *G, im_group_t *g, uint64_t now)
{
  glive_t *lv = g->lv;
  if (!lv || !lv->n) return;
  uint32_t n = lv->n;
  /* the distinct sending sessions, sorted (a batch usually has one or none) */
  uint32_t *senders = malloc(n * sizeof *senders);
  size_t ns = 0;
  if (senders) {
    for (uint32_t k = 0; k < n; k++)
      if (lv->sids[k]) senders[ns++] = lv->sids[k];
    qsort(senders, ns, sizeof *senders, cmp_u32);
    size_t w = 0;
    for (size_t k = 0; k < ns; k++)
      if (!w || senders[w - 1] != senders[k]) senders[w++] = senders[k];
    ns = w;
  }
  void *b = senders && n > 1 ? G->h.concat(G->h.ud, lv->frames, n) : NULL;
  if (b) {
    fan_out(G, g, b, n, senders, ns, lv->frames, lv->sids, n, now);
    G->h.release(G->h.ud, b);
  } else {
    /* one message, or no memory for the batch buffer: each on its own */
    for (uint32_t k = 0; k < n; k++) fan_out(G, g, lv->frames[k], 1, &lv->sids[k], lv->sids[k] != 0, NULL, NULL, 0, now);
  }
  free(senders);
  for (uint32_t k = 0; k < n; k++) G->h.release(G->h.ud, lv->frames[k]);
  lv->n = 0;
  lv->last_ms = now;
}

/* ---- the batch --------------------------------------------------------------------------- */
static int list_room(im_groups_t *G, const im_group_t *g)
{
  if (G->lv_n == G->lv_cap) {
    size_t ncap = G->lv_cap ? G->lv_cap * 2 : 8;
    uint64_t *r = realloc(G->lv_rooms, ncap * sizeof *r);
    if (!r) return IMC_E_NOMEM;
    G->lv_rooms = r;
    G->lv_cap = ncap;
  }
  G->lv_rooms[G->lv_n++] = (uint64_t)g->sdkappid << 32 | g->group_no;
  return 0;
}

/* Add f to g's batch (taking it). 0, or IMC_E_NOMEM (f not taken). */
static int batch_add(im_groups_t *G, im_group_t *g, void *f, uint32_t sid, uint64_t now)
{
  glive_t *lv = g->lv;
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
  if (!lv->n) {
    if (list_room(G, g)) return IMC_E_NOMEM;
    lv->due_ms = lv->last_ms + G->live.coalesce_ms;
    G->h.arm(G->h.ud, (uint32_t)(lv->due_ms > now ? lv->due_ms - now : 0));
  }
  lv->frames[lv->n] = f;
  lv->sids[lv->n++] = sid;
  G->st.live_batched++;
  return 0;
}

void grp__live_deliver(im_groups_t *G, im_group_t *g, const im_gevent_t *ev, uint32_t except_sid)
{
  void *f = G->h.encode(G->h.ud, ev);
  if (!f) return;
  uint64_t now = now_ms(G);
  if (ev->kind == IM_GEV_MSG && coalescing(G, g)) {
    if (!g->lv && !(g->lv = calloc(1, sizeof *g->lv))) goto now;
    glive_t *lv = g->lv;
    if (lv->n >= LIVE_BATCH_MAX) flush_room(G, g, now);
    else if ((lv->n || (lv->last_ms && now - lv->last_ms < G->live.coalesce_ms)) && !batch_add(G, g, f, except_sid, now))
      return;
    flush_room(G, g, now); /* the batch (if batch_add failed) goes first */
    lv->last_ms = now;
  } else {
    flush_room(G, g, now); /* a notice after the messages queued before it */
  }
now:
  fan_out(G, g, f, 1, &except_sid, except_sid != 0, NULL, NULL, 0, now);
  G->h.release(G->h.ud, f);
}

void im_groups_live_flush(im_groups_t *G)
{
  uint64_t now = now_ms(G), next = 0;
  size_t w = 0;
  for (size_t i = 0; i < G->lv_n; i++) {
    uint64_t k = G->lv_rooms[i];
    im_group_t *g = grp__by_no(G, (uint32_t)(k >> 32), (uint32_t)k);
    if (!g || !g->lv || !g->lv->n) continue;
    if (g->lv->due_ms <= now) { flush_room(G, g, now); continue; }
    if (!next || g->lv->due_ms < next) next = g->lv->due_ms;
    G->lv_rooms[w++] = k;
  }
  G->lv_n = w;
  if (next && G->h.arm) G->h.arm(G->h.ud, (uint32_t)(next - now));
}

void grp__live_free(im_groups_t *G, im_group_t *g)
{
  glive_t *lv = g->lv;
  if (!lv) return;
  for (uint32_t k = 0; k < lv->n; k++) G->h.release(G->h.ud, lv->frames[k]);
  free(lv->frames);
  free(lv->sids);
  free(lv);
  g->lv = NULL;
}
