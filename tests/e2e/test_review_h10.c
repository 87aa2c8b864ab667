/* End-to-end, against the real server (review fixes of helper h10):
 *  - a pending friend request dropped unanswered — the recipient blocks the
 *    requester, a forced friend_add makes them friends, one of the two
 *    accounts is deleted — gives both users' devices a friend_request_ended
 *    event (live, and replayed by sync after a reconnect); before, the
 *    request vanished from the pending lists with no event at all;
 *  - openim/query_online_status with a To_Account that is not an array is
 *    60015 (wrong type), an empty one 70402 (it answered 70402 for both);
 *  - typing to oneself reaches the user's other devices, not the sending one
 *    (it was echoed back to the sender);
 *  - an online-only send repeated with the same random is delivered again
 *    (documented: never stored, nothing remembers it);
 *  - openim/importmsg refuses a MsgTimeStamp after the server's clock with
 *    90006 (a message 300 days ahead sorted as the newest for ever). */
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
#include "e2e_fixture.h"

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static json_t *ok_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  return r;
}
#define EXPECT(code, r) json_decref(ok_code((r), (code)))

/* Log in and sync: relationship pushes reach live sessions. */
static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

static void expect_rpc(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "code") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* The next friend_request_ended push on c is from -> to for reason. */
static void expect_ended(wsc_t *c, const char *from, const char *to, const char *reason)
{
  json_t *p = wsc_push(c, "friend_request_ended", 3000);
  if (!p) fail_msg("no friend_request_ended %s -> %s (%s)", from, to, reason);
  assert_string_equal(jstr(p, "from"), from);
  assert_string_equal(jstr(p, "to"), to);
  assert_string_equal(jstr(p, "reason"), reason);
  assert_true(json_is_integer(json_object_get(p, "useq"))); /* an inbox event */
  json_decref(p);
}

/* The number of requests in the user's pending lists (incoming + outgoing). */
static size_t pending_count(wsc_t *c)
{
  json_t *r = wsc_rpc(c, "pending", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  size_t n = json_array_size(json_object_get(r, "incoming")) + json_array_size(json_object_get(r, "outgoing"));
  json_decref(r);
  return n;
}

/* The friend_request_ended events of a sync from 0, as "from>to:reason;" texts. */
static void synced_ends(const char *user, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "PC"), 0);
  json_t *evs = wsc_sync_live(&c), *e;
  assert_non_null(evs);
  size_t i;
  out[0] = 0;
  json_array_foreach(evs, i, e)
    if (!strcmp(jstr(e, "type"), "friend_request_ended"))
      snprintf(out + strlen(out), cap - strlen(out), "%s>%s:%s;", jstr(e, "from"), jstr(e, "to"), jstr(e, "reason"));
  json_decref(evs);
  wsc_close(&c);
}

static void ask(const char *from, const char *to)
{
  json_t *r = ok_code(V4("sns/friend_add", "{\"From_Account\":\"%s\",\"AddFriendItem\":[{\"To_Account\":\"%s\","
                         "\"AddSource\":\"AddSource_Type_App\"}]}", from, to), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 30539); /* NeedConfirm */
  json_decref(r);
}

/* ---- 1. pending requests dropped unanswered ---------------------------------------------------- */
static void test_request_ended_blocked(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "re_a", "re_b", NULL });
  wsc_t a, b1, b2;
  login(&a, "re_a", "Web");
  login(&b1, "re_b", "Web");
  login(&b2, "re_b", "iPhone");
  ask("re_a", "re_b");
  json_decref(wsc_push(&b1, "friend_request", 3000));
  assert_int_equal(pending_count(&a), 1);
  assert_int_equal(pending_count(&b1), 1);
  EXPECT(0, V4("sns/black_list_add", "{\"From_Account\":\"re_b\",\"To_Account\":[\"re_a\"]}"));
  expect_ended(&a, "re_a", "re_b", "blocked");
  expect_ended(&b1, "re_a", "re_b", "blocked");
  expect_ended(&b2, "re_a", "re_b", "blocked");
  assert_int_equal(pending_count(&a), 0);
  assert_int_equal(pending_count(&b2), 0);
  wsc_close(&a);
  wsc_close(&b1);
  wsc_close(&b2);
  /* a device that was away gets it from sync, after the request itself */
  char ends[256];
  synced_ends("re_a", ends, sizeof ends);
  assert_string_equal(ends, "re_a>re_b:blocked;");
  synced_ends("re_b", ends, sizeof ends);
  assert_string_equal(ends, "re_a>re_b:blocked;");
}

static void test_request_ended_added_and_deleted(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "rd_a", "rd_b", "rd_c", NULL });
  wsc_t a, b;
  login(&a, "rd_a", "Web");
  login(&b, "rd_b", "Web");
  /* rd_a asks rd_b; rd_b then adds rd_a with ForceAddFlags: friends, the request is moot */
  ask("rd_a", "rd_b");
  EXPECT(0, V4("sns/friend_add", "{\"From_Account\":\"rd_b\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"rd_a\","
               "\"AddSource\":\"AddSource_Type_App\"}]}"));
  expect_ended(&a, "rd_a", "rd_b", "added");
  expect_ended(&b, "rd_a", "rd_b", "added");
  assert_int_equal(pending_count(&b), 0);
  /* rd_c and rd_b ask each other (two requests), then rd_c is deleted: rd_b's devices hear of both */
  ask("rd_c", "rd_b");
  ask("rd_b", "rd_c");
  assert_int_equal(pending_count(&b), 2);
  EXPECT(0, V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"rd_c\"}]}"));
  json_t *p1 = wsc_push(&b, "friend_request_ended", 3000), *p2 = wsc_push(&b, "friend_request_ended", 3000);
  assert_non_null(p1);
  assert_non_null(p2);
  char got[128];
  snprintf(got, sizeof got, "%s>%s:%s;%s>%s:%s;", jstr(p1, "from"), jstr(p1, "to"), jstr(p1, "reason"), jstr(p2, "from"),
           jstr(p2, "to"), jstr(p2, "reason"));
  json_decref(p1);
  json_decref(p2);
  assert_true(!strcmp(got, "rd_b>rd_c:account_deleted;rd_c>rd_b:account_deleted;") ||
              !strcmp(got, "rd_c>rd_b:account_deleted;rd_b>rd_c:account_deleted;"));
  assert_int_equal(pending_count(&b), 0);
  assert_null(wsc_push(&a, "friend_request_ended", 300)); /* rd_a had no request with rd_c */
  wsc_close(&a);
  wsc_close(&b);
  char ends[256];
  synced_ends("rd_b", ends, sizeof ends);
  assert_true(!strcmp(ends, "rd_a>rd_b:added;rd_b>rd_c:account_deleted;rd_c>rd_b:account_deleted;") ||
              !strcmp(ends, "rd_a>rd_b:added;rd_c>rd_b:account_deleted;rd_b>rd_c:account_deleted;"));
  synced_ends("rd_a", ends, sizeof ends);
  assert_string_equal(ends, "rd_a>rd_b:added;");
}

/* An answered request is announced by friend_response only. */
static void test_answered_request_no_ended(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "rr_a", "rr_b", NULL });
  wsc_t a, b;
  login(&a, "rr_a", "Web");
  login(&b, "rr_b", "Web");
  ask("rr_a", "rr_b");
  expect_rpc(wsc_rpc(&b, "friend_response", "\"peer\":\"rr_a\",\"action\":\"reject\""), 0);
  json_decref(wsc_push(&a, "friend_response", 3000));
  assert_null(wsc_push(&a, "friend_request_ended", 300));
  assert_null(wsc_push(&b, "friend_request_ended", 300));
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- 2. query_online_status field types -------------------------------------------------------- */
static void test_query_online_status_types(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "qs_a", NULL });
  EXPECT(60015, V4("openim/query_online_status", "{\"To_Account\":\"qs_a\"}"));
  EXPECT(60015, V4("openim/query_online_status", "{\"To_Account\":7}"));
  EXPECT(60015, V4("openim/querystate", "{\"To_Account\":{\"a\":1}}"));
  EXPECT(60015, V4("openim/query_online_status", "{}"));
  EXPECT(70402, V4("openim/query_online_status", "{\"To_Account\":[]}"));
  EXPECT(0, V4("openim/query_online_status", "{\"To_Account\":[\"qs_a\"]}"));
}

/* ---- 3. one-to-one leftovers ------------------------------------------------------------------- */
static void test_typing_to_self(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "ty_a", NULL });
  wsc_t d1, d2;
  login(&d1, "ty_a", "Web");
  login(&d2, "ty_a", "iPhone");
  expect_rpc(wsc_rpc(&d1, "typing", "\"peer\":\"ty_a\""), 0);
  json_t *p = wsc_push(&d2, "typing", 3000);
  assert_non_null(p); /* the user's other device */
  assert_string_equal(jstr(p, "peer"), "ty_a");
  json_decref(p);
  assert_null(wsc_push(&d1, "typing", 500)); /* never the sending session */
  wsc_close(&d2);
  expect_rpc(wsc_rpc(&d1, "typing", "\"peer\":\"ty_a\""), 0); /* alone: nobody to tell */
  assert_null(wsc_push(&d1, "typing", 500));
  wsc_close(&d1);
}

static void test_online_only_resend_delivered_again(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "oo_a", "oo_b", NULL });
  wsc_t a, b;
  login(&a, "oo_a", "Web");
  login(&b, "oo_b", "Web");
  for (int i = 0; i < 2; i++) {
    json_t *r = wsc_rpc(&a, "send", "\"to\":\"oo_b\",\"online_only\":true,\"random\":77,\"body\":" TEXT("ping"));
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    assert_false(json_is_true(json_object_get(r, "dup")));
    json_decref(r);
    json_t *p = wsc_push(&b, "online_msg", 3000);
    if (!p) fail_msg("send %d of the same random not delivered", i + 1);
    assert_int_equal(jint(p, "msg.random"), 77);
    json_decref(p);
  }
  wsc_close(&a);
  wsc_close(&b);
}

static void test_importmsg_future_time(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "im_a", "im_b", NULL });
  long long now = (long long)time(NULL);
  const char *fmt = "{\"SyncFromOldSystem\":2,\"From_Account\":\"im_a\",\"To_Account\":\"im_b\",\"MsgSeq\":%d,\"MsgRandom\":%d,"
                    "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("t") "}";
  EXPECT(90006, V4("openim/importmsg", fmt, 1, 1, now + 300LL * 86400));
  EXPECT(90006, V4("openim/importmsg", fmt, 2, 2, now + 3600));
  EXPECT(0, V4("openim/importmsg", fmt, 3, 3, now - 60));
  /* nothing of the refused ones was stored: the conversation holds the one import */
  json_t *r = ok_code(V4("openim/admin_getroammsg", "{\"Operator_Account\":\"im_a\",\"Peer_Account\":\"im_b\",\"MaxCnt\":10}"), 0);
  assert_int_equal(jint(r, "MsgCnt"), 1);
  assert_int_equal(jint(json_array_get(json_object_get(r, "MsgList"), 0), "MsgSeq"), 3);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request_ended_blocked),
    cmocka_unit_test(test_request_ended_added_and_deleted),
    cmocka_unit_test(test_answered_request_no_ended),
    cmocka_unit_test(test_query_online_status_types),
    cmocka_unit_test(test_typing_to_self),
    cmocka_unit_test(test_online_only_resend_delivered_again),
    cmocka_unit_test(test_importmsg_future_time),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
