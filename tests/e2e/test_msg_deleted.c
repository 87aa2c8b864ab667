/* End-to-end: one-to-one messages of an account since deleted
 * (docs/rest-api-accounts.md account_delete, docs/protocol.md history): its messages
 * keep its UserID in its peers' sync (`from`, `to`, `peer`), REST
 * admin_getroammsg and WebSocket history (the peer asks by its UserID while
 * no account has it), also after a restart; they showed "" (the name came
 * from the accounts row, deleted). It is no account: not counted, not
 * imported for account_check, not in the lists, no message to it. A
 * re-import of the UserID is a new account with a new number and an empty
 * conversation, and the old messages still name it. Its devices and its
 * peers' tell the new account from the old one: the login answers the
 * account's number (account_no, §75) and every one-to-one event, the send
 * and history replies and the list name the peer's (peer_no, §76).
 * Pinned conversations list latest pin first also for pins within one
 * second (`conversations`, recentcontact/get_list): they followed last
 * message time there (the pin time is kept in seconds; migration 38 adds a
 * pin order). */
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

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* REST sendmsg from → to with text (also to the sender's devices); must succeed. */
static void send_rest(const char *from, const char *to, const char *text)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"SyncOtherMachine\":1,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, to, rand(), text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg %s -> %s: %s", from, to, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void delete_account(const char *user)
{
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"%s\"}]}", user);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
}

/* "from>to:text" of every message event of user's sync from cursor 0, joined by "," */
static void sync_msgs(const char *user, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "PC"), 0);
  json_t *evs = wsc_sync_live(&c), *e;
  assert_non_null(evs);
  size_t i;
  out[0] = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "msg")) continue;
    json_t *m = json_object_get(e, "msg");
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s>%s:%s", out[0] ? "," : "", jstr(e, "peer"), jstr(m, "from"),
             jstr(m, "to"), jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text"));
  }
  json_decref(evs);
  wsc_close(&c);
}

/* admin_getroammsg of op with peer: "From>To:text" oldest first, or "err N" */
static void roam(const char *op, const char *peer, char *out, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":%lld}", op,
                 peer, (long long)time(NULL) + 100);
  assert_non_null(r);
  out[0] = 0;
  if (jint(r, "ErrorCode")) { snprintf(out, cap, "err %lld", (long long)jint(r, "ErrorCode")); json_decref(r); return; }
  json_t *l = json_object_get(r, "MsgList");
  for (size_t i = json_array_size(l); i-- > 0;) {
    json_t *m = json_array_get(l, i);
    snprintf(out + strlen(out), cap - strlen(out), "%s%s>%s:%s", out[0] ? "," : "", jstr(m, "From_Account"),
             jstr(m, "To_Account"), jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"));
  }
  json_decref(r);
}

/* WebSocket history of user with peer: "from>to:text" oldest first, or "err N" */
static void history(const char *user, const char *peer, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Mac"), 0);
  json_t *r = wsc_rpc(&c, "history", "\"peer\":\"%s\",\"limit\":100", peer);
  assert_non_null(r);
  out[0] = 0;
  if (jint(r, "code")) snprintf(out, cap, "err %lld", (long long)jint(r, "code"));
  json_t *l = json_object_get(r, "msgs");
  for (size_t i = json_array_size(l); i-- > 0;) {
    json_t *m = json_array_get(l, i);
    snprintf(out + strlen(out), cap - strlen(out), "%s%s>%s:%s", out[0] ? "," : "", jstr(m, "from"), jstr(m, "to"),
             jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text"));
  }
  json_decref(r);
  wsc_close(&c);
}

/* the app's accounts as `imcloud app show --json` counts them */
static long long app_accounts(void)
{
  static char out[1 << 14];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app show %u --json", app), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  long long n = jint(o, "accounts");
  json_decref(o);
  return n;
}

/* account_check's AccountStatus of user */
static void check_status(const char *user, const char *want)
{
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"%s\"}]}", user);
  assert_non_null(r);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "ResultItem"), 0), "AccountStatus"), want);
  json_decref(r);
}

/* the peers of user's recentcontact/get_list, joined by "," */
static void contacts(const char *user, char *out, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"%s\",\"TimeStamp\":0,"
                 "\"StartIndex\":0,\"TopTimeStamp\":0,\"TopStartIndex\":0,\"AssistFlags\":15}", user);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "SessionItem"), i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", jstr(e, "To_Account"));
  json_decref(r);
}

/* ---- a deleted account's messages keep its name -------------------------------------------- */
static void expect_named(const char *want_sync)
{
  char out[4096];
  sync_msgs("dn_a", out, sizeof out);
  assert_string_equal(out, want_sync);
  roam("dn_a", "dn_b", out, sizeof out);
  assert_string_equal(out, "dn_b>dn_a:one,dn_a>dn_b:two");
  history("dn_a", "dn_b", out, sizeof out);
  assert_string_equal(out, "dn_b>dn_a:one,dn_a>dn_b:two");
}

static void test_deleted_account_keeps_its_name(void **st)
{
  (void)st;
  const char *const u[] = { "dn_a", "dn_b", "dn_c", NULL };
  users(u);
  send_rest("dn_b", "dn_a", "one");
  send_rest("dn_a", "dn_b", "two");
  send_rest("dn_c", "dn_a", "three");
  long long before = app_accounts();
  delete_account("dn_b");
  const char *want = "dn_b:dn_b>dn_a:one,dn_b:dn_a>dn_b:two,dn_c:dn_c>dn_a:three";
  expect_named(want);
  /* it is no account: not counted, not imported, no conversation in the list, no message to it */
  assert_int_equal(app_accounts(), before - 1);
  check_status("dn_b", "NotImported");
  char out[4096];
  contacts("dn_a", out, sizeof out);
  assert_string_equal(out, "dn_c");
  json_t *r = v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"dn_a\",\"To_Account\":\"dn_b\","
                 "\"MsgRandom\":7,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]}");
  assert_non_null(r);
  assert_int_not_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = v4(srv.port, app, key, "openim/admin_getroammsg", "{\"Operator_Account\":\"dn_b\",\"Peer_Account\":\"dn_a\","
         "\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":%lld}", (long long)time(NULL) + 100);
  assert_non_null(r);
  assert_int_not_equal(jint(r, "ErrorCode"), 0); /* the history is read from a live account's side */
  json_decref(r);
  /* after a restart, the same (the registry reads the deleted accounts' names back) */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  expect_named(want);
  /* a re-import is a new account with a new number: the old messages still name dn_b, the new
   * conversation is empty until a message */
  users((const char *const[]){ "dn_b", NULL });
  check_status("dn_b", "Imported");
  assert_int_equal(app_accounts(), before);
  sync_msgs("dn_a", out, sizeof out);
  assert_string_equal(out, want);
  roam("dn_a", "dn_b", out, sizeof out);
  assert_string_equal(out, "");
  history("dn_a", "dn_b", out, sizeof out);
  assert_string_equal(out, "");
  send_rest("dn_b", "dn_a", "four");
  roam("dn_a", "dn_b", out, sizeof out);
  assert_string_equal(out, "dn_b>dn_a:four");
  sync_msgs("dn_b", out, sizeof out);
  assert_string_equal(out, "dn_a:dn_b>dn_a:four");
}

/* ---- an account deleted and imported again: its devices are told ------------------------------ */
/* Log user in on a fresh connection of c: the login reply's account_no (-1: the reply has none). */
static long long login_account_no(wsc_t *c, const char *user)
{
  char reply[512];
  memset(c, 0, sizeof *c);
  c->next_id = 100;
  c->fd = e2e_ws_login(srv.port, app, key, user, "iPad", reply, sizeof reply);
  assert_true(c->fd >= 0);
  json_t *o = json_loads(reply, 0, NULL);
  assert_non_null(o);
  json_t *n = json_object_get(o, "account_no");
  long long v = json_is_integer(n) ? (long long)json_integer_value(n) : -1;
  json_decref(o);
  return v;
}

/* The texts of the msg events of one sync page of c from cursor (want: a page that completes). */
static void sync_page_texts(wsc_t *c, unsigned cursor, char *out, size_t cap)
{
  json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u", cursor), *e;
  assert_non_null(r);
  if (jint(r, "code") != 0 || !json_is_true(json_object_get(r, "complete"))) fail_msg("sync: %s", json_dumps(r, 0));
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "events"), i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
             jstr(json_array_get(json_object_get(json_object_get(e, "msg"), "body"), 0), "MsgContent.Text"));
  json_decref(r);
}

/* A device keeps its cursor (the last useq it applied) across reconnects. The account deleted and
 * imported again is a new account whose events count from useq 1: the old cursor names events of
 * the old account, so a sync from it skipped as many of the new account's events, silently (or
 * answered 70402 while the new one had fewer). The login reply names the account (account_no, a
 * number never given again): a device whose kept number differs drops what it holds and syncs
 * from 0. */
static void test_recreated_account_is_told(void **st)
{
  (void)st;
  const char *const u[] = { "rc_a", "rc_b", NULL };
  users(u);
  wsc_t a;
  long long first = login_account_no(&a, "rc_a");
  assert_true(first > 0);
  send_rest("rc_b", "rc_a", "old1");
  send_rest("rc_b", "rc_a", "old2");
  send_rest("rc_b", "rc_a", "old3");
  char out[512];
  sync_page_texts(&a, 0, out, sizeof out);
  assert_string_equal(out, "old1,old2,old3"); /* the device holds cursor 3 of that account */
  wsc_close(&a);
  /* the same account logs in again: the same number */
  assert_int_equal(login_account_no(&a, "rc_a"), first);
  wsc_close(&a);
  delete_account("rc_a");
  users(u);
  send_rest("rc_b", "rc_a", "new1");
  send_rest("rc_b", "rc_a", "new2");
  send_rest("rc_b", "rc_a", "new3");
  send_rest("rc_b", "rc_a", "new4");
  long long second = login_account_no(&a, "rc_a");
  assert_true(second > 0);
  assert_true(second != first); /* the device knows its cursor is another account's */
  /* what the old cursor would have given: the new account's first three events skipped */
  sync_page_texts(&a, 3, out, sizeof out);
  assert_string_equal(out, "new4");
  sync_page_texts(&a, 0, out, sizeof out);
  assert_string_equal(out, "new1,new2,new3,new4");
  wsc_close(&a);
}

/* The peer's devices: b holds its conversation with a (seq 1, 2, 3). a is deleted and imported again: its
 * conversation with b is a new one, whose first message has seq 1 again, and reached b's devices as `msg`
 * with peer a and seq 1 — a client that keeps messages by peer and seq took it for the old first message.
 * Every C2C event, the send reply, history and the list name the peer's number (peer_no): another number
 * is another conversation. */
static void test_recreated_peer_is_told(void **st)
{
  (void)st;
  const char *const u[] = { "rp_a", "rp_b", NULL };
  users(u);
  wsc_t b, a;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "rp_b", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  long long old_a = login_account_no(&a, "rp_a");
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"rp_b\",\"body\":" TEXT("old1"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *p = wsc_push(&b, "msg", 5000);
  assert_non_null(p);
  assert_int_equal(jint(p, "msg.seq"), 1);
  assert_int_equal(jint(p, "peer_no"), old_a);
  json_decref(p);
  wsc_close(&a);
  delete_account("rp_a");
  users(u);
  long long new_a = login_account_no(&a, "rp_a");
  assert_true(new_a != old_a);
  json_decref(wsc_sync_live(&a));
  r = wsc_rpc(&a, "send", "\"to\":\"rp_b\",\"body\":" TEXT("new1"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  /* the same peer and seq as the old first message, another peer_no */
  p = wsc_push(&b, "msg", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "rp_a");
  assert_int_equal(jint(p, "msg.seq"), 1);
  assert_int_equal(jint(p, "peer_no"), new_a);
  json_decref(p);
  /* a sync from 0 names each event's conversation: the old one's end between them (§79) */
  r = wsc_rpc(&b, "sync", "\"cursor\":0");
  assert_non_null(r);
  json_t *evs = json_object_get(r, "events");
  assert_int_equal(json_array_size(evs), 3);
  assert_int_equal(jint(json_array_get(evs, 0), "peer_no"), old_a);
  assert_string_equal(jstr(json_array_get(evs, 1), "type"), "conv_delete");
  assert_string_equal(jstr(json_array_get(evs, 1), "reason"), "account_deleted");
  assert_int_equal(jint(json_array_get(evs, 1), "peer_no"), old_a);
  assert_int_equal(jint(json_array_get(evs, 2), "peer_no"), new_a);
  json_decref(r);
  /* the send reply, history and the list: the conversation with the account of that UserID now */
  r = wsc_rpc(&b, "send", "\"to\":\"rp_a\",\"body\":" TEXT("back"));
  assert_non_null(r);
  assert_int_equal(jint(r, "seq"), 2);
  assert_int_equal(jint(r, "peer_no"), new_a);
  json_decref(r);
  r = wsc_rpc(&b, "history", "\"peer\":\"rp_a\"");
  assert_non_null(r);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2);
  assert_int_equal(jint(r, "peer_no"), new_a);
  json_decref(r);
  r = wsc_rpc(&b, "conversations", "%s", "");
  assert_non_null(r);
  json_t *cv = json_array_get(json_object_get(r, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "rp_a");
  assert_int_equal(jint(cv, "peer_no"), new_a);
  json_decref(r);
  /* the new account's own device reads the same numbers: its peer b, and the message pushed to it */
  p = wsc_push(&a, "msg", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "rp_b");
  assert_true(jint(p, "peer_no") > 0 && jint(p, "peer_no") != new_a);
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- pins within one second: latest pin first --------------------------------------------- */
static void test_pins_in_one_second_latest_first(void **st)
{
  (void)st;
  const char *const u[] = { "ph_a", "ph_1", "ph_2", "ph_3", "ph_4", NULL };
  users(u);
  /* last message times (and numbers) order them 1, 2, 3, 4 among equals: the pins go the other way */
  send_rest("ph_4", "ph_a", "m4");
  send_rest("ph_3", "ph_a", "m3");
  send_rest("ph_2", "ph_a", "m2");
  send_rest("ph_1", "ph_a", "m1");
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ph_a", "Web"), 0);
  const char *order[] = { "ph_1", "ph_2", "ph_3" };
  for (int i = 0; i < 3; i++) {
    json_t *r = wsc_rpc(&a, "pin", "\"peer\":\"%s\",\"pinned\":true", order[i]);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  json_t *r = wsc_rpc(&a, "conversations", "%s", "");
  assert_non_null(r);
  char out[512] = "";
  json_t *cv;
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, cv)
    snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s%s", out[0] ? "," : "", jstr(cv, "peer"),
             json_is_true(json_object_get(cv, "pinned")) ? "*" : "");
  json_decref(r);
  assert_string_equal(out, "ph_3*,ph_2*,ph_1*,ph_4");
  contacts("ph_a", out, sizeof out);
  assert_string_equal(out, "ph_3,ph_2,ph_1,ph_4");
  /* an unpin and a pin again: it goes first */
  r = wsc_rpc(&a, "pin", "\"peer\":\"ph_2\",\"pinned\":false");
  json_decref(r);
  r = wsc_rpc(&a, "pin", "\"peer\":\"ph_1\",\"pinned\":true");
  json_decref(r);
  r = wsc_rpc(&a, "pin", "\"peer\":\"ph_2\",\"pinned\":true");
  json_decref(r);
  contacts("ph_a", out, sizeof out);
  assert_string_equal(out, "ph_2,ph_1,ph_3,ph_4");
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_deleted_account_keeps_its_name),
    cmocka_unit_test(test_pins_in_one_second_latest_first),
    cmocka_unit_test(test_recreated_account_is_told),
    cmocka_unit_test(test_recreated_peer_is_told),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
