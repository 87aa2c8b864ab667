/* End-to-end: one-to-one corner cases found by the wave-23 review, against
 * the real server on the wall clock (docs/protocol.md, docs/rest-api-messages.md):
 *  - a refused sync page (cursor beyond the user's last event) leaves a
 *    live session live, and says why;
 *  - `read` with seq 0 reads nothing and sends no receipt;
 *  - a conversation deleted with 5 unread and brought back by a message
 *    counts 1 unread (it counted 6), on the WebSocket and in REST;
 *  - a conversation with an account since deleted leaves the lists (it
 *    stayed as a pinned "peer":"" no call could delete or unpin);
 *  - pinning a deleted conversation brings it back, pinned (it was pinned,
 *    counted in the 50, and listed nowhere);
 *  - a request whose id is not a string or an integer is refused unrun
 *    (a send ran and its reply said "id":null).
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

/* any reply (a frame with a code) */
static int match_type_resp_any(json_t *o, const void *arg)
{
  (void)arg;
  return json_object_get(o, "code") != NULL;
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* WebSocket send on c to peer; must succeed. */
static void send_ws(wsc_t *c, const char *to, const char *text)
{
  json_t *r = wsc_rpc(c, "send", "\"to\":\"%s\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]",
                      to, text);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("send to %s: %s", to, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* ---- a refused sync ------------------------------------------------------------------- */
static void test_refused_sync_stays_live(void **st)
{
  (void)st;
  const char *const u[] = { "rs_a", "rs_b", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "rs_a", "Web");
  login_live(&b, "rs_b", "Web");
  send_ws(&b, "rs_a", "one");
  json_t *p = wsc_push(&a, "msg", 5000);
  assert_non_null(p);
  json_decref(p);
  json_t *r = wsc_rpc(&a, "sync", "\"cursor\":99999");
  assert_int_equal(jint(r, "code"), 70402);
  assert_non_null(strstr(jstr(r, "msg"), "beyond the user's last event"));
  json_decref(r);
  send_ws(&b, "rs_a", "two"); /* before: never pushed, the session had gone quiet */
  p = wsc_push(&a, "msg", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"), "two");
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- read up to 0 ----------------------------------------------------------------------- */
static int64_t unread_of(wsc_t *c, const char *peer)
{
  json_t *r = wsc_rpc(c, "conversations", "%s", ""), *cv;
  size_t i;
  int64_t n = -1;
  json_array_foreach(json_object_get(r, "conversations"), i, cv) if (!strcmp(jstr(cv, "peer"), peer)) n = jint(cv, "unread");
  json_decref(r);
  return n;
}

static void test_read_seq_zero(void **st)
{
  (void)st;
  const char *const u[] = { "rz_a", "rz_b", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "rz_a", "Web");
  login_live(&b, "rz_b", "Web");
  for (int i = 0; i < 2; i++) {
    json_t *r = wsc_rpc(&b, "send", "\"to\":\"rz_a\",\"need_receipt\":true,\"body\":" TEXT("r"));
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  assert_int_equal(unread_of(&a, "rz_b"), 2);
  json_t *r = wsc_rpc(&a, "read", "\"peer\":\"rz_b\",\"seq\":0");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(unread_of(&a, "rz_b"), 2); /* before: 0, and two receipts for unread messages */
  assert_null(wsc_push(&b, "receipt", 500));
  r = wsc_rpc(&a, "read", "\"peer\":\"rz_b\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(unread_of(&a, "rz_b"), 0);
  json_t *p = wsc_push(&b, "receipt", 5000);
  assert_non_null(p);
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- a delete forgets the unread count ------------------------------------------------ */
static void test_delete_forgets_unread(void **st)
{
  (void)st;
  const char *const u[] = { "du_a", "du_b", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "du_a", "Web");
  login_live(&b, "du_b", "Web");
  for (int i = 0; i < 5; i++) send_ws(&b, "du_a", "old");
  assert_int_equal(unread_of(&a, "du_b"), 5);
  json_t *r = wsc_rpc(&a, "conv_delete", "\"peer\":\"du_b\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(unread_of(&a, "du_b"), -1); /* not listed */
  send_ws(&b, "du_a", "new");
  assert_int_equal(unread_of(&a, "du_b"), 1);
  r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"du_a\"}");
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 1);
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- a deleted peer ------------------------------------------------------------------------ */
static void test_deleted_peer_leaves_lists(void **st)
{
  (void)st;
  const char *const u[] = { "dp_a", "dp_b", "dp_c", NULL };
  users(u);
  wsc_t a;
  login_live(&a, "dp_a", "Web");
  send_ws(&a, "dp_b", "to b");
  send_ws(&a, "dp_c", "to c");
  json_t *r = wsc_rpc(&a, "pin", "\"peer\":\"dp_b\",\"pinned\":true");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"dp_b\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "conversations", "%s", "");
  json_t *convs = json_object_get(r, "conversations"), *cv;
  size_t i;
  json_array_foreach(convs, i, cv) if (!jstr(cv, "peer")[0]) fail_msg("a nameless conversation: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(convs), 1);
  assert_string_equal(jstr(json_array_get(convs, 0), "peer"), "dp_c");
  json_decref(r);
  r = v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"dp_a\",\"TimeStamp\":0,\"StartIndex\":0,"
         "\"TopTimeStamp\":0,\"TopStartIndex\":0,\"AssistFlags\":15}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "SessionItem")), 1);
  json_decref(r);
  wsc_close(&a);
}

/* ---- a pin after a delete ------------------------------------------------------------------ */
static void test_pin_after_delete_shows(void **st)
{
  (void)st;
  const char *const u[] = { "pd_a", "pd_b", NULL };
  users(u);
  wsc_t a;
  login_live(&a, "pd_a", "Web");
  send_ws(&a, "pd_b", "x");
  json_t *r = wsc_rpc(&a, "conv_delete", "\"peer\":\"pd_b\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(unread_of(&a, "pd_b"), -1);
  r = wsc_rpc(&a, "pin", "\"peer\":\"pd_b\",\"pinned\":true");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "conversations", "%s", "");
  json_t *cv = json_array_get(json_object_get(r, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "pd_b");
  assert_true(json_is_true(json_object_get(cv, "pinned")));
  assert_int_equal(jint(cv, "unread"), 0);
  json_decref(r);
  wsc_close(&a);
}

/* ---- ids a reply cannot echo ----------------------------------------------------------------- */
static void test_bad_id_refused(void **st)
{
  (void)st;
  const char *const u[] = { "bi_a", "bi_b", NULL };
  users(u);
  wsc_t a;
  login_live(&a, "bi_a", "Web");
  static const char *const ids[] = { "1.5", "true", "[7]", "{\"n\":7}" };
  char frame[512];
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    snprintf(frame, sizeof frame, "{\"id\":%s,\"op\":\"send\",\"to\":\"bi_b\",\"body\":" TEXT("x") "}", ids[i]);
    assert_int_equal(e2e_ws_send_text(a.fd, frame), 0);
    json_t *r = wsc_take(&a, match_type_resp_any, NULL, 5000);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 60003);
    json_decref(r);
  }
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"bi_a\",\"Peer_Account\":\"bi_b\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":%lld}",
                 (long long)time(NULL) + 10);
  assert_int_equal(jint(h, "MsgCnt"), 0); /* none ran */
  json_decref(h);
  wsc_close(&a);
  /* a login too (its fast path logged the user in and answered "id":null) */
  char sig[1024], login[2048], out[2048];
  e2e_usersig(app, key, "bi_a", 86400, sig, sizeof sig);
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  snprintf(login, sizeof login, "{\"id\":true,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"bi_a\",\"usersig\":\"%s\","
           "\"platform\":\"Web\",\"device_id\":\"d1\"}", app, sig);
  assert_int_equal(e2e_ws_send_text(fd, login), 0);
  assert_true(e2e_ws_recv_text(fd, out, sizeof out, 5000) >= 0);
  assert_non_null(strstr(out, "\"code\":60003"));
  assert_int_equal(e2e_ws_send_text(fd, "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  assert_true(e2e_ws_recv_text(fd, out, sizeof out, 5000) >= 0);
  assert_non_null(strstr(out, "\"code\":70003")); /* not logged in */
  /* a usersig too long says so (it said "UserSig is empty") */
  static char longsig[5001], big[6000];
  memset(longsig, 'a', 5000);
  snprintf(big, sizeof big, "{\"id\":3,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"bi_a\",\"usersig\":\"%s\","
           "\"platform\":\"Web\",\"device_id\":\"d1\"}", app, longsig);
  assert_int_equal(e2e_ws_send_text(fd, big), 0);
  assert_true(e2e_ws_recv_text(fd, out, sizeof out, 5000) >= 0);
  assert_non_null(strstr(out, "\"code\":70002"));
  assert_non_null(strstr(out, "longer than 4,096 bytes"));
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_refused_sync_stays_live),
    cmocka_unit_test(test_read_seq_zero),
    cmocka_unit_test(test_delete_forgets_unread),
    cmocka_unit_test(test_deleted_peer_leaves_lists),
    cmocka_unit_test(test_pin_after_delete_shows),
    cmocka_unit_test(test_bad_id_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
