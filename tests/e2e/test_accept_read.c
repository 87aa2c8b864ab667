/* End-to-end: a connection is accepted when its first bytes arrive, and
 * they are read at once (src/net/conn.c: TCP_DEFER_ACCEPT on the listening
 * socket, accept_some reads each accepted connection). Observable from
 * outside: a connection that never sends holds no descriptor in the server
 * (/proc/PID/fd), and a request sent right after connecting is answered
 * without a socket event (/healthz logins.socket_events: the kernel
 * reports only input that is still unread when the loop next waits). A
 * silent connection is served as soon as it sends; a half-sent request
 * still gets its 408 (test_http_bad). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Descriptors the server process holds. */
static int server_fds(void)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)srv.pid);
  DIR *d = opendir(path);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* /healthz logins.socket_events, asked on the keep-alive connection rest. */
static unsigned long long socket_events(int rest)
{
  unsigned long long v = 0;
  assert_int_equal(e2e_healthz_counter(rest, "socket_events", &v), 0);
  return v;
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
  (void)socket_events(rest); /* rest is accepted and served */
  int before = server_fds();
  int fd[SILENT];
  for (int i = 0; i < SILENT; i++) assert_true((fd[i] = e2e_connect(srv.port)) >= 0);
  int late = e2e_connect(srv.port);
  assert_true(late >= 0);
  assert_int_equal(e2e_send(late, get, sizeof get - 1), 0);
  assert_int_equal(e2e_http_read(late, body, sizeof body, 5000), 200);
  int during = server_fds();
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
  unsigned long long e0 = socket_events(rest);
  for (int i = 0; i < EAGER; i++) {
    assert_true((fd[i] = e2e_connect(srv.port)) >= 0);
    assert_int_equal(e2e_send(fd[i], get, sizeof get - 1), 0);
    assert_int_equal(e2e_http_read(fd[i], body, sizeof body, 5000), 200);
  }
  unsigned long long reported = socket_events(rest) - e0;
  print_message("socket events for %d first requests (and rest's second): %llu\n", EAGER, reported);
  if (reported > EAGER / 2) fail_msg("%llu socket events for %d requests sent on connect: not read at accept", reported, EAGER);
  for (int i = 0; i < EAGER; i++) close(fd[i]);
  close(rest);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_silent_connection_not_accepted),
    cmocka_unit_test(test_first_request_read_at_accept),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
