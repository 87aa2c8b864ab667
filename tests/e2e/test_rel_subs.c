/* End-to-end: the caps on user-status subscriptions (docs/protocol.md "User
 * status") against the real server started with --status-subs-per-user 5
 * and --status-subs-max 8 on an international app (user status on):
 * a subscribe that would pass the user's cap answers 70402, one that would
 * pass the server's cap 60018, both changing nothing; pushes still reach
 * the subscribers; when the sessions end — closed, or kicked by an account
 * deletion — GET /healthz shows every subscription freed. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--status-subs-per-user", "5", "--status-subs-max", "8", NULL };

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
}

static void rpc_code(wsc_t *c, const char *op, const char *fields, int code)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code") != code) fail_msg("%s %s: expected %d, got %s", op, fields, code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* healthz status_subs.total / targets / users */
static void subs(int *total, int *targets, int *users)
{
  char out[16384];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, out, sizeof out), 200);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  assert_true(json_is_integer(json_object_get(json_object_get(o, "status_subs"), "total")));
  *total = (int)jint(o, "status_subs.total");
  *targets = (int)jint(o, "status_subs.targets");
  *users = (int)jint(o, "status_subs.users");
  json_decref(o);
}

static int subs_total(void)
{
  int t, g, u;
  subs(&t, &g, &u);
  return t;
}

/* Wait until healthz shows nothing held (a close is handled asynchronously). */
static void expect_all_freed(void)
{
  int t = -1, g = -1, u = -1;
  for (int i = 0; i < 100; i++) {
    subs(&t, &g, &u);
    if (!t && !g && !u) return;
    usleep(20 * 1000);
  }
  fail_msg("subscriptions left after every session ended: total=%d targets=%d users=%d", t, g, u);
}

static void test_caps_and_free_on_close(void **st)
{
  (void)st;
  static const char *const users[] = { "s_a", "s_b", "t0", "t1", "t2", "t3", "t4", "t5", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a1, a2, b, t0;
  login(&a1, "s_a", "Web");
  login(&a2, "s_a", "PC");
  login(&b, "s_b", "Web");
  rpc_code(&a1, "status_subscribe", "\"users\":[\"t0\",\"t1\",\"t2\"]", 0);
  assert_int_equal(subs_total(), 3);
  /* the user's cap counts all its sessions: 3 + 3 > 5 → 70402, nothing added */
  rpc_code(&a2, "status_subscribe", "\"users\":[\"t3\",\"t4\",\"t5\"]", 70402);
  assert_int_equal(subs_total(), 3);
  rpc_code(&a2, "status_subscribe", "\"users\":[\"t3\",\"t4\",\"t3\"]", 0); /* a repeat counts once */
  assert_int_equal(subs_total(), 5);
  rpc_code(&a1, "status_subscribe", "\"users\":[\"t0\",\"nobody\"]", 0); /* held already / unknown: nothing new */
  assert_int_equal(subs_total(), 5);
  /* the server's cap: 5 + 4 > 8 → 60018, nothing added; 5 + 3 fits */
  rpc_code(&b, "status_subscribe", "\"users\":[\"t0\",\"t1\",\"t2\",\"t3\"]", 60018);
  assert_int_equal(subs_total(), 5);
  rpc_code(&b, "status_subscribe", "\"users\":[\"t0\",\"t1\",\"t2\"]", 0);
  assert_int_equal(subs_total(), 8);
  /* pushes reach every subscriber */
  login(&t0, "t0", "Web");
  json_t *p = wsc_push(&a1, "status", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "user"), "t0");
  assert_string_equal(jstr(p, "status"), "Online");
  json_decref(p);
  assert_non_null(p = wsc_push(&b, "status", 5000));
  json_decref(p);
  assert_null(wsc_push(&a2, "status", 300)); /* a2 did not subscribe to t0 */
  /* unsubscribing frees one; the freed room is usable */
  rpc_code(&a1, "status_unsubscribe", "\"users\":[\"t1\"]", 0);
  assert_int_equal(subs_total(), 7);
  rpc_code(&a1, "status_subscribe", "\"users\":[\"t5\"]", 0);
  assert_int_equal(subs_total(), 8);
  /* closing the sessions frees everything they held */
  wsc_close(&a1);
  wsc_close(&a2);
  wsc_close(&t0);
  int t, g, u;
  for (int i = 0; i < 100 && subs_total() != 3; i++) usleep(20 * 1000);
  subs(&t, &g, &u);
  assert_int_equal(t, 3);
  assert_int_equal(g, 3);
  assert_int_equal(u, 1);
  /* an account deletion kicks b: its subscriptions go too */
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"s_b\"}]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  expect_all_freed();
  wsc_close(&b);
  expect_all_freed();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_caps_and_free_on_close),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
