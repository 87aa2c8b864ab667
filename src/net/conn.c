/* conn.c — listener, connections, the write queue (flushed once per loop
 * turn in the check phase), the timer wheel, and shutdown. */
#include "net/net_int.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t net_conn_size(void) { return sizeof(struct net_conn); }

void net_cfg_defaults(net_cfg_t *c)
{
  memset(c, 0, sizeof *c);
  c->host = "127.0.0.1";
  c->ws_path = "/ws";
  c->max_header_bytes = 8192;
  c->max_body_bytes = 1 << 20;
  c->max_ws_frame_bytes = 64 * 1024;
  c->ws_max_queued_bytes = 4 << 20;
  c->request_timeout_ms = 10000;
  c->keepalive_idle_ms = 60000;
}

uint64_t net__now(net_server_t *s) { return s->loop ? uv_now(s->loop) : 0; }

/* ---- timer wheel -------------------------------------------------------------- */
static void wheel_unlink(struct net_conn *c)
{
  if (!c->deadline_ms) return;
  if (c->tw_prev) c->tw_prev->tw_next = c->tw_next;
  else c->srv->wheel[(c->deadline_ms / NET_WHEEL_TICK_MS) % NET_WHEEL_SLOTS] = c->tw_next;
  if (c->tw_next) c->tw_next->tw_prev = c->tw_prev;
  c->tw_next = c->tw_prev = NULL;
  c->deadline_ms = 0;
}

void net__set_deadline(struct net_conn *c, uint64_t at_ms)
{
  wheel_unlink(c);
  if (!at_ms || (c->flags & CF_FAKE)) return;
  c->deadline_ms = at_ms;
  struct net_conn **slot = &c->srv->wheel[(at_ms / NET_WHEEL_TICK_MS) % NET_WHEEL_SLOTS];
  c->tw_prev = NULL;
  c->tw_next = *slot;
  if (*slot) (*slot)->tw_prev = c;
  *slot = c;
}

static void fire(struct net_conn *c)
{
  if (c->flags & CF_CLOSED) return;
  if (c->kind == CONN_WS) {
    if (c->flags & CF_WS_CLOSING) { net__close(c); return; }  /* peer never answered our close */
    if (c->srv->h.on_ws_deadline) c->srv->h.on_ws_deadline(c->srv->h.ud, c);
  } else {
    net__http_deadline(c);
  }
}

static void on_wheel(uv_timer_t *t)
{
  net_server_t *s = t->data;
  uint64_t now = uv_now(s->loop);
  /* walk every slot passed since the last tick (at most one round) */
  uint64_t from = s->wheel_now_ms / NET_WHEEL_TICK_MS, to = now / NET_WHEEL_TICK_MS;
  if (to - from >= NET_WHEEL_SLOTS) from = to - NET_WHEEL_SLOTS + 1;
  struct net_conn *expired = NULL;
  for (uint64_t tick = from; tick <= to; tick++) {
    for (struct net_conn *c = s->wheel[tick % NET_WHEEL_SLOTS], *next; c; c = next) {
      next = c->tw_next;
      if (c->deadline_ms > now) continue; /* a later round of the wheel */
      wheel_unlink(c);
      c->tw_next = expired;
      expired = c;
    }
  }
  s->wheel_now_ms = now;
  while (expired) {
    struct net_conn *c = expired;
    expired = c->tw_next;
    c->tw_next = NULL;
    fire(c); /* a closed connection stays allocated until its uv_close callback */
  }
}

/* ---- output ---------------------------------------------------------------------- */
typedef struct wbatch {
  uv_write_t req;
  struct net_conn *c;
  wchunk_t *chunks;
  unsigned n;
  uv_buf_t bufs[];
} wbatch_t;

static void list_flush(struct net_conn *c)
{
  if (c->flags & CF_FLUSH_LISTED) return;
  c->flags |= CF_FLUSH_LISTED;
  c->flush_next = c->srv->flush;
  c->srv->flush = c;
}

static void chunk_free(wchunk_t *w)
{
  if (w->frame) net_frame_unref(w->frame);
  free(w);
}

static void on_handle_closed(uv_handle_t *h)
{
  struct net_conn *c = (struct net_conn *)h;
  net_server_t *s = c->srv;
  while (c->wq_head) { wchunk_t *n = c->wq_head->next; chunk_free(c->wq_head); c->wq_head = n; }
  if (c->kind == CONN_WS) net__ws_free(c); else net__http_free(c);
  free(c);
  s->open_handles--; /* while closing, finish_close polls for this to reach zero */
}

static void really_close(struct net_conn *c)
{
  if (c->flags & CF_CLOSED) return;
  c->flags |= CF_CLOSED;
  wheel_unlink(c);
  if (c->kind == CONN_HTTP) net__http_orphan(c);
  if (c->prev) c->prev->next = c->next; else c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->kind == CONN_WS) c->srv->websockets--;
  if (c->flags & CF_FAKE) { on_handle_closed((uv_handle_t *)c); return; }
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
  wbatch_t *b = req->data;
  struct net_conn *c = b->c;
  size_t total = 0;
  for (wchunk_t *w = b->chunks; w;) { wchunk_t *n = w->next; total += w->len; chunk_free(w); w = n; }
  c->wq_bytes -= (uint32_t)total;
  c->srv->bytes_out += total;
  free(b);
  if (status < 0) { if (c->kind == CONN_WS && !(c->flags & CF_WS_CLOSING)) net__notify_ws_close(c, 1006); really_close(c); return; }
  if ((c->flags & CF_CLOSE_AFTER_WRITE) && c->wq_bytes == 0 && !c->wq_head) really_close(c);
}

static void flush_one(struct net_conn *c)
{
  c->flags &= (uint8_t)~CF_FLUSH_LISTED;
  if (c->flags & CF_CLOSED) return;
  if (!c->wq_head) { if ((c->flags & CF_CLOSE_AFTER_WRITE) && c->wq_bytes == 0) really_close(c); return; }
  unsigned n = 0;
  for (wchunk_t *w = c->wq_head; w; w = w->next) n++;
  if (c->flags & CF_FAKE) {
    for (wchunk_t *w = c->wq_head; w;) { wchunk_t *x = w->next; c->wq_bytes -= (uint32_t)w->len; chunk_free(w); w = x; }
    c->wq_head = c->wq_tail = NULL;
    if (c->flags & CF_CLOSE_AFTER_WRITE) really_close(c);
    return;
  }
  wbatch_t *b = malloc(sizeof *b + n * sizeof(uv_buf_t));
  if (!b) { really_close(c); return; }
  b->c = c;
  b->chunks = c->wq_head;
  b->n = n;
  unsigned i = 0;
  for (wchunk_t *w = c->wq_head; w; w = w->next)
    b->bufs[i++] = uv_buf_init(w->frame ? w->frame->bytes : w->data, (unsigned)w->len);
  c->wq_head = c->wq_tail = NULL;
  b->req.data = b;
  if (uv_write(&b->req, (uv_stream_t *)&c->tcp, b->bufs, n, on_written)) {
    b->req.data = b;
    on_written(&b->req, UV_EPIPE);
  }
}

static void on_check(uv_check_t *h)
{
  net_server_t *s = h->data;
  /* close notices first: the application may queue more output in them */
  for (size_t i = 0; i < s->notify_len; i++) {
    struct net_conn *c = s->notify[i];
    c->flags &= (uint8_t)~CF_WS_NOTIFY;
    if (s->h.on_ws_close) s->h.on_ws_close(s->h.ud, c, c->close_code);
    c->data = NULL;
    if (!(c->flags & CF_CLOSED)) net__close(c);
  }
  s->notify_len = 0;
  while (s->flush) {
    struct net_conn *c = s->flush;
    s->flush = c->flush_next;
    flush_one(c);
  }
}

static int enqueue(struct net_conn *c, wchunk_t *w)
{
  w->next = NULL;
  if (c->wq_tail) c->wq_tail->next = w; else c->wq_head = w;
  c->wq_tail = w;
  c->wq_bytes += (uint32_t)w->len;
  list_flush(c);
  return 0;
}

wchunk_t *net__chunk_new(size_t cap)
{
  wchunk_t *w = malloc(sizeof *w + cap);
  if (w) w->frame = NULL;
  return w;
}

int net__queue_chunk(struct net_conn *c, wchunk_t *w, size_t len)
{
  w->len = len;
  return enqueue(c, w);
}

int net__queue(struct net_conn *c, const void *data, size_t len)
{
  wchunk_t *w = net__chunk_new(len);
  if (!w) return IMC_E_NOMEM;
  memcpy(w->data, data, len);
  return net__queue_chunk(c, w, len);
}

int net__queue_frame(struct net_conn *c, net_frame_t *f)
{
  wchunk_t *w = malloc(sizeof *w);
  if (!w) return IMC_E_NOMEM;
  f->refs++;
  w->frame = f;
  w->len = f->len;
  return enqueue(c, w);
}

void net__close(struct net_conn *c)
{
  if (c->flags & CF_CLOSED) return;
  c->flags |= CF_CLOSE_AFTER_WRITE;
  if (!(c->flags & CF_FAKE)) uv_read_stop((uv_stream_t *)&c->tcp);
  list_flush(c);
}

void net__notify_ws_close(struct net_conn *c, int code)
{
  net_server_t *s = c->srv;
  if (c->flags & CF_WS_NOTIFY) return;          /* already queued */
  if ((c->flags & CF_WS_CLOSING) && c->close_code) return; /* already delivered */
  c->flags |= CF_WS_CLOSING | CF_WS_NOTIFY;
  c->close_code = (uint16_t)code;
  if (s->notify_len == s->notify_cap) {
    size_t ncap = s->notify_cap ? s->notify_cap * 2 : 64;
    struct net_conn **n = realloc(s->notify, ncap * sizeof *n);
    if (!n) { c->flags &= (uint8_t)~CF_WS_NOTIFY; return; }
    s->notify = n;
    s->notify_cap = ncap;
  }
  s->notify[s->notify_len++] = c;
  list_flush(c); /* make sure the check phase runs for it */
}

/* ---- input ------------------------------------------------------------------------- */
static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
  (void)sz;
  struct net_conn *c = (struct net_conn *)h;
  net_server_t *s = c->srv;
  if (s->rbuf_busy) { buf->base = NULL; buf->len = 0; return; } /* cannot happen on one loop; be safe */
  s->rbuf_busy = 1;
  buf->base = s->rbuf;
  buf->len = NET_READ_BUF;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  struct net_conn *c = (struct net_conn *)st;
  net_server_t *s = c->srv;
  if (buf->base == s->rbuf) s->rbuf_busy = 0;
  if (n == 0) return;
  if (n < 0) {
    if (c->kind == CONN_WS && !(c->flags & CF_WS_CLOSING)) net__notify_ws_close(c, 1006);
    if (c->kind == CONN_WS) net__close(c);
    else if (n == UV_EOF) net__http_eof(c); /* a half-close: the replies still go out */
    else really_close(c);
    return;
  }
  s->bytes_in += (uint64_t)n;
  if (c->kind == CONN_WS) net__ws_feed(c, buf->base, (size_t)n);
  else net__http_feed(c, buf->base, (size_t)n);
}

void net__resume_read(struct net_conn *c) { uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read); }

static void on_connection(uv_stream_t *l, int status)
{
  net_server_t *s = l->data;
  if (status < 0 || !s->listening) return;
  struct net_conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  c->kind = CONN_HTTP;
  uv_tcp_init(s->loop, &c->tcp);
  s->open_handles++;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  if (uv_accept(l, (uv_stream_t *)&c->tcp)) { really_close(c); return; }
  uv_tcp_nodelay(&c->tcp, 1);
  net__set_deadline(c, net__now(s) + s->cfg.keepalive_idle_ms);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int net_server_start(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, net_server_t **out)
{
  struct sockaddr_storage addr;
  if (uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr) &&
      uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&addr))
    return IMC_E_CONFIG;
  net_server_t *s = calloc(1, sizeof *s);
  if (!s || !(s->rbuf = malloc(NET_READ_BUF))) { free(s); return IMC_E_NOMEM; }
  s->loop = loop;
  s->cfg = *cfg;
  s->h = *h;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if (uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0) || uv_listen((uv_stream_t *)&s->listener, 4096, on_connection)) {
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    free(s->rbuf);
    free(s);
    return IMC_E_IO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
  s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
  s->listening = 1;
  uv_check_init(loop, &s->check);
  s->check.data = s;
  uv_check_start(&s->check, on_check);
  uv_timer_init(loop, &s->wheel_timer);
  s->wheel_timer.data = s;
  s->wheel_now_ms = uv_now(loop);
  uv_timer_start(&s->wheel_timer, on_wheel, NET_WHEEL_TICK_MS, NET_WHEEL_TICK_MS);
  *out = s;
  return 0;
}

int net_server_port(const net_server_t *s) { return s->port; }

void net_server_stop_accepting(net_server_t *s)
{
  if (!s->listening) return;
  s->listening = 0;
  uv_close((uv_handle_t *)&s->listener, NULL);
}

size_t net_server_requests_in_flight(const net_server_t *s) { return s->requests_in_flight; }

void net_server_stats(const net_server_t *s, net_stats_t *o)
{
  size_t n = 0;
  for (struct net_conn *c = s->conns; c; c = c->next) n++;
  o->connections = n;
  o->websockets = s->websockets;
  o->requests_in_flight = s->requests_in_flight;
  o->bytes_in = s->bytes_in;
  o->bytes_out = s->bytes_out;
}

static void on_final_closed(uv_handle_t *h)
{
  net_server_t *s = h->data;
  void (*cb)(void *) = s->closed_cb;
  void *arg = s->closed_arg;
  free(s->notify);
  free(s->rbuf);
  free(s);
  if (cb) cb(arg);
}

static void finish_close(uv_timer_t *t)
{
  net_server_t *s = t->data;
  if (s->open_handles || s->notify_len) return; /* poll until every connection is gone */
  uv_timer_stop(t);
  uv_close((uv_handle_t *)&s->wheel_timer, NULL);
  uv_check_stop(&s->check);
  uv_close((uv_handle_t *)&s->check, on_final_closed);
}

void net_server_close(net_server_t *s, void (*done)(void *), void *arg)
{
  s->closing = 1;
  s->closed_cb = done;
  s->closed_arg = arg;
  net_server_stop_accepting(s);
  for (struct net_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->kind == CONN_WS) net_ws_close(c, 1001, "server shutting down");
    else net__close(c);
  }
  /* reuse the wheel timer as a short poll for the last handles */
  uv_timer_stop(&s->wheel_timer);
  uv_timer_start(&s->wheel_timer, finish_close, 5, 5);
}

/* ---- fuzzing entry points: a connection without a socket ------------------- */
static net_server_t *fake_server(void)
{
  static net_server_t s;
  static char buf[NET_READ_BUF];
  memset(&s, 0, sizeof s);
  net_cfg_defaults(&s.cfg);
  s.rbuf = buf;
  s.check.data = &s;
  return &s;
}

static void fake_http(void *ud, net_req_t *r) { (void)ud; net_req_reply(r, 200, "text/plain", "ok", 2, NULL); }
static void fake_text(void *ud, net_ws_t *ws, const char *d, size_t n) { (void)ud; net_ws_send_text(ws, d, n); }

static int fake_run(int kind, const uint8_t *data, size_t len)
{
  net_server_t *s = fake_server();
  s->h.on_http = fake_http;
  s->h.on_ws_text = fake_text;
  struct net_conn *c = calloc(1, sizeof *c);
  if (!c) return 0;
  c->srv = s;
  c->flags = CF_FAKE;
  c->kind = CONN_HTTP;
  s->conns = c;
  s->open_handles = 1;
  char *copy = malloc(len ? len : 1);
  memcpy(copy, data, len);
  if (kind == CONN_WS) { net__ws_start(c, NULL, 0); s->websockets++; net__ws_feed(c, copy, len); }
  else net__http_feed(c, copy, len);
  free(copy);
  for (int i = 0; i < 4; i++) on_check(&s->check);
  int closed = s->open_handles == 0; /* a fake connection is freed as soon as it closes */
  if (!closed && c->kind == CONN_WS) { net__notify_ws_close(c, 1001); on_check(&s->check); }
  if (s->open_handles) really_close(c);
  free(s->notify);
  return closed;
}

int net_fuzz_http(const uint8_t *data, size_t len) { return fake_run(CONN_HTTP, data, len); }
int net_fuzz_ws(const uint8_t *data, size_t len) { return fake_run(CONN_WS, data, len); }
