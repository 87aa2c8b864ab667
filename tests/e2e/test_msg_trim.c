/* End-to-end: the retention pass trims every user's conversation list to
 * msg_recent_kept, walking user numbers in bounded steps (c2c_ops.c: a step
 * reads at most 2,000 rows, so with the trial edition's 100 kept each step
 * checks 19 user numbers and the walk over these 60 takes four writer
 * jobs, each user found over the limit one trim job more). The rows are written into the server's database by the test (a
 * second connection, as the CLI does): users 5 and 59 of the app over the
 * limit, 9 at it, the others under it, and users 5 and 50 of an app the
 * server does not host over it; the app's next user number is raised past
 * 60, as its accounts would have it. After a pass (every second here) the app's
 * users 5 and 59 have exactly 100 rows, everyone else's count is unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-purge-interval-s", "1", NULL };
  return e2e_start(&srv, "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static sqlite3 *db_open(void)
{
  sqlite3 *db;
  char path[400];
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  return db;
}

static int rows(sqlite3 *db, uint32_t a, uint32_t user)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM c2c_recent WHERE sdkappid=?1 AND user_no=?2", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, a);
  sqlite3_bind_int64(st, 2, user);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int want(uint32_t a, uint32_t user, int after)
{
  if (a != app) return user == 5 ? 130 : user == 50 ? 150 : 0;
  if (user == 5 || user == 59) return after ? 100 : user == 5 ? 120 : 101;
  return user == 9 ? 100 : 3;
}

static void test_trim_in_steps(void **st)
{
  (void)st;
  sqlite3 *db = db_open();
  sqlite3_stmt *ins;
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no) VALUES(?1,?2,?3)", -1, &ins, NULL),
                   SQLITE_OK);
  for (int k = 0; k < 2; k++) {
    uint32_t a = k ? app + 1 : app;
    for (uint32_t u = 1; u <= 60; u++)
      for (int p = 0; p < want(a, u, 0); p++) {
        sqlite3_bind_int64(ins, 1, a);
        sqlite3_bind_int64(ins, 2, u);
        sqlite3_bind_int64(ins, 3, 100000 + p);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
      }
  }
  sqlite3_finalize(ins);
  /* the numbers up to 60 are the app's, as if it had had 60 accounts: the walks end at its next user number */
  char sql[96];
  snprintf(sql, sizeof sql, "UPDATE apps SET next_user_no=61 WHERE sdkappid=%u", app);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_changes(db), 1);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  for (int tries = 0; tries < 300 && (rows(db, app, 5) != 100 || rows(db, app, 59) != 100); tries++) usleep(100000);
  for (int k = 0; k < 2; k++)
    for (uint32_t u = 1; u <= 60; u++) {
      uint32_t a = k ? app + 1 : app;
      if (rows(db, a, u) != want(a, u, 1))
        fail_msg("app %u user %u: %d conversation rows, %d expected", a, u, rows(db, a, u), want(a, u, 1));
    }
  sqlite3_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_trim_in_steps, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
