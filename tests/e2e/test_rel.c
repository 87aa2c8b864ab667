/* End-to-end: relationships against the real server — profiles
 * (profile/portrait_*), friends (sns/friend_*), friend lists (sns/group_*),
 * their WebSocket ops and pushes, AdminForbidType SendOut (no friend
 * requests, 30009), the app settings of the operator API, the edition's
 * friend cap at N and N+1, durability across a restart and tenant isolation
 * (blocklists, the C2C send checks, global mute and account deletion:
 * test_rel_guard.c; the shared fixture: rel_test.h). Each test uses its own
 * users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rel_test.h"

static void allow(const char *user, const char *type)
{
  char item[128];
  snprintf(item, sizeof item, "{\"Tag\":\"Tag_Profile_IM_AllowType\",\"Value\":\"AllowType_Type_%s\"}", type);
  set_profile(user, item);
}

/* ---- profiles ------------------------------------------------------------------------ */
static void test_profile_tags(void **st)
{
  (void)st;
  const char *const u[] = { "p_ann", NULL };
  users(u);
  EXPECT(0, V4("im_open_login_svc/account_import", "{\"UserID\":\"p_bob\",\"Nick\":\"Bobby\",\"FaceUrl\":\"http://x/b.png\"}"));
  set_profile("p_ann", "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"Ann\"},"
                       "{\"Tag\":\"Tag_Profile_IM_Gender\",\"Value\":\"Gender_Type_Female\"},"
                       "{\"Tag\":\"Tag_Profile_IM_BirthDay\",\"Value\":20000229},"
                       "{\"Tag\":\"Tag_Profile_IM_Location\",\"Value\":\"Shenzhen\"},"
                       "{\"Tag\":\"Tag_Profile_IM_SelfSignature\",\"Value\":\"hi\"},"
                       "{\"Tag\":\"Tag_Profile_IM_AllowType\",\"Value\":\"AllowType_Type_AllowAny\"},"
                       "{\"Tag\":\"Tag_Profile_IM_Language\",\"Value\":2052},"
                       "{\"Tag\":\"Tag_Profile_IM_Image\",\"Value\":\"http://x/a.png\"},"
                       "{\"Tag\":\"Tag_Profile_IM_AdminForbidType\",\"Value\":\"AdminForbid_Type_None\"},"
                       "{\"Tag\":\"Tag_Profile_IM_Level\",\"Value\":7},"
                       "{\"Tag\":\"Tag_Profile_IM_Role\",\"Value\":3}");
  json_t *r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"p_ann\",\"p_bob\",\"p_nobody\"],\"TagList\":["
                         "\"Tag_Profile_IM_Nick\",\"Tag_Profile_IM_Gender\",\"Tag_Profile_IM_BirthDay\",\"Tag_Profile_IM_Location\","
                         "\"Tag_Profile_IM_Language\",\"Tag_Profile_IM_Image\",\"Tag_Profile_IM_Level\",\"Tag_Profile_IM_Role\","
                         "\"Tag_Profile_IM_AllowType\"]}"), 0);
  json_t *ann = json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem");
  assert_string_equal(jstr(json_array_get(ann, 0), "Value"), "Ann");
  assert_string_equal(jstr(json_array_get(ann, 1), "Value"), "Gender_Type_Female");
  assert_int_equal(jint(json_array_get(ann, 2), "Value"), 20000229);
  assert_string_equal(jstr(json_array_get(ann, 3), "Value"), "Shenzhen");
  assert_int_equal(jint(json_array_get(ann, 4), "Value"), 2052);
  assert_int_equal(jint(json_array_get(ann, 6), "Value"), 7);
  assert_int_equal(jint(json_array_get(ann, 7), "Value"), 3);
  assert_string_equal(jstr(json_array_get(ann, 8), "Value"), "AllowType_Type_AllowAny");
  /* account_import's Nick and FaceUrl are the profile's Nick and Image; unset tags show defaults */
  json_t *bob = json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 1), "ProfileItem");
  assert_string_equal(jstr(json_array_get(bob, 0), "Value"), "Bobby");
  assert_string_equal(jstr(json_array_get(bob, 1), "Value"), "Gender_Type_Unknown");
  assert_int_equal(jint(json_array_get(bob, 2), "Value"), 0);
  assert_string_equal(jstr(json_array_get(bob, 5), "Value"), "http://x/b.png");
  assert_string_equal(jstr(json_array_get(bob, 8), "Value"), "AllowType_Type_NeedConfirm");
  assert_int_equal(item_code(r, "UserProfileItem", 2), 40003);
  assert_string_equal(json_string_value(json_array_get(json_object_get(r, "Fail_Account"), 0)), "p_nobody");
  json_decref(r);

  /* value rules: nothing changes on a refused request */
  char big[600];
  memset(big, 'n', 501);
  big[501] = 0;
  json_t *e = ok_code(V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Level\",\"Value\":9},"
                         "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"%s\"}]}", big), 40601);
  assert_true(strlen(jstr(e, "ErrorDisplay")) > 0);
  json_decref(e);
  EXPECT(40605, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Gender\",\"Value\":\"Gender_Type_Other\"}]}"));
  EXPECT(40605, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Location\",\"Value\":\"12345678901234567\"}]}"));
  EXPECT(40605, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Level\",\"Value\":-1}]}"));
  EXPECT(40610, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_BirthDay\",\"Value\":\"20000101\"}]}"));
  EXPECT(40610, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":5}]}"));
  EXPECT(40009, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_Custom_Hobby\",\"Value\":\"x\"}]}"));
  EXPECT(40003, V4("profile/portrait_set", "{\"From_Account\":\"p_ghost\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Level\",\"Value\":1}]}"));
  EXPECT(40001, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[]}"));
  r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"p_ann\"],\"TagList\":[\"Tag_Profile_IM_Level\"]}"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem"), 0), "Value"), 7);
  json_decref(r);

  /* custom tags declared through the operator API */
  char out[4096];
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"profile_custom_tags\":{\"Tag_Profile_Custom_Hobby\":\"string\","
                           "\"Tag_Profile_Custom_Age\":\"integer\"}}", out, sizeof out), 200);
  assert_non_null(strstr(out, "Tag_Profile_Custom_Hobby"));
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"profile_custom_tags\":{\"Tag_Profile_Custom_TooLongName\":\"string\"}}",
                           out, sizeof out), 400);
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"nonsense\":1}", out, sizeof out), 400);
  set_profile("p_ann", "{\"Tag\":\"Tag_Profile_Custom_Hobby\",\"Value\":\"chess\"},{\"Tag\":\"Tag_Profile_Custom_Age\",\"Value\":30}");
  EXPECT(40610, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_Custom_Age\",\"Value\":\"x\"}]}"));
  /* a declared friend field is no profile tag (it was stored and shown as one) */
  assert_int_equal(op_post("/operator/v1/apps/%u/relationship-settings", "{\"sns_custom_tags\":{\"Tag_SNS_Custom_Note\":\"string\"}}",
                           out, sizeof out), 200);
  EXPECT(40009, V4("profile/portrait_set", "{\"From_Account\":\"p_ann\",\"ProfileItem\":[{\"Tag\":\"Tag_SNS_Custom_Note\",\"Value\":\"x\"}]}"));
  EXPECT(40009, V4("profile/portrait_get", "{\"To_Account\":[\"p_ann\"],\"TagList\":[\"Tag_SNS_Custom_Note\"]}"));
  r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"p_ann\"],\"TagList\":[\"Tag_Profile_Custom_Hobby\",\"Tag_Profile_Custom_Age\"]}"), 0);
  json_t *pi = json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem");
  assert_string_equal(jstr(json_array_get(pi, 0), "Value"), "chess");
  assert_int_equal(jint(json_array_get(pi, 1), "Value"), 30);
  json_decref(r);
}

static void test_profile_push_and_forbid(void **st)
{
  (void)st;
  const char *const u[] = { "pp_a", "pp_b", "pp_c", "pp_d", NULL };
  users(u);
  allow("pp_b", "AllowAny");
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"pp_a\",\"AddFriendItem\":[{\"To_Account\":\"pp_b\",\"AddSource\":\"AddSource_Type_Web\"}]}"));
  wsc_t a2, b, c;
  login(&a2, "pp_a", "PC");
  login(&b, "pp_b", "Web");
  login(&c, "pp_c", "Web");
  set_profile("pp_a", "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"Alpha\"}");
  json_t *p = wsc_push(&b, "profile", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "user"), "pp_a");
  assert_string_equal(jstr(json_array_get(json_object_get(p, "items"), 0), "Value"), "Alpha");
  json_decref(p);
  p = wsc_push(&a2, "profile", 3000); /* the user's own devices too */
  assert_non_null(p);
  json_decref(p);
  assert_null(wsc_push(&c, "profile", 300)); /* not a friend: nothing */
  /* one-way rows: c lists a (c hears of a's changes), a lists d (d does not): it was the other way round */
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"pp_c\",\"AddFriendItem\":[{\"To_Account\":\"pp_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"pp_a\",\"AddFriendItem\":[{\"To_Account\":\"pp_d\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  wsc_t d;
  login(&d, "pp_d", "Web");
  set_profile("pp_a", "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"Beta\"}");
  p = wsc_push(&c, "profile", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "user"), "pp_a");
  json_decref(p);
  assert_null(wsc_push(&d, "profile", 300));
  wsc_close(&d);

  /* AdminForbidType SendOut: no friend requests (30009); messages still go (it stopped them with 20012) */
  set_profile("pp_a", "{\"Tag\":\"Tag_Profile_IM_AdminForbidType\",\"Value\":\"AdminForbid_Type_SendOut\"}");
  json_t *r = wsc_rpc(&a2, "send", "\"to\":\"pp_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"pp_a\",\"AddFriendItem\":[{\"To_Account\":\"pp_c\",\"AddSource\":\"AddSource_Type_Web\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30009);
  json_decref(r);
  assert_string_equal(relation("pp_a", "pp_c", "CheckResult_Type_Both"), "CheckResult_Type_BWithA"); /* c's import only */
  set_profile("pp_a", "{\"Tag\":\"Tag_Profile_IM_AdminForbidType\",\"Value\":\"AdminForbid_Type_None\"}");
  r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"pp_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"pp_c\",\"AddSource\":\"AddSource_Type_Web\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  json_decref(r);
  wsc_close(&a2);
  wsc_close(&b);
  wsc_close(&c);
}

/* ---- friends ---------------------------------------------------------------------------- */
static void test_friend_add_allow_types(void **st)
{
  (void)st;
  const char *const u[] = { "f_a", "f_any", "f_deny", "f_conf", "f_single", NULL };
  users(u);
  allow("f_any", "AllowAny");
  allow("f_deny", "DenyAny");
  allow("f_single", "AllowAny");
  json_t *r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"f_a\",\"AddFriendItem\":["
                         "{\"To_Account\":\"f_any\",\"AddSource\":\"AddSource_Type_Web\",\"Remark\":\"pal\",\"GroupName\":\"work\"},"
                         "{\"To_Account\":\"f_deny\",\"AddSource\":\"AddSource_Type_Web\"},"
                         "{\"To_Account\":\"f_conf\",\"AddSource\":\"AddSource_Type_Web\",\"AddWording\":\"hello\"},"
                         "{\"To_Account\":\"f_ghost\",\"AddSource\":\"AddSource_Type_Web\"},"
                         "{\"To_Account\":\"f_any\",\"AddSource\":\"bad\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  assert_int_equal(item_code(r, "ResultItem", 1), 30516);
  assert_int_equal(item_code(r, "ResultItem", 2), 30539);
  assert_int_equal(item_code(r, "ResultItem", 3), 30003);
  assert_int_equal(item_code(r, "ResultItem", 4), 30001);
  assert_int_equal((int)json_array_size(json_object_get(r, "Fail_Account")), 4);
  json_decref(r);
  assert_string_equal(relation("f_a", "f_any", "CheckResult_Type_Both"), "CheckResult_Type_BothWay");
  assert_string_equal(relation("f_a", "f_conf", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  /* single: only the adder's list */
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"f_a\",\"AddType\":\"Add_Type_Single\",\"AddFriendItem\":[{\"To_Account\":\"f_single\",\"AddSource\":\"AddSource_Type_Web\"}]}"));
  assert_string_equal(relation("f_a", "f_single", "CheckResult_Type_Both"), "CheckResult_Type_AWithB");
  assert_string_equal(relation("f_single", "f_a", "CheckResult_Type_Both"), "CheckResult_Type_BWithA");
  assert_string_equal(relation("f_single", "f_a", "CheckResult_Type_Single"), "CheckResult_Type_NoRelation");
  /* ForceAddFlags skips the peer's DenyAny */
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"f_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"f_deny\",\"AddSource\":\"AddSource_Type_Web\"}]}"));
  assert_string_equal(relation("f_a", "f_deny", "CheckResult_Type_Both"), "CheckResult_Type_BothWay");
  EXPECT(30001, V4("sns/friend_add", "{\"From_Account\":\"f_a\",\"AddType\":\"Add_Type_Neither\",\"AddFriendItem\":[{\"To_Account\":\"f_deny\",\"AddSource\":\"AddSource_Type_Web\"}]}"));
  EXPECT(30003, V4("sns/friend_add", "{\"From_Account\":\"f_ghost\",\"AddFriendItem\":[{\"To_Account\":\"f_deny\",\"AddSource\":\"AddSource_Type_Web\"}]}"));
  /* remark and list of the first add */
  r = ok_code(V4("sns/friend_get_list", "{\"From_Account\":\"f_a\",\"To_Account\":[\"f_any\",\"f_conf\"],\"TagList\":[\"Tag_SNS_IM_Remark\",\"Tag_SNS_IM_Group\",\"Tag_Profile_IM_AllowType\"]}"), 0);
  json_t *sp = json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "SnsProfileItem");
  assert_string_equal(jstr(json_array_get(sp, 0), "Value"), "pal");
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(sp, 1), "Value"), 0)), "work");
  assert_string_equal(jstr(json_array_get(sp, 2), "Value"), "AllowType_Type_AllowAny");
  assert_int_equal(item_code(r, "InfoItem", 1), 31704);
  json_decref(r);
}

static int match_type_resp(json_t *o, const void *arg) { return match_type(o, arg); }

static void test_pending_accept_other_device(void **st)
{
  (void)st;
  const char *const u[] = { "pd_a", "pd_b", "pd_c", NULL };
  users(u);
  wsc_t a, b1, b2, c;
  login(&a, "pd_a", "Web");
  login(&b1, "pd_b", "Web");
  login(&b2, "pd_b", "iPhone");
  login(&c, "pd_c", "Web");
  json_t *r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"pd_a\",\"AddFriendItem\":[{\"To_Account\":\"pd_b\",\"AddSource\":\"AddSource_Type_App\",\"AddWording\":\"hi b\",\"Remark\":\"bee\",\"GroupName\":\"Family\"},"
                         "{\"To_Account\":\"pd_c\",\"AddSource\":\"AddSource_Type_App\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30539);
  json_decref(r);
  json_t *p = wsc_push(&b1, "friend_request", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "from"), "pd_a");
  assert_string_equal(jstr(p, "request.AddWording"), "hi b");
  json_decref(p);
  p = wsc_push(&b2, "friend_request", 3000);
  assert_non_null(p);
  json_decref(p);
  p = wsc_push(&a, "friend_request_sent", 3000);
  assert_non_null(p);
  json_decref(p);
  /* pending lists both ways */
  r = wsc_rpc(&b1, "pending", "%s", "");
  assert_int_equal(jint(r, "code"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "incoming"), 0), "from"), "pd_a");
  json_decref(r);
  r = wsc_rpc(&a, "pending", "%s", "");
  assert_int_equal((int)json_array_size(json_object_get(r, "outgoing")), 2);
  json_decref(r);
  /* accepted from the second device; the first device and the requester learn it */
  r = wsc_rpc(&b2, "friend_response", "\"peer\":\"pd_a\",\"action\":\"agree_and_add\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  p = wsc_take(&b1, match_type_resp, "friend_response", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "action"), "agree_and_add");
  json_decref(p);
  p = wsc_push(&a, "friend_added", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "pd_b");
  json_decref(p);
  assert_string_equal(relation("pd_a", "pd_b", "CheckResult_Type_Both"), "CheckResult_Type_BothWay");
  r = ok_code(V4("sns/friend_get_list", "{\"From_Account\":\"pd_a\",\"To_Account\":[\"pd_b\"],\"TagList\":[\"Tag_SNS_IM_Remark\"]}"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "SnsProfileItem"), 0), "Value"), "bee");
  json_decref(r);
  /* the friend list the request named exists now, with b in it (it was named and never made) */
  p = wsc_push(&a, "flists_changed", 3000);
  assert_non_null(p);
  json_decref(p);
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"pd_a\",\"NeedFriend\":\"Need_Friend_Type_Yes\",\"GroupName\":[\"Family\"]}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "ResultItem")), 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(r, "ResultItem"), 0), "To_Account"), 0)), "pd_b");
  json_decref(r);
  /* items refused make no list */
  r = ok_code(V4("sns/friend_update", "{\"From_Account\":\"pd_a\",\"UpdateItem\":[{\"To_Account\":\"pd_b\",\"SnsItem\":["
                 "{\"Tag\":\"Tag_SNS_IM_Group\",\"Value\":[\"Leaked1\"]},{\"Tag\":\"Tag_SNS_IM_Remark\",\"Value\":7}]}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30001);
  json_decref(r);
  r = ok_code(V4("sns/friend_import", "{\"From_Account\":\"pd_a\",\"AddFriendItem\":[{\"To_Account\":\"pd_c\",\"AddSource\":\"AddSource_Type_X\","
                 "\"GroupName\":[\"Leaked2\",7]}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30001);
  json_decref(r);
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"pd_a\"}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "ResultItem")), 1); /* Family only */
  json_decref(r);
  /* answered once: a second answer finds nothing */
  r = wsc_rpc(&b1, "friend_response", "\"peer\":\"pd_a\",\"action\":\"reject\"");
  assert_int_equal(jint(r, "code"), 30614);
  json_decref(r);
  /* c refuses: no relation, the request is gone on both sides */
  r = wsc_rpc(&c, "friend_response", "\"peer\":\"pd_a\",\"action\":\"reject\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  p = wsc_take(&a, match_type_resp, "friend_response", 3000);
  assert_non_null(p);
  json_decref(p);
  assert_string_equal(relation("pd_a", "pd_c", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  r = wsc_rpc(&a, "pending", "%s", "");
  assert_int_equal((int)json_array_size(json_object_get(r, "outgoing")), 0);
  json_decref(r);
  r = wsc_rpc(&c, "friend_response", "\"peer\":\"pd_a\",\"action\":\"maybe\"");
  assert_int_equal(jint(r, "code"), 30001);
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b1);
  wsc_close(&b2);
  wsc_close(&c);
}

static void test_delete_both_and_single(void **st)
{
  (void)st;
  const char *const u[] = { "d_a", "d_b", "d_c", "d_d", NULL };
  users(u);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"d_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"d_b\",\"AddSource\":\"AddSource_Type_X\"},"
               "{\"To_Account\":\"d_c\",\"AddSource\":\"AddSource_Type_X\"},{\"To_Account\":\"d_d\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  /* single: the peer keeps the user */
  json_t *r = ok_code(V4("sns/friend_delete", "{\"From_Account\":\"d_a\",\"To_Account\":[\"d_b\"],\"DeleteType\":\"Delete_Type_Single\"}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  json_decref(r);
  assert_string_equal(relation("d_a", "d_b", "CheckResult_Type_Both"), "CheckResult_Type_BWithA");
  r = ok_code(V4("sns/friend_delete", "{\"From_Account\":\"d_a\",\"To_Account\":[\"d_b\"],\"DeleteType\":\"Delete_Type_Single\"}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 31704);
  json_decref(r);
  /* both (the default) */
  r = ok_code(V4("sns/friend_delete", "{\"From_Account\":\"d_a\",\"To_Account\":[\"d_c\"]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  json_decref(r);
  assert_string_equal(relation("d_a", "d_c", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  /* delete_all single: d_d keeps d_a */
  EXPECT(0, V4("sns/friend_delete_all", "{\"From_Account\":\"d_a\"}"));
  assert_string_equal(relation("d_a", "d_d", "CheckResult_Type_Both"), "CheckResult_Type_BWithA");
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"d_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"d_c\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_delete_all", "{\"From_Account\":\"d_a\",\"DeleteType\":\"Delete_Type_Both\"}"));
  assert_string_equal(relation("d_a", "d_c", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"d_a\",\"StartIndex\":0}"), 0);
  assert_int_equal(jint(r, "FriendNum"), 0);
  json_decref(r);
}

static void test_friend_get_paging_import_update(void **st)
{
  (void)st;
  const char *const u[] = { "g_me", NULL };
  users(u);
  char body[1 << 14];
  size_t len = 0;
  len += (size_t)snprintf(body + len, sizeof body - len, "{\"From_Account\":\"g_me\",\"AddFriendItem\":[");
  for (int i = 0; i < 15; i++) {
    char id[16];
    snprintf(id, sizeof id, "g_%02d", i);
    json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", id));
    len += (size_t)snprintf(body + len, sizeof body - len, "%s{\"To_Account\":\"%s\",\"AddSource\":\"AddSource_Type_Old\",\"AddTime\":%d,"
                            "\"Remark\":\"r%d\",\"GroupName\":[\"imported\"]}", i ? "," : "", id, 1600000000 + i, i);
  }
  snprintf(body + len, sizeof body - len, "]}");
  json_t *r = ok_code(V4("sns/friend_import", "%s", body), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "Fail_Account")), 0);
  json_decref(r);
  /* one-way */
  assert_string_equal(relation("g_me", "g_03", "CheckResult_Type_Both"), "CheckResult_Type_AWithB");
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"g_me\",\"StartIndex\":0}"), 0);
  assert_int_equal(jint(r, "FriendNum"), 15);
  assert_int_equal(jint(r, "CompleteFlag"), 1);
  json_t *first = json_array_get(json_object_get(r, "UserDataItem"), 0);
  assert_string_equal(jstr(first, "To_Account"), "g_00");
  assert_true(json_array_size(json_object_get(first, "ValueItem")) >= 4);
  json_int_t seq = jint(r, "StandardSequence");
  assert_true(seq > 0);
  json_decref(r);
  /* the sequence the caller holds: names only */
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"g_me\",\"StartIndex\":10,\"StandardSequence\":%lld}", (long long)seq), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "UserDataItem")), 5);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "UserDataItem"), 0), "To_Account"), "g_10");
  assert_int_equal((int)json_array_size(json_object_get(json_array_get(json_object_get(r, "UserDataItem"), 0), "ValueItem")), 0);
  json_decref(r);
  /* update: remark and lists; 31704 for a stranger */
  r = ok_code(V4("sns/friend_update", "{\"From_Account\":\"g_me\",\"UpdateItem\":[{\"To_Account\":\"g_01\",\"SnsItem\":["
                 "{\"Tag\":\"Tag_SNS_IM_Remark\",\"Value\":\"new\"},{\"Tag\":\"Tag_SNS_IM_Group\",\"Value\":[\"close\"]}]},"
                 "{\"To_Account\":\"f_a\",\"SnsItem\":[{\"Tag\":\"Tag_SNS_IM_Remark\",\"Value\":\"x\"}]}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  assert_int_equal(item_code(r, "ResultItem", 1), 31704);
  json_decref(r);
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"g_me\",\"StartIndex\":0}"), 0);
  assert_true(jint(r, "StandardSequence") > seq);
  json_decref(r);
  /* friend lists */
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"g_me\",\"NeedFriend\":\"Need_Friend_Type_Yes\"}"), 0);
  json_t *lists = json_object_get(r, "ResultItem");
  assert_int_equal((int)json_array_size(lists), 2);
  assert_string_equal(jstr(json_array_get(lists, 0), "GroupName"), "close");
  assert_int_equal(jint(json_array_get(lists, 0), "FriendNumber"), 1);
  assert_string_equal(jstr(json_array_get(lists, 1), "GroupName"), "imported");
  assert_int_equal(jint(json_array_get(lists, 1), "FriendNumber"), 14);
  json_decref(r);
  r = ok_code(V4("sns/group_add", "{\"From_Account\":\"g_me\",\"GroupName\":[\"fresh\"],\"To_Account\":[\"g_02\",\"g_nobody\"]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 0);
  assert_int_equal(item_code(r, "ResultItem", 1), 31704);
  assert_true(jint(r, "CurrentSequence") > 0);
  json_decref(r);
  EXPECT(0, V4("sns/group_delete", "{\"From_Account\":\"g_me\",\"GroupName\":[\"imported\"]}"));
  EXPECT(30001, V4("sns/group_delete", "{\"From_Account\":\"g_me\",\"GroupName\":[\"imported\"]}"));
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"g_me\",\"NeedFriend\":\"Need_Friend_Type_Yes\",\"GroupName\":[\"fresh\"]}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "ResultItem")), 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(r, "ResultItem"), 0), "To_Account"), 0)), "g_02");
  json_decref(r);
  /* 32 lists at most */
  char names[2048];
  len = 0;
  for (int i = 0; i < 31; i++) len += (size_t)snprintf(names + len, sizeof names - len, "%s\"l%02d\"", i ? "," : "", i);
  EXPECT(30011, V4("sns/group_add", "{\"From_Account\":\"g_me\",\"GroupName\":[%s]}", names));
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"g_me\"}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "ResultItem")), 2); /* unchanged */
  json_decref(r);
  /* a name given twice makes one list: 30 new names, one of them twice, reach 32 exactly (it was counted
   * as 31 new and refused) */
  len = 0;
  for (int i = 0; i < 30; i++) len += (size_t)snprintf(names + len, sizeof names - len, "%s\"l%02d\"", i ? "," : "", i);
  snprintf(names + len, sizeof names - len, ",\"l29\"");
  EXPECT(0, V4("sns/group_add", "{\"From_Account\":\"g_me\",\"GroupName\":[%s]}", names));
  r = ok_code(V4("sns/group_get", "{\"From_Account\":\"g_me\"}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(r, "ResultItem")), 32);
  json_decref(r);
}

/* the test app is on its scheme's free edition: 20 friends per user */
static void test_friend_limit(void **st)
{
  (void)st;
  char id[16];
  json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"lim_me\"}"));
  json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"lim_full\"}"));
  for (int i = 0; i < 21; i++) {
    snprintf(id, sizeof id, "lim_%02d", i);
    json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", id));
  }
  for (int i = 0; i < 20; i++) {
    snprintf(id, sizeof id, "lim_%02d", i);
    json_t *r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"lim_me\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"%s\",\"AddSource\":\"AddSource_Type_X\"}]}", id), 0);
    assert_int_equal(item_code(r, "ResultItem", 0), 0); /* the 20th is allowed: N */
    json_decref(r);
  }
  json_t *r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"lim_me\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"lim_20\",\"AddSource\":\"AddSource_Type_X\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30010); /* N+1 */
  json_decref(r);
  /* the peer's list is full: 30014 */
  r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"lim_full\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"lim_me\",\"AddSource\":\"AddSource_Type_X\"}]}"), 0);
  assert_int_equal(item_code(r, "ResultItem", 0), 30014);
  json_decref(r);
  assert_string_equal(relation("lim_full", "lim_me", "CheckResult_Type_Both"), "CheckResult_Type_NoRelation");
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"lim_me\",\"StartIndex\":0}"), 0);
  assert_int_equal(jint(r, "FriendNum"), 20);
  json_decref(r);
}

/* ---- isolation and restart ------------------------------------------------------------------ */
static void test_restart_durable(void **st)
{
  (void)st;
  const char *const u[] = { "r_a", "r_b", "r_c", "r_d", "r_e", NULL };
  users(u);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"r_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"r_b\",\"AddSource\":\"AddSource_Type_X\",\"Remark\":\"kept\"}]}"));
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"r_b\",\"To_Account\":[\"p_ann\",\"r_e\"]}"));
  /* one-way rows: r_d and r_e hold none of their own */
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"r_c\",\"AddFriendItem\":[{\"To_Account\":\"r_d\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  set_profile("r_a", "{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"Durable\"}");
  e2e_server_kill(&srv); /* kill -9: acknowledged means durable */
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_string_equal(relation("r_a", "r_b", "CheckResult_Type_Both"), "CheckResult_Type_BothWay");
  /* the peer's side of a From_Account that has no rows (it had no record after a restart: NoRelation / NO) */
  assert_string_equal(relation("r_d", "r_c", "CheckResult_Type_Both"), "CheckResult_Type_BWithA");
  json_t *r = ok_code(V4("sns/black_list_check", "{\"From_Account\":\"r_e\",\"To_Account\":[\"r_b\"],\"CheckType\":\"BlackCheckResult_Type_Both\"}"), 0);
  assert_string_equal(item_str(r, "BlackListCheckItem", 0, "Relation"), "BlackCheckResult_Type_BWithA");
  json_decref(r);
  r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"r_a\",\"p_bob\"],\"TagList\":[\"Tag_Profile_IM_Nick\",\"Tag_Profile_Custom_Hobby\"]}"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem"), 0), "Value"), "Durable");
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 1), "ProfileItem"), 0), "Value"), "Bobby");
  json_decref(r);
  /* the blocklist still stops a sender that has no other relationship row */
  wsc_t a;
  login(&a, "p_ann", "Web");
  r = wsc_rpc(&a, "send", "\"to\":\"r_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]");
  assert_int_equal(jint(r, "code"), 20007);
  json_decref(r);
  wsc_close(&a);
  assert_int_equal(wait_operator(), 0);
}

static void test_tenant_isolation(void **st)
{
  (void)st;
  uint32_t app2;
  char key2[80];
  e2e_make_app(&srv, "china", &app2, key2);
  /* the server learns the new app from the change log */
  json_t *r = NULL;
  for (int i = 0; i < 200; i++) {
    r = v4(srv.port, app2, key2, "im_open_login_svc/account_import", "{\"UserID\":\"r_a\"}");
    if (r && jint(r, "ErrorCode") == 0) break;
    json_decref(r);
    r = NULL;
    usleep(50 * 1000);
  }
  assert_non_null(r);
  json_decref(r);
  json_decref(v4(srv.port, app2, key2, "im_open_login_svc/account_import", "{\"UserID\":\"r_b\"}"));
  r = v4(srv.port, app2, key2, "sns/friend_check", "{\"From_Account\":\"r_a\",\"To_Account\":[\"r_b\"],\"CheckType\":\"CheckResult_Type_Both\"}");
  assert_string_equal(item_str(r, "InfoItem", 0, "Relation"), "CheckResult_Type_NoRelation");
  json_decref(r);
  r = v4(srv.port, app2, key2, "profile/portrait_get", "{\"To_Account\":[\"r_a\"],\"TagList\":[\"Tag_Profile_IM_Nick\"]}");
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem"), 0), "Value"), "");
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_profile_tags),
    cmocka_unit_test(test_profile_push_and_forbid),
    cmocka_unit_test(test_friend_add_allow_types),
    cmocka_unit_test(test_pending_accept_other_device),
    cmocka_unit_test(test_delete_both_and_single),
    cmocka_unit_test(test_friend_get_paging_import_update),
    cmocka_unit_test(test_friend_limit),
    cmocka_unit_test(test_restart_durable),
    cmocka_unit_test(test_tenant_isolation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
