/* End-to-end: recentcontact/get_list's AssistFlags bit 2, pinned
 * conversations paged or not (docs/rest-api-conversations.md,
 * docs/decisions/messaging-c2c-conversations.md §64), with more pins than a
 * page and more others than a page (get_list pages of 3):
 *  - bit 0 without bit 2 (1, 3): the first page holds every pinned
 *    conversation of both kinds, whatever the page size (empty ones too with
 *    bit 1), then the others page as before, the later pages hold no pin, and
 *    every conversation comes once;
 *  - bit 0 and bit 2 (5, 7): the pinned ones are paged as before;
 *  - bit 2 without bit 0 (4, 6) changes nothing (no pinned run to page);
 *  - the WebSocket conversations op pages its pinned ones (no such option);
 *  - a pin, an unpin and a message to an empty pinned conversation between
 *    two pages of a walk without bit 2.
 * The server runs on a test clock. */
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

/* Pin (on) or unpin a conversation named "C:peer" or "G:group". */
static void pin(wsc_t *c, const char *name, int on)
{
  json_t *r = wsc_rpc(c, "pin", "\"%s\":\"%s\",\"pinned\":%s", name[0] == 'G' ? "group_id" : "peer", name + 2,
                      on ? "true" : "false");
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("pin %s: %s", name, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* One get_list page (AssistFlags flags) after the cursors c[0..3] (updated); its items appended to seen as
 * "C:peer" or "G:group" ("+" pinned, "@0" MsgTime 0), pages apart by "|"; returns CompleteFlag. */
static int page_of(const char *user, int flags, long long c[4], char *seen, size_t cap)
{
  json_t *r = call("recentcontact/get_list", "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,"
                   "\"TopTimeStamp\":%lld,\"TopStartIndex\":%lld,\"AssistFlags\":%d}", user, c[0], c[1], c[2], c[3], flags);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  if (seen[0]) snprintf(seen + strlen(seen), cap - strlen(seen), "|");
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it) {
    int grp = jint(it, "Type") == 2;
    snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s:%s%s%s", i ? "," : "", grp ? "G" : "C",
             jstr(it, grp ? "GroupId" : "To_Account"), jint(it, "TopFlag") ? "+" : "", jint(it, "MsgTime") ? "" : "@0");
  }
  c[0] = jint(r, "TimeStamp");
  c[1] = jint(r, "StartIndex");
  c[2] = jint(r, "TopTimeStamp");
  c[3] = jint(r, "TopStartIndex");
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

/* A whole walk from the first page; its last reply's cursors in last (may be NULL). */
static void walk(const char *user, int flags, char *seen, size_t cap, long long last[4])
{
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  for (int pages = 0; !page_of(user, flags, c, seen, cap); pages++)
    if (pages == 20) fail_msg("AssistFlags %d: get_list never completes; so far %s", flags, seen);
  if (last) memcpy(last, c, sizeof c);
}

/* A whole walk of the WebSocket conversations op, pages of 3, as walk. */
static void ws_walk(wsc_t *w, char *seen, size_t cap)
{
  char cursor[256] = "";
  seen[0] = 0;
  for (int pages = 0;; pages++) {
    if (pages == 20) fail_msg("conversations never completes; so far %s", seen);
    json_t *r = cursor[0] ? wsc_rpc(w, "conversations", "\"limit\":3,\"cursor\":%s", cursor)
                          : wsc_rpc(w, "conversations", "%s", "\"limit\":3");
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    if (seen[0]) snprintf(seen + strlen(seen), cap - strlen(seen), "|");
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r, "conversations"), i, it) {
      int g = json_object_get(it, "group_id") != NULL;
      snprintf(seen + strlen(seen), cap - strlen(seen), "%s%s:%s%s%s", i ? "," : "", g ? "G" : "C",
               jstr(it, g ? "group_id" : "peer"), json_is_true(json_object_get(it, "pinned")) ? "+" : "",
               jint(it, "last_time") ? "" : "@0");
    }
    char *t = json_dumps(json_object_get(r, "cursor"), JSON_COMPACT);
    assert_non_null(t);
    snprintf(cursor, sizeof cursor, "%s", t);
    free(t);
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return;
  }
}

/* w_u's conversations: five pinned ones with a message (four C2C, the group w_gp), one pinned with none (w_e),
 * five others with a message (four C2C, the group w_gx) and an empty group (w_ge). Messages one second apart,
 * oldest first: x1 p1 x2 p2 x3 p3 x4 p4 gx gp; pins one second apart: p1 gp p2 e p3 p4 (latest pin first:
 * p4 p3 e p2 gp p1). */
static void test_assist_flags_bit_2(void **st)
{
  (void)st;
  static const char *const users[] = { "w_u", "w_p1", "w_p2", "w_p3", "w_p4", "w_x1", "w_x2", "w_x3", "w_x4", "w_e",
                                       NULL };
  import_users(srv.port, app, key, users);
  static const char *const gids[] = { "w_gp", "w_gx", "w_ge" };
  for (int i = 0; i < 3; i++)
    v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\",\"Owner_Account\":\"w_u\"}",
               gids[i]));
  op_clock_advance(srv.port, auth, 5);
  static const char *const order[] = { "C:w_x1", "C:w_p1", "C:w_x2", "C:w_p2", "C:w_x3", "C:w_p3", "C:w_x4", "C:w_p4",
                                       "G:w_gx", "G:w_gp", NULL };
  for (int i = 0; order[i]; i++) {
    if (order[i][0] == 'C')
      v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"w_u\",\"MsgRandom\":1,\"MsgBody\":"
                 TEXT("hi") "}", order[i] + 2));
    else
      v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"w_u\",\"Random\":1,\"MsgBody\":"
                 TEXT("hi") "}", order[i] + 2));
    op_clock_advance(srv.port, auth, 1);
  }
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "w_u", "Web"), 0);
  static const char *const pins[] = { "C:w_p1", "G:w_gp", "C:w_p2", "C:w_e", "C:w_p3", "C:w_p4", NULL };
  for (int i = 0; pins[i]; i++) {
    pin(&w, pins[i], 1);
    op_clock_advance(srv.port, auth, 1);
  }
  char seen[1024];
  long long last[4];
  /* 1: every pin on the first page (five, the page holds 3), then the others by pages of 3; the first page's
   * cursors name the last pin (the pinned run is done) and no other */
  long long c[4] = { 0, 0, 0, 0 };
  seen[0] = 0;
  assert_int_equal(page_of("w_u", 1, c, seen, sizeof seen), 0);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_p2+,G:w_gp+,C:w_p1+");
  assert_true(c[0] == 0 && c[1] == 0 && c[2] > 0 && c[3] > 0);
  walk("w_u", 1, seen, sizeof seen, last);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_p2+,G:w_gp+,C:w_p1+|G:w_gx,C:w_x4,C:w_x3|C:w_x2,C:w_x1");
  assert_int_equal(last[2], c[2]); /* the later pages keep the pinned cursor */
  assert_int_equal(last[3], c[3]);
  /* 5 (bit 0 + bit 2): the pinned ones are paged as well */
  walk("w_u", 5, seen, sizeof seen, NULL);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_p2+|G:w_gp+,C:w_p1+,G:w_gx|C:w_x4,C:w_x3,C:w_x2|C:w_x1");
  /* 7 (bit 0 + 1 + 2) and 3 (bit 0 + 1): the empty pinned w_e in the pinned run, the empty group w_ge last */
  walk("w_u", 7, seen, sizeof seen, NULL);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_e+@0|C:w_p2+,G:w_gp+,C:w_p1+|G:w_gx,C:w_x4,C:w_x3|"
                            "C:w_x2,C:w_x1,G:w_ge@0");
  walk("w_u", 3, seen, sizeof seen, NULL);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_e+@0,C:w_p2+,G:w_gp+,C:w_p1+|G:w_gx,C:w_x4,C:w_x3|"
                            "C:w_x2,C:w_x1,G:w_ge@0");
  /* 4 (bit 2 without bit 0) is 0: by last message, pinned ones among the others */
  static const char by_time[] = "G:w_gp+,G:w_gx,C:w_p4+|C:w_x4,C:w_p3+,C:w_x3|C:w_p2+,C:w_x2,C:w_p1+|C:w_x1";
  walk("w_u", 4, seen, sizeof seen, NULL);
  assert_string_equal(seen, by_time);
  walk("w_u", 0, seen, sizeof seen, NULL);
  assert_string_equal(seen, by_time);
  /* 6 (bits 1 + 2) is 2: the empty ones too, after the others */
  walk("w_u", 6, seen, sizeof seen, NULL);
  assert_string_equal(seen, "G:w_gp+,G:w_gx,C:w_p4+|C:w_x4,C:w_p3+,C:w_x3|C:w_p2+,C:w_x2,C:w_p1+|"
                            "C:w_x1,C:w_e+@0,G:w_ge@0");
  /* the WebSocket conversations op has no such option: its pinned ones are paged (empty ones when pinned) */
  ws_walk(&w, seen, sizeof seen);
  assert_string_equal(seen, "C:w_p4+,C:w_p3+,C:w_e+@0|C:w_p2+,G:w_gp+,C:w_p1+|G:w_gx,C:w_x4,C:w_x3|C:w_x2,C:w_x1");
  wsc_close(&w);
}

/* A walk without bit 2 with changes between its pages (§64; as §58 for the paged walk). Pins, oldest first:
 * v_e (no message yet: an empty conversation, not listed without bit 1), v_p1 .. v_p4. After the first page
 * (the four pins with a message), v_p2 (returned) is unpinned, v_x2 (not yet returned) pinned, and v_e gets a
 * message. The later pages hold no pin: v_x2 and v_e are not listed (the next walk lists them with the pins),
 * and v_p2 is listed again among the others (its last message is below the cursor). Before, the first page
 * held three pins, and v_e came as a pin on a later page. Messages oldest first: x1 p1 x2 p2 x3 p3 x4 p4. */
static void test_pins_between_pages_not_paged(void **st)
{
  (void)st;
  static const char *const users[] = { "v_u", "v_p1", "v_p2", "v_p3", "v_p4", "v_x1", "v_x2", "v_x3", "v_x4", "v_e",
                                       NULL };
  import_users(srv.port, app, key, users);
  op_clock_advance(srv.port, auth, 5);
  static const char *const order[] = { "v_x1", "v_p1", "v_x2", "v_p2", "v_x3", "v_p3", "v_x4", "v_p4", NULL };
  for (int i = 0; order[i]; i++) {
    v4_ok(call("openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"v_u\",\"MsgRandom\":1,\"MsgBody\":"
               TEXT("hi") "}", order[i]));
    op_clock_advance(srv.port, auth, 1);
  }
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "v_u", "Web"), 0);
  static const char *const pins[] = { "C:v_e", "C:v_p1", "C:v_p2", "C:v_p3", "C:v_p4", NULL };
  for (int i = 0; pins[i]; i++) {
    pin(&w, pins[i], 1);
    op_clock_advance(srv.port, auth, 1);
  }
  long long c[4] = { 0, 0, 0, 0 };
  char seen[1024] = "";
  assert_int_equal(page_of("v_u", 1, c, seen, sizeof seen), 0);
  assert_string_equal(seen, "C:v_p4+,C:v_p3+,C:v_p2+,C:v_p1+");
  pin(&w, "C:v_p2", 0);
  pin(&w, "C:v_x2", 1);
  v4_ok(call("openim/sendmsg", "{\"From_Account\":\"v_e\",\"To_Account\":\"v_u\",\"MsgRandom\":1,\"MsgBody\":"
             TEXT("hi") "}"));
  for (int pages = 0; !page_of("v_u", 1, c, seen, sizeof seen); pages++) assert_true(pages < 20);
  assert_string_equal(seen, "C:v_p4+,C:v_p3+,C:v_p2+,C:v_p1+|C:v_x4,C:v_x3,C:v_p2|C:v_x1");
  /* a new walk: the pins as they are now, all on its first page */
  walk("v_u", 1, seen, sizeof seen, NULL);
  assert_string_equal(seen, "C:v_x2+,C:v_p4+,C:v_p3+,C:v_p1+,C:v_e+|C:v_x4,C:v_x3,C:v_p2|C:v_x1");
  /* a pin made between two pages of the others is not listed either (it sorts above the pinned cursor) */
  memset(c, 0, sizeof c);
  seen[0] = 0;
  assert_int_equal(page_of("v_u", 1, c, seen, sizeof seen), 0);
  assert_int_equal(page_of("v_u", 1, c, seen, sizeof seen), 0);
  pin(&w, "C:v_x1", 1);
  assert_int_equal(page_of("v_u", 1, c, seen, sizeof seen), 1);
  assert_string_equal(seen, "C:v_x2+,C:v_p4+,C:v_p3+,C:v_p1+,C:v_e+|C:v_x4,C:v_x3,C:v_p2|");
  wsc_close(&w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_assist_flags_bit_2),
    cmocka_unit_test(test_pins_between_pages_not_paged),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
