/* groups.c — daily group figures from the groups' lives (M-4, P-22). Pure.
 *
 * Groups(t) is a step function: +1 at each creation, −1 at each dissolution.
 * Sorting the steps by time (dissolution first at equal times) and walking
 * them gives, per natural day, the count at 00:00:00 and after every step of
 * the day; the day's peak is their maximum. */
#include "meter/meter.h"
#include "util/date.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct step { int64_t t; int delta; } step_t;

static int step_cmp(const void *a, const void *b)
{
  const step_t *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->delta - y->delta; /* −1 before +1 */
}

int meter_groups_days(const meter_group_iv_t *iv, size_t n, int live, int64_t first_day, int ndays, int tz_offset_s,
                      meter_group_day_t *out, int64_t *accumulated)
{
  memset(out, 0, (size_t)(ndays > 0 ? ndays : 0) * sizeof *out);
  *accumulated = 0;
  if (ndays <= 0 || !n) return 0; /* no lives: every figure 0 (most apps of a bill run) */
  step_t *st = malloc((2 * n + 1) * sizeof *st);
  if (!st) return IMC_E_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!iv[i].live != !live || iv[i].dissolved_s <= iv[i].created_s) continue; /* never existed */
    st[k++] = (step_t){ iv[i].created_s, +1 };
    if (iv[i].dissolved_s != INT64_MAX) st[k++] = (step_t){ iv[i].dissolved_s, -1 };
  }
  qsort(st, k, sizeof *st, step_cmp);
  int64_t count = 0, created_total = 0;
  size_t j = 0;
  int64_t start = imc_day_start(first_day, tz_offset_s);
  for (; j < k && st[j].t < start; j++) { count += st[j].delta; if (st[j].delta > 0) created_total++; }
  for (int d = 0; d < ndays; d++) {
    int64_t end = imc_day_start(first_day + d + 1, tz_offset_s);
    meter_group_day_t *o = &out[d];
    o->peak = count;
    for (; j < k && st[j].t < end; j++) {
      count += st[j].delta;
      if (st[j].delta > 0) { o->created++; created_total++; }
      o->net_new += st[j].delta;
      if (count > o->peak) o->peak = count;
    }
    o->end = count;
  }
  *accumulated = created_total;
  free(st);
  return 0;
}
