/* End-to-end: the size rules of group messages (docs/decisions/groups-messages.md
 * §11). A group message body over msg_max_bytes (12,288 B packed) answers
 * 80002 on send_group_msg, modify_group_msg and the WebSocket group_send,
 * 10020 on import_group_msg, and stores nothing; a request over its route's
 * cap answers 93000. group_msg_get_simple pages are bounded by bytes
 * (IM_LIMIT_PAGE_BYTES: a quarter of ws_max_queued_bytes, 16 KiB here) as
 * well as by ReqMsgNumber, and paging by ReqMsgSeq still returns every
 * message once, IsFinished 0 until the last page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--ws-max-queued-bytes", "65536", NULL };

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

/* A text of n bytes ('a' + i % 26: each message distinct), static. */
static const char *text(size_t n, int i)
{
  static char buf[1 << 18];
  memset(buf, 'a' + i % 26, n);
  buf[n] = 0;
  return buf;
}

static int code(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}

static json_int_t next_seq(const char *gid)
{
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  json_int_t n = json_integer_value(json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "NextMsgSeq"));
  json_decref(r);
  return n;
}

static void test_too_long(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "s_alice", NULL });
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"size\",\"GroupId\":\"size-1\","
                                                "\"Owner_Account\":\"s_alice\"}")), 0);
  /* 12,200 B of text fits 12,288 packed; 12,288 B of text does not */
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"size-1\",\"From_Account\":\"s_alice\",\"Random\":1,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                                    text(12200, 0))), 0);
  json_int_t seq = next_seq("size-1");
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"size-1\",\"From_Account\":\"s_alice\",\"Random\":2,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                                    text(12288, 1))), 80002);
  assert_int_equal(code(call(G("import_group_msg"), "{\"GroupId\":\"size-1\",\"MsgList\":[{\"From_Account\":\"s_alice\","
                                                    "\"SendTime\":%lld,\"Random\":3,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\","
                                                    "\"MsgContent\":{\"Text\":\"%s\"}}]}]}",
                                    (long long)time(NULL), text(12288, 2))), 10020);
  assert_int_equal(code(call("openim/modify_group_msg", "{\"GroupId\":\"size-1\",\"MsgSeq\":%lld,\"MsgBody\":"
                                                        "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                                    (long long)seq - 1, text(12288, 3))), 80002);
  /* the whole request over send_group_msg's cap (64 KiB + 6 x 12,288 B) is 93000 */
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"size-1\",\"From_Account\":\"s_alice\",\"Random\":4,"
                                                  "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                                    text(160000, 4))), 93000);
  /* WebSocket: the same 80002 */
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "s_alice", "Web"), 0);
  json_t *r = wsc_rpc(&a, "group_send", "\"group_id\":\"size-1\",\"random\":5,\"body\":[{\"MsgType\":\"TIMTextElem\","
                                        "\"MsgContent\":{\"Text\":\"%s\"}}]", text(12288, 5));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 80002);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"size-1\",\"random\":6,\"body\":[{\"MsgType\":\"TIMTextElem\","
                                "\"MsgContent\":{\"Text\":\"%s\"}}]", text(12200, 6));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), seq);  /* nothing refused took a seq */
  json_decref(r);
  wsc_close(&a);
  /* the modify left the message as it was */
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"size-1\",\"ReqMsgNumber\":1,\"ReqMsgSeq\":%lld}", (long long)seq - 1);
  assert_non_null(r);
  assert_int_equal(strlen(jstr(json_array_get(json_object_get(json_array_get(json_object_get(r, "RspMsgList"), 0), "MsgBody"), 0),
                               "MsgContent.Text")), 12200);
  json_decref(r);
}

/* Seven messages of 7,000 B: 16 KiB pages hold two (the first always goes). */
static void test_simple_bytes(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "p_alice", NULL });
  assert_int_equal(code(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"pages\",\"GroupId\":\"size-2\","
                                                "\"Owner_Account\":\"p_alice\"}")), 0);
  for (int i = 0; i < 7; i++)
    assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"size-2\",\"From_Account\":\"p_alice\",\"Random\":%d,"
                                                    "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                                      i + 1, text(7000, i))), 0);
  /* seq 1 is the GroupCreated notice, seqs 2..8 the messages */
  json_int_t want = 8, upto = 0;
  int pages = 0;
  for (;;) {
    json_t *r = upto ? call(G("group_msg_get_simple"), "{\"GroupId\":\"size-2\",\"ReqMsgNumber\":20,\"ReqMsgSeq\":%lld}", (long long)upto)
                     : call(G("group_msg_get_simple"), "{\"GroupId\":\"size-2\",\"ReqMsgNumber\":20}");
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *list = json_object_get(r, "RspMsgList"), *e;
    size_t i, bytes = 0;
    assert_true(json_array_size(list) >= 1);
    json_array_foreach(list, i, e) {
      assert_int_equal(jint(e, "MsgSeq"), want);
      if (want >= 2) assert_string_equal(jstr(json_array_get(json_object_get(e, "MsgBody"), 0), "MsgContent.Text"),
                                         text(7000, (int)want - 2));
      bytes += strlen(jstr(json_array_get(json_object_get(e, "MsgBody"), 0), "MsgContent.Text"));
      want--;
    }
    pages++;
    int fin = (int)jint(r, "IsFinished");
    upto = want;
    json_decref(r);
    if (want == 0) { assert_int_equal(fin, 1); break; }
    assert_true(bytes <= 16384);
    assert_int_equal(fin, 0);
    assert_true(pages < 10);
  }
  assert_int_equal(pages, 4); /* 8,7 | 6,5 | 4,3 | 2,1 */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_too_long),
    cmocka_unit_test(test_simple_bytes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
