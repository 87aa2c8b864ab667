/* End-to-end: one-to-one retention when it changes (docs/delivery.md "What
 * is kept", docs/decisions/retention-addons.md), on the test clock.
 *
 *  - A message sent over the WebSocket (and one imported realtime) while
 *    the app keeps 7 days is synced for as long as the app keeps it, not
 *    for the 7 days in force when it was sent: after the app buys 2 months
 *    of roaming and 8 days pass, a device that syncs from cursor 0 gets
 *    both, as history does (the send stored the retention of its moment as
 *    the message's offline lifetime, so sync skipped them after 7 days). A
 *    REST sendmsg message keeps its MsgLifeTime (default 7 days): not
 *    synced after 8 days, still in history. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const int64_t start_s = 1795104000; /* 2026-11-20 00:00 UTC+8, the test clock's start */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-purge-interval-s", "1", NULL };
#define DAY 86400

#define TEXT(t) "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"
#define call(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static int setup(void **st)
{
  (void)st;
  char out[512];
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "review", auth, sizeof auth)) return -1;
  if (e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 1000000 --reference seed --json")) return -1;
  if (e2e_server_start(&srv, args)) return -1;
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"r\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  app = (uint32_t)jint(a, "sdkappid");
  snprintf(key, sizeof key, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", NULL });
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void advance(int64_t s)
{
  char body[64];
  snprintf(body, sizeof body, "{\"advance_s\":%lld}", (long long)s);
  json_decref(op_callf(srv.port, auth, 200, "POST", body, "/operator/v1/clock"));
}

static void roaming(int months)
{
  char body[96];
  snprintf(body, sizeof body, "{\"addon\":\"c2c_roaming_months\",\"value\":%d}", months);
  json_decref(op_callf(srv.port, auth, 201, "POST", body, "/operator/v1/apps/%u/addons", app));
}

/* The texts of user's sync from cursor 0 (message events), oldest first. */
static void sync_texts(const char *user, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  json_t *all = wsc_sync_live(&c);
  assert_non_null(all);
  json_t *e, *msgs = json_array();
  size_t i;
  json_array_foreach(all, i, e) if (json_object_get(e, "msg")) json_array_append(msgs, json_object_get(e, "msg"));
  msg_texts(msgs, "body", out, cap);
  json_decref(msgs);
  json_decref(all);
  wsc_close(&c);
}

static void roam_texts(const char *user, const char *peer, char *out, size_t cap)
{
  json_t *h = call("openim/admin_getroammsg",
                   "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}", user, peer);
  assert_int_equal(jint(h, "ErrorCode"), 0);
  msg_texts(json_object_get(h, "MsgList"), "MsgBody", out, cap);
  json_decref(h);
}

static void test_sync_follows_a_longer_retention(void **st)
{
  (void)st;
  char got[512];
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "alice", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"bob\",\"body\":" TEXT("ws") ",\"random\":1");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
  ok(call("openim/importmsg", "{\"SyncFromOldSystem\":5,\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgSeq\":2,"
                              "\"MsgRandom\":2,\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imp") "}", (long long)start_s - DAY));
  ok(call("openim/sendmsg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgRandom\":3,\"MsgBody\":" TEXT("rest") "}"));
  sync_texts("bob", got, sizeof got);
  assert_string_equal(got, "ws,imp,rest");
  roaming(2); /* 60 days */
  advance(8 * DAY);
  roam_texts("bob", "alice", got, sizeof got);
  assert_string_equal(got, "rest,imp,ws");
  sync_texts("bob", got, sizeof got);
  assert_string_equal(got, "ws,imp"); /* the REST message's MsgLifeTime (7 days) has passed */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sync_follows_a_longer_retention),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
