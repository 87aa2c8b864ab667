/* End-to-end: retention add-ons (docs/decisions/retention-addons.md).
 *
 *  - An S-2019 app on the test clock: c2c_roaming_months is refused on the
 *    trial (P-15) and history_days is not sold by the S-2019 book; after the
 *    pro upgrade c2c_roaming_months=2 is bought through the operator API
 *    (postpaid: no debit; a retry replays, the same value again is 409, out
 *    of range and named values 400). The running server follows at once
 *    (P-21): C2C history keeps 2 × 30 days, group history stays at 7 — a
 *    C2C message older than 7 days is returned by admin_getroammsg, WS
 *    `history` and `sync`, a group message one second past 7 days is not;
 *    exactly at each limit is kept, one second past it is purged from disk.
 *    Ending the add-on (value 0) brings C2C back to 7 days at once.
 *  - An S-2022 pro app made through the operator API with history_days=30
 *    (P-46): the state shows 30 group and C2C days, a group message exactly
 *    30 days old is returned, one a second older is not; `imcloud addon
 *    buy history_days=0` on the running server's data directory ends it
 *    (the server learns it from the change log: 7 days again).
 *  - The bill (CLI, no server): roaming 1 month from 1 October, 2 from
 *    15 October, ended 25 October, peak DAU 200,000 → the October bill's
 *    roaming line is the P-21 example, 500 × 2 × 2 = 2,000 元 (an imported
 *    c2c_roaming_months of 1 is lower: merged by max), equal to
 *    `imcloud quote --c2c-roaming-months 2`; S-2022 refuses
 *    c2c_roaming_months and, on the trial, history_days (P-46); on pro
 *    history_days=90 bills 1,000 元 for the month, as quote does, and an
 *    imported history_days of 180 raises it to that tier (1,500 元). */
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
#include "e2e_call.h"
#include "e2e_check.h"
#include "store/store_grp.h"
#include "store/sqlite_int.h"
#include "store/store_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static long long cust;
static const int64_t now_s = 1795104000; /* 2026-11-20 00:00 UTC+8, the test clock's start */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-purge-interval-s", "1", NULL };
#define DAY 86400
#define GROUP_RET (7 * DAY)  /* s2019 pro: 7 history days (P-21: group roaming cannot be extended) */
#define C2C_RET (60 * DAY)   /* c2c_roaming_months=2: 2 x 30 days (s2019 book, P-21) */

static json_t *cli_json(e2e_server_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *cli_json(e2e_server_t *d, const char *fmt, ...)
{
  static char out[1 << 16];
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (e2e_cli(d, out, sizeof out, "%s", cmd) != 0) fail_msg("imcloud %s failed", cmd);
  json_t *o = json_loads(out, 0, NULL);
  if (!o) fail_msg("imcloud %s: not JSON: %s", cmd, out);
  return o;
}

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  json_t *c = cli_json(&srv, "customer create --name roam --json");
  cust = json_integer_value(json_object_get(c, "id"));
  json_decref(c);
  json_decref(cli_json(&srv, "wallet topup --customer %lld --amount-fen 1000000 --reference seed --json", cust));
  json_t *t = cli_json(&srv, "operator token --json");
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  if (e2e_server_start(&srv, args)) return -1;
  /* the app is created on the server's (test) clock, as the orders are dated: an order before it is refused */
  static char buf[1 << 14];
  char body[160];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"roam\",\"region\":\"china\",\"scheme\":\"s2019\"}", cust);
  if (e2e_http(srv.port, "POST", "/operator/v1/apps", auth, body, buf, sizeof buf) != 201) return -1;
  json_t *a = json_loads(buf, 0, NULL);
  app = (uint32_t)jint(a, "sdkappid");
  snprintf(key, sizeof key, "%s", jstr(a, "key"));
  json_decref(a);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Operator API: POST body to /operator/v1/apps/<app>/<what>; asserts the status, returns the body. */
static json_t *op(int want, const char *method, const char *what, const char *body)
{
  static char buf[1 << 16];
  char target[128];
  snprintf(target, sizeof target, "/operator/v1/apps/%u/%s", app, what);
  int stc = e2e_http(srv.port, method, target, auth, body, buf, sizeof buf);
  json_t *o = json_loads(buf, 0, NULL);
  if (stc != want || !o) fail_msg("%s %s %s: status %d, want %d: %.600s", method, target, body ? body : "", stc, want, buf);
  return o;
}

/* A refused purchase: status, error code name, a piece of the message. */
static void refused(int want, const char *body, const char *code, const char *says)
{
  json_t *o = op(want, "POST", "addons", body);
  assert_string_equal(jstr(o, "error.code"), code);
  if (!strstr(jstr(o, "error.message"), says)) fail_msg("%s: message \"%s\" lacks \"%s\"", body, jstr(o, "error.message"), says);
  json_decref(o);
}


static void test_purchase_refusals_and_order(void **st)
{
  (void)st;
  /* trial (P-15: it buys nothing), and a book that sells the other one */
  refused(400, "{\"addon\":\"c2c_roaming_months\",\"value\":2}", "BILL_ADDON_FORBIDDEN", "not offered to the s2019 trial edition");
  refused(400, "{\"addon\":\"history_days\",\"value\":30}", "BILL_ADDON_FORBIDDEN", "sells no history_days");
  json_decref(op(201, "POST", "upgrade", "{\"edition\":\"pro\"}"));
  refused(400, "{\"addon\":\"c2c_roaming_months\",\"value\":1201}", "BILL_ADDON", "out of range");
  refused(400, "{\"addon\":\"c2c_roaming_months\",\"value\":\"two\"}", "BILL_ADDON", "takes a number");
  refused(400, "{\"addon\":\"c2c_roaming_months\",\"value\":-1}", "INVAL", "value must be");
  refused(409, "{\"addon\":\"c2c_roaming_months\",\"value\":0}", "EXISTS", "nothing held");
  refused(400, "{\"addon\":\"c2c_roaming_months\"}", "INVAL", "value is required");
  refused(400, "{\"addon\":\"member_cap\",\"value\":0}", "INVAL", "value must be"); /* 0 ends only a retention add-on */
  /* the order: postpaid, no debit, until changed */
  json_t *o = op(201, "POST", "addons", "{\"addon\":\"c2c_roaming_months\",\"value\":2}");
  assert_string_equal(jstr(o, "order.pay"), "postpaid");
  assert_int_equal(jint(o, "order.price_fen"), 0);
  assert_int_equal(jint(o, "order.ledger_id"), 0);
  assert_int_equal(jint(o, "order.value"), 2);
  assert_string_equal(jstr(o, "order.valid_from"), "2026-11-20");
  json_decref(o);
  o = op(200, "POST", "addons", "{\"addon\":\"c2c_roaming_months\",\"value\":2}"); /* a retry: the same order */
  assert_true(json_is_true(json_object_get(o, "replayed")));
  json_decref(o);
  refused(409, "{\"addon\":\"c2c_roaming_months\",\"value\":2,\"reference\":\"again\"}", "EXISTS", "already in force since 2026-11-20");
  o = op(200, "GET", "addons", NULL);
  json_t *l = json_object_get(o, "addons");
  assert_int_equal(json_array_size(l), 1);
  assert_true(json_is_true(json_object_get(json_array_get(l, 0), "in_force")));
  json_decref(o);
  /* the wallet paid only the package: 999 元 (P-16) */
  static char buf[1 << 14];
  char target[96];
  snprintf(target, sizeof target, "/operator/v1/customers/%lld/wallet", cust);
  assert_int_equal(e2e_http(srv.port, "GET", target, auth, NULL, buf, sizeof buf), 200);
  assert_non_null(strstr(buf, "\"balance_fen\":900100"));
}

/* Texts of a sync page's message events, oldest first. */
static void sync_texts(wsc_t *c, char *out, size_t cap)
{
  out[0] = 0;
  uint32_t cursor = 0;
  for (;;) {
    json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u", cursor);
    assert_int_equal(jint(r, "code"), 0);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(r, "events"), i, e) {
      const char *t = jstr(json_array_get(json_object_get(json_object_get(e, "msg"), "body"), 0), "MsgContent.Text");
      if (t[0]) snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", t);
    }
    cursor = (uint32_t)jint(r, "cursor");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return;
  }
}

static void expect_roam(const char *want)
{
  char got[256];
  json_t *h = call("openim/admin_getroammsg",
                   "{\"Operator_Account\":\"c_bob\",\"Peer_Account\":\"c_alice\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "ErrorCode"), 0);
  msg_texts(json_object_get(h, "MsgList"), "MsgBody", got, sizeof got);
  assert_string_equal(got, want);
  json_decref(h);
}

static int rows;
/* The rows of conversation conv stored in c2c_msg. */
static int c2c_rows(store_t *s, uint64_t conv)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT count(*) FROM c2c_msg WHERE sdkappid=?1 AND conv=?2", -1,
                                      &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)conv);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n;
}
static void count_grp(void *ud, const store_grp_msg_t *m) { (void)ud; (void)m; rows++; }

/* Wait for the purge pass (every second) to leave `want` rows: the C2C
 * conversation of c_alice and c_bob (group_no 0) or group group_no. */
static void expect_stored(uint32_t group_no, int want)
{
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  uint32_t a_no = 0, b_no = 0;
  assert_int_equal(store_account_get(s, app, "c_alice", &a_no), 0);
  assert_int_equal(store_account_get(s, app, "c_bob", &b_no), 0);
  for (int tries = 0; tries < 50; tries++) {
    rows = 0;
    if (group_no) assert_int_equal(store_grp_msg_history(s, app, group_no, 0, 0, 0, 0, 100, count_grp, NULL), 0);
    else rows = c2c_rows(s, store_c2c_conv(a_no, b_no)); /* stored: reads leave out a row the app's floor covers */
    if (rows == want) break;
    usleep(100000);
  }
  store_close(s);
  assert_int_equal(rows, want);
}

static void test_c2c_longer_than_group(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "c_alice", "c_bob", NULL });
  /* C2C (realtime imports: bob's inbox gets the events): one second past the
   * C2C limit, exactly at it, and one second past the group limit */
  const struct { const char *text; int64_t age; } c2c[] = {
    { "c_past", C2C_RET + 1 }, { "c_at", C2C_RET }, { "c_mid", GROUP_RET + 1 },
  };
  for (int i = 0; i < 3; i++)
    v4_ok(call("openim/importmsg", "{\"SyncFromOldSystem\":5,\"From_Account\":\"c_alice\",\"To_Account\":\"c_bob\",\"MsgSeq\":%d,"
                                "\"MsgRandom\":%d,\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                                "{\"Text\":\"%s\"}}]}", i + 1, i + 1, (long long)(now_s - c2c[i].age), c2c[i].text));
  /* a group of the same ages: one second past the group limit, exactly at it */
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"old\",\"GroupId\":\"rg\",\"Owner_Account\":\"c_alice\","
                             "\"CreateTime\":%lld,\"MemberList\":[{\"Member_Account\":\"c_bob\"}]}", (long long)(now_s - C2C_RET)));
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"rg\",\"MsgList\":[{\"From_Account\":\"c_alice\",\"SendTime\":%lld,"
                                 "\"Random\":1,\"MsgBody\":" TEXT("g_mid") "},{\"From_Account\":\"c_alice\",\"SendTime\":%lld,"
                                 "\"Random\":2,\"MsgBody\":" TEXT("g_at") "}]}",
          (long long)(now_s - GROUP_RET - 1), (long long)(now_s - GROUP_RET)));

  /* C2C: history (REST and WS) and sync keep what is within 60 days */
  expect_roam("c_mid,c_at");
  wsc_t b;
  char got[256];
  assert_int_equal(wsc_login(&b, srv.port, app, key, "c_bob", "Web"), 0);
  json_t *r = wsc_rpc(&b, "history", "\"peer\":\"c_alice\"");
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, "c_mid,c_at");
  json_decref(r);
  sync_texts(&b, got, sizeof got);
  assert_string_equal(got, "c_at,c_mid");
  /* groups: 7 days — the message of the same age as c_mid is gone */
  r = wsc_rpc(&b, "group_history", "\"group_id\":\"rg\"");
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, "g_at");
  json_decref(r);
  r = wsc_rpc(&b, "group_sync", "\"group_id\":\"rg\",\"after_seq\":0");
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, "g_at");
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"rg\",\"ReqMsgNumber\":20}");
  msg_texts(json_object_get(r, "RspMsgList"), "MsgBody", got, sizeof got);
  assert_string_equal(got, "g_at");
  json_decref(r);
  wsc_close(&b);
  /* the purge: C2C keeps c_at and c_mid; the group keeps g_at (its
   * GroupCreated notice, 60 days old, and g_mid are deleted) */
  expect_stored(0, 2);
  expect_stored(1, 1);

  /* ending the add-on: C2C is back to 7 days at once, and purged */
  json_t *o = op(201, "POST", "addons", "{\"addon\":\"c2c_roaming_months\",\"value\":0}");
  json_decref(o);
  o = op(200, "GET", "addons", NULL);
  json_t *l = json_object_get(o, "addons");
  assert_int_equal(json_array_size(l), 2);
  assert_false(json_is_true(json_object_get(json_array_get(l, 0), "in_force"))); /* superseded the same day */
  assert_true(json_is_true(json_object_get(json_array_get(l, 1), "in_force")));
  /* the listing's last_day: the replaced order ran no day at all (the day before it began), the one
   * in force runs until changed; valid_to stays the row's 9999-12-31 */
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "last_day")), "2026-11-19");
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "valid_to")), "9999-12-31");
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "last_day")), "9999-12-31");
  json_decref(o);
  expect_roam("");
  /* the first order's retry (the same derived reference) no longer is the setting: refused, not replayed */
  refused(409, "{\"addon\":\"c2c_roaming_months\",\"value\":2}", "EXISTS", "a later c2c_roaming_months order replaced");
  expect_stored(0, 1); /* c_at is deleted; a conversation's newest row stays (its sequence goes on), not shown */

  /* a longer retention again (30 days) does not bring the kept row back:
   * the 7-day pass's horizon is the app's floor, and it survives a restart */
  json_decref(op(201, "POST", "addons", "{\"addon\":\"c2c_roaming_months\",\"value\":1}"));
  for (int round = 0; round < 2; round++) {
    expect_roam("");
    assert_int_equal(wsc_login(&b, srv.port, app, key, "c_bob", "Web"), 0);
    r = wsc_rpc(&b, "history", "\"peer\":\"c_alice\"");
    assert_int_equal(jint(r, "code"), 0);
    msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
    assert_string_equal(got, "");
    json_decref(r);
    sync_texts(&b, got, sizeof got);
    assert_string_equal(got, "");
    wsc_close(&b);
    if (!round) {
      assert_int_equal(e2e_server_stop(&srv), 0);
      assert_int_equal(e2e_server_start(&srv, args), 0);
    }
  }
  expect_stored(0, 1);
  /* a message sent now is shown */
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"c_alice\",\"To_Account\":\"c_bob\",\"MsgRandom\":77,"
                            "\"MsgBody\":" TEXT("c_new") "}"));
  expect_roam("c_new");
}

/* S-2022 pro with the 30-day tier (P-46): group and C2C history both 30 days,
 * shown by the app's state; a group message exactly 30 days old is kept,
 * one a second older is not. The app is made through the operator API
 * while the server runs. */
static void test_s2022_history_tier(void **st)
{
  (void)st;
  static char buf[1 << 14];
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/customers", auth, "{\"name\":\"tier\"}", buf, sizeof buf), 201);
  json_t *c = json_loads(buf, 0, NULL);
  long long cid = jint(c, "id");
  json_decref(c);
  char body[160], target[96];
  snprintf(target, sizeof target, "/operator/v1/customers/%lld/wallet/topups", cid);
  assert_int_equal(e2e_http(srv.port, "POST", target, auth, "{\"amount_fen\":200000,\"reference\":\"t\"}", buf, sizeof buf), 201);
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"tier\",\"region\":\"china\"}", cid);
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/apps", auth, body, buf, sizeof buf), 201);
  json_t *a = json_loads(buf, 0, NULL);
  uint32_t app1 = app;
  char key1[80];
  snprintf(key1, sizeof key1, "%s", key);
  app = (uint32_t)jint(a, "sdkappid");
  snprintf(key, sizeof key, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op(201, "POST", "upgrade", "{\"edition\":\"pro\"}"));
  json_t *o = op(200, "GET", "state", NULL);
  assert_int_equal(jint(o, "history_days"), 7);
  assert_int_equal(jint(o, "c2c_history_days"), 7);
  json_decref(o);
  refused(400, "{\"addon\":\"history_days\",\"value\":45}", "BILL_ADDON_FORBIDDEN", "30, 90, 180, 360");
  json_decref(op(201, "POST", "addons", "{\"addon\":\"history_days\",\"value\":30}"));
  o = op(200, "GET", "state", NULL);
  assert_int_equal(jint(o, "history_days"), 30);
  assert_int_equal(jint(o, "c2c_history_days"), 30);
  json_decref(o);
  import_users(srv.port, app, key, (const char *const[]){ "t_alice", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"t\",\"GroupId\":\"tg\",\"Owner_Account\":\"t_alice\","
                             "\"CreateTime\":%lld}", (long long)(now_s - 40 * DAY)));
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"tg\",\"MsgList\":[{\"From_Account\":\"t_alice\",\"SendTime\":%lld,"
                                 "\"Random\":1,\"MsgBody\":" TEXT("past") "},{\"From_Account\":\"t_alice\",\"SendTime\":%lld,"
                                 "\"Random\":2,\"MsgBody\":" TEXT("at") "},{\"From_Account\":\"t_alice\",\"SendTime\":%lld,"
                                 "\"Random\":3,\"MsgBody\":" TEXT("week") "}]}",
          (long long)(now_s - 30 * DAY - 1), (long long)(now_s - 30 * DAY), (long long)(now_s - 8 * DAY)));
  char got[256];
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"tg\",\"ReqMsgNumber\":20}");
  msg_texts(json_object_get(r, "RspMsgList"), "MsgBody", got, sizeof got);
  assert_string_equal(got, "week,at");
  json_decref(r);
  /* the CLI on the running server's data directory ends it (dated the
   * server's day): the server learns it from the change log — 7 days */
  char out[2048];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "addon buy --sdkappid %u history_days=0 --at 2026-11-20 --json", app), 0);
  for (int tries = 0; tries < 50; tries++) {
    r = call(G("group_msg_get_simple"), "{\"GroupId\":\"tg\",\"ReqMsgNumber\":20}");
    msg_texts(json_object_get(r, "RspMsgList"), "MsgBody", got, sizeof got);
    json_decref(r);
    if (!got[0]) break;
    usleep(100000);
  }
  assert_string_equal(got, "");
  o = op(200, "GET", "state", NULL);
  assert_int_equal(jint(o, "history_days"), 7);
  json_decref(o);
  app = app1;
  snprintf(key, sizeof key, "%s", key1);
}

/* ---- the bill, through the CLI on a data directory of its own ---------------------------- */
/* The bill's and the quote's "history" lines are the same, of `fen`; both released. */
static void history_line_equal(json_t *b, json_t *q, int64_t fen)
{
  json_t *line = NULL, *qline = NULL, *e;
  size_t i;
  json_array_foreach(json_object_get(b, "lines"), i, e) if (!strcmp(jstr(e, "code"), "history")) line = e;
  json_array_foreach(json_object_get(q, "lines"), i, e) if (!strcmp(jstr(e, "code"), "history")) qline = e;
  assert_non_null(line);
  assert_non_null(qline);
  assert_int_equal(jint(line, "amount_fen"), fen);
  assert_true(json_equal(line, qline));
  json_decref(b);
  json_decref(q);
}

static void test_bill_p21(void **st)
{
  (void)st;
  e2e_server_t d;
  char out[4096];
  e2e_dir_init(&d);
  json_t *c = cli_json(&d, "customer create --name bill --json");
  long long cust = json_integer_value(json_object_get(c, "id"));
  json_decref(c);
  json_decref(cli_json(&d, "wallet topup --customer %lld --amount-fen 1000000 --reference seed --json", cust));
  json_t *a = cli_json(&d, "app create --customer %lld --name b --region china --scheme s2019 --created-at 2026-10-01 --json", cust);
  long long id = json_integer_value(json_object_get(a, "sdkappid"));
  json_decref(a);
  json_decref(cli_json(&d, "app upgrade --sdkappid %lld --edition pro --at 2026-10-01 --json", id));
  /* 1 month from 1 October, 2 from the 15th, ended on the 25th: the month's highest is 2 */
  json_decref(cli_json(&d, "addon buy --sdkappid %lld c2c_roaming_months=1 --at 2026-10-01 --json", id));
  json_decref(cli_json(&d, "addon buy --sdkappid %lld c2c_roaming_months=2 --at 2026-10-15 --json", id));
  json_decref(cli_json(&d, "addon buy --sdkappid %lld c2c_roaming_months=0 --at 2026-10-25 --json", id));
  char path[400];
  snprintf(path, sizeof path, "%s/oct.json", d.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"days\": [{\"date\": \"2026-10-10\", \"dau\": 200000}], \"c2c_roaming_months\": 1}", f); /* lower: the orders' 2 wins */
  fclose(f);
  assert_int_equal(e2e_cli(&d, out, sizeof out, "usage import --sdkappid %lld '%s'", id, path), 0);
  json_t *b = cli_json(&d, "bill --sdkappid %lld --month 2026-10 --json", id);
  json_t *q = cli_json(&d, "quote --scheme s2019 --edition pro --bill-month 2026-10 --peak-dau 200000 --c2c-roaming-months 2 --json");
  json_t *line = NULL, *qline = NULL, *e;
  size_t i;
  json_array_foreach(json_object_get(b, "lines"), i, e) if (!strcmp(jstr(e, "code"), "c2c_roaming")) line = e;
  json_array_foreach(json_object_get(q, "lines"), i, e) if (!strcmp(jstr(e, "code"), "c2c_roaming")) qline = e;
  assert_non_null(line);
  assert_non_null(qline);
  assert_int_equal(jint(line, "amount_fen"), 200000); /* P-21: 500 元 x 2 months x 2 started 100,000 DAU */
  assert_true(json_equal(line, qline));
  assert_int_equal(jint(b, "total_fen"), jint(q, "total_fen"));
  json_decref(b);
  json_decref(q);
  /* November: nothing held (ended 25 October), no roaming line */
  b = cli_json(&d, "bill --sdkappid %lld --month 2026-11 --json", id);
  json_array_foreach(json_object_get(b, "lines"), i, e) assert_string_not_equal(jstr(e, "code"), "c2c_roaming");
  json_decref(b);
  /* S-2022 sells history tiers, not roaming months; its trial buys none (P-46) */
  a = cli_json(&d, "app create --customer %lld --name n --region china --created-at 2026-10-01 --json", cust);
  long long id2 = json_integer_value(json_object_get(a, "sdkappid"));
  assert_string_equal(jstr(a, "scheme"), "s2022");
  json_decref(a);
  assert_int_equal(e2e_cli(&d, out, sizeof out, "addon buy --sdkappid %lld c2c_roaming_months=2", id2), 1);
  assert_int_equal(e2e_cli(&d, out, sizeof out, "addon buy --sdkappid %lld history_days=30", id2), 1);
  /* on pro, the 90-day tier: 1,000 元 for October (P-46), as quote prices it */
  json_decref(cli_json(&d, "app upgrade --sdkappid %lld --edition pro --at 2026-10-01 --json", id2));
  json_decref(cli_json(&d, "addon buy --sdkappid %lld history_days=90 --at 2026-10-01 --json", id2));
  b = cli_json(&d, "bill --sdkappid %lld --month 2026-10 --json", id2);
  q = cli_json(&d, "quote --scheme s2022 --edition pro --bill-month 2026-10 --history-days 90 --json");
  history_line_equal(b, q, 100000);
  /* an imported history_days above the order's is merged by max: the 180-day tier, 1,500 元 */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"history_days\": 180}", f);
  fclose(f);
  assert_int_equal(e2e_cli(&d, out, sizeof out, "usage import --sdkappid %lld --month 2026-10 '%s'", id2, path), 0);
  b = cli_json(&d, "bill --sdkappid %lld --month 2026-10 --json", id2);
  q = cli_json(&d, "quote --scheme s2022 --edition pro --bill-month 2026-10 --history-days 180 --json");
  history_line_equal(b, q, 150000);

  assert_int_equal(e2e_cli(&d, out, sizeof out, "addon buy --sdkappid %lld history_days=-1", id2), 1);
  assert_int_equal(e2e_cli(&d, out, sizeof out, "addon buy --sdkappid %lld history_days", id2), 2);
  char *log = e2e_server_log(&d);
  assert_non_null(strstr(log, "the s2022 price book sells no c2c_roaming_months"));
  assert_non_null(strstr(log, "history_days=30 is not offered to the s2022 trial edition (P-46): none"));
  assert_non_null(strstr(log, "history_days takes a number"));
  free(log);
  e2e_dir_remove(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_purchase_refusals_and_order),
    cmocka_unit_test(test_c2c_longer_than_group),
    cmocka_unit_test(test_s2022_history_tier),
    cmocka_unit_test(test_bill_p21),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
