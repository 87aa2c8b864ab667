/* writer.c — see store_writer.h. Queue and completion list are guarded by
 * one mutex; the loop is woken with uv_async_send (which coalesces). */
#include "store/store_writer.h"
#include "util/err.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store_writer {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job_t *q_head, *q_tail;      /* submitted, not yet run */
  store_job_t *d_head, *d_tail;      /* committed, done() not yet called */
  int stopping, exited;
  store_t *s;
  void (*stopped)(void *);
  void *stopped_arg;
  store_writer_stats_t stats;
};

static void append(store_job_t **head, store_job_t **tail, store_job_t *first, store_job_t *last)
{
  if (*tail) (*tail)->next = first; else *head = first;
  *tail = last;
}

static void run_batch(store_writer_t *w, store_job_t *batch)
{
  int rc = store_exec(w->s, "BEGIN IMMEDIATE");
  for (store_job_t *j = batch; j; j = j->next) {
    if (rc) { j->rc = rc; continue; }
    if (store_exec(w->s, "SAVEPOINT job")) { j->rc = IMC_E_IO; continue; }
    j->rc = j->run(w->s, j->arg);
    if (j->rc) store_exec(w->s, "ROLLBACK TO job");
    store_exec(w->s, "RELEASE job");
  }
  if (!rc && store_exec(w->s, "COMMIT")) {
    store_exec(w->s, "ROLLBACK");
    IMC_ERROR("store", "msg=\"batch commit failed\"");
    for (store_job_t *j = batch; j; j = j->next) j->rc = IMC_E_IO;
  }
  w->stats.batches++;
  for (store_job_t *j = batch; j; j = j->next) { w->stats.jobs++; if (j->rc) w->stats.failed_jobs++; }
}

static void *writer_main(void *arg)
{
  store_writer_t *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->q_head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->q_head && w->stopping) break;
    store_job_t *batch = w->q_head, *last = w->q_tail;
    w->q_head = w->q_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    run_batch(w, batch);
    pthread_mutex_lock(&w->mu);
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
  pthread_mutex_lock(&w->mu);
  store_job_t *done = w->d_head;
  w->d_head = w->d_tail = NULL;
  int exited = w->exited;
  pthread_mutex_unlock(&w->mu);
  while (done) {
    store_job_t *next = done->next;
    done->next = NULL;
    done->done(done->arg, done->rc);
    done = next;
  }
  if (exited && !uv_is_closing((uv_handle_t *)a)) {
    pthread_join(w->thread, NULL);
    uv_close((uv_handle_t *)a, on_closed);
  }
}

int store_writer_start(uv_loop_t *loop, const char *data_dir, store_writer_t **out)
{
  store_writer_t *w = calloc(1, sizeof *w);
  if (!w) return IMC_E_NOMEM;
  int rc = store_open(data_dir, &w->s);
  if (rc) { free(w); return rc; }
  w->loop = loop;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  uv_async_init(loop, &w->async, on_async);
  w->async.data = w;
  if (pthread_create(&w->thread, NULL, writer_main, w)) {
    uv_close((uv_handle_t *)&w->async, on_closed); /* frees w once the loop runs */
    return IMC_E_INTERNAL;
  }
  *out = w;
  return 0;
}

void store_writer_submit(store_writer_t *w, store_job_t *job)
{
  job->next = NULL;
  job->rc = 0;
  pthread_mutex_lock(&w->mu);
  if (w->stopping) {
    job->rc = IMC_E_SHUTDOWN;
    append(&w->d_head, &w->d_tail, job, job);
    uv_async_send(&w->async);
  } else {
    append(&w->q_head, &w->q_tail, job, job);
    pthread_cond_signal(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
}

void store_writer_stop(store_writer_t *w, void (*stopped)(void *), void *arg)
{
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  w->stopped = stopped;
  w->stopped_arg = arg;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void store_writer_stats(const store_writer_t *w, store_writer_stats_t *out) { *out = w->stats; }
