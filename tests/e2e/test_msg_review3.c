/* End-to-end: one-to-one corner cases found by the third review (issue 13),
 * against the real server on a standing test clock with get_list pages of 2
 * (docs/protocol.md, docs/delivery.md, docs/rest-api-messages.md):
 *  - REST sendmsg / batchsendmsg to oneself reaches the user's devices (push
 *    and sync), whatever SyncOtherMachine says; so does importmsg
 *    SyncFromOldSystem 5 to oneself;
 *  - recentcontact/get_list pages continue after exactly the rows returned
 *    when a returned conversation moves up or is deleted between pages (the
 *    rows of one second used to be counted: one not yet returned was
 *    skipped), and past a page of conversations without messages (MsgTime
 *    0) without AssistFlags bit 0 (the first page came back for ever);
 *  - modify and recall of a message a user cleared (ClearRamble) or never
 *    had (the sender of SyncOtherMachine 2) are not pushed to that user's
 *    live devices, as sync leaves them out;
 *  - modify_c2c_msg of a recalled message is refused (20023), its content
 *    stays;
 *  - batchsendmsg honours SyncOtherMachine as sendmsg does (2 kept the
 *    copies in the sender's roaming and list, 1 reached no device);
 *  - a NoLastMsg message carries "no_last_msg" to the devices (pushes,
 *    history), as a NoUnread one carries "no_unread";
 *  - one MsgKey sent by both users (same MsgSeq and MsgRandom, one
 *    second): modify_c2c_msg and admin_msgwithdraw act on From_Account's
 *    message, a WebSocket recall on the caller's, and admin_getroammsg
 *    pages continued by LastMsgKey return each message once; so do
 *    modify_c2c_msg and admin_msgwithdraw when one of the two is imported.
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
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *const args[] = { "--test-clock", "--msg-recent-page", "2", NULL };


static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != code)
    fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void login_live(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

/* REST sendmsg from → to with MsgRandom rnd, extra fields (",…" or "") and
 * text; must succeed. The MsgKey into mk. */
static void send_rest(const char *from, const char *to, int rnd, const char *extra, const char *text, char *mk, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d%s,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                 from, to, rnd, extra, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg %s→%s: %s", from, to, json_dumps(r, JSON_COMPACT));
  if (mk) snprintf(mk, cap, "%s", jstr(r, "MsgKey"));
  json_decref(r);
}

static const char *push_text(json_t *p)
{
  return jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text");
}

/* The texts of the msg events a fresh device of user (platform) gets by
 * syncing from 0, joined by ",". */
static void synced_texts(const char *user, const char *platform, char *out, size_t cap)
{
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(&d), *e;
  assert_non_null(evs);
  size_t i;
  out[0] = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "msg")) continue;
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", push_text(e));
  }
  json_decref(evs);
  wsc_close(&d);
}

/* ---- a REST message to oneself -------------------------------------------------------------- */
static void test_rest_to_self_reaches_devices(void **st)
{
  (void)st;
  static const char *const users[] = { "s_me", "s_peer", NULL };
  import_users(srv.port, app, key, users);
  wsc_t d;
  login_live(&d, "s_me", "Web");
  send_rest("s_me", "s_me", 1, "", "note-to-self", NULL, 0); /* SyncOtherMachine absent */
  json_t *p = wsc_push(&d, "msg", 2000);
  if (!p) fail_msg("a REST message to oneself is not pushed to the user's live device");
  assert_string_equal(push_text(p), "note-to-self");
  assert_true(jint(p, "useq") > 0);
  json_decref(p);
  send_rest("s_me", "s_me", 2, ",\"SyncOtherMachine\":2", "self-2", NULL, 0);
  p = wsc_push(&d, "msg", 2000);
  assert_non_null(p);
  assert_string_equal(push_text(p), "self-2");
  json_decref(p);
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"s_me\",\"To_Account\":[\"s_peer\",\"s_me\"],\"MsgRandom\":3,\"MsgBody\":" TEXT("batch-self") "}"), 0);
  p = wsc_push(&d, "msg", 2000);
  if (!p) fail_msg("a batchsendmsg target that is the sender gets nothing on its devices");
  assert_string_equal(push_text(p), "batch-self");
  json_decref(p);
  /* importmsg SyncFromOldSystem 5 (realtime: pushed to the recipient) to oneself */
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":5,\"From_Account\":\"s_me\",\"To_Account\":\"s_me\",\"MsgSeq\":1,\"MsgRandom\":4,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imported-self") "}", (long long)time(NULL) - 60), 0);
  p = wsc_push(&d, "msg", 2000);
  if (!p) fail_msg("a realtime import to oneself is not pushed to the user's live device");
  assert_string_equal(push_text(p), "imported-self");
  json_decref(p);
  char texts[256];
  synced_texts("s_me", "iPhone", texts, sizeof texts);
  assert_string_equal(texts, "note-to-self,self-2,batch-self,imported-self");
  wsc_close(&d);
}

/* ---- get_list cursors while the list changes ------------------------------------------------ */
/* One get_list page of user continuing (*ts, *idx); the peers appended to
 * seen ("," separated); returns CompleteFlag. */
static int list_page(const char *user, long long *ts, long long *idx, char *seen, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                 "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":0,"
                 "\"TopStartIndex\":0,\"AssistFlags\":1}", user, *ts, *idx);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it)
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s", seen[0] ? "," : "", jstr(it, "To_Account"));
  *ts = jint(r, "TimeStamp");
  *idx = jint(r, "StartIndex");
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

static void test_list_cursor_survives_changes(void **st)
{
  (void)st;
  static const char *const users[] = { "l_bot", "l_p1", "l_p2", "l_p3", "l_p4", "l_p5", NULL };
  import_users(srv.port, app, key, users);
  /* five conversations of one second (the clock stands still): pages of 2 */
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"l_bot\",\"To_Account\":[\"l_p1\",\"l_p2\",\"l_p3\",\"l_p4\",\"l_p5\"],"
                 "\"MsgRandom\":9,\"MsgBody\":" TEXT("hello") "}"), 0);
  char seen[256] = "";
  long long ts = 0, idx = 0;
  int pages = 0;
  while (!list_page("l_bot", &ts, &idx, seen, sizeof seen)) assert_true(++pages < 10);
  assert_string_equal(seen, "l_p1,l_p2,l_p3,l_p4,l_p5");
  /* page 1, then the first row returned moves up (a reply) and the second leaves the list */
  seen[0] = 0;
  ts = idx = 0;
  assert_int_equal(list_page("l_bot", &ts, &idx, seen, sizeof seen), 0);
  assert_string_equal(seen, "l_p1,l_p2");
  op_clock_advance(srv.port, auth, 5);
  send_rest("l_p1", "l_bot", 1, "", "reply", NULL, 0);
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"l_bot\",\"Type\":1,\"To_Account\":\"l_p2\"}"), 0);
  pages = 0;
  while (!list_page("l_bot", &ts, &idx, seen, sizeof seen)) assert_true(++pages < 10);
  /* every row not yet returned, once (l_p1 moved above the cursor: the next first page has it) */
  assert_string_equal(seen, "l_p1,l_p2,l_p3,l_p4,l_p5");
}

/* ---- get_list of conversations without messages, without pin support --------------------------- */
static void test_list_pages_of_empty_conversations(void **st)
{
  (void)st;
  static const char *const users[] = { "e_u", "e_1", "e_2", "e_3", NULL };
  import_users(srv.port, app, key, users);
  wsc_t u;
  login_live(&u, "e_u", "Web");
  for (int i = 1; i <= 3; i++) expect_code(wsc_rpc(&u, "pin", "\"peer\":\"e_%d\",\"pinned\":true", i), 0);
  /* AssistFlags 2: empty conversations too (MsgTime 0), pinned ones among the others by time */
  char seen[256] = "";
  long long ts = 0, idx = 0;
  for (int pages = 0;; pages++) {
    if (pages == 5) fail_msg("get_list never completes; rows so far: %s", seen);
    json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                   "{\"From_Account\":\"e_u\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"AssistFlags\":2}", ts, idx);
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r, "SessionItem"), i, it)
      snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s", seen[0] ? "," : "", jstr(it, "To_Account"));
    ts = jint(r, "TimeStamp");
    idx = jint(r, "StartIndex");
    int done = (int)jint(r, "CompleteFlag");
    json_decref(r);
    if (done) break;
  }
  assert_string_equal(seen, "e_1,e_2,e_3");
  wsc_close(&u);
}

/* ---- changes of a message a user does not have ------------------------------------------------ */
static void test_change_of_cleared_not_pushed(void **st)
{
  (void)st;
  static const char *const users[] = { "c_a", "c_b", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, b;
  login_live(&a, "c_a", "Web");
  login_live(&b, "c_b", "Web");
  char mk[64], mk2[64];
  send_rest("c_a", "c_b", 1, "", "secret", mk, sizeof mk);
  json_decref(wsc_push(&b, "msg", 2000));
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"c_b\",\"Type\":1,\"To_Account\":\"c_a\",\"ClearRamble\":1}"), 0);
  json_decref(wsc_push(&b, "conv_delete", 2000));
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"c_a\",\"To_Account\":\"c_b\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("edited") "}", mk), 0);
  json_t *p = wsc_push(&a, "modify", 2000); /* the sender still has it */
  assert_non_null(p);
  json_decref(p);
  p = wsc_push(&b, "modify", 300);
  if (p) fail_msg("c_b cleared the message, yet its live device got its new content: %s", json_dumps(p, JSON_COMPACT));
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"c_a\",\"To_Account\":\"c_b\",\"MsgKey\":\"%s\"}", mk), 0);
  json_decref(wsc_push(&a, "recall", 2000));
  p = wsc_push(&b, "recall", 300);
  if (p) fail_msg("c_b cleared the message, yet its live device got its recall: %s", json_dumps(p, JSON_COMPACT));
  /* SyncOtherMachine 2: never the sender's; its change reaches the recipient only */
  send_rest("c_a", "c_b", 2, ",\"SyncOtherMachine\":2", "not-mine", mk2, sizeof mk2);
  json_decref(wsc_push(&b, "msg", 2000));
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"c_a\",\"To_Account\":\"c_b\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("edited-2") "}", mk2), 0);
  p = wsc_push(&b, "modify", 2000);
  assert_non_null(p);
  json_decref(p);
  p = wsc_push(&a, "modify", 300);
  if (p) fail_msg("the sender of a SyncOtherMachine 2 message got its modify: %s", json_dumps(p, JSON_COMPACT));
  /* live and sync agree: a device syncing from 0 gets no event of those messages either */
  wsc_t b2;
  assert_int_equal(wsc_login(&b2, srv.port, app, key, "c_b", "iPhone"), 0);
  json_t *evs = wsc_sync_live(&b2), *e;
  assert_non_null(evs);
  size_t i;
  json_array_foreach(evs, i, e)
    if (!strcmp(jstr(e, "type"), "recall") || (!strcmp(jstr(e, "type"), "modify") && strcmp(push_text(e), "edited-2")))
      fail_msg("sync hands c_b an event of the cleared message: %s", json_dumps(e, JSON_COMPACT));
  json_decref(evs);
  wsc_close(&b2);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- modify of a recalled message -------------------------------------------------------------- */
static void test_modify_recalled_refused(void **st)
{
  (void)st;
  static const char *const users[] = { "m_a", "m_b", NULL };
  import_users(srv.port, app, key, users);
  wsc_t b;
  login_live(&b, "m_b", "Web");
  char mk[64];
  send_rest("m_a", "m_b", 1, "", "oops", mk, sizeof mk);
  json_decref(wsc_push(&b, "msg", 2000));
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"m_a\",\"To_Account\":\"m_b\",\"MsgKey\":\"%s\"}", mk), 0);
  json_decref(wsc_push(&b, "recall", 2000));
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"m_a\",\"To_Account\":\"m_b\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("rewritten") "}", mk), 20023);
  json_t *p = wsc_push(&b, "modify", 300);
  if (p) fail_msg("a recalled message was changed and pushed: %s", json_dumps(p, JSON_COMPACT));
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"m_b\",\"Peer_Account\":\"m_a\",\"MaxCnt\":10}");
  assert_non_null(h);
  json_t *m = json_array_get(json_object_get(h, "MsgList"), 0);
  assert_int_equal(jint(m, "MsgFlagBits"), 8);
  assert_string_equal(jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"), "oops");
  json_decref(h);
  wsc_close(&b);
}

/* ---- batchsendmsg honours SyncOtherMachine --------------------------------------------------- */
static void test_batch_sync_other_machine(void **st)
{
  (void)st;
  static const char *const users[] = { "b_sys", "b_t1", "b_t2", NULL };
  import_users(srv.port, app, key, users);
  wsc_t d;
  login_live(&d, "b_sys", "Web");
  /* 2: not the sender's at all (a system notice to many users leaves the sender's roaming and list alone) */
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_sys\",\"To_Account\":[\"b_t1\",\"b_t2\"],\"MsgRandom\":1,\"SyncOtherMachine\":2,"
                 "\"MsgBody\":" TEXT("notice") "}"), 0);
  for (int i = 1; i <= 2; i++) {
    json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"b_sys\",\"Peer_Account\":\"b_t%d\",\"MaxCnt\":10}", i);
    assert_non_null(h);
    if (jint(h, "MsgCnt") != 0) fail_msg("SyncOtherMachine 2 ignored: the sender's roaming with b_t%d: %s", i, json_dumps(h, JSON_COMPACT));
    json_decref(h);
    h = v4(srv.port, app, key, "openim/admin_getroammsg",
           "{\"Operator_Account\":\"b_t%d\",\"Peer_Account\":\"b_sys\",\"MaxCnt\":10}", i);
    assert_int_equal(jint(h, "MsgCnt"), 1);
    json_decref(h);
  }
  char seen[256] = "";
  long long ts = 0, idx = 0;
  for (int pages = 0; !list_page("b_sys", &ts, &idx, seen, sizeof seen); pages++) assert_true(pages < 10);
  assert_string_equal(seen, "");
  /* 1: the sender's devices get each copy */
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_sys\",\"To_Account\":[\"b_t1\",\"b_t2\"],\"MsgRandom\":2,\"SyncOtherMachine\":1,"
                 "\"MsgBody\":" TEXT("synced") "}"), 0);
  char peers[64] = "";
  for (int i = 0; i < 2; i++) {
    json_t *p = wsc_push(&d, "msg", 2000);
    if (!p) fail_msg("SyncOtherMachine 1 ignored: the sender's device got %d of 2 copies", i);
    assert_string_equal(push_text(p), "synced");
    snprintf(peers + strlen(peers), sizeof peers - strlen(peers), "%s%s", peers[0] ? "," : "", jstr(p, "peer"));
    json_decref(p);
  }
  assert_true(!strcmp(peers, "b_t1,b_t2") || !strcmp(peers, "b_t2,b_t1"));
  wsc_close(&d);
}

/* ---- the NoLastMsg flag reaches the devices -------------------------------------------------- */
static void test_no_last_msg_flag_delivered(void **st)
{
  (void)st;
  static const char *const users[] = { "n_a", "n_b", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, b;
  login_live(&a, "n_a", "Web");
  login_live(&b, "n_b", "Web");
  send_rest("n_a", "n_b", 1, ",\"SendMsgControl\":[\"NoLastMsg\"]", "quiet", NULL, 0);
  json_t *p = wsc_push(&b, "msg", 2000);
  assert_non_null(p);
  if (!json_is_true(json_object_get(json_object_get(p, "msg"), "no_last_msg")))
    fail_msg("a NoLastMsg message reaches the device without its flag: %s", json_dumps(p, JSON_COMPACT));
  json_decref(p);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"n_b\",\"no_last_msg\":true,\"body\":" TEXT("quiet-ws"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  p = wsc_push(&b, "msg", 2000);
  assert_non_null(p);
  assert_true(json_is_true(json_object_get(json_object_get(p, "msg"), "no_last_msg")));
  json_decref(p);
  r = wsc_rpc(&b, "history", "\"peer\":\"n_a\"");
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2);
  for (size_t i = 0; i < 2; i++)
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r, "msgs"), i), "no_last_msg")));
  json_decref(r);
  send_rest("n_a", "n_b", 3, "", "loud", NULL, 0);
  p = wsc_push(&b, "msg", 2000);
  assert_non_null(p);
  assert_null(json_object_get(json_object_get(p, "msg"), "no_last_msg"));
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- one MsgKey sent by both users ------------------------------------------------------------ */
/* The text of the message of from_id in an admin_getroammsg list, and its MsgFlagBits into *flags. */
static const char *roam_text_of(json_t *list, const char *from_id, int *flags)
{
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m) {
    if (strcmp(jstr(m, "From_Account"), from_id)) continue;
    *flags = (int)jint(m, "MsgFlagBits");
    return jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text");
  }
  fail_msg("no message from %s", from_id);
  return NULL;
}

/* A→B and B→A with the same MsgSeq and MsgRandom in the standing second: one
 * MsgKey names two messages. modify_c2c_msg and admin_msgwithdraw act on
 * From_Account's, a WebSocket recall on the caller's own, and
 * admin_getroammsg pages of MaxCnt 1 continued by LastMsgKey return each
 * message of the conversation once. */
static void test_same_key_both_sides(void **st)
{
  (void)st;
  static const char *const users[] = { "k_a", "k_b", NULL };
  import_users(srv.port, app, key, users);
  char ka[64], kb[64];
  send_rest("k_a", "k_b", 5, "", "older", NULL, 0);
  send_rest("k_a", "k_b", 9, ",\"MsgSeq\":7", "from a", ka, sizeof ka);
  send_rest("k_b", "k_a", 9, ",\"MsgSeq\":7", "from b", kb, sizeof kb);
  assert_string_equal(ka, kb); /* the standing clock: one second, one key */

  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"k_b\",\"To_Account\":\"k_a\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("b edited") "}",
                 ka), 0);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"k_a\",\"To_Account\":\"k_b\",\"MsgKey\":\"%s\"}", ka), 0);
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"k_a\",\"Peer_Account\":\"k_b\",\"MaxCnt\":10}");
  assert_non_null(h);
  json_t *list = json_object_get(h, "MsgList");
  assert_int_equal(json_array_size(list), 3);
  int fa = -1, fb = -1;
  const char *ta = NULL, *tb = NULL;
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m) {
    if (strcmp(jstr(m, "MsgKey"), ka)) continue;
    if (!strcmp(jstr(m, "From_Account"), "k_a")) { fa = (int)jint(m, "MsgFlagBits"); ta = jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"); }
    else { fb = (int)jint(m, "MsgFlagBits"); tb = jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"); }
  }
  assert_non_null(ta);
  assert_non_null(tb);
  assert_string_equal(ta, "from a"); /* k_a's: recalled, not modified */
  assert_int_equal(fa, 8);
  assert_string_equal(tb, "b edited"); /* k_b's: modified, not recalled */
  assert_int_equal(fb, 0);
  json_decref(h);

  /* the WebSocket recall of k_b: its own message of the key, not k_a's (already recalled: that would be 20023) */
  wsc_t b;
  login_live(&b, "k_b", "Web");
  expect_code(wsc_rpc(&b, "recall", "\"peer\":\"k_a\",\"msg_key\":\"%s\"", kb), 0);
  wsc_close(&b);
  h = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"k_b\",\"Peer_Account\":\"k_a\",\"MaxCnt\":10}");
  assert_non_null(h);
  int flags = -1;
  assert_string_equal(roam_text_of(json_object_get(h, "MsgList"), "k_b", &flags), "b edited");
  assert_int_equal(flags, 8);
  json_decref(h);

  /* pages of one: every message once, none skipped below the shared key */
  char last[64] = "", seen[256] = "";
  int pages = 0, complete = 0;
  for (; !complete && pages < 10; pages++) {
    h = v4(srv.port, app, key, "openim/admin_getroammsg",
           "{\"Operator_Account\":\"k_b\",\"Peer_Account\":\"k_a\",\"MaxCnt\":1,\"LastMsgKey\":\"%s\"}", last);
    assert_non_null(h);
    if (jint(h, "ErrorCode") != 0) fail_msg("page %d: %s", pages, json_dumps(h, JSON_COMPACT));
    complete = (int)jint(h, "Complete");
    json_array_foreach(json_object_get(h, "MsgList"), i, m)
      snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s", seen[0] ? "," : "",
               jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"));
    snprintf(last, sizeof last, "%s", jstr(h, "LastMsgKey"));
    json_decref(h);
  }
  assert_true(complete);
  assert_string_equal(seen, "b edited,from a,older");
}

/* The same with one of the two imported (found through the imported
 * messages' index, the other among the live messages of its second; two
 * imports of one key are one message, also with From/To swapped):
 * importmsg A→B at the standing clock's second, then sendmsg B→A with the
 * same MsgSeq and MsgRandom; modify_c2c_msg and admin_msgwithdraw take
 * From_Account's. */
static void test_same_key_imported(void **st)
{
  (void)st;
  static const char *const users[] = { "ki_a", "ki_b", NULL };
  import_users(srv.port, app, key, users);
  long long t = (long long)op_clock_now(srv.port, auth);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"ki_a\",\"To_Account\":\"ki_b\",\"MsgSeq\":3,\"MsgRandom\":4,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imp a") "}", t), 0);
  char mk[64], want[64];
  send_rest("ki_b", "ki_a", 4, ",\"MsgSeq\":3", "imp b", mk, sizeof mk);
  snprintf(want, sizeof want, "3_4_%lld", t);
  assert_string_equal(mk, want);
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"ki_b\",\"To_Account\":\"ki_a\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("imp b edited") "}",
                 mk), 0);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"ki_a\",\"To_Account\":\"ki_b\",\"MsgKey\":\"%s\"}", mk), 0);
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"ki_a\",\"Peer_Account\":\"ki_b\",\"MaxCnt\":10}");
  assert_non_null(h);
  json_t *list = json_object_get(h, "MsgList");
  assert_int_equal(json_array_size(list), 2);
  int fa = -1, fb = -1;
  assert_string_equal(roam_text_of(list, "ki_a", &fa), "imp a");
  assert_int_equal(fa, 8);
  assert_string_equal(roam_text_of(list, "ki_b", &fb), "imp b edited");
  assert_int_equal(fb, 0);
  json_decref(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_to_self_reaches_devices),
    cmocka_unit_test(test_list_cursor_survives_changes),
    cmocka_unit_test(test_list_pages_of_empty_conversations),
    cmocka_unit_test(test_change_of_cleared_not_pushed),
    cmocka_unit_test(test_modify_recalled_refused),
    cmocka_unit_test(test_batch_sync_other_machine),
    cmocka_unit_test(test_no_last_msg_flag_delivered),
    cmocka_unit_test(test_same_key_both_sides),
    cmocka_unit_test(test_same_key_imported),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
