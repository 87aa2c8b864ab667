/* store_reader.h — a small pool of read-only connections on worker threads,
 * for reads that can be slow (history pages, sync backlogs, bill runs, the
 * change log), so the event loop never waits on the disk.
 *
 * Threads: store_reader_start/submit/stop/stats are called on the loop
 * thread; a job's run() executes on one of the pool's threads with that
 * thread's own read-only store_t (store_open_reader), inside one read
 * transaction (BEGIN … COMMIT), so everything it reads is one consistent
 * snapshot; done() runs on the loop thread. Jobs may run in parallel and
 * complete in any order: a caller that needs order waits for one job's done()
 * before submitting the next.
 * The pool's threads are named imc-reader and run at the loop thread's
 * priority (store_writer.h, "Priority").
 *
 * Cap and backpressure: at most max_jobs jobs wait in the queue (submitted,
 * not yet taken by a thread). A submit beyond that is refused at once with
 * IMC_E_OVERLOADED and the job is not taken (done() is never called for it);
 * the producer answers "server busy, retry" or tries again later. Memory held
 * by jobs is bounded by max_jobs + threads.
 *
 * Fairness (docs/decisions/messaging-c2c-checks.md §65): every job has an
 * owner, the value store_reader_owner last set when it was submitted (a
 * connection, an app's REST calls; 0: nobody's). The queue is one FIFO per
 * owner, and the threads take jobs round robin over the owners that have
 * some: a job waits behind at most one job of each other owner per job of
 * its own owner ahead of it, however many another owner queued. Its share:
 * an owner that already has jobs queued may queue one more only while it
 * holds fewer than the queue's free room (max_jobs - queued); past it the
 * submit is refused IMC_E_OVERLOADED (counted in refused and refused_share).
 * An owner with nothing queued, and owner 0 (the server's own reads, and
 * reads submitted by completions of requests already admitted), are refused
 * only by the cap itself, so n
 * greedy owners leave about max_jobs / (n + 1) of the queue free for the
 * others. Per-owner state exists only while the owner has jobs queued
 * (a few dozen bytes each, at most max_jobs of them).
 *
 * Cancel: store_reader_cancel hands the queued jobs of an owner that went
 * away to their done() with IMC_E_CANCELED without running them (counted in
 * skipped); a job a thread already took runs to its end.
 *
 * Tests: with IMCLOUD_TEST_READER_HOLD=PATH in the environment at start, no
 * thread takes a job while the file PATH exists (checked every 2 ms), so a
 * test can fill the queue and see what waits in it. With
 * IMCLOUD_TEST_READER_STEPS=PATH, while the file PATH exists the threads take
 * jobs only up to the number it holds, counted from the start (the jobs
 * taken so far are stats.jobs plus those running): a test lets one read run
 * at a time and sees the next one queued (decisions §118). With
 * IMCLOUD_TEST_READER_DONE_HOLD=PATH, while the file PATH exists a thread
 * that ran a job keeps it (its done() is not called, the thread takes no
 * other): a test fills the queue behind a job already taken and sees what
 * its completion meets (decisions §121). Unset: nothing is read; each does
 * nothing when its file is missing.
 *
 * Jobs are caller-allocated store_job_t (store_writer.h) and must stay valid
 * until done() is called. run() must not write: the connections refuse
 * writes (IMC_E_IO). */
#ifndef IMC_STORE_READER_H
#define IMC_STORE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store_writer.h"

typedef struct store_reader store_reader_t;

typedef struct store_reader_stats {
  uint64_t jobs, failed_jobs;   /* completed */
  uint64_t refused;             /* submits refused with IMC_E_OVERLOADED (cap or share) */
  uint64_t refused_share;       /* of those, refused by the owner's share (see Fairness) */
  uint64_t skipped;             /* jobs cancelled before they ran (store_reader_cancel) */
  size_t queued, max_jobs, threads;
  size_t owners;                /* owners with jobs queued now (0 counts as one) */
} store_reader_stats_t;

/* Open `threads` (1–64) read-only connections to data_dir (the schema must
 * be current: open it with store_open first) and start one thread per
 * connection. Call on the loop thread. 0, IMC_E_INVAL (threads or max_jobs
 * out of range), IMC_E_IO / IMC_E_CONFIG (cannot open), IMC_E_NOMEM,
 * IMC_E_INTERNAL (no thread). */
int store_reader_start(uv_loop_t *loop, const char *data_dir, size_t threads, size_t max_jobs, store_reader_t **out);
/* Queue a read as the current owner's (loop thread). 0: done() will be
 * called exactly once. IMC_E_OVERLOADED: max_jobs jobs wait, or the owner
 * holds its share (see Fairness); IMC_E_NOMEM: no room for the owner's
 * queue. On both nothing was queued and done() will not be called. After
 * store_reader_stop: 0, and done() is called with IMC_E_SHUTDOWN. */
int store_reader_submit(store_reader_t *r, store_job_t *job);
/* The owner of the jobs submitted from now on (loop thread): any non-zero
 * value naming one client for as long as it has jobs queued (the caller
 * keeps its values distinct); 0: nobody's. Set it before the calls that
 * submit on a client's behalf and back to 0 after. */
void store_reader_owner(store_reader_t *r, uint64_t owner);
/* Complete the owner's (non-zero) queued jobs with IMC_E_CANCELED without
 * running them: their done() calls run in a later loop turn, never inside
 * this call. Returns how many (counted in skipped). Loop thread. */
size_t store_reader_cancel(store_reader_t *r, uint64_t owner);
/* The owner's jobs queued now and the queue's free room (loop thread): a
 * submit of that owner is refused while queued >= 1 and queued >= room. */
void store_reader_owner_load(store_reader_t *r, uint64_t owner, size_t *queued, size_t *room);
/* 1 while max_jobs jobs wait, so that a submit now is refused by the cap
 * (loop thread; no lock: one relaxed atomic load). Only the loop thread
 * submits, so 0 here means the next submit passes the cap (its owner's
 * share may still refuse it). Used to make a client's read wait for room
 * instead of being refused (decisions §120). */
int store_reader_full(const store_reader_t *r);
/* Call room(arg) on the loop thread after each batch of done() calls (the
 * jobs they complete were taken before, which is when the queue's room
 * grew; a cancel's completions too), never after store_reader_stop. NULL:
 * none. Loop thread. */
void store_reader_on_room(store_reader_t *r, void (*room)(void *arg), void *arg);
/* Call hook(arg) on the pool's thread after each completion is queued for
 * the loop (after its uv_async_send), under the pool's mutex, and take(arg)
 * on the loop thread before each take of the completions (outside it): the
 * server's end the loop's nap (store_writer_nap_end) and clear what taken
 * completions left (store_writer_nap_taken), so a read's done() does not
 * wait for the nap's interval. NULL: none. Loop thread; once it returns, no
 * thread calls the hooks set before. */
void store_reader_on_done(store_reader_t *r, void (*hook)(void *arg), void (*take)(void *arg), void *arg);
/* Fail every queued job with IMC_E_SHUTDOWN, let the running ones finish
 * (their done() is still called), stop the threads, close the connections,
 * free r, then call stopped(arg) on the loop thread (may be NULL). */
void store_reader_stop(store_reader_t *r, void (*stopped)(void *arg), void *arg);
/* A snapshot of the counters (loop thread). */
void store_reader_stats(store_reader_t *r, store_reader_stats_t *out);

#endif
