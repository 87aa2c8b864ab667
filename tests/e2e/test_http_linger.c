/* End-to-end: the lingering close of an HTTP connection the server closes
 * after an error reply (src/net/linger.c). A client that sends its whole
 * request, body included, in one write and only then reads (Python
 * requests, Node http, curl --data) must get the reply and then EOF: the
 * server shuts down its sending side once the reply is written and reads
 * and discards what the client still sends, for at most NET_LINGER_MS and
 * NET_LINGER_BYTES, instead of closing a socket with unread input (which
 * makes the kernel send a reset that destroys the reply before the client
 * reads it). Checked: 413, 400 and 431 replies to one-write requests, 200
 * times for 413 (the reset was a race); a lingering connection the client
 * never closes is closed at the time bound, one that keeps sending at the
 * byte bound; lingering connections are given up at once when the server
 * runs out of descriptors. And a closing connection whose client takes
 * none of its last replies is cut off after keepalive_idle_ms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define ONE_WRITE (1u << 20) /* a request's bytes, sent with one send() */

static e2e_server_t srv;

static int setup(void **st)
{
  (void)st;
  const char *args[] = { "--max-body-bytes", "65536", "--keepalive-idle-ms", "1000", NULL };
  return e2e_start(&srv, NULL, NULL, NULL, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void send_timeout(int fd, int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Read what fd receives until EOF, an error or 5 s of silence. 0 if it is
 * one whole reply with status want (status line, headers, Content-Length
 * body) followed by EOF; otherwise -1 with the reason in why. */
static int read_reply_then_eof(int fd, int want, char *why, size_t cap)
{
  char buf[8192];
  size_t len = 0;
  for (;;) {
    struct pollfd pf = { fd, POLLIN, 0 };
    if (poll(&pf, 1, 5000) <= 0) { snprintf(why, cap, "no EOF after %zu bytes", len); return -1; }
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n < 0) { snprintf(why, cap, "recv: %s after %zu bytes", strerror(errno), len); return -1; }
    if (n == 0) break;
    len += (size_t)n;
    if (len == sizeof buf - 1) { snprintf(why, cap, "reply too long"); return -1; }
  }
  buf[len] = 0;
  char status[32];
  snprintf(status, sizeof status, "HTTP/1.1 %d ", want);
  const char *end = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
  if (strncmp(buf, status, strlen(status)) || !end || !cl) { snprintf(why, cap, "not a %d reply: %.60s", want, buf); return -1; }
  size_t body = (size_t)strtoul(cl + 16, NULL, 10), got = len - (size_t)(end + 4 - buf);
  if (got != body) { snprintf(why, cap, "body %zu bytes, Content-Length %zu", got, body); return -1; }
  return 0;
}

/* ONE_WRITE bytes: head, then filler; sent with one blocking send() (its
 * error, if any, is what a client sees first; reading follows anyway). */
static int one_write_request(const char *head, char fill)
{
  static char req[ONE_WRITE];
  size_t hl = strlen(head);
  memcpy(req, head, hl);
  memset(req + hl, fill, sizeof req - hl);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  send_timeout(fd, 5000);
  (void)send(fd, req, sizeof req, MSG_NOSIGNAL);
  return fd;
}

/* rounds requests from head, each must get the whole reply `want` and EOF. */
static void replies_survive(const char *head, char fill, int want, int rounds)
{
  int bad = 0;
  char why[160], first[200] = "";
  for (int i = 0; i < rounds; i++) {
    int fd = one_write_request(head, fill);
    if (read_reply_then_eof(fd, want, why, sizeof why)) {
      if (!bad++) snprintf(first, sizeof first, "round %d: %s", i, why);
    }
    close(fd);
  }
  if (bad) fail_msg("%d of %d one-write requests lost their %d reply (first: %s)", bad, rounds, want, first);
}

static void test_413_after_one_write(void **st)
{
  (void)st;
  replies_survive("POST /v4/im_open_login_svc/account_import HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n",
                  'a', 413, 200);
}

static void test_400_and_431_after_one_write(void **st)
{
  (void)st;
  replies_survive("POST /v4/a/b HTTP/1.1\r\nHost: x\r\nBad Header Line\r\nContent-Length: 2000000\r\n\r\n", 'a', 400, 50);
  replies_survive("POST /v4/a/b HTTP/1.1\r\nHost: x\r\nX-Big: ", 'a', 431, 50);
}

/* A 413 on a fresh connection whose reply and EOF were read; the client
 * keeps its side open. */
static int lingering_connection(void)
{
  static const char head[] = "POST /v4/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\nxxxx";
  char why[160];
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  send_timeout(fd, 3000);
  assert_int_equal(e2e_send(fd, head, sizeof head - 1), 0);
  if (read_reply_then_eof(fd, 413, why, sizeof why)) fail_msg("%s", why);
  return fd;
}

/* A client that never closes: its connection stays open (what it sends is
 * read, not answered with a reset) until the bound, NET_LINGER_MS (2 s,
 * seen at the timer wheel's 250 ms ticks), then the server closes it. */
static void test_linger_ends_at_time_bound(void **st)
{
  (void)st;
  uint64_t t0 = e2e_now_ms();
  int fd = lingering_connection();
  assert_true(e2e_server_holds(&srv, fd));
  uint64_t closed_at = 0;
  char bytes[100];
  memset(bytes, 'b', sizeof bytes);
  while (e2e_now_ms() - t0 < 6000) {
    if (!e2e_server_holds(&srv, fd)) { closed_at = e2e_now_ms() - t0; break; }
    /* the server still holds it: what the client sends is taken and dropped
     * (a reset means it closed since the count above) */
    if (send(fd, bytes, sizeof bytes, MSG_NOSIGNAL) != (ssize_t)sizeof bytes) {
      if (errno != EPIPE && errno != ECONNRESET) fail_msg("send: %s", strerror(errno));
      closed_at = e2e_now_ms() - t0;
      break;
    }
    usleep(50000);
  }
  close(fd);
  if (!closed_at) fail_msg("the lingering connection was still open after 6 s");
  if (closed_at < 1500 || closed_at > 3500) fail_msg("closed after %llu ms, not about 2 s", (unsigned long long)closed_at);
}

/* A client that closes its side with its last bytes (data and FIN in one
 * event): the server reads on to the EOF and closes then, instead of
 * holding the connection until the time bound. */
static void test_linger_ends_at_client_eof(void **st)
{
  (void)st;
  int fd = lingering_connection();
  char bytes[1000];
  memset(bytes, 'd', sizeof bytes);
  usleep(100000);
  uint64_t t0 = e2e_now_ms();
  assert_int_equal(e2e_send(fd, bytes, sizeof bytes), 0);
  shutdown(fd, SHUT_WR);
  while (e2e_server_holds(&srv, fd) && e2e_now_ms() - t0 < 3000) usleep(20000);
  uint64_t took = e2e_now_ms() - t0;
  close(fd);
  if (took > 1000) fail_msg("the server held the connection %llu ms after the client's EOF", (unsigned long long)took);
}

/* A client that keeps sending: the server stops at NET_LINGER_BYTES (1 MiB)
 * and closes; the client's sends then fail long before 32 MiB (what the
 * time bound alone would let a loopback client push in 2 s is far more). */
static void test_linger_ends_at_byte_bound(void **st)
{
  (void)st;
  int fd = lingering_connection();
  static char chunk[65536];
  memset(chunk, 'c', sizeof chunk);
  size_t sent = 0;
  int err = 0;
  uint64_t t0 = e2e_now_ms();
  while (sent < (32u << 20)) {
    ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
    if (n < 0) { err = errno; break; }
    sent += (size_t)n;
  }
  close(fd);
  if (err != EPIPE && err != ECONNRESET)
    fail_msg("sent %zu bytes in %llu ms without a reset (errno %d)", sent, (unsigned long long)(e2e_now_ms() - t0), err);
}

/* Out of descriptors, the server gives up its lingering connections at
 * once for a new client instead of leaving it in the accept queue until
 * their time bound: with the open-files limit at the lowest descriptor the
 * server does not hold (two lingering connections below it), a new request
 * is answered well before the 2 s bound. */
static void test_fd_pressure_ends_lingering(void **st)
{
  (void)st;
  int a = lingering_connection(), b = lingering_connection();
  struct rlimit saved, tight;
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, NULL, &saved), 0);
  tight = saved;
  tight.rlim_cur = (rlim_t)e2e_fd_limit_leaving(srv.pid, 0); /* accept4 fails with EMFILE */
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, &tight, NULL), 0);
  uint64_t t0 = e2e_now_ms();
  char body[16384];
  int st_code = e2e_http_timeout(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body, 5000);
  uint64_t took = e2e_now_ms() - t0;
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, &saved, NULL), 0);
  close(a);
  close(b);
  assert_int_equal(st_code, 200);
  if (took > 1000) fail_msg("a new client waited %llu ms for descriptors held by lingering connections", (unsigned long long)took);
}

/* A client that pipelines requests and never reads, then sends one the
 * server refuses: the error reply waits behind replies the kernel cannot
 * take, and the connection, closing, is torn down when keepalive_idle_ms
 * (1 s here) passes without the client reading, its unsent output dropped,
 * as a paused reader's is (it was held until the client went away). */
static void test_unread_closing_reply_is_bounded(void **st)
{
  (void)st;
  static const char req[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", bad[] = "GARBAGE\r\n\r\n";
  enum { N = 20000 }; /* about 5.5 MB of replies: more than the kernel takes for a 4 KiB reader (14,000-40,000 tried) */
  const size_t rl = sizeof req - 1;
  char *batch = malloc(rl * N + sizeof bad);
  assert_non_null(batch);
  for (int i = 0; i < N; i++) memcpy(batch + (size_t)i * rl, req, rl);
  memcpy(batch + rl * N, bad, sizeof bad - 1);
  int fd = e2e_connect_small(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, batch, rl * N + sizeof bad - 1), 0);
  free(batch);
  uint64_t t0 = e2e_now_ms();
  int held = 1;
  while (e2e_now_ms() - t0 < 4000 && (held = e2e_server_holds(&srv, fd))) usleep(50000);
  close(fd);
  if (held) fail_msg("the server still holds the connection %llu ms later", (unsigned long long)(e2e_now_ms() - t0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_413_after_one_write), cmocka_unit_test(test_400_and_431_after_one_write),
    cmocka_unit_test(test_linger_ends_at_time_bound), cmocka_unit_test(test_linger_ends_at_client_eof),
    cmocka_unit_test(test_linger_ends_at_byte_bound),
    cmocka_unit_test(test_fd_pressure_ends_lingering), cmocka_unit_test(test_unread_closing_reply_is_bounded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
