/* End-to-end: a login, a session's end and its PushOnline window of an
 * account whose deletion is in flight (decisions §103). The deletion's purge
 * empties the account's relationship record in memory before its
 * transaction commits (§96), its status text included; a status push made
 * from it, or a PushOnline window written into it, in that window rests on
 * a change that is not durable. The server runs with IMCLOUD_TEST_SYNC_HOLD
 * (e2e_start_sync_held): the window is held open for as long as the test
 * needs. The app is international (Developer edition: user status on, and
 * account_delete allowed).
 *
 * Until 2026-12-06: a session of the account that ended in the window pushed
 * its subscribers an empty custom_status, though the deletion then failed
 * and the text was back; and when the deletion committed, that session's
 * PushOnline window was written after it — a relationship row of a deleted
 * account, in storage for good — and its subscribers told of its status.
 *
 * Since §114 a later session end of the same account and platform supersedes
 * the waiting one in place: the stored window is the last end's (a logout's
 * clearing included). Until 2026-12-07 each end waited as a node of its own,
 * capped at rel_gate_wait_max: past it one was dropped, and with it the
 * window it would have stored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_damage.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], hold[256];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static json_t *first(json_t *r, const char *list) { return json_array_get(json_object_get(r, list), 0); }

static json_t *rpc_ok(wsc_t *w, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(w, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("%s: %s", op, json_dumps(r, JSON_COMPACT));
  return r;
}

/* A server (failing as plan says; NULL: not; extra serve arguments args) with b and c: b logged in on an iPhone
 * (wb) with the status text "away", c logged in (wc) and subscribed to b's status. */
static void start_args(const char *plan, const char *const *args, wsc_t *wb, wsc_t *wc)
{
  if (plan) setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_start_sync_held(&srv, hold, sizeof hold, "reldelst", "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "b", "c", NULL });
  assert_int_equal(wsc_login(wb, srv.port, app, key, "b", "iPhone"), 0);
  json_decref(rpc_ok(wb, "status_set", "\"custom_status\":\"away\""));
  assert_int_equal(wsc_login(wc, srv.port, app, key, "c", "Web"), 0);
  json_decref(rpc_ok(wc, "status_subscribe", "\"users\":[\"b\"]"));
}

static void start(const char *plan, wsc_t *wb, wsc_t *wc) { start_args(plan, NULL, wb, wc); }

static int stop(void **st)
{
  (void)st;
  if (hold[0]) e2e_sync_hold(hold, 0);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

/* b's deletion sent and its job in the writer (n jobs in flight): its purge is applied in memory. */
static int delete_b_held(long long n)
{
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, n);
  return del;
}

/* w's connection ended by the client (no logout) and let go of by the server: its session has ended. */
static void session_ends(wsc_t *w)
{
  assert_int_equal(shutdown(w->fd, SHUT_WR), 0);
  for (int waited = 0; waited < 10000 && e2e_server_holds(&srv, w->fd); waited += 20) usleep(20000);
  assert_false(e2e_server_holds(&srv, w->fd));
  wsc_close(w);
}

static int match_status_of_b(json_t *o, const void *arg)
{
  (void)arg;
  return match_type(o, "status") && jstr(o, "user") && !strcmp(jstr(o, "user"), "b");
}

/* Rows of the rel table whose key is a PushOnline window (only b logs in on a mobile platform here). */
static long long windows_stored(void)
{
  char path[400];
  sqlite3 *db;
  sqlite3_stmt *st;
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM rel WHERE key LIKE 'push_until.%'", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* A write that completes after every write submitted before it (the writer's order). */
static void writes_done(void)
{
  json_t *r = V4("im_open_login_svc/account_import", "{\"UserID\":\"z\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

/* b's deletion fails (account_groups:1). In its window b logs in on Android (that login's job was in the writer
 * before the deletion's, so its completion runs in the window) and b's iPhone session ends: both status pushes
 * wait and, the account staying, go out after it with b's text "away" — on main the session's end pushed c an
 * empty custom_status at once, read from the purge not yet durable. The iPhone's PushOnline window is stored. */
static void test_failed_delete_pushes_durable_status(void **st)
{
  (void)st;
  wsc_t wb, wc;
  start("account_groups:1", &wb, &wc);
  e2e_sync_hold(hold, 1);
  int fd2 = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd2 >= 0);
  char frame[2048];
  e2e_ws_login_frame(app, key, "b", "Android", "dev-b2", frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd2, frame), 0);
  race_inflight(&srv, 1);                 /* the login's job */
  int del = delete_b_held(2);
  session_ends(&wb);
  json_t *early = wsc_take(&wc, match_status_of_b, NULL, 300);
  if (early) fail_msg("a status of b pushed before the deletion ended: %s", json_dumps(early, JSON_COMPACT));
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 1);
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500); /* b stays */
  json_decref(r);
  char buf[4096];
  assert_true(e2e_ws_recv_text(fd2, buf, sizeof buf, 15000) > 0); /* the login's reply */
  r = json_loads(buf, 0, NULL);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  for (int i = 0; i < 2; i++) { /* the session's end, then the login: each with the durable text */
    r = wsc_take(&wc, match_status_of_b, NULL, 15000);
    assert_non_null(r);
    assert_string_equal(jstr(r, "custom_status"), "away");
    json_decref(r);
  }
  writes_done();
  assert_int_equal(windows_stored(), 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 0);
  close(fd2);
  wsc_close(&wc);
}

/* b's deletion commits; b's iPhone session ended in its window: nothing is written for the deleted account (no
 * PushOnline window row) and c is pushed no status of it — on main the window row was written after the
 * deletion (kept for good) and c was pushed b's status with an empty text. */
static void test_committed_delete_writes_nothing(void **st)
{
  (void)st;
  wsc_t wb, wc;
  start(NULL, &wb, &wc);
  e2e_sync_hold(hold, 1);
  int del = delete_b_held(1);
  session_ends(&wb);
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  writes_done();
  assert_int_equal(windows_stored(), 0);
  json_decref(rpc_ok(&wc, "status_get", "\"users\":[\"c\"]")); /* every push made before is read before it */
  r = wsc_take(&wc, match_status_of_b, NULL, 0);
  if (r) fail_msg("a status of the deleted account pushed: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 0);
  wsc_close(&wc);
}

/* Another session of b on an iPhone, device device (not the first's: the Developer edition keeps several
 * devices of a platform, and a device logging in again displaces its own session). */
static void login_b_iphone(wsc_t *w, const char *device)
{
  char frame[2048], buf[4096];
  memset(w, 0, sizeof *w);
  w->next_id = 100;
  w->fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(w->fd >= 0);
  e2e_ws_login_frame(app, key, "b", "iPhone", device, frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(w->fd, frame), 0);
  assert_true(e2e_ws_recv_text(w->fd, buf, sizeof buf, 15000) > 0);
  json_t *r = json_loads(buf, 0, NULL);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

/* The stored PushOnline windows' values (b's iPhone only here): -1 when none is stored. */
static long long window_stored(void)
{
  return windows_stored() ? e2e_db_int(&srv, "SELECT CAST(val AS INTEGER) FROM rel WHERE key LIKE 'push_until.%'")
                          : -1;
}

/* The seconds of CLOCK_REALTIME (the server's clock) once the second after t has begun. */
static long long next_second(long long t)
{
  struct timespec now;
  for (;;) {
    clock_gettime(CLOCK_REALTIME, &now);
    if ((long long)now.tv_sec > t) return (long long)now.tv_sec;
    usleep(50000);
  }
}

static long long realtime_s(void)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (long long)now.tv_sec;
}

/* The deletion (failing) ends: b stays, and c is pushed b's status with its durable text. */
static void failed_delete_ends(int del)
{
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500); /* b stays */
  json_decref(r);
}

/* With rel_gate_wait_max 2, three sessions of b on iPhones (the Developer edition: several devices per platform)
 * end one after the other, each in a later second, while b's failing deletion is held: one status change waits
 * (each end supersedes the one before), and after the deletion the stored window is the third end's — on main
 * three waited under the cap of 2, the third was dropped (logged) and the stored window was the second's. */
static void test_three_ends_of_one_platform(void **st)
{
  (void)st;
  static const char *const args[] = { "--rel-gate-wait-max", "2", NULL };
  wsc_t wb[3], wc;
  start_args("account_groups:1", args, &wb[0], &wc);
  login_b_iphone(&wb[1], "dev-b-2");
  login_b_iphone(&wb[2], "dev-b-3");
  e2e_sync_hold(hold, 1);
  int del = delete_b_held(1);
  long long t = 0;
  for (int i = 0; i < 2; i++) {
    session_ends(&wb[i]);
    t = next_second(realtime_s()); /* the next end's window ends a second later at least */
  }
  session_ends(&wb[2]);
  long long waited = e2e_healthz_stat(srv.port, "rel_gate", "statuses"); /* on main: 2, the third dropped */
  failed_delete_ends(del);
  json_t *r = wsc_take(&wc, match_status_of_b, NULL, 15000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "custom_status"), "away");
  json_decref(r);
  writes_done();
  long long until = window_stored();
  if (until < t + 604800) /* push_online_keep_s's default: the third end's window ends at t + 604,800 at least */
    fail_msg("the stored window ends at %lld, before the third end's (%lld or later)", until, t + 604800);
  assert_int_equal(waited, 1); /* one change waited: the third end superseded the two before */
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 0);
  wsc_close(&wc);
}

/* b's two iPhone sessions end in the window of its failing deletion, one closed (a window to store), then the
 * other by a logout (the window cleared), or the other way round (logout_first): after the deletion the stored
 * window is what the two in order give — none, or the close's. One change waited. */
static void ends_close_and_logout(int logout_first)
{
  wsc_t wb[2], wc;
  start("account_groups:1", &wb[0], &wc);
  login_b_iphone(&wb[1], "dev-b-2");
  e2e_sync_hold(hold, 1);
  int del = delete_b_held(1);
  wsc_t *out = &wb[logout_first ? 0 : 1], *closed = &wb[logout_first ? 1 : 0];
  if (!logout_first) session_ends(closed);
  json_t *r = wsc_rpc(out, "logout", "%s", "\"x\":0");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  for (int waited = 0; waited < 10000 && e2e_server_holds(&srv, out->fd); waited += 20) usleep(20000);
  wsc_close(out);
  if (logout_first) session_ends(closed);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 1);
  failed_delete_ends(del);
  r = wsc_take(&wc, match_status_of_b, NULL, 15000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "custom_status"), "away");
  json_decref(r);
  writes_done();
  assert_int_equal(windows_stored(), logout_first ? 1 : 0);
  wsc_close(&wc);
}

static void test_close_then_logout_clears_window(void **st)
{
  (void)st;
  ends_close_and_logout(0);
}

static void test_logout_then_close_stores_window(void **st)
{
  (void)st;
  ends_close_and_logout(1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_failed_delete_pushes_durable_status, stop),
    cmocka_unit_test_teardown(test_committed_delete_writes_nothing, stop),
    cmocka_unit_test_teardown(test_three_ends_of_one_platform, stop),
    cmocka_unit_test_teardown(test_close_then_logout_clears_window, stop),
    cmocka_unit_test_teardown(test_logout_then_close_stores_window, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
