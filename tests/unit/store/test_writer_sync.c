/* Unit tests for the writer's sync and pacing (store_writer.h, "Sync",
 * "Pacing"): no job completes before the sync of the WAL that covers its
 * commit; a COMMIT waits for the previous batch's sync, taking the jobs
 * that arrive meanwhile; a failure in a group absorbed after another reruns
 * the earlier group too; a failed sync fails its jobs and every later one;
 * a batch that wrote nothing is not synced; with pacing, jobs handed over
 * one at a time share a COMMIT and a sync until pace_jobs of them or the
 * pace's end let it go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "writer_test.h"

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
    cmocka_unit_test_setup_teardown(test_commit_waits_for_sync, setup, teardown),
    cmocka_unit_test_setup_teardown(test_absorbed_group_fails, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sync_failure_sticks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pace_groups_commits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sync_skipped_when_nothing_written, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
