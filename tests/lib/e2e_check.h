/* e2e_check.h — checks on v4 replies and JSON values for end-to-end tests
 * (header-only; include after cmocka.h and e2e_msg.h). Test-only. */
#ifndef IMC_TESTS_E2E_CHECK_H
#define IMC_TESTS_E2E_CHECK_H

#include "e2e_msg.h"

/* A v4 reply (v4(): NULL when the status was not 200) that must carry
 * ErrorCode 0: fails the test with the reply otherwise; decrefs it. */
static inline void v4_ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* v must equal the JSON text want (members in any order): fails the test
 * with both otherwise. */
static inline void assert_json_is(json_t *v, const char *want)
{
  json_t *w = json_loads(want, 0, NULL);
  assert_non_null(w);
  if (!json_equal(v, w)) fail_msg("got %s, expected %s", v ? json_dumps(v, JSON_COMPACT) : "(none)", want);
  json_decref(w);
}

/* A v4 reply that must carry ErrorCode code: fails the test with the reply
 * otherwise; returns it (the caller decrefs). */
static inline json_t *v4_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  return r;
}

/* A v4 reply that must carry ErrorCode code and an ErrorInfo holding text (the field at fault as the request
 * spelt it, decisions §92, §99): fails the test with the reply otherwise; decrefs it. */
static inline void v4_err_info(json_t *r, int code, const char *text)
{
  v4_code(r, code);
  if (!strstr(jstr(r, "ErrorInfo"), text)) fail_msg("%s: ErrorInfo does not hold \"%s\"", json_dumps(r, 0), text);
  json_decref(r);
}

/* user's unread count with peer (get_c2c_unread_msg_num, which must answer 0) */
static inline json_int_t v4_c2c_unread(int port, uint32_t app, const char *key, const char *user, const char *peer)
{
  json_t *r = v4_code(v4(port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                         user, peer), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(r);
  return n;
}

/* The 70500 of a request whose reply could not be made whole (decisions
 * §82, §85): FAIL, and without field, the command's; decrefs it. */
static inline void v4_oom(json_t *r, const char *field)
{
  v4_code(r, 70500);
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL");
  assert_null(json_object_get(r, field));
  json_decref(r);
}

#endif
