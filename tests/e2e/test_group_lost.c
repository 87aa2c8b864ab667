/* End-to-end: a group read whose reply cannot be made whole (out of memory)
 * is never sent with a member, a field or an entry left out (decisions §84).
 * The failure is injected with IMCLOUD_TEST_FAIL (src/util/faultsim.h):
 * field_json (one member of an object a reply is made of, api_field_put) and
 * list_json (one entry of a list, api_list_add). The groups are made by a
 * server without injection, which is then restarted on the same data with
 * each test's plan: the calls are counted from the start of that server, so
 * only the test's own reads count. Until 2026-12-06 the group REST reads
 * (get_group_info, get_group_member_info, group_msg_get_simple,
 * get_joined_group_list, get_appid_group_list) answered ActionStatus OK with
 * the member, the field or the entry missing, and the WebSocket group_list
 * and group_applications answered code 0 with it missing; now the REST reply
 * is 70500 and the WebSocket connection is closed with 1011, and the same
 * request right after is whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)
#define GROUPS "\"GroupIdList\":[\"g1\",\"g2\",\"g3\"]"

/* The fields of a whole reply's entries (every one asked for: no filter). */
static const char *const group_fields[] = { "GroupId", "Type", "Appid", "Name", "Introduction", "Notification", "FaceUrl",
                                            "ApplyJoinOption", "MuteAllMember", "Owner_Account", "CreateTime", "InfoSeq",
                                            "LastInfoTime", "LastMsgTime", "NextMsgSeq", "MemberNum", "MaxMemberNum",
                                            "AppDefinedData", NULL };
static const char *const member_fields[] = { "Member_Account", "Role", "JoinTime", "MsgSeq", "MsgFlag", "LastSendMsgTime",
                                             "NameCard", "MuteUntil", NULL };
static const char *const msg_fields[] = { "From_Account", "IsPlaceMsg", "IsSystemMsg", "MsgPriority", "MsgRandom", "MsgSeq",
                                          "MsgTimeStamp", "MsgFlagBits", "MsgBody", "CloudCustomData", NULL };
static const char *const row_fields[] = { "group_id", "type", "name", "role", "last_seq", "last_change", "last_msg_time",
                                          "created", "read_seq", NULL };

static void expect_ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("expected OK, got %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* Users a..d; g1 (Public: a owns, b and c, three messages), g2 (ChatRoom: a, b), g3 (Public: a, b), g4 (Public,
 * NeedPermission: a; c applied over the WebSocket). Then the server is stopped: each test starts its own. */
static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", "d", NULL });
  static const char *const groups[][3] = { { "g1", "Public", "{\"Member_Account\":\"b\"},{\"Member_Account\":\"c\"}" },
                                           { "g2", "ChatRoom", "{\"Member_Account\":\"b\"}" },
                                           { "g3", "Public", "{\"Member_Account\":\"b\"}" },
                                           { "g4", "Public", "" } };
  for (size_t i = 0; i < 4; i++)
    expect_ok(V4(G("create_group"), "{\"GroupId\":\"%s\",\"Type\":\"%s\",\"Name\":\"n%zu\",\"Owner_Account\":\"a\","
                                    "\"ApplyJoinOption\":\"NeedPermission\",\"MemberList\":[%s],"
                                    "\"AppDefinedData\":[{\"Key\":\"k\",\"Value\":\"v\"}]}",
                 groups[i][0], groups[i][1], i, groups[i][2]));
  for (int i = 1; i <= 3; i++)
    expect_ok(V4(G("send_group_msg"), "{\"GroupId\":\"g1\",\"From_Account\":\"a\",\"Random\":%d,\"MsgBody\":" TEXT("m")
                                      ",\"CloudCustomData\":\"cd\"}", i));
  /* b muted in g3 for a day: get_group_muted_account has a row to list (test_member_reads_unread) */
  expect_ok(V4(G("forbid_send_msg"), "{\"GroupId\":\"g3\",\"Members_Account\":[\"b\"],\"MuteTime\":86400}"));
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "c", "Web"), 0);
  json_t *r = wsc_rpc(&c, "group_join", "\"group_id\":\"g4\"");
  assert_non_null(r);
  assert_string_equal(jstr(r, "result"), "pending");
  json_decref(r);
  wsc_close(&c);
  return e2e_server_stop(&srv) == 0 ? 0 : -1;
}

static int teardown(void **st)
{
  (void)st;
  e2e_dir_remove(&srv);
  return 0;
}

/* The server on the groups' data, failing as plan says; stopped (must exit 0) by done(), or by stop() after the
 * test. */
static void start(const char *plan)
{
  setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_server_start(&srv, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
}

static void done(void) { assert_int_equal(e2e_server_stop(&srv), 0); }

static int stop(void **st)
{
  (void)st;
  return !srv.pid || e2e_server_stop(&srv) == 0 ? 0 : -1;
}

/* The 70500 of a reply that could not be made: FAIL, and none of the command's fields. */
static void expect_oom(json_t *r, const char *field)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 70500) fail_msg("expected 70500, got %s", json_dumps(r, JSON_COMPACT));
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL");
  assert_null(json_object_get(r, field));
  json_decref(r);
}

/* Every entry of list (n of them) has every one of names. */
static void whole(json_t *list, size_t n, const char *const *names)
{
  json_t *e;
  size_t i;
  assert_true(json_is_array(list));
  assert_int_equal(json_array_size(list), n);
  json_array_foreach(list, i, e)
    for (const char *const *f = names; *f; f++)
      if (!json_object_get(e, *f)) fail_msg("entry %zu without %s: %s", i, *f, json_dumps(e, JSON_COMPACT));
}

/* get_group_info of three groups, whole: each with every field and its members, each with every field. */
static void group_info_whole(void)
{
  json_t *r = V4(G("get_group_info"), "{" GROUPS "}"), *g;
  static const size_t members[] = { 3, 2, 2 };
  size_t i;
  assert_int_equal(jint(r, "ErrorCode"), 0);
  whole(json_object_get(r, "GroupInfo"), 3, group_fields);
  json_array_foreach(json_object_get(r, "GroupInfo"), i, g) whole(json_object_get(g, "MemberList"), members[i], member_fields);
  json_decref(r);
}

/* The second member of g1 cannot be made (set 30, its Role: g1's own object's are 20, a member's 8), then g2's
 * entry (the fifth of the lists: g1's entry, its three members, g2's) cannot be added: 70500 each time, never OK
 * with it left out. */
static void test_group_info(void **st)
{
  (void)st;
  start("field_json:30");
  expect_oom(V4(G("get_group_info"), "{" GROUPS "}"), "GroupInfo");
  group_info_whole();
  done();
  start("list_json:5");
  expect_oom(V4(G("get_group_info"), "{" GROUPS "}"), "GroupInfo");
  group_info_whole();
  done();
}

/* g2's member rows cannot be read (group_members_read:2, a storage error; g1's read is the first): the reply is OK,
 * g2's entry has its profile, ErrorCode 70500 and ErrorInfo saying why and no MemberList (the reference: a
 * get_group_info's groups each have their ErrorCode), g1 and g3 are whole with their members; asked again, all
 * three are whole. No test reached this entry until 2026-12-06 (no fault site failed a member read). */
static void test_group_info_members_unread(void **st)
{
  (void)st;
  start("group_members_read:2");
  json_t *r = V4(G("get_group_info"), "{" GROUPS "}"), *list = json_object_get(r, "GroupInfo");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_string_equal(jstr(r, "ActionStatus"), "OK");
  whole(list, 3, group_fields);
  static const char *const ids[] = { "g1", "g2", "g3" };
  static const size_t members[] = { 3, 0, 2 };
  for (size_t i = 0; i < 3; i++) {
    json_t *g = json_array_get(list, i);
    assert_string_equal(jstr(g, "GroupId"), ids[i]);
    if (i != 1) {
      assert_int_equal(jint(g, "ErrorCode"), 0);
      assert_string_equal(jstr(g, "ErrorInfo"), "");
      whole(json_object_get(g, "MemberList"), members[i], member_fields);
      continue;
    }
    assert_int_equal(jint(g, "ErrorCode"), 70500);
    assert_string_equal(jstr(g, "ErrorInfo"), "storage I/O error");
    assert_null(json_object_get(g, "MemberList"));
  }
  json_decref(r);
  group_info_whole();
  done();
}

/* The 70500 of a read whose member rows could not be read: FAIL, "storage I/O error", none of field. */
static void expect_io(json_t *r, const char *field)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 70500) fail_msg("expected 70500, got %s", json_dumps(r, JSON_COMPACT));
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL");
  assert_string_equal(jstr(r, "ErrorInfo"), "storage I/O error");
  assert_null(json_object_get(r, field));
  json_decref(r);
}

/* The other two REST reads of a group's member rows, get_group_member_info (g1) and get_group_muted_account (g3,
 * b muted), whose rows cannot be read (group_members_read:1 and :3, the first read of each server and the one
 * after two whole ones): 70500 "storage I/O error" with no MemberList / MutedAccountList (a read of one group has
 * no per-group entry to carry it); nothing changed: the same call right after is whole, as before the failure.
 * Until 2026-12-06 only get_group_info drove this site. */
static void test_member_reads_unread(void **st)
{
  (void)st;
  const char *g1 = "{\"GroupId\":\"g1\"}", *g3 = "{\"GroupId\":\"g3\"}";
  for (int k = 0; k < 2; k++) {
    start(k ? "group_members_read:3" : "group_members_read:1");
    json_t *r;
    for (int i = 0; i < 2 * k; i++) { /* the :3 server: two whole reads first (one of each) */
      r = i ? V4(G("get_group_muted_account"), "%s", g3) : V4(G("get_group_member_info"), "%s", g1);
      assert_int_equal(jint(r, "ErrorCode"), 0);
      json_decref(r);
    }
    if (k) expect_io(V4(G("get_group_muted_account"), "%s", g3), "MutedAccountList");
    else expect_io(V4(G("get_group_member_info"), "%s", g1), "MemberList");
    r = V4(G("get_group_member_info"), "%s", g1);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    whole(json_object_get(r, "MemberList"), 3, member_fields);
    assert_int_equal(jint(r, "MemberNum"), 3);
    json_decref(r);
    r = V4(G("get_group_muted_account"), "%s", g3);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    assert_string_equal(jstr(r, "GroupId"), "g3");
    json_t *muted = json_object_get(r, "MutedAccountList");
    static const char *const mf[] = { "Member_Account", "MutedUntil", NULL };
    whole(muted, 1, mf);
    assert_string_equal(jstr(json_array_get(muted, 0), "Member_Account"), "b");
    json_decref(r);
    done();
  }
}

/* The second member's Role (set 10: the first member's are 1..8) cannot be set. */
static void test_member_info(void **st)
{
  (void)st;
  start("field_json:10");
  const char *req = "{\"GroupId\":\"g1\"}";
  expect_oom(V4(G("get_group_member_info"), "%s", req), "MemberList");
  json_t *r = V4(G("get_group_member_info"), "%s", req);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  whole(json_object_get(r, "MemberList"), 3, member_fields);
  assert_int_equal(jint(r, "MemberNum"), 3);
  assert_non_null(json_object_get(r, "Next"));
  json_decref(r);
  done();
}

/* The second message's MsgBody (set 3: the first's are MsgBody and CloudCustomData) cannot be set. */
static void test_msg_get_simple(void **st)
{
  (void)st;
  start("field_json:3");
  const char *req = "{\"GroupId\":\"g1\",\"ReqMsgNumber\":3}";
  expect_oom(V4(G("group_msg_get_simple"), "%s", req), "RspMsgList");
  json_t *r = V4(G("group_msg_get_simple"), "%s", req);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  whole(json_object_get(r, "RspMsgList"), 3, msg_fields);
  json_decref(r);
  done();
}

/* b's groups: a field of b's own row in the second group (set 10: a row's are 8), then one of the first group's
 * profile (set 30: the three rows' are 24): 70500 each time. */
static void test_joined_list(void **st)
{
  (void)st;
  static const char *const self_fields[] = { "SelfInfo", NULL };
  const char *req = "{\"Member_Account\":\"b\"}";
  for (int k = 0; k < 2; k++) {
    start(k ? "field_json:30" : "field_json:10");
    expect_oom(V4(G("get_joined_group_list"), "%s", req), "GroupIdList");
    json_t *r = V4(G("get_joined_group_list"), "%s", req), *g;
    size_t i;
    assert_int_equal(jint(r, "ErrorCode"), 0);
    assert_int_equal(jint(r, "TotalCount"), 3);
    whole(json_object_get(r, "GroupIdList"), 3, group_fields);
    whole(json_object_get(r, "GroupIdList"), 3, self_fields);
    json_array_foreach(json_object_get(r, "GroupIdList"), i, g) {
      json_t *self = json_pack("[O]", json_object_get(g, "SelfInfo"));
      whole(self, 1, member_fields);
      json_decref(self);
    }
    json_decref(r);
    done();
  }
}

/* get_appid_group_list, once its frequency (1 call per second per app) lets it through: a refused call (60007)
 * makes nothing and is asked again. */
static json_t *appid_list(void)
{
  for (int i = 0; i < 100; i++) {
    json_t *r = V4(G("get_appid_group_list"), "{}");
    if (jint(r, "ErrorCode") != 60007) return r;
    json_decref(r);
    usleep(100 * 1000);
  }
  fail_msg("get_appid_group_list refused for 10 s");
  return NULL;
}

/* The app's second group cannot be listed (list_json:2). */
static void test_appid_list(void **st)
{
  (void)st;
  start("list_json:2");
  expect_oom(appid_list(), "GroupIdList");
  json_t *r = appid_list();
  assert_int_equal(jint(r, "ErrorCode"), 0);
  static const char *const id[] = { "GroupId", NULL };
  whole(json_object_get(r, "GroupIdList"), 4, id);
  json_decref(r);
  done();
}

/* op's reply on a fresh login of user is never sent: the connection is closed with 1011. */
static void expect_close(const char *user, const char *op, const char *fields)
{
  wsc_t ws;
  char frame[256];
  assert_int_equal(wsc_login(&ws, srv.port, app, key, user, "Web"), 0);
  snprintf(frame, sizeof frame, "{\"id\":7,\"op\":\"%s\"%s}", op, fields);
  assert_int_equal(e2e_ws_send_text(ws.fd, frame), 0);
  wsc_expect_cut(&ws, 7, 1011); /* nothing for id 7: the close comes instead */
  wsc_close(&ws);
}

/* b's group_list: a field of the second group's row (set 12: the first's are 8 and its unread count) cannot be
 * set: 1011, then the list is whole. */
static void test_ws_group_list(void **st)
{
  (void)st;
  start("field_json:12");
  expect_close("b", "group_list", "");
  wsc_t ws;
  assert_int_equal(wsc_login(&ws, srv.port, app, key, "b", "Web"), 0);
  json_t *r = wsc_rpc(&ws, "group_list", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  whole(json_object_get(r, "groups"), 3, row_fields);
  json_t *g;
  size_t i;
  json_array_foreach(json_object_get(r, "groups"), i, g) /* the types with unread counts have theirs */
    if (strcmp(jstr(g, "type"), "ChatRoom")) assert_non_null(json_object_get(g, "unread"));
  json_decref(r);
  wsc_close(&ws);
  done();
}

/* g4's application (c's) cannot be listed for its owner (list_json:1): 1011, then the page is whole. */
static void test_ws_applications(void **st)
{
  (void)st;
  start("list_json:1");
  expect_close("a", "group_applications", ",\"group_id\":\"g4\"");
  wsc_t ws;
  assert_int_equal(wsc_login(&ws, srv.port, app, key, "a", "Web"), 0);
  json_t *r = wsc_rpc(&ws, "group_applications", "\"group_id\":\"g4\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  static const char *const f[] = { "user", "time", NULL };
  whole(json_object_get(r, "applications"), 1, f);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "applications"), 0), "user"), "c");
  json_decref(r);
  wsc_close(&ws);
  done();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_group_info, stop),     cmocka_unit_test_teardown(test_group_info_members_unread, stop),
    cmocka_unit_test_teardown(test_member_reads_unread, stop), cmocka_unit_test_teardown(test_member_info, stop),
    cmocka_unit_test_teardown(test_msg_get_simple, stop), cmocka_unit_test_teardown(test_joined_list, stop),
    cmocka_unit_test_teardown(test_appid_list, stop),     cmocka_unit_test_teardown(test_ws_group_list, stop),
    cmocka_unit_test_teardown(test_ws_applications, stop),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
