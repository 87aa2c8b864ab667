/* End-to-end: edition limits at their point of use, found in a review
 * (docs/editions.md).
 *
 *  - In-flight admissions count only against their own limit: with the
 *    server's sync held (IMCLOUD_TEST_SYNC_HOLD), logins of existing users
 *    stay in flight; they must not count as accounts being created (a trial
 *    app with 60 accounts and 45 such logins still imports its 61st account,
 *    70398 only past 100), and logins of users already counted this month
 *    must not count as new users of the month (intl developer's free MAU,
 *    72000 only past 100).
 *  - A friend refused by the edition's friends per user carries the limit's
 *    own text, as every edition refusal does (docs/editions.md): REST
 *    friend_import / friend_add ResultInfo (30010, the peer's list 30014)
 *    and the WebSocket friend_response msg name the limit and the edition.
 *  - A group above a lowered member limit (intl Pro -> Standard: 2,000 -> 200;
 *    data above a limit is kept) answers adding an existing member as under
 *    it — Result 2, join "already" — not 10014 "0 more refused"; a new
 *    member is still refused.
 *  - docs/editions.md (`imcloud editions --markdown`) names every feature row
 *    no request of this server reaches: each feature is the edition gate of a
 *    REST route or WebSocket op (`imcloud doc`), one of the gates checked
 *    inside a handler, or listed as refusing nothing. */
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
#include "e2e_op.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];
static char auth[256];
static char second[64]; /* the clock body that moves to the 2nd of the month */


static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static json_t *rest(const char *cmd, const char *body)
{
  static char out[65536];
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", cmd, body, out, sizeof out), 200);
  json_t *j = json_loads(out, 0, NULL);
  if (!j) fail_msg("reply is not JSON: %s", out);
  return j;
}

static int code_of(json_t *j) { return (int)json_integer_value(json_object_get(j, "ErrorCode")); }

/* Send a v4 call as the App admin on a connection of its own without waiting
 * for the reply (a write waits for the held sync); rest_reply reads it. */
static int rest_send(const char *cmd, const char *body)
{
  char sig[1024], req[4096];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  int n = snprintf(req, sizeof req,
                   "POST /v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=7&contenttype=json HTTP/1.1\r\n"
                   "Host: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   cmd, app, sig, strlen(body), body);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  return fd;
}

static json_t *rest_reply(int fd)
{
  static char out[65536];
  assert_int_equal(e2e_http_read(fd, out, sizeof out, 30000), 200);
  close(fd);
  json_t *j = json_loads(out, 0, NULL);
  if (!j) fail_msg("reply is not JSON: %s", out);
  return j;
}

/* Import u000..u(n-1) (at most 100 per call). */
static void import_n(int from, int to)
{
  char body[8192];
  size_t off = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
  for (int i = from; i < to; i++) off += (size_t)snprintf(body + off, sizeof body - off, "%s\"u%03d\"", i > from ? "," : "", i);
  snprintf(body + off, sizeof body - off, "]}");
  json_t *r = rest("im_open_login_svc/multiaccount_import", body);
  assert_int_equal(code_of(r), 0);
  assert_int_equal(json_array_size(json_object_get(r, "FailAccounts")), 0);
  json_decref(r);
}

/* Open a WebSocket and send u<i>'s login frame without waiting for the reply. */
static int login_send(int i)
{
  char user[16], sig[1024], frame[1400];
  snprintf(user, sizeof user, "u%03d", i);
  e2e_usersig(app, key, user, 86400 * 365, sig, sizeof sig);
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  snprintf(frame, sizeof frame,
           "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"Web\",\"device_id\":\"d\"}",
           app, user, sig);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  return fd;
}

/* The code of the login reply on fd (-1: none within the timeout). */
static int login_code(int fd)
{
  char buf[4096];
  if (e2e_ws_recv_text(fd, buf, sizeof buf, 30000) < 0) return -1;
  json_t *j = json_loads(buf, 0, NULL);
  int code = j ? (int)json_integer_value(json_object_get(j, "code")) : -1;
  json_decref(j);
  return code;
}

static int login_now(int i)
{
  int fd = login_send(i), code = login_code(fd);
  close(fd);
  return code;
}

/* ---- in-flight logins do not count as new accounts ---------------------------------- */
static int setup_trial(void **st)
{
  (void)st;
  return e2e_start_sync_held(&srv, hold, sizeof hold, "gatesacc", "china", &app, key, NULL);
}

static void test_logins_in_flight_are_not_new_accounts(void **st)
{
  (void)st;
  import_n(0, 60);
  e2e_sync_hold(hold, 1);
  int fds[45];
  for (int i = 0; i < 45; i++) fds[i] = login_send(i); /* existing accounts, first login of the day: in flight */
  e2e_sleep_ms(300);
  /* the 61st account: 60 exist, none is being created */
  int rfd = rest_send("im_open_login_svc/account_import", "{\"UserID\":\"u060\"}");
  e2e_sleep_ms(300);
  e2e_sync_hold(hold, 0);
  json_t *r = rest_reply(rfd);
  if (code_of(r) != 0) fail_msg("the 61st account was refused: %s", json_string_value(json_object_get(r, "ErrorInfo")));
  json_decref(r);
  for (int i = 0; i < 45; i++) {
    assert_int_equal(login_code(fds[i]), 0);
    close(fds[i]);
  }
  /* the limit itself still holds: 100 allowed, the 101st refused */
  import_n(61, 100);
  r = rest("im_open_login_svc/account_import", "{\"UserID\":\"u100\"}");
  assert_int_equal(code_of(r), 70398);
  json_decref(r);
}

/* ---- in-flight logins of the month's users do not count as new users of the month ---- */
static int setup_developer(void **st)
{
  (void)st;
  /* the 1st of this month in the billing zone (UTC+8), then the 2nd: one month, and the helpers' UserSigs
   * (signed at the wall clock for a day) stay valid */
  static char first[16];
  time_t t = time(NULL) + 8 * 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(first, sizeof first, "%Y-%m-01", &tm);
  strftime(second, sizeof second, "{\"now\":\"%Y-%m-02T00:00:00+08:00\"}", &tm);
  const char *const args[] = { "--test-clock", "--test-clock-start", first, NULL };
  int rc = e2e_start_sync_held(&srv, hold, sizeof hold, "gatesmau", "singapore", &app, key, args);
  if (!rc) rc = op_auth_init(&srv, "gates", auth, sizeof auth);
  e2e_sleep_ms(1200); /* the server reads the new token from its change log */
  return rc;
}

static void test_month_users_in_flight_are_not_new(void **st)
{
  (void)st;
  json_t *o = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  assert_string_equal(json_string_value(json_object_get(o, "edition")), "developer");
  json_decref(o);
  import_n(0, 100);
  for (int i = 0; i < 60; i++) assert_int_equal(login_now(i), 0); /* the month's users: 60 */
  json_decref(op_callf(srv.port, auth, 200, "POST", second, "/operator/v1/clock"));
  e2e_sync_hold(hold, 1);
  int fds[45];
  for (int i = 0; i < 45; i++) fds[i] = login_send(i); /* counted this month, not yet today: in flight */
  e2e_sleep_ms(300);
  int fd = login_send(60); /* the month's 61st user */
  e2e_sleep_ms(300);
  e2e_sync_hold(hold, 0);
  assert_int_equal(login_code(fd), 0);
  close(fd);
  for (int i = 0; i < 45; i++) {
    assert_int_equal(login_code(fds[i]), 0);
    close(fds[i]);
  }
  /* the free MAU itself still holds: the 100th user allowed, the 101st refused (an account deleted makes room for one more) */
  for (int i = 61; i < 100; i++) assert_int_equal(login_now(i), 0);
  json_t *r = rest("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"u000\"}]}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  r = rest("im_open_login_svc/account_import", "{\"UserID\":\"late\"}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  char buf[2048];
  assert_true(e2e_ws_login(srv.port, app, key, "late", "Web", buf, sizeof buf) < 0);
  json_t *j = json_loads(buf, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(j, "code")), 72000);
  json_decref(j);
}

/* ---- friends per user: the refusal names the limit ------------------------------------ */
/* ResultInfo of a batch reply's only item, which must have code want. */
static void expect_item(json_t *r, int want, const char *says)
{
  json_t *it = json_array_get(json_object_get(r, "ResultItem"), 0);
  assert_int_equal(json_integer_value(json_object_get(it, "ResultCode")), want);
  const char *info = json_string_value(json_object_get(it, "ResultInfo"));
  if (!info || !strstr(info, says) || !strstr(info, "s2022 trial")) fail_msg("ResultInfo %s: want \"%s\" and the edition", info, says);
}

static void test_friend_refusals_name_the_limit(void **st)
{
  (void)st;
  char body[4096];
  import_n(0, 30);
  size_t off = (size_t)snprintf(body, sizeof body, "{\"From_Account\":\"u000\",\"AddFriendItem\":[");
  for (int i = 1; i <= 20; i++)
    off += (size_t)snprintf(body + off, sizeof body - off, "%s{\"To_Account\":\"u%03d\",\"AddSource\":\"AddSource_Type_t\"}",
                            i > 1 ? "," : "", i);
  snprintf(body + off, sizeof body - off, "]}");
  json_t *r = rest("sns/friend_import", body); /* the 20th friend: allowed */
  assert_int_equal(json_array_size(json_object_get(r, "Fail_Account")), 0);
  json_decref(r);
  r = rest("sns/friend_import", "{\"From_Account\":\"u000\",\"AddFriendItem\":[{\"To_Account\":\"u021\",\"AddSource\":\"AddSource_Type_t\"}]}");
  expect_item(r, 30010, "friends per user");
  json_decref(r);
  r = rest("sns/friend_add", "{\"From_Account\":\"u000\",\"AddType\":\"Add_Type_Single\",\"ForceAddFlags\":1,"
                           "\"AddFriendItem\":[{\"To_Account\":\"u022\",\"AddSource\":\"AddSource_Type_t\"}]}");
  expect_item(r, 30010, "friends per user");
  json_decref(r);
  r = rest("sns/friend_add", "{\"From_Account\":\"u023\",\"AddType\":\"Add_Type_Both\",\"ForceAddFlags\":1,"
                           "\"AddFriendItem\":[{\"To_Account\":\"u000\",\"AddSource\":\"AddSource_Type_t\"}]}");
  expect_item(r, 30014, "the peer's list");
  json_decref(r);
  /* u024 asks u000 (needs confirmation); u000's agree_and_add would pass its own 20 */
  r = rest("sns/friend_add", "{\"From_Account\":\"u024\",\"AddType\":\"Add_Type_Both\","
                           "\"AddFriendItem\":[{\"To_Account\":\"u000\",\"AddSource\":\"AddSource_Type_t\"}]}");
  json_decref(r);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "u000", "Web"), 0);
  r = wsc_rpc(&c, "friend_response", "\"peer\":\"u024\",\"action\":\"agree_and_add\"");
  assert_int_equal(jint(r, "code"), 30010);
  const char *msg = jstr(r, "msg");
  if (!msg || !strstr(msg, "friends per user") || !strstr(msg, "s2022 trial")) fail_msg("friend_response msg %s", msg);
  json_decref(r);
  wsc_close(&c);
}

/* ---- a group above a lowered member limit: adding no one is not refused ---------------- */
static int setup_intl(void **st)
{
  (void)st;
  int rc = e2e_start(&srv, "singapore", &app, key, NULL);
  hold[0] = 0;
  if (!rc) rc = op_auth_init(&srv, "gates", auth, sizeof auth);
  e2e_sleep_ms(1200); /* the server reads the new token from its change log */
  return rc;
}

static void test_existing_member_over_a_lowered_limit(void **st)
{
  (void)st;
  char body[16384];
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  e2e_sleep_ms(500);
  for (int i = 0; i < 300; i += 100) import_n(i, i + 100);
  size_t off = (size_t)snprintf(body, sizeof body, "{\"Owner_Account\":\"u000\",\"Type\":\"Public\",\"Name\":\"big\","
                                                  "\"ApplyJoinOption\":\"FreeAccess\",\"MemberList\":[");
  for (int i = 1; i < 100; i++)
    off += (size_t)snprintf(body + off, sizeof body - off, "%s{\"Member_Account\":\"u%03d\"}", i > 1 ? "," : "", i);
  snprintf(body + off, sizeof body - off, "]}");
  json_t *r = rest("group_open_http_svc/create_group", body);
  assert_int_equal(code_of(r), 0);
  char gid[64];
  snprintf(gid, sizeof gid, "%s", json_string_value(json_object_get(r, "GroupId")));
  json_decref(r);
  off = (size_t)snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MemberList\":[", gid);
  for (int i = 100; i < 250; i++)
    off += (size_t)snprintf(body + off, sizeof body - off, "%s{\"Member_Account\":\"u%03d\"}", i > 100 ? "," : "", i);
  snprintf(body + off, sizeof body - off, "]}");
  r = rest("group_open_http_svc/add_group_member", body); /* 250 members: Pro allows 2,000 */
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  json_t *o = op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"standard\"}", "/operator/v1/apps/%u/upgrade", app);
  assert_string_equal(jstr(o, "state.limits_of"), "standard");
  json_decref(o);
  e2e_sleep_ms(500);
  /* an existing member again: Result 2, as under the limit */
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MemberList\":[{\"Member_Account\":\"u005\"}]}", gid);
  r = rest("group_open_http_svc/add_group_member", body);
  if (code_of(r) != 0) fail_msg("re-adding a member: %s", json_string_value(json_object_get(r, "ErrorInfo")));
  assert_int_equal(jint(json_array_get(json_object_get(r, "MemberList"), 0), "Result"), 2);
  json_decref(r);
  r = rest("group_open_http_svc/import_group_member", body);
  assert_int_equal(code_of(r), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "MemberList"), 0), "Result"), 2);
  json_decref(r);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "u005", "Web"), 0);
  r = wsc_rpc(&c, "group_join", "\"group_id\":\"%s\"", gid);
  assert_int_equal(jint(r, "code"), 0);
  assert_string_equal(jstr(r, "result"), "already");
  json_decref(r);
  wsc_close(&c);
  /* a new member is refused: 250 in use, Standard allows 200 */
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MemberList\":[{\"Member_Account\":\"u260\"}]}", gid);
  r = rest("group_open_http_svc/add_group_member", body);
  assert_int_equal(code_of(r), 10014);
  json_decref(r);
}

/* ---- every feature row is enforced somewhere or named as reaching nothing ---------------- */
/* Run `imcloud ARGS` and collect, from the lines of its output that start with
 * `prefix`, the first backquoted word after column col's start ('|'-separated,
 * 0-based; -1: the line's first backquoted word) into a space-separated list. */
static void collect(const char *args, const char *prefix, int col, char *out, size_t cap)
{
  char cmd[700], line[2048];
  snprintf(cmd, sizeof cmd, "'%s' %s", e2e_bin(), args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = strlen(out);
  while (fgets(line, sizeof line, p)) {
    if (strncmp(line, prefix, strlen(prefix))) continue;
    char *s = line;
    for (int c = 0; c < col && s; c++) s = strchr(s + 1, '|');
    if (!s) continue;
    char *a = strchr(s, '`'), *z = a ? strchr(a + 1, '`') : NULL;
    char *bar = col >= 0 ? strchr(s + 1, '|') : NULL;
    if (col >= 0) { /* the cell itself, unquoted, when it is not "-" */
      if (!bar) continue;
      *bar = 0;
      while (*++s == ' ') {}
      char *e = s + strlen(s);
      while (e > s && e[-1] == ' ') *--e = 0;
      if (!strcmp(s, "-") || !*s) continue;
      n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, " %s ", s);
      continue;
    }
    if (!a || !z) continue;
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, " %.*s ", (int)(z - a - 1), a + 1);
  }
  assert_int_equal(pclose(p), 0);
  assert_true(n < cap);
}

static int listed(const char *list, const char *key)
{
  char k[128];
  snprintf(k, sizeof k, " %s ", key);
  return strstr(list, k) != NULL;
}

static void test_unreached_rows_are_named(void **st)
{
  (void)st;
  static char gates[8192], unreached[8192], items[8192];
  /* gates of the route and op tables, and those checked inside a handler (tests: test_quota multi-device,
   * community and targeted messages above and in test_group*) */
  snprintf(gates, sizeof gates, " community group_targeted_messages multi_device_per_platform ");
  collect("doc rest-routes", "| `", 4, gates, sizeof gates);
  collect("doc ws-ops", "| `", 3, gates, sizeof gates);
  assert_true(listed(gates, "user_status") && listed(gates, "conversation_marks"));
  /* the rows the doc says no request reaches: "- `key`: why." */
  collect("editions --markdown", "- `", -1, unreached, sizeof unreached);
  /* the items table: "| label | `key` | code |", the feature rows after all_member_push */
  collect("editions --markdown", "| ", -1, items, sizeof items);
  /* the feature keys: from all_member_push to the first per-edition table (its first row: users) */
  int n = 0, in = 0;
  char *save = NULL;
  for (char *key = strtok_r(items, " ", &save); key; key = strtok_r(NULL, " ", &save)) {
    if (!strcmp(key, "all_member_push")) in = 1;
    if (!strcmp(key, "users") && in) break;
    if (!in) continue;
    n++;
    if (!listed(gates, key) && !listed(unreached, key))
      fail_msg("feature %s: no route, op or handler checks it, and docs/editions.md does not say it reaches nothing", key);
    if (listed(gates, key) && listed(unreached, key)) fail_msg("feature %s: checked, yet named as reaching nothing", key);
  }
  assert_true(n >= 15);
  assert_true(listed(unreached, "daily_new_bchatrooms")); /* a limit: no BChatRoom type to create */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_logins_in_flight_are_not_new_accounts, setup_trial, teardown),
    cmocka_unit_test_setup_teardown(test_month_users_in_flight_are_not_new, setup_developer, teardown),
    cmocka_unit_test_setup_teardown(test_friend_refusals_name_the_limit, setup_trial, teardown),
    cmocka_unit_test_setup_teardown(test_existing_member_over_a_lowered_limit, setup_intl, teardown),
    cmocka_unit_test(test_unreached_rows_are_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
