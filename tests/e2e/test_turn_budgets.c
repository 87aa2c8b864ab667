/* End-to-end: a loop turn's writes and reads stop at their budgets
 * (src/net/net_int.h "loop turn budgets", src/net/out.c net__on_check),
 * the rest go first in the next turns, and a REST request read meanwhile is
 * answered before them instead of after all of them.
 *
 * The scene: 300 opened WebSockets (each answered once) and a keep-alive
 * REST client. The server is stopped (SIGSTOP); the REST client sends a
 * request bigger than the server's read buffer (64 KiB: it takes two reads,
 * so it completes in the second turn), then each WebSocket sends a
 * heartbeat. On SIGCONT one epoll wait reports the 301 sockets in the order
 * they became ready, the REST socket first. Turn 1 reads the first part of
 * the REST request and the heartbeats (as the read budget allows) and
 * writes their answers (as the write budget allows); turn 2 reads the rest
 * of the REST request first (what earlier turns left goes first) and writes
 * its reply first (HTTP first). So the WebSocket answers that reach their
 * clients before the REST reply are the ones turn 1 wrote: at most a turn's
 * budget. Without the budgets turn 1 wrote all 300. The order is read from
 * the kernel's receive timestamps (SO_TIMESTAMPNS), not from timings; the
 * budgets are set through the server's flags so that only one of them
 * limits the turn (the others are made too large to matter). Each
 * WebSocket gets its answer (nothing left over is lost) and /healthz counts
 * what was left for later turns. Each test runs its own server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define WS_N 300
#define BODY_BYTES 70000 /* more than the server's read buffer (NET_READ_BUF, 64 KiB) */

static e2e_server_t srv;

/* Wait for bytes on fd and read them with the kernel's receive timestamp
 * of the first segment; returns the bytes read (0 on timeout). */
static size_t recv_stamped(int fd, char *buf, size_t cap, struct timespec *at)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (poll(&p, 1, 10000) != 1) return 0;
  char ctl[256];
  struct iovec iov = { buf, cap };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  ssize_t n = recvmsg(fd, &mh, 0);
  if (n <= 0) return 0;
  memset(at, 0, sizeof *at);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) memcpy(at, CMSG_DATA(c), sizeof *at);
  return (size_t)n;
}

static int before(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* /healthz's loop.<name> counter. */
static unsigned long long loop_counter(int rest, const char *name)
{
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[16384], key[64];
  assert_int_equal(e2e_send(rest, get, sizeof get - 1), 0);
  assert_int_equal(e2e_http_read(rest, buf, sizeof buf, 5000), 200);
  snprintf(key, sizeof key, "\"%s\":", name);
  const char *p = strstr(buf, key);
  assert_non_null(p);
  return strtoull(p + strlen(key), NULL, 10);
}

/* The scene above; returns how many WebSocket answers reached their
 * clients before the REST reply, and checks every one arrived. */
static int ws_answers_before_rest_reply(int rest)
{
  static int ws[WS_N];
  static char body[BODY_BYTES];
  char buf[8192], head[256];
  int one = 1;
  for (int i = 0; i < WS_N; i++) {
    assert_true((ws[i] = e2e_ws_connect(srv.port, "/ws")) >= 0);
    assert_int_equal(e2e_ws_send_text(ws[i], "{\"id\":1,\"op\":\"heartbeat\"}"), 0); /* its first message: opened */
    assert_true(recv_stamped(ws[i], buf, sizeof buf, &(struct timespec){ 0 }) > 2);
    assert_int_equal(setsockopt(ws[i], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one), 0);
  }
  assert_int_equal(setsockopt(rest, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one), 0);
  memset(body, 'x', sizeof body);
  int hn = snprintf(head, sizeof head, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", BODY_BYTES);

  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  assert_int_equal(e2e_send(rest, head, (size_t)hn), 0);
  assert_int_equal(e2e_send(rest, body, sizeof body), 0);
  usleep(50 * 1000); /* the REST socket became ready first */
  for (int i = 0; i < WS_N; i++) assert_int_equal(e2e_ws_send_text(ws[i], "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  usleep(200 * 1000); /* everything is in the server's socket buffers */
  assert_int_equal(kill(srv.pid, SIGCONT), 0);

  struct timespec rest_at, at;
  size_t n = recv_stamped(rest, buf, sizeof buf - 1, &rest_at);
  assert_true(n > 0);
  buf[n] = 0;
  assert_non_null(strstr(buf, "HTTP/1.1 200"));
  if (!strstr(buf, "\r\n\r\n") || !strchr(strstr(buf, "\r\n\r\n"), '}')) /* the rest of the reply */
    (void)e2e_recv_all(rest, buf, sizeof buf, 200);
  int ahead = 0;
  for (int i = 0; i < WS_N; i++) {
    n = recv_stamped(ws[i], buf, sizeof buf, &at);
    assert_true(n > 2); /* every answer arrived: nothing left over was lost */
    assert_non_null(memmem(buf, n, "\"op\":\"heartbeat\"", 16));
    ahead += before(&at, &rest_at);
  }
  for (int i = 0; i < WS_N; i++) close(ws[i]);
  return ahead;
}

/* The write budget: 32 connections per turn (time unbounded, reads too). */
static void test_write_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-writes-per-turn", "32", "--net-write-turn-us", "1000000",
                                      "--net-read-turn-us", "1000000", NULL };
  assert_int_equal(e2e_start(&srv, NULL, NULL, NULL, args), 0);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  unsigned long long deferred0 = loop_counter(rest, "writes_deferred");
  int ahead = ws_answers_before_rest_reply(rest);
  print_message("WebSocket answers written before the REST reply: %d of %d (write budget 32 per turn)\n", ahead, WS_N);
  if (ahead > WS_N / 2) fail_msg("the REST reply waited for %d WebSocket writes of earlier turns", ahead);
  assert_true(loop_counter(rest, "writes_deferred") > deferred0);
  close(rest);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* The read budget: 1 µs of WebSocket reads per turn (the turn's first read
 * always runs: one per turn), writes unbounded. */
static void test_read_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-read-turn-us", "1", "--net-writes-per-turn", "1000000",
                                      "--net-write-turn-us", "1000000", NULL };
  assert_int_equal(e2e_start(&srv, NULL, NULL, NULL, args), 0);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  unsigned long long deferred0 = loop_counter(rest, "reads_deferred");
  int ahead = ws_answers_before_rest_reply(rest);
  print_message("WebSocket answers written before the REST reply: %d of %d (read budget 1 us per turn)\n", ahead, WS_N);
  if (ahead > WS_N / 2) fail_msg("the REST request waited for %d WebSocket reads of earlier turns", ahead);
  assert_true(loop_counter(rest, "reads_deferred") > deferred0);
  close(rest);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_write_budget),
    cmocka_unit_test(test_read_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
