/* conn.c — listener, connections, the write queue (flushed once per loop
 * turn in the check phase, or a turn later when net_server_hold_output
 * says more output for the same connections follows), the timer wheel, and
 * shutdown.
 *
 * Connections carry no libuv handle: a uv_tcp_t is 248 bytes, four times a
 * whole connection here. The server keeps its own epoll set holding the
 * listening socket and every connection (level-triggered; data.ptr = the
 * connection, or the server for the listener), and one uv_poll_t tells the
 * loop when that set has events. Reads go into one shared buffer; writes go
 * straight to the socket with sendmsg, and only output the kernel does not
 * take at once stays queued (with EPOLLOUT armed until it drains). A closed
 * connection's socket is closed at once and its struct freed at the end of
 * the loop turn, after its on_ws_close (Redis's freeClientAsync): nothing on
 * the stack can still point to it. Linux (epoll, accept4). Loop thread only. */
#include "net/net_int.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/log.h"
#include "util/turnlog.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The listening socket stays level-triggered: up to this many accepts each
 * time the loop's epoll wait reports it, while the turn can still read an
 * opening connection (the turn budgets: net_int.h). */
#define NET_ACCEPT_BATCH 32

_Static_assert(sizeof(struct net_conn) <= 64, "a connection is one 64-byte struct: memory per idle connection is a product metric");

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
  c->ws_close_grace_ms = NET_WS_CLOSE_GRACE_MS;
  c->request_timeout_ms = 10000;
  c->keepalive_idle_ms = 60000;
  c->read_turn_us = NET_READ_TURN_US;
  c->writes_per_turn = NET_WRITES_PER_TURN;
  c->write_turn_us = NET_WRITE_TURN_US;
  c->notices_per_turn = NET_NOTICES_PER_TURN;
  c->notice_turn_us = NET_NOTICE_TURN_US;
  c->fd_table = NET_FD_TABLE;
  c->loop_slice_us = NET_LOOP_SLICE_US;
  c->wheel_tick_ms = NET_WHEEL_TICK_MS;
}

uint64_t net__now(net_server_t *s) { return s->loop ? uv_now(s->loop) : 0; }

/* ---- timer wheel -------------------------------------------------------------- */
/* Tick n covers loop times [t0 + (n-1)·TICK, t0 + n·TICK); tick 0 means "none". */
uint32_t net__tick_now(const net_server_t *s)
{
  uint64_t now = s->loop ? uv_now(s->loop) : 0;
  return (uint32_t)((now - s->t0_ms) / s->cfg.wheel_tick_ms) + 1;
}

static void wheel_unlink(struct net_conn *c)
{
  if (!c->deadline_tick) return;
  if (c->tw_prev) c->tw_prev->tw_next = c->tw_next;
  else c->srv->wheel[c->deadline_tick % NET_WHEEL_SLOTS] = c->tw_next;
  if (c->tw_next) c->tw_next->tw_prev = c->tw_prev;
  c->tw_next = c->tw_prev = NULL;
  c->deadline_tick = 0;
}

void net__set_deadline(struct net_conn *c, uint64_t at_ms)
{
  if (c == c->srv->dl_watch) c->srv->dl_touched = 1; /* net__read_late */
  wheel_unlink(c);
  if (!at_ms || (c->flags & (CF_FAKE | CF_CLOSED))) return;
  net_server_t *s = c->srv;
  /* the first tick whose start is at or after at_ms, never one already processed */
  uint64_t rel = at_ms > s->t0_ms ? at_ms - s->t0_ms : 0;
  uint32_t t = (uint32_t)((rel + s->cfg.wheel_tick_ms - 1) / s->cfg.wheel_tick_ms) + 1;
  if (t <= s->wheel_tick) t = s->wheel_tick + 1;
  c->deadline_tick = t;
  struct net_conn **slot = &s->wheel[t % NET_WHEEL_SLOTS];
  c->tw_prev = NULL;
  c->tw_next = *slot;
  if (*slot) (*slot)->tw_prev = c;
  *slot = c;
}

static void fire(struct net_conn *c)
{
  if (c->flags & CF_CLOSED) return;
  if (c->srv->closing && c->fd >= 0) { /* the stop's grace is over (net_server_close): reset, the kernel keeps no output */
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (net__queued(c)) c->srv->stop_resets++;
  }
  if (c->flags & CF_WS) {
    if (c->flags & CF_WS_CLOSING) { /* the close's grace is over: drop what the peer did not take */
      if (net__ws_close_due(c) || (c->flags & CF_CLOSED)) return; /* it took some during the period (decision 83) */
      if (net__queued(c)) c->srv->ws_close_timeouts++;
      net__really_close(c);
      return;
    }
    /* a frame that arrived while the loop stalled past the deadline is read first (decisions 71, 77): under an
     * idle timeout (net_ws_set_idle) one that is activity starts the period over (ws.c activity) and nothing
     * fires; under an absolute deadline (a login's) what the frame started is the application's to weigh in
     * on_ws_deadline, unless it set the deadline again or closed */
    if (net__read_late(c)) return;
    if (c->srv->h.on_ws_deadline) c->srv->h.on_ws_deadline(c->srv->h.ud, c);
  } else if (net__lingering(c)) {
    net__linger_due(c); /* NET_LINGER_MS passed: what waits is read first (decision 83) */
  } else {
    net__http_deadline(c);
  }
}

static void accept_resume(net_server_t *s);

static void on_wheel(uv_timer_t *t)
{
  net_server_t *s = t->data;
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  if (s->accept_paused) accept_resume(s);
  uint32_t to = net__tick_now(s), from = s->wheel_tick + 1;
  if (to - from >= NET_WHEEL_SLOTS) from = to - NET_WHEEL_SLOTS + 1; /* every slot once */
  for (uint32_t tick = from; tick <= to && tick >= from; tick++) {
    struct net_conn **slot = &s->wheel[tick % NET_WHEEL_SLOTS];
    /* fire() may close or re-arm any connection, this slot's included:
     * rescan from the head after each one (later rounds are skipped) */
    for (struct net_conn *c = *slot; c;) {
      if (c->deadline_tick > to) { c = c->tw_next; continue; }
      wheel_unlink(c);
      fire(c);
      c = *slot;
    }
  }
  s->wheel_tick = to;
  imc_turnlog_leave(tp);
}

/* ---- descriptors and epoll ------------------------------------------------------ */
/* Register c for the events want (CF_EV_IN, CF_EV_OUT). EPOLL_CTL_MOD polls
 * the socket again: input that arrived while reading was stopped is
 * reported now (an edge missed meanwhile is not lost). */
static void epoll_mod(struct net_conn *c, uint16_t want)
{
  struct epoll_event ev = { .events = EPOLLET | EPOLLRDHUP | (want & CF_EV_IN ? EPOLLIN : 0) | (want & CF_EV_OUT ? EPOLLOUT : 0),
                            .data.ptr = c };
  if (epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
    c->flags = (uint16_t)((c->flags & ~(CF_EV_IN | CF_EV_OUT)) | want);
}

void net__update_events(struct net_conn *c)
{
  if (c->fd < 0 || (c->flags & CF_CLOSED)) return;
  uint16_t want = (uint16_t)(((c->flags & CF_READING) ? CF_EV_IN : 0) | ((c->flags & CF_WANT_OUT) ? CF_EV_OUT : 0));
  if ((c->flags & (CF_EV_IN | CF_EV_OUT)) == want) return;
  epoll_mod(c, want);
}

void net__resume_read(struct net_conn *c) { c->flags |= CF_READING; net__update_events(c); }
void net__read_stop(struct net_conn *c) { c->flags &= (uint16_t)~CF_READING; net__update_events(c); }

static int by_fd_put(net_server_t *s, int fd, struct net_conn *c)
{
  if ((size_t)fd >= s->by_fd_cap) {
    size_t ncap = s->by_fd_cap ? s->by_fd_cap : 1024;
    while (ncap <= (size_t)fd) ncap *= 2;
    struct net_conn **n = realloc(s->by_fd, ncap * sizeof *n);
    if (!n) return IMC_E_NOMEM;
    memset(n + s->by_fd_cap, 0, (ncap - s->by_fd_cap) * sizeof *n);
    s->by_fd = n;
    s->by_fd_cap = ncap;
  }
  s->by_fd[fd] = c;
  return 0;
}

const char *net__peer_name(const struct net_conn *c, char *buf, size_t cap)
{
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  char ip[46];
  if (c->flags & CF_FAKE) { snprintf(buf, cap, "fuzz"); return buf; }
  if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&sa, &len)) { snprintf(buf, cap, "?"); return buf; }
  if (sa.ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
    snprintf(buf, cap, "%s:%d", ip, ntohs(((struct sockaddr_in *)&sa)->sin_port));
  } else if (sa.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
    snprintf(buf, cap, "[%s]:%d", ip, ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
  } else {
    snprintf(buf, cap, "?");
  }
  return buf;
}

/* ---- closing (the write queue and the turn's write-out: out.c) ------------------- */
/* Close the socket now; the struct is freed at the end of the loop turn. */
void net__really_close(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (c->flags & CF_CLOSED) return;
  wheel_unlink(c);
  c->flags |= CF_CLOSED;
  if (c->flags & CF_WS) { s->websockets--; if (c->flags & CF_WS_CLOSING) s->ws_closing--; }
  else if (net__lingering(c)) s->lingering--;
  else net__http_orphan(c);
  if (c == s->socketless) s->socketless = NULL;
  if (c->flags & CF_AGAIN) { /* rare (a deadline, a kick, shutdown): the list holds no freed connection */
    for (size_t i = 0; i < s->again_len; i++)
      if (s->again[i] == c) s->again[i] = NULL;
    c->flags &= (uint16_t)~CF_AGAIN;
  }
  if (c->fd >= 0) {
    s->by_fd[c->fd] = NULL;
    close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
  }
  s->nconns--;
  /* one whose close notice waits joins after it, one still listed for the
   * write-out once the write-out reaches it (out.c) */
  if (!(c->flags & (CF_WS_NOTIFY | CF_FLUSH_LISTED))) net__free_later(c);
}

void net__free_later(struct net_conn *c)
{
  c->tw_next = c->srv->dead;
  c->srv->dead = c;
}

void net__conn_free(struct net_conn *c)
{
  net_server_t *s = c->srv;
  net__out_free(c);
  if (c->flags & CF_WS) net__ws_free(c);
  else if (!net__lingering(c)) net__http_free(c);
  free(c);
  s->open_handles--; /* while closing, finish_close polls for this to reach zero */
}

void net__dead_peer(struct net_conn *c)
{
  if ((c->flags & CF_WS) && !(c->flags & CF_WS_CLOSING)) net__notify_ws_close(c, 1006);
  net__really_close(c);
}

void net__notify_ws_close(struct net_conn *c, int code)
{
  net_server_t *s = c->srv;
  if (c->flags & CF_WS_NOTIFY) return;          /* already queued */
  if ((c->flags & CF_WS_CLOSING) && c->close_code) return; /* already delivered */
  if (!(c->flags & (CF_WS_CLOSING | CF_CLOSED))) s->ws_closing++; /* out of the cap's count from now (fdlimit.c) */
  c->flags |= CF_WS_CLOSING | CF_WS_NOTIFY;
  c->close_code = (uint16_t)code;
  if (s->notify_len == s->notify_cap) {
    size_t ncap = s->notify_cap ? s->notify_cap * 2 : 64;
    struct net_conn **n = realloc(s->notify, ncap * sizeof *n);
    if (!n) { c->flags &= (uint16_t)~CF_WS_NOTIFY; return; }
    s->notify = n;
    s->notify_cap = ncap;
  }
  s->notify[s->notify_len++] = c;
  /* torn down by then whatever its peer does (fire; a dead peer's closes
   * now). Armed only with the notice queued: fire frees a connection whose
   * notice is not pending, and the application must hear of every close. */
  net__set_deadline(c, net__now(s) + net__ws_grace_ms(s));
  net__ws_close_start(c);
}

/* ---- input ------------------------------------------------------------------------- */
static void on_again(uv_idle_t *h);

/* Queue c to read in a later turn (at the end of srv->again). */
static void again_push(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (c->flags & CF_AGAIN) return;
  if (s->again_len == s->again_cap) {
    size_t ncap = s->again_cap ? s->again_cap * 2 : 256;
    struct net_conn **n = realloc(s->again, ncap * sizeof *n);
    if (!n) { net__dead_peer(c); return; } /* its input would wait for an edge that may never come */
    s->again = n;
    s->again_cap = ncap;
  }
  c->flags |= CF_AGAIN;
  s->again[s->again_len++] = c;
  if (s->again_len == 1) uv_idle_start(&s->again_idle, on_again);
}

void net__read_later(struct net_conn *c) { again_push(c); }

/* One read of a connection that is reading. 1 if it filled the buffer (more
 * input may be waiting: no new edge will say so). */
static int read_once(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (imc_turnlog_on()) s->read_at_ns = imc_turnlog_now(); /* the turn log's request records (http.c) */
  ssize_t n = recv(c->fd, s->rbuf, NET_READ_BUF, 0);
  if (n < 0) {
    if (errno == EINTR) return 1;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    net__dead_peer(c);
    return 0;
  }
  if (n == 0) { /* the peer shut down its sending side */
    if (c->flags & CF_WS) { if (!(c->flags & CF_WS_CLOSING)) net__notify_ws_close(c, 1006); net__close(c); }
    else if (net__lingering(c)) net__really_close(c); /* the client closed first: nothing is left unread */
    else net__http_eof(c); /* a half-close: the replies still go out */
    return 0;
  }
  s->bytes_in += (uint64_t)n;
  /* a lingering connection is read on to EAGAIN or its EOF (a later turn):
   * a FIN that came with these bytes raises no edge of its own */
  if (c->flags & CF_WS) net__ws_feed(c, s->rbuf, (size_t)n);
  else if (net__lingering(c)) { net__linger_discard(c, (size_t)n); return 1; }
  else net__http_feed(c, s->rbuf, (size_t)n);
  return n == NET_READ_BUF;
}

/* Whether c's input waits for a later turn: the turn's budget for it is
 * spent (net_int.h). A keep-alive HTTP client never waits. */
static int must_wait(const net_server_t *s, const struct net_conn *c)
{
  if (!(c->flags & (CF_FRESH | CF_WS))) return 0;
  if (s->http_only) return 1; /* the check phase's pass (net__take_http) */
  if ((c->flags & CF_FRESH) && s->fresh_left <= 0) return 1;
  return s->read_ns >= (uint64_t)s->cfg.read_turn_us * 1000u;
}

static void count_wait(net_server_t *s, const struct net_conn *c)
{
  if (c->flags & CF_FRESH) s->fresh_deferred++;
  else s->read_deferred++;
}

/* Read c now, under the turn's budget for it (counted whatever it costs),
 * unless it is a logged-in WebSocket the admission pauses (on_ws_read). */
static void read_now(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if ((c->flags & (CF_WS | CF_WS_CLOSING)) == CF_WS &&
      ((c->flags & CF_PAUSED) || (s->h.on_ws_read && s->h.on_ws_read(s->h.ud, c)))) {
    c->flags |= CF_PAUSED;
    if (c->flags & CF_PEER_GONE) net__dead_peer(c); /* its FIN came with the input it is paused on (on_readable) */
    return;
  }
  int timed = (c->flags & (CF_FRESH | CF_WS)) != 0;
  if (c->flags & CF_FRESH) s->fresh_left--;
  int tp = imc_turnlog_enter((c->flags & CF_FRESH) ? IMC_TP_READ_FRESH : (c->flags & CF_WS) ? IMC_TP_READ_WS : IMC_TP_READ_HTTP);
  uint64_t t0 = timed ? uv_hrtime() : 0;
  /* input a message paused it on (net_ws_pause_read) goes first; paused again: the socket waits */
  int more = (c->flags & CF_WS) && net__ws_feed_held(c) && (c->flags & (CF_PAUSED | CF_CLOSED)) ? 0 : read_once(c);
  if (timed) s->read_ns += uv_hrtime() - t0;
  imc_turnlog_leave(tp);
  /* a WebSocket whose FIN came with this input: read on to the end of it in a later turn (no new edge will say so) */
  if ((c->flags & (CF_WS | CF_PEER_GONE)) == (CF_WS | CF_PEER_GONE)) more = 1;
  if (more && (c->flags & CF_READING) && !(c->flags & CF_CLOSED)) again_push(c);
}

int net__read_waiting(struct net_conn *c)
{
  int n = 0;
  if (c->fd < 0 || (c->flags & (CF_CLOSED | CF_READ_PAUSED)) || !(c->flags & CF_READING)) return 0;
  if (ioctl(c->fd, FIONREAD, &n) || n <= 0) return 0;
  read_now(c);
  return 1;
}

int net__read_drain(struct net_conn *c, unsigned max_reads)
{
  int read = 0;
  while (max_reads-- && !(c->flags & CF_CLOSED) && net__read_waiting(c)) read = 1;
  return read;
}

int net__read_late(struct net_conn *c)
{
  net_server_t *s = c->srv;
  s->dl_watch = c;
  s->dl_touched = 0;
  int read = net__read_waiting(c);
  s->dl_watch = NULL;
  return read && ((c->flags & CF_CLOSED) || s->dl_touched);
}

/* Read c now, or queue it for a later turn if the turn's budget for it is
 * spent. */
static void read_or_defer(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (must_wait(s, c)) { if (!s->http_only) count_wait(s, c); again_push(c); return; }
  read_now(c);
}

void net__turn_end(net_server_t *s)
{
  s->fresh_left = NET_FRESH_PER_TURN;
  s->read_ns = 0;
  s->turn_accepts = 0;
}

/* A connection the server is not reading still learns that its peer is
 * gone: EPOLLERR / EPOLLHUP (a reset) always, and EPOLLRDHUP (the peer's
 * FIN; registered with every connection, no system call of its own) for a
 * WebSocket paused by on_ws_read. The event is an edge, reported once: a
 * WebSocket keeps it (CF_PEER_GONE) for the read that may pause it later
 * (its FIN arrived with the input it is paused on, or its read waited for
 * a later turn), and read_now closes it instead. A paused WebSocket's unread input is
 * dropped with it: its frames were never read, so nothing in them was
 * acknowledged, and a WebSocket whose peer closed gets no more replies
 * anyway (read_once). Without this, a client that vanished while paused
 * stayed open, and its user Online, until admission resumed it. An HTTP
 * client whose reading stopped (a full pipeline) may half-close and still
 * gets its replies: only a reset ends it. */
static void on_readable(struct net_conn *c, uint32_t events)
{
  if ((c->flags & CF_WS) && (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))) c->flags |= CF_PEER_GONE;
  int paused = (c->flags & (CF_WS | CF_WS_CLOSING | CF_PAUSED)) == (CF_WS | CF_PAUSED);
  if (!(c->flags & CF_READING) || paused) {
    if ((events & (EPOLLERR | EPOLLHUP)) || (paused && (events & EPOLLRDHUP))) net__dead_peer(c);
    return;
  }
  if (c->flags & CF_AGAIN) return; /* already waiting for its turn in srv->again */
  read_or_defer(c);
}

/* The connections queued in earlier turns, oldest first, read while the
 * turn's budgets last (the rest keep their place). Reads may queue connections again (at the end) or close any
 * (their slots become NULL). */
static void run_again(net_server_t *s)
{
  size_t n = s->again_len, w = 0;
  for (size_t i = 0; i < n; i++) {
    struct net_conn *c = s->again[i];
    if (!c) continue;
    if ((c->flags & CF_READING) && must_wait(s, c)) { /* keeps its place */
      count_wait(s, c);
      s->again[i] = NULL;
      s->again[w++] = c;
      continue;
    }
    s->again[i] = NULL;
    c->flags &= (uint16_t)~CF_AGAIN;
    if (c->flags & CF_READING) read_or_defer(c); /* a stopped reader is polled again when it resumes */
  }
  /* entries queued during the pass follow the kept ones */
  size_t k = w;
  for (size_t i = n; i < s->again_len; i++)
    if (s->again[i]) s->again[k++] = s->again[i];
  s->again_len = k;
  if (!k) uv_idle_stop(&s->again_idle);
}

static void accept_pause(net_server_t *s)
{
  struct epoll_event ev = { .events = 0, .data.ptr = s };
  if (!epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev)) { s->accept_paused = 1; s->accept_pauses++; }
}

static void accept_resume(net_server_t *s)
{
  /* a refusal that could not have its spare back (the slot taken
   * meanwhile: net__refuse_no_fd) left none; without this it would be gone
   * for good, and every later shortage would pause again */
  if (s->listening && s->spare_fd < 0) net__fd_spare_open(s);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
  if (s->listening && !epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev)) s->accept_paused = 0;
}

/* Whether the turn may accept one more connection: a connection accepted
 * is read at once (TCP_DEFER_ACCEPT: its first bytes are there), so only
 * while the turn's share and time for opening connections last (the
 * turn's first accept always runs: new connections make progress even
 * while deferred reads fill every turn). The others wait in the kernel's
 * accept queue, not in srv->again: the level-triggered listener is
 * reported again next turn, after what earlier turns left. */
static int accept_room(const net_server_t *s)
{
  if (!s->turn_accepts) return 1;
  return s->fresh_left > 0 && s->read_ns < (uint64_t)s->cfg.read_turn_us * 1000u;
}

static void accept_some(net_server_t *s)
{
  for (int i = 0; i < NET_ACCEPT_BATCH && s->listening; i++) {
    if (!accept_room(s)) { s->accept_deferred++; return; }
    int tp = imc_turnlog_enter(IMC_TP_ACCEPT);
    uint64_t t0 = uv_hrtime();
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    s->read_ns += uv_hrtime() - t0; /* the accept is part of reading an opening connection */
    s->turn_accepts++;
    if (fd < 0) {
      imc_turnlog_leave(tp);
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* lingering connections only protect replies already written: they
         * give their descriptors to new clients (reaped at most once: the
         * count is then zero) */
        size_t reaped = net__linger_reap(s);
        if (reaped) { IMC_INFO("net", "msg=\"lingering connections closed\" n=%zu err=%s", reaped, strerror(errno)); continue; }
        int e = errno, r = net__refuse_no_fd(s); /* the client answered 503 rather than left waiting */
        if (r > 0) continue;
        if (r < 0) return; /* nobody was waiting after all */
        accept_pause(s); /* level-triggered: retrying now would spin */
        net__pause_log(s, e);
      }
      return;
    }
    struct net_conn *c = calloc(1, sizeof *c);
    if (!c || by_fd_put(s, fd, c)) { free(c); close(fd); imc_turnlog_leave(tp); continue; }
    c->srv = s;
    c->fd = fd;
    c->flags = CF_READING | CF_EV_IN | CF_FRESH;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c }; /* input already there is reported */
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev)) { s->by_fd[fd] = NULL; close(fd); free(c); imc_turnlog_leave(tp); continue; }
    s->nconns++; /* TCP_NODELAY: inherited from the listening socket (listen_on) */
    s->open_handles++;
    net__set_deadline(c, net__now(s) + s->cfg.keepalive_idle_ms);
    imc_turnlog_leave(tp);
    /* TCP_DEFER_ACCEPT (listen_on): its first bytes are here already, so
     * read them now (accept_room gave the turn's room to it) instead of
     * waiting a turn for the event the ADD above queued. The kernel polls a
     * queued socket again before reporting it: input read here is not
     * reported twice. */
    read_now(c);
  }
}

/* The test site ws_read_late (src/util/faultsim.h): a WebSocket's input
 * this pass would read is left in the kernel and the socket polled again,
 * so the check phase's pass (net__take_http) is the one that meets it, as
 * when the frame arrives between the two. 1 if it was left. */
static int leave_for_check(net_server_t *s, struct net_conn *c, uint32_t events)
{
  if (s->http_only || (c->flags & (CF_WS | CF_READING | CF_AGAIN)) != (CF_WS | CF_READING) || !(events & EPOLLIN)) return 0;
  if (!imc_fault(IMC_FAULT_WS_READ_LATE)) return 0;
  epoll_mod(c, (uint16_t)(c->flags & (CF_EV_IN | CF_EV_OUT)));
  return 1;
}

/* The events the kernel reports now. In the check phase's pass
 * (s->http_only: net__take_http) only keep-alive HTTP clients are read;
 * the listener waits for the next turn (level-triggered: reported again)
 * and other input goes to srv->again, read first next turn. */
static void take_reported(net_server_t *s)
{
  struct epoll_event ev[NET_EPOLL_BATCH];
  int n = epoll_wait(s->ep, ev, NET_EPOLL_BATCH, 0);
  for (int i = 0; i < n; i++) {
    if (ev[i].data.ptr == s) { if (!s->http_only) accept_some(s); continue; }
    struct net_conn *c = ev[i].data.ptr;   /* closed ones stay allocated until on_check */
    s->events++;
    if (c->flags & CF_CLOSED) continue;
    if (ev[i].events & EPOLLOUT) { /* written in the check phase, under the turn's write budget */
      net__list_flush(c);
      if (!(c->flags & CF_FLUSH_LISTED)) net__flush_one(c); /* out of memory for the list */
    }
    if (c->flags & CF_CLOSED) continue;
    if (leave_for_check(s, c, ev[i].events)) continue;
    if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) on_readable(c, ev[i].events);
  }
}

/* A turn's input: what earlier turns left in srv->again first (it became
 * ready first), then the events the kernel reports now. */
static void take_events(net_server_t *s)
{
  int tp = imc_turnlog_enter(IMC_TP_EVENTS);
  if (s->again_len) run_again(s);
  take_reported(s);
  imc_turnlog_leave(tp);
}

void net__take_http(net_server_t *s)
{
  if (s->ep < 0) return;
  int tp = imc_turnlog_enter(IMC_TP_EVENTS);
  s->http_only = 1;
  take_reported(s);
  s->http_only = 0;
  imc_turnlog_leave(tp);
}

static void on_events(uv_poll_t *p, int status, int events)
{
  (void)status; (void)events;
  take_events(p->data);
}

/* Runs while srv->again is not empty (and keeps the loop from blocking).
 * It runs in the idle phase, before the poll: what the reads queued (a
 * heartbeat's reply, a refusal) is written by the check phase after the
 * poll, so the poll must not block when this pass stopped the idle handle
 * (its queue emptied) — it waited for the next timer, ~250 ms. */
static void on_again(uv_idle_t *h)
{
  net_server_t *s = h->data;
  take_events(s);
  if (s->flush_len > s->flush_head || s->flush_http_len || s->notify_len) net__out_pending(s);
}

/* ---- server ------------------------------------------------------------------------ */
int net_server_start(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, net_server_t **out)
{
  int lfd, rc = net_listen(cfg, &lfd);
  if (rc) return rc;
  return net_server_start_fd(loop, cfg, h, lfd, out);
}

int net_server_start_fd(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, int lfd, net_server_t **out)
{
  unsigned fds = net__fd_table_reserve(cfg->fd_table);
  if (fds) IMC_INFO("net", "msg=\"descriptor table sized\" fds=%u", fds);
  uint64_t slice_ns = net__loop_slice_set(cfg->loop_slice_us);
  if (slice_ns) IMC_INFO("net", "msg=\"event loop time slice set\" slice_ns=%llu", (unsigned long long)slice_ns);
  net_server_t *s = calloc(1, sizeof *s);
  if (!s || !(s->rbuf = malloc(NET_READ_BUF))) { free(s); close(lfd); return IMC_E_NOMEM; }
  s->loop = loop;
  s->cfg = *cfg;
  if (!s->cfg.wheel_tick_ms) s->cfg.wheel_tick_ms = NET_WHEEL_TICK_MS; /* a divisor */
  s->h = *h;
  s->lfd = lfd;
  s->spare_fd = -1;
  net__fd_spare_open(s); /* without it, out of descriptors pauses accepting (fdlimit.c) */
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
  if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, lfd, &ev) ||
      uv_poll_init(loop, &s->ep_poll, s->ep)) {
    if (s->ep >= 0) close(s->ep);
    close(lfd);
    net__fd_spare_close(s);
    free(s->rbuf);
    free(s);
    return IMC_E_IO;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(lfd, (struct sockaddr *)&bound, &blen);
  s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
  s->listening = 1;
  s->ep_poll.data = s;
  uv_poll_start(&s->ep_poll, UV_READABLE, on_events);
  uv_check_init(loop, &s->check);
  s->check.data = s;
  uv_check_start(&s->check, net__on_check);
  /* the loop's idle time, for each turn's busy time (out.c turn_busy); on
   * with the first server and never off: a clock read around each poll */
  (void)uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
  uv_idle_init(loop, &s->again_idle);
  s->again_idle.data = s;
  uv_idle_init(loop, &s->out_idle);
  s->out_idle.data = s;
  net__turn_end(s);
  uv_timer_init(loop, &s->wheel_timer);
  s->wheel_timer.data = s;
  s->t0_ms = uv_now(loop);
  s->wheel_tick = net__tick_now(s);
  uv_timer_start(&s->wheel_timer, on_wheel, s->cfg.wheel_tick_ms, s->cfg.wheel_tick_ms);
  *out = s;
  return 0;
}

int net_server_port(const net_server_t *s) { return s->port; }

void net_server_stop_accepting(net_server_t *s)
{
  if (!s->listening) return;
  s->listening = 0;
  close(s->lfd); /* also leaves the epoll set */
  s->lfd = -1;
  net__fd_spare_close(s);
}

size_t net_server_requests_in_flight(const net_server_t *s) { return s->requests_in_flight; }

void net_server_stats(const net_server_t *s, net_stats_t *o)
{
  o->connections = s->nconns;
  o->websockets = s->websockets;
  o->ws_closing = s->ws_closing;
  o->requests_in_flight = s->requests_in_flight;
  o->bytes_in = s->bytes_in;
  o->bytes_out = s->bytes_out;
  o->ws_writes = s->ws_writes;
  o->ws_frames = s->ws_frames;
  o->ws_close_timeouts = s->ws_close_timeouts;
  o->queued_mem = s->queued_mem;
  o->queued_mem_max = s->queued_mem_max;
  o->ws_shed = s->ws_shed;
  o->fresh_deferred = s->fresh_deferred;
  o->read_deferred = s->read_deferred;
  o->write_deferred = s->write_deferred;
  o->notice_deferred = s->notice_deferred;
  o->accept_deferred = s->accept_deferred;
  o->ws_refused_full = s->ws_refused_full;
  o->refused_no_fd = s->refused_no_fd;
  o->accept_pauses = s->accept_pauses;
  o->max_websockets = s->cfg.max_websockets;
  o->events = s->events;
  o->turns = s->turn_busy.n;
  o->turns_over_2ms = s->turns_over_2ms;
  o->turns_over_5ms = s->turns_over_5ms;
  o->turn_p50_us = imc_hist_pct_us(&s->turn_busy, 50);
  o->turn_p99_us = imc_hist_pct_us(&s->turn_busy, 99);
  o->turn_max_us = s->turn_busy.max_ns / 1000u;
}

/* Called once per server handle; libuv runs close callbacks in no promised
 * order, so the server is freed after the last of the three. */
static void on_final_closed(uv_handle_t *h)
{
  net_server_t *s = h->data;
  if (--s->closing > 1) return;
  void (*cb)(void *) = s->closed_cb;
  void *arg = s->closed_arg;
  net__pools_drain(s);
  free(s->notify);
  free(s->flush);
  free(s->flush_http);
  free(s->again);
  free(s->by_fd);
  free(s->rbuf);
  free(s);
  if (cb) cb(arg);
}

static void finish_close(uv_timer_t *t)
{
  net_server_t *s = t->data;
  on_wheel(t); /* the connections' deadlines still run: the stop's grace ends the last of them */
  if (s->open_handles || s->notify_len) return; /* poll until every connection is gone */
  if (s->stop_resets) IMC_WARN("net", "msg=\"stop: connections cut off with output their peers did not take\" n=%zu", s->stop_resets);
  uv_timer_stop(t);
  uv_check_stop(&s->check);
  s->closing = s->ep >= 0 ? 6 : 5; /* 1 + the server handles below (a socketless server has no ep_poll) */
  uv_idle_stop(&s->again_idle);
  uv_close((uv_handle_t *)&s->again_idle, on_final_closed);
  uv_idle_stop(&s->out_idle);
  uv_close((uv_handle_t *)&s->out_idle, on_final_closed);
  uv_close((uv_handle_t *)&s->wheel_timer, on_final_closed);
  if (s->ep >= 0) uv_close((uv_handle_t *)&s->ep_poll, on_final_closed);
  uv_close((uv_handle_t *)&s->check, on_final_closed);
  if (s->ep >= 0) close(s->ep);
}

void net_server_close(net_server_t *s, void (*done)(void *), void *arg)
{
  s->closing = 1;
  s->closed_cb = done;
  s->closed_arg = arg;
  net_server_stop_accepting(s);
  /* a peer that does not read would hold the stop for ever: each connection
   * has the close grace to take its output, then it is reset (fire) */
  uint64_t grace_ms = net__ws_grace_ms(s);
  uint64_t until = net__now(s) + grace_ms;
  for (size_t fd = 0; fd <= s->by_fd_cap; fd++) { /* the socketless connection last */
    struct net_conn *c = fd < s->by_fd_cap ? s->by_fd[fd] : s->socketless;
    if (!c) continue;
    if (c->flags & CF_WS) net_ws_close(c, 1001, "server shutting down"); /* its deadline: the grace (or sooner) */
    else if (net__lingering(c)) net__really_close(c);
    else {
      net__close(c);
      net__set_deadline(c, until); /* a keep-alive deadline may be a minute away */
    }
  }
  /* reuse the wheel timer as a short poll for the last connections, the
   * deadlines run by it too */
  uv_timer_stop(&s->wheel_timer);
  uv_timer_start(&s->wheel_timer, finish_close, 5, 5);
}
