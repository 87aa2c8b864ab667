/* writer_test.h — what the writer's unit tests (test_writer*.c in this
 * folder, one program each) share, header-only: the scratch directory and
 * its setup/teardown, a scratch table, an app, the import job (tjob_t) and
 * its done(), the gate job holding the writer thread (writer_gate.h), a
 * writer started behind the gate or behind a held sync (the test hook
 * IMCLOUD_TEST_SYNC_HOLD), and its stop. Include once, after cmocka.h.
 * Test-only. */
#ifndef IMC_TESTS_UNIT_STORE_WRITER_TEST_H
#define IMC_TESTS_UNIT_STORE_WRITER_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <uv.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "store/store_writer.h"
#include "store/sqlite_int.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "writer_gate.h"

static char dir[64];

/* Rows of the scratch table (a test-only table) through the store's own connection. A new store in dir with an empty scratch table of blobs. */
static inline void make_scratch(void)
{
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "CREATE TABLE scratch(b BLOB)"), 0);
  store_close(s);
}

/* Reopen the store in dir and check the scratch table holds exactly want rows
 * (every job the writer answered is committed, and nothing else). */
static inline void assert_scratch_rows(int64_t want)
{
  store_t *s = NULL;
  sqlite3_stmt *st;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT count(*) FROM scratch", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t rows = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  store_close(s);
  assert_int_equal(rows, want);
}

/* The size of the file name in dir, -1 if it is not there. */
static inline long file_size(const char *name)
{
  char path[128];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static inline int setup(void **st) { (void)st; return test_tmpdir_make(dir, sizeof dir, "writer"); }
static inline int teardown(void **st) { (void)st; return test_tmpdir_remove(dir); }

/* ---- jobs ------------------------------------------------------------------- */
typedef struct tjob {
  store_job_t job;
  uint32_t app;
  const char *user_id;
  int full;              /* force SQLITE_FULL in this job */
  int done_rc, done_calls;
  int runs;              /* run() calls (writer thread) */
} tjob_t;

static int ndone;

static inline void tdone(void *arg, int rc)
{
  tjob_t *j = arg;
  j->done_rc = rc;
  j->done_calls++;
  ndone++;
}

static inline int import_run(store_t *s, void *arg)
{
  tjob_t *j = arg;
  uint32_t no;
  j->runs++;
  if (!j->full) return store_account_import(s, j->app, j->user_id, NULL, NULL, 1, &no);
  /* SQLITE_FULL and SQLITE_IOERR may roll the whole transaction back on
   * their own; whether a given statement does depends on the SQLite version
   * and on the schema (triggers), so the job ends the transaction the way
   * the engine would and reports the engine's error. */
  (void)no;
  int rc = store_exec(s, "ROLLBACK") ? IMC_E_INTERNAL : IMC_E_IO;
  return rc;
}

static inline void tjob_init(tjob_t *j, uint32_t app, const char *uid, int full)
{
  *j = (tjob_t){ .job = { .run = import_run, .done = tdone, .arg = j }, .app = app, .user_id = uid, .full = full };
}

static tjob_t gate;
static inline void gate_init(void)
{
  gate_reset();
  gate = (tjob_t){ .job = { .run = gate_run, .done = tdone, .arg = &gate } };
}

/* Occupy the writer thread with the gate job (ndone reset), so that the jobs
 * submitted next wait and then run as one batch after gate_release. */
static inline void gate_hold(store_writer_t *w)
{
  gate_init();
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &gate.job), 0);
  store_writer_flush(w); /* hand it over now: the test waits without running the loop */
  gate_wait_entered();
}

/* A writer on a fresh loop, its thread held by the gate job (gate_hold). */
static inline store_writer_t *start_gated(uv_loop_t *loop)
{
  store_writer_t *w;
  uv_loop_init(loop);
  assert_int_equal(store_writer_start(loop, dir, 64, &w), 0);
  gate_hold(w);
  return w;
}

static inline uint32_t make_app(void)
{
  store_t *s;
  int64_t cust;
  store_app_t a = { 0 };
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "w", 1, &cust), 0);
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "trial");
  a.n_admins = 1; strcpy(a.admins[0], "administrator");
  assert_int_equal(store_app_insert(s, &a), 0);
  store_close(s);
  return a.sdkappid;
}

static int stopped;
static inline void on_stopped(void *arg) { (void)arg; stopped = 1; }

static inline void stop(uv_loop_t *loop, store_writer_t *w)
{
  stopped = 0;
  store_writer_stop(w, on_stopped, NULL);
  while (!stopped) uv_run(loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(loop), 0);
}

static inline int account_exists(uint32_t app, const char *uid)
{
  store_t *s;
  uint32_t no;
  assert_int_equal(test_store_open(dir, &s), 0);
  int rc = store_account_get(s, app, uid, &no);
  store_close(s);
  assert_true(rc == 0 || rc == IMC_E_NOTFOUND);
  return rc == 0;
}

/* A job that does nothing (run()). */
static inline int noop_run(store_t *s, void *arg) { (void)s; (void)arg; return 0; }

static inline void sleep_ms(int ms) { uv_sleep((unsigned)ms); }
/* A done() that wants 0 and counts into ndone. */
static inline void count_done(void *arg, int rc) { (void)arg; assert_int_equal(rc, 0); ndone++; }

/* A writer (queue cap max_jobs) on a new loop, started with the test hook
 * env naming the file dir/name (written to hold[cap]), created first: what
 * the hook holds waits while it exists. Unlink hold to release it. */
static inline store_writer_t *start_held_by(uv_loop_t *loop, const char *env, const char *name, size_t max_jobs,
                                            char *hold, size_t cap)
{
  snprintf(hold, cap, "%s/%s", dir, name);
  FILE *f = fopen(hold, "w");
  assert_non_null(f);
  fclose(f);
  uv_loop_init(loop);
  store_writer_t *w;
  setenv(env, hold, 1);
  assert_int_equal(store_writer_start(loop, dir, max_jobs, &w), 0);
  unsetenv(env);
  return w;
}

/* A writer on a new loop whose sync thread holds every sync while the file
 * hold (a path under dir, written to hold[cap]) exists: the test hook
 * IMCLOUD_TEST_SYNC_HOLD. Unlink hold to release it. */
static inline store_writer_t *start_sync_held(uv_loop_t *loop, char *hold, size_t cap)
{
  return start_held_by(loop, "IMCLOUD_TEST_SYNC_HOLD", "hold", 64, hold, cap);
}

/* Wait (up to 10 s) until the writer has handed over everything queued and
 * one committed transaction waits for its held sync. */
static inline void wait_sync_held(store_writer_t *w)
{
  store_writer_stats_t ws;
  for (int waited = 0; waited < 10000; waited++, sleep_ms(1)) {
    store_writer_stats(w, &ws);
    if (ws.unsynced == 1 && !ws.queued) return;
  }
}

#endif
