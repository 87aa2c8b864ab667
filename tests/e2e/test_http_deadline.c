/* End-to-end: an HTTP request's deadline (request_timeout_ms, 500 ms here)
 * against the input and the pauses that are the server's doing, not the
 * client's (src/net/http.c read_late, pause_read; decision 68).
 *
 * A stalled loop: the server is stopped (SIGSTOP) after it read the first
 * bytes of a request, the client sends the rest, and the server continues
 * (SIGCONT) after the deadline passed. Its next loop turn runs the deadline
 * wheel before it polls the socket: the request was answered 408, its rest
 * unread. Now the deadline reads what waits in the kernel first and the
 * request gets its answer. Once per request: a client dripping bytes still
 * gets its 408, stalls or not.
 *
 * A paused pipeline: 32 requests the application holds (writes whose sync
 * is held, e2e_start_sync_held) stop the server reading a connection with a
 * request cut between two reads; that request timed out (408) while the
 * server held it. Now it has no deadline until reading resumes; and once
 * the held replies pass the 1 MiB cap while the connection is paused, the
 * client has keepalive_idle_ms to take them, then it is cut off.
 *
 * The stops create the conditions; nothing asserts how long anything took. */
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

#define STALL_MS 1000 /* the loop's stall: past the 500 ms request timeout and two of the wheel's
                       * 250 ms ticks (a deadline fires within one tick of it, net__set_deadline) */

static e2e_server_t srv;
static uint32_t app;
static char key[80], sig[1024], hold[128];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--request-timeout-ms", "500", "--keepalive-idle-ms", "3000", NULL };
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

/* Stop the server, send bytes (the kernel takes them), keep it stopped past
 * the request's deadline, continue it. */
static void stall_sending(int fd, const char *bytes)
{
  e2e_stall_sending(&srv, fd, bytes, strlen(bytes), STALL_MS);
}

static int begun(const char *head) { return e2e_begun(srv.port, head); }

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
  uint64_t t0 = e2e_now_ms();
  while (!replied(fd, 100) && e2e_now_ms() - t0 < 20000) assert_int_equal(e2e_send(fd, "a", 1), 0);
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

/* Append to buf at *o a write whose reply waits for the (held) sync. */
static void add_import(char *buf, size_t cap, size_t *o, const char *user)
{
  char b[128];
  int bl = snprintf(b, sizeof b, "{\"UserID\":\"%s\"}", user);
  *o += (size_t)snprintf(buf + *o, cap - *o,
                         "POST /v4/im_open_login_svc/account_import?sdkappid=%u&identifier=administrator&usersig=%s"
                         "&random=1&contenttype=json HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s",
                         app, sig, bl, b);
}

/* 32 held writes (NET_MAX_PIPELINE: reading pauses) and the first bytes of
 * a 33rd request; its rest is sent once the server has read the rest (it
 * waits in the kernel while the pipeline is full), then the server holds
 * them past the request's deadline. */
static void test_full_pipeline_holds_no_deadline(void **st)
{
  (void)st;
  static char req[65536];
  char body[4096];
  size_t o = 0;
  e2e_sync_hold(hold, 1);
  for (int i = 0; i < 32; i++) {
    char u[32];
    snprintf(u, sizeof u, "dl_full_%d", i);
    add_import(req, sizeof req, &o, u);
  }
  o += (size_t)snprintf(req + o, sizeof req - o, "GET /nope HTTP/1.1\r\nHo");
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  assert_int_equal(e2e_send(fd, "st: x\r\n\r\n", 9), 0);
  usleep(STALL_MS * 1000); /* the writes are held past the 33rd request's deadline */
  e2e_sync_hold(hold, 0);
  for (int i = 0; i < 32; i++) {
    int s = e2e_http_read(fd, body, sizeof body, 10000);
    if (s != 200 || !strstr(body, "\"ErrorCode\":0")) fail_msg("reply %d: %d %s", i + 1, s, body);
  }
  int s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 404) fail_msg("the request read across the full pipeline: %d %s", s, body);
  close(fd);
}

/* A held write, then enough GET /healthz for their replies to pass the
 * 1 MiB cap (NET_HTTP_MAX_QUEUED) once the write is answered, then the first
 * bytes of a last request; its rest follows at once (it waits in the kernel).
 * The client does not read (a small receive buffer: the replies stay
 * queued). Returns the connection and the number of replies before the
 * last request's. */
static int paused_past_cap(int *replies)
{
  static char req[65536];
  char body[16384];
  int hz = e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body);
  assert_int_equal(hz, 200);
  size_t n = ((size_t)3 << 20) / strlen(body) + 32; /* bodies alone: 3 MiB */
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_true(n * (sizeof get - 1) + 1024 < sizeof req);
  size_t o = 0;
  e2e_sync_hold(hold, 1);
  add_import(req, sizeof req, &o, "dl_cap");
  for (size_t i = 0; i < n; i++) { memcpy(req + o, get, sizeof get - 1); o += sizeof get - 1; }
  o += (size_t)snprintf(req + o, sizeof req - o, "GET /nope HTTP/1.1\r\nHo");
  int fd = e2e_connect_small(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  assert_int_equal(e2e_send(fd, "st: x\r\n\r\n", 9), 0);
  usleep(STALL_MS * 1000); /* the write is held past the last request's deadline */
  e2e_sync_hold(hold, 0);
  *replies = (int)n + 1;
  return fd;
}

static void test_replies_past_cap_while_paused(void **st)
{
  (void)st;
  char body[16384];
  int n;
  /* the client takes its time (STALL_MS, under the 3 s keepalive_idle_ms), then reads everything */
  int fd = paused_past_cap(&n);
  usleep(STALL_MS * 1000);
  for (int i = 0; i < n; i++) {
    int s = e2e_http_read(fd, body, sizeof body, 10000);
    if (s != 200) fail_msg("reply %d of %d: %d", i + 1, n, s);
  }
  int s = e2e_http_read(fd, body, sizeof body, 10000);
  if (s != 404) fail_msg("the request read after the replies were taken: %d %s", s, body);
  close(fd);
  /* a client that never reads them is cut off (keepalive_idle_ms, 3 s) */
  fd = paused_past_cap(&n);
  uint64_t t0 = e2e_now_ms();
  while (e2e_server_holds(&srv, fd) && e2e_now_ms() - t0 < 30000) usleep(50000);
  if (e2e_server_holds(&srv, fd)) fail_msg("a client that took none of its replies still held after 30 s");
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stalled_loop_reads_the_rest_first),
    cmocka_unit_test(test_dripping_client_gets_408),
    cmocka_unit_test(test_full_pipeline_holds_no_deadline),
    cmocka_unit_test(test_replies_past_cap_while_paused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
