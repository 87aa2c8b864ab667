/* End-to-end: the requests waiting for an account deletion to be durable
 * (decisions §98, §101) are capped by the serve option rel_gate_wait_max
 * (--rel-gate-wait-max, default 4,096; §103): past it a WebSocket or REST
 * request is answered 60018 at once, nothing done, and the connection goes
 * on; the status changes of a named account are not requests and have no
 * cap: one per account and platform waits (a later one supersedes it in
 * place, §114), whatever rel_gate_wait_max says. A server stopped (SIGTERM) while requests wait answers each 70500
 * "server is shutting down" once the deletion ends, and exits 0 (run under
 * the ASan build too: no report). The window is held open with
 * IMCLOUD_TEST_SYNC_HOLD (e2e_start_sync_held).
 *
 * Until 2026-12-06 the cap was a constant shared by all apps (4,096), not
 * settable: a server run with --rel-gate-wait-max refused to start. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], hold[256];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static json_t *first(json_t *r, const char *list) { return json_array_get(json_object_get(r, list), 0); }

/* A server with a cap of 2 waiting requests (failing as plan says; NULL: not), users a, b and c. */
static void start(const char *plan)
{
  static const char *const args[] = { "--rel-gate-wait-max", "2", NULL };
  if (plan) setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_start_sync_held(&srv, hold, sizeof hold, "relcap", "china", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", NULL });
}

static int stop(void **st)
{
  (void)st;
  if (hold[0]) e2e_sync_hold(hold, 0);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

/* b's deletion sent, its job in the writer (held): the gate is shut. */
static int delete_b_held(void)
{
  e2e_sync_hold(hold, 1);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  return del;
}

static void ws_send_op(wsc_t *w, int id, const char *op, const char *fields)
{
  char frame[1024];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"%s\",%s}", id, op, fields);
  assert_int_equal(e2e_ws_send_text(w->fd, frame), 0);
}

static json_t *ws_reply(wsc_t *w, int id, int timeout_ms)
{
  json_t *r = wsc_take(w, match_id, &id, timeout_ms);
  assert_non_null(r);
  return r;
}

static void wait_gate(long long n)
{
  for (int waited = 0; waited < 10000 && e2e_healthz_stat(srv.port, "rel_gate", "waiting") < n; waited += 10)
    usleep(10000);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), n);
}

/* Whether the server's log holds needle. */
static int logged(const char *needle)
{
  char *log = e2e_server_log(&srv);
  int yes = log && strstr(log, needle);
  free(log);
  return yes;
}

/* With 2 waiting (a's sends to b, named by its deletion), a's third send and a REST friend_add are answered
 * 60018 while the deletion is still held: nothing stored or changed. The deletion fails (account_groups:1): the
 * two that waited are stored, a's connection goes on. */
static void test_cap_reached(void **st)
{
  (void)st;
  wsc_t wa;
  start("account_groups:1");
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "wait_max"), 2);
  /* a value out of range is refused before anything is done, named (its stderr: the server's log) */
  assert_int_equal(e2e_cli(&srv, NULL, 0, "serve --rel-gate-wait-max 0"), 1);
  assert_true(logged("rel_gate_wait_max: \"0\" is not an integer in [1, 1048576]"));
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  int del = delete_b_held();
  ws_send_op(&wa, 1, "send", "\"to\":\"b\",\"random\":1,\"body\":" TEXT("one"));
  ws_send_op(&wa, 2, "send", "\"to\":\"b\",\"random\":2,\"body\":" TEXT("two"));
  wait_gate(2);
  ws_send_op(&wa, 3, "send", "\"to\":\"b\",\"random\":3,\"body\":" TEXT("three: refused"));
  json_t *r = ws_reply(&wa, 3, 15000); /* answered with the deletion still held */
  assert_int_equal(jint(r, "code"), 60018);
  json_decref(r);
  r = V4("sns/friend_add", "{\"From_Account\":\"a\",\"AddFriendItem\":[{\"To_Account\":\"c\",\"AddSource\":"
                           "\"AddSource_Type_Web\"}],\"AddType\":\"Add_Type_Both\",\"ForceAddFlags\":1}");
  assert_int_equal(jint(r, "ErrorCode"), 60018);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "refused"), 2);
  e2e_sync_hold(hold, 0);
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500);
  json_decref(r);
  for (int id = 1; id <= 2; id++) {
    r = ws_reply(&wa, id, 15000);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  r = wsc_rpc(&wa, "send", "\"to\":\"c\",\"random\":4,\"body\":" TEXT("after"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = V4("openim/admin_getroammsg", "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,"
                                   "\"MinTime\":0,\"MaxTime\":4294967295}");
  assert_int_equal(jint(r, "MsgCnt"), 2);
  json_int_t r0 = jint(json_array_get(json_object_get(r, "MsgList"), 0), "MsgRandom");
  json_int_t r1 = jint(json_array_get(json_object_get(r, "MsgList"), 1), "MsgRandom");
  assert_true((r0 == 1 && r1 == 2) || (r0 == 2 && r1 == 1)); /* the refused third is not among them */
  json_decref(r);
  r = V4("sns/friend_check", "{\"From_Account\":\"a\",\"To_Account\":[\"c\"],\"CheckType\":\"CheckResult_Type_Both\"}");
  assert_string_equal(jstr(first(r, "InfoItem"), "Relation"), "CheckResult_Type_NoRelation");
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  wsc_close(&wa);
}

/* SIGTERM while a REST friend_check and a WebSocket `pending` wait behind b's deletion; the deletion's job then
 * completes (the stop waits for it): each waiting request is answered 70500 "server is shutting down", the
 * deletion its own reply, and the server exits 0. */
static void test_shutdown_answers_waiting(void **st)
{
  (void)st;
  wsc_t wa;
  start(NULL);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  int del = delete_b_held();
  int chk = race_send(&srv, app, key, "sns/friend_check",
                      "{\"From_Account\":\"a\",\"To_Account\":[\"c\"],\"CheckType\":\"CheckResult_Type_Both\"}");
  ws_send_op(&wa, 5, "pending", "\"x\":0");
  wait_gate(2);
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  for (int waited = 0; waited < 10000 && !logged("msg=\"stopping\""); waited += 10) usleep(10000);
  assert_true(logged("msg=\"stopping\""));
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = race_read(chk);
  assert_int_equal(jint(r, "ErrorCode"), 70500);
  assert_string_equal(jstr(r, "ErrorInfo"), "server is shutting down");
  json_decref(r);
  r = ws_reply(&wa, 5, 15000);
  assert_int_equal(jint(r, "code"), 70500);
  json_decref(r);
  wsc_close(&wa);
  /* the SIGTERM's stop (a second signal would exit 130 at once): exit 0, which an ASan report would not give */
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  e2e_dir_remove(&srv);
}

/* The status changes of an account its deletion names wait too, one per account and platform, not under the
 * requests' cap: b's three sessions (Web, iPhone, Android, logged in before) end while its deletion is held —
 * three session ends wait with a cap of 2, none is dropped — on main two waited, the third was dropped and
 * logged. The deletion commits: nothing waits. */
static void test_status_changes_capped(void **st)
{
  (void)st;
  static const char *const plat[] = { "Web", "iPhone", "Android" };
  wsc_t wb[3];
  start(NULL);
  for (int i = 0; i < 3; i++) assert_int_equal(wsc_login(&wb[i], srv.port, app, key, "b", plat[i]), 0);
  int del = delete_b_held();
  for (int i = 0; i < 3; i++) wsc_close(&wb[i]);
  for (int waited = 0; waited < 10000 && e2e_healthz_stat(srv.port, "rel_gate", "statuses") < 3; waited += 10)
    usleep(10000);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 3);
  assert_false(logged("status change of an account being deleted dropped"));
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0); /* not requests */
  e2e_sync_hold(hold, 0);
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  for (int waited = 0; waited < 10000 && e2e_healthz_stat(srv.port, "rel_gate", "statuses") > 0; waited += 10)
    usleep(10000);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "statuses"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_cap_reached, stop),
    cmocka_unit_test_teardown(test_status_changes_capped, stop),
    cmocka_unit_test_teardown(test_shutdown_answers_waiting, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
