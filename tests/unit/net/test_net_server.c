/* net on a real loop with a stub application: peer names for IPv4 and IPv6
 * (net_req_remote / net_ws_remote), and the WebSocket idle timeout that
 * pings and pongs refresh like a text message (net_ws_set_idle) while an
 * absolute deadline (net_ws_set_deadline) is not extended by them.
 * The server runs on this thread's loop; a client thread drives it over
 * real sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

/* ---- the stub application ------------------------------------------------ */
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
static int dial(int family, int *local_port)
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
static int read_head(int fd, char *buf, size_t cap)
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

static int ws_open(int family, int *local_port)
{
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  char head[1024];
  int fd = dial(family, local_port);
  if (fd < 0 || write(fd, hs, sizeof hs - 1) != (ssize_t)(sizeof hs - 1) || read_head(fd, head, sizeof head) < 0 ||
      strncmp(head, "HTTP/1.1 101 ", 13)) return -1;
  return fd;
}

static int ws_send(int fd, int opcode, const char *payload)
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
static int ws_recv(int fd, int timeout_ms, int *code)
{
  unsigned char h[2], p[126];
  struct pollfd pf = { fd, POLLIN, 0 };
  if (poll(&pf, 1, timeout_ms) <= 0 || read(fd, h, 2) != 2) return -1;
  size_t n = h[1] & 0x7f, got = 0;
  while (got < n) { ssize_t r = read(fd, p + got, n - got); if (r <= 0) return -1; got += (size_t)r; }
  if ((h[0] & 0x0f) == 8 && code) *code = n >= 2 ? p[0] << 8 | p[1] : 0;
  return h[0] & 0x0f;
}

static void stop(void) { uv_async_send(&stop_async); }

static int write_all(int fd, const void *b, size_t n)
{
  const char *p = b;
  while (n) { ssize_t w = write(fd, p, n); if (w <= 0) return -1; p += w; n -= (size_t)w; }
  return 0;
}

static int read_all(int fd, void *b, size_t n)
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

/* ---- clients ------------------------------------------------------------------ */
static int client_family;

static void *remote_client(void *arg)
{
  (void)arg;
  char want[64], buf[1024];
  const char *err = NULL;
  for (int pass = client_family == AF_INET6; pass == (client_family == AF_INET6) && !err; pass += 2) {
    int family = client_family, lp = 0;
    int fd = dial(family, &lp);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    if (fd < 0 || write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1) || read_head(fd, buf, sizeof buf) < 0) {
      err = "http request failed";
      break;
    }
    close(fd);
    snprintf(want, sizeof want, pass ? "[::1]:%d" : "127.0.0.1:%d", lp);
    if (strcmp(http_remote, want)) { err = pass ? "net_req_remote for IPv6" : "net_req_remote for IPv4"; break; }
    fd = ws_open(family, &lp);
    if (fd < 0) { err = "handshake failed"; break; }
    close(fd);
    snprintf(want, sizeof want, pass ? "[::1]:%d" : "127.0.0.1:%d", lp);
    if (strcmp(ws_remote, want)) err = pass ? "net_ws_remote for IPv6" : "net_ws_remote for IPv4";
  }
  stop();
  return (void *)err;
}

/* Defect 8: an IPv6 peer printed as "?" */
static void test_remote_names_v6(void **st)
{
  (void)st;
  ws_mode = 0;
  client_family = AF_INET6;
  http_remote[0] = ws_remote[0] = 0;
  run_with_client("::1", remote_client);
}

static void test_remote_names_v4(void **st)
{
  (void)st;
  ws_mode = 0;
  client_family = AF_INET;
  http_remote[0] = ws_remote[0] = 0;
  run_with_client("127.0.0.1", remote_client);
}

/* The server's end of an accepted connection (same process: found by its
 * peer port): TCP_NODELAY is on, so small replies are not held back by
 * Nagle. It comes from the listening socket (one setsockopt per server,
 * none per connection); a WebSocket and a plain HTTP connection are checked. */
static int server_end_nodelay(int client_port)
{
  for (int fd = 3; fd < 1024; fd++) {
    struct sockaddr_in peer, me;
    socklen_t pl = sizeof peer, ml = sizeof me;
    if (getpeername(fd, (struct sockaddr *)&peer, &pl) || getsockname(fd, (struct sockaddr *)&me, &ml)) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != client_port || ntohs(me.sin_port) != net_server_port(srv))
      continue;
    int on = 0;
    socklen_t ol = sizeof on;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol)) return -1;
    return on;
  }
  return -1; /* not found */
}

static void *nodelay_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int lp = 0, lp2 = 0;
  int fd = ws_open(AF_INET, &lp);
  int fd2 = dial(AF_INET, &lp2);
  char buf[512];
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  if (fd < 0 || fd2 < 0) err = "connect failed";
  else if (write(fd2, req, sizeof req - 1) != (ssize_t)(sizeof req - 1) || read_head(fd2, buf, sizeof buf) < 0)
    err = "http request failed";
  else if (server_end_nodelay(lp) != 1) err = "the WebSocket's server end has no TCP_NODELAY";
  else if (server_end_nodelay(lp2) != 1) err = "the HTTP connection's server end has no TCP_NODELAY";
  if (fd >= 0) close(fd);
  if (fd2 >= 0) close(fd2);
  stop();
  return (void *)err;
}

static void test_accepted_sockets_nodelay(void **st)
{
  (void)st;
  ws_mode = 0;
  run_with_client("127.0.0.1", nodelay_client);
}

/* Every 250 ms for 3.5 s (over two idle periods): a ping (answered by a pong)
 * or an unsolicited pong. With an idle timeout the connection stays open;
 * then, silent, it is closed with 4004. */
static void *idle_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int lp, code = 0, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  for (int i = 0; i < 14 && !err; i++) {
    usleep(250 * 1000);
    if (i % 2 == 0) {
      if (ws_send(fd, 9, "hb") || ws_recv(fd, 1000, &code) != 0xA) err = "no pong: the connection was closed while pinging";
    } else if (ws_send(fd, 0xA, "hb")) {
      err = "send pong failed";
    }
  }
  if (!err && (ws_recv(fd, 4000, &code) != 8 || code != 4004)) err = "not closed with 4004 after the idle period";
  close(fd);
  stop();
  return (void *)err;
}

static void test_ping_refreshes_idle_timeout(void **st)
{
  (void)st;
  ws_mode = 1;
  run_with_client("127.0.0.1", idle_client);
}

/* An absolute deadline (the login timeout) is not extended by pings. */
static void *deadline_client(void *arg)
{
  (void)arg;
  const char *err = "still open after pinging past the deadline";
  int lp, code = 0, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  for (int i = 0; i < 14; i++) {
    usleep(250 * 1000);
    if (ws_send(fd, 9, "hb")) break;
    int op = ws_recv(fd, 1000, &code);
    if (op == 8) { err = code == 4004 ? NULL : "closed with another code"; break; }
  }
  close(fd);
  stop();
  return (void *)err;
}

static void test_ping_does_not_extend_deadline(void **st)
{
  (void)st;
  ws_mode = 2;
  run_with_client("127.0.0.1", deadline_client);
}

/* A client that sends 3 MB of echo requests before reading any reply: the
 * kernel stops taking the server's output, which stays queued (partial
 * writes, EPOLLOUT) and arrives complete and in order once the client reads. */
#define BIG 50000
#define NBIG 60
static void *slow_reader_client(void *arg)
{
  (void)arg;
  static unsigned char frame[BIG + 8], got[BIG + 4];
  const char *err = NULL;
  int lp, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  for (int m = 0; m < NBIG && !err; m++) {
    frame[0] = 0x81; frame[1] = 0x80 | 126; frame[2] = BIG >> 8; frame[3] = BIG & 0xff;
    memset(frame + 4, 0, 4); /* zero mask: payload as is */
    for (int i = 0; i < BIG; i++) frame[8 + i] = (unsigned char)('a' + (m + i) % 26);
    if (write_all(fd, frame, BIG + 8)) err = "send failed";
  }
  for (int m = 0; m < NBIG && !err; m++) {
    if (read_all(fd, got, 4) || got[0] != 0x81 || (got[1] & 0x7f) != 126 || (got[2] << 8 | got[3]) != BIG) { err = "bad echo header"; break; }
    if (read_all(fd, got, BIG)) { err = "short echo"; break; }
    for (int i = 0; i < BIG; i++) if (got[i] != (unsigned char)('a' + (m + i) % 26)) { err = "echo out of order or corrupt"; break; }
  }
  close(fd);
  stop();
  return (void *)err;
}

/* ONE_BIG bytes in one frame, read only after a pause (the server has
 * written what the socket took and waits for EPOLLOUT), in small reads:
 * every byte in its place. */
static void *one_big_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  unsigned char h[10];
  static char got[64 * 1024];
  int lp, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  if (ws_send(fd, 1, "big")) err = "send failed";
  usleep(100 * 1000);
  uint64_t len = 0;
  if (!err && (read_all(fd, h, 10) || h[0] != 0x81 || (h[1] & 0x7f) != 127)) err = "bad header";
  for (int i = 2; i < 10 && !err; i++) len = len << 8 | h[i];
  if (!err && len != ONE_BIG) err = "wrong length";
  for (size_t at = 0; at < ONE_BIG && !err;) {
    size_t n = ONE_BIG - at < sizeof got ? ONE_BIG - at : sizeof got;
    if (read_all(fd, got, n)) { err = "short frame"; break; }
    for (size_t i = 0; i < n; i++)
      if (got[i] != (char)('a' + (at + i) % 23)) { err = "a part was written from the wrong offset"; break; }
    at += n;
  }
  close(fd);
  stop();
  return (void *)err;
}

static void test_one_buffer_written_in_parts(void **st)
{
  (void)st;
  ws_mode = 4;
  dial_rcvbuf = 4096;
  run_with_client("127.0.0.1", one_big_client);
  dial_rcvbuf = 0;
}

/* One text frame's payload (< 126 bytes) into p (NUL-terminated); 0, or -1. */
static int ws_recv_text(int fd, char *p)
{
  unsigned char h[2];
  if (read_all(fd, h, 2) || h[0] != 0x81 || (h[1] & 0x7f) >= 126 || read_all(fd, p, h[1] & 0x7f)) return -1;
  p[h[1] & 0x7f] = 0;
  return 0;
}

/* Held output leaves with the next turn's: three frames of three turns in
 * one write; held every turn, it still leaves within NET_HOLD_MAX_MS (50
 * frames over more than NET_HOLD_MAX_MS make several writes, not one at the end). */
static void *hold_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  char p[128], want[16];
  unsigned long long writes = 0, frames = 0;
  int lp, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  if (ws_send(fd, 1, "go")) err = "send failed";
  for (int i = 1; i <= 3 && !err; i++) {
    snprintf(want, sizeof want, "%d", i);
    if (ws_recv_text(fd, p) || strcmp(p, want)) err = "go: frames missing or out of order";
  }
  if (!err && (ws_send(fd, 1, "stats") || ws_recv_text(fd, p) || sscanf(p, "writes=%llu frames=%llu", &writes, &frames) != 2))
    err = "go: no stats";
  if (!err && (writes != 1 || frames != 3)) err = "go: three frames of three turns, two of them held, not in one write";
  if (!err && ws_send(fd, 1, "forever")) err = "send failed";
  for (int i = 1; i <= 50 && !err; i++) {
    snprintf(want, sizeof want, "%d", i);
    if (ws_recv_text(fd, p) || strcmp(p, want)) err = "forever: frames missing or out of order";
  }
  if (!err && (ws_send(fd, 1, "stats") || ws_recv_text(fd, p) || sscanf(p, "writes=%llu frames=%llu", &writes, &frames) != 2))
    err = "forever: no stats";
  if (!err && (frames != 50 || writes < 2)) err = "forever: output held in every turn was not written until the end";
  close(fd);
  stop();
  return (void *)err;
}

static void test_hold_output(void **st)
{
  (void)st;
  ws_mode = 3;
  run_with_client("127.0.0.1", hold_client);
}

/* WIDE_N WebSockets, "go" on the first: each gets one frame "x", one
 * connection written per turn (writes_per_turn 1). Meanwhile the last
 * connection is reset (SO_LINGER 0): it was listed and closes before the
 * write-out reaches it; every other one still gets its frame. */
static void *wide_client(void *arg)
{
  (void)arg;
  static int fds[WIDE_N];
  const char *err = NULL;
  int lp, n = 0;
  for (; n < WIDE_N; n++) if ((fds[n] = ws_open(AF_INET, &lp)) < 0) { err = "handshake failed"; break; }
  if (!err && ws_send(fds[0], 1, "go")) err = "send failed";
  if (!err) {
    struct linger l = { 1, 0 };
    setsockopt(fds[n - 1], SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fds[n - 1]); /* a reset: the server closes it while it is listed */
    fds[--n] = -1;
  }
  for (int i = 0; i < n && !err; i++) {
    unsigned char f[3];
    if (read_all(fds[i], f, 3) || f[0] != 0x81 || f[1] != 1 || f[2] != 'x') err = "a connection's frame is missing";
  }
  for (int i = 0; i < n; i++) close(fds[i]);
  stop();
  return (void *)err;
}

/* The write-out's cost per turn follows its writes, not the listed
 * backlog: with every WebSocket listed at once and one written per turn,
 * the median writing turn of the first tenth takes at most three times
 * as long as that of the last tenth. Before, each turn read the flags of every listed
 * connection (twice) while writing one: the first turns ~WIDE_N each. */
static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_write_turn_cost_flat(void **st)
{
  (void)st;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < 2 * WIDE_N + 64) skip();
  if (rl.rlim_cur < 2 * WIDE_N + 64) { rl.rlim_cur = 2 * WIDE_N + 64; setrlimit(RLIMIT_NOFILE, &rl); }
  ws_mode = 5;
  wide_n = wide_turns = wide_go = wide_sent = 0;
  run_with_client("127.0.0.1", wide_client);
  static uint64_t dur[WIDE_N * 4];
  int nd = 0;
  for (int i = 0; i + 1 < wide_turns && wide_w[i + 1] <= wide_base + (uint64_t)wide_sent - 1; i++) /* "x" frames only */
    if (wide_w[i + 1] > wide_w[i]) dur[nd++] = wide_t[i + 1] - wide_t[i];
  assert_true(nd >= WIDE_N / 2);
  int tenth = nd / 10; /* medians: a turn the box preempted weighs nothing */
  qsort(dur, (size_t)tenth, sizeof *dur, cmp_u64);
  qsort(dur + nd - tenth, (size_t)tenth, sizeof *dur, cmp_u64);
  uint64_t first = dur[tenth / 2], last = dur[nd - tenth + tenth / 2];
  print_message("writing turns %d: median of the first tenth %.1f us, of the last tenth %.1f us\n", nd,
                first / 1e3, last / 1e3);
  assert_true(first <= 3 * last);
}

static void test_slow_reader_gets_everything(void **st)
{
  (void)st;
  ws_mode = 0;
  run_with_client("127.0.0.1", slow_reader_client);
}

/* A turn's busy time (net_stats turns, turns_over_*, turn_max_us): a 300 ms
 * wait for input is not busy time (the poll blocked), a 6 ms callback is. */
static int turn_stats(int fd, unsigned long long v[4])
{
  char p[128];
  return ws_send(fd, 1, "turns") || ws_recv_text(fd, p) ||
         sscanf(p, "turns=%llu over2=%llu over5=%llu max_us=%llu", &v[0], &v[1], &v[2], &v[3]) != 4 ? -1 : 0;
}

static void *turn_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  char p[128];
  unsigned long long a[4], b[4], c[4];
  int lp, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  if (turn_stats(fd, a)) err = "no turn stats";
  usleep(300 * 1000); /* the loop blocks in its poll meanwhile */
  if (!err && turn_stats(fd, b)) err = "no turn stats after the wait";
  if (!err && b[0] <= a[0]) err = "no turn counted";
  if (!err && b[3] >= 150000) err = "a wait for input counted as busy time";
  if (!err && (ws_send(fd, 1, "busy") || ws_recv_text(fd, p) || strcmp(p, "ok"))) err = "busy: no answer";
  if (!err && turn_stats(fd, c)) err = "no turn stats after the busy turn";
  if (!err && (c[2] < b[2] + 1 || c[1] < b[1] + 1)) err = "a 6 ms turn not counted over 2 and 5 ms";
  if (!err && (c[3] < 6000 || c[3] >= 150000)) err = "the busiest turn is not the 6 ms one";
  close(fd);
  stop();
  return (void *)err;
}

static void test_turn_busy_time(void **st)
{
  (void)st;
  ws_mode = 6;
  run_with_client("127.0.0.1", turn_client);
}

/* REST replies and the turn (docs/decisions/loop-turns.md, wave 14). */
#define REST_CLIENTS 8
static int http_get(int fd)
{
  char head[512], body[2];
  return write_all(fd, arm_req, sizeof arm_req - 1) || read_head(fd, head, sizeof head) < 0 ||
         strncmp(head, "HTTP/1.1 200", 12) || read_all(fd, body, 2) ? -1 : 0;
}

static int rest_stat(int fd, const char *ask, const char *fmt, unsigned long long *v)
{
  char p[128];
  return ws_send(fd, 1, ask) || ws_recv_text(fd, p) || sscanf(p, fmt, v) != 1 ? -1 : 0;
}

/* Eight keep-alive REST clients whose requests arrive while the loop is
 * busy (read in one turn), write budget 1 connection per turn: every reply
 * goes out in the turn that read it, none is left to a later turn (the
 * budget left 7 of them before). */
static void *budget_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int fds[REST_CLIENTS], lp;
  unsigned long long a = 0, b = 0;
  int ws = ws_open(AF_INET, &lp);
  if (ws < 0) { stop(); return (void *)"handshake failed"; }
  for (int i = 0; i < REST_CLIENTS; i++)
    if ((fds[i] = dial(AF_INET, &lp)) < 0 || http_get(fds[i])) { err = "a first request failed"; break; }
  if (!err && rest_stat(ws, "stats", "deferred=%llu", &a)) err = "no stats";
  if (!err && ws_send(ws, 1, "busy")) err = "busy not sent";
  usleep(10 * 1000); /* the loop spins meanwhile: the requests below are read in one turn */
  for (int i = 0; !err && i < REST_CLIENTS; i++)
    if (write_all(fds[i], arm_req, sizeof arm_req - 1)) err = "a request not sent";
  for (int i = 0; !err && i < REST_CLIENTS; i++) {
    char head[512], body[2];
    if (read_head(fds[i], head, sizeof head) < 0 || read_all(fds[i], body, 2)) err = "a reply missing";
  }
  if (!err && rest_stat(ws, "stats", "deferred=%llu", &b)) err = "no stats after";
  if (!err && b != a) err = "REST replies were left to later turns by the write budget";
  for (int i = 0; i < REST_CLIENTS; i++) close(fds[i]);
  close(ws);
  stop();
  return (void *)err;
}

static void test_rest_replies_outside_write_budget(void **st)
{
  (void)st;
  ws_mode = 7;
  run_with_client("127.0.0.1", budget_client);
}

/* A keep-alive REST request that arrives after the turn's input passes
 * (sent from a callback of the poll phase) is read and answered in that
 * turn's check phase: its reply is written before the next turn's prepare
 * phase (before, it was read in the next turn's poll phase and answered
 * in that turn's check phase, after all of the next turn's other work). */
static void *in_turn_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int lp;
  unsigned long long written = 0;
  int ws = ws_open(AF_INET, &lp);
  if (ws < 0) { stop(); return (void *)"handshake failed"; }
  int fd = dial(AF_INET, &lp);
  if (fd < 0 || http_get(fd)) err = "the first request failed"; /* an opened keep-alive client */
  arm_fd = fd;
  if (!err && rest_stat(ws, "arm", "written=%llu", &written)) err = "no answer to arm";
  char head[512], body[2];
  if (!err && (read_head(fd, head, sizeof head) < 0 || read_all(fd, body, 2))) err = "the reply is missing";
  if (!err && written == 0) err = "the reply was not written in the turn its request arrived in";
  if (fd >= 0) close(fd);
  close(ws);
  stop();
  return (void *)err;
}

static void test_rest_read_in_check_phase(void **st)
{
  (void)st;
  ws_mode = 7;
  run_with_client("127.0.0.1", in_turn_client);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_remote_names_v4), cmocka_unit_test(test_remote_names_v6),
    cmocka_unit_test(test_ping_refreshes_idle_timeout), cmocka_unit_test(test_ping_does_not_extend_deadline),
    cmocka_unit_test(test_slow_reader_gets_everything), cmocka_unit_test(test_accepted_sockets_nodelay),
    cmocka_unit_test(test_hold_output), cmocka_unit_test(test_one_buffer_written_in_parts),
    cmocka_unit_test(test_write_turn_cost_flat), cmocka_unit_test(test_turn_busy_time),
    cmocka_unit_test(test_rest_replies_outside_write_budget), cmocka_unit_test(test_rest_read_in_check_phase),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
