/* End-to-end: a graceful stop (SIGTERM) is bounded although clients stopped
 * reading. A WebSocket that asked for large replies and an HTTP client that
 * pipelined requests never read again, their replies queued in the server
 * behind full socket buffers; the server closed them at the stop (1001, the
 * HTTP close after the replies) and waited for the output to drain — for
 * ever: the connection deadlines (ws_close_grace_ms) were not run once the
 * stop began. Now the process exits within ws_close_grace_ms of closing its
 * connections (those still holding output are cut off then), and a message
 * acknowledged before the stop is there after a restart. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int rcode(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "code");
  json_decref(r);
  return c;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SIGTERM, then wait up to limit_s for the exit: its status, or -1 (the
 * server is killed) when it did not exit in time; *took_s the wait. */
static int stop_within(double limit_s, double *took_s)
{
  double t0 = now_s();
  kill(srv.pid, SIGTERM);
  int st = 0;
  while (now_s() - t0 < limit_s) {
    if (waitpid(srv.pid, &st, WNOHANG) == srv.pid) {
      srv.pid = 0;
      *took_s = now_s() - t0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    usleep(20 * 1000);
  }
  *took_s = now_s() - t0;
  e2e_server_kill(&srv);
  return -1;
}

/* Clients that stopped reading (a WebSocket when ws, an HTTP client when
 * http) hold output in the server when it is told to stop. */
static void stop_with_clients_not_reading(int ws, int http_client)
{
  enum { GRACE_MS = 1000 };
  /* a send queue big enough that the reader is not cut off as a slow consumer before the stop */
  static const char *const args[] = { "--ws-close-grace-ms", "1000", "--ws-max-queued-bytes", "67108864", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  wsc_t pub, slow;
  assert_int_equal(wsc_login(&pub, srv.port, app, key, "sp", "Web"), 0);
  assert_int_equal(wsc_login(&slow, srv.port, app, key, "ss", "Web"), 0);
  /* a history of 60 messages of 8,000 bytes: each history page is ~500 KB */
  static char big[8001], frame[sizeof big + 256];
  memset(big, 'z', sizeof big - 1);
  for (int i = 0; i < 60; i++) {
    int id = ++pub.next_id;
    snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"ss\",\"random\":%d,\"body\":"
             "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d %s\"}}]}", id, i + 1, i, big);
    assert_int_equal(e2e_ws_send_text(pub.fd, frame), 0);
    assert_int_equal(rcode(wsc_take(&pub, match_id, &id, 30000)), 0);
  }
  /* the WebSocket asks for ~12 MB of history and never reads again: more
   * than the kernel's socket buffers take (up to 4 MiB and its receive
   * buffer), less than its send queue's cap */
  int rcvbuf = 4096;
  setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  for (int i = 0; ws && i < 25; i++) {
    snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"history\",\"peer\":\"sp\",\"limit\":60}", 1000 + i);
    assert_int_equal(e2e_ws_send_text(slow.fd, frame), 0);
  }
  /* an HTTP client pipelines requests and never reads its replies: 24 reads of that history (~500 KB each),
   * ~12 MB in all, more than the kernel's send queue holds (at most 4 MiB here), in ~30 KB of requests that the
   * server's receive buffer takes whole. (2,000 GETs of /healthz relied on the client's sends timing out once
   * the server stopped reading; when the kernel took every reply of the requests read by then, the server held
   * nothing: the test failed 2 times in 76 on a loaded box, and 12 in 24 once the reply grew by 38 bytes.) */
  int http = http_client ? e2e_connect_small(srv.port) : -1;
  assert_true(http >= 0 || !http_client);
  for (int i = 0; http >= 0 && i < 24; i++) {
    static char sig[1024], req[4096];
    static const char body[] = "{\"Operator_Account\":\"sp\",\"Peer_Account\":\"ss\",\"MaxCnt\":100,\"MinTime\":0,"
                               "\"MaxTime\":4000000000}";
    e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
    int n = snprintf(req, sizeof req,
                     "POST /v4/openim/admin_getroammsg?sdkappid=%u&identifier=administrator&usersig=%s&random=%d"
                     "&contenttype=json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     app, sig, i + 1, sizeof body - 1, body);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(e2e_send(http, req, (size_t)n), 0);
  }
  /* the server holds their output now */
  long long queued = 0;
  for (int t = 0; t < 100 && (queued = e2e_healthz_stat(srv.port, "ws_out", "queued_bytes")) < 50000; t++) usleep(50 * 1000);
  fprintf(stderr, "queued in the server before the stop: %lld bytes\n", queued);
  assert_true(queued >= 50000);
  /* a message acknowledged just before the stop */
  json_t *r = wsc_rpc(&pub, "send", "\"to\":\"ss\",\"random\":9999,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"before-stop\"}}]");
  assert_int_equal(rcode(r), 0);
  /* the stop: in-flight work drains (none), connections close, and those
   * whose peers take nothing are cut off GRACE_MS later; 10 s of slack for
   * sanitizer builds on a busy host */
  double took = 0;
  int rc = stop_within(GRACE_MS / 1000.0 + 10, &took);
  fprintf(stderr, "stopped in %.2f s (exit %d)\n", took, rc);
  char *log = e2e_server_log(&srv);
  if (rc != 0) fprintf(stderr, "%s\n", log ? log : "");
  assert_int_equal(rc, 0);
  assert_true(took >= GRACE_MS / 1000.0 * 0.9); /* the readers were given their grace, not cut at once */
  assert_non_null(strstr(log, "msg=\"stopped\""));
  assert_non_null(strstr(log, "msg=\"stop: connections cut off with output their peers did not take\" n=1"));
  free(log);
  wsc_close(&slow);
  wsc_close(&pub);
  if (http >= 0) close(http);
  /* nothing acknowledged is lost */
  assert_int_equal(e2e_server_start(&srv, args), 0);
  assert_int_equal(wsc_login(&pub, srv.port, app, key, "sp", "Web"), 0);
  r = wsc_rpc(&pub, "history", "\"peer\":\"ss\",\"limit\":1");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *m = json_array_get(json_object_get(r, "msgs"), 0);
  json_t *el = json_array_get(json_object_get(m, "body"), 0);
  assert_string_equal(jstr(el, "MsgContent.Text"), "before-stop");
  json_decref(r);
  wsc_close(&pub);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

static void test_stop_bounded_websocket_not_reading(void **st)
{
  (void)st;
  stop_with_clients_not_reading(1, 0);
}

static void test_stop_bounded_http_not_reading(void **st)
{
  (void)st;
  stop_with_clients_not_reading(0, 1);
}

static int teardown(void **st)
{
  (void)st;
  e2e_server_kill(&srv);
  if (srv.dir[0]) e2e_dir_remove(&srv);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_stop_bounded_websocket_not_reading, teardown),
    cmocka_unit_test_teardown(test_stop_bounded_http_not_reading, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
