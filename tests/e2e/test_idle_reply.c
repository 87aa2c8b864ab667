/* End-to-end: a reply queued by a read in the idle phase is written before
 * the loop blocks (decision 100, docs/decisions/messaging-c2c-checks4.md).
 *
 * The path: the check phase's REST-only pass (net__take_http) meets a
 * WebSocket's frame, defers it to srv->again, and the next turn's idle
 * phase (on_again) reads it; a reply made there synchronously (heartbeat,
 * typing, a refusal, the close handshake) is listed for the check phase,
 * and the poll in between must not block. It blocked until the next timer
 * when on_again's pass emptied srv->again.
 *
 * A frame meets the check phase's pass only when it arrives during it: the
 * test site ws_read_late (IMCLOUD_TEST_FAIL, src/util/faultsim.h) makes that
 * certain by leaving each frame of the turn's input pass in the kernel, the
 * socket polled again, for the check phase's pass. Every timer of the server
 * is a minute away (tick, the deadline wheel, the change poll), so a reply
 * left for a timer would not come within the 15 s the test waits for each:
 * a liveness check, not a measurement.
 *
 * A keep-alive REST client reaches srv->again only after a read that filled
 * the read buffer (NET_READ_BUF, 64 KiB): test_idle_phase_http_replies_written
 * sends pipelined requests of more than that in one write, so the requests
 * past the first read are read, and answered, by on_again (decision 104). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define WAIT_MS 15000 /* far below the timers (60 s), far above a turn on a busy box */

static e2e_server_t srv;
static uint32_t app;
static char key[128];

/* Every timer a minute away; the frames after the login (the site's first
 * call) all take the check phase's pass and srv->again. */
static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--tick-ms", "60000", "--net-wheel-tick-ms", "60000", "--change-poll-ms", "60000",
                                      "--msg-purge-interval-s", "86400", NULL };
  char fail[512];
  size_t n = 0;
  for (int i = 2; i <= 16; i++) n += (size_t)snprintf(fail + n, sizeof fail - n, "%sws_read_late:%d", i > 2 ? "," : "", i);
  setenv("IMCLOUD_TEST_FAIL", fail, 1); /* the server inherits it */
  int rc = e2e_start(&srv, "china", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Send text on fd and wait for the reply that echoes id. */
static void ask(int fd, const char *text, const char *id)
{
  char buf[8192];
  assert_int_equal(e2e_ws_send_text(fd, text), 0);
  int n = e2e_ws_recv_text(fd, buf, sizeof buf, WAIT_MS);
  if (n < 0) fail_msg("no reply within %d ms to %s (left for a timer a minute away)", WAIT_MS, text);
  if (!strstr(buf, id)) fail_msg("reply to %s: %s", text, buf);
}

/* A logged-in session whose login's storage work is done (its completion wakes the loop, and would write a reply
 * left listed): a writer job submitted after it is acknowledged after it. */
static int session(void)
{
  char reply[4096] = "", body[4096];
  int fd = e2e_ws_login(srv.port, app, key, "alice", "iPhone", reply, sizeof reply);
  if (fd < 0) fail_msg("login: %s", reply);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_import", "{\"UserID\":\"bob\"}",
                          body, sizeof body), 200);
  assert_non_null(strstr(body, "\"ErrorCode\":0"));
  return fd;
}

/* Replies made in the read itself: a heartbeat's, typing's (to oneself: no
 * other session gets anything), an unknown op's refusal, a malformed
 * frame's, a send to a user who does not exist. */
static void test_idle_phase_replies_written(void **st)
{
  (void)st;
  int fd = session();
  ask(fd, "{\"id\":2,\"op\":\"heartbeat\"}", "\"id\":2");
  ask(fd, "{\"id\":3,\"op\":\"typing\",\"peer\":\"alice\"}", "\"id\":3");
  ask(fd, "{\"id\":4,\"op\":\"no_such_op\"}", "\"id\":4");
  ask(fd, "{\"id\":5,\"op\":\"heartbeat\",", "\"code\":60003");
  ask(fd, "{\"id\":6,\"op\":\"send\",\"to\":\"no-such-user\",\"msg_random\":1,\"body\":[{\"MsgType\":\"TIMTextElem\","
          "\"MsgContent\":{\"Text\":\"hi\"}}]}",
      "\"id\":6");
  close(fd);
}

/* The close handshake read there: the server's close frame (and its close
 * notice, srv->notify) go out too. */
static void test_idle_phase_close_answered(void **st)
{
  (void)st;
  int fd = session();
  unsigned char code[2] = { 1000 >> 8, 1000 & 0xff };
  assert_int_equal(e2e_ws_send_frame(fd, 8, 1, code, sizeof code, 1), 0);
  char buf[256];
  int op = 0, cc = 0;
  if (e2e_ws_recv(fd, &op, buf, sizeof buf, WAIT_MS, &cc) < 0) fail_msg("no close frame within %d ms", WAIT_MS);
  assert_int_equal(op, 8);
  assert_int_equal(cc, 1000);
  close(fd);
}

/* Pipelined GET /healthz requests (answered in the read that completes
 * them) of REQ_BODY bytes each, N_REQS of them: more than two reads' worth in
 * one write. The first read fills the buffer, so the connection goes to
 * srv->again and the rest is read in the next turn's idle phase; the replies
 * made there must go out before the poll blocks. */
#define N_REQS 6
#define REQ_BODY 30000

static void test_idle_phase_http_replies_written(void **st)
{
  (void)st;
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  char body[16384];
  /* one request first: the connection is then a keep-alive client, read at once by every pass */
  static const char ask_one[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(e2e_send(fd, ask_one, sizeof ask_one - 1), 0);
  assert_int_equal(e2e_http_read(fd, body, sizeof body, WAIT_MS), 200);
  static char all[N_REQS * (REQ_BODY + 128)];
  size_t n = 0;
  for (int i = 0; i < N_REQS; i++) {
    n += (size_t)snprintf(all + n, sizeof all - n, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", REQ_BODY);
    memset(all + n, 'x', REQ_BODY);
    n += REQ_BODY;
  }
  assert_true(n > 2 * 64 * 1024);
  assert_int_equal(e2e_send(fd, all, n), 0); /* one write: the server's first read fills its buffer */
  for (int i = 0; i < N_REQS; i++) {
    int status = e2e_http_read(fd, body, sizeof body, WAIT_MS);
    if (status != 200) fail_msg("reply %d of %d: status %d within %d ms (left for a timer a minute away)", i + 1, N_REQS, status, WAIT_MS);
  }
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_idle_phase_replies_written, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idle_phase_close_answered, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idle_phase_http_replies_written, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
