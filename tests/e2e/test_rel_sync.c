/* End-to-end: relationship changes are inbox events (docs/protocol.md
 * "Relationship events"), against the real server on an international app
 * (conversation groups and marks on). One user's live device watches a run
 * of changes — a pending friend request, a forced friend add, a message, a
 * blocklist entry, a conversation group, a mark, a profile change, a friend
 * deletion and an answered request made from that device — interleaved with
 * messages; a second device that was offline the whole time then syncs from
 * 0 and must end with the same events, with the same useqs, in the same
 * order, as the live one; after a restart a third device gets them again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "singapore", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static void expect0(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("expected 0, got %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static int has_useq(json_t *o, const void *arg)
{
  (void)arg;
  return json_is_integer(json_object_get(o, "useq")) && !json_object_get(o, "op");
}

/* The next pushed event carrying a useq (NULL after timeout_ms). */
static json_t *next_event(wsc_t *c, int timeout_ms) { return wsc_take(c, has_useq, NULL, timeout_ms); }

/* Wait for a push of type on c (consumed into out, in arrival order). */
static void collect_until(wsc_t *c, json_t *out, const char *type)
{
  for (;;) {
    json_t *e = next_event(c, 5000);
    if (!e) fail_msg("no %s push", type);
    int done = !strcmp(jstr(e, "type"), type);
    json_array_append_new(out, e);
    if (done) return;
  }
}

static int count_type(json_t *evs, const char *type)
{
  size_t i;
  json_t *e;
  int n = 0;
  json_array_foreach(evs, i, e) n += !strcmp(jstr(e, "type"), type);
  return n;
}

/* evs (a sync's events from 0) ends with exactly `live`, event for event. */
static void expect_same_tail(json_t *evs, json_t *live)
{
  size_t n = json_array_size(evs), m = json_array_size(live);
  assert_true(n >= m);
  for (size_t i = 0; i < m; i++) {
    json_t *a = json_array_get(evs, n - m + i), *b = json_array_get(live, i);
    if (!json_equal(a, b))
      fail_msg("event %zu differs:\n synced %s\n live   %s", i, json_dumps(a, JSON_COMPACT), json_dumps(b, JSON_COMPACT));
  }
  /* useqs are 1, 2, 3 … without gaps */
  for (size_t i = 0; i < n; i++) assert_int_equal(jint(json_array_get(evs, i), "useq"), (json_int_t)i + 1);
}

/* The REST changes of the run, each with the push r_a's live device waits for. */
static const struct { const char *cmd, *body, *push; } steps[] = {
  /* r_c asks r_a (default AllowType: need confirm): a pending request */
  { "sns/friend_add", "{\"From_Account\":\"r_c\",\"AddFriendItem\":[{\"To_Account\":\"r_a\",\"AddSource\":\"AddSource_Type_Web\"}]}",
    "friend_request" },
  { "sns/friend_add", "{\"From_Account\":\"r_a\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"r_b\",\"AddSource\":\"AddSource_Type_Web\"}]}",
    "friend_added" },
  { "openim/sendmsg", "{\"From_Account\":\"r_b\",\"To_Account\":\"r_a\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"one\"}}]}",
    "msg" },
  { "sns/black_list_add", "{\"From_Account\":\"r_a\",\"To_Account\":[\"r_d\"]}", "black_changed" },
  { "recentcontact/create_contact_group",
    "{\"From_Account\":\"r_a\",\"GroupContactItem\":[{\"GroupName\":\"g1\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"r_b\"}]}]}",
    "contact_groups_changed" },
  { "recentcontact/mark_contact",
    "{\"From_Account\":\"r_a\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"r_b\"},\"SetMark\":[3]}]}",
    "contact_marks_changed" },
  { "profile/portrait_set", "{\"From_Account\":\"r_a\",\"ProfileItem\":[{\"Tag\":\"Tag_Profile_IM_Nick\",\"Value\":\"Ann\"}]}", "profile" },
  { "openim/sendmsg", "{\"From_Account\":\"r_b\",\"To_Account\":\"r_a\",\"MsgRandom\":2,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"two\"}}]}",
    "msg" },
  { "sns/friend_delete", "{\"From_Account\":\"r_a\",\"To_Account\":[\"r_b\"],\"DeleteType\":\"Delete_Type_Single\"}", "friend_deleted" },
};

static void test_offline_device_learns_relationship_changes(void **st)
{
  (void)st;
  static const char *const users[] = { "r_a", "r_b", "r_c", "r_d", NULL };
  import_users(srv.port, app, key, users);
  wsc_t d1, d2, d3;
  assert_int_equal(wsc_login(&d1, srv.port, app, key, "r_a", "Web"), 0);
  json_t *first = wsc_sync_live(&d1);
  assert_non_null(first);
  assert_int_equal(json_array_size(first), 0);
  json_decref(first);
  json_t *live = json_array();
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    expect0(V4(steps[i].cmd, "%s", steps[i].body));
    collect_until(&d1, live, steps[i].push);
  }
  /* r_a answers r_c's request from the live device */
  json_t *r = wsc_rpc(&d1, "friend_response", "\"peer\":\"r_c\",\"action\":\"agree_and_add\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  collect_until(&d1, live, "friend_response");
  for (json_t *e; (e = next_event(&d1, 500));) json_array_append_new(live, e); /* the rest of the answer's events */
  assert_int_equal(count_type(live, "friend_added"), 2); /* r_b, then r_c */
  assert_true(json_array_size(live) >= 11);
  assert_int_equal(count_type(live, "msg"), 2);
  /* the device that was offline the whole time learns every change, in the same order */
  assert_int_equal(wsc_login(&d2, srv.port, app, key, "r_a", "PC"), 0);
  json_t *evs = wsc_sync_live(&d2);
  assert_non_null(evs);
  expect_same_tail(evs, live);
  assert_int_equal(json_array_size(evs), json_array_size(live));
  assert_int_equal(count_type(evs, "friend_request"), 1);
  assert_int_equal(count_type(evs, "black_changed"), 1);
  assert_int_equal(count_type(evs, "profile"), 1);
  json_decref(evs);
  /* r_b (friend at the time of the profile change) got it too, after its friend_added */
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "r_b", "Web"), 0);
  json_t *bev = wsc_sync_live(&b);
  assert_non_null(bev);
  assert_int_equal(count_type(bev, "friend_added"), 1);
  assert_int_equal(count_type(bev, "profile"), 1);
  json_decref(bev);
  wsc_close(&b);
  wsc_close(&d1);
  wsc_close(&d2);
  /* durable: after a restart a new device gets the same events */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wsc_login(&d3, srv.port, app, key, "r_a", "Mac"), 0);
  evs = wsc_sync_live(&d3);
  assert_non_null(evs);
  expect_same_tail(evs, live);
  assert_int_equal(json_array_size(evs), json_array_size(live));
  json_decref(evs);
  wsc_close(&d3);
  json_decref(live);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_offline_device_learns_relationship_changes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
