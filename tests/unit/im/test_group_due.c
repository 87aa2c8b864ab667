/* Unit tests for the stop's drive of a large dissolution's group events
 * (src/im/group_due.c, im_groups_due_flush) over a real writer and loop, with
 * the chain's jobs failing as a full writer queue refuses them: the store's
 * store_grp_due_first is wrapped (linker --wrap, Makefile) to fail with
 * IMC_E_OVERLOADED while the test says so.
 *  - A chain that keeps failing is started again at most
 *    IM_GROUPS_DUE_FLUSH_TRIES times, then the flush ends with a WARN naming
 *    the chunks left (2); the rows stay, and the next start appends them.
 *    Before, the flush started it again at every call, forever (the server
 *    polls every 10 ms until a second signal).
 *  - Failures that are not in a row do not end it: a chain that appends a
 *    chunk after 60 failures, then fails 60 times again, drains.
 *  - A group job that never completes (the chain's store read blocked)
 *    ends the wait after IM_GROUPS_DUE_FLUSH_WAITS calls with a WARN naming
 *    the jobs in flight and the chunks left; the next start appends what
 *    it left. Before, the flush answered 1 while any group job was in
 *    flight, forever (the server polls every 10 ms until a second signal). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "im/group.h"
#include "im/presence.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "store/store_writer.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "util/err.h"

#define APP 1400000001u

static char dir[64];
static int fail_mode;  /* 0 none; 1 every call; 2 the first 121 but the 61st; 3 block while it is 3 (writer thread reads it) */
static int first_calls; /* store_grp_due_first calls (writer thread) */

int __real_store_grp_due_first(store_t *s, store_grp_due_t *out);
int __wrap_store_grp_due_first(store_t *s, store_grp_due_t *out);
int __wrap_store_grp_due_first(store_t *s, store_grp_due_t *out)
{
  int n = __atomic_add_fetch(&first_calls, 1, __ATOMIC_SEQ_CST);
  int mode = __atomic_load_n(&fail_mode, __ATOMIC_SEQ_CST);
  while (mode == 3) {
    usleep(1000);
    mode = __atomic_load_n(&fail_mode, __ATOMIC_SEQ_CST);
  }
  if (mode == 1 || (mode == 2 && n < 122 && n != 61)) {
    memset(out, 0, sizeof *out);
    return IMC_E_OVERLOADED;
  }
  return __real_store_grp_due_first(s, out);
}

/* Two chunks due, of members that have no account (nothing is appended to an inbox; each chunk still counts). */
static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "grpdue")) return -1;
  store_t *s;
  static const uint32_t users[] = { 7, 8, 9 };
  if (test_store_open(dir, &s)) return -1;
  int rc = store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 3);
  if (!rc) rc = store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 2);
  store_close(s);
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

typedef struct env {
  uv_loop_t loop;
  store_writer_t *w;
  im_presence_t *p;
  im_limits_t lim;
  im_groups_t *G;
} env_t;

/* Load the groups (the chunks due) and start the chain with the store failing as mode says. */
static void env_start(env_t *e, int mode)
{
  memset(e, 0, sizeof *e);
  __atomic_store_n(&fail_mode, 0, __ATOMIC_SEQ_CST);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(store_writer_start(&e->loop, dir, 1000, &e->w), 0);
  assert_int_equal(im_presence_create(&e->p), 0);
  im_group_hooks_t gh;
  memset(&gh, 0, sizeof gh);
  assert_int_equal(im_groups_create(e->p, &e->lim, &gh, &e->G), 0);
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(im_groups_load(e->G, s, 2000), 0);
  store_close(s);
  __atomic_store_n(&first_calls, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&fail_mode, mode, __ATOMIC_SEQ_CST);
  im_groups_start(e->G, e->w, NULL, NULL);
}

static void env_settle(env_t *e)
{
  for (int i = 0; i < 100000 && im_groups_in_flight(e->G); i++) uv_run(&e->loop, UV_RUN_ONCE);
  assert_int_equal(im_groups_in_flight(e->G), 0);
}

static void env_stop(env_t *e)
{
  env_settle(e);
  im_groups_free(e->G);
  store_writer_stop(e->w, NULL, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  im_presence_free(e->p);
}

/* The stop: im_groups_due_flush until it answers 0 (at most `cap` calls), the loop run between calls as the
 * server's 10 ms timer lets it. Returns the calls that answered 1. */
static int flush(env_t *e, int cap)
{
  int calls = 0;
  env_settle(e);
  while (calls < cap && im_groups_due_flush(e->G)) {
    calls++;
    env_settle(e);
  }
  return calls;
}

static uint64_t chunks_appended(env_t *e)
{
  im_groups_stats_t st;
  im_groups_stats(e->G, &st);
  return st.event_chunks;
}

static void test_persistent_failure_is_bounded(void **st)
{
  (void)st;
  env_t e;
  env_start(&e, 1);
  env_settle(&e); /* the chain's first job failed: left to the tick */
  char log[128];
  snprintf(log, sizeof log, "%s/stderr", dir);
  fflush(stderr);
  int saved = dup(2), fd = open(log, O_CREAT | O_TRUNC | O_WRONLY, 0600);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  int calls = flush(&e, 20 * IM_GROUPS_DUE_FLUSH_TRIES);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  if (calls >= 20 * IM_GROUPS_DUE_FLUSH_TRIES) fail_msg("the flush still waits after %d calls", calls);
  assert_int_equal(calls, IM_GROUPS_DUE_FLUSH_TRIES);
  assert_int_equal(__atomic_load_n(&first_calls, __ATOMIC_SEQ_CST), 1 + IM_GROUPS_DUE_FLUSH_TRIES);
  assert_int_equal(im_groups_due_flush(e.G), 0); /* and stays ended */
  assert_int_equal(chunks_appended(&e), 0);
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  assert_non_null(strstr(text, "gave up while stopping"));
  assert_non_null(strstr(text, "err=OVERLOADED"));
  assert_non_null(strstr(text, "chunks=2"));
  assert_null(strstr(text, "retried by the tick")); /* one line, not one per try */
  env_stop(&e);
  /* the next start appends both */
  env_start(&e, 0);
  env_settle(&e);
  assert_int_equal(chunks_appended(&e), 2);
  env_stop(&e);
}

static void test_failures_not_in_a_row_drain(void **st)
{
  (void)st;
  env_t e;
  static const uint32_t users[] = { 7, 8 };
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 2), 0);
  assert_int_equal(store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 1), 0);
  store_close(s);
  env_start(&e, 2);
  env_settle(&e);
  int calls = flush(&e, 20 * IM_GROUPS_DUE_FLUSH_TRIES);
  assert_true(calls < 20 * IM_GROUPS_DUE_FLUSH_TRIES);
  assert_int_equal(chunks_appended(&e), 2);
  assert_int_equal(__atomic_load_n(&first_calls, __ATOMIC_SEQ_CST), 123); /* the last finds none */
  env_stop(&e);
}

static void test_stuck_job_is_bounded(void **st)
{
  (void)st;
  env_t e;
  static const uint32_t users[] = { 7, 8 };
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 2), 0);
  assert_int_equal(store_grp_due_put(s, APP, 1000, "{\"type\":\"group_dissolved\"}", users, 1), 0);
  store_close(s);
  env_start(&e, 3); /* the chain's first job blocks in the writer */
  char log[128];
  snprintf(log, sizeof log, "%s/stderr", dir);
  fflush(stderr);
  int saved = dup(2), fd = open(log, O_CREAT | O_TRUNC | O_WRONLY, 0600);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  int calls = 0, cap = 20 * IM_GROUPS_DUE_FLUSH_WAITS;
  while (calls < cap && im_groups_due_flush(e.G)) { /* the loop is not run to the end: the job does not end */
    calls++;
    uv_run(&e.loop, UV_RUN_NOWAIT);
  }
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  if (calls >= cap) fail_msg("the flush still waits after %d calls", calls);
  assert_int_equal(calls, IM_GROUPS_DUE_FLUSH_WAITS);
  assert_int_equal(im_groups_due_flush(e.G), 0); /* and stays ended */
  assert_int_equal(im_groups_in_flight(e.G), 1);
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  assert_non_null(strstr(text, "group jobs still running while stopping"));
  assert_non_null(strstr(text, "jobs=1 chain=1"));
  assert_non_null(strstr(text, "chunks=2"));
  /* the job ends at last: its chunk is appended, the chain is not started again */
  __atomic_store_n(&fail_mode, 0, __ATOMIC_SEQ_CST);
  env_settle(&e);
  assert_int_equal(chunks_appended(&e), 1);
  assert_int_equal(__atomic_load_n(&first_calls, __ATOMIC_SEQ_CST), 1);
  env_stop(&e);
  env_start(&e, 0); /* the next start appends the other */
  env_settle(&e);
  assert_int_equal(chunks_appended(&e), 1);
  env_stop(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_persistent_failure_is_bounded),
    cmocka_unit_test(test_failures_not_in_a_row_drain),
    cmocka_unit_test(test_stuck_job_is_bounded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
