/* reader.c — see store_reader.h. One queue, completion list and counters
 * guarded by one mutex; idle threads wait on one condition variable; the loop
 * is woken with uv_async_send (which coalesces). Thread i alone uses conns[i]
 * while the pool runs. */
#include "store/store_reader.h"
#include "util/err.h"
#include "util/log.h"
#include "util/turnlog.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READER_THREADS_MAX 64

typedef struct reader_thread {
  struct store_reader *r;
  pthread_t tid;
  store_t *s;
  int started;
} reader_thread_t;

struct store_reader {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job_t *q_head, *q_tail;      /* submitted, not yet taken */
  size_t q_len, max_jobs;
  store_job_t *d_head, *d_tail;      /* run, done() not yet called */
  int stopping;
  size_t exited;                     /* threads that left their loop */
  size_t n;
  reader_thread_t *th;
  void (*stopped)(void *);
  void *stopped_arg;
  store_reader_stats_t stats;        /* under mu */
  char *hold_path;                   /* tests: no job is taken while this file exists (IMCLOUD_TEST_READER_HOLD) */
};

static void append(store_job_t **head, store_job_t **tail, store_job_t *j)
{
  j->next = NULL;
  if (*tail) (*tail)->next = j; else *head = j;
  *tail = j;
}

/* One read in one snapshot. */
static int run_one(store_t *s, store_job_t *j)
{
  int rc = store_exec(s, "BEGIN");
  if (rc) return rc;
  rc = j->run(s, j->arg);
  if (store_in_transaction(s)) {
    int end = store_exec(s, "COMMIT");
    if (end) store_exec(s, "ROLLBACK");
  }
  return rc;
}

static void *reader_main(void *arg)
{
  reader_thread_t *t = arg;
  store_reader_t *r = t->r;
  store__helper_start("imc-reader", 0); /* named; the loop's priority (store_writer.h, "Priority") */
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->q_head && !r->stopping) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stopping) break; /* store_reader_stop moved the queue to the done list */
    if (r->hold_path && !access(r->hold_path, F_OK)) { /* tests: the queue is held (a poll every 2 ms) */
      pthread_mutex_unlock(&r->mu);
      nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
      pthread_mutex_lock(&r->mu);
      continue;
    }
    store_job_t *j = r->q_head;
    r->q_head = j->next;
    if (!r->q_head) r->q_tail = NULL;
    r->q_len--;
    pthread_mutex_unlock(&r->mu);
    j->rc = run_one(t->s, j);
    pthread_mutex_lock(&r->mu);
    r->stats.jobs++;
    if (j->rc) r->stats.failed_jobs++;
    append(&r->d_head, &r->d_tail, j);
    uv_async_send(&r->async);
  }
  r->exited++;
  pthread_mutex_unlock(&r->mu);
  uv_async_send(&r->async);
  return NULL;
}

static void free_pool(store_reader_t *r)
{
  for (size_t i = 0; i < r->n; i++) store_close(r->th[i].s);
  free(r->th);
  free(r->hold_path);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

static void on_closed(uv_handle_t *h)
{
  store_reader_t *r = h->data;
  void (*cb)(void *) = r->stopped;
  void *arg = r->stopped_arg;
  free_pool(r);
  if (cb) cb(arg);
}

static void on_async_run(uv_async_t *a)
{
  store_reader_t *r = a->data;
  int all_exited;
  for (;;) { /* until no done() submitted more (after stop, a submit completes at once) */
    pthread_mutex_lock(&r->mu);
    store_job_t *done = r->d_head;
    r->d_head = r->d_tail = NULL;
    all_exited = r->stopping && r->exited == r->n;
    pthread_mutex_unlock(&r->mu);
    if (!done) break;
    while (done) {
      store_job_t *next = done->next;
      done->next = NULL;
      done->done(done->arg, done->rc);
      done = next;
    }
  }
  if (all_exited && !uv_is_closing((uv_handle_t *)a)) {
    for (size_t i = 0; i < r->n; i++) pthread_join(r->th[i].tid, NULL);
    uv_close((uv_handle_t *)a, on_closed);
  }
}

/* the turn log (util/turnlog.h) counts its time as reader_done */
static void on_async(uv_async_t *a)
{
  int tp = imc_turnlog_enter(IMC_TP_READER_DONE);
  on_async_run(a);
  imc_turnlog_leave(tp);
}

int store_reader_start(uv_loop_t *loop, const char *data_dir, size_t threads, size_t max_jobs, store_reader_t **out)
{
  if (!threads || threads > READER_THREADS_MAX || !max_jobs) return IMC_E_INVAL;
  store_reader_t *r = calloc(1, sizeof *r);
  if (!r) return IMC_E_NOMEM;
  if (!(r->th = calloc(threads, sizeof *r->th))) { free(r); return IMC_E_NOMEM; }
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->loop = loop;
  r->max_jobs = max_jobs;
  const char *hold = getenv("IMCLOUD_TEST_READER_HOLD");
  if (hold && *hold && !(r->hold_path = strdup(hold))) { free_pool(r); return IMC_E_NOMEM; }
  r->n = threads;
  r->stats.max_jobs = max_jobs;
  r->stats.threads = threads;
  int rc = 0;
  for (size_t i = 0; i < threads && !rc; i++) rc = store_open_reader(data_dir, &r->th[i].s);
  if (rc) { free_pool(r); return rc; }
  uv_async_init(loop, &r->async, on_async);
  r->async.data = r;
  size_t started = 0;
  for (; started < threads; started++) {
    r->th[started].r = r;
    if (pthread_create(&r->th[started].tid, NULL, reader_main, &r->th[started])) break;
  }
  if (started < threads) { /* stop the ones that run; n = how many to join */
    pthread_mutex_lock(&r->mu);
    r->n = started;
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < started; i++) pthread_join(r->th[i].tid, NULL);
    r->n = threads; /* close every connection */
    uv_close((uv_handle_t *)&r->async, on_closed); /* frees r once the loop runs */
    return IMC_E_INTERNAL;
  }
  *out = r;
  return 0;
}

int store_reader_submit(store_reader_t *r, store_job_t *job)
{
  assert(job->run && job->done);
  int rc = 0;
  job->rc = 0;
  pthread_mutex_lock(&r->mu);
  if (r->stopping) {
    job->rc = IMC_E_SHUTDOWN;
    append(&r->d_head, &r->d_tail, job);
    uv_async_send(&r->async);
  } else if (r->q_len >= r->max_jobs) {
    r->stats.refused++;
    rc = IMC_E_OVERLOADED;
  } else {
    append(&r->q_head, &r->q_tail, job);
    r->q_len++;
    pthread_cond_signal(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  return rc;
}

void store_reader_stop(store_reader_t *r, void (*stopped)(void *), void *arg)
{
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  r->stopped = stopped;
  r->stopped_arg = arg;
  for (store_job_t *j = r->q_head, *next; j; j = next) {
    next = j->next;
    j->rc = IMC_E_SHUTDOWN;
    append(&r->d_head, &r->d_tail, j);
  }
  r->q_head = r->q_tail = NULL;
  r->q_len = 0;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  uv_async_send(&r->async);
}

void store_reader_stats(store_reader_t *r, store_reader_stats_t *out)
{
  pthread_mutex_lock(&r->mu);
  *out = r->stats;
  out->queued = r->q_len;
  pthread_mutex_unlock(&r->mu);
}
