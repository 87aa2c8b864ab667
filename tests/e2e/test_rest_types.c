/* End-to-end: optional fields of the compatible v4 REST API given with the
 * wrong JSON type (a string for an integer, a string for an array, array
 * items of the wrong type, an out-of-range flag) are refused with the
 * service's "invalid parameter" code (groups: 10004) and change nothing.
 * jansson reads such a field as absent or 0, so a handler that only read it
 * ran as if it were not given: a filter returned everything, a recall with
 * a TopicId recalled the group's message. Each table row is one request
 * that must be refused; each test then checks that the state is what it
 * was and that the well-typed request still works. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define GID "types-1"

typedef struct bad { const char *cmd, *body; } bad_t;

static json_t *call(const char *cmd, const char *body)
{
  json_t *r = v4(srv.port, app, key, cmd, "%s", body);
  assert_non_null(r);
  return r;
}

/* body with every "$T" replaced by the current unix time (an import's SendTime) */
static const char *timed(const char *body)
{
  static char out[4096];
  char t[24];
  size_t n = 0;
  snprintf(t, sizeof t, "%lld", (long long)time(NULL));
  for (const char *p = body; *p && n + sizeof t < sizeof out; p++) {
    if (p[0] == '$' && p[1] == 'T') { n += (size_t)snprintf(out + n, sizeof out - n, "%s", t); p++; }
    else out[n++] = *p;
  }
  out[n] = 0;
  return out;
}

/* Every row answers code and its reply carries none of the success field. */
static void refused(const bad_t *rows, int code, const char *success_field)
{
  for (const bad_t *b = rows; b->cmd; b++) {
    const char *body = timed(b->body);
    json_t *r = call(b->cmd, body);
    if (jint(r, "ErrorCode") != code || json_object_get(r, success_field)) {
      char *s = json_dumps(r, 0);
      print_error("%s %s -> %s\n", b->cmd, body, s);
      free(s);
      json_decref(r);
      fail();
    }
    json_decref(r);
  }
}

static json_int_t next_seq(void)
{
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"" GID "\"],\"ResponseFilter\":{\"GroupBaseInfoFilter\":[\"NextMsgSeq\"]}}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = json_integer_value(json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "NextMsgSeq"));
  json_decref(r);
  assert_true(n >= 1);
  return n;
}

/* The newest stored message of the group (RspMsgList[0], recalled ones included; caller decrefs). */
static json_t *newest(void)
{
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"" GID "\",\"ReqMsgNumber\":1,\"WithRecalledMsg\":1}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *m = json_incref(json_array_get(json_object_get(r, "RspMsgList"), 0));
  json_decref(r);
  assert_non_null(m);
  return m;
}

static const char *text_of(json_t *m)
{
  return json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent"), "Text"));
}

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  static const char *const users[] = { "alice", "bob", "carol", NULL };
  import_users(srv.port, app, key, users);
  json_t *r = v4(srv.port, app, key, G("create_group"),
                 "{\"Type\":\"Public\",\"GroupId\":\"" GID "\",\"Name\":\"types\",\"Owner_Account\":\"alice\","
                 "\"MemberList\":[{\"Member_Account\":\"bob\"},{\"Member_Account\":\"carol\"}]}");
  int ok = r && jint(r, "ErrorCode") == 0;
  json_decref(r);
  r = v4(srv.port, app, key, G("send_group_msg"), "{\"GroupId\":\"" GID "\",\"From_Account\":\"alice\",\"Random\":1,\"MsgBody\":" TEXT("orig") "}");
  ok = ok && r && jint(r, "ErrorCode") == 0;
  json_decref(r);
  return ok ? 0 : -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* ---- import_group_msg: RecentContactFlag, TopicId, the MsgList items ---------------------------- */
#define IMP(extra, item) "{\"GroupId\":\"" GID "\"" extra ",\"MsgList\":[" item "]}"
#define ITEM "{\"From_Account\":\"bob\",\"SendTime\":$T,\"Random\":7,\"MsgBody\":" TEXT("imported") "}"

static void test_import_group_msg(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("import_group_msg"), IMP(",\"RecentContactFlag\":\"1\"", ITEM) },
    { G("import_group_msg"), IMP(",\"RecentContactFlag\":[1]", ITEM) },
    { G("import_group_msg"), IMP(",\"RecentContactFlag\":2", ITEM) },
    { G("import_group_msg"), IMP(",\"RecentContactFlag\":-1", ITEM) },
    { G("import_group_msg"), IMP(",\"TopicId\":\"" GID "@TOPIC#_a\"", ITEM) },
    { G("import_group_msg"), IMP("", "5") },
    { G("import_group_msg"), IMP("", ITEM ",\"x\"") },
    { G("import_group_msg"), IMP("", "{\"From_Account\":\"bob\",\"SendTime\":\"$T\",\"Random\":7,\"MsgBody\":" TEXT("x") "}") },
    { G("import_group_msg"), IMP("", "{\"From_Account\":\"bob\",\"SendTime\":$T,\"Random\":\"7\",\"MsgBody\":" TEXT("x") "}") },
    { G("import_group_msg"), IMP("", "{\"From_Account\":\"bob\",\"SendTime\":$T,\"Random\":-7,\"MsgBody\":" TEXT("x") "}") },
    { NULL, NULL },
  };
  json_int_t seq = next_seq();
  refused(rows, 10004, "ImportMsgResult");
  assert_int_equal(next_seq(), seq); /* nothing imported */
  json_t *r = call(G("import_group_msg"), timed(IMP(",\"RecentContactFlag\":1", ITEM)));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_int_equal(next_seq(), seq + 1);
  json_t *m = newest();
  assert_string_equal(text_of(m), "imported");
  json_decref(m);
}

/* ---- get_group_info: ResponseFilter and its members -------------------------------------------- */
#define INFO(filter) "{\"GroupIdList\":[\"" GID "\"],\"ResponseFilter\":" filter "}"

static void test_get_group_info_filters(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("get_group_info"), INFO("\"Name\"") },
    { G("get_group_info"), INFO("[\"Name\"]") },
    { G("get_group_info"), INFO("5") },
    { G("get_group_info"), INFO("{\"GroupBaseInfoFilter\":\"Name\"}") },
    { G("get_group_info"), INFO("{\"GroupBaseInfoFilter\":[\"Name\",1]}") },
    { G("get_group_info"), INFO("{\"GroupBaseInfoFilter\":{\"Name\":1}}") },
    { G("get_group_info"), INFO("{\"MemberInfoFilter\":\"Role\"}") },
    { G("get_group_info"), INFO("{\"MemberInfoFilter\":[true]}") },
    { G("get_group_info"), INFO("{\"AppDefinedDataFilter_Group\":\"k\"}") },
    { G("get_group_info"), INFO("{\"AppDefinedDataFilter_GroupMember\":[3]}") },
    { NULL, NULL },
  };
  refused(rows, 10004, "GroupInfo");
  /* the well-typed filter still filters */
  json_t *r = call(G("get_group_info"), INFO("{\"GroupBaseInfoFilter\":[\"Name\"],\"MemberInfoFilter\":[\"Role\"],"
                                             "\"AppDefinedDataFilter_Group\":[],\"AppDefinedDataFilter_GroupMember\":[]}"));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *g = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_string_equal(json_string_value(json_object_get(g, "Name")), "types");
  assert_null(json_object_get(g, "Type"));
  json_t *m = json_array_get(json_object_get(g, "MemberList"), 0);
  assert_non_null(json_object_get(m, "Role"));
  assert_null(json_object_get(m, "JoinTime"));
  json_decref(r);
}

/* ---- get_group_member_info: MemberInfoFilter, AppDefinedDataFilter_GroupMember ----------------- */
#define MEMBERS(extra) "{\"GroupId\":\"" GID "\"" extra "}"

static void test_get_group_member_info_filters(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("get_group_member_info"), MEMBERS(",\"MemberInfoFilter\":\"Role\"") },
    { G("get_group_member_info"), MEMBERS(",\"MemberInfoFilter\":[\"Role\",2]") },
    { G("get_group_member_info"), MEMBERS(",\"MemberInfoFilter\":{}") },
    { G("get_group_member_info"), MEMBERS(",\"AppDefinedDataFilter_GroupMember\":\"k\"") },
    { G("get_group_member_info"), MEMBERS(",\"AppDefinedDataFilter_GroupMember\":[null]") },
    { G("get_group_member_info"), MEMBERS(",\"MemberRoleFilter\":\"Admin\"") },
    { NULL, NULL },
  };
  refused(rows, 10004, "MemberList");
  json_t *r = call(G("get_group_member_info"), MEMBERS(",\"MemberInfoFilter\":[\"Role\"],\"AppDefinedDataFilter_GroupMember\":[\"k\"]"));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *m = json_array_get(json_object_get(r, "MemberList"), 0);
  assert_non_null(json_object_get(m, "Role"));
  assert_null(json_object_get(m, "JoinTime"));
  json_decref(r);
}

/* ---- get_joined_group_list: SupportTopic, the filters' members ---------------------------------- */
static void test_get_joined_group_list(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("get_joined_group_list"), "{\"Member_Account\":\"bob\",\"SupportTopic\":\"1\"}" },
    { G("get_joined_group_list"), "{\"Member_Account\":\"bob\",\"ResponseFilter\":{\"GroupBaseInfoFilter\":\"Name\"}}" },
    { G("get_joined_group_list"), "{\"Member_Account\":\"bob\",\"ResponseFilter\":{\"SelfInfoFilter\":[1]}}" },
    { G("get_joined_group_list"), "{\"Member_Account\":\"bob\",\"Limit\":0}" },
    { NULL, NULL },
  };
  refused(rows, 10004, "GroupIdList");
  json_t *r = call(G("get_joined_group_list"), "{\"Member_Account\":\"bob\",\"SupportTopic\":0,"
                                               "\"ResponseFilter\":{\"GroupBaseInfoFilter\":[\"Name\"],\"SelfInfoFilter\":[\"Role\"]}}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *g = json_array_get(json_object_get(r, "GroupIdList"), 0);
  assert_string_equal(json_string_value(json_object_get(g, "Name")), "types");
  assert_null(json_object_get(g, "Type"));
  assert_string_equal(jstr(g, "SelfInfo.Role"), "Member");
  assert_null(json_object_get(json_object_get(g, "SelfInfo"), "JoinTime"));
  json_decref(r);
}

/* ---- send_group_msg: ForbidCallbackControl, SupportMessageExtension ----------------------------- */
#define SEND(extra) "{\"GroupId\":\"" GID "\",\"From_Account\":\"alice\",\"Random\":99,\"MsgBody\":" TEXT("sent") extra "}"

static void test_send_group_msg(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("send_group_msg"), SEND(",\"ForbidCallbackControl\":\"ForbidBeforeSendMsgCallback\"") },
    { G("send_group_msg"), SEND(",\"ForbidCallbackControl\":[1]") },
    { G("send_group_msg"), SEND(",\"SupportMessageExtension\":\"1\"") },
    { G("send_group_msg"), SEND(",\"SupportMessageExtension\":2") },
    { NULL, NULL },
  };
  json_int_t seq = next_seq();
  refused(rows, 10004, "MsgSeq");
  assert_int_equal(next_seq(), seq); /* nothing stored */
  json_t *r = call(G("send_group_msg"), SEND(",\"ForbidCallbackControl\":[\"ForbidBeforeSendMsgCallback\"],\"SupportMessageExtension\":1"));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgSeq"), seq);
  json_decref(r);
}

/* ---- TopicId: refused by every command that takes it (topics do not exist yet), not read as the group's ---- */
static void test_topic_id(void **st)
{
  (void)st;
  json_t *m = newest();
  json_int_t seq = jint(m, "MsgSeq"), flags = jint(m, "MsgFlagBits");
  const char *from = jstr(m, "From_Account");
  char who[40], text[64];
  snprintf(who, sizeof who, "%s", from);
  snprintf(text, sizeof text, "%s", text_of(m));
  json_decref(m);
  assert_int_equal(flags, 0);
  bad_t rows[8] = { { NULL, NULL } };
  static char b[3][512];
  snprintf(b[0], sizeof b[0], "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"MsgSeqList\":[{\"MsgSeq\":%lld}]}", (long long)seq);
  snprintf(b[1], sizeof b[1], "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"Sender_Account\":\"%s\"}", who);
  snprintf(b[2], sizeof b[2], "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("changed") "}",
           (long long)seq);
  rows[0] = (bad_t){ G("group_msg_recall"), b[0] };
  rows[1] = (bad_t){ G("delete_group_msg_by_sender"), b[1] };
  rows[2] = (bad_t){ "openim/modify_group_msg", b[2] };
  rows[3] = (bad_t){ G("send_group_system_notification"), "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"Content\":\"hi\"}" };
  rows[4] = (bad_t){ G("group_msg_get_simple"), "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"ReqMsgNumber\":1}" };
  rows[5] = (bad_t){ G("get_group_muted_account"), "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\"}" };
  rows[6] = (bad_t){ G("forbid_send_msg"), "{\"GroupId\":\"" GID "\",\"TopicId\":\"t\",\"Members_Account\":[\"bob\"],\"MuteTime\":60}" };
  json_int_t next = next_seq();
  refused(rows, 10004, "RecallRetList");
  for (const bad_t *r = rows; r->cmd; r++) { /* the read commands answered no list either */
    json_t *o = call(r->cmd, r->body);
    assert_null(json_object_get(o, "RspMsgList"));
    assert_null(json_object_get(o, "MutedAccountList"));
    json_decref(o);
  }
  /* the group's message is neither recalled, deleted nor changed; nobody muted */
  assert_int_equal(next_seq(), next);
  m = newest();
  assert_int_equal(jint(m, "MsgSeq"), seq);
  assert_int_equal(jint(m, "MsgFlagBits"), 0);
  assert_string_equal(text_of(m), text);
  json_decref(m);
  json_t *r = call(G("get_group_muted_account"), "{\"GroupId\":\"" GID "\"}");
  assert_int_equal(json_array_size(json_object_get(r, "MutedAccountList")), 0);
  json_decref(r);
}

/* ---- delete_group_member, group_msg_get_simple (the rows of the first sweep, through the same table) ---- */
static void test_group_flags(void **st)
{
  (void)st;
  static const bad_t rows[] = {
    { G("delete_group_member"), "{\"GroupId\":\"" GID "\",\"Silence\":\"1\",\"MemberToDel_Account\":[\"carol\"]}" },
    { G("delete_group_member"), "{\"GroupId\":\"" GID "\",\"Reason\":{},\"MemberToDel_Account\":[\"carol\"]}" },
    { G("group_msg_get_simple"), "{\"GroupId\":\"" GID "\",\"ReqMsgNumber\":1,\"WithRecalledMsg\":[1]}" },
    { NULL, NULL },
  };
  refused(rows, 10004, "RspMsgList");
  json_t *r = call(G("get_role_in_group"), "{\"GroupId\":\"" GID "\",\"User_Account\":[\"carol\"]}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 0), "Role"), "Member");
  json_decref(r);
}

/* ---- sns/group_add: To_Account items that are not UserIDs are bad items (30001), not "not friends" (31704) ---- */
static void test_flist_add_items(void **st)
{
  (void)st;
  json_t *r = call("sns/friend_import", "{\"From_Account\":\"alice\",\"AddFriendItem\":[{\"To_Account\":\"bob\","
                                        "\"AddSource\":\"AddSource_Type_Test\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = call("sns/group_add", "{\"From_Account\":\"alice\",\"GroupName\":[\"L1\"],\"To_Account\":[\"bob\",5,[\"carol\"],\"carol\"]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *items = json_object_get(r, "ResultItem");
  assert_int_equal(json_array_size(items), 4);
  static const int want[] = { 0, 30001, 30001, 31704 };
  for (size_t i = 0; i < 4; i++) assert_int_equal(jint(json_array_get(items, i), "ResultCode"), want[i]);
  json_decref(r);
}

/* ---- openim/get_c2c_unread_msg_num: Peer_Account items that are not UserIDs ------------------------ */
static void test_unread_peer_items(void **st)
{
  (void)st;
  json_t *r = call("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"alice\",\"Peer_Account\":[\"bob\",7,\"nobody\"]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "C2CUnreadMsgNumList")), 1);
  json_t *errs = json_object_get(r, "ErrorList");
  assert_int_equal(json_array_size(errs), 2);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(errs, 0), "Peer_Account")), 7); /* as given, not "" */
  assert_int_equal(jint(json_array_get(errs, 0), "ErrorCode"), 90003);
  assert_string_equal(jstr(json_array_get(errs, 1), "Peer_Account"), "nobody");
  assert_int_equal(jint(json_array_get(errs, 1), "ErrorCode"), 70107); /* the service's page: 70107 = no such account */
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_get_group_info_filters),
    cmocka_unit_test(test_get_group_member_info_filters),
    cmocka_unit_test(test_get_joined_group_list),
    cmocka_unit_test(test_topic_id),
    cmocka_unit_test(test_import_group_msg),
    cmocka_unit_test(test_send_group_msg),
    cmocka_unit_test(test_group_flags),
    cmocka_unit_test(test_flist_add_items),
    cmocka_unit_test(test_unread_peer_items),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
