/* End-to-end: a login is not cut off while its own job is pending (decision
 * §77; src/api/ws_login_dl.c, src/net/conn.c fire).
 *
 * A client that sent its login in time but whose login job (the writer's;
 * held here with IMCLOUD_TEST_SYNC_HOLD, e2e_start_sync_held) was still
 * pending when ws_login_timeout_ms passed was closed 4001: under a login
 * storm or a slow disk the server cut clients that did everything right.
 * Now the deadline holds a pending login, up to 4 × the login timeout
 * from the opening; one whose job never completes still ends (4001).
 *
 * A login frame that arrived in the kernel while the loop stalled past the
 * deadline (the server stopped with SIGSTOP, e2e_stall.h) was not read
 * before the 4001; now it is read first and served.
 *
 * The waits only make sure a deadline passed; nothing asserts how long
 * anything took. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_stall.h"

#define PAST_DEADLINE_MS 2500 /* past the login timeout (1.5 s, setup) and the wheel's 250 ms tick, well before 4 × it */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];

static int setup(void **st)
{
  (void)st;
  /* one login per turn: of two logins read at their deadlines in one turn, the second waits (pending) */
  static const char *const args[] = { "--ws-login-timeout-ms", "1500", "--ws-logins-per-turn", "1", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "lhold", "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

/* The next frame on fd: a text frame's code 0 (the login's answer), or fail. */
static void expect_login_ok(int fd, const char *what)
{
  char buf[4096];
  int op = 0, code = 0;
  int len = e2e_ws_recv(fd, &op, buf, sizeof buf, 15000, &code);
  if (op != 1 || !strstr(buf, "\"op\":\"login\"") || !strstr(buf, "\"code\":0"))
    fail_msg("%s: opcode %d len %d close %d %s", what, op, len, code, op == 8 && len > 2 ? buf + 2 : buf);
}

static int login_sent(const char *user)
{
  char msg[2048];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_ws_login_frame(app, key, user, "Web", "dev-hold", msg, sizeof msg);
  assert_int_equal(e2e_ws_send_text(fd, msg), 0);
  return fd;
}

/* The login job is pending past the deadline: the connection is held, the
 * login answered once the job completes. */
static void test_pending_login_is_held(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 1); /* no writer job completes */
  int fd = login_sent("hold_a");
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  struct pollfd p = { fd, POLLIN, 0 };
  (void)poll(&p, 1, PAST_DEADLINE_MS); /* the deadline passes; a 4001 close would arrive here */
  e2e_sync_hold(hold, 0);
  expect_login_ok(fd, "a login pending at the login deadline");
  /* logged in: a heartbeat is answered */
  char buf[4096];
  assert_int_equal(e2e_ws_send_text(fd, "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 10000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  close(fd);
}

/* A login job that does not complete within the hold still ends: 4001. */
static void test_hold_is_bounded(void **st)
{
  (void)st;
  char buf[4096];
  e2e_sync_hold(hold, 1);
  int fd = login_sent("hold_b");
  int op = 0, code = 0;
  int len = e2e_ws_recv(fd, &op, buf, sizeof buf, 30000, &code);
  e2e_sync_hold(hold, 0);
  if (op != 8 || code != 4001) fail_msg("a login held past its bound: opcode %d len %d close %d", op, len, code);
  assert_non_null(strstr(buf + 2, "hold"));
  close(fd);
}

/* A connection that sent nothing is still closed at the login timeout. */
static void test_silent_connection_is_closed(void **st)
{
  (void)st;
  char buf[4096];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  int op = 0, code = 0;
  int len = e2e_ws_recv(fd, &op, buf, sizeof buf, 30000, &code);
  if (op != 8 || code != 4001) fail_msg("a silent connection: opcode %d len %d close %d", op, len, code);
  assert_non_null(strstr(buf + 2, "login timeout"));
  close(fd);
}

/* The login frame arrives while the server is stopped past the deadline: it
 * is read before the deadline acts, and served. */
static void test_login_sent_during_a_stall_is_served(void **st)
{
  (void)st;
  char msg[2048];
  unsigned char frame[2048 + E2E_WS_HEAD_MAX];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_ws_login_frame(app, key, "hold_c", "Web", "dev-hold", msg, sizeof msg);
  size_t fl = e2e_ws_frame_put(frame, 1, 1, msg, strlen(msg), 1);
  usleep(200000); /* the loop waits in its poll before the stop */
  e2e_stall_sending(&srv, fd, frame, fl, PAST_DEADLINE_MS);
  expect_login_ok(fd, "a login sent while the server stalled past the deadline");
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pending_login_is_held),
    cmocka_unit_test(test_hold_is_bounded),
    cmocka_unit_test(test_silent_connection_is_closed),
    cmocka_unit_test(test_login_sent_during_a_stall_is_served),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
