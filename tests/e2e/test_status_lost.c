/* End-to-end: user status (docs/protocol.md "User status") when memory runs
 * out (decisions §82). The failure is injected with IMCLOUD_TEST_FAIL
 * (src/util/faultsim.h), counted from the start of each test's own server.
 * A status push that cannot be queued on a subscriber's connection
 * (status_push_send) was dropped silently until 2026-12-06: the subscriber
 * kept the old status with nothing telling it. Now the subscriber is cut
 * with 1011 and reads the current status when it comes back. A
 * status_unsubscribe whose list could not be made whole
 * (status_list_json) had ended the subscriptions before the failing entry
 * and answered 70500 (partly done); now it ends none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

/* A server failing as fail says (an international app: its edition has user status), with users u imported. */
static void start(const char *fail, const char *const *u)
{
  setenv("IMCLOUD_TEST_FAIL", fail, 1);
  int rc = e2e_start(&srv, "singapore", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, u);
}

static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_decref(wsc_sync_live(c));
}

static json_t *rpc(wsc_t *c, const char *op, const char *fields, int code)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code") != code) fail_msg("%s: expected %d, got %s", op, code, json_dumps(r, JSON_COMPACT));
  return r;
}

/* The next status push of user on c (NULL when the connection is closed first: *cc its close code). */
static json_t *status_of(wsc_t *c, const char *user, int *cc)
{
  json_t *o;
  while ((o = wsc_next(c, 10000, cc))) {
    if (!strcmp(jstr(o, "type"), "status") && !strcmp(jstr(o, "user"), user)) return o;
    json_decref(o);
  }
  return NULL;
}

/* The first status push (status_push_send:1) is the one to the subscriber: it is cut with 1011, never left
 * with the old status; the user's own device gets its push; the subscriber comes back and reads the new status. */
static void test_push_fails_for_subscriber(void **st)
{
  (void)st;
  start("status_push_send:1", (const char *const[]){ "a", "b", NULL });
  wsc_t a, b;
  login(&a, "a", "Web");
  login(&b, "b", "iPhone");
  json_decref(rpc(&a, "status_subscribe", "\"users\":[\"b\"]", 0));
  json_decref(rpc(&b, "status_set", "\"custom_status\":\"busy\"", 0));
  int cc = 0;
  json_t *p = status_of(&a, "b", &cc);
  if (p) fail_msg("the subscriber got %s", json_dumps(p, JSON_COMPACT));
  assert_int_equal(cc, 1011);
  p = status_of(&b, "b", &cc); /* the user's own device */
  assert_non_null(p);
  assert_string_equal(jstr(p, "custom_status"), "busy");
  json_decref(p);
  wsc_close(&a);
  login(&a, "a", "Web");
  json_t *r = rpc(&a, "status_subscribe", "\"users\":[\"b\"]", 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "statuses"), 0), "custom_status"), "busy");
  json_decref(r);
  json_decref(rpc(&b, "status_set", "\"custom_status\":\"free\"", 0)); /* the new subscription works */
  p = status_of(&a, "b", &cc);
  assert_non_null(p);
  assert_string_equal(jstr(p, "custom_status"), "free");
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* The unsubscribe's second entry cannot be made (status_list_json:4; the subscribe's two are 1 and 2): 70500 and
 * both subscriptions kept (pushes of b, then of c, still come); a later unsubscribe of b alone ends b's only. */
static void test_unsubscribe_all_or_nothing(void **st)
{
  (void)st;
  start("status_list_json:4", (const char *const[]){ "a", "b", "c", NULL });
  wsc_t a, b, c;
  login(&a, "a", "Web");
  login(&b, "b", "PC");
  login(&c, "c", "PC");
  json_decref(rpc(&a, "status_subscribe", "\"users\":[\"b\",\"c\"]", 0));
  json_t *r = rpc(&a, "status_unsubscribe", "\"users\":[\"b\",\"c\"]", 70500);
  assert_null(json_object_get(r, "results"));
  json_decref(r);
  static const char *const users[] = { "b", "c" };
  wsc_t *dev[] = { &b, &c };
  int cc = 0;
  for (int i = 0; i < 2; i++) {
    json_decref(rpc(dev[i], "status_set", "\"custom_status\":\"x\"", 0));
    json_t *p = status_of(&a, users[i], &cc);
    if (!p) fail_msg("no status push of %s: its subscription was ended (close %d)", users[i], cc);
    assert_string_equal(jstr(p, "custom_status"), "x");
    json_decref(p);
  }
  r = rpc(&a, "status_unsubscribe", "\"users\":[\"b\"]", 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "results"), 0), "code"), 0);
  json_decref(r);
  json_decref(rpc(&b, "status_set", "\"custom_status\":\"y\"", 0));
  json_decref(rpc(&c, "status_set", "\"custom_status\":\"z\"", 0));
  json_t *p = wsc_push(&a, "status", 10000); /* c's: b's push would have come first */
  assert_non_null(p);
  assert_string_equal(jstr(p, "user"), "c");
  assert_string_equal(jstr(p, "custom_status"), "z");
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
  wsc_close(&c);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_push_fails_for_subscriber),
    cmocka_unit_test(test_unsubscribe_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
