/* End-to-end: the C2C, account, relationship and operator replies that are
 * filled member by member, or entry by entry, are whole or an error
 * (decisions §85, after §82). The failure is injected with
 * IMCLOUD_TEST_FAIL (src/util/faultsim.h), counted from the start of each
 * test's own server: field_json (a member set into a reply's object,
 * src/util/json_whole.c jwhole_put: api_field_put and the tenant and meter
 * builders, §90) and list_json (an entry of a reply's list, jwhole_add:
 * api_list_add). Until 2026-12-06 these handlers ignored a member or
 * an entry they could not set: the reply went out OK with it left out (an
 * admin_getroammsg entry without MsgBody, an unread count, a conversation,
 * an account or a blocklist entry missing; an operator read without a
 * setting). Now each is 70500 (REST) or 500 NOMEM (operator API), and the
 * same request right after is answered whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_check.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static char auth[256]; /* the operator token's header, read before the server starts (a running one learns a new
                        * token only through the change log) */

/* A server failing as fail says, users u imported (account_import's reply is bare: it sets no member and adds no
 * entry, so the injection counts only the test's requests; the day job's result does not count either). */
static void start(const char *fail, const char *const *u)
{
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "singapore", &app, key);
  assert_int_equal(op_token_auth(&srv, auth, sizeof auth), 0);
  setenv("IMCLOUD_TEST_FAIL", fail, 1);
  int rc = e2e_server_start(&srv, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  if (u) import_users(srv.port, app, key, u);
}

/* sendmsg from → to with text (its reply sets MsgTime and MsgKey: two field_json calls). */
static void send_text(const char *from, const char *to, const char *text, int random)
{
  v4_ok(V4("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":[{\"MsgType\":"
           "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, to, random, text));
}

/* admin_getroammsg: the second message's MsgBody cannot be set (field_json:7, after the two sends' four members and
 * the first entry's two): 70500 without MsgList, never an entry without its body; then both, whole. */
static void test_roam_entry_fails(void **st)
{
  (void)st;
  start("field_json:7", (const char *const[]){ "a", "b", NULL });
  send_text("a", "b", "one", 1);
  send_text("a", "b", "two", 2);
  const char *get = "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":4000000000}";
  v4_oom(V4("openim/admin_getroammsg", "%s", get), "MsgList");
  json_t *r = v4_code(V4("openim/admin_getroammsg", "%s", get), 0);
  json_t *list = json_object_get(r, "MsgList");
  assert_int_equal((int)json_array_size(list), 2);
  assert_int_equal((int)jint(r, "MsgCnt"), 2);
  char texts[64];
  msg_texts(list, "MsgBody", texts, sizeof texts);
  assert_true(!strcmp(texts, "one,two") || !strcmp(texts, "two,one"));
  assert_non_null(json_object_get(json_array_get(list, 1), "CloudCustomData"));
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* get_c2c_unread_msg_num with Peer_Account [b, c]: the two peers are kept (list_json 1, 2), then c's count cannot
 * be added (list_json:4): 70500 without C2CUnreadMsgNumList, never a list without c; then both counts. */
static void test_unread_peer_fails(void **st)
{
  (void)st;
  start("list_json:4", (const char *const[]){ "a", "b", "c", NULL });
  send_text("b", "a", "b1", 1);
  send_text("b", "a", "b2", 2);
  send_text("c", "a", "c1", 3);
  const char *get = "{\"To_Account\":\"a\",\"Peer_Account\":[\"b\",\"c\"]}";
  v4_oom(V4("openim/get_c2c_unread_msg_num", "%s", get), "C2CUnreadMsgNumList");
  json_t *r = v4_code(V4("openim/get_c2c_unread_msg_num", "%s", get), 0);
  assert_json_is(json_object_get(r, "C2CUnreadMsgNumList"),
                 "[{\"Peer_Account\":\"b\",\"C2CUnreadMsgNum\":2},{\"Peer_Account\":\"c\",\"C2CUnreadMsgNum\":1}]");
  assert_int_equal((int)jint(r, "AllC2CUnreadMsgNum"), 3);
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* recentcontact/get_list: a's second conversation cannot be added (list_json:2): 70500 without SessionItem, never a
 * page that skips one (the next page's cursor would pass it); then both. */
static void test_recent_list_fails(void **st)
{
  (void)st;
  start("list_json:2", (const char *const[]){ "a", "b", "c", NULL });
  send_text("a", "b", "hi", 1);
  send_text("a", "c", "hi", 2);
  const char *get = "{\"From_Account\":\"a\",\"TimeStamp\":0,\"StartIndex\":0,\"TopTimeStamp\":0,\"TopStartIndex\":0,\"AssistFlags\":0}";
  v4_oom(V4("recentcontact/get_list", "%s", get), "SessionItem");
  json_t *r = v4_code(V4("recentcontact/get_list", "%s", get), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "SessionItem")), 2);
  assert_int_equal((int)jint(r, "CompleteFlag"), 1);
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* account_check: the second item cannot be added (list_json:2): 70500 without ResultItem; then both. */
static void test_account_check_fails(void **st)
{
  (void)st;
  start("list_json:2", (const char *const[]){ "a", NULL });
  const char *check = "{\"CheckItem\":[{\"UserID\":\"a\"},{\"UserID\":\"nobody\"}]}";
  v4_oom(V4("im_open_login_svc/account_check", "%s", check), "ResultItem");
  json_t *r = v4_code(V4("im_open_login_svc/account_check", "%s", check), 0);
  json_t *items = json_object_get(r, "ResultItem");
  assert_int_equal((int)json_array_size(items), 2);
  assert_string_equal(jstr(json_array_get(items, 0), "AccountStatus"), "Imported");
  assert_string_equal(jstr(json_array_get(items, 1), "AccountStatus"), "NotImported");
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* query_online_status with IsNeedDetail: the online user's Detail cannot be set (field_json:1): 70500 without
 * QueryResult, never a user without its Detail; then whole. */
static void test_online_detail_fails(void **st)
{
  (void)st;
  start("field_json:1", (const char *const[]){ "a", NULL });
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, "a", "Web"), 0);
  const char *q = "{\"To_Account\":[\"a\"],\"IsNeedDetail\":1}";
  v4_oom(V4("openim/query_online_status", "%s", q), "QueryResult");
  json_t *r = v4_code(V4("openim/query_online_status", "%s", q), 0);
  json_t *item = json_array_get(json_object_get(r, "QueryResult"), 0);
  assert_string_equal(jstr(item, "Status"), "Online");
  assert_int_equal((int)json_array_size(json_object_get(item, "Detail")), 1);
  json_decref(r);
  wsc_close(&d);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* black_list_get: black_list_add's two results are list_json 1 and 2; the page's second entry cannot be added
 * (list_json:4): 70500 without BlackListItem, never a page that skips one; then both. */
static void test_black_list_get_fails(void **st)
{
  (void)st;
  start("list_json:4", (const char *const[]){ "a", "b", "c", NULL });
  v4_ok(V4("sns/black_list_add", "{\"From_Account\":\"a\",\"To_Account\":[\"b\",\"c\"]}"));
  const char *get = "{\"From_Account\":\"a\",\"StartIndex\":0,\"MaxLimited\":10,\"LastSequence\":0}";
  v4_oom(V4("sns/black_list_get", "%s", get), "BlackListItem");
  json_t *r = v4_code(V4("sns/black_list_get", "%s", get), 0);
  json_t *items = json_object_get(r, "BlackListItem");
  assert_int_equal((int)json_array_size(items), 2);
  assert_string_equal(jstr(json_array_get(items, 0), "To_Account"), "b");
  assert_string_equal(jstr(json_array_get(items, 1), "To_Account"), "c");
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* GET /operator/v1/apps/{id}/relationship-settings: sns_custom_tags cannot be set (field_json:2): 500 NOMEM, never
 * the settings without it; then all three. */
static void test_operator_read_fails(void **st)
{
  (void)st;
  start("field_json:2", NULL);
  json_t *e = op_callf(srv.port, auth, 500, "GET", NULL, "/operator/v1/apps/%u/relationship-settings", app);
  assert_string_equal(jstr(e, "error.code"), "NOMEM");
  assert_null(json_object_get(e, "sns_custom_tags"));
  json_decref(e);
  json_t *r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/relationship-settings", app);
  assert_json_is(r, "{\"profile_custom_tags\":{},\"sns_custom_tags\":{},\"c2c_friendship_required\":false}");
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* POST relationship-settings whose reply cannot be made (field_json:1, its read-back's first member): 500 NOMEM and
 * nothing stored (the write's savepoint is rolled back: the read and the memory keep false); the same POST after is
 * stored and answered whole. */
static void test_operator_write_undone(void **st)
{
  (void)st;
  start("field_json:1", NULL);
  const char *set = "{\"c2c_friendship_required\":true}";
  json_t *e = op_callf(srv.port, auth, 500, "POST", set, "/operator/v1/apps/%u/relationship-settings", app);
  assert_string_equal(jstr(e, "error.code"), "NOMEM");
  json_decref(e);
  json_t *r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/relationship-settings", app);
  assert_true(json_is_false(json_object_get(r, "c2c_friendship_required")));
  json_decref(r);
  r = op_callf(srv.port, auth, 200, "POST", set, "/operator/v1/apps/%u/relationship-settings", app);
  assert_json_is(r, "{\"profile_custom_tags\":{},\"sns_custom_tags\":{},\"c2c_friendship_required\":true}");
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* GET /operator/v1/apps/{id}/state, made by tenant_app_state_json (src/tenant, util/json_whole.c, §90): its last
 * member, c2c_history_days, cannot be set (field_json:7): 500 NOMEM, never the state without it; then whole. */
static void test_operator_state_fails(void **st)
{
  (void)st;
  static const char *const members[] = { "sdkappid", "date", "scheme", "edition", "state", "limits_of", "status",
                                          "auto_renew", "package_until", "grace_until", "suspended_by",
                                          "push_approved_at", "all_member_push", "history_days", "c2c_history_days" };
  start("field_json:7", NULL);
  json_t *e = op_callf(srv.port, auth, 500, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(e, "error.code"), "NOMEM");
  assert_null(json_object_get(e, "c2c_history_days"));
  json_decref(e);
  json_t *r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  for (size_t i = 0; i < sizeof members / sizeof *members; i++)
    if (!json_object_get(r, members[i])) fail_msg("state without %s: %s", members[i], json_dumps(r, 0));
  assert_int_equal(json_object_size(r), sizeof members / sizeof *members);
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* openconfigsvr/getappinfo with two fields: the second day's Date cannot be set (field_json:4): 70500 without
 * Result, never a day without a field; then 30 days, each with both. */
static void test_appinfo_day_fails(void **st)
{
  (void)st;
  start("field_json:4", NULL);
  const char *req = "{\"RequestField\":[\"AppId\",\"Date\"]}";
  v4_oom(V4("openconfigsvr/getappinfo", "%s", req), "Result");
  json_t *r = V4("openconfigsvr/getappinfo", "%s", req);
  v4_code(r, 0);
  json_t *days = json_object_get(r, "Result"), *d;
  size_t i;
  assert_int_equal(json_array_size(days), 30);
  json_array_foreach(days, i, d) {
    assert_int_equal(json_object_size(d), 2);
    assert_int_equal(strlen(jstr(d, "Date")), 8);
    assert_int_equal(strtoul(jstr(d, "AppId"), NULL, 10), app);
  }
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_roam_entry_fails),
    cmocka_unit_test(test_unread_peer_fails),
    cmocka_unit_test(test_recent_list_fails),
    cmocka_unit_test(test_account_check_fails),
    cmocka_unit_test(test_online_detail_fails),
    cmocka_unit_test(test_black_list_get_fails),
    cmocka_unit_test(test_operator_read_fails),
    cmocka_unit_test(test_operator_write_undone),
    cmocka_unit_test(test_operator_state_fails),
    cmocka_unit_test(test_appinfo_day_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
