/* uset.c — exact sets of dense user numbers (meter.h meter_uset_t).
 *
 * A set starts as a CRoaring bitmap (small for a sparse set of a big app)
 * and switches once, never back, to a flat bitset when the flat form costs no
 * more than ~2 bytes per member — the size of a roaring array container
 * entry — i.e. card ≥ (max+1)/16, and card ≥ 4096 so tiny sets stay small.
 * The flat form grows to the next power of two words covering a new
 * maximum. The cardinality is kept incrementally, so a count is O(1). */
#include "meter/meter.h"
#include "util/err.h"

#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_MIN_CARD 4096

static int grow(meter_uset_t *s, uint32_t x)
{
  uint64_t need = (uint64_t)x / 64 + 1, n = s->nwords ? s->nwords : 64;
  while (n < need) n *= 2;
  uint64_t *b = realloc(s->bits, n * sizeof *b);
  if (!b) return IMC_E_NOMEM;
  memset(b + s->nwords, 0, (n - s->nwords) * sizeof *b);
  s->bits = b;
  s->nwords = (uint32_t)n;
  return 0;
}

static int to_flat(meter_uset_t *s)
{
  roaring_bitmap_t *r = s->roaring;
  uint32_t max = roaring_bitmap_maximum(r);
  if (grow(s, max)) return IMC_E_NOMEM;
  roaring_uint32_iterator_t *it = roaring_create_iterator(r);
  if (!it) return IMC_E_NOMEM;
  for (; it->has_value; roaring_advance_uint32_iterator(it)) s->bits[it->current_value >> 6] |= 1ull << (it->current_value & 63);
  roaring_free_uint32_iterator(it);
  roaring_bitmap_free(r);
  s->roaring = NULL;
  return 0;
}

int meter_uset_add(meter_uset_t *s, uint32_t x)
{
  if (s->bits) {
    if (x >= (uint64_t)s->nwords * 64 && grow(s, x)) return IMC_E_NOMEM;
    uint64_t bit = 1ull << (x & 63), *w = &s->bits[x >> 6];
    if (*w & bit) return 0;
    *w |= bit;
    s->card++;
    return 1;
  }
  if (!s->roaring && !(s->roaring = roaring_bitmap_create())) return IMC_E_NOMEM;
  if (!roaring_bitmap_add_checked(s->roaring, x)) return 0;
  s->card++;
  if (s->card >= FLAT_MIN_CARD && (s->card & 1023) == 0 &&
      s->card * 16 >= (uint64_t)roaring_bitmap_maximum(s->roaring) + 1)
    to_flat(s); /* on NOMEM the set simply stays roaring: still exact */
  return 1;
}

int meter_uset_has(const meter_uset_t *s, uint32_t x)
{
  if (s->bits) return x < (uint64_t)s->nwords * 64 && (s->bits[x >> 6] >> (x & 63) & 1);
  return s->roaring && roaring_bitmap_contains(s->roaring, x);
}

int meter_uset_is_flat(const meter_uset_t *s) { return s->bits != NULL; }

size_t meter_uset_bytes(const meter_uset_t *s)
{
  if (s->bits) return (size_t)s->nwords * sizeof(uint64_t);
  return s->roaring ? roaring_bitmap_size_in_bytes(s->roaring) : 0;
}

void meter_uset_free(meter_uset_t *s)
{
  free(s->bits);
  if (s->roaring) roaring_bitmap_free(s->roaring);
  memset(s, 0, sizeof *s);
}
