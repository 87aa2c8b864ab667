/* End-to-end: the retention pass trims every user's conversation list to
 * msg_recent_kept, walking user numbers in bounded steps (c2c_ops.c: a step
 * reads at most 2,000 rows, so with the trial edition's 100 kept each step
 * checks 19 user numbers and the walk over these 60 takes four writer
 * jobs, each user found over the limit one trim job more). The rows are written into the server's database by the test (a
 * second connection, as the CLI does): users 5 and 59 of the app over the
 * limit, 9 at it, the others under it, and users 5 and 50 of an app the
 * server does not host over it; the app's next user number is raised past
 * 60, as its accounts would have it. After a pass (every second here) the app's
 * users 5 and 59 have exactly 100 rows, everyone else's count is unchanged.
 * A deleted account's conversations leave its peers' lists at once, so the
 * trim keeps the 100 most recent conversations users can see (it counted
 * rows nobody could name among them and deleted real ones). */
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
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-purge-interval-s", "1", NULL };
  return e2e_start(&srv, "singapore", &app, key, args);
}

/* A legacy app (unlimited accounts, 100 recent conversations kept). */
static int setup_legacy(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-purge-interval-s", "1", NULL };
  char out[4096];
  e2e_dir_init(&srv);
  if (e2e_cli(&srv, out, sizeof out, "customer create --name trim --json")) return -1;
  json_t *c = json_loads(out, 0, NULL);
  long long cust = c ? (long long)json_integer_value(json_object_get(c, "id")) : 0;
  json_decref(c);
  if (e2e_cli(&srv, out, sizeof out, "app create --customer %lld --name trim --region china --scheme legacy"
                                     " --created-at 2019-01-01 --json", cust))
    return -1;
  json_t *a = json_loads(out, 0, NULL);
  if (!a) return -1;
  app = (uint32_t)json_integer_value(json_object_get(a, "sdkappid"));
  snprintf(key, sizeof key, "%s", json_string_value(json_object_get(a, "key")));
  json_decref(a);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static int setup_trial(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-purge-interval-s", "1", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int listed_of(const char *user)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"%s\",\"TimeStamp\":0,\"StartIndex\":0,"
                 "\"TopTimeStamp\":0,\"TopStartIndex\":0,\"AssistFlags\":15}", user);
  assert_non_null(r);
  int n = (int)json_array_size(json_object_get(r, "SessionItem"));
  json_decref(r);
  return n;
}

static void send_to_tu(const char *from, int rnd)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"tu\",\"MsgRandom\":%d,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]}", from, rnd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
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

/* The user's conversation rows in the table and in its log. */
static int rows_all(sqlite3 *db, uint32_t user)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM c2c_recent WHERE sdkappid=?1 AND user_no=?2)"
                                          "+(SELECT count(*) FROM c2c_recent_log g WHERE sdkappid=?1 AND user_no=?2 AND NOT"
                                          " EXISTS (SELECT 1 FROM c2c_recent r WHERE r.sdkappid=g.sdkappid AND"
                                          " r.user_no=g.user_no AND r.peer_no=g.peer_no))", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n;
}

static json_int_t unread_from(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(r);
  return n;
}

static void sent(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* A conversation the trim forgot comes back with the message that brings
 * it: that one is unread, not every older message of the peer's (the row
 * made again starts read up to the message before). A legacy app: 102
 * accounts (trial allows 100), 100 conversations kept. */
static void test_trimmed_conversation_comes_back_read(void **st)
{
  (void)st;
  char peers[101][16];
  const char *users[103];
  users[0] = "tu";
  for (int i = 0; i < 101; i++) {
    snprintf(peers[i], sizeof peers[i], "p%03d", i);
    users[i + 1] = peers[i];
  }
  users[102] = NULL;
  import_users(srv.port, app, key, users);
  for (int k = 0; k < 3; k++) /* p000 writes first: its conversation is tu's oldest */
    sent(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"p000\",\"To_Account\":\"tu\",\"MsgRandom\":%d,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"old\"}}]}",
            k + 1));
  assert_int_equal(unread_from("tu", "p000"), 3);
  usleep(1100000); /* the next second: the other 100 conversations are more recent */
  char body[2048];
  size_t n = (size_t)snprintf(body, sizeof body, "{\"From_Account\":\"tu\",\"MsgRandom\":9,\"To_Account\":[");
  for (int i = 1; i <= 100; i++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"%s\"", i > 1 ? "," : "", peers[i]);
  snprintf(body + n, sizeof body - n, "],\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]}");
  sent(v4(srv.port, app, key, "openim/batchsendmsg", "%s", body));
  /* the pass (every second) trims tu's list to the trial edition's 100: p000's row goes */
  sqlite3 *db = db_open();
  uint32_t tu = 0;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT user_no FROM accounts WHERE sdkappid=?1 AND user_id='tu'", -1, &q, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(q, 1, app);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  tu = (uint32_t)sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  for (int tries = 0; tries < 300 && rows_all(db, tu) != 100; tries++) usleep(100000);
  assert_int_equal(rows_all(db, tu), 100);
  sqlite3_close(db);
  sent(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"p000\",\"To_Account\":\"tu\",\"MsgRandom\":4,"
                                                "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"new\"}}]}"));
  assert_int_equal(unread_from("tu", "p000"), 1);
  assert_int_equal(unread_from("p000", "tu"), 0);
}

static void test_deleted_peers_take_no_place(void **st)
{
  (void)st;
  char p[16];
  json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"tu\"}"));
  for (int i = 0; i < 99; i++) {
    snprintf(p, sizeof p, "p%03d", i);
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", p));
    send_to_tu(p, i + 1);
  }
  assert_int_equal(listed_of("tu"), 99);
  for (int i = 90; i < 99; i++) {
    json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"p%03d\"}]}", i);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
  assert_int_equal(listed_of("tu"), 90);
  for (int i = 0; i < 9; i++) { /* 99 conversations tu can see, under the 100 kept */
    snprintf(p, sizeof p, "q%03d", i);
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", p));
    send_to_tu(p, 1000 + i);
  }
  assert_int_equal(listed_of("tu"), 99);
  assert_int_equal(e2e_wait_job_runs(&srv, "retention_purge", 2), 0); /* a whole retention pass (one per second) */
  assert_int_equal(listed_of("tu"), 99);
  sqlite3 *db = db_open();
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT user_no FROM accounts WHERE sdkappid=?1 AND user_id='tu'", -1, &q, NULL), SQLITE_OK);
  sqlite3_bind_int64(q, 1, app);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  uint32_t tu = (uint32_t)sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  assert_int_equal(rows(db, app, tu), 99); /* the deleted peers' rows are gone */
  sqlite3_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_trim_in_steps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_trimmed_conversation_comes_back_read, setup_legacy, teardown),
    cmocka_unit_test_setup_teardown(test_deleted_peers_take_no_place, setup_trial, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
