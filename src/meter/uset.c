/* uset.c — exact sets of dense user numbers (meter.h meter_uset_t).
 *
 * Two forms, chosen by density and size:
 *  - a flat bitset (one bit per user number up to the largest seen, grown by
 *    half, in cache lines): a few ns per add, about max/8 bytes;
 *  - a CRoaring bitmap for a sparse set of a big app (few users of many
 *    numbers): ~2 bytes per member while its containers are arrays.
 * A set is flat while its flat form is at most FLAT_FREE_BYTES (apps with
 * fewer than 32,768 user numbers are always flat) or costs no more than ~2
 * bytes per member (card ≥ (max+1)/16); otherwise it is roaring. Switching
 * either way copies the members; the cardinality is kept incrementally, so a
 * count is O(1). meter_uset_init_flat starts a set flat (the meter does so
 * for a day whose previous day ended flat: a big app stays big). */
#include "meter/meter.h"
#include "util/err.h"

#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_FREE_BYTES 4096

/* Cover x: at least 1.5 × the current words (amortised growth), rounded up
 * to 8 words (a cache line). */
static int grow(meter_uset_t *s, uint32_t x)
{
  uint64_t need = (uint64_t)x / 64 + 1, n = (uint64_t)s->nwords + s->nwords / 2;
  if (n < need) n = need;
  n = (n + 7) & ~7ull;
  uint64_t *b = realloc(s->bits, n * sizeof *b);
  if (!b) return IMC_E_NOMEM;
  memset(b + s->nwords, 0, (n - s->nwords) * sizeof *b);
  s->bits = b;
  s->nwords = (uint32_t)n;
  return 0;
}

/* Would a flat set holding numbers up to max be acceptable at card members? */
static int flat_ok(uint64_t card, uint64_t max)
{
  return (max + 1) / 8 <= FLAT_FREE_BYTES || card * 16 >= max + 1;
}

static int to_flat(meter_uset_t *s, uint32_t max)
{
  if (grow(s, max)) return IMC_E_NOMEM;
  roaring_uint32_iterator_t *it = roaring_create_iterator(s->roaring);
  if (!it) { free(s->bits); s->bits = NULL; s->nwords = 0; return IMC_E_NOMEM; }
  for (; it->has_value; roaring_advance_uint32_iterator(it)) s->bits[it->current_value >> 6] |= 1ull << (it->current_value & 63);
  roaring_free_uint32_iterator(it);
  roaring_bitmap_free(s->roaring);
  s->roaring = NULL;
  return 0;
}

static int to_roaring(meter_uset_t *s)
{
  roaring_bitmap_t *r = roaring_bitmap_create();
  if (!r) return IMC_E_NOMEM;
  for (uint32_t w = 0; w < s->nwords; w++)
    for (uint64_t b = s->bits[w]; b; b &= b - 1) roaring_bitmap_add(r, w * 64 + (uint32_t)__builtin_ctzll(b));
  free(s->bits);
  s->bits = NULL;
  s->nwords = 0;
  s->roaring = r;
  return 0;
}

int meter_uset_init_flat(meter_uset_t *s, uint32_t max)
{
  memset(s, 0, sizeof *s);
  return grow(s, max);
}

static int add_roaring(meter_uset_t *s, uint32_t x)
{
  if (!s->roaring && !(s->roaring = roaring_bitmap_create())) return IMC_E_NOMEM;
  if (!roaring_bitmap_add_checked(s->roaring, x)) return 0;
  s->card++;
  if ((s->card & 1023) == 0) {
    uint32_t max = roaring_bitmap_maximum(s->roaring);
    if (flat_ok(s->card, max)) to_flat(s, max); /* on NOMEM it stays roaring: still exact */
  }
  return 1;
}

int meter_uset_add(meter_uset_t *s, uint32_t x)
{
  if (s->bits) {
    if (x >= (uint64_t)s->nwords * 64) {
      if (!flat_ok(s->card + 1, x)) { /* one far number in a small flat set: go sparse */
        if (to_roaring(s)) return IMC_E_NOMEM;
        return add_roaring(s, x);
      }
      if (grow(s, x)) return IMC_E_NOMEM;
    }
    uint64_t bit = 1ull << (x & 63), *w = &s->bits[x >> 6];
    if (*w & bit) return 0;
    *w |= bit;
    s->card++;
    return 1;
  }
  if (!s->roaring && flat_ok(1, x)) { /* empty: start flat when small */
    if (grow(s, x)) return IMC_E_NOMEM;
    return meter_uset_add(s, x);
  }
  return add_roaring(s, x);
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
