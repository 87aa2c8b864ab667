/* End-to-end: an account_delete's relationship purge is applied in memory
 * before its transaction commits (decisions §96); until that transaction is
 * durable the app's relationship REST requests wait and then run on what
 * was committed or undone (§98). The server runs with
 * IMCLOUD_TEST_SYNC_HOLD (e2e_start_sync_held): while the hold file exists
 * no writer job completes, so the window is held open for as long as the
 * test needs; GET /healthz rel_gate.waiting says a request waits in it.
 *
 * Until 2026-12-06 a friend_check of the deleted account's friend, sent in
 * the window, answered at once CheckResult_Type_NoRelation — though the
 * deletion then failed (account_groups:1, a storage error) and the friends
 * were friends again — and a friend_delete in the window of a deletion that
 * then committed answered 31704 "not friends" (decided on rows not yet
 * durable) rather than 30003: the account is gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], hold[256];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

/* The first entry of r's list. */
static json_t *first(json_t *r, const char *list) { return json_array_get(json_object_get(r, list), 0); }

static void expect_ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("expected OK, got %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* A server (failing as plan says, NULL: not) with a, b, c, d: a and b friends both ways, c blocks b, d asked b
 * to be its friend (pending: b's AllowType is NeedConfirm). */
static void start(const char *plan)
{
  if (plan) setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_start_sync_held(&srv, hold, sizeof hold, "reldel", "china", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", "d", NULL });
  expect_ok(V4("sns/friend_add", "{\"From_Account\":\"a\",\"AddFriendItem\":[{\"To_Account\":\"b\",\"AddSource\":"
                                 "\"AddSource_Type_Web\"}],\"AddType\":\"Add_Type_Both\",\"ForceAddFlags\":1}"));
  expect_ok(V4("sns/black_list_add", "{\"From_Account\":\"c\",\"To_Account\":[\"b\"]}"));
  json_t *r = V4("sns/friend_add", "{\"From_Account\":\"d\",\"AddFriendItem\":[{\"To_Account\":\"b\",\"AddSource\":"
                                   "\"AddSource_Type_Web\"}]}");
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 30539); /* pending */
  json_decref(r);
}

static int stop(void **st)
{
  (void)st;
  if (hold[0]) e2e_sync_hold(hold, 0);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

/* Every relationship read that shows b's rows, as one text: the lists of a, b, c and d with their sequences. */
static void snapshot(char *out, size_t cap)
{
  static const char *const reads[][2] = {
    { "sns/friend_get", "{\"From_Account\":\"a\",\"StartIndex\":0}" },
    { "sns/friend_get", "{\"From_Account\":\"b\",\"StartIndex\":0}" },
    { "sns/black_list_get", "{\"From_Account\":\"c\",\"StartIndex\":0,\"MaxLimited\":10,\"LastSequence\":0}" },
    { "sns/friend_check", "{\"From_Account\":\"a\",\"To_Account\":[\"b\"],\"CheckType\":\"CheckResult_Type_Both\"}" },
    { "sns/black_list_check", "{\"From_Account\":\"c\",\"To_Account\":[\"b\"],\"CheckType\":\"BlackCheckResult_Type_Both\"}" },
  };
  size_t used = 0;
  out[0] = 0;
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    json_t *r = V4(reads[i][0], "%s", reads[i][1]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    char *t = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s\n", t);
    free(t);
    json_decref(r);
  }
  assert_true(used < cap);
}

/* Wait until n relationship requests wait for the deletion (GET /healthz rel_gate.waiting); 10 s at most, then
 * go on (a server that does not make them wait has answered them). */
static void gate_waiting(long long n)
{
  char body[1 << 15];
  for (int waited = 0; waited < 10000; waited += 10) {
    if (e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body) == 200) {
      const char *p = strstr(body, "\"rel_gate\"");
      p = p ? strstr(p, "\"waiting\":") : NULL;
      if (p && atoll(p + 10) >= n) return;
    }
    usleep(10000);
  }
}

/* b's deletion fails (its group rows: a storage error) while friend_check and black_list_check of b were sent in
 * its window: they wait, and answer what stayed — a and b friends both ways, c blocking b; every relationship
 * read is then the same as before the call. */
static void test_failed_delete_shows_nothing(void **st)
{
  (void)st;
  char before[1 << 14], after[1 << 14];
  start("account_groups:1");
  snapshot(before, sizeof before);
  e2e_sync_hold(hold, 1);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1); /* the deletion's job is in the writer: its purge is applied in memory */
  int chk = race_send(&srv, app, key, "sns/friend_check",
                      "{\"From_Account\":\"a\",\"To_Account\":[\"b\"],\"CheckType\":\"CheckResult_Type_Both\"}");
  int blk = race_send(&srv, app, key, "sns/black_list_check",
                      "{\"From_Account\":\"c\",\"To_Account\":[\"b\"],\"CheckType\":\"BlackCheckResult_Type_Both\"}");
  gate_waiting(2);
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500); /* storage I/O error: b stays */
  json_decref(r);
  r = race_read(chk);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_string_equal(jstr(first(r, "InfoItem"), "Relation"), "CheckResult_Type_BothWay");
  json_decref(r);
  r = race_read(blk);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_string_equal(jstr(first(r, "BlackListCheckItem"), "Relation"), "BlackCheckResult_Type_AWithB");
  json_decref(r);
  snapshot(after, sizeof after);
  assert_string_equal(after, before);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "held"), 0);
}

/* b's deletion commits while a's friend_delete of b was sent in its window: it waits, then answers on the
 * committed state (30003: b is no account) rather than 31704 "not friends" from the purge not yet durable. */
static void test_committed_delete_answers_after(void **st)
{
  (void)st;
  start(NULL);
  e2e_sync_hold(hold, 1);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  int fd = race_send(&srv, app, key, "sns/friend_delete", "{\"From_Account\":\"a\",\"To_Account\":[\"b\"]}");
  gate_waiting(1);
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = race_read(fd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 30003);
  json_decref(r);
  r = V4("sns/friend_get", "{\"From_Account\":\"a\",\"StartIndex\":0}");
  assert_int_equal(jint(r, "FriendNum"), 0);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "deferred"), 1);
}

/* ---- the WebSocket side (§101) ----------------------------------------------------------------------------- */
/* The deletion of b (failing as start's plan says) sent, and its job in the writer: its purge is applied in memory. */
static int delete_b_held(void)
{
  e2e_sync_hold(hold, 1);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  return del;
}

/* The deletion's reply: b stays (70500, a storage error: account_groups:1). */
static void delete_b_failed(int del)
{
  json_t *r = race_read(del);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500);
  json_decref(r);
}

/* Send {"id":id,"op":op,…fields} on w without waiting for the reply. */
static void ws_send_op(wsc_t *w, int id, const char *op, const char *fields)
{
  char frame[1024];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"%s\"%s%s}", id, op, fields[0] ? "," : "", fields);
  assert_int_equal(e2e_ws_send_text(w->fd, frame), 0);
}

static json_t *ws_reply(wsc_t *w, int id)
{
  json_t *r = wsc_take(w, match_id, &id, 15000);
  assert_non_null(r);
  return r;
}

/* c blocks b. b's send to c in the window of b's deletion, which then fails: refused 20007, as before the call —
 * on main the purge had taken c's blocklist entry of b out of memory, and the send was stored (code 0). */
static void test_blocked_send_refused_after_failed_delete(void **st)
{
  (void)st;
  wsc_t wb, wc;
  start("account_groups:1");
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  assert_int_equal(wsc_login(&wc, srv.port, app, key, "c", "Web"), 0);
  int del = delete_b_held();
  ws_send_op(&wb, 7, "send", "\"to\":\"c\",\"random\":7,\"body\":" TEXT("past the block"));
  gate_waiting(1);
  e2e_sync_hold(hold, 0);
  delete_b_failed(del);
  json_t *r = ws_reply(&wb, 7);
  assert_int_equal(jint(r, "code"), 20007);
  json_decref(r);
  r = wsc_rpc(&wc, "history", "\"peer\":\"b\"");
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 0);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "deferred"), 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "named"), 0);
  wsc_close(&wb);
  wsc_close(&wc);
}

/* d asked b to be its friend. b's `pending` and `friend_response` in the window of b's deletion, which then
 * fails: they wait and answer the durable state — d's request listed, then agreed to (d and b friends). On main
 * `pending` answered at once with no incoming request and `friend_response` 30614 (no such request). */
static void test_ws_friend_ops_answer_durable_state(void **st)
{
  (void)st;
  wsc_t wb;
  start("account_groups:1");
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  int del = delete_b_held();
  ws_send_op(&wb, 8, "pending", "");
  ws_send_op(&wb, 9, "friend_response", "\"peer\":\"d\",\"action\":\"agree\"");
  gate_waiting(2);
  e2e_sync_hold(hold, 0);
  delete_b_failed(del);
  json_t *r = ws_reply(&wb, 8);
  assert_int_equal(jint(r, "code"), 0);
  json_t *in = json_object_get(r, "incoming");
  assert_int_equal(json_array_size(in), 1);
  assert_string_equal(jstr(json_array_get(in, 0), "from"), "d");
  json_decref(r);
  r = ws_reply(&wb, 9);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = V4("sns/friend_check", "{\"From_Account\":\"d\",\"To_Account\":[\"b\"],\"CheckType\":\"CheckResult_Type_Single\"}");
  assert_string_equal(jstr(first(r, "InfoItem"), "Relation"), "CheckResult_Type_AWithB");
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "deferred"), 2);
  wsc_close(&wb);
}

/* a's send to b waits in the window of b's deletion (b is named by it); a's connection closes while it waits
 * (the server has let go of it before the deletion ends), and the deletion fails: the send is dropped unrun —
 * nothing stored, no crash (ASan). On main it did not wait: it was stored once the writer went on. */
static void test_closed_connection_drops_waiting_send(void **st)
{
  (void)st;
  wsc_t wa;
  start("account_groups:1");
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  int del = delete_b_held();
  ws_send_op(&wa, 10, "send", "\"to\":\"b\",\"random\":10,\"body\":" TEXT("after the close"));
  gate_waiting(1);
  assert_int_equal(shutdown(wa.fd, SHUT_WR), 0);
  for (int waited = 0; waited < 10000 && e2e_server_holds(&srv, wa.fd); waited += 20) usleep(20000);
  assert_false(e2e_server_holds(&srv, wa.fd));
  wsc_close(&wa);
  e2e_sync_hold(hold, 0);
  delete_b_failed(del);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  json_t *r = V4("openim/admin_getroammsg", "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,"
                                          "\"MinTime\":0,\"MaxTime\":4294967295}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgCnt"), 0);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "deferred"), 1);
}

/* The messages group_msg_get_simple lists of group (at most 10). */
static size_t group_msg_count(const char *group)
{
  json_t *r = V4("group_open_http_svc/group_msg_get_simple", "{\"GroupId\":\"%s\",\"ReqMsgNumber\":10}", group);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t n = json_array_size(json_object_get(r, "RspMsgList"));
  json_decref(r);
  return n;
}

/* b is muted (setnospeaking: one-to-one and group messages) and owns a group. b's `send` to a and `group_send` in
 * the window of b's deletion, which then fails: they wait (the purge took b's META, its global mute, out of memory)
 * and answer what stayed — 20012 and 10017; nothing stored. These paths of §101 had no test (§103). */
static void test_muted_sends_refused_after_failed_delete(void **st)
{
  (void)st;
  wsc_t wb;
  start("account_groups:1");
  expect_ok(V4("group_open_http_svc/create_group", "{\"Owner_Account\":\"b\",\"Type\":\"Public\",\"Name\":\"m\","
                                                   "\"GroupId\":\"mute-g\",\"MemberList\":[{\"Member_Account\":\"a\"}]}"));
  expect_ok(V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"b\",\"C2CmsgNospeakingTime\":600,"
                                              "\"GroupmsgNospeakingTime\":600}"));
  size_t group_msgs = group_msg_count("mute-g"); /* the group's own tips */
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  int del = delete_b_held();
  ws_send_op(&wb, 11, "send", "\"to\":\"a\",\"random\":11,\"body\":" TEXT("muted"));
  ws_send_op(&wb, 12, "group_send", "\"group_id\":\"mute-g\",\"random\":12,\"body\":" TEXT("muted in the group"));
  gate_waiting(2);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 2);
  e2e_sync_hold(hold, 0);
  delete_b_failed(del);
  json_t *r = ws_reply(&wb, 11);
  assert_int_equal(jint(r, "code"), 20012);
  json_decref(r);
  r = ws_reply(&wb, 12);
  assert_int_equal(jint(r, "code"), 10017);
  json_decref(r);
  r = V4("openim/admin_getroammsg", "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,"
                                   "\"MinTime\":0,\"MaxTime\":4294967295}");
  assert_int_equal(jint(r, "MsgCnt"), 0);
  json_decref(r);
  assert_int_equal(group_msg_count("mute-g"), group_msgs);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "deferred"), 2);
  wsc_close(&wb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_failed_delete_shows_nothing, stop),
    cmocka_unit_test_teardown(test_committed_delete_answers_after, stop),
    cmocka_unit_test_teardown(test_blocked_send_refused_after_failed_delete, stop),
    cmocka_unit_test_teardown(test_ws_friend_ops_answer_durable_state, stop),
    cmocka_unit_test_teardown(test_closed_connection_drops_waiting_send, stop),
    cmocka_unit_test_teardown(test_muted_sends_refused_after_failed_delete, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
