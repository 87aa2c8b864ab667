/* flush.c — the server's periodic write of the meter's live figures (REST
 * calls, peak connections, bandwidth peaks): one store-writer job per call,
 * every change in it applied in the writer's transaction; on failure the
 * changes return to the meter. Loop thread. */
#include "meter/meter.h"
#include "store/store_writer.h"
#include "util/err.h"

#include <stdlib.h>

typedef struct flush_job {
  store_job_t job;
  meter_t *m;
  size_t n, cap;
  meter_delta_t *d;
  int nomem;
} flush_job_t;

static void collect(void *ud, const meter_delta_t *d)
{
  flush_job_t *j = ud;
  if (j->n == j->cap) {
    size_t cap = j->cap ? j->cap * 2 : 16;
    meter_delta_t *n = realloc(j->d, cap * sizeof *n);
    if (!n) { j->nomem = 1; meter_unflush(j->m, d); return; }
    j->d = n;
    j->cap = cap;
  }
  j->d[j->n++] = *d;
}

static int flush_run(store_t *s, void *arg)
{
  flush_job_t *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    const meter_delta_t *d = &j->d[i];
    int rc = d->additive ? store_usage_add(s, d->app, d->day, d->metric, d->value)
                         : store_usage_max(s, d->app, d->day, d->metric, d->value);
    if (rc) return rc;
  }
  return 0;
}

static void flush_done(void *arg, int rc)
{
  flush_job_t *j = arg;
  if (rc) for (size_t i = 0; i < j->n; i++) meter_unflush(j->m, &j->d[i]);
  free(j->d);
  free(j);
}

int meter_flush_submit(meter_t *m, store_writer_t *w, int64_t now_s)
{
  flush_job_t *j = calloc(1, sizeof *j);
  if (!j) return IMC_E_NOMEM;
  j->m = m;
  meter_flush(m, now_s, collect, j);
  int rc = j->nomem ? IMC_E_NOMEM : 0;
  if (!j->n) { free(j); return rc; }
  j->job.run = flush_run;
  j->job.done = flush_done;
  j->job.arg = j;
  int sub = store_writer_submit(w, &j->job);
  if (sub) flush_done(j, sub); /* queue full: the figures stay pending for the next flush */
  return rc ? rc : sub;
}
