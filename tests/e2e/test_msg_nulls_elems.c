/* End-to-end: a null member is "not given" in every optional field of every
 * message element type, on every message path (docs/rest-api.md "Null
 * fields", protocol.md "Frames", decisions §63, §70, §110). What a Go
 * backend without omitempty sends for an image it gave no info
 * ("ImageInfoArray": null, §104's note), or Jackson with its defaults for
 * every unset field, at every level:
 *  - REST sendmsg, batchsendmsg, importmsg, send_group_msg and
 *    import_group_msg with a body of every element type whose optional
 *    fields are all null (a relay's forwarded message's too) and the top
 *    level's optional fields null: each message is accepted and read back
 *    (admin_getroammsg, group_msg_get_simple) exactly as the same request
 *    without the null members is: same MsgBody, same CloudCustomData;
 *  - the WebSocket send and group_send with that body: the peer's push and
 *    the history carry the body without the nulls;
 *  - a required field of each element type given as null gets the answer of
 *    the field left out (code and reason), over REST and the WebSocket, and
 *    nothing is stored.
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

/* One element of every type, each optional field null (NULLS) and without
 * them (CLEAN). A face of nothing but nulls is {}: MsgContent is required,
 * kept as the object it is (§70), and a face requires nothing. */
#define E(type, content) "{\"MsgType\":\"" type "\",\"MsgContent\":" content "}"
#define NULLS                                                                                                  \
  "[" E("TIMTextElem", "{\"Text\":\"t\"}") ","                                                                 \
  E("TIMLocationElem", "{\"Desc\":null,\"Latitude\":1.5,\"Longitude\":2}") ","                                 \
  E("TIMFaceElem", "{\"Index\":null,\"Data\":null}") ","                                                       \
  E("TIMCustomElem", "{\"Data\":\"d\",\"Desc\":null,\"Ext\":null,\"Sound\":null}") ","                         \
  E("TIMSoundElem", "{\"Url\":\"u\",\"UUID\":null,\"Size\":null,\"Second\":null,\"Download_Flag\":2}") ","     \
  E("TIMImageElem", "{\"UUID\":null,\"ImageFormat\":null,\"ImageInfoArray\":null}") ","                        \
  E("TIMImageElem", "{\"UUID\":\"i\",\"ImageFormat\":null,\"ImageInfoArray\":[{\"Type\":null,\"Size\":null,"    \
                    "\"Width\":null,\"Height\":null,\"URL\":\"x\"},{\"Type\":1,\"URL\":null}]}") ","              \
  E("TIMFileElem", "{\"Url\":null,\"UUID\":null,\"FileSize\":null,\"FileName\":null,\"fileName\":null,"         \
                   "\"Download_Flag\":2}") ","                                                                 \
  E("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"VideoUUID\":null,\"VideoSize\":null,\"VideoSecond\":null,"      \
                        "\"VideoFormat\":null,\"VideoDownloadFlag\":2,\"ThumbUrl\":null,\"ThumbUUID\":null,"     \
                        "\"ThumbSize\":null,\"ThumbWidth\":null,\"ThumbHeight\":null,\"ThumbFormat\":null,"     \
                        "\"ThumbDownloadFlag\":2}") ","                                                        \
  E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"CompatibleText\":null,\"AbstractList\":null,"             \
                    "\"JsonMsgKey\":null,\"MsgList\":[{\"From_Account\":\"z\",\"To_Account\":null,"             \
                    "\"GroupId\":null,\"MsgSeq\":null,\"MsgRandom\":null,\"MsgTimeStamp\":5,"                   \
                    "\"CloudCustomData\":null,\"MsgBody\":[" E("TIMFaceElem", "{\"Index\":null,\"Data\":\"f\"}") \
                    "]}]}") "]"
#define CLEAN                                                                                                  \
  "[" E("TIMTextElem", "{\"Text\":\"t\"}") "," E("TIMLocationElem", "{\"Latitude\":1.5,\"Longitude\":2}") ","  \
  E("TIMFaceElem", "{}") "," E("TIMCustomElem", "{\"Data\":\"d\"}") ","                                        \
  E("TIMSoundElem", "{\"Url\":\"u\",\"Download_Flag\":2}") "," E("TIMImageElem", "{}") ","                     \
  E("TIMImageElem", "{\"UUID\":\"i\",\"ImageInfoArray\":[{\"URL\":\"x\"},{\"Type\":1}]}") ","                  \
  E("TIMFileElem", "{\"Download_Flag\":2}") ","                                                                \
  E("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2}") ","           \
  E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"z\",\"MsgTimeStamp\":5,"   \
                    "\"MsgBody\":[" E("TIMFaceElem", "{\"Data\":\"f\"}") "]}]}") "]"

/* the REST top level's optional message fields, null */
#define TOP_NULLS "\"CloudCustomData\":null,\"OfflinePushInfo\":null,\"SendMsgControl\":null,\"ForbidCallbackControl\":null"

/* a and b both absent, or equal (json_equal of two NULLs is 0) */
static int same(json_t *a, json_t *b) { return a == b || json_equal(a, b); }

/* The message random of user's history with peer: MsgBody must be CLEAN and
 * everything else as in the message sent without nulls (clean_random's). */
static void c2c_read_back(const char *user, const char *peer, json_int_t random, json_int_t clean_random)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":10}", user, peer);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_t *got = NULL, *want = NULL, *m;
  size_t i;
  json_array_foreach(json_object_get(r, "MsgList"), i, m) {
    if (jint(m, "MsgRandom") == random) got = m;
    if (jint(m, "MsgRandom") == clean_random) want = m;
  }
  if (!got || !want) fail_msg("%s with %s: %s", user, peer, json_dumps(r, JSON_COMPACT));
  assert_json_is(json_object_get(got, "MsgBody"), CLEAN);
  assert_true(same(json_object_get(got, "MsgBody"), json_object_get(want, "MsgBody")));
  assert_true(same(json_object_get(got, "CloudCustomData"), json_object_get(want, "CloudCustomData")));
  json_decref(r);
}

/* ---- REST one-to-one: sendmsg, batchsendmsg, importmsg ----------------------------------------------- */
static void test_rest_c2c(void **st)
{
  (void)st;
  static const char *const u[] = { "ne_a", "ne_b", "ne_c", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"ne_a\",\"To_Account\":\"ne_b\",\"MsgRandom\":1,\"MsgBody\":" CLEAN "}"));
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"ne_a\",\"To_Account\":\"ne_b\",\"MsgRandom\":2,\"MsgSeq\":null,\"MsgLifeTime\":null,"
           TOP_NULLS ",\"MsgBody\":" NULLS "}"));
  c2c_read_back("ne_b", "ne_a", 2, 1);
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"ne_a\",\"To_Account\":[\"ne_c\"],\"MsgRandom\":3," TOP_NULLS ",\"MsgBody\":" NULLS "}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || json_array_size(json_object_get(r, "ErrorList"))) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"ne_a\",\"To_Account\":\"ne_c\",\"MsgRandom\":4,\"MsgBody\":" CLEAN "}"));
  c2c_read_back("ne_c", "ne_a", 3, 4);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  v4_ok(v4(srv.port, app, key, "openim/importmsg",
           "{\"SyncFromOldSystem\":2,\"From_Account\":\"ne_c\",\"To_Account\":\"ne_b\",\"MsgSeq\":null,\"MsgRandom\":5,"
           "\"MsgTimeStamp\":%lld,\"CloudCustomData\":null,\"MsgBody\":" NULLS "}", (long long)now.tv_sec - 60));
  v4_ok(v4(srv.port, app, key, "openim/importmsg",
           "{\"SyncFromOldSystem\":2,\"From_Account\":\"ne_c\",\"To_Account\":\"ne_b\",\"MsgRandom\":6,"
           "\"MsgTimeStamp\":%lld,\"MsgBody\":" CLEAN "}", (long long)now.tv_sec - 50));
  c2c_read_back("ne_b", "ne_c", 5, 6);
}

/* the group message of gid with random, from group_msg_get_simple */
static json_t *group_msg(const char *gid, json_int_t random)
{
  json_t *r = v4(srv.port, app, key, G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", gid);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_t *m, *got = NULL;
  size_t i;
  json_array_foreach(json_object_get(r, "RspMsgList"), i, m) if (jint(m, "MsgRandom") == random) got = json_incref(m);
  if (!got) fail_msg("no message %lld in %s", (long long)random, json_dumps(r, JSON_COMPACT));
  json_decref(r);
  return got;
}

/* ---- REST groups: send_group_msg, import_group_msg ----------------------------------------------------- */
static void test_rest_group(void **st)
{
  (void)st;
  static const char *const u[] = { "ng_a", "ng_b", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(v4(srv.port, app, key, G("create_group"),
           "{\"Owner_Account\":\"ng_a\",\"Type\":\"Public\",\"GroupId\":\"ng\",\"Name\":\"g\","
           "\"MemberList\":[{\"Member_Account\":\"ng_b\"}]}"));
  /* imported first: an import's SendTime is not before the group's newest message */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  v4_ok(v4(srv.port, app, key, G("import_group_msg"),
           "{\"GroupId\":\"ng\",\"RecentContactFlag\":null,\"MsgList\":[{\"From_Account\":\"ng_b\",\"SendTime\":%lld,"
           "\"Random\":3,\"CloudCustomData\":null,\"MsgBody\":" NULLS "}]}", (long long)now.tv_sec));
  v4_ok(v4(srv.port, app, key, G("send_group_msg"),
           "{\"GroupId\":\"ng\",\"From_Account\":\"ng_a\",\"Random\":1,\"MsgBody\":" CLEAN "}"));
  v4_ok(v4(srv.port, app, key, G("send_group_msg"),
           "{\"GroupId\":\"ng\",\"From_Account\":\"ng_a\",\"Random\":2,\"MsgPriority\":null,\"OnlineOnlyFlag\":null,"
           "\"To_Account\":null,\"TopicId\":null," TOP_NULLS ",\"MsgBody\":" NULLS "}"));
  json_t *want = group_msg("ng", 1);
  for (json_int_t random = 2; random <= 3; random++) {
    json_t *got = group_msg("ng", random);
    assert_json_is(json_object_get(got, "MsgBody"), CLEAN);
    if (!same(json_object_get(got, "CloudCustomData"), json_object_get(want, "CloudCustomData")))
      fail_msg("message %lld: CloudCustomData %s, not %s as without the nulls", (long long)random,
               json_dumps(json_object_get(got, "CloudCustomData"), JSON_ENCODE_ANY),
               json_dumps(json_object_get(want, "CloudCustomData"), JSON_ENCODE_ANY));
    json_decref(got);
  }
  json_decref(want);
}

/* ---- the WebSocket: send and group_send ------------------------------------------------------------------ */
static void test_ws(void **st)
{
  (void)st;
  static const char *const u[] = { "nw_a", "nw_b", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(v4(srv.port, app, key, G("create_group"),
           "{\"Owner_Account\":\"nw_a\",\"Type\":\"Public\",\"GroupId\":\"nw\",\"Name\":\"g\","
           "\"MemberList\":[{\"Member_Account\":\"nw_b\"}]}"));
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "nw_a", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "nw_b", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"nw_b\",\"random\":1,\"msg_seq\":null,\"cloud_custom_data\":null,"
                                  "\"offline_push_info\":null,\"body\":" NULLS);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("send: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  json_t *p = wsc_push(&b, "msg", 15000);
  if (!p) fail_msg("no push of the message");
  json_t *m = json_object_get(p, "msg");
  assert_json_is(json_object_get(m, "body"), CLEAN);
  assert_null(json_object_get(m, "cloud_custom_data"));
  assert_null(json_object_get(m, "offline_push_info"));
  json_decref(p);
  r = wsc_rpc(&b, "history", "\"peer\":\"nw_a\"");
  assert_non_null(r);
  m = json_array_get(json_object_get(r, "msgs"), 0);
  if (jint(r, "code") || !m) fail_msg("history: %s", json_dumps(r, JSON_COMPACT));
  assert_json_is(json_object_get(m, "body"), CLEAN);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"nw\",\"random\":2,\"cloud_custom_data\":null,"
                                "\"offline_push_info\":null,\"body\":" NULLS);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("group_send: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  json_t *got = group_msg("nw", 2);
  assert_json_is(json_object_get(got, "MsgBody"), CLEAN);
  json_decref(got);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- a required field given as null: the answer of the field left out ------------------------------------- */
static void test_required_null(void **st)
{
  (void)st;
  static const char *const u[] = { "nr_a", "nr_b", NULL };
  import_users(srv.port, app, key, u);
  /* each element with a required field null, and the same element without it */
  static const struct { const char *with_null, *without; } rows[] = {
    { E("TIMTextElem", "{\"Text\":null}"), E("TIMTextElem", "{}") },
    { E("TIMLocationElem", "{\"Latitude\":null,\"Longitude\":2}"), E("TIMLocationElem", "{\"Longitude\":2}") },
    { E("TIMCustomElem", "{\"Data\":null,\"Desc\":\"x\"}"), E("TIMCustomElem", "{\"Desc\":\"x\"}") },
    { E("TIMSoundElem", "{\"Url\":null,\"Download_Flag\":2}"), E("TIMSoundElem", "{\"Download_Flag\":2}") },
    { E("TIMSoundElem", "{\"Url\":\"u\",\"Download_Flag\":null}"), E("TIMSoundElem", "{\"Url\":\"u\"}") },
    { E("TIMFileElem", "{\"Url\":\"u\",\"Download_Flag\":null}"), E("TIMFileElem", "{\"Url\":\"u\"}") },
    { E("TIMVideoFileElem", "{\"VideoDownloadFlag\":null,\"ThumbDownloadFlag\":2}"),
      E("TIMVideoFileElem", "{\"ThumbDownloadFlag\":2}") },
    { E("TIMRelayElem", "{\"Title\":null,\"MsgNum\":1,\"JsonMsgKey\":\"k\"}"), E("TIMRelayElem", "{\"MsgNum\":1,\"JsonMsgKey\":\"k\"}") },
    { E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":null,\"JsonMsgKey\":null}"),
      E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1}") },
    { E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":null,\"MsgTimeStamp\":1,\"MsgBody\":"
                        TEXT("x") "}]}"),
      E("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":[{\"MsgTimeStamp\":1,\"MsgBody\":" TEXT("x") "}]}") },
    { "{\"MsgType\":null,\"MsgContent\":{\"Text\":\"x\"}}", "{\"MsgContent\":{\"Text\":\"x\"}}" },
    { "{\"MsgType\":\"TIMTextElem\",\"MsgContent\":null}", "{\"MsgType\":\"TIMTextElem\"}" },
  };
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "nr_a", "Web"), 0);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    json_t *x = v4(srv.port, app, key, "openim/sendmsg",
                   "{\"From_Account\":\"nr_a\",\"To_Account\":\"nr_b\",\"MsgRandom\":1,\"MsgBody\":[%s]}", rows[i].with_null);
    json_t *y = v4(srv.port, app, key, "openim/sendmsg",
                   "{\"From_Account\":\"nr_a\",\"To_Account\":\"nr_b\",\"MsgRandom\":1,\"MsgBody\":[%s]}", rows[i].without);
    assert_non_null(x);
    assert_non_null(y);
    if (!jint(x, "ErrorCode") || !json_equal(x, y))
      fail_msg("row %zu, REST: null %s, absent %s", i, json_dumps(x, JSON_COMPACT), json_dumps(y, JSON_COMPACT));
    json_decref(x);
    json_decref(y);
    x = wsc_rpc(&a, "send", "\"to\":\"nr_b\",\"body\":[%s]", rows[i].with_null);
    y = wsc_rpc(&a, "send", "\"to\":\"nr_b\",\"body\":[%s]", rows[i].without);
    assert_non_null(x);
    assert_non_null(y);
    json_object_del(x, "id"); /* each its own */
    json_object_del(y, "id");
    if (!jint(x, "code") || !json_equal(x, y))
      fail_msg("row %zu, WebSocket: null %s, absent %s", i, json_dumps(x, JSON_COMPACT), json_dumps(y, JSON_COMPACT));
    json_decref(x);
    json_decref(y);
  }
  wsc_close(&a);
  /* nothing was stored */
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"nr_b\",\"Peer_Account\":\"nr_a\",\"MaxCnt\":10}");
  assert_non_null(r);
  if (jint(r, "ErrorCode") || jint(r, "MsgCnt")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_c2c),
    cmocka_unit_test(test_rest_group),
    cmocka_unit_test(test_ws),
    cmocka_unit_test(test_required_null),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
