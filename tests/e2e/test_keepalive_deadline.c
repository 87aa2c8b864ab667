/* End-to-end: the keep-alive deadlines (keepalive_idle_ms, 1 s here) and
 * the WebSocket idle timeout (ws_idle_timeout_ms, 1 s) against a client
 * that did nothing wrong (src/net/http.c net__http_deadline,
 * net__http_progress; src/net/conn.c net__read_late; decision 71).
 *
 * A stalled loop (the server stopped with SIGSTOP past the deadline while
 * the client acts, then continued: its next turn runs the deadline wheel
 * before it polls the sockets): an idle keep-alive connection whose next
 * request waited in the kernel was closed, the request lost; a WebSocket
 * whose ping waited was closed 4004. Now the deadline reads what waits
 * first.
 *
 * The slow readers of decision 71 (the deadline to take the replies is
 * about progress) are in test_keepalive_slow_reader.c, with a keep-alive of
 * 3 s: here a client starved of CPU for the whole 1 s would be cut off by
 * design.
 *
 * Nothing asserts how long anything took. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_stall.h"

#define STALL_MS 1500 /* past a 1 s deadline and two of the wheel's 250 ms ticks (a deadline fires
                       * within one tick of it, net__set_deadline) */

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--request-timeout-ms", "500", "--keepalive-idle-ms", "1000",
                                      "--ws-idle-timeout-ms", "1000", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static const char get_nope[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";

/* The idle deadline passes while the server is stopped and the client's
 * request waits in the kernel. A connection still opening (no request
 * served yet) is not read by the check phase's input pass (net__take_http),
 * which runs after a stopped poll: the next turn's timers came first, and
 * the connection was closed with the request unread (reset). A keep-alive
 * client is read by that pass when the stop found the loop in its poll,
 * but not when it stopped the loop in a turn, after that pass: stopped
 * right after its reply, it met the same end now and then. */
static void test_idle_deadline_reads_the_waiting_request(void **st)
{
  (void)st;
  char body[4096];
  /* silent: accepted once TCP_DEFER_ACCEPT stops waiting, then idle */
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  uint64_t t0 = e2e_now_ms();
  while (!e2e_server_holds(&srv, fd) && e2e_now_ms() - t0 < 30000) usleep(10000);
  assert_true(e2e_server_holds(&srv, fd));
  usleep(200000); /* the loop waits in its poll */
  e2e_stall_sending(&srv, fd, get_nope, sizeof get_nope - 1, STALL_MS);
  int s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 404) fail_msg("an opening connection's first request, waiting at its idle deadline: %d", s);
  /* kept alive: stopped right after each reply */
  for (int round = 0; round < 3; round++) {
    assert_int_equal(e2e_send(fd, get_nope, sizeof get_nope - 1), 0);
    assert_int_equal(e2e_http_read(fd, body, sizeof body, 10000), 404);
    e2e_stall_sending(&srv, fd, get_nope, sizeof get_nope - 1, STALL_MS);
    s = e2e_http_read(fd, body, sizeof body, 10000);
    if (s != 404) fail_msg("stall %d: a request that waited in the kernel at the idle deadline: %d", round + 1, s);
  }
  /* idle with nothing waiting: still closed */
  t0 = e2e_now_ms();
  while (e2e_server_holds(&srv, fd) && e2e_now_ms() - t0 < 30000) usleep(50000);
  if (e2e_server_holds(&srv, fd)) fail_msg("an idle connection still held after 30 s");
  close(fd);
}

/* A logged-in WebSocket's ping (and a heartbeat) arrives while the server
 * stalls past its idle timeout. */
static void test_ws_idle_timeout_reads_the_waiting_ping(void **st)
{
  (void)st;
  char buf[4096];
  int fd = e2e_ws_login(srv.port, app, key, "dl_ws", "Web", NULL, 0);
  assert_true(fd >= 0);
  unsigned char frame[64];
  size_t fl = e2e_ws_frame_put(frame, 9, 1, "hi", 2, 1);
  usleep(200000); /* the loop waits in its poll before the stop (as above) */
  e2e_stall_sending(&srv, fd, frame, fl, STALL_MS);
  int op = 0, code = 0;
  int len = e2e_ws_recv(fd, &op, buf, sizeof buf, 10000, &code);
  if (op != 10) fail_msg("a ping that waited at the idle timeout: opcode %d len %d close %d", op, len, code);
  static const char hb[] = "{\"id\":2,\"op\":\"heartbeat\"}";
  fl = e2e_ws_frame_put(frame, 1, 1, hb, sizeof hb - 1, 1);
  usleep(200000);
  e2e_stall_sending(&srv, fd, frame, fl, STALL_MS);
  len = e2e_ws_recv(fd, &op, buf, sizeof buf, 10000, &code);
  if (op != 1 || !strstr(buf, "\"code\":0")) fail_msg("a heartbeat that waited: opcode %d close %d %s", op, code, buf);
  /* silent: closed 4004 */
  len = e2e_ws_recv(fd, &op, buf, sizeof buf, 10000, &code);
  if (op != 8 || code != 4004) fail_msg("a silent WebSocket: opcode %d close %d", op, code);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_idle_deadline_reads_the_waiting_request),
    cmocka_unit_test(test_ws_idle_timeout_reads_the_waiting_ping),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
