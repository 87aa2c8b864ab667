/* End-to-end: the one-to-one REST commands as backends built on the
 * service's older pages call them, and a history walk that reaches the
 * retention (docs/decisions/messaging-c2c-checks4.md §92):
 *  - admin_getroammsg under its older field names From_Account (the side
 *    whose view is read) and To_Account, as DOBYTE's FetchMessages and
 *    PullMessages send them (they were refused with 90008); the current
 *    names win when both are given;
 *  - admin_getroammsg's ErrorInfo names the field at fault (it named
 *    sendmsg's From_Account / To_Account / MsgTimeStamp / MsgKey);
 *  - admin_getroammsg continued with the LastMsgKey of a message that has
 *    passed the retention ends the walk (Complete 1, no message) whether
 *    or not the purge pass deleted it (after the purge it was 90054);
 *  - recentcontact/delete with "type" for "Type", as DOBYTE's
 *    deleteSessionReq sends it (it was 50002).
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-purge-interval-ms", "50", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static void send_text(const char *from, const char *to, int rnd, int sync_other)
{
  v4_ok(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
           "\"SyncOtherMachine\":%d,\"MsgBody\":" TEXT("m") "}", from, to, rnd, sync_other));
}

/* admin_getroammsg with body: the reply, which must carry ErrorCode 0 (the caller decrefs) */
static json_t *roam_ok(const char *body)
{
  json_t *r = v4_code(v4(srv.port, app, key, "openim/admin_getroammsg", "%s", body), 0);
  return r;
}

/* admin_getroammsg with body must answer code with an ErrorInfo naming field */
static void roam_err(const char *body, int code, const char *field)
{
  v4_err_info(v4(srv.port, app, key, "openim/admin_getroammsg", "%s", body), code, field);
}

/* ---- admin_getroammsg under the older page's names ------------------------------------------------- */
static void test_roam_legacy_names(void **st)
{
  (void)st;
  static const char *const u[] = { "lg_a", "lg_b", NULL };
  users(u);
  send_text("lg_a", "lg_b", 1, 2); /* SyncOtherMachine 2: in lg_b's view only */
  send_text("lg_b", "lg_a", 2, 0);
  json_t *r = roam_ok("{\"From_Account\":\"lg_b\",\"To_Account\":\"lg_a\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "MsgCnt"), 2);
  assert_int_equal(jint(r, "Complete"), 1);
  json_decref(r);
  r = roam_ok("{\"From_Account\":\"lg_a\",\"To_Account\":\"lg_b\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "MsgCnt"), 1); /* From_Account is the side whose view is read */
  json_decref(r);
  /* both spellings: the current names win */
  r = roam_ok("{\"Operator_Account\":\"lg_b\",\"Peer_Account\":\"lg_a\",\"From_Account\":\"lg_a\",\"To_Account\":\"nobody\","
              "\"MaxCnt\":10}");
  assert_int_equal(jint(r, "MsgCnt"), 2);
  json_decref(r);
  /* DOBYTE's PullMessages: pages of MaxCnt with MaxTime = LastMsgTime and LastMsgKey, until Complete */
  char last[64] = "", body[256];
  int pages = 0, msgs = 0;
  json_int_t max_t = 0;
  for (int done = 0; !done && pages < 5; pages++) {
    snprintf(body, sizeof body, "{\"From_Account\":\"lg_b\",\"To_Account\":\"lg_a\",\"MaxCnt\":1,\"MinTime\":0,"
             "\"MaxTime\":%lld%s%s%s}", (long long)max_t, last[0] ? ",\"LastMsgKey\":\"" : "", last, last[0] ? "\"" : "");
    r = roam_ok(body);
    msgs += (int)jint(r, "MsgCnt");
    done = (int)jint(r, "Complete");
    max_t = jint(r, "LastMsgTime");
    snprintf(last, sizeof last, "%s", jstr(r, "LastMsgKey"));
    json_decref(r);
  }
  assert_int_equal(msgs, 2);
  assert_int_equal(pages, 2);
}

/* ---- admin_getroammsg's ErrorInfo names the field at fault ----------------------------------------- */
static void test_roam_error_names(void **st)
{
  (void)st;
  static const char *const u[] = { "en_a", "en_b", NULL };
  users(u);
  roam_err("{\"Operator_Account\":\"en_nobody\",\"Peer_Account\":\"en_b\"}", 90008, "Operator_Account");
  roam_err("{\"Operator_Account\":\"en_a\"}", 90003, "Peer_Account");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_nobody\"}", 90012, "Peer_Account");
  roam_err("{\"From_Account\":\"en_a\",\"To_Account\":5}", 90003, "To_Account"); /* the older names, named as given */
  roam_err("{\"From_Account\":\"en_a\"}", 90003, "Peer_Account"); /* neither: the current name */
  roam_err("{\"Peer_Account\":\"en_b\"}", 90008, "Operator_Account");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_b\",\"MaxCnt\":0}", 90001, "MaxCnt");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_b\",\"MinTime\":-1}", 90006, "MinTime");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_b\",\"MaxTime\":\"5\"}", 90006, "MaxTime");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_b\",\"LastMsgKey\":5}", 90054, "LastMsgKey");
  roam_err("{\"Operator_Account\":\"en_a\",\"Peer_Account\":\"en_b\",\"LastMsgKey\":\"1_2_4000000000\"}", 90054, "LastMsgKey");
}

/* ---- a cursor past the retention ends the walk, before and after the purge ------------------------- */
static void test_roam_expired_cursor(void **st)
{
  (void)st;
  static const char *const u[] = { "ex_a", "ex_b", NULL };
  users(u);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long old = (long long)ts.tv_sec - 9 * 86400, older = old - 3600; /* past the trial's 7 days */
  char body[256];
  v4_ok(v4(srv.port, app, key, "openim/importmsg", "{\"SyncFromOldSystem\":2,\"From_Account\":\"ex_a\",\"To_Account\":\"ex_b\","
           "\"MsgSeq\":1,\"MsgRandom\":1,\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("older") "}", older));
  v4_ok(v4(srv.port, app, key, "openim/importmsg", "{\"SyncFromOldSystem\":2,\"From_Account\":\"ex_a\",\"To_Account\":\"ex_b\","
           "\"MsgSeq\":2,\"MsgRandom\":2,\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("old") "}", old));
  send_text("ex_a", "ex_b", 3, 0); /* the newest: the conversation's last, never purged */
  snprintf(body, sizeof body, "{\"Operator_Account\":\"ex_b\",\"Peer_Account\":\"ex_a\",\"MaxCnt\":10,\"MaxTime\":%lld,"
           "\"LastMsgKey\":\"2_2_%lld\"}", old, old);
  json_t *r = roam_ok(body); /* stored, past the retention: nothing below it */
  assert_int_equal(jint(r, "Complete"), 1);
  assert_int_equal(jint(r, "MsgCnt"), 0);
  json_decref(r);
  assert_int_equal(e2e_wait_job_runs(&srv, "retention_purge", 2), 0); /* the purge deletes both old messages */
  r = roam_ok(body); /* the same answer once the purge deleted it (it was 90054) */
  assert_int_equal(jint(r, "Complete"), 1);
  assert_int_equal(jint(r, "MsgCnt"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 0);
  json_decref(r);
  /* a key within the retention that names no message is still 90054 */
  snprintf(body, sizeof body, "{\"Operator_Account\":\"ex_b\",\"Peer_Account\":\"ex_a\",\"LastMsgKey\":\"9_9_%lld\"}",
           (long long)ts.tv_sec);
  roam_err(body, 90054, "LastMsgKey");
}

/* ---- recentcontact/delete with "type" ---------------------------------------------------------------- */
static int listed(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"%s\",\"AssistFlags\":0}", user);
  assert_non_null(r);
  json_t *items = json_object_get(r, "SessionItem"), *it;
  size_t i;
  int found = 0;
  json_array_foreach(items, i, it) found |= !strcmp(jstr(it, "To_Account") ? jstr(it, "To_Account") : "", peer);
  json_decref(r);
  return found;
}

static void test_delete_lowercase_type(void **st)
{
  (void)st;
  static const char *const u[] = { "dt_a", "dt_b", "dt_c", NULL };
  users(u);
  send_text("dt_a", "dt_b", 1, 0);
  send_text("dt_c", "dt_b", 2, 0);
  assert_true(listed("dt_b", "dt_a"));
  v4_ok(v4(srv.port, app, key, "recentcontact/delete",
           "{\"From_Account\":\"dt_b\",\"type\":1,\"To_Account\":\"dt_a\",\"ClearRamble\":1}"));
  assert_false(listed("dt_b", "dt_a"));
  json_t *r = roam_ok("{\"Operator_Account\":\"dt_b\",\"Peer_Account\":\"dt_a\"}"); /* ClearRamble 1 acted */
  assert_int_equal(jint(r, "MsgCnt"), 0);
  json_decref(r);
  /* both spellings: "Type" wins (a C2C delete, though "type" says group) */
  v4_ok(v4(srv.port, app, key, "recentcontact/delete", "{\"From_Account\":\"dt_b\",\"Type\":1,\"type\":2,\"To_Account\":\"dt_c\"}"));
  assert_false(listed("dt_b", "dt_c"));
  json_decref(v4_code(v4(srv.port, app, key, "recentcontact/delete", "{\"From_Account\":\"dt_b\",\"type\":3,\"To_Account\":\"dt_a\"}"),
                      50002));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_roam_legacy_names),
    cmocka_unit_test(test_roam_error_names),
    cmocka_unit_test(test_roam_expired_cursor),
    cmocka_unit_test(test_delete_lowercase_type),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
