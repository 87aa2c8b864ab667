/* End-to-end: the one-to-one message ops of the client WebSocket protocol
 * (docs/protocol.md) reviewed over raw sockets, as a hostile or careless
 * client would use them, on the real server:
 *  - a MsgKey is read whole: a key padded with leading zeros names the same
 *    message however long it is (the core copied it into a 64-byte buffer,
 *    so a padded key past 63 bytes was cut into another key: `recall`
 *    answered 20022 for one's own message, REST `admin_getroammsg`'s
 *    LastMsgKey 90054);
 * Each test uses its own users. */
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
#include "e2e_check.h"
#include "e2e_fixture.h"

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* c's reply to op (fields as wsc_rpc's) that must carry code want; the reply (caller decrefs). */
static json_t *rpc_code(wsc_t *c, int want, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code") != want) fail_msg("%s: want %d: %s", op, want, json_dumps(r, JSON_COMPACT));
  return r;
}

/* ---- a MsgKey is read whole ------------------------------------------------------------ */
static void test_padded_msg_key_read_whole(void **st)
{
  (void)st;
  const char *const u[] = { "mk_a", "mk_b", NULL };
  users(u);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "mk_a", "Web"), 0);
  char keys[3][64], fields[256], padded[160];
  for (int i = 0; i < 3; i++) {
    json_t *r = rpc_code(&a, 0, "send", "\"to\":\"mk_b\",\"body\":" TEXT("m"));
    snprintf(keys[i], sizeof keys[i], "%s", jstr(r, "msg_key"));
    json_decref(r);
  }
  /* 80 zeros before the key: the same numbers (im_msg_key_parse takes leading zeros), 100+ bytes */
  snprintf(padded, sizeof padded, "%080d%s", 0, keys[2]);
  assert_true(strlen(padded) > 100);
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", padded);
  json_decref(rpc_code(&a, 0, "recall", fields));
  /* it was that message: recalled, and a second recall by its short key says so */
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", keys[2]);
  json_decref(rpc_code(&a, 20023, "recall", fields));
  /* a padded key that does not parse past the cut is malformed, not a key of its first 63 bytes */
  snprintf(padded, sizeof padded, "1_2_%080dx", 0);
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", padded);
  json_decref(rpc_code(&a, 90054, "recall", fields));
  /* REST roaming pages continue below a LastMsgKey read whole too (the same core read) */
  snprintf(padded, sizeof padded, "%080d%s", 0, keys[2]);
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"mk_a\",\"Peer_Account\":\"mk_b\",\"MaxCnt\":1,\"MinTime\":0,"
                 "\"MaxTime\":4000000000,\"LastMsgKey\":\"%s\"}",
                 padded);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("getroammsg: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MsgList"), 0), "MsgKey"), keys[1]);
  json_decref(r);
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_padded_msg_key_read_whole),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
