/* The retention purge's steps (sqlite_msg.c). The inbox walk
 * (store_msg_purge_inbox) goes over user numbers in bounded calls; since
 * migration 26 the inbox leads with user_no, so it steps through the
 * numbers of every app, up to the app's next user number. Two apps share
 * user numbers (and each has one the other lacks): purging one app deletes
 * exactly its expired events, keeps each of its users' newest event, and
 * never touches the other app. The messages' pass (store_msg_purge_msgs)
 * reads the table once for every app, each with its own horizon. The
 * conversation-list trim's walk (store_msg_recent_users) finds exactly the
 * users over the limit, in bounded steps: each step visits at most
 * max_users user numbers (those of the other app included). */
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
#define APP2 1400000002u
#define APP3 1400000003u

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgpurge");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static int events;
static void count(void *ud, const store_inbox_ev_t *e) { (void)ud; (void)e; events++; }

static int inbox_len(store_t *s, uint32_t app, uint32_t user)
{
  uint32_t max;
  events = 0;
  assert_int_equal(store_msg_inbox_page(s, app, user, 0, 100, 0, count, NULL, &max), 0);
  return events;
}

static void test_purge_walk_two_apps(void **st)
{
  (void)st;
  store_t *s;
  uint32_t useq;
  int64_t n, total = 0;
  /* APP: users 1, 2, 3, 7; APP2: users 1, 2, 3, 5. Four events each at t = 100..103. */
  static const uint32_t users[2][4] = { { 1, 2, 3, 7 }, { 1, 2, 3, 5 } };
  assert_int_equal(test_store_open(dir, &s), 0);
  for (int a = 0; a < 2; a++)
    for (int u = 0; u < 4; u++)
      for (int k = 0; k < 4; k++)
        assert_int_equal(store_msg_inbox_add(s, a ? APP2 : APP, users[a][u], STORE_EV_READ, 1, 1, 100 + k, &useq), 0);
  /* chunks of 2 below t = 1000: three events of each of APP's four users */
  int calls = 0, more;
  uint32_t cursor = 0;
  do {
    assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 2, &cursor, &n, &more), 0);
    total += n;
    assert_int_equal(more, n == 2); /* a walk of four users stops only at the limit */
  } while (more && ++calls < 100);
  assert_int_equal(cursor, 0);
  assert_int_equal(total, 12);
  for (int u = 0; u < 4; u++) {
    assert_int_equal(inbox_len(s, APP, users[0][u]), 1);
    assert_int_equal(inbox_len(s, APP2, users[1][u]), 4);
  }
  /* a second walk finds nothing more */
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 2, &cursor, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_int_equal(more, 0);
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 0, &cursor, &n, &more), IMC_E_INVAL);
  store_close(s);
}

/* rows per user: APP users 1..30 have u % 7 rows, APP2 users 5..40 have (u * 3) % 8 */
static int rows_of(int app2, uint32_t u)
{
  if (!app2) return u >= 1 && u <= 30 ? (int)(u % 7) : 0;
  return u >= 5 && u <= 40 ? (int)((u * 3) % 8) : 0;
}

static uint32_t found[64];
static int nfound;
static void user_found(void *ud, const char *uid, uint32_t user_no)
{
  (void)ud;
  assert_null(uid);
  assert_true(nfound < 64);
  found[nfound++] = user_no;
}

static void walk(store_t *s, uint32_t app, int kept, int max_users)
{
  uint32_t after = 0, next;
  int all[64], nall = 0, steps = 0;
  do {
    nfound = 0;
    assert_int_equal(store_msg_recent_users(s, app, kept, after, max_users, user_found, NULL, &next), 0);
    /* the numbers this step may visit: the max_users first above after that have a row in any app */
    uint32_t last = after;
    for (int seen = 0; seen < max_users && last < 64;)
      if (rows_of(0, ++last) || rows_of(1, last)) seen++;
    for (int i = 0; i < nfound; i++) {
      assert_true(found[i] > after && found[i] <= last);
      all[nall++] = (int)found[i];
    }
    if (next) assert_int_equal(next, last);
    after = next;
    assert_true(++steps < 100);
  } while (next);
  int want = 0;
  for (uint32_t u = 1; u <= 40; u++)
    if (rows_of(app == APP2, u) > kept) {
      assert_true(want < nall);
      assert_int_equal(all[want++], (int)u);
    }
  assert_int_equal(want, nall);
  if (max_users < 40) assert_true(steps > 1);
}

static void test_recent_users_walk(void **st)
{
  (void)st;
  store_t *s;
  char sql[128];
  assert_int_equal(test_store_open(dir, &s), 0);
  for (int a = 0; a < 2; a++)
    for (uint32_t u = 1; u <= 40; u++)
      for (int k = 0; k < rows_of(a, u); k++) {
        snprintf(sql, sizeof sql, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no) VALUES(%u,%u,%d)", a ? APP2 : APP, u,
                 100 + k);
        assert_int_equal(store_exec(s, sql), 0);
      }
  for (int kept = 0; kept < 8; kept++) {
    walk(s, APP, kept, 1);
    walk(s, APP, kept, 3);
    walk(s, APP2, kept, 2);
    walk(s, APP2, kept, 1000);
  }
  store_close(s);
}

/* The inbox walk is bounded by the users it visits, not only by the rows
 * it deletes: with a limit no call reaches, a call stops after
 * STORE_PURGE_WALK_USERS users and says more; the next goes on from there
 * and ends the walk. Fails when a call walks every user. */
static void test_purge_walk_bounded(void **st)
{
  (void)st;
  store_t *s;
  uint32_t useq;
  int64_t n;
  int more;
  const uint32_t users = STORE_PURGE_WALK_USERS + 44;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 1; u <= users; u++)
    for (int k = 0; k < 2; k++) assert_int_equal(store_msg_inbox_add(s, APP, u, STORE_EV_READ, 1, 1, 100 + k, &useq), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  uint32_t cursor = 0;
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 100000, &cursor, &n, &more), 0);
  assert_int_equal(n, STORE_PURGE_WALK_USERS); /* each user's older event; its newest stays */
  assert_int_equal(more, 1);
  assert_int_equal(cursor, STORE_PURGE_WALK_USERS);
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 100000, &cursor, &n, &more), 0);
  assert_int_equal(n, 44);
  assert_int_equal(more, 0);
  for (uint32_t u = 1; u <= users; u += 37) assert_int_equal(inbox_len(s, APP, u), 1);
  assert_int_equal(inbox_len(s, APP, users), 1);
  store_close(s);
}

/* The messages' scan is bounded too: a call reads one window of
 * STORE_PURGE_SCAN_ROWS rows in rowid order and says more, so a pass over
 * a table of 2.x windows takes three calls, whatever the limit; expired
 * messages go in every window, each conversation's newest stays. Fails
 * when one call scans the whole table. */
static void test_purge_msg_windows(void **st)
{
  (void)st;
  store_t *s;
  int64_t n, total = 0, cursor = 0;
  int more, calls = 0;
  const uint32_t msgs = 2 * STORE_PURGE_SCAN_ROWS + 10;
  const store_msg_cut_t cut = { APP, msgs / 2, 0 };
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 1; i <= msgs; i++) rows_send(s, APP, 0, 1, 2 + i % 2, i); /* time i, two conversations */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  do {
    assert_int_equal(store_msg_purge_msgs(s, &cut, 1, 100000, &cursor, &n, &more), 0);
    total += n;
    calls++;
  } while (more && calls < 1000);
  assert_int_equal(calls, 3);
  assert_int_equal(cursor, 0);
  assert_int_equal(rows_count(s, "c2c_msg"), msgs - (msgs / 2 - 1)); /* times 1 .. msgs/2 - 1 went */
  assert_int_equal(total, msgs / 2 - 1);
  /* the next pass finds nothing more, in as many calls */
  calls = 0;
  do {
    assert_int_equal(store_msg_purge_msgs(s, &cut, 1, 100000, &cursor, &n, &more), 0);
    assert_int_equal(n, 0);
  } while (more && ++calls < 1000);
  store_close(s);
}

/* One pass of the messages for every app: three apps' messages interleaved
 * in the table, APP and APP2 purged with different horizons, APP3 not named.
 * The pass takes as many calls as the table has windows (not one pass per
 * app), stops at the limit and goes on where it stopped, and deletes
 * exactly the rows a model says: an app's rows before its horizon, except
 * each conversation's newest. Fails when a horizon is applied to another
 * app, when an unnamed app loses rows, or when a stop at the limit skips
 * rows. */
static void test_purge_msgs_every_app(void **st)
{
  (void)st;
  store_t *s;
  enum { MSGS = STORE_PURGE_SCAN_ROWS + STORE_PURGE_SCAN_ROWS / 2 };
  static const uint32_t app_of[3] = { APP, APP2, APP3 };
  static uint32_t rand_of[MSGS], app_at[MSGS];
  static int32_t conv_last[3][8];
  memset(conv_last, -1, sizeof conv_last);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 0; i < MSGS; i++) { /* time i + 1; app i % 3; peers 1 and 2..9 */
    uint32_t a = (i * 7 + i / 5) % 3, peer = 2 + (i * 13) % 8;
    rows_send(s, app_of[a], 0, 1, peer, i + 1);
    rand_of[i] = i + 1;
    app_at[i] = a;
    conv_last[a][peer - 2] = (int32_t)i;
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  const store_msg_cut_t cuts[2] = { { APP, 4000, 0 }, { APP2, 2500, 0 } };
  const store_msg_cut_t bad[2] = { { APP2, 1, 0 }, { APP, 1, 0 } };
  int64_t n, total = 0, cursor = 0;
  int more, calls = 0, limited = 0;
  assert_int_equal(store_msg_purge_msgs(s, bad, 2, 10, &cursor, &n, &more), IMC_E_INVAL); /* not ascending */
  assert_int_equal(store_msg_purge_msgs(s, cuts, 0, 10, &cursor, &n, &more), IMC_E_INVAL);
  assert_int_equal(rows_count(s, "c2c_msg"), MSGS);
  do {
    assert_int_equal(store_msg_purge_msgs(s, cuts, 2, 700, &cursor, &n, &more), 0);
    assert_true(n <= 700);
    if (n == 700) limited++;
    total += n;
  } while (more && ++calls < 1000);
  assert_true(limited >= 3); /* the horizons delete ~1,330 + ~830 rows of the first window: calls stop at the limit */
  static uint8_t left[MSGS];
  sqlite3_stmt *q;
  memset(left, 0, sizeof left);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT sdkappid,random FROM c2c_msg", -1, &q, NULL), SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    uint32_t r = (uint32_t)sqlite3_column_int64(q, 1);
    assert_true(r >= 1 && r <= MSGS && !left[r - 1]);
    assert_int_equal(sqlite3_column_int64(q, 0), app_of[app_at[r - 1]]);
    left[r - 1] = 1;
  }
  sqlite3_finalize(q);
  int64_t want = 0;
  for (uint32_t i = 0; i < MSGS; i++) {
    uint32_t a = app_at[i], peer = 2 + (i * 13) % 8;
    int gone = a < 2 && (int64_t)(i + 1) < cuts[a].before_s && conv_last[a][peer - 2] != (int32_t)i;
    want += gone;
    assert_int_equal(left[rand_of[i] - 1], !gone);
  }
  assert_int_equal(total, want);
  assert_int_equal(rows_count(s, "c2c_msg"), MSGS - want);
  store_close(s);
}

/* Both walks over user numbers end at the app's next user number: an app
 * with three accounts beside one with 600 (their numbers shared) walks
 * three numbers, not 600. Fails when a walk goes on to the other app's
 * numbers (the inbox walk would say more after STORE_PURGE_WALK_USERS
 * numbers; the trim walk would take steps past number 3). */
static store_msg_cut_t floors_got[8];
static int nfloors;
static void floor_row(void *ud, const store_msg_cut_t *f)
{
  (void)ud;
  assert_true(nfloors < 8);
  floors_got[nfloors++] = *f;
}

static void floors_are(store_t *s, int n, const store_msg_cut_t *want)
{
  nfloors = 0;
  assert_int_equal(store_msg_floors(s, floor_row, NULL), 0);
  assert_int_equal(nfloors, n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(floors_got[i].sdkappid, want[i].sdkappid);
    assert_int_equal(floors_got[i].before_s, want[i].before_s);
  }
}

/* A pass's horizons become the apps' floors when it begins (a call with
 * cursor 0), in the transaction of its first deletes; a shorter horizon later
 * never lowers one, and an app left out of the pass keeps its own; a pass
 * whose clock is below a floor (it stepped back past it) replaces it. */
static void test_purge_floors(void **st)
{
  (void)st;
  store_t *s;
  int64_t n, cursor = 0;
  int more;
  assert_int_equal(test_store_open(dir, &s), 0);
  floors_are(s, 0, NULL);
  rows_send(s, APP, 0, 1, 2, 10);
  rows_send(s, APP, 0, 1, 2, 20);
  const store_msg_cut_t first[2] = { { APP, 100, 0 }, { APP2, 50, 0 } };
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_msg_purge_msgs(s, first, 2, 10, &cursor, &n, &more), 0);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0); /* undone with the deletes */
  floors_are(s, 0, NULL);
  cursor = 0;
  assert_int_equal(store_msg_purge_msgs(s, first, 2, 10, &cursor, &n, &more), 0);
  assert_int_equal(n, 1); /* the older row; the conversation's newest (time 20) stays */
  floors_are(s, 2, first);
  const store_msg_cut_t shorter[1] = { { APP, 30, 0 } }; /* a longer retention: an earlier horizon */
  cursor = 0;
  assert_int_equal(store_msg_purge_msgs(s, shorter, 1, 10, &cursor, &n, &more), 0);
  floors_are(s, 2, first);
  const store_msg_cut_t later[1] = { { APP2, 200, 0 } };
  cursor = 0;
  assert_int_equal(store_msg_purge_msgs(s, later, 1, 10, &cursor, &n, &more), 0);
  floors_are(s, 2, ((const store_msg_cut_t[]){ { APP, 100, 0 }, { APP2, 200, 0 } }));
  /* a pass whose clock is below a floor (the clock stepped back past it) sets it to its horizon; one whose clock
   * is above it still only raises */
  const store_msg_cut_t back[2] = { { APP, 40, 99 }, { APP2, 60, 250 } };
  cursor = 0;
  assert_int_equal(store_msg_purge_msgs(s, back, 2, 10, &cursor, &n, &more), 0);
  floors_are(s, 2, ((const store_msg_cut_t[]){ { APP, 40, 0 }, { APP2, 200, 0 } }));
  store_close(s);
}

static void test_walks_end_at_app_users(void **st)
{
  (void)st;
  store_t *s;
  int64_t cust, n;
  uint32_t no, useq, next, cursor = 0;
  int more;
  char uid[32], sql[160];
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "c", 1, &cust), 0);
  for (int k = 0; k < 2; k++) {
    store_app_t a = { 0 };
    a.sdkappid = k ? APP2 : APP;
    a.customer_id = cust;
    strcpy(a.name, "a"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
    strcpy(a.scheme, "legacy"); strcpy(a.edition, "legacy");
    a.n_admins = 1; strcpy(a.admins[0], "administrator");
    assert_int_equal(store_app_insert(s, &a), 0);
  }
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int k = 0; k < 2; k++)
    for (int u = 1; u <= (k ? 600 : 3); u++) {
      snprintf(uid, sizeof uid, "u%d", u);
      assert_int_equal(store_account_import(s, k ? APP2 : APP, uid, NULL, NULL, 1, &no), 0);
      assert_int_equal(no, (uint32_t)u);
      for (int e = 0; e < 2; e++) assert_int_equal(store_msg_inbox_add(s, k ? APP2 : APP, no, STORE_EV_READ, 1, 1, 100 + e, &useq), 0);
      snprintf(sql, sizeof sql, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no) VALUES(%u,%u,1),(%u,%u,2)",
               k ? APP2 : APP, no, k ? APP2 : APP, no);
      assert_int_equal(store_exec(s, sql), 0);
    }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 100000, &cursor, &n, &more), 0);
  assert_int_equal(n, 3);
  assert_int_equal(more, 0);
  assert_int_equal(cursor, 0);
  nfound = 0;
  assert_int_equal(store_msg_recent_users(s, APP, 1, 0, 3, user_found, NULL, &next), 0);
  assert_int_equal(nfound, 3);
  assert_int_equal(next, 3); /* three numbers visited: the step is full, so the walk may go on */
  nfound = 0;
  assert_int_equal(store_msg_recent_users(s, APP, 1, 3, 3, user_found, NULL, &next), 0);
  assert_int_equal(nfound, 0);
  assert_int_equal(next, 0); /* nothing below APP's next number past 3: the end */
  /* APP2's walk still visits its 600 numbers, the bound counted for it */
  int calls = 0;
  cursor = 0;
  do {
    assert_int_equal(store_msg_purge_inbox(s, APP2, 1000, 100000, &cursor, &n, &more), 0);
    calls++;
  } while (more && calls < 100);
  assert_int_equal(calls, (600 + STORE_PURGE_WALK_USERS - 1) / STORE_PURGE_WALK_USERS);
  assert_int_equal(inbox_len(s, APP2, 600), 1);
  assert_int_equal(inbox_len(s, APP, 3), 1);
  /* a deleted account's number stays below the bound (numbers are never reused) */
  assert_int_equal(store_exec(s, "DELETE FROM accounts WHERE sdkappid=1400000001 AND user_no=3"), 0);
  assert_int_equal(store_msg_inbox_add(s, APP, 3, STORE_EV_READ, 1, 1, 200, &useq), 0);
  cursor = 0;
  assert_int_equal(store_msg_purge_inbox(s, APP, 1000, 100000, &cursor, &n, &more), 0);
  assert_int_equal(n, 1);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_purge_walk_two_apps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_recent_users_walk, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_walk_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_msg_windows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_msgs_every_app, setup, teardown),
    cmocka_unit_test_setup_teardown(test_walks_end_at_app_users, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_floors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
