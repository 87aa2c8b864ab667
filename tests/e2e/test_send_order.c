/* End-to-end: the order of the checks of a send (docs/rest-api.md "Checks of
 * a send, in order"), against the real server. A send is validated whole —
 * the peer, every field, the body (elements before the size limit) — before
 * the checks that depend on who sends: the sender's global mute
 * (openconfigsvr/setnospeaking), the peer's blocklist, then the group's own
 * checks. A muted sender's malformed WebSocket `send` was answered 20012
 * and its malformed `group_send` 10017, hiding what was wrong with the
 * request; a blocked sender's got 20007. Each malformed frame must get the
 * code a sender under no restriction gets; only a valid one gets the
 * refusal. REST sendmsg checks no mute (the administrator sends): a muted
 * user's malformed REST send gets its validation code too, a valid one 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_check.h"
#include "e2e_msg.h"
#include "e2e_fixture.h"

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

/* The reply code of op with fields on c. */
static int rpc_code(wsc_t *c, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  int code = (int)jint(r, "code");
  json_decref(r);
  return code;
}

/* A text element of n bytes: over msg_max_bytes (12 KiB) for n = 13000,
 * within the frame cap. */
static const char *big_body(void)
{
  static char b[14000];
  if (!b[0]) {
    int n = snprintf(b, sizeof b, "\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"");
    memset(b + n, 'x', 13000);
    snprintf(b + n + 13000, sizeof b - (size_t)n - 13000, "\"}}]");
  }
  return b;
}

/* Malformed C2C sends to `to`, one fault each, with the code of each. */
static const struct { const char *fields; int code; } bad_c2c[] = {
  { "\"to\":\"%s\"", 90007 },                                                            /* no body */
  { "\"to\":\"%s\",\"body\":[]", 90007 },                                                /* empty body */
  { "\"to\":\"%s\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{}}]", 90002 }, /* element without Text */
  { "\"to\":\"%s\",\"msg_seq\":-1,\"body\":" TEXT("x"), 90004 },
  { "\"to\":\"%s\",\"random\":\"1\",\"body\":" TEXT("x"), 90005 },
  { "\"to\":\"%s\",\"online_only\":1,\"body\":" TEXT("x"), 70402 },
  { "\"to\":\"%s\",\"cloud_custom_data\":7,\"body\":" TEXT("x"), 90001 },
  { "\"to\":\"%s\",\"offline_push_info\":{\"PushFlag\":\"x\"},\"body\":" TEXT("x"), 90043 },
};

/* Each malformed send of s to `to` gets its validation code, then a valid
 * one gets `refusal`; and so does the message over msg_max_bytes (93000). */
static void c2c_order(wsc_t *s, const char *to, int refusal)
{
  char f[15000];
  for (size_t i = 0; i < sizeof bad_c2c / sizeof *bad_c2c; i++) {
    snprintf(f, sizeof f, bad_c2c[i].fields, to);
    int code = rpc_code(s, "send", f);
    if (code != bad_c2c[i].code) fail_msg("send %s: expected %d, got %d", f, bad_c2c[i].code, code);
  }
  snprintf(f, sizeof f, "\"to\":\"%s\",%s", to, big_body());
  assert_int_equal(rpc_code(s, "send", f), 93000);
  /* the peer's own checks come first, as before */
  assert_int_equal(rpc_code(s, "send", "\"to\":\"no such user!\",\"body\":" TEXT("x")), 90003);
  assert_int_equal(rpc_code(s, "send", "\"to\":\"so_nobody\",\"body\":" TEXT("x")), 90012);
  /* a valid send: the plain frame takes the server's fast path; one with a null member the general one */
  snprintf(f, sizeof f, "\"to\":\"%s\",\"body\":" TEXT("x"), to);
  assert_int_equal(rpc_code(s, "send", f), refusal);
  snprintf(f, sizeof f, "\"to\":\"%s\",\"random\":5,\"need_receipt\":null,\"body\":" TEXT("x"), to);
  assert_int_equal(rpc_code(s, "send", f), refusal);
}

static void test_c2c_muted_sender(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "so_a", "so_b", "so_free", NULL });
  wsc_t a, f;
  login(&a, "so_a");
  login(&f, "so_free");
  c2c_order(&f, "so_b", 0); /* the codes of a sender under no restriction */
  v4_ok(V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"so_a\",\"C2CmsgNospeakingTime\":600}"));
  c2c_order(&a, "so_b", 20012);
  /* REST sendmsg checks no mute: validation codes, then the send */
  json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"so_a\",\"To_Account\":\"so_b\",\"MsgRandom\":1}");
  assert_int_equal(jint(r, "ErrorCode"), 90007);
  json_decref(r);
  v4_ok(V4("openim/sendmsg", "{\"From_Account\":\"so_a\",\"To_Account\":\"so_b\",\"MsgRandom\":1,\"MsgBody\":" TEXT("r") "}"));
  wsc_close(&a);
  wsc_close(&f);
}

static void test_c2c_blocked_sender(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "sb_a", "sb_b", NULL });
  v4_ok(V4("sns/black_list_add", "{\"From_Account\":\"sb_b\",\"To_Account\":[\"sb_a\"]}"));
  wsc_t a;
  login(&a, "sb_a");
  c2c_order(&a, "sb_b", 20007);
  wsc_close(&a);
}

/* Malformed group sends, one fault each. */
static const char *const bad_group[] = {
  "\"group_id\":\"so-g\",\"body\":" TEXT("x"),                                   /* no random */
  "\"group_id\":\"so-g\",\"random\":1,\"priority\":\"Top\",\"body\":" TEXT("x"),
  "\"group_id\":\"so-g\",\"random\":1,\"no_unread\":1,\"body\":" TEXT("x"),
  "\"group_id\":\"so-g\",\"random\":1",                                          /* no body */
  "\"group_id\":\"so-g\",\"random\":1,\"body\":[{\"MsgType\":\"TIMTextElem\"}]",
  "\"group_id\":\"so-g\",\"random\":1,\"cloud_custom_data\":7,\"body\":" TEXT("x"),
};

static void test_group_muted_sender(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "sg_a", "sg_free", NULL });
  v4_ok(V4(G("create_group"), "{\"Owner_Account\":\"sg_free\",\"Type\":\"Public\",\"Name\":\"o\",\"GroupId\":\"so-g\","
                              "\"MemberList\":[{\"Member_Account\":\"sg_a\"}]}"));
  v4_ok(V4("openconfigsvr/setnospeaking", "{\"Set_Account\":\"sg_a\",\"GroupmsgNospeakingTime\":600}"));
  wsc_t a, f;
  login(&a, "sg_a");
  login(&f, "sg_free");
  for (size_t i = 0; i < sizeof bad_group / sizeof *bad_group; i++) {
    int want = rpc_code(&f, "group_send", bad_group[i]);
    assert_true(want != 0 && want != 10017);
    int got = rpc_code(&a, "group_send", bad_group[i]);
    if (got != want) fail_msg("group_send %s: expected %d (as an unmuted member), got %d", bad_group[i], want, got);
  }
  char f2[15000];
  snprintf(f2, sizeof f2, "\"group_id\":\"so-g\",\"random\":1,%s", big_body());
  assert_int_equal(rpc_code(&a, "group_send", f2), rpc_code(&f, "group_send", f2));
  assert_int_equal(rpc_code(&a, "group_send", "\"group_id\":\"so-g\",\"random\":2,\"body\":" TEXT("x")), 10017);
  assert_int_equal(rpc_code(&f, "group_send", "\"group_id\":\"so-g\",\"random\":3,\"body\":" TEXT("x")), 0);
  wsc_close(&a);
  wsc_close(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c2c_muted_sender),
    cmocka_unit_test(test_c2c_blocked_sender),
    cmocka_unit_test(test_group_muted_sender),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
