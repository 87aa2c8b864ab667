/* End-to-end: more of the one-to-one REST surface as older and third-party
 * callers use it (docs/decisions/messaging-c2c-checks5.md §104):
 *  - a Go client's image (DOBYTE's MsgImageContent / ImageInfo: every field
 *    it left unset sent as 0, ImageFormat and Type too) is sent and kept as
 *    given (it was 90002); 0 in a required flag (Download_Flag) is refused
 *    as its absence is, and values really wrong (ImageFormat 7) stay 90002;
 *  - a TIMFaceElem without Index is sent and kept as given (it was 90002);
 *  - every 50002 of the conversation-group commands (create / update / del /
 *    get / search_contact_group, mark_contact) names the field at fault, as
 *    a path from the request's top, in ErrorInfo or the item's ResultInfo
 *    (they said "invalid conversation parameter"), and changes nothing.
 * Each test uses its own users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_check.h"

/* singapore: an international app, whose edition has conversation groups and marks */
#define E2E_FIXTURE_REGION "singapore"
#include "e2e_fixture.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static json_t *send_body(const char *from, const char *to, int rnd, const char *body)
{
  return v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":%s}",
            from, to, rnd, body);
}

/* user's conversation with peer (admin_getroammsg; the order within a second is not fixed) */
static json_t *roam(const char *user, const char *peer)
{
  json_t *r = v4_code(v4(srv.port, app, key, "openim/admin_getroammsg",
                         "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20}", user, peer), 0);
  json_t *l = json_incref(json_object_get(r, "MsgList"));
  json_decref(r);
  return l;
}

/* the MsgBody of the message of l sent with MsgRandom rnd (fails the test when there is none) */
static json_t *body_of(json_t *l, int rnd)
{
  size_t i;
  json_t *m;
  json_array_foreach(l, i, m) if (jint(m, "MsgRandom") == rnd) return json_object_get(m, "MsgBody");
  fail_msg("no message with MsgRandom %d", rnd);
  return NULL;
}

/* ---- a Go client's zeros ------------------------------------------------------------------------- */
#define GO_IMAGE "{\"MsgType\":\"TIMImageElem\",\"MsgContent\":{\"UUID\":\"img1\",\"ImageFormat\":0,\"ImageInfoArray\":[" \
                 "{\"Type\":0,\"Size\":0,\"Width\":0,\"Height\":0,\"URL\":\"https://x/o.jpg\"}," \
                 "{\"Type\":3,\"Size\":0,\"Width\":0,\"Height\":0,\"URL\":\"https://x/t.jpg\"}]}}"
/* DOBYTE's MsgVideoContent and MsgFileContent as a caller fills them: the flags 2, the rest 0 or "" */
#define GO_VIDEO "{\"MsgType\":\"TIMVideoFileElem\",\"MsgContent\":{\"VideoUrl\":\"v\",\"VideoSize\":0,\"VideoSecond\":0," \
                 "\"VideoFormat\":\"\",\"VideoDownloadFlag\":2,\"ThumbUrl\":\"\",\"ThumbSize\":0,\"ThumbWidth\":0," \
                 "\"ThumbHeight\":0,\"ThumbFormat\":\"\",\"ThumbDownloadFlag\":2}}"
#define GO_FILE "{\"MsgType\":\"TIMFileElem\",\"MsgContent\":{\"Url\":\"f\",\"FileSize\":0,\"FileName\":\"\",\"Download_Flag\":2}}"

static void test_go_zeros_kept(void **st)
{
  (void)st;
  static const char *const u[] = { "z1_a", "z1_b", NULL };
  users(u);
  v4_ok(send_body("z1_a", "z1_b", 1, "[" GO_IMAGE "]"));
  v4_ok(send_body("z1_a", "z1_b", 2, "[" GO_VIDEO "," GO_FILE "]"));
  json_t *l = roam("z1_b", "z1_a");
  assert_int_equal((int)json_array_size(l), 2);
  assert_json_is(body_of(l, 1), "[" GO_IMAGE "]");
  assert_json_is(body_of(l, 2), "[" GO_VIDEO "," GO_FILE "]");
  json_decref(l);
  /* what is really wrong stays refused, and stores nothing */
  v4_err_info(send_body("z1_a", "z1_b", 3, "[{\"MsgType\":\"TIMImageElem\",\"MsgContent\":{\"ImageFormat\":7}}]"), 90002,
              "ImageFormat=7 is not allowed");
  v4_err_info(send_body("z1_a", "z1_b", 4, "[{\"MsgType\":\"TIMImageElem\",\"MsgContent\":{\"ImageInfoArray\":[{\"Type\":\"1\"}]}}]"),
              90002, "ImageInfoArray[0]: Type must be an integer");
  v4_err_info(send_body("z1_a", "z1_b", 5, "[{\"MsgType\":\"TIMImageElem\",\"MsgContent\":{\"ImageInfoArray\":[{\"Type\":4}]}}]"),
              90002, "Type=4 is not allowed");
  /* a required flag's 0 is its absence (the receiver could not know the Url is to be fetched as it is) */
  v4_err_info(send_body("z1_a", "z1_b", 6, "[{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Url\":\"u\",\"Size\":0,\"Second\":0,"
                        "\"Download_Flag\":0}}]"), 90002, "Download_Flag is required (0: not given)");
  v4_err_info(send_body("z1_a", "z1_b", 7, "[{\"MsgType\":\"TIMVideoFileElem\",\"MsgContent\":{\"VideoDownloadFlag\":2,"
                        "\"ThumbDownloadFlag\":0}}]"), 90002, "ThumbDownloadFlag is required (0: not given)");
  l = roam("z1_b", "z1_a");
  assert_int_equal((int)json_array_size(l), 2);
  json_decref(l);
}

/* ---- TIMFaceElem without Index ------------------------------------------------------------------- */
#define FACE_NO_INDEX "{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Data\":\"[TUIEmoji_Smile]\"}}"

static void test_face_without_index(void **st)
{
  (void)st;
  static const char *const u[] = { "z2_a", "z2_b", NULL };
  users(u);
  v4_ok(send_body("z2_a", "z2_b", 1, "[" FACE_NO_INDEX "]"));
  json_t *l = roam("z2_b", "z2_a");
  assert_int_equal((int)json_array_size(l), 1);
  assert_json_is(body_of(l, 1), "[" FACE_NO_INDEX "]");
  json_decref(l);
  v4_err_info(send_body("z2_a", "z2_b", 2, "[{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Index\":\"1\"}}]"), 90002,
              "Index must be an integer");
  v4_err_info(send_body("z2_a", "z2_b", 3, "[{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Index\":-1}}]"), 90002,
              "Index must not be negative");
  l = roam("z2_b", "z2_a");
  assert_int_equal((int)json_array_size(l), 1);
  json_decref(l);
}

/* ---- conversation groups: each 50002 names its field --------------------------------------------- */
static json_t *cg(const char *cmd, const char *fmt_body)
{
  char path[64];
  snprintf(path, sizeof path, "recentcontact/%s", cmd);
  return v4(srv.port, app, key, path, "%s", fmt_body);
}

/* the ResultInfo of item i of the reply's list at field (a path of objects: "UpdateGroupResult.ContactResultItem") */
static void item_info(json_t *r, const char *list, size_t i, int code, const char *want)
{
  json_t *v = r;
  char part[64];
  for (const char *p = list; *p;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    snprintf(part, sizeof part, "%.*s", (int)n, p);
    v = json_object_get(v, part);
    p += n + (dot != NULL);
  }
  json_t *it = json_array_get(v, i);
  if (jint(it, "ResultCode") != code || strcmp(jstr(it, "ResultInfo"), want))
    fail_msg("%s[%zu]: %s, expected %d \"%s\"", list, i, json_dumps(it, JSON_COMPACT), code, want);
}

/* the user's groups and marks (get_contact_group) as compact text */
static char *state(void)
{
  json_t *r = v4_code(cg("get_contact_group", "{\"From_Account\":\"z3_me\",\"StartIndex\":0}"), 0);
  json_object_del(r, "ActionStatus");
  char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(r);
  return s;
}

static void test_contact_group_error_info(void **st)
{
  (void)st;
  static const char *const u[] = { "z3_me", "z3_p", NULL };
  users(u);
  v4_ok(cg("create_contact_group", "{\"From_Account\":\"z3_me\",\"GroupContactItem\":[{\"GroupName\":\"work\",\"ContactItem\":"
                                   "[{\"Type\":1,\"To_Account\":\"z3_p\"}]},{\"GroupName\":\"home\",\"ContactItem\":[]}]}"));
  v4_ok(cg("mark_contact", "{\"From_Account\":\"z3_me\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"},"
                           "\"SetMark\":[1]}]}"));
  char *before = state();

  /* create_contact_group: the whole request refused */
  v4_err_info(cg("create_contact_group", "{\"From_Account\":\"z3_me\",\"GroupContactItem\":[{\"GroupName\":\"new\",\"ContactItem\":[]},"
                                         "{\"GroupName\":\"work\",\"ContactItem\":[]}]}"),
              50002, "GroupContactItem[1].GroupName: a conversation group of that name exists");
  v4_err_info(cg("create_contact_group", "{\"From_Account\":\"z3_me\",\"GroupContactItem\":[{\"GroupName\":\"n1\",\"ContactItem\":[]},"
                                         "{\"GroupName\":\"n1\",\"ContactItem\":[]}]}"),
              50002, "GroupContactItem[1].GroupName: GroupContactItem[0] names that group too");
  /* a ContactItem that is not an array is a parameter fault (it was 51008, the per-group bound's code) */
  v4_err_info(cg("create_contact_group", "{\"From_Account\":\"z3_me\",\"GroupContactItem\":[{\"GroupName\":\"n2\",\"ContactItem\":{}}]}"),
              50002, "GroupContactItem[0].ContactItem must be an array of conversations");
  /* update_contact_group */
  v4_err_info(cg("update_contact_group", "{\"From_Account\":\"z3_me\",\"UpdateType\":1,\"UpdateGroup\":{\"OldGroupName\":\"nosuch\","
                                         "\"NewGroupName\":\"x\"}}"), 50002, "UpdateGroup.OldGroupName names no conversation group");
  v4_err_info(cg("update_contact_group", "{\"From_Account\":\"z3_me\",\"UpdateType\":1,\"UpdateGroup\":{\"OldGroupName\":\"work\","
                                         "\"NewGroupName\":\"home\"}}"), 50002, "UpdateGroup.NewGroupName: a conversation group of that name exists");
  v4_err_info(cg("update_contact_group", "{\"From_Account\":\"z3_me\",\"UpdateType\":2,\"UpdateGroup\":{\"OldGroupName\":\"work\","
                                         "\"ContactUpdateItem\":[]}}"), 50002, "UpdateGroup.ContactUpdateItem must be a non-empty array");
  /* get_contact_group */
  v4_err_info(cg("get_contact_group", "{\"From_Account\":\"z3_me\",\"StartIndex\":-1}"), 50002, "StartIndex must be a non-negative integer");
  char *now = state();
  assert_string_equal(now, before);
  free(now);

  /* per item: each refused item's ResultInfo; the request succeeds */
  json_t *r = v4_code(cg("update_contact_group", "{\"From_Account\":\"z3_me\",\"UpdateType\":2,\"UpdateGroup\":{\"OldGroupName\":\"home\","
                                                 "\"ContactUpdateItem\":[{\"ContactOpType\":3,\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"}},"
                                                 "{\"ContactOpType\":2,\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"}},"
                                                 "{\"ContactOpType\":1,\"ContactItem\":{\"Type\":1,\"To_Account\":\"\"}},"
                                                 "{\"ContactOpType\":1,\"ContactItem\":{\"Type\":3,\"To_Account\":\"z3_p\"}},"
                                                 "{\"ContactOpType\":1,\"ContactItem\":[]}]}}"), 0);
  item_info(r, "UpdateGroupResult.ContactResultItem", 0, 50002, "UpdateGroup.ContactUpdateItem[0].ContactOpType must be 1 (add) or 2 (remove)");
  item_info(r, "UpdateGroupResult.ContactResultItem", 1, 50002, "UpdateGroup.ContactUpdateItem[1].ContactItem is not in the group");
  item_info(r, "UpdateGroupResult.ContactResultItem", 2, 50002,
            "UpdateGroup.ContactUpdateItem[2].ContactItem.To_Account must be a string of 1-64 bytes");
  item_info(r, "UpdateGroupResult.ContactResultItem", 3, 50002, "UpdateGroup.ContactUpdateItem[3].ContactItem.Type must be 1 (C2C) or 2 (group)");
  item_info(r, "UpdateGroupResult.ContactResultItem", 4, 50002,
            "UpdateGroup.ContactUpdateItem[4].ContactItem must be an object {Type, To_Account | ToGroupId}");
  json_decref(r);
  r = v4_code(cg("del_contact_group", "{\"From_Account\":\"z3_me\",\"GroupName\":[5,\"nosuch\"]}"), 0);
  item_info(r, "ResultItem", 0, 50002, "GroupName[0] must be a string");
  item_info(r, "ResultItem", 1, 50002, "GroupName[1] names no conversation group");
  json_decref(r);
  r = v4_code(cg("search_contact_group", "{\"From_Account\":\"z3_me\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"z3_p\"},{\"Type\":2}]}"), 0);
  item_info(r, "ContactResultItem", 0, 0, "");
  item_info(r, "ContactResultItem", 1, 50002, "ContactItem[1].ToGroupId must be a string of 1-64 bytes");
  json_decref(r);
  r = v4_code(cg("mark_contact", "{\"From_Account\":\"z3_me\",\"MarkItem\":["
                                 "{\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"},\"SetMark\":[2,64]},"
                                 "{\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"},\"ClearMark\":\"1\"},"
                                 "{\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"}},"
                                 "{\"ContactItem\":{\"Type\":1,\"To_Account\":\"z3_p\"},\"CustomMark\":5},"
                                 "{\"SetMark\":[1]},"
                                 "{\"ContactItem\":{\"Type\":1,\"To_Account\":\"bad id\"},\"SetMark\":[1]}]}"), 0);
  item_info(r, "ResultItem", 0, 50002, "MarkItem[0].SetMark[1] must be a bit 0-63");
  item_info(r, "ResultItem", 1, 50002, "MarkItem[1].ClearMark must be an array of bits 0-63");
  item_info(r, "ResultItem", 2, 50002, "MarkItem[2] needs SetMark, ClearMark or CustomMark");
  item_info(r, "ResultItem", 3, 50002, "MarkItem[3].CustomMark must be a string of at most 500 bytes");
  item_info(r, "ResultItem", 4, 50002, "MarkItem[4].ContactItem must be an object {Type, To_Account | ToGroupId}");
  item_info(r, "ResultItem", 5, 50002, "MarkItem[5].ContactItem.To_Account is not a valid UserID");
  /* a refused item reports the marks stored */
  assert_json_is(json_object_get(json_array_get(json_object_get(r, "ResultItem"), 0), "MarkList"), "[1]");
  json_decref(r);
  now = state();
  assert_string_equal(now, before);
  free(now);
  free(before);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_go_zeros_kept),
    cmocka_unit_test(test_face_without_index),
    cmocka_unit_test(test_contact_group_error_info),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
