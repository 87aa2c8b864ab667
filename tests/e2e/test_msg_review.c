/* End-to-end: one-to-one messaging corner cases against the real server on
 * the wall clock (docs/protocol.md, docs/rest-api-messages.md):
 *  - a conversation pinned and deleted before it had any message comes
 *    into the list with its first message (WebSocket and REST lists);
 *  - recentcontact/delete with ClearRamble hides every earlier message from
 *    the user's roaming, NoLastMsg ones included, also when the
 *    conversation only ever held NoLastMsg messages; the peer keeps them;
 *    a device syncing from an old cursor gets none of them either;
 *  - a first NoLastMsg message is unread but does not list the conversation;
 *    so is one in a conversation the user deleted;
 *  - importmsg SyncFromOldSystem 2 reads the imported message only;
 *  - sendmsg SyncOtherMachine 2 stores the message for the recipient only
 *    (not in the sender's roaming, list or devices), 1 and absent for both;
 *  - a MsgKey shared by two messages of a conversation (one per sender):
 *    admin_msgwithdraw and modify_c2c_msg act on the named sender's one,
 *    and paging by LastMsgKey walks both (no page ends between them);
 *  - modify_c2c_msg changes MsgBody and CloudCustomData independently;
 *  - an online-only message to oneself reaches the user's other live
 *    devices, not the sending one;
 *  - admin_set_msg_read's errors name its fields; batchsendmsg echoes a
 *    target that is not a string as given;
 *  - recentcontact/get_list lists a conversation pinned before any message
 *    only with AssistFlags bit 1.
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
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_fixture.h"

static void login_live(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != code)
    fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* REST sendmsg from → to with MsgRandom rnd, extra fields (",…" or "") and
 * text; must succeed. Copies MsgKey into mk (if given); returns MsgTime. */
static int64_t send_rest(const char *from, const char *to, int rnd, const char *extra, const char *text, char *mk,
                         size_t cap)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d%s,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                 from, to, rnd, extra, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg %s→%s: %s", from, to, json_dumps(r, JSON_COMPACT));
  if (mk) snprintf(mk, cap, "%s", jstr(r, "MsgKey"));
  int64_t t = jint(r, "MsgTime");
  json_decref(r);
  return t;
}

/* admin_getroammsg of op with peer, newest first, up to 100 (caller decrefs). */
static json_t *roam(const char *op, const char *peer)
{
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":%lld}", op,
                 peer, (long long)time(NULL) + 10);
  assert_non_null(h);
  if (jint(h, "ErrorCode") != 0) fail_msg("roam %s/%s: %s", op, peer, json_dumps(h, JSON_COMPACT));
  assert_int_equal(jint(h, "MsgCnt"), json_array_size(json_object_get(h, "MsgList")));
  return h;
}

/* The texts of op's roaming with peer, newest first, joined by ",". */
static void roam_texts(const char *op, const char *peer, char *out, size_t cap)
{
  json_t *h = roam(op, peer);
  msg_texts(json_object_get(h, "MsgList"), "MsgBody", out, cap);
  json_decref(h);
}

static json_int_t roam_count(const char *op, const char *peer)
{
  json_t *h = roam(op, peer);
  json_int_t n = jint(h, "MsgCnt");
  json_decref(h);
  return n;
}

/* The message of a roaming page sent by from with MsgKey mk (borrowed). */
static json_t *roam_find(json_t *h, const char *from, const char *mk)
{
  json_t *m;
  size_t i;
  json_array_foreach(json_object_get(h, "MsgList"), i, m)
    if (!strcmp(jstr(m, "From_Account"), from) && !strcmp(jstr(m, "MsgKey"), mk)) return m;
  return NULL;
}

static const char *body_text(json_t *m)
{
  return jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text");
}

/* 1 if recentcontact/get_list of user lists peer (all pages); the item's
 * MsgTime into *msg_time when given. */
static int listed(const char *user, const char *peer, int64_t *msg_time)
{
  long long ts = 0, idx = 0, tts = 0, tidx = 0;
  int found = 0;
  for (int page = 0; page < 100; page++) {
    json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                   "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                   "\"TopStartIndex\":%lld,\"AssistFlags\":1}", user, ts, idx, tts, tidx);
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
      if (strcmp(jstr(it, "To_Account"), peer)) continue;
      found = 1;
      if (msg_time) *msg_time = jint(it, "MsgTime");
    }
    ts = jint(r, "TimeStamp");
    idx = jint(r, "StartIndex");
    tts = jint(r, "TopTimeStamp");
    tidx = jint(r, "TopStartIndex");
    int done = (int)jint(r, "CompleteFlag");
    json_decref(r);
    if (done) return found;
  }
  fail_msg("recentcontact/get_list of %s never completes", user);
  return found;
}

/* ---- 1. pin + conv_delete before any message, then the first message ---------------- */
static void test_pin_delete_then_first_message(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "n_peer", NULL });
  wsc_t a;
  login_live(&a, "n_a", "Web");
  expect_code(wsc_rpc(&a, "pin", "\"peer\":\"n_peer\",\"pinned\":true"), 0);
  expect_code(wsc_rpc(&a, "conv_delete", "\"peer\":\"n_peer\""), 0);
  int64_t t = send_rest("n_peer", "n_a", 1, "", "first", NULL, 0);
  json_t *c = wsc_rpc(&a, "conversations", "%s", "");
  assert_non_null(c);
  assert_int_equal(jint(c, "code"), 0);
  json_t *convs = json_object_get(c, "conversations"), *cv, *hit = NULL;
  size_t i;
  json_array_foreach(convs, i, cv) if (!strcmp(jstr(cv, "peer"), "n_peer")) hit = cv;
  if (!hit) fail_msg("n_peer not in n_a's conversations: %s", json_dumps(c, JSON_COMPACT));
  assert_int_equal(json_array_size(convs), 1);
  assert_int_equal(jint(hit, "last_seq"), 1);    /* that message is the last */
  assert_int_equal(jint(hit, "last_time"), t);
  assert_int_equal(jint(hit, "unread"), 1);
  assert_false(json_is_true(json_object_get(hit, "pinned"))); /* conv_delete unpinned it */
  json_decref(c);
  int64_t mt = -1;
  assert_true(listed("n_a", "n_peer", &mt));
  assert_int_equal(mt, t);
  wsc_close(&a);
}

/* ---- 2. ClearRamble hides every earlier message, NoLastMsg ones included ------------- */
static void test_clear_hides_nolastmsg(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "s0", "s1", NULL });
  send_rest("s1", "s0", 1, "", "a", NULL, 0);
  send_rest("s0", "s1", 2, "", "b", NULL, 0);
  send_rest("s1", "s0", 3, ",\"SendMsgControl\":[\"NoLastMsg\"]", "quiet", NULL, 0);
  assert_int_equal(roam_count("s0", "s1"), 3);
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"s0\",\"Type\":1,\"To_Account\":\"s1\",\"ClearRamble\":1}"), 0);
  char texts[256];
  roam_texts("s0", "s1", texts, sizeof texts);
  if (texts[0]) fail_msg("s0's roaming after ClearRamble still holds: %s", texts);
  assert_int_equal(roam_count("s0", "s1"), 0);
  assert_int_equal(roam_count("s1", "s0"), 3);   /* the peer keeps its history */
  send_rest("s1", "s0", 4, "", "after", NULL, 0);
  roam_texts("s0", "s1", texts, sizeof texts);
  assert_string_equal(texts, "after");
  assert_int_equal(roam_count("s0", "s1"), 1);
}

/* A device that syncs from an old cursor after a ClearRamble gets none of
 * the cleared messages (nor their recall or modify events): only what came
 * after, and the conv_delete event. */
static void test_clear_hides_from_sync(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "cs0", "cs1", NULL });
  char mk[64];
  send_rest("cs1", "cs0", 1, "", "gone1", mk, sizeof mk);
  send_rest("cs1", "cs0", 2, "", "gone2", NULL, 0);
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"cs1\",\"To_Account\":\"cs0\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("gone1b") "}", mk), 0);
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"cs0\",\"Type\":1,\"To_Account\":\"cs1\",\"ClearRamble\":1}"), 0);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"cs1\",\"To_Account\":\"cs0\",\"MsgKey\":\"%s\"}", mk), 0);
  send_rest("cs1", "cs0", 3, "", "kept", NULL, 0);
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, "cs0", "Web"), 0);
  json_t *evs = wsc_sync_live(&d);
  assert_non_null(evs);
  size_t i;
  json_t *e;
  int msgs = 0, deleted = 0;
  json_array_foreach(evs, i, e) {
    const char *type = jstr(e, "type");
    if (!strcmp(type, "msg") || !strcmp(type, "modify") || !strcmp(type, "recall")) {
      if (strcmp(type, "msg") || strcmp(jstr(json_array_get(json_object_get(json_object_get(e, "msg"), "body"), 0),
                                              "MsgContent.Text"), "kept"))
        fail_msg("a new device's sync holds a cleared message's event: %s", json_dumps(evs, JSON_COMPACT));
      msgs++;
    }
    deleted += !strcmp(type, "conv_delete");
  }
  assert_int_equal(msgs, 1);
  assert_int_equal(deleted, 1);
  json_decref(evs);
  wsc_close(&d);
  send_rest("cs0", "cs1", 4, "", "reply", NULL, 0); /* the peer keeps everything */
  char texts[256];
  roam_texts("cs1", "cs0", texts, sizeof texts);
  assert_string_equal(texts, "reply,kept,gone2,gone1b");
}

/* ---- 3. ClearRamble on a conversation of NoLastMsg messages only ------------------- */
static void test_clear_nolastmsg_only(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "t0", "t1", NULL });
  send_rest("t1", "t0", 1, ",\"SendMsgControl\":[\"NoLastMsg\"]", "q1", NULL, 0);
  send_rest("t1", "t0", 2, ",\"SendMsgControl\":[\"NoLastMsg\"]", "q2", NULL, 0);
  char texts[256];
  roam_texts("t0", "t1", texts, sizeof texts);
  assert_string_equal(texts, "q2,q1");
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"t0\",\"Type\":1,\"To_Account\":\"t1\",\"ClearRamble\":1}"), 0);
  roam_texts("t0", "t1", texts, sizeof texts);
  if (texts[0]) fail_msg("t0's roaming after ClearRamble still holds: %s", texts);
  roam_texts("t1", "t0", texts, sizeof texts);
  assert_string_equal(texts, "q2,q1");           /* the sender keeps both */
}

/* ---- 4. a first NoLastMsg message: unread, not listed ------------------------------ */
static void test_first_nolastmsg_unread(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "r0", "r9", NULL });
  send_rest("r9", "r0", 1, ",\"SendMsgControl\":[\"NoLastMsg\"]", "hush", NULL, 0);
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"r0\",\"Peer_Account\":[\"r9\"]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *e = json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0);
  assert_string_equal(jstr(e, "Peer_Account"), "r9");
  if (jint(e, "C2CUnreadMsgNum") != 1) fail_msg("unread of r0 from r9: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"r0\"}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  if (jint(r, "AllC2CUnreadMsgNum") != 1) fail_msg("all unread of r0: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  assert_false(listed("r0", "r9", NULL));        /* NoLastMsg does not bring it into the list */
}

/* The unread count of user from peer: the peer's own entry and the total. */
static void expect_unread(const char *user, const char *peer, int n, int all)
{
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  if (jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum") != n)
    fail_msg("unread of %s from %s, want %d: %s", user, peer, n, json_dumps(r, JSON_COMPACT));
  json_decref(r);
  r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\"}", user);
  assert_non_null(r);
  if (jint(r, "AllC2CUnreadMsgNum") != all) fail_msg("all unread of %s, want %d: %s", user, all, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* A NoLastMsg message in a conversation the user deleted is unread at
 * once (it does not list the conversation again); what was there before
 * the delete is not counted, also when a listed message shows the
 * conversation again (it came back with every message unread at the
 * delete counted again). */
static void test_nolastmsg_after_delete(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "nd_a", "nd_b", NULL });
  send_rest("nd_a", "nd_b", 1, "", "one", NULL, 0);
  send_rest("nd_a", "nd_b", 2, "", "two", NULL, 0);
  expect_code(v4(srv.port, app, key, "openim/admin_set_msg_read",
                 "{\"Report_Account\":\"nd_b\",\"Peer_Account\":\"nd_a\",\"MsgReadTime\":%lld}", (long long)time(NULL) + 5), 0);
  send_rest("nd_a", "nd_b", 3, "", "three", NULL, 0); /* unread when deleted */
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"nd_b\",\"Type\":1,\"To_Account\":\"nd_a\",\"ClearRamble\":0}"), 0);
  expect_unread("nd_b", "nd_a", 0, 0);
  send_rest("nd_a", "nd_b", 4, ",\"SendMsgControl\":[\"NoLastMsg\"]", "quiet", NULL, 0);
  expect_unread("nd_b", "nd_a", 1, 1);
  assert_false(listed("nd_b", "nd_a", NULL));
  send_rest("nd_a", "nd_b", 5, "", "five", NULL, 0); /* listed again: counted from the delete */
  assert_true(listed("nd_b", "nd_a", NULL));
  expect_unread("nd_b", "nd_a", 2, 2);
}

/* importmsg SyncFromOldSystem 2 stores the message as read by the
 * recipient: it is never unread and shows IsPeerRead to its sender, and the
 * recipient's earlier unread messages stay unread. */
static void test_history_import_reads_itself(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "hi_a", "hi_b", NULL });
  char live[64];
  send_rest("hi_a", "hi_b", 1, "", "live", live, sizeof live);
  expect_unread("hi_b", "hi_a", 1, 1);
  long long t = (long long)time(NULL);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"hi_a\",\"To_Account\":\"hi_b\",\"MsgSeq\":3,\"MsgRandom\":4,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("old") "}", t), 0);
  expect_unread("hi_b", "hi_a", 1, 1); /* the live one is still unread, the imported one never is */
  char imported[64];
  snprintf(imported, sizeof imported, "3_4_%lld", t);
  json_t *h = roam("hi_a", "hi_b");
  json_t *mi = roam_find(h, "hi_a", imported), *ml = roam_find(h, "hi_a", live);
  assert_non_null(mi);
  assert_non_null(ml);
  assert_int_equal(jint(mi, "IsPeerRead"), 1);
  assert_int_equal(jint(ml, "IsPeerRead"), 0);
  json_decref(h);
  expect_code(v4(srv.port, app, key, "openim/admin_set_msg_read",
                 "{\"Report_Account\":\"hi_b\",\"Peer_Account\":\"hi_a\",\"MsgReadTime\":%lld}", t + 5), 0);
  expect_unread("hi_b", "hi_a", 0, 0);
}

/* ---- 5. sendmsg SyncOtherMachine ---------------------------------------------------- */
static int msg_push_with_text(json_t *o, const void *arg)
{
  if (!match_type(o, "msg")) return 0;
  json_t *m = json_object_get(o, "msg");
  return !strcmp(jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text"), (const char *)arg);
}

static void test_sync_other_machine(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "u0", "u1", NULL });
  wsc_t d;
  login_live(&d, "u0", "Web");
  send_rest("u0", "u1", 1, ",\"SyncOtherMachine\":2", "som2", NULL, 0);
  char texts[256];
  roam_texts("u1", "u0", texts, sizeof texts);
  assert_string_equal(texts, "som2");            /* the recipient has it … */
  roam_texts("u0", "u1", texts, sizeof texts);
  if (texts[0]) fail_msg("SyncOtherMachine 2 is in the sender's roaming: %s", texts); /* … the sender not */
  assert_false(listed("u0", "u1", NULL));
  assert_true(listed("u1", "u0", NULL));
  json_t *p = wsc_push(&d, "msg", 500);
  if (p) fail_msg("u0's device got a push of a SyncOtherMachine 2 message: %s", json_dumps(p, JSON_COMPACT));

  send_rest("u0", "u1", 2, "", "plain", NULL, 0);
  roam_texts("u0", "u1", texts, sizeof texts);
  assert_string_equal(texts, "plain");
  assert_int_equal(roam_count("u0", "u1"), 1);
  roam_texts("u1", "u0", texts, sizeof texts);
  assert_string_equal(texts, "plain,som2");
  assert_int_equal(roam_count("u1", "u0"), 2);

  send_rest("u0", "u1", 3, ",\"SyncOtherMachine\":1", "som1", NULL, 0);
  roam_texts("u0", "u1", texts, sizeof texts);
  assert_string_equal(texts, "som1,plain");
  roam_texts("u1", "u0", texts, sizeof texts);
  assert_string_equal(texts, "som1,plain,som2");
  p = wsc_take(&d, msg_push_with_text, "som1", 3000);
  if (!p) fail_msg("u0's device got no push of the SyncOtherMachine 1 message");
  assert_string_equal(jstr(p, "peer"), "u1");
  assert_string_equal(jstr(p, "msg.from"), "u0");
  json_decref(p);
  assert_null(wsc_take(&d, msg_push_with_text, "som2", 200)); /* never, not even late */
  wsc_close(&d);
}

/* ---- 6. one MsgKey, two messages (one per sender) ----------------------------------- */
static void test_shared_msgkey(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "w0", "w1", NULL });
  char mka[64], mkb[64];
  int attempt;
  for (attempt = 1; attempt <= 5; attempt++) {
    /* start at the beginning of a second: both sends then fit in it */
    time_t t0 = time(NULL);
    while (time(NULL) == t0) usleep(2000);
    char extra[64];
    snprintf(extra, sizeof extra, ",\"MsgSeq\":1");
    int64_t ta = send_rest("w0", "w1", attempt, extra, "A", mka, sizeof mka);
    int64_t tb = send_rest("w1", "w0", attempt, extra, "B", mkb, sizeof mkb);
    if (ta == tb) break;
  }
  if (attempt > 5) fail_msg("the two sends never fell within one second");
  assert_string_equal(mka, mkb);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"w1\",\"To_Account\":\"w0\",\"MsgKey\":\"%s\"}", mkb), 0);
  const char *ops[2][2] = { { "w0", "w1" }, { "w1", "w0" } };
  for (int k = 0; k < 2; k++) {
    json_t *h = roam(ops[k][0], ops[k][1]);
    json_t *a = roam_find(h, "w0", mka), *b = roam_find(h, "w1", mkb);
    if (!a || !b) fail_msg("%s's roaming lacks A or B: %s", ops[k][0], json_dumps(h, JSON_COMPACT));
    if (jint(b, "MsgFlagBits") != 8 || jint(a, "MsgFlagBits") != 0)
      fail_msg("%s's roaming: B (w1's) must be recalled, A (w0's) not: %s", ops[k][0], json_dumps(h, JSON_COMPACT));
    json_decref(h);
  }
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"w1\",\"To_Account\":\"w0\",\"MsgKey\":\"%s\"}", mkb), 20023);
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"w0\",\"To_Account\":\"w1\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("A2") "}", mka), 0);
  for (int k = 0; k < 2; k++) {
    json_t *h = roam(ops[k][0], ops[k][1]);
    json_t *a = roam_find(h, "w0", mka), *b = roam_find(h, "w1", mkb);
    assert_non_null(a);
    assert_non_null(b);
    if (strcmp(body_text(a), "A2") || strcmp(body_text(b), "B"))
      fail_msg("%s's roaming: A must read A2, B must read B: %s", ops[k][0], json_dumps(h, JSON_COMPACT));
    assert_int_equal(jint(a, "MsgFlagBits"), 0);
    assert_int_equal(jint(b, "MsgFlagBits"), 8);
    json_decref(h);
  }
}

/* Every page of op's roaming with peer, MaxCnt cnt, each page continued by
 * its LastMsgTime and LastMsgKey: the texts, newest first, joined by ",". */
static void roam_walk(const char *op, const char *peer, int cnt, char *out, size_t cap)
{
  char last_key[64] = "";
  long long max_t = (long long)time(NULL) + 10;
  size_t len = 0;
  out[0] = 0;
  for (int page = 0;; page++) {
    if (page > 20) fail_msg("MaxCnt %d: the walk does not end: %s", cnt, out);
    json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":%d,\"MinTime\":0,\"MaxTime\":%lld,"
                   "\"LastMsgKey\":\"%s\"}", op, peer, cnt, max_t, last_key);
    assert_non_null(h);
    if (jint(h, "ErrorCode") != 0) fail_msg("roam walk: %s", json_dumps(h, JSON_COMPACT));
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(h, "MsgList"), i, m)
      len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", len ? "," : "", body_text(m));
    assert_true(len < cap);
    int done = (int)jint(h, "Complete");
    if (!done && !jint(h, "MsgCnt")) fail_msg("an empty page that is not complete");
    max_t = (long long)jint(h, "LastMsgTime");
    snprintf(last_key, sizeof last_key, "%s", jstr(h, "LastMsgKey"));
    json_decref(h);
    if (done) break;
  }
}

/* Two messages of one MsgKey (one per user, in one second) with another
 * message between them: a page walk by LastMsgKey, which continues below
 * the oldest message of that key, must not skip what lies between (the
 * page ends at a message that is the oldest of its key). */
static void test_shared_msgkey_paging(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "pg0", "pg1", NULL });
  send_rest("pg0", "pg1", 100, "", "X", NULL, 0);
  char mka[64], mkb[64];
  int attempt;
  for (attempt = 1; attempt <= 5; attempt++) {
    time_t t0 = time(NULL);
    while (time(NULL) == t0) usleep(2000);
    int64_t ta = send_rest("pg0", "pg1", attempt, ",\"MsgSeq\":9", "A", mka, sizeof mka);
    int64_t tc = send_rest("pg1", "pg0", 50 + attempt, ",\"MsgSeq\":10", "C", NULL, 0); /* between the two */
    int64_t tb = send_rest("pg1", "pg0", attempt, ",\"MsgSeq\":9", "B", mkb, sizeof mkb);
    if (ta == tb && tc == ta) break;
    send_rest("pg0", "pg1", 200 + attempt, "", "Z", NULL, 0); /* a missed second: the walk must show these too */
  }
  if (attempt > 5) fail_msg("the two sends never fell within one second");
  assert_string_equal(mka, mkb);
  send_rest("pg0", "pg1", 300, "", "Y", NULL, 0);
  char all[512], walk[512];
  roam_texts("pg0", "pg1", all, sizeof all);
  assert_non_null(strstr(all, "Y,B,C,A"));
  for (int cnt = 1; cnt <= 4; cnt++) {
    roam_walk("pg0", "pg1", cnt, walk, sizeof walk);
    if (strcmp(walk, all)) fail_msg("MaxCnt %d walks %s, the whole history is %s", cnt, walk, all);
    roam_walk("pg1", "pg0", cnt, walk, sizeof walk);
    if (strcmp(walk, all)) fail_msg("pg1, MaxCnt %d walks %s, the whole history is %s", cnt, walk, all);
  }
}

/* ---- 7. modify_c2c_msg: MsgBody and CloudCustomData independently ----------------- */
static void test_modify_fields_independent(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", NULL });
  char mk[64];
  send_rest("alice", "bob", 1, ",\"CloudCustomData\":\"cc1\"", "t1", mk, sizeof mk);
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\",\"CloudCustomData\":\"cc2\"}", mk), 0);
  for (int k = 0; k < 2; k++) {
    json_t *h = roam(k ? "bob" : "alice", k ? "alice" : "bob");
    json_t *m = roam_find(h, "alice", mk);
    assert_non_null(m);
    assert_string_equal(jstr(m, "CloudCustomData"), "cc2");
    assert_string_equal(body_text(m), "t1");     /* the body is kept */
    json_decref(h);
  }
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("t2") "}", mk), 0);
  for (int k = 0; k < 2; k++) {
    json_t *h = roam(k ? "bob" : "alice", k ? "alice" : "bob");
    json_t *m = roam_find(h, "alice", mk);
    assert_non_null(m);
    assert_string_equal(body_text(m), "t2");
    assert_string_equal(jstr(m, "CloudCustomData"), "cc2"); /* the custom data is kept */
    json_decref(h);
  }
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\"}", mk), 90007);
  json_t *h = roam("bob", "alice");
  json_t *m = roam_find(h, "alice", mk);
  assert_non_null(m);
  assert_string_equal(body_text(m), "t2");
  assert_string_equal(jstr(m, "CloudCustomData"), "cc2");
  json_decref(h);
}

/* ---- 8. an online-only message to oneself ------------------------------------------ */
static void test_online_only_to_self(void **st)
{
  (void)st;
  wsc_t a1, a2;
  login_live(&a1, "o_self", "Web");
  login_live(&a2, "o_self", "PC");
  json_t *r = wsc_rpc(&a1, "send", "\"to\":\"o_self\",\"online_only\":true,\"body\":" TEXT("note"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), 0);
  json_decref(r);
  json_t *p = wsc_push(&a2, "online_msg", 3000);  /* the other device gets it */
  if (!p) fail_msg("the user's other live device got no online_msg");
  assert_string_equal(jstr(p, "peer"), "o_self");
  assert_string_equal(jstr(p, "msg.from"), "o_self");
  assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"), "note");
  json_decref(p);
  /* the sending device: the heartbeat's reply comes after anything the send caused */
  r = wsc_rpc(&a1, "heartbeat", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  p = wsc_push(&a1, "online_msg", 300);
  if (p) fail_msg("the sending device got its own online-only message: %s", json_dumps(p, JSON_COMPACT));
  assert_null(wsc_push(&a2, "online_msg", 100)); /* once */
  wsc_close(&a1);
  wsc_close(&a2);
}

/* ---- 10. get_list lists empty conversations only with AssistFlags bit 1 ------------------ */
static void test_empty_conversations_on_request(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "em_peer", NULL });
  wsc_t a;
  login_live(&a, "em_a", "Web");
  expect_code(wsc_rpc(&a, "pin", "\"peer\":\"em_peer\",\"pinned\":true"), 0); /* no message yet */
  for (int flags = 0; flags < 4; flags++) {
    json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                   "{\"From_Account\":\"em_a\",\"TimeStamp\":0,\"StartIndex\":0,\"TopTimeStamp\":0,"
                   "\"TopStartIndex\":0,\"AssistFlags\":%d}", flags);
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *items = json_object_get(r, "SessionItem");
    if (flags & 2) {
      assert_int_equal(json_array_size(items), 1);
      json_t *it = json_array_get(items, 0);
      assert_string_equal(jstr(it, "To_Account"), "em_peer");
      assert_int_equal(jint(it, "MsgTime"), 0);
      assert_int_equal(jint(it, "TopFlag"), 1);
    } else if (json_array_size(items)) {
      fail_msg("AssistFlags %d lists an empty conversation: %s", flags, json_dumps(r, JSON_COMPACT));
    }
    json_decref(r);
  }
  wsc_close(&a);
}

/* ---- 9. errors name the request's own fields ------------------------------------------ */
static void test_errors_name_fields(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "e0", "e1", NULL });
  json_t *r = v4(srv.port, app, key, "openim/admin_set_msg_read",
                 "{\"Report_Account\":\"e0\",\"Peer_Account\":\"e1\",\"MsgReadTime\":-1}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90006);
  assert_non_null(strstr(jstr(r, "ErrorInfo"), "MsgReadTime"));
  json_decref(r);
  r = v4(srv.port, app, key, "openim/admin_set_msg_read", "{\"Report_Account\":\"nobody_here\",\"Peer_Account\":\"e1\"}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90008);
  assert_non_null(strstr(jstr(r, "ErrorInfo"), "Report_Account"));
  json_decref(r);
  /* a batch past msg_max_bytes (12,288 here) too answers its own 90055, not sendmsg's 93000 */
  char *big = malloc(13001);
  assert_non_null(big);
  memset(big, 'x', 13000);
  big[13000] = 0;
  r = v4(srv.port, app, key, "openim/batchsendmsg",
         "{\"From_Account\":\"e0\",\"To_Account\":[\"e1\"],\"MsgRandom\":4,\"MsgBody\":" TEXT("%s") "}", big);
  free(big);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 90055);
  json_decref(r);
  /* a target that is not a string is echoed as given */
  r = v4(srv.port, app, key, "openim/batchsendmsg",
         "{\"From_Account\":\"e0\",\"To_Account\":[5,\"e1\"],\"MsgRandom\":3,\"MsgBody\":" TEXT("b") "}");
  assert_non_null(r);
  json_t *e = json_array_get(json_object_get(r, "ErrorList"), 0);
  assert_non_null(e);
  assert_true(json_is_integer(json_object_get(e, "To_Account")));
  assert_int_equal(jint(e, "To_Account"), 5);
  assert_int_equal(json_array_size(json_object_get(r, "ErrorList")), 1);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pin_delete_then_first_message),
    cmocka_unit_test(test_clear_hides_nolastmsg),
    cmocka_unit_test(test_clear_nolastmsg_only),
    cmocka_unit_test(test_clear_hides_from_sync),
    cmocka_unit_test(test_first_nolastmsg_unread),
    cmocka_unit_test(test_nolastmsg_after_delete),
    cmocka_unit_test(test_history_import_reads_itself),
    cmocka_unit_test(test_sync_other_machine),
    cmocka_unit_test(test_shared_msgkey),
    cmocka_unit_test(test_shared_msgkey_paging),
    cmocka_unit_test(test_modify_fields_independent),
    cmocka_unit_test(test_online_only_to_self),
    cmocka_unit_test(test_errors_name_fields),
    cmocka_unit_test(test_empty_conversations_on_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
