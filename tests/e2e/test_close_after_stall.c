/* End-to-end: closing after a stall loses nothing the client sent or was
 * owed (decision §83; src/net/linger.c net__linger_due, src/net/ws_close.c).
 *
 * A lingering close (an HTTP connection closed after its reply, reading
 * and dropping what the client still sends for NET_LINGER_MS): when the
 * server stalled past that bound (stopped with SIGSTOP, e2e_stall.h) while
 * the client sent more, the deadline closed the socket with that input
 * unread, and the kernel answered with a reset that destroyed the reply the
 * client had not read yet. Now what waits is read first.
 *
 * A closing WebSocket's grace (ws_close_grace_ms, 2 s here) was total time:
 * a client reading its queued output steadily through a stall of the
 * server lost the rest of it and the close frame. Now the grace is about
 * progress (what the client's kernel acknowledged), bounded at 4 × it.
 *
 * The stalls create the conditions; nothing asserts how long anything
 * took. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_stall.h"

#define STALL_MS 2500 /* past NET_LINGER_MS and ws_close_grace_ms (2 s) and the wheel's 250 ms tick */

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  /* a queue cap above the WebSocket test's 6 MB of replies (the default, 4 MiB, would close it 1008) */
  static const char *const args[] = { "--ws-close-grace-ms", "2000", "--ws-max-queued-bytes", "16777216", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* What fd receives until EOF, a reset or 10 s of silence, appended to buf
 * (cap bytes); during the first stall_ms the server is stopped (the client
 * reads what the kernels hold meanwhile). Returns the bytes read; *err the
 * recv error that ended it, 0 at EOF, -1 at the silence. */
static size_t read_through_stall(int fd, char *buf, size_t cap, int stall_ms, int *err)
{
  size_t len = 0;
  uint64_t t0 = e2e_now_ms();
  int stopped = stall_ms > 0;
  if (stopped) e2e_stall(&srv, 1);
  for (;;) {
    if (stopped && e2e_now_ms() - t0 >= (uint64_t)stall_ms) { e2e_stall(&srv, 0); stopped = 0; }
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, stopped ? 50 : 10000) != 1) {
      if (stopped) continue;
      *err = -1;
      return len;
    }
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n <= 0 || len + (size_t)n == cap) {
      if (stopped) e2e_stall(&srv, 0);
      *err = n < 0 ? errno : 0;
      return len + (n > 0 ? (size_t)n : 0);
    }
    len += (size_t)n;
  }
}

/* How many times needle occurs in buf[0, len). */
static int count(const char *buf, size_t len, const char *needle)
{
  int n = 0;
  size_t nl = strlen(needle);
  for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), needle, nl)); p += nl) n++;
  return n;
}

/* Pipelined GETs, then a 413 that closes the connection: the replies (tens
 * of KB) are written, most of them still in the server's kernel behind the
 * client's small receive window, and the server lingers (its FIN waits
 * behind them). The server stops past NET_LINGER_MS while the client sends
 * more of the 413's body; then the client reads steadily. Every reply, then
 * EOF: before, the deadline closed the socket with that input unread, and
 * the reset it sent destroyed the replies still in flight (ECONNRESET after
 * the first few KB). */
#define LINGER_GETS 24
static void test_linger_reads_what_came_during_a_stall(void **st)
{
  (void)st;
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  static const char head[] = "POST /v4/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\nxxxx";
  static char req[LINGER_GETS * sizeof get + sizeof head], got[1 << 20];
  size_t o = 0;
  for (int i = 0; i < LINGER_GETS; i++, o += sizeof get - 1) memcpy(req + o, get, sizeof get - 1);
  memcpy(req + o, head, sizeof head - 1);
  o += sizeof head - 1;
  for (int round = 0; round < 3; round++) {
    int fd = e2e_connect_small(srv.port);
    assert_true(fd >= 0);
    assert_int_equal(e2e_send(fd, req, o), 0);
    /* the replies are written and the sending side shut down: the server lingers */
    for (int waited = 0; e2e_server_sock_state(srv.port, fd) != E2E_TCP_FIN_WAIT1; waited += 10) {
      if (waited >= 20000) fail_msg("round %d: the server did not linger (state %d)", round, e2e_server_sock_state(srv.port, fd));
      usleep(10000);
    }
    char more[4096];
    memset(more, 'y', sizeof more);
    e2e_stall_sending(&srv, fd, more, sizeof more, STALL_MS);
    int err = 0;
    size_t n = read_through_stall(fd, got, sizeof got, 0, &err);
    int replies = count(got, n, "HTTP/1.1 200 "), big = count(got, n, "HTTP/1.1 413 ");
    if (err || replies != LINGER_GETS || big != 1)
      fail_msg("round %d: replies lost at a lingering close after a stall: %d of %d 200s, %d 413, then %s after %zu bytes",
               round, replies, LINGER_GETS, big, err < 0 ? "no EOF" : err ? strerror(err) : "EOF", n);
    close(fd);
  }
}

/* The frames in buf[0, len) (a server's, unmasked): text frames counted
 * (each must hold needle), the close frame's code; -1 when no close frame
 * ends them, -2 at a text frame without needle. */
static int frames(const unsigned char *b, size_t len, const char *needle, int *texts)
{
  size_t o = 0, nl = strlen(needle);
  *texts = 0;
  while (o + 2 <= len) {
    int op = b[o] & 0x0f;
    uint64_t n = b[o + 1] & 0x7f;
    size_t h = 2;
    if (n == 126) { if (o + 4 > len) break; n = (uint64_t)b[o + 2] << 8 | b[o + 3]; h = 4; }
    else if (n == 127) { if (o + 10 > len) break; n = 0; for (int i = 0; i < 8; i++) n = n << 8 | b[o + 2 + i]; h = 10; }
    if (o + h + n > len) break;
    if (op == 8) return n >= 2 ? b[o + h] << 8 | b[o + h + 1] : 0;
    if (op == 1) {
      if (!memmem(b + o + h, n, needle, nl)) return -2;
      ++*texts;
    }
    o += h + n;
  }
  return -1;
}

/* A logged-in client pipelines BIG_REPLIES heartbeats whose string ids are
 * BIG_ID bytes long, and a logout, without reading. Each frame passes the
 * heartbeat's 1 KiB limit and is refused with its id echoed: about 6 MB of
 * replies, more than the kernels hold (a loopback send buffer grows to
 * 4 MiB), so the logout's close (1000) begins with megabytes still queued
 * in the server. The client then reads steadily while the server is stopped
 * past the grace (the kernel delivers what it holds), and on: every reply,
 * then the close frame. Before, the grace was total time: the next turn
 * dropped what was still queued and closed (the stream ends short, no close
 * frame). */
#define BIG_REPLIES 100
#define BIG_ID 60000
static void test_ws_close_grace_is_about_progress(void **st)
{
  (void)st;
  static unsigned char req[BIG_REPLIES * (BIG_ID + 64 + E2E_WS_HEAD_MAX) + 64];
  static char hb[BIG_ID + 64], got[8 << 20];
  static const char open_id[] = "{\"id\":\"", close_id[] = "\",\"op\":\"heartbeat\"}";
  memcpy(hb, open_id, sizeof open_id - 1);
  memset(hb + sizeof open_id - 1, 'a', BIG_ID);
  memcpy(hb + sizeof open_id - 1 + BIG_ID, close_id, sizeof close_id - 1);
  size_t o = 0, hl = sizeof open_id - 1 + BIG_ID + sizeof close_id - 1;
  for (int i = 0; i < BIG_REPLIES; i++) o += e2e_ws_frame_put(req + o, 1, 1, hb, hl, 1);
  static const char logout[] = "{\"id\":1,\"op\":\"logout\"}";
  o += e2e_ws_frame_put(req + o, 1, 1, logout, sizeof logout - 1, 1);
  char login[2048], buf[4096];
  int fd = e2e_connect_small(srv.port); /* a small window: the server's kernel and queue hold the replies */
  assert_true(fd >= 0);
  struct timeval to = { 60, 0 }; /* the server reads 6 MB: a loaded box may take more than e2e_connect_small's 2 s */
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof to);
  assert_int_equal(e2e_ws_upgrade_send(fd, "/ws"), 0);
  assert_int_equal(e2e_ws_upgrade_finish(fd), 0);
  e2e_ws_login_frame(app, key, "close_grace", "Web", "dev-grace", login, sizeof login);
  assert_int_equal(e2e_ws_send_text(fd, login), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 10000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 30000), 0); /* all read: the close has begun */
  long long queued = e2e_healthz_stat(srv.port, "ws_out", "queued_bytes");
  if (queued <= 0) fail_msg("the close began with nothing queued in the server: the test checks nothing");
  int err = 0, texts = 0;
  size_t n = read_through_stall(fd, got, sizeof got, STALL_MS, &err);
  int code = frames((const unsigned char *)got, n, "\"id\":", &texts);
  if (code != 1000 || texts != BIG_REPLIES + 1)
    fail_msg("a steady reader of a closing WebSocket through a stall: %d of %d replies, close %d, then %s after %zu bytes"
             " (%lld queued at the close)", texts, BIG_REPLIES + 1, code, err < 0 ? "silence" : err ? strerror(err) : "EOF",
             n, queued);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_linger_reads_what_came_during_a_stall),
    cmocka_unit_test(test_ws_close_grace_is_about_progress),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
