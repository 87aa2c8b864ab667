/* End-to-end: sync and history pages are bounded by bytes as well as by
 * events, against the real server with msg_max_bytes 200,000 and the
 * default ws_max_queued_bytes (4 MiB, so a page holds at most 1 MiB of
 * messages, docs/protocol.md):
 *  - a device offline for 100 messages of ~150 KB syncs all of them, in
 *    order, over several pages, and is not closed (one page of 100 would be
 *    15 MB, past the 4 MiB send queue: close 1008);
 *  - history pages of those messages stop early with complete false and
 *    continue from before_seq;
 *  - group_sync and group_history do the same for a group's messages;
 *  - a REST roaming page cut by bytes does not end between two messages
 *    that share a MsgKey. */
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

#define BIG 150000
#define PAGE_BYTES (4194304 / 4)

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--msg-max-bytes", "200000", NULL };
static char *text;             /* "NNN" + 'x' up to BIG bytes */

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (!(text = malloc(BIG + 1))) return -1;
  memset(text, 'x', BIG);
  text[BIG] = 0;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  free(text);
  return e2e_finish(&srv);
}

static void expect_ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != 0) fail_msg("got %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* Write i (0..999) as the first 3 bytes of text. */
static void set_index(int i)
{
  text[0] = (char)('0' + i / 100);
  text[1] = (char)('0' + i / 10 % 10);
  text[2] = (char)('0' + i % 10);
}

/* The index written in the first 3 bytes of a message's text (-1: none). */
static int text_index(json_t *msg)
{
  const char *t = jstr(json_array_get(json_object_get(msg, "body"), 0), "MsgContent.Text");
  if (strlen(t) != BIG) return -1;
  return (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
}

/* A page that is not the last holds at least one message, and its big
 * messages (their bodies as sent, ~BIG + 60 bytes each) fit the budget. */
static void assert_page_within(size_t n, int big)
{
  assert_true(n >= 1);
  if (big > 1) assert_true((size_t)big * (BIG + 60) <= PAGE_BYTES);
}

/* Send n big messages (index i in the text) through REST cmd; head is the
 * body's fields before MsgBody, ending with the name of the random field. */
static void send_big(int n, const char *cmd, const char *head)
{
  for (int i = 0; i < n; i++) {
    set_index(i);
    expect_ok(v4(srv.port, app, key, cmd,
                 "{%s:%d,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", head, i + 1, text));
  }
}

/* Pull pages (req: the request's fields with a %u for the cursor) until one
 * is complete. The messages are the items of the reply's `list` (under
 * `sub` when not NULL; other items and small ones are skipped); they must
 * come in index order from 0, each page within its budget, without the
 * connection closing. The next cursor is the reply's `cursor_key`. How many
 * messages into *count; returns the number of pages. */
static int pull_pages(wsc_t *c, const char *op, const char *req, const char *list, const char *sub,
                      const char *cursor_key, int *count)
{
  uint32_t cursor = 0;
  int next = 0, pages = 0;
  for (;;) {
    char fields[160];
    snprintf(fields, sizeof fields, req, cursor);
    json_t *r = wsc_rpc(c, op, "%s", fields);
    assert_non_null(r); /* NULL: the connection was closed */
    assert_int_equal(jint(r, "code"), 0);
    json_t *items = json_object_get(r, list);
    size_t i;
    json_t *it;
    int big = 0;
    json_array_foreach(items, i, it) {
      int k = text_index(sub ? json_object_get(it, sub) : it);
      if (k < 0) continue; /* another event, the group's creation notice */
      assert_int_equal(k, next);
      next++;
      big++;
    }
    int done = json_is_true(json_object_get(r, "complete"));
    if (!done) assert_page_within(json_array_size(items), big);
    assert_true((uint32_t)jint(r, cursor_key) > cursor || done);
    cursor = (uint32_t)jint(r, cursor_key);
    pages++;
    json_decref(r);
    if (done) break;
  }
  *count = next;
  return pages;
}

static void test_c2c_sync_and_history_pages(void **st)
{
  (void)st;
  static const char *const users[] = { "s_from", "s_to", NULL };
  import_users(srv.port, app, key, users);
  send_big(100, "openim/sendmsg", "\"From_Account\":\"s_from\",\"To_Account\":\"s_to\",\"MsgRandom\"");
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "s_to", "Web"), 0);
  int n, pages = pull_pages(&c, "sync", "\"cursor\":%u", "events", "msg", "cursor", &n);
  assert_int_equal(n, 100);
  assert_true(pages >= 100 * (BIG + 60) / PAGE_BYTES);
  expect_ok(wsc_rpc(&c, "heartbeat", "%s", ""));
  /* history, newest first: pages of limit 100 stop at the budget and continue below before_seq */
  uint32_t before = 0;
  int want = 99, hpages = 0;
  for (;;) {
    json_t *r = before ? wsc_rpc(&c, "history", "\"peer\":\"s_from\",\"limit\":100,\"before_seq\":%u", before)
                       : wsc_rpc(&c, "history", "\"peer\":\"s_from\",\"limit\":100");
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *msgs = json_object_get(r, "msgs");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
      assert_int_equal(text_index(m), want);
      want--;
      before = (uint32_t)jint(m, "seq");
    }
    int done = json_is_true(json_object_get(r, "complete"));
    if (!done) assert_page_within(json_array_size(msgs), (int)json_array_size(msgs));
    hpages++;
    json_decref(r);
    if (done) break;
  }
  assert_int_equal(want, -1);
  assert_true(hpages > 1);
  wsc_close(&c);
}

static void test_group_sync_and_history_pages(void **st)
{
  (void)st;
  static const char *const users[] = { "gp_owner", "gp_member", NULL };
  import_users(srv.port, app, key, users);
  expect_ok(v4(srv.port, app, key, "group_open_http_svc/create_group",
               "{\"Type\":\"Public\",\"Name\":\"pages\",\"GroupId\":\"pages\",\"Owner_Account\":\"gp_owner\","
               "\"MemberList\":[{\"Member_Account\":\"gp_member\"}]}"));
  send_big(30, "group_open_http_svc/send_group_msg", "\"GroupId\":\"pages\",\"From_Account\":\"gp_owner\",\"Random\"");
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "gp_member", "Web"), 0);
  int n, pages = pull_pages(&c, "group_sync", "\"group_id\":\"pages\",\"after_seq\":%u,\"limit\":100", "msgs", NULL,
                            "seq", &n);
  assert_int_equal(n, 30);
  assert_true(pages >= 30 * (BIG + 60) / PAGE_BYTES);
  /* group_history, newest first: more until the oldest */
  json_t *r = wsc_rpc(&c, "group_history", "\"group_id\":\"pages\",\"limit\":100");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *msgs = json_object_get(r, "msgs");
  assert_page_within(json_array_size(msgs), (int)json_array_size(msgs));
  assert_true(json_array_size(msgs) < 30);
  assert_int_equal(text_index(json_array_get(msgs, 0)), 29);
  assert_true(json_is_true(json_object_get(r, "more")));
  int first_page = (int)json_array_size(msgs);
  uint32_t oldest = (uint32_t)jint(json_array_get(msgs, json_array_size(msgs) - 1), "seq");
  json_decref(r);
  r = wsc_rpc(&c, "group_history", "\"group_id\":\"pages\",\"limit\":100,\"before_seq\":%u", oldest);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(text_index(json_array_get(json_object_get(r, "msgs"), 0)),
                   29 - first_page);
  json_decref(r);
  expect_ok(wsc_rpc(&c, "heartbeat", "%s", ""));
  wsc_close(&c);
}

/* One REST roaming page (MaxCnt 100) of sp_a with sp_b below max_t and
 * last (""), appended as text indexes to idx[*n]; returns Complete and
 * moves max_t and last on. */
static int roam_page(long long *max_t, char *last, size_t cap, int *idx, int *n)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"sp_a\",\"Peer_Account\":\"sp_b\",\"MaxCnt\":100,\"MaxTime\":%lld,"
                 "\"LastMsgKey\":\"%s\"}", *max_t, last);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("admin_getroammsg: %s", json_dumps(r, JSON_COMPACT));
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(r, "MsgList"), i, m) {
    const char *t = jstr(json_array_get(json_object_get(m, "MsgBody"), 0), "MsgContent.Text");
    assert_int_equal(strlen(t), BIG);
    assert_true(*n < 64);
    idx[(*n)++] = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
  }
  int done = (int)jint(r, "Complete");
  *max_t = (long long)jint(r, "LastMsgTime");
  snprintf(last, cap, "%s", jstr(r, "LastMsgKey"));
  json_decref(r);
  return done;
}

/* Send big message i from → to with MsgSeq 5 and MsgRandom rnd; its MsgTime. */
static int64_t send_keyed(int i, const char *from, const char *to, int rnd)
{
  set_index(i);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":5,\"MsgRandom\":%d,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, to, rnd, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fail_msg("sendmsg: %s", json_dumps(r, JSON_COMPACT));
  int64_t t = jint(r, "MsgTime");
  json_decref(r);
  return t;
}

/* A page cut by its byte budget does not end between the two messages of
 * one MsgKey (one per user, same MsgSeq and MsgRandom in one second): a walk
 * by LastMsgKey would go on below both and leave one out. */
static void test_shared_key_at_the_byte_cut(void **st)
{
  (void)st;
  static const char *const users[] = { "sp_a", "sp_b", NULL };
  import_users(srv.port, app, key, users);
  int per_page = (int)(PAGE_BYTES / (BIG + 60)); /* what a page holds: the first test checks the budget */
  int i = 0, attempt;
  send_keyed(i++, "sp_a", "sp_b", 1000);
  for (attempt = 1; attempt <= 5; attempt++) {
    time_t t0 = time(NULL);
    while (time(NULL) == t0) usleep(2000);
    int64_t ta = send_keyed(i++, "sp_a", "sp_b", attempt);
    int64_t tb = send_keyed(i++, "sp_b", "sp_a", attempt);
    if (ta == tb) break;
  }
  if (attempt > 5) fail_msg("the two sends never fell within one second");
  int pair_newer = i - 1;
  for (int k = 1; k < per_page; k++) send_keyed(i++, "sp_a", "sp_b", 2000 + k); /* the pair's newer one ends page 1 */
  int idx[64], n = 0, pages = 0;
  long long max_t = (long long)time(NULL) + 10;
  char last[64] = "";
  while (!roam_page(&max_t, last, sizeof last, idx, &n)) assert_true(++pages < 40);
  assert_int_equal(n, i);
  for (int k = 0; k < n; k++)
    if (idx[k] != i - 1 - k) fail_msg("message %d of the walk is %d, not %d (the pair: %d, %d)", k, idx[k], i - 1 - k,
                                      pair_newer, pair_newer - 1);
}

/* A send-queue cap below twice the largest message is named at start: one event of a sync page
 * or one push can pass it, and the connection is closed (1008) every time it syncs. */
static void test_small_queue_warned(void **st)
{
  (void)st;
  e2e_server_t s2;
  const char *const a2[] = { "--msg-max-bytes", "200000", "--ws-max-queued-bytes", "262144", NULL };
  const char *const a3[] = { "--msg-max-bytes", "131072", "--ws-max-queued-bytes", "262144", NULL };
  const char *const *const runs[] = { a2, a3 };
  for (int i = 0; i < 2; i++) {
    e2e_dir_init(&s2);
    assert_int_equal(e2e_server_start(&s2, runs[i]), 0);
    char *log = e2e_server_log(&s2);
    assert_non_null(log);
    int warned = strstr(log, "ws_max_queued_bytes is below twice msg_max_bytes") != NULL;
    free(log);
    assert_int_equal(e2e_server_stop(&s2), 0);
    e2e_dir_remove(&s2);
    assert_int_equal(warned, i == 0);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c2c_sync_and_history_pages),
    cmocka_unit_test(test_group_sync_and_history_pages),
    cmocka_unit_test(test_shared_key_at_the_byte_cut),
    cmocka_unit_test(test_small_queue_warned),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
