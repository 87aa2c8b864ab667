/* End-to-end: the one-to-one reads naming an account whose deletion is in
 * flight (decisions §113): REST get_c2c_unread_msg_num, recentcontact/get_list,
 * admin_getroammsg; WebSocket history, sync, conversations. The deletion of b
 * is held behind the test's write lock (race_lock): its purge is made, its job
 * waits; it then commits, or fails (IMCLOUD_TEST_FAIL=account_groups:1: b
 * stays). The server runs with IMCLOUD_TEST_READER_HOLD: while the test's
 * file exists no reader thread takes a job, so a read accepted in the window
 * can be made to read after the deletion has committed — the order a busy
 * reader queue gives. The app is international (Developer edition:
 * account_delete allowed). a got two messages from b and one from c.
 *
 * Until §113 these reads ran at once in the window: a get_c2c_unread_msg_num
 * of a naming b, accepted before b's deletion committed and read after it,
 * listed b with 0 unread (neither the state before — 2 — nor after — b no
 * account, 70107 in the ErrorList); a read of b's own rows was answered as of
 * an account after its deletion had been answered.
 *
 * A read accepted before the deletion was sent (the reader held) and read after
 * it committed (§115): until then it was answered from rows read after the
 * commit on the accounts checked before it (b listed with 0; a roaming page of
 * b answered 0 with IsPeerRead 0); it now runs again from the start. */
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
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], rhold[256], rsteps[256];
static sqlite3 *locked; /* the test's write lock, if held */

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

#define REREADS 3 /* REL_GATE_REREADS_MAX (§115) */

static json_t *first(json_t *r, const char *list) { return json_array_get(json_object_get(r, list), 0); }

static void send_text(const char *from, const char *to, int random)
{
  json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":"
                 TEXT("before") "}", from, to, random);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

/* A server (failing as plan says; NULL: not) with a, b and c; b sent a two messages, c one. */
static void start(const char *plan)
{
  snprintf(rhold, sizeof rhold, "/tmp/imcloud-reldelreads-rhold-%d", (int)getpid());
  unlink(rhold);
  setenv("IMCLOUD_TEST_READER_HOLD", rhold, 1);
  snprintf(rsteps, sizeof rsteps, "/tmp/imcloud-reldelreads-rsteps-%d", (int)getpid());
  unlink(rsteps);
  setenv("IMCLOUD_TEST_READER_STEPS", rsteps, 1);
  if (plan) setenv("IMCLOUD_TEST_FAIL", plan, 1);
  int rc = e2e_start(&srv, "singapore", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  unsetenv("IMCLOUD_TEST_READER_HOLD");
  unsetenv("IMCLOUD_TEST_READER_STEPS");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", NULL });
  send_text("b", "a", 1);
  send_text("b", "a", 2);
  send_text("c", "a", 3);
}

static int stop(void **st)
{
  (void)st;
  if (locked) race_unlock(locked);
  locked = NULL;
  if (rhold[0]) e2e_sync_hold(rhold, 0);
  if (rsteps[0]) unlink(rsteps);
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

static void wait_stat(const char *section, const char *field, long long n)
{
  assert_int_equal(e2e_healthz_wait(srv.port, section, field, n, 10000), n);
}

/* b's deletion held behind the test's write lock (its request: the result). */
static int delete_b_held(void)
{
  locked = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  return del;
}

/* The lock let go: b's deletion ends with result code rc (0: b deleted; 70500: the fault, b stays). */
static void delete_b_ends(int del, int rc)
{
  race_unlock(locked);
  locked = NULL;
  json_t *r = race_read(del);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), rc);
  json_decref(r);
}

/* Until the request sent on fd waits in the gate (rel_gate.waiting n), is queued in the held reader (reader.queued
 * reads) or is answered — then the gate's count must be n (on the code before §113: 0, the read ran at once). */
static void until_waiting(int fd, long long n, long long reads)
{
  for (int waited = 0; waited < 10000; waited += 10) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (e2e_healthz_stat(srv.port, "rel_gate", "waiting") >= n || poll(&p, 1, 0) == 1 ||
        (reads && e2e_healthz_stat(srv.port, "reader", "queued") >= reads))
      break;
    usleep(10000);
  }
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), n);
}

/* The unread count of peer in an unread reply's C2CUnreadMsgNumList (-1: not listed). */
static long long unread_of(json_t *r, const char *peer)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(r, "C2CUnreadMsgNumList"), i, v)
    if (!strcmp(jstr(v, "Peer_Account"), peer)) return jint(v, "C2CUnreadMsgNum");
  return -1;
}

#define UNREAD_A "{\"To_Account\":\"a\",\"Peer_Account\":[\"b\",\"c\"]}"

/* a's unread counts naming b, asked in b's deletion's window and read (the reader held) after the deletion has
 * committed: the request waits, then runs as after the deletion — b in the ErrorList (70107), c's 1, all 1. On the
 * code before it was read after the commit as accepted before it: b listed with 0 unread, no ErrorList. */
static void test_unread_committed(void **st)
{
  (void)st;
  start(NULL);
  e2e_sync_hold(rhold, 1);
  int del = delete_b_held();
  int rd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  until_waiting(rd, 1, 1);
  delete_b_ends(del, 0);
  e2e_sync_hold(rhold, 0);
  json_t *r = race_read(rd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(unread_of(r, "b"), -1);
  assert_int_equal(unread_of(r, "c"), 1);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 1);
  json_t *e = json_array_get(json_object_get(r, "ErrorList"), 0);
  assert_non_null(e);
  assert_string_equal(jstr(e, "Peer_Account"), "b");
  assert_int_equal(jint(e, "ErrorCode"), 70107);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
}

/* The same when the deletion fails: the request waits, then answers as if nothing happened (b's 2, c's 1). */
static void test_unread_failed(void **st)
{
  (void)st;
  start("account_groups:1");
  int del = delete_b_held();
  int rd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  until_waiting(rd, 1, 0);
  delete_b_ends(del, 70500);
  json_t *r = race_read(rd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(unread_of(r, "b"), 2);
  assert_int_equal(unread_of(r, "c"), 1);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 3);
  assert_null(json_object_get(r, "ErrorList"));
  json_decref(r);
}

/* The IsPeerRead of each message of a roaming page (1 or 0, in the page's order) into out: "10" … */
static void peer_read_flags(json_t *r, char *out, size_t cap)
{
  size_t i, n = 0;
  json_t *v;
  json_array_foreach(json_object_get(r, "MsgList"), i, v)
    if (n + 1 < cap) out[n++] = (char)('0' + jint(v, "IsPeerRead"));
  out[n] = 0;
}

#define ROAM_BA "{\"Operator_Account\":\"b\",\"Peer_Account\":\"a\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}"

/* b's own conversation list and b's roaming page with a (a has read b's messages: IsPeerRead 1), asked in the
 * window and read (the reader held) after the deletion has committed: both wait, then are refused as of no
 * account. On the code before both were answered 0 as of an existing account, and the page, read after the
 * deletion had removed a's conversation row with b, said a had read none of b's messages (IsPeerRead 0: neither
 * the state before nor after). */
static void test_get_list_and_roam_of_deleted(void **st)
{
  (void)st;
  char flags[8];
  start(NULL);
  json_t *r = V4("openim/admin_set_msg_read", "{\"Report_Account\":\"a\",\"Peer_Account\":\"b\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = V4("openim/admin_getroammsg", "%s", ROAM_BA);
  peer_read_flags(r, flags, sizeof flags);
  assert_string_equal(flags, "11");
  json_decref(r);
  e2e_sync_hold(rhold, 1);
  int del = delete_b_held();
  int gl = race_send(&srv, app, key, "recentcontact/get_list", "{\"From_Account\":\"b\",\"AssistFlags\":0}");
  until_waiting(gl, 1, 1);
  int rm = race_send(&srv, app, key, "openim/admin_getroammsg", ROAM_BA);
  until_waiting(rm, 2, 2);
  delete_b_ends(del, 0);
  e2e_sync_hold(rhold, 0);
  r = race_read(gl);
  assert_int_equal(jint(r, "ErrorCode"), 50001); /* b is not imported */
  json_decref(r);
  r = race_read(rm);
  assert_int_equal(jint(r, "ErrorCode"), 90008); /* Operator_Account not imported */
  assert_null(json_object_get(r, "MsgList"));
  json_decref(r);
}

/* a's conversation list and a's roaming page with b, asked in the window of a deletion of b that fails: the page
 * naming b waits (the list names only a, not being deleted, and runs at once, b listed: the state before), then
 * both answer as before it (b's two messages). */
static void test_get_list_and_roam_failed(void **st)
{
  (void)st;
  start("account_groups:1");
  int del = delete_b_held();
  json_t *r = V4("recentcontact/get_list", "{\"From_Account\":\"a\",\"AssistFlags\":0}"); /* at once */
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "SessionItem")), 2);
  json_decref(r);
  int rm = race_send(&srv, app, key, "openim/admin_getroammsg",
                     "{\"Operator_Account\":\"a\",\"Peer_Account\":\"b\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  until_waiting(rm, 1, 0);
  delete_b_ends(del, 70500);
  r = race_read(rm);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgCnt"), 2);
  json_decref(r);
}

/* a's WebSocket history with b, asked in the window: it waits, then (b deleted) answers b's two messages, kept
 * for a (a deleted peer's messages are kept); a's conversations, naming no account being deleted, answer at once
 * with b listed (the state before the deletion). On the code before the history ran at once. */
static void test_ws_history_committed(void **st)
{
  (void)st;
  wsc_t wa;
  start(NULL);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  int del = delete_b_held();
  json_t *r = wsc_rpc(&wa, "conversations", "%s", "\"limit\":10"); /* at once */
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "conversations")), 2);
  json_decref(r);
  int id = 41;
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":41,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  wait_stat("rel_gate", "waiting", 1);
  delete_b_ends(del, 0);
  r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2);
  json_decref(r);
  wsc_close(&wa);
}

/* b's own sync and conversations, asked in the window: they wait; the deletion commits and b's session is closed
 * 4003 with neither answered (nothing read for a deleted account). On the code before both were answered in the
 * window. */
static void test_ws_sync_convs_committed(void **st)
{
  (void)st;
  wsc_t wb;
  start(NULL);
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  int del = delete_b_held();
  assert_int_equal(e2e_ws_send_text(wb.fd, "{\"id\":51,\"op\":\"sync\",\"cursor\":0}"), 0);
  assert_int_equal(e2e_ws_send_text(wb.fd, "{\"id\":52,\"op\":\"conversations\"}"), 0);
  wait_stat("rel_gate", "waiting", 2);
  delete_b_ends(del, 0);
  int code = 0;
  json_t *f;
  while ((f = wsc_next(&wb, 15000, &code))) {
    json_int_t id = jint(f, "id");
    if (id == 51 || id == 52) fail_msg("answered after b's deletion: %s", json_dumps(f, JSON_COMPACT));
    json_decref(f);
  }
  assert_int_equal(code, 4003);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
  wsc_close(&wb);
}

/* The same when the deletion fails (c sent b a message): both wait, then answer as if nothing happened (c's
 * message, b's conversations with c and a). */
static void test_ws_sync_convs_failed(void **st)
{
  (void)st;
  wsc_t wb;
  start("account_groups:1");
  send_text("c", "b", 4);
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  int del = delete_b_held();
  assert_int_equal(e2e_ws_send_text(wb.fd, "{\"id\":51,\"op\":\"sync\",\"cursor\":0}"), 0);
  assert_int_equal(e2e_ws_send_text(wb.fd, "{\"id\":52,\"op\":\"conversations\"}"), 0);
  wait_stat("rel_gate", "waiting", 2);
  delete_b_ends(del, 70500);
  int id = 51;
  json_t *r = wsc_take(&wb, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "events")), 1); /* c's message */
  json_decref(r);
  id = 52;
  r = wsc_take(&wb, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *cvs = json_object_get(r, "conversations");
  assert_int_equal(json_array_size(cvs), 2);
  const char *p0 = jstr(json_array_get(cvs, 0), "peer"), *p1 = jstr(json_array_get(cvs, 1), "peer");
  assert_true((!strcmp(p0, "a") && !strcmp(p1, "c")) || (!strcmp(p0, "c") && !strcmp(p1, "a"))); /* one second: by peer */
  json_decref(r);
  wsc_close(&wb);
}

/* b deleted at once (no lock held): its reply. */
static void delete_b_now(void)
{
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
}

/* Until the reader holds n reads (the requests were accepted: nothing waits in the gate, no deletion in flight). */
static void until_queued(long long n)
{
  wait_stat("reader", "queued", n);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
}

/* a's unread counts naming b, accepted before b's deletion is sent and read (the reader held) after it has
 * committed: the reply is the state after it — b in the ErrorList (70107), c's 1, all 1. On the code before §115:
 * b listed with 0 unread, no ErrorList (the accounts checked before the commit, the rows read after it). */
static void test_unread_accepted_before(void **st)
{
  (void)st;
  start(NULL);
  e2e_sync_hold(rhold, 1);
  int rd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  until_queued(1);
  delete_b_now();
  e2e_sync_hold(rhold, 0);
  json_t *r = race_read(rd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(unread_of(r, "b"), -1);
  assert_int_equal(unread_of(r, "c"), 1);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 1);
  json_t *e = json_array_get(json_object_get(r, "ErrorList"), 0);
  assert_non_null(e);
  assert_string_equal(jstr(e, "Peer_Account"), "b");
  assert_int_equal(jint(e, "ErrorCode"), 70107);
  json_decref(r);
}

/* b's conversation list and b's roaming page with a (a has read b's messages), accepted before b's deletion is
 * sent and read (the reader held) after it has committed: 50001 and 90008, as for an account that is gone. On the
 * code before §115 both were answered 0, the page with IsPeerRead 0 and 0 (a's conversation row with b, where a's
 * read position is, removed by the deletion: neither the state before, 1 and 1, nor after). */
static void test_get_list_and_roam_accepted_before(void **st)
{
  (void)st;
  char flags[8];
  start(NULL);
  json_t *r = V4("openim/admin_set_msg_read", "{\"Report_Account\":\"a\",\"Peer_Account\":\"b\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  e2e_sync_hold(rhold, 1);
  int gl = race_send(&srv, app, key, "recentcontact/get_list", "{\"From_Account\":\"b\",\"AssistFlags\":0}");
  until_queued(1);
  int rm = race_send(&srv, app, key, "openim/admin_getroammsg", ROAM_BA);
  until_queued(2);
  delete_b_now();
  e2e_sync_hold(rhold, 0);
  r = race_read(gl);
  assert_int_equal(jint(r, "ErrorCode"), 50001); /* b is not imported */
  json_decref(r);
  r = race_read(rm);
  peer_read_flags(r, flags, sizeof flags);
  assert_string_equal(flags, ""); /* no MsgList */
  assert_int_equal(jint(r, "ErrorCode"), 90008); /* Operator_Account not imported */
  json_decref(r);
}

/* a's WebSocket history with c, accepted before c's deletion is sent and read (the reader held) after it has
 * committed and c has been imported again (a new account, no message with a): the reply is the state then — the
 * new c's empty history (its number, not the old one's). A deletion alone would not show it: a's history with a
 * deleted peer is kept, the same rows before and after (b's two messages here, checked first). On the code before
 * §115 the page was read for the peer looked up when it was accepted: the old c's message, after c's deletion and
 * new import had both been answered. */
static void test_ws_history_accepted_before(void **st)
{
  (void)st;
  wsc_t wa;
  start(NULL);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  json_t *r = wsc_rpc(&wa, "history", "%s", "\"peer\":\"c\",\"limit\":10");
  assert_non_null(r);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 1);
  json_int_t old_c = jint(r, "peer_no");
  json_decref(r);
  e2e_sync_hold(rhold, 1);
  int id = 61;
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":61,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  until_queued(1);
  delete_b_now();
  e2e_sync_hold(rhold, 0);
  r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2); /* kept for a */
  json_decref(r);
  e2e_sync_hold(rhold, 1);
  id = 62;
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":62,\"op\":\"history\",\"peer\":\"c\",\"limit\":10}"), 0);
  until_queued(1);
  r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"c\"}]}");
  assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
  json_decref(r);
  r = V4("im_open_login_svc/account_import", "{\"UserID\":\"c\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  e2e_sync_hold(rhold, 0);
  r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 0);
  assert_true(jint(r, "peer_no") != old_c);
  json_decref(r);
  wsc_close(&wa);
}

static void steps_allow(long long n) { e2e_reader_steps(rsteps, n); }

/* One read of the request queued: the reader let go of it with deletions deletions committed, one during each
 * read (d1, d2 … imported here: accounts the read does not name), then of whatever follows. Each read runs only
 * when let go (steps_allow), after the test has seen it queued and committed a deletion: the read accepted before
 * that commit completes after it, stale (§115). */
static void deletions_during_reads(int deletions)
{
  long long base = e2e_healthz_stat(srv.port, "reader", "jobs");
  until_queued(1);
  for (int i = 1; i <= deletions; i++) {
    json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"d%d\"}]}", i);
    assert_int_equal(jint(first(r, "ResultItem"), "ResultCode"), 0);
    json_decref(r);
    steps_allow(base + i);              /* read i runs: a deletion committed since it was accepted */
    if (i == deletions) break;
    wait_stat("reader", "jobs", base + i);
    until_queued(1);                    /* run again: read i + 1 queued, accepted after deletion i */
  }
  unlink(rsteps);                       /* the reads after the last deletion run freely */
}

/* A server (failing as plan says; NULL: not) whose reader is stepped (its file holding how many jobs it may have
 * taken so far), with d1 … d4. */
static void start_stepped(const char *plan)
{
  start(plan);
  import_users(srv.port, app, key, (const char *const[]){ "d1", "d2", "d3", "d4", NULL });
  wait_stat("reader", "queued", 0);
  steps_allow(e2e_healthz_stat(srv.port, "reader", "jobs"));
}

/* a's unread counts naming b and c with an account deletion committed during each of four reads of the one
 * request: the fourth read, stale again after three reruns, is answered 60018 with its text (§115's bound, reached
 * by §118). */
static void test_unread_past_reruns(void **st)
{
  (void)st;
  start_stepped(NULL);
  int rd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  deletions_during_reads(REREADS + 1);
  json_t *r = race_read(rd);
  assert_int_equal(jint(r, "ErrorCode"), 60018);
  assert_string_equal(jstr(r, "ErrorInfo"), "account deletions kept changing what the read named; retry later");
  assert_null(json_object_get(r, "C2CUnreadMsgNumList"));
  json_decref(r);
}

/* The same with three deletions: the third rerun reads with none committed since and answers as usual (b's 2,
 * c's 1): the bound is exactly three reruns. */
static void test_unread_three_reruns(void **st)
{
  (void)st;
  start_stepped(NULL);
  int rd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  deletions_during_reads(REREADS);
  json_t *r = race_read(rd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(unread_of(r, "b"), 2);
  assert_int_equal(unread_of(r, "c"), 1);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 3);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), 0);
}

/* a's WebSocket history with b, a deletion committed during each of four reads: 60018 with its text; with three:
 * b's two messages (the third rerun answers). */
static void ws_history_with(int deletions)
{
  wsc_t wa;
  start_stepped(NULL);
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  int id = 71;
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":71,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  deletions_during_reads(deletions);
  json_t *r = wsc_take(&wa, match_id, &id, 15000);
  assert_non_null(r);
  if (deletions > REREADS) {
    assert_int_equal(jint(r, "code"), 60018);
    assert_string_equal(jstr(r, "msg"), "account deletions kept changing what the read named; retry later");
    assert_null(json_object_get(r, "msgs"));
  } else {
    assert_int_equal(jint(r, "code"), 0);
    assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2);
  }
  json_decref(r);
  /* the connection is still usable */
  r = wsc_rpc(&wa, "history", "%s", "\"peer\":\"c\",\"limit\":10");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&wa);
}

static void test_ws_history_past_reruns(void **st)
{
  (void)st;
  ws_history_with(REREADS + 1);
}

static void test_ws_history_three_reruns(void **st)
{
  (void)st;
  ws_history_with(REREADS);
}

static wsc_t gwa;       /* through_gate's WebSocket form: a's connection */
static int grd = -1;    /* its REST form: the request's connection */
static int gid;

static json_t *ws_answer(int wait_ms) { return wsc_take(&gwa, match_id, &gid, wait_ms); }

static json_t *rest_answer(int wait_ms)
{
  struct pollfd p = { grd, POLLIN, 0 };
  return poll(&p, 1, wait_ms) == 1 ? race_read(grd) : NULL;
}

/* A read of a naming b (queued, sent by the caller), b's deletion in flight (held, failing) at each of four
 * completions: each rerun waits in the gate for it (b named), then runs when it fails (b stays); the fourth
 * completion, stale again, must be answered 60018 — the reruns made through the gate count. answer(ms): the
 * request's answer if it comes within ms, else NULL. */
static void reruns_through_gate(long long base, json_t *(*answer)(int wait_ms))
{
  json_t *r = NULL;
  for (int i = 1; i <= REREADS + 1; i++) {
    until_queued(1);                       /* read i, accepted with b's deletion not in flight */
    int del = delete_b_held();
    steps_allow(base + i);                 /* read i runs; at its completion b is named: stale */
    if (i <= REREADS) {
      wait_stat("rel_gate", "waiting", 1); /* its rerun waits for b's deletion */
      delete_b_ends(del, 70500);           /* which fails: the rerun runs, read i + 1 queued */
      continue;
    }
    /* before b's deletion ends: the answer past the bound, or (the code before) a fourth rerun waiting */
    for (int waited = 0; !r && waited < 10000 && !e2e_healthz_stat(srv.port, "rel_gate", "waiting"); waited += 10)
      r = answer(10);
    if (!r) fail_msg("the fourth stale read was not answered; rel_gate.waiting %lld (its rerun waits)",
                     e2e_healthz_stat(srv.port, "rel_gate", "waiting"));
    delete_b_ends(del, 70500);
  }
  unlink(rsteps);
  json_t *code = json_object_get(r, "code") ? json_object_get(r, "code") : json_object_get(r, "ErrorCode");
  json_t *msg = json_object_get(r, "msg") ? json_object_get(r, "msg") : json_object_get(r, "ErrorInfo");
  assert_int_equal(json_integer_value(code), 60018);
  assert_string_equal(json_string_value(msg), "account deletions kept changing what the read named; retry later");
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "rel_gate", "waiting"), 0);
}

#define FAIL_FOUR "account_groups:1,account_groups:2,account_groups:3,account_groups:4"

/* a's WebSocket history with b through the gate (reruns_through_gate). On the code before §118 a rerun that waited
 * in the gate ran as a new request (its count 0): the fourth completion waited again, and it answered b's
 * messages. */
static void test_ws_history_reruns_through_gate(void **st)
{
  (void)st;
  start_stepped(FAIL_FOUR);
  assert_int_equal(wsc_login(&gwa, srv.port, app, key, "a", "Web"), 0);
  long long base = e2e_healthz_stat(srv.port, "reader", "jobs");
  gid = 81;
  assert_int_equal(e2e_ws_send_text(gwa.fd, "{\"id\":81,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  reruns_through_gate(base, ws_answer);
  wsc_close(&gwa);
}

/* a's unread counts naming b and c through the gate: the REST context keeps its count (passes on the code before
 * §118 too). */
static void test_unread_reruns_through_gate(void **st)
{
  (void)st;
  start_stepped(FAIL_FOUR);
  long long base = e2e_healthz_stat(srv.port, "reader", "jobs");
  grd = race_send(&srv, app, key, "openim/get_c2c_unread_msg_num", UNREAD_A);
  reruns_through_gate(base, rest_answer);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_unread_committed, stop),
    cmocka_unit_test_teardown(test_unread_failed, stop),
    cmocka_unit_test_teardown(test_get_list_and_roam_of_deleted, stop),
    cmocka_unit_test_teardown(test_get_list_and_roam_failed, stop),
    cmocka_unit_test_teardown(test_ws_history_committed, stop),
    cmocka_unit_test_teardown(test_ws_sync_convs_committed, stop),
    cmocka_unit_test_teardown(test_ws_sync_convs_failed, stop),
    cmocka_unit_test_teardown(test_unread_accepted_before, stop),
    cmocka_unit_test_teardown(test_get_list_and_roam_accepted_before, stop),
    cmocka_unit_test_teardown(test_ws_history_accepted_before, stop),
    cmocka_unit_test_teardown(test_unread_past_reruns, stop),
    cmocka_unit_test_teardown(test_unread_three_reruns, stop),
    cmocka_unit_test_teardown(test_ws_history_past_reruns, stop),
    cmocka_unit_test_teardown(test_ws_history_three_reruns, stop),
    cmocka_unit_test_teardown(test_ws_history_reruns_through_gate, stop),
    cmocka_unit_test_teardown(test_unread_reruns_through_gate, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
