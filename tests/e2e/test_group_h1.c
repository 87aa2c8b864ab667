/* End-to-end: group message senders and member send times, through the
 * real interfaces on a server with the test clock (it stands still, so
 * times are exact):
 *  - a message the App admin sends by REST without From_Account is sent as
 *    the identifier the request was signed as: pushes, group_msg_get_simple,
 *    the WebSocket history and the group_modify push name it, across a
 *    restart; a resend with the same Random inside the window is the same
 *    message;
 *  - LastSendMsgTime of get_group_member_info is the member's last message
 *    time in the group (WebSocket and REST sends, imports; not notices),
 *    across a restart. */
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
static char key[80], auth[160];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", NULL };

#define TEXT(t) "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"
#define G(cmd) "group_open_http_svc/" cmd

static int setup(void **st)
{
  (void)st;
  char out[512];
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (e2e_cli(&srv, out, sizeof out, "operator token --json")) return -1;
  json_t *t = json_loads(out, 0, NULL);
  if (!t) return -1;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *call(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *cmd, const char *fmt, ...)
{
  static char body[1 << 16];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  json_t *r = v4(srv.port, app, key, cmd, "%s", body);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fprintf(stderr, "%s: %s\n", cmd, jstr(r, "ErrorInfo"));
  return r;
}

static void ok(json_t *r)
{
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

static int64_t clock_now(void)
{
  static char reply[4096];
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/clock", auth, NULL, reply, sizeof reply), 200);
  json_t *o = json_loads(reply, 0, NULL);
  assert_non_null(o);
  int64_t now = (int64_t)jint(o, "now_s");
  json_decref(o);
  return now;
}

static void advance(int s)
{
  static char reply[1 << 16];
  char body[64];
  snprintf(body, sizeof body, "{\"advance_s\":%d}", s);
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/clock", auth, body, reply, sizeof reply), 200);
}

static void restart(void)
{
  int status = e2e_server_stop(&srv);
  if (status) { char *log = e2e_server_log(&srv); fprintf(stderr, "%s\n", log); free(log); }
  assert_int_equal(status, 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
}

static void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
}

/* ---- 1. the App admin sends without From_Account ------------------------------------------------- */
/* From_Account of every message of group_msg_get_simple, oldest first, joined by "," (system notices: "-"). */
static void simple_senders(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", gid), *m;
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *list = json_object_get(r, "RspMsgList");
  out[0] = 0;
  for (size_t i = json_array_size(list); i-- > 0;) {
    m = json_array_get(list, i);
    const char *who = jint(m, "IsSystemMsg") ? "-" : jstr(m, "From_Account");
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", who);
  }
  json_decref(r);
}

static void test_admin_sender(void **st)
{
  (void)st;
  static const char *const u[] = { "aa", "ab", NULL };
  import_users(srv.port, app, key, u);
  ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"adm\",\"GroupId\":\"adm\",\"Owner_Account\":\"aa\","
                             "\"MemberList\":[{\"Member_Account\":\"ab\"}]}"));
  wsc_t a;
  login(&a, "aa");
  json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"Random\":11,\"MsgBody\":" TEXT("from the admin") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t seq = jint(r, "MsgSeq");
  json_decref(r);
  r = wsc_push(&a, "group_msg", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "msg.from"), "administrator");
  json_decref(r);
  /* the admin's resend inside the dedupe window is the same message */
  r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"Random\":11,\"MsgBody\":" TEXT("from the admin") "}");
  assert_int_equal(jint(r, "MsgSeq"), seq);
  json_decref(r);
  /* a member's message with the same Random is another sender's */
  r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"From_Account\":\"ab\",\"Random\":11,\"MsgBody\":" TEXT("ab") "}");
  assert_int_equal(jint(r, "MsgSeq"), seq + 1);
  json_decref(r);
  char got[256];
  simple_senders("adm", got, sizeof got);
  assert_string_equal(got, "-,administrator,ab");
  /* the WebSocket history */
  r = wsc_rpc(&a, "group_history", "\"group_id\":\"adm\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *msgs = json_object_get(r, "msgs");
  assert_int_equal(json_array_size(msgs), 3);
  assert_string_equal(jstr(json_array_get(msgs, 1), "from"), "administrator");
  assert_string_equal(jstr(json_array_get(msgs, 2), "from"), ""); /* the creation notice */
  json_decref(r);
  /* a change of the message is pushed with its sender */
  ok(call("openim/modify_group_msg", "{\"GroupId\":\"adm\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("changed") "}", (long long)seq));
  r = wsc_push(&a, "group_modify", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "msg.from"), "administrator");
  json_decref(r);
  wsc_close(&a);
  restart();
  simple_senders("adm", got, sizeof got);
  assert_string_equal(got, "-,administrator,ab");
}

/* ---- 2. LastSendMsgTime ------------------------------------------------------------------------------- */
/* LastSendMsgTime of each member of the group, "user=time" joined by "," in member order. */
static void last_sends(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("get_group_member_info"), "{\"GroupId\":\"%s\",\"MemberInfoFilter\":[\"LastSendMsgTime\"]}", gid), *m;
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MemberList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s=%lld", out[0] ? "," : "", jstr(m, "Member_Account"),
             (long long)jint(m, "LastSendMsgTime"));
  json_decref(r);
}

static void test_last_send_time(void **st)
{
  (void)st;
  static const char *const u[] = { "la", "lb", "lc", NULL };
  import_users(srv.port, app, key, u);
  ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ls\",\"GroupId\":\"ls\",\"Owner_Account\":\"la\","
                             "\"MemberList\":[{\"Member_Account\":\"lb\"}]}"));
  char got[256], want[256];
  last_sends("ls", got, sizeof got);
  assert_string_equal(got, "la=0,lb=0");
  int64_t t0 = clock_now();
  wsc_t a;
  login(&a, "la");
  json_t *r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":1,\"body\":" TEXT("one"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=0", (long long)t0);
  assert_string_equal(got, want);
  /* later: a REST send of lb, a second message of la; a notice (lc added) and the admin's own message change nobody's */
  advance(5);
  ok(call(G("send_group_msg"), "{\"GroupId\":\"ls\",\"From_Account\":\"lb\",\"Random\":2,\"MsgBody\":" TEXT("two") "}"));
  advance(3);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":3,\"body\":" TEXT("three"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":4,\"body\":" TEXT("four, same second"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  advance(10);
  ok(call(G("add_group_member"), "{\"GroupId\":\"ls\",\"MemberList\":[{\"Member_Account\":\"lc\"}]}"));
  ok(call(G("send_group_msg"), "{\"GroupId\":\"ls\",\"Random\":5,\"MsgBody\":" TEXT("admin") "}"));
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=%lld,lc=0", (long long)t0 + 8, (long long)t0 + 5);
  assert_string_equal(got, want);
  /* an imported message older than lc's joining still counts as its last (only) message */
  ok(call(G("import_group_msg"), "{\"GroupId\":\"ls\",\"MsgList\":[{\"From_Account\":\"lc\",\"SendTime\":%lld,\"Random\":6,"
                                 "\"MsgBody\":" TEXT("imported") "}]}", (long long)t0 + 1));
  wsc_close(&a);
  restart();
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=%lld,lc=%lld", (long long)t0 + 8, (long long)t0 + 5, (long long)t0 + 1);
  assert_string_equal(got, want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_admin_sender),
    cmocka_unit_test(test_last_send_time),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
