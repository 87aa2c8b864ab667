/* End-to-end: the server at its limits of connections
 * (docs/decisions/connection-limits.md, src/net/fdlimit.c).
 * - max_websockets: an upgrade past the cap is answered 503 (Retry-After,
 *   ErrorCode 60018) at once, REST and /healthz are still served, and a
 *   WebSocket that closes makes room for the next one.
 * - Out of descriptors: a new client is answered 503 NO_FDS (the v4
 *   envelope, or the operator API's shape under /operator/) instead of
 *   waiting in the kernel's accept queue, and is served again once
 *   descriptors are free.
 * - The soft open-files limit is raised to the hard one at start, and the
 *   default cap is that limit less its reserve. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[128];

static int setup_cap(void **st)
{
  (void)st;
  static const char *const args[] = { "--max-websockets", "2", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int setup_plain(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Wait (at most 5 s) until /healthz's connections.websockets is want. */
static void wait_websockets(long long want)
{
  assert_int_equal(e2e_healthz_wait(srv.port, "connections", "websockets", want, 5000), want);
}

static void test_ws_cap_refuses_upgrade(void **st)
{
  (void)st;
  char reply[4096], body[4096];
  int a = e2e_ws_login(srv.port, app, key, "u1", "Web", reply, sizeof reply);
  int b = e2e_ws_connect(srv.port, "/ws");
  assert_true(a >= 0);
  assert_true(b >= 0);
  wait_websockets(2);
  int c = e2e_connect(srv.port);
  assert_true(c >= 0);
  assert_int_equal(e2e_ws_upgrade_send(c, "/ws"), 0);
  size_t n = e2e_recv_all(c, reply, sizeof reply, 5000); /* the server closes after its answer */
  close(c);
  if (n == 0) fail_msg("no answer to an upgrade past max_websockets");
  if (strncmp(reply, "HTTP/1.1 503 ", 13) || !strstr(reply, "\r\nRetry-After: 1\r\n") || !strstr(reply, "\"ErrorCode\":60018") ||
      !strstr(reply, "max_websockets"))
    fail_msg("upgrade past the cap answered: %s", reply);
  assert_int_equal(e2e_healthz_stat(srv.port, "connections", "websockets"), 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "connections", "max_websockets"), 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "connections", "ws_refused"), 1);
  /* REST is served at the cap */
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_import", "{\"UserID\":\"u2\"}",
                          body, sizeof body), 200);
  if (!strstr(body, "\"ErrorCode\":0")) fail_msg("account_import at the cap: %s", body);
  /* the logged-in session still works */
  assert_int_equal(e2e_ws_send_text(a, "{\"op\":\"heartbeat\",\"id\":7}"), 0);
  assert_true(e2e_ws_recv_text(a, reply, sizeof reply, 5000) > 0);
  if (!strstr(reply, "\"id\":7")) fail_msg("heartbeat at the cap: %s", reply);
  /* one closes: the next upgrade is taken and logs in */
  close(b);
  wait_websockets(1);
  int d = e2e_ws_login(srv.port, app, key, "u2", "Web", reply, sizeof reply);
  if (d < 0) fail_msg("login after a WebSocket closed: %s", reply);
  close(d);
  close(a);
}

enum { HOLD = 2 };

static void test_out_of_fds_answers_503(void **st)
{
  (void)st;
  static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"; /* the header never ends: the server holds it */
  struct rlimit saved, tight;
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, NULL, &saved), 0);
  tight = saved;
  tight.rlim_cur = (rlim_t)e2e_fd_limit_leaving(srv.pid, HOLD);
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, &tight, NULL), 0);
  int hold[HOLD];
  for (int i = 0; i < HOLD; i++) {
    hold[i] = e2e_connect(srv.port);
    assert_true(hold[i] >= 0);
    assert_int_equal(e2e_send(hold[i], partial, sizeof partial - 1), 0);
    uint64_t t0 = e2e_now_ms();
    while (!e2e_server_holds(&srv, hold[i]) && e2e_now_ms() - t0 < 5000) e2e_sleep_ms(20);
    if (!e2e_server_holds(&srv, hold[i])) fail_msg("held connection %d was not accepted", i);
  }
  char body[4096], plain[4096];
  int v4 = e2e_http_timeout(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body, 5000);
  int op = e2e_http_timeout(srv.port, "GET", "/operator/v1/apps", NULL, NULL, plain, sizeof plain, 5000);
  assert_int_equal(prlimit(srv.pid, RLIMIT_NOFILE, &saved, NULL), 0);
  for (int i = 0; i < HOLD; i++) close(hold[i]);
  if (v4 != 503 || !strstr(body, "\"ErrorCode\":60018") || !strstr(body, "file descriptors"))
    fail_msg("out of descriptors, /healthz answered %d: %s", v4, body);
  if (op != 503 || !strstr(plain, "{\"error\":{\"code\":\"NO_FDS\""))
    fail_msg("out of descriptors, the operator API answered %d: %s", op, plain);
  /* served again, and counted */
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body), 200);
  assert_int_equal(e2e_healthz_stat(srv.port, "connections", "refused_no_fd"), 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "connections", "accept_pauses"), 0);
  char *log = e2e_server_log(&srv);
  assert_non_null(log);
  if (!strstr(log, "connection refused: out of file descriptors")) fail_msg("no log line for the refusal");
  free(log);
}

/* A server started with a soft open-files limit below its hard one raises
 * it, and caps WebSockets at the limit less its reserve. */
static void test_limit_raised_and_default_cap(void **st)
{
  (void)st;
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max < 2048) skip(); /* nothing to raise to here */
  struct rlimit low = { 1024, saved.rlim_max };
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  e2e_server_t s2;
  uint32_t app2;
  char key2[128];
  int rc = e2e_start(&s2, "china", &app2, key2, NULL);
  setrlimit(RLIMIT_NOFILE, &saved);
  assert_int_equal(rc, 0);
  unsigned long nr_open = 0;
  FILE *f = fopen("/proc/sys/fs/nr_open", "r");
  if (f) { if (fscanf(f, "%lu", &nr_open) != 1) nr_open = 0; fclose(f); }
  long long want = (long long)saved.rlim_max;
  if (nr_open && (unsigned long long)want > nr_open) want = (long long)nr_open;
  long long reserve = want / 4 < 256 ? want / 4 : 256;
  long long open_files = e2e_healthz_stat(s2.port, "connections", "open_files");
  long long cap = e2e_healthz_stat(s2.port, "connections", "max_websockets");
  struct rlimit now;
  assert_int_equal(prlimit(s2.pid, RLIMIT_NOFILE, NULL, &now), 0);
  assert_int_equal(e2e_finish(&s2), 0);
  assert_int_equal(open_files, want);
  assert_int_equal((long long)now.rlim_cur, want);
  assert_int_equal(cap, want - reserve);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_ws_cap_refuses_upgrade, setup_cap, teardown),
    cmocka_unit_test_setup_teardown(test_out_of_fds_answers_503, setup_plain, teardown),
    cmocka_unit_test(test_limit_raised_and_default_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
