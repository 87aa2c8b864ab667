/* End-to-end: pins of conversations of both kinds (WebSocket pin, docs/protocol.md;
 * REST recentcontact/get_list TopTimeStamp/TopStartIndex, docs/rest-api-conversations.md;
 * docs/decisions/messaging-c2c-conversations.md §35, §38), against the real server
 * on a standing test clock (every pin in one second) with get_list pages of 1
 * (AssistFlags 5 where pinned rows span pages: pinned first, paged):
 *  - a pin order is never given twice: after the latest pins are unpinned,
 *    a pin takes an order above every order given so far (C2C and group
 *    pins share the order), also after a restart, so a cursor naming a
 *    returned row never lists a returned row again;
 *  - walks of get_list pages with pins and unpins between every two pages
 *    list no pinned row twice and skip no row that stayed pinned;
 *  - the 50-pin count leaves out deleted peers, the row pinned again and
 *    unpinned rows, and counts group pins;
 *  - unpinning a conversation that is not pinned changes nothing and
 *    pushes nothing; pins of what is no conversation are refused; a pin
 *    after a delete lists the conversation again, an unpin then leaves it
 *    deleted.
 * Each test uses its own users and groups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
/* the test clock starts a day back, so that after a restart it can be set again to where it stood */
static char start[16];
static const char *args[] = { "--test-clock", "--test-clock-start", start, "--msg-recent-page", "1", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  time_t back = time(NULL) - 86400;
  strftime(start, sizeof start, "%Y-%m-%d", gmtime(&back));
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


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

/* Restart the server; its test clock starts again: set it where it was (the pins' second). */
static void restart(void)
{
  long long before = clock_now();
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  long long after = clock_now();
  if (before > after) {
    char body[64], out[4096];
    snprintf(body, sizeof body, "{\"advance_s\":%lld}", before - after);
    assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/clock", auth, body, out, sizeof out), 200);
  }
  assert_true(clock_now() == before);
}

/* users[0] gets one message from each other user and is a member of each group, which gets a message. */
static void world(const char *const *users, const char *const *groups)
{
  import_users(srv.port, app, key, users);
  for (int i = 1; users[i]; i++)
    v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("hi") "}",
            users[i], users[0], i));
  for (int i = 0; groups && groups[i]; i++) {
    v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s\","
            "\"MemberList\":[{\"Member_Account\":\"%s\"}]}", groups[i], users[1], users[0]));
    v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":1,\"MsgBody\":" TEXT("hi") "}",
            groups[i], users[1]));
  }
}

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

/* Pin (on) or unpin a conversation named "C:peer" or "G:group". */
static void pin(wsc_t *c, const char *name, int on)
{
  char w[96];
  snprintf(w, sizeof w, "\"%s\":\"%s\"", name[0] == 'G' ? "group_id" : "peer", name + 2);
  pin_code(c, w, on, 0);
}

/* One get_list page (AssistFlags flags) continuing the cursors c[0..3]; its rows appended to seen as
 * "C:peer" or "G:group", "+" after a pinned one; returns CompleteFlag. */
static int page_of(const char *user, int flags, long long *c, char *seen, size_t cap)
{
  json_t *r = call("recentcontact/get_list", "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,"
                   "\"TopTimeStamp\":%lld,\"TopStartIndex\":%lld,\"AssistFlags\":%d}", user, c[0], c[1], c[2], c[3], flags);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
    int grp = jint(it, "Type") == 2;
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s:%s%s", seen[0] ? "," : "", grp ? "G" : "C",
             jstr(it, grp ? "GroupId" : "To_Account"), jint(it, "TopFlag") ? "+" : "");
  }
  c[0] = jint(r, "TimeStamp");
  c[1] = jint(r, "StartIndex");
  c[2] = jint(r, "TopTimeStamp");
  c[3] = jint(r, "TopStartIndex");
  if (c[1] >= (1LL << 53) || c[3] >= (1LL << 53)) fail_msg("a cursor beyond 2^53: %s", json_dumps(r, JSON_COMPACT));
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

static void list_all(const char *user, int flags, char *seen, size_t cap)
{
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  for (int pages = 0; !page_of(user, flags, c, seen, cap); pages++)
    if (pages == 60) fail_msg("get_list never completes; rows so far: %s", seen);
}

/* ---- a pin order is never given twice ------------------------------------------------------------- */
/* Three C2C pins in one second (orders 1, 2, 3); pages of 1 return n_c then n_b. With the three unpinned,
 * a pin of n_c took order 1 again (one above the highest pinned: none), below the cursor's order 2, and
 * the next page listed n_c a second time. It now takes order 4, above the cursor: not listed again in
 * this walk (a row pinned again moves above the cursor, docs/rest-api-conversations.md). */
static void test_c2c_order_not_reused(void **st)
{
  (void)st;
  static const char *const users[] = { "n_u", "n_a", "n_b", "n_c", NULL };
  world(users, NULL);
  wsc_t w;
  wlogin(&w, "n_u", "Web");
  pin(&w, "C:n_a", 1);
  pin(&w, "C:n_b", 1);
  pin(&w, "C:n_c", 1);
  char seen[512] = "";
  long long c[4] = { 0, 0, 0, 0 };
  assert_int_equal(page_of("n_u", 5, c, seen, sizeof seen), 0);
  assert_int_equal(page_of("n_u", 5, c, seen, sizeof seen), 0);
  assert_string_equal(seen, "C:n_c+,C:n_b+");
  pin(&w, "C:n_c", 0);
  pin(&w, "C:n_b", 0);
  pin(&w, "C:n_a", 0);
  pin(&w, "C:n_c", 1);
  while (!page_of("n_u", 5, c, seen, sizeof seen)) {}
  /* the unpinned ones come again among the others (by peer within the second) */
  assert_string_equal(seen, "C:n_c+,C:n_b+,C:n_a,C:n_b");
  list_all("n_u", 5, seen, sizeof seen);
  assert_string_equal(seen, "C:n_c+,C:n_a,C:n_b");
  wsc_close(&w);
}

/* Both kinds share the order, and the order survives a restart: pages return m_g (a group, order 3) then
 * m_c (order 2); with all three unpinned and the server restarted, a pin of m_g took order 1 (below the
 * cursor's 2) and was listed again. */
static void test_group_order_not_reused_restart(void **st)
{
  (void)st;
  static const char *const users[] = { "m_u", "m_a", "m_c", NULL };
  static const char *const groups[] = { "m_g", NULL };
  world(users, groups);
  wsc_t w;
  wlogin(&w, "m_u", "Web");
  pin(&w, "C:m_a", 1);
  pin(&w, "C:m_c", 1);
  pin(&w, "G:m_g", 1);
  char seen[512] = "";
  long long c[4] = { 0, 0, 0, 0 };
  assert_int_equal(page_of("m_u", 5, c, seen, sizeof seen), 0);
  assert_int_equal(page_of("m_u", 5, c, seen, sizeof seen), 0);
  assert_string_equal(seen, "G:m_g+,C:m_c+");
  pin(&w, "G:m_g", 0);
  pin(&w, "C:m_c", 0);
  pin(&w, "C:m_a", 0);
  wsc_close(&w);
  restart();
  wlogin(&w, "m_u", "Web");
  pin(&w, "G:m_g", 1);
  while (!page_of("m_u", 5, c, seen, sizeof seen)) {}
  assert_string_equal(seen, "G:m_g+,C:m_c+,C:m_a,C:m_c");
  /* and a C2C pin after the group's takes an order above it too: listed first */
  pin(&w, "C:m_a", 1);
  list_all("m_u", 5, seen, sizeof seen);
  assert_string_equal(seen, "C:m_a+,G:m_g+,C:m_c");
  wsc_close(&w);
}

/* Walks of pages of 1 over eight pinned conversations of both kinds, with pin changes between every two
 * pages (unpins and re-pins of returned rows, of rows not returned yet, of the latest pins): in each walk
 * no pinned row is listed twice and every row that stayed pinned through the walk untouched is listed. */
static void test_walks_with_pin_changes(void **st)
{
  (void)st;
  static const char *const users[] = { "w_u", "w_1", "w_2", "w_3", "w_4", "w_5", "w_6", NULL };
  static const char *const groups[] = { "w_g1", "w_g2", NULL };
  static const char *const rows[] = { "C:w_1", "C:w_2", "G:w_g1", "C:w_3", "C:w_4", "G:w_g2", "C:w_5", "C:w_6" };
  enum { NROWS = 8 };
  world(users, groups);
  wsc_t w;
  wlogin(&w, "w_u", "Web");
  int pinned[NROWS];
  for (int i = 0; i < NROWS; i++) { pin(&w, rows[i], 1); pinned[i] = 1; }
  uint32_t rnd = 12345;
  for (int walk = 0; walk < 6; walk++) {
    int touched[NROWS] = { 0 }, was[NROWS], listed[NROWS] = { 0 };
    memcpy(was, pinned, sizeof was);
    long long c[4] = { 0, 0, 0, 0 };
    char seen[1024] = "";
    size_t from = 0;
    for (int page = 0; page < 40; page++) {
      int done = page_of("w_u", 5, c, seen, sizeof seen);
      /* the rows this page added */
      for (char *p = seen + from; *p;) {
        char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && p[len - 1] == '+') {
          for (int i = 0; i < NROWS; i++)
            if (strlen(rows[i]) == len - 1 && !strncmp(p, rows[i], len - 1)) {
              if (listed[i]++) fail_msg("walk %d lists %s twice among the pins: %s", walk, rows[i], seen);
            }
        }
        p += len + (end ? 1 : 0);
      }
      from = strlen(seen);
      if (done) break;
      rnd = rnd * 1103515245u + 12345u;
      if ((rnd >> 16) % 3 == 0) {
        /* the pins above the cursor all go (the rows returned so far, still pinned), then one comes back:
         * the case where one above the highest pinned order is an order given before */
        int back = -1;
        for (int i = 0; i < NROWS; i++)
          if (pinned[i] && (listed[i] || touched[i])) { pin(&w, rows[i], 0); pinned[i] = 0; touched[i] = 1; back = i; }
        if (back >= 0) { pin(&w, rows[back], 1); pinned[back] = 1; }
        continue;
      }
      /* one to three changes between the pages: unpin a pinned row, or pin one (again) */
      for (int k = (int)(rnd % 3); k >= 0; k--) {
        rnd = rnd * 1103515245u + 12345u;
        int i = (int)((rnd >> 8) % NROWS);
        int on = pinned[i] ? (int)((rnd >> 20) & 1) : 1; /* a pinned row is unpinned or pinned again */
        pin(&w, rows[i], on);
        pinned[i] = on;
        touched[i] = 1;
      }
    }
    for (int i = 0; i < NROWS; i++)
      if (was[i] && !touched[i] && listed[i] != 1) fail_msg("walk %d skips %s, pinned throughout: %s", walk, rows[i], seen);
  }
  wsc_close(&w);
}

/* ---- the count ------------------------------------------------------------------------------------ */
/* The 50-pin count (read through the partial index of pinned rows since migration 42) leaves out a pinned
 * C2C conversation whose peer's account is deleted (listed nowhere), the conversation being pinned again,
 * and unpinned ones; it counts group pins. A pin made before any message keeps its row when the peer is
 * deleted (the peer has no row of the pair), so only the count's own check leaves it out. */
static void test_count_pinned_rows(void **st)
{
  (void)st;
  char users[50][16];
  for (int i = 0; i < 50; i++) {
    snprintf(users[i], sizeof users[i], i ? "k_p%02d" : "k_u", i);
    json_decref(call("im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", users[i]));
  }
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"k_g\",\"Owner_Account\":\"k_p01\","
          "\"MemberList\":[{\"Member_Account\":\"k_u\"}]}"));
  wsc_t w;
  wlogin(&w, "k_u", "Web");
  char name[24];
  for (int i = 1; i < 49; i++) {
    snprintf(name, sizeof name, "C:%s", users[i]);
    pin(&w, name, 1);
  }
  pin(&w, "G:k_g", 1); /* 49 */
  pin(&w, "C:k_p49", 1); /* 50: pinned before any message */
  pin_code(&w, "\"peer\":\"k_u\"", 1, 51012);
  pin(&w, "C:k_p49", 1); /* pinning a pinned one again is no 51st */
  pin(&w, "G:k_g", 1);
  pin(&w, "C:k_p01", 0);
  pin(&w, "C:k_u", 1); /* 50 again */
  pin_code(&w, "\"peer\":\"k_p01\"", 1, 51012);
  json_t *r = call("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"k_p49\"}]}");
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  pin(&w, "C:k_p01", 1); /* the deleted peer's pin no longer counts */
  pin_code(&w, "\"peer\":\"k_p02\"", 1, 0);
  pin_code(&w, "\"group_id\":\"k_g\"", 1, 0);
  wsc_close(&w);
}

/* ---- edge cases ---------------------------------------------------------------------------------- */
/* The next conv_pin push of c as "G:group+" / "C:peer-", or "" when none comes within wait_ms. */
static void next_pin_event(wsc_t *c, int wait_ms, char *got, size_t cap)
{
  json_t *e = wsc_push(c, "conv_pin", wait_ms);
  got[0] = 0;
  if (!e) return;
  const char *gid = jstr(e, "group_id");
  snprintf(got, cap, "%s:%s%s", gid[0] ? "G" : "C", gid[0] ? gid : jstr(e, "peer"),
           json_is_true(json_object_get(e, "pinned")) ? "+" : "-");
  json_decref(e);
}

/* Unpinning a conversation that is not pinned (one that exists, one with no message, a group's) succeeds
 * and changes nothing: no conv_pin event for the user's devices, no conversation made. Before, each such
 * unpin pushed a conv_pin event, and a C2C one made a conversation row for a peer never talked to. */
static void test_unpin_not_pinned(void **st)
{
  (void)st;
  static const char *const users[] = { "e_u", "e_a", "e_none", NULL };
  static const char *const groups[] = { "e_g", NULL };
  import_users(srv.port, app, key, users);
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"e_a\",\"To_Account\":\"e_u\",\"MsgRandom\":1,\"MsgBody\":" TEXT("hi") "}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"e_a\","
          "\"MemberList\":[{\"Member_Account\":\"e_u\"}]}", groups[0]));
  wsc_t a, b;
  wlogin(&a, "e_u", "Web");
  wlogin(&b, "e_u", "Android");
  char seen[512], got[96];
  list_all("e_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "C:e_a,G:e_g");
  pin(&a, "C:e_a", 0);
  pin(&a, "C:e_none", 0);
  pin(&a, "G:e_g", 0);
  /* a real change after them: the first event the other device gets is its own */
  pin(&a, "C:e_a", 1);
  next_pin_event(&b, 5000, got, sizeof got);
  assert_string_equal(got, "C:e_a+");
  list_all("e_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "C:e_a+,G:e_g");
  /* a sync from the start replays no event for the unpins that changed nothing */
  wsc_close(&b);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "e_u", "Android"), 0);
  json_t *ev = wsc_sync_live(&b);
  assert_non_null(ev);
  json_t *e;
  size_t i;
  int pins = 0;
  json_array_foreach(ev, i, e) if (!strcmp(jstr(e, "type"), "conv_pin")) pins++;
  json_decref(ev);
  assert_int_equal(pins, 1);
  /* unpinning a pinned one still pushes its event */
  pin(&a, "C:e_a", 0);
  next_pin_event(&b, 5000, got, sizeof got);
  assert_string_equal(got, "C:e_a-");
  wsc_close(&a);
  wsc_close(&b);
}

/* Deleting a conversation that is already deleted (and cleared, when the delete clears) changes nothing: no
 * conv_delete event for the user's devices. Before, every such delete appended an event (a useq, pushed to every
 * device and replayed by sync), where an unpin of what is not pinned already made none. */
static void test_delete_deleted(void **st)
{
  (void)st;
  static const char *const users[] = { "q_u", "q_a", NULL };
  import_users(srv.port, app, key, users);
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"q_a\",\"To_Account\":\"q_u\",\"MsgRandom\":1,\"MsgBody\":" TEXT("hi") "}"));
  wsc_t a, b;
  wlogin(&a, "q_u", "Web");
  static const char *const dels[] = { "", "", ",\"clear\":true", ",\"clear\":true", "" };
  for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++) {
    json_t *r = wsc_rpc(&a, "conv_delete", "\"peer\":\"q_a\"%s", dels[i]);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  /* the delete, then the clear: two events, replayed by a sync from the start */
  wlogin(&b, "q_u", "Android");
  json_t *ev = wsc_sync_live(&b);
  assert_non_null(ev);
  json_t *e;
  size_t i;
  int dels_seen = 0, clears = 0;
  json_array_foreach(ev, i, e) if (!strcmp(jstr(e, "type"), "conv_delete")) {
    dels_seen++;
    clears += json_is_true(json_object_get(e, "cleared"));
  }
  json_decref(ev);
  assert_int_equal(dels_seen, 2);
  assert_int_equal(clears, 1);
  /* a new message shows the conversation again, and deleting it then is an event again */
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"q_a\",\"To_Account\":\"q_u\",\"MsgRandom\":2,\"MsgBody\":" TEXT("again") "}"));
  json_t *r = wsc_rpc(&a, "conv_delete", "\"peer\":\"q_a\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *p = wsc_push(&b, "conv_delete", 5000);
  assert_non_null(p);
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
}

/* Pins of what is no conversation of the user are refused and pin nothing; a pin after a delete lists the
 * conversation again (pinned), and its unpin leaves it deleted, for both kinds; a pin of a conversation with
 * no message yet lists it as an empty conversation. */
static void test_pin_refusals_and_deleted(void **st)
{
  (void)st;
  static const char *const users[] = { "d_u", "d_a", "d_o", NULL };
  import_users(srv.port, app, key, users);
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"d_a\",\"To_Account\":\"d_u\",\"MsgRandom\":1,\"MsgBody\":" TEXT("hi") "}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"d_g\",\"Owner_Account\":\"d_o\","
          "\"MemberList\":[{\"Member_Account\":\"d_u\"}]}"));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"d_g\",\"From_Account\":\"d_o\",\"Random\":1,\"MsgBody\":" TEXT("hi") "}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"d_not\",\"Owner_Account\":\"d_o\"}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"n\",\"GroupId\":\"d_live\",\"Owner_Account\":\"d_u\"}"));
  wsc_t w;
  wlogin(&w, "d_u", "Web");
  pin_code(&w, "\"peer\":\"d_nobody\"", 1, 90012);
  pin_code(&w, "\"group_id\":\"d_none\"", 1, 10010);
  pin_code(&w, "\"group_id\":\"d_not\"", 1, 10007);
  pin_code(&w, "\"group_id\":\"d_live\"", 1, 10007);
  pin_code(&w, "\"group_id\":\"d_live\"", 0, 10007);
  char seen[512];
  list_all("d_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "C:d_a,G:d_g");
  /* deleted, then pinned: listed again, pinned; unpinned: deleted again (no message since the delete) */
  v4_ok(call("recentcontact/delete", "{\"From_Account\":\"d_u\",\"Type\":1,\"To_Account\":\"d_a\"}"));
  v4_ok(call("recentcontact/delete", "{\"From_Account\":\"d_u\",\"Type\":2,\"ToGroupid\":\"d_g\"}"));
  list_all("d_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "");
  pin(&w, "C:d_a", 1);
  pin(&w, "G:d_g", 1);
  list_all("d_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "G:d_g+,C:d_a+");
  pin(&w, "C:d_a", 0);
  pin(&w, "G:d_g", 0);
  list_all("d_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "");
  /* a conversation with no message yet is pinned: an empty conversation (AssistFlags bit 1) */
  pin(&w, "C:d_o", 1);
  list_all("d_u", 1, seen, sizeof seen);
  assert_string_equal(seen, "");
  list_all("d_u", 3, seen, sizeof seen);
  assert_string_equal(seen, "C:d_o+");
  wsc_close(&w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c2c_order_not_reused),
    cmocka_unit_test(test_group_order_not_reused_restart),
    cmocka_unit_test(test_walks_with_pin_changes),
    cmocka_unit_test(test_count_pinned_rows),
    cmocka_unit_test(test_unpin_not_pinned),
    cmocka_unit_test(test_delete_deleted),
    cmocka_unit_test(test_pin_refusals_and_deleted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
