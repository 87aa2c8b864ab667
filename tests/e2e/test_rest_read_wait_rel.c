/* End-to-end: the two REST reads that were still refused 60018 at a full
 * reader queue after §125 wait for its room as a read arriving does (§126,
 * docs/decisions/messaging-c2c-checks6.md; src/api/rest_read_wait.c
 * rest_read_wait_rerun), as §121 made the WebSocket ones wait:
 * - a read the account-deletion gate held, run when the deletion ends
 *   (rel_gate.c node_run): a's roaming page with b, sent while b's deletion
 *   waits behind the test's write lock (race_lock), run when it commits;
 * - a read run again at its completion because a deletion committed since it
 *   was accepted (§115, rel_gate_rest_reread).
 *
 * The server runs as test_ws_read_wait_rel.c's: --reader-max-jobs 8, one
 * reader thread, the change log's poll at 60 s (the queue holds the test's
 * reads only) and the hooks IMCLOUD_TEST_READER_HOLD (no job taken while its
 * file exists: eight WebSocket fillers' syncs keep the queue full) and
 * IMCLOUD_TEST_READER_DONE_HOLD (a job run is not handed back while its file
 * exists: the queue is filled behind the read the thread took, so its
 * completion meets a full queue). Nothing here depends on a time.
 *
 * And the bound of §115 holds for a rerun that waited: its count is kept.
 *
 * Expected: the read waits (/healthz admission.rest_read_parked), then is
 * answered with b's two messages, kept for a. Before §126 each was answered
 * 60018 "server busy (storage queue full)" at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_fill.h"
#include "e2e_msg.h"
#include "e2e_race.h"

#define CAP 8 /* --reader-max-jobs */

static e2e_server_t srv;
static uint32_t app;
static char key[80], rhold[256], dhold[256];
static sqlite3 *locked; /* the test's write lock, if held */

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)
#define ROAM "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}"

static const char *tick_ms = "1000"; /* --tick-ms: the default, or 600 s (setup_no_tick) */

/* A server with a, b, d1 … d4 and the fillers f0 … f7; b sent a two messages. */
static int setup(void **st)
{
  (void)st;
  snprintf(rhold, sizeof rhold, "/tmp/imcloud-rrwaitrel-rhold-%d", (int)getpid());
  snprintf(dhold, sizeof dhold, "/tmp/imcloud-rrwaitrel-dhold-%d", (int)getpid());
  unlink(rhold);
  unlink(dhold);
  setenv("IMCLOUD_TEST_READER_HOLD", rhold, 1);
  setenv("IMCLOUD_TEST_READER_DONE_HOLD", dhold, 1);
  const char *args[] = { "--reader-max-jobs", "8", "--reader-threads", "1", "--change-poll-ms", "60000",
                         "--rest-read-wait-max-ms", "600000", "--tick-ms", tick_ms, NULL };
  int rc = e2e_start(&srv, "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_READER_HOLD");
  unsetenv("IMCLOUD_TEST_READER_DONE_HOLD");
  if (rc) return rc;
  import_users(srv.port, app, key,
               (const char *const[]){ "a", "b", "d1", "d2", "d3", "d4", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", NULL });
  for (int k = 1; k <= 2; k++) {
    json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"b\",\"To_Account\":\"a\",\"MsgRandom\":%d,\"MsgBody\":"
                   TEXT("before") "}", k);
    if (jint(r, "ErrorCode") != 0) rc = -1;
    json_decref(r);
  }
  return rc;
}

/* The tick at 600 s: no waiting request of a closed connection is dropped by it during the test. */
static int setup_no_tick(void **st)
{
  tick_ms = "600000";
  int rc = setup(st);
  tick_ms = "1000";
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  if (locked) race_unlock(locked);
  locked = NULL;
  unlink(dhold);
  unlink(rhold);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

static void wait_stat(const char *section, const char *field, long long n)
{
  assert_int_equal(e2e_healthz_wait(srv.port, section, field, n, 15000), n);
}

/* The fillers logged in (before any write lock: a login writes). */
static void login_fillers(wsc_t f[CAP]) { e2e_fillers_login(f, CAP, srv.port, app, key, NULL); }

/* The reader held, each filler sends a sync: the queue holds CAP reads (full). */
static void fill(wsc_t f[CAP])
{
  e2e_sync_hold(rhold, 1);
  e2e_fillers_sync(f, CAP);
  wait_stat("reader", "queued", CAP);
}

/* The fillers' syncs: answered; their connections closed. */
static void drain(wsc_t f[CAP]) { e2e_fillers_drain(f, CAP); }

/* Until the read sent on fd waits for the reader queue's room (admission.rest_read_parked) or is answered (before
 * §126: refused at once); then it must be waiting. */
static void until_parked(int fd)
{
  for (int waited = 0; waited < 15000; waited += 10) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (e2e_healthz_stat(srv.port, "admission", "rest_read_parked") >= 1 || poll(&p, 1, 0) == 1) break;
    e2e_sleep_ms(10);
  }
  struct pollfd p = { fd, POLLIN, 0 };
  if (poll(&p, 1, 0) == 1) {
    json_t *r = race_read(fd);
    fail_msg("the read was answered instead of waiting: %s", r ? json_dumps(r, JSON_COMPACT) : "(nothing)");
  }
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_parked"), 1);
}

/* The read's reply on fd: OK with b's two messages. */
static void expect_page(int fd)
{
  json_t *r = race_read(fd);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("the read was refused: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 2);
  json_decref(r);
  close(fd);
}

/* a's roaming page with b waits in the deletion gate (b's deletion held behind the write lock); the fillers fill
 * the reader queue; the deletion commits: the read, run from the gate, meets the full queue and waits for its
 * room. Before §126: answered 60018 as it ran. */
static void test_from_gate_waits(void **st)
{
  (void)st;
  wsc_t f[CAP];
  login_fillers(f);
  locked = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  int rd = race_send(&srv, app, key, "openim/admin_getroammsg", ROAM);
  wait_stat("rel_gate", "waiting", 1);
  fill(f);
  race_unlock(locked); /* the deletion commits: the gate runs the read */
  locked = NULL;
  json_t *r = race_read(del);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  until_parked(rd);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0); /* held by the list, not the gate */
  e2e_sync_hold(rhold, 0);
  expect_page(rd);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_waits"), 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_parked"), 0);
}

static void delete_user(const char *u)
{
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"%s\"}]}", u);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
}

/* The fillers logged in; a's roaming page with b sent (its connection returned), queued (the reader held), made
 * stale by d1's deletion (§115); the thread takes it and keeps it run (done hold); the fillers fill the queue
 * behind it. The done hold is still on. */
static int stale_read_running(wsc_t f[CAP])
{
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  e2e_sync_hold(rhold, 1);
  int rd = race_send(&srv, app, key, "openim/admin_getroammsg", ROAM);
  wait_stat("reader", "queued", 1);
  delete_user("d1");
  e2e_sync_hold(dhold, 1);
  e2e_sync_hold(rhold, 0); /* the thread takes the read, runs it and keeps it */
  wait_stat("reader", "queued", 0);
  fill(f); /* the reader held again: the queue full behind it */
  return rd;
}

/* a's roaming page with b, stale when read, kept run while the queue fills behind it (stale_read_running); handed
 * back, its rerun meets the full queue and waits for its room. Before §126: answered 60018 at its completion. */
static void test_rerun_waits(void **st)
{
  (void)st;
  wsc_t f[CAP];
  int rd = stale_read_running(f);
  e2e_sync_hold(dhold, 0); /* its completion: stale, run again into the full queue */
  until_parked(rd);
  e2e_sync_hold(rhold, 0);
  expect_page(rd);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_waits"), 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_parked"), 0);
}

/* a's roaming page with b made stale by a deletion during each of four reads (d1 … d4): its third rerun meets the
 * full queue and waits here; let in, its fourth read is made stale too: answered 60018 "account deletions kept
 * changing …" — the count went on through the wait (a count lost there: answered with b's messages). Before §126:
 * the third rerun answered 60018 "server busy (storage queue full)". */
static void test_rerun_bound_kept(void **st)
{
  (void)st;
  wsc_t f[CAP];
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  e2e_sync_hold(rhold, 1);
  int rd = race_send(&srv, app, key, "openim/admin_getroammsg", ROAM);
  wait_stat("reader", "queued", 1);
  for (int i = 1; i <= 3; i++) {
    char u[16];
    snprintf(u, sizeof u, "d%d", i);
    delete_user(u);          /* read i, queued, is stale */
    e2e_sync_hold(dhold, 1);
    e2e_sync_hold(rhold, 0); /* the thread takes it, runs it and keeps it */
    wait_stat("reader", "queued", 0);
    e2e_sync_hold(rhold, 1);
    if (i == 3) fill(f);     /* the third rerun meets the full queue */
    e2e_sync_hold(dhold, 0); /* read i's completion: run again */
    if (i < 3) wait_stat("reader", "queued", 1);
  }
  until_parked(rd);
  e2e_sync_hold(dhold, 1);
  e2e_sync_hold(rhold, 0);   /* the thread takes one filler's sync and keeps it */
  wait_stat("reader", "queued", CAP - 1);
  e2e_sync_hold(rhold, 1);
  e2e_sync_hold(dhold, 0);   /* its completion makes room: the rerun's turn, read 4 queued */
  wait_stat("admission", "rest_read_parked", 0);
  wait_stat("reader", "queued", CAP);
  delete_user("d4");         /* read 4 is stale */
  e2e_sync_hold(rhold, 0);
  json_t *r = race_read(rd);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 60018);
  assert_string_equal(jstr(r, "ErrorInfo"), "account deletions kept changing what the read named; retry later");
  assert_null(json_object_get(r, "MsgList"));
  json_decref(r);
  close(rd);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "rest_read_waits"), 1);
}

/* §128's Left: a connection's rerun parked ahead of its own later read, let through first, leaves that read waiting
 * with nothing marking the connection's last request; the client resets; a new client whose connection gets the
 * freed memory, and so the same net_req_conn_id (the allocator hands back the chunk just freed), sends a write. It is
 * answered at once: the orphan is found and dropped (§130). Before §130 the write waited behind the orphan until
 * the tick (600 s here) or the next completion; the reader is held, so it was not answered in 10 s. */
static void test_rerun_first_then_reset(void **st)
{
  (void)st;
  wsc_t f[CAP];
  int rd = stale_read_running(f); /* read 1 */
  race_send_on(rd, app, key, "openim/admin_getroammsg", ROAM); /* read 2, pipelined: waits at the full queue */
  wait_stat("admission", "rest_read_parked", 1);
  e2e_sync_hold(dhold, 0); /* read 1's completion: stale, its rerun waits ahead of read 2 */
  wait_stat("admission", "rest_read_parked", 2);
  e2e_sync_hold(dhold, 1);
  e2e_sync_hold(rhold, 0); /* the thread takes one filler's sync and keeps it */
  wait_stat("reader", "queued", CAP - 1);
  e2e_sync_hold(rhold, 1);
  e2e_sync_hold(dhold, 0); /* its completion makes room for one: the rerun's turn; read 2 still waits */
  wait_stat("admission", "rest_read_parked", 1);
  wait_stat("reader", "queued", CAP);
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  assert_int_equal(setsockopt(rd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(rd);         /* reset: read 2 is an orphan */
  e2e_sleep_ms(300); /* the server reads the reset and frees the connection (nothing else takes its memory) */
  int w = race_send(&srv, app, key, "openim/sendmsg", "{\"From_Account\":\"b\",\"To_Account\":\"a\",\"MsgRandom\":9,"
                    "\"MsgBody\":" TEXT("after") "}");
  static char body[1 << 16];
  int status = e2e_http_read(w, body, sizeof body, 10000);
  if (status != 200) fail_msg("the write was not answered (%d): it waited behind the reset client's read", status);
  json_t *r = json_loads(body, 0, NULL);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  close(w);
  e2e_sync_hold(rhold, 0);
  drain(f);
  wait_stat("admission", "rest_read_parked", 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_from_gate_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_bound_kept, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_first_then_reset, setup_no_tick, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
