/* Unit tests for the writer's batches and transactions (store_writer.h,
 * "Batches"): the queue cap refuses a job beyond max_jobs with
 * IMC_E_OVERLOADED and never calls its done(), and so does the byte cap; a
 * batch that SQLite rolls back on its own (a job ends the transaction as
 * SQLITE_FULL/IOERR would) reports each job's true outcome and runs no
 * later job outside a batch transaction; a failed job is rolled back alone;
 * a group of rerun_safe jobs run without a SAVEPOINT writes the rows held
 * back for it at its end, so a failure there fails only the job whose rows
 * fail. A gate job holds the writer thread so that the jobs under test land
 * in one batch. The other areas: test_writer_turns.c (hand-over and
 * completions per loop turn), test_writer_ckpt.c (checkpoints),
 * test_writer_sync.c (the sync and pacing), test_writer_prio.c (thread
 * priorities), test_writer_stages.c (stage histograms); shared setup in
 * writer_test.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "writer_test.h"

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
  assert_int_equal(test_store_open(dir, &s), 0);
  count_msg_cb_n = 0;
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 1, count_msg_cb, NULL), 0);
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 2, count_msg_cb, NULL), 0); /* raw's */
  assert_int_equal(store_msg_get(s, app, store_c2c_conv(1, 2), 3, count_msg_cb, NULL), IMC_E_NOTFOUND);
  assert_int_equal(count_msg_cb_n, 2);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_queue_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_engine_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_job_rollback_alone, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_safe_group, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_held_rows_fail, setup, teardown),
    cmocka_unit_test_setup_teardown(test_byte_cap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
