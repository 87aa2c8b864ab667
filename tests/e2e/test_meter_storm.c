/* End-to-end: `kill -9` during a login storm, then an exact count. Four
 * client processes log distinct users in as fast as they can (test clock on
 * 30 Nov 2026) and record every acknowledged login; the server is killed
 * with SIGKILL in the middle and restarted. Then `imcloud usage`: every
 * acknowledged user is counted, at most the logins in flight at the kill are
 * counted besides, registrations match, and logging every acknowledged user
 * in again adds nothing (nothing lost, nothing counted twice, M-7). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

#define CLIENTS 4

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-30", NULL };

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Child: log in s<c>_0, s<c>_1, … until the server goes away; one line per ack. */
static void client(int c, const char *ack_path)
{
  FILE *acks = fopen(ack_path, "w");
  if (!acks) _exit(1);
  for (int i = 0;; i++) {
    char user[32];
    snprintf(user, sizeof user, "s%d_%d", c, i);
    int fd = e2e_ws_login(srv.port, app, key, user, "Web", NULL, 0);
    if (fd < 0) break;
    fprintf(acks, "%s\n", user);
    fflush(acks);
    close(fd);
  }
  fclose(acks);
  _exit(0);
}

static json_t *usage(void)
{
  static char out[1 << 16];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month 2026-11 --json", app), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  return o;
}

static json_int_t day30(json_t *o, const char *k)
{
  return json_integer_value(json_object_get(json_array_get(json_object_get(o, "days"), 29), k));
}

static void test_kill9_during_login_storm(void **st)
{
  (void)st;
  char path[CLIENTS][320];
  pid_t pid[CLIENTS];
  for (int c = 0; c < CLIENTS; c++) {
    snprintf(path[c], sizeof path[c], "%s/acks%d.txt", srv.dir, c);
    if ((pid[c] = fork()) == 0) client(c, path[c]);
  }
  usleep(1500 * 1000);
  e2e_server_kill(&srv);                  /* SIGKILL while logins are flowing */
  for (int c = 0; c < CLIENTS; c++) waitpid(pid[c], NULL, 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  int acked = 0;
  static char users[CLIENTS * 20000][32];
  for (int c = 0; c < CLIENTS; c++) {
    FILE *f = fopen(path[c], "r");
    assert_non_null(f);
    while (acked < CLIENTS * 20000 && fgets(users[acked], sizeof users[acked], f)) {
      users[acked][strcspn(users[acked], "\n")] = 0;
      acked++;
    }
    fclose(f);
  }
  assert_true(acked > 10);                /* the storm ran */
  json_t *o = usage();
  json_int_t dau = day30(o, "dau");
  print_message("acknowledged %d logins, counted DAU %lld\n", acked, (long long)dau);
  /* every acknowledged login is counted; besides, at most one login per client was in flight */
  assert_true(dau >= acked);
  assert_true(dau <= acked + CLIENTS);
  assert_int_equal(day30(o, "registrations"), dau);
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), dau);
  json_decref(o);
  /* the acknowledged users again, after the restart: nothing counted twice */
  for (int i = 0; i < acked; i += acked / 25 + 1) {
    int fd = e2e_ws_login(srv.port, app, key, users[i], "PC", NULL, 0);
    assert_true(fd >= 0);
    close(fd);
  }
  o = usage();
  assert_int_equal(day30(o, "dau"), dau);
  assert_int_equal(json_integer_value(json_object_get(o, "mau")), dau);
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_during_login_storm) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
