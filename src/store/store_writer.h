/* store_writer.h — the writer thread: all of the server's writes, group-
 * committed, so the event loop never blocks on disk.
 *
 * Jobs are caller-allocated. run() executes on the writer thread inside a
 * batch transaction (BEGIN IMMEDIATE … COMMIT), each job in its own SAVEPOINT
 * so a failing job is rolled back alone. done() runs on the loop thread only
 * after the batch's COMMIT returned, i.e. once the effect is durable; a
 * failed COMMIT reports IMC_E_IO to every job of the batch. The job must stay
 * valid until done() is called. */
#ifndef IMC_STORE_WRITER_H
#define IMC_STORE_WRITER_H

#include <stdint.h>
#include <uv.h>

#include "store/store.h"

typedef struct store_job {
  int (*run)(store_t *s, void *arg);    /* writer thread; 0 or IMC_E_* */
  void (*done)(void *arg, int rc);      /* loop thread, after COMMIT */
  void *arg;
  /* private */
  struct store_job *next;
  int rc;
} store_job_t;

typedef struct store_writer store_writer_t;

typedef struct store_writer_stats {
  uint64_t batches, jobs, failed_jobs;
} store_writer_stats_t;

/* Start the thread with its own connection to data_dir. Call on the loop
 * thread. 0, IMC_E_IO, IMC_E_NOMEM. */
int store_writer_start(uv_loop_t *loop, const char *data_dir, store_writer_t **out);
/* Queue a job (loop thread). After store_writer_stop it fails the job with
 * IMC_E_SHUTDOWN (done is still called, asynchronously). */
void store_writer_submit(store_writer_t *w, store_job_t *job);
/* Commit everything queued, stop the thread, close the connection, free w,
 * then call stopped(arg) on the loop thread (may be NULL). */
void store_writer_stop(store_writer_t *w, void (*stopped)(void *arg), void *arg);
void store_writer_stats(const store_writer_t *w, store_writer_stats_t *out);

#endif
