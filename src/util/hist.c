/* hist.c — see hist.h. Bucket of v µs: v itself below 16; else with e the
 * index of v's top bit (4 … 26), 16·(e − 3) + the four bits below the top. */
#include "util/hist.h"

#include <assert.h>
#include <math.h>

#define SUB (1u << IMC_HIST_SUB_BITS)

static unsigned bucket_of(uint64_t us)
{
  if (us < SUB) return (unsigned)us;
  unsigned e = 63u - (unsigned)__builtin_clzll(us);
  if (e > IMC_HIST_SUB_BITS + IMC_HIST_OCTAVES - 1) return IMC_HIST_BUCKETS - 1;
  return SUB * (e - IMC_HIST_SUB_BITS + 1) + (unsigned)((us >> (e - IMC_HIST_SUB_BITS)) & (SUB - 1));
}

/* The largest µs value of bucket i. */
static uint64_t bucket_top(unsigned i)
{
  if (i < SUB) return i;
  unsigned e = i / SUB + IMC_HIST_SUB_BITS - 1, sub = i % SUB;
  return ((uint64_t)(SUB + sub + 1) << (e - IMC_HIST_SUB_BITS)) - 1;
}

void imc_hist_add(imc_hist_t *h, uint64_t ns)
{
  h->b[bucket_of(ns / 1000)]++;
  h->n++;
  if (ns > h->max_ns) h->max_ns = ns;
}

void imc_hist_add_n(imc_hist_t *h, uint64_t ns, uint32_t n)
{
  if (!n) return;
  h->b[bucket_of(ns / 1000)] += n;
  h->n += n;
  if (ns > h->max_ns) h->max_ns = ns;
}

void imc_hist_merge(imc_hist_t *into, const imc_hist_t *from)
{
  for (unsigned i = 0; i < IMC_HIST_BUCKETS; i++) into->b[i] += from->b[i];
  into->n += from->n;
  if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

uint64_t imc_hist_pct_us(const imc_hist_t *h, double pct)
{
  assert(pct > 0 && pct <= 100);
  if (!h->n) return 0;
  uint64_t rank = (uint64_t)ceil((double)h->n * pct / 100.0), seen = 0;
  if (rank < 1) rank = 1;
  uint64_t max_us = h->max_ns / 1000;
  for (unsigned i = 0; i < IMC_HIST_BUCKETS; i++) {
    if ((seen += h->b[i]) >= rank) {
      uint64_t top = i == IMC_HIST_BUCKETS - 1 ? max_us : bucket_top(i); /* the last bucket takes every larger value */
      return top < max_us ? top : max_us;
    }
  }
  return max_us;
}
