/* End-to-end: `imcloud usage` against a real server's data directory.
 * Logins over the client WebSocket (test clock on 30 Nov 2026, UTC+8) show
 * up as exact DAU/MAU, survive SIGKILL and a restart without being counted
 * twice; `usage import` validates, keeps and merges a document; `usage
 * record-minutes` counts an event id once; --csv and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-30", NULL };

static int setup(void **st)
{
  (void)st;
  /* created before the test clock's day: test_operator_usage orders on it (ORDER_BEFORE_APP otherwise) */
  e2e_dir_init(&srv);
  e2e_make_app_at(&srv, "china", "2026-11-01", &app, key);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *usage_json(const char *month)
{
  static char out[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month %s --json", app, month), 0);
  json_error_t je;
  json_t *o = json_loads(out, 0, &je);
  if (!o) fail_msg("usage --json printed invalid JSON: %s", je.text);
  return o;
}

static json_int_t day_field(json_t *o, int day, const char *name)
{
  return json_integer_value(json_object_get(json_array_get(json_object_get(o, "days"), (size_t)day - 1), name));
}

static void login(const char *user, const char *platform)
{
  int fd = e2e_ws_login(srv.port, app, key, user, platform, NULL, 0);
  assert_true(fd >= 0);
  close(fd);
}

static void test_logins_are_counted_exactly(void **st)
{
  (void)st;
  login("u1", "Web");
  login("u2", "Web");
  login("u1", "PC");          /* the same user again that day: nothing */
  json_t *o = usage_json("2026-11");
  assert_int_equal(json_array_size(json_object_get(o, "days")), 30);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "days"), 29), "date")), "2026-11-30");
  assert_int_equal(day_field(o, 30, "dau"), 2);
  assert_int_equal(day_field(o, 29, "dau"), 0);
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), 2);
  assert_int_equal(json_integer_value(json_object_get(o, "peak_dau")), 2);
  assert_string_equal(json_string_value(json_object_get(o, "peak_dau_date")), "2026-11-30");
  assert_int_equal(json_integer_value(json_object_get(o, "tz_offset_s")), 28800);
  json_decref(o);
  /* SIGKILL, restart: nothing lost, nothing counted twice */
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  login("u2", "Web");
  login("u3", "Web");
  o = usage_json("2026-11");
  assert_int_equal(day_field(o, 30, "dau"), 3);
  assert_int_equal(day_field(o, 30, "registrations"), 3);  /* accounts created by their first login */
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), 3);
  json_decref(o);
}

static void test_import_merge_and_errors(void **st)
{
  (void)st;
  char path[400], out[4096];
  snprintf(path, sizeof path, "%s/oct.json", srv.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"mau\": 4000, \"days\": [{\"date\": \"2026-10-03\", \"dau\": 1500, \"groups\": 12, \"bandwidth_mbps\": 4},"
        " {\"date\": \"2026-10-04\", \"dau\": 1700, \"bandwidth_mbps\": 2}]}\n", f);
  fclose(f);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s' --json", app, path), 0);
  assert_non_null(strstr(out, "\"document\":"));
  json_t *o = usage_json("2026-10");
  assert_int_equal(day_field(o, 3, "dau"), 1500);
  assert_int_equal(day_field(o, 3, "groups"), 12);
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(o, "days"), 2), "imported")));
  assert_int_equal(json_integer_value(json_object_get(o, "peak_dau")), 1700);
  assert_string_equal(json_string_value(json_object_get(o, "peak_dau_date")), "2026-10-04");
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), 4000);
  assert_int_equal(json_integer_value(json_object_get(o, "peak_groups")), 12);
  assert_int_equal(json_integer_value(json_object_get(o, "bandwidth_mbps_days")), 6);
  assert_int_equal(json_integer_value(json_object_get(o, "imported_docs")), 1);
  json_decref(o);
  /* an invalid document: exit 1, a clear line on stderr, nothing on stdout, nothing stored */
  f = fopen(path, "w");
  fputs("{\"days\": [{\"date\": \"2026-10-05\", \"dau\": \"many\"}]}", f);
  fclose(f);
  out[0] = 'x';
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 1);
  assert_string_equal(out, "");
  char *log = e2e_server_log(&srv);
  assert_non_null(strstr(log, "days[0].dau must be an integer"));
  free(log);
  o = usage_json("2026-10");
  assert_int_equal(json_integer_value(json_object_get(o, "imported_docs")), 1);
  json_decref(o);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s/none.json'", app, srv.dir), 1);
}

static void test_record_minutes_once(void **st)
{
  (void)st;
  char out[4096];
  /* the CLI dates by the server's test clock (DIR/test-clock, clock.h): 2026-11-30 in the app's zone, UTC+8 */
  const char *month = "2026-11";
  const size_t day_index = 29;
  /* P-46: minutes need an av_call package in force on their day (the app is on trial) */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind video_hd --minutes 25 --event-id call-9 --json", app), 1);
  char *log = e2e_server_log(&srv);
  assert_non_null(strstr(log, "no av_call package in force on "));
  free(log);
  /* a second app of the same customer with pro and av_call bought by the CLI on the server's clock's day */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app create --customer 1 --name minutes --region china --json"), 0);
  json_t *a = json_loads(out, 0, NULL);
  assert_non_null(a);
  uint32_t app2 = (uint32_t)json_integer_value(json_object_get(a, "sdkappid"));
  json_decref(a);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 400000 --reference minutes"), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition pro", app2), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "addon buy --sdkappid %u av_call=basic", app2), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind video_hd --minutes 25 --event-id call-9 --json", app2), 0);
  assert_non_null(strstr(out, "\"replayed\":false"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind video_hd --minutes 25 --event-id call-9 --json", app2), 0);
  assert_non_null(strstr(out, "\"replayed\":true"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind video_hd --minutes 26 --event-id call-9", app2), 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind smell --minutes 1 --event-id x", app2), 1); /* a bad value */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage record-minutes --sdkappid %u --kind audio --minutes 1 --event-id old --date 2020-01-01", app2), 1);
  static char big[1 << 16];
  assert_int_equal(e2e_cli(&srv, big, sizeof big, "usage --sdkappid %u --month %s --json", app2, month), 0);
  json_t *o = json_loads(big, 0, NULL);
  assert_non_null(o);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "call_minutes"), "video_hd")), 25);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(json_object_get(o, "days"), day_index),
                                                                      "call_minutes"), "video_hd")), 25);
  json_decref(o);
}

static void test_csv_and_usage_errors(void **st)
{
  (void)st;
  static char out[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-11 --csv", app), 0);
  assert_int_equal(strncmp(out, "date,dau,groups,net_new_groups,bandwidth_peak_mbps,c2c_msgs,group_msgs,call_minutes_audio", 88), 0);
  assert_non_null(strstr(out, "\n2026-11-30,3,"));
  assert_non_null(strstr(out, "\nmonth,peak_dau,peak_dau_date,mau,"));
  assert_non_null(strstr(out, "\n2026-11,3,2026-11-30,3,"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-11", app), 0);
  assert_non_null(strstr(out, "peak DAU 3 on 2026-11-30, MAU 3"));
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u", app), 2);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-13", app), 1); /* a bad value */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-11 --json --csv", app), 2);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid 7 --month 2026-11"), 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u frobnicate", app), 2);
}

/* The operator API serves the same report. */
static void test_operator_usage(void **st)
{
  (void)st;
  char out[512], hdr[160];
  static char body[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "operator token --json"), 0);
  json_t *t = json_loads(out, 0, NULL);
  assert_non_null(t);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  /* the server learns the rotated token from the change log within one change_poll_ms: allow 10 s */
  for (int i = 0; i < 200 && e2e_http(srv.port, "GET", "/operator/v1/customers", hdr, NULL, body, sizeof body) == 401; i++)
    usleep(50 * 1000);
  char target[128];
  snprintf(target, sizeof target, "/operator/v1/apps/%u/usage?month=2026-11", app);
  /* the running server learns the new token from the change log (change_poll_ms) */
  int status = 0;
  for (int i = 0; i < 50 && (status = e2e_http(srv.port, "GET", target, hdr, NULL, body, sizeof body)) == 401; i++)
    usleep(100 * 1000);
  assert_int_equal(status, 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  assert_int_equal(day_field(o, 30, "dau"), 3);
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), 3);
  assert_string_equal(json_string_value(json_object_get(o, "month")), "2026-11");
  json_decref(o);
  json_t *cli = usage_json("2026-11");                /* the same object as the CLI's */
  o = json_loads(body, 0, NULL);
  assert_true(json_equal(o, cli));
  json_decref(o);
  json_decref(cli);
  snprintf(target, sizeof target, "/operator/v1/apps/%u/usage", app);
  assert_int_equal(e2e_http(srv.port, "GET", target, hdr, NULL, body, sizeof body), 400);
  snprintf(target, sizeof target, "/operator/v1/apps/%u/usage?month=2026-1", app);
  assert_int_equal(e2e_http(srv.port, "GET", target, hdr, NULL, body, sizeof body), 400);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/apps/7/usage?month=2026-11", hdr, NULL, body, sizeof body), 404);
  assert_int_equal(e2e_http(srv.port, "GET", target, NULL, NULL, body, sizeof body), 401);
  /* call minutes through the API: counted once, on the test clock's day (30 Nov), once an
   * av_call package is in force that day (P-46: 409 before; the CLI's orders are on the real day) */
  snprintf(target, sizeof target, "/operator/v1/apps/%u/call-minutes", app);
  static const char rec[] = "{\"kind\":\"audio\",\"minutes\":12,\"event_id\":\"api-call-1\"}";
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, rec, body, sizeof body), 409);
  assert_non_null(strstr(body, "METER_NO_CALL_PACKAGE"));
  assert_non_null(strstr(body, "no av_call package in force on 2026-11-30"));
  char t2[128];
  snprintf(t2, sizeof t2, "/operator/v1/apps/%u/upgrade", app);
  assert_int_equal(e2e_http(srv.port, "POST", t2, hdr, "{\"edition\":\"pro\"}", body, sizeof body), 201);
  snprintf(t2, sizeof t2, "/operator/v1/apps/%u/addons", app);
  assert_int_equal(e2e_http(srv.port, "POST", t2, hdr, "{\"addon\":\"av_call\",\"value\":\"basic\"}", body, sizeof body), 201);
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, rec, body, sizeof body), 201);
  assert_non_null(strstr(body, "\"date\":\"2026-11-30\""));
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, rec, body, sizeof body), 200);
  assert_non_null(strstr(body, "\"replayed\":true"));
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, "{\"kind\":\"audio\",\"minutes\":13,\"event_id\":\"api-call-1\"}", body, sizeof body), 409);
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, "{\"kind\":\"smell\",\"minutes\":1,\"event_id\":\"x\"}", body, sizeof body), 400);
  assert_int_equal(e2e_http(srv.port, "POST", target, hdr, "{\"kind\":\"audio\",\"minutes\":1,\"event_id\":\"y\",\"date\":\"2026-10-01\"}", body, sizeof body), 400);
  assert_non_null(strstr(body, "METER_LATE"));
  json_t *u = usage_json("2026-11");
  assert_int_equal(day_field(u, 30, "dau"), 3);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(u, "call_minutes"), "audio")), 12);
  json_decref(u);
}

/* c2c_msgs counts stored one-to-one messages on their day: a resend with the
 * same MsgRandom (dedupe) and an online-only message (MsgLifeTime 0, never
 * stored) add nothing; batchsendmsg counts each target's message. */
static void test_c2c_messages_are_counted(void **st)
{
  (void)st;
  char body[4096];
  json_t *u0 = usage_json("2026-11");
  json_int_t before = day_field(u0, 30, "c2c_msgs");
  json_decref(u0);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/multiaccount_import",
                          "{\"Accounts\":[\"m1\",\"m2\",\"m3\"]}", body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":0"));
  static const char *const sends[] = {
    "{\"From_Account\":\"m1\",\"To_Account\":\"m2\",\"MsgRandom\":11,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"a\"}}]}",
    "{\"From_Account\":\"m1\",\"To_Account\":\"m2\",\"MsgRandom\":11,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"a\"}}]}",
    "{\"From_Account\":\"m2\",\"To_Account\":\"m1\",\"MsgRandom\":12,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"b\"}}]}",
    "{\"From_Account\":\"m1\",\"To_Account\":\"m3\",\"MsgRandom\":13,\"MsgLifeTime\":0,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"c\"}}]}",
  };
  for (size_t i = 0; i < sizeof sends / sizeof sends[0]; i++) {
    assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openim/sendmsg", sends[i], body, sizeof body), 200);
    assert_non_null(strstr(body, "\"ErrorCode\":0"));
  }
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openim/batchsendmsg",
                          "{\"From_Account\":\"m3\",\"To_Account\":[\"m1\",\"m2\"],\"MsgRandom\":14,"
                          "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}", body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":0"));
  json_t *u = usage_json("2026-11");
  assert_int_equal(day_field(u, 30, "c2c_msgs") - before, 4); /* 2 sends + 2 batch targets */
  json_decref(u);
}

/* openconfigsvr/getappinfo: the 30 days before today (test clock: 30 Nov), from the metered and imported figures. */
static void test_getappinfo(void **st)
{
  (void)st;
  static char body[1 << 17];
  char path[400], out[1024];
  snprintf(path, sizeof path, "%s/nov.json", srv.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"days\": [{\"date\": \"2026-11-15\", \"dau\": 77}]}", f);
  fclose(f);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 0);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openconfigsvr/getappinfo", "{}", body, sizeof body), 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  assert_int_equal(json_integer_value(json_object_get(o, "ErrorCode")), 0);
  json_t *res = json_object_get(o, "Result");
  assert_int_equal(json_array_size(res), 30);
  assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "Date")), "20261031");
  assert_string_equal(json_string_value(json_object_get(json_array_get(res, 29), "Date")), "20261129");
  json_t *d15 = json_array_get(res, 15);
  assert_string_equal(json_string_value(json_object_get(d15, "Date")), "20261115");
  assert_string_equal(json_string_value(json_object_get(d15, "ActiveUserNum")), "77");
  char appid[16];
  snprintf(appid, sizeof appid, "%u", app);
  assert_string_equal(json_string_value(json_object_get(d15, "AppId")), appid);
  assert_string_equal(json_string_value(json_object_get(d15, "RegistUserNumTotal")), "0"); /* accounts came on the 30th */
  assert_null(json_object_get(d15, "APNSMsgNum"));                                          /* not metered: not invented */
  json_decref(o);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openconfigsvr/getappinfo",
                          "{\"RequestField\":[\"ActiveUserNum\",\"Date\"]}", body, sizeof body), 200);
  o = json_loads(body, 0, NULL);
  assert_int_equal(json_object_size(json_array_get(json_object_get(o, "Result"), 15)), 2);
  json_decref(o);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openconfigsvr/getappinfo",
                          "{\"RequestField\":[\"APNSMsgNum\"]}", body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":70402"));
  assert_non_null(strstr(body, "APNSMsgNum is not metered"));
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "openconfigsvr/getappinfo",
                          "{\"RequestField\":\"Date\"}", body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":60015"));
  assert_int_equal(e2e_v4(srv.port, app, key, "u1", "openconfigsvr/getappinfo", "{}", body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":60010"));                                   /* admins only */
}

/* A deleted and re-imported UserID is one user of the day and the month
 * (P-33, P-43, P-52): its logins are metered under the first number it had
 * (tenant_registry_meter_no), by a login that creates the account, after a
 * REST import, and after a restart; registrations count every creation. A
 * trial app of its own (account_delete is for free editions only). */
static void test_reimported_account_counts_once(void **st)
{
  (void)st;
  uint32_t app2;
  char key2[80], out[1 << 16], body[4096];
  e2e_make_app_at(&srv, "china", "2026-11-01", &app2, key2);
  int fd = -1;
  for (int i = 0; i < 100 && (fd = e2e_ws_login(srv.port, app2, key2, "r1", "Web", NULL, 0)) < 0; i++)
    usleep(100 * 1000); /* the server learns the new app from the change log */
  assert_true(fd >= 0);
  close(fd);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(e2e_v4(srv.port, app2, key2, "administrator", "im_open_login_svc/account_delete",
                            "{\"DeleteItem\":[{\"UserID\":\"r1\"}]}", body, sizeof body), 200);
    assert_non_null(strstr(body, "\"ResultCode\":0"));
    if (round) /* imported by REST this time, then logged in */
      assert_int_equal(e2e_v4(srv.port, app2, key2, "administrator", "im_open_login_svc/account_import",
                              "{\"UserID\":\"r1\"}", body, sizeof body), 200);
    assert_true((fd = e2e_ws_login(srv.port, app2, key2, "r1", "PC", NULL, 0)) >= 0);
    close(fd);
  }
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  assert_true((fd = e2e_ws_login(srv.port, app2, key2, "r1", "Web", NULL, 0)) >= 0);
  close(fd);
  assert_true((fd = e2e_ws_login(srv.port, app2, key2, "r2", "Web", NULL, 0)) >= 0);
  close(fd);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-11 --json", app2), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  assert_int_equal(day_field(o, 30, "dau"), 2);
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), 2);
  assert_int_equal(day_field(o, 30, "registrations"), 4); /* r1 three times, r2 */
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_logins_are_counted_exactly),
    cmocka_unit_test(test_import_merge_and_errors),
    cmocka_unit_test(test_record_minutes_once),
    cmocka_unit_test(test_csv_and_usage_errors),
    cmocka_unit_test(test_operator_usage),
    cmocka_unit_test(test_c2c_messages_are_counted),
    cmocka_unit_test(test_getappinfo),
    cmocka_unit_test(test_reimported_account_counts_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
