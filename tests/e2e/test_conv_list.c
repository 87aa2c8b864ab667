/* End-to-end: the conversation list of both kinds (src/im/conv.h) through
 * the WebSocket conversations op and REST recentcontact/get_list, against
 * the real server on a standing test clock with get_list pages of 3:
 *  - conversations lists the user's group conversations with its C2C ones
 *    (group_id, last_seq, last_time, read_seq, unread, pinned), by the rules
 *    of get_list: pins of both kinds in one order first, a deleted group
 *    left out until a message that counts, a group without one left out
 *    unless pinned, live rooms never; unread follows group_read and counts
 *    a NoLastMsg message after the last listed one, of either kind;
 *  - conversations pages (limit, cursor) across both kinds for a user in
 *    more groups than a page, with no skip and no repeat, also when a
 *    returned conversation moves up between pages; get_list pages the same
 *    list the same way;
 *  - a get_list page is one read: while one device pins a C2C conversation,
 *    then a group, then unpins the group, then the C2C one, over and over,
 *    no page shows the group pinned without the C2C one (two reads, the C2C
 *    list before the groups, could). */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *args[] = { "--test-clock", "--msg-recent-page", "3", "--rest-rate-limit", "100000", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}



static void group(const char *type, const char *gid, const char *owner, const char *members)
{
  v4_ok(call(G("create_group"), "{\"Type\":\"%s\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s\"%s%s}", type,
          gid, owner, members ? ",\"MemberList\":" : "", members ? members : ""));
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

static void wlogin(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *ev = wsc_sync_live(c);
  assert_non_null(ev);
  json_decref(ev);
}

static void rpc_ok(wsc_t *c, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("%s %s: %s", op, fields, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* One conversations page after cursor (NULL: the first), limit 0: none given; the items appended to seen
 * as "C:peer" / "G:group" ("+" pinned, "=unread" when want_unread); the reply's cursor into cursor; returns
 * complete. */
static int ws_page(wsc_t *c, int limit, char *cursor, size_t ccap, char *seen, size_t cap, int want_unread)
{
  char fields[512] = "";
  if (limit) snprintf(fields, sizeof fields, "\"limit\":%d", limit);
  if (cursor && cursor[0])
    snprintf(fields + strlen(fields), sizeof fields - strlen(fields), "%s\"cursor\":%s", fields[0] ? "," : "", cursor);
  json_t *r = wsc_rpc(c, "conversations", "%s", fields);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("conversations: %s", json_dumps(r, JSON_COMPACT));
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, it) {
    json_t *gid = json_object_get(it, "group_id");
    if (gid && json_object_get(it, "peer")) fail_msg("an item with peer and group_id: %s", json_dumps(it, JSON_COMPACT));
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s:%s%s", seen[0] ? "," : "", gid ? "G" : "C",
             gid ? json_string_value(gid) : jstr(it, "peer"), json_is_true(json_object_get(it, "pinned")) ? "+" : "");
    if (want_unread) snprintf(seen + strlen(seen), cap - strlen(seen), "=%lld", (long long)jint(it, "unread"));
    if (!json_is_integer(json_object_get(it, "last_time")) || !json_is_integer(json_object_get(it, "read_seq")))
      fail_msg("an item without last_time or read_seq: %s", json_dumps(it, JSON_COMPACT));
  }
  if (cursor) {
    char *t = json_dumps(json_object_get(r, "cursor"), JSON_COMPACT);
    assert_non_null(t);
    snprintf(cursor, ccap, "%s", t);
    free(t);
  }
  int done = json_is_true(json_object_get(r, "complete"));
  json_decref(r);
  return done;
}

/* ---- groups in the WebSocket list ------------------------------------------------------------------- */
static void test_ws_lists_groups(void **st)
{
  (void)st;
  static const char *const users[] = { "w_u", "w_o", "w_c1", "w_c2", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "w_g1", "w_o", "[{\"Member_Account\":\"w_u\"}]");
  group("Public", "w_g2", "w_o", "[{\"Member_Account\":\"w_u\"}]");
  group("Public", "w_del", "w_o", "[{\"Member_Account\":\"w_u\"}]");
  group("Public", "w_empty", "w_o", "[{\"Member_Account\":\"w_u\"}]"); /* notices only */
  group("Public", "w_not", "w_o", NULL);
  group("AVChatRoom", "w_live", "w_u", NULL);
  op_clock_advance(srv.port, auth, 5);
  gsend("w_g1", "w_o", 1, "");
  gsend("w_g1", "w_o", 2, "");
  csend("w_c1", "w_u", 1);
  gsend("w_del", "w_o", 1, "");
  gsend("w_not", "w_o", 1, "");
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"w_live\",\"Random\":1,\"MsgBody\":" TEXT("live") "}"));
  op_clock_advance(srv.port, auth, 1);
  gsend("w_g2", "w_u", 1, ""); /* the user's own: not unread */
  csend("w_u", "w_c2", 1);
  v4_ok(call("recentcontact/delete", "{\"From_Account\":\"w_u\",\"Type\":2,\"ToGroupid\":\"w_del\"}"));
  wsc_t a;
  wlogin(&a, "w_u");
  char seen[1024] = "";
  assert_true(ws_page(&a, 0, NULL, 0, seen, sizeof seen, 1));
  /* one second: C2C by peer, then groups by number; the deleted and the empty group and the live room left out */
  assert_string_equal(seen, "C:w_c2=0,G:w_g2=0,C:w_c1=1,G:w_g1=2");
  /* the fields of a group item */
  json_t *r = wsc_rpc(&a, "conversations", "%s", "");
  json_t *g1 = json_array_get(json_object_get(r, "conversations"), 3);
  assert_string_equal(jstr(g1, "group_id"), "w_g1");
  assert_true(jint(g1, "last_seq") > jint(g1, "read_seq"));
  assert_int_equal(jint(g1, "last_time"), jint(json_array_get(json_object_get(r, "conversations"), 2), "last_time"));
  assert_true(json_is_false(json_object_get(g1, "pinned")));
  json_int_t last = jint(g1, "last_seq");
  json_decref(r);
  /* group_read moves the unread count */
  char f[96];
  snprintf(f, sizeof f, "\"group_id\":\"w_g1\",\"seq\":%lld", (long long)last - 1);
  rpc_ok(&a, "group_read", f);
  seen[0] = 0;
  ws_page(&a, 0, NULL, 0, seen, sizeof seen, 1);
  assert_string_equal(seen, "C:w_c2=0,G:w_g2=0,C:w_c1=1,G:w_g1=1");
  /* pins of both kinds in one order, latest first; a pinned empty group is listed; a message brings the
   * deleted group back */
  rpc_ok(&a, "pin", "\"group_id\":\"w_g1\",\"pinned\":true");
  rpc_ok(&a, "pin", "\"peer\":\"w_c1\",\"pinned\":true");
  rpc_ok(&a, "pin", "\"group_id\":\"w_empty\",\"pinned\":true");
  op_clock_advance(srv.port, auth, 1);
  gsend("w_del", "w_o", 2, "");
  seen[0] = 0;
  ws_page(&a, 0, NULL, 0, seen, sizeof seen, 0);
  assert_string_equal(seen, "G:w_empty+,C:w_c1+,G:w_g1+,G:w_del,C:w_c2,G:w_g2");
  /* REST lists the same (the empty one with AssistFlags bit 1 only) */
  r = call("recentcontact/get_list", "{\"From_Account\":\"w_u\",\"AssistFlags\":1}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "SessionItem"), 0), "To_Account"), "w_c1");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "SessionItem"), 1), "GroupId"), "w_g1");
  json_decref(r);
  /* leaving a group takes it out */
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"w_g2\",\"MemberToDel_Account\":[\"w_u\"]}"));
  seen[0] = 0;
  ws_page(&a, 0, NULL, 0, seen, sizeof seen, 0);
  assert_string_equal(seen, "G:w_empty+,C:w_c1+,G:w_g1+,G:w_del,C:w_c2");
  /* a bad cursor or limit is refused */
  r = wsc_rpc(&a, "conversations", "%s", "\"cursor\":{\"time\":\"x\"}");
  assert_int_equal(jint(r, "code"), 70402);
  json_decref(r);
  r = wsc_rpc(&a, "conversations", "%s", "\"limit\":0");
  assert_int_equal(jint(r, "code"), 70402);
  json_decref(r);
  wsc_close(&a);
}

/* A NoLastMsg message after the last listed one is unread: conversations counts it, as
 * get_c2c_unread_msg_num and group_list do (before: the count stopped at last_seq, leaving it out). */
static void test_no_last_msg_is_unread(void **st)
{
  (void)st;
  static const char *const users[] = { "n_u", "n_o", "n_c", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "n_g", "n_o", "[{\"Member_Account\":\"n_u\"}]");
  op_clock_advance(srv.port, auth, 5);
  csend("n_c", "n_u", 1);
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"n_c\",\"To_Account\":\"n_u\",\"MsgRandom\":2,"
          "\"SendMsgControl\":[\"NoLastMsg\"],\"MsgBody\":" TEXT("quiet") "}"));
  op_clock_advance(srv.port, auth, 1);
  gsend("n_g", "n_o", 1, "");
  gsend("n_g", "n_o", 2, ",\"SendMsgControl\":[\"NoLastMsg\"]");
  json_t *r = call("openim/get_c2c_unread_msg_num", "{\"To_Account\":\"n_u\",\"Peer_Account\":[\"n_c\"]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 2);
  json_decref(r);
  wsc_t a;
  wlogin(&a, "n_u");
  char seen[256] = "";
  assert_true(ws_page(&a, 0, NULL, 0, seen, sizeof seen, 1));
  assert_string_equal(seen, "G:n_g=2,C:n_c=2");
  r = wsc_rpc(&a, "conversations", "%s", "");
  json_t *c = json_array_get(json_object_get(r, "conversations"), 1);
  assert_int_equal(jint(c, "last_seq"), 1); /* the NoLastMsg message is not the last one */
  json_decref(r);
  wsc_close(&a);
}

/* ---- more groups than a page ------------------------------------------------------------------------ */
static void test_pages_many_groups(void **st)
{
  (void)st;
  static const char *const users[] = { "m_u", "m_o", "m_c1", "m_c2", NULL };
  import_users(srv.port, app, key, users);
  char gid[16];
  for (int i = 1; i <= 8; i++) {
    snprintf(gid, sizeof gid, "m_g%d", i);
    group("Public", gid, "m_o", "[{\"Member_Account\":\"m_u\"}]");
  }
  op_clock_advance(srv.port, auth, 5);
  /* seconds 1..8: m_g1..m_g8, C2C with m_c1 in second 3, m_c2 in second 6 */
  for (int i = 1; i <= 8; i++) {
    snprintf(gid, sizeof gid, "m_g%d", i);
    gsend(gid, "m_o", 1, "");
    if (i == 3) csend("m_c1", "m_u", 1);
    if (i == 6) csend("m_c2", "m_u", 1);
    op_clock_advance(srv.port, auth, 1);
  }
  wsc_t a;
  wlogin(&a, "m_u");
  rpc_ok(&a, "pin", "\"group_id\":\"m_g2\",\"pinned\":true");
  rpc_ok(&a, "pin", "\"peer\":\"m_c1\",\"pinned\":true");
  char seen[1024] = "", cursor[256] = "";
  /* pages of 2; between the second and the third page a returned group (m_g7) and a returned pinned C2C
   * one (m_c1) get a message: every other one once, none twice */
  assert_int_equal(ws_page(&a, 2, cursor, sizeof cursor, seen, sizeof seen, 0), 0);
  assert_string_equal(seen, "C:m_c1+,G:m_g2+");
  assert_int_equal(ws_page(&a, 2, cursor, sizeof cursor, seen, sizeof seen, 0), 0);
  assert_string_equal(seen, "C:m_c1+,G:m_g2+,G:m_g8,G:m_g7");
  gsend("m_g7", "m_o", 2, "");
  csend("m_c1", "m_u", 2);
  int pages = 0;
  while (!ws_page(&a, 2, cursor, sizeof cursor, seen, sizeof seen, 0)) assert_true(++pages < 10);
  assert_string_equal(seen, "C:m_c1+,G:m_g2+,G:m_g8,G:m_g7,C:m_c2,G:m_g6,G:m_g5,G:m_g4,G:m_g3,G:m_g1");
  /* the whole list: the moved group first among the others */
  seen[0] = 0;
  assert_true(ws_page(&a, 0, NULL, 0, seen, sizeof seen, 0));
  assert_string_equal(seen, "C:m_c1+,G:m_g2+,G:m_g7,G:m_g8,C:m_c2,G:m_g6,G:m_g5,G:m_g4,G:m_g3,G:m_g1");
  /* get_list pages of 3 over the same list */
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  for (pages = 0;; pages++) {
    assert_true(pages < 10);
    json_t *r = call("recentcontact/get_list",
                     "{\"From_Account\":\"m_u\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                     "\"TopStartIndex\":%lld,\"AssistFlags\":1}", c[0], c[1], c[2], c[3]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *it;
    size_t i;
    assert_true(json_array_size(json_object_get(r, "SessionItem")) <= 3);
    json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
      int grp = jint(it, "Type") == 2;
      snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s:%s%s", seen[0] ? "," : "", grp ? "G" : "C",
               jstr(it, grp ? "GroupId" : "To_Account"), jint(it, "TopFlag") ? "+" : "");
    }
    c[0] = jint(r, "TimeStamp");
    c[1] = jint(r, "StartIndex");
    c[2] = jint(r, "TopTimeStamp");
    c[3] = jint(r, "TopStartIndex");
    int done = (int)jint(r, "CompleteFlag");
    json_decref(r);
    if (done) break;
  }
  assert_string_equal(seen, "C:m_c1+,G:m_g2+,G:m_g7,G:m_g8,C:m_c2,G:m_g6,G:m_g5,G:m_g4,G:m_g3,G:m_g1");
  wsc_close(&a);
}

/* ---- one read per page ------------------------------------------------------------------------------ */
/* Send a pin without waiting for its reply (id). */
static void pin_nowait(wsc_t *c, int id, const char *what, int on)
{
  char frame[256];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"pin\",%s,\"pinned\":%s}", id, what, on ? "true" : "false");
  assert_int_equal(e2e_ws_send_text(c->fd, frame), 0);
}

static void test_page_is_one_read(void **st)
{
  (void)st;
  static const char *const users[] = { "r_u", "r_o", "r_p", NULL };
  import_users(srv.port, app, key, users);
  group("Public", "r_g", "r_o", "[{\"Member_Account\":\"r_u\"}]");
  /* enough C2C conversations that reading them takes a while */
  char peer[16];
  for (int i = 0; i < 60; i++) {
    snprintf(peer, sizeof peer, "r_x%d", i);
    const char *one[] = { peer, NULL };
    import_users(srv.port, app, key, one);
    csend(peer, "r_u", 1);
  }
  op_clock_advance(srv.port, auth, 1);
  gsend("r_g", "r_o", 1, "");
  csend("r_p", "r_u", 1);
  wsc_t a;
  wlogin(&a, "r_u");
  int bad = 0, lists = 0;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0; round < 400 && !bad; round++) {
    int id = 1000 + round * 4;
    /* in this order, so at any one time: the group pinned => the C2C one pinned */
    pin_nowait(&a, id, "\"peer\":\"r_p\"", 1);
    pin_nowait(&a, id + 1, "\"group_id\":\"r_g\"", 1);
    pin_nowait(&a, id + 2, "\"group_id\":\"r_g\"", 0);
    pin_nowait(&a, id + 3, "\"peer\":\"r_p\"", 0);
    for (int k = 0; k < 2 && !bad; k++) {
      json_t *r = call("recentcontact/get_list", "{\"From_Account\":\"r_u\",\"AssistFlags\":1}");
      assert_int_equal(jint(r, "ErrorCode"), 0);
      int gpin = 0, cpin = 0;
      json_t *it;
      size_t i;
      json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
        if (!jint(it, "TopFlag")) continue;
        if (jint(it, "Type") == 2) gpin = 1;
        else cpin = 1;
      }
      if (gpin && !cpin) bad = 1;
      json_decref(r);
      lists++;
    }
    for (int k = 0; k < 4; k++) {
      int want = id + k;
      json_t *r = wsc_take(&a, match_id, &want, 5000);
      assert_non_null(r);
      assert_int_equal(jint(r, "code"), 0);
      json_decref(r);
    }
    while (a.n) { /* the conv_pin events */
      json_decref(a.stash[--a.n]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec - t0.tv_sec > 8) break;
  }
  if (bad) fail_msg("a get_list page showed the group pinned without the C2C conversation pinned before it (%d lists)", lists);
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ws_lists_groups),
    cmocka_unit_test(test_no_last_msg_is_unread),
    cmocka_unit_test(test_pages_many_groups),
    cmocka_unit_test(test_page_is_one_read),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
