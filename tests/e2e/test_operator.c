/* End-to-end: the operator API (/operator/v1/, docs/operator-api.md) on the
 * real server — bearer-token auth, customers, apps, and wallets (top-ups with
 * idempotent references, the append-only ledger), plus the `imcloud wallet`
 * CLI writing to the same data directory while the server runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "e2e.h"

static e2e_server_t srv;
static char auth[160];

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, NULL, NULL, NULL, NULL)) return -1;
  char out[256];
  if (e2e_cli(&srv, out, sizeof out, "operator token --json")) return -1;
  json_t *j = json_loads(out, 0, NULL);
  if (!j) return -1;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(j, "token")));
  json_decref(j);
  /* the server learns the rotated token from the change log within one
   * change_poll_ms (500 ms): allow 10 s */
  for (int i = 0; i < 200; i++) {
    char buf[4096];
    if (e2e_http(srv.port, "GET", "/operator/v1/customers", auth, NULL, buf, sizeof buf) == 200) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Call the API; returns the status and the parsed body (caller decrefs). */
static int call(const char *method, const char *target, const char *body, json_t **out)
{
  static char buf[1 << 16];
  int st = e2e_http(srv.port, method, target, auth, body, buf, sizeof buf);
  *out = json_loads(buf, 0, NULL);
  if (!*out) fail_msg("%s %s: not JSON: %s", method, target, buf);
  return st;
}

static int64_t jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void test_auth(void **st)
{
  (void)st;
  char buf[1024];
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers", NULL, NULL, buf, sizeof buf), 401);
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers", "Authorization: Bearer nope\r\n", NULL, buf, sizeof buf), 401);
  char lower[200]; /* the scheme is case-insensitive (RFC 9110 §11.1; "bearer" was 401) */
  snprintf(lower, sizeof lower, "Authorization: bearer %s", auth + strlen("Authorization: Bearer "));
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/customers", lower, NULL, buf, sizeof buf), 200);
  json_t *j;
  assert_int_equal(call("GET", "/operator/v1/nothing", NULL, &j), 404);
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers", "[1]", &j), 400);
  json_decref(j);
}

static void test_customers_and_apps(void **st)
{
  (void)st;
  json_t *j;
  assert_int_equal(call("POST", "/operator/v1/customers", "{\"name\":\"acme\"}", &j), 201);
  int64_t id = jint(j, "id");
  json_decref(j);
  char body[256];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"chat\",\"region\":\"singapore\"}", (long long)id);
  assert_int_equal(call("POST", "/operator/v1/apps", body, &j), 201);
  assert_string_equal(json_string_value(json_object_get(j, "scheme")), "intl");      /* P-50 */
  assert_string_equal(json_string_value(json_object_get(j, "edition")), "developer"); /* L-1 */
  int64_t app = jint(j, "sdkappid");
  json_decref(j);
  char target[96];
  snprintf(target, sizeof target, "/operator/v1/apps/%lld", (long long)app);
  assert_int_equal(call("GET", target, NULL, &j), 200);
  assert_int_equal(jint(j, "sdkappid"), app);
  json_decref(j);
  assert_int_equal(call("GET", "/operator/v1/apps/99", NULL, &j), 404);
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/apps", "{\"customer_id\":999999,\"name\":\"x\",\"region\":\"china\"}", &j), 404);
  json_decref(j);
}

static void test_wallet(void **st)
{
  (void)st;
  json_t *j;
  assert_int_equal(call("POST", "/operator/v1/customers", "{\"name\":\"payer\"}", &j), 201);
  int64_t id = jint(j, "id");
  json_decref(j);
  char target[96], wtarget[96];
  snprintf(target, sizeof target, "/operator/v1/customers/%lld/wallet/topups", (long long)id);
  snprintf(wtarget, sizeof wtarget, "/operator/v1/customers/%lld/wallet", (long long)id);
  assert_int_equal(call("GET", wtarget, NULL, &j), 200);
  assert_int_equal(jint(j, "balance_fen"), 0);
  json_decref(j);
  /* top up 1,000 元; retrying the same reference changes nothing */
  assert_int_equal(call("POST", target, "{\"amount_fen\":100000,\"reference\":\"pay-1\",\"reason\":\"bank transfer\"}", &j), 201);
  assert_int_equal(jint(j, "balance_fen"), 100000);
  json_decref(j);
  assert_int_equal(call("POST", target, "{\"amount_fen\":100000,\"reference\":\"pay-1\",\"reason\":\"bank transfer\"}", &j), 200);
  assert_true(json_is_true(json_object_get(j, "replayed")));
  assert_int_equal(jint(j, "balance_fen"), 100000);
  json_decref(j);
  /* the same reference for another amount is a conflict */
  assert_int_equal(call("POST", target, "{\"amount_fen\":5,\"reference\":\"pay-1\"}", &j), 409);
  json_decref(j);
  /* bad input changes nothing */
  static const char *const bad[] = {
    "{\"amount_fen\":0,\"reference\":\"r0\"}", "{\"amount_fen\":-5,\"reference\":\"r1\"}",
    "{\"amount_fen\":\"100\",\"reference\":\"r2\"}", "{\"amount_fen\":100}", "{\"amount_fen\":100,\"reference\":\"has space\"}",
    "{\"amount_fen\":1.5,\"reference\":\"r3\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(call("POST", target, bad[i], &j), 400);
    json_decref(j);
  }
  assert_int_equal(call("POST", "/operator/v1/customers/424242/wallet/topups", "{\"amount_fen\":1,\"reference\":\"x\"}", &j), 404);
  json_decref(j);
  /* the CLI tops up the same wallet while the server runs */
  char out[1024];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet topup --customer %lld --amount-fen 250 --reference cli-1 --json", (long long)id), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  assert_int_equal(jint(c, "balance_fen"), 100250);
  json_decref(c);
  assert_int_equal(call("GET", wtarget, NULL, &j), 200);
  assert_int_equal(jint(j, "balance_fen"), 100250);
  json_t *entries = json_object_get(j, "entries");
  assert_int_equal(json_array_size(entries), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "reference")), "pay-1");
  assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 1), "kind")), "topup");
  json_decref(j);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "wallet show --customer %lld --json", (long long)id), 0);
  assert_non_null(strstr(out, "\"balance_fen\":100250"));
  assert_true(e2e_cli(&srv, out, sizeof out, "wallet topup --customer %lld --amount-fen -3", (long long)id) != 0);
  assert_true(e2e_cli(&srv, out, sizeof out, "wallet show --customer 777777") != 0);
}

static const char *jcode(json_t *j) { return json_string_value(json_object_get(json_object_get(j, "error"), "code")); }
static const char *jmsg(json_t *j) { return json_string_value(json_object_get(json_object_get(j, "error"), "message")); }

/* One error vocabulary (issue 17): every error is {"error":{"code","message"}}
 * with an IMC_E_* name; not found is NOTFOUND for endpoints and objects alike. */
static void test_error_vocabulary(void **st)
{
  (void)st;
  json_t *j;
  static const char *const missing[][2] = {
    { "GET", "/operator/v1/nothing" }, { "GET", "/operator/v1/apps/99" }, { "GET", "/operator/v1/customers/99/wallet" },
    { "GET", "/operator/v1/apps/abc" },
  };
  for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
    assert_int_equal(call(missing[i][0], missing[i][1], NULL, &j), 404);
    assert_string_equal(jcode(j), "NOTFOUND");
    json_decref(j);
  }
  char buf[1024];
  assert_int_equal(e2e_http(srv.port, "GET", "/nowhere", NULL, NULL, buf, sizeof buf), 404);
  assert_non_null(strstr(buf, "\"code\":\"NOTFOUND\""));
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/apps", NULL, NULL, buf, sizeof buf), 401);
  assert_non_null(strstr(buf, "\"code\":\"OP_AUTH\""));
  /* what the HTTP layer refuses itself speaks the same vocabulary on operator paths (it was the v4 envelope):
   * a body announced past any max_body_bytes is refused before it is sent */
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  static const char req[] = "POST /operator/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n";
  assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
  size_t n = e2e_recv_all(fd, buf, sizeof buf - 1, 5000);
  buf[n] = 0;
  close(fd);
  assert_non_null(strstr(buf, "HTTP/1.1 413"));
  assert_non_null(strstr(buf, "{\"error\":{\"code\":\"TOOBIG\""));
}

static void test_json_syntax_error_has_line_and_column(void **st)
{
  (void)st;
  json_t *j;
  assert_int_equal(call("POST", "/operator/v1/customers", "{\n  \"name\": \"acme\",\n  oops\n}", &j), 400);
  assert_string_equal(jcode(j), "JSON_PARSE");
  assert_non_null(strstr(jmsg(j), "line 3 column"));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers", "[1]", &j), 400);
  assert_string_equal(jcode(j), "JSON_PARSE");
  assert_non_null(strstr(jmsg(j), "must be a JSON object"));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers", "{\"name\":\"a\",\"name\":\"b\"}", &j), 400);
  assert_string_equal(jcode(j), "JSON_PARSE");
  json_decref(j);
}

static void test_unknown_fields_refused(void **st)
{
  (void)st;
  json_t *j;
  assert_int_equal(call("GET", "/operator/v1/customers", NULL, &j), 200);
  size_t before = json_array_size(json_object_get(j, "customers"));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers", "{\"name\":\"acme\",\"nmae\":\"typo\"}", &j), 400);
  assert_string_equal(jcode(j), "INVAL");
  assert_non_null(strstr(jmsg(j), "unknown field \"nmae\""));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/apps", "{\"customer_id\":1,\"name\":\"x\",\"region\":\"china\",\"edition\":\"pro\"}", &j), 400);
  assert_non_null(strstr(jmsg(j), "unknown field \"edition\""));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers/1/wallet/topups", "{\"amount_fen\":1,\"reference\":\"u1\",\"currency\":\"usd\"}", &j), 400);
  assert_non_null(strstr(jmsg(j), "unknown field \"currency\""));
  json_decref(j);
  /* nothing was created */
  assert_int_equal(call("GET", "/operator/v1/customers", NULL, &j), 200);
  assert_int_equal(json_array_size(json_object_get(j, "customers")), before);
  json_decref(j);
  /* a message names only the wrong field */
  assert_int_equal(call("POST", "/operator/v1/apps", "{\"customer_id\":1,\"name\":\"chat\",\"region\":\"mars\"}", &j), 400);
  assert_true(!strncmp(jmsg(j), "region must be one of", 21));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/apps", "{\"customer_id\":1,\"name\":\"\",\"region\":\"china\"}", &j), 400);
  assert_true(!strncmp(jmsg(j), "name must be", 12));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/apps", "{\"customer_id\":1,\"name\":\"x\",\"region\":\"china\",\"scheme\":\"s1999\"}", &j), 400);
  assert_true(!strncmp(jmsg(j), "scheme must be one of", 21));
  json_decref(j);
  assert_int_equal(call("POST", "/operator/v1/customers/1/wallet/topups", "{\"amount_fen\":1,\"reference\":\"a b\"}", &j), 400);
  assert_true(!strncmp(jmsg(j), "reference must be", 17));
  json_decref(j);
}

/* Raw request: the whole response (headers included) into buf. */
static void raw(const char *method, const char *target, char *buf, size_t cap)
{
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  char req[512];
  int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", method, target, auth);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  e2e_recv_all(fd, buf, cap, 3000);
  close(fd);
}

static void test_wrong_method_is_405_with_allow(void **st)
{
  (void)st;
  char buf[4096];
  raw("DELETE", "/operator/v1/customers", buf, sizeof buf);
  assert_true(!strncmp(buf, "HTTP/1.1 405", 12));
  assert_non_null(strstr(buf, "Allow: GET, HEAD, POST\r\n")); /* HEAD with GET (RFC 9110 §9.3.2) */
  assert_non_null(strstr(buf, "\"code\":\"METHOD\""));
  raw("POST", "/operator/v1/apps/1400000001", buf, sizeof buf);
  assert_true(!strncmp(buf, "HTTP/1.1 405", 12));
  assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
  raw("GET", "/operator/v1/customers/1/wallet/topups", buf, sizeof buf);
  assert_true(!strncmp(buf, "HTTP/1.1 405", 12));
  assert_non_null(strstr(buf, "Allow: POST\r\n"));
}

static void test_healthz(void **st)
{
  (void)st;
  char buf[16384];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, buf, sizeof buf), 200);
  assert_int_equal(strncmp(buf, "{\"status\":\"ok\",\"writer\":{", 25), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_auth), cmocka_unit_test(test_customers_and_apps), cmocka_unit_test(test_wallet),
    cmocka_unit_test(test_error_vocabulary), cmocka_unit_test(test_json_syntax_error_has_line_and_column),
    cmocka_unit_test(test_unknown_fields_refused), cmocka_unit_test(test_wrong_method_is_405_with_allow),
    cmocka_unit_test(test_healthz),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
