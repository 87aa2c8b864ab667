/* End-to-end: one-to-one REST requests as backends written for the
 * commercial service send them (fourth review, issue 13; docs/rest-api-messages.md):
 *  - a client that serialises every member of its request struct sends
 *    "SyncOtherMachine":0 and "From_Account":"" for "not given": sendmsg
 *    and batchsendmsg take them as absent (the admin sends, the message is
 *    in the sender's roaming only); they were refused with 90031 / 90008;
 *  - OfflinePushInfo's AndroidInfo and ApnsInfo carry vendor members the
 *    reference digest does not list (OPPOCategory, VIVOCategory,
 *    HonorImportance, MeiZuNoticeMsgType, …, as in the service's own
 *    examples): a string or integer member is stored and delivered with
 *    the message; they were refused with 90043;
 *  - TIMImageElem and TIMVideoFileElem with only the fields the reference
 *    requires (none for an image; both download flags, 2, for a video)
 *    are stored; they were refused with 90002 for every field the
 *    reference lists but does not require;
 *  - admin_set_msg_read with "MsgReadTime":0 reads up to now, as without
 *    the field (the reference's default); it was refused with 90006.
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
#include "e2e_fixture.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* r must be an OK reply; consumed. */

/* The messages of user's conversation with peer as user sees them (newest
 * first; caller decrefs). */
static json_t *roam(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20,\"MinTime\":0,\"MaxTime\":0}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *l = json_incref(json_object_get(r, "MsgList"));
  json_decref(r);
  return l;
}

/* ---- "not given" as zero values --------------------------------------------------------- */
static void test_zero_values_mean_absent(void **st)
{
  (void)st;
  static const char *const u[] = { "administrator", "z_bob", "z_carol", NULL };
  users(u);
  /* each fails alone without the change: 90031, then 90008 */
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
               "{\"SyncOtherMachine\":0,\"To_Account\":\"z_bob\",\"MsgRandom\":1,"
               "\"MsgBody\":" TEXT("one") "}"));
  v4_ok(v4(srv.port, app, key, "openim/batchsendmsg",
               "{\"From_Account\":\"\",\"To_Account\":[\"z_bob\",\"z_carol\"],\"MsgRandom\":2,"
               "\"MsgBody\":" TEXT("two") "}"));
  /* sent by the admin, and in the admin's roaming as without the fields */
  json_t *l = roam("administrator", "z_bob");
  assert_int_equal(json_array_size(l), 2);
  for (size_t i = 0; i < 2; i++) assert_string_equal(jstr(json_array_get(l, i), "From_Account"), "administrator");
  json_decref(l);
  l = roam("z_carol", "administrator");
  assert_int_equal(json_array_size(l), 1);
  json_decref(l);
  /* other values keep their codes */
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"SyncOtherMachine\":3,\"To_Account\":\"z_bob\",\"MsgRandom\":3,\"MsgBody\":" TEXT("x") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90031);
  json_decref(r);
  r = v4(srv.port, app, key, "openim/sendmsg",
         "{\"From_Account\":\"z_nobody\",\"To_Account\":\"z_bob\",\"MsgRandom\":4,\"MsgBody\":" TEXT("x") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90008);
  json_decref(r);
}

/* ---- minimal media elements ------------------------------------------------------------- */
static json_int_t send_body(const char *body, int random)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"m_a\",\"To_Account\":\"m_b\",\"MsgRandom\":%d,\"MsgBody\":[%s]}", random, body);
  assert_non_null(r);
  json_int_t code = jint(r, "ErrorCode");
  json_decref(r);
  return code;
}

#define IMAGE(c) "{\"MsgType\":\"TIMImageElem\",\"MsgContent\":" c "}"
#define VIDEO(c) "{\"MsgType\":\"TIMVideoFileElem\",\"MsgContent\":" c "}"

static void test_minimal_media_elements(void **st)
{
  (void)st;
  static const char *const u[] = { "m_a", "m_b", NULL };
  users(u);
  /* what the reference accepts: each was 90002 before */
  assert_int_equal(send_body(IMAGE("{\"UUID\":\"img\",\"ImageInfoArray\":[{\"URL\":\"https://x/i.jpg\"}]}"), 1), 0);
  assert_int_equal(send_body(IMAGE("{}"), 2), 0);
  assert_int_equal(send_body(VIDEO("{\"VideoUrl\":\"https://x/v.mp4\",\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2}"),
                             3), 0);
  json_t *l = roam("m_b", "m_a");
  assert_int_equal(json_array_size(l), 3);
  json_t *el = json_array_get(json_object_get(json_array_get(l, 0), "MsgBody"), 0);
  assert_string_equal(jstr(el, "MsgType"), "TIMVideoFileElem");
  assert_string_equal(jstr(el, "MsgContent.VideoUrl"), "https://x/v.mp4");
  json_decref(l);
  /* still refused: a required flag missing or not 2, a present field of the wrong type or value */
  assert_int_equal(send_body(VIDEO("{\"VideoUrl\":\"v\",\"VideoDownloadFlag\":2}"), 4), 90002);
  assert_int_equal(send_body(VIDEO("{\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":1}"), 5), 90002);
  assert_int_equal(send_body(VIDEO("{\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2,\"VideoSecond\":\"3\"}"), 6), 90002);
  assert_int_equal(send_body(IMAGE("{\"ImageFormat\":\"1\"}"), 7), 90002);
  assert_int_equal(send_body(IMAGE("{\"ImageFormat\":5}"), 8), 90002);
  assert_int_equal(send_body(IMAGE("{\"ImageInfoArray\":[{\"Type\":4}]}"), 9), 90002);
  l = roam("m_b", "m_a");
  assert_int_equal(json_array_size(l), 3);
  json_decref(l);
}

/* user's unread count with peer */
static json_int_t unread(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(r);
  return n;
}

/* MsgReadTime 0 is "now", as absent; a negative one is still 90006 naming the field */
static void test_read_time_zero_is_now(void **st)
{
  (void)st;
  static const char *const u[] = { "r_a", "r_b", NULL };
  users(u);
  for (int i = 0; i < 3; i++)
    v4_ok(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"r_a\",\"To_Account\":\"r_b\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("m") "}", i));
  assert_int_equal(unread("r_b", "r_a"), 3);
  v4_ok(v4(srv.port, app, key, "openim/admin_set_msg_read",
               "{\"Report_Account\":\"r_b\",\"Peer_Account\":\"r_a\",\"MsgReadTime\":0}"));
  assert_int_equal(unread("r_b", "r_a"), 0);
  json_t *r = v4(srv.port, app, key, "openim/admin_set_msg_read",
                 "{\"Report_Account\":\"r_b\",\"Peer_Account\":\"r_a\",\"MsgReadTime\":-1}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90006);
  assert_non_null(strstr(jstr(r, "ErrorInfo"), "MsgReadTime"));
  json_decref(r);
}

/* ---- OfflinePushInfo vendor settings ------------------------------------------------------ */
/* the service's own example of an instant-message push (AndroidInfo and ApnsInfo members beyond the digest's) */
#define VENDOR_PUSH                                                                                                    \
  "{\"PushFlag\":0,\"Title\":\"t\",\"Desc\":\"d\",\"Ext\":\"{}\",\"AndroidInfo\":{\"Sound\":\"shake\","               \
  "\"VIVOCategory\":\"IM\",\"HuaWeiCategory\":\"IM\",\"HonorImportance\":\"NORMAL\",\"MeiZuNoticeMsgType\":1,"          \
  "\"XiaoMiChannelID\":\"x\",\"OPPOCategory\":\"IM\",\"OPPOPrivateMsgTemplateId\":\"tpl\"},"                          \
  "\"ApnsInfo\":{\"Sound\":\"apns.mp3\",\"BadgeMode\":1,\"Title\":\"a\",\"SubTitle\":\"s\",\"Image\":\"i\","           \
  "\"MutableContent\":1,\"InterruptionLevel\":\"active\"}}"

static void test_push_vendor_members(void **st)
{
  (void)st;
  static const char *const u[] = { "p_a", "p_b", NULL };
  users(u);
  wsc_t b, a;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "p_b", "Android"), 0);
  json_t *evs = wsc_sync_live(&b);
  assert_non_null(evs);
  json_decref(evs);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
               "{\"From_Account\":\"p_a\",\"To_Account\":\"p_b\",\"MsgRandom\":1,\"OfflinePushInfo\":" VENDOR_PUSH
               ",\"MsgBody\":" TEXT("rest") "}"));
  json_t *p = wsc_push(&b, "msg", 2000);
  assert_non_null(p);
  json_t *info = json_object_get(json_object_get(p, "msg"), "offline_push_info");
  assert_string_equal(jstr(info, "AndroidInfo.VIVOCategory"), "IM");
  assert_int_equal(jint(info, "AndroidInfo.MeiZuNoticeMsgType"), 1);
  assert_string_equal(jstr(info, "ApnsInfo.InterruptionLevel"), "active");
  json_decref(p);
  /* the same from a device (its fast path and the general one agree) */
  assert_int_equal(wsc_login(&a, srv.port, app, key, "p_a", "iPhone"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"p_b\",\"offline_push_info\":" VENDOR_PUSH ",\"body\":" TEXT("ws"));
  assert_non_null(r);
  if (json_object_get(r, "code") && jint(r, "code") != 0) fail_msg("ws send: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  /* a vendor member that is neither a string nor an integer is still refused */
  r = v4(srv.port, app, key, "openim/sendmsg",
         "{\"From_Account\":\"p_a\",\"To_Account\":\"p_b\",\"MsgRandom\":2,"
         "\"OfflinePushInfo\":{\"AndroidInfo\":{\"VIVOCategory\":{}}},\"MsgBody\":" TEXT("x") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90043);
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_zero_values_mean_absent),
    cmocka_unit_test(test_push_vendor_members),
    cmocka_unit_test(test_read_time_zero_is_now),
    cmocka_unit_test(test_minimal_media_elements),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
