/* End-to-end: small one-to-one consistency rules of the client protocol
 * (docs/protocol.md), on the test clock.
 *
 *  - A request field given as null is absent: `sync` with "cursor": null
 *    reads from cursor 0 and `history` with "before_seq": null and
 *    "limit": null reads the newest page (both answered 70402 before), as
 *    "id": null always was; `send` with null flags, msg_seq and random
 *    sends (70402 and 90005 before); a required field given as null is
 *    answered as a missing one. So is a member inside a field's value: a
 *    `send` whose body element and offline_push_info hold nulls is sent
 *    (90002 before) and pushed and kept without them (decisions §63); a
 *    null array element stays and is refused as before.
 *  - A read position only moves to a message the user can still see: with
 *    the one message of a conversation past the app's retention (8 days
 *    on, 7 kept; the purge keeps it as the list's last message), neither
 *    REST admin_set_msg_read nor WebSocket `read` (without seq, or naming
 *    it) moves `read_seq`, and the sender gets no receipt for it (before:
 *    read_seq became 1 and a receipt went out for a message no read shows).
 *    Reading a newer message that asked for no receipt brings none for the
 *    expired one either (it did before); a newer message that asked for
 *    one brings its receipt, with read_seq the newer message's seq.
 *  - The conversation with oneself shows read_seq equal to its last_seq
 *    (its unread is 0; read_seq was 0 before).
 */
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
#include "e2e_op.h"
#include "e2e_check.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-01", NULL };

#define DAY 86400


static int setup(void **st)
{
  (void)st;
  char out[512];
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "consistency", auth, sizeof auth)) return -1;
  if (e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 1000000 --reference seed --json")) return -1;
  if (e2e_server_start(&srv, args)) return -1;
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"c\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  app = (uint32_t)jint(a, "sdkappid");
  snprintf(key, sizeof key, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", "carol", "dave", "erin", NULL });
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void login_live(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *all = wsc_sync_live(c);
  assert_non_null(all);
  json_decref(all);
}

static json_int_t rpc_code(wsc_t *c, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  json_int_t code = jint(r, "code");
  json_decref(r);
  return code;
}

/* The conversation with peer in c's list (caller decrefs); fails the test if absent. */
static json_t *conv_of(wsc_t *c, const char *peer)
{
  json_t *r = wsc_rpc(c, "conversations", "%s", ""), *cv, *found = NULL;
  size_t i;
  assert_non_null(r);
  json_array_foreach(json_object_get(r, "conversations"), i, cv) if (!strcmp(jstr(cv, "peer"), peer)) found = json_incref(cv);
  json_decref(r);
  if (!found) fail_msg("no conversation with %s", peer);
  return found;
}


static json_int_t read_seq_of(wsc_t *c, const char *peer)
{
  json_t *cv = conv_of(c, peer);
  json_int_t n = jint(cv, "read_seq");
  json_decref(cv);
  return n;
}

/* Whether a push of that type is among the frames c received so far (not consumed). */
static int stashed(const wsc_t *c, const char *type)
{
  for (int i = 0; i < c->n; i++)
    if (!strcmp(jstr(c->stash[i], "type"), type)) return 1;
  return 0;
}

static void test_null_is_absent(void **st)
{
  (void)st;
  wsc_t c;
  login_live(&c, "carol");
  json_t *r = wsc_rpc(&c, "sync", "\"cursor\":null,\"limit\":null");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  r = wsc_rpc(&c, "send", "\"to\":\"dave\",\"msg_seq\":null,\"random\":null,\"online_only\":null,\"no_unread\":null,"
                          "\"no_last_msg\":null,\"need_receipt\":null,\"body\":" TEXT("n"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&c, "history", "\"peer\":\"dave\",\"before_seq\":null,\"limit\":null");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 1);
  json_decref(r);
  assert_int_equal(rpc_code(&c, "read", "\"peer\":\"dave\",\"seq\":null"), 0);
  assert_int_equal(rpc_code(&c, "conv_delete", "\"peer\":\"dave\",\"clear\":null"), 0);
  /* a required field given as null is a missing one */
  assert_int_equal(rpc_code(&c, "pin", "\"peer\":\"dave\",\"pinned\":null"), rpc_code(&c, "pin", "\"peer\":\"dave\""));
  assert_int_equal(rpc_code(&c, "send", "\"to\":null,\"body\":" TEXT("x")), rpc_code(&c, "send", "\"body\":" TEXT("x")));
  wsc_close(&c);
}

static void test_nested_null_is_absent(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "nina", "omar", NULL });
  wsc_t c, d;
  login_live(&c, "nina");
  login_live(&d, "omar");
  /* nulls inside the body's elements and the push info: sent (90002 and 90043 before), kept without them */
  json_t *r = wsc_rpc(&c, "send", "\"to\":\"omar\",\"cloud_custom_data\":null,\"offline_push_info\":{\"Title\":\"t\","
                                  "\"Desc\":null,\"ApnsInfo\":{\"Sound\":null}},\"body\":[{\"MsgType\":\"TIMCustomElem\","
                                  "\"MsgContent\":{\"Data\":\"d\",\"Desc\":null,\"Ext\":null}}]");
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  static const char clean[] = "[{\"MsgType\":\"TIMCustomElem\",\"MsgContent\":{\"Data\":\"d\"}}]";
  json_t *p = wsc_push(&d, "msg", 15000);
  if (!p) fail_msg("no push of the message");
  assert_json_is(json_object_get(json_object_get(p, "msg"), "body"), clean);
  /* an ApnsInfo of nothing but nulls is absent, not {} (§70) */
  assert_json_is(json_object_get(json_object_get(p, "msg"), "offline_push_info"), "{\"Title\":\"t\"}");
  json_decref(p);
  r = wsc_rpc(&d, "history", "\"peer\":\"nina\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_json_is(json_object_get(json_array_get(json_object_get(r, "msgs"), 0), "body"), clean);
  json_decref(r);
  /* a required element field given as null is a missing one, reason included */
  json_t *a = wsc_rpc(&c, "send", "\"to\":\"omar\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":null}}]");
  json_t *b = wsc_rpc(&c, "send", "\"to\":\"omar\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{}}]");
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(jint(a, "code"), 90002);
  assert_string_equal(jstr(a, "msg"), jstr(b, "msg"));
  json_decref(a);
  json_decref(b);
  /* a null array element is no member: it stays, refused as before */
  assert_int_equal(rpc_code(&c, "send", "\"to\":\"omar\",\"body\":[null]"), 90002);
  wsc_close(&c);
  wsc_close(&d);
}

static void test_self_read_seq(void **st)
{
  (void)st;
  wsc_t c;
  login_live(&c, "erin");
  for (int i = 0; i < 2; i++) {
    json_t *r = wsc_rpc(&c, "send", "\"to\":\"erin\",\"body\":" TEXT("me"));
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  json_t *cv = conv_of(&c, "erin");
  assert_int_equal(jint(cv, "unread"), 0);
  assert_true(jint(cv, "last_seq") > 0);
  assert_int_equal(jint(cv, "read_seq"), jint(cv, "last_seq"));
  json_decref(cv);
  wsc_close(&c);
}

static void test_read_only_visible(void **st)
{
  (void)st;
  wsc_t a, b;
  login_live(&a, "alice");
  login_live(&b, "bob");
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"bob\",\"need_receipt\":true,\"body\":" TEXT("old"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_decref(wsc_push(&b, "msg", 5000));
  /* pinned, so that bob's list shows the conversation while its only message is expired (an empty
   * conversation is listed only when pinned: messaging-c2c-conversations.md §46) */
  assert_int_equal(rpc_code(&b, "pin", "\"peer\":\"alice\",\"pinned\":true"), 0);
  op_clock_advance(srv.port, auth, 8 * DAY); /* the app keeps 7 days */
  /* REST: read up to now */
  json_t *v = v4(srv.port, app, key, "openim/admin_set_msg_read", "{\"Report_Account\":\"bob\",\"Peer_Account\":\"alice\"}");
  assert_non_null(v);
  assert_int_equal(jint(v, "ErrorCode"), 0);
  json_decref(v);
  assert_int_equal(read_seq_of(&b, "alice"), 0);
  /* WebSocket: the newest message, and the expired one by its seq */
  assert_int_equal(rpc_code(&b, "read", "\"peer\":\"alice\""), 0);
  assert_int_equal(rpc_code(&b, "read", "\"peer\":\"alice\",\"seq\":1"), 0);
  assert_int_equal(read_seq_of(&b, "alice"), 0);
  /* a later message from bob reaches alice after any receipt the reads made */
  r = wsc_rpc(&b, "send", "\"to\":\"alice\",\"body\":" TEXT("mark"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_decref(wsc_push(&a, "msg", 5000));
  assert_false(stashed(&a, "receipt"));
  assert_false(stashed(&b, "read"));
  /* reading a visible message that asked for none reads the expired one too: no receipt for it either */
  r = wsc_rpc(&a, "send", "\"to\":\"bob\",\"body\":" TEXT("plain"));
  assert_int_equal(jint(r, "code"), 0);
  json_int_t plain = jint(r, "seq");
  json_decref(r);
  json_decref(wsc_push(&b, "msg", 5000));
  assert_int_equal(rpc_code(&b, "read", "\"peer\":\"alice\""), 0);
  assert_int_equal(read_seq_of(&b, "alice"), plain);
  r = wsc_rpc(&b, "send", "\"to\":\"alice\",\"body\":" TEXT("mark2"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_decref(wsc_push(&a, "msg", 5000));
  assert_false(stashed(&a, "receipt"));
  /* a visible message that asks for a receipt gets one */
  r = wsc_rpc(&a, "send", "\"to\":\"bob\",\"need_receipt\":true,\"body\":" TEXT("new"));
  assert_int_equal(jint(r, "code"), 0);
  json_int_t seq = jint(r, "seq");
  json_decref(r);
  json_decref(wsc_push(&b, "msg", 5000));
  assert_int_equal(rpc_code(&b, "read", "\"peer\":\"alice\""), 0);
  assert_int_equal(read_seq_of(&b, "alice"), seq);
  json_t *p = wsc_push(&a, "receipt", 5000);
  assert_non_null(p);
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_null_is_absent),
    cmocka_unit_test(test_nested_null_is_absent),
    cmocka_unit_test(test_self_read_seq),
    cmocka_unit_test(test_read_only_visible), /* last: it moves the clock */
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
