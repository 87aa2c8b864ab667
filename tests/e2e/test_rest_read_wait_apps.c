/* End-to-end: a REST read waiting for the reader queue's room is not held
 * behind another app's read that waits for its app's share (§127,
 * docs/decisions/messaging-c2c-checks6.md; src/api/rest_read_wait.c
 * rest_next).
 *
 * Two apps, A and B, on one server with --reader-max-jobs 4 and one reader
 * thread, the change log's poll at 60 s (the queue holds the test's reads
 * only) and IMCLOUD_TEST_READER_STEPS (the reader takes jobs only up to the
 * count in its file). With no job taken: a WebSocket sync of A's filler f
 * (its own owner, first in the reader's ring), then two REST reads of A
 * (queued 3: A holds 2 of its share), then a third read of A (it waits: A's
 * two queued hold its share of the one place left, §126) and a read of B
 * (it waits behind the waiting one: arrival order, §125). One job is let
 * through: f's sync, the ring's head. Its room (2 places, A holding 2) is
 * still A's share, so A's third read waits on; B's read has nothing queued
 * and runs. Expected: rest_read_parked 2 → 1 and the reader's queue 3, then,
 * every job let through, the five answered. Before §127 the REST list waited
 * at its head: B's read stayed parked (2) until A's reads completed. Nothing
 * here depends on a time. */
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
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app_a, app_b;
static char key_a[80], key_b[80], rsteps[256];

#define ROAM "{\"Operator_Account\":\"ra\",\"Peer_Account\":\"rb\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}"

static int setup(void **st)
{
  (void)st;
  snprintf(rsteps, sizeof rsteps, "/tmp/imcloud-rwaitapps-rsteps-%d", (int)getpid());
  unlink(rsteps); /* absent: no limit */
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "singapore", &app_a, key_a);
  e2e_make_app(&srv, "singapore", &app_b, key_b);
  static const char *const args[] = { "--reader-max-jobs", "4", "--reader-threads", "1", "--change-poll-ms", "60000",
                                      "--rest-read-wait-max-ms", "600000", NULL };
  setenv("IMCLOUD_TEST_READER_STEPS", rsteps, 1);
  int rc = e2e_server_start(&srv, args);
  unsetenv("IMCLOUD_TEST_READER_STEPS");
  if (rc) return rc;
  const uint32_t apps[] = { app_a, app_b };
  const char *keys[] = { key_a, key_b };
  for (int i = 0; i < 2; i++) {
    import_users(srv.port, apps[i], keys[i], (const char *const[]){ "ra", "rb", "f", NULL });
    json_t *r = v4(srv.port, apps[i], keys[i], "openim/sendmsg",
                   "{\"From_Account\":\"rb\",\"To_Account\":\"ra\",\"MsgRandom\":7,\"MsgBody\":" TEXT("kept") "}");
    if (jint(r, "ErrorCode") != 0) rc = -1;
    json_decref(r);
  }
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  unlink(rsteps);
  return e2e_finish(&srv) == 0 ? 0 : -1;
}

static void wait_stat(const char *section, const char *field, long long n)
{
  assert_int_equal(e2e_healthz_wait(srv.port, section, field, n, 15000), n);
}

/* A roaming read of app's ra with rb on a fresh connection, not waiting for its reply: the connection. */
static int send_roam(uint32_t app, const char *key)
{
  char sig[1024], req[4096];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int n = snprintf(req, sizeof req,
                   "POST /v4/openim/admin_getroammsg?sdkappid=%u&identifier=administrator&usersig=%s&random=1"
                   "&contenttype=json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %zu"
                   "\r\n\r\n%s", app, sig, strlen(ROAM), ROAM);
  assert_true(n > 0 && (size_t)n < sizeof req);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  return fd;
}

/* The read's reply on fd: OK with the one message; fd closed. */
static void expect_roam(int fd)
{
  static char body[1 << 16];
  int status = e2e_http_read(fd, body, sizeof body, 30000);
  if (status != 200) fail_msg("no reply (%d)", status);
  json_t *r = json_loads(body, 0, NULL);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("the read was refused: %s", body);
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 1);
  json_decref(r);
  close(fd);
}

/* With no job taken (the reader's steps at the jobs taken so far, returned): A's filler f logged in (*f) and its
 * sync queued, the ring's head, then two REST reads of A queued (q): the reader's queue holds 3, A holds 2. */
static long long a_at_share(wsc_t *f, int q[2])
{
  assert_int_equal(wsc_login(f, srv.port, app_a, key_a, "f", "Web"), 0);
  wait_stat("reader", "queued", 0);
  long long taken = e2e_healthz_stat(srv.port, "reader", "jobs"); /* all taken so far have run */
  e2e_reader_steps(rsteps, taken);
  assert_int_equal(e2e_ws_send_text(f->fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0}"), 0);
  wait_stat("reader", "queued", 1);
  for (int i = 0; i < 2; i++) {
    q[i] = send_roam(app_a, key_a);
    wait_stat("reader", "queued", i + 2);
  }
  return taken;
}

/* One more job let through, f's sync (the ring's head): answered. */
static void f_sync_through(wsc_t *f, long long taken)
{
  e2e_reader_steps(rsteps, taken + 1);
  int id = 1;
  json_t *o = wsc_take(f, match_id, &id, 30000);
  assert_non_null(o);
  assert_int_equal(jint(o, "code"), 0);
  json_decref(o);
}

static void test_other_app_passes_held_head(void **st)
{
  (void)st;
  wsc_t f;
  int a[3];
  long long taken = a_at_share(&f, a);
  a[2] = send_roam(app_a, key_a);
  wait_stat("admission", "rest_read_parked", 1); /* at A's share */
  int b = send_roam(app_b, key_b);
  wait_stat("admission", "rest_read_parked", 2); /* behind it */
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), 3);
  f_sync_through(&f, taken);
  /* B's read ran (before §127: parked 2 until A's reads completed), A's third still waits for its share */
  wait_stat("admission", "rest_read_parked", 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), 3);
  unlink(rsteps); /* no limit */
  expect_roam(b);
  for (int i = 0; i < 3; i++) expect_roam(a[i]);
  wait_stat("admission", "rest_read_parked", 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_waits"), 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "refused"), 0);
  wsc_close(&f);
}

/* As above with HELD reads of A waiting at its share, each on its own connection, ahead of B's: more than the 32
 * the walk looked at before §131. B's read runs when f's sync makes room (A still at its share); before §131 it
 * stayed parked behind the 32nd until A's reads completed. */
static void test_other_app_passes_many_held(void **st)
{
  (void)st;
  enum { HELD = 40 };
  wsc_t f;
  int q[2], a[HELD];
  long long taken = a_at_share(&f, q);
  for (int i = 0; i < HELD; i++) a[i] = send_roam(app_a, key_a);
  wait_stat("admission", "rest_read_parked", HELD); /* at A's share, then behind the first */
  int b = send_roam(app_b, key_b);
  wait_stat("admission", "rest_read_parked", HELD + 1);
  f_sync_through(&f, taken);
  wait_stat("admission", "rest_read_parked", HELD); /* B's read ran past the HELD of A */
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), 3);
  unlink(rsteps); /* no limit */
  expect_roam(b);
  for (int i = 0; i < 2; i++) expect_roam(q[i]);
  for (int i = 0; i < HELD; i++) expect_roam(a[i]);
  wait_stat("admission", "rest_read_parked", 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "refused"), 0);
  wsc_close(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_other_app_passes_held_head, setup, teardown),
    cmocka_unit_test_setup_teardown(test_other_app_passes_many_held, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
