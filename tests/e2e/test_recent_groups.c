/* End-to-end: group conversations in recentcontact (rest-api-reference §2.7,
 * docs/decisions/groups-conversations.md §13), against the real server on a standing test
 * clock with get_list pages of 2:
 *  - get_list lists the user's groups (Type 2, GroupId) with the C2C
 *    conversations, by last message time, one second's C2C first (by peer)
 *    then groups (by number); the cursors page across both kinds with no
 *    skip and no repeat, also when a returned group moves up between pages;
 *  - a group without a message that counts (notices, NoLastMsg, imported
 *    without RecentContactFlag) is an empty conversation: listed only with
 *    AssistFlags bit 1, MsgTime 0; live rooms never;
 *  - recentcontact/delete Type 2 with ClearRamble 1, the service's own
 *    sample, deletes the conversation and leaves the group's history to the
 *    member (it was refused with 50002; decision §73);
 *  - a group the user left, or one dissolved, is not listed; a restart keeps
 *    the order (the last message is read back, not the group's first);
 *  - another app's groups are not listed;
 *  - a member pins its group conversation over WebSocket (pin with
 *    group_id): its other devices get a conv_pin event (replayed by sync),
 *    get_list (and the WebSocket conversations op) lists it in the pinned section in one pin order with C2C pins,
 *    across pages, also after a restart; a delete, leaving or dissolving
 *    drops the pin (a delete tells the devices: a conv_delete event with
 *    group_id); the limit of 50 counts both kinds;
 *  - past the retention a group's conversation is empty;
 *  - the group's last message deleted by its sender is no message: the
 *    conversation shows the one before it, group_history and group_sync
 *    leave its placeholder out, also one stored before the placeholder had
 *    its own flag;
 *  - LastMsgTime is the last message's, not a later notice's nor a NoLastMsg
 *    message's, before and after a restart.
 * Each test uses its own users and groups; the retention test moves the
 * clock, so it runs last. */
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

#include <sqlite3.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app, app2;
static char key[80], key2[80];
static char auth[160];
/* the test clock starts 10 days back, so the retention test's 7 days stay within the UserSigs' day */
static char start[16];
static const char *args[] = { "--test-clock", "--test-clock-start", start, "--msg-recent-page", "2", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  e2e_make_app(&srv, "china", &app2, key2);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  time_t back = time(NULL) - 10 * 86400;
  strftime(start, sizeof start, "%Y-%m-%d", gmtime(&back));
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}



static void group(const char *type, const char *gid, const char *owner, const char *members)
{
  v4_ok(call(G("create_group"), "{\"Type\":\"%s\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s\"%s%s%s}",
          type, gid, owner, members ? ",\"MemberList\":" : "", members ? members : "", ""));
}

static void gsend(const char *gid, const char *from, int random, const char *extra)
{
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d%s,\"MsgBody\":" TEXT("hi") "}",
          gid, from, random, extra));
}

static void csend(const char *from, const char *to, int random)
{
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("hi") "}",
          from, to, random));
}

/* One get_list page continuing the cursors c[0..3] (TimeStamp, StartIndex,
 * TopTimeStamp, TopStartIndex); the rows appended to seen as "C:peer" or
 * "G:group" ("," separated; "+" after a pinned one, "@time" when want_time);
 * returns CompleteFlag. */
static int page_of(uint32_t a, const char *k, const char *user, int flags, long long *c, char *seen, size_t cap,
                   int want_time)
{
  json_t *r = v4(srv.port, a, k, "recentcontact/get_list",
                 "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                 "\"TopStartIndex\":%lld,\"AssistFlags\":%d}", user, c[0], c[1], c[2], c[3], flags);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
    int grp = jint(it, "Type") == 2;
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s:%s%s", seen[0] ? "," : "", grp ? "G" : "C",
             jstr(it, grp ? "GroupId" : "To_Account"), jint(it, "TopFlag") ? "+" : "");
    if (grp && json_object_get(it, "To_Account")) fail_msg("a group row carries To_Account");
    if (want_time) snprintf(seen + strlen(seen), cap - strlen(seen), "@%lld", (long long)jint(it, "MsgTime"));
  }
  c[0] = jint(r, "TimeStamp");
  c[1] = jint(r, "StartIndex");
  c[2] = jint(r, "TopTimeStamp");
  c[3] = jint(r, "TopStartIndex");
  /* the cursors stay exact integers for a JavaScript backend */
  if (c[1] >= (1LL << 53) || c[3] >= (1LL << 53)) fail_msg("a cursor beyond 2^53: %s", json_dumps(r, JSON_COMPACT));
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

/* Every page of user's list (at most 40 pages). */
static void list_all(uint32_t a, const char *k, const char *user, int flags, char *seen, size_t cap)
{
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  for (int pages = 0; !page_of(a, k, user, flags, c, seen, cap, 0); pages++)
    if (pages == 40) fail_msg("get_list never completes; rows so far: %s", seen);
}

/* ---- both kinds, several pages ------------------------------------------------------------------ */
static void test_groups_listed_with_c2c(void **st)
{
  (void)st;
  static const char *const users[] = { "a_u", "a_p1", "a_p2", NULL };
  import_users(srv.port, app, key, users);
  group("Private", "a_g1", "a_u", NULL);
  group("Public", "a_g2", "a_p1", "[{\"Member_Account\":\"a_u\"}]");
  group("ChatRoom", "a_g3", "a_u", NULL);
  group("Private", "a_g4", "a_u", NULL); /* notices and a NoLastMsg message only: empty */
  group("AVChatRoom", "a_live", "a_u", NULL);    /* a live room: never a conversation */
  char seen[512];
  list_all(app, key, "a_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "");
  /* second 1: C2C with a_p1 and a_g1; second 2: a_g2 and C2C with a_p2; second 3: a_g3 */
  op_clock_advance(srv.port, auth, 10);
  csend("a_p1", "a_u", 1);
  gsend("a_g1", "a_u", 1, "");
  gsend("a_g4", "a_u", 1, ",\"SendMsgControl\":[\"NoLastMsg\"]"); /* does not count */
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"a_live\",\"Random\":1,\"MsgBody\":" TEXT("live") "}"));
  op_clock_advance(srv.port, auth, 1);
  gsend("a_g2", "a_p1", 1, "");
  csend("a_u", "a_p2", 2);
  op_clock_advance(srv.port, auth, 1);
  gsend("a_g3", "a_u", 1, "");
  list_all(app, key, "a_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:a_g3,C:a_p2,G:a_g2,C:a_p1,G:a_g1");
  /* AssistFlags bit 1: the empty group too (MsgTime 0, last), never the live room */
  list_all(app, key, "a_u", 2, seen, sizeof seen);
  assert_string_equal(seen, "G:a_g3,C:a_p2,G:a_g2,C:a_p1,G:a_g1,G:a_g4");
  /* pages of 2 with the times; then a returned group moves up between pages: the rest once each */
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  assert_int_equal(page_of(app, key, "a_u", 2, c, seen, sizeof seen, 1), 0);
  char want[256];
  long long now = c[0]; /* the cursor's time: the second of a_p2 */
  snprintf(want, sizeof want, "G:a_g3@%lld,C:a_p2@%lld", now + 1, now);
  assert_string_equal(seen, want);
  op_clock_advance(srv.port, auth, 1);
  gsend("a_g3", "a_u", 2, "");  /* returned already: it moves above the cursor */
  gsend("a_g2", "a_u", 2, "");  /* not returned yet: it moves above the cursor too */
  seen[0] = 0;
  int pages = 0;
  while (!page_of(app, key, "a_u", 2, c, seen, sizeof seen, 0)) assert_true(++pages < 10);
  assert_string_equal(seen, "C:a_p1,G:a_g1,G:a_g4");
  list_all(app, key, "a_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:a_g2,G:a_g3,C:a_p2,C:a_p1,G:a_g1");
  /* a_p1 sees a_g2 (a member) but not a_g1 (not one) */
  list_all(app, key, "a_p1", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:a_g2,C:a_u");
}

/* ---- leaving, dissolving, imports, a restart, another app ------------------------------------------ */
static long long clock_now(void)
{
  char out[4096];
  assert_int_equal(e2e_http(srv.port, "GET", "/operator/v1/clock", auth, NULL, out, sizeof out), 200);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  long long now = (long long)jint(j, "now_s");
  json_decref(j);
  return now;
}

static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* Restart the server, running while_stopped (NULL: nothing) on its stopped data; its test clock starts
 * again: set it where it was. */
static void restart_with(void (*while_stopped)(void))
{
  long long before = clock_now();
  assert_int_equal(e2e_server_stop(&srv), 0);
  if (while_stopped) while_stopped();
  assert_int_equal(e2e_server_start(&srv, args), 0);
  long long after = clock_now();
  if (before > after) op_clock_advance(srv.port, auth, before - after);
}

static void restart(void) { restart_with(NULL); }

static void import_msg(const char *gid, long long at, int flag)
{
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"%s\",\"RecentContactFlag\":%d,\"MsgList\":[{\"From_Account\":\"b_o\","
          "\"SendTime\":%lld,\"Random\":7,\"MsgBody\":" TEXT("old") "}]}", gid, flag, at));
}

static void test_left_dissolved_imported_restart(void **st)
{
  (void)st;
  static const char *const users[] = { "b_u", "b_o", NULL };
  import_users(srv.port, app, key, users);
  static const char *const others[] = { "b_u", NULL };
  import_users(srv.port, app2, key2, others);
  long long t0 = clock_now();
  group("Public", "b_left", "b_o", "[{\"Member_Account\":\"b_u\"}]");
  group("Public", "b_gone", "b_o", "[{\"Member_Account\":\"b_u\"}]");
  group("Public", "b_imp0", "b_o", "[{\"Member_Account\":\"b_u\"}]");
  group("Public", "b_imp1", "b_o", "[{\"Member_Account\":\"b_u\"}]");
  group("Private", "b_keep", "b_o", "[{\"Member_Account\":\"b_u\"}]");
  /* the same UserID in another app, owner of a group there */
  v4_ok(v4(srv.port, app2, key2, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"b_other\","
        "\"Owner_Account\":\"b_u\"}"));
  v4_ok(v4(srv.port, app2, key2, G("send_group_msg"), "{\"GroupId\":\"b_other\",\"From_Account\":\"b_u\",\"Random\":1,"
        "\"MsgBody\":" TEXT("x") "}"));
  op_clock_advance(srv.port, auth, 10);
  gsend("b_keep", "b_o", 1, "");
  op_clock_advance(srv.port, auth, 1);
  gsend("b_left", "b_o", 1, "");
  gsend("b_gone", "b_o", 1, "");
  /* imported messages: RecentContactFlag 1 counts them (with their SendTime), 0 does not */
  import_msg("b_imp1", t0 + 5, 1);
  import_msg("b_imp0", t0 + 5, 0);
  op_clock_advance(srv.port, auth, 1);
  char seen[512];
  list_all(app, key, "b_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:b_left,G:b_gone,G:b_keep,G:b_imp1");
  list_all(app2, key2, "b_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:b_other");
  /* a newer message moves b_keep up; b_u leaves b_left; b_gone is dissolved */
  gsend("b_keep", "b_o", 2, "");
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"b_left\",\"MemberToDel_Account\":[\"b_u\"]}"));
  v4_ok(call(G("destroy_group"), "{\"GroupId\":\"b_gone\"}"));
  list_all(app, key, "b_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:b_keep,G:b_imp1");
  /* after a restart the last messages are read back */
  restart();
  char want[256];
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  page_of(app, key, "b_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:b_keep@%lld,G:b_imp1@%lld", t0 + 12, t0 + 5);
  assert_string_equal(seen, want);
  list_all(app, key, "b_u", 2, seen, sizeof seen);
  assert_string_equal(seen, "G:b_keep,G:b_imp1,G:b_imp0");
}

/* ---- delete_group_msg_by_sender takes the last message away ------------------------------------- */
/* (it keeps the group's last seq as an empty recalled placeholder, so the counted message deleted here is
 * one below a NoLastMsg message) */
static void test_deleted_last_message(void **st)
{
  (void)st;
  static const char *const users[] = { "d_u", "d_o", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "d_g", "d_o", "[{\"Member_Account\":\"d_u\"}]");
  long long t = clock_now();
  gsend("d_g", "d_u", 1, "");
  op_clock_advance(srv.port, auth, 3);
  gsend("d_g", "d_o", 2, "");
  op_clock_advance(srv.port, auth, 2);
  gsend("d_g", "d_u", 3, ",\"SendMsgControl\":[\"NoLastMsg\"]"); /* the group's last seq: it stays, as a placeholder */
  char seen[256], want[128];
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  page_of(app, key, "d_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:d_g@%lld", t + 3);
  assert_string_equal(seen, want);
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"d_g\",\"Sender_Account\":\"d_o\"}"));
  memset(c, 0, sizeof c);
  seen[0] = 0;
  page_of(app, key, "d_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:d_g@%lld", t);
  assert_string_equal(seen, want);
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"d_g\",\"Sender_Account\":\"d_u\"}"));
  list_all(app, key, "d_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "");
}

/* The group's last message deleted by its sender: its placeholder is no message. get_list shows the
 * message before it (it showed the deleted one's time), group_history leaves it out (it showed an empty
 * recalled message of the sender), and a later counted message moves the conversation again. */
static void test_deleted_last_placeholder(void **st)
{
  (void)st;
  static const char *const users[] = { "dp_u", "dp_o", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "dp_g", "dp_o", "[{\"Member_Account\":\"dp_u\"}]");
  long long t = clock_now();
  gsend("dp_g", "dp_u", 1, "");
  op_clock_advance(srv.port, auth, 3);
  gsend("dp_g", "dp_o", 2, ""); /* the group's last message */
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"dp_g\",\"Sender_Account\":\"dp_o\"}"));
  char seen[256], want[128];
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  page_of(app, key, "dp_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:dp_g@%lld", t);
  assert_string_equal(seen, want);
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "dp_u", "Web"), 0);
  json_t *r = wsc_rpc(&w, "group_history", "\"group_id\":\"dp_g\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *m, *msgs = json_object_get(r, "msgs");
  size_t i;
  int n = 0;
  json_array_foreach(msgs, i, m) if (!json_object_get(m, "system")) {
    assert_string_equal(jstr(m, "from"), "dp_u");
    n++;
  }
  assert_int_equal(n, 1);
  json_decref(r);
  r = wsc_rpc(&w, "group_sync", "\"group_id\":\"dp_g\",\"after_seq\":0");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), jint(r, "last_seq")); /* the sync cursor passes the placeholder */
  json_array_foreach(json_object_get(r, "msgs"), i, m) assert_string_not_equal(jstr(m, "from"), "dp_o");
  json_decref(r);
  wsc_close(&w);
  op_clock_advance(srv.port, auth, 2);
  gsend("dp_g", "dp_u", 3, "");
  memset(c, 0, sizeof c);
  seen[0] = 0;
  page_of(app, key, "dp_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:dp_g@%lld", t + 5);
  assert_string_equal(seen, want);
}

/* Make the placeholders of the stopped server's data what delete_group_msg_by_sender stored before
 * STORE_GMSG_DELETED (256) existed: RECALLED only, with the same empty body. */
static void clear_deleted_bits(void)
{
  char path[400];
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE grp_msg SET flags=flags&~256 WHERE flags&256", NULL, NULL, NULL), SQLITE_OK);
  assert_true(sqlite3_changes(db) > 0);
  sqlite3_close(db);
}

/* Such an old placeholder is no message either: get_list shows the message before it, group_history
 * leaves it out, also as the only message of its sender. */
static void test_old_placeholder(void **st)
{
  (void)st;
  static const char *const users[] = { "q_u", "q_o", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "q_g", "q_o", "[{\"Member_Account\":\"q_u\"}]");
  long long t = clock_now();
  gsend("q_g", "q_u", 1, "");
  op_clock_advance(srv.port, auth, 3);
  gsend("q_g", "q_o", 2, "");
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"q_g\",\"Sender_Account\":\"q_o\"}"));
  restart_with(clear_deleted_bits);
  char seen[256], want[128];
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  page_of(app, key, "q_u", 0, c, seen, sizeof seen, 1);
  snprintf(want, sizeof want, "G:q_g@%lld", t);
  assert_string_equal(seen, want);
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "q_u", "Web"), 0);
  json_t *r = wsc_rpc(&w, "group_history", "\"group_id\":\"q_g\""), *m;
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  size_t i;
  json_array_foreach(json_object_get(r, "msgs"), i, m) assert_string_not_equal(jstr(m, "from"), "q_o");
  json_decref(r);
  wsc_close(&w);
}

/* LastMsgTime is the last message's second, not a later notice's: the same before and after a restart */
static long long last_msg_time(const char *gid)
{
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  long long t = (long long)jint(json_array_get(json_object_get(r, "GroupInfo"), 0), "LastMsgTime");
  json_decref(r);
  return t;
}

static void test_last_msg_time_notice_restart(void **st)
{
  (void)st;
  static const char *const users[] = { "n_u", "n_o", "n_x", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "n_g", "n_o", "[{\"Member_Account\":\"n_u\"}]");
  op_clock_advance(srv.port, auth, 2);
  long long t = clock_now();
  gsend("n_g", "n_u", 1, "");
  op_clock_advance(srv.port, auth, 3);
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"n_g\",\"MemberList\":[{\"Member_Account\":\"n_x\"}]}")); /* a notice */
  op_clock_advance(srv.port, auth, 2);
  gsend("n_g", "n_u", 2, ",\"SendMsgControl\":[\"NoLastMsg\"]");
  assert_int_equal(last_msg_time("n_g"), t);
  restart();
  assert_int_equal(last_msg_time("n_g"), t);
}

/* ---- recentcontact/delete Type 2 ------------------------------------------------------------------ */
static void test_delete_group_conversation(void **st)
{
  (void)st;
  static const char *const users[] = { "x_u", "x_o", "x_p", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "x_g1", "x_o", "[{\"Member_Account\":\"x_u\"}]");
  group("Public", "x_g2", "x_o", "[{\"Member_Account\":\"x_u\"}]");
  group("Public", "x_not", "x_o", NULL);
  group("AVChatRoom", "x_live", "x_u", NULL);
  op_clock_advance(srv.port, auth, 5);
  gsend("x_g1", "x_o", 1, "");
  gsend("x_g2", "x_o", 1, "");
  csend("x_p", "x_u", 1);
  op_clock_advance(srv.port, auth, 1);
  char seen[512];
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "C:x_p,G:x_g1,G:x_g2");
  /* refusals: 50002, nothing deleted */
  const char *bad[] = { "\"Type\":2", "\"Type\":2,\"ToGroupid\":\"x_none\"", "\"Type\":2,\"ToGroupid\":\"x_not\"",
                        "\"Type\":2,\"ToGroupid\":\"x_live\"", "\"Type\":2,\"ToGroupid\":\"x_g1\",\"ClearRamble\":2",
                        "\"Type\":3,\"ToGroupid\":\"x_g1\"" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_code(call("recentcontact/delete", "{\"From_Account\":\"x_u\",%s}", bad[i]), 50002);
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "C:x_p,G:x_g1,G:x_g2");
  /* the service's own sample for a group conversation: ClearRamble 1 (it was refused with 50002); the
   * conversation goes, the group's history is the group's and stays, also for this member (decision §73) */
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"x_u\",\"Type\":2,\"ToGroupid\":\"x_g1\",\"ClearRamble\":1}"), 0);
  list_all(app, key, "x_u", 2, seen, sizeof seen); /* not as an empty conversation either */
  assert_string_equal(seen, "C:x_p,G:x_g2");
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "x_u", "Web"), 0);
  json_t *h = wsc_rpc(&w, "group_history", "\"group_id\":\"x_g1\"");
  assert_non_null(h);
  assert_int_equal(jint(h, "code"), 0);
  msg_texts(json_object_get(h, "msgs"), "body", seen, sizeof seen);
  assert_string_equal(seen, "hi");
  json_decref(h);
  wsc_close(&w);
  /* ClearRamble 0, and absent, delete the same way (x_g2 below) */
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"x_u\",\"Type\":2,\"ToGroupid\":\"x_g1\",\"ClearRamble\":0}"), 0);
  list_all(app, key, "x_o", 0, seen, sizeof seen); /* the other members keep it */
  assert_string_equal(seen, "G:x_g1,G:x_g2");
  /* a notice or a NoLastMsg message does not bring it back; a restart keeps it deleted */
  gsend("x_g1", "x_o", 2, ",\"SendMsgControl\":[\"NoLastMsg\"]");
  v4_ok(call(G("modify_group_base_info"), "{\"GroupId\":\"x_g1\",\"Introduction\":\"i\"}"));
  restart();
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "C:x_p,G:x_g2");
  /* a newer message does */
  op_clock_advance(srv.port, auth, 1);
  gsend("x_g1", "x_o", 3, "");
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:x_g1,C:x_p,G:x_g2");
  /* leaving and joining again starts with nothing deleted */
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"x_u\",\"Type\":2,\"ToGroupid\":\"x_g2\"}"), 0);
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:x_g1,C:x_p");
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"x_g2\",\"MemberToDel_Account\":[\"x_u\"]}"));
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"x_g2\",\"MemberList\":[{\"Member_Account\":\"x_u\"}]}"));
  list_all(app, key, "x_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:x_g1,C:x_p,G:x_g2");
}

/* ---- pins of group conversations ------------------------------------------------------------------ */
static void wlogin(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *ev = wsc_sync_live(c);
  assert_non_null(ev);
  json_decref(ev);
}

static void pin_code(wsc_t *c, const char *what, int on, int code)
{
  json_t *r = wsc_rpc(c, "pin", "%s,\"pinned\":%s", what, on ? "true" : "false");
  assert_non_null(r);
  if (jint(r, "code") != code) fail_msg("pin %s: expected %d, got %s", what, code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void gpin(wsc_t *c, const char *gid, int on) { char w[96]; snprintf(w, sizeof w, "\"group_id\":\"%s\"", gid); pin_code(c, w, on, 0); }
static void cpin(wsc_t *c, const char *peer, int on) { char w[96]; snprintf(w, sizeof w, "\"peer\":\"%s\"", peer); pin_code(c, w, on, 0); }

/* The next conv_pin push of c as "G:group+" / "C:peer-" (pinned / unpinned), with its useq checked. */
static void next_pin_event(wsc_t *c, const char *want)
{
  json_t *e = wsc_push(c, "conv_pin", 5000);
  if (!e) fail_msg("no conv_pin event (wanted %s)", want);
  char got[96];
  const char *gid = jstr(e, "group_id");
  snprintf(got, sizeof got, "%s:%s%s", gid[0] ? "G" : "C", gid[0] ? gid : jstr(e, "peer"),
           json_is_true(json_object_get(e, "pinned")) ? "+" : "-");
  if (jint(e, "useq") <= 0) fail_msg("conv_pin without useq: %s", json_dumps(e, JSON_COMPACT));
  json_decref(e);
  assert_string_equal(got, want);
}

static void test_pin_groups(void **st)
{
  (void)st;
  static const char *const users[] = { "p_u", "p_o", "p_c1", "p_c2", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "p_g1", "p_o", "[{\"Member_Account\":\"p_u\"}]");
  group("Public", "p_g2", "p_o", "[{\"Member_Account\":\"p_u\"}]");
  group("Public", "p_g3", "p_o", "[{\"Member_Account\":\"p_u\"}]");
  group("Public", "p_g4", "p_o", "[{\"Member_Account\":\"p_u\"}]");
  group("Public", "p_not", "p_o", NULL);
  group("AVChatRoom", "p_live", "p_u", NULL);
  op_clock_advance(srv.port, auth, 5);
  gsend("p_g1", "p_o", 1, "");
  gsend("p_g2", "p_o", 1, "");
  gsend("p_g3", "p_o", 1, "");
  csend("p_c1", "p_u", 1);
  op_clock_advance(srv.port, auth, 1);
  gsend("p_g4", "p_o", 1, "");
  csend("p_c2", "p_u", 2);
  op_clock_advance(srv.port, auth, 1);
  wsc_t a, b;
  wlogin(&a, "p_u", "Web");
  wlogin(&b, "p_u", "Android");
  /* refusals, in the op's style: the group's codes, nothing pinned */
  pin_code(&a, "\"group_id\":\"p_none\"", 1, 10010);
  pin_code(&a, "\"group_id\":\"p_not\"", 1, 10007);
  pin_code(&a, "\"group_id\":\"p_live\"", 1, 10007);
  pin_code(&a, "\"group_id\":\"\"", 1, 10004);
  pin_code(&a, "\"group_id\":7", 1, 10004);
  pin_code(&a, "\"group_id\":\"p_g1\",\"peer\":\"p_c1\"", 1, 70402);
  json_t *r = wsc_rpc(&a, "pin", "\"group_id\":\"p_g1\",\"pinned\":1");
  assert_int_equal(jint(r, "code"), 70402);
  json_decref(r);
  char seen[512];
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "C:p_c2,G:p_g4,C:p_c1,G:p_g1,G:p_g2,G:p_g3");
  /* five pins in one second (the clock stands): latest first, both kinds in one pin order (a C2C pin after
   * group pins, a group pin after a C2C one) */
  cpin(&a, "p_c1", 1);
  gpin(&a, "p_g1", 1);
  gpin(&a, "p_g3", 1);
  cpin(&a, "p_c2", 1);
  gpin(&a, "p_g2", 1);
  /* the other device learns each, from its inbox (a useq), as a C2C pin */
  next_pin_event(&b, "C:p_c1+");
  next_pin_event(&b, "G:p_g1+");
  next_pin_event(&b, "G:p_g3+");
  next_pin_event(&b, "C:p_c2+");
  next_pin_event(&b, "G:p_g2+");
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "G:p_g2+,C:p_c2+,G:p_g3+,G:p_g1+,C:p_c1+,G:p_g4");
  /* without AssistFlags bit 0 pinned rows list by time, still TopFlag 1 */
  list_all(app, key, "p_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "C:p_c2+,G:p_g4,C:p_c1+,G:p_g1+,G:p_g2+,G:p_g3+");
  /* pages of 2 with the pinned ones paged (AssistFlags 5): the pinned cursor names a C2C row (p_c2), then a
   * group row (p_g1); an unpin of a returned row between pages skips nothing and repeats no pinned row (the
   * unpinned one moves among the others) */
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  assert_int_equal(page_of(app, key, "p_u", 5, c, seen, sizeof seen, 0), 0);
  assert_string_equal(seen, "G:p_g2+,C:p_c2+");
  cpin(&a, "p_c2", 0);
  next_pin_event(&b, "C:p_c2-");
  assert_int_equal(page_of(app, key, "p_u", 5, c, seen, sizeof seen, 0), 0);
  assert_string_equal(seen, "G:p_g2+,C:p_c2+,G:p_g3+,G:p_g1+");
  gpin(&a, "p_g3", 0);
  next_pin_event(&b, "G:p_g3-");
  while (!page_of(app, key, "p_u", 5, c, seen, sizeof seen, 0)) {}
  assert_string_equal(seen, "G:p_g2+,C:p_c2+,G:p_g3+,G:p_g1+,C:p_c1+,C:p_c2,G:p_g4,G:p_g3");
  /* the WebSocket conversations op lists both kinds, in the same order (tests/e2e/test_conv_list.c) */
  json_t *l = wsc_rpc(&a, "conversations", "%s", "");
  assert_non_null(l);
  assert_int_equal(json_array_size(json_object_get(l, "conversations")), 6);
  assert_string_equal(jstr(json_array_get(json_object_get(l, "conversations"), 0), "group_id"), "p_g2");
  json_decref(l);
  /* a restart keeps the pins and their order; a device that was away gets the events from sync */
  wsc_close(&a);
  wsc_close(&b);
  restart();
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "G:p_g2+,G:p_g1+,C:p_c1+,C:p_c2,G:p_g4,G:p_g3");
  assert_int_equal(wsc_login(&b, srv.port, app, key, "p_u", "Android"), 0);
  json_t *ev = wsc_sync_live(&b);
  assert_non_null(ev);
  json_t *e;
  size_t i;
  seen[0] = 0;
  json_array_foreach(ev, i, e) {
    if (strcmp(jstr(e, "type"), "conv_pin")) continue;
    const char *gid = jstr(e, "group_id");
    snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s%s", seen[0] ? "," : "", gid[0] ? gid : jstr(e, "peer"),
             json_is_true(json_object_get(e, "pinned")) ? "+" : "-");
  }
  json_decref(ev);
  assert_string_equal(seen, "p_c1+,p_g1+,p_g3+,p_c2+,p_g2+,p_c2-,p_g3-");
  /* a delete unpins (as a C2C delete does); pinning a deleted conversation lists it again, pinned */
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"p_u\",\"Type\":2,\"ToGroupid\":\"p_g1\"}"), 0);
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "G:p_g2+,C:p_c1+,C:p_c2,G:p_g4,G:p_g3");
  gpin(&b, "p_g1", 1);
  next_pin_event(&b, "G:p_g1+");
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "G:p_g1+,G:p_g2+,C:p_c1+,C:p_c2,G:p_g4,G:p_g3");
  /* leaving the group drops the pin: joining again starts unpinned; a dissolved group's pin goes with it */
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"p_g1\",\"MemberToDel_Account\":[\"p_u\"]}"));
  pin_code(&b, "\"group_id\":\"p_g1\"", 0, 10007);
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"p_g1\",\"MemberList\":[{\"Member_Account\":\"p_u\"}]}"));
  v4_ok(call(G("destroy_group"), "{\"GroupId\":\"p_g2\"}"));
  list_all(app, key, "p_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "C:p_c1+,C:p_c2,G:p_g4,G:p_g1,G:p_g3");
  wsc_close(&b);
}

/* A group conversation's delete (REST recentcontact/delete Type 2) unpins it and tells the user's devices:
 * a conv_delete event with group_id, from its inbox (a useq), pushed live and replayed by sync after the
 * conv_pin it undoes; a refused delete appends nothing. */
static void test_delete_tells_the_devices(void **st)
{
  (void)st;
  static const char *const users[] = { "d_u", "d_o", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "d_g1", "d_o", "[{\"Member_Account\":\"d_u\"}]");
  group("Public", "d_g2", "d_o", "[{\"Member_Account\":\"d_u\"}]");
  group("Public", "d_not", "d_o", NULL);
  group("Public", "d_g3", "d_o", "[{\"Member_Account\":\"d_u\"}]");
  gsend("d_g1", "d_o", 1, "");
  gsend("d_g2", "d_o", 1, "");
  wsc_t a, b, c;
  wlogin(&a, "d_u", "Web");
  wlogin(&b, "d_u", "Android");
  gpin(&a, "d_g1", 1);
  next_pin_event(&b, "G:d_g1+");
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"d_u\",\"Type\":2,\"ToGroupid\":\"d_not\"}"), 50002);
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"d_u\",\"Type\":2,\"ToGroupid\":\"d_g1\"}"), 0);
  expect_code(call("recentcontact/delete", "{\"From_Account\":\"d_u\",\"Type\":2,\"ToGroupid\":\"d_g2\"}"), 0);
  wsc_t *dev[] = { &a, &b };
  json_int_t useq[2] = { 0, 0 };
  for (int d = 0; d < 2; d++)
    for (int k = 0; k < 2; k++) {
      json_t *e = wsc_push(dev[d], "conv_delete", 5000);
      if (!e) fail_msg("device %d: no conv_delete event for the %s delete", d, k ? "second" : "first");
      assert_string_equal(jstr(e, "group_id"), k ? "d_g2" : "d_g1");
      assert_string_equal(jstr(e, "peer"), "");
      assert_true(json_is_false(json_object_get(e, "cleared")));
      assert_true(jint(e, "time") > 0);
      assert_true(jint(e, "useq") > useq[k ? 1 : 0] || d);
      if (!d) useq[k] = jint(e, "useq");
      else assert_int_equal(jint(e, "useq"), useq[k]); /* one event of the inbox, the same on every device */
      json_decref(e);
    }
  assert_true(useq[1] == useq[0] + 1); /* the refused delete took no useq */
  /* the WebSocket conv_delete with group_id does the same (refused: both names, a clear, not a member) */
  static const struct { const char *fields; int code; } bad[] = {
    { "\"group_id\":\"d_g3\",\"peer\":\"d_o\"", 70402 }, { "\"group_id\":\"d_g3\",\"clear\":true", 50002 },
    { "\"group_id\":\"d_not\"", 50002 },                    { "\"group_id\":\"\"", 10004 },
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    json_t *r = wsc_rpc(&a, "conv_delete", "%s", bad[k].fields);
    assert_non_null(r);
    if (jint(r, "code") != bad[k].code) fail_msg("%s: want %d: %s", bad[k].fields, bad[k].code, json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
  json_t *r = wsc_rpc(&a, "conv_delete", "\"group_id\":\"d_g3\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *e3 = wsc_push(&b, "conv_delete", 5000);
  if (!e3) fail_msg("no conv_delete event for the WebSocket delete");
  assert_string_equal(jstr(e3, "group_id"), "d_g3");
  assert_int_equal(jint(e3, "useq"), useq[1] + 1);
  json_decref(e3);
  /* a device that was away replays the pin, then the deletes, in order */
  assert_int_equal(wsc_login(&c, srv.port, app, key, "d_u", "iPhone"), 0);
  json_t *ev = wsc_sync_live(&c);
  assert_non_null(ev);
  char seen[256] = "";
  json_t *e;
  size_t i;
  json_array_foreach(ev, i, e) {
    const char *t = jstr(e, "type");
    if (strcmp(t, "conv_pin") && strcmp(t, "conv_delete")) continue;
    snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s:%s%s", seen[0] ? "," : "", t, jstr(e, "group_id"),
             json_is_true(json_object_get(e, "pinned")) ? "+" : "");
  }
  json_decref(ev);
  assert_string_equal(seen, "conv_pin:d_g1+,conv_delete:d_g1,conv_delete:d_g2,conv_delete:d_g3");
  wsc_close(&a);
  wsc_close(&b);
  wsc_close(&c);
}

/* The limit of 50 pinned conversations counts both kinds, in the writer job that pins: two pins of
 * different kinds racing at 49 do not both pass; leaving a pinned group makes room. */
static void test_pin_limit_both_kinds(void **st)
{
  (void)st;
  char users[52][16];
  for (int i = 0; i < 52; i++) {
    snprintf(users[i], sizeof users[i], i ? "l_peer%02d" : "l_u", i);
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", users[i]));
  }
  group("Public", "l_g1", "l_peer01", "[{\"Member_Account\":\"l_u\"}]");
  group("Public", "l_g2", "l_peer01", "[{\"Member_Account\":\"l_u\"}]");
  wsc_t me;
  wlogin(&me, "l_u", "Web");
  for (int i = 1; i <= 48; i++) cpin(&me, users[i], 1);
  gpin(&me, "l_g1", 1); /* 49 */
  /* a C2C pin and a group pin in one TCP segment: both reach the server in the same loop turn */
  char f1[128], f2[128];
  int n1 = snprintf(f1, sizeof f1, "{\"id\":9001,\"op\":\"pin\",\"peer\":\"%s\",\"pinned\":true}", users[50]);
  int n2 = snprintf(f2, sizeof f2, "{\"id\":9002,\"op\":\"pin\",\"group_id\":\"l_g2\",\"pinned\":true}");
  unsigned char buf[512];
  size_t off = 0;
  const char *fs[2] = { f1, f2 };
  int ns[2] = { n1, n2 };
  for (int k = 0; k < 2; k++) {
    buf[off++] = 0x81;
    buf[off++] = (unsigned char)(0x80 | ns[k]); /* < 126 bytes, masked with a zero key */
    memset(buf + off, 0, 4);
    off += 4;
    memcpy(buf + off, fs[k], (size_t)ns[k]);
    off += (size_t)ns[k];
  }
  assert_int_equal(e2e_send(me.fd, buf, off), 0);
  int id1 = 9001, id2 = 9002;
  json_t *r1 = wsc_take(&me, match_id, &id1, 5000), *r2 = wsc_take(&me, match_id, &id2, 5000);
  assert_non_null(r1);
  assert_non_null(r2);
  int c1 = (int)jint(r1, "code"), c2 = (int)jint(r2, "code");
  json_decref(r1);
  json_decref(r2);
  if (!((c1 == 0 && c2 == 51012) || (c1 == 51012 && c2 == 0))) fail_msg("pins answered %d and %d", c1, c2);
  /* at 50: neither kind passes; re-pinning a pinned one does */
  pin_code(&me, "\"peer\":\"l_peer51\"", 1, 51012);
  pin_code(&me, c2 ? "\"group_id\":\"l_g2\"" : "\"peer\":\"l_peer50\"", 1, 51012);
  gpin(&me, "l_g1", 1);
  char seen[4096];
  list_all(app, key, "l_u", 3, seen, sizeof seen);
  int pinned = 0;
  for (const char *p = seen; (p = strchr(p, '+')); p++) pinned++;
  assert_int_equal(pinned, 50);
  /* leaving a pinned group makes room for a C2C pin */
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"l_g1\",\"MemberToDel_Account\":[\"l_u\"]}"));
  cpin(&me, "l_peer51", 1);
  pin_code(&me, "\"peer\":\"l_peer49\"", 1, 51012);
  wsc_close(&me);
}

/* ---- retention ------------------------------------------------------------------------------------ */
#define RETENTION 604800 /* the new app's edition: 7 history days (PLAN_L_HISTORY_DAYS) */
static void test_retention_empties(void **st)
{
  (void)st;
  static const char *const users[] = { "r_u", NULL };
  import_users(srv.port, app, key, users);
  group("Private", "r_old", "r_u", NULL);
  group("Private", "r_new", "r_u", NULL);
  op_clock_advance(srv.port, auth, 5);
  gsend("r_old", "r_u", 1, "");
  op_clock_advance(srv.port, auth, 100);
  gsend("r_new", "r_u", 1, "");
  char seen[512];
  list_all(app, key, "r_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:r_new,G:r_old");
  /* r_old's message is one second past the retention, r_new's within it */
  op_clock_advance(srv.port, auth, RETENTION - 100 + 1);
  list_all(app, key, "r_u", 0, seen, sizeof seen);
  assert_string_equal(seen, "G:r_new");
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  assert_int_equal(page_of(app, key, "r_u", 2, c, seen, sizeof seen, 1), 1);
  char want[128];
  snprintf(want, sizeof want, "G:r_new@%lld,G:r_old@0", clock_now() - RETENTION + 99);
  assert_string_equal(seen, want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_groups_listed_with_c2c),
    cmocka_unit_test(test_left_dissolved_imported_restart),
    cmocka_unit_test(test_deleted_last_message),
    cmocka_unit_test(test_deleted_last_placeholder),
    cmocka_unit_test(test_old_placeholder),
    cmocka_unit_test(test_last_msg_time_notice_restart),
    cmocka_unit_test(test_delete_group_conversation),
    cmocka_unit_test(test_pin_groups),
    cmocka_unit_test(test_pin_limit_both_kinds),
    cmocka_unit_test(test_delete_tells_the_devices),
    cmocka_unit_test(test_retention_empties),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
