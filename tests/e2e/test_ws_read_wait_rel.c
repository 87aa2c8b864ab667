/* End-to-end: the two WebSocket reads that were still refused 60018 at a full
 * reader queue after §120 wait for its room as a frame's read does (§121,
 * docs/decisions/messaging-c2c-checks6.md; src/api/ws_read_wait.c):
 * - a read the account-deletion gate held, run when the deletion ends
 *   (rel_gate.c ws_run): a's history of b, sent while b's deletion waits
 *   behind the test's write lock (race_lock), run when it commits;
 * - a history run again at its completion because a deletion committed since
 *   it was accepted (§115, ws_msg_read.c history_reread).
 * And (§123) a waiting request is not run while its connection's reads already
 * queued hold its share of the room: it waits on instead of meeting 60018.
 * And (§124) a conversations or group_list whose second read meets the full
 * queue waits with that read alone: its first read is not run again (counted
 * in /healthz reader.jobs), and a close or a stop while it waits ends it as a
 * waiting frame's read.
 *
 * The server runs with --reader-max-jobs 8, one reader thread, the change
 * log's poll at its longest period (60 s: none in a test's time, so the
 * queue holds the test's reads only) and the hooks of store_reader.h:
 * IMCLOUD_TEST_READER_HOLD (no job taken while its file exists: eight
 * fillers' syncs keep the queue full) and IMCLOUD_TEST_READER_DONE_HOLD (a
 * job already run is not handed back while its file exists: the queue is
 * filled behind the history the thread took, so its completion meets a full
 * queue). Nothing here depends on a time.
 *
 * Expected: each history is answered with its page (b's two messages, kept
 * for a), after the fillers' reads let room free; /healthz admission.read_waits
 * counts it. Before §121 both were answered 60018 "server busy" at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_fill.h"
#include "e2e_msg.h"
#include "e2e_race.h"

#define CAP 8 /* --reader-max-jobs */

static e2e_server_t srv;
static uint32_t app;
static char key[80], rhold[256], dhold[256], rsteps[256];
static sqlite3 *locked; /* the test's write lock, if held */

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static void hook_file(const char *path, int on)
{
  e2e_sync_hold(path, on); /* the same file switch, for the reader's hooks */
}

/* A server with a, b, d1 and the fillers f0 … f7; b sent a two messages. */
static int setup(void **st)
{
  (void)st;
  snprintf(rhold, sizeof rhold, "/tmp/imcloud-rwaitrel-rhold-%d", (int)getpid());
  snprintf(dhold, sizeof dhold, "/tmp/imcloud-rwaitrel-dhold-%d", (int)getpid());
  snprintf(rsteps, sizeof rsteps, "/tmp/imcloud-rwaitrel-rsteps-%d", (int)getpid());
  unlink(rhold);
  unlink(dhold);
  unlink(rsteps); /* absent: no limit (IMCLOUD_TEST_READER_STEPS) */
  setenv("IMCLOUD_TEST_READER_STEPS", rsteps, 1);
  setenv("IMCLOUD_TEST_READER_HOLD", rhold, 1);
  setenv("IMCLOUD_TEST_READER_DONE_HOLD", dhold, 1);
  const char *args[] = { "--reader-max-jobs", "8", "--reader-threads", "1", "--change-poll-ms", "60000", NULL };
  int rc = e2e_start(&srv, "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_READER_HOLD");
  unsetenv("IMCLOUD_TEST_READER_DONE_HOLD");
  unsetenv("IMCLOUD_TEST_READER_STEPS");
  if (rc) return rc;
  import_users(srv.port, app, key,
               (const char *const[]){ "a", "b", "d1", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", NULL });
  for (int k = 1; k <= 2; k++) {
    json_t *r = V4("openim/sendmsg", "{\"From_Account\":\"b\",\"To_Account\":\"a\",\"MsgRandom\":%d,\"MsgBody\":"
                   TEXT("before") "}", k);
    if (jint(r, "ErrorCode") != 0) rc = -1;
    json_decref(r);
  }
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  if (locked) race_unlock(locked);
  locked = NULL;
  unlink(dhold);
  unlink(rhold);
  unlink(rsteps);
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
  hook_file(rhold, 1);
  e2e_fillers_sync(f, CAP);
  wait_stat("reader", "queued", CAP);
}

/* The fillers' syncs: answered; their connections closed. */
static void drain(wsc_t f[CAP]) { e2e_fillers_drain(f, CAP); }

/* Until a's request waits for the reader queue's room (admission.read_parked) or is answered (before §121: refused
 * at once). */
static void until_parked_or_answered(wsc_t *wa)
{
  for (int waited = 0; waited < 15000; waited += 10) {
    struct pollfd p = { wa->fd, POLLIN, 0 };
    if (e2e_healthz_stat(srv.port, "admission", "read_parked") >= 1 || poll(&p, 1, 0) == 1) return;
    e2e_sleep_ms(10);
  }
  fail_msg("a's history neither waits nor is answered");
}

/* a's history (id): answered with b's two messages, not refused. */
static void expect_page(wsc_t *wa, int id)
{
  json_t *r = wsc_take(wa, match_id, &id, 30000);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("a's history refused: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 2);
  json_decref(r);
}

/* a's history of b waits in the deletion gate (b's deletion held behind the write lock); the fillers fill the
 * reader queue; the deletion commits: the history, run from the gate (ws_run), meets the full queue and waits
 * for its room. Before §121: answered 60018 as it ran. */
static void test_from_gate_waits(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_fillers(f);
  long long waits0 = e2e_healthz_stat(srv.port, "admission", "read_waits");
  locked = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":71,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  wait_stat("rel_gate", "waiting", 1);
  fill(f);
  race_unlock(locked); /* the deletion commits: the gate runs the history */
  locked = NULL;
  json_t *r = race_read(del);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  until_parked_or_answered(&wa);
  hook_file(rhold, 0);
  expect_page(&wa, 71);
  drain(f);
  assert_true(e2e_healthz_stat(srv.port, "admission", "read_waits") > waits0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* a's history of b, queued (the reader held), then d1's deletion commits: the history is stale when read (§115).
 * The thread takes it and keeps it run (done hold); the fillers fill the queue behind it; handed back, its rerun
 * meets the full queue and waits for its room. Before §121: answered 60018 at its completion. */
static void test_rerun_waits(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  long long waits0 = e2e_healthz_stat(srv.port, "admission", "read_waits");
  hook_file(rhold, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":81,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  wait_stat("reader", "queued", 1);
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"d1\"}]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  hook_file(dhold, 1);
  hook_file(rhold, 0);               /* the thread takes the history, runs it and keeps it */
  wait_stat("reader", "queued", 0);
  fill(f);                         /* the reader held again: the queue full behind it */
  hook_file(dhold, 0);               /* its completion: stale, run again into the full queue */
  until_parked_or_answered(&wa);
  hook_file(rhold, 0);
  expect_page(&wa, 81);
  drain(f);
  assert_true(e2e_healthz_stat(srv.port, "admission", "read_waits") > waits0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* a's conversations: its first read (the rows) taken and kept run (done hold); the fillers fill the queue behind
 * it; handed back, its second read (the page's unread counts, queued by the first one's completion) meets the full
 * queue: that read waits for its room and is queued again (§124). Before §121: answered 60018 at that completion. */
static void test_convs_second_read_waits(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  long long waits0 = e2e_healthz_stat(srv.port, "admission", "read_waits");
  hook_file(rhold, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":91,\"op\":\"conversations\"}"), 0);
  wait_stat("reader", "queued", 1);
  hook_file(dhold, 1);
  hook_file(rhold, 0);               /* the thread takes the first read, runs it and keeps it */
  wait_stat("reader", "queued", 0);
  fill(f);
  hook_file(dhold, 0);               /* its completion queues the second read into the full queue */
  until_parked_or_answered(&wa);
  hook_file(rhold, 0);
  int id = 91;
  json_t *r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("a's conversations refused: %s", json_dumps(r, JSON_COMPACT));
  json_t *cvs = json_object_get(r, "conversations");
  assert_int_equal(json_array_size(cvs), 1);
  assert_string_equal(jstr(json_array_get(cvs, 0), "peer"), "b");
  assert_int_equal(jint(json_array_get(cvs, 0), "unread"), 2);
  json_decref(r);
  drain(f);
  assert_true(e2e_healthz_stat(srv.port, "admission", "read_waits") > waits0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* The same for a's group_list: its first read (the memberships) kept run, the queue filled behind it; its
 * completion's unread read of the Public group meets the full queue: that read waits and is queued again (§124).
 * Before §121: answered 60018 at that completion. */
static void test_group_list_second_read_waits(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  json_t *r = wsc_rpc(&wa, "group_create", "%s", "\"type\":\"Public\",\"name\":\"g\",\"group_id\":\"rw-g\"");
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("group_create: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  long long waits0 = e2e_healthz_stat(srv.port, "admission", "read_waits");
  hook_file(rhold, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":95,\"op\":\"group_list\"}"), 0);
  wait_stat("reader", "queued", 1);
  hook_file(dhold, 1);
  hook_file(rhold, 0);               /* the thread takes the first read, runs it and keeps it */
  wait_stat("reader", "queued", 0);
  fill(f);
  hook_file(dhold, 0);               /* its completion queues the group's unread read into the full queue */
  until_parked_or_answered(&wa);
  hook_file(rhold, 0);
  int id = 95;
  r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("a's group_list refused: %s", json_dumps(r, JSON_COMPACT));
  json_t *gs = json_object_get(r, "groups");
  assert_int_equal(json_array_size(gs), 1);
  assert_string_equal(jstr(json_array_get(gs, 0), "group_id"), "rw-g");
  assert_int_equal(jint(json_array_get(gs, 0), "unread"), 0);
  json_decref(r);
  drain(f);
  assert_true(e2e_healthz_stat(srv.port, "admission", "read_waits") > waits0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* Two of a's requests wait at once: its sync (a frame, the queue full) and its history of b, run from the gate when
 * b's deletion commits (§121: a connection's chain). close: a closes while both wait (both dropped, nothing leaks:
 * run under ASan); else both are answered once room frees. Before §121 the history was answered 60018 at once and
 * read_parked never reached 2. */
static void two_wait(int close)
{
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_fillers(f);
  locked = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":71,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  wait_stat("rel_gate", "waiting", 1);
  fill(f);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":72,\"op\":\"sync\",\"cursor\":0}"), 0);
  wait_stat("admission", "read_parked", 1);
  race_unlock(locked);
  locked = NULL;
  json_t *r = race_read(del);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  until_parked_or_answered(&wa);
  for (int waited = 0; waited < 15000 && e2e_healthz_stat(srv.port, "admission", "read_parked") < 2; waited += 10) {
    int cc = 0;
    json_t *o = wsc_next(&wa, 10, &cc); /* before §121: the history refused at once */
    if (o) fail_msg("answered while the queue was full: %s", json_dumps(o, JSON_COMPACT));
  }
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 2);
  if (close) {
    wsc_close(&wa);
    wait_stat("admission", "read_parked", 0);
    hook_file(rhold, 0);
    drain(f);
    return;
  }
  hook_file(rhold, 0);
  expect_page(&wa, 71);
  int id = 72;
  r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  json_t *hb = wsc_rpc(&wa, "heartbeat", "%s", ""); /* read again after its last waiting request ran */
  assert_non_null(hb);
  assert_int_equal(jint(hb, "code"), 0);
  json_decref(hb);
  wsc_close(&wa);
}

static void steps_allow(long long n) { e2e_reader_steps(rsteps, n); }

/* Until k of the fillers have their sync's reply to read (not taken: drain reads them). A filler's reply is
 * written after the completion batch that answered it, whose room callback (api_read_room, §125) has run. */
static void until_fillers_answered(wsc_t f[CAP], int k)
{
  for (int waited = 0; waited < 15000; waited += 10) {
    struct pollfd p[CAP];
    for (int i = 0; i < CAP; i++) p[i] = (struct pollfd){ f[i].fd, POLLIN, 0 };
    int n = poll(p, CAP, 0);
    if (n >= k) return;
    e2e_sleep_ms(10);
  }
  fail_msg("fewer than %d fillers answered", k);
}

/* §123: a's two requests wait (its sync, then its history run from the gate); the reader takes one job at a time.
 * The first room runs the sync (the queue full again); at the next room of one place a's sync is still queued, so
 * a's history, run now, would be refused by a's share of the room (60018 "server busy"): it is left waiting
 * until a's sync is taken, then answered with its page. Before §123 it was answered 60018. */
static void test_two_wait_one_room_each(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  login_fillers(f);
  long long taken = e2e_healthz_stat(srv.port, "reader", "jobs"); /* all taken so far have run: nothing queued */
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), 0);
  steps_allow(taken);
  locked = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":71,\"op\":\"history\",\"peer\":\"b\",\"limit\":10}"), 0);
  wait_stat("rel_gate", "waiting", 1);
  for (int i = 0; i < CAP; i++) assert_int_equal(e2e_ws_send_text(f[i].fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0}"), 0);
  wait_stat("reader", "queued", CAP);
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":72,\"op\":\"sync\",\"cursor\":0}"), 0);
  wait_stat("admission", "read_parked", 1);
  race_unlock(locked);
  locked = NULL;
  json_t *r = race_read(del);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  wait_stat("admission", "read_parked", 2);
  steps_allow(taken + 1); /* a filler's read: its room runs a's sync, the queue full again */
  until_fillers_answered(f, 1);
  wait_stat("admission", "read_parked", 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "queued"), CAP);
  steps_allow(taken + 2); /* one place again, a's sync still queued */
  until_fillers_answered(f, 2);
  unlink(rsteps);
  expect_page(&wa, 71);
  int id = 72;
  r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "refused_share"), 0);
  wsc_close(&wa);
}

/* §124: a's request (frame): its first read taken and kept run (done hold), the fillers fill the queue behind it;
 * handed back, its second read meets the full queue and waits (read_parked 1). Returns the reader's completed jobs
 * before the request (all taken so far have run: nothing queued). */
static long long second_read_parked(wsc_t *wa, wsc_t f[CAP], const char *frame)
{
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  long long jobs0 = e2e_healthz_stat(srv.port, "reader", "jobs");
  hook_file(rhold, 1);
  assert_int_equal(e2e_ws_send_text(wa->fd, frame), 0);
  wait_stat("reader", "queued", 1);
  hook_file(dhold, 1);
  hook_file(rhold, 0);               /* the thread takes the first read, runs it and keeps it */
  wait_stat("reader", "queued", 0);
  fill(f);
  hook_file(dhold, 0);               /* its completion's second read meets the full queue: it waits */
  until_parked_or_answered(wa);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 1);
  return jobs0;
}

/* a's conversations whose second read waited: answered whole after exactly two reads of its own (the first one
 * not run again), the fillers' eight besides. Before §124 the request ran again from the start at its turn: three
 * (the rows read twice). */
static void test_convs_first_read_once(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  long long jobs0 = second_read_parked(&wa, f, "{\"id\":92,\"op\":\"conversations\"}");
  hook_file(rhold, 0);
  int id = 92;
  json_t *r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("a's conversations refused: %s", json_dumps(r, JSON_COMPACT));
  json_t *cvs = json_object_get(r, "conversations");
  assert_int_equal(json_array_size(cvs), 1);
  assert_string_equal(jstr(json_array_get(cvs, 0), "peer"), "b");
  assert_int_equal(jint(json_array_get(cvs, 0), "unread"), 2);
  json_decref(r);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "jobs") - jobs0, CAP + 2);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* The same for a's group_list of two groups, the second one's unread read refused: the memberships and the first
 * group's unread count are not read again (three reads; before §124, five: the whole request again). */
static void test_group_list_first_read_once(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  for (int g = 1; g <= 2; g++) {
    char body[96];
    snprintf(body, sizeof body, "\"type\":\"Public\",\"name\":\"g%d\",\"group_id\":\"rw-g%d\"", g, g);
    json_t *r = wsc_rpc(&wa, "group_create", "%s", body);
    assert_non_null(r);
    if (jint(r, "code")) fail_msg("group_create: %s", json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
  login_fillers(f);
  wait_stat("reader", "queued", 0);
  long long jobs0 = e2e_healthz_stat(srv.port, "reader", "jobs");
  steps_allow(jobs0 + 1);            /* the memberships only */
  assert_int_equal(e2e_ws_send_text(wa.fd, "{\"id\":96,\"op\":\"group_list\"}"), 0);
  wait_stat("reader", "jobs", jobs0 + 1);
  wait_stat("reader", "queued", 1);  /* the first group's unread read, queued by the memberships' completion */
  hook_file(dhold, 1);
  steps_allow(jobs0 + 2);            /* taken, run and kept */
  wait_stat("reader", "queued", 0);
  unlink(rsteps);
  fill(f);
  hook_file(dhold, 0);               /* its completion: the second group's read meets the full queue */
  until_parked_or_answered(&wa);
  hook_file(rhold, 0);
  int id = 96;
  json_t *r = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(r);
  if (jint(r, "code") != 0) fail_msg("a's group_list refused: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "groups")), 2);
  json_decref(r);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "jobs") - jobs0, CAP + 3);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "read_parked"), 0);
  wsc_close(&wa);
}

/* a closes while its conversations' second read waits: dropped unanswered, read_parked back to 0 at once, the
 * read never run (the fillers' eight and the first read only); the page and its holds freed (run under ASan: no
 * leak). */
static void test_convs_second_read_closed(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  long long jobs0 = second_read_parked(&wa, f, "{\"id\":93,\"op\":\"conversations\"}");
  int cc = 0;
  json_t *o = wsc_next(&wa, 10, &cc);
  if (o) fail_msg("answered while its read waits: %s", json_dumps(o, JSON_COMPACT));
  wsc_close(&wa);
  wait_stat("admission", "read_parked", 0);
  hook_file(rhold, 0);
  drain(f);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "jobs") - jobs0, CAP + 1);
  wsc_t wb; /* the server goes on */
  assert_int_equal(wsc_login(&wb, srv.port, app, key, "b", "Web"), 0);
  json_t *r = wsc_rpc(&wb, "conversations", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&wb);
}

/* SIGTERM while a's conversations' second read waits: answered 70500, the server exits 0 (under ASan: nothing
 * leaked). */
static void test_convs_second_read_at_stop(void **st)
{
  (void)st;
  wsc_t wa, f[CAP];
  assert_int_equal(wsc_login(&wa, srv.port, app, key, "a", "Web"), 0);
  (void)second_read_parked(&wa, f, "{\"id\":94,\"op\":\"conversations\"}");
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  int id = 94;
  json_t *o = wsc_take(&wa, match_id, &id, 30000);
  assert_non_null(o);
  assert_int_equal(jint(o, "code"), 70500);
  json_decref(o);
  hook_file(rhold, 0); /* the fillers' reads may run: the stop need not wait for its deadline */
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  wsc_close(&wa);
  for (int i = 0; i < CAP; i++) wsc_close(&f[i]);
}

/* After test_convs_second_read_at_stop: the server has exited. */
static int teardown_stopped(void **st)
{
  (void)st;
  unlink(dhold);
  unlink(rhold);
  unlink(rsteps);
  if (srv.pid) return e2e_finish(&srv);
  e2e_dir_remove(&srv);
  return 0;
}

static void test_two_wait_answered(void **st) { (void)st; two_wait(0); }
static void test_two_wait_closed(void **st) { (void)st; two_wait(1); }

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_from_gate_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rerun_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_convs_second_read_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_list_second_read_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_two_wait_answered, setup, teardown),
    cmocka_unit_test_setup_teardown(test_two_wait_closed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_two_wait_one_room_each, setup, teardown),
    cmocka_unit_test_setup_teardown(test_convs_first_read_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_list_first_read_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_convs_second_read_closed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_convs_second_read_at_stop, setup, teardown_stopped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
