/* End-to-end time travel with the test clock (`imcloud serve --test-clock`,
 * POST /operator/v1/clock; docs/operator-api.md "Test clock"): the clock
 * itself and an app's packages over time, each test on its own server and
 * data directory (tests/lib/e2e_clock.h; billing: test_clock_bill.c,
 * corrections and the day change: test_clock_corr.c):
 *  - the clock API: read, move, refuse moving backwards and bad bodies;
 *    without --test-clock the endpoints answer 403 TEST_CLOCK_OFF;
 *  - a pro package bought on 31 August through the operator API runs to
 *    29 September; grace from 30 September (limits of trial); on 7 October the
 *    day job suspends the app: its WebSocket session is closed with 4005,
 *    REST answers 60020; renewing resumes it; in grace an ultimate package's
 *    30 days of history are kept (not purged to trial's 7);
 *  - an order refused for lack of balance changes nothing; a postpaid package
 *    cannot be renewed (409) and runs on; references over 40 bytes refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_clock.h"


/* ---- the clock API ------------------------------------------------------------ */
static void test_clock_api(void **st)
{
  (void)st;
  json_t *o = callf(200, "GET", NULL, "/operator/v1/clock");
  assert_string_equal(jstr(o, "now"), "2026-10-31T00:00:00+08:00");
  assert_true(json_is_true(json_object_get(o, "test_clock")));
  json_decref(o);
  /* a move of one hour; the start-up jobs (due at once) may still be in it */
  o = callf(200, "POST", "{\"advance_s\":3600}", "/operator/v1/clock");
  assert_string_equal(jstr(o, "now"), "2026-10-31T01:00:00+08:00");
  assert_int_equal(jint(o, "now_s"), 1793376000 + 3600);
  assert_true(json_is_array(json_object_get(o, "ran")));
  json_decref(o);
  /* UTC form of the same instant plus a day: the day job runs at 00:00 +08:00 */
  json_t *ran = clock_to("2026-11-01T00:00:00+08:00");
  int day = 0, bill = 0;
  size_t i;
  json_t *r;
  json_array_foreach(ran, i, r) {
    if (!strcmp(jstr(r, "job"), "day")) { day++; assert_string_equal(jstr(r, "at"), "2026-11-01T00:00:00+08:00"); }
    if (!strcmp(jstr(r, "job"), "bill_run")) { bill++; assert_string_equal(jstr(r, "month"), "2026-10"); }
    assert_true(json_is_true(json_object_get(r, "ok")));
  }
  assert_int_equal(day, 1);
  assert_int_equal(bill, 1);
  /* the bill run comes before the day job at the same instant */
  assert_string_equal(jstr(json_array_get(ran, 0), "job"), "bill_run");
  json_decref(ran);
  o = callf(200, "POST", "{\"now\":\"2026-10-31T16:00:00Z\"}", "/operator/v1/clock"); /* = 2026-11-01T00:00+08:00 */
  assert_int_equal(json_array_size(json_object_get(o, "ran")), 0);
  json_decref(o);
  /* backwards, bad bodies: refused, the clock unchanged */
  o = callf(409, "POST", "{\"now\":\"2026-10-31T23:59:59+08:00\"}", "/operator/v1/clock");
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "CLOCK_BACKWARDS");
  json_decref(o);
  json_decref(callf(400, "POST", "{\"now\":\"2026-11-02\"}", "/operator/v1/clock"));
  json_decref(callf(400, "POST", "{\"advance_s\":-1}", "/operator/v1/clock"));
  json_decref(callf(400, "POST", "{\"advance_s\":1,\"now\":\"2026-11-02T00:00:00Z\"}", "/operator/v1/clock"));
  json_decref(callf(400, "POST", "{}", "/operator/v1/clock"));
  json_decref(callf(400, "POST", "{\"when\":1}", "/operator/v1/clock"));
  o = callf(200, "GET", NULL, "/operator/v1/clock");
  assert_string_equal(jstr(o, "now"), "2026-11-01T00:00:00+08:00");
  json_decref(o);
}

static int setup_real(void **st)
{
  (void)st;
  return start(NULL);
}

static void test_clock_off(void **st)
{
  (void)st;
  json_t *o = callf(403, "GET", NULL, "/operator/v1/clock");
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "TEST_CLOCK_OFF");
  json_decref(o);
  o = callf(403, "POST", "{\"advance_s\":86400}", "/operator/v1/clock");
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "TEST_CLOCK_OFF");
  json_decref(o);
}

/* ---- expiry, grace, suspension, renewal ------------------------------------------- */
static void test_package_lifecycle(void **st)
{
  (void)st;
  int64_t cust = new_customer("lc", 250000); /* 2,500 元: two pro periods (999 元 each) */
  char key[80];
  uint32_t app = new_app(cust, key);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_import", "{\"UserID\":\"u1\"}"), 0);
  /* bought on 31 August: T to T-1 with the month end clamped (L-2) */
  json_t *o = callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app);
  json_t *ord = json_object_get(o, "order");
  assert_string_equal(jstr(ord, "valid_from"), "2026-08-31");
  assert_string_equal(jstr(ord, "valid_to"), "2026-09-29");
  assert_int_equal(jint(ord, "price_fen"), 99900);
  assert_string_equal(jstr(json_object_get(o, "state"), "state"), "active");
  json_decref(o);
  o = callf(200, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app); /* the same order again: a replay */
  assert_true(json_is_true(json_object_get(o, "replayed")));
  json_decref(o);
  char reply[1024] = "";
  int ws = e2e_ws_login(srv.port, app, key, "u1", "Web", reply, sizeof reply);
  if (ws < 0) fail_msg("login: %s", reply);
  /* the package's last day, then the first grace day: limits of trial, still served */
  json_t *ran = clock_to("2026-09-29T12:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "suspended"), 0);
  json_decref(ran);
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(o, "state"), "active");
  json_decref(o);
  ran = clock_to("2026-09-30T00:00:00+08:00");
  json_decref(ran);
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(o, "state"), "grace");
  assert_string_equal(jstr(o, "limits_of"), "trial");
  assert_string_equal(jstr(o, "grace_until"), "2026-10-06");
  assert_string_equal(jstr(o, "status"), "active");
  json_decref(o);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  /* the last grace day passes: suspended at 00:00 on 7 October, the session closed with 4005 */
  ran = clock_to("2026-10-06T23:59:59+08:00");
  assert_int_equal(ran_sum(ran, "day", "suspended"), 0);
  json_decref(ran);
  ran = clock_to("2026-10-07T00:00:00+08:00");
  assert_int_equal(ran_sum(ran, "day", "suspended"), 1);
  json_decref(ran);
  char buf[4096];
  int op = 0, code = 0, n = 0;
  while (n++ < 10 && e2e_ws_recv(ws, &op, buf, sizeof buf, 3000, &code) >= 0 && op != 8) {}
  assert_int_equal(op, 8);
  assert_int_equal(code, 4005);
  close(ws);
  char by[16];
  assert_string_equal(app_status(app, by, sizeof by), "suspended");
  assert_string_equal(by, "lapse");
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 60020);
  assert_true(e2e_ws_login(srv.port, app, key, "u1", "Web", buf, sizeof buf) < 0);
  /* renewing resumes it with everything intact */
  o = callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app);
  assert_string_equal(jstr(json_object_get(o, "state"), "state"), "active");
  assert_string_equal(jstr(json_object_get(o, "state"), "status"), "active");
  assert_int_equal(jint(json_object_get(o, "order"), "period"), 1);
  json_decref(o);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  ws = e2e_ws_login(srv.port, app, key, "u1", "Web", NULL, 0);
  assert_true(ws >= 0);
  close(ws);
  /* operator suspension and resumption through the API */
  o = callf(200, "POST", "{}", "/operator/v1/apps/%u/suspend", app);
  assert_string_equal(jstr(json_object_get(o, "state"), "suspended_by"), "operator");
  json_decref(o);
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 60016);
  json_decref(callf(200, "POST", "{}", "/operator/v1/apps/%u/resume", app));
  assert_int_equal(v4_code(app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u1\"}]}"), 0);
  o = callf(200, "POST", "{\"on\":true}", "/operator/v1/apps/%u/auto-renew", app);
  assert_true(json_is_true(json_object_get(json_object_get(o, "state"), "auto_renew")));
  json_decref(o);
}

/* ---- a refused order changes nothing ----------------------------------------------- */
static void test_order_short_balance(void **st)
{
  (void)st;
  int64_t cust = new_customer("poor", 100);
  uint32_t app = new_app(cust, NULL);
  json_t *w0 = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  json_t *o = callf(402, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "WALLET_FUNDS");
  json_decref(o);
  o = callf(402, "POST", "{\"addon\":\"local_audit\"}", "/operator/v1/apps/%u/addons", app);
  json_decref(o);
  json_t *w1 = callf(200, "GET", NULL, "/operator/v1/customers/%lld/wallet", (long long)cust);
  assert_true(json_equal(w0, w1)); /* balance and ledger unchanged */
  assert_int_equal(jint(w1, "balance_fen"), 100);
  json_decref(w0);
  json_decref(w1);
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(o, "edition"), "trial");
  assert_string_equal(jstr(o, "state"), "free");
  json_decref(o);
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/addons", app);
  assert_int_equal(json_array_size(json_object_get(o, "addons")), 0);
  json_decref(o);
  /* bad input is refused by name */
  json_decref(callf(400, "POST", "{\"edition\":\"pro\",\"at\":\"2099-01-01\"}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(callf(400, "POST", "{\"edition\":\"pro\",\"colour\":1}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(callf(404, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/7/upgrade"));
  json_decref(callf(400, "POST", "{\"edition\":\"gold\"}", "/operator/v1/apps/%u/upgrade", app));
}

/* ---- grace keeps the stored data ----------------------------------------------------- */
/* In grace (and after the lapse) the limits fall back to trial's, but not
 * those on stored data: ultimate's 30 days of history stay (and a pro
 * app's history_days add-on, which a renewal brings back), so the
 * retention pass of a grace day purges nothing a renewal would want back
 * (it purged everything older than trial's 7 days, for good). */
static void test_grace_keeps_history(void **st)
{
  (void)st;
  int64_t cust = new_customer("gk", 3 * 299900);
  char key[80], key2[80];
  uint32_t app = new_app(cust, key), app2 = new_app(cust, key2);
  json_decref(callf(201, "POST", "{\"edition\":\"ultimate\"}", "/operator/v1/apps/%u/upgrade", app));
  /* pro keeps 7 days; its retention add-on 30 (it ends only with its next order: a renewal brings it back) */
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app2));
  json_decref(callf(201, "POST", "{\"addon\":\"history_days\",\"value\":30}", "/operator/v1/apps/%u/addons", app2));
  uint32_t apps[2] = { app, app2 };
  const char *keys[2] = { key, key2 };
  for (int i = 0; i < 2; i++)
    assert_int_equal(v4_code(apps[i], keys[i], "im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"ga\",\"gb\"]}"), 0);
  json_decref(clock_to("2026-09-15T12:00:00+08:00"));
  for (int i = 0; i < 2; i++)
    assert_int_equal(v4_code(apps[i], keys[i], "openim/sendmsg", "{\"From_Account\":\"ga\",\"To_Account\":\"gb\",\"MsgRandom\":7,"
                                                                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"kept\"}}]}"), 0);
  json_decref(clock_to("2026-10-02T12:00:00+08:00")); /* grace since 30 September; 17 days after the message */
  json_t *o2 = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app2);
  assert_string_equal(jstr(o2, "state"), "grace");
  assert_int_equal(jint(o2, "c2c_history_days"), 30);
  json_decref(o2);
  json_t *r2 = v4(srv.port, app2, key2, "openim/admin_getroammsg",
                  "{\"Operator_Account\":\"gb\",\"Peer_Account\":\"ga\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r2, "MsgCnt"), 1); /* the add-on's 30 days hold in grace too */
  json_decref(r2);
  json_t *o = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(jstr(o, "state"), "grace");
  assert_string_equal(jstr(o, "limits_of"), "trial");
  assert_int_equal(jint(o, "c2c_history_days"), 30);
  json_decref(o);
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"gb\",\"Peer_Account\":\"ga\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgCnt"), 1);
  json_decref(r);
  json_decref(callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app));
  r = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"gb\",\"Peer_Account\":\"ga\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "MsgCnt"), 1);
  json_decref(r);
}

/* ---- renewals that are not one ------------------------------------------------------- */
/* A postpaid package (intl, P-51) runs until the edition changes: `renew`
 * is refused (409) and the package keeps running (each renewal used to
 * record another order for the same month and end the package after it:
 * grace, then suspended). A reference over 40 bytes is refused by renew and
 * by add-ons as by upgrade (it was cut to 40 bytes, so two different
 * references named one order and the second answered "replayed"). */
static void test_renew_refusals(void **st)
{
  (void)st;
  int64_t cust = new_customer("pp", 100000000);
  char body[200];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"sg\",\"region\":\"singapore\"}", (long long)cust);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t sg = (uint32_t)jint(a, "sdkappid");
  char sgkey[80];
  snprintf(sgkey, sizeof sgkey, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", sg));
  assert_int_equal(v4_code(sg, sgkey, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"c1\",\"c2\",\"c3\"]}"), 0);
  assert_int_equal(v4_code(sg, sgkey, "group_open_http_svc/create_group", "{\"Type\":\"Community\",\"Name\":\"c\","
                                                                       "\"GroupId\":\"@TGS#_pp\",\"Owner_Account\":\"c1\"}"), 0);
  json_t *o = callf(409, "POST", "{\"reference\":\"ra\"}", "/operator/v1/apps/%u/renew", sg);
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "EXISTS");
  json_decref(o);
  json_decref(callf(409, "POST", "{}", "/operator/v1/apps/%u/renew", sg));
  /* past where a month's package bought today ends (29 November), its grace (to 6 December) and the
   * suspension (7 December) would be, not further: each day on the way runs the day job */
  json_decref(clock_to("2026-12-15T00:00:00+08:00"));
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", sg);
  assert_string_equal(jstr(o, "state"), "active");
  assert_string_equal(jstr(o, "status"), "active");
  assert_string_equal(jstr(o, "package_until"), "9999-12-31");
  json_decref(o);
  /* changed down and back up, then down again on the same day (P-57): the third order is not the first
   * one replayed (it answered 200 "replayed" and the edition stayed pro) */
  json_decref(callf(201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", sg));
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", sg));
  o = callf(409, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", sg);
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "EXISTS");
  json_decref(o);
  o = callf(201, "POST", "{\"edition\":\"standard\",\"reference\":\"down-again\"}", "/operator/v1/apps/%u/upgrade", sg);
  assert_string_equal(jstr(json_object_get(o, "state"), "edition"), "standard");
  json_decref(o);
  /* Standard has no communities (P-57): the one made on Pro takes no member and no message (both went on) */
  usleep(300 * 1000); /* the change log reaches the server's registry */
  assert_int_equal(v4_code(sg, sgkey, "group_open_http_svc/add_group_member", "{\"GroupId\":\"@TGS#_pp\",\"MemberList\":[{\"Member_Account\":\"c2\"}]}"), 11000);
  assert_int_equal(v4_code(sg, sgkey, "group_open_http_svc/send_group_msg", "{\"GroupId\":\"@TGS#_pp\",\"From_Account\":\"c1\",\"Random\":1,"
                                                                          "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]}"), 11000);
  /* references: 40 bytes taken, 41 refused, nothing recorded */
  uint32_t cn = new_app(cust, NULL);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", cn));
  char r40[41], b2[200];
  memset(r40, 'R', 40);
  r40[40] = 0;
  snprintf(b2, sizeof b2, "{\"reference\":\"%s-first\"}", r40);
  json_decref(callf(400, "POST", b2, "/operator/v1/apps/%u/renew", cn));
  snprintf(b2, sizeof b2, "{\"addon\":\"history_days\",\"value\":90,\"reference\":\"%s-x\"}", r40);
  json_decref(callf(400, "POST", b2, "/operator/v1/apps/%u/addons", cn));
  snprintf(b2, sizeof b2, "{\"addon\":\"local_audit\",\"reference\":\"%s-x\"}", r40);
  json_decref(callf(400, "POST", b2, "/operator/v1/apps/%u/addons", cn));
  o = callf(200, "GET", NULL, "/operator/v1/apps/%u/addons", cn);
  assert_int_equal(json_array_size(json_object_get(o, "addons")), 0);
  json_decref(o);
  snprintf(b2, sizeof b2, "{\"reference\":\"%s\"}", r40);
  o = callf(201, "POST", b2, "/operator/v1/apps/%u/renew", cn);
  assert_string_equal(jstr(json_object_get(o, "order"), "reference"), r40);
  json_decref(o);
  o = callf(200, "POST", b2, "/operator/v1/apps/%u/renew", cn); /* a retry: the same renewal */
  assert_true(json_is_true(json_object_get(o, "replayed")));
  json_decref(o);
  /* the purchase retried after its renewal is still that purchase (a renewal replaces no order) */
  o = callf(200, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", cn);
  assert_true(json_is_true(json_object_get(o, "replayed")));
  json_decref(o);
  /* a purchase's reference given to renew names no renewal (it answered "replayed" and renewed nothing) */
  uint32_t cn2 = new_app(cust, NULL);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\",\"reference\":\"up-1\"}", "/operator/v1/apps/%u/upgrade", cn2));
  o = callf(409, "POST", "{\"reference\":\"up-1\"}", "/operator/v1/apps/%u/renew", cn2);
  assert_string_equal(jstr(json_object_get(o, "error"), "code"), "EXISTS");
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_clock_api, setup_clock, stop),
    cmocka_unit_test_setup_teardown(test_clock_off, setup_real, stop),
    cmocka_unit_test_setup_teardown(test_package_lifecycle, setup_lapse, stop),
    cmocka_unit_test_setup_teardown(test_order_short_balance, setup_clock, stop),
    cmocka_unit_test_setup_teardown(test_grace_keeps_history, setup_lapse, stop),
    cmocka_unit_test_setup_teardown(test_renew_refusals, setup_clock, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
