/* End-to-end: a review of the conversation list's pages (REST
 * recentcontact/get_list, WebSocket conversations; src/im/conv_list.c)
 * when the user pins conversations between two pages of one walk:
 *  - a walk whose first page found no pinned conversation lists a
 *    conversation pinned after that page once: where its last message puts
 *    it among the others, so one already returned is not listed again (it
 *    was, as a pinned item at the top of the next page) and one not yet
 *    returned is still listed (docs/decisions/messaging-c2c-conversations.md
 *    §58);
 *  - what the cursor cannot tell, as documented there: after the walk
 *    returned a pinned item, a conversation not yet returned that is pinned
 *    is not listed by the later pages, and a returned pin that is unpinned
 *    is listed again among the others;
 *  - an empty conversation is not counted in the kept limit.
 * The server runs on a test clock with get_list pages of 3. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app, app_l;
static char key[80], key_l[80]; /* app_l: an app of the legacy scheme (created before the editions), no account cap */
static char auth[160];
static const char *args[] = { "--test-clock", "--msg-recent-page", "3", "--rest-rate-limit", "100000", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  e2e_make_app_at(&srv, "china", "2026-09-01", &app_l, key_l);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void csend(const char *from, const char *to, int random)
{
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("hi") "}",
          from, to, random));
}

static void pin(wsc_t *c, const char *peer, int on)
{
  json_t *r = wsc_rpc(c, "pin", "\"peer\":\"%s\",\"pinned\":%s", peer, on ? "true" : "false");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

/* One get_list page (AssistFlags 1) after the cursor c (updated); its items appended to seen as "peer" ("+"
 * pinned); returns CompleteFlag. */
static int rest_page(const char *user, long long c[4], char *seen, size_t cap)
{
  json_t *r = call("recentcontact/get_list",
                   "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                   "\"TopStartIndex\":%lld,\"AssistFlags\":1}", user, c[0], c[1], c[2], c[3]);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it)
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s%s", seen[0] ? "," : "", jstr(it, "To_Account"),
             jint(it, "TopFlag") ? "+" : "");
  c[0] = jint(r, "TimeStamp");
  c[1] = jint(r, "StartIndex");
  c[2] = jint(r, "TopTimeStamp");
  c[3] = jint(r, "TopStartIndex");
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

/* One conversations page of 3 after cursor (a JSON object, "" the first page; updated); as rest_page. */
static int ws_page(wsc_t *c, char *cursor, size_t ccap, char *seen, size_t cap)
{
  json_t *r = cursor[0] ? wsc_rpc(c, "conversations", "\"limit\":3,\"cursor\":%s", cursor)
                        : wsc_rpc(c, "conversations", "%s", "\"limit\":3");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, it)
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s%s", seen[0] ? "," : "", jstr(it, "peer"),
             json_is_true(json_object_get(it, "pinned")) ? "+" : "");
  char *t = json_dumps(json_object_get(r, "cursor"), JSON_COMPACT);
  assert_non_null(t);
  snprintf(cursor, ccap, "%s", t);
  free(t);
  int done = json_is_true(json_object_get(r, "complete"));
  json_decref(r);
  return done;
}

/* Six conversations of six seconds (x6 newest), none pinned; after the first page (x6, x5, x4) the user
 * pins x5 (returned) and x2 (not yet returned): the rest of the walk lists x3, x2 (pinned) and x1, so the
 * walk holds each conversation once. Before, the second page began with the pinned x2 and x5 again. */
static void test_pin_after_a_page_without_pins(void **st)
{
  (void)st;
  static const char *const users[] = { "p_u", "p_x1", "p_x2", "p_x3", "p_x4", "p_x5", "p_x6", NULL };
  import_users(srv.port, app, key, users);
  op_clock_advance(srv.port, auth, 5);
  for (int i = 1; i <= 6; i++) {
    csend(users[i], "p_u", 1);
    op_clock_advance(srv.port, auth, 1);
  }
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "p_u", "Web"), 0);
  /* REST */
  long long c[4] = { 0, 0, 0, 0 };
  char seen[512] = "";
  assert_int_equal(rest_page("p_u", c, seen, sizeof seen), 0);
  assert_string_equal(seen, "p_x6,p_x5,p_x4");
  pin(&a, "p_x5", 1);
  op_clock_advance(srv.port, auth, 1);
  pin(&a, "p_x2", 1);
  int pages = 0;
  while (!rest_page("p_u", c, seen, sizeof seen)) assert_true(++pages < 5);
  assert_string_equal(seen, "p_x6,p_x5,p_x4,p_x3,p_x2+,p_x1");
  /* a new walk lists the pins first */
  memset(c, 0, sizeof c);
  seen[0] = 0;
  assert_int_equal(rest_page("p_u", c, seen, sizeof seen), 0);
  assert_string_equal(seen, "p_x2+,p_x5+,p_x6");
  /* WebSocket: the same walk with both unpinned again */
  pin(&a, "p_x5", 0);
  pin(&a, "p_x2", 0);
  char cursor[256] = "";
  seen[0] = 0;
  assert_int_equal(ws_page(&a, cursor, sizeof cursor, seen, sizeof seen), 0);
  assert_string_equal(seen, "p_x6,p_x5,p_x4");
  pin(&a, "p_x5", 1);
  pin(&a, "p_x2", 1);
  pages = 0;
  while (!ws_page(&a, cursor, sizeof cursor, seen, sizeof seen)) assert_true(++pages < 5);
  assert_string_equal(seen, "p_x6,p_x5,p_x4,p_x3,p_x2+,p_x1");
  wsc_close(&a);
}

/* A pinned conversation a_pin and four others (a_x4 newest). The first page is a_pin+, a_x4, a_x3; then a_x1
 * (not yet returned) is pinned and a_pin unpinned: the rest of the walk lists a_x2 and a_pin again, not
 * a_x1 (it sorts above the pinned cursor; the next walk lists it first). */
static void test_pins_between_pages_after_a_pin(void **st)
{
  (void)st;
  static const char *const users[] = { "a_u", "a_pin", "a_x1", "a_x2", "a_x3", "a_x4", NULL };
  import_users(srv.port, app, key, users);
  op_clock_advance(srv.port, auth, 5);
  for (int i = 1; i <= 5; i++) {
    csend(users[i], "a_u", 1);
    op_clock_advance(srv.port, auth, 1);
  }
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "a_u", "Web"), 0);
  pin(&a, "a_pin", 1);
  op_clock_advance(srv.port, auth, 1);
  long long c[4] = { 0, 0, 0, 0 };
  char seen[512] = "";
  assert_int_equal(rest_page("a_u", c, seen, sizeof seen), 0);
  assert_string_equal(seen, "a_pin+,a_x4,a_x3");
  pin(&a, "a_x1", 1);
  pin(&a, "a_pin", 0);
  int pages = 0;
  while (!rest_page("a_u", c, seen, sizeof seen)) assert_true(++pages < 5);
  assert_string_equal(seen, "a_pin+,a_x4,a_x3,a_x2,a_pin");
  memset(c, 0, sizeof c);
  seen[0] = 0;
  assert_int_equal(rest_page("a_u", c, seen, sizeof seen), 0);
  assert_string_equal(seen, "a_x1+,a_x4,a_x3");
  wsc_close(&a);
}

/* Empty conversations are not counted in the kept limit (messaging-c2c-conversations.md §46): a user with
 * 101 conversations that have a message (99 C2C, then 2 groups; the edition keeps 100, of both kinds
 * together) and a group with none is listed, with AssistFlags bit 1, the 100 newest (the oldest C2C one
 * left out) and the empty group. Before, the empty one sorted last and was cut by the limit too. The app is
 * one of s2022 trial (100 accounts: the user and its 99 peers). */
static void test_empty_not_counted_in_kept(void **st)
{
  (void)st;
  enum { PEERS = 99 };
  static char names[PEERS + 1][16];
  const char *users[PEERS + 2];
  snprintf(names[0], sizeof names[0], "e_u");
  users[0] = names[0];
  for (int i = 1; i <= PEERS; i++) {
    snprintf(names[i], sizeof names[i], "e_p%03d", i);
    users[i] = names[i];
  }
  users[PEERS + 1] = NULL;
  for (int i = 0; users[i]; i++)
    v4_ok(v4(srv.port, app_l, key_l, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", users[i]));
  static const char *const gids[] = { "e_g", "e_m1", "e_m2" };
  for (int i = 0; i < 3; i++)
    v4_ok(v4(srv.port, app_l, key_l, G("create_group"),
             "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"e_u\"}", gids[i]));
  op_clock_advance(srv.port, auth, 5);
  for (int i = 1; i <= PEERS; i++) {
    v4_ok(v4(srv.port, app_l, key_l, "openim/sendmsg",
             "{\"From_Account\":\"%s\",\"To_Account\":\"e_u\",\"MsgRandom\":1,\"MsgBody\":" TEXT("hi") "}", users[i]));
    if (i == 1 || i % 20 == 0) op_clock_advance(srv.port, auth, 1);
  }
  op_clock_advance(srv.port, auth, 1);
  for (int i = 1; i < 3; i++)
    v4_ok(v4(srv.port, app_l, key_l, G("send_group_msg"),
             "{\"GroupId\":\"%s\",\"From_Account\":\"e_u\",\"Random\":1,\"MsgBody\":" TEXT("hi") "}", gids[i]));
  long long c[4] = { 0, 0, 0, 0 };
  int c2c = 0, groups = 0, empty = 0, pages = 0, done = 0, oldest = 0;
  while (!done) {
    json_t *r = v4(srv.port, app_l, key_l, "recentcontact/get_list",
                   "{\"From_Account\":\"e_u\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                   "\"TopStartIndex\":%lld,\"AssistFlags\":3}", c[0], c[1], c[2], c[3]);
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
      if (jint(it, "Type") != 2) {
        c2c++;
        if (!strcmp(jstr(it, "To_Account"), "e_p001")) oldest = 1;
      } else if (jint(it, "MsgTime")) {
        groups++;
      } else {
        empty++;
        assert_string_equal(jstr(it, "GroupId"), "e_g");
      }
    }
    c[0] = jint(r, "TimeStamp");
    c[1] = jint(r, "StartIndex");
    c[2] = jint(r, "TopTimeStamp");
    c[3] = jint(r, "TopStartIndex");
    done = (int)jint(r, "CompleteFlag");
    json_decref(r);
    assert_true(++pages < 60);
  }
  assert_int_equal(c2c, 98);
  assert_false(oldest);
  assert_int_equal(groups, 2);
  assert_int_equal(empty, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pin_after_a_page_without_pins),
    cmocka_unit_test(test_pins_between_pages_after_a_pin),
    cmocka_unit_test(test_empty_not_counted_in_kept),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
