/* u64map.c — see u64map.h.
 *
 * Growth in steps (as src/tenant/registry.c's accounts table; Redis's dict
 * rehashes a few buckets per operation, the idea, not its code). The moves
 * begin at an empty old slot and go on in slot order; a step ends only just
 * after an empty slot, so an old cluster is moved whole or not at all and a
 * moved slot is left empty: a probe of the old table from any key's home
 * still ends at the right place (a key whose home was moved finds an empty
 * slot at once). The new table fills from 0.35 to 0.7 while the old one's
 * cap slots are moved, U64MAP_MOVE_STEP ≥ 2 per put: the moves end before
 * the next growth (which would finish them first if they had not).
 *
 * A walk of one table starts at an empty slot and goes once around it: no
 * cluster straddles the start, so a backward shift from a removal at the
 * walk's position only brings later entries of the same cluster to that
 * position or after it, and re-reading the position visits each once. */
#include "util/u64map.h"
#include "util/err.h"

#include <stdlib.h>

struct u64map_move {
  u64map_slot_t *old; size_t old_cap; /* the table being moved out */
  size_t pos, left;                   /* the next old slot to move, and how many are left */
};

static size_t slot_of(uint64_t k, size_t cap)
{
  k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; /* murmur3 finaliser */
  k *= 0xc4ceb9fe1a85ec53ULL; k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

void u64map_init(u64map_t *m) { m->tab = NULL; m->tab_cap = m->len = 0; m->mv = NULL; }

void u64map_free(u64map_t *m)
{
  if (m->mv) free(m->mv->old);
  free(m->mv);
  free(m->tab);
  u64map_init(m);
}

void u64map_free_each(u64map_t *m, void (*fn)(void *val))
{
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(m, &it); u64map_next(m, &it, NULL, &v);) fn(v);
  u64map_free(m);
}

/* Index of key in a table (cap ≥ 1), or of the empty slot where its probe ends. */
static size_t table_probe(const u64map_slot_t *t, size_t cap, uint64_t key)
{
  size_t i = slot_of(key, cap);
  while (t[i].key && t[i].key != key) i = (i + 1) & (cap - 1);
  return i;
}

/* Index of key in a table, or cap when absent. */
static size_t table_find(const u64map_slot_t *t, size_t cap, uint64_t key)
{
  if (!cap) return 0;
  size_t i = table_probe(t, cap, key);
  return t[i].key ? i : cap;
}

static void table_place(u64map_slot_t *t, size_t cap, u64map_slot_t v)
{
  size_t j = slot_of(v.key, cap);
  while (t[j].key) j = (j + 1) & (cap - 1);
  t[j] = v;
}

/* Remove slot i by backward shift (keeps probe chains intact without
 * tombstones; stays inside i's cluster). */
static void table_remove(u64map_slot_t *t, size_t cap, size_t i)
{
  size_t j = i;
  for (;;) {
    j = (j + 1) & (cap - 1);
    if (!t[j].key) break;
    size_t home = slot_of(t[j].key, cap);
    if (((j - home) & (cap - 1)) >= ((j - i) & (cap - 1))) { t[i] = t[j]; i = j; }
  }
  t[i].key = 0;
  t[i].val = NULL;
}

void *u64map_get(const u64map_t *m, uint64_t key)
{
  if (!key) return NULL;
  size_t i = table_find(m->tab, m->tab_cap, key);
  if (i < m->tab_cap) return m->tab[i].val;
  if (!m->mv) return NULL;
  i = table_find(m->mv->old, m->mv->old_cap, key);
  return i < m->mv->old_cap ? m->mv->old[i].val : NULL;
}

/* Move old slots into the new table in order, at least `want`, then on to
 * the end of the cluster; frees the old table once every slot moved. */
static void move_some(u64map_t *m, size_t want)
{
  struct u64map_move *mv = m->mv;
  u64map_slot_t *old = mv->old, *t = m->tab;
  size_t pos = mv->pos, left = mv->left, omask = mv->old_cap - 1, cap = m->tab_cap, n = 0;
  while (left) { /* locals: the slots' stores could alias the fields */
    u64map_slot_t *o = &old[pos];
    int empty = !o->key;
    if (!empty) { table_place(t, cap, *o); o->key = 0; o->val = NULL; }
    pos = (pos + 1) & omask;
    left--;
    n++;
    if (empty && n >= want) break;
  }
  mv->pos = pos;
  mv->left = left;
  if (!left) { free(old); free(mv); m->mv = NULL; }
}

/* Double the table: the full one becomes the old one, moved a step at a
 * time from an empty slot on (so the cluster that wraps around the end
 * moves whole). IMC_E_NOMEM leaves the map as it was. */
static int grow(u64map_t *m)
{
  if (m->mv) move_some(m, SIZE_MAX); /* not reached with U64MAP_MOVE_STEP ≥ 2 */
  size_t ncap = m->tab_cap ? m->tab_cap * 2 : 16;
  u64map_slot_t *nt = calloc(ncap, sizeof *nt);
  struct u64map_move *mv = m->tab_cap ? malloc(sizeof *mv) : NULL;
  if (!nt || (m->tab_cap && !mv)) { free(nt); free(mv); return IMC_E_NOMEM; }
  if (mv) {
    size_t e = 0;
    while (m->tab[e].key) e++; /* load ≤ 0.7: there is one */
    *mv = (struct u64map_move){ m->tab, m->tab_cap, e, m->tab_cap };
    m->mv = mv;
  }
  m->tab = nt;
  m->tab_cap = ncap;
  return 0;
}

int u64map_put(u64map_t *m, uint64_t key, void *val)
{
  if (!key) return IMC_E_INVAL;
  if (m->mv) move_some(m, U64MAP_MOVE_STEP);
  size_t i = m->tab_cap ? table_probe(m->tab, m->tab_cap, key) : 0;
  if (m->tab_cap && m->tab[i].key) { m->tab[i].val = val; return 0; }
  size_t j;
  if (m->mv && (j = table_find(m->mv->old, m->mv->old_cap, key)) < m->mv->old_cap) { m->mv->old[j].val = val; return 0; }
  if ((m->len + 1) * 10 > m->tab_cap * 7) {
    int rc = grow(m);
    if (rc) return rc;
    i = table_probe(m->tab, m->tab_cap, key);
  }
  m->tab[i] = (u64map_slot_t){ key, val }; /* i: the empty slot that ended key's probe */
  m->len++;
  return 0;
}

void *u64map_del(u64map_t *m, uint64_t key)
{
  if (!key) return NULL;
  if (m->mv) move_some(m, U64MAP_MOVE_STEP);
  u64map_slot_t *t = m->tab;
  size_t cap = m->tab_cap, i = table_find(t, cap, key);
  if (i == cap && m->mv) { t = m->mv->old; cap = m->mv->old_cap; i = table_find(t, cap, key); }
  if (i == cap) return NULL;
  void *val = t[i].val;
  table_remove(t, cap, i);
  m->len--;
  return val;
}

size_t u64map_bytes(const u64map_t *m)
{
  return (m->tab_cap + (m->mv ? m->mv->old_cap : 0)) * sizeof(u64map_slot_t);
}

size_t u64map_moves_left(const u64map_t *m) { return m->mv ? m->mv->left : 0; }

/* ---- walks ---------------------------------------------------------------------- */

/* Table n of the walk (0 the new one, 1 the old one), or NULL. */
static u64map_slot_t *walk_table(const u64map_t *m, int n, size_t *cap)
{
  if (n == 0) { *cap = m->tab_cap; return m->tab; }
  if (n == 1 && m->mv) { *cap = m->mv->old_cap; return m->mv->old; }
  *cap = 0;
  return NULL;
}

static void walk_begin(const u64map_t *m, u64map_iter_t *it, int n)
{
  size_t cap;
  u64map_slot_t *t = walk_table(m, n, &cap);
  it->table = n;
  it->i = 0;
  it->start = 0;
  if (t) while (t[it->start].key) it->start++; /* load ≤ 0.7: there is an empty slot */
}

void u64map_iter_init(const u64map_t *m, u64map_iter_t *it) { walk_begin(m, it, 0); }

int u64map_next(const u64map_t *m, u64map_iter_t *it, uint64_t *key, void **val)
{
  while (it->table < 2) {
    size_t cap;
    u64map_slot_t *t = walk_table(m, it->table, &cap);
    while (it->i < cap) {
      const u64map_slot_t *s = &t[(it->start + it->i++) & (cap - 1)];
      if (!s->key) continue;
      if (key) *key = s->key;
      if (val) *val = s->val;
      return 1;
    }
    walk_begin(m, it, it->table + 1);
  }
  return 0;
}

void *u64map_iter_del(u64map_t *m, u64map_iter_t *it)
{
  size_t cap;
  u64map_slot_t *t = walk_table(m, it->table, &cap);
  if (!t || !it->i) return NULL;
  size_t i = (it->start + it->i - 1) & (cap - 1);
  if (!t[i].key) return NULL;
  void *val = t[i].val;
  table_remove(t, cap, i);
  it->i--; /* read this position again: a later entry of its cluster may have shifted into it */
  m->len--;
  return val;
}
