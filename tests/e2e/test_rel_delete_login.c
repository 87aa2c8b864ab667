/* End-to-end: a WebSocket login of an account whose deletion is in flight,
 * and a stop while requests wait for a deletion (decisions §108). The login's
 * job is made to complete inside the deletion's window: the sync is held
 * (e2e_start_sync_held) while the login's job commits, then the test takes
 * the database's write lock (race_lock) so that the deletion's job waits
 * behind it, and lets the login's sync go — the login's completion runs
 * with the deletion's purge applied in memory and its commit still to come.
 * The app is international (Developer edition: account_delete allowed).
 *
 * Until 2026-12-07 such a login was accepted at once (code 0) and, if the
 * deletion committed, its session closed 4003; a stop whose writer stayed
 * held past shutdown_timeout_ms left the waiting requests unanswered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_damage.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], hold[256];
static sqlite3 *locked; /* the test's write lock, if held */

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static json_t *first(json_t *r, const char *list) { return json_array_get(json_object_get(r, list), 0); }

/* A server (failing as plan says; NULL: not; extra serve arguments args) with users a, b and c. */
static void start(const char *plan, const char *const *args)
{
  if (plan) setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_start_sync_held(&srv, hold, sizeof hold, "reldellogin", "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", NULL });
}

static int stop(void **st)
{
  (void)st;
  if (locked) race_unlock(locked);
  locked = NULL;
  if (hold[0]) e2e_sync_hold(hold, 0);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

static void wait_stat(const char *section, const char *field, long long n)
{
  assert_int_equal(e2e_healthz_wait(srv.port, section, field, n, 10000), n);
}

/* user's login (Android) sent on fd completes in the window of user's deletion (its request: *del) and waits in the
 * gate; the deletion's job waits behind the test's write lock (`locked`). */
static void login_waits(int fd, const char *user, int *del)
{
  char frame[2048], body[128];
  /* no writer job in flight (a deletion's second purge is a write of its own, after its reply) */
  for (int waited = 0; waited < 10000 && e2e_healthz_stat(srv.port, "admission", "inflight"); waited += 10) usleep(10000);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "inflight"), 0);
  long long jobs = e2e_healthz_stat(srv.port, "writer", "jobs");
  e2e_sync_hold(hold, 1);
  e2e_ws_login_frame(app, key, user, "Android", "dev-b2", frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  wait_stat("writer", "jobs", jobs + 1); /* the login's job committed, its sync held */
  locked = race_lock(&srv);
  snprintf(body, sizeof body, "{\"DeleteItem\":[{\"UserID\":\"%s\"}]}", user);
  *del = race_send(&srv, app, key, "im_open_login_svc/account_delete", body);
  race_inflight(&srv, 2);                /* the deletion's purge is made, its job waits for the lock */
  e2e_sync_hold(hold, 0);                /* the login's job is done: its completion runs in the window */
  wait_stat("rel_gate", "waiting", 1);   /* on main: 0, the login answered at once */
}

/* b's login on a fresh connection (*fd) waits in the gate for b's deletion (login_waits). */
static void login_in_window(int *fd, int *del)
{
  *fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(*fd >= 0);
  login_waits(*fd, "b", del);
}

static void unlock(void)
{
  race_unlock(locked);
  locked = NULL;
}

static json_t *recv_json(int fd, int timeout_ms)
{
  char buf[4096];
  if (e2e_ws_recv_text(fd, buf, sizeof buf, timeout_ms) <= 0) return NULL;
  return json_loads(buf, 0, NULL);
}

/* The number that sql (a SELECT of one integer, %u: n) reads from the server's database. */
static long long db_count(const char *sql, unsigned n)
{
  char q[256];
  snprintf(q, sizeof q, sql, n);
  return e2e_db_int(&srv, q);
}

/* Rows of the rel table (no relationship was made here: b's deletion leaves none). */
static long long rel_rows(void) { return db_count("SELECT count(*) FROM rel WHERE sdkappid = %u", app); }

/* The text of a `msg` push or sync event. */
static const char *msg_text(json_t *e)
{
  return jstr(json_array_get(json_object_get(json_object_get(e, "msg"), "body"), 0), "MsgContent.Text");
}

static const char *online_status(const char *user)
{
  static char s[32];
  json_t *r = V4("openim/query_online_status", "{\"To_Account\":[\"%s\"]}", user);
  json_t *q = first(r, "QueryResult");
  snprintf(s, sizeof s, "%s", q && jstr(q, "Status") ? jstr(q, "Status") : "-");
  json_decref(r);
  return s;
}

/* b's deletion commits: b's login, which waited, is refused as one whose account was deleted while logging in
 * (70107), the connection stays open and logged out; nothing is stored for b, b is not online, and a login again
 * imports a new account — on main the login answered 0 in the window, then its session was closed 4003. */
static void test_login_of_deleted_account_refused(void **st)
{
  (void)st;
  int fd, del;
  start(NULL, NULL);
  login_in_window(&fd, &del);
  json_t *r = recv_json(fd, 300);
  if (r) fail_msg("the login answered in the window: %s", json_dumps(r, JSON_COMPACT));
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = recv_json(fd, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70107);
  assert_string_equal(jstr(r, "msg"), "the account was deleted while logging in");
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  assert_int_equal(rel_rows(), 0);
  assert_string_not_equal(online_status("b"), "Online");
  char frame[2048]; /* the connection is open and logged out: a login now makes a new account b */
  e2e_ws_login_frame(app, key, "b", "Android", "dev-b2", frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  r = recv_json(fd, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  close(fd);
}

/* b's deletion fails (account_groups:1): b's login, which waited, completes as a normal login after it, and its
 * session answers as a logged-in one — on main the login answered 0 in the window (healthz waiting stayed 0). */
static void test_login_after_failed_delete(void **st)
{
  (void)st;
  int fd, del;
  start("account_groups:1", NULL);
  login_in_window(&fd, &del);
  json_t *r = recv_json(fd, 300);
  if (r) fail_msg("the login answered in the window: %s", json_dumps(r, JSON_COMPACT));
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 70500); /* b stays */
  json_decref(r);
  wsc_t wb = { .fd = fd, .next_id = 100 };
  assert_int_equal(wsc_read(&wb, 15000), 0);
  r = wb.stash[--wb.n];
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_string_equal(online_status("b"), "Online");
  /* a session like any other: live once a sync completes, it gets c's message pushed (a session that has not
   * synced gets no push: protocol.md "sync"), and the next sync page holds it */
  json_t *evs = wsc_sync_live(&wb);
  assert_non_null(evs);
  json_decref(evs);
  wsc_t wc;
  assert_int_equal(wsc_login(&wc, srv.port, app, key, "c", "Web"), 0);
  r = wsc_rpc(&wc, "send", "\"to\":\"b\",\"random\":108,\"body\":" TEXT("after the wait"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *p = wsc_push(&wb, "msg", 15000);
  if (!p) fail_msg("b, logged in from the gate and live, got no push of c's message");
  assert_string_equal(msg_text(p), "after the wait");
  json_decref(p);
  evs = wsc_sync_live(&wb);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 1);
  assert_string_equal(msg_text(json_array_get(evs, 0)), "after the wait");
  json_decref(evs);
  r = wsc_rpc(&wb, "heartbeat", "%s", "\"x\":0"); /* logged in: a logged-out connection answers 70003 */
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&wc);
  wsc_close(&wb);
}

/* b's connection closes while its login waits: the waiting login is dropped once the deletion ends (nothing to
 * answer), the server goes on (run under ASan too: no report, no leak at exit). */
static void test_connection_closed_while_login_waits(void **st)
{
  (void)st;
  int fd, del;
  start(NULL, NULL);
  login_in_window(&fd, &del);
  assert_int_equal(shutdown(fd, SHUT_WR), 0);
  for (int waited = 0; waited < 10000 && e2e_server_holds(&srv, fd); waited += 20) usleep(20000);
  assert_false(e2e_server_holds(&srv, fd));
  close(fd);
  unlock();
  json_decref(race_read(del));
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  assert_string_not_equal(online_status("b"), "Online");
}

/* With rel_gate_wait_max 1 and a's `pending` waiting, b's login is refused 60018 with the gate's text, and stays
 * logged out — on main it answered 0. */
static void test_login_capped(void **st)
{
  (void)st;
  static const char *const args[] = { "--rel-gate-wait-max", "1", NULL };
  int fd, del;
  wsc_t wa;
  start(NULL, args);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  char frame[2048];
  long long jobs = e2e_healthz_stat(srv.port, "writer", "jobs");
  e2e_sync_hold(hold, 1);
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_ws_login_frame(app, key, "b", "Android", "dev-b2", frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  wait_stat("writer", "jobs", jobs + 1);
  locked = race_lock(&srv);
  del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 2);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":5,\"op\":\"pending\"}"), 0);
  wait_stat("rel_gate", "waiting", 1);
  e2e_sync_hold(hold, 0);
  json_t *r = recv_json(fd, 15000); /* answered with the deletion still held */
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 60018);
  assert_non_null(strstr(jstr(r, "msg"), "wait for an account deletion"));
  json_decref(r);
  unlock();
  json_decref(race_read(del));
  close(fd);
  wsc_close(&wa);
}

/* SIGTERM while b's login, a REST friend_check and a WebSocket `pending` wait, the deletion's job held behind the
 * test's lock past --shutdown-timeout-ms: all three are answered 70500 "server is shutting down" while it is still
 * held, and once it is let go the server exits 0 (ASan: no leak) — on main they waited for the deletion, and
 * the stop's timeout closed their connections unanswered. */
static void test_stop_past_timeout_answers_waiting(void **st)
{
  (void)st;
  static const char *const args[] = { "--shutdown-timeout-ms", "200", NULL };
  int fd, del;
  wsc_t wa;
  start(NULL, args);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_in_window(&fd, &del);
  int chk = race_send(&srv, app, key, "sns/friend_check",
                      "{\"From_Account\":\"a\",\"To_Account\":[\"c\"],\"CheckType\":\"CheckResult_Type_Both\"}");
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":5,\"op\":\"pending\"}"), 0);
  wait_stat("rel_gate", "waiting", 3);
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  json_t *r = race_read(chk);
  assert_int_equal(jint(r, "ErrorCode"), 70500);
  assert_string_equal(jstr(r, "ErrorInfo"), "server is shutting down");
  json_decref(r);
  int id = 5;
  r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70500);
  json_decref(r);
  r = recv_json(fd, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70500);
  assert_string_equal(jstr(r, "msg"), "server is shutting down");
  json_decref(r);
  unlock();
  close(del);
  close(fd);
  wsc_close(&wa);
  /* the SIGTERM's stop (a second signal would exit 130 at once): exit 0, which an ASan report would not give */
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  e2e_dir_remove(&srv);
}

/* The number of account user in the accounts table (the test fails if there is none). */
static long long no_of(const char *user)
{
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT user_no FROM accounts WHERE sdkappid = %%u AND user_id = '%s'", user);
  return db_count(sql, app);
}

static long long b_no(void) { return no_of("b"); }

/* Rows of the one-to-one inbox and conversation logs of account number no. */
static long long c2c_rows(long long no)
{
  return db_count("SELECT count(*) FROM c2c_inbox_log WHERE user_no = %u", (unsigned)no) +
         db_count("SELECT count(*) FROM c2c_recent_log WHERE user_no = %u", (unsigned)no);
}

/* Until the request sent on fd waits in the gate (waiting: n), reaches the writer (inflight: jobs) or is answered
 * (on the code before §108 an import did not wait). */
static void until_queued(int fd, long long n, long long jobs)
{
  for (int waited = 0; waited < 10000; waited += 10) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (e2e_healthz_stat(srv.port, "rel_gate", "waiting") >= n ||
        e2e_healthz_stat(srv.port, "admission", "inflight") >= jobs || poll(&p, 1, 10) == 1)
      return;
  }
  fail_msg("the request neither waited nor reached the writer nor was answered");
}

/* b's deletion held behind the test's write lock (its request: *del). */
static void delete_b_held(int *del)
{
  locked = race_lock(&srv);
  *del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
}

/* An account_import of b with a Nick and a FaceUrl while b's deletion is in flight waits for it, then makes a new
 * account b: another number, the Nick/FaceUrl given its profile, nothing written for the old number (its profile
 * rows, its profile events) — on main the import ran at once as one of the existing b, and wrote b's `profile`
 * event for the deleted account's number after the deletion. */
static void test_import_during_delete_makes_new_account(void **st)
{
  (void)st;
  int del;
  start(NULL, NULL);
  long long old = b_no();
  assert_true(old > 0);
  delete_b_held(&del);
  int imp = race_send(&srv, app, key, "im_open_login_svc/account_import",
                      "{\"UserID\":\"b\",\"Nick\":\"nick-108\",\"FaceUrl\":\"https://f/108\"}");
  until_queued(imp, 1, 2);
  unlock();
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = race_read(imp);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  long long now = b_no();
  assert_true(now > 0);
  assert_true(now != old);
  assert_int_equal(db_count("SELECT count(*) FROM rel_event WHERE user_no = %u", (unsigned)old), 0);
  assert_int_equal(db_count("SELECT count(*) FROM rel WHERE user_no = %u", (unsigned)old), 0);
  assert_int_equal(db_count("SELECT count(*) FROM rel WHERE user_no = %u AND key LIKE 'Tag_Profile_IM_%%'",
                            (unsigned)now), 2);
  r = V4("profile/portrait_get", "{\"To_Account\":[\"b\"],\"TagList\":[\"Tag_Profile_IM_Nick\",\"Tag_Profile_IM_Image\"]}");
  json_t *items = json_object_get(first(r, "UserProfileItem"), "ProfileItem");
  assert_int_equal(json_array_size(items), 2);
  assert_string_equal(jstr(json_array_get(items, 0), "Value"), "nick-108");
  assert_string_equal(jstr(json_array_get(items, 1), "Value"), "https://f/108");
  json_decref(r);
}

/* The app at its edition's 100 accounts, b among them: in b's deletion's window an account_import of x, then a
 * multiaccount_import of b, wait; after the deletion x takes the freed place and b, a new account now, is refused
 * by the cap (FailAccounts) — on main x was refused 70398 at once and b passed as the existing account. */
static void test_import_during_delete_capped(void **st)
{
  (void)st;
  static const char *const args[] = { "--rest-rate-limit", "100000", NULL };
  char body[4096] = "{\"Accounts\":[";
  int del;
  start(NULL, args);
  for (int i = 0; i < 97; i++) snprintf(body + strlen(body), sizeof body - strlen(body), "%s\"u%d\"", i ? "," : "", i);
  strcat(body, "]}");
  json_t *r = V4("im_open_login_svc/multiaccount_import", "%s", body);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "FailAccounts")), 0);
  json_decref(r);
  assert_int_equal(db_count("SELECT count(*) FROM accounts WHERE sdkappid = %u", app), 100);
  delete_b_held(&del);
  int x = race_send(&srv, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"x\"}");
  until_queued(x, 1, 2);
  int mb = race_send(&srv, app, key, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[\"b\"]}");
  until_queued(mb, 2, 2);
  unlock();
  json_decref(race_read(del));
  r = race_read(x);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = race_read(mb);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "FailAccounts")), 1);
  json_decref(r);
  assert_int_equal(db_count("SELECT count(*) FROM accounts WHERE sdkappid = %u", app), 100);
  assert_int_equal(db_count("SELECT count(*) FROM accounts WHERE sdkappid = %u AND user_id = 'b'", app), 0);
}

/* A REST sendmsg from b to c in b's deletion's window waits for it, then is refused as from no account: nothing
 * written for b's old number — on main it was sent (0) and its inbox and conversation rows were written for the
 * deleted number after the deletion. */
static void test_rest_send_from_deleted_waits(void **st)
{
  (void)st;
  int del;
  start(NULL, NULL);
  long long old = b_no();
  delete_b_held(&del);
  int snd = race_send(&srv, app, key, "openim/sendmsg",
                      "{\"SyncOtherMachine\":1,\"From_Account\":\"b\",\"To_Account\":\"c\",\"MsgRandom\":7,\"MsgBody\":"
                      TEXT("from the going") "}");
  until_queued(snd, 1, 2);
  unlock();
  json_decref(race_read(del));
  json_t *r = race_read(snd);
  assert_int_not_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_int_equal(c2c_rows(old), 0);
}

/* An importmsg from b to c while b's deletion is in flight waits for it, then is refused as from no account; nothing
 * is written for b's old number — before §112 it was imported at once, its inbox and conversation rows written for
 * the deleted number after the deletion (as sendmsg's before §108). */
static void test_rest_import_from_deleted_waits(void **st)
{
  (void)st;
  int del;
  char body[512];
  start(NULL, NULL);
  long long old = b_no();
  delete_b_held(&del);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(body, sizeof body, "{\"SyncFromOldSystem\":2,\"From_Account\":\"b\",\"To_Account\":\"c\",\"MsgRandom\":9,"
           "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imported from the going") "}", (long long)now.tv_sec - 60);
  int imp = race_send(&srv, app, key, "openim/importmsg", body);
  until_queued(imp, 1, 2);
  unlock();
  json_decref(race_read(del));
  json_t *r = race_read(imp);
  assert_int_not_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_int_equal(c2c_rows(old), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
}

/* b's highest inbox sequence in storage (its inbox and the inbox log), for account number no. */
static long long top_useq(long long no)
{
  long long a = db_count("SELECT coalesce(max(useq), 0) FROM c2c_inbox WHERE user_no = %u", (unsigned)no);
  long long b = db_count("SELECT coalesce(max(useq), 0) FROM c2c_inbox_log WHERE user_no = %u", (unsigned)no);
  return a > b ? a : b;
}

/* A REST command on b's conversation with c (its body: fmt with the MsgKey of c's message to b, %s) sent while b's
 * deletion is in flight waits for it, then runs again and is refused (b is no account any more); no event is
 * written to the deleted number's inbox after its deletion — before §112 the command ran at once and its event
 * (a recall, a modification, a read mark, a conversation's deletion) went to the deleted number after it. */
static void c2c_cmd_in_window(const char *cmd, const char *fmt)
{
  int del;
  char body[1024];
  start(NULL, NULL);
  json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"c\",\"To_Account\":\"b\",\"MsgRandom\":5,\"MsgBody\":"
                 TEXT("to the going") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  snprintf(body, sizeof body, fmt, jstr(r, "MsgKey"));
  json_decref(r);
  long long old = b_no(), top = top_useq(old);
  assert_true(top > 0);
  delete_b_held(&del);
  int fd = race_send(&srv, app, key, cmd, body);
  until_queued(fd, 1, 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 1); /* on main: 0, it ran at once */
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = race_read(fd);
  assert_int_not_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_true(top_useq(old) <= top);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
}

static void test_withdraw_in_window(void **st)
{
  (void)st;
  c2c_cmd_in_window("openim/admin_msgwithdraw", "{\"From_Account\":\"c\",\"To_Account\":\"b\",\"MsgKey\":\"%s\"}");
}

static void test_modify_in_window(void **st)
{
  (void)st;
  c2c_cmd_in_window("openim/modify_c2c_msg", "{\"From_Account\":\"c\",\"To_Account\":\"b\",\"MsgKey\":\"%s\","
                    "\"MsgBody\":" TEXT("changed") "}");
}

static void test_set_read_in_window(void **st)
{
  (void)st;
  c2c_cmd_in_window("openim/admin_set_msg_read", "{\"Report_Account\":\"b\",\"Peer_Account\":\"c\",\"x\":\"%s\"}");
}

static void test_conv_delete_in_window(void **st)
{
  (void)st;
  c2c_cmd_in_window("recentcontact/delete", "{\"From_Account\":\"b\",\"To_Account\":\"c\",\"Type\":1,"
                    "\"ClearRamble\":1,\"x\":\"%s\"}");
}

/* Conversation rows of account user with peer (both numbers), in the list and its log. */
static long long recent_rows(long long user, long long peer)
{
  char q[256];
  long long n = 0;
  static const char *const tables[] = { "c2c_recent", "c2c_recent_log" };
  for (int i = 0; i < 2; i++) {
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE user_no = %lld AND peer_no = %lld", tables[i], user, peer);
    n += e2e_db_int(&srv, q);
  }
  return n;
}

/* A WebSocket op of a on its conversation with b (fields: fmt with the MsgKey of a's message to b, %s) sent while
 * b's deletion is in flight waits for it, then runs again and is refused (b is no account any more); nothing is
 * written for b's number after its deletion, and a keeps no conversation row with it — before §112 the op ran at
 * once, and its events or rows were written after the deletion. */
static void ws_op_in_window(const char *op, const char *fmt)
{
  int del;
  char fields[512], frame[768];
  wsc_t wa;
  start(NULL, NULL);
  json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"a\",\"To_Account\":\"b\",\"MsgRandom\":6,\"MsgBody\":"
                 TEXT("to the going") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  snprintf(fields, sizeof fields, fmt, jstr(r, "MsgKey"));
  json_decref(r);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  long long old = b_no(), top = top_useq(old);
  delete_b_held(&del);
  int id = 77;
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"%s\",%s}", id, op, fields);
  assert_int_equal(e2e_ws_send_text(wa.fd, frame), 0);
  wait_stat("rel_gate", "waiting", 1); /* on main: 0, it ran at once */
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_not_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_true(top_useq(old) <= top);
  assert_int_equal(recent_rows(no_of("a"), old), 0);
  wsc_close(&wa);
}

static void test_ws_recall_in_window(void **st)
{
  (void)st;
  ws_op_in_window("recall", "\"peer\":\"b\",\"msg_key\":\"%s\"");
}

static void test_ws_read_in_window(void **st)
{
  (void)st;
  ws_op_in_window("read", "\"peer\":\"b\",\"x\":\"%s\"");
}

static void test_ws_pin_in_window(void **st)
{
  (void)st;
  ws_op_in_window("pin", "\"peer\":\"b\",\"pinned\":true,\"x\":\"%s\"");
}

static void test_ws_conv_delete_in_window(void **st)
{
  (void)st;
  ws_op_in_window("conv_delete", "\"peer\":\"b\",\"clear\":true,\"x\":\"%s\"");
}

/* The App admin's own account is deleted while a sendmsg without From_Account waits for the deletion: the message
 * is then sent from a new account of the admin (rest_admin_account_make, §73), nothing from the old number — on
 * main it was sent from the deleted number, and the admin was left with no account. */
static void test_admin_send_during_its_delete(void **st)
{
  (void)st;
  int del;
  start(NULL, NULL);
  json_t *r = V4("openim/sendmsg", "{\"To_Account\":\"c\",\"MsgRandom\":1,\"MsgBody\":" TEXT("first") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  long long old = no_of("administrator");
  long long before = c2c_rows(old);
  locked = race_lock(&srv);
  del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"administrator\"}]}");
  race_inflight(&srv, 1);
  int snd = race_send(&srv, app, key, "openim/sendmsg", "{\"To_Account\":\"c\",\"MsgRandom\":2,\"MsgBody\":" TEXT("second") "}");
  until_queued(snd, 1, 2);
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = race_read(snd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_true(c2c_rows(old) <= before);
  long long now = no_of("administrator");
  assert_true(now != old);
  assert_true(c2c_rows(now) > 0);
}

/* With a login timeout of 0.8 s, b's login waits in the gate, b's deletion held, until the end of its hold (4 × the
 * timeout from the opening, before the deletion's job gives up on the test's lock: 5 s): it is answered 60018 with the gate's text that the account is being deleted, and
 * the connection stays open and logged out (70003), nothing waiting any more; the deletion then commits, and the
 * login is never answered again: the connection, not logged in, is closed 4001 one login timeout after the
 * refusal — on main it was closed 4001 at the hold's end, the login unanswered (§114). */
static void test_login_waiting_past_its_hold(void **st)
{
  (void)st;
  /* 800 ms: the hold ends ~3.2 s after the opening (plus a wheel tick), well before the deletion's 5 s */
  static const char *const args[] = { "--ws-login-timeout-ms", "800", NULL };
  int fd, del;
  start(NULL, args);
  login_in_window(&fd, &del);
  json_t *r = recv_json(fd, 20000);
  if (r && jint(r, "code") != 60018) fail_msg("the waiting login answered: %s", json_dumps(r, JSON_COMPACT));
  if (!r) fail_msg("the waiting login was not answered at the end of its hold (closed?)");
  assert_int_equal(jint(r, "code"), 60018);
  assert_non_null(strstr(jstr(r, "msg"), "the account is being deleted"));
  json_decref(r);
  /* at once: the connection has one login timeout from the refusal */
  assert_int_equal(e2e_ws_send_text(fd, "{\"id\":7,\"op\":\"heartbeat\"}"), 0);
  r = recv_json(fd, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70003); /* open, logged out */
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  char buf[4096];
  int op = 0, cc = 0, n = e2e_ws_recv(fd, &op, buf, sizeof buf, 15000, &cc);
  if (op != 8) fail_msg("after the refusal: frame op %d (%d bytes), not the login timeout's close", op, n);
  assert_int_equal(cc, 4001);
  assert_string_not_equal(online_status("b"), "Online");
  close(fd);
}

/* The `again` case of §114, reached (§118): with a login timeout of 1.5 s, b's login waits in the gate past the
 * deadline (held), then fails when b's deletion commits (70107: the connection's hold is used, one login timeout
 * from then); c's login on the same connection then waits in the gate for c's deletion, held, at that next
 * deadline: it is answered 60018 with the gate's text, then the connection is closed 4001 with the reason of a
 * login pending again after a held login failed (docs/protocol.md, close codes); nothing waits any more, and c's
 * deletion then commits. */
static void test_login_again_waiting_at_deadline(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-login-timeout-ms", "1500", NULL };
  int fd, del;
  start(NULL, args);
  uint64_t opened = e2e_now_ms();
  login_in_window(&fd, &del);
  /* past the deadline (1.5 s and a wheel tick), well before the hold's end (6 s) and the deletion's 5 s */
  while (e2e_now_ms() < opened + 2300) usleep(10000);
  unlock();
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = recv_json(fd, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70107); /* the held login failed */
  json_decref(r);
  login_waits(fd, "c", &del);              /* within one login timeout of the failure */
  r = recv_json(fd, 15000);
  if (!r) fail_msg("the second login was not answered at its deadline (closed unanswered?)");
  assert_int_equal(jint(r, "code"), 60018);
  assert_non_null(strstr(jstr(r, "msg"), "the account is being deleted"));
  json_decref(r);
  char buf[4096];
  int op = 0, cc = 0, n = e2e_ws_recv(fd, &op, buf, sizeof buf, 15000, &cc);
  if (op != 8) fail_msg("after the 60018: frame op %d (%d bytes), not the close", op, n);
  assert_int_equal(cc, 4001);
  assert_true(n > 2 && n < (int)sizeof buf);
  buf[n] = 0;
  assert_string_equal(buf + 2, "login pending again after a held login failed (a connection is held once)");
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  unlock();
  r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  assert_string_not_equal(online_status("c"), "Online");
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_login_of_deleted_account_refused, stop),
    cmocka_unit_test_teardown(test_login_after_failed_delete, stop),
    cmocka_unit_test_teardown(test_connection_closed_while_login_waits, stop),
    cmocka_unit_test_teardown(test_login_capped, stop),
    cmocka_unit_test_teardown(test_stop_past_timeout_answers_waiting, stop),
    cmocka_unit_test_teardown(test_import_during_delete_makes_new_account, stop),
    cmocka_unit_test_teardown(test_import_during_delete_capped, stop),
    cmocka_unit_test_teardown(test_rest_send_from_deleted_waits, stop),
    cmocka_unit_test_teardown(test_admin_send_during_its_delete, stop),
    cmocka_unit_test_teardown(test_rest_import_from_deleted_waits, stop),
    cmocka_unit_test_teardown(test_withdraw_in_window, stop),
    cmocka_unit_test_teardown(test_modify_in_window, stop),
    cmocka_unit_test_teardown(test_set_read_in_window, stop),
    cmocka_unit_test_teardown(test_conv_delete_in_window, stop),
    cmocka_unit_test_teardown(test_ws_recall_in_window, stop),
    cmocka_unit_test_teardown(test_ws_read_in_window, stop),
    cmocka_unit_test_teardown(test_ws_pin_in_window, stop),
    cmocka_unit_test_teardown(test_ws_conv_delete_in_window, stop),
    cmocka_unit_test_teardown(test_login_waiting_past_its_hold, stop),
    cmocka_unit_test_teardown(test_login_again_waiting_at_deadline, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
