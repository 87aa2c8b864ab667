/* The C2C inbox log (sqlite_msg_log.c): inbox events are appended to a
 * small log (keyed as the inbox since migration 32) and merged into
 * c2c_inbox later. Every read of a user's
 * inbox — a sync page, its max useq — sees each event exactly once, in
 * order, whether it is merged, still in the log, or split between the two;
 * across a restart; and the retention purge deletes expired events
 * whether merged or not. The store is used directly (no writer thread), so nothing merges
 * unless the test says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/sqlite_msg_int.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define T0 1700000000

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msglog");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static void send(store_t *s, uint32_t from, uint32_t to, uint32_t random) { rows_send(s, APP, T0, from, to, random); }

typedef struct page { int n; uint32_t useq[256]; uint32_t seq[256]; int with_msg; } page_t;

static void on_ev(void *ud, const store_inbox_ev_t *e)
{
  page_t *p = ud;
  assert_true(p->n < 256);
  p->useq[p->n] = e->useq;
  p->seq[p->n++] = e->seq;
  if (e->msg) p->with_msg++;
}

/* A page of user's events after `after`, limit; checks they are after+1,
 * after+2 … (gap-free, ascending, each once) and that the max is max_useq. */
static int read_page(store_t *s, uint32_t user, uint32_t after, int limit, int64_t since, uint32_t max_useq)
{
  page_t p = { 0 };
  uint32_t max = 0;
  assert_int_equal(store_msg_inbox_page(s, APP, user, after, limit, since, on_ev, &p, &max), 0);
  assert_int_equal(max, max_useq);
  for (int i = 0; i < p.n; i++) assert_int_equal(p.useq[i], after + 1 + (uint32_t)i);
  assert_int_equal(p.with_msg, p.n);
  return p.n;
}

static void merge_all(store_t *s)
{
  int more = 1;
  while (more) assert_int_equal(store_msg_merge(s, STORE_MERGE_ALL, &more), 0);
}

static void test_backlog_split_between_log_and_inbox(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  for (uint32_t i = 1; i <= 30; i++) send(s, 1, 2, i);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 60); /* the appends wrote the log, not the inbox */
  assert_int_equal(rows_count(s, "c2c_inbox"), 0);
  assert_int_equal(read_page(s, 2, 0, 100, 0, 30), 30); /* all of it in the log */
  merge_all(s);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 0);
  assert_int_equal(rows_count(s, "c2c_inbox"), 60);
  for (uint32_t i = 31; i <= 50; i++) send(s, 1, 2, i);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 40);
  assert_int_equal(read_page(s, 2, 0, 100, 0, 50), 50);  /* 30 merged, then 20 in the log */
  assert_int_equal(read_page(s, 2, 25, 10, 0, 50), 10);  /* a page across the boundary: 26 … 35 */
  assert_int_equal(read_page(s, 2, 40, 100, 0, 50), 10); /* the log alone */
  store_close(s);

  /* the log survives a restart; a new event continues the useq (a cache miss reads the inbox and the log) */
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 40);
  assert_int_equal(read_page(s, 1, 0, 100, 0, 50), 50);
  send(s, 2, 1, 51);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 42);
  assert_int_equal(rows_count(s, "c2c_inbox"), 60);
  assert_int_equal(read_page(s, 1, 0, 100, 0, 51), 51);
  assert_int_equal(read_page(s, 2, 0, 100, 0, 51), 51);
  store_close(s);
}

/* Twenty messages from one user to another: the first ten merged into
 * c2c_inbox, the last ten left in the log. */
static void split_backlog(store_t *s, uint32_t from, uint32_t to)
{
  for (uint32_t i = 1; i <= 10; i++) send(s, from, to, i);
  merge_all(s);
  for (uint32_t i = 11; i <= 20; i++) send(s, from, to, i);
}

/* since skips older events in either table, merged or logged. */
static void test_since_in_both(void **st)
{
  (void)st;
  store_t *s;
  page_t p = { 0 };
  uint32_t max;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  split_backlog(s, 3, 4);
  assert_int_equal(store_msg_inbox_page(s, APP, 4, 0, 100, T0 + 6, on_ev, &p, &max), 0);
  assert_int_equal(max, 20);
  assert_int_equal(p.n, 15);
  for (int i = 0; i < p.n; i++) assert_int_equal(p.useq[i], 6 + (uint32_t)i);
  store_close(s);
}

/* The purge's walk merges each user's logged events as it reaches the
 * user, and finds users whose events are all in the log: expired events go
 * whether they were merged or not, and each user's newest stays. Fails
 * when the walk looks for users in c2c_inbox alone. */
static void test_purge_merges_log(void **st)
{
  (void)st;
  store_t *s;
  int64_t n;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  split_backlog(s, 5, 6);
  for (uint32_t k = 1; k <= 3; k++) send(s, 9, 10, 900 + k); /* users 9 and 10: events in the log only */
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no IN (9,10)"), 0);
  n = rows_purge_app(s, APP, T0 + 1000, 1000, NULL);
  assert_true(n > 0);
  /* the rows stored (reads leave out the kept newest: the pass's floor covers it) */
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no=6"), 1); /* the log is empty (below) */
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no=6 AND useq=20"), 1);
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no=10"), 1); /* the walk found user 10 in the log */
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no=10 AND useq=3"), 1);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 0); /* each user's events merged as the walk reached it */
  store_close(s);
}

/* A rollback forgets the writer's useq cache while the log holds events of
 * the forgotten users: the next event of such a user continues after its
 * logged ones (the miss reads max(useq) from the inbox and the log), so
 * the inbox stays gap-free and unique. */
static void test_miss_after_rollback(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  send(s, 7, 8, 1);
  send(s, 7, 8, 2);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  send(s, 7, 9, 3);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  send(s, 8, 7, 4); /* user 8's third event: useq 3 */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(read_page(s, 8, 0, 100, 0, 3), 3);
  assert_int_equal(read_page(s, 7, 0, 100, 0, 3), 3);
  merge_all(s);
  assert_int_equal(read_page(s, 8, 0, 100, 0, 3), 3);
  store_close(s);
}

/* The log has a cap (LOG_CAP_ROWS): events past it go straight to
 * c2c_inbox, and reads still see every event once. An idle merge waits for
 * LOG_MIN_ROWS rows, then moves chunks of LOG_CHUNK_ROWS until fewer than
 * LOG_MIN_ROWS are left. */
static void test_cap_and_idle_merge(void **st)
{
  (void)st;
  store_t *s;
  int more;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0); /* logs on (the default; explicit, so these tests hold in a build with them off) */
  assert_true(200 < LOG_MIN_ROWS && LOG_MIN_ROWS + LOG_CHUNK_ROWS <= LOG_CAP_ROWS && LOG_CAP_ROWS % 4 == 0);
  const uint32_t t = LOG_CAP_ROWS / 2 + 52; /* sends in all: 2t events, 104 past the cap */
  const uint32_t n20 = t / 2, n12 = (t + 1) / 3; /* user 20's events (even i), user 12's (i % 3 == 2) */
  for (uint32_t i = 1; i <= 100; i++) send(s, 10 + i % 3, 20 + i % 2, i);
  assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0); /* 200 rows: not worth a merge yet */
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 200);
  assert_int_equal(store_msg_merge(s, STORE_MERGE_BUSY, &more), 0);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 200);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 101; i <= t; i++) send(s, 10 + i % 3, 20 + i % 2, i);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), LOG_CAP_ROWS);
  assert_int_equal(rows_count(s, "c2c_inbox"), 104);
  assert_int_equal(read_page(s, 20, 0, 256, 0, n20), 256);
  assert_int_equal(read_page(s, 21, n20 - 250, 256, 0, n20), 250);
  assert_int_equal(read_page(s, 12, n12 - 200, 256, 0, n12), 200);
  assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0);
  assert_int_equal(more, 1);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), LOG_CAP_ROWS - LOG_CHUNK_ROWS);
  while (more) assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0);
  int64_t left = rows_count(s, "c2c_inbox_log");
  assert_true(left < LOG_MIN_ROWS && left >= LOG_MIN_ROWS - LOG_CHUNK_ROWS); /* the idle minimum stays */
  assert_int_equal(rows_count(s, "c2c_inbox"), 2 * t - left);
  assert_int_equal(read_page(s, 20, n20 - 150, 256, 0, n20), 150);
  assert_int_equal(read_page(s, 10, 0, 256, 0, t / 3), 256);
  merge_all(s);
  assert_int_equal(rows_count(s, "c2c_inbox_log"), 0);
  assert_int_equal(rows_count(s, "c2c_inbox"), 2 * t);
  store_close(s);
}

/* Idle chunks sweep the log's keys: each starts where the last one ended,
 * not at the log's first key, so rows that arrive meanwhile at low keys
 * (here user 1's) wait for the sweep to come round, and a user's rows move
 * together; past the last key the sweep starts again at the first. Fails
 * when every chunk takes the log's first rows. */
static void test_sweep(void **st)
{
  (void)st;
  store_t *s;
  int more;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sq__msg_log_caps(s, LOG_CAP_ROWS, LOG_CAP_ROWS), 0);
  const uint32_t users = 64, per = (LOG_MIN_ROWS + LOG_CHUNK_ROWS) / users / 2 + 1; /* sends to each of users 101..164 */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 101; u < 101 + users; u++)
    for (uint32_t k = 0; k < per; k++) send(s, 1000 + u, u, u * 1000 + k); /* events of u and of its peer 1000+u */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  const int64_t total = 2 * users * per;
  assert_true(total >= LOG_MIN_ROWS + LOG_CHUNK_ROWS && total <= LOG_CAP_ROWS);
  assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0); /* the first chunk: the lowest keys */
  assert_int_equal(rows_count(s, "c2c_inbox_log"), total - LOG_CHUNK_ROWS);
  uint32_t low = (uint32_t)(LOG_CHUNK_ROWS / per); /* users 101.. whose rows all moved */
  assert_true(low >= 1 && low < users);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t k = 0; k < 16; k++) send(s, 2, 1, 7000000 + k); /* user 1 and user 2: below every key left */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0); /* the second chunk: past the first */
  assert_int_equal(rows_count(s, "c2c_inbox_log"), total + 32 - 2 * LOG_CHUNK_ROWS);
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no IN (1,2)"), 0); /* the sweep has not come round */
  assert_int_equal(read_page(s, 1, 0, 256, 0, 16), 16); /* read from the log meanwhile */
  /* the chunks go on past the other keys (topped up at high keys, users 9000 and 9001), wrap, and reach users 1 and 2 */
  int rounds = 0;
  while (rows_count(s, "c2c_inbox WHERE user_no IN (1,2)") == 0) {
    assert_true(++rounds <= 64);
    int64_t have = rows_count(s, "c2c_inbox_log");
    assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    for (uint32_t k = 0; have + 2 * (int64_t)k < LOG_MIN_ROWS; k++) send(s, 9000, 9001, 9000000 + (uint32_t)rounds * 10000 + k);
    assert_int_equal(store_exec(s, "COMMIT"), 0);
    assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0);
  }
  assert_true(rounds > 2); /* the rest of the first pass came first */
  assert_int_equal(rows_count(s, "c2c_inbox WHERE user_no IN (1,2)"), 32);
  assert_int_equal(read_page(s, 1, 0, 256, 0, 16), 16);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_backlog_split_between_log_and_inbox, setup, teardown),
    cmocka_unit_test_setup_teardown(test_since_in_both, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_merges_log, setup, teardown),
    cmocka_unit_test_setup_teardown(test_miss_after_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cap_and_idle_merge, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
