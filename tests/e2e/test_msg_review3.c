/* End-to-end: one-to-one corner cases found by the third review (issue 13),
 * against the real server on a standing test clock with get_list pages of 2
 * (docs/protocol.md, docs/delivery.md, docs/rest-api.md):
 *  - REST sendmsg / batchsendmsg to oneself reaches the user's devices (push
 *    and sync), whatever SyncOtherMachine says;
 * Each test uses its own users. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *const args[] = { "--test-clock", "--msg-recent-page", "2", NULL };

#define TEXT(t) "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"

static int setup(void **st)
{
  (void)st;
  char out[512];
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (e2e_cli(&srv, out, sizeof out, "operator token --json")) return -1;
  json_t *j = json_loads(out, 0, NULL);
  if (!j) return -1;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(j, "token")));
  json_decref(j);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != code)
    fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void login_live(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

/* REST sendmsg from → to with MsgRandom rnd, extra fields (",…" or "") and
 * text; must succeed. The MsgKey into mk. */
static void send_rest(const char *from, const char *to, int rnd, const char *extra, const char *text, char *mk, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d%s,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                 from, to, rnd, extra, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg %s→%s: %s", from, to, json_dumps(r, JSON_COMPACT));
  if (mk) snprintf(mk, cap, "%s", jstr(r, "MsgKey"));
  json_decref(r);
}

static const char *push_text(json_t *p)
{
  return jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text");
}

/* The texts of the msg events a fresh device of user (platform) gets by
 * syncing from 0, joined by ",". */
static void synced_texts(const char *user, const char *platform, char *out, size_t cap)
{
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(&d), *e;
  assert_non_null(evs);
  size_t i;
  out[0] = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "msg")) continue;
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", push_text(e));
  }
  json_decref(evs);
  wsc_close(&d);
}

/* ---- a REST message to oneself -------------------------------------------------------------- */
static void test_rest_to_self_reaches_devices(void **st)
{
  (void)st;
  static const char *const users[] = { "s_me", "s_peer", NULL };
  import_users(srv.port, app, key, users);
  wsc_t d;
  login_live(&d, "s_me", "Web");
  send_rest("s_me", "s_me", 1, "", "note-to-self", NULL, 0); /* SyncOtherMachine absent */
  json_t *p = wsc_push(&d, "msg", 2000);
  if (!p) fail_msg("a REST message to oneself is not pushed to the user's live device");
  assert_string_equal(push_text(p), "note-to-self");
  assert_true(jint(p, "useq") > 0);
  json_decref(p);
  send_rest("s_me", "s_me", 2, ",\"SyncOtherMachine\":2", "self-2", NULL, 0);
  p = wsc_push(&d, "msg", 2000);
  assert_non_null(p);
  assert_string_equal(push_text(p), "self-2");
  json_decref(p);
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"s_me\",\"To_Account\":[\"s_peer\",\"s_me\"],\"MsgRandom\":3,\"MsgBody\":" TEXT("batch-self") "}"), 0);
  p = wsc_push(&d, "msg", 2000);
  if (!p) fail_msg("a batchsendmsg target that is the sender gets nothing on its devices");
  assert_string_equal(push_text(p), "batch-self");
  json_decref(p);
  char texts[256];
  synced_texts("s_me", "iPhone", texts, sizeof texts);
  assert_string_equal(texts, "note-to-self,self-2,batch-self");
  wsc_close(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_to_self_reaches_devices),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
