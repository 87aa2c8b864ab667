/* End-to-end: REST delete_group_msg_by_sender reaches the devices (docs/decisions/groups-messages.md §19,
 * docs/protocol.md "group_sync"). Each message deleted takes the group's next change number: a device offline
 * meanwhile learns of every deletion from group_sync with after_change (`changes` rows with "deleted":true,
 * more than one page of them, and more than one writer step: over IM_GROUP_DEL_BATCH messages), a device
 * online gets group_msgs_deleted pushes, group_history no longer returns the messages, a targeted message's
 * deletion reaches only its recipients and sender, and the `chg` of each message in group_history / msgs rows
 * is the number of its last change, as `changes` gives it. A chain stopped part way by a full writer queue
 * (60018, injected: faultsim's group_del_step) keeps its steps done, pushed, and a second call deletes the
 * rest. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#include "e2e_gchg.h" /* after srv, app and key */

#define MANY 300 /* over one writer step of the deletion (IM_GROUP_DEL_BATCH 256) and over one sync page (100) */

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key); /* customer 1; Ultimate: targeted messages */
  if (e2e_app_ultimate(&srv, 1, app)) return -1;
  /* MANY sends over REST in a burst: past the default 200 calls per second per app (60011) on a fast box */
  static const char *const args[] = { "--rest-rate-limit", "100000", NULL };
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void del_sender(const char *gid, const char *user)
{
  v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"%s\",\"Sender_Account\":\"%s\"}", gid, user));
}

/* Sync from (*have, *chg) until complete: deleted[seq] counts the deletions among the changes, chg_of[seq]
 * the change number of each change row; the `chg` of every msgs row must be 0 (absent) or one of a change
 * row seen before (a message changed before the device got it). Returns the pages. */
static int sync_to_end(wsc_t *c, const char *gid, json_int_t *have, json_int_t *chg, int *deleted, json_int_t *chg_of,
                       size_t n)
{
  int pages = 0;
  for (;;) {
    json_t *r = sync_page(c, gid, *have, *chg, 0), *e;
    size_t i;
    pages++;
    json_array_foreach(json_object_get(r, "changes"), i, e) {
      json_int_t seq = jint(e, "msg.seq");
      assert_true(seq > 0 && (size_t)seq < n && seq <= *have);
      assert_int_equal(jint(e, "msg.chg"), jint(e, "change")); /* the row's own number is its change's */
      chg_of[seq] = jint(e, "change");
      if (json_is_true(json_object_get(json_object_get(e, "msg"), "deleted"))) {
        deleted[seq]++;
        assert_null(json_object_get(json_object_get(e, "msg"), "body")); /* nothing of it is left */
        assert_null(json_object_get(json_object_get(e, "msg"), "recalled"));
      }
    }
    json_array_foreach(json_object_get(r, "msgs"), i, e) {
      json_int_t seq = jint(e, "seq");
      assert_true(seq > 0 && (size_t)seq < n);
      assert_null(json_object_get(e, "deleted"));
      chg_of[seq] = json_object_get(e, "chg") ? jint(e, "chg") : 0;
    }
    assert_true(jint(r, "change") >= *chg);
    *have = jint(r, "seq");
    *chg = jint(r, "change");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return pages;
    assert_true(pages < 1000);
  }
}

/* group_history of user c (every page): seen[seq] = 1 for each message, chg_of[seq] its `chg` (0 absent). */
static void history_of(wsc_t *c, const char *gid, int *seen, json_int_t *chg_of, size_t n)
{
  json_int_t before = 0;
  for (;;) {
    char b[40] = "";
    if (before) snprintf(b, sizeof b, ",\"before_seq\":%lld", (long long)before);
    json_t *r = wsc_rpc(c, "group_history", "\"group_id\":\"%s\",\"limit\":100%s", gid, b), *e;
    assert_int_equal(jint(r, "code"), 0);
    size_t i;
    json_array_foreach(json_object_get(r, "msgs"), i, e) {
      json_int_t seq = jint(e, "seq");
      assert_true(seq > 0 && (size_t)seq < n);
      seen[seq] = 1;
      chg_of[seq] = json_object_get(e, "chg") ? jint(e, "chg") : 0;
      before = seq;
    }
    int more = json_is_true(json_object_get(r, "more"));
    json_decref(r);
    if (!more) break;
  }
}

/* group_msgs_deleted pushes of gid on c until want deletions came: in change order from *next_chg, numbers
 * consecutive, each seq one of the sender's (from_b[seq], n entries); *next_chg moves past them. */
static void expect_deleted_pushes(wsc_t *c, const char *gid, int want, json_int_t *next_chg, const uint8_t *from_b,
                                  size_t n)
{
  int pushed = 0;
  while (pushed < want) {
    json_t *p = wsc_push(c, "group_msgs_deleted", 5000), *e;
    assert_non_null(p);
    assert_string_equal(jstr(p, "group_id"), gid);
    size_t i, k = json_array_size(json_object_get(p, "seqs"));
    assert_true(k >= 1);
    assert_int_equal(jint(p, "change"), *next_chg + (json_int_t)k - 1);
    json_array_foreach(json_object_get(p, "seqs"), i, e) {
      assert_true((size_t)json_integer_value(e) < n && from_b[json_integer_value(e)]);
    }
    *next_chg += (json_int_t)k;
    pushed += (int)k;
    json_decref(p);
  }
  assert_int_equal(pushed, want);
}

/* ---- a device offline during the deletion, one online ------------------------------------------------------ */
static void test_offline_device_learns_deletions(void **st)
{
  (void)st;
  enum { N = 2 * MANY + 8 };
  import_users(srv.port, app, key, (const char *const[]){ "d_a", "d_b", "d_c", NULL });
  create("del-1", "d_a", "[{\"Member_Account\":\"d_b\"},{\"Member_Account\":\"d_c\"}]");
  static uint8_t from_b[N];
  json_int_t last = 0, a_first = 0, b_first = 0;
  for (int i = 0; i < 2 * MANY; i++) { /* d_b sends every other message */
    int b = i % 2 == 0;
    char t[16];
    snprintf(t, sizeof t, "t%d", i);
    last = send_text("del-1", b ? "d_b" : "d_a", NULL, t);
    assert_true(last < N);
    from_b[last] = (uint8_t)b;
    if (!a_first && !b) a_first = last;
    if (!b_first && b) b_first = last;
  }
  wsc_t off, live;
  login(&off, "d_c");
  json_int_t have = 0, chg = 0;
  static int deleted[N];
  static json_int_t chg_of[N], hist_chg[N];
  static int seen[N];
  sync_to_end(&off, "del-1", &have, &chg, deleted, chg_of, N);
  assert_int_equal(have, last);
  assert_int_equal(chg, 0);
  wsc_close(&off);
  recall("del-1", a_first); /* change 1 */
  recall("del-1", b_first); /* 2: deleted next, its deletion its last change */
  login(&live, "d_a");      /* online throughout */
  json_decref(wsc_sync_live(&live));

  del_sender("del-1", "d_b");

  /* the device online: every deletion in group_msgs_deleted pushes, in change order, numbers consecutive */
  json_int_t next_chg = 3;
  expect_deleted_pushes(&live, "del-1", MANY, &next_chg, from_b, N);
  wsc_close(&live);

  /* the device offline: every deletion in changes, over more than one page */
  login(&off, "d_c");
  int pages = sync_to_end(&off, "del-1", &have, &chg, deleted, chg_of, N);
  assert_true(pages > 2);
  int n_del = 0;
  for (json_int_t s = 1; s <= last; s++) {
    if (from_b[s]) assert_int_equal(deleted[s], 1);
    else assert_int_equal(deleted[s], 0);
    n_del += deleted[s];
  }
  assert_int_equal(n_del, MANY);
  assert_int_equal(chg, 2 + MANY); /* the recalls' numbers, then one per message deleted */
  assert_int_equal(chg_of[b_first], 3); /* recalled, then deleted first */
  /* history leaves them out; its chg is the number the changes gave (0 never changed) */
  history_of(&off, "del-1", seen, hist_chg, N);
  for (json_int_t s = 1; s <= last; s++) {
    assert_int_equal(seen[s], !from_b[s]);
    if (!from_b[s]) assert_int_equal(hist_chg[s], chg_of[s]);
  }
  assert_int_equal(hist_chg[a_first], 1); /* the recalled one */
  /* a second deletion of the sender: nothing left, no change */
  del_sender("del-1", "d_b");
  json_t *r = sync_page(&off, "del-1", have, chg, 0);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
  assert_int_equal(jint(r, "last_change"), 2 + MANY);
  json_decref(r);
  /* recall and modify of a deleted message: not found, nothing changed */
  json_int_t s_b = b_first + 2;
  assert_true(from_b[s_b]);
  r = call(G("group_msg_recall"), "{\"GroupId\":\"del-1\",\"MsgSeqList\":[{\"MsgSeq\":%lld}]}", (long long)s_b);
  assert_int_not_equal(jint(json_array_get(json_object_get(r, "RecallRetList"), 0), "RetCode"), 0);
  json_decref(r);
  r = call("openim/modify_group_msg", "{\"GroupId\":\"del-1\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("x") "}", (long long)s_b);
  assert_int_not_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = sync_page(&off, "del-1", have, chg, 0);
  assert_int_equal(jint(r, "last_change"), 2 + MANY);
  json_decref(r);
  wsc_close(&off);
}

/* ---- a targeted message's deletion: only its recipients and its sender ------------------------------------- */
static void test_targeted_deletion_hidden(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "e_a", "e_b", "e_c", "e_d", NULL });
  create("del-t", "e_a", "[{\"Member_Account\":\"e_b\"},{\"Member_Account\":\"e_c\"},{\"Member_Account\":\"e_d\"}]");
  json_int_t s1 = send_text("del-t", "e_b", NULL, "all"), s2 = send_text("del-t", "e_b", "[\"e_c\"]", "to c"),
             s3 = send_text("del-t", "e_a", NULL, "other");
  wsc_t c, d;
  login(&c, "e_c");
  login(&d, "e_d");
  json_decref(wsc_sync_live(&c));
  json_decref(wsc_sync_live(&d));
  del_sender("del-t", "e_b");
  /* live: e_c gets both deletions (change 1: s1 for everyone, 2: s2 to it alone), e_d only s1's */
  json_t *p = wsc_push(&c, "group_msgs_deleted", 5000);
  assert_non_null(p);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "seqs"), 0)), s1);
  assert_int_equal(jint(p, "change"), 1);
  json_decref(p);
  p = wsc_push(&c, "group_msgs_deleted", 5000);
  assert_non_null(p);
  assert_int_equal(json_array_size(json_object_get(p, "seqs")), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "seqs"), 0)), s2);
  assert_int_equal(jint(p, "change"), 2);
  json_decref(p);
  p = wsc_push(&d, "group_msgs_deleted", 5000);
  assert_non_null(p);
  assert_int_equal(json_array_size(json_object_get(p, "seqs")), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "seqs"), 0)), s1);
  json_decref(p);
  assert_null(wsc_push(&d, "group_msgs_deleted", 300)); /* no other */
  /* group_sync from before: e_c learns of both, e_d of s1 alone (its cursor moves over s2's) */
  json_t *r = sync_page(&c, "del-t", s3, 0, 0);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 2);
  json_t *row = json_array_get(json_object_get(r, "changes"), 1);
  assert_int_equal(jint(row, "msg.seq"), s2);
  assert_int_equal(jint(row, "change"), 2);
  assert_true(json_is_true(json_object_get(json_object_get(row, "msg"), "deleted")));
  json_decref(r);
  r = sync_page(&d, "del-t", s3, 0, 0);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 1);
  assert_int_equal(jint(json_array_get(json_object_get(r, "changes"), 0), "msg.seq"), s1);
  assert_int_equal(jint(r, "change"), 2);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  /* history: neither of e_b's */
  r = wsc_rpc(&c, "group_history", "\"group_id\":\"del-t\",\"limit\":100");
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(r, "msgs"), i, e) assert_true(jint(e, "seq") != s1 && jint(e, "seq") != s2);
  json_decref(r);
  wsc_close(&c);
  wsc_close(&d);
}

/* ---- a chain stopped part way by a full writer queue (60018) ------------------------------------------------ */
/* The server restarted with IMCLOUD_TEST_FAIL=group_del_step:1 (src/util/faultsim.h): the submit of the first
 * deletion's second writer step is refused as a full writer queue refuses it. The reply is 60018; the first
 * step's deletions (IM_GROUP_DEL_BATCH, the sender's oldest) stay done — pushed to the device online, in a
 * device's group_sync changes, left out of group_history — and nothing after them is deleted; a second call
 * deletes the rest, numbered on from there. */
static void test_busy_chain_resumes(void **st)
{
  (void)st;
  enum { N = MANY + 8, STEP = 256 };
  static const char *const args[] = { "--rest-rate-limit", "100000", NULL };
  assert_int_equal(e2e_server_stop(&srv), 0);
  setenv("IMCLOUD_TEST_FAIL", "group_del_step:1", 1); /* the server inherits it */
  int started = e2e_server_start(&srv, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(started, 0);
  import_users(srv.port, app, key, (const char *const[]){ "f_a", "f_b", "f_c", NULL });
  create("del-busy", "f_a", "[{\"Member_Account\":\"f_b\"},{\"Member_Account\":\"f_c\"}]");
  static uint8_t from_b[N], first_step[N];
  json_int_t last = 0;
  for (int i = 0; i < MANY; i++) {
    last = send_text("del-busy", "f_b", NULL, "b");
    assert_true(last < N);
    from_b[last] = 1;
    first_step[last] = i < STEP;
  }
  last = send_text("del-busy", "f_a", NULL, "a");
  wsc_t off, live;
  json_int_t have = 0, chg = 0;
  static int deleted[N], seen[N];
  static json_int_t chg_of[N], hist_chg[N];
  login(&off, "f_c");
  sync_to_end(&off, "del-busy", &have, &chg, deleted, chg_of, N);
  assert_int_equal(have, last);
  wsc_close(&off);
  login(&live, "f_a");
  json_decref(wsc_sync_live(&live));

  json_t *r = call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"del-busy\",\"Sender_Account\":\"f_b\"}");
  assert_int_equal(jint(r, "ErrorCode"), 60018); /* 0 before the fault site: the chain ran to its end */
  json_decref(r);
  json_int_t next_chg = 1;
  expect_deleted_pushes(&live, "del-busy", STEP, &next_chg, first_step, N);
  assert_null(wsc_push(&live, "group_msgs_deleted", 300)); /* nothing past the first step */
  login(&off, "f_c");
  sync_to_end(&off, "del-busy", &have, &chg, deleted, chg_of, N);
  assert_int_equal(chg, STEP);
  history_of(&off, "del-busy", seen, hist_chg, N);
  for (json_int_t s = 1; s <= last; s++) {
    assert_int_equal(deleted[s], first_step[s]);
    if (from_b[s] || s == last) assert_int_equal(seen[s], !first_step[s]);
  }

  del_sender("del-busy", "f_b"); /* again: the rest */
  expect_deleted_pushes(&live, "del-busy", MANY - STEP, &next_chg, from_b, N);
  sync_to_end(&off, "del-busy", &have, &chg, deleted, chg_of, N);
  assert_int_equal(chg, MANY);
  memset(seen, 0, sizeof seen);
  history_of(&off, "del-busy", seen, hist_chg, N);
  for (json_int_t s = 1; s <= last; s++) {
    assert_int_equal(deleted[s], from_b[s]);
    if (from_b[s]) assert_int_equal(chg_of[s] <= STEP, first_step[s]); /* numbered in seq order, on from STEP */
    assert_int_equal(seen[s] && from_b[s], 0);
  }
  assert_int_equal(seen[last], 1);
  wsc_close(&off);
  wsc_close(&live);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0); /* no fault planned */
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_offline_device_learns_deletions),
                                      cmocka_unit_test(test_targeted_deletion_hidden),
                                      cmocka_unit_test(test_busy_chain_resumes) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
