/* End-to-end: small one-to-one consistency rules of the client protocol
 * (docs/protocol.md), on the test clock.
 *
 *  - A request field given as null is absent: `sync` with "cursor": null
 *    reads from cursor 0 and `history` with "before_seq": null and
 *    "limit": null reads the newest page (both answered 70402 before), as
 *    "id": null always was; `send` with null flags, msg_seq and random
 *    sends (70402 and 90005 before); a required field given as null is
 *    answered as a missing one.
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-01", NULL };

#define TEXT(t) "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"

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

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_null_is_absent),
    cmocka_unit_test(test_self_read_seq),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
