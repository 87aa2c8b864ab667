/* End-to-end: a connection is accepted when its first bytes arrive, and
 * they are read at once (src/net/conn.c: TCP_DEFER_ACCEPT on the listening
 * socket, accept_some reads each accepted connection). Observable from
 * outside: a connection that never sends holds no descriptor in the server
 * (/proc/PID/fd), and a request sent right after connecting is answered
 * without a socket event (/healthz logins.socket_events: the kernel
 * reports only input that is still unread when the loop next waits). A
 * silent connection is served as soon as it sends; a half-sent request
 * still gets its 408 (test_http_bad). A turn accepts only the connections
 * it can read (the loop turn budgets, src/net/net_int.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define SILENT 8
#define EAGER 40

static e2e_server_t srv;
static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, NULL, NULL, NULL, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


/* SILENT connections that send nothing: the server holds no descriptor for
 * them, though a later connection (behind them in the kernel's queue if
 * they were accepted) has been served. Then each sends a request and is
 * answered. */
static void test_silent_connection_not_accepted(void **st)
{
  (void)st;
  char body[16384];
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  (void)e2e_healthz_counter(rest, "socket_events"); /* rest is accepted and served */
  int before = e2e_server_fds(&srv);
  int fd[SILENT];
  for (int i = 0; i < SILENT; i++) assert_true((fd[i] = e2e_connect(srv.port)) >= 0);
  int late = e2e_connect(srv.port);
  assert_true(late >= 0);
  assert_int_equal(e2e_send(late, get, sizeof get - 1), 0);
  assert_int_equal(e2e_http_read(late, body, sizeof body, 5000), 200);
  int during = e2e_server_fds(&srv);
  print_message("server descriptors: %d before, %d with %d silent connections and one served\n", before, during, SILENT);
  if (during >= before + SILENT) fail_msg("%d silent connections hold descriptors in the server (%d -> %d)", SILENT, before, during);
  for (int i = 0; i < SILENT; i++) {
    assert_int_equal(e2e_send(fd[i], get, sizeof get - 1), 0);
    assert_int_equal(e2e_http_read(fd[i], body, sizeof body, 5000), 200);
    close(fd[i]);
  }
  close(late);
  close(rest);
}

/* EAGER connections each send a request right after connecting and are
 * answered: their requests cost no socket event (read when accepted). The
 * second request on rest is its own one event. */
static void test_first_request_read_at_accept(void **st)
{
  (void)st;
  char body[16384];
  static int fd[EAGER];
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  unsigned long long e0 = e2e_healthz_counter(rest, "socket_events");
  for (int i = 0; i < EAGER; i++) {
    assert_true((fd[i] = e2e_connect(srv.port)) >= 0);
    assert_int_equal(e2e_send(fd[i], get, sizeof get - 1), 0);
    assert_int_equal(e2e_http_read(fd[i], body, sizeof body, 5000), 200);
  }
  unsigned long long reported = e2e_healthz_counter(rest, "socket_events") - e0;
  print_message("socket events for %d first requests (and rest's second): %llu\n", EAGER, reported);
  if (reported > EAGER / 2) fail_msg("%llu socket events for %d requests sent on connect: not read at accept", reported, EAGER);
  for (int i = 0; i < EAGER; i++) close(fd[i]);
  close(rest);
}

/* Accepting stops with the turn's budget for opening connections
 * (src/net/conn.c accept_room): a connection accepted is read at once, so a
 * turn accepts only what it can read, and the rest wait in the kernel's
 * accept queue instead of in the server's deferred-read list. A server
 * whose read budget is 1 µs (one opening connection per turn) is stopped;
 * a served keep-alive REST client sends a request bigger than the read
 * buffer (two reads: it completes in the second turn), then QUEUED new
 * connections each send a request. On SIGCONT each turn accepts and
 * answers one, so at most two answers reach their clients before the REST
 * reply (kernel receive timestamps, no timings); without the accept budget
 * the first turn accepted and answered 32. No accepted connection's read is
 * deferred (/healthz logins.opening_deferred unchanged; before, a turn
 * accepted 32 and deferred the reads of all but the first), accepting
 * stopped at the budget (loop.accepts_deferred), every one is answered. */
#define QUEUED 40
static void test_accept_within_turn_budget(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-read-turn-us", "1", NULL };
  e2e_server_t one;
  assert_int_equal(e2e_start(&one, NULL, NULL, NULL, args), 0);
  char body[16384];
  int fd[QUEUED];
  int rest = e2e_connect(one.port);
  assert_true(rest >= 0);
  unsigned long long deferred0 = e2e_healthz_counter(rest, "opening_deferred");
  unsigned long long stopped0 = e2e_healthz_counter(rest, "accepts_deferred");
  assert_int_equal(e2e_stamp_on(rest), 0);

  assert_int_equal(kill(one.pid, SIGSTOP), 0);
  assert_int_equal(e2e_send_two_read_request(rest), 0);
  usleep(50 * 1000); /* the REST socket became ready first */
  for (int i = 0; i < QUEUED; i++) {
    assert_true((fd[i] = e2e_connect(one.port)) >= 0);
    assert_int_equal(e2e_stamp_on(fd[i]), 0);
    assert_int_equal(e2e_send(fd[i], get, sizeof get - 1), 0);
  }
  usleep(200 * 1000); /* every connection is in the accept queue with its request */
  assert_int_equal(kill(one.pid, SIGCONT), 0);

  struct timespec rest_at, at;
  assert_int_equal(e2e_read_stamped_reply(rest, &rest_at), 0);
  int ahead = 0;
  for (int i = 0; i < QUEUED; i++) {
    size_t n = e2e_recv_stamped(fd[i], body, sizeof body - 1, &at);
    assert_true(n > 0); /* every connection answered */
    body[n] = 0;
    assert_non_null(strstr(body, "HTTP/1.1 200"));
    ahead += e2e_before(&at, &rest_at);
    close(fd[i]);
  }
  unsigned long long deferred = e2e_healthz_counter(rest, "opening_deferred") - deferred0;
  unsigned long long stopped = e2e_healthz_counter(rest, "accepts_deferred") - stopped0;
  print_message("%d queued connections: %d answered before the REST reply, reads of accepted ones deferred %llu, accepting stopped %llu times\n",
                QUEUED, ahead, deferred, stopped);
  if (ahead > QUEUED / 4) fail_msg("the REST request waited for %d connections accepted and read in earlier turns", ahead);
  if (deferred > QUEUED / 4) fail_msg("%llu accepted connections waited for a later turn's read: accepted beyond the turn's budget", deferred);
  assert_true(stopped > 0);
  close(rest);
  assert_int_equal(e2e_finish(&one), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_silent_connection_not_accepted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_first_request_read_at_accept, setup, teardown),
    cmocka_unit_test(test_accept_within_turn_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
