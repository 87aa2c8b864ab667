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
  static const char *const args[] = { "--ws-close-grace-ms", "2000", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static uint64_t now_ms(void)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* What fd receives until EOF, a reset or 10 s of silence, appended to buf
 * (cap bytes); during the first stall_ms the server is stopped (the client
 * reads what the kernels hold meanwhile). Returns the bytes read; *err the
 * recv error that ended it, 0 at EOF, -1 at the silence. */
static size_t read_through_stall(int fd, char *buf, size_t cap, int stall_ms, int *err)
{
  size_t len = 0;
  uint64_t t0 = now_ms();
  int stopped = stall_ms > 0;
  if (stopped) e2e_stall(&srv, 1);
  for (;;) {
    if (stopped && now_ms() - t0 >= (uint64_t)stall_ms) { e2e_stall(&srv, 0); stopped = 0; }
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

/* A 413 whose reply waits unread in the client's receive buffer while the
 * server lingers; the server stops past NET_LINGER_MS while the client
 * sends more of its body. The reply, then EOF: no reset. */
static void test_linger_reads_what_came_during_a_stall(void **st)
{
  (void)st;
  static const char head[] = "POST /v4/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\nxxxx";
  for (int round = 0; round < 3; round++) {
    int fd = e2e_connect(srv.port);
    assert_true(fd >= 0);
    assert_int_equal(e2e_send(fd, head, sizeof head - 1), 0);
    struct pollfd p = { fd, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 10000), 1); /* the reply is written: the server lingers */
    char more[4096];
    memset(more, 'y', sizeof more);
    e2e_stall_sending(&srv, fd, more, sizeof more, STALL_MS);
    char buf[8192];
    int err = 0;
    size_t n = read_through_stall(fd, buf, sizeof buf - 1, 0, &err);
    buf[n] = 0;
    if (err || strncmp(buf, "HTTP/1.1 413 ", 13))
      fail_msg("round %d: a reply unread at a lingering close after a stall: %s after %zu bytes (%.40s)", round,
               err < 0 ? "no EOF" : err ? strerror(err) : "EOF", n, buf);
    close(fd);
  }
}

/* The frames in buf[0, len) (a server's, unmasked): text frames counted
 * (each must hold "code":0), the close frame's code, or -1 when none ends
 * them. */
static int frames(const unsigned char *b, size_t len, int *texts)
{
  size_t o = 0;
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
      if (!memmem(b + o + h, n, "\"code\":0", 8)) return -2;
      ++*texts;
    }
    o += h + n;
  }
  return -1;
}

/* A logged-in client pipelines HEARTBEATS heartbeats and a logout without
 * reading: the logout's close (1000) begins with most of the replies
 * queued by the server. The client then reads steadily while the server is
 * stopped past the grace, and on: every reply, then the close frame. */
#define HEARTBEATS 12000
static void test_ws_close_grace_is_about_progress(void **st)
{
  (void)st;
  static unsigned char req[HEARTBEATS * 48 + 64];
  static char got[4 << 20];
  char hb[64];
  size_t o = 0;
  for (int i = 0; i < HEARTBEATS; i++) {
    int l = snprintf(hb, sizeof hb, "{\"id\":%d,\"op\":\"heartbeat\"}", i + 2);
    o += e2e_ws_frame_put(req + o, 1, 1, hb, (size_t)l, 1);
  }
  static const char logout[] = "{\"id\":1,\"op\":\"logout\"}";
  o += e2e_ws_frame_put(req + o, 1, 1, logout, sizeof logout - 1, 1);
  char login[2048], buf[4096];
  int fd = e2e_connect_small(srv.port); /* a small window: the server queues most of the replies */
  assert_true(fd >= 0);
  assert_int_equal(e2e_ws_upgrade_send(fd, "/ws"), 0);
  assert_int_equal(e2e_ws_upgrade_finish(fd), 0);
  e2e_ws_login_frame(app, key, "close_grace", "Web", "dev-grace", login, sizeof login);
  assert_int_equal(e2e_ws_send_text(fd, login), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 10000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0); /* all read: the close has begun */
  int err = 0, texts = 0;
  size_t n = read_through_stall(fd, got, sizeof got, STALL_MS, &err);
  int code = frames((const unsigned char *)got, n, &texts);
  if (code != 1000 || texts != HEARTBEATS + 1)
    fail_msg("a steady reader of a closing WebSocket through a stall: %d of %d replies, close %d, then %s", texts,
             HEARTBEATS + 1, code, err < 0 ? "silence" : err ? strerror(err) : "EOF");
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
