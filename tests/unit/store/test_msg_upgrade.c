/* Upgrade of the C2C message tables: a database written in the layout of
 * migrations 1–17 (the rowid inbox, the random index) is opened by this
 * build; its messages, inbox events and conversation rows must keep working
 * — sync pages, history, MsgKey lookups, dedupe of an old message, and
 * appends that continue the old sequences. Migrations 21 and 26 rebuild the
 * inbox and the conversation rows (26: keys lead with the user number): a
 * second app with the same user numbers must stay apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "tmpdir.h"

#define APP 1400000001u
#define APP2 1400000002u /* same user numbers 1 and 2: one message, one event for user 2, one row */
#define OLD_VERSION 17 /* before the clustered inbox (21) and the keys led by user or conversation (26, 27) */
#define T0 1700000000

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgup");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static void exec(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
}

/* Users 1 and 2 exchanged three messages (seq 1–3, random 11–13) at T0..T0+2;
 * user 2's inbox holds them at useq 1–3, user 1's the first one at useq 1. */
static void make_old_db(void)
{
  char path[128];
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  for (int v = 0; v < OLD_VERSION; v++) exec(db, sq__migrations[v]);
  exec(db, "PRAGMA user_version=17");
  exec(db, "INSERT INTO accounts VALUES(1400000001,'u1',1,NULL,NULL,0),(1400000001,'u2',2,NULL,NULL,0)");
  for (int i = 1; i <= 3; i++) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO c2c_msg(sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body)"
             " VALUES(%u,%llu,%d,1,2,%d,%d,%d,0,604800,'{\"MsgBody\":[%d]}');"
             "INSERT INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) VALUES(%u,2,%d,1,%llu,%d,%d);",
             APP, (unsigned long long)store_c2c_conv(1, 2), i, T0 + i - 1, 100 + i, 10 + i, i, APP, i,
             (unsigned long long)store_c2c_conv(1, 2), i, T0 + i - 1);
    exec(db, sql);
  }
  exec(db, "INSERT INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) VALUES(1400000001,1,1,1,4294967298,1,1700000000);"
           "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,read_seq) VALUES(1400000001,1,2,0),(1400000001,2,1,2)");
  exec(db, "INSERT INTO accounts VALUES(1400000002,'u1',1,NULL,NULL,0),(1400000002,'u2',2,NULL,NULL,0);"
           "INSERT INTO c2c_msg(sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body)"
           " VALUES(1400000002,4294967298,1,1,2,1700000000,201,12,0,604800,'{}');"
           "INSERT INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) VALUES(1400000002,2,1,1,4294967298,1,1700000000);"
           "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,read_seq) VALUES(1400000002,2,1,1)");
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int events;
static uint32_t ev_seq[8];
static void on_ev(void *ud, const store_inbox_ev_t *e)
{
  (void)ud;
  assert_non_null(e->msg);
  assert_int_equal(e->msg->seq, e->seq);
  assert_string_equal(e->peer_id, "u1");
  if (events < 8) ev_seq[events] = e->seq;
  events++;
}

static int msgs;
static store_msg_t last;
static void on_msg(void *ud, const store_msg_t *m) { (void)ud; last = *m; msgs++; }

static void test_old_rows_after_upgrade(void **st)
{
  (void)st;
  make_old_db();
  store_t *s;
  assert_int_equal(store_open(dir, &s), 0);
  uint64_t conv = store_c2c_conv(1, 2);
  /* sync: user 2's three old events, with their messages */
  uint32_t max_useq;
  assert_int_equal(store_msg_inbox_page(s, APP, 2, 0, 10, 0, on_ev, NULL, &max_useq), 0);
  assert_int_equal(events, 3);
  assert_int_equal(max_useq, 3);
  assert_int_equal(ev_seq[0], 1);
  assert_int_equal(ev_seq[2], 3);
  /* history and a MsgKey lookup of an old message */
  assert_int_equal(store_msg_history(s, APP, conv, 0, 0, 0, INT64_MAX, 10, on_msg, NULL), 0);
  assert_int_equal(msgs, 3);
  assert_int_equal(store_msg_find_key(s, APP, conv, 102, 12, T0 + 1, on_msg, NULL), 0);
  assert_int_equal(last.seq, 2);
  assert_int_equal(store_msg_find_key(s, APP, conv, 102, 12, T0 + 2, on_msg, NULL), IMC_E_NOTFOUND);
  /* a resend of an old message (its content too, messaging-c2c-checks2.md §69) within the window is the old message */
  store_msg_append_t a = { 0 };
  a.m = (store_msg_t){ APP, conv, 0, 1, 2, T0 + 10, 555, 13, 0, 604800, "{\"MsgBody\":[3]}", 15, NULL, NULL };
  a.dedupe_since_s = T0;
  a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, 1);
  assert_int_equal(a.m.seq, 3);
  assert_int_equal(a.m.cseq, 103);
  /* a new message continues both old sequences */
  a.m.random = 99;
  a.m.time_s = T0 + 11;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, 0);
  assert_int_equal(a.m.seq, 4);
  assert_int_equal(a.useq_from, 2);
  assert_int_equal(a.useq_to, 4);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  /* the conversation rows: their last message derived from the log, the read mark kept */
  store_recent_t r;
  assert_int_equal(store_msg_recent_get(s, APP, 2, 1, &r), 0);
  assert_int_equal(r.last_seq, 4);
  assert_int_equal(r.read_seq, 2);
  /* the other app's rows with the same user numbers: apart from these */
  events = 0;
  assert_int_equal(store_msg_inbox_page(s, APP2, 2, 0, 10, 0, on_ev, NULL, &max_useq), 0);
  assert_int_equal(events, 1);
  assert_int_equal(max_useq, 1);
  assert_int_equal(store_msg_recent_get(s, APP2, 2, 1, &r), 0);
  assert_int_equal(r.last_seq, 1);
  assert_int_equal(r.read_seq, 1);
  assert_int_equal(store_msg_recent_get(s, APP2, 1, 2, &r), IMC_E_NOTFOUND);
  assert_int_equal(store_msg_find_key(s, APP2, conv, 201, 12, T0, on_msg, NULL), 0);
  assert_int_equal(last.sdkappid, APP2);
  assert_int_equal(store_msg_find_key(s, APP2, conv, 102, 12, T0 + 1, on_msg, NULL), IMC_E_NOTFOUND);
  store_close(s);
  /* reopened: the sequences are read back from the new layout */
  assert_int_equal(store_open(dir, &s), 0);
  a.m.random = 100;
  a.m.time_s = T0 + 12;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.m.seq, 5);
  assert_int_equal(a.useq_to, 5);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_old_rows_after_upgrade, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
