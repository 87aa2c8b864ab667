/* End-to-end: a conversation whose last message is past the app's retention
 * (docs/decisions/messaging-c2c-conversations.md §46), on the test clock, for both
 * kinds and both lists (WebSocket conversations, REST
 * recentcontact/get_list):
 *  - a C2C conversation and a group conversation whose last messages are
 *    7 days and a second old are empty, the same for both kinds: left out
 *    of conversations and of get_list (AssistFlags 0 and 1), listed with
 *    AssistFlags bit 1 as empty (MsgTime 0, after the others), listed when
 *    pinned (last_seq 0, last_time 0; get_list: with bit 1, first with bit
 *    0); a conversation a second younger is
 *    listed as before. Before, the C2C one stayed listed with its gone
 *    last message (last_seq 1) while the group one was empty;
 *  - a new message lists the conversation again with it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_op.h"
#include "e2e_check.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
/* the test clock starts before the wall clock, so the UserSigs (made on the wall clock) outlive its days */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-01", NULL };
#define DAY 86400

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app_at(&srv, "china", "2026-09-01", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}



static void csend(const char *from, const char *to, int random)
{
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("hi") "}",
          from, to, random));
}

static void gsend(const char *gid, const char *from, int random)
{
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d,\"MsgBody\":" TEXT("hi") "}",
          gid, from, random));
}

/* user's conversations (WebSocket, one page) as "C:peer:last_seq" / "G:group:last_seq", "+" when pinned, "@0"
 * when last_time is 0 */
static void ws_list(const char *user, const char *pin, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  if (pin) {
    json_t *r = wsc_rpc(&c, "pin", "%s", pin);
    assert_non_null(r);
    if (jint(r, "code")) fail_msg("pin %s: %s", pin, json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
  json_t *o = wsc_rpc(&c, "conversations", "%s", "");
  assert_non_null(o);
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(o, "conversations"), i, e) {
    json_t *gid = json_object_get(e, "group_id");
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s:%lld%s%s", out[0] ? "," : "", gid ? "G" : "C",
             gid ? json_string_value(gid) : jstr(e, "peer"), (long long)jint(e, "last_seq"),
             json_is_true(json_object_get(e, "pinned")) ? "+" : "", jint(e, "last_time") ? "" : "@0");
    if (jint(e, "unread") > jint(e, "last_seq") - jint(e, "read_seq")) fail_msg("%s", json_dumps(e, JSON_COMPACT));
  }
  json_decref(o);
  wsc_close(&c);
}

/* user's get_list (AssistFlags flags, one page) as "C:peer" / "G:group", "@0" when MsgTime is 0 */
static void rest_list(const char *user, int flags, char *out, size_t cap)
{
  json_t *r = call("recentcontact/get_list", "{\"From_Account\":\"%s\",\"TimeStamp\":0,\"StartIndex\":0,"
                   "\"TopTimeStamp\":0,\"TopStartIndex\":0,\"AssistFlags\":%d}", user, flags);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "SessionItem"), i, e) {
    int grp = jint(e, "Type") == 2;
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s%s", out[0] ? "," : "", grp ? "G" : "C",
             jstr(e, grp ? "GroupId" : "To_Account"), jint(e, "MsgTime") ? "" : "@0");
  }
  json_decref(r);
}

static void test_expired_is_empty_for_both_kinds(void **st)
{
  (void)st;
  char got[1024];
  import_users(srv.port, app, key, (const char *const[]){ "u", "old", "new", "own", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"g_old\",\"Owner_Account\":\"own\","
                             "\"MemberList\":[{\"Member_Account\":\"u\"}]}"));
  csend("old", "u", 1);
  gsend("g_old", "own", 1);
  op_clock_advance(srv.port, auth, 1);
  csend("new", "u", 1);
  ws_list("u", NULL, got, sizeof got);
  assert_string_equal(got, "C:new:1,C:old:1,G:g_old:2"); /* the group's seq 1: its creation notice */
  op_clock_advance(srv.port, auth, 7 * DAY); /* old's and g_old's last messages are 7 days and a second old; new's 7 days */
  /* both kinds empty: left out unless pinned or asked for (AssistFlags bit 1) */
  ws_list("u", NULL, got, sizeof got);
  assert_string_equal(got, "C:new:1");
  rest_list("u", 0, got, sizeof got);
  assert_string_equal(got, "C:new");
  rest_list("u", 1, got, sizeof got);
  assert_string_equal(got, "C:new");
  rest_list("u", 2, got, sizeof got);
  assert_string_equal(got, "C:new,C:old@0,G:g_old@0");
  /* pinned: listed, empty */
  ws_list("u", "\"peer\":\"old\",\"pinned\":true", got, sizeof got);
  ws_list("u", "\"group_id\":\"g_old\",\"pinned\":true", got, sizeof got);
  assert_string_equal(got, "G:g_old:0+@0,C:old:0+@0,C:new:1");
  rest_list("u", 1, got, sizeof got); /* get_list lists an empty conversation with AssistFlags bit 1 only */
  assert_string_equal(got, "C:new");
  rest_list("u", 3, got, sizeof got);
  assert_string_equal(got, "G:g_old@0,C:old@0,C:new");
  /* a new message lists them again with it */
  ws_list("u", "\"peer\":\"old\",\"pinned\":false", got, sizeof got);
  ws_list("u", "\"group_id\":\"g_old\",\"pinned\":false", got, sizeof got);
  assert_string_equal(got, "C:new:1");
  csend("old", "u", 2);
  gsend("g_old", "own", 2);
  ws_list("u", NULL, got, sizeof got);
  assert_string_equal(got, "C:old:2,G:g_old:3,C:new:1");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_expired_is_empty_for_both_kinds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
