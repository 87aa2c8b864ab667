/* The socketless server (net_server_start_socketless, net_socketless_*) that
 * the whole-server fuzz targets use: the application's handlers run as on a
 * listening server, pipelined replies wait for a late one, a half-close
 * closes the connection once everything is answered, a WebSocket gets its
 * text and its 1006 close notice, and net_server_close frees it all. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/net.h"

static int n_http, n_open, n_text, close_code, closed;
static net_req_t *held;
static char text[64];

static void on_http(void *ud, net_req_t *r)
{
  (void)ud;
  n_http++;
  if (!strcmp(net_req_path(r), "/later")) held = r; /* answered by the test */
  else net_req_reply(r, 200, "text/plain", "ok", 2, NULL);
}
static void on_open(void *ud, net_ws_t *ws) { (void)ud; (void)ws; n_open++; }
static void on_text(void *ud, net_ws_t *ws, const char *d, size_t n)
{
  (void)ud; (void)ws;
  n_text++;
  snprintf(text, sizeof text, "%.*s", (int)n, d);
}
static void on_close(void *ud, net_ws_t *ws, int code) { (void)ud; (void)ws; close_code = code; }
static void on_closed(void *arg) { (void)arg; closed = 1; }

static void test_socketless(void **state)
{
  (void)state;
  uv_loop_t loop;
  net_server_t *s;
  net_cfg_t cfg;
  net_handlers_t h = { .on_http = on_http, .on_ws_open = on_open, .on_ws_text = on_text, .on_ws_close = on_close };
  uv_loop_init(&loop);
  net_cfg_defaults(&cfg);
  assert_int_equal(net_server_start_socketless(&loop, &cfg, &h, &s), 0);

  /* two pipelined requests, the first answered late, then the half-close */
  static const char req[] = "GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(net_socketless_open(s, 0), 0);
  assert_int_equal(net_socketless_feed(s, req, sizeof req - 1, 1), 1);
  assert_int_equal(n_http, 2);
  assert_non_null(held);
  assert_int_equal(net_server_requests_in_flight(s), 1);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(net_socketless_feed(s, "", 0, 0), 1); /* still open: a reply is owed */
  assert_int_equal(net_req_reply(held, 200, "text/plain", "late", 4, NULL), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(net_socketless_feed(s, "", 0, 0), 0); /* everything answered: closed */

  /* a WebSocket: one masked text frame "hi", then the peer vanishes */
  static const unsigned char frame[] = { 0x81, 0x82, 0, 0, 0, 0, 'h', 'i' };
  assert_int_equal(net_socketless_open(s, 1), 0);
  assert_int_equal(n_open, 1);
  assert_non_null(net_socketless_ws(s));
  assert_int_equal(net_socketless_feed(s, frame, sizeof frame, 0), 1);
  assert_int_equal(n_text, 1);
  assert_string_equal(text, "hi");
  net_socketless_drop(s);
  assert_null(net_socketless_ws(s));
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(close_code, 1006);

  assert_int_equal(net_socketless_open(s, 1), 0); /* left open: net_server_close closes it */
  net_server_close(s, on_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(close_code, 1001);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_socketless) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
