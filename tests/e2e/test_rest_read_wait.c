/* End-to-end: a REST read the reader pool's queue has no room for waits for
 * it instead of being refused 60018 (§125,
 * docs/decisions/messaging-c2c-checks6.md; src/api/rest_read_wait.c).
 *
 * The server runs with --reader-max-jobs 4, one reader thread,
 * --change-poll-ms 60000 (the change log's poll takes no place while a test
 * runs) and IMCLOUD_TEST_READER_HOLD: while the hold file exists no reader
 * thread takes a job, so CAP WebSocket syncs (each connection its own owner)
 * fill the queue and it stays full; nothing here depends on a time but the
 * wait limit's test, which waits for it (a short limit, a short tick).
 *
 * - A REST read (admin_getroammsg) at the full queue is kept
 *   (admission.rest_read_parked) and answered with its messages once the hold
 *   is lifted. Before §125 it was answered 60018 at once.
 * - Two requests pipelined on one keep-alive connection (a read, then a
 *   sendmsg behind it) both wait and are answered in order, both OK.
 * - A client that resets its connection while its read waits: its request is
 *   dropped at the next tick (the counter back to 0, nothing leaks under
 *   ASan); one that closes (FIN, a half-close to HTTP) is answered into the
 *   void once room comes; the server stays healthy.
 * - The wait limit: a read waiting --rest-read-wait-max-ms is answered 60018
 *   (admission.rest_read_expired), the queue still held.
 * - A REST write (sendmsg) from another connection while a read waits is not
 *   held: answered at once.
 * - An operator API GET at the full queue waits too (200 once room comes;
 *   before §125: 503 OVERLOADED at once).
 * - A stopping server answers a waiting read 70500 and exits 0.
 * - (§126) A read whose app's reads queued hold its share of the room (§65:
 *   two of the app's reads queued, two places free) waits for it and is
 *   answered with its message once the hold is lifted. Before §126 its
 *   submit was refused by the share: 60018 at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_fill.h"
#include "e2e_msg.h"
#include "e2e_op.h"

#define CAP 4 /* --reader-max-jobs */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];
static wsc_t fillers[CAP];

static int start_tick(const char *wait_ms, const char *tick_ms)
{
  const char *args[] = { "--reader-max-jobs", "4", "--reader-threads", "1", "--change-poll-ms", "60000",
                         "--tick-ms", tick_ms, "--rest-read-wait-max-ms", wait_ms, NULL };
  return e2e_start_reader_held(&srv, hold, sizeof hold, "rrwait", "singapore", &app, key, args);
}

static int start(const char *wait_ms) { return start_tick(wait_ms, "100"); }

static int setup(void **st) { (void)st; return start("600000"); }

/* The tick at 600 s: nothing is dropped by it during a test. */
static int setup_no_tick(void **st) { (void)st; return start_tick("600000", "600000"); }

static char auth[256];

/* start's server with the operator token made before it starts (the server reads it then). */
static int setup_op(void **st)
{
  (void)st;
  const char *args[] = { "--reader-max-jobs", "4", "--reader-threads", "1", "--change-poll-ms", "60000",
                         "--tick-ms", "100", "--rest-read-wait-max-ms", "600000", NULL };
  snprintf(hold, sizeof hold, "/tmp/imcloud-rrwait-rhold-%d", (int)getpid());
  unlink(hold);
  setenv("IMCLOUD_TEST_READER_HOLD", hold, 1);
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "singapore", &app, key);
  int rc = op_token_auth(&srv, auth, sizeof auth) ? -1 : e2e_server_start(&srv, args);
  unsetenv("IMCLOUD_TEST_READER_HOLD");
  return rc;
}
static int setup_short(void **st) { (void)st; return start("300"); }

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static long long hz(const char *section, const char *field) { return e2e_healthz_stat(srv.port, section, field); }

/* Users a (with one message from b), b, and CAP fillers logged in; then the hold, and the fillers' syncs fill the
 * queue (the change log's poll may hold a place: one filler's sync then waits in the WebSocket list). */
static void fill(void)
{
  const char *all[] = { "ra", "rb", "rf0", "rf1", "rf2", "rf3", NULL };
  import_users(srv.port, app, key, all);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"rb\",\"To_Account\":\"ra\",\"MsgRandom\":7,"
                 "\"MsgBody\":" TEXT("kept") "}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  e2e_fillers_login(fillers, CAP, srv.port, app, key, all + 2);
  e2e_sync_hold(hold, 1);
  e2e_fillers_sync(fillers, CAP);
  assert_int_equal(e2e_healthz_wait(srv.port, "reader", "queued", CAP, 30000), CAP);
}

/* Lift the hold; each filler's sync answered. */
static void drain(void)
{
  e2e_sync_hold(hold, 0);
  e2e_fillers_drain(fillers, CAP);
}

#define ROAM "{\"Operator_Account\":\"ra\",\"Peer_Account\":\"rb\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}"

/* The request line and body of a v4 command as the administrator, appended to out at *len. */
static void put_req(char *out, size_t cap, size_t *len, const char *cmd, const char *body)
{
  char sig[1024];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int n = snprintf(out + *len, cap - *len,
                   "POST /v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json HTTP/1.1\r\n"
                   "Host: t\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   cmd, app, sig, strlen(body), body);
  assert_true(n > 0 && (size_t)n < cap - *len);
  *len += (size_t)n;
}

/* One request on a fresh connection, not waiting for its reply: the connection. */
static int send_one(const char *cmd, const char *body)
{
  static char req[4096];
  size_t len = 0;
  put_req(req, sizeof req, &len, cmd, body);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, len), 0);
  return fd;
}

/* The next reply on fd, parsed (caller decrefs). */
static json_t *reply_of(int fd, int timeout_ms)
{
  static char body[1 << 16];
  int status = e2e_http_read(fd, body, sizeof body, timeout_ms);
  if (status != 200) fail_msg("no reply (%d)", status);
  json_t *j = json_loads(body, 0, NULL);
  assert_non_null(j);
  return j;
}

/* A read's reply: OK with its n messages. */
static void expect_roam(json_t *r, size_t n)
{
  if (jint(r, "ErrorCode") != 0) fail_msg("the read was refused: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), n);
  json_decref(r);
}

static void test_read_waits_for_room(void **st)
{
  (void)st;
  fill();
  int fd = send_one("openim/admin_getroammsg", ROAM);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  assert_int_equal(hz("admission", "rest_read_waits"), 1);
  drain();
  expect_roam(reply_of(fd, 30000), 1);
  close(fd);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 0, 30000), 0);
}

static void test_pipelined_in_order(void **st)
{
  (void)st;
  fill();
  static char req[8192];
  size_t len = 0;
  put_req(req, sizeof req, &len, "openim/admin_getroammsg", ROAM);
  put_req(req, sizeof req, &len, "openim/sendmsg", "{\"From_Account\":\"ra\",\"To_Account\":\"rb\",\"MsgRandom\":8,"
          "\"MsgBody\":" TEXT("behind") "}");
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, len), 0);
  /* the write waits behind its connection's read */
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 2, 30000), 2);
  drain();
  /* the read first: OK with its message (the write behind it runs once the read is queued, and may commit before
   * a reader thread takes the read: then the read sees both) */
  json_t *r = reply_of(fd, 30000);
  if (jint(r, "ErrorCode") != 0) fail_msg("the read was refused: %s", json_dumps(r, JSON_COMPACT));
  assert_true(json_array_size(json_object_get(r, "MsgList")) >= 1);
  json_decref(r);
  json_t *w = reply_of(fd, 30000);
  assert_int_equal(jint(w, "ErrorCode"), 0);
  assert_non_null(jstr(w, "MsgKey"));
  assert_null(json_object_get(w, "MsgList")); /* the write's reply, second */
  json_decref(w);
  close(fd);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 0, 30000), 0);
}

static void test_client_closes(void **st)
{
  (void)st;
  fill();
  int reset = send_one("openim/admin_getroammsg", ROAM);
  int fin = send_one("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"ra\"}");
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 2, 30000), 2);
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  assert_int_equal(setsockopt(reset, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(reset); /* an RST: the server's connection is gone, its request orphaned, dropped at the next tick */
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  close(fin);   /* a FIN: a half-close, answered (into the void) once room comes */
  drain();
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 0, 30000), 0);
  int fd = send_one("openim/admin_getroammsg", ROAM);
  expect_roam(reply_of(fd, 30000), 1);
  close(fd);
}

/* A client resets its connection while its read waits; a new client's connection then gets the freed
 * connection's memory (the allocator hands back the chunk just freed), and so the same net_req_conn_id. Its write
 * must not wait behind the orphan (§128: the orphan is dropped when its address comes back), and no tick runs in
 * this test to drop it. Before §128 the write waited until the next tick. */
static void test_address_reused(void **st)
{
  (void)st;
  fill();
  int reset = send_one("openim/admin_getroammsg", ROAM);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  assert_int_equal(setsockopt(reset, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(reset);
  e2e_sleep_ms(300); /* the server reads the reset and frees the connection (no request meanwhile: nothing else
                        takes the freed memory) */
  int fd = send_one("openim/sendmsg", "{\"From_Account\":\"rb\",\"To_Account\":\"ra\",\"MsgRandom\":9,"
                    "\"MsgBody\":" TEXT("after") "}");
  json_t *r = reply_of(fd, 10000);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  close(fd);
  drain();
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 0, 30000), 0);
}

static void test_wait_limit(void **st)
{
  (void)st;
  fill();
  int fd = send_one("openim/admin_getroammsg", ROAM);
  json_t *r = reply_of(fd, 30000); /* the queue still held */
  assert_int_equal(jint(r, "ErrorCode"), 60018);
  assert_non_null(strstr(jstr(r, "ErrorInfo"), "rest_read_wait_max_ms"));
  json_decref(r);
  close(fd);
  assert_int_equal(hz("admission", "rest_read_expired"), 1);
  assert_int_equal(hz("admission", "rest_read_waits"), 1);
  assert_int_equal(hz("admission", "rest_read_parked"), 0);
  drain();
}

static void test_write_not_held(void **st)
{
  (void)st;
  fill();
  int rd = send_one("openim/admin_getroammsg", ROAM);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  /* another connection's write: run at once, while the read still waits */
  int wr = send_one("openim/sendmsg", "{\"From_Account\":\"ra\",\"To_Account\":\"rb\",\"MsgRandom\":9,"
                    "\"MsgBody\":" TEXT("now") "}");
  json_t *w = reply_of(wr, 30000);
  assert_int_equal(jint(w, "ErrorCode"), 0);
  json_decref(w);
  close(wr);
  assert_int_equal(hz("admission", "rest_read_parked"), 1);
  assert_int_equal(hz("admission", "rest_read_waits"), 1);
  drain();
  expect_roam(reply_of(rd, 30000), 2); /* it ran after the write, which committed while it waited */
  close(rd);
}

/* An operator API GET (a reader job) at the full queue waits too, and is answered 200 once room comes. */
static void test_operator_get_waits(void **st)
{
  (void)st;
  fill();
  char req[512];
  int n = snprintf(req, sizeof req, "GET /operator/v1/apps HTTP/1.1\r\nHost: t\r\n%s\r\n", auth);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  drain();
  static char body[1 << 16];
  int status = e2e_http_read(fd, body, sizeof body, 30000);
  if (status != 200) fail_msg("GET /operator/v1/apps: %d %s", status, body);
  json_t *j = json_loads(body, 0, NULL);
  assert_non_null(j);
  json_decref(j);
  close(fd);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 0, 30000), 0);
}

static void test_parked_at_stop(void **st)
{
  (void)st;
  fill();
  int fd = send_one("openim/admin_getroammsg", ROAM);
  assert_int_equal(e2e_healthz_wait(srv.port, "admission", "rest_read_parked", 1, 30000), 1);
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  json_t *r = reply_of(fd, 30000);
  assert_int_equal(jint(r, "ErrorCode"), 70500);
  json_decref(r);
  close(fd);
  e2e_sync_hold(hold, 0);
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  for (int i = 0; i < CAP; i++) wsc_close(&fillers[i]);
}

/* The hold on, the queue empty: two REST reads of the app queued (two places left, the app holding two: its
 * share); a third read of the app waits (§126) instead of being refused by the share, then is answered. */
static void test_share_waits(void **st)
{
  (void)st;
  const char *all[] = { "ra", "rb", NULL };
  import_users(srv.port, app, key, all);
  json_t *m = v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"rb\",\"To_Account\":\"ra\","
                 "\"MsgRandom\":7,\"MsgBody\":" TEXT("kept") "}");
  assert_int_equal(jint(m, "ErrorCode"), 0);
  json_decref(m);
  e2e_sync_hold(hold, 1);
  int fd[3];
  for (int i = 0; i < 2; i++) {
    fd[i] = send_one("openim/admin_getroammsg", ROAM);
    assert_int_equal(e2e_healthz_wait(srv.port, "reader", "queued", i + 1, 30000), i + 1);
  }
  fd[2] = send_one("openim/admin_getroammsg", ROAM);
  /* it waits (on the code before §126: answered 60018 by the share at once, never counted here) */
  for (int waited = 0; waited < 30000 && hz("admission", "rest_read_parked") < 1; waited += 10) {
    struct pollfd p = { fd[2], POLLIN, 0 };
    if (poll(&p, 1, 10) == 1) break;
  }
  assert_int_equal(hz("admission", "rest_read_parked"), 1);
  assert_int_equal(hz("reader", "queued"), 2);
  e2e_sync_hold(hold, 0);
  for (int i = 0; i < 3; i++) {
    expect_roam(reply_of(fd[i], 30000), 1);
    close(fd[i]);
  }
  assert_int_equal(hz("admission", "rest_read_waits"), 1);
  assert_int_equal(hz("admission", "rest_read_parked"), 0);
}

static int teardown_stopped(void **st)
{
  (void)st;
  unlink(hold);
  if (srv.pid) return e2e_finish(&srv);
  e2e_dir_remove(&srv);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_read_waits_for_room, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_client_closes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_limit, setup_short, teardown),
    cmocka_unit_test_setup_teardown(test_write_not_held, setup, teardown),
    cmocka_unit_test_setup_teardown(test_operator_get_waits, setup_op, teardown),
    cmocka_unit_test_setup_teardown(test_parked_at_stop, setup, teardown_stopped),
    cmocka_unit_test_setup_teardown(test_share_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_address_reused, setup_no_tick, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
