/* Upgrade requests read without http-parser (src/net/http.c, "Upgrade
 * requests read directly"): each row is fed to a socketless server twice,
 * once as configured and once with upgrade_parser_only (every request
 * through http-parser), and must end the same way both times (a WebSocket
 * opened, its first frame's text, or the connection closed after a refusal).
 * The rows in the plain shape must be read directly (net_upgrades_direct
 * counts them), every other shape must not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "net/net.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HEAD(target, conn) "GET " target " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: " conn "\r\n"
#define TAIL "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n"
/* a masked text frame "hi" (mask 0) */
#define FRAME "\x81\x82\0\0\0\0hi"

typedef struct {
  const char *what;
  const char *req;
  size_t len;       /* 0: strlen(req) */
  const char *req2; /* a second read, or NULL */
  int direct;       /* read without http-parser */
  int opened;       /* a WebSocket was opened */
} row_t;

static const row_t rows[] = {
  { "a browser's upgrade", HEAD("/ws", "Upgrade") "Origin: http://x\r\nUser-Agent: t/1\r\n" TAIL, 0, NULL, 1, 1 },
  { "a query string", HEAD("/ws?a=1&b=%20", "Upgrade") TAIL, 0, NULL, 1, 1 },
  { "keep-alive, Upgrade", HEAD("/ws", "keep-alive, Upgrade") TAIL, 0, NULL, 1, 1 },
  { "upper-case names and tokens", "GET /ws HTTP/1.1\r\nHOST: x\r\nUPGRADE: WebSocket\r\nCONNECTION: UPGRADE\r\n"
    "SEC-WEBSOCKET-KEY: " KEY "\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n", 0, NULL, 1, 1 },
  { "the first frame in the same read", HEAD("/ws", "Upgrade") TAIL FRAME, sizeof HEAD("/ws", "Upgrade") TAIL FRAME - 1,
    NULL, 1, 1 },
  { "a key that is not 16 bytes", HEAD("/ws", "Upgrade") "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n", 0,
    NULL, 1, 0 },
  { "version 8", HEAD("/ws", "Upgrade") "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n", 0, NULL, 1, 0 },
  { "no Upgrade token in Connection", HEAD("/ws", "keep-alive") TAIL, 0, NULL, 1, 0 },
  { "two Host fields", HEAD("/ws", "Upgrade") "Host: y\r\n" TAIL, 0, NULL, 0, 0 }, /* the scanner refuses it */
  { "another path", HEAD("/other", "Upgrade") TAIL, 0, NULL, 0, 0 },
  { "a longer path", HEAD("/wsx", "Upgrade") TAIL, 0, NULL, 0, 0 },
  { "a fragment", HEAD("/ws#f", "Upgrade") TAIL, 0, NULL, 0, 0 },
  { "absolute-form", HEAD("http://x/ws", "Upgrade") TAIL, 0, NULL, 0, 1 },
  { "Connection: close", HEAD("/ws", "Upgrade, close") TAIL, 0, NULL, 0, 0 },
  { "an unknown Connection token", HEAD("/ws", "Upgrade, x-foo") TAIL, 0, NULL, 0, 1 },
  { "a tab in Connection", HEAD("/ws", "keep-alive,\tUpgrade") TAIL, 0, NULL, 0, 1 },
  { "Proxy-Connection", HEAD("/ws", "Upgrade") "Proxy-Connection: close\r\n" TAIL, 0, NULL, 0, 0 },
  { "Content-Length: 0", HEAD("/ws", "Upgrade") "Content-Length: 0\r\n" TAIL, 0, NULL, 0, 1 },
  { "an empty value", HEAD("/ws", "Upgrade") "X-E:\r\n" TAIL, 0, NULL, 0, 1 },
  { "whitespace after a value", HEAD("/ws", "Upgrade") "X-E: a \r\n" TAIL, 0, NULL, 0, 1 },
  { "HTTP/1.0", "GET /ws HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" TAIL, 0, NULL, 0, 0 },
  { "POST", "POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" TAIL, 0, NULL, 0, 0 },
  { "split over two reads", HEAD("/ws", "Upgrade"), 0, TAIL, 0, 1 },
  { "behind another request", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" HEAD("/ws", "Upgrade") TAIL, 0, NULL, 1, 0 },
};

static int n_open, n_text;
static char text[16];
static net_req_t *held[4]; /* requests not on ws_path, left unanswered (an upgrade behind one is refused) */
static size_t n_held;

static void on_http(void *ud, net_req_t *r)
{
  (void)ud;
  if (n_held < sizeof held / sizeof held[0]) held[n_held++] = r;
  else net_req_reply(r, 404, "text/plain", "", 0, NULL);
}
static void on_open(void *ud, net_ws_t *ws) { (void)ud; (void)ws; n_open++; }
static void on_text(void *ud, net_ws_t *ws, const char *d, size_t n)
{
  (void)ud; (void)ws;
  n_text++;
  snprintf(text, sizeof text, "%.*s", (int)n, d);
}
static void on_close(void *ud, net_ws_t *ws, int code) { (void)ud; (void)ws; (void)code; }
static void on_closed(void *arg) { (void)arg; }

typedef struct { int opened, texts, open_after; uint64_t direct; char text[16]; } outcome_t;

static outcome_t run(const row_t *row, int parser_only)
{
  uv_loop_t loop;
  net_server_t *s;
  net_cfg_t cfg;
  net_handlers_t h = { .on_http = on_http, .on_ws_open = on_open, .on_ws_text = on_text, .on_ws_close = on_close };
  uv_loop_init(&loop);
  net_cfg_defaults(&cfg);
  cfg.upgrade_parser_only = parser_only;
  assert_int_equal(net_server_start_socketless(&loop, &cfg, &h, &s), 0);
  n_open = n_text = 0;
  text[0] = 0;
  uint64_t d0 = net_upgrades_direct();
  assert_int_equal(net_socketless_open(s, 0), 0);
  net_socketless_feed(s, row->req, row->len ? row->len : strlen(row->req), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  if (row->req2) { net_socketless_feed(s, row->req2, strlen(row->req2), 0); uv_run(&loop, UV_RUN_NOWAIT); }
  outcome_t o = { .opened = n_open, .texts = n_text, .direct = net_upgrades_direct() - d0 };
  o.open_after = net_socketless_feed(s, "", 0, 0);
  memcpy(o.text, text, sizeof text);
  net_server_close(s, on_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  while (n_held) net_req_reply(held[--n_held], 404, "text/plain", "", 0, NULL); /* orphaned: this frees them */
  return o;
}

static void test_direct_and_parser_agree(void **st)
{
  (void)st;
  int bad = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const row_t *r = &rows[i];
    outcome_t d = run(r, 0), p = run(r, 1);
    if (d.direct != (uint64_t)r->direct) { print_error("%s: read directly %d times, expected %d\n", r->what, (int)d.direct, r->direct); bad++; }
    if (p.direct) { print_error("%s: read directly with upgrade_parser_only\n", r->what); bad++; }
    if (d.opened != r->opened || p.opened != r->opened) {
      print_error("%s: opened %d (direct) / %d (http-parser), expected %d\n", r->what, d.opened, p.opened, r->opened);
      bad++;
    }
    if (d.texts != p.texts || strcmp(d.text, p.text) || d.open_after != p.open_after) {
      print_error("%s: texts %d \"%s\" open %d (direct) / %d \"%s\" open %d (http-parser)\n", r->what, d.texts, d.text,
                  d.open_after, p.texts, p.text, p.open_after);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
}

static void test_first_frame_is_read(void **st)
{
  (void)st;
  outcome_t o = run(&rows[4], 0);
  assert_int_equal(o.direct, 1);
  assert_int_equal(o.texts, 1);
  assert_string_equal(o.text, "hi");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_direct_and_parser_agree),
    cmocka_unit_test(test_first_frame_is_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
