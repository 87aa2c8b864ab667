/* Unit tests for the C2C retention pass (src/im/c2c_ops.c) over a real
 * writer thread and loop:
 *  - an app whose edition is not known (im_limits_t.known answers 0) is
 *    left alone: none of its messages is deleted, none of its conversation
 *    rows trimmed, and it gets no purge floor; the app next to it, whose
 *    edition is known, is purged, trimmed and gets its floor;
 *  - a pass that finds no app known deletes nothing and ends;
 *  - a floor hides what is below it among the messages stored when its
 *    pass began (a later one, whatever its time, is judged by the
 *    retention); a floor in the future (a pass ran while the clock was
 *    ahead by more than the retention) hides no message stored after that
 *    pass, and the next pass replaces it with its own horizon. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "im/c2c.h"
#include "im/presence.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "store/store_reader.h"
#include "store/store_writer.h"
#include "store/sqlite_msg_int.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "util/err.h"

#define KNOWN 1400000001u
#define UNKNOWN 1400000002u
#define RET_S (7 * 86400)

static char dir[64];
static uint32_t known_apps[2];
static size_t nknown;

static int64_t per_app(void *ud, uint32_t sdkappid, im_limit_t which, int64_t dflt)
{
  (void)ud;
  (void)sdkappid;
  (void)which;
  return dflt; /* the configured value: what a server uses for an app whose edition it cannot read */
}

static int known(void *ud, uint32_t sdkappid)
{
  (void)ud;
  for (size_t i = 0; i < nknown; i++)
    if (known_apps[i] == sdkappid) return 1;
  return 0;
}

static void app_insert(store_t *s, int64_t cust, uint32_t id)
{
  store_app_t a;
  memset(&a, 0, sizeof a);
  a.sdkappid = id;
  a.customer_id = cust;
  strcpy(a.name, "t");
  memset(a.secret_key, 'a', 64);
  strcpy(a.region, "china");
  strcpy(a.scheme, "s2022");
  strcpy(a.edition, "trial");
  strcpy(a.status, "active");
  assert_int_equal(store_app_insert(s, &a), 0);
}

/* Both apps: users 1, 2, 3; user 1 wrote to 2 at times 10 and 20 and to 3
 * at time 30 (all long past any retention). */
static int setup(void **st)
{
  (void)st;
  assert_int_equal(test_tmpdir_make(dir, sizeof dir, "c2cpurge"), 0);
  store_t *s;
  int64_t cust;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "c", 1, &cust), 0);
  const uint32_t apps[2] = { KNOWN, UNKNOWN };
  for (int a = 0; a < 2; a++) {
    app_insert(s, cust, apps[a]);
    uint32_t no[3];
    const char *ids[3] = { "u1", "u2", "u3" };
    for (int u = 0; u < 3; u++) assert_int_equal(store_account_import(s, apps[a], ids[u], NULL, NULL, 1, &no[u]), 0);
    rows_send(s, apps[a], 0, no[0], no[1], 10);
    rows_send(s, apps[a], 0, no[0], no[1], 20);
    rows_send(s, apps[a], 0, no[0], no[2], 30);
  }
  store_close(s);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

typedef struct {
  int done, rc;
  int64_t deleted;
} pass_t;

static void pass_done(void *ud, int rc, int64_t deleted)
{
  pass_t *p = ud;
  p->done = 1;
  p->rc = rc;
  p->deleted = deleted;
}

/* The messaging core over a running writer and reader on dir: retention
 * RET_S, kept conversations per user `kept`, the apps in known_apps known. */
typedef struct env {
  uv_loop_t loop;
  store_writer_t *w;
  store_reader_t *r;
  im_presence_t *p;
  im_limits_t lim;
  im_c2c_t *c;
} env_t;

static void env_start(env_t *e, int64_t kept)
{
  memset(e, 0, sizeof *e);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(store_writer_start(&e->loop, dir, 1000, &e->w), 0);
  assert_int_equal(store_reader_start(&e->loop, dir, 1, 100, &e->r), 0);
  assert_int_equal(im_presence_create(&e->p), 0);
  e->lim.v[IM_LIMIT_RETENTION_S] = e->lim.v[IM_LIMIT_GROUP_RETENTION_S] = RET_S;
  e->lim.v[IM_LIMIT_RECENT_KEPT] = kept;
  e->lim.v[IM_LIMIT_PAGE_BYTES] = 1 << 20;
  e->lim.per_app = per_app;
  e->lim.known = known;
  im_c2c_hooks_t hooks;
  memset(&hooks, 0, sizeof hooks);
  assert_int_equal(im_c2c_create(e->w, e->r, e->p, &e->lim, &hooks, &e->c), 0);
}

/* Run the loop until *done. */
static void env_wait(env_t *e, const int *done)
{
  for (int i = 0; i < 100000 && !*done; i++) uv_run(&e->loop, UV_RUN_ONCE);
  assert_true(*done);
}

static void env_stop(env_t *e)
{
  im_c2c_free(e->c);
  store_writer_stop(e->w, NULL, NULL);
  store_reader_stop(e->r, NULL, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  im_presence_free(e->p);
}

/* One whole retention pass: one conversation kept per user; floor_s > 0:
 * the known app's floor before the pass. */
static pass_t run_pass_floor(int64_t floor_s)
{
  env_t e;
  env_start(&e, 1);
  if (floor_s) assert_int_equal(im_c2c_floor_set(e.c, KNOWN, floor_s), 0);
  pass_t pass = { 0 };
  im_c2c_purge(e.c, pass_done, &pass);
  env_wait(&e, &pass.done);
  env_stop(&e);
  return pass;
}

static pass_t run_pass(void) { return run_pass_floor(0); }

static int64_t count_of(store_t *s, const char *sql_tail, uint32_t app)
{
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE sdkappid=%u", sql_tail, app);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

static store_msg_cut_t floors[4];
static int nfloors;
static void floor_row(void *ud, const store_msg_cut_t *f)
{
  (void)ud;
  assert_true(nfloors < 4);
  floors[nfloors++] = *f;
}

static void test_unknown_app_left_alone(void **st)
{
  (void)st;
  known_apps[0] = KNOWN;
  nknown = 1;
  int64_t now = (int64_t)time(NULL);
  pass_t p = run_pass();
  assert_int_equal(p.rc, 0);
  assert_true(p.deleted >= 2); /* the known app's time-10 message and one of its user 1's conversations, at least */
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  /* the known app: each conversation keeps its newest message; user 1 keeps one conversation row */
  assert_int_equal(count_of(s, "c2c_msg", KNOWN), 2);
  assert_int_equal(count_of(s, "(SELECT sdkappid FROM c2c_recent WHERE user_no=1 UNION ALL"
                               " SELECT sdkappid FROM c2c_recent_log WHERE user_no=1)", KNOWN), 1);
  /* the other: untouched */
  assert_int_equal(count_of(s, "c2c_msg", UNKNOWN), 3);
  assert_int_equal(count_of(s, "(SELECT sdkappid FROM c2c_recent WHERE user_no=1 UNION ALL"
                               " SELECT sdkappid FROM c2c_recent_log WHERE user_no=1)", UNKNOWN), 2);
  nfloors = 0;
  assert_int_equal(store_msg_floors(s, floor_row, NULL), 0);
  assert_int_equal(nfloors, 1);
  assert_int_equal(floors[0].sdkappid, KNOWN);
  assert_true(floors[0].before_s >= now - RET_S && floors[0].before_s <= (int64_t)time(NULL) - RET_S);
  store_close(s);
}

static void test_no_app_known(void **st)
{
  (void)st;
  nknown = 0;
  pass_t p = run_pass();
  assert_int_equal(p.rc, 0);
  assert_int_equal(p.deleted, 0);
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(count_of(s, "c2c_msg", KNOWN), 3);
  assert_int_equal(count_of(s, "c2c_msg", UNKNOWN), 3);
  nfloors = 0;
  assert_int_equal(store_msg_floors(s, floor_row, NULL), 0);
  assert_int_equal(nfloors, 0);
  store_close(s);
}

typedef struct hist { int done, rc; size_t n; } hist_t;
static void hist_done(void *ud, int rc, const im_msg_list_t *l)
{
  hist_t *h = ud;
  h->done = 1;
  h->rc = rc;
  h->n = l ? l->n : 0;
}

/* Messages of user 1's conversation with user 2 of app KNOWN that a history
 * read returns with the app's stored floor at floor_s covering the messages
 * with id <= upto_id (a pass that began when they were stored). */
static size_t history_with_floor(int64_t floor_s, int64_t upto_id)
{
  store_t *s;
  char sql[160];
  assert_int_equal(test_store_open(dir, &s), 0);
  snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(%u,%lld,%lld)", KNOWN,
           (long long)floor_s, (long long)upto_id);
  assert_int_equal(store_exec(s, sql), 0);
  store_close(s);
  env_t e;
  env_start(&e, 100);
  known_apps[0] = KNOWN;
  nknown = 1;
  hist_t h = { 0 };
  im_c2c_history(e.c, KNOWN, 1, 2, 0, 0, 0, NULL, 0, 100, hist_done, &h);
  env_wait(&e, &h.done);
  assert_int_equal(h.rc, 0);
  env_stop(&e);
  return h.n;
}

static void test_floor_ahead_of_the_clock(void **st)
{
  (void)st;
  store_t *s;
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(test_store_open(dir, &s), 0);
  int64_t before = rows_count(s, "c2c_msg"); /* ids of the rows of setup: 1..before */
  rows_send(s, KNOWN, now - 100, 1, 2, 50); /* at now - 50, id before + 1 */
  rows_send(s, KNOWN, now, 1, 2, 60);       /* at now + 60 */
  store_close(s);
  assert_int_equal(history_with_floor(now - 3600, before + 2), 2);
  assert_int_equal(history_with_floor(now - 10, before + 2), 1); /* the one below the floor is hidden */
  assert_int_equal(history_with_floor(now - 10, before), 2);     /* stored after the floor's pass: the retention decides */
  /* a floor ahead of the clock (a pass while it was ahead by more than the retention) covers only what was stored
   * before that pass: what came after is shown (retention alone) */
  assert_int_equal(history_with_floor(now + 86400, before), 2);
  assert_int_equal(history_with_floor(now + 86400, before + 1), 1);
}

/* User 1 cleared its conversation with user 2 (trimmed by the pass: 1 kept).
 * With the floor behind the clock the trim deletes the row (its cleared
 * messages are all below the floor). With a floor ahead of the clock (a
 * pass ran while it was ahead by more than the retention) the pass first
 * replaces that floor with its own horizon, now - 7 days, and judges by it:
 * the row goes too, and the stored floor is the horizon. */
static void cleared_row_after_pass(int64_t floor_s, int want_row)
{
  store_t *s;
  known_apps[0] = KNOWN;
  nknown = 1;
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_msg_recent_set(s, KNOWN, 1, 2, "cleared_seq", 2), 0);
  store_close(s);
  assert_int_equal(run_pass_floor(floor_s).rc, 0);
  assert_int_equal(test_store_open(dir, &s), 0);
  store_recent_t r;
  assert_int_equal(store_msg_recent_get(s, KNOWN, 1, 2, &r), want_row ? 0 : IMC_E_NOTFOUND);
  if (want_row) assert_int_equal(r.cleared_seq, 2);
  nfloors = 0;
  assert_int_equal(store_msg_floors(s, floor_row, NULL), 0);
  assert_int_equal(nfloors, 1);
  assert_true(floors[0].before_s >= now - RET_S && floors[0].before_s <= (int64_t)time(NULL) - RET_S);
  store_close(s);
}

static void test_clear_goes_below_the_floor(void **st)
{
  (void)st;
  cleared_row_after_pass(0, 0);
}

static void test_floor_ahead_replaced_by_the_pass(void **st)
{
  (void)st;
  cleared_row_after_pass((int64_t)time(NULL) + 86400, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_unknown_app_left_alone, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_app_known, setup, teardown),
    cmocka_unit_test_setup_teardown(test_floor_ahead_of_the_clock, setup, teardown),
    cmocka_unit_test_setup_teardown(test_clear_goes_below_the_floor, setup, teardown),
    cmocka_unit_test_setup_teardown(test_floor_ahead_replaced_by_the_pass, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
