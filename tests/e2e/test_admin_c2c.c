/* End-to-end: the service's own samples of openim/sendmsg and batchsendmsg
 * leave From_Account out (the App admin sends) — on a fresh app, where the
 * admin has never been imported (docs/decisions/messaging-c2c-checks2.md §73):
 *  - sendmsg without From_Account is stored and pushed to the recipient with
 *    from = the admin's identifier; the admin's identifier is made an
 *    account of the app by that send (account_check: Imported), once:
 *    a second send makes none (registrations), and it is no login (MAU);
 *    admin_getroammsg shows the message from both sides, the recipient
 *    replies to "administrator" over the WebSocket, and a restart keeps it
 *    all (it answered 90008 "the admin is not an imported account");
 *  - a send that is refused (bad body, unknown To_Account) makes no account;
 *  - batchsendmsg without From_Account does the same when it reaches a
 *    target; a batch to nobody answers as before and makes no account;
 *  - at the edition's account cap the send is refused with 70398, naming
 *    the admin, and nothing is made or sent.
 * Each test has its own app (a fresh admin each). */
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
static uint32_t app, app_b, app_cap;
static char key[80], key_b[80], key_cap[80];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  e2e_make_app(&srv, "china", &app_b, key_b);
  e2e_make_app(&srv, "china", &app_cap, key_cap);
  return e2e_server_start(&srv, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* A REST call of app a (key k) as administrator, whose reply must be 200: the parsed reply (caller decrefs). */
static json_t *call_of(uint32_t a, const char *k, const char *cmd, const char *body)
{
  json_t *r = v4(srv.port, a, k, cmd, "%s", body);
  if (!r) fail_msg("%s: no JSON reply with status 200", cmd);
  return r;
}

static json_int_t code_of(uint32_t a, const char *k, const char *cmd, const char *body)
{
  json_t *r = call_of(a, k, cmd, body);
  json_int_t code = jint(r, "ErrorCode");
  json_decref(r);
  return code;
}

/* account_check of one UserID: "Imported" or "NotImported". */
static const char *status_of(uint32_t a, const char *k, const char *user)
{
  static char out[32];
  char body[128];
  snprintf(body, sizeof body, "{\"CheckItem\":[{\"UserID\":\"%s\"}]}", user);
  json_t *r = call_of(a, k, "im_open_login_svc/account_check", body);
  snprintf(out, sizeof out, "%s", jstr(json_array_get(json_object_get(r, "ResultItem"), 0), "AccountStatus"));
  json_decref(r);
  return out;
}

/* admin_getroammsg of user with peer: the messages' "From_Account:text" joined by "," into out. */
static void roam(uint32_t a, const char *k, const char *user, const char *peer, char *out, size_t cap)
{
  char body[256];
  snprintf(body, sizeof body, "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20,\"MinTime\":0,\"MaxTime\":0}",
           user, peer);
  json_t *r = call_of(a, k, "openim/admin_getroammsg", body), *m;
  size_t i;
  if (jint(r, "ErrorCode")) fail_msg("admin_getroammsg: %s", json_dumps(r, JSON_COMPACT));
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MsgList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s", out[0] ? "," : "", jstr(m, "From_Account"),
             jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"));
  json_decref(r);
}

/* The app's usage this month (the billing zone's, UTC+8): its MAU and the registrations of all its days. */
static void usage_now(uint32_t a, json_int_t *mau, json_int_t *registrations)
{
  static char out[1 << 16];
  char month[16];
  time_t t = time(NULL) + 8 * 3600;
  strftime(month, sizeof month, "%Y-%m", gmtime(&t));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month %s --json", a, month), 0);
  json_t *o = json_loads(out, 0, NULL), *d;
  size_t i;
  assert_non_null(o);
  *mau = json_integer_value(json_object_get(o, "mau"));
  *registrations = 0;
  json_array_foreach(json_object_get(o, "days"), i, d) *registrations += json_integer_value(json_object_get(d, "registrations"));
  json_decref(o);
}

/* ---- sendmsg without From_Account on a fresh app ------------------------------------------------ */
static void test_admin_sends_on_a_fresh_app(void **st)
{
  (void)st;
  char seen[512];
  json_int_t mau, reg;
  v4_ok(call_of(app, key, "im_open_login_svc/account_import", "{\"UserID\":\"ad_bob\"}"));
  assert_string_equal(status_of(app, key, "administrator"), "NotImported");
  /* refused sends make no account */
  assert_int_equal(code_of(app, key, "openim/sendmsg", "{\"To_Account\":\"ad_bob\",\"MsgRandom\":1,\"MsgBody\":[]}"), 90007);
  assert_int_equal(code_of(app, key, "openim/sendmsg",
                           "{\"To_Account\":\"ad_nobody\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}"), 90012);
  assert_string_equal(status_of(app, key, "administrator"), "NotImported");
  wsc_t bob;
  assert_int_equal(wsc_login(&bob, srv.port, app, key, "ad_bob", "Web"), 0);
  json_t *ev = wsc_sync_live(&bob);
  assert_non_null(ev);
  json_decref(ev);
  /* the service's sample: no From_Account */
  json_t *r = call_of(app, key, "openim/sendmsg",
                      "{\"SyncOtherMachine\":2,\"To_Account\":\"ad_bob\",\"MsgLifeTime\":60,\"MsgRandom\":1287657,"
                      "\"MsgBody\":" TEXT("hi from the admin") "}");
  if (jint(r, "ErrorCode")) fail_msg("sendmsg without From_Account: %s", json_dumps(r, JSON_COMPACT));
  assert_true(jstr(r, "MsgKey")[0] != 0);
  json_decref(r);
  json_t *p = wsc_push(&bob, "msg", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "administrator");
  assert_string_equal(jstr(p, "msg.from"), "administrator");
  json_decref(p);
  assert_string_equal(status_of(app, key, "administrator"), "Imported");
  roam(app, key, "ad_bob", "administrator", seen, sizeof seen);
  assert_string_equal(seen, "administrator:hi from the admin");
  /* the recipient replies to the admin */
  r = wsc_rpc(&bob, "send", "\"to\":\"administrator\",\"random\":7,\"body\":" TEXT("hi back"));
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("reply to administrator: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  /* a second send, From_Account "" (absent), makes no second account */
  v4_ok(call_of(app, key, "openim/sendmsg",
                "{\"From_Account\":\"\",\"To_Account\":\"ad_bob\",\"MsgRandom\":2,\"MsgBody\":" TEXT("again") "}"));
  roam(app, key, "administrator", "ad_bob", seen, sizeof seen); /* the first was SyncOtherMachine 2: not the admin's */
  assert_string_equal(seen, "administrator:again,ad_bob:hi back");
  roam(app, key, "ad_bob", "administrator", seen, sizeof seen);
  assert_string_equal(seen, "administrator:again,ad_bob:hi back,administrator:hi from the admin");
  usage_now(app, &mau, &reg);
  assert_int_equal(reg, 2); /* ad_bob's import and the admin's account */
  assert_int_equal(mau, 1); /* ad_bob's login; the admin's sends are no login */
  wsc_close(&bob);
  /* a restart keeps it all */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_string_equal(status_of(app, key, "administrator"), "Imported");
  roam(app, key, "ad_bob", "administrator", seen, sizeof seen);
  assert_string_equal(seen, "administrator:again,ad_bob:hi back,administrator:hi from the admin");
  v4_ok(call_of(app, key, "openim/sendmsg", "{\"To_Account\":\"ad_bob\",\"MsgRandom\":3,\"MsgBody\":" TEXT("after") "}"));
  usage_now(app, &mau, &reg);
  assert_int_equal(reg, 2);
  assert_int_equal(mau, 1);
  /* bob's fresh device syncs the admin's messages */
  assert_int_equal(wsc_login(&bob, srv.port, app, key, "ad_bob", "PC"), 0);
  ev = wsc_sync_live(&bob);
  assert_non_null(ev);
  size_t i, n = 0;
  json_t *e;
  json_array_foreach(ev, i, e)
    if (!strcmp(jstr(e, "type"), "msg") && !strcmp(jstr(e, "msg.from"), "administrator")) n++;
  assert_int_equal(n, 3);
  json_decref(ev);
  wsc_close(&bob);
}

/* ---- batchsendmsg without From_Account ------------------------------------------------------------ */
static void test_admin_batch_on_a_fresh_app(void **st)
{
  (void)st;
  char seen[512];
  v4_ok(call_of(app_b, key_b, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"bb_1\",\"bb_2\"]}"));
  /* a batch to nobody: as before, and no account made */
  json_t *r = call_of(app_b, key_b, "openim/batchsendmsg",
                      "{\"To_Account\":[\"bb_none1\",\"bb_none2\"],\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}");
  assert_int_equal(jint(r, "ErrorCode"), 90012);
  assert_json_is(json_object_get(r, "ErrorList"),
                 "[{\"To_Account\":\"bb_none1\",\"ErrorCode\":70107},{\"To_Account\":\"bb_none2\",\"ErrorCode\":70107}]");
  json_decref(r);
  assert_string_equal(status_of(app_b, key_b, "administrator"), "NotImported");
  /* the service's sample: no From_Account */
  r = call_of(app_b, key_b, "openim/batchsendmsg",
              "{\"SyncOtherMachine\":2,\"To_Account\":[\"bb_1\",\"bb_none\",\"bb_2\"],\"MsgRandom\":19901224,"
              "\"MsgBody\":" TEXT("to all") "}");
  if (jint(r, "ErrorCode")) fail_msg("batchsendmsg without From_Account: %s", json_dumps(r, JSON_COMPACT));
  assert_json_is(json_object_get(r, "ErrorList"), "[{\"To_Account\":\"bb_none\",\"ErrorCode\":70107}]");
  json_decref(r);
  assert_string_equal(status_of(app_b, key_b, "administrator"), "Imported");
  roam(app_b, key_b, "bb_1", "administrator", seen, sizeof seen);
  assert_string_equal(seen, "administrator:to all");
  roam(app_b, key_b, "bb_2", "administrator", seen, sizeof seen);
  assert_string_equal(seen, "administrator:to all");
}

/* ---- the edition's account cap -------------------------------------------------------------------- */
static void test_admin_at_the_account_cap(void **st)
{
  (void)st;
  char body[4096];
  /* fill the app to its edition's cap, 100 UserIDs at a time, until an import fails */
  int full = 0;
  for (int round = 0; round < 20 && !full; round++) {
    size_t n = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
    for (int i = 0; i < 100; i++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"cap_%d\"", i ? "," : "", round * 100 + i);
    snprintf(body + n, sizeof body - n, "]}");
    json_t *r = call_of(app_cap, key_cap, "im_open_login_svc/multiaccount_import", body);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    full = json_array_size(json_object_get(r, "FailAccounts")) > 0;
    json_decref(r);
  }
  assert_true(full);
  json_t *r = call_of(app_cap, key_cap, "openim/sendmsg", "{\"To_Account\":\"cap_0\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}");
  assert_int_equal(jint(r, "ErrorCode"), 70398);
  assert_non_null(strstr(jstr(r, "ErrorInfo"), "App admin administrator"));
  json_decref(r);
  assert_string_equal(status_of(app_cap, key_cap, "administrator"), "NotImported");
  r = call_of(app_cap, key_cap, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"cap_0\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 0);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_admin_sends_on_a_fresh_app),
    cmocka_unit_test(test_admin_batch_on_a_fresh_app),
    cmocka_unit_test(test_admin_at_the_account_cap),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
