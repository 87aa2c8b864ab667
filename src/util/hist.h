/* hist.h — latency histograms: fixed memory, O(1) add, percentiles within
 * 1/16 of an octave (about 4 %).
 *
 * A value in nanoseconds is counted in microseconds, in log-linear buckets:
 * 0–15 µs one bucket per µs, then 16 buckets per power of two up to 2^26 µs
 * (67 s; larger values land in the last bucket, the exact maximum is kept
 * apart). Adding is a few shifts and an increment, cheap enough to run for
 * every job of every group commit in production. A histogram is plain data
 * owned by its caller; one thread writes it at a time (the caller's lock or
 * thread confinement), imc_hist_merge combines them. */
#ifndef IMC_UTIL_HIST_H
#define IMC_UTIL_HIST_H

#include <stdint.h>

#define IMC_HIST_SUB_BITS 4
#define IMC_HIST_OCTAVES 23 /* 2^4 … 2^26 µs */
#define IMC_HIST_BUCKETS ((1 << IMC_HIST_SUB_BITS) * (IMC_HIST_OCTAVES + 1))

typedef struct imc_hist {
  uint64_t n;                        /* values added */
  uint64_t max_ns;                   /* the largest, exact */
  uint32_t b[IMC_HIST_BUCKETS];
} imc_hist_t;

/* Count one value (ns). */
void imc_hist_add(imc_hist_t *h, uint64_t ns);
/* Count one value (ns) n times: the same as n imc_hist_add calls, in one
 * bucket computation (n 0: nothing). */
void imc_hist_add_n(imc_hist_t *h, uint64_t ns, uint32_t n);
/* Add every count of `from` to `into`. */
void imc_hist_merge(imc_hist_t *into, const imc_hist_t *from);
/* The pct-th percentile (0 < pct ≤ 100) in µs: the upper bound of the bucket
 * holding the value of rank ceil(n·pct/100), never above the maximum; 0 when
 * empty. */
uint64_t imc_hist_pct_us(const imc_hist_t *h, double pct);

#endif
