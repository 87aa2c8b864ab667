/* dueheap.c — see dueheap.h. Positions are 1-based: the parent of p is p / 2,
 * its children 2p and 2p + 1 (entry p lives at e[p - 1]). */
#include "util/dueheap.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>

#define DUEHEAP_MIN_CAP 64u

void dueheap_init(dueheap_t *h, dueheap_pos_fn pos_fn) { *h = (dueheap_t){ .pos_fn = pos_fn }; }

void dueheap_free(dueheap_t *h)
{
  free(h->e);
  h->e = NULL;
  h->len = h->cap = 0;
}

static int resize(dueheap_t *h, uint32_t cap)
{
  dueheap_ent_t *e = realloc(h->e, (size_t)cap * sizeof *e);
  if (!e) return IMC_E_NOMEM;
  h->e = e;
  h->cap = cap;
  return 0;
}

int dueheap_reserve(dueheap_t *h)
{
  if (h->len < h->cap) return 0;
  if (h->len >= DUEHEAP_MAX) return IMC_E_NOMEM;
  return resize(h, h->cap ? h->cap * 2 : DUEHEAP_MIN_CAP);
}

/* Put ent at pos and tell its item. */
static void place(dueheap_t *h, uint32_t pos, dueheap_ent_t ent)
{
  h->e[pos - 1] = ent;
  h->pos_fn(ent.item, pos);
}

/* The hole at pos takes ent: moved up past later parents, or down past
 * earlier children, until the order holds. */
static void settle(dueheap_t *h, uint32_t pos, dueheap_ent_t ent)
{
  while (pos > 1 && h->e[pos / 2 - 1].due > ent.due) {
    place(h, pos, h->e[pos / 2 - 1]);
    pos /= 2;
  }
  for (;;) {
    uint32_t kid = pos * 2;
    if (kid > h->len) break; /* len <= DUEHEAP_MAX: 2 * pos does not wrap */
    if (kid < h->len && h->e[kid].due < h->e[kid - 1].due) kid++;
    if (h->e[kid - 1].due >= ent.due) break;
    place(h, pos, h->e[kid - 1]);
    pos = kid;
  }
  place(h, pos, ent);
}

void dueheap_push(dueheap_t *h, void *item, uint32_t due, uint32_t tag)
{
  assert(h->len < h->cap);
  h->len++;
  settle(h, h->len, (dueheap_ent_t){ item, due, tag });
}

const dueheap_ent_t *dueheap_top(const dueheap_t *h) { return h->len ? &h->e[0] : NULL; }

const dueheap_ent_t *dueheap_at(const dueheap_t *h, uint32_t pos)
{
  return pos >= 1 && pos <= h->len ? &h->e[pos - 1] : NULL;
}

void dueheap_update(dueheap_t *h, uint32_t pos, uint32_t due)
{
  assert(pos >= 1 && pos <= h->len);
  dueheap_ent_t ent = h->e[pos - 1];
  ent.due = due;
  settle(h, pos, ent);
}

dueheap_ent_t dueheap_remove(dueheap_t *h, uint32_t pos)
{
  assert(pos >= 1 && pos <= h->len);
  dueheap_ent_t out = h->e[pos - 1];
  dueheap_ent_t last = h->e[--h->len];
  if (pos <= h->len) settle(h, pos, last); /* the last entry fills the hole */
  h->pos_fn(out.item, 0);
  /* a quarter full: halve (a failed shrink keeps the larger array) */
  if (h->cap > DUEHEAP_MIN_CAP && h->len < h->cap / 4) (void)resize(h, h->cap / 2);
  return out;
}
