/* End-to-end: what relationships refuse, against the real server —
 * blocklists (sns/black_list_*) and the C2C send checks they add (20007,
 * 20009–20011; typing too), global mute (setnospeaking: 20012, 10017;
 * durable) and an account's deletion clearing its relations (profiles,
 * friends and durability: test_rel.c; the shared fixture: rel_test.h). Each
 * test uses its own users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rel_test.h"

/* ---- blocklist ------------------------------------------------------------------------------ */
static void test_blocklist_and_c2c(void **st)
{
  (void)st;
  const char *const u[] = { "b_a", "b_b", "b_c", NULL };
  users(u);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"b_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"b_b\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  wsc_t a, b;
  login(&a, "b_a", "Web");
  login(&b, "b_b", "Web");
  json_t *r = ok_code(V4("sns/black_list_add", "{\"From_Account\":\"b_b\",\"To_Account\":[\"b_a\",\"b_nobody\"]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  assert_int_equal(item_code(r, "ResultItem", 1), 30003);
  json_decref(r);
  /* blocking ends the friendship both ways */
  assert_string_equal(relation("b_a", "b_b", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  r = wsc_rpc(&a, "send", "\"to\":\"b_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 20007);
  json_decref(r);
  r = wsc_rpc(&a, "typing", "\"peer\":\"b_b\""); /* nor show it typing (it reached the blocker) */
  assert_int_equal(jint(r, "code"), 20007);
  json_decref(r);
  assert_null(wsc_push(&b, "typing", 300));
  r = wsc_rpc(&b, "send", "\"to\":\"b_a\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 0); /* the blocker may still write */
  json_decref(r);
  /* REST sendmsg skips relationship checks */
  EXPECT(0, V4("openim/sendmsg", "{\"From_Account\":\"b_a\",\"To_Account\":\"b_b\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r\"}}]}"));
  /* adding a friend across a blocklist */
  r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"b_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"b_b\",\"AddSource\":\"AddSource_Type_X\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30525);
  json_decref(r);
  r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"b_b\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"b_a\",\"AddSource\":\"AddSource_Type_X\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30515);
  json_decref(r);
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"b_b\",\"To_Account\":[\"b_c\"]}"));
  r = ok_code(V4("sns/black_list_get", "{\"From_Account\":\"b_b\",\"StartIndex\":0,\"MaxLimited\":1,\"LastSequence\":0}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "BlackListItem")), 1);
  assert_string_equal(item_str(r, "BlackListItem", 0, "To_Account"), "b_a");
  assert_int_equal(jint(r, "StartIndex"), 1);
  json_int_t seq = jint(r, "CurruentSequence");
  assert_true(seq > 0);
  json_decref(r);
  r = ok_code(V4("sns/black_list_get", "{\"From_Account\":\"b_b\",\"StartIndex\":1,\"MaxLimited\":10,\"LastSequence\":0}"), 0);
  assert_string_equal(item_str(r, "BlackListItem", 0, "To_Account"), "b_c");
  assert_int_equal(jint(r, "StartIndex"), 0); /* complete */
  json_decref(r);
  r = ok_code(V4("sns/black_list_get", "{\"From_Account\":\"b_b\",\"StartIndex\":0,\"MaxLimited\":10,\"LastSequence\":%lld}", (long long)seq), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "BlackListItem")), 0);
  json_decref(r);
  EXPECT(30001, V4("sns/black_list_get", "{\"From_Account\":\"b_b\",\"StartIndex\":0,\"MaxLimited\":0}"));
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"b_a\",\"To_Account\":[\"b_b\"]}"));
  r = ok_code(V4("sns/black_list_check", "{\"From_Account\":\"b_b\",\"To_Account\":[\"b_a\",\"b_c\"],\"CheckType\":\"BlackCheckResult_Type_Both\"}"), 0);
  assert_string_equal(item_str(r, "BlackListCheckItem", 0, "Relation"), "BlackCheckResult_Type_BothWay");
  assert_string_equal(item_str(r, "BlackListCheckItem", 1, "Relation"), "BlackCheckResult_Type_AWithB");
  json_decref(r);
  r = ok_code(V4("sns/black_list_check", "{\"From_Account\":\"b_c\",\"To_Account\":[\"b_b\"],\"CheckType\":\"BlackCheckResult_Type_Both\"}"), 0);
  assert_string_equal(item_str(r, "BlackListCheckItem", 0, "Relation"), "BlackCheckResult_Type_BWithA");
  json_decref(r);
  r = ok_code(V4("sns/black_list_delete", "{\"From_Account\":\"b_b\",\"To_Account\":[\"b_a\",\"b_a\"]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  assert_int_equal(item_code(r, "ResultItem", 1), 30001);
  json_decref(r);
  r = wsc_rpc(&a, "send", "\"to\":\"b_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"again\"}}]");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b);
}

static void test_friendship_required(void **st)
{
  (void)st;
  const char *const u[] = { "fr_a", "fr_b", NULL };
  users(u);
  char out[4096];
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"c2c_friendship_required\":true}", out, sizeof out), 200);
  wsc_t a, b;
  login(&a, "fr_a", "Web");
  login(&b, "fr_b", "Web");
  const char *msg = "\"to\":\"fr_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]";
  json_t *r = wsc_rpc(&a, "send", "%s", msg);
  assert_int_equal(jint(r, "code"), 20009);
  json_decref(r);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"fr_a\",\"AddType\":\"Add_Type_Single\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"fr_b\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  r = wsc_rpc(&a, "send", "%s", msg);
  assert_int_equal(jint(r, "code"), 20010); /* fr_b has not added fr_a */
  json_decref(r);
  r = wsc_rpc(&b, "send", "\"to\":\"fr_a\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 20011); /* fr_b has not added fr_a to its own list */
  json_decref(r);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"fr_b\",\"AddType\":\"Add_Type_Single\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"fr_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  r = wsc_rpc(&a, "send", "%s", msg);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"c2c_friendship_required\":false}", out, sizeof out), 200);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- global mute (openconfigsvr/setnospeaking) ---------------------------------------- */
static void test_global_mute(void **st)
{
  (void)st;
  const char *const u[] = { "gm_a", "gm_b", NULL };
  users(u);
  EXPECT(0, V4("group_open_http_svc/create_group", "{\"Owner_Account\":\"gm_a\",\"Type\":\"Public\",\"Name\":\"m\",\"GroupId\":\"gm-g\"}"));
  /* refused requests change nothing */
  EXPECT(130008, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\"}"));
  EXPECT(130001, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\",\"C2CmsgNospeakingTime\":-1}"));
  EXPECT(130001, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\",\"C2CmsgNospeakingTime\":60,\"GroupmsgNospeakingTime\":\"1\"}"));
  EXPECT(130005, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_nobody\",\"C2CmsgNospeakingTime\":60}"));
  EXPECT(130004, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":7,\"C2CmsgNospeakingTime\":60}"));
  EXPECT(130003, V4("openconfigsvr/getnospeaking", "{\"Get_Account\":\"gm_nobody\"}"));
  json_t *r = ok_code(V4("openconfigsvr/getnospeaking", "{\"Get_Account\":\"gm_a\"}"), 0);
  assert_int_equal(jint(r, "C2CmsgNospeakingTime"), 0);
  assert_int_equal(jint(r, "GroupmsgNospeakingTime"), 0);
  json_decref(r);
  EXPECT(0, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\",\"C2CmsgNospeakingTime\":600,\"GroupmsgNospeakingTime\":4294967295}"));
  r = ok_code(V4("openconfigsvr/getnospeaking", "{\"Get_Account\":\"gm_a\"}"), 0);
  assert_true(jint(r, "C2CmsgNospeakingTime") > 590 && jint(r, "C2CmsgNospeakingTime") <= 600);
  assert_int_equal(jint(r, "GroupmsgNospeakingTime"), 4294967295LL);
  json_decref(r);
  e2e_server_kill(&srv); /* durable before the reply */
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wait_operator(), 0);
  wsc_t a;
  login(&a, "gm_a", "Web");
  r = wsc_rpc(&a, "send", "\"to\":\"gm_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 20012);
  json_decref(r);
  r = wsc_rpc(&a, "typing", "\"peer\":\"gm_b\"");
  assert_int_equal(jint(r, "code"), 20012);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"gm-g\",\"random\":1,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 10017);
  json_decref(r);
  /* the administrator's REST send is not checked */
  EXPECT(0, V4("openim/sendmsg", "{\"From_Account\":\"gm_a\",\"To_Account\":\"gm_b\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r\"}}]}"));
  /* 0 ends a mute; the other one stays */
  EXPECT(0, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\",\"C2CmsgNospeakingTime\":0}"));
  r = wsc_rpc(&a, "send", "\"to\":\"gm_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"gm-g\",\"random\":2,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 10017);
  json_decref(r);
  EXPECT(0, V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"gm_a\",\"GroupmsgNospeakingTime\":0}"));
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"gm-g\",\"random\":3,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
}

static void test_account_delete_clears_relations(void **st)
{
  (void)st;
  const char *const u[] = { "ad_a", "ad_b", "ad_c", NULL };
  users(u);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"ad_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"ad_b\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"ad_c\",\"AddType\":\"Add_Type_Single\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"ad_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"ad_b\",\"To_Account\":[\"ad_c\"]}"));
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"ad_c\",\"To_Account\":[\"ad_a\"]}"));
  set_profile("ad_a", "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"gone\"}");
  EXPECT(0, V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"ad_a\"}]}"));
  json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"ad_a\"}"));
  usleep(200 * 1000); /* the rows' removal is its own write after the deletion's */
  assert_string_equal(relation("ad_a", "ad_b", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  assert_string_equal(relation("ad_c", "ad_a", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  json_t *r = ok_code(V4("sns/black_list_check", "{\"From_Account\":\"ad_c\",\"To_Account\":[\"ad_a\",\"ad_b\"]}"), 0);
  assert_string_equal(item_str(r, "BlackListCheckItem", 0, "Relation"), "BlackCheckResult_Type_NO");
  assert_string_equal(item_str(r, "BlackListCheckItem", 1, "Relation"), "BlackCheckResult_Type_BWithA");
  json_decref(r);
  r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"ad_a\"],\"TagList\":[\"Tag_Profile_IM_Nick\"]}"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem"), 0), "Value"), "");
  json_decref(r);
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"ad_b\",\"StartIndex\":0}"), 0);
  assert_int_equal(jint(r, "FriendNum"), 0);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_blocklist_and_c2c),
    cmocka_unit_test(test_friendship_required),
    cmocka_unit_test(test_global_mute),
    cmocka_unit_test(test_account_delete_clears_relations),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
