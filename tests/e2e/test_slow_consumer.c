/* End-to-end, slow consumers against the real server:
 *  - a WebSocket closed as a slow consumer (1008, its send queue full) whose
 *    peer never reads again is closed for good and its queued output freed
 *    within ws_close_grace_ms: neither its descriptor nor its queue outlives
 *    the close, whatever the peer does;
 *  - the server-wide cap on what the send queues hold (ws_max_queued_total):
 *    several readers that stopped are shed (their unsent output dropped,
 *    1008 "server send queues full") while the queues stay within the cap
 *    plus 64 KiB and a frame per connection, and a reader that keeps up
 *    gets every message, in order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char big[8001];

static int rcode(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "code");
  json_decref(r);
  return c;
}

/* A logged-in, live-synced user stops reading; another sends it ~11 MB of
 * messages: past the kernel's socket buffers (up to 4 MiB + its 128 KiB)
 * and the 4 MiB send queue, so it is cut off (1008) with its queue full
 * and the close frame queued behind it. Before the close grace, the server
 * kept that connection, its descriptor and its 4 MiB until the peer read
 * again, if ever. */
static void test_slow_consumer_closed_for_good(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-close-grace-ms", "1000", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  memset(big, 'z', sizeof big - 1);
  wsc_t slow, pub;
  assert_int_equal(wsc_login(&slow, srv.port, app, key, "cs", "Web"), 0);
  assert_int_equal(wsc_login(&pub, srv.port, app, key, "cp", "Web"), 0);
  json_t *ev = wsc_sync_live(&slow); /* live: every later message is pushed */
  assert_non_null(ev);
  json_decref(ev);
  /* a small receive buffer that the kernel does not grow */
  int rcvbuf = 128 * 1024, one = 1;
  setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(pub.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int before = e2e_server_fds(&srv);
  static char frame[sizeof big + 256];
  enum { N = 1400 };
  for (int i = 0; i < N; i += 100) { /* 100 pipelined at a time, all acknowledged */
    int first = pub.next_id + 1;
    for (int k = i; k < i + 100; k++) {
      snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"cs\",\"random\":%d,\"body\":"
               "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d %s\"}}]}", ++pub.next_id, k + 1, k, big);
      assert_int_equal(e2e_ws_send_text(pub.fd, frame), 0);
    }
    for (int id = first; id <= pub.next_id; id++) assert_int_equal(rcode(wsc_take(&pub, match_id, &id, 60000)), 0);
  }
  /* its socket is closed within the grace although its peer never read
   * again (a minute at most here: sanitizer builds on a busy host) */
  int after = before;
  for (int t = 0; t < 600 && (after = e2e_server_fds(&srv)) >= before; t++) usleep(100 * 1000);
  fprintf(stderr, "server descriptors: %d before the flood, %d after\n", before, after);
  assert_int_equal(after, before - 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "ws_out", "close_timeouts"), 1);
  /* the peer finds what its own buffers held, then the end of the stream
   * (its queue and the close frame were dropped) */
  static char buf[1 << 16];
  int op = 0, cc = 0, frames = 0;
  while (e2e_ws_recv(slow.fd, &op, buf, sizeof buf, 10000, &cc) >= 0 && op != 8) frames++;
  fprintf(stderr, "frames the slow peer still read: %d\n", frames);
  assert_true(frames > 0 && frames < N);
  assert_int_not_equal(op, 8);
  /* the sender was not disturbed */
  assert_int_equal(rcode(wsc_rpc(&pub, "send", "\"to\":\"cs\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after\"}}]")), 0);
  wsc_close(&slow);
  wsc_close(&pub);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* big message k from pub to user to (random k + 1); acks read per 100 */
static void send_to(wsc_t *pub, const char *const *to, int nto, int from, int n)
{
  static char frame[sizeof big + 256];
  for (int i = from; i < n; i += 100) {
    int first = pub->next_id + 1;
    for (int k = i; k < i + 100 && k < n; k++) {
      snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"%s\",\"random\":%d,\"body\":"
               "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d %s\"}}]}", ++pub->next_id, to[k % nto], k + 1, k, big);
      assert_int_equal(e2e_ws_send_text(pub->fd, frame), 0);
    }
    for (int id = first; id <= pub->next_id; id++) assert_int_equal(rcode(wsc_take(pub, match_id, &id, 60000)), 0);
  }
}

static void test_queues_capped_server_wide(void **st)
{
  (void)st;
  enum { CAP = 1 << 20, SLOW = 3, N = 2400, PER = 16 }; /* every 16th message to the reader */
  static const char *const args[] = { "--ws-max-queued-total", "1048576", "--ws-close-grace-ms", "60000", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  memset(big, 'q', sizeof big - 1);
  static const char *const names[SLOW] = { "s0", "s1", "s2" };
  wsc_t slow[SLOW], rd, pub;
  int rcvbuf = 128 * 1024, one = 1;
  for (int i = 0; i < SLOW; i++) {
    assert_int_equal(wsc_login(&slow[i], srv.port, app, key, names[i], "Web"), 0);
    json_t *ev = wsc_sync_live(&slow[i]);
    assert_non_null(ev);
    json_decref(ev);
    setsockopt(slow[i].fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  assert_int_equal(wsc_login(&rd, srv.port, app, key, "rd", "Web"), 0);
  json_t *ev = wsc_sync_live(&rd);
  assert_non_null(ev);
  json_decref(ev);
  assert_int_equal(wsc_login(&pub, srv.port, app, key, "pw", "Web"), 0);
  ev = wsc_sync_live(&pub);
  assert_non_null(ev);
  json_decref(ev);
  setsockopt(pub.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* ~19 MB to the three that do not read (past their kernel buffers, then
   * past the cap), every 16th message to the reader, which reads them all */
  const char *to[PER];
  for (int k = 0; k < PER; k++) to[k] = k == PER - 1 ? "rd" : names[k % SLOW];
  int got = 0;
  static char buf[1 << 16];
  for (int i = 0; i < N; i += 200) {
    send_to(&pub, to, PER, i, i + 200);
    int op = 0, cc = 0;
    while (got < (i + 200) / PER && e2e_ws_recv(rd.fd, &op, buf, sizeof buf, 30000, &cc) >= 0) {
      assert_int_equal(op, 1);
      if (!strstr(buf, "\"type\":\"msg\"")) continue;
      char want[32];
      snprintf(want, sizeof want, "\"Text\":\"%d ", got * PER + PER - 1);
      assert_non_null(strstr(buf, want)); /* in order, none missing */
      got++;
    }
  }
  assert_int_equal(got, N / PER);
  long long shed = e2e_healthz_stat(srv.port, "ws_out", "shed"), peak = e2e_healthz_stat(srv.port, "ws_out", "queued_bytes_max");
  fprintf(stderr, "shed %lld, queues' peak %lld bytes (cap %d)\n", (long long)shed, (long long)peak, CAP);
  assert_int_equal(shed, SLOW);
  assert_true(peak > CAP / 2);
  assert_true(peak <= CAP + (json_int_t)(SLOW + 2) * (65536 + (json_int_t)sizeof big + 256));
  /* each shed one finds what its buffers held, then the close: 1008 and why */
  for (int i = 0; i < SLOW; i++) {
    int op = 0, cc = 0, n, frames = 0;
    while ((n = e2e_ws_recv(slow[i].fd, &op, buf, sizeof buf, 10000, &cc)) >= 0 && op != 8) frames++;
    fprintf(stderr, "%s: %d frames, then op %d code %d\n", names[i], frames, op, cc);
    assert_int_equal(op, 8);
    assert_int_equal(cc, 1008);
    assert_non_null(memmem(buf, (size_t)n, "server send queues full", 23));
    wsc_close(&slow[i]);
  }
  /* the reader was never shed: it still sends and receives */
  assert_int_equal(rcode(wsc_rpc(&rd, "send", "\"to\":\"pw\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"still here\"}}]")), 0);
  json_t *p = wsc_push(&pub, "msg", 10000);
  assert_non_null(p);
  json_decref(p);
  for (int t = 0; t < 100 && e2e_healthz_stat(srv.port, "ws_out", "queued_bytes"); t++) usleep(100 * 1000);
  assert_int_equal(e2e_healthz_stat(srv.port, "ws_out", "queued_bytes"), 0);
  wsc_close(&rd);
  wsc_close(&pub);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_slow_consumer_closed_for_good),
    cmocka_unit_test(test_queues_capped_server_wide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
