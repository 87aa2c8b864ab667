/* Unit tests for the writer's checkpoints (store_ckpt.h): the writer
 * checkpoints the WAL between batches, keeping it bounded, and keeps it
 * after a burst; pinned rounds; a blocking checkpoint runs only after the
 * sync of the batch before it, and its database sync beside the next
 * transaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "writer_test.h"
#include "store/sqlite_msg_int.h"

static int blob_run(store_t *s, void *arg)
{
  (void)arg;
  return store_exec(s, "INSERT INTO scratch(b) VALUES(randomblob(131072))"); /* 32 pages of data */
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

/* A writer whose checkpoints' database syncs wait while the file `hold`
 * (in dir) exists (IMCLOUD_TEST_CKPT_SYNC_HOLD; "<hold>.held" appears once
 * one waits there), with a 64-page threshold and pinned rounds on or off. */
static store_writer_t *start_ckpt_held(uv_loop_t *loop, char *hold, size_t cap, int pinned)
{
  store_writer_t *w = start_held_by(loop, "IMCLOUD_TEST_CKPT_SYNC_HOLD", "ckpt-hold", 1000, hold, cap);
  store_writer_set_ckpt_pages(w, 64);
  store_writer_set_ckpt_pinned(w, pinned);
  return w;
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
  enum { HELD = 4, N = 40 };
  make_scratch();
  char hold[128];
  uv_loop_t loop;
  store_writer_t *w = start_ckpt_held(&loop, hold, sizeof hold, 1);
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

static int ran_held; /* atomic: held_run ran (writer thread) */

static int held_run(store_t *s, void *arg)
{
  (void)arg;
  __atomic_store_n(&ran_held, 1, __ATOMIC_SEQ_CST);
  return store_exec(s, "INSERT INTO scratch(b) VALUES(randomblob(131072))");
}

/* The blocking round's database sync runs beside the writer's next
 * transaction (store_ckpt.h, "The blocking round's database sync beside the
 * next transaction"): with pinned rounds off every checkpoint is a blocking
 * round; its sync held (IMCLOUD_TEST_CKPT_SYNC_HOLD), a job handed over
 * then runs, but it is not committed (the WAL file does not grow) nor
 * answered; released, it is answered, and its COMMIT restarted the WAL.
 * Fails on the code before (the round synced inside SQLite's checkpoint:
 * the hold is never reached) and if the COMMIT does not wait for the sync
 * (answered while held). */
static void test_final_sync_beside_next(void **st)
{
  (void)st;
  enum { PAGES = 64, N = 8 };
  make_scratch();
  char hold[128], held[160];
  uv_loop_t loop;
  store_writer_t *w = start_ckpt_held(&loop, hold, sizeof hold, 0);
  snprintf(held, sizeof held, "%s.held", hold);
  static tjob_t jobs[N + 1];
  int i = 0;
  for (; i < N && access(held, F_OK); i++) { /* 32 pages a job: the second or third passes the threshold */
    one_blob(&loop, w, &jobs[i]);
    for (int t = 0; t < 500 && access(held, F_OK); t++) sleep_ms(1);
  }
  assert_int_equal(access(held, F_OK), 0); /* the round has copied; its database sync is held */
  long wal = file_size("imcloud.db-wal");
  jobs[N] = (tjob_t){ .job = { .run = held_run, .done = tdone, .arg = &jobs[N] } };
  ndone = 0;
  assert_int_equal(store_writer_submit(w, &jobs[N].job), 0);
  store_writer_flush(w); /* hand it over now: the test waits without running the loop */
  for (int t = 0; t < 5000 && !__atomic_load_n(&ran_held, __ATOMIC_SEQ_CST); t++) sleep_ms(1);
  assert_int_equal(__atomic_load_n(&ran_held, __ATOMIC_SEQ_CST), 1); /* run during the held sync */
  sleep_ms(200);
  for (int k = 0; k < 5; k++) uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(ndone, 0);                          /* not answered: not committed */
  assert_int_equal(file_size("imcloud.db-wal"), wal); /* nothing appended to the WAL */
  store_ckpt_stats_t cs;
  store_writer_ckpt_stats(w, &cs);
  assert_int_equal(cs.final_sync.n, 0);
  assert_int_equal(unlink(hold), 0);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(jobs[N].done_rc, 0);
  for (int t = 0; t < 2000 && !(cs.final_sync.n == 1 && cs.wal_pages < PAGES); t++) { /* copied after the hand-over */
    sleep_ms(1);
    store_writer_ckpt_stats(w, &cs);
  }
  assert_int_equal(cs.final_sync.n, 1);
  assert_int_equal(cs.failed, 0);
  assert_int_equal(cs.db_sync_failed, 0);
  assert_true(cs.wal_pages < PAGES); /* its COMMIT restarted the WAL: it holds that batch alone */
  stop(&loop, w);
  assert_scratch_rows(i + 1);
}

typedef struct { tjob_t t; uint32_t app; int n; } msgs_job_t; /* t first: tdone takes it as a tjob_t */

/* n messages among 100 users in one job: 2n inbox events in the C2C inbox log (its cap is 65,536) */
static int msgs_run(store_t *s, void *arg)
{
  msgs_job_t *m = arg;
  for (int i = 0; i < m->n; i++) {
    uint32_t from = 1 + (uint32_t)(i % 100), to = 1 + (uint32_t)((i * 37 + 11) % 100);
    if (to == from) to = from % 100 + 1;
    store_msg_append_t a = { 0 };
    a.m = (store_msg_t){ m->app, store_c2c_conv(from, to), 0, from, to, 1700000000 + i / 100, (uint32_t)i, (uint32_t)i,
                         0, 604800, "{}", 2, NULL, NULL };
    a.dedupe_since_s = 1700000000 - 300;
    a.inbox_to = a.recent_to = a.inbox_from = a.recent_from = 1;
    int rc = store_msg_append(s, &a);
    if (rc) return rc;
  }
  return 0;
}

/* The writer's merge stats (store_writer_merge_stats) once they are at least want chunks, polled: the idle
 * writer merges after the batch's hand-back. */
static void merge_stats_at_least(store_writer_t *w, uint64_t want, imc_hist_t *h, uint64_t *total_ns)
{
  for (int t = 0; t < 5000; t++) {
    store_writer_merge_stats(w, h, total_ns);
    if (h->n >= want) return;
    sleep_ms(1);
  }
  fail_msg("%llu merge chunks counted, want %llu", (unsigned long long)h->n, (unsigned long long)want);
}

/* The idle writer's merge chunks are counted (store_writer_merge_stats, /healthz "merge"): after a job that
 * filled the inbox log past LOG_MIN_ROWS the writer, idle, merges it in chunks of LOG_CHUNK_ROWS while it holds
 * that minimum, each counted with its time; before it, after a batch that left the log nearly empty, none. Fails when the counting is left out,
 * or when it counts idle calls that moved nothing. */
static void test_merge_chunks_counted(void **st)
{
  (void)st;
  uint32_t app = make_app();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  static msgs_job_t jobs[2];
  imc_hist_t h;
  uint64_t total_ns;
  for (int k = 0; k < 2; k++) {
    /* first a job of 10 messages (20 events: below the idle minimum), then one of 12,000 (24,000 events) */
    jobs[k] = (msgs_job_t){ .t = { .job = { .run = msgs_run, .done = tdone, .arg = &jobs[k] } }, .app = app,
                            .n = k ? 12000 : 10 };
    ndone = 0;
    assert_int_equal(store_writer_submit(w, &jobs[k].t.job), 0);
    while (!ndone) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(jobs[k].t.done_rc, 0);
    if (k) break;
    sleep_ms(100); /* the idle writer's housekeeping after the first batch: it found nothing to merge */
    store_writer_merge_stats(w, &h, &total_ns);
    assert_int_equal(h.n, 0);
    assert_int_equal(total_ns, 0);
  }
  /* chunks while the log holds the idle minimum: (24,000 - 16,384) / 2,048 rounded up */
  merge_stats_at_least(w, (24000 - LOG_MIN_ROWS + LOG_CHUNK_ROWS - 1) / LOG_CHUNK_ROWS, &h, &total_ns);
  assert_true(total_ns > 0);
  assert_true(h.max_ns > 0 && h.max_ns <= total_ns);
  stop(&loop, w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_kept_after_burst, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ckpt_pinned, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ckpt_after_sync, setup, teardown),
    cmocka_unit_test_setup_teardown(test_final_sync_beside_next, setup, teardown),
    cmocka_unit_test_setup_teardown(test_merge_chunks_counted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
