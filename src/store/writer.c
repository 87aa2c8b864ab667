/* writer.c — see store_writer.h; the loop side of the writer (the state is
 * writer_int.h's, the writer and sync threads writer_run.c's): start and
 * stop, submit and the hand-over, the completions and the stage
 * histograms. The sync thread wakes the loop by writing an eventfd the loop
 * polls, once until the loop takes the completions (wake_sent), after
 * unlocking. Not uv_async_send: libuv 1.44's loop side spins (pause, then
 * sched_yield) until the sending thread finishes its send, and a writer
 * thread preempted inside uv_async_send by a loop thread of higher priority
 * on the same core never finishes it (sched_yield does not yield to a lower
 * priority): the loop burnt its core until the kernel's real-time
 * throttling let the writer run. The pending list (submitted, not yet
 * handed over) and its length belong to the loop thread alone; a
 * uv_prepare_t hands it over once per loop turn (an idle handle, active
 * meanwhile, keeps the poll from blocking, so a job submitted after the
 * prepare phase still goes out in the next turn). */
#include "store/writer_int.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

const char *const store_stage_names[STORE_STAGES] = { "queue", "wait", "run", "commit", "sync_wait", "sync",
                                                      "back", "total", "commits", "syncs" };

static void on_closed(uv_handle_t *h)
{
  store_writer_t *w = h->data;
  if (--w->open_handles) return;
  void (*cb)(void *) = w->stopped;
  void *arg = w->stopped_arg;
  store_ckpt_stop(&w->ck);
  store_close(w->s);
  close(w->wal_fd);
  close(w->wake_fd);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  pthread_cond_destroy(&w->sync_cv);
  free(w->hold_path);
  free(w);
  if (cb) cb(arg);
}

/* Count the runs (count_stages) into WAIT … SYNC and BACK: at the end of
 * each on_wake_run, so the histograms read between turns are whole. */
static void flush_stages(store_writer_t *w)
{
  const uint64_t *t = w->run_t;
  for (int i = STORE_STAMP_HANDOFF; i < STORE_STAMP_SYNCED; i++) imc_hist_add_n(&w->stages[i], t[i + 1] - t[i], w->run_n);
  imc_hist_add_n(&w->stages[STORE_STAGE_BACK], w->back_ns, w->back_n);
  w->run_n = w->back_n = 0;
}

/* Count the job's intervals (loop thread, before its done(); now: the clock
 * read before the eight done() calls that hold it). A job failed without
 * reaching the writer thread (after stop) is not. WAIT … SYNC go in per run
 * of jobs with equal stamps from HANDOFF on (one hand-over, take, COMMIT and
 * sync), BACK per run of equal values (flush_stages), QUEUE and TOTAL per job. */
static void count_stages(store_writer_t *w, const store_job_t *j, uint64_t now)
{
  const uint64_t *t = j->t_ns;
  if (!t[STORE_STAMP_SYNCED]) return;
  imc_hist_add(&w->stages[STORE_STAGE_QUEUE], t[STORE_STAMP_HANDOFF] - t[STORE_STAMP_SUBMIT]);
  imc_hist_add(&w->stages[STORE_STAGE_TOTAL], now - t[STORE_STAMP_SUBMIT]);
  uint64_t back = now - t[STORE_STAMP_SYNCED];
  if (back != w->back_ns) { imc_hist_add_n(&w->stages[STORE_STAGE_BACK], w->back_ns, w->back_n); w->back_ns = back; w->back_n = 0; }
  w->back_n++;
  const uint64_t *r = w->run_t; /* one test for the six stamps: a loop of compares cost 52 instructions per job */
  uint64_t differ = (t[STORE_STAMP_HANDOFF] ^ r[STORE_STAMP_HANDOFF]) | (t[STORE_STAMP_TAKEN] ^ r[STORE_STAMP_TAKEN]) |
                    (t[STORE_STAMP_COMMIT] ^ r[STORE_STAMP_COMMIT]) | (t[STORE_STAMP_COMMITTED] ^ r[STORE_STAMP_COMMITTED]) |
                    (t[STORE_STAMP_SYNC] ^ r[STORE_STAMP_SYNC]) | (t[STORE_STAMP_SYNCED] ^ r[STORE_STAMP_SYNCED]);
  if (differ) {
    for (int i = STORE_STAMP_HANDOFF; i < STORE_STAMP_SYNCED; i++)
      imc_hist_add_n(&w->stages[i], w->run_t[i + 1] - w->run_t[i], w->run_n);
    memcpy(w->run_t, t, sizeof w->run_t), w->run_n = 0;
    if (t[STORE_STAMP_COMMITTED] != w->last_committed_ns) { /* the first job of its COMMIT seen here */
      w->last_committed_ns = t[STORE_STAMP_COMMITTED];
      imc_hist_add(&w->stages[STORE_STAGE_COMMITS], t[STORE_STAMP_COMMITTED] - t[STORE_STAMP_COMMIT]);
    }
    if (t[STORE_STAMP_SYNCED] != w->last_synced_ns) { /* the first job of its sync seen here */
      w->last_synced_ns = t[STORE_STAMP_SYNCED];
      imc_hist_add(&w->stages[STORE_STAGE_SYNCS], t[STORE_STAMP_SYNCED] - t[STORE_STAMP_SYNC]);
    }
  }
  w->run_n++;
}

static void on_wake_run(uv_poll_t *p, int status, int events)
{
  (void)status; (void)events;
  store_writer_t *w = p->data;
  int exited, more = 0;
  uint64_t n;
  if (read(w->wake_fd, &n, sizeof n) < 0) { /* EAGAIN: woken for the next turn's share, or spuriously */ }
  pthread_mutex_lock(&w->mu); /* every completed job at once; the budget below bounds the turn */
  w->wake_sent = 0;           /* completions appended from now on write again */
  store_job_t *done = w->d_head, *last = w->d_tail; /* the list's tail: what the budget leaves goes back whole */
  w->d_head = w->d_tail = NULL;
  pthread_mutex_unlock(&w->mu);
  uint64_t t0 = uv_hrtime(), now = t0; /* the clock once per STORE_WRITER_DONE_CHECK_EVERY done() calls: budget and stages */
  for (unsigned k = 0; done; k++) {
    if (k && k % STORE_WRITER_DONE_CHECK_EVERY == 0) now = uv_hrtime();
    if (k == STORE_WRITER_DONE_PER_TURN ||
        (k % STORE_WRITER_DONE_CHECK_EVERY == 0 && k && now - t0 > (uint64_t)STORE_WRITER_DONE_TURN_US * 1000)) {
      /* the rest goes back to the front of the list, in order, for the next
       * turn: its tail is the one taken above (no walk over a commit's jobs) */
      pthread_mutex_lock(&w->mu);
      last->next = w->d_head;
      if (!w->d_head) w->d_tail = last;
      w->d_head = done;
      pthread_mutex_unlock(&w->mu);
      more = 1;
      break;
    }
    store_job_t *next = done->next;
    done->next = NULL;
    count_stages(w, done, now);
    assert(w->inflight > 0 && w->inflight_bytes >= done->bytes);
    w->inflight--;
    w->inflight_bytes -= done->bytes;
    done->done(done->arg, done->rc); /* may submit: after stop, that completes at once (next turn) */
    done = next;
  }
  flush_stages(w);
  pthread_mutex_lock(&w->mu); /* a done() that submitted after stop completed its job at once: run it first */
  more = more || w->d_head;
  exited = w->exited;
  pthread_mutex_unlock(&w->mu);
  if (more) { /* the rest on the next turn */
    store__writer_wake(w);
    if (w->more) w->more(w->more_arg);
    return;
  }
  if (exited && !uv_is_closing((uv_handle_t *)p)) {
    pthread_join(w->thread, NULL);
    pthread_join(w->sync_thread, NULL);
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
    uv_close((uv_handle_t *)&w->nap, on_closed);
    uv_close((uv_handle_t *)p, on_closed);
  }
}

/* the turn log (util/turnlog.h) counts its time as writer_done */
static void on_wake(uv_poll_t *p, int status, int events)
{
  int tp = imc_turnlog_enter(IMC_TP_WRITER_DONE);
  on_wake_run(p, status, events);
  imc_turnlog_leave(tp);
}

void store_writer_on_more(store_writer_t *w, void (*more)(void *arg), void *arg)
{
  w->more = more;
  w->more_arg = arg;
}

int store_writer_start(uv_loop_t *loop, const char *data_dir, size_t max_jobs, store_writer_t **out)
{
  if (!max_jobs) return IMC_E_INVAL;
  store_writer_t *w = calloc(1, sizeof *w);
  if (!w) return IMC_E_NOMEM;
  w->max_jobs = max_jobs;
  int rc = store_open(data_dir, &w->s);
  if (rc) { free(w); return rc; }
  if ((rc = store_wal_sync_open(w->s, &w->wal_fd))) { store_close(w->s); free(w); return rc; }
  w->wal_counted = store_wal_counted(w->s);
  w->stats.cache_kib = store_cache_kib(w->s);
  const char *hold = getenv("IMCLOUD_TEST_SYNC_HOLD");
  if (hold && *hold && !(w->hold_path = strdup(hold))) { close(w->wal_fd); store_close(w->s); free(w); return IMC_E_NOMEM; }
  store_ckpt_start(&w->ck, w->s);
  w->loop = loop;
  if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 || uv_poll_init(loop, &w->wake, w->wake_fd)) {
    if (w->wake_fd >= 0) close(w->wake_fd);
    store_ckpt_stop(&w->ck);
    store_close(w->s);
    close(w->wal_fd);
    free(w->hold_path);
    free(w);
    return IMC_E_IO;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca; /* the pace's timed waits count in uv_hrtime's clock */
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&w->sync_cv, NULL);
  w->wake.data = w;
  uv_poll_start(&w->wake, UV_READABLE, on_wake);
  uv_prepare_init(loop, &w->prep);
  uv_idle_init(loop, &w->keep_polling);
  w->prep.data = w->keep_polling.data = w;
  store__writer_nap_init(w);
  w->open_handles = 4;
  int sync_started = !pthread_create(&w->sync_thread, NULL, store__writer_sync_main, w);
  if (!sync_started || pthread_create(&w->thread, NULL, store__writer_main, w)) {
    if (sync_started) { /* no writer thread: let the sync thread exit */
      pthread_mutex_lock(&w->mu);
      w->writer_exited = 1;
      pthread_cond_signal(&w->sync_cv);
      pthread_mutex_unlock(&w->mu);
      pthread_join(w->sync_thread, NULL);
    }
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
    uv_close((uv_handle_t *)&w->nap, on_closed);
    uv_close((uv_handle_t *)&w->wake, on_closed); /* frees w once the loop runs */
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
  uint64_t now = uv_hrtime();
  for (store_job_t *j = w->p_head; j; j = j->next) j->t_ns[STORE_STAMP_HANDOFF] = now;
  pthread_mutex_lock(&w->mu);
  store__jobs_append(&w->q_head, &w->q_tail, w->p_head, w->p_tail);
  w->q_len += w->p_len;
  w->q_len_seen = w->q_len;
  if (w->want && w->q_len >= w->want) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  w->p_head = w->p_tail = NULL;
  w->p_len = 0;
  uv_prepare_stop(&w->prep);
  uv_idle_stop(&w->keep_polling);
}

static void on_prepare_run(uv_prepare_t *h) { handoff(h->data); }

/* the turn log (util/turnlog.h) counts its time as writer_in */
static void on_prepare(uv_prepare_t *h)
{
  int tp = imc_turnlog_enter(IMC_TP_WRITER_IN);
  on_prepare_run(h);
  imc_turnlog_leave(tp);
}
static void on_idle(uv_idle_t *h) { (void)h; }

void store_writer_flush(store_writer_t *w) { handoff(w); }

int store_writer_submit(store_writer_t *w, store_job_t *job)
{
  assert(job->run && job->done);
  job->next = NULL;
  job->rc = 0;
  memset(job->t_ns, 0, sizeof job->t_ns);
  job->t_ns[STORE_STAMP_SUBMIT] = uv_hrtime();
  if (w->stopping) { /* set by store_writer_stop on this thread */
    job->rc = IMC_E_SHUTDOWN;
    pthread_mutex_lock(&w->mu);
    store__jobs_append(&w->d_head, &w->d_tail, job, job);
    pthread_mutex_unlock(&w->mu);
    w->inflight++;
    w->inflight_bytes += job->bytes;
    store__writer_wake(w);
    return 0;
  }
  if (job->bytes && w->max_bytes && w->inflight_bytes + job->bytes > w->max_bytes) {
    w->refused_bytes++;
    pthread_mutex_lock(&w->mu);
    w->stats.refused++;
    pthread_mutex_unlock(&w->mu);
    return IMC_E_OVERLOADED;
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
  store__jobs_append(&w->p_head, &w->p_tail, job, job);
  if (++w->inflight > w->inflight_max) w->inflight_max = w->inflight;
  if ((w->inflight_bytes += job->bytes) > w->inflight_bytes_max) w->inflight_bytes_max = w->inflight_bytes;
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

const imc_hist_t *store_writer_stages(store_writer_t *w) { return w->stages; }

void store_writer_set_ckpt_pages(store_writer_t *w, int pages)
{
  assert(pages > 0);
  pthread_mutex_lock(&w->mu);
  w->ckpt_pages = pages;
  pthread_mutex_unlock(&w->mu);
}

void store_writer_set_max_bytes(store_writer_t *w, uint64_t max_bytes) { w->max_bytes = max_bytes; }

int store_writer_set_cache_kib(store_writer_t *w, int64_t kib)
{
  assert(kib > 0);
  pthread_mutex_lock(&w->mu);
  /* nothing submitted yet: the writer thread waits for its first job and has not touched w->s */
  assert(!w->q_head && !w->p_head && !w->inflight && !w->stats.batches);
  int rc = store_cache_set_kib(w->s, kib);
  w->stats.cache_kib = store_cache_kib(w->s);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

void store_writer_set_pace(store_writer_t *w, unsigned pace_us, size_t pace_jobs)
{
  pthread_mutex_lock(&w->mu);
  w->pace_ns = (uint64_t)pace_us * 1000u;
  w->pace_jobs = pace_jobs;
  pthread_cond_signal(&w->cv); /* a wait under the old pace re-reads it */
  pthread_mutex_unlock(&w->mu);
}

void store_writer_set_ckpt_pinned(store_writer_t *w, int on)
{
  pthread_mutex_lock(&w->mu);
  w->ckpt_pinned = on != 0;
  pthread_mutex_unlock(&w->mu);
}

void store_writer_ckpt_stats(store_writer_t *w, store_ckpt_stats_t *out)
{
  pthread_mutex_lock(&w->mu);
  *out = w->ck_stats;
  pthread_mutex_unlock(&w->mu);
}

void store_writer_merge_stats(store_writer_t *w, imc_hist_t *out, uint64_t *total_ns)
{
  pthread_mutex_lock(&w->mu);
  *out = w->merges;
  *total_ns = w->merges_ns;
  pthread_mutex_unlock(&w->mu);
}

void store_writer_stats(store_writer_t *w, store_writer_stats_t *out)
{
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  out->queued = w->q_len + w->p_len;
  out->max_jobs = w->max_jobs;
  out->unsynced = w->unsynced;
  pthread_mutex_unlock(&w->mu);
  out->inflight = w->inflight;
  out->inflight_max = w->inflight_max;
  out->inflight_bytes = w->inflight_bytes;
  out->refused_bytes = w->refused_bytes;
  out->inflight_bytes_max = w->inflight_bytes_max;
}

size_t store_writer_inflight(const store_writer_t *w) { return w->inflight; }
uint64_t store_writer_inflight_bytes(const store_writer_t *w) { return w->inflight_bytes; }
