/* Unit tests for the writer's loop side (store_writer.h): a big committed
 * batch is handed back over several loop turns, in order, within the
 * turn's count and time budgets and at a per-job cost that does not grow
 * with the batch; jobs submitted in one loop turn reach the writer thread
 * together, at the end of the turn (or at STORE_WRITER_HANDOFF_MAX), and
 * commit as one batch; a job submitted after the hand-over in the same turn
 * does not stall; each job is counted in the stage histograms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "writer_test.h"

/* 2.5 × STORE_WRITER_DONE_PER_TURN jobs committed in one batch: their
 * done() calls come in submission order, at most STORE_WRITER_DONE_PER_TURN
 * per loop turn (a check handle counts the turns; these done() calls are far
 * below the turn's time budget). Before the cap all ran in one turn. */
enum { SPREAD_N = STORE_WRITER_DONE_PER_TURN * 5 / 2 };
static int turn, done_turn[SPREAD_N + 1], done_order[SPREAD_N + 1], n_order;
static void count_turn(uv_check_t *h) { (void)h; turn++; }
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

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_done_spread_over_turns, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_turn_time_budget, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_turn_cost_flat, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_batch_per_turn, setup, teardown),
    cmocka_unit_test_setup_teardown(test_handoff_at_max, setup, teardown),
    cmocka_unit_test_setup_teardown(test_submit_after_handoff_does_not_stall, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stages, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
