/* End-to-end: the one-to-one REST commands as a backend written against the
 * commercial service's own pages calls them (compatibility review, issue 13;
 * docs/rest-api-messages.md, docs/decisions/messaging-c2c-checks.md §60):
 *  - admin_set_msg_read: the service's page types MsgReadTime String, so a
 *    backend written to it sends "1700000000"; it is read as that time
 *    (it was refused with 90006); a string that is not a decimal number is
 *    still 90006;
 *  - get_c2c_unread_msg_num: a Peer_Account that is no account of the app
 *    is in ErrorList with 70107, the code the service's page names (it was
 *    90012); Peer_Account holds at most 10 UserIDs, as that page says:
 *    11 are refused with 90011 (§63; all were counted before);
 *  - admin_msgwithdraw (To_Account) and admin_set_msg_read (Peer_Account):
 *    an account that does not exist is 90003, the code their pages give
 *    for "missing, or no such account" (they answered 90012, which the
 *    pages do not list);
 *  - sendmsg and batchsendmsg with OnlineOnlyFlag 1 (the service's
 *    batchsendmsg page: no unread, no history) deliver to live devices
 *    only, as MsgLifeTime 0 does; the flag was ignored and the message
 *    stored and counted unread.
 * And as the service's pages of three commands say (§72):
 *  - batchsendmsg: a target that is no account of the app is in ErrorList
 *    with 70107 (the page's "the account does not exist"; it was 90012),
 *    while a batch that reached nobody still answers 90012;
 *  - importmsg: MsgSeq is optional, a random number when absent (the
 *    import was refused with 90004);
 *  - get_c2c_unread_msg_num: a To_Account that is no account is 90003,
 *    the page's code (it was 90012).
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

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* user's unread count with peer */
static json_int_t unread(const char *user, const char *peer) { return v4_c2c_unread(srv.port, app, key, user, peer); }

/* admin_set_msg_read of rt_b with rt_a, MsgReadTime given as the JSON text mrt: the reply's ErrorCode */
static json_int_t set_read(const char *mrt)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_set_msg_read",
                 "{\"Report_Account\":\"rt_b\",\"Peer_Account\":\"rt_a\",\"MsgReadTime\":%s}", mrt);
  assert_non_null(r);
  json_int_t code = jint(r, "ErrorCode");
  if (code) assert_non_null(strstr(jstr(r, "ErrorInfo"), "MsgReadTime"));
  json_decref(r);
  return code;
}

/* ---- MsgReadTime as the page types it: a string of the timestamp ------------------------------ */
static void test_read_time_string(void **st)
{
  (void)st;
  static const char *const u[] = { "rt_a", "rt_b", NULL };
  users(u);
  for (int i = 0; i < 2; i++)
    v4_ok(v4(srv.port, app, key, "openim/sendmsg",
             "{\"From_Account\":\"rt_a\",\"To_Account\":\"rt_b\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("m") "}", i));
  assert_int_equal(unread("rt_b", "rt_a"), 2);
  /* a time before both messages reads none of them: the string is the time, not "now" */
  assert_int_equal(set_read("\"1000\""), 0);
  assert_int_equal(unread("rt_b", "rt_a"), 2);
  /* not decimal digits: 90006 as a negative number is, and nothing moves */
  assert_int_equal(set_read("\"-1\""), 90006);
  assert_int_equal(set_read("\"17x\""), 90006);
  assert_int_equal(set_read("\" 1\""), 90006);
  assert_int_equal(set_read("\"99999999999999999999\""), 90006);
  assert_int_equal(unread("rt_b", "rt_a"), 2);
  /* a time after both reads them */
  char mrt[32];
  snprintf(mrt, sizeof mrt, "\"%lld\"", (long long)time(NULL) + 5);
  assert_int_equal(set_read(mrt), 0);
  assert_int_equal(unread("rt_b", "rt_a"), 0);
  /* "" is "not given", as 0 and absence: now */
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"rt_a\",\"To_Account\":\"rt_b\",\"MsgRandom\":9,\"MsgBody\":" TEXT("m") "}"));
  assert_int_equal(unread("rt_b", "rt_a"), 1);
  assert_int_equal(set_read("\"\""), 0);
  assert_int_equal(unread("rt_b", "rt_a"), 0);
}

/* ---- get_c2c_unread_msg_num: a peer that is no account is 70107 -------------------------------- */
static void test_unread_unknown_peer_70107(void **st)
{
  (void)st;
  static const char *const u[] = { "up_a", "up_b", "up_gone", NULL };
  users(u);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"up_b\",\"To_Account\":\"up_a\",\"MsgRandom\":1,\"MsgBody\":" TEXT("m") "}"));
  v4_ok(v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"up_gone\"}]}"));
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num",
                 "{\"To_Account\":\"up_a\",\"Peer_Account\":[\"up_b\",\"up_never\",\"up_gone\",7]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *list = json_object_get(r, "C2CUnreadMsgNumList");
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(jstr(json_array_get(list, 0), "Peer_Account"), "up_b");
  assert_int_equal(jint(json_array_get(list, 0), "C2CUnreadMsgNum"), 1);
  json_t *errs = json_object_get(r, "ErrorList");
  if (json_array_size(errs) != 3) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  assert_string_equal(jstr(json_array_get(errs, 0), "Peer_Account"), "up_never");
  assert_int_equal(jint(json_array_get(errs, 0), "ErrorCode"), 70107);
  assert_string_equal(jstr(json_array_get(errs, 1), "Peer_Account"), "up_gone");
  assert_int_equal(jint(json_array_get(errs, 1), "ErrorCode"), 70107);
  assert_int_equal(jint(json_array_get(errs, 2), "ErrorCode"), 90003); /* not a UserID at all */
  json_decref(r);
}

/* ---- get_c2c_unread_msg_num: Peer_Account holds at most 10 UserIDs (the service's page) ------------- */
static void test_unread_peers_cap(void **st)
{
  (void)st;
  static const char *const u[] = { "pc_me", "pc_0", "pc_1", "pc_2", "pc_3", "pc_4", "pc_5",
                                   "pc_6", "pc_7", "pc_8", "pc_9", "pc_10", NULL };
  users(u);
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"pc_9\",\"To_Account\":\"pc_me\",\"MsgRandom\":1,\"MsgBody\":" TEXT("m") "}"));
  char peers[256] = "";
  for (int i = 0; i <= 10; i++) {
    snprintf(peers + strlen(peers), sizeof peers - strlen(peers), "%s\"pc_%d\"", i ? "," : "", i);
    if (i < 9) continue;
    json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"pc_me\",\"Peer_Account\":[%s]}",
                   peers);
    assert_non_null(r);
    if (i == 9) { /* 10: each counted */
      if (jint(r, "ErrorCode") || json_array_size(json_object_get(r, "C2CUnreadMsgNumList")) != 10)
        fail_msg("%s", json_dumps(r, JSON_COMPACT));
      assert_int_equal(jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 9), "C2CUnreadMsgNum"), 1);
    } else { /* 11: refused whole, 90011 as batchsendmsg's To_Account over its bound (it counted all 11) */
      if (jint(r, "ErrorCode") != 90011 || !strstr(jstr(r, "ErrorInfo"), "Peer_Account"))
        fail_msg("%s", json_dumps(r, JSON_COMPACT));
      assert_null(json_object_get(r, "C2CUnreadMsgNumList"));
    }
    json_decref(r);
  }
}

/* the ErrorCode of cmd with body */
static json_int_t code_of(const char *cmd, const char *body)
{
  json_t *r = v4(srv.port, app, key, cmd, "%s", body);
  assert_non_null(r);
  json_int_t code = jint(r, "ErrorCode");
  json_decref(r);
  return code;
}

/* ---- admin_msgwithdraw and admin_set_msg_read: a peer that is no account is 90003 ------------------ */
static void test_recall_read_unknown_peer_90003(void **st)
{
  (void)st;
  static const char *const u[] = { "wp_a", "wp_b", "wp_gone", NULL };
  users(u);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"wp_a\",\"To_Account\":\"wp_gone\",\"MsgRandom\":1,\"MsgBody\":" TEXT("m") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  char body[160];
  snprintf(body, sizeof body, "{\"From_Account\":\"wp_a\",\"To_Account\":\"wp_gone\",\"MsgKey\":\"%s\"}", jstr(r, "MsgKey"));
  json_decref(r);
  v4_ok(v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"wp_gone\"}]}"));
  /* the pages of both commands: 90003 = To_Account (Peer_Account) missing or no such account; they had 90012 */
  assert_int_equal(code_of("openim/admin_msgwithdraw", body), 90003);
  assert_int_equal(code_of("openim/admin_msgwithdraw",
                           "{\"From_Account\":\"wp_a\",\"To_Account\":\"wp_never\",\"MsgKey\":\"1_1_1\"}"), 90003);
  assert_int_equal(code_of("openim/admin_set_msg_read", "{\"Report_Account\":\"wp_a\",\"Peer_Account\":\"wp_never\"}"),
                   90003);
  assert_int_equal(code_of("openim/admin_set_msg_read", "{\"Report_Account\":\"wp_a\",\"Peer_Account\":\"wp_gone\"}"),
                   90003);
  /* the sender's side keeps 90008; sendmsg keeps 90012, its page's code for a recipient not imported */
  assert_int_equal(code_of("openim/admin_msgwithdraw",
                           "{\"From_Account\":\"wp_never\",\"To_Account\":\"wp_b\",\"MsgKey\":\"1_1_1\"}"), 90008);
  assert_int_equal(code_of("openim/sendmsg",
                           "{\"From_Account\":\"wp_a\",\"To_Account\":\"wp_never\",\"MsgRandom\":2,\"MsgBody\":" TEXT("m") "}"),
                   90012);
}

/* the messages of user's conversation with peer as user sees them */
static json_int_t roam_count(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20}", user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = jint(r, "MsgCnt");
  json_decref(r);
  return n;
}

/* ---- sendmsg / batchsendmsg OnlineOnlyFlag 1: online only, as MsgLifeTime 0 ---------------------- */
static void test_online_only_flag(void **st)
{
  (void)st;
  static const char *const u[] = { "oo_a", "oo_b", "oo_c", NULL };
  users(u);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "oo_b", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"oo_a\",\"To_Account\":\"oo_b\",\"MsgRandom\":1,\"OnlineOnlyFlag\":1,"
           "\"MsgLifeTime\":604800,\"MsgBody\":" TEXT("live") "}"));
  json_t *m = wsc_push(&b, "online_msg", 3000); /* the live device gets it, as online-only */
  if (!m) fail_msg("no push of the online-only message");
  json_decref(m);
  v4_ok(v4(srv.port, app, key, "openim/batchsendmsg",
           "{\"From_Account\":\"oo_a\",\"To_Account\":[\"oo_b\",\"oo_c\"],\"MsgRandom\":2,\"OnlineOnlyFlag\":1,"
           "\"MsgBody\":" TEXT("live2") "}"));
  /* stored nowhere and unread nowhere (both were stored, and counted, before) */
  assert_int_equal(roam_count("oo_b", "oo_a"), 0);
  assert_int_equal(roam_count("oo_c", "oo_a"), 0);
  assert_int_equal(roam_count("oo_a", "oo_b"), 0);
  assert_int_equal(unread("oo_c", "oo_a"), 0);
  /* 0 is a stored message as before; another value is refused */
  v4_ok(v4(srv.port, app, key, "openim/sendmsg",
           "{\"From_Account\":\"oo_a\",\"To_Account\":\"oo_c\",\"MsgRandom\":3,\"OnlineOnlyFlag\":0,\"MsgBody\":" TEXT("kept") "}"));
  assert_int_equal(roam_count("oo_c", "oo_a"), 1);
  assert_int_equal(code_of("openim/sendmsg", "{\"From_Account\":\"oo_a\",\"To_Account\":\"oo_c\",\"MsgRandom\":4,"
                                             "\"OnlineOnlyFlag\":2,\"MsgBody\":" TEXT("x") "}"), 90001);
  wsc_close(&b);
}

/* ---- batchsendmsg: a target that is no account is 70107 in ErrorList (§72) ---------------------------- */
static void test_batch_unknown_target_70107(void **st)
{
  (void)st;
  static const char *const u[] = { "bt_a", "bt_b", "bt_gone", NULL };
  users(u);
  v4_ok(v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"bt_gone\"}]}"));
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"bt_a\",\"To_Account\":[\"bt_never\",\"bt_b\",\"bt_gone\",7],\"MsgRandom\":1,"
                 "\"MsgBody\":" TEXT("m") "}");
  assert_non_null(r);
  json_t *errs = json_object_get(r, "ErrorList");
  if (jint(r, "ErrorCode") || json_array_size(errs) != 3) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  assert_string_equal(jstr(json_array_get(errs, 0), "To_Account"), "bt_never");
  assert_int_equal(jint(json_array_get(errs, 0), "ErrorCode"), 70107);
  assert_string_equal(jstr(json_array_get(errs, 1), "To_Account"), "bt_gone");
  assert_int_equal(jint(json_array_get(errs, 1), "ErrorCode"), 70107);
  assert_int_equal(jint(json_array_get(errs, 2), "ErrorCode"), 90003); /* not a UserID at all */
  json_decref(r);
  assert_int_equal(roam_count("bt_b", "bt_a"), 1);
  /* nobody reached: the top level keeps the page's 90012, the item says 70107 */
  r = v4(srv.port, app, key, "openim/batchsendmsg",
         "{\"From_Account\":\"bt_a\",\"To_Account\":[\"bt_never\"],\"MsgRandom\":2,\"MsgBody\":" TEXT("m") "}");
  assert_non_null(r);
  errs = json_object_get(r, "ErrorList");
  if (jint(r, "ErrorCode") != 90012 || json_array_size(errs) != 1 || jint(json_array_get(errs, 0), "ErrorCode") != 70107)
    fail_msg("%s", json_dumps(r, JSON_COMPACT));
  assert_null(json_object_get(r, "MsgKey"));
  json_decref(r);
}

/* ---- importmsg: MsgSeq is optional, random when absent (§72) -------------------------------------- */
static void test_import_without_msgseq(void **st)
{
  (void)st;
  static const char *const u[] = { "im_a", "im_b", NULL };
  users(u);
  long long t = (long long)time(NULL) - 60;
  for (int i = 0; i < 2; i++) /* the same MsgRandom and time twice: two MsgSeqs drawn, two messages */
    v4_ok(v4(srv.port, app, key, "openim/importmsg",
             "{\"SyncFromOldSystem\":5,\"From_Account\":\"im_a\",\"To_Account\":\"im_b\",\"MsgRandom\":7,"
             "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("old") "}", t));
  assert_int_equal(roam_count("im_b", "im_a"), 2);
  assert_int_equal(unread("im_b", "im_a"), 2);
  /* the MsgKey admin_getroammsg gives names the message: MsgSeq_MsgRandom_MsgTimeStamp, and a recall takes it */
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg", "{\"Operator_Account\":\"im_a\",\"Peer_Account\":\"im_b\"}");
  assert_non_null(r);
  json_t *m = json_array_get(json_object_get(r, "MsgList"), 0);
  assert_non_null(m);
  char want[64], body[160];
  snprintf(want, sizeof want, "%lld_7_%lld", (long long)jint(m, "MsgSeq"), t);
  assert_string_equal(jstr(m, "MsgKey"), want);
  snprintf(body, sizeof body, "{\"From_Account\":\"im_a\",\"To_Account\":\"im_b\",\"MsgKey\":\"%s\"}", want);
  json_decref(r);
  assert_int_equal(code_of("openim/admin_msgwithdraw", body), 0);
  /* a MsgSeq that is given is still checked */
  assert_int_equal(code_of("openim/importmsg", "{\"SyncFromOldSystem\":2,\"From_Account\":\"im_a\",\"To_Account\":\"im_b\","
                                               "\"MsgSeq\":-1,\"MsgRandom\":8,\"MsgTimeStamp\":1600000000,\"MsgBody\":" TEXT("x") "}"),
                   90004);
}

/* ---- get_c2c_unread_msg_num: a To_Account that is no account is 90003 (§72) ------------------------ */
static void test_unread_unknown_user_90003(void **st)
{
  (void)st;
  static const char *const u[] = { "uu_gone", NULL };
  users(u);
  v4_ok(v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"uu_gone\"}]}"));
  assert_int_equal(code_of("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"uu_never\"}"), 90003);
  assert_int_equal(code_of("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"uu_gone\",\"Peer_Account\":[\"x\"]}"), 90003);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_read_time_string),
    cmocka_unit_test(test_unread_unknown_peer_70107),
    cmocka_unit_test(test_unread_peers_cap),
    cmocka_unit_test(test_recall_read_unknown_peer_90003),
    cmocka_unit_test(test_online_only_flag),
    cmocka_unit_test(test_batch_unknown_target_70107),
    cmocka_unit_test(test_import_without_msgseq),
    cmocka_unit_test(test_unread_unknown_user_90003),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
