/* Unit tests for the writer thread's pipeline guarantees (store_writer.h):
 * the queue cap refuses a job beyond max_jobs with IMC_E_OVERLOADED and never
 * calls its done(); a batch that SQLite rolls back on its own (a job ends
 * the transaction as SQLITE_FULL/IOERR would) reports each job's true outcome and runs
 * no later job outside a batch transaction; a group of rerun_safe jobs run
 * without a SAVEPOINT writes the rows held back for it at its end, so a
 * failure there fails only the job whose rows fail, and a failure in such a
 * group absorbed after another reruns the earlier group too; a big committed batch is handed
 * back over several loop turns, in order; jobs submitted in one loop turn
 * reach the writer thread together, at the end of the turn (or at
 * STORE_WRITER_HANDOFF_MAX), and commit as one batch; the writer thread runs
 * STORE_WRITER_NICE nice steps below the loop thread; each job is counted
 * in the stage histograms (where it waited); the writer checkpoints the WAL
 * between batches, keeping it bounded; no job completes before the sync
 * of the WAL that covers its commit, a COMMIT waits for the previous
 * batch's sync, taking the jobs that arrive meanwhile, and a failed sync
 * fails its jobs and every later one; a blocking checkpoint runs only
 * after the sync of the batch before it; with pacing, jobs handed over one at
 * a time share a COMMIT and a sync until pace_jobs of them or the pace's
 * end let it go. A gate job holds the
 * writer thread so that the jobs under test land in one batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <uv.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "store/store_writer.h"
#include "writer_gate.h"
#include "store/sqlite_int.h"
#include "util/err.h"
#include "tmpdir.h"

static char dir[64];

/* Rows of the scratch table (a test-only table) through the store's own connection. */
/* A new store in dir with an empty scratch table of blobs. */
static void make_scratch(void)
{
  store_t *s;
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "CREATE TABLE scratch(b BLOB)"), 0);
  store_close(s);
}

/* Reopen the store in dir and check the scratch table holds exactly want rows
 * (every job the writer answered is committed, and nothing else). */
static void assert_scratch_rows(int64_t want)
{
  store_t *s = NULL;
  sqlite3_stmt *st;
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT count(*) FROM scratch", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t rows = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  store_close(s);
  assert_int_equal(rows, want);
}

static int setup(void **st) { (void)st; return test_tmpdir_make(dir, sizeof dir, "writer"); }
static int teardown(void **st) { (void)st; return test_tmpdir_remove(dir); }

/* ---- a gate: the writer thread blocks in the gate job until opened (writer_gate.h) */

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

static void tdone(void *arg, int rc)
{
  tjob_t *j = arg;
  j->done_rc = rc;
  j->done_calls++;
  ndone++;
}

static int import_run(store_t *s, void *arg)
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

static void tjob_init(tjob_t *j, uint32_t app, const char *uid, int full)
{
  *j = (tjob_t){ .job = { .run = import_run, .done = tdone, .arg = j }, .app = app, .user_id = uid, .full = full };
}

static tjob_t gate;
static void gate_init(void)
{
  gate_reset();
  gate = (tjob_t){ .job = { .run = gate_run, .done = tdone, .arg = &gate } };
}

/* Occupy the writer thread with the gate job (ndone reset), so that the jobs
 * submitted next wait and then run as one batch after gate_release. */
static void gate_hold(store_writer_t *w)
{
  gate_init();
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &gate.job), 0);
  store_writer_flush(w); /* hand it over now: the test waits without running the loop */
  gate_wait_entered();
}

/* A writer on a fresh loop, its thread held by the gate job (gate_hold). */
static store_writer_t *start_gated(uv_loop_t *loop)
{
  store_writer_t *w;
  uv_loop_init(loop);
  assert_int_equal(store_writer_start(loop, dir, 64, &w), 0);
  gate_hold(w);
  return w;
}

static uint32_t make_app(void)
{
  store_t *s;
  int64_t cust;
  store_app_t a = { 0 };
  assert_int_equal(store_open(dir, &s), 0);
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
static void on_stopped(void *arg) { (void)arg; stopped = 1; }

static void stop(uv_loop_t *loop, store_writer_t *w)
{
  stopped = 0;
  store_writer_stop(w, on_stopped, NULL);
  while (!stopped) uv_run(loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(loop), 0);
}

static int account_exists(uint32_t app, const char *uid)
{
  store_t *s;
  uint32_t no;
  assert_int_equal(store_open(dir, &s), 0);
  int rc = store_account_get(s, app, uid, &no);
  store_close(s);
  assert_true(rc == 0 || rc == IMC_E_NOTFOUND);
  return rc == 0;
}

/* max_jobs queued jobs are accepted; the next is refused at once with
 * IMC_E_OVERLOADED and its done() is never called; the queued ones commit. */
static void test_queue_cap(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 0, &w), IMC_E_INVAL);
  assert_int_equal(store_writer_start(&loop, dir, 4, &w), 0);
  gate_init();
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &gate.job), 0);
  store_writer_flush(w); /* hand it over now: the test waits without running the loop */
  gate_wait_entered(); /* the writer took the gate: the queue is empty and stays so */
  static const char *uids[] = { "c0", "c1", "c2", "c3", "c4", "c5" };
  tjob_t jobs[6];
  for (int i = 0; i < 4; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
  }
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.queued, 4);
  assert_int_equal(ws.max_jobs, 4);
  for (int i = 4; i < 6; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), IMC_E_OVERLOADED);
  }
  store_writer_stats(w, &ws);
  assert_int_equal(ws.refused, 2);
  assert_int_equal(ws.queued, 4);
  gate_release();
  while (ndone < 5) uv_run(&loop, UV_RUN_ONCE);
  /* once the writer took the batch the queue has room again */
  store_writer_stats(w, &ws);
  assert_int_equal(ws.queued, 0);
  assert_int_equal(store_writer_submit(w, &jobs[4].job), 0);
  while (ndone < 6) uv_run(&loop, UV_RUN_ONCE);
  stop(&loop, w);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, 0);
    assert_int_equal(jobs[i].runs, 1);
    assert_true(account_exists(app, uids[i]));
  }
  assert_int_equal(jobs[5].done_calls, 0);
  assert_false(account_exists(app, "c5"));
}

/* The byte cap (store_writer_set_max_bytes): jobs holding bytes are taken
 * while the jobs in flight hold at most the cap with them, refused beyond
 * (IMC_E_OVERLOADED, done() never called, counted), and taken again once
 * earlier ones completed; a job without bytes is never refused by it.
 * Admission's count of the bytes (store_writer_inflight_bytes) follows
 * every job from submit to done(). */
static void test_byte_cap(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 100, &w), 0);
  store_writer_set_max_bytes(w, 10000);
  gate_init();
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &gate.job), 0);
  store_writer_flush(w);
  gate_wait_entered(); /* nothing completes until the gate opens */
  static const char *uids[] = { "b0", "b1", "b2", "b3", "b4" };
  tjob_t jobs[5];
  static const uint32_t bytes[5] = { 6000, 4000, 1, 0, 5000 };
  static const int taken[5] = { 1, 1, 0, 1, 0 };
  for (int i = 0; i < 5; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    jobs[i].job.bytes = bytes[i];
    assert_int_equal(store_writer_submit(w, &jobs[i].job), taken[i] ? 0 : IMC_E_OVERLOADED);
  }
  assert_int_equal(store_writer_inflight_bytes(w), 10000);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.refused, 2);
  assert_int_equal(ws.refused_bytes, 2);
  assert_int_equal(ws.inflight_bytes_max, 10000);
  gate_release();
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(store_writer_inflight_bytes(w), 0);
  assert_int_equal(store_writer_submit(w, &jobs[4].job), 0); /* room again */
  assert_int_equal(store_writer_inflight_bytes(w), 5000);
  while (ndone < 5) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(store_writer_inflight_bytes(w), 0);
  stop(&loop, w);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(jobs[i].done_calls, i == 2 ? 0 : 1);
    assert_int_equal(account_exists(app, uids[i]), i != 2);
  }
}

/* Batch [a, b, FULL, d, e]: SQLite rolls the whole transaction back in the
 * third job. a and b were undone with it (IMC_E_IO, absent); the failing job
 * reports its error; d and e run in a fresh transaction and commit (0,
 * present). Before the fix d and e ran as autocommit statements (durable)
 * and were reported IMC_E_IO. */
static void test_engine_rollback(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_gated(&loop);
  static const char *uids[] = { "a", "b", "full", "d", "e" };
  tjob_t jobs[5];
  for (int i = 0; i < 5; i++) {
    tjob_init(&jobs[i], app, uids[i], i == 2);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
  }
  gate_release();
  while (ndone < 6) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  stop(&loop, w);
  assert_int_equal(gate.done_rc, 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(jobs[i].done_rc, IMC_E_IO);
    assert_false(account_exists(app, uids[i]));
  }
  assert_int_equal(jobs[2].done_rc, IMC_E_IO);
  assert_false(account_exists(app, "full"));
  for (int i = 3; i < 5; i++) {
    assert_int_equal(jobs[i].done_rc, 0);
    assert_int_equal(jobs[i].runs, 1);
    assert_true(account_exists(app, uids[i]));
  }
  for (int i = 0; i < 5; i++) assert_int_equal(jobs[i].done_calls, 1);
  assert_int_equal(ws.txn_lost, 1);
}

/* A job that fails alone (statement-level error, transaction intact) is
 * rolled back to its savepoint; its neighbours commit in the same batch. */
static void test_job_rollback_alone(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_gated(&loop);
  tjob_t ok1, bad, ok2;
  tjob_init(&ok1, app, "x1", 0);
  tjob_init(&bad, 999, "x2", 0); /* no such app: IMC_E_NOTFOUND */
  tjob_init(&ok2, app, "x3", 0);
  assert_int_equal(store_writer_submit(w, &ok1.job), 0);
  assert_int_equal(store_writer_submit(w, &bad.job), 0);
  assert_int_equal(store_writer_submit(w, &ok2.job), 0);
  gate_release();
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.txn_lost, 0);
  assert_int_equal(ws.batches, 2);
  stop(&loop, w);
  assert_int_equal(ok1.done_rc, 0);
  assert_int_equal(bad.done_rc, IMC_E_NOTFOUND);
  assert_int_equal(ok2.done_rc, 0);
  assert_true(account_exists(app, "x1"));
  assert_true(account_exists(app, "x3"));
}

/* Rerun-safe jobs share one savepoint: [r1, r2, bad, r3, r4, plain, r5]
 * where bad fails alone. The group is rolled back, r1 and r2 run again in
 * their own savepoints and commit, bad ran once and left nothing; r3 and r4
 * form the next group and run once; every done() is called once. Then a
 * group in which the engine drops the transaction: its earlier jobs are
 * undone (IMC_E_IO) and the jobs after it commit in a new transaction. */
static void test_rerun_safe_group(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_gated(&loop);
  static const char *uids[] = { "r1", "r2", "bad", "r3", "r4", "plain", "r5" };
  tjob_t jobs[7];
  for (int i = 0; i < 7; i++) {
    tjob_init(&jobs[i], i == 2 ? 999 : app, uids[i], 0); /* app 999 does not exist: IMC_E_NOTFOUND */
    jobs[i].job.rerun_safe = i != 5;
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
  }
  gate_release();
  while (ndone < 8) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.txn_lost, 0);
  for (int i = 0; i < 7; i++) {
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, i == 2 ? IMC_E_NOTFOUND : 0);
    assert_int_equal(jobs[i].runs, i < 2 ? 2 : 1);
    if (i != 2) assert_true(account_exists(app, uids[i]));
  }
  /* the engine drops the transaction inside a group */
  gate_hold(w);
  static const char *uids2[] = { "g1", "g2", "gfull", "g3", "g4" };
  tjob_t jobs2[5];
  for (int i = 0; i < 5; i++) {
    tjob_init(&jobs2[i], app, uids2[i], i == 2);
    jobs2[i].job.rerun_safe = 1;
    assert_int_equal(store_writer_submit(w, &jobs2[i].job), 0);
  }
  gate_release();
  while (ndone < 6) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats(w, &ws);
  stop(&loop, w);
  assert_int_equal(ws.txn_lost, 1);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(jobs2[i].done_calls, 1);
    assert_int_equal(jobs2[i].done_rc, i < 3 ? IMC_E_IO : 0);
    assert_int_equal(account_exists(app, uids2[i]), i > 2);
  }
}

/* A group of rerun_safe jobs that starts its transaction runs without a
 * SAVEPOINT (store_writer.h, "Batches"), and the rows its C2C appends hold
 * back (sqlite_msg_pend.c) are written at the group's end, inside it: a
 * failure there undoes the transaction and reruns the jobs one savepoint
 * each, so only the job whose rows fail fails. Group [m1, raw, m2]: m1
 * appends message seq 1 of conversation (1, 2) (held), raw writes its seq 2
 * directly (not through the held rows), m2 appends again and holds seq 2,
 * which collides when written. (The inbox events no longer can: they go to
 * an unkeyed log, sqlite_msg_log.c.) The rerun: m1 and raw commit (m1 ran
 * twice), m2 fails alone and leaves nothing. (Written at COMMIT instead,
 * the collision failed the whole batch.) */
typedef struct mjob { tjob_t t; int raw; uint32_t seq; } mjob_t;

static int msg_run(store_t *s, void *arg)
{
  mjob_t *m = arg;
  m->t.runs++;
  if (m->raw) {
    char sql[300];
    snprintf(sql, sizeof sql, "INSERT INTO c2c_msg(sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body)"
             " VALUES(%u,%llu,2,1,2,1764700000,99,99,0,0,'{}')", m->t.app, (unsigned long long)store_c2c_conv(1, 2));
    return sqlite3_exec(store__sqlite_db(s), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : IMC_E_IO;
  }
  store_msg_append_t a = { 0 };
  a.m = (store_msg_t){ m->t.app, store_c2c_conv(1, 2), 0, 1, 2, 1764700000, 1, (uint32_t)m->t.runs, 0, 0, "{}", 2,
                       NULL, NULL };
  a.inbox_to = 1;
  int rc = store_msg_append(s, &a);
  m->seq = a.m.seq;
  return rc;
}

static void mjob_init(mjob_t *m, uint32_t app, int raw)
{
  *m = (mjob_t){ .t = { .job = { .run = msg_run, .done = tdone, .arg = m, .rerun_safe = 1 }, .app = app }, .raw = raw };
}

static int count_msg_cb_n;
static void count_msg_cb(void *ud, const store_msg_t *m) { (void)ud; (void)m; count_msg_cb_n++; }

static void test_group_held_rows_fail(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_gated(&loop);
  mjob_t m1, raw, m2;
  mjob_init(&m1, app, 0);
  mjob_init(&raw, app, 1);
  mjob_init(&m2, app, 0);
  assert_int_equal(store_writer_submit(w, &m1.t.job), 0);
  assert_int_equal(store_writer_submit(w, &raw.t.job), 0);
  assert_int_equal(store_writer_submit(w, &m2.t.job), 0);
  gate_release();
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  stop(&loop, w);
  assert_int_equal(ws.txn_lost, 0);
  assert_int_equal(m1.t.done_rc, 0);
  assert_int_equal(raw.t.done_rc, 0);
  assert_int_not_equal(m2.t.done_rc, 0);
  assert_int_equal(m1.t.runs, 2);
  assert_int_equal(raw.t.runs, 2);
  assert_int_equal(m2.t.runs, 2);
  store_t *s;
  assert_int_equal(store_open(dir, &s), 0);
  count_msg_cb_n = 0;
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 1, count_msg_cb, NULL), 0);
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 2, count_msg_cb, NULL), 0); /* raw's */
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 3, count_msg_cb, NULL), IMC_E_NOTFOUND);
  assert_int_equal(count_msg_cb_n, 2);
  store_close(s);
}

/* 2.5 × STORE_WRITER_DONE_PER_TURN jobs committed in one batch: their
 * done() calls come in submission order, at most STORE_WRITER_DONE_PER_TURN
 * per loop turn (a check handle counts the turns; these done() calls are far
 * below the turn's time budget). Before the cap all ran in one turn. */
enum { SPREAD_N = STORE_WRITER_DONE_PER_TURN * 5 / 2 };
static int turn, done_turn[SPREAD_N + 1], done_order[SPREAD_N + 1], n_order;
static void count_turn(uv_check_t *h) { (void)h; turn++; }
static int noop_run(store_t *s, void *arg) { (void)s; (void)arg; return 0; }
static void order_done(void *arg, int rc)
{
  int i = (int)(intptr_t)arg;
  assert_int_equal(rc, 0);
  done_turn[i] = turn;
  done_order[n_order++] = i;
  ndone++;
}

static void slow_done(void *arg, int rc)
{
  order_done(arg, rc);
  struct timespec ts = { 0, 400 * 1000 };
  nanosleep(&ts, NULL);
}

/* Commit n jobs (done() = done_fn) as one batch behind the gate, run the
 * loop until all completed; check they completed in order and return the
 * most done() calls seen in one loop turn. */
/* store_writer_on_more: turns whose hand-back stopped with completions left. */
static int n_more;
static void count_more(void *arg) { (void)arg; n_more++; }

static int one_batch_max_per_turn(int n, void (*done_fn)(void *, int))
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_check_t check;
  uv_check_init(&loop, &check);
  uv_check_start(&check, count_turn);
  uv_unref((uv_handle_t *)&check);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, (size_t)n, &w), 0);
  store_writer_on_more(w, count_more, NULL);
  gate_init();
  ndone = n_order = turn = n_more = 0;
  assert_int_equal(store_writer_submit(w, &gate.job), 0);
  store_writer_flush(w); /* hand it over now: the test waits without running the loop */
  gate_wait_entered(); /* the n jobs below queue up behind the gate: one batch */
  static store_job_t jobs[SPREAD_N];
  assert_true(n <= SPREAD_N);
  for (int i = 0; i < n; i++) {
    jobs[i] = (store_job_t){ .run = noop_run, .done = done_fn, .arg = (void *)(intptr_t)i };
    assert_int_equal(store_writer_submit(w, &jobs[i]), 0);
  }
  store_writer_flush(w); /* all n in the queue (some were handed over at STORE_WRITER_HANDOFF_MAX) */
  gate_release();
  while (ndone < n + 1) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.batches, 2); /* the gate's, then all n together */
  int per_turn = 0, max_per_turn = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(done_order[i], i);
    per_turn = i > 0 && done_turn[i] == done_turn[i - 1] ? per_turn + 1 : 1;
    if (per_turn > max_per_turn) max_per_turn = per_turn;
  }
  assert_true(done_turn[n - 1] - done_turn[0] >= n / max_per_turn - 1);
  uv_close((uv_handle_t *)&check, NULL);
  stop(&loop, w);
  return max_per_turn;
}

static void test_done_spread_over_turns(void **st)
{
  (void)st;
  assert_int_equal(one_batch_max_per_turn(SPREAD_N, order_done), STORE_WRITER_DONE_PER_TURN);
  assert_true(n_more >= 1); /* the turns that stopped at the budget said so (store_writer_on_more) */
}

/* Slow done() calls (400 µs each, as a login's might be): the turn's time
 * budget (STORE_WRITER_DONE_TURN_US, checked every
 * STORE_WRITER_DONE_CHECK_EVERY calls) ends the turn long before the count
 * cap; order is kept across turns. 8 calls take 3.2 ms > 1 ms: every turn
 * stops at its first check. */
_Static_assert(STORE_WRITER_DONE_CHECK_EVERY * 400 > STORE_WRITER_DONE_TURN_US, "the first check of a turn finds its budget spent");
static void test_done_turn_time_budget(void **st)
{
  (void)st;
  assert_int_equal(one_batch_max_per_turn(64, slow_done), STORE_WRITER_DONE_CHECK_EVERY);
}

/* A commit's hand-back costs the same per turn from its first turn to its
 * last: what the turn's budget leaves goes back to the list without a walk
 * over it. BIG_N jobs, submitted in a shuffled order of their places in
 * memory (each job a cache miss for whatever walks them), complete while
 * the loop waits, then the loop hands them back ~1024 per turn; a prepare
 * and a check handle time each turn. The first tenth of the turns must not
 * take more than three times as long as the last tenth: before, each turn
 * cut by the budget walked the rest of the list to find its tail (the first
 * turns ~190,000 jobs, the last ones a few thousand: the first tenth took
 * 10-20x as long). */
enum { BIG_N = 200000 };
static uint64_t turn_t0, *turn_ns;
static int turn_n, turn_cap, big_done;
static void big_done_cb(void *arg, int rc) { (void)arg; assert_int_equal(rc, 0); big_done++; }
static int big_done_before;
/* the loop thread's CPU time, not the wall clock: a turn the box preempted
 * (CI beside other work) weighs what the loop did in it */
static uint64_t thread_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static void turn_stamp(uv_prepare_t *h) { (void)h; turn_t0 = thread_ns(); big_done_before = big_done; }
static int cmp_ns(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
static void turn_end(uv_check_t *h)
{
  (void)h;
  if (big_done > big_done_before && turn_n < turn_cap) turn_ns[turn_n++] = thread_ns() - turn_t0;
}

static void test_done_turn_cost_flat(void **st)
{
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, BIG_N + 1, &w), 0);
  store_job_t *jobs = calloc(BIG_N, sizeof *jobs);
  int *perm = malloc(BIG_N * sizeof *perm);
  turn_cap = BIG_N;
  turn_ns = calloc((size_t)turn_cap, sizeof *turn_ns);
  assert_non_null(jobs);
  assert_non_null(perm);
  assert_non_null(turn_ns);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < BIG_N; i++) perm[i] = i;
  for (int i = BIG_N - 1; i > 0; i--) { /* Fisher-Yates with xorshift64 */
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    int j = (int)(x % (uint64_t)(i + 1)), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  big_done = turn_n = 0;
  for (int i = 0; i < BIG_N; i++) {
    store_job_t *j = &jobs[perm[i]];
    *j = (store_job_t){ .run = noop_run, .done = big_done_cb };
    assert_int_equal(store_writer_submit(w, j), 0);
  }
  store_writer_flush(w);
  store_writer_stats_t ws;
  for (int tries = 0; tries < 6000; tries++) { /* committed and synced while the loop waits */
    store_writer_stats(w, &ws);
    if (ws.jobs == BIG_N && !ws.unsynced) break;
    uv_sleep(10);
  }
  assert_int_equal(ws.jobs, BIG_N);
  uv_sleep(50); /* the last sync's completions appended */
  uv_prepare_t prep;
  uv_check_t check;
  uv_prepare_init(&loop, &prep);
  uv_prepare_start(&prep, turn_stamp);
  uv_check_init(&loop, &check);
  uv_check_start(&check, turn_end);
  uv_unref((uv_handle_t *)&prep);
  uv_unref((uv_handle_t *)&check);
  while (big_done < BIG_N) uv_run(&loop, UV_RUN_ONCE);
  assert_true(turn_n >= 100); /* ~BIG_N / STORE_WRITER_DONE_PER_TURN turns */
  int tenth = turn_n / 10; /* medians of each tenth: one slow turn weighs nothing */
  qsort(turn_ns, (size_t)tenth, sizeof *turn_ns, cmp_ns);
  qsort(turn_ns + turn_n - tenth, (size_t)tenth, sizeof *turn_ns, cmp_ns);
  uint64_t first = turn_ns[tenth / 2], last = turn_ns[turn_n - tenth + tenth / 2];
  print_message("turns %d: median CPU time of the first tenth %.1f us/turn, of the last tenth %.1f us/turn\n", turn_n,
                first / 1e3, last / 1e3);
  assert_true(first <= 3 * last);
  uv_close((uv_handle_t *)&prep, NULL);
  uv_close((uv_handle_t *)&check, NULL);
  stop(&loop, w);
  free(turn_ns);
  free(perm);
  free(jobs);
}

/* Jobs submitted during one loop turn stay with the loop until the turn
 * ends (the writer thread is not woken per job), then commit as one batch.
 * Before the hand-over per turn, each submit woke the writer, which took the
 * first job or two alone. */
static void sleep_ms(int ms) { uv_sleep((unsigned)ms); }
static void count_done(void *arg, int rc) { (void)arg; assert_int_equal(rc, 0); ndone++; }

static void test_one_batch_per_turn(void **st)
{
  (void)st;
  enum { N = 100 };
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  store_writer_on_more(w, count_more, NULL);
  static store_job_t jobs[N];
  ndone = n_order = n_more = 0;
  for (int i = 0; i < N; i++) {
    jobs[i] = (store_job_t){ .run = noop_run, .done = order_done, .arg = (void *)(intptr_t)i };
    assert_int_equal(store_writer_submit(w, &jobs[i]), 0);
  }
  sleep_ms(50); /* a writer woken per submit would have run them by now */
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.jobs, 0);
  assert_int_equal(ws.batches, 0);
  assert_int_equal(ws.queued, N);
  while (ndone < N) uv_run(&loop, UV_RUN_ONCE); /* the turn ends: one hand-over */
  store_writer_stats(w, &ws);
  assert_int_equal(ws.batches, 1);
  assert_int_equal(ws.jobs, N);
  assert_int_equal(ws.queued, 0);
  for (int i = 0; i < N; i++) assert_int_equal(done_order[i], i);
  assert_int_equal(n_more, 0); /* one turn took every completion: nothing left for the next */
  stop(&loop, w);
}

/* Stages: every job is counted once in each stage at its done(); the jobs
 * held behind the gate for 30 ms count that in "wait"; each job's stamps
 * are in order; each COMMIT is counted once (the gate's, then the batch's). */
static void test_stages(void **st)
{
  (void)st;
  enum { N = 50 };
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  gate_hold(w);
  static store_job_t jobs[N];
  ndone = n_order = 0;
  for (int i = 0; i < N; i++) {
    jobs[i] = (store_job_t){ .run = noop_run, .done = order_done, .arg = (void *)(intptr_t)i };
    assert_int_equal(store_writer_submit(w, &jobs[i]), 0);
  }
  store_writer_flush(w);
  sleep_ms(30);
  gate_release();
  while (ndone < N + 1) uv_run(&loop, UV_RUN_ONCE);
  const imc_hist_t *h = store_writer_stages(w);
  for (int i = 0; i < STORE_STAGE_COMMITS; i++) assert_int_equal(h[i].n, N + 1);
  assert_int_equal(h[STORE_STAGE_COMMITS].n, 2);
  assert_true(imc_hist_pct_us(&h[STORE_STAGE_WAIT], 50) >= 30000);
  assert_true(imc_hist_pct_us(&h[STORE_STAGE_TOTAL], 50) >= 30000);
  for (int i = 0; i < N; i++)
    for (int k = 1; k < STORE_STAMPS; k++) assert_true(jobs[i].t_ns[k] >= jobs[i].t_ns[k - 1] && jobs[i].t_ns[0]);
  stop(&loop, w);
}

/* ---- checkpoints (store_ckpt.h) ------------------------------------------------ */
static int blob_run(store_t *s, void *arg)
{
  (void)arg;
  return store_exec(s, "INSERT INTO scratch(b) VALUES(randomblob(131072))"); /* 32 pages of data */
}

static long file_size(const char *name)
{
  char path[128];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

/* Sustained writes, one batch at a time: with a threshold of 64 pages the
 * writer checkpoints between batches and the WAL file never grows past the
 * threshold plus one batch (and its frame headers), where without
 * checkpoints it would hold all 150 batches (20 MiB); every row is there
 * after the writer stops. */
static void test_wal_bounded(void **st)
{
  (void)st;
  enum { N = 150, PAGES = 64 };
  make_scratch();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  store_writer_set_ckpt_pages(w, PAGES);
  static tjob_t jobs[N];
  long wal_max = 0;
  for (int i = 0; i < N; i++) {
    jobs[i] = (tjob_t){ .job = { .run = blob_run, .done = tdone, .arg = &jobs[i] } };
    ndone = 0;
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    while (!ndone) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(jobs[i].done_rc, 0);
    long n = file_size("imcloud.db-wal");
    if (n > wal_max) wal_max = n;
  }
  store_ckpt_stats_t cs;
  store_writer_ckpt_stats(w, &cs);
  assert_true(cs.runs >= N * 32 / (STORE_CKPT_WAL_CAP * PAGES + 40) - 1);
  assert_int_equal(cs.failed, 0);
  assert_true(cs.wal_pages_max < STORE_CKPT_WAL_CAP * PAGES + 40); /* pinned rounds let it grow to the cap */
  assert_true(wal_max <= (long)(STORE_CKPT_WAL_CAP * PAGES + 40) * (4096 + 24) + 32);
  stop(&loop, w);
  assert_scratch_rows(N);
}

/* The checkpointer's counters once the writer thread has copied them after
 * the batch that changed the WAL's length from `before` (polled: the copy
 * follows the batch's hand-back). */
static void ckpt_stats_after(store_writer_t *w, uint64_t before, store_ckpt_stats_t *cs)
{
  for (int t = 0; t < 2000; t++) {
    store_writer_ckpt_stats(w, cs);
    if (cs->wal_pages != before) return;
    sleep_ms(1);
  }
  fail_msg("the WAL's length did not change");
}

static void one_blob(uv_loop_t *loop, store_writer_t *w, tjob_t *j)
{
  *j = (tjob_t){ .job = { .run = blob_run, .done = tdone, .arg = j } };
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &j->job), 0);
  while (!ndone) uv_run(loop, UV_RUN_ONCE);
  assert_int_equal(j->done_rc, 0);
}

static int burst_run(store_t *s, void *arg)
{
  (void)arg;
  for (int i = 0; i < 40; i++) /* 40 × 32 pages: twenty times the threshold below */
    if (store_exec(s, "INSERT INTO scratch(b) VALUES(randomblob(131072))")) return IMC_E_IO;
  return 0;
}

/* After a burst that grew the WAL far past the threshold (one COMMIT of
 * ~1,300 pages against 64), the WAL file does not stay that long: once a
 * checkpoint has copied it and it restarts, the first COMMIT truncates it
 * to STORE_CKPT_WAL_KEEP thresholds (journal_size_limit). Fails without
 * the limit (the file keeps the burst's length). */
static void test_wal_kept_after_burst(void **st)
{
  (void)st;
  enum { PAGES = 64 };
  make_scratch();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  store_writer_set_ckpt_pages(w, PAGES);
  static tjob_t jobs[40];
  one_blob(&loop, w, &jobs[0]); /* the threshold is in use from this batch on */
  jobs[1] = (tjob_t){ .job = { .run = burst_run, .done = tdone, .arg = &jobs[1] } };
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &jobs[1].job), 0);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(jobs[1].done_rc, 0);
  long burst = file_size("imcloud.db-wal");
  assert_true(burst > 20L * PAGES * 4096);
  const long keep = (long)STORE_CKPT_WAL_KEEP * PAGES * 4096;
  long n = burst;
  for (int i = 2; i < 40 && n > keep + 33L * (4096 + 24); i++) { /* small batches until the WAL has restarted */
    one_blob(&loop, w, &jobs[i]);
    n = file_size("imcloud.db-wal");
  }
  if (n > keep + 33L * (4096 + 24))
    fail_msg("the WAL file stayed at %ld bytes after the burst (%ld): more than %d thresholds and a batch", n, burst,
             STORE_CKPT_WAL_KEEP);
  stop(&loop, w);
}

/* Pinned rounds (store_ckpt.h): while a checkpoint's database sync is held
 * (IMCLOUD_TEST_CKPT_SYNC_HOLD), later batches still commit and complete,
 * and the WAL never restarts: it only grows, so the frames the round copied
 * stay in it (the copy runs on the round thread before its sync). Released, the cycle ends with a blocking round and the
 * WAL restarts. Fails without the pin (the WAL restarts under the held sync)
 * and with the database sync on the writer thread (no pinned round). */
static void test_ckpt_pinned(void **st)
{
  (void)st;
  enum { PAGES = 64, HELD = 4, N = 40 };
  make_scratch();
  char hold[128];
  snprintf(hold, sizeof hold, "%s/ckpt-hold", dir);
  FILE *f = fopen(hold, "w");
  assert_non_null(f);
  fclose(f);
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  setenv("IMCLOUD_TEST_CKPT_SYNC_HOLD", hold, 1);
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  unsetenv("IMCLOUD_TEST_CKPT_SYNC_HOLD");
  store_writer_set_ckpt_pages(w, PAGES);
  store_writer_set_ckpt_pinned(w, 1);
  static tjob_t jobs[N];
  store_ckpt_stats_t cs = { 0 };
  int i = 0;
  for (; i < N && !cs.pinned; i++) { /* 32 pages per job: the third passes the threshold */
    uint64_t before = cs.wal_pages;
    one_blob(&loop, w, &jobs[i]);
    ckpt_stats_after(w, before, &cs);
  }
  assert_int_equal(cs.pinned, 1);
  char held[160];
  snprintf(held, sizeof held, "%s.held", hold);
  for (int t = 0; t < 5000 && access(held, F_OK); t++) sleep_ms(1); /* the round has copied: now held */
  assert_int_equal(access(held, F_OK), 0);
  for (int k = 0; k < HELD; k++, i++) { /* under the cap: each batch completes, the WAL only grows */
    uint64_t before = cs.wal_pages;
    one_blob(&loop, w, &jobs[i]);
    ckpt_stats_after(w, before, &cs);
    assert_true(cs.wal_pages > before);
    assert_int_equal(cs.pinned, 1); /* the round has not completed: no other starts */
    assert_int_equal(cs.runs, 0);
  }
  assert_int_equal(unlink(hold), 0);
  int restarted = 0;
  for (; i < N; i++) {
    uint64_t before = cs.wal_pages;
    one_blob(&loop, w, &jobs[i]);
    ckpt_stats_after(w, before, &cs);
    if (cs.wal_pages < before) restarted = 1;
  }
  assert_true(restarted);
  assert_true(cs.runs >= 2);
  assert_int_equal(cs.failed, 0);
  assert_int_equal(cs.db_sync_failed, 0);
  stop(&loop, w);
  assert_scratch_rows(N);
}

/* A turn that submits STORE_WRITER_HANDOFF_MAX jobs hands them over without
 * waiting for its end; one job fewer stays with the loop. */
static void test_handoff_at_max(void **st)
{
  (void)st;
  enum { N = STORE_WRITER_HANDOFF_MAX };
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 2 * N, &w), 0);
  static store_job_t jobs[N];
  ndone = 0;
  for (int i = 0; i < N - 1; i++) {
    jobs[i] = (store_job_t){ .run = noop_run, .done = count_done, .arg = NULL };
    assert_int_equal(store_writer_submit(w, &jobs[i]), 0);
  }
  sleep_ms(50);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.jobs, 0);
  jobs[N - 1] = (store_job_t){ .run = noop_run, .done = count_done, .arg = NULL };
  assert_int_equal(store_writer_submit(w, &jobs[N - 1]), 0);
  for (int t = 0; t < 1000; t++) { /* the writer commits them while the loop does not run */
    store_writer_stats(w, &ws);
    if (ws.jobs == N) break;
    sleep_ms(10);
  }
  assert_int_equal(ws.jobs, N);
  assert_int_equal(ws.batches, 1);
  assert_int_equal(ndone, 0); /* done() waits for the loop */
  while (ndone < N) uv_run(&loop, UV_RUN_ONCE);
  stop(&loop, w);
}

/* A job submitted from a prepare callback that runs after the writer's hand-
 * over in the same turn (the login pacing's does) still reaches the writer
 * in the next turn: the loop must not block in its poll until something
 * else happens. A 5 s guard timer is that "something else"; done() must come
 * first. Before the idle handle the guard fired first. */
static int guard_fired, late_submitted;
static store_writer_t *late_w;
static store_job_t late_job;
static void on_guard(uv_timer_t *t) { (void)t; guard_fired = 1; }
static void late_prepare(uv_prepare_t *h)
{
  if (late_submitted) return;
  late_submitted = 1;
  late_job = (store_job_t){ .run = noop_run, .done = count_done, .arg = NULL };
  assert_int_equal(store_writer_submit(late_w, &late_job), 0);
  uv_prepare_stop(h);
}

static void test_submit_after_handoff_does_not_stall(void **st)
{
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  assert_int_equal(store_writer_start(&loop, dir, 16, &late_w), 0);
  uv_prepare_t prep;
  uv_timer_t guard;
  uv_prepare_init(&loop, &prep);
  uv_prepare_start(&prep, late_prepare);
  uv_timer_init(&loop, &guard);
  uv_timer_start(&guard, on_guard, 5000, 0);
  ndone = guard_fired = late_submitted = 0;
  while (!ndone && !guard_fired) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(ndone, 1);
  assert_false(guard_fired);
  uv_close((uv_handle_t *)&prep, NULL);
  uv_close((uv_handle_t *)&guard, NULL);
  stop(&loop, late_w);
}

/* The nice value of this process's one thread named name (Linux:
 * /proc/self/task/TID/comm); -100 if there is none or more than one. A
 * thread names itself when it starts running (store__helper_start), which
 * may be after the test looks: one missing is looked for again, for up to
 * 5 s. */
static pid_t named_tid;     /* the thread named_thread_nice found */
static int named_thread_nice_once(const char *name, int *found_out);
static int named_thread_nice(const char *name)
{
  int found = 0, nice = -100;
  for (int i = 0; i < 500; i++) {
    nice = named_thread_nice_once(name, &found);
    if (found) break;
    usleep(10000);
  }
  return nice;
}

/* The nice value of the one thread called name once it is want, or what it
 * is after 5 s. A helper names itself first and lowers its priority next
 * (store__helper_start; the checkpoint round thread then goes
 * STORE_CKPT_ROUND_NICE lower still), so a thread found by its name may not
 * have lowered itself yet: reading its nice value once raced with that (seen
 * under ASan on a loaded box: imc-ckpt at the writer's level, 5 for 10). */
static int named_thread_nice_becomes(const char *name, int want)
{
  int nice = -100;
  for (int i = 0; i < 500; i++) {
    if ((nice = named_thread_nice(name)) == want) break;
    usleep(10000);
  }
  return nice;
}

static int named_thread_nice_once(const char *name, int *found_out)
{
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  int found = 0, nice = -100;
  named_tid = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
    fclose(f);
    comm[strcspn(comm, "\n")] = 0;
    if (strcmp(comm, name)) continue;
    found++;
    named_tid = (pid_t)atoi(e->d_name);
    errno = 0;
    nice = getpriority(PRIO_PROCESS, (id_t)atoi(e->d_name));
    if (errno) nice = -100;
  }
  closedir(d);
  *found_out = found;
  return found == 1 ? nice : -100;
}

/* The writer thread runs STORE_WRITER_NICE nice steps below the thread that
 * started it (store_writer.h, "Priority"): a job reads its own thread's nice
 * value. Before, it inherited the loop thread's. The sync thread keeps the
 * loop's (lowering it did not pay: store_writer.h); both are named. */
static int job_nice;
static int nice_run(store_t *s, void *arg)
{
  (void)s; (void)arg;
  errno = 0;
  job_nice = getpriority(PRIO_PROCESS, (id_t)gettid()); /* Linux: this thread's */
  return errno ? IMC_E_INTERNAL : 0;
}

static void test_writer_below_loop_priority(void **st)
{
  (void)st;
  uv_loop_t loop;
  store_writer_t *w;
  uv_loop_init(&loop);
  int loop_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
  assert_int_equal(store_writer_start(&loop, dir, 16, &w), 0);
  store_job_t job = { .run = nice_run, .done = count_done, .arg = NULL };
  ndone = 0;
  job_nice = -100;
  assert_int_equal(store_writer_submit(w, &job), 0);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  int want = loop_nice + STORE_WRITER_NICE > 19 ? 19 : loop_nice + STORE_WRITER_NICE;
  assert_int_equal(job_nice, want);
  assert_int_equal(getpriority(PRIO_PROCESS, (id_t)gettid()), loop_nice); /* the loop thread's is unchanged */
  /* the sync thread (named by store__helper_start): it does not run jobs */
  /* never changed; waited for, as the thread names itself when it first runs
   * (store__helper_start): on a loaded box (CI niced) it may not have run yet */
  assert_int_equal(named_thread_nice_becomes("imc-sync", loop_nice), loop_nice);
  assert_int_equal(named_thread_nice("imc-writer"), want);    /* it ran the job: lowered before */
  /* the checkpoint round thread, started from this (the loop's) thread too:
   * the writer's level, then STORE_CKPT_ROUND_NICE more (store_ckpt.h) */
  int round = want + STORE_CKPT_ROUND_NICE > 19 ? 19 : want + STORE_CKPT_ROUND_NICE;
  assert_int_equal(named_thread_nice_becomes("imc-ckpt", round), round);
  stop(&loop, w);
}

/* With a real-time loop thread (SCHED_FIFO 1, the lowest), the writer
 * leaves the real-time class (one priority below the lowest) and the sync
 * thread keeps the loop's priority (store_writer.h, "Priority": in the
 * normal class it waited for every real-time task on the core). Skipped
 * where real-time scheduling is refused. */
static void test_helpers_under_rt_loop(void **st)
{
  (void)st;
  struct sched_param rt = { .sched_priority = 1 }, other = { .sched_priority = 0 };
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt)) { skip(); return; }
  uv_loop_t loop;
  store_writer_t *w;
  uv_loop_init(&loop);
  int rc = store_writer_start(&loop, dir, 16, &w);
  store_job_t job = { .run = nice_run, .done = count_done, .arg = NULL };
  ndone = 0;
  if (!rc) rc = store_writer_submit(w, &job);
  while (!rc && !ndone) uv_run(&loop, UV_RUN_ONCE);
  int sync_policy = -1, writer_policy = -1;
  struct sched_param sync_sp = { 0 };
  for (int i = 0; !rc && i < 500 && named_thread_nice("imc-sync") == -100; i++) usleep(10000); /* named once it first ran */
  if (!rc && named_thread_nice("imc-sync") != -100) {
    sync_policy = sched_getscheduler(named_tid);
    sched_getparam(named_tid, &sync_sp);
  }
  if (!rc && named_thread_nice("imc-writer") != -100) writer_policy = sched_getscheduler(named_tid); /* ran the job: lowered */
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &other); /* before any assert */
  assert_int_equal(rc, 0);
  assert_int_equal(sync_policy, SCHED_FIFO);
  assert_int_equal(sync_sp.sched_priority, 1);
  assert_int_equal(writer_policy, SCHED_OTHER);
  stop(&loop, w);
}

/* A writer on a new loop whose sync thread holds every sync while the file
 * hold (a path under dir, written to hold[cap]) exists: the test hook
 * IMCLOUD_TEST_SYNC_HOLD. Unlink hold to release it. */
static store_writer_t *start_sync_held(uv_loop_t *loop, char *hold, size_t cap)
{
  snprintf(hold, cap, "%s/hold", dir);
  FILE *f = fopen(hold, "w");
  assert_non_null(f);
  fclose(f);
  uv_loop_init(loop);
  store_writer_t *w;
  setenv("IMCLOUD_TEST_SYNC_HOLD", hold, 1);
  assert_int_equal(store_writer_start(loop, dir, 64, &w), 0);
  unsetenv("IMCLOUD_TEST_SYNC_HOLD");
  return w;
}

/* Wait (up to 10 s) until the writer has handed over everything queued and
 * one committed transaction waits for its held sync. */
static void wait_sync_held(store_writer_t *w)
{
  store_writer_stats_t ws;
  for (int waited = 0; waited < 10000; waited++, sleep_ms(1)) {
    store_writer_stats(w, &ws);
    if (ws.unsynced == 1 && !ws.queued) return;
  }
}

/* The sync (store_writer.h, "Sync"), held with the test hook: the first
 * batch commits (another connection reads its row) but is not handed back;
 * the jobs submitted next run in the writer's next transaction, which does
 * not commit while that sync is pending (their rows are not there) and
 * takes each new hand-over into itself. Released, every job completes with
 * 0, in commit order, the later ones from one COMMIT. */
static void test_commit_waits_for_sync(void **st)
{
  (void)st;
  enum { N = 4 };
  char hold[96];
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_sync_held(&loop, hold, sizeof hold);
  static const char *uids[N] = { "h0", "h1", "h2", "h3" };
  tjob_t jobs[N];
  store_writer_stats_t ws;
  ndone = 0;
  for (int i = 0; i < N; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    store_writer_flush(w); /* a hand-over each */
    wait_sync_held(w);
  }
  store_writer_stats(w, &ws);
  assert_int_equal(ws.unsynced, 1);
  assert_int_equal(ws.queued, 0);
  assert_int_equal(ws.syncs, 0);
  for (int k = 0; k < 5; k++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(ndone, 0);
  for (int i = 0; i < N; i++) assert_int_equal(account_exists(app, uids[i]), i == 0);
  unlink(hold);
  while (ndone < N) uv_run(&loop, UV_RUN_ONCE);
  for (int i = 0; i < N; i++) {
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, 0);
    assert_int_equal(jobs[i].runs, 1);
    assert_true(account_exists(app, uids[i]));
    assert_true(jobs[i].job.t_ns[STORE_STAMP_SYNC] >= jobs[i].job.t_ns[STORE_STAMP_COMMITTED]);
  }
  assert_true(jobs[1].job.t_ns[STORE_STAMP_COMMITTED] > jobs[0].job.t_ns[STORE_STAMP_SYNCED]);
  for (int i = 2; i < N; i++) assert_true(jobs[i].job.t_ns[STORE_STAMP_COMMITTED] == jobs[1].job.t_ns[STORE_STAMP_COMMITTED]);
  store_writer_stats(w, &ws);
  assert_int_equal(ws.unsynced, 0);
  assert_int_equal(ws.syncs, 2);
  assert_true(ws.commit_waits >= 1);
  assert_int_equal(ws.sync_failed, 0);
  stop(&loop, w);
}

static int blobs3_run(store_t *s, void *arg)
{
  (void)arg;
  return store_exec(s, "INSERT INTO scratch(b) SELECT randomblob(131072) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL "
                       "SELECT 3)"); /* 96 pages of data */
}

/* A blocking checkpoint runs after the sync of the batch that crossed the
 * threshold (store_ckpt.h, "Blocking rounds on the sync thread"): with that
 * sync held (IMCLOUD_TEST_SYNC_HOLD), one batch passes a 64-page threshold
 * and commits, but no checkpoint runs and no page reaches the database
 * file; released, the batch completes, the checkpoint runs and copies it.
 * Fails when the writer thread checkpoints at once (it did: the checkpoint
 * ran beside the held sync). */
static void test_ckpt_after_sync(void **st)
{
  (void)st;
  make_scratch();
  char hold[96];
  uv_loop_t loop;
  store_writer_t *w = start_sync_held(&loop, hold, sizeof hold);
  store_writer_set_ckpt_pages(w, 64);
  long db0 = file_size("imcloud.db");
  tjob_t j = { .job = { .run = blobs3_run, .done = tdone, .arg = &j } };
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &j.job), 0);
  store_writer_flush(w);
  wait_sync_held(w);
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.unsynced, 1); /* committed, its sync held */
  sleep_ms(300);
  store_ckpt_stats_t cs;
  store_writer_ckpt_stats(w, &cs);
  assert_int_equal(cs.runs, 0);
  assert_true(file_size("imcloud.db-wal") > 96 * 4096);
  assert_int_equal(file_size("imcloud.db"), db0); /* nothing copied */
  for (int k = 0; k < 5; k++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(ndone, 0);
  unlink(hold);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(j.done_rc, 0);
  for (int t = 0; t < 5000 && !cs.runs; t++, sleep_ms(1)) store_writer_ckpt_stats(w, &cs);
  assert_int_equal(cs.runs, 1);
  assert_int_equal(cs.failed, 0);
  assert_true(file_size("imcloud.db") >= db0 + 96 * 4096); /* the checkpoint copied the batch */
  stop(&loop, w);
  assert_scratch_rows(3);
}

/* A group absorbed into a transaction whose jobs so far all ran in bare
 * groups (no SAVEPOINT, store_writer.h "Batches") runs bare too; when one
 * of its jobs fails, the whole transaction is rolled back and every job
 * before the failed one reruns, those of the earlier group included: the
 * sync is held so that [b1, bad, b2] join the transaction of [a1, a2].
 * a1, a2 and b1 run twice and commit, bad fails alone, b2 commits. (Rerun
 * from the failed group's start only, a1 and a2 would be answered but lost.) */
static void test_absorbed_group_fails(void **st)
{
  (void)st;
  char hold[96];
  uint32_t app = make_app();
  uv_loop_t loop;
  store_writer_t *w = start_sync_held(&loop, hold, sizeof hold);
  static const char *uids[] = { "z0", "a1", "a2", "b1", "bad", "b2" };
  tjob_t jobs[6];
  store_writer_stats_t ws;
  ndone = 0;
  for (int i = 0; i < 6; i++) {
    tjob_init(&jobs[i], i == 4 ? 999 : app, uids[i], 0); /* app 999 does not exist: IMC_E_NOTFOUND */
    jobs[i].job.rerun_safe = i > 0;
  }
  for (int k = 0; k < 3; k++) { /* hand-overs: [z0] commits and waits for its sync; [a1, a2]; [b1, bad, b2] */
    for (int i = k == 0 ? 0 : k == 1 ? 1 : 3; i < (k == 0 ? 1 : k == 1 ? 3 : 6); i++)
      assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    store_writer_flush(w);
    wait_sync_held(w);
  }
  unlink(hold);
  while (ndone < 6) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats(w, &ws);
  stop(&loop, w);
  assert_int_equal(ws.txn_lost, 0);
  assert_true(ws.commit_waits >= 1);
  static const int runs[] = { 1, 2, 2, 2, 1, 1 };
  for (int i = 0; i < 6; i++) {
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, i == 4 ? IMC_E_NOTFOUND : 0);
    assert_int_equal(jobs[i].runs, runs[i]);
    if (i != 4) assert_true(account_exists(app, uids[i]));
  }
}

/* A sync that fails (here: the WAL file was unlinked under the writer, which
 * store_wal_sync detects; fails without that check) fails its jobs with
 * IMC_E_IO although they committed, and the later ones too; the counters
 * say so. (The file stays unlinked, so this does not tell the sticky error
 * of store_writer.h, "Sync", from a failure of every sync.) */
static void test_sync_failure_sticks(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 16, &w), 0);
  tjob_t jobs[3];
  static const char *uids[] = { "f0", "f1", "f2" };
  ndone = 0;
  tjob_init(&jobs[0], app, uids[0], 0);
  assert_int_equal(store_writer_submit(w, &jobs[0].job), 0);
  while (ndone < 1) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(jobs[0].done_rc, 0);
  char wal[96];
  snprintf(wal, sizeof wal, "%s/imcloud.db-wal", dir);
  assert_int_equal(unlink(wal), 0);
  for (int i = 1; i < 3; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    while (ndone < i + 1) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, IMC_E_IO);
    assert_int_equal(jobs[i].runs, 1); /* it ran and committed; only its durability is unknown */
  }
  store_writer_stats_t ws;
  store_writer_stats(w, &ws);
  assert_int_equal(ws.sync_failed, 2);
  assert_int_equal(ws.syncs, 3);
  stop(&loop, w);
}

/* A batch that wrote nothing to the WAL is handed back without an
 * fdatasync (store_writer.h, "Sync"): a read-only job after a write
 * completes with 0 and adds to syncs_skipped, not to syncs; a write after
 * it is synced again, and so is a batch of a read-only job and a write.
 * Without the check every batch costs a sync (syncs +1 for the read-only
 * job). After a failed sync even a read-only job gets the sticky error:
 * nothing is acknowledged past a failure. */
typedef struct rojob { store_job_t job; int rc, calls; } rojob_t;
static uint32_t app_ro;
static int ro_run(store_t *s, void *arg)
{
  (void)arg;
  uint32_t no;
  int rc = store_account_get(s, app_ro, "k0", &no); /* a read in the batch's transaction */
  return rc == IMC_E_NOTFOUND ? 0 : rc;
}
static void ro_done(void *arg, int rc)
{
  rojob_t *j = arg;
  j->rc = rc;
  j->calls++;
  ndone++;
}
static void ro_init(rojob_t *j)
{
  memset(j, 0, sizeof *j);
  j->job.run = ro_run;
  j->job.done = ro_done;
  j->job.arg = j;
}

static void test_sync_skipped_when_nothing_written(void **st)
{
  (void)st;
  uint32_t app = app_ro = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 16, &w), 0);
  tjob_t wr[3];
  rojob_t ro[3];
  static const char *uids[] = { "k0", "k1", "k2" };
  store_writer_stats_t a, b;
  ndone = 0;
  tjob_init(&wr[0], app, uids[0], 0);
  assert_int_equal(store_writer_submit(w, &wr[0].job), 0);
  while (ndone < 1) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats(w, &a);
  for (int i = 0; i < 2; i++) { /* two read-only batches in a row */
    ro_init(&ro[i]);
    assert_int_equal(store_writer_submit(w, &ro[i].job), 0);
    while (ndone < 2 + i) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(ro[i].calls, 1);
    assert_int_equal(ro[i].rc, 0);
  }
  store_writer_stats(w, &b);
  assert_int_equal(b.syncs - a.syncs, 0);
  assert_int_equal(b.syncs_skipped - a.syncs_skipped, 2);
  tjob_init(&wr[1], app, uids[1], 0);
  assert_int_equal(store_writer_submit(w, &wr[1].job), 0);
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(wr[1].done_rc, 0);
  store_writer_stats(w, &a);
  assert_int_equal(a.syncs - b.syncs, 1);
  assert_int_equal(a.syncs_skipped, b.syncs_skipped);
  ro_init(&ro[2]); /* one batch: a read-only job and a write */
  tjob_init(&wr[2], app, uids[2], 0);
  assert_int_equal(store_writer_submit(w, &ro[2].job), 0);
  assert_int_equal(store_writer_submit(w, &wr[2].job), 0);
  while (ndone < 6) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats(w, &b);
  assert_int_equal(b.syncs_skipped, a.syncs_skipped);
  assert_true(b.syncs > a.syncs);
  assert_true(account_exists(app, "k2"));
  /* a failed sync, then a read-only job: the sticky error, no skip */
  char wal[96];
  snprintf(wal, sizeof wal, "%s/imcloud.db-wal", dir);
  assert_int_equal(unlink(wal), 0);
  tjob_t f;
  tjob_init(&f, app, "k3", 0);
  assert_int_equal(store_writer_submit(w, &f.job), 0);
  while (ndone < 7) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(f.done_rc, IMC_E_IO);
  rojob_t r;
  ro_init(&r);
  assert_int_equal(store_writer_submit(w, &r.job), 0);
  while (ndone < 8) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(r.rc, IMC_E_IO);
  stop(&loop, w);
}

/* Pacing (store_writer.h, "Pacing"): with a pace far longer than the test
 * (60 s) and pace_jobs 3, jobs handed over one at a time after a COMMIT
 * wait for one another: neither of the first two completes while the loop
 * runs for 20 ms after each, the third lets the COMMIT go at once, and the
 * three share one COMMIT and one sync, acknowledged after it. (Without
 * pacing the first commits alone at once: two COMMITs at least.) Then, with
 * a 30 ms pace and pace_jobs 1000, a lone job still commits once the pace
 * has passed; the waits are counted. */
static void test_pace_groups_commits(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 64, &w), 0);
  store_writer_set_pace(w, 60000000u, 3);
  static const char *uids[] = { "p0", "p1", "p2", "p3", "p4" };
  tjob_t jobs[5];
  store_writer_stats_t before, after;
  ndone = 0;
  tjob_init(&jobs[0], app, uids[0], 0);
  assert_int_equal(store_writer_submit(w, &jobs[0].job), 0);
  while (ndone < 1) uv_run(&loop, UV_RUN_ONCE); /* the first COMMIT: none before it to pace from */
  store_writer_stats(w, &before);
  for (int i = 1; i <= 3; i++) {
    tjob_init(&jobs[i], app, uids[i], 0);
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    store_writer_flush(w);
    for (int k = 0; i < 3 && k < 20; k++) { uv_run(&loop, UV_RUN_NOWAIT); sleep_ms(1); }
    if (i < 3) assert_int_equal(ndone, 1);
  }
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats(w, &after);
  assert_int_equal(after.batches - before.batches, 1);
  assert_int_equal(after.syncs - before.syncs, 1);
  assert_int_equal(after.jobs - before.jobs, 3);
  assert_true(after.paced > before.paced);
  for (int i = 1; i <= 3; i++) {
    assert_int_equal(jobs[i].done_calls, 1);
    assert_int_equal(jobs[i].done_rc, 0);
    assert_true(jobs[i].job.t_ns[STORE_STAMP_COMMITTED] == jobs[1].job.t_ns[STORE_STAMP_COMMITTED]);
    assert_true(jobs[i].job.t_ns[STORE_STAMP_SYNC] >= jobs[i].job.t_ns[STORE_STAMP_COMMITTED]);
  }
  store_writer_set_pace(w, 30000u, 1000);
  before = after;
  tjob_init(&jobs[4], app, uids[4], 0);
  assert_int_equal(store_writer_submit(w, &jobs[4].job), 0);
  while (ndone < 5) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(jobs[4].done_rc, 0);
  store_writer_stats(w, &after);
  assert_int_equal(after.batches - before.batches, 1);
  stop(&loop, w);
  for (int i = 0; i < 5; i++) assert_true(account_exists(app, uids[i]));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_queue_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_engine_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_job_rollback_alone, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_safe_group, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_held_rows_fail, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_spread_over_turns, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_turn_time_budget, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_turn_cost_flat, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_batch_per_turn, setup, teardown),
    cmocka_unit_test_setup_teardown(test_handoff_at_max, setup, teardown),
    cmocka_unit_test_setup_teardown(test_submit_after_handoff_does_not_stall, setup, teardown),
    cmocka_unit_test_setup_teardown(test_writer_below_loop_priority, setup, teardown),
    cmocka_unit_test_setup_teardown(test_helpers_under_rt_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stages, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_kept_after_burst, setup, teardown),
    cmocka_unit_test_setup_teardown(test_byte_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ckpt_pinned, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ckpt_after_sync, setup, teardown),
    cmocka_unit_test_setup_teardown(test_commit_waits_for_sync, setup, teardown),
    cmocka_unit_test_setup_teardown(test_absorbed_group_fails, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sync_failure_sticks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pace_groups_commits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sync_skipped_when_nothing_written, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
