/* End-to-end: a REST v4 body's null members are absent, at every depth
 * (docs/rest-api.md "Null fields", docs/decisions/messaging-c2c-checks.md
 * §63). Backends built on Jackson's defaults or Go structs without
 * omitempty send "F": null for every field they did not set, inside
 * MsgBody elements and member lists too; each was refused (sendmsg's
 * "SendMsgControl": null 90001, an element's "Desc": null 90002, …):
 *  - sendmsg with nulls at the top (SendMsgControl, CloudCustomData,
 *    MsgSeq, …) and nested (OfflinePushInfo's members, an element's
 *    optional MsgContent fields) is sent, and the message stored, pushed,
 *    synced and read back by admin_getroammsg carries none of the nulls;
 *  - batchsendmsg, importmsg, admin_getroammsg (LastMsgKey null),
 *    recentcontact/get_list, group_open_http_svc/create_group (optional
 *    fields and MemberList items' Role null) and sns/friend_add (optional
 *    item fields null) answer as without those fields;
 *  - a required field given as null is answered as a missing one;
 *  - a null array element is no member: "To_Account":[null] is refused as
 *    a wrong item, as before.
 * Each test uses its own users. */
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
#include "e2e_check.h"
#include "e2e_fixture.h"
#include "json_nulls.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* the ErrorCode of cmd with body */
static json_int_t code_of(const char *cmd, const char *body)
{
  json_t *r = v4(srv.port, app, key, cmd, "%s", body);
  assert_non_null(r);
  json_int_t code = jint(r, "ErrorCode");
  json_decref(r);
  return code;
}

/* a custom element with its optional fields null, then a text element */
#define NULL_BODY                                                                                              \
  "[{\"MsgType\":\"TIMCustomElem\",\"MsgContent\":{\"Data\":\"d\",\"Desc\":null,\"Ext\":null,\"Sound\":null}}," \
  "{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]"
#define CLEAN_BODY \
  "[{\"MsgType\":\"TIMCustomElem\",\"MsgContent\":{\"Data\":\"d\"}},{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]"

/* ---- sendmsg: nulls at the top and nested; nothing stored or delivered carries them ---------------- */
static void test_sendmsg_nulls(void **st)
{
  (void)st;
  static const char *const u[] = { "sn_a", "sn_b", NULL };
  users(u);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "sn_b", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"SyncOtherMachine\":null,\"From_Account\":\"sn_a\",\"To_Account\":\"sn_b\",\"MsgSeq\":null,"
                 "\"MsgRandom\":1,\"MsgLifeTime\":null,\"OnlineOnlyFlag\":null,\"SendMsgControl\":null,"
                 "\"ForbidCallbackControl\":null,\"IsNeedReadReceipt\":null,\"SupportMessageExtension\":null,"
                 "\"CloudCustomData\":null,\"OfflinePushInfo\":{\"PushFlag\":null,\"Title\":\"t\",\"Desc\":null,"
                 "\"Ext\":null,\"AndroidInfo\":null,\"ApnsInfo\":{\"Sound\":null,\"BadgeMode\":1}},\"MsgBody\":" NULL_BODY "}");
  v4_ok(r);
  /* the live device's push: the body and push info without the null members, no CloudCustomData */
  json_t *p = wsc_push(&b, "msg", 15000);
  if (!p) fail_msg("no push of the message");
  if (json_has_null_member(p)) fail_msg("push carries a null: %s", json_dumps(p, JSON_COMPACT));
  json_t *m = json_object_get(p, "msg");
  assert_json_is(json_object_get(m, "body"), CLEAN_BODY);
  assert_json_is(json_object_get(m, "offline_push_info"), "{\"Title\":\"t\",\"ApnsInfo\":{\"BadgeMode\":1}}");
  assert_null(json_object_get(m, "cloud_custom_data"));
  json_decref(p);
  wsc_close(&b);
  /* a new device's sync: the same */
  assert_int_equal(wsc_login(&b, srv.port, app, key, "sn_b", "Android"), 0);
  json_t *evs = wsc_sync_live(&b);
  assert_non_null(evs);
  json_t *ev, *got = NULL;
  size_t i;
  json_array_foreach(evs, i, ev) if (!strcmp(jstr(ev, "type"), "msg")) got = json_object_get(ev, "msg");
  if (!got) fail_msg("no message synced: %s", json_dumps(evs, JSON_COMPACT));
  if (json_has_null_member(evs)) fail_msg("sync carries a null: %s", json_dumps(evs, JSON_COMPACT));
  assert_json_is(json_object_get(got, "body"), CLEAN_BODY);
  json_decref(evs);
  wsc_close(&b);
  /* the history, with its optional fields null (LastMsgKey among them) */
  r = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"sn_b\",\"Peer_Account\":\"sn_a\",\"MaxCnt\":null,\"MinTime\":null,\"MaxTime\":null,"
         "\"LastMsgKey\":null}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || jint(r, "MsgCnt") != 1) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  if (json_has_null_member(r)) fail_msg("history carries a null: %s", json_dumps(r, JSON_COMPACT));
  json_t *item = json_array_get(json_object_get(r, "MsgList"), 0);
  assert_json_is(json_object_get(item, "MsgBody"), CLEAN_BODY);
  assert_string_equal(jstr(item, "CloudCustomData"), "");
  json_decref(r);
}

/* ---- batchsendmsg, importmsg, recentcontact/get_list -------------------------------------------------- */
static void test_c2c_commands_nulls(void **st)
{
  (void)st;
  static const char *const u[] = { "cn_a", "cn_b", "cn_c", NULL };
  users(u);
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"SyncOtherMachine\":null,\"From_Account\":\"cn_a\",\"To_Account\":[\"cn_b\",\"cn_c\"],\"MsgSeq\":null,"
                 "\"MsgRandom\":2,\"MsgLifeTime\":null,\"CloudCustomData\":null,\"SendMsgControl\":null,"
                 "\"OfflinePushInfo\":null,\"MsgBody\":" NULL_BODY "}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || json_array_size(json_object_get(r, "ErrorList")))
    fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  v4_ok(v4(srv.port, app, key, "openim/importmsg",
           "{\"SyncFromOldSystem\":2,\"From_Account\":\"cn_c\",\"To_Account\":\"cn_b\",\"MsgSeq\":7,\"MsgRandom\":3,"
           "\"MsgTimeStamp\":%lld,\"CloudCustomData\":null,\"MsgBody\":" NULL_BODY "}", (long long)time(NULL) - 60));
  /* both stored without the nulls: cn_b's history with the batch's sender and with the importer */
  static const char *const peers[] = { "cn_a", "cn_c" };
  for (int k = 0; k < 2; k++) {
    r = v4(srv.port, app, key, "openim/admin_getroammsg",
           "{\"Operator_Account\":\"cn_b\",\"Peer_Account\":\"%s\",\"MaxCnt\":10,\"LastMsgKey\":null}", peers[k]);
    assert_non_null(r);
    if (jint(r, "ErrorCode") || jint(r, "MsgCnt") != 1) fail_msg("%s", json_dumps(r, JSON_COMPACT));
    assert_false(json_has_null_member(r));
    assert_json_is(json_object_get(json_array_get(json_object_get(r, "MsgList"), 0), "MsgBody"), CLEAN_BODY);
    json_decref(r);
  }
  r = v4(srv.port, app, key, "recentcontact/get_list",
         "{\"From_Account\":\"cn_b\",\"TimeStamp\":null,\"StartIndex\":null,\"TopTimeStamp\":null,\"TopStartIndex\":null,"
         "\"AssistFlags\":null}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || json_array_size(json_object_get(r, "SessionItem")) != 2)
    fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* ---- a group command and a relationship command ----------------------------------------------------------- */
static void test_group_and_friend_nulls(void **st)
{
  (void)st;
  static const char *const u[] = { "gn_a", "gn_b", NULL };
  users(u);
  json_t *r = v4(srv.port, app, key, G("create_group"),
                 "{\"Type\":\"Public\",\"Name\":\"nulls\",\"Owner_Account\":\"gn_a\",\"GroupId\":null,\"Introduction\":null,"
                 "\"Notification\":null,\"FaceUrl\":null,\"MaxMemberCount\":null,\"ApplyJoinOption\":null,"
                 "\"AppDefinedData\":null,\"SupportTopic\":null,"
                 "\"MemberList\":[{\"Member_Account\":\"gn_b\",\"Role\":null,\"AppMemberDefinedData\":null}]}");
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  char gid[64];
  snprintf(gid, sizeof gid, "%s", jstr(r, "GroupId"));
  json_decref(r);
  r = v4(srv.port, app, key, G("get_group_member_info"), "{\"GroupId\":\"%s\",\"Limit\":null,\"Offset\":null}", gid);
  assert_non_null(r);
  if (jint(r, "ErrorCode") || jint(r, "MemberNum") != 2) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  r = v4(srv.port, app, key, "sns/friend_add",
         "{\"From_Account\":\"gn_a\",\"AddType\":null,\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"gn_b\","
         "\"Remark\":null,\"GroupName\":null,\"AddSource\":\"AddSource_Type_Web\",\"AddWording\":null}]}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"))
    fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* ---- a required field given as null is a missing one; a null array element is refused ----------------------- */
static void test_required_null_and_null_items(void **st)
{
  (void)st;
  static const char *const u[] = { "rn_a", "rn_b", NULL };
  users(u);
  static const struct { const char *cmd, *with_null, *without; json_int_t code; } rows[] = {
    { "openim/sendmsg", "{\"From_Account\":\"rn_a\",\"To_Account\":null,\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}",
      "{\"From_Account\":\"rn_a\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}", 90003 },
    { "openim/sendmsg", "{\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgRandom\":1,\"MsgBody\":null}",
      "{\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgRandom\":1}", 90007 },
    /* a required MsgContent field */
    { "openim/sendmsg",
      "{\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\","
      "\"MsgContent\":{\"Text\":null}}]}",
      "{\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{}}]}", 90002 },
    /* MsgTimeStamp: importmsg's MsgSeq is optional since §72 (a random one when absent or null) */
    { "openim/importmsg",
      "{\"SyncFromOldSystem\":2,\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgSeq\":1,\"MsgRandom\":1,"
      "\"MsgTimeStamp\":null,\"MsgBody\":" TEXT("x") "}",
      "{\"SyncFromOldSystem\":2,\"From_Account\":\"rn_a\",\"To_Account\":\"rn_b\",\"MsgSeq\":1,\"MsgRandom\":1,"
      "\"MsgBody\":" TEXT("x") "}", 90006 },
    { "openim/admin_getroammsg", "{\"Operator_Account\":null,\"Peer_Account\":\"rn_b\"}", "{\"Peer_Account\":\"rn_b\"}", 90008 },
    { "openim/get_c2c_unread_msg_num", "{\"To_Account\":null}", "{}", 90003 },
    { G("create_group"), "{\"Type\":null,\"Name\":\"x\"}", "{\"Name\":\"x\"}", 10004 },
    { "sns/friend_add", "{\"From_Account\":\"rn_a\",\"AddFriendItem\":null}", "{\"From_Account\":\"rn_a\"}", 30001 },
  };
  /* the same answer, reason included, as for the field left out */
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    json_t *a = v4(srv.port, app, key, rows[i].cmd, "%s", rows[i].with_null);
    json_t *b = v4(srv.port, app, key, rows[i].cmd, "%s", rows[i].without);
    assert_non_null(a);
    assert_non_null(b);
    if (jint(a, "ErrorCode") != rows[i].code || !json_equal(a, b))
      fail_msg("row %zu (%s): null %s, absent %s, expected %lld", i, rows[i].cmd, json_dumps(a, JSON_COMPACT),
               json_dumps(b, JSON_COMPACT), (long long)rows[i].code);
    json_decref(a);
    json_decref(b);
  }
  /* [null]: the element stays and is refused as an item that is no UserID, as before */
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"rn_a\",\"To_Account\":[null],\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}");
  assert_non_null(r);
  json_t *err = json_array_get(json_object_get(r, "ErrorList"), 0);
  if (!err || jint(err, "ErrorCode") != 90003) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"rn_a\",\"Peer_Account\":[null]}");
  assert_non_null(r);
  err = json_array_get(json_object_get(r, "ErrorList"), 0);
  if (jint(r, "ErrorCode") || !err || !json_is_null(json_object_get(err, "Peer_Account")) || jint(err, "ErrorCode") != 90003)
    fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  assert_int_equal(code_of("im_open_login_svc/multiaccount_import", "{\"Accounts\":[null]}"),
                   code_of("im_open_login_svc/multiaccount_import", "{\"Accounts\":[7]}"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sendmsg_nulls),
    cmocka_unit_test(test_c2c_commands_nulls),
    cmocka_unit_test(test_group_and_friend_nulls),
    cmocka_unit_test(test_required_null_and_null_items),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
