/* End-to-end: a slow reader of its replies (decision 71; src/net/http.c
 * net__http_deadline, client_took): a client whose replies pass the 1 MiB
 * cap (its reading paused) or whose connection closes after them, and that
 * reads them steadily, was cut off keepalive_idle_ms after the pause or the
 * close whatever it took meanwhile. Now the deadline is about progress:
 * each period in which the client's kernel acknowledged more starts it
 * over, and what the client took while the loop stalled counts. A client
 * that takes nothing is still cut off.
 *
 * keepalive_idle_ms is 3 s here and the stall 3.5 s (split from
 * test_keepalive_deadline.c, whose 1 s deadline cut a reader starved of CPU
 * for a whole second on a loaded box, as it must: §83): the reading lasts
 * several periods, so the deadline still passes while the client reads.
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

#define STALL_MS 3500 /* past the 3 s deadline and the wheel's 250 ms tick */

static e2e_server_t srv;

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--keepalive-idle-ms", "3000", NULL };
  return e2e_start(&srv, NULL, NULL, NULL, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static const char get_nope[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";

/* n GET /healthz (about 2.1 KiB of reply each) pipelined at once on a
 * connection with a small receive buffer, each padded to about pad bytes,
 * the last one with last_hdr (e.g. "Connection: close\r\n"). */
static int piped(int n, size_t pad, const char *last_hdr)
{
  static char req[512 * 1024], one[512];
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    int l = snprintf(one, sizeof one, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %0*d\r\n%s\r\n", (int)pad, i,
                     i + 1 == n ? last_hdr : "");
    assert_true(l > 0 && o + (size_t)l < sizeof req);
    memcpy(req + o, one, (size_t)l);
    o += (size_t)l;
  }
  int fd = e2e_connect_small(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  return fd;
}

/* The replies read so far and not yet taken apart. */
typedef struct { char b[512 * 1024]; size_t len; } replies_t;

/* One recv of at most max bytes into r, waiting up to timeout_ms: bytes
 * read, 0 when nothing came, -1 at the end of the stream. */
static int take(int fd, replies_t *r, size_t max, int timeout_ms)
{
  if (max > sizeof r->b - r->len) max = sizeof r->b - r->len;
  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (!max || poll(&p, 1, timeout_ms) != 1) return 0;
  ssize_t k = recv(fd, r->b + r->len, max, 0);
  if (k <= 0) return -1;
  r->len += (size_t)k;
  return (int)k;
}

/* The status of the first whole reply in r, taken off it; 0 while none is whole. */
static int next_reply(replies_t *r)
{
  const char *e = memmem(r->b, r->len, "\r\n\r\n", 4), *cl;
  if (!e) return 0;
  size_t hl = (size_t)(e + 4 - r->b), body = 0;
  if ((cl = memmem(r->b, hl, "Content-Length: ", 16))) body = strtoul(cl + 16, NULL, 10);
  if (r->len < hl + body) return 0;
  int status = -1;
  if (sscanf(r->b, "HTTP/1.1 %d", &status) != 1) status = -1;
  memmove(r->b, r->b + hl + body, r->len - hl - body);
  r->len -= hl + body;
  return status;
}

/* Read n replies, each 200, a recv of at most 4 KiB every pace_us (a few
 * MiB/s at most: for seconds, past the 3 s deadline); with stall_at > 0 the
 * server is stopped for STALL_MS after that many while the client reads on
 * (it takes what the kernel holds, then waits). */
static void read_slowly(int fd, int n, useconds_t pace_us, int stall_at)
{
  static replies_t r;
  r.len = 0;
  int got = 0;
  for (;;) {
    for (int s; got < n && (s = next_reply(&r)); got++)
      if (s != 200) fail_msg("reply %d of %d to a client reading steadily: %d", got + 1, n, s);
    if (got == n) break;
    if (stall_at && got >= stall_at) {
      stall_at = 0;
      e2e_stall(&srv, 1);
      uint64_t t0 = e2e_now_ms();
      while (e2e_now_ms() - t0 < STALL_MS)
        if (take(fd, &r, sizeof r.b, 50) > 0)
          for (int s; got < n && (s = next_reply(&r)); got++)
            if (s != 200) fail_msg("reply %d of %d during a stall: %d", got + 1, n, s);
      e2e_stall(&srv, 0);
      continue;
    }
    if (take(fd, &r, 4096, 10000) <= 0) fail_msg("after %d of %d replies: nothing more for 10 s, or the end", got, n);
    usleep(pace_us);
  }
  assert_int_equal(r.len, 0);
}

/* 1,500 short requests (about 63 KiB): about 3.2 MiB of replies, read at
 * about 0.5 MiB/s (several 3 s periods). The kernel's send buffer takes part of them; reading
 * pauses with the rest, more than 1 MiB, queued by the server for more
 * than keepalive_idle_ms while the client reads. */
#define PIPED_N 1500
#define PACE_US 6000
static void test_slow_reader_of_a_paused_pipeline(void **st)
{
  (void)st;
  char body[4096];
  int fd = piped(PIPED_N, 1, "");
  read_slowly(fd, PIPED_N, PACE_US, 0);
  /* the connection is kept */
  assert_int_equal(e2e_send(fd, get_nope, sizeof get_nope - 1), 0);
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 10000), 404);
  close(fd);
  /* a stall during which the client takes what the kernel holds: at the
   * deadline the server writes what the client made room for */
  fd = piped(PIPED_N, 1, "");
  read_slowly(fd, PIPED_N, PACE_US, 64);
  assert_int_equal(e2e_send(fd, get_nope, sizeof get_nope - 1), 0);
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 10000), 404);
  close(fd);
}

/* The clients of test_reader_that_takes_nothing_is_cut_off: one paused, one
 * closing, and when they were opened. They are opened before the steady
 * reader of a closing connection starts, so that their deadline passes while
 * it reads (about two deadlines long) instead of after it: the same waits,
 * side by side. */
static int nothing_fd[2] = { -1, -1 };
static uint64_t nothing_t0;

static void open_takers_of_nothing(void)
{
  nothing_fd[0] = piped(PIPED_N, 1, "");
  nothing_fd[1] = piped(PIPED_N, 1, "Connection: close\r\n");
  nothing_t0 = e2e_now_ms();
}

/* The same, the last request "Connection: close": the close is decided
 * with most of the replies queued by the server. */
static void test_slow_reader_of_a_closing_connection(void **st)
{
  (void)st;
  char buf[64];
  open_takers_of_nothing();
  int fd = piped(PIPED_N, 1, "Connection: close\r\n");
  read_slowly(fd, PIPED_N, PACE_US, 0);
  assert_int_equal(e2e_recv_all(fd, buf, sizeof buf, 10000), 0); /* then the end */
  close(fd);
}

/* A client that takes none of its replies is still cut off: one paused,
 * one closing, both at once (one deadline's wait, not two), opened by the
 * test before (or here when it runs alone). */
static void test_reader_that_takes_nothing_is_cut_off(void **st)
{
  (void)st;
  if (nothing_fd[0] < 0) open_takers_of_nothing();
  int *fd = nothing_fd;
  for (int k = 0; k < 2; k++) { /* each waited for as before, from the same start */
    while (e2e_server_holds(&srv, fd[k]) && e2e_now_ms() - nothing_t0 < 30000) usleep(50000);
    if (e2e_server_holds(&srv, fd[k])) fail_msg("a client that took none of its replies (%s) still held after 30 s",
                                                k ? "closing" : "paused");
    close(fd[k]);
    fd[k] = -1;
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_slow_reader_of_a_paused_pipeline),
    cmocka_unit_test(test_slow_reader_of_a_closing_connection),
    cmocka_unit_test(test_reader_that_takes_nothing_is_cut_off),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
