/* reader.c — see store_reader.h. The queue (one FIFO per owner, the owners
 * with jobs in a round-robin ring), the completion list and the counters are
 * guarded by one mutex; idle threads wait on one condition variable; the loop
 * is woken with uv_async_send (which coalesces). Thread i alone uses conns[i]
 * while the pool runs.
 *
 * Invariants (under mu): an owner has a flow exactly while it has jobs
 * queued (the unowned flow, owner 0, is embedded and always exists); a flow
 * is in the ring exactly while it has jobs; q_len is the sum of the flows'
 * counts. */
#include "store/store_reader.h"
#include "util/err.h"
#include "util/log.h"
#include "util/turnlog.h"
#include "util/u64map.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
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

/* One owner's queued jobs, FIFO; in the ring while it has any. */
typedef struct flow {
  uint64_t owner;
  store_job_t *head, *tail;
  size_t n;
  struct flow *next;                 /* the ring's next flow (NULL: last) */
} flow_t;

struct store_reader {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  flow_t *ring_head, *ring_tail;     /* flows with jobs submitted, not yet taken: the head's first job is taken next */
  u64map_t flows;                    /* owner (non-zero) → its flow_t, while it has jobs queued */
  flow_t unowned;                    /* owner 0 */
  uint64_t owner;                    /* what store_reader_owner set: jobs submitted now are its */
  size_t q_len, max_jobs;            /* q_len: written under mu with atomic stores, so that store_reader_full may
                                      * read it without mu */
  void (*room)(void *);              /* store_reader_on_room: after each batch of completions (loop thread) */
  void *room_arg;
  void (*done_hook)(void *);         /* under mu: store_reader_on_done, after each completion (pool threads) */
  void (*take_hook)(void *);         /* store_reader_on_done, before each take (loop thread) */
  void *done_hook_arg;
  store_job_t *d_head, *d_tail;      /* run, done() not yet called */
  int stopping;
  size_t exited;                     /* threads that left their loop */
  size_t n;
  reader_thread_t *th;
  void (*stopped)(void *);
  void *stopped_arg;
  store_reader_stats_t stats;        /* under mu */
  char *hold_path;                   /* tests: no job is taken while this file exists (IMCLOUD_TEST_READER_HOLD) */
  char *steps_path;                  /* tests: jobs taken up to the number this file holds (IMCLOUD_TEST_READER_STEPS) */
  char *done_hold_path;              /* tests: a job run is not handed back while this file exists
                                      * (IMCLOUD_TEST_READER_DONE_HOLD) */
  uint64_t taken;                    /* jobs taken since the start (under mu; for steps_path) */
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

static void ring_append(store_reader_t *r, flow_t *f)
{
  f->next = NULL;
  if (r->ring_tail) r->ring_tail->next = f; else r->ring_head = f;
  r->ring_tail = f;
}

/* Unlink f from the ring (it may be anywhere in it). */
static void ring_remove(store_reader_t *r, flow_t *f)
{
  flow_t *prev = NULL;
  for (flow_t *x = r->ring_head; x != f; x = x->next) { assert(x); prev = x; }
  if (prev) prev->next = f->next; else r->ring_head = f->next;
  if (r->ring_tail == f) r->ring_tail = prev;
  f->next = NULL;
}

/* A flow left without jobs: out of the map and freed (the unowned one stays). */
static void flow_drop(store_reader_t *r, flow_t *f)
{
  assert(!f->n && !f->head);
  if (f == &r->unowned) return;
  u64map_del(&r->flows, f->owner);
  free(f);
}

/* The next job, round robin over the owners: the first job of the ring's
 * head flow, which then goes to the ring's tail if it has more (under mu;
 * the ring is not empty). */
static store_job_t *take(store_reader_t *r)
{
  flow_t *f = r->ring_head;
  store_job_t *j = f->head;
  assert(f->n > 0 && j);
  f->head = j->next;
  if (!f->head) f->tail = NULL;
  f->n--;
  __atomic_store_n(&r->q_len, r->q_len - 1, __ATOMIC_RELAXED);
  r->ring_head = f->next;
  if (!r->ring_head) r->ring_tail = NULL;
  if (f->n) ring_append(r, f);
  else flow_drop(r, f);
  j->next = NULL;
  return j;
}

/* Tests (under mu): 1 while no job may be taken — the IMCLOUD_TEST_READER_HOLD file exists, or the
 * IMCLOUD_TEST_READER_STEPS file exists and holds a number not above the jobs taken so far (anything else in it,
 * a write in progress included, holds as 0). Neither variable set: 0, no file read. */
static int test_held(const store_reader_t *r)
{
  if (r->hold_path && !access(r->hold_path, F_OK)) return 1;
  if (!r->steps_path) return 0;
  FILE *f = fopen(r->steps_path, "r");
  if (!f) return 0;
  char buf[32];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *end;
  unsigned long long allowed = strtoull(buf, &end, 10);
  return end == buf || (*end && *end != '\n') || allowed <= r->taken;
}

static void *reader_main(void *arg)
{
  reader_thread_t *t = arg;
  store_reader_t *r = t->r;
  store__helper_start("imc-reader", 0); /* named; the loop's priority (store_writer.h, "Priority") */
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->ring_head && !r->stopping) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stopping) break; /* store_reader_stop moved the queue to the done list */
    if (test_held(r)) { /* tests: the queue is held (a poll every 2 ms) */
      pthread_mutex_unlock(&r->mu);
      nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
      pthread_mutex_lock(&r->mu);
      continue;
    }
    store_job_t *j = take(r);
    r->taken++;
    pthread_mutex_unlock(&r->mu);
    j->rc = run_one(t->s, j);
    pthread_mutex_lock(&r->mu);
    while (r->done_hold_path && !r->stopping && !access(r->done_hold_path, F_OK)) { /* tests: a poll every 2 ms */
      pthread_mutex_unlock(&r->mu);
      nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
      pthread_mutex_lock(&r->mu);
    }
    r->stats.jobs++;
    if (j->rc) r->stats.failed_jobs++;
    append(&r->d_head, &r->d_tail, j);
    uv_async_send(&r->async);
    if (r->done_hook) r->done_hook(r->done_hook_arg); /* the loop's nap ends (store_writer_nap_end) */
  }
  r->exited++;
  pthread_mutex_unlock(&r->mu);
  uv_async_send(&r->async);
  return NULL;
}

static void free_pool(store_reader_t *r)
{
  assert(!r->q_len && !r->flows.len);
  u64map_free(&r->flows);
  for (size_t i = 0; i < r->n; i++) store_close(r->th[i].s);
  free(r->th);
  free(r->hold_path);
  free(r->steps_path);
  free(r->done_hold_path);
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
    if (r->take_hook) r->take_hook(r->done_hook_arg); /* before the take: what it takes leaves no flag behind */
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
  /* jobs were taken (or cancelled) before these completions: the room they left (store_reader_on_room) */
  if (r->room && !r->stopping) r->room(r->room_arg);
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
  u64map_init(&r->flows);
  r->loop = loop;
  r->max_jobs = max_jobs;
  const char *hold = getenv("IMCLOUD_TEST_READER_HOLD");
  if (hold && *hold && !(r->hold_path = strdup(hold))) { free_pool(r); return IMC_E_NOMEM; }
  const char *steps = getenv("IMCLOUD_TEST_READER_STEPS");
  if (steps && *steps && !(r->steps_path = strdup(steps))) { free_pool(r); return IMC_E_NOMEM; }
  const char *done_hold = getenv("IMCLOUD_TEST_READER_DONE_HOLD");
  if (done_hold && *done_hold && !(r->done_hold_path = strdup(done_hold))) { free_pool(r); return IMC_E_NOMEM; }
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

/* The owner's flow, or NULL (under mu). */
static flow_t *flow_of(store_reader_t *r, uint64_t owner)
{
  return owner ? u64map_get(&r->flows, owner) : &r->unowned;
}

/* Queue job as the current owner's, if its share allows (under mu; the
 * queue is below its cap). 0, IMC_E_OVERLOADED, IMC_E_NOMEM. */
static int enqueue(store_reader_t *r, store_job_t *job)
{
  flow_t *f = flow_of(r, r->owner);
  /* the share (store_reader.h, "Fairness"): an owner with jobs queued holds fewer than the free room */
  if (r->owner && f && f->n && f->n >= r->max_jobs - r->q_len) {
    r->stats.refused++;
    r->stats.refused_share++;
    return IMC_E_OVERLOADED;
  }
  if (!f) {
    if (!(f = calloc(1, sizeof *f))) return IMC_E_NOMEM;
    f->owner = r->owner;
    if (u64map_put(&r->flows, f->owner, f)) { free(f); return IMC_E_NOMEM; }
  }
  if (!f->n) ring_append(r, f);
  append(&f->head, &f->tail, job);
  f->n++;
  __atomic_store_n(&r->q_len, r->q_len + 1, __ATOMIC_RELAXED);
  pthread_cond_signal(&r->cv);
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
    rc = enqueue(r, job);
  }
  pthread_mutex_unlock(&r->mu);
  return rc;
}

/* Hand every job of f (out of the ring) to the done list with rc, then drop f (under mu). */
static void flow_fail(store_reader_t *r, flow_t *f, int rc)
{
  for (store_job_t *j = f->head, *next; j; j = next) {
    next = j->next;
    j->rc = rc;
    append(&r->d_head, &r->d_tail, j);
  }
  __atomic_store_n(&r->q_len, r->q_len - f->n, __ATOMIC_RELAXED);
  f->head = f->tail = NULL;
  f->n = 0;
  f->next = NULL;
  flow_drop(r, f);
}

void store_reader_owner(store_reader_t *r, uint64_t owner)
{
  r->owner = owner; /* loop thread only, as every submit (read under mu by enqueue, on the same thread) */
}

size_t store_reader_cancel(store_reader_t *r, uint64_t owner)
{
  assert(owner);
  size_t n = 0;
  pthread_mutex_lock(&r->mu);
  flow_t *f = r->stopping ? NULL : flow_of(r, owner);
  if (f) {
    n = f->n;
    r->stats.skipped += n;
    ring_remove(r, f);
    flow_fail(r, f, IMC_E_CANCELED);
    uv_async_send(&r->async); /* their done() calls run in the loop's next turn, never inside this call */
  }
  pthread_mutex_unlock(&r->mu);
  return n;
}

int store_reader_full(const store_reader_t *r)
{
  /* only the loop thread adds jobs: a queue seen below its cap here stays below it until this thread submits */
  return __atomic_load_n(&r->q_len, __ATOMIC_RELAXED) >= r->max_jobs;
}

void store_reader_on_room(store_reader_t *r, void (*room)(void *arg), void *arg)
{
  r->room = room;
  r->room_arg = arg;
}

void store_reader_on_done(store_reader_t *r, void (*hook)(void *arg), void (*take)(void *arg), void *arg)
{
  pthread_mutex_lock(&r->mu);
  r->done_hook = hook;
  r->take_hook = take;
  r->done_hook_arg = arg;
  pthread_mutex_unlock(&r->mu);
}

void store_reader_owner_load(store_reader_t *r, uint64_t owner, size_t *queued, size_t *room)
{
  pthread_mutex_lock(&r->mu);
  flow_t *f = flow_of(r, owner);
  *queued = f ? f->n : 0;
  *room = r->max_jobs - r->q_len;
  pthread_mutex_unlock(&r->mu);
}

void store_reader_stop(store_reader_t *r, void (*stopped)(void *), void *arg)
{
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  r->stopped = stopped;
  r->stopped_arg = arg;
  while (r->ring_head) {
    flow_t *f = r->ring_head;
    r->ring_head = f->next;
    flow_fail(r, f, IMC_E_SHUTDOWN);
  }
  r->ring_tail = NULL;
  assert(!r->q_len);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  uv_async_send(&r->async);
}

void store_reader_stats(store_reader_t *r, store_reader_stats_t *out)
{
  pthread_mutex_lock(&r->mu);
  *out = r->stats;
  out->queued = r->q_len;
  out->owners = r->flows.len + (r->unowned.n > 0);
  pthread_mutex_unlock(&r->mu);
}
