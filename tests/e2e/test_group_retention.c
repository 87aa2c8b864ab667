/* End-to-end: group history retention per edition. The server runs on the
 * test clock (fixed "now") with the retention pass every second, so the
 * boundary is exact: a message exactly at the app's retention limit is
 * returned by group_msg_get_simple, group_history and group_sync, one
 * second past it is not, and the purge deletes it from storage. Every
 * group's seq 1 is its GroupCreated notice, stored at the group's
 * CreateTime (the imported one for import_group). group_msg_get_simple answers IsFinished 2 when the rest
 * expired: that test moves the clock past the retention, so it runs last. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"
#include "store/store_grp.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static int64_t now_s;
static char auth[160]; /* the operator token: moves the test clock */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-purge-interval-s", "1", NULL };
#define RETENTION 604800 /* the new app's edition: 7 history days (PLAN_L_HISTORY_DAYS) */


static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  if (e2e_server_start(&srv, args)) return -1;
  now_s = 1795104000; /* 2026-11-20 00:00 in UTC+8 (the test clock's start) */
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *simple(const char *group_id, int n, int upto)
{
  if (upto) return call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":%d,\"ReqMsgSeq\":%d}", group_id, n, upto);
  return call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":%d}", group_id, n);
}

static void expect_simple(const char *group_id, int n, int upto, const char *want, int finished)
{
  char got[256];
  json_t *r = simple(group_id, n, upto);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  msg_texts(json_object_get(r, "RspMsgList"), "MsgBody", got, sizeof got);
  assert_string_equal(got, want);
  assert_int_equal(jint(r, "IsFinished"), finished);
  json_decref(r);
}

/* group_sync from after_seq: the texts, the cursor and complete. */
static void expect_sync(wsc_t *c, const char *group_id, int after, const char *want, int seq)
{
  char got[256];
  json_t *r = wsc_rpc(c, "group_sync", "\"group_id\":\"%s\",\"after_seq\":%d", group_id, after);
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, want);
  assert_int_equal(jint(r, "seq"), seq);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
}

static int rows;
static void count_row(void *ud, const store_grp_msg_t *m) { (void)ud; (void)m; rows++; }

/* Wait for the purge pass (every second here) to leave `want` rows of the group on disk. */
static void expect_stored(uint32_t group_no, int want)
{
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  for (int tries = 0; tries < 50; tries++) {
    rows = 0;
    assert_int_equal(store_grp_msg_history(s, app, group_no, 0, 0, 0, 0, 100, count_row, NULL), 0);
    if (rows == want) break;
    usleep(100000);
  }
  store_close(s);
  assert_int_equal(rows, want);
}

/* A group younger than the retention horizon: reaching its oldest message is 1. */
static void test_group_young_finished(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "y_alice", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"young\",\"GroupId\":\"ret-1\",\"Owner_Account\":\"y_alice\"}"));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ret-1\",\"From_Account\":\"y_alice\",\"Random\":1,\"MsgBody\":" TEXT("a") "}"));
  expect_simple("ret-1", 20, 0, "a", 1);
  expect_simple("ret-1", 1, 0, "a", 0); /* seq 1 (the notice) is older */
}

static void test_group_retention_boundary(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "r_alice", "r_bob", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"old\",\"GroupId\":\"ret-2\",\"Owner_Account\":\"r_alice\","
                             "\"CreateTime\":%lld,\"MemberList\":[{\"Member_Account\":\"r_bob\"}]}",
          (long long)(now_s - RETENTION - 100)));
  /* seq 2: one second past the limit; seq 3: exactly at it; seq 4: now */
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"ret-2\",\"MsgList\":[{\"From_Account\":\"r_alice\",\"SendTime\":%lld,"
                                 "\"Random\":1,\"MsgBody\":" TEXT("past") "},{\"From_Account\":\"r_alice\",\"SendTime\":%lld,"
                                 "\"Random\":2,\"MsgBody\":" TEXT("at") "}]}",
          (long long)(now_s - RETENTION - 1), (long long)(now_s - RETENTION)));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ret-2\",\"From_Account\":\"r_alice\",\"Random\":3,\"MsgBody\":" TEXT("new") "}"));
  /* a message past retention is not there to recall or modify either (10030), purged yet or not */
  json_t *rc = call(G("group_msg_recall"), "{\"GroupId\":\"ret-2\",\"MsgSeqList\":[{\"MsgSeq\":2}]}");
  assert_non_null(rc);
  assert_int_equal(jint(json_array_get(json_object_get(rc, "RecallRetList"), 0), "RetCode"), 10030);
  json_decref(rc);
  rc = call("openim/modify_group_msg", "{\"GroupId\":\"ret-2\",\"MsgSeq\":2,\"MsgBody\":" TEXT("m") "}");
  assert_non_null(rc);
  assert_int_equal(jint(rc, "ErrorCode"), 10030);
  json_decref(rc);

  /* REST: the expired ones are left out (seq 1, the GroupCreated notice, is
   * stamped with the imported CreateTime: expired too), so the page stops
   * at the retention horizon: IsFinished 2 */
  expect_simple("ret-2", 20, 0, "new,at", 2);
  expect_simple("ret-2", 5, 2, "", 2);

  /* WebSocket: history and sync skip the expired message */
  wsc_t b;
  char got[256];
  assert_int_equal(wsc_login(&b, srv.port, app, key, "r_bob", "Web"), 0);
  json_t *r = wsc_rpc(&b, "group_history", "\"group_id\":\"ret-2\"");
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, "new,at");
  json_decref(r);
  expect_sync(&b, "ret-2", 0, "at,new", 4);
  expect_sync(&b, "ret-2", 1, "at,new", 4);
  wsc_close(&b);

  /* the purge deletes the two expired rows from disk and keeps the other two */
  expect_stored(2, 2);
  expect_simple("ret-2", 20, 0, "new,at", 2);
}

/* import_group: seq 1, the GroupCreated notice, carries the imported
 * CreateTime, not the time of the import. */
static void test_group_import_created_time(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "i_alice", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"ret-3\",\"Owner_Account\":\"i_alice\","
                             "\"CreateTime\":%lld}", (long long)(now_s - 86400)));
  json_t *r = simple("ret-3", 20, 0);
  assert_non_null(r);
  json_t *m = json_array_get(json_object_get(r, "RspMsgList"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "RspMsgList")), 1);
  assert_int_equal(jint(m, "MsgSeq"), 1);
  assert_int_equal(jint(m, "IsSystemMsg"), 1);
  assert_string_equal(jstr(m, "SystemNotice.Notice"), "GroupCreated");
  assert_int_equal(jint(m, "MsgTimeStamp"), now_s - 86400);
  assert_int_equal(jint(r, "IsFinished"), 1);
  json_decref(r);
}

/* An old group whose messages just below the page were deleted by their
 * sender: the page reached the end of what is kept, not the retention
 * horizon, so IsFinished is 1 (seq 1 expired long ago, but that is not
 * why the page stopped). */
static void test_group_deleted_not_expired(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "d_alice", "d_bob", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"del\",\"GroupId\":\"ret-4\",\"Owner_Account\":\"d_alice\","
                             "\"CreateTime\":%lld,\"MemberList\":[{\"Member_Account\":\"d_bob\"}]}",
          (long long)(now_s - RETENTION - 100)));
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"ret-4\",\"MsgList\":[{\"From_Account\":\"d_alice\",\"SendTime\":%lld,"
                                 "\"Random\":1,\"MsgBody\":" TEXT("a") "},{\"From_Account\":\"d_alice\",\"SendTime\":%lld,"
                                 "\"Random\":2,\"MsgBody\":" TEXT("b") "}]}",
          (long long)(now_s - 1000), (long long)(now_s - 900)));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ret-4\",\"From_Account\":\"d_bob\",\"Random\":3,\"MsgBody\":" TEXT("c") "}"));
  expect_simple("ret-4", 20, 0, "c,b,a", 2); /* seq 1 (the notice) expired */
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"ret-4\",\"Sender_Account\":\"d_alice\"}"));
  expect_simple("ret-4", 20, 0, "c", 1);
  expect_simple("ret-4", 20, 3, "", 1);
  expect_simple("ret-4", 20, 1, "", 2);
}

/* The clock moves one retention and a second on: everything so far expired. */
static void test_group_rest_expired(void **st)
{
  (void)st;
  static char buf[1 << 16];
  char body[64];
  snprintf(body, sizeof body, "{\"advance_s\":%d}", RETENTION + 1);
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/clock", auth, body, buf, sizeof buf), 200);
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ret-2\",\"From_Account\":\"r_alice\",\"Random\":4,\"MsgBody\":" TEXT("late") "}"));
  /* IsFinished 2: the page stopped before seq 1 because the rest expired */
  expect_simple("ret-2", 20, 0, "late", 2);
  expect_simple("ret-2", 20, 4, "", 2);
  expect_simple("ret-2", 1, 0, "late", 0); /* a full page: maybe more (the read does not look further) */
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "r_bob", "Web"), 0);
  expect_sync(&b, "ret-2", 0, "late", 5);
  wsc_close(&b);
  /* a group whose every message expired: an empty, complete sync page up to its last seq */
  assert_int_equal(wsc_login(&b, srv.port, app, key, "y_alice", "Web"), 0);
  expect_sync(&b, "ret-1", 0, "", 2);
  wsc_close(&b);
  import_users(srv.port, app, key, (const char *const[]){ "y_bob", NULL });
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"ret-1\",\"MemberList\":[{\"Member_Account\":\"y_bob\"}]}"));
  /* (the join notice is seq 3, now: the two before it expired) */
  assert_int_equal(wsc_login(&b, srv.port, app, key, "y_bob", "Web"), 0);
  expect_sync(&b, "ret-1", 0, "", 3);
  wsc_close(&b);
  expect_simple("ret-1", 20, 2, "", 2);
  /* the purge removes the rest: ret-2 keeps "late" only, ret-1 its join notice */
  expect_stored(2, 1);
  expect_stored(1, 1);
  expect_simple("ret-2", 20, 0, "late", 2);
  /* ret-4 (group 4) lost every message to the purge: its sequence goes on
   * from the purge mark, and the page stops at the horizon (2) */
  expect_stored(4, 0);
  json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"ret-4\",\"From_Account\":\"d_bob\",\"Random\":5,\"MsgBody\":" TEXT("d") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgSeq"), 5);
  json_decref(r);
  expect_simple("ret-4", 20, 0, "d", 2);
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, "d_bob", "Web"), 0);
  expect_sync(&d, "ret-4", 4, "d", 5);
  wsc_close(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_group_young_finished),
    cmocka_unit_test(test_group_retention_boundary),
    cmocka_unit_test(test_group_import_created_time),
    cmocka_unit_test(test_group_deleted_not_expired),
    cmocka_unit_test(test_group_rest_expired),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
