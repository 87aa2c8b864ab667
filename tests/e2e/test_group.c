/* End-to-end: the compatible group REST API (rest-api-reference §2.4)
 * against the real server: group ids, profile rules, members and roles,
 * edition limits at N and N+1 (the default app is on the free "trial"
 * edition: 20 members per group, 10 AVChatRooms, 100 groups, 50 groups per
 * user), messages with their per-group sequence, history, recall, mute,
 * dissolve, and the rebuild of groups and memberships after a restart. */
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
#include "e2e_fixture.h"

/* A REST call whose ErrorCode is returned (the reply is freed). */
static int code(json_t *r)
{
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}


/* get_appid_group_list is documented at 1 call per second per app (§2.4) */
#define applist(...) (usleep(1100000), call("group_open_http_svc/get_appid_group_list", __VA_ARGS__))

static void users(const char *prefix, int n)
{
  for (int i = 0; i < n; i++) {
    char u[64];
    snprintf(u, sizeof u, "%s%d", prefix, i);
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", u));
  }
}

static const char *const base[] = { "alice", "bob", "carol", "dave", NULL };

/* ---- ids and profile fields ----------------------------------------------------------- */
static void test_create_ids_and_fields(void **st)
{
  (void)st;
  import_users(srv.port, app, key, base);
  json_t *r = call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"pub\",\"Owner_Account\":\"alice\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_true(!strncmp(jstr(r, "GroupId"), "@TGS#", 5));
  json_decref(r);
  /* custom ids: printable, < 48 bytes, never @TGS# (Community: must be @TGS#_) */
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"x\",\"GroupId\":\"@TGS#mine\"}")), 10015);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"x\",\"GroupId\":\"%048d\"}", 1)), 10015);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"x\",\"GroupId\":\"%047d\"}", 1)), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"x\",\"GroupId\":\"tab\\there\"}")), 10015);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"x\",\"GroupId\":\"ids-1\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"x\",\"GroupId\":\"ids-1\"}")), 10021);
  /* Community: an Ultimate feature (11000 on trial), SupportTopic refused */
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Community\",\"Name\":\"c\",\"GroupId\":\"@TGS#_c1\"}")), 11000);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"x\",\"SupportTopic\":1}")), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Nope\",\"Name\":\"x\"}")), 10004);
  /* field lengths: Name 30 B, Introduction 240 B, Notification 300 B, FaceUrl 100 B */
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"%030d\"}", 0)), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"%031d\"}", 0)), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"Introduction\":\"%241d\"}", 0)), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"Notification\":\"%301d\"}", 0)), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"FaceUrl\":\"%101d\"}", 0)), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\"}")), 10004);
  /* AppDefinedData: ≤ 10 keys, key [A-Za-z0-9_] ≤ 16 B, value ≤ 512 B */
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"AppDefinedData\":[{\"Key\":\"bad-key\",\"Value\":\"v\"}]}")), 10004);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"AppDefinedData\":[{\"Key\":\"k\",\"Value\":\"%513d\"}]}", 0)), 10004);
  r = call(G("create_group"), "{\"Type\":\"ChatRoom\",\"Name\":\"meet\",\"GroupId\":\"meet-1\",\"Introduction\":\"hi\","
           "\"AppDefinedData\":[{\"Key\":\"k_1\",\"Value\":\"v\"}],\"MaxMemberCount\":10}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = call(G("get_group_info"), "{\"GroupIdList\":[\"meet-1\",\"nope\"]}");
  json_t *g0 = json_array_get(json_object_get(r, "GroupInfo"), 0), *g1 = json_array_get(json_object_get(r, "GroupInfo"), 1);
  assert_int_equal(jint(g0, "ErrorCode"), 0);
  assert_string_equal(jstr(g0, "Type"), "ChatRoom");
  assert_string_equal(jstr(g0, "Introduction"), "hi");
  assert_string_equal(jstr(g0, "ApplyJoinOption"), "FreeAccess");
  assert_string_equal(jstr(g0, "Owner_Account"), ""); /* no owner given: ownerless */
  assert_int_equal(jint(g0, "MaxMemberNum"), 10);
  assert_int_equal(jint(g0, "MemberNum"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(g0, "AppDefinedData"), 0), "Key"), "k_1");
  assert_int_equal(jint(g1, "ErrorCode"), 10010);
  json_decref(r);
  /* modify uses MaxMemberNum (create used MaxMemberCount) */
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"meet-1\",\"MaxMemberNum\":15,\"Name\":\"m2\"}")), 0);
  r = call(G("get_group_info"), "{\"GroupIdList\":[\"meet-1\"],\"ResponseFilter\":{\"GroupBaseInfoFilter\":[\"Name\",\"MaxMemberNum\",\"InfoSeq\"]}}");
  g0 = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_string_equal(jstr(g0, "Name"), "m2");
  assert_int_equal(jint(g0, "MaxMemberNum"), 15);
  assert_int_equal(jint(g0, "InfoSeq"), 2);
  assert_null(json_object_get(g0, "Introduction"));
  json_decref(r);
  /* MaxMemberNum above the edition's 20 members: 10038 */
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"meet-1\",\"MaxMemberNum\":21}")), 10038);
}

/* ---- members and roles ------------------------------------------------------------------- */
static void test_members(void **st)
{
  (void)st;
  users("m", 25);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"p\",\"GroupId\":\"mem-1\",\"Owner_Account\":\"m0\","
                              "\"MemberList\":[{\"Member_Account\":\"m1\",\"Role\":\"Admin\"},{\"Member_Account\":\"m2\"}]}")), 0);
  json_t *r = call(G("add_group_member"), "{\"GroupId\":\"mem-1\",\"MemberList\":[{\"Member_Account\":\"m2\"},{\"Member_Account\":\"m3\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *l = json_object_get(r, "MemberList");
  assert_int_equal(jint(json_array_get(l, 0), "Result"), 2); /* already a member */
  assert_int_equal(jint(json_array_get(l, 1), "Result"), 1);
  json_decref(r);
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"mem-1\",\"MemberList\":[{\"Member_Account\":\"ghost\"}]}")), 10019);
  r = call(G("get_role_in_group"), "{\"GroupId\":\"mem-1\",\"User_Account\":[\"m0\",\"m1\",\"m3\",\"m9\"]}");
  l = json_object_get(r, "UserIdList");
  assert_string_equal(jstr(json_array_get(l, 0), "Role"), "Owner");
  assert_string_equal(jstr(json_array_get(l, 1), "Role"), "Admin");
  assert_string_equal(jstr(json_array_get(l, 2), "Role"), "Member");
  assert_string_equal(jstr(json_array_get(l, 3), "Role"), "NotMember");
  json_decref(r);
  /* paging: Offset/Limit, then the Next cursor */
  r = call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"Limit\":2,\"Offset\":0}");
  assert_int_equal(jint(r, "MemberNum"), 4);
  assert_int_equal(json_array_size(json_object_get(r, "MemberList")), 2);
  char next[24];
  snprintf(next, sizeof next, "%s", jstr(r, "Next"));
  assert_string_equal(next, "2");
  json_decref(r);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"Limit\":2,\"Next\":\"%s\"}", next);
  assert_int_equal(json_array_size(json_object_get(r, "MemberList")), 2);
  assert_string_equal(jstr(r, "Next"), "");
  json_decref(r);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"MemberRoleFilter\":[\"Admin\"]}");
  assert_int_equal(json_array_size(json_object_get(r, "MemberList")), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MemberList"), 0), "Member_Account"), "m1");
  json_decref(r);
  /* a role filter pages by the rows read: a page that kept none still leads on (Next was "" and the
   * Members after it were lost) */
  char got[256] = "";
  json_t *m;
  size_t i;
  snprintf(next, sizeof next, "0");
  for (int pages = 0; next[0] && pages < 10; pages++) {
    r = call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"Limit\":1,\"MemberRoleFilter\":[\"Member\"],\"Next\":\"%s\"}", next);
    json_array_foreach(json_object_get(r, "MemberList"), i, m)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s,", jstr(m, "Member_Account"));
    snprintf(next, sizeof next, "%s", jstr(r, "Next"));
    json_decref(r);
  }
  assert_string_equal(got, "m2,m3,");
  assert_int_equal(code(call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"MemberRoleFilter\":\"Admin\"}")), 10004);
  /* optional fields of the wrong type answer 10004 (they were read as 0 and the request ran) */
  assert_int_equal(code(call(G("get_joined_group_list"), "{\"Member_Account\":\"m1\",\"Offset\":\"abc\"}")), 10004);
  assert_int_equal(code(call(G("get_joined_group_list"), "{\"Member_Account\":\"m1\",\"Limit\":1.5}")), 10004);
  assert_int_equal(code(call(G("get_joined_group_list"), "{\"Member_Account\":\"m1\",\"WithHugeGroups\":\"1\"}")), 10004);
  assert_int_equal(code(call(G("get_joined_group_list"), "{\"Member_Account\":\"m1\",\"ResponseFilter\":[1]}")), 10004);
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"mem-1\",\"Silence\":\"yes\",\"MemberToDel_Account\":[\"m3\"]}")), 10004);
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"mem-1\",\"Reason\":7,\"MemberToDel_Account\":[\"m3\"]}")), 10004);
  assert_int_equal(code(call(G("group_msg_get_simple"), "{\"GroupId\":\"mem-1\",\"ReqMsgNumber\":1,\"WithRecalledMsg\":\"1\"}")), 10004);
  /* member settings */
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"mem-1\",\"Member_Account\":\"m3\",\"NameCard\":\"card\","
                              "\"MsgFlag\":\"AcceptNotNotify\",\"AppMemberDefinedData\":[{\"Key\":\"a\",\"Value\":\"b\"}]}")), 0);
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"mem-1\",\"Member_Account\":\"m3\",\"NameCard\":\"%051d\"}", 0)), 10004);
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"mem-1\",\"Member_Account\":\"m0\",\"Role\":\"Member\"}")), 10007);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"mem-1\",\"MemberInfoFilter\":[\"NameCard\",\"MsgFlag\",\"Role\"]}");
  json_t *m3 = NULL;
  json_array_foreach(json_object_get(r, "MemberList"), i, m) if (!strcmp(jstr(m, "Member_Account"), "m3")) m3 = m;
  assert_non_null(m3);
  assert_string_equal(jstr(m3, "NameCard"), "card");
  assert_string_equal(jstr(m3, "MsgFlag"), "AcceptNotNotify");
  assert_null(json_object_get(m3, "JoinTime"));
  json_decref(r);
  /* delete; the owner cannot be removed */
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"mem-1\",\"MemberToDel_Account\":[\"m0\"]}")), 10007);
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"mem-1\",\"MemberToDel_Account\":[\"m3\"]}")), 0);
  r = call(G("get_role_in_group"), "{\"GroupId\":\"mem-1\",\"User_Account\":[\"m3\"]}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 0), "Role"), "NotMember");
  json_decref(r);
  /* owner transfer */
  assert_int_equal(code(call(G("change_group_owner"), "{\"GroupId\":\"mem-1\",\"NewOwner_Account\":\"m9\"}")), 10007);
  assert_int_equal(code(call(G("change_group_owner"), "{\"GroupId\":\"mem-1\",\"NewOwner_Account\":\"m2\"}")), 0);
  r = call(G("get_role_in_group"), "{\"GroupId\":\"mem-1\",\"User_Account\":[\"m0\",\"m2\"]}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 0), "Role"), "Member");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 1), "Role"), "Owner");
  json_decref(r);
  /* import members with roles; AVChatRoom takes none (10007) */
  r = call(G("import_group_member"), "{\"GroupId\":\"mem-1\",\"MemberList\":[{\"Member_Account\":\"m4\",\"Role\":\"Admin\",\"JoinTime\":1600000000}]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "MemberList"), 0), "Result"), 1);
  json_decref(r);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"live\",\"GroupId\":\"live-m\",\"Owner_Account\":\"m0\"}")), 0);
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"live-m\",\"MemberList\":[{\"Member_Account\":\"m1\"}]}")), 10007);
  assert_int_equal(code(call(G("import_group_member"), "{\"GroupId\":\"live-m\",\"MemberList\":[{\"Member_Account\":\"m1\"}]}")), 10007);
  r = call(G("get_online_member_num"), "{\"GroupId\":\"live-m\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "OnlineMemberNum"), 0);
  json_decref(r);
  assert_int_equal(code(call(G("get_online_member_num"), "{\"GroupId\":\"mem-1\"}")), 10007);
  /* request caps: add ≤ 300, delete ≤ 500 (docs/decisions/groups.md) */
  char big[301 * 24 + 64];
  size_t o = (size_t)snprintf(big, sizeof big, "[");
  for (int k = 0; k < 301; k++) o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"Member_Account\":\"m1\"}", k ? "," : "");
  snprintf(big + o, sizeof big - o, "]");
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"mem-1\",\"MemberList\":%s}", big)), 10005);
}

/* ---- edition limits at N and N+1 (trial) ---------------------------------------------------- */
static void test_limits(void **st)
{
  (void)st;
  users("l", 22);
  /* members per group: 20 with the owner */
  char list[2048];
  size_t o = (size_t)snprintf(list, sizeof list, "[");
  for (int k = 1; k <= 20; k++) o += (size_t)snprintf(list + o, sizeof list - o, "%s{\"Member_Account\":\"l%d\"}", k > 1 ? "," : "", k);
  snprintf(list + o, sizeof list - o, "]");
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"w\",\"Owner_Account\":\"l0\",\"MemberList\":%s}", list)), 10038);
  o = (size_t)snprintf(list, sizeof list, "[");
  for (int k = 1; k <= 19; k++) o += (size_t)snprintf(list + o, sizeof list - o, "%s{\"Member_Account\":\"l%d\"}", k > 1 ? "," : "", k);
  snprintf(list + o, sizeof list - o, "]");
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"w\",\"GroupId\":\"full-1\",\"Owner_Account\":\"l0\",\"MemberList\":%s}", list)), 0);
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"full-1\",\"MemberList\":[{\"Member_Account\":\"l20\"}]}")), 10014);
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"full-1\",\"MemberToDel_Account\":[\"l19\"]}")), 0);
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"full-1\",\"MemberList\":[{\"Member_Account\":\"l20\"}]}")), 0);
  /* AVChatRooms per app: 10 (one exists from test_members) */
  for (int k = 1; k < 10; k++)
    assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"a\",\"GroupId\":\"av-%d\"}", k)), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"a\",\"GroupId\":\"av-10\"}")), 10036);
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"av-9\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"a\",\"GroupId\":\"av-10\"}")), 0);
  /* groups per user: 50 (l21 is in none yet) */
  int have = 0;
  for (int k = 0; k < 50; k++) {
    char id[32];
    snprintf(id, sizeof id, "gpu-%d", k);
    json_t *r = call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"g\",\"GroupId\":\"%s\",\"Owner_Account\":\"l21\"}", id);
    int c = (int)jint(r, "ErrorCode");
    json_decref(r);
    if (c == 10058) break; /* the app's 100 groups come first */
    assert_int_equal(c, 0);
    have++;
  }
  json_t *r = call(G("get_joined_group_list"), "{\"Member_Account\":\"l21\"}");
  assert_int_equal(jint(r, "TotalCount"), have);
  json_decref(r);
  if (have == 50) {
    assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"full-1\",\"MemberList\":[{\"Member_Account\":\"l21\"}]}")), 10037);
  }
  /* daily net new groups (P-53: all types, 100 on trial) and groups per app (100 non-live):
   * every group here was created today, AVChatRooms included */
  r = applist( "{}");
  int total = (int)jint(r, "TotalCount");
  json_decref(r);
  for (int k = total; k < 100; k++)
    assert_int_equal(code(call(G("create_group"), "{\"Type\":\"ChatRoom\",\"Name\":\"f\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"ChatRoom\",\"Name\":\"f\"}")), 10006);
  /* dissolving a group created today gives room back: the 10 AVChatRooms go */
  for (int k = 1; k <= 10; k++)
    if (k != 9) assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"av-%d\"}", k)), 0);
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"live-m\"}")), 0);
  r = applist( "{\"GroupType\":\"AVChatRoom\"}");
  assert_int_equal(jint(r, "TotalCount"), 0);
  json_decref(r);
  for (int k = 90; k < 100; k++)
    assert_int_equal(code(call(G("create_group"), "{\"Type\":\"ChatRoom\",\"Name\":\"f\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"ChatRoom\",\"Name\":\"f\"}")), 10058);
  /* paging the app's list with Next */
  r = applist( "{\"Limit\":60}");
  assert_int_equal(jint(r, "TotalCount"), 100);
  assert_int_equal(json_array_size(json_object_get(r, "GroupIdList")), 60);
  json_int_t next = jint(r, "Next");
  assert_true(next > 0);
  json_decref(r);
  r = applist( "{\"Limit\":60,\"Next\":%lld}", (long long)next);
  assert_int_equal(json_array_size(json_object_get(r, "GroupIdList")), 40);
  assert_int_equal(jint(r, "Next"), 0);
  json_decref(r);
}

/* ---- messages ------------------------------------------------------------------------------------- */
static void test_messages(void **st)
{
  (void)st;
  /* the app is at its group limit now: make room */
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"gpu-0\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"p\",\"GroupId\":\"msg-1\",\"Owner_Account\":\"alice\","
                              "\"MemberList\":[{\"Member_Account\":\"bob\"}]}")), 0);
  /* seq 1 is the creation notice: the first message is 2 */
  json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":7,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("one") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgSeq"), 2);
  json_int_t t = jint(r, "MsgTime");
  json_decref(r);
  /* the same sender and Random again: the original's seq */
  r = call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":7,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("one") "}");
  assert_int_equal(jint(r, "MsgSeq"), 2);
  assert_int_equal(jint(r, "MsgTime"), t);
  json_decref(r);
  r = call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":8,\"From_Account\":\"alice\",\"MsgBody\":" TEXT("two") "}");
  assert_int_equal(jint(r, "MsgSeq"), 3);
  json_decref(r);
  /* a non-member cannot send; bad bodies are refused */
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":9,\"From_Account\":\"carol\",\"MsgBody\":" TEXT("x") "}")), 10007);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":9,\"MsgBody\":[]}")), 90007);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"MsgBody\":" TEXT("x") "}")), 10004);
  /* history: newest first */
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":2}");
  json_t *l = json_object_get(r, "RspMsgList");
  assert_int_equal(json_array_size(l), 2);
  assert_int_equal(jint(json_array_get(l, 0), "MsgSeq"), 3);
  assert_string_equal(jstr(json_array_get(l, 0), "From_Account"), "alice");
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(l, 1), "MsgBody"), 0), "MsgContent.Text"), "one");
  assert_int_equal(jint(r, "IsFinished"), 0);
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":20,\"ReqMsgSeq\":1}");
  l = json_object_get(r, "RspMsgList");
  assert_int_equal(json_array_size(l), 1);
  assert_int_equal(jint(json_array_get(l, 0), "IsSystemMsg"), 1);
  assert_int_equal(jint(r, "IsFinished"), 1);
  json_decref(r);
  /* recall */
  r = call(G("group_msg_recall"), "{\"GroupId\":\"msg-1\",\"MsgSeqList\":[{\"MsgSeq\":2},{\"MsgSeq\":99}]}");
  l = json_object_get(r, "RecallRetList");
  assert_int_equal(jint(json_array_get(l, 0), "RetCode"), 0);
  assert_int_equal(jint(json_array_get(l, 1), "RetCode"), 10030);
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":20}");
  assert_int_equal(json_array_size(json_object_get(r, "RspMsgList")), 2); /* 3 and the notice; 2 is recalled */
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":20,\"WithRecalledMsg\":1}");
  assert_int_equal(json_array_size(json_object_get(r, "RspMsgList")), 3);
  json_decref(r);
  /* modify a message's body */
  assert_int_equal(code(call("openim/modify_group_msg", "{\"GroupId\":\"msg-1\",\"MsgSeq\":3,\"MsgBody\":" TEXT("2b") "}")), 0);
  assert_int_equal(code(call("openim/modify_group_msg", "{\"GroupId\":\"msg-1\",\"MsgSeq\":300,\"MsgBody\":" TEXT("2b") "}")), 10030);
  /* a recalled message stays recalled: 10032, as C2C's 20023; its body is unchanged */
  assert_int_equal(code(call("openim/modify_group_msg", "{\"GroupId\":\"msg-1\",\"MsgSeq\":2,\"MsgBody\":" TEXT("2c") "}")), 10032);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":20,\"WithRecalledMsg\":1}");
  l = json_object_get(r, "RspMsgList");
  for (size_t i = 0; i < json_array_size(l); i++)
    if (jint(json_array_get(l, i), "MsgSeq") == 2) {
      assert_int_equal(jint(json_array_get(l, i), "MsgFlagBits"), 8);
      assert_string_not_equal(jstr(json_array_get(json_object_get(json_array_get(l, i), "MsgBody"), 0), "MsgContent.Text"), "2c");
    }
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":1}");
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "RspMsgList"), 0), "MsgBody"), 0), "MsgContent.Text"), "2b");
  json_decref(r);
  /* mute: a muted member gets 10017; the list shows the deadline; both names work */
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"msg-1\",\"Members_Account\":[\"bob\"],\"MuteTime\":600}")), 0);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":10,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("x") "}")), 10017);
  r = call(G("get_group_muted_account"), "{\"GroupId\":\"msg-1\"}");
  assert_int_equal(json_array_size(json_object_get(r, "MutedAccountList")), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MutedAccountList"), 0), "Member_Account"), "bob");
  json_decref(r);
  r = call(G("get_group_shutted_uin"), "{\"GroupId\":\"msg-1\"}");
  assert_int_equal(json_array_size(json_object_get(r, "MutedAccountList")), 1);
  json_decref(r);
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"msg-1\",\"Members_Account\":[\"bob\"],\"MuteTime\":0}")), 0);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":10,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("b2") "}")), 0);
  /* MuteAllMember: members are quiet, the owner is not */
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"msg-1\",\"MuteAllMember\":\"On\"}")), 0);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":11,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("x") "}")), 0);
  /* (the App admin's REST sends pass MuteAllMember; a member's own client is refused: test_group_ws) */
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"msg-1\",\"MuteAllMember\":\"Off\"}")), 0);
  /* delete every message of a sender */
  assert_int_equal(code(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"msg-1\",\"Sender_Account\":\"bob\"}")), 0);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"msg-1\",\"ReqMsgNumber\":20,\"WithRecalledMsg\":1}");
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(r, "RspMsgList"), i, e)
    if (!strcmp(jstr(e, "From_Account"), "bob")) assert_int_equal(jint(e, "MsgFlagBits"), 8); /* only the kept last one */
  json_decref(r);
  /* import: ascending times, not in the future */
  r = call(G("import_group_msg"), "{\"GroupId\":\"msg-1\",\"MsgList\":[{\"From_Account\":\"alice\",\"SendTime\":%lld,\"Random\":1,\"MsgBody\":" TEXT("old") "}]}",
           (long long)t);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ImportMsgResult"), 0), "Result"), 0);
  assert_true(jint(json_array_get(json_object_get(r, "ImportMsgResult"), 0), "MsgSeq") > 3);
  json_decref(r);
  assert_int_equal(code(call(G("import_group_msg"), "{\"GroupId\":\"msg-1\",\"MsgList\":[{\"From_Account\":\"alice\",\"SendTime\":%lld,\"MsgBody\":" TEXT("f") "}]}",
                              (long long)t + 100000)), 10004);
  /* system notification (online only) and unread */
  assert_int_equal(code(call(G("send_group_system_notification"), "{\"GroupId\":\"msg-1\",\"Content\":\"hello\"}")), 0);
  assert_int_equal(code(call(G("set_unread_msg_num"), "{\"GroupId\":\"msg-1\",\"Member_Account\":\"bob\",\"UnreadMsgNum\":1}")), 0);
  assert_int_equal(code(call(G("set_unread_msg_num"), "{\"GroupId\":\"msg-1\",\"Member_Account\":\"carol\",\"UnreadMsgNum\":1}")), 10007);
  /* AVChatRoom: no history (10044), element filter (P-54) */
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"gpu-2\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"live\",\"GroupId\":\"live-m\"}")), 0);
  assert_int_equal(code(call(G("group_msg_get_simple"), "{\"GroupId\":\"live-m\",\"ReqMsgNumber\":5}")), 10044);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"live-m\",\"Random\":1,\"MsgBody\":"
                              "[{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Desc\":\"d\",\"Latitude\":1,\"Longitude\":2}}]}")), 10007);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"live-m\",\"Random\":1,\"MsgBody\":" TEXT("ok") "}")), 0);
}

/* ---- dissolve and restart ------------------------------------------------------------------------------- */
static void test_dissolve_and_restart(void **st)
{
  (void)st;
  /* a Work group is dissolved by the App admin only (REST is the App admin) */
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"ids-1\"}")), 0);
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"ids-1\"}")), 10010);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"ids-1\",\"Random\":1,\"MsgBody\":" TEXT("x") "}")), 10010);
  /* the id is free again */
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"gpu-1\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"again\",\"GroupId\":\"ids-1\"}")), 0);
  /* restart: groups, members, roles, mutes and sequences come back from storage */
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"msg-1\",\"Members_Account\":[\"bob\"],\"MuteTime\":3600}")), 0);
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"msg-1\"]}");
  json_int_t next_seq = jint(json_array_get(json_object_get(r, "GroupInfo"), 0), "NextMsgSeq");
  json_decref(r);
  int status = e2e_server_stop(&srv);
  if (status) { char *log = e2e_server_log(&srv); fprintf(stderr, "%s\n", log); free(log); }
  assert_int_equal(status, 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  r = call(G("get_group_info"), "{\"GroupIdList\":[\"msg-1\",\"mem-1\"]}");
  json_t *g0 = json_array_get(json_object_get(r, "GroupInfo"), 0), *g1 = json_array_get(json_object_get(r, "GroupInfo"), 1);
  assert_int_equal(jint(g0, "NextMsgSeq"), next_seq);
  assert_int_equal(jint(g0, "MemberNum"), 2);
  assert_string_equal(jstr(g0, "Owner_Account"), "alice");
  assert_string_equal(jstr(g1, "Owner_Account"), "m2");
  json_decref(r);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":77,\"From_Account\":\"bob\",\"MsgBody\":" TEXT("x") "}")), 10017);
  r = call(G("send_group_msg"), "{\"GroupId\":\"msg-1\",\"Random\":78,\"From_Account\":\"alice\",\"MsgBody\":" TEXT("y") "}");
  assert_int_equal(jint(r, "MsgSeq"), next_seq);
  json_decref(r);
  r = call(G("get_role_in_group"), "{\"GroupId\":\"mem-1\",\"User_Account\":[\"m1\",\"m4\"]}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 0), "Role"), "Admin");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserIdList"), 1), "Role"), "Admin");
  json_decref(r);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"x\",\"GroupId\":\"ids-1\"}")), 10021);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_create_ids_and_fields), cmocka_unit_test(test_members), cmocka_unit_test(test_limits),
    cmocka_unit_test(test_messages), cmocka_unit_test(test_dissolve_and_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
