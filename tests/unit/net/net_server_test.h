/* net_server_test.h — what the net server's unit tests (test_net_server.c:
 * peer names, TCP_NODELAY, the idle timeout and the absolute deadline;
 * test_net_turns.c: the write-out, held output, one buffer written in parts,
 * the turn's busy time and REST replies in the turn; one program each)
 * share, header-only: the test application, a double of the server's
 * callbacks (one ws_mode per behaviour, each described where its state
 * is), run_with_client (the server on this thread's loop until a client
 * thread returns) and a minimal blocking client over real sockets.
 * Include once, after cmocka.h. Test-only. */
#ifndef IMC_TESTS_UNIT_NET_NET_SERVER_TEST_H
#define IMC_TESTS_UNIT_NET_NET_SERVER_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

#define IDLE_MS 1500

static uv_loop_t loop;
static uv_async_t stop_async;
static net_server_t *srv;
static char http_remote[64], ws_remote[64];
static int ws_mode; /* 1 = idle timeout, 2 = absolute deadline */

/* ---- the test application (a double of the server's callbacks) ----------- */
/* ws_mode 5 (the write-out's cost per turn): every WebSocket opened is
 * kept in wide_ws; "go" on any sends one frame "x" to each of them in that
 * turn, all listed at once, and writes_per_turn is 1 (run_with_client), so
 * the write-out takes one turn per connection. A prepare handle stamps
 * each turn's start and the WebSocket writes so far (wide_t, wide_w). */
#define WIDE_N 8000
static net_ws_t *wide_ws[WIDE_N];
static int wide_n, wide_turns, wide_go, wide_sent;
static uint64_t wide_base; /* WebSocket writes before "go" */
static uint64_t wide_t[WIDE_N * 4], wide_w[WIDE_N * 4];
static uv_prepare_t wide_prep;
static void wide_stamp(uv_prepare_t *h)
{
  (void)h;
  if (!wide_go || wide_turns == WIDE_N * 4) return;
  net_stats_t st;
  net_server_stats(srv, &st);
  wide_t[wide_turns] = uv_hrtime();
  wide_w[wide_turns++] = st.ws_writes;
}

static void on_http(void *ud, net_req_t *r)
{
  (void)ud;
  snprintf(http_remote, sizeof http_remote, "%s", net_req_remote(r));
  net_req_reply(r, 200, "text/plain", "ok", 2, NULL);
}

static void on_ws_open(void *ud, net_ws_t *ws)
{
  (void)ud;
  snprintf(ws_remote, sizeof ws_remote, "%s", net_ws_remote(ws));
  if (ws_mode == 1) net_ws_set_idle(ws, IDLE_MS);
  else if (ws_mode == 2) net_ws_set_deadline(ws, IDLE_MS);
  else if (ws_mode == 5 && wide_n < WIDE_N) wide_ws[wide_n++] = ws;
}

/* ws_mode 3 (net_server_hold_output): "go" writes frames "1", "2", "3" in
 * three loop turns (an idle handle: one call per turn), holding the output
 * in the first two; "forever" writes 50 frames, one per turn in which the
 * loop's millisecond clock moved by HOLD_STEP_MS (so over at least 49 steps,
 * more than NET_HOLD_MAX_MS), and holds the
 * output in every turn until the last frame (50 frames fit one write: at
 * most 64 chunks go to one sendmsg); "stats" answers "writes=W frames=F", the WebSocket writes
 * and frames since the previous "go" or "forever". */
#define HOLD_STEP_MS ((NET_HOLD_MAX_MS + 48) / 49)
static uv_idle_t hold_idle;
static int hold_idle_on, hold_total, hold_sent;
static uint64_t hold_last_ms;
static net_ws_t *hold_ws;
static net_stats_t hold_base;

static void hold_turn(uv_idle_t *h)
{
  /* "forever": one frame per HOLD_STEP_MS of the loop's clock, so that the 50 span more than NET_HOLD_MAX_MS */
  if (hold_total == 50 && uv_now(&loop) < hold_last_ms + HOLD_STEP_MS) { net_server_hold_output(srv); return; }
  hold_last_ms = uv_now(&loop);
  char f[16];
  snprintf(f, sizeof f, "%d", ++hold_sent);
  net_ws_send_text(hold_ws, f, strlen(f));
  if (hold_sent < hold_total) net_server_hold_output(srv); /* the idle handle runs again next turn */
  else uv_idle_stop(h);
}

/* ws_mode 4: any text is answered with one text frame of ONE_BIG bytes
 * ('a' + i % 23), more than a loopback socket's send buffer ever takes
 * (tcp_wmem's maximum is 4 MiB; the client's receive buffer is fixed at a
 * few KiB, dial_rcvbuf; the queue cap is raised for it): the frame is one
 * queued buffer, written in parts (a short write, then EPOLLOUT), each
 * part from its offset. */
#define ONE_BIG (8u << 20)
static int dial_rcvbuf; /* SO_RCVBUF set before connecting, if not 0 */

/* ws_mode 6 (turn busy time): "busy" spins 6 ms in this callback, then
 * answers "ok"; "turns" answers "turns=N over2=N over5=N max_us=N"
 * (net_server_stats). */
static void turn_frame(net_ws_t *ws, const char *d, size_t n)
{
  char f[128];
  if (n == 4 && !memcmp(d, "busy", 4)) {
    uint64_t until = uv_hrtime() + 6000000u;
    while (uv_hrtime() < until) {}
    net_ws_send_text(ws, "ok", 2);
    return;
  }
  net_stats_t st;
  net_server_stats(srv, &st);
  snprintf(f, sizeof f, "turns=%llu over2=%llu over5=%llu max_us=%llu", (unsigned long long)st.turns,
           (unsigned long long)st.turns_over_2ms, (unsigned long long)st.turns_over_5ms, (unsigned long long)st.turn_max_us);
  net_ws_send_text(ws, f, strlen(f));
}

/* ws_mode 7 (REST in the turn; writes_per_turn 1, no write time limit):
 * "busy" spins 30 ms (no answer); "arm" sends, from this callback
 * (the poll phase, after the turn's input pass), the HTTP request in
 * arm_req on the client's keep-alive socket arm_fd, and starts a prepare
 * handle that, in the next turn, notes the bytes written since (the reply
 * written before the next turn's work, or not) and answers "written=N"
 * on the WebSocket; "stats" answers "deferred=N" (writes left for later
 * turns, net_stats write_deferred). */
static int arm_fd = -1;
static const char arm_req[] = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
static uv_prepare_t arm_prep;
static int arm_prep_on;
static uint64_t arm_bytes_out;
static net_ws_t *arm_ws;
static uint64_t arm_turns;
static void arm_next_turn(uv_prepare_t *h)
{
  net_stats_t st;
  char f[64];
  net_server_stats(srv, &st);
  if (st.turns == arm_turns) return; /* "arm" was read in this turn's idle phase: its check phase is still to come */
  snprintf(f, sizeof f, "written=%llu", (unsigned long long)(st.bytes_out - arm_bytes_out));
  net_ws_send_text(arm_ws, f, strlen(f));
  uv_prepare_stop(h);
}

/* Send arm_req on arm_fd and wait (at most 1 s) until the server's socket
 * has it: the kernel may leave loopback's receive work to ksoftirqd, and
 * the request must be there before this turn's check phase. */
static int arm_send(void)
{
  if (send(arm_fd, arm_req, sizeof arm_req - 1, 0) != (ssize_t)(sizeof arm_req - 1)) return -1;
  for (int i = 0; i < 10000; i++) {
    int q = 0;
    if (ioctl(arm_fd, SIOCOUTQ, &q) == 0 && q == 0) return 0; /* acknowledged: in the server's socket */
    usleep(100);
  }
  return -1;
}

static void rest_frame(net_ws_t *ws, const char *d, size_t n)
{
  char f[64];
  net_stats_t st;
  net_server_stats(srv, &st);
  if (n == 4 && !memcmp(d, "busy", 4)) {
    uint64_t until = uv_hrtime() + 30000000u; /* no answer: no WebSocket output shares the turn's write budget */
    while (uv_hrtime() < until) {}
  } else if (n == 3 && !memcmp(d, "arm", 3)) {
    if (!arm_prep_on) { uv_prepare_init(&loop, &arm_prep); arm_prep_on = 1; }
    arm_bytes_out = st.bytes_out;
    arm_turns = st.turns;
    arm_ws = ws;
    if (arm_send()) return; /* the client times out */
    uv_prepare_start(&arm_prep, arm_next_turn);
  } else {
    snprintf(f, sizeof f, "deferred=%llu", (unsigned long long)st.write_deferred);
    net_ws_send_text(ws, f, strlen(f));
  }
}

static void on_ws_text(void *ud, net_ws_t *ws, const char *d, size_t n)
{
  (void)ud;
  if (ws_mode == 6) { turn_frame(ws, d, n); return; }
  if (ws_mode == 7) { rest_frame(ws, d, n); return; }
  if (ws_mode == 5) { /* "go": a frame to every WebSocket, all listed in this turn */
    net_stats_t st;
    net_server_stats(srv, &st);
    wide_base = st.ws_writes;
    for (int i = 0; i < wide_n; i++) if (wide_ws[i] && !net_ws_send_text(wide_ws[i], "x", 1)) wide_sent++;
    wide_go = 1;
    return;
  }
  if (ws_mode == 4) { /* one frame bigger than the socket takes at once: one buffer written in parts */
    char *big = malloc(ONE_BIG);
    if (!big) return;
    for (size_t i = 0; i < ONE_BIG; i++) big[i] = (char)('a' + i % 23);
    net_ws_send_text(ws, big, ONE_BIG);
    free(big);
    return;
  }
  if (ws_mode != 3) { net_ws_send_text(ws, d, n); return; }
  if (!hold_idle_on) { uv_idle_init(&loop, &hold_idle); hold_idle_on = 1; }
  if (n == 5 && !memcmp(d, "stats", 5)) {
    net_stats_t now;
    char f[64];
    net_server_stats(srv, &now);
    snprintf(f, sizeof f, "writes=%llu frames=%llu", (unsigned long long)(now.ws_writes - hold_base.ws_writes),
             (unsigned long long)(now.ws_frames - hold_base.ws_frames));
    net_ws_send_text(ws, f, strlen(f));
    return;
  }
  net_server_stats(srv, &hold_base);
  hold_ws = ws;
  hold_sent = 0;
  hold_total = n == 2 ? 3 : 50;
  hold_last_ms = uv_now(&loop);
  hold_turn(&hold_idle);
  uv_idle_start(&hold_idle, hold_turn);
}
static void on_ws_close(void *ud, net_ws_t *ws, int code)
{
  (void)ud; (void)code;
  for (int i = 0; ws_mode == 5 && i < wide_n; i++) if (wide_ws[i] == ws) wide_ws[i] = NULL;
}
static void on_ws_deadline(void *ud, net_ws_t *ws) { (void)ud; net_ws_close(ws, 4004, "idle"); }

static void closed(void *arg)
{
  (void)arg;
  uv_close((uv_handle_t *)&stop_async, NULL);
  if (hold_idle_on) { uv_close((uv_handle_t *)&hold_idle, NULL); hold_idle_on = 0; }
  if (ws_mode == 5) uv_close((uv_handle_t *)&wide_prep, NULL);
  if (arm_prep_on) { uv_close((uv_handle_t *)&arm_prep, NULL); arm_prep_on = 0; }
}
static void on_stop(uv_async_t *a) { (void)a; net_server_close(srv, closed, NULL); }

/* Run the server on host until the client function returns. */
static void run_with_client(const char *host, void *(*client)(void *))
{
  net_cfg_t cfg;
  net_cfg_defaults(&cfg);
  cfg.host = host;
  if (ws_mode == 4) cfg.ws_max_queued_bytes = 2 * ONE_BIG;
  if (ws_mode == 5) cfg.writes_per_turn = 1;
  if (ws_mode == 7) { cfg.writes_per_turn = 1; cfg.write_turn_us = 1000000; }
  net_handlers_t h = { NULL, on_http, on_ws_open, on_ws_text, on_ws_close, on_ws_deadline, NULL };
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(net_server_start(&loop, &cfg, &h, &srv), 0);
  uv_async_init(&loop, &stop_async, on_stop);
  if (ws_mode == 5) {
    uv_prepare_init(&loop, &wide_prep);
    uv_prepare_start(&wide_prep, wide_stamp);
    uv_unref((uv_handle_t *)&wide_prep);
  }
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  void *failed = NULL;
  pthread_join(th, &failed);
  assert_int_equal(uv_loop_close(&loop), 0);
  if (failed) fail_msg("%s", (const char *)failed);
}

/* ---- a minimal blocking client ----------------------------------------------- */
static inline int dial(int family, int *local_port)
{
  int port = net_server_port(srv);
  int fd = socket(family, SOCK_STREAM, 0);
  if (dial_rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &dial_rcvbuf, sizeof dial_rcvbuf);
  struct sockaddr_storage a;
  socklen_t len;
  memset(&a, 0, sizeof a);
  if (family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_addr = in6addr_loopback;
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *s4;
  }
  if (connect(fd, (struct sockaddr *)&a, len)) { close(fd); return -1; }
  struct sockaddr_storage me;
  socklen_t ml = sizeof me;
  getsockname(fd, (struct sockaddr *)&me, &ml);
  *local_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port : ((struct sockaddr_in *)&me)->sin_port);
  return fd;
}

/* Read until "\r\n\r\n" (one byte at a time: frames may follow). */
static inline int read_head(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 3000) <= 0 || read(fd, buf + n, 1) != 1) return -1;
    n++;
    if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4)) break;
  }
  buf[n] = 0;
  return (int)n;
}

static inline int ws_open(int family, int *local_port)
{
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  char head[1024];
  int fd = dial(family, local_port);
  if (fd < 0 || write(fd, hs, sizeof hs - 1) != (ssize_t)(sizeof hs - 1) || read_head(fd, head, sizeof head) < 0 ||
      strncmp(head, "HTTP/1.1 101 ", 13)) return -1;
  return fd;
}

static inline int ws_send(int fd, int opcode, const char *payload)
{
  unsigned char f[140];
  size_t n = strlen(payload);
  f[0] = (unsigned char)(0x80 | opcode);
  f[1] = (unsigned char)(0x80 | n);
  memcpy(f + 2, "\x01\x02\x03\x04", 4);
  for (size_t i = 0; i < n; i++) f[6 + i] = (unsigned char)(payload[i] ^ f[2 + (i & 3)]);
  return write(fd, f, 6 + n) == (ssize_t)(6 + n) ? 0 : -1;
}

/* One server frame: its opcode (close code in *code for 8), -1 on timeout/EOF. */
static inline int ws_recv(int fd, int timeout_ms, int *code)
{
  unsigned char h[2], p[126];
  struct pollfd pf = { fd, POLLIN, 0 };
  if (poll(&pf, 1, timeout_ms) <= 0 || read(fd, h, 2) != 2) return -1;
  size_t n = h[1] & 0x7f, got = 0;
  while (got < n) { ssize_t r = read(fd, p + got, n - got); if (r <= 0) return -1; got += (size_t)r; }
  if ((h[0] & 0x0f) == 8 && code) *code = n >= 2 ? p[0] << 8 | p[1] : 0;
  return h[0] & 0x0f;
}

static inline void stop(void) { uv_async_send(&stop_async); }

static inline int write_all(int fd, const void *b, size_t n)
{
  const char *p = b;
  while (n) { ssize_t w = write(fd, p, n); if (w <= 0) return -1; p += w; n -= (size_t)w; }
  return 0;
}

static inline int read_all(int fd, void *b, size_t n)
{
  char *p = b;
  while (n) {
    struct pollfd pf = { fd, POLLIN, 0 };
    if (poll(&pf, 1, 5000) <= 0) return -1;
    ssize_t r = read(fd, p, n);
    if (r <= 0) return -1;
    p += r; n -= (size_t)r;
  }
  return 0;
}

#endif
