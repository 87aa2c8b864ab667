/* ws.c — WebSocket (RFC 6455) for server connections: framing, message
 * reassembly with UTF-8 checking, and server frames.
 *
 * A frame is decoded only once it is complete in memory: parse() reads its
 * header (ws_frame.c, which refuses oversize, unmasked, reserved-bit and
 * badly encoded frames before anything is buffered), waits for the whole
 * payload, unmasks it in place and hands it on. So no decoder state lives
 * between frames: per connection, ws_state exists only while a partial frame
 * or a fragmented message is pending, and an idle connection holds nothing
 * here (memory per idle connection is a product metric). Loop thread only. */
#include "net/net_int.h"
#include "util/err.h"
#include "util/utf8.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct ws_state {
  char *part; size_t part_len, part_cap;  /* incomplete frame */
  char *msg; size_t msg_len;              /* fragmented message so far */
  uint8_t in_msg;
  uint8_t held;                           /* part holds input read before net_ws_pause_read stopped the parse */
};

/* Write one final, unmasked server frame of data[0..len) at dst (room for
 * NET_WS_HEAD_MAX + len); its length. */
static size_t encode(int opcode, const char *data, size_t len, uint8_t *dst)
{
  size_t hl = net__ws_head_put(opcode, len, dst);
  memcpy(dst + hl, data, len);
  return hl + len;
}

/* Encode straight into the output chunk: one allocation, one copy. */
static int send_frame(struct net_conn *c, int opcode, const char *data, size_t len)
{
  wchunk_t *w = net__chunk_new(c->srv, NET_WS_HEAD_MAX + len);
  if (!w) return IMC_E_NOMEM;
  return net__queue_chunk(c, w, encode(opcode, data, len, (uint8_t *)w->data));
}

/* Small frames (a push) unreferenced on this thread, kept for the next ones:
 * linked through their first bytes, at most FRAME_POOL_MAX. Per thread, so
 * that frames made and freed off the loop thread (tests) stay safe. */
/* 16,384: a saturated server has about that many pushes in flight
 * (commits of 10,000-16,000 messages); at 256 most came from malloc, whose
 * slow paths (unlink_chunk, malloc_consolidate) were 16 % of the loop's
 * samples. Kept after such a burst: at most 8 MiB. */
#define FRAME_POOL_MAX 16384
_Static_assert(offsetof(struct net_frame, bytes) % sizeof(void *) == 0, "pooled frames hold an aligned link");
_Static_assert(sizeof(struct net_frame) + NET_SMALL_FRAME == 512, "a small frame is 512 bytes");
static __thread struct { net_frame_t *head; unsigned n; } frame_pool;

net_frame_t *net_frame_new_text(const char *data, size_t len)
{
  if (len > UINT32_MAX - NET_WS_HEAD_MAX) return NULL;
  net_frame_t *f;
  if (NET_WS_HEAD_MAX + len <= NET_SMALL_FRAME && frame_pool.head) {
    f = frame_pool.head;
    memcpy(&frame_pool.head, f->bytes, sizeof f);
    frame_pool.n--;
  } else {
    int small = NET_WS_HEAD_MAX + len <= NET_SMALL_FRAME;
    if (!(f = malloc(sizeof *f + (small ? NET_SMALL_FRAME : NET_WS_HEAD_MAX + len)))) return NULL;
    f->small = (uint32_t)small;
  }
  f->refs = 1;
  f->queued = 0;
  f->len = (uint32_t)encode(1, data, len, (uint8_t *)f->bytes);
  f->msgs = 1;
  return f;
}

net_frame_t *net_frame_concat(net_frame_t *const *fs, size_t n)
{
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += fs[i]->len;
  if (!n || len > UINT32_MAX) return NULL;
  net_frame_t *f = malloc(sizeof *f + len);
  if (!f) return NULL;
  f->refs = 1;
  f->queued = 0;
  f->len = (uint32_t)len;
  f->msgs = 0;
  f->small = 0;
  for (size_t i = 0, at = 0; i < n; at += fs[i]->len, i++) {
    memcpy(f->bytes + at, fs[i]->bytes, fs[i]->len);
    f->msgs += fs[i]->msgs;
  }
  return f;
}

uint32_t net_frame_msgs(const net_frame_t *f) { return f->msgs; }

size_t net_ws_queued(const net_ws_t *c) { return net__queued(c); }

void net_ws_pause_read(net_ws_t *c)
{
  if ((c->flags & (CF_WS | CF_WS_CLOSING | CF_CLOSED)) == CF_WS) c->flags |= CF_PAUSED;
}

void net_ws_resume_read(net_ws_t *c)
{
  if (!(c->flags & CF_PAUSED)) return;
  c->flags &= (uint16_t)~CF_PAUSED;
  /* the kernel may hold input that no new edge will announce: read it in a later turn */
  if ((c->flags & CF_READING) && !(c->flags & CF_CLOSED) && c->fd >= 0) net__read_later(c);
}

void net_frame_unref(net_frame_t *f)
{
  if (!f || --f->refs) return;
  assert(!f->queued); /* every queue holding it holds a reference too (out.c) */
  if (!f->small || frame_pool.n >= FRAME_POOL_MAX) { free(f); return; }
  memcpy(f->bytes, &frame_pool.head, sizeof f);
  frame_pool.head = f;
  frame_pool.n++;
}

size_t net_frame_bytes(const net_frame_t *f) { return f->len; }

/* Whether a send of add bytes (f: a shared frame, or NULL) to c must not be
 * queued: past c's own cap it is closed (1008); past the server-wide cap
 * (cfg.ws_max_queued_total, the bytes every queue holds) it is shed if it
 * holds NET_SHED_MIN_QUEUED or more: its unsent output is dropped at once
 * (the memory comes back now, not when its peer reads) and it is closed
 * (1008). One that holds less is still served, so the server's queues hold
 * at most the cap plus that much per connection (and one frame more). */
static int over_cap(struct net_conn *c, size_t add, const net_frame_t *f)
{
  net_server_t *s = c->srv;
  size_t q = net__queued(c);
  if (q + add > s->cfg.ws_max_queued_bytes) {
    net_ws_close(c, 1008, "slow consumer: send queue full");
    return 1;
  }
  if (!s->cfg.ws_max_queued_total || q < NET_SHED_MIN_QUEUED ||
      s->queued_mem + net__queued_mem_add(f, add) <= s->cfg.ws_max_queued_total)
    return 0;
  s->ws_shed++;
  net__out_drop(c);
  net_ws_close(c, 1008, "slow consumer: server send queues full");
  return 1;
}

int net_ws_send_text(net_ws_t *c, const char *data, size_t len)
{
  if (c->flags & (CF_WS_CLOSING | CF_CLOSED)) return IMC_E_SHUTDOWN;
  if (over_cap(c, len + 10, NULL)) return IMC_E_BUSY;
  return send_frame(c, 1, data, len);
}

int net_ws_send_frame(net_ws_t *c, net_frame_t *f)
{
  if (c->flags & (CF_WS_CLOSING | CF_CLOSED)) return IMC_E_SHUTDOWN;
  if (over_cap(c, f->len, f)) return IMC_E_BUSY;
  return net__queue_frame(c, f);
}

int net_ws_close(net_ws_t *c, uint16_t code, const char *reason)
{
  if (c->flags & (CF_WS_CLOSING | CF_CLOSED)) return IMC_E_SHUTDOWN;
  char payload[125];
  size_t rl = reason ? strlen(reason) : 0;
  if (rl > 123) rl = 123;
  payload[0] = (char)(code >> 8);
  payload[1] = (char)code;
  if (rl) memcpy(payload + 2, reason, rl);
  net__notify_ws_close(c, code);   /* on_ws_close in the check phase, then the socket closes */
  send_frame(c, 8, payload, 2 + rl);
  return 0;
}

void net_ws_set_data(net_ws_t *c, void *data) { c->data = data; }
void *net_ws_data(const net_ws_t *c) { return c->data; }

void net_ws_set_deadline(net_ws_t *c, uint32_t ms)
{
  if (c->flags & CF_WS_CLOSING) return;
  net__set_deadline(c, ms ? net__now(c->srv) + ms : 0);
}

void net_ws_set_idle(net_ws_t *c, uint32_t ms)
{
  if (c->flags & CF_WS_CLOSING) return; /* the union holds its close's progress (ws_close.c) */
  c->idle_ms = ms;
  net_ws_set_deadline(c, ms);
}

/* The peer sent a message, a ping or a pong: an idle timeout starts over. */
static void activity(struct net_conn *c)
{
  c->flags &= (uint16_t)~CF_FRESH; /* its first message (the login): opened (conn.c) */
  if (c->idle_ms && !(c->flags & CF_WS_CLOSING)) net__set_deadline(c, net__now(c->srv) + c->idle_ms);
}

const char *net_ws_remote(const net_ws_t *c)
{
  static char buf[NET_PEER_MAX];
  return net__peer_name(c, buf, sizeof buf);
}

void net__ws_start(struct net_conn *c, char *rest, size_t len)
{
  c->flags |= CF_WS;
  c->u.ws = NULL;
  c->idle_ms = 0; /* the union's HTTP member (acked) is not an idle timeout */
  c->srv->websockets++;
  net__set_deadline(c, 0);
  if (c->srv->h.on_ws_open) c->srv->h.on_ws_open(c->srv->h.ud, c);
  if (len && !(c->flags & CF_WS_CLOSING)) net__ws_feed(c, rest, len);
}

void net__ws_free(struct net_conn *c)
{
  ws_state_t *w = c->u.ws;
  if (!w) return;
  free(w->part);
  free(w->msg);
  free(w);
  c->u.ws = NULL;
}

static ws_state_t *state(struct net_conn *c)
{
  if (!c->u.ws) c->u.ws = calloc(1, sizeof(ws_state_t));
  return c->u.ws;
}

static void fail(struct net_conn *c, uint16_t code, const char *why) { net_ws_close(c, code, why); }

/* Handle one complete, unmasked frame. */
static void on_frame(struct net_conn *c, int fin, int op, char *p, size_t n)
{
  net_server_t *s = c->srv;
  ws_state_t *w = c->u.ws;
  switch (op) {
  case 0x1: /* text */
    if (w && w->in_msg) { fail(c, 1002, "new message inside a fragmented one"); return; }
    if (fin) {
      if (!imc_utf8_valid((unsigned char *)p, n)) { fail(c, 1007, "text is not valid UTF-8"); return; }
      activity(c);
      if (s->h.on_ws_text) s->h.on_ws_text(s->h.ud, c, p, n);
      return;
    }
    if (!(w = state(c)) || !(w->msg = malloc(n ? n : 1))) { fail(c, 1011, "out of memory"); return; }
    memcpy(w->msg, p, n);
    w->msg_len = n;
    w->in_msg = 1;
    return;
  case 0x0: /* continuation */
    if (!w || !w->in_msg) { fail(c, 1002, "continuation without a message"); return; }
    if (w->msg_len + n > s->cfg.max_ws_frame_bytes) { fail(c, 1009, "message too big"); return; }
    {
      char *m = realloc(w->msg, w->msg_len + n + 1);
      if (!m) { fail(c, 1011, "out of memory"); return; }
      w->msg = m;
      memcpy(w->msg + w->msg_len, p, n);
      w->msg_len += n;
    }
    if (!fin) return;
    w->in_msg = 0;
    if (!imc_utf8_valid((unsigned char *)w->msg, w->msg_len)) { fail(c, 1007, "text is not valid UTF-8"); return; }
    {
      char *m = w->msg;
      size_t ml = w->msg_len;
      w->msg = NULL;
      w->msg_len = 0;
      activity(c);
      if (s->h.on_ws_text) s->h.on_ws_text(s->h.ud, c, m, ml);
      free(m);
    }
    return;
  case 0x2: fail(c, 1003, "binary frames are not supported"); return;
  case 0x8: { /* close: answer with the same code, then close */
    uint16_t code = n >= 2 ? (uint16_t)((unsigned char)p[0] << 8 | (unsigned char)p[1]) : 1000;
    if (n == 1 || (n >= 2 && (code < 1000 || code == 1004 || code == 1005 || code == 1006 || (code > 1014 && code < 3000) || code > 4999))) code = 1002;
    else if (n > 2 && !imc_utf8_valid((const unsigned char *)p + 2, n - 2)) code = 1007; /* RFC 6455 §5.5.1, §8.1: the reason is UTF-8 */
    net_ws_close(c, code, NULL);
    return;
  }
  case 0x9: /* ping → pong, under the send queue's cap as any reply (a peer pinging and never reading is closed, 1008) */
    activity(c);
    if (!over_cap(c, n + NET_WS_HEAD_MAX, NULL)) send_frame(c, 0xA, p, n);
    return;
  case 0xA: activity(c); return;                            /* pong */
  default: fail(c, 1002, "unknown opcode"); return;
  }
}

/* Parse frames from buf. Returns bytes consumed (the rest is an incomplete
 * frame, or input left for after net_ws_resume_read when a message paused
 * the connection: net_ws_pause_read), or SIZE_MAX after closing the
 * connection. */
static size_t parse(struct net_conn *c, char *buf, size_t len)
{
  size_t o = 0;
  uint64_t max = c->srv->cfg.max_ws_frame_bytes;
  while (o < len && !(c->flags & (CF_WS_CLOSING | CF_PAUSED))) {
    net_ws_head_t fh;
    size_t avail = len - o;
    int r = net__ws_head((uint8_t *)buf + o, avail, max, &fh);
    if (r == NET_WS_HEAD_MORE) break;
    if (r != NET_WS_HEAD_OK) {
      uint16_t code;
      const char *why;
      net__ws_refusal(r, &code, &why);
      fail(c, code, why);
      return SIZE_MAX;
    }
    if (avail - fh.head_len < fh.payload_len) break; /* payload_len <= max: a size_t */
    char *p = buf + o + fh.head_len;
    size_t n = (size_t)fh.payload_len;
    net__ws_unmask((uint8_t *)p, n, fh.mask);
    on_frame(c, fh.fin, fh.op, p, n);
    o += fh.head_len + n;
  }
  return (c->flags & CF_WS_CLOSING) ? SIZE_MAX : o;
}

void net__ws_feed(struct net_conn *c, char *data, size_t len)
{
  if (c->flags & CF_WS_CLOSING) return;
  ws_state_t *w = c->u.ws;
  if (w && w->part_len) {
    if (w->part_len + len > w->part_cap) {
      size_t ncap = w->part_len + len;
      char *np = realloc(w->part, ncap);
      if (!np) { fail(c, 1011, "out of memory"); return; }
      w->part = np;
      w->part_cap = ncap;
    }
    memcpy(w->part + w->part_len, data, len);
    w->part_len += len;
    size_t used = parse(c, w->part, w->part_len);
    if (used == SIZE_MAX || !(w = c->u.ws)) return;
    memmove(w->part, w->part + used, w->part_len - used);
    w->part_len -= used;
  } else {
    size_t used = parse(c, data, len);
    if (used == SIZE_MAX) return;
    if (used < len) {
      if (!(w = state(c)) || !(w->part = malloc(len - used))) { fail(c, 1011, "out of memory"); return; }
      memcpy(w->part, data + used, len - used);
      w->part_len = w->part_cap = len - used;
    }
  }
  w = c->u.ws;
  if (w) w->held = w->part_len && (c->flags & CF_PAUSED); /* parsed on resume, before the socket is read (net__ws_feed_held) */
  if (w && !w->part_len && !w->in_msg) net__ws_free(c); /* idle again: hold nothing */
  else if (w && !w->part_len) { free(w->part); w->part = NULL; w->part_cap = 0; }
}

int net__ws_feed_held(struct net_conn *c)
{
  ws_state_t *w = c->u.ws;
  if (!w || !w->held || (c->flags & (CF_PAUSED | CF_WS_CLOSING))) return 0;
  static char none[1];
  net__ws_feed(c, none, 0);
  return 1;
}
