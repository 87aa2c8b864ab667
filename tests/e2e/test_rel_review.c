/* End-to-end: defects found reviewing relationships and user status, each
 * asserted through the real interface:
 *  - friend_get's StandardSequence / CustomSequence grow with every change of
 *    the fields they stand for: a friend_update of a remark and a custom
 *    field together grew only CustomSequence (a caller holding the current
 *    StandardSequence never saw the new remark), and a friend imported with
 *    CustomItem grew only StandardSequence (a caller holding the current
 *    CustomSequence never saw its custom fields);
 *  - an unset declared integer custom profile tag reads 0 (portrait_get,
 *    friend_get_list), not "";
 *  - a friend list named twice in Tag_SNS_IM_Group / GroupName puts the
 *    friend in it once;
 *  - account_import's Nick / FaceUrl of an existing account, when they
 *    change, are a `profile` event for the user and its friend holders (the
 *    profile changed and nobody was told);
 *  - an account_delete that takes the account out of other users'
 *    blocklists pushes them black_changed (their sequence grew silently);
 *  - friend_import of a friend already in the list pushes friend_updated,
 *    not a second friend_added;
 *  - friend_import settles the importer's pending request to the friend
 *    (and the friend's to the importer once they are friends both ways):
 *    it stayed in both users' pending lists.
 * Each test uses its own users. */
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
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  for (int i = 0; i < 200; i++) { /* the token reaches the server with the change log */
    char buf[4096];
    if (e2e_http(srv.port, "GET", "/operator/v1/customers", auth, NULL, buf, sizeof buf) == 200) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *ok_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  return r;
}
#define EXPECT(code, r) json_decref(ok_code((r), (code)))

/* Declare the app's custom tags (operator API). */
static void declare_tags(const char *body)
{
  char path[96], out[4096];
  snprintf(path, sizeof path, "/operator/v1/apps/%u/relationship-settings", app);
  int st = e2e_http(srv.port, "POST", path, auth, body, out, sizeof out);
  if (st != 200) fail_msg("relationship-settings: %d %s", st, out);
}

/* The ValueItem of friend `peer` in a friend_get reply (borrowed; NULL if absent). */
static json_t *value_items(json_t *r, const char *peer)
{
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r, "UserDataItem"), i, it)
    if (!strcmp(jstr(it, "To_Account"), peer)) return json_object_get(it, "ValueItem");
  return NULL;
}

/* The value of tag in an array of {Tag, Value} (borrowed; NULL if absent). */
static json_t *tag_value(json_t *items, const char *tag)
{
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
    if (!strcmp(jstr(it, "Tag"), tag)) return json_object_get(it, "Value");
  return NULL;
}

/* ---- friend_get's sequences ---------------------------------------------------------------------- */
static void test_friend_sequences_follow_their_fields(void **st)
{
  (void)st;
  const char *const u[] = { "seq_a", "seq_b", "seq_c", NULL };
  import_users(srv.port, app, key, u);
  declare_tags("{\"sns_custom_tags\":{\"Tag_SNS_Custom_Note\":\"string\"}}");
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"seq_a\",\"AddFriendItem\":[{\"To_Account\":\"seq_b\",\"AddSource\":\"AddSource_Type_X\","
                                    "\"CustomItem\":[{\"Tag\":\"Tag_SNS_Custom_Note\",\"Value\":\"one\"}]}]}"));
  json_t *r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"seq_a\",\"StartIndex\":0}"), 0);
  json_int_t std = jint(r, "StandardSequence"), cus = jint(r, "CustomSequence");
  json_decref(r);

  /* a remark and a custom field in one update: both sequences grow */
  r = ok_code(V4("sns/friend_update", "{\"From_Account\":\"seq_a\",\"UpdateItem\":[{\"To_Account\":\"seq_b\",\"SnsItem\":["
                                      "{\"Tag\":\"Tag_SNS_IM_Remark\",\"Value\":\"Bee\"},{\"Tag\":\"Tag_SNS_Custom_Note\",\"Value\":\"two\"}]}]}"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  /* a caller holding the sequences it had gets both changes */
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"seq_a\",\"StartIndex\":0,\"StandardSequence\":%lld,\"CustomSequence\":%lld}",
                 (long long)std, (long long)cus), 0);
  assert_true(jint(r, "StandardSequence") > std);
  assert_true(jint(r, "CustomSequence") > cus);
  json_t *vi = value_items(r, "seq_b");
  assert_non_null(vi);
  assert_non_null(tag_value(vi, "Tag_SNS_IM_Remark"));
  assert_string_equal(json_string_value(tag_value(vi, "Tag_SNS_IM_Remark")), "Bee");
  assert_string_equal(json_string_value(tag_value(vi, "Tag_SNS_Custom_Note")), "two");
  std = jint(r, "StandardSequence");
  cus = jint(r, "CustomSequence");
  json_decref(r);

  /* a custom field alone grows CustomSequence only: the standard fields are left out for a current caller */
  EXPECT(0, V4("sns/friend_update", "{\"From_Account\":\"seq_a\",\"UpdateItem\":[{\"To_Account\":\"seq_b\",\"SnsItem\":["
                                    "{\"Tag\":\"Tag_SNS_Custom_Note\",\"Value\":\"three\"}]}]}"));
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"seq_a\",\"StartIndex\":0,\"StandardSequence\":%lld,\"CustomSequence\":%lld}",
                 (long long)std, (long long)cus), 0);
  assert_int_equal(jint(r, "StandardSequence"), std);
  assert_true(jint(r, "CustomSequence") > cus);
  vi = value_items(r, "seq_b");
  assert_null(tag_value(vi, "Tag_SNS_IM_Remark"));
  assert_string_equal(json_string_value(tag_value(vi, "Tag_SNS_Custom_Note")), "three");
  cus = jint(r, "CustomSequence");
  json_decref(r);

  /* a friend imported with custom fields: a caller holding both current sequences gets them */
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"seq_a\",\"AddFriendItem\":[{\"To_Account\":\"seq_c\",\"AddSource\":\"AddSource_Type_X\","
                                    "\"CustomItem\":[{\"Tag\":\"Tag_SNS_Custom_Note\",\"Value\":\"new\"}]}]}"));
  r = ok_code(V4("sns/friend_get", "{\"From_Account\":\"seq_a\",\"StartIndex\":0,\"StandardSequence\":%lld,\"CustomSequence\":%lld}",
                 (long long)std, (long long)cus), 0);
  assert_true(jint(r, "StandardSequence") > std);
  assert_true(jint(r, "CustomSequence") > cus);
  vi = value_items(r, "seq_c");
  assert_non_null(vi);
  assert_non_null(tag_value(vi, "Tag_SNS_Custom_Note"));
  assert_string_equal(json_string_value(tag_value(vi, "Tag_SNS_Custom_Note")), "new");
  json_decref(r);
}

/* ---- profile defaults ------------------------------------------------------------------------------ */
static void test_unset_integer_custom_tag_reads_zero(void **st)
{
  (void)st;
  const char *const u[] = { "pd_a", "pd_b", NULL };
  import_users(srv.port, app, key, u);
  declare_tags("{\"profile_custom_tags\":{\"Tag_Profile_Custom_Age\":\"integer\",\"Tag_Profile_Custom_Motto\":\"string\"}}");
  json_t *r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"pd_a\"],\"TagList\":[\"Tag_Profile_Custom_Age\",\"Tag_Profile_Custom_Motto\"]}"), 0);
  json_t *pi = json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem");
  json_t *age = tag_value(pi, "Tag_Profile_Custom_Age"), *motto = tag_value(pi, "Tag_Profile_Custom_Motto");
  assert_true(json_is_integer(age));
  assert_int_equal(json_integer_value(age), 0);
  assert_true(json_is_string(motto));
  assert_string_equal(json_string_value(motto), "");
  json_decref(r);
  /* the same default where a friend's profile is read */
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"pd_b\",\"AddFriendItem\":[{\"To_Account\":\"pd_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  r = ok_code(V4("sns/friend_get_list", "{\"From_Account\":\"pd_b\",\"To_Account\":[\"pd_a\"],\"TagList\":[\"Tag_Profile_Custom_Age\"]}"), 0);
  age = tag_value(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "SnsProfileItem"), "Tag_Profile_Custom_Age");
  assert_true(json_is_integer(age));
  assert_int_equal(json_integer_value(age), 0);
  json_decref(r);
  /* once set it reads as set */
  EXPECT(0, V4("profile/portrait_set", "{\"From_Account\":\"pd_a\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_Custom_Age\",\"Value\":33}]}"));
  r = ok_code(V4("profile/portrait_get", "{\"To_Account\":[\"pd_a\"],\"TagList\":[\"Tag_Profile_Custom_Age\"]}"), 0);
  age = tag_value(json_object_get(json_array_get(json_object_get(r, "UserProfileItem"), 0), "ProfileItem"), "Tag_Profile_Custom_Age");
  assert_int_equal(json_integer_value(age), 33);
  json_decref(r);
}

/* ---- friend lists named twice ---------------------------------------------------------------------- */
static void test_list_named_twice_holds_friend_once(void **st)
{
  (void)st;
  const char *const u[] = { "gn_a", "gn_b", "gn_c", NULL };
  import_users(srv.port, app, key, u);
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"gn_a\",\"AddFriendItem\":["
                                    "{\"To_Account\":\"gn_b\",\"AddSource\":\"AddSource_Type_X\"},"
                                    "{\"To_Account\":\"gn_c\",\"AddSource\":\"AddSource_Type_X\",\"GroupName\":[\"work\",\"work\",\"home\"]}]}"));
  EXPECT(0, V4("sns/friend_update", "{\"From_Account\":\"gn_a\",\"UpdateItem\":[{\"To_Account\":\"gn_b\",\"SnsItem\":["
                                    "{\"Tag\":\"Tag_SNS_IM_Group\",\"Value\":[\"work\",\"work\"]}]}]}"));
  json_t *r = ok_code(V4("sns/friend_get_list", "{\"From_Account\":\"gn_a\",\"To_Account\":[\"gn_b\",\"gn_c\"],\"TagList\":[\"Tag_SNS_IM_Group\"]}"), 0);
  json_t *gb = tag_value(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "SnsProfileItem"), "Tag_SNS_IM_Group");
  json_t *gc = tag_value(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 1), "SnsProfileItem"), "Tag_SNS_IM_Group");
  assert_int_equal(json_array_size(gb), 1);
  assert_string_equal(json_string_value(json_array_get(gb, 0)), "work");
  assert_int_equal(json_array_size(gc), 2);
  assert_string_equal(json_string_value(json_array_get(gc, 0)), "work");
  assert_string_equal(json_string_value(json_array_get(gc, 1)), "home");
  json_decref(r);
  /* the list is left once by deleting it: the friends stay friends in no list */
  EXPECT(0, V4("sns/group_delete", "{\"From_Account\":\"gn_a\",\"GroupName\":[\"work\"]}"));
  r = ok_code(V4("sns/friend_get_list", "{\"From_Account\":\"gn_a\",\"To_Account\":[\"gn_b\"],\"TagList\":[\"Tag_SNS_IM_Group\"]}"), 0);
  assert_int_equal(json_array_size(tag_value(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "SnsProfileItem"),
                                             "Tag_SNS_IM_Group")), 0);
  json_decref(r);
}

/* ---- account_import's Nick and FaceUrl are profile changes ------------------------------------------ */
static void test_reimport_nick_is_a_profile_event(void **st)
{
  (void)st;
  const char *const u[] = { "ni_a", "ni_b", NULL };
  import_users(srv.port, app, key, u);
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"ni_b\",\"AddFriendItem\":[{\"To_Account\":\"ni_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ni_a", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "ni_b", "Web"), 0);
  json_decref(wsc_sync_live(&a));
  json_decref(wsc_sync_live(&b));
  EXPECT(0, V4("im_open_login_svc/account_import", "{\"UserID\":\"ni_a\",\"Nick\":\"Anna\",\"FaceUrl\":\"http://x/a.png\"}"));
  /* the user's devices and those of a user holding it as a friend learn it, as from portrait_set */
  json_t *pa = wsc_push(&a, "profile", 3000), *pb = wsc_push(&b, "profile", 3000);
  assert_non_null(pa);
  assert_non_null(pb);
  assert_string_equal(jstr(pb, "user"), "ni_a");
  json_t *items = json_object_get(pb, "items");
  assert_int_equal(json_array_size(items), 2);
  assert_string_equal(json_string_value(tag_value(items, "Tag_Profile_IM_Nick")), "Anna");
  assert_string_equal(json_string_value(tag_value(items, "Tag_Profile_IM_Image")), "http://x/a.png");
  assert_true(jint(pb, "useq") > 0); /* an inbox event: sync replays it */
  json_decref(pa);
  json_decref(pb);
  /* an import that changes nothing (a backend importing at every login) is no event; a new Nick alone is */
  EXPECT(0, V4("im_open_login_svc/account_import", "{\"UserID\":\"ni_a\",\"Nick\":\"Anna\"}"));
  EXPECT(0, V4("im_open_login_svc/account_import", "{\"UserID\":\"ni_a\",\"Nick\":\"Ann\",\"FaceUrl\":\"http://x/a.png\"}"));
  pb = wsc_push(&b, "profile", 3000);
  assert_non_null(pb);
  items = json_object_get(pb, "items");
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(json_string_value(tag_value(items, "Tag_Profile_IM_Nick")), "Ann");
  json_decref(pb);
  assert_null(wsc_push(&b, "profile", 300));
  wsc_close(&a);
  wsc_close(&b);
  /* a device that was away gets the two events by sync */
  wsc_t b2;
  assert_int_equal(wsc_login(&b2, srv.port, app, key, "ni_b", "PC"), 0);
  json_t *evs = wsc_sync_live(&b2);
  assert_non_null(evs);
  size_t i, n = 0;
  json_t *e;
  json_array_foreach(evs, i, e) n += jstr(e, "type") && !strcmp(jstr(e, "type"), "profile");
  assert_int_equal(n, 2);
  json_decref(evs);
  wsc_close(&b2);
}

/* ---- account_delete and the blocklists naming the account ------------------------------------------ */
static void test_deleted_account_leaving_blocklist_is_pushed(void **st)
{
  (void)st;
  const char *const u[] = { "bd_a", "bd_b", NULL };
  import_users(srv.port, app, key, u);
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"bd_a\",\"To_Account\":[\"bd_b\"]}"));
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "bd_a", "Web"), 0);
  json_decref(wsc_sync_live(&a));
  EXPECT(0, V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"bd_b\"}]}"));
  /* the entry left bd_a's blocklist: its devices learn it as of any blocklist change, with the new sequence */
  json_t *p = wsc_push(&a, "black_changed", 3000);
  assert_non_null(p);
  json_t *r = ok_code(V4("sns/black_list_get", "{\"From_Account\":\"bd_a\",\"StartIndex\":0,\"MaxLimited\":10}"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "BlackListItem")), 0);
  assert_int_equal(jint(p, "seq"), jint(r, "CurruentSequence"));
  json_decref(r);
  json_decref(p);
  wsc_close(&a);
}

/* ---- friend_import over an existing friend ----------------------------------------------------------- */
static void test_reimported_friend_is_updated_not_added(void **st)
{
  (void)st;
  const char *const u[] = { "fi_a", "fi_b", NULL };
  import_users(srv.port, app, key, u);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "fi_a", "Web"), 0);
  json_decref(wsc_sync_live(&a));
  const char *body = "{\"From_Account\":\"fi_a\",\"AddFriendItem\":[{\"To_Account\":\"fi_b\",\"AddSource\":\"AddSource_Type_X\",\"Remark\":\"%s\"}]}";
  EXPECT(0, V4("sns/friend_import", body, "one"));
  json_t *p = wsc_push(&a, "friend_added", 3000);
  assert_non_null(p);
  json_decref(p);
  /* the same friend imported again is overwritten: its list already holds it, so it was updated */
  EXPECT(0, V4("sns/friend_import", body, "two"));
  p = wsc_push(&a, "friend_updated", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "fi_b");
  json_decref(p);
  assert_null(wsc_push(&a, "friend_added", 300));
  wsc_close(&a);
}

/* ---- friend_import and pending requests ----------------------------------------------------------- */
/* The peers in user's pending list `which` ("incoming": from, "outgoing": to), joined by ",". */
static void pending_of(const char *user, const char *which, char *out, size_t cap)
{
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, user, "PC"), 0);
  json_t *r = wsc_rpc(&w, "pending", "%s", ""), *it;
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, which), i, it)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", jstr(it, which[0] == 'i' ? "from" : "to"));
  json_decref(r);
  wsc_close(&w);
}

static void test_import_settles_pending_request(void **st)
{
  (void)st;
  char got[256];
  const char *const u[] = { "ip_a", "ip_b", "ip_c", "ip_d", NULL };
  import_users(srv.port, app, key, u);
  /* a asked b; c asked a; d, which has a already, asked a to add it back (every AllowType NeedConfirm) */
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"ip_a\",\"AddFriendItem\":[{\"To_Account\":\"ip_b\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"ip_c\",\"AddFriendItem\":[{\"To_Account\":\"ip_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"ip_d\",\"AddFriendItem\":[{\"To_Account\":\"ip_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"ip_d\",\"AddFriendItem\":[{\"To_Account\":\"ip_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  pending_of("ip_a", "outgoing", got, sizeof got);
  assert_string_equal(got, "ip_b");
  pending_of("ip_a", "incoming", got, sizeof got);
  assert_string_equal(got, "ip_c,ip_d");
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ip_a", "Web"), 0);
  json_decref(wsc_sync_live(&a));
  EXPECT(0, V4("sns/friend_import", "{\"From_Account\":\"ip_a\",\"AddFriendItem\":[{\"To_Account\":\"ip_b\",\"AddSource\":\"AddSource_Type_X\"},"
                                    "{\"To_Account\":\"ip_c\",\"AddSource\":\"AddSource_Type_X\"},{\"To_Account\":\"ip_d\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  /* a's request to b asked for b in a's list: settled; d's is settled too (friends both ways now); c's
   * still asks for a in c's list, which the import did not give */
  pending_of("ip_a", "outgoing", got, sizeof got);
  assert_string_equal(got, "");
  pending_of("ip_a", "incoming", got, sizeof got);
  assert_string_equal(got, "ip_c");
  pending_of("ip_b", "incoming", got, sizeof got);
  assert_string_equal(got, "");
  pending_of("ip_d", "outgoing", got, sizeof got);
  assert_string_equal(got, "");
  pending_of("ip_c", "outgoing", got, sizeof got);
  assert_string_equal(got, "ip_a");
  /* a's devices learn each request that ended, as with friend_add */
  const char *const ends[][2] = { { "ip_a", "ip_b" }, { "ip_d", "ip_a" } };
  for (int i = 0; i < 2; i++) {
    json_t *p = wsc_push(&a, "friend_request_ended", 3000);
    assert_non_null(p);
    assert_string_equal(jstr(p, "from"), ends[i][0]);
    assert_string_equal(jstr(p, "to"), ends[i][1]);
    assert_string_equal(jstr(p, "reason"), "added");
    json_decref(p);
  }
  assert_null(wsc_push(&a, "friend_request_ended", 300));
  wsc_close(&a);
  /* b, offline meanwhile, reads it in its sync, once */
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "ip_b", "Web"), 0);
  json_t *evs = wsc_sync_live(&b), *e;
  assert_non_null(evs);
  size_t i;
  int ended = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "friend_request_ended")) continue;
    ended++;
    assert_string_equal(jstr(e, "from"), "ip_a");
    assert_string_equal(jstr(e, "reason"), "added");
  }
  assert_int_equal(ended, 1);
  json_decref(evs);
  wsc_close(&b);
  /* c's request can still be answered */
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ip_a", "Web"), 0);
  json_t *r = wsc_rpc(&a, "friend_response", "\"peer\":\"ip_c\",\"action\":\"agree\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
}

/* A one-way friend_add (Add_Type_Single, ForceAddFlags 1) from a to b gives a nothing b asked for:
 * b's pending request to a (a in b's list) stays; a's own request to b is settled. */
static void test_single_add_keeps_peer_request(void **st)
{
  (void)st;
  char got[256];
  const char *const u[] = { "sa_a", "sa_b", "sa_c", NULL };
  import_users(srv.port, app, key, u);
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"sa_b\",\"AddFriendItem\":[{\"To_Account\":\"sa_a\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"sa_a\",\"AddFriendItem\":[{\"To_Account\":\"sa_c\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  pending_of("sa_a", "incoming", got, sizeof got);
  assert_string_equal(got, "sa_b");
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"sa_a\",\"AddType\":\"Add_Type_Single\",\"ForceAddFlags\":1,"
                                 "\"AddFriendItem\":[{\"To_Account\":\"sa_b\",\"AddSource\":\"AddSource_Type_X\"},"
                                 "{\"To_Account\":\"sa_c\",\"AddSource\":\"AddSource_Type_X\"}]}"));
  pending_of("sa_a", "incoming", got, sizeof got);
  assert_string_equal(got, "sa_b");
  pending_of("sa_b", "outgoing", got, sizeof got);
  assert_string_equal(got, "sa_a");
  pending_of("sa_a", "outgoing", got, sizeof got);
  assert_string_equal(got, "");
  pending_of("sa_c", "incoming", got, sizeof got);
  assert_string_equal(got, "");
  /* b's request can still be answered, and then they are friends both ways */
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "sa_a", "Web"), 0);
  json_t *r = wsc_rpc(&a, "friend_response", "\"peer\":\"sa_b\",\"action\":\"agree\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
  pending_of("sa_a", "incoming", got, sizeof got);
  assert_string_equal(got, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_friend_sequences_follow_their_fields),
    cmocka_unit_test(test_unset_integer_custom_tag_reads_zero),
    cmocka_unit_test(test_list_named_twice_holds_friend_once),
    cmocka_unit_test(test_reimport_nick_is_a_profile_event),
    cmocka_unit_test(test_deleted_account_leaving_blocklist_is_pushed),
    cmocka_unit_test(test_reimported_friend_is_updated_not_added),
    cmocka_unit_test(test_import_settles_pending_request),
    cmocka_unit_test(test_single_add_keeps_peer_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
