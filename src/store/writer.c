/* writer.c — see store_writer.h. Queue, completion list and counters are
 * guarded by one mutex; the loop is woken with uv_async_send (which
 * coalesces). The pending list (submitted, not yet handed over) and its
 * length belong to the loop thread alone; a uv_prepare_t hands it over once
 * per loop turn (an idle handle, active meanwhile, keeps the poll from
 * blocking, so a job submitted after the prepare phase still goes out in
 * the next turn). The writer thread alone uses w->s. */
#include "store/store_writer.h"
#include "util/err.h"
#include "util/log.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store_writer {
  uv_loop_t *loop;
  uv_async_t async;
  uv_prepare_t prep;                 /* active while the pending list is not empty */
  uv_idle_t keep_polling;            /* likewise: the poll does not block while jobs are pending */
  int open_handles;                  /* async, prep and idle until closed; w is freed at 0 */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job_t *q_head, *q_tail;      /* submitted, not yet run */
  size_t q_len, max_jobs;
  store_job_t *d_head, *d_tail;      /* committed, done() not yet called */
  store_job_t *p_head, *p_tail;      /* loop thread: submitted, not yet handed over */
  size_t p_len;                      /* loop thread */
  size_t q_len_seen;                 /* loop thread: q_len at the last hand-over, ≥ the true q_len */
  int idle;                          /* the writer thread waits for work */
  int stopping, exited;
  store_t *s;
  void (*stopped)(void *);
  void *stopped_arg;
  store_writer_stats_t stats;        /* under mu */
};

static void append(store_job_t **head, store_job_t **tail, store_job_t *first, store_job_t *last)
{
  if (*tail) (*tail)->next = first; else *head = first;
  *tail = last;
}

/* Mark the jobs [from, to) that had succeeded as failed with rc: their
 * transaction did not commit. */
static void fail_succeeded(store_job_t *from, store_job_t *to, int rc)
{
  for (store_job_t *j = from; j != to; j = j->next) if (!j->rc) j->rc = rc;
}

/* Run one job in its own SAVEPOINT: if it fails, its writes are undone alone. */
static void run_one(store_writer_t *w, store_job_t *j)
{
  int rc;
  if ((rc = store_exec(w->s, "SAVEPOINT job")) == 0) {
    j->rc = j->run(w->s, j->arg);
    if (j->rc && store_in_transaction(w->s)) store_exec(w->s, "ROLLBACK TO job");
    if (store_in_transaction(w->s) && (rc = store_exec(w->s, "RELEASE job")) && store_in_transaction(w->s)) {
      store_exec(w->s, "ROLLBACK TO job"); /* could not release: undo the job, then drop the savepoint */
      store_exec(w->s, "RELEASE job");
    }
  }
  if (rc && !j->rc) j->rc = rc;
}

/* Run the consecutive rerun_safe jobs from `first` under one SAVEPOINT
 * (store_writer.h, "Batches"); returns the last job run. If one fails with
 * the transaction intact, the savepoint is rolled back (that job's writes
 * and the group's), the jobs before it run again each in its own SAVEPOINT,
 * and it keeps its error. If the engine drops the transaction, returns the
 * job during which it happened (the caller fails the batch so far). */
static store_job_t *run_group(store_writer_t *w, store_job_t *first)
{
  if (store_exec(w->s, "SAVEPOINT jobs")) { run_one(w, first); return first; }
  store_job_t *j = first, *last = first;
  for (; j && j->rerun_safe; j = j->next) {
    last = j;
    if ((j->rc = j->run(w->s, j->arg))) break;
    if (!store_in_transaction(w->s)) return j;
  }
  if (!store_in_transaction(w->s)) return last;
  if (!last->rc && !store_exec(w->s, "RELEASE jobs")) return last;
  if (!store_in_transaction(w->s)) return last;
  store_exec(w->s, "ROLLBACK TO jobs"); /* a job failed (or the RELEASE did): undo the group */
  store_exec(w->s, "RELEASE jobs");
  store_job_t *stop = last->rc ? last : last->next; /* the failed job keeps its error and stays undone */
  for (j = first; j != stop; j = j->next) {
    run_one(w, j);
    if (!store_in_transaction(w->s)) return j;
  }
  return last;
}

/* Run jobs from `first` on in one transaction until the list ends or the
 * engine drops the transaction; returns the first job not run (NULL when
 * all ran). Counts into *st (the caller adds it under the mutex). */
static store_job_t *run_txn(store_writer_t *w, store_job_t *first, store_writer_stats_t *st)
{
  st->batches++;
  int rc = store_exec(w->s, "BEGIN IMMEDIATE");
  if (rc) { /* nothing ran: the whole rest fails with the reason (IMC_E_BUSY: the CLI held the lock too long) */
    for (store_job_t *j = first; j; j = j->next) j->rc = rc;
    return NULL;
  }
  for (store_job_t *j = first; j; j = j->next) {
    if (j->rerun_safe && j->next && j->next->rerun_safe) j = run_group(w, j);
    else run_one(w, j);
    if (!store_in_transaction(w->s)) {
      /* the engine rolled the whole transaction back on its own: the jobs
       * before j that succeeded are undone; j keeps its error; the rest has
       * not run and goes on in a new transaction */
      st->txn_lost++;
      if (!j->rc) j->rc = IMC_E_IO;
      fail_succeeded(first, j, IMC_E_IO);
      IMC_ERROR("store", "msg=\"the database rolled the batch back on its own\" err=%s", imc_err_name(j->rc));
      return j->next;
    }
  }
  if ((rc = store_exec(w->s, "COMMIT"))) {
    if (store_in_transaction(w->s)) store_exec(w->s, "ROLLBACK");
    IMC_ERROR("store", "msg=\"batch commit failed\" err=%s", imc_err_name(rc));
    fail_succeeded(first, NULL, IMC_E_IO);
  }
  return NULL;
}

static void run_batch(store_writer_t *w, store_job_t *batch, store_writer_stats_t *st)
{
  for (store_job_t *next = batch; next;) next = run_txn(w, next, st);
  assert(!store_in_transaction(w->s));
  for (store_job_t *j = batch; j; j = j->next) { st->jobs++; if (j->rc) st->failed_jobs++; }
}

static void *writer_main(void *arg)
{
  store_writer_t *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->q_head && !w->stopping) {
      w->idle = 1;
      pthread_cond_wait(&w->cv, &w->mu);
      w->idle = 0;
    }
    if (!w->q_head && w->stopping) break;
    store_job_t *batch = w->q_head, *last = w->q_tail;
    w->q_head = w->q_tail = NULL;
    w->q_len = 0;
    pthread_mutex_unlock(&w->mu);
    store_writer_stats_t st = { 0 };
    run_batch(w, batch, &st);
    pthread_mutex_lock(&w->mu);
    w->stats.batches += st.batches;
    w->stats.jobs += st.jobs;
    w->stats.failed_jobs += st.failed_jobs;
    w->stats.txn_lost += st.txn_lost;
    append(&w->d_head, &w->d_tail, batch, last);
    uv_async_send(&w->async);
  }
  w->exited = 1;
  pthread_mutex_unlock(&w->mu);
  uv_async_send(&w->async);
  return NULL;
}

static void on_closed(uv_handle_t *h)
{
  store_writer_t *w = h->data;
  if (--w->open_handles) return;
  void (*cb)(void *) = w->stopped;
  void *arg = w->stopped_arg;
  store_close(w->s);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
  if (cb) cb(arg);
}

static void on_async(uv_async_t *a)
{
  store_writer_t *w = a->data;
  int exited, more;
  unsigned budget = STORE_WRITER_DONE_PER_TURN; /* the rest waits for the next turn (store_writer.h) */
  for (;;) { /* until no done() submitted more (after stop, a submit completes at once) or the budget is spent */
    pthread_mutex_lock(&w->mu);
    store_job_t *done = w->d_head, *last = done;
    for (unsigned i = 1; last && i < budget && last->next; i++) last = last->next;
    if (last) {
      w->d_head = last->next;
      if (!w->d_head) w->d_tail = NULL;
      last->next = NULL;
    }
    exited = w->exited;
    pthread_mutex_unlock(&w->mu);
    if (!done) { more = 0; break; }
    while (done) {
      store_job_t *next = done->next;
      done->next = NULL;
      done->done(done->arg, done->rc);
      done = next;
      budget--;
    }
    if (!budget) { more = 1; break; }
  }
  if (more) { uv_async_send(a); return; } /* the rest on the next turn */
  if (exited && !uv_is_closing((uv_handle_t *)a)) {
    pthread_join(w->thread, NULL);
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
    uv_close((uv_handle_t *)a, on_closed);
  }
}

int store_writer_start(uv_loop_t *loop, const char *data_dir, size_t max_jobs, store_writer_t **out)
{
  if (!max_jobs) return IMC_E_INVAL;
  store_writer_t *w = calloc(1, sizeof *w);
  if (!w) return IMC_E_NOMEM;
  w->max_jobs = max_jobs;
  int rc = store_open(data_dir, &w->s);
  if (rc) { free(w); return rc; }
  w->loop = loop;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  uv_async_init(loop, &w->async, on_async);
  w->async.data = w;
  uv_prepare_init(loop, &w->prep);
  uv_idle_init(loop, &w->keep_polling);
  w->prep.data = w->keep_polling.data = w;
  w->open_handles = 3;
  if (pthread_create(&w->thread, NULL, writer_main, w)) {
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
    uv_close((uv_handle_t *)&w->async, on_closed); /* frees w once the loop runs */
    return IMC_E_INTERNAL;
  }
  *out = w;
  return 0;
}

/* Move the pending list to the writer's queue: one lock, and one wake-up if
 * the writer thread is waiting. */
static void handoff(store_writer_t *w)
{
  if (!w->p_head) return;
  pthread_mutex_lock(&w->mu);
  append(&w->q_head, &w->q_tail, w->p_head, w->p_tail);
  w->q_len += w->p_len;
  w->q_len_seen = w->q_len;
  if (w->idle) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  w->p_head = w->p_tail = NULL;
  w->p_len = 0;
  uv_prepare_stop(&w->prep);
  uv_idle_stop(&w->keep_polling);
}

static void on_prepare(uv_prepare_t *h) { handoff(h->data); }
static void on_idle(uv_idle_t *h) { (void)h; }

void store_writer_flush(store_writer_t *w) { handoff(w); }

int store_writer_submit(store_writer_t *w, store_job_t *job)
{
  assert(job->run && job->done);
  job->next = NULL;
  job->rc = 0;
  if (w->stopping) { /* set by store_writer_stop on this thread */
    job->rc = IMC_E_SHUTDOWN;
    pthread_mutex_lock(&w->mu);
    append(&w->d_head, &w->d_tail, job, job);
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
    return 0;
  }
  if (w->q_len_seen + w->p_len >= w->max_jobs) {
    /* full by the last count: the writer may have taken the queue since */
    pthread_mutex_lock(&w->mu);
    w->q_len_seen = w->q_len;
    int full = w->q_len_seen + w->p_len >= w->max_jobs;
    if (full) w->stats.refused++;
    pthread_mutex_unlock(&w->mu);
    if (full) return IMC_E_OVERLOADED;
  }
  append(&w->p_head, &w->p_tail, job, job);
  if (w->p_len++ == 0) { /* the idle handle: a job submitted by a prepare callback that runs after ours in this
                          * turn must not wait for the poll to return; with it the poll does not block */
    uv_prepare_start(&w->prep, on_prepare);
    uv_idle_start(&w->keep_polling, on_idle);
  }
  if (w->p_len >= STORE_WRITER_HANDOFF_MAX) handoff(w);
  return 0;
}

void store_writer_stop(store_writer_t *w, void (*stopped)(void *), void *arg)
{
  handoff(w);
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  w->stopped = stopped;
  w->stopped_arg = arg;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void store_writer_stats(store_writer_t *w, store_writer_stats_t *out)
{
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  out->queued = w->q_len + w->p_len;
  out->max_jobs = w->max_jobs;
  pthread_mutex_unlock(&w->mu);
}
