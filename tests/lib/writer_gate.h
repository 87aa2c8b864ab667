/* writer_gate.h: a gate job for store writer tests (header-only, one per test
 * program). gate_run, run as a job's run() on the writer thread, blocks that
 * thread until gate_release(); gate_wait_entered() waits on the test's thread
 * until the writer is inside it; gate_reset() arms it again. */
#ifndef IMC_TEST_WRITER_GATE_H
#define IMC_TEST_WRITER_GATE_H

#include <pthread.h>
#include "store/store.h"

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_open;

static inline int gate_run(store_t *s, void *arg)
{
  (void)s; (void)arg;
  pthread_mutex_lock(&gate_mu);
  gate_entered = 1;
  pthread_cond_broadcast(&gate_cv);
  while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
  return 0;
}

static inline void gate_wait_entered(void)
{
  pthread_mutex_lock(&gate_mu);
  while (!gate_entered) pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
}

static inline void gate_release(void)
{
  pthread_mutex_lock(&gate_mu);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
}

static inline void gate_reset(void) { gate_entered = gate_open = 0; }

#endif
