/* End-to-end: a connection's login hold is given once (decision §83 in
 * docs/decisions/messaging-c2c-checks3.md; src/api/ws_login_dl.c). Before,
 * every held login that failed bought the connection another login timeout,
 * so a client whose logins kept failing was never closed.
 *
 * The logins are held by the storage sync (IMCLOUD_TEST_SYNC_HOLD): a
 * login's reply waits for the sync of its write, so with the sync held the
 * login is pending for as long as the test likes, whatever order the loop
 * reads connections in. The first login carries a UserSig that expires while
 * it is held: its deadline passes (held), the UserSig expires, the sync is
 * released and the login is refused 70001 (§81) — a held login that failed.
 * The second login (a good UserSig) is held by the sync again past the next
 * deadline: the connection is closed 4001 with the reason of a hold already
 * used (before: held again, and closed only at the end of that second hold
 * with the hold's own reason). Each check is an outcome, never a duration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/usersig.h"
#include "e2e.h"

#define LOGIN_TIMEOUT_S 2 /* --ws-login-timeout-ms below */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[256];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-login-timeout-ms", "2000", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "holdonce", "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

/* Send a login of user on fd with a UserSig issued now for expire seconds. */
static void send_login(int fd, const char *user, int64_t expire)
{
  char sig[1024], msg[2048];
  unsigned char frame[2048 + E2E_WS_HEAD_MAX];
  assert_int_equal(auth_usersig_gen(app, key, user, (int64_t)time(NULL), expire, sig, sizeof sig), 0);
  e2e_ws_login_frame_sig(app, user, sig, "Web", "dev-once", msg, sizeof msg);
  size_t len = e2e_ws_frame_put(frame, 1, 1, msg, strlen(msg), 1);
  assert_int_equal(e2e_send(fd, frame, len), 0);
}

/* The next frame on fd; fails unless it comes within 30 s. */
static int next_frame(int fd, char *buf, size_t cap, int *close_code)
{
  int op = 0;
  int len = e2e_ws_recv(fd, &op, buf, cap, 30000, close_code);
  if (len < 0) fail_msg("no frame within 30 s");
  return op;
}

static void test_hold_is_given_once(void **st)
{
  (void)st;
  char buf[4096];
  int code = 0;
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  /* 1: a login held past its deadline whose UserSig expires meanwhile */
  e2e_sync_hold(hold, 1);
  int64_t issued = (int64_t)time(NULL);
  send_login(fd, "once_a", LOGIN_TIMEOUT_S + 1);
  usleep((LOGIN_TIMEOUT_S * 1000 + 500) * 1000);             /* its deadline passes: held */
  while ((int64_t)time(NULL) <= issued + LOGIN_TIMEOUT_S + 2) usleep(100 * 1000); /* its UserSig expires */
  e2e_sync_hold(hold, 0);
  int op = next_frame(fd, buf, sizeof buf, &code);
  if (op != 1 || !strstr(buf, "\"op\":\"login\"") || !strstr(buf, "\"code\":70001"))
    fail_msg("the held login whose UserSig expired: opcode %d close %d %s", op, code, op == 8 ? buf + 2 : buf);
  /* 2: a good login, held by the sync past the next deadline: the hold is used */
  e2e_sync_hold(hold, 1);
  send_login(fd, "once_b", 86400);
  op = next_frame(fd, buf, sizeof buf, &code);
  e2e_sync_hold(hold, 0);
  if (op != 8 || code != 4001 || !strstr(buf + 2, "held login failed"))
    fail_msg("a second held login after a held login failed: opcode %d close %d %s", op, code, op == 8 ? buf + 2 : buf);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hold_is_given_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
