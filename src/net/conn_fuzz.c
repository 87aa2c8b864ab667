/* conn_fuzz.c — connections without a socket: the fuzzing entry points
 * (net_fuzz_http, net_fuzz_ws: one input on a fake server, no loop) and
 * socketless connections on a running loop (net_server_start_socketless,
 * net_socketless_*: whole-server fuzzing). They share the write-out (out.c)
 * and close and free path (net__on_check, net__really_close, net_int.h). */
#include "net/net.h"
#include "net/net_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- fuzzing entry points: a connection without a socket ------------------- */
static net_server_t *fake_server(void)
{
  static net_server_t s;
  static char buf[NET_READ_BUF];
  memset(&s, 0, sizeof s);
  net_cfg_defaults(&s.cfg);
  s.rbuf = buf;
  s.check.data = &s;
  s.ep = s.lfd = -1;
  return &s;
}

static void fake_http(void *ud, net_req_t *r) { (void)ud; net_req_reply(r, 200, "text/plain", "ok", 2, NULL); }
static void fake_text(void *ud, net_ws_t *ws, const char *d, size_t n) { (void)ud; net_ws_send_text(ws, d, n); }

static int fake_run(int ws, const uint8_t *data, size_t len)
{
  net_server_t *s = fake_server();
  s->h.on_http = fake_http;
  s->h.on_ws_text = fake_text;
  struct net_conn *c = calloc(1, sizeof *c);
  char *copy = malloc(len ? len : 1);
  if (!c || !copy) { free(c); free(copy); return 0; }
  c->srv = s;
  c->fd = -1;
  c->flags = CF_FAKE | CF_READING;
  s->nconns = 1;
  s->open_handles = 1;
  memcpy(copy, data, len);
  if (ws) { net__ws_start(c, NULL, 0); net__ws_feed(c, copy, len); }
  else net__http_feed(c, copy, len);
  free(copy);
  for (int i = 0; i < 4; i++) net__on_check(&s->check);
  int closed = s->open_handles == 0; /* a fake connection is freed as soon as it closes */
  if (!closed && (c->flags & CF_WS)) { net__notify_ws_close(c, 1001); net__on_check(&s->check); }
  if (s->open_handles) { net__really_close(c); net__on_check(&s->check); }
  net__pools_drain(s);
  free(s->notify);
  free(s->flush);
  free(s->flush_http);
  return closed;
}

int net_fuzz_http(const uint8_t *data, size_t len) { return fake_run(0, data, len); }
int net_fuzz_ws(const uint8_t *data, size_t len) { return fake_run(1, data, len); }

/* ---- socketless connections on a running loop (whole-server fuzzing) ------ */
int net_server_start_socketless(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, net_server_t **out)
{
  net_server_t *s = calloc(1, sizeof *s);
  if (!s || !(s->rbuf = malloc(NET_READ_BUF))) { free(s); return IMC_E_NOMEM; }
  s->loop = loop;
  s->cfg = *cfg;
  if (!s->cfg.wheel_tick_ms) s->cfg.wheel_tick_ms = NET_WHEEL_TICK_MS; /* a divisor (net__tick_now) */
  s->h = *h;
  s->ep = s->lfd = s->spare_fd = -1;
  uv_check_init(loop, &s->check);
  s->check.data = s;
  uv_check_start(&s->check, net__on_check);
  uv_idle_init(loop, &s->again_idle);   /* never started: socketless connections are fed, not read */
  s->again_idle.data = s;
  uv_idle_init(loop, &s->out_idle);     /* started when the write budget leaves output for the next turn */
  s->out_idle.data = s;
  net__turn_end(s);
  uv_timer_init(loop, &s->wheel_timer); /* not started: socketless connections have no deadlines */
  s->wheel_timer.data = s;
  s->t0_ms = uv_now(loop);
  s->wheel_tick = net__tick_now(s);
  *out = s;
  return 0;
}

int net_socketless_open(net_server_t *s, int ws)
{
  if (s->socketless) net_socketless_drop(s);
  struct net_conn *c = calloc(1, sizeof *c);
  if (!c) return IMC_E_NOMEM;
  c->srv = s;
  c->fd = -1;
  c->flags = CF_FAKE | CF_READING;
  s->nconns++;
  s->open_handles++;
  s->socketless = c;
  if (ws) net__ws_start(c, NULL, 0);
  return 0;
}

int net_socketless_feed(net_server_t *s, const void *data, size_t len, int eof)
{
  struct net_conn *c = s->socketless;
  if (c && len && (c->flags & CF_READING)) {
    memcpy(s->rbuf, data, len < NET_READ_BUF ? len : NET_READ_BUF); /* one read: at most the read buffer */
    len = len < NET_READ_BUF ? len : NET_READ_BUF;
    s->bytes_in += len;
    if (c->flags & CF_WS) net__ws_feed(c, s->rbuf, len);
    else net__http_feed(c, s->rbuf, len);
  }
  c = s->socketless;
  if (c && eof && !(c->flags & (CF_CLOSED | CF_CLOSE_AFTER_WRITE))) { /* as on_readable on a read of 0 */
    if (c->flags & CF_WS) { if (!(c->flags & CF_WS_CLOSING)) net__notify_ws_close(c, 1006); net__close(c); }
    else net__http_eof(c);
  }
  return s->socketless != NULL;
}

void net_socketless_drop(net_server_t *s)
{
  if (s->socketless) net__dead_peer(s->socketless);
}

net_ws_t *net_socketless_ws(net_server_t *s)
{
  struct net_conn *c = s->socketless;
  return c && (c->flags & CF_WS) && !(c->flags & (CF_CLOSED | CF_WS_CLOSING)) ? c : NULL;
}
