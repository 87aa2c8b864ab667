/* The retention purge of C2C inbox events (sqlite_msg.c purge_inbox): it
 * walks user numbers in chunks across calls; since migration 26 the inbox
 * leads with user_no, so the walk steps through the numbers of every app.
 * Two apps share user numbers (and each has one the other lacks): purging
 * one app deletes exactly its expired events, keeps each of its users'
 * newest event, and never touches the other app. The conversation-list
 * trim's walk (store_msg_recent_users) finds exactly the users over the
 * limit, in bounded steps: each step visits at most max_users user numbers
 * (those of the other app included). */
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

#define APP 1400000001u
#define APP2 1400000002u

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
  assert_int_equal(store_open(dir, &s), 0);
  for (int a = 0; a < 2; a++)
    for (int u = 0; u < 4; u++)
      for (int k = 0; k < 4; k++)
        assert_int_equal(store_msg_inbox_add(s, a ? APP2 : APP, users[a][u], STORE_EV_READ, 1, 1, 100 + k, &useq), 0);
  /* chunks of 2 below t = 1000: three events of each of APP's four users */
  int calls = 0, more;
  do {
    assert_int_equal(store_msg_purge(s, APP, 1000, 2, &n, &more), 0);
    total += n;
    assert_int_equal(more, n == 2); /* a walk of four users stops only at the limit */
  } while (more && ++calls < 100);
  assert_int_equal(total, 12);
  for (int u = 0; u < 4; u++) {
    assert_int_equal(inbox_len(s, APP, users[0][u]), 1);
    assert_int_equal(inbox_len(s, APP2, users[1][u]), 4);
  }
  /* a second pass finds nothing more */
  assert_int_equal(store_msg_purge(s, APP, 1000, 2, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_int_equal(more, 0);
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
  assert_int_equal(store_open(dir, &s), 0);
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
 * (the messages' scan is not repeated) and ends the pass. Fails when a
 * call walks every user. */
static void test_purge_walk_bounded(void **st)
{
  (void)st;
  store_t *s;
  uint32_t useq;
  int64_t n;
  int more;
  const uint32_t users = STORE_PURGE_WALK_USERS + 44;
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 1; u <= users; u++)
    for (int k = 0; k < 2; k++) assert_int_equal(store_msg_inbox_add(s, APP, u, STORE_EV_READ, 1, 1, 100 + k, &useq), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_msg_purge(s, APP, 1000, 100000, &n, &more), 0);
  assert_int_equal(n, STORE_PURGE_WALK_USERS); /* each user's older event; its newest stays */
  assert_int_equal(more, 1);
  assert_int_equal(store_msg_purge(s, APP, 1000, 100000, &n, &more), 0);
  assert_int_equal(n, 44);
  assert_int_equal(more, 0);
  for (uint32_t u = 1; u <= users; u += 37) assert_int_equal(inbox_len(s, APP, u), 1);
  assert_int_equal(inbox_len(s, APP, users), 1);
  store_close(s);
}

/* The messages' scan is bounded too: a call reads one window of
 * STORE_PURGE_SCAN_ROWS rows in rowid order and says more, so a pass over
 * a table of 2.x windows takes at least three calls, whatever the limit;
 * expired messages go in every window, each conversation's newest stays.
 * Fails when one call scans the whole table. */
static void test_purge_msg_windows(void **st)
{
  (void)st;
  store_t *s;
  int64_t n, total = 0;
  int more, calls = 0;
  const uint32_t msgs = 2 * STORE_PURGE_SCAN_ROWS + 10;
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 1; i <= msgs; i++) rows_send(s, APP, 0, 1, 2 + i % 2, i); /* time i, two conversations */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  do {
    assert_int_equal(store_msg_purge(s, APP, msgs / 2, 100000, &n, &more), 0);
    if (!calls) assert_int_equal(more, 1);
    total += n;
  } while (more && ++calls < 1000);
  assert_true(calls >= 3);
  assert_int_equal(rows_count(s, "c2c_msg"), msgs - (msgs / 2 - 1)); /* times 1 .. msgs/2 - 1 went */
  assert_true(total > msgs / 2 - 1); /* and inbox events with them */
  /* the last step deleted events, so the retention chain calls once more: that call ends the pass at once,
   * without scanning the messages again */
  assert_int_equal(store_msg_purge(s, APP, msgs / 2, 100000, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_int_equal(more, 0);
  assert_int_equal(store_msg_purge(s, APP, msgs / 2, 100000, &n, &more), 0); /* a new pass: its first window */
  assert_int_equal(more, 1);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_purge_walk_two_apps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_recent_users_walk, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_walk_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_msg_windows, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
