/* writer_int.h — what the files of the writer share (store_writer.h is
 * the interface): the writer's state, the job lists' append and the loop's
 * wake-up. writer.c is the loop side (start and stop, submit and the
 * hand-over, the completions and the stage histograms), writer_nap.c the
 * loop's nap while jobs are in flight; writer_run.c is the
 * writer thread (batches, transactions, pacing, checkpoints' turn, the
 * merge) and the sync thread. Queue, unsynced list, completion list and
 * counters are guarded by one mutex (mu); each field below says who owns
 * it. */
#ifndef IMC_STORE_WRITER_INT_H
#define IMC_STORE_WRITER_INT_H

#include "store/store_writer.h"
#include "store/store_ckpt.h"

#include <pthread.h>
#include <stdint.h>
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
  int wal_broken;                    /* under mu: a WAL sync failed (sync_err set); the writer starts no more checkpoints */
  int wal_counted;                   /* set at start: the WAL's writes are counted (store_wal_counted) */
  int synced_once;                   /* sync thread: a sync succeeded, and synced_writes is what it covered */
  uint64_t synced_writes;            /* sync thread: store_wal_writes() read before that sync */
  char *hold_path;                   /* test hook: IMCLOUD_TEST_SYNC_HOLD */
  uv_prepare_t prep;                 /* active while the pending list is not empty */
  uv_idle_t keep_polling;            /* likewise: the poll does not block while jobs are pending */
  uv_prepare_t nap;                  /* the loop's nap (writer_nap.c): always started, unreferenced */
  uint64_t nap_ns;                   /* loop thread: store_writer_set_nap's interval; 0 = off */
  uint64_t nap_poll_ns;              /* loop thread: when the loop last entered its poll (the nap's end) */
  uint64_t naps, nap_total_ns;       /* loop thread: naps taken, and the time slept in them */
  uint64_t naps_cut;                 /* loop thread: naps during which another thread announced a completion (it
                                      * ends them), or that one announced before kept from beginning */
  int napping;                       /* atomic (seq_cst): the loop is in a nap or about to enter one */
  int nap_end;                       /* atomic (seq_cst): store_writer_nap_end called since the last nap began or
                                      * store_writer_nap_taken */
  int open_handles;                  /* wake, prep, idle and nap until closed; w is freed at 0 */
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
  imc_hist_t merges;                 /* under mu: idle merge calls' wall time (store_writer_merge_stats) */
  uint64_t merges_ns;                /* under mu: their sum */
  int ckpt_pages;                    /* under mu: the threshold to use from the next batch on (0: unchanged) */
  int ckpt_pinned;                   /* under mu: pinned rounds on (1) or off (0) from the next batch on */
  int ckpt_asked;                    /* under mu: the writer waits for the sync thread to run a blocking round */
  int final_sync;                    /* under mu: that round's database sync runs (sync thread, store_ckpt_final_sync):
                                      * the writer runs jobs but does not COMMIT, and neither merges nor reads ck.st */
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

/* Start the nap's prepare handle (writer_nap.c); store_writer_start, before
 * any other prepare handle of the loop is started. */
void store__writer_nap_init(store_writer_t *w);

/* Append the chain first … last to the list head/tail (the caller holds mu
 * for a shared list). */
static inline void store__jobs_append(store_job_t **head, store_job_t **tail, store_job_t *first, store_job_t *last)
{
  if (*tail) (*tail)->next = first; else *head = first;
  *tail = last;
}

/* Wake the loop (on_wake in writer.c): the eventfd's counter goes non-zero. */
static inline void store__writer_wake(store_writer_t *w)
{
  uint64_t one = 1;
  if (write(w->wake_fd, &one, sizeof one) < 0) { /* EAGAIN only: the counter is already non-zero */ }
}

/* The writer thread's and the sync thread's bodies (writer_run.c), started
 * by store_writer_start with w. */
void *store__writer_main(void *arg);
void *store__writer_sync_main(void *arg);

#endif
