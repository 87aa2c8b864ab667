/* End-to-end: the one-to-one REST surface as older callers use it
 * (docs/decisions/messaging-c2c-checks4.md §99):
 *  - importmsg SyncFromOldSystem 1, the older pages' realtime import (DOBYTE's
 *    ImportMessage sends it): counted unread and pushed, as 5 (it was 90030);
 *    other values stay 90030 and store nothing;
 *  - the ErrorInfo of sendmsg, importmsg, recentcontact/get_list, delete and
 *    update_contact_group names the one field at fault, as the request spelt
 *    it (they named several fields, or "Type" for "type");
 *  - a TIMSoundElem without UUID, the older page's element (DOBYTE's
 *    MsgSoundContent), is sent and kept as given (it was 90002).
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

/* singapore: an international app, whose edition has conversation groups (update_contact_group) */
#define E2E_FIXTURE_REGION "singapore"
#include "e2e_fixture.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static long long now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec;
}

/* importmsg from → to with SyncFromOldSystem given as the JSON text mode */
static json_t *import(const char *mode, const char *from, const char *to, int rnd, const char *text)
{
  return v4(srv.port, app, key, "openim/importmsg",
            "{\"SyncFromOldSystem\":%s,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%d,\"MsgRandom\":%d,"
            "\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
            mode, from, to, rnd, rnd, now_s() - 60, text);
}

/* the number of messages of user's conversation with peer */
static json_int_t roam_count(const char *user, const char *peer)
{
  json_t *r = v4_code(v4(srv.port, app, key, "openim/admin_getroammsg",
                         "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20}", user, peer), 0);
  json_int_t n = jint(r, "MsgCnt");
  json_decref(r);
  return n;
}

/* ---- importmsg SyncFromOldSystem 1 ------------------------------------------------------------------ */
static void test_import_sync_1_is_realtime(void **st)
{
  (void)st;
  static const char *const u[] = { "x1_a", "x1_b", NULL };
  users(u);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "x1_b", "iPhone"), 0);
  json_decref(wsc_sync_live(&b)); /* live: later messages are pushed */
  v4_ok(import("1", "x1_a", "x1_b", 1, "realtime"));
  json_t *p = wsc_push(&b, "msg", 5000);
  if (!p) fail_msg("a SyncFromOldSystem 1 import is not pushed to the recipient (5 is)");
  assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"),
                      "realtime");
  json_decref(p);
  assert_int_equal(v4_c2c_unread(srv.port, app, key, "x1_b", "x1_a"), 1);
  /* 2 stays history: read, not counted */
  v4_ok(import("2", "x1_a", "x1_b", 2, "history"));
  assert_int_equal(v4_c2c_unread(srv.port, app, key, "x1_b", "x1_a"), 1);
  assert_int_equal(roam_count("x1_b", "x1_a"), 2);
  /* any other value, absent, or not an integer: 90030, nothing stored */
  static const char *const bad[] = { "0", "3", "4", "6", "-1", "\"1\"", "1.0", "null" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    v4_err_info(import(bad[i], "x1_a", "x1_b", 10 + (int)i, "no"), 90030, "SyncFromOldSystem must be 1, 2 or 5");
  v4_err_info(v4(srv.port, app, key, "openim/importmsg", "{\"From_Account\":\"x1_a\",\"To_Account\":\"x1_b\",\"MsgRandom\":3,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("no") "}", now_s() - 60), 90030, "SyncFromOldSystem");
  assert_int_equal(roam_count("x1_b", "x1_a"), 2);
  assert_int_equal(v4_c2c_unread(srv.port, app, key, "x1_b", "x1_a"), 1);
  wsc_close(&b);
}

/* ---- ErrorInfo names the field at fault ------------------------------------------------------------ */
static void test_error_info_names_the_field(void **st)
{
  (void)st;
  static const char *const u[] = { "x2_a", "x2_b", NULL };
  users(u);
  /* sendmsg: each 0-or-1 flag alone (the text named IsNeedReadReceipt and SupportMessageExtension together) */
  static const char *const flags[] = { "IsNeedReadReceipt", "SupportMessageExtension", "OnlineOnlyFlag" };
  for (size_t i = 0; i < 3; i++) {
    char want[64];
    snprintf(want, sizeof want, "%s must be 0 or 1", flags[i]);
    json_t *r = v4_code(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"x2_a\",\"To_Account\":\"x2_b\","
                           "\"MsgRandom\":1,\"%s\":2,\"MsgBody\":" TEXT("x") "}", flags[i]), 90001);
    assert_string_equal(jstr(r, "ErrorInfo"), want);
    json_decref(r);
  }
  /* SyncOtherMachine: 0 is taken as "not given", and the refusal says so */
  v4_err_info(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"x2_a\",\"To_Account\":\"x2_b\","
                 "\"MsgRandom\":1,\"SyncOtherMachine\":3,\"MsgBody\":" TEXT("x") "}"),
              90031, "SyncOtherMachine must be 1 or 2 (0: not given)");
  /* importmsg: an absent MsgRandom or MsgTimeStamp is said to be absent */
  v4_err_info(v4(srv.port, app, key, "openim/importmsg", "{\"SyncFromOldSystem\":2,\"From_Account\":\"x2_a\","
                 "\"To_Account\":\"x2_b\",\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("x") "}", now_s() - 60),
              90005, "MsgRandom is required");
  v4_err_info(v4(srv.port, app, key, "openim/importmsg", "{\"SyncFromOldSystem\":2,\"From_Account\":\"x2_a\","
                 "\"To_Account\":\"x2_b\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}"),
              90006, "MsgTimeStamp is required");
  assert_int_equal(roam_count("x2_a", "x2_b"), 0);
  /* recentcontact/get_list: the one cursor at fault */
  static const char *const cursors[] = { "TimeStamp", "StartIndex", "TopTimeStamp", "TopStartIndex", "AssistFlags" };
  for (size_t i = 0; i < 5; i++) {
    char want[64];
    snprintf(want, sizeof want, "%s must be a non-negative integer", cursors[i]);
    json_t *r = v4_code(v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"x2_a\",\"%s\":-1}", cursors[i]),
                        50002);
    assert_string_equal(jstr(r, "ErrorInfo"), want);
    json_decref(r);
  }
  /* recentcontact/delete: Type as the request spelt it */
  v4_err_info(v4(srv.port, app, key, "recentcontact/delete", "{\"From_Account\":\"x2_a\",\"type\":3,\"To_Account\":\"x2_b\"}"),
              50002, "type must be 1 (C2C) or 2 (group)");
  v4_err_info(v4(srv.port, app, key, "recentcontact/delete", "{\"From_Account\":\"x2_a\",\"Type\":3,\"To_Account\":\"x2_b\"}"),
              50002, "Type must be 1 (C2C) or 2 (group)");
  /* recentcontact/update_contact_group: UpdateType and OldGroupName apart */
  json_t *r = v4_code(v4(srv.port, app, key, "recentcontact/update_contact_group",
                         "{\"From_Account\":\"x2_a\",\"UpdateType\":3,\"UpdateGroup\":{\"OldGroupName\":\"g\"}}"), 50002);
  assert_string_equal(jstr(r, "ErrorInfo"), "UpdateType must be 1 (rename) or 2 (conversations)");
  json_decref(r);
  r = v4_code(v4(srv.port, app, key, "recentcontact/update_contact_group",
                 "{\"From_Account\":\"x2_a\",\"UpdateType\":1,\"UpdateGroup\":{\"NewGroupName\":\"g\"}}"), 50002);
  assert_string_equal(jstr(r, "ErrorInfo"), "UpdateGroup.OldGroupName must name the group");
  json_decref(r);
}

/* ---- TIMSoundElem without UUID ---------------------------------------------------------------------- */
#define SOUND_OLD "{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Url\":\"https://x/a.m4a\",\"Size\":100,\"Second\":3,\"Download_Flag\":2}}"

static void test_sound_without_uuid(void **st)
{
  (void)st;
  static const char *const u[] = { "x3_a", "x3_b", NULL };
  users(u);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"x3_a\",\"To_Account\":\"x3_b\",\"MsgRandom\":1,\"MsgBody\":[" SOUND_OLD "]}"));
  json_t *r = v4_code(v4(srv.port, app, key, "openim/admin_getroammsg", "{\"Operator_Account\":\"x3_b\",\"Peer_Account\":\"x3_a\"}"), 0);
  assert_json_is(json_object_get(json_array_get(json_object_get(r, "MsgList"), 0), "MsgBody"), "[" SOUND_OLD "]");
  json_decref(r);
  /* what the current page requires stays required: Url, Download_Flag 2; a UUID given is a string */
  v4_err_info(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"x3_a\",\"To_Account\":\"x3_b\",\"MsgRandom\":2,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Size\":1,\"Download_Flag\":2}}]}"),
              90002, "Url is required");
  v4_err_info(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"x3_a\",\"To_Account\":\"x3_b\",\"MsgRandom\":3,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Url\":\"u\",\"Second\":1}}]}"),
              90002, "Download_Flag is required");
  v4_err_info(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"x3_a\",\"To_Account\":\"x3_b\",\"MsgRandom\":4,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Url\":\"u\",\"UUID\":7,\"Download_Flag\":2}}]}"),
              90002, "UUID must be a string");
  assert_int_equal(roam_count("x3_b", "x3_a"), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_import_sync_1_is_realtime),
    cmocka_unit_test(test_error_info_names_the_field),
    cmocka_unit_test(test_sound_without_uuid),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
