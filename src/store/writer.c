/* writer.c — see store_writer.h. Queue, unsynced list, completion list and
 * counters are guarded by one mutex. The writer thread runs batches and
 * appends each committed one to the unsynced list; the sync thread takes
 * that list whole, fdatasyncs the WAL, appends it to the completion list and
 * wakes the loop by writing an eventfd the loop polls, once until the loop
 * takes the completions (wake_sent), after unlocking. Not uv_async_send: libuv 1.44's loop side
 * spins (pause, then sched_yield) until the sending thread finishes its
 * send, and a writer thread preempted inside uv_async_send by a loop thread
 * of higher priority on the same core never finishes it (sched_yield does
 * not yield to a lower priority): the loop burnt its core until the kernel's
 * real-time throttling let the writer run. The pending list (submitted, not yet handed over) and its
 * length belong to the loop thread alone; a uv_prepare_t hands it over once
 * per loop turn (an idle handle, active meanwhile, keeps the poll from
 * blocking, so a job submitted after the prepare phase still goes out in
 * the next turn). The writer thread alone uses w->s. */
#include "store/store_writer.h"
#include "store/store_ckpt.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "util/log.h"
#include "util/turnlog.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct store_writer {
  uv_loop_t *loop;
  uv_poll_t wake;                    /* readable: completions (or the exit) wait */
  int wake_fd;                       /* the eventfd behind it */
  int wake_sent;                     /* under mu: written, the loop has not taken the completions yet */
  pthread_t sync_thread;
  pthread_cond_t sync_cv;            /* the sync thread waits for committed batches */
  store_job_t *s_head, *s_tail;      /* under mu: committed, not yet taken by the sync thread */
  size_t s_batches;                  /* under mu: batches in that list */
  size_t unsynced;                   /* under mu: batches committed whose sync has not returned */
  int wal_fd;                        /* the sync thread's descriptor on the WAL (store_ckpt.h) */
  int sync_err;                      /* sync thread: the first failed sync's error, sticky (store_writer.h, "Sync") */
  int wal_counted;                   /* set at start: the WAL's writes are counted (store_wal_counted) */
  int synced_once;                   /* sync thread: a sync succeeded, and synced_writes is what it covered */
  uint64_t synced_writes;            /* sync thread: store_wal_writes() read before that sync */
  char *hold_path;                   /* test hook: IMCLOUD_TEST_SYNC_HOLD */
  uv_prepare_t prep;                 /* active while the pending list is not empty */
  uv_idle_t keep_polling;            /* likewise: the poll does not block while jobs are pending */
  int open_handles;                  /* wake, prep and idle until closed; w is freed at 0 */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job_t *q_head, *q_tail;      /* submitted, not yet run */
  size_t q_len, max_jobs;
  store_job_t *d_head, *d_tail;      /* committed, done() not yet called */
  store_job_t *p_head, *p_tail;      /* loop thread: submitted, not yet handed over */
  size_t p_len;                      /* loop thread */
  size_t q_len_seen;                 /* loop thread: q_len at the last hand-over, ≥ the true q_len */
  size_t inflight;                   /* loop thread: submitted and taken, done() not yet called */
  size_t inflight_max;               /* loop thread: the highest inflight ever */
  uint64_t inflight_bytes, inflight_bytes_max; /* loop thread: the bytes those jobs hold (store_job_t.bytes) */
  uint64_t max_bytes;                /* loop thread: the byte cap (0: none) */
  uint64_t refused_bytes;            /* loop thread: submits refused by it */
  size_t want;                       /* under mu: a hand-over that leaves this many jobs queued wakes the writer (0: none) */
  uint64_t pace_ns;                  /* under mu: the pace (store_writer.h, "Pacing"); 0 = off */
  size_t pace_jobs;                  /* under mu: a transaction of this many jobs commits without waiting for the pace */
  uint64_t last_commit_ns;           /* writer thread: when the last batch's COMMIT started */
  int stopping;
  int writer_exited, exited;         /* under mu: the writer thread, then the sync thread, have finished */
  store_t *s;
  store_ckpt_t ck;                   /* writer thread: the checkpoints of w->s (store_ckpt.h) */
  store_ckpt_stats_t ck_stats;       /* under mu: a copy of ck.st after each batch */
  int ckpt_pages;                    /* under mu: the threshold to use from the next batch on (0: unchanged) */
  int ckpt_pinned;                   /* under mu: pinned rounds on (1) or off (0) from the next batch on */
  int ckpt_asked;                    /* under mu: the writer waits for the sync thread to run a blocking round */
  void (*stopped)(void *);
  void *stopped_arg;
  store_writer_stats_t stats;        /* under mu */
  imc_hist_t stages[STORE_STAGES];   /* loop thread (store_writer.h, "Stages") */
  uint64_t last_committed_ns;        /* loop thread: the COMMIT counted last into STORE_STAGE_COMMITS */
  uint64_t last_synced_ns;           /* loop thread: the sync counted last into STORE_STAGE_SYNCS */
  uint64_t run_t[STORE_STAMPS];      /* loop thread: the stamps HANDOFF … SYNCED of the last job counted (count_stages) */
  uint32_t run_n;                    /* loop thread: jobs with those stamps not yet counted into WAIT … SYNC */
  uint64_t back_ns; uint32_t back_n; /* loop thread: the BACK interval of the last job counted; jobs with it not yet counted */
  void (*more)(void *);              /* loop thread: store_writer_on_more */
  void *more_arg;
};

const char *const store_stage_names[STORE_STAGES] = { "queue", "wait", "run", "commit", "sync_wait", "sync",
                                                      "back", "total", "commits", "syncs" };

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

/* Write what the connection holds back (the C2C rows of sqlite_msg_pend.c
 * go out before every transaction statement) into the open transaction: a
 * failure shows here, inside the group that made the rows, and not in the
 * next job's statement or the COMMIT. */
static int write_held(store_writer_t *w)
{
  int rc = store_exec(w->s, "SAVEPOINT held");
  return rc ? rc : store_exec(w->s, "RELEASE held");
}

/* Run the consecutive rerun_safe jobs from `first` under one SAVEPOINT
 * (store_writer.h, "Batches"); returns the last job run. If one fails with
 * the transaction intact, the savepoint is rolled back (that job's writes
 * and the group's), the jobs before it run again each in its own SAVEPOINT,
 * and it keeps its error. If the engine drops the transaction, returns the
 * job during which it happened (the caller fails the batch so far).
 * *bare: the transaction's first job while every job run in it so far was
 * rerun_safe and ran in such a group, else NULL. Then the group runs
 * without a SAVEPOINT — a savepoint copies every page it first touches into
 * its sub-journal, 13 % of a C2C message's writer instructions in commits
 * of 120 (docs/decisions/messaging-c2c-append.md §16) — and a failure
 * rolls the whole transaction back, begins it again and reruns every job
 * of it before the failed one (all rerun_safe) one savepoint each; *bare
 * is then NULL. If that BEGIN fails, the jobs are returned as lost with
 * the transaction (the caller fails them). */
static store_job_t *run_group(store_writer_t *w, store_job_t *first, store_job_t **bare)
{
  store_job_t *from = *bare;
  if (!from && store_exec(w->s, "SAVEPOINT jobs")) { run_one(w, first); return first; }
  store_job_t *j = first, *last = first;
  for (; j && j->rerun_safe; j = j->next) {
    last = j;
    if ((j->rc = j->run(w->s, j->arg))) break;
    if (!store_in_transaction(w->s)) return j;
  }
  if (!store_in_transaction(w->s)) return last;
  if (!last->rc && !(from ? write_held(w) : store_exec(w->s, "RELEASE jobs"))) return last;
  if (!store_in_transaction(w->s)) return last;
  *bare = NULL;
  if (from) { /* a job failed (or writing the held rows did): undo the transaction, all of it rerun_safe */
    store_exec(w->s, "ROLLBACK");
    if (store_exec(w->s, "BEGIN IMMEDIATE")) return last;
  } else {
    store_exec(w->s, "ROLLBACK TO jobs"); /* a job failed (or the RELEASE did): undo the group */
    store_exec(w->s, "RELEASE jobs");
    from = first;
  }
  store_job_t *stop = last->rc ? last : last->next; /* the failed job keeps its error and stays undone */
  for (j = from; j != stop; j = j->next) {
    run_one(w, j);
    if (!store_in_transaction(w->s)) return j;
  }
  return last;
}

/* Wait on w->cv (mu held) until signalled or, if due (uv_hrtime ns,
 * CLOCK_MONOTONIC) is not 0, until due. */
static void wait_until(store_writer_t *w, uint64_t due)
{
  if (!due) { pthread_cond_wait(&w->cv, &w->mu); return; }
  struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u) };
  pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* Under mu: the earliest time (uv_hrtime ns) the pace lets a transaction of
 * n jobs COMMIT (store_writer.h, "Pacing"), or 0 if it may now (pacing
 * off, n at pace_jobs or at the cap, stopping, or no COMMIT yet). */
static uint64_t pace_due(const store_writer_t *w, size_t n, uint64_t now)
{
  if (!w->pace_ns || n >= w->pace_jobs || n >= w->max_jobs || w->stopping || !w->last_commit_ns) return 0;
  uint64_t due = w->last_commit_ns + w->pace_ns;
  return due > now ? due : 0;
}

/* Under mu: the queue length at which a hand-over wakes the writer while
 * its transaction holds n jobs (n 0: none open) and pacing may hold its
 * COMMIT: enough to COMMIT at once, at most STORE_WRITER_PACE_WAKE_JOBS;
 * 1 without pacing (every hand-over). */
static size_t pace_want(const store_writer_t *w, size_t n)
{
  if (!w->pace_ns) return 1;
  size_t left = n < w->pace_jobs ? w->pace_jobs - n : STORE_WRITER_PACE_WAKE_JOBS;
  if (left > STORE_WRITER_PACE_WAKE_JOBS) left = STORE_WRITER_PACE_WAKE_JOBS;
  return left < w->max_jobs ? left : w->max_jobs; /* the queue never holds more */
}

/* Under mu: append the whole queue to the transaction after tail (*n jobs). */
static store_job_t *take(store_writer_t *w, store_job_t *tail, size_t *n)
{
  store_job_t *got = w->q_head;
  tail->next = got;
  *n += w->q_len;
  w->q_head = w->q_tail = NULL;
  w->q_len = 0;
  return got;
}

/* Before the COMMIT of a transaction whose last job is tail (*n jobs so
 * far): while the sync thread still has a batch (store_writer.h, "Sync"),
 * wait, and append the jobs handed over meanwhile to the transaction, while
 * it holds fewer than max_jobs; then, with pacing on, wait likewise until
 * the pace lets it COMMIT ("Pacing"), and take what is queued then once
 * more (*final: that take was made). Returns the first job appended (the
 * caller runs them and calls again), or NULL: time to COMMIT. Woken by a
 * hand-over only once the queue holds pace_want jobs (every hand-over
 * without pacing); the sync's return and the pace's deadline wake it
 * anyway. */
static store_job_t *absorb(store_writer_t *w, store_job_t *tail, size_t *n, store_writer_stats_t *st, int *final)
{
  store_job_t *got = NULL;
  int paced = 0;
  pthread_mutex_lock(&w->mu);
  if (w->unsynced) st->commit_waits++;
  for (;;) {
    int room = *n < w->max_jobs;
    size_t want = room ? pace_want(w, *n) : 0;
    uint64_t due = 0;
    if (!w->unsynced && !(due = pace_due(w, *n, uv_hrtime()))) {
      /* COMMIT now; with pacing, what was handed over during the waits joins first, once */
      if (w->pace_ns && room && w->q_head && *n < w->pace_jobs && !*final) { got = take(w, tail, n); *final = 1; }
      break;
    }
    if (due && !paced) { paced = 1; st->paced++; }
    if (w->q_head && room && (w->q_len >= want || due)) { got = take(w, tail, n); break; }
    w->want = want;
    wait_until(w, due);
    w->want = 0;
  }
  pthread_mutex_unlock(&w->mu);
  uint64_t now = uv_hrtime();
  for (store_job_t *j = got; j; j = j->next)
    j->t_ns[STORE_STAMP_TAKEN] = j->t_ns[STORE_STAMP_COMMIT] = j->t_ns[STORE_STAMP_COMMITTED] = now;
  return got;
}

/* Run jobs from `first` on in one transaction until the list ends (and no
 * more jobs are absorbed: see absorb) or the engine drops the transaction;
 * returns the first job not run (NULL when all ran). Counts into *st (the
 * caller adds it under the mutex). */
static store_job_t *run_txn(store_writer_t *w, store_job_t *first, store_writer_stats_t *st)
{
  st->batches++;
  int rc = store_exec(w->s, "BEGIN IMMEDIATE");
  if (rc) { /* nothing ran: the whole rest fails with the reason (IMC_E_BUSY: the CLI held the lock too long) */
    for (store_job_t *j = first; j; j = j->next) j->rc = rc;
    return NULL;
  }
  size_t n = 0;
  int final = 0; /* absorb: the pace's last take was made */
  for (store_job_t *j = first; j; j = j->next) n++;
  store_job_t *bare = first; /* see run_group */
  for (store_job_t *j = first; j; j = j->next) {
    if (j->rerun_safe && j->next && j->next->rerun_safe) j = run_group(w, j, &bare);
    else { run_one(w, j); bare = NULL; }
    if (store_in_transaction(w->s) && !j->next && absorb(w, j, &n, st, &final)) continue; /* j->next: the jobs absorbed */
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
  uint64_t t0 = uv_hrtime();
  w->last_commit_ns = t0; /* the pace counts from here (writer thread) */
  if ((rc = store_exec(w->s, "COMMIT"))) {
    if (store_in_transaction(w->s)) store_exec(w->s, "ROLLBACK");
    IMC_ERROR("store", "msg=\"batch commit failed\" err=%s", imc_err_name(rc));
    fail_succeeded(first, NULL, IMC_E_IO);
  }
  uint64_t t1 = uv_hrtime();
  for (store_job_t *j = first; j; j = j->next) {
    j->t_ns[STORE_STAMP_COMMIT] = t0;
    j->t_ns[STORE_STAMP_COMMITTED] = t1;
  }
  return NULL;
}

/* Run the batch (and the jobs its transactions absorbed); returns its last job. */
static store_job_t *run_batch(store_writer_t *w, store_job_t *batch, store_writer_stats_t *st)
{
  uint64_t now = uv_hrtime();
  for (store_job_t *j = batch; j; j = j->next) { /* a transaction lost by the engine leaves its jobs at "now" */
    j->t_ns[STORE_STAMP_TAKEN] = j->t_ns[STORE_STAMP_COMMIT] = j->t_ns[STORE_STAMP_COMMITTED] = now;
  }
  for (store_job_t *next = batch; next;) next = run_txn(w, next, st);
  assert(!store_in_transaction(w->s));
  store_job_t *last = batch;
  for (store_job_t *j = batch; j; j = j->next) { st->jobs++; if (j->rc) st->failed_jobs++; last = j; }
  return last;
}

/* A store helper thread's start (writer, sync, reader): its name (`top
 * -H`, perf, /proc/PID/task/TID/comm) and, lower (the writer), its
 * priority below the loop thread that started it (store_writer.h,
 * "Priority"): STORE_WRITER_NICE nice steps above it and, if that one runs
 * real-time, one real-time priority below it (the normal policy below the
 * lowest). Best effort: a refusal leaves the inherited priority. */
void store__helper_start(const char *name, int lower)
{
  pthread_setname_np(pthread_self(), name); /* at most 15 bytes */
  if (!lower) return;
  int policy, nice_now = getpriority(PRIO_PROCESS, 0);
  struct sched_param sp;
  if (!pthread_getschedparam(pthread_self(), &policy, &sp) && (policy == SCHED_FIFO || policy == SCHED_RR)) {
    if (sp.sched_priority > sched_get_priority_min(policy)) sp.sched_priority--;
    else { policy = SCHED_OTHER; sp.sched_priority = 0; }
    pthread_setschedparam(pthread_self(), policy, &sp);
  }
  setpriority(PRIO_PROCESS, (id_t)gettid(), nice_now + STORE_WRITER_NICE); /* Linux: this thread only */
}

static void wake_loop(store_writer_t *w)
{
  uint64_t one = 1;
  if (write(w->wake_fd, &one, sizeof one) < 0) { /* EAGAIN only: the counter is already non-zero */ }
}

static void *writer_main(void *arg)
{
  store_writer_t *w = arg;
  store__helper_start("imc-writer", 1);
  pthread_mutex_lock(&w->mu);
  for (;;) {
    for (int paced = 0; !w->q_head && !w->stopping;) {
      /* with pacing, until the pace lets a COMMIT go, only a queue worth a wake-up wakes it (store_writer.h, "Pacing") */
      uint64_t due = pace_due(w, 0, uv_hrtime());
      w->want = due ? pace_want(w, 0) : 1;
      if (due && !paced) { paced = 1; w->stats.paced++; }
      wait_until(w, due);
      w->want = 0;
    }
    if (!w->q_head && w->stopping) break;
    store_job_t *batch = w->q_head, *last = w->q_tail;
    w->q_head = w->q_tail = NULL;
    w->q_len = 0;
    if (w->ckpt_pages) { w->ck.pages = w->ckpt_pages; w->ckpt_pages = 0; }
    w->ck.pinned_on = w->ckpt_pinned;
    pthread_mutex_unlock(&w->mu);
    store_writer_stats_t st = { 0 };
    last = run_batch(w, batch, &st);
    pthread_mutex_lock(&w->mu);
    w->stats.batches += st.batches;
    w->stats.jobs += st.jobs;
    w->stats.failed_jobs += st.failed_jobs;
    w->stats.txn_lost += st.txn_lost;
    w->stats.commit_waits += st.commit_waits;
    w->stats.paced += st.paced;
    append(&w->s_head, &w->s_tail, batch, last); /* to the sync thread */
    w->s_batches++;
    w->unsynced++;
    pthread_cond_signal(&w->sync_cv);
    pthread_mutex_unlock(&w->mu);
    /* the batch is on its way to its sync: a checkpoint now delays no acknowledgement of it; a blocking
     * round runs on the sync thread, after that sync, while this thread waits (store_ckpt.h) */
    int blocking = store_ckpt_run(&w->ck);
    pthread_mutex_lock(&w->mu);
    if (blocking) {
      w->ckpt_asked = 1;
      pthread_cond_signal(&w->sync_cv);
      while (w->ckpt_asked) pthread_cond_wait(&w->cv, &w->mu);
    }
    w->ck_stats = w->ck.st;
    /* the C2C logs' merge (store_msg_merge): chunks while no job waits */
    for (int more = 1; more && !w->stopping;) {
      int mode = w->q_head ? STORE_MERGE_BUSY : STORE_MERGE_IDLE;
      pthread_mutex_unlock(&w->mu);
      if (store_msg_merge(w->s, mode, &more)) more = 0; /* a failed chunk changed nothing: after the next batch */
      pthread_mutex_lock(&w->mu);
    }
  }
  w->writer_exited = 1;
  pthread_cond_signal(&w->sync_cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Test hook (store_writer.h, "Sync"): wait while the hold file exists. */
static void sync_hold(store_writer_t *w)
{
  while (w->hold_path && !access(w->hold_path, F_OK)) usleep(2000);
}

/* The sync thread: the batches committed so far (one, unless a batch
 * ended without a COMMIT), one fdatasync, then back to the loop, in
 * commit order. Exits once the writer thread has and every batch is
 * synced. The test hook holds it before the sync. */
static void *sync_main(void *arg)
{
  store_writer_t *w = arg;
  store__helper_start("imc-sync", 0); /* at the loop's priority: lowering it did not pay (docs/decisions/loop-turns.md) */
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->s_head && !w->ckpt_asked && !w->writer_exited) pthread_cond_wait(&w->sync_cv, &w->mu);
    if (!w->s_head && w->ckpt_asked) { /* every batch committed is synced and handed back: the round, then the writer */
      pthread_mutex_unlock(&w->mu);
      store_ckpt_blocking(&w->ck);
      pthread_mutex_lock(&w->mu);
      w->ckpt_asked = 0;
      pthread_cond_signal(&w->cv);
      continue;
    }
    if (!w->s_head) break;
    store_job_t *first = w->s_head, *last = w->s_tail;
    size_t n = w->s_batches;
    w->s_head = w->s_tail = NULL;
    w->s_batches = 0;
    pthread_mutex_unlock(&w->mu);
    sync_hold(w);
    uint64_t t0 = uv_hrtime();
    /* covers every COMMIT that returned before; skipped when no WAL write returned since the last
     * successful sync started (the batches wrote nothing: store_writer.h, "Sync") */
    uint64_t writes = w->wal_counted ? store_wal_writes() : 0;
    int clean = !w->sync_err && w->wal_counted && w->synced_once && writes == w->synced_writes;
    int rc = w->sync_err ? w->sync_err : clean ? 0 : store_wal_sync(w->wal_fd);
    if (!rc && !clean) {
      w->synced_writes = writes;
      w->synced_once = 1;
    }
    uint64_t t1 = uv_hrtime();
    if (rc && !w->sync_err) {
      w->sync_err = rc;
      IMC_ERROR("store", "msg=\"WAL sync failed: commits are no longer acknowledged; restart the server\" err=%s",
                imc_err_name(rc));
    }
    for (store_job_t *j = first; j; j = j->next) {
      j->t_ns[STORE_STAMP_SYNC] = t0;
      j->t_ns[STORE_STAMP_SYNCED] = t1;
      if (rc && !j->rc) j->rc = rc; /* committed, durability unknown */
    }
    pthread_mutex_lock(&w->mu);
    if (clean) w->stats.syncs_skipped++;
    else w->stats.syncs++;
    if (rc) w->stats.sync_failed++;
    w->unsynced -= n;
    pthread_cond_signal(&w->cv); /* the writer's open transaction may commit now */
    append(&w->d_head, &w->d_tail, first, last);
    int wake = !w->wake_sent;
    w->wake_sent = 1;
    pthread_mutex_unlock(&w->mu);
    if (wake) wake_loop(w);
    pthread_mutex_lock(&w->mu);
  }
  w->exited = 1;
  w->wake_sent = 1;
  pthread_mutex_unlock(&w->mu);
  wake_loop(w);
  return NULL;
}

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
    wake_loop(w);
    if (w->more) w->more(w->more_arg);
    return;
  }
  if (exited && !uv_is_closing((uv_handle_t *)p)) {
    pthread_join(w->thread, NULL);
    pthread_join(w->sync_thread, NULL);
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
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
  w->open_handles = 3;
  int sync_started = !pthread_create(&w->sync_thread, NULL, sync_main, w);
  if (!sync_started || pthread_create(&w->thread, NULL, writer_main, w)) {
    if (sync_started) { /* no writer thread: let the sync thread exit */
      pthread_mutex_lock(&w->mu);
      w->writer_exited = 1;
      pthread_cond_signal(&w->sync_cv);
      pthread_mutex_unlock(&w->mu);
      pthread_join(w->sync_thread, NULL);
    }
    uv_close((uv_handle_t *)&w->prep, on_closed);
    uv_close((uv_handle_t *)&w->keep_polling, on_closed);
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
  append(&w->q_head, &w->q_tail, w->p_head, w->p_tail);
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
    append(&w->d_head, &w->d_tail, job, job);
    pthread_mutex_unlock(&w->mu);
    w->inflight++;
    w->inflight_bytes += job->bytes;
    wake_loop(w);
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
  append(&w->p_head, &w->p_tail, job, job);
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
