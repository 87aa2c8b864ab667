/* End-to-end: an HTTP request's deadline (request_timeout_ms, 500 ms here)
 * against the input and the pauses that are the server's doing, not the
 * client's (src/net/http.c read_late; decision 68).
 *
 * A stalled loop: the server is stopped (SIGSTOP) after it read the first
 * bytes of a request, the client sends the rest, and the server continues
 * (SIGCONT) after the deadline passed. Its next loop turn runs the deadline
 * wheel before it polls the socket: the request was answered 408, its rest
 * unread. Now the deadline reads what waits in the kernel first and the
 * request gets its answer. Once per request: a client dripping bytes still
 * gets its 408, stalls or not.
 *
 * The stops create the conditions; nothing asserts how long anything took. */
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
#include <unistd.h>

#include "e2e.h"

#define STALL_MS 1500 /* the loop's stall: three request timeouts */

static e2e_server_t srv;
static uint32_t app;
static char key[80], sig[1024], hold[128];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--request-timeout-ms", "500", "--keepalive-idle-ms", "4000", NULL };
  if (e2e_start_sync_held(&srv, hold, sizeof hold, "httpdl", "china", &app, key, args)) return -1;
  e2e_usersig(app, key, "administrator", 3600, sig, sizeof sig);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static uint64_t now_ms(void)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* Stop the server, send bytes (the kernel takes them), keep it stopped past
 * the request's deadline, continue it. */
static void stall_sending(int fd, const char *bytes)
{
  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  assert_int_equal(e2e_send(fd, bytes, strlen(bytes)), 0);
  usleep(STALL_MS * 1000);
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
}

/* A connection that sent the first bytes of a request, all of them read. */
static int begun(const char *head)
{
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, head, strlen(head)), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  return fd;
}

static void test_stalled_loop_reads_the_rest_first(void **st)
{
  (void)st;
  char body[4096];
  /* a new connection (its input waits for the next turn's share) */
  int fd = begun("GET /nope HTTP/1.1\r\nHo");
  stall_sending(fd, "st: x\r\n\r\n");
  int s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 404) fail_msg("a request whose rest waited in the kernel through a stall: %d %s", s, body);
  /* the connection is kept: a request that was served, then one cut by a stall */
  static const char get[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(e2e_send(fd, get, sizeof get - 1), 0);
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 10000), 404);
  assert_int_equal(e2e_send(fd, "GET /healthz HTTP/1.1\r\nHo", 25), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  stall_sending(fd, "st: x\r\n\r\n");
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 10000), 200);
  close(fd);
}

/* Whether a reply has started to arrive on fd within wait_ms. */
static int replied(int fd, int wait_ms)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  return poll(&p, 1, wait_ms) == 1;
}

static void test_dripping_client_gets_408(void **st)
{
  (void)st;
  char body[4096];
  /* a byte every 100 ms: the request is never complete */
  int fd = begun("GET /nope HTTP/1.1\r\nX-Drip: a");
  uint64_t t0 = now_ms();
  while (!replied(fd, 100) && now_ms() - t0 < 20000) assert_int_equal(e2e_send(fd, "a", 1), 0);
  if (!replied(fd, 0)) fail_msg("no answer to a client dripping for 20 s");
  int s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 408) fail_msg("a dripping client: %d", s);
  close(fd);
  /* a byte waiting at every deadline (the loop stalls across each): the
   * deadline reads it once, the request is still incomplete, 408 */
  fd = begun("GET /nope HTTP/1.1\r\nX-Drip: a");
  int stalls = 0;
  for (; stalls < 12 && !replied(fd, 100); stalls++) stall_sending(fd, "a");
  if (!replied(fd, 0)) fail_msg("no answer while the client dripped across %d stalls: each late byte bought more time", stalls);
  s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 408) fail_msg("a client dripping across %d stalls: %d", stalls, s);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stalled_loop_reads_the_rest_first),
    cmocka_unit_test(test_dripping_client_gets_408),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
