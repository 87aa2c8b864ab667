/* End-to-end: a loop turn's writes and reads stop at their budgets
 * (src/net/net_int.h "loop turn budgets", src/net/out.c net__on_check),
 * the rest go first in the next turns, and a REST request read meanwhile is
 * answered before them instead of after all of them.
 *
 * The scene: 300 opened WebSockets (each answered once) and a keep-alive
 * REST client. The server is stopped (SIGSTOP); the REST client sends a
 * request bigger than the server's read buffer (64 KiB: it takes two reads,
 * so it completes in the second turn), then each WebSocket sends a
 * heartbeat. On SIGCONT one epoll wait reports the 301 sockets in the order
 * they became ready, the REST socket first. Turn 1 reads the first part of
 * the REST request and the heartbeats (as the read budget allows) and
 * writes their answers (as the write budget allows); turn 2 reads the rest
 * of the REST request first (what earlier turns left goes first) and writes
 * its reply first (HTTP first). So the WebSocket answers that reach their
 * clients before the REST reply are the ones turn 1 wrote: at most a turn's
 * budget. Without the budgets turn 1 wrote all 300. The order is read from
 * the kernel's receive timestamps (SO_TIMESTAMPNS), not from timings; the
 * budgets are set through the server's flags so that only one of them
 * limits the turn (the others are made too large to matter). Each
 * WebSocket gets its answer (nothing left over is lost) and /healthz counts
 * what was left for later turns. The same scene with close frames instead
 * of heartbeats checks the close notices' budget (net__on_check: a
 * WebSocket's close frame echo leaves after its on_ws_close). Each test
 * runs its own server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define WS_N 300
/* The scene's WebSockets never log in, and with a read budget of one read
 * per turn (and the sanitizers on a busy CI host) it can outlast the
 * default login deadline (10 s), whose close frames would then arrive
 * instead of the answers. */
#define NO_LOGIN_DEADLINE "--ws-login-timeout-ms", "600000"

static e2e_server_t srv;

/* What each WebSocket sends in the scene: a heartbeat (answered with a
 * heartbeat reply) or a close frame (answered with the close frame echoed,
 * after its close notice: on_ws_close). */
enum ws_say { SAY_HEARTBEAT, SAY_CLOSE };

static int is_answer(enum ws_say say, const char *buf, size_t n)
{
  if (say == SAY_CLOSE) return n >= 2 && (unsigned char)buf[0] == 0x88; /* FIN + close */
  return n > 2 && memmem(buf, n, "\"op\":\"heartbeat\"", 16) != NULL;
}

/* The scene above; returns how many WebSocket answers reached their
 * clients before the REST reply, and checks every one arrived. */
static int ws_answers_before_rest_reply(int rest, enum ws_say say)
{
  static int ws[WS_N];
  static const unsigned char close_1000[2] = { 0x03, 0xe8 };
  char buf[8192];
  assert_int_equal(e2e_ws_opened(srv.port, ws, WS_N), 0);
  assert_int_equal(e2e_stamp_on(rest), 0);

  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  assert_int_equal(e2e_send_two_read_request(rest), 0);
  usleep(50 * 1000); /* the REST socket became ready first */
  for (int i = 0; i < WS_N; i++) {
    if (say == SAY_CLOSE) assert_int_equal(e2e_ws_send_frame(ws[i], 8, 1, close_1000, sizeof close_1000, 1), 0);
    else assert_int_equal(e2e_ws_send_text(ws[i], "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  }
  usleep(200 * 1000); /* everything is in the server's socket buffers */
  assert_int_equal(kill(srv.pid, SIGCONT), 0);

  struct timespec rest_at, at;
  assert_int_equal(e2e_read_stamped_reply(rest, &rest_at), 0);
  int ahead = 0;
  for (int i = 0; i < WS_N; i++) {
    size_t n = e2e_recv_stamped(ws[i], buf, sizeof buf, &at);
    if (!is_answer(say, buf, n)) /* every answer arrived: nothing left over was lost */
      fail_msg("WebSocket %d of %d: %zu bytes, not its answer: %.*s", i, WS_N, n, (int)(n > 2 ? n - 2 : 0), buf + 2);
    ahead += e2e_before(&at, &rest_at);
  }
  for (int i = 0; i < WS_N; i++) close(ws[i]);
  return ahead;
}

/* One budget made the only limit of the turn (the others too large to
 * matter) by the server's flags; the WebSockets say `say`; what the budget
 * left is counted in /healthz loop.<counter>. */
typedef struct budget_case {
  const char *name;
  const char *const *args;
  enum ws_say say;
  const char *counter;
} budget_case_t;

static void run_case(const budget_case_t *bc)
{
  assert_int_equal(e2e_start(&srv, NULL, NULL, NULL, bc->args), 0);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  unsigned long long deferred0 = e2e_healthz_counter(rest, bc->counter);
  int ahead = ws_answers_before_rest_reply(rest, bc->say);
  print_message("WebSocket answers written before the REST reply: %d of %d (%s)\n", ahead, WS_N, bc->name);
  if (ahead > WS_N / 2) fail_msg("the REST request waited for %d WebSocket answers of earlier turns (%s)", ahead, bc->name);
  assert_true(e2e_healthz_counter(rest, bc->counter) > deferred0);
  close(rest);
  assert_int_equal(e2e_finish(&srv), 0);
}

/* The write budget: 32 connections per turn (time unbounded, reads too). */
static void test_write_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-writes-per-turn", "32", "--net-write-turn-us", "1000000",
                                      "--net-read-turn-us", "1000000", NO_LOGIN_DEADLINE, NULL };
  run_case(&(budget_case_t){ "write budget 32 per turn", args, SAY_HEARTBEAT, "writes_deferred" });
}

/* The read budget: 1 µs of WebSocket reads per turn (the turn's first read
 * always runs: one per turn), writes unbounded. */
static void test_read_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-read-turn-us", "1", "--net-writes-per-turn", "1000000",
                                      "--net-write-turn-us", "1000000", NO_LOGIN_DEADLINE, NULL };
  run_case(&(budget_case_t){ "read budget 1 us per turn", args, SAY_HEARTBEAT, "reads_deferred" });
}

/* The close-notice budget: 32 per turn (reads and writes unbounded). Each
 * WebSocket sends a close frame: turn 1 reads all 300 and queues their
 * notices; a connection's close frame echo (queued when its close frame was
 * read) leaves after its notice, so the echoes that reach their clients
 * before the REST reply (turn 2) are the ones whose notices turn 1
 * delivered: 32. Without the budget, turn 1 delivered all 300 and wrote
 * their echoes. */
static void test_close_notice_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-notices-per-turn", "32", "--net-notice-turn-us", "1000000",
                                      "--net-read-turn-us", "1000000", "--net-writes-per-turn", "1000000",
                                      "--net-write-turn-us", "1000000", NO_LOGIN_DEADLINE, NULL };
  run_case(&(budget_case_t){ "close-notice budget 32 per turn", args, SAY_CLOSE, "notices_deferred" });
}

/* Upgrades read in the same turn as a REST request wait behind its reply,
 * as every WebSocket's output does: a connection's 101 is queued while it
 * is still HTTP (it becomes a WebSocket right after), so the write-out
 * takes such a connection out of the HTTP replies (src/net/out.c
 * write_http). The scene: UP_N fresh connections, each with an upgrade
 * request sent while the server is stopped, after the REST client's
 * two-read request (which completes in turn 2); write budget 1 per turn.
 * Turn 1 accepts and reads them all (each queues its 101) and writes one
 * connection; turn 2 completes the REST request and writes its reply
 * first. So at most one 101 reaches its client before the REST reply; with
 * the 101s among the HTTP replies (in their listing order) all but the
 * REST reply waited for them: UP_N. */
#define UP_N 48
static void test_upgrades_after_rest(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-writes-per-turn", "1", "--net-write-turn-us", "1000000",
                                      "--net-read-turn-us", "1000000", NULL };
  static const char up[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  static int fd[UP_N];
  char buf[4096];
  assert_int_equal(e2e_start(&srv, NULL, NULL, NULL, args), 0);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  (void)e2e_healthz_counter(rest, "writes_deferred"); /* a keep-alive client, served once */
  assert_int_equal(e2e_stamp_on(rest), 0);
  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  assert_int_equal(e2e_send_two_read_request(rest), 0);
  usleep(50 * 1000);
  for (int i = 0; i < UP_N; i++) {
    assert_true((fd[i] = e2e_connect(srv.port)) >= 0); /* the kernel completes it; accepted on SIGCONT */
    assert_int_equal(e2e_stamp_on(fd[i]), 0);
    assert_int_equal(e2e_send(fd[i], up, sizeof up - 1), 0);
  }
  usleep(200 * 1000);
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
  struct timespec rest_at, at;
  assert_int_equal(e2e_read_stamped_reply(rest, &rest_at), 0);
  int ahead = 0;
  for (int i = 0; i < UP_N; i++) {
    size_t n = e2e_recv_stamped(fd[i], buf, sizeof buf, &at);
    assert_true(n > 12 && !memcmp(buf, "HTTP/1.1 101", 12)); /* every upgrade answered */
    ahead += e2e_before(&at, &rest_at);
  }
  print_message("101s written before the REST reply: %d of %d\n", ahead, UP_N);
  assert_true(ahead <= 1);
  for (int i = 0; i < UP_N; i++) close(fd[i]);
  close(rest);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_write_budget),
    cmocka_unit_test(test_read_budget),
    cmocka_unit_test(test_close_notice_budget),
    cmocka_unit_test(test_upgrades_after_rest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
