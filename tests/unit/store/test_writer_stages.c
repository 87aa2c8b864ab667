/* Unit tests for the writer's stage histograms (store_writer.h, "Stages"),
 * counted on the loop thread in runs of jobs that share their stamps: after
 * every loop turn each stage holds every job completed so far (none left
 * in a run not yet counted, also when a commit's hand-back spans turns),
 * and the stages that lie between stamps (queue … sync, commits, syncs)
 * hold exactly what counting each job's own stamps one by one gives —
 * several hand-overs taken at once, one COMMIT spanning two turns of
 * done() calls, then commits of one hand-over each. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/hist.h"
#include "writer_test.h" /* setup, noop_run, count_done, stop; the gate job (writer_gate.h) */

enum { HELD = 2000, HELD_PER_FLUSH = 400, LATER = 600, LATER_PER_FLUSH = 150, N = 1 + HELD + LATER };
static store_job_t jobs[N]; /* jobs[0]: the gate */

/* After a loop turn: every stage up to total holds each completed job once. */
static void assert_all_counted(store_writer_t *w)
{
  const imc_hist_t *h = store_writer_stages(w);
  for (int i = 0; i < STORE_STAGE_COMMITS; i++) assert_int_equal(h[i].n, (uint64_t)ndone);
}

/* Whether v is among the first n values of seen. */
static int seen_before(const uint64_t *seen, int n, uint64_t v)
{
  for (int i = 0; i < n; i++) if (seen[i] == v) return 1;
  return 0;
}

static void test_stages_counted_in_runs(void **st)
{
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 10000, &w), 0);
  jobs[0] = (store_job_t){ .run = gate_run, .done = count_done };
  assert_int_equal(store_writer_submit(w, &jobs[0]), 0);
  store_writer_flush(w);
  gate_wait_entered();
  /* five hand-overs wait behind the gate: one take, one COMMIT, handed back over two turns */
  for (int i = 1; i <= HELD; i++) {
    jobs[i] = (store_job_t){ .run = noop_run, .done = count_done };
    assert_int_equal(store_writer_submit(w, &jobs[i]), 0);
    if (i % HELD_PER_FLUSH == 0) { store_writer_flush(w); uv_sleep(1); }
  }
  gate_release();
  int turns = 0;
  while (ndone < 1 + HELD) { uv_run(&loop, UV_RUN_ONCE); assert_all_counted(w); turns++; }
  assert_true(turns >= 2); /* the held COMMIT's 2,000 done() calls took more than one turn */
  /* then hand-overs of their own, each waited for */
  for (int i = 1 + HELD; i < N; i += LATER_PER_FLUSH) {
    for (int k = i; k < i + LATER_PER_FLUSH; k++) {
      jobs[k] = (store_job_t){ .run = noop_run, .done = count_done };
      assert_int_equal(store_writer_submit(w, &jobs[k]), 0);
    }
    store_writer_flush(w);
    while (ndone < i + LATER_PER_FLUSH) { uv_run(&loop, UV_RUN_ONCE); assert_all_counted(w); }
  }
  /* what counting each job's stamps one by one gives */
  static imc_hist_t want[STORE_STAGES];
  static uint64_t commits[N], syncs[N];
  int n_commits = 0, n_syncs = 0;
  memset(want, 0, sizeof want);
  for (int j = 0; j < N; j++) {
    const uint64_t *t = jobs[j].t_ns;
    for (int i = 0; i < STORE_STAMP_SYNCED; i++) imc_hist_add(&want[i], t[i + 1] - t[i]);
    if (!seen_before(commits, n_commits, t[STORE_STAMP_COMMITTED])) {
      commits[n_commits++] = t[STORE_STAMP_COMMITTED];
      imc_hist_add(&want[STORE_STAGE_COMMITS], t[STORE_STAMP_COMMITTED] - t[STORE_STAMP_COMMIT]);
    }
    if (!seen_before(syncs, n_syncs, t[STORE_STAMP_SYNCED])) {
      syncs[n_syncs++] = t[STORE_STAMP_SYNCED];
      imc_hist_add(&want[STORE_STAGE_SYNCS], t[STORE_STAMP_SYNCED] - t[STORE_STAMP_SYNC]);
    }
  }
  assert_true(n_commits >= 1 + LATER / LATER_PER_FLUSH);
  const imc_hist_t *h = store_writer_stages(w);
  for (int i = 0; i < STORE_STAMP_SYNCED; i++) assert_memory_equal(&h[i], &want[i], sizeof want[i]);
  assert_memory_equal(&h[STORE_STAGE_COMMITS], &want[STORE_STAGE_COMMITS], sizeof want[0]);
  assert_memory_equal(&h[STORE_STAGE_SYNCS], &want[STORE_STAGE_SYNCS], sizeof want[0]);
  /* total ends at a clock read on the loop before the done() call, never before the sync returned */
  uint64_t total_min = 0;
  for (int j = 0; j < N; j++) {
    uint64_t tot = jobs[j].t_ns[STORE_STAMP_SYNCED] - jobs[j].t_ns[STORE_STAMP_SUBMIT];
    if (tot > total_min) total_min = tot;
  }
  assert_true(h[STORE_STAGE_TOTAL].max_ns >= total_min);
  stop(&loop, w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_stages_counted_in_runs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
