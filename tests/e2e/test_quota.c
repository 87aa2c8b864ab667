/* End-to-end: the edition's limits and gates at the points of use that exist
 * in the server today (issue 12 §2), with the trial edition's small numbers:
 * 100 accounts per app (70398, REST and login), 100 free DAU (72000), one
 * device per platform (ultimate keeps several, one per device_id), and a suspended app
 * (60016 for REST and login, connected sessions closed with 4005). Each
 * limit is tested at N (allowed) and N+1 (refused with the code). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static const char *const args[] = { "--change-poll-ms", "100", NULL };

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *v4(const char *cmd, const char *body)
{
  char out[65536];
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", cmd, body, out, sizeof out), 200);
  json_t *j = json_loads(out, 0, NULL);
  if (!j) fail_msg("reply is not JSON: %s", out);
  return j;
}

static int code_of(json_t *j) { return (int)json_integer_value(json_object_get(j, "ErrorCode")); }

static int login_code(const char *user, const char *platform, int *fd_out)
{
  char buf[2048];
  int fd = e2e_ws_login(srv.port, app, key, user, platform, buf, sizeof buf);
  if (fd_out) *fd_out = fd;
  else if (fd >= 0) close(fd);
  if (fd >= 0) return 0;
  json_t *j = json_loads(buf, 0, NULL);
  int code = j ? (int)json_integer_value(json_object_get(j, "code")) : -1;
  json_decref(j);
  return code;
}

/* Import users u000..u(n-1) in batches of up to 100. */
static void import_users(int from, int to)
{
  while (from < to) {
    char body[8192];
    size_t off = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
    int end = to - from > 100 ? from + 100 : to;
    for (int i = from; i < end; i++) off += (size_t)snprintf(body + off, sizeof body - off, "%s\"u%03d\"", i > from ? "," : "", i);
    snprintf(body + off, sizeof body - off, "]}");
    json_t *r = v4("im_open_login_svc/multiaccount_import", body);
    assert_int_equal(code_of(r), 0);
    assert_int_equal(json_array_size(json_object_get(r, "FailAccounts")), 0);
    json_decref(r);
    from = end;
  }
}

/* Wait until the running server applied a CLI change (change log poll). */
static void settle(void) { usleep(400 * 1000); }

static void test_accounts_cap(void **st)
{
  (void)st;
  import_users(0, 99);
  json_t *r = v4("im_open_login_svc/account_import", "{\"UserID\":\"u099\"}"); /* the 100th: allowed */
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  r = v4("im_open_login_svc/account_import", "{\"UserID\":\"u100\"}");     /* the 101st: refused */
  assert_int_equal(code_of(r), 70398);
  assert_non_null(strstr(json_string_value(json_object_get(r, "ErrorInfo")), "trial"));
  json_decref(r);
  r = v4("im_open_login_svc/account_import", "{\"UserID\":\"u005\",\"Nick\":\"again\"}"); /* re-import: not new */
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  r = v4("im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"u001\",\"new1\",\"new2\"]}");
  assert_int_equal(code_of(r), 0);
  json_t *fail = json_object_get(r, "FailAccounts");
  assert_int_equal(json_array_size(fail), 2);
  assert_string_equal(json_string_value(json_array_get(fail, 0)), "new1");
  json_decref(r);
  /* a login that would create the 101st account */
  assert_int_equal(login_code("fresh", "Web", NULL), 70398);
  r = v4("im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"fresh\"}]}");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "ResultItem"), 0), "AccountStatus")),
                      "NotImported");
  json_decref(r);
}

static void test_free_dau(void **st)
{
  (void)st;
  /* 100 accounts exist: each logs in once today (DAU 100, allowed) */
  int fds[100];
  for (int i = 0; i < 100; i++) {
    char u[16];
    snprintf(u, sizeof u, "u%03d", i);
    assert_int_equal(login_code(u, "Web", &fds[i]), 0);
  }
  for (int i = 0; i < 100; i++) close(fds[i]);
  /* make room for a 101st distinct user of the day: delete one, import another */
  json_t *r = v4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"u000\"}]}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  r = v4("im_open_login_svc/account_import", "{\"UserID\":\"late\"}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  assert_int_equal(login_code("late", "Web", NULL), 72000);  /* the day's 101st user */
  assert_int_equal(login_code("u007", "Web", NULL), 0);      /* counted today already */
}

static void test_multi_device_gate(void **st)
{
  (void)st;
  char buf[2048];
  int a, b, op, cc = 0;
  /* trial: the second Web login kicks the first (4002) */
  assert_int_equal(login_code("u010", "Web", &a), 0);
  assert_int_equal(login_code("u010", "Web", &b), 0);
  assert_true(e2e_ws_recv(a, &op, buf, sizeof buf, 3000, &cc) > 0);
  assert_non_null(strstr(buf, "\"type\":\"kicked\""));
  close(a);
  close(b);
  /* ultimate keeps several devices of one platform online */
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 100000000"), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition ultimate", app), 0);
  settle();
  a = e2e_ws_login_dev(srv.port, app, key, "u011", "Web", "laptop", NULL, 0);
  b = e2e_ws_login_dev(srv.port, app, key, "u011", "Web", "desktop", NULL, 0);
  assert_true(a >= 0 && b >= 0);
  assert_true(e2e_ws_recv(a, &op, buf, sizeof buf, 700, &cc) < 0); /* nothing: still online */
  /* but a reconnect from the same device replaces its predecessor (it stayed, half-open, getting pushes) */
  int b2 = e2e_ws_login_dev(srv.port, app, key, "u011", "Web", "desktop", NULL, 0);
  assert_true(b2 >= 0);
  assert_true(e2e_ws_recv(b, &op, buf, sizeof buf, 3000, &cc) > 0);
  assert_non_null(strstr(buf, "\"type\":\"kicked\""));
  assert_true(e2e_ws_recv(a, &op, buf, sizeof buf, 500, &cc) < 0); /* the other device stays */
  close(b2);
  json_t *r = v4("openim/query_online_status", "{\"To_Account\":[\"u011\"],\"IsNeedDetail\":1}");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "QueryResult"), 0), "Status")), "Online");
  json_decref(r);
  /* and now more than 100 accounts may be imported (ultimate: unlimited) */
  r = v4("im_open_login_svc/account_import", "{\"UserID\":\"u100\"}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
  close(a);
  close(b);
}

static void test_suspension(void **st)
{
  (void)st;
  char buf[2048], out[4096];
  int fd, op, cc = 0;
  assert_int_equal(login_code("u020", "Android", &fd), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app suspend --sdkappid %u", app), 0);
  /* the connected session is told why and closed with 4005 */
  assert_true(e2e_ws_recv(fd, &op, buf, sizeof buf, 3000, &cc) > 0);
  assert_non_null(strstr(buf, "\"type\":\"kicked\""));
  assert_non_null(strstr(buf, "suspended"));
  assert_true(e2e_ws_recv(fd, &op, buf, sizeof buf, 3000, &cc) >= 0);
  assert_int_equal(op, 8);
  assert_int_equal(cc, 4005);
  close(fd);
  json_t *r = v4("im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u020\"}]}");
  assert_int_equal(code_of(r), 60016);
  json_decref(r);
  assert_int_equal(login_code("u020", "Android", NULL), 60016);
  /* resuming keeps everything */
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app resume --sdkappid %u", app), 0);
  settle();
  assert_int_equal(login_code("u020", "Android", NULL), 0);
  r = v4("im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u099\"}]}");
  assert_int_equal(code_of(r), 0);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_accounts_cap), cmocka_unit_test(test_free_dau),
    cmocka_unit_test(test_multi_device_gate), cmocka_unit_test(test_suspension),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
