/* e2e_op.h — the operator API from end-to-end tests (header-only; include
 * after cmocka.h and e2e_msg.h): the Authorization header of a data
 * directory's operator token, and calls answered as parsed JSON that fail
 * the test on an unexpected status. Test-only. */
#ifndef IMC_TESTS_E2E_OP_H
#define IMC_TESTS_E2E_OP_H

#include "e2e_msg.h"

/* `operator token` of srv's data directory (it must hold a database):
 * "Authorization: Bearer …\r\n" into auth. 0 or -1. */
static inline int op_token_auth(const e2e_server_t *srv, char *auth, size_t cap)
{
  char out[512];
  if (e2e_cli(srv, out, sizeof out, "operator token --json")) return -1;
  json_t *j = json_loads(out, 0, NULL);
  const char *token = json_string_value(json_object_get(j, "token"));
  int rc = token ? 0 : -1;
  if (token) snprintf(auth, cap, "Authorization: Bearer %s\r\n", token);
  json_decref(j);
  return rc;
}

/* A customer named customer made by the CLI (the token needs a database),
 * then op_token_auth. 0 or -1. */
static inline int op_auth_init(const e2e_server_t *srv, const char *customer, char *auth, size_t cap)
{
  char out[512];
  if (e2e_cli(srv, out, sizeof out, "customer create --name %s --json", customer)) return -1;
  return op_token_auth(srv, auth, cap);
}

/* e2e_start_sync_held (e2e.h) with the operator token made before the server starts (the server reads it
 * then): a fresh data directory, an app in china (sdkappid, key), auth filled, the server started with args
 * and the hold hook (hold, cap, named after tag). 0 or -1. */
static inline int op_start_sync_held(e2e_server_t *srv, char *hold, size_t cap, const char *tag, uint32_t *sdkappid,
                                     char *key, char *auth, size_t auth_cap, const char *const *args)
{
  e2e_sync_hold_env(hold, cap, tag);
  e2e_dir_init(srv);
  e2e_make_app(srv, "china", sdkappid, key);
  int rc = op_token_auth(srv, auth, auth_cap) ? -1 : e2e_server_start(srv, args);
  unsetenv("IMCLOUD_TEST_SYNC_HOLD");
  return rc;
}

/* METHOD target (printf fmt) with body (NULL: none) on port with auth; the
 * reply parsed (caller decrefs). Fails the test unless the status is want
 * and the reply is JSON. One reply buffer: one call at a time. */
static inline json_t *op_callf(int port, const char *auth, int want, const char *method, const char *body,
                               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static inline json_t *op_callf(int port, const char *auth, int want, const char *method, const char *body,
                               const char *fmt, ...)
{
  static char buf[1 << 18];
  char target[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(target, sizeof target, fmt, ap);
  va_end(ap);
  int st = e2e_http_timeout(port, method, target, auth, body, buf, sizeof buf, 120000);
  json_t *o = json_loads(buf, 0, NULL);
  if (!o || st != want) fail_msg("%s %s: status %d, want %d: %.600s", method, target, st, want, buf);
  return o;
}

/* Move the test clock (serve --test-clock) of the server at port advance_s
 * seconds on: POST /operator/v1/clock; fails the test unless it answers 200
 * (it answers once every job due on the way has run). */
static inline void op_clock_advance(int port, const char *auth, int64_t advance_s)
{
  char body[64];
  snprintf(body, sizeof body, "{\"advance_s\":%lld}", (long long)advance_s);
  json_decref(op_callf(port, auth, 200, "POST", body, "/operator/v1/clock"));
}

/* The operator clock's now_s (GET /operator/v1/clock; fails the test otherwise). */
static inline int64_t op_clock_now(int port, const char *auth)
{
  char reply[4096];
  assert_int_equal(e2e_http(port, "GET", "/operator/v1/clock", auth, NULL, reply, sizeof reply), 200);
  json_t *o = json_loads(reply, 0, NULL);
  assert_non_null(o);
  int64_t now = (int64_t)json_integer_value(json_object_get(o, "now_s"));
  json_decref(o);
  return now;
}

#endif
