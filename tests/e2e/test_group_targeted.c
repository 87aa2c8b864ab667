/* End-to-end: targeted group messages (send_group_msg To_Account,
 * docs/decisions/groups-messages.md §12). On an Ultimate app a targeted message
 * takes the group's next seq and reaches only its recipients and its
 * sender: pushes (the message, its modification, its recall), group_sync
 * and group_history leave it out for everyone else, and it is never
 * unread. The App admin's group_msg_get_simple shows it with To_Account;
 * the WebSocket group_send takes the same list as "to".
 * An edition without the feature answers 10059; bad lists change nothing. */
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

static e2e_server_t srv;
static uint32_t app, free_app;
static char key[80], free_key[80];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);      /* customer 1 */
  e2e_make_app(&srv, "china", &free_app, free_key);
  if (e2e_app_ultimate(&srv, 1, app)) return -1;
  return e2e_server_start(&srv, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *send_msg(const char *from, const char *to, int random, const char *text)
{
  if (!to) return call(G("send_group_msg"), "{\"GroupId\":\"tg\",\"From_Account\":\"%s\",\"Random\":%d,\"MsgBody\":"
                                            "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, random, text);
  return call(G("send_group_msg"), "{\"GroupId\":\"tg\",\"From_Account\":\"%s\",\"To_Account\":%s,\"Random\":%d,"
                                   "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
              from, to, random, text);
}

static json_int_t seq_of(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_int_t s = jint(r, "MsgSeq");
  json_decref(r);
  return s;
}

static int code(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}

static int match_group_push(json_t *o, const void *arg)
{
  (void)arg;
  const char *t = jstr(o, "type");
  return !strcmp(t, "group_msg") || !strcmp(t, "group_modify") || !strcmp(t, "group_recall");
}

/* The next message, modification or recall push of c: "type:seq:text". */
static void next_push(wsc_t *c, char *out, size_t cap)
{
  json_t *p = wsc_take(c, match_group_push, NULL, 5000);
  assert_non_null(p);
  snprintf(out, cap, "%s:%lld:%s", jstr(p, "type"), (long long)(jint(p, "msg.seq") + jint(p, "seq")), /* a recall: seq */
           jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"));
  json_decref(p);
}

static void expect_history(wsc_t *c, const char *want)
{
  char got[256];
  json_t *r = wsc_rpc(c, "group_history", "\"group_id\":\"tg\"");
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, want);
  json_decref(r);
}

static void expect_sync(wsc_t *c, int after, int limit, const char *want, int seq, int complete)
{
  char got[256];
  json_t *r = wsc_rpc(c, "group_sync", "\"group_id\":\"tg\",\"after_seq\":%d,\"limit\":%d", after, limit);
  assert_int_equal(jint(r, "code"), 0);
  msg_texts(json_object_get(r, "msgs"), "body", got, sizeof got);
  assert_string_equal(got, want);
  assert_int_equal(jint(r, "seq"), seq);
  assert_int_equal(json_is_true(json_object_get(r, "complete")), complete);
  json_decref(r);
}

static json_int_t unread(wsc_t *c)
{
  json_t *r = wsc_rpc(c, "group_list", "%s", "");
  assert_int_equal(jint(r, "code"), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "groups"), 0), "unread");
  json_decref(r);
  return n;
}

static void test_targeted(void **st)
{
  (void)st;
  char got[256];
  import_users(srv.port, app, key, (const char *const[]){ "t_owner", "t_a", "t_b", "t_out", NULL });
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"tg\",\"GroupId\":\"tg\",\"Owner_Account\":\"t_owner\","
                                                "\"MemberList\":[{\"Member_Account\":\"t_a\"},{\"Member_Account\":\"t_b\"}]}")), 0);
  wsc_t o, a, b;
  assert_int_equal(wsc_login(&o, srv.port, app, key, "t_owner", "Web"), 0);
  assert_int_equal(wsc_login(&a, srv.port, app, key, "t_a", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "t_b", "Web"), 0);
  assert_int_equal(seq_of(send_msg("t_owner", NULL, 1, "all")), 2);
  assert_int_equal(seq_of(send_msg("t_owner", "[\"t_a\",\"t_a\"]", 2, "secret")), 3); /* a seq of the group */
  assert_int_equal(seq_of(send_msg("t_owner", NULL, 3, "after")), 4);
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_msg:2:all");
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_msg:3:secret");
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_msg:4:after");
  next_push(&b, got, sizeof got); assert_string_equal(got, "group_msg:2:all");
  next_push(&b, got, sizeof got); assert_string_equal(got, "group_msg:4:after");
  /* history and sync: only the recipient and the sender see it */
  expect_history(&a, "after,secret,all");
  expect_history(&o, "after,secret,all");
  expect_history(&b, "after,all");
  expect_sync(&b, 2, 100, "after", 4, 1);
  expect_sync(&b, 2, 1, "after", 4, 1);
  expect_sync(&b, 3, 100, "after", 4, 1);
  expect_sync(&a, 2, 1, "secret", 3, 0);
  /* never unread */
  assert_int_equal(unread(&a), 2);
  assert_int_equal(unread(&b), 2);
  /* the App admin sees it with its recipients */
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"tg\",\"ReqMsgNumber\":20}");
  assert_non_null(r);
  json_t *m = json_array_get(json_object_get(r, "RspMsgList"), 1);
  assert_int_equal(jint(m, "MsgSeq"), 3);
  assert_string_equal(json_string_value(json_array_get(json_object_get(m, "To_Account"), 0)), "t_a");
  assert_int_equal(json_array_size(json_object_get(m, "To_Account")), 1);
  assert_null(json_object_get(json_array_get(json_object_get(r, "RspMsgList"), 0), "To_Account"));
  json_decref(r);
  /* a change of it is pushed to them only */
  assert_int_equal(code(call("openim/modify_group_msg", "{\"GroupId\":\"tg\",\"MsgSeq\":3,\"MsgBody\":" TEXT("secret2") "}")), 0);
  assert_int_equal(code(call(G("group_msg_recall"), "{\"GroupId\":\"tg\",\"MsgSeqList\":[{\"MsgSeq\":3}]}")), 0);
  assert_int_equal(seq_of(send_msg("t_b", NULL, 4, "z")), 5);
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_modify:3:secret2");
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_recall:3:");
  next_push(&a, got, sizeof got); assert_string_equal(got, "group_msg:5:z");
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_msg:2:all");
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_msg:3:secret"); /* the sender's devices */
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_msg:4:after");
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_modify:3:secret2");
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_recall:3:");
  next_push(&b, got, sizeof got); assert_string_equal(got, "group_msg:5:z"); /* nothing about seq 3 */
  /* the WebSocket group_send takes "to" */
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"tg\",\"random\":7,\"to\":[\"t_owner\"],\"body\":" TEXT("w"));
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), 6);
  json_decref(r);
  assert_int_equal(seq_of(send_msg("t_b", NULL, 8, "y")), 7);
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_msg:5:z");
  next_push(&o, got, sizeof got); assert_string_equal(got, "group_msg:6:w");
  next_push(&b, got, sizeof got); assert_string_equal(got, "group_msg:7:y");
  expect_sync(&b, 5, 100, "y", 7, 1);
  wsc_close(&o);
  wsc_close(&a);
  wsc_close(&b);
}

static void test_refused(void **st)
{
  (void)st;
  char list[1024];
  size_t n = (size_t)snprintf(list, sizeof list, "[");
  for (int i = 0; i < 51; i++) n += (size_t)snprintf(list + n, sizeof list - n, "%s\"u%d\"", i ? "," : "", i);
  snprintf(list + n, sizeof list - n, "]");
  assert_int_equal(code(send_msg("t_owner", "[\"t_out\"]", 10, "x")), 10007);   /* not a member */
  assert_int_equal(code(send_msg("t_owner", "[\"t_a\",\"nobody\"]", 11, "x")), 10019);
  assert_int_equal(code(send_msg("t_owner", "[]", 12, "x")), 10004);
  assert_int_equal(code(send_msg("t_owner", list, 13, "x")), 10005);
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"tg\"]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "GroupInfo"), 0), "NextMsgSeq"), 8); /* nothing taken */
  json_decref(r);
  /* 51 names, one account: a name given twice counts once */
  n = (size_t)snprintf(list, sizeof list, "[");
  for (int i = 0; i < 51; i++) n += (size_t)snprintf(list + n, sizeof list - n, "%s\"t_a\"", i ? "," : "");
  snprintf(list + n, sizeof list - n, "]");
  assert_int_equal(code(send_msg("t_owner", list, 14, "x")), 0);
  /* an edition without targeted messages */
  import_users(srv.port, free_app, free_key, (const char *const[]){ "f_owner", NULL });
  r = v4(srv.port, free_app, free_key, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"f\",\"GroupId\":\"tg\",\"Owner_Account\":\"f_owner\"}");
  assert_int_equal(code(r), 0);
  r = v4(srv.port, free_app, free_key, G("send_group_msg"), "{\"GroupId\":\"tg\",\"From_Account\":\"f_owner\",\"To_Account\":[\"f_owner\"],"
                                                             "\"Random\":1,\"MsgBody\":" TEXT("x") "}");
  assert_int_equal(code(r), 10059);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_targeted),
    cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
