/* End-to-end: the scheduled-job runner (src/api/jobs.c) as the operator API
 * reports it (GET /operator/v1/jobs; docs/operator-api.md "Scheduled jobs"):
 *  - the start-up catch-up: bill_run and day are due at once when the
 *    server starts (arrears too, but the bill run's own arrears pass leaves
 *    nothing for it: no open bill); the 1 s tick starts the bill run and its
 *    end starts the day job, so both have run before the server's second
 *    tick (they ran one per tick: the day job two ticks in);
 *  - the reply: each job's next due time in the billing zone (null when
 *    nothing is scheduled), runs and failures since the start, the ticks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_clock.h"

/* The row of job `name` in a GET /operator/v1/jobs reply (borrowed). */
static json_t *job_row(json_t *o, const char *name)
{
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(o, "jobs"), i, r)
    if (!strcmp(jstr(r, "job"), name)) return r;
  fail_msg("no job %s in the reply", name);
  return NULL;
}

static int64_t runs(json_t *o, const char *name) { return jint(job_row(o, name), "runs"); }

static void test_startup_jobs_back_to_back(void **st)
{
  (void)st;
  json_t *o = NULL;
  for (int i = 0; i < 3000; i++) { /* 60 s at most */
    json_decref(o);
    o = callf(200, "GET", NULL, "/operator/v1/jobs");
    if (runs(o, "bill_run") && runs(o, "day")) break;
    usleep(20 * 1000);
  }
  char *t = json_dumps(o, JSON_COMPACT);
  fprintf(stderr, "jobs: %s\n", t);
  free(t);
  assert_int_equal(runs(o, "bill_run"), 1);
  assert_int_equal(runs(o, "day"), 1);
  /* the first tick started the bill run; the day job followed it, not the next tick */
  assert_int_equal(jint(o, "ticks"), 1);
  json_decref(o);
}

static void test_jobs_reply(void **st)
{
  (void)st;
  json_t *o = NULL;
  for (int i = 0; i < 3000; i++) { /* until the start-up jobs are done */
    json_decref(o);
    o = callf(200, "GET", NULL, "/operator/v1/jobs");
    if (runs(o, "day") && json_is_null(json_object_get(o, "running"))) break;
    usleep(20 * 1000);
  }
  static const char *const names[] = { "bill_run", "day", "arrears", "retention_purge" };
  json_t *list = json_object_get(o, "jobs");
  assert_int_equal(json_array_size(list), 4);
  for (size_t i = 0; i < 4; i++) { /* table order: the order they run in at one instant */
    assert_string_equal(jstr(json_array_get(list, i), "job"), names[i]);
    assert_int_equal(jint(json_array_get(list, i), "failures"), 0);
  }
  assert_string_equal(jstr(job_row(o, "bill_run"), "next"), "2026-12-01T00:00:00+08:00");
  assert_string_equal(jstr(job_row(o, "day"), "next"), "2026-11-16T00:00:00+08:00");
  assert_int_equal(jint(job_row(o, "day"), "next_s"), 1794758400);
  assert_string_equal(jstr(job_row(o, "retention_purge"), "next"), "2026-11-16T00:00:00+08:00");
  assert_int_equal(runs(o, "bill_run"), 1);
  assert_int_equal(runs(o, "day"), 1);
  assert_int_equal(runs(o, "retention_purge"), 0);
  /* no open bill: the bill run's arrears pass left nothing for the arrears job to check */
  assert_int_equal(runs(o, "arrears"), 0);
  assert_true(json_is_null(json_object_get(job_row(o, "arrears"), "next")));
  assert_true(json_is_null(json_object_get(job_row(o, "arrears"), "next_s")));
  json_decref(o);
  /* a move over the day boundary runs the day job and the purge once more */
  json_decref(clock_to("2026-11-16T00:00:00+08:00"));
  o = callf(200, "GET", NULL, "/operator/v1/jobs");
  assert_int_equal(runs(o, "day"), 2);
  assert_int_equal(runs(o, "retention_purge"), 1);
  assert_string_equal(jstr(job_row(o, "day"), "next"), "2026-11-17T00:00:00+08:00");
  json_decref(o);
}

/* A server whose clock starts on 15 November 2026 (00:00, UTC+8). */
static int setup_mid_month(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-15", NULL };
  return start(args);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_startup_jobs_back_to_back, setup_mid_month, stop),
    cmocka_unit_test_setup_teardown(test_jobs_reply, setup_mid_month, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
