/* End-to-end: the REST body caps of the routes that carry messages follow
 * msg_max_bytes (raised here to 200,000), against the real server:
 *  - sendmsg and send_group_msg take a 150,000-byte message, and a message
 *    within msg_max_bytes whose JSON escaping makes the body larger than
 *    1 MiB (the old fixed HTTP limit);
 *  - a message above msg_max_bytes gets 93000 ("the message is N bytes
 *    packed (at most 200000)") and is not stored;
 *  - a body past the route's derived cap (6 × msg_max_bytes + 64 KiB) gets
 *    93000 "request too large" and nothing is stored; a body past the
 *    server's HTTP limit gets HTTP 413. */
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

#define MSG_MAX 200000
#define ROUTE_CAP (6 * MSG_MAX + 65536) /* docs/rest-api.md: a one-message route's body cap */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--msg-max-bytes", "200000", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* A REST call whose body is head + n text characters + tail; each
 * character 'x' is written as \u0078 when escaped. The reply's
 * ErrorCode; its ErrorInfo into info (128 B). */
static int call_text(const char *cmd, const char *head, size_t n, int escaped, const char *tail, char *info)
{
  size_t unit = escaped ? 6 : 1, cap = strlen(head) + n * unit + strlen(tail) + 1;
  char *body = malloc(cap), *p = body;
  p += sprintf(p, "%s", head);
  for (size_t i = 0; i < n; i++) p += escaped ? (size_t)sprintf(p, "\\u0078") : (size_t)sprintf(p, "x");
  strcpy(p, tail);
  static char out[1 << 16];
  int st = e2e_v4(srv.port, app, key, "administrator", cmd, body, out, sizeof out);
  free(body);
  assert_int_equal(st, 200);
  json_t *r = json_loads(out, 0, NULL);
  assert_non_null(r);
  int code = (int)jint(r, "ErrorCode");
  snprintf(info, 128, "%s", jstr(r, "ErrorInfo"));
  json_decref(r);
  return code;
}

#define TEXT_HEAD "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\""
#define TEXT_TAIL "\"}}]}"

static int c2c_send(int random, size_t n, int escaped, char *info)
{
  char head[256];
  snprintf(head, sizeof head, "{\"From_Account\":\"c_a\",\"To_Account\":\"c_b\",\"MsgRandom\":%d," TEXT_HEAD, random);
  return call_text("openim/sendmsg", head, n, escaped, TEXT_TAIL, info);
}

static int group_send(int random, size_t n, int escaped, char *info)
{
  char head[256];
  snprintf(head, sizeof head, "{\"GroupId\":\"caps\",\"Random\":%d,\"From_Account\":\"g_b\"," TEXT_HEAD, random);
  return call_text("group_open_http_svc/send_group_msg", head, n, escaped, TEXT_TAIL, info);
}

/* The lengths of the texts c_b holds with c_a, newest first, into len (cap 8); how many. */
static int c2c_lengths(size_t *len)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"c_b\",\"Peer_Account\":\"c_a\",\"MaxCnt\":8,\"MinTime\":0,\"MaxTime\":0}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(r, "MsgList"), i, m)
    if (i < 8) len[i] = strlen(jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text"));
  int n = (int)json_array_size(json_object_get(r, "MsgList"));
  json_decref(r);
  return n;
}

static void test_sendmsg_caps(void **st)
{
  (void)st;
  static const char *const users[] = { "c_a", "c_b", NULL };
  import_users(srv.port, app, key, users);
  char info[128];
  size_t len[8];
  /* 150,000 bytes: far above the old fixed 64 KiB route cap */
  assert_int_equal(c2c_send(1, 150000, 0, info), 0);
  /* 180,000 characters escaped: a 1.08 MB body (above the old 1 MiB HTTP limit), 180,000 bytes packed */
  assert_true(180000 * 6 > (1 << 20));
  assert_int_equal(c2c_send(2, 180000, 1, info), 0);
  assert_int_equal(c2c_lengths(len), 2);
  assert_int_equal(len[0], 180000);
  assert_int_equal(len[1], 150000);
  /* above msg_max_bytes: 93000 for the message */
  assert_int_equal(c2c_send(3, MSG_MAX + 100, 0, info), 93000);
  assert_non_null(strstr(info, "bytes packed (at most 200000)"));
  /* a body past the route cap: 93000 for the request, before the message is looked at */
  assert_true((ROUTE_CAP / 6 + 100) * 6 > ROUTE_CAP);
  assert_int_equal(c2c_send(4, ROUTE_CAP / 6 + 100, 1, info), 93000);
  assert_string_equal(info, "request too large");
  /* just within the route cap the same kind of body reaches the message check */
  assert_int_equal(c2c_send(5, (ROUTE_CAP - 1024) / 6, 1, info), 93000);
  assert_non_null(strstr(info, "bytes packed (at most 200000)"));
  assert_int_equal(c2c_lengths(len), 2);
}

static void test_send_group_msg_caps(void **st)
{
  (void)st;
  static const char *const users[] = { "g_a", "g_b", NULL };
  import_users(srv.port, app, key, users);
  json_t *r = v4(srv.port, app, key, "group_open_http_svc/create_group",
                 "{\"Type\":\"Public\",\"Name\":\"caps\",\"GroupId\":\"caps\",\"Owner_Account\":\"g_a\","
                 "\"MemberList\":[{\"Member_Account\":\"g_b\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  char info[128];
  assert_int_equal(group_send(1, 150000, 0, info), 0);
  assert_int_equal(group_send(2, 180000, 1, info), 0);
  assert_int_equal(group_send(3, MSG_MAX + 100, 0, info), 80002); /* a body too long (decisions/groups-messages.md §11) */
  assert_non_null(strstr(info, "bytes packed (at most 200000)"));
  assert_int_equal(group_send(4, ROUTE_CAP / 6 + 100, 1, info), 93000);
  assert_string_equal(info, "request too large");
  /* the two messages are stored, whole, after the creation notice */
  r = v4(srv.port, app, key, "group_open_http_svc/group_msg_get_simple", "{\"GroupId\":\"caps\",\"ReqMsgNumber\":20}");
  assert_non_null(r);
  json_t *l = json_object_get(r, "RspMsgList");
  assert_int_equal(json_array_size(l), 3);
  assert_int_equal(strlen(jstr(json_array_get(json_object_get(json_array_get(l, 0), "MsgBody"), 0), "MsgContent.Text")), 180000);
  assert_int_equal(strlen(jstr(json_array_get(json_object_get(json_array_get(l, 1), "MsgBody"), 0), "MsgContent.Text")), 150000);
  json_decref(r);
}

/* Past the server's HTTP body limit (the largest route cap, here
 * import_group_msg's 16 MiB ceiling): 413 from the Content-Length alone. */
static void test_http_limit_413(void **st)
{
  (void)st;
  char req[256], body[4096];
  snprintf(req, sizeof req, "POST /v4/openim/sendmsg HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n{", (16u << 20) + 1);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, strlen(req)), 0);
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 5000), 413);
  close(fd);
  assert_non_null(strstr(body, "\"ErrorCode\":93000"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sendmsg_caps),
    cmocka_unit_test(test_send_group_msg_caps),
    cmocka_unit_test(test_http_limit_413),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
