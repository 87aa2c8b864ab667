/* End-to-end: a client that vanishes while the server does not read it.
 * Admission by backpressure (src/api/ws_pace.c) stops reading a logged-in
 * WebSocket while the writer has too many jobs in flight; here the
 * watermark is one job and the writer's sync is held (IMCLOUD_TEST_SYNC_HOLD),
 * so after one send the client's next frame (a ping) finds the watermark
 * reached and the connection is paused. The client then closes its socket
 * (FIN) or resets it (RST, SO_LINGER 0) and sends nothing more. Expected:
 * the server notices the peer is gone without reading the connection again
 * (src/net/conn.c: EPOLLRDHUP / EPOLLHUP / EPOLLERR on a paused connection)
 * and runs the normal close path: the user goes Offline while the writer is
 * still held. A third case sends the frame that gets the connection paused
 * and closes at once, while the server is stopped (SIGSTOP): the FIN comes
 * in the same epoll event as the frame, before the connection is paused
 * (src/net/conn.c CF_PEER_GONE). A fourth, not paused: a client that sends
 * a frame the server does not answer (an unsolicited pong) and closes at
 * once, both read in one event: the server reads on to the FIN instead of
 * waiting for an edge that never comes (before, the user stayed Online
 * until the idle timeout). Before the fix the user stayed Online until the writer
 * drained and the connection's turn came. Afterwards the held job completes
 * and the server goes on (its reply finds the connection gone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
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
static char hold[128];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-admit-high-jobs", "1", "--ws-admit-low-jobs", "0", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "gone", "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}


/* "Online" or "Offline" (as the REST API reports it) into out. */
static void status_of(const char *user, char *out, size_t cap)
{
  json_t *q = v4(srv.port, app, key, "openim/query_online_status", "{\"To_Account\":[\"%s\"]}", user);
  assert_non_null(q);
  json_t *e = json_array_get(json_object_get(q, "QueryResult"), 0);
  assert_non_null(e);
  snprintf(out, cap, "%s", jstr(e, "Status"));
  json_decref(q);
}

/* Log `user` in, hold the writer, send one message (in flight: the
 * watermark); the next frame finds the watermark reached. */
static void at_watermark(wsc_t *a, const char *user, const char *peer)
{
  const char *users[] = { peer, NULL };
  import_users(srv.port, app, key, users);
  assert_int_equal(wsc_login(a, srv.port, app, key, user, "Web"), 0);
  for (int waited = 0; e2e_healthz_stat(srv.port, "admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  e2e_sync_hold(hold, 1); /* from now on no job completes: the send below stays in flight */
  char msg[256];
  snprintf(msg, sizeof msg,
           "{\"id\":1,\"op\":\"send\",\"to\":\"%s\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"held\"}}]}",
           peer);
  assert_int_equal(e2e_ws_send_text(a->fd, msg), 0);
  for (int waited = 0; e2e_healthz_stat(srv.port, "admission", "inflight") < 1 && waited < 10000; waited += 10) e2e_sleep_ms(10);
  /* the send, and maybe the meter's job of the server's 1 s tick (a writer job too, held with it) */
  assert_true(e2e_healthz_stat(srv.port, "admission", "inflight") >= 1);
  char st[32];
  status_of(user, st, sizeof st);
  assert_string_equal(st, "Online");
}

/* at_watermark, then a ping the server must not read: returns the client
 * with its connection paused. */
static void paused_client(wsc_t *a, const char *user, const char *peer)
{
  at_watermark(a, user, peer);
  assert_int_equal(e2e_ws_send_frame(a->fd, 9, 1, "hi", 2, 1), 0);
  for (int waited = 0; e2e_healthz_stat(srv.port, "admission", "paused") < 1 && waited < 10000; waited += 10) e2e_sleep_ms(10);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "paused"), 1);
}

/* Wait (up to 10 s, the writer still held) for `user` to go Offline. */
static void expect_offline(const char *user, const char *how)
{
  char st[32] = "";
  for (int waited = 0; waited < 10000; waited += 20) {
    status_of(user, st, sizeof st);
    if (!strcmp(st, "Offline")) break;
    e2e_sleep_ms(20);
  }
  if (strcmp(st, "Offline"))
    fail_msg("%s: the client's socket is gone but %s is still %s", how, user, st);
}

/* Release the writer: the held send completes for a connection that is
 * gone, and the server keeps serving (another client sends and is acked). */
static void release_and_check(const char *peer)
{
  e2e_sync_hold(hold, 0);
  /* both seen at 0 in one look: the server's own background jobs (a retention pass, the day job) are
   * writer jobs too and may start right after, so the figures are not read again */
  long long inflight = -1, paused = -1;
  for (int waited = 0; waited < 30000; waited += 10) {
    inflight = e2e_healthz_stat(srv.port, "admission", "inflight");
    paused = e2e_healthz_stat(srv.port, "admission", "paused");
    if (!inflight && !paused) break;
    e2e_sleep_ms(10);
  }
  assert_int_equal(inflight, 0);
  assert_int_equal(paused, 0);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, peer, "Web"), 0);
  json_t *r = wsc_rpc(&b, "send", "\"to\":\"%s\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after\"}}]", peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&b);
}

static void test_paused_client_closes(void **st)
{
  (void)st;
  wsc_t a;
  paused_client(&a, "gone_fin", "gone_fin_peer");
  wsc_close(&a); /* FIN; the ping and nothing else unread */
  expect_offline("gone_fin", "close (FIN)");
  release_and_check("gone_fin_peer");
}

static void test_paused_client_resets(void **st)
{
  (void)st;
  wsc_t a;
  paused_client(&a, "gone_rst", "gone_rst_peer");
  struct linger lg = { 1, 0 }; /* close() sends RST */
  assert_int_equal(setsockopt(a.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  wsc_close(&a);
  expect_offline("gone_rst", "reset (RST)");
  release_and_check("gone_rst_peer");
}

static void test_client_closes_with_the_frame_that_pauses_it(void **st)
{
  (void)st;
  wsc_t a;
  at_watermark(&a, "gone_last", "gone_last_peer");
  assert_int_equal(kill(srv.pid, SIGSTOP), 0); /* the ping and the FIN reach the server together */
  assert_int_equal(e2e_ws_send_frame(a.fd, 9, 1, "hi", 2, 1), 0);
  wsc_close(&a);
  e2e_sleep_ms(100); /* both are in the server's socket (loopback: delivered by the time send returns) */
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
  expect_offline("gone_last", "close (FIN) with the frame that pauses it");
  release_and_check("gone_last_peer");
}

static void test_client_closes_after_a_silent_frame(void **st)
{
  (void)st;
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "gone_pong", "Web"), 0);
  for (int waited = 0; e2e_healthz_stat(srv.port, "admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10); /* not paused: nothing in flight */
  char st_now[32];
  status_of("gone_pong", st_now, sizeof st_now);
  assert_string_equal(st_now, "Online");
  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  assert_int_equal(e2e_ws_send_frame(a.fd, 0xA, 1, "hb", 2, 1), 0); /* a pong: no answer, nothing written back */
  wsc_close(&a);
  e2e_sleep_ms(100);
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
  expect_offline("gone_pong", "close (FIN) right after a pong");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_paused_client_closes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_paused_client_resets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_closes_with_the_frame_that_pauses_it, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_closes_after_a_silent_frame, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
