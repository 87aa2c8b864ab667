/* End-to-end: one-to-one retention when it changes (docs/delivery.md "What
 * is kept", docs/decisions/retention-addons.md), on the test clock.
 *
 *  - A message sent over the WebSocket (and one imported realtime) while
 *    the app keeps 7 days is synced for as long as the app keeps it, not
 *    for the 7 days in force when it was sent: after the app buys 2 months
 *    of roaming and 8 days pass, a device that syncs from cursor 0 gets
 *    both, as history does (the send stored the retention of its moment as
 *    the message's offline lifetime, so sync skipped them after 7 days). A
 *    REST sendmsg message keeps its MsgLifeTime (default 7 days): not
 *    synced after 8 days, still in history.
 *  - The boundary, back at 7 days, in every read path: of two imported
 *    messages, the one exactly 7 days old is shown by WebSocket history,
 *    sync, admin_getroammsg, the conversation list's unread count and
 *    get_c2c_unread_msg_num, the one a second older by none; recall and
 *    modify of the older answer 20022 (the newer: 20016 past the recall
 *    window, modify succeeds); its import again stores nothing new. A sent
 *    message is shown with the clock 7 days on and gone a second later;
 *    the purge pass then leaves the same.
 *  - A realtime import already past retention is pushed to no live device
 *    (no sync hands it over); one exactly at the limit is, without a gap.
 *  - The purge keeps the last message each user's conversation list shows
 *    (NoLastMsg and SyncOtherMachine 2 messages after it): past the
 *    retention the lists leave those conversations out (empty: §46), and
 *    after a restart on the start date (the messages within retention
 *    again) and a pass that replaces the floor then above the clock, the
 *    lists are the same as before the pass.
 *  - The clock 10 days ahead during a pass, then put right (a restart on
 *    the right date): messages sent after that are shown an hour, 3 and 6
 *    days later, across the misset pass's horizon (its floor hid them).
 *  - Two apps with the same UserIDs, 7 and 60 days: a 20-day-old message
 *    is shown and stored in the second, purged in the first.
 *  - The trim at 100 kept conversations (S-2019 pro) keeps a pinned one and the 100
 *    most recent others; a trimmed one comes back pinned with none unread, then
 *    with one unread after a new message.
 *  - A pass at 7 days, then 2 months bought, then a message 20 days old
 *    imported: every read shows it and the passes keep it (the floor
 *    covers only what was stored when its pass began).
 *  - A pass at 7 days over a conversation's last message 8 days old, then 2
 *    months bought: the floor still hides the message from every read, and
 *    the lists take the conversation as empty (§47). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"
#include "store/sqlite_int.h"
#include "store/store_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const int64_t start_s = 1790784000; /* 2026-10-01 00:00 UTC+8, the test clock's start (the UserSigs are made on the real clock and live a day: the test clock stays behind it) */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-01", "--msg-purge-interval-ms", "50", NULL };
#define DAY 86400

static int setup(void **st)
{
  (void)st;
  char out[512];
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "review", auth, sizeof auth)) return -1;
  if (e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 1000000 --reference seed --json")) return -1;
  if (e2e_server_start(&srv, args)) return -1;
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"r\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  app = (uint32_t)jint(a, "sdkappid");
  snprintf(key, sizeof key, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", NULL });
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


/* Retention passes run every 50 ms (msg_purge_interval_ms 50). Wait for k
 * more of them on server d (two: one whole pass began after whatever the
 * caller just changed). */
static void wait_passes(const e2e_server_t *d, int k)
{
  assert_int_equal(e2e_wait_job_runs(d, "retention_purge", k), 0);
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* msg_purge_interval_ms sets the passes' pace on its own timer: four passes
 * take well under the 3 s the 1 s tick would need (msg_purge_interval_s
 * has whole seconds only). */
static void test_passes_at_the_ms_interval(void **st)
{
  (void)st;
  int64_t t0 = mono_ms();
  wait_passes(&srv, 4);
  int64_t took = mono_ms() - t0;
  if (took >= 2000) fail_msg("four passes took %lld ms at a 50 ms interval", (long long)took);
}

static void roaming(int months)
{
  char body[96];
  snprintf(body, sizeof body, "{\"addon\":\"c2c_roaming_months\",\"value\":%d}", months);
  json_decref(op_callf(srv.port, auth, 201, "POST", body, "/operator/v1/apps/%u/addons", app));
}

/* The texts of user's sync from cursor 0 (message events, not changes), oldest first. */
static void sync_texts(const char *user, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  json_t *all = wsc_sync_live(&c);
  assert_non_null(all);
  json_t *e, *msgs = json_array();
  size_t i;
  json_array_foreach(all, i, e) if (!strcmp(jstr(e, "type"), "msg")) json_array_append(msgs, json_object_get(e, "msg"));
  msg_texts(msgs, "body", out, cap);
  json_decref(msgs);
  json_decref(all);
  wsc_close(&c);
}

static void roam_texts(const char *user, const char *peer, char *out, size_t cap)
{
  json_t *h = call("openim/admin_getroammsg",
                   "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}", user, peer);
  assert_int_equal(jint(h, "ErrorCode"), 0);
  msg_texts(json_object_get(h, "MsgList"), "MsgBody", out, cap);
  json_decref(h);
}

static void test_sync_follows_a_longer_retention(void **st)
{
  (void)st;
  char got[512];
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "alice", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"bob\",\"body\":" TEXT("ws") ",\"random\":1");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
  v4_ok(call("openim/importmsg", "{\"SyncFromOldSystem\":5,\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgSeq\":2,"
                              "\"MsgRandom\":2,\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imp") "}", (long long)start_s - DAY));
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgRandom\":3,\"MsgBody\":" TEXT("rest") "}"));
  sync_texts("bob", got, sizeof got);
  assert_string_equal(got, "ws,imp,rest");
  roaming(2); /* 60 days */
  op_clock_advance(srv.port, auth, 8 * DAY);
  roam_texts("bob", "alice", got, sizeof got);
  assert_string_equal(got, "rest,ws,imp"); /* by time, newest first: imp is a day older than ws (§34) */
  sync_texts("bob", got, sizeof got);
  assert_string_equal(got, "ws,imp"); /* the REST message's MsgLifeTime (7 days) has passed */
}

/* Every read path of bob's conversation with peer as one line:
 * "hist=…;sync=…;roam=…;unread=N;unreadnum=N" (unread -1: the conversation is not listed). */
static void reads(const char *peer, char *out, size_t cap)
{
  char h[256], y[256], r[256];
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "bob", "Web"), 0);
  json_t *o = wsc_rpc(&c, "history", "\"peer\":\"%s\",\"limit\":100", peer);
  assert_int_equal(jint(o, "code"), 0);
  msg_texts(json_object_get(o, "msgs"), "body", h, sizeof h);
  json_decref(o);
  json_int_t unread = -1;
  o = wsc_rpc(&c, "conversations", "%s", "");
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(o, "conversations"), i, e) if (!strcmp(jstr(e, "peer"), peer)) unread = jint(e, "unread");
  json_decref(o);
  wsc_close(&c);
  sync_texts("bob", y, sizeof y);
  roam_texts("bob", peer, r, sizeof r);
  o = call("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"bob\",\"Peer_Account\":[\"%s\"]}", peer);
  json_int_t num = jint(json_array_get(json_object_get(o, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(o);
  snprintf(out, cap, "hist=%s;sync=%s;roam=%s;unread=%lld;unreadnum=%lld", h, y, r, (long long)unread, (long long)num);
}

static json_int_t err_of(json_t *r)
{
  assert_non_null(r);
  json_int_t e = jint(r, "ErrorCode");
  json_decref(r);
  return e;
}

static int64_t ev_since;
static int ev_old, ev_all;
/* The inbox events stored for user_no of app (c2c_inbox and its log): ev_all, ev_old (at < ev_since); *max_useq. */
static void stored_events(store_t *s, uint32_t user_no, uint32_t *max_useq)
{
  sqlite3_stmt *st;
  ev_old = ev_all = 0;
  *max_useq = 0;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT useq,at FROM c2c_inbox WHERE sdkappid=?1 AND user_no=?2"
                                      " UNION ALL SELECT useq,at FROM c2c_inbox_log WHERE sdkappid=?1 AND user_no=?2",
                                      -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user_no);
  while (sqlite3_step(st) == SQLITE_ROW) {
    ev_all++;
    ev_old += sqlite3_column_int64(st, 1) < ev_since;
    if ((uint32_t)sqlite3_column_int64(st, 0) > *max_useq) *max_useq = (uint32_t)sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
}

static void count_msg(void *ud, const store_msg_t *m)
{
  (void)ud;
  (void)m;
  ev_all++;
}

static void count_row(void *ud, const store_recent_t *r)
{
  (void)ud;
  (void)r;
  ev_all++;
}

static void test_boundary_every_read(void **st)
{
  (void)st;
  char got[1024], mkey[64];
  roaming(0); /* 7 days again */
  json_t *ck = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/clock");
  int64_t now = jint(ck, "now_s");
  json_decref(ck);
  import_users(srv.port, app, key, (const char *const[]){ "carol", "dave", NULL });
  const char *imp = "{\"SyncFromOldSystem\":5,\"From_Account\":\"carol\",\"To_Account\":\"bob\",\"MsgSeq\":%d,"
                    "\"MsgRandom\":%d,\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                    "{\"Text\":\"%s\"}}]}";
  v4_ok(call("openim/importmsg", imp, 11, 11, (long long)(now - 7 * DAY - 1), "past"));
  v4_ok(call("openim/importmsg", imp, 12, 12, (long long)(now - 7 * DAY), "at"));
  reads("carol", got, sizeof got);
  assert_string_equal(got, "hist=at;sync=at;roam=at;unread=1;unreadnum=1");
  /* recall and modify: the older is gone (20022), the one at the limit is there */
  snprintf(mkey, sizeof mkey, "11_11_%lld", (long long)(now - 7 * DAY - 1));
  assert_int_equal(err_of(call("openim/admin_msgwithdraw", "{\"From_Account\":\"carol\",\"To_Account\":\"bob\","
                                                          "\"MsgKey\":\"%s\"}", mkey)), 20022);
  assert_int_equal(err_of(call("openim/modify_c2c_msg", "{\"From_Account\":\"carol\",\"To_Account\":\"bob\","
                                                        "\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("x") "}", mkey)), 20022);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "carol", "Web"), 0);
  json_t *r = wsc_rpc(&c, "recall", "\"peer\":\"bob\",\"msg_key\":\"%s\"", mkey);
  assert_int_equal(jint(r, "code"), 20022);
  json_decref(r);
  snprintf(mkey, sizeof mkey, "12_12_%lld", (long long)(now - 7 * DAY));
  r = wsc_rpc(&c, "recall", "\"peer\":\"bob\",\"msg_key\":\"%s\"", mkey);
  assert_int_equal(jint(r, "code"), 20016);
  json_decref(r);
  wsc_close(&c);
  assert_int_equal(err_of(call("openim/modify_c2c_msg", "{\"From_Account\":\"carol\",\"To_Account\":\"bob\","
                                                        "\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("at2") "}", mkey)), 0);
  /* the older imported again: nothing new shows */
  v4_ok(call("openim/importmsg", imp, 11, 11, (long long)(now - 7 * DAY - 1), "past"));
  reads("carol", got, sizeof got);
  assert_string_equal(got, "hist=at2;sync=at2;roam=at2;unread=1;unreadnum=1");

  /* a sent message, the clock 7 days on and a second more */
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"dave\",\"To_Account\":\"bob\",\"MsgRandom\":5,\"MsgBody\":" TEXT("d1") "}"));
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"dave\",\"To_Account\":\"bob\",\"MsgRandom\":6,\"MsgBody\":" TEXT("d2") "}"));
  op_clock_advance(srv.port, auth, 7 * DAY);
  reads("dave", got, sizeof got);
  assert_string_equal(got, "hist=d2,d1;sync=d1,d2;roam=d2,d1;unread=2;unreadnum=2");
  op_clock_advance(srv.port, auth, 1);
  reads("dave", got, sizeof got); /* its last message past the retention: an empty conversation, not listed (§46) */
  assert_string_equal(got, "hist=;sync=;roam=;unread=-1;unreadnum=0");
  /* the purge pass (every 50 ms) deletes bob's expired inbox events but his newest (its useq goes on) */
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  uint32_t b_no, max_useq = 0;
  assert_int_equal(store_account_get(s, app, "bob", &b_no), 0);
  ev_since = now + 1; /* the clock's now - 7 days */
  for (int tries = 0; tries < 50; tries++) { /* the rows stored: reads leave out the kept one (the app's floor covers it) */
    stored_events(s, b_no, &max_useq);
    if (ev_old == 1) break;
    usleep(100000);
  }
  store_close(s);
  assert_int_equal(ev_old, 1);
  assert_int_equal(ev_all, 1);
  assert_true(max_useq > 1);
  reads("dave", got, sizeof got);
  assert_string_equal(got, "hist=;sync=;roam=;unread=-1;unreadnum=0");
}

/* A realtime import (SyncFromOldSystem 5) already past retention is pushed
 * to no live device (sync never hands it over: its event has the message's
 * time); one within retention is, and its useq follows without a gap. */
static void test_expired_import_not_pushed(void **st)
{
  (void)st;
  json_t *ck = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/clock");
  int64_t now = jint(ck, "now_s");
  json_decref(ck);
  import_users(srv.port, app, key, (const char *const[]){ "erin", NULL });
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "bob", "Web"), 0);
  json_t *r = wsc_rpc(&c, "sync", "\"cursor\":0");
  assert_true(json_is_true(json_object_get(r, "complete"))); /* live from its cursor */
  json_int_t last = jint(r, "cursor");
  json_decref(r);
  const char *imp = "{\"SyncFromOldSystem\":5,\"From_Account\":\"erin\",\"To_Account\":\"bob\",\"MsgSeq\":%d,"
                    "\"MsgRandom\":%d,\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                    "{\"Text\":\"%s\"}}]}";
  v4_ok(call("openim/importmsg", imp, 1, 1, (long long)(now - 7 * DAY - 1), "old"));
  v4_ok(call("openim/importmsg", imp, 2, 2, (long long)(now - 7 * DAY), "edge"));
  json_t *p = wsc_push(&c, "msg", 2000);
  assert_non_null(p);
  assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"), "edge");
  assert_int_equal(jint(p, "useq"), last + 1);
  json_decref(p);
  assert_null(wsc_push(&c, "msg", 300));
  wsc_close(&c);
  char got[512];
  sync_texts("bob", got, sizeof got);
  assert_non_null(strstr(got, "edge"));
  assert_null(strstr(got, "old"));
}

/* bob's conversations (WebSocket) as "peer:last_seq,…" */
static void conv_list(const char *user, char *out, size_t cap)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  json_t *o = wsc_rpc(&c, "conversations", "%s", "");
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(o, "conversations"), i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%lld", out[0] ? "," : "", jstr(e, "peer"), (long long)jint(e, "last_seq"));
  json_decref(o);
  wsc_close(&c);
}

/* The purge keeps the last message each user's list shows: a conversation
 * whose newest messages are NoLastMsg (or SyncOtherMachine 2, for its
 * sender) keeps its place in both lists after a pass, as before it (seen
 * after a restart that puts the clock back, the messages within retention
 * again, once a pass has replaced the floor above the clock). Before, the
 * pass deleted that older message (only the conversation's newest stayed)
 * and the conversation left the list. */
static void test_purge_keeps_listed_last(void **st)
{
  (void)st;
  char got[1024];
  import_users(srv.port, app, key, (const char *const[]){ "fay", "gus", "hal", NULL });
  const char *send = "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,%s\"MsgBody\":" TEXT("m") "}";
  v4_ok(call("openim/sendmsg", send, "fay", "gus", 1, ""));
  v4_ok(call("openim/sendmsg", send, "fay", "gus", 2, "\"SendMsgControl\":[\"NoLastMsg\"],"));
  v4_ok(call("openim/sendmsg", send, "fay", "hal", 3, ""));
  v4_ok(call("openim/sendmsg", send, "hal", "fay", 4, "\"SyncOtherMachine\":2,")); /* hal's list: seq 1; fay's: seq 2 */
  v4_ok(call("openim/sendmsg", send, "hal", "fay", 5, "\"SyncOtherMachine\":2,\"SendMsgControl\":[\"NoLastMsg\"],"));
  conv_list("gus", got, sizeof got);
  assert_string_equal(got, "fay:1");
  conv_list("hal", got, sizeof got);
  assert_string_equal(got, "fay:1");
  conv_list("fay", got, sizeof got);
  assert_string_equal(got, "gus:1,hal:2"); /* one second: by peer number */
  op_clock_advance(srv.port, auth, 7 * DAY + 1);
  wait_passes(&srv, 2); /* a purge pass (every 50 ms) */
  for (int round = 0; round < 2; round++) {
    /* round 0, 7 days and a second on: every listed last message is past the retention, so the lists are
     * empty (§46); round 1, after a restart on the start date and a pass: the lists are as before the pass */
    conv_list("gus", got, sizeof got);
    assert_string_equal(got, round ? "fay:1" : "");
    conv_list("hal", got, sizeof got);
    assert_string_equal(got, round ? "fay:1" : "");
    conv_list("fay", got, sizeof got);
    assert_string_equal(got, round ? "gus:1,hal:2" : ""); /* one second: by peer number */
    if (!round) { /* the restart puts the test clock back at its start date: the later tests run from there */
      assert_int_equal(e2e_server_stop(&srv), 0);
      assert_int_equal(e2e_server_start(&srv, args), 0);
      /* until a pass replaces the floor now above the clock (§37), it covers the messages for every read and
       * so for the lists (§47) */
      wait_passes(&srv, 2);
    }
  }
}

/* The clock ran 10 days ahead (more than the 7 days kept) while a purge
 * pass ran, then was put right (a restart on the right date). Messages sent
 * after that are shown for their 7 days, kept by the purge, and still
 * shown when the clock passes the misset pass's horizon; before, that
 * pass's floor (3 days ahead of the real clock) hid every message older
 * than the current second and the next pass deleted them. */
static void test_clock_back_past_the_floor(void **st)
{
  (void)st;
  e2e_server_t d;
  uint32_t a2;
  char k2[80], got[512];
  const char *const a_ahead[] = { "--test-clock", "--test-clock-start", "2026-10-01", "--msg-purge-interval-ms", "50", NULL };
  e2e_dir_init(&d);
  e2e_make_app_at(&d, "china", "2026-09-01", &a2, k2); /* S-2022 trial: 7 days */
  char dauth[160];
  char out[512];
  assert_int_equal(e2e_cli(&d, out, sizeof out, "operator token --json"), 0); /* known before the server starts */
  json_t *t = json_loads(out, 0, NULL);
  snprintf(dauth, sizeof dauth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(t, "token")));
  json_decref(t);
  assert_int_equal(e2e_server_start(&d, a_ahead), 0);
  import_users(d.port, a2, k2, (const char *const[]){ "ka", "kb", NULL });
  const char *send = "{\"From_Account\":\"ka\",\"To_Account\":\"kb\",\"MsgRandom\":%d,\"MsgBody\":"
                     "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}";
  json_decref(v4(d.port, a2, k2, "openim/sendmsg", send, 1, "before"));
  json_decref(op_callf(d.port, dauth, 200, "POST", "{\"advance_s\":864000}", "/operator/v1/clock"));
  wait_passes(&d, 2); /* a pass on the clock 10 days ahead: its horizon is 3 days past the real date */
  assert_int_equal(e2e_server_stop(&d), 0);
  assert_int_equal(e2e_server_start(&d, a_ahead), 0); /* the clock put right */
  json_decref(v4(d.port, a2, k2, "openim/sendmsg", send, 2, "after1"));
  json_decref(v4(d.port, a2, k2, "openim/sendmsg", send, 3, "after2"));
  for (int step = 0; step < 3; step++) {
    /* an hour on, a pass; then 3 days on (past the misset horizon), a pass; then 6 days on */
    json_decref(op_callf(d.port, dauth, 200, "POST", step == 0 ? "{\"advance_s\":3600}" : "{\"advance_s\":259200}",
                         "/operator/v1/clock"));
    wait_passes(&d, 2);
    json_t *h = v4(d.port, a2, k2, "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"kb\",\"Peer_Account\":\"ka\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}");
    msg_texts(json_object_get(h, "MsgList"), "MsgBody", got, sizeof got);
    json_decref(h);
    if (strcmp(got, "after2,after1,before")) fail_msg("step %d: \"%s\"", step, got);
  }
  assert_int_equal(e2e_server_stop(&d), 0);
  e2e_dir_remove(&d);
}

/* Two apps with the same UserIDs: a trial keeps 7 days, app B 60 (pro, 2
 * months of roaming). A message 20 days old in each: after purge passes B
 * still shows and stores its own, the trial shows none and stored only its
 * newest; the trial's retention and purge never touch B. */
static void test_apps_apart(void **st)
{
  (void)st;
  char got[512];
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"b\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  uint32_t app_b = (uint32_t)jint(a, "sdkappid");
  char key_b[80];
  snprintf(key_b, sizeof key_b, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app_b));
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"addon\":\"c2c_roaming_months\",\"value\":2}",
                       "/operator/v1/apps/%u/addons", app_b));
  a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"t\",\"region\":\"china\",\"scheme\":\"s2019\"}",
               "/operator/v1/apps");
  uint32_t app_t = (uint32_t)jint(a, "sdkappid"); /* the S-2019 trial: 7 days */
  char key_t[80];
  snprintf(key_t, sizeof key_t, "%s", jstr(a, "key"));
  json_decref(a);
  wait_passes(&srv, 2); /* a pass with B at 60 days (its floor: 60 days back) */
  json_t *ck = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/clock");
  int64_t now = jint(ck, "now_s");
  json_decref(ck);
  const char *imp = "{\"SyncFromOldSystem\":2,\"From_Account\":\"mt_a\",\"To_Account\":\"mt_b\",\"MsgSeq\":%d,"
                    "\"MsgRandom\":%d,\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                    "{\"Text\":\"%s\"}}]}";
  const uint32_t apps[2] = { app_t, app_b };
  const char *keys[2] = { key_t, key_b };
  for (int i = 0; i < 2; i++) {
    import_users(srv.port, apps[i], keys[i], (const char *const[]){ "mt_a", "mt_b", NULL });
    json_decref(v4(srv.port, apps[i], keys[i], "openim/importmsg", imp, 1, 1, (long long)(now - 20 * DAY), "old"));
    json_decref(v4(srv.port, apps[i], keys[i], "openim/importmsg", imp, 2, 2, (long long)now, "new"));
  }
  wait_passes(&srv, 2); /* passes */
  const char *want[2] = { "new", "new,old" };
  for (int i = 0; i < 2; i++) {
    json_t *h = v4(srv.port, apps[i], keys[i], "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"mt_b\",\"Peer_Account\":\"mt_a\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}");
    msg_texts(json_object_get(h, "MsgList"), "MsgBody", got, sizeof got);
    json_decref(h);
    assert_string_equal(got, want[i]);
  }
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  for (int i = 0; i < 2; i++) {
    uint32_t na, nb;
    assert_int_equal(store_account_get(s, apps[i], "mt_a", &na), 0);
    assert_int_equal(store_account_get(s, apps[i], "mt_b", &nb), 0);
    ev_all = 0;
    assert_int_equal(store_msg_history(s, apps[i], store_c2c_conv(na, nb), 0, 0, 0, INT64_MAX, 10, count_msg, NULL), 0);
    assert_int_equal(ev_all, i ? 2 : 1); /* the trial: the expired one deleted; B: both kept */
  }
  store_close(s);
}

/* The kept-conversations trim at the limit (100 on S-2019 pro):
 * 102 peers write to tk; the oldest is pinned. After a pass tk keeps the
 * pin and the 100 most recent others (the second oldest is gone, from the
 * list, the unread total and the table); a pin brings it back with nothing
 * unread, and a new message from it then makes that message alone unread. */
static void test_trim_at_the_limit_keeps_the_pin(void **st)
{
  (void)st;
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"k\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  uint32_t ak = (uint32_t)jint(a, "sdkappid");
  char kk[80], id[16];
  snprintf(kk, sizeof kk, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", ak)); /* 100 kept, accounts unlimited */
  char ids[2048] = "\"tk\"";
  for (int i = 0; i < 102; i++) snprintf(ids + strlen(ids), sizeof ids - strlen(ids), ",\"p%03d\"", i);
  for (int part = 0; part < 2; part++) { /* at most 100 a call: tk and p000-p098, then p099-p101 */
    char *split = strstr(ids, ",\"p099\"");
    json_t *ia = part ? v4(srv.port, ak, kk, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[%s]}", split + 1)
                      : v4(srv.port, ak, kk, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[%.*s]}",
                           (int)(split - ids), ids);
    if (!ia || jint(ia, "ErrorCode") || json_array_size(json_object_get(ia, "FailAccounts")))
      fail_msg("import: %s", ia ? json_dumps(ia, JSON_COMPACT) : "no reply");
    json_decref(ia);
  }
  wsc_t c;
  json_t *r;
  assert_int_equal(wsc_login(&c, srv.port, ak, kk, "tk", "Web"), 0);
  for (int i = 0; i < 102; i++) {
    snprintf(id, sizeof id, "p%03d", i);
    r = v4(srv.port, ak, kk, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"tk\",\"MsgRandom\":%d,"
           "\"MsgBody\":" TEXT("m") "}", id, i + 1);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
    if (i == 0) { /* pinned before tk has more rows than it keeps: the passes (every 50 ms) trim from then on */
      r = wsc_rpc(&c, "pin", "\"peer\":\"p000\",\"pinned\":true");
      assert_int_equal(jint(r, "code"), 0);
      json_decref(r);
    }
    if (i < 101) json_decref(op_callf(srv.port, auth, 200, "POST", "{\"advance_s\":1}", "/operator/v1/clock")); /* one second apart */
  }
  wait_passes(&srv, 2); /* a pass trims tk's rows */
  r = wsc_rpc(&c, "conversations", "%s", "");
  json_t *l = json_object_get(r, "conversations");
  assert_int_equal(json_array_size(l), 101);
  assert_string_equal(jstr(json_array_get(l, 0), "peer"), "p000");
  assert_string_equal(jstr(json_array_get(l, 1), "peer"), "p101");
  assert_string_equal(jstr(json_array_get(l, 100), "peer"), "p002");
  json_decref(r);
  r = v4(srv.port, ak, kk, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"tk\"}");
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 101);
  json_decref(r);
  store_t *s;
  uint32_t tk_no;
  assert_int_equal(store_open(srv.dir, &s), 0);
  assert_int_equal(store_account_get(s, ak, "tk", &tk_no), 0);
  ev_all = 0;
  assert_int_equal(store_msg_recent_list(s, ak, tk_no, count_row, NULL), 0);
  store_close(s);
  assert_int_equal(ev_all, 101);
  /* a pin brings the forgotten conversation back read up to its last message (the row kept no read
   * position): none of p001's older messages counts as unread in either read */
  r = wsc_rpc(&c, "pin", "\"peer\":\"p001\",\"pinned\":true");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_int_t unread = -1;
  r = wsc_rpc(&c, "conversations", "%s", "");
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, e) if (!strcmp(jstr(e, "peer"), "p001")) unread = jint(e, "unread");
  json_decref(r);
  assert_int_equal(unread, 0);
  r = v4(srv.port, ak, kk, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"tk\",\"Peer_Account\":[\"p001\"]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum"), 0);
  json_decref(r);
  json_decref(v4(srv.port, ak, kk, "openim/sendmsg", "{\"From_Account\":\"p001\",\"To_Account\":\"tk\",\"MsgRandom\":500,"
                 "\"MsgBody\":" TEXT("again") "}"));
  r = v4(srv.port, ak, kk, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"tk\",\"Peer_Account\":[\"p001\"]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum"), 1);
  json_decref(r);
  wsc_close(&c);
}

/* One conversation of app a as every read shows it to viewer:
 * "roam=…;hist=…;sync=…;unread=N" (roam and hist newest first, sync in useq order). */
static void reads_in(uint32_t a, const char *k, const char *viewer, const char *peer, char *out, size_t cap)
{
  char r[256], h[256], y[256];
  json_t *o = v4(srv.port, a, k, "openim/admin_getroammsg", "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\","
                 "\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}", viewer, peer);
  assert_int_equal(jint(o, "ErrorCode"), 0);
  msg_texts(json_object_get(o, "MsgList"), "MsgBody", r, sizeof r);
  json_decref(o);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, a, k, viewer, "Web"), 0);
  o = wsc_rpc(&c, "history", "\"peer\":\"%s\",\"limit\":100", peer);
  assert_int_equal(jint(o, "code"), 0);
  msg_texts(json_object_get(o, "msgs"), "body", h, sizeof h);
  json_decref(o);
  json_t *all = wsc_sync_live(&c), *e, *msgs = json_array();
  size_t i;
  assert_non_null(all);
  json_array_foreach(all, i, e) if (!strcmp(jstr(e, "type"), "msg")) json_array_append(msgs, json_object_get(e, "msg"));
  msg_texts(msgs, "body", y, sizeof y);
  json_decref(msgs);
  json_decref(all);
  wsc_close(&c);
  o = v4(srv.port, a, k, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}", viewer,
         peer);
  json_int_t n = jint(json_array_get(json_object_get(o, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(o);
  snprintf(out, cap, "roam=%s;hist=%s;sync=%s;unread=%lld", r, h, y, (long long)n);
}

/* A pass records the app's floor at 7 days; then the app buys 2 months of
 * roaming and a message 20 days old is imported (realtime). The floor
 * covers only the messages stored when its pass began: the import is
 * shown by every read, as the 60 days in force keep it, and the next
 * passes keep it. Before, the floor (now - 7 days) hid it from every read
 * and the next pass deleted it, while importmsg had answered 0. */
static void test_import_after_a_longer_retention(void **st)
{
  (void)st;
  char got[1024];
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"f\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  uint32_t af = (uint32_t)jint(a, "sdkappid");
  char kf[80];
  snprintf(kf, sizeof kf, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", af)); /* 7 days */
  import_users(srv.port, af, kf, (const char *const[]){ "fl_a", "fl_b", NULL });
  json_t *r = v4(srv.port, af, kf, "openim/sendmsg", "{\"From_Account\":\"fl_a\",\"To_Account\":\"fl_b\",\"MsgRandom\":1,"
                 "\"MsgBody\":" TEXT("live") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  wait_passes(&srv, 2); /* a pass: the app's floor is now - 7 days */
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"addon\":\"c2c_roaming_months\",\"value\":2}",
                       "/operator/v1/apps/%u/addons", af)); /* 60 days */
  json_t *ck = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/clock");
  int64_t now = jint(ck, "now_s");
  json_decref(ck);
  r = v4(srv.port, af, kf, "openim/importmsg", "{\"SyncFromOldSystem\":5,\"From_Account\":\"fl_a\",\"To_Account\":\"fl_b\","
         "\"MsgSeq\":7,\"MsgRandom\":7,\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("old") "}", (long long)(now - 20 * DAY));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  for (int round = 0; round < 2; round++) {
    reads_in(af, kf, "fl_b", "fl_a", got, sizeof got);
    if (strcmp(got, "roam=live,old;hist=old,live;sync=live,old;unread=2"))
      fail_msg("round %d: %s", round, got); /* history in seq order: the import's seq is the higher (§34) */
    if (!round) wait_passes(&srv, 2); /* passes at 60 days: the import stays */
  }
}

/* A pass at 7 days covers a message 8 days old (its conversation's last: the purge keeps it, §36); then 2
 * months are bought. The floor still hides the message from every read, so the conversation is empty, as
 * one past the retention is (§46): left out of both lists unless pinned or asked for (AssistFlags bit 1),
 * with last_seq 0. Before, the rule looked at the retention alone, and the lists showed the conversation
 * (last_seq 1) with a last message no read shows. */
static void test_floor_empties_the_conversation(void **st)
{
  (void)st;
  char got[1024];
  json_t *a = op_callf(srv.port, auth, 201, "POST", "{\"customer_id\":1,\"name\":\"e\",\"region\":\"china\",\"scheme\":\"s2019\"}",
                       "/operator/v1/apps");
  uint32_t ae = (uint32_t)jint(a, "sdkappid");
  char ke[80];
  snprintf(ke, sizeof ke, "%s", jstr(a, "key"));
  json_decref(a);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", ae)); /* 7 days */
  import_users(srv.port, ae, ke, (const char *const[]){ "fe_a", "fe_b", NULL });
  json_t *r = v4(srv.port, ae, ke, "openim/sendmsg", "{\"From_Account\":\"fe_a\",\"To_Account\":\"fe_b\",\"MsgRandom\":1,"
                 "\"MsgBody\":" TEXT("old") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  op_clock_advance(srv.port, auth, 8 * DAY);
  wait_passes(&srv, 2); /* a pass: the app's floor is now - 7 days, over the message */
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"addon\":\"c2c_roaming_months\",\"value\":2}",
                       "/operator/v1/apps/%u/addons", ae)); /* 60 days */
  reads_in(ae, ke, "fe_b", "fe_a", got, sizeof got);
  assert_string_equal(got, "roam=;hist=;sync=;unread=0"); /* the floor hides it from every read */
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, ae, ke, "fe_b", "Web"), 0);
  json_t *o = wsc_rpc(&c, "conversations", "%s", "");
  assert_int_equal(jint(o, "code"), 0);
  if (json_array_size(json_object_get(o, "conversations")))
    fail_msg("conversations listed the covered conversation: %s", json_dumps(o, JSON_COMPACT));
  json_decref(o);
  wsc_close(&c);
  for (int flags = 0; flags <= 2; flags += 2) { /* bit 1: the empty ones too */
    r = v4(srv.port, ae, ke, "recentcontact/get_list", "{\"From_Account\":\"fe_b\",\"AssistFlags\":%d}", flags);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *items = json_object_get(r, "SessionItem");
    if (json_array_size(items) != (size_t)flags / 2 || (flags && jint(json_array_get(items, 0), "MsgTime") != 0))
      fail_msg("get_list AssistFlags %d: %s", flags, json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_passes_at_the_ms_interval),
    cmocka_unit_test(test_sync_follows_a_longer_retention),
    cmocka_unit_test(test_boundary_every_read),
    cmocka_unit_test(test_expired_import_not_pushed),
    cmocka_unit_test(test_purge_keeps_listed_last),
    cmocka_unit_test(test_clock_back_past_the_floor),
    cmocka_unit_test(test_apps_apart),
    cmocka_unit_test(test_trim_at_the_limit_keeps_the_pin),
    cmocka_unit_test(test_import_after_a_longer_retention),
    cmocka_unit_test(test_floor_empties_the_conversation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
