/* Unit tests for the read side of src/store: the reader pool
 * (store_reader.h: parallel read-only jobs, one snapshot per job, the queue
 * cap, stop with queued jobs, named threads) and the change log (store.h: which writes log
 * a row, in the same transaction, read back in order). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "store/store.h"
#include "store/store_reader.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

static char dir[64];

static int setup(void **st) { (void)st; return test_tmpdir_make(dir, sizeof dir, "reader"); }
static int teardown(void **st) { (void)st; return test_tmpdir_remove(dir); }

static uint32_t make_app(store_t *s)
{
  int64_t cust;
  store_app_t a = { 0 };
  assert_int_equal(store_customer_create(s, "r", 1, &cust), 0);
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "trial");
  a.n_admins = 1; strcpy(a.admins[0], "administrator");
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

/* ---- pool ------------------------------------------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int blocked, open_gate;
static pthread_t loop_thread;

typedef struct rjob {
  store_job_t job;
  uint32_t app;
  int block;             /* wait for open_gate (holds its thread) */
  int write;             /* try to write: must fail */
  int64_t n;             /* accounts seen */
  int on_loop_thread;    /* done() ran on the loop thread */
  int ran_elsewhere;     /* run() ran off the loop thread */
  int rc, calls;
  int order;             /* ndone when done() ran */
} rjob_t;

static int ndone;

static int rrun(store_t *s, void *arg)
{
  rjob_t *j = arg;
  j->ran_elsewhere = !pthread_equal(pthread_self(), loop_thread);
  if (j->block) {
    pthread_mutex_lock(&mu);
    blocked++;
    pthread_cond_broadcast(&cv);
    while (!open_gate) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
  }
  if (j->write) { uint32_t no; return store_account_import(s, j->app, "intruder", NULL, NULL, 1, &no); }
  return store_account_count(s, j->app, &j->n);
}

static void rdone(void *arg, int rc)
{
  rjob_t *j = arg;
  j->rc = rc;
  j->calls++;
  j->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
  j->order = ndone++;
}

static void rjob_init(rjob_t *j, uint32_t app)
{
  *j = (rjob_t){ .job = { .run = rrun, .done = rdone, .arg = j }, .app = app };
}

static void wait_blocked(int n)
{
  pthread_mutex_lock(&mu);
  while (blocked < n) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}

static void gate(int open)
{
  pthread_mutex_lock(&mu);
  open_gate = open;
  if (!open) blocked = 0;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static int stopped;
static void on_stopped(void *arg) { (void)arg; stopped = 1; }

/* The pool's threads are named imc-reader (`top -H`, perf) and run at the
 * loop thread's priority (store_writer.h, "Priority"): a job reads its own
 * thread's name and nice value. */
static int job_nice;
static char job_comm[32];
static int nice_run(store_t *s, void *arg)
{
  (void)s;
  errno = 0;
  job_nice = getpriority(PRIO_PROCESS, (id_t)gettid()); /* Linux: this thread's */
  ((rjob_t *)arg)->ran_elsewhere = errno == 0;
  pthread_getname_np(pthread_self(), job_comm, sizeof job_comm);
  return 0;
}

static void test_pool_thread_named(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0); /* the schema */
  store_close(s);
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_reader_t *r;
  int loop_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
  assert_int_equal(store_reader_start(&loop, dir, 1, 8, &r), 0);
  rjob_t j;
  rjob_init(&j, 0);
  j.job.run = nice_run;
  ndone = 0;
  job_nice = -100;
  assert_int_equal(store_reader_submit(r, &j.job), 0);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(j.rc, 0);
  assert_true(j.ran_elsewhere);
  assert_int_equal(job_nice, loop_nice);
  assert_string_equal(job_comm, "imc-reader");
  assert_int_equal(getpriority(PRIO_PROCESS, (id_t)gettid()), loop_nice); /* the loop thread's is unchanged */
  stopped = 0;
  store_reader_stop(r, on_stopped, NULL);
  while (!stopped) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Reads run on pool threads, in parallel (two jobs block at once on a pool of
 * two), see committed data, complete on the loop thread; writes fail. */
static void test_pool_reads(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  uint32_t app = make_app(s);
  uint32_t no;
  assert_int_equal(store_account_import(s, app, "a", NULL, NULL, 1, &no), 0);
  assert_int_equal(store_account_import(s, app, "b", NULL, NULL, 1, &no), 0);
  loop_thread = pthread_self();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_reader_t *r;
  assert_int_equal(store_reader_start(&loop, dir, 0, 8, &r), IMC_E_INVAL);
  assert_int_equal(store_reader_start(&loop, dir, 2, 0, &r), IMC_E_INVAL);
  assert_int_equal(store_reader_start(&loop, dir, 2, 8, &r), 0);
  gate(0);
  ndone = 0;
  rjob_t b1, b2, plain, wr;
  rjob_init(&b1, app); b1.block = 1;
  rjob_init(&b2, app); b2.block = 1;
  rjob_init(&plain, app);
  rjob_init(&wr, app); wr.write = 1;
  assert_int_equal(store_reader_submit(r, &b1.job), 0);
  assert_int_equal(store_reader_submit(r, &b2.job), 0);
  wait_blocked(2); /* both threads are inside a job at the same time */
  /* a commit made meanwhile is seen by later reads */
  assert_int_equal(store_account_import(s, app, "c", NULL, NULL, 1, &no), 0);
  gate(1);
  assert_int_equal(store_reader_submit(r, &plain.job), 0);
  assert_int_equal(store_reader_submit(r, &wr.job), 0);
  while (ndone < 4) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(plain.rc, 0);
  assert_int_equal(plain.n, 3);
  assert_true(plain.ran_elsewhere);
  assert_true(plain.on_loop_thread);
  assert_int_equal(b1.rc, 0);
  assert_int_equal(b2.rc, 0);
  assert_int_equal(wr.rc, IMC_E_IO);
  assert_int_equal(store_account_get(s, app, "intruder", &no), IMC_E_NOTFOUND);
  store_reader_stats_t rs;
  store_reader_stats(r, &rs);
  assert_int_equal(rs.jobs, 4);
  assert_int_equal(rs.failed_jobs, 1);
  assert_int_equal(rs.threads, 2);
  stopped = 0;
  store_reader_stop(r, on_stopped, NULL);
  while (!stopped) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  store_close(s);
}

/* One thread held by a blocking job: max_jobs = 2 wait, the third submit is
 * refused (done never called); stop fails the queued ones with
 * IMC_E_SHUTDOWN and lets the running one finish. */
static void test_pool_cap_and_stop(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  uint32_t app = make_app(s);
  loop_thread = pthread_self();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_reader_t *r;
  assert_int_equal(store_reader_start(&loop, dir, 1, 2, &r), 0);
  gate(0);
  ndone = 0;
  rjob_t hold, q1, q2, over, late;
  rjob_init(&hold, app); hold.block = 1;
  rjob_init(&q1, app);
  rjob_init(&q2, app);
  rjob_init(&over, app);
  rjob_init(&late, app);
  assert_int_equal(store_reader_submit(r, &hold.job), 0);
  wait_blocked(1);
  assert_int_equal(store_reader_submit(r, &q1.job), 0);
  assert_int_equal(store_reader_submit(r, &q2.job), 0);
  assert_int_equal(store_reader_submit(r, &over.job), IMC_E_OVERLOADED);
  store_reader_stats_t rs;
  store_reader_stats(r, &rs);
  assert_int_equal(rs.refused, 1);
  assert_int_equal(rs.queued, 2);
  stopped = 0;
  store_reader_stop(r, on_stopped, NULL);
  assert_int_equal(store_reader_submit(r, &late.job), 0);
  gate(1);
  while (!stopped) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(hold.calls, 1);
  assert_int_equal(hold.rc, 0);
  assert_int_equal(q1.calls, 1);
  assert_int_equal(q1.rc, IMC_E_SHUTDOWN);
  assert_int_equal(q2.rc, IMC_E_SHUTDOWN);
  assert_int_equal(late.calls, 1);
  assert_int_equal(late.rc, IMC_E_SHUTDOWN);
  assert_int_equal(over.calls, 0);
  store_close(s);
}

/* Fairness (store_reader.h; §65): with the one thread held and max_jobs 8,
 * an owner with jobs queued holds fewer than the free room (A gets 4, B 2,
 * C and owner 0 one each; A's 5th and B's 3rd are refused by the share,
 * owner 0's 2nd by the cap); cancelling B completes its jobs with
 * IMC_E_CANCELED in a later loop turn, unrun; the rest run round robin over
 * the owners (A, C, 0, then A's others). */
static void test_pool_share_cancel_round_robin(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  uint32_t app = make_app(s);
  loop_thread = pthread_self();
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_reader_t *r;
  assert_int_equal(store_reader_start(&loop, dir, 1, 8, &r), 0);
  gate(0);
  ndone = 0;
  enum { A = 1 << 4, B = 2 << 4, C = 3 << 4 };
  rjob_t hold, a[5], b[3], c, z[2];
  rjob_init(&hold, app); hold.block = 1;
  assert_int_equal(store_reader_submit(r, &hold.job), 0);
  wait_blocked(1);
  store_reader_owner(r, A);
  for (int i = 0; i < 5; i++) {
    rjob_init(&a[i], app);
    assert_int_equal(store_reader_submit(r, &a[i].job), i < 4 ? 0 : IMC_E_OVERLOADED);
  }
  store_reader_owner(r, B);
  for (int i = 0; i < 3; i++) {
    rjob_init(&b[i], app);
    assert_int_equal(store_reader_submit(r, &b[i].job), i < 2 ? 0 : IMC_E_OVERLOADED);
  }
  store_reader_owner(r, C);
  rjob_init(&c, app);
  assert_int_equal(store_reader_submit(r, &c.job), 0);
  store_reader_owner(r, 0);
  for (int i = 0; i < 2; i++) {
    rjob_init(&z[i], app);
    assert_int_equal(store_reader_submit(r, &z[i].job), i < 1 ? 0 : IMC_E_OVERLOADED);
  }
  size_t queued, room;
  store_reader_owner_load(r, A, &queued, &room);
  assert_int_equal(queued, 4);
  assert_int_equal(room, 0);
  store_reader_stats_t rs;
  store_reader_stats(r, &rs);
  assert_int_equal(rs.queued, 8);
  assert_int_equal(rs.owners, 4);
  assert_int_equal(rs.refused, 3);
  assert_int_equal(rs.refused_share, 2);
  assert_int_equal(store_reader_cancel(r, B), 2);
  assert_int_equal(store_reader_cancel(r, B), 0);
  assert_int_equal(b[0].calls, 0); /* done() comes in a later loop turn */
  store_reader_stats(r, &rs);
  assert_int_equal(rs.skipped, 2);
  assert_int_equal(rs.queued, 6);
  while (ndone < 2) uv_run(&loop, UV_RUN_ONCE);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(b[i].calls, 1);
    assert_int_equal(b[i].rc, IMC_E_CANCELED);
    assert_int_equal(b[i].n, 0); /* never ran */
  }
  gate(1);
  while (ndone < 9) uv_run(&loop, UV_RUN_ONCE);
  assert_true(a[0].order < c.order && c.order < z[0].order && z[0].order < a[1].order);
  assert_true(a[1].order < a[2].order && a[2].order < a[3].order);
  assert_int_equal(a[4].calls + b[2].calls + z[1].calls, 0);
  assert_int_equal(a[3].rc, 0);
  store_reader_stats(r, &rs);
  assert_int_equal(rs.queued, 0);
  assert_int_equal(rs.owners, 0);
  stopped = 0;
  store_reader_stop(r, on_stopped, NULL);
  while (!stopped) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  store_close(s);
}

/* ---- change log --------------------------------------------------------------- */
typedef struct rows { store_change_t c[16]; int n; } rows_t;
static void on_change(void *ud, const store_change_t *c)
{
  rows_t *r = ud;
  if (r->n < 16) r->c[r->n++] = *c;
}

/* App inserts, updates of server-held columns, orders and meta writes log a
 * row, in the writing transaction (a rolled-back write logs nothing);
 * account imports (which bump next_user_no) and usage events log none. */
static void test_change_log(void **st)
{
  (void)st;
  store_t *s, *rd;
  assert_int_equal(store_open_reader(dir, &rd), IMC_E_IO); /* no database yet */
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_open_reader(dir, &rd), 0);
  int64_t last;
  assert_int_equal(store_changes_last(rd, &last), 0);
  assert_int_equal(last, 0);
  uint32_t app = make_app(s);
  uint32_t no;
  assert_int_equal(store_account_import(s, app, "a", NULL, NULL, 1, &no), 0);
  assert_int_equal(store_usage_login(s, app, 20260101, no), 0);
  assert_int_equal(store_app_set(s, app, "edition", "pro"), 0);
  assert_int_equal(store_meta_set(s, "operator_token_sha256", "00"), 0);
  assert_int_equal(store_meta_set(s, "operator_token_sha256", "11"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_app_set(s, app, "status", "suspended"), 0);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  store_order_t o = { .sdkappid = app, .customer_id = a.customer_id, .at_s = 1, .kind = "addon", .item = "local_audit",
                      .anchor_day = 100, .start_day = 100, .end_day = 130, .book = "s2022", .pay = "included",
                      .reference = "t-1" };
  int64_t oid;
  assert_int_equal(store_order_insert(s, &o, &oid), 0);
  rows_t r = { .n = 0 };
  assert_int_equal(store_changes_since(rd, 0, 16, on_change, &r), 0);
  char key[16];
  snprintf(key, sizeof key, "%u", app);
  assert_int_equal(r.n, 5);
  assert_string_equal(r.c[4].kind, STORE_CHANGE_APP_UPDATE);
  assert_string_equal(r.c[4].key, key);
  assert_string_equal(r.c[0].kind, STORE_CHANGE_APP_CREATE);
  assert_string_equal(r.c[0].key, key);
  assert_string_equal(r.c[1].kind, STORE_CHANGE_APP_UPDATE);
  assert_string_equal(r.c[1].key, key);
  assert_string_equal(r.c[2].kind, STORE_CHANGE_META);
  assert_string_equal(r.c[2].key, "operator_token_sha256");
  assert_string_equal(r.c[3].kind, STORE_CHANGE_META);
  for (int i = 1; i < r.n; i++) assert_true(r.c[i].seq > r.c[i - 1].seq);
  assert_int_equal(store_changes_last(rd, &last), 0);
  assert_int_equal(last, r.c[4].seq);
  /* paging: after a seq, with a limit */
  rows_t p = { .n = 0 };
  assert_int_equal(store_changes_since(rd, r.c[0].seq, 2, on_change, &p), 0);
  assert_int_equal(p.n, 2);
  assert_int_equal(p.c[0].seq, r.c[1].seq);
  assert_int_equal(store_changes_since(rd, 0, 0, on_change, &p), IMC_E_INVAL);
  /* the reader connection refuses writes */
  assert_int_equal(store_meta_set(rd, "k", "v"), IMC_E_IO);
  store_close(rd);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_pool_reads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_cap_and_stop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_share_cancel_round_robin, setup, teardown),
    cmocka_unit_test_setup_teardown(test_change_log, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_thread_named, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
