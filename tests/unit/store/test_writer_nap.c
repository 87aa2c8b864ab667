/* Unit tests for the loop's nap (store_writer.h, "Nap"; writer_nap.c): with
 * a job in flight (its sync held by the test hook), turns that begin within
 * the interval of the previous poll nap, and none does with the nap off or
 * with no job in flight; a completion ends a nap at once, and so does
 * another thread's store_writer_nap_end (the reader pool's completion hook,
 * wired as the server wires it). The turns are made by a 1 ms repeating
 * timer on the writer's loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "store/store_reader.h"
#include "writer_test.h"

#define TURNS 30

static void on_tick(uv_timer_t *t) { (void)t; }

/* A 60 s nap and a 1 ms timer making turns, after one turn that follows a poll of its own: the next turn naps
 * (until what the test ends it with). */
static void long_naps(uv_loop_t *loop, store_writer_t *w, uv_timer_t *t)
{
  store_writer_set_nap(w, 60000000u);
  uv_timer_init(loop, t);
  uv_timer_start(t, on_tick, 1, 1);
  uv_run(loop, UV_RUN_ONCE);
}

static void ticks_end(uv_loop_t *loop, uv_timer_t *t)
{
  uv_close((uv_handle_t *)t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* TURNS turns of loop, each after a tick of a 1 ms timer; the naps taken meanwhile. */
static uint64_t naps_over_turns(uv_loop_t *loop, store_writer_t *w)
{
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, on_tick, 1, 1);
  uint64_t n0, n1, slept, cut;
  store_writer_nap_stats(w, &n0, &slept, &cut);
  for (int i = 0; i < TURNS; i++) uv_run(loop, UV_RUN_ONCE);
  store_writer_nap_stats(w, &n1, &slept, &cut);
  ticks_end(loop, &t);
  return n1 - n0;
}

/* A writer whose one job (submitted, committed, its sync held) stays in flight. */
static store_writer_t *one_job_held(uv_loop_t *loop, char *hold, size_t cap, tjob_t *job)
{
  uint32_t app = make_app();
  store_writer_t *w = start_sync_held(loop, hold, cap);
  ndone = 0;
  tjob_init(job, app, "n0", 0);
  assert_int_equal(store_writer_submit(w, &job->job), 0);
  store_writer_flush(w);
  wait_sync_held(w);
  return w;
}

static void release(uv_loop_t *loop, store_writer_t *w, const char *hold, tjob_t *job)
{
  unlink(hold);
  while (ndone < 1) uv_run(loop, UV_RUN_ONCE);
  assert_int_equal(job->done_rc, 0);
  stop(loop, w);
}

/* Each timer turn after the first begins about 1 ms after the poll before it, within the 10 ms interval, with the
 * job in flight: it naps (a turn delayed past the interval on a loaded box does not: half is asked). */
static void test_turns_nap_with_a_job_in_flight(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  store_writer_set_nap(w, 10000);
  uint64_t naps = naps_over_turns(&loop, w);
  if (naps < TURNS / 2) fail_msg("%llu naps in %d turns with a job in flight", (unsigned long long)naps, TURNS);
  assert_int_equal(ndone, 0);
  release(&loop, w, hold, &job);
}

static void test_no_nap_when_off(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  store_writer_set_nap(w, 0);
  assert_int_equal(naps_over_turns(&loop, w), 0);
  release(&loop, w, hold, &job);
}

static void test_no_nap_without_jobs(void **st)
{
  (void)st;
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 64, &w), 0);
  store_writer_set_nap(w, 10000);
  assert_int_equal(naps_over_turns(&loop, w), 0);
  stop(&loop, w);
}

static void *release_later(void *arg)
{
  sleep_ms(50);
  unlink(arg);
  return NULL;
}

/* A nap of 60 s, ended by the job's completion once the hold goes 50 ms in: the loop does not sleep out the
 * interval (that nap would be 60 s long). */
static void test_completion_ends_a_nap(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  uv_timer_t t;
  long_naps(&loop, w, &t);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, release_later, hold), 0);
  while (ndone < 1) uv_run(&loop, UV_RUN_ONCE);
  pthread_join(th, NULL);
  uint64_t naps, slept_us, cut;
  store_writer_nap_stats(w, &naps, &slept_us, &cut);
  assert_true(naps >= 1);
  if (slept_us >= 30000000u) fail_msg("the nap slept %llu µs past the completion", (unsigned long long)slept_us);
  assert_int_equal(job.done_rc, 0);
  ticks_end(&loop, &t);
  stop(&loop, w);
}

/* A nap of 60 s with the job held, ended 50 ms in by store_writer_nap_end from another thread: the loop
 * does not sleep out the interval, and the nap counts as cut. */
static void *nap_end_later(void *arg)
{
  sleep_ms(50);
  store_writer_nap_end(arg);
  return NULL;
}

static void test_nap_end_from_another_thread(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  uv_timer_t t;
  long_naps(&loop, w, &t);
  uint64_t naps, slept_us, cut;
  store_writer_nap_stats(w, &naps, &slept_us, &cut);
  assert_int_equal(cut, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, nap_end_later, w), 0);
  do {
    uv_run(&loop, UV_RUN_ONCE);
    store_writer_nap_stats(w, &naps, &slept_us, &cut);
  } while (!cut);
  pthread_join(th, NULL);
  assert_true(naps >= 1);
  if (slept_us >= 30000000u) fail_msg("the nap slept %llu µs past store_writer_nap_end", (unsigned long long)slept_us);
  assert_int_equal(ndone, 0); /* the job is still held: the wake found no completion */
  /* called before a turn, it keeps that turn's nap from beginning */
  uint64_t naps0 = naps;
  store_writer_nap_end(w);
  uv_run(&loop, UV_RUN_ONCE);
  store_writer_nap_stats(w, &naps, &slept_us, &cut);
  assert_int_equal(naps, naps0);
  assert_int_equal(cut, 2);
  ticks_end(&loop, &t);
  release(&loop, w, hold, &job);
}

/* The server's wiring, on one loop: the reader pool's completion hook (store_reader_on_done) ends a 60 s
 * nap, so a read's done() runs while a writer job is held in flight. */
static int read_run(store_t *s, void *arg) { (void)s; (void)arg; sleep_ms(50); return 0; }
static int read_done_n;
static void read_done(void *arg, int rc) { (void)arg; assert_int_equal(rc, 0); read_done_n++; }
static void hook_nap_end(void *w) { store_writer_nap_end(w); }
static void hook_nap_taken(void *w) { store_writer_nap_taken(w); }

/* A reader pool on w's loop with the server's hooks (src/api/server.c). */
static store_reader_t *pool_wired(uv_loop_t *loop, store_writer_t *w)
{
  store_reader_t *r;
  assert_int_equal(store_reader_start(loop, dir, 1, 8, &r), 0);
  store_reader_on_done(r, hook_nap_end, hook_nap_taken, w);
  return r;
}

/* One read of 50 ms submitted; the loop runs until its done(). */
static void read_once(uv_loop_t *loop, store_reader_t *r)
{
  read_done_n = 0;
  store_job_t rj = { .run = read_run, .done = read_done };
  assert_int_equal(store_reader_submit(r, &rj), 0);
  while (!read_done_n) uv_run(loop, UV_RUN_ONCE);
}

static void pool_stop(uv_loop_t *loop, store_reader_t *r)
{
  store_reader_on_done(r, NULL, NULL, NULL);
  store_reader_stop(r, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void test_read_completion_ends_a_nap(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  store_reader_t *r = pool_wired(&loop, w);
  uv_timer_t t;
  long_naps(&loop, w, &t);
  read_once(&loop, r); /* it runs 50 ms: the loop naps meanwhile */
  uint64_t naps, slept_us, cut;
  store_writer_nap_stats(w, &naps, &slept_us, &cut);
  if (slept_us >= 30000000u) fail_msg("the nap slept %llu µs past the read's completion", (unsigned long long)slept_us);
  assert_true(cut >= 1);
  assert_int_equal(ndone, 0);
  pool_stop(&loop, r);
  ticks_end(&loop, &t);
  release(&loop, w, hold, &job);
}

/* A read completed and taken while the nap is off (nothing consumes its flag then): with the take hook
 * (store_writer_nap_taken), the flag it left is cleared at the take, and once the nap is on again the next
 * turns nap, none skipped for it. Without the take hook the first of them skipped its nap (cut 1). */
static void test_taken_completion_leaves_no_skip(void **st)
{
  (void)st;
  char hold[96];
  uv_loop_t loop;
  tjob_t job;
  store_writer_t *w = one_job_held(&loop, hold, sizeof hold, &job);
  store_reader_t *r = pool_wired(&loop, w);
  store_writer_set_nap(w, 0);
  read_once(&loop, r);
  store_writer_set_nap(w, 10000);
  uint64_t naps0, naps, slept_us, cut;
  store_writer_nap_stats(w, &naps0, &slept_us, &cut);
  assert_int_equal(cut, 0);
  uint64_t napped = naps_over_turns(&loop, w);
  store_writer_nap_stats(w, &naps, &slept_us, &cut);
  assert_int_equal(cut, 0);
  if (napped < TURNS / 2) fail_msg("%llu naps in %d turns", (unsigned long long)napped, TURNS);
  assert_int_equal(ndone, 0);
  pool_stop(&loop, r);
  release(&loop, w, hold, &job);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_turns_nap_with_a_job_in_flight, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_nap_when_off, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_nap_without_jobs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_completion_ends_a_nap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nap_end_from_another_thread, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_completion_ends_a_nap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_taken_completion_leaves_no_skip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
