/* End-to-end: group defects found in review (2026-12-05), each checked
 * through the real interfaces, one test per defect in the order of the
 * fixes: a deleted account leaves its groups (across a restart); a stale
 * group_sync cursor of a reused group id is reset; AppDefinedData and
 * AppMemberDefinedData change key by key; a live-room mute is not a joined
 * group; a muted owner/admin cannot send; group_history before_seq 1 and
 * boolean group_send flags; a NoLastMsg message activates a Work group;
 * MsgFlag Discard; import UnreadMsgNum past notices; unread counts within
 * retention (own test-clock server).
 * The app is on the free "trial" edition (account_delete is allowed). */
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

/* A REST call as the App admin: the parsed reply (caller decrefs). */
static int code(json_t *r)
{
  int c = (int)jint(r, "ErrorCode");
  if (c) fprintf(stderr, "reply: %s\n", jstr(r, "ErrorInfo"));
  json_decref(r);
  return c;
}

static void restart(void)
{
  int status = e2e_server_stop(&srv);
  if (status) { char *log = e2e_server_log(&srv); fprintf(stderr, "%s\n", log); free(log); }
  assert_int_equal(status, 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
}

/* The group's info (GroupInfo[0]) from a reply the caller frees. */
static json_t *info_of(const char *group_id, json_t **reply)
{
  *reply = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", group_id);
  return json_array_get(json_object_get(*reply, "GroupInfo"), 0);
}

static const char *role_of(const char *group_id, const char *user, char *out, size_t cap)
{
  json_t *r = call(G("get_role_in_group"), "{\"GroupId\":\"%s\",\"User_Account\":[\"%s\"]}", group_id, user);
  snprintf(out, cap, "%s", jstr(json_array_get(json_object_get(r, "UserIdList"), 0), "Role"));
  json_decref(r);
  return out;
}

/* The members' accounts of get_group_info, joined by ",". */
static void members_of(json_t *info, char *out, size_t cap)
{
  json_t *m;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(info, "MemberList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s", out[0] ? "," : "", jstr(m, "Member_Account"), jstr(m, "Role"));
}

/* ---- 1. a deleted account leaves every group ------------------------------------------------ */
static void check_deleted_gone(void)
{
  char got[256];
  json_t *r, *in = info_of("del-pub", &r);
  assert_string_equal(jstr(in, "Owner_Account"), "");
  assert_int_equal(jint(in, "MemberNum"), 1);
  members_of(in, got, sizeof got);
  assert_string_equal(got, "dl3:Member");
  json_decref(r);
  in = info_of("del-work", &r);
  assert_string_equal(jstr(in, "Owner_Account"), "");
  assert_int_equal(jint(in, "MemberNum"), 1);
  json_decref(r);
  in = info_of("del-live", &r);
  assert_string_equal(jstr(in, "Owner_Account"), "");
  json_decref(r);
  r = call(G("get_group_muted_account"), "{\"GroupId\":\"del-live\"}");
  assert_int_equal(json_array_size(json_object_get(r, "Mute_Account_List")), 0);
  json_decref(r);
}

static void test_deleted_account_leaves_groups(void **st)
{
  (void)st;
  static const char *const u[] = { "dl1", "dl2", "dl3", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"d\",\"GroupId\":\"del-pub\",\"Owner_Account\":\"dl1\","
                                                "\"MemberList\":[{\"Member_Account\":\"dl2\",\"Role\":\"Admin\"},{\"Member_Account\":\"dl3\"}]}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"d\",\"GroupId\":\"del-work\",\"Owner_Account\":\"dl1\","
                                                "\"MemberList\":[{\"Member_Account\":\"dl3\"}]}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"d\",\"GroupId\":\"del-live\",\"Owner_Account\":\"dl1\"}")), 0);
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"del-live\",\"Members_Account\":[\"dl2\"],\"MuteTime\":3600}")), 0);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"del-pub\",\"From_Account\":\"dl2\",\"Random\":7,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"bye\"}}]}")), 0);
  json_t *r = call("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"dl1\"},{\"UserID\":\"dl2\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  check_deleted_gone();
  restart();
  check_deleted_gone();
  /* the deleted sender's message still names it (accounts_gone) */
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"del-pub\",\"ReqMsgNumber\":20}");
  json_t *e, *said = NULL;
  size_t i;
  json_array_foreach(json_object_get(r, "RspMsgList"), i, e) if (jint(e, "MsgRandom") == 7) said = e;
  assert_non_null(said);
  assert_string_equal(jstr(said, "From_Account"), "dl2");
  json_decref(r);
  /* a re-imported account starts outside every group */
  import_users(srv.port, app, key, u);
  char role[32];
  assert_string_equal(role_of("del-pub", "dl1", role, sizeof role), "NotMember");
  assert_string_equal(role_of("del-pub", "dl2", role, sizeof role), "NotMember");
  r = call(G("get_joined_group_list"), "{\"Member_Account\":\"dl1\",\"WithHugeGroups\":1}");
  assert_int_equal(jint(r, "TotalCount"), 0);
  json_decref(r);
  /* the App admin gives the ownerless group a new owner */
  assert_int_equal(code(call(G("change_group_owner"), "{\"GroupId\":\"del-pub\",\"NewOwner_Account\":\"dl3\"}")), 0);
  json_t *in = info_of("del-pub", &r);
  assert_string_equal(jstr(in, "Owner_Account"), "dl3");
  json_decref(r);
}

/* ---- 2. a cursor of a dissolved group whose id was reused ---------------------------------------- */
static void login(wsc_t *c, const char *user) { assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0); }

static void send_text(const char *group_id, const char *from, int random, const char *text)
{
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                              group_id, from, random, text)), 0);
}

static void test_reused_id_stale_cursor(void **st)
{
  (void)st;
  static const char *const u[] = { "ru1", "ru2", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"r\",\"GroupId\":\"reuse\",\"Owner_Account\":\"ru1\","
                                                "\"MemberList\":[{\"Member_Account\":\"ru2\"}]}")), 0);
  for (int i = 0; i < 7; i++) send_text("reuse", "ru1", 10 + i, "old");
  wsc_t b;
  login(&b, "ru2");
  json_t *r = wsc_rpc(&b, "group_sync", "\"group_id\":\"reuse\",\"after_seq\":0");
  json_int_t old_last = jint(r, "seq");
  assert_true(old_last >= 8);
  json_decref(r);
  assert_int_equal(code(call(G("destroy_group"), "{\"GroupId\":\"reuse\"}")), 0);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"r\",\"GroupId\":\"reuse\",\"Owner_Account\":\"ru1\","
                                                "\"MemberList\":[{\"Member_Account\":\"ru2\"}]}")), 0);
  send_text("reuse", "ru1", 99, "new");
  /* the member's cursor is of the old group: the page starts over, flagged */
  r = wsc_rpc(&b, "group_sync", "\"group_id\":\"reuse\",\"after_seq\":%lld", (long long)old_last);
  assert_int_equal(jint(r, "code"), 0);
  assert_true(jint(r, "last_seq") < old_last);
  assert_true(json_is_true(json_object_get(r, "reset")));
  assert_true(json_is_true(json_object_get(r, "complete")));
  assert_true(jint(r, "created") > 0);
  char got[128];
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, "new");
  json_int_t created = jint(r, "created");
  json_decref(r);
  /* a cursor within the group: no reset */
  r = wsc_rpc(&b, "group_sync", "\"group_id\":\"reuse\",\"after_seq\":1");
  assert_null(json_object_get(r, "reset"));
  json_decref(r);
  /* group_list carries the creation stamp the client compares */
  r = wsc_rpc(&b, "group_list", "%s", "");
  json_t *e;
  size_t i;
  int seen = 0;
  json_array_foreach(json_object_get(r, "groups"), i, e)
    if (!strcmp(jstr(e, "group_id"), "reuse")) { seen = 1; assert_int_equal(jint(e, "created"), created); }
  assert_true(seen);
  json_decref(r);
  wsc_close(&b);
}

/* ---- 3. AppDefinedData / AppMemberDefinedData change key by key ------------------------------------- */
/* "k=v,…" of a [{Key, Value}] array, in its order. */
static void kv_text(json_t *arr, char *out, size_t cap)
{
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(arr, i, e) snprintf(out + strlen(out), cap - strlen(out), "%s%s=%s", out[0] ? "," : "", jstr(e, "Key"), jstr(e, "Value"));
}

static void app_data_is(const char *want)
{
  char got[512];
  json_t *r, *in = info_of("kv", &r);
  kv_text(json_object_get(in, "AppDefinedData"), got, sizeof got);
  assert_string_equal(got, want);
  json_decref(r);
}

static void member_data_is(const char *user, const char *want)
{
  char got[512];
  json_t *r = call(G("get_group_member_info"), "{\"GroupId\":\"kv\"}"), *m;
  size_t i;
  got[0] = 0;
  json_array_foreach(json_object_get(r, "MemberList"), i, m)
    if (!strcmp(jstr(m, "Member_Account"), user)) kv_text(json_object_get(m, "AppMemberDefinedData"), got, sizeof got);
  json_decref(r);
  assert_string_equal(got, want);
}

#define KV(k, v) "{\"Key\":\"" k "\",\"Value\":\"" v "\"}"

static void test_defined_data_per_key(void **st)
{
  (void)st;
  static const char *const u[] = { "kv1", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"kv\",\"GroupId\":\"kv\",\"Owner_Account\":\"kv1\","
                                                "\"AppDefinedData\":[" KV("a", "1") "," KV("b", "2") "]}")), 0);
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"kv\",\"AppDefinedData\":[" KV("c", "3") "]}")), 0);
  app_data_is("a=1,b=2,c=3");
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"kv\",\"AppDefinedData\":[" KV("a", "") "," KV("b", "9") "]}")), 0);
  app_data_is("b=9,c=3");
  /* the key limit (10) holds for the merged set */
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"kv\",\"AppDefinedData\":[" KV("k1", "x") "," KV("k2", "x") ","
                                                          KV("k3", "x") "," KV("k4", "x") "," KV("k5", "x") "," KV("k6", "x") ","
                                                          KV("k7", "x") "," KV("k8", "x") "]}")), 0);
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"kv\",\"AppDefinedData\":[" KV("k9", "x") "]}")), 10004);
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"kv\",\"AppDefinedData\":[" KV("c", "") "," KV("k9", "x") "]}")), 0);
  app_data_is("b=9,k1=x,k2=x,k3=x,k4=x,k5=x,k6=x,k7=x,k8=x,k9=x");
  /* members: the same rule (5 keys) */
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"kv\",\"Member_Account\":\"kv1\",\"AppMemberDefinedData\":[" KV("x", "1") "," KV("y", "2") "]}")), 0);
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"kv\",\"Member_Account\":\"kv1\",\"AppMemberDefinedData\":[" KV("z", "3") "]}")), 0);
  member_data_is("kv1", "x=1,y=2,z=3");
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"kv\",\"Member_Account\":\"kv1\",\"AppMemberDefinedData\":[" KV("x", "") "]}")), 0);
  member_data_is("kv1", "y=2,z=3");
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"kv\",\"Member_Account\":\"kv1\",\"AppMemberDefinedData\":[" KV("p", "1") "," KV("q", "1") "," KV("r", "1") "," KV("s", "1") "]}")), 10004);
  member_data_is("kv1", "y=2,z=3");
}

/* ---- 4. a mute in a live room is not a membership -------------------------------------------------- */
static void test_live_mute_not_joined(void **st)
{
  (void)st;
  static const char *const u[] = { "avm1", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"m\",\"GroupId\":\"avm\"}")), 0);
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"avm\",\"Members_Account\":[\"avm1\"],\"MuteTime\":3600}")), 0);
  json_t *r = call(G("get_joined_group_list"), "{\"Member_Account\":\"avm1\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "TotalCount"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "GroupIdList")), 0);
  json_decref(r);
  r = call(G("get_joined_group_list"), "{\"Member_Account\":\"avm1\",\"WithHugeGroups\":1}");
  assert_int_equal(jint(r, "TotalCount"), 0);
  json_decref(r);
  wsc_t c;
  login(&c, "avm1");
  r = wsc_rpc(&c, "group_list", "%s", "");
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "groups")), 0);
  json_decref(r);
  wsc_close(&c);
}

/* ---- 5. a muted owner or admin cannot send ---------------------------------------------------------- */
static int send_code(const char *group_id, const char *from, int random)
{
  return code(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d,\"MsgBody\":" TEXT("x") "}",
                   group_id, from, random));
}

static void test_muted_owner_admin(void **st)
{
  (void)st;
  static const char *const u[] = { "mo1", "mo2", "mo3", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"m\",\"GroupId\":\"mute-oa\",\"Owner_Account\":\"mo1\","
                                                "\"MemberList\":[{\"Member_Account\":\"mo2\",\"Role\":\"Admin\"},{\"Member_Account\":\"mo3\"}]}")), 0);
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"mute-oa\",\"Members_Account\":[\"mo1\",\"mo2\"],\"MuteTime\":3600}")), 0);
  assert_int_equal(send_code("mute-oa", "mo1", 1), 10017);
  wsc_t c;
  login(&c, "mo2");
  json_t *r = wsc_rpc(&c, "group_send", "\"group_id\":\"mute-oa\",\"random\":2,\"body\":" TEXT("x"));
  assert_int_equal(jint(r, "code"), 10017);
  json_decref(r);
  /* unmuted, they send again; MuteAllMember leaves them free, not an ordinary member */
  assert_int_equal(code(call(G("forbid_send_msg"), "{\"GroupId\":\"mute-oa\",\"Members_Account\":[\"mo1\",\"mo2\"],\"MuteTime\":0}")), 0);
  assert_int_equal(code(call(G("modify_group_base_info"), "{\"GroupId\":\"mute-oa\",\"MuteAllMember\":\"On\"}")), 0);
  assert_int_equal(send_code("mute-oa", "mo1", 3), 0);
  r = wsc_rpc(&c, "group_send", "\"group_id\":\"mute-oa\",\"random\":4,\"body\":" TEXT("x"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&c);
  login(&c, "mo3");
  r = wsc_rpc(&c, "group_send", "\"group_id\":\"mute-oa\",\"random\":5,\"body\":" TEXT("x"));
  assert_int_equal(jint(r, "code"), 10017);
  json_decref(r);
  wsc_close(&c);
}

/* ---- 7. group_history before_seq 1; 8. group_send flags are booleans ------------------------------- */
static void test_history_before_1_and_flags(void **st)
{
  (void)st;
  static const char *const u[] = { "hb1", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"h\",\"GroupId\":\"hb\",\"Owner_Account\":\"hb1\"}")), 0);
  for (int i = 0; i < 3; i++) send_text("hb", "hb1", 20 + i, "m");
  wsc_t c;
  login(&c, "hb1");
  json_t *r = wsc_rpc(&c, "group_history", "\"group_id\":\"hb\",\"before_seq\":1");
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 0);
  assert_false(json_is_true(json_object_get(r, "more")));
  json_decref(r);
  r = wsc_rpc(&c, "group_history", "\"group_id\":\"hb\",\"before_seq\":2");
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 1);
  assert_int_equal(jint(json_array_get(json_object_get(r, "msgs"), 0), "seq"), 1);
  json_decref(r);
  r = wsc_rpc(&c, "group_sync", "\"group_id\":\"hb\",\"after_seq\":0");
  json_int_t last = jint(r, "last_seq");
  json_decref(r);
  static const char *const bad[] = { "\"online_only\":1", "\"no_unread\":\"yes\"", "\"no_last_msg\":0" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = wsc_rpc(&c, "group_send", "\"group_id\":\"hb\",\"random\":%zu,\"body\":" TEXT("x") ",%s", 30 + i, bad[i]);
    assert_int_equal(jint(r, "code"), 70402);
    json_decref(r);
  }
  r = wsc_rpc(&c, "group_sync", "\"group_id\":\"hb\",\"after_seq\":0");
  assert_int_equal(jint(r, "last_seq"), last); /* nothing stored */
  json_decref(r);
  r = wsc_rpc(&c, "group_send", "\"group_id\":\"hb\",\"random\":40,\"body\":" TEXT("x") ",\"online_only\":true");
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), 0);
  json_decref(r);
  wsc_close(&c);
}

/* ---- 9. a NoLastMsg message activates a Work group ----------------------------------------------- */
static void test_nolastmsg_activates(void **st)
{
  (void)st;
  static const char *const u[] = { "na1", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"n\",\"GroupId\":\"nolast\",\"Owner_Account\":\"na1\"}")), 0);
  json_t *r = call(G("get_joined_group_list"), "{\"Member_Account\":\"na1\"}");
  assert_int_equal(jint(r, "TotalCount"), 0); /* inactive: no message yet */
  json_decref(r);
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"nolast\",\"From_Account\":\"na1\",\"Random\":1,"
                                                  "\"SendMsgControl\":[\"NoLastMsg\"],\"MsgBody\":" TEXT("x") "}")), 0);
  r = call(G("get_joined_group_list"), "{\"Member_Account\":\"na1\"}");
  assert_int_equal(jint(r, "TotalCount"), 1);
  json_decref(r);
}

/* ---- 11. MsgFlag Discard: no pushes, no unread ------------------------------------------------------- */
static json_int_t unread_of(wsc_t *c, const char *group_id)
{
  json_t *r = wsc_rpc(c, "group_list", "%s", ""), *e;
  size_t i;
  json_int_t n = -1;
  json_array_foreach(json_object_get(r, "groups"), i, e)
    if (!strcmp(jstr(e, "group_id"), group_id)) n = jint(e, "unread");
  json_decref(r);
  return n;
}

static void test_discard_flag(void **st)
{
  (void)st;
  static const char *const u[] = { "fd1", "fd2", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"f\",\"GroupId\":\"discard\",\"Owner_Account\":\"fd1\","
                                                "\"MemberList\":[{\"Member_Account\":\"fd2\"}]}")), 0);
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"discard\",\"Member_Account\":\"fd2\",\"MsgFlag\":\"Discard\"}")), 0);
  wsc_t c;
  login(&c, "fd2");
  json_decref(wsc_sync_live(&c));
  send_text("discard", "fd1", 1, "dropped");
  json_t *push = wsc_push(&c, "group_msg", 500);
  assert_null(push);
  assert_int_equal(unread_of(&c, "discard"), 0);
  /* back to AcceptAndNotify: pushed and counted again */
  assert_int_equal(code(call(G("modify_group_member_info"), "{\"GroupId\":\"discard\",\"Member_Account\":\"fd2\",\"MsgFlag\":\"AcceptAndNotify\"}")), 0);
  send_text("discard", "fd1", 2, "kept");
  push = wsc_push(&c, "group_msg", 3000);
  assert_non_null(push);
  json_decref(push);
  assert_true(unread_of(&c, "discard") >= 1);
  wsc_close(&c);
}

/* ---- 12. import_group_member UnreadMsgNum past notices --------------------------------------------- */
static void test_import_unread_past_notices(void **st)
{
  (void)st;
  static const char *const u[] = { "iu1", "iu2", "iu3", NULL };
  import_users(srv.port, app, key, u);
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"i\",\"GroupId\":\"imp-unread\",\"Owner_Account\":\"iu1\","
                                                "\"MemberList\":[{\"Member_Account\":\"iu3\"}]}")), 0);
  for (int i = 0; i < 3; i++) send_text("imp-unread", "iu1", 50 + i, "m");
  /* two notices after the messages */
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"imp-unread\",\"MemberList\":[{\"Member_Account\":\"iu2\"}]}")), 0);
  assert_int_equal(code(call(G("delete_group_member"), "{\"GroupId\":\"imp-unread\",\"MemberToDel_Account\":[\"iu2\"]}")), 0);
  assert_int_equal(code(call(G("import_group_member"), "{\"GroupId\":\"imp-unread\",\"MemberList\":[{\"Member_Account\":\"iu2\",\"UnreadMsgNum\":2}]}")), 0);
  wsc_t c;
  login(&c, "iu2");
  assert_int_equal(unread_of(&c, "imp-unread"), 2);
  wsc_close(&c);
}

/* ---- 13. unread counts leave out messages past retention ------------------------------------------ */
/* Its own server on the test clock (no purge in the test's time): messages past the edition's retention
 * (7 days) are no longer read back, so they no longer count as unread. */
static void test_unread_retention(void **st)
{
  (void)st;
  e2e_server_t s2;
  uint32_t app2;
  char key2[80], out[512], auth[160], buf[256];
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-purge-interval-s", "86400", NULL };
  e2e_dir_init(&s2);
  e2e_make_app(&s2, "china", &app2, key2);
  assert_int_equal(e2e_cli(&s2, out, sizeof out, "operator token --json"), 0);
  json_t *t = json_loads(out, 0, NULL);
  assert_non_null(t);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  assert_int_equal(e2e_server_start(&s2, args), 0);
  static const char *const u[] = { "ur1", "ur2", NULL };
  import_users(s2.port, app2, key2, u);
  json_t *r = v4(s2.port, app2, key2, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"u\",\"GroupId\":\"ret\",\"Owner_Account\":\"ur1\","
                                                         "\"MemberList\":[{\"Member_Account\":\"ur2\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  for (int i = 0; i < 2; i++) {
    r = v4(s2.port, app2, key2, G("send_group_msg"), "{\"GroupId\":\"ret\",\"From_Account\":\"ur1\",\"Random\":%d,\"MsgBody\":" TEXT("old") "}", i);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
  wsc_t c;
  assert_int_equal(wsc_login(&c, s2.port, app2, key2, "ur2", "Web"), 0);
  assert_int_equal(unread_of(&c, "ret"), 2);
  wsc_close(&c);
  /* one retention (7 days) and a second later */
  snprintf(buf, sizeof buf, "{\"advance_s\":%d}", 604801);
  static char reply[1 << 16];
  assert_int_equal(e2e_http(s2.port, "POST", "/operator/v1/clock", auth, buf, reply, sizeof reply), 200);
  assert_int_equal(wsc_login(&c, s2.port, app2, key2, "ur2", "Web"), 0);
  assert_int_equal(unread_of(&c, "ret"), 0);
  wsc_close(&c);
  assert_int_equal(e2e_finish(&s2), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_deleted_account_leaves_groups),
    cmocka_unit_test(test_reused_id_stale_cursor),
    cmocka_unit_test(test_defined_data_per_key),
    cmocka_unit_test(test_live_mute_not_joined),
    cmocka_unit_test(test_muted_owner_admin),
    cmocka_unit_test(test_history_before_1_and_flags),
    cmocka_unit_test(test_nolastmsg_activates),
    cmocka_unit_test(test_discard_flag),
    cmocka_unit_test(test_import_unread_past_notices),
    cmocka_unit_test(test_unread_retention),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
