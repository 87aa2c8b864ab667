/* sqlite_msg_win.c — the send dedupe window of one conversation, in memory
 * on the writer's connection.
 *
 * A window holds every live (not imported) message of its conversation with
 * time_s >= lo: seq, random, sender, cseq, time, whether the cseq was the
 * caller's and its content's hash. The send dedupe rule (same sender and
 * random, time_s >= since, the same cseq when both are the callers',
 * store_msg_same_seq, the same content: messaging-c2c-checks2.md §69, the
 * hash decides) is answered
 * from it whenever since >= lo, without an index on the message table
 * (docs/decisions/messaging-c2c-append.md §15). sqlite_msg.c creates a
 * window empty for a new conversation, or loads it by walking the
 * conversation back from its newest message (live times never decrease
 * along seq: the append clamps them), pushes every live append of the
 * conversation, and frees every window with the other caches on any
 * ROLLBACK. Entries older than the current since are pruned when the window
 * is full.
 *
 * Bounded by count (§29): a window never holds more than WIN_MAX entries.
 * One that is full of entries within the dedupe window drops its oldest
 * half and is marked capped: lo rises past the dropped entries (it stays
 * complete from lo), and the dedupe of its conversation covers the newest
 * WIN_MAX / 2 … WIN_MAX sends while the conversation sends faster than
 * WIN_MAX per dedupe window; it is exact again once since passes lo.
 *
 * A lookup in a window of WIN_HASH_MIN entries or more goes through an
 * open-addressed hash kept after the entries in the same allocation (twice
 * the capacity in slots, each an entry's index + 1, 0 empty; rebuilt when
 * the entries move), not a scan of every entry. Each entry has one slot,
 * so the hash is at most half full:
 *  - an entry without the caller's MsgSeq: keyed by (random, sender,
 *    chash), so a sender that gives every message one MsgRandom (often 0)
 *    and no MsgSeq has a chain per content, not one chain of all of them
 *    (§69);
 *  - an entry with it: keyed by (random, sender, chash, cseq), so a sender
 *    that gives every message one MsgRandom and tells them apart by MsgSeq
 *    alone has chains of one message each;
 *  - and, so that a send without a MsgSeq (which matches any) still finds
 *    its first match without walking every MsgSeq of its MsgRandom, the
 *    caller-MsgSeq entries of one (random, sender, chash) are a circular
 *    list in seq order (sqwin_ent_t.link), named by a GROUP slot keyed by
 *    (random, sender, chash) that stands for the newest of them instead of
 *    its own slot.
 *    The list's oldest entries older than a lookup's since are unlinked as
 *    that lookup passes them (each at most once per rebuild) and lo rises
 *    to that since, as a prune's does.
 * A send with a MsgSeq looks in the two chains of its (random, sender,
 * chash) and (random, sender, chash, cseq); one without, in the first chain and the list's
 * first entry within since: a bounded number of entries either way
 * (sqwin_t.probes counts them, for the tests).
 *
 * State: owned by the connection's caches (struct sqmsg), one thread;
 * freed with free(). */
#include "store/sqlite_msg_int.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((WIN_MAX & (WIN_MAX - 1)) == 0 && (WIN_HASH_MIN & (WIN_HASH_MIN - 1)) == 0,
               "capacities are powers of two");

#define GROUP 0x80000000u /* a slot value naming a (random, sender, chash)'s list by its newest entry */

static uint32_t *slots(sqwin_t *w) { return w->cap >= WIN_HASH_MIN ? (uint32_t *)&w->e[w->cap] : NULL; }
static size_t win_bytes(uint32_t cap)
{
  return sizeof(sqwin_t) + cap * sizeof(sqwin_ent_t) + (cap >= WIN_HASH_MIN ? 2u * cap * sizeof(uint32_t) : 0);
}
static uint32_t mix(uint64_t x)
{
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return (uint32_t)x;
}
/* The chain of (random, sender, chash): entries without a caller MsgSeq and the GROUP slot of those with one. */
static uint32_t slot_rs(uint32_t random, uint32_t from_no, uint64_t chash, uint32_t mask)
{
  return mix(((uint64_t)random << 32 | from_no) ^ chash) & mask;
}
/* The chain of (random, sender, chash, cseq): entries with a caller MsgSeq, but the newest of their (random,
 * sender, chash). */
static uint32_t slot_rsc(uint32_t random, uint32_t from_no, uint64_t chash, uint32_t cseq, uint32_t mask)
{
  return mix(((uint64_t)random << 32 | from_no) ^ chash ^ ((uint64_t)cseq + 1) * 0x9E3779B97F4A7C15ull) & mask;
}
static uint32_t slot_ent(const sqwin_ent_t *e, uint32_t mask)
{
  return e->caller ? slot_rsc(e->random, e->from_no, e->chash, e->cseq, mask)
                   : slot_rs(e->random, e->from_no, e->chash, mask);
}
/* e is of (random, from_no, chash) */
static int same_rsh(const sqwin_ent_t *e, uint32_t random, uint32_t from_no, uint64_t chash)
{
  return e->random == random && e->from_no == from_no && e->chash == chash;
}

static uint32_t free_slot(const uint32_t *h, uint32_t k, uint32_t mask)
{
  while (h[k]) k = (k + 1) & mask;
  return k;
}

/* Hash entry i (above every entry hashed so far: lists stay in seq order). */
static void hash_put(sqwin_t *w, uint32_t *h, uint32_t i)
{
  uint32_t mask = 2 * w->cap - 1, k;
  sqwin_ent_t *e = &w->e[i];
  if (!e->caller) {
    h[free_slot(h, slot_rs(e->random, e->from_no, e->chash, mask), mask)] = i + 1;
    return;
  }
  for (k = slot_rs(e->random, e->from_no, e->chash, mask); h[k]; k = (k + 1) & mask) {
    if (!(h[k] & GROUP)) continue;
    uint32_t t = (h[k] & ~GROUP) - 1; /* the newest of a list: is it this entry's? */
    if (!same_rsh(&w->e[t], e->random, e->from_no, e->chash)) continue;
    e->link = w->e[t].link; /* i after t, before the oldest */
    w->e[t].link = i;
    h[k] = GROUP | (i + 1);
    h[free_slot(h, slot_ent(&w->e[t], mask), mask)] = t + 1; /* t is no longer the newest: its own slot */
    return;
  }
  e->link = i; /* a list of one */
  h[k] = GROUP | (i + 1);
}

static void hash_build(sqwin_t *w)
{
  uint32_t *h = slots(w);
  if (!h) return;
  memset(h, 0, 2u * w->cap * sizeof *h);
  for (uint32_t i = 0; i < w->n; i++) hash_put(w, h, i);
}

static int ent_matches(const sqwin_ent_t *e, uint32_t random, uint32_t from_no, uint64_t chash, uint32_t flags,
                       uint32_t cseq, int64_t since_s)
{
  return same_rsh(e, random, from_no, chash) && e->time_s >= since_s &&
         store_msg_same_seq(e->caller, e->cseq, flags, cseq);
}

static const sqwin_ent_t *lower(const sqwin_ent_t *best, const sqwin_ent_t *e) { return !best || e < best ? e : best; }

/* The first entry within since_s of the list whose newest is t, NULL when
 * none. Older entries passed are unlinked (never the newest: it holds the
 * GROUP slot); the window is then complete from since_s only, as after a
 * prune (a lookup with a lower since walks the table). */
static const sqwin_ent_t *list_first(sqwin_t *w, uint32_t t, int64_t since_s)
{
  uint32_t i;
  while ((i = w->e[t].link) != t && w->e[i].time_s < since_s) {
    w->probes++;
    w->e[t].link = w->e[i].link;
    if (since_s > w->lo) w->lo = since_s;
    w->capped = 0;
  }
  w->probes++;
  return w->e[i].time_s >= since_s ? &w->e[i] : NULL;
}

const sqwin_ent_t *sq__win_find(sqwin_t *w, uint32_t random, uint32_t from_no, uint64_t chash, uint32_t flags,
                                uint32_t cseq, int64_t since_s)
{
  const uint32_t *h = slots(w);
  const sqwin_ent_t *best = NULL;
  w->probes = 0;
  if (!h) {
    for (uint32_t i = 0; i < w->n; i++) { /* ascending seq: the first match is the original */
      w->probes++;
      if (ent_matches(&w->e[i], random, from_no, chash, flags, cseq, since_s)) return &w->e[i];
    }
    return NULL;
  }
  uint32_t mask = 2 * w->cap - 1;
  for (uint32_t k = slot_rs(random, from_no, chash, mask); h[k]; k = (k + 1) & mask) {
    const sqwin_ent_t *e = &w->e[(h[k] & ~GROUP) - 1];
    w->probes++;
    if (!same_rsh(e, random, from_no, chash)) continue;
    if (h[k] & GROUP && !(flags & STORE_MSG_CALLER_SEQ)) e = list_first(w, (h[k] & ~GROUP) - 1, since_s);
    if (e && ent_matches(e, random, from_no, chash, flags, cseq, since_s)) best = lower(best, e);
  }
  if (flags & STORE_MSG_CALLER_SEQ)
    for (uint32_t k = slot_rsc(random, from_no, chash, cseq, mask); h[k]; k = (k + 1) & mask) {
      const sqwin_ent_t *e = &w->e[(h[k] & ~GROUP) - 1];
      w->probes++;
      if (ent_matches(e, random, from_no, chash, flags, cseq, since_s)) best = lower(best, e);
    }
  return best;
}

sqwin_t *sq__win_new(int64_t lo)
{
  sqwin_t *w = malloc(win_bytes(8));
  if (!w) return NULL;
  w->lo = lo;
  w->n = 0;
  w->cap = 8;
  w->capped = 0;
  w->probes = 0;
  return w;
}

/* Drop the entries older than since_s (they can match no later send with
 * a since at least as large) and raise lo to it. The window is then
 * complete from since_s (whatever a capped window dropped was older than
 * its lo), so no longer capped: a later send with a since below lo (the
 * clock stepped back) is answered by a walk over the table, which finds
 * what this prune dropped. A lookup that unlinked entries (list_first)
 * raised lo without dropping them: they are dropped here too (the oldest
 * entry is below since although since is not above lo). */
static void prune(sqwin_t *w, int64_t since_s)
{
  if (since_s <= w->lo && (!w->n || w->e[0].time_s >= since_s)) return;
  uint32_t k = 0;
  for (uint32_t i = 0; i < w->n; i++)
    if (w->e[i].time_s >= since_s) w->e[k++] = w->e[i];
  if (k < w->n) { w->n = k; hash_build(w); }
  if (since_s > w->lo) w->lo = since_s;
  w->capped = 0;
}

/* Full at WIN_MAX with every entry within since: drop the oldest half. The
 * window stays complete from lo (every dropped entry is older than the new
 * lo: times never decrease along seq). */
static void drop_half(sqwin_t *w)
{
  uint32_t half = w->n / 2;
  int64_t last = w->e[half - 1].time_s;
  memmove(w->e, w->e + half, (w->n - half) * sizeof w->e[0]);
  w->n -= half;
  if (last + 1 > w->lo) w->lo = last + 1;
  w->capped = 1;
  hash_build(w);
}

int sq__win_push(sqwin_t **wp, const sqwin_ent_t *e, int64_t since_s)
{
  sqwin_t *w = *wp;
  if (e->time_s < w->lo && !w->capped) return 0; /* below the window: a later since >= lo cannot match it */
  if (w->n == w->cap) prune(w, since_s);
  if (w->n == w->cap && w->cap >= WIN_MAX) drop_half(w);
  if (w->n == w->cap) {
    uint32_t cap = w->cap * 2;
    sqwin_t *g = realloc(w, win_bytes(cap));
    if (!g) return -1;
    *wp = w = g;
    w->cap = cap;
    hash_build(w); /* the slots moved (they follow the entries) and doubled */
  }
  w->e[w->n] = *e;
  uint32_t *h = slots(w);
  if (h) hash_put(w, h, w->n);
  w->n++;
  return 0;
}
