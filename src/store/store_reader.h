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
 * Tests: with IMCLOUD_TEST_READER_HOLD=PATH in the environment at start, no
 * thread takes a job while the file PATH exists (checked every 2 ms), so a
 * test can fill the queue and see what waits in it.
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
  uint64_t refused;             /* submits refused with IMC_E_OVERLOADED */
  size_t queued, max_jobs, threads;
} store_reader_stats_t;

/* Open `threads` (1–64) read-only connections to data_dir (the schema must
 * be current: open it with store_open first) and start one thread per
 * connection. Call on the loop thread. 0, IMC_E_INVAL (threads or max_jobs
 * out of range), IMC_E_IO / IMC_E_CONFIG (cannot open), IMC_E_NOMEM,
 * IMC_E_INTERNAL (no thread). */
int store_reader_start(uv_loop_t *loop, const char *data_dir, size_t threads, size_t max_jobs, store_reader_t **out);
/* Queue a read (loop thread). 0: done() will be called exactly once.
 * IMC_E_OVERLOADED: max_jobs jobs wait; nothing was queued and done() will
 * not be called. After store_reader_stop: 0, and done() is called with
 * IMC_E_SHUTDOWN. */
int store_reader_submit(store_reader_t *r, store_job_t *job);
/* Fail every queued job with IMC_E_SHUTDOWN, let the running ones finish
 * (their done() is still called), stop the threads, close the connections,
 * free r, then call stopped(arg) on the loop thread (may be NULL). */
void store_reader_stop(store_reader_t *r, void (*stopped)(void *arg), void *arg);
/* A snapshot of the counters (loop thread). */
void store_reader_stats(store_reader_t *r, store_reader_stats_t *out);

#endif
