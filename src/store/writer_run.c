/* writer_run.c — the writer's two threads (store_writer.h; the state is
 * writer_int.h's, the loop side writer.c). The writer thread takes the
 * queue whole as a batch, runs its jobs in transactions (a SAVEPOINT per
 * job or per group of rerun_safe jobs, "Batches"), holds a COMMIT while the
 * sync thread has a batch or the pace says so and absorbs what is handed
 * over meanwhile ("Sync", "Pacing"), then appends the batch to the unsynced
 * list, runs the checkpoint's turn and merges the C2C logs while no job
 * waits. The sync thread takes that list whole, fdatasyncs the WAL, appends
 * it to the completion list and wakes the loop by writing the eventfd, once
 * until the loop takes the completions (wake_sent), after unlocking. The
 * writer thread alone uses w->s and w->ck (but for the blocking checkpoint
 * round, which the sync thread runs while the writer waits). */
#include "store/writer_int.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "util/log.h"

#include <assert.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

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
 * far): while the sync thread still has a batch (store_writer.h, "Sync")
 * or a blocking round's database sync (final_sync), wait, and append the
 * jobs handed over meanwhile to the transaction, while it holds fewer than
 * max_jobs; then, with pacing on, wait likewise until
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
    if (!w->unsynced && !w->final_sync && !(due = pace_due(w, *n, uv_hrtime()))) {
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

void *store__writer_main(void *arg)
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
    store__jobs_append(&w->s_head, &w->s_tail, batch, last); /* to the sync thread */
    w->s_batches++;
    w->unsynced++;
    pthread_cond_signal(&w->sync_cv);
    int db_syncing = w->final_sync; /* a batch without a COMMIT (its BEGIN failed) may end during the round's sync */
    int wal_broken = w->wal_broken;
    pthread_mutex_unlock(&w->mu);
    /* the batch is on its way to its sync: a checkpoint now delays no acknowledgement of it; a blocking
     * round runs on the sync thread, after that sync, while this thread waits (store_ckpt.h). None once a WAL
     * sync failed: frames written since may not be on disk, and a copy would put them in the database file. */
    int blocking = db_syncing || wal_broken ? 0 : store_ckpt_run(&w->ck);
    pthread_mutex_lock(&w->mu);
    if (blocking) {
      w->ckpt_asked = 1;
      pthread_cond_signal(&w->sync_cv);
      while (w->ckpt_asked) pthread_cond_wait(&w->cv, &w->mu);
    }
    /* While a split round's database sync runs the sync thread writes ck.st and copies it at the end, and a
     * merge chunk's COMMIT would append (the pin forbids the restart). With no job queued the writer waits for
     * that sync, then merges as after any batch; a hand-over wakes it to run the jobs (their COMMIT waits), and
     * the chunks wait for the next batch. */
    while (w->final_sync && !w->q_head && !w->stopping) {
      w->want = 1;
      pthread_cond_wait(&w->cv, &w->mu);
      w->want = 0;
    }
    if (!w->final_sync) w->ck_stats = w->ck.st;
    /* the C2C logs' merge (store_msg_merge): chunks while no job waits */
    for (int more = 1; more && !w->stopping && !w->final_sync;) {
      int mode = w->q_head ? STORE_MERGE_BUSY : STORE_MERGE_IDLE;
      pthread_mutex_unlock(&w->mu);
      uint64_t t0 = uv_hrtime();
      uint64_t writes = mode == STORE_MERGE_IDLE && w->wal_counted ? store_wal_writes() : 0;
      if (store_msg_merge(w->s, mode, &more)) more = 0; /* a failed chunk changed nothing: after the next batch */
      uint64_t took = uv_hrtime() - t0;
      int moved = mode == STORE_MERGE_IDLE && (!w->wal_counted || store_wal_writes() != writes); /* it committed */
      pthread_mutex_lock(&w->mu);
      if (moved) { /* store_writer_merge_stats */
        imc_hist_add(&w->merges, took);
        w->merges_ns += took;
      }
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
void *store__writer_sync_main(void *arg)
{
  store_writer_t *w = arg;
  store__helper_start("imc-sync", 0); /* at the loop's priority: lowering it did not pay (docs/decisions/loop-turns.md) */
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->s_head && !w->ckpt_asked && !w->writer_exited) pthread_cond_wait(&w->sync_cv, &w->mu);
    if (!w->s_head && w->ckpt_asked) { /* every batch committed is synced and handed back: the round, then the writer */
      pthread_mutex_unlock(&w->mu);
      int syncing = store_ckpt_final_copy(&w->ck); /* 1: the copy is published, its database sync follows */
      pthread_mutex_lock(&w->mu);
      w->ckpt_asked = 0;
      w->final_sync = syncing;
      pthread_cond_signal(&w->cv); /* the writer goes on: its next transaction runs, its COMMIT waits (absorb) */
      if (syncing) {
        pthread_mutex_unlock(&w->mu);
        store_ckpt_final_sync(&w->ck);
        pthread_mutex_lock(&w->mu);
        w->final_sync = 0;
        w->ck_stats = w->ck.st; /* the writer does not COMMIT (the hook) nor run store_ckpt_run before it sees 0 */
        pthread_cond_signal(&w->cv);
      }
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
      store_db_keep_wal(w->ck.db_path); /* a stop leaves the WAL to the next start's recovery (store_ckpt.h) */
      IMC_ERROR("store", "msg=\"WAL sync failed: commits are no longer acknowledged, checkpoints stop; restart the "
                         "server\" err=%s", imc_err_name(rc));
    }
    for (store_job_t *j = first; j; j = j->next) {
      j->t_ns[STORE_STAMP_SYNC] = t0;
      j->t_ns[STORE_STAMP_SYNCED] = t1;
      if (rc && !j->rc) j->rc = rc; /* committed, durability unknown */
    }
    pthread_mutex_lock(&w->mu);
    if (clean) w->stats.syncs_skipped++;
    else w->stats.syncs++;
    if (rc) {
      w->stats.sync_failed++;
      w->wal_broken = 1;
    }
    w->unsynced -= n;
    pthread_cond_signal(&w->cv); /* the writer's open transaction may commit now */
    store__jobs_append(&w->d_head, &w->d_tail, first, last);
    int wake = !w->wake_sent;
    w->wake_sent = 1;
    pthread_mutex_unlock(&w->mu);
    if (wake) store__writer_wake(w);
    pthread_mutex_lock(&w->mu);
  }
  w->exited = 1;
  w->wake_sent = 1;
  pthread_mutex_unlock(&w->mu);
  store__writer_wake(w);
  return NULL;
}
