/* End-to-end: an account deletion reaches the peers whose conversation row
 * outlived the account's own (messaging-c2c-checks3.md §87). The retention
 * pass trims a user's list to its edition's recent conversations; the trim
 * of gd's oldest conversation (with gp) left gp's row with gd, and gd's
 * deletion, which found its peers through gd's own rows, neither told gp
 * nor removed that row (unlisted for ever). Now the trim notes the pair
 * (c2c_trimmed) and the deletion reads it: gp gets the conv_delete with its
 * next useq and its row goes. The pair is pruned when the row it names goes
 * (gp2's own trim of its row with gd2). A pro app on the test clock (more
 * than the free editions' 100 accounts, 100 conversations kept), the
 * deletion in its grace (free edition in force: account_delete allowed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_clock.h"

static uint32_t app;
static char key[80];

/* The first column of sql's first row on the server's database (?1 bound to the app), read by a second
 * connection. */
static long long db_int(const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  char path[400];
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static long long user_no(const char *user)
{
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT user_no FROM accounts WHERE sdkappid=?1 AND user_id='%s'", user);
  return db_int(sql);
}

/* Conversation rows of user (number), written and in the log, with peer (number; 0: any). */
static long long rows(long long user, long long peer)
{
  static const char *const tables[] = { "c2c_recent", "c2c_recent_log" };
  char sql[300];
  long long n = 0;
  for (int k = 0; k < 2; k++) {
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE sdkappid=?1 AND user_no=%lld AND (%lld=0 OR peer_no=%lld)",
             tables[k], user, peer, peer);
    n += db_int(sql);
  }
  return n;
}

static long long pairs(long long user, long long peer)
{
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM c2c_trimmed WHERE sdkappid=?1 AND user_no=%lld AND peer_no=%lld", user, peer);
  return db_int(sql);
}

static void send1(const char *from, const char *to)
{
  char body[256];
  snprintf(body, sizeof body, "{\"SyncOtherMachine\":1,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
                              "\"MsgBody\":" TEXT("old") "}", from, to, rand());
  assert_int_equal(v4_code(app, key, "openim/sendmsg", body), 0);
}

/* At the clock's time `at` (after the messages before), from sends one message to each of gq000..gq099;
 * the retention pass (every second) then trims from's 101 rows to the 100 kept: waits until it did. */
static void batch_to_100(const char *at, const char *from)
{
  char body[2048];
  json_decref(clock_to(at));
  size_t n = (size_t)snprintf(body, sizeof body, "{\"From_Account\":\"%s\",\"MsgRandom\":%d,\"To_Account\":[", from, rand());
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"gq%03d\"", i ? "," : "", i);
  snprintf(body + n, sizeof body - n, "],\"MsgBody\":" TEXT("hi") "}");
  assert_int_equal(v4_code(app, key, "openim/batchsendmsg", body), 0);
  long long no = user_no(from);
  for (int tries = 0; tries < 600 && rows(no, 0) != 100; tries++) usleep(100000);
  assert_int_equal(rows(no, 0), 100);
}

static void test_trimmed_row_peer_told(void **st)
{
  (void)st;
  int64_t cust = new_customer("tg", 250000);
  app = new_app(cust, key);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app)); /* to 29 September */
  char body[2048];
  size_t n = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"gq%03d\"", i ? "," : "", i);
  snprintf(body + n, sizeof body - n, "]}");
  assert_int_equal(v4_code(app, key, "im_open_login_svc/multiaccount_import", body), 0);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"gd\",\"gp\",\"gd2\",\"gp2\"]}"), 0);
  long long gd = user_no("gd"), gp = user_no("gp"), gd2 = user_no("gd2"), gp2 = user_no("gp2");
  assert_true(gd > 0 && gp > 0 && gd2 > 0 && gp2 > 0);
  json_decref(clock_to("2026-09-29T10:00:00+08:00"));
  send1("gp", "gd");
  send1("gd2", "gp2");
  /* gd's oldest conversation is trimmed, gp's row with gd stays: the pair is noted */
  batch_to_100("2026-09-29T11:00:00+08:00", "gd");
  assert_int_equal(rows(gd, gp), 0);
  assert_int_equal(rows(gp, gd), 1);
  assert_int_equal(pairs(gd, gp), 1);
  /* the prune: gd2's row with gp2 trimmed (noted), then gp2's with gd2 (the pair goes, nothing noted) */
  batch_to_100("2026-09-29T12:00:00+08:00", "gd2");
  assert_int_equal(pairs(gd2, gp2), 1);
  batch_to_100("2026-09-29T13:00:00+08:00", "gp2");
  assert_int_equal(rows(gp2, gd2), 0);
  assert_int_equal(pairs(gd2, gp2), 0);
  assert_int_equal(pairs(gp2, gd2), 0);
  /* in grace: the free edition in force deletes accounts; gp is told (useq 2, after its message) */
  json_decref(clock_to("2026-09-30T10:00:00+08:00"));
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"gd\"}]}"), 0);
  assert_int_equal(db_int("SELECT count(*) FROM accounts WHERE sdkappid=?1 AND user_id='gd'"), 0);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "gp", "Web"), 0);
  json_t *evs = wsc_sync_live(&c);
  assert_non_null(evs);
  json_t *e = json_array_get(evs, json_array_size(evs) - 1);
  if (!e || strcmp(jstr(e, "type"), "conv_delete") || jint(e, "useq") != 2 || strcmp(jstr(e, "peer"), "gd") ||
      jint(e, "peer_no") != gd || strcmp(jstr(e, "reason"), "account_deleted"))
    fail_msg("expected gd's conv_delete with useq 2, got %s", json_dumps(evs, JSON_COMPACT));
  json_decref(evs);
  wsc_close(&c);
  assert_int_equal(rows(gp, gd), 0);
  assert_int_equal(pairs(gd, gp), 0);
  assert_int_equal(db_int("SELECT count(*) FROM c2c_trimmed WHERE sdkappid=?1"), 0);
}

static int setup_trim(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-08-31", "--msg-purge-interval-s", "1",
                                      "--rest-rate-limit", "100000", NULL };
  return start(args);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_trimmed_row_peer_told, setup_trim, stop),
  };
  return cmocka_run_group_tests_name("account_gone_trim", tests, NULL, NULL);
}
