/* End-to-end: a REST reply or a relationship push that cannot be made whole
 * (out of memory) is never sent with a member left out (decisions §82). The
 * failure is injected with IMCLOUD_TEST_FAIL (src/util/faultsim.h), counted
 * from the start of each test's own server: rest_reply_json (a REST reply's
 * object, src/api/rest_v4.c) and list_json (one entry of a list a reply or
 * a push is made of, api_list_add). Until 2026-12-06 a reply whose members
 * could not be set went out as ActionStatus OK without them, and a
 * portrait_set, friend_add or mark_contact whose push or reply lost an entry
 * was committed and answered OK with it left out (the devices learned half
 * the change); now the reply is 70500, and a relationship change is undone:
 * nothing stored, nothing pushed, and the same request works after. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

/* A server failing as fail says (an international app: its edition has conversation marks), users u imported
 * (account_import makes no list entry: the injection counts only the test's requests). */
static void start(const char *fail, const char *const *u)
{
  setenv("IMCLOUD_TEST_FAIL", fail, 1);
  int rc = e2e_start(&srv, "singapore", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  if (u) import_users(srv.port, app, key, u);
}

static void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_decref(wsc_sync_live(c));
}

/* The first push of c whose type starts with prefix (NULL after 10 s). */
static json_t *next_push(wsc_t *c, const char *prefix)
{
  json_t *o;
  int cc;
  while ((o = wsc_next(c, 10000, &cc))) {
    if (!strncmp(jstr(o, "type"), prefix, strlen(prefix))) return o;
    json_decref(o);
  }
  return NULL;
}

/* The first REST reply (rest_reply_json:1, a portrait_get: the users are imported after it) is 70500, never OK
 * without UserProfileItem; the same request is then answered whole. */
static void test_rest_reply_fails(void **st)
{
  (void)st;
  start("rest_reply_json:1", NULL);
  const char *get = "{\"To_Account\":[\"a\"],\"TagList\":[\"Tag_Profile_IM_Nick\"]}";
  v4_oom(V4("profile/portrait_get", "%s", get), "UserProfileItem");
  json_t *r = v4_code(V4("profile/portrait_get", "%s", get), 0);
  assert_non_null(json_object_get(r, "UserProfileItem"));
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* portrait_set's first changed item cannot be added to its push (list_json:1): 70500, the profile unchanged,
 * nothing pushed (the device's first profile push is the later set's, whole). */
static void test_portrait_set_push_fails(void **st)
{
  (void)st;
  start("list_json:1", (const char *const[]){ "a", NULL });
  wsc_t d;
  login(&d, "a");
  const char *set = "{\"From_Account\":\"a\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"%s\"},"
                    "{\"Tag\":\"Tag_Profile_IM_Level\",\"Value\":%d}]}";
  v4_oom(V4("profile/portrait_set", set, "first", 1), "ErrorDisplay");
  json_t *r = v4_code(V4("profile/portrait_get", "{\"To_Account\":[\"a\"],\"TagList\":[\"Tag_Profile_IM_Nick\"]}"), 0);
  json_t *items = json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem");
  const char *nick = jstr(json_array_get(items, 0), "Value");
  assert_string_equal(nick ? nick : "", "");
  json_decref(r);
  json_decref(v4_code(V4("profile/portrait_set", set, "second", 2), 0));
  json_t *p = next_push(&d, "profile");
  assert_non_null(p);
  assert_int_equal((int)json_array_size(json_object_get(p, "items")), 2);
  assert_string_equal(jstr(json_array_get(json_object_get(p, "items"), 0), "Value"), "second");
  json_decref(p);
  wsc_close(&d);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* friend_add's result cannot be added to its reply (list_json:1): 70500, not friends, no friend push (a's first is
 * the later add of c). */
static void test_friend_add_reply_fails(void **st)
{
  (void)st;
  start("list_json:1", (const char *const[]){ "a", "b", "c", NULL });
  wsc_t d;
  login(&d, "a");
  const char *add = "{\"From_Account\":\"a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"%s\","
                    "\"AddSource\":\"AddSource_Type_Web\"}]}";
  v4_oom(V4("sns/friend_add", add, "b"), "ResultItem");
  json_t *r = v4_code(V4("sns/friend_check", "{\"From_Account\":\"a\",\"To_Account\":[\"b\"],\"CheckType\":\"CheckResult_Type_Single\"}"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "InfoItem"), 0), "Relation"), "CheckResult_Type_NoRelation");
  json_decref(r);
  json_decref(v4_code(V4("sns/friend_add", add, "c"), 0));
  json_t *p = next_push(&d, "friend_");
  assert_non_null(p);
  assert_string_equal(jstr(p, "type"), "friend_added");
  assert_string_equal(jstr(p, "peer"), "c");
  json_decref(p);
  wsc_close(&d);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* mark_contact's changed item cannot be added to its push (list_json:1): 70500, no mark stored, nothing pushed. */
static void test_mark_push_fails(void **st)
{
  (void)st;
  start("list_json:1", (const char *const[]){ "a", "b", NULL });
  wsc_t d;
  login(&d, "a");
  const char *mark = "{\"From_Account\":\"a\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"b\"},\"SetMark\":[%d]}]}";
  v4_oom(V4("recentcontact/mark_contact", mark, 3), "ResultItem");
  json_t *r = v4_code(V4("recentcontact/search_contact_group", "{\"From_Account\":\"a\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"b\"}]}"), 0);
  assert_int_equal((int)json_array_size(json_object_get(json_array_get(json_object_get(r, "ContactResultItem"), 0), "MarkList")), 0);
  json_decref(r);
  json_decref(v4_code(V4("recentcontact/mark_contact", mark, 5), 0));
  json_t *p = next_push(&d, "contact_marks");
  assert_non_null(p);
  json_t *list = json_object_get(json_array_get(json_object_get(p, "items"), 0), "MarkList");
  assert_int_equal((int)json_array_size(list), 1);
  assert_int_equal((int)json_integer_value(json_array_get(list, 0)), 5);
  json_decref(p);
  wsc_close(&d);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_reply_fails),
    cmocka_unit_test(test_portrait_set_push_fails),
    cmocka_unit_test(test_friend_add_reply_fails),
    cmocka_unit_test(test_mark_push_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
