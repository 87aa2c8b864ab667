/* group_set.c — the compact membership sets of groups (gset_t, group_int.h):
 * 8-byte slots, key (user number, or session id for live groups) in the
 * high 32 bits and a payload in the low 32, linear probing over any
 * capacity (multiply-shift), backward-shift deletion. Loop thread only.
 *
 * A resize (1.5x past a load of 3/4, half below 1/4) is spread over later
 * calls as u64map's growth is (src/util/u64map.c): the full table becomes
 * the old one, keys go to the new one, and each put or removal moves at
 * least GSET_MOVE_STEP old slots, on to the end of their cluster, starting
 * from an empty slot: an old cluster moves whole or not at all and a moved
 * slot is left empty, so a probe of the old table still ends at the right
 * place. Every key is in exactly one table; lookups try the new one, then
 * the old. A one-shot resize of a live room of 100,000 sessions rehashed
 * every session inside one join, on the loop. The moves end before the next
 * resize can be due (the nearest, a growth right after a shrink, is 1/8 of
 * the old capacity in puts away; the moves take 1/GSET_MOVE_STEP of it);
 * if one ever found them unfinished it would finish them first. */
#include "im/group_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define GSET_MOVE_STEP 64 /* old slots moved per put or removal while a resize lasts (≥ 16, see above) */

struct gset_move {
  uint64_t *old; uint32_t old_cap; /* the table being moved out */
  uint32_t pos, left;              /* the next old slot to move, and how many are left */
};

/* murmur3's finalizer (full avalanche: user numbers are dense and regular,
 * a plain multiplicative hash clusters under linear probing), then
 * multiply-shift onto any capacity. */
static uint32_t slot_of(uint32_t cap, uint32_t key)
{
  key ^= key >> 16;
  key *= 0x85ebca6bu;
  key ^= key >> 13;
  key *= 0xc2b2ae35u;
  key ^= key >> 16;
  return (uint32_t)(((uint64_t)key * cap) >> 32);
}

static uint32_t next(uint32_t i, uint32_t cap) { return i + 1 == cap ? 0 : i + 1; }

/* Index of key in a table (cap ≥ 1), or of the empty slot where its probe ends. */
static uint32_t probe(const uint64_t *t, uint32_t cap, uint32_t key)
{
  uint32_t i = slot_of(cap, key);
  while (t[i] && (uint32_t)(t[i] >> 32) != key) i = next(i, cap);
  return i;
}

static void place(uint64_t *t, uint32_t cap, uint64_t v)
{
  uint32_t j = slot_of(cap, (uint32_t)(v >> 32));
  while (t[j]) j = next(j, cap);
  t[j] = v;
}

/* Remove slot i by backward shift (linear probing, any capacity; stays in i's cluster). */
static void remove_at(uint64_t *t, uint32_t cap, uint32_t i)
{
  uint32_t j = i;
  for (;;) {
    j = next(j, cap);
    if (!t[j]) break;
    uint32_t home = slot_of(cap, (uint32_t)(t[j] >> 32));
    /* move j into the hole at i unless its home lies cyclically in (i, j] */
    int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (in_range) continue;
    t[i] = t[j];
    i = j;
  }
  t[i] = 0;
}

/* Move old slots in order, at least `want`, then on to the end of the
 * cluster; frees the old table once every slot moved. */
static void move_some(gset_t *s, uint32_t want)
{
  struct gset_move *mv = s->mv;
  uint64_t *old = mv->old, *t = s->tab;
  uint32_t pos = mv->pos, left = mv->left, ocap = mv->old_cap, cap = s->cap, n = 0;
  while (left) {
    uint64_t v = old[pos];
    if (v) { place(t, cap, v); old[pos] = 0; }
    pos = next(pos, ocap);
    left--;
    n++;
    if (!v && n >= want) break;
  }
  mv->pos = pos;
  mv->left = left;
  if (!left) { free(old); free(mv); s->mv = NULL; }
}

/* Begin moving the set into a table of cap slots. IMC_E_NOMEM: unchanged. */
static int gset_resize(gset_t *s, uint32_t cap)
{
  if (s->mv) move_some(s, UINT32_MAX); /* not reached: see the top */
  uint64_t *n = calloc(cap, sizeof *n);
  struct gset_move *mv = s->len ? malloc(sizeof *mv) : NULL;
  if (!n || (s->len && !mv)) { free(n); free(mv); return IMC_E_NOMEM; }
  if (mv) {
    uint32_t e = 0;
    while (s->tab[e]) e++; /* load ≤ 3/4: there is one */
    *mv = (struct gset_move){ s->tab, s->cap, e, s->cap };
    s->mv = mv;
  } else {
    free(s->tab);
  }
  s->tab = n;
  s->cap = cap;
  return 0;
}

int gset_put(gset_t *s, uint32_t key, uint32_t payload)
{
  uint64_t v = (uint64_t)key << 32 | payload;
  if (s->mv) move_some(s, GSET_MOVE_STEP);
  uint32_t i = s->cap ? probe(s->tab, s->cap, key) : 0;
  if (s->cap && s->tab[i]) { s->tab[i] = v; return 0; }
  if (s->mv) {
    uint32_t j = probe(s->mv->old, s->mv->old_cap, key);
    if (s->mv->old[j]) { s->mv->old[j] = v; return 0; }
  }
  if ((uint64_t)(s->len + 1) * 4 > (uint64_t)s->cap * 3) {
    if (gset_resize(s, s->cap < 8 ? 8 : s->cap + s->cap / 2)) return IMC_E_NOMEM;
    i = probe(s->tab, s->cap, key);
  }
  s->tab[i] = v;
  s->len++;
  return 0;
}

uint32_t gset_get(const gset_t *s, uint32_t key)
{
  if (!s->cap) return 0;
  uint32_t i = probe(s->tab, s->cap, key);
  if (s->tab[i]) return (uint32_t)s->tab[i];
  if (!s->mv) return 0;
  i = probe(s->mv->old, s->mv->old_cap, key);
  return (uint32_t)s->mv->old[i];
}

int gset_del(gset_t *s, uint32_t key)
{
  if (!s->cap) return 0;
  if (s->mv) move_some(s, GSET_MOVE_STEP);
  uint64_t *t = s->tab;
  uint32_t cap = s->cap, i = probe(t, cap, key);
  if (!t[i] && s->mv) { t = s->mv->old; cap = s->mv->old_cap; i = probe(t, cap, key); }
  if (!t[i]) return 0;
  remove_at(t, cap, i);
  s->len--;
  if (s->cap > 8 && (uint64_t)s->len * 4 < s->cap) gset_resize(s, s->cap / 2 < 8 ? 8 : s->cap / 2); /* OOM: keep */
  return 1;
}

void gset_free(gset_t *s)
{
  if (s->mv) free(s->mv->old);
  free(s->mv);
  free(s->tab);
  memset(s, 0, sizeof *s);
}

size_t gset_bytes(const gset_t *s) { return ((size_t)s->cap + (s->mv ? s->mv->old_cap : 0)) * sizeof(uint64_t); }

uint32_t gset_moves_left(const gset_t *s) { return s->mv ? s->mv->left : 0; }

int gset_next(const gset_t *s, uint64_t *pos, uint64_t *v)
{
  for (;;) {
    uint64_t p = (*pos)++;
    if (p < s->cap) { if (s->tab[p]) { *v = s->tab[p]; return 1; } continue; }
    p -= s->cap;
    if (!s->mv || p >= s->mv->old_cap) { (*pos)--; return 0; }
    if (s->mv->old[p]) { *v = s->mv->old[p]; return 1; }
  }
}
