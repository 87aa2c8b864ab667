/* store_writer.h — the writer thread: all of the server's writes, group-
 * committed, so the event loop never blocks on disk.
 *
 * Threads: store_writer_start/submit/stop/stats are called on the loop
 * thread; run() executes on the writer thread with the writer's own store_t;
 * done() runs on the loop thread.
 *
 * Hand-over: a submit only appends the job to a list of the loop thread (no
 * lock, no wake-up). The list is handed to the writer thread once per loop
 * turn, in a uv_prepare_t callback (just before the loop blocks for I/O), or
 * at once when it reaches STORE_WRITER_HANDOFF_MAX jobs, or by
 * store_writer_flush: one lock and at most one wake-up per hand-over. While
 * jobs are pending a uv_idle_t keeps the loop's poll from blocking, so a job
 * submitted after the hand-over of its turn (from another prepare callback,
 * a check callback) goes out in the next turn, never waits for I/O. Waking
 * the writer per job made it preempt the loop on a shared core and commit
 * batches of one or two jobs, each paying an fsync and two context switches.
 *
 * Cap and backpressure: at most max_jobs jobs wait (submitted, not yet taken
 * by the writer thread, whether handed over or not). A submit beyond that is
 * refused at once with IMC_E_OVERLOADED and the job is not taken (done() is
 * never called for it): the producer answers its client "server busy, retry"
 * (compatible code 60018). The loop keeps WebSocket input from reaching
 * the cap: it stops reading logged-in connections while
 * store_writer_inflight() is at its high watermark (src/api/ws_pace.c).
 * The writer takes the whole queue as one batch
 * (and a transaction takes more while it waits for a sync, until it holds
 * max_jobs, see Sync), so memory held by jobs is bounded by five times the
 * cap (one queue filling, one transaction running and one batch waiting
 * for its sync, each under twice the cap).
 *
 * Sync: a COMMIT does not sync the WAL (synchronous=NORMAL, store_ckpt.h);
 * the committed batch goes to the writer's sync thread, which fdatasyncs
 * the WAL, and only then hands the batch's jobs back to the loop — while
 * the writer thread already runs the next batch. So a job's done() runs
 * only once its COMMIT is durable, and the fsync no longer holds the next
 * batch's run. One batch at most is committed and not yet synced: the
 * writer's next transaction, once its jobs ran, waits for that sync before
 * its COMMIT, and meanwhile takes the jobs that arrive into the same
 * transaction (until it holds max_jobs), so there is at most one COMMIT
 * per sync: more COMMITs during one sync would all wait for the same next
 * one, each paying for its pages. If an fdatasync fails,
 * the jobs it covered get IMC_E_IO although they committed (whether their
 * frames reached the disk is not known), and so does every job after it
 * until the server restarts: after a failed sync the kernel may have
 * dropped the WAL's unwritten pages, and the WAL is replayed only up to its
 * first missing frame, so no later sync can vouch for a commit. From then
 * on the writer starts no checkpoint (a copy would put frames that may not be
 * on disk into the database file) and the process's connections close
 * without SQLite's checkpoint (store_ckpt.h store_db_keep_wal), so a stop
 * leaves the WAL to the next start's recovery; /healthz says "failing"
 * (docs/operator-api.md). A batch
 * that wrote nothing to the WAL (its jobs only read, or changed nothing,
 * as a retention pass over an idle app does) needs no sync: when the
 * process has made no WAL write since the last successful sync started
 * (store_wal_writes, counted by the coalescing VFS once each write has
 * returned), the sync thread hands the batches back without one
 * (syncs_skipped). A writer whose connection is not on that VFS always
 * syncs. Reads on
 * other connections (the reader pool) see a batch from its COMMIT on,
 * before its sync: docs/delivery.md says what that means.
 * Pacing (off by default; store_writer_set_pace, the server's
 * writer_pace_us and writer_pace_jobs): a COMMIT of fewer than pace_jobs
 * jobs waits, besides the previous batch's sync, until pace_us have passed
 * since the previous batch's COMMIT started, taking the jobs handed over
 * meanwhile (and once more those queued when it ends) into the same
 * transaction. Each COMMIT and its fdatasync cost a fixed ~0.5 ms of the
 * server's CPU whatever they cover (docs/BENCHMARKS.md, branch syncpace):
 * at moderate load, pacing makes each one cover pace_us of sends instead of
 * one sync's worth. Bound: a job's acknowledgement waits at most pace_us
 * longer than without pacing (it commits no later than pace_us after the
 * COMMIT before it, which it would have waited for anyway); a COMMIT that
 * follows an idle period longer than pace_us, or a transaction that
 * reached pace_jobs, does not wait at all; a stopping writer does not
 * wait. While pacing may hold a COMMIT (and during a sync), a hand-over
 * wakes the writer thread only once the queue holds enough to COMMIT at
 * once or STORE_WRITER_PACE_WAKE_JOBS jobs, not at every loop turn.
 * Test hook: with IMCLOUD_TEST_SYNC_HOLD=PATH in the environment at
 * store_writer_start, the sync thread waits before each sync while PATH
 * exists (tests/e2e/test_ack_after_sync.c).
 *
 * Nap (store_writer_set_nap, the server's loop_nap_us):
 * while jobs are in flight, the loop enters its poll at most once per
 * nap_us, sleeping the rest of the interval in a wait that only the
 * writer's completions end, and another thread's announced with
 * store_writer_nap_end (the reader pool's) (writer_nap.c): at moderate load a turn then
 * reads the input of nap_us instead of one message, and the writer runs
 * without being preempted per message. Bound: a socket's input (and a
 * timer) is taken up to nap_us later, only while jobs are in flight; an
 * acknowledgement is not delayed (a completion ends the nap); a turn that
 * began more than nap_us after the previous poll, a loop with work due at
 * once and a stopping writer do not nap.
 *
 * Checkpoints: the writer's connection does not checkpoint its WAL inside a
 * COMMIT; the writer thread starts them after it has handed the committed
 * batch to the sync thread (store_ckpt.h); a blocking round runs on the sync
 * thread once that batch is synced and handed back, while the writer thread
 * waits for its copy. Its database sync follows on the sync thread
 * (store_ckpt_final_sync): meanwhile the writer runs the next jobs in its
 * next transaction, but that COMMIT waits for the sync, as it waits for a
 * batch's (absorbing what is handed over), and it restarts the WAL (with
 * no job queued the writer waits for that sync). Then,
 * while no job waits and no such sync runs, it merges the C2C logs
 * (inbox events, new conversation rows) in chunks, each its own
 * transaction (store_msg_merge).
 *
 * Batches: each batch runs in one transaction (BEGIN IMMEDIATE … COMMIT),
 * each job in its own SAVEPOINT so a failing job is rolled back alone and the
 * others commit. Consecutive rerun_safe jobs share one SAVEPOINT instead: a
 * savepoint copies every page it first touches into its sub-journal, and one
 * per job was a third of a C2C message's writer cost. If one of them fails,
 * the shared savepoint is rolled back and the jobs before it run again, each
 * in its own SAVEPOINT; the failed one is not run again. While every job
 * of the transaction so far was rerun_safe and ran in such a group (a
 * transaction of sends: its first group and those absorbed after it, see
 * Sync), a group runs without a SAVEPOINT — a savepoint's sub-journal cost
 * 13 % of a C2C message's writer instructions in commits of 120 —: a
 * failure in it rolls the whole transaction back, begins it again and
 * reruns every job of it before the failed one, each in its own SAVEPOINT.
 * The rows the store holds back for such a group (sqlite_msg_pend.c) are
 * written at the group's end, so a failure writing them fails inside the
 * group and not at the COMMIT. done() runs only
 * after the COMMIT returned and the WAL was synced (see Sync), i.e. once the
 * effect is durable. Outcomes are exact:
 *   - a job whose run() failed gets its own error and wrote nothing;
 *   - if the COMMIT fails, every job of that transaction gets IMC_E_IO;
 *   - if the engine drops the whole transaction on its own (SQLite rolls back
 *     on some IOERR, FULL, NOMEM; detected with store_in_transaction after
 *     each job), the jobs that had succeeded in it were rolled back and get
 *     IMC_E_IO, the job that was running keeps its error (IMC_E_IO if run()
 *     returned 0), and the jobs not yet run go on in a fresh transaction —
 *     no job ever runs outside a batch transaction.
 * The job must stay valid until done() is called. */
#ifndef IMC_STORE_WRITER_H
#define IMC_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"
#include "store/store_ckpt.h"
#include "util/hist.h"

/* Stages: where a job waits between its submit and its done() call. Each
 * job is stamped (uv_hrtime, ns) when it is submitted, handed over, taken by
 * the writer thread, when its COMMIT starts and when it returns, when the
 * sync that covers it starts and when it returns; at its done() call the
 * loop thread counts the seven intervals into one histogram each
 * (util/hist.h), and each COMMIT and each sync once into a histogram of its
 * own. "back" and "total" end at the clock read the loop makes before each
 * STORE_WRITER_DONE_CHECK_EVERY done() calls (the turn budget's), not at
 * the job's own call; the intervals that jobs share (from the hand-over on)
 * are counted once per run of equal values, before the loop's turn moves
 * on. Clock reads, always on: one per job at submit (loop thread), one per
 * hand-over, take, COMMIT and sync shared by the jobs in it, and the turn
 * budget's one per STORE_WRITER_DONE_CHECK_EVERY completions. GET /healthz shows the
 * percentiles, GET /healthz/stages the histograms (bench/msg_bench.c
 * subtracts two of them). */
enum {
  STORE_STAMP_SUBMIT, STORE_STAMP_HANDOFF, STORE_STAMP_TAKEN, STORE_STAMP_COMMIT, STORE_STAMP_COMMITTED,
  STORE_STAMP_SYNC, STORE_STAMP_SYNCED,
  STORE_STAMPS
};
typedef enum store_stage {
  STORE_STAGE_QUEUE,   /* submit → handed to the writer thread (the rest of the loop turn) */
  STORE_STAGE_WAIT,    /* → taken by the writer thread (it was running the previous batch) */
  STORE_STAGE_RUN,     /* → COMMIT starts (the run() of the jobs of its batch before and after it) */
  STORE_STAGE_COMMIT,  /* → COMMIT returns (the WAL written, not synced) */
  STORE_STAGE_SYNC_WAIT, /* → a sync that covers it starts (the sync thread was syncing earlier batches) */
  STORE_STAGE_SYNC,    /* → that sync returns (fdatasync of the WAL) */
  STORE_STAGE_BACK,    /* → done() called (wake the loop, the loop's turn, earlier done() calls) */
  STORE_STAGE_TOTAL,   /* submit → done() */
  STORE_STAGE_COMMITS, /* each COMMIT once (not per job) */
  STORE_STAGE_SYNCS,   /* each sync once (not per job) */
  STORE_STAGES
} store_stage_t;
extern const char *const store_stage_names[STORE_STAGES];

typedef struct store_job {
  int (*run)(store_t *s, void *arg);    /* writer thread; 0 or IMC_E_* */
  void (*done)(void *arg, int rc);      /* loop thread, after COMMIT and its sync */
  void *arg;
  /* 1: run() may run again after its writes were rolled back — it changes
   * nothing outside the transaction, and a second run recomputes every
   * output the first one set. Such jobs share one SAVEPOINT (see Batches). */
  uint8_t rerun_safe;
  /* The memory the job holds until done() (its payload: a message's body),
   * set by the submitter; summed in store_writer_inflight_bytes, which
   * admission weighs beside the count (src/api/ws_pace.c). 0: small. */
  uint32_t bytes;
  /* private */
  struct store_job *next;
  int rc;
  uint64_t t_ns[STORE_STAMPS];          /* uv_hrtime at each stamp (see Stages) */
} store_job_t;

typedef struct store_writer store_writer_t;

typedef struct store_writer_stats {
  uint64_t batches;         /* transactions committed or attempted */
  uint64_t jobs, failed_jobs;
  uint64_t refused;         /* submits refused with IMC_E_OVERLOADED (by either cap) */
  uint64_t refused_bytes;   /* of those, refused by the byte cap */
  uint64_t txn_lost;        /* transactions the engine rolled back on its own */
  uint64_t syncs;           /* fdatasyncs of the WAL by the sync thread */
  uint64_t syncs_skipped;   /* batches handed back without one: they wrote nothing to the WAL (see Sync) */
  uint64_t sync_failed;     /* syncs that failed (or came after a failed one: see Sync) */
  uint64_t commit_waits;    /* COMMITs that waited for the previous batch's sync (taking jobs meanwhile) */
  uint64_t paced;           /* waits for the pace (see Pacing): before a COMMIT, or idle with the pace due */
  size_t queued, max_jobs;  /* queue length now, and its cap */
  size_t unsynced;          /* batches committed whose sync has not returned, now (0 or 1, see Sync) */
  size_t inflight;          /* jobs submitted whose done() has not run yet, now (store_writer_inflight) */
  size_t inflight_max;      /* the highest inflight since the start */
  uint64_t inflight_bytes;  /* the bytes those jobs hold (store_job_t.bytes), now */
  uint64_t inflight_bytes_max; /* the highest inflight_bytes since the start */
  int64_t cache_kib;        /* the writer connection's page cache bound, KiB (store_writer_set_cache_kib) */
} store_writer_stats_t;

/* done() calls made per loop turn: completed jobs are taken in one go (one
 * lock) and their done() calls run until the list is empty, or this many
 * ran, or STORE_WRITER_DONE_TURN_US passed (checked every
 * STORE_WRITER_DONE_CHECK_EVERY calls); the
 * rest waits for the next turn, in order. So the replies and pushes of a
 * commit's messages (a few µs each) leave in the same turn, coalesced into
 * one write per connection (and when a commit's hand-back spans turns, the
 * network layer holds each turn's output for the next: store_writer_on_more),
 * while a committed batch of slower jobs (a login
 * storm) is still handed back over several turns and other work on the loop
 * (REST requests, frames) interleaves with it. */
#define STORE_WRITER_DONE_PER_TURN 1024
/* 1 ms, like the other phases' budgets of a loop turn (src/net/net_int.h,
 * "loop turn budgets"): at 3 ms, a login storm's completions (a login's
 * done() takes 20-60 µs: its reply, its usage event) made this phase one of
 * the long ones a REST request waited behind. A commit's message replies
 * (a few µs each) still leave in one turn up to about 200 of them. */
#define STORE_WRITER_DONE_TURN_US 1000
#define STORE_WRITER_DONE_CHECK_EVERY 8

/* Jobs submitted in one loop turn beyond which they are handed to the writer
 * thread without waiting for the end of the turn (a long turn keeps the
 * writer busy instead of idle). */
#define STORE_WRITER_HANDOFF_MAX 1024

/* With pacing on (store_writer.h, "Pacing"), jobs queued at which a
 * hand-over wakes a writer thread that waits for a sync or for the pace
 * (fewer if that many let its transaction COMMIT at once): one wake-up
 * per 16 jobs instead of one per loop turn, while the jobs still run
 * during the wait. */
#define STORE_WRITER_PACE_WAKE_JOBS 16

/* Priority: the writer thread runs this many nice steps below the thread
 * that started it (the loop thread), and one real-time priority below it if
 * that one runs real-time (SCHED_OTHER below priority 1), so that on a
 * shared core a loop thread woken by a request preempts a committing batch
 * instead of waiting for its end (equal real-time priorities never preempt
 * each other). While the loop saturates the core the writer runs when the
 * loop waits for it, and its batches grow; durability is unchanged (done()
 * after COMMIT). The sync and reader threads keep the loop's priority:
 * lowered the same way, the sync thread preempted the loop as often as
 * before (the kernel's wake-up preemption does not follow nice values:
 * 1,229 against 1,493 times in three storms, perf sched), and under a
 * real-time loop, in the normal class, it waited for every real-time task
 * on the core (REST p99 ~900 ms in login storms; docs/decisions/loop-turns.md,
 * wave 10). store__helper_start names the calling thread (imc-writer,
 * imc-sync, imc-reader, imc-ckpt: `top -H`, perf) and, lower, lowers it as above
 * (writer_run.c; best effort). */
#define STORE_WRITER_NICE 5
void store__helper_start(const char *name, int lower);

/* Start the writer and sync threads with the writer's own connection to
 * data_dir (synchronous=NORMAL, store_ckpt.h); at most max_jobs (≥ 1) jobs
 * may wait in the queue. Call on the loop thread. 0, IMC_E_IO,
 * IMC_E_NOMEM, IMC_E_INVAL (max_jobs 0). */
int store_writer_start(uv_loop_t *loop, const char *data_dir, size_t max_jobs, store_writer_t **out);
/* Queue a job (loop thread); it reaches the writer thread at the end of the
 * loop turn (see Hand-over). 0: queued, done() will be called exactly once.
 * IMC_E_OVERLOADED: the queue holds max_jobs jobs, or the job's bytes would
 * take the jobs in flight past the byte cap (store_writer_set_max_bytes);
 * nothing was queued and done() will not be called. After store_writer_stop the job is failed with
 * IMC_E_SHUTDOWN (returns 0; done is still called, asynchronously). */
int store_writer_submit(store_writer_t *w, store_job_t *job);
/* Hand the jobs submitted so far to the writer thread now instead of at the
 * end of the loop turn (loop thread). For callers that wait for the writer
 * without running the loop (tests); a no-op when nothing is pending. */
void store_writer_flush(store_writer_t *w);
/* Commit and sync everything queued, stop the threads, close the connection, free w,
 * then call stopped(arg) on the loop thread (may be NULL). */
void store_writer_stop(store_writer_t *w, void (*stopped)(void *arg), void *arg);
/* Call more(arg) on the loop thread whenever a turn's hand-back stops at
 * its budget (STORE_WRITER_DONE_PER_TURN) with completions left, after the
 * loop has been woken for them (the network layer then holds this turn's
 * output for the next one: net_server_hold_output). NULL: none. */
void store_writer_on_more(store_writer_t *w, void (*more)(void *arg), void *arg);
/* Jobs taken by store_writer_submit whose done() has not been called yet:
 * waiting, running, committed and waiting for their sync, or waiting for
 * the loop to hand them back — the writer's whole work in flight (the cap,
 * max_jobs, counts only the jobs not yet taken by the writer thread). The
 * loop's admission control reads it (src/api/ws_pace.c). Loop thread. */
size_t store_writer_inflight(const store_writer_t *w);
/* The bytes the jobs in flight hold (their store_job_t.bytes); loop thread. */
uint64_t store_writer_inflight_bytes(const store_writer_t *w);
/* A snapshot of the counters (loop thread). */
void store_writer_stats(store_writer_t *w, store_writer_stats_t *out);
/* The stage histograms (see Stages) since the start, owned by w, valid until
 * the next loop turn (loop thread). */
const imc_hist_t *store_writer_stages(store_writer_t *w);
/* Checkpoint once a COMMIT leaves at least pages (> 0) pages in the WAL,
 * from the next batch on (default STORE_CKPT_PAGES; loop thread). */
void store_writer_set_ckpt_pages(store_writer_t *w, int pages);
/* Pacing (see Pacing): a COMMIT of fewer than pace_jobs (≥ 1) jobs waits
 * until pace_us µs after the previous COMMIT; pace_us 0 turns it off (the
 * default). From the writer's next wait on (loop thread). */
void store_writer_set_pace(store_writer_t *w, unsigned pace_us, size_t pace_jobs);
/* The nap (see Nap): nap_us 0 turns it off (the default); from the next
 * turn on (loop thread). */
void store_writer_set_nap(store_writer_t *w, unsigned nap_us);
/* Any thread: a completion it has queued for the loop by another means
 * (the reader pool's uv_async_send, before this call) ends a nap in
 * progress, or keeps the next one from beginning (see Nap). w must outlive
 * every call: stop the caller's calls before store_writer_stop. */
void store_writer_nap_end(store_writer_t *w);
/* Loop thread, before it takes the completions announced so far with
 * store_writer_nap_end (the reader pool's, at each take): the flag they
 * left no longer keeps a nap from beginning (they are taken in this turn,
 * not waiting for the poll). One announced after this call sets it again. */
void store_writer_nap_taken(store_writer_t *w);
/* The naps taken since the start, the time slept in them (µs), and the
 * naps during which store_writer_nap_end was called (it ends them) or
 * that it kept from beginning (loop thread). */
void store_writer_nap_stats(const store_writer_t *w, uint64_t *naps, uint64_t *slept_us, uint64_t *cut);
/* The byte cap: a job with bytes (store_job_t.bytes) is refused while the
 * jobs in flight hold more than max_bytes with it (0: no cap, the default).
 * Jobs without bytes are never refused by it. Loop thread. */
void store_writer_set_max_bytes(store_writer_t *w, uint64_t max_bytes);
/* on (1) or off (0, the default): pinned checkpoint rounds (store_ckpt.h),
 * from the next batch on (loop thread). */
void store_writer_set_ckpt_pinned(store_writer_t *w, int on);
/* The writer connection's page cache: kib KiB (≥ 1; SQLite's cache_size,
 * a bound: pages are allocated as the writer reads them; without this
 * call, the 64 MiB store_open sets, src/store/sqlite.c). A store much bigger
 * than the cache costs the writer a read of each index page it misses, and
 * an append touches pages all over the indexes keyed by user
 * (docs/BENCHMARKS.md, "a store bigger than its memory"). Loop thread,
 * before the first store_writer_submit (asserted): the writer thread has
 * not used its connection yet. 0, or IMC_E_IO (unchanged). */
int store_writer_set_cache_kib(store_writer_t *w, int64_t kib);
/* The checkpoint counters as of the last batch (store_ckpt.h; loop thread). */
void store_writer_ckpt_stats(store_writer_t *w, store_ckpt_stats_t *out);
/* The C2C logs' merge calls that moved rows while the writer idled (store_msg_merge, STORE_MERGE_IDLE: one chunk
 * each, a transaction of its own that a job handed over meanwhile waits behind; told by the WAL writes the call
 * made, so on a writer whose WAL writes are not counted, store_wal_counted, every idle call), since the start:
 * their wall times (a histogram, util/hist.h) and *total_ns their sum. Any thread. */
void store_writer_merge_stats(store_writer_t *w, imc_hist_t *out, uint64_t *total_ns);

#endif
