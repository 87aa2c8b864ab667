/* group_due.c — the group_dissolved events of a large group, appended after
 * its dissolution in bounded writer jobs (docs/decisions/groups.md §5).
 *
 * A dissolution of more members than group_event_chunk writes, in its own
 * transaction, rows of grp_events_due (store_grp_due_put: the payload and at
 * most group_event_chunk members each) instead of the events. Then one chain
 * of writer jobs, one at a time, drains the table oldest row first: each job
 * reads the row, appends one inbox event per member whose account still
 * exists (read in that job: a deletion meanwhile is seen) and deletes the row
 * in the same transaction, so a chunk is appended exactly once; its
 * completion hands the events to the live sessions and submits the next job,
 * until a job finds the table empty. Other writer jobs run between the
 * chunks. A crash leaves the rows not yet drained: the next start finds them
 * (im_groups_load) and its chain appends them. A job that fails or is
 * refused (a full writer queue) stops the chain with its rows kept: the
 * server's tick starts it again (im_groups_due_retry). A stop (SIGTERM)
 * drives the chain to the end before the writer stops (im_groups_due_flush):
 * a clean stop leaves no chunk for the next start; only a failed job, a
 * chain refused IM_GROUPS_DUE_FLUSH_TRIES times in a row without a chunk
 * appended, group jobs in flight that none completes in
 * IM_GROUPS_DUE_FLUSH_WAITS calls (a WARN names the chunks left), a second
 * signal or a crash leave rows, which the next start appends.
 *
 * Loop thread, except run_due (writer thread). */
#include "im/group_int.h"
#include "store/store_grp.h"
#include "util/err.h"
#include "util/log.h"

static int run_due(store_t *s, gjob_t *j)
{
  store_grp_due_t d;
  grp__apply_free(j);
  j->value = 0;
  int rc = store_grp_due_first(s, &d);
  if (rc == IMC_E_NOTFOUND) return 0;
  if (rc) return rc;
  j->value = 1;
  j->sdkappid = d.sdkappid;
  rc = grp__due_set(j, &d); /* takes d's payload and users */
  if (!rc) rc = grp__apply_run(s, j);
  if (!rc) rc = store_grp_due_del(s, d.id);
  store_grp_due_free(&d);
  return rc;
}

static void done_due(gjob_t *j, int rc)
{
  im_groups_t *G = j->G;
  int more = !rc && j->value;
  G->due_running = 0;
  if (!rc && !j->value) G->due_found = 0; /* drained */
  if (rc && G->due_flushing && rc != IMC_E_OVERLOADED) {
    G->due_err = rc;
    IMC_WARN("group", "msg=\"appending due group events failed while stopping: the next start appends them\" err=%s"
             " chunks=%lld", imc_err_name(rc), (long long)G->due_chunks);
  } else if (rc && G->due_flushing) {
    G->due_last_rc = rc; /* a full queue: the next im_groups_due_flush tries again, a bounded number of times */
  } else if (rc) {
    IMC_WARN("group", "msg=\"appending due group events stopped: retried by the tick\" err=%s", imc_err_name(rc));
  } else if (more) {
    grp__apply_deliver(j);
    G->st.event_chunks++;
    if (G->due_chunks > 0) G->due_chunks--;
    G->due_tries = 0; /* progress */
  }
  grp__finish(j, rc);
  if (more) grp__due_start(G);
}

void im_groups_due_retry(im_groups_t *G)
{
  if (G->due_found) grp__due_start(G);
}

int im_groups_due_flush(im_groups_t *G)
{
  G->due_flushing = 1;
  if (G->due_err) return 0;
  if (G->in_flight) {
    /* the chain's job, or a dissolution that may record events due: waited for while some group job completes
     * at least once every IM_GROUPS_DUE_FLUSH_WAITS calls; a job that never completes (a stuck writer or reader)
     * ends the wait, and what is due waits for the next start */
    if (G->jobs_done != G->due_done_seen) {
      G->due_done_seen = G->jobs_done;
      G->due_waits = 0;
    }
    if (++G->due_waits <= IM_GROUPS_DUE_FLUSH_WAITS) return 1;
    G->due_err = IMC_E_TIMEOUT;
    IMC_WARN("group", "msg=\"group jobs still running while stopping: not waited for; the next start appends the"
             " events due\" jobs=%zu chain=%d calls=%d chunks=%lld", G->in_flight, G->due_running, G->due_waits - 1,
             (long long)G->due_chunks);
    return 0;
  }
  if (!G->due_found) return 0;
  /* the chain stopped: refused (a full queue, IMC_E_OVERLOADED), or no memory for its job. Started again
   * at most IM_GROUPS_DUE_FLUSH_TRIES times in a row without a chunk appended, then left to the next start */
  if (G->due_tries >= IM_GROUPS_DUE_FLUSH_TRIES) {
    G->due_err = G->due_last_rc ? G->due_last_rc : IMC_E_NOMEM;
    IMC_WARN("group", "msg=\"appending due group events gave up while stopping: the next start appends them\""
             " err=%s tries=%d chunks=%lld", imc_err_name(G->due_err), G->due_tries, (long long)G->due_chunks);
    return 0;
  }
  G->due_tries++;
  grp__due_start(G);
  return !G->due_err; /* started, or refused for now: tried again at the next call */
}

void grp__due_start(im_groups_t *G)
{
  G->due_found = 1; /* until a job finds none */
  if (G->due_running || !G->w || (G->due_flushing && G->due_err)) return; /* the stop gave up: the next start */
  gjob_t *j = grp__job(G, 0, NULL, NULL);
  if (!j) { G->due_last_rc = IMC_E_NOMEM; return; } /* the tick, or the flush, tries again */
  G->due_running = 1;
  j->run = run_due;
  j->done = done_due;
  grp__submit(j, 0);
}
