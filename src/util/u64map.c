/* u64map.c — see u64map.h. */
#include "util/u64map.h"
#include "util/err.h"

#include <stdlib.h>

static size_t slot_of(uint64_t k, size_t cap)
{
  k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; /* murmur3 finaliser */
  k *= 0xc4ceb9fe1a85ec53ULL; k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

void u64map_init(u64map_t *m) { m->slots = NULL; m->cap = m->len = 0; }

void u64map_free(u64map_t *m) { free(m->slots); u64map_init(m); }

void *u64map_get(const u64map_t *m, uint64_t key)
{
  if (!m->cap || !key) return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (m->slots[i].key == key) return m->slots[i].val;
    if (!m->slots[i].key) return NULL;
  }
}

static int grow(u64map_t *m)
{
  size_t ncap = m->cap ? m->cap * 2 : 16;
  u64map_slot_t *ns = calloc(ncap, sizeof *ns);
  if (!ns) return IMC_E_NOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    size_t j = slot_of(m->slots[i].key, ncap);
    while (ns[j].key) j = (j + 1) & (ncap - 1);
    ns[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return 0;
}

int u64map_put(u64map_t *m, uint64_t key, void *val)
{
  if (!key) return IMC_E_INVAL;
  if ((m->len + 1) * 10 > m->cap * 7) { int rc = grow(m); if (rc) return rc; }
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].key && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].key) { m->slots[i].key = key; m->len++; }
  m->slots[i].val = val;
  return 0;
}

void *u64map_del(u64map_t *m, uint64_t key)
{
  if (!m->cap || !key) return NULL;
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].key != key) {
    if (!m->slots[i].key) return NULL;
    i = (i + 1) & (m->cap - 1);
  }
  void *val = m->slots[i].val;
  /* backward-shift deletion keeps probe chains intact without tombstones */
  size_t j = i;
  for (;;) {
    j = (j + 1) & (m->cap - 1);
    if (!m->slots[j].key) break;
    size_t home = slot_of(m->slots[j].key, m->cap);
    if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) { m->slots[i] = m->slots[j]; i = j; }
  }
  m->slots[i].key = 0;
  m->slots[i].val = NULL;
  m->len--;
  return val;
}
