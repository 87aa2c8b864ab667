/* End-to-end: an account deleted (REST im_open_login_svc/account_delete)
 * reaches its peers' devices (messaging-c2c-checks3.md §79). The deletion
 * removed each peer's conversation row with the account — the conversation
 * left their lists, its pin went — but sent them no event: their devices
 * kept the conversation (messages, pin, unread) until some later event
 * named another peer_no. Now each such peer gets a C2C `conv_delete` with
 * its next useq, in the deleting transaction: a live device as a push, an
 * offline one from `sync`, naming the deleted account's UserID and number
 * (`peer`, `peer_no`) with "reason":"account_deleted" and "cleared":false
 * (the peer's history with it stays). The deleted account's own devices are
 * closed 4003. A user with many peers tells every one of them, and a user
 * that had no conversation with it gets nothing. */
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
#include "e2e_check.h"
#include "e2e_fixture.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* REST sendmsg from → to (also to the sender's devices); must succeed. */
static void send_rest(const char *from, const char *to, const char *text)
{
  v4_ok(v4(srv.port, app, key, "openim/sendmsg", "{\"SyncOtherMachine\":1,\"From_Account\":\"%s\",\"To_Account\":\"%s\","
           "\"MsgRandom\":%d,\"MsgBody\":" TEXT("%s") "}", from, to, rand(), text));
}

static void delete_account(const char *user)
{
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"%s\"}]}", user);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
}

/* The account number user's login answers. */
static long long account_no(const char *user)
{
  char reply[512];
  int fd = e2e_ws_login(srv.port, app, key, user, "Android", reply, sizeof reply);
  assert_true(fd >= 0);
  close(fd);
  json_t *o = json_loads(reply, 0, NULL);
  assert_non_null(o);
  long long n = jint(o, "account_no");
  json_decref(o);
  assert_true(n > 0);
  return n;
}

/* e must be the conv_delete the deletion of account (peer, peer_no) made, with useq. */
static void expect_gone(json_t *e, long long useq, const char *peer, long long peer_no)
{
  assert_non_null(e);
  if (strcmp(jstr(e, "type"), "conv_delete") || jint(e, "useq") != useq || strcmp(jstr(e, "peer"), peer) ||
      jint(e, "peer_no") != peer_no || strcmp(jstr(e, "reason"), "account_deleted") ||
      !json_is_false(json_object_get(e, "cleared")) || jint(e, "time") <= 0)
    fail_msg("expected the conv_delete of %s (%lld) with useq %lld, got %s", peer, peer_no, useq,
             json_dumps(e, JSON_COMPACT));
}

/* The peers of c's `conversations`, "*" after a pinned one, joined by ",". */
static void conv_peers(wsc_t *c, char *out, size_t cap)
{
  json_t *r = wsc_rpc(c, "conversations", "%s", ""), *cv;
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "conversations"), i, cv)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s%s", out[0] ? "," : "", jstr(cv, "peer"),
             json_is_true(json_object_get(cv, "pinned")) ? "*" : "");
  json_decref(r);
}

/* A live peer (its conversation pinned) gets the push, an offline peer gets it from sync; both with the next useq. */
static void test_peers_online_and_offline_are_told(void **st)
{
  (void)st;
  const char *const u[] = { "ag_d", "ag_on", "ag_off", "ag_x", NULL };
  users(u);
  long long d_no = account_no("ag_d");
  send_rest("ag_d", "ag_on", "d1");
  send_rest("ag_x", "ag_on", "x1");
  send_rest("ag_off", "ag_d", "o1");
  wsc_t on, d;
  assert_int_equal(wsc_login(&on, srv.port, app, key, "ag_on", "Web"), 0);
  json_t *evs = wsc_sync_live(&on);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 2);
  assert_int_equal(jint(json_array_get(evs, 0), "peer_no"), d_no);
  json_decref(evs);
  /* ag_on pins its conversation with ag_d (useq 3) */
  json_t *r = wsc_rpc(&on, "pin", "\"peer\":\"ag_d\",\"pinned\":true");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *p = wsc_push(&on, "conv_pin", 5000);
  assert_non_null(p);
  assert_int_equal(jint(p, "useq"), 3);
  json_decref(p);
  char out[512];
  conv_peers(&on, out, sizeof out);
  assert_string_equal(out, "ag_d*,ag_x");
  /* the deleted account's own live device is closed 4003 */
  assert_int_equal(wsc_login(&d, srv.port, app, key, "ag_d", "iPad"), 0);
  json_decref(wsc_sync_live(&d));
  delete_account("ag_d");
  p = wsc_push(&on, "conv_delete", 5000);
  expect_gone(p, 4, "ag_d", d_no);
  json_decref(p);
  int cc = 0;
  for (json_t *f; (f = wsc_next(&d, 5000, &cc)) || !cc;) {
    if (!f) fail_msg("the deleted account's device was not closed");
    json_decref(f);
  }
  assert_int_equal(cc, 4003);
  wsc_close(&d);
  /* the list and the pin: gone; the next event follows without a gap */
  conv_peers(&on, out, sizeof out);
  assert_string_equal(out, "ag_x");
  send_rest("ag_x", "ag_on", "x2");
  p = wsc_push(&on, "msg", 5000);
  assert_non_null(p);
  assert_int_equal(jint(p, "useq"), 5);
  json_decref(p);
  /* a sync from 0 replays it in its place */
  r = wsc_rpc(&on, "sync", "\"cursor\":3");
  assert_non_null(r);
  evs = json_object_get(r, "events");
  assert_int_equal(json_array_size(evs), 2);
  expect_gone(json_array_get(evs, 0), 4, "ag_d", d_no);
  json_decref(r);
  wsc_close(&on);
  /* the offline peer: from sync, after its own message to ag_d */
  wsc_t off;
  assert_int_equal(wsc_login(&off, srv.port, app, key, "ag_off", "Web"), 0);
  evs = wsc_sync_live(&off);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 2);
  assert_string_equal(jstr(json_array_get(evs, 0), "type"), "msg");
  assert_int_equal(jint(json_array_get(evs, 0), "useq"), 1);
  expect_gone(json_array_get(evs, 1), 2, "ag_d", d_no);
  json_decref(evs);
  conv_peers(&off, out, sizeof out);
  assert_string_equal(out, "");
  wsc_close(&off);
  /* the history stays (cleared false): the peer still reads it by the UserID */
  r = v4(srv.port, app, key, "openim/admin_getroammsg", "{\"Operator_Account\":\"ag_off\",\"Peer_Account\":\"ag_d\","
         "\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":%lld}", (long long)time(NULL) + 100);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 1);
  json_decref(r);
  /* after a restart, the same from sync */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wsc_login(&off, srv.port, app, key, "ag_off", "Web"), 0);
  r = wsc_rpc(&off, "sync", "\"cursor\":1");
  assert_non_null(r);
  assert_int_equal(json_array_size(json_object_get(r, "events")), 1);
  expect_gone(json_array_get(json_object_get(r, "events"), 0), 2, "ag_d", d_no);
  json_decref(r);
  wsc_close(&off);
}

/* Every peer of a user with many conversations (some it started, some the peers did) is told, once; a
 * user without a conversation with it is not. */
static void test_many_peers_are_told(void **st)
{
  (void)st;
  enum { N = 60 };
  char names[N][16];
  const char *u[N + 3];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "am_p%02d", i);
    u[i] = names[i];
  }
  u[N] = "am_d";
  u[N + 1] = "am_none";
  u[N + 2] = NULL;
  users(u);
  long long d_no = account_no("am_d");
  for (int i = 0; i < N; i++) {
    if (i % 2) send_rest("am_d", names[i], "to");
    else send_rest(names[i], "am_d", "from");
  }
  delete_account("am_d");
  for (int i = 0; i < N; i++) {
    wsc_t c;
    assert_int_equal(wsc_login(&c, srv.port, app, key, names[i], "Web"), 0);
    json_t *evs = wsc_sync_live(&c);
    assert_non_null(evs);
    assert_int_equal(json_array_size(evs), 2);
    expect_gone(json_array_get(evs, 1), 2, "am_d", d_no);
    json_decref(evs);
    wsc_close(&c);
  }
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "am_none", "Web"), 0);
  json_t *evs = wsc_sync_live(&c);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 0);
  json_decref(evs);
  wsc_close(&c);
}

/* The device's frames until its close; the close code. Fails the test on a conv_delete before it (the
 * account goes: it is told nothing of another account the same call deletes, §87). */
static int closed_untold(wsc_t *c)
{
  int cc = 0;
  for (json_t *f; (f = wsc_next(c, 5000, &cc)) || !cc;) {
    if (!f) fail_msg("the deleted account's device was not closed");
    if (!strcmp(jstr(f, "type"), "conv_delete")) fail_msg("told before it went: %s", json_dumps(f, JSON_COMPACT));
    json_decref(f);
  }
  return cc;
}

/* Two accounts deleted in one call, peers of each other: neither is told of the other (the second got the
 * first's conv_delete, useq 3, just before its close); a third peer of both is told of both, in the call's
 * order. */
static void test_deleted_together_not_told(void **st)
{
  (void)st;
  const char *const u[] = { "at_a", "at_b", "at_c", NULL };
  users(u);
  long long a_no = account_no("at_a"), b_no = account_no("at_b");
  send_rest("at_a", "at_b", "ab");
  send_rest("at_c", "at_a", "ca");
  send_rest("at_c", "at_b", "cb");
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "at_b", "Web"), 0);
  json_t *evs = wsc_sync_live(&b);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 2);
  json_decref(evs);
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete",
                 "{\"DeleteItem\":[{\"UserID\":\"at_a\"},{\"UserID\":\"at_b\"}]}");
  v4_ok(r);
  assert_int_equal(closed_untold(&b), 4003);
  wsc_close(&b);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "at_c", "Web"), 0);
  evs = wsc_sync_live(&c);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 4);
  expect_gone(json_array_get(evs, 2), 3, "at_a", a_no);
  expect_gone(json_array_get(evs, 3), 4, "at_b", b_no);
  json_decref(evs);
  wsc_close(&c);
}

/* One account of a call whose deletion fails (its group rows: the fault site account_groups, its second
 * call) is rolled back whole — still an account, its peers' rows and events untouched — and its
 * ResultItem says so (70500); the other account of the call goes, and the one that stayed, its peer, is
 * told of it after all (it was left out as going too). It was deleted, its peers told, and answered
 * 70500 (the groups' error after the account row had gone). */
static void test_failed_item_rolls_back_alone(void **st)
{
  (void)st;
  const char *const u[] = { "af_a", "af_b", "af_p", NULL };
  users(u);
  long long b_no = account_no("af_b");
  send_rest("af_p", "af_a", "pa");
  send_rest("af_p", "af_b", "pb");
  send_rest("af_a", "af_b", "ab");
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete",
                 "{\"DeleteItem\":[{\"UserID\":\"af_b\"},{\"UserID\":\"af_a\"}]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *items = json_object_get(r, "ResultItem");
  assert_int_equal(json_array_size(items), 2);
  assert_string_equal(jstr(json_array_get(items, 0), "UserID"), "af_b");
  assert_int_equal(jint(json_array_get(items, 0), "ResultCode"), 0);
  assert_string_equal(jstr(json_array_get(items, 1), "UserID"), "af_a");
  assert_int_equal(jint(json_array_get(items, 1), "ResultCode"), 70500);
  json_decref(r);
  r = v4(srv.port, app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"af_a\"},{\"UserID\":\"af_b\"}]}");
  assert_non_null(r);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "ResultItem"), 0), "AccountStatus"), "Imported");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "ResultItem"), 1), "AccountStatus"), "NotImported");
  json_decref(r);
  /* af_p: told of af_b only; its conversation with af_a stays */
  wsc_t c;
  char out[256];
  assert_int_equal(wsc_login(&c, srv.port, app, key, "af_p", "Web"), 0);
  json_t *evs = wsc_sync_live(&c);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 3);
  expect_gone(json_array_get(evs, 2), 3, "af_b", b_no);
  json_decref(evs);
  conv_peers(&c, out, sizeof out);
  assert_string_equal(out, "af_a");
  wsc_close(&c);
  /* af_a: an account still, its list whole but af_b, told of af_b */
  assert_int_equal(wsc_login(&c, srv.port, app, key, "af_a", "Web"), 0);
  evs = wsc_sync_live(&c);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 3);
  expect_gone(json_array_get(evs, 2), 3, "af_b", b_no);
  json_decref(evs);
  conv_peers(&c, out, sizeof out);
  assert_string_equal(out, "af_p");
  wsc_close(&c);
}

/* A server whose second account deletion's group rows fail (faultsim.h account_groups). */
static int setup_fault(void **st)
{
  (void)st;
  setenv("IMCLOUD_TEST_FAIL", "account_groups:2", 1); /* the server inherits it */
  int rc = e2e_start(&srv, "china", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  return rc;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_peers_online_and_offline_are_told),
    cmocka_unit_test(test_many_peers_are_told),
    cmocka_unit_test(test_deleted_together_not_told),
  };
  const struct CMUnitTest fault[] = {
    cmocka_unit_test(test_failed_item_rolls_back_alone),
  };
  int failed = cmocka_run_group_tests_name("account_gone", tests, setup, teardown);
  return failed + cmocka_run_group_tests_name("account_gone_fault", fault, setup_fault, teardown);
}
