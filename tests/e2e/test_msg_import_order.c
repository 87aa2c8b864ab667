/* End-to-end: one-to-one messages imported out of time order, and the
 * pinned cursor of recentcontact/get_list, against the real server on the
 * wall clock (docs/rest-api-messages.md; docs/decisions/messaging-c2c-storage.md §34, §35):
 *  - importmsg of a message older than live messages gives it a higher seq;
 *    admin_set_msg_read with a MsgReadTime between the two times reads no
 *    message newer than MsgReadTime (it read the newer live ones);
 *  - admin_getroammsg lists and pages by time, newest first, whatever the
 *    import order, neither skipping nor repeating a message across pages
 *    continued with MaxTime = LastMsgTime and LastMsgKey (it listed by seq,
 *    and its second page skipped every newer message);
 *  - the conversation's last message (get_list's MsgTime, the WebSocket
 *    `conversations` last_time) is its newest by time, not an older import,
 *    also past 64 imports in a row (§45: it was looked for among 64 rows),
 *    and with a live message between two imports (§54: it was the first import);
 *  - pinned conversations split over pages (--msg-recent-page 2) are
 *    neither skipped nor repeated when a pin of the same second is undone,
 *    or a new one made, between two pages (TopStartIndex counted them).
 * Each test uses its own users. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];


static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--msg-recent-page", "2", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static void expect_ok(json_t *r, const char *what)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("%s: %s", what, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* A live message (REST sendmsg); its MsgTime. */
static int64_t send_rest(const char *from, const char *to, int rnd, const char *text)
{
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, to, rnd, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg %s→%s: %s", from, to, json_dumps(r, JSON_COMPACT));
  int64_t t = jint(r, "MsgTime");
  json_decref(r);
  return t;
}

/* importmsg with SyncFromOldSystem mode at time t. */
static void import(int mode, const char *from, const char *to, int rnd, int64_t t, const char *text)
{
  expect_ok(v4(srv.port, app, key, "openim/importmsg",
               "{\"SyncFromOldSystem\":%d,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%d,\"MsgRandom\":%d,"
               "\"MsgTimeStamp\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
               mode, from, to, rnd, rnd, (long long)t, text),
            "importmsg");
}

static json_int_t unread(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  json_decref(r);
  return n;
}

/* Every page of op's roaming with peer within [min_t, max_t] (0: unbounded),
 * max_cnt a page, texts joined by "," into out; the number of pages. */
static int roam_all(const char *op, const char *peer, int max_cnt, int64_t min_t, int64_t max_t, char *out, size_t cap)
{
  char last_key[64] = "";
  out[0] = 0;
  for (int page = 1; page <= 50; page++) {
    json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":%d,\"MinTime\":%lld,\"MaxTime\":%lld,"
                   "\"LastMsgKey\":\"%s\"}", op, peer, max_cnt, (long long)min_t, (long long)max_t, last_key);
    assert_non_null(h);
    if (jint(h, "ErrorCode") != 0) fail_msg("roam %s/%s: %s", op, peer, json_dumps(h, JSON_COMPACT));
    char texts[512];
    msg_texts(json_object_get(h, "MsgList"), "MsgBody", texts, sizeof texts);
    if (texts[0]) snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", texts);
    int done = (int)jint(h, "Complete");
    max_t = jint(h, "LastMsgTime");
    snprintf(last_key, sizeof last_key, "%s", jstr(h, "LastMsgKey"));
    json_decref(h);
    if (done) return page;
  }
  fail_msg("roaming of %s/%s never completes", op, peer);
  return 0;
}

/* get_list of user with AssistFlags 5 (pinned first, paged) from the cursors in c[4] (TimeStamp,
 * StartIndex, TopTimeStamp, TopStartIndex; updated): appends the page's
 * To_Accounts (pinned ones with "*") to out; CompleteFlag. */
static int list_page(const char *user, long long c[4], char *out, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                 "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                 "\"TopStartIndex\":%lld,\"AssistFlags\":5}", user, c[0], c[1], c[2], c[3]);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("get_list %s: %s", user, json_dumps(r, JSON_COMPACT));
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r, "SessionItem"), i, it)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s%s", out[0] ? "," : "", jstr(it, "To_Account"),
             jint(it, "TopFlag") ? "*" : "");
  c[0] = jint(r, "TimeStamp");
  c[1] = jint(r, "StartIndex");
  c[2] = jint(r, "TopTimeStamp");
  c[3] = jint(r, "TopStartIndex");
  int done = (int)jint(r, "CompleteFlag");
  json_decref(r);
  return done;
}

/* get_list's MsgTime of peer in user's list (every page); -1: not listed. */
static int64_t list_time(const char *user, const char *peer)
{
  long long c[4] = { 0, 0, 0, 0 };
  int64_t t = -1;
  for (int page = 0; page < 50; page++) {
    json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                   "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,"
                   "\"TopStartIndex\":%lld,\"AssistFlags\":1}", user, c[0], c[1], c[2], c[3]);
    assert_non_null(r);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r, "SessionItem"), i, it)
      if (!strcmp(jstr(it, "To_Account"), peer)) t = jint(it, "MsgTime");
    c[0] = jint(r, "TimeStamp");
    c[1] = jint(r, "StartIndex");
    c[2] = jint(r, "TopTimeStamp");
    c[3] = jint(r, "TopStartIndex");
    int done = (int)jint(r, "CompleteFlag");
    json_decref(r);
    if (done) return t;
  }
  fail_msg("get_list of %s never completes", user);
  return t;
}

/* ---- a read time between an old import and newer live messages ------------------------- */
static void test_read_time_before_newer_live(void **st)
{
  (void)st;
  users((const char *const[]){ "rt_a", "rt_b", NULL });
  int64_t t0 = send_rest("rt_a", "rt_b", 1, "live1");
  send_rest("rt_a", "rt_b", 2, "live2");
  import(2, "rt_a", "rt_b", 3, t0 - 100, "old"); /* seq 3, older than both */
  import(5, "rt_a", "rt_b", 4, t0 - 90, "old5"); /* seq 4, unread: realtime */
  assert_int_equal(unread("rt_b", "rt_a"), 3);
  /* read up to a time before the live messages: neither of them is read (the time-based mark became seq 4,
   * the import's, and covered both); the mark never covers a message newer than MsgReadTime, so it stays
   * below the first of them and the unread import after them stays unread too */
  expect_ok(v4(srv.port, app, key, "openim/admin_set_msg_read",
               "{\"Report_Account\":\"rt_b\",\"Peer_Account\":\"rt_a\",\"MsgReadTime\":%lld}", (long long)(t0 - 50)),
            "set_msg_read");
  assert_int_equal(unread("rt_b", "rt_a"), 3);
  /* a time at or after every message reads them all */
  expect_ok(v4(srv.port, app, key, "openim/admin_set_msg_read",
               "{\"Report_Account\":\"rt_b\",\"Peer_Account\":\"rt_a\",\"MsgReadTime\":%lld}", (long long)(t0 + 30)),
            "set_msg_read");
  assert_int_equal(unread("rt_b", "rt_a"), 0);
}

/* In order, then out of order: a live message, then imports older than it, then a live one that reads
 * past the imports, by time: every message up to it is read. */
static void test_read_time_covers_imports_in_place(void **st)
{
  (void)st;
  users((const char *const[]){ "ri_a", "ri_b", NULL });
  int64_t t0 = send_rest("ri_a", "ri_b", 1, "live1");
  import(5, "ri_a", "ri_b", 2, t0 - 100, "old5");
  send_rest("ri_a", "ri_b", 3, "live2");
  assert_int_equal(unread("ri_b", "ri_a"), 3);
  expect_ok(v4(srv.port, app, key, "openim/admin_set_msg_read",
               "{\"Report_Account\":\"ri_b\",\"Peer_Account\":\"ri_a\"}"), "set_msg_read"); /* now */
  assert_int_equal(unread("ri_b", "ri_a"), 0);
}

/* ---- admin_getroammsg by time ---------------------------------------------------------- */
static void test_roam_pages_by_time(void **st)
{
  (void)st;
  users((const char *const[]){ "rp_a", "rp_b", NULL });
  int64_t t0 = send_rest("rp_a", "rp_b", 1, "L1");
  send_rest("rp_b", "rp_a", 2, "L2");
  import(2, "rp_a", "rp_b", 3, t0 - 100, "I100");
  import(2, "rp_b", "rp_a", 4, t0 - 200, "I200");
  import(5, "rp_a", "rp_b", 5, t0 - 50, "I50");
  import(2, "rp_a", "rp_b", 6, t0 - 100, "I100b"); /* the same second as I100, imported after it */
  const char *want = "L2,L1,I50,I100b,I100,I200";
  char out[512];
  for (int cnt = 1; cnt <= 7; cnt++) {
    int pages = roam_all("rp_a", "rp_b", cnt, 0, 0, out, sizeof out);
    if (strcmp(out, want)) fail_msg("MaxCnt %d: %s, want %s", cnt, out, want);
    assert_int_equal(pages, cnt >= 6 ? 1 : (6 + cnt - 1) / cnt);
    roam_all("rp_b", "rp_a", cnt, 0, 0, out, sizeof out);
    if (strcmp(out, want)) fail_msg("MaxCnt %d (peer's side): %s, want %s", cnt, out, want);
  }
  /* a window of time: MinTime and MaxTime bound it, by time */
  roam_all("rp_a", "rp_b", 1, t0 - 150, t0 - 10, out, sizeof out);
  assert_string_equal(out, "I50,I100b,I100");
  roam_all("rp_a", "rp_b", 100, t0 - 100, t0 - 100, out, sizeof out);
  assert_string_equal(out, "I100b,I100");
}

/* ---- the last message is the newest by time --------------------------------------------- */
static void test_last_message_newest_by_time(void **st)
{
  (void)st;
  users((const char *const[]){ "lm_a", "lm_b", NULL });
  int64_t t0 = send_rest("lm_a", "lm_b", 1, "live");
  import(2, "lm_b", "lm_a", 2, t0 - 100, "old");
  assert_int_equal(list_time("lm_a", "lm_b"), t0);
  assert_int_equal(list_time("lm_b", "lm_a"), t0);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "lm_b", "Web"), 0);
  json_t *r = wsc_rpc(&c, "conversations", "%s", "");
  assert_non_null(r);
  json_t *cv = json_array_get(json_object_get(r, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "lm_a");
  assert_int_equal(jint(cv, "last_time"), t0);
  assert_int_equal(jint(cv, "last_seq"), 1);
  json_decref(r);
  wsc_close(&c);
  /* an old import into a conversation the user deleted does not bring it back */
  expect_ok(v4(srv.port, app, key, "recentcontact/delete",
               "{\"From_Account\":\"lm_b\",\"Type\":1,\"To_Account\":\"lm_a\"}"), "delete");
  assert_true(list_time("lm_b", "lm_a") < 0);
  import(2, "lm_a", "lm_b", 3, t0 - 50, "older");
  assert_true(list_time("lm_b", "lm_a") < 0);
  send_rest("lm_a", "lm_b", 4, "new");
  assert_true(list_time("lm_b", "lm_a") >= t0);
}

/* An import, a live message, then an import older than both: the lists' last message is the live one (the
 * newest by time). It was the first import: the newest live message was looked for below the newest import
 * by time, not below the newest message (messaging-c2c-conversations.md §54). */
static void test_last_message_live_between_imports(void **st)
{
  (void)st;
  users((const char *const[]){ "lb_a", "lb_b", NULL });
  int64_t now = (int64_t)time(NULL);
  import(2, "lb_b", "lb_a", 1, now - 1000, "old");
  int64_t t_live = send_rest("lb_a", "lb_b", 2, "live");
  import(2, "lb_b", "lb_a", 3, now - 5000, "older");
  assert_int_equal(list_time("lb_a", "lb_b"), t_live);
  assert_int_equal(list_time("lb_b", "lb_a"), t_live);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "lb_b", "Web"), 0);
  json_t *r = wsc_rpc(&c, "conversations", "%s", "");
  assert_non_null(r);
  json_t *cv = json_array_get(json_object_get(r, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "lb_a");
  assert_int_equal(jint(cv, "last_time"), t_live);
  assert_int_equal(jint(cv, "last_seq"), 2);
  json_decref(r);
  wsc_close(&c);
}

/* ---- pinned conversations over pages ----------------------------------------------------- */
/* More than 64 imports in a row above the newest live message (a's with b), and above the newest import by
 * time (a's with c, no live message): the lists show the newest by time, and roaming lists every message in
 * time order across pages (messaging-c2c-imports.md §45). */
#define MANY 70
static void test_last_message_past_64_imports(void **st)
{
  (void)st;
  users((const char *const[]){ "ml_a", "ml_b", "ml_c", NULL });
  int64_t t0 = send_rest("ml_a", "ml_b", 1, "live");
  import(2, "ml_c", "ml_a", 1, t0 - 5, "first");
  char want[2048] = "live", text[16];
  for (int i = MANY - 1; i >= 0; i--) snprintf(want + strlen(want), sizeof want - strlen(want), ",i%d", i);
  for (int i = 0; i < MANY; i++) {
    snprintf(text, sizeof text, "i%d", i);
    import(2, "ml_b", "ml_a", 10 + i, t0 - 1000 + i, text);
    import(2, "ml_a", "ml_c", 10 + i, t0 - 1000 + i, text);
  }
  assert_int_equal(list_time("ml_a", "ml_b"), t0);
  assert_int_equal(list_time("ml_b", "ml_a"), t0);
  assert_int_equal(list_time("ml_a", "ml_c"), t0 - 5);
  assert_int_equal(list_time("ml_c", "ml_a"), t0 - 5);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "ml_b", "Web"), 0);
  json_t *r = wsc_rpc(&c, "conversations", "%s", "");
  assert_non_null(r);
  json_t *cv = json_array_get(json_object_get(r, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "ml_a");
  assert_int_equal(jint(cv, "last_time"), t0);
  assert_int_equal(jint(cv, "last_seq"), 1);
  json_decref(r);
  wsc_close(&c);
  char out[2048];
  roam_all("ml_a", "ml_b", 7, 0, 0, out, sizeof out);
  assert_string_equal(out, want);
  snprintf(want, sizeof want, "first");
  for (int i = MANY - 1; i >= 0; i--) snprintf(want + strlen(want), sizeof want - strlen(want), ",i%d", i);
  roam_all("ml_c", "ml_a", 9, 0, 0, out, sizeof out);
  assert_string_equal(out, want);
}

static void pin(wsc_t *c, const char *peer, int on)
{
  json_t *r = wsc_rpc(c, "pin", "\"peer\":\"%s\",\"pinned\":%s", peer, on ? "true" : "false");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

/* Unpin peers[0..n), then pin them in that order; the second it began in. */
static time_t pin_again(wsc_t *c, const char *const *peers, int n)
{
  for (int i = 0; i < n; i++) pin(c, peers[i], 0);
  time_t t = time(NULL);
  for (int i = 0; i < n; i++) pin(c, peers[i], 1);
  return t;
}

/* How many times item (a To_Account, "*" when pinned) is in the comma-separated list. */
static int count_of(const char *list, const char *item)
{
  int n = 0;
  size_t len = strlen(item);
  for (const char *p = list; (p = strstr(p, item)); p += len)
    if ((p == list || p[-1] == ',') && (p[len] == ',' || !p[len])) n++;
  return n;
}

static void test_pinned_pages(void **st)
{
  (void)st;
  users((const char *const[]){ "pp_a", "pp_1", "pp_2", "pp_3", "pp_4", "pp_5", NULL });
  const char *const peers[] = { "pp_1", "pp_2", "pp_3", "pp_4", "pp_5" };
  for (int i = 0; i < 5; i++) send_rest(peers[i], "pp_a", 10 + i, "hi");
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "pp_a", "Web"), 0);
  char out[512];
  long long c[4];
  /* a pin undone between two pages (the three pinned in one second, listed latest first, a page of 2):
   * the next page still lists the pinned one not yet listed (it was skipped) */
  for (int tries = 0;; tries++) {
    time_t t = pin_again(&a, peers, 3);
    memset(c, 0, sizeof c);
    out[0] = 0;
    assert_int_equal(list_page("pp_a", c, out, sizeof out), 0);
    if (time(NULL) == t) break;
    if (tries == 5) fail_msg("no three pins and a page within one second in five tries");
  }
  assert_string_equal(out, "pp_3*,pp_2*");
  pin(&a, "pp_3", 0);
  while (!list_page("pp_a", c, out, sizeof out)) {}
  if (strncmp(out, "pp_3*,pp_2*,pp_1*,", 18) || count_of(out, "pp_3") != 1 || count_of(out, "pp_4") != 1 ||
      count_of(out, "pp_5") != 1 || count_of(out, "pp_1") || count_of(out, "pp_2"))
    fail_msg("after an unpin between pages: %s", out);
  /* a pin made in the same second between two pages goes above the cursor: listed from the first page
   * again, and the next page repeats none (it repeated pp_2) */
  for (int tries = 0;; tries++) {
    pin(&a, "pp_4", 0);
    time_t t = pin_again(&a, peers, 3);
    memset(c, 0, sizeof c);
    out[0] = 0;
    assert_int_equal(list_page("pp_a", c, out, sizeof out), 0);
    pin(&a, "pp_4", 1);
    if (time(NULL) == t) break;
    if (tries == 5) fail_msg("no four pins and a page within one second in five tries");
  }
  assert_string_equal(out, "pp_3*,pp_2*");
  while (!list_page("pp_a", c, out, sizeof out)) {}
  assert_string_equal(out, "pp_3*,pp_2*,pp_1*,pp_5");
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_read_time_before_newer_live),
    cmocka_unit_test(test_read_time_covers_imports_in_place),
    cmocka_unit_test(test_roam_pages_by_time),
    cmocka_unit_test(test_last_message_newest_by_time),
    cmocka_unit_test(test_last_message_past_64_imports),
    cmocka_unit_test(test_last_message_live_between_imports),
    cmocka_unit_test(test_pinned_pages),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
