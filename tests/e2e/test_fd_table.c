/* End-to-end: the server sizes its descriptor table before connections come
 * (src/net/fdtable.c, option net_fd_table, default 65,536 capped by the
 * open-files limit), so no accept4() of its event loop grows the table:
 * each growth of a threaded process's table waits for an RCU grace period
 * inside that accept4(), with the loop blocked (the slow REST stretches of a
 * first login storm, bench/login_storm_rest.sh DIAG). Observable from
 * outside: the table's size, FDSize in /proc/PID/status. With an open-files
 * limit of 4,096 (soft and hard) the server's table holds 4,096 descriptors once it
 * listens, and 1,000 connections later it has not grown; with
 * --net-fd-table 0 it starts small and grows as connections arrive (the
 * behaviour before). */
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

#define LIMIT 4096
#define CONNS 1000

static e2e_server_t srv;
static struct rlimit saved;

/* FDSize of pid's /proc status: its descriptor table's slots. */
static long fd_size(pid_t pid)
{
  char path[64], line[256];
  long n = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "FDSize:", 7)) n = strtol(line + 7, NULL, 10);
  fclose(f);
  return n;
}

/* CONNS connections, each answered once (so each was accepted); closed after. */
static void connect_many(void)
{
  static int fds[CONNS];
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  char body[16384];
  for (int i = 0; i < CONNS; i++) {
    fds[i] = e2e_connect(srv.port);
    assert_true(fds[i] >= 0);
    assert_int_equal(e2e_send(fds[i], get, sizeof get - 1), 0);
    assert_int_equal(e2e_http_read(fds[i], body, sizeof body, 5000), 200);
  }
  for (int i = 0; i < CONNS; i++) close(fds[i]);
}

static int start(const char *const *args)
{
  /* the server inherits the limit: the table is sized to it, not to the default 65,536; the hard limit
   * too, since the server raises its soft limit to the hard one at start (net_fd_limit_raise; raising
   * it back here after the start needs root, as CI runs: otherwise the rest of this process keeps LIMIT) */
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit rl = { LIMIT, LIMIT };
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < LIMIT) rl.rlim_max = rl.rlim_cur = saved.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  int rc = e2e_start(&srv, NULL, NULL, NULL, args);
  setrlimit(RLIMIT_NOFILE, &saved);
  return rc;
}

static int setup(void **st) { (void)st; return start(NULL); }

static int setup_on_demand(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-fd-table", "0", NULL };
  return start(args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void test_sized_at_start(void **st)
{
  (void)st;
  long at_start = fd_size(srv.pid);
  if (at_start < LIMIT || at_start > 2 * LIMIT) fail_msg("FDSize %ld at start, want %d (the open-files limit)", at_start, LIMIT);
  connect_many();
  assert_int_equal(fd_size(srv.pid), at_start); /* no accept grew it */
}

static void test_zero_grows_on_demand(void **st)
{
  (void)st;
  long at_start = fd_size(srv.pid);
  if (at_start >= CONNS) fail_msg("FDSize %ld at start with --net-fd-table 0", at_start);
  connect_many();
  assert_true(fd_size(srv.pid) > CONNS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_sized_at_start, setup, teardown),
    cmocka_unit_test_setup_teardown(test_zero_grows_on_demand, setup_on_demand, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
