/* out.c — a connection's write queue and the loop turn's write-out.
 *
 * Output queued to a connection is listed once (srv->flush_http for HTTP,
 * srv->flush for WebSockets) and written with one write per connection
 * (send, or sendmsg for several buffers) in the loop's check phase
 * (net__on_check), HTTP replies first, then the WebSockets in list order
 * while the turn's write budget lasts (cfg.writes_per_turn,
 * cfg.write_turn_us: net_int.h); the connections left over stay listed,
 * ahead of later ones, unexamined (a turn's cost follows its writes, not
 * the backlog), and an idle handle keeps the next poll from blocking until
 * they are written. A listed connection that closes is freed only once the
 * write-out reaches it and takes it off its list. Output
 * the kernel does not take at once stays queued with EPOLLOUT armed; its
 * event lists the connection again (the write itself is in the check
 * phase, under the same budget). net_server_hold_output leaves WebSocket
 * output listed for one more turn. Drained queues and chunks go back to
 * per-server pools. Close notices (on_ws_close) run first in the check
 * phase, oldest first, while the turn's notice budget lasts
 * (cfg.notices_per_turn, cfg.notice_turn_us); a WebSocket whose notice
 * waits is written only after it (the application may queue more in the
 * notice) and, closed meanwhile, freed only after it. Loop thread only. */
#include "net/net_int.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NET_IOV_MAX 64
/* A write that drains a connection's queue returns its net_out and the
 * chunks that pointed at shared frames to per-server lists instead of to
 * malloc; the next output of any connection takes them back (a delivered
 * message costs about two writes, each of which allocated and freed both).
 * At most NET_POOL_MAX net_outs are kept (one per connection with output:
 * a few KiB). */
#define NET_POOL_MAX 256
/* Chunks (a small inline one per reply, one per shared frame queued) are
 * kept up to NET_CHUNK_POOL_MAX of each kind: a message queues about two,
 * and a saturated server has commits of 10,000-16,000 messages' output
 * queued at once; at 256 about one chunk per message came from malloc and
 * went back to it (msg_loop_count.sh, wave 29). Kept after such a burst:
 * at most 4 MiB of small chunks (256 bytes each) and 512 KiB of frame
 * chunks (as ws.c's FRAME_POOL_MAX keeps the frames themselves). */
#define NET_CHUNK_POOL_MAX 16384

/* Append c to the HTTP or the WebSocket list; 0, or -1 out of memory. */
static int list_append(net_server_t *s, int ws, struct net_conn *c)
{
  struct net_conn ***v = ws ? &s->flush : &s->flush_http;
  size_t *len = ws ? &s->flush_len : &s->flush_http_len, *cap = ws ? &s->flush_cap : &s->flush_http_cap;
  if (*len == *cap) {
    size_t ncap = *cap ? *cap * 2 : 256;
    struct net_conn **n = realloc(*v, ncap * sizeof *n);
    if (!n) return -1;
    *v = n;
    *cap = ncap;
  }
  (*v)[(*len)++] = c;
  return 0;
}

void net__list_flush(struct net_conn *c)
{
  if (c->flags & (CF_FLUSH_LISTED | CF_CLOSED)) return; /* a closed one's output is freed with it */
  /* out of memory: written when the socket next reports writable, or at the next enqueue */
  if (!list_append(c->srv, (c->flags & CF_WS) != 0, c)) c->flags |= CF_FLUSH_LISTED;
}

/* A listed connection found closed leaves the list; it is freed at the end
 * of the turn, or after its close notice if that still waits. */
static void unlist_closed(struct net_conn *c)
{
  c->flags &= (uint16_t)~CF_FLUSH_LISTED;
  if (!(c->flags & CF_WS_NOTIFY)) net__free_later(c);
}

static void chunk_free(net_server_t *s, wchunk_t *w)
{
  if (!w->frame) {
    if (!w->small || s->small_pooled >= NET_CHUNK_POOL_MAX) { free(w); return; }
    w->next = s->small_pool;
    s->small_pool = w;
    s->small_pooled++;
    return;
  }
  net_frame_unref(w->frame);
  if (s->ref_pooled >= NET_CHUNK_POOL_MAX) { free(w); return; }
  w->next = s->ref_pool;
  s->ref_pool = w;
  s->ref_pooled++;
}

void net__chunk_drop(net_server_t *s, wchunk_t *w) { chunk_free(s, w); }

/* The bytes a queued chunk holds: counted once queued (enqueue), given back
 * when it leaves its queue, written or dropped (a shared frame's once no
 * queue holds it). */
static void mem_add(net_server_t *s, const wchunk_t *w)
{
  if (w->frame && w->frame->queued++) return;
  s->queued_mem += w->frame ? w->frame->len : w->len;
  if (s->queued_mem > s->queued_mem_max) s->queued_mem_max = s->queued_mem;
}

static void chunk_done(net_server_t *s, wchunk_t *w)
{
  if (!w->frame || !--w->frame->queued) {
    uint32_t n = w->frame ? w->frame->len : w->len;
    assert(s->queued_mem >= n);
    s->queued_mem -= n;
  }
  chunk_free(s, w);
}

uint64_t net__queued_mem_add(const net_frame_t *f, size_t len) { return f && f->queued ? 0 : (uint64_t)len; }

/* Drop c's unsent output but a chunk already partly written (the peer has
 * part of that frame: the rest must follow, or the stream breaks). */
void net__out_drop(struct net_conn *c)
{
  net_out_t *o = c->out;
  if (!o) return;
  if (!o->off) { net__out_free(c); return; }
  wchunk_t *keep = o->head;
  for (wchunk_t *w = keep->next, *n; w; w = n) {
    n = w->next;
    o->bytes -= w->len;
    chunk_done(c->srv, w);
  }
  keep->next = NULL;
  o->tail = keep;
}

void net__out_free(struct net_conn *c)
{
  net_server_t *s = c->srv;
  net_out_t *o = c->out;
  if (!o) return;
  for (wchunk_t *w = o->head, *n; w; w = n) { n = w->next; chunk_done(s, w); }
  c->out = NULL;
  if (s->out_pooled >= NET_POOL_MAX) { free(o); return; }
  o->head = (wchunk_t *)s->out_pool; /* the pool's link */
  s->out_pool = o;
  s->out_pooled++;
}

/* Free what the pools hold (the server goes away). */
void net__pools_drain(net_server_t *s)
{
  while (s->out_pool) { net_out_t *o = s->out_pool; s->out_pool = (net_out_t *)o->head; free(o); }
  while (s->ref_pool) { wchunk_t *w = s->ref_pool; s->ref_pool = w->next; free(w); }
  while (s->small_pool) { wchunk_t *w = s->small_pool; s->small_pool = w->next; free(w); }
  s->out_pooled = s->ref_pooled = s->small_pooled = 0;
}

uint32_t net__queued(const struct net_conn *c) { return c->out ? c->out->bytes : 0; }

/* Write what is queued until done or the kernel's buffer is full. */
void net__flush_one(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (c->flags & CF_CLOSED) { if (c->flags & CF_FLUSH_LISTED) unlist_closed(c); return; }
  c->flags &= (uint16_t)~CF_FLUSH_LISTED;
  net_out_t *o = c->out;
  if (!o || (c->flags & CF_FAKE)) {
    net__out_free(c);
    if ((c->flags & CF_CLOSE_AFTER_WRITE) && !net__linger_start(c)) net__really_close(c);
    return;
  }
  for (;;) {
    struct iovec iov[NET_IOV_MAX];
    int n = 0;
    for (wchunk_t *w = o->head; w && n < NET_IOV_MAX; w = w->next, n++) {
      char *base = w->frame ? w->frame->bytes : w->data;
      size_t skip = n == 0 ? o->off : 0;
      iov[n].iov_base = base + skip;
      iov[n].iov_len = w->len - skip;
    }
    ssize_t k;
    if (n == 1) { /* one buffer (most writes below full load): send() skips sendmsg's msghdr and iovec copies */
      k = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
      struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
      k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { c->flags |= CF_WANT_OUT; net__update_events(c); return; }
      net__dead_peer(c);
      return;
    }
    s->bytes_out += (uint64_t)k;
    o->bytes -= (uint32_t)k;
    int ws = (c->flags & CF_WS) != 0;
    if (ws && k > 0) s->ws_writes++;
    while (k > 0) {
      wchunk_t *w = o->head;
      size_t rest = w->len - o->off;
      if ((size_t)k < rest) { o->off += (uint32_t)k; break; }
      if (ws) s->ws_frames += w->frame ? w->frame->msgs : 1;
      k -= (ssize_t)rest;
      o->head = w->next;
      o->off = 0;
      chunk_done(s, w);
    }
    if (!o->head) break;
  }
  net__out_free(c);
  if (!(c->flags & CF_WS)) net__http_written(c);
  c->flags &= (uint16_t)~CF_WANT_OUT;
  /* close() leaves the epoll set; an HTTP connection after its reply may linger instead (linger.c) */
  if ((c->flags & CF_CLOSE_AFTER_WRITE) && !net__linger_start(c)) { net__really_close(c); return; }
  net__update_events(c);
}

void net_server_hold_output(net_server_t *s) { s->hold_output = 1; }

static void on_out_idle(uv_idle_t *h) { (void)h; }

void net__out_pending(net_server_t *s)
{
  if (s->loop) uv_idle_start(&s->out_idle, on_out_idle); /* stopped by the check phase once nothing is left */
}

/* Whether this turn's write-out leaves open WebSockets' output listed for
 * the next turn (net_server_hold_output), at most NET_HOLD_MAX_MS since
 * the first turn held. */
static int hold_this_turn(net_server_t *s)
{
  int hold = s->hold_output;
  s->hold_output = 0;
  uint64_t now = net__now(s);
  if (hold && !s->held_since_ms) s->held_since_ms = now ? now : 1;
  else if (hold && now - s->held_since_ms >= NET_HOLD_MAX_MS) hold = 0;
  if (!hold) s->held_since_ms = 0;
  return hold;
}

/* This turn's write-out has room for one more connection's write
 * (cfg.writes_per_turn, cfg.write_turn_us from t0_ns; the first write of a
 * turn always goes). */
static int write_room(const net_server_t *s, unsigned writes, uint64_t t0_ns)
{
  if (!writes) return 1;
  if (writes >= s->cfg.writes_per_turn) return 0;
  return uv_hrtime() - t0_ns < (uint64_t)s->cfg.write_turn_us * 1000u;
}

/* Deliver the close notices listed (oldest first) while the turn's notice
 * budget lasts (*done so far this turn, from t0_ns; the turn's first always
 * runs); the rest move to the front of the list, in order. Each notice's
 * connection closes after it (its queued output is written first). */
static void deliver_notices(net_server_t *s, unsigned *done, uint64_t t0_ns)
{
  size_t n = s->notify_len, i = 0;
  for (; i < n; i++) {
    if (*done && (*done >= s->cfg.notices_per_turn || uv_hrtime() - t0_ns >= (uint64_t)s->cfg.notice_turn_us * 1000u)) break;
    struct net_conn *c = s->notify[i];
    c->flags &= (uint16_t)~CF_WS_NOTIFY;
    if (s->h.on_ws_close) s->h.on_ws_close(s->h.ud, c, c->close_code);
    c->data = NULL;
    if (!(c->flags & CF_CLOSED)) net__close(c); /* lists it again: its output, then the close */
    else if (!(c->flags & CF_FLUSH_LISTED)) net__free_later(c); /* closed meanwhile: freed at the end of this turn */
    /* else freed once the write-out takes it off its list */
    (*done)++;
  }
  /* on_ws_close may queue notices (appended after n): they follow the kept ones */
  s->notice_deferred += n - i;
  if (!i) return; /* nothing delivered (the list may be empty and unallocated) */
  memmove(s->notify, s->notify + i, (s->notify_len - i) * sizeof *s->notify);
  s->notify_len -= i;
}

/* Write the HTTP replies listed, in order, all of them: the write budget
 * does not stop them (REST is what a storm must not starve; its input is
 * read whenever the kernel reports it, its rate capped per app), but they
 * count against it, so the WebSockets' write-out after them has less room.
 * One that became a WebSocket after it was listed (its 101 is queued
 * before the upgrade) moves to the WebSocket list: it is written after
 * the HTTP replies, as every WebSocket's output is. */
static void write_http(net_server_t *s, unsigned *writes)
{
  size_t i = 0;
  for (; i < s->flush_http_len; i++) { /* net__flush_one may append */
    struct net_conn *c = s->flush_http[i];
    if (!(c->flags & CF_FLUSH_LISTED)) continue; /* written meanwhile (EPOLLOUT without room to list it) */
    if (c->flags & CF_CLOSED) { unlist_closed(c); continue; }
    if ((c->flags & CF_WS) && !list_append(s, 1, c)) continue;
    net__flush_one(c);
    (*writes)++;
  }
  if (!i) { s->write_deferred += s->flush_http_len; return; } /* the list may be empty and unallocated */
  s->write_deferred += s->flush_http_len - i;
  memmove(s->flush_http, s->flush_http + i, (s->flush_http_len - i) * sizeof *s->flush_http);
  s->flush_http_len -= i;
}

/* Write the WebSockets listed (srv->flush[flush_head..flush_len)), in
 * order, while the turn's budget lasts. A
 * held turn keeps each open one listed (closing ones are written). Once
 * the budget is spent the rest stay listed as they are, unexamined: a
 * turn's cost follows its writes, not the list's length (a commit's
 * completions list thousands, written a few hundred per turn). One found
 * closed leaves the list (freed then: net__really_close leaves a listed
 * one to this); one whose close notice waits leaves it too (the notice's
 * net__close lists it again, so its output follows its notice). Returns
 * the number left by the budget. */
static size_t write_ws(net_server_t *s, int hold, unsigned *writes, uint64_t t0)
{
  size_t kept = s->flush_head, i = s->flush_head;
  for (; i < s->flush_len; i++) { /* net__flush_one may append (never moves what is listed) */
    struct net_conn *c = s->flush[i];
    if (!(c->flags & CF_FLUSH_LISTED)) continue; /* written meanwhile (EPOLLOUT without room to list it) */
    if (c->flags & CF_CLOSED) { unlist_closed(c); continue; }
    if (c->flags & CF_WS_NOTIFY) { c->flags &= (uint16_t)~CF_FLUSH_LISTED; continue; } /* after its notice */
    int may_hold = !(c->flags & (CF_CLOSE_AFTER_WRITE | CF_WS_CLOSING));
    if (hold && may_hold) { s->flush[kept++] = c; continue; }
    if (!write_room(s, *writes, t0)) break;
    net__flush_one(c);
    (*writes)++;
  }
  size_t left = s->flush_len - i;
  s->write_deferred += left;
  if (kept == s->flush_head) { /* none held: the ones examined just leave the front */
    s->flush_head = i;
  } else { /* the held ones, then the rest */
    if (left && kept < i) memmove(s->flush + kept, s->flush + i, left * sizeof *s->flush);
    s->flush_len = kept + left;
  }
  /* the free front is taken back once it is at least as long as what is
   * listed: a move copies no more entries than left the list since the
   * last one */
  if (s->flush_head == s->flush_len) {
    s->flush_head = s->flush_len = 0;
  } else if (s->flush_head >= s->flush_len - s->flush_head) {
    memmove(s->flush, s->flush + s->flush_head, (s->flush_len - s->flush_head) * sizeof *s->flush);
    s->flush_len -= s->flush_head;
    s->flush_head = 0;
  }
  return left;
}

/* The busy time of the turn that ends here: since the previous check phase
 * began, less what the loop spent blocked in its poll meanwhile. */
static void turn_busy(net_server_t *s, uv_loop_t *loop, uint64_t now)
{
  uint64_t idle = uv_metrics_idle_time(loop);
  if (s->turn_at_ns && now > s->turn_at_ns) {
    uint64_t wall = now - s->turn_at_ns, blocked = idle - s->turn_idle_ns;
    uint64_t busy = wall > blocked ? wall - blocked : 0;
    imc_hist_add(&s->turn_busy, busy);
    s->turns_over_2ms += busy > 2000000u;
    s->turns_over_5ms += busy > 5000000u;
    imc_turnlog_turn_end(now, busy, blocked);
  }
  s->turn_at_ns = now;
  s->turn_idle_ns = idle;
}

void net__on_check(uv_check_t *h)
{
  net_server_t *s = h->data;
  if (h->loop) turn_busy(s, h->loop, uv_hrtime()); /* a socketless server (conn_fuzz.c) has no loop */
  int hold = hold_this_turn(s);
  unsigned writes = 0, notices = 0;
  size_t left = 0;            /* connections left listed by the budget */
  uint64_t t0 = uv_hrtime();
  size_t waiting;             /* notices the budget left for later turns */
  do {
    /* close notices first: the application may queue more output in them */
    int tp = imc_turnlog_enter(IMC_TP_NOTICES);
    deliver_notices(s, &notices, t0);
    waiting = s->notify_len;
    /* HTTP replies first: a REST client does not wait behind the turn's
     * WebSocket writes (a login storm queues thousands of them); then the
     * WebSockets. What the budget leaves stays listed, in order, ahead of
     * what later turns list, so it is written first next turn. */
    imc_turnlog_enter(IMC_TP_WRITE_HTTP);
    write_http(s, &writes);
    imc_turnlog_enter(IMC_TP_WRITE_WS);
    left = s->flush_http_len + write_ws(s, hold, &writes, t0);
    imc_turnlog_leave(tp);
  } while (s->notify_len > waiting); /* a failed write queued a notice: its turn if the budget lasts */
  /* REST requests that arrived during this turn after its input passes
   * (while the writer's completions ran, or this write-out): read and
   * answered now, instead of waiting for the whole next turn (a request
   * then waits for at most about one turn: docs/decisions/loop-turns.md,
   * wave 14). What else the pass meets is read next turn, first. A second
   * pass at the start of the check phase was measured worse, not kept. */
  if (s->loop) {
    size_t ws_listed = s->flush_len;
    net__take_http(s);
    int tp = imc_turnlog_enter(IMC_TP_WRITE_HTTP);
    write_http(s, &writes);
    imc_turnlog_leave(tp);
    left += s->flush_http_len + (s->flush_len - ws_listed); /* WebSocket output the pass queued goes next turn */
  }
  while (s->dead) { /* a closed connection whose notice waits, or still listed, is not here yet */
    struct net_conn *c = s->dead;
    s->dead = c->tw_next;
    net__conn_free(c);
  }
  /* output or notices left by the budgets go next turn: the poll must not block */
  if (s->loop && (left || s->notify_len)) uv_idle_start(&s->out_idle, on_out_idle);
  else if (s->loop) uv_idle_stop(&s->out_idle);
  net__turn_end(s); /* a loop turn ends here */
}

static int enqueue(struct net_conn *c, wchunk_t *w)
{
  net_server_t *s = c->srv;
  if (!c->out) {
    if (s->out_pool) {
      c->out = s->out_pool;
      s->out_pool = (net_out_t *)c->out->head;
      s->out_pooled--;
      memset(c->out, 0, sizeof *c->out);
    } else if (!(c->out = calloc(1, sizeof *c->out))) {
      chunk_free(s, w);
      return IMC_E_NOMEM;
    }
  }
  net_out_t *o = c->out;
  w->next = NULL;
  if (o->tail) o->tail->next = w; else o->head = w;
  o->tail = w;
  o->bytes += (uint32_t)w->len;
  mem_add(s, w);
  if (!(c->flags & CF_WANT_OUT)) net__list_flush(c); /* else EPOLLOUT writes it */
  return 0;
}

wchunk_t *net__chunk_new(net_server_t *s, size_t cap)
{
  wchunk_t *w;
  if (cap <= NET_SMALL_CHUNK && s->small_pool) {
    w = s->small_pool;
    s->small_pool = w->next;
    s->small_pooled--;
    return w;
  }
  if (cap > UINT32_MAX) return NULL;
  int small = cap <= NET_SMALL_CHUNK;
  if (!(w = malloc(sizeof *w + (small ? NET_SMALL_CHUNK : cap)))) return NULL;
  w->frame = NULL;
  w->small = (uint32_t)small;
  return w;
}

int net__queue_chunk(struct net_conn *c, wchunk_t *w, size_t len)
{
  w->len = (uint32_t)len;
  return enqueue(c, w);
}

int net__queue(struct net_conn *c, const void *data, size_t len)
{
  wchunk_t *w = net__chunk_new(c->srv, len);
  if (!w) return IMC_E_NOMEM;
  memcpy(w->data, data, len);
  return net__queue_chunk(c, w, len);
}

int net__queue_frame(struct net_conn *c, net_frame_t *f)
{
  net_server_t *s = c->srv;
  wchunk_t *w = s->ref_pool;
  if (w) { s->ref_pool = w->next; s->ref_pooled--; }
  else if (!(w = malloc(sizeof *w))) return IMC_E_NOMEM;
  f->refs++;
  w->frame = f;
  w->len = f->len;
  return enqueue(c, w);
}

void net__close(struct net_conn *c)
{
  if (c->flags & CF_CLOSED) return;
  c->flags |= CF_CLOSE_AFTER_WRITE;
  c->flags &= (uint16_t)~CF_READING; /* on_readable ignores input from now on */
  /* The epoll registration changes only if the close has to wait for
   * output (flush_one's EAGAIN path updates it); a flush that completes in
   * this turn closes the socket, which leaves the set: no epoll_ctl. */
  if (!(c->flags & CF_WANT_OUT)) net__list_flush(c);
  else net__update_events(c);
}
